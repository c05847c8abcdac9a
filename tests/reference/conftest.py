"""nbval regression on the committed reference executions (``make test`` runs pytest with ``--nbval``).

Before the notebooks run, the reference data (demo set, seed 1, and its intake) are generated once per test
session into a temporary folder shared by the xdist workers (a file lock makes one worker do it) and its
``processed/`` path is exported as ``$HBEVAL_REFERENCE_PROCESSED``, which the reference notebooks' parameter
cell reads. The references are named ``<strand>.<phase>.<pilot>.ipynb`` (every phase of the all-pilots pages and
the final phase of one small pilot). nbval runs a notebook's cells in order in one kernel, so ``make test``
distributes tests by file (``--dist loadfile``). Regenerate the references with ``make reference``.

When an output changed, the failure says so ("Cell outputs differ", not "execution failed") and names each changed
number of a table by row and column, old → new (``nbdiff.py``), instead of printing raw HTML.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _install_readable_report() -> None:
    """nbval's failure report, made readable: changed table cells by row and column, and a header that does not
    call a changed output an execution failure."""
    try:
        from nbval.plugin import IPyNbCell, NbCellError
    except ImportError:  # nbval not installed: nothing to improve
        return
    if getattr(IPyNbCell, "_hbeval_readable", False):
        return
    import sys

    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    from nbdiff import readable_diff

    original_compare, original_repr = IPyNbCell.format_output_compare, IPyNbCell.repr_failure

    def format_output_compare(self, key, left, right):
        if Path(str(self.path)).parent == HERE and isinstance(left, str) and isinstance(right, str) \
                and key in ("text/html", "text/plain", "text/markdown"):
            lines = readable_diff(key, left, right)
            if lines:
                self.comparison_traceback.append(f" muuttunut tulos / changed output '{key}' (reference → now):")
                self.comparison_traceback.extend(lines)
                return
        original_compare(self, key, left, right)

    def repr_failure(self, excinfo):
        exc = excinfo.value
        if isinstance(exc, NbCellError) and str(exc) == "Cell outputs differ" and Path(str(self.path)).parent == HERE:
            return "\n".join([
                f"Cell outputs differ — the cell ran without error, its output changed (tulos muuttui): "
                f"{Path(str(self.path)).name}, cell {exc.cell_num}",
                "If the change is intended, regenerate the references: make reference",
                "", "Input:", exc.source, "", exc.inner_traceback or ""])
        return original_repr(self, excinfo)

    IPyNbCell.format_output_compare = format_output_compare
    IPyNbCell.repr_failure = repr_failure
    IPyNbCell._hbeval_readable = True


_install_readable_report()


def _prepare_reference_data() -> None:
    from hbeval_lib.book.reference import REFERENCE_ENV, reference_processed

    if os.environ.get(REFERENCE_ENV):
        return
    uid = os.environ.get("PYTEST_XDIST_TESTRUNUID") or uuid.uuid4().hex
    root = Path(tempfile.gettempdir())
    for old in root.glob("hbeval-reference-run-*"):  # leftovers of earlier sessions (older than a day)
        if time.time() - old.stat().st_mtime > 86400:
            shutil.rmtree(old, ignore_errors=True)
    work = root / f"hbeval-reference-run-{uid}"
    work.mkdir(exist_ok=True)
    with open(work / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        if not (work / "ready").exists():
            reference_processed(work)
            (work / "ready").touch()
    os.environ[REFERENCE_ENV] = str(work / "processed")


def _use_current_sources(items) -> None:
    """Execute the *current* code of ``notebooks/<strand>.md`` against the committed reference outputs.

    The reference's code cells (its injected parameters cell aside) are replaced, in order, by the strand
    notebook's code cells; so editing a number in a strand notebook makes the cell's output differ from the
    reference and nbval shows the diff. When the cells no longer line up (cells added or removed), the first cell
    fails and says to regenerate the references (``make reference``). ``$HBEVAL_NOTEBOOKS_DIR`` points to
    another notebooks folder (used by ``tests/test_nbval.py``).
    """
    import jupytext

    by_file: dict[Path, list] = {}
    for it in items:
        by_file.setdefault(Path(str(it.path)), []).append(it)
    for path, its in by_file.items():
        notebooks = Path(os.environ.get("HBEVAL_NOTEBOOKS_DIR") or HERE.parents[1] / "notebooks")
        strand = path.name.split(".")[0]  # <strand>.<phase>.<pilot>.ipynb
        src = notebooks / f"{strand}.md"
        cells = [it for it in its if "injected-parameters" not in it.cell.metadata.get("tags", [])]
        current = ([c.source for c in jupytext.read(src).cells if c.cell_type == "code"] if src.exists() else [])
        if len(current) != len(cells):
            its[0].cell.source = (f"raise RuntimeError('tests/reference/{path.name} is out of date: {len(cells)} code "
                                  f"cells there, {len(current)} in notebooks/{strand}.md; run make reference')")
            continue
        for it, code in zip(cells, current):
            it.cell.source = code


def pytest_collection_modifyitems(config, items):
    mine = [it for it in items if Path(str(it.path)).parent == HERE and str(it.path).endswith(".ipynb")]
    _use_current_sources(mine)
    if mine:
        _prepare_reference_data()
