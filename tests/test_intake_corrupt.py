"""Files that cannot be read at all are reported (file, sheet, expected and found headers) and every other
file is still processed; ``--strict`` turns any rejection into a non-zero exit."""

from __future__ import annotations

import argparse
import datetime as dt

import openpyxl
import pandas as pd
import pytest

from hbeval_lib.intake import run as intake

ROSTER = [["Asiakasnumero", "Ryhmä", "Asiakkuus alkoi", "Asiakkuus päättyi", "Suostumus"],
          ["410101", "HB", "1.3.2017", "", "kyllä"], ["410102", "verrokki", "2.3.2017", "", "kyllä"],
          ["410103", "HB", "3.3.2017", "", "ei"]]
DOMAINS = ["Yleinen hyvinvointi", "Osallisuus", "Mielen hyvinvointi", "Arjen sujuminen", "Taidot",
           "Fyysinen toimintakyky", "Työ ja tulevaisuus"]
KYKY = [["Asiakasnumero", "Vastauspäivä", "Mittauskerta", *DOMAINS],
        ["410101", dt.datetime(2017, 3, 5), "alku", *[5] * 7],
        ["410102", "6.3.2017", "alku", *["6,5"] * 7],
        ["410103", "7.3.2017", "alku", *[4] * 7],
        ["410104", "7.3.2017", "alku", *[4] * 7]]


def _xlsx(path, sheets: dict[str, list[list]]):
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for r in rows:
            ws.append(r)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)


@pytest.fixture(scope="module")
def corrupt_raw(tmp_path_factory):
    raw = tmp_path_factory.mktemp("raw")
    _xlsx(raw / "asiakkaat" / "asiakkaat_pori.xlsx", {"Asiakkaat": ROSTER})
    good = raw / "kykyviisari" / "a_good.xlsx"
    _xlsx(good, {"Vastaukset": KYKY})
    data = good.read_bytes()
    (raw / "kykyviisari" / "b_truncated.xlsx").write_bytes(data[: len(data) // 2])
    (raw / "kykyviisari" / "c_empty.xlsx").write_bytes(b"")
    (raw / "kykyviisari" / "d_text.xlsx").write_text("Asiakasnumero;Vastauspäivä\n410101;1.3.2017\n", encoding="utf-8")
    (raw / "kykyviisari" / "e_encrypted.xlsx").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)
    (raw / "kykyviisari" / "f_empty.csv").write_bytes(b"")
    (raw / "kykyviisari" / "~$a_good.xlsx").write_bytes(b"\x00lock")
    _xlsx(raw / "budjetti" / "budjetti_pori.xlsx", {"Taul1": [["Asiakasnumero"]], "Taul2": [["x"]]})
    _xlsx(raw / "palvelut" / "palvelut_pori.xlsx",
          {"Palvelut": [["Asiakasnumero", "Palvelu", "Yksikkö", "Alkoi"], ["410101", "kotipalvelu", "tunti", "1.4.2017"]]})
    out = tmp_path_factory.mktemp("out")
    report = intake.run_intake(raw, out)
    return raw, out, report


def _error(report, name):
    hits = [e for e in report.errors if name in e]
    assert len(hits) == 1, (name, report.errors)
    return hits[0]


def test_truncated_xlsx(corrupt_raw):
    msg = _error(corrupt_raw[2], "b_truncated.xlsx")
    assert "katkennut tai vioittunut" in msg


def test_empty_file(corrupt_raw):
    assert "tyhjä" in _error(corrupt_raw[2], "c_empty.xlsx")
    assert "tyhjä" in _error(corrupt_raw[2], "f_empty.csv")


def test_text_file_renamed_xlsx(corrupt_raw):
    assert "ei ole .xlsx-työkirja" in _error(corrupt_raw[2], "d_text.xlsx")


def test_encrypted_workbook(corrupt_raw):
    assert "salasanalla suojattu" in _error(corrupt_raw[2], "e_encrypted.xlsx")
    # and the gate's finding says what to do
    [f] = [f for f in corrupt_raw[2].findings if f.file == "kykyviisari/e_encrypted.xlsx"]
    assert f.kind == "unreadable_file" and f.severity == "error" and "poista salasanasuojaus" in f.action


def test_wrong_sheet_names(corrupt_raw):
    report = corrupt_raw[2]
    msgs = [e for e in report.errors if "budjetti_pori.xlsx" in e]
    assert len(msgs) == 2  # both required sheets reported
    assert any("välilehteä 'Budjetit' ei löydy" in m and "Taul1" in m and "Taul2" in m for m in msgs)
    assert any("välilehteä 'Maksusitoumukset' ei löydy" in m for m in msgs)
    kinds = {(f.kind, f.sheet) for f in report.findings if f.file == "budjetti/budjetti_pori.xlsx"}
    assert kinds == {("sheet_not_found", "Budjetit"), ("sheet_not_found", "Maksusitoumukset")}


def test_missing_required_header(corrupt_raw):
    msg = _error(corrupt_raw[2], "palvelut_pori.xlsx")
    assert "välilehti 'Palvelut'" in msg
    assert "pakollisia sarakeotsikoita puuttuu: ['määrä']" in msg
    assert "odotetut otsikot" in msg and "'määrä'" in msg  # which headers were expected
    assert "rivillä 1 on" in msg and "'Yksikkö'" in msg  # and which were found


def test_other_files_still_processed(corrupt_raw):
    raw, out, report = corrupt_raw
    rec = report.reconciliation
    good = rec[rec["file"] == "kykyviisari/a_good.xlsx"].iloc[0]
    # 4 rows: 2 accepted and kept, 1 accepted but consent ei (excluded), 1 unknown client (rejected)
    assert (good["read"], good["accepted"], good["rejected"], good["excluded_no_consent"]) == (4, 3, 1, 1)
    kyky = pd.read_parquet(out / "kykyviisari.parquet")
    assert sorted(kyky["client_id"]) == ["410101", "410102"]
    assert kyky.loc[kyky["client_id"] == "410102", "osallisuus"].iloc[0] == 6.5
    assert not rec["file"].str.contains("~$", regex=False).any()  # lock file ignored
    q = report.quarantine
    unreadable = q[q["reason"] == "unreadable_file"]
    assert set(unreadable["file"]) == {"kykyviisari/b_truncated.xlsx", "kykyviisari/c_empty.xlsx",
                                       "kykyviisari/d_text.xlsx", "kykyviisari/e_encrypted.xlsx",
                                       "kykyviisari/f_empty.csv", "budjetti/budjetti_pori.xlsx",
                                       "palvelut/palvelut_pori.xlsx"}
    assert q.loc[q["reason"] == "unknown_client", "row"].tolist() == [5]
    for name in ("quarantine.csv", "reconciliation.csv", "flags.csv"):
        assert (out / name).exists()


def _cli(raw, out, strict):
    ns = argparse.Namespace(raw=raw, out=out, config=None, strict=strict, no_progress=True)
    return intake.run_cli(ns)


def test_strict_exit_code(corrupt_raw, tmp_path, capsys):
    raw = corrupt_raw[0]
    # unreadable files are errors of the build gate: intake exits 1 even without --strict
    assert _cli(raw, tmp_path / "a", strict=False) == 1
    summary = capsys.readouterr().out
    assert "LUKUVIRHE" in summary and "b_truncated.xlsx" in summary and "unknown_client 1" in summary
    assert "VIRHE [unreadable_file:kykyviisari/b_truncated.xlsx]" in summary and "Mitä tehdä:" in summary
    assert _cli(raw, tmp_path / "b", strict=True) == 1


def test_strict_clean_set_exits_zero(tmp_path):
    raw = tmp_path / "raw"
    _xlsx(raw / "asiakkaat" / "asiakkaat_pori.xlsx", {"Asiakkaat": ROSTER})
    assert _cli(raw, tmp_path / "out", strict=True) == 0


def test_column_map_and_survey_files_by_name(tmp_path):
    """A variant export header is mapped by ``column_maps``; survey forms may come as two files named hb/verrokki."""
    from hbeval_lib.config import load_config, parse_config

    base = load_config()
    cfg = parse_config({**base.raw, "column_maps": {"kykyviisari": {"Asiakkaan tunnus": "Asiakasnumero"}}}, base.path)
    raw = tmp_path / "raw"
    _xlsx(raw / "asiakkaat" / "asiakkaat_pori.xlsx", {"Asiakkaat": ROSTER})
    _xlsx(raw / "kykyviisari" / "k.xlsx", {"Vastaukset": [["Asiakkaan tunnus", *KYKY[0][1:]], KYKY[1]]})
    _xlsx(raw / "asiakaskysely" / "kysely_hb.xlsx", {"Taul1": [["1.1 Asiakasnumero", "2.2 Sain tietoa"],
                                                               ["410101", 4], ["999999", 5]]})
    _xlsx(raw / "asiakaskysely" / "kysely_verrokki.xlsx", {"Taul1": [["1.1", "2.2", "3.7"], ["410102", 2, 3]]})
    report = intake.run_intake(raw, tmp_path / "out", cfg)
    assert not report.errors
    assert pd.read_parquet(tmp_path / "out" / "kykyviisari.parquet")["client_id"].tolist() == ["410101"]
    survey = pd.read_parquet(tmp_path / "out" / "asiakaskysely.parquet")
    assert survey["form"].tolist() == ["hb", "hb", "verrokki"]
    assert survey["q2_2"].tolist() == [4, 5, 2] and str(survey["q2_2"].dtype) == "Int64"
    # 999999 is not a valid client number: the answer is kept, unlinked
    assert survey["client_id"].isna().tolist() == [False, True, False]
    assert survey["arm"].tolist()[::2] == ["hb", "verrokki"]
