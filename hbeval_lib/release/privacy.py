"""Identifiers never reach the book: the ``hbeval check-privacy`` command.

The identifier strings of the raw folder come from :mod:`hbeval_lib.intake.identifiers` (patterns, scrubbing,
:func:`~hbeval_lib.intake.identifiers.collect_identifiers`).

* :func:`check_privacy` scans a built book (HTML, executed notebooks, CSV/Markdown/text/JSON, downloadable
  workbooks) for those strings and for results rows that publish a statistic on fewer persons than the
  threshold. ``hbeval check-privacy BUILD_DIR --raw RAW_DIR`` exits 1 on a finding (naming the file and the
  string, masked so the check itself does not leak it), 0 when clean and 2 on bad usage.

Worker ids (``Työntekijän tunnus``, two digits) are not searched on their own: a two-digit string occurs
everywhere in a book. They are part of every client number (digits 3–4), which is searched.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from hbeval_lib.config import Config, load_config
from hbeval_lib.intake.identifiers import collect_identifiers, rows_of_file


# -- checking a build ------------------------------------------------------------------------------------------------

TEXT_SUFFIXES = {".html", ".htm", ".ipynb", ".csv", ".md", ".txt", ".json", ".js", ".log", ".svg", ".tsv",
                 ".xml", ".tex", ".py"}
_DATA_URI = re.compile(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=\s]+")
_BINARY_MIME = ("image/png", "image/jpeg", "image/gif", "application/pdf")


@dataclass(frozen=True)
class Finding:
    """One privacy finding: ``file`` contains ``string`` (``kind``: identifier, client_number, small_cell)."""

    file: Path
    string: str
    kind: str
    detail: str = ""

    def masked(self) -> str:
        """The finding as a log line with the string's middle masked."""
        return f"{self.file}: {self.kind}: {mask(self.string)}" + (f" ({self.detail})" if self.detail else "")


def mask(s: str) -> str:
    """Mask the middle of a string: ``'Aili Sarvela'`` → ``'Ai********la'``, ``'110201'`` → ``'1****1'``."""
    s = str(s)
    keep = 1 if len(s) <= 8 else 2
    if len(s) <= 2:
        return "*" * len(s)
    return s[:keep] + "*" * (len(s) - 2 * keep) + s[-keep:]


def _notebook_text(obj) -> str:
    """All text of a notebook/JSON document, leaving out binary (base64) outputs."""
    parts: list[str] = []

    def walk(x, key=None):
        if isinstance(x, dict):
            for k, v in x.items():
                if k in _BINARY_MIME or str(k).startswith("image/") and k != "image/svg+xml":
                    continue
                walk(v, k)
        elif isinstance(x, list):
            for v in x:
                walk(v, key)
        elif isinstance(x, str):
            parts.append(x)
        elif x is not None and not isinstance(x, bool):
            parts.append(str(x))

    walk(obj)
    return "\n".join(parts)


def _file_text(path: Path) -> str | None:
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        parts = []
        for _sheet, rows in rows_of_file(path):
            parts.extend(" \t ".join("" if v is None else str(v) for v in r) for r in rows)
        return "\n".join(parts)
    if suffix not in TEXT_SUFFIXES:
        return None
    text = path.read_text(encoding="utf-8", errors="replace")
    if suffix in (".ipynb", ".json"):
        try:
            text = _notebook_text(json.loads(text))
        except ValueError:
            pass
    text = _DATA_URI.sub(" ", text)
    if suffix in (".html", ".htm", ".svg", ".xml"):
        text = html.unescape(re.sub(r"<[^>]+>", " ", text))
    return text


def _is_vendor(path: Path, root: Path) -> bool:
    parts = path.relative_to(root).parts
    return any(p in ("_static", ".doctrees", ".jupyter_cache", "__pycache__") for p in parts[:-1]) or \
        parts[-1] in (".buildinfo",)


def _client_number_re(numbers: set[str]) -> re.Pattern:
    # a six-digit token: not inside a longer digit run, not glued to letters, not the decimals of a number
    return re.compile(r"(?<![0-9A-Za-z])(?<![0-9][.,])(\d{6})(?![0-9A-Za-z])")


def _small_cells(path: Path, min_n_stat: int) -> list[Finding]:
    try:
        df = pd.read_csv(path)
    except (ValueError, pd.errors.ParserError):
        return []
    if not {"key", "n", "suppressed"} <= set(df.columns):
        return []
    n = pd.to_numeric(df["n"], errors="coerce")
    sup = df["suppressed"].astype(str).str.strip().str.casefold().isin(["true", "1", "yes"])
    numbers = [c for c in ("estimate", "ci_low", "ci_high", "p_value") if c in df.columns]
    has_number = df[numbers].apply(pd.to_numeric, errors="coerce").notna().any(axis=1) if numbers else True
    out = []
    for i in df.index[(~sup) & n.notna() & (n < min_n_stat)]:
        out.append(Finding(path, str(df.at[i, "key"]), "small_cell",
                           f"n < {min_n_stat} but not suppressed"))
    for i in df.index[sup & (has_number | n.notna())]:
        out.append(Finding(path, str(df.at[i, "key"]), "small_cell", "suppressed row carries numbers"))
    return out


def check_privacy(build_dir: str | Path, raw_dir: str | Path, cfg: Config | None = None,
                  identifiers: set[str] | None = None) -> list[Finding]:
    """Scan a built book for identifiers from the raw data and for unsuppressed small cells.

    Parameters
    ----------
    build_dir : path
        The folder to scan (e.g. ``book/`` or ``book/_build/html``); every text file, executed notebook and
        workbook under it is read, except vendor assets under ``_static``.
    raw_dir : path
        The raw data the book was built from (:func:`collect_identifiers`).
    cfg : Config, optional
        For the thresholds (``disclosure.min_n_stat``, ``disclosure.min_identifier_length``).
    identifiers : set of str, optional
        Use these instead of collecting them from ``raw_dir``.

    Returns
    -------
    list of Finding
        Sorted by file; empty when the build is clean.
    """
    cfg = cfg or load_config()
    conf = cfg.section("disclosure", {}) or {}
    min_n_stat = int(conf.get("min_n_stat", 10))
    min_len = int(conf.get("min_identifier_length", 6))
    build_dir = Path(build_dir)
    if identifiers is None:
        identifiers = collect_identifiers(raw_dir, min_length=min_len)
    clients = {s for s in identifiers if re.fullmatch(r"\d{6}", s)}
    strings = sorted({re.sub(r"\s+", " ", s).casefold() for s in identifiers if s not in clients
                      and len(s) >= min_len})
    originals = {}
    for s in identifiers:
        originals.setdefault(re.sub(r"\s+", " ", s).casefold(), s)
    token = _client_number_re(clients)
    findings: list[Finding] = []
    for path in sorted(build_dir.rglob("*")):
        if not path.is_file() or _is_vendor(path, build_dir):
            continue
        text = _file_text(path)
        if text is None:
            continue
        seen_here = set()
        for m in token.finditer(text):
            if m.group(1) in clients and m.group(1) not in seen_here:
                seen_here.add(m.group(1))
                findings.append(Finding(path, m.group(1), "client_number"))
        flat = re.sub(r"\s+", " ", text).casefold()
        for s in strings:
            if s in flat:
                findings.append(Finding(path, originals[s], "identifier"))
        if path.suffix.lower() == ".csv" and (path.name.endswith(".results.csv") or path.name == "results.csv"):
            findings.extend(_small_cells(path, min_n_stat))
    return findings


# -- command line ----------------------------------------------------------------------------------------------------

def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``hbeval check-privacy``."""
    parser.add_argument("build_dir", help="built book folder to scan (e.g. book/ or book/_build/html)")
    parser.add_argument("--raw", dest="raw_dir", default=None,
                        help="raw data folder whose identifiers must not appear (default: paths.raw, or "
                             "paths.demo when paths.raw holds no files)")
    parser.add_argument("--max-report", type=int, default=200, help="print at most this many findings")
    parser.add_argument("--intruder", choices=["fail", "warn", "off"], default="fail",
                        help="the intruder test (hbeval_lib.release.intruder: what a reader can recover from the published "
                             "book): fail on a finding (default), only warn, or skip")


def _default_raw(cfg: Config) -> Path:
    raw = cfg.path_of("raw")
    if raw.is_dir() and any(p.is_file() for p in raw.rglob("*")):
        return raw
    return cfg.path_of("demo")


def _run_intruder(build: Path, mode: str, max_report: int) -> bool:
    """Attack the build as a reader would (:mod:`hbeval_lib.release.intruder`); True when it should fail the check."""
    if mode == "off":
        return False
    from hbeval_lib.release.intruder import attack, html_root, report_lines

    res = attack(html_root(build))
    for line in report_lines(res, max_report):
        print(line)
    print(res.summary(), file=sys.stderr if not res.ok else sys.stdout)
    return not res.ok and mode == "fail"


def run_cli(args: argparse.Namespace) -> int:
    """Run the check; 0 = clean, 1 = findings, 2 = bad usage."""
    cfg = load_config()
    build = Path(args.build_dir)
    raw = Path(args.raw_dir) if args.raw_dir else _default_raw(cfg)
    if not build.is_dir():
        print(f"check-privacy: build folder not found: {build}", file=sys.stderr)
        return 2
    if not raw.is_dir():
        print(f"check-privacy: raw data folder not found: {raw}", file=sys.stderr)
        return 2
    identifiers = collect_identifiers(raw, int((cfg.section("disclosure", {}) or {}).get("min_identifier_length", 6)))
    findings = check_privacy(build, raw, cfg=cfg, identifiers=identifiers)
    intruder_failed = _run_intruder(build, getattr(args, "intruder", "fail"), args.max_report)
    if not findings:
        print(f"check-privacy: no identifier or small-cell findings ({len(identifiers)} identifier strings "
              f"searched in {build})" + ("; the intruder test failed" if intruder_failed else ""))
        return 1 if intruder_failed else 0
    for f in findings[: args.max_report]:
        print(f.masked())
    if len(findings) > args.max_report:
        print(f"... and {len(findings) - args.max_report} more")
    print(f"check-privacy: {len(findings)} finding(s) in {len({f.file for f in findings})} file(s)",
          file=sys.stderr)
    return 1
