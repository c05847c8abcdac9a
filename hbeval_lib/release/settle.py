"""Settling the release: what the pages published is what was protected.

The release stage collects the cells of every page (:mod:`.stage`) and protects them (:mod:`.protect`); the pages are
then executed once to render them from the protected ledger. A page may publish other cells than were collected —
its code can branch on a protection decision (``if rep.dc.stat_ok(...)``: a statistic hidden by a complementary rule
takes the other branch, which cites other numbers) — so collection and rendering cannot be trusted to agree by hope.
Here they are made to agree by construction:

* every rendered page leaves a *record* (``<pilot>.cells.csv``, written by :meth:`Disclosure.write
  <hbeval_lib.page.disclosure.Disclosure.write>`): each cell it published, its value and the decision it was shown with
  (a cell the ledger did not know was decided by its primary rule);
* :func:`check` compares every record with the ledger: the same cells, the same values, the same decisions;
* a page that printed fewer cells than the ledger holds for it, and nothing else different, needs nothing solved
  or rendered again: the cells it did not print are dropped from the ledger (:func:`trim_unprinted`; the ledger was
  protected as if they were published, and publishing less discloses less);
* when a page disagrees otherwise, the ledger is protected again with what the pages really published (:func:`merged_cells`)
  — and every cell hidden before stays hidden (:func:`reprotect`), so the hidden set only grows and the loop ends —
  and the pages whose decisions changed are rendered again, until every page agrees with the ledger.

A page that never settles (e.g. code whose published cells change from run to run) stops the build with a message
naming the page, the cell and what differed; nothing unprotected is ever published.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from hbeval_lib.page import cells as L
from hbeval_lib.release.protect import reason_text

KEY = ["strand", "phase", "pilot", "table", "row", "col"]
MAX_ROUNDS = 6


def page_name(phase: str, strand: str, pilot: str) -> str:
    return f"{phase}/{strand}/{pilot}"


def read_record(path: str | Path) -> pd.DataFrame:
    """A page's release record (see :data:`hbeval_lib.page.disclosure.RECORD_COLUMNS`)."""
    df = pd.read_csv(path, dtype={c: str for c in KEY + ["kind", "margin", "code", "link"]}, keep_default_na=False,
                     na_values={"value": [""]})
    if "link" not in df.columns:   # a record written before links
        df["link"] = ""
    df["value"] = pd.to_numeric(df["value"], errors="coerce").astype("Int64")
    df["suppressed"] = df["suppressed"].astype(str).str.lower().eq("true")
    for c in ("margin", "code", "link"):
        df[c] = df[c].fillna("").astype(str)
    return df


def _as_map(df: pd.DataFrame) -> dict:
    out = {}
    for t in df[KEY + ["value", "suppressed", "code"]].itertuples(index=False, name=None):
        v = None if pd.isna(t[6]) else int(t[6])
        out[tuple(str(x) for x in t[:6])] = (v, bool(t[7]), str(t[8] or ""))
    return out


def check(ledger: pd.DataFrame, records: dict[str, pd.DataFrame]) -> dict[str, str]:
    """Pages whose record disagrees with ``ledger`` → a short English/Finnish description of the first difference.

    A page agrees when it published exactly the ledger's cells of that page, with the ledger's values and decisions.
    """
    bad: dict[str, str] = {}
    by_page = {page_name(ph, s, pi): g for (ph, s, pi), g in ledger.groupby(["phase", "strand", "pilot"], sort=False)}
    for page, rec in records.items():
        want = _as_map(by_page[page]) if page in by_page else {}
        got = _as_map(rec)
        if got == want:
            continue
        extra = [k for k in got if k not in want]
        missing = [k for k in want if k not in got]
        changed = [k for k in got if k in want and got[k] != want[k]]
        if extra:
            k = extra[0]
            bad[page] = f"solu '{k[3]}' / '{k[4]}' / '{k[5]}' puuttuu julkaisuluettelosta (cell not in the release)"
        elif changed:
            k = changed[0]
            bad[page] = (f"solu '{k[3]}' / '{k[4]}' / '{k[5]}': sivulla {got[k]}, luettelossa {want[k]} "
                         "(value or decision differs)")
        else:
            k = missing[0]
            bad[page] = f"solu '{k[3]}' / '{k[4]}' / '{k[5]}' ei ole sivulla (the page did not publish it)"
    return bad


def trim_unprinted(ledger: pd.DataFrame, records: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The ledger without the cells a page did not print, for every page whose only difference from the ledger is
    that: each cell it printed is the ledger's, with the ledger's value and decision, and some ledger cells are not on
    it (e.g. ``all(dc.stat_ok(...) for …)`` stops at the first hidden statistic and never asks about the others).

    No protection has to be solved again and no page rendered again: the ledger was protected as if those cells were
    published, and publishing less never lets a reader solve more (fewer equations, looser bounds). The trimmed
    ledger then says exactly what the pages print. Pages with other differences are left to :func:`reprotect`."""
    by_page = {page_name(ph, s, pi): g for (ph, s, pi), g in ledger.groupby(["phase", "strand", "pilot"], sort=False)}
    drop: set = set()
    for page, rec in records.items():
        if page not in by_page:
            continue
        want = _as_map(by_page[page])
        got = _as_map(rec)
        if got == want or any(k not in want or want[k] != v for k, v in got.items()):
            continue
        drop |= {k for k in want if k not in got}
    if not drop:
        return ledger
    keys = pd.Series(list(zip(*(ledger[c].astype(str) for c in KEY))), index=ledger.index)
    out = ledger.loc[~keys.isin(drop)].copy()
    out.attrs.update(ledger.attrs)
    return out


def merged_cells(ledger: pd.DataFrame, records: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The ledger's cells, each recorded page's cells replaced by what that page published."""
    pages = ledger["phase"].astype(str) + "/" + ledger["strand"].astype(str) + "/" + ledger["pilot"].astype(str)
    keep = ledger.reindex(columns=L.COLUMNS).loc[~pages.isin(list(records))]
    recs = [r.assign(primary="").reindex(columns=L.COLUMNS) for r in records.values() if len(r)]
    out = pd.concat([keep] + recs, ignore_index=True) if recs else keep.reset_index(drop=True)
    out["value"] = pd.to_numeric(out["value"]).astype("Int64")
    for c in ("margin", "primary", "link"):
        out[c] = out[c].astype(object).fillna("").astype(str)
    return out


def hidden_by_pages(ledger: pd.DataFrame, records: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Cells a page hid although the ledger shows them (the page's own secondary rule,
    :meth:`~hbeval_lib.page.disclosure.Disclosure.hide_too`), as constants for the next protection (``strand, phase,
    pilot, table, row, col, suppressed, code``): hidden there and in every place linked to them."""
    cols = KEY + ["suppressed", "code"]
    shown = ledger.loc[~ledger["suppressed"].astype(bool)]
    shown_keys = set(zip(*(shown[c].astype(str) for c in KEY)))
    rows = []
    for rec in records.values():
        if not len(rec):
            continue
        hid = rec.loc[rec["suppressed"].astype(bool)]
        for t in hid[cols].itertuples(index=False, name=None):
            if tuple(str(x) for x in t[:6]) in shown_keys:
                rows.append(dict(zip(cols, t)))
    return pd.DataFrame(rows, columns=cols)


def reprotect(cells: pd.DataFrame, previous: pd.DataFrame, protect_fn, min_count: int = 5,
              min_n_stat: int = 10) -> pd.DataFrame:
    """Protect ``cells`` with ``protect_fn`` and keep hidden every cell that ``previous`` hid (same key and value).

    Hiding more of a protected release never lets a reader solve more (fewer published equations, looser bounds),
    so the union is protected; and since the hidden set only grows, settling ends.
    """
    new = protect_fn(cells)
    prev = previous.loc[previous["suppressed"].astype(bool)]
    hidden = {tuple(str(x) for x in t[:6]): (None if pd.isna(t[6]) else int(t[6]), str(t[7]))
              for t in prev[KEY + ["value", "code"]].itertuples(index=False, name=None)}
    if not hidden:
        return new
    keys = list(zip(*(new[c].astype(str) for c in KEY)))
    attrs = dict(new.attrs)
    new = new.copy()
    for i, key in enumerate(keys):
        if key not in hidden or bool(new["suppressed"].iat[i]):
            continue
        old_value, old_code = hidden[key]
        v = new["value"].iat[i]
        v = None if pd.isna(v) else int(v)
        code = old_code if old_value == v and old_code not in ("count", "margin", "stat", "zero") else "secondary"
        new.iloc[i, new.columns.get_loc("suppressed")] = True
        new.iloc[i, new.columns.get_loc("code")] = code
        new.iloc[i, new.columns.get_loc("reason")] = reason_text(code, min_count, min_n_stat)
    new.attrs.update(attrs)
    return new


def describe(bad: dict[str, str], limit: int = 8) -> str:
    lines = [f"  {page}: {why}" for page, why in list(bad.items())[:limit]]
    if len(bad) > limit:
        lines.append(f"  … ja {len(bad) - limit} muuta sivua")
    return "\n".join(lines)
