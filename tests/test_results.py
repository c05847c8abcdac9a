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


def test_the_n_of_a_row_is_the_pages_protected_count(tmp_path):
    """Issue 18: results.csv rounded n down to a multiple of 5, so a reader saw 177 on a strand page and 175 in the
    synthesis for one fact. The n is now a ledger count of the page (table ``tulokset.n``): exact when the release
    shows it, empty when it hides it (here by a decision of the ledger, not by the n's own size)."""
    from hbeval_lib.page import cells as L
    from hbeval_lib.page import report

    rep = report.start("wellbeing", "loppuraportti", "pori")
    rep.res.add("a.diff", "A", 0.5, n=177)
    assert rep.res.rows[0]["n"] == 177                      # exact, not 175
    # a release whose ledger hides that count (e.g. it equals a count hidden elsewhere on the page)
    key = ("wellbeing", "loppuraportti", "pori", "wellbeing.tulokset.n", "b.diff", "")
    led = pd.DataFrame([dict(zip(["strand", "phase", "pilot", "table", "row", "col"], key), kind="count", value=23,
                             margin="", primary="", code="secondary", suppressed=True, reason="")])
    led["value"] = led["value"].astype("Int64")
    path = tmp_path / "ledger.parquet"
    led.to_parquet(path, index=False)
    L.set_active(L.Renderer(path))
    try:
        rep2 = report.start("wellbeing", "loppuraportti", "pori")
        rep2.res.add("b.diff", "B", 0.4, n=23)
    finally:
        L.set_active(None)
    assert rep2.res.rows[0]["n"] is None and rep2.res.rows[0]["estimate"] == pytest.approx(0.4)
    # known bad: a Results without the page's guard publishes the hidden count
    bare = Results("wellbeing", "loppuraportti", "pori")
    bare.add("b.diff", "B", 0.4, n=23)
    assert bare.rows[0]["n"] == 23


def test_a_row_whose_n_the_page_hides_gives_no_denominator_back():
    """Unseen set seed 283: results.csv printed a group's mean change as 0.235294 beside an empty n — 4/17, the hidden
    n. A row whose n the page hides carries its numbers at the precision the pages print (2 decimals, p 3)."""
    from fractions import Fraction

    guarded = Results("wellbeing", "loppuraportti", "kaikki", n_guard=lambda key, n: None if n < 20 else n)
    guarded.add("a.change.verrokki", "A", 4 / 17, 1 / 17, 7 / 17, n=17, p_value=0.012345)
    guarded.add("a.change.hb", "A", 4 / 170, 1 / 170, 7 / 170, n=170, p_value=0.012345)
    hidden, shown = guarded.rows
    assert hidden["n"] is None and hidden["estimate"] == 0.24 and hidden["ci_high"] == 0.41 \
        and hidden["p_value"] == 0.012
    # 0.24 is 6/25, 5/21, 7/29 …: no single denominator under 40 is left
    assert len({Fraction(k, n) for n in range(2, 41) for k in range(n) if abs(k / n - 0.24) < 0.005}) > 2
    assert shown["n"] == 170 and shown["estimate"] == 4 / 170          # a shown n: the full precision
    # as the page rounds: half away from zero (Python's round gave 0.62 beside a printed 0,63, seed 347)
    from hbeval_lib.page.report import num
    from hbeval_lib.page.results import rounded

    for v in (0.625, -0.625, 0.115, 2.675, 1 / 3):
        assert f"{rounded(v, 2):.2f}".replace(".", ",").replace("-", "−") == num(v, 2)
    assert round(0.625, 2) == 0.62                                     # known bad
    # known bad: six digits pin the hidden 17
    assert Fraction(float(f"{4 / 17:.6g}")).limit_denominator(40) == Fraction(4, 17)
