"""The nbval regression catches an edited number in a strand notebook, and says where and how.

The nbval run executes the *current* code of ``notebooks/<strand>.md`` against the committed reference outputs
(``tests/reference/conftest.py``). Here pytest + nbval runs in a subprocess on one strand's reference with a copy
of the notebooks in which one numeric literal of the analysis code is changed; the run must fail with
"Cell outputs differ" (never "execution failed": the cell ran) and show the edited input. The readable table diff
(``tests/reference/nbdiff.py``) is checked on planted tables; the reference set on its names.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hbeval_lib.book import cache as book_cache
from hbeval_lib.book import reference

REPO = Path(__file__).resolve().parents[1]
NUMBER = re.compile(r"(?<![\w.\"'])(\d+)(?![\w.\"'])")


def _ref(strand: str) -> str:
    return reference.reference_name(strand, reference.REFERENCE_PHASE, "kaikki")


def _nbdiff():
    import importlib.util

    spec = importlib.util.spec_from_file_location("nbdiff", REPO / "tests" / "reference" / "nbdiff.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


TABLE = """<style>#T_00001_row0_col0 {{color: red}}</style>
<table id="T_00001"><caption>Asiakkaat</caption>
<thead><tr><th></th><th>HB-asiakkaat</th><th>Verrokkiasiakkaat</th></tr>
<tr><th>Pilotti</th><th></th><th></th></tr></thead>
<tbody><tr><th>Eksote</th><td>{a}</td><td>17</td></tr>
<tr><th>Kainuu</th><td>&lt;5</td><td>–</td></tr>{extra}</tbody></table>"""


def test_readable_diff_names_row_column_old_and_new():
    nbdiff = _nbdiff()
    old = TABLE.format(a="22", extra="")
    lines = nbdiff.readable_diff("text/html", old, TABLE.format(a="23", extra=""))
    assert lines == ["taulukko 1 (Asiakkaat): rivi «Eksote» × sarake «HB-asiakkaat»: 22 → 23"]
    assert nbdiff.readable_diff("text/html", old, old) == []            # no change, nothing to report
    added = nbdiff.readable_diff("text/html", old, TABLE.format(a="22", extra="<tr><th>Pori</th><td>9</td>"
                                                                           "<td>8</td></tr>"))
    assert added == ["taulukko 1 (Asiakkaat): uusi rivi «Pori» / new row: ['Pori', '9', '8']"]
    assert not any("<td" in x for x in lines + added)                  # no raw HTML
    md_old = "Taulukko\n\n| Pilotti | HB | Verrokki |\n|---|---:|---:|\n| Eksote | 22 | 17 |\n| Pori | 9 | 8 |\n"
    assert nbdiff.readable_diff("text/markdown", md_old, md_old.replace("| 9 |", "| 10 |")) == [
        "taulukko 1: rivi «Pori» × sarake «HB»: 9 → 10"]
    text = nbdiff.readable_diff("text/plain", "n = 12\nosuus 0,5", "n = 13\nosuus 0,5")
    assert "  -n = 12" in text and "  +n = 13" in text


def test_reference_set_covers_every_phase_of_all_pilots_and_one_small_pilot():
    from hbeval_lib.config import load_config

    refs = reference.reference_set()
    phases = [p.key for p in load_config().phases]
    for s in book_cache.STRANDS:
        assert {ph for st, ph, pi in refs if st == s and pi == "kaikki"} == set(phases)
        assert (s, reference.REFERENCE_PHASE, reference.REFERENCE_PILOT) in refs
    assert ("synthesis", reference.REFERENCE_PHASE, "kaikki") in refs
    committed = {p.name for p in (REPO / "tests" / "reference").glob("*.ipynb")}
    assert committed == {reference.reference_name(*r) for r in refs}


def first_number_edit():
    """(strand, old source, new source, edited line) for the first integer literal in an analysis code cell."""
    import jupytext

    for strand in ["wellbeing", "service_process", "costs", "synthesis"]:
        md = REPO / "notebooks" / f"{strand}.md"
        if not md.exists() or not (REPO / "tests" / "reference" / _ref(strand)).exists():
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
    cmd = [sys.executable, "-m", "pytest", str(REPO / "tests" / "reference" / _ref(strand)), "-p", "no:xdist",
           "-p", "no:cacheprovider", "-q", "--nbval", "--nbval-sanitize-with",
           str(REPO / "tests" / "reference" / "sanitize.cfg"), "--nbval-kernel-name", "hbeval", "--color=no"]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-3000:]
    assert "Cell outputs differ" in out, out[-3000:]
    assert "execution failed" not in out                    # the cell ran: only its output changed
    assert "make reference" in out
    assert line in out  # the failing cell's edited input is shown
