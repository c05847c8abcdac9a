"""The sweep's audit of sums printed elsewhere (hbeval_lib.release.sums_audit), on planted ledgers."""

import pandas as pd

from hbeval_lib.release import sums_audit

NAMES = {"Pori": "pori", "Eksote": "eksote"}


def _cell(pilot, table, row, col, value, suppressed=False, margin="", strand="wellbeing", phase="loppuraportti"):
    return dict(strand=strand, phase=phase, pilot=pilot, table=table, row=row, col=col, kind="count", value=value,
                margin=margin, suppressed=suppressed, code="count" if suppressed else "")


def _ledger(hidden_neighbour: bool, size_strand="wellbeing", size_value=19):
    return pd.DataFrame([
        _cell("kaikki", "teemat", "Tuki", "HB", 17, suppressed=hidden_neighbour),
        _cell("kaikki", "teemat", "Tuki", "Verrokki", 2, suppressed=True),
        _cell("kaikki", "teemat", "Muu", "HB", 40),
        _cell("kaikki", "teemat", "Muu", "Verrokki", 9),
        # a group's size printed on its own in the same report and pilot
        _cell("kaikki", "ryhmat", "naiset", "", size_value, strand=size_strand),
    ])


def test_a_hidden_count_given_back_by_a_line_sum_printed_elsewhere_is_found():
    found = sums_audit.findings(_ledger(hidden_neighbour=False), NAMES)
    assert len(found) == 1
    f = found.iloc[0]
    assert (f["table"], f["cell"], f["value"]) == ("teemat", "Tuki / Verrokki", 2)
    assert "wellbeing:ryhmat" in f["printed_in"]
    assert "Tuki / Verrokki = 2" in sums_audit.summary(found)


def test_nothing_is_found_when_the_neighbour_is_hidden_or_the_sum_is_not_printed():
    assert sums_audit.findings(_ledger(hidden_neighbour=True), NAMES).empty
    assert sums_audit.findings(_ledger(hidden_neighbour=False, size_value=20), NAMES).empty
    # another strand counts other things (staff, paragraphs): an equal number there is not the line's sum
    assert sums_audit.findings(_ledger(hidden_neighbour=False, size_strand="costs"), NAMES).empty


def test_a_declared_total_of_the_line_is_the_table_models_business_not_this_audit():
    led = _ledger(hidden_neighbour=False)
    led = pd.concat([led, pd.DataFrame([_cell("kaikki", "teemat", "Tuki", "Yhteensä", 19, margin="col",
                                              suppressed=True)])], ignore_index=True)
    assert sums_audit.findings(led, NAMES).empty


def test_a_hidden_arm_total_printed_under_the_arm_elsewhere_is_found():
    """Unseen set seed 271: the recruitment table hid its control total 108 while the coverage table printed
    "Verrokki | 108"; found. The HB arm's equal count, another pilot's or a hidden copy are not findings."""
    def led(coverage_hidden=False, row="Verrokki", pilot="kaikki"):
        return pd.DataFrame([
            _cell("kaikki", "rekry", "Yhteensä", "Verrokkiasiakkaat", 108, suppressed=True, margin="row"),
            _cell("kaikki", "rekry", "Yhteensä", "HB-asiakkaat", 183, margin="row"),
            _cell(pilot, "kattavuus", row, "Alkumittaus", 108, suppressed=coverage_hidden),
        ])
    found = sums_audit.findings(led(), NAMES)
    assert len(found) == 1 and found.iloc[0]["cell"] == "Yhteensä / Verrokkiasiakkaat"
    assert "kattavuus (Verrokki / Alkumittaus)" in found.iloc[0]["printed_in"]
    assert sums_audit.findings(led(coverage_hidden=True), NAMES).empty
    assert sums_audit.findings(led(row="HB"), NAMES).empty
    assert sums_audit.findings(led(pilot="pori"), NAMES).empty
