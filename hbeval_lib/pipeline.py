"""Execute the strand notebooks for every phase and pilot (``hbeval run``) and build the book (``hbeval build``).

The flow is one-way: raw files → ``hbeval intake`` → processed tables → papermill → ``book/<phase>/<strand>/<pilot>.ipynb``
(+ ``.results.csv`` and ``.suppressions.csv`` beside it) → ``jupyter-book build book/`` with execution off.

Cache
-----
Each executed notebook has a content-hash key stored beside it (``<pilot>.cachekey``). The key covers what can change
the notebook's *results*, never its prose:

* the notebook's **code cells** (their source and the tags that change execution, e.g. ``parameters``) — not its
  Markdown cells — and its parameters (strand, phase, pilot);
* the processed tables the notebook reads, **restricted to the notebook's pilot** (the ``kaikki`` notebooks hash
  the whole table). Which tables: the literal names in ``tables.load("<name>"`` / ``read_table("<name>"`` calls in the
  notebook and in every ``hbeval_lib`` module it imports (transitively). When any of those places calls the loader
  with a non-literal name or reads parquet files directly, the notebook is taken to read every table;
* the source of every ``hbeval_lib`` module the notebook imports, transitively (``hbeval_lib/__init__.py`` always);
* the configuration file, the pinned ``requirements.txt``, the kernel name and the Python version;
* the content of every file in ``extra_inputs`` (an argument of :func:`run` / :func:`build`; e.g. a release ledger
  written before the notebooks run: pass its path and every notebook's key covers it);
* for the synthesis notebook also the other strands' results tables of its phase (it reads them).

(jupyter-cache, the anchor, hashes code cells only; this key also covers the data and the library code.)

A notebook runs when its key differs from the stored one or any of its outputs is missing. When the key is unchanged
but the notebook's text is not (a prose-only edit: Markdown cells, or a code cell's display tags), the executed
notebook gets the new Markdown cells and keeps its outputs — no kernel starts ("prose" updates).

Processed tables are "stale" when the manifest ``<processed>/_manifest.json`` (a hash of every raw file, written after
intake) is missing or differs from the raw folder: then intake runs first.

Execution
---------
Notebooks run through papermill (the ``parameters`` cell is tagged, papermill injects the ``injected-parameters``
cell after it) on **warm kernels**: each of the ``jobs`` worker threads owns one ``hbeval`` kernel that has imported
pandas, statsmodels, seaborn and the report modules once. Before every notebook the kernel is reset (``%reset -f``,
open figures closed, and matplotlib rcParams, pandas options, numpy error/print settings, warning filters and their
"once" registries, working directory, environment variables and ``sys.path`` restored to the state after the
imports), so no variable or setting leaks from one notebook into the next. A kernel whose notebook failed is shut
down and the next notebook gets a new one. ``warm=False`` (``--cold-kernels``) starts one kernel per notebook.

A no-change run is cheap: the derived digests (a module's imports, a notebook's code digest, a pilot's slice of a
table) are memoised by content hash in ``<cache>/memo.json``, the results merge is skipped when no results file
changed, and :func:`jupyter_book_build` skips jupyter-book when no file of the book folder changed since its last
successful build (``_build/.hbeval_built-html``).

Stale check
-----------
After each run ``<book>/_generated/hbeval_stamp.json`` records a digest of every input of the book (notebooks,
``hbeval_lib``, configuration, requirements, the processed tables' manifest, the raw files, ``extra_inputs``) and the
notebooks whose executions are not up to date. The Sphinx extension ``book/_ext/hbeval_stale.py`` compares it with
the current inputs when ``jupyter-book build book/`` starts and stops the build with a message to run
``hbeval build`` when anything changed since (or some notebooks were left stale), so a bare ``jupyter-book build``
cannot publish a stale or mixed book.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import datetime as dt
import hashlib
import json
import logging
import os
import queue
import random
import re
import shutil
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from .config import ALL_PILOTS, REPO_ROOT, Config, load_config

STRANDS = ["wellbeing", "service_process", "costs"]
SYNTHESIS = "synthesis"
KERNEL_NAME = "hbeval"
CACHE_VERSION = 2
STAMP = "hbeval_stamp.json"  # in <book>/_generated/: what the book was built from (the stale check reads it)
# cell tags that change how a code cell executes (other tags only change how it is shown: no re-execution)
EXECUTION_TAGS = {"parameters", "raises-exception", "skip-execution", "skip-execution-in-book"}
MANIFEST = "_manifest.json"
OUTPUT_SUFFIXES = (".ipynb", ".results.csv", ".suppressions.csv")
CELLS_SUFFIX = ".cells.csv"   # the page's release record (hbeval_lib.disclosure.cells_path), checked by the build
LIB_DIR = Path(__file__).resolve().parent
ALL_PILOTS_NAME = "Kaikki pilotit"
# errors of a kernel that did not start or died: parallel papermill occasionally races for ZMQ ports
RETRYABLE = re.compile(r"address already in use|kernel died|deadkernel|kernel didn't respond|"
                       r"timeout waiting for kernel|zmq|kernel_info", re.IGNORECASE)
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class RunError(RuntimeError):
    """A notebook failed: the message names it, its parameters and the failing cell's traceback."""


# ---------------------------------------------------------------------------------------------------------------------
# hashing helpers
# ---------------------------------------------------------------------------------------------------------------------
def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_hash(path: Path) -> str:
    """SHA-256 of a file's bytes (``""`` when absent)."""
    path = Path(path)
    return _sha(path.read_bytes()) if path.exists() else ""


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
    return _sha(json.dumps(fingerprint, sort_keys=True).encode())


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
    from .intake import run_intake

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


def resolve_raw(cfg: Config, raw: str | os.PathLike | None = None, generate_demo: bool = True) -> Path:
    """The raw folder to use: ``raw`` if given, else ``paths.raw`` when it holds files, else the demo set
    (``paths.demo``; generated with :func:`hbeval_lib.demo.generate` when absent and ``generate_demo``)."""
    if raw:
        return Path(raw).resolve()
    real = cfg.path_of("raw")
    if real.is_dir() and any(p.is_file() and not p.name.startswith(".") for p in real.rglob("*")):
        return real
    demo = cfg.path_of("demo")
    if not (demo / "truth.json").exists():
        if not generate_demo:
            raise FileNotFoundError(f"no raw data in {real} and no demo set in {demo}: run `hbeval demo-data` "
                                    "or `hbeval build`")
        from .demo import generate

        print(f"hbeval: {real} is empty: generating the demo data set into {demo}", file=sys.stderr)
        generate(demo, seed=1)
    return demo


# ---------------------------------------------------------------------------------------------------------------------
# dependency scanning
# ---------------------------------------------------------------------------------------------------------------------
_LOADER = re.compile(r"(?:(?<![\w.])|\btables\.)(?:load|read_table)\(\s*(?:name\s*=\s*)?(['\"]?)(\w*)")
_DIRECT = re.compile(r"read_parquet\(")
_LOADER_MODULES = {"tables.py", "pipeline.py", "bookpages.py"}  # the loader itself and the orchestration
# names: a parenthesised list (may span lines) or the rest of one line — never the next statement
_IMPORT_NB = re.compile(r"^[ \t]*(?:from[ \t]+hbeval_lib(?:\.([\w.]+))?[ \t]+import[ \t]+(\([^)]*\)|[\w \t,*]+)"
                        r"|import[ \t]+hbeval_lib\.([\w.]+))",
                        re.MULTILINE)


def _module_file(dotted: str) -> Path | None:
    """File of a dotted ``hbeval_lib`` module name (a package's ``__init__.py``), or None."""
    parts = dotted.split(".")
    if parts[0] != "hbeval_lib":
        return None
    base = LIB_DIR.joinpath(*parts[1:])
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    return None


def _dotted(path: Path) -> str:
    rel = path.relative_to(LIB_DIR.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


# memoised derivations keyed by content hashes (persisted in <cache>/memo.json between runs, see load_memo):
# "imports": module text -> hbeval_lib modules it imports; "code": notebook text -> code digest;
# "tables": parquet file + pilot -> digest of that pilot's rows
MEMO: dict[str, dict] = {"imports": {}, "code": {}, "tables": {}}
MEMO_FILE = "memo.json"


def load_memo(cache_dir: Path) -> None:
    try:
        data = json.loads((Path(cache_dir) / MEMO_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    for k in MEMO:
        if isinstance(data.get(k), dict):
            MEMO[k].update(data[k])


def save_memo(cache_dir: Path) -> None:
    """Keep what is valid now (entries of files that no longer exist are dropped by size: at most 5,000 each)."""
    out = {k: dict(list(v.items())[-5000:]) for k, v in MEMO.items()}
    try:
        Path(cache_dir).mkdir(parents=True, exist_ok=True)
        tmp = Path(cache_dir) / (MEMO_FILE + f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(out), encoding="utf-8")
        os.replace(tmp, Path(cache_dir) / MEMO_FILE)
    except OSError:
        pass


def _imports_of_module(path: Path) -> set[Path]:
    """``hbeval_lib`` module files imported anywhere in the module at ``path`` (absolute or relative imports);
    memoised on the file's content."""
    text = path.read_text(encoding="utf-8")
    # the answer also depends on which module files exist: their list is part of the key
    files = _sha("|".join(sorted(str(f.relative_to(LIB_DIR)) for f in LIB_DIR.rglob("*.py"))).encode())
    memo = f"{path.relative_to(LIB_DIR).as_posix()}|{_sha(text.encode())}|{files}"
    if memo not in MEMO["imports"]:
        MEMO["imports"][memo] = sorted(str(f.relative_to(LIB_DIR)) for f in _parse_imports(path, text))
    return {LIB_DIR / f for f in MEMO["imports"][memo]}


def _parse_imports(path: Path, text: str) -> set[Path]:
    tree = ast.parse(text)
    me = _dotted(path).split(".")
    package = me if path.name == "__init__.py" else me[:-1]
    found: set[Path] = set()

    def add(dotted: str):
        f = _module_file(dotted)
        if f:
            found.add(f)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                add(a.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            add(target)
            for a in node.names:
                add(f"{target}.{a.name}")
    return found


def notebook_modules(source: str) -> list[Path]:
    """Every ``hbeval_lib`` module file a notebook source imports, transitively, sorted (``__init__`` included)."""
    todo = {LIB_DIR / "__init__.py"}
    for m in _IMPORT_NB.finditer(source):
        sub, names, plain = m.group(1), m.group(2), m.group(3)
        if plain:
            f = _module_file(f"hbeval_lib.{plain}")
            if f:
                todo.add(f)
            continue
        target = "hbeval_lib" + (f".{sub}" if sub else "")
        for dotted in [target] + [f"{target}.{n.strip()}" for n in re.split(r"[,\s()]+", names or "") if n.strip()]:
            f = _module_file(dotted)
            if f:
                todo.add(f)
    seen: set[Path] = set()
    while todo:
        f = todo.pop()
        if f in seen:
            continue
        seen.add(f)
        # a package pulls in its __init__ chain
        todo |= _imports_of_module(f) - seen
        for parent in f.parents:
            if parent == LIB_DIR.parent:
                break
            init = parent / "__init__.py"
            if init.is_file() and init not in seen:
                todo.add(init)
    return sorted(seen)


def scan_tables(text: str) -> tuple[set[str], bool]:
    """Literal table names loaded in ``text`` and whether it reads tables in a way that cannot be told (then all)."""
    from .schema import TABLES

    names, unknown = set(), bool(_DIRECT.search(text))
    for quote, name in _LOADER.findall(text):
        if quote and name in TABLES:
            names.add(name)
        elif not quote:
            unknown = True
    return names, unknown


def notebook_tables(source: str, modules: list[Path] | None = None) -> list[str]:
    """The processed tables a notebook reads: literal names in the notebook and in the ``hbeval_lib`` modules it
    imports (``tables.py`` itself, the loader, excluded); every table when any place loads by a non-literal name."""
    from .schema import TABLES

    modules = notebook_modules(source) if modules is None else modules
    names, unknown = scan_tables(source)
    for m in modules:
        if m.parent == LIB_DIR and m.name in _LOADER_MODULES:
            continue
        n, u = scan_tables(m.read_text(encoding="utf-8"))
        names |= n
        unknown |= u
    return sorted(TABLES) if unknown else sorted(names)


class TableHasher:
    """Hashes of the processed tables, one pilot's slice at a time, and of notebook dependencies (memoised for
    one run: make a new hasher for each run)."""

    def __init__(self, processed_dir: Path):
        self.processed_dir = Path(processed_dir)
        self._frames: dict = {}
        self._hashes: dict = {}
        self._files: dict = {}
        self.sources: dict = {}  # notebook source -> its dependencies (see cache_components)

    def _file_sha(self, name: str) -> str:
        if name not in self._files:
            self._files[name] = file_hash(self.processed_dir / f"{name}.parquet")
        return self._files[name]

    def _frame(self, name: str):
        import pandas as pd

        if name not in self._frames:
            path = self.processed_dir / f"{name}.parquet"
            self._frames[name] = pd.read_parquet(path) if path.exists() else None
        return self._frames[name]

    def digest(self, name: str, pilot: str) -> str:
        """Hash of table ``name`` restricted to ``pilot`` (the whole table for ``kaikki``); ``"absent"`` if missing."""
        import pandas as pd

        key = (name, pilot)
        # per-pilot digests by the SHA-256 of the parquet file (same bytes, same slices): a no-change run reads
        # no table
        sha = self._file_sha(name)
        memo = f"{sha}|{pilot}"
        if key not in self._hashes and sha and memo in MEMO["tables"]:
            self._hashes[key] = MEMO["tables"][memo]
        if key not in self._hashes:
            df = self._frame(name)
            if df is None:
                self._hashes[key] = "absent"
            else:
                if pilot != ALL_PILOTS and "pilot" in df.columns:
                    df = df[df["pilot"] == pilot]
                h = hashlib.sha256(repr([(c, str(t)) for c, t in df.dtypes.items()]).encode())
                h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
                self._hashes[key] = MEMO["tables"][memo] = h.hexdigest()
        return self._hashes[key]


# ---------------------------------------------------------------------------------------------------------------------
# jobs
# ---------------------------------------------------------------------------------------------------------------------
@dataclasses.dataclass
class Job:
    """One notebook execution: ``notebooks/<strand>.md`` for ``phase`` × ``pilot`` into ``book/<phase>/<strand>/``."""

    strand: str
    phase: str
    pilot: str
    source: Path
    book_dir: Path
    processed_dir: Path
    config_path: Path
    extra_inputs: tuple = ()  # further files whose content every key covers (see the module docstring)
    release_digest: str = ""  # digest of this page's cells in the protected release ledger
    key: str = ""
    components: dict = dataclasses.field(default_factory=dict)  # what the key was made of (kept in the key file)
    text_hash: str = ""  # hash of the whole notebook source, prose included (a prose edit changes only this)

    @property
    def out_dir(self) -> Path:
        return self.book_dir / self.phase / self.strand

    @property
    def output(self) -> Path:
        return self.out_dir / f"{self.pilot}.ipynb"

    @property
    def key_file(self) -> Path:
        return self.out_dir / f"{self.pilot}.cachekey"

    def outputs(self) -> list[Path]:
        return [self.out_dir / f"{self.pilot}{s}" for s in OUTPUT_SUFFIXES] + [self.cells_file]

    @property
    def cells_file(self) -> Path:
        """The page's release record: every cell it published and the decision it was shown with."""
        return self.out_dir / f"{self.pilot}{CELLS_SUFFIX}"

    @property
    def name(self) -> str:
        return f"{self.phase}/{self.strand}/{self.pilot}"

    def parameters(self, results_path: Path | str = "", suppressions_path: Path | str = "") -> dict:
        p = {"pilot": self.pilot, "phase": self.phase, "processed_dir": _show_path(self.processed_dir),
             "results_path": _show_path(results_path), "suppressions_path": _show_path(suppressions_path)}
        if self.strand == SYNTHESIS:
            p["results_dir"] = _show_path(self.book_dir / self.phase)
        return p


def _show_path(p) -> str:
    """A path as a notebook parameter: relative to the repository root when inside it (no absolute paths shown)."""
    if not p:
        return ""
    p = Path(p).resolve()
    try:
        return p.relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return str(p)


def plan_jobs(cfg: Config, notebooks_dir: Path, book_dir: Path, processed_dir: Path,
              phases: list[str] | None = None, pilots: list[str] | None = None,
              extra_inputs: list | tuple | None = None) -> list[Job]:
    """Every strand notebook present in ``notebooks_dir`` × phase × (each pilot + ``kaikki``), then the synthesis
    notebook (final phase, all pilots). ``phases`` / ``pilots`` narrow the selection."""
    notebooks_dir, book_dir, processed_dir = Path(notebooks_dir), Path(book_dir), Path(processed_dir)
    all_phases = [p.key for p in cfg.phases]
    all_pilots = [ALL_PILOTS] + [p.key for p in cfg.pilots]
    for ph in phases or []:
        cfg.phase(ph)
    for pi in pilots or []:
        if pi != ALL_PILOTS:
            cfg.pilot_by_key(pi)
    sel_phases = [p for p in all_phases if not phases or p in phases]
    sel_pilots = [p for p in all_pilots if not pilots or p in pilots]
    jobs = []
    common = dict(book_dir=book_dir.resolve(), processed_dir=processed_dir.resolve(), config_path=Path(cfg.path),
                  extra_inputs=tuple(Path(x).resolve() for x in extra_inputs or ()))
    for phase in sel_phases:
        for strand in STRANDS:
            src = notebooks_dir / f"{strand}.md"
            if not src.exists():
                continue
            for pilot in sel_pilots:
                jobs.append(Job(strand, phase, pilot, src.resolve(), **common))
    final = cfg.final_key   # the synthesis: the final report only (not the last report due)
    syn = notebooks_dir / f"{SYNTHESIS}.md"
    if syn.exists() and final in sel_phases and ALL_PILOTS in sel_pilots:
        jobs.append(Job(SYNTHESIS, final, ALL_PILOTS, syn.resolve(), **common))
    return jobs


def code_digest(source: str, fmt: str = "md") -> str:
    """Hash of a notebook's code cells — their source and the tags that change execution (:data:`EXECUTION_TAGS`) —
    in order. Markdown cells and display-only tags (``remove-input``, ``hide-output``…) do not count."""
    import jupytext

    memo = f"{fmt}|{_sha(source.encode())}"
    if memo not in MEMO["code"]:
        nb = jupytext.reads(source, fmt=fmt)
        cells = [[c.source, sorted(set(c.metadata.get("tags", [])) & EXECUTION_TAGS)]
                 for c in nb.cells if c.cell_type == "code"]
        MEMO["code"][memo] = _sha(json.dumps(cells, ensure_ascii=False).encode())
    return MEMO["code"][memo]


def _source_dependencies(source: str, fmt: str = "md") -> tuple[list[Path], list[str], dict[str, str], str]:
    """(modules, tables, module hashes, code digest) of a notebook source; memoised on the hasher for one run."""
    modules = notebook_modules(source)
    return (modules, notebook_tables(source, modules),
            {m.relative_to(LIB_DIR).as_posix(): file_hash(m) for m in modules}, code_digest(source, fmt))


def _extra_inputs_hashes(paths) -> dict[str, str]:
    return {_show_path(p): file_hash(p) for p in paths}


def cache_components(job: Job, hasher: TableHasher) -> dict:
    """The inputs of a job's cache key (see the module docstring). Also sets ``job.text_hash``."""
    source = job.source.read_text(encoding="utf-8")
    job.text_hash = _sha(source.encode())
    if source not in hasher.sources:
        hasher.sources[source] = _source_dependencies(source, job.source.suffix.lstrip(".") or "md")
    _modules, tables, lib, code = hasher.sources[source]
    comp = {
        "version": CACHE_VERSION,
        "notebook_code": code,
        "parameters": {"strand": job.strand, "phase": job.phase, "pilot": job.pilot},
        "tables": {t: hasher.digest(t, job.pilot) for t in tables},
        "hbeval_lib": lib,
        "config": file_hash(job.config_path),
        "requirements": file_hash(REPO_ROOT / "requirements.txt"),
        "kernel": KERNEL_NAME,
        "python": f"{sys.version_info.major}.{sys.version_info.minor}",
        "extra_inputs": _extra_inputs_hashes(job.extra_inputs),
        "release": job.release_digest,
    }
    if job.strand == SYNTHESIS:
        phase_dir = job.book_dir / job.phase
        comp["results"] = {p.relative_to(phase_dir).as_posix(): file_hash(p)
                           for p in sorted(phase_dir.glob("*/*.results.csv")) if p.parent.name != SYNTHESIS}
    return comp


def cache_key(job: Job, hasher: TableHasher) -> str:
    """SHA-256 of :func:`cache_components` (stored with its components in ``<pilot>.cachekey``)."""
    return _sha(json.dumps(cache_components(job, hasher), sort_keys=True).encode())


def _stored_key(job: Job) -> dict:
    try:
        return json.loads(job.key_file.read_text(encoding="utf-8"))
    except (ValueError, OSError):
        return {}


def job_status(job: Job) -> str:
    """``"fresh"`` (outputs match the inputs), ``"prose"`` (results up to date, the notebook's text changed: refresh
    without a kernel) or ``"stale"`` (execute: key changed or an output is missing)."""
    if not all(p.exists() for p in job.outputs()) or not job.key_file.exists():
        return "stale"
    stored = _stored_key(job)
    if stored.get("key") != job.key:
        return "stale"
    return "fresh" if stored.get("text") == job.text_hash else "prose"


def is_fresh(job: Job) -> bool:
    """True when every output exists and the stored key equals ``job.key`` (the prose may still need a refresh)."""
    return job_status(job) != "stale"


def _write_key_file(job: Job, seconds: float | None = None) -> None:
    """The key, the text hash and the key's components; ``seconds``: how long the last execution took (kept
    across prose refreshes; used to start the longest notebooks first)."""
    if seconds is None:
        seconds = _stored_key(job).get("seconds")
    tmp = job.key_file.with_name(job.key_file.name + ".tmp")
    tmp.write_text(json.dumps({"key": job.key, "text": job.text_hash, "components": job.components,
                               "seconds": seconds}, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, job.key_file)


_STRAND_WEIGHT = {"wellbeing": 3, "costs": 2, "service_process": 1}


def longest_first(jobs: list[Job]) -> list[Job]:
    """Order jobs so the longest start first (shorter makespan with parallel workers): by the seconds the last
    execution took when known, else all-pilots notebooks and heavier strands first."""
    def expected(j: Job) -> float:
        known = _stored_key(j).get("seconds") if j.key_file.exists() else None
        return known if isinstance(known, (int, float)) else (
            5.0 * _STRAND_WEIGHT.get(j.strand, 1) * (2 if j.pilot == ALL_PILOTS else 1))
    return sorted(jobs, key=expected, reverse=True)


_SOURCE_NB: dict = {}


def refresh_prose(job: Job) -> bool:
    """Give an executed notebook the current Markdown cells (and code cells' display tags) of its source, keeping
    every output: a prose-only edit without a kernel. Returns False (execute instead) when the code cells of the
    source and of the executed notebook do not line up."""
    import nbformat

    executed = nbformat.read(job.output, as_version=4)
    text = job.source.read_text(encoding="utf-8")
    memo = (str(job.source), _sha(text.encode()))
    if memo not in _SOURCE_NB:  # one parse per source and run, not one per phase × pilot
        if len(_SOURCE_NB) > 8:
            _SOURCE_NB.clear()
        _SOURCE_NB[memo] = nbformat.writes(to_notebook(job.source))
    src = nbformat.reads(_SOURCE_NB[memo], as_version=4)
    src_code = [c for c in src.cells if c.cell_type == "code"]
    injected = [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
    ex_code = [c for c in executed.cells if c.cell_type == "code" and all(c is not x for x in injected)]
    if len(src_code) != len(ex_code) or any(a.source != b.source for a, b in zip(src_code, ex_code)):
        return False
    cells, it = [], iter(ex_code)
    for c in src.cells:
        if c.cell_type != "code":
            cells.append(c)
            continue
        e = next(it)
        e.metadata = nbformat.from_dict({**{k: v for k, v in e.metadata.items() if k != "tags"},
                                         **({"tags": list(c.metadata["tags"])} if c.metadata.get("tags") else {})})
        cells.append(e)
        if "parameters" in c.metadata.get("tags", []):
            cells.extend(injected)
    for i, c in enumerate(cells):  # unique ids before writing (the final numbering is _finalise_notebook's)
        c["id"] = f"cell-{i:03d}"
    executed.cells = cells
    tmp = job.output.with_name(job.output.name + ".prose.tmp")
    nbformat.write(executed, tmp)
    _finalise_notebook(tmp, job)
    os.replace(tmp, job.output)
    _write_key_file(job)
    return True


# ---------------------------------------------------------------------------------------------------------------------
# execution (in worker processes)
# ---------------------------------------------------------------------------------------------------------------------
def to_notebook(source: Path):
    """A jupytext (MyST) notebook as an nbformat notebook, the kernel named explicitly, stable cell ids."""
    import jupytext

    nb = jupytext.read(source)
    nb.metadata["kernelspec"] = {"name": KERNEL_NAME, "display_name": "hbeval (Python 3.11)", "language": "python"}
    nb.metadata.pop("jupytext", None)
    for i, cell in enumerate(nb.cells):  # stable cell ids: same source, same executed notebook (clean diffs)
        cell["id"] = f"cell-{i:03d}"
    return nb


def to_ipynb(source: Path, dest: Path) -> Path:
    """Convert a jupytext (MyST) notebook to ``.ipynb`` for papermill, naming the kernel explicitly."""
    import nbformat

    nbformat.write(to_notebook(source), dest)
    return dest


_STYLER_ID = re.compile(r"(?<![\w])T_([0-9a-f]{5})(?![0-9a-zA-Z])")
_OBJECT_AT = re.compile(r"(<[\w.]+) at 0x[0-9a-fA-F]{6,16}>")  # default object reprs: a memory address


def stabilise_outputs(nb) -> None:
    """Make an executed notebook's outputs independent of the run: pandas Styler's random table ids
    (``T_1a2b3``) become ``T_00001``, ``T_00002``… in order of appearance, memory addresses in default object
    reprs (``<… at 0x7f…>``) become ``0x000000000000``, and execution counts run 1, 2, … over the executed code
    cells (a warm kernel's counter does not start at 1)."""
    ids: dict[str, str] = {}

    def sub(m):
        return "T_" + ids.setdefault(m.group(1), f"{len(ids) + 1:05x}")

    def fix(value):
        if isinstance(value, str):
            return _OBJECT_AT.sub(r"\1 at 0x000000000000>", _STYLER_ID.sub(sub, value))
        if isinstance(value, list):
            return [fix(v) for v in value]
        if isinstance(value, dict):
            for k in value:
                value[k] = fix(value[k])
        return value

    count = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if cell.get("execution_count") is not None:
            count += 1
            cell["execution_count"] = count
        for out in cell.get("outputs", []):
            if "execution_count" in out and out["execution_count"] is not None:
                out["execution_count"] = count
            if "data" in out:
                fix(out["data"])


def _finalise_notebook(path: Path, job: Job) -> None:
    """Make the executed notebook publishable: final parameter values, no run-specific metadata, parameter cells
    hidden, and a title naming the pilot and phase."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    params = job.parameters(*[job.out_dir / f"{job.pilot}{s}" for s in OUTPUT_SUFFIXES[1:]])
    cfg = load_config(job.config_path)
    who = ALL_PILOTS_NAME if job.pilot == ALL_PILOTS else cfg.pilot_by_key(job.pilot).name
    titled = False
    for cell in nb.cells:
        tags = cell.metadata.setdefault("tags", [])
        if "injected-parameters" in tags:
            cell.source = "# Parametrit\n" + "\n".join(f"{k} = {json.dumps(v, ensure_ascii=False)}"
                                                       for k, v in params.items())
        if "injected-parameters" in tags or "parameters" in tags:
            if "remove-cell" not in tags:
                tags.append("remove-cell")
        if not titled and cell.cell_type == "markdown":
            lines = cell.source.splitlines()
            for i, line in enumerate(lines):
                if line.startswith("# "):
                    lines[i] = f"{line.rstrip()}: {who}"
                    cell.source = "\n".join(lines)
                    titled = True
                    break
        if not tags:
            cell.metadata.pop("tags")
    pm = nb.metadata.get("papermill", {})
    for k in ("input_path", "output_path", "start_time", "end_time", "duration", "exception"):
        pm.pop(k, None)
    if "parameters" in pm:
        pm["parameters"] = params
    for i, cell in enumerate(nb.cells):
        cell.metadata.pop("execution", None)
        cell.metadata.pop("papermill", None)
        cell["id"] = f"cell-{i:03d}"  # papermill's injected cell gets a random id: renumber all
    stabilise_outputs(nb)
    nb.metadata["hbeval"] = {"strand": job.strand, "phase": job.phase, "pilot": job.pilot}
    nbformat.write(nb, path)


def _error_text(exc: BaseException, job: Job, failed_copy: Path | None) -> str:
    lines = [f"notebook {job.source.name} failed ({job.name})",
             "parameters: " + json.dumps(job.parameters(), ensure_ascii=False)]
    tb = getattr(exc, "traceback", None)
    if getattr(exc, "cell_index", None) is not None:
        src = (getattr(exc, "source", "") or "").strip().splitlines()
        lines.append(f"cell {exc.cell_index} (execution count {exc.exec_count}):")
        lines += ["    " + s for s in src[:15]] + (["    …"] if len(src) > 15 else [])
    if tb:
        lines.append("traceback:")
        lines += [ANSI.sub("", t) for t in tb]
    else:
        lines.append(f"{type(exc).__name__}: {exc}")
    if failed_copy:
        lines.append(f"the failed execution is kept in {failed_copy}")
    return "\n".join(lines)


def _ipc_kernel_manager():
    """A kernel manager using IPC sockets (files) instead of TCP ports: parallel kernels cannot race for ports."""
    import tempfile

    from jupyter_client.manager import AsyncKernelManager
    from traitlets import CaselessStrEnum, default

    class IPCKernelManager(AsyncKernelManager):
        transport = CaselessStrEnum(["tcp", "ipc"], default_value="ipc", config=True)

        @default("ip")
        def _ip_default(self):  # a unique socket path prefix per kernel
            return os.path.join(tempfile.gettempdir(), f"hbeval-kernel-{uuid.uuid4().hex[:12]}")

        async def _async_launch_kernel(self, kernel_cmd, **kw):
            # the kernel's own log (e.g. its shutdown chatter) would break the progress bar; cell errors and
            # output reach the notebook anyway, and a dead kernel is reported by nbclient
            kw.setdefault("stderr", subprocess.DEVNULL)
            return await super()._async_launch_kernel(kernel_cmd, **kw)

    return IPCKernelManager


# --- kernel side of a warm kernel: snapshot after the imports, restore before every notebook ------------------------
WARM_MODULES = ["numpy", "pandas", "scipy.stats", "matplotlib", "matplotlib.pyplot", "seaborn", "statsmodels.api",
                "statsmodels.formula.api", "pingouin", "myst_nb", "hbeval_lib.report", "hbeval_lib.plots",
                "hbeval_lib.tables", "hbeval_lib.results", "hbeval_lib.disclosure", "hbeval_lib.chapters.wellbeing",
                "hbeval_lib.chapters.service_process", "hbeval_lib.chapters.costs", "hbeval_lib.chapters.synthesis"]
# a module that fails to import here is left for the notebook to import (and to report its error). No
# warnings.catch_warnings() around the imports: the filters modules install when imported (statsmodels: "always" for
# ConvergenceWarning…) must stay, as in a cold kernel; the warm-up's own output is discarded anyway
WARM_IMPORTS = f"""\
import importlib
for _m in {WARM_MODULES!r}:
    try:
        importlib.import_module(_m)
    except Exception:
        pass
import hbeval_lib.pipeline
hbeval_lib.pipeline.kernel_snapshot()
"""
WARM_RESET = """\
%reset -f
import hbeval_lib.pipeline
hbeval_lib.pipeline.kernel_restore()
del hbeval_lib
"""
_KERNEL_STATE: dict = {}


def kernel_snapshot() -> None:
    """(In a warm kernel, after the imports.) Remember the process-wide state a notebook may change."""
    import warnings

    import matplotlib as mpl
    import numpy as np
    import pandas as pd

    opts = {}
    for k in pd._config.config._registered_options:  # noqa: SLF001 — no public list of option keys
        if k in pd._config.config._deprecated_options:  # noqa: SLF001
            continue
        try:
            opts[k] = pd.get_option(k)
        except Exception:  # noqa: BLE001
            pass
    _KERNEL_STATE.update(cwd=os.getcwd(), env=dict(os.environ), path=list(sys.path), filters=list(warnings.filters),
                         rc={k: v for k, v in mpl.rcParams.items() if k != "backend"}, np_err=np.geterr(),
                         np_print=np.get_printoptions(), pd=opts)


def kernel_restore() -> None:
    """(In a warm kernel, before a notebook.) Back to the state of :func:`kernel_snapshot`: the notebook starts as
    in a kernel that has just imported the libraries."""
    import random
    import warnings

    import matplotlib as mpl
    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd

    st = _KERNEL_STATE
    plt.close("all")
    os.chdir(st["cwd"])
    os.environ.clear()
    os.environ.update(st["env"])
    sys.path[:] = st["path"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mpl.rcParams.update(st["rc"])
        for k, v in st["pd"].items():
            try:
                if pd.get_option(k) != v:
                    pd.set_option(k, v)
            except Exception:  # noqa: BLE001
                pass
    np.seterr(**st["np_err"])
    np.set_printoptions(**st["np_print"])
    warnings.filters[:] = st["filters"]
    warnings._filters_mutated()  # noqa: SLF001 — forget every module's "already warned once" registry
    for m in list(sys.modules.values()):
        reg = getattr(m, "__warningregistry__", None)
        if isinstance(reg, dict):
            reg.clear()
    random.seed()
    np.random.seed()


# --- client side ------------------------------------------------------------------------------------------------------
class WarmKernel:
    """One ``hbeval`` kernel that has imported the libraries; used by one worker thread for many notebooks."""

    def __init__(self, start_timeout: int = 120):
        from jupyter_core.utils import run_sync

        self._run_sync = run_sync
        self.km = _ipc_kernel_manager()(kernel_name=KERNEL_NAME)
        run_sync(self.km.start_kernel)(cwd=str(REPO_ROOT))
        self.kc = self.km.client()
        self.kc.start_channels()
        try:
            run_sync(self.kc.wait_for_ready)(timeout=start_timeout)
            self.run_code(WARM_IMPORTS, timeout=start_timeout * 3)
        except Exception:
            self.shutdown()
            raise
        self.notebooks = 0

    @property
    def pid(self):
        proc = getattr(getattr(self.km, "provisioner", None), "process", None)
        return getattr(proc, "pid", None)

    def run_code(self, code: str, timeout: int = 120) -> None:
        """Execute ``code`` in the kernel outside any notebook; raise on an error."""
        import nbformat
        from nbclient import NotebookClient

        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(code)]
        client = NotebookClient(nb, km=self.km, kernel_name=KERNEL_NAME, timeout=timeout)
        client.kc = self.kc
        client.execute()

    def reset(self) -> None:
        self.run_code(WARM_RESET)

    def shutdown(self) -> None:
        try:
            self.kc.stop_channels()
        except Exception:  # noqa: BLE001
            pass
        try:
            self._run_sync(self.km.shutdown_kernel)(now=True)
        except Exception:  # noqa: BLE001
            pass


def _warm_engine():
    """The papermill engine ``hbeval-warm``: papermill's nbclient engine on a :class:`WarmKernel` (same
    parameter injection, cell metadata and error handling as papermill's default engine)."""
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines
    from papermill.utils import merge_kwargs, remove_args

    if "hbeval-warm" in papermill_engines._engines:  # noqa: SLF001
        return "hbeval-warm"

    class WarmEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False, stdout_file=None,
                                     stderr_file=None, start_timeout=60, execution_timeout=None, **kwargs):
            warm = kwargs.pop("warm_kernel")
            kwargs = remove_args(["input_path", "timeout", "startup_timeout"], **kwargs)
            final = merge_kwargs(kwargs, timeout=execution_timeout, startup_timeout=start_timeout,
                                 kernel_name=kernel_name, log=logging.getLogger("papermill"),
                                 log_output=log_output, stdout_file=stdout_file, stderr_file=stderr_file)
            client = PapermillNotebookClient(nb_man, km=warm.km, **final)
            client.kc = warm.kc  # owns_km is False: the kernel outlives the notebook
            return client.execute()

    papermill_engines.register("hbeval-warm", WarmEngine)
    return "hbeval-warm"


class KernelSlot:
    """The warm kernel of one worker thread: started on first use, reset before each notebook, replaced after a
    failure. ``warm=False``: papermill's own cold kernel per notebook."""

    def __init__(self, warm: bool = True):
        self.warm = warm
        self.kernel: WarmKernel | None = None

    def execute(self, nb_in: Path, out_nb: Path, parameters: dict) -> None:
        import papermill as pm

        if not self.warm:
            pm.execute_notebook(str(nb_in), str(out_nb), parameters=parameters, kernel_name=KERNEL_NAME,
                                progress_bar=False, cwd=str(REPO_ROOT), start_timeout=120,
                                kernel_manager_class=_ipc_kernel_manager())
            return
        if self.kernel is None:
            self.kernel = WarmKernel()
        self.kernel.reset()
        pm.execute_notebook(str(nb_in), str(out_nb), parameters=parameters, kernel_name=KERNEL_NAME,
                            progress_bar=False, engine_name=_warm_engine(), warm_kernel=self.kernel,
                            request_save_on_cell_execute=False)
        self.kernel.notebooks += 1

    def discard(self) -> None:
        if self.kernel is not None:
            self.kernel.shutdown()
            self.kernel = None


def execute_job(job: Job, staging_root: Path, failed_dir: Path | None = None, retries: int = 2,
                slot: KernelSlot | None = None) -> dict:
    """Execute one job on ``slot``'s kernel (a new warm kernel when None). Outputs are written to a staging folder
    and moved into the book only when the notebook succeeded; a kernel that fails to start or dies is replaced and
    the notebook retried ``retries`` times; after any failure the kernel is replaced.

    Returns ``{"ok": bool, "name": str, "error": str, "seconds": float, "attempts": int}``.
    """
    own_slot = slot is None
    slot = slot or KernelSlot()
    t0 = time.monotonic()
    staging = Path(staging_root) / uuid.uuid4().hex
    staging.mkdir(parents=True)
    nb_in = to_ipynb(job.source, staging / f"{job.strand}.input.ipynb")
    out_nb = staging / f"{job.pilot}.ipynb"
    res, sup = staging / f"{job.pilot}.results.csv", staging / f"{job.pilot}.suppressions.csv"
    cells = staging / f"{job.pilot}{CELLS_SUFFIX}"
    attempt, error = 0, None
    try:
        while True:
            attempt += 1
            for p in (out_nb, res, sup, cells):
                p.unlink(missing_ok=True)
            try:
                slot.execute(nb_in, out_nb, job.parameters(res, sup))
                break
            except Exception as exc:  # noqa: BLE001 — classified below, re-raised as a report
                slot.discard()  # a failed notebook may leave the kernel in any state: the next one gets a new one
                if (type(exc).__name__ != "PapermillExecutionError" and attempt <= retries
                        and RETRYABLE.search(f"{type(exc).__name__} {exc}")):
                    time.sleep(0.5 + random.random() * 2)
                    continue
                failed_copy = None
                if failed_dir and out_nb.exists():
                    failed_dir.mkdir(parents=True, exist_ok=True)
                    failed_copy = failed_dir / f"{job.phase}-{job.strand}-{job.pilot}.ipynb"
                    shutil.copyfile(out_nb, failed_copy)
                error = _error_text(exc, job, failed_copy)
                break
        if error is None and res.exists() and sup.exists() and not cells.exists():
            # a notebook that writes its tables itself (not through Disclosure.write) published no release cell
            from .disclosure import RECORD_COLUMNS
            from .fileio import write_csv_atomic
            import pandas as pd

            write_csv_atomic(pd.DataFrame(columns=RECORD_COLUMNS), cells)
        if error is None:
            missing = [p.name for p in (res, sup, cells) if not p.exists()]
            if missing:
                error = (f"notebook {job.source.name} ({job.name}) ran but did not write {', '.join(missing)}: its "
                         "last cell must write results_path and suppressions_path\nparameters: "
                         + json.dumps(job.parameters(), ensure_ascii=False))
        if error is not None:
            remove_outputs(job)
            return {"ok": False, "name": job.name, "error": error, "seconds": time.monotonic() - t0,
                    "attempts": attempt}
        _finalise_notebook(out_nb, job)
        job.out_dir.mkdir(parents=True, exist_ok=True)
        job.key_file.unlink(missing_ok=True)  # the old key must not vouch for half-replaced outputs
        for src, dst in zip((out_nb, res, sup, cells), job.outputs()):
            os.replace(src, dst)
        _write_key_file(job, round(time.monotonic() - t0, 2))
        return {"ok": True, "name": job.name, "error": "", "seconds": time.monotonic() - t0, "attempts": attempt}
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if own_slot:
            slot.discard()


def remove_outputs(job: Job) -> None:
    """Delete a job's outputs and key (its previous outputs no longer match its inputs)."""
    for p in job.outputs() + [job.key_file]:
        p.unlink(missing_ok=True)


# ---------------------------------------------------------------------------------------------------------------------
# the run
# ---------------------------------------------------------------------------------------------------------------------
@dataclasses.dataclass
class RunReport:
    """What a run did (names ``phase/strand/pilot``): executed, prose refreshed without a kernel, up to date
    (skipped: prose refreshes included), and stale elsewhere (not selected, not up to date); whether intake ran."""

    executed: list[str]
    skipped: list[str]
    intake_ran: bool
    results_csv: Path | None
    seconds: float
    prose: list[str] = dataclasses.field(default_factory=list)
    stale_elsewhere: list[str] = dataclasses.field(default_factory=list)
    job_seconds: dict = dataclasses.field(default_factory=dict)  # executed notebook -> seconds (kernel reset incl.)
    release_seconds: float = 0.0   # the release stage (0 when its ledger was up to date)


class Executor:
    """``n`` worker threads, each owning one :class:`KernelSlot` for the whole run (kernels are separate
    processes, so the threads run notebooks in parallel). Kernels are shut down by :meth:`close`."""

    def __init__(self, n: int, warm: bool = True):
        self.n, self.warm = max(1, n), warm
        self.slots: list[KernelSlot] = []
        self.seconds: dict[str, float] = {}

    def run(self, jobs: list[Job], staging_root: Path, failed_dir: Path, bar_state: dict) -> list[str]:
        """Execute ``jobs``; on the first failure stop taking new jobs, let the running ones finish and raise
        :class:`RunError`."""
        if not jobs:
            return []
        bar = bar_state.get("bar")
        todo: queue.Queue = queue.Queue()
        for j in longest_first(jobs):
            todo.put(j)
        results: queue.Queue = queue.Queue()
        stop = threading.Event()
        while len(self.slots) < min(self.n, len(jobs)):
            self.slots.append(KernelSlot(self.warm))

        def worker(slot: KernelSlot):
            while not stop.is_set():
                try:
                    job = todo.get_nowait()
                except queue.Empty:
                    return
                try:
                    out = execute_job(job, staging_root, failed_dir, slot=slot)
                except Exception as exc:  # noqa: BLE001 — a crash here is a failure of this job
                    slot.discard()
                    remove_outputs(job)
                    out = {"ok": False, "error": _error_text(exc, job, None)}
                if not out["ok"]:
                    stop.set()
                results.put((job, out))

        threads = [threading.Thread(target=worker, args=(s,), daemon=True) for s in self.slots[:len(jobs)]]
        for t in threads:
            t.start()
        done, failure = [], None
        while any(t.is_alive() for t in threads) or not results.empty():
            try:
                job, out = results.get(timeout=0.2)
            except queue.Empty:
                continue
            if out["ok"]:
                done.append(job.name)
                self.seconds[job.name] = round(out.get("seconds", 0.0), 2)
                if bar is not None:
                    bar.update(1)
            elif failure is None:
                failure = out["error"]
        for t in threads:
            t.join()
        if failure:
            raise RunError(failure)
        return done

    def close(self) -> None:
        for s in self.slots:
            s.discard()
        self.slots = []


def merge_results(book_dir: Path, jobs: list[Job]) -> Path:
    """Merge the results tables of ``jobs`` (those present) into ``<book>/_results/results.csv``."""
    from .results import read_results

    paths = [p for p in (j.out_dir / f"{j.pilot}.results.csv" for j in jobs) if p.exists()]
    out = Path(book_dir) / "_results" / "results.csv"
    inputs = fingerprint_digest({str(p): file_hash(p) for p in paths})
    seen = out.with_name(".results.inputs")
    if out.exists() and seen.exists() and seen.read_text(encoding="utf-8") == inputs:
        return out  # the same results files as last time: nothing to merge
    df = read_results(paths)
    out.parent.mkdir(parents=True, exist_ok=True)
    seen.unlink(missing_ok=True)
    text = df.to_csv(index=False, float_format="%.6g")
    if not (out.exists() and out.read_text(encoding="utf-8") == text):  # unchanged: keep the mtime (Sphinx)
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, out)
    seen.write_text(inputs, encoding="utf-8")
    return out


def book_inputs(notebooks_dir: Path, config_path: Path, processed_dir: Path, raw_dir: Path | None = None,
                extra_inputs=()) -> dict[str, str]:
    """A hash of every input of the book: the notebooks (whole text), every ``hbeval_lib`` module, the configuration,
    ``requirements.txt``, the processed tables' manifest, the raw files (when known) and ``extra_inputs``.
    A superset of what the notebooks' keys cover, cheap to compute (no table is read)."""
    out = {f"notebooks/{p.name}": file_hash(p) for p in sorted(Path(notebooks_dir).glob("*.md"))}
    out |= {f"hbeval_lib/{p.relative_to(LIB_DIR).as_posix()}": file_hash(p) for p in sorted(LIB_DIR.rglob("*.py"))
            if "__pycache__" not in p.parts}
    out[f"config:{Path(config_path).name}"] = file_hash(config_path)
    out["requirements.txt"] = file_hash(REPO_ROOT / "requirements.txt")
    out["processed/_manifest.json"] = file_hash(Path(processed_dir) / MANIFEST)
    if raw_dir:
        out["raw"] = fingerprint_digest(raw_fingerprint(raw_dir))
    for x in extra_inputs or ():
        out[f"extra:{_show_path(x)}"] = file_hash(x)
    return out


def stamp_path(book_dir: Path) -> Path:
    return Path(book_dir) / "_generated" / STAMP


def write_stamp(book_dir: Path, notebooks_dir: Path, config_path: Path, processed_dir: Path,
                raw_dir: Path | None, extra_inputs=(), stale: list[str] | None = None) -> Path:
    """Record what the book's executions were made from (read by :func:`check_stamp`)."""
    paths = {"notebooks": str(Path(notebooks_dir).resolve()), "config": str(Path(config_path).resolve()),
             "processed": str(Path(processed_dir).resolve()), "raw": str(Path(raw_dir).resolve()) if raw_dir else "",
             "extra_inputs": [str(Path(x).resolve()) for x in extra_inputs or ()]}
    data = {"paths": paths, "inputs": book_inputs(notebooks_dir, config_path, processed_dir, raw_dir, extra_inputs),
            "stale": sorted(stale or [])}
    out = stamp_path(book_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, indent=1, sort_keys=True)
    if not (out.exists() and out.read_text(encoding="utf-8") == text):
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, out)
    return out


def _list(names: list[str], n: int = 8) -> str:
    return ", ".join(names[:n]) + (f" … (+{len(names) - n})" if len(names) > n else "")


def check_stamp(book_dir: Path) -> list[str]:
    """Why the executed notebooks in ``book_dir`` do not match the current inputs (empty: they match).

    Finnish first, English after, each telling to run ``hbeval build``."""
    fix = "Aja `hbeval build` (tai `make book`). / Run `hbeval build` (or `make book`)."
    path = stamp_path(book_dir)
    if not path.exists():
        return [f"Kirjan suorituksista ei ole leimaa ({_show_path(path)}): muistikirjoja ei ole ajettu `hbeval run`- "
                f"tai `hbeval build`-komennolla, tai ajo keskeytyi. / No stamp: the notebooks were not executed by "
                f"`hbeval run`/`hbeval build`, or the run stopped. {fix}"]
    data = json.loads(path.read_text(encoding="utf-8"))
    pth = data.get("paths", {})
    now = book_inputs(Path(pth.get("notebooks", "")), Path(pth.get("config", "")), Path(pth.get("processed", "")),
                      Path(pth["raw"]) if pth.get("raw") else None, [Path(x) for x in pth.get("extra_inputs", [])])
    before = data.get("inputs", {})
    changed = sorted(k for k in set(now) | set(before) if now.get(k) != before.get(k))
    problems = []
    if changed:
        problems.append(f"Kirjan lähtötiedot ovat muuttuneet viimeisen ajon jälkeen: {_list(changed)}. Julkaistavat "
                        f"sivut eivät vastaisi niitä. / The book's inputs changed since the notebooks were executed: "
                        f"{_list(changed)}. {fix}")
    if data.get("stale"):
        problems.append(f"{len(data['stale'])} muistikirjaa on ajamatta nykyisillä lähtötiedoilla: "
                        f"{_list(data['stale'])}. / {len(data['stale'])} notebooks are not up to date: "
                        f"{_list(data['stale'])}. {fix}")
    return problems


def _settle_release(ledger_path: Path, processed_dir: Path, cfg: Config, jobs_all: list[Job], hasher: "TableHasher",
                    executor: "Executor", staging_root: Path, failed_dir: Path, bar_state: dict,
                    n_jobs: int, fixed=None) -> list[str]:
    """Make the release and the rendered pages agree (:mod:`hbeval_lib.release.settle`); return the pages executed.

    Every strand page with an up-to-date record takes part: its record is what it published. While a page disagrees
    with the ledger, the ledger is protected again from the pages' records (keeping hidden what was hidden) and the
    pages whose decisions changed are rendered again. Pages that agree keep their outputs; their cache keys are
    brought up to date with the settled ledger."""
    import pandas as pd

    from .release import settle
    from .release.stage import page_digests, protect_ledger, write_ledger

    conf = cfg.section("disclosure", {}) or {}
    k, n = int(conf.get("min_count", 5)), int(conf.get("min_n_stat", 10))
    pages = [j for j in jobs_all if j.strand != SYNTHESIS]
    executed: list[str] = []
    rounds = 0
    while True:
        records = {j.name: settle.read_record(j.cells_file) for j in pages
                   if j.cells_file.exists() and job_status(j) != "stale"}
        led = pd.read_parquet(ledger_path)
        bad = settle.check(led, records)
        if not bad:
            break
        if rounds >= settle.MAX_ROUNDS:
            raise RunError(
                f"Julkaisua ei saatu vakaaksi {rounds} kierroksessa: näiden sivujen julkaisemat luvut muuttuvat "
                "ajosta toiseen, joten niitä ei voi suojata. Tarkista sivujen koodi (esim. satunnaisuus ilman "
                "siementä tai luvut, jotka riippuvat ajon järjestyksestä).\n" + settle.describe(bad)
                + "\n(The release did not settle: these pages publish different cells on every execution.)")
        rounds += 1
        new = settle.reprotect(settle.merged_cells(led, records), led,
                               lambda cells: protect_ledger(cells, cfg, jobs=n_jobs, fixed=fixed), min_count=k,
                               min_n_stat=n)
        write_ledger(processed_dir, new, settled={"rounds": rounds, "pages": sorted(bad)})
        digests = page_digests(ledger_path)
        for j in jobs_all:
            j.release_digest = digests.get(f"{j.phase}/{j.strand}/{j.pilot}", "")
        again = settle.check(new, records)
        rerun = [j for j in pages if j.name in again]
        for j in rerun:
            j.components = cache_components(j, hasher)
            j.key = _sha(json.dumps(j.components, sort_keys=True).encode())
        if bar_state.get("bar") is not None:
            bar_state["bar"].total += len(rerun)
        executed += executor.run(rerun, staging_root, failed_dir, bar_state)
    if rounds:
        # the pages that agree were rendered exactly as the settled ledger renders them: their keys follow it
        for j in pages:
            if j.name in records and j.key_file.exists():
                j.components = cache_components(j, hasher)
                j.key = _sha(json.dumps(j.components, sort_keys=True).encode())
                _write_key_file(j)
    return executed


def run(raw_dir: str | os.PathLike | None = None, processed_dir: str | os.PathLike | None = None,
        book_dir: str | os.PathLike | None = None, notebooks_dir: str | os.PathLike | None = None,
        phases: list[str] | None = None, pilots: list[str] | None = None, jobs: int = 1,
        cfg: Config | None = None, force: bool = False, progress: bool = True,
        cache_dir: str | os.PathLike | None = None, extra_inputs: list | tuple | None = None,
        warm: bool = True, releases_dir: str | os.PathLike | None = None) -> RunReport:
    """Execute the notebooks whose results are out of date, refresh the prose of those whose text alone changed,
    merge the results tables and write the stamp of the stale check.

    Parameters
    ----------
    raw_dir : path, optional
        Raw data; when given, intake runs first if the processed tables are missing or stale. None uses the
        processed tables as they are.
    processed_dir, book_dir, notebooks_dir : path, optional
        Defaults: ``paths.processed`` of the configuration, ``<repo>/book``, ``<repo>/notebooks``.
    phases, pilots : list of str, optional
        Narrow the run (pilot ``"kaikki"`` = the all-pilots notebooks). The other notebooks are checked, not run:
        those out of date are reported as ``stale_elsewhere`` (and the stale check stops a bare jupyter-book build).
    jobs : int
        Parallel notebooks (worker threads, one kernel each).
    force : bool
        Execute every selected notebook regardless of the cache.
    extra_inputs : list of paths, optional
        Files whose content every notebook's cache key (and the stale check) covers, e.g. a release ledger.
    warm : bool
        Reuse one warm kernel per worker (default); False starts a cold kernel per notebook.

    Returns
    -------
    RunReport

    Raises
    ------
    RunError
        A notebook failed (the message has its name, parameters and the failing cell's traceback).
    """
    t0 = time.monotonic()
    cfg = cfg or load_config()
    processed_dir = Path(processed_dir) if processed_dir else cfg.path_of("processed")
    book_dir = Path(book_dir) if book_dir else REPO_ROOT / "book"
    notebooks_dir = Path(notebooks_dir) if notebooks_dir else REPO_ROOT / "notebooks"
    cache_dir = Path(cache_dir) if cache_dir else REPO_ROOT / ".hbeval_cache"
    extra_inputs = [Path(x) for x in extra_inputs or ()]
    stamp_path(book_dir).unlink(missing_ok=True)  # no stamp until this run has finished
    load_memo(cache_dir)
    intake_ran = ensure_processed(Path(raw_dir), processed_dir, cfg, progress=progress) if raw_dir else False
    # the release history: only the phases due are built; a published phase is restored from its release record
    # and its entries are constants for the protection of the later reports (hbeval_lib/release/history.py)
    from .release import history

    cfg = history.due_config(cfg, processed_dir, include=phases or ())
    frozen = history.frozen_entries(cfg, releases_dir)
    frozen_phases = [p.key for p in cfg.phases if p.is_published]
    # the release stage: every published cell of the whole release, protected once; the notebooks render from it
    from .release.ledger import ENV as RELEASE_ENV
    from .release.stage import ensure_release

    t_release = time.monotonic()
    ledger_path = ensure_release(processed_dir, notebooks_dir, cfg, jobs=jobs, fixed=frozen)
    release_seconds = time.monotonic() - t_release
    # a notebook's key covers its own page's decisions (a change elsewhere in the release does not re-run it);
    # the stale check covers the whole release
    from .release.stage import page_digests

    release_pages = page_digests(ledger_path)
    stamp_inputs = extra_inputs + [ledger_path]
    # the kernels inherit the ledger's path: every notebook renders from the protected release
    saved_env = os.environ.get(RELEASE_ENV)
    os.environ[RELEASE_ENV] = str(ledger_path.resolve())
    planned = plan_jobs(cfg, notebooks_dir, book_dir, processed_dir, extra_inputs=extra_inputs)
    for ph in frozen_phases:     # published pages exactly as they were published, never executed again
        history.restore(ph, book_dir, releases_dir)
    frozen_jobs = [j for j in planned if j.phase in frozen_phases]
    full = [j for j in planned if j.phase not in frozen_phases]
    open_phases = [p for p in phases or [] if p not in frozen_phases]
    selected = {j.name for j in plan_jobs(cfg, notebooks_dir, book_dir, processed_dir, open_phases or None, pilots)
                if not phases or j.phase in open_phases}
    all_jobs = [j for j in full if j.name in selected]
    if not all_jobs:
        raise RunError(f"no strand notebooks found in {notebooks_dir}")
    hasher = TableHasher(processed_dir)

    def plan(js):
        todo, prose = [], []
        for j in js:
            j.components = cache_components(j, hasher)
            j.key = _sha(json.dumps(j.components, sort_keys=True).encode())
            status = "stale" if force else job_status(j)
            if status == "prose" and not refresh_prose(j):
                status = "stale"
            (todo if status == "stale" else prose if status == "prose" else []).append(j)
        return todo, prose

    first = [j for j in all_jobs if j.strand != SYNTHESIS]
    second = [j for j in all_jobs if j.strand == SYNTHESIS]
    for j in all_jobs + [j for j in full if j not in all_jobs]:
        j.release_digest = release_pages.get(f"{j.phase}/{j.strand}/{j.pilot}", "")
    todo1, prose = plan(first)
    staging_root = book_dir / ".hbeval_staging"
    failed_dir = cache_dir / "failed"
    executed, bar_state = [], {}
    executor = Executor(jobs, warm=warm)
    try:
        if progress:
            from tqdm.auto import tqdm

            bar_state["bar"] = tqdm(total=len(todo1) + len(second), unit="nb", desc="hbeval run",
                                    dynamic_ncols=True, file=sys.stderr)
        executed += executor.run(todo1, staging_root, failed_dir, bar_state)
        # what the pages published must be what was protected: compare, re-protect, re-render until they agree
        executed += _settle_release(ledger_path, processed_dir, cfg, full, hasher, executor, staging_root,
                                    failed_dir, bar_state, jobs, fixed=frozen)
        # synthesis reads the other strands' results, so its key is known only now
        todo2, prose2 = plan(second)
        prose += prose2
        if bar_state.get("bar") is not None:
            bar_state["bar"].total -= len(second) - len(todo2)
        executed += executor.run(todo2, staging_root, failed_dir, bar_state)
    finally:
        executor.close()
        if bar_state.get("bar") is not None:
            bar_state["bar"].close()
        shutil.rmtree(staging_root, ignore_errors=True)
        if saved_env is None:
            os.environ.pop(RELEASE_ENV, None)
        else:
            os.environ[RELEASE_ENV] = saved_env
    results_csv = merge_results(book_dir, frozen_jobs + full)
    import pandas as pd

    history.corrections(pd.read_parquet(ledger_path), frozen).to_csv(processed_dir / history.CORRECTIONS,
                                                                      index=False)
    # the notebooks not selected: out of date? (checked, not run)
    others = [j for j in full if j.name not in selected]
    stale_elsewhere = []
    for j in sorted(others, key=lambda j: j.strand == SYNTHESIS):
        j.components = cache_components(j, hasher)
        j.key = _sha(json.dumps(j.components, sort_keys=True).encode())
        if job_status(j) != "fresh":
            stale_elsewhere.append(j.name)
    write_stamp(book_dir, notebooks_dir, cfg.path, processed_dir, Path(raw_dir) if raw_dir else None,
                stamp_inputs, stale_elsewhere)
    save_memo(cache_dir)
    done = set(executed)
    skipped = [j.name for j in all_jobs if j.name not in done]
    return RunReport(executed, skipped, intake_ran, results_csv, time.monotonic() - t0,
                     prose=[j.name for j in prose], stale_elsewhere=stale_elsewhere, job_seconds=executor.seconds,
                     release_seconds=release_seconds)


# ---------------------------------------------------------------------------------------------------------------------
# nbval reference executions
# ---------------------------------------------------------------------------------------------------------------------
REFERENCE_DIR = REPO_ROOT / "tests" / "reference"
REFERENCE_ENV = "HBEVAL_REFERENCE_PROCESSED"
REFERENCE_PHASE = "loppuraportti"  # the synthesis reference reads the strands' results of this phase
REFERENCE_PILOT = "kainuu"  # the small pilot (14 clients in the demo set): suppression and small-n paths


def reference_set(cfg: Config | None = None) -> list[tuple[str, str, str]]:
    """(strand, phase, pilot) of every reference execution: each strand for every phase, all pilots; the synthesis
    (final phase, all pilots); each strand for the final phase of :data:`REFERENCE_PILOT`."""
    cfg = cfg or load_config()
    phases = [p.key for p in cfg.phases]
    out = [(s, ph, ALL_PILOTS) for s in STRANDS for ph in phases]
    out.append((SYNTHESIS, REFERENCE_PHASE, ALL_PILOTS))
    out += [(s, REFERENCE_PHASE, REFERENCE_PILOT) for s in STRANDS]
    return out


def reference_name(strand: str, phase: str, pilot: str) -> str:
    return f"{strand}.{phase}.{pilot}.ipynb"


def reference_processed(work_dir: str | os.PathLike) -> Path:
    """The reference data: the demo set (seed 1, no faults) and its intake, under ``work_dir`` (raw/, processed/)."""
    from .demo import generate
    from .intake import run_intake

    work_dir = Path(work_dir)
    shutil.rmtree(work_dir / "raw", ignore_errors=True)
    shutil.rmtree(work_dir / "processed", ignore_errors=True)
    generate(work_dir / "raw", seed=1, faults="none")
    run_intake(work_dir / "raw", work_dir / "processed")
    return work_dir / "processed"


def _reference_parameters_cell(strand: str, phase: str = REFERENCE_PHASE, pilot: str = ALL_PILOTS) -> str:
    lines = ["# Parametrit: nbval-regressiotesti (tests/reference); aineisto = demoaineisto (siemen 1)",
             "import os", f"pilot = {pilot!r}", f"phase = {phase!r}",
             f"processed_dir = os.environ[{REFERENCE_ENV!r}]", 'results_path = ""', 'suppressions_path = ""']
    if strand == SYNTHESIS:
        lines += ["from hbeval_lib.config import REPO_ROOT",
                  f'results_dir = str(REPO_ROOT / "tests" / "reference" / "results" / {phase!r})']
    return "\n".join(lines)


def _write_if_changed(path: Path, text: str) -> bool:
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True


def update_reference(reference_dir: str | os.PathLike | None = None, notebooks_dir: str | os.PathLike | None = None,
                     work_dir: str | os.PathLike | None = None) -> list[Path]:
    """Regenerate the nbval reference executions ``tests/reference/<strand>.<phase>.<pilot>.ipynb``
    (:func:`reference_set`, demo data seed 1) and return the files whose content changed (a file is rewritten only
    then; outputs are made run-independent by :func:`stabilise_outputs`, so an unchanged result gives an unchanged
    file). The strands' final-phase all-pilots results tables are kept in ``tests/reference/results/`` as the
    synthesis notebook's fixed input. The parameters cell of each reference reads the data folder from
    ``$HBEVAL_REFERENCE_PROCESSED`` (set by ``tests/reference/conftest.py``). References no longer in the set are
    removed."""
    import tempfile

    import nbformat

    reference_dir = Path(reference_dir) if reference_dir else REFERENCE_DIR
    notebooks_dir = Path(notebooks_dir) if notebooks_dir else REPO_ROOT / "notebooks"
    changed = []
    wanted = set()
    slot = KernelSlot(warm=True)
    with tempfile.TemporaryDirectory(prefix="hbeval-reference-") as tmp:
        work = Path(work_dir) if work_dir else Path(tmp)
        processed = reference_processed(work)
        try:
            for strand, phase, pilot in reference_set():
                src = notebooks_dir / f"{strand}.md"
                if not src.exists():
                    print(f"hbeval: {src} missing: no reference for {strand}", file=sys.stderr)
                    continue
                name = reference_name(strand, phase, pilot)
                wanted.add(name)
                results_dir = reference_dir / "results" / phase
                nb_in = to_ipynb(src, Path(tmp) / f"{strand}.input.ipynb")
                scratch = Path(tmp) / "scratch"
                scratch.mkdir(exist_ok=True)
                params = {"pilot": pilot, "phase": phase, "processed_dir": str(processed),
                          "results_path": str(scratch / f"{strand}.results.csv"),
                          "suppressions_path": str(scratch / f"{strand}.suppressions.csv")}
                if strand == SYNTHESIS:
                    params["results_dir"] = str(results_dir)
                out = Path(tmp) / name
                slot.execute(nb_in, out, params)
                if strand != SYNTHESIS and phase == REFERENCE_PHASE and pilot == ALL_PILOTS:
                    res = results_dir / strand / f"{ALL_PILOTS}.results.csv"
                    if _write_if_changed(res, (scratch / f"{strand}.results.csv").read_text(encoding="utf-8")):
                        changed.append(res)
                nb = nbformat.read(out, as_version=4)
                for i, cell in enumerate(nb.cells):
                    if "injected-parameters" in cell.metadata.get("tags", []):
                        cell.source = _reference_parameters_cell(strand, phase, pilot)
                    cell.metadata.pop("papermill", None)
                    cell.metadata.pop("execution", None)
                    cell["id"] = f"cell-{i:03d}"  # stable ids: a regenerated reference differs only where outputs do
                nb.metadata.pop("papermill", None)
                stabilise_outputs(nb)
                dest = reference_dir / name
                if _write_if_changed(dest, nbformat.writes(nb) + "\n"):
                    changed.append(dest)
        finally:
            slot.discard()
    for old in sorted(reference_dir.glob("*.ipynb")):
        if old.name not in wanted:
            old.unlink()
            changed.append(old)
    return changed


# ---------------------------------------------------------------------------------------------------------------------
# build
# ---------------------------------------------------------------------------------------------------------------------
BUILT_MARKER = ".hbeval_built"  # in <book>/_build/: digest of the book sources of the last successful build


def book_sources_digest(book_dir: Path, builder: str = "html") -> str:
    """Hash of every file of the book folder outside ``_build`` (configuration, toc, extensions, pages, executed
    notebooks, generated pages, the stamp), of the builder and of the jupyter-book version."""
    from importlib.metadata import version

    book_dir = Path(book_dir)
    h = hashlib.sha256(f"{builder} {version('jupyter-book')}".encode())
    for p in sorted(book_dir.rglob("*")):
        rel = p.relative_to(book_dir)
        if rel.parts[0] in ("_build", ".hbeval_staging") or "__pycache__" in rel.parts or not p.is_file():
            continue
        h.update(f"{rel.as_posix()}\0{file_hash(p)}\0".encode())
    return h.hexdigest()


def jupyter_book_build(book_dir: Path, builder: str = "html", skip_unchanged: bool = True,
                       toc: Path | None = None) -> bool:
    """``jupyter-book build <book> -W --keep-going``: warnings are errors (a broken page fails the build).

    When no file of the book changed since the last successful build (:func:`book_sources_digest`), the build is
    skipped (its output would be identical); returns whether jupyter-book ran."""
    book_dir = Path(book_dir)
    marker = book_dir / "_build" / f"{BUILT_MARKER}-{builder}"
    digest = book_sources_digest(book_dir, builder)
    if skip_unchanged and marker.exists() and marker.read_text(encoding="utf-8") == digest:
        return False
    marker.unlink(missing_ok=True)
    exe = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(exe) if exe.exists() else "jupyter-book", "build", str(book_dir), "-W", "--keep-going",
           "--builder", builder] + (["--toc", str(toc)] if toc else [])
    proc = subprocess.run(cmd, cwd=REPO_ROOT, text=True, capture_output=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + "\n" + proc.stderr).strip().splitlines()[-60:])
        raise RunError(f"jupyter-book build failed (exit {proc.returncode}):\n{tail}")
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(digest, encoding="utf-8")
    return True


def build(raw: str | os.PathLike | None = None, jobs: int = 2, cfg: Config | None = None,
          book_dir: str | os.PathLike | None = None, notebooks_dir: str | os.PathLike | None = None,
          processed_dir: str | os.PathLike | None = None, progress: bool = True, force: bool = False,
          draft: bool = False, acknowledgements: str | os.PathLike | None = None,
          extra_inputs: list | tuple | None = None, warm: bool = True,
          releases_dir: str | os.PathLike | None = None) -> RunReport:
    """The whole book: raw (``data/raw`` or the demo set) → intake if stale → the gate → run → generated pages →
    jupyter-book. The gate (:mod:`hbeval_lib.gate`) raises ``GateError`` on an unacknowledged error unless
    ``draft`` (then every page carries the draft banner).

    ``extra_inputs``: files whose content every notebook's cache key and the stale check cover (see :func:`run`)."""
    from . import bookpages, gate

    cfg = cfg or load_config()
    raw_dir = resolve_raw(cfg, raw)
    book_dir = Path(book_dir) if book_dir else REPO_ROOT / "book"
    processed_dir = Path(processed_dir) if processed_dir else cfg.path_of("processed")
    # --- the build gate (hbeval_lib/gate.py): intake if stale, then stop on unacknowledged errors ---
    gate.check_build(raw_dir, processed_dir, cfg, draft=draft, ack_path=acknowledgements, progress=progress)
    report = run(raw_dir, processed_dir, book_dir, notebooks_dir, jobs=jobs, cfg=cfg, progress=progress, force=force,
                 extra_inputs=extra_inputs, warm=warm, releases_dir=releases_dir)
    from .release import history

    # the book holds the published reports and the one in preparation (the phases due), nothing later
    write_book(book_dir, processed_dir, raw_dir, cfg, releases_dir)
    return report


def write_book(book_dir: Path, processed_dir: Path, raw_dir: Path | None, cfg: Config,
               releases_dir: str | os.PathLike | None = None) -> None:
    """The generated pages and ``jupyter-book build`` of the reports due (published ones as they were published);
    a book that holds fewer reports than configured gets a table of contents of those."""
    from . import bookpages
    from .release import history

    due = history.due_config(cfg, processed_dir)
    bookpages.write_pages(book_dir, processed_dir, raw_dir, due, releases_dir=Path(releases_dir) if releases_dir else None)
    toc = None
    if len(due.phases) < len(cfg.phases):
        toc = Path(book_dir) / bookpages.GENERATED / "_toc.yml"
        toc.write_text(bookpages.toc(due), encoding="utf-8")
    jupyter_book_build(book_dir, toc=toc)


# ---------------------------------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------------------------------
def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--raw", help="raw data folder (default: paths.raw, or the demo set when it is empty)")
    parser.add_argument("--processed", help="processed tables folder (default: paths.processed)")
    parser.add_argument("--book", help="book folder (default: book/)")
    parser.add_argument("--notebooks", help="strand notebooks folder (default: notebooks/)")
    parser.add_argument("--phase", action="append", help="only this phase (repeatable)")
    parser.add_argument("--pilot", action="append", help="only this pilot key, or 'kaikki' (repeatable)")
    parser.add_argument("--jobs", "-j", type=int, default=2, help="parallel notebooks (default 2)")
    parser.add_argument("--force", action="store_true", help="execute every selected notebook regardless of the cache")
    parser.add_argument("--cold-kernels", action="store_true", help="a new kernel for every notebook (no warm kernels)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--update-reference", action="store_true",
                        help="regenerate the nbval reference executions in tests/reference/ and exit")


def _print_report(rep: RunReport, command: str = "hbeval run") -> None:
    print(f"{command}: {len(rep.executed)} notebooks executed, {len(rep.skipped)} up to date (of which "
          f"{len(rep.prose)} got new text without running){' (intake ran first)' if rep.intake_ran else ''}; "
          f"{rep.seconds:.1f} s; results: {_show_path(rep.results_csv)}")
    if rep.executed:
        print(f"  executed: {_list(sorted(rep.executed), 30)}")
    if rep.prose:
        print(f"  text only (no kernel): {_list(sorted(rep.prose), 30)}")
    if rep.stale_elsewhere:
        print(f"  STALE elsewhere (not selected in this run): {len(rep.stale_elsewhere)} notebooks — "
              f"{_list(rep.stale_elsewhere, 12)}\n  run `hbeval run` without --phase/--pilot (or `hbeval build`) "
              "before publishing: `jupyter-book build` refuses a stale book")
    else:
        print("  every other notebook is up to date")


def run_run_cli(args: argparse.Namespace) -> int:
    cfg = load_config()
    if args.update_reference:
        changed = update_reference(notebooks_dir=args.notebooks)
        for p in changed:
            print(f"hbeval run: {'wrote' if p.exists() else 'removed'} {_show_path(p)}")
        print(f"hbeval run: {len(changed)} reference files changed" + ("" if changed else " (all up to date)"))
        return 0
    try:
        raw = resolve_raw(cfg, args.raw)
        rep = run(raw, args.processed, args.book, args.notebooks, args.phase, args.pilot, args.jobs, cfg,
                  force=args.force, progress=not args.no_progress, warm=not args.cold_kernels)
        from . import bookpages

        bookpages.write_pages(Path(args.book) if args.book else REPO_ROOT / "book",
                              Path(args.processed) if args.processed else cfg.path_of("processed"), raw, cfg)
    except RunError as exc:
        print(f"hbeval run: {exc}", file=sys.stderr)
        return 1
    _print_report(rep)
    return 0


def add_build_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--raw", help="raw data folder (default: paths.raw, or the demo set when it is empty)")
    parser.add_argument("--jobs", "-j", type=int, default=2, help="parallel notebooks (default 2)")
    parser.add_argument("--force", action="store_true", help="execute every notebook regardless of the cache")
    parser.add_argument("--cold-kernels", action="store_true", help="a new kernel for every notebook (no warm kernels)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--draft", action="store_true",
                        help="build even when the gate finds unacknowledged errors (a draft banner on every page)")
    parser.add_argument("--acknowledgements", help="the reviewed list of acknowledged findings "
                                                   "(default: data/kuitatut_havainnot.yml)")


def run_build_cli(args: argparse.Namespace) -> int:
    from .gate import GateError

    try:
        rep = build(args.raw, jobs=args.jobs, progress=not args.no_progress, force=args.force,
                    draft=args.draft, acknowledgements=args.acknowledgements, warm=not args.cold_kernels)
    except GateError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except RunError as exc:
        print(f"hbeval build: {exc}", file=sys.stderr)
        return 1
    _print_report(rep, "hbeval build")
    print(f"hbeval build: {_show_path(REPO_ROOT / 'book' / '_build' / 'html' / 'index.html')}")
    return 0
