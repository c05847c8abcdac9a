"""The nbval regression catches an edited number in a strand notebook, and says where.

The nbval run executes the *current* code of ``notebooks/<strand>.md`` against the committed reference outputs
(``tests/reference/conftest.py``). Here pytest + nbval runs in a subprocess on one strand's reference with a copy
of the notebooks in which one numeric literal of the analysis code is changed; the run must fail with nbval's
"Cell outputs differ" and show the edited input.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NUMBER = re.compile(r"(?<![\w.\"'])(\d+)(?![\w.\"'])")


def first_number_edit():
    """(strand, old source, new source, edited line) for the first integer literal in an analysis code cell."""
    import jupytext

    for strand in ["wellbeing", "service_process", "costs", "synthesis"]:
        md = REPO / "notebooks" / f"{strand}.md"
        if not md.exists() or not (REPO / "tests" / "reference" / f"{strand}.ipynb").exists():
            continue
        text = md.read_text(encoding="utf-8")
        for cell in jupytext.read(md).cells:
            if cell.cell_type != "code" or "parameters" in cell.metadata.get("tags", []):
                continue
            m = NUMBER.search(cell.source)
            if m and cell.source in text:
                edited = cell.source[:m.start()] + str(int(m.group(1)) + 1) + cell.source[m.end():]
                line = edited[:m.end() + 1].splitlines()[-1].strip()
                return strand, text, text.replace(cell.source, edited, 1), line
    return None


@pytest.mark.slow
def test_editing_a_number_in_a_strand_notebook_fails_nbval_with_a_diff(tmp_path):
    found = first_number_edit()
    if found is None:
        pytest.skip("no strand notebook with a reference and a numeric literal in its analysis code")
    strand, _old, new, line = found
    nbdir = tmp_path / "notebooks"
    shutil.copytree(REPO / "notebooks", nbdir)
    (nbdir / f"{strand}.md").write_text(new, encoding="utf-8")
    env = {**os.environ, "HBEVAL_NOTEBOOKS_DIR": str(nbdir)}
    cmd = [sys.executable, "-m", "pytest", str(REPO / "tests" / "reference" / f"{strand}.ipynb"), "-p", "no:xdist",
           "-p", "no:cacheprovider", "-q", "--nbval", "--nbval-sanitize-with",
           str(REPO / "tests" / "reference" / "sanitize.cfg"), "--nbval-kernel-name", "hbeval", "--color=no"]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-3000:]
    assert "Cell outputs differ" in out, out[-3000:]
    assert line in out  # the failing cell's edited input is shown
