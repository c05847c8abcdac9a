"""Cost-effectiveness functions against outside references.

References
----------
* BCEA definitions: Baio, Berardi & Heath (2017), *Bayesian Cost-Effectiveness Analysis with the R package
  BCEA*, Springer, ch. 3 (``delta.e = e[,ref] − e[,comp]``, ``ib = k·delta.e − delta.c``, ``ceac = mean(ib > 0)``,
  ``ICER = mean(delta.c)/mean(delta.e)``, ``EVPI = mean(max NB) − max mean(NB)``).
* Closed form for two options with normally distributed incremental net benefit INB ~ N(μ, σ²):
  CEAC = Φ(μ/σ) and EVPI = σ·L(|μ|/σ) with the unit normal loss integral L(z) = φ(z) − z·(1 − Φ(z))
  (Raiffa & Schlaifer 1961, *Applied Statistical Decision Theory*; used for EVPI in Briggs, Claxton &
  Sculpher 2006, *Decision Modelling for Health Economic Evaluation*, ch. 7, and Wilson 2015,
  PharmacoEconomics 33:105–121, eq. for the two-option normal case).
* A small hand calculation with the BCEA definitions (``test_evpi_discrete_hand_calculation``), following the
  single-loop Monte Carlo EVPI algorithm of Jalal & Alarid-Escudero / Wilson 2015 (mean of per-draw maxima minus
  maximum of means).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from hbeval_lib import cea


def _normal_draws(mu_e, sd_e, mu_c, sd_c, n, seed):
    rng = np.random.default_rng(seed)
    e = pd.DataFrame({"hb": mu_e + sd_e * rng.standard_normal(n), "verrokki": np.zeros(n)})
    c = pd.DataFrame({"hb": mu_c + sd_c * rng.standard_normal(n), "verrokki": np.zeros(n)})
    return e, c


def test_against_normal_closed_form():
    mu_e, sd_e, mu_c, sd_c = 0.5, 1.0, 400.0, 300.0
    e, c = _normal_draws(mu_e, sd_e, mu_c, sd_c, 400_000, seed=11)
    k = np.array([0.0, 500.0, 800.0, 1500.0, 4000.0])
    res = cea.summarise(e, c, "hb", k)
    mu = k * mu_e - mu_c
    sd = np.sqrt((k * sd_e) ** 2 + sd_c**2)
    z = np.abs(mu) / sd
    evpi_exact = sd * (stats.norm.pdf(z) - z * stats.norm.sf(z))
    ceac_exact = stats.norm.cdf(mu / sd)
    np.testing.assert_allclose(res["ceac"].to_numpy(), ceac_exact, atol=0.004)
    np.testing.assert_allclose(res["evpi"].to_numpy(), evpi_exact, rtol=0.03, atol=0.5)
    assert np.all(np.abs(res["eib"].to_numpy() - mu) < 4 * sd / np.sqrt(400_000))
    assert res["icer"] == pytest.approx(mu_c / mu_e, rel=0.01)
    # quadrants: independent normals → P(NE) = P(de>0)·P(dc>0)
    pe, pc = stats.norm.sf(-mu_e / sd_e), stats.norm.sf(-mu_c / sd_c)
    q = res["quadrants"]
    assert q["NE"] == pytest.approx(pe * pc, abs=0.004)
    assert q["SW"] == pytest.approx((1 - pe) * (1 - pc), abs=0.004)
    assert sum(q.values()) == pytest.approx(1.0)


def test_normal_closed_form_matches_r_numerical_integration():
    # The closed form used above (EVPI = σ·L(|μ|/σ), CEAC = Φ(μ/σ)) checked against direct numerical integration of
    # EVPI = E[max(INB, 0)] − max(E[INB], 0) in R 4.2.2, Debian:
    #   mu_e <- 0.5; sd_e <- 1; mu_c <- 400; sd_c <- 300; k <- c(0, 500, 800, 1500, 4000)
    #   mu <- k*mu_e - mu_c; s <- sqrt((k*sd_e)^2 + sd_c^2)
    #   sapply(seq_along(k), function(i) integrate(function(x) pmax(x, 0)*dnorm(x, mu[i], s[i]), -Inf, Inf,
    #          rel.tol = 1e-12)$value - max(mu[i], 0))
    #   -> 12.7185345125 165.2761861016 340.8564337915 451.1688181564 925.8935041543
    #   pnorm(mu/s) -> 0.0912112197259 0.3984937131044 0.5 0.5904886551489 0.6550090850295
    mu_e, sd_e, mu_c, sd_c = 0.5, 1.0, 400.0, 300.0
    k = np.array([0.0, 500.0, 800.0, 1500.0, 4000.0])
    mu = k * mu_e - mu_c
    sd = np.sqrt((k * sd_e) ** 2 + sd_c**2)
    z = np.abs(mu) / sd
    np.testing.assert_allclose(sd * (stats.norm.pdf(z) - z * stats.norm.sf(z)),
                               [12.7185345125, 165.2761861016, 340.8564337915, 451.1688181564, 925.8935041543],
                               rtol=1e-9)
    np.testing.assert_allclose(stats.norm.cdf(mu / sd),
                               [0.0912112197259, 0.3984937131044, 0.5, 0.5904886551489, 0.6550090850295], atol=1e-12)

def test_evpi_discrete_hand_calculation():
    # three equally likely "futures" (draws), two arms; by hand (BCEA definitions):
    # k = 100: NB_hb = 100*e - c = [100-50, 300-250, 0-20] = [50, 50, -20]; NB_v = [0, 0, 0]
    # mean NB_hb = 80/3 > 0 → hb best; E[max NB] = (50+50+0)/3 = 100/3; EVPI = 100/3 - 80/3 = 20/3
    e = pd.DataFrame({"hb": [1.0, 3.0, 0.0], "verrokki": [0.0, 0.0, 0.0]})
    c = pd.DataFrame({"hb": [50.0, 250.0, 20.0], "verrokki": [0.0, 0.0, 0.0]})
    res = cea.summarise(e, c, "hb", [100.0, 0.0])
    assert res["evpi"].loc[100.0] == pytest.approx(20 / 3)
    assert res["ceac"].loc[100.0] == pytest.approx(2 / 3)
    assert res["eib"].loc[100.0] == pytest.approx(80 / 3)
    assert res["icer"] == pytest.approx((320 / 3) / (4 / 3))
    assert res["best"].loc[0.0] == "verrokki" and res["evpi"].loc[0.0] == pytest.approx(0.0)
    # third draw: delta_e = 0, delta_c = 20 > 0 → NW (delta_e <= 0 counts as west)
    assert res["quadrants"] == {"NE": pytest.approx(2 / 3), "NW": pytest.approx(1 / 3), "SW": 0.0, "SE": 0.0}


def test_three_arms_return_per_comparator():
    e = pd.DataFrame({"a": [1.0, 2.0], "b": [0.0, 0.0], "c": [1.0, 1.0]})
    c = pd.DataFrame({"a": [10.0, 10.0], "b": [0.0, 0.0], "c": [5.0, 5.0]})
    res = cea.summarise(e, c, "a", [10.0])
    assert res["icer"]["b"] == pytest.approx(10 / 1.5)
    assert res["icer"]["c"] == pytest.approx(5 / 0.5)
    # NB at k=10: a = [0, 10], b = [0, 0], c = [5, 5]; E max = (5+10)/2 = 7.5, max E = 5 → EVPI 2.5
    assert res["evpi"].iloc[0] == pytest.approx(2.5)


def test_stratified_bootstrap_is_seeded_and_within_arm():
    arms = np.array(["hb"] * 30 + ["verrokki"] * 70)
    idx1, cols = cea.stratified_indices(arms, 500, seed=3)
    idx2, _ = cea.stratified_indices(arms, 500, seed=3)
    np.testing.assert_array_equal(idx1, idx2)
    assert set(np.unique(arms[idx1[:, cols["hb"]]])) == {"hb"}
    assert set(np.unique(arms[idx1[:, cols["verrokki"]]])) == {"verrokki"}
    assert len(cols["hb"]) == 30 and idx1.shape == (500, 100)


def test_bootstrap_mean_ci_covers_normal_theory():
    # percentile CI of a mean ≈ mean ± 1.96·s/√n for a large sample (Efron & Tibshirani 1993, ch. 13);
    # R 4.2.2, Debian: qnorm(0.975) -> 1.95996398454
    rng = np.random.default_rng(5)
    df = pd.DataFrame({"arm": ["hb"] * 400, "x": rng.normal(10, 2, 400)})
    draws = cea.bootstrap_means(df, ["x"], replicates=4000, seed=1)["hb"]["x"]
    lo, hi = cea.percentile_ci(draws)
    se = df["x"].std() / np.sqrt(400)
    assert lo == pytest.approx(df["x"].mean() - 1.96 * se, abs=0.25 * se)
    assert hi == pytest.approx(df["x"].mean() + 1.96 * se, abs=0.25 * se)


def test_ratio_of_sums_and_nan_handling():
    df = pd.DataFrame({"arm": ["hb", "hb", "verrokki"], "cost": [100.0, np.nan, 30.0], "months": [2.0, 5.0, 3.0]})
    pm = cea.point_means(df, ["cost"], denominator="months")
    assert pm.loc["hb", "cost"] == pytest.approx(50.0) and pm.loc["verrokki", "cost"] == pytest.approx(10.0)
    draws = cea.bootstrap_means(df, ["cost"], replicates=200, seed=2, denominator="months")
    hb = draws["hb"]["cost"]
    assert np.nanmax(hb) == pytest.approx(50.0) and np.all(np.isnan(hb) | np.isclose(hb, 50.0))


def test_bootstrap_ols_matches_numpy_lstsq():
    rng = np.random.default_rng(8)
    X = np.column_stack([np.ones(50), rng.normal(size=50), rng.integers(0, 2, 50)])
    y = X @ np.array([1.0, 2.0, -0.5]) + rng.normal(size=50)
    idx, _ = cea.stratified_indices(np.repeat("a", 50), 5, seed=1)
    coefs = cea.bootstrap_ols(y, X, idx)
    for b in range(5):
        ref = np.linalg.lstsq(X[idx[b]], y[idx[b]], rcond=None)[0]
        np.testing.assert_allclose(coefs[b], ref, rtol=1e-8)
