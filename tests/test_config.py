"""The configuration file parses, and bad configurations fail with a message naming the file and key."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml

from hbeval_lib.config import DEFAULT_CONFIG, ConfigError, load_config, parse_config


def test_repository_config_matches_the_contract():
    cfg = load_config(DEFAULT_CONFIG)
    # data contract §2: pilot codes 1–6, client group codes 1–5
    assert [(p.code, p.name) for p in cfg.pilots] == [
        (1, "Eksote"), (2, "Hämeenlinna"), (3, "Kainuu"), (4, "Pori"), (5, "Tampere"), (6, "Vantaa")]
    assert [g.code for g in cfg.client_groups] == [1, 2, 3, 4, 5]
    # data contract §5: phase cut-off dates
    assert {p.key: p.cutoff for p in cfg.phases} == {
        "lahtotilanne": dt.date(2017, 12, 31), "valiarviointi": dt.date(2018, 9, 30),
        "loppuraportti": dt.date(2019, 3, 31)}
    assert (cfg.period_start, cfg.period_end) == (dt.date(2016, 6, 1), dt.date(2019, 5, 31))


def test_lookups():
    cfg = load_config()
    assert cfg.pilot_by_code(2).key == "hameenlinna"
    assert cfg.pilot_by_code(7) is None
    assert cfg.pilot_by_name(" HÄMEENLINNA ").code == 2
    assert cfg.pilot_by_name("hameenlinna").code == 2
    assert cfg.group_by_code(5).key == "omaishoito"
    with pytest.raises(ConfigError, match="unknown phase 'kesa'"):
        cfg.phase("kesa")
    with pytest.raises(ConfigError, match="unknown pilot key"):
        cfg.pilot_by_key("turku")


def _raw():
    return yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))


def test_missing_key_names_file_and_place(tmp_path):
    raw = _raw()
    del raw["phases"][1]["cutoff"]
    with pytest.raises(ConfigError, match=r"x\.yml: phases\[1\]: missing required key 'cutoff'"):
        parse_config(raw, tmp_path / "x.yml")


def test_bad_date_and_duplicate_codes(tmp_path):
    raw = _raw()
    raw["phases"][0]["cutoff"] = "31.12.2017"
    with pytest.raises(ConfigError, match="expected a date yyyy-mm-dd"):
        parse_config(raw, tmp_path / "x.yml")
    raw = _raw()
    raw["pilots"][1]["code"] = 1
    with pytest.raises(ConfigError, match="pilot codes must be unique"):
        parse_config(raw, tmp_path / "x.yml")


def test_env_variable_selects_another_file(tmp_path, monkeypatch):
    raw = _raw()
    raw["disclosure"]["min_count"] = 3
    p = tmp_path / "other.yml"
    p.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("HBEVAL_CONFIG", str(p))
    assert load_config().section("disclosure")["min_count"] == 3
