"""The wellbeing notebook on the demo data: planted effects recovered by the primary (doubly robust) estimate, stable
result keys, disclosure rules, no identifiers in outputs, and clean papermill runs: every execution here runs with
``PYTHONWARNINGS=error::RuntimeWarning`` in the kernel, so no numeric warning can reach a page."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hbeval_lib.core.schema import FAMILY_DOMAINS, KYKYVIISARI_DOMAINS

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "wellbeing.md"

pytest.importorskip("hbeval_lib.demo.generator", reason="the demo generator (hbeval_lib.demo.generator) is not available")
papermill = pytest.importorskip("papermill")
jupytext = pytest.importorskip("jupytext")


STRICT = "error::RuntimeWarning"  # any numeric warning in the kernel is an error (PYTHONWARNINGS of the kernel)


def _execute(processed: Path, out_dir: Path, pilot: str, phase: str, warnings_filter: str | None = STRICT):
    """Run the notebook under papermill; return (executed notebook, results DataFrame, suppressions DataFrame).

    The kernel inherits ``PYTHONWARNINGS=<warnings_filter>``: with the default every RuntimeWarning raised anywhere
    (the project's code or a third-party library) fails the cell, so none can reach a page on any machine."""
    out_dir.mkdir(parents=True, exist_ok=True)
    ipynb = out_dir / "wellbeing.ipynb"
    jupytext.write(jupytext.read(NOTEBOOK), ipynb)
    results, supp = out_dir / f"{pilot}.results.csv", out_dir / f"{pilot}.suppressions.csv"
    with pytest.MonkeyPatch.context() as mp:
        if warnings_filter:
            mp.setenv("PYTHONWARNINGS", warnings_filter)
        nb = papermill.execute_notebook(
            str(ipynb), str(out_dir / f"{pilot}.ipynb"), kernel_name="hbeval", progress_bar=False,
            parameters={"pilot": pilot, "phase": phase, "processed_dir": str(processed),
                        "results_path": str(results), "suppressions_path": str(supp)})
    return nb, pd.read_csv(results), pd.read_csv(supp)


def _stderr(nb) -> str:
    return "\n".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", [])
                     if o.get("output_type") == "stream" and o.get("name") == "stderr")


def _text_outputs(nb) -> str:
    parts = []
    for c in nb.cells:
        for o in c.get("outputs", []):
            parts.append(o.get("text", ""))
            for k, v in (o.get("data") or {}).items():
                if k.startswith("text/"):
                    parts.append(v if isinstance(v, str) else "".join(v))
    return "\n".join(parts)


@pytest.fixture(scope="module")
def final_run(demo_processed, tmp_path_factory):
    processed, truth = demo_processed
    nb, results, supp = _execute(processed, tmp_path_factory.mktemp("wb_final"), "kaikki", "loppuraportti")
    return nb, results.set_index("key"), supp, truth, processed


def test_planted_kykyviisari_effects_inside_ci(final_run):
    _, res, _, truth, _ = final_run
    planted = truth["effects"]["kykyviisari"]
    checked = 0
    for domain, effect in planted.items():
        row = res.loc[f"kykyviisari.{domain}.adjusted_diff"]
        if domain in KYKYVIISARI_DOMAINS:
            assert not row["suppressed"], f"{domain}: the main domains must be estimable on the demo set"
        if row["suppressed"]:
            continue  # family domains exist only for families with children; small n is suppressed
        assert row["ci_low"] <= effect <= row["ci_high"], (domain, effect, row["ci_low"], row["ci_high"])
        assert row["n"] >= 10
        checked += 1
    assert checked >= len(KYKYVIISARI_DOMAINS)


def test_planted_osallisuustesti_effect_inside_ci(final_run):
    _, res, _, truth, _ = final_run
    row = res.loc["osallisuustesti.adjusted_diff"]
    assert not row["suppressed"]
    assert row["ci_low"] <= truth["effects"]["osallisuustesti"] <= row["ci_high"]


def test_stable_result_keys(final_run):
    _, res, _, _, _ = final_run
    for d in {**KYKYVIISARI_DOMAINS, **FAMILY_DOMAINS}:
        for key in (f"kykyviisari.{d}.adjusted_diff", f"kykyviisari.{d}.change.hb",
                    f"kykyviisari.{d}.change.verrokki"):
            assert key in res.index, key
    assert {"osallisuustesti.adjusted_diff", "osallisuustesti.change.hb", "osallisuustesti.change.verrokki"} <= set(
        res.index)
    shown = res[~res["suppressed"] & res.index.str.endswith("adjusted_diff")]
    assert shown[["estimate", "ci_low", "ci_high", "n"]].notna().all().all()
    assert (shown["ci_low"] <= shown["estimate"]).all() and (shown["estimate"] <= shown["ci_high"]).all()


def test_published_statistics_respect_disclosure(final_run):
    _, res, supp, _, _ = final_run
    stats_rows = res[~res["suppressed"] & res["n"].notna() & ~res.index.str.startswith("recruitment.")]
    assert (stats_rows["n"] >= 10).all()
    suppressed = res[res["suppressed"]]
    assert suppressed[["estimate", "ci_low", "ci_high", "n", "p_value"]].isna().all().all()
    assert {"table", "cell", "rule"} <= set(supp.columns)
    assert supp["table"].str.startswith("wellbeing.").all()


def test_no_identifiers_and_no_project_warnings(final_run):
    nb, _, _, _, processed = final_run
    text = _text_outputs(nb)
    ids = pd.read_parquet(processed / "clients.parquet")["client_id"].dropna().astype(str)
    leaked = [i for i in ids if i in text]
    assert not leaked, f"client numbers in notebook outputs: {len(leaked)}"
    err = _stderr(nb)
    assert "hbeval_lib" not in err and "ipykernel" not in err, err[:2000]


def test_small_pilot_baseline_runs_cleanly(demo_processed, tmp_path):
    processed, _ = demo_processed
    clients = pd.read_parquet(processed / "clients.parquet")
    pilot = clients["pilot"].value_counts().sort_values(kind="stable").index[0]
    nb, res, _ = _execute(processed, tmp_path, pilot, "lahtotilanne")
    err = _stderr(nb)
    assert "hbeval_lib" not in err and "ipykernel" not in err, err[:2000]
    assert not res["key"].str.startswith("kykyviisari.").any()  # baseline: no change analyses yet
    assert res["key"].str.startswith("recruitment.").any()
    assert "Lähtötilanteen raportissa" in _text_outputs(nb)


def test_strict_warnings_kernel_really_raises(tmp_path):
    """The PYTHONWARNINGS set by _execute reaches the kernel: a notebook that provokes a RuntimeWarning fails."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import numpy as np\nnp.log(np.array([-1.0]))")]
    nb.metadata["kernelspec"] = {"name": "hbeval", "display_name": "hbeval", "language": "python"}
    src = tmp_path / "bad.ipynb"
    nbformat.write(nb, src)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PYTHONWARNINGS", STRICT)
        with pytest.raises(papermill.PapermillExecutionError, match="RuntimeWarning"):
            papermill.execute_notebook(str(src), str(tmp_path / "out.ipynb"), kernel_name="hbeval",
                                       progress_bar=False)


def test_final_report_of_the_smallest_pilot_runs_with_strict_warnings(demo_processed, tmp_path):
    """A small pilot's final report (suppressed differences, few controls) under PYTHONWARNINGS=error."""
    processed, _ = demo_processed
    clients = pd.read_parquet(processed / "clients.parquet")
    pilot = clients["pilot"].value_counts().sort_values(kind="stable").index[0]
    nb, res, _ = _execute(processed, tmp_path, pilot, "loppuraportti")
    err = _stderr(nb)
    assert "Warning" not in err, err[:2000]
    shown = res[~res["suppressed"]]
    values = shown[["estimate", "ci_low", "ci_high", "p_value"]].to_numpy(dtype=float)
    assert np.isfinite(values[~np.isnan(values)]).all()
    text = _text_outputs(nb)
    assert "Ensisijainen tulosmuuttuja" in text or "ei näytetä" in text


def test_final_report_shows_no_non_finite_number(final_run):
    nb, res, _, _, _ = final_run
    values = res.loc[~res["suppressed"], ["estimate", "ci_low", "ci_high", "p_value"]].to_numpy(dtype=float)
    assert np.isfinite(values[~np.isnan(values)]).all()
    text = _text_outputs(nb)
    assert "−inf" not in text and " inf" not in text and "nan" not in text.lower().split()
    assert "Warning" not in _stderr(nb)
