"""Disclosure control for everything the report publishes (counts, cross-tabs, statistics, figures).

Rules (thresholds in ``hbeval.yml`` → ``disclosure``; defaults in brackets):

1. **Primary suppression of counts.** A count cell ``1 <= v < min_count`` [5] is shown as ``<5``.
   True zeros are shown as ``0`` unless ``zeros_disclosive`` [false] is set; then they are hidden and shown
   as ``–`` (the same mark as every other cell that is not shown, so the reader cannot tell a zero from a
   secondarily suppressed cell).
2. **Statistics on few persons.** A mean, median, percentage, change score, test or effect size computed on
   fewer than ``min_n_stat`` [10] persons is not shown (``–``): :meth:`Disclosure.stat`,
   :meth:`Disclosure.stat_ok`, :meth:`Disclosure.mask_stats`.
3. **Secondary suppression.** Where a table shows row/column totals, a suppressed cell must not be
   recoverable by subtraction. :meth:`Disclosure.counts` with ``margins=True`` (or
   :meth:`Disclosure.crosstab_with_margins`) suppresses margins under the threshold, then, for every row or
   column equation (cells + total) with exactly one hidden entry, hides the smallest non-zero shown cell of
   that line (falling back to a zero cell, then to the total), iterating to a fixed point. The result is then
   *audited by solving it*: :func:`suppressed_intervals` computes, with linear programming
   (``scipy.optimize.linprog``), the smallest and largest value each hidden cell can take given everything
   published and non-negativity (a ``<5`` cell is known to lie in ``1..min_count-1``). A cell whose interval
   is narrower than ``protection_margin`` [1] is unprotected and more cells are hidden until none is. The
   constraint matrix of a two-way table with margins is totally unimodular, so the LP bounds are integers and
   equal the bounds an attacker would get by integer reasoning.
4. **Figures.** A figure of a group under ``min_n_stat`` persons is not drawn; :meth:`Disclosure.figure_message`
   gives the Finnish sentence shown instead.

Every suppression is logged as (table, cell, rule) with a Finnish rule text, plus a stable ``code``
(``count``, ``zero``, ``margin``, ``secondary``, ``stat``, ``figure``); :meth:`Disclosure.write` saves the
log beside the notebook's results, and the data-quality page lists it (:func:`read_logs`, :func:`summarise`).

References and why this module is our own code
----------------------------------------------
* Statistics Finland's output checking for research data (Tilastokeskus, tutkijapalvelut / FIONA
  remote access: "tulosaineistojen tietosuojatarkastus"): a threshold (minimum frequency) rule for table
  cells and statistics, and secondary suppression so that hidden cells cannot be derived from totals or
  other published tables.
* ACRO, "Tools for the Semi-Automatic Checking of Research Outputs" (AI-SDC, https://github.com/AI-SDC/ACRO;
  PyPI ``acro``): threshold rule (``safe_threshold``), degrees-of-freedom rule for models, p-percent and
  n-k dominance rules for magnitude tables, and a ``zeros_are_disclosive`` option; suppressed cells are
  reported with the reason.

ACRO is the reference implementation of these rules, but it is not used here: it wraps ``pandas.crosstab``
and the statsmodels estimators in an interactive session object that records outputs for a human output
checker, pulls a heavy dependency tree, and does not do LP-audited secondary suppression for tables with
margins. Our needs are a few dozen lines of rules with a fixed, testable log format, so they are written
here and tested against hand-solved cases (``tests/test_disclosure.py``).

Usage in a notebook::

    dc = Disclosure(table_prefix="hyvinvointi")      # one per notebook
    shown = dc.counts(crosstab, "rekrytointi")        # DataFrame of cells (numbers or marks)
    shown = dc.counts(crosstab, "rekrytointi", margins=True)   # with totals + secondary suppression
    if dc.stat_ok(n, "kykyviisari.taidot", "muutos"): ...
    dc.write(suppressions_path)
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from hbeval_lib.core.fileio import write_csv_atomic
from hbeval_lib.config import Config, load_config
from hbeval_lib.page import cells as _ledger

REVEALS = "reveals"   # a cell's ``primary`` mark: hidden from the start (Disclosure.stat_ok(reveals=True))
SUPPRESSED = "<5"      # a small count (the text follows min_count: see Disclosure.suppressed_mark)
NOT_SHOWN = "–"        # a statistic on too few persons, a secondarily suppressed cell, a hidden zero
TOTAL_LABEL = "Yhteensä"
LOG_COLUMNS = ["table", "cell", "rule", "code"]
RECORD_COLUMNS = ["strand", "phase", "pilot", "table", "row", "col", "kind", "value", "margin", "suppressed", "code",
                  "link"]
CELLS_SUFFIX = ".cells.csv"
MAGNITUDES_SUFFIX = ".magnitudes.csv"
# a page's magnitude decisions (every euro sum or mean it decided with :meth:`Disclosure.magnitude_ok`): aggregates
# only, never a client number; read by :mod:`hbeval_lib.release.euro_audit`
MAGNITUDE_COLUMNS = ["strand", "phase", "pilot", "table", "cell", "contributors", "total", "mean", "top1_share",
                     "top2_share", "n_ok", "nk_ok", "p_ok", "decided", "shown", "code", "values", "fingerprint"]


def cells_path(suppressions_path: str | os.PathLike) -> Path:
    """Where a page's release record goes: ``<pilot>.suppressions.csv`` → ``<pilot>.cells.csv``."""
    p = Path(suppressions_path)
    stem = p.name.removesuffix(".suppressions.csv").removesuffix(".csv")
    return p.with_name(stem + CELLS_SUFFIX)


def magnitudes_path(suppressions_path: str | os.PathLike) -> Path:
    """Where a page's magnitude record goes: ``<pilot>.suppressions.csv`` → ``<pilot>.magnitudes.csv``."""
    p = Path(suppressions_path)
    stem = p.name.removesuffix(".suppressions.csv").removesuffix(".csv")
    return p.with_name(stem + MAGNITUDES_SUFFIX)


def magnitude_facts(values) -> dict:
    """What the magnitude rules look at in a euro sum or mean over contributors ``values`` (one amount per person):
    ``contributors`` (non-zero amounts), ``total`` and ``mean`` (over the contributors), ``top1_share`` and
    ``top2_share`` (the largest and the second largest amount's share of the total), ``amounts`` (the amounts,
    largest first) and ``fingerprint`` (SHA-256 of the sorted amounts in cents: the same magnitude gives the same
    fingerprint on every page, and the amounts cannot be read back from it)."""
    import hashlib

    v = np.sort(np.abs(np.asarray(pd.to_numeric(pd.Series(values), errors="coerce").dropna(), dtype=float)))[::-1]
    v = v[v > 0]
    total = float(v.sum())
    cents = sorted(int(round(x * 100)) for x in v)
    return {"contributors": int(len(v)), "total": total, "mean": total / len(v) if len(v) else math.nan,
            "top1_share": float(v[0]) / total if total > 0 else math.nan,
            "top2_share": float(v[1]) / total if total > 0 and len(v) > 1 else (0.0 if total > 0 else math.nan),
            "amounts": v,
            "fingerprint": hashlib.sha256(",".join(map(str, cents)).encode()).hexdigest()[:20]}


def magnitude_rules(amounts, nk_n: int = 2, nk_k: float = 0.9, p_ratio: float = 0.1) -> tuple[bool, bool]:
    """``(nk_ok, p_ok)`` of contributions ``amounts`` (non-negative): the n-k dominance rule (the ``nk_n`` largest hold
    at most ``nk_k`` of the total) and the p % rule (the total less the two largest is at least ``p_ratio`` × the
    largest), as ACRO defines them (``safe_nk_n``, ``safe_nk_k``, ``safe_pratio_p``; defaults 2, 0.9, 0.1). An
    empty or zero total passes both (there is nothing to dominate)."""
    v = np.sort(np.abs(np.asarray(amounts, dtype=float)))[::-1]
    total = float(v.sum())
    if total <= 0:
        return True, True
    nk_ok = not float(v[:nk_n].sum()) > nk_k * total
    p_ok = not (total - float(v[:2].sum())) < p_ratio * float(v[0])
    return nk_ok, p_ok

# Finnish rule texts for the log; ``{k}`` = min_count, ``{n}`` = min_n_stat.
RULE_TEXTS = {
    "count": "lukumäärä alle {k} (ensisijainen peitto)",
    "zero": "nolla, joka paljastaisi ryhmän kaikkien tiedon (peitetty)",
    "margin": "reunasumma alle {k} (ensisijainen peitto)",
    "secondary": "toissijainen peitto: estää peitetyn solun päättelyn summista, pilottien summasta tai "
                 "raportointivaiheiden erotuksesta",
    "complement": "toissijainen peitto: estää piilotetun tunnusluvun päättelyn kaikkien pilottien luvusta",
    "phase": "toissijainen peitto: ryhmään tuli edellisen raportin jälkeen alle {n} henkilöä, joiden tunnusluku "
             "selviäisi raporttien erotuksesta",
    "stat": "tunnusluku alle {n} henkilön tiedoista",
    "figure": "kuvio alle {n} henkilön ryhmästä, ei piirretä",
    "dominance": "euromäärä, jossa yksi tai kaksi asiakasta muodostaa valtaosan summasta (dominanssisääntö)",
    "docs": "lainaus ryhmästä, jossa on alle {k} asiakirjaa: ei näytetä",
    "possible_name": "lainaus saattaa sisältää nimen: ei näytetä",
    "no_scrubber": "tunnisteiden poistoa ei ollut käytettävissä: lainauksia ei näytetä",
}


def _is_missing(x) -> bool:
    if x is None:
        return True
    try:
        return bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


@dataclass
class Disclosure:
    """Applies the rules and remembers every suppression it made.

    Parameters
    ----------
    table_prefix : str
        Prefix of every logged table name (e.g. the notebook's strand), joined with a dot.
    cfg : Config, optional
        The configuration; default :func:`hbeval_lib.config.load_config`.

    Attributes
    ----------
    min_count, min_n_stat, zeros_disclosive, protection_margin, total_label
        The thresholds read from the ``disclosure`` section.
    log : list of dict
        The suppressions made so far (``table``, ``cell``, ``rule``, ``code``).
    """

    table_prefix: str = ""
    cfg: Config | None = None
    log: list[dict] = field(default_factory=list)
    magnitudes: list[dict] = field(default_factory=list)   # every magnitude decision (see magnitude_ok)
    page: "_ledger.Page | None" = None   # set by report.start: the page this notebook execution publishes

    def __post_init__(self):
        self.cfg = self.cfg or load_config()
        conf = self.cfg.section("disclosure", {}) or {}
        self.min_count = int(conf.get("min_count", 5))
        self.min_n_stat = int(conf.get("min_n_stat", 10))
        self.zeros_disclosive = bool(conf.get("zeros_disclosive", False))
        self.protection_margin = float(conf.get("protection_margin", 1))
        self.total_label = str(conf.get("total_label", TOTAL_LABEL))

    # -- logging -------------------------------------------------------------
    @property
    def suppressed_mark(self) -> str:
        """The mark of a small count, ``<5`` with the default threshold."""
        return f"<{self.min_count}"

    def _name(self, table: str) -> str:
        return f"{self.table_prefix}.{table}" if self.table_prefix else table

    def rule_text(self, code: str) -> str:
        """The Finnish text of a rule ``code`` (see :data:`RULE_TEXTS`); unknown codes are returned as is."""
        return RULE_TEXTS.get(code, code).format(k=self.min_count, n=self.min_n_stat)

    def why(self, table: str, cell=None, kind: str | None = None) -> str:
        """A Finnish clause ("koska …") giving the true reason why cells of ``table`` (``cell``: only that one) were
        hidden on this page — from the decisions themselves, so a sentence never blames the wrong rule; ``""`` when
        nothing of it was hidden. ``cell`` may be one label or a list of labels. ``kind``: only the decisions on
        what the sentence is about — ``"count"`` the counts of :meth:`parts_and_total` (a group's size), ``"stat"``
        the statistics of :meth:`stat_ok` (a group's figures) — when a page takes both under one name (a group's
        size may be hidden because another page gives it away, while its figures are hidden for its size)."""
        name = self._name(table)
        cells = None if cell is None else {str(c) for c in cell} if isinstance(cell, (list, tuple, set)) else {str(cell)}
        codes = [r["code"] for r in self.log if r["table"] == name and (cells is None or r["cell"] in cells)
                 and (kind is None or r.get("kind") == kind)]
        if not codes:
            return ""
        clauses = {
            "stat": f"ryhmässä on alle {self.min_n_stat} henkilöä",
            "figure": f"ryhmässä on alle {self.min_n_stat} henkilöä",
            "count": f"lukumäärä on alle {self.min_count}",
            "margin": f"lukumäärä on alle {self.min_count}",
            "zero": "nolla paljastaisi koko ryhmän tiedon",
            "complement": "luku selviäisi muuten kaikkien pilottien luvusta ja muiden pilottien luvuista",
            "phase": "luku selviäisi muuten edellisen raportin luvusta erotuksena (ryhmään tuli vain muutama uusi "
                     "henkilö)",
            "dominance": "yksi tai kaksi asiakasta muodostaisi valtaosan summasta",
        }
        out = []
        for c in codes:
            text = clauses.get(c, "luku selviäisi muuten muista julkaistuista luvuista")
            if text not in out:
                out.append(text)
        return "koska " + " tai ".join(out)

    def record(self, table: str, cell: str, rule: str, kind: str = "") -> None:
        """Log one suppression. ``rule`` is a code of :data:`RULE_TEXTS` or a free Finnish text; ``kind`` what was
        hidden (``"count"``, ``"stat"``; see :meth:`why`)."""
        code = rule if rule in RULE_TEXTS else "other"
        self.log.append({"table": self._name(table), "cell": str(cell), "rule": self.rule_text(rule),
                         "code": code, "kind": kind})

    def hide_too(self, table: str, cell: str) -> None:
        """The page's own secondary rule hides a statistic the release shows (e.g. the next smallest euro share when
        one share is hidden, since the shares add up to 100 %): logged, and in a release written into the page's
        record as hidden, so that the build protects the release again with it hidden — and hides it in every other
        place that shows the same entry (its link), where another page's rule could otherwise print it."""
        self.record(table, cell, "secondary")
        if self.page is None:
            return
        name = self._name(table)
        for r in self.page.record:
            if r["table"] == name and r["row"] == str(cell) and r["col"] == "" and not r["suppressed"]:
                r["suppressed"], r["code"] = True, "secondary"

    # -- the release (collect / render) ---------------------------------------
    def _release(self):
        """The release stage's collector or renderer when this page takes part in a release, else ``None``."""
        return _ledger.active() if self.page is not None else None

    def _cell(self, rel, table: str, row, col, kind: str, value, margin: str = "", link: str = "",
              primary: str = ""):
        """Collect a cell, or return its release decision ``(suppressed, code)`` when rendering."""
        key = self.page.unique(self._name(table), row, col)
        value = None if _is_missing(value) else int(value)
        if rel.mode == "collect":
            rel.record(key, kind, value, margin, primary=primary or None, link=link)
            return None
        if getattr(rel, "lenient", False):
            got = rel.lookup(key, value)
            if got is None:   # not (yet) in the release: its primary rule now; the build re-protects and re-renders
                code = "secondary" if primary == REVEALS else self._primary_rule(kind, value, margin)
                got = (bool(code), code)
        else:
            got = rel.decision(key, value)
        strand, phase, pilot, tname, r, c = key
        self.page.record.append({"strand": strand, "phase": phase, "pilot": pilot, "table": tname, "row": r,
                                 "col": c, "kind": kind, "value": value, "margin": str(margin or ""),
                                 "suppressed": bool(got[0]), "code": str(got[1] or ""), "link": str(link or "")})
        return got

    def _primary_rule(self, kind: str, value, margin: str = "") -> str:
        """The primary rule a cell breaks (``""`` if none): the release's :func:`~.release.protect.primary_codes`."""
        if kind == "stat":
            return "" if value is not None and value >= self.min_n_stat else "stat"
        if value is not None and 0 < value < self.min_count:
            return "margin" if margin else "count"
        if value == 0 and self.zeros_disclosive:
            return "zero"
        return ""

    # -- statistics ----------------------------------------------------------
    def stat_ok(self, n, table: str, cell: str = "", link: str = "", reveals: bool = False) -> bool:
        """True when a statistic on ``n`` persons may be shown; otherwise logs the suppression.

        In a release, the decision is the protected release's (which also hides complements of hidden statistics).
        ``link`` names the entry when the same statistic is shown in other places too (one decision for all of
        them; see :data:`hbeval_lib.page.cells.COLUMNS`). ``reveals``: the statistic would give back a small count
        the page hides (the mean of a tabulated count times its ``n`` is the table row's weighted sum) — decided
        from the data when the cells are computed, it enters the release as hidden (``secondary``), so the release
        protects it like any hidden statistic (its complements too) and no page branches on a later decision.
        """
        rel = self._release()
        if rel is not None:
            # one decision per statistic and page: asking again (a table and the results row of the same
            # statistic) gives the same answer and records no second cell
            memo = self.page.stat_memo
            mkey = (self._name(table), str(cell), None if _is_missing(n) else int(n))
            if mkey not in memo:
                memo[mkey] = self._stat_ok_release(rel, n, table, cell, link, reveals)
            return memo[mkey]
        if reveals:
            self.record(table, cell, "secondary", kind="stat")
            return False
        if not _is_missing(n) and int(n) >= self.min_n_stat:
            return True
        self.record(table, cell, "stat", kind="stat")
        return False

    def _stat_ok_release(self, rel, n, table: str, cell: str, link: str = "", reveals: bool = False) -> bool:
        primary = REVEALS if reveals else ""
        if rel.mode == "render":
            hidden, code = self._cell(rel, table, cell, "", "stat", n, link=link, primary=primary)
            if hidden:
                self.record(table, cell, code if code in RULE_TEXTS else "stat", kind="stat")
            return not hidden
        self._cell(rel, table, cell, "", "stat", n, link=link, primary=primary)
        if reveals:
            self.record(table, cell, "secondary", kind="stat")
            return False
        if not _is_missing(n) and int(n) >= self.min_n_stat:
            return True
        self.record(table, cell, "stat", kind="stat")
        return False

    def stat(self, value, n, table: str, cell: str = ""):
        """``value`` when it rests on at least ``min_n_stat`` persons, else ``None`` (and logged).

        Examples
        --------
        >>> dc.stat(4.2, 25, "kykyviisari", "taidot.keskiarvo")   # doctest: +SKIP
        4.2
        """
        return value if self.stat_ok(n, table, cell) else None

    def mask_stats(self, df: pd.DataFrame, table: str, n_col: str = "n", value_cols: Iterable[str] | None = None,
                   label_cols: Iterable[str] | None = None, drop_n: bool = False) -> pd.DataFrame:
        """Hide the statistics of rows computed on fewer than ``min_n_stat`` persons.

        Parameters
        ----------
        df : DataFrame
            One row per group/statistic, with the number of persons in ``n_col``.
        table : str
            Logged table name.
        n_col : str
            Column holding the number of persons.
        value_cols : iterable of str, optional
            Columns to hide; default every column except ``n_col`` and ``label_cols``.
        label_cols : iterable of str, optional
            Columns naming the row in the log (default: the index).
        drop_n : bool
            Also hide ``n`` itself on the masked rows (a small ``n`` is a small count). The n of such a row is
            always replaced by the small-count mark when it is below ``min_count``.

        Returns
        -------
        DataFrame
            A copy whose hidden cells are :data:`NOT_SHOWN` (those columns become ``object``).
        """
        label_cols = list(label_cols or [])
        if value_cols is None:
            value_cols = [c for c in df.columns if c != n_col and c not in label_cols]
        value_cols = list(value_cols)
        out = df.copy()
        for c in value_cols + [n_col]:
            if c in out.columns:
                out[c] = out[c].astype(object)
        for idx in df.index:
            n = df.at[idx, n_col]
            label = " / ".join(str(df.at[idx, c]) for c in label_cols) if label_cols else str(idx)
            if self.stat_ok(n, table, label):
                continue
            for c in value_cols:
                out.at[idx, c] = NOT_SHOWN
            if not _is_missing(n) and (drop_n or 0 < int(n) < self.min_count):
                out.at[idx, n_col] = self.suppressed_mark if 0 < int(n) < self.min_count else NOT_SHOWN
        return out

    def parts_and_total(self, parts: dict, name: str) -> dict:
        """Counts of the parts of a whole and the whole, protected together (e.g. HB, verrokki and all clients).

        Publishing a total beside its parts lets a reader recover a suppressed part by subtraction; this applies
        the same secondary suppression as a table with margins. Returns ``{part: shown, ..., "total": shown}``
        where ``shown`` is the count as an ``int`` or a mark (``<5`` / ``–``), and logs what it hid.
        """
        keys = list(parts)
        table = pd.DataFrame([[int(parts[k]) for k in keys]], index=["n"], columns=keys)
        rel = self._release()
        if rel is not None:
            full = table.copy()
            full["total"] = int(table.to_numpy().sum())
            codes = self._release_codes(rel, full, name, margin_cols={"total"})
            if rel.mode == "render":
                shown = {}
                for key in keys + ["total"]:
                    code = codes.at["n", key]
                    if isinstance(code, str) and code:
                        shown[key] = self.suppressed_mark if code in ("count", "margin") else NOT_SHOWN
                        self.record(name, key, code, kind="count")
                    else:
                        shown[key] = int(full.at["n", key])
                return shown
        full, codes = self.protect(table)
        shown = {}
        for j, key in enumerate(keys + ["total"]):
            code = codes.iat[0, j]
            if isinstance(code, str):
                shown[key] = self.suppressed_mark if code in ("count", "margin") else NOT_SHOWN
                self.record(name, key, code, kind="count")
            else:
                shown[key] = int(full.iat[0, j])
        return shown

    def share_ok(self, k, n, table: str, cell: str = "") -> bool:
        """True when a share ``k / n`` of a group of ``n`` persons may be shown (as a percentage, a bar, …).

        A share of a known group is the count ``k``: it is protected as the two counts ``k`` and ``n − k`` with
        their total ``n`` (a count of 1 … ``min_count``−1 on either side hides it), and it needs ``n`` of at
        least ``min_n_stat`` persons. In a release the counts are ledger cells, protected with everything else.
        """
        k = 0 if _is_missing(k) else int(round(float(k)))
        n = 0 if _is_missing(n) else int(n)
        if not self.stat_ok(n, table, f"{cell} (n)"):
            return False
        parts = {"osuus": k, "muut": n - k}
        rel = self._release()
        if rel is not None:
            full = pd.DataFrame([[k, n - k, n]], index=[cell], columns=["osuus", "muut", self.total_label])
            codes = self._release_codes(rel, full, table, margin_cols={self.total_label})
            if rel.mode == "render":
                hidden = [c for c in codes.columns if isinstance(codes.at[cell, c], str) and codes.at[cell, c]]
                if hidden:
                    self.record(table, cell, "count" if codes.at[cell, hidden[0]] in ("count", "margin")
                                else "secondary")
                return not hidden
        if any(0 < v < self.min_count for v in parts.values()):
            self.record(table, cell, "count")
            return False
        return True

    def magnitude_ok(self, values, table: str, cell: str = "", shown=None) -> bool:
        """True when a euro sum or mean over contributors ``values`` (one amount per person) may be shown.

        Rules (ACRO's defaults for magnitude tables as reference): at least ``min_n_stat`` contributors with a
        non-zero amount; the n-k dominance rule (the ``nk_n`` largest contributors hold at most ``nk_k`` of the
        total) and the p % rule (the total less the two largest is at least ``p_ratio`` × the largest, so the
        second largest contributor cannot estimate the largest within p %): :func:`magnitude_rules`. In a release
        the number of contributors is a ledger statistic (its complement is protected like any statistic's).

        Every decision is recorded for the page's magnitude record (:meth:`write`; audited by
        :mod:`hbeval_lib.release.euro_audit`): the aggregates of :func:`magnitude_facts` and ``shown``, the euro
        figures the page prints from this magnitude when it may (e.g. its total and its mean per client), so that an
        audit can find them printed where the magnitude was hidden.
        """
        facts = magnitude_facts(values)
        conf = self.cfg.section("disclosure", {}) or {}
        nk_n, nk_k = int(conf.get("nk_n", 2)), float(conf.get("nk_k", 0.9))
        p_ratio = float(conf.get("p_ratio", 0.1))
        nk_ok, p_ok = magnitude_rules(facts["amounts"], nk_n, nk_k, p_ratio)
        # the same clients' amounts are one entry wherever they are shown: one decision (the ledger's link)
        ok = self.stat_ok(facts["contributors"], table, cell, link=f"eur:{facts['fingerprint']}"
                          if facts["contributors"] else "")
        if ok and not (nk_ok and p_ok):
            self.record(table, cell, "dominance")
            ok = False
        code = ("" if ok else "stat" if facts["contributors"] < self.min_n_stat
                else "dominance" if not (nk_ok and p_ok) else "release")
        figures = [] if shown is None else [shown] if np.isscalar(shown) else list(shown)
        self.magnitudes.append({
            "table": self._name(table), "cell": str(cell), "contributors": facts["contributors"],
            "total": round(facts["total"], 2), "mean": round(facts["mean"], 4) if facts["contributors"] else None,
            "top1_share": round(facts["top1_share"], 6) if facts["contributors"] else None,
            "top2_share": round(facts["top2_share"], 6) if facts["contributors"] else None,
            "n_ok": facts["contributors"] >= self.min_n_stat, "nk_ok": nk_ok, "p_ok": p_ok, "decided": ok,
            "code": code, "values": ";".join(f"{float(x):.6g}" for x in figures if not _is_missing(x)),
            "fingerprint": facts["fingerprint"]})
        return ok

    def magnitude_frame(self) -> pd.DataFrame:
        """The page's magnitude record (:data:`MAGNITUDE_COLUMNS`): one row per distinct decision, ``shown`` = the
        rules let it be shown and the page hid it for no other reason (e.g. secondary suppression) either."""
        hidden = {(r["table"], r["cell"]) for r in self.log}
        page = self.page
        rows = []
        seen = set()
        for m in self.magnitudes:
            key = (m["table"], m["cell"], m["fingerprint"])
            if key in seen:
                continue
            seen.add(key)
            rows.append({"strand": page.strand if page else "", "phase": page.phase if page else "",
                         "pilot": page.pilot if page else "", **m,
                         "shown": bool(m["decided"]) and (m["table"], m["cell"]) not in hidden})
        return pd.DataFrame(rows, columns=MAGNITUDE_COLUMNS)

    # -- figures -------------------------------------------------------------
    def figure_ok(self, n, name: str) -> bool:
        """True when a figure of a group of ``n`` persons may be drawn; otherwise logs it."""
        rel = self._release()
        if rel is not None and rel.mode == "render":
            hidden, code = self._cell(rel, name, "kuvio", "", "stat", n)
            if hidden:   # the cell's own reason (a figure hidden as a complement is not one of fewer than 10)
                self.record(name, "kuvio", "figure" if code in ("stat", "") else code, kind="stat")
            return not hidden
        if rel is not None:
            self._cell(rel, name, "kuvio", "", "stat", n)
        if not _is_missing(n) and int(n) >= self.min_n_stat:
            return True
        self.record(name, "kuvio", "figure")
        return False

    def figure_message(self, n, what: str) -> str:
        """The Finnish sentence shown instead of a figure of ``what`` drawn from ``n`` persons.

        Returns ``""`` when ``n`` is large enough (draw the figure). The sentence never states ``n`` (a small
        ``n`` is itself a small count). Does not log: use :meth:`figure_ok` for the decision.
        """
        if not _is_missing(n) and int(n) >= self.min_n_stat:
            return ""
        return (f"Kuviota ({what}) ei piirretä, koska se perustuisi alle {self.min_n_stat} henkilön tietoihin; "
                f"näin pienestä ryhmästä ei tietosuojan vuoksi julkaista tuloksia.")

    # -- counts --------------------------------------------------------------
    def _primary_code(self, v) -> str | None:
        if _is_missing(v):
            return None
        if 0 < v < self.min_count:
            return "count"
        if v == 0 and self.zeros_disclosive:
            return "zero"
        return None

    def counts(self, table: pd.DataFrame | pd.Series, name: str, margins: bool = False) -> pd.DataFrame:
        """Suppress a table of counts.

        Parameters
        ----------
        table : DataFrame or Series
            Counts (non-negative integers); a Series is treated as one column.
        name : str
            Logged table name.
        margins : bool, "col" or "row"
            Add a total row and column (:attr:`total_label`) and apply secondary suppression so that no hidden
            cell can be recovered from the totals (audited with :func:`suppressed_intervals`). ``"col"``: only the
            rows' totals (a total column, e.g. the respondents of each item); ``"row"``: only the columns' totals
            (a total row, e.g. the respondents of a question whose answers are the rows — print it whenever the
            total is known to readers anyway, e.g. as the denominator of shares).

        Returns
        -------
        DataFrame
            ``object`` cells: the count, ``<5`` for a small count, ``–`` for a hidden zero or a secondarily
            suppressed cell.
        """
        if isinstance(table, pd.Series):
            table = table.to_frame(table.name if table.name is not None else "n")
        rel = self._release()
        if rel is not None:
            if margins:
                values = table.fillna(0).astype("int64")
                full = values.copy()
                if margins != "row":
                    full[self.total_label] = values.sum(axis=1)
                if margins != "col":
                    full.loc[self.total_label] = full.sum(axis=0)
                full.index.name, full.columns.name = table.index.name, table.columns.name
            else:
                full = table
            codes = self._release_codes(rel, full, name,
                                        margin_rows={self.total_label} if margins and margins != "col" else set(),
                                        margin_cols={self.total_label} if margins and margins != "row" else set())
            if rel.mode == "collect":   # nothing is shown while collecting: primary marks only, no LP audit
                out = full.astype(object).copy()
                for i in range(out.shape[0]):
                    for j in range(out.shape[1]):
                        if self._primary_code(out.iat[i, j]):
                            out.iat[i, j] = self.suppressed_mark
                return out
            if rel.mode == "render":
                out = full.astype(object).copy()
                for i, r in enumerate(full.index):
                    for j, c in enumerate(full.columns):
                        code = codes.iat[i, j]
                        if isinstance(code, str) and code:
                            out.iat[i, j] = self.suppressed_mark if code in ("count", "margin") else NOT_SHOWN
                            self.record(name, f"{r} / {c}", code if code in RULE_TEXTS else "secondary")
                return out
        if margins == "col":   # standalone: the row totals are known, protected like a table's margins
            return self._counts_with_margins(table, name).drop(index=self.total_label)
        if margins == "row":
            return self._counts_with_margins(table, name).drop(columns=self.total_label)
        if margins:
            return self._counts_with_margins(table, name)
        out = table.astype(object).copy()
        for r in table.index:
            for c in table.columns:
                code = self._primary_code(table.at[r, c])
                if code:
                    out.at[r, c] = self.suppressed_mark if code == "count" else NOT_SHOWN
                    self.record(name, f"{r} / {c}", code)
        return out

    def _release_codes(self, rel, full: pd.DataFrame, name: str, margin_rows=frozenset(),
                       margin_cols=frozenset()) -> pd.DataFrame:
        """Collect every cell of a count table (with its margins), or read the release's codes when rendering."""
        codes = pd.DataFrame(None, index=full.index, columns=full.columns, dtype=object)
        for i, r in enumerate(full.index):
            for j, c in enumerate(full.columns):
                mr, mc = r in margin_rows, c in margin_cols
                margin = "both" if (mr and mc) else "row" if mr else "col" if mc else ""
                got = self._cell(rel, name, r, c, "count", full.iat[i, j], margin)
                if got is not None:
                    codes.iat[i, j] = got[1] if got[0] else None
        return codes

    def crosstab_with_margins(self, data: pd.DataFrame, index: str, columns: str, name: str,
                              index_order: Iterable | None = None,
                              column_order: Iterable | None = None) -> pd.DataFrame:
        """Cross-tabulate persons in ``data`` by ``index`` × ``columns`` with totals, suppressed.

        ``index_order`` / ``column_order`` fix the categories shown (missing categories appear as zeros).
        """
        tab = pd.crosstab(data[index], data[columns])
        if index_order is not None:
            tab = tab.reindex(list(index_order), fill_value=0)
        if column_order is not None:
            tab = tab.reindex(columns=list(column_order), fill_value=0)
        tab.index.name, tab.columns.name = index, columns
        return self.counts(tab, name, margins=True)

    def protect(self, table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Decide which cells of ``table`` (interior counts) with margins to hide; logs nothing.

        Returns
        -------
        (full, codes)
            ``full`` is the table with a total row and column added; ``codes`` has the same shape and holds
            the rule code of each hidden cell (``count``, ``zero``, ``margin``, ``secondary``) or ``None``.
        """
        values = table.fillna(0).to_numpy(dtype=float)
        if (values < 0).any():
            raise ValueError("counts must be non-negative")
        nr, nc = values.shape
        full = np.zeros((nr + 1, nc + 1))
        full[:nr, :nc] = values
        full[:nr, nc] = values.sum(axis=1)
        full[nr, :nc] = values.sum(axis=0)
        full[nr, nc] = values.sum()
        codes = np.full(full.shape, None, dtype=object)
        for i in range(nr + 1):
            for j in range(nc + 1):
                code = self._primary_code(full[i, j])
                if code and (i < nr and j < nc):
                    codes[i, j] = code
                elif code == "count":             # a total under the threshold
                    codes[i, j] = "margin"
        lines = [[(i, j) for j in range(nc + 1)] for i in range(nr + 1)]
        lines += [[(i, j) for i in range(nr + 1)] for j in range(nc + 1)]
        gave_up = False
        for _ in range(10 * (nr + 1) * (nc + 1)):
            changed = False
            for line in lines:
                hidden = [p for p in line if codes[p] is not None]
                if len(hidden) == 1:
                    cand = _next_candidate(full, codes, line, nr, nc)
                    if cand is not None:
                        codes[cand] = "secondary"
                        changed = True
            if changed:
                continue
            weak = _unprotected(full, codes, nr, nc, self.min_count, self.protection_margin)
            if not weak or gave_up:
                break
            for (i, j) in weak:
                cands = [_next_candidate(full, codes, line, nr, nc) for line in lines if (i, j) in line]
                cands = [c for c in cands if c is not None]
                if cands:
                    best = min(cands, key=lambda p: (p[0] >= nr or p[1] >= nc, full[p] == 0, full[p]))
                    codes[best] = "secondary"
                    changed = True
                    break
            if not changed:       # nothing left to hide in these lines: hide every total
                for i in range(nr + 1):
                    codes[i, nc] = codes[i, nc] or "secondary"
                for j in range(nc + 1):
                    codes[nr, j] = codes[nr, j] or "secondary"
                gave_up = True
        idx = list(table.index) + [self.total_label]
        cols = list(table.columns) + [self.total_label]
        full_df = pd.DataFrame(full.astype(np.int64), index=idx, columns=cols)
        full_df.index.name, full_df.columns.name = table.index.name, table.columns.name
        return full_df, pd.DataFrame(codes, index=idx, columns=cols, dtype=object)

    def _counts_with_margins(self, table: pd.DataFrame, name: str) -> pd.DataFrame:
        full, codes = self.protect(table)
        out = full.astype(object).copy()
        for i, r in enumerate(full.index):
            for j, c in enumerate(full.columns):
                code = codes.iat[i, j]
                if not isinstance(code, str):
                    continue
                out.iat[i, j] = self.suppressed_mark if code in ("count", "margin") else NOT_SHOWN
                self.record(name, f"{r} / {c}", code)
        return out

    def audit(self, published: pd.DataFrame, truth: pd.DataFrame | None = None) -> pd.DataFrame:
        """Solve a published table with margins for its hidden cells; see :func:`suppressed_intervals`."""
        return suppressed_intervals(published, truth=truth, min_count=self.min_count,
                                    total_label=self.total_label, protection_margin=self.protection_margin)

    # -- output --------------------------------------------------------------
    def frame(self) -> pd.DataFrame:
        """The suppression log (one row per distinct table, cell and rule)."""
        return pd.DataFrame(self.log, columns=LOG_COLUMNS).drop_duplicates(ignore_index=True)

    def write(self, path: str | os.PathLike | None) -> Path | None:
        """Write the log CSV atomically; a falsy path (interactive use) writes nothing.

        Beside it (``<pilot>.cells.csv``) goes the page's release record: every cell it published with the decision
        it was shown with (empty outside a release), which the build checks against the protected ledger; and
        (``<pilot>.magnitudes.csv``) its magnitude record (:meth:`magnitude_frame`), which the build audits."""
        if path and self.page is not None:
            write_csv_atomic(pd.DataFrame(self.page.record, columns=RECORD_COLUMNS), cells_path(path))
            write_csv_atomic(self.magnitude_frame(), magnitudes_path(path))
        return write_csv_atomic(self.frame(), path)


# -- secondary suppression helpers ------------------------------------------------------------------------------

def _next_candidate(full: np.ndarray, codes: np.ndarray, line: list, nr: int, nc: int):
    """The cell to hide next in ``line``: the smallest non-zero shown interior cell, else a zero, else the total."""
    interior = [p for p in line if codes[p] is None and p[0] < nr and p[1] < nc]
    nonzero = [p for p in interior if full[p] > 0]
    if nonzero:
        return min(nonzero, key=lambda p: (full[p], p))
    if interior:
        return interior[0]
    totals = [p for p in line if codes[p] is None]
    return min(totals, key=lambda p: (p == (nr, nc), full[p] == 0, full[p], p)) if totals else None


def _unprotected(full, codes, nr, nc, min_count, margin) -> list[tuple[int, int]]:
    published = _published_frame(full, codes, min_count)
    iv = suppressed_intervals(published, min_count=min_count, total_label="__total__",
                              protection_margin=margin, _positional=True)
    def pos(label, last):  # a hidden total is labelled "__total__": its position is the last row/column
        return last if label == "__total__" else int(label)

    return [(pos(r, nr), pos(c, nc)) for r, c in iv.loc[~iv["protected"], ["row", "column"]].itertuples(index=False)]


def _published_frame(full, codes, min_count) -> pd.DataFrame:
    nr, nc = full.shape[0] - 1, full.shape[1] - 1
    out = pd.DataFrame(full.astype(object), index=list(range(nr)) + ["__total__"],
                       columns=list(range(nc)) + ["__total__"])
    for i in range(nr + 1):
        for j in range(nc + 1):
            if codes[i, j] is not None:
                out.iat[i, j] = f"<{min_count}" if codes[i, j] in ("count", "margin") else NOT_SHOWN
    return out


def _parse_cell(v, min_count: int):
    """(low, high, known) for a published cell: a number is known; ``<k`` is 1..k-1; other marks are >= 0."""
    if isinstance(v, (int, float, np.integer, np.floating)) and not _is_missing(v):
        return float(v), float(v), True
    s = str(v).strip().replace("\u2212", "-").replace(" ", "").replace("\u00a0", "")
    if s.startswith("<"):
        try:
            k = float(s[1:].replace(",", "."))
        except ValueError:
            k = float(min_count)
        return 1.0, k - 1.0, False
    try:
        x = float(s.replace(",", "."))
        return x, x, True
    except ValueError:
        return 0.0, math.inf, False


def suppressed_intervals(published: pd.DataFrame, truth: pd.DataFrame | None = None, min_count: int = 5,
                         total_label: str = TOTAL_LABEL, protection_margin: float = 1.0,
                         _positional: bool = False) -> pd.DataFrame:
    """What an attacker can learn about each hidden cell of a published table with margins.

    For every hidden cell (``<5`` or ``–``) minimise and maximise its value by linear programming subject to
    every published number, the row equations (cells sum to the row total), the column equations, the totals
    adding up to the grand total, ``0 <= x`` for ``–`` cells and ``1 <= x <= min_count - 1`` for ``<5`` cells.

    Parameters
    ----------
    published : DataFrame
        The table as published, its last row and column the totals (labelled ``total_label``); a table
        without a total row or column is audited with only the equations it has.
    truth : DataFrame, optional
        The true interior counts (same labels, without margins), to report each cell's value beside its bounds.
    min_count : int
        The count threshold, for reading the ``<5`` mark.
    total_label : str
        Label of the total row/column.
    protection_margin : float
        A cell is protected when ``high - low >= protection_margin``.

    Returns
    -------
    DataFrame
        One row per hidden cell: ``row``, ``column``, ``low``, ``high``, ``width``, ``protected`` (and
        ``value`` when ``truth`` is given). ``high`` is ``inf`` when unbounded.

    Examples
    --------
    A naive table that hides ``3`` but publishes the row total lets the attacker solve it:

    >>> t = pd.DataFrame({"a": ["<5", 5, 8], "b": [8, 9, 17], "Yhteensä": [11, 14, 25]},
    ...                  index=["x", "y", "Yhteensä"])
    >>> suppressed_intervals(t)[["row", "column", "low", "high"]].values.tolist()
    [['x', 'a', 3.0, 3.0]]
    """
    from scipy.optimize import linprog

    rows, cols = list(published.index), list(published.columns)
    has_rt = bool(_positional) or (len(cols) > 0 and str(cols[-1]) == str(total_label))
    has_ct = bool(_positional) or (len(rows) > 0 and str(rows[-1]) == str(total_label))
    nr, nc = len(rows) - has_ct, len(cols) - has_rt
    parsed = {}
    var = {}
    for i in range(len(rows)):
        for j in range(len(cols)):
            lo, hi, known = _parse_cell(published.iat[i, j], min_count)
            parsed[i, j] = (lo, hi, known)
            if not known:
                var[i, j] = len(var)
    out_cols = ["row", "column", "low", "high", "width", "protected"] + (["value"] if truth is not None else [])
    if not var:
        return pd.DataFrame(columns=out_cols)
    eqs = []
    for i in range(len(rows)):               # row equations: cells = row total
        if has_rt:
            eqs.append([((i, j), 1.0) for j in range(nc)] + [((i, nc), -1.0)])
    for j in range(len(cols)):               # column equations
        if has_ct:
            eqs.append([((i, j), 1.0) for i in range(nr)] + [((nr, j), -1.0)])
    A, b = [], []
    for eq in eqs:
        row = np.zeros(len(var))
        rhs = 0.0
        touches = False
        for p, coef in eq:
            if p in var:
                row[var[p]] += coef
                touches = True
            else:
                rhs -= coef * parsed[p][0]
        if touches:
            A.append(row)
            b.append(rhs)
    bounds = [None] * len(var)
    for p, k in var.items():
        lo, hi, _ = parsed[p]
        bounds[k] = (lo, None if math.isinf(hi) else hi)
    A_eq = np.array(A) if A else None
    b_eq = np.array(b) if b else None
    if truth is not None and has_rt and has_ct and total_label not in list(truth.index):
        truth = truth.copy()
        truth[total_label] = truth.sum(axis=1)
        truth.loc[total_label] = truth.sum(axis=0)
    records = []
    for p, k in var.items():
        c = np.zeros(len(var))
        c[k] = 1.0
        res_min = linprog(c, A_eq=A_eq, b_eq=b_eq, bounds=bounds, method="highs")
        res_max = linprog(-c, A_eq=A_eq, b_eq=b_eq, bounds=bounds, method="highs")
        if res_min.status == 2 or res_max.status == 2:
            raise ValueError("the published table is inconsistent (no table of counts fits it)")
        low = float(res_min.fun) if res_min.status == 0 else bounds[k][0]
        high = float(-res_max.fun) if res_max.status == 0 else math.inf
        low, high = round(low, 9), (round(high, 9) if not math.isinf(high) else high)
        rec = {"row": rows[p[0]], "column": cols[p[1]], "low": low, "high": high, "width": high - low,
               "protected": bool(high - low >= protection_margin)}
        if truth is not None:
            try:
                rec["value"] = float(truth.loc[rows[p[0]], cols[p[1]]])
            except KeyError:
                rec["value"] = math.nan
        records.append(rec)
    return pd.DataFrame(records, columns=out_cols)


# -- the data-quality page ------------------------------------------------------------------------------------------

def read_logs(paths: Iterable[str | os.PathLike]) -> pd.DataFrame:
    """Merge suppression logs (``*.suppressions.csv``); adds ``source`` (the file's stem) to each row.

    Older logs without the ``code`` column are read with ``code`` = ``"other"``.
    """
    frames = []
    for p in paths:
        df = pd.read_csv(p, dtype=str, keep_default_na=False)
        if "code" not in df.columns:
            df["code"] = "other"
        df["source"] = Path(p).name.removesuffix(".suppressions.csv")
        frames.append(df[LOG_COLUMNS + ["source"]])
    if not frames:
        return pd.DataFrame(columns=LOG_COLUMNS + ["source"])
    return pd.concat(frames, ignore_index=True)


def summarise(log: pd.DataFrame) -> pd.DataFrame:
    """Count suppressions per table and rule, for the data-quality page (Finnish headers)."""
    if log.empty:
        return pd.DataFrame(columns=["Taulukko", "Sääntö", "Peitettyjä soluja"])
    g = log.groupby(["table", "rule"], sort=True).size().reset_index(name="n")
    return g.rename(columns={"table": "Taulukko", "rule": "Sääntö", "n": "Peitettyjä soluja"})
