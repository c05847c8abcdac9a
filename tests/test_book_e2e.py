"""End-to-end: the whole demo book, built as `make book` builds it (in a temporary workspace).

Asserts every phase × strand × pilot page exists (and the synthesis), no page shows an error or a traceback,
figures are present, every page carries the demo banner, the results table is merged and offered for download,
the phase summaries paste glued numbers, `check-privacy` finds nothing, and a rebuild executes nothing.
"""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from hbeval_lib.book import pages as bookpages
from hbeval_lib.book import run as pipeline
from hbeval_lib.book import cache as book_cache
from hbeval_lib.config import ALL_PILOTS, SYNTHESIS, load_config, strand_folder

# one module, one build: `make test` distributes by file (--dist loadfile), so these tests share one worker
pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def built(demo_book):
    # one build per test session, shared with tests/test_pdf.py (tests/conftest.py::demo_book)
    return demo_book


def expected_names():
    """The pages by name (phase/strand key/pilot), as the build reports them and results.csv keys them."""
    cfg = load_config()
    pages = [f"{ph.key}/{s}/{p}" for ph in cfg.phases for s in book_cache.STRANDS
             for p in [ALL_PILOTS] + [x.key for x in cfg.pilots]]
    return pages + [f"{cfg.phases[-1].key}/{SYNTHESIS}/{ALL_PILOTS}"]


def expected_pages():
    """The pages' paths in the book (the strand's Finnish folder, e.g. loppuraportti/hyvinvointi/kainuu)."""
    out = []
    for name in expected_names():
        phase, strand, pilot = name.split("/")
        out.append(f"{phase}/{strand_folder(strand)}/{pilot}")
    return out


def test_every_page_exists(built):
    pages = expected_pages()
    assert len(pages) == 64
    missing = [p for p in pages if not (built["html"] / f"{p}.html").exists()]
    assert missing == []
    assert (built["html"] / "index.html").exists()
    for page in ["intro", "arviointiasetelma", "_generated/pilotit", "_generated/aineisto", "_generated/tekninen",
                 "_generated/lahtotilanne", "_generated/valiarviointi", "_generated/loppuraportti"]:
        assert (built["html"] / f"{page}.html").exists(), page
    assert sorted(set(built["executed"])) == sorted(expected_names())   # (a page re-rendered while settling counts once)


def test_no_error_output_or_traceback(built):
    for page in expected_pages():
        nb = json.loads((built["book"] / f"{page}.ipynb").read_text(encoding="utf-8"))
        errors = [o for c in nb["cells"] for o in c.get("outputs", []) if o.get("output_type") == "error"]
        assert errors == [], page
        html = (built["html"] / f"{page}.html").read_text(encoding="utf-8")
        assert "Traceback (most recent call last)" not in html, page
        assert "output traceback" not in html, page  # myst-nb's class for an error output
        stderr = "".join("".join(o.get("text", "")) for c in nb["cells"] for o in c.get("outputs", [])
                         if o.get("name") == "stderr")
        assert "Error" not in stderr and "Traceback" not in stderr, page
        assert "Warning" not in stderr, f"{page}: a warning reached the book:\n{stderr[:2000]}"


def test_figures_present(built):
    for s in book_cache.STRANDS:
        html = (built["html"] / f"loppuraportti/{strand_folder(s)}/{ALL_PILOTS}.html").read_text(encoding="utf-8")
        imgs = re.findall(r'<img[^>]+src="([^"]+\.png)"', html)
        assert imgs, f"no figure in loppuraportti/{s}/kaikki"
        for src in imgs:
            assert (built["html"] / "loppuraportti" / strand_folder(s) / src).resolve().exists(), src


def test_demo_banner_on_every_page(built):
    pages = sorted(p for p in built["html"].rglob("*.html") if "_static" not in p.parts
                   and p.name not in ("search.html", "genindex.html"))
    assert len(pages) >= 64 + 8
    texts = {p: p.read_text(encoding="utf-8") for p in pages}
    # index.html is jupyter-book's redirect to the root page (intro.html), not a page of its own
    without = [str(p.relative_to(built["html"])) for p, t in texts.items()
               if bookpages.DEMO_BANNER not in t and 'http-equiv="Refresh"' not in t]
    assert without == []


def test_results_merged_and_downloadable(built):
    res = pd.read_csv(built["book"] / "_results" / "results.csv")
    combos = set(zip(res["phase"], res["strand"], res["pilot"]))
    assert {tuple(p.split("/")) for p in expected_names()} <= combos
    assert not res.loc[res["suppressed"], ["estimate", "ci_low", "ci_high", "n", "p_value"]].notna().any().any()
    html = (built["html"] / "_generated" / "loppuraportti.html").read_text(encoding="utf-8")
    link = re.search(r'href="\.\./(_downloads/[^"]+/results\.csv)"', html)
    assert link and (built["html"] / link.group(1)).exists()
    assert 'class="pasted-text"' in html  # the summary pastes glued key numbers


def test_every_results_key_is_documented(built):
    from hbeval_lib.config import REPO_ROOT

    doc = (REPO_ROOT / "docs" / "results.md").read_text(encoding="utf-8")
    res = pd.read_csv(built["book"] / "_results" / "results.csv")
    undocumented = sorted({k for k in res["key"] if f"`{k}`" not in doc})
    assert undocumented == [], "regenerate docs/results.md (python -m hbeval_lib.book.pages --results-doc ...)"


def test_privacy_check_clean(built):
    from hbeval_lib.release.privacy import check_privacy

    # the whole book folder: HTML, executed notebooks, results and suppression CSVs, downloads
    assert check_privacy(built["book"], built["raw"]) == []


def test_rebuild_with_nothing_changed_executes_nothing(built):
    rep = pipeline.run(built["raw"], built["processed"], built["book"], jobs=2, progress=False)
    assert rep.executed == [] and not rep.intake_ran


def test_no_code_in_published_text(built):
    """No identifiers, paths, warnings, English or non-Finnish numbers in any page (hbeval_lib.book.text.scan_book)."""
    from hbeval_lib.book import text

    found = text.scan_book(built["html"])
    assert found == {}, "\n".join(f"{p}: {f[0]} (+{len(f) - 1})" for p, f in found.items())


def test_researchers_text_for_final_pori_wellbeing_is_on_that_page_only(built):
    needle = "Porin pilotissa arviointiin osallistui"  # book/text/loppuraportti/wellbeing/pori.md
    pages = sorted(p.relative_to(built["html"]).as_posix() for p in built["html"].rglob("*.html")
                   if needle in p.read_text(encoding="utf-8"))
    assert pages == ["loppuraportti/hyvinvointi/pori.html"]
