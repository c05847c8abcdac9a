"""Strand 1 statistics checked against outside references (R output, published worked examples, hand formulas)
and against planted truth in seeded synthetic data — never against the code's own earlier output."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from hbeval_lib import likert, wellbeing as wb

# R datasets::sleep (Cushny & Peebles 1905), extra by group; ID 1..10 in the same order in both groups.
SLEEP_1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
SLEEP_2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]

# R datasets::mtcars (Henderson & Velleman 1981): (mpg, wt, am) of the 32 cars in R's row order, as listed e.g. in
# https://rstudio-pubs-static.s3.amazonaws.com/551107_83d2162c328a418a91d899c768f240be.html
MTCARS = [
    (21.0, 2.620, 1), (21.0, 2.875, 1), (22.8, 2.320, 1), (21.4, 3.215, 0), (18.7, 3.440, 0), (18.1, 3.460, 0),
    (14.3, 3.570, 0), (24.4, 3.190, 0), (22.8, 3.150, 0), (19.2, 3.440, 0), (17.8, 3.440, 0), (16.4, 4.070, 0),
    (17.3, 3.730, 0), (15.2, 3.780, 0), (10.4, 5.250, 0), (10.4, 5.424, 0), (14.7, 5.345, 0), (32.4, 2.200, 1),
    (30.4, 1.615, 1), (33.9, 1.835, 1), (21.5, 2.465, 0), (15.5, 3.520, 0), (15.2, 3.435, 0), (13.3, 3.840, 0),
    (19.2, 3.845, 0), (27.3, 1.935, 1), (26.0, 2.140, 1), (30.4, 1.513, 1), (15.8, 3.170, 1), (19.7, 2.770, 1),
    (15.0, 3.570, 1), (21.4, 2.780, 1),
]


@pytest.fixture
def mtcars() -> pd.DataFrame:
    d = pd.DataFrame(MTCARS, columns=["mpg", "wt", "am"])
    return d.assign(arm=np.where(d["am"] == 1, "hb", "verrokki"), start=d["wt"], end=d["mpg"])


# -- paired change ------------------------------------------------------------------------------------------------
def test_paired_t_matches_r_sleep():
    # R: t.test(extra ~ group, data = sleep, paired = TRUE)  (difference group 1 − group 2)
    # t = -4.0621, df = 9, p-value = 0.002833, 95 % CI -2.4598858 -0.7001142, mean difference -1.58
    r = wb.paired_change(start=SLEEP_2, end=SLEEP_1)
    assert r["n"] == 10 and r["df"] == 9
    assert r["t"] == pytest.approx(-4.0621, abs=1e-4)
    assert r["p_value"] == pytest.approx(0.002833, abs=1e-6)
    assert r["ci_low"] == pytest.approx(-2.4598858, abs=1e-6)
    assert r["ci_high"] == pytest.approx(-0.7001142, abs=1e-6)
    assert r["estimate"] == pytest.approx(-1.58)
    # d_z = mean / sd of the differences; sd of the sleep differences is 1.229995 (R: sd(extra[1:10]-extra[11:20]))
    assert r["d_z"] == pytest.approx(-1.58 / 1.229995, abs=1e-5)


def test_wilcoxon_matches_r_sleep_with_ties():
    # R: wilcox.test(extra ~ group, data = sleep, paired = TRUE, exact = FALSE, correct = TRUE)
    # V = 0, p-value = 0.009091 (with a warning about ties and zeros)
    r = wb.paired_change(start=SLEEP_2, end=SLEEP_1)
    assert r["wilcoxon_v"] == 0
    assert r["p_wilcoxon"] == pytest.approx(0.009091, abs=1e-6)


def test_wilcoxon_statistic_matches_r_help_example():
    # R ?wilcox.test, Hollander & Wolfe (1973) p. 29 depression scale: wilcox.test(x, y, paired = TRUE, ...)
    # gives V = 40 (V = sum of ranks of positive x − y)
    x = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30]
    y = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29]
    assert wb.paired_change(start=y, end=x)["wilcoxon_v"] == 40


def test_paired_change_degenerate_inputs():
    assert wb.paired_change([], [])["n"] == 0
    one = wb.paired_change([1.0], [2.0])
    assert one["n"] == 1 and one["estimate"] == 1.0 and math.isnan(one["t"])


# -- ANCOVA -------------------------------------------------------------------------------------------------------
def test_ancova_matches_r_lm_mtcars(mtcars):
    # R: summary(lm(mpg ~ wt + am, data = mtcars))
    #   (Intercept) 37.32155  3.05464; wt -5.35281 0.78824; am -0.02362 1.54565 (t = -0.015, p = 0.988), df 29.
    # (Widely reproduced in the Coursera "Regression Models" mtcars project reports; data check: lm(mpg ~ wt)
    #  gives 37.2851, -5.3445 — https://riptutorial.com/r/example/2738/linear-regression-on-the-mtcars-dataset.)
    r = wb.ancova(mtcars)
    assert r["estimate"] == pytest.approx(-0.02362, abs=5e-6)
    assert r["se"] == pytest.approx(1.54565, abs=5e-6)
    assert r["slope_start"] == pytest.approx(-5.35281, abs=5e-6)
    assert r["p_value"] == pytest.approx(0.988, abs=5e-4)
    tcrit = 2.045230  # qt(0.975, 29)
    assert r["ci_low"] == pytest.approx(-0.02362 - tcrit * 1.54565, abs=1e-4)
    assert r["ci_high"] == pytest.approx(-0.02362 + tcrit * 1.54565, abs=1e-4)
    assert (r["n"], r["n_hb"], r["n_verrokki"]) == (32, 13, 19)


def test_ancova_data_check_simple_regression(mtcars):
    # the embedded data reproduce R's lm(mpg ~ wt): slope -5.3445 (riptutorial page cited above)
    slope = np.polyfit(mtcars["wt"], mtcars["mpg"], 1)[0]
    assert slope == pytest.approx(-5.3445, abs=5e-5)


def _planted(seed=7, n=400, effect=0.8, pilot_shift=True, confounded=False):
    rng = np.random.default_rng(seed)
    pilot = rng.choice(["a", "b", "c"], n)
    age = rng.normal(45, 12, n)
    start = rng.normal(5, 1.5, n)
    if confounded:  # older clients with a lower start more often choose HB
        lin = -0.5 + 0.05 * (age - 45) - 0.6 * (start - 5)
        hb = rng.random(n) < 1 / (1 + np.exp(-lin))
    else:
        hb = rng.random(n) < 0.5
    shift = pd.Series(pilot).map({"a": 0.0, "b": 1.0, "c": -1.0}).to_numpy() if pilot_shift else 0
    end = 1.0 + 0.6 * start + effect * hb + shift + 0.04 * (age - 45) + rng.normal(0, 1.0, n)
    return pd.DataFrame({"client_id": [f"{i:06d}" for i in range(n)], "pilot": pilot, "age": age,
                         "arm": np.where(hb, "hb", "verrokki"), "start": start, "end": end,
                         "gender": rng.choice(["mies", "nainen"], n)})


def test_ancova_with_pilot_effects_recovers_planted_effect():
    d = _planted(effect=0.8)
    r = wb.ancova(d, pilot_effects=True)
    assert r["ci_low"] < 0.8 < r["ci_high"]
    assert r["ci_high"] - r["ci_low"] < 0.6


def test_propensity_weighting_removes_confounding():
    d = _planted(seed=11, n=1500, effect=0.5, pilot_shift=False, confounded=True)
    naive = d.loc[d["arm"] == "hb", "end"].mean() - d.loc[d["arm"] == "verrokki", "end"].mean()
    assert abs(naive - 0.5) > 0.3  # the set-up is confounded
    for estimand in ("ATT", "ATE"):
        w = wb.propensity_weights(d, ["age", "gender", "start"], estimand=estimand)
        assert w.attrs["fitted"]
        r = wb.ancova(d, covariates=["age"], weights=w)
        assert r["ci_low"] < 0.5 < r["ci_high"]
    w = wb.propensity_weights(d, ["age", "start"], estimand="ATT")
    assert (w[d["arm"] == "hb"] == 1).all()
    # weighting balances the confounder age (SMD with weights via replicated means)
    wc = w[d["arm"] == "verrokki"]
    age_c = np.average(d.loc[d["arm"] == "verrokki", "age"], weights=wc)
    assert abs(age_c - d.loc[d["arm"] == "hb", "age"].mean()) < 1.0


def test_ancova_empty_group_gives_nan():
    d = _planted(n=30)
    r = wb.ancova(d[d["arm"] == "hb"])
    assert math.isnan(r["estimate"]) and r["n_verrokki"] == 0


# -- SMD, Mann–Whitney ---------------------------------------------------------------------------------------------
def test_smd_hand_computed():
    # Austin (2009) eq. 1: (mean_t − mean_c) / sqrt((s_t² + s_c²)/2): (2 − 3) / sqrt((1 + 1)/2) = −1
    assert wb.smd([1, 2, 3], [2, 3, 4]) == pytest.approx(-1.0)
    # eq. 2 for a binary variable: (0.5 − 0.2) / sqrt((0.25 + 0.16)/2) = 0.662589
    assert wb.smd([1, 0, 1, 0], [1, 0, 0, 0, 0]) == pytest.approx(0.3 / math.sqrt(0.205))


def test_mann_whitney_matches_r_mtcars(mtcars):
    # R: wilcox.test(mpg ~ am, data = mtcars)  -> W = 42, p-value = 0.001871 (normal approx. with correction,
    # ties). effectsize::rank_biserial(mpg ~ am, data = mtcars) -> r_rb = -0.66 (= 2*42/(19*13) − 1).
    r = wb.mann_whitney(mtcars.loc[mtcars["am"] == 0, "mpg"], mtcars.loc[mtcars["am"] == 1, "mpg"])
    assert r["u"] == 42
    assert r["p_value"] == pytest.approx(0.001871, abs=1e-6)
    assert r["r_rb"] == pytest.approx(-0.66, abs=0.005)
    assert (r["n_x"], r["n_y"]) == (19, 13)


def test_balance_table_rows():
    d = pd.DataFrame({"arm": ["hb"] * 3 + ["verrokki"] * 3, "age": [1, 2, 3, 2, 3, 4],
                      "gender": ["mies", "nainen", "nainen", "mies", "mies", "nainen"]})
    t = wb.balance_table(d, ["age"], ["gender"])
    assert t.loc[t["variable"] == "age", "smd"].item() == pytest.approx(-1.0)
    g = t[(t["variable"] == "gender") & (t["level"] == "nainen")].iloc[0]
    assert g["hb"] == pytest.approx(200 / 3) and g["verrokki"] == pytest.approx(100 / 3)


# -- preparation --------------------------------------------------------------------------------------------------
def test_paired_scores_first_start_latest_end():
    base = {"pilot": "eksote", "client_group": "lapsiperheet", "arm": "hb"}
    rows = [
        {"client_id": "110101", "date": "2017-01-01", "occasion": "alku", "taidot": 3.0},
        {"client_id": "110101", "date": "2017-02-01", "occasion": "alku", "taidot": 9.0},  # a repeat: ignored
        {"client_id": "110101", "date": "2017-06-01", "occasion": "väli", "taidot": 4.0},
        {"client_id": "110101", "date": "2018-01-01", "occasion": "loppu", "taidot": 5.0},
        {"client_id": "110101", "date": "2018-03-01", "occasion": "Loppu ", "taidot": 6.0},  # latest end
        {"client_id": "110102", "date": "2017-01-01", "occasion": "alku", "taidot": 4.0},  # no end
    ]
    m = pd.DataFrame([{**base, **r} for r in rows]).assign(date=lambda x: pd.to_datetime(x["date"]))
    p = wb.paired_scores(m, "taidot")
    assert p[["client_id", "start", "end", "change"]].values.tolist() == [["110101", 3.0, 6.0, 3.0]]
    interim = wb.paired_scores(m.iloc[:3], "taidot", end_occasions=("vali", "loppu"))
    assert interim["end"].tolist() == [4.0]
    occ = wb.occasion_scores(m, "taidot")
    assert occ.loc[occ["client_id"] == "110101", "score"].tolist() == [3.0, 4.0, 6.0]
    cov = wb.measurement_coverage(pd.DataFrame({"client_id": ["110101", "110102"], "arm": ["hb", "hb"]}), m)
    assert cov.loc["hb"].tolist() == [2, 2, 1, 1, 1]


def test_esr_transitions_pairs_first_start_and_last_end():
    e = pd.DataFrame({"client_id": ["1", "1", "1", "2", "3"],
                      "form": ["aloitus", "lopetus", "lopetus", "aloitus", "aloitus"],
                      "date": pd.to_datetime(["2017-01-01", "2017-06-01", "2018-01-01", "2017-01-01", "2017-01-01"]),
                      "labour_market_status": ["työtön", "opiskelija", "työllinen", "työtön", "opiskelija"]})
    t = wb.esr_transitions(e)
    assert t.to_dict() == {"työllinen": {"työtön": 1}}


def test_survey_numeric_and_compare_items():
    s = pd.DataFrame({"form": ["hb"] * 4 + ["verrokki"] * 4, "q5_1": ["5", "4", "5", None, None, None, None, None],
                      "q3_1": [None, None, None, None, 1, 2, 2, "x"], "q5_5": ["a", "a", "b", "a"] + [None] * 4,
                      "q3_4": [None] * 4 + ["b", "b", "a", "b"]})
    t = wb.compare_items(s, [{"hb": "q5_1", "verrokki": "q3_1", "kind": "likert"},
                             {"hb": "q5_5", "verrokki": "q3_4", "kind": "yesno"}])
    lik, yn = t.iloc[0], t.iloc[1]
    assert (lik["n_hb"], lik["n_verrokki"]) == (3, 3)  # "x" and missing answers dropped
    assert lik["r_rb"] == pytest.approx(1.0)  # every HB answer above every control answer
    assert yn["mean_hb"] == pytest.approx(0.75) and yn["mean_verrokki"] == pytest.approx(0.25)


def test_theme_counts_counts_each_theme_once_per_answer():
    book = {"Kyydit": ["kyyd", "kuljet"], "Siivous": ["siivo"]}
    c = wb.theme_counts(["Kyydit ja kuljetukset.", "SIIVOUSAPUA ja kyydit", None, "  ", "Jotain muuta"], book)
    assert c.to_dict() == {"Kyydit": 2, "Siivous": 1, "Muu / ei luokiteltu": 1}


def test_change_by_assistant_groups():
    p = pd.DataFrame({"client_id": ["1", "2", "3", "4"], "arm": ["hb", "hb", "hb", "verrokki"],
                      "start": [1.0, 2.0, 3.0, 4.0], "end": [2.0, 4.0, 3.0, 9.0]})
    t = wb.change_by_assistant(p, {"1", "2"}).set_index("avustaja")
    assert t.loc["kyllä", "n"] == 2 and t.loc["kyllä", "estimate"] == pytest.approx(1.5)
    assert t.loc["ei", "n"] == 1


# -- Likert --------------------------------------------------------------------------------------------------------
def test_diverging_offsets_centre_neutral():
    pct = pd.DataFrame([[10, 20, 40, 20, 10], [0, 0, 0, 50, 50]], columns=[1, 2, 3, 4, 5])
    left = likert.diverging_offsets(pct)
    assert left.iloc[0].tolist() == [-50, -40, -20, 20, 40]
    assert left.iloc[1].tolist() == [0, 0, 0, 0, 50]


def test_likert_counts_and_percent():
    d = pd.DataFrame({"item": ["a"] * 4 + ["b"] * 2, "group": ["hb"] * 6, "value": [1, 5, 5, 9, 3, 3]})
    c = likert.likert_counts(d)
    assert c.loc[("a", "hb")].tolist() == [1, 0, 0, 0, 2]  # 9 is not a level
    assert likert.likert_percent(c).loc[("b", "hb"), 3] == pytest.approx(100)
    fig = likert.diverging_bar(likert.likert_percent(c), ["1", "2", "3", "4", "5"])
    assert len(fig.axes[0].patches) == 10
    import matplotlib.pyplot as plt

    plt.close(fig)
