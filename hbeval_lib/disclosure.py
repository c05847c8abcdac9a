"""Disclosure control for everything the report publishes (counts, cross-tabs, statistics, figures).

Rules (thresholds in ``hbeval.yml`` → ``disclosure``): a count cell below ``min_count`` is shown as ``<5``;
a statistic computed on fewer than ``min_n_stat`` persons is not shown; tables with margins get secondary
suppression; a figure of a group under the threshold is not drawn. Every suppression is logged
(table, cell, rule) and written beside the notebook's results so the data-quality page can list it.

Usage in a notebook::

    dc = Disclosure(table_prefix="hyvinvointi")      # one per notebook
    shown = dc.counts(crosstab, "rekrytointi")        # DataFrame of str cells
    if dc.stat_ok(n, "kykyviisari.taidot", "muutos"): ...
    dc.write(suppressions_path)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .config import Config, load_config

SUPPRESSED = "<5"      # a small count
NOT_SHOWN = "–"        # a statistic on too few persons
LOG_COLUMNS = ["table", "cell", "rule"]


@dataclass
class Disclosure:
    """Applies the rules and remembers every suppression it made."""

    table_prefix: str = ""
    cfg: Config | None = None
    log: list[dict] = field(default_factory=list)

    def __post_init__(self):
        self.cfg = self.cfg or load_config()
        conf = self.cfg.section("disclosure", {}) or {}
        self.min_count = int(conf.get("min_count", 5))
        self.min_n_stat = int(conf.get("min_n_stat", 10))

    # -- logging -------------------------------------------------------------
    def _name(self, table: str) -> str:
        return f"{self.table_prefix}.{table}" if self.table_prefix else table

    def record(self, table: str, cell: str, rule: str) -> None:
        self.log.append({"table": self._name(table), "cell": str(cell), "rule": rule})

    # -- rules ---------------------------------------------------------------
    def stat_ok(self, n, table: str, cell: str = "") -> bool:
        """True when a statistic on ``n`` persons may be shown; otherwise logs the suppression."""
        if n is not None and not pd.isna(n) and int(n) >= self.min_n_stat:
            return True
        self.record(table, cell, f"n<{self.min_n_stat}")
        return False

    def counts(self, table: pd.DataFrame, name: str) -> pd.DataFrame:
        """Primary suppression of a table of counts (no margins): cells 1..min_count-1 become ``<5``."""
        out = table.astype(object).copy()
        for r in table.index:
            for c in table.columns:
                v = table.at[r, c]
                if pd.notna(v) and 0 < v < self.min_count:
                    out.at[r, c] = SUPPRESSED
                    self.record(name, f"{r} / {c}", f"count<{self.min_count}")
        return out

    def figure_ok(self, n, name: str) -> bool:
        """True when a figure of a group of ``n`` persons may be drawn."""
        return self.stat_ok(n, name, "kuvio")

    # -- output --------------------------------------------------------------
    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.log, columns=LOG_COLUMNS)

    def write(self, path: str | os.PathLike | None) -> Path | None:
        if not path:
            return None
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        self.frame().to_csv(tmp, index=False)
        os.replace(tmp, path)
        return path
