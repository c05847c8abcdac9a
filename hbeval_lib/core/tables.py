"""Read the tidy tables intake wrote, seen through a report phase and a pilot.

Notebooks call :func:`load` and never open raw files. A phase sees only records dated on or before its
cut-off (data contract §5); a pilot key narrows to that pilot, ``"kaikki"`` keeps all.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from hbeval_lib.config import ALL_PILOTS, Config, load_config
from hbeval_lib.core.schema import PHASE_DATE, PHASE_PERIOD, TABLES


def period_end(periods: pd.Series) -> pd.Series:
    """The last day of half-year periods written ``yyyy/1`` (January–June) or ``yyyy/2`` (July–December).

    An unreadable period gives ``NaT`` (and so is seen by no phase).

    >>> period_end(pd.Series(["2017/1", "2017/2", "x"])).dt.strftime("%Y-%m-%d").fillna("NaT").tolist()
    ['2017-06-30', '2017-12-31', 'NaT']
    """
    parts = periods.astype("string").str.extract(r"^\s*(\d{4})\s*/\s*([12])\s*$")
    text = parts[0] + parts[1].map({"1": "-06-30", "2": "-12-31"})
    return pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")


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
    if phase is not None:
        cutoff = pd.Timestamp(cfg.phase(phase).cutoff)
        if name in PHASE_DATE and PHASE_DATE[name] in df.columns:
            dates = df[PHASE_DATE[name]]
            df = df[dates.notna() & (dates <= cutoff)]
        elif name in PHASE_PERIOD and PHASE_PERIOD[name] in df.columns:
            df = df[period_end(df[PHASE_PERIOD[name]]) <= cutoff]
    if pilot not in (None, ALL_PILOTS) and "pilot" in df.columns:
        cfg.pilot_by_key(pilot)  # validates the key
        df = df[df["pilot"] == pilot]
    return df.reset_index(drop=True)


def load(name: str, processed: str | Path, phase: str | None = None, pilot: str | None = None,
         cfg: Config | None = None) -> pd.DataFrame:
    """Read table ``name`` and restrict it to ``phase`` and ``pilot``."""
    return restrict(read_table(name, processed), name, phase, pilot, cfg)
