"""Command-line glue of ``hbeval run`` and ``hbeval build`` (arguments, progress report); the work is in
:mod:`hbeval_lib.book.run`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hbeval_lib.book.cache import show_path
from hbeval_lib.book.errors import RunError
from hbeval_lib.book.reference import update_reference
from hbeval_lib.book.run import RunReport, build, resolve_raw, run, short_list
from hbeval_lib.config import REPO_ROOT, load_config

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
          f"{rep.seconds:.1f} s; results: {show_path(rep.results_csv)}")
    if rep.executed:
        print(f"  executed: {short_list(sorted(rep.executed), 30)}")
    if rep.prose:
        print(f"  text only (no kernel): {short_list(sorted(rep.prose), 30)}")
    if rep.stale_elsewhere:
        print(f"  STALE elsewhere (not selected in this run): {len(rep.stale_elsewhere)} notebooks — "
              f"{short_list(rep.stale_elsewhere, 12)}\n  run `hbeval run` without --phase/--pilot (or `hbeval build`) "
              "before publishing: `jupyter-book build` refuses a stale book")
    else:
        print("  every other notebook is up to date")


def run_run_cli(args: argparse.Namespace) -> int:
    cfg = load_config()
    if args.update_reference:
        changed = update_reference(notebooks_dir=args.notebooks)
        for p in changed:
            print(f"hbeval run: {'wrote' if p.exists() else 'removed'} {show_path(p)}")
        print(f"hbeval run: {len(changed)} reference files changed" + ("" if changed else " (all up to date)"))
        return 0
    try:
        raw = resolve_raw(cfg, args.raw)
        rep = run(raw, args.processed, args.book, args.notebooks, args.phase, args.pilot, args.jobs, cfg,
                  force=args.force, progress=not args.no_progress, warm=not args.cold_kernels)
        from hbeval_lib.book import pages as bookpages

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
    from hbeval_lib.intake.gate import GateError

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
    print(f"hbeval build: {show_path(REPO_ROOT / 'book' / '_build' / 'html' / 'index.html')}")
    return 0
