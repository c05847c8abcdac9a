"""No code in published text: the scan of built pages (hbeval_lib.book.text.scan_book / find_code_in_text).

The scanner is tested on known-bad snippets taken from the issue (each must be found) and on Finnish text that must
pass. The scan of a whole demo book runs in ``tests/test_book_e2e.py`` (it builds one); here the repository's own
``book/_build/html`` is scanned too when ``make book`` has built it, and every PDF in ``book/_build/pdf`` (text via
``pdftotext``) when the PDFs exist.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hbeval_lib.book import text

REPO = Path(__file__).resolve().parents[1]
HTML = REPO / "book" / "_build" / "html"


def page(body: str, footer: str = "") -> str:
    return (f"<html><body><nav>Hae</nav><article class='bd-article'>{body}</article>"
            f"<footer>{footer}</footer></body></html>")


@pytest.mark.parametrize("snippet, kind", [
    ("Kriteerit ovat konfiguraatiossa (<code>success_criteria</code>).", "tunniste"),
    ("avainsanaluettelolla (theme_codebooks.hb_valinta)", "tunniste"),
    ("Syy: unknown_client", "tunniste"),
    ("Syy: too_few_items", "tunniste"),
    ("/work/main/.venv/lib/python3.11/site-packages/statsmodels/regression/linear_model.py:2257: "
     "RuntimeWarning: divide by zero", "varoitus"),
    ("Traceback (most recent call last): File \"x.py\", line 3", "varoitus"),
    ("<table><tr><th>label</th><th>Vastauksia</th></tr></table>", "englanninkielinen sana: ”label”"),
    ("<th>background</th>", "englanninkielinen sana"),
    ("<th>relationship</th>", "englanninkielinen sana"),
    ("<th>period</th><th>2017/1</th>", "englanninkielinen sana"),
    ("<td>default</td><td>zero</td><td>leisure</td><td>wage</td>", "englanninkielinen sana: ”default”"),
    ("Osallisuustesti (osallisuustesti)", "nimi toistettu"),
    ("ero −0,30 … <td>-0,03</td>", "yhdysmerkki miinusmerkkinä"),
    ("<td>14.0</td><td>-8.0</td>", "desimaalipiste"),
])
def test_known_bad_text_is_found(snippet, kind):
    found = text.find_code_in_text(text.visible_text(page(snippet)))
    assert any(kind in f for f in found), found


def test_last_updated_in_the_footer_is_found():
    html = page("Hyvä teksti.", footer="Last updated on 30.11.2026.")
    assert text.find_code_in_text(text.visible_text(html, whole_page=True), technical=True)


@pytest.mark.parametrize("snippet", [
    "HB-asiakkaiden kustannukset olivat 954 € asiakaskuukautta kohden (95 %:n luottamusväli 918 … 994 €).",
    "Ero oli −0,03 pistettä; aineisto 31.3.2019 asti, ks. arviointisuunnitelman luku 2.2 ja kysymys 3.4.",
    "Osallisuustesti (ESIS) ja Kykyviisari; vaihteluväli 1–5; p < 0,001; n = 112.",
    "<div class='lang-en'>The baseline-adjusted difference in general wellbeing favoured clients.</div>",
    "<blockquote>Client said: the budget was too small</blockquote>",
    "<div class='citation'>Patton, M. Q. Utilization-Focused Evaluation. Sage, 1997.</div>",
    "Asiakas kirjoitti: ”the best thing was the freedom”.",
])
def test_finnish_text_quotations_abstract_and_references_pass(snippet):
    assert text.find_code_in_text(text.visible_text(page(snippet))) == []


def test_technical_page_may_name_software_but_not_show_tracebacks():
    body = "Sarakkeet strand, phase, pilot, key, label; Python 3.11; tiedosto results.csv"
    assert text.find_code_in_text(text.visible_text(page(body)), technical=True) == []
    bad = body + " Traceback (most recent call last)"
    assert text.find_code_in_text(text.visible_text(page(bad)), technical=True)


@pytest.mark.skipif(not (HTML / "index.html").exists(), reason="book/_build/html not built (run make book)")
def test_built_book_has_no_code_in_text():
    found = text.scan_book(HTML, REPO / "book" / "_build" / "pdf" if shutil.which("pdftotext") else None)
    assert found == {}, "\n".join(f"{p}: {f[0]} (+{len(f) - 1})" for p, f in found.items())


@pytest.mark.skipif(not (HTML / "loppuraportti" / "hyvinvointi" / "pori.html").exists(),
                    reason="book/_build/html not built (run make book)")
def test_built_book_pori_sentence_on_its_page_only():
    """The shipped example sentence of book/text/loppuraportti/wellbeing/pori.md is on that page and no other."""
    needle = "Porin pilotissa arviointiin osallistui"
    pages = [p.relative_to(HTML).as_posix() for p in HTML.rglob("*.html")
             if needle in p.read_text(encoding="utf-8")]
    assert pages == ["loppuraportti/hyvinvointi/pori.html"]
