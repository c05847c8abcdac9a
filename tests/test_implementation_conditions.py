"""The section on the conditions for implementation (plan ch. 2 and 6, "Millä edellytyksillä …"): its numbers are
the planted truth of the demo data and go through the disclosure API (a small count is hidden, and so is its
results row)."""

from __future__ import annotations

import pandas as pd

from hbeval_lib.page import report
from hbeval_lib.strands.services import sections as ch

STAGE_KEYS = {"lähtötilanne": "lahtotilanne", "väli": "vali", "loppu": "loppu"}


def _rep(processed, pilot="kaikki", phase="loppuraportti"):
    return report.start("service_process", phase, pilot, str(processed), prefix="palveluprosessi")


def test_conditions_qualitative_counts_are_the_planted_tags(demo_processed):
    processed, truth = demo_processed
    rep = _rep(processed)
    sec = ch.conditions_qualitative(rep)
    shown = sec.data["qualitative"]
    planted = truth["qualitative"]["tag_counts_by_stage"]
    checked = 0
    for stage, counts in planted.items():
        col = STAGE_KEYS[stage]
        for code in ch.CONDITION_CODES:
            v = shown.at[code, col]
            if isinstance(v, int) or hasattr(v, "__index__"):
                assert int(v) == counts.get(code, 0), (code, stage)
                checked += 1
    assert checked >= 4
    res = rep.res.frame().set_index("key")
    # the all-stages total: the planted sum when every stage total is printed, else hidden with its results row
    for code in ch.CONDITION_CODES:
        total = sum(c.get(code, 0) for c in planted.values())
        est = res.loc[f"edellytykset.laadullinen.{code}.kaikki", "estimate"]
        stages = [shown.at[code, STAGE_KEYS[st]] for st in planted if STAGE_KEYS[st] in shown.columns]
        if all(isinstance(v, int) or hasattr(v, "__index__") for v in stages):
            assert est == total and shown.at[code, "kaikki"] == total
        else:
            assert pd.isna(est) and not isinstance(shown.at[code, "kaikki"], int)


def _qual(tags: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"source": "paivakirjat", "doc_id": [f"d{i % 6}" for i in range(len(tags))], "pilot": "pori",
                         "kind": "tyontekija", "stage": "loppu", "doc_date": pd.NaT, "entry_date": pd.NaT,
                         "section": "", "paragraph": range(len(tags)), "text": "x", "tags": tags,
                         "quote_approved": False})


def test_conditions_hide_small_counts_and_their_results_rows(demo_processed):
    processed, _ = demo_processed
    rep = _rep(processed, pilot="pori")
    # 3 paragraphs on enablers (a small count), 7 on barriers
    rep._cache["qualitative"] = _qual(["edistaa"] * 3 + ["estaa"] * 7)
    sec = ch.conditions_qualitative(rep)
    shown = sec.data["qualitative"]
    assert shown.at["edistaa", "loppu"] == rep.dc.suppressed_mark
    assert not isinstance(shown.at["edistaa", "kaikki"], int)     # the sum of a hidden stage total: hidden
    res = rep.res.frame().set_index("key")
    assert bool(res.loc["edellytykset.laadullinen.edistaa.kaikki", "suppressed"])
    assert pd.isna(res.loc["edellytykset.laadullinen.edistaa.kaikki", "estimate"])
    # the other cells: a results row carries a number exactly when the table shows it, and it is the true count
    truth = {"estaa": 7, "kehittaminen": 0}
    for code, n in truth.items():
        cell, r = shown.at[code, "kaikki"], res.loc[f"edellytykset.laadullinen.{code}.kaikki"]
        if isinstance(cell, str):
            assert r["suppressed"] and pd.isna(r["estimate"])
        else:
            assert int(cell) == n and r["estimate"] == n
    # the cells are the theme tables' (one entry per number, shared with the heat map and results.csv)
    assert ((rep.dc.frame()["table"] == "palveluprosessi.laadullinen.lampokartta.edistaa")
            & (rep.dc.frame()["code"].isin(["count", "margin"]))).any()


def test_conditions_few_assistants_give_a_sentence_without_numbers(demo_processed):
    processed, _ = demo_processed
    rep = _rep(processed, pilot="pori")
    sec = ch.conditions_assistants(rep)
    assert not sec.tables and "alle kymmenen" in sec.texts[0]
    assert not any(k.startswith("edellytykset.avustajat.") for k in rep.res.frame().get("key", []))
    # all pilots together: themes counted per respondent, never more than the respondents
    rep = _rep(processed)
    sec = ch.conditions_assistants(rep)
    n = len(rep.load("avustajakysely"))
    tab = sec.tables[0]
    assert all(isinstance(v, str) or 0 <= int(v) <= n for v in tab["Avustajia"])


def test_implementation_conditions_section_cites_every_source(demo_processed):
    processed, _ = demo_processed
    rep = _rep(processed)
    spend = ch.spending(rep)
    mix = ch.arm_comparison(rep, spend)
    sec = ch.implementation_conditions(rep, mix)
    text = "\n".join(sec.texts)
    for part in ("Työpajat ja päiväkirjat", "Henkilöstö ja johto", "HB-avustajat", "Pilottien itsearviointi",
                 "Palveluprosessin havainnot"):
        assert part in text
    assert len(sec.tables) >= 4
    keys = set(rep.res.frame()["key"])
    assert {"edellytykset.toimenpiteet.osaaminen", "edellytykset.lahtokysely.o3_sosiaaliturvajarjestelma",
            "edellytykset.avustajat.valmennus"} <= keys


def test_pilot_goals_read_the_pages_protected_results(demo_processed):
    processed, _ = demo_processed
    rep = _rep(processed, pilot="hameenlinna")
    spend = ch.spending(rep)
    ch.arm_comparison(rep, spend)
    sec = ch.pilot_goals(rep)
    goals, fam = sec.tables
    res = rep.res.frame().set_index("key")
    row = goals.loc[("Lisää palvelun tuottamisen vaihtoehtoja ja kumppanuuksia (järjestöt, yhdistykset, seurat, "
                     "yksityiset)", "Muiden kuin julkisten tuottajien osuus euroista, HB"), "Arvo"]
    assert row == f"{round(100 * res.loc['palvelut.nonpublic_share.hb', 'estimate'])} %"
    # a key this page did not compute is "ei saatavilla", never a number from elsewhere
    assert (goals["Arvo"] == "ei saatavilla").any()
    clients = rep.load("clients")
    assert fam.loc["Yhteensä", "Asiakasperheitä"] == len(clients)
    assert fam.loc["Äiti ja lapset", "Asiakasperheitä"] in ((clients["family_structure"] == "c").sum(), "<5", "–")
    # a pilot without goals in the configuration says so; the all-pilots page points to the pilots' pages
    assert "pilottien" in ch.pilot_goals(_rep(processed)).texts[0]
    assert not ch.pilot_goals(_rep(processed, pilot="kainuu")).tables


def test_process_finding_never_prints_a_hidden_figure_as_a_word(demo_processed):
    """Unseen set (seed 127, 90 clients): a small pilot's page read "HB-asiakkaiden palvelujen euroista ei saatavilla
    tuli muilta kuin julkisilta tuottajilta, ja HB-asiakas käytti keskimäärin ei saatavilla tuottajatyyppiä". Each
    figure is said only when shown; with none, the sentence gives the reason."""
    processed, _ = demo_processed
    rep = _rep(processed, pilot="pori")
    na = report.NOT_AVAILABLE
    none = ch._provider_finding(rep, {"nonpublic_share_hb": na, "nonpublic_share_verrokki": na,
                                      "provider_types_hb": na})
    assert na not in none and none.startswith("HB-asiakkaiden palvelujen tuottajista ei tässä rajauksessa") \
        and "koska" in none
    one = ch._provider_finding(rep, {"nonpublic_share_hb": na, "nonpublic_share_verrokki": na,
                                     "provider_types_hb": "2,1"})
    assert na not in one and one.startswith("HB-asiakas käytti keskimäärin 2,1 tuottajatyyppiä:")
    both = ch._provider_finding(rep, {"nonpublic_share_hb": "41 %", "nonpublic_share_verrokki": "0 %",
                                      "provider_types_hb": "2,1"})
    assert both.startswith("HB-asiakkaiden palvelujen euroista 41 % tuli muilta kuin julkisilta tuottajilta "
                           "(verrokeilla 0 %), ja HB-asiakas käytti keskimäärin 2,1 tuottajatyyppiä:")
