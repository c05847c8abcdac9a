"""Strand 2 on the demo data: the planted provider mix is recovered, and the service_process and synthesis
notebooks run under papermill (jupytext MyST → .ipynb → papermill, kernel "hbeval")."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from hbeval_lib.strands.services import stats as sv
from hbeval_lib.core import tables
from hbeval_lib.config import load_config

REPO = Path(__file__).resolve().parents[1]
CFG = load_config()


def _spending(processed: Path) -> pd.DataFrame:
    bu = tables.load("budget_use", processed, phase="loppuraportti", cfg=CFG)
    se = tables.load("services", processed, phase="loppuraportti", cfg=CFG)
    return sv.spending_by_provider(bu, se, sv.unit_prices(CFG))


def test_demo_hb_provider_shares_recover_planted(demo_processed):
    processed, truth = demo_processed
    planted = truth["providers"]["hb_budget_share"]
    sp = _spending(processed)
    budget = sp[sp["source"] == "budjetti"]
    shares = sv.provider_shares(budget).loc["kaikki"]
    for provider, share in planted.items():
        # Tolerance from the sample: four client-clustered bootstrap standard errors of the estimated share
        # (a planted value outside ±4 SE happens by chance with probability < 1e-4 per provider).
        se = sv.bootstrap_share_se(budget, provider, n_boot=400, seed=1)
        assert abs(shares[provider] - share) < 4 * se + 1e-9, (provider, shares[provider], share, se)


def test_demo_hb_nonpublic_share_clearly_above_control(demo_processed):
    processed, truth = demo_processed
    sp = _spending(processed)
    ns = sv.nonpublic_share(sp)
    hb, ctrl = ns.loc["hb", "share"], ns.loc["verrokki", "share"]
    se = sv.bootstrap_share_se(sp[sp["arm"] == "hb"], sv.NON_PUBLIC, n_boot=400, seed=2)
    assert hb - ctrl > 4 * se
    # the planted non-public share of the budget bounds HB's share from above (public services are added)
    planted_np = 1 - truth["providers"]["hb_budget_share"]["julkinen"]
    assert hb < planted_np + 4 * se
    types = sv.provider_types_per_client(sp)
    assert types[types["arm"] == "hb"]["n_types"].mean() > types[types["arm"] == "verrokki"]["n_types"].mean() + 1


def _run_notebook(stem: str, out: Path, params: dict) -> Path:
    """jupytext → .ipynb → papermill with the hbeval kernel; returns the executed notebook."""
    pytest.importorskip("papermill")
    import jupytext
    import papermill as pm

    nb = jupytext.read(REPO / "notebooks" / f"{stem}.md")
    src = out / f"{stem}.ipynb"
    jupytext.write(nb, src)
    done = out / f"{stem}.{params.get('pilot', 'kaikki')}.{params.get('phase', '')}.out.ipynb"
    pm.execute_notebook(str(src), str(done), parameters=params, kernel_name="hbeval", cwd=str(REPO),
                        progress_bar=False)
    return done


def _text_outputs(path: Path) -> str:
    nb = json.loads(path.read_text(encoding="utf-8"))
    parts = []
    for cell in nb["cells"]:
        for o in cell.get("outputs", []):
            if o["output_type"] == "stream":
                parts.append("".join(o["text"]))
            elif "data" in o:
                for kind in ("text/plain", "text/markdown", "text/html"):
                    parts.append("".join(o["data"].get(kind, "")))
            elif o["output_type"] == "error":
                parts.append(f"ERROR {o['ename']}")
    return "\n".join(parts)


@pytest.mark.parametrize("pilot,phase", [("kaikki", "loppuraportti"), ("kainuu", "lahtotilanne")])
def test_service_process_notebook_runs(demo_processed, tmp_path, pilot, phase):
    processed, truth = demo_processed
    res = tmp_path / f"{pilot}.results.csv"
    sup = tmp_path / f"{pilot}.suppressions.csv"
    done = _run_notebook("service_process", tmp_path, {"pilot": pilot, "phase": phase,
                                                       "processed_dir": str(processed),
                                                       "results_path": str(res), "suppressions_path": str(sup)})
    results = pd.read_csv(res)
    assert set(results["strand"]) == {"service_process"} and set(results["pilot"]) == {pilot}
    keys = set(results["key"])
    assert {f"palvelut.nonpublic_share.{a}" for a in ("hb", "verrokki")} <= keys
    assert {f"palvelut.provider_share.{p}" for p in sv.PROVIDER_ORDER} <= keys
    assert {f"laadullinen.{c}.{s}" for c in CFG.section("codebook") for s in ("lahtotilanne", "vali", "loppu")} \
        <= keys
    # suppressed rows carry no numbers
    assert results.loc[results["suppressed"], ["estimate", "n"]].isna().all().all()
    text = _text_outputs(done)
    assert "ERROR" not in text and "Traceback" not in text
    # no client numbers in the outputs
    clients = tables.read_table("clients", processed)["client_id"].astype(str)
    assert not any(re.search(rf"(?<!\d){c}(?!\d)", text) for c in clients)
    # no table shown on the page is mostly hidden: such a table became one sentence (issue 21)
    from hbeval_lib.page import readable

    stats = readable.page_stats(done)
    assert stats["mostly_hidden"] == 0 and stats["tables"] > 0, stats
    if pilot != "kaikki":
        assert stats["replaced"] > 0, stats
    # the plan's third main question is a section of the page, with protected evidence under it
    nb = json.loads(done.read_text(encoding="utf-8"))
    heading = "Millä edellytyksillä HB-toimintamalli on Suomessa toteutettavissa ja otettavissa käyttöön"
    assert any(c["cell_type"] == "markdown" and heading in "".join(c["source"]) for c in nb["cells"])
    assert "kappaleet, jotka tutkijat koodasivat asiakaslähtöistä palvelua edistäviksi" in text
    r_all = results.set_index("key")
    assert not r_all.loc["edellytykset.laadullinen.estaa.kaikki", "suppressed"]
    if pilot == "kaikki":
        # the notebook publishes what the library computes from the same tables
        sp = _spending(processed)
        r = results.set_index("key")
        assert r.loc["palvelut.nonpublic_share.hb", "estimate"] == pytest.approx(
            sv.nonpublic_share(sp).loc["hb", "share"], rel=1e-5)
        assert r.loc["palvelut.nonpublic_share.verrokki", "estimate"] == 0.0


def test_synthesis_notebook_uses_strand_results(demo_processed, tmp_path, write_costs_results):
    processed, _ = demo_processed
    book = tmp_path / "book" / "loppuraportti"
    # the service-process strand's real results, and a hand-made costs table with one suppressed key
    _run_notebook("service_process", tmp_path, {"pilot": "kaikki", "phase": "loppuraportti",
                                                "processed_dir": str(processed),
                                                "results_path": str(book / "palveluprosessi" / "kaikki.results.csv"),
                                                "suppressions_path": ""})
    write_costs_results(book)
    done = _run_notebook("synthesis", tmp_path, {"pilot": "kaikki", "phase": "loppuraportti",
                                                 "processed_dir": str(processed), "results_dir": str(book),
                                                 "results_path": str(tmp_path / "synth.results.csv"),
                                                 "suppressions_path": ""})
    text = _text_outputs(done)
    assert "ERROR" not in text
    # a number read from the costs CSV appears (Finnish formatting), a suppressed or missing key says so
    assert "1 234,5" in text or "1 235" in text
    assert "ei saatavilla" in text
    sp_share = pd.read_csv(book / "palveluprosessi" / "kaikki.results.csv").set_index("key") \
        .loc["palvelut.nonpublic_share.hb", "estimate"]
    assert f"{100 * sp_share:.0f} %" in text
    synth = pd.read_csv(tmp_path / "synth.results.csv")
    assert set(synth["strand"]) == {"synthesis"}
    # the conditions for implementation: the plan's question as a heading, evidence read from the protected results
    nb = json.loads(done.read_text(encoding="utf-8"))
    heading = "Millä edellytyksillä HB-toimintamalli on Suomessa toteutettavissa ja otettavissa käyttöön"
    assert any(c["cell_type"] == "markdown" and heading in "".join(c["source"]) for c in nb["cells"])
    assert "Lainsäädäntö" in text and "edellytyksiä koskeva näyttö" in text
    sp = pd.read_csv(book / "palveluprosessi" / "kaikki.results.csv").set_index("key")
    assert f"{int(sp.loc['edellytykset.laadullinen.estaa.kaikki', 'estimate'])}" in text
    assert synth.set_index("key").loc["synteesi.edellytykset.evidence_available", "estimate"] >= 8
