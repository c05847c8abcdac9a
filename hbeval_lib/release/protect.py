"""Disclosure control of the whole release, solved once over the ledger of every page, pilot and phase.

Rules (thresholds in ``hbeval.yml`` → ``disclosure``): a count of 1 … ``min_count``−1 persons is not shown
(``count``; a table total: ``margin``); a statistic (mean, share, test, figure) on fewer than ``min_n_stat`` persons
is not shown (``stat``). Then *complementary* suppression makes sure that what a reader of the whole release can
compute does not give those numbers back:

Counts — the linked-table model
    The cells of one table (same strand and table name) on every page are tied together by what a reader knows:
    the table's margins (rows and columns add up to *Yhteensä*), the all-pilots page is the sum of the six pilot
    pages (a row of the all-pilots table named after a pilot is that pilot's total), and the phases are cumulative
    (baseline ⊆ interim ⊆ final, so final − interim counts the newcomers). The unknowns ("atoms") are the counts of
    persons by row × column × pilot × phase increment; every published cell is a 0/1 combination of atoms.
    A reader also knows what is *not* printed: a pilot page without the table still has its cells (the all-pilots
    page minus the other pilots: protected like printed cells), a row a page leaves out is empty (its atoms are
    known zeros), a published zero makes every atom under it zero, and the ``<k`` marks bound a hidden cell to
    1 … k−1. Protection requires that no primary-suppressed cell, no unprinted pilot cell and no newcomer count (a
    phase increment) of 1 … ``min_count``−1 lies in the row space of what is published; for counts that are not
    cumulative (an end measurement in each report) the difference of two reports is checked instead. The row space
    is computed exactly (integer arithmetic modulo a prime, :mod:`.linalg`), so the decisions do not depend on the
    machine. Violations are repaired greedily (the approach of tau-argus' hypercube/"singleton" repairs and of
    Statistics Finland's manual checks, chosen over an optimal MILP because it is fast, deterministic and explainable
    cell by cell): among the published cells the reader combines, the cheapest one whose hiding really leaves the
    value open is hidden, together with the cells that print the same persons (hiding one copy alone would be in
    vain). Cheapest: a pilot page before the all-pilots page (whose totals are the headlines and go last), the
    later phase first on pilot pages and the earlier on the all-pilots page, an interior cell before a total, the
    smallest value first. Hidden cells that the later choices made unnecessary are then given back (most valuable
    first). Finally an LP audit (SciPy HiGHS) with the ``<k`` bounds checks every primary cell: a pinned one gets a
    further hidden cell, chosen from the LP's optimality certificate; one pinned by the marks alone (a ``<5`` total
    over four ``<5`` parts) is printed as a plain dash instead (``mark``). The same LP audits the small newcomer
    counts between reports (nothing is negative, so e.g. an interim total equal to the final one pins every interim
    cell), and a pilot missing from the all-pilots table of pilots is a known zero (the table lists the pilots that
    have persons). A row's or column's sum that the table does not print but the same report prints elsewhere
    for that pilot and strand (a group's size: a count on its own, another table's total) is a published total too
    (:func:`_printed_sums`; in the exact check, not in the LP audit). Last, a count printed on its own (a
    sentence, the ``n`` beside a statistic) that equals a count the page hides, a group's size equal to one hidden
    in another strand, or a row of the same label and value as one hidden in another table, is hidden too and
    protected like a hidden count in rounds (:func:`_same_count_elsewhere`, ``linked``).
    A model is used only when the recorded values satisfy it (solved exactly): a table whose counts are not
    cumulative over phases is modelled phase by phase; one whose all-pilots page is not the sum of the pilots, page
    by page; a table that fits no model is listed in the release summary (``unmodelled``).

Statistics — phases
    A statistic of a value fixed per person (baseline characteristics) on a group that grew by 1 … ``min_n_stat``−1
    persons since the previous phase would give the newcomers' statistic; any statistic whose group (its printed
    ``n``) grew by 1 … ``min_count``−1 would give a small count of newcomers. One of the two is hidden: on a pilot
    page the later one, on the all-pilots page the earlier one (the final figures are the headlines).

Statistics — complements
    A statistic hidden on a pilot page (fewer than ``min_n_stat`` persons) follows from the all-pilots value and the
    other pilots' values and sizes when the sizes add up. Then further pilots' values (smallest groups first) are
    hidden until the hidden pilots together rest on at least ``min_n_stat`` persons; the all-pilots value, usually a
    headline, is kept.
"""

from __future__ import annotations

import re
from collections import defaultdict

import numpy as np
import pandas as pd

from hbeval_lib.release.linalg import P, RowSpace

ALL = "kaikki"
REASONS = {
    "count": "lukumäärä alle {k} (ensisijainen peitto)",
    "margin": "reunasumma alle {k} (ensisijainen peitto)",
    "zero": "nolla, joka paljastaisi ryhmän kaikkien tiedon (ensisijainen peitto)",
    "stat": "tunnusluku alle {n} henkilön tiedoista",
    "secondary": "toissijainen peitto: estää peitetyn solun päättelyn summista, pilottien summasta tai "
                 "raportointivaiheiden erotuksesta",
    "complement": "toissijainen peitto: estää piilotetun tunnusluvun päättelyn kaikkien pilottien luvusta",
    "mark": "pieni lukumäärä, merkitty viivalla: <5-merkintä paljastaisi sen yhdessä muiden merkintöjen kanssa",
    "phase": "toissijainen peitto: ryhmään tuli edellisen raportin jälkeen niin vähän henkilöitä, että heidän "
             "lukumääränsä tai tunnuslukunsa selviäisi raporttien erotuksesta",
}


def reason_text(code: str, min_count: int = 5, min_n_stat: int = 10) -> str:
    return REASONS.get(code, code).format(k=min_count, n=min_n_stat)


def primary_codes(ledger: pd.DataFrame, min_count: int, min_n_stat: int, zeros_disclosive: bool = False) -> pd.Series:
    """The primary rule each cell breaks (``""`` when none)."""
    v = ledger["value"].astype("Float64")
    count = ledger["kind"].eq("count")
    out = pd.Series("", index=ledger.index, dtype=object)
    small = count & v.gt(0).fillna(False) & v.lt(min_count).fillna(False)
    out[small & ledger["margin"].eq("")] = "count"
    out[small & ledger["margin"].ne("")] = "margin"
    if zeros_disclosive:
        out[count & v.eq(0).fillna(False)] = "zero"
    stat = ledger["kind"].eq("stat")
    out[stat & ~v.ge(min_n_stat).fillna(False)] = "stat"
    return out


# ---------------------------------------------------------------------------------------------------------------
# counts: the linked-table model
# ---------------------------------------------------------------------------------------------------------------
class _Family:
    """The count cells of one table over all pages, with their atom supports under a model."""

    def __init__(self, cells: pd.DataFrame, phases: list[str], pilots: list[str], pilot_by_name: dict[str, str]):
        self.cells = cells
        present = set(cells["phase"])   # increments only between phases that publish this table
        self.phase_ix = {p: i for i, p in enumerate([p for p in phases if p in present])}
        self.pilots = pilots
        self.pilot_by_name = pilot_by_name

    def supports(self, model: str) -> tuple[list[list[int]], dict, list[list[int]], list[int]]:
        """Atom supports of every cell under ``model`` ("full", "no_phase", "page"), the atom index, and the
        supports of the *unpublished* pilot cells: a pilot page that does not print the table (or a row of it)
        while the all-pilots page does — a reader gets such a cell as all pilots minus the others."""
        cells = self.cells
        on_pilots = cells[cells["pilot"] != ALL]
        # the rows and columns a total adds up: those of every page (not the all-pilots page's pilot rows)
        own = cells if not len(on_pilots) else \
            cells[(cells["pilot"] != ALL) | ~cells["row"].isin(list(self.pilot_by_name))]
        rows = sorted(set(own.loc[own["margin"].isin(["", "col"]), "row"]))
        cols = sorted(set(own.loc[own["margin"].isin(["", "row"]), "col"]))
        atoms: dict = {}

        def atom(t):
            if t not in atoms:
                atoms[t] = len(atoms)
            return atoms[t]

        out, shapes = [], []
        for c in cells.itertuples(index=False):
            ph = self.phase_ix[c.phase]
            margin_row = c.margin in ("row", "both")
            margin_col = c.margin in ("col", "both")
            rs = rows if margin_row else [c.row]
            cs = cols if margin_col else [c.col]
            if model == "page":
                ps, js, page = [c.pilot], [ph], (c.phase, c.pilot)
            else:
                page = None
                if c.pilot != ALL:
                    ps = [c.pilot]
                elif not len(on_pilots):
                    ps = ["*"]
                elif not margin_row and c.row not in rows and c.row in self.pilot_by_name:
                    ps, rs = [self.pilot_by_name[c.row]], rows      # a pilot's row on the all-pilots page
                else:
                    ps = self.pilots
                    shapes.append((c.phase, c.row, c.col, rs, cs, ph))
                js = list(range(ph + 1)) if model == "full" else [ph]
            out.append(sorted({atom((r, col, p, j, page)) for r in rs for col in cs for p in ps for j in js}))
        if model == "page":
            # the all-pilots page is not in general the sum of the pilots here (e.g. anonymous answers), but where
            # a cell does add up exactly a reader will take it as the sum: that cell is modelled as the pilots' sum
            v = cells["value"]
            groups = defaultdict(list)
            for i, c in enumerate(cells[["phase", "row", "col", "margin", "pilot"]].itertuples(index=False)):
                groups[(c.phase, c.row, c.col, c.margin)].append((i, c.pilot))
            for members in groups.values():
                alls = [i for i, p in members if p == ALL]
                parts = [i for i, p in members if p != ALL]
                if len(alls) == 1 and len(parts) >= 2 and not v.iloc[alls + parts].isna().any() \
                        and int(v.iat[alls[0]]) == sum(int(v.iat[i]) for i in parts):
                    out[alls[0]] = sorted({a for i in parts for a in out[i]})
            # a page's total is the sum of its cells as modelled: once an all-pilots cell is the pilots' sum, so is
            # its row's total (a row sum printed elsewhere, 17 + "<5" = 19 on the all-pilots page, gave the hidden
            # cell back while the model kept the total on the page's own atoms — unseen set seed 241)
            lines = defaultdict(list)
            for i, c in enumerate(cells[["phase", "pilot", "row", "col", "margin"]].itertuples(index=False)):
                if c.margin == "" and not (c.pilot == ALL and c.row in self.pilot_by_name):
                    lines[(c.phase, c.pilot, "row", c.row)].append(i)
                    lines[(c.phase, c.pilot, "col", c.col)].append(i)
                    lines[(c.phase, c.pilot, "all", "")].append(i)
            for i, c in enumerate(cells[["phase", "pilot", "row", "col", "margin"]].itertuples(index=False)):
                key = {"col": ("row", c.row), "row": ("col", c.col), "both": ("all", "")}.get(c.margin)
                if key is None or pd.isna(v.iat[i]):
                    continue
                parts = lines.get((c.phase, c.pilot) + key, [])
                if parts and not v.iloc[parts].isna().any() and int(v.iat[i]) == sum(int(v.iat[j]) for j in parts):
                    out[i] = sorted({a for j in parts for a in out[j]})
        # rows a page leaves out are known to be empty (tables list the groups that have persons), and so are columns
        # (a pilot with no one ending as "pitkäaikaistyötön" prints no such column, and a reader adds its total row
        # up over the columns printed — unseen set, seed 79): their atoms are zero for the reader, on that page and
        # in every earlier increment of it. On the all-pilots page (its own rows, not its table of pilots) a row or
        # column left out has no one in any pilot: Σ pilots = 0 and nothing is negative (a baseline total of 40
        # over printed rows of 37 left out the row "muu" that only later reports have, giving its hidden "<5" row
        # away — unseen set, seed 173)
        zeros: set = set()
        if model != "page":
            everyone = self.pilots if len(on_pilots) else ["*"]
            page_rows, page_cols = defaultdict(set), defaultdict(set)
            for c in cells[(cells["pilot"] != ALL) | ~cells["row"].isin(list(self.pilot_by_name))].itertuples(
                    index=False):
                if c.margin in ("", "col"):
                    page_rows[(c.phase, c.pilot)].add(c.row)
                if c.margin in ("", "row"):
                    page_cols[(c.phase, c.pilot)].add(c.col)
            for phase, p in sorted(set(page_rows) | set(page_cols)):
                rws, cls = page_rows.get((phase, p)), page_cols.get((phase, p))
                ph = self.phase_ix[phase]
                js = list(range(ph + 1)) if model == "full" else [ph]
                for r in rows:
                    for col in cols:
                        if (rws is None or r in rws) and (cls is None or col in cls):
                            continue
                        for q in (everyone if p == ALL else [p]):
                            for j in js:
                                t = (r, col, q, j, None)
                                if t in atoms:
                                    zeros.add(atoms[t])
            # likewise a pilot that the all-pilots page's table of pilots leaves out has no one in it, in that
            # report and before (the table lists the pilots that have persons; a row hidden whole is named under
            # the table, so only a pilot with no one is missing) — a reader subtracts with it
            by_pilot = cells[(cells["pilot"] == ALL) & cells["row"].isin(list(self.pilot_by_name))
                             & cells["margin"].isin(["", "col"])]
            for phase, g in by_pilot.groupby("phase", sort=True):
                ph = self.phase_ix[phase]
                js = set(range(ph + 1)) if model == "full" else {ph}
                listed = {self.pilot_by_name[r] for r in g["row"]}
                for t, a in atoms.items():
                    if t[2] in self.pilots and t[2] not in listed and t[3] in js and t[4] is None:
                        zeros.add(a)
        virtual = []
        self.virtual_shapes = []   # (phase, row, col) of each unpublished pilot cell
        if model != "page" and len(on_pilots):
            have = set(zip(on_pilots["phase"], on_pilots["pilot"], on_pilots["row"], on_pilots["col"]))
            for phase, row, col, rs, cs, ph in shapes:
                js = list(range(ph + 1)) if model == "full" else [ph]
                for p in self.pilots:
                    if (phase, p, row, col) not in have:
                        virtual.append(sorted({atoms[(r, cc, p, j, None)] for r in rs for cc in cs for j in js}))
                        self.virtual_shapes.append((phase, row, col))
        return out, atoms, virtual, sorted(zeros)

    def solve(self, supports, atoms, zeros=()) -> "_Values | None":
        """The values a reader could derive under a model (exact, modulo :data:`linalg.P`), or ``None`` when the
        recorded values contradict the model (its relations do not hold for this table)."""
        n = len(atoms)
        A = np.zeros((len(supports) + len(zeros), n + 1), dtype=np.int64)
        for i, sup in enumerate(supports):
            A[i, sup] = 1
        for k, a in enumerate(zeros):
            A[len(supports) + k, a] = 1
        v = self.cells["value"]
        if v.isna().any():
            return None
        A[:len(supports), n] = v.astype("int64").to_numpy()
        aug = RowSpace(A)
        if aug.pivots and aug.pivots[-1] == n:
            return None            # inconsistent: e.g. a total that is not the sum of its parts
        return _Values(aug, n)


class _Values:
    """Any one solution of the recorded cells' equations: every combination in their row space has the same value
    under all solutions, so :meth:`value` gives what a reader would compute (``None`` when it is not determined)."""

    def __init__(self, aug: RowSpace, n: int):
        self.rs = RowSpace.__new__(RowSpace)
        self.rs.basis, self.rs.pivots, self.rs.n, self.rs.transform = aug.basis[:, :n], aug.pivots, n, None
        self.x = np.zeros(n, dtype=np.int64)
        for i, c in enumerate(aug.pivots):
            self.x[c] = aug.basis[i, n]
        self.n = n

    def value(self, sup) -> int | None:
        f = np.zeros(self.n, dtype=np.int64)
        f[list(sup)] = 1
        if not self.rs.contains(f):
            return None
        s = int(self.x[list(sup)].sum() % P)
        return s - P if s > P // 2 else s


def _increments(cells: pd.DataFrame, supports, atoms, n_phases: int) -> list[list[int]]:
    """Atom sets of the phase increments of every cell shape (what differencing two phases gives a reader)."""
    inv = {i: t for t, i in atoms.items()}
    out = []
    seen = set()
    for sup in supports:
        by_j = defaultdict(list)
        for a in sup:
            by_j[inv[a][3]].append(a)
        top = max(by_j) if by_j else 0
        for lo in range(1, top + 1):
            f = tuple(sorted(a for j in range(lo, top + 1) for a in by_j[j]))
            if f and f not in seen:
                seen.add(f)
                out.append(list(f))
    return out


def _protect_counts(cells: pd.DataFrame, codes: pd.Series, phases, pilots, pilot_by_name, min_count: int,
                    locked=None, refine: bool = False):
    """Complementary suppression of one count table over the whole release; returns the new codes (index of the
    cells) and whether a linked model fitted the table (if none did, only the primary rules apply).

    ``locked`` (bool per cell): entries of a report already published — their decisions are given in ``codes`` and
    never change (a published number is never hidden later, a hidden one never shown)."""
    fam = _Family(cells.reset_index(drop=True), phases, pilots, pilot_by_name)
    for model in ("full", "no_phase", "page"):
        supports, atoms, virtual, known_zero = fam.supports(model)
        vals = fam.solve(supports, atoms, known_zero)
        if vals is None:
            continue
        # the all-pilots page must be at least the sum of the pilots that print the table (else it is not a sum)
        vvals = [vals.value(s) for s in virtual]
        if any(v is not None and v < 0 for v in vvals):
            continue
        if model == "full":   # cumulative phases: what a later report adds to a cell is never negative
            incs = _increments(fam.cells, supports + virtual, atoms, len(phases))
            ivals = [vals.value(f) for f in incs]
            if any(v is not None and v < 0 for v in ivals):
                continue
        break
    else:  # no model reproduces the values: every cell is its own unknown (only primary suppression applies)
        return codes, False
    codes = codes.reset_index(drop=True).copy()
    locked = np.zeros(len(codes), dtype=bool) if locked is None else np.asarray(locked, dtype=bool)
    n_atoms = len(atoms)
    values = fam.cells["value"].astype("int64").to_numpy()
    is_all = (fam.cells["pilot"] == ALL).to_numpy()
    is_margin = fam.cells["margin"].ne("").to_numpy()
    phase_rank = fam.cells["phase"].map(fam.phase_ix).to_numpy()
    label = (fam.cells["phase"] + "|" + fam.cells["pilot"] + "|" + fam.cells["row"] + "|" + fam.cells["col"]).tolist()
    # least information loss first: pilot page before all pilots, the later phase first, interior before total,
    # small before large
    # (the later phase first: earlier reports were published first and stay as they were)
    # (the all-pilots page's totals are the report's headline numbers: hidden only when nothing else will do)
    # (on the all-pilots page the earlier phase gives way instead: the final report's figures are the headlines)
    cost = sorted(range(len(values)), key=lambda i: (bool(locked[i]), bool(is_all[i] and is_margin[i]), bool(is_all[i]),
                                                      int(phase_rank[i]) if is_all[i] else -int(phase_rank[i]),
                                                      bool(is_margin[i]), values[i] == 0, int(values[i]), label[i]))
    rank_of = {i: r for r, i in enumerate(cost)}

    def vec(sup):
        v = np.zeros(n_atoms, dtype=np.int64)
        v[sup] = 1
        return v

    # (``linked``: the same persons as a count hidden in another table — hidden with it, and not to be given back)
    sensitive = [supports[i] for i in range(len(values)) if codes.iat[i] in ("count", "margin", "zero", "linked")]
    # a pilot page that does not print the table: its cells follow from all pilots minus the others
    sensitive += [s for s, v in zip(virtual, vvals) if v is not None and 0 < v < min_count]
    if model == "full":   # newcomers between two reports, also of the unpublished pilot cells
        sensitive += [f for f, v in zip(incs, ivals) if v is not None and 0 < v < min_count]
    atom_cells = defaultdict(list)
    for i, sup in enumerate(supports):
        for a in sup:
            atom_cells[a].append(i)
    F = [vec(f) for f in sensitive]
    if model in ("no_phase", "page"):
        # counts that are not cumulative over phases (an end measurement in each report), or tables modelled page
        # by page: a reader still subtracts one report's count from the next; a difference of 1 … min_count−1 is a
        # small count too
        shape = defaultdict(list)
        for i in range(len(values)):
            c = fam.cells.iloc[i]
            shape[(c["pilot"], c["row"], c["col"], c["margin"])].append(i)
        for idx in shape.values():
            idx = sorted(idx, key=lambda i: phase_rank[i])
            for a, b in zip(idx, idx[1:]):
                if 0 < abs(int(values[b]) - int(values[a])) < min_count:
                    F.append(vec(supports[b]) - vec(supports[a]))
    if model is not None:   # every model
        # several small pilot cells of one row: the all-pilots cell minus the shown pilots gives their sum, which
        # must not be a small count either (e.g. two pilots' "<5" together 4 persons)
        # (the pilots that do not print the row at all count too: all pilots minus the printed ones is their sum)
        by_shape = defaultdict(list)
        for i, c in enumerate(fam.cells[["phase", "row", "col", "margin"]].itertuples(index=False, name=None)):
            if not is_all[i] and codes.iat[i] in ("count", "margin", "zero"):
                by_shape[c[:3]].append(supports[i])
        for shape, sup in zip(getattr(fam, "virtual_shapes", []), virtual):
            by_shape[shape].append(sup)
        for members in by_shape.values():
            if len(members) < 2:
                continue
            union = sorted({a for sup in members for a in sup})
            v = vals.value(union)        # what a reader gets for them together (None: not determined)
            if v is not None and 0 < v < min_count:
                F.append(vec(union))
        if model == "page":
            # all pilots minus the printed pilots: the hidden pilots' persons together with those of no pilot (e.g.
            # anonymous answers) — a reader who takes the table as a sum takes that for the hidden cells
            groups = defaultdict(list)
            for i, c in enumerate(fam.cells[["phase", "row", "col", "margin"]].itertuples(index=False, name=None)):
                groups[c].append(i)
            for idx in groups.values():
                alls = [i for i in idx if is_all[i]]
                parts = [i for i in idx if not is_all[i]]
                small = [i for i in parts if codes.iat[i] in ("count", "margin", "zero")]
                if len(alls) != 1 or not small or len(small) == len(parts):
                    continue
                rest = [i for i in parts if i not in small]
                residual = int(values[alls[0]]) - sum(int(values[i]) for i in rest)
                # (with the `<k` marks, a residual of k−1 per hidden cell — or 1 per cell — pins every one of them)
                marked = [i for i in small if codes.iat[i] in ("count", "margin")]
                pinned = len(marked) == len(small) and (residual >= (min_count - 1) * len(small)
                                                        or residual <= len(small))
                if 0 < residual < min_count or (residual > 0 and pinned):
                    f = vec(supports[alls[0]]).copy()
                    for i in rest:
                        f -= vec(supports[i])
                    F.append(f)
    if not F:
        return codes, True
    F = np.stack(F)
    # cells printed twice (the same persons: a pilot's row on the all-pilots page and that pilot's total) are
    # hidden together — hiding one of them alone tells a reader nothing new
    same = defaultdict(list)
    for i, sup in enumerate(supports):
        same[tuple(sup)].append(i)

    def equations(pub):
        rows = [vec(supports[i]) for i in pub] + [vec([a]) for a in known_zero]
        zeros = sorted({a for i in pub if values[i] == 0 for a in supports[i]} - set(known_zero))
        return rows + [vec([a]) for a in zeros], zeros

    for _ in range(len(values) + 1):
        published = [i for i in range(len(values)) if not codes.iat[i]]
        rows, zeros = equations(published)
        if not rows:
            break
        rs = RowSpace(np.stack(rows), track=True)
        disclosed = np.nonzero(rs.contains_many(F))[0]
        if disclosed.size == 0:
            break
        chosen: set = set()
        for d in disclosed:
            coef = rs.combination(F[d])
            # the published cells the reader combines (zero-forcing rows stand for their zero cells)
            used = {published[k] for k in np.nonzero(coef[:len(published)])[0]}
            for k in np.nonzero(coef[len(published) + len(known_zero):])[0]:
                used |= {i for i in atom_cells[zeros[k]] if not codes.iat[i] and values[i] == 0}
            if not used or used & chosen:
                continue
            # the cheapest cell (with its duplicates) whose hiding really leaves the sensitive value open; a cell
            # the other published cells imply would be hidden in vain
            pick = None
            for c in [c for c in sorted(used, key=rank_of.get) if not locked[c]][:MAX_TRIES]:
                group = {j for j in same[tuple(supports[c])] if not codes.iat[j] and not locked[j]}
                rest = [i for i in published if i not in group and i not in chosen]
                r2, _ = equations(rest)
                if not r2 or not RowSpace(np.stack(r2)).contains(F[d]):
                    pick = group
                    break
            if pick is None:
                free = [c for c in used if not locked[c]]
                if not free:
                    continue          # only published reports' entries give it: nothing left to decide here
                c = min(free, key=rank_of.get)
                pick = {j for j in same[tuple(supports[c])] if not codes.iat[j] and not locked[j]}
            chosen |= pick
        if not chosen:
            break
        for i in chosen:
            codes.iat[i] = "secondary"
    if refine:
        # a later round only adds the cells that protect newly linked ones: nothing hidden before is given back and
        # the `<k` marks need no new audit (hiding more never pins a cell the audit found free)
        return codes, True
    # greedy choices can become unnecessary once later ones are made: give back the most valuable hidden cells
    # (headline totals first) whose publication discloses nothing
    secondary = sorted((i for i in range(len(values)) if codes.iat[i] == "secondary" and not locked[i]),
                       key=rank_of.get, reverse=True)
    for c in secondary[:MAX_UNHIDE]:
        group = [j for j in same[tuple(supports[c])] if codes.iat[j] == "secondary" and not locked[j]]
        for j in group:
            codes.iat[j] = ""
        published = [i for i in range(len(values)) if not codes.iat[i]]
        rows, _ = equations(published)
        if RowSpace(np.stack(rows)).contains_many(F).any():
            for j in group:
                codes.iat[j] = "secondary"
    # the `<k` marks tell a reader that a hidden count lies in 1 … k−1: with them, linear programming can pin a
    # cell the row space leaves open (two `<5` cells under a published total of 8 are both 4). Audit every primary
    # cell with the reader's LP and hide one more overlapping published cell while any is pinned.
    # the same audit for the newcomers between two reports (phase increments of 1 … k−1): the row space leaves them
    # open, yet a reader who knows that a later report only adds persons (nothing is negative) can pin them — e.g.
    # an interim total equal to the final one makes every interim cell equal to its final value
    small_incs = [(list(f), int(v)) for f, v in zip(incs, ivals) if v is not None and 0 < v < min_count] \
        if model == "full" else []
    # the sums printed elsewhere take part in the exact (linear) check above, not in the LP audit of the `<k`
    # marks: they are many on tables of small counts (a heat map's every row), and the LP's rounds grow with them
    elsewhere = np.asarray(fam.cells["row"].eq(SUM_ROW) | fam.cells["col"].eq(SUM_ROW))
    for i in np.nonzero(elsewhere)[0]:
        codes.iat[i] = "elsewhere"
    _lp_audit(codes, supports, values, rank_of, atom_cells, n_atoms, min_count, same=same, known_zero=known_zero,
              locked=locked, extra=small_incs)
    return codes, True


def _lp_audit(codes, supports, values, rank_of, atom_cells, n_atoms, min_count, max_rounds: int = 200,
              same: dict | None = None, known_zero=(), locked=None, extra=()) -> None:
    """Hide more cells while the reader's LP pins a primary cell (its minimum equals its maximum), or one of the
    ``extra`` sensitive sums (``(atoms, true value)``: newcomer counts between two reports).

    The true values are a feasible point, so a cell is pinned exactly when its maximum equals its true value and
    its minimum does too: the maximum is solved first and the minimum only when needed. For a pinned cell the
    cheapest published cell near it (sharing persons with it or with a cell that does) whose hiding frees it is
    hidden, with its duplicates (sparse matrices; HiGHS is deterministic)."""
    from scipy.optimize import linprog
    from scipy.sparse import csr_matrix, vstack

    primary = [i for i in range(len(values)) if codes.iat[i] in ("count", "margin")]
    extra = list(extra or ())
    if (not primary and not extra) or n_atoms == 0:
        return
    # the targets: the cells (their own supports and values), then the extra sums
    tsup = list(supports) + [sorted(set(f)) for f, _ in extra]
    tval = np.concatenate([np.asarray(values, dtype=np.int64), np.asarray([v for _, v in extra], dtype=np.int64)])
    extra_ids = list(range(len(values), len(values) + len(extra)))
    same = same if same is not None else {}
    locked = np.zeros(len(values), dtype=bool) if locked is None else locked

    def incidence(idx):
        rows = [r for r, i in enumerate(idx) for _ in supports[i]]
        cols = [a for i in idx for a in supports[i]]
        return csr_matrix((np.ones(len(cols)), (rows, cols)), shape=(len(idx), n_atoms))

    def marks():
        P1 = incidence(primary)
        return (vstack([P1, -P1]).tocsr(),
                np.concatenate([np.full(len(primary), float(min_count - 1)), np.full(len(primary), -1.0)]))

    A_ub, b_ub = marks()

    bounds = np.zeros((n_atoms, 2))
    bounds[:, 1] = np.inf
    bounds[list(known_zero), 1] = 0.0       # rows a page leaves out: known to be empty

    def problem(published):
        kw = dict(A_ub=A_ub, b_ub=b_ub, bounds=bounds, method="highs") if primary else \
            dict(bounds=bounds, method="highs")
        if published:
            kw.update(A_eq=incidence(published), b_eq=values[published].astype(float))
        return kw

    def is_pinned(i, kw, binding: set | None = None) -> bool:
        """Whether the reader's LP pins cell ``i``; ``binding`` collects the published equations (row positions)
        of the optimality certificates — the cells whose values pin it."""
        c = np.zeros(n_atoms)
        c[tsup[i]] = 1
        hi = linprog(-c, **kw)
        if hi.status != 0 or round(-hi.fun) > int(tval[i]):
            return False            # infeasible/unbounded, or the maximum is above the true value: not pinned
        lo = linprog(c, **kw)
        pinned = lo.status == 0 and round(lo.fun) >= int(tval[i])
        if pinned and binding is not None and "A_eq" in kw:
            for r in (hi, lo):
                binding |= set(np.nonzero(np.abs(r.eqlin.marginals) > 1e-9)[0].tolist())
        return pinned

    def group_of(j):
        return [k for k in same.get(tuple(supports[j]), [j]) if not codes.iat[k] and not locked[k]] or [j]

    # hiding more cells only widens what a reader can say about a cell: a cell found free stays free, so each
    # round checks only the cells pinned in the previous one. First, a few LPs over all cells at once: every
    # feasible point they find in which a cell differs from its true value proves that cell free.
    check = list(primary) + extra_ids
    if len(check) > 4:
        kw0 = problem([i for i in range(len(values)) if not codes.iat[i]])
        rows = [r for r, i in enumerate(check) for _ in tsup[i]]
        cols = [a for i in check for a in tsup[i]]
        M = csr_matrix((np.ones(len(cols)), (rows, cols)), shape=(len(check), n_atoms))
        truth = tval[check]
        free: set = set()
        k = np.arange(len(check))
        for w in (np.ones(len(check)), -np.ones(len(check)), 1.0 + (k * 7919) % 13, -(1.0 + (k * 104729) % 17),
                  np.where(k % 2 == 0, 1.0, -1.0)):
            r = linprog(np.asarray(M.T @ w).ravel(), **kw0)
            if r.status == 0:
                got = M @ r.x
                free |= {check[j] for j in np.nonzero(np.abs(got - truth) >= 0.5)[0]}
        check = [i for i in check if i not in free]
    for _ in range(max_rounds):
        published = [i for i in range(len(values)) if not codes.iat[i]]
        kw = problem(published)
        pinned = [i for i in check if is_pinned(i, kw)]
        if not pinned:
            return
        check = pinned
        changed = False
        for i in pinned:
            published = [k for k in range(len(values)) if not codes.iat[k]]
            binding: set = set()
            if not is_pinned(i, problem(published), binding):
                continue                         # freed by a cell hidden for another one this round
            # candidates: the published cells the certificates use (cheapest first), then cells near the pinned one
            cert = sorted({published[r] for r in binding}, key=rank_of.get)
            near_atoms = {a for j in {j for a in tsup[i] for j in atom_cells[a]} for a in supports[j]}
            near = sorted({j for a in near_atoms for j in atom_cells[a] if not codes.iat[j]} - set(cert),
                          key=rank_of.get)
            cands = [j for j in cert + near if not locked[j]]
            pick = None
            for j in cands[:LP_TRIES]:
                group = set(group_of(j))
                if not is_pinned(i, problem([k for k in published if k not in group])):
                    pick = group
                    break
            if pick is None:
                direct = {j for a in tsup[i] for j in atom_cells[a] if not codes.iat[j] and not locked[j]}
                if not direct and i < len(values) and locked[i]:
                    continue       # a published report's entry: its mark stays as it was printed
                if not direct:
                    if i not in primary:
                        continue   # already a plain dash: what pins it is published (an earlier report's entries)
                    # nothing left to hide: the `<k` marks themselves pin it (e.g. a `<5` total over four `<5`
                    # parts). Print this cell as a plain dash, which says nothing about its size.
                    codes.iat[i] = "mark"
                    primary.remove(i)
                    A_ub, b_ub = marks()
                    changed = True
                    continue
                pick = set(group_of(min(direct, key=rank_of.get)))
            for j in pick:
                codes.iat[j] = "secondary"
            changed = True
        if not changed:
            return


# ---------------------------------------------------------------------------------------------------------------
# statistics: complements over pilots
# ---------------------------------------------------------------------------------------------------------------
def _protect_stats(cells: pd.DataFrame, codes: pd.Series, pilots: list[str], min_n_stat: int,
                   locked: pd.Series | None = None) -> pd.Series:
    """Complements over pilots: the all-pilots statistic with the shown pilots' statistics and sizes gives the
    statistic of the persons of the other pilots (hidden, or not shown at all because the pilot's page has too
    few persons). Those persons must number 0 or at least ``min_n_stat``; otherwise the smallest shown pilots are
    hidden too. The all-pilots value (usually a headline) is kept."""
    codes = codes.copy()
    reveals_ix = set(cells.index[cells["primary"].fillna("").astype(str).eq("reveals")]) \
        if "primary" in cells.columns else set()
    for _, g in cells.groupby(["strand", "phase", "table", "row", "col"], sort=True):
        total = g[g["pilot"] == ALL]
        parts = g[g["pilot"] != ALL]
        if len(total) != 1 or codes[total.index[0]] or pd.isna(total["value"].iat[0]):
            continue
        n_total = int(total["value"].iat[0])
        n = parts["value"].astype("Int64").fillna(0)
        if int(n.sum()) > n_total:
            continue           # sizes that do not add up (not a count of persons): a reader cannot subtract
        shown = [i for i in parts.index if not codes[i] and n[i] > 0]
        rest = n_total - sum(int(n[i]) for i in shown)
        free = [i for i in shown if locked is None or not bool(locked[i])]
        # a statistic hidden because it would give back a count (``reveals``) must not follow as the complement
        # either, whatever its n: the rest may not be exactly its persons
        revealing = {int(n[i]) for i in parts.index if i in reveals_ix and codes[i]}
        while (0 < rest < min_n_stat or rest in revealing) and free:
            pick = min(free, key=lambda i: (int(n[i]), str(parts.at[i, "pilot"])))
            free.remove(pick)
            codes[pick] = "complement"
            shown.remove(pick)
            rest += int(n[pick])
    return codes


MAX_UNHIDE = 40   # hidden cells (most valuable first) offered back after the greedy pass, per table
LP_TRIES = 10   # nearby cells tested per cell the LP pins
MAX_TRIES = 12   # candidate cells tested per disclosed value before the cheapest one is taken

FIXED_PER_PERSON = ("tasapaino",)   # tables of values fixed per person (baseline characteristics and scores)


def _protect_stat_phases(cells: pd.DataFrame, codes: pd.Series, phases: list[str], min_n_stat: int,
                         fixed_tables=FIXED_PER_PERSON, min_count: int = 5,
                         locked: pd.Series | None = None) -> pd.DataFrame:
    """Statistics published in two phases whose group grew by a few persons.

    * A statistic of a value fixed per person (age, a baseline score) on a group that grew by 1 … ``min_n_stat``−1
      persons would let a reader difference out the newcomers' statistic exactly.
    * Any statistic prints its ``n``: a group that grew by 1 … ``min_count``−1 persons gives a reader that small
      count of newcomers (e.g. three clients who reached their end measurement between the two reports).

    On a pilot page the later phase's value is hidden (the earlier report was published first); on the
    all-pilots page the earlier one (the final report's figures are the headlines)."""
    codes = codes.copy()
    rank = {p: i for i, p in enumerate(phases)}
    if cells.empty:
        return codes
    fixed = cells["table"].map(lambda t: any(x in t.split(".") for x in fixed_tables)).astype(bool)
    for _, g in cells.groupby(["strand", "pilot", "table", "row", "col"], sort=True):
        if len(g) < 2:
            continue
        limit = min_n_stat if bool(fixed[g.index[0]]) else min_count
        # pilot pages: the later phase gives way (the earlier report was published first); the all-pilots page's
        # final figures are the report's headlines: there the earlier phase gives way
        headline = str(g["pilot"].iat[0]) == ALL
        g = g.assign(_r=g["phase"].map(rank)).sort_values("_r", ascending=not headline)
        prev = None
        for i in g.index:
            n = g.at[i, "value"]
            if prev is not None and not pd.isna(n) and not pd.isna(g.at[prev, "value"]) and not codes[prev]:
                grew = abs(int(n) - int(g.at[prev, "value"]))
                if 0 < grew < limit and not codes[i]:
                    if locked is None or not bool(locked[i]):
                        codes[i] = "phase"
                    elif not bool(locked[prev]):
                        codes[prev] = "phase"    # a published report's value stays: the other one gives way
            if not codes[i]:
                prev = i
    return codes


# ---------------------------------------------------------------------------------------------------------------
PRIMARY = frozenset({"count", "margin", "zero", "stat", "mark"})
MAX_LINK_ROUNDS = 6


def _one_decision_per_link(led: pd.DataFrame, codes: pd.Series, locked: pd.Series) -> pd.Series:
    """Cells that show one entry (the same ``link``: e.g. one pilot's provider-type euros on its cost page, its
    service-process page and in the all-pilots page's row of that pilot) share one decision: hidden everywhere when
    any of them is hidden, with that cell's reason (a primary reason first). Without it the phase rule hid a pilot's
    euros on the pilot's pages (one newcomer since the previous report) while the all-pilots page printed the same
    euros in its row of that pilot. A cell of a published report (``locked``) keeps its decision."""
    linked = led["link"].ne("")
    if not linked.any():
        return codes
    codes = codes.copy()
    for _, g in led[linked].groupby("link", sort=True):
        if len(g) < 2:
            continue
        hidden = [i for i in g.index if codes[i]]
        if not hidden:
            continue
        code = sorted((codes[i] not in PRIMARY, i) for i in hidden)[0][1]
        for i in g.index:
            if not codes[i] and not bool(locked[i]):
                codes[i] = codes[code]
    return codes


def _pilot_scope(cells: pd.DataFrame, pilot_by_name: dict[str, str]) -> tuple[pd.Series, pd.Series]:
    """Which cells are a pilot's row of an all-pilots table (that pilot's persons), and the pilot whose persons each
    cell counts (its page's pilot, or the row's pilot)."""
    pilot_row = cells["pilot"].eq(ALL) & cells["row"].isin(list(pilot_by_name)) & cells["margin"].isin(["", "col"])
    return pilot_row, cells["pilot"].where(~pilot_row, cells["row"].map(pilot_by_name))


def _same_count_elsewhere(led: pd.DataFrame, codes: pd.Series, locked: pd.Series,
                          pilot_by_name: dict[str, str] | None = None) -> pd.Series:
    """A count printed on its own — in a sentence or as the ``n`` beside a statistic (a cell without a column label,
    ``Report.count``) — that equals a count this page hides for another reason than its own primary rule is hidden
    too (``secondary``); and so is one on any strand's page of the same report and pilot that equals a *group's
    size* hidden so (a table's total, or a pilot's row of an all-pilots table: that pilot's total).

    Such a number is outside every table model (no margin or pilot sum ties it to the table that hides the same
    persons), yet a reader who sees "n = 10" beside a change score puts it into the coverage table's hidden
    "alku- ja loppumittaus" cell of the same group. The two cells are not linked by name, so the value decides —
    conservatively: an unrelated count that happens to be equal is hidden as well. A group's size is printed by
    every strand (the wellbeing recruitment table, the costs page's "Analyysissä on mukana 10 HB-asiakasta ja 5
    verrokkiasiakasta", the n of every results row): the recruitment table hid Vantaa's arms as complements of a
    single control elsewhere while the cost page printed them (unseen set seed 197) — one group, one decision.
    Hiding more never discloses more, so this runs last. Cells of published reports (``locked``) keep their
    decision."""
    counts = led["kind"].eq("count")
    page = led["strand"] + "|" + led["phase"] + "|" + led["pilot"]
    value = led["value"].astype("Int64").astype(str)
    hidden = counts & codes.ne("") & ~codes.isin(PRIMARY)
    taken = set(zip(page[hidden], value[hidden]))
    # a count the page hides on its own (a sentence's "HB-asiakkaita (lukumäärää ei näytetä)") printed as a table's
    # total on the same page: a multiple-choice table's "Yhteensä | 10" gave the hidden respondents (seed 271)
    alone = hidden & led["col"].eq("")
    taken_alone = set(zip(page[alone], value[alone]))
    pilot_row, scope = _pilot_scope(led, pilot_by_name or {})
    size = hidden & (led["margin"].ne("") | pilot_row)
    sizes = set(zip(led["phase"][size], scope[size], value[size]))
    if not taken and not sizes:
        return codes
    # the same label and value in another table of the report and pilot: the same persons (a client group's HB
    # clients in the recruitment table and in the service-process table, unseen set seed 229)
    label = led["row"].astype(str).str.strip().str.lower()
    same_row = set(zip(led["phase"][hidden], scope[hidden], label[hidden], value[hidden], led["table"][hidden]))
    by_row = defaultdict(set)
    for ph, sc, lb, v, t in same_row:
        by_row[(ph, sc, lb, v)].add(t)
    shown = counts & codes.eq("") & ~locked.astype(bool)
    # a hidden group size of an arm printed inside another table under the arm's name ("Verrokki | 108" in a
    # coverage table, "Verrokkiasiakkaat | 108 | 0 | …" by provider types) while the recruitment table hid its total
    # of 108 control clients to protect one pilot's single control: 108 less the printed pilots gave it (unseen
    # set seed 271)
    # (a count printed on its own is a group's size too: the cost page hid "HB-asiakkaita (lukumäärää ei näytetä)"
    # while the coverage table printed the same 36 under "HB", seed 271)
    arm = pd.Series([_arm(r) or _arm(c) for r, c in zip(led["row"], led["col"])], index=led.index)
    arm_size = (size | (hidden & (led["col"].eq("") | led["row"].eq("n")))) & arm.ne("")
    arm_sizes = set(zip(led["phase"][arm_size], scope[arm_size], arm[arm_size], value[arm_size]))
    # a group's size printed on its own: a sentence or the n of a statistic (no column label), or the parts and
    # total of Disclosure.parts_and_total (row "n": "Analyysissä on mukana 29 HB-asiakasta ja 28 …")
    single = shown & (led["col"].eq("") | led["row"].eq("n"))
    codes = codes.copy()
    for i in led.index[shown]:
        sc = scope[i]
        if bool(single[i]) and ((page[i], value[i]) in taken or (led["phase"][i], sc, value[i]) in sizes):
            codes[i] = "linked"
        elif led["margin"][i] != "" and (page[i], value[i]) in taken_alone \
                and (_PERSONS.match(str(led["row"][i]).lower()) or _PERSONS.match(str(led["col"][i]).lower())):
            codes[i] = "linked"
        elif arm[i] and (led["phase"][i], sc, arm[i], value[i]) in arm_sizes:
            codes[i] = "linked"
        elif by_row.get((led["phase"][i], sc, label[i], value[i]), set()) - {led["table"][i]} \
                and value[i] not in ("<NA>", "0") and label[i] not in ("", "n"):
            codes[i] = "linked"
    return codes


# a column or row of persons (a table's total of respondents, clients): what a count printed on its own counts too
_PERSONS = re.compile(r"^(vastaaj|vastauks|asiakka|asiakkaat|henkilö|n$|n \()")


def _arm(label: str) -> str:
    """The arm a row or column label names (``hb``, ``verrokki``; ``""``: none): "Verrokkiasiakkaat", "HB"."""
    text = str(label).lower()
    if "verrokki" in text:
        return "verrokki"
    return "hb" if re.search(r"(^|[^a-zåäö0-9])hb($|[^a-zåäö0-9]|-asiak)", text) else ""


SUM_ROW = "\u03a3"    # the label of a row or column sum a reader has from elsewhere (never a printed label)


def _group_sizes(counts: pd.DataFrame, codes: pd.Series, pilot_by_name: dict[str, str]) -> dict:
    """``(strand, phase, pilot)`` → {value: tables}: the counts a reader of that strand's page sees as the size of a
    group of persons — a count printed on its own (a sentence, the ``n`` beside a statistic), a table's total, a pilot's row of
    an all-pilots table (that pilot's total). Counts under the primary threshold are left out (they are never
    printed). Whether the count ends up printed is not known yet: taken as printed (hiding more is safe)."""
    out: dict = defaultdict(lambda: defaultdict(set))
    ok = codes[counts.index].eq("")
    on_own = counts["col"].eq("") | counts["margin"].ne("")
    pilot_row, scope = _pilot_scope(counts, pilot_by_name)
    for c, sc in zip(counts[ok & (on_own | pilot_row)].itertuples(index=False), scope[ok & (on_own | pilot_row)]):
        if pd.isna(c.value):
            continue
        out[(c.strand, c.phase, sc)][int(c.value)].add(c.table)
    return out


def _printed_sums(fam: pd.DataFrame, known: dict, pilot_by_name: dict[str, str], min_count: int) -> pd.DataFrame:
    """Row and column sums of a page's table that the table does not print but a reader has from elsewhere.

    A table without a total still adds up to a group's size, and that size is often printed on another table or
    page of the same report: a table of HB clients by the number of provider types they used, with one hidden
    ``<5`` in the HB row, gives it back as "55 HB clients" (printed in the costs strand) minus the shown cells (unseen
    set seed 197); a measurement-coverage column "Alkumittaus" adds up over the arms to the pilot's client count
    printed above it. Whenever a row's or column's sum equals such a count of the same report and pilot (from
    another table), the sum is added to the table's model as a published total (a constant: a reader may take it
    so, and then takes the true value). Conservative by design: an equal count of other persons counts too."""
    rows = []
    interior = fam[fam["margin"].eq("") & fam["value"].notna()]
    for (phase, pilot), page in interior.groupby(["phase", "pilot"], sort=True):
        sizes = known.get((fam["strand"].iat[0], phase, pilot))
        if not sizes:
            continue
        declared = fam[(fam["phase"] == phase) & (fam["pilot"] == pilot)]
        row_total = set(declared.loc[declared["margin"].isin(["col", "both"]), "row"])
        has_col_totals = declared["margin"].isin(["row", "both"]).any()
        own_rows = page if pilot != ALL else page[~page["row"].isin(list(pilot_by_name))]
        first = page.iloc[0]
        for axis, by, fixed_margin in (("row", "row", "col"), ("col", "col", "row")):
            if axis == "col" and has_col_totals:
                continue
            for label, g in own_rows.groupby(by, sort=True):
                if len(g) < 2 or (axis == "row" and label in row_total):
                    continue
                v = g["value"].astype("int64")
                if not ((v > 0) & (v < min_count)).any():
                    continue     # no small count to give away: the sum adds nothing a reader could use here
                total = int(v.sum())
                if total < min_count or not (sizes.get(total, set()) - {first.table}):
                    continue
                rows.append({**first.to_dict(), "row": label if axis == "row" else SUM_ROW,
                             "col": SUM_ROW if axis == "row" else label, "value": total, "margin": fixed_margin,
                             "link": ""})
    return pd.DataFrame(rows, columns=fam.columns)


def _family_task(task):
    """One count table's protection (a worker's unit): its new codes and whether a linked model fitted it."""
    return _protect_counts(*task)


def protect(ledger: pd.DataFrame, phases: list[str], pilots: list[str], pilot_by_name: dict[str, str],
            min_count: int = 5, min_n_stat: int = 10, zeros_disclosive: bool = False,
            jobs: int = 1, fixed: pd.DataFrame | None = None) -> pd.DataFrame:
    """Protect the whole release.

    Parameters
    ----------
    ledger : DataFrame
        The collected cells (:data:`hbeval_lib.page.cells.COLUMNS`).
    phases : list of str
        Phase keys in publication order (cumulative data).
    pilots : list of str
        Pilot keys (the all-pilots page is ``"kaikki"``).
    pilot_by_name : dict
        Pilot display name → key (rows of all-pilots tables are named by pilot).

    fixed : DataFrame, optional
        Entries of reports already published (``strand, phase, pilot, table, row, col, suppressed, code``): known to
        every reader as printed. Their decisions are constants — a published number is never hidden later, a hidden
        one never shown — and the rest of the release is protected around them.

    Returns
    -------
    DataFrame
        The ledger with ``suppressed`` (bool), ``code`` (rule) and ``reason`` (Finnish text).
    """
    led = ledger.reset_index(drop=True).copy()
    if "link" not in led.columns:
        led["link"] = ""
    led["link"] = led["link"].fillna("").astype(str)
    for c in ("strand", "phase", "pilot", "table", "row", "col", "kind", "margin"):
        led[c] = led[c].astype(str)
    # one canonical order, so that the decisions do not depend on the order the cells were collected in
    rank = {p: i for i, p in enumerate(phases)}
    led["_ph"] = led["phase"].map(rank).fillna(len(rank)).astype(int)
    order = led.sort_values(["strand", "table", "_ph", "pilot", "row", "col", "margin", "kind"], kind="stable").index
    original = led.index
    led = led.loc[order].drop(columns="_ph")
    codes = primary_codes(led, min_count, min_n_stat, zeros_disclosive)
    # a statistic its page marked as giving back a count it hides (Disclosure.stat_ok(reveals=True)): hidden from the
    # start, so that its complements are protected like those of any hidden statistic
    if "primary" in led.columns:
        reveals = led["primary"].fillna("").astype(str).eq("reveals") & codes.eq("")
        codes[reveals] = "secondary"
    locked = pd.Series(False, index=led.index)
    if fixed is not None and len(fixed):
        keyof = {tuple(str(x) for x in t[:6]): str(t[7] or "") if bool(t[6]) else ""
                 for t in fixed[["strand", "phase", "pilot", "table", "row", "col", "suppressed", "code"]]
                 .itertuples(index=False, name=None)}
        keys = list(zip(*(led[c].astype(str) for c in ("strand", "phase", "pilot", "table", "row", "col"))))
        for i, k in zip(led.index, keys):
            if k in keyof:
                codes[i] = keyof[k]
                locked[i] = True
    unmodelled: list[str] = []
    counts = led[led["kind"] == "count"]
    known = _group_sizes(counts, codes, pilot_by_name)
    families = list(counts.groupby(["strand", "table"], sort=True))
    stats = led[led["kind"] == "stat"]
    todo = list(range(len(families)))
    # the same persons printed in another table or strand (a group's size, a row of the same label and value) are
    # hidden with a hidden count and then protected like it ("linked": no table may give them back either), which
    # can hide more: the rounds go on until nothing changes (hiding only grows)
    for _round in range(MAX_LINK_ROUNDS):
        tasks = []
        for k in todo:
            fam = families[k][1]
            sums = _printed_sums(fam, known, pilot_by_name, min_count)
            cells = pd.concat([fam, sums], ignore_index=True) if len(sums) else fam
            tasks.append((cells, pd.concat([codes[fam.index], pd.Series([""] * len(sums), dtype=object)],
                                           ignore_index=True),
                          phases, pilots, pilot_by_name, min_count,
                          np.concatenate([locked[fam.index].to_numpy(dtype=bool), np.ones(len(sums), dtype=bool)]),
                          _round > 0))
        # the tables are independent problems: solved in parallel when asked (same result in any order)
        if jobs > 1 and len(tasks) > 1:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor

            # the largest problems first, so that the workers finish together
            order = sorted(range(len(tasks)), key=lambda k: -len(tasks[k][0]))
            with ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn")) as ex:
                done = dict(zip(order, ex.map(_family_task, [tasks[k] for k in order])))
            results = [done[k] for k in range(len(tasks))]
        else:
            results = [_family_task(t) for t in tasks]
        for k, (new, modelled) in zip(todo, results):
            fam = families[k][1]
            codes[fam.index] = new.to_numpy()[:len(fam)]     # the printed sums elsewhere are not cells of the release
            if not modelled and _round == 0:
                unmodelled.append(str(fam["table"].iat[0]))
        # one entry shown in several places (a link) gets one decision; hiding it in one more place can open a phase
        # difference or a complement elsewhere, so the statistics' rules run again until nothing changes (hiding
        # only grows, so this ends)
        for _ in range(20):
            before = codes.copy()
            codes[stats.index] = _protect_stat_phases(stats, codes[stats.index], phases, min_n_stat,
                                                      min_count=min_count, locked=locked[stats.index])
            codes[stats.index] = _protect_stats(stats, codes[stats.index], pilots, min_n_stat,
                                                locked=locked[stats.index])
            codes = _one_decision_per_link(led, codes, locked)
            if codes.equals(before):
                break
        before = codes.copy()
        codes = _same_count_elsewhere(led, codes, locked, pilot_by_name)
        changed = set(codes.index[codes.ne(before)])
        if not changed:
            break
        todo = [k for k, (_, fam) in enumerate(families) if changed & set(fam.index)]
    codes = codes.replace({"linked": "secondary"})
    led["code"] = codes.astype(str)
    led["suppressed"] = led["code"].ne("")
    led["frozen"] = locked.astype(bool)
    led["reason"] = [reason_text(c, min_count, min_n_stat) if c else "" for c in led["code"]]
    out = led.loc[original]
    out.attrs["unmodelled"] = sorted(set(unmodelled))
    return out
