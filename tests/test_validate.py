"""``make validate`` (hbeval_lib.strands.validate): the table counts what the report publishes.

The disclosure rule of every page (no statistic on fewer than ``min_n_stat`` persons) is part of what the validation
measures: an interval the page would not show must not enter the published coverage, but it is still counted in the
method's own coverage (``Kattavuus, ilman henkilörajaa``) and in ``Ei julkaistu``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from hbeval_lib.strands import validate
from hbeval_lib.strands.costs import cea


def _planted(n_pub_hit: int, n_pub_miss: int, n_small_miss: int, n_withheld: int, n_small: int = 6) -> np.ndarray:
    """Replications with a known answer: truth 0; a hit is the interval (-1, 1), a miss (2, 3); ``n_small_miss``
    intervals rest on ``n_small`` persons (below the limit 10) and all miss; ``n_withheld`` have no interval."""
    rows = ([(0.1, -1.0, 1.0, 0.0, 25)] * n_pub_hit + [(2.5, 2.0, 3.0, 0.0, 25)] * n_pub_miss
            + [(2.5, 2.0, 3.0, 0.0, n_small)] * n_small_miss + [(math.nan, math.nan, math.nan, 0.0, 25)] * n_withheld)
    return np.array(rows, dtype=float)


def test_summary_counts_only_intervals_the_page_would_publish():
    x = _planted(n_pub_hit=95, n_pub_miss=5, n_small_miss=40, n_withheld=10)     # 150 replications
    r = validate.summarise("k", "s", x, min_n=10)
    assert r["Toistoja"] == 150
    assert r["Kattavuus"] == pytest.approx(0.95)                     # 95 of the 100 published
    assert r["MC-kv (%-yks.)"] == pytest.approx(100 * math.sqrt(0.95 * 0.05 / 100))
    assert r["Kattavuus, ilman henkilörajaa"] == pytest.approx(95 / 140)  # the method's 140 intervals
    assert r["Ei julkaistu"] == pytest.approx(50 / 150)             # 40 under the limit + 10 withheld
    assert r["josta alle 10 hlö"] == pytest.approx(40 / 150)
    assert r["Harha"] == pytest.approx((95 * 0.1 + 5 * 2.5) / 100)
    assert r["Suurin leveys"] == pytest.approx(2.0)


def test_summary_without_the_person_rule_would_count_unpublished_misses():
    """Known bad: ignoring the disclosure rule (limit 0) mixes the 40 never-published misses into the coverage."""
    x = _planted(n_pub_hit=95, n_pub_miss=5, n_small_miss=40, n_withheld=10)
    bad = validate.summarise("k", "s", x, min_n=0)
    assert bad["Kattavuus"] == pytest.approx(95 / 140) and bad["Kattavuus"] < 0.93
    assert bad["josta alle 0 hlö"] == 0.0


def test_summary_of_a_row_with_nothing_published():
    r = validate.summarise("k", "s", _planted(0, 0, 5, 5), min_n=10)
    assert math.isnan(r["Kattavuus"]) and math.isnan(r["Harha"]) and r["Ei julkaistu"] == 1.0
    assert r["Kattavuus, ilman henkilörajaa"] == 0.0
    md = validate.to_markdown(__import__("pandas").DataFrame([r]))
    assert "| – |" in md and "100.0 %" in md


def test_person_limit_is_the_configured_min_n_stat():
    from hbeval_lib.config import load_config

    conf = load_config().section("disclosure", {}) or {}
    assert validate.disclosure_min_n() == int(conf.get("min_n_stat", 10)) == 10


def test_write_refuses_a_partial_table(tmp_path):
    """Known bad: a run of some sizes only must not replace the full table of docs/validation.md."""
    doc = tmp_path / "v.md"
    doc.write_text("<!-- validate:start -->\nold\n<!-- validate:end -->\n", encoding="utf-8")
    with pytest.raises(SystemExit):
        validate.main(["--reps", "1", "--pilot-sizes", "--total-sizes", "600", "--write", str(doc)])
    assert "old" in doc.read_text(encoding="utf-8")


def test_one_replication_per_size_and_kind_fills_the_table():
    t = validate.run(reps=2, seed=3, m=2, pilot_sizes=(20,), total_sizes=())
    assert set(t["Koko"]) == {"20/ryhmä"} and (t["Toistoja"] == 2).all()
    assert {"Kattavuus", "Kattavuus, ilman henkilörajaa", "josta alle 10 hlö"} <= set(t.columns)
    assert t["Väli"].str.contains("Keskikustannus, hb").any()


def test_bootstrap_t_at_the_smallest_published_arm_size_covers_a_skewed_mean():
    """At 10 clients, the smallest arm whose mean a page shows, gamma costs of shape 0.6 (skewness 2.6; planted
    mean 1 200): the bootstrap-t interval covers about 93 % (2 000 samples: 93.3 %), the percentile interval
    about 84 % (known bad)."""
    rng = np.random.default_rng(20261208)
    reps, n, truth = 600, 10, 1200.0
    cov_t = cov_p = 0
    for r in range(reps):
        x = rng.gamma(0.6, 2000.0, n)
        idx, _ = cea.stratified_indices(np.repeat("a", n), 499, r)
        lo, hi = cea.studentized_ci(x, idx)
        cov_t += lo <= truth <= hi
        plo, phi = cea.percentile_ci(x[idx].mean(axis=1))
        cov_p += plo <= truth <= phi
    assert cov_t / reps >= 0.915
    assert cov_p / reps <= 0.88                       # known bad: the percentile interval under-covers
