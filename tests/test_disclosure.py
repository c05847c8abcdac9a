"""Disclosure rules: primary suppression, statistics on few persons, figures, LP-audited secondary suppression.

Every expected interval below is solved by hand in the comment beside it (the published equations are written
out), and the LP solver is also checked against brute-force enumeration of every table that fits a publication.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from hbeval_lib.config import DEFAULT_CONFIG, parse_config
from hbeval_lib.page.disclosure import (NOT_SHOWN, SUPPRESSED, Disclosure, read_logs, summarise,
                                   suppressed_intervals)


def _cfg(tmp_path=None, **overrides):
    raw = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    raw.setdefault("disclosure", {}).update(overrides)
    return parse_config(raw, DEFAULT_CONFIG)


@pytest.fixture
def dc():
    return Disclosure("testi", cfg=_cfg(min_count=5, min_n_stat=10, zeros_disclosive=False))


def _hidden(shown: pd.DataFrame) -> set:
    return {(r, c) for r in shown.index for c in shown.columns if isinstance(shown.at[r, c], str)}


# -- primary suppression -------------------------------------------------------------------------------------------

def test_counts_below_threshold_are_suppressed_zeros_shown(dc):
    t = pd.DataFrame({"HB": [0, 1, 4, 5], "verrokki": [12, 3, 7, 0]}, index=["a", "b", "c", "d"])
    shown = dc.counts(t, "taulu")
    assert shown.at["b", "HB"] == SUPPRESSED and shown.at["c", "HB"] == SUPPRESSED
    assert shown.at["b", "verrokki"] == SUPPRESSED
    assert shown.at["a", "HB"] == 0 and shown.at["d", "HB"] == 5 and shown.at["d", "verrokki"] == 0
    log = dc.frame()
    assert sorted(log["cell"]) == ["b / HB", "b / verrokki", "c / HB"]
    assert set(log["table"]) == {"testi.taulu"} and set(log["code"]) == {"count"}
    assert all("alle 5" in r for r in log["rule"])          # a Finnish, readable rule text


def test_zeros_disclosive_hides_zeros_with_dash():
    dc = Disclosure("t", cfg=_cfg(zeros_disclosive=True))
    shown = dc.counts(pd.DataFrame({"x": [0, 2, 9]}), "z")
    assert shown["x"].tolist() == [NOT_SHOWN, SUPPRESSED, 9]
    assert sorted(dc.frame()["code"]) == ["count", "zero"]


def test_thresholds_come_from_the_configuration():
    dc = Disclosure("t", cfg=_cfg(min_count=3, min_n_stat=20))
    shown = dc.counts(pd.Series([2, 3], index=["a", "b"], name="n"), "s")
    assert shown["n"].tolist() == ["<3", 3]
    assert not dc.stat_ok(19, "s") and dc.stat_ok(20, "s")


# -- statistics and figures ---------------------------------------------------------------------------------------

def test_stat_shown_only_on_enough_persons(dc):
    assert dc.stat(4.25, 10, "kykyviisari", "taidot") == 4.25
    assert dc.stat(4.25, 9, "kykyviisari", "osallisuus") is None
    assert dc.stat(4.25, None, "kykyviisari", "perhe") is None
    assert dc.stat(4.25, float("nan"), "kykyviisari", "vanhemmuus") is None
    log = dc.frame()
    assert log["cell"].tolist() == ["osallisuus", "perhe", "vanhemmuus"]
    assert set(log["code"]) == {"stat"} and all("alle 10 henkilön" in r for r in log["rule"])


def test_mask_stats_hides_rows_and_small_n(dc):
    df = pd.DataFrame({"ryhma": ["HB", "verrokki", "muu"], "keskiarvo": [6.1, 5.2, 7.0],
                       "sd": [1.0, 1.2, 0.4], "n": [25, 7, 3]})
    out = dc.mask_stats(df, "hyvinvointi", label_cols=["ryhma"])
    assert out.loc[0, "keskiarvo"] == 6.1 and out.loc[0, "n"] == 25
    assert out.loc[1, ["keskiarvo", "sd"]].tolist() == [NOT_SHOWN, NOT_SHOWN] and out.loc[1, "n"] == 7
    assert out.loc[2, "keskiarvo"] == NOT_SHOWN and out.loc[2, "n"] == SUPPRESSED   # n=3 is a small count
    assert out.loc[2, "ryhma"] == "muu"
    assert dc.frame()["cell"].tolist() == ["verrokki", "muu"]
    assert df.loc[1, "keskiarvo"] == 5.2              # the input is not modified


def test_figure_rule_and_message(dc):
    assert dc.figure_ok(10, "jakauma") and dc.figure_message(10, "jakauma") == ""
    assert not dc.figure_ok(6, "jakauma")
    msg = dc.figure_message(6, "taitojen muutos")
    assert "ei piirretä" in msg and "alle 10 henkilön" in msg and "taitojen muutos" in msg
    assert "6" not in msg                       # the small n itself is not published
    assert dc.frame().iloc[0][["cell", "code"]].tolist() == ["kuvio", "figure"]


# -- solving a published table ----------------------------------------------------------------------------------------

def test_solver_intervals_match_hand_solution():
    # true table x: [3, 12], y: [9, 2]; rows 15, 11; columns 12, 14; total 26. Published with a, d as "<5", b, c hidden.
    # a + b = 15, c + d = 11, a + c = 12, b + d = 14  =>  a = t, b = 15 - t, c = 12 - t, d = t - 1;
    # a in 1..4 and d in 1..4  =>  t in 2..4: a 2..4, b 11..13, c 8..10, d 1..3.
    # Confirmed by enumeration in R 4.2.2, Debian: g <- expand.grid(a = 0:30, b = 0:30, c = 0:30, d = 0:30);
    # sapply(subset(g, a+b == 15 & c+d == 11 & a+c == 12 & b+d == 14 & a %in% 1:4 & d %in% 1:4), range)
    pub = pd.DataFrame({"p": ["<5", "–", 12], "q": ["–", "<5", 14], "Yhteensä": [15, 11, 26]},
                       index=["x", "y", "Yhteensä"])
    iv = suppressed_intervals(pub).set_index(["row", "column"])
    assert iv.loc[("x", "p"), ["low", "high"]].tolist() == [2, 4]
    assert iv.loc[("x", "q"), ["low", "high"]].tolist() == [11, 13]
    assert iv.loc[("y", "p"), ["low", "high"]].tolist() == [8, 10]
    assert iv.loc[("y", "q"), ["low", "high"]].tolist() == [1, 3]
    assert iv["protected"].all()


def test_naive_suppression_leaks_through_row_total_and_secondary_protects(dc):
    truth = pd.DataFrame({"HB": [3, 12, 20], "verrokki": [7, 9, 16]}, index=["Eksote", "Pori", "Vantaa"])
    # naive: primary suppression of the cells, then totals of the true counts added
    naive = dc.counts(truth, "naiivi")
    naive["Yhteensä"] = truth.sum(axis=1)
    naive.loc["Yhteensä"] = list(truth.sum(axis=0)) + [int(truth.to_numpy().sum())]
    iv = suppressed_intervals(naive).set_index(["row", "column"])
    # row Eksote: HB + 7 = 10  =>  HB = 3 exactly: the hidden cell is recovered
    assert iv.loc[("Eksote", "HB"), ["low", "high"]].tolist() == [3, 3]
    assert not iv["protected"].any()
    # with secondary suppression nothing can be solved, and each interval still contains the true value
    shown = dc.counts(truth, "turvattu", margins=True)
    assert shown.at["Eksote", "HB"] == SUPPRESSED
    assert len(_hidden(shown)) >= 4                  # a 2-way cycle at least: the hidden cell plus 3 partners
    audit = dc.audit(shown, truth=truth)
    assert audit["protected"].all()
    assert ((audit["low"] <= audit["value"]) & (audit["value"] <= audit["high"])).all()
    assert (audit["high"] - audit["low"] >= 1).all()
    # the totals that are shown are the true totals
    assert shown.at["Yhteensä", "Yhteensä"] == 67 and shown.at["Pori", "Yhteensä"] == 21
    log = dc.frame()
    assert set(log.loc[log["table"] == "testi.turvattu", "code"]) == {"count", "secondary"}


def test_cycle_pinned_by_bounds_gets_more_suppression(dc):
    # true x: [1, 10], y: [8, 4]; rows 11, 12; columns 9, 14; total 23. Hiding only the four interior cells:
    # a + b = 11, c + d = 12, a + c = 9, b + d = 14  =>  d = a + 3 with a, d in 1..4  =>  a = 1, d = 4: pinned.
    # Confirmed by the same enumeration in R 4.2.2, Debian (a+b == 11 & c+d == 12 & a+c == 9 & b+d == 14):
    # the only fitting table is a = 1, b = 10, c = 8, d = 4.
    pub = pd.DataFrame({"p": ["<5", "–", 9], "q": ["–", "<5", 14], "Yhteensä": [11, 12, 23]},
                       index=["x", "y", "Yhteensä"])
    iv = suppressed_intervals(pub).set_index(["row", "column"])
    assert iv.loc[("x", "p"), ["low", "high"]].tolist() == [1, 1]
    assert iv.loc[("y", "q"), ["low", "high"]].tolist() == [4, 4]
    truth = pd.DataFrame({"p": [1, 8], "q": [10, 4]}, index=["x", "y"])
    shown = dc.counts(truth, "sykli", margins=True)
    assert len(_hidden(shown)) > 4                   # the line rule alone would stop at 4 cells
    assert dc.audit(shown, truth=truth)["protected"].all()


def test_margin_below_threshold_is_suppressed(dc):
    truth = pd.DataFrame({"HB": [2, 10, 8], "verrokki": [1, 6, 9]}, index=["a", "b", "c"])
    shown = dc.counts(truth, "reunat", margins=True)
    assert shown.at["a", "Yhteensä"] == SUPPRESSED        # row total 3 < 5
    assert shown.at["a", "HB"] == SUPPRESSED and shown.at["a", "verrokki"] == SUPPRESSED
    assert "margin" in set(dc.frame()["code"])
    assert dc.audit(shown, truth=truth)["protected"].all()


def test_crosstab_with_margins_from_tidy_data(dc):
    data = pd.DataFrame({"pilotti": ["Pori"] * 14 + ["Kainuu"] * 9,
                         "ryhma": ["HB"] * 8 + ["verrokki"] * 6 + ["HB"] * 7 + ["verrokki"] * 2})
    shown = dc.crosstab_with_margins(data, "pilotti", "ryhma", "rekry", index_order=["Kainuu", "Pori", "Eksote"])
    assert list(shown.index) == ["Kainuu", "Pori", "Eksote", "Yhteensä"]
    assert list(shown.columns) == ["HB", "verrokki", "Yhteensä"]
    assert shown.at["Kainuu", "verrokki"] == SUPPRESSED     # 2 control clients in Kainuu
    assert shown.at["Eksote", "HB"] == 0                   # a category with no persons
    assert shown.at["Yhteensä", "Yhteensä"] == 23
    assert dc.audit(shown)["protected"].all()


def test_log_written_and_read_back(dc, tmp_path):
    dc.counts(pd.DataFrame({"x": [2, 8]}), "t")
    dc.counts(pd.DataFrame({"x": [2, 8]}), "t")         # the same suppression twice is listed once
    dc.stat_ok(3, "keskiarvot", "HB")
    path = dc.write(tmp_path / "wellbeing" / "kaikki.suppressions.csv")
    assert dc.write("") is None
    log = read_logs([path])
    assert len(log) == 2 and set(log["source"]) == {"kaikki"}
    s = summarise(log)
    assert list(s.columns) == ["Taulukko", "Sääntö", "Peitettyjä soluja"] and s["Peitettyjä soluja"].sum() == 2


# -- property checks -------------------------------------------------------------------------------------------------

@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.integers(2, 4).flatmap(lambda r: st.integers(2, 4).flatmap(
    lambda c: st.lists(st.lists(st.integers(0, 30), min_size=c, max_size=c), min_size=r, max_size=r))))
def test_secondary_suppression_never_leaves_a_solvable_cell(cells):
    dc = Disclosure("p", cfg=_cfg(min_count=5, min_n_stat=10, zeros_disclosive=False))
    truth = pd.DataFrame(cells, index=[f"r{i}" for i in range(len(cells))],
                         columns=[f"c{j}" for j in range(len(cells[0]))])
    shown = dc.counts(truth, "h", margins=True)
    full = truth.copy()
    full["Yhteensä"] = truth.sum(axis=1)
    full.loc["Yhteensä"] = full.sum(axis=0)
    for r in shown.index:                           # no small count is visible, visible numbers are true
        for c in shown.columns:
            v = shown.at[r, c]
            if not isinstance(v, str):
                assert v == full.at[r, c] and not (0 < v < 5)
    audit = dc.audit(shown, truth=full)
    assert audit["protected"].all()
    assert ((audit["low"] <= audit["value"] + 1e-9) & (audit["value"] <= audit["high"] + 1e-9)).all()


@settings(max_examples=15, deadline=None, derandomize=True)
@given(st.lists(st.integers(0, 9), min_size=4, max_size=4),
       st.lists(st.booleans(), min_size=9, max_size=9))
def test_lp_bounds_equal_brute_force_enumeration(vals, hide):
    """The LP interval of each hidden cell equals the min/max over every integer table fitting the publication."""
    a = np.array(vals).reshape(2, 2)
    full = np.zeros((3, 3), dtype=int)
    full[:2, :2] = a
    full[:2, 2] = a.sum(1)
    full[2, :2] = a.sum(0)
    full[2, 2] = a.sum()
    pub = pd.DataFrame(full.astype(object), index=["x", "y", "Yhteensä"], columns=["p", "q", "Yhteensä"])
    mask = np.array(hide).reshape(3, 3)
    for i, j in itertools.product(range(3), range(3)):
        if mask[i, j]:
            pub.iat[i, j] = "<5" if 1 <= full[i, j] <= 4 else "–"
    iv = suppressed_intervals(pub)
    cap = 37                                   # every known number is at most 36, so a bounded cell is < cap
    g = np.stack(np.meshgrid(*[np.arange(cap + 1)] * 4, indexing="ij"), axis=-1).reshape(-1, 4)
    f = np.stack([g[:, 0], g[:, 1], g[:, 0] + g[:, 1], g[:, 2], g[:, 3], g[:, 2] + g[:, 3],
                  g[:, 0] + g[:, 2], g[:, 1] + g[:, 3], g.sum(1)], axis=1)       # the 9 entries, row-major
    ok = np.ones(len(g), dtype=bool)
    for k, (i, j) in enumerate(itertools.product(range(3), range(3))):
        v = pub.iat[i, j]
        if v == "<5":
            ok &= (f[:, k] >= 1) & (f[:, k] <= 4)
        elif v != "–":
            ok &= f[:, k] == v
    fits = f[ok]
    lows = {(i, j): fits[:, 3 * i + j].min() for i, j in itertools.product(range(3), range(3))}
    highs = {(i, j): fits[:, 3 * i + j].max() for i, j in itertools.product(range(3), range(3))}
    rows, cols = list(pub.index), list(pub.columns)
    for rec in iv.itertuples():
        i, j = rows.index(rec.row), cols.index(rec.column)
        assert rec.low == lows[i, j]
        if math.isinf(rec.high):
            assert highs[i, j] >= cap          # unbounded: enumeration reaches its cap
        else:
            assert rec.high == highs[i, j]


def test_margins_when_a_total_itself_is_hidden():
    """Regression: a table whose row totals fall under the threshold (demo data, one pilot at baseline)."""
    dc = Disclosure(table_prefix="t")
    tab = pd.DataFrame({"hb": {"aikuissosiaalityo": 2, "jalkihuolto": 5, "lapsiperheet": 2},
                        "verrokki": {"aikuissosiaalityo": 2, "jalkihuolto": 5, "lapsiperheet": 2}})
    out = dc.counts(tab, "ryhmat", margins=True)
    assert out.loc["aikuissosiaalityo", "hb"] == SUPPRESSED
    audit = dc.audit(out)
    assert audit["protected"].all()


def test_parts_and_total_do_not_leak_a_part_by_subtraction():
    dc = Disclosure(table_prefix="t")
    shown = dc.parts_and_total({"hb": 12, "verrokki": 2}, "asiakkaat")
    assert shown["verrokki"] == SUPPRESSED
    assert shown["total"] == 14 and shown["hb"] == NOT_SHOWN      # 14 − 12 would reveal 2
    assert set(dc.frame()["cell"]) == {"hb", "verrokki"}
    big = Disclosure(table_prefix="t").parts_and_total({"hb": 12, "verrokki": 9}, "asiakkaat")
    assert big == {"hb": 12, "verrokki": 9, "total": 21}


def test_the_reason_printed_for_a_hidden_number_is_its_own_decision():
    """A sentence explaining a hidden number names the rule that hid it on this page, never another rule."""
    dc = Disclosure(table_prefix="kustannukset")
    assert dc.why("asiakkaat") == ""                      # nothing hidden: no reason to print
    assert not dc.stat_ok(7, "asiakkaat", "hb")
    assert dc.why("asiakkaat", ["hb"]) == "koska ryhmässä on alle 10 henkilöä"
    dc.record("asiakkaat", "verrokki", "complement")
    assert "kaikkien pilottien luvusta" in dc.why("asiakkaat", "verrokki")
    assert "alle 10" not in dc.why("asiakkaat", "verrokki")   # the other arm's reason is not borrowed


def test_why_names_the_decision_on_what_the_sentence_is_about(dc):
    """Unseen set (seed 127, 90 clients): a small pilot's cost page said the group sizes were not shown "koska
    ryhmässä on alle 10 henkilöä tai luku selviäisi muuten muista julkaistuista luvuista tai lukumäärä on alle 5" —
    the first clause was the arms' *statistics* decision, taken under the same name as their sizes. A sentence about
    the sizes gives the sizes' reasons, one about the figures the figures' reasons."""
    assert not dc.stat_ok(3, "asiakkaat", "verrokki")        # the control arm's figures: too few persons
    assert not dc.stat_ok(7, "asiakkaat", "hb")
    shown = dc.parts_and_total({"hb": 7, "verrokki": 3}, "asiakkaat")
    assert shown["verrokki"] == "<5" and shown["hb"] == "–"   # 7 would give the 3 away with the total
    sizes = dc.why("asiakkaat", ["hb", "verrokki", "total"], kind="count")
    figures = dc.why("asiakkaat", ["hb", "verrokki"], kind="stat")
    assert "alle 10 henkilöä" not in sizes and "alle 5" in sizes
    assert figures == "koska ryhmässä on alle 10 henkilöä"
    # known bad: without the kind, the sizes' sentence blamed the statistics' rule too
    assert "alle 10 henkilöä" in dc.why("asiakkaat", ["hb", "verrokki", "total"])
