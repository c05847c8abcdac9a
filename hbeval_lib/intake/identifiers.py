"""Identifiers in raw material: the patterns, text scrubbing, and every identifier string of a raw folder.

* :func:`scrub_text` replaces names, phone numbers, e-mail addresses and street addresses in a text that
  is about to be published (only researcher-approved quotes, paragraphs tagged ``#lainaus``, are ever
  published; :func:`approved_quotes` picks and scrubs them).
* :func:`collect_identifiers` reads a raw-data folder on its own (openpyxl + csv; it does not use the
  intake code) and returns every identifier string in it: the values of the identifier fields of the data
  contract (names, employers, workplaces, travel descriptions), the phone numbers, e-mail and street
  addresses found in them and in every free-text cell and Markdown file, and every client number.

The release's privacy check of a built book (:mod:`hbeval_lib.release.privacy`) searches the book for these strings.
Worker ids (``Työntekijän tunnus``, two digits) are not searched on their own: a two-digit string occurs
everywhere in a book. They are part of every client number (digits 3–4), which is searched.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Iterable

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


def rows_of_file(path: Path) -> Iterable[tuple[str, list[list]]]:
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
            for _sheet, rows in rows_of_file(path):
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
