"""Issue 11 acceptance: protection must not hollow out the report.

On a 600-client synthetic data set, the all-pilots final report still publishes every headline statistic after the
whole release (every page, pilot and phase) has been protected jointly: the primary (doubly robust) HB − control
difference of each Kykyviisari domain present for the clients and of the Osallisuustesti, the cost difference,
the ICER and INMB, and the provider shares.
"""

from __future__ import annotations

import pandas as pd
import pytest

from hbeval_lib.book import bench
from hbeval_lib.book import run as pipeline
from hbeval_lib.demo.generator import generate
from hbeval_lib.intake.run import run_intake

pytestmark = [pytest.mark.slow]

HEADLINES = [r"^kykyviisari\.(yleinen_hyvinvointi|osallisuus|mielen_hyvinvointi|arjen_sujuminen|taidot|"
             r"fyysinen_toimintakyky|tyo_ja_tulevaisuus)\.adjusted_diff$",
             r"^osallisuustesti\.adjusted_diff$",
             r"^costs\.incremental(_adjusted)?$",
             r"^cea\.(icer|delta_c|delta_e)$", r"^cea\.inmb\.\d+$",
             r"^palvelut\.provider_share\.[a-z]+$"]


@pytest.fixture(scope="module")
def final_all_pilots(tmp_path_factory):
    work = tmp_path_factory.mktemp("release600")
    generate(work / "raw", seed=11, clients=600, faults="none")
    run_intake(work / "raw", work / "processed")
    book = bench.copy_book_sources(work / "book")
    pipeline.run(None, work / "processed", book, phases=["loppuraportti"], pilots=["kaikki"], jobs=2,
                 progress=False)
    res = pd.read_csv(book / "_results" / "results.csv")
    return res[(res["phase"] == "loppuraportti") & (res["pilot"] == "kaikki")]


def test_headlines_published_after_joint_protection(final_all_pilots):
    res = final_all_pilots
    for pattern in HEADLINES:
        rows = res[res["key"].str.match(pattern)]
        assert len(rows), f"no results row matches {pattern}"
        hidden = rows.loc[rows["suppressed"] | rows["estimate"].isna(), "key"].tolist()
        assert hidden == [], f"headline statistics suppressed on the all-pilots final page: {hidden}"


def test_headline_check_can_fail(final_all_pilots):
    """The check above is not vacuous: a results table with one hidden headline fails it."""
    res = final_all_pilots.copy()
    i = res.index[res["key"] == "kykyviisari.osallisuus.adjusted_diff"][0]
    res.loc[i, "suppressed"] = True
    rows = res[res["key"].str.match(HEADLINES[0])]
    assert rows["suppressed"].any()
