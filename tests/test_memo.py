"""The disk memo shared by the release stage and the notebooks: same inputs → stored result; any changed input
(tidy tables, parameters, configuration) → computed again; earlier versions are cleaned up."""

import pandas as pd

from hbeval_lib.core import memo


def test_memo_recomputes_exactly_when_an_input_changes(tmp_path):
    processed = tmp_path / "processed"
    processed.mkdir()
    pd.DataFrame({"a": [1, 2]}).to_parquet(processed / "clients.parquet")
    calls = []

    def compute():
        calls.append(1)
        return {"x": len(calls)}

    assert memo.cached(processed, "t", {"phase": "p"}, compute) == {"x": 1}
    assert memo.cached(processed, "t", {"phase": "p"}, compute) == {"x": 1} and len(calls) == 1
    assert memo.cached(processed, "t", {"phase": "q"}, compute) == {"x": 2}           # other parameters
    # the release stage's own files are not inputs
    pd.DataFrame({"b": [1]}).to_parquet(processed / "release_ledger.parquet")
    assert memo.cached(processed, "t", {"phase": "q"}, compute) == {"x": 2} and len(calls) == 2
    assert memo.cached(processed, "t", {"phase": "p"}, compute, cfg={"k": 1}) == {"x": 3}   # other configuration
    # changed tidy tables: computed again, and the results of earlier inputs are removed
    pd.DataFrame({"a": [1, 2, 3]}).to_parquet(processed / "clients.parquet")
    assert memo.cached(processed, "t", {"phase": "p"}, compute) == {"x": 4}
    assert len(list((processed / memo.MEMO_DIR).glob("t-*.pkl"))) == 1


def test_memo_can_be_switched_off(tmp_path, monkeypatch):
    monkeypatch.setenv("HBEVAL_NO_MEMO", "1")
    calls = []
    for _ in range(2):
        memo.cached(tmp_path, "t", {}, lambda: calls.append(1))
    assert len(calls) == 2
