"""The methods appendix and the limitations are filled in from what the analysis uses (one fact, one wording)."""

from __future__ import annotations

import shutil

import pytest

from hbeval_lib import config as C
from hbeval_lib.strands import methods
from hbeval_lib.strands.wellbeing import stats as wb
from hbeval_lib.book.pages import _shared


def test_methods_page_states_the_analysis_settings(tmp_path):
    book = tmp_path / "book"
    shutil.copytree(C.REPO_ROOT / "book" / "yhteiset", book / "yhteiset")
    page = _shared(book, "menetelmat", "loppuraportti")
    assert "{{" not in page
    d = methods.descriptors()
    # the SMD thresholds are the ones the balance figure and the dropout verdict use
    assert f"alle {d['smd_negligible']}:n" in page and f"yli\n{d['smd_notable']}:n" in page
    assert d["smd_notable"] == "0,2" and wb.SMD_NOTABLE == 0.2
    # the imputations are the analysis's M, and the interval rule its MIN_DF
    assert f"{wb.ANALYSIS_DEFAULTS['mi_imputations']} imputointia" in page
    assert f"vähintään {wb.MIN_DF}" in page
    assert "ANCOVA" not in page and "kovarianssianalyysi" not in page
    lim = _shared(book, "rajoitukset", "loppuraportti")
    assert "moni-imputoinnilla" in lim and "vain niiltä, joilla on sekä" not in lim


def test_a_configuration_change_changes_the_text(tmp_path, monkeypatch):
    text = C.DEFAULT_CONFIG.read_text(encoding="utf-8")
    cfg_path = tmp_path / "hbeval.yml"
    cfg_path.write_text(text.replace("mi_imputations: 40", "mi_imputations: 25"), encoding="utf-8")
    cfg = C.load_config(cfg_path)
    assert methods.descriptors(cfg)["mi_imputations"] == "25"
    assert "25 imputointia" in methods.fill("{{hbeval.mi_imputations}} imputointia", cfg)


def test_an_unknown_descriptor_stops_the_build():
    with pytest.raises(methods.MethodTextError, match="tuntematon menetelmätieto"):
        methods.fill("M = {{hbeval.imputations_count}}", source="yhteiset/menetelmat.md")


def test_methods_say_the_roster_drivers_are_baseline_values_without_a_date(tmp_path, monkeypatch):
    """Issue 20: age and labour status come from the undated roster; the methods say so and what it assumes."""
    book = tmp_path / "book"
    shutil.copytree(C.REPO_ROOT / "book" / "yhteiset", book / "yhteiset")
    page = " ".join(_shared(book, "menetelmat", "loppuraportti").split())
    assert "Näistä ikä ja työvoimastatus otetaan asiakasrekisteristä" in page
    assert "kirjattu asiakkuuden alkaessa" in page and "ei ole päivämäärää" in page
    assert "lähtötilannetta" in page and "HB:n seurausta" in page
    # the names follow the analysis: the start score is a dated measurement, not a roster field
    assert set(wb.DRIVERS) - set(wb.ROSTER_COVARIATES) == {"start"}
    monkeypatch.setattr(wb, "DRIVERS", ("start", "age"))
    assert methods.descriptors()["roster_drivers"] == "ikä"             # known bad input: a changed driver set
    assert "ikä ja työvoimastatus" not in methods.fill("{{hbeval.roster_drivers}}")


def test_the_cost_notebook_names_the_variance_the_cost_differences_use(tmp_path):
    """A reader of the final report found the cost chapter's introduction saying HC3 while the intervals were HC2
    (issue 20 changed the analysis, the notebook's prose stayed). The notebook's Markdown names the analysis'
    constant through a descriptor, filled when an executed notebook is finalised."""
    import nbformat

    from hbeval_lib.book import cache
    from hbeval_lib.strands.costs import stats as costs

    src = (C.REPO_ROOT / "notebooks" / "costs.md").read_text(encoding="utf-8")
    assert "(HC3)" not in src and "{{hbeval.cost_hc}}" in src
    assert methods.descriptors()["cost_hc"] == costs.COST_HC == "HC2"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("Väli ({{hbeval.cost_hc}}).")])
    path = tmp_path / "kaikki.ipynb"
    nbformat.write(nb, path)

    class Job:
        out_dir, pilot, config_path, source = tmp_path, "kaikki", None, C.REPO_ROOT / "notebooks" / "costs.md"
        strand, phase = "costs", "loppuraportti"

        def parameters(self, *a):
            return {}

    cache.finalise_notebook(path, Job())
    assert nbformat.read(path, as_version=4).cells[0].source == "Väli (HC2)."
    # known bad: an unknown descriptor in a notebook stops the build with the notebook's name
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("{{hbeval.hc_kind}}")]), path)
    with pytest.raises(methods.MethodTextError, match="costs.md"):
        cache.finalise_notebook(path, Job())


def test_the_imputation_model_is_described_as_the_analysis_runs_it():
    """The wellbeing page said the imputation ran "erikseen kummassakin ryhmässä" (a model per group) while the
    appendix said "ryhmän … yhdysvaikutuksin" and the analysis imputes once with the group's interactions and
    predictive mean matching (unseen set seed 347, a reader of the final report). One wording, from one constant."""
    import inspect

    from hbeval_lib.strands.wellbeing import sections

    d = methods.descriptors()
    assert d["mi_interactions"] == wb.MI_INTERACTIONS_FI and d["mi_method"] == wb.MI_METHOD_FI
    assert "(" not in wb.MI_INTERACTIONS_FI            # it stands inside the appendix's parenthesis
    src = inspect.getsource(sections._method_text)
    assert "wb.MI_INTERACTIONS_FI" in src and "erikseen kummassakin" not in src
    appendix = (C.REPO_ROOT / "book" / "yhteiset" / "menetelmat.md").read_text(encoding="utf-8")
    assert "{{hbeval.mi_method}}" in appendix and "{{hbeval.mi_interactions}}" in appendix
    assert "ennustaa muutoksen" in appendix        # the outcome model's response is the change, as dr_effect's y
