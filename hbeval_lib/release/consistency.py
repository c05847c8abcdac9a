"""A reader's consistency check of a built book: one fact, one value (issue 18).

A reader who compares every number of the report across its pages, the appendix and ``results.csv`` must never find
the same fact printed with two values. A *fact* here is a statistic with a 95 % confidence interval: the interval
(``lo … hi`` at one rounding, both ends) is what identifies it on the printed page, because an interval is specific
enough that two different statistics rarely share one, and the estimate printed with it (and its ``n``) is the value.

What is read (only what a reader sees): the strand pages ``<phase>/<strand folder>/<pilot>.html`` and, for the final
report, its generated pages (``_generated/loppuraportti.html`` and ``_generated/loppuraportti/*.html``: the cover
with the abstract, the key figures, the appendix). Tables are read with the intruder's reader
(:func:`hbeval_lib.release.intruder._read_table`, which expands row/column spans and separates labels from values);
the running text is the article's paragraphs and list items outside tables, quotations and scripts (the same text
:func:`hbeval_lib.book.text.visible_text` gives, which this stage cannot import against the flow; the English
abstract is read too: a reader sees its numbers). A printed interval ``lo … hi`` (decimal comma, true minus,
thin/normal/no-break space thousands, optional ``€`` or ``%`` on each end) is an *occurrence*; its estimate is

* in a table: the same cell when the cell is ``est (lo … hi)``; else the cell just left of it (``Muutos | 95 % LV``);
  else, when the row's label names the interval (``… luottamusväli``), the same column of the row above (a key-figure
  table printing the estimate and its interval on two rows); its ``n`` is the row's ``n`` / ``Henkilöitä`` column;
* in the text: ``est (lo … hi)`` or ``est (95 %:n luottamusväli lo … hi)``; when the estimate is not right before
  the parenthesis (``ero oli 0,24 pistettä enemmän … (95 %:n luottamusväli 0,06 … 0,43)``), the last number of the
  same sentence before it, if it is printed with the interval's rounding; otherwise the occurrence has no estimate
  (an interval alone states no second value).

Numbers are compared as the house format prints them: a results value ``x`` matches a printed ``s`` with ``d``
decimals when ``report.num(x, d) == s`` (spaces ignored; so ``−0,00``, which the house format never prints, matches
nothing); a per-cent printing (``%`` in the interval) compares ``100 × x``. One refinement, found on the demo book:
results.csv writes six significant digits, so a value written as an exact half at ``d`` (``1.625``) may be a true
value just below it (1.62499…) that the page rightly printed as ``1,62``: such a written tie accepts both neighbours
(and only a written tie: ``0.5262`` matches ``0,53`` alone).

Checks (each finding is a dict ``check, pages, fact, values, how``):

1. ``results_on_page`` — every results.csv row that is not suppressed and has an estimate and both interval ends must
   be printed on its own page as that estimate with that interval, the estimate at the interval's rounding
   (``not_printed``: the interval is nowhere on the page, or only with a different rounding of the estimate;
   ``two_values``: the interval is printed with another estimate that no other results row of the page explains).
2. ``across_pages`` — within the final report (phase ``loppuraportti``, strand pages and generated pages): one
   interval string printed with two different estimates. Only *specific* intervals count (an end that is non-zero
   with at least two significant digits: ``0,00 … 0,1`` is not specific); and when every printed (estimate,
   interval) pair is itself a results row of the final report, the pairs are two facts whose intervals coincide at
   the printed rounding (a sensitivity analysis next to the main analysis), not one fact with two values.
   ``synthesis`` — every evidence row of the synthesis page (``synteesi/kaikki.html``: a table row with a value and
   an interval) must be a results row of the final report: the interval and the value at the printed rounding, and
   the ``Henkilöitä`` / ``n`` equal when printed.
3. ``n`` — a printed interval whose table row prints an ``n`` (or ``Henkilöitä``) must have the ``n`` of a results row
   with that estimate and interval when such rows give one.
4. ``results_n`` — results.csv itself: two rows of one phase and pilot with the same estimate and interval (full
   precision, i.e. the same statistic copied to two keys) but different ``n``. ``results_two_intervals`` — two rows
   of one phase and pilot, of *different strands*, with the same estimate (as written, at least four significant
   digits) but different intervals: a statistic carried from one strand to another (the cost-effectiveness analysis
   takes the effect from the wellbeing strand) and given another interval there, which the pages then print as
   two values of one fact. Within one strand two keys may rightly share an estimate: the means of integer scores
   over one group coincide (44/65 = 0.676923 for two domains), so those are not compared.

Everything is deterministic (sorted pages, sorted findings) and takes a few seconds on a full book.
``check(html_dir, results_csv)`` returns the findings; :func:`summary` describes them in Finnish and English.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from hbeval_lib.page.readable import PHRASE as REPLACED_PHRASE, REPLACED_CLASS

from hbeval_lib.config import folder_strand, strand_folder, SYNTHESIS, ALL_PILOTS
from hbeval_lib.page.report import num
from hbeval_lib.release.intruder import DEFAULT_PHASES, _read_table, norm

FINAL = "loppuraportti"
CHECK_NAMES = {
    "results_on_page": ("tulostaulukon rivi ei sivullaan", "results row not printed on its page"),
    "two_values": ("yksi tosiasia, kaksi arvoa", "one fact, two values"),
    "across_pages": ("sama luottamusväli eri estimaatilla", "same interval, different estimates across pages"),
    "synthesis": ("synteesin näyttörivi ei vastaa tulostaulukkoa", "synthesis evidence row differs from results"),
    "n": ("eri n", "different n"),
    "results_n": ("tulostaulukossa sama luku eri n:llä", "results.csv: same statistic with different n"),
    "results_two_intervals": ("tulostaulukossa sama estimaatti eri välillä",
                              "results.csv: same estimate with different intervals"),
}

_SP = "[ \u00a0\u202f]"
_N = rf"[−-]?(?:\d{{1,3}}(?:{_SP}\d{{3}})+|\d+)(?:,\d+)?"
_U = rf"(?:{_SP}?(?:€|%))?"
_INTERVAL = rf"(?P<lo>{_N}){_U}{_SP}*…{_SP}*(?P<hi>{_N})(?P<unit>{_U})"
_CELL_CI = re.compile(rf"^(?:(?P<est>{_N})(?P<eunit>{_U}){_SP}*\((?:95{_SP}?%:n luottamusväli{_SP}*)?)?{_INTERVAL}\)?$")
_TEXT_CI = re.compile(rf"(?:(?P<est>{_N})(?P<eunit>{_U}){_SP}*)?\((?:95{_SP}?%:n luottamusväli{_SP}*)?{_INTERVAL}")
_ANY_NUM = re.compile(rf"(?<![\w,]){_N}(?![\w])")
N_LABELS = {"n", "henkilöitä"}


def _clean(s: str) -> str:
    """A printed number as compared: spaces and units out, true minus."""
    return re.sub(rf"{_SP}|€|%", "", s).replace("-", "−").strip()


def _decimals(s: str) -> int:
    s = _clean(s)
    return len(s.split(",")[1]) if "," in s else 0


def _fmt(x: float, d: int, scale: float = 1.0) -> str:
    return _clean(num(float(x) * scale, d))


def _fmts(x: str, d: int, scale: float = 1.0) -> set[str]:
    """The printings of a results.csv value ``x`` (its text) at ``d`` decimals: the house rounding, and when ``x``
    as written ends exactly on a half at ``d`` (``1.625`` at 2 decimals) also the other neighbour — results.csv
    writes six significant digits, so a written tie may be a true value just below it (1.62499…) that the page
    rightly printed as ``1,62``."""
    v = Decimal(str(x).strip()) * Decimal(repr(scale))
    out = {_fmt(float(v), d)}
    step = Decimal(1).scaleb(-d)
    if (abs(v) / step) % 1 == Decimal("0.5"):
        out.add(_fmt(float(v - step / 4 if v > 0 else v + step / 4), d))
    return out


def _specific(lo: str, hi: str) -> bool:
    """An interval specific enough to identify a fact: an end that is non-zero with ≥ 2 significant digits."""
    def ok(s):
        digits = re.sub(r"\D", "", _clean(s)).lstrip("0")
        return len(digits) >= 2
    return ok(lo) or ok(hi)


@dataclass(frozen=True)
class Occurrence:
    """One interval printed on a page, with the estimate and n printed with it (``None`` when not printed)."""

    page: str              # path under html_dir
    phase: str
    strand: str | None     # strand key (None for the generated pages of a phase)
    pilot: str | None
    where: str             # table :: row, or 'teksti'
    lo: str
    hi: str
    est: str | None
    n: str | None
    pct: bool

    @property
    def d(self) -> int:
        return max(_decimals(self.lo), _decimals(self.hi))

    @property
    def interval(self) -> str:
        return f"{self.lo} … {self.hi}" + (" %" if self.pct else "")

    def shown(self) -> str:
        return (f"{self.est} " if self.est is not None else "") + f"({self.interval})" + \
            (f", n = {self.n}" if self.n is not None else "")


# -- reading the pages -----------------------------------------------------------------------------------------------

def _pages(html_dir: Path, phases) -> list[tuple[Path, str, str | None, str | None]]:
    out = []
    for ph in phases:
        for path in sorted((html_dir / ph).glob("*/*.html")):
            out.append((path, ph, folder_strand(path.parent.name), path.stem))
        gen = html_dir / "_generated"
        for path in [gen / f"{ph}.html", *sorted((gen / ph).glob("*.html"))]:
            if path.exists():
                out.append((path, ph, None, None))
    return out


def _article(path: Path):
    from bs4 import BeautifulSoup

    text = path.read_text(encoding="utf-8")
    a, b = text.find("<article"), text.rfind("</article>")
    if a >= 0 and b > a:
        text = text[a:b + len("</article>")]
    soup = BeautifulSoup(text, "html.parser")
    root = soup.find("article") or soup.find("main") or soup
    for t in root.find_all(["script", "style", "blockquote", "q"]):
        t.decompose()
    for t in root.find_all(class_=["headerlink", "citation", "bibliography", "mjx-container"]):
        t.decompose()
    return root


def _is_number(s: str) -> bool:
    return bool(re.fullmatch(rf"{_N}{_U}", s.strip()))


def _table_occurrences(tab, base: dict) -> list[Occurrence]:
    out = []
    labels = [norm(c.split(" / ")[-1]) for c in tab.columns]
    jn = next((j for j, c in enumerate(labels) if c in N_LABELS), None)
    for i, (row, vals) in enumerate(zip(tab.rows, tab.values)):
        rlab = " / ".join(x for x in row if x)
        for j, cell in enumerate(vals):
            m = _CELL_CI.fullmatch(cell.strip())
            if not m or "…" not in cell:
                continue
            est = m.group("est")
            if est is None and j > 0 and _is_number(vals[j - 1]):
                est = vals[j - 1].strip()
            elif est is None and "luottamusväli" in rlab.casefold() and i > 0 and _is_number(tab.values[i - 1][j]):
                est = tab.values[i - 1][j].strip()
            n = vals[jn].strip() if jn is not None and jn != j and re.fullmatch(r"\d[\d \u00a0\u202f]*", vals[jn].strip()) else None
            pct = "%" in (m.group("unit") or "") or "%" in (m.group("eunit") or "")
            out.append(Occurrence(**base, where=f"{tab.table} :: {rlab}", lo=_clean(m.group("lo")),
                                  hi=_clean(m.group("hi")), est=_clean(est) if est is not None else None,
                                  n=_clean(n) if n else None, pct=pct))
    return out


def _text_occurrences(text: str, base: dict) -> list[Occurrence]:
    out = []
    for m in _TEXT_CI.finditer(text):
        est = m.group("est")
        d = max(_decimals(m.group("lo")), _decimals(m.group("hi")))
        if est is None:     # the last number of the sentence before the parenthesis, at the interval's rounding
            start = max(text.rfind(". ", 0, m.start()), text.rfind("; ", 0, m.start()), 0)
            nums = [x.group(0) for x in _ANY_NUM.finditer(text, start, m.start())]
            if nums and _decimals(nums[-1]) == d and d > 0:
                est = nums[-1]
        pct = "%" in (m.group("unit") or "") or "%" in (m.group("eunit") or "")
        out.append(Occurrence(**base, where="teksti", lo=_clean(m.group("lo")), hi=_clean(m.group("hi")),
                              est=_clean(est) if est is not None else None, n=None, pct=pct))
    return out


def read_occurrences(html_dir: str | Path, phases=DEFAULT_PHASES) -> list[Occurrence]:
    """Every printed interval of the book's phase pages, in page order."""
    html_dir = Path(html_dir)
    out: list[Occurrence] = []
    for path, ph, strand, pilot in _pages(html_dir, phases):
        rel = str(path.relative_to(html_dir))
        base = dict(page=rel, phase=ph, strand=strand, pilot=pilot)
        root = _article(path)
        page = (ph, strand or "", pilot or "")
        for k, t in enumerate(root.find_all("table")):
            sec = t.find_parent("section")
            tab = _read_table(t, page, sec.get("id", "") if sec is not None else "")
            if tab is not None:
                tab.table = f"{tab.table} #{k + 1}"
                out += _table_occurrences(tab, base)
        for t in root.find_all("table"):
            t.decompose()
        for el in root.find_all(["p", "li", "dd"]):
            if el.find(["p", "li"]) is not None:     # the innermost block only (no double reading)
                continue
            text = re.sub(r"\s+", " ", el.get_text(" ", strip=True))
            text = re.sub(r"\( ", "(", text).replace(" )", ")")
            out += _text_occurrences(text, base)
    return out


# -- results.csv -----------------------------------------------------------------------------------------------------

def _truthy(s) -> bool:
    return str(s).strip().casefold() in ("true", "1", "yes", "kyllä")


def _float(s) -> float | None:
    try:
        v = float(str(s).strip())
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def read_results(results_csv: str | Path) -> pd.DataFrame:
    """The rows of results.csv that state a fact with an interval (not suppressed, estimate and both ends given)."""
    df = pd.read_csv(results_csv, dtype=str, keep_default_na=False)
    need = {"strand", "phase", "pilot", "key", "estimate", "ci_low", "ci_high"}
    if not need <= set(df.columns):
        raise ValueError(f"results.csv: sarakkeita puuttuu: {sorted(need - set(df.columns))}")
    for c in ("n", "suppressed", "label"):
        if c not in df.columns:
            df[c] = ""
    df = df[~df["suppressed"].map(_truthy)].copy()
    for c in ("estimate", "ci_low", "ci_high"):
        df[c + "_f"] = df[c].map(_float)
    df = df.dropna(subset=["estimate_f", "ci_low_f", "ci_high_f"])
    df["n_s"] = df["n"].map(lambda s: str(int(float(s))) if _float(s) is not None else "")
    return df.sort_values(["phase", "strand", "pilot", "key"]).reset_index(drop=True)


def _ci_matches(r, o: Occurrence) -> bool:
    scale = 100.0 if o.pct else 1.0
    return o.lo in _fmts(r.ci_low, o.d, scale) and o.hi in _fmts(r.ci_high, o.d, scale)


def _est_matches(r, o: Occurrence) -> bool:
    scale = 100.0 if o.pct else 1.0
    return o.est is not None and _decimals(o.est) == o.d and o.est in _fmts(r.estimate, o.d, scale)


def _row_name(r) -> str:
    return f"{r.phase}/{r.pilot}:{r.strand}.{r.key}"


def _row_value(r, o: Occurrence | None = None, d: int | None = None) -> str:
    d = o.d if o is not None else (d if d is not None else 2)
    scale = 100.0 if (o is not None and o.pct) else 1.0
    return (f"{_fmt(r.estimate_f, d, scale)} ({_fmt(r.ci_low_f, d, scale)} … {_fmt(r.ci_high_f, d, scale)})"
            + (f", n = {r.n_s}" if r.n_s else ""))


def _finding(check, pages, fact, values, how) -> dict:
    return {"check": check, "pages": sorted(set(pages)), "fact": fact, "values": list(values), "how": how}


# -- the checks ------------------------------------------------------------------------------------------------------

def _page_of_row(r) -> str:
    return f"{r.phase}/{strand_folder(r.strand)}/{r.pilot}.html"


def _check_results_on_pages(res: pd.DataFrame, occ_by_page: dict, html_dir: Path) -> list[dict]:
    out = []
    rows_by_page = defaultdict(list)
    for r in res.itertuples(index=False):
        rows_by_page[_page_of_row(r)].append(r)
    for page, rows in sorted(rows_by_page.items()):
        occs = occ_by_page.get(page, [])
        if not (html_dir / page).exists():
            out.append(_finding("results_on_page", [page], _row_name(rows[0]), [],
                                f"sivua ei ole / the page does not exist ({len(rows)} results rows)"))
            continue
        # a table left out as mostly hidden (page.readable: one sentence says so) takes its shown rows with it:
        # their results rows stand in results.csv alone (unseen set seed 179: two family domains' effect sizes of
        # a between-groups table whose other rows were hidden) — not printed is then no finding; printed with
        # another rounding still is
        text = (html_dir / page).read_text(encoding="utf-8")
        replaced = REPLACED_CLASS in text or REPLACED_PHRASE in text
        for r in rows:
            hits = [o for o in occs if _ci_matches(r, o)]
            good = [o for o in hits if _est_matches(r, o)]
            if not good and not hits and replaced:
                continue
            if not good:
                seen = sorted({o.shown() for o in hits})
                out.append(_finding(
                    "results_on_page", [page], _row_name(r), [_row_value(r, d=2)] + seen,
                    "estimaattia luottamusväleineen ei ole sivulla samalla pyöristyksellä / the estimate with its "
                    "interval at one rounding is not printed on its page"
                    + (f" (väli löytyy: {'; '.join(seen)})" if seen else "")))
            for o in hits:
                if o.est is not None and not _est_matches(r, o):
                    if any(_ci_matches(r2, o) and _est_matches(r2, o) for r2 in rows):
                        continue    # another results row of the page is printed here (two facts, one interval)
                    out.append(_finding("two_values", [page], _row_name(r), [_row_value(r, o), o.shown()],
                                        f"{o.where}: väli painettu toisella estimaatilla / the interval is printed "
                                        f"with another estimate"))
            for o in good:
                if o.n is None:
                    continue
                same = [r2 for r2 in rows if _ci_matches(r2, o) and _est_matches(r2, o) and r2.n_s]
                if same and all(r2.n_s != o.n for r2 in same):
                    if r is same[0]:
                        out.append(_finding("n", [page], _row_name(r), [f"n = {r2.n_s}" for r2 in same]
                                            + [f"sivulla n = {o.n}"],
                                            f"{o.where}: n eri kuin tulostaulukossa / n differs from results.csv"))
    return out


def _check_across_pages(res: pd.DataFrame, occs: list[Occurrence]) -> list[dict]:
    final = [r for r in res.itertuples(index=False) if r.phase == FINAL]
    groups = defaultdict(list)
    for o in occs:
        if o.phase == FINAL and o.est is not None and _decimals(o.est) == o.d and _specific(o.lo, o.hi):
            groups[(o.lo, o.hi, o.pct)].append(o)
    out = []
    for (lo, hi, pct), g in sorted(groups.items()):
        ests = sorted({o.est for o in g})
        if len(ests) < 2:
            continue
        explained = all(any(_ci_matches(r, o) and _est_matches(r, o) for r in final) for o in g)
        if explained:
            continue
        out.append(_finding("across_pages", [o.page for o in g], f"({lo} … {hi}{' %' if pct else ''})",
                            [f"{o.est} ({o.page}: {o.where})" for o in sorted(g, key=lambda o: (o.page, o.where))],
                            "sama luottamusväli painettu eri estimaateilla / the same interval printed with "
                            f"{len(ests)} different estimates: {', '.join(ests)}"))
    return out


def _check_synthesis(res: pd.DataFrame, occs: list[Occurrence]) -> list[dict]:
    page = f"{FINAL}/{strand_folder(SYNTHESIS)}/{ALL_PILOTS}.html"
    final = [r for r in res.itertuples(index=False) if r.phase == FINAL]
    out = []
    for o in occs:
        if o.page != page or o.where == "teksti" or o.est is None:
            continue
        hits = [r for r in final if _ci_matches(r, o)]
        good = [r for r in hits if _est_matches(r, o)]
        if not hits:
            if _specific(o.lo, o.hi):
                out.append(_finding("synthesis", [page], o.where, [o.shown()],
                                    "näyttörivin väliä ei ole tulostaulukossa / the evidence row's interval is in "
                                    "no results row of the final report"))
        elif not good:
            out.append(_finding("synthesis", [page], o.where, [o.shown()] + [_row_value(r, o) + f" [{_row_name(r)}]"
                                                                        for r in hits],
                                "näyttörivin arvo eri kuin tulostaulukossa / the evidence row's value differs from "
                                "its results row"))
        elif o.n is not None and all(r.n_s and r.n_s != o.n for r in good):
            out.append(_finding("synthesis", [page], o.where, [o.shown()] + [_row_value(r, o) + f" [{_row_name(r)}]"
                                                                        for r in good],
                                "näyttörivin henkilömäärä eri kuin tulostaulukossa / the evidence row's n differs "
                                "from its results row"))
    return out


def _sig_digits(s: str) -> int:
    mant = re.split(r"[eE]", str(s).strip())[0]
    return len(re.sub(r"\D", "", mant).lstrip("0"))


def _check_results_n(res: pd.DataFrame) -> list[dict]:
    out = []
    for (ph, pi, e), g in res.groupby(["phase", "pilot", "estimate"], sort=True):
        if len(g) < 2:
            continue
        cis = sorted({(r.ci_low, r.ci_high) for r in g.itertuples(index=False)})
        # a fact carried from one strand to another keeps its interval: two strands printing the estimate without
        # one interval in common (within a strand, two facts may coincide: a control arm's mean change of exactly
        # 0 makes the HB arm's change equal to the difference, with another interval — unseen set seed 151)
        by_strand = [{(r.ci_low, r.ci_high) for r in h.itertuples(index=False)} for _s, h in g.groupby("strand")]
        disjoint = any(not (a & b) for k, a in enumerate(by_strand) for b in by_strand[k + 1:])
        if len(cis) > 1 and _sig_digits(e) >= 4 and disjoint:
            names = [f"{r.strand}.{r.key}: {r.estimate} ({r.ci_low} … {r.ci_high})" for r in g.itertuples(index=False)]
            out.append(_finding("results_two_intervals", ["results.csv"], f"{ph}/{pi}: {e}", names,
                                "toisesta juonteesta tuotu estimaatti eri luottamusvälillä / an estimate carried "
                                "from another strand with a different interval"))
        for (lo, hi), h in g.groupby(["ci_low", "ci_high"], sort=True):
            ns = sorted({n for n in h["n_s"] if n})
            if len(ns) > 1:
                names = [f"{r.strand}.{r.key} n = {r.n_s or '–'}" for r in h.itertuples(index=False)]
                out.append(_finding("results_n", ["results.csv"], f"{ph}/{pi}: {e} ({lo} … {hi})", names,
                                    "sama estimaatti ja väli eri n:llä / the same estimate and interval with "
                                    "different n"))
    return out


def check(html_dir: str | Path, results_csv: str | Path, phases=DEFAULT_PHASES) -> list[dict]:
    """The reader's consistency findings of a built book (empty list: every fact has one value)."""
    html_dir = Path(html_dir)
    res = read_results(results_csv)
    res = res[res["phase"].isin(list(phases))]
    occs = read_occurrences(html_dir, phases)
    occ_by_page = defaultdict(list)
    for o in occs:
        occ_by_page[o.page].append(o)
    out = _check_results_on_pages(res, occ_by_page, html_dir)
    out += _check_across_pages(res, occs)
    out += _check_synthesis(res, occs)
    out += _check_results_n(res)
    return sorted(out, key=lambda f: (f["check"], f["pages"], f["fact"], f["values"]))


def summary(findings: list[dict], max_lines: int = 30) -> str:
    """The findings in Finnish and English, one line each (at most ``max_lines``)."""
    if not findings:
        return "Johdonmukaisuus: jokainen tosiasia on painettu yhdellä arvolla. / Consistency: every fact has one value."
    counts = defaultdict(int)
    for f in findings:
        counts[f["check"]] += 1
    head = ("Johdonmukaisuus: " + ", ".join(f"{CHECK_NAMES[c][0]} {k}" for c, k in sorted(counts.items()))
            + " / Consistency: " + ", ".join(f"{CHECK_NAMES[c][1]} {k}" for c, k in sorted(counts.items())))
    lines = [f"- [{f['check']}] {', '.join(f['pages'])}: {f['fact']}: {' | '.join(f['values'])} — {f['how']}"
             for f in findings[:max_lines]]
    if len(findings) > max_lines:
        lines.append(f"- … ja {len(findings) - max_lines} muuta / and {len(findings) - max_lines} more")
    return "\n".join([head, *lines])


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m hbeval_lib.release.consistency", description=__doc__.splitlines()[0])
    ap.add_argument("html_dir")
    ap.add_argument("results_csv")
    ap.add_argument("--max", type=int, default=200)
    a = ap.parse_args(argv)
    found = check(a.html_dir, a.results_csv)
    print(summary(found, a.max))
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
