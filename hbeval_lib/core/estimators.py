"""Estimators shared by the strands, so that one quantity is computed one way wherever it is printed.

:func:`welch_difference` is the difference of two groups' means with Welch's unequal-variance t interval: the
wellbeing strand's unadjusted HB − control change and the cost-effectiveness analysis' unadjusted Δe and Δc are the
same clients' difference, and a reader comparing the pages must find the same interval on both (issue 18).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats


def welch_difference(x, y, level: float = 0.95) -> dict:
    """``mean(x) − mean(y)`` with Welch's t interval (Welch–Satterthwaite degrees of freedom), as R's
    ``t.test(x, y)``.

    Returns ``estimate``, ``se``, ``df``, ``ci_low``, ``ci_high`` and ``p_value`` (NaN where undefined: an empty
    group gives no estimate; a group of one, or no variance at all, gives an estimate without an interval). A
    difference within rounding noise of the data (``1e-10`` of the largest absolute value) is exactly 0, so its
    sign never depends on the order of floating-point sums."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    out = {"estimate": math.nan, "se": math.nan, "df": math.nan, "ci_low": math.nan, "ci_high": math.nan,
           "p_value": math.nan}
    if len(x) == 0 or len(y) == 0:
        return out
    est = float(x.mean() - y.mean())
    scale = float(np.abs(np.concatenate([x, y])).max())
    out["estimate"] = 0.0 if abs(est) <= 1e-10 * scale else est
    if len(x) < 2 or len(y) < 2:
        return out
    vx, vy = x.var(ddof=1) / len(x), y.var(ddof=1) / len(y)
    se = math.sqrt(vx + vy)
    if not se > 0:
        return out
    df = (vx + vy) ** 2 / (vx ** 2 / (len(x) - 1) + vy ** 2 / (len(y) - 1))
    q = float(stats.t.ppf(0.5 + level / 2, df))
    est = out["estimate"]
    out.update(se=se, df=df, ci_low=est - q * se, ci_high=est + q * se,
               p_value=float(2 * stats.t.sf(abs(est / se), df)))
    return out
