"""Strand 1 statistics checked against outside references (R output, published worked examples, hand formulas)
and against planted truth in seeded synthetic data — never against the code's own earlier output."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from hbeval_lib.core import likert
from hbeval_lib.strands.wellbeing import stats as wb

# R datasets::sleep (Cushny & Peebles 1905), extra by group; ID 1..10 in the same order in both groups.
# Checked equal to R's dataset: write.csv(sleep) in R 4.2.2, Debian (sleep$extra[1:10], sleep$extra[11:20]).
SLEEP_1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
SLEEP_2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]

# R datasets::mtcars (Henderson & Velleman 1981): (mpg, wt, am) of the 32 cars in R's row order. Checked equal,
# row by row, to write.csv(mtcars[, c("mpg", "wt", "am")]) in R 4.2.2, Debian.
MTCARS = [
    (21.0, 2.620, 1), (21.0, 2.875, 1), (22.8, 2.320, 1), (21.4, 3.215, 0), (18.7, 3.440, 0), (18.1, 3.460, 0),
    (14.3, 3.570, 0), (24.4, 3.190, 0), (22.8, 3.150, 0), (19.2, 3.440, 0), (17.8, 3.440, 0), (16.4, 4.070, 0),
    (17.3, 3.730, 0), (15.2, 3.780, 0), (10.4, 5.250, 0), (10.4, 5.424, 0), (14.7, 5.345, 0), (32.4, 2.200, 1),
    (30.4, 1.615, 1), (33.9, 1.835, 1), (21.5, 2.465, 0), (15.5, 3.520, 0), (15.2, 3.435, 0), (13.3, 3.840, 0),
    (19.2, 3.845, 0), (27.3, 1.935, 1), (26.0, 2.140, 1), (30.4, 1.513, 1), (15.8, 3.170, 1), (19.7, 2.770, 1),
    (15.0, 3.570, 1), (21.4, 2.780, 1),
]


# MASS::anorexia (Hand et al. 1993, A Handbook of Small Data Sets, data set 285): (Treat, Prewt, Postwt) of the
# 72 young women in R's row order, generated with write.csv(MASS::anorexia) in R 4.2.2, Debian (r-cran-mass,
# MASS 7.3.58.2).
ANOREXIA = [
    ("Cont", 80.7, 80.2), ("Cont", 89.4, 80.1), ("Cont", 91.8, 86.4), ("Cont", 74.0, 86.3), ("Cont", 78.1, 76.1),
    ("Cont", 88.3, 78.1), ("Cont", 87.3, 75.1), ("Cont", 75.1, 86.7), ("Cont", 80.6, 73.5), ("Cont", 78.4, 84.6),
    ("Cont", 77.6, 77.4), ("Cont", 88.7, 79.5), ("Cont", 81.3, 89.6), ("Cont", 78.1, 81.4), ("Cont", 70.5, 81.8),
    ("Cont", 77.3, 77.3), ("Cont", 85.2, 84.2), ("Cont", 86.0, 75.4), ("Cont", 84.1, 79.5), ("Cont", 79.7, 73.0),
    ("Cont", 85.5, 88.3), ("Cont", 84.4, 84.7), ("Cont", 79.6, 81.4), ("Cont", 77.5, 81.2), ("Cont", 72.3, 88.2),
    ("Cont", 89.0, 78.8), ("CBT", 80.5, 82.2), ("CBT", 84.9, 85.6), ("CBT", 81.5, 81.4), ("CBT", 82.6, 81.9),
    ("CBT", 79.9, 76.4), ("CBT", 88.7, 103.6), ("CBT", 94.9, 98.4), ("CBT", 76.3, 93.4), ("CBT", 81.0, 73.4),
    ("CBT", 80.5, 82.1), ("CBT", 85.0, 96.7), ("CBT", 89.2, 95.3), ("CBT", 81.3, 82.4), ("CBT", 76.5, 72.5),
    ("CBT", 70.0, 90.9), ("CBT", 80.4, 71.3), ("CBT", 83.3, 85.4), ("CBT", 83.0, 81.6), ("CBT", 87.7, 89.1),
    ("CBT", 84.2, 83.9), ("CBT", 86.4, 82.7), ("CBT", 76.5, 75.7), ("CBT", 80.2, 82.6), ("CBT", 87.8, 100.4),
    ("CBT", 83.3, 85.2), ("CBT", 79.7, 83.6), ("CBT", 84.5, 84.6), ("CBT", 80.8, 96.2), ("CBT", 87.4, 86.7),
    ("FT", 83.8, 95.2), ("FT", 83.3, 94.3), ("FT", 86.0, 91.5), ("FT", 82.5, 91.9), ("FT", 86.7, 100.3),
    ("FT", 79.6, 76.7), ("FT", 76.9, 76.8), ("FT", 94.2, 101.6), ("FT", 73.4, 94.9), ("FT", 80.5, 75.2),
    ("FT", 81.6, 77.8), ("FT", 82.1, 95.5), ("FT", 77.6, 90.7), ("FT", 83.5, 92.5), ("FT", 89.9, 93.8),
    ("FT", 86.0, 91.7), ("FT", 87.3, 98.0),
]


@pytest.fixture
def mtcars() -> pd.DataFrame:
    d = pd.DataFrame(MTCARS, columns=["mpg", "wt", "am"])
    return d.assign(arm=np.where(d["am"] == 1, "hb", "verrokki"), start=d["wt"], end=d["mpg"])


# -- paired change ------------------------------------------------------------------------------------------------
def test_paired_t_matches_r_sleep():
    # R 4.2.2, Debian, options(digits = 10): t.test(extra ~ group, data = sleep, paired = TRUE)
    # (difference group 1 − group 2): t = -4.062127683, df = 9, p-value = 0.002832890197,
    # 95 % CI -2.4598857633 -0.7001142367, mean difference -1.58
    r = wb.paired_change(start=SLEEP_2, end=SLEEP_1)
    assert r["n"] == 10 and r["df"] == 9
    assert r["t"] == pytest.approx(-4.062127683, abs=1e-8)
    assert r["p_value"] == pytest.approx(0.002832890197, abs=1e-11)
    assert r["ci_low"] == pytest.approx(-2.4598857633, abs=1e-9)
    assert r["ci_high"] == pytest.approx(-0.7001142367, abs=1e-9)
    assert r["estimate"] == pytest.approx(-1.58)
    # d_z = mean / sd of the differences; R 4.2.2, Debian: sd(sleep$extra[1:10] - sleep$extra[11:20]) = 1.229995483
    assert r["sd_change"] == pytest.approx(1.229995483, abs=1e-9)
    assert r["d_z"] == pytest.approx(-1.58 / 1.229995483, abs=1e-8)


def test_wilcoxon_matches_r_sleep_with_ties():
    # R 4.2.2, Debian: wilcox.test(extra ~ group, data = sleep, paired = TRUE, exact = FALSE, correct = TRUE)
    # V = 0, p-value = 0.009090698016 (with a warning about ties and zeros)
    r = wb.paired_change(start=SLEEP_2, end=SLEEP_1)
    assert r["wilcoxon_v"] == 0
    assert r["p_wilcoxon"] == pytest.approx(0.009090698016, abs=1e-11)


def test_wilcoxon_statistic_matches_r_help_example():
    # R ?wilcox.test examples, Hollander & Wolfe (1973) p. 29f. depression scale (x, y copied from the help page of
    # R 4.2.2, Debian). V = sum of ranks of positive x − y.
    # R 4.2.2, Debian: wilcox.test(x, y, paired = TRUE, alternative = "greater") -> V = 40 (exact p = 0.01953125);
    # wilcox.test(x, y, paired = TRUE, exact = FALSE, correct = TRUE) -> V = 40, p-value = 0.044010984013
    x = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30]
    y = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29]
    r = wb.paired_change(start=y, end=x)
    assert r["wilcoxon_v"] == 40
    assert r["p_wilcoxon"] == pytest.approx(0.044010984013, abs=1e-11)


def test_paired_change_degenerate_inputs():
    assert wb.paired_change([], [])["n"] == 0
    one = wb.paired_change([1.0], [2.0])
    assert one["n"] == 1 and one["estimate"] == 1.0 and math.isnan(one["t"])


# -- ANCOVA -------------------------------------------------------------------------------------------------------
def test_ancova_matches_r_lm_mtcars(mtcars):
    # R 4.2.2, Debian: f <- lm(mpg ~ wt + am, data = mtcars); summary(f)$coefficients; confint(f)
    #   (Intercept) 37.3215513102  3.0546384966
    #   wt          -5.3528114468  0.7882437685
    #   am          -0.0236152197  1.5456453324  t = -0.01527855  p = 0.9879145855   df 29
    #   confint am: -3.184814870  3.137584430   (qt(0.975, 29) = 2.045229642)
    r = wb.ancova(mtcars)
    assert r["estimate"] == pytest.approx(-0.0236152197, abs=1e-9)
    assert r["se"] == pytest.approx(1.5456453324, abs=1e-9)
    assert r["slope_start"] == pytest.approx(-5.3528114468, abs=1e-9)
    assert r["p_value"] == pytest.approx(0.9879145855, abs=1e-9)
    assert r["ci_low"] == pytest.approx(-3.184814870, abs=1e-8)
    assert r["ci_high"] == pytest.approx(3.137584430, abs=1e-8)
    assert (r["n"], r["n_hb"], r["n_verrokki"]) == (32, 13, 19)


def test_ancova_data_check_simple_regression(mtcars):
    # the embedded data reproduce R 4.2.2, Debian: coef(lm(mpg ~ wt, data = mtcars)) -> 37.285126167, -5.344471573
    slope, intercept = np.polyfit(mtcars["wt"], mtcars["mpg"], 1)
    assert slope == pytest.approx(-5.344471573, abs=1e-8)
    assert intercept == pytest.approx(37.285126167, abs=1e-8)


def test_ancova_data_check_anorexia_all_groups():
    # the embedded data reproduce R 4.2.2, Debian: library(MASS); coef(lm(Postwt ~ Prewt + Treat, data = anorexia))
    # -> (Intercept) 49.771109015, Prewt 0.434461150, TreatCont -4.097065528, TreatFT 4.563062653
    a = pd.DataFrame(ANOREXIA, columns=["treat", "prewt", "postwt"])
    assert len(a) == 72 and a["treat"].value_counts().to_dict() == {"CBT": 29, "Cont": 26, "FT": 17}
    assert a["prewt"].sum() == pytest.approx(5933.4) and a["postwt"].sum() == pytest.approx(6132.4)
    X = np.column_stack([np.ones(len(a)), a["prewt"], a["treat"] == "Cont", a["treat"] == "FT"]).astype(float)
    coef = np.linalg.lstsq(X, a["postwt"].to_numpy(), rcond=None)[0]
    np.testing.assert_allclose(coef, [49.771109015, 0.434461150, -4.097065528, 4.563062653], atol=1e-8)


def test_ancova_matches_r_lm_anorexia_cbt_vs_control():
    # ANCOVA of post-treatment weight on pre-treatment weight, CBT ("hb") vs. control ("verrokki"), R 4.2.2, Debian:
    #   library(MASS); sub <- subset(anorexia, Treat %in% c("CBT", "Cont"))
    #   sub$Treat <- relevel(droplevels(sub$Treat), ref = "Cont"); f <- lm(Postwt ~ Prewt + Treat, data = sub)
    #   summary(f)$coefficients; confint(f)
    #   Prewt     0.30455694415  SE 0.176327397564
    #   TreatCBT  4.24411226548  SE 1.837795930985  t = 2.30934903812  p = 0.024929176010   df 52
    #   confint TreatCBT: 0.5563049322083  7.931919598742
    a = pd.DataFrame(ANOREXIA, columns=["treat", "prewt", "postwt"])
    a = a[a["treat"].isin(["CBT", "Cont"])]
    d = pd.DataFrame({"client_id": [f"{i:06d}" for i in range(len(a))],
                      "arm": np.where(a["treat"] == "CBT", "hb", "verrokki"),
                      "start": a["prewt"].to_numpy(), "end": a["postwt"].to_numpy()})
    r = wb.ancova(d)
    assert (r["n"], r["n_hb"], r["n_verrokki"]) == (55, 29, 26)
    assert r["estimate"] == pytest.approx(4.24411226548, abs=1e-9)
    assert r["se"] == pytest.approx(1.837795930985, abs=1e-9)
    assert r["p_value"] == pytest.approx(0.024929176010, abs=1e-10)
    assert r["ci_low"] == pytest.approx(0.5563049322083, abs=1e-9)
    assert r["ci_high"] == pytest.approx(7.931919598742, abs=1e-9)
    assert r["slope_start"] == pytest.approx(0.30455694415, abs=1e-9)


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
    # R 4.2.2, Debian: wilcox.test(mpg ~ am, data = mtcars) -> "Wilcoxon rank sum test with continuity correction"
    # (ties, so the normal approximation), W = 42, p-value = 0.001871391333.
    # effectsize 0.8.3 (Debian r-cran-effectsize): rank_biserial(mpg ~ am, data = mtcars)$r_rank_biserial
    # -> -0.6599190283 (= 2*42/(19*13) − 1).
    r = wb.mann_whitney(mtcars.loc[mtcars["am"] == 0, "mpg"], mtcars.loc[mtcars["am"] == 1, "mpg"])
    assert r["u"] == 42
    assert r["p_value"] == pytest.approx(0.001871391333, abs=1e-12)
    assert r["r_rb"] == pytest.approx(-0.6599190283, abs=1e-9)
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
