"""The machine-readable results table every executed notebook writes.

Columns: ``strand, phase, pilot, key, label, estimate, ci_low, ci_high, n, p_value, suppressed``.
Suppressed rows carry no numbers. Keys are stable ASCII snake case, documented in ``docs/results.md``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd

from hbeval_lib.core.fileio import write_csv_atomic

COLUMNS = ["strand", "phase", "pilot", "key", "label", "estimate", "ci_low", "ci_high", "n", "p_value", "suppressed"]
NUMERIC = ["estimate", "ci_low", "ci_high", "n", "p_value"]


def _num(x):
    if x is None:
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


HIDDEN_N_DECIMALS = 2   # the most decimals a page prints of an estimate (p-values one more)


def rounded(x, decimals: int):
    """``x`` as the pages print it at ``decimals``: half away from zero on its shortest decimal form (as
    :func:`hbeval_lib.page.report.num`; Python's ``round`` gave 0.62 where the page printed 0,63 for 0.625)."""
    from decimal import ROUND_HALF_UP, Decimal

    v = _num(x)
    if v is None or math.isinf(v):
        return v
    return float(Decimal(repr(v)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP))


@dataclass
class Results:
    """Collects the numbers a notebook publishes; ``write()`` saves them as ``<path>`` (CSV)."""

    strand: str
    phase: str
    pilot: str
    rows: list[dict] = field(default_factory=list)
    # the page's protection of the n of a row (``(key, n) -> n or None``): set by ``report.start`` so that the n is
    # a ledger count like every count the page prints; ``None`` (tests, scripts) publishes n as given
    n_guard: Callable | None = None

    def add(self, key: str, label: str = "", estimate=None, ci_low=None, ci_high=None, n=None,
            p_value=None, suppressed: bool = False) -> None:
        """Record one published number. A suppressed row keeps its key and label but no numbers."""
        if any(r["key"] == key for r in self.rows):
            raise ValueError(f"results key {key!r} recorded twice")
        if not suppressed and self.n_guard is not None and _num(n) is not None:
            n = self.n_guard(key, n)
            if n is None:
                # the page hides this n: the statistic at the precision the pages print it, for at six digits a
                # mean of whole-number scores gives its hidden n back (0.235294 = 4/17, unseen set seed 283)
                estimate, ci_low, ci_high = (rounded(v, HIDDEN_N_DECIMALS) for v in (estimate, ci_low, ci_high))
                p_value = rounded(p_value, HIDDEN_N_DECIMALS + 1)
        row = {"strand": self.strand, "phase": self.phase, "pilot": self.pilot, "key": key, "label": label,
               "estimate": _num(estimate), "ci_low": _num(ci_low), "ci_high": _num(ci_high),
               "n": _num(n), "p_value": _num(p_value), "suppressed": bool(suppressed)}
        if suppressed:
            row.update({c: None for c in NUMERIC})
        self.rows.append(row)

    def frame(self) -> pd.DataFrame:
        df = pd.DataFrame(self.rows, columns=COLUMNS)
        for c in NUMERIC:
            df[c] = pd.to_numeric(df[c]).astype("float64")
        df["suppressed"] = df["suppressed"].astype(bool)
        return df

    def write(self, path: str | os.PathLike | None) -> Path | None:
        """Write the table atomically; a falsy path (interactive use) writes nothing.

        The ``n`` of each row is what the page's protection allows (:attr:`n_guard`): exact when the release shows it,
        empty when it hides it — the same number, and the same decision, as every other count of persons."""
        df = self.frame()
        return write_csv_atomic(df, path, float_format="%.6g")


def read_results(paths) -> pd.DataFrame:
    """Merge several results CSVs into one table with the standard columns."""
    frames = [pd.read_csv(p) for p in paths]
    if not frames:
        return pd.DataFrame(columns=COLUMNS)
    return pd.concat(frames, ignore_index=True)[COLUMNS]
