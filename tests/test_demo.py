"""The synthetic demo generator (``hbeval_lib.demo.generator``): determinism, the contract's layout, intake accounting
against ``truth.json`` and the planted effects (checked against the generating parameters, the only truth a
synthetic set has)."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from hbeval_lib.demo.generator import INSTRUMENTS, generate

SMALL = 60  # clients in the extra sets generated here (the shared fixture has the default 180)


def _cells(path: Path) -> dict[str, list[tuple]]:
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        return {ws.title: [tuple(r) for r in ws.iter_rows(values_only=True)] for ws in wb.worksheets}
    finally:
        wb.close()


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def twice(tmp_path_factory):
    a, b = tmp_path_factory.mktemp("demo_a"), tmp_path_factory.mktemp("demo_b")
    return (a, generate(a, seed=5, clients=SMALL, faults="some")), (b, generate(b, seed=5, clients=SMALL,
                                                                                   faults="some"))


@pytest.fixture(scope="module")
def faulty(tmp_path_factory):
    """A --faults some set and its intake output."""
    from hbeval_lib.intake.run import run_intake

    raw = tmp_path_factory.mktemp("demo_faulty")
    truth = generate(raw, seed=11, clients=SMALL, faults="some")
    rep = run_intake(raw, tmp_path_factory.mktemp("demo_faulty_out"))
    return raw, truth, rep


# ------------------------------------------------------------------ determinism
def test_same_arguments_give_identical_files(twice):
    (a, ta), (b, tb) = twice
    fa, fb = _files(a), _files(b)
    assert [p.relative_to(a) for p in fa] == [p.relative_to(b) for p in fb]
    assert ta == tb
    for pa, pb in zip(fa, fb):
        if pa.suffix in (".csv", ".md", ".json"):
            assert pa.read_bytes() == pb.read_bytes(), pa.relative_to(a)
        elif pa.suffix == ".xlsx" and not pa.name.startswith("~$"):
            assert _cells(pa) == _cells(pb), pa.relative_to(a)


def test_another_seed_gives_other_data(twice, tmp_path):
    (a, ta), _ = twice
    tc = generate(tmp_path, seed=6, clients=SMALL, faults="some")
    assert tc["counts"] != ta["counts"]
    assert (tmp_path / "esr/esr_lomakkeet.csv").read_bytes() != (a / "esr/esr_lomakkeet.csv").read_bytes()


# ------------------------------------------------------------------ structure and layout
def test_every_instrument_folder_has_files_and_truth_has_the_convention_keys(demo_raw):
    raw, truth = demo_raw
    assert json.loads((raw / "truth.json").read_text(encoding="utf-8")) == truth
    for inst in INSTRUMENTS:
        files = [p for p in (raw / inst).iterdir() if p.suffix in (".xlsx", ".csv", ".md")
                 and not p.name.startswith("~$")]
        assert files, inst
    assert set(truth["counts"]) == set(INSTRUMENTS) and len(INSTRUMENTS) == 19
    for c in truth["counts"].values():
        assert set(c) == {"read", "accepted", "skipped", "rejected", "excluded_no_consent"}
        assert c["read"] == c["accepted"] + c["skipped"] + c["rejected"]
    assert truth["faults"] == [] and all(c["rejected"] == 0 for c in truth["counts"].values())
    domains = {"yleinen_hyvinvointi", "osallisuus", "mielen_hyvinvointi", "arjen_sujuminen", "taidot",
               "fyysinen_toimintakyky", "tyo_ja_tulevaisuus", "vanhemmuus", "parisuhde", "perhe"}
    assert set(truth["effects"]["kykyviisari"]) == domains
    assert any(v == 0 for v in truth["effects"]["kykyviisari"].values())          # effects differ by domain
    assert len(set(truth["effects"]["kykyviisari"].values())) >= 4
    assert truth["effects"]["baseline_shift_hb"] > 0
    assert set(truth["providers"]["hb_budget_share"]) == {"julkinen", "yksityinen", "jarjesto", "laheisverkosto",
                                                          "muu"}
    assert sum(truth["providers"]["hb_budget_share"].values()) == pytest.approx(1.0)
    for arm in ("hb", "verrokki"):
        assert {"kotipalvelu", "perhetyö", "perheneuvola", "sosiaalityön tapaaminen", "lastensuojelun avohuolto",
                "omaishoidon tuki"} <= set(truth["costs"]["service_units_per_client_month"][arm])
    assert (raw / "kykyviisari" / "~$kykyviisari_pori.xlsx").exists()


def test_roster_matches_the_plan_groups_and_has_small_control_groups(demo_raw):
    raw, truth = demo_raw
    from hbeval_lib.config import load_config

    cfg = load_config()
    groups_by_pilot = truth["clients"]["groups_by_pilot"]
    seen: dict[str, set] = {}
    n = 0
    for path in sorted((raw / "asiakkaat").iterdir()):
        if path.suffix == ".csv":
            rows = list(csv.reader(io.StringIO(path.read_bytes().decode("cp1252")), delimiter=";"))[1:]
            numbers = [r[0] for r in rows]
        else:
            sheet = next(iter(_cells(path).values()))
            hdr = next(i for i, r in enumerate(sheet) if r and r[0] == "Asiakasnumero")
            numbers = [str(r[0]) for r in sheet[hdr + 1:]]
        for num in numbers:
            assert re.fullmatch(r"\d{6}", num)
            pilot = cfg.pilot_by_code(int(num[0])).key
            seen.setdefault(pilot, set()).add(cfg.group_by_code(int(num[1])).key)
            n += 1
    assert n == truth["clients"]["total"] == 180
    for pilot, groups in seen.items():
        assert groups <= set(groups_by_pilot[pilot]), pilot
    assert seen["hameenlinna"] == {"lapsiperheet"}
    by = truth["clients"]["by_pilot_arm"]
    assert any(1 <= v["verrokki"] < 5 for v in by.values()), by      # a pilot with only a handful of controls
    assert truth["clients"]["no_consent"] >= 2


def test_forms_have_header_blocks_footnotes_examples_and_both_date_styles(demo_raw):
    raw, truth = demo_raw
    for inst, label in (("tyoaika", "Työntekijän tunnus"), ("asiakaskulut", "Nimi"),
                        ("avustajakulut", "Läheissuhde")):
        path = sorted((raw / inst).glob("*.xlsx"))[0]
        sheet = next(iter(_cells(path).values()))
        assert any(isinstance(c, str) and c.startswith(label) for r in sheet[:8] for c in r if c), (inst, label)
    headers, dates = set(), set()
    examples = 0
    for path in sorted((raw / "tyoaika").glob("*.xlsx")):
        sheet = next(iter(_cells(path).values()))
        hdr = next(i for i, r in enumerate(sheet) if r and r[0] and str(r[0]).startswith("Päivämäärä"))
        headers.update(c for c in sheet[hdr] if c)
        for r in sheet[hdr + 1:]:
            dates.add(type(r[0]).__name__)
            examples += r[4] == "xxxxx1"
    assert {"Asiakasnumero 6", "HB-asiakkuus8", "Päivämäärä (pp.kk.vvvv)"} <= headers
    assert {"datetime", "str"} <= dates
    assert examples > 0
    # identifiers written into the forms are listed in truth
    ids = set(truth["identifiers"])
    sheet = next(iter(_cells(sorted((raw / "asiakaskulut").glob("*.xlsx"))[0]).values()))
    name = next(r[1] for r in sheet if r[0] == "Nimi:")
    assert name in ids
    assert any(re.fullmatch(r"04\d \d{3} \d{4}", s) for s in ids)


def test_csv_files_in_finnish_encodings(demo_raw):
    raw, _ = demo_raw
    cp = (raw / "avustajakysely" / "avustajakysely.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        cp.decode("utf-8")
    assert cp.decode("cp1252").splitlines()[0].startswith("Pilotti;")
    assert (raw / "esr" / "esr_lomakkeet.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    text = (raw / "kykyviisari" / "kykyviisari_hameenlinna.csv").read_bytes().decode("utf-8-sig")
    assert re.search(r";\d+,\d;", text) and re.search(r";\d{1,2}\.\d{1,2}\.20\d\d;", text)


def test_markdown_front_matter_sections_and_tag_counts(demo_raw):
    raw, truth = demo_raw
    qual = truth["qualitative"]
    for rel, counts in qual["tag_counts"].items():
        text = (raw / rel).read_text(encoding="utf-8")
        assert text.startswith("---\npilotti: ")
        tags = re.findall(r"#([a-z]+)\b", "\n".join(ln for ln in text.splitlines() if not ln.startswith("#")))
        assert {t: tags.count(t) for t in set(tags)} == counts, rel
        if rel.startswith("paivakirjat/"):
            assert re.search(r"^## \d{1,2}\.\d{1,2}\.20\d\d$", text, re.M)
            for section in ("### Havainnot", "### Ajatukset", "### Johtopäätökset ja tulkinnat"):
                assert section in text
    by = qual["tag_counts_by_stage"]
    assert by["lähtötilanne"]["estaa"] > by["loppu"]["estaa"]
    assert by["loppu"]["edistaa"] > by["lähtötilanne"]["edistaa"]


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError):
        generate(tmp_path, faults="many")
    with pytest.raises(ValueError):
        generate(tmp_path, clients=3)


def test_cli_writes_a_set(tmp_path, capsys):
    from hbeval_lib.cli import main

    assert main(["demo-data", "--out", str(tmp_path), "--clients", "30", "--seed", "2"]) == 0
    truth = json.loads((tmp_path / "truth.json").read_text(encoding="utf-8"))
    assert truth["arguments"] == {"seed": 2, "clients": 30, "faults": "none"}
    out = capsys.readouterr().out
    assert "30 asiakasta" in out and not any(s in out for s in truth["identifiers"])


# ------------------------------------------------------------------ intake against truth
def _recon(df: pd.DataFrame) -> dict:
    cols = ["read", "accepted", "skipped", "rejected", "excluded_no_consent"]
    g = df.groupby("instrument")[cols].sum()
    return {i: {c: int(g.loc[i, c]) for c in cols} for i in g.index}


def test_intake_of_a_clean_set_rejects_nothing_and_counts_match(demo_processed):
    processed, truth = demo_processed
    q = pd.read_csv(processed / "quarantine.csv")
    assert len(q) == 0, q.head().to_string()
    assert _recon(pd.read_csv(processed / "reconciliation.csv")) == truth["counts"]


def test_intake_of_a_faulty_set_rejects_exactly_the_planted_faults(faulty):
    _, truth, rep = faulty
    assert 8 <= len(truth["faults"]) <= 14
    assert len({f["reason"] for f in truth["faults"]}) >= 9
    got = {(r.file, int(r.row), r.reason) for r in rep.quarantine.itertuples()}
    want = {(f["file"], f["row"], f["reason"]) for f in truth["faults"]}
    assert got == want
    assert _recon(rep.reconciliation) == truth["counts"]


def test_identifier_fields_do_not_reach_the_processed_tables(faulty, tmp_path):
    # names, addresses, employers and phones of the forms' identifier fields are dropped by intake; names and
    # phones inside diary quotes stay in the qualitative table's text (scrubbed only when a quote is published)
    raw, truth, _ = faulty
    from hbeval_lib.intake.run import run_intake

    run_intake(raw, tmp_path)
    text = "\n".join(pd.read_parquet(p).astype(str).to_csv() for p in sorted(tmp_path.glob("*.parquet"))
                     if p.stem != "qualitative")
    in_quotes = set(truth["identifiers_in_quotes"])
    assert in_quotes and in_quotes <= set(truth["identifiers"])
    fields = [s for s in truth["identifiers"] if s not in in_quotes]
    leaked = [s for s in fields if s in text]
    assert fields and not leaked, leaked[:5]
    qual = pd.read_parquet(tmp_path / "qualitative.parquet")
    quoted = " ".join(qual.loc[qual["quote_approved"], "text"])
    assert all(s in quoted for s in in_quotes)   # the planted quote identifiers are there for the scrubber


# ------------------------------------------------------------------ planted effects (default demo set)
def _ancova(df: pd.DataFrame, col: str) -> tuple[float, float, int]:
    import statsmodels.formula.api as smf

    a = df[df["occasion"] == "alku"].set_index("client_id")[[col, "arm"]].rename(columns={col: "base"})
    e = df[df["occasion"] == "loppu"].set_index("client_id")[[col]].rename(columns={col: "end"})
    m = a.join(e, how="inner").dropna()
    m["hb"] = (m["arm"] == "hb").astype(float)
    fit = smf.ols("end ~ hb + base", data=m).fit()
    return float(fit.params["hb"]), float(fit.bse["hb"]), len(m)


def test_planted_kykyviisari_effects_and_self_selection_are_recoverable(demo_processed):
    processed, truth = demo_processed
    k = pd.read_parquet(processed / "kykyviisari.parquet")
    for domain in ("yleinen_hyvinvointi", "osallisuus", "mielen_hyvinvointi", "arjen_sujuminen", "taidot",
                   "fyysinen_toimintakyky", "tyo_ja_tulevaisuus"):
        est, se, n = _ancova(k, domain)
        assert n >= 60
        assert abs(est - truth["effects"]["kykyviisari"][domain]) < 3 * se, (domain, est, se)
    base = k[k["occasion"] == "alku"]
    diff = base[base["arm"] == "hb"]["yleinen_hyvinvointi"].mean() - \
        base[base["arm"] == "verrokki"]["yleinen_hyvinvointi"].mean()
    assert diff == pytest.approx(truth["effects"]["baseline_shift_hb"], abs=0.45)
    # more attrition among controls: share of ended clienthoods with an end measurement
    c = pd.read_parquet(processed / "clients.parquet")
    ended = c[c["end_date"].notna()]
    has_end = ended["client_id"].isin(k.loc[k["occasion"] == "loppu", "client_id"])
    rate = has_end.groupby(ended["arm"]).mean()
    assert rate["hb"] > rate["verrokki"]


def test_planted_osallisuustesti_effect_and_short_tests(demo_processed):
    processed, truth = demo_processed
    o = pd.read_parquet(processed / "osallisuustesti.parquet")
    est, se, _ = _ancova(o, "score")
    assert abs(est - truth["effects"]["osallisuustesti"]) < 3 * se
    assert (o["n_answered"] < 8).any() and o.loc[o["n_answered"] < 8, "score"].isna().all()


def test_planted_provider_shares_and_worker_time(demo_processed):
    processed, truth = demo_processed
    b = pd.read_parquet(processed / "budget_use.parquet")
    share = b.groupby("provider")["amount_eur"].sum() / b["amount_eur"].sum()
    for key, planted in truth["providers"]["hb_budget_share"].items():
        assert share[key] == pytest.approx(planted, abs=0.06), key
    t = pd.read_parquet(processed / "tyoaika.parquet")
    t = t[t["client_kind"].isin(["hb", "verrokki"])]
    per = t.groupby(["client_id", "month", "client_kind"])["minutes"].sum().reset_index()
    means = per.groupby("client_kind")["minutes"].mean()
    planted = truth["costs"]["worker_minutes_per_client_month"]
    assert means["hb"] > means["verrokki"]
    for arm in ("hb", "verrokki"):
        assert means[arm] == pytest.approx(planted[arm], rel=0.3), arm


# ------------------------------------------------------------------ structural variants
def test_variants_shape_the_set_as_named_and_intake_accounts_for_it(tmp_path):
    """The sweep's structural variants are real: read back through intake (not from the generator's own lists), the
    single-control pilot has exactly one control, the no-interim pilot has no interim measurement or document,
    the late pilot has no client starting before the baseline cut-off — and the other pilots keep theirs."""
    from hbeval_lib.config import load_config
    from hbeval_lib.demo.generator import VARIANTS
    from hbeval_lib.intake.run import run_intake

    raw, out = tmp_path / "raw", tmp_path / "out"
    truth = generate(raw, seed=7, clients=120, variants=sorted(VARIANTS))
    assert truth["arguments"]["variants"] == VARIANTS
    rep = run_intake(raw, out)
    assert _recon(rep.reconciliation) == truth["counts"]
    clients = pd.read_parquet(out / "clients.parquet")
    ctrl = clients[clients["arm"] == "verrokki"].groupby("pilot").size()
    assert ctrl.get(VARIANTS["single-control"], 0) == 1 and (ctrl.drop(VARIANTS["single-control"]) > 1).all()
    kyky = pd.read_parquet(out / "kykyviisari.parquet")
    interim = kyky[kyky["occasion"] == "vali"].groupby("pilot").size()
    assert interim.get(VARIANTS["no-interim"], 0) == 0 and len(interim) >= 4
    qual = pd.read_parquet(out / "qualitative.parquet")
    stages = qual.groupby("pilot")["stage"].agg(set)
    assert "vali" not in stages[VARIANTS["no-interim"]] and all("vali" in s for p, s in stages.items()
                                                                 if p != VARIANTS["no-interim"])
    cutoff = pd.Timestamp(load_config().phases[0].cutoff)
    first = clients.groupby("pilot")["start_date"].min()
    assert first[VARIANTS["late-start"]] > cutoff and (first.drop(VARIANTS["late-start"]) <= cutoff).all()


def test_no_variant_leaves_the_files_unchanged(tmp_path):
    """Variants draw no extra random numbers: without them a seed gives the files it always gave (and the demo book
    its numbers); an unknown variant is refused."""
    a, b = tmp_path / "a", tmp_path / "b"
    generate(a, seed=3, clients=40)
    generate(b, seed=3, clients=40, variants=())
    assert [p.read_bytes() for p in _files(a)] == [p.read_bytes() for p in _files(b)]
    with pytest.raises(ValueError, match="unknown variant"):
        generate(tmp_path / "c", seed=3, clients=40, variants=["no-data"])
