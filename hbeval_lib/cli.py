"""The ``hbeval`` command line: thin; each subcommand lives in its module.

A module that offers a subcommand defines ``add_arguments(parser)`` and ``run_cli(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# subcommand -> (module, one-line help)
SUBCOMMANDS = {
    "intake": ("hbeval_lib.intake.run", "read, validate and link the raw files into tidy tables"),
    "demo-data": ("hbeval_lib.demo.generator", "write a synthetic raw data set in the contract's formats"),
    "check-privacy": ("hbeval_lib.release.privacy", "scan a built book for identifiers and small cells"),
    "run": ("hbeval_lib.book.commands", "execute the strand notebooks for every phase and pilot"),
    "build": ("hbeval_lib.book.commands", "intake + run + jupyter-book build (the demo set when data/raw is empty)"),
    "pdf": ("hbeval_lib.book.pdf", "PDF of each phase report from the built book (TeX Live; --install as root)"),
    "publish": ("hbeval_lib.book.publish", "freeze a built phase report as published (its release record)"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hbeval", description="hbeval — intake, analysis runs and the book of the HB evaluation")
    sub = parser.add_subparsers(dest="command", required=True)
    argv = sys.argv[1:] if argv is None else argv
    chosen = next((a for a in argv if not a.startswith("-")), None)
    for name, (module, help_) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_)
        if name == chosen:
            mod = importlib.import_module(module)
            adder = getattr(mod, f"add_{name.replace('-', '_')}_arguments", None) or mod.add_arguments
            adder(p)
            p.set_defaults(_module=mod, _runner=getattr(mod, f"run_{name.replace('-', '_')}_cli", None))
    args = parser.parse_args(argv)
    runner = args._runner or args._module.run_cli
    return int(runner(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
