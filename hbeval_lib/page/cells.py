"""A page's cells: how a page records what it publishes into the release ledger and reads the decisions back.

The release ledger holds every cell the report publishes, for every phase × pilot × strand, in one table; this module
is the page's side of it (the release stage's side is :mod:`hbeval_lib.release`).

A cell is named by its page (strand, phase, pilot), its table (the logged table name, prefixed by the strand) and its
row and column labels. It carries its true value (a count of persons, or for a statistic the number of persons ``n``
it rests on), whether it is a table margin, and the primary rule it breaks (if any). The ledger is written in the
*collect* pass of the release stage (:mod:`hbeval_lib.release.stage`), protected once as a whole
(:mod:`hbeval_lib.release.protect`) and read back in the *render* pass: the notebooks then show a cell only when
the protected ledger says so, and a cell the ledger does not know is an error, never an unprotected number.

Modes (module state, one per process):

* standalone (default, tests and interactive use): :class:`~hbeval_lib.page.disclosure.Disclosure` protects each table
  on its own, as before;
* ``collect``: set by the release stage while it runs the notebooks' code in-process — cells are recorded;
* ``render``: set when the environment variable ``HBEVAL_RELEASE`` names a protected ledger file (the build,
  :mod:`hbeval_lib.book.run`, sets it for every notebook execution) — decisions are read from the ledger.

The ledger holds aggregates only (counts, group sizes) and never a client number; it is written to the processed
folder (not published). The decision list published on the data-quality page names cells, rules and counts of cells.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

ENV = "HBEVAL_RELEASE"
COLUMNS = ["strand", "phase", "pilot", "table", "row", "col", "kind", "value", "margin", "primary", "link"]
# ``link``: cells that show one entry in several places (the same euro magnitude — the same clients' amounts — on a
# strand page, on another strand's page and in the all-pilots page's row of that pilot) carry the same link; the
# release takes one decision for them (:func:`hbeval_lib.release.protect.protect`). Empty: a cell of its own.
KINDS = ("count", "stat")


class ReleaseError(RuntimeError):
    """A notebook tried to publish a cell the protected release does not contain (or the ledger is missing)."""


def cell_key(strand: str, phase: str, pilot: str, table: str, row: str, col: str) -> tuple:
    return (str(strand), str(phase), str(pilot), str(table), str(row), str(col))


@dataclass
class Page:
    """Where cells are being published: one notebook execution."""

    strand: str
    phase: str
    pilot: str
    seen: dict = field(default_factory=dict)
    stat_memo: dict = field(default_factory=dict)   # (table, cell, n) → the page's decision on that statistic
    # render mode: every cell this page published, with the decision it was shown with (what the page *is*); the
    # build compares it with the protected ledger and re-protects until they agree (:mod:`hbeval_lib.release.settle`)
    record: list = field(default_factory=list)

    def unique(self, table: str, row: str, col: str) -> tuple:
        """The key of the next cell with these labels (a repeated label gets ``#2``, ``#3`` … in call order)."""
        base = (table, str(row), str(col))
        k = self.seen.get(base, 0) + 1
        self.seen[base] = k
        row = str(row) if k == 1 else f"{row}#{k}"
        return cell_key(self.strand, self.phase, self.pilot, table, row, col)


class Collector:
    """Collect mode: records every cell published through :class:`~hbeval_lib.page.disclosure.Disclosure`."""

    mode = "collect"

    def __init__(self):
        self.rows: list[dict] = []

    def record(self, key: tuple, kind: str, value, margin: str = "", primary: str | None = None, link: str = ""):
        """Record one cell; ``margin`` is ``"row"``, ``"col"`` or ``"both"`` for a table's total row/column/corner."""
        strand, phase, pilot, table, row, col = key
        self.rows.append({"strand": strand, "phase": phase, "pilot": pilot, "table": table, "row": row,
                          "col": col, "kind": kind, "value": None if value is None else int(value),
                          "margin": str(margin or ""), "primary": primary or "", "link": str(link or "")})
        return None

    def frame(self) -> pd.DataFrame:
        df = pd.DataFrame(self.rows, columns=COLUMNS)
        df["value"] = pd.to_numeric(df["value"]).astype("Int64")
        return df


class Renderer:
    """Render mode: every published cell's decision comes from the protected ledger."""

    mode = "render"

    def __init__(self, path: str | os.PathLike, explicit: bool = False, lenient: bool = False):
        self.explicit = explicit   # set directly (tests, warm kernels), not from the environment
        # lenient (the build's kernels): a cell the ledger does not know, or knows with another value, is decided by
        # its primary rule and recorded; the build then re-protects with what the page really published and
        # executes the page again until the page and the protected release agree. Strict: such a cell is an error.
        self.lenient = lenient
        path = Path(path)
        if not path.exists():
            raise ReleaseError(f"suojattua julkaisuluetteloa ei löydy ({path.name}): aja `hbeval build` "
                               "(the protected release ledger is missing: run `hbeval build`)")
        import pyarrow.parquet as pq   # (not pandas' reader: the pipeline's table scan reads that as a data read)

        df = pq.read_table(path).to_pandas()
        self.path = path
        cols = ["strand", "phase", "pilot", "table", "row", "col", "suppressed", "code", "value"]
        self.decisions = {cell_key(*t[:6]): (bool(t[6]), str(t[7] or ""), None if pd.isna(t[8]) else int(t[8]))
                          for t in df[cols].itertuples(index=False, name=None)}

    def lookup(self, key: tuple, value=None) -> tuple[bool, str] | None:
        """``(suppressed, code)`` of a cell, or ``None`` when the ledger does not hold it with this value."""
        got = self.decisions.get(key)
        if got is None or got[2] != (None if value is None else int(value)):
            return None
        return got[0], got[1]

    def decision(self, key: tuple, value=None) -> tuple[bool, str]:
        """``(suppressed, code)`` of a cell; a cell missing from the ledger, or whose value differs from the
        ledger's (a stale release), raises :class:`ReleaseError`."""
        try:
            hidden, code, known = self.decisions[key]
        except KeyError:
            strand, phase, pilot, table, row, col = key
            raise ReleaseError(
                f"Solu '{table}' / '{row}' / '{col}' ({strand}, {phase}, {pilot}) ei ole suojatussa "
                "julkaisuluettelossa: aja `hbeval build`, joka laskee ja suojaa kaikki julkaistavat luvut ennen "
                "muistioiden ajoa. (A cell not in the protected release: run `hbeval build`; a number computed "
                "only in a notebook cannot be published.)") from None
        if known != (None if value is None else int(value)):
            strand, phase, pilot, table, row, col = key
            raise ReleaseError(
                f"Solun '{table}' / '{row}' / '{col}' ({strand}, {phase}, {pilot}) arvo poikkeaa suojatusta "
                "julkaisuluettelosta: julkaisuluettelo on vanhentunut. Aja `hbeval build`. (The release ledger is "
                "stale: run `hbeval build`.)")
        return hidden, code


_ACTIVE: Collector | Renderer | None = None


def active() -> Collector | Renderer | None:
    """The release mode of this process: a :class:`Collector`, a :class:`Renderer` or ``None`` (standalone).

    Render mode follows the environment variable :data:`ENV` (set by the pipeline for the notebook kernels); a
    ledger file that changes between calls is read again.
    """
    global _ACTIVE
    if isinstance(_ACTIVE, Collector):
        return _ACTIVE
    path = os.environ.get(ENV)
    if not path:
        return _ACTIVE if not isinstance(_ACTIVE, Renderer) or _ACTIVE.explicit else None
    stamp = (path, Path(path).stat().st_mtime_ns if Path(path).exists() else None)
    if not isinstance(_ACTIVE, Renderer) or getattr(_ACTIVE, "stamp", None) != stamp:
        _ACTIVE = Renderer(path, lenient=True)
        _ACTIVE.stamp = stamp
    return _ACTIVE


def set_active(obj: Collector | Renderer | None) -> None:
    global _ACTIVE
    if isinstance(obj, Renderer):
        obj.explicit = True
    _ACTIVE = obj
