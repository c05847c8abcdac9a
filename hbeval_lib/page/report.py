"""What every strand notebook needs around its analysis: one context object and Finnish number formatting.

A notebook starts with::

    rep = report.start("wellbeing", phase, pilot, processed_dir, prefix="hyvinvointi")
    rep.header()
    kyky = rep.load("kykyviisari")

and ends with ``rep.finish(results_path, suppressions_path)``. ``rep.dc`` is the notebook's
:class:`~hbeval_lib.page.disclosure.Disclosure`, ``rep.res`` its :class:`~hbeval_lib.page.results.Results`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pandas as pd

from hbeval_lib.core import plots
from hbeval_lib.core import tables
from hbeval_lib.config import ALL_PILOTS, REPO_ROOT, Config, Phase, load_config
from hbeval_lib.page.disclosure import NOT_SHOWN, Disclosure
from hbeval_lib.page.cells import Page
from hbeval_lib.page.results import Results

NOT_AVAILABLE = "ei saatavilla"


# -- Finnish number formatting ---------------------------------------------------------------------------------

def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x)) or bool(pd.isna(x))


def num(x, digits: int = 1, missing: str = NOT_SHOWN) -> str:
    """A number in Finnish notation: space as thousands separator, decimal comma, true minus sign.

    Rounds half away from zero (as people round), not to even.

    >>> num(1234.55, 1), num(-0.25, 1), num(None)
    ('1 234,6', '−0,3', '–')
    """
    if _missing(x):
        return missing
    d = Decimal(repr(float(x))).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    if d == 0:
        d = abs(d)  # no "−0,0"
    return f"{d:,.{digits}f}".replace(",", " ").replace(".", ",").replace("-", "−")


def eur(x, digits: int = 0, missing: str = NOT_SHOWN) -> str:
    """Euros: ``1 235 €``."""
    return missing if _missing(x) else f"{num(x, digits)} €"


def pct(share, digits: int = 0, missing: str = NOT_SHOWN) -> str:
    """A share 0–1 as a percentage: ``34 %``."""
    return missing if _missing(share) else f"{num(100 * float(share), digits)} %"


def ci(est, lo, hi, fmt=num, **kw) -> str:
    """An estimate with its 95 % confidence interval: ``0,5 (0,1 … 0,9)``."""
    if _missing(est):
        return NOT_SHOWN
    return f"{fmt(est, **kw)} ({fmt(lo, **kw)} … {fmt(hi, **kw)})"


# -- tables: a Finnish safety net for every DataFrame a notebook displays --------------------------------------

# axis and column names that come from the code's tidy tables; a chapter normally names its columns in Finnish,
# these are what is left when it does not (None: the name is dropped)
AXIS_NAMES = {"label": None, "key": None, "period": "Kausi", "pilot": "Pilotti", "background": "Tausta",
              "relationship": "Suhde asiakkaaseen", "group": "Ryhmä", "arm": "Ryhmä", "strand": "Osa",
              "phase": "Vaihe", "item": "Väittämä", "value": "Arvo", "count": "Lukumäärä", "mean": "Keskiarvo",
              "median": "Mediaani", "share": "Osuus", "total": "Yhteensä", "client_group": "Asiakasryhmä",
              "instrument": "Mittari", "reason": "Syy"}


def _digits_needed(x) -> int:
    if _missing(x):
        return 0
    d = Decimal(repr(round(float(x), 6))).normalize()
    return 0 if d == d.to_integral_value() else min(6, max(0, -d.as_tuple().exponent))


def _fi_float_column(col: pd.Series) -> pd.Series:
    """A float column in Finnish notation, every cell with the decimals the column needs (at most 6)."""
    digits = max((_digits_needed(x) for x in col), default=0)
    return col.map(lambda x: num(x, digits))


def _fi_name(name):
    if isinstance(name, str) and name in AXIS_NAMES:
        return AXIS_NAMES[name]
    return name


def finnish_frame(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` as shown to a reader: float columns in Finnish notation (decimal comma, true minus, thin
    thousands), English axis names of the code's tables in Finnish. The data of the notebook are untouched."""
    out = df.copy()
    for i, c in enumerate(out.columns):
        col = out.iloc[:, i]
        if pd.api.types.is_float_dtype(col):
            out.isetitem(i, _fi_float_column(col))
        elif col.dtype == object and any(isinstance(v, float) for v in col):
            # a mixed column (numbers and "–" marks): format the numbers, keep the marks
            nums = pd.Series([v if isinstance(v, float) else float("nan") for v in col], index=col.index)
            shown = _fi_float_column(nums)
            out.isetitem(i, pd.Series([shown[k] if isinstance(v, float) else v for k, v in col.items()],
                                      index=col.index, dtype=object))
    out.index = out.index.set_names([_fi_name(n) for n in out.index.names])
    out.columns = out.columns.set_names([_fi_name(n) for n in out.columns.names])
    if not isinstance(out.columns, pd.MultiIndex):
        out.columns = pd.Index([(_fi_name(c) or "") if isinstance(c, str) and c in AXIS_NAMES else c
                                for c in out.columns], name=out.columns.name)
    return out


def _register_table_formatters() -> None:
    """Make the notebook kernel display every DataFrame through :func:`finnish_frame` (HTML and plain text)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency of the notebooks
        return
    ip = get_ipython()
    if ip is None:
        return
    fmts = ip.display_formatter.formatters
    from pandas.io.formats.style import Styler

    from hbeval_lib.page import readable  # a mostly hidden table is shown as one sentence (issue 21)

    # a table is shown without its rows of dashes (a note names them); a table still mostly hidden after that is one
    # sentence (readable.sentence); the PDF (LaTeX builder) prefers Markdown to plain text, so a replaced table has a
    # Markdown form too, and the note travels with the LaTeX table (hbeval_lib.book.pdf.convert_notebook)
    def shown(obj) -> tuple[pd.DataFrame, str]:
        return readable.trimmed(obj, rename=finnish_frame)

    def frame_html(df):
        kept, note = shown(df)
        if readable.mostly_hidden(kept):
            return readable.replacement_html()
        return finnish_frame(kept).to_html(na_rep=NOT_SHOWN) + readable.note_html(note)

    def frame_plain(df, p, cycle):
        kept, note = shown(df)
        p.text(readable.sentence().strip("*") if readable.mostly_hidden(kept)
               else finnish_frame(kept).to_string() + (f"\n{note.strip('*')}" if note else ""))

    def styler_html(st):
        kept, note = shown(st)
        if readable.mostly_hidden(kept):
            return readable.replacement_html()
        if kept.shape == st.data.shape:
            return st._repr_html_() + readable.note_html(note)
        if st.data.index.is_unique and st.data.columns.is_unique:
            rows = st.data.index.difference(kept.index, sort=False)
            cols = st.data.columns.difference(kept.columns, sort=False)
            if len(rows):
                st = st.hide(subset=list(rows), axis="index")
            if len(cols):
                st = st.hide(subset=list(cols), axis="columns")
            return st._repr_html_() + readable.note_html(note)
        # duplicate labels: the Styler cannot hide by label; show the kept table plainly
        return finnish_frame(kept).to_html(na_rep=NOT_SHOWN, index=False) + readable.note_html(note)

    def styler_plain(st, p, cycle):
        kept, note = shown(st)
        p.text(readable.sentence().strip("*") if readable.mostly_hidden(kept)
               else finnish_frame(kept).to_string() + (f"\n{note.strip('*')}" if note else ""))

    def replaced_markdown(obj):
        return readable.sentence() if readable.mostly_hidden(shown(obj)[0]) else None

    fmts["text/html"].for_type(pd.DataFrame, frame_html)
    fmts["text/plain"].for_type(pd.DataFrame, frame_plain)
    fmts["text/html"].for_type(Styler, styler_html)
    fmts["text/plain"].for_type(Styler, styler_plain)
    for kind in (pd.DataFrame, Styler):
        fmts["text/markdown"].for_type(kind, replaced_markdown)


# -- the notebook context ------------------------------------------------------------------------------------

@dataclass
class Report:
    """The parameters of one notebook execution and the objects it publishes through."""

    strand: str
    phase: str
    pilot: str
    cfg: Config
    processed: Path
    dc: Disclosure
    res: Results
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def all_pilots(self) -> bool:
        return self.pilot == ALL_PILOTS

    @property
    def phase_obj(self) -> Phase:
        return self.cfg.phase(self.phase)

    @property
    def pilot_name(self) -> str:
        return "kaikki pilotit" if self.all_pilots else self.cfg.pilot_by_key(self.pilot).name

    @property
    def pilot_names(self) -> dict[str, str]:
        return {p.key: p.name for p in self.cfg.pilots}

    @property
    def group_names(self) -> dict[str, str]:
        return {g.key: g.name for g in self.cfg.client_groups}

    def load(self, name: str) -> pd.DataFrame:
        """Tidy table ``name`` restricted to this phase and pilot (read once per notebook)."""
        if name not in self._cache:
            self._cache[name] = tables.load(name, self.processed, phase=self.phase, pilot=self.pilot, cfg=self.cfg)
        return self._cache[name].copy()

    def count(self, n, table: str = "lukumaarat", cell: str = "") -> str:
        """A count for running text: ``<5`` (and logged) when 0 < n < the threshold.

        In a release the count is a ledger cell: shown only when the protected release shows it.
        """
        n = int(n)
        rel = self.dc._release()
        if rel is not None:
            got = self.dc._cell(rel, table, cell, "", "count", n)
            if got is not None and got[0]:
                self.dc.record(table, cell, got[1] if got[1] in ("count", "margin") else "secondary")
                return self.dc.suppressed_mark if got[1] in ("count", "margin") else NOT_SHOWN
            if got is not None:
                return str(n)
        if 0 < n < self.dc.min_count:
            self.dc.record(table, cell, "count")
            return self.dc.suppressed_mark
        return str(n)

    def header(self) -> None:
        """The line under the chapter title saying which pilot and phase the page shows; on a pilot's page the pilot
        in brief (:meth:`case`); then the researchers' introduction to the page (slot ``johdanto``)."""
        ph = self.phase_obj
        say(f"**Pilotti:** {self.pilot_name} · **Raportointivaihe:** {ph.name} "
            f"(aineisto {ph.cutoff.day}.{ph.cutoff.month}.{ph.cutoff.year} asti)")
        self.case()
        self.text("johdanto")

    def text(self, slot: str, heading: str = "") -> None:
        """The researchers' text of this page's slot ``slot`` (``book/text/<phase>/<strand>/<pilot>.md``, section
        ``## <slot>``), filled in after execution by :func:`hbeval_lib.book.text.render_book`; ``heading`` (e.g.
        ``"## Tulkinta"``) is shown only when the slot has text."""
        slot_marker(self.strand, self.phase, self.pilot, slot, heading)

    def case(self) -> None:
        """On a pilot's page: the pilot in brief (organisation and target groups from the configuration) and the
        researchers' case description (slot ``pilotti.<key>`` of ``book/text/<phase>/raportti.md``)."""
        if self.all_pilots:
            return
        p = self.cfg.pilot_by_key(self.pilot)
        facts = dict(p.facts)
        bits = []
        if facts.get("organisation"):
            bits.append(f"Järjestäjä: {facts['organisation']}.")
        groups = facts.get("target_groups")
        if groups:
            groups = ", ".join(groups) if isinstance(groups, list) else str(groups)
            bits.append(f"Kohderyhmät: {groups}.")
        if bits:
            say(f"**Pilotti lyhyesti.** {' '.join(bits)} Taustatiedot lähteineen ovat sivulla *Pilotit*.")
        slot_marker(self.strand, self.phase, self.pilot, f"pilotti.{self.pilot}", "", source="raportti")

    def results_n(self, key: str, n) -> int | None:
        """The ``n`` of a results row (``results.csv``, the synthesis tables): a count of persons like every count
        the page prints — a ledger count (``tulokset.n`` / the key), protected with the rest of the release; the exact
        number when shown, ``None`` when hidden. (Rounding it instead gave a reader two values of one fact: 177 on a
        strand page and 175 in the synthesis.)"""
        k = int(round(float(n)))
        return k if self.count(k, "tulokset.n", key) == str(k) else None

    def finish(self, results_path: str = "", suppressions_path: str = "") -> None:
        """Write the results table and the suppression log beside the executed notebook."""
        self.res.write(results_path)
        self.dc.write(suppressions_path)


def start(strand: str, phase: str, pilot: str, processed_dir: str = "", prefix: str | None = None,
          cfg: Config | None = None) -> Report:
    """Set up a notebook: configuration, house style, disclosure control and results for ``strand``."""
    cfg = cfg or load_config()
    cfg.phase(phase)  # validates the phase key
    if pilot != ALL_PILOTS:
        cfg.pilot_by_key(pilot)
    processed = Path(processed_dir) if processed_dir else cfg.path_of("processed")
    processed = processed if processed.is_absolute() else REPO_ROOT / processed
    plots.setup()
    _register_table_formatters()
    dc = Disclosure(table_prefix=prefix or strand, cfg=cfg, page=Page(strand, phase, pilot))
    rep = Report(strand=strand, phase=phase, pilot=pilot, cfg=cfg, processed=processed, dc=dc,
                 res=Results(strand, phase, pilot))
    rep.res.n_guard = rep.results_n
    return rep


SLOT_MARKER = "hbeval_slot"  # output metadata key of a researchers' text slot (filled by hbeval_lib.book.text)


def slot_marker(strand: str, phase: str, pilot: str, slot: str, heading: str = "", source: str = "") -> None:
    """Display the (empty) marker of a researchers' text slot; :func:`hbeval_lib.book.text.render_book` fills it after
    execution. ``heading`` is shown only when the slot has text; ``source="raportti"`` reads the slot from the
    phase's ``raportti.md`` instead of the page's own text file."""
    from IPython.display import display

    meta = {SLOT_MARKER: {"strand": strand, "phase": phase, "pilot": pilot, "slot": slot, "heading": heading,
                          "source": source}}
    display({"text/markdown": ""}, raw=True, metadata=meta)


def counted(value, one: str, many: str, in_parentheses: bool = False) -> str:
    """A published count in a Finnish sentence: ``12 HB-asiakasta``, ``alle 5 HB-asiakasta``, or for a hidden
    count ``HB-asiakkaita (lukumäärää ei näytetä)`` — never a bare ``–`` inside the text. ``one`` is the singular
    partitive that follows a numeral, ``many`` the plural partitive. ``in_parentheses``: the count stands inside
    a parenthesis, so a hidden one reads ``vastaajia, lukumäärää ei näytetä`` (no parenthesis inside a
    parenthesis)."""
    v = str(value).strip()
    if v.startswith("<") and v[1:].strip().isdigit():
        return f"alle {v[1:].strip()} {one}"
    if v.replace("\u202f", "").replace(" ", "").isdigit():
        return f"{v} {one}"
    return f"{many}, lukumäärää ei näytetä" if in_parentheses else f"{many} (lukumäärää ei näytetä)"


def show_table(table, caption: str = "", topic: str = "") -> None:
    """Display a section's table and its caption. A table that is still mostly hidden once its rows of dashes are
    left out (:mod:`hbeval_lib.page.readable`) is shown as one sentence naming what its caption names (``topic``
    when it has no caption: three tables without captions in a row read as one sentence said three times), and the
    caption of the table that is not there is not printed."""
    from IPython.display import display

    from hbeval_lib.page import readable

    data = getattr(table, "data", table)
    if isinstance(data, pd.DataFrame):
        if readable.mostly_hidden(readable.trimmed(data)[0]):
            # what the table is, not the caption's guide
            say(readable.sentence(readable.short_topic(caption) or readable.short_topic(topic)))
            return
    display(table)
    if caption:
        say(caption)


ONCE_PER_REPORT = "once-per-report"   # cell tag / output metadata: method text the PDF prints once per report


def say(text: str, once: bool = False) -> None:
    """Show Markdown text in the executed notebook (and so in the book).

    ``once``: the text describes a method shared by every page of the strand (not this page's result); the web book
    shows it on every page, the PDF report prints it once, in the all-pilots chapter (:mod:`hbeval_lib.book.pdf`)."""
    from IPython.display import Markdown, display

    display(Markdown(text), metadata={"hbeval": {ONCE_PER_REPORT: True}} if once else None)
