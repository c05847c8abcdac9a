"""The intruder test: an attacker who reads only the published book.

Small hand-made books (HTML pages written the way the book renders its tables: pandas ``to_html`` inside an
``<article>``, one ``<section id=...>`` per heading) plant one leak of each class; the attacker must find it with the
exact value a reader can compute by hand. A safe book with the same structures (nothing pinned to 1..4) shows it can
also pass. The last test attacks the built demo book (the acceptance check of issue 11).
"""

from __future__ import annotations

import html as htmllib
from pathlib import Path

import pandas as pd
import pytest

from hbeval_lib.release import intruder
from hbeval_lib.release.intruder import attack, parse_value, read_book

PHASES = ["lahtotilanne", "valiarviointi", "loppuraportti"]
PILOTS = ["alfa", "beeta"]
NAMES = {"alfa": "Alfa", "beeta": "Beeta", "kaikki": "kaikki pilotit"}


def _table(df: pd.DataFrame, index: bool = True) -> str:
    return f'<div class="cell_output"><div class="output text_html">{df.to_html(index=index)}</div></div>'


def write_page(root, phase, strand, pilot, sections):
    """One page; ``sections`` = list of dicts with ``id``, optional ``text``, ``tables`` (DataFrames, or
    (DataFrame, False) for a table without index) and ``quotes`` ((text, label) pairs)."""
    name = NAMES.get(pilot, pilot.capitalize())
    parts = [f"<html><body><nav>navigation</nav><article><section id='page'><h1>Luku: {name}"
             f"<a class='headerlink'>#</a></h1>"]
    for sec in sections:
        parts.append(f"<section id='{sec['id']}'><h2>{sec['id']}</h2>")
        if sec.get("text"):
            parts.append(f"<p>{htmllib.escape(sec['text'])}</p>")
        for t in sec.get("tables", []):
            df, index = t if isinstance(t, tuple) else (t, True)
            parts.append(_table(df, index))
        for text, label in sec.get("quotes", []):
            parts.append(f"<blockquote><p>”{text}”</p><p>— {label}</p></blockquote>")
        parts.append("</section>")
    parts.append("</section></article></body></html>")
    path = root / phase / strand / f"{pilot}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts), encoding="utf-8")


def counts(rows: dict, columns: list[str], index_name: str) -> pd.DataFrame:
    df = pd.DataFrame.from_dict(rows, orient="index", columns=columns)
    df.index.name = index_name
    return df


def run(root):
    return attack(root, phases=PHASES, pilots=PILOTS, min_count=5, min_n_stat=10)


def found(res, cls):
    return res.findings[res.findings["class"] == cls]


# -- reading ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, kind, value", [
    ("<5", "small", None), ("–", "hidden", None), ("1 234", "int", 1234), ("0,74", "num", 0.74),
    ("−0,04", "num", -0.04), ("8,3 %", "pct", 8.3), ("58 %", "pct", 58), ("84 500 €", "eur", 84500),
    ("994 € (811 € … 1 197 €)", "eur", 994), ("< 0,001", "text", None), ("Pori", "text", None)])
def test_parse_value(text, kind, value):
    v = parse_value(text)
    assert v.kind == kind
    if value is not None:
        assert v.value == pytest.approx(value)


# -- one leak per class ------------------------------------------------------------------------------------------------

def test_margin_recovers_a_small_cell(tmp_path):
    t = counts({"Lapsiperheet": ["<5", "8"], "Vammaispalvelut": ["7", "<5"], "Yhteensä": ["10", "–"]},
               ["HB-asiakkaat", "Verrokkiasiakkaat"], "Asiakasryhmä")
    write_page(tmp_path, "loppuraportti", "wellbeing", "alfa", [{"id": "rekrytointi", "tables": [t]}])
    res = run(tmp_path)
    f = found(res, "pages_add_up")
    assert list(f["cell"]) == ["Lapsiperheet × HB-asiakkaat [<5]"]
    assert list(f["value"]) == ["3"]
    assert "marginaali" in f["how"].iloc[0]


def test_all_pilots_page_minus_the_other_pilot(tmp_path):
    for pilot, v in [("kaikki", "9"), ("alfa", "<5"), ("beeta", "7")]:
        t = counts({"kyllä": [v]}, ["Vastaajia"], "Oli HB-avustaja")
        write_page(tmp_path, "loppuraportti", "wellbeing", pilot, [{"id": "kysely", "tables": [t]}])
    f = found(run(tmp_path), "pages_add_up")
    assert list(zip(f["pages"], f["value"])) == [("loppuraportti/wellbeing/alfa", "2")]
    assert "kaikki = Σ pilotit" in f["how"].iloc[0]


def test_kaikki_table_with_a_row_per_pilot(tmp_path):
    t = counts({"Alfa": ["12"], "Beeta": ["20"]}, ["Asiakkaita"], "")
    write_page(tmp_path, "loppuraportti", "service_process", "kaikki", [{"id": "hankinnat", "tables": [t]}])
    t = counts({"Lapsiperheet": ["<5"], "Vammaispalvelut": ["10"]}, ["Asiakkaita"], "")
    write_page(tmp_path, "loppuraportti", "service_process", "alfa", [{"id": "hankinnat", "tables": [t]}])
    f = found(run(tmp_path), "pages_add_up")
    assert list(zip(f["pages"], f["cell"], f["value"])) == [
        ("loppuraportti/service_process/alfa", "Lapsiperheet × Asiakkaita [<5]", "2")]


def test_same_count_printed_in_text_and_table(tmp_path):
    t = counts({"Lapsiperheet": ["<5"], "Vammaispalvelut": ["5"], "Yhteensä": ["–"]}, ["HB-asiakkaat"], "Ryhmä")
    write_page(tmp_path, "loppuraportti", "wellbeing", "alfa", [
        {"id": "rekrytointi", "text": "Arvioinnissa on mukana 30 asiakasta: HB-asiakkaita 8 ja verrokkiasiakkaita 22.",
         "tables": [t]}])
    f = found(run(tmp_path), "pages_add_up")
    assert list(zip(f["cell"], f["value"])) == [("Lapsiperheet × HB-asiakkaat [<5]", "3")]
    assert "sama luku kahdesti" in f["how"].iloc[0]


def test_cumulative_phases_difference_to_newcomers(tmp_path):
    for phase, v in [("valiarviointi", ("10", "12")), ("loppuraportti", ("12", "20"))]:
        t = counts({"HB": [v[0]], "Verrokki": [v[1]]}, ["Asiakkaita"], "Ryhmä")
        write_page(tmp_path, phase, "wellbeing", "alfa", [{"id": "rekrytointi", "tables": [t]}])
    f = found(run(tmp_path), "phase_difference")
    assert list(zip(f["cell"], f["value"])) == [("HB × Asiakkaita (valiarviointi → loppuraportti)", "2")]


def test_hidden_cell_pinned_through_the_phases(tmp_path):
    # all pilots 12 → 13 (one newcomer, printed), alfa 6 → 6, beeta 6 → hidden: the LP pins beeta's newcomer
    for phase, kaikki, alfa, beeta in [("valiarviointi", "12", "6", "6"), ("loppuraportti", "13", "6", "–")]:
        for pilot, v in [("kaikki", kaikki), ("alfa", alfa), ("beeta", beeta)]:
            t = counts({"Omaishoito": [v]}, ["Asiakkaita"], "Asiakasryhmä")
            write_page(tmp_path, phase, "service_process", pilot, [{"id": "hankinnat", "tables": [t]}])
    res = run(tmp_path)
    f = found(res, "phase_difference")
    assert list(zip(f["pages"], f["value"])) == [
        ("loppuraportti/service_process/beeta; valiarviointi/service_process/beeta", "1"),
        ("loppuraportti/service_process/kaikki; valiarviointi/service_process/kaikki", "1")]
    assert "erotus – − 6" in f["how"].iloc[0] and "erotus 13 − 12" in f["how"].iloc[1]
    assert found(res, "pages_add_up").empty          # the hidden cell itself is 7, not a small count


def test_percent_of_a_known_arm_is_a_count(tmp_path):
    bal = pd.DataFrame([["Ikä", "", "33,1", "35,2", "−0,10"],
                        ["Sukupuoli", "mies", "40,0 %", "50,0 %", "−0,20"],
                        ["Sukupuoli", "muu", "2,0 %", "0,0 %", "0,20"],
                        ["Sukupuoli", "nainen", "58,0 %", "50,0 %", "0,16"]],
                       columns=["Muuttuja", "Luokka", "HB", "Verrokki", "SMD"])
    write_page(tmp_path, "loppuraportti", "wellbeing", "kaikki", [
        {"id": "rekrytointi",
         "text": "Arvioinnissa on mukana 70 asiakasta: HB-asiakkaita 50 ja verrokkiasiakkaita 20."},
        {"id": "vertailukelpoisuus", "tables": [(bal, False)]}])
    f = found(run(tmp_path), "percent_n")
    assert list(zip(f["cell"], f["value"])) == [("Sukupuoli | muu × HB", "1")]
    assert "n ∈ [50]" in f["how"].iloc[0]


def _balance(age, shares):
    rows = [["Ikä", "", age[0], age[1], "0,00"]]
    for lab, hb, ver in shares:
        rows.append(["Sukupuoli", lab, hb, ver, "0,00"])
    return pd.DataFrame(rows, columns=["Muuttuja", "Luokka", "HB", "Verrokki", "SMD"])


def test_newcomer_profiled_by_differencing_phases(tmp_path):
    # interim: 20 HB (mies 8, nainen 12), mean age 30,0; final: 21 HB (mies 8, nainen 12, muu 1), mean age 31,0
    # -> the one newcomer is 'muu' and (21 × 31,0 − 20 × 30,0) / 1 = 51 years old
    for phase, age, shares, n in [
            ("valiarviointi", ("30,0", "40,0"), [("mies", "40,0 %", "50,0 %"), ("muu", "0,0 %", "0,0 %"),
                                                   ("nainen", "60,0 %", "50,0 %")], 20),
            ("loppuraportti", ("31,0", "40,0"), [("mies", "38,1 %", "50,0 %"), ("muu", "4,8 %", "0,0 %"),
                                                   ("nainen", "57,1 %", "50,0 %")], 21)]:
        write_page(tmp_path, phase, "wellbeing", "alfa", [
            {"id": "rekrytointi", "text": f"Arvioinnissa on mukana {n + 20} asiakasta: HB-asiakkaita {n} ja "
                                          f"verrokkiasiakkaita 20."},
            {"id": "vertailukelpoisuus", "tables": [(_balance(age, shares), False)]}])
    res = run(tmp_path)
    d = found(res, "phase_difference")
    assert set(zip(d["cell"], d["value"])) == {("Sukupuoli | muu × HB (valiarviointi → loppuraportti)", "1"),
                                               ("HB × n (valiarviointi → loppuraportti)", "1"),       # the text
                                               ("Yhteensä × n (valiarviointi → loppuraportti)", "1")}
    c = found(res, "complement")
    assert list(c["cell"]) == ["Ikä × HB (valiarviointi → loppuraportti)"]
    assert c["value"].iloc[0].startswith("51.00 ±") and c["value"].iloc[0].endswith("(n = 1)")


def test_hidden_pilot_is_kaikki_minus_the_pilots_shown(tmp_path):
    # kaikki: 30 verrokki (mies 12 = 40,0 %), alfa shows 24 (mies 9 = 37,5 %); beeta hidden: 6 persons, 3 men,
    # mean age (30 × 40,0 − 24 × 41,0) / 6 = 36,0
    write_page(tmp_path, "loppuraportti", "wellbeing", "kaikki", [
        {"id": "rekrytointi", "text": "HB-asiakkaita 50 ja verrokkiasiakkaita 30."},
        {"id": "vertailukelpoisuus", "tables": [(_balance(("35,0", "40,0"), [("mies", "40,0 %", "40,0 %"),
                                                                            ("nainen", "60,0 %", "60,0 %")]), False)]}])
    write_page(tmp_path, "loppuraportti", "wellbeing", "alfa", [
        {"id": "rekrytointi", "text": "HB-asiakkaita 40 ja verrokkiasiakkaita 24."},
        {"id": "vertailukelpoisuus", "tables": [(_balance(("35,0", "41,0"), [("mies", "40,0 %", "37,5 %"),
                                                                            ("nainen", "60,0 %", "62,5 %")]), False)]}])
    res = run(tmp_path)
    p = found(res, "percent_n")
    # HB: 50 − 40 = 10 in beeta, 20 − 16 = 4 of them men
    assert list(zip(p["cell"], p["value"])) == [("beeta: Sukupuoli | mies × HB", "4"),
                                                ("beeta: Sukupuoli | mies × Verrokki", "3"),
                                                ("beeta: Sukupuoli | nainen × Verrokki", "3")]
    c = found(res, "complement")
    assert list(c["cell"]) == ["beeta: Ikä × Verrokki"]
    assert c["value"].iloc[0].startswith("36.00 ±") and c["value"].iloc[0].endswith("(n = 6)")
    assert "HB" not in " ".join(c["cell"])          # 10 HB clients in beeta: not below the threshold


def test_share_beside_a_hidden_count(tmp_path):
    t = counts({"kyllä": ["7", "58 %"], "ei": ["<5", "25 %"], "en osaa sanoa": ["<5", "–"]},
               ["Vastaajia", "Osuus"], "Valitsisi HB-mallin")
    write_page(tmp_path, "loppuraportti", "wellbeing", "alfa", [{"id": "kysely", "tables": [t]}])
    f = found(run(tmp_path), "percent_n")
    assert list(zip(f["cell"], f["value"])) == [("ei × Vastaajia", "3")]


def test_yes_no_answers_add_up_to_the_share_denominator(tmp_path):
    # 8 = 67 % → 12 respondents; the yes/no answers add up to them: kyllä = 12 − 8 = 4
    t = counts({"kyllä": ["<5", "–"], "ei": ["8", "67 %"]}, ["Vastaajia", "Osuus"], "Oli HB-avustaja")
    write_page(tmp_path, "loppuraportti", "wellbeing", "alfa", [{"id": "kysely", "tables": [t]}])
    f = found(run(tmp_path), "pages_add_up")
    assert list(zip(f["cell"], f["value"])) == [("kyllä × Vastaajia [<5]", "4")]
    assert "osuuksien nimittäjä" in f["how"].iloc[0]


def _change(n, est):
    return pd.DataFrame([["Yleinen hyvinvointi", "Muutos (loppu − alku)", "HB", n, est]],
                        columns=["Mittari", "Analyysi", "Ryhmä", "n", "Estimaatti"])


def test_complement_pilot_mean_from_kaikki(tmp_path):
    for pilot, n, est in [("kaikki", "30", "0,50"), ("alfa", "24", "0,40"), ("beeta", "–", "–")]:
        write_page(tmp_path, "loppuraportti", "wellbeing", pilot,
                   [{"id": "muutos", "tables": [(_change(n, est), False)]}])
    f = found(run(tmp_path), "complement")
    assert len(f) == 1
    # (30 × 0.50 − 24 × 0.40) / 6 = 0.90, from a group of 6 persons
    assert f["value"].iloc[0].startswith("0.90 ±") and f["value"].iloc[0].endswith("(n = 6)")
    assert "beeta" in f["cell"].iloc[0]


def test_complement_assistant_yes_from_hb_total(tmp_path):
    sub = pd.DataFrame([["Yleinen hyvinvointi", "kyllä", "–", "–"], ["Yleinen hyvinvointi", "ei", "20", "0,30"]],
                       columns=["Osa-alue", "Avustaja", "n", "Muutos"])
    write_page(tmp_path, "loppuraportti", "wellbeing", "alfa", [
        {"id": "muutos", "tables": [(_change("24", "0,40"), False)]},
        {"id": "avustaja", "tables": [(sub, False)]}])
    f = found(run(tmp_path), "complement")
    # (24 × 0.40 − 20 × 0.30) / 4 = 0.90
    assert list(f["cell"]) == ["Yleinen hyvinvointi | kyllä × Muutos"]
    assert f["value"].iloc[0].startswith("0.90 ±") and f["value"].iloc[0].endswith("(n = 4)")


def test_euro_sums_with_few_contributors(tmp_path):
    for phase, budget, mean in [("valiarviointi", "50 000 €", "5 000 €"),
                                ("loppuraportti", "56 000 €", "5 091 €")]:
        t = counts({"Sovitut budjetit yhteensä": [budget, mean], "– tuottaja: Muu": ["9 000 €", "3 000 €"]},
                   ["Euroa", "Keskimäärin / asiakas"], "Erä")
        write_page(tmp_path, phase, "costs", "alfa", [{"id": "budjetit", "tables": [t]}])
    f = found(run(tmp_path), "euro_contributors")
    values = sorted(f["value"])
    assert values == ["6 000 € / 1 uutta asiakasta", "9 000 € / 3 asiakasta", "9 000 € / 3 asiakasta"]


def test_statistic_beside_its_small_n(tmp_path):
    write_page(tmp_path, "loppuraportti", "wellbeing", "alfa",
               [{"id": "muutos", "tables": [(_change("6", "0,55"), False)]}])
    f = found(run(tmp_path), "small_statistic")
    assert list(f["value"]) == ["0,55 (n = 6)"]


def test_printed_small_count_and_quote_from_a_small_group(tmp_path):
    docs = counts({"Dokumentteja": ["<5", "12"]}, ["Asiakkaat, väli", "Työntekijät, väli"], "")
    docs2 = counts({"kyllä": ["3"]}, ["Vastaajia"], "Oli HB-avustaja")
    write_page(tmp_path, "valiarviointi", "service_process", "kaikki", [
        {"id": "paivakirjat", "tables": [docs, docs2],
         "quotes": [("Jonot olivat pitkät.", "Asiakkaat, väli (Teema)")]}])
    res = run(tmp_path)
    assert list(found(res, "published_small_count")["value"]) == ["3"]
    q = found(res, "quote")
    assert len(q) == 1 and "Asiakkaat, väli" in q["how"].iloc[0]


# -- a safe book: the same structures, nothing pinned to a small count -------------------------------------------------

def test_safe_book_recovers_nothing(tmp_path):
    # margins with two hidden cells in every row and column (each pair could be 1+9 … 5+5)
    t = counts({"Lapsiperheet": ["<5", "<5", "6"], "Vammaispalvelut": ["<5", "<5", "6"], "Yhteensä": ["6", "6", "12"]},
               ["HB-asiakkaat", "Verrokkiasiakkaat", "Yhteensä"], "Asiakasryhmä")
    bal = pd.DataFrame([["Sukupuoli", "mies", "40,0 %", "50,0 %"], ["Sukupuoli", "nainen", "60,0 %", "50,0 %"]],
                       columns=["Muuttuja", "Luokka", "HB", "Verrokki"])
    for phase in ["valiarviointi", "loppuraportti"]:
        grow = phase == "loppuraportti"
        for pilot in ["kaikki", "alfa", "beeta"]:
            cov = counts({"HB": ["25" if grow else "20"], "Verrokki": ["20"]}, ["Asiakkaita"], "Ryhmä")
            if pilot == "kaikki":
                cov = counts({"HB": ["50" if grow else "40"], "Verrokki": ["40"]}, ["Asiakkaita"], "Ryhmä")
            sections = [{"id": "rekrytointi", "tables": [cov]},
                        {"id": "muutos", "tables": [(_change("–" if pilot == "beeta" else ("30" if pilot == "kaikki"
                                                             else "18"),
                                                             "–" if pilot == "beeta" else "0,40"), False)]}]
            if pilot == "alfa":
                sections.append({"id": "ryhmat", "tables": [t]})
                sections.append({"id": "kysely", "tables": [counts({"kyllä": ["7", "58 %"], "ei": ["5", "42 %"]},
                                                                  ["Vastaajia", "Osuus"], "Oli HB-avustaja")]})
            if pilot == "kaikki":
                sections.append({"id": "vertailu", "text": "HB-asiakkaita 50 ja verrokkiasiakkaita 40.",
                                 "tables": [(bal, False)]})
            write_page(tmp_path, phase, "wellbeing", pilot, sections)
    res = run(tmp_path)
    assert res.ok, res.findings.to_string()
    assert "ei palautunut" in res.summary()


def test_inconsistent_margin_is_not_trusted(tmp_path):
    # the printed Yhteensä does not add up (11 ≠ 7 + 5): a reader cannot rely on it, so <5 stays unknown
    t = counts({"A": ["<5"], "B": ["7"], "C": ["5"], "Yhteensä": ["11"]}, ["n"], "Ryhmä")
    t2 = counts({"A": ["6"], "B": ["7"], "Yhteensä": ["11"]}, ["n"], "Ryhmä")
    write_page(tmp_path, "loppuraportti", "wellbeing", "alfa",
               [{"id": "x", "tables": [t]}, {"id": "y", "tables": [t2]}])
    res = run(tmp_path)
    assert found(res, "pages_add_up").empty


def test_deterministic(tmp_path):
    test_hidden_cell_pinned_through_the_phases(tmp_path)
    a, b = run(tmp_path).findings, run(tmp_path).findings
    pd.testing.assert_frame_equal(a, b)


# -- hbeval check-privacy --------------------------------------------------------------------------------------------

def test_check_privacy_runs_the_intruder(tmp_path, capsys):
    from hbeval_lib.cli import main

    raw = tmp_path / "raw"
    raw.mkdir()
    html = tmp_path / "book" / "_build" / "html"
    t = counts({"Lapsiperheet": ["<5"], "Vammaispalvelut": ["7"], "Yhteensä": ["10"]}, ["HB-asiakkaat"], "Ryhmä")
    write_page(html, "loppuraportti", "wellbeing", "eksote", [{"id": "rekrytointi", "tables": [t]}])
    assert main(["check-privacy", str(tmp_path / "book" / "_build"), "--raw", str(raw)]) == 1
    out = capsys.readouterr()
    assert "intruder: pages_add_up: loppuraportti/wellbeing/eksote" in out.out and "= 3 (" in out.out
    assert "Tunkeutujatesti: 1 paljastusta" in out.err
    assert main(["check-privacy", str(tmp_path / "book"), "--raw", str(raw), "--intruder", "warn"]) == 0
    assert main(["check-privacy", str(html), "--raw", str(raw), "--intruder", "off"]) == 0
    # a safe page passes
    t = counts({"Lapsiperheet": ["<5"], "Vammaispalvelut": ["<5"], "Yhteensä": ["10"]}, ["HB-asiakkaat"], "Ryhmä")
    write_page(html, "loppuraportti", "wellbeing", "eksote", [{"id": "rekrytointi", "tables": [t]}])
    assert main(["check-privacy", str(html), "--raw", str(raw)]) == 0


# -- the built demo book (issue 11's acceptance check) ---------------------------------------------------------------

@pytest.fixture(scope="module")
def demo_html(demo_book):
    """The session's demo book (tests/conftest.py: built once, as `make book` builds it)."""
    return Path(demo_book["book"]) / "_build" / "html"


@pytest.mark.slow
def test_demo_book_recovers_nothing(demo_html):
    res = intruder.attack(demo_html)
    assert res.ok, res.summary() + "\n" + res.findings.head(40).to_string()


def test_alle_n_in_running_text_is_a_small_count():
    """'alle 5 verrokkiasiakasta' (report.counted) is read as '<5', not as five clients: reading it as 5 made the
    sweep's intruder report a false phase difference (seed 19, 300 clients)."""
    from hbeval_lib.release import intruder as I

    tab = I._text_table(("valiarviointi", "costs", "pori"), "s",
                        "Analyysissä on mukana 12 HB-asiakasta ja alle 5 verrokkiasiakasta (ryhmien kokoja ...).")
    assert dict(zip([r[0] for r in tab.rows], [v[0] for v in tab.values])) == {"HB": "12", "verrokki": "<5"}
    assert [v[0].kind for v in tab.parsed()] == ["int", "small"]


def test_rows_left_out_by_the_note_are_read_as_hidden(tmp_path):
    """A table leaves out rows whose every number is hidden and names them in a note under it; a reader knows they
    exist (and are hidden). Read as rows of '–' the table's total no longer equals its shown rows' sum, so the
    'Yhteensä' relation holds and is used: here the left-out row's count follows from it (a row left out is not a
    row that is not there). Without the note the relation is contradicted and dropped (known bad: nothing found)."""
    t = counts({"Lapsiperheet": ["12", "8"], "Yhteensä": ["15", "8"]},
               ["HB-asiakkaat", "Verrokkiasiakkaat"], "Asiakasryhmä")
    note = ('<p class="hbeval-note"><em>Taulukosta on jätetty pois rivit, joiden kaikki luvut on peitetty '
            'tietosuojan vuoksi: Omaishoito.</em></p>')
    write_page(tmp_path, "loppuraportti", "wellbeing", "alfa", [{"id": "rekrytointi", "tables": [t]}])
    assert found(run(tmp_path), "pages_add_up").empty
    path = tmp_path / "loppuraportti" / "wellbeing" / "alfa.html"
    path.write_text(path.read_text(encoding="utf-8").replace("</table>", "</table>" + note), encoding="utf-8")
    book = read_book(tmp_path, PHASES)
    (tab,) = [x for x in book.tables if x.source == "html"]
    assert ("Omaishoito",) in tab.rows and tab.values[tab.rows.index(("Omaishoito",))] == ["–", "–"]
    f = found(run(tmp_path), "pages_add_up")
    assert list(f["value"]) == ["3"] and "Omaishoito" in f["cell"].iloc[0]


def test_a_share_of_euros_beside_a_count_is_not_a_share_of_persons(tmp_path):
    """Seen on an unseen set (seed 71, 90 clients): a payment-method table prints clients and "Osuus euroista"; the
    reader took 10 clients at 53 % of the euros as 10 of 19 persons and "pinned" a hidden count at 21 % × 19 = 4.
    A share of euros is not a share of the persons counted beside it."""
    rows = {"Maksusitoumus": ["10", "53 %"], "Palveluseteli": ["–", "21 %"], "Maksukortti": ["8", "–"]}
    t = counts(rows, ["Asiakkaita", "Osuus euroista"], "Maksutavat")
    write_page(tmp_path, "loppuraportti", "service_process", "alfa", [{"id": "maksutavat", "tables": [t]}])
    assert found(run(tmp_path), "percent_n").empty
    # known bad: the same table with a share of persons is an attack (10 of 19 → 21 % of 19 = 4)
    t = counts(rows, ["Asiakkaita", "Osuus"], "Maksutavat")
    write_page(tmp_path, "loppuraportti", "service_process", "alfa", [{"id": "maksutavat", "tables": [t]}])
    f = found(run(tmp_path), "percent_n")
    assert list(zip(f["cell"], f["value"])) == [("Palveluseteli × Asiakkaita", "4")]


def test_columns_left_out_by_the_note_are_read_as_hidden(tmp_path):
    """Like rows: a column of dashes left out (readable.trimmed) is named in the note; read as a column of '–' the
    row's total less the shown columns is that column's count (known bad: here 3 — without the note the total
    contradicts its shown columns and the relation is dropped). A column of dashes is read as counts when its
    header says so, as when it was printed."""
    t = counts({"Lapsiperheet": ["12", "15"], "Omaishoito": ["9", "9"]}, ["n (HB)", "Yhteensä"], "Ryhmä")
    write_page(tmp_path, "loppuraportti", "wellbeing", "alfa", [{"id": "rekrytointi", "tables": [t]}])
    assert found(run(tmp_path), "pages_add_up").empty
    note = ('<p class="hbeval-note"><em>Taulukosta on jätetty pois rivit, joiden kaikki luvut on peitetty '
            'tietosuojan vuoksi: Muut. Taulukosta on jätetty pois sarakkeet, joiden kaikki luvut on peitetty '
            'tietosuojan vuoksi: n (verrokki).</em></p>')
    path = tmp_path / "loppuraportti" / "wellbeing" / "alfa.html"
    path.write_text(path.read_text(encoding="utf-8").replace("</table>", "</table>" + note), encoding="utf-8")
    book = read_book(tmp_path, PHASES)
    (tab,) = [x for x in book.tables if x.source == "html"]
    assert ("Muut",) in tab.rows and "n (verrokki)" in tab.columns
    assert tab.values[tab.rows.index(("Lapsiperheet",))] == ["12", "15", "–"]
    f = found(run(tmp_path), "pages_add_up")
    assert "3" in list(f["value"]) and any("n (verrokki)" in c for c in f["cell"])
