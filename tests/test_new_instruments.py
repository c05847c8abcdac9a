"""The instruments the plan names beyond the data contract (issue 21): the awareness web survey, media-monitoring
statistics, the support network's time and cost form and Kompassi. Each is read from the demo data (planted truth
recovered, every row accounted for) and from a deliberately broken file (a Finnish message naming file, row and
column; nothing lost)."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pandas as pd
import pytest

from hbeval_lib.intake import gate
from hbeval_lib.intake import run as intake
from hbeval_lib.core import tables
from hbeval_lib.intake.instruments import INSTRUMENTS

NEW = {"tietoisuuskysely": "awareness_survey", "mediaseuranta": "media_monitoring", "laheiskulut": "laheiskulut",
       "kompassi": "kompassi"}


def _recon(processed, inst):
    r = pd.read_csv(processed / "reconciliation.csv")
    return r[r["instrument"] == inst]


@pytest.mark.parametrize("inst", list(NEW))
def test_new_instrument_read_from_demo_data_with_every_row_counted(demo_raw, demo_processed, inst):
    raw, truth = demo_raw
    processed, _ = demo_processed
    rec = _recon(processed, inst)
    assert len(rec) and (rec["read"] == rec["accepted"] + rec["skipped"] + rec["rejected"]).all()
    assert int(rec["read"].sum()) == truth["counts"][inst]["read"] > 0
    assert int(rec["rejected"].sum()) == 0
    table = tables.read_table(NEW[inst], processed)
    assert len(table) == truth["counts"][inst]["accepted"] - truth["counts"][inst]["excluded_no_consent"]


def test_awareness_survey_recovers_the_planted_shares(demo_processed):
    processed, truth = demo_processed
    aw = tables.read_table("awareness_survey", processed)
    got = aw.groupby("respondent_group")["knows_hb"].agg(["sum", "size"])
    for g, n in truth["awareness"]["respondents"].items():
        assert got.loc[g, "size"] == n
        assert got.loc[g, "sum"] == truth["awareness"]["knows"][g]
    media = tables.read_table("media_monitoring", processed)
    assert int(media["hits"].sum()) == truth["awareness"]["media"]["hits_total"]
    fb = tables.read_table("feedback", processed)
    # the events' awareness item: latent mean 4.1, SD 0.8, rounded and clipped to 1–5
    assert abs(fb["awareness"].mean() - truth["awareness"]["event_awareness_mean"]) < 0.35


def test_relatives_time_and_kompassi_carry_the_planted_differences(demo_processed):
    processed, truth = demo_processed
    rel = tables.read_table("laheiskulut", processed)
    assert set(rel["arm"]) == {"hb", "verrokki"}
    forms = rel.groupby("arm")["relative_id"].nunique()
    assert forms.to_dict() == truth["relatives"]["forms"]
    # one row per client month: the mean minutes per row estimate the planted minutes per client month
    # (gamma, shape 1.5: SD = mean / sqrt(1.5); tolerance four standard errors; values capped at 1 200)
    for arm, mean in truth["relatives"]["minutes_per_client_month"].items():
        m = rel.loc[rel["arm"] == arm, "minutes"].astype(float)
        assert abs(m.mean() - mean) < 4 * mean / 1.5 ** 0.5 / len(m) ** 0.5, arm
    k = tables.read_table("kompassi", processed)
    assert set(k["pilot"]) == {"hameenlinna"}
    wide = k.pivot_table(index=["client_id", "arm"], columns="occasion", values="arki").dropna().reset_index()
    change = (wide["loppu"] - wide["alku"]).groupby(wide["arm"]).mean()
    assert change["hb"] > change.get("verrokki", 0) - 0.5 and change["hb"] > 0


def _xlsx(path, rows, block=None):
    wb = openpyxl.Workbook()
    ws = wb.active
    for r in block or []:
        ws.append(r)
    if block:
        ws.append([])
    for r in rows:
        ws.append(r)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)


ROSTER = [["Asiakasnumero", "Ryhmä", "Asiakkuus alkoi", "Asiakkuus päättyi", "Suostumus"],
          ["210101", "HB", "1.3.2017", "", "kyllä"], ["210202", "verrokki", "2.3.2017", "", "kyllä"]]


@pytest.fixture(scope="module")
def broken(tmp_path_factory):
    raw = tmp_path_factory.mktemp("raw_new")
    _xlsx(raw / "asiakkaat" / "asiakkaat.xlsx", ROSTER)
    # Kompassi: row 3 has an area out of 1–10, row 4 an unknown client, row 5 is fine
    _xlsx(raw / "kompassi" / "kompassi.xlsx", [
        ["Asiakasnumero", "Arviointipäivä", "Arviointikerta", "Arjen sujuminen", "Vanhemmuus"],
        ["210101", "5.3.2017", "alku", 5, 6],
        ["210202", "6.3.2017", "alku", 12, 6],
        ["219999", "7.3.2017", "alku", 5, 6],
        ["210101", "5.3.2018", "loppu", 7, 7]])
    # media monitoring: row 3 has negative hits; a second file lacks the required column Osumat
    _xlsx(raw / "mediaseuranta" / "a_media.xlsx", [
        ["Kuukausi", "Media", "Pilotti", "Osumat"],
        ["1.9.2017", "sanomalehti", "", 3],
        ["1.10.2017", "verkkomedia", "Hämeenlinna", -2]])
    _xlsx(raw / "mediaseuranta" / "b_media.xlsx", [["Kuukausi", "Media", "Pilotti"], ["1.9.2017", "radio ja tv", ""]])
    # awareness survey (CSV): line 3 has no answer to Tunnen HB:n
    (raw / "tietoisuuskysely").mkdir()
    (raw / "tietoisuuskysely" / "kysely.csv").write_text(
        "Vastauspäivä;Vastaajaryhmä;Pilotti;Tunnen HB:n\n1.3.2019;asiakas;Pori;kyllä\n2.3.2019;johto;;\n",
        encoding="utf-8")
    # relatives' form: minutes 75 on the first table row
    block = [["Läheisen nimi:", "Maija Meikäläinen"], ["Asiakkaan asiakasnumero", "210202"],
             ["Läheissuhde:", "omainen"]]
    _xlsx(raw / "laheiskulut" / "laheiskulut_1.xlsx", [
        ["Päivämäärä", "Selite", "Aika tuntia", "Aika minuuttia"],
        [dt.datetime(2017, 4, 1), "Kyyditys", 1, 75],
        [dt.datetime(2017, 5, 1), "Kyyditys", 2, 0]], block=block)
    out = tmp_path_factory.mktemp("out_new")
    report = intake.run_intake(raw, out)
    return raw, out, report


def test_broken_rows_are_rejected_with_file_row_and_column(broken):
    raw, out, report = broken
    q = pd.read_csv(out / "quarantine.csv")
    got = {(r.instrument, r.file, int(r.row), r.column, r.reason) for r in q.itertuples() if r.reason != "unreadable_file"}
    assert ("kompassi", "kompassi/kompassi.xlsx", 3, "Arjen sujuminen", "out_of_range") in got
    assert ("kompassi", "kompassi/kompassi.xlsx", 4, "Asiakasnumero", "unknown_client") in got
    assert ("mediaseuranta", "mediaseuranta/a_media.xlsx", 3, "Osumat", "negative_value") in got
    assert ("tietoisuuskysely", "tietoisuuskysely/kysely.csv", 3, "Tunnen HB:n", "missing_value") in got
    assert any(i == "laheiskulut" and r == 6 and c == "Aika minuuttia" for i, _, r, c, _ in got), got
    # the Finnish warning names the file, the row and the column
    findings = gate.rejected_rows(out)
    komp = [f for f in findings if f.instrument == "kompassi" and f.detail == "out_of_range"][0]
    assert "kompassi/kompassi.xlsx" in komp.found and "rivi 3" in komp.found and "Arjen sujuminen" in komp.found
    assert "hylättiin" in komp.found


def test_broken_files_lose_nothing(broken):
    raw, out, report = broken
    rec = pd.read_csv(out / "reconciliation.csv")
    for inst in NEW:
        r = rec[rec["instrument"] == inst]
        assert (r["read"] == r["accepted"] + r["skipped"] + r["rejected"]).all(), inst
    assert int(rec.loc[rec["file"] == "kompassi/kompassi.xlsx", "accepted"].sum()) == 2
    assert len(tables.read_table("kompassi", out)) == 2
    assert len(tables.read_table("laheiskulut", out)) == 1
    # a file without a required column is not silently skipped: a Finnish error names the file and the column
    msg = [e for e in report.errors if "b_media.xlsx" in e]
    assert msg and "osumat" in msg[0].casefold() and "puuttuu" in msg[0], report.errors
    q = pd.read_csv(out / "quarantine.csv")
    assert ((q["file"] == "mediaseuranta/b_media.xlsx") & (q["reason"] == "unreadable_file")).any()


def test_new_instruments_are_optional_folders(tmp_path):
    raw = tmp_path / "raw"
    _xlsx(raw / "asiakkaat" / "asiakkaat.xlsx", ROSTER)
    report = intake.run_intake(raw, tmp_path / "out")
    missing = {f.instrument: f.severity for f in report.findings if f.kind == "folder_missing"}
    assert all(missing[i] == gate.INFO for i in NEW)
    assert missing["kykyviisari"] == gate.WARNING
    assert all(INSTRUMENTS[i].optional for i in NEW)


# -- the page: every number through the disclosure API ------------------------------------------------------------

def _page(processed, pilot="kaikki"):
    from hbeval_lib.page import report

    return report.start("service_process", "loppuraportti", pilot, str(processed), prefix="palveluprosessi")


def test_awareness_page_publishes_the_planted_shares_and_hides_small_cells(demo_processed):
    from hbeval_lib.strands.services import sections as ch

    processed, truth = demo_processed
    rep = _page(processed)
    sec = ch.awareness(rep)
    res = rep.res.frame().set_index("key")
    aw = truth["awareness"]
    # the demo's event participants answer as national respondents (no pilot): a table of their own
    local = [g for g in aw["respondents"] if g != "tilaisuuden osallistuja"]
    n_local = sum(aw["respondents"][g] for g in local)
    assert res.loc["tietoisuus.kysely.kaikki.share", "estimate"] == pytest.approx(
        sum(aw["knows"][g] for g in local) / n_local)
    for g in local:
        n = aw["respondents"][g]
        key = f"tietoisuus.kysely.{g.replace('ä', 'a').replace('ö', 'o').replace(' ', '_')}.share"
        r = res.loc[key]
        if not r["suppressed"]:
            assert r["estimate"] == pytest.approx(aw["knows"][g] / n)
        # a hidden count hides the share too
        tab = sec.tables[-2]
        label = ch.AWARENESS_GROUP_LABELS[g]
        if any(v in ("<5", "–") for v in tab.loc[label, ["Tuntee HB:n", "Ei tunne", "Vastaajia"]]):
            assert r["suppressed"] and tab.loc[label, "Tuntee (%)"] == "–"
    years = [k for k in res.index if k.startswith("tietoisuus.media.")]
    assert all(not res.loc[k, "suppressed"] for k in years)
    total = sum(res.loc[k, "estimate"] for k in years)
    assert total == truth["awareness"]["media"]["hits_total"]


def test_relatives_and_kompassi_on_the_page(demo_processed):
    from hbeval_lib.strands.services import sections as ch

    processed, truth = demo_processed
    rep = _page(processed)
    ch.relatives(rep)
    ch.kompassi(rep)
    res = rep.res.frame().set_index("key")
    hb, ctrl = (res.loc[f"laheiset.hours_per_month.{a}", "estimate"] for a in ("hb", "verrokki"))
    assert hb > ctrl   # planted 240 vs 180 minutes per client month
    # Kompassi: never one group beside the total (the total would reveal the other group)
    shown_cols = {k.rsplit(".", 1)[1] for k in res.index if k.startswith("kompassi.") and
                  not res.loc[k, "suppressed"]}
    assert shown_cols in ({"kaikki"}, {"hb", "verrokki"}, set())
    # a pilot without Kompassi says so, without numbers
    rep = _page(processed, "kainuu")
    sec = ch.kompassi(rep)
    assert not sec.tables and "Hämeenlinna" in sec.texts[0]
    sec = ch.relatives(rep)
    assert not sec.tables
