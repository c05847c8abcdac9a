"""Chapter "Asiakkaiden hyvinvointi, toimintakyky ja osallisuus" (``notebooks/wellbeing.md``), one function per section.

Every section function takes the notebook's :class:`~hbeval_lib.report.Report` ``rep``, computes its numbers with
:mod:`hbeval_lib.wellbeing` / :mod:`hbeval_lib.likert`, passes them through ``rep.dc`` (disclosure control),
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

from .. import likert, plots, tables
from .. import wellbeing as wb
from ..disclosure import NOT_SHOWN
from ..report import Report, num, pct, say

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
    table: pd.DataFrame | None = None
    figure: Any = None
    caption: str = ""
    glue: dict[str, str] = field(default_factory=dict)
    data: Any = None


def show(*sections: Section) -> None:
    """Display sections in the executed notebook (text, table, figure, caption; empty parts are skipped)."""
    from IPython.display import display

    for s in sections:
        if s.text:
            say(s.text)
        if s.table is not None:
            table = s.table
            if isinstance(table, pd.DataFrame) and isinstance(table.index, pd.RangeIndex):
                table = table.style.hide(axis="index").set_table_attributes('class="dataframe"')  # no row numbers
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


def _ps_options(rep: Report) -> tuple[str, tuple]:
    conf = _conf(rep)
    return conf.get("ps_estimand", "ATT"), tuple(conf.get("ps_clip", (0.02, 0.98)))


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


# -- recruitment and attrition ----------------------------------------------------------------------------------

def recruitment(rep: Report) -> Section:
    """Clients by arm (results ``recruitment.n.*``, glue ``wellbeing_n_*``) and by pilot or client group."""
    clients = rep.load("clients")
    n_total = int(clients["client_id"].nunique())
    n_arm = _n_arm(rep)
    # the arms and their total are protected together: a total beside one arm would reveal the other
    shown = rep.dc.parts_and_total({arm: int(n_arm[arm]) for arm in wb.ARMS}, "rekrytointi")
    shown = {k: str(v) for k, v in shown.items()}
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
    else:
        text = (f"Arvioinnissa on mukana **{shown['total']}** asiakasta. Ryhmien kokoja ei näytetä erikseen, "
                f"koska toisessa ryhmässä on alle {rep.dc.min_count} asiakasta ja sen koko selviäisi "
                "vähennyslaskulla.")
    if rep.all_pilots:
        text += (f" Koko hankkeen tavoite (vähintään {RECRUITMENT_TARGET} asiakasta) "
                 + ("on saavutettu." if n_total >= RECRUITMENT_TARGET else "ei ole (vielä) täyttynyt."))
    by = "pilot" if rep.all_pilots else "client_group"
    rec = wb.recruitment_table(clients, by=by).drop(columns="yhteensä", errors="ignore")
    rec = rec[rec.sum(axis=1) > 0]
    if rec.empty:
        return Section(text=text, caption="Asiakkaita ei vielä ole tässä aineistossa.", glue=glue)
    names = rep.pilot_names if rep.all_pilots else rep.group_names
    rec.index = [names.get(i, i) for i in rec.index]
    rec = rec.rename(columns={"hb": "HB-asiakkaat", "verrokki": "Verrokkiasiakkaat"})
    rec.index.name = "Pilotti" if rep.all_pilots else "Asiakasryhmä"
    return Section(text=text, table=rep.dc.counts(rec, "rekrytointi", margins=True), glue=glue)


def coverage(rep: Report) -> Section:
    """Clients with a Kykyviisari start, interim and end measurement, by arm."""
    cov = wb.measurement_coverage(rep.load("clients"), rep.load("kykyviisari"))
    cov.index = [ARM_FI[a] for a in cov.index]
    cov.index.name = "Ryhmä"
    cov.columns = ["Asiakkaita", "Alkumittaus", "Välimittaus", "Loppumittaus", "Alku- ja loppumittaus"]
    # the arm sizes are the recruitment table's (protected there with their total); printing them again here
    # would let a reader subtract a hidden arm from the total
    return Section(table=rep.dc.counts(cov.drop(columns="Asiakkaita"), "mittauskattavuus"))


def dropout(rep: Report) -> Section:
    """Start level of clients with and without a follow-up measurement of the primary outcome, by arm."""
    scope = _scope(rep)
    if not scope["change"]:
        return Section(text="Poistumaa arvioidaan, kun seurantamittauksia on kertynyt (väliarviointi ja "
                            "loppuraportti).")
    primary = _conf(rep).get("primary_outcome", "kykyviisari.osallisuus").split(".")[-1]
    drop = wb.dropout_comparison(rep.load("clients"), rep.load("kykyviisari"), primary, scope["end_occasions"])
    lines = []
    for r in drop.itertuples():
        if rep.dc.stat_ok(min(r.n_completed, r.n_missing_end), f"poistuma.{r.arm}", "smd"):
            verdict = ("seurantamittauksen puuttuminen ei liittynyt selvästi lähtötasoon" if abs(r.smd) < 0.2 else
                       "seurantamittauksen saaneiden ja ilman jääneiden lähtötaso erosi")
            lines.append(f"{ARM_FI[r.arm]}-ryhmässä {verdict} (osallisuus alussa {num(r.mean_start_completed)} "
                         f"vs. {num(r.mean_start_missing)}, SMD {num(r.smd, 2)}).")
        else:
            lines.append(f"{ARM_FI[r.arm]}-ryhmässä poistumaa ei voi verrata, koska jompikumpi osaryhmä on alle "
                         f"{rep.dc.min_n_stat} henkilöä.")
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
    ok = (bal["n_hb"] >= min_n) & (bal["n_verrokki"] >= min_n)
    for r in bal[~ok].itertuples():
        rep.dc.record("tasapaino", f"{r.variable} {r.level}", "stat")
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
                if not isinstance(shown.at[bal.at[i, "level"], arm], (int, np.integer)):
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
                        n=r.n_hb + r.n_verrokki)
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
    d = shown.assign(nimi=[f"{v}: {lv}" if lv else v for v, lv in zip(shown["variable"], shown["level"])])
    fig, ax = plt.subplots(figsize=(7, 0.28 * len(d) + 1.2))
    sns.scatterplot(data=d, x="smd", y="nimi", hue="kind", palette=plots.PALETTE[:2], ax=ax, s=50)
    for x in (-0.2, -0.1, 0.1, 0.2):
        ax.axvline(x, color="0.6", linestyle=":" if abs(x) < 0.15 else "--", linewidth=0.8)
    ax.axvline(0, color="0.3", linewidth=0.8)
    ax.set_xlabel("Vakioitu keskiarvojen erotus (HB − verrokki)")
    ax.set_ylabel("")
    handles, _ = ax.get_legend_handles_labels()
    ax.legend(handles, ["Jatkuva muuttuja", "Luokka (osuus)"], title="", loc="best", fontsize=8)
    plt.close(fig)
    return Section(figure=fig, caption="*Kuvio 1. Lähtötilanteen erot HB- ja verrokkiasiakkaiden välillä. Mitä "
                                       "kauempana piste on nollasta, sitä enemmän ryhmät erosivat; katkoviivat "
                                       "±0,2 merkitsevät huomionarvoista eroa.*")


# -- Kykyviisari ------------------------------------------------------------------------------------------------

def kykyviisari_change(rep: Report) -> Section:
    """Within-arm change, ANCOVA and PS-weighted difference per domain (results ``kykyviisari.<domain>.*``)."""
    scope = _scope(rep)
    if not scope["change"]:
        return Section(text="Muutosta ei vielä arvioida lähtötilanteen raportissa: seurantamittauksia ei ole "
                            "kertynyt.")
    estimand, clip = _ps_options(rep)
    kyky, clients = rep.load("kykyviisari"), rep.load("clients")
    frames = [wb.analyse_outcome(kyky, clients, d, scope["end_occasions"], pilot_effects=rep.all_pilots,
                                 estimand=estimand, clip=clip) for d in present_domains(rep)]
    pilot_terms = rep.all_pilots
    text = ("Taulukossa on kunkin ryhmän muutos (loppu − alku) 95 %:n luottamusväleineen, parittaisen t-testin ja "
            "Wilcoxonin testin p-arvot sekä vaikutuksen koko d_z (muutoksen keskiarvo jaettuna muutoksen "
            "keskihajonnalla). Ryhmien välinen ero on kovarianssianalyysin (ANCOVA) vakioitu ero loppumittauksessa, "
            "kun alkutaso on vakioitu" + (" ja pilotti on mallissa kiinteänä vaikutuksena" if pilot_terms else "")
            + ". Herkkyysanalyysi painottaa verrokit kaltaisiksi HB-asiakkaiden kanssa kallistuman (propensity "
            "score) avulla (" + ("ATT-painot: vaikutus HB-asiakkailla" if estimand == "ATT" else "ATE-painot")
            + "; malli: ikä, sukupuoli, työvoimastatus, alkutaso" + (", pilotti" if pilot_terms else "")
            + "; robustit HC3-keskivirheet).")
    if not frames:
        return Section(text=text)
    table = wb.publish_effects(pd.concat(frames, ignore_index=True), rep.dc, rep.res, "kykyviisari",
                               labels=wb.DOMAINS, label_prefix="Kykyviisari, ")
    return Section(text=text, table=table)


def kykyviisari_trajectory(rep: Report) -> Section:
    """Figure 2: domain means (95 % CI) at start, interim and end by arm; groups under the threshold not drawn."""
    doms = present_domains(rep)
    if not (_scope(rep)["change"] and doms):
        return Section()
    traj = wb.trajectory_summary(rep.load("kykyviisari"), doms)
    keep = [rep.dc.figure_ok(r.n, f"kykyviisari.{r.outcome}.{r.arm}.{r.occasion}") for r in traj.itertuples()]
    traj = traj[keep]
    if traj.empty:
        return Section(text=f"Kehityskuvaa ei piirretä: yhdessäkään ryhmässä ei ole {rep.dc.min_n_stat} mitattua "
                            "asiakasta.")
    fig = _trajectory_figure(traj, [d for d in doms if d in set(traj["outcome"])])
    return Section(figure=fig, caption="*Kuvio 2. Kykyviisarin osa-alueiden keskiarvot (95 %:n luottamusväli) "
                                       "alku-, väli- ja loppumittauksessa. Katso, nouseeko HB-asiakkaiden "
                                       "(sininen) käyrä jyrkemmin kuin verrokkien; mittauskerroissa on eri "
                                       "asiakkaita, joten muutoksen tarkka arvio on taulukossa.*")


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


def kykyviisari_forest(rep: Report) -> Section:
    """Figure 3: the published adjusted HB − control differences (glue ``wellbeing_max_adjusted_diff[_domain]``).

    Reads the ``kykyviisari.<domain>.adjusted_diff`` rows :func:`kykyviisari_change` recorded, so only shown
    (unsuppressed) differences are drawn.
    """
    doms = present_domains(rep)
    if not (_scope(rep)["change"] and doms):
        return Section()
    published = rep.res.frame().set_index("key")
    rows = []
    for d in doms:
        k = f"kykyviisari.{d}.adjusted_diff"
        if k in published.index and not published.loc[k, "suppressed"]:
            rows.append({"Osa-alue": wb.DOMAINS[d], **published.loc[k, ["estimate", "ci_low", "ci_high"]].to_dict()})
    forest = pd.DataFrame(rows)
    if forest.empty:
        return Section(text=f"Ryhmien välisiä eroja ei näytetä, koska jommassakummassa ryhmässä on alle "
                            f"{rep.dc.min_n_stat} asiakasta, joilla on sekä alku- että seurantamittaus.")
    best = forest.loc[forest["estimate"].idxmax()]
    fig, ax = plt.subplots(figsize=(7, 0.4 * len(forest) + 1.2))
    y = np.arange(len(forest))[::-1]
    ax.errorbar(forest["estimate"], y, xerr=[forest["estimate"] - forest["ci_low"],
                                             forest["ci_high"] - forest["estimate"]],
                fmt="o", color=plots.ARM_COLORS["hb"], capsize=3)
    ax.axvline(0, color="0.3", linewidth=0.8)
    ax.set_yticks(y, labels=forest["Osa-alue"])
    ax.set_xlabel("Vakioitu ero loppumittauksessa, HB − verrokki (pisteitä)")
    plt.close(fig)
    caption = (f"*Kuvio 3. HB:n ja verrokkien ero Kykyviisarin osa-alueilla alkutason vakioinnin jälkeen (95 %:n "
               f"luottamusväli). Väli, joka ei leikkaa nollaa, viittaa ryhmien väliseen eroon. Suurin ero oli "
               f"osa-alueella {best['Osa-alue'].lower()} ({num(best['estimate'], 2)} pistettä).*")
    return Section(figure=fig, caption=caption, data=forest,
                   glue={"wellbeing_max_adjusted_diff": num(best["estimate"], 2),
                         "wellbeing_max_adjusted_diff_domain": best["Osa-alue"]})


# -- Osallisuustesti --------------------------------------------------------------------------------------------

def osallisuustesti(rep: Report) -> Section:
    """Osallisuustesti change and HB − control differences (results ``osallisuustesti.*``)."""
    scope = _scope(rep)
    if not scope["change"]:
        return Section(text="Osallisuustestin muutosta arvioidaan väliarvioinnista alkaen.")
    estimand, clip = _ps_options(rep)
    end = tuple(o for o in scope["end_occasions"] if o != "vali") or ("loppu",)
    tbl = wb.analyse_outcome(rep.load("osallisuustesti"), rep.load("clients"), "score", end,
                             pilot_effects=rep.all_pilots, estimand=estimand, clip=clip)
    table = wb.publish_effects(tbl, rep.dc, rep.res, "osallisuustesti", labels={"score": "Osallisuustesti"},
                               outcome_in_key=False)
    p = rep.res.frame().set_index("key").loc["osallisuustesti.adjusted_diff"]
    caption = "" if p["suppressed"] else (
        f"Alkutason vakioinnin jälkeen HB-asiakkaiden osallisuuspisteet olivat lopussa {num(p['estimate'], 2)} "
        f"pistettä {'korkeammat' if p['estimate'] >= 0 else 'matalammat'} kuin verrokeilla (95 %:n "
        f"luottamusväli {num(p['ci_low'], 2)} … {num(p['ci_high'], 2)}).")
    return Section(table=table, caption=caption)


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
    return Section(text=f"Kyselyyn vastasi {n['hb']} HB-asiakasta ja {n['verrokki']} verrokkiasiakasta. Avoimia "
                        "vastauksia ei julkaista sellaisenaan; ne on tiivistetty teemojen lukumääriksi.")


def protect_likert(rep: Report, cnt: pd.DataFrame, table: str) -> tuple[pd.DataFrame, int]:
    """Keep the rows (items) of a Likert count table whose every answer category may be shown.

    A bar's segment is a share of a known group of respondents, i.e. a count: the categories are protected as a
    table of counts with the respondents as row totals (linked over pages and phases by the release). Returns the
    kept counts and the number of items dropped.
    """
    if cnt.empty:
        return cnt, 0
    shown = rep.dc.counts(cnt, table, margins="col")
    keep = [all(isinstance(v, (int, np.integer)) for v in row) for row in shown.to_numpy()]
    return cnt[keep], int(len(keep) - sum(keep))


def _likert_figure(rep: Report, cnt: pd.DataFrame, too_few: str, caption: str, grouped: bool,
                   table: str = "asiakaskysely.jakauma") -> Section:
    cnt, dropped = protect_likert(rep, cnt, table)
    if dropped:
        caption += (f" *Kuviosta on jätetty pois {dropped} väittämää, joissa jokin vastausvaihtoehto olisi "
                    "perustunut alle viiteen vastaajaan.*")
    if cnt.empty:
        return Section(text=too_few)
    labels = _conf(rep).get("likert_labels", DEFAULT_LIKERT_LABELS)
    percent = likert.likert_percent(cnt)
    rows = likert.group_row_labels(percent.index) if grouped else None
    fig = likert.diverging_bar(percent, labels, row_labels=rows)
    plt.close(fig)
    return Section(figure=fig, caption=caption)


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
    if not cnt.empty:
        cnt = cnt[[rep.dc.figure_ok(n, f"asiakaskysely.{i[0]}.{i[1]}") for i, n in cnt.sum(axis=1).items()]]
    return _likert_figure(
        rep, cnt, f"Kuviota ei piirretä: vastaajia on alle {rep.dc.min_n_stat} kussakin ryhmässä.",
        "*Kuvio 4. Molemmille ryhmille esitettyjen väittämien vastausjakaumat (%). Palkit on keskitetty "
        "neutraaliin vastaukseen: mitä enemmän palkki on oikealla, sitä useampi oli samaa mieltä. Vertaa saman "
        "väittämän HB- ja verrokkipalkkia.*", grouped=True, table="asiakaskysely.jakauma.parit")


def survey_comparison(rep: Report) -> Section:
    """HB vs control on the items asked of both (results ``asiakaskysely.<hb>_<verrokki>.*``)."""
    survey = _survey(rep)
    if survey is None:
        return Section()
    cmp = wb.compare_items(survey, _conf(rep).get("comparison_pairs", []))
    rows = []
    for r in cmp.itertuples():
        yesno = r.kind == "yesno"
        key = f"asiakaskysely.{r.hb_item}_{r.verrokki_item}." + ("share_diff" if yesno else "rank_biserial")
        ok = rep.dc.stat_ok(min(r.n_hb, r.n_verrokki), key, "n")
        if yesno:
            rep.res.add(key, f"Asiakaskysely: {r.label} (kyllä-osuuksien ero HB − verrokki)",
                        r.mean_hb - r.mean_verrokki if ok else None, n=r.n_hb + r.n_verrokki, p_value=r.p_value,
                        suppressed=not ok)
        else:
            rep.res.add(key, f"Asiakaskysely: {r.label} (rank-biserial r, HB vs verrokki)", r.r_rb if ok else None,
                        n=r.n_hb + r.n_verrokki, p_value=r.p_value, suppressed=not ok)

        def mean(x):
            return (pct(x) + " kyllä" if yesno else num(x, 2)) if ok else NOT_SHOWN

        rows.append({"Väittämä": r.label, "n (HB)": rep.count(r.n_hb, key, "n_hb"),
                     "n (verrokki)": rep.count(r.n_verrokki, key, "n_verrokki"),
                     "HB": mean(r.mean_hb), "Verrokki": mean(r.mean_verrokki),
                     "Testi": ("Fisher" if yesno else "Mann–Whitney") if ok else NOT_SHOWN,
                     "p": wb.fmt_p(r.p_value) if ok else NOT_SHOWN,
                     "r (rank-biserial)": num(r.r_rb, 2) if ok and not yesno else ""})
    return Section(text="Ryhmien vertailu: keskiarvot (Likert 1–5, elämäntilanteen muutos 1–3), Mann–Whitneyn "
                        "testi ja rank-biserial-korrelaatio (positiivinen = HB-asiakkaat vastasivat "
                        "myönteisemmin).", table=pd.DataFrame(rows))


def survey_hb_figure(rep: Report) -> Section:
    """Figure 5: HB clients' answers to the items about the HB model."""
    survey = _survey(rep)
    if survey is None:
        return Section()
    hbs = survey[survey["form"] == "hb"]
    long = [pd.DataFrame({"item": lbl, "value": wb.survey_numeric(hbs[c], "likert").dropna().astype(int)})
            for c, lbl in _conf(rep).get("hb_likert", {}).items() if c in hbs.columns]
    cnt = likert.likert_counts(pd.concat(long), group_col=None) if long else pd.DataFrame()
    if not cnt.empty:
        cnt = cnt[[rep.dc.figure_ok(n, f"asiakaskysely.hb.{i}") for i, n in cnt.sum(axis=1).items()]]
    return _likert_figure(
        rep, cnt, f"Kuviota ei piirretä: HB-vastaajia on alle {rep.dc.min_n_stat}.",
        "*Kuvio 5. HB-asiakkaiden vastaukset HB-toimintamallia koskeviin väittämiin (%). Katso, mitkä väittämät "
        "jakavat vastaajia ja missä samanmielisiä on eniten.*", grouped=False, table="asiakaskysely.jakauma.hb")


def survey_choices(rep: Report) -> list[Section]:
    """HB multiple-choice items: one count table each (results ``asiakaskysely.q2_5/q2_7.share_yes``)."""
    survey = _survey(rep)
    if survey is None:
        return []
    hbs = survey[survey["form"] == "hb"]
    out = []
    for col, spec in _conf(rep).get("hb_choice", {}).items():
        if col not in hbs.columns:
            continue
        c = wb.choice_counts(hbs[col], spec["options"])
        total = c.sum()
        if total < rep.dc.min_n_stat:
            rep.dc.record(f"asiakaskysely.{col}", "kaikki", "stat")
            out.append(Section(text=f"**{spec['label']}:** alle {rep.dc.min_n_stat} vastausta, ei näytetä."))
            continue
        t = rep.dc.counts(c.to_frame("Vastaajia"), f"asiakaskysely.{col}")
        t["Osuus"] = [pct(v / total) if v >= rep.dc.min_count else NOT_SHOWN for v in c]
        t.index.name = spec["label"]
        out.append(Section(table=t))
        if col in ("q2_5", "q2_7"):
            rep.res.add(f"asiakaskysely.{col}.share_yes", f"Asiakaskysely: {spec['label']} (kyllä-osuus)",
                        c.iloc[0] / total, n=int(total))
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
    return Section(table=rep.dc.counts(themes, "avoimet_teemat"))


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
    msg = [f"Taulukossa on {n_tr} HB-asiakkaan työmarkkinatilanne aloitus- ja lopetuslomakkeessa "
           "(rivit: alussa, sarakkeet: lopussa)."]
    total = dc.total_label
    has_tot = total in shown.index and total in shown.columns
    start_emp = shown.at["työllinen", total] if has_tot and "työllinen" in shown.index else None
    end_emp = shown.at[total, "työllinen"] if has_tot and "työllinen" in shown.columns else None
    if all(isinstance(v, (int, np.integer)) and v >= dc.min_count for v in (start_emp, end_emp)):
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
        for r in wb.change_by_assistant(pairs, assisted).itertuples():
            key = f"avustaja.{d}.change.{'kylla' if r.avustaja == 'kyllä' else 'ei'}"
            ok = rep.dc.stat_ok(r.n, key, "n")
            if ok:
                rep.res.add(key, f"HB-avustaja {r.avustaja}: {wb.DOMAINS[d]} muutos", r.estimate, r.ci_low,
                            r.ci_high, r.n, r.p_value)
            else:
                rep.res.add(key, f"HB-avustaja {r.avustaja}: {wb.DOMAINS[d]} muutos", suppressed=True)
            rows.append({"Osa-alue": wb.DOMAINS[d], "Avustaja": r.avustaja, "n": int(r.n) if ok else NOT_SHOWN,
                         "Muutos": num(r.estimate, 2) if ok else NOT_SHOWN,
                         "95 % LV": f"{num(r.ci_low, 2)} … {num(r.ci_high, 2)}" if ok else NOT_SHOWN})
    return Section(table=pd.DataFrame(rows) if rows else None)
