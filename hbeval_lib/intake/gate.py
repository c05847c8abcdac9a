"""The build gate: intake findings with a severity, the researchers' acknowledgements and the verdict.

Intake (``hbeval_lib.intake.run``) writes what it found about the raw *files* — unreadable or protected workbooks,
data sheets not found, files outside the contract's folders, forms in the wrong folder, duplicated files and
rows, merged cells, client numbers used with two client profiles — into ``<processed>/findings.csv``. This module
adds what can be judged only from the whole intake (a pilot whose clients cannot be linked, a sharp drop against
the counts of the last successful build, row-level rejections) and decides:

* ``error``   — changes what the report says: ``hbeval build`` (and ``hbeval intake``) stop, unless the finding is
  acknowledged in the reviewed list (:data:`DEFAULT_ACKNOWLEDGEMENTS`, ``data/kuitatut_havainnot.yml``);
  ``hbeval build --draft`` builds anyway and every page carries the draft banner;
* ``warning`` — shown in the summary and on the data-quality page (e.g. rows rejected one by one);
* ``info``    — noted only (e.g. the data sheet was found behind an instructions sheet).

A finding's ``id`` is stable across runs: ``kind:file[:sheet][:detail]`` (instrument instead of file for
findings about a whole instrument or pilot); it never holds a client number. Every message is Finnish and names
the file, sheet, row and column, what was found and what to do.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from hbeval_lib.config import REPO_ROOT, Config, load_config

FINDINGS_FILE = "findings.csv"
COUNTS_FILE = "gate_counts.json"
DEFAULT_ACKNOWLEDGEMENTS = REPO_ROOT / "data" / "kuitatut_havainnot.yml"
DRAFT_BANNER = ("LUONNOS – aineistossa on korjaamattomia virheitä: luvut voivat muuttua, kun raakatiedostot "
                "korjataan. Virheet on lueteltu sivulla Aineisto ja sen laatu.")

ERROR, WARNING, INFO = "error", "warning", "info"
SEVERITY = {
    "unreadable_file": ERROR,
    "sheet_not_found": ERROR,
    "file_outside_folders": ERROR,
    "misplaced_form": ERROR,
    "unsupported_file": ERROR,
    "duplicate_file": ERROR,
    "duplicate_rows_across_files": ERROR,
    "unlinkable_pilot": ERROR,
    "client_profile_conflict": ERROR,
    "second_baseline": ERROR,
    "merged_cells": ERROR,
    "count_drop": ERROR,
    "other_file": WARNING,
    "other_sheet_not_read": WARNING,
    "folder_missing": WARNING,
    "rejected_rows": WARNING,
    "invalid_acknowledgement": WARNING,
    "unused_acknowledgement": WARNING,
    "data_sheet_elsewhere": INFO,
}
KIND_TITLES = {
    "unreadable_file": "Lukukelvoton tiedosto tai välilehti",
    "sheet_not_found": "Tietovälilehteä ei löydy",
    "file_outside_folders": "Tiedosto sovittujen kansioiden ulkopuolella",
    "misplaced_form": "Lomake väärässä kansiossa",
    "unsupported_file": "Tiedostomuotoa ei lueta",
    "duplicate_file": "Sama tiedosto kahdesti",
    "duplicate_rows_across_files": "Samat rivit useassa tiedostossa",
    "unlinkable_pilot": "Pilotin asiakkaita ei voi yhdistää",
    "client_profile_conflict": "Asiakasnumero kahdella eri asiakasprofiililla",
    "second_baseline": "Toinen alku- tai loppumittaus samalle asiakkaalle",
    "merged_cells": "Yhdistettyjä soluja taulukossa",
    "count_drop": "Rivimäärä laski jyrkästi edellisestä koonnista",
    "other_file": "Muu tiedosto aineistokansiossa",
    "other_sheet_not_read": "Välilehteä ei luettu",
    "folder_missing": "Mittarin kansio puuttuu",
    "rejected_rows": "Hylättyjä rivejä",
    "invalid_acknowledgement": "Virheellinen kuittaus",
    "unused_acknowledgement": "Kuittaus ei vastaa mitään havaintoa",
    "data_sheet_elsewhere": "Tietovälilehti ei ole ensimmäinen",
}
SEVERITY_FI = {ERROR: "VIRHE", WARNING: "VAROITUS", INFO: "HUOMIO"}
INSTRUMENT_TITLES = {
    "asiakkaat": "asiakasrekisteri", "kykyviisari": "Kykyviisari", "osallisuustesti": "osallisuustesti",
    "asiakaskysely": "asiakaskysely (LIITE 1.1)", "esr": "ESR-lomakkeet", "tyoaika": "työajanseuranta (LIITE 3.1)",
    "asiakaskulut": "asiakkaan ajankäyttö ja kulut (LIITE 3.2)",
    "avustajakulut": "HB-avustajan ajankäyttö ja kulut (LIITE 3.3)", "budjetti": "budjetit ja maksusitoumukset",
    "palvelut": "palvelujen käyttö", "lahtokysely": "lähtötilannekysely (LIITE 2.1)",
    "avustajakysely": "avustajakysely", "kehittamistyo": "kehittämistyön palautteet ja itsearviointi",
    "paivakirjat": "päiväkirjat", "tyopajat": "työpajat",
    "tietoisuuskysely": "HB-tietoisuuden nettikysely", "mediaseuranta": "mediaseurantatilastot",
    "laheiskulut": "läheisten ajankäyttö ja kulut", "kompassi": "Kompassi (Hämeenlinna)",
    "awareness_survey": "HB-tietoisuuden nettikysely", "media_monitoring": "mediaseurantatilastot",
    # tidy tables (the count-drop findings are per table)
    "clients": "asiakasrekisteri", "budgets": "budjetit", "budget_use": "maksusitoumukset",
    "services": "palvelujen käyttö", "qualitative": "laadullinen aineisto", "feedback": "kehittämistyön palautteet",
    "self_evaluation": "kehittämistyön itsearviointi",
}
# kinds whose files' rows were not read (the data-quality page counts them as files, rows unknown / not read)
NOT_READ_KINDS = ("unreadable_file", "sheet_not_found", "file_outside_folders", "misplaced_form", "unsupported_file")
COLUMNS = ["id", "severity", "kind", "instrument", "file", "sheet", "row", "column", "rows", "detail", "found",
           "action"]
GATE_DEFAULTS = {"drop_share": 0.2, "drop_min_rows": 20, "unlinked_share": 0.1, "unlinked_min_rows": 5}


def fi_count(n: int, one: str, many: str) -> str:
    """``1 korjaamaton virhe`` / ``3 korjaamatonta virhettä`` (Finnish singular after 1, partitive otherwise)."""
    return f"{n} {one if n == 1 else many}"


def gate_option(cfg: Config | None, key: str) -> Any:
    """A value of the optional ``gate:`` section of ``hbeval.yml``, else :data:`GATE_DEFAULTS`."""
    section = (cfg.section("gate") if cfg is not None else None) or {}
    return section.get(key, GATE_DEFAULTS[key])


@dataclass
class Finding:
    """One finding about the raw data. ``found`` says what (Finnish), ``action`` what to do."""

    kind: str
    instrument: str = ""
    file: str = ""
    sheet: str = ""
    row: int | None = None
    column: str = ""
    found: str = ""
    action: str = ""
    rows: int | None = None        # data rows concerned (None = unknown / not counted)
    detail: str = ""               # makes the id unique within a file (a cell range, a row, a pilot)
    severity: str = ""
    acknowledged: dict | None = field(default=None, compare=False)

    def __post_init__(self):
        self.severity = self.severity or SEVERITY.get(self.kind, WARNING)

    @property
    def id(self) -> str:
        parts = [self.kind, self.file or self.instrument]
        parts += [p for p in (self.sheet, self.detail) if p]
        return ":".join(parts)

    @property
    def short(self) -> str:
        """A short stable key of the id (``#`` + 10 hex digits of its SHA-256): acknowledge with it when the id
        holds a file name that must not be committed (e.g. a name with a client number)."""
        return "#" + hashlib.sha256(self.id.encode("utf-8")).hexdigest()[:10]

    def where(self) -> str:
        """``tiedosto kykyviisari/x.xlsx, välilehti 'Vastaukset', rivi 5, sarake 'Ryhmä'`` (the parts known)."""
        parts = []
        if self.file:
            parts.append(f"tiedosto {self.file}")
        elif self.instrument:
            parts.append(f"mittari {INSTRUMENT_TITLES.get(self.instrument, self.instrument)} ({self.instrument}/)")
        if self.sheet:
            parts.append(f"välilehti {self.sheet!r}")
        if self.row is not None and self.row == self.row:
            parts.append(f"rivi {int(self.row)}")
        if self.column:
            parts.append(f"sarake {self.column!r}")
        return ", ".join(parts)

    def text(self) -> str:
        """The finding as one Finnish paragraph for the terminal summary."""
        head = f"{SEVERITY_FI[self.severity]} [{self.id}] ({self.short}) {KIND_TITLES.get(self.kind, self.kind)}"
        out = f"{head}\n    {self.where()}: {self.found}"
        if self.action:
            out += f"\n    Mitä tehdä: {self.action}"
        if self.acknowledged:
            out += f"\n    Kuitattu: {self.acknowledged.get('reason', '')}"
        return out

    def as_row(self) -> dict:
        d = {k: getattr(self, k) for k in COLUMNS if k != "id"}
        d["id"] = self.id
        return d


def write_findings(processed_dir: Path, findings: Iterable[Finding]) -> Path:
    """``<processed>/findings.csv`` (UTF-8, one row per finding, columns :data:`COLUMNS`)."""
    rows = [f.as_row() for f in findings]
    df = pd.DataFrame(rows, columns=COLUMNS)
    for c in ("row", "rows"):
        df[c] = pd.array([None if v is None or v != v else int(v) for v in df[c]], dtype="Int64")
    path = Path(processed_dir) / FINDINGS_FILE
    df.to_csv(path, index=False)
    return path


def read_findings(processed_dir: Path) -> list[Finding]:
    """The intake findings of ``findings.csv`` (empty when intake wrote none)."""
    path = Path(processed_dir) / FINDINGS_FILE
    if not path.exists() or not path.stat().st_size:
        return []
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    out = []
    for r in df.to_dict("records"):
        out.append(Finding(kind=r["kind"], instrument=r["instrument"], file=r["file"], sheet=r["sheet"],
                           row=int(r["row"]) if r["row"] else None, column=r["column"], found=r["found"],
                           action=r["action"], rows=int(r["rows"]) if r["rows"] else None, detail=r["detail"],
                           severity=r["severity"]))
    return out


# ---------------------------------------------------------------------------------------------------------------------
# acknowledgements
# ---------------------------------------------------------------------------------------------------------------------
@dataclass
class Acknowledgement:
    """One entry of the reviewed list: ``id`` (exact) or ``kind`` + ``file`` (every such finding of the file)."""

    reason: str
    id: str = ""
    kind: str = ""
    file: str = ""
    by: str = ""
    date: str = ""
    used: int = 0

    def matches(self, f: Finding) -> bool:
        if self.id:
            return self.id in (f.id, f.short)
        return self.kind == f.kind and self.file in (f.file, f.instrument)

    @property
    def label(self) -> str:
        return self.id or f"{self.kind}:{self.file}"


def acknowledgements_path(cfg: Config | None = None, path: str | os.PathLike | None = None) -> Path:
    """The reviewed list: ``path``, else ``paths.acknowledgements`` of ``hbeval.yml``, else the default."""
    if path:
        return Path(path)
    paths = (cfg.raw.get("paths") or {}) if cfg is not None else {}
    if paths.get("acknowledgements"):
        p = Path(paths["acknowledgements"])
        return p if p.is_absolute() else REPO_ROOT / p
    return DEFAULT_ACKNOWLEDGEMENTS


def load_acknowledgements(path: Path) -> tuple[list[Acknowledgement], list[Finding]]:
    """The entries of the reviewed list, and a finding for every invalid entry (no reason, no id/kind+file)."""
    import yaml

    path = Path(path)
    if not path.exists():
        return [], []
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        return [], [Finding("invalid_acknowledgement", file=str(path.name), found=f"kuittauslistaa ei voi lukea: {exc}",
                            action="Korjaa YAML-muoto (ks. data/README.md).", severity=ERROR)]
    entries = data.get("acknowledged") if isinstance(data, dict) else None
    acks, bad = [], []
    for i, e in enumerate(entries or [], start=1):
        e = e if isinstance(e, dict) else {}
        reason = str(e.get("reason") or "").strip()
        ack = Acknowledgement(reason=reason, id=str(e.get("id") or "").strip(), kind=str(e.get("kind") or "").strip(),
                              file=str(e.get("file") or "").strip(), by=str(e.get("by") or "").strip(),
                              date=str(e.get("date") or "").strip())
        if not reason or not (ack.id or (ack.kind and ack.file)):
            bad.append(Finding("invalid_acknowledgement", file=path.name, detail=f"kohta{i}",
                               found=f"kuittauslistan {i}. kohta ei kelpaa: siitä puuttuu perustelu (reason) tai "
                                     "tunniste (id, tai kind + file); kohtaa ei käytetty",
                               action="Lisää kohtaan havainnon id (yhteenvedon hakasulkeista) ja perustelu."))
            continue
        acks.append(ack)
    return acks, bad


# ---------------------------------------------------------------------------------------------------------------------
# findings judged from the whole intake
# ---------------------------------------------------------------------------------------------------------------------
def _read_csv(path: Path) -> pd.DataFrame | None:
    return pd.read_csv(path, dtype={"row": "Int64"}, keep_default_na=False) if path.exists() and path.stat().st_size \
        else None


_COUNTS_CACHE: dict[str, tuple[tuple, dict[str, int]]] = {}


def table_counts(processed_dir: Path) -> dict[str, int]:
    """Rows per tidy table and pilot (``kykyviisari/pori``) and per table (``kykyviisari/*``).

    Cached per processed folder on the tables' sizes and modification times (the gate and the book pages ask
    several times per build)."""
    import pyarrow.parquet as pq

    from hbeval_lib.core.schema import TABLES

    paths = {name: Path(processed_dir) / f"{name}.parquet" for name in TABLES}
    sig = tuple((n, p.stat().st_mtime_ns, p.stat().st_size) for n, p in paths.items() if p.exists())
    key = str(Path(processed_dir).resolve())
    hit = _COUNTS_CACHE.get(key)
    if hit is not None and hit[0] == sig:
        return dict(hit[1])
    out: dict[str, int] = {}
    for name, path in paths.items():
        if not path.exists():
            continue
        try:
            if "pilot" in TABLES[name]:
                col = pq.read_table(path, columns=["pilot"]).column("pilot").to_pandas()
                out[f"{name}/*"] = int(len(col))
                for pilot, n in col.dropna().value_counts().sort_index().items():
                    out[f"{name}/{pilot}"] = int(n)
            else:
                out[f"{name}/*"] = int(pq.ParquetFile(path).metadata.num_rows)
        except Exception:  # noqa: BLE001 - a broken table is caught by the run; the gate just skips it
            continue
    _COUNTS_CACHE[key] = (sig, dict(out))
    return out


def _pilot_name(cfg: Config, key: str) -> str:
    try:
        return cfg.pilot_by_key(key).name
    except Exception:  # noqa: BLE001
        return key


LINKED_TABLES = ("kykyviisari", "osallisuustesti", "asiakaskysely", "esr", "asiakaskulut", "avustajakulut", "budgets",
                 "budget_use", "services")


def unlinkable_pilots(processed_dir: Path, cfg: Config) -> list[Finding]:
    """A pilot with many rows rejected as ``unknown_client`` (e.g. its roster was unreadable)."""
    from hbeval_lib.intake import clientid

    q = _read_csv(Path(processed_dir) / "quarantine.csv")
    if q is None or q.empty:
        return []
    unk = q[q["reason"] == "unknown_client"]
    if unk.empty:
        return []
    pilots = [getattr(clientid.try_parse(v, cfg), "pilot", None) for v in unk["value"]]
    unk = unk.assign(pilot=pilots).dropna(subset=["pilot"])
    counts = table_counts(processed_dir)
    roster = {k.split("/")[1]: n for k, n in counts.items() if k.startswith("clients/") and not k.endswith("/*")}
    share, min_rows = float(gate_option(cfg, "unlinked_share")), int(gate_option(cfg, "unlinked_min_rows"))
    out = []
    for pilot, part in unk.groupby("pilot", sort=True):
        u = len(part)
        linked = sum(n for k, n in counts.items() if k.endswith(f"/{pilot}") and k.split("/")[0] in LINKED_TABLES)
        r = roster.get(pilot, 0)
        if u < min_rows or not (r == 0 or u >= share * (u + linked)):
            continue
        by_inst = part.groupby("instrument").size().sort_values(ascending=False)
        first = part.iloc[0]
        name = _pilot_name(cfg, pilot)
        out.append(Finding(
            "unlinkable_pilot", instrument="asiakkaat", detail=pilot, file="", rows=u,
            found=(f"pilotin {name} {u} riviä hylättiin syyllä unknown_client (asiakasnumeroa ei ole "
                   f"asiakasrekisterissä): " + ", ".join(f"{i} {n}" for i, n in by_inst.items())
                   + f"; asiakasrekisterissä on {r} pilotin {name} asiakasta ja muissa mittareissa {linked} "
                     f"yhdistettyä riviä (ensimmäinen hylätty: {first['file']}, rivi {first['row']}). "
                     f"Ilman korjausta pilotti puuttuu raportista tai sen luvut ovat vääriä"),
            action=(f"Tarkista asiakkaat/-kansion pilotin {name} tiedosto: onko se lukukelvoton (ks. "
                    "lukuvirheet yllä), puuttuuko se tai puuttuuko siitä asiakkaita; korjaa ja aja hbeval build "
                    "uudelleen.")))
    return out


def rejected_group_mismatches(processed_dir: Path) -> list[Finding]:
    """Rows rejected as ``group_mismatch`` (a control client's number on an HB-only form, a time-use mark of the
    other arm): the client number is used with another client profile than the roster's — often a typo that hits
    another real client. Rejected and counted, but an error: the client's own rows may be missing."""
    q = _read_csv(Path(processed_dir) / "quarantine.csv")
    if q is None or q.empty:
        return []
    q = q[q["reason"] == "group_mismatch"]
    out = []
    for (inst, file, sheet), part in q.groupby(["instrument", "file", "sheet"], sort=True):
        rows = [int(r) for r in part["row"].dropna()]
        shown = ", ".join(str(r) for r in rows[:8]) + (" …" if len(rows) > 8 else "")
        out.append(Finding(
            "client_profile_conflict", instrument=inst, file=file, sheet=sheet, row=rows[0] if rows else None,
            column=str(part["column"].iloc[0]), rows=len(part), detail="group_mismatch",
            found=(f"{len(part)} riviä hylättiin syyllä group_mismatch (rivit {shown}): asiakasnumero kuuluu "
                   "asiakasrekisterissä toisen ryhmän asiakkaalle (esim. verrokkiasiakas HB-asiakkaiden lomakkeella "
                   "tai HB-merkintä verrokkiasiakkaalle). Rivit eivät ole raportissa"),
            action=("Tarkista asiakasnumerot ja ryhmämerkinnät: näppäilyvirhe voi osua toisen asiakkaan numeroon. "
                    "Korjaa ne ja aja hbeval build uudelleen; jos rivit on hylätty oikein, kuittaa havainto.")))
    return out


def rejected_rows(processed_dir: Path) -> list[Finding]:
    """One warning per instrument and reason for rows rejected one by one (listed in quarantine.csv)."""
    q = _read_csv(Path(processed_dir) / "quarantine.csv")
    if q is None or q.empty:
        return []
    q = q[~q["reason"].isin(["unreadable_file", "duplicate_across_files", "group_mismatch"])]
    out = []
    for (inst, reason), part in q.groupby(["instrument", "reason"], sort=True):
        first = part.iloc[0]
        out.append(Finding("rejected_rows", instrument=inst, detail=reason, rows=len(part),
                           found=f"{fi_count(len(part), 'rivi', 'riviä')} hylättiin syyllä {reason} "
                                 f"(ensimmäinen: {first['file']}"
                                 + (f", välilehti {first['sheet']!r}" if first["sheet"] else "")
                                 + f", rivi {first['row']}, sarake {first['column']!r})",
                           action="Rivit on lueteltu tiedostossa quarantine.csv; korjaa ne raakatiedostoon, "
                                  "jos tieto on saatavissa."))
    return out


def _counts_digest(counts: dict[str, int]) -> str:
    return hashlib.sha256(json.dumps(counts, sort_keys=True).encode()).hexdigest()


def _load_counts(processed_dir: Path) -> dict:
    p = Path(processed_dir) / COUNTS_FILE
    try:
        return json.loads(p.read_text(encoding="utf-8")) if p.exists() else {}
    except (OSError, ValueError):
        return {}


def reference_counts(processed_dir: Path, raw_dir: Path | None = None) -> dict[str, int] | None:
    """The counts of the last successful intake of *other* data than the current (None: nothing to compare)."""
    stored = _load_counts(processed_dir)
    if not stored:
        return None
    if raw_dir is not None and stored.get("raw") and stored["raw"] != str(Path(raw_dir).resolve()):
        return None
    current = table_counts(processed_dir)
    if stored.get("digest") == _counts_digest(current):
        return stored.get("previous")
    return stored.get("counts")


def record_success(processed_dir: Path, raw_dir: Path | None = None) -> None:
    """Store the current counts as those of the last successful intake (keeping the earlier ones as previous)."""
    current = table_counts(processed_dir)
    digest = _counts_digest(current)
    stored = _load_counts(processed_dir)
    raw = str(Path(raw_dir).resolve()) if raw_dir is not None else stored.get("raw", "")
    if stored.get("digest") == digest and stored.get("raw", "") == raw:
        return
    same_raw = not stored.get("raw") or stored.get("raw") == raw
    data = {"raw": raw, "digest": digest, "counts": current,
            "previous": stored.get("counts") if same_raw else None}
    p = Path(processed_dir) / COUNTS_FILE
    p.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")


def count_drops(processed_dir: Path, cfg: Config, raw_dir: Path | None = None) -> list[Finding]:
    """A table (per pilot) that has far fewer rows than at the last successful intake."""
    ref = reference_counts(processed_dir, raw_dir)
    if not ref:
        return []
    current = table_counts(processed_dir)
    share, min_rows = float(gate_option(cfg, "drop_share")), int(gate_option(cfg, "drop_min_rows"))
    out = []
    for key, before in sorted(ref.items()):
        now = current.get(key, 0)
        if before < min_rows or now >= (1 - share) * before:
            continue
        table, pilot = key.split("/")
        if pilot == "*" and any(k.startswith(f"{table}/") and k != key and ref[k] >= min_rows
                                and current.get(k, 0) < (1 - share) * ref[k] for k in ref):
            continue  # the per-pilot finding says it
        who = "kaikki pilotit" if pilot == "*" else f"pilotti {_pilot_name(cfg, pilot)}"
        out.append(Finding(
            "count_drop", instrument=table, detail=pilot if pilot != "*" else "kaikki", rows=before - now,
            found=(f"taulussa {table} ({who}) on nyt {now} riviä, edellisellä onnistuneella koonnilla {before} "
                   f"(−{round(100 * (before - now) / before)} %)"),
            action=("Tarkista, puuttuuko raakakansiosta tiedostoja tai onko jokin tiedosto lukukelvoton tai "
                    "väärässä kansiossa (ks. muut havainnot). Jos lasku on oikea (esim. rivejä poistettiin "
                    "tarkoituksella), kuittaa havainto kuittauslistassa.")))
    return out


# ---------------------------------------------------------------------------------------------------------------------
# the verdict
# ---------------------------------------------------------------------------------------------------------------------
@dataclass
class Verdict:
    """All findings (acknowledged ones marked) and the acknowledgements; ``passed`` = no open error."""

    findings: list[Finding]
    acknowledgements: list[Acknowledgement] = field(default_factory=list)
    ack_path: Path | None = None

    @property
    def open_errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == ERROR and not f.acknowledged]

    @property
    def acknowledged(self) -> list[Finding]:
        return [f for f in self.findings if f.acknowledged]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == WARNING]

    @property
    def passed(self) -> bool:
        return not self.open_errors

    def summary(self, draft: bool = False) -> str:
        """The Finnish summary: every error (open, then acknowledged), the warnings, and what to do."""
        lines = []
        if self.open_errors:
            lines.append(f"hbeval: aineistossa on "
                         f"{fi_count(len(self.open_errors), 'korjaamaton virhe', 'korjaamatonta virhettä')}, "
                         "joka muuttaa raportin sisältöä:" if len(self.open_errors) == 1 else
                         f"hbeval: aineistossa on {len(self.open_errors)} korjaamatonta virhettä, jotka muuttavat "
                         "raportin sisältöä:")
            lines += [f.text() for f in self.open_errors]
        if self.acknowledged:
            lines.append(f"Kuitatut virheet ({len(self.acknowledged)}; kuittauslista {self._ack_name()}):")
            lines += [f.text() for f in self.acknowledged]
        warns = self.warnings
        if warns:
            lines.append(f"Varoitukset ({len(warns)}):")
            lines += [f.text() for f in warns]
        if self.open_errors:
            lines.append(
                "Raporttia ei koottu." if not draft else
                "--draft: raportti koottiin silti; jokaisella sivulla on luonnosmerkintä.")
            lines.append("Korjaa raakatiedostot ja aja hbeval build uudelleen. Jos havainto on tarkistettu ja "
                         f"hyväksytty sellaisenaan, lisää sen id ja perustelu kuittauslistaan {self._ack_name()} "
                         "(ohje: data/README.md). Luonnoksen saa koottua komennolla hbeval build --draft.")
        return "\n".join(lines)

    def _ack_name(self) -> str:
        p = self.ack_path or DEFAULT_ACKNOWLEDGEMENTS
        try:
            return Path(p).resolve().relative_to(REPO_ROOT).as_posix()
        except ValueError:
            return str(p)


def evaluate(processed_dir: str | os.PathLike, cfg: Config | None = None, ack_path: str | os.PathLike | None = None,
             raw_dir: str | os.PathLike | None = None) -> Verdict:
    """The gate's verdict on an intake output: findings (intake's + derived), acknowledgements applied."""
    cfg = cfg or load_config()
    processed_dir = Path(processed_dir)
    path = acknowledgements_path(cfg, ack_path)
    findings = read_findings(processed_dir)
    findings += unlinkable_pilots(processed_dir, cfg)
    findings += count_drops(processed_dir, cfg, Path(raw_dir) if raw_dir else None)
    findings += rejected_group_mismatches(processed_dir)
    findings += rejected_rows(processed_dir)
    acks, bad = load_acknowledgements(path)
    for f in findings:
        if f.severity != ERROR:
            continue
        for a in acks:
            if a.matches(f):
                a.used += 1
                f.acknowledged = {"reason": a.reason, "by": a.by, "date": a.date, "entry": a.label}
                break
    findings += bad
    for a in acks:
        if not a.used:
            findings.append(Finding("unused_acknowledgement", file=path.name, detail=a.label,
                                    found=f"kuittaus {a.label!r} ei vastaa yhtään tämän aineiston virhettä",
                                    action="Poista kohta kuittauslistasta, jos virhe on korjattu."))
    order = {ERROR: 0, WARNING: 1, INFO: 2}
    findings.sort(key=lambda f: (order[f.severity], bool(f.acknowledged)))
    return Verdict(findings, acks, path)


class GateError(RuntimeError):
    """The build stopped at the gate; the message is the Finnish summary."""

    def __init__(self, verdict: Verdict):
        super().__init__(verdict.summary())
        self.verdict = verdict


ACK_USED_FILE = "gate_acknowledgements_used.txt"


# ---------------------------------------------------------------------------------------------------------------------
# what the book shows
# ---------------------------------------------------------------------------------------------------------------------
def _public(f: Finding) -> dict:
    """What the book may show of a finding: kind, instrument, rows and the acknowledgement — no file names
    (they may hold client numbers), no rows, no values."""
    return {"kind": f.kind, "title": KIND_TITLES.get(f.kind, f.kind),
            "instrument": INSTRUMENT_TITLES.get(f.instrument, f.instrument), "rows": f.rows,
            "reason": (f.acknowledged or {}).get("reason", ""), "by": (f.acknowledged or {}).get("by", ""),
            "date": (f.acknowledged or {}).get("date", "")}


def book_status(processed_dir: str | os.PathLike, cfg: Config | None = None,
                ack_path: str | os.PathLike | None = None) -> dict:
    """The gate's state for the book's pages: ``draft`` (open errors: banner on every page), the open errors and
    the acknowledged errors (public fields only). Recomputed from the processed folder, so ``hbeval run`` after a
    ``--draft`` build (or on data that never passed the gate) also gets the banner. Without ``ack_path`` the list
    the last ``hbeval build`` used on this processed folder is taken (else the default list)."""
    used = Path(processed_dir) / ACK_USED_FILE
    if ack_path is None and used.exists():
        ack_path = used.read_text(encoding="utf-8").strip() or None
    verdict = evaluate(processed_dir, cfg, ack_path)
    return {"passed": verdict.passed, "draft": not verdict.passed,
            "banner": DRAFT_BANNER if not verdict.passed else "",
            "open_errors": [_public(f) for f in verdict.open_errors],
            "acknowledged": [_public(f) for f in verdict.acknowledged],
            "not_read": not_read_summary(verdict.findings)}


def not_read_summary(findings: Iterable[Finding]) -> list[dict]:
    """Per instrument: files whose rows were not read, and their rows (None when unknown)."""
    out: dict[str, dict] = {}
    for f in findings:
        if f.kind not in NOT_READ_KINDS:
            continue
        key = f.instrument or "(ei mittaria)"
        d = out.setdefault(key, {"instrument": key, "files": 0, "rows": 0, "unknown": 0})
        d["files"] += 1
        if f.rows is None:
            d["unknown"] += 1
        else:
            d["rows"] += int(f.rows)
    return [out[k] for k in sorted(out)]
