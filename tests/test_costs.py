"""Resource use, pricing and payer attribution on tiny hand-made tables (expected values computed by hand
from the configured unit costs, following the method in ``hbeval_lib.strands.costs.stats``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hbeval_lib.strands.costs import stats as costs
from hbeval_lib.config import load_config

CUTOFF = "2018-12-31"


def _ts(x):
    return pd.Timestamp(x) if x else pd.NaT


def tiny_tables() -> dict[str, pd.DataFrame]:
    s = "string"
    clients = pd.DataFrame({
        "client_id": pd.array(["110101", "110102", "110201"], dtype=s),
        "pilot": pd.array(["eksote"] * 3, dtype=s), "client_group": pd.array(["lapsiperheet"] * 3, dtype=s),
        "worker": pd.array([1, 1, 2], dtype="Int64"), "seq": pd.array([1, 2, 1], dtype="Int64"),
        "arm": pd.array(["hb", "verrokki", "hb"], dtype=s),
        "start_date": [_ts("2018-01-01"), _ts("2018-03-16"), _ts("2018-02-01")],
        "end_date": [pd.NaT, _ts("2018-06-30"), pd.NaT]})
    rows = [("Kotikäynti", 60, "110101", "hb"), ("Asiakastietojen kirjaaminen", 30, "110101", "hb"),
            ("Puhelinkeskustelu asiakkaan kanssa", 45, "110102", "verrokki"), ("Tiimin palaveri", 27, None, "yleinen")]
    tyoaika = pd.DataFrame({
        "pilot": pd.array(["eksote"] * 4, dtype=s), "worker": pd.array([1] * 4, dtype="Int64"),
        "job_title": pd.array(["Sosiaalityöntekijä"] * 4, dtype=s), "team": pd.array([None] * 4, dtype=s),
        "weekly_hours": 38.25, "month": pd.array(["2018-03"] * 4, dtype=s),
        "date": [pd.Timestamp("2018-03-20")] * 4, "task": pd.array([r[0] for r in rows], dtype=s),
        "minutes": pd.array([r[1] for r in rows], dtype="Int64"),
        "client_id": pd.array([r[2] for r in rows], dtype=s), "client_kind": pd.array([r[3] for r in rows], dtype=s),
        "client_present": [True, False, False, False], "client_group": pd.array([None] * 4, dtype=s),
        "arm": pd.array([None] * 4, dtype=s), "source_file_id": pd.array([1] * 4, dtype="Int64")})
    link = clients.iloc[[0]][["client_id", "pilot", "client_group", "worker", "seq", "arm"]].reset_index(drop=True)
    asiakaskulut = link.assign(date=pd.Timestamp("2018-04-01"), activity="asiointi",
                               minutes=pd.array([120], dtype="Int64"),
                               work_absence_minutes=pd.array([60], dtype="Int64"),
                               travel_minutes=pd.array([30], dtype="Int64"), travel_km=10.0,
                               travel_cost_eur=np.nan, other_cost_eur=5.0, other_cost_desc="", labour_status="työtön")
    avustajakulut = link.assign(assistant_id=pd.array([1], dtype="Int64"), relationship="omainen",
                                assistant_labour_status="", fee_eur=10.0, date=pd.Timestamp("2018-05-01"),
                                activity="", minutes=pd.array([120], dtype="Int64"),
                                travel_minutes=pd.array([0], dtype="Int64"), travel_km=np.nan,
                                travel_cost_eur=4.0, other_cost_eur=np.nan, other_cost_desc="")
    budgets = link.assign(budget_eur=1000.0, start_date=pd.Timestamp("2018-01-01"), end_date=pd.NaT)
    budget_use = link.assign(date=pd.Timestamp("2018-06-01"), item="x", provider="yksityinen", amount_eur=300.0,
                             payment_method="maksusitoumus")
    services = clients.iloc[[1]][["client_id", "pilot", "client_group", "worker", "seq", "arm"]].assign(
        service="Sosiaalityön tapaaminen", unit="käynti", quantity=2.0, start_date=pd.Timestamp("2018-04-01"),
        end_date=pd.NaT).reset_index(drop=True)
    return {"clients": clients, "tyoaika": tyoaika, "asiakaskulut": asiakaskulut, "avustajakulut": avustajakulut,
            "budgets": budgets, "budget_use": budget_use, "services": services}


@pytest.fixture(scope="module")
def cfg():
    return load_config()


def test_unit_costs_in_price_year(cfg):
    uc = costs.UnitCosts.from_config(cfg)
    sec, idx = cfg.section("unit_costs"), cfg.section("price_index")["values"]
    w = sec["workers"]
    e = w["titles"]["sosiaalityöntekijä"]
    expected = (e["value"] * (1 + w["side_cost_factor"]["value"]) * (1 + w["overhead_factor"]["value"])
                / w["hours_per_month"]["value"] * idx[uc.price_year] / idx[e["year"]])
    assert uc.hourly("Sosiaalityöntekijä ") == pytest.approx(expected)
    assert uc.hourly(None) == uc.worker_hourly["default"] and uc.hourly("tuntematon") == uc.worker_hourly["default"]
    # every unit-cost entry carries value, unit, year and source
    entries = [sec["km_rate"], *sec["services"].values(), *w["titles"].values()]
    assert all({"value", "unit", "year", "source"} <= set(x) and x["source"] for x in entries)
    assert costs.unit_cost_table(cfg)["Lähde"].str.len().gt(0).all()


def test_classify_tasks(cfg):
    tasks = pd.Series(["Kotikäynti", "Asiakastietojen kirjaaminen", "Tiimin palaveri", "Matka asiakkaan luo",
                       "Maksusitoumuksen laatiminen", "Palvelutarpeenarviointi", "Sähköposti", "???", None])
    got = costs.classify_tasks(tasks, cfg.section("task_codebook")).tolist()
    assert got == ["asiakastapaaminen", "kirjaaminen", "yleinen", "matkat", "budjetin_suunnittelu",
                   "palvelutarpeen_arviointi", "puhelin_viestit", "muu", "muu"]


def test_worker_time_scaling_overhead_and_imputation(cfg):
    t = tiny_tables()
    uc = costs.UnitCosts.from_config(cfg)
    wt, by_task = costs.worker_time(t["tyoaika"], t["clients"], uc, cfg.section("task_codebook"))
    assert wt.loc["110101", "worker_min_pm"] == pytest.approx(90.0)          # whole March a client
    # client from 16 March: no whole measured month → imputed (no other control measured → overall mean)
    assert not wt.loc["110102", "worker_measured"] and wt.loc["110102", "worker_min_pm"] == pytest.approx(90.0)
    assert wt.loc["110201", "worker_min_pm"] == pytest.approx(90.0)          # imputed: hb × eksote mean
    assert not wt.loc["110201", "worker_measured"]
    assert wt.loc["110101", "general_factor"] == pytest.approx(27 / 135)
    assert wt.loc["110101", "worker_eur_pm"] == pytest.approx(90 / 60 * uc.hourly("sosiaalityöntekijä") * 1.2)
    assert by_task.loc["yleinen", "yleinen"] == 27 and by_task.loc["hb", "asiakastapaaminen"] == 60


def test_resource_use_and_payers(cfg):
    t = tiny_tables()
    uc = costs.UnitCosts.from_config(cfg)
    use = costs.resource_use(t, CUTOFF, cfg)
    assert use.loc["110101", "months"] == 12 and use.loc["110102", "months"] == 4  # calendar months touched
    # non-reporting clients get the reporting clients' own-time rate per client-month × their months
    assert use.loc["110201", "own_min"] == pytest.approx(120 / 12 * 11)
    assert use.loc["110102", "own_min"] == pytest.approx(120 / 12 * 4)
    pr = costs.price(use, uc)
    a, b = pr.loc["110101"], pr.loc["110102"]
    assert a["asiakas_aika"] == pytest.approx(150 / 60 * uc.time_value)
    assert a["asiakas_poissaolo"] == pytest.approx(uc.absence_value)
    assert a["asiakas_matkat"] == pytest.approx(10 * uc.km_rate)
    assert a["cost_asiakas"] == pytest.approx(150 / 60 * uc.time_value + uc.absence_value + 10 * uc.km_rate + 5)
    assert a["laheiset_aika"] == pytest.approx(max(2 * uc.time_value - 10, 0))  # net of the fee
    assert a["laheiset_kulut"] == pytest.approx(4.0)
    assert a["avustaja_palkkio"] == 10 and a["hb_budjetti"] == 300 and a["cost_jarjestot"] == 0
    assert b["palvelut"] == pytest.approx(2 * uc.services["sosiaalityön tapaaminen"][0])
    assert b["tyontekijat"] == pytest.approx(90 / 60 * uc.hourly("sosiaalityöntekijä") * 1.2 * 4)
    assert pr["cost_total"].to_numpy() == pytest.approx(pr[[f"cost_{p}" for p in costs.PAYERS]].sum(axis=1))
    # without informal time the client's and relatives' time disappear, euros paid remain
    pr0 = costs.price(use, uc, include_informal_time=False)
    assert pr0.loc["110101", "cost_asiakas"] == pytest.approx(10 * uc.km_rate + 5)
    assert pr0.loc["110201", "cost_asiakas"] == pytest.approx((10 * uc.km_rate + 5) / 12 * 11)
    bs = costs.budget_summary(use).set_index("item")
    assert bs.loc["budget_use_yksityinen", "share"] == 1.0 and bs.loc["budget_eur", "total"] == 1000


def test_sensitivity_directions(cfg):
    use = costs.resource_use(tiny_tables(), CUTOFF, cfg)
    sens = costs.sensitivity(use, cfg).set_index("scenario")
    assert (sens["low"] <= sens["base"] + 1e-9).all() and (sens["high"] >= sens["base"] - 1e-9).all()
    # raising the value of time raises the HB clients' (who record time) increment
    row = sens.loc[[s for s in sens.index if s.startswith("Ajan arvottaminen")][0]]
    assert row["high"] > row["low"]


def test_cost_summary_and_incremental_reproducible():
    rng = np.random.default_rng(1)
    n = 120
    df = pd.DataFrame({"arm": np.repeat(["hb", "verrokki"], n // 2), "months": rng.uniform(3, 12, n),
                       "pilot": rng.choice(["a", "b"], n), "client_group": "x"})
    rate = np.where(df["arm"] == "hb", 200.0, 150.0)
    df["cost_total"] = rate * df["months"] * rng.lognormal(0, 0.3, n) / np.exp(0.045)
    s1 = costs.cost_summary(df, replicates=500, seed=9, columns=["cost_total"])
    s2 = costs.cost_summary(df, replicates=500, seed=9, columns=["cost_total"])
    pd.testing.assert_frame_equal(s1, s2)
    cm = s1[(s1["basis"] == "client_month")].set_index("arm")
    assert cm.loc["hb", "ci_low"] < 200 < cm.loc["hb", "ci_high"]
    assert cm.loc["verrokki", "ci_low"] < 150 < cm.loc["verrokki", "ci_high"]
    inc = costs.incremental_cost(df, replicates=500, seed=9)
    for row in ("unadjusted", "adjusted"):
        assert inc.loc[row, "ci_low"] < 50 < inc.loc[row, "ci_high"]


def _with_support(t: dict) -> dict:
    """The tiny tables plus the support network's form of one HB client (110101): 3 h of help, of which 1 h away
    from work, 30 min travel by 20 km without euros, and 6 € other costs."""
    link = t["clients"].iloc[[0]][["client_id", "pilot", "client_group", "worker", "seq", "arm"]].reset_index(drop=True)
    t["laheiskulut"] = link.assign(relative_id=pd.array([1], dtype="Int64"), relationship="omainen",
                                   relative_labour_status="ansiotyössä", date=pd.Timestamp("2018-05-02"),
                                   activity="asiointi", minutes=pd.array([180], dtype="Int64"),
                                   work_absence_minutes=pd.array([60], dtype="Int64"),
                                   travel_minutes=pd.array([30], dtype="Int64"), travel_km=20.0,
                                   travel_cost_eur=np.nan, other_cost_eur=6.0, other_cost_desc="")
    return t


def test_support_network_priced_for_the_relatives(cfg):
    t = _with_support(tiny_tables())
    uc = costs.UnitCosts.from_config(cfg)
    tv = cfg.section("time_valuation")
    alt = tv["alternatives"][tv["informal_care"]]
    idx = cfg.section("price_index")["values"]
    assert uc.informal_value == pytest.approx(alt["value"] * idx[uc.price_year] / idx[alt["year"]])
    assert uc.informal_value != uc.time_value          # care time has its own value, not the leisure value
    use = costs.resource_use(t, CUTOFF, cfg)
    assert use.loc["110101", "support_min"] == 210 and use.loc["110101", "support_reported"]
    # the other HB client carries the form returner's rate per client-month (110101: 12 months); the control
    # arm has no returner: the HB arm's rate (the fall-back of the same rule as the clients' own costs)
    assert use.loc["110201", "support_min"] == pytest.approx(210 / 12 * 11)
    assert not use.loc["110201", "support_reported"]
    pr = costs.price(use, uc)
    a = pr.loc["110101"]
    # 150 min of help (away-from-work hour apart) at the care value, 60 min at the wage: each minute once
    assert a["laheiset_tukiaika"] == pytest.approx(150 / 60 * uc.informal_value + 60 / 60 * uc.absence_value)
    assert a["laheiset_tukikulut"] == pytest.approx(20 * uc.km_rate + 6)
    assert a["cost_laheiset"] == pytest.approx(a["laheiset_aika"] + a["laheiset_kulut"] + a["laheiset_tukiaika"]
                                               + a["laheiset_tukikulut"])
    assert pr["cost_total"].to_numpy() == pytest.approx(pr[[f"cost_{p}" for p in costs.PAYERS]].sum(axis=1))
    pr0 = costs.price(use, uc, include_informal_time=False)
    assert pr0.loc["110101", "laheiset_tukiaika"] == 0 and pr0.loc["110101", "laheiset_tukikulut"] > 0
    # without the form nothing changes for the payer but the assistants' part
    base = costs.price(costs.resource_use(tiny_tables(), CUTOFF, cfg), uc)
    assert base.loc["110101", "cost_laheiset"] == pytest.approx(a["laheiset_aika"] + a["laheiset_kulut"])


def test_support_network_sensitivity_rows(cfg):
    t = _with_support(tiny_tables())
    use = costs.resource_use(t, CUTOFF, cfg)
    sens = costs.sensitivity(use, cfg).set_index("scenario")
    value = [s for s in sens.index if s.startswith("Läheisten tukiajan arvo")]
    assert len(value) == 1 and sens.loc[value[0], "high"] > sens.loc[value[0], "low"]
    only = sens.loc["Läheisten tuki vain lomakkeen palauttaneilla"]
    # HB's other client loses its extrapolated support, the control client too: the increment moves
    assert only["low"] < only["high"]
    assert (sens["low"] <= sens["base"] + 1e-9).all() and (sens["high"] >= sens["base"] - 1e-9).all()
    # no form at all: no support rows (nothing to vary)
    sens0 = costs.sensitivity(costs.resource_use(tiny_tables(), CUTOFF, cfg), cfg)
    assert not sens0["scenario"].str.startswith("Läheisten tuki").any()


def test_services_per_unit_never_add_units(cfg):
    t = tiny_tables()
    extra = t["services"].assign(service="Kotipalvelu", unit="tunti", quantity=5.0)
    unpriced = t["services"].assign(service="Kuntouttava työtoiminta", unit="päivä", quantity=3.0)
    t["services"] = pd.concat([t["services"], extra, unpriced], ignore_index=True)
    uc = costs.UnitCosts.from_config(cfg)
    use = costs.resource_use(t, CUTOFF, cfg)
    r = costs.service_use_per_client_month(use, uc).set_index("service")
    # the control client (4 months): 2 visits, 5 hours and 3 days, each in its own unit
    assert r.loc["sosiaalityön tapaaminen", "verrokki"] == pytest.approx(2 / 4)
    assert r.loc["sosiaalityön tapaaminen", "unit"] == "käynti"
    assert r.loc["kotipalvelu", "verrokki"] == pytest.approx(5 / 4) and r.loc["kotipalvelu", "unit"] == "tunti"
    assert r.loc["kuntouttava työtoiminta", "unit"] == "päivä" and not r.loc["kuntouttava työtoiminta", "priced"]
    assert r.loc["kuntouttava työtoiminta", "verrokki"] == pytest.approx(3 / 4)
    assert r.loc["kotipalvelu", "hb"] == 0
    # the old single figure added hours, visits and days: 10 units in 4 months
    assert costs.use_per_client_month(use).loc["verrokki", "svc_units"] == pytest.approx(10 / 4)
