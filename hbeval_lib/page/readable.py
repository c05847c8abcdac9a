"""Readable pages for small pilots: a table whose cells are mostly hidden becomes one honest sentence.

A small pilot's page of the demo's final report had dozens of tables in which most cells were ``<5`` or ``–``; a
reader learns nothing from them. The rule is applied once, where every table of every notebook is shown (the
notebook kernel's DataFrame formatter, :func:`hbeval_lib.page.report._register_table_formatters`, and
:meth:`hbeval_lib.strands.services.sections.Section.show`), never table by table:

* a table whose data cells are **more than half hidden** (:data:`MOSTLY_HIDDEN`) — ``<k`` (a small count), ``–``
  (a statistic on too few persons, a secondarily suppressed cell) or an empty cell — is replaced by
  :func:`sentence`, which says what was left out and why and holds **no number** (so nothing in it bypasses the
  disclosure API);
* the decision is taken on the *rendered* table, i.e. after disclosure control (the release's protected cells),
  so it never shows more than the protected table would have shown.

:func:`page_stats` measures an executed notebook (tables shown, tables replaced, share of hidden cells) and
:func:`appendix_section` reports it per page in the data-quality appendix.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pandas as pd

from hbeval_lib.config import strand_folder
from hbeval_lib.page.disclosure import NOT_SHOWN

MOSTLY_HIDDEN = 0.5
PHRASE = "ei näytetä: yli puolet"        # every replacement sentence holds it (page_stats counts it)
REPLACED_CLASS = "hbeval-hidden-table"   # marks a replacement sentence in the executed notebook's HTML
_SMALL = re.compile(r"^<\s*\d+$")
_CELL = re.compile(r"<td[^>]*>(.*?)</td>", re.S)
_TAG = re.compile(r"<[^>]+>")


def is_hidden(value) -> bool:
    """True for a cell a reader sees as hidden: ``<5`` (any threshold), ``–``, ``-`` or a missing value (shown as
    ``–``). An empty string is "not applicable" (an estimate without a confidence interval), not hidden."""
    if value is None:
        return True
    if isinstance(value, float) and value != value:
        return True
    if not isinstance(value, str):
        return False
    v = value.strip()
    return v in (NOT_SHOWN, "-", "nan", "<NA>") or bool(_SMALL.match(v))


def hidden_share(df: pd.DataFrame) -> float:
    """Share of a table's data cells (not its labels) that are hidden; 0 for an empty table."""
    cells = df.to_numpy().ravel() if df.size else []
    return sum(is_hidden(v) for v in cells) / len(cells) if len(cells) else 0.0


TOTAL_LABELS = ("yhteensä", "total", "kaikki yhteensä")


def only_totals(data: pd.DataFrame) -> bool:
    """True when every row of a table (with more than one row before its rows of dashes were left out, or not) is a
    total row ("Yhteensä"): all its parts were hidden, and "Yhteensä | 17 | 100 %" alone tells a reader nothing."""
    if not isinstance(data, pd.DataFrame) or data.empty:
        return False
    labels = [k[-1] if isinstance(k, tuple) else k for k in data.index]
    return all(str(k).strip().lower() in TOTAL_LABELS for k in labels)


def mostly_hidden(df) -> bool:
    """True when more than :data:`MOSTLY_HIDDEN` of the table's cells are hidden (a Styler's data is used), or when
    only its total rows are left (see :func:`only_totals`)."""
    data = getattr(df, "data", df)
    return isinstance(data, pd.DataFrame) and data.size > 0 and (hidden_share(data) > MOSTLY_HIDDEN
                                                                  or only_totals(data))


def shown_as_table(df) -> bool:
    """Whether :func:`hbeval_lib.page.report.show_table` prints ``df`` as a table (its rows of dashes left out, it is
    not still mostly hidden) — so that a sentence refers to "the table" only when the reader gets one."""
    data = getattr(df, "data", df)
    if not isinstance(data, pd.DataFrame) or data.empty:
        return False
    return not mostly_hidden(trimmed(data)[0])


_DIGIT = re.compile(r"\d")
NOTE_CLASS = "hbeval-note"               # a note under a shown table (rows left out); the PDF prints it too
MAX_NAMED_ROWS = 8


def _label_columns(data: pd.DataFrame) -> list[int]:
    """Positions of a table's label columns: text without digits in every row (``Mittari``, ``Ryhmä``)."""
    out = []
    for i in range(data.shape[1]):
        col = data.iloc[:, i]
        if all(isinstance(v, str) and not is_hidden(v) and not _DIGIT.search(v) for v in col):
            out.append(i)
    return out


def hidden_rows(df) -> list[int]:
    """Positions of the rows whose every number is hidden (their label columns aside), when some other row shows
    a number: such a row is a line of dashes that tells the reader nothing but that the group is small."""
    data = getattr(df, "data", df)
    if not isinstance(data, pd.DataFrame) or len(data) < 2:
        return []
    labels = set(_label_columns(data))
    values = [i for i in range(data.shape[1]) if i not in labels]
    if not values:
        return []
    rows = [r for r in range(len(data)) if all(is_hidden(data.iat[r, c]) for c in values)]
    return [] if len(rows) == len(data) else rows


def hidden_columns(df) -> list[int]:
    """Positions of the value columns whose every cell is hidden, when another value column shows a number: a
    column of dashes (a group or a measure too small on this page) is left out like a row of dashes. Apply it to the
    table whose :func:`hidden_rows` were already left out."""
    data = getattr(df, "data", df)
    if not isinstance(data, pd.DataFrame) or data.empty:
        return []
    labels = set(_label_columns(data))
    values = [c for c in range(data.shape[1]) if c not in labels]
    cols = [c for c in values if all(is_hidden(data.iat[r, c]) for r in range(len(data)))]
    return [] if len(cols) == len(values) else cols


def column_names(columns: pd.Index, cols: list[int]) -> list[str]:
    """How a reader names the columns at ``cols``: the header's levels joined with " / " (as printed)."""
    out = []
    for c in cols:
        key = columns[c]
        parts = [str(k) for k in (key if isinstance(key, tuple) else (key,)) if str(k) != ""]
        out.append(" / ".join(dict.fromkeys(parts)))
    return out


def trimmed(df, rename=None) -> tuple[pd.DataFrame, str]:
    """The table a reader gets: its rows of dashes left out and — when the rest is shown as a table (not mostly
    hidden) — its columns of dashes; and the note naming what was left out (empty when nothing was).
    ``rename`` maps the table to its printed form (column names as the reader sees them)."""
    data = getattr(df, "data", df)
    rows = hidden_rows(data)
    kept = data.iloc[[i for i in range(len(data)) if i not in set(rows)]]
    note = dropped_rows_note(data, rows)
    if mostly_hidden(kept):
        return kept, note
    cols = hidden_columns(kept)
    if cols:
        printed = rename(kept.iloc[:0]).columns if rename else kept.columns
        names = column_names(printed, cols)
        kept = kept.iloc[:, [c for c in range(kept.shape[1]) if c not in set(cols)]]
        listed = f": {'; '.join(names)}" if len(names) <= MAX_NAMED_ROWS and all(names) else f" ({len(cols)} saraketta)"
        col_note = f"Taulukosta on jätetty pois sarakkeet, joiden kaikki luvut on peitetty tietosuojan vuoksi{listed}."
        note = "*" + " ".join(x for x in (note.strip("*"), col_note) if x) + "*"
    return kept, note


def row_names(data: pd.DataFrame, rows: list[int]) -> list[str]:
    """How a reader names the rows at ``rows``: their index label (unless a plain row number) and label cells."""
    labels = _label_columns(data)
    named_index = not isinstance(data.index, pd.RangeIndex)
    out = []
    for r in rows:
        parts = []
        if named_index:
            key = data.index[r]
            parts += [str(k) for k in (key if isinstance(key, tuple) else (key,))]
        parts += [str(data.iat[r, c]) for c in labels]
        out.append(" / ".join(p for p in parts if p))
    return out


def dropped_rows_note(data: pd.DataFrame, rows: list[int]) -> str:
    """The Finnish note under a table whose fully hidden rows were left out (Markdown, no numbers)."""
    if not rows:
        return ""
    names = row_names(data, rows)
    listed = f": {'; '.join(names)}" if len(names) <= MAX_NAMED_ROWS and all(names) else f" ({len(rows)} riviä)"
    return (f"*Taulukosta on jätetty pois rivit, joiden kaikki luvut on peitetty tietosuojan vuoksi{listed}.*")


def note_html(text: str) -> str:
    return f'<p class="{NOTE_CLASS}"><em>{html.escape(text.strip("*"))}</em></p>' if text else ""


def caption_topic(caption: str) -> str:
    """The subject of a caption ``*Taulukko: xyz.*`` → ``xyz`` (empty when the text is not a table caption)."""
    m = re.match(r"^\*?\s*Taulukko\s*\d*\s*[.:]\s*(.+?)\s*\.?\*?\s*$", caption.strip(), flags=re.S)
    return m.group(1).rstrip(".") if m else ""


# instruments' names keep their capital inside the sentence ("Taulukkoa (Kykyviisarin mittaukset …)")
PROPER_NAMES = ("Kykyviisar", "Kompass", "Osallisuustest", "Pilot")
_PAREN = re.compile(r"\s*\([^()]*\)")
MAX_TOPIC = 80


def short_topic(caption: str) -> str:
    """What a table is, for the sentence that replaces it: a caption's subject (``*Taulukko: …*`` or plain text) cut
    to its first sentence, without parentheses (the sentence puts the topic in parentheses: no parenthesis inside a
    parenthesis) and, when still long, to its first clause. ``*Taulukko: HB-tietoisuuden nettikyselyn (kevät 2019)
    vastaajat, jotka … Nettikyselyn vastaajat eivät ole satunnaisotos …*`` → ``HB-tietoisuuden nettikyselyn
    vastaajat``."""
    text = caption_topic(caption) or caption.strip().strip("*").strip()
    text = re.split(r"(?<=[^\s.])\.\s+(?=[A-ZÅÄÖ])|:\s|;\s", text)[0].strip().rstrip(".")
    while _PAREN.search(text):
        text = _PAREN.sub("", text)
    text = text.replace("(", "").replace(")", "").strip()
    if len(text) > MAX_TOPIC and ", " in text[15:]:
        text = text[:15] + text[15:].split(", ")[0]
    if text[:2].isalpha() and not text[:2].isupper() and not text.startswith(PROPER_NAMES):
        text = text[:1].lower() + text[1:]
    return text.strip()


def sentence(topic: str = "") -> str:
    """The Finnish sentence shown instead of a mostly hidden table (Markdown; no numbers)."""
    what = f"Taulukkoa ({topic})" if topic else "Taulukkoa"
    # (no "because the groups are small": cells are hidden for other reasons too — sums, phases, complements)
    return f"*{what} {PHRASE} sen soluista olisi peitetty tietosuojan vuoksi.*"


def replacement_html(topic: str = "") -> str:
    """:func:`sentence` as the HTML a notebook output holds (marked with :data:`REPLACED_CLASS`)."""
    text = sentence(topic).strip("*")
    return f'<p class="{REPLACED_CLASS}"><em>{html.escape(text)}</em></p>'


# -- measuring the executed notebooks ----------------------------------------------------------------------------

def _html_tables(text: str) -> list[list[str]]:
    out = []
    for t in re.findall(r"<table.*?</table>", text, flags=re.S):
        out.append([html.unescape(_TAG.sub("", c)).strip() for c in _CELL.findall(t)])
    return out


def page_stats(nb_path: str | Path) -> dict:
    """Tables of one executed notebook: ``tables`` shown, ``replaced`` (by :func:`sentence`), ``cells`` and
    ``hidden`` (cells of the shown tables), ``mostly_hidden`` (shown tables over :data:`MOSTLY_HIDDEN`)."""
    nb = json.loads(Path(nb_path).read_text(encoding="utf-8"))
    stats = {"tables": 0, "replaced": 0, "cells": 0, "hidden": 0, "mostly_hidden": 0}
    for cell in nb.get("cells", []):
        for o in cell.get("outputs", []):
            data = o.get("data", {})
            text = "".join(data.get("text/html", ""))
            # a replaced table carries the sentence as HTML (marked) and as Markdown (for the PDF): count it once
            stats["replaced"] += text.count(REPLACED_CLASS) if REPLACED_CLASS in text \
                else "".join(data.get("text/markdown", "")).count(PHRASE)
            for cells in _html_tables(text):
                if not cells:
                    continue
                hidden = sum(is_hidden(c) for c in cells if c != "")
                stats["tables"] += 1
                stats["cells"] += len(cells)
                stats["hidden"] += hidden
                stats["mostly_hidden"] += int(hidden / len(cells) > MOSTLY_HIDDEN)
    return stats


def book_stats(book_dir: str | Path, phases: list[str], strands: list[str], pilots: list[str]) -> pd.DataFrame:
    """:func:`page_stats` of every executed page ``<book>/<phase>/<strand>/<pilot>.ipynb`` that exists."""
    rows = []
    for ph in phases:
        for st in strands:
            for pi in pilots:
                p = Path(book_dir) / ph / strand_folder(st) / f"{pi}.ipynb"
                if p.exists():
                    rows.append({"phase": ph, "strand": st, "pilot": pi, **page_stats(p)})
    return pd.DataFrame(rows, columns=["phase", "strand", "pilot", "tables", "replaced", "cells", "hidden",
                                       "mostly_hidden"])


STRAND_NAMES = {"wellbeing": "Hyvinvointi", "service_process": "Palveluprosessi", "costs": "Kustannukset",
                "synthesis": "Kokoava luku"}


def appendix_section(book_dir: str | Path, cfg) -> list[str]:
    """The data-quality appendix's section: per page of the final phase, the tables shown, the tables replaced by a
    sentence and the share of hidden cells in the shown tables (Markdown lines). The counts are of table cells of
    the report, not of persons: they reveal nothing about anyone."""
    final = cfg.phases[-1]
    pilots = ["kaikki", *[p.key for p in cfg.pilots]]
    names = {"kaikki": "Kaikki pilotit", **{p.key: p.name for p in cfg.pilots}}
    st = book_stats(book_dir, [final.key], list(STRAND_NAMES), pilots)
    out = ["## Peitettyjen solujen osuus sivuittain", "",
           f"Raportointivaiheen *{final.name}* sivujen taulukot: montako taulukkoa näytettiin, montako jätettiin pois ja korvattiin "
           f"lauseella, koska yli {int(MOSTLY_HIDDEN * 100)} % niiden soluista olisi peitetty, ja kuinka suuri "
           "osa näytettyjen taulukoiden soluista on peitetty (merkinnät <5 ja –).", ""]
    if st.empty:
        return out + ["Sivuja ei ole vielä ajettu.", ""]
    t = pd.DataFrame({
        "Sivu": [f"{STRAND_NAMES[s]} – {names.get(p, p)}" for s, p in zip(st["strand"], st["pilot"])],
        "Taulukoita": st["tables"].astype(int),
        "Korvattu lauseella": st["replaced"].astype(int),
        "Peitettyjä soluja": [f"{100 * h / c:.0f} %".replace(".", ",") if c else "–"
                              for h, c in zip(st["hidden"], st["cells"])]})
    return out + [_md(t), ""]


def _md(df: pd.DataFrame) -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(v) for v in r) + " |" for r in df.itertuples(index=False)]
    return "\n".join(lines) + "\n"
