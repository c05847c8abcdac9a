"""``make bench``: how fast is the book pipeline, and does the cache do what it says (not a test).

In one run on a fresh demo data set, in a temporary workspace (the repository's own book is not touched):

1. **cold** — ``hbeval build`` from nothing (intake, every notebook in parallel, jupyter-book);
2. **no change** — the same build again: nothing should be executed;
3. **one file** — one pilot's raw file changed (a workshop memo of one pilot gets a paragraph): intake reruns and
   only the notebooks whose inputs changed are executed (counted);
4. **naive** — papermill run sequentially on every notebook, then ``jupyter-book build`` with execution forced
   (what a book without the pipeline would do).

Prints the times and ratios and writes them to ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from . import bookpages, pipeline
from .config import ALL_PILOTS, REPO_ROOT, load_config

BOOK_SOURCES = ["intro.md", "arviointiasetelma.md", "_ext", "references.bib", "text", "yhteiset"]
CHANGED_PILOT = "pori"


def copy_book_sources(dest: Path) -> Path:
    """A book folder with the committed sources only (config, toc, static pages, extensions)."""
    dest.mkdir(parents=True, exist_ok=True)
    src = REPO_ROOT / "book"
    for name in ("_config.yml", "_toc.yml"):
        shutil.copyfile((src / name).resolve(), dest / name)
    for name in BOOK_SOURCES:
        p = src / name
        if p.is_dir():
            shutil.copytree(p, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copyfile(p, dest / name)
    return dest


def change_one_pilot_file(raw: Path, pilot: str = CHANGED_PILOT) -> Path:
    """Append a paragraph to one workshop memo of ``pilot`` (changes only that pilot's qualitative rows)."""
    target = sorted((raw / "tyopajat").glob(f"*_{pilot}_*.md"))[-1]
    with target.open("a", encoding="utf-8") as fh:
        fh.write("\n\nTyöpajassa todettiin lisäksi, että ohjeistusta on selkeytettävä.\n")
    return target


def code_fingerprint() -> str:
    """Hash of everything a notebook's cache key covers besides data: notebooks, hbeval_lib, config, requirements.
    (In a shared checkout someone may edit these during a run; then the no-change rebuild is not a no-change.)"""
    files = sorted((REPO_ROOT / "notebooks").glob("*.md")) + sorted(pipeline.LIB_DIR.rglob("*.py"))
    files += [REPO_ROOT / "hbeval.yml", REPO_ROOT / "requirements.txt"]
    return pipeline.fingerprint_digest({str(p): pipeline.file_hash(p) for p in files})


def naive(raw: Path, work: Path) -> tuple[float, int]:
    """Sequential papermill on every notebook, then jupyter-book with execution forced; (seconds, notebooks)."""
    import papermill as pm

    cfg = load_config()
    book = copy_book_sources(work / "naive_book")
    processed = work / "naive_processed"
    t0 = time.monotonic()
    pipeline.ensure_processed(raw, processed, cfg)
    jobs = pipeline.plan_jobs(cfg, REPO_ROOT / "notebooks", book, processed)
    for job in jobs:
        job.out_dir.mkdir(parents=True, exist_ok=True)
        nb_in = pipeline.to_ipynb(job.source, work / f"naive_{job.strand}.ipynb")
        params = job.parameters(job.out_dir / f"{job.pilot}.results.csv", job.out_dir / f"{job.pilot}.suppressions.csv")
        pm.execute_notebook(str(nb_in), str(job.output), parameters=params, kernel_name=pipeline.KERNEL_NAME,
                            progress_bar=False, cwd=str(REPO_ROOT))
    pipeline.merge_results(book, jobs)
    bookpages.write_pages(book, processed, raw, cfg)
    conf = yaml.safe_load((book / "_config.yml").read_text(encoding="utf-8"))
    conf["execute"] = {"execute_notebooks": "force", "timeout": 600}
    (book / "_config.yml").write_text(yaml.safe_dump(conf, allow_unicode=True), encoding="utf-8")
    exe = Path(sys.executable).with_name("jupyter-book")
    proc = subprocess.run([str(exe), "build", str(book)], cwd=REPO_ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError("naive jupyter-book build failed:\n" + proc.stdout[-3000:] + proc.stderr[-3000:])
    return time.monotonic() - t0, len(jobs)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--skip-naive", action="store_true", help="leave out the (slow) naive pipeline")
    ap.add_argument("--out", default=str(REPO_ROOT / "docs" / "benchmarks.md"))
    args = ap.parse_args(argv)
    cfg = load_config()
    from .demo import generate

    rows = []
    with tempfile.TemporaryDirectory(prefix="hbeval-bench-") as tmp:
        work = Path(tmp)
        raw = work / "raw"
        generate(raw, seed=1)
        book = copy_book_sources(work / "book")
        processed = work / "processed"

        def timed_build(label):
            t0 = time.monotonic()
            rep = pipeline.build(raw, jobs=args.jobs, cfg=cfg, book_dir=book, processed_dir=processed,
                                 progress=False)
            sec = time.monotonic() - t0
            rows.append((label, sec, len(rep.executed), rep.executed))
            print(f"{label}: {sec:.1f} s, {len(rep.executed)} notebooks executed", flush=True)
            return sec

        before = code_fingerprint()
        cold = timed_build("cold build")
        for _ in range(3):  # the code changed under the cold build (shared checkout): bring the cache up to date
            if code_fingerprint() == before:
                break
            print("code changed during the build: one untimed build to catch up", flush=True)
            before = code_fingerprint()
            pipeline.build(raw, jobs=args.jobs, cfg=cfg, book_dir=book, processed_dir=processed, progress=False)
        nochange = timed_build("rebuild, nothing changed")
        changed = change_one_pilot_file(raw)
        one = timed_build(f"rebuild, one {CHANGED_PILOT} raw file changed ({changed.parent.name}/{changed.name})")
        if args.skip_naive:
            naive_sec, n_naive = None, None
        else:
            naive_sec, n_naive = naive(raw, work)
            rows.append(("naive: sequential papermill + jupyter-book (execution forced)", naive_sec, n_naive, []))
            print(f"naive pipeline: {naive_sec:.1f} s", flush=True)

    executed_one = rows[2][3]
    affected = all(name.split("/")[2] in (CHANGED_PILOT, ALL_PILOTS) for name in executed_one)
    n_phases, n_strands = len(cfg.phases), len(pipeline.STRANDS)
    ratios = {"no-change / cold": nochange / cold, "one-file / cold": one / cold}
    if naive_sec:
        ratios["naive / cold"] = naive_sec / cold
    lines = ["# Benchmarks", "",
             "Written by `make bench` (`python -m hbeval_lib.bench`); one run on the demo data (seed 1), "
             f"`--jobs {args.jobs}`.", "",
             f"- machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
             f"- date: {dt.date.today().isoformat()}", "",
             "| step | seconds | notebooks executed |", "|---|---:|---:|"]
    lines += [f"| {label} | {sec:.1f} | {n} |" for label, sec, n, _ in rows]
    lines += ["", "| ratio | value | goal |", "|---|---:|---|",
              f"| no-change rebuild / cold build | {ratios['no-change / cold']:.3f} | < 0.05 |",
              f"| one-file rebuild / cold build | {ratios['one-file / cold']:.3f} | only affected notebooks |"]
    if naive_sec:
        lines.append(f"| naive pipeline / cold build | {ratios['naive / cold']:.2f} | ≥ 2 |")
    lines += ["", f"One-file rebuild executed {len(executed_one)} notebooks; the upper bound for a change in one "
              f"pilot's data is {n_phases} phases × {n_strands} strands × (that pilot + kaikki) + synthesis = "
              f"{n_phases * n_strands * 2 + 1}. Every executed notebook belongs to {CHANGED_PILOT} or kaikki: "
              f"{'yes' if affected else 'NO'}.", "", "Executed in the one-file rebuild:", ""]
    lines += [f"- `{n}`" for n in sorted(executed_one)]
    lines += _bootstrap_section()
    text = "\n".join(lines) + "\n"
    Path(args.out).write_text(text, encoding="utf-8")
    print(text)
    return 0


def _bootstrap_section() -> list[str]:
    """The cost strand's bootstrap benchmark (goal: 10,000 replicates for 1,000 clients well under a second)."""
    from .bench_costs import run as run_bootstrap

    b = run_bootstrap()
    print(f"bootstrap: {b['total_s']:.3f} s for {b['replicates']} replicates of {b['clients']} clients", flush=True)
    return ["", "## Bootstrap of the cost strand", "",
            f"Stratified joint bootstrap of mean cost and effect, {b['replicates']:,} replicates for "
            f"{b['clients']:,} clients, and the CEA summary on a 51-point WTP grid (best of 3; goal: well under "
            "a second).", "", "| step | seconds |", "|---|---:|",
            *[f"| {k.removesuffix('_s')} | {b[k]:.3f} |" for k in ("indices_s", "means_s", "summarise_s", "total_s")]]


if __name__ == "__main__":
    sys.exit(main())
