"""The release settles: a page that branches on a protection decision publishes only protected entries.

Before settling existed, the release stage collected a page's cells with every decision open, the notebook was then
rendered with the protected decisions, and a page whose code branched on a decision published cells that were never
protected (and the build stopped with advice that looped). Now every rendered page leaves a record of what it
published, the build compares it with the ledger, re-protects with what was really published (keeping hidden what
was hidden) and renders again the pages whose decisions changed.
"""

from __future__ import annotations

import pandas as pd
import pytest

from hbeval_lib.config import load_config
from hbeval_lib.page.disclosure import Disclosure
from hbeval_lib.page import cells as L
from hbeval_lib.release import settle
from hbeval_lib.release.stage import LEDGER_NAME, SUMMARY_NAME, protect_ledger

PILOT_N = {"eksote": 40, "hameenlinna": 35, "kainuu": 6, "pori": 30, "tampere": 45, "vantaa": 50}


def _page(pilot: str, phase: str = "loppuraportti") -> Disclosure:
    return Disclosure(table_prefix="wellbeing", page=L.Page("wellbeing", phase, pilot))


def _branching_page(dc: Disclosure, pilot: str) -> None:
    """A page that shows the mean age of its clients, and in the other branch a different number."""
    n = sum(PILOT_N.values()) if pilot == "kaikki" else PILOT_N[pilot]
    if dc.stat_ok(n, "ika", "keskiarvo"):
        dc.stat_ok(n, "haara", "naytetty")
    else:
        dc.stat_ok(n, "haara", "piilotettu")


@pytest.fixture
def reset_mode():
    yield
    L.set_active(None)


def _render_all(path) -> dict[str, pd.DataFrame]:
    renderer = L.Renderer(path, lenient=True)
    L.set_active(renderer)
    records = {}
    for pilot in ["kaikki", *PILOT_N]:
        dc = _page(pilot)
        _branching_page(dc, pilot)
        records[settle.page_name("loppuraportti", "wellbeing", pilot)] = \
            pd.DataFrame(dc.page.record).assign(value=lambda d: d["value"].astype("Int64"))
    L.set_active(None)
    return records


def test_a_page_that_branches_on_a_decision_settles(tmp_path, reset_mode):
    cfg = load_config()
    # collect with every decision open (the primary rules): every page takes the "shown" branch but Kainuu
    col = L.Collector()
    L.set_active(col)
    for pilot in ["kaikki", *PILOT_N]:
        _branching_page(_page(pilot), pilot)
    L.set_active(None)
    led = protect_ledger(col.frame(), cfg)
    path = tmp_path / LEDGER_NAME
    led.to_parquet(path)
    # the complement rule hides a second pilot's mean age (Kainuu's would follow from the all-pilots mean)
    hidden = set(led.loc[led["suppressed"] & led["table"].eq("wellbeing.ika"), "pilot"])
    assert "kainuu" in hidden and len(hidden - {"kainuu"}) >= 1
    flipped = sorted(hidden - {"kainuu"})
    records = _render_all(path)
    # the known-bad state the old build published: the flipped pilot shows a cell the release never protected
    bad = settle.check(led, records)
    assert set(bad) == {settle.page_name("loppuraportti", "wellbeing", p) for p in flipped}
    assert all("puuttuu julkaisuluettelosta" in why for why in bad.values())
    # settle: re-protect from what the pages published, render again, until they agree
    for _ in range(settle.MAX_ROUNDS):
        if not settle.check(led, records):
            break
        led = settle.reprotect(settle.merged_cells(led, records), led, lambda c: protect_ledger(c, cfg))
        led.to_parquet(path)
        records = _render_all(path)
    assert settle.check(led, records) == {}
    # every cell a page published is a ledger cell with the same value and decision
    for page, rec in records.items():
        for r in rec.itertuples():
            row = led[(led["phase"] + "/" + led["strand"] + "/" + led["pilot"]).eq(page) & led["table"].eq(r.table)
                      & led["row"].eq(r.row)]
            assert len(row) == 1 and bool(row["suppressed"].iat[0]) == r.suppressed
    for p in flipped:
        rec = records[settle.page_name("loppuraportti", "wellbeing", p)]
        assert "piilotettu" in set(rec["row"]) and "naytetty" not in set(rec["row"])


def test_reprotect_keeps_hidden_what_was_hidden():
    cfg = load_config()
    col = L.Collector()
    L.set_active(col)
    try:
        for pilot in ["kaikki", *PILOT_N]:
            _branching_page(_page(pilot), pilot)
    finally:
        L.set_active(None)
    cells = col.frame()
    first = protect_ledger(cells, cfg)
    # pretend the previous round hid a cell no rule hides now: it stays hidden, with a reason
    prev = first.copy()
    i = prev.index[prev["table"].eq("wellbeing.haara") & prev["pilot"].eq("tampere")][0]
    assert not prev.at[i, "suppressed"]
    prev.at[i, "suppressed"], prev.at[i, "code"] = True, "complement"
    again = settle.reprotect(cells, prev, lambda c: protect_ledger(c, cfg))
    j = again.index[again["table"].eq("wellbeing.haara") & again["pilot"].eq("tampere")][0]
    assert again.at[j, "suppressed"] and again.at[j, "code"] == "complement" and again.at[j, "reason"]
    assert again["suppressed"].sum() == first["suppressed"].sum() + 1


NOTEBOOK = '''---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
    format_version: 0.13
kernelspec:
  display_name: hbeval
  language: python
  name: hbeval
---

# Haarautuva sivu

```{code-cell} ipython3
:tags: [parameters]

pilot = "kaikki"
phase = "loppuraportti"
processed_dir = ""
results_path = ""
suppressions_path = ""
```

```{code-cell} ipython3
from hbeval_lib.page import report

rep = report.start("wellbeing", phase, pilot, processed_dir, prefix="wellbeing")
PILOT_N = %(pilot_n)r
n = sum(PILOT_N.values()) if pilot == "kaikki" else PILOT_N[pilot]
if rep.dc.stat_ok(n, "ika", "keskiarvo"):
    report.say(f"Haara A: {rep.count(n, 'haara', 'naytetty')}")
else:
    report.say(f"Haara B: {rep.count(n + 1, 'haara', 'piilotettu')}")
rep.finish(results_path, suppressions_path)
```
'''


@pytest.mark.slow
def test_the_build_settles_a_notebook_that_branches_on_a_decision(tmp_path):
    """Through the real pipeline (papermill, warm kernels): the notebook's render takes another branch than its
    collection on the pilots whose statistic the complement rule hides; the build succeeds and every page's
    published cells are exactly the protected ledger's."""
    from hbeval_lib.book import run as pipeline
    from hbeval_lib.book import cache as book_cache

    nbs, processed, book = tmp_path / "notebooks", tmp_path / "processed", tmp_path / "book"
    nbs.mkdir(), processed.mkdir(), book.mkdir()
    (nbs / "wellbeing.md").write_text(NOTEBOOK % {"pilot_n": PILOT_N}, encoding="utf-8")
    rep = pipeline.run(processed_dir=processed, book_dir=book, notebooks_dir=nbs, jobs=2, progress=False,
                       cache_dir=tmp_path / "cache")
    led = pd.read_parquet(processed / LEDGER_NAME)
    import json

    summary = json.loads((processed / SUMMARY_NAME).read_text(encoding="utf-8"))
    assert summary.get("settled", {}).get("rounds", 0) >= 1, "the scenario must make collect and render disagree"
    # no data at all: only the first report is due (the others are not built), and it settles
    jobs = [j for j in book_cache.plan_jobs(load_config(), nbs, book, processed) if j.cells_file.exists()]
    assert {j.phase for j in jobs} == {load_config().phases[0].key} and len(jobs) == 1 + len(PILOT_N)
    records = {j.name: settle.read_record(j.cells_file) for j in jobs}
    assert settle.check(led, records) == {}
    branch_b = led[led["table"].eq("wellbeing.haara") & led["row"].eq("piilotettu")]
    assert set(branch_b["pilot"]) > {"kainuu"}          # another pilot took branch B in its render
    # a rebuild with nothing changed executes nothing: the settled ledger and the pages' keys agree
    again = pipeline.run(processed_dir=processed, book_dir=book, notebooks_dir=nbs, jobs=2, progress=False,
                         cache_dir=tmp_path / "cache")
    assert again.executed == [] and rep.executed
    # advice that works: after a change the stale check says to run the build, and running it makes the book
    # current again, with every page still equal to the (re-settled) release
    src = nbs / "wellbeing.md"
    src.write_text(src.read_text(encoding="utf-8").replace("'naytetty'", "'naytetty_a'"), encoding="utf-8")
    (msg,) = pipeline.check_stamp(book)
    assert "hbeval build" in msg
    pipeline.run(processed_dir=processed, book_dir=book, notebooks_dir=nbs, jobs=2, progress=False,
                 cache_dir=tmp_path / "cache")
    assert pipeline.check_stamp(book) == []
    led = pd.read_parquet(processed / LEDGER_NAME)
    records = {j.name: settle.read_record(j.cells_file) for j in jobs}
    assert settle.check(led, records) == {} and "naytetty_a" in set(led["row"])


def test_a_page_that_printed_fewer_cells_is_trimmed_not_rendered_again():
    """``all(dc.stat_ok(...) for arm in arms)`` stops at the first hidden statistic: the rendered page never asks
    about the others, so it prints fewer cells than were collected. That alone needs no new protection (the ledger
    assumed more was published) and no new rendering: the cells are dropped from the ledger. A page with a cell the
    ledger lacks, or with another decision, is not trimmed (known bad inputs)."""
    def c(pilot, row, value, hidden=False, code=""):
        return {"strand": "costs", "phase": "loppuraportti", "pilot": pilot, "table": "cea", "row": row, "col": "",
                "kind": "stat", "value": value, "margin": "", "primary": "", "suppressed": hidden, "code": code,
                "reason": ""}

    led = pd.DataFrame([c("pori", "hb", 12, True, "complement"), c("pori", "verrokki", 30), c("eksote", "hb", 40)])
    led["value"] = led["value"].astype("Int64")
    page = "loppuraportti/costs/pori"
    printed = led.iloc[[0]].drop(columns=["primary", "reason"])
    assert page in settle.check(led, {page: printed})
    trimmed = settle.trim_unprinted(led, {page: printed})
    assert settle.check(trimmed, {page: printed}) == {}
    assert list(zip(trimmed["pilot"], trimmed["row"])) == [("pori", "hb"), ("eksote", "hb")]
    # an extra cell, or the same cell with another decision: left to re-protection
    extra = pd.concat([printed, printed.assign(row="uusi")], ignore_index=True)
    assert len(settle.trim_unprinted(led, {page: extra})) == len(led)
    other = printed.assign(suppressed=False, code="")
    assert len(settle.trim_unprinted(led, {page: other})) == len(led)


def test_a_pages_own_secondary_hide_is_protected_everywhere_the_entry_is_shown(tmp_path, reset_mode):
    """Seen by the euro audit on unseen sets: the cost page's own rule ("one hidden share hides the next smallest")
    hid a pilot's support-network euros that the service-process page printed — the same clients' amounts, so the
    share the rule protected followed from the other page. The page's own hide is now written into its record
    (Disclosure.hide_too); the build protects the release again with that entry hidden, in every linked place."""
    def cell(strand, table, row, link):
        return dict(strand=strand, phase="loppuraportti", pilot="pori", table=table, row=row, col="", kind="stat",
                    value=28, margin="", primary="", link=link)

    cells = pd.DataFrame([cell("costs", "kustannukset.budjetit.tuottajat", "laheisverkosto", "eur:x"),
                          cell("service_process", "palveluprosessi.tuottajat", "hb / laheisverkosto", "eur:x"),
                          cell("costs", "kustannukset.budjetit.tuottajat", "muu", "eur:y")])
    cells["value"] = cells["value"].astype("Int64")
    led = protect_ledger(cells)
    assert not led["suppressed"].any()
    path = tmp_path / LEDGER_NAME
    led.to_parquet(path, index=False)
    L.set_active(L.Renderer(path, lenient=True))
    cost = Disclosure(table_prefix="kustannukset", page=L.Page("costs", "loppuraportti", "pori"))
    assert cost.stat_ok(28, "budjetit.tuottajat", "laheisverkosto", link="eur:x")
    assert cost.stat_ok(28, "budjetit.tuottajat", "muu", link="eur:y")
    cost.hide_too("budjetit.tuottajat", "laheisverkosto")       # the page's own rule
    serv = Disclosure(table_prefix="palveluprosessi", page=L.Page("service_process", "loppuraportti", "pori"))
    assert serv.stat_ok(28, "tuottajat", "hb / laheisverkosto", link="eur:x")
    L.set_active(None)
    records = {settle.page_name("loppuraportti", "costs", "pori"): pd.DataFrame(cost.page.record),
               settle.page_name("loppuraportti", "service_process", "pori"): pd.DataFrame(serv.page.record)}
    for r in records.values():
        r["value"] = r["value"].astype("Int64")
    bad = settle.check(led, records)
    assert list(bad) == ["loppuraportti/costs/pori"]              # the page hid what the ledger shows
    forced = settle.hidden_by_pages(led, records)
    assert list(forced["row"]) == ["laheisverkosto"]
    new = settle.reprotect(settle.merged_cells(led, records), led, lambda c: protect_ledger(c, fixed=forced))
    hidden = set(new.loc[new["suppressed"], "row"])
    assert hidden == {"laheisverkosto", "hb / laheisverkosto"}    # in both places; "muu" stays shown
    assert list(settle.check(new, records)) == ["loppuraportti/service_process/pori"]   # rendered again
    # known bad: protected again without the page's hide, the other page keeps printing the entry
    old = settle.reprotect(settle.merged_cells(led, records), led, lambda c: protect_ledger(c))
    assert not old["suppressed"].any()
