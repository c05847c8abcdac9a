"""Readable differences between a reference output and a new one, for the nbval failure report.

A changed number in an HTML table (a pandas DataFrame or Styler) is reported by table, row label and column label:
``taulukko 2 (Kustannukset): rivi «Eksote» × sarake «HB-asiakkaat»: 22 → 23``; rows that appear or disappear are
named. Other outputs get a line diff of their text (HTML tags removed). Used by ``tests/reference/conftest.py``.
"""

from __future__ import annotations

import difflib
import re
from html.parser import HTMLParser

MAX_LINES = 40


class _Tables(HTMLParser):
    """Every ``<table>``: caption, header rows and body rows, each row a list of (is_header, text) cells."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tables: list[dict] = []
        self._stack: list[dict] = []
        self._cell: list[str] | None = None
        self._row: list | None = None
        self._section = "tbody"
        self._caption: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self._stack.append({"caption": "", "head": [], "body": []})
            self._section = "tbody"
        elif not self._stack:
            return
        elif tag in ("thead", "tbody", "tfoot"):
            self._section = tag
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []
            self._is_th = tag == "th"
        elif tag == "caption":
            self._caption = []

    def handle_endtag(self, tag):
        if not self._stack:
            return
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append((self._is_th, " ".join("".join(self._cell).split())))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            t = self._stack[-1]
            (t["head"] if self._section == "thead" else t["body"]).append(self._row)
            self._row = None
        elif tag == "caption" and self._caption is not None:
            self._stack[-1]["caption"] = " ".join("".join(self._caption).split())
            self._caption = None
        elif tag == "table":
            self.tables.append(self._stack.pop())

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        elif self._caption is not None:
            self._caption.append(data)


def parse_tables(html: str) -> list[dict]:
    p = _Tables()
    p.feed(html)
    return p.tables


def _column_labels(table: dict, width: int) -> list[str]:
    labels = [[] for _ in range(width)]
    for row in table["head"]:
        if len(row) != width:
            continue
        for i, (_th, text) in enumerate(row):
            if text:
                labels[i].append(text)
    return [" / ".join(x) if x else f"sarake {i + 1}" for i, x in enumerate(labels)]


def _row_label(row: list) -> str:
    heads = [t for th, t in row if th and t]
    if heads:
        return " / ".join(heads)
    return row[0][1] if row else ""


def table_changes(old: dict, new: dict, name: str) -> list[str]:
    """Lines naming every changed cell (row × column: old → new), and added or removed rows."""
    out = []
    old_rows = {_row_label(r): r for r in old["body"]}
    new_rows = {_row_label(r): r for r in new["body"]}
    width = max([len(r) for r in old["body"] + new["body"]] or [0])
    cols_old, cols_new = _column_labels(old, width), _column_labels(new, width)
    if cols_old != cols_new:
        out.append(f"{name}: sarakkeet / columns {cols_old} → {cols_new}")
    for label, r_old in old_rows.items():
        r_new = new_rows.get(label)
        if r_new is None:
            out.append(f"{name}: rivi «{label}» poistui / row removed: {[t for _, t in r_old]}")
            continue
        for i, ((_a, a), (_b, b)) in enumerate(zip(r_old, r_new)):
            if a != b:
                out.append(f"{name}: rivi «{label}» × sarake «{cols_new[i] if i < len(cols_new) else i + 1}»: "
                           f"{a} → {b}")
        if len(r_old) != len(r_new):
            out.append(f"{name}: rivi «{label}»: {len(r_old)} → {len(r_new)} solua / cells")
    for label, r_new in new_rows.items():
        if label not in old_rows:
            out.append(f"{name}: uusi rivi «{label}» / new row: {[t for _, t in r_new]}")
    if not out and [list(r) for r in old["body"]] != [list(r) for r in new["body"]]:
        out.append(f"{name}: rivien järjestys muuttui / row order changed")
    return out


def parse_md_tables(text: str) -> list[dict]:
    """Markdown pipe tables: the row before ``|---|`` is the header; the first cell labels a row."""
    tables, lines = [], text.splitlines()
    i = 0
    while i < len(lines):
        if i + 1 < len(lines) and lines[i].lstrip().startswith("|") and re.match(r"^\s*\|[\s:|-]+\|?\s*$",
                                                                                 lines[i + 1]):
            def cells(line):
                return [c.strip() for c in line.strip().strip("|").split("|")]
            head = [[(True, c) for c in cells(lines[i])]]
            body, i = [], i + 2
            while i < len(lines) and lines[i].lstrip().startswith("|"):
                row = cells(lines[i])
                body.append([(True, row[0])] + [(False, c) for c in row[1:]])
                i += 1
            tables.append({"caption": "", "head": head, "body": body})
        else:
            i += 1
    return tables


_TAG = re.compile(r"<style.*?</style>|<[^>]+>", re.S)


def _text_lines(s: str, html: bool) -> list[str]:
    if html:
        s = _TAG.sub(" ", s)
    return [" ".join(line.split()) for line in s.splitlines() if line.strip()]


def readable_diff(mime: str, old: str, new: str) -> list[str]:
    """Lines describing how ``new`` differs from ``old`` (reference → test output)."""
    lines: list[str] = []
    if mime in ("text/html", "text/markdown"):
        parse = parse_tables if mime == "text/html" else parse_md_tables
        t_old, t_new = parse(old), parse(new)
        if t_old and len(t_old) == len(t_new):
            for i, (a, b) in enumerate(zip(t_old, t_new), 1):
                name = f"taulukko {i}" + (f" ({b['caption'] or a['caption']})" if (b["caption"] or a["caption"]) else "")
                lines += table_changes(a, b, name)
        elif t_old or t_new:
            lines.append(f"taulukoita / tables: {len(t_old)} → {len(t_new)}")
    if not lines:
        diff = difflib.unified_diff(_text_lines(old, mime == "text/html"), _text_lines(new, mime == "text/html"),
                                    "reference", "now", n=1, lineterm="")
        lines = [d for d in diff]
        lines = [f"  {d}" for d in lines[2:]] if lines else []
    if len(lines) > MAX_LINES:
        lines = lines[:MAX_LINES] + [f"… (+{len(lines) - MAX_LINES} more)"]
    return lines
