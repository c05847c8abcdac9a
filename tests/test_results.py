"""The results table: standard columns, suppressed rows carry no numbers, keys are unique."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from hbeval_lib.page.results import COLUMNS, Results, read_results


def test_write_and_read_back(tmp_path):
    r = Results("wellbeing", "loppuraportti", "kaikki")
    r.add("kykyviisari.taidot.adjusted_diff", "Taidot", 0.25, -0.1, 0.6, n=120, p_value=0.2)
    r.add("kykyviisari.taidot.change.verrokki", "Taidot, muutos", 1.0, 0.0, 2.0, n=4, suppressed=True)
    path = r.write(tmp_path / "x" / "kaikki.results.csv")
    df = read_results([path])
    assert list(df.columns) == COLUMNS
    assert df.loc[0, "estimate"] == pytest.approx(0.25) and df.loc[0, "n"] == 120
    sup = df.loc[1]
    assert bool(sup["suppressed"]) and all(math.isnan(sup[c]) for c in ["estimate", "ci_low", "ci_high", "n"])
    assert not list(tmp_path.rglob("*.tmp"))


def test_duplicate_key_rejected():
    r = Results("costs", "loppuraportti", "pori")
    r.add("cea.icer", "ICER", 1.0)
    with pytest.raises(ValueError, match="recorded twice"):
        r.add("cea.icer", "ICER", 2.0)


def test_nan_becomes_missing_and_empty_path_writes_nothing():
    r = Results("costs", "loppuraportti", "pori")
    r.add("a", "", float("nan"))
    assert pd.isna(r.frame().loc[0, "estimate"])
    assert r.write("") is None
