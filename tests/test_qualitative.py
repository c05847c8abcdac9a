"""Parsing of the qualitative Markdown material (data contract §3.13), the tag codebook and code counts.

The independent sample set (../shared/samples, written by another generator) gives the expected counts per
instrument in truth.json; malformed files are written here to check they are reported, not silently dropped.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from hbeval_lib.config import load_config
from hbeval_lib.intake.markdown import QUOTE_TAG, codebook, normalise_tag, parse_markdown, read_markdown_instrument
from hbeval_lib.strands.services.qualitative import REDACTED_RULE, approved_quotes, code_frequencies, stage_change
from hbeval_lib.core.schema import TABLES

CFG = load_config()


@pytest.mark.parametrize("instrument", ["paivakirjat", "tyopajat"])
def test_samples_counts_match_truth(samples_dir, samples_truth, instrument):
    truth = samples_truth["instruments"][instrument]
    folder = samples_dir / "raw" / instrument
    rows, recon, problems = read_markdown_instrument(folder, instrument, CFG)

    assert list(rows.columns) == list(TABLES["qualitative"])
    assert len(recon) == truth["files"]
    assert sorted(f"raw/{r['file']}" for r in recon) == sorted(truth["file_list"])
    assert len(rows) == truth["paragraphs"]
    assert sum(r["read"] for r in recon) == truth["paragraphs"]
    assert all(r["accepted"] + r["rejected"] + r["skipped"] == r["read"] for r in recon)
    assert (rows["tags"].str.len() > 0).sum() == truth["coded_paragraphs"]
    assert int(rows["quote_approved"].sum()) == truth["lainaus"]
    tags = Counter(t for s in rows["tags"] for t in s.split())
    assert dict(tags) == truth["tags"]
    assert QUOTE_TAG not in tags
    entries = sum(parse_markdown((folder / Path(r["file"]).name).read_text(encoding="utf-8")).entries
                  for r in recon)
    assert entries == truth["entries"]
    # the sample material uses only codebook tags and complete front matter
    assert problems == []
    # every row has a pilot key, an informant kind, a stage and a document date (phase cut-off)
    assert rows["pilot"].isin([p.key for p in CFG.pilots]).all()
    assert rows["stage"].isin(["lahtotilanne", "vali", "loppu"]).all()
    assert rows["doc_date"].notna().all()
    # doc_id numbers files in name order
    assert rows.groupby("doc_id")["source"].size().index.tolist() == list(range(1, truth["files"] + 1))


def test_sample_code_frequencies_equal_tag_counts(samples_dir, samples_truth):
    rows, _, _ = read_markdown_instrument(samples_dir / "raw" / "tyopajat", "tyopajat", CFG)
    freq = code_frequencies(rows, codes=codebook(CFG))
    assert freq["n"].to_dict() == {k: samples_truth["instruments"]["tyopajat"]["tags"].get(k, 0)
                                   for k in codebook(CFG)}
    by_stage = code_frequencies(rows, by="stage", codes=codebook(CFG))
    assert by_stage.sum(axis=1).to_dict() == freq["n"].to_dict()


DIARY = """---
pilotti: Hämeenlinna
laji: työntekijä
vaihe: lähtötilanne
pvm: 15.10.2017
---

# Päiväkirja

## 2.10.2017

### Havainnot

Ensimmäinen kappale. #Tarpeet #lainaus

Toinen kappale
jatkuu toisella rivillä. #saatavuus #tuntematon

### Ajatukset

Kolmas kappale ilman koodia, vaikka siinä on #hashtag keskellä tekstiä.

#avustaja

## 9.10.2017

### Havainnot

Neljäs kappale. #itsemääräaminen
"""


def test_parse_diary_structure():
    doc = parse_markdown(DIARY)
    assert doc.front_matter["pilotti"] == "Hämeenlinna"
    assert doc.entries == 2
    texts = [p["text"] for p in doc.paragraphs]
    assert len(texts) == 4
    assert texts[1] == "Toinen kappale jatkuu toisella rivillä."
    assert doc.paragraphs[0]["tags"] == ["tarpeet", "lainaus"]
    # a tag line after a blank line belongs to the preceding paragraph; a mid-text #word is text
    assert doc.paragraphs[2]["tags"] == ["avustaja"]
    assert "#hashtag" in texts[2]
    assert doc.paragraphs[2]["section"] == "Ajatukset"
    assert str(doc.paragraphs[3]["entry_date"]) == "2017-10-09"
    # Finnish letters in a tag are folded to the codebook's ASCII spelling
    assert doc.paragraphs[3]["tags"] == ["itsemaaraaminen"]
    assert doc.paragraphs[0]["line"] == 14


def _write(folder: Path, name: str, text: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")


def test_malformed_files_are_reported(tmp_path):
    folder = tmp_path / "paivakirjat"
    _write(folder, "a_ok.md", DIARY)
    _write(folder, "b_no_front_matter.md", "# Päiväkirja\n\n## 1.2.2018\n\nKappale. #tarpeet\n\nToinen.\n")
    _write(folder, "c_unknown_pilot.md", DIARY.replace("Hämeenlinna", "Atlantis"))
    _write(folder, "d_missing_vaihe.md", DIARY.replace("vaihe: lähtötilanne\n", ""))
    _write(folder, "~$lock.md", "garbage")
    _write(folder, ".hidden.md", "garbage")
    rows, recon, problems = read_markdown_instrument(folder, "paivakirjat", CFG)

    assert [r["file"] for r in recon] == ["paivakirjat/a_ok.md", "paivakirjat/b_no_front_matter.md",
                                          "paivakirjat/c_unknown_pilot.md", "paivakirjat/d_missing_vaihe.md"]
    by_file = {r["file"]: r for r in recon}
    assert by_file["paivakirjat/a_ok.md"]["accepted"] == 4
    assert by_file["paivakirjat/b_no_front_matter.md"] | {} == {
        "instrument": "paivakirjat", "file": "paivakirjat/b_no_front_matter.md", "sheet": "", "read": 2,
        "accepted": 0, "skipped": 0, "rejected": 2, "excluded_no_consent": 0}
    quarantine = {p["file"]: p["reason"] for p in problems if p["kind"] == "quarantine"}
    assert quarantine == {"paivakirjat/b_no_front_matter.md": "missing_front_matter",
                          "paivakirjat/c_unknown_pilot.md": "unknown_pilot",
                          "paivakirjat/d_missing_vaihe.md": "missing_front_matter"}
    flags = [p for p in problems if p["kind"] == "flag"]
    assert [(f["file"], f["reason"], f["value"], f["row"]) for f in flags] == [
        ("paivakirjat/a_ok.md", "unknown_tag", "#tuntematon", 16)]  # first line of the paragraph
    # the unknown tag is kept, not dropped; only the usable file's paragraphs are rows
    assert len(rows) == 4
    assert rows.loc[1, "tags"] == "saatavuus tuntematon"
    assert rows["pilot"].unique().tolist() == ["hameenlinna"]
    assert rows["kind"].unique().tolist() == ["tyontekija"]
    assert rows["stage"].unique().tolist() == ["lahtotilanne"]
    assert rows["quote_approved"].tolist() == [True, False, False, False]
    assert rows.loc[0, "tags"] == "tarpeet"
    assert str(rows.loc[0, "doc_date"].date()) == "2017-10-15"
    for col, kind in TABLES["qualitative"].items():
        expected = {"str": "string", "date": "datetime64[ns]", "Int64": "Int64", "bool": "bool"}[kind]
        assert str(rows[col].dtype) == expected, col


def test_missing_date_falls_back_to_last_entry(tmp_path):
    folder = tmp_path / "paivakirjat"
    _write(folder, "x.md", DIARY.replace("pvm: 15.10.2017\n", ""))
    rows, _, problems = read_markdown_instrument(folder, "paivakirjat", CFG)
    assert str(rows["doc_date"].iloc[0].date()) == "2017-10-09"
    assert [p["reason"] for p in problems] == ["missing_date", "unknown_tag"]


def test_codebook_from_config_and_normalisation():
    class Fake:
        def section(self, name, default=None):
            return {"codebook": {"Oma": "Oma teema"}}.get(name, default)

    assert codebook(Fake()) == {"oma": "Oma teema"}
    assert list(codebook(None))[:2] == ["saatavuus", "tarpeet"]
    assert normalise_tag("#Lähituki") == "lahituki"


def _qual(rows):
    df = pd.DataFrame(rows, columns=["source", "doc_id", "paragraph", "pilot", "kind", "stage", "text", "tags",
                                     "quote_approved"])
    return df


def test_stage_change_shares():
    q = _qual([
        ("tyopajat", 1, 1, "pori", "tyontekijat", "lahtotilanne", "a", "estaa", False),
        ("tyopajat", 1, 2, "pori", "tyontekijat", "lahtotilanne", "b", "estaa tarpeet", False),
        ("tyopajat", 1, 3, "pori", "tyontekijat", "lahtotilanne", "c", "", False),
        ("tyopajat", 2, 1, "pori", "tyontekijat", "loppu", "d", "edistaa", False),
        ("tyopajat", 2, 2, "pori", "tyontekijat", "loppu", "e", "estaa", False),
        ("tyopajat", 2, 3, "pori", "tyontekijat", "loppu", "f", "edistaa", False),
        ("tyopajat", 2, 4, "pori", "tyontekijat", "loppu", "g", "edistaa", False),
    ])
    ch = stage_change(q, ["estaa", "edistaa", "tarpeet"])
    # baseline: 2 coded paragraphs, both mention estaa (100 %), one tarpeet (50 %); final: 4 coded, estaa 1 (25 %)
    assert ch.loc["estaa", "share_lahtotilanne"] == 100.0
    assert ch.loc["tarpeet", "share_lahtotilanne"] == 50.0
    assert ch.loc["estaa", "share_loppu"] == 25.0
    assert ch.loc["edistaa", "change_pp"] == 75.0
    assert ch.loc["estaa", "n_loppu"] == 1


def test_approved_quotes_disclosure_and_scrub():
    rows = []
    for doc in range(1, 6):  # five pori worker documents, one approved quote in each
        rows.append(("tyopajat", doc, 1, "pori", "tyontekijat", "loppu", f"Tapaaminen {doc} sujui hyvin. #tarpeet",
                     "tarpeet", True))
    # a quote the scrubber has to edit is not printed with "[nimi]" in it: it is withheld
    rows.append(("tyopajat", 1, 3, "pori", "tyontekijat", "loppu", "Sanoi Matti Virtanen jotain. #tarpeet",
                 "tarpeet", True))
    rows.append(("paivakirjat", 1, 1, "vantaa", "asiakas", "loppu", "Yksin kirjoitettu.", "estaa", True))
    rows.append(("tyopajat", 1, 2, "pori", "tyontekijat", "loppu", "Ei hyväksytty.", "", False))
    q = _qual(rows)
    scrub = lambda t: t.replace("Matti Virtanen", "[nimi]")  # noqa: E731
    quotes, suppressed = approved_quotes(q, min_docs=5, scrub=scrub)
    assert sorted(quotes["text"]) == [f"Tapaaminen {d} sujui hyvin." for d in range(1, 6)]
    assert not quotes["text"].str.contains(r"\[", regex=True).any()
    assert suppressed == [{"cell": "vantaa / Asiakkaat", "rule": "docs"},
                          {"cell": "pori / Työntekijät", "rule": REDACTED_RULE}]
    quotes, _ = approved_quotes(q, min_docs=5, scrub=scrub, max_quotes=2, seed=3)
    assert len(quotes) == 2
    # a threshold above every cell publishes nothing
    quotes, suppressed = approved_quotes(q, min_docs=6, scrub=lambda t: t)
    assert quotes.empty and len(suppressed) == 2


def test_approved_quotes_by_informant_only():
    rows = [("paivakirjat", d, 1, p, "tyontekija", "loppu", f"Teksti {d}.", "tarpeet", True)
            for d, p in enumerate(["pori", "pori", "vantaa", "kainuu", "eksote"], start=1)]
    quotes, suppressed = approved_quotes(_qual(rows), min_docs=5, scrub=lambda t: t, by=("informant",))
    # five documents of workers across pilots form one cell; the pilot is not shown with the quote
    assert len(quotes) == 5 and set(quotes["pilot"]) == {""} and suppressed == []
    _, suppressed = approved_quotes(_qual(rows), min_docs=5, scrub=lambda t: t)
    assert len(suppressed) == 4


def test_quote_with_unscrubbed_name_is_withheld():
    rows = [("tyopajat", d, 1, "pori", "tyontekijat", "loppu", t, "tarpeet", True)
            for d, t in enumerate(["Asiakas uskalsi sanoa, mitä haluaa. #tarpeet",
                                   "Hyvä tapaaminen – sanoi Vieno Järvelä eilen.",
                                   "Kolmas.", "Neljäs.", "Viides."], start=1)]
    quotes, suppressed = approved_quotes(_qual(rows), min_docs=5, scrub=lambda t: t)
    assert quotes["text"].tolist() == ["Asiakas uskalsi sanoa, mitä haluaa.", "Kolmas.", "Neljäs.", "Viides."]
    assert suppressed == [{"cell": "pori / Työntekijät", "rule": "possible_name"}]
