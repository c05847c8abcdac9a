"""``hbeval intake``: read every raw instrument, validate, link, drop identifiers, write tidy tables.

Output (``--out``): ``<table>.parquet`` for every table of :data:`hbeval_lib.schema.TABLES`, and the
accounting files ``quarantine.csv`` (rejected rows), ``reconciliation.csv`` (per file and sheet:
read = accepted + skipped + rejected) and ``flags.csv`` (kept rows with a data-quality note).
Column documentation and the reason vocabulary: ``data/README.md``.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .config import Config, load_config
from .instruments import (ACCOUNT_COLUMNS, INSTRUMENTS, MARKDOWN_INSTRUMENTS, RECON_COLUMNS, Context, Roster,
                          process_sheet)
from .instruments.base import R_UNREADABLE, SheetSpec
from .readers import grid as G
from .schema import TABLES

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
    try:
        from .qualitative import read_markdown_instrument  # owned by the qualitative strand
    except ImportError:
        report.warnings.append(f"{instrument}: hbeval_lib.qualitative.read_markdown_instrument is not available; "
                               "the Markdown files were not read")
        return None
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
        report.errors.append(f"raw-data folder not found: {raw_dir}")

    jobs = [(folder, p) for folder in INSTRUMENTS for p in raw_files(raw_dir / folder)]
    for folder in list(INSTRUMENTS) + list(MARKDOWN_INSTRUMENTS):
        if raw_dir.is_dir() and not (raw_dir / folder).is_dir():
            report.warnings.append(f"{folder}/: folder missing — no data for this instrument")
    seq: Counter = Counter()
    for folder, path in tqdm(jobs, desc="intake", unit="file", disable=not progress, file=sys.stderr):
        seq[folder] += 1
        rel = path.relative_to(raw_dir).as_posix()
        specs = _sheet_specs(folder, path)
        wanted = None if any(s is None for _, s in specs) else [s for _, s in specs]
        try:
            wb = G.read_file(path, wanted)
        except G.UnreadableFile as exc:
            _unreadable(report, qrows, recon, folder, rel, exc.sheet, str(exc), exc.column)
            continue
        for spec, sheet in specs:
            sheet_name = sheet or ""
            try:
                sheet_name, grid = wb.sheet(sheet)
                ctx = Context(cfg, roster, folder, rel, sheet_name, seq[folder], final_cutoff)
                res = process_sheet(spec, grid, ctx, column_maps.get(folder) or {})
            except G.UnreadableFile as exc:
                _unreadable(report, qrows, recon, folder, rel, exc.sheet or sheet_name, str(exc), exc.column)
                continue
            records[spec.table].extend(dict(r, _file=rel, _sheet=sheet_name) for r in res.records)
            qrows.extend(res.quarantine)
            frows.extend(ctx.flags)
            recon.append(dict(instrument=folder, file=rel, sheet=sheet_name, read=res.read, accepted=res.accepted,
                              skipped=res.skipped, rejected=res.rejected, excluded_no_consent=res.excluded))
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
    return report


def _unreadable(report: IntakeReport, qrows: list, recon: list, folder: str, rel: str, sheet: str, message: str,
                column: str) -> None:
    where = f"{rel}" + (f", sheet {sheet!r}" if sheet else "")
    report.errors.append(f"{where}: {message}")
    qrows.append(dict(instrument=folder, file=rel, sheet=sheet, row=None, column=column, value="",
                      reason=R_UNREADABLE))
    recon.append(dict(instrument=folder, file=rel, sheet=sheet, read=0, accepted=0, skipped=0, rejected=0,
                      excluded_no_consent=0))


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


def run_cli(args: argparse.Namespace) -> int:
    """Run ``hbeval intake`` and print the summary."""
    cfg = load_config(args.config)
    raw = args.raw or cfg.path_of("raw")
    out = args.out or cfg.path_of("processed")
    report = run_intake(raw, out, cfg, strict=args.strict, progress=not args.no_progress)
    print(report.summary())
    print(f"Taulut ja tilitys: {out}")
    code = report.exit_code(args.strict)
    if code:
        print("--strict: hylättyjä rivejä tai lukukelvottomia tiedostoja — paluukoodi 1", file=sys.stderr)
    return code
