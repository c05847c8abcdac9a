"""Execute the strand notebooks for every phase and pilot (``hbeval run``) and build the book (``hbeval build``).

The flow is one-way: raw files → ``hbeval intake`` → processed tables → papermill → ``book/<phase>/<strand>/<pilot>.ipynb``
(+ ``.results.csv`` and ``.suppressions.csv`` beside it) → ``jupyter-book build book/`` with execution off.

Cache
-----
Each executed notebook has a content-hash key stored beside it (``<pilot>.cachekey``). The key covers

* the notebook source (``notebooks/<strand>.md``) and its parameters (strand, phase, pilot);
* the processed tables the notebook reads, **restricted to the notebook's pilot** (the ``kaikki`` notebooks hash
  the whole table). Which tables: the literal names in ``tables.load("<name>"`` / ``read_table("<name>"`` calls in the
  notebook and in every ``hbeval_lib`` module it imports (transitively). When any of those places calls the loader
  with a non-literal name or reads parquet files directly, the notebook is taken to read every table;
* the source of every ``hbeval_lib`` module the notebook imports, transitively (``hbeval_lib/__init__.py`` always);
* the configuration file, the pinned ``requirements.txt``, the kernel name and the Python version;
* for the synthesis notebook also the other strands' results tables of its phase (it reads them).

A notebook runs when its key differs from the stored one or any of its outputs is missing; otherwise it is skipped.

Processed tables are "stale" when the manifest ``<processed>/_manifest.json`` (a hash of every raw file, written after
intake) is missing or differs from the raw folder: then intake runs first.
"""

from __future__ import annotations

import argparse
import ast
import concurrent.futures as cf
import dataclasses
import datetime as dt
import hashlib
import json
import multiprocessing
import os
import random
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections import deque
from pathlib import Path

from .config import ALL_PILOTS, REPO_ROOT, Config, load_config

STRANDS = ["wellbeing", "service_process", "costs"]
SYNTHESIS = "synthesis"
KERNEL_NAME = "hbeval"
CACHE_VERSION = 1
MANIFEST = "_manifest.json"
OUTPUT_SUFFIXES = (".ipynb", ".results.csv", ".suppressions.csv")
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


def _imports_of_module(path: Path) -> set[Path]:
    """``hbeval_lib`` module files imported anywhere in the module at ``path`` (absolute or relative imports)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
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
        self.sources: dict = {}  # notebook source -> its dependencies (see cache_components)

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
        if key not in self._hashes:
            df = self._frame(name)
            if df is None:
                self._hashes[key] = "absent"
            else:
                if pilot != ALL_PILOTS and "pilot" in df.columns:
                    df = df[df["pilot"] == pilot]
                h = hashlib.sha256(repr([(c, str(t)) for c, t in df.dtypes.items()]).encode())
                h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
                self._hashes[key] = h.hexdigest()
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
    key: str = ""
    release: Path | None = None   # the protected release ledger the notebook renders from
    components: dict = dataclasses.field(default_factory=dict)  # what the key was made of (kept in the key file)

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
        return [self.out_dir / f"{self.pilot}{s}" for s in OUTPUT_SUFFIXES]

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
              phases: list[str] | None = None, pilots: list[str] | None = None) -> list[Job]:
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
    common = dict(book_dir=book_dir.resolve(), processed_dir=processed_dir.resolve(), config_path=Path(cfg.path))
    for phase in sel_phases:
        for strand in STRANDS:
            src = notebooks_dir / f"{strand}.md"
            if not src.exists():
                continue
            for pilot in sel_pilots:
                jobs.append(Job(strand, phase, pilot, src.resolve(), **common))
    final = all_phases[-1]
    syn = notebooks_dir / f"{SYNTHESIS}.md"
    if syn.exists() and final in sel_phases and ALL_PILOTS in sel_pilots:
        jobs.append(Job(SYNTHESIS, final, ALL_PILOTS, syn.resolve(), **common))
    return jobs


def _source_dependencies(source: str) -> tuple[list[Path], list[str], dict[str, str]]:
    """(modules, tables, module hashes) of a notebook source; memoised on the hasher for one run."""
    modules = notebook_modules(source)
    return modules, notebook_tables(source, modules), {m.relative_to(LIB_DIR).as_posix(): file_hash(m)
                                                       for m in modules}


def cache_components(job: Job, hasher: TableHasher) -> dict:
    """The inputs of a job's cache key (see the module docstring)."""
    source = job.source.read_text(encoding="utf-8")
    if source not in hasher.sources:
        hasher.sources[source] = _source_dependencies(source)
    _modules, tables, lib = hasher.sources[source]
    comp = {
        "version": CACHE_VERSION,
        "notebook": _sha(source.encode()),
        "parameters": {"strand": job.strand, "phase": job.phase, "pilot": job.pilot},
        "tables": {t: hasher.digest(t, job.pilot) for t in tables},
        "hbeval_lib": lib,
        "config": file_hash(job.config_path),
        "requirements": file_hash(REPO_ROOT / "requirements.txt"),
        "kernel": KERNEL_NAME,
        "python": f"{sys.version_info.major}.{sys.version_info.minor}",
        "release": file_hash(job.release) if job.release else "",
    }
    if job.strand == SYNTHESIS:
        phase_dir = job.book_dir / job.phase
        comp["results"] = {p.relative_to(phase_dir).as_posix(): file_hash(p)
                           for p in sorted(phase_dir.glob("*/*.results.csv")) if p.parent.name != SYNTHESIS}
    return comp


def cache_key(job: Job, hasher: TableHasher) -> str:
    """SHA-256 of :func:`cache_components` (stored with its components in ``<pilot>.cachekey``)."""
    return _sha(json.dumps(cache_components(job, hasher), sort_keys=True).encode())


def is_fresh(job: Job) -> bool:
    """True when every output exists and the stored key equals ``job.key``."""
    if not all(p.exists() for p in job.outputs()) or not job.key_file.exists():
        return False
    try:
        return json.loads(job.key_file.read_text(encoding="utf-8")).get("key") == job.key
    except (ValueError, OSError):
        return False


# ---------------------------------------------------------------------------------------------------------------------
# execution (in worker processes)
# ---------------------------------------------------------------------------------------------------------------------
def to_ipynb(source: Path, dest: Path) -> Path:
    """Convert a jupytext (MyST) notebook to ``.ipynb`` for papermill, naming the kernel explicitly."""
    import jupytext
    import nbformat

    nb = jupytext.read(source)
    nb.metadata["kernelspec"] = {"name": KERNEL_NAME, "display_name": "hbeval (Python 3.11)", "language": "python"}
    nb.metadata.pop("jupytext", None)
    for i, cell in enumerate(nb.cells):  # stable cell ids: same source, same executed notebook (clean diffs)
        cell["id"] = f"cell-{i:03d}"
    nbformat.write(nb, dest)
    return dest


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


def execute_job(job: Job, staging_root: Path, failed_dir: Path | None = None, retries: int = 2) -> dict:
    """Execute one job (in a worker process). Outputs are written to a staging folder and moved into the book
    only when the notebook succeeded; a kernel that fails to start or dies is retried ``retries`` times.

    Returns ``{"ok": bool, "name": str, "error": str, "seconds": float, "attempts": int}``.
    """
    import papermill as pm

    t0 = time.monotonic()
    staging = Path(staging_root) / uuid.uuid4().hex
    staging.mkdir(parents=True)
    nb_in = to_ipynb(job.source, staging / f"{job.strand}.input.ipynb")
    out_nb = staging / f"{job.pilot}.ipynb"
    res, sup = staging / f"{job.pilot}.results.csv", staging / f"{job.pilot}.suppressions.csv"
    attempt, error = 0, None
    try:
        while True:
            attempt += 1
            for p in (out_nb, res, sup):
                p.unlink(missing_ok=True)
            try:
                pm.execute_notebook(str(nb_in), str(out_nb), parameters=job.parameters(res, sup),
                                    kernel_name=KERNEL_NAME, progress_bar=False, cwd=str(REPO_ROOT),
                                    start_timeout=120, kernel_manager_class=_ipc_kernel_manager())
                break
            except Exception as exc:  # noqa: BLE001 — classified below, re-raised as a report
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
        if error is None:
            missing = [p.name for p in (res, sup) if not p.exists()]
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
        for src, dst in zip((out_nb, res, sup), job.outputs()):
            os.replace(src, dst)
        tmp = job.key_file.with_name(job.key_file.name + ".tmp")
        tmp.write_text(json.dumps({"key": job.key, "components": job.components}, indent=1, sort_keys=True),
                   encoding="utf-8")
        os.replace(tmp, job.key_file)
        return {"ok": True, "name": job.name, "error": "", "seconds": time.monotonic() - t0, "attempts": attempt}
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def remove_outputs(job: Job) -> None:
    """Delete a job's outputs and key (its previous outputs no longer match its inputs)."""
    for p in job.outputs() + [job.key_file]:
        p.unlink(missing_ok=True)


# ---------------------------------------------------------------------------------------------------------------------
# the run
# ---------------------------------------------------------------------------------------------------------------------
@dataclasses.dataclass
class RunReport:
    """What a run did: jobs executed and skipped (names ``phase/strand/pilot``), whether intake ran, seconds."""

    executed: list[str]
    skipped: list[str]
    intake_ran: bool
    results_csv: Path | None
    seconds: float
    release_seconds: float = 0.0   # the release stage (0 when its ledger was up to date)


def _execute_all(jobs: list[Job], n_jobs: int, staging_root: Path, failed_dir: Path, bar_state: dict) -> list[str]:
    """Execute ``jobs`` with at most ``n_jobs`` worker processes; on the first failure stop submitting, wait for
    the running ones and raise :class:`RunError`."""
    if not jobs:
        return []
    bar = bar_state.get("bar")
    done: list[str] = []
    pending = deque(jobs)
    running: dict[cf.Future, Job] = {}
    failure = None
    ctx = multiprocessing.get_context("spawn")
    with cf.ProcessPoolExecutor(max_workers=max(1, n_jobs), mp_context=ctx) as pool:
        while pending or running:
            while pending and len(running) < max(1, n_jobs) and failure is None:
                job = pending.popleft()
                running[pool.submit(execute_job, job, staging_root, failed_dir)] = job
            if bar is not None:
                bar.set_postfix_str(", ".join(j.name for j in running.values()), refresh=True)
            finished, _ = cf.wait(list(running), return_when=cf.FIRST_COMPLETED)
            for fut in finished:
                job = running.pop(fut)
                try:
                    out = fut.result()
                except Exception as exc:  # noqa: BLE001 — a crashed worker is a failure of this job
                    remove_outputs(job)
                    out = {"ok": False, "error": _error_text(exc, job, None)}
                if out["ok"]:
                    done.append(job.name)
                    if bar is not None:
                        bar.update(1)
                elif failure is None:
                    failure = out["error"]
                    pending.clear()
    if failure:
        raise RunError(failure)
    return done


def merge_results(book_dir: Path, jobs: list[Job]) -> Path:
    """Merge the results tables of ``jobs`` (those present) into ``<book>/_results/results.csv``."""
    from .results import read_results

    paths = [j.out_dir / f"{j.pilot}.results.csv" for j in jobs]
    df = read_results([p for p in paths if p.exists()])
    out = Path(book_dir) / "_results" / "results.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    text = df.to_csv(index=False, float_format="%.6g")
    if out.exists() and out.read_text(encoding="utf-8") == text:
        return out  # unchanged: keep the mtime, so Sphinx does not rebuild the pages offering it
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, out)
    return out


def run(raw_dir: str | os.PathLike | None = None, processed_dir: str | os.PathLike | None = None,
        book_dir: str | os.PathLike | None = None, notebooks_dir: str | os.PathLike | None = None,
        phases: list[str] | None = None, pilots: list[str] | None = None, jobs: int = 1,
        cfg: Config | None = None, force: bool = False, progress: bool = True,
        cache_dir: str | os.PathLike | None = None) -> RunReport:
    """Execute the notebooks whose inputs changed and merge the results tables.

    Parameters
    ----------
    raw_dir : path, optional
        Raw data; when given, intake runs first if the processed tables are missing or stale. None uses the
        processed tables as they are.
    processed_dir, book_dir, notebooks_dir : path, optional
        Defaults: ``paths.processed`` of the configuration, ``<repo>/book``, ``<repo>/notebooks``.
    phases, pilots : list of str, optional
        Narrow the run (pilot ``"kaikki"`` = the all-pilots notebooks).
    jobs : int
        Parallel papermill workers.
    force : bool
        Execute every selected notebook regardless of the cache.

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
    intake_ran = ensure_processed(Path(raw_dir), processed_dir, cfg, progress=progress) if raw_dir else False
    # the release stage: every published cell of the whole release, protected once; the notebooks render from it
    from .release.ledger import ENV as RELEASE_ENV
    from .release.stage import ensure_release

    t_release = time.monotonic()
    ledger_path = ensure_release(processed_dir, notebooks_dir, cfg, jobs=jobs)
    release_seconds = time.monotonic() - t_release
    # the workers and their kernels inherit the ledger's path: every notebook renders from the protected release
    saved_env = os.environ.get(RELEASE_ENV)
    os.environ[RELEASE_ENV] = str(ledger_path.resolve())
    all_jobs = plan_jobs(cfg, notebooks_dir, book_dir, processed_dir, phases, pilots)
    if not all_jobs:
        raise RunError(f"no strand notebooks found in {notebooks_dir}")
    hasher = TableHasher(processed_dir)
    first = [j for j in all_jobs if j.strand != SYNTHESIS]
    second = [j for j in all_jobs if j.strand == SYNTHESIS]
    for j in all_jobs:
        j.release = ledger_path
    for j in first:
        j.components = cache_components(j, hasher)
        j.key = _sha(json.dumps(j.components, sort_keys=True).encode())
    todo1 = [j for j in first if force or not is_fresh(j)]
    staging_root = book_dir / ".hbeval_staging"
    failed_dir = cache_dir / "failed"
    executed, bar_state = [], {}
    try:
        if progress:
            from tqdm.auto import tqdm

            bar_state["bar"] = tqdm(total=len(todo1) + len(second), unit="nb", desc="hbeval run",
                                    dynamic_ncols=True, file=sys.stderr)
        executed += _execute_all(todo1, jobs, staging_root, failed_dir, bar_state)
        # synthesis reads the other strands' results, so its key is known only now
        todo2 = []
        for j in second:
            j.components = cache_components(j, hasher)
            j.key = _sha(json.dumps(j.components, sort_keys=True).encode())
            if force or not is_fresh(j):
                todo2.append(j)
            elif bar_state.get("bar") is not None:
                bar_state["bar"].total -= 1
        executed += _execute_all(todo2, jobs, staging_root, failed_dir, bar_state)
    finally:
        if bar_state.get("bar") is not None:
            bar_state["bar"].close()
        shutil.rmtree(staging_root, ignore_errors=True)
        if saved_env is None:
            os.environ.pop(RELEASE_ENV, None)
        else:
            os.environ[RELEASE_ENV] = saved_env
    full = plan_jobs(cfg, notebooks_dir, book_dir, processed_dir)
    results_csv = merge_results(book_dir, full)
    skipped = [j.name for j in all_jobs if j.name not in set(executed)]
    report = RunReport(executed, skipped, intake_ran, results_csv, time.monotonic() - t0)
    report.release_seconds = release_seconds
    return report


# ---------------------------------------------------------------------------------------------------------------------
# nbval reference executions
# ---------------------------------------------------------------------------------------------------------------------
REFERENCE_DIR = REPO_ROOT / "tests" / "reference"
REFERENCE_ENV = "HBEVAL_REFERENCE_PROCESSED"
REFERENCE_PHASE = "loppuraportti"


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


def _reference_parameters_cell(strand: str) -> str:
    lines = ["# Parametrit: nbval-regressiotesti (tests/reference); aineisto = demoaineisto (siemen 1)",
             "import os", f"pilot = {ALL_PILOTS!r}", f"phase = {REFERENCE_PHASE!r}",
             f"processed_dir = os.environ[{REFERENCE_ENV!r}]", 'results_path = ""', 'suppressions_path = ""']
    if strand == SYNTHESIS:
        lines += ["from hbeval_lib.config import REPO_ROOT",
                  f'results_dir = str(REPO_ROOT / "tests" / "reference" / "results" / {REFERENCE_PHASE!r})']
    return "\n".join(lines)


def update_reference(reference_dir: str | os.PathLike | None = None, notebooks_dir: str | os.PathLike | None = None,
                     work_dir: str | os.PathLike | None = None) -> list[Path]:
    """Regenerate the nbval reference executions ``tests/reference/<strand>.ipynb`` (all pilots, final phase,
    demo data seed 1). The strands' results tables are kept in ``tests/reference/results/`` as the synthesis
    notebook's fixed input. The parameters cell of each reference reads the data folder from
    ``$HBEVAL_REFERENCE_PROCESSED`` (set by ``tests/reference/conftest.py``)."""
    import tempfile

    import nbformat
    import papermill as pm

    reference_dir = Path(reference_dir) if reference_dir else REFERENCE_DIR
    notebooks_dir = Path(notebooks_dir) if notebooks_dir else REPO_ROOT / "notebooks"
    written = []
    with tempfile.TemporaryDirectory(prefix="hbeval-reference-") as tmp:
        work = Path(work_dir) if work_dir else Path(tmp)
        processed = reference_processed(work)
        results_dir = reference_dir / "results" / REFERENCE_PHASE
        for strand in STRANDS + [SYNTHESIS]:
            src = notebooks_dir / f"{strand}.md"
            if not src.exists():
                print(f"hbeval: {src} missing: no reference for {strand}", file=sys.stderr)
                continue
            nb_in = to_ipynb(src, Path(tmp) / f"{strand}.input.ipynb")
            params = {"pilot": ALL_PILOTS, "phase": REFERENCE_PHASE, "processed_dir": str(processed),
                      "results_path": "", "suppressions_path": ""}
            if strand == SYNTHESIS:
                params["results_dir"] = str(results_dir)
            else:
                params["results_path"] = str(results_dir / strand / f"{ALL_PILOTS}.results.csv")
            out = Path(tmp) / f"{strand}.ipynb"
            pm.execute_notebook(str(nb_in), str(out), parameters=params, kernel_name=KERNEL_NAME, progress_bar=False,
                                cwd=str(reference_dir), kernel_manager_class=_ipc_kernel_manager())
            nb = nbformat.read(out, as_version=4)
            for i, cell in enumerate(nb.cells):
                if "injected-parameters" in cell.metadata.get("tags", []):
                    cell.source = _reference_parameters_cell(strand)
                cell.metadata.pop("papermill", None)
                cell.metadata.pop("execution", None)
                cell["id"] = f"cell-{i:03d}"  # stable ids: a regenerated reference differs only where outputs do
            nb.metadata.pop("papermill", None)
            dest = reference_dir / f"{strand}.ipynb"
            nbformat.write(nb, dest)
            written.append(dest)
    return written


# ---------------------------------------------------------------------------------------------------------------------
# build
# ---------------------------------------------------------------------------------------------------------------------
def jupyter_book_build(book_dir: Path, builder: str = "html") -> None:
    """``jupyter-book build <book> -W --keep-going``: warnings are errors (a broken page fails the build)."""
    exe = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(exe) if exe.exists() else "jupyter-book", "build", str(book_dir), "-W", "--keep-going",
           "--builder", builder]
    proc = subprocess.run(cmd, cwd=REPO_ROOT, text=True, capture_output=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + "\n" + proc.stderr).strip().splitlines()[-60:])
        raise RunError(f"jupyter-book build failed (exit {proc.returncode}):\n{tail}")


def build(raw: str | os.PathLike | None = None, jobs: int = 2, cfg: Config | None = None,
          book_dir: str | os.PathLike | None = None, notebooks_dir: str | os.PathLike | None = None,
          processed_dir: str | os.PathLike | None = None, progress: bool = True, force: bool = False) -> RunReport:
    """The whole book: raw (``data/raw`` or the demo set) → intake if stale → run → generated pages → jupyter-book."""
    from . import bookpages

    cfg = cfg or load_config()
    raw_dir = resolve_raw(cfg, raw)
    book_dir = Path(book_dir) if book_dir else REPO_ROOT / "book"
    processed_dir = Path(processed_dir) if processed_dir else cfg.path_of("processed")
    report = run(raw_dir, processed_dir, book_dir, notebooks_dir, jobs=jobs, cfg=cfg, progress=progress, force=force)
    bookpages.write_pages(book_dir, processed_dir, raw_dir, cfg)
    jupyter_book_build(book_dir)
    return report


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
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--update-reference", action="store_true",
                        help="regenerate the nbval reference executions in tests/reference/ and exit")


def _print_report(rep: RunReport) -> None:
    print(f"hbeval run: {len(rep.executed)} notebooks executed, {len(rep.skipped)} up to date"
          f"{' (intake ran first)' if rep.intake_ran else ''}; {rep.seconds:.1f} s; results: "
          f"{_show_path(rep.results_csv)}")


def run_run_cli(args: argparse.Namespace) -> int:
    cfg = load_config()
    if args.update_reference:
        for p in update_reference(notebooks_dir=args.notebooks):
            print(f"hbeval run: wrote {_show_path(p)}")
        return 0
    try:
        raw = resolve_raw(cfg, args.raw)
        rep = run(raw, args.processed, args.book, args.notebooks, args.phase, args.pilot, args.jobs, cfg,
                  force=args.force, progress=not args.no_progress)
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
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run_build_cli(args: argparse.Namespace) -> int:
    try:
        rep = build(args.raw, jobs=args.jobs, progress=not args.no_progress, force=args.force)
    except RunError as exc:
        print(f"hbeval build: {exc}", file=sys.stderr)
        return 1
    _print_report(rep)
    print(f"hbeval build: {_show_path(REPO_ROOT / 'book' / '_build' / 'html' / 'index.html')}")
    return 0
