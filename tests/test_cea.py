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

from hbeval_lib.strands.costs import cea


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


# -- small-sample intervals, adjustment and reconciliation (issue 12) ---------------------------------------------

def _skewed_costs(rng, n, shape_hb=0.5, shape_c=0.8, mean_hb=3000.0, mean_c=2000.0):
    """Two arms of ``n`` clients with gamma-distributed (skewed, unequal shape) costs and a binary baseline
    covariate ``z`` that is more common among HB clients and adds 800 € (self-selection on z). The regression
    ``cost ~ arm + z`` is correctly specified for the mean, so its arm coefficient has the true value
    ``mean_hb − mean_c``."""
    arm = np.repeat([1.0, 0.0], n)
    z = np.where(arm == 1, rng.random(2 * n) < 0.6, rng.random(2 * n) < 0.3).astype(float)
    cost = np.where(arm == 1, rng.gamma(shape_hb, mean_hb / shape_hb, 2 * n),
                    rng.gamma(shape_c, mean_c / shape_c, 2 * n)) + 800.0 * z
    return cost, np.column_stack([np.ones(2 * n), arm, z]), mean_hb - mean_c


def _coverage(method: str, reps: int = 300, boot: int = 399, seed: int = 20261130, hc: str = "HC3") -> float:
    """Share of simulated data sets (20, 40 and 60 clients per arm, ``reps`` each) whose 95 % interval of the
    adjusted cost difference covers the truth: ``percentile`` (bootstrap of :func:`cea.bootstrap_ols`) or
    ``t`` (:func:`cea.ols_t_interval`, the method the report uses)."""
    rng = np.random.default_rng(seed)
    hits = total = 0
    for n in (20, 40, 60):
        strata = np.repeat(["hb", "verrokki"], n)
        for _ in range(reps):
            y, X, truth = _skewed_costs(rng, n)
            if method == "percentile":
                idx, _ = cea.stratified_indices(strata, boot, int(rng.integers(2**31)))
                lo, hi = cea.percentile_ci(cea.bootstrap_ols(y, X, idx)[:, 1])
            else:
                r = cea.ols_t_interval(y, X, hc=hc, bell_mccaffrey=hc == "HC2")
                lo, hi = r["ci_low"], r["ci_high"]
            hits += lo <= truth <= hi
            total += 1
    return hits / total


def _covers_nominally(coverage: float) -> bool:
    # 900 replicates: the Monte Carlo SE of a 95 % coverage is 0.007; 0.93–0.97 is nominal within ~3 SE
    return 0.93 <= coverage <= 0.97


def test_interval_coverage_with_skewed_costs():
    """Why the report's cost differences use robust t intervals: with skewed costs and 20–60 clients per arm the
    percentile bootstrap undercovers (the check rejects it), the t interval covers about 95 %. With this seed:
    percentile 0.924, HC3 t 0.936, HC2 t with Bell–McCaffrey df (the report's, ``COST_HC``) 0.93–0.94 (900 data
    sets each; the issue's own simulation found 0.89–0.90)."""
    pct = _coverage("percentile")
    t = _coverage("t")
    assert not _covers_nominally(pct), f"percentile bootstrap covered {pct:.3f}"
    assert pct < 0.93
    assert _covers_nominally(t), f"t interval covered {t:.3f}"
    hc2 = _coverage("t", hc="HC2")
    assert _covers_nominally(hc2), f"HC2 t interval (Bell–McCaffrey df) covered {hc2:.3f}"


def test_robust_interval_of_two_groups_against_welch():
    # HC2 variance of a difference of means = s1²/n1 + s0²/n0 (Imbens & Kolesár 2016): the t statistic equals
    # Welch's statistic from scipy.stats.ttest_ind(equal_var=False); HC3 (the default) = s1²/(n1−1) + s0²/(n0−1)
    rng = np.random.default_rng(4)
    a, b = rng.gamma(0.7, 1000, 23), rng.gamma(1.5, 600, 31)
    y = np.concatenate([a, b])
    X = np.column_stack([np.ones(54), np.r_[np.ones(23), np.zeros(31)]])
    r2 = cea.ols_t_interval(y, X, hc="HC2")
    welch = stats.ttest_ind(a, b, equal_var=False)
    assert r2["hc"] == "HC2" and r2["df"] == 52
    assert r2["estimate"] / r2["se"] == pytest.approx(welch.statistic, rel=1e-10)
    r3 = cea.ols_t_interval(y, X)
    assert r3["hc"] == "HC3"
    assert r3["se"] ** 2 == pytest.approx(a.var(ddof=1) / 22 + b.var(ddof=1) / 30, rel=1e-10)
    half = stats.t.ppf(0.975, 52) * r3["se"]
    assert (r3["ci_low"], r3["ci_high"]) == pytest.approx((r3["estimate"] - half, r3["estimate"] + half))


def test_bell_mccaffrey_df_against_its_definition_and_welch():
    """Bell & McCaffrey (2002) degrees of freedom of the HC2 variance: the Satterthwaite df
    tr(M D² M)² / tr((M D² M)²) computed by brute force on the n × n matrices, and for two groups the closed form
    of Welch's df under equal variances, (1/n1 + 1/n0)² / (1/(n1²(n1 − 1)) + 1/(n0²(n0 − 1)))."""
    rng = np.random.default_rng(1)
    n1, n0 = 7, 15
    y = rng.normal(size=n1 + n0)
    X = np.column_stack([np.ones(n1 + n0), np.r_[np.ones(n1), np.zeros(n0)], rng.normal(size=n1 + n0)])
    r = cea.ols_t_interval(y, X, hc="HC2", bell_mccaffrey=True)
    inv = np.linalg.inv(X.T @ X)
    H = X @ inv @ X.T
    M = np.eye(len(y)) - H
    a = X @ inv[:, 1]
    A = M @ np.diag(a ** 2 / (1 - np.diag(H))) @ M
    assert r["df"] == pytest.approx(np.trace(A) ** 2 / np.trace(A @ A), rel=1e-9)
    two = cea.ols_t_interval(y, X[:, :2], hc="HC2", bell_mccaffrey=True)
    welch = (1 / n1 + 1 / n0) ** 2 / (1 / (n1 ** 2 * (n1 - 1)) + 1 / (n0 ** 2 * (n0 - 1)))
    assert two["df"] == pytest.approx(welch, rel=1e-9)
    # known bad: the residual df n − p (20) overstates the information of 7 + 15 unbalanced clients
    assert cea.ols_t_interval(y, X[:, :2], hc="HC2")["df"] == 20 and two["df"] < 12
    assert two["ci_high"] - two["ci_low"] > cea.ols_t_interval(y, X[:, :2], hc="HC2")["ci_high"] - \
        cea.ols_t_interval(y, X[:, :2], hc="HC2")["ci_low"]


def test_leverage_one_falls_back_to_hc1_and_stays_finite():
    # a one-client category (leverage 1): HC2 would divide by zero; the function switches to HC1
    rng = np.random.default_rng(2)
    n = 30
    lone = np.zeros(n)
    lone[0] = 1.0
    X = np.column_stack([np.ones(n), np.r_[np.ones(15), np.zeros(15)], lone])
    y = rng.normal(size=n)
    with np.errstate(all="raise"):
        r = cea.ols_t_interval(y, X)
    assert r["hc"] == "HC1" and np.isfinite([r["se"], r["ci_low"], r["ci_high"]]).all()


def test_collapse_rare_levels():
    s = pd.Series(["a"] * 6 + ["b"] * 5 + ["c"] + [None] * 2, dtype="string")
    v = cea.collapse_rare(s, 5)
    # "c" (1) and the missing (2) merge into "muut" (3 < 5), which then joins the largest level "a"
    assert v.value_counts().to_dict() == {"a": 9, "b": 5}
    # without collapsing, the one-client level would be a leverage-1 dummy
    X, info = cea.covariate_design(pd.DataFrame({"arm": ["hb", "verrokki"] * 7, "g": s}), "hb", ["g"],
                                   min_level=5, per_parameter=1)
    h = np.einsum("ij,jk,ik->i", X, np.linalg.pinv(X.T @ X), X)
    assert h.max() < 0.99 and info["used"] == ["g"] and info["collapsed"] == {"g": 2}


def _selected(n=3000, seed=9):
    """Clients self-select into HB on age and unemployment, which also drive change and cost; true effect 0.5
    points and true cost difference 1 000 €."""
    rng = np.random.default_rng(seed)
    age = rng.uniform(20, 70, n)
    unemployed = rng.random(n) < 0.4
    p = 1 / (1 + np.exp(-(-2 + 0.04 * age + 1.0 * unemployed)))
    hb = rng.random(n) < p
    start = rng.normal(5, 1.5, n)
    change = 0.5 * hb + 0.03 * (age - 45) - 0.6 * unemployed - 0.3 * (start - 5) + rng.normal(0, 1, n)
    cost = 1000 * hb + 40 * (age - 45) + 1500 * unemployed + rng.gamma(0.8, 2500, n)
    return pd.DataFrame({"arm": np.where(hb, "hb", "verrokki"), "change": change, "cost": cost, "start": start,
                         "age": age, "labour_status": np.where(unemployed, "työtön", "työssä")})


def test_adjusted_cea_recovers_planted_effect_under_self_selection():
    d = _selected()
    adj = cea.bootstrap_cea(d, replicates=200, seed=1, adjust=True)
    una = cea.bootstrap_cea(d, replicates=200, seed=1, adjust=False)
    assert set(adj["design"]["used"]) == {"start", "age", "labour_status"}
    for x, truth in (("e", 0.5), ("c", 1000.0)):
        assert adj["point"][x]["ci_low"] <= truth <= adj["point"][x]["ci_high"], x
        # the unadjusted difference is biased by the selection: its interval misses the truth
        assert not una["point"][x]["ci_low"] <= truth <= una["point"][x]["ci_high"], x


def test_published_numbers_reconcile():
    d = _selected(n=120, seed=3)
    boot = cea.bootstrap_cea(d, replicates=500, seed=2, adjust=True)
    pe, pc = boot["point"]["e"]["estimate"], boot["point"]["c"]["estimate"]
    icer = pc / pe
    grid = cea.wtp_grid({"wtp_grid": {"start": 0, "stop": 500, "step": 50}, "wtp_report": [0, 1000]}, icer)
    assert grid.max() >= 3 * abs(icer) and len(grid) <= 110 and {0.0, 1000.0} <= set(grid)
    res = cea.summarise(boot["effects"], boot["costs"], "hb", grid)
    # the CE plane's centre, BCEA's ICER and EIB are the regression's point estimates
    assert res["delta_e"] == pytest.approx(pe, rel=1e-12) and res["delta_c"] == pytest.approx(pc, rel=1e-12)
    assert res["icer"] == pytest.approx(res["delta_c"] / res["delta_e"], rel=1e-12)
    inmb = cea.inmb_interval(boot, 1000.0)
    assert inmb["estimate"] == pytest.approx(res["eib"].loc[1000.0], rel=1e-9)
    assert inmb["ci_low"] < inmb["estimate"] < inmb["ci_high"]
    # the CEAC crosses one half near the ICER, inside the grid
    assert res["ceac"].iloc[0] < 0.5 < res["ceac"].iloc[-1] or res["ceac"].iloc[0] > 0.5 > res["ceac"].iloc[-1]


def test_bootstrap_ols_with_a_dummy_absent_from_a_replicate():
    # a two-client dummy is missing from many replicates: the arm coefficient is still the least-squares one
    rng = np.random.default_rng(1)
    n = 24
    rare = np.zeros(n)
    rare[[0, 13]] = 1.0
    X = np.column_stack([np.ones(n), np.r_[np.ones(12), np.zeros(12)], rare])
    y = X @ np.array([1.0, 2.0, 3.0]) + rng.normal(size=n)
    idx, _ = cea.stratified_indices(np.repeat(["hb", "verrokki"], 12), 300, seed=5)
    coef = cea.bootstrap_ols(y, X, idx)
    absent = ~(rare[idx] > 0).any(axis=1)
    assert absent.any() and np.isfinite(coef[:, 1]).all()
    b = int(np.flatnonzero(absent)[0])
    ref = np.linalg.lstsq(X[idx[b]][:, :2], y[idx[b]], rcond=None)[0]
    assert coef[b, 1] == pytest.approx(ref[1], rel=1e-8)


def test_unadjusted_cea_differences_are_welch_intervals_like_the_wellbeing_page():
    """Issue 18, found by the reader's consistency check on the demo: the cost page's unadjusted Δe printed
    0,84 (0,40 … 1,28) and the wellbeing page 0,84 (0,40 … 1,27) for the same clients' difference in change — the
    CEA used an HC3 interval, the wellbeing strand Welch's. Both are now Welch's (reference: SciPy's Welch test)."""
    d = _selected()
    una = cea.bootstrap_cea(d, replicates=50, seed=1, adjust=False)
    for x, col in (("e", "change"), ("c", "cost")):
        a = d.loc[d["arm"] == "hb", col].to_numpy()
        b = d.loc[d["arm"] == "verrokki", col].to_numpy()
        ci = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
        p = una["point"][x]
        assert p["hc"] == "welch"
        assert (p["ci_low"], p["ci_high"]) == pytest.approx((ci.low, ci.high), rel=1e-10)
        # known bad: the HC3 interval of the same difference is another interval
        h3 = cea.ols_t_interval(d[col].to_numpy(float),
                                np.column_stack([np.ones(len(d)), (d["arm"] == "hb").to_numpy(float)]))
        assert abs(h3["ci_low"] - ci.low) > 1e-6
