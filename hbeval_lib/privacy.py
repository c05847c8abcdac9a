"""Identifiers never reach the book: text scrubbing and the ``hbeval check-privacy`` command.

* :func:`scrub_text` replaces names, phone numbers, e-mail addresses and street addresses in a text that
  is about to be published (only researcher-approved quotes, paragraphs tagged ``#lainaus``, are ever
  published; :func:`approved_quotes` picks and scrubs them).
* :func:`collect_identifiers` reads a raw-data folder on its own (openpyxl + csv; it does not use the
  intake code) and returns every identifier string in it: the values of the identifier fields of the data
  contract (names, employers, workplaces, travel descriptions), the phone numbers, e-mail and street
  addresses found in them and in every free-text cell and Markdown file, and every client number.
* :func:`check_privacy` scans a built book (HTML, executed notebooks, CSV/Markdown/text/JSON, downloadable
  workbooks) for those strings and for results rows that publish a statistic on fewer persons than the
  threshold. ``hbeval check-privacy BUILD_DIR --raw RAW_DIR`` exits 1 on a finding (naming the file and the
  string, masked so the check itself does not leak it), 0 when clean and 2 on bad usage.

Worker ids (``Työntekijän tunnus``, two digits) are not searched on their own: a two-digit string occurs
everywhere in a book. They are part of every client number (digits 3–4), which is searched.
"""

from __future__ import annotations

import argparse
import csv
import html
import io
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import pandas as pd

from .config import Config, load_config

# -- scrubbing -----------------------------------------------------------------------------------------------------

#: Common Finnish first names (Digital and Population Data Services Agency's most frequent given names,
#: both sexes, including the older names common among today's elderly). Only a first name followed by a
#: capitalised word is treated as a name, so everyday words that are also names (Toivo, Onni, Lempi) rarely
#: misfire; a few that start sentences too often (Usko, Aina, Into, Ilo) are left out.
FINNISH_FIRST_NAMES = frozenset("""
Toivo Onni Lempi Rauha Sulo Armas Hilja Jalmari Aukusti Tyyne Vieno Severi Kalervo Pihla Urho Elviira Ronja
Saara Eino Helmi Väinö Kerttu Iida Arvo Siiri Veikko Reijo Taisto Oona Unto Venla Ilmari Aili Alma Ester Hilda
Impi Kaisu Lyydia Martta Selma Sylvi Tyyni Valto Voitto Yrjänä Aatu Eemil Hugo Ilmari Lenni Leevi Niilo Nooa Oiva
Maria Mari Marianne Minttu Annikki Anu Ansa Arttu Jenna Jenni Jaana Jaakob Kaarlo Kaino Kari Kirsti Lahja
Marjut Mervi Mirjam Nina Oiva Paavali Raili Rasmus Reino Sakari Salla Saija Sari Silja Sisko Soile Tellervo Toni
Aada Aapo Aarne Aaro Aatu Ada Aila Aili Aimo Aino Aki Ale Aleksi Aleksanteri Alina Alisa Allan Amanda Anja Anna
Anne Anneli Anni Anniina Antero Antti Ari Arja Arto Arvo Asko Atte Aune Eelis Eemeli Eemil Eero Eetu Eeva Eija
Eila Eino Eetu Elias Elina Elisa Elisabet Eliisa Ella Ellen Elli Elmeri Elsa Emilia Emma Erik Erkki Esa Esko Essi
Eveliina Hanna Hannele Hannu Harri Heidi Heikki Heli Helena Helmi Henna Henri Henrik Hilkka Hilla Iida Iina Iiris
Ilkka Ilmari Ilona Irja Irma Isto Jaakko Jani Janne Jari Jarkko Jarmo Jere Jesse Joel Johanna Johannes Jonna Jorma
Jouko Jouni Juha Juhani Juho Jukka Julia Jussi Jutta Jyrki Kaarina Kaija Kaisa Kalevi Kalle Kari Karoliina Kasper
Katariina Kati Katja Kauko Keijo Kerttu Kimmo Kirsi Kristiina Krista Kyllikki Laila Lasse Laura Lauri Leena Leevi
Leo Liisa Lilja Linnea Lotta Lumi Maija Maire Marja Marjatta Marketta Marko Markku Martti Matias Matti Mauri Merja
Mia Miika Mika Mikael Mikko Milla Minna Mirja Mirjami Mirva Nea Niilo Niina Niklas Niko Noora Nuppu Olavi Oliver
Olli Oona Oskari Otto Outi Paavo Pasi Pauli Paula Pekka Pentti Petri Petteri Pia Pirjo Pirkko Päivi Raija Raimo
Reijo Riikka Riitta Ritva Roope Sami Sampo Sanna Santeri Sara Sari Satu Seppo Siiri Simo Sinikka Sirpa Sofia Sanni
Susanna Suvi Taina Taisto Tapani Tapio Tarja Tatu Teemu Terhi Tero Terttu Timo Tiina Tommi Tomi Tuomas Tuomo Tuula
Tuulikki Tuomas Ulla Unto Valtteri Veera Veikko Veli Venla Vilho Ville Vilma Viljami Väinö Väinö Wilhelmiina Yrjö
""".split())

_UP = "A-ZÅÄÖÜ"
_LO = "a-zåäöüéšž"
_WORD = rf"[{_UP}][{_LO}]+(?:-[{_UP}][{_LO}]+)?"

#: Finnish street-name endings (a capitalised word ending so, followed by a house number, is an address).
STREET_SUFFIXES = ("katu", "tie", "kuja", "polku", "tori", "raitti", "väylä", "rinne", "mäki", "kaari", "ranta",
                   "puisto", "aukio", "piha", "portti", "kulma", "tanhua", "vainio", "niitty", "laakso", "kallio",
                   "harju", "kangas", "linja", "esplanadi", "bulevardi", "penger", "tanner", "kaarre", "kuja")

EMAIL_RE = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}(?![\w-])")
# +358 / 0 prefix, area or operator code, then digit groups separated by spaces or hyphens; 7–12 digits in all
_PHONE_CANDIDATE = re.compile(
    r"(?<![\w+])(?:\+358[\s-]?\(?0?\)?\s?|\(?0)\d{1,3}\)?(?:[\s-]?\d{2,4}){1,3}(?![\w])")
_STREET = "|".join(sorted(set(STREET_SUFFIXES), key=len, reverse=True))
_STREET_CAP = "|".join(x.capitalize() for x in sorted(set(STREET_SUFFIXES), key=len, reverse=True))
ADDRESS_RE = re.compile(
    rf"(?<![\w])(?:[{_UP}][{_LO}]*(?:-[{_UP}{_LO}][{_LO}]*)*(?:{_STREET})|{_STREET_CAP})\s+\d{{1,4}}(?:\s?[a-z](?![\w]))?"
    rf"(?:\s?[-–]\s?\d{{1,4}}(?![\d.]))?"
    rf"(?:\s+(?:[A-H](?:\s?\d{{1,3}})?|as\.?\s?\d{{1,3}})(?![\w]))?")
_FIRST = "|".join(sorted(FINNISH_FIRST_NAMES, key=len, reverse=True))
_NAME_RE = re.compile(rf"(?<![\w])(?:{_FIRST})(?:\s+(?:{_FIRST}))*\s+{_WORD}(?![\w])")


def _phone_spans(text: str) -> list[tuple[int, int]]:
    spans = []
    for m in _PHONE_CANDIDATE.finditer(text):
        digits = re.sub(r"\D", "", m.group(0))
        if 7 <= len(digits) <= 12 and not re.fullmatch(r"0+", digits):
            spans.append((m.start(), m.end()))
    return spans


def find_identifiers_in_text(text: str, extra_names: Iterable[str] = ()) -> dict[str, set[str]]:
    """The identifier strings a pattern can find in free text, by kind.

    Returns
    -------
    dict
        ``{"names", "phones", "emails", "addresses"}`` → sets of matched strings.
    """
    found = {"names": set(), "phones": set(), "emails": set(), "addresses": set()}
    found["emails"] = {m.group(0) for m in EMAIL_RE.finditer(text)}
    found["phones"] = {text[a:b].strip() for a, b in _phone_spans(text)}
    found["addresses"] = {m.group(0).strip() for m in ADDRESS_RE.finditer(text)}
    found["names"] = {m.group(0) for m in _NAME_RE.finditer(text)}
    for name in extra_names:
        name = str(name).strip()
        if name and re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", text, flags=re.IGNORECASE):
            found["names"].add(name)
    return found


def scrub_text(text: str, extra_names: Iterable[str] = ()) -> str:
    """Replace names, phone numbers, e-mail and street addresses in ``text``.

    Parameters
    ----------
    text : str
        Text about to be published (an approved quote).
    extra_names : iterable of str
        Further names to remove (e.g. the names in the raw files); each full name is removed, and the last
        part of a multi-part name (the surname) also on its own.

    Returns
    -------
    str
        The text with ``[nimi]``, ``[puhelin]``, ``[sähköposti]`` and ``[osoite]`` in place of the identifiers.

    Examples
    --------
    >>> scrub_text("Soita Matti Virtaselle 040 123 4567 tai matti.v@example.fi, Koulukatu 5 B 12.")
    'Soita [nimi] [puhelin] tai [sähköposti], [osoite].'
    """
    if not text:
        return text
    out = EMAIL_RE.sub("[sähköposti]", text)
    for a, b in reversed(_phone_spans(out)):
        out = out[:a] + "[puhelin]" + out[b:]
    out = ADDRESS_RE.sub("[osoite]", out)
    names = sorted({str(n).strip() for n in extra_names if str(n).strip()}, key=len, reverse=True)
    surnames = {n.split()[-1] for n in names if len(n.split()) > 1 and len(n.split()[-1]) >= 3}
    for n in names:
        out = re.sub(rf"(?<![\w]){re.escape(n)}(?![\w])", "[nimi]", out, flags=re.IGNORECASE)
    out = _NAME_RE.sub("[nimi]", out)
    for s in sorted(surnames, key=len, reverse=True):
        out = re.sub(rf"(?<![\w]){_surname_stem(s)}(?![\w])", "[nimi]", out)
    return out


def _surname_stem(surname: str) -> str:
    """A regex matching a surname in its inflected forms (Kettunen → Kettusen, Niemi → Niemelle)."""
    if surname.endswith("nen") and len(surname) > 4:
        return rf"{re.escape(surname[:-3])}(?:nen|s\w*)"
    if len(surname) >= 5:
        return rf"{re.escape(surname[:-1])}\w*"
    return rf"{re.escape(surname)}\w*"


def approved_quotes(markdown: str, tag: str = "lainaus", extra_names: Iterable[str] = ()) -> list[str]:
    """The paragraphs of a diary/workshop Markdown text tagged ``#lainaus``, tags removed and scrubbed."""
    body = re.sub(r"\A---\n.*?\n---\n", "", markdown, flags=re.DOTALL)
    quotes = []
    for para in re.split(r"\n\s*\n", body):
        para = para.strip()
        if not para or re.match(r"#+\s", para):          # empty, or a heading
            continue
        if tag in set(re.findall(r"(?<![\w#])#(\w+)", para)):
            text = re.sub(r"\s*(?<![\w#])#\w+", "", para).strip()
            quotes.append(scrub_text(text, extra_names))
    return quotes


# -- identifiers in the raw data -------------------------------------------------------------------------------------

#: Header-block labels (value in the next non-empty cell to the right) that hold a direct identifier.
BLOCK_LABELS = {"nimi", "hb-avustajan nimi", "avustettavan asiakkaan nimi", "työnantaja ja yhteystiedot"}
#: Table columns that hold a direct identifier.
COLUMN_LABELS = {"matkan selite", "työpaikka", "nimi"}
_CLIENT_LABEL = re.compile(r"asiakasnumero")


def _is_label(lab: str, labels: set[str]) -> bool:
    """``lab`` is one of ``labels`` or ends with one as its last words (``hb-avustajan työnantaja ja ...``)."""
    return lab in labels or any(lab.endswith(" " + x) for x in labels)


_COMPANY_RE = re.compile(rf"(?<![\w])(?:{_WORD}\s+){{0,2}}(?:Oy|Oyj|Ab|Ky|Ay|ry|Tmi|osk)(?![\w])")


def _norm_label(value) -> str:
    s = re.sub(r"\s+", " ", str(value)).strip().rstrip(":").strip().casefold()
    s = re.sub(r"\s*\(.*\)$", "", s)
    return re.sub(r"\s*\d+$", "", s) if not re.fullmatch(r"[\d.]+", s) else s


def normalise_client_number(value) -> str | None:
    """``'201 003'``, ``201003``, ``201003.0`` → ``'201003'``; anything else → None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        if value != value or value != int(value):
            return None
        value = int(value)
    s = re.sub(r"[\s\u00a0]", "", str(value))
    s = re.sub(r"\.0+$", "", s)
    return s if re.fullmatch(r"\d{6}", s) else None


def _rows_of_file(path: Path) -> Iterable[tuple[str, list[list]]]:
    """(sheet name, rows) of a workbook or CSV file."""
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        import openpyxl

        try:
            wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception:          # a corrupt workbook is intake's business; nothing readable here
            return
        try:
            for ws in wb.worksheets:
                yield ws.title, [list(r) for r in ws.iter_rows(values_only=True)]
        finally:
            wb.close()
    elif suffix == ".csv":
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("cp1252", errors="replace")
        first = text.splitlines()[0] if text else ""
        delim = ";" if first.count(";") >= first.count(",") else ","
        yield "", [row for row in csv.reader(io.StringIO(text), delimiter=delim)]


def _identifiers_in_rows(rows: list[list], out: dict[str, set[str]]) -> None:
    id_cols: dict[int, str] = {}     # column index -> kind, active below a header row
    for row in rows:
        cells = ["" if v is None else v for v in row]
        labels = [_norm_label(v) if isinstance(v, str) else None for v in cells]
        header_cols = {}
        for j, lab in enumerate(labels):
            if lab is None:
                continue
            if _is_label(lab, BLOCK_LABELS) or _CLIENT_LABEL.search(lab):
                right = [v for v in cells[j + 1:j + 3] if str(v).strip() != ""]
                if right:
                    val = right[0]
                    if _CLIENT_LABEL.search(lab):
                        cn = normalise_client_number(val)
                        if cn:
                            out["client_numbers"].add(cn)
                    elif isinstance(val, str) and not _is_label(_norm_label(val), BLOCK_LABELS):
                        out["fields"].add(val.strip())
            if _is_label(lab, COLUMN_LABELS) and not _is_label(lab, BLOCK_LABELS - COLUMN_LABELS):
                header_cols[j] = "field"
            elif _CLIENT_LABEL.search(lab):
                header_cols[j] = "client"
        if len(header_cols) and sum(1 for lab in labels if lab) >= 3:
            id_cols.update(header_cols)
            continue
        for j, kind in id_cols.items():
            if j >= len(cells):
                continue
            v = cells[j]
            if kind == "client":
                cn = normalise_client_number(v)
                if cn:
                    out["client_numbers"].add(cn)
            elif isinstance(v, str) and v.strip():
                out["fields"].add(v.strip())
        for v in cells:                       # free text anywhere: pattern identifiers
            if isinstance(v, str) and len(v) >= 6 and any(ch.isdigit() or ch == "@" or ch == " " for ch in v):
                _add_patterns(v, out)


def _add_patterns(text: str, out: dict[str, set[str]]) -> None:
    for kind, values in find_identifiers_in_text(text).items():
        out["patterns"].update(values)


def collect_identifiers_by_kind(raw_dir: str | Path) -> dict[str, set[str]]:
    """Identifier strings in a raw-data folder, by kind: ``client_numbers``, ``fields``, ``patterns``.

    ``fields`` are the values of the identifier fields of the data contract; ``patterns`` are names, phone
    numbers, e-mail and street addresses found by pattern in any text (including the identifier fields and
    the diaries and workshop notes).
    """
    out = {"client_numbers": set(), "fields": set(), "patterns": set()}
    raw_dir = Path(raw_dir)
    for path in sorted(raw_dir.rglob("*")):
        if not path.is_file() or path.name.startswith(("~$", ".")):
            continue
        suffix = path.suffix.lower()
        if suffix in (".xlsx", ".csv"):
            for _sheet, rows in _rows_of_file(path):
                _identifiers_in_rows(rows, out)
        elif suffix in (".md", ".txt"):
            _add_patterns(path.read_text(encoding="utf-8", errors="replace"), out)
    for value in list(out["fields"]):
        _add_patterns(value, out)
        out["patterns"].update(m.group(0) for m in _COMPANY_RE.finditer(value))   # employers: "Yritys Oy"
    return out


def collect_identifiers(raw_dir: str | Path, min_length: int = 6) -> set[str]:
    """Every identifier string in the raw data under ``raw_dir`` that a published file must not contain.

    Parameters
    ----------
    raw_dir : path
        The raw-data root (one folder per instrument).
    min_length : int
        Strings shorter than this (after trimming) are left out: they would match ordinary text. Client
        numbers (six digits) are always kept.

    Returns
    -------
    set of str
        Client numbers (normalised to six digits) and identifier strings.
    """
    kinds = collect_identifiers_by_kind(raw_dir)
    strings = {re.sub(r"\s+", " ", s).strip() for s in kinds["fields"] | kinds["patterns"]}
    return set(kinds["client_numbers"]) | {s for s in strings if len(s) >= min_length}


# -- checking a build ------------------------------------------------------------------------------------------------

TEXT_SUFFIXES = {".html", ".htm", ".ipynb", ".csv", ".md", ".txt", ".json", ".js", ".log", ".svg", ".tsv",
                 ".xml", ".tex", ".py"}
_DATA_URI = re.compile(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=\s]+")
_BINARY_MIME = ("image/png", "image/jpeg", "image/gif", "application/pdf")


@dataclass(frozen=True)
class Finding:
    """One privacy finding: ``file`` contains ``string`` (``kind``: identifier, client_number, small_cell)."""

    file: Path
    string: str
    kind: str
    detail: str = ""

    def masked(self) -> str:
        """The finding as a log line with the string's middle masked."""
        return f"{self.file}: {self.kind}: {mask(self.string)}" + (f" ({self.detail})" if self.detail else "")


def mask(s: str) -> str:
    """Mask the middle of a string: ``'Aili Sarvela'`` → ``'Ai********la'``, ``'110201'`` → ``'1****1'``."""
    s = str(s)
    keep = 1 if len(s) <= 8 else 2
    if len(s) <= 2:
        return "*" * len(s)
    return s[:keep] + "*" * (len(s) - 2 * keep) + s[-keep:]


def _notebook_text(obj) -> str:
    """All text of a notebook/JSON document, leaving out binary (base64) outputs."""
    parts: list[str] = []

    def walk(x, key=None):
        if isinstance(x, dict):
            for k, v in x.items():
                if k in _BINARY_MIME or str(k).startswith("image/") and k != "image/svg+xml":
                    continue
                walk(v, k)
        elif isinstance(x, list):
            for v in x:
                walk(v, key)
        elif isinstance(x, str):
            parts.append(x)
        elif x is not None and not isinstance(x, bool):
            parts.append(str(x))

    walk(obj)
    return "\n".join(parts)


def _file_text(path: Path) -> str | None:
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        parts = []
        for _sheet, rows in _rows_of_file(path):
            parts.extend(" \t ".join("" if v is None else str(v) for v in r) for r in rows)
        return "\n".join(parts)
    if suffix not in TEXT_SUFFIXES:
        return None
    text = path.read_text(encoding="utf-8", errors="replace")
    if suffix in (".ipynb", ".json"):
        try:
            text = _notebook_text(json.loads(text))
        except ValueError:
            pass
    text = _DATA_URI.sub(" ", text)
    if suffix in (".html", ".htm", ".svg", ".xml"):
        text = html.unescape(re.sub(r"<[^>]+>", " ", text))
    return text


def _is_vendor(path: Path, root: Path) -> bool:
    parts = path.relative_to(root).parts
    return any(p in ("_static", ".doctrees", ".jupyter_cache", "__pycache__") for p in parts[:-1]) or \
        parts[-1] in (".buildinfo",)


def _client_number_re(numbers: set[str]) -> re.Pattern:
    # a six-digit token: not inside a longer digit run, not glued to letters, not the decimals of a number
    return re.compile(r"(?<![0-9A-Za-z])(?<![0-9][.,])(\d{6})(?![0-9A-Za-z])")


def _small_cells(path: Path, min_n_stat: int) -> list[Finding]:
    try:
        df = pd.read_csv(path)
    except (ValueError, pd.errors.ParserError):
        return []
    if not {"key", "n", "suppressed"} <= set(df.columns):
        return []
    n = pd.to_numeric(df["n"], errors="coerce")
    sup = df["suppressed"].astype(str).str.strip().str.casefold().isin(["true", "1", "yes"])
    numbers = [c for c in ("estimate", "ci_low", "ci_high", "p_value") if c in df.columns]
    has_number = df[numbers].apply(pd.to_numeric, errors="coerce").notna().any(axis=1) if numbers else True
    out = []
    for i in df.index[(~sup) & n.notna() & (n < min_n_stat)]:
        out.append(Finding(path, str(df.at[i, "key"]), "small_cell",
                           f"n < {min_n_stat} but not suppressed"))
    for i in df.index[sup & (has_number | n.notna())]:
        out.append(Finding(path, str(df.at[i, "key"]), "small_cell", "suppressed row carries numbers"))
    return out


def check_privacy(build_dir: str | Path, raw_dir: str | Path, cfg: Config | None = None,
                  identifiers: set[str] | None = None) -> list[Finding]:
    """Scan a built book for identifiers from the raw data and for unsuppressed small cells.

    Parameters
    ----------
    build_dir : path
        The folder to scan (e.g. ``book/`` or ``book/_build/html``); every text file, executed notebook and
        workbook under it is read, except vendor assets under ``_static``.
    raw_dir : path
        The raw data the book was built from (:func:`collect_identifiers`).
    cfg : Config, optional
        For the thresholds (``disclosure.min_n_stat``, ``disclosure.min_identifier_length``).
    identifiers : set of str, optional
        Use these instead of collecting them from ``raw_dir``.

    Returns
    -------
    list of Finding
        Sorted by file; empty when the build is clean.
    """
    cfg = cfg or load_config()
    conf = cfg.section("disclosure", {}) or {}
    min_n_stat = int(conf.get("min_n_stat", 10))
    min_len = int(conf.get("min_identifier_length", 6))
    build_dir = Path(build_dir)
    if identifiers is None:
        identifiers = collect_identifiers(raw_dir, min_length=min_len)
    clients = {s for s in identifiers if re.fullmatch(r"\d{6}", s)}
    strings = sorted({re.sub(r"\s+", " ", s).casefold() for s in identifiers if s not in clients
                      and len(s) >= min_len})
    originals = {}
    for s in identifiers:
        originals.setdefault(re.sub(r"\s+", " ", s).casefold(), s)
    token = _client_number_re(clients)
    findings: list[Finding] = []
    for path in sorted(build_dir.rglob("*")):
        if not path.is_file() or _is_vendor(path, build_dir):
            continue
        text = _file_text(path)
        if text is None:
            continue
        seen_here = set()
        for m in token.finditer(text):
            if m.group(1) in clients and m.group(1) not in seen_here:
                seen_here.add(m.group(1))
                findings.append(Finding(path, m.group(1), "client_number"))
        flat = re.sub(r"\s+", " ", text).casefold()
        for s in strings:
            if s in flat:
                findings.append(Finding(path, originals[s], "identifier"))
        if path.suffix.lower() == ".csv" and (path.name.endswith(".results.csv") or path.name == "results.csv"):
            findings.extend(_small_cells(path, min_n_stat))
    return findings


# -- command line ----------------------------------------------------------------------------------------------------

def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``hbeval check-privacy``."""
    parser.add_argument("build_dir", help="built book folder to scan (e.g. book/ or book/_build/html)")
    parser.add_argument("--raw", dest="raw_dir", default=None,
                        help="raw data folder whose identifiers must not appear (default: paths.raw, or "
                             "paths.demo when paths.raw holds no files)")
    parser.add_argument("--max-report", type=int, default=200, help="print at most this many findings")
    parser.add_argument("--intruder", choices=["fail", "warn", "off"], default="fail",
                        help="the intruder test (hbeval_lib.intruder: what a reader can recover from the published "
                             "book): fail on a finding (default), only warn, or skip")


def _default_raw(cfg: Config) -> Path:
    raw = cfg.path_of("raw")
    if raw.is_dir() and any(p.is_file() for p in raw.rglob("*")):
        return raw
    return cfg.path_of("demo")


def _run_intruder(build: Path, mode: str, max_report: int) -> bool:
    """Attack the build as a reader would (:mod:`hbeval_lib.intruder`); True when it should fail the check."""
    if mode == "off":
        return False
    from .intruder import attack, html_root, report_lines

    res = attack(html_root(build))
    for line in report_lines(res, max_report):
        print(line)
    print(res.summary(), file=sys.stderr if not res.ok else sys.stdout)
    return not res.ok and mode == "fail"


def run_cli(args: argparse.Namespace) -> int:
    """Run the check; 0 = clean, 1 = findings, 2 = bad usage."""
    cfg = load_config()
    build = Path(args.build_dir)
    raw = Path(args.raw_dir) if args.raw_dir else _default_raw(cfg)
    if not build.is_dir():
        print(f"check-privacy: build folder not found: {build}", file=sys.stderr)
        return 2
    if not raw.is_dir():
        print(f"check-privacy: raw data folder not found: {raw}", file=sys.stderr)
        return 2
    identifiers = collect_identifiers(raw, int((cfg.section("disclosure", {}) or {}).get("min_identifier_length", 6)))
    findings = check_privacy(build, raw, cfg=cfg, identifiers=identifiers)
    intruder_failed = _run_intruder(build, getattr(args, "intruder", "fail"), args.max_report)
    if not findings:
        print(f"check-privacy: no identifier or small-cell findings ({len(identifiers)} identifier strings "
              f"searched in {build})" + ("; the intruder test failed" if intruder_failed else ""))
        return 1 if intruder_failed else 0
    for f in findings[: args.max_report]:
        print(f.masked())
    if len(findings) > args.max_report:
        print(f"... and {len(findings) - args.max_report} more")
    print(f"check-privacy: {len(findings)} finding(s) in {len({f.file for f in findings})} file(s)",
          file=sys.stderr)
    return 1
