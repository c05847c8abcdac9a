"""The researchers' text slots (hbeval_lib/book/text.py): files, number citations, rendering into executed notebooks.

Expected strings are written by hand in Finnish notation (decimal comma, true minus, space before € and %), not
taken from the code's earlier output.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hbeval_lib.book import text
from hbeval_lib.config import load_config, strand_folder
from hbeval_lib.page.report import SLOT_MARKER
from hbeval_lib.page.results import Results

CFG = load_config()


def write_results(book: Path, phase: str, strand: str, pilot: str, rows: list[dict]) -> None:
    res = Results(strand, phase, pilot)
    for r in rows:
        res.add(**r)
    res.write(book / phase / strand_folder(strand) / f"{pilot}.results.csv")


def write_notebook(book: Path, phase: str, strand: str, pilot: str, slots: list[str],
                   report_slots: list[str] = ()) -> Path:
    """A minimal executed notebook whose cells carry slot markers as ``report.slot_marker`` leaves them."""
    def marker(slot, source=""):
        meta = {SLOT_MARKER: {"strand": strand, "phase": phase, "pilot": pilot, "slot": slot, "heading": "",
                              "source": source}}
        return {"cell_type": "code", "metadata": {}, "source": f'rep.text("{slot}")', "execution_count": 1,
                "outputs": [{"output_type": "display_data", "data": {"text/markdown": ""}, "metadata": meta}]}
    cells = [marker(s) for s in slots] + [marker(s, "raportti") for s in report_slots]
    nb = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = book / phase / strand_folder(strand) / f"{pilot}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb), encoding="utf-8")
    return path


def slot_outputs(path: Path) -> dict[str, str]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    return {o["metadata"][SLOT_MARKER]["slot"]: o["data"]["text/markdown"] for c in nb["cells"] for o in c["outputs"]}


def write_text(book: Path, rel: str, body: str) -> Path:
    p = book / "text" / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(body, encoding="utf-8")
    return p


@pytest.fixture
def book(tmp_path):
    """Executed wellbeing pages for Pori and all pilots in two phases, with results tables."""
    b = tmp_path / "book"
    for phase in ["valiarviointi", "loppuraportti"]:
        for pilot in ["kaikki", "pori"]:
            write_notebook(b, phase, "wellbeing", pilot, ["johdanto", "tulkinta"])
            write_results(b, phase, "wellbeing", pilot, [
                {"key": "osallisuustesti.adjusted_diff", "label": "ero", "estimate": 0.4008, "ci_low": -0.0525,
                 "ci_high": 0.6207, "n": 65, "p_value": 0.0004},
                {"key": "recruitment.n.hb", "label": "HB", "estimate": 18},
                {"key": "kykyviisari.osallisuus.change.hb", "label": "muutos", "suppressed": True}])
    write_results(b, "loppuraportti", "costs", "kaikki", [
        {"key": "costs.incremental", "label": "ero", "estimate": 1265.556, "ci_low": -208.4, "ci_high": 2321.5},
        {"key": "palvelut.share", "label": "osuus", "estimate": 0.3034}])
    return b


SENTENCE = "Porin loppuraportin oma lause."


def test_a_sentence_for_the_final_pori_page_appears_on_that_page_only(book):
    write_text(book, "loppuraportti/wellbeing/pori.md", f"## tulkinta\n\n{SENTENCE}\n")
    text.render_book(book, CFG, demo=True, draft=False)
    for phase in ["valiarviointi", "loppuraportti"]:
        for pilot in ["kaikki", "pori"]:
            out = slot_outputs(book / phase / "hyvinvointi" / f"{pilot}.ipynb")
            here = (phase, pilot) == ("loppuraportti", "pori")
            assert (SENTENCE in out["tulkinta"]) is here, (phase, pilot)
            assert out["johdanto"] == ""  # an empty slot renders as nothing


def test_cited_number_is_the_protected_value_and_follows_the_data(book):
    write_text(book, "loppuraportti/wellbeing/pori.md",
               "## tulkinta\n\nEro oli {{ wellbeing.osallisuustesti.adjusted_diff | ci | 2 }}; HB-asiakkaita "
               "{{ wellbeing.recruitment.n.hb | 0 }}.\n")
    text.render_book(book, CFG)
    nb = book / "loppuraportti" / "hyvinvointi" / "pori.ipynb"
    assert ("Ero oli 0,40 (95 %:n luottamusväli −0,05 … 0,62); HB-asiakkaita 18."
            in slot_outputs(nb)["tulkinta"])
    write_results(book, "loppuraportti", "wellbeing", "pori", [
        {"key": "osallisuustesti.adjusted_diff", "label": "ero", "estimate": -1.255, "ci_low": -2.0, "ci_high": -0.5},
        {"key": "recruitment.n.hb", "label": "HB", "estimate": 21}])
    changed = text.render_book(book, CFG)
    assert changed == [nb]
    assert ("Ero oli −1,26 (95 %:n luottamusväli −2,00 … −0,50); HB-asiakkaita 21."
            in slot_outputs(nb)["tulkinta"])
    assert text.render_book(book, CFG) == []  # nothing changed: notebooks are not rewritten


def test_suppressed_cited_number_fails_naming_file_and_name(book):
    write_text(book, "loppuraportti/wellbeing/pori.md",
               "## tulkinta\n\nMuutos {{ wellbeing.kykyviisari.osallisuus.change.hb }}.\n")
    with pytest.raises(text.SlotError) as e:
        text.render_book(book, CFG)
    msg = str(e.value)
    assert "book/text/loppuraportti/wellbeing/pori.md" in msg
    assert "wellbeing.kykyviisari.osallisuus.change.hb" in msg and "peitetty" in msg


def test_an_example_text_citing_a_hidden_number_shows_the_marker(book):
    """The demo's example text was written for the demo data: on other data a number it cites may be hidden, and the
    build goes on with a visible marker (a researcher's own text stops, above)."""
    write_text(book, "loppuraportti/wellbeing/pori.md",
               f"{text.EXAMPLE_MARK}\n## tulkinta\n\nMuutos {{{{ wellbeing.kykyviisari.osallisuus.change.hb }}}}.\n")
    text.render_book(book, CFG)
    nb = book / "loppuraportti" / "hyvinvointi" / "pori.ipynb"
    assert text.SUPPRESSED_IN_DRAFT in slot_outputs(nb)["tulkinta"]


def test_missing_cited_number_fails_with_suggestion(book):
    write_text(book, "loppuraportti/wellbeing/kaikki.md",
               "## tulkinta\n\n{{ wellbeing.osallisuustesti.adjusted_dif }}\n")
    with pytest.raises(text.SlotError, match=r"kaikki\.md.*adjusted_dif.*Lähimmät nimet: osallisuustesti\.adjusted_diff"):
        text.render_book(book, CFG)


@pytest.mark.parametrize("expr, expected", [
    ("costs.costs.incremental | eur", "1 266 €"),
    ("costs.costs.incremental | ci | eur", "1 266 € (95 %:n luottamusväli −208 € … 2 322 €)"),
    ("costs.palvelut.share | pct", "30 %"),
    ("costs.palvelut.share | pct | 1", "30,3 %"),
    ("kaikki:wellbeing.osallisuustesti.adjusted_diff | p", "p < 0,001"),
    ("kaikki:wellbeing.osallisuustesti.adjusted_diff | n", "65"),
    ("kaikki:wellbeing.osallisuustesti.adjusted_diff | lo | abs | 3", "0,053"),
    ("valiarviointi/kaikki:wellbeing.recruitment.n.hb | 0", "18"),
])
def test_number_formats(book, expr, expected):
    ctx = text.Context(book / "text" / "loppuraportti" / "costs" / "kaikki.md", "tulkinta", "loppuraportti",
                       "kaikki", "costs")
    assert text.cite_number(expr, ctx, text.ResultsIndex(book), CFG) == expected


@pytest.mark.parametrize("expr, fragment", [
    ("costs.costs.incremental | n", "ei ole arvoa ”n”"),
    ("costs.palvelut.share | ci", "ei ole luottamusväliä"),
    ("costs.costs.incremental | euro", "muotoa ”euro” ei tunneta"),
    ("kustannukset.costs.incremental", "osaa ”kustannukset” ei ole"),
    ("helsinki:costs.costs.incremental", "pilottia ”helsinki” ei ole"),
    ("loppuraportti/pori:costs.costs.incremental", "tuloksia vaiheelle loppuraportti ja pilotille pori ei ole"),
    ("ei nimi", "nimeä ei voi lukea"),
])
def test_bad_citations_fail_in_finnish(book, expr, fragment):
    ctx = text.Context(book / "text" / "loppuraportti" / "costs" / "kaikki.md", "tulkinta", "loppuraportti",
                       "kaikki", "costs")
    with pytest.raises(text.SlotError, match=fragment):
        text.cite_number(expr, ctx, text.ResultsIndex(book), CFG)


def test_unknown_slot_in_a_text_file_fails(book):
    write_text(book, "loppuraportti/wellbeing/pori.md", "## tulkintaa\n\nKirjoitusvirhe otsikossa.\n")
    with pytest.raises(text.SlotError, match=r"kohtaa ”tulkintaa” ei ole.*lähimmät: tulkinta"):
        text.render_book(book, CFG)
    write_text(book, "loppuraportti/wellbeing/oulu.md", "## tulkinta\n\nEi tällaista pilottia.\n")
    (book / "text" / "loppuraportti" / "wellbeing" / "pori.md").unlink()
    with pytest.raises(text.SlotError, match="oulu.md: sivua loppuraportti/wellbeing/oulu ei ole"):
        text.render_book(book, CFG)


def test_comments_are_ignored_and_duplicate_slots_rejected(tmp_path):
    p = tmp_path / "text" / "x.md"
    p.parent.mkdir(parents=True)
    p.write_text("<!-- ohje: ## tulkinta -->\nJohdantoteksti ohitetaan.\n## tulkinta\n\nTeksti <!-- huomio -->.\n"
                 "```\n## ei kohta\n```\n", encoding="utf-8")
    tf = text.TextFile.read(p)
    assert list(tf.slots) == ["tulkinta"] and tf.slots["tulkinta"].startswith("Teksti .")
    assert "## ei kohta" in tf.slots["tulkinta"]
    p.write_text("## a\n\nx\n\n## a\n\ny\n", encoding="utf-8")
    with pytest.raises(text.SlotError, match="kahdesti"):
        text.TextFile.read(p)


def test_draft_shows_empty_slots_and_final_build_does_not(book, monkeypatch):
    text.render_book(book, CFG, draft=True)
    out = slot_outputs(book / "loppuraportti" / "hyvinvointi" / "pori.ipynb")
    assert "Luonnos" in out["tulkinta"] and "book/text/loppuraportti/wellbeing/pori.md" in out["tulkinta"]
    text.render_book(book, CFG, draft=False)
    assert slot_outputs(book / "loppuraportti" / "hyvinvointi" / "pori.ipynb")["tulkinta"] == ""
    monkeypatch.setenv("HBEVAL_DRAFT", "1")
    assert text.draft_mode(None)
    monkeypatch.delenv("HBEVAL_DRAFT")
    (book / "_generated").mkdir()
    (book / "_generated" / "build.json").write_text('{"demo": true, "draft": true}', encoding="utf-8")
    assert text.draft_mode(book) and not text.draft_mode(None)


def test_example_text_is_marked_and_refused_for_real_data(book):
    write_text(book, "loppuraportti/wellbeing/pori.md", f"{text.EXAMPLE_MARK}\n## tulkinta\n\n{SENTENCE}\n")
    text.render_book(book, CFG, demo=True)
    out = slot_outputs(book / "loppuraportti" / "hyvinvointi" / "pori.ipynb")["tulkinta"]
    assert out.startswith("*Esimerkkiteksti") and SENTENCE in out
    with pytest.raises(text.SlotError, match="esimerkkiteksti"):
        text.render_book(book, CFG, demo=False)
    text.render_book(book, CFG, demo=False, draft=True)  # a draft from real data may show the marked example
    assert slot_outputs(book / "loppuraportti" / "hyvinvointi" / "pori.ipynb")["tulkinta"].startswith("*Esimerkki")


def test_case_description_comes_from_the_phase_report_file(book):
    write_notebook(book, "loppuraportti", "costs", "pori", ["tulkinta"], report_slots=["pilotti.pori"])
    write_text(book, "loppuraportti/raportti.md", "## pilotti.pori\n\nPorin tapauskuvaus.\n")
    text.render_book(book, CFG)
    assert "Porin tapauskuvaus." in slot_outputs(book / "loppuraportti" / "kustannukset" / "pori.ipynb")["pilotti.pori"]
    write_text(book, "loppuraportti/raportti.md", "## pilotti.oulu\n\nEi pilottia.\n")
    with pytest.raises(text.SlotError, match="pilotti.oulu"):
        text.render_report_slot(book, "loppuraportti", "tiivistelma", CFG)


@pytest.mark.parametrize("body, verdict", [("arvio: osittain\n\nPerustelu.", "toteutui osittain"),
                                           ("Arvio: ei voida arvioida.\nPerustelu.", "ei voida arvioida"),
                                           ("arvio: toteutui", "toteutui")])
def test_criterion_judgement(book, body, verdict):
    write_notebook(book, "loppuraportti", "synthesis", "kaikki", ["kriteeri.hyvinvointi"])
    write_text(book, "loppuraportti/synthesis/kaikki.md", f"## kriteeri.hyvinvointi\n\n{body}\n")
    text.render_book(book, CFG)
    out = slot_outputs(book / "loppuraportti" / "synteesi" / "kaikki.ipynb")["kriteeri.hyvinvointi"]
    assert out.startswith(f"**Arvioijien arvio: {verdict}.**")


@pytest.mark.parametrize("body, fragment", [("arvio: ehkä\n", "ei ole sallittu"),
                                            ("Perustelu ilman arviota.\n", "ensimmäinen rivi")])
def test_criterion_judgement_must_be_one_of_four(book, body, fragment):
    write_notebook(book, "loppuraportti", "synthesis", "kaikki", ["kriteeri.hyvinvointi"])
    write_text(book, "loppuraportti/synthesis/kaikki.md", f"## kriteeri.hyvinvointi\n\n{body}")
    with pytest.raises(text.SlotError, match=fragment):
        text.render_book(book, CFG)


def test_citations_get_the_phase_prefix():
    assert (text._prefix_citations("Ks. {cite}`patton1997, tuomi2018` ja {cite:p}`austin2009`.", "lahtotilanne")
            == "Ks. {cite}`lahtotilanne-patton1997,lahtotilanne-tuomi2018` ja {cite:p}`lahtotilanne-austin2009`.")


def test_shipped_example_texts_parse_and_name_existing_slots():
    """Every shipped text file parses, uses known slot names and criterion keys of the configuration."""
    root = Path(__file__).resolve().parents[1] / "book" / "text"
    crits = {f"kriteeri.{c['key']}" for c in CFG.section("success_criteria")}
    for p in root.glob("*/raportti.md"):
        assert set(text.TextFile.read(p).slots) <= set(text.report_slots(CFG)), p
    syn = root / "loppuraportti" / "synthesis" / "kaikki.md"
    slots = set(text.TextFile.read(syn).slots)
    assert crits <= slots, crits - slots  # the demo judges every criterion


# -- the phase report's own pages (hbeval_lib.book.pages) ----------------------------------------------------

def test_unit_cost_sources_dated_after_the_report_are_flagged():
    from hbeval_lib.book import pages as bookpages

    assert bookpages._source_note("Mäklin & Kokko 2021, THL työpaperi 21/2021: kotipalvelu", 2019).startswith(
        "Lähde on julkaistu vuonna 2021, raportin (2019) jälkeen")
    assert bookpages._source_note("Tilastokeskus, kuntasektorin palkat 2017", 2019) == ""
    assert "oletus" in bookpages._source_note("Oletus: hallinto 15 %", 2019).lower()
    page = bookpages.unit_costs_page(CFG, "loppuraportti")
    assert "raportin (2019) jälkeen" in page  # the demo configuration cites a 2021 working paper
    for code in ("default", "zero", "leisure", "wage", "hours_per_month"):
        assert f"| {code} |" not in page
    # a price as configured, with its cents (24,4 €/h was printed "24 € / h" beside the page's 24,81 € of 2018)
    assert "| 24,40 € / h |" in page and "| 24 € / h |" not in page


def test_example_publication_data_are_marked_and_refused_for_real_data(tmp_path):
    from hbeval_lib.book import pages as bookpages

    assert CFG.section("publication")["example"] is True
    page = bookpages.front_page(CFG, "loppuraportti", tmp_path, demo=True)
    assert "esimerkkejä" in page and "Kuvailulehti" in page and "ISBN" in page
    with pytest.raises(bookpages.PublicationError, match="example: false"):
        bookpages.front_page(CFG, "loppuraportti", tmp_path, demo=False)
    assert "esimerkkejä" in bookpages.front_page(CFG, "loppuraportti", tmp_path, demo=False, draft=True)


def test_front_page_abstract_is_marked_english_and_empty_slots_vanish(tmp_path):
    from hbeval_lib.book import pages as bookpages

    write_text(tmp_path, "lahtotilanne/raportti.md", "## abstract\n\nThe project piloted personal budgets.\n")
    page = bookpages.front_page(CFG, "lahtotilanne", tmp_path, demo=True)
    assert ":::{container} lang-en\nThe project piloted personal budgets." in page
    assert "## Tiivistelmä" not in page  # empty slot, no heading
    assert "## Johtopäätökset" not in bookpages.discussion_page(CFG, "lahtotilanne", tmp_path)


def test_every_phase_part_is_a_complete_report():
    from hbeval_lib.book import pages as bookpages

    toc = bookpages.toc(CFG)
    for ph in CFG.phases:
        part = toc.split(f"caption: {ph.name}")[1].split("caption:")[0]
        for name in [bookpages.FRONT, bookpages.DESIGN, bookpages.DISCUSSION, bookpages.REFERENCES,
                     bookpages.APPENDICES, *bookpages.APPENDIX_PAGES]:
            assert f"_generated/{ph.key}/{name}" in part, (ph.key, name)
        for strand in ["wellbeing", "service_process", "costs"]:
            assert f"{ph.key}/{strand_folder(strand)}/kaikki" in part
    assert "synteesi" in toc.split(f"caption: {CFG.phases[-1].name}")[1]


# -- Finnish notation safety nets: tables a notebook displays, figure tick labels --------------------------

def test_displayed_tables_speak_finnish():
    import pandas as pd

    from hbeval_lib.page.report import finnish_frame

    df = pd.DataFrame({"Osuus": [14.0, -8.0, 0.25], "Mixed": [14.0, "–", -1.5], "n": [1, 2, 3],
                       "label": ["a", "b", "c"]}).set_index("label")
    df.columns.name = "period"
    out = finnish_frame(df)
    assert out["Osuus"].tolist() == ["14,00", "−8,00", "0,25"]
    assert out["Mixed"].tolist() == ["14,0", "–", "−1,5"]
    assert out["n"].tolist() == [1, 2, 3]
    assert out.index.name is None and out.columns.name == "Kausi"
    assert df["Osuus"].tolist() == [14.0, -8.0, 0.25]  # the notebook's data are untouched


def test_figure_ticks_use_decimal_comma_and_minus_sign():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from hbeval_lib.core import plots

    plots.setup()
    fig, ax = plt.subplots()
    ax.plot([-1.5, 2.5], [0.1, -0.3])
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_xticklabels() + ax.get_yticklabels()]
    plt.close(fig)
    assert "−1,5" in labels and any("," in t for t in labels)
    assert not [t for t in labels if "." in t or "-" in t]
    assert plots.fi_number_text("12.5%") == "12,5 %"


def test_pdf_prose_drops_section_numbers_abstract_and_references_but_not_prose():
    from hbeval_lib.book.text import find_code_in_text, pdf_prose

    layout = ("Sisällys\n 2.1 Arviointikysymykset . . . . . 3\n\n2.1 Arviointikysymykset\n"
              "Osuus oli 2.5 prosenttia.\n\n6.3 Abstract\n\nThe project piloted personal budgets.\n"
              "Keywords: personal budgeting\n\n 8 Lähteet . . . . 40\n\nLUKU 8\n\nLähteet\n\n"
              "Austin, P. C. 2009. Balance diagnostics for the distribution.\n\nLUKU 9\n\nLiitteet\n\n"
              "Arvo oli 3.5 euroa.\n")
    found = find_code_in_text(" ".join(pdf_prose(layout).split()))
    # the references are left out (titles in English), the appendices after them are read
    assert [f.split(":")[0] for f in found] == ["desimaalipiste", "desimaalipiste"]
    assert "2.5" in found[0] and "3.5" in found[1]
