"""The researchers' own text: Finnish prose per phase × strand × pilot, written beside the generated report.

Where the text lives
--------------------
``book/text/<phase>/<strand>/<pilot>.md``   text of one strand page (``<pilot>`` is a pilot key or ``kaikki``;
                                            ``<strand>`` one of wellbeing, service_process, costs, synthesis)
``book/text/<phase>/raportti.md``           the phase report's own pages: ``tiivistelma``, ``abstract``,
                                            ``rajoitukset``, ``johtopaatokset``, ``suositukset``, and the pilots'
                                            case descriptions ``pilotti.<pilot key>``

A file is Markdown (MyST) split into **slots** by level-2 headings naming the slot: ``## tulkinta``. Text before the
first slot heading and HTML comments (``<!-- … -->``) are ignored (use them for notes to co-authors). A file whose
first line is ``<!-- esimerkki -->`` is the demo's example text: it is published only in a demo build or a draft (a
final build from the project's real data fails while an example file remains, so example words can never reach a
real report).

Citing numbers
--------------
``{{ wellbeing.osallisuustesti.adjusted_diff }}`` is replaced by the protected number the page published under that
results key (``docs/results.md``), in Finnish notation. The first part names the strand; by default the page's own
phase and pilot are read; ``{{ kaikki:wellbeing.key }}`` takes another pilot and ``{{ lahtotilanne/kaikki:costs.key }}``
another phase. Formats after ``|``: ``ci`` (estimate with its 95 % confidence interval), ``lo``, ``hi``, ``n``,
``p`` (p-value), ``eur`` (euros), ``pct`` (a 0–1 share as per cent), ``abs``, and a digit 0–3 (decimals, default 1).
A cited key that does not exist, or was suppressed by disclosure control, fails the build with a message naming the
file, the slot and the name. ``{cite}`key``` cites ``references.bib``.

How it reaches the page
-----------------------
A notebook cell ``rep.text("tulkinta")`` (see :meth:`hbeval_lib.page.report.Report.text`) leaves an empty marker output
naming the slot (``report.slot_marker``; the notebooks never import this module). After the notebooks ran, :func:`render_book` (called by ``bookpages.write_pages``, i.e. by ``hbeval run`` and
``hbeval build``) fills every marker of every executed notebook from the text files and the *final* results tables of
the run. Rendering after execution means a text edit re-renders in seconds without re-executing any notebook (the
execution cache does not need to know about ``book/text/``), and a sentence may cite any number of its page, also
those computed after the slot. Empty slots render as nothing; in a draft build (``hbeval build --draft`` writes
``"draft": true`` to ``book/_generated/build.json``; or the environment variable ``HBEVAL_DRAFT=1``) they render as a
visible note naming the file and slot.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from hbeval_lib.config import STRANDS as _PAGES, SYNTHESIS, ALL_PILOTS, Config, load_config, strand_folder, folder_strand
from hbeval_lib.book.errors import RunError
from hbeval_lib.page.report import SLOT_MARKER

TEXT_DIR = "text"  # inside the book folder
REPORT_FILE = "raportti"
STRANDS = [*_PAGES, SYNTHESIS]   # every notebook with text slots
REPORT_SLOTS = {"tiivistelma": "Tiivistelmä", "abstract": "Abstract", "rajoitukset": "Tulkinnan rajoitukset",
                "johtopaatokset": "Johtopäätökset", "suositukset": "Suositukset"}
EXAMPLE_MARK = "<!-- esimerkki -->"
VERDICTS = {"toteutui": "toteutui", "osittain": "toteutui osittain", "ei": "ei toteutunut",
            "ei voida arvioida": "ei voida arvioida"}
_SLOT_HEADING = re.compile(r"^##[ \t]+([A-Za-z0-9_.\-]+)[ \t]*$")
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_CITE_NUMBER = re.compile(r"\{\{\s*(.*?)\s*\}\}")
_CITE_REF = re.compile(r"\{cite(?::[a-z]+)?\}`([^`]*)`")
_ADDRESS = re.compile(r"^(?:(?P<phase>[a-z_]+)/)?(?:(?P<pilot>[a-z_]+):)?(?P<strand>[a-z_]+)\.(?P<key>[A-Za-z0-9_.\-]+)$")


class SlotError(RunError):
    """A researcher's text cannot be published (a cited number is missing or suppressed, a slot is unknown …).

    The message is Finnish and names the file, the slot and the cited name; ``hbeval run`` / ``hbeval build`` print
    it and exit with status 1 (it is a :class:`~hbeval_lib.book.errors.RunError`)."""


def draft_mode(book_dir: Path | None = None) -> bool:
    """True when empty slots should be shown: ``HBEVAL_DRAFT=1`` or ``"draft": true`` in ``_generated/build.json``."""
    if os.environ.get("HBEVAL_DRAFT", "").strip().lower() in {"1", "true", "yes", "kylla"}:
        return True
    if book_dir is not None:
        info = Path(book_dir) / "_generated" / "build.json"
        if info.exists():
            try:
                return bool(json.loads(info.read_text(encoding="utf-8")).get("draft"))
            except ValueError:
                return False
    return False


# ---------------------------------------------------------------------------------------------------------------------
# files and slots
# ---------------------------------------------------------------------------------------------------------------------
def text_path(book_dir: Path, phase: str, strand: str | None = None, pilot: str | None = None) -> Path:
    """``<book>/text/<phase>/<strand>/<pilot>.md``, or ``<book>/text/<phase>/raportti.md`` without a strand."""
    base = Path(book_dir) / TEXT_DIR / phase
    return base / f"{REPORT_FILE}.md" if strand is None else base / strand / f"{pilot}.md"


@dataclass
class TextFile:
    """One researchers' text file split into slots (name → Markdown, comments removed, stripped)."""

    path: Path
    slots: dict[str, str] = field(default_factory=dict)
    example: bool = False

    @classmethod
    def read(cls, path: Path) -> TextFile:
        path = Path(path)
        if not path.exists():
            return cls(path)
        raw = path.read_text(encoding="utf-8")
        example = raw.lstrip().startswith(EXAMPLE_MARK)
        slots: dict[str, list[str]] = {}
        current = None
        in_fence = False
        for line in _COMMENT.sub("", raw).splitlines():
            if line.lstrip().startswith(("```", "~~~")):
                in_fence = not in_fence
            m = None if in_fence else _SLOT_HEADING.match(line)
            if m:
                current = m.group(1)
                if current in slots:
                    raise SlotError(f"Tutkijan teksti {_show(path)}: kohta ”{current}” on tiedostossa kahdesti; "
                                    "yhdistä kohdat.")
                slots[current] = []
            elif current is not None:
                slots[current].append(line)
        return cls(path, {k: "\n".join(v).strip() for k, v in slots.items()}, example)

    def get(self, slot: str) -> str:
        return self.slots.get(slot, "")


def _show(path: Path) -> str:
    """A path for messages: relative from the ``book`` folder's parent when possible."""
    path = Path(path)
    parts = path.parts
    if TEXT_DIR in parts:
        i = len(parts) - 1 - parts[::-1].index(TEXT_DIR)
        return "/".join(("book",) + parts[i:])
    return str(path)


# ---------------------------------------------------------------------------------------------------------------------
# citing numbers
# ---------------------------------------------------------------------------------------------------------------------
class ResultsIndex:
    """The results tables of an executed book, read on demand: ``<book>/<phase>/<strand>/<pilot>.results.csv``."""

    def __init__(self, book_dir: Path):
        self.book_dir = Path(book_dir)
        self._frames: dict[tuple[str, str, str], pd.DataFrame | None] = {}

    def table(self, phase: str, strand: str, pilot: str) -> pd.DataFrame | None:
        k = (phase, strand, pilot)
        if k not in self._frames:
            p = self.book_dir / phase / strand_folder(strand) / f"{pilot}.results.csv"
            self._frames[k] = pd.read_csv(p).set_index("key") if p.exists() and p.stat().st_size else None
        return self._frames[k]


@dataclass
class Context:
    """Where a slot is published: its file, slot name and the defaults of its number citations."""

    path: Path
    slot: str
    phase: str
    pilot: str
    strand: str | None = None


def _fmt_num(x: float, digits: int) -> str:
    from hbeval_lib.page.report import num

    return num(x, digits)


def _p_value(p: float) -> str:
    if p < 0.001:
        return "p < 0,001"
    return "p = " + _fmt_num(p, 3)


def cite_number(expr: str, ctx: Context, results: ResultsIndex, cfg: Config) -> str:
    """The Finnish text of one ``{{ … }}`` citation (see the module docstring), or :class:`SlotError`."""
    parts = [s.strip() for s in expr.split("|")]
    address, fmts = parts[0], [f for f in parts[1:] if f]
    where = f"Tutkijan teksti {_show(ctx.path)}, kohta ”{ctx.slot}”: viittaus {{{{ {expr} }}}}"
    m = _ADDRESS.match(address)
    if not m:
        raise SlotError(f"{where}: nimeä ei voi lukea. Kirjoita muodossa {{{{ osa.avain }}}}, esim. "
                        "{{ wellbeing.osallisuustesti.adjusted_diff }}, ja katso avaimet tiedostosta docs/results.md.")
    phase = m.group("phase") or ctx.phase
    pilot = m.group("pilot") or ctx.pilot
    strand, key = m.group("strand"), m.group("key")
    if phase not in {p.key for p in cfg.phases}:
        raise SlotError(f"{where}: vaihetta ”{phase}” ei ole (vaiheet: {', '.join(p.key for p in cfg.phases)}).")
    if pilot != ALL_PILOTS and pilot not in {p.key for p in cfg.pilots}:
        raise SlotError(f"{where}: pilottia ”{pilot}” ei ole (pilotit: {ALL_PILOTS}, "
                        f"{', '.join(p.key for p in cfg.pilots)}).")
    if strand not in STRANDS:
        raise SlotError(f"{where}: osaa ”{strand}” ei ole; nimen alussa on osa: {', '.join(STRANDS)}.")
    table = results.table(phase, strand, pilot)
    if table is None:
        raise SlotError(f"{where}: osan {strand} tuloksia vaiheelle {phase} ja pilotille {pilot} ei ole "
                        "(muistiota ei ole ajettu). Aja ensin sivu, johon teksti viittaa: "
                        f"`hbeval run --phase {phase} --pilot {pilot}` (tai koko kirja: `hbeval build`), "
                        "tai poista viittaus.")
    if key not in table.index:
        near = difflib.get_close_matches(key, [str(k) for k in table.index], n=3, cutoff=0.6)
        hint = f" Lähimmät nimet: {', '.join(near)}." if near else ""
        raise SlotError(f"{where}: lukua ”{strand}.{key}” ei ole vaiheen {phase} pilotin {pilot} tuloksissa.{hint} "
                        "Korjaa nimi (avaimet: docs/results.md) tai poista viittaus.")
    row = table.loc[key]
    row = row.iloc[0] if isinstance(row, pd.DataFrame) else row
    if bool(row["suppressed"]):
        raise SlotError(f"{where}: luku ”{strand}.{key}” on peitetty tietosuojan vuoksi (liian harvoihin henkilöihin "
                        "perustuva) eikä sitä saa julkaista. Kirjoita lause ilman lukua tai viittaa kaikkien "
                        f"pilottien lukuun ({{{{ {ALL_PILOTS}:{strand}.{key} }}}}).")
    digits, field_, unit, take_abs = 1, "estimate", "", False
    for f in fmts:
        if f in {"0", "1", "2", "3"}:
            digits = int(f)
        elif f in {"ci", "lo", "hi", "n", "p"}:
            field_ = f
        elif f in {"eur", "pct"}:
            unit = f
        elif f == "abs":
            take_abs = True
        else:
            raise SlotError(f"{where}: muotoa ”{f}” ei tunneta (muodot: ci, lo, hi, n, p, eur, pct, abs, 0–3).")
    if unit and not any(f in {"1", "2", "3"} for f in fmts):
        digits = 0  # euros and per cents: whole numbers unless asked
    col = {"estimate": "estimate", "ci": "estimate", "lo": "ci_low", "hi": "ci_high", "n": "n", "p": "p_value"}[field_]
    val = row[col]
    if val is None or (isinstance(val, float) and math.isnan(val)):
        raise SlotError(f"{where}: luvulla ”{strand}.{key}” ei ole arvoa ”{field_}” (tuloksissa tyhjä). "
                        "Valitse toinen muoto tai poista viittaus.")

    def one(x: float) -> str:
        x = abs(float(x)) if take_abs else float(x)
        if unit == "pct":
            return f"{_fmt_num(100 * x, digits)} %"
        s = _fmt_num(x, digits)
        return f"{s} €" if unit == "eur" else s

    if field_ == "n":
        return str(int(round(float(val))))
    if field_ == "p":
        return _p_value(float(val))
    if field_ == "ci":
        lo, hi = row["ci_low"], row["ci_high"]
        if pd.isna(lo) or pd.isna(hi):
            raise SlotError(f"{where}: luvulla ”{strand}.{key}” ei ole luottamusväliä. Poista muoto ”ci”.")
        return f"{one(val)} (95 %:n luottamusväli {one(lo)} … {one(hi)})"
    return one(val)


def _prefix_citations(md: str, phase: str) -> str:
    """``{cite}`a,b``` → ``{cite}`<phase>-a,<phase>-b```: each phase report has its own reference list
    (``{bibliography}`` with ``:keyprefix: <phase>-``), so each phase's PDF is complete."""
    def sub(m: re.Match) -> str:
        keys = ",".join(f"{phase}-{k.strip()}" for k in m.group(1).split(",") if k.strip())
        return m.group(0).split("`")[0] + f"`{keys}`"
    return _CITE_REF.sub(sub, md)


SUPPRESSED_IN_DRAFT = "[✎ luku peitetty tietosuojan vuoksi – kirjoita lause ilman sitä]"
EMPTY_IN_DRAFT = "[✎ lukua ei ole tällä aineistolla – kirjoita lause ilman sitä]"


def render_markdown(md: str, ctx: Context, results: ResultsIndex, cfg: Config, draft: bool = False) -> str:
    """Replace every ``{{ … }}`` by its number and give every ``{cite}`` the phase prefix.

    A citation of a suppressed number is an error; in a draft build (a banner on every page says the book is not
    final) it is shown as a visible marker instead, so that a draft on new data can still be read through."""
    def one(m):
        try:
            return cite_number(m.group(1), ctx, results, cfg)
        except SlotError as e:
            if draft and "peitetty tietosuojan vuoksi" in str(e):
                return SUPPRESSED_IN_DRAFT
            if draft and "tuloksissa tyhjä" in str(e):   # no such value on this data (e.g. no interval published)
                return EMPTY_IN_DRAFT
            raise

    md = _CITE_NUMBER.sub(one, md)
    return _prefix_citations(md, ctx.phase)


def judgement(md: str, ctx: Context) -> tuple[str, str]:
    """Split a criterion slot into (verdict, rest); the slot starts with a line ``arvio: <verdict>``."""
    lines = md.strip().splitlines()
    m = re.match(r"^\s*arvio\s*:\s*(.+?)\s*\.?\s*$", lines[0], re.IGNORECASE) if lines else None
    if not m:
        raise SlotError(f"Tutkijan teksti {_show(ctx.path)}, kohta ”{ctx.slot}”: arvion ensimmäinen rivi on "
                        f"muotoa ”arvio: toteutui / osittain / ei / ei voida arvioida”.")
    verdict = m.group(1).strip().lower()
    if verdict not in VERDICTS:
        raise SlotError(f"Tutkijan teksti {_show(ctx.path)}, kohta ”{ctx.slot}”: arvio ”{m.group(1)}” ei ole "
                        f"sallittu; kirjoita jokin näistä: {', '.join(VERDICTS)}.")
    return verdict, "\n".join(lines[1:]).strip()


def render_slot(tf: TextFile, ctx: Context, results: ResultsIndex, cfg: Config, heading: str = "",
                draft: bool = False, demo: bool = True) -> str:
    """The Markdown of one slot as published (empty string for an empty slot outside draft mode)."""
    if tf.example and not demo and not draft:
        raise SlotError(f"Tutkijan teksti {_show(tf.path)} on demon esimerkkiteksti (ensimmäinen rivi "
                        f"{EXAMPLE_MARK}), mutta raportti tehdään hankkeen aineistosta. Kirjoita oma teksti ja "
                        "poista merkintä, tai poista tiedosto.")
    body = tf.get(ctx.slot)
    if not body:
        if not draft:
            return ""
        return (f"> ✎ **Luonnos – tutkijan teksti puuttuu:** kohta ”{ctx.slot}” tiedostossa "
                f"{_show(tf.path)}.\n")
    # the demo's example text was written for the demo data: on other data (or after a change of the protection) a
    # number it cites may be hidden — it then shows the visible marker instead of stopping the build; a
    # researcher's own text still stops a final build
    out = render_markdown(body, ctx, results, cfg, draft=draft or tf.example)
    if ctx.slot.startswith("kriteeri."):
        verdict, rest = judgement(out, ctx)
        out = f"**Arvioijien arvio: {VERDICTS[verdict]}.**" + (f" {rest}" if rest else "")
    if tf.example:
        out = "*Esimerkkiteksti (demoaineisto; tutkijat korvaavat omallaan):* " + out
    return (f"{heading}\n\n" if heading else "") + out + "\n"


# ---------------------------------------------------------------------------------------------------------------------
# notebooks: markers and rendering after execution
# ---------------------------------------------------------------------------------------------------------------------
def _markers(nb: dict):
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []):
            info = (out.get("metadata") or {}).get(SLOT_MARKER)
            if out.get("output_type") == "display_data" and info:
                yield cell, out, info


def render_notebook(nb_path: Path, book_dir: Path, results: ResultsIndex, cfg: Config, draft: bool, demo: bool,
                    files: dict[Path, TextFile]) -> tuple[bool, set[tuple[Path, str]]]:
    """Fill the slot markers of one executed notebook in place; return (changed, used (file, slot) pairs)."""
    nb = json.loads(Path(nb_path).read_text(encoding="utf-8"))
    used: set[tuple[Path, str]] = set()
    changed = False
    for cell, out, info in _markers(nb):
        path = (text_path(book_dir, info["phase"]) if info.get("source") == REPORT_FILE else
                text_path(book_dir, info["phase"], info["strand"], info["pilot"]))
        tf = files.setdefault(path, TextFile.read(path))
        ctx = Context(path, info["slot"], info["phase"], info["pilot"], info["strand"])
        md = render_slot(tf, ctx, results, cfg, info.get("heading", ""), draft, demo)
        used.add((path, info["slot"]))
        if out.get("data") != {"text/markdown": md}:
            out["data"] = {"text/markdown": md}
            changed = True
        meta = cell.setdefault("metadata", {})
        if (meta.get("mystnb") or {}).get("markdown_format") != "myst":
            meta.setdefault("mystnb", {})["markdown_format"] = "myst"  # {cite} and colon fences in slots
            changed = True
    # figure and table captions numbered in the page's order ("Kuvio:" and "Kuvio 3." alike); the PDF numbers
    # them again through the whole report (hbeval_lib.book.pdf.number_captions)
    from hbeval_lib.book.pdf import number_captions

    captions = [o.get("data", {}).get("text/markdown") for c in nb.get("cells", []) for o in c.get("outputs", []) or []]
    number_captions(nb, {})
    if captions != [o.get("data", {}).get("text/markdown") for c in nb.get("cells", [])
                    for o in c.get("outputs", []) or []]:
        changed = True
    if changed:
        tmp = Path(nb_path).with_name(Path(nb_path).name + ".tmp")
        tmp.write_text(json.dumps(nb, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, nb_path)
    return changed, used


def render_book(book_dir: Path, cfg: Config | None = None, demo: bool = True, draft: bool | None = None) -> list[Path]:
    """Fill the slots of every executed notebook of the book; return the notebooks that changed.

    Also checks the text files of the pages that exist: a slot heading that no page of that file shows (a typo,
    or a slot a notebook no longer has) fails, so no written sentence is silently left out."""
    cfg = cfg or load_config()
    book_dir = Path(book_dir)
    draft = draft_mode(book_dir) if draft is None else draft
    results = ResultsIndex(book_dir)
    files: dict[Path, TextFile] = {}
    used: set[tuple[Path, str]] = set()
    changed = []
    executed_pages = set()
    for ph in cfg.phases:
        if ph.is_published:
            continue   # a published report's pages are its release record, text included (never filled again)
        for nb_path in sorted((book_dir / ph.key).glob("*/*.ipynb")):
            executed_pages.add((ph.key, folder_strand(nb_path.parent.name), nb_path.stem))
            did, u = render_notebook(nb_path, book_dir, results, cfg, draft, demo, files)
            used |= u
            if did:
                changed.append(nb_path)
    root = book_dir / TEXT_DIR
    for path in sorted(root.glob("*/*/*.md")) if root.exists() else []:
        phase, strand, pilot = path.parent.parent.name, path.parent.name, path.stem
        if (phase, strand, pilot) not in executed_pages:
            # (every configured phase: a report not yet due is not built, its researchers' text waits for it)
            configured = {p.key for p in load_config(cfg.path).phases} if getattr(cfg, "path", None) else set()
            if phase in {p.key for p in cfg.phases} | configured and strand in STRANDS and (
                    pilot == ALL_PILOTS or pilot in {p.key for p in cfg.pilots}):
                continue  # a valid page that this run did not execute
            raise SlotError(f"Tutkijan teksti {_show(path)}: sivua {phase}/{strand}/{pilot} ei ole raportissa. "
                            f"Polku on muotoa book/text/<vaihe>/<osa>/<pilotti>.md.")
        tf = files.get(path) or TextFile.read(path)
        known = {s for (p, s) in used if p == path}
        for slot, body in tf.slots.items():
            if slot not in known and body:
                near = difflib.get_close_matches(slot, sorted(known), n=3, cutoff=0.5)
                raise SlotError(f"Tutkijan teksti {_show(path)}: kohtaa ”{slot}” ei ole sivulla "
                                f"{phase}/{strand}/{pilot}" + (f" (lähimmät: {', '.join(near)})" if near else "") +
                                f". Sivun kohdat: {', '.join(sorted(known)) or 'ei yhtään'}.")
    return changed


def report_slots(cfg: Config) -> list[str]:
    """The slots of ``raportti.md``: front and back matter and one case description per pilot."""
    return list(REPORT_SLOTS) + [f"pilotti.{p.key}" for p in cfg.pilots]


def render_report_slot(book_dir: Path, phase: str, slot: str, cfg: Config, demo: bool = True,
                       draft: bool | None = None, heading: str = "", pilot: str = ALL_PILOTS) -> str:
    """A slot of ``book/text/<phase>/raportti.md`` for a generated page (numbers default to all pilots)."""
    book_dir = Path(book_dir)
    draft = draft_mode(book_dir) if draft is None else draft
    path = text_path(book_dir, phase)
    tf = TextFile.read(path)
    unknown = [s for s in tf.slots if s not in report_slots(cfg) and tf.slots[s]]
    if unknown:
        raise SlotError(f"Tutkijan teksti {_show(path)}: kohtaa ”{unknown[0]}” ei ole raportin sivuilla. "
                        f"Kohdat: {', '.join(report_slots(cfg))}.")
    return render_slot(tf, Context(path, slot, phase, pilot), ResultsIndex(book_dir), cfg, heading, draft, demo)


# ---------------------------------------------------------------------------------------------------------------------
# no code in published text: a scan of the built book (HTML, and PDF text when a PDF exists)
# ---------------------------------------------------------------------------------------------------------------------
# pages whose subject is the code itself (software versions, the results table's columns): only warnings,
# tracebacks and paths are looked for there
TECHNICAL_PAGES = {"_generated/tekninen"}
# English words that have no place in the Finnish text (outside the English abstract, quotations and references)
ENGLISH_WORDS = {"the", "and", "of", "with", "for", "not", "is", "are", "label", "labels", "background",
                 "relationship", "period", "pilot", "pilots", "default", "zero", "leisure", "wage", "unknown",
                 "items", "too", "few", "client", "clients", "value", "values", "estimate", "missing", "table",
                 "figure", "count", "mean", "median", "total", "other", "phase", "strand", "key", "group", "arm",
                 "none", "nan", "null", "true", "false", "warning", "error", "suppressed", "last", "updated",
                 "change", "diff", "adjusted", "cost", "costs", "wellbeing", "survey", "yes"}
# statistical notation that looks like an identifier but is written so in Finnish reports too
NOTATION = {"d_z"}
_SECTION_WORDS = re.compile(r"(luku|luvu|liite|liitte|kysymy|kohta|kohda|§|versio|LIITE)\w*\s*$", re.IGNORECASE)
CODE_PATTERNS = [
    ("ohjelman varoitus tai virheilmoitus", re.compile(
        r"Traceback \(most recent call last\)|\b\w*(?:Warning|Error|Exception)\b:|File \"[^\"]+\", line \d+")),
    ("tiedostopolku", re.compile(r"(?:/(?:work|home|tmp|usr|opt)/[\w./-]+)|site-packages|\.venv\b|"
                                 r"\b[\w-]+\.(?:py|ipynb|parquet|yml|yaml)\b")),
    ("tunniste koodista tai asetuksista", re.compile(r"\b[A-Za-z][a-z0-9]*_[a-z0-9_]+(?:\.[a-z0-9_.]+)?\b|"
                                                     r"\b[a-z]+\.[a-z_]+\.[a-z_.]*[a-z]\b")),
    ("vanhentunut päivitysrivi", re.compile(r"Last updated")),
]
_HYPHEN_MINUS = re.compile(r"(?<![\w\-−/.,])-\d")
_DECIMAL_POINT_NUM = re.compile(r"(?<![\d.,])\d+\.\d+(?![\d.]|\w)")
_REPEATED_NAME = re.compile(r"\b([A-ZÅÄÖa-zåäö][\w-]*) \(([\w-]+)\)")
_WORD = re.compile(r"[A-Za-zÅÄÖåäö]+")


def visible_text(html: str, whole_page: bool = False) -> str:
    """The text a reader sees in a built page's article (or the whole page), without the English abstract
    (``lang-en``), quotations, the reference list, scripts and styles."""
    from html.parser import HTMLParser

    skip_tags = {"script", "style", "blockquote", "q"}
    skip_classes = {"lang-en", "citation", "bibliography", "citation-list", "headerlink", "mjx-container"}

    class P(HTMLParser):
        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.stack: list[bool] = []  # per open element: is it (or an ancestor) skipped
            self.depth_article = 0 if whole_page else None
            self.out: list[str] = []

        def handle_starttag(self, tag, attrs):
            if tag in {"br", "img", "meta", "link", "input", "hr", "wbr", "source"}:
                return
            a = dict(attrs)
            classes = set((a.get("class") or "").split())
            skipped = (bool(self.stack and self.stack[-1]) or tag in skip_tags or bool(classes & skip_classes)
                       or a.get("lang") == "en")
            if tag == "article" and self.depth_article is None:
                self.depth_article = len(self.stack) + 1
            self.stack.append(skipped)

        def handle_endtag(self, tag):
            if tag in {"br", "img", "meta", "link", "input", "hr", "wbr", "source"}:
                return
            if self.stack:
                self.stack.pop()
            if tag == "article" and not whole_page and self.depth_article and len(self.stack) < self.depth_article:
                self.depth_article = -1  # the article ended

        def handle_data(self, data):
            inside = whole_page or (self.depth_article is not None and self.depth_article > 0)
            if inside and not (self.stack and self.stack[-1]):
                self.out.append(data)

    p = P()
    p.feed(html)
    text_ = " ".join(p.out)
    text_ = re.sub(r"[”\"«][^”\"»\n]{0,400}[”\"»]", " ", text_)  # quoted words are not the report's own
    return re.sub(r"\s+", " ", text_)


def find_code_in_text(text_: str, technical: bool = False) -> list[str]:
    """Findings (Finnish, with the offending snippet) of code, configuration, English or non-Finnish numbers."""
    found = []

    def snippet(m) -> str:
        return text_[max(0, m.start() - 40):m.end() + 40].strip()

    for what, rx in CODE_PATTERNS:
        if technical and what not in {"ohjelman varoitus tai virheilmoitus", "vanhentunut päivitysrivi"}:
            continue
        for m in rx.finditer(text_):
            if "http" in text_[max(0, m.start() - 60):m.start()] or m.group(0) in NOTATION:
                continue
            found.append(f"{what}: ”{m.group(0)}” … {snippet(m)}")
    if technical:
        return found
    for m in _HYPHEN_MINUS.finditer(text_):
        found.append(f"yhdysmerkki miinusmerkkinä: … {snippet(m)}")
    for m in _DECIMAL_POINT_NUM.finditer(text_):
        if _SECTION_WORDS.search(text_[max(0, m.start() - 25):m.start()]):
            continue
        found.append(f"desimaalipiste: ”{m.group(0)}” … {snippet(m)}")
    for m in _REPEATED_NAME.finditer(text_):
        if m.group(1).lower() == m.group(2).lower():
            found.append(f"nimi toistettu koodina: ”{m.group(0)}”")
    for m in _WORD.finditer(text_):
        if m.group(0).lower() in ENGLISH_WORDS and not (m.group(0).isupper() and len(m.group(0)) > 1):
            found.append(f"englanninkielinen sana: ”{m.group(0)}” … {snippet(m)}")
    return found


def scan_book(html_dir: Path, pdf_dir: Path | None = None) -> dict[str, list[str]]:
    """page (or PDF) → findings, for every built HTML page (``_build/html``) and every PDF in ``pdf_dir``."""
    html_dir = Path(html_dir)
    out: dict[str, list[str]] = {}
    for page in sorted(html_dir.rglob("*.html")):
        rel = page.relative_to(html_dir).with_suffix("").as_posix()
        if rel.startswith(("_static", "_sources", "genindex", "search", "_downloads")):
            continue
        html = page.read_text(encoding="utf-8")
        found = find_code_in_text(visible_text(html), technical=rel in TECHNICAL_PAGES)
        found += [f for f in find_code_in_text(visible_text(html, whole_page=True), technical=True)
                  if f.startswith("vanhentunut")]
        if found:
            out[rel] = found
    for pdf in sorted(Path(pdf_dir).glob("*.pdf")) if pdf_dir and Path(pdf_dir).exists() else []:
        import subprocess

        proc = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True)
        if proc.returncode == 0:
            found = find_code_in_text(re.sub(r"\s+", " ", pdf_prose(proc.stdout)))
            if found:
                out[pdf.name] = found
    return out


def pdf_prose(layout_text: str) -> str:
    """The report's Finnish prose of a PDF's text (``pdftotext -layout``): without the section numbers of headings
    and of the table of contents ("2.1 Arviointikysymykset"), which are not decimal numbers, and without the
    English abstract (from its heading to its keywords line; the HTML marks it ``lang="en"``) and the reference list
    (chapter "Lähteet": titles in their own languages; the HTML scan leaves the bibliography out as well)."""
    lines = layout_text.splitlines()
    # the reference list: the chapter "Lähteet" (its title alone on a line; the contents' line has dots and a
    # page number) up to the appendices ("Liitteet"), or to the end
    starts = [i for i, line in enumerate(lines) if line.strip() == "Lähteet"]
    if starts:
        i = starts[-1]
        ends = [j for j in range(i + 1, len(lines)) if lines[j].strip() in ("Liitteet", "LUKU", "Luku")
                or re.fullmatch(r"\s*LUKU\s+\d+\s*", lines[j])]
        lines = lines[:i] + (lines[ends[0]:] if ends else [])
    keep, skipping = [], False
    for line in lines:
        if re.match(r"^\s*(?:\d+(?:\.\d+)*\s+)?Abstract\s*$", line):
            skipping = True
            continue
        if skipping:
            if line.strip().startswith("Keywords:"):
                skipping = False
            continue
        keep.append(re.sub(r"^(\s*)\d+(?:\.\d+)+(?=\s+[A-ZÅÄÖ])", r"\1", line))
    return "\n".join(keep)
