"""Strand 2 quantitative helpers: provider mix, diversification, Likert summaries, keyword themes,
assistants and the development-process self-evaluation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hbeval_lib.config import load_config
from hbeval_lib.strands.services.stats import (assistant_time, bootstrap_share_se, feedback_by_period, likert_distribution,
                                 likert_summary, nonpublic_share, provider_shares, provider_types_per_client,
                                 self_evaluation_summary, spending_by_provider, theme_counts, theme_matrix,
                                 unit_prices)



def _budget_use():
    return pd.DataFrame({
        "client_id": ["100101", "100101", "100102", "100102"], "pilot": "pori", "client_group": "lapsiperheet",
        "arm": "hb", "provider": ["yksityinen", "laheisverkosto", "julkinen", "jarjesto"],
        "amount_eur": [300.0, 100.0, 200.0, 400.0]})


def _services():
    return pd.DataFrame({
        "client_id": ["100101", "100201", "100201", "100202"], "pilot": "pori", "client_group": "lapsiperheet",
        "arm": ["hb", "verrokki", "verrokki", "verrokki"],
        "service": ["kotipalvelu", "Kotipalvelu", "perhetyö", "tuntematon palvelu"],
        "unit": ["tunti", "tunti", "käynti", "käynti"], "quantity": [10.0, 5.0, 2.0, 1.0]})


def test_spending_and_shares_by_hand():
    prices = {"kotipalvelu": 50.0, "perhetyö": 100.0}
    sp = spending_by_provider(_budget_use(), _services(), prices)
    assert sp.attrs["unpriced_rows"] == 1 and sp.attrs["basis"] == "budget_and_services"
    # HB: budget 1000 € (public 200) + kotipalvelu 10 h × 50 € = 500 € public → 1500 €, non-public 800 €
    # control: 5 h × 50 + 2 × 100 = 450 €, all public
    ns = nonpublic_share(sp)
    assert ns.loc["hb", "eur"] == pytest.approx(1500.0)
    assert ns.loc["hb", "share"] == pytest.approx(800 / 1500)
    assert ns.loc["verrokki", "eur"] == pytest.approx(450.0)
    assert ns.loc["verrokki", "share"] == 0.0
    assert ns.loc["hb", "n_clients"] == 2
    # provider shares of the HB budget only
    sh = provider_shares(sp[sp["source"] == "budjetti"])
    assert sh.loc["kaikki", ["julkinen", "yksityinen", "jarjesto", "laheisverkosto", "muu"]].tolist() == \
        pytest.approx([0.2, 0.3, 0.4, 0.1, 0.0])
    by_arm = provider_shares(sp, by="arm")
    assert by_arm.loc["verrokki", "julkinen"] == 1.0
    assert by_arm[["julkinen", "yksityinen", "jarjesto", "laheisverkosto", "muu"]].sum(axis=1).tolist() == \
        pytest.approx([1.0, 1.0])


def test_without_unit_costs_only_budget_is_used():
    sp = spending_by_provider(_budget_use(), _services(), None)
    assert sp.attrs["basis"] == "budget_only"
    assert set(sp["source"]) == {"budjetti"}
    assert nonpublic_share(sp).loc["hb", "share"] == pytest.approx(0.8)


def test_provider_types_per_client_includes_clients_without_spending():
    sp = spending_by_provider(_budget_use(), _services(), {"kotipalvelu": 50.0, "perhetyö": 100.0})
    clients = pd.DataFrame({"client_id": ["100101", "100102", "100201", "100202", "100203"], "pilot": "pori",
                            "client_group": "lapsiperheet", "arm": ["hb", "hb", "verrokki", "verrokki", "verrokki"]})
    n = provider_types_per_client(sp, clients).set_index("client_id")["n_types"].to_dict()
    # 100101: yksityinen, läheisverkosto (budget) + julkinen (kotipalvelu) = 3; 100102: julkinen, järjestö = 2
    # 100202 used only an unpriced service and 100203 nothing: 0
    assert n == {"100101": 3, "100102": 2, "100201": 1, "100202": 0, "100203": 0}


def test_unit_prices_from_config_with_price_index():
    cfg = load_config()
    prices = unit_prices(cfg)
    if prices is None:
        pytest.skip("unit_costs.services not configured yet")
    spec = cfg.section("unit_costs")["services"]["kotipalvelu"]
    index = cfg.section("price_index")["values"]
    target = cfg.section("unit_costs")["price_year"]
    assert prices["kotipalvelu"]["eur"] == pytest.approx(spec["value"] * index[target] / index[spec["year"]])


def test_unit_mismatch_is_not_priced():
    prices = {"kotipalvelu": {"eur": 50.0, "unit": "tunti"}, "perhetyö": {"eur": 100.0, "unit": "kk"}}
    sp = spending_by_provider(_budget_use(), _services(), prices)
    # perhetyö is recorded per visit but priced per month: left out, like the unknown service
    assert sp.attrs["unpriced_rows"] == 2
    assert sp.attrs["unpriced_services"] == {"perhetyö": 1, "tuntematon palvelu": 1}
    assert nonpublic_share(sp).loc["verrokki", "eur"] == pytest.approx(250.0)


def test_bootstrap_share_se_matches_binomial_for_equal_amounts():
    # with one 1-€ record per client, the euro share is a proportion and its SE is sqrt(p(1-p)/n)
    rng = np.random.default_rng(5)
    n = 400
    prov = np.where(rng.random(n) < 0.3, "yksityinen", "julkinen")
    sp = pd.DataFrame({"client_id": [f"c{i}" for i in range(n)], "provider": prov, "eur": 1.0})
    p = (prov == "yksityinen").mean()
    se = bootstrap_share_se(sp, "yksityinen", n_boot=2000, seed=1)
    assert se == pytest.approx(np.sqrt(p * (1 - p) / n), rel=0.1)


def test_likert_summary_matches_r_quantile_type7():
    # R 4.2.2, Debian (default type = 7): quantile(1:10) -> 0%: 1, 25%: 3.25, 50%: 5.5, 75%: 7.75, 100%: 10
    # R 4.2.2, Debian: quantile(c(2, 4, 4, 5, 7, 7, 7)) -> 0%: 2, 25%: 4, 50%: 5, 75%: 7, 100%: 7;
    # IQR(c(2, 4, 4, 5, 7, 7, 7)) -> 3; tabulate(c(2, 4, 4, 5, 7, 7, 7), nbins = 7) -> 0 1 0 2 1 0 3
    df = pd.DataFrame({"g": ["a"] * 10 + ["b"] * 7,
                       "s4_1": list(range(1, 11)) + [2, 4, 4, 5, 7, 7, 7],
                       "s4_2": [np.nan] * 10 + [1, 1, 1, 1, 1, 1, 1]})
    out = likert_summary(df, ["s4_1", "s4_2"], by="g").set_index(["g", "item"])
    assert out.loc[("a", "s4_1"), ["n", "median", "q1", "q3"]].tolist() == [10, 5.5, 3.25, 7.75]
    assert out.loc[("b", "s4_1"), ["median", "q1", "q3", "iqr"]].tolist() == [5, 4, 7, 3]
    assert ("a", "s4_2") not in out.index  # no answers, no row
    dist = likert_distribution(df, ["s4_1"], levels=range(1, 8), by="g")
    assert dist.loc[("b", "s4_1")].tolist() == [0, 1, 0, 2, 1, 0, 3]


THEMES = [{"key": "tieto", "label": "Tieto puuttui", "keywords": ["tiedä", "tietoa"]},
          {"key": "tyolaus", "label": "Työläys", "keywords": ["työlä", "paperi"]}]


def test_theme_counts_planted():
    texts = ["En TIENNYT tarpeeksi, en tiedä vieläkään.", "Tuntui työläältä ja paperia paljon.",
             "Ei tietoa ja liian työlästä.", "Muuten vain.", None, "  "]
    m = theme_matrix(texts, THEMES)
    assert m.to_dict("list") == {"tieto": [True, False, True, False], "tyolaus": [False, True, True, False],
                                 "muu": [False, False, False, True]}
    c = theme_counts(texts, THEMES)
    assert c.attrs["n_answers"] == 4
    assert c["n"].to_dict() == {"tieto": 2, "tyolaus": 2, "muu": 1}
    assert c.loc["tieto", "share"] == 0.5


def test_config_theme_codebooks_are_well_formed():
    books = load_config().section("theme_codebooks")
    assert {"hb_valinta", "ei_hb_valinta", "avustaja_kokemukset", "lahtokysely_avoimet"} <= set(books)
    for name, themes in books.items():
        keys = [t["key"] for t in themes]
        assert len(set(keys)) == len(keys) and "muu" not in keys, name
        assert all(set(t) == {"key", "label", "keywords"} for t in themes), name  # e.g. an unquoted comma
        assert all(t["label"] and t["keywords"] for t in themes), name


def test_assistant_time():
    a = pd.DataFrame({"assistant_id": [1, 1, 2], "pilot": "kainuu", "relationship": ["omainen", "omainen", "ystävä"],
                      "date": pd.to_datetime(["2018-01-02", "2018-01-03", "2018-01-02"]),
                      "minutes": [90, 30, 45], "travel_minutes": [30, None, 0]})
    t = assistant_time(a).set_index("assistant_id")
    assert t.loc[1, ["hours", "travel_hours", "n_days"]].tolist() == [2.0, 0.5, 2]
    assert t.loc[2, "relationship"] == "ystävä"


def test_feedback_and_self_evaluation():
    fb = pd.DataFrame({"event": ["a", "a", "b", "c"], "pilot": "pori",
                       "date": pd.to_datetime(["2017-03-01", "2017-03-01", "2017-09-01", "2018-02-01"]),
                       "rating": [4, 5, 3, None]})
    per = feedback_by_period(fb).set_index("period")
    assert per.loc["2017/1", ["n", "mean", "n_events"]].tolist() == [2, 4.5, 1]
    assert per.loc["2017/2", "mean"] == 3.0
    assert "2018/1" not in per.index
    se = pd.DataFrame({"pilot": ["pori", "pori", "vantaa"], "period": ["2017/1", "2017/1", "2017/2"],
                       "goal": ["x", "y", "x"], "rating": [2, 4, 5]})
    s = self_evaluation_summary(se).set_index(["pilot", "period"])
    assert s.loc[("pori", "2017/1"), "mean"] == 3.0 and s.loc[("pori", "2017/1"), "n"] == 2


def test_format_fi():
    from hbeval_lib.strands.services.stats import format_fi

    assert format_fi(0.3382, "palvelut.nonpublic_share.hb") == "34 %"
    assert format_fi(1234.5) == "1 235"  # half up, as in Finnish reporting (Python's format rounds half even)
    assert format_fi(0.125, decimals=2) == "0,13"
    assert format_fi(12.345) == "12,3"
    assert format_fi(41.0) == "41"  # counts stay whole numbers
    assert format_fi(-0.234) == "-0,23"
    assert format_fi(None) == format_fi(float("nan")) == "ei saatavilla"


def test_evidence_table_missing_and_suppressed():
    from hbeval_lib.strands.services.stats import evidence_table

    res = pd.DataFrame([
        {"strand": "costs", "key": "a", "estimate": 10.0, "ci_low": 5.0, "ci_high": 15.0, "n": 40.0,
         "suppressed": False},
        {"strand": "costs", "key": "b", "estimate": None, "ci_low": None, "ci_high": None, "n": None,
         "suppressed": True}])
    crit = {"key": "k", "text": "t", "evidence": [{"strand": "costs", "key": "a", "label": "A"},
                                                 {"strand": "costs", "key": "b", "label": "B"},
                                                 {"strand": "wellbeing", "key": "a", "label": "C"}]}
    t = evidence_table(res, crit)
    assert t["available"].tolist() == [True, False, False]
    assert t["value"].tolist() == ["10", "ei saatavilla", "ei saatavilla"]
    assert t.loc[0, "ci"] == "5,0 … 15,0" and t.loc[0, "n"] == 40


def test_evidence_rows_keep_the_strand_pages_rounding_and_unit():
    """Seed 347's reader: the phase summary printed the self-evaluation mean as 3,2 (the strand table's one decimal)
    and the synthesis 3,22; a difference of two shares printed as "24 %" instead of percentage points."""
    from hbeval_lib.strands.services.stats import evidence_table

    res = pd.DataFrame([
        {"strand": "service_process", "key": "itsearviointi.mean.last", "estimate": 3.2237, "ci_low": None,
         "ci_high": None, "n": 18.0, "suppressed": False},
        {"strand": "wellbeing", "key": "asiakaskysely.q1_q2.share_diff", "estimate": 0.2412, "ci_low": None,
         "ci_high": None, "n": 233.0, "suppressed": False}])
    crit = {"key": "k", "text": "t", "evidence": [
        {"strand": "service_process", "key": "itsearviointi.mean.last", "label": "A", "decimals": 1},
        {"strand": "wellbeing", "key": "asiakaskysely.q1_q2.share_diff", "label": "B"}]}
    t = evidence_table(res, crit)
    assert t["value"].tolist() == ["3,2", "24 %-yks."]
    crit["evidence"][0].pop("decimals")
    assert evidence_table(res, crit).loc[0, "value"] == "3,22"      # known bad: the default two decimals


def test_the_synthesis_says_why_indicators_are_missing_in_the_right_number():
    """Seed 347's reader: "4/4 … puuttuva tunnusluku on peitetty" and "1/3 … puuttuva tunnusluku" (two missing)."""
    from hbeval_lib.page import report
    from hbeval_lib.strands.synthesis import sections as syn

    def note(available: int, total: int) -> str:
        rows = [{"strand": "costs", "key": f"k{i}", "estimate": 1.0 if i < available else None, "ci_low": None,
                 "ci_high": None, "n": 20.0, "suppressed": i >= available} for i in range(total)]
        crit = {"key": "c", "text": "t", "evidence": [{"strand": "costs", "key": f"k{i}", "label": f"L{i}"}
                                                      for i in range(total)]}
        rep = report.start("synthesis", "loppuraportti", "kaikki", "", prefix="synteesi")
        return syn.criterion(rep, syn.StrandResults(pd.DataFrame(rows), {}), 1, crit).texts[-1]

    assert "puuttuv" not in note(3, 3)
    assert "puuttuva tunnusluku on" in note(2, 3)
    assert "puuttuvat tunnusluvut on" in note(1, 3)
