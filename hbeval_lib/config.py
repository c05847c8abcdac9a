"""Load and validate the project configuration (``hbeval.yml``).

The configuration file lives at the repository root (``hbeval.yml``); set the
environment variable ``HBEVAL_CONFIG`` to use another file. Every analysis
reads its pilots, phases, thresholds, unit costs and codebooks from here.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
# the strand notebooks (notebooks/<strand>.md) executed for every phase and pilot; the synthesis runs last, once
STRANDS = ["wellbeing", "service_process", "costs"]
SYNTHESIS = "synthesis"
# the strands' folders in the book: the reader's addresses are Finnish (loppuraportti/hyvinvointi/kainuu.html);
# everywhere else (cache keys, ledger, results.csv, text slots) a strand is named by its key
STRAND_FOLDERS = {"wellbeing": "hyvinvointi", "service_process": "palveluprosessi", "costs": "kustannukset",
                  SYNTHESIS: "synteesi"}


def strand_folder(strand: str) -> str:
    """The book folder of a strand's pages (``wellbeing`` → ``hyvinvointi``)."""
    return STRAND_FOLDERS.get(strand, strand)


def folder_strand(folder: str) -> str:
    """The strand key of a book folder (``hyvinvointi`` → ``wellbeing``); any other name is returned as is."""
    return {v: k for k, v in STRAND_FOLDERS.items()}.get(folder, folder)
DEFAULT_CONFIG = REPO_ROOT / "hbeval.yml"
ALL_PILOTS = "kaikki"  # the parameter value meaning "all pilots together"


class ConfigError(ValueError):
    """The configuration file is missing a key or holds an invalid value."""


@dataclass(frozen=True)
class Pilot:
    code: int
    key: str
    name: str
    facts: dict = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class ClientGroup:
    code: int
    key: str
    name: str


@dataclass(frozen=True)
class Phase:
    key: str
    name: str
    published: str
    cutoff: dt.date
    # the report's state: "planned" (default), "preparing" (built whatever the data's dates) or "published" on
    # ``published_on`` — then frozen: its release record (releases/<key>/) is what every later build renders
    state: str = "planned"
    published_on: dt.date | None = None

    @property
    def is_published(self) -> bool:
        return self.state == "published"


PHASE_STATES = ("planned", "preparing", "published")


def _phase_state(ph: dict, where: str, path: Path) -> tuple[str, dt.date | None]:
    state = str(ph.get("state", "planned"))
    if state not in PHASE_STATES:
        raise ConfigError(f"{path}: {where}.state on '{state}'; sallitut arvot: {', '.join(PHASE_STATES)} "
                          f"({where}.state must be one of {PHASE_STATES})")
    if state == "published":
        if not ph.get("published_on"):
            raise ConfigError(f"{path}: {where}: julkaistulla raportilla (state: published) pitää olla "
                              "julkaisupäivä published_on: VVVV-KK-PP. Julkaise raportti komennolla "
                              "`hbeval publish <vaihe>`, joka kirjaa sen. (a published phase needs published_on)")
        return state, _date(ph["published_on"], f"{where}.published_on", path)
    return state, None


@dataclass
class Config:
    """The parsed configuration; ``raw`` keeps the whole YAML mapping for sections owned by later modules."""

    path: Path
    raw: dict[str, Any]
    pilots: list[Pilot]
    client_groups: list[ClientGroup]
    phases: list[Phase]
    period_start: dt.date
    period_end: dt.date
    final_phase: str = ""    # the configured final report (kept when a build narrows ``phases`` to those due)

    @property
    def final_key(self) -> str:
        """The key of the final report's phase (where the synthesis belongs), also in a narrowed configuration."""
        return self.final_phase or self.phases[-1].key

    # -- lookups -------------------------------------------------------------
    def pilot_by_code(self, code: int) -> Pilot | None:
        return next((p for p in self.pilots if p.code == code), None)

    def pilot_by_key(self, key: str) -> Pilot:
        for p in self.pilots:
            if p.key == key:
                return p
        raise ConfigError(f"{self.path}: unknown pilot key {key!r}; known: {[p.key for p in self.pilots]}")

    def pilot_by_name(self, name: str) -> Pilot | None:
        """Match a pilot by its name or key, case-insensitively (``'Hämeenlinna'``, ``'hameenlinna'``)."""
        wanted = str(name).strip().casefold()
        return next((p for p in self.pilots if wanted in (p.name.casefold(), p.key)), None)

    def group_by_code(self, code: int) -> ClientGroup | None:
        return next((g for g in self.client_groups if g.code == code), None)

    def phase(self, key: str) -> Phase:
        for p in self.phases:
            if p.key == key:
                return p
        raise ConfigError(f"{self.path}: unknown phase {key!r}; known: {[p.key for p in self.phases]}")

    def section(self, name: str, default: Any = None) -> Any:
        """A top-level section of the YAML file (e.g. ``'unit_costs'``, ``'disclosure'``)."""
        return self.raw.get(name, default)

    def path_of(self, name: str) -> Path:
        """A path from the ``paths`` section, resolved against the repository root."""
        p = Path(self.raw.get("paths", {}).get(name, ""))
        return p if p.is_absolute() else REPO_ROOT / p

    @property
    def seed(self) -> int:
        return int(self.raw.get("analysis", {}).get("seed", 0))


def _date(value: Any, where: str, path: Path) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise ConfigError(f"{path}: {where}: expected a date yyyy-mm-dd, got {value!r}") from exc


def _require(mapping: dict, key: str, where: str, path: Path) -> Any:
    if not isinstance(mapping, dict) or key not in mapping:
        raise ConfigError(f"{path}: {where}: missing required key {key!r}")
    return mapping[key]


def parse_config(raw: dict, path: Path) -> Config:
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a YAML mapping at the top level")
    pilots = []
    for i, p in enumerate(_require(raw, "pilots", "top level", path)):
        where = f"pilots[{i}]"
        pilots.append(Pilot(int(_require(p, "code", where, path)), str(_require(p, "key", where, path)),
                            str(_require(p, "name", where, path)), dict(p.get("facts") or {})))
    groups = [ClientGroup(int(_require(g, "code", f"client_groups[{i}]", path)), str(g["key"]), str(g["name"]))
              for i, g in enumerate(_require(raw, "client_groups", "top level", path))]
    phases = [Phase(str(_require(ph, "key", f"phases[{i}]", path)), str(ph.get("name", ph["key"])),
                    str(ph.get("published", "")), _date(_require(ph, "cutoff", f"phases[{i}]", path),
                                                        f"phases[{i}].cutoff", path),
                    *_phase_state(ph, f"phases[{i}]", path))
              for i, ph in enumerate(_require(raw, "phases", "top level", path))]
    period = _require(raw, "evaluation_period", "top level", path)
    cfg = Config(path=path, raw=raw, pilots=pilots, client_groups=groups, phases=phases,
                 period_start=_date(_require(period, "start", "evaluation_period", path), "evaluation_period.start", path),
                 period_end=_date(_require(period, "end", "evaluation_period", path), "evaluation_period.end", path),
                 final_phase=phases[-1].key if phases else "")
    for kind, items in (("pilot", pilots), ("client group", groups)):
        codes = [x.code for x in items]
        if len(set(codes)) != len(codes) or any(not 0 <= c <= 9 for c in codes):
            raise ConfigError(f"{path}: {kind} codes must be unique single digits, got {codes}")
    return cfg


def load_config(path: str | os.PathLike | None = None) -> Config:
    """Load the configuration from ``path``, ``$HBEVAL_CONFIG`` or the repository's ``hbeval.yml``."""
    p = Path(path or os.environ.get("HBEVAL_CONFIG") or DEFAULT_CONFIG).resolve()
    return _load_cached(p, p.stat().st_mtime_ns if p.exists() else 0)


@lru_cache(maxsize=8)
def _load_cached(path: Path, _mtime: int) -> Config:
    if not path.exists():
        raise ConfigError(f"configuration file not found: {path}")
    with path.open(encoding="utf-8") as fh:
        raw = yaml.safe_load(fh)
    return parse_config(raw, path)
