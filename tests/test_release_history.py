"""Published is published: the three reports are built from the data as of their own dates, each frozen when it
is out, and later builds neither change nor hide what an earlier report printed (issue 19).

The sequence on demo data: the baseline report from the data of spring 2018, published; then the data up to the
interim cut-off plus a corrected baseline record — the interim report, published; then the final report. The
frozen pages are byte-identical in every later build, the correction is listed, only what is due is built, and
the intruder, reading the final book (which holds all three published reports side by side), recovers nothing.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pandas as pd
import pytest

from hbeval_lib import config as C
from hbeval_lib.book import publish
from hbeval_lib.release import history

pytestmark = pytest.mark.slow


def _pages(book: Path, phase: str) -> dict[str, bytes]:
    return {p.relative_to(book).as_posix(): p.read_bytes() for p in sorted((book / phase).glob("*/*.ipynb"))}


def test_phase_state_is_validated(tmp_path):
    text = C.DEFAULT_CONFIG.read_text(encoding="utf-8")
    bad = tmp_path / "hbeval.yml"
    bad.write_text(text.replace("    cutoff: 2017-12-31", "    cutoff: 2017-12-31\n    state: published"),
                   encoding="utf-8")
    with pytest.raises(C.ConfigError, match="published_on"):
        C.load_config(bad)
    publish.mark_published(bad, "lahtotilanne", dt.date(2018, 5, 15))
    cfg = C.load_config(bad)
    assert cfg.phase("lahtotilanne").is_published and cfg.phase("lahtotilanne").published_on == dt.date(2018, 5, 15)
    assert not cfg.phase("valiarviointi").is_published
    # the rest of the file (comments, other phases) is as it was
    assert bad.read_text(encoding="utf-8").count("\n") == text.count("\n") + 2


def test_reports_released_a_year_apart(tmp_path, monkeypatch):
    from hbeval_lib.demo import generator as demo
    from hbeval_lib.release import intruder
    from hbeval_lib.book import run as pipeline
    from hbeval_lib.intake import run as intake_run
    from hbeval_lib.book.pages import write_pages  # noqa: F401 (used in build())

    cfg_path = tmp_path / "hbeval.yml"
    shutil.copyfile(C.DEFAULT_CONFIG, cfg_path)
    monkeypatch.setenv("HBEVAL_CONFIG", str(cfg_path))
    monkeypatch.setenv("HBEVAL_DRAFT", "1")
    raw, full = tmp_path / "raw", tmp_path / "processed_all"
    demo.generate(raw, seed=11, clients=120)
    intake_run.ensure_processed(raw, full, C.load_config(cfg_path), progress=False)
    from hbeval_lib.book import bench

    book = bench.copy_book_sources(tmp_path / "book")
    releases = tmp_path / "releases"

    def build(name: str, as_of: dt.date, edit=None):
        proc = history.as_of(full, tmp_path / f"processed_{name}", as_of)
        if edit:
            edit(proc)
        rep = pipeline.run(processed_dir=proc, book_dir=book, jobs=2, progress=False, releases_dir=releases,
                           cache_dir=tmp_path / "cache")
        write_pages(book, proc, None, history.due_config(C.load_config(cfg_path), proc), releases_dir=releases)
        return proc, rep

    # spring 2018: only the baseline report is due
    p1, rep1 = build("2018a", dt.date(2018, 3, 31))
    assert {j.split("/")[0] for j in rep1.executed} == {"lahtotilanne"}
    assert not (book / "valiarviointi").exists() and not (book / "loppuraportti").exists()
    publish.publish("lahtotilanne", C.load_config(cfg_path), book, dt.date(2018, 5, 15), releases, cfg_path)
    baseline = _pages(book, "lahtotilanne")
    front = {p.name: p.read_bytes() for p in sorted((book / "_generated" / "lahtotilanne").glob("*.md"))}
    assert front and (releases / "lahtotilanne" / "generated" / "lahtotilanne").is_dir()
    entries = pd.read_csv(releases / "lahtotilanne" / history.ENTRIES, keep_default_na=False)
    # the record holds what was published, never a hidden value
    assert (entries.loc[entries["suppressed"].astype(str) == "True", "value"].astype(str) == "").all()
    assert entries["suppressed"].astype(str).eq("True").any()

    # autumn 2018: the interim data plus a corrected baseline record (one measurement dated before the baseline
    # cut-off turns out to be a duplicate and is removed)
    def correct(proc: Path):
        kyky = pd.read_parquet(proc / "kykyviisari.parquet")
        early = kyky[pd.to_datetime(kyky["date"]) <= pd.Timestamp(C.load_config(cfg_path).phases[0].cutoff)]
        big = early["pilot"].value_counts().index[0]
        drop = early[early["pilot"] == big].index[:6]
        kyky.drop(index=drop).reset_index(drop=True).to_parquet(proc / "kykyviisari.parquet", index=False)

    p2, rep2 = build("2018b", dt.date(2018, 10, 31), edit=correct)
    assert {j.split("/")[0] for j in rep2.executed} == {"valiarviointi"}     # the baseline is never re-executed
    assert _pages(book, "lahtotilanne") == baseline
    assert not (book / "loppuraportti").exists()                               # not due yet
    # the web book of that day: the published baseline and the interim in preparation, no final report
    pipeline.write_book(book, p2, None, C.load_config(cfg_path), releases)
    html = book / "_build" / "html"
    assert (html / "lahtotilanne").is_dir() and (html / "valiarviointi").is_dir()
    assert not (html / "loppuraportti").exists()
    fixes = pd.read_csv(p2 / history.CORRECTIONS)
    assert (fixes["phase"] == "lahtotilanne").any(), "the corrected baseline record is listed as a correction"
    publish.publish("valiarviointi", C.load_config(cfg_path), book, dt.date(2018, 11, 30), releases, cfg_path)
    interim = _pages(book, "valiarviointi")

    # spring 2019: the final report; both earlier reports restored exactly as published
    p3, rep3 = build("2019", dt.date(2019, 4, 30), edit=correct)
    assert {j.split("/")[0] for j in rep3.executed} == {"loppuraportti"}
    assert _pages(book, "lahtotilanne") == baseline and _pages(book, "valiarviointi") == interim
    # the published report's front matter, summary and appendices too (its data appendix no longer follows the
    # current data-quality page, which now lists the correction)
    now = {p.name: p.read_bytes() for p in sorted((book / "_generated" / "lahtotilanne").glob("*.md"))}
    assert now == {k: (releases / "lahtotilanne" / "generated" / "lahtotilanne" / k).read_bytes() for k in now}
    assert "Korjaukset aiempiin" not in (book / "_generated" / "lahtotilanne" / "liite_aineisto.md").read_text(
        encoding="utf-8")
    led = pd.read_parquet(p3 / "release_ledger.parquet")
    frozen = led[led["phase"].isin(["lahtotilanne", "valiarviointi"])]
    assert frozen["frozen"].all()
    # every published entry kept its decision
    ent = history.frozen_entries(C.load_config(cfg_path), releases)
    key = ["strand", "phase", "pilot", "table", "row", "col"]
    m = ent.merge(led[key + ["suppressed"]], on=key, suffixes=("_published", "_now"))
    assert len(m) and (m["suppressed_published"] == m["suppressed_now"]).all()
    # a record altered after publication is refused
    nb = sorted((releases / "lahtotilanne" / "pages").rglob("*.ipynb"))[0]
    original = nb.read_bytes()
    nb.write_bytes(original + b" ")
    with pytest.raises(history.HistoryError, match="muuttunut"):
        history.verify("lahtotilanne", releases)
    nb.write_bytes(original)
    # the intruder reads the final book, which holds all three published reports side by side
    assert "Korjaukset aiempiin raportteihin" in (book / "_generated" / "aineisto.md").read_text(encoding="utf-8")
    pipeline.write_book(book, p3, None, C.load_config(cfg_path), releases)
    res = intruder.attack(book / "_build" / "html")
    assert res.ok, res.summary() + "\n" + res.findings.head(20).to_string()


def test_the_pdf_of_record_is_kept_and_served(tmp_path, monkeypatch):
    """Publishing keeps the phase's PDF as its PDF of record; `hbeval pdf` then serves that file for the published
    phase instead of typesetting it again from today's book."""
    from hbeval_lib.book import pdf as P

    cfg_path = tmp_path / "hbeval.yml"
    shutil.copyfile(C.DEFAULT_CONFIG, cfg_path)
    monkeypatch.setenv("HBEVAL_CONFIG", str(cfg_path))
    book, releases = tmp_path / "book", tmp_path / "releases"
    page = book / "lahtotilanne" / "hyvinvointi"
    page.mkdir(parents=True)
    for suffix in (".ipynb", ".results.csv", ".suppressions.csv"):
        (page / f"kaikki{suffix}").write_text("{}" if suffix == ".ipynb" else "a\n", encoding="utf-8")
    (page / "kaikki.cells.csv").write_text(",".join(
        ["strand", "phase", "pilot", "table", "row", "col", "kind", "value", "margin", "suppressed", "code"])
        + "\nwellbeing,lahtotilanne,kaikki,t,r,c,count,12,,False,\nwellbeing,lahtotilanne,kaikki,t,s,c,count,3,,True,count\n",
        encoding="utf-8")
    pdf_dir = book / "_build" / "pdf"
    pdf_dir.mkdir(parents=True)
    (pdf_dir / P.pdf_name("lahtotilanne")).write_bytes(b"%PDF-1.4 the report as printed in 2018\n")
    monkeypatch.setattr(publish, "check_stamp", lambda b: [])
    publish.publish("lahtotilanne", C.load_config(cfg_path), book, dt.date(2018, 5, 15), releases, cfg_path)
    rec = history.verify("lahtotilanne", releases)
    assert P.pdf_name("lahtotilanne") in rec["files"]
    entries = pd.read_csv(releases / "lahtotilanne" / history.ENTRIES, keep_default_na=False)
    assert entries.loc[entries["row"] == "s", "value"].astype(str).tolist() == [""]   # the hidden 3 is not kept
    # today's typesetting would differ; the published phase gets its PDF of record
    (pdf_dir / P.pdf_name("lahtotilanne")).write_bytes(b"%PDF-1.4 today's book\n")
    monkeypatch.setattr(history, "RELEASES_DIR", releases)
    monkeypatch.setattr(P, "build_phase", lambda *a, **k: pytest.fail("a published phase was typeset again"))
    P.build_pdfs(book, phases=["lahtotilanne"], cfg=C.load_config(cfg_path))
    assert (pdf_dir / P.pdf_name("lahtotilanne")).read_bytes() == b"%PDF-1.4 the report as printed in 2018\n"


def test_corrections_print_no_small_count(tmp_path):
    """A corrected number is printed only when neither the change nor the new number is a small count."""
    from hbeval_lib.book.pages import corrections_section

    key = dict(strand="wellbeing", pilot="pori", table="wellbeing.mittauskattavuus", col="Alkumittaus", kind="count")
    frozen = pd.DataFrame([{**key, "phase": "lahtotilanne", "row": r, "value": v, "suppressed": False, "code": "",
                            "margin": ""} for r, v in (("HB", 12), ("Verrokki", 20), ("Muu", 9))])
    frozen["value"] = frozen["value"].astype("Int64")
    ledger = frozen.assign(value=pd.array([14, 30, 3], dtype="Int64"))   # +2, +10, −6 → 3
    fixes = history.corrections(ledger, frozen)
    assert len(fixes) == 3
    fixes.to_csv(tmp_path / history.CORRECTIONS, index=False)
    md = "\n".join(corrections_section(tmp_path, C.load_config()))
    assert "Korjaukset aiempiin raportteihin" in md
    assert "| 14 |" not in md and "muuttunut (alle 5)" in md      # a change of 2 persons is not printed
    assert "| 30 |" in md                                          # a change of 10: the new number is printed
    assert "| 3 |" not in md                                       # a new number of 3 is a small count
