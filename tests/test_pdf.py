"""The PDF phase reports (hbeval_lib/pdf.py).

Unit tests (no TeX): the per-phase table of contents, HTML tables → LaTeX, break points in long tokens, the
overfull-box classification of a LaTeX log, the message when TeX Live is missing.

With TeX Live (CI installs it via `make test` → `make tex`; a user's machine without it skips with the command to
run): the three PDFs of the demo book (built with it by tests/conftest.py::demo_book, shared with
tests/test_book_e2e.py) open, are A4, have an outline and a "Sisällys" page, page numbers on every page, the demo
notice, Finnish hyphenation, no word in the page margins, no overfull box in a table and no identifier of the raw
data; the phase summaries link them. A tiny book with a table too wide for any page shows that the checks fail.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from hbeval_lib import bench, bookpages, pdf
from hbeval_lib.config import load_config

PHASES = [p.key for p in load_config().phases]


# ---------------------------------------------------------------------------------------------------------------------
# unit tests
# ---------------------------------------------------------------------------------------------------------------------
def test_phase_toc_keeps_common_parts_and_one_phase():
    toc = yaml.safe_load(bookpages.toc())
    for phase in PHASES:
        ptoc = pdf.phase_toc(toc, phase, PHASES)
        files = pdf.toc_files(ptoc)
        others = [p for p in PHASES if p != phase]
        assert not [f for f in files if any(o in re.split(r"[/_]", f) for o in others)], phase
        assert f"_generated/{phase}" in files and f"{phase}/wellbeing/kaikki" in files
        assert "arviointiasetelma" in files and "_generated/aineisto" in files  # parts that belong to no phase
        assert f"{phase}/costs/pori" in files
    assert "loppuraportti/synthesis/kaikki" in pdf.toc_files(pdf.phase_toc(toc, "loppuraportti", PHASES))
    # a phase-specific page of the front matter (any folder) follows its phase
    toc["parts"][0]["chapters"].append({"file": "_generated/tiivistelma_valiarviointi"})
    assert "_generated/tiivistelma_valiarviointi" not in pdf.toc_files(pdf.phase_toc(toc, "loppuraportti", PHASES))
    assert "_generated/tiivistelma_valiarviointi" in pdf.toc_files(pdf.phase_toc(toc, "valiarviointi", PHASES))


def test_title_root_makes_the_book_root_the_first_chapter():
    toc = pdf.with_title_root(yaml.safe_load(bookpages.toc()))
    assert toc["root"] == pdf.PDF_ROOT
    assert toc["parts"][0]["chapters"][0] == {"file": "intro"}


STYLER_HTML = """<style type="text/css">
</style>
<table id="T_1" class="dataframe">
  <thead>
    <tr><th class="blank level0">&nbsp;</th><th class="col_heading level0 col0" colspan="2">HB</th>
        <th class="col_heading level0 col2">Osuus</th></tr>
    <tr><th class="index_name level0">Pilotti</th><th class="col_heading level1 col0">n</th>
        <th class="col_heading level1 col1">ka</th><th class="col_heading level1 col2">%</th></tr>
  </thead>
  <tbody>
    <tr><th class="row_heading level0 row0">Pori &amp; Kainuu</th><td>12</td><td>−0,5</td><td>34 %</td></tr>
    <tr><th class="row_heading level0 row1">Tampere_x</th><td>&lt;5</td><td>–</td><td>1 234,5</td></tr>
  </tbody>
</table>"""


def test_html_table_to_latex_short_table():
    tex = pdf.html_table_to_latex(STYLER_HTML)
    assert r"\begin{tabulary}{\linewidth}[t]{@{}LRRR@{}}" in tex  # text left, numbers (also <5, –) right
    header = next(line for line in tex.splitlines() if "Pilotti" in line)
    # two header rows (column levels and the index name) become one; a spanned label repeats over its columns
    assert header.count("&") == 3 and "HB n" in header and "HB ka" in header and "Osuus \\%" in header
    assert r"Pori \& Kainuu" in tex and r"Tampere\_x" in tex and "−0,5" in tex
    assert pdf.html_table_to_latex("<p>ei taulukkoa</p>") is None


def test_html_table_row_spans_keep_columns_aligned():
    html = ("<table><thead><tr><th>Osa</th><th>Tunnusluku</th><th>Arvo</th></tr></thead><tbody>"
            "<tr><td rowspan='2'>Hyvinvointi</td><td>a</td><td>1</td></tr><tr><td>b</td><td>2</td></tr>"
            "<tr><td>Kustannukset</td><td>c</td><td>3</td></tr></tbody></table>")
    rows = [line for line in pdf.html_table_to_latex(html).splitlines() if line.endswith(r"\\")][1:]
    cells = [[c.replace(r"\hspace{0pt}", "").strip() for c in r.removesuffix(r"\\").split("&")] for r in rows]
    assert cells == [["Hyvinvointi", "a", "1"], ["", "b", "2"], ["Kustannukset", "c", "3"]]


def test_html_table_to_latex_long_table_breaks_across_pages():
    rows = "".join(f"<tr><td>Rivi {i} jossa on melko pitkä selitysteksti taulukon ensimmäisessä sarakkeessa</td>"
                   f"<td>{i},5</td><td>toinen tekstisarake, joka myös on pitkähkö ja rivittyy</td></tr>"
                   for i in range(40))
    tex = pdf.html_table_to_latex(f"<table><thead><tr><th>A</th><th>B</th><th>C</th></tr></thead>"
                                  f"<tbody>{rows}</tbody></table>")
    assert r"\begin{longtable}" in tex and r"\endhead" in tex  # header repeated on every page
    widths = [float(x) for x in re.findall(r"p\{\\dimexpr ([\d.]+)\\linewidth", tex)]
    assert len(widths) == 3 and abs(sum(widths) - 1) < 0.01  # the columns share the text width
    spec = next(line for line in tex.splitlines() if line.startswith(r"\begin{longtable}"))
    assert re.findall(r"ragged(right|left)", spec) == ["right", "left", "right"]  # numbers right-aligned


def test_convert_notebook_adds_raw_latex_markdown():
    nb = {"cells": [{"cell_type": "code", "metadata": {}, "outputs": [
        {"output_type": "display_data", "data": {"text/html": STYLER_HTML, "text/plain": "x"}, "metadata": {}},
        {"output_type": "display_data", "data": {"text/markdown": "Teksti", "text/plain": "x"}, "metadata": {}}]}]}
    out = pdf.convert_notebook(nb)
    md = out["cells"][0]["outputs"][0]["data"]["text/markdown"]
    assert md.startswith("```{raw} latex\n") and r"\begin{tabulary}" in md
    assert out["cells"][0]["metadata"]["mystnb"]["markdown_format"] == "myst"
    assert out["cells"][0]["outputs"][1]["data"]["text/markdown"] == "Teksti"


def test_breakable_long_tokens_only():
    assert pdf.breakable("wellbeing.kykyviisari.change") == f"wellbeing.{pdf.ZWSP}kykyviisari.{pdf.ZWSP}change"
    assert pdf.breakable("0,5 (0,1 … 0,9) HB-asiakkaat") == "0,5 (0,1 … 0,9) HB-asiakkaat"


def test_drop_details_keeps_the_rest():
    md = "alku\n<details>\n<summary>Kaikki</summary>\n\n| a |\n|---|\n| 1 |\n\n</details>\n\nloppu\n"
    out = pdf.drop_details(md)
    assert "| 1 |" not in out and out.startswith("alku\n") and out.endswith("loppu\n") and pdf.DETAILS_NOTE in out
    twice = pdf.drop_details(md.replace("loppu", "<details>\n<summary>Toinen</summary>\n\nx\n</details>\n\nloppu"))
    assert twice.count(pdf.DETAILS_NOTE) == 1 and twice.endswith("loppu\n") and "Toinen" not in twice


def test_overfull_boxes_classified_by_table_lines():
    tex = "\n".join(["x"] * 9 + [r"\begin{longtable}{ll}", "a & b", r"\end{longtable}", "y"])
    log = ("Overfull \\hbox (12.5pt too wide) in paragraph at lines 11--11\n"
           "Overfull \\hbox (3.0pt too wide) in paragraph at lines 13--13\n"
           "Overfull \\hbox (250.1pt too wide) in alignment at lines 40--52\n")
    boxes = pdf.overfull_boxes(log, tex)
    assert [(b["pt"], b["table"]) for b in boxes] == [(12.5, True), (3.0, False), (250.1, True)]


def test_missing_tex_without_root_says_what_to_install(monkeypatch, capsys):
    monkeypatch.setattr(pdf, "missing_tools", lambda: ["xelatex", "hyph-fi.tex"])
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert pdf.ensure_tools(install=True) is False
    err = capsys.readouterr().err
    assert "WARNING" in err and "xelatex" in err
    assert "sudo apt-get install --no-install-recommends " + " ".join(pdf.APT_PACKAGES) in err


# ---------------------------------------------------------------------------------------------------------------------
# the PDFs of the demo book (TeX Live)
# ---------------------------------------------------------------------------------------------------------------------
def _need_tex():
    missing = pdf.missing_tools()
    if missing:
        msg = f"needs TeX Live (missing {', '.join(missing)}): {pdf.install_command()}"
        if os.environ.get("CI"):
            pytest.fail("CI must build the PDFs; " + msg)
        pytest.skip(msg)


@pytest.fixture(scope="module")
def pdfs(demo_book):
    _need_tex()
    report = demo_book["pdf"]  # built with the book, as `make book` does (tests/conftest.py::demo_book)
    assert report is not None, demo_book["pdf_error"]
    return {"book": demo_book["book"], "html": demo_book["html"], "report": report,
            "files": {k: Path(report[k]["pdf"]) for k in PHASES}}


def _pdfinfo(path: Path) -> dict:
    out = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    return dict(line.split(":", 1) for line in out.splitlines() if ":" in line)


@pytest.mark.slow
def test_three_pdfs_open_a4_with_title(pdfs):
    cfg = load_config()
    for ph in cfg.phases:
        path = pdfs["files"][ph.key]
        assert path.name == pdf.pdf_name(ph.key) and path.exists()
        info = _pdfinfo(path)
        assert int(info["Pages"]) >= 20, ph.key
        assert info["Page size"].strip().startswith("595.28 x 841.89"), info["Page size"]  # A4
        assert ph.name in info["Title"]
        first = subprocess.run(["pdftotext", "-f", "1", "-l", "1", str(path), "-"], capture_output=True,
                               text=True, check=True).stdout
        assert ph.name in first and ph.published in first  # title page: phase and its date
        assert "henkilökohtaisen budjetoinnin" in first


@pytest.mark.slow
def test_table_of_contents_outline_and_page(pdfs):
    for phase, path in pdfs["files"].items():
        xml = subprocess.run(["pdftohtml", "-xml", "-i", "-stdout", "-q", "-f", "1", "-l", "1", str(path)],
                             capture_output=True, text=True, check=True).stdout
        outline = re.findall(r"<item[^>]*>(.*?)</item>", xml)
        assert len(outline) >= 20, phase
        text = subprocess.run(["pdftotext", "-f", "1", "-l", "4", str(path), "-"], capture_output=True, text=True,
                              check=True).stdout
        assert "Sisällys" in text
        # the phase's own chapters are listed, the other phases' are not
        assert re.search(r"Hyvinvointi|hyvinvointi", text)
        cfg = load_config()
        others = [ph.name for ph in cfg.phases if ph.key != phase]
        assert not [o for o in others if f"{o}: yhteenveto" in text], phase


@pytest.mark.slow
def test_page_numbers_on_every_page(pdfs):
    for phase, path in pdfs["files"].items():
        words = pdf.pdf_words(path)
        pages = max(w["page"] for w in words)
        footer = {}
        for w in words:  # the right-most word at the foot of the page
            if w["y0"] > w["height"] - 2.5 / 2.54 * 72 and (w["page"] not in footer or w["x1"] > footer[w["page"]][0]):
                footer[w["page"]] = (w["x1"], w["text"])
        arabic = [(p, int(t)) for p, (_x, t) in sorted(footer.items()) if t.isdigit()]
        roman = [p for p, (_x, t) in footer.items() if re.fullmatch(r"[ivxl]+", t)]
        assert roman, f"{phase}: front matter (table of contents) pages carry roman numbers"
        assert len(arabic) + len(roman) >= pages - 2, f"{phase}: pages without a number"  # title page(s) may not
        # consecutive pages are numbered consecutively
        assert all(b[1] == a[1] + (b[0] - a[0]) for a, b in zip(arabic, arabic[1:])), phase
        assert arabic[0][1] == 1


@pytest.mark.slow
def test_no_text_in_the_margins_and_no_overfull_table(pdfs):
    for phase, path in pdfs["files"].items():
        outside = pdf.words_outside_text_area(path)
        assert outside == [], f"{phase}: text runs into the margin: {outside[:5]}"
        wide = [b for b in pdfs["report"][phase]["overfull"] if b["table"] and b["pt"] > pdf.MAX_TABLE_OVERFULL_PT]
        assert wide == [], phase


@pytest.mark.slow
def test_finnish_typesetting_and_demo_notice(pdfs):
    for phase, path in pdfs["files"].items():
        entry = pdfs["report"][phase]
        tex = Path(entry["log"]).with_suffix(".tex").read_text(encoding="utf-8")
        log = Path(entry["log"]).read_text(encoding="utf-8", errors="replace")
        assert r"\setmainlanguage{finnish}" in tex
        assert "No hyphenation patterns" not in log and "Missing character" not in log
        text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
        layout = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                                check=True).stdout
        # words hyphenated at line ends (Finnish patterns: "kansalai-/suuteen", "toimin-/tamallin", ...)
        hyphenated = re.findall(r"[a-zäö]{3,}-\n", layout)
        assert len(hyphenated) >= 5, phase
        for english in ("Contents", "Chapter", "Table ", "continued from", "continues on", "Release"):
            assert english not in text, (phase, english)
        assert "Sisällys" in text
        assert "−" in text  # true minus signs survive
        # the demo notice on every page (synthetic data)
        pages = text.split("\f")
        notice = bookpages.DEMO_BANNER[:40]
        assert all(notice in " ".join(re.sub(r"(\w)-\n(\w)", r"\1\2", p).split()) for p in pages if p.strip()), phase
        # tables of the notebooks are typeset, not shown as raw HTML, LaTeX or a Python repr
        for leftover in ("<table", "\\begin{", "Styler object", "dataframe"):
            assert leftover not in text, (phase, leftover)


@pytest.mark.slow
def test_phase_summary_links_its_pdf(pdfs):
    for phase in PHASES:
        html = (pdfs["html"] / "_generated" / f"{phase}.html").read_text(encoding="utf-8")
        assert f'href="{pdf.pdf_href(phase)}"' in html
        assert (pdfs["html"] / pdf.STATIC_PDF / pdf.pdf_name(phase)).exists()


@pytest.mark.slow
def test_pdf_text_passes_the_privacy_check(pdfs, demo_book, tmp_path):
    from hbeval_lib.privacy import check_privacy

    for phase, path in pdfs["files"].items():
        subprocess.run(["pdftotext", str(path), str(tmp_path / f"{phase}.txt")], check=True)
    assert check_privacy(tmp_path, demo_book["raw"]) == []


# ---------------------------------------------------------------------------------------------------------------------
# a known-bad document: the checks fail on a table wider than the page
# ---------------------------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_too_wide_table_is_caught(tmp_path):
    _need_tex()
    book = bench.copy_book_sources(tmp_path / "book")
    (book / "_toc.yml").write_text("format: jb-book\nroot: intro\nparts:\n  - caption: Loppuraportti\n"
                                   "    chapters:\n      - file: loppuraportti/levea\n", encoding="utf-8")
    unbreakable = "Kuntayhtymäpalvelukokonaisuusjärjestämissuunnitelmaluonnos" * 3  # no break point anywhere
    html = ("<table><thead><tr><th>Sarake</th><th>Toinen</th></tr></thead><tbody>"
            f"<tr><td>{unbreakable}</td><td>{unbreakable}</td></tr></tbody></table>")
    nb = {"nbformat": 4, "nbformat_minor": 5,
          "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                       "language_info": {"name": "python"}},
          "cells": [{"cell_type": "markdown", "id": "a", "metadata": {}, "source": "# Leveä taulukko"},
                    {"cell_type": "code", "id": "b", "metadata": {}, "execution_count": 1, "source": "t",
                     "outputs": [{"output_type": "display_data", "metadata": {},
                                  "data": {"text/html": html, "text/plain": "t"}}]}]}
    (book / "loppuraportti").mkdir()
    (book / "loppuraportti" / "levea.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    entry = pdf.build_phase(book, "loppuraportti")
    assert [b for b in entry["overfull"] if b["table"] and b["pt"] > pdf.MAX_TABLE_OVERFULL_PT]
    assert pdf.words_outside_text_area(Path(entry["pdf"]))
    with pytest.raises(pdf.PdfError, match="wider than the page"):
        pdf.build_pdfs(book, ["loppuraportti"])
