"""Robustness sweep: build the whole book from many generated raw data sets and check each one.

A book that builds from the demo data (seed 1) proves little: real data differ in size, in faults and in which cells
a small pilot hides. The sweep generates raw sets with the demo generator (several seeds and sizes, with and without
planted faults), builds each into its own folder exactly as ``hbeval build --draft --raw …`` would (the demo's example
texts cite numbers that another data set may hide: on data that are not the demo's a build is a *draft*, in which
such a citation shows a visible marker instead of a number), and asserts for each set:

* the build succeeds (every notebook executes, the release settles, jupyter-book builds);
* every page published exactly the protected ledger's cells, values and decisions (:mod:`hbeval_lib.release.settle`);
* the intruder (:mod:`hbeval_lib.release.intruder`), reading every page of every phase and the downloads, recovers nothing;
* every euro figure passes the contributor and dominance rules, one way on every page (:mod:`hbeval_lib.release.euro_audit`);
* no hidden small count is a table line's sum printed elsewhere in the report less the line's shown cells
  (:mod:`hbeval_lib.release.sums_audit`, with the truth of the ledger);
* the results table has one value per fact (key × phase × pilot);
* a reader's consistency check (:mod:`hbeval_lib.release.consistency`) finds no fact printed with two values across
  the pages, the final report's generated pages and results.csv.

``make sweep`` runs :data:`FULL` (about 8 builds: tens of minutes on two cores); the test suite runs :data:`LIGHT`
(``tests/test_sweep.py``). ``python -m hbeval_lib.book.sweep --sets 3:120:some 5:60:none:single-control+no-interim`` runs chosen sets.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

# (seed, clients, faults[, variants]): sizes from 60 to 600 clients, with and without planted faults, and the
# structural variants of the generator (hbeval_lib.demo.generator.VARIANTS: a pilot with a single control, a pilot
# without interim data, a pilot that starts after the baseline cut-off)
LIGHT = [(3, 120, "some", ("single-control", "no-interim")), (6, 60, "none")]
FULL = [(2, 90, "some", ("single-control",)), (3, 120, "some"), (4, 600, "none"), (5, 240, "some", ("no-interim",)),
        (6, 60, "none", ("late-start",)), (7, 400, "some"), (8, 200, "none", ("single-control", "no-interim")),
        (9, 180, "some", ("late-start", "single-control"))]


@dataclass
class SetResult:
    seed: int
    clients: int
    faults: str
    variants: tuple = ()
    ok: bool = False
    seconds: float = 0.0
    problems: list = field(default_factory=list)
    settle_rounds: int = 0

    def line(self) -> str:
        state = "OK" if self.ok else "FAIL"
        return (f"{state} seed={self.seed} clients={self.clients} faults={self.faults} "
                + (f"variants={'+'.join(self.variants)} " if self.variants else "")
                + 
                f"({self.seconds:.0f} s, settle rounds {self.settle_rounds})"
                + "".join(f"\n    - {p}" for p in self.problems))


def check_book(book: Path, processed: Path) -> list[str]:
    """The checks of one built book (empty list: all pass)."""
    import pandas as pd

    from hbeval_lib.release import consistency, intruder
    from hbeval_lib.book import run as book_run
    from hbeval_lib.book import cache as book_cache
    from hbeval_lib.config import load_config
    from hbeval_lib.release import settle
    from hbeval_lib.release.stage import LEDGER_NAME

    problems: list[str] = []
    led = pd.read_parquet(processed / LEDGER_NAME)
    jobs = [j for j in book_cache.plan_jobs(load_config(), book_run.REPO_ROOT / "notebooks", book, processed)
            if j.strand != book_cache.SYNTHESIS]
    missing = [j.name for j in jobs if not j.cells_file.exists()]
    if missing:
        problems.append(f"pages without a release record: {missing[:5]}")
    records = {j.name: settle.read_record(j.cells_file) for j in jobs if j.cells_file.exists()}
    bad = settle.check(led, records)
    if bad:
        problems.append("pages disagree with the ledger:\n" + settle.describe(bad))
    res = intruder.attack(book / "_build" / "html")
    if not res.ok:
        problems.append("intruder: " + res.summary())
    from hbeval_lib.release import euro_audit   # every euro figure against the contributor and dominance rules

    problems += euro_audit.problems(book, book / "_build" / "html")
    from hbeval_lib.release import sums_audit   # a line's sum printed elsewhere in the report (truth-based)

    cfg = load_config()
    found = sums_audit.findings(led, {p.name: p.key for p in cfg.pilots},
                                int((cfg.section("disclosure", {}) or {}).get("min_count", 5)))
    if len(found):
        problems.append(sums_audit.summary(found))
    results = book / "_results" / "results.csv"
    if results.exists():
        df = pd.read_csv(results, dtype=str, keep_default_na=False)
        keys = [c for c in ("strand", "key", "phase", "pilot") if c in df.columns]
        dup = df[df.duplicated(keys, keep=False)] if len(keys) == 4 else df.iloc[0:0]
        if len(dup):
            problems.append(f"results.csv: {len(dup)} rows share a key × phase × pilot, e.g. "
                            f"{dup[keys].head(3).to_dict('records')}")
        found = consistency.check(book / "_build" / "html", results)
        if found:
            problems.append(consistency.summary(found))
    else:
        problems.append("no results.csv")
    return problems


def build_set(seed: int, clients: int, faults: str, work: Path, jobs: int = 2, variants=()) -> SetResult:
    """Generate one raw set into ``work/raw`` (``variants``: the generator's structural variants), build its book into
    ``work/book`` and check it."""
    from hbeval_lib.book import bench
    from hbeval_lib.demo import generator as demo
    from hbeval_lib.book import run as book_run
    from hbeval_lib.release.stage import SUMMARY_NAME

    out = SetResult(seed, clients, faults, tuple(variants))
    t0 = time.monotonic()
    work = Path(work)
    if work.exists():
        shutil.rmtree(work)
    raw, processed = work / "raw", work / "processed"
    demo.generate(raw, seed=seed, clients=clients, faults=faults, variants=variants)
    book = bench.copy_book_sources(work / "book")
    saved = os.environ.get("HBEVAL_DRAFT")
    os.environ["HBEVAL_DRAFT"] = "1"
    try:
        book_run.build(raw, jobs=jobs, book_dir=book, processed_dir=processed, progress=False, draft=True)
    except Exception as exc:  # noqa: BLE001 - a failed build is the finding
        out.problems.append(f"build failed: {type(exc).__name__}: {str(exc)[:2000]}")
        out.seconds = time.monotonic() - t0
        return out
    finally:
        if saved is None:
            os.environ.pop("HBEVAL_DRAFT", None)
        else:
            os.environ["HBEVAL_DRAFT"] = saved
    summary = json.loads((processed / SUMMARY_NAME).read_text(encoding="utf-8"))
    out.settle_rounds = int((summary.get("settled") or {}).get("rounds", 0))
    out.problems += check_book(book, processed)
    out.ok = not out.problems
    out.seconds = time.monotonic() - t0
    return out


def _parse(spec: str) -> tuple:
    """``SEED:CLIENTS[:none|some[:VARIANT+VARIANT…]]``."""
    seed, clients, *rest = spec.split(":")
    variants = tuple(v for v in rest[1].split("+") if v) if len(rest) > 1 else ()
    return int(seed), int(clients), (rest[0] if rest else "none"), variants


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m hbeval_lib.book.sweep", description=__doc__.splitlines()[0])
    ap.add_argument("--full", action="store_true", help="the full sweep (make sweep)")
    ap.add_argument("--sets", nargs="*", default=None, help="SEED:CLIENTS[:none|some[:VARIANT+…]] …")
    ap.add_argument("--work", default=None, help="work folder (default: a temporary folder, removed)")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args(argv)
    sets = [_parse(s) for s in args.sets] if args.sets else (FULL if args.full else LIGHT)
    import tempfile

    root = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="hbeval_sweep_"))
    results = []
    for seed, clients, faults, *var in sets:
        variants = tuple(var[0]) if var else ()
        name = f"s{seed}_{clients}_{faults}" + "".join(f"_{v}" for v in variants)
        r = build_set(seed, clients, faults, root / name, jobs=args.jobs, variants=variants)
        print(r.line(), flush=True)
        results.append(r)
    if not args.work:
        shutil.rmtree(root, ignore_errors=True)
    failed = sum(not r.ok for r in results)
    print(f"sweep: {len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
