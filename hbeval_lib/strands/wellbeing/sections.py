"""Chapter "Asiakkaiden hyvinvointi, toimintakyky ja osallisuus" (``notebooks/wellbeing.md``), one function per section.

Every section function takes the notebook's :class:`~hbeval_lib.page.report.Report` ``rep``, computes its numbers with
:mod:`hbeval_lib.strands.wellbeing.stats` / :mod:`hbeval_lib.core.likert`, passes them through ``rep.dc`` (disclosure control),
records them in ``rep.res`` and returns a :class:`Section` (Finnish text, table, figure, caption, glue values).
Nothing is displayed here: the notebook shows a section with :func:`show`. Figures are closed before they are
returned, so a notebook shows each one exactly once.

The functions must be called in the notebook's order: the results table and the suppression log keep the order
in which things were recorded, and :func:`kykyviisari_forest` reads the effects :func:`kykyviisari_change`
recorded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from hbeval_lib.strands.wellbeing import causal
from hbeval_lib.core import likert
from hbeval_lib.core import memo
from hbeval_lib.core import plots
from hbeval_lib.core import tables
from hbeval_lib.strands.wellbeing import stats as wb
from hbeval_lib.config import ALL_PILOTS
from hbeval_lib.page import readable
from hbeval_lib.page.disclosure import NOT_SHOWN
from hbeval_lib.page.report import Report, counted, num, pct, say, show_table
from hbeval_lib.page.results import rounded

ARM_FI = {"hb": "HB", "verrokki": "Verrokki"}
RECRUITMENT_TARGET = 150  # the evaluation plan's target number of clients (whole project)
FAMILY_FI = {"a": "isä, äiti ja lapset", "b": "isä ja lapset", "c": "äiti ja lapset", "d": "uusperhe",
             "e": "yhden hengen perhe"}
OCCASION_FI = {"alku": "Alku", "vali": "Väli", "loppu": "Loppu"}
DEFAULT_LIKERT_LABELS = [str(i) for i in range(1, 6)]

PHASE_NOTES = {
    "lahtotilanne": "Lähtötilanteen raportissa kuvataan rekrytointi ja ryhmien vertailukelpoisuus. Muutosta, "
                    "asiakaskyselyä, ESR-tilannetta ja HB-avustajan merkitystä ei vielä arvioida, koska "
                    "seurantamittauksia ei ole kertynyt riittävästi.",
    "valiarviointi": "Väliarvioinnissa muutos lasketaan alkumittauksesta viimeisimpään väli- tai loppumittaukseen. "
                     "Asiakaskysely, ESR-lomakkeiden työ- ja opiskelutilanne sekä HB-avustajan merkitys "
                     "raportoidaan vasta loppuraportissa.",
    "loppuraportti": "Loppuraportissa muutos lasketaan alkumittauksesta viimeisimpään loppumittaukseen; "
                     "mukana ovat myös asiakaskysely, ESR-tilanne ja HB-avustajan merkitys.",
}


@dataclass
class Section:
    """What one notebook section shows, in this order: ``text``, ``table``, ``figure``, ``caption``.

    ``glue`` holds the values the section publishes for the book's running text (myst-nb ``glue`` names);
    ``data`` hands intermediate results to a later section (never displayed).
    """

    text: str = ""
    method: str = ""      # how the section's numbers are computed: printed once per PDF report (report.say once=True)
    table: pd.DataFrame | None = None
    figure: Any = None
    caption: str = ""
    glue: dict[str, str] = field(default_factory=dict)
    data: Any = None
    topic: str = ""       # what the table is, named when it is replaced by a sentence and has no caption
    about_table: bool = False   # the text only describes the table: left out with it when the table is replaced


def show(*sections: Section) -> None:
    """Display sections in the executed notebook (text, table, figure, caption; empty parts are skipped)."""
    from IPython.display import display

    from hbeval_lib.page import readable

    for s in sections:
        data = getattr(s.table, "data", s.table)
        # a table replaced by a sentence: the method and the description of its columns describe nothing shown
        replaced = (s.figure is None and isinstance(data, pd.DataFrame)
                    and readable.mostly_hidden(readable.trimmed(data)[0]))
        if s.method and not replaced:
            say(s.method, once=True)
        if s.text and not (replaced and s.about_table):
            say(s.text)
        if s.table is not None:
            table = s.table
            if isinstance(table, pd.DataFrame) and isinstance(table.index, pd.RangeIndex):
                table = table.style.hide(axis="index").set_table_attributes('class="dataframe"')  # no row numbers
            if s.figure is None:
                show_table(table, s.caption, s.topic)   # a mostly hidden table is one sentence, no caption
                continue
            display(table)
        if s.figure is not None:
            display(s.figure)
        if s.caption:
            say(s.caption)


def glue_all(section: Section) -> None:
    """Publish a section's glue values (without displaying them)."""
    from myst_nb import glue

    for name, value in section.glue.items():
        glue(name, value, display=False)


# -- shared context ---------------------------------------------------------------------------------------------

def _conf(rep: Report) -> dict:
    return rep.cfg.section("wellbeing", {}) or {}


def _scope(rep: Report) -> dict:
    return wb.phase_scope(rep.phase)


def present_domains(rep: Report) -> list[str]:
    """The Kykyviisari domains (incl. family domains) with at least one score in this pilot and phase."""
    kyky = rep.load("kykyviisari")
    return [d for d in wb.DOMAINS if d in kyky.columns and kyky[d].notna().any()]


def _n_arm(rep: Report) -> pd.Series:
    clients = rep.load("clients")
    return clients.groupby("arm")["client_id"].nunique().reindex(list(wb.ARMS), fill_value=0)


def _survey(rep: Report) -> pd.DataFrame | None:
    """The client survey when this phase reports it and it has answers, else None."""
    survey = rep.load("asiakaskysely")
    return survey if _scope(rep)["survey"] and not survey.empty else None


def _count_row(rep: Report, key: str, label: str, n: int, hidden: bool = False) -> None:
    """A published count in the results table (small counts and ``hidden`` ones suppressed, zeros shown).

    The count is the estimate; ``n`` stays empty (it is the number of persons a statistic rests on).
    """
    ok = (n >= rep.dc.min_count or n == 0) and not hidden
    rep.res.add(key, label, estimate=n if ok else None, suppressed=not ok)


# -- introduction -----------------------------------------------------------------------------------------------

def phase_note(rep: Report) -> Section:
    """What this report phase covers."""
    return Section(text=PHASE_NOTES[rep.phase])


def pilot_summary(rep: Report, recruitment_section: Section) -> Section:
    """The first paragraph of a pilot's page: in one or two sentences what this pilot's data allow — the group sizes
    as the recruitment table's protected cells, and which HB − control comparisons the page publishes and which it
    does not, with the reason logged for them (the decisions of :func:`effects`, made once per page). Empty on the
    all-pilots page."""
    if rep.all_pilots:
        return Section()
    g = recruitment_section.glue
    hb, ver = g.get("wellbeing_n_hb", NOT_SHOWN), g.get("wellbeing_n_verrokki", NOT_SHOWN)
    lead = "**Mitä tämän pilotin aineistosta voi sanoa.** "
    if hb.isdigit() and ver.isdigit():
        sizes = f"Pilotissa on {hb} HB-asiakasta ja {ver} verrokkiasiakasta."
    else:
        sizes = "Pilotin ryhmien kokoja ei näytetä tarkasti" + (
            " (ks. rekrytointitaulukko)." if readable.shown_as_table(recruitment_section.table) else ".")
    if not _scope(rep)["change"]:
        return Section(text=lead + sizes + " Tässä vaiheessa raportoidaan rekrytointi ja ryhmien vertailukelpoisuus; "
                       "muutosta ei vielä arvioida.")
    eff = effects(rep)
    prim = primary_outcome(rep)
    shown = [o for o, e in eff.items() if e["shown"]]
    if prim in eff and eff[prim]["shown"]:
        text = f" Ensisijaisen tulosmuuttujan ({_outcome_name(prim).lower()}) ryhmävertailu julkaistaan tällä sivulla"
    else:
        why = rep.dc.why(f"{prim}.adjusted_diff", "n") if prim in eff else "koska mittauksia ei ole"
        text = (f" Ensisijaisen tulosmuuttujan ({_outcome_name(prim).lower()}) ryhmävertailua ei julkaista tällä "
                f"sivulla, {why or 'tietosuojan vuoksi'} (seurantamittaus vähintään {rep.dc.min_n_stat} asiakkaalla "
                "kummassakin ryhmässä); pilotin asiakkaat ovat mukana kaikkien pilottien päätuloksessa")
    if not eff:
        text += "."
    elif not shown:
        text += ", eikä sivulla julkaista muidenkaan mittareiden ryhmävertailuja."
    elif len(shown) < len(eff):
        text += f", ja {len(eff)} mittarin ryhmävertailuista julkaistaan {len(shown)}."
    else:
        text += f", kuten kaikkien {len(eff)} mittarin ryhmävertailut."
    return Section(text=lead + sizes + text)


# -- recruitment and attrition ----------------------------------------------------------------------------------

def recruitment(rep: Report) -> Section:
    """Clients by pilot or client group and arm (results ``recruitment.n.*``, glue ``wellbeing_n_*``).

    The arm sizes in the text, the glued values and the results rows are the table's own total row — the same
    protected cells, so a hidden arm is hidden everywhere it is printed (never one number shown in the text and
    hidden in the table)."""
    clients = rep.load("clients")
    n_total = int(clients["client_id"].nunique())
    n_arm = _n_arm(rep)
    by = "pilot" if rep.all_pilots else "client_group"
    rec = wb.recruitment_table(clients, by=by).drop(columns="yhteensä", errors="ignore")
    rec = rec[rec.sum(axis=1) > 0]
    names = rep.pilot_names if rep.all_pilots else rep.group_names
    rec.index = [names.get(i, i) for i in rec.index]
    rec = rec.rename(columns={"hb": "HB-asiakkaat", "verrokki": "Verrokkiasiakkaat"})
    rec.index.name = "Pilotti" if rep.all_pilots else "Asiakasryhmä"
    table = rep.dc.counts(rec, "rekrytointi", margins=True) if not rec.empty else None
    tot = rep.dc.total_label
    if table is not None:
        cells = {"hb": table.at[tot, "HB-asiakkaat"], "verrokki": table.at[tot, "Verrokkiasiakkaat"],
                 "total": table.at[tot, tot]}
    else:
        cells = {"hb": 0, "verrokki": 0, "total": 0}
    shown = {k: str(v) for k, v in cells.items()}
    glue = {"wellbeing_n_clients": shown["total"], "wellbeing_n_hb": shown["hb"],
            "wellbeing_n_verrokki": shown["verrokki"]}
    for arm in wb.ARMS:
        _count_row(rep, f"recruitment.n.{arm}", f"Asiakkaita ({ARM_FI[arm]})", int(n_arm[arm]),
                   hidden=not shown[arm].isdigit())
    _count_row(rep, "recruitment.n.total", "Asiakkaita yhteensä", n_total,
               hidden=not shown["total"].isdigit())
    if all(v.isdigit() for v in shown.values()):
        text = (f"Arvioinnissa on mukana **{shown['total']}** asiakasta: HB-asiakkaita {shown['hb']} ja "
                f"verrokkiasiakkaita {shown['verrokki']}.")
    elif shown["total"].isdigit():
        why = rep.dc.why("rekrytointi", [f"{tot} / HB-asiakkaat", f"{tot} / Verrokkiasiakkaat"])
        text = (f"Arvioinnissa on mukana **{shown['total']}** asiakasta. Ryhmien kokoja ei näytetä erikseen, "
                f"{why or 'tietosuojan vuoksi'}.")
    else:
        # the reason is the hidden totals' own decision (a small count, or a number another page would give away)
        why = rep.dc.why("rekrytointi", [f"{tot} / HB-asiakkaat", f"{tot} / Verrokkiasiakkaat", f"{tot} / {tot}"])
        text = f"Asiakasmääriä ei näytetä yhteensä, {why or 'tietosuojan vuoksi'}" + (
            " (ks. taulukko)." if table is not None and readable.shown_as_table(table) else ".")
    if rep.all_pilots:
        text += (f" Koko hankkeen tavoite (vähintään {RECRUITMENT_TARGET} asiakasta) "
                 + ("on saavutettu." if n_total >= RECRUITMENT_TARGET else "ei ole (vielä) täyttynyt."))
    if table is None:
        return Section(text=text, caption="Asiakkaita ei vielä ole tässä aineistossa.", glue=glue)
    return Section(text=text, table=table, glue=glue, topic="suostumuksen antaneet asiakkaat ryhmittäin")


def coverage(rep: Report) -> Section:
    """Clients with a Kykyviisari start, interim and end measurement, by arm."""
    cov = wb.measurement_coverage(rep.load("clients"), rep.load("kykyviisari"))
    cov.index = [ARM_FI[a] for a in cov.index]
    cov.index.name = "Ryhmä"
    cov.columns = ["Asiakkaita", "Alkumittaus", "Välimittaus", "Loppumittaus", "Alku- ja loppumittaus"]
    # the arm sizes are the recruitment table's (protected there with their total); printing them again here
    # would let a reader subtract a hidden arm from the total
    return Section(table=rep.dc.counts(cov.drop(columns="Asiakkaita"), "mittauskattavuus"),
                   topic="Kykyviisarin mittaukset ryhmittäin")


def _dropout_reason(rep: Report, hidden: list[str]) -> str:
    """Why the dropout comparison of the ``hidden`` arms is not shown: the decisions' own reasons — the phase rule
    hides comparisons of groups well over ten persons (unseen set seed 229: "jompikumpi on alle 10" was printed
    under groups of 16 and 53)."""
    why = _why_all(rep, [f"poistuma.{arm}" for arm in hidden], "smd")
    if not why or why == f"koska ryhmässä on alle {rep.dc.min_n_stat} henkilöä":
        return ("koska seurantamittauksen saaneista tai ilman jääneistä jompikumpi on alle "
                f"{rep.dc.min_n_stat} henkilöä")
    return why


def _why_all(rep: Report, tables: list[str], cell=None) -> str:
    """The reasons of several tables' decisions in one clause (``"koska … tai …"``; ``""`` when none hid anything)."""
    reasons = [r for r in dict.fromkeys(rep.dc.why(t, cell) for t in tables) if r]
    return ("koska " + " tai ".join(dict.fromkeys(r.removeprefix("koska ") for r in reasons))) if reasons else ""


def dropout(rep: Report) -> Section:
    """Start level of clients with and without a follow-up measurement of the primary outcome, by arm."""
    scope = _scope(rep)
    if not scope["change"]:
        return Section(text="Poistumaa arvioidaan, kun seurantamittauksia on kertynyt (väliarviointi ja "
                            "loppuraportti).")
    primary = _conf(rep).get("primary_outcome", "kykyviisari.osallisuus").split(".")[-1]
    drop = wb.dropout_comparison(rep.load("clients"), rep.load("kykyviisari"), primary, scope["end_occasions"])
    lines, hidden = [], []
    where = {"hb": "HB-ryhmässä", "verrokki": "Verrokkiryhmässä"}
    for r in drop.itertuples():
        if rep.dc.stat_ok(min(r.n_completed, r.n_missing_end), f"poistuma.{r.arm}", "smd"):
            verdict = ("seurantamittauksen puuttuminen ei liittynyt selvästi lähtötasoon" if abs(r.smd) < wb.SMD_NOTABLE else
                       "seurantamittauksen saaneiden ja ilman jääneiden lähtötaso erosi")
            lines.append(f"{where.get(r.arm, ARM_FI[r.arm] + '-ryhmässä')} {verdict} (osallisuus alussa "
                         f"{num(r.mean_start_completed)} vs. {num(r.mean_start_missing)}, SMD {num(r.smd, 2)}).")
        else:
            hidden.append(r.arm)
    if hidden:   # one sentence for the groups that cannot be compared, not one per group
        which = ("kummassakaan ryhmässä" if len(hidden) > 1 and not lines else
                 where.get(hidden[0], ARM_FI[hidden[0]] + "-ryhmässä").lower().replace("hb-", "HB-"))
        lines.append(f"Poistumaa ei voi verrata {which}, {_dropout_reason(rep, hidden)}.")
    return Section(text="**Poistuma.** " + " ".join(lines))


# -- baseline balance -------------------------------------------------------------------------------------------

def balance(rep: Report) -> Section:
    """Baseline SMDs between HB and control (results ``balance.<variable>.smd`` for continuous variables).

    ``data`` is the shown balance rows (empty when nothing is shown), for :func:`balance_figure`.
    """
    kyky, clients = rep.load("kykyviisari"), rep.load("clients")
    doms = present_domains(rep)
    first = (kyky.assign(occasion=wb.normalise_occasion(kyky["occasion"]))
             .query("occasion == 'alku'").sort_values("date").groupby("client_id").head(1))
    base = clients.merge(first[["client_id", *doms]], on="client_id", how="left")
    labels = {"age": "Ikä", "gender": "Sukupuoli", "family_structure": "Perherakenne",
              "labour_status": "Työvoimastatus", **{d: wb.DOMAINS[d] for d in doms}}
    cats = ["gender", "family_structure", "labour_status"]
    # rare levels are merged by their counts in the whole data, so that every page and phase shows the same levels
    everyone = tables.read_table("clients", rep.processed)
    base = _collapse_rare(base, cats, rep.dc.min_count, reference=everyone)
    bal = wb.balance_table(base, ["age", *doms], cats, labels)
    n_arm, min_n = _n_arm(rep), rep.dc.min_n_stat
    if bal.empty or min(n_arm) < min_n:
        rep.dc.stat_ok(min(n_arm), "tasapaino", "smd")
        return Section(text=f"Vertailua ei näytetä: jommassakummassa ryhmässä on alle {min_n} asiakasta.",
                       data=pd.DataFrame())
    # each arm's mean (or share) is a statistic on that arm's persons: a ledger cell, so that the release can hide
    # its complement over pilots and a newcomer's values differenced over phases
    ok_arm = {arm: [rep.dc.stat_ok(int(n), "tasapaino", f"{v} {lv} {arm}".strip())
                    for n, v, lv in zip(bal[f"n_{arm}"], bal["variable"], bal["level"])] for arm in wb.ARMS}
    for arm in wb.ARMS:
        bal[arm] = bal[arm].where(pd.Series(ok_arm[arm], index=bal.index))
    ok = pd.Series([a or b for a, b in zip(ok_arm["hb"], ok_arm["verrokki"])], index=bal.index)
    bal.loc[~pd.Series([a and b for a, b in zip(ok_arm["hb"], ok_arm["verrokki"])], index=bal.index), "smd"] = math.nan
    # a percentage of a known group is a count: the levels of each variable are protected as a table of counts
    # (level × arm, with the arm sizes as its total row), linked over pages and phases by the release
    for var in cats:
        if var not in base.columns or labels[var] not in set(bal["variable"]):
            continue
        known = base.dropna(subset=[var])
        tab = pd.crosstab(known[var].astype(str), known["arm"]).reindex(columns=list(wb.ARMS), fill_value=0)
        shown = rep.dc.counts(tab, f"tasapaino.{var}", margins=True)
        for i in bal.index[bal["variable"].eq(labels[var])]:
            for arm in wb.ARMS:
                # a share is its count over the arm's size: shown only where both are (a share to 0,1 % of a
                # hidden size gave the size back — 34,3 % = 12/35 — and with it the cells it protected, seed 353)
                if not all(isinstance(shown.at[row, arm], (int, np.integer))
                           for row in (bal.at[i, "level"], rep.dc.total_label)):
                    bal.loc[i, arm] = math.nan
                    bal.loc[i, "smd"] = math.nan   # the SMD and the other arm's share give the share back
    b = bal[ok].copy()
    b["level"] = [FAMILY_FI.get(lv, lv) if v == "Perherakenne" else lv for v, lv in zip(b["variable"], b["level"])]

    def value(x, kind):
        return NOT_SHOWN if pd.isna(x) else num(x) + ("" if kind == "continuous" else " %")

    table = pd.DataFrame({"Muuttuja": b["variable"], "Luokka": b["level"],
                          "HB": [value(x, k) for x, k in zip(b["hb"], b["kind"])],
                          "Verrokki": [value(x, k) for x, k in zip(b["verrokki"], b["kind"])],
                          "SMD": [num(x, 2) for x in b["smd"]]}).reset_index(drop=True)
    key_of = {v: k for k, v in reversed(list(labels.items()))}
    for r in b.itertuples():
        if r.kind == "continuous":
            rep.res.add(f"balance.{key_of[r.variable]}.smd", f"Lähtötilanteen SMD: {r.variable}", r.smd,
                        n=r.n_hb + r.n_verrokki, suppressed=bool(pd.isna(r.smd)))
    return Section(table=table, data=b)


def _collapse_rare(data: pd.DataFrame, columns: list[str], min_count: int, other: str = "muu",
                   reference: pd.DataFrame | None = None) -> pd.DataFrame:
    """Merge the levels of ``columns`` held by fewer than ``2 × min_count`` persons (counted in ``reference``,
    default ``data``) into one level ``other``.

    A rare category (a gender, a family type) is shown as part of a larger class rather than hidden: less
    information is lost, and no one is singled out. The merged level is still protected like any other.
    """
    out = data.copy()
    for c in columns:
        if c not in out.columns:
            continue
        ref = reference if reference is not None and c in reference.columns else out
        counts = ref[c].dropna().astype(str).value_counts()
        rare = [lv for lv, n in counts.items() if n < 2 * min_count]
        if len(rare) >= 1 and len(counts) > 1:
            label = other if other not in counts.index or other in rare else f"{other} (yhdistetty)"
            out[c] = out[c].where(~out[c].astype(str).isin(rare), label)
    return out


def balance_figure(shown: pd.DataFrame) -> Section:
    """Figure 1: the shown baseline SMDs as a dot plot with ±0.1 and ±0.2 reference lines."""
    if shown is None or shown.empty:
        return Section()
    shown = shown.dropna(subset=["smd"])   # an SMD hidden by disclosure control is not drawn either
    if shown.empty:
        return Section()
    d = shown.assign(nimi=[f"{v}: {lv}" if lv else v for v, lv in zip(shown["variable"], shown["level"])])
    kinds = [k for k in ("continuous", "categorical") if k in set(d["kind"])]
    fig, ax = plt.subplots(figsize=(7, 0.28 * len(d) + 1.2))
    sns.scatterplot(data=d, x="smd", y="nimi", hue="kind", hue_order=kinds, palette=plots.PALETTE[:len(kinds)],
                    ax=ax, s=50)
    for x in (-wb.SMD_NOTABLE, -wb.SMD_NEGLIGIBLE, wb.SMD_NEGLIGIBLE, wb.SMD_NOTABLE):
        ax.axvline(x, color="0.6", linestyle=":" if abs(x) < 0.15 else "--", linewidth=0.8)
    ax.axvline(0, color="0.3", linewidth=0.8)
    ax.set_xlabel("Vakioitu keskiarvojen erotus (HB − verrokki)")
    ax.set_ylabel("")
    handles, labels = ax.get_legend_handles_labels()
    names = {"continuous": "Jatkuva muuttuja", "categorical": "Luokka (osuus)"}
    ax.legend(handles, [names.get(lb, lb) for lb in labels], title="", loc="best", fontsize=8)
    plt.close(fig)
    # the thresholds' words are the text's above the figure (one wording: alle 0,1 merkityksetön, yli 0,2
    # huomionarvoinen), from the constants the balance table uses
    low, high = num(wb.SMD_NEGLIGIBLE, 1), num(wb.SMD_NOTABLE, 1)
    return Section(figure=fig, caption="*Kuvio 1. Lähtötilanteen erot HB- ja verrokkiasiakkaiden välillä. Mitä "
                                       "kauempana piste on nollasta, sitä enemmän ryhmät erosivat; pisteviivojen "
                                       f"(±{low}) sisällä erot ovat merkityksettömiä ja katkoviivojen (±{high}) "
                                       "ulkopuolella huomionarvoisia.*")


# -- Kykyviisari ------------------------------------------------------------------------------------------------

def kykyviisari_trajectory(rep: Report) -> Section:
    """Figure 2: domain means (95 % CI) at start, interim and end by arm; groups under the threshold not drawn."""
    doms = present_domains(rep)
    if not (_scope(rep)["change"] and doms):
        return Section()
    traj = wb.trajectory_summary(rep.load("kykyviisari"), doms)
    names = [f"kykyviisari.{r.outcome}.{r.arm}.{r.occasion}" for r in traj.itertuples()]
    keep = [rep.dc.figure_ok(r.n, name) for r, name in zip(traj.itertuples(), names)]
    traj = traj[keep]
    if traj.empty:
        return Section(text=_no_figure(rep, names, f"yhdessäkään ryhmässä ei ole {rep.dc.min_n_stat} mitattua "
                                                   "asiakasta", what="Kehityskuvaa"))
    fig = _trajectory_figure(traj, [d for d in doms if d in set(traj["outcome"])])
    # the caption says what is drawn: both groups' curves, or only the one with enough measured clients
    drawn = [arm for arm in wb.ARMS if arm in set(traj["arm"])]
    if len(drawn) == len(wb.ARMS):
        look = ("Katso, nouseeko HB-asiakkaiden (sininen) käyrä jyrkemmin kuin verrokkien (oranssi); "
                "mittauskerroissa on eri asiakkaita, joten muutoksen tarkka arvio on taulukossa.")
    else:
        partitive = {"hb": "HB-asiakkaita", "verrokki": "verrokkiasiakkaita"}
        missing_fi = " eikä ".join(partitive[a] for a in wb.ARMS if a not in drawn)
        look = (f"Kuviossa ovat vain {plots.ARM_LABELS[drawn[0]].replace('Verrokki', 'verrokki')}: "
                f"{missing_fi} ei piirretä, koska ryhmässä on alle {rep.dc.min_n_stat} mitattua asiakasta, joten "
                "ryhmiä ei voi verrata kuviosta.")
    return Section(figure=fig, caption="*Kuvio 2. Kykyviisarin osa-alueiden keskiarvot (95 %:n luottamusväli) "
                                       f"alku-, väli- ja loppumittauksessa. {look}*")


KOMPASSI_CAVEAT = ("Kompassin ja Kykyviisarin asteikkoja ei ole kalibroitu toisiinsa: muunnos (x − 1) · 10 / 9 vain "
                   "venyttää Kompassin asteikon 1–10 Kykyviisarin asteikolle 0–10, eikä alueiden sisältö ole sama. "
                   "Luvut ovat siksi suuntaa-antavia, ne kuvaavat vain muutosta eivätkä HB:n vaikutusta, eikä niitä "
                   "ole yhdistetty Kykyviisarin muutokseen tai vaikutusarvioon.")


def kompassi_only(rep: Report) -> Section:
    """Kompassi in place of Kykyviisari (Hämeenlinna plan: "Kykyviisarin (vastaavat tiedot Kompassi-mittarista)"):
    the clients with a Kompassi start and end assessment but no Kykyviisari start and end measurement in the
    corresponding domain get a descriptive change on Kykyviisari's scale, through the documented mapping
    (``kompassi.kykyviisari`` in the configuration; ``data/README.md``).

    Descriptive only: the scales are not calibrated, so the mapped change never enters the effect model. A domain's
    mean change is shown when at least ``min_n_stat`` Kompassi-only clients have it, and when the Kompassi clients
    who also have Kykyviisari are either none or at least ``min_n_stat`` (the service-process page publishes the
    change of all Kompassi clients: the difference would otherwise give a small group's mean). Records
    ``kompassi.kykyviisari.<domain>.change`` (mapped change) and ``kompassi.kykyviisari.n`` (clients).
    Empty on a page without Kompassi assessments."""
    conf = rep.cfg.section("kompassi", {}) or {}
    mapping = {a: d for a, d in (conf.get("kykyviisari") or {}).items() if d}
    k = rep.load("kompassi")
    if k.empty or not mapping or not _scope(rep)["change"]:
        return Section()
    lo, hi = (float(x) for x in conf.get("scale", [1, 10]))
    factor = 10.0 / (hi - lo)
    ends = _scope(rep)["end_occasions"]
    kyky = rep.load("kykyviisari")
    rows, only_any = [], set()
    for area, dom in mapping.items():
        kp = wb.paired_scores(k, area, ends)
        vp = wb.paired_scores(kyky, dom, ends) if dom in kyky.columns else pd.DataFrame(columns=["client_id"])
        has_kyky = set(vp["client_id"])
        only = kp[~kp["client_id"].isin(has_kyky)]
        n_comp = len(kp) - len(only)
        only_any |= set(only["client_id"])
        if only.empty:
            continue
        name = wb.DOMAINS.get(dom, dom)
        ok = rep.dc.stat_ok(len(only), "kompassi_vain.muutos", dom)
        why = "" if ok else rep.dc.why("kompassi_vain.muutos", dom)
        if ok and n_comp and not rep.dc.stat_ok(n_comp, "kompassi_vain.muut", dom):
            ok = False
            why = (f"koska Kompassilla ja Kykyviisarilla arvioituja on alle {rep.dc.min_n_stat}: heidän muutoksensa "
                   "selviäisi muuten palveluprosessin sivun Kompassi-luvuista")
        change = float(only["change"].mean()) * factor
        rep.res.add(f"kompassi.kykyviisari.{dom}.change",
                    f"Kompassilla arvioidut ilman Kykyviisarin muutosta: {name.lower()}, muutos Kykyviisarin "
                    "asteikolla (kuvaileva, kalibroimaton)", estimate=change if ok else None, n=len(only),
                    suppressed=not ok)
        rows.append({"Kykyviisarin osa-alue": name, "Kompassin alue": _kompassi_area(area),
                     "Muutos (0–10)": num(change, 1) if ok else NOT_SHOWN, "_ok": ok, "_why": why})
    n_all = len(only_any)
    # the results row is the count the page prints: the release's decision, not the count's own size (the
    # download printed 5 where the page said "lukumäärää ei näytetä", unseen set seed 353)
    count = rep.count(n_all, "kompassi_vain.n", "kaikki") if n_all else "0"
    _count_row(rep, "kompassi.kykyviisari.n", "Kompassilla arvioidut ilman Kykyviisarin muutosta (asiakkaita)", n_all,
               hidden=not str(count).isdigit())
    lead = "**Kompassi Kykyviisarin sijasta.** "
    if n_all == 0:
        return Section(text=lead + "Kaikilla tämän sivun asiakkailla, joilla on Kompassin alku- ja loppuarvio, on myös "
                       "Kykyviisarin alku- ja loppumittaus, joten Kompassia ei tarvita korvaamaan Kykyviisaria; "
                       "Kompassin muutos on palveluprosessin sivulla.")
    shown = [r for r in rows if r["_ok"]]
    text = (lead + f"Kompassilla arvioiduista {counted(count, 'asiakkaalta', 'osalta')} puuttuu Kykyviisarin alku- "
            "tai loppumittaus vähintään yhdellä osa-alueella. Heidän muutoksensa on laskettu Kompassista "
            "dokumentoidulla vastaavuudella (aineiston kuvaus) Kykyviisarin asteikolle. " + KOMPASSI_CAVEAT)
    hidden = [r for r in rows if not r["_ok"]]
    reasons = list(dict.fromkeys(r["_why"] or "tietosuojan vuoksi" for r in hidden))
    if not shown and len(reasons) == 1:   # nothing is shown: one sentence, not "the domain X" as if others were
        return Section(text=text + f" Yhdenkään osa-alueen muutosta ei näytetä, {reasons[0]}.")
    for why in reasons:
        names = [r["Kykyviisarin osa-alue"].lower() for r in hidden if (r["_why"] or "tietosuojan vuoksi") == why]
        text += f" {'Osa-alueiden' if len(names) > 1 else 'Osa-alueen'} {', '.join(names)} muutosta ei näytetä, {why}."
    if not shown:
        return Section(text=text)
    # the hidden domains are said above; the table holds the shown ones only
    table = pd.DataFrame([{c: v for c, v in r.items() if not c.startswith("_")} for r in shown])
    return Section(text=text, table=table, caption=(
        "*Taulukko: Kompassilla arvioitujen asiakkaiden, joilta Kykyviisarin muutos puuttuu, keskimääräinen muutos "
        "alku- ja loppuarvion välillä Kykyviisarin asteikolle muunnettuna (HB- ja verrokkiasiakkaat yhdessä; "
        "kuvaileva, ei vaikutusarvio).*"))


def _kompassi_area(area: str) -> str:
    from hbeval_lib.intake.instruments.specs import KOMPASSI_AREAS

    return KOMPASSI_AREAS.get(area, area)


def _trajectory_figure(traj: pd.DataFrame, doms: list[str], ncol: int = 4):
    nrow = math.ceil(len(doms) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(12, 2.8 * nrow), sharey=True, squeeze=False)
    for ax, d in zip(axes.flat, doms):
        for arm in wb.ARMS:
            t = traj[(traj["outcome"] == d) & (traj["arm"] == arm)]
            x = [list(OCCASION_FI).index(o) + (-0.06 if arm == "hb" else 0.06) for o in t["occasion"]]
            ax.errorbar(x, t["mean"], yerr=[t["mean"] - t["ci_low"], t["ci_high"] - t["mean"]], marker="o",
                        color=plots.ARM_COLORS[arm], label=plots.ARM_LABELS[arm], capsize=3)
        ax.set_title(wb.DOMAINS[d], fontsize=10)
        ax.set_xticks(range(3), labels=list(OCCASION_FI.values()))
        ax.set_xlim(-0.4, 2.4)
    for ax in list(axes.flat)[len(doms):]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel("Pisteet (0–10)")
    handles, lbls = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, lbls, loc="lower center", ncol=2, frameon=False, bbox_to_anchor=(0.5, -0.02))
    plt.close(fig)
    return fig


# -- HB − control effects: computed once per notebook, published section by section ---------------------------

KYKY = "kykyviisari"
ESIS = "osallisuustesti"
ROLE_FI = {"primary": "ensisijainen", "exploratory": "eksploratiivinen"}
MISSING_CI = "ei laskettavissa"


def _outcome_name(outcome: str) -> str:
    """Finnish name of an outcome id (``kykyviisari.<domain>`` or ``osallisuustesti``)."""
    if outcome == ESIS:
        return "Osallisuustesti"
    return wb.DOMAINS.get(outcome.split(".", 1)[-1], outcome)


def primary_outcome(rep: Report) -> str:
    """The configured primary outcome id (``wellbeing.primary_outcome``, default ``kykyviisari.osallisuus``)."""
    return str(_conf(rep).get("primary_outcome", "kykyviisari.osallisuus"))


def _analysis_options(rep: Report) -> dict:
    return wb.analysis_options(_conf(rep))


def _load_all_pilots(rep: Report, name: str) -> pd.DataFrame:
    """Table ``name`` of this phase for **all** pilots: a pilot page's effect is estimated from the pooled model
    (:func:`hbeval_lib.strands.wellbeing.stats.headline_analysis`), so that a small pilot keeps the selection drivers."""
    key = f"_all_pilots.{name}"
    if key not in rep._cache:
        rep._cache[key] = tables.load(name, rep.processed, phase=rep.phase, pilot=ALL_PILOTS, cfg=rep.cfg)
    return rep._cache[key].copy()


def effects(rep: Report) -> dict:
    """Every HB − control analysis of this page, computed once (cached on ``rep``) in the notebook's order.

    Returns ``{outcome: dict}`` for the Kykyviisari domains present (``kykyviisari.<domain>``) and the
    Osallisuustesti (``osallisuustesti``); each dict holds ``analysis`` (:class:`~hbeval_lib.strands.wellbeing.stats.
    OutcomeAnalysis`), ``primary``, ``complete_case``, ``ancova``, ``change_diff``, ``g``, ``evalue``, ``within``
    (per arm :func:`~hbeval_lib.strands.wellbeing.stats.paired_change`), ``n_obs`` (observed end scores per arm), ``shown``
    (passes disclosure: both arms have at least ``min_n_stat`` observed end scores), ``role`` and ``p_holm``
    (Holm-adjusted over the shown exploratory outcomes; NaN for the primary).
    """
    if "_wb_effects" in rep._cache:
        return rep._cache["_wb_effects"]
    scope = _scope(rep)
    out: dict = {}
    if scope["change"]:
        clients = _load_all_pilots(rep, "clients")
        kyky = _load_all_pilots(rep, "kykyviisari")
        specs = [(f"{KYKY}.{d}", kyky, d, scope["end_occasions"]) for d in present_domains(rep)]
        esis_end = tuple(o for o in scope["end_occasions"] if o != "vali") or ("loppu",)
        specs.append((ESIS, _load_all_pilots(rep, "osallisuustesti"), "score", esis_end))
        primary = primary_outcome(rep)
        for outcome, table, value, end in specs:
            a = wb.headline_analysis(table, clients, value, end, None if rep.all_pilots else rep.pilot,
                                     _analysis_options(rep), table=outcome.split(".")[0])
            if a is None:
                continue
            frame = a.data[a.target]
            pairs = frame[frame["end"].notna()]
            within = {arm: wb.paired_change(pairs.loc[pairs["arm"] == arm, "start"],
                                            pairs.loc[pairs["arm"] == arm, "end"]) for arm in wb.ARMS}
            n_obs = dict(zip(wb.ARMS, a.observed_end()))
            shown = rep.dc.stat_ok(min(n_obs.values()), f"{outcome}.adjusted_diff", "n")
            e = {"analysis": a, "within": within, "n_obs": n_obs, "shown": shown,
                 "role": "primary" if outcome == primary else "exploratory", "p_holm": math.nan}
            if shown:
                def heavy(a=a):
                    h = {"primary": a.primary(), "complete_case": a.complete_case(),
                         "ancova": a.ancova_start_pilot(), "change_diff": a.change_difference()}
                    h["g"] = a.hedges_g(h["primary"])
                    h["evalue"] = causal.evalue_smd(h["g"]["g"], h["g"]["ci_low"], h["g"]["ci_high"])
                    return h
                # computed once for the release stage and the notebook (hbeval_lib.core.memo)
                e.update(memo.cached(rep.processed, "wellbeing.effect",
                                     {"phase": rep.phase, "pilot": rep.pilot, "outcome": outcome,
                                      "end": list(end), "all_pilots": rep.all_pilots,
                                      "options": _analysis_options(rep)}, heavy, rep.cfg))
            out[outcome] = e
        family = {o: e["primary"]["p_value"] for o, e in out.items() if e["shown"] and e["role"] == "exploratory"}
        for o, p in causal.holm(family).items():
            out[o]["p_holm"] = p
    rep._cache["_wb_effects"] = out
    return out


def _finite(*xs) -> bool:
    return all(x is not None and isinstance(x, (int, float, np.floating)) and math.isfinite(x) for x in xs)


#: the difference cell of an estimate withheld by the publication rules (the interval cell says why)
NO_ESTIMATE = "ei arviota"


def _ci_cell(est: dict, digits: int = 2) -> str:
    """``lo … hi``, or a Finnish reason when the interval is not finite (never ``inf``/``nan``)."""
    if _finite(est.get("ci_low"), est.get("ci_high")):
        return f"{num(est['ci_low'], digits)} … {num(est['ci_high'], digits)}"
    return f"{MISSING_CI}: {est.get('reason') or 'keskivirhe ei ole äärellinen'}"


def _add_effect(rep: Report, key: str, label: str, est: dict, n: int, shown: bool) -> None:
    """Record one HB − control estimate: suppressed when not shown; a non-finite CI or p is never recorded."""
    if not shown:
        rep.res.add(key, label, suppressed=True)
        return
    ok = _finite(est.get("ci_low"), est.get("ci_high"), est.get("p_value"))
    vals = [est.get(k) if ok else None for k in ("estimate", "ci_low", "ci_high", "p_value")]
    if n is None:   # a hidden n: the numbers at the pages' precision (six digits help solve for n)
        vals = [rounded(v, 2 if i < 3 else 3) for i, v in enumerate(vals)]
    rep.res.add(key, label + ("" if ok else f" ({MISSING_CI})"), *vals[:3], n, vals[3])


EFFECT_LABELS = {
    "adjusted_diff": "Ero HB − verrokki muutoksessa, kaksoisrobusti + moni-imputointi",
    "hedges_g": "Vaikutuksen koko, Hedgesin g (vakioitu ero)",
    "complete_case_diff": "Ero HB − verrokki, kaksoisrobusti, vain täydelliset havainnot (herkkyys)",
    "ancova_diff": "Ero HB − verrokki, ANCOVA alkutasolla (toissijainen)",
    "change_diff": "Muutospisteiden ero HB − verrokki (toissijainen)",
}


def _record_outcome(rep: Report, outcome: str, e: dict) -> None:
    """Results rows of one outcome (keys in docs/results.md)."""
    name = _outcome_name(outcome)
    label = f"Kykyviisari, {name}" if outcome.startswith(KYKY) else name
    role = ROLE_FI[e["role"]]
    n_total = sum(e["n_obs"].values())
    # the arms' n as the change table prints them: a mean change with its interval and p gives a hidden n back
    # (t-test inversion: 0,33 / −0,05 … 0,72 / p 0,083 fits n = 12 only, unseen set seed 359), and a sum of the arms'
    # n beside one printed arm gives the other (141 − 99 = a hidden 42)
    arm_hidden = {arm: not str(_n_beside(rep, e["within"][arm]["n"], f"{outcome}.change.{arm}.n",
                                         ARM_FI[arm])).isdigit() for arm in wb.ARMS}
    for arm in wb.ARMS:
        r = e["within"][arm]
        key = f"{outcome}.change.{arm}"
        lbl = f"{label}: Muutos (loppu − alku) ({ARM_FI[arm]})"
        if rep.dc.stat_ok(r["n"], key, "n") and _finite(r["estimate"]):
            if arm_hidden[arm]:
                rep.res.add(key, lbl, rounded(r["estimate"], 2))     # the estimate alone, as the table prints it
            else:
                rep.res.add(key, lbl, r["estimate"], r["ci_low"], r["ci_high"], r["n"], r["p_value"])
        else:
            rep.res.add(key, lbl, suppressed=True)
    shown = rep.dc.stat_ok(min(e["n_obs"].values()), f"{outcome}.adjusted_diff", "n")
    if not shown:
        for suffix, what in EFFECT_LABELS.items():
            rep.res.add(f"{outcome}.{suffix}", f"{label}: {what}", suppressed=True)
        return
    n_all = e["primary"]["n"]
    if any(arm_hidden.values()):   # a sum of the arms' n: not printed where an arm's n is hidden
        n_all = n_total = None
    _add_effect(rep, f"{outcome}.adjusted_diff",
                f"{label}: Ero HB − verrokki muutoksessa, kaksoisrobusti + moni-imputointi ({role})",
                e["primary"], n_all, True)
    if e["role"] == "exploratory" and _finite(e["p_holm"]):
        rep.res.add(f"{outcome}.p_holm", f"{label}: Holm-korjattu p-arvo (eksploratiivinen)", e["p_holm"],
                    n=n_all)
    g = e["g"]
    _add_effect(rep, f"{outcome}.hedges_g", f"{label}: Vaikutuksen koko, Hedgesin g (vakioitu ero)",
                {"estimate": g["g"], "ci_low": g["ci_low"], "ci_high": g["ci_high"],
                 "p_value": e["primary"]["p_value"], "reason": e["primary"].get("reason", "")}, n_all, True)
    ev, ev_ci = e["evalue"]
    if _finite(ev):
        rep.res.add(f"{outcome}.evalue", f"{label}: E-arvo (piste-estimaatti)", ev, n=n_all)
    if _finite(ev_ci):
        rep.res.add(f"{outcome}.evalue_ci", f"{label}: E-arvo (luottamusvälin nollaa lähempi raja)", ev_ci,
                    n=n_all)
    _add_effect(rep, f"{outcome}.complete_case_diff",
                f"{label}: Ero HB − verrokki, kaksoisrobusti, vain täydelliset havainnot (herkkyys)",
                e["complete_case"], n_total, True)
    _add_effect(rep, f"{outcome}.ancova_diff", f"{label}: Ero HB − verrokki, ANCOVA alkutasolla"
                + (" ja pilotilla" if rep.all_pilots else "") + " (toissijainen)", e["ancova"], n_total, True)
    _add_effect(rep, f"{outcome}.change_diff", f"{label}: Muutospisteiden ero HB − verrokki (toissijainen)",
                e["change_diff"], n_total, _both_changes_shown(rep, outcome))


def _between_table(rep: Report, outcomes: list[str]) -> pd.DataFrame:
    eff = effects(rep)
    rows = []
    for o in outcomes:
        e = eff[o]
        hidden = not e["shown"]
        p = e.get("primary", {})
        g = e.get("g", {})
        ev, ev_ci = e.get("evalue", (math.nan, math.nan))
        finite = not hidden and _finite(p.get("ci_low"), p.get("ci_high"))
        rows.append({
            "Mittari": _outcome_name(o), "Asema": ROLE_FI[e["role"]],
            "n (HB)": rep.count(e["n_obs"]["hb"], "vaikutus", f"{o}.n_hb"),
            "n (verrokki)": rep.count(e["n_obs"]["verrokki"], "vaikutus", f"{o}.n_verrokki"),
            "Ero HB − verrokki": NOT_SHOWN if hidden else (num(p.get("estimate"), 2) if _finite(p.get("estimate"))
                                                           else NO_ESTIMATE),
            "95 % LV": NOT_SHOWN if hidden else _ci_cell(p),
            "p": NOT_SHOWN if hidden else (wb.fmt_p(p["p_value"]) if finite else MISSING_CI),
            "p (Holm)": NOT_SHOWN if hidden else ("" if e["role"] == "primary" else wb.fmt_p(e["p_holm"])),
            "Vaikutuksen koko g (95 % LV)": NOT_SHOWN if hidden else (
                f"{num(g['g'], 2)} ({num(g['ci_low'], 2)} … {num(g['ci_high'], 2)})" if finite else MISSING_CI),
            "E-arvo (LV)": NOT_SHOWN if hidden else (
                f"{num(ev, 2)} ({num(ev_ci, 2)})" if _finite(ev, ev_ci) else MISSING_CI),
        })
    return pd.DataFrame(rows)


def _n_beside(rep: Report, n, table: str, cell: str) -> str | None:
    """The ``n`` printed beside a statistic, as a ledger count (``Report.count``): the same protection as every
    other count of persons on the page. Recorded when the statistic could be shown by its own rule (``n`` of at least
    ``min_n_stat``: a fact of the data, the same in every execution); ``None`` otherwise (nothing is printed)."""
    if n is None or pd.isna(n) or int(n) < rep.dc.min_n_stat:
        return None
    # one cell, one decision: asked again on the page (a results row, a table, a section that must know whether
    # the table printed it), the same cell — a second call would be a new cell "#2" with a decision of its own
    memo = rep.__dict__.setdefault("_n_beside", {})
    key = (table, cell, int(n))
    if key not in memo:
        memo[key] = rep.count(int(n), table, cell)
    return memo[key]


def _within_table(rep: Report, outcomes: list[str]) -> pd.DataFrame:
    eff = effects(rep)
    rows = []
    for o in outcomes:
        for arm in wb.ARMS:
            r = eff[o]["within"][arm]
            # the n beside the change is a count of persons: a ledger count (protected with the page's other
            # counts, see release.protect._same_count_elsewhere), recorded whenever it could be printed
            n_txt = _n_beside(rep, r["n"], f"{o}.change.{arm}.n", ARM_FI[arm])
            ok = rep.dc.stat_ok(r["n"], f"{o}.change.{arm}", "n") and _finite(r["estimate"])
            # with a hidden n, the mean change alone: its interval, p-values and d give the n back
            full = ok and str(n_txt).isdigit()
            rows.append({"Mittari": _outcome_name(o), "Ryhmä": ARM_FI[arm], "n": n_txt if ok else NOT_SHOWN,
                         "Muutos": num(r["estimate"], 2) if ok else NOT_SHOWN,
                         "95 % LV": _ci_cell(r) if full else NOT_SHOWN,
                         "p (t-testi)": wb.fmt_p(r["p_value"]) if full else NOT_SHOWN,
                         "p (Wilcoxon)": wb.fmt_p(r["p_wilcoxon"]) if full else NOT_SHOWN,
                         "Muutoksen koko (ryhmän sisäinen, kuvaileva)": num(r["d_z"], 2) if full and _finite(r["d_z"])
                         else NOT_SHOWN})
    return pd.DataFrame(rows)


def _both_changes_shown(rep: Report, outcome: str) -> bool:
    """Whether both arms' mean changes of ``outcome`` are published: the difference of the mean changes is one arm's
    change less the other's, so it is printed only with both (a shown control change plus the difference gave the
    HB change back that the phase rule hid, unseen set seed 359). The decisions are the within rows' own (memoised
    per page: no new cells)."""
    e = effects(rep)[outcome]
    return all(rep.dc.stat_ok(e["within"][arm]["n"], f"{outcome}.change.{arm}", "n")
               and _finite(e["within"][arm]["estimate"]) for arm in wb.ARMS)


def _sensitivity_table(rep: Report, outcomes: list[str]) -> pd.DataFrame:
    eff = effects(rep)
    rows = []

    def cell(est: dict) -> str:
        if not _finite(est.get("estimate")):
            return f"{MISSING_CI}: {est.get('reason') or 'malli ei ole estimoitavissa'}"
        return f"{num(est['estimate'], 2)} ({_ci_cell(est)})"

    for o in outcomes:
        e = eff[o]
        if not e["shown"]:
            rows.append({"Mittari": _outcome_name(o), "Ensisijainen: kaksoisrobusti + MI": NOT_SHOWN,
                         "Kaksoisrobusti, täydelliset havainnot": NOT_SHOWN,
                         "ANCOVA (alkutaso" + (" + pilotti)" if rep.all_pilots else ")"): NOT_SHOWN,
                         "Muutospisteiden ero": NOT_SHOWN})
            continue
        rows.append({"Mittari": _outcome_name(o), "Ensisijainen: kaksoisrobusti + MI": cell(e["primary"]),
                     "Kaksoisrobusti, täydelliset havainnot": cell(e["complete_case"]),
                     "ANCOVA (alkutaso" + (" + pilotti)" if rep.all_pilots else ")"): cell(e["ancova"]),
                     "Muutospisteiden ero": cell(e["change_diff"]) if _both_changes_shown(rep, o) else NOT_SHOWN})
    return pd.DataFrame(rows)


LORD_TEXT = ("Toissijaiset analyysit voivat poiketa ensisijaisesta. ANCOVA vertaa loppupisteitä samasta "
             "alkutasosta lähteneiden kesken, muutospisteiden ero taas vertaa ryhmien keskimääräisiä muutoksia. "
             "Kun ryhmät eroavat jo alussa, nämä kysymykset ovat eri kysymyksiä (Lordin paradoksi), ja koska "
             "yksittäinen mittaus sisältää satunnaisvaihtelua, alussa poikkeuksellisen matalat tai korkeat pisteet "
             "palautuvat keskimäärin kohti keskiarvoa (regressio kohti keskiarvoa). ANCOVA ja muutospisteet "
             "vakioivat lisäksi vain alkutason (ja pilotin), eivät ikää, työvoimastatusta tai muita taustatekijöitä, "
             "joiden perusteella asiakkaat ovat voineet valikoitua HB:hen. Siksi päätulos on kaksoisrobusti "
             "estimaatti.")


_COVARIATE_FI = {"start": "alkutaso", "age": "ikä", "labour_status": "työvoimastatus", "client_group": "asiakasryhmä",
                 "pilot": "pilotti", "gender": "sukupuoli", "family_structure": "perherakenne"}


def _fi_list(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " ja " + words[-1]


def _covariate_words(rep: Report) -> str:
    """The models' covariates as the analysis takes them (:data:`wb.MODEL_PRIORITY`): the plan's selection drivers
    always, on a pilot's page the pilots' levels too (the pilot's estimate comes from the joint model), the rest in
    order while the sample allows — so that the text cannot promise a covariate the model may leave out."""
    forced = list(wb.DRIVERS) + ([] if rep.all_pilots else ["pilot"])
    optional = [c for c in wb.MODEL_PRIORITY if c not in forced]
    return (f"valikoitumista ohjaavat tekijät {_fi_list([_COVARIATE_FI[c] for c in wb.DRIVERS])}"
            + ("" if rep.all_pilots else " sekä pilotti")
            + f" ja lisäksi {_fi_list([_COVARIATE_FI[c] for c in optional])}")


def _method_text(rep: Report, outcomes: list[str]) -> tuple[str, str]:
    """(the method shared by every page of the strand, what is particular to this page: the pilot's own model,
    imputed counts, covariates left out); the PDF prints the first once per report (``Section.method``)."""
    eff = effects(rep)
    conf = _conf(rep)
    # the analysis' own options (its defaults and the configuration), so that the text says what it did
    opts0 = {**wb.ANALYSIS_DEFAULTS, **{k: v for k, v in wb.analysis_options(conf).items() if v is not None}}
    estimand = conf.get("ps_estimand", "ATT")
    primary = primary_outcome(rep)
    shown = [eff[o] for o in outcomes if eff[o]["shown"]]
    m = max((e["primary"].get("m", 0) for e in shown), default=0)
    text = (f"**Ensisijainen tulosmuuttuja on {_outcome_name(primary).lower()}** "
            f"({'Kykyviisari' if primary.startswith(KYKY) else 'Osallisuustesti'}); se on valittu etukäteen "
            "arviointisuunnitelman mukaan. Muut mittarit ovat eksploratiivisia: niiden p-arvot on korjattu "
            "monivertailun vuoksi Holmin menetelmällä, eikä yksittäistä suurinta eroa pidä lukea päätuloksena. "
            "Ryhmien välinen ero on HB- ja verrokkiasiakkaiden ero muutoksessa (loppu − alku), arvioituna "
            "kaksoisrobustilla menetelmällä (AIPW): asiakkaiden valikoitumista HB:hen mallinnetaan "
            "kaltaistamispistemäärän mallilla (propensity score) ja muutosta regressiomallilla. Kummassakin ovat aina "
            f"{_covariate_words(rep)}, jos aineiston koko sallii. Arvio on harhaton, jos "
            "jompikumpi malli on oikein. "
            + "Taustatekijät ovat asiakasrekisterin tietoja, ja niiden oletetaan kuvaavan tilannetta asiakkuuden "
            "alussa; rekisterin työvoimastatuksella ei ole päivämäärää, joten jos se on päivitetty myöhemmin, se voi "
            "olla osin HB:n seurausta ja vääristää arviota. "
            + "Arviota ei julkaista, jos kaltaistamispistemäärän malli ei konvergoi, jokin taustatekijä erottaa ryhmät "
            "(lähes) täysin tai ryhmien päällekkäisyys on heikko, eikä luottamusväliä, jonka vapausasteita on alle "
            f"{wb.MIN_DF} tai joka on mittarin asteikkoa leveämpi; taulukko kertoo silloin syyn. "
            + ("Arvio koskee HB-asiakkaita (ATT). " if estimand == "ATT" else "Arvio koskee kaikkia asiakkaita (ATE). ")
            + "Luottamusväli ottaa huomioon myös painojen ja mallien estimoinnin (sandwich-keskivirhe). "
            f"Harvinaiset luokat (alle {opts0['min_level_n']} asiakasta tai alle {opts0['min_level_per_arm']} "
            "jommassakummassa ryhmässä) on yhdistetty luokaksi ”muut” ennen mallintamista.")
    specific = ("" if rep.all_pilots else
                "Pilotin oma arvio lasketaan kaikkien pilottien yhteisestä mallista, jossa jokaisella pilotilla on oma "
                "tasonsa: HB:n vaikutus estimoidaan tämän pilotin HB-asiakkaille, mutta valikoitumista ja muutosta "
                "kuvaavat mallit sovitetaan koko aineistoon, jotta pienenkään pilotin arviosta ei tarvitse jättää "
                "valikoitumista ohjaavia tekijöitä pois.")
    if m > 1:
        inter = f", {wb.MI_INTERACTIONS_FI}" if opts0.get("mi_interactions") else ""
        text += (f" Puuttuvat loppumittaukset on moni-imputoitu ketjutetuilla yhtälöillä ({m} imputointia, "
                 f"{wb.MI_METHOD_FI}; mukana alkutaso, välimittaus ja taustatekijät{inter}) "
                 "olettaen, "
                 "että puuttuminen selittyy havaituilla tiedoilla (MAR). Arvio on imputointien arvioiden "
                 "keskiarvo. Luottamusväli lasketaan vaikutusarvion ja imputointimallin yhteisistä "
                 "estimointiyhtälöistä (Robins ja Wang 2000), ja siihen lisätään imputointien määrästä johtuva "
                 "vaihtelu: Rubinin säännöt antaisivat liian leveän välin, koska imputointimallin välimittausta ei "
                 "voi käyttää vaikutusmallissa. Pelkkiin täydellisiin "
                 "havaintoihin perustuva arvio on herkkyysanalyysina alempana.")
        # (no count of imputed clients here: with a printed baseline or complete-case count it gave the other one
        # back where the page hid it — 42 + 43 = a hidden 85 controls, unseen set seed 359; the coverage table
        # prints both where the release allows)
    omitted = {o: [_COVARIATE_FI.get(c, c) for c in eff[o]["analysis"].omitted] for o in outcomes if eff[o]["shown"]}
    if any(omitted.values()):
        lists = {tuple(v) for v in omitted.values() if v}
        if len(lists) == 1 and all(omitted.values()):
            per = "kaikkien mittareiden malleista " + ", ".join(next(iter(lists)))
        else:   # which outcome's model left out what (the sentence said "mallista jäivät pois (parisuhde: …)")
            per = "; ".join(f"mittarin {_outcome_name(o).lower()} mallista {', '.join(v)}"
                            for o, v in omitted.items() if v)
        n_per = _conf(rep).get("clients_per_parameter", wb.ANALYSIS_DEFAULTS["clients_per_parameter"])
        specific += (" Muita taustatekijöitä otetaan malliin (yllä olevassa järjestyksessä) vain sen verran, että kutakin "
                 f"mallin parametria kohden on vähintään {n_per} loppumittauksen saanutta asiakasta pienemmässä "
                 f"ryhmässä; siksi jätettiin pois {per}.")
    text += (" Vaikutuksen koko on Hedgesin g: vakioitu ero jaettuna ryhmien yhdistetyllä alkutason "
             "keskihajonnalla. E-arvo kertoo, kuinka voimakkaasti (riskisuhteena) mittaamattoman tekijän pitäisi "
             "liittyä sekä HB:n valintaan että tulokseen, jotta se selittäisi eron kokonaan (suluissa: jotta "
             "luottamusväli ulottuisi nollaan).")
    return text, specific.strip()


def kykyviisari_change(rep: Report) -> Section:
    """HB − control differences of the Kykyviisari domains (primary and exploratory; results ``kykyviisari.*``).

    Records every Kykyviisari results row (within-arm change, primary, effect size, E-values, secondary)."""
    if not _scope(rep)["change"]:
        return Section(text="Muutosta ei vielä arvioida lähtötilanteen raportissa: seurantamittauksia ei ole "
                            "kertynyt.")
    eff = effects(rep)
    outcomes = [o for o in eff if o.startswith(KYKY)]
    if not outcomes:
        return Section(text="Kykyviisarin mittauksia ei ole tässä aineistossa.")
    for o in outcomes:
        _record_outcome(rep, o, eff[o])
    method, specific = _method_text(rep, outcomes)
    if not rep.all_pilots and not any(eff[o]["shown"] for o in outcomes):
        # no estimate on this pilot's page: the method paragraphs describe nothing here (the all-pilots page and
        # the PDF's all-pilots chapter print them)
        # (and no table of dashes: the page's opening says why, the sentence says where the method is)
        return Section(text="Ryhmien välisiä eroja ei tällä sivulla näytetä; menetelmä on kuvattu kaikkien "
                            "pilottien sivulla.")
    return Section(method=method, text=specific, table=_between_table(rep, outcomes),
                   caption="*Ero HB − verrokki: positiivinen luku = HB-asiakkaiden tilanne parani enemmän. "
                           "p (Holm) on monivertailukorjattu p-arvo; ”–” = ei näytetä tietosuojan vuoksi: "
                           f"ryhmässä on alle {rep.dc.min_n_stat} loppumittauksen saanutta asiakasta, tai luku "
                           "selviäisi muista julkaistuista luvuista.*")


def kykyviisari_within(rep: Report) -> Section:
    """Within-arm change of each Kykyviisari domain (descriptive; d_z is a within-arm quantity)."""
    eff = effects(rep)
    outcomes = [o for o in eff if o.startswith(KYKY)]
    if not outcomes:
        return Section()
    return Section(text="Muutos ryhmittäin (asiakkaat, joilla on sekä alku- että loppumittaus): keskimääräinen "
                        "muutos, parittaisen t-testin ja Wilcoxonin testin p-arvot sekä muutoksen koko (muutoksen "
                        "keskiarvo jaettuna muutoksen keskihajonnalla). Muutoksen koko kuvaa muutosta ryhmän "
                        "sisällä, **ei HB:n vaikutusta**: sama muutos voi näkyä myös verrokeilla. Ryhmän sisäiset "
                        "testit ovat kuvailevia: niiden p-arvoja ei ole korjattu monivertailun vuoksi, eikä niistä "
                        "pidä päätellä HB:n vaikutusta.",
                   table=_within_table(rep, outcomes), topic="Kykyviisarin muutos ryhmittäin", about_table=True)


def kykyviisari_sensitivity(rep: Report) -> Section:
    """Primary vs complete-case, ANCOVA and change-score estimates of the Kykyviisari domains."""
    eff = effects(rep)
    outcomes = [o for o in eff if o.startswith(KYKY)]
    if not outcomes:
        return Section()
    return Section(method=LORD_TEXT, table=_sensitivity_table(rep, outcomes),
                   caption="*Ero HB − verrokki (95 %:n luottamusväli) eri menetelmillä.*")


def weighting_balance(rep: Report) -> Section:
    """Balance of the propensity model's covariates before and after weighting (primary outcome's population) and
    the effective sample size of the weighted controls (results ``ps.*``)."""
    eff = effects(rep)
    primary = primary_outcome(rep)
    e = eff.get(primary)
    if e is None or not e["shown"]:
        return Section()
    bal = e["analysis"].balance()
    n_c = e["analysis"].observed_end()[1]
    ess = bal.attrs.get("ess_verrokki", math.nan)
    if bal.empty or not rep.dc.stat_ok(n_c, "painotus", "smd"):
        return Section()
    labels = {"age": "Ikä", "age_puuttuu": "Ikä puuttuu", "start": "Alkutaso", "gender": "Sukupuoli",
              "family_structure": "Perherakenne", "labour_status": "Työvoimastatus", "client_group": "Asiakasryhmä",
              "pilot": "Pilotti"}

    def name(v: str) -> str:
        base, _, level = v.partition("[")
        level = level.rstrip("]")
        if base == "family_structure":
            level = FAMILY_FI.get(level, level)
        elif base == "client_group":
            level = rep.group_names.get(level, level)
        elif base == "pilot":
            level = rep.pilot_names.get(level, level)
        return f"{labels.get(base, base)}: {level}" if level else labels.get(base, base)

    table = pd.DataFrame({"Muuttuja": [name(v) for v in bal["variable"]],
                          "SMD ennen painotusta": [num(x, 2) for x in bal["smd_before"]],
                          "SMD painotuksen jälkeen": [num(x, 2) for x in bal["smd_after"]]})
    before, after = bal["smd_before"].abs().max(), bal["smd_after"].abs().max()
    rep.res.add("ps.max_abs_smd.before", "Itseisarvoltaan suurin SMD ennen painotusta (ensisijaisen mittarin aineisto)", before,
                n=e["primary"]["n"])
    rep.res.add("ps.max_abs_smd.after", "Itseisarvoltaan suurin SMD painotuksen jälkeen (ensisijaisen mittarin aineisto)", after,
                n=e["primary"]["n"])
    if _finite(ess):
        rep.res.add("ps.ess.verrokki", "Painotettujen verrokkien efektiivinen otoskoko", ess,
                    n=e["primary"]["n_verrokki"])
    text = (f"**Painotuksen tasapaino ({_outcome_name(primary).lower()}).** Kaltaistamispistemäärästä lasketut painot tekevät "
            "verrokeista taustaltaan HB-asiakkaiden kaltaisia. Taulukko näyttää vakioidut erot (SMD) ennen ja "
            f"jälkeen painotuksen: suurin itseisarvo {num(before, 2)} → {num(after, 2)}. Painotettujen verrokkien "
            f"efektiivinen otoskoko on {num(ess, 1)} (mitä pienempi, sitä enemmän arvio nojaa muutamaan "
            "verrokkiin). Jäljelle jäävän epätasapainon korjaa kaksoisrobustin menetelmän regressiomalli.")
    if not bal.attrs.get("positivity_ok", True):
        text += (f" Kaltaistamispistemäärän malli ei tue vertailua ({bal.attrs.get('positivity_reason')}), joten "
                 "ensisijaista arviota ei julkaista.")
    return Section(text=text, table=table, topic="painotuksen tasapaino")


def primary_sensitivity(rep: Report) -> Section:
    """The primary outcome in words: estimate, effect size, E-value and the delta-adjusted tipping point
    (results ``<primary>.tipping_delta``)."""
    eff = effects(rep)
    primary = primary_outcome(rep)
    e = eff.get(primary)
    if not _scope(rep)["change"]:
        return Section()
    name = _outcome_name(primary).lower()
    if e is None or not e["shown"]:
        return Section(text=f"Ensisijaisen mittarin ({name}) eroa ei näytetä: jommassakummassa ryhmässä on alle "
                            f"{rep.dc.min_n_stat} asiakasta, joilla on loppumittaus.")
    p = e["primary"]
    if not _finite(p["ci_low"], p["ci_high"]):
        return Section(text=f"Ensisijaisen mittarin ({name}) erolle ei voitu laskea luottamusväliä: "
                            f"{p.get('reason') or 'keskivirhe ei ole äärellinen'}.")
    g = e["g"]
    ev, ev_ci = e["evalue"]
    sig = p["ci_low"] > 0 or p["ci_high"] < 0
    lines = [f"**Päätulos.** HB-asiakkaiden {name} muuttui {num(abs(p['estimate']), 2)} pistettä "
             f"{'enemmän parempaan' if p['estimate'] >= 0 else 'vähemmän parempaan'} suuntaan kuin verrokkien "
             f"(95 %:n luottamusväli {num(p['ci_low'], 2)} … {num(p['ci_high'], 2)}; vaikutuksen koko g = "
             f"{num(g['g'], 2)})."]
    lines.append(f"Mittaamaton sekoittava tekijä selittäisi eron kokonaan vain, jos se liittyisi sekä HB:n "
                 f"valintaan että muutokseen vähintään riskisuhteella {num(ev, 2)}"
                 + (f"; luottamusvälin nollaa lähempi raja siirtyisi nollaan jo riskisuhteella {num(ev_ci, 2)}."
                    if sig else "; koska luottamusväli sisältää jo nollan, sen E-arvo on 1."))
    tp = e["analysis"].tipping_point()
    n_imp = tp["n_imputed_hb"]
    if n_imp == 0:
        lines.append("HB-ryhmässä ei ollut imputoituja loppumittauksia, joten puuttuvien tietojen "
                     "herkkyysanalyysia (delta-siirto) ei tarvita.")
    elif _finite(tp["delta"]):
        rep.res.add(f"{primary}.tipping_delta", f"{_outcome_name(primary)}: imputoitujen HB-loppupisteiden siirto, "
                    "joka muuttaa johtopäätöksen (delta)", tp["delta"], n=p["n"])
        if sig:
            lines.append(f"**Puuttuvat tiedot.** Jos loppumittauksesta puuttuneiden HB-asiakkaiden todelliset "
                         f"loppupisteet olisivat keskimäärin {num(abs(tp['delta']), 2)} pistettä "
                         f"{'huonompia' if tp['delta'] < 0 else 'parempia'} kuin imputointimalli olettaa, ero ei "
                         "enää olisi tilastollisesti merkitsevä (luottamusväli ulottuisi nollaan). Mitä suurempi "
                         "luku, sitä vähemmän johtopäätös riippuu MAR-oletuksesta.")
        else:
            lines.append(f"**Puuttuvat tiedot.** Ero muuttuisi tilastollisesti merkitseväksi vasta, jos "
                         f"loppumittauksesta puuttuneiden HB-asiakkaiden loppupisteet olisivat keskimäärin "
                         f"{num(abs(tp['delta']), 2)} pistettä {'parempia' if tp['delta'] > 0 else 'huonompia'} "
                         "kuin imputointimalli olettaa.")
    else:
        lines.append("**Puuttuvat tiedot.** Mikään uskottava siirto (±10 pistettä) imputoiduissa HB-loppupisteissä "
                     "ei muuttaisi johtopäätöstä.")
    return Section(text=" ".join(lines))



def kykyviisari_forest(rep: Report) -> Section:
    """Figure 3: the published primary HB − control differences of the Kykyviisari domains, in the form's order,
    the primary outcome marked (glue ``wellbeing_primary_outcome``, ``wellbeing_primary_diff``,
    ``wellbeing_primary_ci``: the primary outcome's values, never the largest difference).

    Reads the ``kykyviisari.<domain>.adjusted_diff`` rows :func:`kykyviisari_change` recorded, so only shown
    (unsuppressed, finite) differences are drawn.
    """
    doms = present_domains(rep)
    if not (_scope(rep)["change"] and doms):
        return Section()
    published = rep.res.frame().set_index("key")
    primary = primary_outcome(rep)
    glue = {"wellbeing_primary_outcome": _outcome_name(primary)}
    if f"{primary}.adjusted_diff" in published.index and pd.notna(published.loc[f"{primary}.adjusted_diff",
                                                                                 "estimate"]):
        row = published.loc[f"{primary}.adjusted_diff"]
        glue.update(wellbeing_primary_diff=num(row["estimate"], 2),
                    wellbeing_primary_ci=f"{num(row['ci_low'], 2)} … {num(row['ci_high'], 2)}")
    else:
        glue.update(wellbeing_primary_diff=NOT_SHOWN, wellbeing_primary_ci=NOT_SHOWN)
    rows = []
    for d in doms:
        k = f"{KYKY}.{d}.adjusted_diff"
        if k in published.index and not published.loc[k, "suppressed"] and pd.notna(published.loc[k, "ci_low"]):
            rows.append({"Osa-alue": wb.DOMAINS[d], "primary": f"{KYKY}.{d}" == primary,
                         **published.loc[k, ["estimate", "ci_low", "ci_high"]].to_dict()})
    forest = pd.DataFrame(rows)
    if forest.empty and not rep.all_pilots and not any(effects(rep)[o]["shown"] for o in effects(rep)
                                                        if o.startswith(KYKY)):
        return Section(glue=glue)   # the change section above said it (one sentence, not two)
    if forest.empty:
        return Section(text=f"Ryhmien välisiä eroja ei näytetä, koska jommassakummassa ryhmässä on alle "
                            f"{rep.dc.min_n_stat} asiakasta, joilla on sekä alku- että seurantamittaus.", glue=glue)
    fig, ax = plt.subplots(figsize=(7, 0.4 * len(forest) + 1.2))
    y = np.arange(len(forest))[::-1]
    for is_primary, colour, marker, label in ((True, plots.ARM_COLORS["hb"], "D", "Ensisijainen"),
                                              (False, "0.35", "o", "Eksploratiivinen")):
        sel = (forest["primary"] == is_primary).to_numpy()
        if sel.any():
            f = forest[sel]
            ax.errorbar(f["estimate"], y[sel], xerr=[f["estimate"] - f["ci_low"], f["ci_high"] - f["estimate"]],
                        fmt=marker, color=colour, capsize=3, label=label)
    ax.axvline(0, color="0.3", linewidth=0.8)
    ax.set_yticks(y, labels=[f"{n} (ensisijainen)" if p else n for n, p in zip(forest["Osa-alue"],
                                                                                  forest["primary"])])
    ax.set_xlabel("Ero muutoksessa, HB − verrokki (pisteitä; kaksoisrobusti arvio)")
    ax.legend(loc="best", fontsize=8)
    plt.close(fig)
    caption = ("*Kuvio 3. HB:n ja verrokkien ero Kykyviisarin osa-alueiden muutoksessa (kaksoisrobusti arvio, "
               "95 %:n luottamusväli; osa-alueet lomakkeen järjestyksessä). Väli, joka ei leikkaa nollaa, viittaa "
               f"ryhmien väliseen eroon. Päätulos on ensisijainen mittari ({_outcome_name(primary).lower()}); muut "
               "osa-alueet ovat eksploratiivisia, eikä suurinta eroa pidä lukea päätuloksena.*")
    return Section(figure=fig, caption=caption, data=forest, glue=glue)


# -- Osallisuustesti --------------------------------------------------------------------------------------------

def osallisuustesti(rep: Report) -> Section:
    """Osallisuustesti: HB − control difference (results ``osallisuustesti.*``)."""
    if not _scope(rep)["change"]:
        return Section(text="Osallisuustestin muutosta arvioidaan väliarvioinnista alkaen.")
    eff = effects(rep)
    if ESIS not in eff:
        return Section(text="Osallisuustestin mittauksia ei ole tässä aineistossa.")
    e = eff[ESIS]
    _record_outcome(rep, ESIS, e)
    if not rep.all_pilots and not e["shown"]:
        # one sentence, not a table of dashes (as the Kykyviisari change section; the page's opening says why)
        return Section(text="Osallisuustestin ryhmien välistä eroa ei tällä sivulla näytetä.")
    table = _between_table(rep, [ESIS])
    caption = ""
    if e["shown"] and _finite(e["primary"]["ci_low"], e["primary"]["ci_high"]):
        p = e["primary"]
        caption = (f"Kaksoisrobustin arvion mukaan HB-asiakkaiden osallisuustestin pisteet muuttuivat "
                   f"{num(abs(p['estimate']), 2)} pistettä {'enemmän' if p['estimate'] >= 0 else 'vähemmän'} "
                   f"parempaan suuntaan kuin verrokkien (95 %:n luottamusväli {num(p['ci_low'], 2)} … "
                   f"{num(p['ci_high'], 2)}); mittari on "
                   + ("ensisijainen." if e["role"] == "primary" else "eksploratiivinen (Holm-korjattu p "
                                                                       f"{wb.fmt_p(e['p_holm'])})."))
    return Section(table=table, caption=caption, topic="Osallisuustestin ero HB − verrokki")


def osallisuustesti_details(rep: Report) -> list[Section]:
    """Osallisuustesti: within-arm change and the secondary / sensitivity estimates."""
    eff = effects(rep)
    if ESIS not in eff:
        return []
    return [Section(table=_within_table(rep, [ESIS]), topic="Osallisuustestin muutos ryhmittäin"),
            Section(table=_sensitivity_table(rep, [ESIS]), topic="Osallisuustestin ero eri menetelmillä")]


# -- client survey ----------------------------------------------------------------------------------------------

def survey_respondents(rep: Report) -> Section:
    """Whether the survey is reported in this phase, and respondents by form."""
    if not _scope(rep)["survey"]:
        return Section(text="Asiakaskysely tehdään asiakkuuden päättyessä; sen tulokset raportoidaan "
                            "loppuraportissa.")
    survey = _survey(rep)
    if survey is None:
        return Section(text="Asiakaskyselyn vastauksia ei ole tässä aineistossa.")
    n_form = survey.groupby("form").size().reindex(list(wb.ARMS), fill_value=0)
    n = {arm: rep.count(n_form[arm], "asiakaskysely", f"vastaajat.{arm}") for arm in wb.ARMS}
    return Section(text=f"Kyselyyn vastasi {counted(n['hb'], 'HB-asiakasta', 'HB-asiakkaita')} ja "
                        f"{counted(n['verrokki'], 'verrokkiasiakasta', 'verrokkiasiakkaita')}. Avoimia "
                        "vastauksia ei julkaista sellaisenaan; ne on tiivistetty teemojen lukumääriksi.")


def protect_likert(rep: Report, cnt: pd.DataFrame, table: str) -> tuple[pd.DataFrame, int]:
    """Keep the rows (items) of a Likert count table whose every answer category may be shown.

    A bar's segment is a share of a known group of respondents, i.e. a count: the categories are protected as a
    table of counts with the respondents as row totals (linked over pages and phases by the release). Returns the
    kept counts and the number of items dropped.
    """
    if cnt.empty:
        return cnt, 0
    small = ((cnt > 0) & (cnt < rep.dc.min_count)).to_numpy().any()
    if small and cnt.shape[1] >= 3 and cnt.shape[1] % 2 == 1:
        cnt = likert.collapse_to_three(cnt)   # coarser categories before hiding whole items
        table = f"{table}.3"
    shown = rep.dc.counts(cnt, table, margins="col")
    keep = [all(isinstance(v, (int, np.integer)) for v in row) for row in shown.to_numpy()]
    return cnt[keep], int(len(keep) - sum(keep))


def _likert_figure(rep: Report, cnt: pd.DataFrame, too_few: str, caption: str, grouped: bool,
                   table: str = "asiakaskysely.jakauma") -> Section:
    cnt, dropped = protect_likert(rep, cnt, table)
    if dropped:
        caption += ((" *Kuviosta on jätetty pois yksi väittämä, jossa jokin vastausvaihtoehto olisi " if dropped == 1
                     else f" *Kuviosta on jätetty pois {dropped} väittämää, joissa jokin vastausvaihtoehto olisi ")
                    + "perustunut alle viiteen vastaajaan.*")
    if cnt.empty:
        return Section(text=too_few if not dropped else
                       "Kuviota ei piirretä, koska jokaisessa väittämässä jokin vastausvaihtoehto perustuisi alle "
                       "viiteen vastaajaan tai selviäisi muuten muista julkaistuista luvuista.")
    if grouped and isinstance(cnt.index, pd.MultiIndex):
        # the caption says what is drawn: an item whose other group's answers are hidden has one bar (the caption
        # asked to compare the HB and control bars where no control bar was drawn, unseen set seed 347)
        groups = cnt.reset_index().groupby(cnt.index.names[0])[cnt.index.names[1]].nunique()
        if (groups < 2).any():
            if not (groups >= 2).any():
                caption = caption.replace(" Vertaa saman väittämän HB- ja verrokkipalkkia.", "")
            caption += (" *Väittämistä, joilla on vain yksi palkki, toisen ryhmän vastauksia ei näytetä "
                        "tietosuojan vuoksi.*")
    labels = _conf(rep).get("likert_labels", DEFAULT_LIKERT_LABELS)
    if list(cnt.columns) == likert.COLLAPSED_LABELS:
        labels = likert.COLLAPSED_LABELS
        caption += " *Vastausvaihtoehdot on yhdistetty kolmeen luokkaan, jotta yksittäiset vastaajat eivät erotu.*"
    percent = likert.likert_percent(cnt)
    rows = likert.group_row_labels(percent.index) if grouped else None
    fig = likert.diverging_bar(percent, labels, row_labels=rows)
    plt.close(fig)
    return Section(figure=fig, caption=caption)


def _no_figure(rep: Report, names: list[str], no_data: str, what: str = "Kuviota") -> str:
    """The sentence shown instead of a survey figure: the reasons of the items' own decisions (a figure hidden as a
    complement must not be said to rest on fewer than ten respondents — the tables below print their totals), or
    ``no_data`` when nothing was decided (no answers)."""
    why = _why_all(rep, names)
    return f"{what} ei piirretä, {why}." if why else f"{what} ei piirretä: {no_data}."


def survey_pairs_figure(rep: Report) -> Section:
    """Figure 4: answers of both arms to the Likert items asked of both, side by side."""
    survey = _survey(rep)
    if survey is None:
        return Section()
    long = []
    for p in (p for p in _conf(rep).get("comparison_pairs", []) if p.get("kind") == "likert"):
        for arm in wb.ARMS:
            if p[arm] in survey.columns:
                v = wb.survey_numeric(survey.loc[survey["form"] == arm, p[arm]], "likert").dropna()
                long.append(pd.DataFrame({"item": p["label"], "group": arm, "value": v.astype(int)}))
    cnt = likert.likert_counts(pd.concat(long)) if long else pd.DataFrame()
    names = [f"asiakaskysely.{i[0]}.{i[1]}" for i in cnt.index]
    if not cnt.empty:
        cnt = cnt[[rep.dc.figure_ok(n, name) for name, n in zip(names, cnt.sum(axis=1))]]
    return _likert_figure(
        rep, cnt, _no_figure(rep, names, f"vastaajia on alle {rep.dc.min_n_stat} kussakin ryhmässä"),
        "*Kuvio 4. Molemmille ryhmille esitettyjen väittämien vastausjakaumat (%). Palkit on keskitetty "
        "neutraaliin vastaukseen: mitä enemmän palkki on oikealla, sitä useampi oli samaa mieltä. Vertaa saman "
        "väittämän HB- ja verrokkipalkkia.*", grouped=True, table="asiakaskysely.jakauma.parit")


def survey_comparison(rep: Report) -> Section:
    """HB vs control on the items asked of both (results ``asiakaskysely.<hb>_<verrokki>.*``)."""
    survey = _survey(rep)
    if survey is None:
        return Section()
    cmp = wb.compare_items(survey, _conf(rep).get("comparison_pairs", []))
    # one family: the HB-vs-control tests of the items that may be shown (Holm, as R p.adjust)
    keys = [f"asiakaskysely.{r.hb_item}_{r.verrokki_item}." + ("share_diff" if r.kind == "yesno" else "rank_biserial")
            for r in cmp.itertuples()]
    oks = [rep.dc.stat_ok(min(r.n_hb, r.n_verrokki), k, "n") for r, k in zip(cmp.itertuples(), keys)]
    holm = causal.holm({i: r.p_value for i, r in enumerate(cmp.itertuples()) if oks[i]})
    rows = []
    for i, r in enumerate(cmp.itertuples()):
        yesno = r.kind == "yesno"
        key, ok = keys[i], oks[i]
        n_txt = {"hb": rep.count(r.n_hb, key, "n_hb"), "verrokki": rep.count(r.n_verrokki, key, "n_verrokki")}
        # with a group's n hidden, the shares or means alone: a test's p (and r) with them fits one n only
        # (51 % and 39 % "kyllä" with Fisher p 0,365 gave a hidden 31 control respondents, unseen set seed 389)
        full = ok and all(str(v).isdigit() for v in n_txt.values())
        diff = r.mean_hb - r.mean_verrokki
        if yesno:
            label = f"Asiakaskysely: {r.label} (kyllä-osuuksien ero HB − verrokki)"
            if full:
                rep.res.add(key, label, diff, n=r.n_hb + r.n_verrokki, p_value=r.p_value)
            else:
                rep.res.add(key, label, rounded(diff, 2) if ok else None, suppressed=not ok)
        else:
            label = f"Asiakaskysely: {r.label} (rank-biserial r, HB vs verrokki)"
            if full:
                rep.res.add(key, label, r.r_rb, n=r.n_hb + r.n_verrokki, p_value=r.p_value)
            else:
                rep.res.add(key, label, suppressed=True)

        def mean(x):
            return (pct(x) + " kyllä" if yesno else num(x, 2)) if ok else NOT_SHOWN

        rows.append({"Väittämä": r.label, "n (HB)": n_txt["hb"], "n (verrokki)": n_txt["verrokki"],
                     "HB": mean(r.mean_hb), "Verrokki": mean(r.mean_verrokki),
                     "Testi": ("Fisher" if yesno else "Mann–Whitney") if full else NOT_SHOWN,
                     "p": wb.fmt_p(r.p_value) if full else NOT_SHOWN,
                     "p (Holm)": wb.fmt_p(holm.get(i, math.nan)) if full else NOT_SHOWN,
                     "r (rank-biserial)": num(r.r_rb, 2) if full and not yesno else ""})
    return Section(text="Ryhmien vertailu: keskiarvot (Likert 1–5, elämäntilanteen muutos 1–3), Mann–Whitneyn "
                        "testi ja rank-biserial-korrelaatio (positiivinen = HB-asiakkaat vastasivat "
                        "myönteisemmin). **Vertailu on kuvaileva:** sitä ei ole vakioitu taustatekijöillä, joiden "
                        "perusteella asiakkaat valikoituivat HB:hen, joten ero ei ole HB:n vaikutus. Koska "
                        "väittämiä verrataan monta, p (Holm) on monivertailukorjattu p-arvo; korjaamaton p on "
                        "vain suuntaa antava.", table=pd.DataFrame(rows),
                   topic="asiakaskyselyn väittämien vertailu ryhmittäin", about_table=True)


def survey_hb_figure(rep: Report) -> Section:
    """Figure 5: HB clients' answers to the items about the HB model."""
    survey = _survey(rep)
    if survey is None:
        return Section()
    hbs = survey[survey["form"] == "hb"]
    long = [pd.DataFrame({"item": lbl, "value": wb.survey_numeric(hbs[c], "likert").dropna().astype(int)})
            for c, lbl in _conf(rep).get("hb_likert", {}).items() if c in hbs.columns]
    cnt = likert.likert_counts(pd.concat(long), group_col=None) if long else pd.DataFrame()
    names = [f"asiakaskysely.hb.{i}" for i in cnt.index]
    if not cnt.empty:
        cnt = cnt[[rep.dc.figure_ok(n, name) for name, n in zip(names, cnt.sum(axis=1))]]
    return _likert_figure(
        rep, cnt, _no_figure(rep, names, f"HB-vastaajia on alle {rep.dc.min_n_stat}"),
        "*Kuvio 5. HB-asiakkaiden vastaukset HB-toimintamallia koskeviin väittämiin (%). Katso, mitkä väittämät "
        "jakavat vastaajia ja missä samanmielisiä on eniten.*", grouped=False, table="asiakaskysely.jakauma.hb")


def survey_choices(rep: Report) -> list[Section]:
    """HB multiple-choice items: one count table each (results ``asiakaskysely.q2_5/q2_7.share_yes``)."""
    survey = _survey(rep)
    if survey is None:
        return []
    hbs = survey[survey["form"] == "hb"]
    out = []
    few = []      # items with too few answers: one sentence for all of them, not a line each
    for col, spec in _conf(rep).get("hb_choice", {}).items():
        if col not in hbs.columns:
            continue
        c = wb.choice_counts(hbs[col], spec["options"])
        total = c.sum()
        if total < rep.dc.min_n_stat:
            rep.dc.record(f"asiakaskysely.{col}", "kaikki", "stat")
            few.append(spec["label"])
            continue
        # the respondents are printed as the total row: the shares' denominator is known to every reader anyway
        t = rep.dc.counts(c.to_frame("Vastaajia"), f"asiakaskysely.{col}", margins="row")
        # a share of the respondents is the count itself: shown only where the protected count is
        t["Osuus"] = [pct(s / total) if isinstance(s, (int, np.integer)) else NOT_SHOWN for s in t["Vastaajia"]]
        t.index.name = spec["label"]
        out.append(Section(table=t, topic=spec["label"]))
        if col in ("q2_5", "q2_7"):
            label = f"Asiakaskysely: {spec['label']} (kyllä-osuus)"
            if isinstance(t["Vastaajia"].iloc[0], (int, np.integer)) \
                    and isinstance(t.at[rep.dc.total_label, "Vastaajia"], (int, np.integer)):
                rep.res.add(f"asiakaskysely.{col}.share_yes", label, c.iloc[0] / total, n=int(total))
            else:
                rep.res.add(f"asiakaskysely.{col}.share_yes", label, suppressed=True)
    if few:
        k = rep.dc.min_n_stat
        out.append(Section(text=f"Monivalintakysymykseen ”{few[0]}” on alle {k} vastausta, eikä sitä näytetä."
                           if len(few) == 1 else
                           f"Seuraaviin monivalintakysymyksiin on alle {k} vastausta, eikä niitä näytetä: "
                           + "; ".join(f"”{x}”" for x in few) + "."))
    return out


def survey_themes(rep: Report) -> Section:
    """Open answers as theme counts by arm (never verbatim)."""
    survey = _survey(rep)
    if survey is None:
        return Section()
    conf = _conf(rep)
    cols = {}
    for arm in wb.ARMS:
        items = [c for c in conf.get("open_items", {}).get(arm, []) if c in survey.columns]
        texts = survey.loc[survey["form"] == arm, items].stack().tolist() if items else []
        cols[plots.ARM_LABELS[arm]] = wb.theme_counts(texts, conf.get("theme_codebook", {}))
    themes = pd.DataFrame(cols)
    themes.index.name = "Teema"
    return Section(table=rep.dc.counts(themes, "avoimet_teemat"), topic="avointen vastausten teemat")


# -- ESF forms and the HB assistant -----------------------------------------------------------------------------

def esr(rep: Report) -> Section:
    """Labour-market status at the ESF start and end forms (results ``esr.share_employed.*``)."""
    if not _scope(rep)["survey"]:
        return Section(text="ESR-aloitus- ja lopetuslomakkeiden vertailu raportoidaan loppuraportissa.")
    dc = rep.dc
    tr = wb.esr_transitions(rep.load("esr"))
    n_tr = int(tr.to_numpy().sum()) if not tr.empty else 0
    if n_tr < dc.min_n_stat:
        dc.record("esr", "siirtymät", "stat")
        return Section(text=f"Siirtymätaulukkoa ei näytetä: aloitus- ja lopetuslomake on alle {dc.min_n_stat} "
                            "asiakkaalla.")
    tr.index.name = "Alussa ↓ / lopussa →"
    tr.columns.name = None
    shown = dc.counts(tr, "esr_siirtymat", margins=True)
    total = dc.total_label
    has_tot = total in shown.index and total in shown.columns
    # the number of clients is the table's corner cell: printed only as the protected release shows it
    n_shown = shown.at[total, total] if has_tot else None
    known_n = isinstance(n_shown, (int, np.integer))
    msg = [(f"Taulukossa on {n_shown} HB-asiakkaan" if known_n else "Taulukossa on HB-asiakkaiden")
           + " työmarkkinatilanne aloitus- ja lopetuslomakkeessa (rivit: alussa, sarakkeet: lopussa)."]
    start_emp = shown.at["työllinen", total] if has_tot and "työllinen" in shown.index else None
    end_emp = shown.at[total, "työllinen"] if has_tot and "työllinen" in shown.columns else None
    if known_n and all(isinstance(v, (int, np.integer)) and v >= dc.min_count for v in (start_emp, end_emp)):
        rep.res.add("esr.share_employed.start", "ESR: työllisten osuus alussa", start_emp / n_tr, n=n_tr)
        rep.res.add("esr.share_employed.end", "ESR: työllisten osuus lopussa", end_emp / n_tr, n=n_tr)
        msg.append(f"Työllisten osuus oli alussa {pct(start_emp / n_tr)} ja lopussa {pct(end_emp / n_tr)}.")
    return Section(table=shown, caption=" ".join(msg))


def assistant(rep: Report) -> Section:
    """Kykyviisari change of HB clients with and without an HB assistant (results ``avustaja.*``; descriptive)."""
    scope = _scope(rep)
    if not scope["survey"]:
        return Section(text="HB-avustajan merkitystä tarkastellaan loppuraportissa.")
    assisted = wb.assistant_clients(rep.load("avustajakulut"), rep.load("asiakaskysely"))
    kyky = rep.load("kykyviisari")
    rows = []
    for d in present_domains(rep):
        pairs = wb.paired_scores(kyky, d, scope["end_occasions"])
        by = list(wb.change_by_assistant(pairs, assisted).itertuples())
        keys = [f"avustaja.{d}.change.{'kylla' if r.avustaja == 'kyllä' else 'ei'}" for r in by]
        oks = [rep.dc.stat_ok(r.n, key, "n") for r, key in zip(by, keys)]
        # the two groups make up the HB clients whose change the page shows: one group's statistic would follow
        # from the other's and the total, so both are shown or neither
        if not all(oks):
            for key, ok in zip(keys, oks):
                if ok:
                    rep.dc.record(key, "n", "complement")
            oks = [False] * len(oks)
        # ... and their sizes add up to the HB clients' n of the change table: where the page hides that n, the
        # groups' sizes are not printed either (85 + 57 gave a hidden 142 back, unseen set seed 347), and their
        # statistics are written at the pages' precision (six digits of a mean change give its n back)
        within = effects(rep).get(f"{KYKY}.{d}", {}).get("within", {}).get("hb", {})
        n_hb = within.get("n")
        total_hidden = (n_hb is not None and not pd.isna(n_hb) and sum(int(r.n) for r in by) == int(n_hb)
                        and not str(_n_beside(rep, n_hb, f"{KYKY}.{d}.change.hb.n", ARM_FI["hb"])).isdigit())
        n_txts = [NOT_SHOWN if total_hidden else _n_beside(rep, r.n, f"{key}.n", r.avustaja)
                  for r, key in zip(by, keys)]
        for r, key, ok, n_txt in zip(by, keys, oks, n_txts):
            if ok and total_hidden:   # the mean change alone (its interval and p give the n back)
                rep.res.add(key, f"HB-avustaja {r.avustaja}: {wb.DOMAINS[d]} muutos", rounded(r.estimate, 2))
            elif ok:
                rep.res.add(key, f"HB-avustaja {r.avustaja}: {wb.DOMAINS[d]} muutos", r.estimate, r.ci_low,
                            r.ci_high, r.n, r.p_value)
            else:
                rep.res.add(key, f"HB-avustaja {r.avustaja}: {wb.DOMAINS[d]} muutos", suppressed=True)
            rows.append({"Osa-alue": wb.DOMAINS[d], "Avustaja": r.avustaja, "n": n_txt if ok else NOT_SHOWN,
                         "Muutos": num(r.estimate, 2) if ok else NOT_SHOWN,
                         "95 % LV": f"{num(r.ci_low, 2)} … {num(r.ci_high, 2)}" if ok and not total_hidden
                         else NOT_SHOWN})
    return Section(table=pd.DataFrame(rows) if rows else None, topic="muutos avustajan mukaan")
