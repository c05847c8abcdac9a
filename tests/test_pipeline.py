"""The orchestration of `hbeval run`: planning, cache keys, incremental re-execution, atomic outputs, failures,
results merge, intake staleness and the generated pages.

Real papermill runs use tiny strand notebooks written into a temporary folder (the real strand notebooks are
exercised by the end-to-end book test and the nbval regression), with tiny processed tables whose per-pilot rows
are planted by the test.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from hbeval_lib.book import pages as bookpages
from hbeval_lib.book import run as pipeline
from hbeval_lib.book import cache as book_cache
from hbeval_lib.book import commands
from hbeval_lib.book import errors
from hbeval_lib.book import kernels
from hbeval_lib.intake import run as intake_run
from hbeval_lib.config import REPO_ROOT, load_config, strand_folder
from hbeval_lib.page.results import COLUMNS

HEADER = textwrap.dedent("""\
    ---
    jupytext:
      text_representation:
        extension: .md
        format_name: myst
    kernelspec:
      name: hbeval
      display_name: hbeval
    ---
    # {title}

    ```{{code-cell}} ipython3
    :tags: [parameters]
    pilot = "kaikki"
    phase = "loppuraportti"
    processed_dir = ""
    results_path = ""
    suppressions_path = ""
    {extra}
    ```
    """)

BODY = textwrap.dedent("""\
    ```{{code-cell}} ipython3
    from hbeval_lib.core import tables
    from hbeval_lib.page.results import Results
    from hbeval_lib.page.disclosure import Disclosure
    df = tables.load("{table}", processed_dir, phase=phase, pilot=pilot)
    {code}
    r = Results("{strand}", phase, pilot)
    r.add("n_rows", "Rivejä", estimate=len(df), n=len(df))
    print("rivejä", len(df))
    ```

    ```{{code-cell}} ipython3
    r.write(results_path)
    Disclosure(table_prefix="{strand}").write(suppressions_path)
    ```
    """)


def write_nb(folder: Path, strand: str, table: str = "clients", code: str = "", extra: str = "") -> Path:
    p = folder / f"{strand}.md"
    p.write_text(HEADER.format(title=f"Otsikko {strand}", extra=extra)
                 + BODY.format(table=table, code=code, strand=strand), encoding="utf-8")
    return p


SYNTH = HEADER.format(title="Synteesi", extra='results_dir = ""') + textwrap.dedent("""\
    ```{code-cell} ipython3
    from pathlib import Path
    import pandas as pd
    from hbeval_lib.page.results import Results
    from hbeval_lib.page.disclosure import Disclosure
    from hbeval_lib.config import REPO_ROOT
    d = Path(results_dir) if Path(results_dir).is_absolute() else REPO_ROOT / results_dir
    total = sum(pd.read_csv(p)["estimate"].sum() for p in sorted(d.glob("*/kaikki.results.csv"))
                if p.parent.name != "synteesi")
    r = Results("synthesis", phase, pilot)
    r.add("sum_of_strands", "Summa", estimate=total)
    r.write(results_path)
    Disclosure().write(suppressions_path)
    ```
    """)


def clients_table(counts: dict[str, int]) -> pd.DataFrame:
    rows = []
    for pilot, n in counts.items():
        for i in range(n):
            rows.append({"client_id": f"{i:06d}", "pilot": pilot, "start_date": pd.Timestamp("2017-03-01")})
    return pd.DataFrame(rows)


@pytest.fixture()
def project(tmp_path):
    nb = tmp_path / "notebooks"
    nb.mkdir()
    proc = tmp_path / "processed"
    proc.mkdir()
    clients_table({"eksote": 3, "hameenlinna": 4, "kainuu": 2}).to_parquet(proc / "clients.parquet")
    return {"nb": nb, "proc": proc, "book": tmp_path / "book", "cache": tmp_path / "cache", "tmp": tmp_path}


def do_run(project, **kw):
    kw.setdefault("phases", ["loppuraportti"])
    kw.setdefault("pilots", ["kaikki", "eksote", "hameenlinna"])
    return pipeline.run(None, project["proc"], project["book"], project["nb"], jobs=2, progress=False,
                        cache_dir=project["cache"], **kw)


# ---------------------------------------------------------------------------------------------------------------------
# planning and dependency scanning (no kernels)
# ---------------------------------------------------------------------------------------------------------------------
def test_plan_covers_every_phase_strand_pilot_plus_synthesis(project):
    for s in book_cache.STRANDS:
        write_nb(project["nb"], s)
    (project["nb"] / "synthesis.md").write_text(SYNTH, encoding="utf-8")
    cfg = load_config()
    jobs = book_cache.plan_jobs(cfg, project["nb"], project["book"], project["proc"])
    # 3 phases x 3 strands x (6 pilots + kaikki) + synthesis (final phase, all pilots) = 64 (issue #8)
    assert len(jobs) == 64
    assert len({j.output for j in jobs}) == 64
    syn = [j for j in jobs if j.strand == "synthesis"]
    assert [(j.phase, j.pilot) for j in syn] == [("loppuraportti", "kaikki")]
    assert syn[0].parameters()["results_dir"].endswith("book/loppuraportti")
    assert jobs[-1].strand == "synthesis"
    narrowed = book_cache.plan_jobs(cfg, project["nb"], project["book"], project["proc"], ["lahtotilanne"], ["pori"])
    assert [(j.phase, j.strand, j.pilot) for j in narrowed] == [("lahtotilanne", s, "pori") for s in book_cache.STRANDS]
    with pytest.raises(Exception, match="unknown pilot"):
        book_cache.plan_jobs(cfg, project["nb"], project["book"], project["proc"], None, ["nowhere"])


def test_table_scan_literal_names_and_fallback_to_all():
    from hbeval_lib.core.schema import TABLES

    src = 'a = tables.load("kykyviisari", p)\nb = load("budgets", p, phase=phase)\nx = json.load(fh)\n'
    assert book_cache.scan_tables(src) == ({"kykyviisari", "budgets"}, False)
    # a loader call with a name in a variable cannot be resolved: the notebook depends on every table
    assert book_cache.scan_tables("for n in names:\n    load(n, p)\n") == (set(), True)
    assert book_cache.notebook_tables("from hbeval_lib.core import tables\nfor n in x: tables.load(n, p)\n") == sorted(TABLES)
    only = book_cache.notebook_tables('from hbeval_lib.core import tables\ndf = tables.load("services", p)\n')
    assert only == ["services"]


def test_notebook_modules_are_transitive():
    mods = {m.name for m in book_cache.notebook_modules("from hbeval_lib.core import tables\n")}
    # tables.py imports config and schema (relative imports); __init__ always counts
    assert {"__init__.py", "tables.py", "config.py", "schema.py"} <= mods
    assert "run.py" not in mods and "pages.py" not in mods
    mods2 = {m.name for m in book_cache.notebook_modules("import hbeval_lib.page.results as R\n")}
    assert "results.py" in mods2 and "tables.py" not in mods2


def test_notebook_modules_sees_every_import_line():
    """Regression: a second import line right after the first was swallowed as part of the first's names."""
    src = ("from hbeval_lib.page import report\nfrom hbeval_lib.strands.costs import sections as ch\n"
           "from hbeval_lib.core import (\n    plots,\n    likert,\n)\n")
    mods = {str(m.relative_to(book_cache.LIB_DIR)) for m in book_cache.notebook_modules(src)}
    assert {"page/report.py", "strands/costs/sections.py", "strands/costs/__init__.py", "strands/costs/stats.py",
            "strands/costs/cea.py", "core/plots.py", "core/likert.py"} <= mods
    real = {m.name for m in book_cache.notebook_modules((pipeline.REPO_ROOT / "notebooks" / "wellbeing.md")
                                                       .read_text(encoding="utf-8"))}
    assert {"stats.py", "likert.py", "report.py"} <= real


def test_cache_key_depends_on_imported_modules_only(project, monkeypatch):
    write_nb(project["nb"], "wellbeing")
    job = book_cache.plan_jobs(load_config(), project["nb"], project["book"], project["proc"],
                             ["loppuraportti"], ["eksote"])[0]
    hasher = book_cache.TableHasher(project["proc"])
    comp = book_cache.cache_components(job, hasher)
    assert "core/tables.py" in comp["hbeval_lib"] and "strands/costs/cea.py" not in comp["hbeval_lib"]
    assert comp["tables"] == {"clients": hasher.digest("clients", "eksote")}
    base = book_cache.cache_key(job, hasher)
    real = book_cache.file_hash

    def changed(name):
        monkeypatch.setattr(book_cache, "file_hash", lambda p: "x" if Path(p).name == name else real(p))
        key = book_cache.cache_key(job, book_cache.TableHasher(project["proc"]))
        monkeypatch.setattr(book_cache, "file_hash", real)
        return key

    assert changed("tables.py") != base       # an imported module changed
    assert changed("cea.py") == base          # a module the notebook does not import
    assert changed("requirements.txt") != base


def test_pilot_slice_hash_sees_only_that_pilot(project):
    h1 = book_cache.TableHasher(project["proc"])
    before = {p: h1.digest("clients", p) for p in ("eksote", "hameenlinna", "kaikki")}
    clients_table({"eksote": 5, "hameenlinna": 4, "kainuu": 2}).to_parquet(project["proc"] / "clients.parquet")
    h2 = book_cache.TableHasher(project["proc"])
    after = {p: h2.digest("clients", p) for p in ("eksote", "hameenlinna", "kaikki")}
    assert after["hameenlinna"] == before["hameenlinna"]
    assert after["eksote"] != before["eksote"] and after["kaikki"] != before["kaikki"]
    assert h2.digest("services", "eksote") == "absent"


# ---------------------------------------------------------------------------------------------------------------------
# papermill runs
# ---------------------------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_run_is_incremental_and_atomic(project):
    write_nb(project["nb"], "wellbeing")
    write_nb(project["nb"], "costs")
    (project["nb"] / "synthesis.md").write_text(SYNTH, encoding="utf-8")
    rep = do_run(project)
    assert sorted(rep.executed) == sorted(
        [f"loppuraportti/{s}/{p}" for s in ("wellbeing", "costs") for p in ("kaikki", "eksote", "hameenlinna")]
        + ["loppuraportti/synthesis/kaikki"])
    book = project["book"]
    for s in ("wellbeing", "costs"):
        for p, n in (("kaikki", 9), ("eksote", 3), ("hameenlinna", 4)):
            res = pd.read_csv(book / "loppuraportti" / strand_folder(s) / f"{p}.results.csv")
            assert res["estimate"].tolist() == [n]
            assert (book / "loppuraportti" / strand_folder(s) / f"{p}.suppressions.csv").exists()
    # synthesis ran after the strands and read their results (9 + 9)
    assert pd.read_csv(book / "loppuraportti/synteesi/kaikki.results.csv")["estimate"].tolist() == [18]
    merged = pd.read_csv(rep.results_csv)
    assert list(merged.columns) == COLUMNS and len(merged) == 7
    assert not (book / ".hbeval_staging").exists()

    # the executed notebook: parameters hidden, final relative-or-absolute paths, title names the pilot
    nb = json.loads((book / "loppuraportti/hyvinvointi/eksote.ipynb").read_text(encoding="utf-8"))
    injected = [c for c in nb["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
    assert len(injected) == 1 and "remove-cell" in injected[0]["metadata"]["tags"]
    src = "".join(injected[0]["source"])
    assert "eksote.results.csv" in src and "staging" not in src
    assert any("# Otsikko wellbeing: Eksote" in "".join(c["source"]) for c in nb["cells"])
    assert nb["metadata"]["kernelspec"]["name"] == "hbeval"
    assert "rivejä 3" in json.dumps(nb, ensure_ascii=False)

    # nothing changed: nothing runs
    assert do_run(project).executed == []

    # one pilot's rows changed: that pilot + kaikki + synthesis (its inputs, the kaikki results, changed)
    clients_table({"eksote": 6, "hameenlinna": 4, "kainuu": 2}).to_parquet(project["proc"] / "clients.parquet")
    rep = do_run(project)
    assert sorted(rep.executed) == sorted(["loppuraportti/wellbeing/eksote", "loppuraportti/wellbeing/kaikki",
                                           "loppuraportti/costs/eksote", "loppuraportti/costs/kaikki",
                                           "loppuraportti/synthesis/kaikki"])
    assert pd.read_csv(book / "loppuraportti/synteesi/kaikki.results.csv")["estimate"].tolist() == [24]

    # a changed notebook source re-executes only that strand (+ synthesis only if its results changed: they did not)
    write_nb(project["nb"], "costs", code="x = 1")
    rep = do_run(project)
    assert sorted(rep.executed) == sorted(f"loppuraportti/costs/{p}" for p in ("kaikki", "eksote", "hameenlinna"))

    # a missing output forces its notebook to run again
    (book / "loppuraportti/hyvinvointi/hameenlinna.results.csv").unlink()
    assert do_run(project).executed == ["loppuraportti/wellbeing/hameenlinna"]


@pytest.mark.slow
def test_failing_notebook_stops_with_name_parameters_and_traceback(project):
    write_nb(project["nb"], "wellbeing", code='if pilot == "hameenlinna":\n    1 / 0')
    with pytest.raises(errors.RunError) as err:
        do_run(project, pilots=["hameenlinna"])
    msg = str(err.value)
    assert "wellbeing.md" in msg and "loppuraportti/wellbeing/hameenlinna" in msg
    assert '"pilot": "hameenlinna"' in msg and '"phase": "loppuraportti"' in msg
    assert "ZeroDivisionError" in msg and "1 / 0" in msg
    assert "\x1b[" not in msg  # no terminal colour codes
    out = project["book"] / "loppuraportti" / "hyvinvointi"
    assert not any(out.glob("hameenlinna.*")) if out.exists() else True
    assert not (project["book"] / ".hbeval_staging").exists()
    assert (project["cache"] / "failed" / "loppuraportti-wellbeing-hameenlinna.ipynb").exists()


@pytest.mark.slow
def test_notebook_that_writes_no_results_is_an_error(project):
    p = project["nb"] / "wellbeing.md"
    p.write_text(HEADER.format(title="T", extra="") + "```{code-cell} ipython3\nx = 1\n```\n", encoding="utf-8")
    with pytest.raises(errors.RunError, match="did not write"):
        do_run(project, pilots=["eksote"])
    assert not (project["book"] / "loppuraportti/hyvinvointi/eksote.ipynb").exists()


# ---------------------------------------------------------------------------------------------------------------------
# intake staleness
# ---------------------------------------------------------------------------------------------------------------------
def test_intake_runs_only_when_raw_changed(tmp_path, monkeypatch):
    import hbeval_lib.intake.run as intake

    calls = []
    monkeypatch.setattr(intake, "run_intake", lambda raw, out, cfg=None, progress=False, **kw: calls.append(raw))
    raw, proc = tmp_path / "raw", tmp_path / "proc"
    (raw / "asiakkaat").mkdir(parents=True)
    (raw / "asiakkaat" / "a.xlsx").write_bytes(b"one")
    assert intake_run.ensure_processed(raw, proc) is True
    assert intake_run.ensure_processed(raw, proc) is False
    (raw / "asiakkaat" / "a.xlsx").write_bytes(b"two")
    assert intake_run.ensure_processed(raw, proc) is True
    (raw / "asiakkaat" / "b.xlsx").write_bytes(b"new file")
    assert intake_run.ensure_processed(raw, proc) is True
    assert len(calls) == 3
    manifest = json.loads((proc / intake_run.MANIFEST).read_text())
    assert set(manifest["raw_files"]) == {"asiakkaat/a.xlsx", "asiakkaat/b.xlsx"} and manifest["demo"] is False


def test_failed_intake_leaves_processed_stale(tmp_path, monkeypatch):
    import hbeval_lib.intake.run as intake

    def boom(*a, **k):
        raise RuntimeError("intake failed")

    raw, proc = tmp_path / "raw", tmp_path / "proc"
    raw.mkdir()
    (raw / "x.csv").write_text("1")
    monkeypatch.setattr(intake, "run_intake", boom)
    with pytest.raises(RuntimeError):
        intake_run.ensure_processed(raw, proc)
    assert intake_run.processed_is_stale(raw, proc)


# ---------------------------------------------------------------------------------------------------------------------
# book pages
# ---------------------------------------------------------------------------------------------------------------------
def test_committed_toc_matches_configuration():
    assert (REPO_ROOT / "_toc.yml").read_text(encoding="utf-8") == bookpages.toc(load_config())
    assert (REPO_ROOT / "book" / "_toc.yml").resolve() == (REPO_ROOT / "_toc.yml").resolve()


def test_data_quality_page_aggregates_without_file_names(tmp_path):
    proc, book = tmp_path / "proc", tmp_path / "book"
    proc.mkdir()
    secret = "asiakas_120345_kulut.xlsx"  # file names may hold client numbers
    pd.DataFrame([
        {"instrument": "asiakaskulut", "file": secret, "sheet": "A", "read": 10, "accepted": 8, "skipped": 0,
         "rejected": 2, "excluded_no_consent": 0},
        {"instrument": "asiakaskulut", "file": "b.xlsx", "sheet": "A", "read": 5, "accepted": 5, "skipped": 0,
         "rejected": 0, "excluded_no_consent": 1}]).to_csv(proc / "reconciliation.csv", index=False)
    pd.DataFrame([{"instrument": "asiakaskulut", "file": secret, "sheet": "A", "row": 7, "column": "Pvm",
                   "value": "120345", "reason": "bad_date"}] * 2).to_csv(proc / "quarantine.csv", index=False)
    # the release ledger: 3 cells of the final costs pages, one hidden as a small count, one by complementary
    from hbeval_lib.release.stage import LEDGER_NAME

    pd.DataFrame([
        {"strand": "costs", "phase": "loppuraportti", "pilot": "eksote", "table": "kustannukset.palvelut",
         "row": "eksote", "col": "hb", "kind": "count", "value": 3, "margin": "", "primary": "",
         "code": "count", "suppressed": True, "reason": "lukumäärä alle 5"},
        {"strand": "costs", "phase": "loppuraportti", "pilot": "eksote", "table": "kustannukset.palvelut",
         "row": "eksote", "col": "verrokki", "kind": "count", "value": 12, "margin": "", "primary": "",
         # a small count printed as a plain dash: listed as the secondary suppression it looks like
         "code": "mark", "suppressed": True, "reason": "pieni lukumäärä, merkitty viivalla"},
        {"strand": "costs", "phase": "loppuraportti", "pilot": "kaikki", "table": "kustannukset.palvelut",
         "row": "kaikki", "col": "hb", "kind": "count", "value": 40, "margin": "", "primary": "",
         "code": "", "suppressed": False, "reason": ""}]).to_parquet(proc / LEDGER_NAME)
    page = bookpages.data_quality_page(proc, book)
    assert secret not in page and "120345" not in page and "b.xlsx" not in page
    assert "| Asiakkaiden ja läheisten kulut | 15 | 13 | 0 | 2 | 1 |" in page      # planted sums per instrument
    assert "| Asiakkaiden ja läheisten kulut | bad_date | 2 |" in page
    assert "| asiakaskulut |" not in page  # instruments by their Finnish names, not the folder keys
    # published and suppressed cells per phase and strand, by rule, in Finnish; no code identifiers on the page
    assert "| Loppuraportti | Kustannukset | 1 | 1 | 1 |" in page
    assert "Julkaisussa on 3 solua, joista peitettiin 2" in page
    assert "kustannukset.palvelut" not in page
    full = pd.read_csv(book / "_generated" / "peitetyt_solut.csv")     # the full list is a download
    assert len(full) == 2 and set(full["Pilotti"]) == {"Eksote"}
    assert not full["Sääntö"].str.contains("viivalla|pieni").any() and "viivalla" not in page


def test_pilots_page_shows_facts_with_source():
    cfg = load_config()
    page = bookpages.pilots_page(cfg)
    for p in cfg.pilots:
        assert f"## {p.name}" in page
        if p.facts.get("source"):
            assert f"Lähde: {p.facts['source']}" in page


def test_summary_page_glues_text_values_from_the_all_pilots_notebook(tmp_path):
    import nbformat

    cfg = load_config()
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("glue(...)")
    cell.outputs = [
        nbformat.v4.new_output("display_data", data={"application/papermill.record/text/plain": "12"},
                               metadata={"scrapbook": {"name": "wellbeing_n", "mime_prefix":
                                                       "application/papermill.record/"}}),
        nbformat.v4.new_output("display_data", data={"application/papermill.record/image/png": "x",
                                                     "application/papermill.record/text/plain": "<Figure>"},
                               metadata={"scrapbook": {"name": "wellbeing_fig", "mime_prefix":
                                                       "application/papermill.record/"}})]
    nb.cells = [cell]
    (tmp_path / "lahtotilanne" / "hyvinvointi").mkdir(parents=True)
    nbformat.write(nb, tmp_path / "lahtotilanne/hyvinvointi/kaikki.ipynb")
    page = bookpages.summary_page(cfg, "lahtotilanne", tmp_path)
    assert "{glue:text}`../lahtotilanne/hyvinvointi/kaikki.ipynb::wellbeing_n:s`" in page
    assert "wellbeing_fig" not in page   # figures are not pasted into the summary table
    assert "Palveluprosessi" not in page  # no executed notebook, no section


# ---------------------------------------------------------------------------------------------------------------------
# issue 14: prose edits do not re-execute, extra inputs, warm kernels, the stale check
# ---------------------------------------------------------------------------------------------------------------------
def _nb_text(project, strand="wellbeing", pilot="eksote"):
    return (project["book"] / "loppuraportti" / strand_folder(strand) / f"{pilot}.ipynb").read_text(encoding="utf-8")


def test_code_digest_ignores_markdown_and_display_tags():
    src = HEADER.format(title="Otsikko", extra="") + BODY.format(table="clients", code="", strand="wellbeing")
    base = book_cache.code_digest(src)
    assert book_cache.code_digest(src.replace("# Otsikko", "# Uusi otsikko\n\nUusi kappale.")) == base
    assert book_cache.code_digest(src.replace("```{code-cell} ipython3\nfrom hbeval_lib.core import tables",
                                            "```{code-cell} ipython3\n:tags: [remove-input]\n"
                                            "from hbeval_lib.core import tables")) == base
    assert book_cache.code_digest(src.replace('print("rivejä"', 'print("rivit"')) != base   # a code edit
    assert book_cache.code_digest(src.replace(":tags: [parameters]\n", "")) != base        # execution tag


def test_cache_key_ignores_prose_and_covers_extra_inputs(project):
    p = write_nb(project["nb"], "wellbeing")
    ledger = project["tmp"] / "ledger.csv"
    ledger.write_text("a\n", encoding="utf-8")
    cfg = load_config()

    def key(extra=()):
        job = book_cache.plan_jobs(cfg, project["nb"], project["book"], project["proc"], ["loppuraportti"],
                                 ["eksote"], extra_inputs=extra)[0]
        return book_cache.cache_key(job, book_cache.TableHasher(project["proc"])), job

    base, job = key()
    p.write_text(p.read_text(encoding="utf-8").replace("# Otsikko wellbeing", "# Otsikko wellbeing\n\nLisäys."),
                 encoding="utf-8")
    k2, job2 = key()
    assert k2 == base and job2.text_hash != job.text_hash   # prose: same key, new text
    with_ledger, _ = key([ledger])
    assert with_ledger != base
    ledger.write_text("b\n", encoding="utf-8")
    assert key([ledger])[0] != with_ledger                  # the ledger's content is in the key


def test_stabilise_outputs_makes_styler_ids_and_counts_deterministic():
    import nbformat

    nb = nbformat.v4.new_notebook()
    c1 = nbformat.v4.new_code_cell("a")
    c1.execution_count = 17
    c1.outputs = [nbformat.v4.new_output("execute_result", execution_count=17, data={
        "text/html": '<style>#T_9f3a1_row0_col0 {x}</style><table id="T_9f3a1"><td id="T_9f3a1_row0_col0">'
                     '</td></table><table id="T_0be22"></table>',
        "text/plain": "<pandas.io.formats.style.Styler at 0x7efd6314aed0>"})]
    c2 = nbformat.v4.new_code_cell("b")
    c2.execution_count = 18
    nb.cells = [nbformat.v4.new_markdown_cell("T_abcde stays in prose"), c1, c2]
    book_cache.stabilise_outputs(nb)
    html = nb.cells[1].outputs[0]["data"]["text/html"]
    assert "T_9f3a1" not in html and "T_0be22" not in html
    assert '#T_00001_row0_col0' in html and 'id="T_00001"' in html and 'id="T_00002"' in html
    assert nb.cells[1].outputs[0]["data"]["text/plain"] == "<pandas.io.formats.style.Styler at 0x000000000000>"
    assert [c.get("execution_count") for c in nb.cells[1:]] == [1, 2]
    assert nb.cells[1].outputs[0]["execution_count"] == 1
    assert nb.cells[0].source == "T_abcde stays in prose"


def _stamp_project(project):
    """A book folder with a stamp written for the tiny project; returns (book, config copy, notebook, ledger)."""
    import shutil

    cfg_copy = project["tmp"] / "hbeval.yml"
    shutil.copyfile(load_config().path, cfg_copy)
    nb = write_nb(project["nb"], "wellbeing")
    ledger = project["tmp"] / "ledger.csv"
    ledger.write_text("a\n", encoding="utf-8")
    raw = project["tmp"] / "raw"
    (raw / "asiakkaat").mkdir(parents=True, exist_ok=True)
    (raw / "asiakkaat" / "a.xlsx").write_bytes(b"one")
    pipeline.write_stamp(project["book"], project["nb"], cfg_copy, project["proc"], raw, [ledger])
    return cfg_copy, nb, ledger, raw


def test_stale_check_names_every_changed_input(project):
    book = project["book"]
    assert "hbeval build" in pipeline.check_stamp(book)[0]          # no stamp at all
    cfg_copy, nb, ledger, raw = _stamp_project(project)
    assert pipeline.check_stamp(book) == []
    cfg_copy.write_text(cfg_copy.read_text(encoding="utf-8") + "\n# toinen valinta\n", encoding="utf-8")
    (msg,) = pipeline.check_stamp(book)
    assert "config:hbeval.yml" in msg and "hbeval build" in msg and "lähtötiedot" in msg
    _stamp_project(project)
    nb.write_text(nb.read_text(encoding="utf-8") + "\nUusi lause.\n", encoding="utf-8")   # prose counts here too
    assert "notebooks/wellbeing.md" in pipeline.check_stamp(book)[0]
    _stamp_project(project)
    ledger.write_text("b\n", encoding="utf-8")
    assert "extra:" in pipeline.check_stamp(book)[0]
    _stamp_project(project)
    (raw / "asiakkaat" / "a.xlsx").write_bytes(b"two")                # raw changed, intake not rerun
    assert "raw" in pipeline.check_stamp(book)[0]
    cfg_copy, nb, ledger, raw = _stamp_project(project)
    pipeline.write_stamp(book, project["nb"], cfg_copy, project["proc"], raw, [ledger],
                         stale=["lahtotilanne/costs/pori"])
    (msg,) = pipeline.check_stamp(book)
    assert "lahtotilanne/costs/pori" in msg and "ajamatta" in msg


@pytest.mark.slow
def test_stale_advice_names_the_raw_folder_the_book_was_built_from(project):
    """Advice that works: a book built with ``--raw FOLDER`` is rebuilt by ``hbeval build --raw FOLDER`` — a bare
    ``hbeval build`` would fall back to ``paths.raw`` or the demo set and leave the book stale. The advised command,
    parsed by the real command line, resolves to the folder the book was built from."""
    import shlex

    import argparse

    from hbeval_lib.book import commands
    from hbeval_lib.book.run import rebuild_command, resolve_raw

    book = project["book"]
    cfg_copy, nb, ledger, raw = _stamp_project(project)
    nb.write_text(nb.read_text(encoding="utf-8") + "\nToinen lause.\n", encoding="utf-8")
    (msg,) = pipeline.check_stamp(book)
    assert f"hbeval build --raw {raw.resolve()}" in msg
    argv = shlex.split(msg.split("Aja `", 1)[1].split("`", 1)[0])
    assert argv[:2] == ["hbeval", "build"]
    parser = argparse.ArgumentParser()
    commands.add_build_arguments(parser)
    args = parser.parse_args(argv[2:])
    assert resolve_raw(load_config(), args.raw, generate_demo=False) == raw.resolve()
    # the default folder needs no --raw (known bad: an advice naming another folder would not match)
    default = resolve_raw(load_config(), None, generate_demo=True)
    assert rebuild_command({"raw": str(default), "config": str(load_config().path)}) == "hbeval build"
    assert rebuild_command({"raw": str(raw), "config": str(load_config().path)}) != "hbeval build"


def test_bare_jupyter_book_build_refuses_a_stale_book(project):
    """The Sphinx extension book/_ext/hbeval_stale.py stops `jupyter-book build` (the README's bare command)."""
    import shutil
    import subprocess
    import sys

    book = project["book"]
    book.mkdir(parents=True, exist_ok=True)
    shutil.copytree(REPO_ROOT / "book" / "_ext", book / "_ext")
    (book / "_config.yml").write_text(
        "title: T\nexecute:\n  execute_notebooks: 'off'\nsphinx:\n  local_extensions:\n    hbeval_stale: _ext\n",
        encoding="utf-8")
    (book / "_toc.yml").write_text("format: jb-book\nroot: intro\n", encoding="utf-8")
    (book / "intro.md").write_text("# Johdanto\n", encoding="utf-8")
    cfg_copy, _nb, _ledger, _raw = _stamp_project(project)
    exe = Path(sys.executable).with_name("jupyter-book")

    def jb():
        return subprocess.run([str(exe), "build", str(book)], capture_output=True, text=True, cwd=REPO_ROOT)

    ok = jb()
    assert ok.returncode == 0, ok.stdout[-2000:] + ok.stderr[-2000:]
    cfg_copy.write_text(cfg_copy.read_text(encoding="utf-8") + "\n# muutos\n", encoding="utf-8")
    bad = jb()
    out = bad.stdout + bad.stderr
    assert bad.returncode != 0, out[-2000:]
    assert "hbeval build" in out and "config:hbeval.yml" in out


@pytest.mark.slow
def test_prose_edit_updates_text_without_a_kernel_and_code_edit_only_its_strand(project):
    p = write_nb(project["nb"], "wellbeing")
    write_nb(project["nb"], "costs")
    first = do_run(project)
    assert len(first.executed) == 6 and first.prose == []
    mtime_costs = (project["book"] / "loppuraportti/kustannukset/eksote.ipynb").stat().st_mtime_ns

    # prose-only edit in one strand: nothing executed, the new sentence in the executed notebooks, outputs kept
    text = p.read_text(encoding="utf-8").replace("# Otsikko wellbeing", "# Otsikko wellbeing\n\nAivan uusi lause.")
    p.write_text(text.replace("```{code-cell} ipython3\nfrom hbeval_lib.core import tables",
                              "```{code-cell} ipython3\n:tags: [remove-input]\nfrom hbeval_lib.core import tables"),
                 encoding="utf-8")
    rep = do_run(project)
    assert rep.executed == []
    assert sorted(rep.prose) == [f"loppuraportti/wellbeing/{x}" for x in ("eksote", "hameenlinna", "kaikki")]
    nb = json.loads(_nb_text(project))
    assert "Aivan uusi lause." in json.dumps(nb, ensure_ascii=False)
    assert "rivejä 3" in json.dumps(nb, ensure_ascii=False)                  # outputs kept
    assert any("# Otsikko wellbeing: Eksote" in "".join(c["source"]) for c in nb["cells"])
    code = [c for c in nb["cells"] if "tables.load" in "".join(c["source"])]
    assert code[0]["metadata"]["tags"] == ["remove-input"] and code[0]["outputs"]   # display tag, outputs kept
    injected = [c for c in nb["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
    assert len(injected) == 1 and "remove-cell" in injected[0]["metadata"]["tags"]
    assert (project["book"] / "loppuraportti/kustannukset/eksote.ipynb").stat().st_mtime_ns == mtime_costs
    again = do_run(project)
    assert again.executed == [] and again.prose == []

    # a code edit in one strand re-executes only that strand's notebooks
    p.write_text(p.read_text(encoding="utf-8").replace('print("rivejä", len(df))', 'print("rivejä:", len(df))'),
                 encoding="utf-8")
    rep = do_run(project)
    assert sorted(rep.executed) == [f"loppuraportti/wellbeing/{x}" for x in ("eksote", "hameenlinna", "kaikki")]
    assert "rivejä: 3" in _nb_text(project)

    # a narrowed run reports what it left stale elsewhere, and the stamp makes the bare book build refuse
    p.write_text(p.read_text(encoding="utf-8").replace('print("rivejä:", len(df))', 'print("rivit", len(df))'),
                 encoding="utf-8")
    rep = do_run(project, pilots=["eksote"])
    assert rep.executed == ["loppuraportti/wellbeing/eksote"]
    assert {"loppuraportti/wellbeing/kaikki", "loppuraportti/wellbeing/hameenlinna"} <= set(rep.stale_elsewhere)
    assert "loppuraportti/costs/eksote" not in rep.stale_elsewhere
    assert any(f"{len(rep.stale_elsewhere)} muistikirjaa on ajamatta" in m
               for m in pipeline.check_stamp(project["book"]))


ISOLATION = '''
import os, sys, warnings
import matplotlib.pyplot as plt
import pandas as pd
print("kernel", os.getpid())
if pilot == "eksote":          # the first notebook on the kernel pollutes everything it can
    leaked_variable = 1
    pd.set_option("display.max_rows", 3)
    plt.rcParams["lines.linewidth"] = 9
    warnings.filterwarnings("error", message="hbeval-leak")
    os.environ["HBEVAL_LEAK"] = "1"
    sys.path.insert(0, "/nowhere")
    fig = plt.figure()
    os.chdir("/")
else:                          # the next one must see none of it
    assert "leaked_variable" not in globals()
    assert pd.get_option("display.max_rows") == 60
    assert plt.rcParams["lines.linewidth"] == 1.5
    assert "HBEVAL_LEAK" not in os.environ and "/nowhere" not in sys.path
    assert plt.get_fignums() == []
    assert not any(getattr(f[1], "pattern", None) == "hbeval-leak" for f in warnings.filters)
    assert os.getcwd() == str(REPO_ROOT)
    # filters that imported modules install stay, as in a cold kernel (statsmodels: "always" ConvergenceWarning)
    from statsmodels.tools.sm_exceptions import ConvergenceWarning
    assert any(f[0] == "always" and f[2] is ConvergenceWarning for f in warnings.filters)
'''


@pytest.mark.slow
def test_warm_kernel_is_reused_and_isolates_notebooks(project):
    """One worker, one warm kernel for both notebooks (same kernel pid), and nothing leaks from the first."""
    write_nb(project["nb"], "wellbeing", code="from hbeval_lib.config import REPO_ROOT\n" + ISOLATION)
    rep = pipeline.run(
        None, project["proc"], project["book"], project["nb"], phases=["loppuraportti"],
        pilots=["eksote", "hameenlinna"], jobs=1, progress=False, cache_dir=project["cache"])
    assert rep.executed == ["loppuraportti/wellbeing/eksote", "loppuraportti/wellbeing/hameenlinna"]
    pids = [re.search(r"kernel (\d+)", _nb_text(project, pilot=x)).group(1) for x in ("eksote", "hameenlinna")]
    assert pids[0] == pids[1]                          # the kernel was reused: isolation is really tested
    nb = json.loads(_nb_text(project, pilot="hameenlinna"))
    counts = [c["execution_count"] for c in nb["cells"] if c["cell_type"] == "code"]
    assert counts == list(range(1, len(counts) + 1))  # numbered as in a fresh kernel


@pytest.mark.slow
def test_warm_kernel_state_leak_is_caught_by_the_isolation_check(project, monkeypatch):
    """Known-bad: without the reset the second notebook sees the first one's variable and fails."""
    monkeypatch.setattr(kernels, "WARM_RESET", "pass\n")
    write_nb(project["nb"], "wellbeing", code="from hbeval_lib.config import REPO_ROOT\n" + ISOLATION)
    with pytest.raises(errors.RunError, match="AssertionError"):
        pipeline.run(None, project["proc"], project["book"], project["nb"], phases=["loppuraportti"],
                     pilots=["eksote", "hameenlinna"], jobs=1, progress=False, cache_dir=project["cache"])


def test_run_report_says_what_ran_what_was_fresh_and_what_is_stale_elsewhere(capsys):
    rep = pipeline.RunReport(executed=["loppuraportti/costs/pori"], skipped=["loppuraportti/wellbeing/pori"],
                             intake_ran=False, results_csv=None, seconds=1.0, prose=["loppuraportti/wellbeing/pori"],
                             stale_elsewhere=["lahtotilanne/costs/pori", "loppuraportti/costs/kaikki"])
    commands._print_report(rep)
    out = capsys.readouterr().out
    assert "1 notebooks executed, 1 up to date (of which 1 got new text without running)" in out
    assert "executed: loppuraportti/costs/pori" in out
    assert "text only (no kernel): loppuraportti/wellbeing/pori" in out
    assert "STALE elsewhere" in out and "2 notebooks" in out and "lahtotilanne/costs/pori" in out
    rep.stale_elsewhere = []
    commands._print_report(rep)
    assert "every other notebook is up to date" in capsys.readouterr().out


def test_a_lead_in_without_anything_after_it_is_left_out():
    """"HB-asiakkaiden omat väittämät:" stood alone on baseline pages and on pilots without clients: its figure was
    not drawn. A Markdown cell tagged ``lead-in`` is blanked when the code cells after it (to the next Markdown cell)
    show nothing but a researchers' text slot; with content after it, or untagged, it stays (known bad inputs)."""
    import nbformat

    from hbeval_lib.book.cache import drop_empty_lead_ins
    from hbeval_lib.page.report import SLOT_MARKER

    def md(text, lead=True):
        c = nbformat.v4.new_markdown_cell(text)
        if lead:
            c.metadata["tags"] = ["lead-in"]
        return c

    def code(*outputs):
        c = nbformat.v4.new_code_cell("x")
        c.outputs = [nbformat.v4.new_output("display_data", data={"text/markdown": t}, metadata=m)
                     for t, m in outputs]
        return c

    nb = nbformat.v4.new_notebook(cells=[
        md("Omat väittämät:"), code(),                                   # nothing shown: blanked
        md("Väittämät rinnakkain:"), code(), code(("kuvio", {})),          # the second cell shows: kept
        md("Teemat:"), code(), code(("✎ tutkijan teksti", {SLOT_MARKER: {"slot": "x"}})),   # only a slot: blanked
        md("Johdanto.", lead=False), code(),                             # not a lead-in: kept
    ])
    assert drop_empty_lead_ins(nb) == [0, 5]
    assert [c.source for c in nb.cells if c.cell_type == "markdown"] == ["", "Väittämät rinnakkain:", "", "Johdanto."]
