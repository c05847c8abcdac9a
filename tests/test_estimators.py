"""The shared Welch difference (hbeval_lib.core.estimators) against R and against both strands' use of it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hbeval_lib.core.estimators import welch_difference

# R's datasets::sleep; R 4.x: t.test(extra ~ group, data = sleep) prints
#   t = -1.8608, df = 17.776, p-value = 0.07939
#   95 percent confidence interval: -3.3654832  0.2054832; means 0.75 and 2.33
G1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
G2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]


def test_welch_difference_against_r_t_test_on_sleep():
    w = welch_difference(G1, G2)
    assert w["estimate"] == pytest.approx(0.75 - 2.33, abs=1e-12)
    assert w["df"] == pytest.approx(17.776, abs=5e-4)
    assert (w["ci_low"], w["ci_high"]) == pytest.approx((-3.3654832, 0.2054832), abs=5e-8)
    assert w["p_value"] == pytest.approx(0.07939, abs=5e-6)
    assert w["estimate"] / w["se"] == pytest.approx(-1.8608, abs=5e-5)
    # known bad: the pooled-variance (Student) interval of the same data is another interval (R: -3.363874 0.203874)
    assert abs(w["ci_low"] - (-3.363874)) > 1e-3


def test_welch_difference_edges_and_rounding_noise():
    assert math.isnan(welch_difference([], [1.0])["estimate"])
    one = welch_difference([2.0], [1.0, 3.0])
    assert one["estimate"] == 0.0 and math.isnan(one["ci_low"])
    # a difference that is rounding noise is exactly 0 (never "−0,00" on one machine and "0,00" on another)
    x, y = np.array([0.1, 0.2, 0.3]), np.array([0.3, 0.2, 0.1])     # the same values summed in another order
    assert x.mean() - y.mean() != 0.0                                # known bad: the raw difference is 5.6e-17
    w = welch_difference(x, y)
    assert w["estimate"] == 0.0 and w["ci_low"] == -w["ci_high"]


def test_both_strands_print_the_same_welch_interval():
    """The wellbeing strand's unadjusted change difference and the CEA's unadjusted Δe are one computation."""
    from hbeval_lib.strands.costs import cea
    from hbeval_lib.strands.wellbeing import stats as wstats

    a, b = np.array(G1), np.array(G2)
    c = cea.welch_interval(a, b)
    w = wstats._welch_diff(a, b)
    assert (c["estimate"], c["ci_low"], c["ci_high"]) == (w["estimate"], w["ci_low"], w["ci_high"])
    assert c["hc"] == "welch" and w["n"] == 20
