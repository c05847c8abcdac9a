"""The build gate (hbeval_lib/intake/gate.py): each realistic mistake of issue 14 is planted in a copy of a small demo set
and the gate must stop with a Finnish message naming the file (sheet, row, column) and what to do; nothing may be
doubled or silently lost; an acknowledged finding lets the build go on and is listed in the book; ``--draft``
builds anyway with a banner on every page."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from hbeval_lib.book import pages as bookpages
from hbeval_lib.intake import gate
from hbeval_lib.intake import run as intake
from hbeval_lib.config import REPO_ROOT

NO_ACKS = "/nonexistent/kuitatut.yml"  # the repository's list must not change a test's verdict
SAMPLES_ACK = Path(__file__).with_name("samples_kuitatut_havainnot.yml")


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A 60-client demo set without faults, and its clean intake (the reference counts)."""
    from hbeval_lib.demo.generator import generate

    root = tmp_path_factory.mktemp("gate_base")
    truth = generate(root / "raw", seed=3, clients=60, faults="none")
    intake.run_intake(root / "raw", root / "processed")
    return root / "raw", root / "processed", truth


@pytest.fixture
def raw(base, tmp_path):
    """A fresh copy of the demo raw set to plant a mistake in."""
    dest = tmp_path / "raw"
    shutil.copytree(base[0], dest)
    return dest


def _intake(raw: Path, out: Path, ack: str | Path = NO_ACKS):
    report = intake.run_intake(raw, out)
    return report, gate.evaluate(out, ack_path=ack, raw_dir=raw)


def _errors(verdict, kind):
    return [f for f in verdict.open_errors if f.kind == kind]


def _rows(out: Path, table: str) -> int:
    return len(pd.read_parquet(out / f"{table}.parquet"))


def _accepted(processed: Path, file: str) -> int:
    rec = pd.read_csv(processed / "reconciliation.csv")
    return int(rec.loc[rec["file"] == file, "accepted"].sum())


# ---------------------------------------------------------------------------------------------------------------------
def test_clean_demo_set_passes_the_gate(base):
    verdict = gate.evaluate(base[1], ack_path=NO_ACKS, raw_dir=base[0])
    assert verdict.passed and verdict.open_errors == []
    assert [f for f in verdict.findings if f.severity == gate.ERROR] == []
    status = gate.book_status(base[1], ack_path=NO_ACKS)
    assert status["draft"] is False and status["banner"] == ""


def test_password_protected_roster_stops_the_build(raw, tmp_path):
    (raw / "asiakkaat" / "asiakkaat_pori.xlsx").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)
    _, verdict = _intake(raw, tmp_path / "out")
    assert not verdict.passed
    [unreadable] = _errors(verdict, "unreadable_file")
    assert unreadable.file == "asiakkaat/asiakkaat_pori.xlsx" and unreadable.rows is None
    assert "salasanalla suojattu" in unreadable.found and "poista salasanasuojaus" in unreadable.action
    # the consequence: thousands of unknown_client rows -> the pilot cannot be linked
    [pilot] = _errors(verdict, "unlinkable_pilot")
    assert "Pori" in pilot.found and "unknown_client" in pilot.found and "asiakkaat/" in pilot.action
    assert pilot.rows > 50
    summary = verdict.summary()
    assert "asiakkaat/asiakkaat_pori.xlsx" in summary and "Raporttia ei koottu" in summary
    assert "Mitä tehdä:" in summary


def test_a_single_unknown_client_is_only_a_warning(raw, tmp_path):
    wb = openpyxl.load_workbook(raw / "palvelut" / "palvelut_pori.xlsx")
    ws = wb.active
    ws.cell(row=2, column=1, value="419999")
    wb.save(raw / "palvelut" / "palvelut_pori.xlsx")
    _, verdict = _intake(raw, tmp_path / "out")
    assert verdict.passed
    assert [f.id for f in verdict.warnings if f.kind == "rejected_rows"] == ["rejected_rows:palvelut:unknown_client"]


def test_instructions_sheet_in_front_does_not_drop_the_workbook(raw, base, tmp_path):
    path = raw / "palvelut" / "palvelut_pori.xlsx"
    wb = openpyxl.load_workbook(path)
    ws = wb.create_sheet("Ohjeet", 0)
    ws.append(["Täytä palvelutiedot välilehdelle Palvelut."])
    wb.save(path)
    out = tmp_path / "out"
    report, verdict = _intake(raw, out)
    assert verdict.passed
    assert _rows(out, "services") == _rows(base[1], "services")
    rec = report.reconciliation.set_index("file").loc["palvelut/palvelut_pori.xlsx"]
    assert rec["sheet"] == "Palvelut" and rec["accepted"] == _accepted(base[1], "palvelut/palvelut_pori.xlsx") > 0
    kinds = {(f.kind, f.sheet, f.severity) for f in verdict.findings if f.file == "palvelut/palvelut_pori.xlsx"}
    assert kinds == {("data_sheet_elsewhere", "Palvelut", "info"), ("other_sheet_not_read", "Ohjeet", "info")}


def test_every_sheet_holding_the_form_is_read_and_a_copied_sheet_counted_once(raw, base, tmp_path):
    path = raw / "kykyviisari" / "kykyviisari_tampere.xlsx"
    wb = openpyxl.load_workbook(path)
    rows = [[c.value for c in r] for r in wb.active.iter_rows()]
    more = wb.create_sheet("Vastaukset 2019")
    more.append(rows[0])
    new = list(rows[1])
    new[2] = "väli"
    more.append(new)  # a new row on a second data sheet: read, not lost
    copy = wb.create_sheet("Kopio")
    for r in rows:  # a copy of the whole data sheet: counted once
        copy.append(r)
    notes = wb.create_sheet("Muistiinpanot")
    for r in (["Asiakas", "Huom", "Pvm", "Kuka"], ["a", "b", "c", "d"]):  # a table intake cannot read
        notes.append(r)
    wb.save(path)
    out = tmp_path / "out"
    _, verdict = _intake(raw, out)
    assert _rows(out, "kykyviisari") == _rows(base[1], "kykyviisari") + 1
    [dup] = _errors(verdict, "duplicate_file")
    assert (dup.file, dup.sheet) == ("kykyviisari/kykyviisari_tampere.xlsx", "Kopio")
    assert dup.rows == len(rows) - 1
    [w] = [f for f in verdict.warnings if f.kind == "other_sheet_not_read"]
    assert w.sheet == "Muistiinpanot" and w.rows == 2


def test_data_sheet_not_found_names_the_sheets(raw, tmp_path):
    path = raw / "budjetti" / "budjetti_pori.xlsx"
    wb = openpyxl.load_workbook(path)
    del wb["Maksusitoumukset"]
    wb.save(path)
    _, verdict = _intake(raw, tmp_path / "out")
    [f] = _errors(verdict, "sheet_not_found")
    assert f.file == "budjetti/budjetti_pori.xlsx" and f.sheet == "Maksusitoumukset"
    assert "välilehteä 'Maksusitoumukset' ei löydy" in f.found and "'Budjetit'" in f.found
    assert "Nimeä tietovälilehti" in f.action


def test_renamed_data_sheet_is_found_by_its_headers(raw, base, tmp_path):
    path = raw / "budjetti" / "budjetti_pori.xlsx"
    wb = openpyxl.load_workbook(path)
    wb["Maksusitoumukset"].title = "Taul2"
    wb.save(path)
    out = tmp_path / "out"
    _, verdict = _intake(raw, out)
    assert verdict.passed
    assert _rows(out, "budget_use") == _rows(base[1], "budget_use")
    [w] = [f for f in verdict.warnings if f.kind == "data_sheet_elsewhere"]
    assert w.sheet == "Taul2" and "Maksusitoumukset" in w.action


def test_same_file_saved_twice_is_counted_once(raw, base, tmp_path):
    src = raw / "kykyviisari" / "kykyviisari_pori.xlsx"
    shutil.copy(src, src.with_name("kykyviisari_pori (2).xlsx"))
    out = tmp_path / "out"
    report, verdict = _intake(raw, out)
    assert _rows(out, "kykyviisari") == _rows(base[1], "kykyviisari")  # not doubled
    [f] = _errors(verdict, "duplicate_file")
    assert {f.file, f.detail.removeprefix("= ")} == {"kykyviisari/kykyviisari_pori.xlsx",
                                                     "kykyviisari/kykyviisari_pori (2).xlsx"}
    assert "tavu tavulta samat" in f.found and "Säilytä vain yksi tiedosto" in f.action
    q = report.quarantine
    assert (q["reason"] == "duplicate_across_files").sum() == f.rows == _accepted(base[1], src.relative_to(raw).as_posix())
    assert "Ei hylättyjä rivejä" not in report.summary()


def test_updated_version_next_to_the_old_one_is_counted_once(raw, base, tmp_path):
    src = raw / "palvelut" / "palvelut_pori.xlsx"
    wb = openpyxl.load_workbook(src)
    ws = wb.active
    last = [c.value for c in ws[ws.max_row]]
    ws.append(last[:3] + [99] + last[4:])  # one new row in the updated version
    wb.save(src.with_name("palvelut_pori_paivitetty_2019-04.xlsx"))
    out = tmp_path / "out"
    _, verdict = _intake(raw, out)
    assert _rows(out, "services") == _rows(base[1], "services") + 1
    [f] = _errors(verdict, "duplicate_file")
    assert f.file == "palvelut/palvelut_pori_paivitetty_2019-04.xlsx"
    assert "päivitetty versio" in f.found and f.rows == _accepted(base[1], "palvelut/palvelut_pori.xlsx")


def test_rows_repeated_across_files_are_counted_once(raw, base, tmp_path):
    src = raw / "kykyviisari" / "kykyviisari_tampere.xlsx"
    wb = openpyxl.load_workbook(src)
    ws = wb.active
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    extra = openpyxl.Workbook()
    extra.active.title = "Vastaukset"
    for r in rows[:6]:  # header + 5 rows also in the original
        extra.active.append(r)
    new = list(rows[1])
    new[2] = "väli"  # plus one row that is new
    extra.active.append(new)
    extra.save(raw / "kykyviisari" / "kykyviisari_tampere_lisays.xlsx")
    out = tmp_path / "out"
    _, verdict = _intake(raw, out)
    assert _rows(out, "kykyviisari") == _rows(base[1], "kykyviisari") + 1
    [f] = _errors(verdict, "duplicate_rows_across_files")
    assert f.file == "kykyviisari/kykyviisari_tampere_lisays.xlsx" and f.rows == 5 and f.row == 2
    assert "kykyviisari/kykyviisari_tampere.xlsx" in f.found and "poista päällekkäiset rivit" in f.action


def test_files_at_the_root_and_in_an_unknown_folder(raw, tmp_path):
    shutil.copy(raw / "kykyviisari" / "kykyviisari_pori.xlsx", raw / "kykyviisari_pori.xlsx")
    (raw / "Kykyviisari 2019").mkdir()
    shutil.move(raw / "kykyviisari" / "kykyviisari_eksote.xlsx", raw / "Kykyviisari 2019" / "kykyviisari_eksote.xlsx")
    out = tmp_path / "out"
    _, verdict = _intake(raw, out)
    found = {f.file: f for f in _errors(verdict, "file_outside_folders")}
    assert set(found) == {"kykyviisari_pori.xlsx", "Kykyviisari 2019/kykyviisari_eksote.xlsx"}
    assert "raakakansion juuressa" in found["kykyviisari_pori.xlsx"].found
    assert "Kykyviisari 2019/" in found["Kykyviisari 2019/kykyviisari_eksote.xlsx"].found
    for f in found.values():
        assert "Siirrä tiedosto kansioon kykyviisari/" in f.action and f.rows > 0
    # the data-quality page counts the files that were not read, without file names
    page = bookpages.data_quality_page(out, tmp_path / "book", gate.book_status(out, ack_path=NO_ACKS))
    assert "## Lukematta jääneet tiedostot" in page and "Kykyviisari 2019" not in page
    assert "täsmäytys ei kata koko aineistoa" in page


def test_form_saved_in_the_wrong_folder_says_where_it_belongs(raw, tmp_path):
    form = sorted((raw / "tyoaika").glob("*.xlsx"))[0]
    shutil.move(form, raw / "asiakaskulut" / form.name)
    _, verdict = _intake(raw, tmp_path / "out")
    [f] = _errors(verdict, "misplaced_form")
    assert f.file == f"asiakaskulut/{form.name}" and f.sheet == "Työaika"
    assert "työajanseuranta (LIITE 3.1)" in f.found
    assert f.action.startswith("Siirrä tiedosto kansioon tyoaika/")


def test_old_xls_file_is_not_ignored_silently(raw, tmp_path):
    (raw / "kykyviisari" / "kykyviisari_vanha.xls").write_bytes(b"\xd0\xcf\x11\xe0" + b"\0" * 100)
    _, verdict = _intake(raw, tmp_path / "out")
    [f] = _errors(verdict, "unsupported_file")
    assert f.file == "kykyviisari/kykyviisari_vanha.xls" and ".xlsx" in f.action


def test_merged_cells_are_named(raw, tmp_path):
    path = raw / "asiakkaat" / "asiakkaat_pori.xlsx"
    wb = openpyxl.load_workbook(path)
    ws = wb.active
    ws.merge_cells("B6:B8")  # 'Ryhmä' of three clients (header on row 4)
    ws.merge_cells("A1:I1")  # a title above the table: harmless
    wb.save(path)
    _, verdict = _intake(raw, tmp_path / "out")
    [f] = _errors(verdict, "merged_cells")
    assert (f.file, f.sheet, f.detail, f.column, f.row) == ("asiakkaat/asiakkaat_pori.xlsx", "Asiakkaat", "B6:B8",
                                                            "Ryhmä", 6)
    assert "B6:B8" in f.found and "Ryhmä" in f.found and "Pura solujen yhdistäminen" in f.action


def _set_cell(path: Path, row: int, col: int, value):
    wb = openpyxl.load_workbook(path)
    wb.active.cell(row=row, column=col, value=value)
    wb.save(path)


def test_client_number_typo_hitting_another_client_gives_a_second_baseline(raw, tmp_path):
    path = raw / "kykyviisari" / "kykyviisari_pori.xlsx"
    rows = list(openpyxl.load_workbook(path).active.iter_rows(values_only=True))
    alku = [(i + 1, r[0]) for i, r in enumerate(rows) if r[2] == "alku"]
    (row_a, _), (_, other) = alku[0], alku[1]
    _set_cell(path, row_a, 1, other)  # the typo equals another real client
    _, verdict = _intake(raw, tmp_path / "out")
    [f] = _errors(verdict, "second_baseline")
    assert f.file == "kykyviisari/kykyviisari_pori.xlsx" and f.column == "Mittauskerta"
    assert f.row in (row_a, alku[1][0]) and "alkumittaus" in f.found and "näppäilyvirhe" in f.found
    assert str(other) not in f.id  # ids never hold client numbers


def test_client_of_another_pilot_in_a_pilots_file(raw, tmp_path):
    roster = list(openpyxl.load_workbook(raw / "asiakkaat" / "asiakkaat_eksote.xlsx").active.iter_rows(values_only=True))
    eksote_client = next(str(r[0]) for r in roster if r[0] and str(r[0]).isdigit() and str(r[0])[0] == "1")
    _set_cell(raw / "palvelut" / "palvelut_pori.xlsx", 2, 1, eksote_client)
    # and a control client's number on the HB form of the client survey
    survey = raw / "asiakaskysely" / "asiakaskysely.xlsx"
    wb = openpyxl.load_workbook(survey)
    controls = [str(r[0]) for r in roster if r[1] and str(r[1]).casefold() == "verrokki" and r[4] == "kyllä"]
    hb = wb["HB"]
    col = next(c.column for c in hb[1] if str(c.value).startswith("1.1"))
    hb.cell(row=2, column=col, value=controls[0])
    wb.save(survey)
    _, verdict = _intake(raw, tmp_path / "out")
    found = {f.file: f for f in _errors(verdict, "client_profile_conflict")}
    assert set(found) == {"palvelut/palvelut_pori.xlsx", "asiakaskysely/asiakaskysely.xlsx"}
    f = found["palvelut/palvelut_pori.xlsx"]
    assert f.row == 2 and f.column == "Asiakasnumero"
    assert "Eksote" in f.found and "Pori" in f.found and "Korjaa numerot" in f.action
    f = found["asiakaskysely/asiakaskysely.xlsx"]
    assert f.sheet == "HB" and f.row == 2 and "HB-lomakkeella" in f.found and "verrokki" in f.found


def test_roster_row_with_a_second_profile(raw, tmp_path):
    path = raw / "asiakkaat" / "asiakkaat_pori.xlsx"
    wb = openpyxl.load_workbook(path)
    ws = wb.active
    first = [c.value for c in ws[5]]
    ws.append([first[0], "verrokki" if str(first[1]).casefold() == "hb" else "HB", *first[2:]])
    wb.save(path)
    _, verdict = _intake(raw, tmp_path / "out")
    [f] = _errors(verdict, "client_profile_conflict")
    assert f.file == "asiakkaat/asiakkaat_pori.xlsx" and f.row == ws.max_row
    assert "rivi 5" in f.found and "eri tiedoin" in f.found


def test_sharp_drop_against_the_last_successful_build_and_its_acknowledgement(raw, tmp_path):
    out = tmp_path / "out"
    _, verdict = _intake(raw, out)
    assert verdict.passed
    gate.record_success(out, raw)
    (raw / "palvelut" / "palvelut_pori.xlsx").unlink()
    _, verdict = _intake(raw, out)
    [f] = _errors(verdict, "count_drop")
    assert f.id == "count_drop:services:pori" and "edellisellä onnistuneella koonnilla" in f.found
    assert "Pori" in f.found
    ack = tmp_path / "kuitatut.yml"
    ack.write_text("acknowledged:\n  - kind: count_drop\n    file: services\n"
                   "    reason: Porin palvelutiedot poistettiin tarkoituksella.\n    by: Testaaja\n", encoding="utf-8")
    verdict = gate.evaluate(out, ack_path=ack, raw_dir=raw)
    assert verdict.passed and [a.id for a in verdict.acknowledged] == ["count_drop:services:pori"]
    gate.record_success(out, raw)  # the drop stays visible (and acknowledged) for this data
    assert [a.id for a in gate.evaluate(out, ack_path=ack, raw_dir=raw).acknowledged] == ["count_drop:services:pori"]


def test_acknowledged_error_lets_the_build_go_on_and_is_listed(raw, tmp_path):
    src = raw / "kykyviisari" / "kykyviisari_pori.xlsx"
    shutil.copy(src, src.with_name("kykyviisari_pori (2).xlsx"))
    out = tmp_path / "out"
    _, verdict = _intake(raw, out)
    [f] = verdict.open_errors
    with pytest.raises(gate.GateError) as exc:
        intake.check_build(raw, out, ack_path=NO_ACKS)
    assert f.id in str(exc.value) and "hbeval build --draft" in str(exc.value)
    ack = tmp_path / "kuitatut.yml"
    ack.write_text(f"acknowledged:\n  - id: {json.dumps(f.short)}\n    reason: Kopio tarkistettu; rivit laskettu kerran.\n"
                   "  - id: unreadable_file:x.xlsx\n    reason: vanha\n  - id: no_reason:x\n", encoding="utf-8")
    verdict = intake.check_build(raw, out, ack_path=ack)
    assert verdict.passed and [a.id for a in verdict.acknowledged] == [f.id]
    kinds = {w.kind for w in verdict.warnings}
    assert {"unused_acknowledgement", "invalid_acknowledgement"} <= kinds
    status = gate.book_status(out)  # the list check_build used
    assert status["draft"] is False and status["acknowledged"][0]["reason"].startswith("Kopio tarkistettu")
    front = bookpages.front_page_status(status)
    assert "1 kuitattu havainto" in front and "Kopio tarkistettu" in front and "Sama tiedosto kahdesti" in front
    page = bookpages.data_quality_page(out, tmp_path / "book", status)
    assert "## Kuitatut havainnot" in page and "Kopio tarkistettu" in page
    assert "kykyviisari_pori" not in page and "kykyviisari_pori" not in front  # no file names published


def test_draft_builds_anyway_with_the_banner(raw, tmp_path):
    (raw / "kykyviisari" / "kykyviisari_pori.xlsx").write_bytes(b"")
    out = tmp_path / "out"
    verdict = intake.check_build(raw, out, draft=True, ack_path=NO_ACKS)
    assert not verdict.passed
    book = tmp_path / "book"
    bookpages.write_pages(book, out, raw)
    info = json.loads((book / "_generated" / "build.json").read_text(encoding="utf-8"))
    assert info["draft"] is True and info["draft_banner"].startswith("LUONNOS")
    assert info["demo"] is True and info["banner"] == bookpages.DEMO_BANNER  # the demo banner stays
    assert "**Luonnos: aineistossa on 1 korjaamaton virhe**" in info["front"]
    page = (book / "_generated" / "aineisto.md").read_text(encoding="utf-8")
    assert "**Luonnos.**" in page and "## Korjaamattomat virheet" in page
    # an unreadable file is a file whose rows are unknown, not "1 row"
    assert "| kykyviisari | unreadable_file |" not in page
    assert "tuntematon" in page


def test_draft_banner_and_front_page_in_a_built_book(tmp_path):
    """The extension itself: a two-page book with a draft build.json gets both banners on every page and the
    status under the front page's title."""
    book = tmp_path / "book"
    (book / "_generated").mkdir(parents=True)
    shutil.copytree(REPO_ROOT / "book" / "_ext", book / "_ext")
    (book / "_config.yml").write_text(
        "title: t\nonly_build_toc_files: true\nexecute:\n  execute_notebooks: 'off'\n"
        "parse:\n  myst_enable_extensions: [colon_fence]\n"
        "sphinx:\n  local_extensions:\n    hbeval_banner: _ext\n  config:\n    language: fi\n", encoding="utf-8")
    (book / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n  - file: _generated/aineisto\n",
                                   encoding="utf-8")
    (book / "intro.md").write_text("# Etusivu\n\nTeksti.\n", encoding="utf-8")
    (book / "_generated" / "aineisto.md").write_text("# Aineisto\n\nSivu.\n", encoding="utf-8")
    status = {"open_errors": [{"title": "Lukukelvoton tiedosto tai välilehti", "instrument": "Kykyviisari",
                               "rows": None}], "acknowledged": []}
    (book / "_generated" / "build.json").write_text(json.dumps(
        {"demo": True, "banner": bookpages.DEMO_BANNER, "draft": True, "draft_banner": gate.DRAFT_BANNER,
         "front": bookpages.front_page_status(status)}, ensure_ascii=False), encoding="utf-8")
    exe = Path(sys.executable).with_name("jupyter-book")
    proc = subprocess.run([str(exe), "build", str(book), "-W"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for page in ("intro.html", "_generated/aineisto.html"):
        html = (book / "_build" / "html" / page).read_text(encoding="utf-8")
        assert gate.DRAFT_BANNER in html and bookpages.DEMO_BANNER in html, page
    front = (book / "_build" / "html" / "intro.html").read_text(encoding="utf-8")
    assert "1 korjaamaton virhe" in front and front.index("Etusivu") < front.index("1 korjaamaton virhe")


def test_intake_cli_exits_nonzero_with_a_finnish_summary(raw, tmp_path, capsys):
    (raw / "asiakkaat" / "asiakkaat_pori.xlsx").write_bytes(b"not a workbook")
    ns = argparse.Namespace(raw=raw, out=tmp_path / "out", config=None, strict=False, no_progress=True,
                            acknowledgements=Path(NO_ACKS))
    assert intake.run_cli(ns) == 1
    out = capsys.readouterr().out
    assert "VIRHE [unreadable_file:asiakkaat/asiakkaat_pori.xlsx]" in out and "Mitä tehdä:" in out


def test_the_independent_samples_and_the_gate(samples_dir, samples_processed, tmp_path):
    """The samples' planted faults (FAULTS.md) are single invalid rows, rejected and counted. Most are warnings;
    the two budget rows of a control client (client_not_hb -> group_mismatch) use a client number with another
    client profile: an error, until acknowledged (as tests/test_book_samples.py does)."""
    verdict = gate.evaluate(samples_processed, ack_path=NO_ACKS, raw_dir=samples_dir / "raw")
    [f] = verdict.open_errors
    assert (f.kind, f.file, f.sheet, f.rows, f.row) == ("client_profile_conflict", "budjetti/budjetti_pori.xlsx",
                                                        "Maksusitoumukset", 2, 26)
    kinds = {(w.instrument, w.detail) for w in verdict.warnings if w.kind == "rejected_rows"}
    assert ("kykyviisari", "unknown_client") in kinds and ("tyoaika", "conflicting_marks") in kinds
    verdict = gate.evaluate(samples_processed, ack_path=SAMPLES_ACK, raw_dir=samples_dir / "raw")
    assert verdict.passed and [a.id for a in verdict.acknowledged] == [f.id]


def test_repository_acknowledgement_list_is_valid():
    acks, bad = gate.load_acknowledgements(gate.DEFAULT_ACKNOWLEDGEMENTS)
    assert gate.DEFAULT_ACKNOWLEDGEMENTS.exists() and bad == []


def test_build_stops_at_the_gate_before_any_notebook_runs(raw, tmp_path):
    from hbeval_lib.book import run as pipeline

    (raw / "asiakkaat" / "asiakkaat_pori.xlsx").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)
    book = tmp_path / "book"
    with pytest.raises(gate.GateError) as exc:
        pipeline.build(raw, jobs=1, book_dir=book, processed_dir=tmp_path / "out", progress=False,
                       acknowledgements=NO_ACKS)
    assert "asiakkaat/asiakkaat_pori.xlsx" in str(exc.value) and "Raporttia ei koottu" in str(exc.value)
    assert not list(book.glob("**/*.ipynb"))  # stopped before the notebooks
