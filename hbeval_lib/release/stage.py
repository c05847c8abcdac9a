"""The release stage: compute every published cell of all phases × pilots × strands once, protect, write the ledger.

The cells are collected by running the code cells of the strand notebooks themselves (``notebooks/<strand>.md``), for
every phase and pilot, in this one process with displays switched off: whatever a researcher adds to a notebook —
a new table through ``rep.dc``, a count through ``rep.count`` — is therefore in the release and protected with the
rest, and the notebooks executed afterwards (render mode, :mod:`hbeval_lib.page.cells`) can show only what the protected ledger
allows. The ledger is cached on what can change it: the processed tables, the notebooks' code cells, the library
and the configuration.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

from hbeval_lib.config import STRANDS, ALL_PILOTS, REPO_ROOT, Config, load_config
from hbeval_lib.page import cells as L
from hbeval_lib.release.protect import protect

LEDGER_NAME = "release_ledger.parquet"
SUMMARY_NAME = "release_summary.json"
DECISIONS_NAME = "release_suppressions.csv"
LIB_DIR = Path(__file__).resolve().parents[1]
_MAGIC = re.compile(r"^\s*[%!]", re.MULTILINE)


def code_cells(source: Path) -> tuple[str, list[str]]:
    """The parameters cell and the other code cells of a jupytext MyST notebook."""
    import jupytext

    nb = jupytext.read(source)
    params, cells = "", []
    for c in nb.cells:
        if c.cell_type != "code":
            continue
        text = "\n".join(line for line in c.source.splitlines() if not _MAGIC.match(line))
        if "parameters" in (c.metadata.get("tags") or []):
            params = text
        else:
            cells.append(text)
    return params, cells


@contextlib.contextmanager
def _quiet_displays():
    """Displays and glue calls do nothing while cells are collected (nothing is published from here)."""
    import IPython.display as ipd
    import matplotlib
    import matplotlib.pyplot as plt
    import myst_nb

    saved = (ipd.display, myst_nb.glue, matplotlib.get_backend())
    ipd.display = lambda *a, **k: None
    myst_nb.glue = lambda *a, **k: None
    plt.switch_backend("Agg")
    try:
        yield
    finally:
        ipd.display, myst_nb.glue = saved[0], saved[1]
        plt.close("all")


def _collect_part(strand: str, phases: list[str], pilots: list[str], processed_dir: str, notebooks_dir: str,
                  config_path: str | None) -> pd.DataFrame:
    """Collect the cells of one strand notebook for ``phases`` × ``pilots`` (in a worker process)."""
    if config_path:
        os.environ.setdefault("HBEVAL_CONFIG", config_path)
    params, cells = code_cells(Path(notebooks_dir) / f"{strand}.md")
    collector = L.Collector()
    failures: list[dict] = []
    previous = L.active() if os.environ.get(L.ENV) is None else None
    L.set_active(collector)
    try:
        with _quiet_displays(), warnings.catch_warnings():
            warnings.simplefilter("ignore")   # collecting publishes nothing; the executed notebooks are checked
            for phase in phases:
                for pilot in pilots:
                    with _page_isolation():
                        _collect_page(strand, phase, pilot, params, cells, processed_dir, failures)
    finally:
        L.set_active(previous)
    frame = collector.frame()
    frame.attrs["failures"] = failures
    return frame


@contextlib.contextmanager
def _page_isolation():
    """What one page's code changes in the process (working folder, environment, import path, plotting and
    pandas options, warning filters, open figures) is undone before the next page."""
    import matplotlib
    import matplotlib.pyplot as plt

    saved = (os.getcwd(), dict(os.environ), list(sys.path), matplotlib.rcParams.copy(), list(warnings.filters))
    try:
        with pd.option_context("display.max_rows", pd.get_option("display.max_rows")):
            yield
    finally:
        os.chdir(saved[0])
        os.environ.clear()
        os.environ.update(saved[1])
        sys.path[:] = saved[2]
        matplotlib.rcParams.update(saved[3])
        warnings.filters[:] = saved[4]
        plt.close("all")


def _collect_page(strand, phase, pilot, params, cells, processed_dir, failures) -> None:
    """Run one page's code cells (collect mode); a failing cell ends the page and is recorded in ``failures``."""
    ns: dict = {"__name__": f"hbeval_release_{strand}"}
    exec(compile(params, f"{strand}.md:parameters", "exec"), ns)
    ns.update(pilot=pilot, phase=phase, processed_dir=str(processed_dir), results_path="", suppressions_path="")
    for i, code in enumerate(cells):
        try:
            exec(compile(code, f"{strand}.md:cell{i + 1}", "exec"), ns)
        except Exception as exc:  # noqa: BLE001 - the page's notebook will fail the same way
            # the notebook execution then stops the build with its name, parameters and traceback; a page that
            # publishes nothing through the ledger cannot leak by it
            failures.append({"page": f"{phase}/{strand}/{pilot}", "cell": i + 1,
                             "error": f"{type(exc).__name__}: {exc}"})
            return


def collect(processed_dir: Path, notebooks_dir: Path | None = None, cfg: Config | None = None,
            strands: list[str] | None = None, phases: list[str] | None = None,
            pilots: list[str] | None = None, jobs: int = 1) -> pd.DataFrame:
    """Run every strand notebook's code for every phase × pilot in collect mode; return the ledger cells.

    The strands × phases run in ``jobs`` worker processes (never in the calling process); the cells are the same
    for any number of jobs.
    """
    cfg = cfg or load_config()
    notebooks_dir = Path(notebooks_dir) if notebooks_dir else REPO_ROOT / "notebooks"
    phases = phases or [p.key for p in cfg.phases]
    pilots = pilots or [ALL_PILOTS] + [p.key for p in cfg.pilots]
    strands = [s for s in (strands or STRANDS) if (notebooks_dir / f"{s}.md").exists()]
    config_path = str(cfg.path) if getattr(cfg, "path", None) else None
    tasks = [(s, [ph], pilots, str(Path(processed_dir).resolve()), str(Path(notebooks_dir).resolve()), config_path)
             for s in strands for ph in phases]
    frames: list[pd.DataFrame] = []
    if tasks:   # in worker processes even for one job: the notebooks' code never runs in the build's process
        import concurrent.futures as cf
        import multiprocessing

        with cf.ProcessPoolExecutor(max_workers=max(1, min(jobs, len(tasks))),
                                    mp_context=multiprocessing.get_context("spawn")) as pool:
            frames = list(pool.map(_collect_part, *zip(*tasks)))
    out = pd.concat(frames, ignore_index=True) if frames else L.Collector().frame()
    out.attrs["failures"] = [f for fr in frames for f in fr.attrs.get("failures", [])]
    return out


def protect_ledger(cells: pd.DataFrame, cfg: Config | None = None, jobs: int = 1,
                   fixed: pd.DataFrame | None = None) -> pd.DataFrame:
    """Protect the collected cells jointly with the configured thresholds (``jobs`` processes over the tables);
    ``fixed``: the entries of published reports (constants, see :mod:`.history`)."""
    cfg = cfg or load_config()
    conf = cfg.section("disclosure", {}) or {}
    return protect(cells, phases=[p.key for p in cfg.phases], pilots=[p.key for p in cfg.pilots],
                   pilot_by_name={p.name: p.key for p in cfg.pilots},
                   min_count=int(conf.get("min_count", 5)), min_n_stat=int(conf.get("min_n_stat", 10)),
                   zeros_disclosive=bool(conf.get("zeros_disclosive", False)), jobs=jobs, fixed=fixed)


def _digest(paths: list[Path], extra: str = "") -> str:
    h = hashlib.sha256(extra.encode())
    for p in sorted(paths):
        h.update(str(p.name).encode())
        h.update(p.read_bytes() if p.exists() else b"")
    return h.hexdigest()


def _strand_key(strand: str, processed_dir: Path, notebooks_dir: Path, cfg: Config) -> str:
    """What one strand's collected cells depend on: the processed tables, that notebook's code cells (not its
    prose), the library code and the configuration."""
    code = json.dumps(code_cells(notebooks_dir / f"{strand}.md"))
    # the tidy tables only: the release stage's own outputs (cells, ledger) are not inputs
    files = sorted(p for p in Path(processed_dir).glob("*.parquet") if not p.name.startswith("release_")) \
        + sorted(LIB_DIR.rglob("*.py"))
    if getattr(cfg, "path", None):
        files.append(Path(cfg.path))
    return _digest(files, code)


def ensure_release(processed_dir: Path, notebooks_dir: Path | None = None, cfg: Config | None = None,
                   force: bool = False, jobs: int = 1, fixed: pd.DataFrame | None = None) -> Path:
    """Build the protected ledger unless the one in ``processed_dir`` is up to date; return its path.

    The cells are cached per strand (``release_cells_<strand>.parquet``): an edit of one strand notebook's code
    collects that strand again, the others are reused; the protection is then solved again for the whole release.
    """
    cfg = cfg or load_config()
    processed_dir = Path(processed_dir)
    notebooks_dir = Path(notebooks_dir) if notebooks_dir else REPO_ROOT / "notebooks"
    path = processed_dir / LEDGER_NAME
    summary_path = processed_dir / SUMMARY_NAME
    strands = [s for s in STRANDS if (notebooks_dir / f"{s}.md").exists()]
    keys = {s: _strand_key(s, processed_dir, notebooks_dir, cfg) for s in strands}
    # the phases built and the published reports' entries decide the protection too
    fixed_text = "" if fixed is None or not len(fixed) else fixed.astype(str).to_csv(index=False)
    extra = json.dumps([p.key for p in cfg.phases]) + hashlib.sha256(fixed_text.encode()).hexdigest()
    key = hashlib.sha256((json.dumps(keys, sort_keys=True) + extra).encode()).hexdigest()
    old = json.loads(summary_path.read_text(encoding="utf-8")) if summary_path.exists() else {}
    if not force and path.exists() and old.get("key") == key:
        return path
    t0 = time.monotonic()
    todo = [s for s in strands if force or old.get("strand_keys", {}).get(s) != keys[s]
            or not (processed_dir / f"release_cells_{s}.parquet").exists()]
    failures = []
    if todo:
        fresh = collect(processed_dir, notebooks_dir, cfg, strands=todo, jobs=jobs)
        failures = fresh.attrs.get("failures", [])
        for f in failures:
            print(f"hbeval: julkaisuvaihe: sivun {f['page']} koodi epäonnistui (solu {f['cell']}: {f['error']}); "
                  "muistion ajo kertoo virheen tarkemmin. / The release stage could not run this page's code; "
                  "its notebook execution will report the error.", file=sys.stderr)
        for s in todo:
            part = fresh[fresh["strand"] == s]
            part.to_parquet(processed_dir / f"release_cells_{s}.parquet", index=False)
    cells = pd.concat([pd.read_parquet(processed_dir / f"release_cells_{s}.parquet") for s in strands],
                      ignore_index=True) if strands else L.Collector().frame()
    if fixed is not None and len(fixed):   # a published report's cells are what it published (release history)
        from hbeval_lib.release.history import frozen_cells

        cells = frozen_cells(cells, fixed)
    t1 = time.monotonic()
    # the protection is a function of the cells and the thresholds only: the same cells (e.g. after an edit of a
    # notebook's code that changes no published number) reuse the protected ledger
    conf = json.dumps(cfg.section("disclosure", {}) or {}, sort_keys=True, default=str)
    cells_digest = hashlib.sha256((conf + extra + cells.sort_values(list(L.COLUMNS[:6])).to_csv(index=False))
                                  .encode()).hexdigest()
    if not failures and not force and path.exists() and old.get("cells_digest") == cells_digest:
        led = pd.read_parquet(path)
        led.attrs["unmodelled"] = old.get("unmodelled", [])
        reused = True
    else:
        led = protect_ledger(cells, cfg, jobs=jobs, fixed=fixed)
        tmp = path.with_suffix(".tmp")
        led.to_parquet(tmp, index=False)
        os.replace(tmp, path)
        reused = False
    t2 = time.monotonic()
    decisions = led.loc[led["suppressed"], ["phase", "strand", "pilot", "table", "row", "col", "code", "reason"]]
    decisions.to_csv(processed_dir / DECISIONS_NAME, index=False)
    if failures:   # never cache a release whose collection failed somewhere
        keys = {k: ("failed:" + v if k in {f["page"].split("/")[1] for f in failures} else v) for k, v in keys.items()}
        key = "failed:" + key
    summary = {"key": key, "strand_keys": keys, "collected": todo, "failures": failures, "cells": int(len(led)),
               "suppressed": int(led["suppressed"].sum()),
               "by_code": {k: int(v) for k, v in led.loc[led["suppressed"], "code"].value_counts().sort_index().items()},
               "collect_seconds": round(t1 - t0, 2), "protect_seconds": round(t2 - t1, 2),
               # count tables whose cells fit no linked model (only their primary rules applied): should be none
               "unmodelled": list(led.attrs.get("unmodelled", [])), "cells_digest": cells_digest,
               "protection_reused": reused}
    summary_path.write_text(json.dumps(summary, indent=1, sort_keys=True), encoding="utf-8")
    return path


def page_digests(ledger_path: Path) -> dict[str, str]:
    """``"phase/strand/pilot"`` → digest of that page's cells and decisions (what its notebook renders)."""
    led = pd.read_parquet(ledger_path)
    out = {}
    cols = ["table", "row", "col", "value", "suppressed", "code"]
    for (phase, strand, pilot), g in led.groupby(["phase", "strand", "pilot"], sort=True):
        text = g[cols].astype(str).to_csv(index=False)
        out[f"{phase}/{strand}/{pilot}"] = hashlib.sha256(text.encode()).hexdigest()
    return out


def write_ledger(processed_dir: Path, led: pd.DataFrame, settled: dict | None = None) -> Path:
    """Replace the protected ledger (and its decision list) with ``led`` — a settled release — keeping the summary's
    cache key, so that the next build with the same inputs reuses the settled ledger."""
    processed_dir = Path(processed_dir)
    path = processed_dir / LEDGER_NAME
    tmp = path.with_suffix(".tmp")
    led.to_parquet(tmp, index=False)
    os.replace(tmp, path)
    decisions = led.loc[led["suppressed"], ["phase", "strand", "pilot", "table", "row", "col", "code", "reason"]]
    decisions.to_csv(processed_dir / DECISIONS_NAME, index=False)
    summary_path = processed_dir / SUMMARY_NAME
    summary = json.loads(summary_path.read_text(encoding="utf-8")) if summary_path.exists() else {}
    summary.update({"cells": int(len(led)), "suppressed": int(led["suppressed"].sum()),
                    "by_code": {k: int(v) for k, v in
                                led.loc[led["suppressed"], "code"].value_counts().sort_index().items()}})
    if settled is not None:
        summary["settled"] = settled
    summary_path.write_text(json.dumps(summary, indent=1, sort_keys=True), encoding="utf-8")
    return path
