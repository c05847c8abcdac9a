"""An intruder of our own: attack a built book with nothing but what a reader can see.

The attacker reads only the published release — the HTML pages under ``_build/html``
(``<phase>/<strand>/<pilot>.html``), the downloadable ``results.csv`` and the executed notebooks behind the download
buttons (``_sources/**.ipynb``; their glued values) — and tries to recover what the protection hid. It knows only
what a reader knows: the page (phase, strand, pilot from the URL), the table (its section heading and index names),
the row and column labels and the printed value or suppression mark (``<5``, ``–``). Figures are read as numbers:
each PNG output of an executed notebook carries what a reader can measure on it (bars, bin edges, heat-map colours
decoded through the colour scale, tick labels, axis limits, annotations; :mod:`hbeval_lib.core.figdata`, metadata
key ``hbeval/figure-data``), and the PNG's file name places it in its HTML section.

Attack classes (issue 11):

* ``percent_n`` — a share of a group of known size is a count: ``k = p × n`` (the candidate ``k`` printed as ``p`` at
  the printed precision; reported only when every denominator a reader can justify gives the same ``k``).
* ``pages_add_up`` — an LP over every count cell a reader sees: table margins (``Yhteensä``), the all-pilots page =
  Σ pilot pages for the same table/row/column, a ``kaikki`` table whose rows are pilots = the pilot page's totals, the
  same arm total printed twice in one section (text and tables), cumulative phases (baseline ≤ interim ≤ final).
  Unknowns are the hidden cells (``<5`` in 1..4, ``–`` ≥ 0, cells missing on a pilot page ≥ 0); HiGHS gives each
  hidden cell's minimum and maximum; a cell pinned to 1..4 is a finding.
* ``phase_difference`` — the reports are cumulative, so (final − interim) of a count is the count of newcomers: a
  difference pinned to 1..4 (directly or by the LP) profiles them.
* ``complement`` — a mean hidden for a group follows from the total's mean and the other groups' means and sizes
  (pilot vs ``kaikki``; HB-avustaja ``kyllä`` vs ``ei`` vs the HB change on the same page); reported when the group
  has fewer than ``min_n_stat`` persons.
* ``euro_contributors`` — a euro sum whose contributor count (``Euroa / Keskimäärin per asiakas``) is below
  ``min_n_stat``, or a budget total whose change between phases rests on 1..4 newcomers.
* ``small_statistic`` — a mean/euro figure printed next to its own ``n`` below ``min_n_stat``.
* ``published_small_count`` — a count of 1..4 printed as such (table, text, results.csv or a glued value).
* ``quote`` — a quote labelled with a group for which the book prints a count of 1..4 documents/authors.
* ``figure`` (issue 18) — a value read off a figure: a heat-map cell coloured (its colour decodes a value through the
  colour scale) although its printed value — the annotation at its centre, or the cell of a table on the page with
  the same row and column labels — is hidden (``<5``, ``–``); a bar or stacked segment drawn for a cell the page's
  table hides, a stack's grey "hidden" segment that stands for exactly one hidden cell (of the table, or the only
  series of the stack not drawn), a stack whose height is a hidden total; a histogram whose outer bin edge is
  neither open (``alle 11``) nor round (the data's smallest or largest value: one person's), or whose bar holds
  1..4 persons. A figure is matched to a table only when the labels map and at least one printed number equals its
  drawn size (at the printed precision) and none differs.

Only relations a reader can justify from the labels are used; a relation family that the published values
contradict (a ``Yhteensä`` that does not add up, a table that shrinks between phases) is dropped for that table.
Everything is deterministic: pages, tables and cells are processed in sorted order and HiGHS is deterministic.

``attack(html_dir)`` returns an :class:`Attack` with ``findings`` (a tidy DataFrame: ``class, pages, table, cell,
value, how``), ``cells`` (everything read) and :meth:`Attack.summary` (Finnish and English).
"""

from __future__ import annotations

from hbeval_lib.config import folder_strand
import json
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

ALL = "kaikki"
DEFAULT_PHASES = ("lahtotilanne", "valiarviointi", "loppuraportti")
FINDING_COLUMNS = ["class", "pages", "table", "cell", "value", "how"]
CLASS_NAMES = {
    "published_small_count": ("julkaistu pieni lukumäärä", "small count printed as such"),
    "percent_n": ("prosentti × n", "percent × n"),
    "pages_add_up": ("summautuvat sivut ja taulukot", "pages and tables that add up"),
    "phase_difference": ("vaiheiden erotus", "phases that difference"),
    "complement": ("komplementti", "hidden statistic with a published complement"),
    "euro_contributors": ("euroluku harvoista", "euro figure with few contributors"),
    "small_statistic": ("tunnusluku alle kynnyksen", "statistic on too few persons"),
    "quote": ("lainaus pienestä ryhmästä", "quote from a small group"),
    "figure": ("kuviosta luettu luku", "value read off a figure"),
}

# -- reading values --------------------------------------------------------------------------------------------------

_SP = "[ \u00a0\u202f]"
_NUM = rf"[−-]?(?:\d{{1,3}}(?:{_SP}\d{{3}})+|\d+)(?:[,.]\d+)?"
_SMALL = re.compile(r"<\s?(\d+)")
_HIDDEN = {"–", "—", "-", "−", "..", "."}


@dataclass(frozen=True)
class Value:
    """A printed value: ``kind`` is int, num, pct, eur, small, hidden, empty or text."""

    kind: str
    value: float | None = None
    decimals: int = 0
    below: int | None = None     # for ``small``: the mark's threshold (``<5`` → 5)


def _to_float(s: str) -> tuple[float, int]:
    s = re.sub(_SP, "", s).replace("−", "-").replace(",", ".")
    dec = len(s.split(".")[1]) if "." in s else 0
    return float(s), dec


def parse_value(text: str) -> Value:
    """Read a printed cell: ``'<5'``, ``'–'``, ``'1 234'``, ``'0,74'``, ``'8,3 %'``, ``'994 € (811 € … 1 197 €)'``."""
    t = re.sub(r"\s+", " ", str(text).replace("\u00a0", " ").replace("\u202f", " ")).strip()
    if t == "":
        return Value("empty")
    if t in _HIDDEN:
        return Value("hidden")
    m = _SMALL.fullmatch(t)
    if m:
        return Value("small", below=int(m.group(1)))
    if re.fullmatch(rf"{_NUM}\s?%", t):
        v, d = _to_float(t.rstrip("%").strip())
        return Value("pct", v, d)
    m = re.fullmatch(rf"({_NUM})\s?€(?:\s?\(.*\))?", t)
    if m:
        v, d = _to_float(m.group(1))
        return Value("eur", v, d)
    if re.fullmatch(_NUM, t):
        v, d = _to_float(t)
        if d == 0 and "," not in t and "." not in t:
            return Value("int", v)
        return Value("num", v, d)
    m = re.fullmatch(rf"({_NUM})\s?\(.*\)", t)      # an estimate with its interval
    if m:
        v, d = _to_float(m.group(1))
        return Value("num", v, d)
    return Value("text")


def norm(label: str) -> str:
    """A label as a reader compares it: case, spaces and trailing colons ignored."""
    return re.sub(r"\s+", " ", str(label)).strip().rstrip(":").strip().casefold()


TOTAL_LABELS = {"yhteensä", "kaikki", "yht."}
COUNT_LABEL_RE = re.compile(r"^(n|n \(.*\)|vastaajia|vastauksia|asiakkaita|avustajia|henkilöitä|lukumäärä|"
                            r"alkumittaus|välimittaus|loppumittaus|alku- ja loppumittaus|\d+ tyyppiä)$")
MEAN_LABEL_RE = re.compile(r"^(estimaatti|keskiarvo|ka|muutos)$")


def arm_of(label: str) -> str | None:
    """``'HB-asiakkaat'``, ``'n (HB)'``, ``'HB'`` → ``'HB'``; the control arm → ``'verrokki'``;
    totals → ``'Yhteensä'``."""
    s = norm(label)
    if s in TOTAL_LABELS:
        return "Yhteensä"
    s = re.sub(r"^n \((.*)\)$", r"\1", s)
    if re.fullmatch(r"hb(-asiak\w*)?", s):
        return "HB"
    if re.fullmatch(r"verrok\w*", s):
        return "verrokki"
    return None


# -- reading the book ------------------------------------------------------------------------------------------------

@dataclass
class Table:
    """One published table as a reader sees it."""

    page: tuple[str, str, str]        # phase, strand, pilot
    section: str
    table: str                        # section :: index names (#k when repeated)
    index_names: list[str]
    columns: list[str]
    rows: list[tuple[str, ...]]
    values: list[list[str]]           # printed text, rows × columns
    source: str = "html"

    def parsed(self) -> list[list[Value]]:
        return [[parse_value(v) for v in r] for r in self.values]


@dataclass
class Quote:
    page: tuple[str, str, str]
    text: str
    label: str


@dataclass
class Book:
    """Everything the attacker read."""

    tables: list[Table] = field(default_factory=list)
    quotes: list[Quote] = field(default_factory=list)
    pilot_names: dict[str, str] = field(default_factory=dict)   # display name (normalised) -> pilot key
    files: list[str] = field(default_factory=list)
    figures: list["Figure"] = field(default_factory=list)
    image_sections: dict = field(default_factory=dict)           # (page, PNG file stem) -> section id


@dataclass
class Figure:
    """One figure as a reader can measure it: what :mod:`hbeval_lib.core.figdata` recorded with its PNG."""

    page: tuple[str, str, str]
    number: int                   # 1, 2, … in the order of the page
    section: str                  # the HTML section the PNG is in ('' when not found)
    data: dict


def _expand(trs) -> list[list[tuple[str, bool]]]:
    """Rows of (text, is_th) with rowspan/colspan expanded."""
    grid: list[list[tuple[str, bool] | None]] = []
    pending: dict[tuple[int, int], tuple[str, bool]] = {}
    for i, tr in enumerate(trs):
        row: list[tuple[str, bool]] = []
        j = 0
        cells = tr.find_all(["th", "td"], recursive=False)
        k = 0
        while k < len(cells) or (i, j) in pending:
            if (i, j) in pending:
                row.append(pending.pop((i, j)))
                j += 1
                continue
            c = cells[k]
            k += 1
            text = c.get_text(" ", strip=True)
            item = (text, c.name == "th")
            rs = int(c.get("rowspan", 1) or 1)
            cs = int(c.get("colspan", 1) or 1)
            for dc in range(cs):
                row.append(item)
                for dr in range(1, rs):
                    pending[(i + dr, j + dc)] = item
            j += cs
        grid.append(row)
    return grid


def _read_table(t, page, section) -> Table | None:
    thead = t.find("thead")
    head = _expand(thead.find_all("tr")) if thead else []
    tbody = t.find("tbody") or t
    body = _expand([tr for tr in tbody.find_all("tr") if tr.find_parent("thead") is None])
    if not body:
        return None
    width = max(len(r) for r in body)
    body = [r + [("", False)] * (width - len(r)) for r in body]
    head = [r + [("", True)] * (width - len(r)) for r in head]
    n_th = max(sum(1 for _t, is_th in r[:width] if is_th) for r in body)
    if n_th == 0:    # labels in td cells (a styled table without index): leading text columns
        for j in range(width):
            kinds = {parse_value(r[j][0]).kind for r in body}
            if kinds <= {"text", "empty"} and "text" in kinds:
                n_th += 1
            else:
                break
    if n_th >= width:
        return None
    index_names: list[str] = []
    col_rows = []
    for r in head:
        data = [x[0] for x in r[n_th:]]
        labs = [x[0] for x in r[:n_th]]
        if not any(data) and any(labs):
            index_names = labs
        else:
            col_rows.append(r)
            if any(labs) and not index_names:
                index_names = labs
    columns = []
    for j in range(n_th, width):
        parts = []
        for r in col_rows:
            if r[j][0] and r[j][0] not in parts:
                parts.append(r[j][0])
        columns.append(" / ".join(parts) if parts else f"sarake {j - n_th + 1}")
    rows, values = [], []
    for r in body:
        lab = tuple(x[0] for x in r[:n_th])
        while len(lab) > 1 and lab[-1] == "":
            lab = lab[:-1]
        rows.append(lab)
        values.append([x[0] for x in r[n_th:]])
    name = section + " :: " + " / ".join(x for x in index_names if x)
    return Table(page, section, name, index_names, columns, rows, values)


_LEFT_OUT = re.compile(r"jätetty pois rivit, joiden kaikki luvut on peitetty[^:]*:\s*(.+?)\.?\s*(?:$|(?=Taulukosta))",
                       re.S)
_LEFT_OUT_COLS = re.compile(r"jätetty pois sarakkeet, joiden kaikki luvut on peitetty[^:]*:\s*(.+?)\.?\s*$", re.S)


def _add_left_out_rows(t, tab: Table) -> None:
    """The rows (and columns) a table left out because every number in them was hidden are named in the note under it
    (``page.readable.note``): a reader knows they exist and are hidden, so they are read as rows of ``–`` (a
    stacked bar's grey segment then stands for all of them, and a column's total less the shown rows is their sum,
    not one row's value). A note that only gives the number of rows names none: nothing is added."""
    note = t.find_next("p", class_="hbeval-note")
    if note is None or note.find_previous("table") is not t:
        return
    text = note.get_text(" ", strip=True)
    m = _LEFT_OUT.search(text)
    depth = max((len(r) for r in tab.rows), default=1)
    for name in (x.strip() for x in m.group(1).split(";")) if m else ():
        parts = tuple(p.strip() for p in name.split(" / "))
        if not name or len(parts) > depth or parts in tab.rows:
            continue
        tab.rows.append(parts)
        tab.values.append(["–"] * len(tab.columns))
    # the columns left out likewise (readable.trimmed): columns of "–", so a row's total less the shown columns is
    # their sum
    m = _LEFT_OUT_COLS.search(text)
    for name in (x.strip() for x in m.group(1).split(";")) if m else ():
        if not name or name in tab.columns:
            continue
        tab.columns.append(name)
        for r in tab.values:
            r.append("–")


_TEXT_NUM = rf"alle {_NUM}|{_NUM}|<5"    # "alle 5 HB-asiakasta" is a small count, read as "<5"
_TEXT_PATTERNS = [
    (re.compile(rf"mukana ({_TEXT_NUM}) asiakasta"), "Yhteensä"),
    (re.compile(rf"Taulukossa on ({_TEXT_NUM}) "), "Yhteensä"),
    (re.compile(rf"HB-asiakkaita ({_TEXT_NUM})"), "HB"),
    (re.compile(rf"verrokkiasiakkaita ({_TEXT_NUM})"), "verrokki"),
    (re.compile(rf"({_TEXT_NUM}) HB-asiakasta"), "HB"),
    (re.compile(rf"({_TEXT_NUM}) verrokkiasiakasta"), "verrokki"),
]


def _text_table(page, section, text) -> Table | None:
    """Arm counts printed in the running text of a section, as a one-column table (column ``n``)."""
    rows, values = [], []
    for rx, arm in _TEXT_PATTERNS:
        for m in rx.finditer(text):
            if (arm,) not in rows:
                rows.append((arm,))
                v = m.group(1)
                values.append(["<" + v[len("alle "):] if v.startswith("alle ") else v])
    if not rows:
        return None
    return Table(page, section, section + " :: teksti", [], ["n"], rows, values, source="text")


def _page_of(rel: Path, phases: Iterable[str]) -> tuple[str, str, str] | None:
    parts = rel.parts
    if len(parts) != 3 or parts[0] not in set(phases):
        return None
    return parts[0], folder_strand(parts[1]), Path(parts[2]).stem   # the strand's key (results.csv names it so)


def read_book(html_dir: str | Path, phases: Iterable[str] = DEFAULT_PHASES) -> Book:
    """Read the pages, ``results.csv`` and the downloadable notebooks of a built book (``_build/html``)."""
    from bs4 import BeautifulSoup

    html_dir = Path(html_dir)
    phases = tuple(phases)
    book = Book()
    for path in sorted(html_dir.rglob("*.html")):
        rel = path.relative_to(html_dir)
        page = _page_of(rel, phases)
        if page is None:
            continue
        book.files.append(str(rel))
        text = path.read_text(encoding="utf-8")
        a, b = text.find("<article"), text.rfind("</article>")
        if a >= 0 and b > a:                     # the page body only: the navigation is the same on every page
            text = text[a:b + len("</article>")]
        soup = BeautifulSoup(text, "html.parser")
        root = soup.find("article") or soup.find("main") or soup
        h1 = root.find("h1")
        if h1 is not None and page[2] != ALL:
            title = h1.get_text(" ", strip=True).rstrip("#").strip()
            if ":" in title:
                book.pilot_names[norm(title.rsplit(":", 1)[1])] = page[2]
        for t in root.find_all("table"):
            sec = t.find_parent("section")
            section = sec.get("id", "") if sec is not None else ""
            tab = _read_table(t, page, section)
            if tab is None:
                continue
            _add_left_out_rows(t, tab)
            book.tables.append(tab)
        for sec in root.find_all("section"):
            paras = [p for p in sec.find_all("p") if p.find_parent("section") is sec and p.find_parent("table") is None]
            text = re.sub(r"\s+", " ", " ".join(p.get_text(" ", strip=True) for p in paras))
            tt = _text_table(page, sec.get("id", ""), text)
            if tt is not None:
                book.tables.append(tt)
        for img in root.find_all("img"):       # figures: the PNG's file name is the SHA-256 of its bytes
            sec = img.find_parent("section")
            stem = Path(str(img.get("src", ""))).stem
            book.image_sections.setdefault((page, stem), sec.get("id", "") if sec is not None else "")
        for bq in root.find_all("blockquote"):
            ps = bq.get_text("\n", strip=True)
            m = re.search(r"—\s*([^()\n]+?)\s*(?:\(|$)", ps)
            if m:
                book.quotes.append(Quote(page, ps, m.group(1).strip()))
    _disambiguate(book)
    for path in sorted(html_dir.rglob("results.csv")):
        book.files.append(str(path.relative_to(html_dir)))
        book.tables.extend(_results_tables(path, phases))
        break                                     # one merged table; copies are the same download
    for path in sorted(html_dir.glob("_sources/*/*/*.ipynb")):
        page = _page_of(path.relative_to(html_dir / "_sources").with_suffix(".html"), phases)
        if page is not None:
            book.files.append(str(path.relative_to(html_dir)))
            tab = _glue_table(path, page)
            if tab is not None:
                book.tables.append(tab)
            book.figures.extend(_figures(path, page, book.image_sections))
    return book


def _disambiguate(book: Book) -> None:
    """Name tables the same way on every page: a table whose rows are the pilots gets ``:: pilotit``, one whose rows
    are the two arms ``:: HB / verrokki``; tables still sharing a name on one page get an ordinal."""
    by_page = defaultdict(list)
    for t in book.tables:
        if t.source != "html":
            continue
        labels = [norm(r[-1]) for r in t.rows if r]
        if labels and sum(x in book.pilot_names for x in labels) >= max(2, (len(labels) + 1) // 2):
            t.table += " :: pilotit"
        elif labels and all(arm_of(x) in ("HB", "verrokki", "Yhteensä") for x in labels):
            t.table += " :: HB / verrokki"
        by_page[(t.page, t.table)].append(t)
    for tabs in by_page.values():
        for i, t in enumerate(tabs[1:], start=2):
            t.table += f" #{i}"


def _results_tables(path: Path, phases) -> list[Table]:
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (ValueError, pd.errors.ParserError):
        return []
    need = {"strand", "phase", "pilot", "key"}
    if not need <= set(df.columns):
        return []
    out = []
    cols = [c for c in ("estimate", "n") if c in df.columns]
    for (ph, st, pi), g in df.groupby(["phase", "strand", "pilot"], sort=True):
        if ph not in phases:
            continue
        rows, values = [], []
        for _, r in g.sort_values("key").iterrows():
            rows.append((r["key"],))
            sup = str(r.get("suppressed", "")).strip().casefold() in ("true", "1", "yes")
            vals = []
            for c in cols:
                v = str(r[c]).strip()
                if v == "" and sup:
                    v = "–"
                elif re.fullmatch(r"-?\d+\.0+", v):
                    v = v.split(".")[0]
                vals.append(v.replace(".", ",") if re.fullmatch(r"-?\d+\.\d+", v) else v)
            values.append(vals)
        out.append(Table((ph, st, pi), "results.csv", "results.csv", ["key"], cols, rows, values, source="csv"))
    return out


def _glue_table(path: Path, page) -> Table | None:
    """Values glued into a notebook (papermill records), one row per name."""
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return None
    rows, values = [], []
    for cell in nb.get("cells", []):
        for o in cell.get("outputs", []):
            name = ((o.get("metadata") or {}).get("scrapbook") or {}).get("name")
            data = o.get("data") or {}
            v = data.get("application/papermill.record/text/plain")
            if name and v is not None:
                v = "".join(v) if isinstance(v, list) else str(v)
                v = v.strip().strip("'\"")
                if re.fullmatch(r"-?\d+\.\d+", v):
                    v = v.replace(".", ",")
                rows.append((name,))
                values.append([v])
    if not rows:
        return None
    return Table(page, "glue", "glue", ["name"], ["arvo"], rows, values, source="ipynb")


def _figures(path: Path, page, image_sections: dict) -> list[Figure]:
    """The figures of an executed notebook: every PNG output with its recorded figure data
    (``hbeval/figure-data`` in the output's metadata), in page order."""
    import base64
    import hashlib

    from hbeval_lib.core.figdata import METADATA_KEY

    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return []
    out, number = [], 0
    for cell in nb.get("cells", []):
        for o in cell.get("outputs", []):
            png = (o.get("data") or {}).get("image/png")
            if png is None:
                continue
            number += 1
            data = (o.get("metadata") or {}).get(METADATA_KEY)
            png = "".join(png) if isinstance(png, list) else str(png)
            try:
                stem = hashlib.sha256(base64.b64decode(png)).hexdigest()
            except ValueError:
                stem = ""
            if isinstance(data, dict) and "axes" in data:
                out.append(Figure(page, number, image_sections.get((page, stem), ""), data))
    return out


# -- cells -----------------------------------------------------------------------------------------------------------

# a row whose label says it holds a statistic ("… (mediaani, 1–7)", "keskiarvo", "osuus") is not a count, whatever
# its digits: a median of 4 on a 1–7 scale is not four persons
STAT_ROW_RE = re.compile(r"mediaani|keskiarvo|osuus|\(\s*\d+\s*[–-]\s*\d+\s*\)|,\s*\d+\s*[–-]\s*\d+\s*\)", re.I)


def _is_count_glue(name: str) -> bool:
    return bool(re.search(r"(^|_)n(_|$)|_count|_clients|_respondents", name))


def _count_columns(tab: Table, parsed: list[list[Value]]) -> list[bool]:
    ncol = len(tab.columns)
    ok = []
    for j in range(ncol):
        kinds = {parsed[i][j].kind for i in range(len(parsed)) if j < len(parsed[i])}
        integral = kinds <= {"int", "small", "hidden", "empty"} and bool(kinds & {"int", "small"})
        ok.append(integral)
    if tab.source == "csv":
        return [c == "n" for c in tab.columns]
    if tab.source == "ipynb":
        return [True]
    # a column headed as a percentage or a difference of percentages is not a count, whatever its digits
    ok = [o and not re.search(r"%|prosent|%-yks", c, re.I) for o, c in zip(ok, tab.columns)]
    all_int = all(ok[j] or {parsed[i][j].kind for i in range(len(parsed))} <= {"hidden", "empty"}
                  for j in range(ncol)) and any(ok)
    return [(COUNT_LABEL_RE.match(norm(c)) is not None and ok[j]) or (all_int and ok[j])
            or (COUNT_LABEL_RE.match(norm(c)) is not None and all(parsed[i][j].kind in ("hidden", "empty", "small")
                                                                   for i in range(len(parsed))))
            for j, c in enumerate(tab.columns)]


def book_cells(book: Book) -> pd.DataFrame:
    """Every printed cell: page, table, row, column, text, parsed kind/value, and whether it is a count."""
    recs = []
    for tab in book.tables:
        parsed = tab.parsed()
        counts = _count_columns(tab, parsed)
        for i, row in enumerate(tab.rows):
            for j, col in enumerate(tab.columns):
                v = parsed[i][j]
                is_count = counts[j]
                if tab.source == "csv" and col == "estimate":
                    is_count = bool(re.search(r"(^|\.)n(\.|$)", row[0])) and v.kind in ("int", "small", "hidden")
                if tab.source == "ipynb":
                    is_count = _is_count_glue(row[0]) and v.kind in ("int", "small")
                if v.kind in ("num", "pct", "eur", "text", "empty"):
                    is_count = False
                if STAT_ROW_RE.search(" ".join(row)):   # a row labelled as a median, mean or share on a scale
                    is_count = False
                recs.append(dict(phase=tab.page[0], strand=tab.page[1], pilot=tab.page[2], section=tab.section,
                                 table=tab.table, row=" | ".join(row), col=col, text=tab.values[i][j],
                                 kind=v.kind, value=v.value, decimals=v.decimals, below=v.below,
                                 is_count=bool(is_count), source=tab.source))
    return pd.DataFrame(recs, columns=["phase", "strand", "pilot", "section", "table", "row", "col", "text", "kind",
                                       "value", "decimals", "below", "is_count", "source"])


# -- the LP ----------------------------------------------------------------------------------------------------------

Key = tuple  # (phase, strand, pilot, table, row, col)


def _page_url(key: Key) -> str:
    return f"{key[0]}/{key[1]}/{key[2]}"


@dataclass
class _Model:
    lo: dict = field(default_factory=dict)
    hi: dict = field(default_factory=dict)
    original: dict = field(default_factory=dict)     # key -> printed text ('' for a cell missing on its page)
    eqs: list = field(default_factory=list)          # (coeffs {key: c}, family, description)
    ubs: list = field(default_factory=list)          # (coeffs, family, description): Σ c x ≤ 0
    diffs: list = field(default_factory=list)        # (earlier key, later key)

    def var(self, key, text=None, kind=None, value=None, below=None):
        if key in self.lo:
            return key
        if kind == "int":
            self.lo[key] = self.hi[key] = float(value)
        elif kind == "small":
            self.lo[key], self.hi[key] = 1.0, float((below or 5) - 1)
        else:                                   # hidden, or a cell missing on its page
            self.lo[key], self.hi[key] = 0.0, math.inf
        self.original[key] = text if text is not None else ""
        return key

    def fixed(self, key) -> bool:
        return self.lo[key] == self.hi[key]


def _consistent(model: _Model, coeffs: dict) -> bool:
    """A relation a reader can test: all its cells printed and it holds, or some cell hidden and it can hold."""
    lo = sum(c * (model.lo[k] if c > 0 else model.hi[k]) for k, c in coeffs.items())
    hi = sum(c * (model.hi[k] if c > 0 else model.lo[k]) for k, c in coeffs.items())
    return lo <= 1e-9 and hi >= -1e-9


def _build_model(cells: pd.DataFrame, book: Book, phases: list[str], pilots: list[str]) -> _Model:
    m = _Model()
    cc = cells[cells["is_count"]]
    for r in cc.itertuples(index=False):
        m.var((r.phase, r.strand, r.pilot, r.table, r.row, r.col), r.text, r.kind, r.value, r.below)
    by_table = defaultdict(list)
    for k in list(m.lo):
        by_table[k[:4]].append(k)

    def add_eq(coeffs, family, desc, per_table_ok):
        if len(coeffs) < 2:
            return
        if all(m.fixed(k) for k in coeffs) and not _consistent(m, coeffs):
            per_table_ok[0] = False
            return
        m.eqs.append((coeffs, family, desc))

    # 1. margins
    for tkey, keys in sorted(by_table.items()):
        rows = sorted({k[4] for k in keys})
        cols = sorted({k[5] for k in keys})
        ok = [True]
        pending = []
        for col in cols:
            for total in rows:
                parts = total.split(" | ")
                if norm(parts[-1]) not in TOTAL_LABELS:
                    continue
                prefix = parts[:-1]
                sib = [r for r in rows if r != total and r.split(" | ")[:-1] == prefix
                       and norm(r.split(" | ")[-1]) not in TOTAL_LABELS and (tkey + (r, col)) in m.lo]
                if sib and tkey + (total, col) in m.lo:
                    coeffs = {tkey + (total, col): 1.0}
                    for r in sib:
                        coeffs[tkey + (r, col)] = coeffs.get(tkey + (r, col), 0.0) - 1.0
                    pending.append((coeffs, "marginaali", f"{tkey[3]}: {total} = Σ rivit ({col})"))
        for row in rows:
            tot = [c for c in cols if norm(c) in TOTAL_LABELS]
            for total in tot:
                sib = [c for c in cols if c not in tot and tkey + (row, c) in m.lo]
                if sib and tkey + (row, total) in m.lo:
                    coeffs = {tkey + (row, total): 1.0}
                    for c in sib:
                        coeffs[tkey + (row, c)] = -1.0
                    pending.append((coeffs, "marginaali", f"{tkey[3]}: {total} = Σ sarakkeet ({row})"))
        for coeffs, fam, desc in pending:
            add_eq(coeffs, fam, desc, ok)
        if not ok[0]:     # the printed margins do not add up: not a relation a reader can trust
            m.eqs = [e for e in m.eqs if not (e[1] == "marginaali" and next(iter(e[0]))[:4] == tkey)]

    # 2. kaikki = Σ pilots (same phase, strand, table, row, column)
    pilot_tables = {k[:4] for k in m.lo if k[2] != ALL}
    groups = defaultdict(list)
    for k in sorted(m.lo):
        if k[2] == ALL and any((k[0], k[1], p, k[3]) in pilot_tables for p in pilots):
            groups[(k[0], k[1], k[3])].append(k)
    for (ph, st, tab), keys in sorted(groups.items()):
        ok = [True]
        start = len(m.eqs)
        for k in keys:
            if k[4] and norm(k[4].split(" | ")[0]) in book.pilot_names:
                continue           # a row per pilot: not a sum over pilots
            coeffs = {k: 1.0}
            for p in pilots:
                pk = (ph, st, p, tab, k[4], k[5])
                m.var(pk)
                coeffs[pk] = -1.0
            add_eq(coeffs, "kaikki = Σ pilotit", f"{ph}/{st}: {tab}: {k[4]} × {k[5]}", ok)
        if not ok[0]:
            del m.eqs[start:]

    # 3. a kaikki table whose rows are pilots = the pilot page's total row of the same section
    for k in sorted(m.lo):
        if k[2] != ALL or not k[4]:
            continue
        pkey = book.pilot_names.get(norm(k[4].split(" | ")[-1]))
        if pkey is None:
            continue
        section = k[3].split(" :: ")[0]
        cands = sorted(x for x in m.lo if x[:3] == (k[0], k[1], pkey) and x[3].split(" :: ")[0] == section
                       and norm(x[4].split(" | ")[-1]) in TOTAL_LABELS and x[5] == k[5])
        if cands:
            add_eq({k: 1.0, cands[0]: -1.0}, "pilottirivit", f"{_page_url(k)}: {k[3]}: {k[4]} = {cands[0][3]}",
                   [True])
            continue
        # no total row: the pilot row is the column's sum over the rows of the pilot page's table
        ptabs = sorted({x[3] for x in m.lo if x[:3] == (k[0], k[1], pkey) and x[3].split(" :: ")[0] == section
                        and x[5] == k[5] and m.original.get(x) != ""})
        if len(ptabs) == 1:
            rows = sorted(x for x in m.lo if x[:4] == (k[0], k[1], pkey, ptabs[0]) and x[5] == k[5]
                          and m.original.get(x) != "")
            coeffs = {k: 1.0}
            for x in rows:
                coeffs[x] = -1.0
            add_eq(coeffs, "pilottirivit", f"{_page_url(k)}: {k[3]}: {k[4]} = Σ {ptabs[0]}", [True])

    # 4. the same arm total printed twice in one section of a page
    totals = defaultdict(list)
    for k in sorted(m.lo):
        if m.original.get(k) == "":          # a cell missing on its page
            continue
        section = k[3].split(" :: ")[0]
        if section in ("results.csv", "glue"):
            continue
        row_last = norm(k[4].split(" | ")[-1]) if k[4] else ""
        arm_col, arm_row = arm_of(k[5]), arm_of(row_last) if k[4] else None
        arm = None
        if k[3].endswith(":: teksti"):
            arm = arm_row
        elif row_last in TOTAL_LABELS and arm_col:
            arm = arm_col
        elif arm_row in ("HB", "verrokki") and norm(k[5]) == "asiakkaita":
            arm = arm_row
        if arm:
            totals[(k[0], k[1], k[2], section, arm)].append(k)
    for gkey, keys in sorted(totals.items()):
        tables = {k[3] for k in keys}
        if len(tables) < 2:
            continue
        first = keys[0]
        for k in keys[1:]:
            if k[3] != first[3]:
                add_eq({first: 1.0, k: -1.0}, "sama luku kahdesti", f"{_page_url(k)}: {gkey[4]}: {first[3]} = {k[3]}",
                       [True])

    # 5. a yes/no question with shares: the answers add up to the share's denominator (percent × n)
    for tab in book.tables:
        if tab.source != "html":
            continue
        labels = {norm(r[-1]) for r in tab.rows if r}
        if not {"kyllä", "ei"} <= labels or len(tab.rows) > 4:
            continue
        dn = _share_denominators(tab)
        if dn is None or len(dn[2]) != 1:
            continue
        jc, _js, ns = dn
        col = tab.columns[jc]
        keys = [tab.page + (tab.table, " | ".join(r), col) for r in tab.rows]
        if not all(k in m.lo for k in keys):
            continue
        n = next(iter(ns))
        total = m.var(tab.page + (tab.table, "Σ (osuuksien nimittäjä)", col), str(n), "int", n)
        coeffs = {total: 1.0}
        for k in keys:
            coeffs[k] = -1.0
        add_eq(coeffs, "osuuksien nimittäjä", f"{_page_url(total)}: {tab.table}: Σ {col} = {n}", [True])

    # 6. cumulative phases: earlier ≤ later; differences are newcomers
    order = {p: i for i, p in enumerate(phases)}
    series = defaultdict(list)
    for k in m.lo:
        if k[0] in order:
            series[(k[1], k[2], k[3], k[4], k[5])].append(k)
    unit_ok: dict = {}
    for s, keys in series.items():
        keys.sort(key=lambda k: order[k[0]])
        unit = (s[0], s[2]) if s[2] not in ("results.csv", "glue") else (s[0], s[2], s[3], s[4])
        for a, b in zip(keys, keys[1:]):
            if m.fixed(a) and m.fixed(b) and m.lo[a] > m.lo[b]:
                unit_ok[unit] = False
            unit_ok.setdefault(unit, True)
    for s, keys in sorted(series.items()):
        unit = (s[0], s[2]) if s[2] not in ("results.csv", "glue") else (s[0], s[2], s[3], s[4])
        if not unit_ok.get(unit, False):
            continue
        for a, b in zip(keys, keys[1:]):
            if m.original.get(a) == "" and m.original.get(b) == "":
                continue
            m.ubs.append(({a: 1.0, b: -1.0}, "kumulatiiviset vaiheet", f"{a[0]} ≤ {b[0]}: {s[2]}: {s[3]} × {s[4]}"))
            m.diffs.append((a, b))
    return m


def _components(m: _Model) -> list[tuple[list, list, list, list]]:
    parent = {k: k for k in m.lo}

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for coeffs, _f, _d in m.eqs + m.ubs:
        ks = list(coeffs)
        for k in ks[1:]:
            ra, rb = find(ks[0]), find(k)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    comp = defaultdict(lambda: ([], [], [], []))
    for k in sorted(m.lo):
        comp[find(k)][0].append(k)
    for e in m.eqs:
        comp[find(next(iter(e[0])))][1].append(e)
    for u in m.ubs:
        comp[find(next(iter(u[0])))][2].append(u)
    for d in m.diffs:
        comp[find(d[0])][3].append(d)
    return [comp[r] for r in sorted(comp)]


def _propagate(lo: np.ndarray, hi: np.ndarray, A: np.ndarray, U: np.ndarray, rounds: int = 60):
    """Outer integer bounds by interval propagation over ``A x = 0`` and ``U x ≤ 0`` (a cheap pre-check)."""
    rows = []
    for R, is_eq in ((A, True), (U, False)):
        for r in R:
            nz = [int(i) for i in np.nonzero(r)[0]]
            rows.append((nz, [float(r[i]) for i in nz], is_eq))
    lo, hi = [float(x) for x in lo], [float(x) for x in hi]
    for _ in range(rounds):
        changed = False
        for nz, cs, is_eq in rows:
            for pos, j in enumerate(nz):
                c = cs[pos]
                s_lo = s_hi = 0.0
                for i, ci in zip(nz, cs):
                    if i == j:
                        continue
                    s_lo -= ci * (hi[i] if ci > 0 else lo[i])
                    s_hi -= ci * (lo[i] if ci > 0 else hi[i])
                # c x_j = S (equality) or c x_j ≤ S, S in [s_lo, s_hi]
                if c > 0:
                    new_hi, new_lo = s_hi / c, (s_lo / c if is_eq else -math.inf)
                else:
                    new_lo, new_hi = s_hi / c, (s_lo / c if is_eq else math.inf)
                if not math.isnan(new_hi) and new_hi < hi[j] - 1e-9:
                    hi[j] = math.floor(new_hi + 1e-7)
                    changed = True
                if not math.isnan(new_lo) and new_lo > lo[j] + 1e-9:
                    lo[j] = math.ceil(new_lo - 1e-7)
                    changed = True
        if not changed:
            break
    return lo, hi


def _solve_component(m: _Model, keys, eqs, ubs, diffs, min_count: int) -> list[dict]:
    from scipy.optimize import linprog, milp, LinearConstraint, Bounds

    idx = {k: i for i, k in enumerate(keys)}
    n = len(keys)
    lo = np.array([m.lo[k] for k in keys])
    hi = np.array([m.hi[k] for k in keys])
    families = [f for f in ("kumulatiiviset vaiheet", "sama luku kahdesti", "pilottirivit", "kaikki = Σ pilotit")]

    def mats(eqs, ubs):
        A = np.zeros((len(eqs), n))
        for i, (c, _f, _d) in enumerate(eqs):
            for k, v in c.items():
                A[i, idx[k]] += v
        U = np.zeros((len(ubs), n))
        for i, (c, _f, _d) in enumerate(ubs):
            for k, v in c.items():
                U[i, idx[k]] += v
        return A, U

    def run(obj, A, U, integral=False, cap=None):
        if integral:
            cons = []
            if len(A):
                cons.append(LinearConstraint(A, 0, 0))
            if len(U):
                cons.append(LinearConstraint(U, -np.inf, 0))
            r = milp(obj, constraints=cons, bounds=Bounds(lo, hi), integrality=np.ones(n))
            return r.status, (r.fun if r.status == 0 else None)
        ub = [cap if math.isinf(h) and cap is not None else (None if math.isinf(h) else h) for h in hi]
        r = linprog(obj, A_eq=A if len(A) else None, b_eq=np.zeros(len(A)) if len(A) else None,
                    A_ub=U if len(U) else None, b_ub=np.zeros(len(U)) if len(U) else None,
                    bounds=list(zip(lo, ub)), method="highs")
        if r.status == 0:
            seen(r.x)
        return r.status, (r.fun if r.status == 0 else None)

    seen_lo: dict = {}
    seen_hi: dict = {}
    tlist: list = []

    def value_of(x, coef):
        return sum(v * x[i] for i, v in coef.items())

    def seen(x):
        for t, coef in enumerate(tlist):
            v = value_of(x, coef)
            seen_lo[t] = min(seen_lo.get(t, v), v)
            seen_hi[t] = max(seen_hi.get(t, v), v)

    def hopeless(t) -> bool:
        """Feasible points already show the target is not pinned to 1..min_count-1."""
        if t not in seen_lo:
            return False
        a, b = seen_lo[t], seen_hi[t]
        return a <= 1e-7 or b >= min_count - 1e-7 or math.floor(b + 1e-7) - math.ceil(a - 1e-7) >= 1

    A, U = mats(eqs, ubs)
    dropped = []
    status, _ = run(np.zeros(n), A, U)
    while status == 2 and families:           # infeasible: some assumed relation is not true here
        fam = families.pop(0)
        dropped.append(fam)
        eqs = [e for e in eqs if e[1] != fam]
        ubs = [u for u in ubs if u[1] != fam]
        if fam == "kumulatiiviset vaiheet":
            diffs = []
        A, U = mats(eqs, ubs)
        status, _ = run(np.zeros(n), A, U)
    if status != 0:
        return []
    how = " + ".join(sorted({e[1] for e in eqs} | {u[1] for u in ubs}))
    if dropped:
        how += f" (ristiriitaiset oletukset pudotettu: {', '.join(dropped)})"
    plo, phi = _propagate(lo.copy(), hi.copy(), A, U)
    targets = []
    for k in keys:
        if not m.fixed(k):
            i = idx[k]
            targets.append(("cell", {i: 1.0}, k, None, plo[i], phi[i]))
    for a, b in diffs:
        ia, ib = idx[a], idx[b]
        targets.append(("diff", {ib: 1.0, ia: -1.0}, a, b, plo[ib] - phi[ia], phi[ib] - plo[ia]))
    tlist.extend(t[1] for t in targets)
    rng = np.random.default_rng(20190331)                  # deterministic spread of feasible points
    hid = np.array([0.0 if m.fixed(k) else 1.0 for k in keys])
    for obj in (hid, -hid, *(hid * rng.standard_normal(n) for _ in range(4))):
        run(obj, A, U, cap=1e4)
    out = []
    for t, (kind, coef, a, b, olo, ohi) in enumerate(targets):
        olo = math.ceil(olo - 1e-7) if math.isfinite(olo) else -math.inf
        ohi = math.floor(ohi + 1e-7) if math.isfinite(ohi) else math.inf
        if ohi < 1 or olo >= min_count:
            continue                      # cannot be pinned to a small count
        if olo == ohi:
            lo_v = hi_v = olo             # bound propagation alone pins it
        else:
            if hopeless(t):
                continue
            obj = np.zeros(n)
            for i, v in coef.items():
                obj[i] = v
            s2, f2 = run(-obj, A, U)
            if s2 != 0 or hopeless(t):
                continue
            s1, f1 = run(obj, A, U)
            if s1 != 0 or hopeless(t):
                continue
            lo_v, hi_v = math.ceil(f1 - 1e-7), math.floor(-f2 + 1e-7)
            if lo_v < hi_v and hi_v - lo_v <= min_count and lo_v < min_count and hi_v >= 1:
                s1, f1 = run(obj, A, U, integral=True)        # the integer range can be narrower
                s2, f2 = run(-obj, A, U, integral=True)
                if s1 == 0 and s2 == 0:
                    lo_v, hi_v = round(f1), round(-f2)
        if lo_v == hi_v and 1 <= lo_v < min_count:
            out.append(dict(kind=kind, a=a, b=b, value=int(lo_v), how=how))
    return out


# -- the other attack classes ----------------------------------------------------------------------------------------

def _pct_matches(k: int, n: int, p: float, d: int) -> bool:
    return n > 0 and abs(100.0 * k / n - p) <= 0.5 * 10 ** (-d) + 1e-9


# a share column that names what it is a share of — euros, time, costs — is not a share of the persons counted
# beside it ("Osuus euroista" of a payment method is that method's euros over all euros), so it gives no denominator
_NOT_PERSONS_RE = re.compile(r"euro|€|\bajast|\bajan\b|työaj|minuut|tunne|tunti|kustann|budjet|rahoitu|summa")


def _share_of_persons(label: str) -> bool:
    """Whether a share column (``Osuus…``) is a share of persons (``Osuus``, ``Osuus vastaajista``), not of euros or
    time."""
    return not _NOT_PERSONS_RE.search(norm(label))


def _share_denominators(tab: Table):
    """A table with one count column and one share column (``Osuus…``): ``(count col, share col, {n})`` — the
    denominators consistent with every row where both are printed — or None."""
    cols = [norm(c) for c in tab.columns]
    cnt = [j for j, c in enumerate(cols) if COUNT_LABEL_RE.match(c)]
    shr = [j for j, c in enumerate(cols) if c.startswith("osuus") and _share_of_persons(c)]
    if len(cnt) != 1 or len(shr) != 1:
        return None
    jc, js = cnt[0], shr[0]
    parsed = tab.parsed()
    ns = None
    for i in range(len(tab.rows)):
        kv, pv = parsed[i][jc], parsed[i][js]
        if kv.kind == "int" and pv.kind == "pct" and kv.value > 0 and pv.value > 0:
            k = int(kv.value)
            top = int(100 * k / max(pv.value - 0.5 * 10 ** (-pv.decimals), 1e-9)) + 1
            s = {n for n in range(k, min(top, 100000) + 1) if _pct_matches(k, n, pv.value, pv.decimals)}
            ns = s if ns is None else ns & s
    return None if not ns else (jc, js, ns)


_ARM_SIZE_RE = re.compile(r"^(yhteensä|asiakkaita|asiakkaat|arvo|alkumittaus|estimate)$")


def _percent_attacks(book: Book, cells: pd.DataFrame, min_count: int, resolved: dict | None = None) -> list[dict]:
    """Shares turned into counts. ``resolved`` (optional, filled in): ``(page, table, arm) → (n, {row: k})`` for
    arm columns whose denominator is pinned by every share block of the column."""
    out = []
    resolved = {} if resolved is None else resolved
    counts = cells[cells["is_count"] & (cells["kind"] == "int")]
    for tab in book.tables:
        if tab.source != "html":
            continue
        parsed = tab.parsed()
        # (a) a count column and a share column side by side: the shares give the denominator
        dn = _share_denominators(tab)
        if dn is not None:
            jc, js, ns = dn
            for i in range(len(tab.rows)):
                kv, pv = parsed[i][jc], parsed[i][js]
                if kv.kind in ("small", "hidden") and pv.kind == "pct":
                    ks = {k for n in ns for k in range(0, n + 1) if _pct_matches(k, n, pv.value, pv.decimals)}
                    if len(ks) == 1 and 1 <= next(iter(ks)) < min_count:
                        out.append(_finding("percent_n", [tab.page], tab.table, f"{' | '.join(tab.rows[i])} × "
                                            f"{tab.columns[jc]}", next(iter(ks)),
                                            f"{tab.values[i][js]} × n, n ∈ {sorted(ns)[:5]} muista riveistä"))
        # (b) shares in arm columns (HB / verrokki): the denominator is an arm size printed on the same page
        arms = [(j, arm_of(c)) for j, c in enumerate(tab.columns) if arm_of(c) in ("HB", "verrokki")]
        if not arms or not any(v.kind == "pct" for r in parsed for v in r):
            continue
        page = counts[(counts["phase"] == tab.page[0]) & (counts["strand"] == tab.page[1])
                      & (counts["pilot"] == tab.page[2])]
        blocks = defaultdict(list)
        for i, row in enumerate(tab.rows):
            blocks[row[0] if len(row) > 1 else ""].append(i)
        for j, arm in arms:
            arm_ns = None
            arm_ks: dict = {}
            # a reader justifies as the denominator only a count of the whole arm: its total, its clients, its
            # baseline measurements (not, e.g., the clients with an end measurement or a statistic's own n)
            cands = sorted({int(r.value) for r in page.itertuples(index=False) if r.value and r.value > 0 and (
                (arm_of(r.col) == arm and _ARM_SIZE_RE.match(norm(r.row.split(" | ")[-1])))
                or (arm_of(r.row.split(" | ")[-1]) == arm and (_ARM_SIZE_RE.match(norm(r.col))
                                                                 or (norm(r.col) == "n" and " | " not in r.row))))})
            for block, idxs in blocks.items():
                shares = [(i, parsed[i][j]) for i in idxs if parsed[i][j].kind == "pct"]
                if not shares:
                    continue
                complete = all(parsed[i][j].kind == "pct" for i in idxs) and len(idxs) > 1
                fits = {}
                for n in cands:
                    ks = []
                    for i, v in shares:
                        kk = [k for k in range(n + 1) if _pct_matches(k, n, v.value, v.decimals)]
                        if len(kk) != 1:
                            break
                        ks.append(kk[0])
                    else:
                        if complete and sum(ks) != n:
                            continue
                        fits[n] = ks
                if not fits:
                    continue
                arm_ns = set(fits) if arm_ns is None else arm_ns & set(fits)
                for n_, ks_ in fits.items():
                    for (i, _v), k_ in zip(shares, ks_):
                        arm_ks.setdefault(n_, {})[" | ".join(tab.rows[i])] = k_
                for pos, (i, v) in enumerate(shares):
                    ks = {f[pos] for f in fits.values()}
                    k = next(iter(ks))
                    if len(ks) == 1 and 1 <= k < min_count:
                        out.append(_finding("percent_n", [tab.page], tab.table,
                                            f"{' | '.join(tab.rows[i])} × {tab.columns[j]}", k,
                                            f"{tab.values[i][j]} × n, n ∈ {sorted(fits)} ({arm}, sama sivu)"))
            if arm_ns is not None and len(arm_ns) == 1:
                n_ = next(iter(arm_ns))
                means = {" | ".join(tab.rows[i]): (parsed[i][j].value, parsed[i][j].decimals)
                         for i in range(len(tab.rows)) if parsed[i][j].kind == "num"}
                resolved[(tab.page, tab.table, tab.columns[j])] = (n_, arm_ks.get(n_, {}), means)
    return out


def _hidden_pilots_attacks(resolved: dict, pilots: list[str], min_count: int, min_n_stat: int) -> list[dict]:
    """The pilots whose table is hidden, taken together: their size, counts and means are the all-pilots page minus
    the pilots shown (each resolved by percent × n)."""
    out = []
    for (page, table, col), (nK, kK, mK) in sorted(resolved.items(), key=lambda x: (x[0][0], x[0][1], x[0][2])):
        if page[2] != ALL:
            continue
        shown = {p: resolved[((page[0], page[1], p), table, col)] for p in pilots
                 if ((page[0], page[1], p), table, col) in resolved}
        hidden = [p for p in pilots if p not in shown]
        if not hidden or not shown:
            continue
        nh = nK - sum(v[0] for v in shown.values())
        if nh < 1:
            continue
        who = " + ".join(hidden)
        pages = [page] + [(page[0], page[1], p) for p in sorted(shown)]
        for row in sorted(kK):
            if all(row in v[1] for v in shown.values()):
                kh = kK[row] - sum(v[1][row] for v in shown.values())
                if 1 <= kh < min_count:
                    out.append(_finding("percent_n", pages, table, f"{who}: {row} × {col}", kh,
                                        f"kaikki {kK[row]}/{nK} − näkyvien pilottien osuudet × n"))
        if nh >= min_n_stat:
            continue
        for row in sorted(mK):
            if all(row in v[2] for v in shown.values()):
                b, db = mK[row]
                rest = sum(v[0] * v[2][row][0] for v in shown.values())
                val = (nK * b - rest) / nh
                err = (nK * 0.5 * 10 ** -db + sum(v[0] * 0.5 * 10 ** -v[2][row][1] for v in shown.values())) / nh
                out.append(_finding("complement", pages, table, f"{who}: {row} × {col}",
                                    f"{val:.2f} ± {err:.2f} (n = {nh})",
                                    "kaikki-sivun keskiarvo × n miinus näkyvien pilottien keskiarvot × n"))
    return out


def _profile_attacks(resolved: dict, phases: list[str], min_count: int, min_n_stat: int) -> list[dict]:
    """A table of baseline characteristics is cumulative: between two phases it gains the newcomers. With both
    denominators known (percent × n), (n₂·m₂ − n₁·m₁)/(n₂ − n₁) is the newcomers' mean and k₂ − k₁ their count in a
    category."""
    out = []
    order = {p: i for i, p in enumerate(phases)}
    series = defaultdict(list)
    for (page, table, col), v in resolved.items():
        if page[0] in order:
            series[(page[1], page[2], table, col)].append((order[page[0]], page, v))
    for (_st, _pi, table, col), items in sorted(series.items(), key=lambda x: x[0]):
        items.sort(key=lambda x: x[0])
        for (_, pa, (n1, k1, m1)), (_, pb, (n2, k2, m2)) in zip(items, items[1:]):
            dn = n2 - n1
            if not (1 <= dn < min_n_stat) or any(k2.get(r, 10 ** 9) < k for r, k in k1.items()):
                continue                     # not a growing (cumulative) table, or enough newcomers
            for row in sorted(set(k1) & set(k2)):
                d = k2[row] - k1[row]
                if 1 <= d < min_count:
                    out.append(_finding("phase_difference", [pa, pb], table, f"{row} × {col} ({pa[0]} → {pb[0]})",
                                        d, f"osuudet × n: {k2[row]}/{n2} − {k1[row]}/{n1}; uusia {dn}"))
            for row in sorted(set(m1) & set(m2)):
                (a, da), (b, db) = m1[row], m2[row]
                val = (n2 * b - n1 * a) / dn
                err = (n2 * 0.5 * 10 ** -db + n1 * 0.5 * 10 ** -da) / dn
                out.append(_finding("complement", [pa, pb], table, f"{row} × {col} ({pa[0]} → {pb[0]})",
                                    f"{val:.2f} ± {err:.2f} (n = {dn})",
                                    f"uusien keskiarvo: ({n2}·{b:g} − {n1}·{a:g}) / {dn}"))
    return out

# -- figures ---------------------------------------------------------------------------------------------------------

_RANGE = re.compile(rf"^({_NUM}){_SP}*[–—]{_SP}*({_NUM})$|^({_NUM}) - ({_NUM})$")
_OPEN = re.compile(rf"^(alle|yli|enintään|vähintään|<|>|≤|≥){_SP}*{_NUM}|^{_NUM}{_SP}*(\+|[–—]|tai (enemmän|yli))$",
                   re.I)


def _fmt(v: float, decimals: int = 0) -> str:
    t = f"{v:.{decimals}f}".replace(".", ",").replace("-", "−")
    return "0" if re.fullmatch(r"−0(,0*)?", t) else t


def _fmt_auto(v: float) -> str:
    """A measured length as a reader would write it: whole when it is whole, else one decimal."""
    return _fmt(v, 0 if abs(v - round(v)) < 1e-6 else 1)


def _rounded(e: float, width: float) -> bool:
    """Is a histogram's outer edge a round bound (a multiple of a round step at least half the bin width), not a
    value read off the data (the smallest or the largest one)?"""
    if abs(e) < 1e-12:
        return True
    if not width > 0:
        return False
    exp = math.floor(math.log10(width / 2))
    while 10 ** exp <= abs(e) * 1.0000001:
        for m in (1, 2, 2.5, 5):
            step = m * 10 ** exp
            if step < width / 2 * (1 - 1e-9) or step > abs(e) * 1.0000001:
                continue
            q = e / step
            if abs(q - round(q)) < 1e-6:
                return True
        exp += 1
    return False


def _tick_at(ticks: list[dict], pos: float, half: float) -> str | None:
    near = [t for t in ticks if t.get("pos") is not None and abs(t["pos"] - pos) <= half + 1e-9]
    if not near:
        return None
    return min(near, key=lambda t: abs(t["pos"] - pos))["label"]


def _bar_items(ax: dict) -> list[dict]:
    """Bars a reader measures against their category (the tick label at the bar's middle): ``cat``, ``series``
    (the legend label of the bar's container), ``size`` (length along the value axis), ``container``."""
    items = []
    for b in ax.get("bars", []):
        if b.get("container") is None or not b.get("visible", True):
            continue
        if b.get("orientation") == "horizontal":
            centre, half, size, ticks, base = b["y"] + b["height"] / 2, b["height"] / 2, b["width"], ax["yticks"], b["x"]
            step = ax.get("xstep")
        else:
            centre, half, size, ticks, base = b["x"] + b["width"] / 2, b["width"] / 2, b["height"], ax["xticks"], b["y"]
            step = ax.get("ystep")
        cat = _tick_at(ticks, centre, half)
        items.append({"cat": cat, "series": b.get("label"), "size": float(size or 0.0), "base": base,
                      "centre": centre, "container": b["container"], "color": b.get("color"),
                      "step": float(step or 0.0)})
    return items


def _label_index(labels: list[str]) -> dict:
    out = {}
    for i, lab in enumerate(labels):
        for key in {norm(lab), norm(lab.split(" / ")[-1]), norm(lab.split(" | ")[-1])}:
            out.setdefault(key, i)
    return out


def _agrees(v: Value, drawn: float, step: float = 0.0) -> bool:
    """A printed value and a measured one agree: within the printed rounding and the measurement's precision."""
    return abs(drawn - float(v.value)) <= 0.5 * 10 ** (-v.decimals) + 0.5 * step + 1e-6 * max(1.0, abs(float(v.value)))


def _map_to_table(tab: Table, pairs: list[tuple[str, str | None, float]], steps: list[float] | None = None,
                  named: str | None = None):
    """Map drawn values ``(category, series, value)`` onto a table's cells: categories on rows and series on
    columns, or the other way round; a series ``None`` (an unlabelled bar set) may be one line of the table that a
    reader can tell it is: the table's only line, its total line, or a line the figure names (``named``: the
    figure's title and axis labels; ``None``: any line).

    Returns ``[(pair index, i, j), …], transposed`` for the mapping a reader can justify — at least one printed
    number equals its drawn value (at the printed precision) and none differs — or ``None``. (An unlabelled figure
    of all pilots' shares matched a pilot's row of the table beside it by chance on two shown values, and its
    other bars were read as that pilot's hidden shares: unseen set seed 149.)"""
    parsed = tab.parsed()
    rows = _label_index([" | ".join(r) for r in tab.rows])
    cols = _label_index(tab.columns)
    best = None
    for transposed in (False, True):
        cat_ix, ser_ix = (cols, rows) if transposed else (rows, cols)
        n_lines = len(tab.rows) if transposed else len(tab.columns)
        unlabelled = any(ser is None for _c, ser, _v in pairs)
        labels = [" | ".join(r) for r in tab.rows] if transposed else list(tab.columns)
        parts = [x for x in range(n_lines) if norm(labels[x].split(" | ")[-1]) not in TOTAL_LABELS]

        def justified(x):
            if named is None or len(parts) <= 1 or x not in parts:
                return True
            return any(norm(p) and norm(p) in named for p in labels[x].split(" | "))

        for fixed_line in ([x for x in range(n_lines) if justified(x)] if unlabelled else [None]):
            mapped = []
            for k, (cat, ser, _v) in enumerate(pairs):
                if cat is None or norm(cat) not in cat_ix:
                    continue
                line = fixed_line if ser is None else ser_ix.get(norm(ser))
                if line is None:
                    continue
                a, b = cat_ix[norm(cat)], line
                i, j = (b, a) if transposed else (a, b)
                if i < len(parsed) and j < len(parsed[i]):
                    mapped.append((k, i, j))
            good = bad = 0
            for k, i, j in mapped:
                v = parsed[i][j]
                if v.kind in ("int", "num", "pct", "eur"):
                    if _agrees(v, pairs[k][2], steps[k] if steps else 0.0):
                        # a zero agrees with every segment not drawn: only a non-zero value ties figure to table
                        good += 1 if abs(float(v.value or 0)) > 0 else 0
                    else:
                        bad += 1
            if good and not bad and (best is None or good > best[0]):
                best = (good, mapped, transposed)
    return (best[1], best[2]) if best else None


def _figure_tables(book: Book, fig: Figure) -> list[Table]:
    """The page's printed tables, those of the figure's own section first."""
    tabs = [t for t in book.tables if t.page == fig.page and t.source == "html"]
    return sorted(tabs, key=lambda t: (t.section != fig.section or not fig.section))


def _figure_words(fig: Figure, ax: dict) -> str:
    """What a figure says about what it draws (its title and axis labels), as a reader compares labels."""
    return norm(" ".join(str(x or "") for x in (fig.data.get("title"), ax.get("title"), ax.get("xlabel"),
                                               ax.get("ylabel"))))


def _fig_name(fig: Figure, ax: dict) -> str:
    title = fig.data.get("title") or ax.get("title") or ""
    return f"kuvio {fig.number}" + (f": {title}" if title else "")


def _heat_findings(book: Book, fig: Figure, ax: dict) -> list[dict]:
    out = []
    cells = ax.get("cells", [])
    if not cells:
        return out
    page, name = [fig.page], _fig_name(fig, ax)
    scale = {(s["artist"], s["index"]): s for s in ax.get("scales", [])}
    printed = defaultdict(list)                 # an annotation at a cell's centre is that cell's printed value
    for t in ax.get("texts", []):
        if t.get("x") is not None:
            printed[(round(t["x"], 4), round(t["y"], 4))].append(t["text"])
    decimals = max([parse_value(t).decimals for ts in printed.values() for t in ts] or [0])

    def how(c, shown):
        sc = scale.get((c["artist"], c["index"]), {})
        return (f"solu on väritetty ({c['color']}), vaikka siinä lukee '{shown}': väriasteikko "
                f"{sc.get('vmin')}…{sc.get('vmax')} ({sc.get('cmap')}) antaa solun arvon")

    flagged = set()
    for c in cells:
        texts = printed.get((round(c["x"], 4), round(c["y"], 4)), [])
        hidden = [t for t in texts if parse_value(t).kind in ("small", "hidden")]
        if hidden and not c["masked"]:
            flagged.add((c["artist"], c["index"], c["i"], c["j"]))
            out.append(_finding("figure", page, name, f"{c['row']} × {c['col']} [{hidden[0]}]",
                                _fmt(c["value"], decimals), how(c, hidden[0])))
    pairs = [(c["row"], c["col"], c["value"]) for c in cells if not c["masked"]]
    live = [c for c in cells if not c["masked"]]
    for tab in _figure_tables(book, fig):
        m = _map_to_table(tab, pairs)
        if m is None:
            continue
        parsed = tab.parsed()
        for k, i, j in m[0]:
            c, v = live[k], parsed[i][j]
            key = (c["artist"], c["index"], c["i"], c["j"])
            if v.kind in ("small", "hidden") and key not in flagged:
                flagged.add(key)
                out.append(_finding("figure", page, f"{name} ~ {tab.table}", f"{c['row']} × {c['col']} "
                                    f"[{tab.values[i][j]}]", _fmt(c["value"], decimals), how(c, tab.values[i][j])))
        break                                   # the table the heat map draws (the first one a reader can justify)
    return out


_HIDDEN_SEGMENT = re.compile(r"peitet|piilotet|tietosuoj|suppress|hidden", re.I)


def _bar_findings(book: Book, fig: Figure, ax: dict, hist_containers: set, min_count: int = 5) -> list[dict]:
    out = []
    items = [b for b in _bar_items(ax) if b["container"] not in hist_containers and b["cat"]]
    if not items:
        return out
    page, name = [fig.page], _fig_name(fig, ax)
    # inside the figure: a stack whose "hidden" segment stands for exactly one series (the only one not drawn)
    for cat in sorted({b["cat"] for b in items}):
        stack = [b for b in items if b["cat"] == cat and b["series"]]
        grey = [b for b in stack if _HIDDEN_SEGMENT.search(b["series"]) and b["size"] > 1e-9]
        missing = sorted({b["series"] for b in stack if not _HIDDEN_SEGMENT.search(b["series"])
                          and b["size"] <= 1e-9})
        if grey and len(missing) == 1:
            out.append(_finding("figure", page, name, f"{cat} × {missing[0]} [{grey[0]['series']}]",
                                _fmt_auto(sum(b["size"] for b in grey)),
                                "pinon peitetty osa kattaa vain yhden sarjan (ainoa piirtämätön osa)"))
    pairs = [(b["cat"], b["series"], b["size"]) for b in items]
    for tab in _figure_tables(book, fig):
        m = _map_to_table(tab, pairs, [b["step"] for b in items], named=_figure_words(fig, ax))
        if m is None:
            continue
        mapped, transposed = m
        parsed = tab.parsed()
        tname = f"{name} ~ {tab.table}"
        decimals = max([parsed[i][j].decimals for _k, i, j in mapped] or [0])
        by_cat: dict = defaultdict(list)
        for k, i, j in mapped:
            by_cat[(i if not transposed else j)].append((k, i, j))
        mapped_series = {norm(items[k]["series"]) for k, _i, _j in mapped if items[k]["series"]}
        lines = tab.columns if not transposed else [" | ".join(r) for r in tab.rows]
        for k, i, j in mapped:
            v, b = parsed[i][j], items[k]
            # a drawn size that the mark rules out (5 for a "<5" cell) is not that cell's value: another figure
            # whose labels happen to match (a stack of euro shares beside a table of persons, unseen set seed 79)
            fits = v.kind == "hidden" or 0.5 <= b["size"] < min_count - 0.5 + 0.5 * 10 ** -decimals
            if v.kind in ("small", "hidden") and b["size"] > 1e-9 and fits:
                out.append(_finding("figure", page, tname, f"{b['cat']} × {b['series'] or tab.columns[j]} "
                                    f"[{tab.values[i][j]}]", _fmt(b["size"], decimals),
                                    "pylvään osan pituus on taulukon peitetty arvo"))
        for cat_line, cells in sorted(by_cat.items()):
            cat = items[cells[0][0]]["cat"]
            # the rest of the stack: segments whose label is no line of the table (a grey "hidden" segment)
            rest = [b for b in items if norm(b["cat"]) == norm(cat) and b["series"]
                    and norm(b["series"]) not in mapped_series and b["size"] > 1e-9]
            if not rest:
                continue

            def cell(line):
                return (cat_line, line) if not transposed else (line, cat_line)

            parts = [x for x in range(len(lines)) if norm(lines[x]) not in TOTAL_LABELS]
            hidden = [x for x in parts if parsed[cell(x)[0]][cell(x)[1]].kind in ("small", "hidden")]
            if len(hidden) == 1:
                i, j = cell(hidden[0])
                out.append(_finding("figure", page, tname, f"{cat} × {lines[hidden[0]]} [{tab.values[i][j]}]",
                                    _fmt(sum(b["size"] for b in rest), decimals),
                                    f"pinon ainoa peitetty osa on piirretty omana osanaan ({rest[0]['series']})"))
            totals = [x for x in range(len(lines)) if norm(lines[x]) in TOTAL_LABELS]
            for x in totals:
                i, j = cell(x)
                if hidden and parsed[i][j].kind in ("small", "hidden"):
                    stack = sum(b["size"] for b in items if norm(b["cat"]) == norm(cat))
                    out.append(_finding("figure", page, tname, f"{cat} × {lines[x]} [{tab.values[i][j]}]",
                                        _fmt(stack, decimals),
                                        "pinon korkeus (peitetyt osat harmaana mukana) on peitetty summa"))
        break
    return out


def _histogram_findings(fig: Figure, ax: dict, min_count: int) -> tuple[list[dict], set]:
    """Bin edges that are the data's smallest or largest value, and bins of 1..min_count-1 persons."""
    out, containers = [], set()
    page, name = [fig.page], _fig_name(fig, ax)
    bins = []                                    # (container, [(lo, hi) or None per bar in order], bars, labels)
    for h in ax.get("histograms", []):
        containers.add(h["container"])
        e = h["edges"]
        bins.append((h["container"], list(zip(e[:-1], e[1:])), "numeric", [None] * (len(e) - 1)))
    items = _bar_items(ax)
    for cont in sorted({b["container"] for b in items} - containers):
        bars = sorted((b for b in items if b["container"] == cont), key=lambda b: b["centre"])
        labels = [b["cat"] or "" for b in bars]
        if len(bars) < 2 or not all(_RANGE.match(x.strip()) or _OPEN.match(x.strip()) for x in labels) \
                or not any(_RANGE.match(x.strip()) for x in labels):
            continue
        containers.add(cont)
        spans = []
        for x in labels:
            m = _RANGE.match(x.strip())
            if m:
                a, b = [g for g in m.groups() if g is not None][:2]
                spans.append((_to_float(a)[0], _to_float(b)[0]))
            else:
                spans.append(None)
        bins.append((cont, spans, "labels", labels))
    for cont, spans, how_read, labels in bins:
        closed = [sp for sp in spans if sp is not None]
        width = float(np.median([b - a for a, b in closed])) if closed else 0.0
        ends = [(0, "alin", 0), (len(spans) - 1, "ylin", 1)]
        for idx, word, side in ends:
            sp = spans[idx]
            if sp is None:
                continue                         # an open bound ("alle 11", "yli 20") prints no one's value
            e = sp[side]
            if not _rounded(e, width):
                where = f"'{labels[idx]}'" if how_read == "labels" else "pylväiden reuna"
                out.append(_finding("figure", page, name, f"{word} luokkaraja ({where})", _fmt(e, 2).rstrip("0")
                                    .rstrip(","), "histogrammin uloin luokkaraja ei ole pyöreä eikä avoin: se on "
                                    f"aineiston {'pienin' if side == 0 else 'suurin'} arvo, yhden henkilön arvo"))
        heights = [b["size"] for b in sorted((b for b in items if b["container"] == cont), key=lambda b: b["centre"])]
        if heights and all(abs(h - round(h)) < 1e-9 for h in heights):
            for h, lab, sp in zip(heights, labels, spans):
                if 1 <= round(h) < min_count:
                    where = lab or (f"{_fmt(sp[0], 2)}–{_fmt(sp[1], 2)}" if sp else "?")
                    out.append(_finding("figure", page, name, f"luokka {where}", int(round(h)),
                                        "histogrammin pylväs on 1–4 henkilön lukumäärä"))
    return out, containers


def _figure_attacks(book: Book, min_count: int) -> list[dict]:
    """Read every figure as numbers (its recorded figure data) against the page's printed tables: a heat-map cell
    coloured though its printed value is hidden, a bar (segment) drawn for a hidden cell or whose grey remainder or
    stack height is the one hidden value, a histogram whose outer bin edge is the data's extreme value or whose bin
    holds 1..min_count-1 persons."""
    out = []
    for fig in sorted(book.figures, key=lambda f: (f.page, f.number)):
        for ax in fig.data.get("axes", []):
            if ax.get("colorbar"):
                continue
            hist, containers = _histogram_findings(fig, ax, min_count)
            out += hist
            out += _heat_findings(book, fig, ax)
            out += _bar_findings(book, fig, ax, containers, min_count)
    return out



def _finding(cls, pages, table, cell, value, how) -> dict:
    return {"class": cls, "pages": "; ".join(sorted({p if isinstance(p, str) else "/".join(p) for p in pages})),
            "table": table, "cell": cell, "value": value, "how": how}


def _rows_by_label(tab: Table) -> dict:
    return {" | ".join(r): i for i, r in enumerate(tab.rows)}


def _col(tab: Table, rx) -> int | None:
    js = [j for j, c in enumerate(tab.columns) if rx.match(norm(c))]
    return js[0] if len(js) == 1 else None


def _mean_tables(book: Book):
    """Tables with one ``n`` column and one mean column (Estimaatti / Keskiarvo / Muutos)."""
    for tab in book.tables:
        if tab.source != "html":
            continue
        jn = _col(tab, re.compile(r"^n$"))
        jm = _col(tab, MEAN_LABEL_RE)
        if jn is not None and jm is not None:
            yield tab, jn, jm


def _is_mean_row(tab: Table, row: str, jm: int) -> bool:
    r = norm(row)
    if "vakioi" in r or "ero" in r.split() or "−" in r.replace("loppu − alku", "") or "painot" in r:
        return False
    return "muutos" in r or norm(tab.columns[jm]) in ("keskiarvo", "ka", "muutos")


def _complement_attacks(book: Book, pilots: list[str], min_n_stat: int) -> list[dict]:
    out = []
    mt = list(_mean_tables(book))
    by = {(t.page, t.table): (t, jn, jm) for t, jn, jm in mt}
    # (a) pilot vs kaikki
    for (page, tname), (tk, jn, jm) in sorted(by.items(), key=lambda x: x[0]):
        if page[2] != ALL:
            continue
        pk = tk.parsed()
        for label, i in _rows_by_label(tk).items():
            if not _is_mean_row(tk, label, jm):
                continue
            nK, mK = pk[i][jn], pk[i][jm]
            if nK.kind != "int" or mK.kind != "num":
                continue
            known, hidden, unknown_n = [], [], []
            for p in pilots:
                e = by.get(((page[0], page[1], p), tname))
                if e is None:
                    hidden.append((p, None))
                    continue
                tp, jn2, jm2 = e
                ip = _rows_by_label(tp).get(label)
                if ip is None:
                    hidden.append((p, None))
                    continue
                vv = tp.parsed()[ip]
                if vv[jm2].kind == "num" and vv[jn2].kind == "int":
                    known.append((p, vv[jn2].value, vv[jm2].value, vv[jm2].decimals))
                else:
                    hidden.append((p, vv[jn2].value if vv[jn2].kind == "int" else None))
            if len(hidden) != 1:
                continue
            p, nh = hidden[0]
            n_rest = nK.value - sum(x[1] for x in known)
            if nh is None:
                nh = n_rest
            if nh != n_rest or not (1 <= nh < min_n_stat):
                continue
            mh = (nK.value * mK.value - sum(x[1] * x[2] for x in known)) / nh
            err = (nK.value * 0.5 * 10 ** -mK.decimals + sum(x[1] * 0.5 * 10 ** -x[3] for x in known)) / nh
            out.append(_finding("complement", [page, (page[0], page[1], p)], tname, f"{p}: {label} × "
                                f"{tk.columns[jm]}", f"{mh:.2f} ± {err:.2f} (n = {int(nh)})",
                                "kaikki-sivun keskiarvo ja n miinus muiden pilottien keskiarvot ja n:t"))
    # (b) a yes/no split of a group whose mean and n are on the same page (HB-avustaja kyllä / ei)
    for tab in book.tables:
        if tab.source != "html":
            continue
        jn = _col(tab, re.compile(r"^n$"))
        jm = _col(tab, MEAN_LABEL_RE)
        if jn is None or jm is None or len(tab.index_names) < 2:
            continue
        groups = defaultdict(list)
        for i, r in enumerate(tab.rows):
            if len(r) >= 2 and norm(r[-1]) in ("kyllä", "ei"):
                groups[r[:-1]].append(i)
        if not groups:
            continue
        parsed = tab.parsed()
        parents = [x for x in mt if x[0].page == tab.page and x[0] is not tab]
        for prefix, idxs in groups.items():
            if len(idxs) != 2:
                continue
            shown = [i for i in idxs if parsed[i][jm].kind == "num" and parsed[i][jn].kind == "int"]
            hid = [i for i in idxs if i not in shown]
            if len(shown) != 1 or len(hid) != 1:
                continue
            for tp, jn2, jm2 in parents:
                pp = tp.parsed()
                for ip, r in enumerate(tp.rows):
                    if norm(r[0]) != norm(prefix[0]) or arm_of(r[-1]) != "HB" or not _is_mean_row(tp, " | ".join(r),
                                                                                               jm2):
                        continue
                    nP, mP = pp[ip][jn2], pp[ip][jm2]
                    if nP.kind != "int" or mP.kind != "num":
                        continue
                    s = shown[0]
                    nh = nP.value - parsed[s][jn].value
                    if not (1 <= nh < min_n_stat):
                        continue
                    mh = (nP.value * mP.value - parsed[s][jn].value * parsed[s][jm].value) / nh
                    err = (nP.value * 0.5 * 10 ** -mP.decimals
                           + parsed[s][jn].value * 0.5 * 10 ** -parsed[s][jm].decimals) / nh
                    out.append(_finding("complement", [tab.page], tab.table, f"{' | '.join(tab.rows[hid[0]])} × "
                                        f"{tab.columns[jm]}", f"{mh:.2f} ± {err:.2f} (n = {int(nh)})",
                                        f"{tp.table}: HB ({' | '.join(r)}) miinus '{tab.rows[s][-1]}'"))
    return out


def _euro_attacks(book: Book, phases: list[str], min_count: int, min_n_stat: int) -> list[dict]:
    out = []
    contributors = {}
    for tab in book.tables:
        if tab.source != "html":
            continue
        je = [j for j, c in enumerate(tab.columns) if norm(c) == "euroa"]
        jm = [j for j, c in enumerate(tab.columns) if norm(c).startswith("keskimäärin")]
        if len(je) != 1 or len(jm) != 1:
            continue
        parsed = tab.parsed()
        for i, r in enumerate(tab.rows):
            E, M = parsed[i][je[0]], parsed[i][jm[0]]
            if E.kind != "eur" or M.kind != "eur" or M.value <= 0 or E.value <= 0:
                continue
            h = 0.5 * 10 ** -M.decimals
            lo_n, hi_n = E.value / (M.value + h), E.value / max(M.value - h, 1e-9)
            ns = list(range(math.ceil(lo_n - 1e-9), math.floor(hi_n + 1e-9) + 1))
            if len(ns) != 1:
                continue
            n = ns[0]
            label = " | ".join(r)
            contributors[(tab.page, tab.table, label)] = (n, E.value)
            if 1 <= n < min_n_stat:
                out.append(_finding("euro_contributors", [tab.page], tab.table, f"{label} × {tab.columns[je[0]]}",
                                    f"{tab.values[i][je[0]]} / {n} asiakasta",
                                    "n = Euroa / Keskimäärin per asiakas"))
    order = {p: i for i, p in enumerate(phases)}
    series = defaultdict(list)
    for (page, table, label), v in contributors.items():
        if page[0] in order:
            series[(page[1], page[2], table, label)].append((order[page[0]], page, v))
    for (st, pi, table, label), items in sorted(series.items()):
        if "budjet" not in norm(label) or "käyttö" in norm(label):
            continue                        # a budget is a per-person stock; spending also grows for old clients
        items.sort()
        for (_, pa, (na, ea)), (_, pb, (nb, eb)) in zip(items, items[1:]):
            dn = nb - na
            if 1 <= dn < min_count and eb != ea:
                out.append(_finding("euro_contributors", [pa, pb], table, f"{label} (erotus {pa[0]} → {pb[0]})",
                                    f"{eb - ea:,.0f} € / {dn} uutta asiakasta".replace(",", " "),
                                    "vaiheiden euroerotus, asiakasmäärän erotus 1–4"))
    return out


def _small_statistics(book: Book, min_count: int, min_n_stat: int) -> list[dict]:
    out = []
    for tab in book.tables:
        if tab.source != "html":
            continue
        parsed = tab.parsed()
        ncols = {j: arm_of(c) if norm(c) != "n" else "" for j, c in enumerate(tab.columns)
                 if re.fullmatch(r"n|n \(.*\)", norm(c))}
        if not ncols:
            continue
        for i, r in enumerate(tab.rows):
            for j, v in enumerate(parsed[i]):
                if j in ncols or v.kind not in ("num", "eur"):
                    continue
                arm = arm_of(tab.columns[j])
                use = [jj for jj, a in ncols.items() if a and a == arm] or [jj for jj, a in ncols.items() if a == ""]
                if len(use) != 1:
                    continue
                nv = parsed[i][use[0]]
                if nv.kind == "int" and 1 <= nv.value < min_n_stat:
                    out.append(_finding("small_statistic", [tab.page], tab.table,
                                        f"{' | '.join(r)} × {tab.columns[j]}",
                                        f"{tab.values[i][j]} (n = {int(nv.value)})",
                                        f"n sarakkeessa '{tab.columns[use[0]]}'"))
    return out


def _quote_attacks(book: Book, cells: pd.DataFrame, recovered: dict, min_count: int) -> list[dict]:
    out = []
    for q in book.quotes:
        lab = norm(q.label)
        page = cells[(cells["phase"] == q.page[0]) & (cells["strand"] == q.page[1]) & (cells["pilot"] == q.page[2])
                     & cells["is_count"]]
        for r in page.itertuples(index=False):
            if norm(r.col) != lab and norm(r.row.split(" | ")[-1]) != lab:
                continue
            key = (r.phase, r.strand, r.pilot, r.table, r.row, r.col)
            v = r.value if r.kind == "int" else recovered.get(key)
            if r.kind == "small" or (v is not None and 1 <= v < min_count):
                out.append(_finding("quote", [q.page], r.table, f"{r.row} × {r.col}",
                                    q.text[:60] + ("…" if len(q.text) > 60 else ""),
                                    f"lainauksen ryhmässä '{q.label}' on {r.text or v} dokumenttia"))
                break
    return out


# -- the attack ------------------------------------------------------------------------------------------------------

@dataclass
class Attack:
    """The result of :func:`attack`: what was read and what was recovered."""

    findings: pd.DataFrame
    cells: pd.DataFrame
    n_pages: int
    n_relations: int

    @property
    def ok(self) -> bool:
        return self.findings.empty

    def counts(self) -> dict[str, int]:
        return {k: int(v) for k, v in self.findings["class"].value_counts().sort_index().items()}

    def summary(self) -> str:
        """A short Finnish and English summary."""
        cnt = self.counts()
        n_cells = int(len(self.cells))
        if not cnt:
            return (f"Tunkeutujatesti: {self.n_pages} sivulta ja {n_cells} solusta ({self.n_relations} "
                    f"yhtälöä/epäyhtälöä) ei palautunut yhtään 1–4 henkilön lukumäärää eikä alle kynnyksen "
                    f"tunnuslukua.\nIntruder test: nothing recovered from {self.n_pages} pages and {n_cells} cells "
                    f"({self.n_relations} relations).")
        fi = ", ".join(f"{CLASS_NAMES.get(k, (k,))[0]} {v}" for k, v in cnt.items())
        en = ", ".join(f"{CLASS_NAMES.get(k, (k, k))[1]} {v}" for k, v in cnt.items())
        n = sum(cnt.values())
        return (f"Tunkeutujatesti: {n} paljastusta {self.n_pages} sivulta ({fi}).\n"
                f"Intruder test: {n} disclosures from {self.n_pages} pages ({en}).")


def attack(html_dir: str | Path, phases: Iterable[str] | None = None, pilots: Iterable[str] | None = None,
           min_count: int | None = None, min_n_stat: int | None = None) -> Attack:
    """Attack a built book (its ``_build/html`` folder) as a reader would.

    Parameters
    ----------
    html_dir : path
        The built HTML (``book/_build/html``); ``results.csv`` and ``_sources/**.ipynb`` are found under it.
    phases, pilots : iterables of str, optional
        Phase keys in cumulative order and pilot keys (default: the configuration; a reader reads them off the
        book's navigation).
    min_count, min_n_stat : int, optional
        The disclosure thresholds (default: ``disclosure.min_count`` / ``min_n_stat`` of the configuration).

    Returns
    -------
    Attack
        ``findings`` (columns ``class, pages, table, cell, value, how``; empty when nothing was recovered).
    """
    if phases is None or pilots is None or min_count is None or min_n_stat is None:
        from hbeval_lib.config import load_config

        cfg = load_config()
        conf = cfg.section("disclosure", {}) or {}
        phases = list(phases) if phases is not None else [p.key for p in cfg.phases]
        pilots = list(pilots) if pilots is not None else [p.key for p in cfg.pilots]
        min_count = int(min_count if min_count is not None else conf.get("min_count", 5))
        min_n_stat = int(min_n_stat if min_n_stat is not None else conf.get("min_n_stat", 10))
    phases, pilots = list(phases), list(pilots)
    book = read_book(html_dir, phases)
    cells = book_cells(book)
    findings: list[dict] = []
    # printed small counts
    small = cells[cells["is_count"] & (cells["kind"] == "int") & (cells["value"] >= 1) & (cells["value"] < min_count)]
    for r in small.itertuples(index=False):
        findings.append(_finding("published_small_count", [(r.phase, r.strand, r.pilot)], r.table,
                                 f"{r.row} × {r.col}", int(r.value), f"painettu lukuna ({r.source})"))
    model = _build_model(cells, book, phases, pilots)
    recovered: dict = {}
    for keys, eqs, ubs, diffs in _components(model):
        if not eqs and not ubs:
            continue
        for res in _solve_component(model, keys, eqs, ubs, diffs, min_count):
            a, b = res["a"], res["b"]
            if res["kind"] == "cell":
                recovered[a] = res["value"]
                shown = model.original.get(a) or "puuttuu sivulta"
                findings.append(_finding("pages_add_up", [_page_url(a)], a[3], f"{a[4]} × {a[5]} [{shown}]",
                                         res["value"], res["how"]))
            else:
                findings.append(_finding("phase_difference", [_page_url(a), _page_url(b)], a[3],
                                         f"{a[4]} × {a[5]} ({a[0]} → {b[0]})", res["value"],
                                         f"erotus {model.original.get(b) or '?'} − {model.original.get(a) or '?'}; "
                                         + res["how"]))
    resolved: dict = {}
    findings += _percent_attacks(book, cells, min_count, resolved)
    findings += _profile_attacks(resolved, phases, min_count, min_n_stat)
    findings += _hidden_pilots_attacks(resolved, pilots, min_count, min_n_stat)
    findings += _complement_attacks(book, pilots, min_n_stat)
    findings += _euro_attacks(book, phases, min_count, min_n_stat)
    findings += _small_statistics(book, min_count, min_n_stat)
    findings += _quote_attacks(book, cells, recovered, min_count)
    findings += _figure_attacks(book, min_count)
    df = pd.DataFrame(findings, columns=FINDING_COLUMNS)
    if not df.empty:
        df["value"] = df["value"].astype(str)
        df = df.drop_duplicates().sort_values(FINDING_COLUMNS, kind="stable").reset_index(drop=True)
    pages = {(t.page) for t in book.tables}
    return Attack(df, cells, len(pages), len(model.eqs) + len(model.ubs))


def html_root(build_dir: str | Path) -> Path:
    """The folder holding ``<phase>/<strand>/<pilot>.html`` under a build folder (``book/``, ``book/_build``,
    ``book/_build/html``)."""
    build_dir = Path(build_dir)
    for cand in (build_dir / "_build" / "html", build_dir / "html", build_dir):
        if cand.is_dir() and any(cand.glob("*/*/*.html")):
            return cand
    return build_dir


def report_lines(res: Attack, max_report: int = 200) -> list[str]:
    """The findings as log lines (``intruder: class: pages: table: cell = value (how)``)."""
    lines = []
    for r in res.findings.head(max_report).itertuples(index=False):
        lines.append(f"intruder: {r[0]}: {r.pages}: {r.table}: {r.cell} = {r.value} ({r.how})")
    if len(res.findings) > max_report:
        lines.append(f"intruder: ... and {len(res.findings) - max_report} more")
    return lines


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description="attack a built book as a reader would")
    ap.add_argument("html_dir")
    ap.add_argument("--csv", help="write the findings here")
    args = ap.parse_args(argv)
    res = attack(html_root(args.html_dir))
    print(res.summary())
    if args.csv:
        res.findings.to_csv(args.csv, index=False)
    return 0 if res.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
