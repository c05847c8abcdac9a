"""The synthesis chapter (final report): the success criteria of the evaluation plan (§3.1) with the evidence the
three strands published. One function per section of ``notebooks/synthesis.md``.

Nothing is computed from the data here: the numbers are read from the strands' results CSVs
(``<results_dir>/<strand>/<pilot>.results.csv``), which already passed the strands' disclosure control, and
formatted with :func:`hbeval_lib.strands.services.stats.evidence_table`.
"""

from __future__ import annotations

import re

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from hbeval_lib.strands.services import stats as sv
from hbeval_lib.config import REPO_ROOT, strand_folder
from hbeval_lib.page.report import Report
from hbeval_lib.page.results import COLUMNS, read_results
from hbeval_lib.strands.services.sections import Section

STRAND = "synthesis"
PREFIX = "synteesi"
STRANDS = {"wellbeing": "Hyvinvointi ja osallisuus", "service_process": "Palveluprosessi", "costs": "Kustannukset"}


@dataclass
class StrandResults:
    """The strands' results for the page's phase and pilot, and which strands' files were found."""

    results: pd.DataFrame
    found: dict[str, Path]

    @property
    def missing(self) -> list[str]:
        """Finnish names of the strands whose results file does not exist (yet)."""
        return [STRANDS[s] for s, p in self.found.items() if not p.exists()]


def strand_results(rep: Report, results_dir: str = "") -> StrandResults:
    """Read the strands' results CSVs from ``results_dir`` (default ``book/<phase>``, relative to the repo)."""
    root = Path(results_dir) if results_dir else Path("book") / rep.phase
    root = root if root.is_absolute() else REPO_ROOT / root
    found = {s: root / strand_folder(s) / f"{rep.pilot}.results.csv" for s in STRANDS}
    results = read_results([p for p in found.values() if p.exists()])
    results = results[results["pilot"] == rep.pilot] if len(results) else pd.DataFrame(columns=COLUMNS)
    return StrandResults(results, found)


def status(rep: Report, sr: StrandResults) -> Section:
    """The line under the title: the phase, and the strands whose results are still missing."""
    missing = sr.missing
    return Section().text(f"**Raportointivaihe:** {rep.phase_obj.name}. " + (
        f"Seuraavien osien tuloksia ei ole vielä saatavilla: {', '.join(missing)}." if missing else
        "Kaikkien kolmen osan tulokset ovat mukana."))


GROUPS = {"vaikutukset": "Tavoitellut vaikutukset", "toimivuus": "Henkilökohtaisen budjetoinnin toimivuus"}


def criteria(rep: Report, group: str | None = None) -> list[dict]:
    """The success criteria of the configuration (``success_criteria``; plan §3.1), optionally of one group
    (``vaikutukset`` — the default of a criterion without ``group`` — or ``toimivuus``)."""
    crits = rep.cfg.section("success_criteria", []) or []
    return [c for c in crits if group is None or c.get("group", "vaikutukset") == group]


def heading(i: int, crit: dict) -> Section:
    """The criterion's number and wording (and, for a toimivuus criterion, its viewpoint)."""
    view = f" *(näkökulma: {crit['viewpoint']})*" if crit.get("viewpoint") else ""
    return Section().text(f"### {i}. {crit['text']}{view}")


def criterion(rep: Report, sr: StrandResults, i: int, crit: dict) -> Section:
    """One success criterion's evidence: the table of its indicators and how many of them are available.

    The judgement is the researchers' (slot ``kriteeri.<key>`` of ``book/text/<phase>/synthesis/<pilot>.md``, shown
    above this table); nothing here turns a number into a verdict — whether a cost difference is "reasonable", or a
    count of coded paragraphs shows change, needs the evaluators' reading of all the evidence.
    Records ``synteesi.<criterion>.evidence_available``; ``data["evidence"]`` is the evidence table.
    """
    t = sv.evidence_table(sr.results, crit)
    out = Section(data={"evidence": t})
    if t.empty:
        return out.text("Tälle kriteerille ei ole määritelty tunnuslukuja.")
    def minus(v) -> str:  # true minus sign in the formatted numbers (not in "%-yks.")
        return re.sub(r"-(?=\d)", "−", str(v or ""))

    shown = pd.DataFrame({"Osa": [STRANDS.get(s, s) for s in t["strand"]], "Tunnusluku": t["label"],
                          "Arvo": [minus(v) for v in t["value"]],
                          "95 %:n luottamusväli": [minus(c) for c in t["ci"]],
                          "n": [("" if n is None or pd.isna(n) else str(int(n))) for n in t["n"]]})
    out.table(shown.set_index(["Osa", "Tunnusluku"]))
    k, total = int(t["available"].sum()), len(t)
    # a count of indicators, not of persons: no n
    rep.res.add(f"synteesi.{crit['key']}.evidence_available",
                f"Saatavilla olevat tunnusluvut ({total} määritelty): {crit['text'][:60]}", estimate=k)
    # n: what the statistic rests on — persons for most, ratings for the project groups' self-evaluations
    # (why an indicator is missing only where one is: "4/4 … puuttuva tunnusluku on peitetty" read as a contradiction)
    missing = ("" if k == total else
               "; puuttuva tunnusluku on peitetty tietosuojan vuoksi tai sitä ei ole vielä kertynyt" if total - k == 1
               else "; puuttuvat tunnusluvut on peitetty tietosuojan vuoksi tai niitä ei ole vielä kertynyt")
    return out.text(f"*Näyttö: {k}/{total} tunnusluvusta on tässä vaiheessa saatavilla{missing}. n on havaintojen "
                    "määrä, johon tunnusluku perustuu (henkilöitä tai itsearviointeja).*")


def show_criterion(rep: Report, sr: StrandResults, i: int, crit: dict) -> Section:
    """Show one criterion in the executed notebook: its wording, the researchers' judgement (slot
    ``kriteeri.<key>``) and the evidence table beside it; return the evidence section."""
    heading(i, crit).show()
    rep.text(f"kriteeri.{crit['key']}")
    section = criterion(rep, sr, i, crit)
    section.show()
    return section


def value_of(sr: StrandResults, strand: str, key: str) -> str:
    """A formatted number from a strand's results, or 'ei saatavilla'."""
    return sv.evidence_table(sr.results, {"evidence": [{"strand": strand, "key": key}]}).loc[0, "value"]


def summary(rep: Report, sr: StrandResults, sections: list[Section]) -> Section:
    """The closing summary over all criteria; glues ``nonpublic_share_hb``, ``cost_per_client_month_hb`` and
    ``wellbeing_adjusted_diff``."""
    np_hb = value_of(sr, "service_process", "palvelut.nonpublic_share.hb")
    np_ctrl = value_of(sr, "service_process", "palvelut.nonpublic_share.verrokki")
    tabs = [s.data["evidence"] for s in sections]
    n_avail = sum(int(t["available"].sum()) for t in tabs if len(t))
    n_total = sum(len(t) for t in tabs)
    out = Section(glue={
        "nonpublic_share_hb": np_hb,
        "cost_per_client_month_hb": value_of(sr, "costs", "costs.per_client_month.hb"),
        # the wellbeing strand's primary outcome (configuration), never the largest of several differences
        "wellbeing_adjusted_diff": value_of(
            sr, "wellbeing", (rep.cfg.section("wellbeing", {}) or {}).get("primary_outcome", "kykyviisari.osallisuus")
            + ".adjusted_diff")})
    return out.text(
        f"Onnistumisen kriteereistä {len(sections)} käytiin läpi; niihin liitetyistä {n_total} tunnusluvusta "
        f"{n_avail} oli tässä vaiheessa saatavilla. Palvelujen monipuolistumisen keskeinen mittari – muiden kuin "
        f"julkisten tuottajien osuus palvelujen euroista – oli HB-asiakkailla {np_hb} ja verrokkiasiakkailla "
        f"{np_ctrl}. Hyvinvointivaikutuksia ja kustannuksia koskevat luvut tulkitaan osien omissa luvuissa "
        "luottamusväleineen; tämä luku kokoaa ne kriteereittäin.")


# -- the conditions for implementation (plan ch. 2, 6 and 8) -------------------------------------------------

CONDITIONS_HEADING = ("## Millä edellytyksillä HB-toimintamalli on Suomessa toteutettavissa ja otettavissa käyttöön "
                      "osana sote-valinnanvapauslainsäädäntöä?")


def conditions(rep: Report, sr: StrandResults) -> Section:
    """The evidence the three strands published on the conditions for implementing the HB model, by the plan's
    viewpoints (configuration ``implementation_conditions``): one table, every value read from the strands'
    protected results (a hidden or missing key reads "ei saatavilla"). The conclusions — and the legislative ones
    in particular — are the researchers' (slots ``edellytykset`` and ``edellytykset.lainsaadanto``).
    Records ``synteesi.edellytykset.evidence_available``."""
    groups = rep.cfg.section("implementation_conditions", []) or []
    out = Section()
    out.text("Arviointisuunnitelman kolmas pääkysymys kysyy, millä edellytyksillä HB-toimintamalli on "
             "toteutettavissa ja otettavissa vakiintuneesti käyttöön (suunnitelman luvut 2 ja 6); loppuraportti "
             "kokoaa päätelmät mallin toimivuudesta ja sen edellytyksistä. Taulukko kokoaa näytön suunnitelman "
             "toimivuuden näkökulmittain: työpajojen ja päiväkirjojen koodatut havainnot, projekti- ja "
             "johtoryhmien näkemykset käyttöönoton edellyttämistä toimenpiteistä, HB-avustajien vastaukset, "
             "pilottien itsearvioinnit sekä palveluprosessin ja kustannusten keskeiset tunnusluvut. Yksityiskohdat "
             "ovat palveluprosessin luvun jaksossa *Millä edellytyksillä …* ja kustannusluvussa.")
    frames = []
    for g in groups:
        t = sv.evidence_table(sr.results, g)
        if len(t):
            frames.append(t.assign(viewpoint=g.get("viewpoint", g.get("key", ""))))
    if not frames:
        return out.text("Edellytyksille ei ole määritelty tunnuslukuja (asetukset: implementation_conditions).")
    t = pd.concat(frames, ignore_index=True)
    out.data["evidence"] = t
    shown = pd.DataFrame({"Näkökulma": t["viewpoint"], "Tunnusluku": t["label"],
                          "Arvo": [re.sub(r"-(?=\d)", "−", str(v or "")) for v in t["value"]]})
    out.table(shown.set_index(["Näkökulma", "Tunnusluku"]),
              "*Taulukko: edellytyksiä koskeva näyttö arvioinnin osista; luvut on luettu osien tietosuojatuista "
              "tulostaulukoista, ja peitetty tai puuttuva luku näkyy muodossa ”ei saatavilla”.*")
    k, total = int(t["available"].sum()), len(t)
    rep.res.add("synteesi.edellytykset.evidence_available",
                f"Edellytyksiä koskevat saatavilla olevat tunnusluvut ({total} määritelty)", estimate=k)
    return out.text(f"*Näyttö: {k}/{total} tunnusluvusta on tässä vaiheessa saatavilla.*")
