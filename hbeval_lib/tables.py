"""Read the tidy tables intake wrote, seen through a report phase and a pilot.

Notebooks call :func:`load` and never open raw files. A phase sees only records dated on or before its
cut-off (data contract §5); a pilot key narrows to that pilot, ``"kaikki"`` keeps all.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .config import ALL_PILOTS, Config, load_config
from .schema import PHASE_DATE, TABLES


def read_table(name: str, processed: str | Path) -> pd.DataFrame:
    """The whole table ``name`` as intake wrote it (``<processed>/<name>.parquet``)."""
    if name not in TABLES:
        raise KeyError(f"unknown table {name!r}; known: {sorted(TABLES)}")
    path = Path(processed) / f"{name}.parquet"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: run `hbeval intake` first")
    return pd.read_parquet(path)


def restrict(df: pd.DataFrame, name: str, phase: str | None = None, pilot: str | None = None,
             cfg: Config | None = None) -> pd.DataFrame:
    """Keep the rows a phase may see (dated on or before its cut-off) and, unless ``pilot`` is all, one pilot."""
    cfg = cfg or load_config()
    if phase is not None and name in PHASE_DATE and PHASE_DATE[name] in df.columns:
        cutoff = pd.Timestamp(cfg.phase(phase).cutoff)
        dates = df[PHASE_DATE[name]]
        df = df[dates.notna() & (dates <= cutoff)]
    if pilot not in (None, ALL_PILOTS) and "pilot" in df.columns:
        cfg.pilot_by_key(pilot)  # validates the key
        df = df[df["pilot"] == pilot]
    return df.reset_index(drop=True)


def load(name: str, processed: str | Path, phase: str | None = None, pilot: str | None = None,
         cfg: Config | None = None) -> pd.DataFrame:
    """Read table ``name`` and restrict it to ``phase`` and ``pilot``."""
    return restrict(read_table(name, processed), name, phase, pilot, cfg)
