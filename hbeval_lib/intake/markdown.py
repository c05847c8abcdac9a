"""Diaries and workshop notes (data contract §3.13): the Markdown reader of intake.

The raw material is UTF-8 Markdown. Each file starts with a front-matter block between ``---`` lines
(``pilotti``, ``laji``, ``vaihe``, optional ``pvm``). Diaries hold ``## d.m.yyyy`` entry headings with
``### Havainnot`` / ``### Ajatukset`` / ``### Johtopäätökset ja tulkinnat`` sections; workshop notes hold
``## <theme>`` headings. A *paragraph* is every non-empty text block after the front matter that is not a
heading (blocks are separated by blank lines). A researcher codes a paragraph by ending it with one or more
``#koodi`` tags from the codebook in ``hbeval.yml`` (section ``codebook``); the extra tag ``#lainaus`` marks a
paragraph approved for quoting. The analysis of the coded paragraphs is the service strand's
(:mod:`hbeval_lib.strands.services.qualitative`).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from hbeval_lib.core.schema import TABLES

QUOTE_TAG = "lainaus"

# default codebook: the workshop themes of LIITE 2.1 (baseline and final workshops)
DEFAULT_CODEBOOK: dict[str, str] = {
    "saatavuus": "Palvelujen tarjonta, saatavuus ja saavutettavuus",
    "tarpeet": "Asiakkaiden tarpeet",
    "itsemaaraaminen": "Asiointikokemukset, itsemääräämisoikeus ja osallisuus",
    "lahituki": "Lähituki ja ohjaus",
    "edistaa": "Asiakaslähtöistä palvelua edistävät asiat",
    "estaa": "Asiakaslähtöistä palvelua estävät asiat",
    "kehittaminen": "Kehittämisehdotukset",
    "avustaja": "HB-avustajien toiminta",
    "laheiset": "Läheisten rooli",
    "kumppanuus": "Kumppanuudet ja yhteistyö",
}

# front-matter values → keys (ASCII) used in the table
STAGES = {"lähtötilanne": "lahtotilanne", "lahtotilanne": "lahtotilanne", "väli": "vali", "vali": "vali",
          "väliarviointi": "vali", "loppu": "loppu", "loppuarviointi": "loppu"}
STAGE_LABELS = {"lahtotilanne": "Lähtötilanne", "vali": "Väli", "loppu": "Loppu"}
KINDS = {
    "paivakirjat": {"työntekijä": "tyontekija", "asiakas": "asiakas"},
    "tyopajat": {"työntekijät": "tyontekijat", "esimiehet": "esimiehet", "sekaryhmä": "sekaryhma",
                 "asiakkaat": "asiakkaat"},
}
# informant group shown in tables: diaries and workshops of the same people side by side
INFORMANT_GROUPS = {"tyontekija": "Työntekijät", "tyontekijat": "Työntekijät", "asiakas": "Asiakkaat",
                    "asiakkaat": "Asiakkaat", "esimiehet": "Esimiehet", "sekaryhma": "Sekaryhmä"}
REQUIRED_FRONT_MATTER = ("pilotti", "laji", "vaihe")

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
TAG_RE = re.compile(r"(?<![\w#])#([^\W\d_][\w-]*)", re.UNICODE)
_TRAILING_TAGS = re.compile(r"(?:\s*(?<![\w#])#[^\W\d_][\w-]*)+\s*$", re.UNICODE)
_ONLY_TAGS = re.compile(r"^(?:\s*#[^\W\d_][\w-]*)+\s*$", re.UNICODE)
_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
_FOLD = str.maketrans({"ä": "a", "ö": "o", "å": "a"})
# two consecutive capitalised words (e.g. a first name and a surname the scrubber did not know)
NAME_LIKE = re.compile(r"(?<![\w-])[A-ZÅÄÖ][a-zåäöéü]+(?:-[A-ZÅÄÖ][a-zåäöéü]+)?\s+[A-ZÅÄÖ][a-zåäöéü]{2,}")


def codebook(cfg=None) -> dict[str, str]:
    """The tag codebook (code → Finnish label): ``hbeval.yml`` section ``codebook``, else :data:`DEFAULT_CODEBOOK`.

    Parameters
    ----------
    cfg : Config, optional
        The configuration; ``None`` uses :data:`DEFAULT_CODEBOOK`.

    Returns
    -------
    dict
        Codes (ASCII, lower case, without ``#``) mapped to labels, in codebook order.
    """
    section = cfg.section("codebook") if cfg is not None else None
    if not section:
        return dict(DEFAULT_CODEBOOK)
    return {normalise_tag(str(k)): str(v) for k, v in section.items()}


def normalise_tag(tag: str) -> str:
    """Case-fold a tag and write Finnish letters without dots (``#Itsemääräaminen`` → ``itsemaaraaminen``)."""
    return tag.strip().lstrip("#").casefold().translate(_FOLD)


def parse_date(text) -> dt.date | None:
    """Parse ``d.m.yyyy`` or ISO ``yyyy-mm-dd`` (also a YAML date); ``None`` when not a valid date."""
    if isinstance(text, dt.datetime):
        return text.date()
    if isinstance(text, dt.date):
        return text
    s = str(text or "").strip()
    m = _DATE.match(s)
    try:
        if m:
            return dt.date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
        return dt.date.fromisoformat(s)
    except ValueError:
        return None


@dataclass
class ParsedDocument:
    """One parsed Markdown document.

    Attributes
    ----------
    front_matter : dict or None
        Keys and values of the front-matter block (``None`` when the block is missing).
    paragraphs : list of dict
        ``line`` (1-based line of the paragraph's first line), ``section``, ``entry_date`` (diaries),
        ``text`` (tags stripped), ``tags`` (normalised codes in order, ``lainaus`` included).
    entries : int
        Number of dated ``## d.m.yyyy`` entry headings.
    """

    front_matter: dict | None
    front_matter_line: int = 1
    paragraphs: list[dict] = field(default_factory=list)
    entries: int = 0


def _front_matter(lines: list[str]) -> tuple[dict | None, int]:
    """Return (front matter, index of the first body line); ``None`` when no closed ``---`` block opens the file."""
    i = 0
    while i < len(lines) and not lines[i].strip():
        i += 1
    if i >= len(lines) or lines[i].strip() != "---":
        return None, 0
    fm: dict[str, str] = {}
    for j in range(i + 1, len(lines)):
        s = lines[j].strip()
        if s == "---":
            return fm, j + 1
        if ":" in s:
            key, _, value = s.partition(":")
            fm[key.strip().casefold()] = value.strip().strip("\"'")
    return None, 0


def parse_markdown(text: str) -> ParsedDocument:
    """Parse one diary or workshop document.

    Parameters
    ----------
    text : str
        The file's text.

    Returns
    -------
    ParsedDocument
        Front matter (``None`` when missing — the body is then parsed from the first line) and paragraphs.

    Notes
    -----
    Tags are read from the end of a paragraph (the contract's convention). A block that holds only tags (a
    tag line separated from its paragraph by a blank line) is attached to the preceding paragraph. A ``#word``
    inside the text is left as text.

    Examples
    --------
    >>> doc = parse_markdown("---\\npilotti: Pori\\nlaji: asiakas\\nvaihe: loppu\\n---\\n## 1.2.2018\\n"
    ...                      "### Havainnot\\n\\nHyvä päivä. #tarpeet #lainaus\\n")
    >>> doc.paragraphs[0]["tags"], doc.entries
    (['tarpeet', 'lainaus'], 1)
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff").split("\n")
    fm, start = _front_matter(lines)
    doc = ParsedDocument(front_matter=fm)
    section = ""
    entry_date = None
    block: list[str] = []
    block_line = 0

    def flush():
        nonlocal block
        if not block:
            return
        raw = " ".join(s.strip() for s in block).strip()
        block = []
        if not raw:
            return
        if _ONLY_TAGS.match(raw) and doc.paragraphs:
            doc.paragraphs[-1]["tags"].extend(normalise_tag(t) for t in TAG_RE.findall(raw))
            return
        m = _TRAILING_TAGS.search(raw)
        tags = [normalise_tag(t) for t in TAG_RE.findall(m.group(0))] if m else []
        body = raw[:m.start()].rstrip() if m else raw
        doc.paragraphs.append({"line": block_line, "section": section, "entry_date": entry_date,
                               "text": body, "tags": tags})

    for idx in range(start, len(lines)):
        line = lines[idx]
        h = _HEADING.match(line)
        if h and not _ONLY_TAGS.match(line):
            flush()
            level, title = len(h.group(1)), h.group(2).strip()
            if level == 2:
                d = parse_date(title) if _DATE.match(title) else None
                if d is not None:
                    entry_date = d
                    doc.entries += 1
                    section = ""
                else:
                    section = title
            elif level >= 3:
                section = title
            continue
        if not line.strip():
            flush()
            continue
        if not block:
            block_line = idx + 1
        block.append(line)
    flush()
    return doc


def _is_ignored(path: Path) -> bool:
    return path.name.startswith(("~$", "."))


def read_markdown_instrument(folder: Path, instrument: str, cfg) -> tuple[pd.DataFrame, list[dict], list[dict]]:
    """Read every ``*.md`` file of one qualitative instrument folder (for intake).

    Parameters
    ----------
    folder : Path
        The instrument folder, e.g. ``<raw>/paivakirjat``.
    instrument : str
        ``"paivakirjat"`` or ``"tyopajat"`` (stored in ``source``).
    cfg : Config
        The configuration (pilot names, codebook).

    Returns
    -------
    rows : DataFrame
        The ``qualitative`` schema: one row per paragraph of every usable file. ``tags`` holds the
        space-separated codes without ``#`` and without ``lainaus``; ``quote_approved`` is True when the
        paragraph carries ``#lainaus``; ``doc_id`` numbers the files 1, 2, … in name order.
    reconciliation : list of dict
        One row per file: ``read`` = paragraphs in the file, ``accepted`` + ``rejected`` = ``read``.
    problems : list of dict
        ``kind="quarantine"`` for a file that cannot be used (missing front matter or a required key,
        unknown pilot, invalid ``laji``/``vaihe``: all its paragraphs rejected) and ``kind="flag"`` for usable
        files with a problem kept as is (``unknown_tag``, ``invalid_date``, ``missing_date``).
    """
    folder = Path(folder)
    book = codebook(cfg)
    kinds = KINDS.get(instrument, {**KINDS["paivakirjat"], **KINDS["tyopajat"]})
    rows, recon, problems = [], [], []
    files = sorted(p for p in folder.glob("*.md") if p.is_file() and not _is_ignored(p)) if folder.exists() else []
    for doc_id, path in enumerate(files, start=1):
        rel = f"{instrument}/{path.name}"

        def problem(kind, reason, row=None, column="", value=""):
            problems.append({"instrument": instrument, "file": rel, "sheet": "", "row": row, "column": column,
                             "value": str(value), "reason": reason, "kind": kind})

        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            problem("quarantine", "not_utf8")
            recon.append({"instrument": instrument, "file": rel, "sheet": "", "read": 0, "accepted": 0,
                          "skipped": 0, "rejected": 0, "excluded_no_consent": 0})
            continue
        doc = parse_markdown(text)
        n = len(doc.paragraphs)
        fm = doc.front_matter
        reject = None
        pilot = kind = stage = None
        if fm is None:
            reject = ("missing_front_matter", "", "")
        else:
            missing = [k for k in REQUIRED_FRONT_MATTER if not fm.get(k)]
            if missing:
                reject = ("missing_front_matter", missing[0], "")
            else:
                p = cfg.pilot_by_name(fm["pilotti"])
                kind = kinds.get(fm["laji"].strip().casefold())
                stage = STAGES.get(fm["vaihe"].strip().casefold())
                if p is None:
                    reject = ("unknown_pilot", "pilotti", fm["pilotti"])
                elif kind is None:
                    reject = ("invalid_value", "laji", fm["laji"])
                elif stage is None:
                    reject = ("invalid_value", "vaihe", fm["vaihe"])
                else:
                    pilot = p.key
        if reject:
            problem("quarantine", reject[0], 1, reject[1], reject[2])
            recon.append({"instrument": instrument, "file": rel, "sheet": "", "read": n, "accepted": 0,
                          "skipped": 0, "rejected": n, "excluded_no_consent": 0})
            continue
        doc_date = None
        if fm.get("pvm"):
            doc_date = parse_date(fm["pvm"])
            if doc_date is None:
                problem("flag", "invalid_date", 1, "pvm", fm["pvm"])
        dates = [p["entry_date"] for p in doc.paragraphs if p["entry_date"] is not None]
        if doc_date is None:
            # a phase's cut-off applies to doc_date: fall back to the last diary entry
            doc_date = max(dates) if dates else None
            if not fm.get("pvm"):
                problem("flag", "missing_date", 1, "pvm", "")
        for i, par in enumerate(doc.paragraphs, start=1):
            codes = []
            for t in par["tags"]:
                if t != QUOTE_TAG and t not in book:
                    problem("flag", "unknown_tag", par["line"], "tags", f"#{t}")
                if t != QUOTE_TAG and t not in codes:
                    codes.append(t)
            rows.append({"source": instrument, "doc_id": doc_id, "pilot": pilot, "kind": kind, "stage": stage,
                         "doc_date": doc_date, "entry_date": par["entry_date"], "section": par["section"],
                         "paragraph": i, "text": par["text"], "tags": " ".join(codes),
                         "quote_approved": QUOTE_TAG in par["tags"]})
        recon.append({"instrument": instrument, "file": rel, "sheet": "", "read": n, "accepted": n,
                      "skipped": 0, "rejected": 0, "excluded_no_consent": 0})
    return _typed(pd.DataFrame(rows, columns=list(TABLES["qualitative"]))), recon, problems


def _typed(df: pd.DataFrame) -> pd.DataFrame:
    """Cast to the ``qualitative`` schema dtypes."""
    for col, kind in TABLES["qualitative"].items():
        if kind == "str":
            df[col] = df[col].astype("string")
        elif kind == "date":
            df[col] = pd.to_datetime(df[col]).astype("datetime64[ns]")
        elif kind == "Int64":
            df[col] = pd.array(df[col], dtype="Int64")
        elif kind == "bool":
            df[col] = df[col].astype(bool)
    return df


# -- analysis ------------------------------------------------------------------
