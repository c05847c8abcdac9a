"""Execute the strand notebooks for every phase and pilot (``hbeval run``) and build the book (``hbeval build``).

The flow is one-way: raw files → ``hbeval intake`` → processed tables → papermill → ``book/<phase>/<strand>/<pilot>.ipynb``
(+ ``.results.csv`` and ``.suppressions.csv`` beside it) → ``jupyter-book build book/`` with execution off.

Cache keys are in :mod:`hbeval_lib.book.cache`, kernels in :mod:`hbeval_lib.book.kernels`, the
nbval reference executions in :mod:`hbeval_lib.book.reference`, the command line in :mod:`hbeval_lib.book.commands`.

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

import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from hbeval_lib.book.cache import Job, LIB_DIR, SYNTHESIS, TableHasher, cache_components, job_status, load_memo, plan_jobs, refresh_prose, save_memo, show_path, write_key_file
from hbeval_lib.book.errors import RunError
from hbeval_lib.book.kernels import Executor
from hbeval_lib.config import REPO_ROOT, Config, load_config
from hbeval_lib.core.fileio import file_hash, sha256_hex
from hbeval_lib.intake.run import MANIFEST, check_build, ensure_processed, fingerprint_digest, raw_fingerprint

STAMP = "hbeval_stamp.json"  # in <book>/_generated/: what the book was built from (the stale check reads it)


def resolve_raw(cfg: Config, raw: str | os.PathLike | None = None, generate_demo: bool = True) -> Path:
    """The raw folder to use: ``raw`` if given, else ``paths.raw`` when it holds files, else the demo set
    (``paths.demo``; generated with :func:`hbeval_lib.demo.generator.generate` when absent and ``generate_demo``)."""
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
        from hbeval_lib.demo.generator import generate

        print(f"hbeval: {real} is empty: generating the demo data set into {demo}", file=sys.stderr)
        generate(demo, seed=1)
    return demo


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


def merge_results(book_dir: Path, jobs: list[Job]) -> Path:
    """Merge the results tables of ``jobs`` (those present) into ``<book>/_results/results.csv``."""
    from hbeval_lib.page.results import read_results

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
        out[f"extra:{show_path(x)}"] = file_hash(x)
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


def short_list(names: list[str], n: int = 8) -> str:
    return ", ".join(names[:n]) + (f" … (+{len(names) - n})" if len(names) > n else "")


def rebuild_command(paths: dict) -> str:
    """The command that rebuilds a book from what its stamp recorded: ``hbeval build``, with ``--raw`` when the book
    was built from a folder that a bare ``hbeval build`` would not pick (it falls back to ``paths.raw`` or the demo
    set: advice without ``--raw`` would rebuild another data set, and the book would stay stale)."""
    raw = paths.get("raw") or ""
    if not raw:
        return "hbeval build"
    try:
        default = resolve_raw(load_config(Path(paths["config"])) if paths.get("config") else load_config(),
                              None, generate_demo=False)
    except (FileNotFoundError, OSError, KeyError):
        default = None
    if default is not None and Path(default).resolve() == Path(raw).resolve():
        return "hbeval build"
    return f"hbeval build --raw {raw}"


def check_stamp(book_dir: Path) -> list[str]:
    """Why the executed notebooks in ``book_dir`` do not match the current inputs (empty: they match).

    Finnish first, English after, each telling the command that rebuilds this book (:func:`rebuild_command`)."""
    path = stamp_path(book_dir)
    data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    cmd = rebuild_command(data.get("paths", {}))
    fix = (f"Aja `{cmd}`" + (" (tai `make book`)" if cmd == "hbeval build" else "")
           + f". / Run `{cmd}`" + (" (or `make book`)" if cmd == "hbeval build" else "") + ".")
    if not path.exists():
        return [f"Kirjan suorituksista ei ole leimaa ({show_path(path)}): muistikirjoja ei ole ajettu `hbeval run`- "
                f"tai `hbeval build`-komennolla, tai ajo keskeytyi. / No stamp: the notebooks were not executed by "
                f"`hbeval run`/`hbeval build`, or the run stopped. {fix}"]
    pth = data.get("paths", {})
    now = book_inputs(Path(pth.get("notebooks", "")), Path(pth.get("config", "")), Path(pth.get("processed", "")),
                      Path(pth["raw"]) if pth.get("raw") else None, [Path(x) for x in pth.get("extra_inputs", [])])
    before = data.get("inputs", {})
    changed = sorted(k for k in set(now) | set(before) if now.get(k) != before.get(k))
    problems = []
    if changed:
        problems.append(f"Kirjan lähtötiedot ovat muuttuneet viimeisen ajon jälkeen: {short_list(changed)}. Julkaistavat "
                        f"sivut eivät vastaisi niitä. / The book's inputs changed since the notebooks were executed: "
                        f"{short_list(changed)}. {fix}")
    if data.get("stale"):
        problems.append(f"{len(data['stale'])} muistikirjaa on ajamatta nykyisillä lähtötiedoilla: "
                        f"{short_list(data['stale'])}. / {len(data['stale'])} notebooks are not up to date: "
                        f"{short_list(data['stale'])}. {fix}")
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

    from hbeval_lib.release import settle
    from hbeval_lib.release.stage import page_digests, protect_ledger, write_ledger

    conf = cfg.section("disclosure", {}) or {}
    k, n = int(conf.get("min_count", 5)), int(conf.get("min_n_stat", 10))
    pages = [j for j in jobs_all if j.strand != SYNTHESIS]
    executed: list[str] = []
    rounds = 0
    trimmed: list[str] = []
    while True:
        records = {j.name: settle.read_record(j.cells_file) for j in pages
                   if j.cells_file.exists() and job_status(j) != "stale"}
        led = pd.read_parquet(ledger_path)
        bad = settle.check(led, records)
        if bad:   # pages that only printed fewer cells: drop those from the ledger, nothing to solve or render
            fewer = settle.trim_unprinted(led, records)
            if len(fewer) < len(led):
                trimmed += sorted(set(bad) - set(settle.check(fewer, records)))
                write_ledger(processed_dir, fewer, settled={"rounds": rounds, "pages": [], "trimmed": trimmed})
                digests = page_digests(ledger_path)
                for j in jobs_all:
                    j.release_digest = digests.get(f"{j.phase}/{j.strand}/{j.pilot}", "")
                led = fewer
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
        # what a page's own rule hid beyond the ledger (Disclosure.hide_too) is protected as hidden, everywhere
        forced = settle.hidden_by_pages(led, records)
        fixed_now = forced if fixed is None or not len(fixed) else pd.concat([fixed, forced], ignore_index=True)
        new = settle.reprotect(settle.merged_cells(led, records), led,
                               lambda cells: protect_ledger(cells, cfg, jobs=n_jobs, fixed=fixed_now), min_count=k,
                               min_n_stat=n)
        write_ledger(processed_dir, new, settled={"rounds": rounds, "pages": sorted(bad), "trimmed": trimmed})
        digests = page_digests(ledger_path)
        for j in jobs_all:
            j.release_digest = digests.get(f"{j.phase}/{j.strand}/{j.pilot}", "")
        again = settle.check(new, records)
        rerun = [j for j in pages if j.name in again]
        for j in rerun:
            j.components = cache_components(j, hasher)
            j.key = sha256_hex(json.dumps(j.components, sort_keys=True).encode())
        if bar_state.get("bar") is not None:
            bar_state["bar"].total += len(rerun)
        executed += executor.run(rerun, staging_root, failed_dir, bar_state)
    if rounds or trimmed:
        # the pages that agree were rendered exactly as the settled ledger renders them: their keys follow it
        for j in pages:
            if j.name in records and j.key_file.exists():
                j.components = cache_components(j, hasher)
                j.key = sha256_hex(json.dumps(j.components, sort_keys=True).encode())
                write_key_file(j)
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
    from hbeval_lib.release import history

    cfg = history.due_config(cfg, processed_dir, include=phases or ())
    frozen = history.frozen_entries(cfg, releases_dir)
    frozen_phases = [p.key for p in cfg.phases if p.is_published]
    # the release stage: every published cell of the whole release, protected once; the notebooks render from it
    from hbeval_lib.page.cells import ENV as RELEASE_ENV
    from hbeval_lib.release.stage import ensure_release

    t_release = time.monotonic()
    ledger_path = ensure_release(processed_dir, notebooks_dir, cfg, jobs=jobs, fixed=frozen)
    release_seconds = time.monotonic() - t_release
    # a notebook's key covers its own page's decisions (a change elsewhere in the release does not re-run it);
    # the stale check covers the whole release
    from hbeval_lib.release.stage import page_digests

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
            j.key = sha256_hex(json.dumps(j.components, sort_keys=True).encode())
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
        j.key = sha256_hex(json.dumps(j.components, sort_keys=True).encode())
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
    jupyter-book. The gate (:mod:`hbeval_lib.intake.gate`) raises ``GateError`` on an unacknowledged error unless
    ``draft`` (then every page carries the draft banner).

    ``extra_inputs``: files whose content every notebook's cache key and the stale check cover (see :func:`run`)."""
    cfg = cfg or load_config()
    raw_dir = resolve_raw(cfg, raw)
    book_dir = Path(book_dir) if book_dir else REPO_ROOT / "book"
    processed_dir = Path(processed_dir) if processed_dir else cfg.path_of("processed")
    # --- the build gate (hbeval_lib/intake/gate.py): intake if stale, then stop on unacknowledged errors ---
    check_build(raw_dir, processed_dir, cfg, draft=draft, ack_path=acknowledgements, progress=progress)
    report = run(raw_dir, processed_dir, book_dir, notebooks_dir, jobs=jobs, cfg=cfg, progress=progress, force=force,
                 extra_inputs=extra_inputs, warm=warm, releases_dir=releases_dir)
    # the book holds the published reports and the one in preparation (the phases due), nothing later
    write_book(book_dir, processed_dir, raw_dir, cfg, releases_dir)
    return report


def write_book(book_dir: Path, processed_dir: Path, raw_dir: Path | None, cfg: Config,
               releases_dir: str | os.PathLike | None = None) -> None:
    """The generated pages and ``jupyter-book build`` of the reports due (published ones as they were published);
    a book that holds fewer reports than configured gets a table of contents of those."""
    from hbeval_lib.book import pages as bookpages
    from hbeval_lib.release import history

    due = history.due_config(cfg, processed_dir)
    bookpages.write_pages(book_dir, processed_dir, raw_dir, due, releases_dir=Path(releases_dir) if releases_dir else None)
    toc = None
    if len(due.phases) < len(cfg.phases):
        toc = Path(book_dir) / bookpages.GENERATED / "_toc.yml"
        toc.write_text(bookpages.toc(due), encoding="utf-8")
    jupyter_book_build(book_dir, toc=toc)
