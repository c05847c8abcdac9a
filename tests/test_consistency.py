"""The reader's consistency check (hbeval_lib.release.consistency): one fact, one value.

Small synthetic books: HTML pages laid out as the built book (``<phase>/<strand folder>/<pilot>.html``, the article
with sections and tables) and a results.csv with planted values; each known-bad variant must be rejected with the
right finding, and the good book must pass.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from hbeval_lib.release import consistency

COLUMNS = ["strand", "phase", "pilot", "key", "label", "estimate", "ci_low", "ci_high", "n", "p_value", "suppressed"]
THIN = "\u202f"

# planted truth: the primary effect 0.9213 (0.4012 … 1.2468) on 175 persons; the incremental cost 305.186 €
# (225.218 … 385.154) on 175; a per-clienthood cost 3111.11 (2214.92 … 4007.3); a suppressed row; a row without CI
ROWS = [
    ["wellbeing", "loppuraportti", "kaikki", "osallisuus.adjusted_diff", "Ero", "0.9213", "0.4012", "1.2468", "175",
     "0.001", "False"],
    ["wellbeing", "loppuraportti", "kaikki", "osallisuus.change.hb", "Muutos HB", "1.39877", "1.10811", "1.68942", "",
     "", "False"],
    ["wellbeing", "loppuraportti", "kaikki", "taidot.change.hb", "Muutos HB", "", "", "", "", "", "True"],
    ["wellbeing", "loppuraportti", "kaikki", "recruitment.n.hb", "HB", "98", "", "", "", "", "False"],
    ["costs", "loppuraportti", "kaikki", "costs.incremental", "Lisäkustannus", "305.186", "225.218", "385.154", "175",
     "", "False"],
    ["costs", "loppuraportti", "kaikki", "costs.incremental_clienthood", "Lisäkustannus / asiakkuus", "3111.11",
     "2214.92", "4007.3", "175", "", "False"],
]


def _page(title: str, body: str) -> str:
    return (f"<html><body><nav>0,11 (0,22 … 0,33)</nav><main><article><h1>{title}</h1>{body}</article></main>"
            "</body></html>")


def _table(head: list[str], rows: list[list[str]]) -> str:
    th = "".join(f"<th>{h}</th>" for h in head)
    trs = "".join("<tr><th>" + r[0] + "</th>" + "".join(f"<td>{c}</td>" for c in r[1:]) + "</tr>" for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{trs}</tbody></table>"


def wellbeing_page(effect="0,92", effect_n="175", text_effect="0,92") -> str:
    return _page("Hyvinvointi: kaikki", (
        "<section id='ero'><h2>Ero</h2>"
        + _table(["Mittari", "n", "Ero", "95 % LV"], [["Osallisuus", effect_n, effect, "0,40 … 1,25"]])
        + f"<p>Ero oli {text_effect} pistettä enemmän kuin verrokkien (95 %:n luottamusväli 0,40 … 1,25).</p>"
        + "</section><section id='muutos'><h2>Muutos</h2>"
        + _table(["Osa-alue", "Ryhmä", "Muutos (95 % LV)"], [["Osallisuus", "HB", "1,40 (1,11 … 1,69)"],
                                                            ["Taidot", "HB", "–"]])
        + "</section>"))


def costs_page(incremental="305") -> str:
    return _page("Kustannukset: kaikki", (
        "<section id='erot'><h2>Erot</h2>"
        f"<p>HB-asiakkaiden kustannukset olivat {incremental} € (95 %:n luottamusväli 225 € … 385 €) suuremmat.</p>"
        + _table(["Erotus", "Arvo"], [["Kustannus, € / asiakkuus", f"3{THIN}111 (2{THIN}215 … 4{THIN}007)"]])
        + "</section>"))


def synthesis_page(value="0,92", persons="175") -> str:
    return _page("Synteesi", (
        "<section id='vaikutukset'><h2>Tavoitellut vaikutukset</h2>"
        + _table(["Tunnusluku", "Arvo", "95 % LV", "Henkilöitä"],
                 [["Osallisuus: HB − verrokki", value, "0,40 … 1,25", persons],
                  ["Kustannusero HB − verrokki (€)", "305", "225 … 385", "175"]])
        + "</section>"))


def add_row(page: str, cells: list[str], table: int = -1) -> str:
    """``page`` with a row (label, values…) added to its first (0) or last (-1) table."""
    tr = "<tr><th>" + cells[0] + "</th>" + "".join(f"<td>{c}</td>" for c in cells[1:]) + "</tr>"
    parts = page.split("</tbody>")
    i = table if table >= 0 else len(parts) - 2
    parts[i] += tr
    return "</tbody>".join(parts)


def write_book(root: Path, rows=ROWS, wellbeing=None, costs=None, synthesis=None, extra=None) -> tuple[Path, Path]:
    html = root / "_build" / "html"
    pages = {"loppuraportti/hyvinvointi/kaikki.html": wellbeing or wellbeing_page(),
             "loppuraportti/kustannukset/kaikki.html": costs or costs_page(),
             "loppuraportti/synteesi/kaikki.html": synthesis or synthesis_page(),
             **(extra or {})}
    for rel, text in pages.items():
        (html / rel).parent.mkdir(parents=True, exist_ok=True)
        (html / rel).write_text(text, encoding="utf-8")
    res = root / "results.csv"
    with res.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        w.writerows(rows)
    return html, res


def checks(findings) -> list[str]:
    return sorted(f["check"] for f in findings)


def test_good_book_passes(tmp_path):
    html, res = write_book(tmp_path)
    occ = consistency.read_occurrences(html)
    # the reader found every printed interval (tables, text with the estimate before the parenthesis, euros with
    # thin-space thousands) and nothing from the navigation outside the article
    shown = sorted(o.shown() for o in occ)
    assert "0,92 (0,40 … 1,25), n = 175" in shown and "0,92 (0,40 … 1,25)" in shown
    assert "3111 (2215 … 4007)" in shown and "305 (225 … 385)" in shown
    assert not any("0,22" in s for s in shown)
    found = consistency.check(html, res)
    assert found == [], consistency.summary(found)
    assert "yhdellä arvolla" in consistency.summary(found)


def test_synthesis_with_another_estimate_is_rejected(tmp_path):
    # the table says 0,92 (0,40 … 1,25), the synthesis 0,93 (0,40 … 1,25)
    html, res = write_book(tmp_path, synthesis=synthesis_page(value="0,93"))
    found = consistency.check(html, res)
    assert checks(found) == ["across_pages", "synthesis"]
    across = next(f for f in found if f["check"] == "across_pages")
    assert across["fact"] == "(0,40 … 1,25)"
    assert any(v.startswith("0,92") for v in across["values"]) and any(v.startswith("0,93") for v in
                                                                        across["values"])
    assert "loppuraportti/synteesi/kaikki.html" in across["pages"]
    assert "sama luottamusväli eri estimaatilla" in consistency.summary(found)


def test_page_table_with_another_estimate_is_one_fact_two_values(tmp_path):
    html, res = write_book(tmp_path, wellbeing=wellbeing_page(effect="0,93"))
    found = consistency.check(html, res)
    assert "two_values" in checks(found) and "across_pages" in checks(found)
    two = next(f for f in found if f["check"] == "two_values")
    assert two["pages"] == ["loppuraportti/hyvinvointi/kaikki.html"]
    assert two["fact"] == "loppuraportti/kaikki:wellbeing.osallisuus.adjusted_diff"


def test_estimate_at_another_rounding_than_its_interval_is_rejected(tmp_path):
    html, res = write_book(tmp_path, wellbeing=wellbeing_page(effect="0,9", text_effect="0,9"))
    found = consistency.check(html, res)
    assert "results_on_page" in checks(found)


def test_results_row_printed_nowhere_on_its_page_is_rejected(tmp_path):
    rows = ROWS + [["wellbeing", "loppuraportti", "kaikki", "mielen_hyvinvointi.adjusted_diff", "Ero", "0.809307",
                    "0.356378", "1.26224", "175", "", "False"]]
    html, res = write_book(tmp_path, rows=rows)
    found = consistency.check(html, res)
    assert checks(found) == ["results_on_page"]
    assert found[0]["fact"] == "loppuraportti/kaikki:wellbeing.mielen_hyvinvointi.adjusted_diff"
    assert found[0]["values"][0] == "0,81 (0,36 … 1,26), n = 175"
    # … and a row whose page does not exist
    rows = ROWS + [["wellbeing", "loppuraportti", "pori", "osallisuus.change.hb", "Muutos HB", "1.2", "0.5", "1.9",
                    "", "", "False"]]
    html, res = write_book(tmp_path / "b", rows=rows)
    assert checks(consistency.check(html, res)) == ["results_on_page"]


def test_euro_estimate_printed_with_another_value_is_rejected(tmp_path):
    html, res = write_book(tmp_path, costs=costs_page(incremental="306"))
    found = consistency.check(html, res)
    assert "two_values" in checks(found)
    assert any(f["fact"].endswith("costs.incremental") for f in found)


def test_n_that_differs_is_rejected(tmp_path):
    html, res = write_book(tmp_path, wellbeing=wellbeing_page(effect_n="130"))
    found = consistency.check(html, res)
    assert checks(found) == ["n"]
    assert found[0]["values"] == ["n = 175", "sivulla n = 130"]
    html, res = write_book(tmp_path / "b", synthesis=synthesis_page(persons="173"))
    found = consistency.check(html, res)
    assert checks(found) == ["synthesis"]     # the synthesis is not the row's own page: its own check
    assert any("Henkilö" in f["how"] or "henkilömäärä" in f["how"] for f in found if f["check"] == "synthesis")


def test_synthesis_row_that_is_no_results_row_is_rejected(tmp_path):
    page = add_row(synthesis_page(), ["Keksitty", "0,55", "0,12 … 0,98", "175"])
    html, res = write_book(tmp_path, synthesis=page)
    found = consistency.check(html, res)
    assert checks(found) == ["synthesis"]
    assert found[0]["values"] == ["0,55 (0,12 … 0,98), n = 175"]


def test_two_facts_whose_intervals_coincide_are_not_one_fact(tmp_path):
    # a sensitivity analysis 0,85 (0,40 … 1,25) beside the main 0,92 (0,40 … 1,25): both are results rows
    rows = ROWS + [["wellbeing", "loppuraportti", "kaikki", "osallisuus.ancova_diff", "ANCOVA", "0.8512", "0.3988",
                    "1.2531", "130", "", "False"]]
    page = add_row(wellbeing_page(), ["Osallisuus (ANCOVA)", "130", "0,85", "0,40 … 1,25"], table=0)
    html, res = write_book(tmp_path, rows=rows, wellbeing=page)
    assert consistency.check(html, res) == []
    # … but a third estimate with that interval that no results row explains is a finding
    page2 = add_row(page, ["Osallisuus (muu)", "130", "0,88", "0,40 … 1,25"], table=0)
    html, res = write_book(tmp_path / "b", rows=rows, wellbeing=page2)
    assert "across_pages" in checks(consistency.check(html, res))


def test_a_written_tie_accepts_both_neighbours_but_nothing_else(tmp_path):
    rows = ROWS + [["wellbeing", "loppuraportti", "kaikki", "tyo.change.hb", "Muutos", "1.075", "0.525004", "1.625",
                    "", "", "False"]]
    for printed, ok in (("1,08 (0,53 … 1,62)", True), ("1,08 (0,53 … 1,63)", True), ("1,08 (0,53 … 1,61)", False),
                        ("1,07 (0,53 … 1,62)", True), ("1,06 (0,53 … 1,62)", False)):
        page = add_row(wellbeing_page(), ["Työ", "HB", printed])
        html, res = write_book(tmp_path / printed.replace(" ", "_"), rows=rows, wellbeing=page)
        found = consistency.check(html, res)
        assert (found == []) is ok, (printed, consistency.summary(found))
    # a value just above a rounding boundary (0.5262) is no tie: only 0,53
    rows = ROWS + [["wellbeing", "loppuraportti", "kaikki", "tyo.change.hb", "Muutos", "1.0812", "0.5262", "1.6188",
                    "", "", "False"]]
    for printed, ok in (("1,08 (0,53 … 1,62)", True), ("1,08 (0,52 … 1,62)", False)):
        page = add_row(wellbeing_page(), ["Työ", "HB", printed])
        html, res = write_book(tmp_path / ("n" + printed.replace(" ", "_")), rows=rows, wellbeing=page)
        assert (consistency.check(html, res) == []) is ok, printed


def test_per_cent_interval_compares_the_share_times_hundred(tmp_path):
    rows = ROWS + [["wellbeing", "loppuraportti", "kaikki", "share.hb", "Osuus", "0.3412", "0.2801", "0.4066", "",
                    "", "False"]]
    for printed, ok in (("34 % (28 … 41 %)", True), ("35 % (28 … 41 %)", False)):
        page = add_row(wellbeing_page(), ["Osuus", "HB", printed])
        html, res = write_book(tmp_path / printed[:2], rows=rows, wellbeing=page)
        assert (consistency.check(html, res) == []) is ok


def test_results_csv_with_one_statistic_under_two_n_or_two_intervals_is_rejected(tmp_path):
    # the cost-effectiveness analysis carries the wellbeing effect (same estimate and interval) with another n …
    rows = ROWS + [["costs", "loppuraportti", "kaikki", "cea.delta_e", "Δe", "0.9213", "0.4012", "1.2468", "130", "",
                    "False"]]
    page = add_row(costs_page(), ["Δe", "0,92 (0,40 … 1,25)"])
    html, res = write_book(tmp_path, rows=rows, costs=page)
    found = consistency.check(html, res)
    assert checks(found) == ["results_n"]
    assert sorted(found[0]["values"]) == ["costs.cea.delta_e n = 130", "wellbeing.osallisuus.adjusted_diff n = 175"]
    # … or the same estimate with another interval
    rows = ROWS + [["costs", "loppuraportti", "kaikki", "cea.delta_e", "Δe", "0.9213", "0.3977", "1.2773", "175", "",
                    "False"]]
    page = add_row(costs_page(), ["Δe", "0,92 (0,40 … 1,28)"])
    html, res = write_book(tmp_path / "b", rows=rows, costs=page)
    assert checks(consistency.check(html, res)) == ["results_two_intervals"]
    # within one strand two keys may share an estimate (means of integer scores coincide): not compared
    rows = ROWS + [["wellbeing", "loppuraportti", "kaikki", "perhe.change.hb", "Muutos", "1.39877", "1.2", "1.6", "",
                    "", "False"]]
    page = add_row(wellbeing_page(), ["Perhe", "HB", "1,40 (1,20 … 1,60)"])
    html, res = write_book(tmp_path / "c", rows=rows, wellbeing=page)
    assert consistency.check(html, res) == []


def test_results_csv_without_the_columns_gets_a_finnish_message(tmp_path):
    html, res = write_book(tmp_path)
    res.write_text("strand,phase\nwellbeing,loppuraportti\n", encoding="utf-8")
    with pytest.raises(ValueError, match="sarakkeita puuttuu"):
        consistency.check(html, res)


def test_a_negative_zero_is_not_the_house_format(tmp_path):
    # report.num never prints "−0,00"; a synthesis that formats -0.003 as "−0,00" prints another value than the
    # strand page's "0,00" (services.stats.format_fi keeps the sign of a zero)
    rows = ROWS + [["wellbeing", "loppuraportti", "kaikki", "osallisuustesti.adjusted_diff", "Ero", "0.2812",
                    "-0.003", "0.5611", "70", "", "False"]]
    page = add_row(wellbeing_page(), ["Osallisuustesti", "70", "0,28", "0,00 … 0,56"], table=0)
    good = add_row(synthesis_page(), ["Osallisuustesti", "0,28", "0,00 … 0,56", "70"])
    html, res = write_book(tmp_path, rows=rows, wellbeing=page, synthesis=good)
    assert consistency.check(html, res) == []
    bad = add_row(synthesis_page(), ["Osallisuustesti", "0,28", "−0,00 … 0,56", "70"])
    html, res = write_book(tmp_path / "b", rows=rows, wellbeing=page, synthesis=bad)
    assert checks(consistency.check(html, res)) == ["synthesis"]


def test_a_carried_estimate_with_its_interval_beside_a_coincident_fact_passes(tmp_path):
    """Unseen set (seed 151, 450 clients): in a pilot's interim report the controls' mean change was exactly 0, so the
    HB arm's change (paired interval) equalled the change-score difference (Welch interval), which the CEA carries
    with the same Welch interval. Two strands share an interval: the carried fact is consistent; the HB arm's change
    is another fact that happens to coincide. (Known bad: the CEA with its own interval is still rejected.)"""
    welch = ["wellbeing", "loppuraportti", "kaikki", "osallisuus.change_diff", "Muutospisteiden ero", "1.39877",
             "0.9", "1.9", "175", "", "False"]
    carried = ["costs", "loppuraportti", "kaikki", "cea.delta_e_unadjusted", "Δe", "1.39877", "0.9", "1.9", "175",
               "", "False"]
    page = add_row(costs_page(), ["Δe", "1,40 (0,90 … 1,90)"])
    wpage = add_row(wellbeing_page(), ["Perhe", "HB", "1,40 (0,90 … 1,90)"])
    html, res = write_book(tmp_path, rows=ROWS + [welch, carried], costs=page, wellbeing=wpage)
    assert "results_two_intervals" not in checks(consistency.check(html, res))
    own = carried[:6] + ["0.8", "2.0"] + carried[8:]
    page = add_row(costs_page(), ["Δe", "1,40 (0,80 … 2,00)"])
    html, res = write_book(tmp_path / "b", rows=ROWS + [welch, own], costs=page, wellbeing=wpage)
    assert "results_two_intervals" in checks(consistency.check(html, res))


def test_a_results_row_of_a_table_left_out_as_mostly_hidden_is_no_finding(tmp_path):
    """Unseen set (seed 179, 90 clients): the interim between-groups table was mostly hidden and shown as one
    sentence (page.readable), taking with it two family domains' effect sizes that results.csv publishes. The
    sentence tells the reader the table was left out: not printed is then no finding. (Known bad: the same page
    without the sentence is rejected; a row printed at another rounding is rejected with it.)"""
    from hbeval_lib.page import readable

    g = ["wellbeing", "loppuraportti", "kaikki", "perhe.hedges_g", "g", "0.221277", "-0.15584", "0.598393", "56",
         "", "False"]
    page = wellbeing_page().replace("</section><section id='muutos'>",
                                    f"<p><em>{readable.sentence('ero HB − verrokki').strip('*')}</em></p>"
                                    "</section><section id='muutos'>")
    html, res = write_book(tmp_path, rows=ROWS + [g], wellbeing=page)
    assert consistency.check(html, res) == []
    html, res = write_book(tmp_path / "b", rows=ROWS + [g])
    assert checks(consistency.check(html, res)) == ["results_on_page"]
    html, res = write_book(tmp_path / "c", rows=ROWS + [g],
                           wellbeing=add_row(page, ["Perhe", "56", "0,2", "−0,16 … 0,60"], table=0))
    assert "results_on_page" in checks(consistency.check(html, res))
