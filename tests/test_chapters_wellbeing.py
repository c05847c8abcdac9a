"""The wellbeing chapter's section functions on the demo data: disclosure rules in what they return and record,
stable results keys, phase scoping, figures when the data suffice (properties, not snapshots)."""

from __future__ import annotations

import math
import re

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from hbeval_lib.page import report  # noqa: E402
from hbeval_lib.strands.wellbeing import sections as ch  # noqa: E402
from hbeval_lib.config import load_config  # noqa: E402
from hbeval_lib.page.results import NUMERIC  # noqa: E402

PILOTS = ["kaikki", *[p.key for p in load_config().pilots]]
NUMBER = re.compile(r"^\d+$")


def _run(processed, pilot: str, phase: str) -> dict:
    """Every section of the notebook, in the notebook's order, on a fresh Report."""
    rep = report.start("wellbeing", phase, pilot, str(processed), prefix="wellbeing")
    s = {"rep": rep, "phase_note": ch.phase_note(rep), "recruitment": ch.recruitment(rep),
         "coverage": ch.coverage(rep), "dropout": ch.dropout(rep), "balance": ch.balance(rep)}
    s["balance_figure"] = ch.balance_figure(s["balance"].data)
    for name in ("kykyviisari_change", "kykyviisari_forest", "kykyviisari_within", "kykyviisari_trajectory",
                 "kykyviisari_sensitivity", "weighting_balance", "osallisuustesti"):
        s[name] = getattr(ch, name)(rep)
    s["osallisuustesti_details"] = ch.osallisuustesti_details(rep)
    for name in ("primary_sensitivity", "survey_respondents", "survey_pairs_figure", "survey_comparison",
                 "survey_hb_figure"):
        s[name] = getattr(ch, name)(rep)
    s["survey_choices"] = ch.survey_choices(rep)
    for name in ("survey_themes", "esr", "assistant"):
        s[name] = getattr(ch, name)(rep)
    return s


@pytest.fixture(scope="module")
def runs(demo_processed):
    processed, _ = demo_processed
    cache: dict = {}

    def get(pilot: str, phase: str) -> dict:
        if (pilot, phase) not in cache:
            cache[pilot, phase] = _run(processed, pilot, phase)
        return cache[pilot, phase]

    return get


@pytest.fixture(scope="module")
def small_pilot(demo_processed) -> str:
    processed, _ = demo_processed
    clients = pd.read_parquet(processed / "clients.parquet")
    return clients["pilot"].value_counts().sort_values(kind="stable").index[0]


def _sections(run: dict) -> list[ch.Section]:
    out = []
    for k, v in run.items():
        if k != "rep":
            out.extend(v if isinstance(v, list) else [v])
    return out


def _cells(table: pd.DataFrame, columns) -> list[str]:
    return [str(v) for c in columns if c in table.columns for v in table[c]]


# -- every pilot, final report ----------------------------------------------------------------------------------

@pytest.mark.parametrize("pilot", PILOTS)
def test_final_results_table_respects_disclosure(runs, pilot):
    run = runs(pilot, "loppuraportti")
    rep = run["rep"]
    res = rep.res.frame()
    assert res["key"].is_unique
    assert {"recruitment.n.hb", "recruitment.n.verrokki", "recruitment.n.total",
            "osallisuustesti.adjusted_diff", "osallisuustesti.change.hb", "osallisuustesti.change.verrokki"} <= set(
        res["key"])
    for d in ch.present_domains(rep):
        assert {f"kykyviisari.{d}.adjusted_diff", f"kykyviisari.{d}.change.hb", f"kykyviisari.{d}.hedges_g",
                f"kykyviisari.{d}.ancova_diff", f"kykyviisari.{d}.change_diff",
                f"kykyviisari.{d}.complete_case_diff"} <= set(res["key"])
    shown = res[~res["suppressed"]]
    assert np.isfinite(shown[NUMERIC].to_numpy(dtype=float)[~shown[NUMERIC].isna().to_numpy()]).all()
    suppressed = res[res["suppressed"]]
    assert suppressed[NUMERIC].isna().all().all(), "suppressed rows must carry no numbers"
    stats_rows = res[~res["suppressed"] & res["n"].notna() & ~res["key"].str.startswith("recruitment.")]
    assert (stats_rows["n"] >= rep.dc.min_n_stat).all()
    counts = res[res["key"].str.startswith("recruitment.") & ~res["suppressed"]]
    assert ((counts["estimate"] == 0) | (counts["estimate"] >= rep.dc.min_count)).all()
    log = rep.dc.frame()
    assert log.empty or log["table"].str.startswith("wellbeing.").all()


@pytest.mark.parametrize("pilot", PILOTS)
def test_final_shown_tables_hide_small_counts_and_statistics(runs, pilot):
    run = runs(pilot, "loppuraportti")
    rep = run["rep"]
    min_n, min_count = rep.dc.min_n_stat, rep.dc.min_count
    # between-group tables: a shown difference rests on >= min_n_stat clients with an end score in each arm
    for name in ("kykyviisari_change", "osallisuustesti"):
        t = run[name].table
        if t is None:
            continue
        for _, row in t.iterrows():
            if row["Ero HB − verrokki"] != "–":
                assert int(row["n (HB)"]) >= min_n and int(row["n (verrokki)"]) >= min_n
            else:
                assert all(row[c] == "–" for c in t.columns if c not in ("Mittari", "Asema", "n (HB)",
                                                                          "n (verrokki)"))
            assert NUMBER.match(row["n (HB)"]) is None or int(row["n (HB)"]) >= min_count or row["n (HB)"] == "0"
    # statistics tables: a shown statistic has n >= min_n_stat, otherwise every number is '–'
    for t in [run["kykyviisari_within"].table, run["assistant"].table,
              *[s.table for s in run["osallisuustesti_details"][:1]]]:
        if t is None:
            continue
        for _, row in t.iterrows():
            if row["n"] == "–":
                assert all(row[c] in ("–", "") for c in t.columns if c not in ("Mittari", "Analyysi", "Ryhmä",
                                                                               "Osa-alue", "Avustaja", "n"))
            else:
                assert int(row["n"]) >= min_n
    cmp = run["survey_comparison"].table
    if cmp is not None:
        for _, row in cmp.iterrows():
            if row["p"] != "–":
                assert int(row["n (HB)"]) >= min_n and int(row["n (verrokki)"]) >= min_n
            else:
                assert row["HB"] == row["Verrokki"] == "–"
    # count tables: no count 1..min_count-1 is shown as a number
    count_tables = [run[n].table for n in ("recruitment", "coverage", "survey_themes", "esr")]
    count_tables += [s.table for s in run["survey_choices"]]
    for t in (t for t in count_tables if t is not None):
        values = [v for v in t.drop(columns=["Osuus"], errors="ignore").to_numpy().ravel() if NUMBER.match(str(v))]
        assert all(int(v) == 0 or int(v) >= min_count for v in values), t
    for text in run["recruitment"].glue.values():
        assert not NUMBER.match(text) or int(text) == 0 or int(text) >= min_count


@pytest.mark.parametrize("pilot", PILOTS)
def test_final_sections_show_no_client_ids(runs, pilot, demo_processed):
    processed, _ = demo_processed
    ids = set(pd.read_parquet(processed / "clients.parquet")["client_id"].dropna().astype(str))
    shown = []
    for s in _sections(runs(pilot, "loppuraportti")):
        shown += [s.text, s.caption, *s.glue.values()]
        if s.table is not None:
            shown += [str(v) for v in s.table.to_numpy().ravel()] + [str(i) for i in s.table.index]
    text = "\n".join(shown)
    assert not [i for i in ids if i in text]


def test_all_pilots_final_has_figures_and_glue(runs):
    run = runs("kaikki", "loppuraportti")
    rep = run["rep"]
    for name in ("balance_figure", "kykyviisari_trajectory", "kykyviisari_forest", "survey_pairs_figure",
                 "survey_hb_figure"):
        s = run[name]
        assert isinstance(s.figure, Figure), name
        assert s.caption.startswith("*Kuvio "), name
    assert set(run["recruitment"].glue) == {"wellbeing_n_clients", "wellbeing_n_hb", "wellbeing_n_verrokki"}
    assert int(run["recruitment"].glue["wellbeing_n_clients"]) == len(rep.load("clients"))
    assert run["recruitment"].table is not None and rep.dc.total_label in run["recruitment"].table.index
    # the forest plot draws exactly the published (unsuppressed) differences; the glue is the configured primary
    # outcome's value, not the largest difference
    res = rep.res.frame().set_index("key")
    adj = res[res.index.str.match(r"kykyviisari\.\w+\.adjusted_diff$") & ~res["suppressed"]]
    forest = run["kykyviisari_forest"]
    assert len(forest.data) == len(adj)
    primary = ch.primary_outcome(rep)
    assert primary == "kykyviisari.osallisuus"  # hbeval.yml
    assert forest.glue["wellbeing_primary_outcome"] == "Osallisuus"
    assert forest.glue["wellbeing_primary_diff"] == report.num(res.loc[f"{primary}.adjusted_diff", "estimate"], 2)
    assert "ensisijai" in forest.caption and "Suurin ero" not in forest.caption
    assert forest.data["primary"].sum() == 1
    # multiplicity: the primary is named in the text; every other shown domain has a Holm-adjusted p >= its raw p
    assert "Ensisijainen tulosmuuttuja on osallisuus" in run["kykyviisari_change"].method
    for key in adj.index:
        holm = key.replace(".adjusted_diff", ".p_holm")
        if key == f"{primary}.adjusted_diff":
            assert holm not in res.index
        else:
            assert res.loc[holm, "estimate"] >= res.loc[key, "p_value"] - 1e-12
    table = run["kykyviisari_change"].table
    assert set(table["Asema"]) == {"ensisijainen", "eksploratiivinen"}
    # effect size is a between-group g; d_z is labelled as a within-arm description
    assert "Vaikutuksen koko g (95 % LV)" in table.columns and "d_z" not in " ".join(table.columns)
    assert any("ryhmän sisäinen" in c for c in run["kykyviisari_within"].table.columns)
    # sensitivity: weighted balance with ESS, Lord's paradox, E-value and tipping point in words
    assert "efektiivinen otoskoko" in run["weighting_balance"].text
    assert {"ps.ess.verrokki", "ps.max_abs_smd.before", "ps.max_abs_smd.after"} <= set(res.index)
    assert res.loc["ps.max_abs_smd.after", "estimate"] < res.loc["ps.max_abs_smd.before", "estimate"]
    assert "Lordin paradoksi" in run["kykyviisari_sensitivity"].method
    text = run["primary_sensitivity"].text
    assert "riskisuhteella" in text and "Puuttuvat tiedot" in text
    assert f"{primary}.tipping_delta" in res.index
    # the balance table's continuous rows are recorded as balance.*.smd
    assert res.index.str.startswith("balance.").any()
    assert "Osallisuustesti" in set(run["osallisuustesti"].table["Mittari"])
    # no count of imputed clients (with a printed baseline or complete-case count it gave a hidden one back,
    # unseen set seed 359), the imputation itself described
    assert "imputoitiin" not in run["kykyviisari_change"].text
    assert "moni-imputoitu" in run["kykyviisari_change"].method
    assert run["osallisuustesti"].caption  # the adjusted difference is estimable on the demo set


def test_show_displays_every_part(runs, capsys):
    run = runs("kaikki", "loppuraportti")
    ch.show(run["recruitment"], ch.Section(), *run["survey_choices"])
    out = capsys.readouterr().out
    assert "Markdown" in out and "Yhteensä" in out


# -- a small pilot at baseline ----------------------------------------------------------------------------------

def test_small_pilot_baseline(runs, small_pilot):
    run = runs(small_pilot, "lahtotilanne")
    rep = run["rep"]
    res = rep.res.frame()
    assert res["key"].str.startswith("recruitment.").any()
    assert not res["key"].str.match(r"(kykyviisari|osallisuustesti|asiakaskysely|esr|avustaja)\.").any()
    assert res.loc[res["suppressed"], NUMERIC].isna().all().all()
    assert "Lähtötilanteen raportissa" in run["phase_note"].text
    assert run["kykyviisari_change"].table is None and "ei vielä" in run["kykyviisari_change"].text
    assert run["kykyviisari_within"].table is None and run["osallisuustesti_details"] == []
    for name in ("kykyviisari_trajectory", "kykyviisari_forest", "survey_pairs_figure", "survey_hb_figure"):
        assert run[name].figure is None, name
    assert run["survey_choices"] == []
    for name in ("survey_comparison", "survey_themes"):
        assert run[name].table is None
    for name in ("survey_respondents", "esr", "assistant"):
        assert run[name].table is None and "loppuraportissa" in run[name].text
    # a small pilot: the balance table only with enough clients in both arms, and counts under 5 masked
    n_arm = rep.load("clients").groupby("arm")["client_id"].nunique()
    if n_arm.min() < rep.dc.min_n_stat:
        assert run["balance"].table is None and run["balance_figure"].figure is None
    for arm, n in n_arm.items():
        shown = run["recruitment"].glue[f"wellbeing_n_{arm}"]
        assert shown == (rep.dc.suppressed_mark if 0 < n < rep.dc.min_count else str(n))


@pytest.mark.parametrize("pilot", PILOTS)
def test_no_non_finite_number_is_shown(runs, pilot):
    text = []
    for s in _sections(runs(pilot, "loppuraportti")):
        text += [s.text, s.caption, *s.glue.values()]
        if s.table is not None:
            text += [str(v) for v in s.table.to_numpy().ravel()]
    joined = "\n".join(text).lower()
    assert "inf" not in joined.replace("informaa", "") and "nan" not in joined.split()


def test_a_non_finite_interval_is_explained_not_published(demo_processed):
    processed, _ = demo_processed
    rep = report.start("wellbeing", "loppuraportti", "kaikki", str(processed), prefix="wellbeing")
    bad = {"estimate": 0.4, "ci_low": -math.inf, "ci_high": math.nan, "p_value": math.nan, "reason": ""}
    assert ch._ci_cell(bad).startswith("ei laskettavissa")
    ch._add_effect(rep, "x.adjusted_diff", "x", bad, 40, True)
    row = rep.res.frame().iloc[0]
    assert row[["estimate", "ci_low", "ci_high", "p_value"]].isna().all() and "ei laskettavissa" in row["label"]


def test_kompassi_gives_kompassi_only_clients_a_descriptive_mapped_change(demo_processed, tmp_path):
    """Planted: the Hämeenlinna clients without a Kykyviisari end measurement are assessed with Kompassi only, 4 at
    the start and 6 at the end in every area (+2 on 1–10 = +2.22 on Kykyviisari's 0–10 by the documented mapping).
    The page shows that change for them and says it is uncalibrated and descriptive."""
    import shutil

    processed, _ = demo_processed
    work = tmp_path / "processed"
    shutil.copytree(processed, work, ignore=shutil.ignore_patterns("_memo"))
    kyky = pd.read_parquet(work / "kykyviisari.parquet")
    kh = kyky[kyky["pilot"] == "hameenlinna"]
    started = set(kh.loc[kh["occasion"] == "alku", "client_id"])
    ended = set(kh.loc[kh["occasion"] == "loppu", "client_id"])
    only = sorted(started - ended)
    assert len(only) >= 10
    komp = pd.read_parquet(work / "kompassi.parquet")
    areas = ["arki", "vanhemmuus", "parisuhde", "lapset", "oma_hyvinvointi", "verkostot", "talous"]
    # the clients with Kykyviisari are assessed with Kompassi too (no change): enough of them that the Kompassi-only
    # mean cannot be subtracted from the all-Kompassi mean of the service-process page to give a small group's
    new = []
    for who, change in ((only, 2.0), (sorted(started & ended), 0.0)):
        base = kh[kh["client_id"].isin(who) & (kh["occasion"] == "alku")].drop_duplicates("client_id")
        for occ, score, days in (("alku", 4.0, 0), ("loppu", 4.0 + change, 20)):
            r = base[["client_id", "pilot", "client_group", "worker", "seq", "arm"]].copy()
            r["date"] = base["date"] + pd.Timedelta(days=days)
            r["occasion"] = occ
            for a in areas:
                r[a] = score
            new.append(r)
    komp = pd.concat(new, ignore_index=True)[komp.columns]
    komp.to_parquet(work / "kompassi.parquet")

    rep = report.start("wellbeing", "loppuraportti", "hameenlinna", str(work), prefix="wellbeing")
    s = ch.kompassi_only(rep)
    assert "kalibroitu" in s.text and "vaikutusarvio" in s.text
    assert s.table is not None, s.text
    row = s.table.set_index("Kykyviisarin osa-alue").loc["Yleinen hyvinvointi"]
    assert row["Muutos (0–10)"] == report.num(2 * 10 / 9, 1) and row["Kompassin alue"] == "Oma hyvinvointi"
    res = rep.res.frame().set_index("key")
    r = res.loc["kompassi.kykyviisari.yleinen_hyvinvointi.change"]
    assert r["estimate"] == pytest.approx(2 * 10 / 9) and r["n"] == len(only)
    assert not any(k.startswith("kompassi.kykyviisari.") and "talous" in k for k in res.index)  # no counterpart
    # Parisuhde: Kykyviisari asks it of couples only, so few clients have both instruments there; their mean would
    # follow from the all-Kompassi mean of the service-process page: hidden, left out of the table, said in the text
    assert "Parisuhde" not in set(s.table["Kykyviisarin osa-alue"])
    assert res.loc["kompassi.kykyviisari.parisuhde.change", "suppressed"]
    assert "parisuhde muutosta ei näytetä, koska Kompassilla ja Kykyviisarilla arvioituja on alle" in s.text


def test_kompassi_only_is_hidden_for_few_clients_and_absent_elsewhere(runs):
    """On the demo only a few Hämeenlinna clients lack Kykyviisari where they have Kompassi: one sentence with its
    reason and a protected count, never a table of dashes; pages without Kompassi show nothing."""
    s = ch.kompassi_only(runs("hameenlinna", "loppuraportti")["rep"])
    assert s.table is None and s.text.startswith("**Kompassi")
    assert "ei näytetä, koska" in s.text or "ei tarvita" in s.text
    assert ch.kompassi_only(runs("pori", "loppuraportti")["rep"]).text == ""
    assert ch.kompassi_only(runs("hameenlinna", "lahtotilanne")["rep"]).text == ""


@pytest.mark.parametrize("pilot,phase", [(p, ph) for p in PILOTS for ph in ("loppuraportti", "lahtotilanne")])
def test_pilot_page_leads_with_what_its_data_allow(demo_processed, pilot, phase):
    """The first paragraph of a pilot's page is made of the page's own decisions: the group sizes as the
    recruitment table shows them, the primary comparison published exactly when the effects say so (with the
    logged reason when not), and the number of published comparisons."""
    processed, _ = demo_processed
    rep = report.start("wellbeing", phase, pilot, str(processed), prefix="wellbeing")
    rec = ch.recruitment(rep)
    s = ch.pilot_summary(rep, rec)
    if pilot == "kaikki":
        assert s.text == ""
        return
    assert s.text.startswith("**Mitä tämän pilotin aineistosta voi sanoa.**")
    hb, ver = rec.glue["wellbeing_n_hb"], rec.glue["wellbeing_n_verrokki"]
    if hb.isdigit() and ver.isdigit():
        assert f"Pilotissa on {hb} HB-asiakasta ja {ver} verrokkiasiakasta." in s.text
    else:
        assert "ei näytetä tarkasti" in s.text and "<" not in s.text.split("**")[2].split(".")[0]
    if phase == "lahtotilanne":
        assert "muutosta ei vielä arvioida" in s.text
        return
    eff = ch.effects(rep)
    prim = ch.primary_outcome(rep)
    published = eff[prim]["shown"]
    assert ("ryhmävertailu julkaistaan tällä sivulla" in s.text) == published
    if not published:
        assert rep.dc.why(f"{prim}.adjusted_diff", "n") in s.text
    n_shown = sum(e["shown"] for e in eff.values())
    if 0 < n_shown < len(eff):
        assert f"{len(eff)} mittarin ryhmävertailuista julkaistaan {n_shown}." in s.text


def test_the_dropout_sentence_gives_the_decisions_own_reason():
    """Unseen set seed 229: "Poistumaa ei voi verrata HB-ryhmässä, koska … jompikumpi on alle 10 henkilöä" under
    groups of 16 and 53 — the comparison was hidden by the phase rule. The sentence gives that reason; a comparison
    of too few persons keeps the old words (known bad: the old sentence had them whatever the decision)."""
    from types import SimpleNamespace

    from hbeval_lib.page.disclosure import Disclosure

    dc = Disclosure(table_prefix="wellbeing")
    dc.record("poistuma.hb", "smd", "phase")
    why = ch._dropout_reason(SimpleNamespace(dc=dc), ["hb"])
    assert "edellisen raportin" in why and "alle 10" not in why
    small = Disclosure(table_prefix="wellbeing")
    assert not small.stat_ok(4, "poistuma.verrokki", "smd")
    assert "jompikumpi on alle 10" in ch._dropout_reason(SimpleNamespace(dc=small), ["verrokki"])


def test_items_with_too_few_answers_are_named_in_one_sentence(runs, small_pilot):
    """Issue 18 (unseen set seed 283, read as a reader): a small pilot's page printed "alle 10 vastausta, ei
    näytetä." nine times in a row, one line per multiple-choice item. The items left out are named in one sentence;
    every item is either a table or named there."""
    for phase in ("valiarviointi", "loppuraportti"):
        secs = runs(small_pilot, phase)["survey_choices"]
        notes = [s for s in secs if s.table is None and "vastausta" in (s.text or "")]
        assert len(notes) <= 1
        shown = [s for s in secs if s.table is not None]
        items = ch._conf(runs(small_pilot, phase)["rep"]).get("hb_choice", {})
        if notes:
            named = notes[0].text.count("”") // 2
            assert named + len(shown) <= len(items) and named >= 1


@pytest.mark.parametrize("pilot", PILOTS)
def test_method_paragraphs_only_where_an_estimate_is_shown(runs, pilot):
    """Issue 18 (unseen set seed 283, read as a reader): a small pilot's page printed the whole AIPW / E-value
    method above a table with no estimate shown. A pilot page prints the method only when it shows an estimate."""
    run = runs(pilot, "loppuraportti")
    sec = run["kykyviisari_change"]
    eff = ch.effects(run["rep"])
    shown = any(e["shown"] for o, e in eff.items() if o.startswith(ch.KYKY))
    assert bool(sec.method) == (pilot == "kaikki" or shown)
    if not sec.method:
        assert "kaikkien pilottien sivulla" in sec.text


def test_a_paired_likert_caption_says_what_is_drawn(monkeypatch):
    """Unseen set seed 347: the caption asked to compare each item's HB and control bars where only the HB bar was
    drawn (the control answers hidden)."""
    from hbeval_lib.page.disclosure import Disclosure

    rep = report.start("wellbeing", "loppuraportti", "kainuu", "", prefix="wellbeing")
    rep.dc = Disclosure(table_prefix="wellbeing")
    idx = pd.MultiIndex.from_tuples([("Tieto", "hb"), ("Tieto", "verrokki"), ("Hyvinvointi", "hb")],
                                    names=["item", "group"])
    cnt = pd.DataFrame([[6, 6, 6, 6, 6], [5, 5, 5, 5, 5], [7, 7, 7, 7, 7]], index=idx, columns=list("12345"))
    cap = "*Kuvio 4. Jakaumat. Vertaa saman väittämän HB- ja verrokkipalkkia.*"
    both = ch._likert_figure(rep, cnt, "ei", cap, grouped=True, table="t.a")
    assert "Vertaa" in both.caption and "vain yksi palkki" in both.caption
    one = ch._likert_figure(rep, cnt.iloc[[0, 2]], "ei", cap, grouped=True, table="t.b")
    assert "Vertaa" not in one.caption and "vain yksi palkki" in one.caption
    full = ch._likert_figure(rep, cnt.iloc[[0, 1]], "ei", cap, grouped=True, table="t.c")
    assert full.caption == cap                                           # both bars of every item: as written


def _hiding_one_n(tmp_path, table: str, row: str, value: int, kind: str = "count", code: str = "secondary") -> None:
    """Render mode with a release that hides one cell (a count, or a statistic's n) of the final all-pilots page (the
    other cells: by their primary rules); the caller resets the mode."""
    import pandas as pd

    from hbeval_lib.page import cells as L

    led = pd.DataFrame([dict(strand="wellbeing", phase="loppuraportti", pilot="kaikki", table=table, row=row, col="",
                             kind=kind, value=value, margin="", primary="", link="", code=code,
                             suppressed=True, reason="")])
    led["value"] = led["value"].astype("Int64")
    path = tmp_path / "ledger.parquet"
    led.to_parquet(path, index=False)
    L.set_active(L.Renderer(path, lenient=True))


def test_assistant_groups_do_not_add_up_to_a_hidden_hb_n(demo_processed, tmp_path):
    """Unseen set seed 347: the change table hid the HB clients' n of a domain (142) while the assistant table printed
    its two groups, 85 + 57. Where the page hides that n, the groups' sizes are not printed and their results rows
    carry no n and two decimals."""
    import pandas as pd

    from hbeval_lib.page import cells as L

    processed, _ = demo_processed
    rep = report.start("wellbeing", "loppuraportti", "kaikki", str(processed), prefix="wellbeing")
    open_tab = ch.assistant(rep).table
    dom = next(d for d in ch.present_domains(rep)
               if open_tab[open_tab["Osa-alue"] == ch.wb.DOMAINS[d]]["n"].astype(str).str.isdigit().all())
    eff = ch.effects(rep)[f"{ch.KYKY}.{dom}"]["within"]["hb"]
    parts = open_tab[open_tab["Osa-alue"] == ch.wb.DOMAINS[dom]]["n"].astype(int)
    assert parts.sum() == int(eff["n"])                       # the groups add up to the HB n
    _hiding_one_n(tmp_path, f"wellbeing.{ch.KYKY}.{dom}.change.hb.n", "HB", int(eff["n"]))
    try:
        rep2 = report.start("wellbeing", "loppuraportti", "kaikki", str(processed), prefix="wellbeing")
        tab = ch.assistant(rep2).table
    finally:
        L.set_active(None)
    rows = tab[tab["Osa-alue"] == ch.wb.DOMAINS[dom]]
    assert (rows["n"] == ch.NOT_SHOWN).all()
    res = rep2.res.frame().set_index("key")
    for k in (f"avustaja.{dom}.change.kylla", f"avustaja.{dom}.change.ei"):
        if not res.loc[k, "suppressed"]:
            assert pd.isna(res.loc[k, "n"]) and res.loc[k, "estimate"] == round(res.loc[k, "estimate"], 2)


def test_a_mean_change_with_a_hidden_n_is_printed_without_what_gives_the_n_back(demo_processed, tmp_path):
    """Unseen set seed 359: a control group's mean change 0,33 with interval −0,05 … 0,72, t-test p 0,083 and d 0,55
    fits n = 12 only, the n the page hid; and results.csv gave the difference rows' n = 141 beside the HB n 99 (a
    hidden 42). Where the page hides an arm's n: the change alone (no interval, p or d), and no n of the arms' sum."""
    import pandas as pd

    from hbeval_lib.page import cells as L

    processed, _ = demo_processed
    rep = report.start("wellbeing", "loppuraportti", "kaikki", str(processed), prefix="wellbeing")
    o = f"{ch.KYKY}.osallisuus"
    n_ver = int(ch.effects(rep)[o]["within"]["verrokki"]["n"])
    _hiding_one_n(tmp_path, f"wellbeing.{o}.change.verrokki.n", "Verrokki", n_ver)
    try:
        rep2 = report.start("wellbeing", "loppuraportti", "kaikki", str(processed), prefix="wellbeing")
        ch.kykyviisari_change(rep2)
        within = ch.kykyviisari_within(rep2).table
    finally:
        L.set_active(None)
    row = within[(within["Mittari"] == "Osallisuus") & (within["Ryhmä"] == "Verrokki")].iloc[0]
    assert row["n"] == ch.NOT_SHOWN and row["Muutos"] != ch.NOT_SHOWN
    assert row["95 % LV"] == row["p (t-testi)"] == row["p (Wilcoxon)"] == ch.NOT_SHOWN
    hb = within[(within["Mittari"] == "Osallisuus") & (within["Ryhmä"] == "HB")].iloc[0]
    assert hb["95 % LV"] != ch.NOT_SHOWN                                   # the other arm keeps its interval
    res = rep2.res.frame().set_index("key")
    assert pd.isna(res.loc[f"{o}.change.verrokki", "ci_low"]) and pd.isna(res.loc[f"{o}.change.verrokki", "n"])
    for k in ("change_diff", "ancova_diff", "complete_case_diff", "adjusted_diff"):
        if not res.loc[f"{o}.{k}", "suppressed"]:
            assert pd.isna(res.loc[f"{o}.{k}", "n"]), k                     # the arms' sum is not printed


def test_the_difference_of_mean_changes_goes_with_both_changes(demo_processed, tmp_path):
    """Unseen set seed 359, Vantaa final report: the HB mean change was hidden (few newcomers since the interim
    report) while the control's change and the difference of the changes were printed — their sum is the HB change
    (0,52 + 0,33 = 0,85). The difference is printed only with both arms' changes."""
    from hbeval_lib.page import cells as L

    processed, _ = demo_processed
    rep = report.start("wellbeing", "loppuraportti", "kaikki", str(processed), prefix="wellbeing")
    o = f"{ch.KYKY}.osallisuus"
    e = ch.effects(rep)[o]
    assert ch._both_changes_shown(rep, o)                                  # the demo shows both
    _hiding_one_n(tmp_path, f"wellbeing.{o}.change.hb", "n", int(e["within"]["hb"]["n"]), kind="stat", code="phase")
    try:
        rep2 = report.start("wellbeing", "loppuraportti", "kaikki", str(processed), prefix="wellbeing")
        ch.kykyviisari_change(rep2)
        sens = ch.kykyviisari_sensitivity(rep2).table
    finally:
        L.set_active(None)
    res = rep2.res.frame().set_index("key")
    assert res.loc[f"{o}.change.hb", "suppressed"] and not res.loc[f"{o}.change.verrokki", "suppressed"]
    assert res.loc[f"{o}.change_diff", "suppressed"]
    assert sens.loc[sens["Mittari"] == "Osallisuus", "Muutospisteiden ero"].iloc[0] == ch.NOT_SHOWN


def test_a_survey_comparison_with_a_hidden_group_size_prints_no_test(demo_processed, tmp_path):
    """Unseen set seed 389: "51 % kyllä" (HB, n 53) against "39 % kyllä" with Fisher p 0,365 fitted 12 of 31 control
    respondents only, the n the page hid. With a group's n hidden: the shares alone, no test, p or r."""
    import pandas as pd

    processed, _ = demo_processed
    rep = report.start("wellbeing", "loppuraportti", "kaikki", str(processed), prefix="wellbeing")
    open_tab = ch.survey_comparison(rep).table
    first = open_tab.iloc[0]
    assert first["p"] != ch.NOT_SHOWN and str(first["n (verrokki)"]).isdigit()     # the demo shows it
    cmp = ch.wb.compare_items(ch._survey(rep), ch._conf(rep).get("comparison_pairs", []))
    r = next(cmp.itertuples())
    key = f"asiakaskysely.{r.hb_item}_{r.verrokki_item}." + ("share_diff" if r.kind == "yesno" else "rank_biserial")
    _hiding_one_n(tmp_path, f"wellbeing.{key}", "n_verrokki", int(r.n_verrokki))
    try:
        rep2 = report.start("wellbeing", "loppuraportti", "kaikki", str(processed), prefix="wellbeing")
        tab = ch.survey_comparison(rep2).table
    finally:
        from hbeval_lib.page import cells as L
        L.set_active(None)
    row = tab.iloc[0]
    assert row["n (verrokki)"] == ch.NOT_SHOWN and row["HB"] != ch.NOT_SHOWN
    assert row["p"] == row["p (Holm)"] == row["Testi"] == ch.NOT_SHOWN
    res = rep2.res.frame().set_index("key")
    assert pd.isna(res.loc[key, "p_value"]) and pd.isna(res.loc[key, "n"])
