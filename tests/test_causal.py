"""The causal estimators (hbeval_lib.strands.wellbeing.causal, wellbeing.OutcomeAnalysis) against published worked examples, outside
implementations (statsmodels, R's p.adjust) and planted truth in seeded simulations.

The acceptance simulation: clients self-select into HB on age and labour status, which also drive the change; a
labour-status level is rare and one pilot has a single client; a fifth of the end scores are missing at random given
the interim score. The primary estimator (doubly robust + multiple imputation) must cover the true effect 93–97 % of
the time and the start-and-pilot-only ANCOVA must not (it is biased by the selection)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from hbeval_lib.strands.wellbeing import causal
from hbeval_lib.strands.wellbeing import stats as wb

LABOUR = ["ansiotyössä", "työtön", "eläkkeellä", "opiskelija", "muu"]
EFFECT = 0.5


def simulate(rng: np.random.Generator, n: int = 200, effect: float = EFFECT, missing: float = 0.2) -> pd.DataFrame:
    """One data set in the shape of :func:`hbeval_lib.strands.wellbeing.stats.outcome_frame` with a planted HB effect on change.

    Selection into HB and the change both depend on age and unemployment (and the start score); ``muu`` labour
    status is rare (about 2 %) and pilot ``yksi`` has exactly one client. End scores are missing at random given the
    arm and the interim score (``aux``)."""
    age = rng.uniform(18, 75, n)
    labour = rng.choice(np.array(LABOUR, dtype=object), size=n, p=[0.3, 0.42, 0.2, 0.06, 0.02])
    labour[1] = "muu"  # the rare level is always present
    gender = rng.choice(["mies", "nainen"], size=n)
    pilot = rng.choice(np.array(["a", "b", "c", "d", "e"], dtype=object), size=n)
    pilot[0] = "yksi"
    start = rng.normal(5 - 0.01 * (age - 45), 1.5)
    unemployed = (labour == "työtön").astype(float)
    logit = -0.2 + 0.05 * (age - 45) + 1.0 * unemployed + 0.2 * (start - 5)
    hb = rng.uniform(size=n) < 1 / (1 + np.exp(-logit))
    change = (0.2 + 0.03 * (age - 45) - 0.7 * unemployed - 0.3 * (start - 5) + effect * hb
              + rng.normal(0, 0.7, n))
    end = start + change
    aux = start + 0.5 * change + rng.normal(0, 0.4, n)
    if missing > 0:
        p_miss = 1 / (1 + np.exp(-(math.log(missing / (1 - missing)) - 0.8 * (aux - start) + 0.3 * (~hb))))
        end = np.where(rng.uniform(size=n) < p_miss, np.nan, end)
    return pd.DataFrame({"client_id": [f"{i:06d}" for i in range(n)], "pilot": pilot, "client_group": "x",
                         "arm": np.where(hb, "hb", "verrokki"), "start": start, "aux": aux, "end": end, "age": age,
                         "gender": gender, "family_structure": "a", "labour_status": labour})


# -- building blocks against outside references -------------------------------------------------------------------

def test_evalue_matches_vanderweele_ding_example():
    # VanderWeele & Ding 2017 (Ann Intern Med 167:268): RR 3.9 (95 % CI 1.8–8.7) → E-values 7.26 and 3.00
    assert causal.evalue_rr(3.9) == pytest.approx(7.26, abs=0.005)
    assert causal.evalue_rr(1.8) == pytest.approx(3.00, abs=0.005)
    assert causal.evalue_rr(1 / 3.9) == pytest.approx(7.26, abs=0.005)  # protective: 1/RR
    # SMD: RR ≈ exp(0.91 d); d = 0.5 → RR 1.576 → E 2.53 (R EValue::evalues.MD(0.5, 0.1): point 2.53)
    e, e_ci = causal.evalue_smd(0.5, 0.3, 0.7)
    assert e == pytest.approx(2.53, abs=0.005)
    assert e_ci == pytest.approx(causal.evalue_rr(math.exp(0.91 * 0.3)))
    assert causal.evalue_smd(0.5, -0.1, 1.1)[1] == 1.0  # interval contains 0
    assert causal.evalue_smd(-0.5, -0.7, -0.3) == pytest.approx((e, e_ci))


def test_holm_matches_r_p_adjust():
    # R: p.adjust(c(0.01, 0.04, 0.03, 0.005), "holm") → 0.03 0.06 0.06 0.02
    assert causal.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    got = causal.holm({"a": 0.2, "b": math.nan, "c": 0.01})
    assert got["a"] == pytest.approx(0.2) and got["c"] == pytest.approx(0.02) and math.isnan(got["b"])
    assert causal.holm([0.6, 0.7]) == [1.0, 1.0]  # R: p.adjust(c(0.6, 0.7), "holm") → 1 1 (capped at 1)


def test_rubin_rules_hand_computed():
    # m = 3, estimates 1, 2, 3, within variances 1: qbar 2, B 1, T = 1 + 4/3; lambda = (4/3)/T;
    # Barnard-Rubin with df_com = 50
    r = causal.rubin([1, 2, 3], [1, 1, 1], df_com=50)
    T = 1 + 4 / 3
    lam = (4 / 3) / T
    df_old = 2 / lam ** 2
    df_obs = 51 / 53 * 50 * (1 - lam)
    assert r["estimate"] == 2 and r["se"] == pytest.approx(math.sqrt(T))
    assert r["df"] == pytest.approx(1 / (1 / df_old + 1 / df_obs))
    assert r["fmi"] == pytest.approx(lam)
    one = causal.rubin([1.5], [0.04], df_com=30)  # nothing imputed: the complete-data result
    assert one["se"] == pytest.approx(0.2) and one["df"] == 30


def test_mi_linearised_pooling_hand_computed():
    # m = 3 estimates 1, 2, 3 (b = 1, b/m = 1/3), the stacked fit's se 1 with 20 df, imputation variances 1:
    # gamma = (1 + 1/3) b / (1 + (1 + 1/3) b) = 4/7; Barnard-Rubin nu_obs = 21/23 * 20 * 3/7;
    # V = 1 + 1/3; Satterthwaite df = V^2 / (1 / nu_obs + (1/3)^2 / 2)
    r = causal.mi_linearised([1, 2, 3], {"se": 1.0, "df": 20.0}, [1, 1, 1])
    nu_obs = 21 / 23 * 20 * 3 / 7
    V = 1 + 1 / 3
    df = V ** 2 / (1 / nu_obs + (1 / 9) / 2)
    assert r["estimate"] == 2 and r["se"] == pytest.approx(math.sqrt(V)) and r["df"] == pytest.approx(df)
    assert r["ci_high"] == pytest.approx(2 + stats.t.ppf(0.975, df) * math.sqrt(V))
    # Rubin's rules on the same numbers give a larger variance (1 + 4/3): the known over-count
    assert causal.rubin([1, 2, 3], [1, 1, 1], df_com=20)["se"] > r["se"]
    one = causal.mi_linearised([1.5], {"se": 0.2, "df": 30.0})   # nothing imputed: the complete-data result
    assert one["se"] == pytest.approx(0.2) and one["df"] == 30
    assert math.isnan(causal.mi_linearised([1.0, 2.0], {"se": math.nan, "df": 30.0})["se"])


def test_stacked_imputation_variance_matches_the_monte_carlo_spread():
    """Planted truth: HB effect 0.5, the outcome missing at random given an auxiliary variable the effect model
    does not use (as the interim score). Over 1 500 data sets the stacked sandwich (Robins & Wang 2000) of the
    regression-imputation estimator has the estimator's Monte Carlo variance and its intervals cover 0.5;
    the known-bad variance that treats the imputed values as measured (the same estimator without the stacked
    imputation model) is clearly too small."""
    rng = np.random.default_rng(31)
    n, reps = 300, 1500
    est, se, se_naive, hit = [], [], [], 0
    for _ in range(reps):
        x = rng.normal(size=n)
        t = (rng.random(n) < 1 / (1 + np.exp(-0.5 * x))).astype(float)
        y = 1 + x + 0.5 * t + rng.normal(size=n)
        z = y + rng.normal(0, 0.7, n)
        obs = rng.random(n) > 1 / (1 + np.exp(-(-1.0 + 0.8 * (z - z.mean()))))   # about a third missing
        X = np.column_stack([np.ones(n), x])
        Z = np.column_stack([np.ones(n), z, t, x])
        f = causal.dr_effect(np.where(obs, y, np.nan), t, X, X, imputation=(Z, obs, None))
        filled = np.where(obs, y, Z @ np.linalg.lstsq(Z[obs], y[obs], rcond=None)[0])
        naive = causal.dr_effect(filled, t, X, X)
        assert f["estimate"] == pytest.approx(naive["estimate"])   # the same regression-imputation estimate
        est.append(f["estimate"])
        se.append(f["se"])
        se_naive.append(naive["se"])
        hit += f["ci_low"] <= 0.5 <= f["ci_high"]
    mc = float(np.var(est, ddof=1))
    assert abs(np.mean(est) - 0.5) < 0.01
    assert 0.9 < np.mean(np.square(se)) / mc < 1.12, np.mean(np.square(se)) / mc
    assert np.mean(np.square(se_naive)) / mc < 0.88                 # known bad: imputed values as data
    assert 0.935 <= hit / reps <= 0.965, hit / reps
    # an offset moves every imputed outcome (the delta-adjusted sensitivity analysis) and nothing else
    shifted = causal.dr_effect(np.where(obs, y, np.nan), t, X, X, imputation=(Z, obs, np.where(t == 1, 1.0, 0.0)))
    n_shift = float(((~obs) & (t == 1)).sum()) / t.sum()
    assert shifted["estimate"] - f["estimate"] == pytest.approx(n_shift)


def test_logistic_matches_statsmodels():
    import statsmodels.api as sm

    rng = np.random.default_rng(3)
    X = np.column_stack([np.ones(300), rng.normal(size=300), rng.integers(0, 2, 300)])
    t = (rng.uniform(size=300) < 1 / (1 + np.exp(-(0.3 + X[:, 1] - 0.8 * X[:, 2])))).astype(float)
    beta, ok = causal.fit_logistic(X, t)
    ref = sm.GLM(t, X, family=sm.families.Binomial()).fit()
    assert ok
    np.testing.assert_allclose(beta, ref.params, rtol=1e-6, atol=1e-8)


def test_collapse_rare_merges_small_levels_and_one_client_pilot():
    d = pd.DataFrame({"arm": ["hb"] * 30 + ["verrokki"] * 30,
                      "pilot": ["a"] * 25 + ["b"] * 5 + ["a"] * 20 + ["c"] * 9 + ["yksi"],
                      "status": ["x"] * 59 + [None]})
    out, notes = causal.collapse_rare(d, ["pilot", "status"], min_n=10, group="arm", min_per_group=3)
    # b (5, HB only), c (9, control only) and yksi (1) are rare; "muut" = 15 but has < 3 controls? no: 10 controls
    assert set(out["pilot"]) == {"a", "muut"}
    assert {(n["column"], n["level"]) for n in notes} >= {("pilot", "b"), ("pilot", "c"), ("pilot", "yksi")}
    # a missing value is its own level; one rare level beside a common one is merged into "muut", which is then
    # still rare and absorbs the smallest remaining level: the variable becomes constant (not modelled)
    assert out["status"].nunique() == 1
    X, names = causal.design(out, [], ["pilot", "status"])
    assert names == ["(vakio)", "pilot[muut]"] and X.shape == (60, 2)


def test_design_adds_missingness_indicator_not_bare_median():
    d = pd.DataFrame({"age": [20.0, np.nan, 40.0, 60.0]})
    X, names = causal.design(d, ["age"], [])
    assert names == ["(vakio)", "age_puuttuu", "age"]
    np.testing.assert_allclose(X[:, 1], [0, 1, 0, 0])
    np.testing.assert_allclose(X[:, 2], [20, 40, 40, 60])  # mean of the observed, flagged by the indicator


def test_weighted_ancova_with_a_leverage_one_row_falls_back_to_hc1():
    # a pilot with one client: its dummy gives that row leverage 1, where HC3 divides by zero
    rng = np.random.default_rng(5)
    n = 40
    pairs = pd.DataFrame({"arm": ["hb", "verrokki"] * (n // 2), "start": rng.normal(5, 1, n),
                          "pilot": ["a"] * (n - 1) + ["yksi"]})
    pairs["end"] = pairs["start"] + 0.5 * (pairs["arm"] == "hb") + rng.normal(0, 0.5, n)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning may escape
        r = wb.ancova(pairs, pilot_effects=True, weights=np.ones(n))
    assert r["note"].startswith("HC1")
    assert all(math.isfinite(r[k]) for k in ("se", "ci_low", "ci_high", "p_value"))


# -- the doubly robust estimator -------------------------------------------------------------------------------

def _dr(df: pd.DataFrame, X_out_cols=None, X_ps_cols=None, estimand="ATT") -> dict:
    X, names = causal.design(df, ["age", "start"], ["labour_status"])
    Xo = X if X_out_cols is None else X[:, X_out_cols]
    Xp = X if X_ps_cols is None else X[:, X_ps_cols]
    return causal.dr_effect((df["end"] - df["start"]).to_numpy(), (df["arm"] == "hb").to_numpy(float), Xp, Xo,
                            estimand=estimand)


@pytest.mark.parametrize("estimand", ["ATT", "ATE"])
def test_dr_is_doubly_robust(estimand):
    """Either model alone right: unbiased; both wrong (intercept only): biased."""
    rng = np.random.default_rng(11)
    est = {"ps_only": [], "outcome_only": [], "neither": []}
    for _ in range(120):
        df = simulate(rng, n=400, missing=0.0)
        est["ps_only"].append(_dr(df, X_out_cols=[0], estimand=estimand)["estimate"])
        est["outcome_only"].append(_dr(df, X_ps_cols=[0], estimand=estimand)["estimate"])
        est["neither"].append(_dr(df, X_out_cols=[0], X_ps_cols=[0], estimand=estimand)["estimate"])
    bias = {k: float(np.mean(v)) - EFFECT for k, v in est.items()}
    assert abs(bias["outcome_only"]) < 0.05, bias
    assert abs(bias["ps_only"]) < 0.1, bias
    assert abs(bias["neither"]) > 0.08, bias  # the test can fail: the unadjusted difference is biased


def test_sandwich_agrees_with_bootstrap_of_the_whole_procedure():
    """The stacked sandwich SE (used everywhere, also in the coverage simulation) against a nonparametric bootstrap
    that re-fits both models in every replicate."""
    rng = np.random.default_rng(21)
    df = simulate(rng, n=250, missing=0.0)
    fit = _dr(df)
    boot = []
    for _ in range(400):
        idx = rng.integers(0, len(df), len(df))
        boot.append(_dr(df.iloc[idx].reset_index(drop=True))["estimate"])
    sd = float(np.std(boot, ddof=1))
    assert fit["se"] == pytest.approx(sd, rel=0.2), (fit["se"], sd)


def test_mice_pmm_agrees_with_statsmodels_micedata():
    """The mean of an outcome missing at random given an auxiliary variable: this module's chained equations vs
    statsmodels' MICEData (both predictive mean matching). Both recover the full-data mean that complete cases miss
    by half a standard deviation; the imputations are the same on every run (fixed seed)."""
    from statsmodels.imputation import mice

    rng = np.random.default_rng(8)
    n = 400
    x = rng.normal(size=n)
    y = 1.0 * x + rng.normal(0, 0.5, n)
    z = y + rng.normal(0, 0.3, n)  # auxiliary (like the interim score)
    y_obs = np.where(rng.uniform(size=n) < 1 / (1 + np.exp(-z)), np.nan, y)  # MAR given z
    data = np.column_stack([y_obs, x, z])
    ours = float(np.mean([f[:, 0].mean() for f in causal.mice_pmm(data, m=20, n_iter=5, seed=1)]))
    imp = mice.MICEData(pd.DataFrame({"y": y_obs, "x": x, "z": z}))
    theirs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.random.seed(1)
        for _ in range(20):
            imp.update_all(5)
            theirs.append(imp.data["y"].mean())
    truth, cc = float(y.mean()), float(np.nanmean(y_obs))
    assert abs(cc - truth) > 0.3  # the test can fail: complete cases are biased
    assert abs(ours - truth) < 0.05, (ours, truth)
    assert abs(float(np.mean(theirs)) - truth) < 0.1 and abs(ours - float(np.mean(theirs))) < 0.1
    again = causal.mice_pmm(data, m=20, n_iter=5, seed=1)
    assert all(np.array_equal(a, b) for a, b in zip(again, causal.mice_pmm(data, m=20, n_iter=5, seed=1)))


# -- the acceptance simulation ----------------------------------------------------------------------------------

def test_primary_estimator_covers_under_selection_and_ancova_does_not():
    rng = np.random.default_rng(2024)
    reps = 300
    covered, covered_ancova, estimates, rare = 0, 0, [], 0
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no numeric warning anywhere in the procedure
        for _ in range(reps):
            df = simulate(rng)
            # 10 imputations: with 5, Barnard–Rubin degrees of freedom fall below the publication floor (3) now
            # and then, and an unpublished interval counts as a miss here
            a = wb.effect_analysis(df, pilot_effects=True, mi_imputations=10, mi_iterations=5)
            p = a.primary()
            assert p["n_imputed_hb"] + p["n_imputed_verrokki"] > 0
            assert any(n["level"] == "yksi" for n in a.collapsed)  # the one-client pilot, merged before modelling
            rare += any(n["column"] == "labour_status" for n in a.collapsed)
            covered += p["ci_low"] <= EFFECT <= p["ci_high"]
            estimates.append(p["estimate"])
            an = a.ancova_start_pilot()
            covered_ancova += an["ci_low"] <= EFFECT <= an["ci_high"]
    coverage, coverage_ancova = covered / reps, covered_ancova / reps
    assert rare >= 0.9 * reps  # a rare labour-status level was present (and merged) in nearly every replicate
    assert 0.93 <= coverage <= 0.97, coverage
    assert np.isnan(estimates).mean() <= 0.01   # an estimate withheld by the publication rules counts as a miss
    assert abs(np.nanmean(estimates) - EFFECT) < 0.03
    assert coverage_ancova < 0.85, coverage_ancova  # start + pilot only: biased by the selection


def test_tipping_point_moves_the_interval_limit_to_zero():
    rng = np.random.default_rng(4)
    a = wb.effect_analysis(simulate(rng, n=300, effect=0.8), mi_imputations=10)
    p = a.primary()
    assert p["ci_low"] > 0
    tp = a.tipping_point()
    assert tp["significant"] and tp["delta"] < 0 and tp["direction"] == "pienempi"
    assert a.pooled(tp["delta"])["ci_low"] == pytest.approx(0, abs=0.01)
    assert a.pooled(tp["delta"] / 2)["ci_low"] > 0  # a smaller shift keeps the conclusion


def test_nothing_imputed_gives_the_complete_case_result():
    rng = np.random.default_rng(6)
    a = wb.effect_analysis(simulate(rng, missing=0.0))
    p, cc = a.primary(), a.complete_case()
    assert p["m"] == 1 and p["n_imputed_hb"] == 0
    assert p["estimate"] == pytest.approx(cc["estimate"]) and p["ci_low"] == pytest.approx(cc["ci_low"])


def test_nearest_donors_match_a_brute_force_search_with_row_order_ties():
    rng = np.random.default_rng(9)
    obs = np.round(rng.normal(size=60), 1)  # many exact ties
    mis = np.round(rng.normal(size=25), 1)
    got = causal._nearest_donors(obs, mis, 5)
    for i, m in enumerate(mis):
        brute = sorted(range(len(obs)), key=lambda j: (abs(obs[j] - m), j))[:5]
        assert list(got[i]) == brute
    # noise in the last bits does not change the donors
    assert np.array_equal(causal._nearest_donors(obs * (1 + 1e-14), mis, 5), got)
