"""Release history: reports published a year apart, each frozen when it is out.

The three reports are not published on one day: the baseline report comes out in spring 2018, the interim report
in autumn 2018, the final report in spring 2019. A published report cannot be recalled, so:

* **State.** Each phase in ``hbeval.yml`` is ``planned`` (default), ``preparing`` or ``published`` on a date
  (``published_on``). ``hbeval publish PHASE`` freezes a built phase: it writes its *release record* into
  ``releases/<phase>/`` (committed with the project) and marks the phase published in the configuration.
* **The record holds what was published, nothing more:** the executed pages exactly as printed (notebooks, results
  and suppression lists), the published entries (``entries.csv``: every cell with the value *as printed* — empty
  for a hidden cell, whose true value never leaves the processed data — its decision and the reason's code), the
  PDF of record when one was built, and ``record.json`` with a SHA-256 digest of every file.
* **Later builds respect earlier ones.** A published phase is never executed again: its pages are restored from the
  record, byte for byte. The protection of the later reports takes every published entry as a constant that every
  reader knows (:func:`hbeval_lib.release.protect.protect`, ``fixed``): a printed number is never hidden later, a
  hidden one never shown, and the later report gives way where differencing would disclose. When today's data would
  change a published number (a late form, a corrected record dated before the cut-off), the record stays as it was
  and :func:`corrections` lists the change for the later report's corrections section.
* **Only what is due.** A phase is built when it is published, when it is the first phase not yet published (the
  report in preparation), when it is marked ``preparing``, or when the data have got at least halfway from the
  previous cut-off to its own (:func:`reached`). In spring 2018, with the data of that spring, the interim and
  final reports are not built.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import shutil
from pathlib import Path

import pandas as pd

from hbeval_lib.config import REPO_ROOT, Config

RELEASES_DIR = REPO_ROOT / "releases"
GENERATED = "_generated"     # hbeval_lib.book.pages.GENERATED
RECORD = "record.json"
ENTRIES = "entries.csv"
CORRECTIONS = "release_corrections.csv"   # in the processed folder: published numbers today's data change
ENTRY_COLUMNS = ["strand", "phase", "pilot", "table", "row", "col", "kind", "margin", "value", "suppressed", "code"]
PAGE_SUFFIXES = (".ipynb", ".results.csv", ".suppressions.csv")


class HistoryError(RuntimeError):
    """A release record is missing, altered, or a phase cannot be published."""


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def release_dir(phase: str, releases_dir: Path | None = None) -> Path:
    return Path(releases_dir or RELEASES_DIR) / phase


# -- which phases are built --------------------------------------------------------------------------------------
def data_last_date(processed_dir: Path) -> dt.date | None:
    """The latest date any record of the tidy tables carries (their phase date or period), or None."""
    from hbeval_lib.core.schema import PHASE_DATE, PHASE_PERIOD
    from hbeval_lib.core.tables import period_end

    last = None
    for name, col in list(PHASE_DATE.items()) + list(PHASE_PERIOD.items()):
        path = Path(processed_dir) / f"{name}.parquet"
        if not path.exists():
            continue
        df = pd.read_parquet(path, columns=None)
        if col not in df.columns or df.empty:
            continue
        d = period_end(df[col]) if name in PHASE_PERIOD and name not in PHASE_DATE else pd.to_datetime(df[col],
                                                                                                     errors="coerce")
        d = d.max()
        if pd.notna(d) and (last is None or d.date() > last):
            last = d.date()
    return last


def due_phases(cfg: Config, processed_dir: Path, include=()) -> list[str]:
    """The phases a build makes, in order: the published ones, the first one not yet published (the report in
    preparation), those marked ``preparing``, those whose cut-off the data have reached, and ``include`` (phases a
    user asked for by name)."""
    last = data_last_date(processed_dir)
    out, first_open, previous = [], True, None
    for ph in cfg.phases:
        due = (ph.is_published or ph.state == "preparing" or first_open or ph.key in set(include or ())
               or (last is not None and last >= reached(previous, ph.cutoff)))
        if not ph.is_published:
            first_open = False
        if due:
            out.append(ph.key)
        previous = ph.cutoff
    return out


def reached(previous: dt.date | None, cutoff: dt.date) -> dt.date:
    """The date the data must reach for a report to be due: halfway from the previous report's cut-off to this one's
    (records come in late and unevenly; data that have not got halfway are clearly of the earlier report's time).

    >>> reached(dt.date(2017, 12, 31), dt.date(2018, 9, 30)).isoformat()
    '2018-05-16'
    """
    if previous is None:
        return cutoff
    return previous + (cutoff - previous) / 2


def due_config(cfg: Config, processed_dir: Path, include=()) -> Config:
    """``cfg`` with only the phases due (see :func:`due_phases`): what the build, the pages and the PDFs see."""
    keep = set(due_phases(cfg, processed_dir, include))
    return dataclasses.replace(cfg, phases=[p for p in cfg.phases if p.key in keep])


def as_of(processed_dir: Path, dest: Path, date: dt.date) -> Path:
    """The tidy tables as the data stood on ``date``: every record dated after it left out (a researcher's "what did
    we have in spring 2018"; the release-history test builds each report from its own date's data this way)."""
    from hbeval_lib.core.schema import PHASE_DATE, PHASE_PERIOD
    from hbeval_lib.core.tables import period_end

    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    limit = pd.Timestamp(date)
    for f in sorted(Path(processed_dir).iterdir()):
        if f.is_dir():
            continue
        name = f.name.removesuffix(".parquet")
        if f.suffix == ".parquet" and not name.startswith("release_") and (name in PHASE_DATE or name in PHASE_PERIOD):
            df = pd.read_parquet(f)
            if name in PHASE_DATE and PHASE_DATE[name] in df.columns:
                d = pd.to_datetime(df[PHASE_DATE[name]], errors="coerce")
                df = df[d.notna() & (d <= limit)]
            elif name in PHASE_PERIOD and PHASE_PERIOD[name] in df.columns:
                df = df[period_end(df[PHASE_PERIOD[name]]) <= limit]
            df.reset_index(drop=True).to_parquet(dest / f.name, index=False)
        elif not name.startswith("release_"):
            shutil.copyfile(f, dest / f.name)
    return dest


# -- later builds ----------------------------------------------------------------------------------------------
def verify(phase: str, releases_dir: Path | None = None) -> dict:
    """The release record of a published phase, its files checked against their digests."""
    dest = release_dir(phase, releases_dir)
    path = dest / RECORD
    if not path.exists():
        raise HistoryError(f"vaihe '{phase}' on merkitty julkaistuksi, mutta sen julkaisutietoja ei löydy "
                           f"({path}): palauta kansio releases/{phase}/ versionhallinnasta tai julkaise vaihe "
                           "komennolla `hbeval publish`. (the release record of a published phase is missing)")
    record = json.loads(path.read_text(encoding="utf-8"))
    for rel, digest in record["files"].items():
        f = dest / rel
        if not f.exists() or _sha(f) != digest:
            raise HistoryError(f"julkaistun raportin '{phase}' tiedosto {rel} puuttuu tai on muuttunut: "
                               "julkaistua raporttia ei muuteta. Palauta se versionhallinnasta. (a file of a "
                               "published report is missing or altered)")
    return record


def frozen_entries(cfg: Config, releases_dir: Path | None = None) -> pd.DataFrame:
    """Every published entry of every published phase (checked against its record)."""
    frames = []
    for ph in cfg.phases:
        if ph.is_published:
            verify(ph.key, releases_dir)
            df = pd.read_csv(release_dir(ph.key, releases_dir) / ENTRIES, dtype=str, keep_default_na=False)
            frames.append(df)
    if not frames:
        return pd.DataFrame(columns=ENTRY_COLUMNS)
    out = pd.concat(frames, ignore_index=True)
    out["suppressed"] = out["suppressed"].str.lower().eq("true")
    out["value"] = pd.to_numeric(out["value"], errors="coerce").astype("Int64")
    return out


def frozen_cells(cells: pd.DataFrame, fixed: pd.DataFrame) -> pd.DataFrame:
    """The collected cells with each published phase's cells replaced by what that report published: its entries,
    valued from today's data where they can be (a hidden entry's true value is recomputed, never stored), else by
    the printed value. Cells today's data would add to a published page are not published: they are left out."""
    from hbeval_lib.page import cells as L

    if fixed is None or not len(fixed):
        return cells
    key = ["strand", "phase", "pilot", "table", "row", "col"]
    phases = set(fixed["phase"])
    keep = cells[~cells["phase"].isin(phases)]
    now = cells[cells["phase"].isin(phases)][key + ["value"]].drop_duplicates(key)
    f = fixed.copy()
    f["margin"] = f["margin"].fillna("").astype(str) if "margin" in f.columns else ""
    m = f.merge(now.rename(columns={"value": "now"}), on=key, how="left")
    m["value"] = m["now"].astype("Int64").fillna(m["value"].astype("Int64"))
    m = m[m["value"].notna() | m["kind"].eq("stat")]
    m = m.assign(primary="").reindex(columns=L.COLUMNS)
    m["link"] = m["link"].astype(object).fillna("").astype(str)
    out = pd.concat([keep, m], ignore_index=True)
    out["value"] = pd.to_numeric(out["value"]).astype("Int64")
    return out


def _copy_back(src: Path, dest: Path) -> list[Path]:
    """Copy every file under ``src`` to the same place under ``dest`` (files already identical are left alone)."""
    out = []
    for f in sorted(src.rglob("*")) if src.exists() else []:
        if f.is_file():
            target = dest / f.relative_to(src)
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists() or target.read_bytes() != f.read_bytes():
                shutil.copyfile(f, target)
            out.append(target)
    return out


def restore_generated(phase: str, book_dir: Path, releases_dir: Path | None = None) -> list[Path]:
    """Put a published phase's generated pages (front matter, summary, appendices) back as they were published
    (after the build has written the current ones)."""
    return _copy_back(release_dir(phase, releases_dir) / "generated", Path(book_dir) / GENERATED)


def restore(phase: str, book_dir: Path, releases_dir: Path | None = None) -> list[Path]:
    """Put a published phase's pages back into the book exactly as they were published."""
    return _copy_back(release_dir(phase, releases_dir) / "pages", Path(book_dir) / phase)


def corrections(ledger: pd.DataFrame, frozen: pd.DataFrame) -> pd.DataFrame:
    """Published numbers that today's data would print differently (late forms, corrected records dated before an
    earlier cut-off): ``phase, strand, pilot, table, row, col, published, now``. The published report stays as it
    was; the later report lists the change."""
    cols = ["phase", "strand", "pilot", "table", "row", "col", "kind", "published", "now"]
    if frozen.empty or ledger.empty:
        return pd.DataFrame(columns=cols)
    shown = frozen[~frozen["suppressed"] & frozen["value"].notna()]
    key = ["strand", "phase", "pilot", "table", "row", "col"]
    m = shown.merge(ledger[key + ["value"]].rename(columns={"value": "now"}), on=key, how="inner")
    m = m[m["now"].notna() & (m["now"].astype("Int64") != m["value"].astype("Int64"))]
    return m.rename(columns={"value": "published"})[cols].reset_index(drop=True)
