"""Synthetic demo data in the real raw formats of the data contract (all fifteen instruments).

``hbeval demo-data --out DIR [--seed N] [--clients N] [--faults none|some]`` writes ``DIR/<instrument>/…``
laid out like the forms (header blocks, footnote digits in headers, Finnish dates and decimal commas, some
CSV files, example rows, a ``~$`` lock file) and ``DIR/truth.json`` with every planted quantity: the row
counts a correct intake must report, the planted faults, the planted effects and cost parameters, tag counts
of the qualitative material and the direct identifiers written into the files. ``data/README.md`` (section "The demo data set")
explains the planted effects in plain words.

The people are invented; the generator never reads ``../shared/samples``. The same arguments give
byte-identical CSV and Markdown files and identical cell values in every workbook.
"""

from __future__ import annotations

import argparse
import calendar
import csv
import datetime as dt
import io
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xlsxwriter

from hbeval_lib.demo import text as T
from hbeval_lib.config import load_config

INSTRUMENTS = ["asiakkaat", "kykyviisari", "osallisuustesti", "asiakaskysely", "esr", "tyoaika", "asiakaskulut",
               "avustajakulut", "budjetti", "palvelut", "lahtokysely", "avustajakysely", "paivakirjat", "tyopajat",
               "kehittamistyo", "tietoisuuskysely", "mediaseuranta", "laheiskulut", "kompassi"]

# Plan §2.2 (and the Hämeenlinna pilot plan): each pilot's client groups with their shares, the pilot's share of
# all clients, the share of controls (small in Kainuu and Pori: a handful of controls exercises disclosure
# control) and the start of client work.
PILOT_PLAN = {
    "eksote": {"groups": {"vammaispalvelut": .35, "lapsiperheet": .3, "aikuissosiaalityo": .2, "jalkihuolto": .15},
               "weight": .22, "control_share": .45, "start": dt.date(2017, 3, 1)},
    "hameenlinna": {"groups": {"lapsiperheet": 1.0},
                    "weight": .16, "control_share": .4, "start": dt.date(2017, 9, 1)},
    "kainuu": {"groups": {"vammaispalvelut": .6, "omaishoito": .4},
               "weight": .09, "control_share": .2, "start": dt.date(2017, 9, 15)},
    "pori": {"groups": {"lapsiperheet": .4, "vammaispalvelut": .25, "jalkihuolto": .15, "aikuissosiaalityo": .2},
             "weight": .13, "control_share": .22, "start": dt.date(2017, 9, 1)},
    "tampere": {"groups": {"vammaispalvelut": .4, "omaishoito": .3, "lapsiperheet": .3},
                "weight": .21, "control_share": .45, "start": dt.date(2017, 3, 15)},
    "vantaa": {"groups": {"jalkihuolto": .35, "aikuissosiaalityo": .35, "lapsiperheet": .3},
               "weight": .19, "control_share": .4, "start": dt.date(2017, 4, 1)},
}
# structural variants of a generated set (``generate(variants=...)``, ``hbeval demo-data --variant``): the shapes real
# data take that the default set does not — each names the pilot it changes
VARIANTS = {
    "single-control": "kainuu",   # the pilot has exactly one control client
    "no-interim": "pori",         # the pilot has no interim measurement (no Kykyviisari 'väli', no 'väli' diaries
                                  # or workshop)
    "late-start": "hameenlinna",  # the pilot starts after the baseline report's cut-off: no client in the baseline
}
LATE_START = dt.date(2018, 1, 15)
PILOT_END = dt.date(2019, 3, 31)        # end of piloting: open clienthoods are closed here or stay ongoing
LAST_START = dt.date(2018, 9, 30)
FAMILY_FROM = dt.date(2017, 9, 1)       # Kykyviisari family domains added in autumn 2017
MEASURED_MONTHS = [(2017, 11), (2018, 4), (2018, 10)]  # time-use measurement months (LIITE 3.1)

# ---------------------------------------------------------------- planted parameters (recorded in truth.json)
EFFECTS = {"yleinen_hyvinvointi": 0.6, "osallisuus": 0.8, "mielen_hyvinvointi": 0.4, "arjen_sujuminen": 0.5,
           "taidot": 0.0, "fyysinen_toimintakyky": 0.0, "tyo_ja_tulevaisuus": 0.3,
           "vanhemmuus": 0.5, "parisuhde": 0.0, "perhe": 0.4}
CONTROL_CHANGE = 0.2           # control clients' mean change from start to end, every domain
BASELINE_MEAN = {"yleinen_hyvinvointi": 5.8, "osallisuus": 5.2, "mielen_hyvinvointi": 5.6, "arjen_sujuminen": 5.9,
                 "taidot": 6.1, "fyysinen_toimintakyky": 6.3, "tyo_ja_tulevaisuus": 4.9,
                 "vanhemmuus": 6.4, "parisuhde": 6.0, "perhe": 6.2}
BASELINE_SHIFT_HB = 0.5        # self-selection: HB clients start better in every domain
END_NOISE_SD = 0.7
OSALLISUUS_EFFECT = 0.35       # ESIS score (1–5): HB − control end score given baseline
OSALLISUUS_SHIFT_HB = 0.25
OSALLISUUS_CONTROL_CHANGE = 0.05
DOMAIN_HEADERS = {"yleinen_hyvinvointi": "Yleinen hyvinvointi", "osallisuus": "Osallisuus",
                  "mielen_hyvinvointi": "Mielen hyvinvointi", "arjen_sujuminen": "Arjen sujuminen",
                  "taidot": "Taidot", "fyysinen_toimintakyky": "Fyysinen toimintakyky",
                  "tyo_ja_tulevaisuus": "Työ ja tulevaisuus", "vanhemmuus": "Vanhemmuus",
                  "parisuhde": "Parisuhde", "perhe": "Perhe"}
FAMILY_KEYS = ("vanhemmuus", "parisuhde", "perhe")
ATTRITION = {"hb": {"vali": .15, "loppu": .10}, "verrokki": {"vali": .30, "loppu": .30}}

SERVICES = {  # service -> (unit, HB units per client-month, control units per client-month)
    "kotipalvelu": ("tunti", 1.5, 3.0),
    "perhetyö": ("käynti", 0.8, 1.4),
    "perheneuvola": ("käynti", 0.25, 0.3),
    "sosiaalityön tapaaminen": ("käynti", 1.0, 1.0),
    "lastensuojelun avohuolto": ("käynti", 0.15, 0.35),
    "omaishoidon tuki": ("kk", 0.12, 0.12),
    "tilapäishoito": ("vrk", 0.3, 0.3),
}
BUDGET_EUR_PER_MONTH = 320.0
COMMITMENTS_PER_MONTH = 1.3
PROVIDER_SHARES = {"julkinen": .30, "yksityinen": .35, "jarjesto": .15, "laheisverkosto": .10, "muu": .10}
PROVIDER_RAW = {"julkinen": "julkinen", "yksityinen": "yksityinen", "jarjesto": "järjestö",
                "laheisverkosto": "läheisverkosto", "muu": "muu"}
WORKER_MINUTES = {"hb": 260.0, "verrokki": 140.0}
OWN_MINUTES = {"hb": 100.0, "verrokki": 50.0}
ASSISTANT_MINUTES_HB = 180.0
RESPONSE = {"asiakaskulut": {"hb": .7, "verrokki": .5}, "asiakaskysely": {"hb": .6, "verrokki": .45},
            "assistant": .45, "osallisuus_alku": .85, "osallisuus_loppu": {"hb": .75, "verrokki": .55}}
CONSENT_REFUSAL = 0.03
# latent means (before rounding to 1–5, SD 0.9) of the client-survey items compared between groups (contract §3.4)
SURVEY_MEANS = {"hb": {"2.2": 3.8, "5.1": 4.2, "5.2": 4.0, "5.6": 4.3, "5.9": 3.9, "5.10": 3.7},
                "verrokki": {"2.2": 2.9, "3.1": 3.6, "3.2": 3.5, "3.5": 4.1, "3.8": 3.3, "3.9": 3.2}}

STAGES = ["lähtötilanne", "väli", "loppu"]
TAGS = ["saatavuus", "tarpeet", "itsemaaraaminen", "lahituki", "edistaa", "estaa", "kehittaminen", "avustaja",
        "laheiset", "kumppanuus"]
# relative frequency of each tag by stage: barriers and access fade, enablers and self-determination grow
TAG_WEIGHTS = {
    "lähtötilanne": {"saatavuus": 3, "tarpeet": 3, "itsemaaraaminen": 1, "lahituki": 1, "edistaa": 1, "estaa": 4,
                     "kehittaminen": 2, "avustaja": .5, "laheiset": 1, "kumppanuus": .5},
    "väli": {"saatavuus": 2, "tarpeet": 2, "itsemaaraaminen": 2, "lahituki": 1, "edistaa": 2, "estaa": 2.5,
             "kehittaminen": 2, "avustaja": 1.5, "laheiset": 1, "kumppanuus": 1},
    "loppu": {"saatavuus": 1, "tarpeet": 1.5, "itsemaaraaminen": 3.5, "lahituki": 1, "edistaa": 4, "estaa": 1,
              "kehittaminen": 2, "avustaja": 2, "laheiset": 1, "kumppanuus": 2.5},
}
FAULT_REASONS = ["invalid_client_number", "unknown_client", "out_of_range", "duplicate", "invalid_date",
                 "date_out_of_period", "invalid_number", "conflicting_marks", "negative_value", "group_mismatch"]
# intake convention: rows of clients without consent are valid rows, counted as accepted and as excluded_no_consent
EXCLUDED_IN_ACCEPTED = True
FIXED_CREATED = dt.datetime(2019, 5, 31, 12, 0, 0)


# ---------------------------------------------------------------- in-memory file model
@dataclass
class Row:
    """One table row: its cell values and what a correct intake does with it."""

    values: list
    status: str = "ok"                 # ok / skip / excluded / fault
    fault: dict | None = None          # {"column", "reason"} for a planted fault


@dataclass
class SheetSpec:
    name: str
    header: list[str]
    rows: list[Row]
    block: list[list] = field(default_factory=list)   # header block rows above the table
    gap: int = 1                                      # empty rows between block and header

    @property
    def header_row(self) -> int:
        """Excel row number (1-based) of the header row."""
        return len(self.block) + (self.gap if self.block else 0) + 1


@dataclass
class FileSpec:
    instrument: str
    relpath: str
    sheets: list[SheetSpec]
    fmt: str = "xlsx"                  # xlsx / csv
    date_style: str = "cell"           # cell (Excel date) / text (d.m.yyyy)
    encoding: str = "utf-8"            # csv: utf-8 / utf-8-sig / cp1252
    delimiter: str = ";"
    decimal: str = ","


def _dtext(d: dt.date) -> str:
    return f"{d.day}.{d.month}.{d.year}"


def _num_text(x: float, decimal: str) -> str:
    s = f"{x:.2f}".rstrip("0").rstrip(".")
    return s.replace(".", decimal)


def _cell(v: Any, spec: FileSpec) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, dt.date) and not isinstance(v, dt.datetime):
        return v if (spec.fmt == "xlsx" and spec.date_style == "cell") else _dtext(v)
    if spec.fmt == "csv":
        if v is None:
            return ""
        if isinstance(v, float):
            return _num_text(v, spec.decimal)
        return str(v)
    return v


def _write_xlsx(path: Path, spec: FileSpec) -> None:
    big = sum(len(sh.rows) for sh in spec.sheets) > 2000   # small forms: no temp files, faster
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": big, "in_memory": not big, "strings_to_numbers": False,
                                         "strings_to_formulas": False, "strings_to_urls": False})
    wb.set_properties({"title": spec.instrument, "author": "hbeval demo-data", "created": FIXED_CREATED})
    datefmt = wb.add_format({"num_format": "d.m.yyyy"})
    bold = wb.add_format({"bold": True})
    for sh in spec.sheets:
        ws = wb.add_worksheet(sh.name)
        r = 0
        for line in sh.block:
            for c, v in enumerate(line):
                _put(ws, r, c, _cell(v, spec), datefmt)
            r += 1
        r = sh.header_row - 1
        for c, h in enumerate(sh.header):
            ws.write_string(r, c, h, bold)
        for row in sh.rows:
            r += 1
            for c, v in enumerate(row.values):
                _put(ws, r, c, _cell(v, spec), datefmt)
    wb.close()


def _put(ws, r: int, c: int, v: Any, datefmt) -> None:
    if v is None:
        return
    if isinstance(v, dt.date):
        ws.write_datetime(r, c, dt.datetime(v.year, v.month, v.day), datefmt)
    elif isinstance(v, bool):
        ws.write_boolean(r, c, v)
    elif isinstance(v, (int, float)):
        ws.write_number(r, c, v)
    else:
        ws.write_string(r, c, str(v))


def _write_csv(path: Path, spec: FileSpec) -> None:
    (sh,) = spec.sheets
    buf = io.StringIO(newline="")
    w = csv.writer(buf, delimiter=spec.delimiter, lineterminator="\r\n")
    w.writerow(sh.header)
    for row in sh.rows:
        w.writerow([_cell(v, spec) for v in row.values])
    path.write_bytes(buf.getvalue().encode(spec.encoding))


def _plain_header(h: str) -> str:
    """A header as the contract names it: without a footnote number or a parenthesised hint."""
    if not h or re.fullmatch(r"[A-Za-z]?\d+(\.\d+)*", h.strip()):   # K4, 5.10: not footnotes
        return h
    return re.sub(r"\s*\(.*\)\s*$", "", re.sub(r"\s*\d+$", "", h.strip())).strip()


def _excel_row(spec: FileSpec, sheet: SheetSpec, index: int) -> int:
    if spec.fmt == "csv":
        return 2 + index
    return sheet.header_row + 1 + index


# ---------------------------------------------------------------- helpers
def _month_add(d: dt.date, months: int) -> dt.date:
    m = d.month - 1 + months
    y = d.year + m // 12
    m = m % 12 + 1
    return dt.date(y, m, min(d.day, calendar.monthrange(y, m)[1]))


def _months(start: dt.date, end: dt.date) -> list[tuple[int, int]]:
    """Calendar months (year, month) from start's month through end's month."""
    out = []
    y, m = start.year, start.month
    while (y, m) <= (end.year, end.month):
        out.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _month_bounds(y: int, m: int) -> tuple[dt.date, dt.date]:
    return dt.date(y, m, 1), dt.date(y, m, calendar.monthrange(y, m)[1])


def _hm(minutes: int) -> tuple[int | None, int | None]:
    """Hours and minutes cells as a person fills them: an empty cell for a zero beside a filled one."""
    h, mm = divmod(int(minutes), 60)
    if h == 0 and mm == 0:
        return None, None
    return (h or None), (mm or None)


def _split(total: int, k: int, rng: np.random.Generator, step: int = 5) -> list[int]:
    """Split ``total`` minutes into ``k`` positive parts that are multiples of ``step``."""
    units = max(int(round(total / step)), k)
    cuts = np.sort(rng.choice(np.arange(1, units), size=k - 1, replace=False)) if k > 1 else np.array([], int)
    parts = np.diff(np.concatenate([[0], cuts, [units]]))
    return [int(p) * step for p in parts]


class _Names:
    """Invented direct identifiers; every string handed out is remembered for truth['identifiers']."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.seen: dict[str, None] = {}
        self.in_text: dict[str, None] = {}   # those written into free text (quotes), not identifier fields

    def keep(self, s: str) -> str:
        """Remember ``s`` as an identifier written into the raw files."""
        self.seen.setdefault(s, None)
        return s

    def name(self, keep: bool = True) -> str:
        s = f"{self.rng.choice(T.FIRST_NAMES)} {self.rng.choice(T.SURNAMES)}"
        return self.keep(s) if keep else s

    def address(self, keep: bool = True) -> str:
        s = f"{self.rng.choice(T.STREETS)} {int(self.rng.integers(1, 60))}"
        return self.keep(s) if keep else s

    def phone(self) -> str:
        return self.keep(f"04{int(self.rng.integers(0, 10))} {int(self.rng.integers(100, 1000))} "
                          f"{int(self.rng.integers(1000, 10000))}")

    def employer(self) -> str:
        return self.keep(f"{self.rng.choice(T.EMPLOYER_STEMS)} {self.rng.choice(T.EMPLOYER_SUFFIXES)}")


# ---------------------------------------------------------------- clients
@dataclass
class Client:
    cid: str
    pilot: str
    pilot_name: str
    group: str
    worker: int
    arm: str                 # hb / verrokki
    consent: bool
    start: dt.date
    end: dt.date | None      # None = ongoing
    age: int
    gender: str
    family: str
    labour: str
    f: float                 # latent functioning (drives baselines)
    home: str = ""
    name: str = ""

    @property
    def hb(self) -> int:
        return int(self.arm == "hb")

    @property
    def last_day(self) -> dt.date:
        return self.end or PILOT_END


def _allocate(n: int, weights: list[float], minimum: int) -> list[int]:
    w = np.asarray(weights) / sum(weights)
    base = np.maximum(np.floor(w * n).astype(int), minimum)
    i = 0
    while base.sum() < n:
        base[np.argsort(-(w * n - np.floor(w * n)))[i % len(w)]] += 1
        i += 1
    while base.sum() > n and base.max() > minimum:
        base[int(np.argmax(base))] -= 1
    return [int(b) for b in base]


def _make_clients(cfg, n: int, rng: np.random.Generator, names: _Names, variants=()) -> list[Client]:
    pilots = [cfg.pilot_by_key(k) for k in PILOT_PLAN]
    gcode = {g.key: g.code for g in cfg.client_groups}
    sizes = _allocate(n, [PILOT_PLAN[p.key]["weight"] for p in pilots], minimum=min(4, max(1, n // 6)))
    clients: list[Client] = []
    for p, n_p in zip(pilots, sizes):
        plan = PILOT_PLAN[p.key]
        n_w = int(min(99, max(2, math.ceil(n_p / 20))))
        if n_p > 99 * 89:
            raise ValueError(f"too many clients for pilot {p.key}: at most {99 * 89}")
        n_ctrl = int(max(1, round(n_p * plan["control_share"]))) if n_p > 1 else 0
        if "single-control" in variants and p.key == VARIANTS["single-control"] and n_p > 1:
            n_ctrl = 1
        if "late-start" in variants and p.key == VARIANTS["late-start"]:
            plan = {**plan, "start": LATE_START}
        arms = np.array(["verrokki"] * n_ctrl + ["hb"] * (n_p - n_ctrl))[rng.permutation(n_p)]
        gkeys = list(plan["groups"])
        groups = rng.choice(len(gkeys), size=n_p, p=np.array(list(plan["groups"].values())))
        f = rng.normal(0, 1, n_p)
        span = (LAST_START - plan["start"]).days
        starts = rng.integers(0, span, n_p)
        durations = rng.integers(6, 21, n_p)
        ongoing = rng.random(n_p) < 0.6
        ages = rng.normal(36, 9, n_p)
        genders = rng.choice(["nainen", "mies", "muu"], size=n_p, p=[.62, .36, .02])
        fam = rng.choice(list("abcde"), size=n_p, p=[.35, .08, .3, .12, .15])
        labour = rng.choice(["ansiotyössä", "työtön", "eläkkeellä", "opiskelija", "muu"], size=n_p,
                            p=[.35, .35, .08, .1, .12])
        for i in range(n_p):
            g = gkeys[groups[i]]
            worker, seq = i % n_w + 1, i // n_w + 1
            start = plan["start"] + dt.timedelta(days=int(starts[i]))
            end = _month_add(start, int(durations[i])) - dt.timedelta(days=int(rng.integers(0, 10)))
            if end > PILOT_END:
                end = None if ongoing[i] else PILOT_END
            age = int(np.clip(round(ages[i] - (14 if g == "jalkihuolto" else 0)), 18, 80))
            family = str(fam[i]) if g != "jalkihuolto" else str(rng.choice(["c", "e"]))
            clients.append(Client(
                cid=f"{p.code}{gcode[g]}{worker:02d}{seq:02d}", pilot=p.key, pilot_name=p.name, group=g,
                worker=worker, arm=str(arms[i]), consent=True, start=start, end=end, age=age,
                gender=str(genders[i]), family=family, labour=str(labour[i]), f=float(f[i])))
    # a few consent refusals (LIITE 1.2), at least two in any set of 20 or more clients
    k = max(2 if n >= 20 else 0, int(round(CONSENT_REFUSAL * n)))
    for i in rng.choice(len(clients), size=min(k, len(clients)), replace=False):
        clients[int(i)].consent = False
    for c in clients:
        c.home = names.address(keep=False)   # registered as identifiers when written
        c.name = names.name(keep=False)
    return clients


def _workers(clients: list[Client]) -> dict[tuple[str, int], list[Client]]:
    out: dict[tuple[str, int], list[Client]] = {}
    for c in clients:
        out.setdefault((c.pilot, c.worker), []).append(c)
    return out


# ---------------------------------------------------------------- instruments
def _roster(clients, pilots, rng) -> list[FileSpec]:
    header = ["Asiakasnumero", "Ryhmä", "Asiakkuus alkoi", "Asiakkuus päättyi", "Suostumus", "Ikä", "Sukupuoli",
              "Perherakenne", "Työvoimastatus"]
    files = []
    for p in pilots:
        rows = []
        for c in sorted((c for c in clients if c.pilot == p.key), key=lambda c: c.cid):
            rows.append(Row([c.cid, "HB" if c.hb else "verrokki", c.start, c.end, "kyllä" if c.consent else "ei",
                             c.age, c.gender, c.family, c.labour], "ok" if c.consent else "excluded"))
        if p.key == "vantaa":
            files.append(FileSpec("asiakkaat", f"asiakkaat/asiakkaat_{p.key}.csv",
                                  [SheetSpec("", header, rows)], fmt="csv", encoding="cp1252"))
        else:
            block = [["Arvioinnin asiakasluettelo – Avain kansalaisuuteen"], ["Pilotti:", p.name]]
            files.append(FileSpec("asiakkaat", f"asiakkaat/asiakkaat_{p.key}.xlsx",
                                  [SheetSpec("Asiakkaat", header, rows, block=block)],
                                  date_style="text" if p.key == "pori" else "cell"))
    return files


def _kykyviisari(clients, pilots, rng, variants=()) -> tuple[list[FileSpec], dict]:
    header = ["Asiakasnumero", "Vastauspäivä", "Mittauskerta"] + [DOMAIN_HEADERS[k] for k in DOMAIN_HEADERS]
    keys = list(DOMAIN_HEADERS)
    per_pilot: dict[str, list[Row]] = {p.key: [] for p in pilots}
    clipped = 0
    total = 0
    for c in clients:
        base_raw = np.array([BASELINE_MEAN[k] for k in keys]) + BASELINE_SHIFT_HB * c.hb + 0.8 * c.f \
            + rng.normal(0, 1.0, len(keys))
        base = np.clip(np.round(base_raw, 1), 0, 10)
        change = np.array([CONTROL_CHANGE + EFFECTS[k] * c.hb for k in keys])
        end_raw = base + change + rng.normal(0, END_NOISE_SD, len(keys))
        end = np.clip(np.round(end_raw, 1), 0, 10)
        clipped += int((base_raw < 0).sum() + (base_raw > 10).sum() + (end_raw < 0).sum() + (end_raw > 10).sum())
        total += 2 * len(keys)
        occasions = [("alku", min(c.start + dt.timedelta(days=int(rng.integers(0, 15))), c.last_day), 0.0)]
        t = 4
        duration = max((c.last_day - c.start).days, 1)
        while _month_add(c.start, t) < c.last_day - dt.timedelta(days=60):
            if rng.random() >= ATTRITION[c.arm]["vali"] and not (
                    "no-interim" in variants and c.pilot == VARIANTS["no-interim"]):
                d = _month_add(c.start, t)
                occasions.append(("väli", d, (d - c.start).days / duration))
            t += 4
        if c.end is not None and rng.random() >= ATTRITION[c.arm]["loppu"]:
            occasions.append(("loppu", max(c.end - dt.timedelta(days=int(rng.integers(0, 15))), occasions[-1][1]), 1.0))
        family_ok = c.group in ("lapsiperheet", "vammaispalvelut", "omaishoito")
        for occ, d, frac in occasions:
            if occ == "alku":
                vals = base
            elif occ == "loppu":
                vals = end
            else:
                vals = np.clip(np.round(base + frac * change + rng.normal(0, 0.5, len(keys)), 1), 0, 10)
            cells: list[Any] = [c.cid, d, occ]
            for j, k in enumerate(keys):
                v = float(vals[j])
                if k in FAMILY_KEYS and (not family_ok or d < FAMILY_FROM or (k == "parisuhde" and c.family in "bce")):
                    cells.append(None)
                else:
                    cells.append(v)
            per_pilot[c.pilot].append(Row(cells, "ok" if c.consent else "excluded"))
    files = []
    for p in pilots:
        rows = sorted(per_pilot[p.key], key=lambda r: (r.values[1], r.values[0]))
        if p.key == "hameenlinna":
            files.append(FileSpec("kykyviisari", f"kykyviisari/kykyviisari_{p.key}.csv",
                                  [SheetSpec("", header, rows)], fmt="csv", encoding="utf-8-sig"))
        else:
            files.append(FileSpec("kykyviisari", f"kykyviisari/kykyviisari_{p.key}.xlsx",
                                  [SheetSpec("Vastaukset", header, rows)]))
    return files, {"clipped_share": clipped / max(total, 1)}


def _osallisuustesti(clients, pilots, rng) -> list[FileSpec]:
    header = ["Asiakasnumero", "Vastauspäivä", "Mittauskerta"] + [f"K{i}" for i in range(1, 11)]
    per_pilot: dict[str, list[Row]] = {p.key: [] for p in pilots}
    for c in clients:
        if rng.random() >= RESPONSE["osallisuus_alku"]:
            continue
        theta0 = 3.3 + OSALLISUUS_SHIFT_HB * c.hb + 0.3 * c.f + rng.normal(0, 0.3)
        items0 = np.clip(np.round(theta0 + rng.normal(0, 0.6, 10)), 1, 5).astype(int)
        tests = [("alku", c.start + dt.timedelta(days=int(rng.integers(0, 20))), items0)]
        if c.end is not None and rng.random() < RESPONSE["osallisuus_loppu"][c.arm]:
            theta1 = items0.mean() + OSALLISUUS_CONTROL_CHANGE + OSALLISUUS_EFFECT * c.hb + rng.normal(0, 0.3)
            items1 = np.clip(np.round(theta1 + rng.normal(0, 0.6, 10)), 1, 5).astype(int)
            tests.append(("loppu", max(c.end - dt.timedelta(days=int(rng.integers(0, 15))), tests[0][1]), items1))
        for occ, d, items in tests:
            vals: list[Any] = [int(x) for x in items]
            r = rng.random()
            if r < 0.04:         # fewer than 8 answers: kept, score missing, flagged
                for j in rng.choice(10, size=3, replace=False):
                    vals[int(j)] = None
            elif r < 0.10:       # one item skipped: score from 9 answers
                vals[int(rng.integers(0, 10))] = None
            per_pilot[c.pilot].append(Row([c.cid, d, occ] + vals, "ok" if c.consent else "excluded"))
    files = []
    for p in pilots:
        rows = sorted(per_pilot[p.key], key=lambda r: (r.values[1], r.values[0]))
        block = [["Osallisuustesti (Sokra, ESIS)"], ["Pilotti:", None, p.name]]
        files.append(FileSpec("osallisuustesti", f"osallisuustesti/osallisuustesti_{p.key}.xlsx",
                              [SheetSpec("Testit", header, rows, block=block)],
                              date_style="text" if p.key in ("kainuu", "tampere") else "cell"))
    return files


def _likert(rng, mean: float) -> int:
    return int(np.clip(round(rng.normal(mean, 0.9)), 1, 5))


def _asiakaskysely(clients, rng) -> FileSpec:
    hb_header = ["Lähetetty", "1.1 Asiakasnumero", "1.2 Ikä", "1.3 Mies/Nainen", "1.4 Perherakenne",
                 "2.1 Mistä sait tietoa HB-mallista?",
                 "2.2 Sain riittävästi tietoa HB-mallista ennen asiakkuuden alkamista.",
                 "2.3", "2.4", "2.5", "2.6", "2.7", "3.1 Pystyin vaikuttamaan omaan palvelukokonaisuuteeni.", "3.2",
                 "3.3", "3.4", "3.5", "3.6", "3.7", "4.1", "4.2", "4.3", "4.4", "4.5", "4.6", "4.7",
                 "4.8 Olin tyytyväinen budjettiini.", "5.1", "5.2", "5.3", "5.4", "5.5", "5.6", "5.7", "5.8",
                 "5.9 Arvioin oman hyvinvointini parantuneen.", "5.10 Arvioin oman toimintakykyni parantuneen."]
    ctl_header = ["Lähetetty", "1.1 Asiakasnumero", "1.2", "1.3", "1.4", "2.1", "2.2",
                  "2.3 Miksi et valinnut HB-asiakkuutta?",
                  "3.1", "3.2", "3.3", "3.4", "3.5", "3.6", "3.7", "3.8", "3.9"]
    hb_rows, ctl_rows = [], []
    for c in clients:
        if not c.consent or c.end is None or rng.random() >= RESPONSE["asiakaskysely"][c.arm]:
            continue
        sent = min(c.end + dt.timedelta(days=int(rng.integers(1, 25))), PILOT_END)
        num = c.cid if rng.random() > 0.08 else None   # some respondents leave their number out
        g = "Mies" if c.gender == "mies" else "Nainen"
        if c.hb:
            assistant = rng.random() < 0.5
            near = rng.random() < 0.6
            hb_rows.append(Row([
                sent, num, c.age, g, c.family, str(rng.choice(list("abcd"), p=[.7, .1, .1, .1])),
                _likert(rng, SURVEY_MEANS["hb"]["2.2"]), str(rng.choice(T.HB_OPEN_EXPECT)), _likert(rng, 3.7),
                str(rng.choice(list("abc"), p=[.7, .1, .2])), str(rng.choice(T.HB_OPEN_WHY)),
                str(rng.choice(list("abc"), p=[.75, .08, .17])), _likert(rng, 4.0), str(rng.choice(list("ab"))),
                None, "a" if assistant else "b", "omainen" if assistant else None,
                str(rng.choice(T.SURVEY_SHORT)) if assistant else None, None, _likert(rng, 3.4),
                str(rng.choice(T.SURVEY_SHORT)), str(rng.choice(T.SURVEY_SHORT)), str(rng.choice(list("ab"))),
                str(rng.choice(T.SURVEY_SHORT)), str(rng.choice(list("ab"), p=[.8, .2])),
                str(rng.choice(list("ab"), p=[.7, .3])), _likert(rng, 3.9), _likert(rng, SURVEY_MEANS["hb"]["5.1"]),
                _likert(rng, SURVEY_MEANS["hb"]["5.2"]),
                str(rng.choice(list("abcde"))), _likert(rng, 3.9), "a" if near else "b",
                _likert(rng, SURVEY_MEANS["hb"]["5.6"]) if near else None,
                str(rng.choice(T.SURVEY_SHORT)) if near else None,
                int(rng.choice([1, 2, 3], p=[.05, .35, .6])), _likert(rng, SURVEY_MEANS["hb"]["5.9"]),
                _likert(rng, SURVEY_MEANS["hb"]["5.10"])]))
        else:
            near = rng.random() < 0.5
            ctl_rows.append(Row([
                sent, num, c.age, g, c.family, str(rng.choice(list("abcd"), p=[.6, .1, .15, .15])),
                _likert(rng, SURVEY_MEANS["verrokki"]["2.2"]), str(rng.choice(T.CONTROL_OPEN_WHY)),
                _likert(rng, SURVEY_MEANS["verrokki"]["3.1"]), _likert(rng, SURVEY_MEANS["verrokki"]["3.2"]),
                _likert(rng, 3.4), "a" if near else "b",
                _likert(rng, SURVEY_MEANS["verrokki"]["3.5"]) if near else None,
                str(rng.choice(T.SURVEY_SHORT)) if near else None, int(rng.choice([1, 2, 3], p=[.08, .55, .37])),
                _likert(rng, SURVEY_MEANS["verrokki"]["3.8"]), _likert(rng, SURVEY_MEANS["verrokki"]["3.9"])]))
    return FileSpec("asiakaskysely", "asiakaskysely/asiakaskysely.xlsx",
                    [SheetSpec("HB", hb_header, hb_rows), SheetSpec("Verrokki", ctl_header, ctl_rows)])


def _esr(clients, rng) -> FileSpec:
    header = ["Asiakasnumero", "Lomake", "Päivämäärä", "Työmarkkinatilanne", "Koulutus"]
    status = {"ansiotyössä": "työllinen", "työtön": "työtön", "opiskelija": "opiskelija",
              "eläkkeellä": "työvoiman ulkopuolella", "muu": "työvoiman ulkopuolella"}
    rows = []
    for c in clients:
        if not c.hb or not c.consent:
            continue
        s = status[c.labour]
        if s == "työtön" and rng.random() < 0.4:
            s = "pitkäaikaistyötön"
        edu = str(rng.choice(T.EDUCATION[:3]))
        rows.append(Row([c.cid, "aloitus", c.start + dt.timedelta(days=int(rng.integers(0, 10))), s, edu]))
        if c.end is not None:
            s2 = "työllinen" if (s in ("työtön", "pitkäaikaistyötön") and rng.random() < 0.2) else s
            rows.append(Row([c.cid, "lopetus", c.end, s2, edu]))
    rows.sort(key=lambda r: (r.values[2], r.values[0]))
    return FileSpec("esr", "esr/esr_lomakkeet.csv", [SheetSpec("", header, rows)], fmt="csv", encoding="utf-8-sig")


def _tyoaika(clients, pilots, rng) -> list[FileSpec]:
    header = ["Päivämäärä (pp.kk.vvvv)", "Selite/työtehtävä", "tuntia", "minuuttia", "Asiakasnumero 6",
              "Asiakas mukana 7", "HB-asiakkuus8", "Verrokkiryhmän asiakkuus 8", "Muu asiakkuus 8"]
    files = []
    by_worker = _workers(clients)
    names = {p.key: p.name for p in pilots}
    order = list(PILOT_PLAN)
    for (pilot, worker), cl in sorted(by_worker.items(), key=lambda kv: (order.index(kv[0][0]), kv[0][1])):
        title = str(rng.choice(T.JOB_TITLES))
        team = str(rng.choice(T.TEAMS))
        weekly = float(rng.choice([38.25, 36.25, 37.5]))
        pcode = cl[0].cid[0]
        for (y, m) in MEASURED_MONTHS:
            first, last = _month_bounds(y, m)
            workdays = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)
                        if (first + dt.timedelta(days=i)).weekday() < 5]
            rows: list[Row] = []
            active = [c for c in cl if c.consent and c.start <= first and c.last_day >= last]
            if not active and rng.random() < 0.5:
                continue
            for c in active:
                total = min(1200, max(15, int(rng.gamma(2.0, WORKER_MINUTES[c.arm] / 2.0))))
                k = int(min(6, max(1, round(total / 60))))
                for part in _split(total, k, rng):
                    task, present = T.WORKER_TASKS[int(rng.integers(0, len(T.WORKER_TASKS)))]
                    h, mm = _hm(part)
                    num = c.cid if rng.random() > 0.1 else f"{c.cid[:3]} {c.cid[3:]}"
                    rows.append(Row([workdays[int(rng.integers(0, len(workdays)))], task, h, mm, num,
                                     "x" if present else None, "x" if c.hb else None,
                                     None if c.hb else "x", None]))
            for _ in range(int(rng.integers(2, 6))):   # general work: no client number
                h, mm = _hm(int(rng.choice([30, 45, 60, 90, 120, 240])))
                rows.append(Row([workdays[int(rng.integers(0, len(workdays)))], str(rng.choice(T.GENERAL_TASKS)),
                                 h, mm, None, None, None, None, None]))
            for _ in range(int(rng.integers(0, 3))):   # a client outside the evaluation
                other = f"{pcode}{int(rng.integers(1, 6))}{worker:02d}{int(rng.integers(90, 100)):02d}"
                h, mm = _hm(int(rng.choice([15, 30, 45, 60])))
                rows.append(Row([workdays[int(rng.integers(0, len(workdays)))], "Puhelinkeskustelu asiakkaan kanssa",
                                 h, mm, other, None, None, None, "x"]))
            rows.sort(key=lambda r: r.values[0])
            if rng.random() < 0.4:   # the form's example rows left in place
                rows[0:0] = [Row([dt.date(2017, 1, 2), "Puhelinkeskustelu asiakkaan kanssa", None, 10, "xxxxx1",
                                  None, "x", None, None], "skip"),
                             Row([dt.date(2017, 1, 2), "Palvelutarpeenarviointi", 1, 15, "xxxxx1", "x", "x",
                                  None, None], "skip"),
                             Row([dt.date(2017, 1, 2), "Asiakastietojen kirjaaminen", None, 30, "xxxxx2", None,
                                  None, "x", None], "skip")]
            reach = 1 if rng.random() < 0.6 else 2
            pad = [None] * (reach - 1)
            block = [["Palvelujen ja tuen tuottamisen työvoimakustannukset"],
                     ["Pilotti 1", *pad, names[pilot]],
                     ["Työntekijän tunnus 2", *pad, f"{worker:02d}" if rng.random() < 0.5 else worker],
                     ["Nimike 3", *pad, title], ["Palveluyksikkö/-tiimi 4", *pad, team],
                     ["Säännöllinen viikkotyöaika 5", *pad, _num_text(weekly, ",") + " h"]]
            files.append(FileSpec("tyoaika", f"tyoaika/tyoaika_{pilot}_t{worker:02d}_{y}-{m:02d}.xlsx",
                                  [SheetSpec("Työaika", header, rows, block=block)],
                                  date_style="text" if rng.random() < 0.3 else "cell"))
    return files


def _travel(c: Client, rng, vehicle_pool=T.VEHICLES) -> tuple[str, int, float, float]:
    km = float(rng.integers(2, 31))
    vehicle = str(rng.choice(vehicle_pool))
    desc = f"{c.home} - {rng.choice(T.DESTINATIONS)} ja takaisin / {vehicle}"
    cost = 3.2 if vehicle == "bussi" else (round(km * 0.25, 2) if vehicle == "oma auto" else 0.0)
    return desc, int(rng.choice([10, 15, 20, 30, 40, 60])), km, cost


def _asiakaskulut(clients, rng, names: _Names) -> list[FileSpec]:
    header = ["Päivämäärä (pp.kk.vvvv)", "Selite (mitä tehtiin)", "Aika tuntia 5", "Aika minuuttia 5",
              "Poissa töistä tuntia 6", "Poissa töistä minuuttia 6", "Matka-aika tuntia", "Matka-aika minuuttia",
              "Matkan selite (mistä-mihin/kulkuneuvo)", "Matkan pituus (km)", "Matkakulut €", "Muut kulut €",
              "Muiden kulujen selite"]
    files = []
    counter: dict[str, int] = {}
    for c in clients:
        if not c.consent or rng.random() >= RESPONSE["asiakaskulut"][c.arm]:
            continue
        rows = []
        for (y, m) in _months(c.start, c.last_day):
            first, last = _month_bounds(y, m)
            lo, hi = max(first, c.start), min(last, c.last_day)
            total = min(900, int(rng.gamma(1.5, OWN_MINUTES[c.arm] / 1.5)))
            if total < 5:
                continue
            for part in _split(total, int(rng.integers(1, 3)) if total >= 20 else 1, rng):
                d = lo + dt.timedelta(days=int(rng.integers(0, (hi - lo).days + 1)))
                h, mm = _hm(part)
                absence = (None, None)
                if c.labour == "ansiotyössä" and rng.random() < 0.3:
                    absence = _hm(min(part, int(rng.choice([30, 60, 120]))))
                travel: list[Any] = [None] * 5
                if rng.random() < 0.4:
                    desc, tmin, km, cost = _travel(c, rng)
                    names.keep(c.home)
                    th, tm = _hm(tmin)
                    travel = [th, tm, desc, km if rng.random() < 0.7 else f"{int(km)} km",
                              (_num_text(cost, ",") if rng.random() < 0.5 else cost) if cost else None]
                other: list[Any] = [None, None]
                if rng.random() < 0.1:
                    label, eur = T.OTHER_COSTS[int(rng.integers(0, len(T.OTHER_COSTS)))]
                    other = [eur, label]
                rows.append(Row([d, str(rng.choice(T.CLIENT_ACTIVITIES)), h, mm, *absence, *travel, *other]))
        rows.sort(key=lambda r: r.values[0])
        if not rows:
            continue
        if len(rows) > 4 and rng.random() < 0.15:   # an empty row left in the middle of the table
            rows.insert(len(rows) // 2, Row([None] * len(header), "skip"))
        n = counter[c.pilot] = counter.get(c.pilot, 0) + 1
        block = [["Asiakkaan palvelujen ja tuen hankkimiseen käyttämä aika ja matkakustannukset"],
                 ["Nimi:", names.keep(c.name)], ["Asiakasnumero 1", c.cid if rng.random() < 0.7 else int(c.cid)],
                 ["Asiakkuus alkoi 3", c.start], ["Asiakkuus päättyi 4", c.end],
                 ["Työvoimastatus:", c.labour]]
        files.append(FileSpec("asiakaskulut", f"asiakaskulut/asiakaskulut_{c.pilot}_{n:04d}.xlsx",
                              [SheetSpec("Lomake", header, rows, block=block)],
                              date_style="text" if rng.random() < 0.35 else "cell"))
    return files


def _avustajakulut(clients, rng, names: _Names) -> list[FileSpec]:
    header = ["Päivämäärä (pp.kk.vvvv)", "Selite (mitä tehtiin)", "Aika tuntia", "Aika minuuttia",
              "Matkan selite (mistä-mihin/kulkuneuvo)", "Matka-aika tuntia", "Matka-aika minuuttia",
              "Matkan pituus (km)", "Matkakulut €", "Muut kulut €", "Muiden kulujen selite"]
    files = []
    counter: dict[str, int] = {}
    for c in clients:
        if not (c.hb and c.consent) or rng.random() >= RESPONSE["assistant"]:
            continue
        rows = []
        for (y, m) in _months(c.start, c.last_day):
            first, last = _month_bounds(y, m)
            lo, hi = max(first, c.start), min(last, c.last_day)
            total = min(1200, int(rng.gamma(2.0, ASSISTANT_MINUTES_HB / 2.0)))
            if total < 5:
                continue
            for part in _split(total, int(rng.integers(1, 4)) if total >= 30 else 1, rng):
                d = lo + dt.timedelta(days=int(rng.integers(0, (hi - lo).days + 1)))
                h, mm = _hm(part)
                travel: list[Any] = [None] * 5
                if rng.random() < 0.35:
                    desc, tmin, km, cost = _travel(c, rng, ["bussi", "oma auto", "polkupyörä"])
                    names.keep(c.home)
                    th, tm = _hm(tmin)
                    travel = [desc, th, tm, km, cost or None]
                other = [None, None]
                if rng.random() < 0.05:
                    other = [5.0, "Puhelinkulut"]
                rows.append(Row([d, str(rng.choice(T.ASSISTANT_ACTIVITIES)), h, mm, *travel, *other]))
        rows.sort(key=lambda r: r.values[0])
        if not rows:
            continue
        relation = str(rng.choice(["omainen", "ystävä", "vapaaehtoinen", "kokemusasiantuntija", "opiskelija", "muu"],
                                  p=[.35, .2, .2, .1, .1, .05]))
        fee = float(rng.choice([150.0, 250.0, 400.0])) if rng.random() < 0.3 else None
        employer = f"{names.employer()}, {names.address()}, puh. {names.phone()}"
        n = counter[c.pilot] = counter.get(c.pilot, 0) + 1
        block = [["HB-avustajan asiakkaan avustamiseen käyttämä aika ja matkakustannukset"],
                 ["HB-avustajan nimi:", names.name()], ["Avustettavan asiakkaan nimi:", names.keep(c.name)],
                 ["Avustettavan asiakasnumero 1", c.cid], ["Läheissuhde:", relation],
                 ["HB-avustajan työnantaja ja yhteystiedot 2", employer],
                 ["Työvoimastatus:", str(rng.choice(["ansiotyössä", "työtön", "eläkkeellä", "opiskelija"]))],
                 ["Palkkio €:", fee]]
        files.append(FileSpec("avustajakulut", f"avustajakulut/avustajakulut_{c.pilot}_{n:04d}.xlsx",
                              [SheetSpec("Lomake", header, rows, block=block)],
                              date_style="text" if rng.random() < 0.3 else "cell"))
    return files


def _budjetti(clients, pilots, rng) -> list[FileSpec]:
    b_header = ["Asiakasnumero", "Budjetti €", "Alkoi", "Päättyi"]
    u_header = ["Asiakasnumero", "Päivämäärä", "Palvelu tai hankinta", "Tuottaja", "Summa €", "Maksutapa"]
    pkeys = list(PROVIDER_SHARES)
    shares = np.array([PROVIDER_SHARES[k] for k in pkeys])
    files = []
    for p in pilots:
        brows, urows = [], []
        for c in sorted((c for c in clients if c.pilot == p.key and c.hb and c.consent), key=lambda c: c.cid):
            # the budget starts within the first calendar month, so budget months = clienthood months
            bstart = min(c.start + dt.timedelta(days=int(rng.integers(0, 21))),
                         _month_bounds(c.start.year, c.start.month)[1], c.last_day)
            months = _months(bstart, c.last_day)
            budget = round(BUDGET_EUR_PER_MONTH * len(months) * rng.uniform(0.95, 1.3), -1)
            brows.append(Row([c.cid, float(budget), bstart, c.end]))
            for (y, m) in months:
                first, last = _month_bounds(y, m)
                lo, hi = max(first, bstart), min(last, c.last_day)
                for _ in range(int(rng.poisson(COMMITMENTS_PER_MONTH))):
                    prov = pkeys[int(rng.choice(len(pkeys), p=shares))]
                    raw = PROVIDER_RAW[prov]
                    amount = round(float(rng.gamma(2.0, BUDGET_EUR_PER_MONTH / COMMITMENTS_PER_MONTH / 2.0)), 2)
                    d = lo + dt.timedelta(days=int(rng.integers(0, (hi - lo).days + 1)))
                    urows.append(Row([c.cid, d, str(rng.choice(T.BUDGET_ITEMS[raw])), raw, amount,
                                      str(rng.choice(T.PAYMENT_METHODS, p=[.55, .2, .15, .1]))]))
        urows.sort(key=lambda r: (r.values[1], r.values[0]))
        files.append(FileSpec("budjetti", f"budjetti/budjetti_{p.key}.xlsx",
                              [SheetSpec("Budjetit", b_header, brows),
                               SheetSpec("Maksusitoumukset", u_header, urows)]))
    return files


def _palvelut(clients, pilots, rng) -> list[FileSpec]:
    header = ["Asiakasnumero", "Palvelu", "Yksikkö", "Määrä", "Alkoi", "Päättyi"]
    files = []
    for p in pilots:
        rows = []
        for c in sorted((c for c in clients if c.pilot == p.key), key=lambda c: c.cid):
            months = _months(c.start, c.last_day)
            for svc, (unit, r_hb, r_ctl) in SERVICES.items():
                rate = r_hb if c.hb else r_ctl
                if unit == "kk":   # a monthly benefit: a client either has it for the whole clienthood or not
                    if rng.random() < rate:
                        rows.append(Row([c.cid, svc, unit, float(len(months)), c.start, c.end],
                                        "ok" if c.consent else "excluded"))
                    continue
                q = rng.poisson(rate, len(months))
                for (y, m), qty in zip(months, q):
                    if qty == 0:
                        continue
                    first, last = _month_bounds(y, m)
                    rows.append(Row([c.cid, svc, unit, float(qty), max(first, c.start), min(last, c.last_day)],
                                    "ok" if c.consent else "excluded"))
        if p.key == "vantaa":
            files.append(FileSpec("palvelut", f"palvelut/palvelut_{p.key}.csv", [SheetSpec("", header, rows)],
                                  fmt="csv", encoding="cp1252"))
        elif p.key == "kainuu":
            files.append(FileSpec("palvelut", f"palvelut/palvelut_{p.key}.csv", [SheetSpec("", header, rows)],
                                  fmt="csv", encoding="utf-8", delimiter=",", decimal="."))
        else:
            files.append(FileSpec("palvelut", f"palvelut/palvelut_{p.key}.xlsx",
                                  [SheetSpec("Palvelut", header, rows)],
                                  date_style="text" if p.key == "tampere" else "cell"))
    return files


def _lahtokysely(pilots, rng, names: _Names) -> FileSpec:
    header = (["Pilotti", "Vastaajaryhmä", "Ammattinimike", "Työpaikka", "Koulutus", "Työkokemus", "1", "2"]
              + [f"3 {t}" for t in T.LAHTO_TOPICS] + ["4.1", "4.2", "4.3", "4.4", "4.5", "5.1", "5.2", "5.3",
                                                       "Mittarit", "6", "7", "8"])
    rows = []
    for p in pilots:
        for _ in range(int(rng.integers(5, 11))):
            group = str(rng.choice(["projektiryhmä", "johtoryhmä"], p=[.65, .35]))
            stm = [int(np.clip(round(rng.normal(4.4, 1.3)), 1, 7)) for _ in range(9)]
            rows.append(Row([p.name, group, str(rng.choice(T.LAHTO_TITLES)),
                             f"{p.name}, {rng.choice(T.TEAMS)}, {names.address()}",   # workplace: dropped
                             str(rng.choice(T.EDUCATION[1:])),
                             float(rng.integers(1, 30)), str(rng.choice(T.LAHTO_OPEN["1"])),
                             str(rng.choice(T.LAHTO_OPEN["2"]))]
                            + [str(rng.choice(T.LAHTO_OPEN["3"])) if rng.random() < .8 else None
                               for _ in T.LAHTO_TOPICS]
                            + stm[:8] + [str(rng.choice(T.LAHTO_OPEN["Mittarit"])), stm[8],
                                         str(rng.choice(T.LAHTO_OPEN["7"])), str(rng.choice(T.LAHTO_OPEN["8"]))]))
    return FileSpec("lahtokysely", "lahtokysely/lahtokysely.xlsx", [SheetSpec("Vastaukset", header, rows)])


def _avustajakysely(pilots, rng) -> FileSpec:
    header = ["Pilotti", "Ikä", "Koulutus", "Tausta"] + list(T.ASSISTANT_OPEN)
    rows = []
    for p in pilots:
        for _ in range(int(rng.integers(2, 7))):
            rows.append(Row([p.name, int(rng.integers(19, 75)), str(rng.choice(T.EDUCATION)),
                             str(rng.choice(["kokemusasiantuntija", "järjestön vapaaehtoinen", "alan opiskelija",
                                             "läheinen tai ystävä", "omainen"]))]
                            + [str(rng.choice(v)) for v in T.ASSISTANT_OPEN.values()]))
    return FileSpec("avustajakysely", "avustajakysely/avustajakysely.csv", [SheetSpec("", header, rows)],
                    fmt="csv", encoding="cp1252")


def _kehittamistyo(pilots, rng) -> FileSpec:
    f_rows = []
    d = dt.date(2017, 1, 20)
    for i in range(12):
        event = T.EVENTS[min(i // 2, len(T.EVENTS) - 1)]
        for _ in range(int(rng.integers(3, 9))):
            p = pilots[int(rng.integers(0, len(pilots)))]
            comment = str(rng.choice(T.EVENT_FEEDBACK))
            f_rows.append(Row([event, d, p.name, int(np.clip(round(rng.normal(3.9, 0.8)), 1, 5)), comment or None]))
        d = d + dt.timedelta(days=int(rng.integers(45, 75)))
    s_rows = []
    for p in pilots:
        for period in ["2017/1", "2017/2", "2018/1", "2018/2", "2019/1"]:
            for goal in T.SELF_EVAL_GOALS[:3]:
                s_rows.append(Row([p.name, period, goal, int(np.clip(round(rng.normal(3.3, 0.9)), 1, 5)),
                                   str(rng.choice(T.SELF_EVAL_REASONS))]))
    return FileSpec("kehittamistyo", "kehittamistyo/kehittamistyo.xlsx",
                    [SheetSpec("Palautteet", ["Tilaisuus", "Päivämäärä", "Pilotti", "Arvio", "Avoin palaute"],
                               f_rows),
                     SheetSpec("Itsearviointi", ["Pilotti", "Kausi", "Tavoite", "Arvio", "Perustelu"], s_rows)])


# ---------------------------------------------------------------- instruments beyond the contract (issue 21)
# planted truth: the share who know HB by respondent group (web survey, spring 2019), the events' awareness item,
# media hits per month (national + per pilot, rising), relatives' minutes per client month and Kompassi changes
AWARENESS_KNOWS = {"asiakas": .35, "henkilöstö": .8, "johto": .9, "tilaisuuden osallistuja": .95, "muu": .2}
AWARENESS_N = {"asiakas": 120, "henkilöstö": 90, "johto": 30, "tilaisuuden osallistuja": 60, "muu": 40}
EVENT_AWARENESS_MEAN = 4.1
MEDIA_HITS_PER_MONTH = {"sanomalehti": 1.5, "verkkomedia": 2.0, "radio ja tv": .3, "ammattilehti": .5,
                        "sosiaalinen media": 3.0}
RELATIVE_RESPONSE = {"hb": .3, "verrokki": .3}
RELATIVE_MINUTES = {"hb": 240, "verrokki": 180}   # per client month (gamma, shape 1.5)
KOMPASSI_BASE = 5.5
KOMPASSI_CHANGE = {"hb": 1.2, "verrokki": 0.3}      # every area, alku -> loppu (1–10 scale)
KOMPASSI_ATTRITION = {"hb": .15, "verrokki": .3}


def _tietoisuuskysely(pilots, rng) -> tuple[FileSpec, dict]:
    header = ["Vastauspäivä", "Vastaajaryhmä", "Pilotti", "Tunnen HB:n", "Tietolähde", "Arvio"]
    rows = []
    for g, n in AWARENESS_N.items():
        for _ in range(n):
            d = dt.date(2019, 2, 1) + dt.timedelta(days=int(rng.integers(0, 58)))
            k = bool(rng.random() < AWARENESS_KNOWS[g])
            pilot = "" if g == "tilaisuuden osallistuja" else pilots[int(rng.integers(0, len(pilots)))].name
            src = str(rng.choice(["työntekijä", "tilaisuus", "media", "internet", "muu"])) if k else None
            rows.append(Row([d, g, pilot or None, "kyllä" if k else "ei", src,
                             int(np.clip(round(rng.normal(3.6 if k else 3.0, 0.9)), 1, 5))]))
    rows.sort(key=lambda r: r.values[0])
    return (FileSpec("tietoisuuskysely", "tietoisuuskysely/tietoisuuskysely_2019.csv", [SheetSpec("", header, rows)],
                     fmt="csv", encoding="utf-8-sig", date_style="text"),
            {"planned_respondents": dict(AWARENESS_N), "knows_share": dict(AWARENESS_KNOWS)})


def _mediaseuranta(pilots, rng) -> tuple[FileSpec, dict]:
    header = ["Kuukausi", "Media", "Pilotti", "Osumat", "Tavoittavuus"]
    rows, total = [], 0
    months = _months(dt.date(2016, 9, 1), dt.date(2019, 3, 31))
    for i, (y, m) in enumerate(months):
        growth = 0.5 + 1.5 * i / max(len(months) - 1, 1)
        for media, lam in MEDIA_HITS_PER_MONTH.items():
            for p in [None, *pilots]:
                hits = int(rng.poisson(lam * growth * (2.0 if p is None else 0.5)))
                if hits == 0:
                    continue
                total += hits
                rows.append(Row([dt.date(y, m, 1), media, p.name if p else None, hits,
                                 int(hits * rng.integers(500, 20000)) if media != "sosiaalinen media" else None]))
    return (FileSpec("mediaseuranta", "mediaseuranta/mediaseuranta.xlsx", [SheetSpec("Tilastot", header, rows)]),
            {"hits_total": total, "months": len(months)})


def _laheiskulut(clients, rng, names: _Names) -> tuple[list[FileSpec], dict]:
    header = ["Päivämäärä (pp.kk.vvvv)", "Selite (mitä tehtiin)", "Aika tuntia", "Aika minuuttia",
              "Poissa töistä tuntia", "Poissa töistä minuuttia", "Matkan selite", "Matka-aika tuntia",
              "Matka-aika minuuttia", "Matkan pituus (km)", "Matkakulut €", "Muut kulut €", "Muiden kulujen selite"]
    files, counter = [], {}
    forms = {"hb": 0, "verrokki": 0}
    for c in clients:
        if not c.consent or rng.random() >= RELATIVE_RESPONSE[c.arm]:
            continue
        rows = []
        for (y, m) in _months(c.start, c.last_day):
            first, last = _month_bounds(y, m)
            lo, hi = max(first, c.start), min(last, c.last_day)
            total = min(1200, int(rng.gamma(1.5, RELATIVE_MINUTES[c.arm] / 1.5)))
            if total < 5:
                continue
            d = lo + dt.timedelta(days=int(rng.integers(0, (hi - lo).days + 1)))
            h, mm = _hm(total)
            travel: list[Any] = [None] * 5
            if rng.random() < 0.3:
                desc, tmin, km, cost = _travel(c, rng, ["oma auto", "bussi"])
                names.keep(c.home)
                th, tm = _hm(tmin)
                travel = [desc, th, tm, km, cost or None]
            rows.append(Row([d, str(rng.choice(T.RELATIVE_ACTIVITIES)), h, mm, None, None, *travel, None, None]))
        if not rows:
            continue
        forms[c.arm] += 1
        n = counter[c.pilot] = counter.get(c.pilot, 0) + 1
        block = [["Läheisen asiakkaan tukemiseen käyttämä aika ja kustannukset"],
                 ["Läheisen nimi:", names.name()], ["Asiakkaan nimi:", names.keep(c.name)],
                 ["Asiakkaan asiakasnumero", c.cid],
                 ["Läheissuhde:", str(rng.choice(["omainen", "ystävä", "naapuri", "muu"], p=[.6, .25, .1, .05]))],
                 ["Työvoimastatus:", str(rng.choice(["ansiotyössä", "eläkkeellä", "työtön", "opiskelija"]))]]
        files.append(FileSpec("laheiskulut", f"laheiskulut/laheiskulut_{c.pilot}_{n:04d}.xlsx",
                              [SheetSpec("Lomake", header, rows, block=block)]))
    return files, {"minutes_per_client_month": dict(RELATIVE_MINUTES), "forms": forms}


def _kompassi(clients, rng) -> tuple[FileSpec, dict]:
    from hbeval_lib.intake.instruments.specs import KOMPASSI_AREAS

    header = ["Asiakasnumero", "Arviointipäivä", "Arviointikerta", *KOMPASSI_AREAS.values()]
    rows = []
    for c in clients:
        if c.pilot != "hameenlinna":
            continue
        base = np.clip(np.round(KOMPASSI_BASE + 0.8 * c.f + rng.normal(0, 1.2, len(KOMPASSI_AREAS))), 1, 10)
        status = "ok" if c.consent else "excluded"
        rows.append(Row([c.cid, min(c.start + dt.timedelta(days=int(rng.integers(0, 15))), c.last_day), "alku",
                         *[float(v) for v in base]], status))
        if c.end is not None and rng.random() >= KOMPASSI_ATTRITION[c.arm]:
            end = np.clip(np.round(base + KOMPASSI_CHANGE[c.arm] + rng.normal(0, 1.0, len(base))), 1, 10)
            rows.append(Row([c.cid, max(c.end - dt.timedelta(days=int(rng.integers(0, 15))), c.start), "loppu",
                             *[float(v) for v in end]], status))
    rows.sort(key=lambda r: (r.values[1], r.values[0]))
    return (FileSpec("kompassi", "kompassi/kompassi_hameenlinna.xlsx", [SheetSpec("Arvioinnit", header, rows)]),
            {"base": KOMPASSI_BASE, "change": dict(KOMPASSI_CHANGE), "attrition": dict(KOMPASSI_ATTRITION),
             "clipped_to": [1, 10]})


def _event_awareness(feedback: FileSpec, rng) -> None:
    """The events' feedback survey's awareness item (1–5), added as a column with its own random stream (the
    other feedback columns stay as they were)."""
    sheet = feedback.sheets[0]
    sheet.header.append("Tietoisuus")
    for r in sheet.rows:
        r.values.append(int(np.clip(round(rng.normal(EVENT_AWARENESS_MEAN, 0.8)), 1, 5)) if rng.random() < .9
                        else None)


# ---------------------------------------------------------------- qualitative Markdown
STAGE_DATES = {"lähtötilanne": (dt.date(2017, 10, 2), dt.date(2017, 12, 15)),
               "väli": (dt.date(2018, 5, 2), dt.date(2018, 9, 14)),
               "loppu": (dt.date(2019, 1, 7), dt.date(2019, 3, 22))}
STAGE_FILE = {"lähtötilanne": "lahtotilanne", "väli": "vali", "loppu": "loppu"}


def _paragraph(stage: str, rng, names: _Names, counts: dict[str, int]) -> str:
    if rng.random() < 0.12:
        return str(rng.choice(T.UNTAGGED_SENTENCES))
    w = np.array([TAG_WEIGHTS[stage][t] for t in TAGS], float)
    k = 1 if rng.random() < 0.7 else 2
    tags = [TAGS[int(i)] for i in rng.choice(len(TAGS), size=k, replace=False, p=w / w.sum())]
    text = " ".join(str(rng.choice(T.TAG_SENTENCES[t])) for t in tags)
    for t in tags:
        counts[t] = counts.get(t, 0) + 1
    if rng.random() < 0.15:
        tags.append("lainaus")
        counts["lainaus"] = counts.get("lainaus", 0) + 1
        text = "”" + text + "”"
        if rng.random() < 0.35:   # a quote that still holds a name or a phone number: the scrubber must remove it
            if rng.random() < 0.5:
                who = names.name()
                names.in_text.setdefault(who, None)
                text += f" – sanoi {who} tapaamisessa."
            else:
                phone = names.phone()
                names.in_text.setdefault(phone, None)
                text += f" Työntekijän numero oli {phone}."
    return text + " " + " ".join(f"#{t}" for t in tags)


def _date_in(stage: str, rng) -> dt.date:
    lo, hi = STAGE_DATES[stage]
    return lo + dt.timedelta(days=int(rng.integers(0, (hi - lo).days + 1)))


def _qualitative(pilots, rng, names: _Names) -> tuple[dict[str, str], dict]:
    texts: dict[str, str] = {}
    tag_counts: dict[str, dict[str, int]] = {}
    paragraphs: dict[str, int] = {}
    for p in pilots:
        for stage in STAGES:
            for kind, kslug in (("työntekijä", "tyontekija"), ("asiakas", "asiakas")):
                rel = f"paivakirjat/paivakirja_{p.key}_{kslug}_{STAGE_FILE[stage]}.md"
                counts: dict[str, int] = {}
                n_par = 0
                entries = sorted(_date_in(stage, rng) for _ in range(int(rng.integers(2, 4))))
                lines = ["---", f"pilotti: {p.name}", f"laji: {kind}", f"vaihe: {stage}",
                         f"pvm: {_dtext(entries[-1])}", "---", "", f"# Päiväkirja ({kind})", ""]
                for d in entries:
                    lines += [f"## {_dtext(d)}", ""]
                    for section in ("Havainnot", "Ajatukset", "Johtopäätökset ja tulkinnat"):
                        lines += [f"### {section}", ""]
                        for _ in range(int(rng.integers(1, 3))):
                            lines += [_paragraph(stage, rng, names, counts), ""]
                            n_par += 1
                texts[rel] = "\n".join(lines)
                tag_counts[rel] = dict(sorted(counts.items()))
                paragraphs[rel] = n_par
            kind = ["työntekijät", "esimiehet", "sekaryhmä", "asiakkaat"][(STAGES.index(stage) + len(p.key)) % 4]
            rel = f"tyopajat/tyopaja_{p.key}_{STAGE_FILE[stage]}.md"
            counts = {}
            n_par = 0
            d = _date_in(stage, rng)
            lines = ["---", f"pilotti: {p.name}", f"laji: {kind}", f"vaihe: {stage}", f"pvm: {_dtext(d)}", "---", "",
                     f"# Työpaja {_dtext(d)}: {p.name}", ""]
            for theme in T.WORKSHOP_THEMES:
                lines += [f"## {theme}", ""]
                for _ in range(int(rng.integers(1, 4))):
                    lines += [_paragraph(stage, rng, names, counts), ""]
                    n_par += 1
            texts[rel] = "\n".join(lines)
            tag_counts[rel] = dict(sorted(counts.items()))
            paragraphs[rel] = n_par
    by_stage: dict[str, dict[str, int]] = {s: {} for s in STAGES}
    for rel, counts in tag_counts.items():
        stage = next(s for s in STAGES if rel.endswith(f"_{STAGE_FILE[s]}.md"))
        for t, k in counts.items():
            by_stage[stage][t] = by_stage[stage].get(t, 0) + k
    return texts, {"tag_counts": tag_counts, "paragraphs": paragraphs,
                   "tag_counts_by_stage": {s: dict(sorted(v.items())) for s, v in by_stage.items()},
                   "tag_weights": TAG_WEIGHTS}


# ---------------------------------------------------------------- faults
def _norm(v: Any) -> str:
    """A cell as intake would compare it: spaces dropped, decimal comma as point, numbers as floats."""
    if v is None:
        return ""
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, (int, float, np.generic)):
        return repr(float(v))
    t = str(v).replace(" ", "").replace(",", ".").casefold()
    try:
        return repr(float(t.removesuffix("km").removesuffix("h").removesuffix("€")))
    except ValueError:
        return t


def _dedupe(files: list[FileSpec]) -> None:
    """Drop accidental repeats of a row within a file, which intake would rightly reject as duplicates."""
    for f in files:
        for sh in f.sheets:
            seen: set[tuple] = set()
            kept = []
            for r in sh.rows:
                key = tuple(_norm(v) for v in r.values)
                if r.status != "skip" and key in seen:
                    continue
                seen.add(key)
                kept.append(r)
            sh.rows = kept


def _pick(files: list[FileSpec], rng, instrument: str, sheet: str | None = None, where=None):
    """A random ok row (file, sheet, index) of an instrument, optionally filtered."""
    cands = []
    for f in files:
        if f.instrument != instrument:
            continue
        for sh in f.sheets:
            if sheet is not None and sh.name != sheet:
                continue
            for i, r in enumerate(sh.rows):
                if r.status == "ok" and (where is None or where(f, r)):
                    cands.append((f, sh, i))
    if not cands:
        return None
    return cands[int(rng.integers(0, len(cands)))]


def _plant_faults(files: list[FileSpec], clients: list[Client], rng) -> None:
    known = {c.cid for c in clients}
    arm = {c.cid: c.arm for c in clients}

    def col(sh: SheetSpec, name: str) -> int:
        return next(i for i, h in enumerate(sh.header) if h == name or h.startswith(name))

    def insert(f, sh, i, values, column, reason):
        # the faulty row goes right after the row it was made from
        sh.rows.insert(i + 1, Row(values, "fault", {"column": column, "reason": reason}))

    def mutate(instrument, column, value, reason, sheet=None, where=None):
        hit = _pick(files, rng, instrument, sheet, where)
        if hit is None:
            return
        f, sh, i = hit
        j = col(sh, column)
        vals = list(sh.rows[i].values)
        vals[j] = value(vals[j]) if callable(value) else value
        insert(f, sh, i, vals, sh.header[j], reason)

    def unknown_number(v):
        s = str(v).replace(" ", "")
        for nn in range(99, 0, -1):
            cand = s[:4] + f"{nn:02d}"
            if cand not in known:
                return cand
        return s

    mutate("kykyviisari", "Asiakasnumero", lambda v: "7" + str(v)[1:], "invalid_client_number")
    mutate("osallisuustesti", "Asiakasnumero", unknown_number, "unknown_client")
    mutate("kykyviisari", "Taidot", 12.5, "out_of_range")
    mutate("osallisuustesti", "K4", 7, "out_of_range")
    # an identical copy of a register row (the later one is the duplicate) in a CSV extract
    hit = _pick(files, rng, "palvelut", where=lambda f, r: f.fmt == "csv")
    if hit is not None:
        f, sh, i = hit
        sh.rows.insert(i + 1, Row(list(sh.rows[i].values), "fault", {"column": "", "reason": "duplicate"}))
    mutate("asiakaskulut", "Päivämäärä", "31.2.2018", "invalid_date")
    mutate("budjetti", "Päivämäärä", dt.date(2016, 5, 12), "date_out_of_period", sheet="Maksusitoumukset")
    mutate("budjetti", "Summa €", "noin 120", "invalid_number", sheet="Maksusitoumukset")
    mutate("asiakaskulut", "Matkakulut €", "-6,40", "negative_value")
    hb_row = lambda f, r: r.values[4] is not None and str(r.values[4]).replace(" ", "") in known \
        and arm[str(r.values[4]).replace(" ", "")] == "hb"
    hit = _pick(files, rng, "tyoaika", where=hb_row)
    if hit is not None:   # both HB and control marked
        f, sh, i = hit
        vals = list(sh.rows[i].values)
        vals[7] = "x"
        insert(f, sh, i, vals, sh.header[7], "conflicting_marks")
    hit = _pick(files, rng, "tyoaika", where=hb_row)
    if hit is not None:   # an HB client (roster) marked as a control client
        f, sh, i = hit
        vals = list(sh.rows[i].values)
        vals[6], vals[7] = None, "x"
        insert(f, sh, i, vals, sh.header[7], "group_mismatch")


# ---------------------------------------------------------------- main entry
def generate(out_dir, seed: int = 1, clients: int = 180, faults: str = "none", variants=()) -> dict:
    """Write a complete synthetic raw data set and its ``truth.json``.

    Parameters
    ----------
    out_dir : path-like
        The raw-data root to write (``<out_dir>/<instrument>/…`` and ``<out_dir>/truth.json``); created if absent.
        Files this generator writes are overwritten; other files are left alone.
    seed : int
        Seed of the random generator; the same arguments give the same files.
    clients : int
        Number of clients (HB and control) over the six pilots; at least 12.
    faults : {"none", "some"}
        ``"some"`` plants about a dozen invalid rows (listed in ``truth["faults"]``) that intake must reject.
    variants : iterable of str
        Structural variants (keys of :data:`VARIANTS`): ``"single-control"`` (a pilot with one control client),
        ``"no-interim"`` (a pilot without interim measurements, diaries or workshop), ``"late-start"`` (a pilot
        whose clients all start after the baseline report's cut-off). Empty (default): the files are exactly those
        of the same seed without variants.

    Returns
    -------
    dict
        The truth dictionary also written to ``truth.json`` (see ``data/README.md`` (section "The demo data set")).
    """
    if faults not in ("none", "some"):
        raise ValueError(f"faults must be 'none' or 'some', got {faults!r}")
    if clients < 12:
        raise ValueError("clients must be at least 12 (two per pilot)")
    variants = tuple(sorted(set(variants or ())))
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise ValueError(f"unknown variant(s) {unknown}: choose from {sorted(VARIANTS)}")
    out = Path(out_dir)
    cfg = load_config()
    pilots = [cfg.pilot_by_key(k) for k in PILOT_PLAN]
    rng = np.random.default_rng(seed)
    names = _Names(np.random.default_rng([seed, 7]))
    people = _make_clients(cfg, int(clients), rng, names, variants)

    files: list[FileSpec] = []
    files += _roster(people, pilots, np.random.default_rng([seed, 1]))
    kyky, kyky_info = _kykyviisari(people, pilots, np.random.default_rng([seed, 2]), variants)
    files += kyky
    files += _osallisuustesti(people, pilots, np.random.default_rng([seed, 3]))
    files.append(_asiakaskysely(people, np.random.default_rng([seed, 4])))
    files.append(_esr(people, np.random.default_rng([seed, 5])))
    files += _tyoaika(people, pilots, np.random.default_rng([seed, 6]))
    files += _asiakaskulut(people, np.random.default_rng([seed, 8]), names)
    files += _avustajakulut(people, np.random.default_rng([seed, 9]), names)
    files += _budjetti(people, pilots, np.random.default_rng([seed, 10]))
    files += _palvelut(people, pilots, np.random.default_rng([seed, 11]))
    files.append(_lahtokysely(pilots, np.random.default_rng([seed, 12]), names))
    files.append(_avustajakysely(pilots, np.random.default_rng([seed, 13])))
    files.append(_kehittamistyo(pilots, np.random.default_rng([seed, 14])))
    md, qual = _qualitative(pilots, np.random.default_rng([seed, 15]), names)
    if "no-interim" in variants:   # the pilot's interim diaries and workshop were never written
        gone = [rel for rel in md if f"_{VARIANTS['no-interim']}_" in rel and rel.endswith(f"_{STAGE_FILE['väli']}.md")]
        for rel in gone:
            del md[rel]
            qual["paragraphs"].pop(rel)
            counts_gone = qual["tag_counts"].pop(rel)
            for t, k in counts_gone.items():
                qual["tag_counts_by_stage"]["väli"][t] -= k
    # instruments beyond the contract (issue 21): their own random streams, the other files stay as they were
    aware_file, aware_truth = _tietoisuuskysely(pilots, np.random.default_rng([seed, 18]))
    media_file, media_truth = _mediaseuranta(pilots, np.random.default_rng([seed, 19]))
    rel_files, rel_truth = _laheiskulut(people, np.random.default_rng([seed, 20]), names)
    komp_file, komp_truth = _kompassi(people, np.random.default_rng([seed, 21]))
    _dedupe(files)
    _event_awareness(next(f for f in files if f.instrument == "kehittamistyo"), np.random.default_rng([seed, 17]))
    files += [aware_file, media_file, *rel_files, komp_file]
    _dedupe(files)
    # the web survey's realised counts (after identical answers were dropped: intake would reject a repeat)
    aware_truth["respondents"] = {g: sum(1 for r in aware_file.sheets[0].rows if r.values[1] == g)
                                  for g in AWARENESS_N}
    aware_truth["knows"] = {g: sum(1 for r in aware_file.sheets[0].rows if r.values[1] == g and r.values[3] == "kyllä")
                            for g in AWARENESS_N}
    if faults == "some":
        _plant_faults(files, people, np.random.default_rng([seed, 16]))

    for inst in INSTRUMENTS:
        (out / inst).mkdir(parents=True, exist_ok=True)
    counts = {inst: {"read": 0, "accepted": 0, "skipped": 0, "rejected": 0, "excluded_no_consent": 0}
              for inst in INSTRUMENTS}
    fault_list = []
    for f in files:
        path = out / f.relpath
        (_write_csv if f.fmt == "csv" else _write_xlsx)(path, f)
        c = counts[f.instrument]
        for sh in f.sheets:
            for i, r in enumerate(sh.rows):
                c["read"] += 1
                if r.status == "skip":
                    c["skipped"] += 1
                elif r.status == "fault":
                    c["rejected"] += 1
                    fault_list.append({"instrument": f.instrument, "file": f.relpath,
                                       "sheet": sh.name if f.fmt == "xlsx" else "",
                                       "row": _excel_row(f, sh, i), "column": _plain_header(r.fault["column"]),
                                       "reason": r.fault["reason"]})
                elif r.status == "excluded":
                    c["excluded_no_consent"] += 1
                    c["accepted"] += int(EXCLUDED_IN_ACCEPTED)
                else:
                    c["accepted"] += 1
    for rel, text in md.items():
        (out / rel).write_bytes(text.encode("utf-8"))
        inst = rel.split("/")[0]
        counts[inst]["read"] += qual["paragraphs"][rel]
        counts[inst]["accepted"] += qual["paragraphs"][rel]
    # an Excel lock file left behind by an open workbook: intake must ignore it
    (out / "kykyviisari" / "~$kykyviisari_pori.xlsx").write_bytes(b"\x0chbeval demo" + b"\x00" * 40)

    consenting = [c for c in people if c.consent]
    truth = {
        "arguments": {"seed": int(seed), "clients": int(clients), "faults": faults,
                      **({"variants": {v: VARIANTS[v] for v in variants}} if variants else {})},
        "instruments": INSTRUMENTS,
        "files": sorted(f.relpath for f in files) + sorted(md),
        "counts": counts,
        "faults": fault_list,
        "effects": {"kykyviisari": dict(EFFECTS), "osallisuustesti": OSALLISUUS_EFFECT,
                    "baseline_shift_hb": BASELINE_SHIFT_HB,
                    "kykyviisari_control_change": CONTROL_CHANGE, "kykyviisari_end_noise_sd": END_NOISE_SD,
                    "kykyviisari_clipped_share": round(kyky_info["clipped_share"], 5),
                    "osallisuustesti_baseline_shift_hb": OSALLISUUS_SHIFT_HB,
                    "osallisuustesti_control_change": OSALLISUUS_CONTROL_CHANGE,
                    "attrition": ATTRITION},
        "costs": {"service_units_per_client_month": {
                      "hb": {s: v[1] for s, v in SERVICES.items()},
                      "verrokki": {s: v[2] for s, v in SERVICES.items()}},
                  "service_units": {s: v[0] for s, v in SERVICES.items()},
                  "budget_use_eur_per_client_month_hb": BUDGET_EUR_PER_MONTH,
                  "worker_minutes_per_client_month": dict(WORKER_MINUTES),
                  "own_minutes_per_client_month": dict(OWN_MINUTES),
                  "assistant_minutes_per_client_month_hb": ASSISTANT_MINUTES_HB,
                  "measured_months": [f"{y}-{m:02d}" for y, m in MEASURED_MONTHS]},
        "providers": {"hb_budget_share": dict(PROVIDER_SHARES)},
        "asiakaskysely": {"latent_likert_means": SURVEY_MEANS, "latent_sd": 0.9},
        "clients": {
            "total": len(people), "consenting": len(consenting),
            "no_consent": len(people) - len(consenting),
            "by_pilot_arm": {p.key: {a: sum(1 for c in consenting if c.pilot == p.key and c.arm == a)
                                     for a in ("hb", "verrokki")} for p in pilots},
            "groups_by_pilot": {k: list(v["groups"]) for k, v in PILOT_PLAN.items()},
        },
        "qualitative": qual,
        "awareness": {**aware_truth, "event_awareness_mean": EVENT_AWARENESS_MEAN, "media": media_truth},
        "relatives": rel_truth,
        "kompassi": komp_truth,
        "identifiers": list(names.seen),
        "identifiers_in_quotes": list(names.in_text),
    }
    (out / "truth.json").write_text(json.dumps(truth, ensure_ascii=False, indent=1, default=str) + "\n",
                                    encoding="utf-8")
    return truth


# ---------------------------------------------------------------- command line
def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``hbeval demo-data``."""
    parser.add_argument("--out", required=True, help="folder to write the raw set and truth.json into")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--clients", type=int, default=180, help="number of clients (default 180)")
    parser.add_argument("--faults", choices=["none", "some"], default="none",
                        help="plant invalid rows that intake must reject (default none)")
    parser.add_argument("--variant", action="append", choices=sorted(VARIANTS), default=[],
                        help="a structural variant (repeatable): " + "; ".join(
                            f"{k}: {v}" for k, v in sorted(VARIANTS.items())))


def run_cli(args: argparse.Namespace) -> int:
    """Run ``hbeval demo-data``; prints only counts (no identifiers)."""
    truth = generate(args.out, seed=args.seed, clients=args.clients, faults=args.faults,
                     variants=getattr(args, "variant", None) or ())
    n_files = len(truth["files"])
    n_rows = sum(c["read"] for c in truth["counts"].values())
    print(f"demo-data: {truth['clients']['total']} asiakasta, {n_files} tiedostoa, {n_rows} riviä, "
          f"{len(truth['faults'])} istutettua virhettä -> {args.out}")
    return 0
