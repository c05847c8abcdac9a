"""Read a raw file into sheets of cell rows, find the header row and read the header block.

A *grid* is a list of row tuples; ``grid[i]`` is the row Excel shows as number ``i + 1`` (for CSV the
line number). Workbooks are opened with openpyxl in read-only, values-only mode, so any writer's
``.xlsx`` (Excel, LibreOffice, XlsxWriter, openpyxl) is read the same way.
"""

from __future__ import annotations

import csv
import io
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from hbeval_lib.intake.readers.values import is_empty

CSV_SHEET = ""  # the sheet name used for CSV files in reports


class UnreadableFile(Exception):
    """A file (or one of its sheets) cannot be read at all; the (Finnish) message says why and ``action`` what to do."""

    def __init__(self, message: str, sheet: str = "", column: str = "", action: str = ""):
        super().__init__(message)
        self.sheet = sheet
        self.column = column
        self.action = action


ACTION_HEADERS = ("Korjaa otsikkorivi lomakkeen mukaiseksi (sarakkeiden nimet: data-contract §3) tai kuvaa "
                  "poikkeavat otsikot hbeval.yml:n column_maps-osassa; aja sitten hbeval build uudelleen.")
ACTION_RESAVE = ("Tallenna tiedosto uudelleen alkuperäisestä lähteestä (tai pyydä pilotilta uusi kopio) "
                 "Excel-työkirjana (.xlsx) ja korvaa tämä tiedosto sillä.")


# --- headers -------------------------------------------------------------------------------------
_WS = re.compile(r"[\s\u00a0\u202f]+")
_FOOTNOTE = re.compile(r"(?<=[^\d\s.,])\s*\d+$")
_HINT = re.compile(r"\s*\([^)]*\)\s*$")


def norm_header(value: Any) -> str:
    """Casefolded, trimmed, whitespace-collapsed header text (``''`` for an empty cell).

    Examples
    --------
    >>> norm_header("  Aika   tuntia 5 ")
    'aika tuntia 5'
    """
    if is_empty(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return _WS.sub(" ", str(value)).strip().casefold()


def strip_header(text: str) -> str:
    """A normalized header without a trailing footnote number or parenthesised hint.

    Examples
    --------
    >>> [strip_header(norm_header(h)) for h in ["Asiakasnumero 6", "HB-asiakkuus8",
    ...                                          "Päivämäärä (pp.kk.vvvv)", "K10", "5.10"]]
    ['asiakasnumero', 'hb-asiakkuus', 'päivämäärä', 'k', '5.10']
    """
    text = text.rstrip(":").strip()
    previous = None
    while previous != text:
        previous = text
        text = _HINT.sub("", text)
        text = _FOOTNOTE.sub("", text).rstrip(":").strip()
    return text


def match_headers(row: Iterable[Any], known: dict[str, str]) -> dict[int, str]:
    """Map column index -> field name for the cells of ``row`` that are known headers.

    ``known`` maps a normalized header (see :func:`norm_header`) to a field name. A cell is first
    matched as written, then without a footnote number / hint. The first column wins if a header repeats.
    """
    found: dict[int, str] = {}
    used: set[str] = set()
    for i, cell in enumerate(row):
        h = norm_header(cell)
        if not h:
            continue
        name = known.get(h) or known.get(h.rstrip(":").strip()) or known.get(strip_header(h))
        if name and name not in used:
            found[i] = name
            used.add(name)
    return found


def find_header_row(grid: list[tuple], known: dict[str, str], required: set[str],
                    max_scan: int = 60) -> tuple[int, dict[int, str]]:
    """The 0-based index of the first row holding all ``required`` fields, and its column map.

    Raises
    ------
    UnreadableFile
        When no row within ``max_scan`` rows holds them all; the message lists the expected headers
        and the headers found on the best candidate row.
    """
    best: tuple[int, dict[int, str]] | None = None
    for i, row in enumerate(grid[:max_scan]):
        cols = match_headers(row, known)
        names = set(cols.values())
        if required <= names:
            return i, cols
        if best is None or len(names & required) > len(set(best[1].values()) & required):
            best = (i, cols)
    expected = sorted({h for h, f in known.items() if f in required})
    if best is None or not (set(best[1].values()) & required):
        raise UnreadableFile(f"lomakkeen otsikkoriviä ei löydy: yhdelläkään rivillä ei ole odotettuja otsikoita "
                             f"(odotetut otsikot {expected})", column="; ".join(expected), action=ACTION_HEADERS)
    i, cols = best
    first_header: dict[str, str] = {}
    for h, f in known.items():
        first_header.setdefault(f, h)
    missing = sorted(first_header.get(f, f) for f in required - set(cols.values()))
    found = [str(c) for c in grid[i] if not is_empty(c)]
    raise UnreadableFile(f"pakollisia sarakeotsikoita puuttuu: {missing} (odotetut otsikot {expected}; "
                         f"rivillä {i + 1} on {found})", column="; ".join(missing), action=ACTION_HEADERS)


def read_header_block(grid: list[tuple], until: int, labels: dict[str, str], reach: int = 3) -> dict[str, tuple[Any, int]]:
    """Values of the header block above row index ``until``: field -> (value, 1-based row).

    A label is a cell (with or without a trailing ``:``) matching a key of ``labels`` (normalized);
    its value is the next non-empty cell to its right, at most ``reach`` cells away.
    """
    out: dict[str, tuple[Any, int]] = {}
    for r in range(min(until, len(grid))):
        row = grid[r]
        j = 0
        while j < len(row):
            h = norm_header(row[j])
            name = labels.get(h.rstrip(":").strip()) if h else None
            if name is None and h:
                name = labels.get(strip_header(h))
            if name is not None:
                value, k = None, j + 1
                while k < len(row) and k <= j + reach:
                    if not is_empty(row[k]):
                        value = row[k]
                        break
                    k += 1
                if name not in out:
                    out[name] = (value, r + 1)
                j = k + 1 if value is not None else j + 1
                continue
            j += 1
    return out


# --- files ---------------------------------------------------------------------------------------
@dataclass
class Workbook:
    """The sheets of one raw file as grids; CSV files have one sheet named :data:`CSV_SHEET`."""

    path: Path
    sheets: dict[str, list[tuple]] = field(default_factory=dict)
    merged: dict[str, list[str]] = field(default_factory=dict)  # sheet -> merged ranges ("B5:B9")

    def sheet(self, wanted: str | None) -> tuple[str, list[tuple]]:
        """The named sheet (case-insensitive), or the first sheet when ``wanted`` is None."""
        if not self.sheets:
            raise UnreadableFile("työkirjassa ei ole yhtään välilehteä", action=ACTION_RESAVE)
        if wanted is None:
            name = next(iter(self.sheets))
            return name, self.sheets[name]
        for name, grid in self.sheets.items():
            if norm_header(name) == norm_header(wanted):
                return name, grid
        raise UnreadableFile(f"välilehteä {wanted!r} ei löydy, eikä yhdeltäkään välilehdeltä löytynyt sen "
                             f"sarakeotsikoita; työkirjan välilehdet ovat {list(self.sheets)}", sheet=wanted,
                             action=f"Nimeä tietovälilehti {wanted!r}:ksi (data-contract §3) tai korjaa sen "
                                    "sarakeotsikot lomakkeen mukaisiksi; aja sitten hbeval build uudelleen.")


def _trim(rows: list[tuple]) -> list[tuple]:
    while rows and all(is_empty(c) for c in rows[-1]):
        rows.pop()
    return rows


def read_xlsx(path: Path, sheets: Iterable[str] | None = None) -> Workbook:
    """Read a workbook (all sheets, or only ``sheets``) in read-only, values-only mode."""
    import openpyxl

    data = path.read_bytes()
    if not data:
        raise UnreadableFile("tiedosto on tyhjä (0 tavua)", action=ACTION_RESAVE)
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise UnreadableFile("tiedosto on salasanalla suojattu (salattu) työkirja tai vanha .xls-tiedosto, "
                             "jonka pääte on muutettu .xlsx:ksi",
                             action="Avaa tiedosto Excelissä, poista salasanasuojaus (Tiedosto → Tiedot → Suojaa "
                                    "työkirja → Salaa salasanalla → tyhjennä salasana) ja tallenna se "
                                    "Excel-työkirjana (.xlsx); aja sitten hbeval build uudelleen.")
    if data[:2] != b"PK":
        raise UnreadableFile("tiedosto ei ole .xlsx-työkirja (ei zip-rakennetta); se voi olla tekstitiedosto, "
                             "jonka pääte on muutettu .xlsx:ksi",
                             action="Avaa tiedosto ja tallenna se Excel-työkirjana (.xlsx) tai CSV-tiedostona "
                                    "(.csv) oikealla päätteellä.")
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=UserWarning, module="openpyxl")
            wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - any failure to open is reported per file
        raise UnreadableFile(f"työkirjaa ei voi avata ({type(exc).__name__}: {exc}); tiedosto voi olla "
                             "katkennut tai vioittunut", action=ACTION_RESAVE) from exc
    out = Workbook(path)
    wanted = {norm_header(s) for s in sheets} if sheets is not None else None
    try:
        for ws in wb.worksheets:
            if wanted is not None and norm_header(ws.title) not in wanted:
                out.sheets[ws.title] = []  # listed (for messages), not read
                continue
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", category=UserWarning, module="openpyxl")
                ws.reset_dimensions()
                out.sheets[ws.title] = _trim([tuple(r) for r in ws.iter_rows(values_only=True)])
    except Exception as exc:  # noqa: BLE001
        raise UnreadableFile(f"työkirjaa ei voi lukea ({type(exc).__name__}: {exc}); tiedosto voi olla "
                             "katkennut tai vioittunut", action=ACTION_RESAVE) from exc
    finally:
        wb.close()
    out.merged = merged_ranges(data)
    return out


def merged_ranges(data: bytes) -> dict[str, list[str]]:
    """Merged cell ranges per sheet title (``{"Asiakkaat": ["B5:B9"]}``); empty when the workbook has none.

    Read-only openpyxl does not report merged cells, so the sheets' XML is scanned first and the workbook is
    loaded in full (``ws.merged_cells``) only when some sheet has a ``<mergeCell>``.
    """
    import zipfile

    import openpyxl

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            if not any(n.startswith("xl/worksheets/") and b"<mergeCell " in z.read(n) for n in z.namelist()
                       if n.endswith(".xml")):
                return {}
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=UserWarning, module="openpyxl")
            wb = openpyxl.load_workbook(io.BytesIO(data), data_only=True)
        out = {ws.title: sorted((r.coord for r in ws.merged_cells.ranges), key=_range_order)
               for ws in wb.worksheets if ws.merged_cells.ranges}
        wb.close()
        return out
    except Exception:  # noqa: BLE001 - a workbook that opened read-only but not in full: no merge report
        return {}


def _range_order(coord: str) -> tuple:
    from openpyxl.utils.cell import range_boundaries

    c1, r1, c2, r2 = range_boundaries(coord)
    return (r1, c1, r2, c2)


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM), else Windows-1252."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def read_csv(path: Path) -> Workbook:
    """Read a Finnish-locale (``;``) or international (``,``) CSV file; cells stay text."""
    data = path.read_bytes()
    if not data.strip():
        raise UnreadableFile("tiedosto on tyhjä", action=ACTION_RESAVE)
    text = decode_text(data)
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    sep = ";" if first.count(";") >= first.count(",") and ";" in first else ("," if "," in first else ";")
    if "\t" in first and first.count("\t") > max(first.count(";"), first.count(",")):
        sep = "\t"
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    rows: list[tuple] = []
    previous = 0
    for rec in reader:
        while len(rows) < previous:  # a quoted field spanning lines: keep numbering = line numbers
            rows.append(())
        rows.append(tuple(c if c.strip() else None for c in rec))
        previous = reader.line_num
    return Workbook(path, {CSV_SHEET: _trim(rows)})


def read_file(path: Path, sheets: Iterable[str] | None = None) -> Workbook:
    """Read an ``.xlsx`` or ``.csv`` raw file."""
    if path.suffix.lower() == ".csv":
        return read_csv(path)
    return read_xlsx(path, sheets)
