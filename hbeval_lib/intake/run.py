"""``hbeval intake``: read every raw instrument, validate, link, drop identifiers, write tidy tables.

Output (``--out``): ``<table>.parquet`` for every table of :data:`hbeval_lib.core.schema.TABLES`, and the
accounting files ``quarantine.csv`` (rejected rows), ``reconciliation.csv`` (per file and sheet:
read = accepted + skipped + rejected) and ``flags.csv`` (kept rows with a data-quality note).
Column documentation and the reason vocabulary: ``data/README.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from hbeval_lib.config import Config, load_config
from hbeval_lib.intake.instruments import (ACCOUNT_COLUMNS, INSTRUMENTS, MARKDOWN_INSTRUMENTS, RECON_COLUMNS, Context, Roster,
                          process_sheet)
from hbeval_lib.intake import gate
from hbeval_lib.intake.markdown import read_markdown_instrument
from hbeval_lib.intake.instruments.base import R_UNREADABLE, SheetSpec, header_matches, slug
from hbeval_lib.intake.readers import grid as G
from hbeval_lib.core.fileio import file_hash, sha256_hex
from hbeval_lib.core.schema import TABLES

ACCOUNT_FILES = ("quarantine.csv", "reconciliation.csv", "flags.csv")


@dataclass
class IntakeReport:
    """What intake did: the three accounting tables, unreadable-file messages and warnings."""

    reconciliation: pd.DataFrame
    quarantine: pd.DataFrame
    flags: pd.DataFrame
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    table_rows: dict[str, int] = field(default_factory=dict)
    findings: list = field(default_factory=list)  # gate.Finding: what intake found about the files

    @property
    def n_rejected(self) -> int:
        """Rejected rows plus unreadable files."""
        return int(len(self.quarantine))

    def exit_code(self, strict: bool) -> int:
        """1 when ``strict`` and anything was rejected or unreadable, else 0."""
        return 1 if strict and (self.n_rejected or self.errors) else 0

    def summary(self) -> str:
        """A short plain-text summary: counts per instrument, reasons, unreadable files, warnings."""
        lines = ["hbeval intake — yhteenveto (read / accepted / skipped / rejected / excluded_no_consent)"]
        rec = self.reconciliation
        if len(rec):
            by = rec.groupby("instrument", sort=False)[["read", "accepted", "skipped", "rejected",
                                                        "excluded_no_consent"]].sum()
            width = max(len(i) for i in by.index)
            for inst, r in by.iterrows():
                lines.append(f"  {inst:<{width}}  {r['read']:>7} {r['accepted']:>7} {r['skipped']:>6} "
                             f"{r['rejected']:>6} {r['excluded_no_consent']:>6}")
            t = by.sum()
            lines.append(f"  {'yhteensä':<{width}}  {t['read']:>7} {t['accepted']:>7} {t['skipped']:>6} "
                         f"{t['rejected']:>6} {t['excluded_no_consent']:>6}")
        if len(self.quarantine):
            reasons = Counter(self.quarantine["reason"])
            lines.append("Hylätyt rivit syittäin (quarantine.csv): "
                         + ", ".join(f"{k} {v}" for k, v in sorted(reasons.items())))
        else:
            lines.append("Ei hylättyjä rivejä.")
        if len(self.flags):
            lines.append("Laatuhuomiot (flags.csv): "
                         + ", ".join(f"{k} {v}" for k, v in sorted(Counter(self.flags["reason"]).items())))
        for e in self.errors:
            lines.append(f"LUKUVIRHE: {e}")
        for w in self.warnings:
            lines.append(f"VAROITUS: {w}")
        return "\n".join(lines)

    def finding(self, f: "gate.Finding") -> None:
        self.findings.append(f)


# --- helpers ----------------------------------------------------------------------------------------
def raw_files(folder: Path) -> list[Path]:
    """The ``.xlsx`` / ``.csv`` files of a folder in name order; lock files (``~$``) and dot files ignored."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and p.suffix.lower() in (".xlsx", ".csv") and not p.name.startswith(("~$", ".")))


def _sheet_specs(folder: str, path: Path) -> list[tuple[SheetSpec, str | None]]:
    """The sheet specs that apply to a file, with the sheet to read (None = first sheet)."""
    inst = INSTRUMENTS[folder]
    if folder == "asiakaskysely":
        tokens = set(re.split(r"[^a-z0-9äö]+", path.stem.casefold()))
        if "verrokki" in tokens:
            return [(inst.sheets[1], None)]
        if "hb" in tokens:
            return [(inst.sheets[0], None)]
    return [(s, s.sheet) for s in inst.sheets]


def _coerce(values: list, dtype: str) -> Any:
    s = pd.Series(values, dtype=object)
    if dtype == "str":
        return s.where(s.notna(), None).astype("str")
    if dtype == "date":
        return pd.to_datetime(s, errors="raise").astype("datetime64[ns]")
    if dtype == "float":
        return pd.to_numeric(s, errors="raise").astype("float64")
    if dtype == "Int64":
        return pd.array([None if v is None or v != v else int(v) for v in values], dtype="Int64")
    if dtype == "bool":
        return s.fillna(False).astype(bool)
    raise ValueError(f"unknown dtype {dtype}")


def _infer_survey(values: list) -> tuple[list, str]:
    """Type of a survey item column: 1–5 integers -> Int64, single option letters -> str, else text."""
    present = [v for v in values if v is not None and not (isinstance(v, float) and v != v) and str(v).strip()]
    ints = []
    for v in present:
        try:
            f = float(str(v).replace(",", "."))
        except ValueError:
            break
        if not f.is_integer():
            break
        ints.append(int(f))
    if present and len(ints) == len(present):
        return [None if v is None or (isinstance(v, float) and v != v) or not str(v).strip()
                else int(float(str(v).replace(",", "."))) for v in values], "Int64"
    out = []
    for v in values:
        t = None if v is None or (isinstance(v, float) and v != v) else " ".join(str(v).split())
        if isinstance(v, float) and v.is_integer():
            t = str(int(v))
        out.append(t or None)
    if present and all(len(str(t)) == 1 and str(t).isalpha() for t in out if t):
        out = [t.casefold() if t else None for t in out]
    return out, "str"


def build_table(name: str, records: list[dict], extra: list[str] | None = None) -> pd.DataFrame:
    """A tidy table from accepted records with the schema's columns and dtypes (plus ``extra`` columns)."""
    schema = TABLES[name]
    cols: dict[str, Any] = {}
    for col, dtype in schema.items():
        cols[col] = _coerce([r.get(col) for r in records], dtype)
    for col in extra or []:
        vals = [r.get(col) for r in records]
        if name == "asiakaskysely":
            vals, dtype = _infer_survey(vals)
        elif name == "lahtokysely" and col.startswith("s"):
            dtype = "Int64"
        else:
            dtype = "str"
        cols[col] = _coerce(vals, dtype)
    return pd.DataFrame(cols)


def _extra_columns(name: str, records: list[dict]) -> list[str]:
    if name not in ("asiakaskysely", "lahtokysely", "avustajakysely"):
        return []
    seen: list[str] = []
    for spec_inst in INSTRUMENTS.values():
        for s in spec_inst.sheets:
            if s.table == name:
                for f in s.fields:
                    if f.name not in TABLES[name] and not f.name.startswith("_") and f.name not in seen:
                        seen.append(f.name)
    if name == "asiakaskysely":  # only the items present in some file
        present = set().union(*(r.keys() for r in records)) if records else set()
        present_nonempty = {k for k in present if any(r.get(k) is not None for r in records)}
        keep = [c for c in seen if c.startswith("q") and (c in present_nonempty)]
        keep.sort(key=lambda c: tuple(int(x) for x in c[1:].split("_")))
        return keep
    return seen


def _tyoaika_month(df: pd.DataFrame) -> pd.DataFrame:
    if len(df):
        ym = df["date"].dt.strftime("%Y-%m")
        month = ym.groupby(df["source_file_id"]).agg(lambda s: s.value_counts().sort_index().idxmax())
        df["month"] = df["source_file_id"].map(month).astype("str")
    return df


def _read_markdown(folder: Path, instrument: str, cfg: Config, report: IntakeReport,
                   qrows: list, frows: list, recon: list) -> pd.DataFrame | None:
    df, rec_rows, fq = read_markdown_instrument(folder, instrument, cfg)
    recon.extend({k: r.get(k) for k in RECON_COLUMNS} for r in rec_rows)
    for r in fq:
        (frows if r.get("kind") == "flag" else qrows).append({k: r.get(k) for k in ACCOUNT_COLUMNS})
    return df


# --- the run --------------------------------------------------------------------------------------------
def run_intake(raw_dir: str | Path, out_dir: str | Path, cfg: Config | None = None, strict: bool = False,
               progress: bool = False) -> IntakeReport:
    """Read, validate and link every instrument under ``raw_dir``; write tables and accounting to ``out_dir``.

    Parameters
    ----------
    raw_dir : path
        The raw-data root with one folder per instrument (data contract §1).
    out_dir : path
        Created if missing; ``<table>.parquet`` for every schema table plus the accounting files.
    cfg : Config, optional
        Defaults to :func:`hbeval_lib.config.load_config`.
    strict : bool
        Kept for the API; the exit code is decided by :meth:`IntakeReport.exit_code`.
    progress : bool
        Show a tqdm progress bar on stderr while files are read.

    Returns
    -------
    IntakeReport
    """
    from tqdm import tqdm

    cfg = cfg or load_config()
    raw_dir, out_dir = Path(raw_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    column_maps = cfg.section("column_maps") or {}
    final_cutoff = max(p.cutoff for p in cfg.phases) if cfg.phases else None
    report = IntakeReport(pd.DataFrame(), pd.DataFrame(), pd.DataFrame())
    roster = Roster()
    records: dict[str, list[dict]] = {t: [] for t in TABLES}
    qrows: list[dict] = []
    frows: list[dict] = []
    recon: list[dict] = []
    if not raw_dir.is_dir():
        report.errors.append(f"raakakansiota ei löydy: {raw_dir}")
    else:
        for f in scan_tree(raw_dir, column_maps):
            report.finding(f)

    jobs = [(folder, p) for folder in INSTRUMENTS for p in raw_files(raw_dir / folder)]
    for folder in list(INSTRUMENTS) + list(MARKDOWN_INSTRUMENTS):
        if raw_dir.is_dir() and not (raw_dir / folder).is_dir():
            optional = folder in INSTRUMENTS and INSTRUMENTS[folder].optional
            if not optional:
                report.warnings.append(f"{folder}/: kansio puuttuu — tämän mittarin aineistoa ei ole")
            report.finding(gate.Finding("folder_missing", instrument=folder, severity=gate.INFO if optional else "",
                                        found=f"kansiota {folder}/ ei ole; mittarin "
                                              f"{gate.INSTRUMENT_TITLES.get(folder, folder)} aineistoa ei ole",
                                        action=f"Jos aineistoa on, tallenna se kansioon {folder}/."))
    seq: Counter = Counter()
    shared = dict(rows_seen={}, overlaps={}, file_keys={})
    notes: list[tuple] = []
    digests: dict[str, list[str]] = {}
    for folder, path in tqdm(jobs, desc="intake", unit="file", disable=not progress, file=sys.stderr):
        seq[folder] += 1
        rel = path.relative_to(raw_dir).as_posix()
        digests.setdefault(pipeline_sha(path), []).append(rel)
        specs = _sheet_specs(folder, path)
        try:
            wb = G.read_file(path)
        except G.UnreadableFile as exc:
            _unreadable(report, qrows, recon, folder, rel, exc.sheet, str(exc), exc.column, exc.action)
            continue
        cmap = column_maps.get(folder) or {}
        named = {G.norm_header(s) for _, s in specs if s is not None}
        claimed = {n for n in wb.sheets if G.norm_header(n) in named}
        failures: list[tuple] = []
        read_any = False
        targets = []
        for spec, sheet in specs:
            sheet_name, grid, how = _find_sheet(spec, sheet, wb, cmap, claimed)
            if sheet_name is None:
                failures.append(("sheet_not_found", grid))
                continue
            claimed.add(sheet_name)
            targets.append((spec, sheet, sheet_name, grid, how))
            if sheet is None and how != "best_guess":  # every further sheet holding the same form is read too
                for n in wb.sheets:
                    if n not in claimed and header_matches(spec, wb.sheets[n], cmap):
                        claimed.add(n)
                        targets.append((spec, sheet, n, wb.sheets[n], "additional"))
        for spec, sheet, sheet_name, grid, how in targets:
            try:
                ctx = Context(cfg, roster, folder, rel, sheet_name, seq[folder], final_cutoff, **shared)
                res = process_sheet(spec, grid, ctx, cmap)
            except G.UnreadableFile as exc:
                failures.append(("unreadable_file", G.UnreadableFile(str(exc), exc.sheet or sheet_name, exc.column,
                                                                     exc.action)))
                continue
            read_any = True
            if how not in ("as_expected", "best_guess"):
                report.finding(_sheet_elsewhere(folder, rel, sheet, sheet_name, how, list(wb.sheets)))
            notes.extend((folder, rel, sheet_name, *n) for n in ctx.notes)
            _merged_findings(report, folder, rel, sheet_name, wb.merged.get(sheet_name, []), grid, res.header_row)
            records[spec.table].extend(dict(r, _file=rel, _sheet=sheet_name) for r in res.records)
            qrows.extend(res.quarantine)
            frows.extend(ctx.flags)
            recon.append(dict(instrument=folder, file=rel, sheet=sheet_name, read=res.read, accepted=res.accepted,
                              skipped=res.skipped, rejected=res.rejected, excluded_no_consent=res.excluded))
        if read_any:
            for f in _unread_sheets(folder, rel, wb, claimed):
                report.finding(f)
        if failures:
            guess = None if read_any else identify_form(wb, column_maps, exclude=folder)
            if guess is not None:
                report.finding(_misplaced(folder, rel, guess))
            for kind, exc in failures:
                _unreadable(report, qrows, recon, folder, rel, exc.sheet, str(exc), exc.column, exc.action,
                            rows=_content_rows(wb, exc.sheet), kind=kind, finding=guess is None)
    for f in _duplicate_findings(shared, digests):
        report.finding(f)
    for folder, rel, sheet_name, kind, row, column, text in notes:
        report.finding(gate.Finding(kind, instrument=folder, file=rel, sheet=sheet_name, row=row, column=column,
                                    detail=f"r{row}", found=text,
                                    action="Tarkista asiakasnumero ja asiakkaan tiedot: kahdella eri asiakkaalla "
                                           "ei voi olla samaa numeroa. Korjaa numero tai poista ylimääräinen rivi."))
    for f in profile_conflicts(records, cfg):
        report.finding(f)
    qual = []
    for folder in MARKDOWN_INSTRUMENTS:
        if (raw_dir / folder).is_dir():
            df = _read_markdown(raw_dir / folder, folder, cfg, report, qrows, frows, recon)
            if df is not None:
                qual.append(df)

    # tables
    for name in TABLES:
        recs = sorted(records[name], key=lambda r: (r["_file"], r["_sheet"], r["_row"]))
        if name == "qualitative" and qual:
            df = pd.concat(qual, ignore_index=True)
            df = df[[c for c in TABLES[name] if c in df.columns]]
        else:
            df = build_table(name, recs, _extra_columns(name, recs))
        if name == "tyoaika":
            df = _tyoaika_month(df)
        df.to_parquet(out_dir / f"{name}.parquet", index=False)
        report.table_rows[name] = len(df)

    report.quarantine = _accounts(qrows, ACCOUNT_COLUMNS)
    report.flags = _accounts(frows, ACCOUNT_COLUMNS)
    report.reconciliation = _accounts(recon, RECON_COLUMNS)
    report.quarantine.to_csv(out_dir / "quarantine.csv", index=False)
    report.flags.to_csv(out_dir / "flags.csv", index=False)
    report.reconciliation.to_csv(out_dir / "reconciliation.csv", index=False)
    gate.write_findings(out_dir, report.findings)
    return report


def _unreadable(report: IntakeReport, qrows: list, recon: list, folder: str, rel: str, sheet: str, message: str,
                column: str, action: str = "", rows: int | None = None, kind: str = "unreadable_file",
                finding: bool = True) -> None:
    where = f"{rel}" + (f", välilehti {sheet!r}" if sheet else "")
    report.errors.append(f"{where}: {message}")
    if finding:
        not_read = ("rivien määrä ei ole tiedossa" if rows is None else
                    f"sen {rows} ei-tyhjää riviä jäivät lukematta")
        report.finding(gate.Finding(kind, instrument=folder, file=rel, sheet=sheet, column=column, rows=rows,
                                    found=f"{message}; tiedostoa ei luettu ({not_read})",
                                    action=action or G.ACTION_RESAVE))
    qrows.append(dict(instrument=folder, file=rel, sheet=sheet, row=None, column=column, value="",
                      reason=R_UNREADABLE))
    recon.append(dict(instrument=folder, file=rel, sheet=sheet, read=0, accepted=0, skipped=0, rejected=0,
                      excluded_no_consent=0))


# --- intake's findings about the files (gate.Finding; severities and the verdict: hbeval_lib.intake.gate) -----------------
IGNORED_AT_ROOT = {"truth.json", "faults.md", "readme.md", "readme.txt", "lueminut.txt"}
SPREADSHEET_LIKE = {".xls", ".xlsm", ".xlsb", ".ods", ".tsv", ".txt", ".numbers"}


def pipeline_sha(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def _find_sheet(spec: SheetSpec, wanted: str | None, wb: G.Workbook, cmap: dict, claimed: set
                ) -> tuple[str | None, Any, str]:
    """The sheet holding ``spec``'s table: ``(name, grid, how)`` or ``(None, UnreadableFile, "")``.

    ``wanted`` None = the first sheet whose headers match (an instructions sheet in front is passed over);
    a named sheet is taken by its name, else the first unclaimed sheet whose headers match.
    ``how``: ``as_expected``, ``behind_other_sheets``, ``renamed``, or ``best_guess`` (no sheet matches: the closest
    one, whose processing reports the missing headers).
    """
    names = list(wb.sheets)
    if not names:
        return None, G.UnreadableFile("työkirjassa ei ole yhtään välilehteä", action=G.ACTION_RESAVE), ""
    if wanted is None:
        for n in names:
            if header_matches(spec, wb.sheets[n], cmap):
                return n, wb.sheets[n], "as_expected" if n == names[0] else "behind_other_sheets"
        # no sheet matches: report the sheet that comes closest (most required headers), else the first one
        best = max(names, key=lambda n: (_partial_match(spec, wb.sheets[n], cmap), -names.index(n)))
        return best, wb.sheets[best], "best_guess"
    for n in names:
        if G.norm_header(n) == G.norm_header(wanted):
            return n, wb.sheets[n], "as_expected"
    for n in names:
        if n not in claimed and header_matches(spec, wb.sheets[n], cmap):
            return n, wb.sheets[n], "renamed"
    try:
        wb.sheet(wanted)
    except G.UnreadableFile as exc:
        return None, exc, ""
    raise AssertionError("unreachable")


def _partial_match(spec: SheetSpec, grid: list, cmap: dict) -> int:
    known = spec.known(cmap)
    return max((len(G.match_headers(r, known)) for r in grid[:60]), default=0)


def _unread_sheets(folder: str, rel: str, wb: G.Workbook, read: set) -> list["gate.Finding"]:
    """Sheets of a workbook that were not read: a warning when they look like a table (two or more rows of three or
    more filled cells), else an info (an instructions sheet)."""
    out = []
    for name, grid in wb.sheets.items():
        if name in read:
            continue
        filled = [sum(not G.is_empty(c) for c in r) for r in grid]
        n = sum(1 for k in filled if k)
        if not n:
            continue
        table = sum(1 for k in filled if k >= 3) >= 2
        out.append(gate.Finding(
            "other_sheet_not_read", instrument=folder, file=rel, sheet=name, rows=n,
            severity=gate.WARNING if table else gate.INFO,
            found=f"välilehteä {name!r} ({n} ei-tyhjää riviä) ei luettu: sen otsikot eivät ole lomakkeen otsikot",
            action=("Jos välilehdellä on aineistoa, korjaa sen otsikkorivi lomakkeen mukaiseksi; ohjevälilehti "
                    "voi jäädä sellaisenaan.")))
    return out


def _sheet_elsewhere(folder: str, rel: str, wanted: str | None, found: str, how: str, names: list) -> "gate.Finding":
    if how == "additional":
        return gate.Finding("data_sheet_elsewhere", instrument=folder, file=rel, sheet=found,
                            found=f"työkirjassa on useampi saman lomakkeen välilehti; myös välilehti {found!r} "
                                  "luettiin",
                            action="Ei toimenpiteitä tarvita, jos välilehdet ovat eri rivejä (päällekkäiset rivit "
                                   "on ilmoitettu erikseen).")
    if how == "renamed":
        return gate.Finding("data_sheet_elsewhere", instrument=folder, file=rel, sheet=found, severity=gate.WARNING,
                            found=f"välilehteä {wanted!r} ei ole; sen taulukko löytyi välilehdeltä {found!r} "
                                  f"(välilehdet {names}) ja luettiin sieltä",
                            action=f"Nimeä välilehti {wanted!r}:ksi, niin tiedosto on sopimuksen mukainen.")
    return gate.Finding("data_sheet_elsewhere", instrument=folder, file=rel, sheet=found,
                        found=f"tietovälilehti {found!r} ei ole työkirjan ensimmäinen (välilehdet {names}); "
                              "taulukko luettiin siltä",
                        action="Ei toimenpiteitä tarvita.")


def _content_rows(wb: G.Workbook, sheet: str | None) -> int | None:
    """Non-empty rows of a sheet (all sheets when ``sheet`` is not one of them); None when nothing was read."""
    grids = [wb.sheets[sheet]] if sheet in wb.sheets else list(wb.sheets.values())
    n = sum(1 for g in grids for r in g if not all(G.is_empty(c) for c in r))
    return n if grids else None


def identify_form(wb: G.Workbook, column_maps: dict, exclude: str = "") -> tuple[str, str, int] | None:
    """Which instrument's form a workbook holds, by its headers and header block: ``(folder, sheet, data rows)``.

    Every sheet spec of every instrument is tried on every sheet; the best match (most matched headers and
    header-block labels) wins. None when no instrument's required headers are all present.
    """
    best: tuple[int, str, str, int] | None = None
    for folder, inst in INSTRUMENTS.items():
        if folder == exclude:
            continue
        cmap = column_maps.get(folder) or {}
        for spec in inst.sheets:
            known = spec.known(cmap)
            required = {f.name for f in spec.fields if f.required}
            for name, grid in wb.sheets.items():
                rows = grid[:60]
                if spec.header_canon is not None:
                    rows = [tuple(spec.header_canon(G.norm_header(c)) for c in r) for r in rows]
                try:
                    hdr, cols = G.find_header_row(rows, known, required)
                except G.UnreadableFile:
                    continue
                labels = {G.norm_header(h): f.name for f in spec.block for h in f.headers}
                score = len(cols) + 2 * len(G.read_header_block(grid, hdr, labels)) if labels else len(cols)
                data_rows = sum(1 for r in grid[hdr + 1:] if not all(G.is_empty(c) for c in r))
                if best is None or score > best[0]:
                    best = (score, folder, name, data_rows)
    return None if best is None else best[1:]


def _misplaced(folder: str, rel: str, guess: tuple[str, str, int]) -> "gate.Finding":
    target, sheet, rows = guess
    title = gate.INSTRUMENT_TITLES.get(target, target)
    return gate.Finding("misplaced_form", instrument=folder, file=rel, sheet=sheet, rows=rows,
                        found=f"tiedosto on kansiossa {folder}/, mutta sen sarakeotsikot ovat lomakkeen "
                              f"{title} otsikot; sen {rows} riviä jäivät lukematta",
                        action=f"Siirrä tiedosto kansioon {target}/ ja aja hbeval build uudelleen.")


def scan_tree(raw_dir: Path, column_maps: dict) -> list["gate.Finding"]:
    """Files the instrument folders do not cover: at the raw root, in unknown folders or subfolders, and files
    in a format intake does not read. Each is named with the folder it seems to belong to."""
    out = []
    known_folders = set(INSTRUMENTS) | set(MARKDOWN_INSTRUMENTS)
    for p in sorted(raw_dir.rglob("*")):
        rel = p.relative_to(raw_dir)
        if not p.is_file() or any(part.startswith((".", "~$")) for part in rel.parts):
            continue
        parts, suffix, name = rel.parts, p.suffix.lower(), rel.as_posix()
        top = parts[0] if len(parts) > 1 else ""
        if len(parts) == 1 and p.name.casefold() in IGNORED_AT_ROOT:
            continue
        if top in INSTRUMENTS and len(parts) == 2:
            if suffix in (".xlsx", ".csv"):
                continue
            if suffix in SPREADSHEET_LIKE:
                out.append(gate.Finding("unsupported_file", instrument=top, file=name,
                                        found=f"tiedostomuotoa {suffix} ei lueta; tiedoston rivit jäivät lukematta",
                                        action="Tallenna tiedosto Excel-työkirjana (.xlsx) tai CSV-tiedostona "
                                               "(.csv) samaan kansioon ja poista alkuperäinen."))
            else:
                out.append(gate.Finding("other_file", instrument=top, file=name,
                                        found=f"kansiossa on tiedosto, jota ei lueta (muoto {suffix or 'ei päätettä'})",
                                        action="Siirrä tiedosto pois raakakansiosta, jos se ei ole aineistoa."))
            continue
        if top in MARKDOWN_INSTRUMENTS and len(parts) == 2:
            if suffix != ".md":
                out.append(gate.Finding("other_file", instrument=top, file=name,
                                        found=f"kansiossa on tiedosto, jota ei lueta (vain .md-tiedostot luetaan)",
                                        action="Tallenna teksti Markdown-tiedostona (.md) tai siirrä tiedosto pois."))
            continue
        # outside the contract's folders
        where = ("raakakansion juuressa" if len(parts) == 1 else
                 f"kansiossa {Path(name).parent.as_posix()}/, joka ei ole sopimuksen mukainen kansio")
        target, rows = None, None
        if suffix in (".xlsx", ".csv"):
            try:
                guess = identify_form(G.read_file(p), column_maps)
            except G.UnreadableFile:
                guess = None
            if guess is not None:
                target, _, rows = guess
        if target is None:
            stem = slug(parts[-2] if len(parts) > 1 else p.stem)
            target = next((k for k in sorted(known_folders, key=len, reverse=True) if stem.startswith(k)
                           or k in stem.split("_")), None)
        if target is None and suffix == ".md":
            target = "paivakirjat tai tyopajat"
        lost = "rivien määrä ei ole tiedossa" if rows is None else f"sen {rows} riviä jäivät lukematta"
        action = (f"Siirrä tiedosto kansioon {target}/ (sopimuksen kansiot: data-contract §1) ja aja hbeval build "
                  "uudelleen." if target else
                  "Siirrä tiedosto oikean mittarin kansioon (data-contract §1) tai pois raakakansiosta.")
        out.append(gate.Finding("file_outside_folders", instrument=top if top in known_folders else "",
                                file=name, rows=rows,
                                found=f"tiedosto on {where}, eikä sitä luettu ({lost})"
                                      + (f"; se näyttää mittarin {gate.INSTRUMENT_TITLES.get(target, target)} "
                                         "lomakkeelta" if target else ""),
                                action=action))
    return out


def _merged_findings(report: IntakeReport, folder: str, rel: str, sheet: str, ranges: list[str], grid: list,
                     header_row: int) -> None:
    """An error for every merged range that reaches below the header row (a merged value fills one cell only)."""
    from openpyxl.utils.cell import get_column_letter, range_boundaries

    header = grid[header_row - 1] if 0 < header_row <= len(grid) else ()
    for coord in ranges:
        c1, r1, c2, r2 = range_boundaries(coord)
        if r2 <= header_row:
            continue  # a title or a group header above the table: harmless
        cols = [str(header[c - 1]).strip() for c in range(c1, c2 + 1) if c - 1 < len(header) and header[c - 1]]
        col_txt = ", ".join(repr(c) for c in cols) or f"{get_column_letter(c1)}–{get_column_letter(c2)}"
        report.finding(gate.Finding(
            "merged_cells", instrument=folder, file=rel, sheet=sheet, row=max(r1, header_row + 1),
            column=", ".join(cols), detail=coord, rows=r2 - max(r1, header_row + 1) + 1,
            found=(f"solut {coord} (sarake {col_txt}, rivit {max(r1, header_row + 1)}–{r2}) on yhdistetty: arvo on "
                   "vain ensimmäisessä solussa, joten muilla riveillä sarake on tyhjä (rivit voivat hylkääntyä syyllä "
                   "missing_value, ja asiakkaan muut rivit syyllä unknown_client)"),
            action=("Pura solujen yhdistäminen (Excel: Aloitus → Yhdistä ja keskitä → Pura solut), kirjoita arvo "
                    "jokaiselle riville ja aja hbeval build uudelleen.")))


def _duplicate_findings(shared: dict, digests: dict[str, list[str]]) -> list["gate.Finding"]:
    """Files whose rows are all in another file (a copy or an older version), and rows repeated across files."""
    out = []
    same_bytes = {f: files[0] for files in digests.values() for f in files[1:]}
    keys = shared["file_keys"]
    for ((f1, s1), (f2, s2)), (n, row, first_row) in sorted(shared["overlaps"].items()):
        a, b = len(keys.get((f1, s1), ())), len(keys.get((f2, s2), ()))
        folder = f2.split("/")[0]
        first = f1 + (f" [{s1}]" if s1 and f1 == f2 else "")
        if n >= b or n >= a:
            if same_bytes.get(f2) == f1:
                what = "tiedostot ovat tavu tavulta samat"
            elif a == b:
                what = f"tässä ja kohteessa {first} on täsmälleen samat rivit"
            elif b < a:
                what = f"kaikki tämän välilehden {b} eri riviä ovat myös kohteessa {first} (vanhempi versio?)"
            else:
                what = f"kaikki kohteen {first} {a} eri riviä ovat myös tässä (päivitetty versio?)"
            out.append(gate.Finding(
                "duplicate_file", instrument=folder, file=f2, sheet=s2 if f1 == f2 else "", row=row, rows=n,
                detail=f"= {first}",
                found=(f"sama aineisto kahdesti: {what}. Tämän tiedoston {n} päällekkäistä riviä laskettiin vain "
                       f"kerran (hylätty syyllä duplicate_across_files; ensimmäinen esiintymä {first}, "
                       f"rivi {first_row})"),
                action=(f"Säilytä vain yksi tiedosto tai välilehti (uusin versio) ja poista toinen kansiosta "
                        f"{folder}/; aja sitten hbeval build uudelleen.")))
        else:
            out.append(gate.Finding(
                "duplicate_rows_across_files", instrument=folder, file=f2, sheet=s2 if f1 == f2 else "", row=row,
                rows=n, detail=f"= {first}",
                found=(f"{n} riviä on samoja kuin kohteessa {first} (ensimmäinen päällekkäinen rivi {row}, "
                       f"sama kuin rivi {first_row}); ne laskettiin vain kerran (hylätty syyllä "
                       "duplicate_across_files)"),
                action=("Tarkista, onko samat lomakkeet tallennettu kahteen tiedostoon tai välilehteen; poista "
                        "päällekkäiset rivit toisesta ja aja hbeval build uudelleen.")))
    return out


def _file_pilot(rel: str, cfg: Config) -> str | None:
    tokens = set(slug(Path(rel).stem).split("_"))
    hits = [p.key for p in cfg.pilots if p.key in tokens or slug(p.name) in tokens]
    return hits[0] if len(hits) == 1 else None


CLIENT_TABLES = ("clients", "kykyviisari", "osallisuustesti", "asiakaskysely", "esr", "tyoaika", "asiakaskulut",
                 "avustajakulut", "budgets", "budget_use", "services")
ONCE_PER_CLIENT = {"kykyviisari": ("occasion", ("alku", "loppu"), "Mittauskerta"),
                   "osallisuustesti": ("occasion", ("alku", "loppu"), "Mittauskerta"),
                   "esr": ("form", ("aloitus", "lopetus"), "Lomake")}
OCCASION_FI = {"alku": "alkumittaus", "loppu": "loppumittaus", "aloitus": "aloituslomake",
               "lopetus": "lopetuslomake"}


def profile_conflicts(records: dict[str, list[dict]], cfg: Config) -> list["gate.Finding"]:
    """Accepted rows whose client number points to another client profile: a pilot other than the file's (or the
    time-use form's), a survey form of the other arm, or a second baseline / end measurement."""
    out = []
    by_file: dict[tuple, list] = {}
    for table in CLIENT_TABLES:
        for rec in records.get(table, []):
            cid = rec.get("client_id")
            cid = getattr(cid, "client_id", cid)
            if not isinstance(cid, str) or len(cid) != 6 or not cid.isdigit():
                continue
            pilot = cfg.pilot_by_code(int(cid[0]))
            own = rec.get("pilot") if table == "tyoaika" else _file_pilot(rec["_file"], cfg)
            if pilot is not None and own and own != pilot.key:
                by_file.setdefault(("pilot", rec["_file"], rec["_sheet"], own, pilot.key), []).append(rec["_row"])
            if table == "asiakaskysely" and rec.get("arm") and rec.get("form") and rec["arm"] != rec["form"]:
                by_file.setdefault(("arm", rec["_file"], rec["_sheet"], rec["form"], rec["arm"]), []).append(rec["_row"])
    for (what, file, sheet, a, b), rows in sorted(by_file.items()):
        folder = file.split("/")[0]
        shown = ", ".join(str(r) for r in rows[:8]) + (" …" if len(rows) > 8 else "")
        if what == "pilot":
            found = (f"{len(rows)} rivin asiakasnumero kuuluu pilotille {cfg.pilot_by_key(b).name} (numeron "
                     f"ensimmäinen numero), vaikka tiedosto on pilotin {cfg.pilot_by_key(a).name} (rivit {shown}); "
                     "rivit on hyväksytty toisen pilotin asiakkaalle")
        else:
            found = (f"{len(rows)} vastausta on {a.upper() if a == 'hb' else a}-lomakkeella, mutta asiakas on "
                     f"asiakasrekisterissä ryhmässä {b} (rivit {shown})")
        out.append(gate.Finding(
            "client_profile_conflict", instrument=folder, file=file, sheet=sheet, row=rows[0], column="Asiakasnumero",
            rows=len(rows), detail=f"{what}-{a}-{b}", found=found,
            action=("Tarkista asiakasnumerot: näppäilyvirhe voi osua toisen asiakkaan numeroon. Korjaa numerot "
                    "(tai siirrä rivit oikeaan tiedostoon) ja aja hbeval build uudelleen.")))
    for table, (col, once, header) in ONCE_PER_CLIENT.items():
        seen: dict[tuple, dict] = {}
        ordered = sorted(records.get(table, []), key=lambda r: (r.get("date") or dt.date.min, r["_file"], r["_row"]))
        for rec in ordered:
            cid = rec.get("client_id")
            cid = getattr(cid, "client_id", cid)
            if rec.get(col) not in once or not cid:
                continue
            first = seen.setdefault((cid, rec[col]), rec)
            if first is rec:
                continue
            out.append(gate.Finding(
                "second_baseline", instrument=table, file=rec["_file"], sheet=rec["_sheet"], row=rec["_row"],
                column=header, detail=f"r{rec['_row']}", rows=1,
                found=(f"asiakkaalla on jo {OCCASION_FI[rec[col]]} ({first['_file']}, rivi {first['_row']}, "
                       f"{_d(first.get('date'))}); tämä rivi ({_d(rec.get('date'))}) on toinen. Todennäköisesti "
                       "asiakasnumerossa on näppäilyvirhe, joka osuu toisen asiakkaan numeroon, tai mittauskerta on "
                       "väärä"),
                action=("Tarkista rivin asiakasnumero ja mittauskerta (esim. väli); korjaa ne tai poista "
                        "ylimääräinen rivi ja aja hbeval build uudelleen.")))
    return out


def _d(d) -> str:
    return f"{d.day}.{d.month}.{d.year}" if d is not None else "ei päivämäärää"


def _accounts(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=columns)
    for c in columns:
        if c in ("row", "read", "accepted", "skipped", "rejected", "excluded_no_consent"):
            df[c] = pd.array([None if v is None or v != v else int(v) for v in df[c]], dtype="Int64")
        else:
            df[c] = df[c].where(df[c].notna(), "").astype("str")
    order = {f: i for i, f in enumerate(list(INSTRUMENTS) + list(MARKDOWN_INSTRUMENTS))}
    key = [c for c in ("file", "sheet", "row") if c in columns]
    df = df.assign(_o=df["instrument"].map(order).fillna(len(order)))
    return df.sort_values(["_o", *key], kind="mergesort", na_position="first").drop(columns="_o").reset_index(drop=True)


# --- CLI ----------------------------------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``hbeval intake``."""
    parser.add_argument("--raw", type=Path, default=None, help="raw-data root (default: the config's paths.raw)")
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default: the config's paths.processed)")
    parser.add_argument("--config", type=Path, default=None, help="configuration file (default: hbeval.yml)")
    parser.add_argument("--strict", action="store_true", help="exit non-zero when any row or file is rejected")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--acknowledgements", type=Path, default=None,
                        help="the reviewed list of acknowledged findings (default: data/kuitatut_havainnot.yml)")


def run_cli(args: argparse.Namespace) -> int:
    """Run ``hbeval intake``, print the summary and the gate's verdict; exit 1 on an unacknowledged error
    (or, with ``--strict``, on any rejected row or unreadable file)."""
    cfg = load_config(args.config)
    raw = args.raw or cfg.path_of("raw")
    out = args.out or cfg.path_of("processed")
    report = run_intake(raw, out, cfg, strict=args.strict, progress=not args.no_progress)
    print(report.summary())
    print(f"Taulut ja tilitys: {out}")
    verdict = gate.evaluate(out, cfg, getattr(args, "acknowledgements", None), raw)
    text = verdict.summary()
    if text:
        print(text)
    code = report.exit_code(args.strict)
    if code:
        print("--strict: hylättyjä rivejä tai lukukelvottomia tiedostoja — paluukoodi 1", file=sys.stderr)
    if not verdict.passed:
        print(f"hbeval intake: {gate.fi_count(len(verdict.open_errors), 'korjaamaton virhe', 'korjaamatonta virhettä')}"
              " — paluukoodi 1", file=sys.stderr)
        return 1
    gate.record_success(Path(out), Path(raw))
    return code


# ---------------------------------------------------------------------------------------------------------------------
# the processed tables' manifest: intake runs again only when the raw files changed
# ---------------------------------------------------------------------------------------------------------------------
MANIFEST = "_manifest.json"


def raw_fingerprint(raw_dir: Path) -> dict[str, str]:
    """Hash of every file under ``raw_dir`` keyed by its relative path (the raw data's fingerprint)."""
    raw_dir = Path(raw_dir)
    out = {}
    for p in sorted(raw_dir.rglob("*")):
        if p.is_file() and not p.name.startswith((".", "~$")):
            out[p.relative_to(raw_dir).as_posix()] = file_hash(p)
    return out


def fingerprint_digest(fingerprint: dict[str, str]) -> str:
    """One digest of a whole :func:`raw_fingerprint`."""
    return sha256_hex(json.dumps(fingerprint, sort_keys=True).encode())


# ---------------------------------------------------------------------------------------------------------------------
# intake staleness
# ---------------------------------------------------------------------------------------------------------------------
def is_demo_raw(raw_dir: Path) -> bool:
    """True for a synthetic raw set (the demo generator and the shared samples write ``truth.json``)."""
    return (Path(raw_dir) / "truth.json").exists()


def read_manifest(processed_dir: Path) -> dict:
    p = Path(processed_dir) / MANIFEST
    return json.loads(p.read_text(encoding="utf-8")) if p.exists() else {}


def processed_is_stale(raw_dir: Path, processed_dir: Path) -> bool:
    """True when the processed tables were not made from the current raw files (or not made at all)."""
    manifest = read_manifest(processed_dir)
    return manifest.get("raw_files") != raw_fingerprint(raw_dir)


def ensure_processed(raw_dir: Path, processed_dir: Path, cfg: Config | None = None, force: bool = False,
                     progress: bool = False) -> bool:
    """Run intake when the processed tables are missing or stale; return True when it ran.

    The manifest is written only after intake succeeded, so an interrupted intake is redone next time.
    """
    raw_dir, processed_dir = Path(raw_dir), Path(processed_dir)
    if not force and not processed_is_stale(raw_dir, processed_dir):
        return False
    processed_dir.mkdir(parents=True, exist_ok=True)
    (processed_dir / MANIFEST).unlink(missing_ok=True)
    run_intake(raw_dir, processed_dir, cfg=cfg, progress=progress)
    manifest = {"raw_files": raw_fingerprint(raw_dir), "demo": is_demo_raw(raw_dir),
                "intake_time": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
    manifest["raw_digest"] = fingerprint_digest(manifest["raw_files"])
    tmp = processed_dir / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, processed_dir / MANIFEST)
    return True


def check_build(raw_dir: Path, processed_dir: Path, cfg: Config | None = None, draft: bool = False,
                ack_path: str | os.PathLike | None = None, progress: bool = False) -> gate.Verdict:
    """The gate of ``hbeval build``: intake if stale, then the verdict.

    Raises :class:`GateError` when an unacknowledged error remains and ``draft`` is false. When the gate passes
    the current counts become those of the last successful intake (for the sharp-drop check).
    """
    cfg = cfg or load_config()
    # tables made by an intake without findings (an older version) are redone: the gate must see the files
    force = not (Path(processed_dir) / gate.FINDINGS_FILE).exists()
    ensure_processed(Path(raw_dir), Path(processed_dir), cfg, force=force, progress=progress)
    verdict = gate.evaluate(processed_dir, cfg, ack_path, raw_dir)
    # the book pages (bookpages.write_pages -> book_status) must judge with the same list
    (Path(processed_dir) / gate.ACK_USED_FILE).write_text(str(verdict.ack_path.resolve()), encoding="utf-8")
    if not verdict.passed and not draft:
        raise gate.GateError(verdict)
    if verdict.open_errors or verdict.acknowledged:
        print(verdict.summary(draft=draft), file=sys.stderr)
    if verdict.passed:
        gate.record_success(Path(processed_dir), Path(raw_dir))
    return verdict
