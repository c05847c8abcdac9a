"""Phase and pilot restriction of the tidy tables (data contract §5: a phase sees records up to its cut-off)."""

from __future__ import annotations

import pandas as pd
import pytest

from hbeval_lib.config import ConfigError
from hbeval_lib.core.tables import load, restrict


def _kyky():
    return pd.DataFrame({
        "client_id": ["110101", "110101", "410101", "410101"],
        "pilot": ["eksote", "eksote", "pori", "pori"],
        "date": pd.to_datetime(["2017-12-31", "2018-01-01", "2018-09-30", "2019-04-01"]),
    })


def test_phase_cutoff_is_inclusive():
    df = _kyky()
    assert len(restrict(df, "kykyviisari", phase="lahtotilanne")) == 1
    assert len(restrict(df, "kykyviisari", phase="valiarviointi")) == 3
    assert len(restrict(df, "kykyviisari", phase="loppuraportti")) == 3
    assert len(restrict(df, "kykyviisari")) == 4


def test_pilot_filter_and_all():
    df = _kyky()
    assert set(restrict(df, "kykyviisari", pilot="pori")["pilot"]) == {"pori"}
    assert len(restrict(df, "kykyviisari", pilot="kaikki")) == 4
    with pytest.raises(ConfigError):
        restrict(df, "kykyviisari", pilot="turku")


def test_load_reads_parquet_and_reports_missing(tmp_path):
    _kyky().to_parquet(tmp_path / "kykyviisari.parquet")
    assert len(load("kykyviisari", tmp_path, phase="lahtotilanne", pilot="eksote")) == 1
    with pytest.raises(FileNotFoundError, match="run `hbeval intake` first"):
        load("clients", tmp_path)
    with pytest.raises(KeyError, match="unknown table"):
        load("nope", tmp_path)


def test_half_year_periods_follow_the_cutoff():
    from hbeval_lib.core.tables import period_end

    df = pd.DataFrame({"pilot": ["pori"] * 4, "period": ["2017/1", "2017/2", "2018/1", "2019/1"]})
    assert restrict(df, "self_evaluation", phase="lahtotilanne")["period"].tolist() == ["2017/1", "2017/2"]
    assert restrict(df, "self_evaluation", phase="valiarviointi")["period"].tolist() == ["2017/1", "2017/2", "2018/1"]
    assert len(restrict(df, "self_evaluation", phase="loppuraportti")) == 3  # 2019/1 ends after 31.3.2019
    assert period_end(pd.Series(["2018/2"])).iloc[0] == pd.Timestamp("2018-12-31")
