"""The cost strand on the demo data: planted quantities (truth.json) lie inside the bootstrap CIs, the
bootstrap is reproducible, and the notebook runs under papermill."""

from __future__ import annotations

import re

import nbformat
import numpy as np
import pandas as pd
import pytest

from hbeval_lib.strands.costs import cea
from hbeval_lib.strands.costs import stats as costs
from hbeval_lib.config import REPO_ROOT, load_config

B = 2000
# about ten planted quantities are checked at once: 99 % intervals keep the family-wise chance of a false
# alarm near 10 % (Bonferroni) while a wrong method (e.g. zeros for non-responders) still falls outside
LEVEL = 0.99


@pytest.fixture(scope="module")
def demo(demo_processed):
    processed, truth = demo_processed
    cfg = load_config()
    t = costs.load_tables(processed, "loppuraportti", "kaikki", cfg)
    use = costs.resource_use(t, cfg.phase("loppuraportti").cutoff, cfg)
    return processed, truth, cfg, use


def _ci(df, col, arm, denominator=None, seed=7):
    draws = cea.bootstrap_means(df.reset_index(drop=True), [col], replicates=B, seed=seed, denominator=denominator)
    return cea.percentile_ci(draws[arm][col], LEVEL)


def test_planted_resource_use_inside_cis(demo):
    _, truth, cfg, use = demo
    tc = truth["costs"]
    for arm in ("hb", "verrokki"):
        measured = use[use["worker_measured"]]
        lo, hi = _ci(measured, "worker_min_pm", arm)
        assert lo <= tc["worker_minutes_per_client_month"][arm] <= hi, (arm, lo, hi)
        rep = use[use["own_reported"]]
        lo, hi = _ci(rep, "own_min", arm, "months")
        assert lo <= tc["own_minutes_per_client_month"][arm] <= hi, (arm, lo, hi)
    lo, hi = _ci(use[use["budget_eur"] > 0], "budget_use_eur", "hb", "months")
    assert lo <= tc["budget_use_eur_per_client_month_hb"] <= hi


def test_planted_service_costs_priced_inside_cis(demo):
    _, truth, cfg, use = demo
    uc = costs.UnitCosts.from_config(cfg)
    priced = costs.price(use, uc)
    for arm in ("hb", "verrokki"):
        planted = truth["costs"]["service_units_per_client_month"][arm]
        eur = sum(units * uc.services[costs._key(s)][0] for s, units in planted.items())
        lo, hi = _ci(priced, "palvelut", arm, "months")
        assert lo <= eur <= hi, (arm, eur, lo, hi)


def test_planted_cost_difference_inside_incremental_ci(demo):
    # the planted difference in priced services + budget use per client-month (HB − control)
    _, truth, cfg, use = demo
    uc = costs.UnitCosts.from_config(cfg)
    priced = costs.price(use, uc)
    priced["planted_items"] = priced["palvelut"] + priced["hb_budjetti"]
    tc = truth["costs"]["service_units_per_client_month"]
    svc = {a: sum(u * uc.services[costs._key(s)][0] for s, u in tc[a].items()) for a in ("hb", "verrokki")}
    planted = svc["hb"] + truth["costs"]["budget_use_eur_per_client_month_hb"] - svc["verrokki"]
    inc = costs.incremental_cost(priced, column="planted_items", replicates=B, seed=3, adjust_for=(),
                                level=LEVEL)
    assert inc.loc["unadjusted", "ci_low"] <= planted <= inc.loc["unadjusted", "ci_high"]


def test_bootstrap_identical_between_runs(demo):
    processed, _, cfg, _ = demo
    t = costs.load_tables(processed, "loppuraportti", "kaikki", cfg)
    r1 = costs.analyse(t, "loppuraportti", cfg, replicates=300)
    r2 = costs.analyse(t, "loppuraportti", cfg, replicates=300)
    pd.testing.assert_frame_equal(r1["summary"], r2["summary"])
    key = "primary"
    if r1["cea"].get(key) and r1["cea"][key]["result"] is not None:
        np.testing.assert_array_equal(r1["cea"][key]["result"]["ceac"], r2["cea"][key]["result"]["ceac"])


@pytest.mark.slow
@pytest.mark.parametrize("phase,pilot", [("loppuraportti", "kaikki"), ("lahtotilanne", "kainuu")])
def test_notebook_runs_under_papermill(demo, tmp_path, phase, pilot, monkeypatch):
    import jupytext
    import papermill

    # a numeric warning anywhere in the notebook's kernel is an error (issue 12: none may reach a page)
    monkeypatch.setenv("PYTHONWARNINGS", "error::RuntimeWarning")
    processed = demo[0]
    nb = jupytext.read(REPO_ROOT / "notebooks" / "costs.md")
    src = tmp_path / "costs.ipynb"
    jupytext.write(nb, src)
    res, sup = tmp_path / "r.csv", tmp_path / "s.csv"
    papermill.execute_notebook(str(src), str(tmp_path / "out.ipynb"), kernel_name="hbeval", progress_bar=False,
                               parameters={"pilot": pilot, "phase": phase, "processed_dir": str(processed),
                                           "results_path": str(res), "suppressions_path": str(sup)})
    r = pd.read_csv(res).set_index("key")
    for key in ("costs.per_client_month.hb", "costs.per_client_month.verrokki.kunta", "costs.incremental",
                "cea.icer", "cea.ceac.1000", "cea.inmb.1000"):
        assert key in r.index
    assert (r["strand"] == "costs").all() and sup.exists()
    if phase == "loppuraportti":
        assert not r.loc["costs.per_client_month.hb", "suppressed"]
        # the executed page's ICER is its own cost difference divided by its own effect difference
        # (results are written with 6 significant digits)
        assert not r.loc["cea.icer", "suppressed"]
        icer, dc, de = (r.loc[k, "estimate"] for k in ("cea.icer", "cea.delta_c", "cea.delta_e"))
        assert icer == pytest.approx(dc / de, rel=2e-5)
        assert r.loc["cea.inmb.5000", "estimate"] == pytest.approx(5000 * de - dc, rel=1e-4, abs=0.5)
    out = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    stderr = "".join("".join(o.get("text", "")) for c in out.cells for o in c.get("outputs", [])
                     if o.get("name") == "stderr")
    assert "Warning" not in stderr, stderr[:2000]
    texts = " ".join(str(o.get("data", {}).get("text/markdown", "")) + str(o.get("data", {}).get("text/html", ""))
                     for c in out.cells for o in c.get("outputs", []))
    assert not re.search(r"(?<![\w-])(nan|inf)(?![\w-])", texts), "a non-finite number reached the page"


def test_planted_support_network_time_inside_cis_and_extrapolated_without_bias(demo):
    """The relatives' own form (``laheiskulut``): the planted minutes per client-month lie inside the CI of the form
    returners, and the extrapolated rate over all clients too (the returners are a random sample). Zeros for the
    clients without a form would give about 30 % of the planted rate: outside."""
    _, truth, cfg, use = demo
    planted = truth["relatives"]["minutes_per_client_month"]
    assert use["support_reported"].any() and not use["support_reported"].all()
    for arm in ("hb", "verrokki"):
        lo, hi = _ci(use[use["support_reported"]], "support_min", arm, "months")
        assert lo <= planted[arm] <= hi, (arm, lo, hi)
        lo, hi = _ci(use, "support_min", arm, "months")
        assert lo <= planted[arm] <= hi, (arm, lo, hi)
        zeros = use["support_min"].where(use["support_reported"], 0.0)
        g = use["arm"] == arm
        assert float(zeros[g].sum() / use.loc[g, "months"].sum()) < lo   # the known-bad method falls outside
    # priced: the support time at the informal-care value of the configuration (€ 24.4 at 2017 prices)
    uc = costs.UnitCosts.from_config(cfg)
    assert uc.informal_alternative == cfg.section("time_valuation")["informal_care"]
    priced = costs.price(use, uc)
    for arm in ("hb", "verrokki"):
        lo, hi = _ci(priced, "laheiset_tukiaika", arm, "months")
        assert lo <= planted[arm] / 60 * uc.informal_value <= hi, (arm, lo, hi)
