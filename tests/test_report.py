"""Finnish number formatting and the notebook context."""

from __future__ import annotations

import pandas as pd
import pytest

from hbeval_lib.page import report


@pytest.mark.parametrize("x,digits,expected", [
    (1234.55, 1, "1 234,6"), (0.125, 2, "0,13"), (-0.25, 1, "−0,3"), (-0.04, 1, "0,0"),
    (1_000_000, 0, "1 000 000"), (None, 1, "–"), (float("nan"), 1, "–"), (pd.NA, 1, "–")])
def test_num(x, digits, expected):
    assert report.num(x, digits) == expected


def test_eur_pct_ci():
    assert report.eur(1234.4) == "1 234 €"
    assert report.pct(0.3382) == "34 %"
    assert report.pct(None) == "–"
    assert report.ci(0.5, 0.12, 0.91, digits=2) == "0,50 (0,12 … 0,91)"
    assert report.ci(float("nan"), 0, 1) == "–"


def test_start_validates_and_counts(tmp_path):
    rep = report.start("wellbeing", "valiarviointi", "pori", str(tmp_path))
    assert rep.pilot_name == "Pori" and not rep.all_pilots and rep.processed == tmp_path
    assert rep.count(3, "t", "c") == "<5" and rep.count(0) == "0" and rep.count(12) == "12"
    assert rep.dc.frame()["code"].tolist() == ["count"]
    with pytest.raises(Exception, match="unknown phase"):
        report.start("wellbeing", "kesa", "kaikki")
    with pytest.raises(Exception, match="unknown pilot key"):
        report.start("wellbeing", "loppuraportti", "turku")


def test_finish_writes_both_files(tmp_path):
    rep = report.start("costs", "loppuraportti", "kaikki", str(tmp_path))
    rep.res.add("cea.icer", "ICER", 12.0, n=40)
    rep.count(2, "t", "c")
    rep.finish(str(tmp_path / "kaikki.results.csv"), str(tmp_path / "kaikki.suppressions.csv"))
    assert pd.read_csv(tmp_path / "kaikki.results.csv")["key"].tolist() == ["cea.icer"]
    assert len(pd.read_csv(tmp_path / "kaikki.suppressions.csv")) == 1


def test_a_count_in_a_sentence_is_never_a_bare_mark():
    from hbeval_lib.page.report import counted

    assert counted(12, "HB-asiakasta", "HB-asiakkaita") == "12 HB-asiakasta"
    assert counted("<5", "HB-asiakasta", "HB-asiakkaita") == "alle 5 HB-asiakasta"
    hidden = counted("–", "HB-asiakasta", "HB-asiakkaita")
    assert hidden == "HB-asiakkaita (lukumäärää ei näytetä)" and "–" not in hidden
