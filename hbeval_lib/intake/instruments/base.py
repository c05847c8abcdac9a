"""The machinery shared by every instrument: field specs, the row validator and the accounting.

An instrument is described declaratively (:class:`Instrument` → :class:`SheetSpec` → :class:`Field`);
:func:`process_sheet` turns one sheet grid into accepted records, quarantine rows, flag rows and a
reconciliation row. Instrument-specific rules (time-use marks, the participation-test score) are
``row_rule`` hooks.

Reasons (quarantine vocabulary, documented in ``data/README.md``) are the constants ``R_*``.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Callable

from hbeval_lib.intake import clientid
from hbeval_lib.config import Config
from hbeval_lib.intake.readers import grid as G
from hbeval_lib.intake.readers import values as V

# --- quarantine reasons (fixed vocabulary) ---------------------------------------------------------
R_INVALID_CLIENT = "invalid_client_number"
R_UNKNOWN_CLIENT = "unknown_client"
R_OUT_OF_RANGE = "out_of_range"
R_DUPLICATE = "duplicate"
R_INVALID_DATE = "invalid_date"
R_DATE_OUT_OF_PERIOD = "date_out_of_period"
R_INVALID_NUMBER = "invalid_number"
R_CONFLICTING_MARKS = "conflicting_marks"
R_NEGATIVE = "negative_value"
R_GROUP_MISMATCH = "group_mismatch"
R_INVALID_VALUE = "invalid_value"
R_MISSING_VALUE = "missing_value"
R_UNREADABLE = "unreadable_file"
R_DUPLICATE_ACROSS = "duplicate_across_files"
REASONS = (R_INVALID_CLIENT, R_UNKNOWN_CLIENT, R_OUT_OF_RANGE, R_DUPLICATE, R_INVALID_DATE, R_DATE_OUT_OF_PERIOD,
           R_INVALID_NUMBER, R_CONFLICTING_MARKS, R_NEGATIVE, R_GROUP_MISMATCH, R_INVALID_VALUE, R_MISSING_VALUE,
           R_UNREADABLE, R_DUPLICATE_ACROSS)
# --- data-quality flags (kept rows) ---------------------------------------------------------------
F_OUTSIDE_CLIENTHOOD = "outside_clienthood"
F_AFTER_CUTOFF = "after_cutoff"
F_TOO_FEW_ITEMS = "too_few_items"
F_REPEATED_ROW = "repeated_row"
FLAG_REASONS = (F_OUTSIDE_CLIENTHOOD, F_AFTER_CUTOFF, F_TOO_FEW_ITEMS, F_REPEATED_ROW)
INTAKE_DEFAULTS = {"clienthood_tolerance_days": 30, "osallisuustesti_min_items": 8,
                   "repeatable_rows": ["tyoaika", "asiakaskulut", "avustajakulut", "laheiskulut"]}


def intake_option(cfg: Config, key: str, default: Any = None) -> Any:
    """A value of the ``intake:`` section of the configuration, else :data:`INTAKE_DEFAULTS`."""
    section = cfg.section("intake") or {}
    return section.get(key, INTAKE_DEFAULTS.get(key, default))

MASK = "***"  # the quarantine value of an identifier column
WHOLE_ROW = "(koko rivi)"
ACCOUNT_COLUMNS = ["instrument", "file", "sheet", "row", "column", "value", "reason"]
RECON_COLUMNS = ["instrument", "file", "sheet", "read", "accepted", "skipped", "rejected", "excluded_no_consent"]


class RowError(Exception):
    """A row is rejected: ``reason`` from the vocabulary, ``column`` the header shown to the user."""

    def __init__(self, reason: str, column: str, value: Any = ""):
        super().__init__(reason)
        self.reason, self.column, self.value = reason, column, value


def slug(text: str) -> str:
    """ASCII snake-case of a Finnish header (``'Työ ja tulevaisuus'`` → ``'tyo_ja_tulevaisuus'``)."""
    text = unicodedata.normalize("NFKD", str(text).casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")


@dataclass(frozen=True)
class Field:
    """One column of a raw table (or one label of a header block).

    kind: ``client`` (client number), ``date``, ``number`` (float), ``int``, ``choice`` (mapped through
    ``choices``), ``pilot`` (pilot name/key -> key), ``text``, ``mark`` (bool), ``drop`` (identifier:
    read only to be dropped), ``hours``/``minutes`` (a pair, combined into ``pair``), ``auto`` (a survey
    item whose type is inferred per column).
    """

    name: str
    headers: tuple[str, ...]
    kind: str = "text"
    required: bool = False        # the column must exist (header-row search)
    need: bool = False            # an empty value rejects the row (missing_value)
    lo: float | None = None
    hi: float | None = None
    nonneg: bool = False          # a negative value rejects the row (negative_value)
    choices: dict[str, Any] | None = None
    pair: str | None = None       # for hours/minutes: the output field (total minutes)
    max_hours: int | None = None
    period: bool = True           # dates: must lie in the evaluation period
    pattern: str | None = None    # text: must match (else invalid_value)

    @property
    def header(self) -> str:
        return self.headers[0]


def F(name: str, header: str | tuple[str, ...], kind: str = "text", **kw: Any) -> Field:
    """Shorthand constructor for :class:`Field`."""
    return Field(name, (header,) if isinstance(header, str) else tuple(header), kind, **kw)


def choices(*values: str, **mapped: Any) -> dict[str, Any]:
    """A choice map: each raw value maps to itself (casefolded keys); ``mapped`` adds raw=stored pairs."""
    out = {v.casefold(): v for v in values}
    out.update({k.casefold(): v for k, v in mapped.items()})
    return out


@dataclass
class SheetSpec:
    """One table of an instrument: the sheet (None = first), its fields and header block, its tidy table."""

    table: str
    sheet: str | None
    fields: list[Field]
    block: list[Field] = field(default_factory=list)
    client: str | None = "client_id"          # the field holding the client number (None: not client-linked)
    link: str = "roster"                      # roster (must be in the roster) / optional / custom
    hb_only: bool = False
    flag_dates: str | None = None             # a date field checked against clienthood and final cut-off
    row_rule: Callable[[dict, dict, "Context"], None] | None = None
    header_canon: Callable[[str], str] | None = None  # maps a normalized header before lookup
    file_filter: str | None = None            # only files whose name contains this (casefolded)
    expand: bool = True                       # expand the client number into the linkage columns
    constants: dict[str, Any] = field(default_factory=dict)  # values added to every record (e.g. form)

    def known(self, column_map: dict[str, str]) -> dict[str, str]:
        k: dict[str, str] = {}
        for f in self.fields:
            for h in f.headers:
                k[G.norm_header(h)] = f.name
        for exported, contract in column_map.items():
            target = k.get(G.norm_header(contract))
            if target:
                k[G.norm_header(exported)] = target
        return k


@dataclass
class Instrument:
    """A raw folder (contract §3) and its sheets."""

    folder: str
    sheets: list[SheetSpec]
    description: str = ""
    sheet_alternatives: Callable[[list[str]], dict[str, str]] | None = None
    optional: bool = False   # a missing folder is noted (INFO), not warned about: the plan collects it as samples


@dataclass
class Roster:
    """client_id -> arm, start, end, consent (True = kyllä)."""

    arm: dict[str, str] = field(default_factory=dict)
    start: dict[str, dt.date | None] = field(default_factory=dict)
    end: dict[str, dt.date | None] = field(default_factory=dict)
    consent: dict[str, bool] = field(default_factory=dict)
    where: dict[str, tuple[str, str, int]] = field(default_factory=dict)  # file, sheet, row of the roster row

    def __contains__(self, cid: str) -> bool:
        return cid in self.arm


@dataclass
class Context:
    """What a sheet's processing needs besides the grid."""

    cfg: Config
    roster: Roster
    instrument: str
    file: str
    sheet: str
    file_seq: int = 0
    final_cutoff: dt.date | None = None
    block: dict[str, Any] = field(default_factory=dict)
    flags: list[dict] = field(default_factory=list)
    # shared by every file of one intake run (None: no cross-file duplicate check)
    rows_seen: dict | None = None        # row key -> (file, sheet, row) of its first occurrence
    overlaps: dict | None = None         # ((file, sheet) earlier, (file, sheet)) -> [rows, first row, its first row]
    file_keys: dict | None = None        # (file, sheet) -> set of row keys
    notes: list = field(default_factory=list)  # (kind, row, column, text) for intake's findings
    row: int = 0                                # the Excel row being processed (for row rules' notes)

    def flag(self, row: int, column: str, value: Any, reason: str) -> None:
        self.flags.append(dict(instrument=self.instrument, file=self.file, sheet=self.sheet, row=row,
                               column=column, value=safe_value(value), reason=reason))


def safe_value(value: Any) -> str:
    """A raw value as text for the accounting files."""
    if V.is_empty(value):
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat(sep=" ")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return re.sub(r"\s+", " ", str(value)).strip()


@dataclass
class SheetResult:
    """Accepted records (dicts with ``_row``), rejected rows, flags and the reconciliation counts."""

    records: list[dict]
    quarantine: list[dict]
    flags: list[dict]
    read: int = 0
    accepted: int = 0
    skipped: int = 0
    rejected: int = 0
    excluded: int = 0
    header_row: int = 0
    excluded_records: list[dict] = field(default_factory=list)


# --- value parsing ---------------------------------------------------------------------------------
def parse_field(f: Field, raw: Any, cfg: Config) -> Any:
    """Parse one cell by its field spec; raise :class:`RowError` when the value is not acceptable."""
    if f.kind == "drop":
        return None
    if V.is_empty(raw):
        if f.need and f.kind not in ("hours", "minutes"):  # a pair's need is checked on the total
            raise RowError(R_MISSING_VALUE, f.header, "")
        return None
    k = f.kind
    try:
        if k == "client":
            return clientid.parse(raw, cfg)
        if k == "date":
            out = V.parse_date(raw)
            if f.period and not cfg.period_start <= out <= cfg.period_end:
                raise RowError(R_DATE_OUT_OF_PERIOD, f.header, raw)
            return out
        if k in ("number", "int"):
            out = V.parse_int(raw) if k == "int" else V.parse_number(raw)
            if out < 0 and (f.nonneg or (f.lo is not None and f.lo >= 0)):
                raise RowError(R_NEGATIVE, f.header, raw)
            if (f.lo is not None and out < f.lo) or (f.hi is not None and out > f.hi):
                raise RowError(R_OUT_OF_RANGE, f.header, raw)
            return out
        if k == "choice":
            return V.parse_choice(raw, f.choices or {})
        if k == "pilot":
            p = cfg.pilot_by_name(V.parse_text(raw))
            if p is None:
                raise RowError(R_INVALID_VALUE, f.header, raw)
            return p.key
        if k == "mark":
            return V.parse_mark(raw)
        if k in ("text", "auto"):
            out = V.parse_text(raw)
            if f.pattern and not re.fullmatch(f.pattern, out):
                raise RowError(R_INVALID_VALUE, f.header, raw)
            return raw if k == "auto" else out
        return raw  # hours / minutes: combined later
    except clientid.InvalidClientNumber as exc:
        raise RowError(R_INVALID_CLIENT, f.header, raw) from exc
    except ValueError as exc:
        reason = {"date": R_INVALID_DATE, "number": R_INVALID_NUMBER, "int": R_INVALID_NUMBER}.get(k, R_INVALID_VALUE)
        raise RowError(reason, f.header, raw) from exc


def _parse_cached(f: Field, raw: Any, cfg: Config, cache: dict) -> Any:
    try:
        key = (f.name, type(raw).__name__, raw)
        hit = cache.get(key, cache)
    except TypeError:  # unhashable: never for openpyxl values, but be safe
        return parse_field(f, raw, cfg)
    if hit is cache:
        try:
            hit = ("ok", parse_field(f, raw, cfg))
        except RowError as exc:
            hit = ("err", (exc.reason, exc.column, exc.value))
        cache[key] = hit
    if hit[0] == "err":
        raise RowError(*hit[1])
    return hit[1]


def _row_key(row: tuple) -> tuple:
    """A hashable key of a whole row for the duplicate rule (trailing empty cells ignored)."""
    end = len(row)
    while end and (row[end - 1] is None or (isinstance(row[end - 1], str) and not row[end - 1].strip())):
        end -= 1
    return tuple(c.strip() if isinstance(c, str) else c for c in row[:end])


def _norm_cell(v: Any) -> Any:
    if V.is_empty(v):
        return None
    if isinstance(v, str):
        return " ".join(v.split()).casefold()
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, dt.datetime) and v.time() == dt.time(0):
        return v.date()
    return v


def _check_across_files(spec: SheetSpec, raw: dict, block_raw: dict, ctx: Context, rownum: int) -> None:
    """Reject a row identical (same table, header block and cells) to a row of an earlier file or sheet."""
    key = (spec.table, tuple(sorted(spec.constants.items())),
           tuple(sorted((k, _norm_cell(v)) for k, v in block_raw.items())),
           tuple(sorted((k, _norm_cell(v)) for k, v in raw.items())))
    try:
        hash(key)
    except TypeError:
        key = repr(key)
    here = (ctx.file, ctx.sheet)
    ctx.file_keys.setdefault(here, set()).add(key)
    first = ctx.rows_seen.setdefault(key, (ctx.file, ctx.sheet, rownum))
    if first[:2] != here:
        hit = ctx.overlaps.setdefault((first[:2], here), [0, rownum, first[2]])
        hit[0] += 1
        where = first[0] + (f" [{first[1]}]" if first[1] else "")
        raise RowError(R_DUPLICATE_ACROSS, WHOLE_ROW, f"= {where} rivi {first[2]}")


def header_matches(spec: SheetSpec, grid: list[tuple], column_map: dict[str, str]) -> bool:
    """True when the grid holds the spec's header row (all required headers) within its first 60 rows."""
    known = spec.known(column_map)
    rows = grid[:60]
    if spec.header_canon is not None:
        rows = [tuple(spec.header_canon(G.norm_header(c)) for c in r) for r in rows]
    try:
        G.find_header_row(rows, known, {f.name for f in spec.fields if f.required})
    except G.UnreadableFile:
        return False
    return True


def _client_check(spec: SheetSpec, cid: clientid.ClientId, ctx: Context, column: str, raw: Any) -> None:
    if spec.link == "roster":
        if cid.client_id not in ctx.roster:
            raise RowError(R_UNKNOWN_CLIENT, column, raw)
        if spec.hb_only and ctx.roster.arm[cid.client_id] != "hb":
            raise RowError(R_GROUP_MISMATCH, column, raw)


def _mask(f: Field | None, value: Any) -> str:
    return MASK if f is not None and f.kind == "drop" else safe_value(value)


def process_sheet(spec: SheetSpec, grid: list[tuple], ctx: Context, column_map: dict[str, str]) -> SheetResult:
    """Validate one sheet's rows; see the module docstring.

    Raises
    ------
    UnreadableFile
        When the header row (all required headers) is not found or a required header-block value is missing.
    """
    known = spec.known(column_map)
    if spec.header_canon is not None:
        canon = spec.header_canon
        rows_for_search = [tuple(canon(G.norm_header(c)) for c in r) for r in grid[:60]]
    else:
        rows_for_search = grid
    required = {f.name for f in spec.fields if f.required}
    hdr, cols = G.find_header_row(rows_for_search, known, required)
    by_name = {f.name: f for f in spec.fields}
    res = SheetResult([], [], ctx.flags, header_row=hdr + 1)

    # header block: values that apply to every row; an invalid value rejects every row
    block_error: RowError | None = None
    block_vals: dict[str, Any] = {}
    block_raw: dict[str, Any] = {}
    if spec.block:
        labels = {}
        for f in spec.block:
            for h in f.headers:
                labels[G.norm_header(h)] = f.name
        found = G.read_header_block(grid, hdr, labels)
        missing = [f.header for f in spec.block if f.need and f.name not in found]
        if missing:
            raise G.UnreadableFile(f"lomakkeen otsikko-osasta puuttuu {missing} taulukon yläpuolelta "
                                   f"(otsikkorivi {hdr + 1})", column="; ".join(missing),
                                   action="Täytä lomakkeen otsikko-osan kentät (arvo nimikkeen oikealle puolelle) "
                                          "ja aja hbeval build uudelleen.")
        for f in spec.block:
            raw = found.get(f.name, (None, 0))[0]
            block_raw[f.name] = raw
            try:
                v = parse_field(f, raw, ctx.cfg)
                if f.kind == "client" and v is not None:
                    _client_check(spec, v, ctx, f.header, raw)
                block_vals[f.name] = v
            except RowError as exc:
                if block_error is None:
                    block_error = RowError(exc.reason, exc.column, _mask(f, exc.value))
    ctx.block = block_vals

    fields_at = [(i, by_name[name]) for i, name in sorted(cols.items())]
    pairs: dict[str, list[Field]] = {}
    for f in spec.fields:
        if f.pair:
            pairs.setdefault(f.pair, []).append(f)
    client_f = by_name.get(spec.client) if spec.client else None
    client_col = next((i for i, f in fields_at if client_f is not None and f.name == client_f.name), None)
    cache: dict = {}
    seen: set[tuple] = set()
    data = grid[hdr + 1:]
    res.read = len(data)
    for offset, row in enumerate(data):
        rownum = hdr + 2 + offset
        if all(V.is_empty(c) for c in row):
            res.skipped += 1
            continue
        if client_col is not None and client_col < len(row) and clientid.is_example(row[client_col]):
            res.skipped += 1
            continue
        raw = {f.name: (row[i] if i < len(row) else None) for i, f in fields_at}
        ctx.row = rownum
        try:
            if block_error is not None:
                raise block_error
            if ctx.rows_seen is not None:
                _check_across_files(spec, raw, block_raw, ctx, rownum)
            rec: dict[str, Any] = {}
            for i, f in fields_at:
                rec[f.name] = _parse_cached(f, raw[f.name], ctx.cfg, cache)
            for f in spec.fields:  # optional columns absent from this file
                if f.name not in rec and f.kind != "drop":
                    rec[f.name] = None
            for out, (hf, mf) in ((k, sorted(v, key=lambda x: x.kind)) for k, v in pairs.items()):
                try:
                    rec[out] = V.hours_minutes(raw.get(hf.name), raw.get(mf.name), hf.max_hours)
                except ValueError as exc:
                    part = hf if exc.args[1] == "hours" else mf
                    raise RowError(exc.args[2], part.header, raw.get(part.name)) from exc
                if hf.need and rec[out] is None:
                    raise RowError(R_MISSING_VALUE, f"{hf.header}/{mf.header}", "")
            if client_f is not None and spec.link == "roster":
                cid = rec.get(client_f.name)
                if cid is None and client_f.name in block_vals:
                    cid = block_vals[client_f.name]
                if cid is not None:
                    _client_check(spec, cid, ctx, client_f.header, raw.get(client_f.name))
            if spec.row_rule is not None:
                spec.row_rule(rec, raw, ctx)
            key = _row_key(row)
            if key in seen:
                if ctx.instrument not in intake_option(ctx.cfg, "repeatable_rows", ()):
                    raise RowError(R_DUPLICATE, WHOLE_ROW, "")
                rec.setdefault("_flags", []).append((WHOLE_ROW, "", F_REPEATED_ROW))
            seen.add(key)
        except RowError as exc:
            res.rejected += 1
            f = next((x for x in spec.fields + spec.block if exc.column in x.headers), None)
            res.quarantine.append(dict(instrument=ctx.instrument, file=ctx.file, sheet=ctx.sheet, row=rownum,
                                       column=exc.column, value=_mask(f, exc.value), reason=exc.reason))
            continue
        for name, v in block_vals.items():
            if name not in rec or rec[name] is None:
                rec[name] = v
        for f in spec.fields:
            if f.kind == "drop":
                rec.pop(f.name, None)
        for f in spec.block:
            if f.kind == "drop":
                rec.pop(f.name, None)
        rec.update(spec.constants)
        rec["_row"] = rownum
        res.accepted += 1
        if not _accept(spec, rec, ctx, res):
            res.excluded += 1
            res.excluded_records.append(rec)
            continue
        res.records.append(rec)
    return res


def _accept(spec: SheetSpec, rec: dict, ctx: Context, res: SheetResult) -> bool:
    """Expand the client number into the linkage columns, flag dates; False = consent ``ei`` (exclude)."""
    cid = rec.get(spec.client) if spec.client else None
    pending = rec.pop("_flags", [])
    if rec.get("consent") is False:
        return False
    if isinstance(cid, clientid.ClientId):
        if ctx.roster.consent.get(cid.client_id) is False:
            return False
        if spec.expand:
            in_roster = cid.client_id in ctx.roster
            if spec.link == "optional" and not in_roster:
                rec.update(client_id=None, pilot=None, client_group=None, worker=None, seq=None, arm=None)
            else:
                rec.update(client_id=cid.client_id, pilot=cid.pilot, client_group=cid.client_group,
                           worker=cid.worker, seq=cid.seq, arm=ctx.roster.arm.get(cid.client_id, rec.get("arm")))
        else:
            rec[spec.client] = cid.client_id
        if spec.flag_dates and rec.get(spec.flag_dates) is not None:
            d = rec[spec.flag_dates]
            start, end = ctx.roster.start.get(cid.client_id), ctx.roster.end.get(cid.client_id)
            header = next(f.header for f in spec.fields if f.name == spec.flag_dates)
            tol = dt.timedelta(days=int(intake_option(ctx.cfg, "clienthood_tolerance_days", 0)))
            if (start is not None and d < start - tol) or (end is not None and d > end + tol):
                ctx.flag(rec["_row"], header, d.isoformat(), F_OUTSIDE_CLIENTHOOD)
            if ctx.final_cutoff is not None and d > ctx.final_cutoff:
                ctx.flag(rec["_row"], header, d.isoformat(), F_AFTER_CUTOFF)
    for column, value, reason in pending:
        ctx.flag(rec["_row"], column, value, reason)
    return True
