"""Intake of ../shared/samples/raw (an independent raw set the project did not write) against its truth.json
(planted counts, faults and totals), and of a demo raw set against the demo's own truth."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from hbeval_lib.intake.instruments import MARKDOWN_INSTRUMENTS
from hbeval_lib.core.schema import TABLES

# FAULTS.md kinds -> the quarantine reason vocabulary (data/README.md)
KIND_TO_REASON = {"negative_km": "negative_value", "client_not_hb": "group_mismatch",
                  "score_out_of_range": "out_of_range", "minutes_out_of_range": "out_of_range",
                  "duplicate_row": "duplicate", "non_numeric_hours": "invalid_number", "invalid_date": "invalid_date",
                  "unknown_client": "unknown_client", "invalid_client_number": "invalid_client_number",
                  "conflicting_marks": "conflicting_marks"}
DTYPES = {"str": ("str", "string"), "date": ("datetime64[ns]",), "float": ("float64",), "Int64": ("Int64",),
          "bool": ("bool",)}


def _rel(path: str) -> str:
    return path.removeprefix("raw/")


def _sheet(name: str) -> str:
    return "" if name == "(csv)" else name


@pytest.fixture(scope="module")
def accounts(samples_processed):
    read = lambda n: pd.read_csv(samples_processed / n, dtype=str, keep_default_na=False)  # noqa: E731
    rec = read("reconciliation.csv")
    for c in ("read", "accepted", "skipped", "rejected", "excluded_no_consent"):
        rec[c] = rec[c].astype(int)
    return rec, read("quarantine.csv"), read("flags.csv")


def _tabular(truth):
    return {k: v for k, v in truth["instruments"].items() if "by_file" in v}


def test_counts_per_file_and_sheet(samples_truth, accounts):
    rec = accounts[0]
    for inst, info in _tabular(samples_truth).items():
        for path, sheets in info["by_file"].items():
            for sheet, c in sheets.items():
                row = rec[(rec["file"] == _rel(path)) & (rec["sheet"] == _sheet(sheet))]
                assert len(row) == 1, (path, sheet)
                got = row.iloc[0]
                assert (got["instrument"], got["read"], got["accepted"], got["skipped"], got["rejected"]) == (
                    inst, c["rows_written"], c["accept"], c["skip"], c["reject"]), (path, sheet)


def test_counts_per_instrument(samples_truth, accounts):
    rec = accounts[0]
    by = rec.groupby("instrument")[["read", "accepted", "skipped", "rejected"]].sum()
    for inst, info in _tabular(samples_truth).items():
        assert tuple(by.loc[inst]) == (info["rows_written"], info["accept"], info["skip"], info["reject"]), inst
        assert (rec["instrument"] == inst).sum() == sum(len(s) for s in info["by_file"].values())


def test_read_is_accepted_plus_skipped_plus_rejected(accounts):
    rec = accounts[0]
    assert (rec["read"] == rec["accepted"] + rec["skipped"] + rec["rejected"]).all()
    assert (rec["excluded_no_consent"] <= rec["accepted"]).all()


def test_every_fault_in_quarantine(samples_truth, accounts):
    q = accounts[1]
    faults = [f for info in samples_truth["instruments"].values() for f in info.get("faults", [])]
    assert faults, "the sample set plants faults"
    for f in faults:
        hit = q[(q["file"] == _rel(f["file"])) & (q["row"] == str(f["row"]))]
        assert len(hit) == 1, f
        assert hit.iloc[0]["reason"] == KIND_TO_REASON[f["kind"]], f
    total_rejected = sum(info.get("reject", 0) for info in _tabular(samples_truth).values())
    assert len(q) == total_rejected  # nothing else rejected


def test_variants_and_skips_not_rejected(samples_truth, accounts):
    q = accounts[1]
    for info in samples_truth["instruments"].values():
        for v in info.get("variants", []):
            assert not ((q["file"] == _rel(v["file"])) & (q["row"] == str(v["row"]))).any(), v


def test_consent_ei_clients_excluded(samples_truth, samples_processed, accounts):
    rec = accounts[0]
    roster = samples_truth["roster"]
    clients = pd.read_parquet(samples_processed / "clients.parquet")
    assert len(clients) == roster["total"] - roster["consent_ei"]
    assert rec.loc[rec["instrument"] == "asiakkaat", "excluded_no_consent"].sum() == roster["consent_ei"]
    assert (clients["arm"] == "hb").sum() == roster["HB"] - roster["consent_ei_HB"]
    known = set(clients["client_id"])
    for name in TABLES:
        df = pd.read_parquet(samples_processed / f"{name}.parquet")
        if "client_id" in df.columns:
            ids = set(df["client_id"].dropna())
            assert ids <= known, name  # no refusing (or unknown) client anywhere


def test_planted_totals(samples_truth, samples_processed, accounts):
    p = samples_processed
    b = samples_truth["budjetti"]
    assert pd.read_parquet(p / "budgets.parquet")["budget_eur"].sum() == pytest.approx(b["budget_total_consenting"])
    assert pd.read_parquet(p / "budget_use.parquet")["amount_eur"].sum() == pytest.approx(
        b["commitments_total_consenting"], abs=0.01)
    t = pd.read_parquet(p / "tyoaika.parquet")
    kinds = {"HB": "hb", "verrokki": "verrokki", "muu": "muu", "general": "yleinen"}
    for month, info in samples_truth["tyoaika_minutes"].items():
        for k, minutes in info["minutes_consenting"].items():
            got = t.loc[(t["month"] == month) & (t["client_kind"] == kinds[k]), "minutes"].sum()
            assert got == minutes, (month, k)
    s = pd.read_parquet(p / "services.parquet")
    arm = s["arm"].map({"hb": "HB", "verrokki": "verrokki"})
    got = s.groupby([arm, s["service"], s["unit"]])["quantity"].sum()
    for key, q in samples_truth["palvelut_quantity_consenting"].items():
        assert got[tuple(key.split("|"))] == pytest.approx(q), key
    a = pd.read_parquet(p / "asiakaskysely.parquet")
    assert a["form"].value_counts().to_dict() == {"hb": samples_truth["asiakaskysely"]["responses"]["HB"],
                                                  "verrokki": samples_truth["asiakaskysely"]["responses"]["Verrokki"]}
    for pair, m in samples_truth["asiakaskysely"]["comparison_means"].items():
        # an item number may mean different questions on the two forms (then the column is text): compare per form
        for form, item, key in (("hb", pair.split("↔")[0], "HB"), ("verrokki", pair.split("↔")[1], "Verrokki")):
            col = a.loc[a["form"] == form, "q" + item.replace(".", "_")]
            num = pd.to_numeric(col.astype("str"), errors="coerce")
            value = num.mean() if num.notna().any() else (col == "a").mean()  # yes/no items: share of a = kyllä
            assert value == pytest.approx(m[key], abs=1e-4), (pair, form)
            assert col.notna().sum() == m[f"n_{key}"], (pair, form)
    av = pd.read_parquet(p / "avustajakulut.parquet")
    rec = accounts[0]
    av_rec = rec[rec["instrument"] == "avustajakulut"]
    refused_files = ((av_rec["excluded_no_consent"] == av_rec["accepted"]) & (av_rec["accepted"] > 0)).sum()
    assert av["assistant_id"].nunique() + refused_files == samples_truth["avustajakulut"]["files"]


def test_identifiers_never_written(samples_truth, samples_processed):
    identifiers = samples_truth["identifiers"]
    assert identifiers
    for path in sorted(Path(samples_processed).iterdir()):
        if path.suffix == ".parquet":
            text = pd.read_parquet(path).astype("str").to_csv(index=False)
        else:
            text = path.read_text(encoding="utf-8")
        leaked = [i for i in identifiers if i in text]
        assert not leaked, (path.name, leaked[:3])


def test_tables_follow_schema(samples_processed):
    for name, schema in TABLES.items():
        df = pd.read_parquet(samples_processed / f"{name}.parquet")
        assert list(df.columns[:len(schema)]) == list(schema), name
        for col, dtype in schema.items():
            assert str(df[col].dtype) in DTYPES[dtype], (name, col, df[col].dtype)


def test_markdown_instruments_one_row_per_file(samples_truth, accounts):
    rec = accounts[0]
    for inst in MARKDOWN_INSTRUMENTS:
        rows = rec[rec["instrument"] == inst]
        if rows.empty:
            pytest.skip("hbeval_lib.strands.services.qualitative not available")
        assert len(rows) == samples_truth["instruments"][inst]["files"]
        assert rows["file"].is_unique


def test_flags_file_columns(accounts):
    flags = accounts[2]
    assert list(flags.columns) == ["instrument", "file", "sheet", "row", "column", "value", "reason"]
    assert set(flags["reason"]) <= {"outside_clienthood", "after_cutoff", "too_few_items", "repeated_row"}


def test_osallisuustesti_score_rule(samples_processed):
    o = pd.read_parquet(samples_processed / "osallisuustesti.parquet")
    items = o[[f"k{i}" for i in range(1, 11)]]
    assert (o["n_answered"] == items.notna().sum(axis=1)).all()
    enough = o["n_answered"] >= 8
    assert o.loc[enough, "score"].to_numpy() == pytest.approx(items[enough].mean(axis=1).to_numpy())
    assert o.loc[~enough, "score"].isna().all()


def test_demo_set_accounts_for_every_row(demo_raw, demo_processed):
    """Another raw set in the same contract (the project's demo generator): counts equal its planted truth."""
    _, truth = demo_raw
    out, _ = demo_processed
    rec = pd.read_csv(out / "reconciliation.csv")
    assert (rec["read"] == rec["accepted"] + rec["skipped"] + rec["rejected"]).all()
    by = rec.groupby("instrument")[["read", "accepted", "skipped", "rejected", "excluded_no_consent"]].sum()
    for inst, c in truth["counts"].items():
        assert inst in by.index, inst
        got = by.loc[inst]
        assert {k: int(got[k]) for k in c} == c, inst
