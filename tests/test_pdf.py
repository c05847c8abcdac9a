"""The PDF phase reports (hbeval_lib/book/pdf.py).

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

from hbeval_lib.book import bench
from hbeval_lib.book import pages as bookpages
from hbeval_lib.book import pdf
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
        assert f"_generated/{phase}" in files and f"{phase}/hyvinvointi/kaikki" in files
        assert "arviointiasetelma" in files and "_generated/aineisto" in files  # parts that belong to no phase
        assert f"{phase}/kustannukset/pori" in files
    assert "loppuraportti/synteesi/kaikki" in pdf.toc_files(pdf.phase_toc(toc, "loppuraportti", PHASES))
    # a phase-specific page of the front matter (any folder) follows its phase
    toc["parts"][0]["chapters"].append({"file": "_generated/tiivistelma_valiarviointi"})
    assert "_generated/tiivistelma_valiarviointi" not in pdf.toc_files(pdf.phase_toc(toc, "loppuraportti", PHASES))
    assert "_generated/tiivistelma_valiarviointi" in pdf.toc_files(pdf.phase_toc(toc, "valiarviointi", PHASES))


def test_report_toc_is_the_phase_part_only():
    toc = yaml.safe_load(bookpages.toc())
    for phase in PHASES:
        files = pdf.toc_files(pdf.report_toc(toc, phase, PHASES))
        assert files[0] == pdf.PDF_ROOT
        # the web book's introduction (front page, design, pilots, data quality, the software's technical page)
        # is not part of a report: its design chapter and data appendix are the phase's own
        assert not {"intro", "arviointiasetelma", "_generated/pilotit", "_generated/aineisto",
                    "_generated/tekninen"} & set(files), phase
        assert files[1] == f"_generated/{phase}/kansi" and files[3] == f"_generated/{phase}/asetelma"
        assert files.index(f"_generated/{phase}/lahteet") < files.index(f"_generated/{phase}/liitteet")
        assert len(files) == len(set(files)), "a page printed twice"
        assert f"{phase}/kustannukset/pori" in files


def _tex(body: str) -> str:
    return "\\documentclass{report}\n\\begin{document}\n\\pagestyle{empty}\n\\pagestyle{normal}\n" + body + \
        "\n\\end{document}\n"


def test_arrange_report_tex_front_matter_toc_and_references():
    body = "\n".join([
        "\\sphinxstepscope", "", "",
        "\\chapter{Loppuraportti: Avain}", "\\label{\\detokenize{_generated/loppuraportti/kansi::doc}}",
        "\\sphinxstylestrong{Avain}", "\\begin{sphinxadmonition}{note}{Muista:}esimerkki\\end{sphinxadmonition}",
        "\\section{Kuvailulehti}", "\\label{\\detokenize{_generated/loppuraportti/kansi:kuvailulehti}}", "taulu",
        "\\section{Tiivistelmä}", "\\label{\\detokenize{_generated/loppuraportti/kansi:tiivistelma}}", "tiiv",
        "\\section{Abstract}", "\\label{\\detokenize{_generated/loppuraportti/kansi:abstract}}", "abs",
        "\\section{Esipuhe}", "\\label{\\detokenize{_generated/loppuraportti/kansi:esipuhe}}", "esi",
        "\\sphinxstepscope", "", "", "\\chapter{Yhteenveto}",
        "\\label{\\detokenize{_generated/loppuraportti::doc}}", "teksti (\\hyperlink{cite.x:id1}{Patton 1997})",
        "\\sphinxstepscope", "", "", "\\chapter{Lähteet}",
        "\\label{\\detokenize{_generated/loppuraportti/lahteet:lahteet}}"
        "\\label{\\detokenize{_generated/loppuraportti/lahteet::doc}}",
        "\\sphinxstepscope", "", "", "\\chapter{Liitteet}",
        "\\label{\\detokenize{_generated/loppuraportti/liitteet::doc}}", "liitteet",
        "\\begin{sphinxthebibliography}{Tutkimus}",
        "\\bibitem[Patton 1997]{x:id1}", "\\sphinxAtStartPar", "Patton, M. Q. 1997. Utilization.",
        "\\bibitem[Austin 2009]{x:id2}", "\\sphinxAtStartPar", "Austin, P. C. 2009. Balance.",
        "\\end{sphinxthebibliography}"])
    out = pdf.arrange_report_tex(_tex(body), "loppuraportti")
    order = [out.index(x) for x in ["\\hbfrontpage{Kuvailulehti}", "esimerkki", "\\hbfrontpage{Tiivistelmä}",
                                    "\\hbfrontpage{Abstract}", "\\hbfrontpage{Esipuhe}", "\\tableofcontents",
                                    "\\pagenumbering{arabic}", "\\chapter{Yhteenveto}", "\\chapter{Lähteet}",
                                    "\\begin{hbreferences}", "\\chapter{Liitteet}"]]
    assert order == sorted(order)
    # the front-matter doc's own title and the lines that repeat the cover are gone; the bibliography is no longer
    # at the end (Sphinx's "Kirjallisuutta"); author–year entries sorted, labels dropped, link targets kept
    assert "Loppuraportti: Avain" not in out and "sphinxstylestrong{Avain}" not in out
    assert "sphinxthebibliography" not in out and "\\bibitem" not in out and "[Patton 1997]" not in out
    assert out.index("Austin, P. C.") < out.index("Patton, M. Q.")
    assert "\\hbref{cite.x:id1}Patton" in out and "\\newcommand{\\hbfrontpage}" in out
    assert out.count("\\tableofcontents") == 1


def test_arrange_report_tex_without_front_matter_keeps_a_table_of_contents():
    out = pdf.arrange_report_tex(_tex("\\sphinxstepscope\n\\chapter{A}\n\\label{\\detokenize{a::doc}}\n"), "x")
    assert out.index("\\tableofcontents") < out.index("\\chapter{A}")


def test_a_table_of_few_tall_rows_breaks_across_pages():
    """A few rows whose long texts wrap into more lines than a page holds (the unit-cost appendix with its
    sources) must be a longtable; the row count alone (30) would set it as a tabulary that runs off the page."""
    note = "Lähde on julkaistu raportin jälkeen: arvoa ei ole voitu perustaa siihen ja se on tarkistettava. " * 3
    head = [["Ryhmä", "Kustannuserä", "Arvo", "Lähde", "Huomio"]]
    body = [["Palvelut", f"Palvelu {i}", f"{i},0 €", "THL työpaperi 21/2021, yksikkökustannukset", note]
            for i in range(12)]
    assert len(body) <= pdf.LONG_TABLE_ROWS and pdf.is_long_table(head, body, 5)
    assert not pdf.is_long_table(head, [r[:3] + ["THL", ""] for r in body], 5)
    html = ("<table><thead><tr>" + "".join(f"<th>{h}</th>" for h in head[0]) + "</tr></thead><tbody>"
            + "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in body) + "</tbody></table>")
    assert r"\begin{longtable}" in pdf.html_table_to_latex(html)


def _tiny_pdf(path: Path, texts: list[tuple[float, float, str]], size: float = 10) -> Path:
    """A one-page A4 PDF (no TeX needed) with each text at (x, y) points from the bottom left (Helvetica)."""
    stream = "".join(f"BT /F1 {size} Tf {x} {y} Td ({t}) Tj ET\n" for x, y, t in texts).encode("latin-1")
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595.28 841.89] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>",
            b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"endstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for i, o in enumerate(objs, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + o + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    path.write_bytes(bytes(out))
    return path


def test_text_outside_the_text_block_is_caught(tmp_path):
    pytest.importorskip("pdfplumber", reason="pdfplumber (requirements.txt) is needed for the page-box check")
    banner = "Tama raportti on tehty"
    inside = [(80, 700, "Tavallinen kappale tekstiä"), (80, 90, "Viimeinen rivi"),
              (70, 40, banner), (520, 40, "12")]  # the foot: the demo notice and the page number
    assert pdf.text_outside_text_block(_tiny_pdf(tmp_path / "ok.pdf", inside), foot_words=banner.split()) == []
    bad = inside + [(80, 45, "Kotipalvelu 48 tunti"),      # a table row run on over the foot
                    (300, 400, "taulukon leveä sarake joka jatkuu reunukseen asti ja yli"),
                    (80, -20, "sivun alapuolella")]
    found = pdf.text_outside_text_block(_tiny_pdf(tmp_path / "bad.pdf", bad), foot_words=banner.split())
    where = {f["where"] for f in found}
    assert where == {"alareuna", "reunus", "sivun ulkopuolella"}, found
    assert any(f["text"] == "Kotipalvelu" and f["where"] == "alareuna" for f in found)
    assert not any(f["text"] in ("12", "Tama") for f in found)


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


def test_pilot_pages_leave_the_shared_method_text_to_the_all_pilots_chapter():
    nb = {"cells": [
        {"cell_type": "markdown", "metadata": {"tags": ["once-per-report"]},
         "source": "## Kykyviisarin muutos\n\nRyhmien ero arvioidaan menetelmällä, joka ..."},
        {"cell_type": "markdown", "metadata": {}, "source": "Tämän pilotin oma huomio."},
        {"cell_type": "code", "metadata": {}, "source": "ch.show(x)", "outputs": [
            {"output_type": "display_data", "data": {"text/markdown": "AIPW-menetelmän kuvaus"},
             "metadata": {"hbeval": {"once-per-report": True}}},
            {"output_type": "display_data", "data": {"text/markdown": "Pilotin tulos 0,4."}, "metadata": {}}]}]}
    out = pdf.once_per_report(nb)
    assert out["cells"][0]["source"] == "## Kykyviisarin muutos"          # the heading stays
    assert out["cells"][1]["source"] == "Tämän pilotin oma huomio."         # untagged prose stays
    assert [o["data"]["text/markdown"] for o in out["cells"][2]["outputs"]] == ["Pilotin tulos 0,4."]
    assert nb["cells"][0]["source"].endswith("joka ...")                    # the input is not changed


def test_report_titles_chapter_and_pilot_sections():
    def nb(title):
        return {"cells": [{"cell_type": "markdown", "metadata": {}, "source": f"{title}\n\nTeksti."}]}
    head = pdf.report_title(nb("# Kustannukset ja kustannusvaikuttavuus: Kaikki pilotit"), True)
    assert head["cells"][0]["source"].startswith("# Kustannukset ja kustannusvaikuttavuus\n")
    assert pdf.report_title(nb("# Kustannukset ja kustannusvaikuttavuus: Eksote"), False)["cells"][0]["source"] \
        .startswith("# Eksote\n")
    assert pdf.report_title(nb("# Ilman pilottia"), True)["cells"][0]["source"].startswith("# Ilman pilottia\n")


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
        first = " ".join(first.split())  # the cover's title may break across lines
        assert ph.name in first and ph.published in first  # title page: phase and its date
        assert "henkilökohtaisen budjetoinnin" in first


@pytest.mark.slow
def test_table_of_contents_outline_and_page(pdfs):
    for phase, path in pdfs["files"].items():
        xml = subprocess.run(["pdftohtml", "-xml", "-i", "-stdout", "-q", "-f", "1", "-l", "1", str(path)],
                             capture_output=True, text=True, check=True).stdout
        outline = re.findall(r"<item[^>]*>(.*?)</item>", xml)
        assert len(outline) >= 20, phase
        # the contents follow the cover, description page, tiivistelmä, abstract and foreword
        text = subprocess.run(["pdftotext", "-f", "1", "-l", "9", str(path), "-"], capture_output=True, text=True,
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


def _pages_text(path: Path) -> list[str]:
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return text.split("\f")


def _outline(path: Path) -> list[str]:
    """The top level of a PDF's outline (bookmarks): the chapters and front pages."""
    xml = subprocess.run(["pdftohtml", "-xml", "-i", "-stdout", "-q", "-f", "1", "-l", "1", str(path)],
                         capture_output=True, text=True, check=True).stdout
    depth, top = 0, []
    for token in re.finditer(r"<outline>|</outline>|<item[^>]*>(.*?)</item>", xml, re.S):
        if token.group(0) == "<outline>":
            depth += 1
        elif token.group(0) == "</outline>":
            depth -= 1
        elif depth == 1:
            top.append(html_unescape(token.group(1)).strip())
    return top


def html_unescape(s: str) -> str:
    import html

    return html.unescape(s)


@pytest.mark.slow
def test_series_order_cover_description_abstracts_then_contents(pdfs):
    """A Finnish research series report: cover, description page, tiivistelmä, abstract (foreword), contents,
    chapters, references, appendices; the web book's introduction is not printed."""
    cfg = load_config()
    for phase, path in pdfs["files"].items():
        pages = _pages_text(path)
        first_line = [next((ln.strip() for ln in p.splitlines() if ln.strip()), "") for p in pages]
        cover = pages[0]
        assert bookpages.publication(cfg, phase)["title"].split(" –")[0] in cover and "Sisällys" not in cover
        heads = ["Kuvailulehti", "Tiivistelmä", "Abstract"]
        at = [next(i for i, ln in enumerate(first_line) if ln == h) for h in heads]
        assert at[0] == 1 and at[0] < at[1] < at[2], (phase, at)  # page 2, 3, 4 … in this order
        contents = next(i for i, ln in enumerate(first_line) if ln == "Sisällys")
        assert contents > at[-1], phase
        whole = "\f".join(pages)
        # the software's introduction and its data flow are not in a report
        assert "Tekninen tausta ja toistettavuus" not in whole and "papermill" not in whole, phase
        refs = next(i for i, p in enumerate(pages) if re.search(r"^\s*(?:\d+\s+)?Lähteet\s*$", p, re.M)
                    and i > contents + 1)
        appendix = next(i for i, p in enumerate(pages) if re.search(r"^\s*(?:\d+\s+)?Liitteet\s*$", p, re.M)
                        and i > contents + 1)
        assert refs < appendix, phase
        assert "Kirjallisuutta" not in whole  # Sphinx's bibliography at the very end, under another name


@pytest.mark.slow
def test_no_heading_printed_twice(pdfs):
    for phase, path in pdfs["files"].items():
        top = _outline(path)
        assert len(top) >= 8, (phase, top)
        dupes = sorted({t for t in top if top.count(t) > 1})
        assert dupes == [], f"{phase}: chapters printed twice: {dupes}"
        assert sum(t.endswith("Arviointiasetelma") for t in top) <= 1


@pytest.mark.slow
def test_no_text_outside_the_text_block(pdfs):
    """pdfplumber: no word outside the page box, in the side margins or run on over the foot (the unit-cost table
    once ran off its page without any overfull box in the log)."""
    pytest.importorskip("pdfplumber")
    for phase, path in pdfs["files"].items():
        found = pdf.text_outside_text_block(path)
        assert found == [], f"{phase}: {len(found)} words outside the text block, e.g. {found[:5]}"


@pytest.mark.slow
def test_figures_numbered_continuously_per_report(pdfs):
    for phase, path in pdfs["files"].items():
        text = "\n".join(_pages_text(path))
        for kind in ("Kuvio", "Taulukko"):
            numbers = [int(n) for n in re.findall(rf"^\s*{kind} (\d+)\. ", text, re.M)]
            assert numbers == list(range(1, len(numbers) + 1)), (phase, kind, numbers[:30])
            assert not re.search(rf"^\s*{kind}:", text, re.M), (phase, kind)  # no unnumbered caption
        assert re.search(r"^\s*Kuvio 1\. ", text, re.M), phase


@pytest.mark.slow
def test_each_fact_once_per_report(pdfs):
    """Shared material is printed once per report and referred to from elsewhere: the unit-cost table (appendix 2;
    its row "Työtunnit kuukaudessa") and the recruitment target of the evaluation plan."""
    for phase, path in pdfs["files"].items():
        raw = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
        text = " ".join(re.sub(r"(\w)-\n(\w)", r"\1\2", raw).split())  # table cells wrap and hyphenate
        assert text.count("Työtunnit kuukaudessa") == 1, phase
        assert text.count("vähintään 150 asiakasta") <= 1, phase
        # a method shared by every page of a strand is described once, in its all-pilots chapter
        for shared in ("Ryhmien ero arvioidaan menetelmällä", "Vakioitu keskiarvojen erotus (SMD) kertoo",
                       "Tämä luku vertaa henkilökohtaisen budjetoinnin"):
            assert text.count(shared) <= 1, (phase, shared)


RAW_TOKENS = ["[nimi]", "[puhelin]", "[sähköposti]", "[osoite]", "#lainaus", "results.csv", "kehittamistyo",
              "tyoaika", "d_z", "edition", "Kirjallisuutta",
              # an object's repr or a wrapped plain-text output where the LaTeX builder found no table or prose
              "<pandas", "Styler at", "object at 0x", "0x000000000000", "Traceback", "\u2423", ",\u2192"]


@pytest.mark.slow
def test_no_raw_key_code_name_or_redaction_token(pdfs):
    for phase, path in pdfs["files"].items():
        text = " ".join("\n".join(_pages_text(path)).split())
        found = [t for t in RAW_TOKENS if t in text]
        assert found == [], phase


@pytest.mark.slow
def test_references_listed_and_every_citation_resolves(pdfs):
    for phase, path in pdfs["files"].items():
        tex = Path(pdfs["report"][phase]["log"]).with_suffix(".tex").read_text(encoding="utf-8")
        cited = set(re.findall(r"\\hyperlink\{(cite\.[^}]*)\}", tex))
        listed = re.findall(r"\\hbref\{(cite\.[^}]*)\}", tex)
        assert len(listed) >= 10, phase  # methods and domain sources
        assert cited and cited <= set(listed), (phase, sorted(cited - set(listed)))
        assert len(listed) == len(set(listed))
        text = "\n".join(_pages_text(path))
        # author–year entries (Finnish conventions), no BibTeX keys as labels, no English edition words
        assert not re.search(r"\[[A-Z][A-Za-z]+\d{2}\]", text) and "edition" not in text
        assert re.search(r"Rosenbaum, P\. R\. & Rubin, D\. B\. 1983\.", text), phase
        assert "4. painos" in text


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
    from hbeval_lib.release.privacy import check_privacy

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
