"""Which executed pages are current: cache keys, their inputs, and the notebook files of a page.

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
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import json
import os
import re
import sys
from pathlib import Path

from hbeval_lib.config import STRANDS, SYNTHESIS, ALL_PILOTS, REPO_ROOT, Config, load_config, strand_folder
from hbeval_lib.core.fileio import file_hash, sha256_hex

KERNEL_NAME = "hbeval"
CACHE_VERSION = 2
# cell tags that change how a code cell executes (other tags only change how it is shown: no re-execution)
EXECUTION_TAGS = {"parameters", "raises-exception", "skip-execution", "skip-execution-in-book"}
OUTPUT_SUFFIXES = (".ipynb", ".results.csv", ".suppressions.csv")
CELLS_SUFFIX = ".cells.csv"   # the page's release record (hbeval_lib.page.disclosure.cells_path), checked by the build
MAGNITUDES_SUFFIX = ".magnitudes.csv"   # its magnitude record (hbeval_lib.page.disclosure.magnitudes_path), audited
LIB_DIR = Path(__file__).resolve().parents[1]
ALL_PILOTS_NAME = "Kaikki pilotit"


# ---------------------------------------------------------------------------------------------------------------------
# dependency scanning
# ---------------------------------------------------------------------------------------------------------------------
_LOADER = re.compile(r"(?:(?<![\w.])|\btables\.)(?:load|read_table)\(\s*(?:name\s*=\s*)?(['\"]?)(\w*)")
_DIRECT = re.compile(r"read_parquet\(")
_LOADER_MODULES = {"core/tables.py", "book/run.py", "book/pages.py"}  # the loader itself and the orchestration
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
    files = sha256_hex("|".join(sorted(str(f.relative_to(LIB_DIR)) for f in LIB_DIR.rglob("*.py"))).encode())
    memo = f"{path.relative_to(LIB_DIR).as_posix()}|{sha256_hex(text.encode())}|{files}"
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
            parts = dotted.split(".")
            for i in range(2, len(parts)):   # importing a module runs its parent packages' __init__ too
                pkg = _module_file(".".join(parts[:i]))
                if pkg:
                    found.add(pkg)

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
    from hbeval_lib.core.schema import TABLES

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
    from hbeval_lib.core.schema import TABLES

    modules = notebook_modules(source) if modules is None else modules
    names, unknown = scan_tables(source)
    for m in modules:
        if m.relative_to(LIB_DIR).as_posix() in _LOADER_MODULES:
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
        return self.book_dir / self.phase / strand_folder(self.strand)

    @property
    def output(self) -> Path:
        return self.out_dir / f"{self.pilot}.ipynb"

    @property
    def key_file(self) -> Path:
        return self.out_dir / f"{self.pilot}.cachekey"

    def outputs(self) -> list[Path]:
        return [self.out_dir / f"{self.pilot}{s}" for s in OUTPUT_SUFFIXES] + [self.cells_file, self.magnitudes_file]

    @property
    def cells_file(self) -> Path:
        """The page's release record: every cell it published and the decision it was shown with."""
        return self.out_dir / f"{self.pilot}{CELLS_SUFFIX}"

    @property
    def magnitudes_file(self) -> Path:
        """The page's magnitude record: every euro sum or mean it decided (:mod:`hbeval_lib.release.euro_audit`)."""
        return self.out_dir / f"{self.pilot}{MAGNITUDES_SUFFIX}"

    @property
    def name(self) -> str:
        return f"{self.phase}/{self.strand}/{self.pilot}"

    def parameters(self, results_path: Path | str = "", suppressions_path: Path | str = "") -> dict:
        p = {"pilot": self.pilot, "phase": self.phase, "processed_dir": show_path(self.processed_dir),
             "results_path": show_path(results_path), "suppressions_path": show_path(suppressions_path)}
        if self.strand == SYNTHESIS:
            p["results_dir"] = show_path(self.book_dir / self.phase)
        return p


def show_path(p) -> str:
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

    memo = f"{fmt}|{sha256_hex(source.encode())}"
    if memo not in MEMO["code"]:
        nb = jupytext.reads(source, fmt=fmt)
        cells = [[c.source, sorted(set(c.metadata.get("tags", [])) & EXECUTION_TAGS)]
                 for c in nb.cells if c.cell_type == "code"]
        MEMO["code"][memo] = sha256_hex(json.dumps(cells, ensure_ascii=False).encode())
    return MEMO["code"][memo]


def _source_dependencies(source: str, fmt: str = "md") -> tuple[list[Path], list[str], dict[str, str], str]:
    """(modules, tables, module hashes, code digest) of a notebook source; memoised on the hasher for one run."""
    modules = notebook_modules(source)
    return (modules, notebook_tables(source, modules),
            {m.relative_to(LIB_DIR).as_posix(): file_hash(m) for m in modules}, code_digest(source, fmt))


def _extra_inputs_hashes(paths) -> dict[str, str]:
    return {show_path(p): file_hash(p) for p in paths}


def cache_components(job: Job, hasher: TableHasher) -> dict:
    """The inputs of a job's cache key (see the module docstring). Also sets ``job.text_hash``."""
    source = job.source.read_text(encoding="utf-8")
    job.text_hash = sha256_hex(source.encode())
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
                           for p in sorted(phase_dir.glob("*/*.results.csv")) if p.parent.name != strand_folder(SYNTHESIS)}
    return comp


def cache_key(job: Job, hasher: TableHasher) -> str:
    """SHA-256 of :func:`cache_components` (stored with its components in ``<pilot>.cachekey``)."""
    return sha256_hex(json.dumps(cache_components(job, hasher), sort_keys=True).encode())


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


def write_key_file(job: Job, seconds: float | None = None) -> None:
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
    memo = (str(job.source), sha256_hex(text.encode()))
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
    for i, c in enumerate(cells):  # unique ids before writing (the final numbering is finalise_notebook's)
        c["id"] = f"cell-{i:03d}"
    executed.cells = cells
    tmp = job.output.with_name(job.output.name + ".prose.tmp")
    nbformat.write(executed, tmp)
    finalise_notebook(tmp, job)
    os.replace(tmp, job.output)
    write_key_file(job)
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


LEAD_IN = "lead-in"   # tag of a Markdown cell that introduces what the code cells after it show


def drop_empty_lead_ins(nb) -> list[int]:
    """Blank every Markdown cell tagged ``lead-in`` whose code cells (up to the next Markdown cell) showed nothing —
    e.g. "HB-asiakkaiden omat väittämät:" above a figure that a baseline report or a pilot without clients does
    not draw. A researchers' text slot is not content of its own. Returns the indexes of the blanked cells (their
    tag stays, so a later prose refresh decides again)."""
    from hbeval_lib.page.report import SLOT_MARKER

    def shows(cell) -> bool:
        for out in cell.get("outputs", []):
            if SLOT_MARKER in (out.get("metadata") or {}):
                continue
            if out.get("output_type") == "stream" and not str(out.get("text", "")).strip():
                continue
            return True
        return False

    blanked = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown" or LEAD_IN not in (cell.metadata.get("tags") or []):
            continue
        following = []
        for nxt in nb.cells[i + 1:]:
            if nxt.cell_type == "markdown":
                break
            following.append(nxt)
        if following and not any(shows(c) for c in following):
            cell.source = ""
            blanked.append(i)
    return blanked


def finalise_notebook(path: Path, job: Job) -> None:
    """Make the executed notebook publishable: final parameter values, no run-specific metadata, parameter cells
    hidden, and a title naming the pilot and phase."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    params = job.parameters(*[job.out_dir / f"{job.pilot}{s}" for s in OUTPUT_SUFFIXES[1:]])
    cfg = load_config(job.config_path)
    who = ALL_PILOTS_NAME if job.pilot == ALL_PILOTS else cfg.pilot_by_key(job.pilot).name
    titled = False
    from hbeval_lib.strands import methods   # the notebooks' method prose names the analyses' settings too

    for cell in nb.cells:
        if cell.cell_type == "markdown" and "{{" in cell.source:
            cell.source = methods.fill(cell.source, cfg, source=f"{job.source.name}")
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
    drop_empty_lead_ins(nb)
    nb.metadata["hbeval"] = {"strand": job.strand, "phase": job.phase, "pilot": job.pilot}
    nbformat.write(nb, path)
