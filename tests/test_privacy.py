"""Text scrubbing, identifier collection from raw files, and ``hbeval check-privacy`` on small fake builds."""

from __future__ import annotations

import json

import openpyxl
import pytest

from hbeval_lib.cli import main
from hbeval_lib.intake.identifiers import (approved_quotes, collect_identifiers, collect_identifiers_by_kind,
                                           normalise_client_number, scrub_text)
from hbeval_lib.release.privacy import Finding, check_privacy, mask


# -- scrubbing ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("Tapasin Anna Heinosen kotona.", "Tapasin [nimi] kotona."),
    ("Matti Virtanen soitti.", "[nimi] soitti."),
    ("– sanoi Hilja Honkaniemi tapaamisessa.", "– sanoi [nimi] tapaamisessa."),
    ("Soita 040 123 4567 tai 050-1234567.", "Soita [puhelin] tai [puhelin]."),
    ("Numero +358 40 765 4321 toimii.", "Numero [puhelin] toimii."),
    ("Lankapuhelin (09) 310 1691 ja 03 621 2000.", "Lankapuhelin [puhelin] ja [puhelin]."),
    ("Posti: etunimi.sukunimi@kunta.fi.", "Posti: [sähköposti]."),
    ("Asuu osoitteessa Koulukatu 15 B 12 Porissa.", "Asuu osoitteessa [osoite] Porissa."),
    ("Matka Vaahterakuja 7 B 12 - Sepänpolku 3 ja takaisin", "Matka [osoite] - [osoite] ja takaisin"),
    ("Kävelimme Rantaraitti 3:lle ja Kirkkorinne 7 as. 4:ään.", "Kävelimme [osoite]:lle ja [osoite]:ään."),
])
def test_scrub_text(text, expected):
    assert scrub_text(text) == expected


def test_scrub_keeps_ordinary_text_and_numbers():
    text = ("Budjetista oli käytetty 35 prosenttia 12.3.2018 mennessä; asiakkaita oli 120 ja "
            "Anna palautetta -lomake jaettiin. Toimipiste Hopeaharju vastasi.")
    assert scrub_text(text) == text


def test_scrub_extra_names_and_surnames_alone():
    out = scrub_text("Ritva-Liisa Kettunen kertoi, että Kettusen avustaja auttoi.", ["Ritva-Liisa Kettunen"])
    assert out == "[nimi] kertoi, että [nimi] avustaja auttoi."


def test_only_tagged_paragraphs_are_quoted_and_scrubbed():
    md = ("---\npilotti: Pori\nlaji: asiakas\n---\n\n## 1.2.2018\n\n### Havainnot\n\n"
          "Tämä ei ole lainaus. #tarpeet\n\n"
          "Urho Kivelä sanoi, että budjetti auttoi, soita 040 111 2222. #lainaus #edistaa\n")
    assert approved_quotes(md) == ["[nimi] sanoi, että budjetti auttoi, soita [puhelin]."]


# -- identifiers -------------------------------------------------------------------------------------------------------

def test_normalise_client_number():
    assert normalise_client_number("201 003") == "201003"
    assert normalise_client_number(201003.0) == "201003"
    assert normalise_client_number(201003) == "201003"
    assert normalise_client_number("xxxxx1") is None and normalise_client_number(12345) is None


def _fake_raw(tmp_path):
    raw = tmp_path / "raw"
    (raw / "asiakaskulut").mkdir(parents=True)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Asiakkaan aika ja matkakustannukset"])
    ws.append([])
    ws.append(["Nimi", None, "Kaarina Testinen"])                 # value two cells to the right
    ws.append(["Asiakasnumero:", "420 517"])
    ws.append(["Päivämäärä", "Selite (mitä tehtiin)", "Aika tuntia 5", "Matkan selite", "Matkan pituus (km)"])
    ws.append(["1.2.2018", "Palaveri", 1, "Koivukuja 3 A 2 - Torikatu 9 ja takaisin / bussi", 12])
    wb.save(raw / "asiakaskulut" / "asiakaskulut_420517.xlsx")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["HB-avustajan nimi:", "Oiva Kokeilija"])
    ws.append(["HB-avustajan työnantaja ja yhteystiedot 2", "Pajula Oy, Sammalkuja 8, puh. 041 458 7080"])
    ws.append(["Avustettavan asiakasnumero 1", 420517.0])
    (raw / "avustajakulut").mkdir()
    wb.save(raw / "avustajakulut" / "a.xlsx")
    (raw / "asiakkaat").mkdir()
    (raw / "asiakkaat" / "asiakkaat.csv").write_text(
        "Asiakasnumero;Ryhmä;Suostumus\n420517;HB;kyllä\n610203;verrokki;kyllä\n", encoding="cp1252")
    (raw / "paivakirjat").mkdir()
    (raw / "paivakirjat" / "p.md").write_text("---\npilotti: Pori\n---\n\nSoitin numeroon 044 987 6543.\n",
                                              encoding="utf-8")
    return raw


def test_collect_identifiers_from_fake_raw(tmp_path):
    ids = collect_identifiers(_fake_raw(tmp_path))
    assert {"420517", "610203", "Kaarina Testinen", "Koivukuja 3 A 2", "Torikatu 9", "044 987 6543",
            "Koivukuja 3 A 2 - Torikatu 9 ja takaisin / bussi", "Oiva Kokeilija", "Pajula Oy", "Sammalkuja 8",
            "041 458 7080", "Pajula Oy, Sammalkuja 8, puh. 041 458 7080"} <= ids
    assert "Palaveri" not in ids and "1.2.2018" not in ids


def test_collect_identifiers_covers_every_identifier_in_the_samples(samples_dir, samples_truth):
    kinds = collect_identifiers_by_kind(samples_dir / "raw")
    ids = collect_identifiers(samples_dir / "raw")
    wanted = {s for s in samples_truth["identifiers"] if len(s) >= 6}
    assert wanted - ids == set()
    # every roster client has a number in the roster files (the total is planted in truth.json)
    assert len(kinds["client_numbers"]) >= samples_truth["roster"]["total"] and all(len(c) == 6 for c in kinds["client_numbers"])


def test_collect_identifiers_covers_the_demo_truth(demo_raw):
    raw, truth = demo_raw
    planted = truth.get("identifiers") or []
    if isinstance(planted, dict):
        planted = [x for v in planted.values() for x in v]
    assert planted, "the demo generator records its identifiers in truth.json"
    ids = collect_identifiers(raw)
    assert {s for s in planted if len(s) >= 6} - ids == set()


# -- check-privacy -----------------------------------------------------------------------------------------------------

def _fake_build(tmp_path, leak: bool):
    build = tmp_path / "build"
    (build / "html" / "_static").mkdir(parents=True)
    (build / "loppuraportti" / "costs").mkdir(parents=True)
    body = "<p>Asiakkaita 12, keskiarvo 0.420517 ja 4205170 euroa.</p>"      # no whole-token client number
    if leak:
        body += "<td>Kaarina&nbsp;Testinen</td><td>420517</td>"
    (build / "html" / "index.html").write_text(f"<html><body>{body}</body></html>", encoding="utf-8")
    (build / "html" / "_static" / "vendor.js").write_text("var x = '610203';", encoding="utf-8")  # vendor: skipped
    nb = {"cells": [{"cell_type": "code", "source": ["print(n)\n"], "outputs": [
        {"output_type": "display_data", "data": {"image/png": "AAAA610203AAAA", "text/plain": ["<Figure>"]}}]}],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (build / "loppuraportti" / "costs" / "kaikki.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    rows = ["strand,phase,pilot,key,label,estimate,ci_low,ci_high,n,p_value,suppressed",
            "costs,loppuraportti,kaikki,cost.hb,Kustannus,100,90,110,40,,False"]
    if leak:
        rows.append("costs,loppuraportti,kaikki,cost.verrokki,Kustannus,120,80,160,4,,False")
    (build / "loppuraportti" / "costs" / "kaikki.results.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return build


def test_check_privacy_clean_build(tmp_path):
    raw = _fake_raw(tmp_path)
    assert check_privacy(_fake_build(tmp_path, leak=False), raw) == []


def test_check_privacy_finds_identifier_client_number_and_small_cell(tmp_path):
    raw = _fake_raw(tmp_path)
    findings = check_privacy(_fake_build(tmp_path, leak=True), raw)
    got = {(f.file.name, f.kind, f.string) for f in findings}
    assert got == {("index.html", "identifier", "Kaarina Testinen"), ("index.html", "client_number", "420517"),
                   ("kaikki.results.csv", "small_cell", "cost.verrokki")}


def test_cli_exit_codes_and_masked_output(tmp_path, capsys):
    raw = _fake_raw(tmp_path)
    build = _fake_build(tmp_path, leak=True)
    assert main(["check-privacy", str(build), "--raw", str(raw)]) == 1
    out = capsys.readouterr().out
    assert "index.html" in out and "Ka************en" in out and "4****7" in out
    assert "Kaarina Testinen" not in out and "420517" not in out
    clean = _fake_build(tmp_path / "c", leak=False)
    assert main(["check-privacy", str(clean), "--raw", str(raw)]) == 0
    assert main(["check-privacy", str(tmp_path / "nowhere"), "--raw", str(raw)]) == 2
    with pytest.raises(SystemExit) as exc:
        main(["check-privacy"])
    assert exc.value.code == 2


def test_mask():
    assert mask("110201") == "1****1"
    assert mask("Aili Sarvela") == "Ai********la"
    assert Finding(file=__import__("pathlib").Path("a.html"), string="110201", kind="client_number").masked() \
        == "a.html: client_number: 1****1"
