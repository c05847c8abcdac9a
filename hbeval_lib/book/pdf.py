"""PDF of each phase report (lähtötilanne, väliarviointi, loppuraportti), typeset with LaTeX from the built book.

Each PDF is a report of a Finnish research series, in this order: cover (from the configuration's publication data,
:func:`cover_latex`), description page (kuvailulehti), tiivistelmä, abstract and foreword (esipuhe) on roman-numbered
pages, the table of contents, the chapters (summary, design with the research permits, the strands, the synthesis,
discussion), the references (author–year, Finnish conventions) and the appendices. For every phase,
:func:`build_pdfs` stages a small Jupyter Book in ``<book>/_build/pdf/staging/<phase>/``:

- a table of contents with the phase's own part only (:func:`report_toc`): the web book's introduction (its front
  page, design, pilots, data-quality page and the software's technical page) is not part of a report, whose own
  design chapter and appendices carry what a reader needs — nothing is printed twice;
- the book's sources and the phase's *already executed* notebooks (execution stays off), the notebooks in the
  report's order so that figure and table captions are numbered continuously through the report
  (:func:`number_captions`). The notebooks' HTML tables (pandas Styler output) have no LaTeX form, so each gets a
  LaTeX rendition (:func:`html_table_to_latex`, passed as a raw block in a Markdown output,
  :func:`convert_notebook`): ``tabulary`` (columns share the text width and wrap) or, for tables that may not fit
  on one page (many rows, or rows that wrap into many lines, :func:`is_long_table`), ``longtable`` with paragraph
  columns sized from their content — small font, numbers right-aligned, header repeated on every page. Markdown
  tables get the same treatment (:func:`setup`, a Sphinx extension of the staged book), long code-like tokens in
  tables may break, and collapsed ``<details>`` lists of a web page become a one-line note (:func:`drop_details`);
- a ``_config.yml`` derived from the book's: the cover, Finnish (polyglossia, Finnish hyphenation), A4, page
  numbers, the demo-data notice on every page when the data are synthetic.

Then ``jupyter-book build --builder latex``; :func:`arrange_report_tex` puts the LaTeX in the series order (the front
matter before the table of contents, the reference list — which Sphinx would print at the very end as
"Kirjallisuutta" — into the references chapter) and ``latexmk`` (XeLaTeX) produces ``<book>/_build/pdf/<name>.pdf``,
copied to ``<book>/_build/html/_static/pdf/`` where the phase summary pages link them. The LaTeX log's overfull
boxes are written to ``<book>/_build/pdf/report.json``; the tests also check the PDF's text positions against the
text block of every page (:func:`text_outside_text_block`, pdfplumber), which catches a table that runs off the foot
of its page (no overfull box reports that).

TeX Live comes from the system (Debian/Ubuntu packages :data:`APT_PACKAGES`). ``hbeval pdf --install`` installs
them with apt-get when run as root; otherwise it says which ``sudo apt-get install`` to run and skips the PDFs.
"""

from __future__ import annotations

import argparse
import html as html_lib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import yaml

from hbeval_lib.book.publication import DEMO_BANNER, fi_date, publication
from hbeval_lib.config import ALL_PILOTS, REPO_ROOT, Config, load_config
from hbeval_lib.page.report import ONCE_PER_REPORT
from hbeval_lib.release import history

# Debian/Ubuntu packages: Sphinx's LaTeX needs (recommended + extra), Finnish hyphenation and babel/polyglossia
# (lang-european), XeLaTeX with FreeSerif (Unicode: true minus sign, narrow no-break space, €), latexmk;
# poppler-utils gives pdfinfo/pdftotext to the tests.
APT_PACKAGES = ["texlive-latex-recommended", "texlive-latex-extra", "texlive-fonts-recommended",
                "texlive-lang-european", "texlive-xetex", "latexmk", "fonts-freefont-otf", "poppler-utils"]
REQUIRED_PROGRAMS = ["xelatex", "latexmk", "kpsewhich", "pdfinfo", "pdftotext"]
# one file of each TeX package the build needs (kpsewhich finds them)
REQUIRED_TEX_FILES = ["tabulary.sty", "longtable.sty", "booktabs.sty", "polyglossia.sty", "gloss-finnish.ldf",
                      "hyph-fi.tex", "fncychap.sty", "titlesec.sty", "capt-of.sty", "needspace.sty", "upquote.sty",
                      "framed.sty", "fancyvrb.sty", "xcolor.sty", "fontspec.sty", "FreeSerif.otf"]

PDF_DIR = "pdf"                 # <book>/_build/pdf/: staging, PDFs, report.json
STATIC_PDF = "_static/pdf"      # <book>/_build/html/_static/pdf/: the PDFs the HTML links
MAX_TABLE_OVERFULL_PT = 1.0     # an overfull box wider than this in a table fails the build
LONG_TABLE_ROWS = 30            # body rows beyond which a table becomes a longtable (breaks across pages)
HMARGIN_CM = 2.2               # left and right page margins
VMARGIN_CM = 2.5               # top and bottom page margins (the running head and the foot sit inside them)
LINE_CHARS = 105                # characters of \footnotesize text across the text width (natural-width estimate)


class PdfError(RuntimeError):
    """A PDF could not be built (the message says which phase and why)."""


def pdf_name(phase_key: str) -> str:
    """The PDF's file name, e.g. ``hb-arviointi-loppuraportti.pdf``."""
    return f"hb-arviointi-{phase_key}.pdf"


def pdf_href(phase_key: str) -> str:
    """The link to a phase's PDF from a page in ``_generated/`` of the HTML book."""
    return f"../{STATIC_PDF}/{pdf_name(phase_key)}"


# ---------------------------------------------------------------------------------------------------------------------
# TeX Live: present, installable, or a clear message
# ---------------------------------------------------------------------------------------------------------------------
def missing_tools() -> list[str]:
    """Programs and TeX files the PDF build needs that this machine lacks (empty: ready)."""
    missing = [p for p in REQUIRED_PROGRAMS if shutil.which(p) is None]
    if shutil.which("kpsewhich"):
        proc = subprocess.run(["kpsewhich", *REQUIRED_TEX_FILES], capture_output=True, text=True)
        found = {Path(line).name for line in proc.stdout.splitlines() if line.strip()}
        missing += [f for f in REQUIRED_TEX_FILES if f not in found]
    return missing


def tools_available() -> bool:
    return not missing_tools()


def install_command() -> str:
    return "sudo apt-get update && sudo apt-get install --no-install-recommends " + " ".join(APT_PACKAGES)


def ensure_tools(install: bool = True, out=None) -> bool:
    """True when TeX Live is ready. Installs :data:`APT_PACKAGES` with apt-get when missing, ``install`` is set and
    this process is root; otherwise prints which command to run and returns False."""
    out = out or sys.stderr
    missing = missing_tools()
    if not missing:
        return True
    can_apt = install and shutil.which("apt-get") is not None and hasattr(os, "geteuid") and os.geteuid() == 0
    if can_apt:
        print(f"hbeval pdf: installing TeX Live for the PDF reports (missing: {', '.join(missing)}) ...", file=out)
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        t0 = time.monotonic()
        for cmd in (["apt-get", "update", "-qq"],
                    ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *APT_PACKAGES]):
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
            if proc.returncode != 0:
                raise PdfError(f"{' '.join(cmd[:2])} failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
        print(f"hbeval pdf: TeX Live installed in {time.monotonic() - t0:.0f} s", file=out)
        missing = missing_tools()
        if not missing:
            return True
        raise PdfError(f"after installing {' '.join(APT_PACKAGES)} still missing: {', '.join(missing)}")
    print(f"hbeval pdf: WARNING: the PDF reports are skipped: missing {', '.join(missing)}.\n"
          f"  Install TeX Live once with:\n    {install_command()}\n  and run `make book` (or `make pdf`) again.",
          file=out)
    return False


# ---------------------------------------------------------------------------------------------------------------------
# per-phase table of contents
# ---------------------------------------------------------------------------------------------------------------------
def _tokens(path: str) -> set[str]:
    return set(re.split(r"[/_.\-]+", path))


def _phase_of(path: str, phase_keys: list[str]) -> str | None:
    hit = [k for k in phase_keys if k in _tokens(path)]
    return hit[0] if hit else None


def _filter_entries(entries: list, phase: str, phase_keys: list[str]) -> list:
    kept = []
    for e in entries:
        if not isinstance(e, dict):
            continue
        target = e.get("file") or e.get("glob") or ""
        owner = _phase_of(target, phase_keys) if target else None
        if owner not in (None, phase):
            continue
        e = dict(e)
        for key in ("sections", "chapters"):
            if key in e:
                e[key] = _filter_entries(e[key], phase, phase_keys)
                if not e[key]:
                    del e[key]
        if "file" in e or "glob" in e or "url" in e or e.get("sections") or e.get("chapters"):
            kept.append(e)
    return kept


def phase_toc(toc: dict, phase: str, phase_keys: list[str]) -> dict:
    """The book's table of contents reduced to one phase: parts (and entries) of the other phases dropped.

    A part or entry belongs to a phase when its file path has the phase key as a component (``loppuraportti/…``,
    ``_generated/loppuraportti``, ``…_loppuraportti``); everything else (introduction, design, appendices) is kept.
    """
    out = {k: v for k, v in toc.items() if k not in ("parts", "chapters")}
    if "parts" in toc:
        parts = []
        for part in toc["parts"]:
            part = dict(part)
            part["chapters"] = _filter_entries(part.get("chapters", []), phase, phase_keys)
            if part["chapters"]:
                parts.append(part)
        out["parts"] = parts
    if "chapters" in toc:
        out["chapters"] = _filter_entries(toc["chapters"], phase, phase_keys)
    return out


def report_toc(toc: dict, phase: str, phase_keys: list[str]) -> dict:
    """The table of contents of one phase *report*: only the phase's own part(s), under an empty title root.

    The web book's introduction (front page, design, pilots, data quality, the software's technical page) belongs to
    no phase: a report carries its own design chapter and data appendix (``_generated/<phase>/…``), so printing the
    introduction too would put the software's data flow before the title page and the design chapter twice.
    """
    ptoc = phase_toc(toc, phase, phase_keys)
    out = {k: v for k, v in ptoc.items() if k not in ("parts", "chapters", "root")}
    out["root"] = PDF_ROOT

    def own(entries):
        return [e for e in entries if _phase_of(e.get("file") or e.get("glob") or "", phase_keys) == phase]

    if "parts" in ptoc:
        parts = [dict(p, chapters=own(p.get("chapters", []))) for p in ptoc["parts"]]
        out["parts"] = [p for p in parts if p["chapters"]]
    if "chapters" in ptoc:
        out["chapters"] = own(ptoc["chapters"])
    return out


PDF_ROOT = "_hbeval_pdf_root"


def with_title_root(toc: dict) -> dict:
    """A table of contents whose root is an empty title page (:data:`PDF_ROOT`) and whose first chapter is the book's
    root page: Sphinx's LaTeX drops the root page's title and would leave its text outside every chapter."""
    toc = json.loads(json.dumps(toc))
    root = toc.get("root")
    if not root:
        return toc
    toc["root"] = PDF_ROOT
    if toc.get("parts"):
        toc["parts"][0].setdefault("chapters", []).insert(0, {"file": root})
    else:
        toc.setdefault("chapters", []).insert(0, {"file": root})
    return toc


def toc_files(toc: dict) -> list[str]:
    """Every ``file`` of a table of contents (root first)."""
    files = [toc["root"]] if toc.get("root") else []

    def walk(entries):
        for e in entries or []:
            if isinstance(e, dict):
                if e.get("file"):
                    files.append(e["file"])
                walk(e.get("sections"))
                walk(e.get("chapters"))

    for part in toc.get("parts", []) or []:
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return files


# ---------------------------------------------------------------------------------------------------------------------
# HTML tables of executed notebooks → LaTeX
# ---------------------------------------------------------------------------------------------------------------------
class _TableParser(HTMLParser):
    """The tables of an HTML fragment: header rows and body rows of cells ``(text, colspan, rowspan)``."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tables: list[dict] = []
        self._in_style = False
        self._section = "body"
        self._row: list | None = None
        self._cell: list | None = None
        self._span = (1, 1)
        self._caption: list | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "style":
            self._in_style = True
        elif tag == "table":
            self.tables.append({"head": [], "body": [], "caption": ""})
            self._section = "body"
        elif tag == "thead":
            self._section = "head"
        elif tag in ("tbody", "tfoot"):
            self._section = "body"
        elif tag == "caption":
            self._caption = []
        elif tag == "tr" and self.tables:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
            spans = []
            for key in ("colspan", "rowspan"):
                try:
                    spans.append(max(1, int(a.get(key) or 1)))
                except ValueError:
                    spans.append(1)
            self._span = (spans[0], spans[1])
        elif tag == "br" and self._cell is not None:
            self._cell.append(" ")

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False
        elif tag == "caption" and self._caption is not None and self.tables:
            self.tables[-1]["caption"] = " ".join("".join(self._caption).split())
            self._caption = None
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append((" ".join("".join(self._cell).split()), *self._span))
            self._cell = None
        elif tag == "tr" and self._row is not None and self.tables:
            if self._row:
                self.tables[-1][self._section].append(self._row)
            self._row = None
        elif tag == "thead":
            self._section = "body"

    def handle_data(self, data):
        if self._in_style:
            return
        if self._cell is not None:
            self._cell.append(data)
        elif self._caption is not None:
            self._caption.append(data)


def parse_html_tables(html: str) -> list[dict]:
    p = _TableParser()
    p.feed(html)
    p.close()
    return p.tables


_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#",
                  "^": r"\textasciicircum{}", "_": r"\_", "%": r"\%", "~": r"\textasciitilde{}"}


ZWSP = "\u200b"  # zero-width space: the preamble makes it a line-break opportunity
_LONG_TOKEN = re.compile(r"\S{13,}")


def breakable(text: str) -> str:
    """Long tokens (identifiers, paths, URLs) may break after ``.``, ``_``, ``/`` or ``-`` (a zero-width space)."""
    return _LONG_TOKEN.sub(lambda m: re.sub(r"([._/\-])(?=\S)", "\\1" + ZWSP, m.group(0)), text)


def latex_escape(text: str) -> str:
    """Text for LaTeX (XeLaTeX reads Unicode; only the special characters are escaped); long tokens may break."""
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in breakable(text))


_NUMERIC = re.compile(r"^[\s\d,.\u2212\-–+%€…()<>\u202f\u00a0/]*$")


def _is_numeric_column(cells: list[str]) -> bool:
    filled = [c for c in cells if c.strip()]
    return bool(filled) and all(_NUMERIC.match(c) for c in filled) and any(re.search(r"\d", c) for c in filled)


def _grid(rows: list[list[tuple[str, int, int]]], repeat: bool = False) -> list[list[str]]:
    """Rows of cells with column and row spans as a grid of texts: a spanned cell's text in its first position
    (``repeat``: in every position it covers), the positions it covers to the right and below empty."""
    grid, pending = [], {}  # column -> (text, rows still covered)
    for row in rows:
        out: dict[int, str] = {}
        for col, (text, left) in list(pending.items()):
            out[col] = text if repeat else ""
            if left > 1:
                pending[col] = (text, left - 1)
            else:
                del pending[col]
        col = 0
        for text, colspan, rowspan in row:
            while col in out:
                col += 1
            for k in range(colspan):
                out[col + k] = text if (k == 0 or repeat) else ""
                if rowspan > 1:
                    pending[col + k] = (text, rowspan - 1)
            col += colspan
        grid.append([out.get(i, "") for i in range(max(out) + 1)] if out else [])
    return grid


def _merge_header(rows: list[list[str]], ncol: int) -> list[str]:
    """Several header rows (column levels, the index name) as one: per column, its distinct texts in order."""
    merged = []
    for j in range(ncol):
        parts = []
        for r in rows:
            t = r[j].strip() if j < len(r) else ""
            if t and t not in parts:
                parts.append(t)
        merged.append(" ".join(parts))
    return merged


def _cell(text: str) -> str:
    # \hspace{0pt}: TeX does not hyphenate a paragraph's first word without glue before it
    return r"\hspace{0pt}" + latex_escape(text) if text else ""


def table_to_latex(table: dict) -> str:
    """One parsed table as LaTeX: ``tabulary`` (short) or ``longtable`` (long), small font, header on every page."""
    head = _grid(table["head"], repeat=True)
    body = _grid(table["body"])
    ncol = max((len(r) for r in head + body), default=0)
    if ncol == 0:
        return ""
    body = [r + [""] * (ncol - len(r)) for r in body]
    head = [_merge_header(head, ncol)] if head else []
    numeric = [_is_numeric_column([r[j] for r in body]) for j in range(ncol)]

    def row_tex(cells, bold=False):
        parts = [(r"\sphinxstyletheadfamily " if bold else "") + _cell(c) for c in cells]
        return " & ".join(parts) + r" \\"

    lines = [r"\begin{hbtablebox}"]
    if table.get("caption"):
        lines.append(r"\hbtablecaption{" + latex_escape(table["caption"]) + "}")
    head_tex = [row_tex(r, bold=True) for r in head]
    if not is_long_table(head, body, ncol):
        spec = "".join("R" if n else "L" for n in numeric)
        lines += [r"\begin{tabulary}{\linewidth}[t]{@{}" + spec + "@{}}", r"\toprule"]
        if head_tex:
            lines += head_tex + [r"\midrule"]
        lines += [row_tex(r) for r in body] + [r"\bottomrule", r"\end{tabulary}"]
    else:
        shares = column_widths(head, body, ncol)
        if shares is None:
            spec = "@{}" + "".join("r" if n else "l" for n in numeric) + "@{}"
        else:
            cols = []
            for j, frac in enumerate(shares):
                align = r"\raggedleft" if numeric[j] else r"\raggedright"
                cols.append(rf">{{{align}\arraybackslash}}p{{\dimexpr {frac:.4f}\linewidth-2\tabcolsep\relax}}")
            spec = "".join(cols)
        lines += [r"\begin{longtable}[l]{" + spec + "}", r"\toprule"]
        if head_tex:
            lines += head_tex + [r"\midrule", r"\endfirsthead", r"\toprule"] + head_tex + [r"\midrule", r"\endhead"]
        lines += [r"\bottomrule", r"\endlastfoot"]
        lines += [row_tex(r) for r in body] + [r"\end{longtable}"]
    lines.append(r"\end{hbtablebox}")
    return "\n".join(lines) + "\n"


def html_table_to_latex(html: str) -> str | None:
    """The LaTeX of every table in an HTML output, or None when it holds no table."""
    tables = parse_html_tables(html)
    if not tables:
        return None
    return "\n".join(table_to_latex(t) for t in tables)


_CAPTION = re.compile(r"^(?P<pre>\s*\*{0,2})(?P<kind>Kuvio|Taulukko)(?: \d+\.|:)[ \t]*(?P<first>\S?)")


def number_captions(nb: dict, counters: dict) -> dict:
    """Captions numbered continuously through a report: a Markdown output that starts with ``Kuvio:`` /
    ``Kuvio 3.`` (or ``Taulukko``, also in italics) gets the next number of its kind from ``counters`` (shared by
    every page of the report, in the order of its table of contents)."""
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []) or []:
            data = out.get("data") or {}
            md = data.get("text/markdown")
            if md is None:
                continue
            md = "".join(md) if isinstance(md, list) else md

            def sub(m):
                counters[m["kind"]] = counters.get(m["kind"], 0) + 1
                return f"{m['pre']}{m['kind']} {counters[m['kind']]}. {m['first'][:1].upper()}{m['first'][1:]}"

            new = _CAPTION.sub(sub, md, count=1)
            if new != md:
                data["text/markdown"] = new
    return nb


def report_title(nb: dict, all_pilots: bool) -> dict:
    """The page title as the report prints it: the web page's "<strand title>: <pilot>" (cache.finalise_notebook)
    is the chapter title alone on the all-pilots page (it heads the chapter and its running header) and the pilot's
    name alone on a pilot's section (``3.9 Eksote`` under the chapter)."""
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "markdown":
            continue
        src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        lines = src.split("\n")
        for i, line in enumerate(lines):
            if line.startswith("# ") and ": " in line:
                title, who = line[2:].rsplit(": ", 1)
                lines[i] = f"# {title}" if all_pilots else f"# {who}"
                cell["source"] = "\n".join(lines)
                return nb
        return nb
    return nb


def once_per_report(nb: dict) -> dict:
    """A pilot page for the PDF: text that describes a method shared by every page of the strand (Markdown cells
    tagged ``once-per-report`` and outputs so marked by :func:`hbeval_lib.page.report.say`) is left out — the
    report prints it once, in the strand's all-pilots chapter; a tagged cell keeps its headings."""
    cells = []
    for cell in nb.get("cells", []):
        tags = (cell.get("metadata") or {}).get("tags") or []
        if cell.get("cell_type") == "markdown" and ONCE_PER_REPORT in tags:
            src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            headings = [line for line in src.split("\n") if line.startswith("#")]
            if not headings:
                continue
            cell = {**cell, "source": "\n\n".join(headings)}
        elif cell.get("outputs"):
            cell = {**cell, "outputs": [o for o in cell["outputs"]
                                        if not ((o.get("metadata") or {}).get("hbeval") or {}).get(ONCE_PER_REPORT)]}
        cells.append(cell)
    return {**nb, "cells": cells}


_NOTE = re.compile(r'<p class="hbeval-note"><em>(.*?)</em></p>', re.S)


def convert_notebook(nb: dict) -> dict:
    """A notebook whose HTML table outputs also carry a LaTeX rendition (other outputs unchanged).

    myst-nb renders ``text/latex`` as math, so the LaTeX goes into a ``text/markdown`` output holding a MyST
    ``{raw} latex`` block (the LaTeX builder prefers Markdown to plain text and ignores HTML); the cell is marked
    to render its Markdown as MyST (``mystnb.markdown_format``), which knows the ``raw`` directive.
    """
    for cell in nb.get("cells", []):
        converted = False
        for out in cell.get("outputs", []) or []:
            data = out.get("data") or {}
            html = data.get("text/html")
            if html is None or "text/markdown" in data:
                continue
            html = "".join(html) if isinstance(html, list) else html
            tex = html_table_to_latex(html)
            if tex is not None:
                # a note under the table (rows left out, hbeval_lib.page.readable.note_html) is printed under it
                notes = [html_lib.unescape(n) for n in _NOTE.findall(html)]
                data["text/markdown"] = "```{raw} latex\n" + tex + "```\n" + "".join(f"\n*{n}*\n" for n in notes)
                converted = True
        if converted:
            cell.setdefault("metadata", {}).setdefault("mystnb", {})["markdown_format"] = "myst"
    return nb


# ---------------------------------------------------------------------------------------------------------------------
# LaTeX configuration of a phase report
# ---------------------------------------------------------------------------------------------------------------------
PREAMBLE = r"""
\usepackage{tabulary}
\setlength{\emergencystretch}{2em}
% tables: small type, booktabs rules, cells that may hyphenate
\newenvironment{hbtablebox}{\par\medskip\begingroup\footnotesize\setlength{\tabcolsep}{4pt}%
  \renewcommand{\arraystretch}{1.15}\noindent\ignorespaces}{\endgroup\par\medskip}
\newcommand{\hbtablecaption}[1]{\par\noindent\textbf{#1}\par\smallskip}
\makeatletter
\g@addto@macro\sphinxattablestart{\footnotesize}
\g@addto@macro\sphinxatlongtablestart{\footnotesize}
\makeatother
\setlength{\tymin}{3em}
\setlength{\headheight}{14pt}
% a zero-width space (hbeval_lib.book.pdf.breakable) is a line-break opportunity
\catcode`^^^^200b\active\protected\def^^^^200b{\hskip0pt\relax}
% "Sisällys", not the caption of the book's first part; Finnish for the strings Sphinx has no Finnish for
\addto\captionsfinnish{\renewcommand{\contentsname}{Sisällys}}
\renewcommand{\literalblockcontinuedname}{jatkoa edelliseltä sivulta}
\renewcommand{\literalblockcontinuesname}{jatkuu seuraavalla sivulla}
\def\pageautorefname{sivu}
\addto\captionsfinnish{\renewcommand{\figurename}{Kuvio }\renewcommand{\tablename}{Taulukko }%
  \renewcommand{\literalblockname}{Listaus}}
"""


def _demo_notice(book_dir: Path) -> str:
    info = book_dir / "_generated" / "build.json"
    if not info.exists():
        return ""
    data = json.loads(info.read_text(encoding="utf-8"))
    return data.get("banner", "") if data.get("demo") else ""


def latex_settings(phase_name: str, published: str, book_title: str, demo_notice: str, cover: str = "") -> dict:
    """Sphinx ``latex_*`` settings of one phase report (merged into the staged ``_config.yml``).

    ``cover``: the LaTeX of the cover page (:func:`cover_latex`); the table of contents is then placed by
    :func:`arrange_report_tex` after the front matter (description page, tiivistelmä, abstract, foreword)."""
    notice = latex_escape(demo_notice)
    foot = (r"\fancyfoot[L]{\parbox[b]{0.88\linewidth}{\raggedright\py@HeaderFamily\scriptsize " + notice + "}}"
            if notice else "")
    preamble = PREAMBLE + r"""
\makeatletter
% the phase is the title page's subtitle (Sphinx's "release" line)
\AtBeginDocument{\renewcommand{\py@release}{""" + latex_escape(phase_name) + r"""}}
% page numbers at the foot of every page, the chapter in the head; the demo-data notice when the data are synthetic
\fancypagestyle{normal}{\fancyhf{}\fancyfoot[R]{{\py@HeaderFamily\thepage}}""" + foot + r"""
  \fancyhead[L]{{\py@HeaderFamily\nouppercase{\leftmark}}}
  \renewcommand{\headrulewidth}{0.4pt}\renewcommand{\footrulewidth}{0.4pt}}
\fancypagestyle{plain}{\fancyhf{}\fancyfoot[R]{{\py@HeaderFamily\thepage}}""" + foot + r"""
  \renewcommand{\headrulewidth}{0pt}\renewcommand{\footrulewidth}{0.4pt}}
\makeatother
"""
    return {
        # title page: the book title, the phase as subtitle (release), its publication date and the demo notice
        # (Sphinx writes ``today`` into \date{} as it is)
        "today": latex_escape(published) + (r"\\[2cm]{\normalsize\bfseries " + notice + "}"
                                            if notice else ""),
        "latex_engine": "xelatex",
        "latex_use_xindy": False,
        "latex_domain_indices": False,
        "latex_show_urls": "no",
        "latex_show_pagerefs": False,
        "latex_table_style": ["booktabs", "colorrows"],
        "latex_elements": {
            "papersize": "a4paper",
            "pointsize": "11pt",
            "polyglossia": r"\usepackage{polyglossia}",
            "babel": "",
            "fontpkg": r"\setmainfont{FreeSerif}[Ligatures=TeX]\setsansfont{FreeSans}\setmonofont{FreeMono}",
            "fncychap": r"\usepackage[Sonny]{fncychap}",
            "preamble": preamble,
            "printindex": "",
            "makeindex": "",
            "releasename": "",
            "figure_align": "H",
            "sphinxsetup": (f"hmargin={{{HMARGIN_CM}cm,{HMARGIN_CM}cm}}, vmargin={{{VMARGIN_CM}cm,{VMARGIN_CM}cm}}, "
                            "marginpar=1cm"),
            "extraclassoptions": "openany,oneside",
            **({"maketitle": cover, "tableofcontents": ""} if cover else {}),
        },
    }


def staged_config(book_config: dict, phase_key: str, phase_name: str, published: str, demo_notice: str,
                  cover: str = "") -> dict:
    """The book's ``_config.yml`` turned into one phase report's (title, LaTeX document, settings)."""
    cfg = json.loads(json.dumps(book_config))  # deep copy
    title = cfg.get("title", "")
    latex = cfg.setdefault("latex", {})
    latex["latex_engine"] = "xelatex"
    latex["use_jupyterbook_latex"] = False  # its class loads tikz, pgfplots and bbm and overrides the page size
    # the title (LaTeX): the book's on the title page, "<book>: <phase>" in the PDF's metadata
    latex["latex_documents"] = {"targetname": f"{phase_key}.tex",
                                "title": latex_escape(title) + r"\texorpdfstring{}{: " + latex_escape(phase_name) + "}"}
    cfg["exclude_patterns"] = list(cfg.get("exclude_patterns", [])) + ["_build"]
    sphinx = cfg.setdefault("sphinx", {})
    sphinx["extra_extensions"] = list(sphinx.get("extra_extensions") or []) + ["hbeval_lib.book.pdf"]
    # the stale check guards the HTML build of the executed notebooks; a PDF is staged from that checked build
    if isinstance(sphinx.get("local_extensions"), dict):
        sphinx["local_extensions"] = {k: v for k, v in sphinx["local_extensions"].items() if k != "hbeval_stale"}
    sphinx_cfg = sphinx.setdefault("config", {})
    sphinx_cfg["hbeval_pdf_digest"] = _module_digest()
    for key, value in latex_settings(phase_name, published, title, demo_notice, cover).items():
        if key == "latex_elements":
            merged = dict(sphinx_cfg.get("latex_elements") or {})
            merged.update(value)
            sphinx_cfg[key] = merged
        elif key != "latex_engine":
            sphinx_cfg[key] = value
    return cfg


# ---------------------------------------------------------------------------------------------------------------------
# Sphinx extension (loaded by the staged book only): long Markdown tables get column widths
# ---------------------------------------------------------------------------------------------------------------------
def column_widths(head: list[list[str]], body: list[list[str]], ncol: int) -> list[float] | None:
    """Shares of the text width for a table's columns, or None when the table fits at natural width.

    Widths are estimated in characters. A column never gets less than its longest word (headers are set in bold
    sans, a little wider); number columns keep their natural width; the text columns share the rest in proportion
    to their longest cell (capped at 45 characters, so one long sentence does not take the whole line).
    """
    cols = [[r[j] for r in head + body if j < len(r)] for j in range(ncol)]
    numeric = [_is_numeric_column([r[j] for r in body if j < len(r)]) for j in range(ncol)]
    natural = [max([len(c) for c in col] + [1]) for col in cols]
    if sum(natural) + 2 * ncol <= LINE_CHARS:
        return None
    min_w = []
    for j in range(ncol):
        body_word = max((len(w) for r in body if j < len(r) for w in r[j].split()), default=1)
        head_word = max((len(w) for r in head if j < len(r) for w in r[j].split()), default=1)
        min_w.append(max(body_word, int(head_word * 1.15 + 0.99), 2))
    avail = LINE_CHARS - 2 * ncol
    widths = [float(max(natural[j] + 1, min_w[j])) if numeric[j] else 0.0 for j in range(ncol)]
    text = [j for j in range(ncol) if not numeric[j]]
    rest = avail - sum(widths)
    share = {j: max(min(natural[j], 45), min_w[j]) for j in text}
    # text columns: proportional to their share, never below their longest word (fix those first, then re-share)
    fixed: set[int] = set()
    while text:
        free = [j for j in text if j not in fixed]
        if not free:
            break
        budget = rest - sum(widths[j] for j in fixed)
        total = sum(share[j] for j in free)
        too_narrow = [j for j in free if budget * share[j] / total < min_w[j]]
        if not too_narrow:
            for j in free:
                widths[j] = budget * share[j] / total
            break
        for j in too_narrow:
            widths[j] = float(min_w[j])
            fixed.add(j)
    # a share of the line includes the column's separation (2 × \tabcolsep ≈ 2 characters)
    total = sum(widths) + 2 * ncol
    return [(w + 2) / total for w in widths]


PAGE_TABLE_LINES = 90  # estimated lines of \footnotesize table body beyond which a table cannot fit on one page:
                       # it becomes a longtable (breaks across pages) whatever its row count. A page holds about 55
                       # such lines; the estimate counts narrow columns' wrapping generously (tabulary gives them more
                       # room), so a table that fits (the data-quality page's 9-column table, about 70) stays a
                       # tabulary; the PDF tests check every page's text positions (text_outside_text_block)


def table_lines(head: list[list[str]], body: list[list[str]], ncol: int) -> int:
    """Estimated printed lines of a table's body: per row, the most lines any of its cells wraps into at the column
    widths of :func:`column_widths` (one line per row when the table fits at natural width), plus one per header
    row."""
    shares = column_widths(head, body, ncol)
    if shares is None:
        return len(head) + len(body)
    chars = [max(1.0, s * LINE_CHARS - 2) for s in shares]
    total = len(head)  # header rows: a few lines, repeated on every page of a longtable anyway
    for row in body:
        total += max([1] + [-(-len(cell) // int(chars[j])) for j, cell in enumerate(row[:ncol]) if cell])
    return total


def is_long_table(head: list[list[str]], body: list[list[str]], ncol: int) -> bool:
    """A table that must break across pages: many rows, or rows that wrap into more lines than a page holds."""
    return len(body) > LONG_TABLE_ROWS or table_lines(head, body, ncol) > PAGE_TABLE_LINES


def size_long_tables(app, doctree) -> None:
    """Give the long tables of Markdown pages column widths from their content.

    Sphinx sets a table of more than 30 rows as ``longtable``; without given widths (MyST's tables have none) its
    columns are ``l`` — never wrapped, so a wide table runs off the page. Tables that fit at natural width keep it.
    """
    from docutils import nodes

    for table in doctree.findall(nodes.table):
        tgroups = [t for t in table.children if isinstance(t, nodes.tgroup)]
        if not tgroups:
            continue
        tgroup = tgroups[0]
        colspecs = [c for c in tgroup.children if isinstance(c, nodes.colspec)]
        bodies = [b for b in tgroup.children if isinstance(b, nodes.tbody)]
        if not colspecs or "colwidths-given" in table["classes"]:
            continue

        def texts(part):
            return [[e.astext() for e in row.children if isinstance(e, nodes.entry)] for row in part.findall(nodes.row)]

        heads = [t for t in tgroup.children if isinstance(t, nodes.thead)]
        head_rows = [r for h in heads for r in texts(h)]
        body_rows = [r for b in bodies for r in texts(b)]
        if not is_long_table(head_rows, body_rows, len(colspecs)):
            continue
        # Sphinx sets a table as longtable when it has more than 30 rows or the class "longtable": a table of
        # fewer, tall rows (a unit-cost table with sources) would otherwise run off the foot of its page
        if "longtable" not in table["classes"]:
            table["classes"] = list(table["classes"]) + ["longtable"]
        shares = column_widths(head_rows, body_rows, len(colspecs))
        if shares is None:
            continue
        for spec, w in zip(colspecs, shares):
            spec["colwidth"] = max(1, round(1000 * w))
        table["classes"] = [c for c in table["classes"] if c != "colwidths-auto"] + ["colwidths-given"]


def break_long_tokens(app, doctree) -> None:
    """Text in tables may break inside long tokens (code keys, paths, URLs): see :func:`breakable`."""
    from docutils import nodes

    for table in doctree.findall(nodes.table):
        for text in list(table.findall(nodes.Text)):
            new = breakable(str(text))
            if new != str(text):
                text.parent.replace(text, nodes.Text(new))


def _module_digest() -> str:
    import hashlib

    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]


def setup(app):
    # the staged book's config carries this module's digest: a change of the table sizing re-reads every page
    # (Sphinx keeps the doctrees of a staged book between builds and would not run doctree-read again)
    app.add_config_value("hbeval_pdf_digest", "", "env")
    app.connect("doctree-read", size_long_tables)
    app.connect("doctree-read", break_long_tokens)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}


# ---------------------------------------------------------------------------------------------------------------------
# staging and building
# ---------------------------------------------------------------------------------------------------------------------
_DETAILS = re.compile(r"^<details>.*?^</details>[ \t]*$(?:\s*^<details>.*?^</details>[ \t]*$)*", re.S | re.M)
DETAILS_NOTE = "*Koko luettelo on raportin verkkoversiossa (avattava osio).*"


def drop_details(md: str) -> str:
    """A page for print: collapsed ``<details>`` blocks (long lists the web page hides; consecutive ones together)
    become a one-line note."""
    return _DETAILS.sub(DETAILS_NOTE, md)


def _copy_if_changed(src: Path, dst: Path) -> None:
    if dst.exists() and dst.stat().st_size == src.stat().st_size and dst.read_bytes() == src.read_bytes():
        return
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src, dst)


def _write_if_changed(dst: Path, text: str) -> None:
    if dst.exists() and dst.read_text(encoding="utf-8") == text:
        return
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(dst.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, dst)


def stage_phase(book_dir: Path, phase_key: str, cfg: Config) -> Path:
    """``<book>/_build/pdf/staging/<phase>/``: the phase report's sources (see the module docstring)."""
    book_dir = Path(book_dir)
    phase_keys = [p.key for p in cfg.phases]
    phase = cfg.phase(phase_key)
    dest = book_dir / "_build" / PDF_DIR / "staging" / phase_key
    toc = yaml.safe_load((book_dir / "_toc.yml").read_text(encoding="utf-8"))
    ptoc = report_toc(toc, phase_key, phase_keys)
    book_config = yaml.safe_load((book_dir / "_config.yml").read_text(encoding="utf-8"))
    # the book's sources: everything but builds, hidden folders and the other phases' executed notebooks
    notebooks: dict[str, Path] = {}
    for src in sorted(book_dir.rglob("*")):
        rel = src.relative_to(book_dir)
        top = rel.parts[0]
        if (top in ("_build", "_config.yml", "_toc.yml") or top.startswith(".")
                or (top in phase_keys and top != phase_key) or "__pycache__" in rel.parts
                or ".ipynb_checkpoints" in rel.parts or not src.is_file() or src.suffix == ".cachekey"):
            continue
        if src.suffix == ".md":
            _write_if_changed(dest / rel, drop_details(src.read_text(encoding="utf-8")))
        elif src.suffix == ".ipynb" and top == phase_key:
            notebooks[rel.with_suffix("").as_posix()] = src
        else:
            _copy_if_changed(src, dest / rel)
    # the notebooks in the report's order: figure and table numbers run through the report
    counters: dict = {}
    order = toc_files(ptoc)
    for name in sorted(notebooks, key=lambda k: (order.index(k) if k in order else len(order), k)):
        src = notebooks[name]
        nb = report_title(json.loads(src.read_text(encoding="utf-8")), src.stem == ALL_PILOTS)
        if src.stem != ALL_PILOTS:
            nb = once_per_report(nb)   # a pilot's section: the method text is in the all-pilots chapter above it
        nb = convert_notebook(number_captions(nb, counters))
        _write_if_changed(dest / src.relative_to(book_dir), json.dumps(nb, ensure_ascii=False, indent=1))
    missing = [f for f in toc_files(ptoc)[1:] if not any((dest / f).with_suffix(s).exists() for s in (".md", ".ipynb"))
               and not (dest / f).exists()]
    if missing:
        raise PdfError(f"{phase.name}: the table of contents names pages that do not exist: {', '.join(missing)} "
                       "(run `hbeval build` first)")
    _write_if_changed(dest / f"{PDF_ROOT}.md", f"# {book_config.get('title', '')}\n")
    _write_if_changed(dest / "_toc.yml", yaml.safe_dump(ptoc, allow_unicode=True, sort_keys=False))
    staged = staged_config(book_config, phase_key, phase.name, phase.published, _demo_notice(book_dir),
                           cover_latex(cfg, phase_key, _demo_notice(book_dir)))
    _write_if_changed(dest / "_config.yml", yaml.safe_dump(staged, allow_unicode=True, sort_keys=False))
    return dest


def cover_latex(cfg: Config, phase_key: str, demo_notice: str = "") -> str:
    """The cover page of a phase report (LaTeX) from the configuration's publication data: series and number,
    title, the report's name, authors, publisher, place and year, the data's cut-off date, the demo-data notice."""
    ph = cfg.phase(phase_key)
    pub = publication(cfg, phase_key)
    title = pub.get("title") or cfg.section("title", "") or "Arviointiraportti"
    subtitle = pub.get("subtitle") or ph.name
    series = " ".join(str(x) for x in (pub.get("series"), pub.get("number")) if x)
    date = pub.get("date")
    year = getattr(date, "year", None) or ph.cutoff.year
    # the PDF's metadata: "<title>: <phase>" and the authors (Sphinx's own \sphinxmaketitle would set them)
    def plain(text: str) -> str:  # metadata: escaped, without the break points of latex_escape
        return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)

    meta = (r"\hypersetup{pdftitle={" + plain(f"{title}: {ph.name}") + "}, pdfauthor={"
            + plain(", ".join(str(a) for a in pub.get("authors") or [])) + "}}")
    lines = [meta, r"\begin{titlepage}", r"\pagestyle{empty}\thispagestyle{empty}", r"\raggedright\sffamily"]
    if series:
        lines.append(r"{\small " + latex_escape(series) + r"\par}")
    lines += [r"\vspace*{4cm}", r"{\bfseries\huge " + latex_escape(title) + r"\par}", r"\vspace{1cm}",
              r"{\Large " + latex_escape(subtitle) + r"\par}", r"\vspace{0.5cm}",
              r"{\normalsize " + latex_escape(f"{ph.name}: aineisto {fi_date(ph.cutoff)} asti, julkaistu "
                                              f"{ph.published}") + r"\par}", r"\vspace{1.5cm}"]
    for author in pub.get("authors") or []:
        lines.append(r"{\large " + latex_escape(str(author)) + r"\par}")
    lines.append(r"\vfill")
    if demo_notice:
        lines += [r"{\normalsize\bfseries " + latex_escape(demo_notice) + r"\par}", r"\vspace{1cm}"]
    imprint = ", ".join(str(x) for x in (pub.get("publisher"), pub.get("place"), year) if x)
    lines += [r"{\small " + latex_escape(imprint) + r"\par}", r"\end{titlepage}"]
    return "\n".join(lines) + "\n"


_DOC_LABEL = re.compile(r"\\label\{\\detokenize\{([^{}]*?)::doc\}\}")
_BIBLIOGRAPHY = re.compile(r"\\begin\{sphinxthebibliography\}\{[^\n]*\}\n(?P<body>.*?)\\end\{sphinxthebibliography\}\n?",
                           re.S)
_BIBITEM = re.compile(r"\\bibitem\[[^\n]*?\]\{(?P<key>[^\n]*)\}\n(?:\\sphinxAtStartPar\n)?")
_SECTION = re.compile(r"\\section\{(?P<title>.*?)\}\n(?P<label>\\label\{[^\n]*\})?", re.S)
_ADMONITION = re.compile(r"\\begin\{sphinxadmonition\}.*?\\end\{sphinxadmonition\}\n?", re.S)
FRONT_CHAPTERS = ("kansi",)     # the doc (``_generated/<phase>/kansi``) whose sections are the report's front matter
REFERENCES_DOC = "lahteet"      # the doc (``_generated/<phase>/lahteet``) that gets the reference list

REPORT_TEX_MACROS = r"""
% front matter pages (description page, tiivistelmä, abstract, foreword): unnumbered, a bookmark, no toc line
\newcommand{\hbfrontpage}[1]{\clearpage\chapter*{#1}\phantomsection\pdfbookmark[0]{#1}{hbfront.#1}}
% the reference list: author–year (no labels), hanging indent; each entry keeps the citations' link target
\newenvironment{hbreferences}{\begin{list}{}{\setlength{\leftmargin}{1.5em}\setlength{\itemindent}{-1.5em}%
  \setlength{\itemsep}{0.6ex}\setlength{\parsep}{0pt}}\raggedright}{\end{list}}
\newcommand{\hbref}[1]{\item\hypertarget{#1}{}\ignorespaces}
"""


def _front_matter(chunk: str) -> str:
    """The front-matter doc (title, description page, tiivistelmä, abstract, foreword) as front pages: its own
    title and the lines that repeat the cover dropped (a note, e.g. "example data", kept on the first page), each
    section a page of its own."""
    first = _SECTION.search(chunk)
    if not first:
        return ""
    notes = "".join(_ADMONITION.findall(chunk[:first.start()]))
    body = chunk[first.start():]
    out, pos, n = [], 0, 0
    for m in _SECTION.finditer(body):
        out.append(body[pos:m.start()])
        out.append(r"\hbfrontpage{" + m["title"] + "}" + (m["label"] or "") + "\n")
        if n == 0 and notes:
            out.append(notes)
        n += 1
        pos = m.end()
    out.append(body[pos:])
    return "".join(out)


def _reference_list(bib_body: str) -> str:
    """``sphinxthebibliography``'s items as an author–year list (no labels), sorted by author and year."""
    items = []
    parts = _BIBITEM.split(bib_body)
    # split gives [before, key1, text1, key2, text2, ...]
    for key, text in zip(parts[1::2], parts[2::2]):
        items.append((key.strip(), text.strip()))
    items.sort(key=lambda kt: re.sub(r"\\[a-zA-Z]+\{?|[{}]", "", kt[1]).casefold())
    lines = [r"\begin{hbreferences}"]
    lines += [r"\hbref{cite." + key + "}" + text for key, text in items]
    lines.append(r"\end{hbreferences}")
    return "\n".join(lines) + "\n"


def arrange_report_tex(tex: str, phase_key: str) -> str:
    """A phase report's LaTeX in the order of a Finnish research series: cover (the ``maketitle`` of
    :func:`cover_latex`), description page, tiivistelmä, abstract and foreword (the sections of the front-matter
    doc, roman page numbers), the table of contents, the chapters (arabic page numbers from 1), the references in
    their own chapter (Sphinx puts the bibliography at the very end, as "Kirjallisuutta") and the appendices.

    Without a front-matter doc (a small test book) only the table of contents is put back after the title page."""
    begin = tex.find("\\begin{document}")
    end = tex.rfind("\\end{document}")
    if begin < 0 or end < 0:
        return tex
    preamble, body, tail = tex[:begin], tex[begin:end], tex[end:]
    bib = _BIBLIOGRAPHY.search(body)
    refs = _reference_list(bib["body"]) if bib else ""
    if bib:
        body = body[:bib.start()] + body[bib.end():]
    chunks = body.split("\\sphinxstepscope\n")
    head, docs = chunks[0], chunks[1:]
    front, kept = "", []
    for chunk in docs:
        m = _DOC_LABEL.search(chunk)
        doc = m.group(1) if m else ""
        name = doc.rsplit("/", 1)[-1]
        if name in FRONT_CHAPTERS and doc.startswith("_generated/") and not front:
            front = _front_matter(chunk)
            continue
        if name == REFERENCES_DOC and refs and m:
            chunk = chunk[:m.end()] + "\n" + refs + chunk[m.end():]
            refs = ""
        kept.append(chunk)
    toc = ("\\clearpage\\pagestyle{plain}\n{\\parskip=0pt\\tableofcontents}\n"
           "\\clearpage\\pagenumbering{arabic}\\pagestyle{normal}\n")
    if front:
        toc = "\\clearpage\\pagenumbering{roman}\\pagestyle{plain}\n" + front + toc
    else:
        toc = "\\pagenumbering{roman}" + toc
    if refs:  # no references doc: the list at the end, as before
        kept.append("\\chapter{Lähteet}\n" + refs)
    body = head + toc + "".join("\\sphinxstepscope\n" + c for c in kept)
    if "\\hbfrontpage" not in preamble:
        preamble += "\\makeatletter" + REPORT_TEX_MACROS + "\\makeatother\n"
    return preamble + body + tail


SPHINX_ENGLISH = {"continued from previous page": "jatkoa edelliseltä sivulta",
                  "continues on next page": "jatkuu seuraavalla sivulla"}
_OVERFULL = re.compile(r"^Overfull \\hbox \((?P<pt>[\d.]+)pt too wide\) "
                       r"(?P<where>.*?(?:lines? (?P<a>\d+)(?:--(?P<b>\d+))?)?)$", re.M)
_TABLE_ENV = re.compile(r"\\(begin|end)\{(tabulary|longtable|tabular\*?|tabularx)\}")


def table_line_ranges(tex: str) -> list[tuple[int, int]]:
    """Line ranges (1-based, inclusive) of the outermost table environments of a LaTeX file."""
    ranges, depth, start = [], 0, 0
    for i, line in enumerate(tex.splitlines(), start=1):
        for m in _TABLE_ENV.finditer(line):
            if m.group(1) == "begin":
                depth += 1
                if depth == 1:
                    start = i
            elif depth:
                depth -= 1
                if depth == 0:
                    ranges.append((start, i))
    return ranges


def overfull_boxes(log_text: str, tex: str = "") -> list[dict]:
    """``Overfull \\hbox`` lines of a LaTeX log: width in pt, where, and whether it is in a table (an alignment, or
    a paragraph of a table cell by the lines of ``tex``)."""
    ranges = table_line_ranges(tex) if tex else []
    out = []
    for m in _OVERFULL.finditer(log_text):
        where = m.group("where").strip()
        in_table = "alignment" in where
        if not in_table and m.group("a"):
            a = int(m.group("a"))
            b = int(m.group("b") or a)
            in_table = any(lo <= a and b <= hi for lo, hi in ranges)
        out.append({"pt": float(m.group("pt")), "where": where, "table": in_table})
    return out


def _run(cmd: list[str], cwd: Path, what: str, timeout: int = 1800) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + "\n" + proc.stderr).strip().splitlines()[-50:])
        raise PdfError(f"{what} failed (exit {proc.returncode}):\n{tail}")
    return proc


def build_phase(book_dir: Path, phase_key: str, cfg: Config | None = None) -> dict:
    """Stage, typeset and copy one phase report; returns its entry of ``report.json``."""
    cfg = cfg or load_config()
    book_dir = Path(book_dir)
    phase = cfg.phase(phase_key)
    t0 = time.monotonic()
    stage = stage_phase(book_dir, phase_key, cfg)
    exe = Path(sys.executable).with_name("jupyter-book")
    _run([str(exe) if exe.exists() else "jupyter-book", "build", str(stage), "--builder", "latex", "-W",
          "--keep-going", "--quiet"], REPO_ROOT, f"{phase.name}: jupyter-book build --builder latex")
    t_sphinx = time.monotonic() - t0
    latex_dir = stage / "_build" / "latex"
    tex = latex_dir / f"{phase_key}.tex"
    if not tex.exists():
        raise PdfError(f"{phase.name}: {tex} was not written")
    # Sphinx's long-table template writes these in English (its Finnish catalogue lacks them)
    text = tex.read_text(encoding="utf-8")
    for en, fi in SPHINX_ENGLISH.items():
        text = text.replace(en, fi)
    # a continued table says "(jatkoa edelliseltä sivulta)", without Sphinx's chapter-wise number ("Taulukko 9.1"):
    # the report numbers its tables itself, continuously (number_captions)
    text = text.replace("\\tablename\\ \\thetable{} \\textendash{} jatkoa", "(jatkoa").replace(
        "jatkoa edelliseltä sivulta}}", "jatkoa edelliseltä sivulta)}}")
    tex.write_text(arrange_report_tex(text, phase_key), encoding="utf-8")
    _run(["latexmk", "-xelatex", "-interaction=nonstopmode", "-halt-on-error", "-file-line-error", "-silent",
          tex.name], latex_dir, f"{phase.name}: latexmk -xelatex {tex.name} (log: {tex.with_suffix('.log')})")
    pdf = tex.with_suffix(".pdf")
    if not pdf.exists():
        raise PdfError(f"{phase.name}: latexmk wrote no PDF (log: {tex.with_suffix('.log')})")
    out_dir = book_dir / "_build" / PDF_DIR
    final = out_dir / pdf_name(phase_key)
    shutil.copy2(pdf, final)
    html_dir = book_dir / "_build" / "html"
    if html_dir.is_dir():
        (html_dir / STATIC_PDF).mkdir(parents=True, exist_ok=True)
        shutil.copy2(pdf, html_dir / STATIC_PDF / pdf_name(phase_key))
    log = tex.with_suffix(".log").read_text(encoding="utf-8", errors="replace")
    boxes = overfull_boxes(log, tex.read_text(encoding="utf-8"))
    return {"phase": phase_key, "pdf": str(final), "log": str(tex.with_suffix(".log")),
            "seconds": round(time.monotonic() - t0, 1), "sphinx_seconds": round(t_sphinx, 1),
            "overfull": boxes}


def build_pdfs(book_dir: str | os.PathLike | None = None, phases: list[str] | None = None,
               cfg: Config | None = None, out=None) -> dict:
    """Every phase report's PDF (or the ``phases`` given); writes and returns ``<book>/_build/pdf/report.json``.

    Raises :class:`PdfError` when a build fails or a table overflows its page by more than
    :data:`MAX_TABLE_OVERFULL_PT`.
    """
    cfg = cfg or load_config()
    out = out or sys.stderr
    book_dir = Path(book_dir) if book_dir else REPO_ROOT / "book"
    out_dir = book_dir / "_build" / PDF_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    report_path = out_dir / "report.json"
    report = json.loads(report_path.read_text(encoding="utf-8")) if report_path.exists() else {}
    # the reports the book holds: a phase not yet due is not built (hbeval_lib/release/history.py), so no PDF
    for key in phases or [p.key for p in cfg.phases if (book_dir / p.key).is_dir()]:
        of_record = record_pdf(key) if cfg.phase(key).is_published else None
        if of_record is not None:   # a published report: its PDF of record, never typeset again
            shutil.copyfile(of_record, out_dir / pdf_name(key))
            static = book_dir / "_build" / "html" / STATIC_PDF
            if static.parent.exists():
                static.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(of_record, static / pdf_name(key))
            print(f"hbeval pdf: {pdf_name(key)}: julkaistu raportti, arkistoitu PDF (the PDF of record)", file=out)
            continue
        entry = build_phase(book_dir, key, cfg)
        report[key] = entry
        report_path.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
        wide = [b for b in entry["overfull"] if b["table"] and b["pt"] > MAX_TABLE_OVERFULL_PT]
        print(f"hbeval pdf: {entry['pdf']} ({entry['seconds']} s; overfull boxes: {len(entry['overfull'])}, "
              f"in tables > {MAX_TABLE_OVERFULL_PT} pt: {len(wide)})", file=out)
        if wide:
            raise PdfError(f"{cfg.phase(key).name}: {len(wide)} table(s) wider than the page, e.g. "
                           f"{wide[0]['pt']} pt {wide[0]['where']} (log: {entry['log']})")
    return report


# ---------------------------------------------------------------------------------------------------------------------
# checking a PDF (tests; poppler-utils)
# ---------------------------------------------------------------------------------------------------------------------
_PAGE = re.compile(r'<page width="(?P<w>[\d.]+)" height="(?P<h>[\d.]+)">(?P<body>.*?)</page>', re.S)
_WORD = re.compile(r'<word xMin="(?P<x0>[-\d.]+)" yMin="(?P<y0>[-\d.]+)" xMax="(?P<x1>[-\d.]+)" '
                   r'yMax="(?P<y1>[-\d.]+)">(?P<text>.*?)</word>', re.S)


def pdf_words(pdf: Path) -> list[dict]:
    """Every word of a PDF with its page (1-based), box and the page size (``pdftotext -bbox``)."""
    proc = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True)
    words = []
    for n, page in enumerate(_PAGE.finditer(proc.stdout), start=1):
        w, h = float(page["w"]), float(page["h"])
        for m in _WORD.finditer(page["body"]):
            words.append({"page": n, "text": html_lib.unescape(m["text"]), "x0": float(m["x0"]),
                          "y0": float(m["y0"]), "x1": float(m["x1"]), "y1": float(m["y1"]), "width": w,
                          "height": h})
    return words


def words_outside_text_area(pdf: Path, tolerance_pt: float = 3.0) -> list[dict]:
    """Words that reach into the left or right page margin (:data:`HMARGIN_CM`) — a table or line too wide."""
    margin = HMARGIN_CM / 2.54 * 72
    return [w for w in pdf_words(pdf)
            if w["x0"] < margin - tolerance_pt or w["x1"] > w["width"] - margin + tolerance_pt]


_ROMAN = re.compile(r"^[ivxlc]+$")


def text_outside_text_block(pdf: Path, tolerance_pt: float = 2.0, foot_words=None) -> list[dict]:
    """Words of a PDF that lie outside the page's text block (pdfplumber reads the PDF's text positions).

    The text block is the page box less the margins (:data:`HMARGIN_CM`, :data:`VMARGIN_CM`). A word is reported
    when it is outside the page box, reaches into the left or right margin (a table or line too wide), or lies
    below the text block without being part of the page's foot — the page number and the demo-data notice
    (``foot_words``; default the words of :data:`hbeval_lib.book.publication.DEMO_BANNER`): a table taller than the page
    runs on over the foot, which the LaTeX log does not report as an overfull box. The running head above the
    text block is allowed (nothing runs off a page upwards). Each finding: page (1-based), text, x0, top, x1,
    bottom (pt, from the top left corner) and where (``reunus``, ``alareuna``, ``sivun ulkopuolella``).
    """
    import pdfplumber

    if foot_words is None:
        foot_words = DEMO_BANNER.split()
    # the foot's words as one string: pdfplumber may join small-type words (narrow spaces) or split them
    allowed = "".join(foot_words).casefold()
    side = HMARGIN_CM / 2.54 * 72
    bottom_margin = VMARGIN_CM / 2.54 * 72
    found = []
    with pdfplumber.open(str(pdf)) as doc:
        for n, page in enumerate(doc.pages, start=1):
            width, height = float(page.width), float(page.height)
            for w in page.extract_words(keep_blank_chars=False, use_text_flow=False):
                x0, x1, top, bottom, text = w["x0"], w["x1"], w["top"], w["bottom"], w["text"]
                where = None
                if x0 < -tolerance_pt or top < -tolerance_pt or x1 > width + tolerance_pt or bottom > height + tolerance_pt:
                    where = "sivun ulkopuolella"
                elif x0 < side - tolerance_pt or x1 > width - side + tolerance_pt:
                    where = "reunus"
                elif top > height - bottom_margin:  # the whole line below the text block (descenders of the
                    # block's last line may reach a little below it)
                    token = text.casefold()
                    if not (token.isdigit() or _ROMAN.match(token) or token in allowed):
                        where = "alareuna"
                if where:
                    found.append({"page": n, "text": text, "x0": round(x0, 1), "top": round(top, 1),
                                  "x1": round(x1, 1), "bottom": round(bottom, 1), "where": where})
    return found


# ---------------------------------------------------------------------------------------------------------------------
# CLI: hbeval pdf
# ---------------------------------------------------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--book", help="book folder (default: book/), built by `hbeval build`")
    parser.add_argument("--phase", action="append", help="only this phase (repeatable)")
    parser.add_argument("--install", action="store_true",
                        help="install TeX Live with apt-get when missing (as root; otherwise print the command)")
    parser.add_argument("--tools-only", action="store_true", help="only check (and with --install, install) TeX Live")


def run_cli(args: argparse.Namespace) -> int:
    try:
        ready = ensure_tools(install=args.install)
        if args.tools_only or not ready:
            return 0
        build_pdfs(args.book, args.phase)
    except PdfError as exc:
        print(f"hbeval pdf: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    p = argparse.ArgumentParser(prog="python -m hbeval_lib.book.pdf", description="PDF of each phase report")
    add_arguments(p)
    sys.exit(run_cli(p.parse_args()))


def record_pdf(phase: str, releases_dir: Path | None = None) -> Path | None:
    """The PDF of record of a published phase (None when none was built at publication)."""
    path = history.release_dir(phase, releases_dir) / pdf_name(phase)
    return path if path.exists() else None
