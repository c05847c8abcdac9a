"""The pages a series editor reads besides the strands (hbeval_lib/book/pages.py, book/_ext, book/yhteiset):
front matter from the configuration (foreword, ethics and permits), the instruments appendix generated from the
codebooks, the glossary, Finnish author–year references, no-break spaces in numbers."""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

import pytest
import yaml

from hbeval_lib.book import pages as bookpages
from hbeval_lib.config import REPO_ROOT, load_config

CFG = load_config()
BOOK = REPO_ROOT / "book"
sys.path.insert(0, str(BOOK / "_ext"))


def test_toc_lists_every_appendix_of_each_phase():
    toc = yaml.safe_load(bookpages.toc())
    files = [s["file"] for part in toc["parts"] for c in part["chapters"] for s in c.get("sections", [])]
    for ph in CFG.phases:
        for name in bookpages.APPENDIX_PAGES:
            assert f"_generated/{ph.key}/{name}" in files
    assert len(bookpages.APPENDIX_PAGES) == len(bookpages.APPENDIX_TITLES)
    assert (REPO_ROOT / "_toc.yml").read_text(encoding="utf-8") == bookpages.toc()


def test_front_page_has_foreword_and_design_has_permits_and_ethics(tmp_path):
    book = tmp_path / "book"
    (book / "text").mkdir(parents=True)
    front = bookpages.front_page(CFG, "loppuraportti", book, demo=True)
    heads = re.findall(r"^## (.+)$", front, re.M)
    assert heads[0] == "Kuvailulehti" and heads[-1] == "Esipuhe"
    assert "Loppuraportti kuuluu" in front  # {phase} replaced by the report's name
    design = bookpages.ethics_section(CFG, "loppuraportti")
    assert design[0] == "## Tutkimusluvat ja tutkimusetiikka"
    text = "\n".join(design)
    assert "{cite}`loppuraportti-tenk2012`" in text  # the phase's own reference list
    for p in CFG.pilots:  # one permit row per pilot, with the pilot's name (not its key)
        assert f"| {p.name} |" in text


def test_no_foreword_or_ethics_without_configuration():
    class Bare:
        phases = CFG.phases
        pilots = CFG.pilots

        def phase(self, key):
            return CFG.phase(key)

        def section(self, name, default=None):
            return {} if name == "publication" else CFG.section(name, default)

    assert bookpages.ethics_section(Bare(), "loppuraportti") == []


def test_instruments_appendix_comes_from_the_codebooks():
    page = bookpages.instruments_page(CFG)
    wb = CFG.section("wellbeing")
    # every configured survey item, scale label and code is printed; instrument keys never are
    for label in list(wb["hb_likert"].values()) + list(wb["verrokki_likert"].values()):
        assert label in page
    for level in wb["likert_labels"]:
        assert level in page
    for label in CFG.section("codebook").values():
        assert label in page
    for cat in CFG.section("task_codebook")["categories"]:
        assert cat["label"] in page
    assert page.startswith("# Liite 4. ")
    for key in ("kehittamistyo", "tyoaika", "avustajakysely", "lahtokysely", "q2_2"):
        assert not re.search(rf"(?<![\w-]){key}(?!\w)", page), key
    # the plan's appendices the strand texts cite (LIITE 3.1, 3.3, 2.1) are named in this appendix
    for plan in ("liite 3.1", "liite 3.3", "liite 2.1", "liite 1.1"):
        assert plan in page


def test_instrument_names_are_finnish():
    from hbeval_lib.intake.instruments.specs import INSTRUMENTS, MARKDOWN_INSTRUMENTS

    for key in list(INSTRUMENTS) + list(MARKDOWN_INSTRUMENTS):
        name = bookpages.instrument_name(key)
        assert name != key and name[0].isupper(), key


def test_glossary_explains_the_methods_terms():
    text = (BOOK / "yhteiset" / "sanasto.md").read_text(encoding="utf-8")
    terms = re.findall(r"^(\S[^\n]*)\n: ", text, re.M)
    for term in ("AIPW", "ICER", "E-arvo", "Kaltaistamispistemäärä", "Sandwich", "Moni-imputointi", "Holmin",
                 "Herkkyysanalyysi", "SMD", "Bootstrap"):
        assert any(t.startswith(term) for t in terms), term
    assert terms == sorted(terms, key=str.casefold)  # alphabetical


def _bib_keys() -> set[str]:
    return set(re.findall(r"^@\w+\{([^,]+),", (BOOK / "references.bib").read_text(encoding="utf-8"), re.M))


def test_every_citation_of_the_shared_texts_and_configuration_resolves():
    keys = _bib_keys()
    sources = [p.read_text(encoding="utf-8") for p in (BOOK / "yhteiset").glob("*.md")]
    sources += [p.read_text(encoding="utf-8") for p in (BOOK / "text").rglob("*.md")]
    sources.append(str(bookpages.publication(CFG, "loppuraportti").get("ethics", "")))
    cited = {k.strip() for src in sources for m in re.finditer(r"\{cite(?::[a-z]+)?\}`([^`]*)`", src)
             for k in m.group(1).split(",")}
    assert cited and cited <= keys, sorted(cited - keys)
    # methods and domain: every method the report uses has its own source
    for key in ("robins1994", "vanderweele2017", "white2011", "holm1979", "fenwick2001", "drummond2015",
                "glendinning2008", "forder2012", "webber2014"):
        assert key in cited, key


def test_reference_list_style_is_finnish_author_year():
    from pybtex.database import parse_file

    style_mod = importlib.import_module("hbeval_bibstyle")
    entries = parse_file(str(BOOK / "references.bib")).entries
    formatted = {e.key: (e.label, e.text.render_as("text"))
                 for e in style_mod.FinnishStyle().format_entries(entries.values())}
    label, text = formatted["drummond2015"]
    assert label == "Drummond ym. 2015"
    assert text.startswith("Drummond, M. F., Sculpher, M. J., Claxton, K., Stoddart, G. L. & Torrance, G. W. 2015. ")
    assert "4. painos" in text and "edition" not in text
    assert formatted["tuomi2018"][1] == ("Tuomi, J. & Sarajärvi, A. 2018. Laadullinen tutkimus ja "
                                         "sisällönanalyysi. Uudistettu laitos. Helsinki: Tammi.")
    assert formatted["rosenbaum1983"][1].endswith("Biometrika 70 (1), 41–55.")
    # titles keep their case (pybtex's default lower-cases "Suomessa" and project names)
    assert "Suomessa" in formatted["tenk2012"][1]
    assert all(not re.fullmatch(r"[A-Z][A-Za-z+]*\d{2}", lab) for lab, _ in formatted.values())


def test_numbers_do_not_break_across_lines():
    nbsp = importlib.import_module("hbeval_numbers").nbsp_numbers
    assert nbsp("3 450,00 €") == "3\u00a0450,00 €"
    assert nbsp("12 345 678") == "12\u00a0345\u00a0678"
    assert nbsp("vuosina 2017 2018 ja 5 12") == "vuosina 2017 2018 ja 5 12"  # not digit groups


@pytest.mark.parametrize("phase", [p.key for p in CFG.phases])
def test_unit_cost_table_printed_once_per_report(phase):
    """The unit costs are a fact of the report: the appendix holds the table, the strand pages refer to it."""
    from hbeval_lib.strands.costs import sections as ch

    class Rep:
        cfg = CFG

    shown = ch.unit_costs(Rep())
    assert shown.table is None and "liitteessä 2" in shown.text
    assert "| Kustannuserä |" in bookpages.unit_costs_page(CFG, phase).replace("Ryhmä | Kustannuserä", "| Kustannuserä")


def _contrast(a, b) -> float:
    def lum(rgb):
        c = [x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4 for x in rgb[:3]]
        return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]

    hi, lo = sorted([lum(a), lum(b)], reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.mark.parametrize("n", [2, 3, 4, 5, 7])
def test_likert_segments_visible_and_labels_readable(n):
    import seaborn as sns
    from matplotlib.colors import to_rgb

    from hbeval_lib.core import plots

    colors = plots.likert_palette(n)
    for c in colors:
        assert _contrast(c, (1, 1, 1)) > 1.4, c  # every segment stands out from the white page
        label = to_rgb(plots.label_color(c))
        assert _contrast(c, label) >= 4.5, (c, label)  # WCAG AA for the percentages written inside
    # the known-bad palette: PuOr's near-white middle with a white label (as the figures once drew it)
    middle = sns.color_palette("PuOr", 3)[1]
    assert _contrast(middle, (1, 1, 1)) < 1.4 and _contrast(middle, (1, 1, 1)) < 4.5


HTML = BOOK / "_build" / "html"


@pytest.mark.skipif(not (HTML / "loppuraportti" / "kustannukset" / "kaikki.html").exists(),
                    reason="book/_build/html not built (run make book)")
def test_built_html_numbers_do_not_break():
    """No number of the built book has a breakable space between its digit groups (text and tables)."""
    bad = {}
    for page in HTML.rglob("*.html"):
        if page.relative_to(HTML).parts[0].startswith("_"):
            continue
        html = re.sub(r"<(style|script)\b.*?</\1>", "", page.read_text(encoding="utf-8"), flags=re.S)
        hits = re.findall(r">[^<]*?\d [0-9]{3}(?![0-9])[^<]*<", html)
        if hits:
            bad[page.relative_to(HTML).as_posix()] = hits[:2]
    assert bad == {}
