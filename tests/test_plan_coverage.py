"""docs/plan_coverage.md maps every plan item to a place in the final report (or says why the data cannot answer
it): no row is "missing", every status is one of the three, and the places it names exist in the notebooks."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "plan_coverage.md"
STATUSES = ("vastattu", "osittain", "ei aineistosta")


def _rows(text: str) -> list[list[str]]:
    rows = []
    for line in text.splitlines():
        if re.match(r"^\| \d+\.\d+ \|", line):
            rows.append([c.strip() for c in line.strip().strip("|").split("|")])
    return rows


def test_every_row_has_a_place_and_a_status():
    rows = _rows(DOC.read_text(encoding="utf-8"))
    assert len(rows) >= 60
    for r in rows:
        status = r[-1]
        assert status.startswith(STATUSES), r
        assert "missing" not in status.lower() and "puuttuu" not in status.lower(), r
        where = r[-2]
        # a row without a place says why the data cannot answer it
        assert where != "—" or status.startswith("ei aineistosta"), r
        if status.startswith(("osittain", "ei aineistosta")):
            assert ":" in status, f"row {r[0]}: say what is missing or why"


def test_rows_are_numbered_uniquely():
    ids = [r[0] for r in _rows(DOC.read_text(encoding="utf-8"))]
    assert len(ids) == len(set(ids))


def test_named_sections_exist_in_the_notebooks():
    doc = DOC.read_text(encoding="utf-8")
    headings = {h.strip() for nb in (REPO / "notebooks").glob("*.md")
                for h in re.findall(r"^#{2,3} (.+)$", nb.read_text(encoding="utf-8"), flags=re.M)}
    named = ["Mitä HB-asiakkaat hankkivat ja keneltä", "Kykyviisarin muutos", "Osallisuustesti", "Asiakaskysely",
             "Kehittämistyön itsearviointi", "Voimavarojen käyttö", "Kustannukset maksajittain", "Kustannusvaikuttavuus",
             "HB-avustajan merkitys", "Päiväkirjat ja työpajat", "HB-avustajat", "Erotukset ryhmien välillä"]
    for name in named:
        assert name in doc and any(h.startswith(name) for h in headings), name
    assert any(h.startswith("Millä edellytyksillä HB-toimintamalli on Suomessa toteutettavissa") for h in headings)


def test_a_missing_row_would_fail():
    bad = "| 9.9 | jokin kysymys | — | missing |"
    r = _rows(bad)[0]
    assert not r[-1].startswith(STATUSES)
