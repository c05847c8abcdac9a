"""The costs chapter (``notebooks/costs.md``): one function per section of the notebook.

Every section function takes the notebook's :class:`~hbeval_lib.page.report.Report` (and the
:class:`CostAnalysis` made by :func:`analysis`), applies disclosure control through ``rep.dc``, records
results in ``rep.res`` where the section publishes numbers, and returns a :class:`Shown`: what the
notebook displays (tables, figures, Finnish captions and texts). The functions display nothing themselves;
the notebook calls :meth:`Shown.show`.

The statistics are computed in :mod:`hbeval_lib.strands.costs.stats` and :mod:`hbeval_lib.strands.costs.cea`; this module only selects,
suppresses, formats and draws.

Suppression-log order matters (the log keeps the first of duplicate rows), so the sections must be called
in the notebook's order: :func:`analysis`, :func:`unit_costs`, :func:`task_shares`, :func:`resource_use`,
:func:`payer_table` (client-month, clienthood), :func:`payer_figure`, :func:`budgets`, :func:`differences`,
:func:`cea_intro`, :func:`cea_table`, :func:`cea_plane`, :func:`ceac`, :func:`sensitivity`, :func:`record_results`.
"""

from __future__ import annotations

import re
import textwrap

from dataclasses import dataclass, field
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from hbeval_lib.strands.costs import cea
from hbeval_lib.strands.costs import stats as costs
from hbeval_lib.core import memo
from hbeval_lib.core import plots
from hbeval_lib.page import report
from hbeval_lib.config import ALL_PILOTS
from hbeval_lib.page.disclosure import NOT_SHOWN
from hbeval_lib.core.schema import KYKYVIISARI_DOMAINS
from hbeval_lib.page.report import Report

ARMS = list(costs.ARMS)
ARM_GENITIVE = {"hb": "HB-asiakkaiden", "verrokki": "verrokkiasiakkaiden"}
PROVIDERS = {"julkinen": "Julkinen", "yksityinen": "Yksityinen", "jarjesto": "Järjestö",
             "laheisverkosto": "Läheisverkosto", "muu": "Muu"}
# time per client-month (minutes): one unit, one table; public services have their own tables per unit
USE_LABELS = {"worker_min_pm": "Työntekijän asiakastyö",
              "own_min": "Asiakkaan oma aika",
              "assist_min": "HB-avustajien aika",
              "support_min": "Läheisten tukiaika (läheisten seurantalomake)"}
PAYER_CAPTIONS = {
    "client_month": "Taulukko: keskimääräiset kustannukset asiakaskuukautta kohden maksajittain (95 %:n "
                    "studentisoitu bootstrap-t-luottamusväli suluissa; se ottaa huomioon kustannusten vinouden).",
    "clienthood": "Taulukko: keskimääräiset kustannukset koko asiakkuuden ajalta (tarkasteluvaiheen loppuun asti) "
                  "maksajittain (95 %:n studentisoitu bootstrap-t-luottamusväli suluissa)."}
TOO_FEW_TO_COMPARE = ("Ryhmien vertailuun tarvitaan vähintään kymmenen asiakasta kummassakin ryhmässä; "
                      "sitä ei vielä ole.")
TOO_FEW_FOR_CEA = ("Kustannusvaikuttavuutta ei voi vielä arvioida: kummassakin ryhmässä tarvitaan vähintään "
                   "kymmenen asiakasta, joilla on sekä alku- että loppumittaus.")


@dataclass
class Shown:
    """What a section shows, in this order: ``text``, ``figure`` + ``figure_caption``, ``table`` + ``caption``.

    ``glue`` holds the section's glued values (name → text) for the notebook to ``glue``.
    """

    text: str = ""
    figure: Any = None
    figure_caption: str = ""
    table: Any = None
    caption: str = ""
    glue: dict[str, str] = field(default_factory=dict)

    def show(self) -> None:
        """Display the section in the executed notebook (nothing when the section is empty)."""
        from IPython.display import display

        if self.text:
            report.say(self.text)
        if self.figure is not None:
            display(self.figure)
            if self.figure_caption:
                report.say(self.figure_caption)
        if self.table is not None:
            report.show_table(self.table, self.caption)   # a mostly hidden table is one sentence, without its caption


@dataclass
class CostAnalysis:
    """The strand's analysis of one phase and pilot (:func:`hbeval_lib.strands.costs.stats.analyse`) and its disclosure state.

    Attributes
    ----------
    results : dict
        What :func:`hbeval_lib.strands.costs.stats.analyse` returned.
    n : dict
        Clients per arm.
    arm_ok : dict
        Whether statistics of each arm may be shown (at least ``min_n_stat`` clients).
    cea_conf : dict
        The ``cea`` section of the configuration.
    text : str
        The opening paragraph (Finnish).
    """

    results: dict
    n: dict[str, int]
    arm_ok: dict[str, bool]
    cea_conf: dict
    text: str = ""
    _cea_ok: bool | None = field(default=None, repr=False)
    _payers: dict = field(default_factory=dict, repr=False)

    @property
    def has(self) -> bool:
        """True when there are clients to price."""
        return "priced" in self.results

    @property
    def both(self) -> bool:
        """True when both arms may be shown, so that the arms can be compared."""
        return self.has and all(self.arm_ok.values())

    @property
    def primary(self) -> dict | None:
        """The cost-effectiveness analysis of the primary effect, or None."""
        return self.results["cea"].get("primary") if self.has else None

    def cea_ok(self, rep: Report) -> bool:
        """Whether the primary cost-effectiveness analysis may be shown (decided, and logged, once)."""
        if self._cea_ok is None:
            c = self.primary
            self._cea_ok = (c is not None and c["result"] is not None
                            and all(rep.dc.stat_ok(c["n"].get(a, 0), "kustannusvaikuttavuus", a) for a in ARMS))
        return self._cea_ok


def _close(fig):
    """Detach a finished figure from pyplot so that only an explicit display shows it."""
    plt.close(fig)
    return fig


# -- sections ----------------------------------------------------------------------------------------------------

def analysis(rep: Report, replicates: int | None = None, seed: int | None = None) -> CostAnalysis:
    """Load the strand's tables, run the analysis and decide which arms may be shown."""
    def compute():
        tables = costs.load_tables(rep.processed, rep.phase, rep.pilot, rep.cfg)
        # a pilot page's effect difference is the pilot's primary effect from the pooled model (as on the
        # wellbeing page), so the pooled tables are needed too
        pooled = None if rep.all_pilots else costs.load_tables(rep.processed, rep.phase, ALL_PILOTS, rep.cfg)
        return costs.analyse(tables, rep.phase, rep.cfg, replicates=replicates, seed=seed, pooled=pooled,
                             pilot=None if rep.all_pilots else rep.pilot)

    # computed once for the release stage and the notebook (hbeval_lib.core.memo)
    res = memo.cached(rep.processed, "costs.analyse", {"phase": rep.phase, "pilot": rep.pilot,
                                                       "replicates": replicates, "seed": seed}, compute, rep.cfg)
    n = {a: int(res["n"].get(a, 0)) for a in ARMS}
    arm_ok = {a: rep.dc.stat_ok(n[a], "asiakkaat", a) for a in ARMS}
    a = CostAnalysis(results=res, n=n, arm_ok=arm_ok, cea_conf=rep.cfg.section("cea") or {})
    # protected with their total (as on the wellbeing page), so that no page lets a small arm be subtracted
    shown = rep.dc.parts_and_total(n, "asiakkaat")
    if all(isinstance(v, int) for v in shown.values()):
        a.text = f"Analyysissä on mukana {shown['hb']} HB-asiakasta ja {shown['verrokki']} verrokkiasiakasta. "
    else:
        why = rep.dc.why("asiakkaat", ["hb", "verrokki", "total"], kind="count") or "tietosuojan vuoksi"
        some = [v for v in (shown["hb"], shown["verrokki"]) if isinstance(v, int) or str(v).startswith("<")]
        if not some:   # neither size printed: one sentence, no "(lukumäärää ei näytetä)" twice and a third aside
            a.text = f"Analyysissä on mukana HB- ja verrokkiasiakkaita; ryhmien kokoja ei näytetä, {why}. "
        else:
            a.text = (f"Analyysissä on mukana {report.counted(shown['hb'], 'HB-asiakasta', 'HB-asiakkaita')} ja "
                      f"{report.counted(shown['verrokki'], 'verrokkiasiakasta', 'verrokkiasiakkaita')}. "
                      f"Ryhmien kokoja ei näytetä tarkasti, {why}. ")
    a.text += f"Hinnat ovat vuoden {res['uc'].price_year} tasossa."
    if not a.has:
        a.text += "\n\nTässä vaiheessa ei ole vielä asiakasaineistoa, joten kustannuksia ei voi laskea."
    elif not rep.all_pilots:
        a.text = "**Mitä tämän pilotin aineistosta voi sanoa.** " + a.text + " " + what_can_be_said(rep, a)
    return a


def what_can_be_said(rep: Report, a: CostAnalysis) -> str:
    """One or two Finnish sentences for the top of a pilot's page: which of the page's results are published and
    which are not, and why — from the page's own decisions (the arms' ``asiakkaat`` statistics, the comparison and
    the cost-effectiveness decision of :meth:`CostAnalysis.cea_ok`), never a fixed text."""
    shown = [ARM_GENITIVE[arm] for arm in ARMS if a.arm_ok[arm]]
    if not shown:
        return ("Kummankaan ryhmän kustannuksia ei julkaista tällä sivulla, "
                f"{rep.dc.why('asiakkaat', list(ARMS), kind='stat') or 'tietosuojan vuoksi'}; pilotin asiakkaat ovat mukana "
                "kaikkien pilottien sivun luvuissa.")
    if not a.both:
        hidden = [ARM_GENITIVE[arm] for arm in ARMS if not a.arm_ok[arm]]
        return (f"Sivulla julkaistaan vain {shown[0]} kustannukset ja voimavarat; {', '.join(hidden)} lukuja, "
                f"ryhmien erotusta ja kustannusvaikuttavuutta ei julkaista, {too_few_reason(rep, a)}.")
    text = "Sivulla julkaistaan molempien ryhmien kustannukset maksajittain ja ryhmien kustannusten erotus"
    if a.cea_ok(rep):
        return text + " sekä kustannusvaikuttavuus."
    c = a.primary
    why = (c or {}).get("reason") or rep.dc.why("kustannusvaikuttavuus") or "vaikutusarviota ei ole"
    if not why.startswith("koska"):
        why = f"koska {why}"
    return text + f"; kustannusvaikuttavuutta ei arvioida, {why}."


def too_few_reason(rep: Report, a: CostAnalysis) -> str:
    """The hidden arm's own reason ("koska …")."""
    return rep.dc.why("asiakkaat", [arm for arm in ARMS if not a.arm_ok[arm]], kind="stat") or "tietosuojan vuoksi"


# names of configuration keys that the unit-cost table would otherwise show as such
UNIT_COST_NAMES = {"default (kuukausipalkka)": "muu tai tuntematon nimike (kuukausipalkka)", "zero": "ei arvoteta",
                   "leisure": "vapaa-ajan arvo", "wage": "työajan arvo"}


def unit_costs(rep: Report) -> Shown:
    """A pointer to the report's unit-cost appendix (liite 2: every unit cost with its unit, price year and source).

    The table is printed once per report, in the appendix; the strand pages (all pilots and each pilot) would
    otherwise repeat the same configuration table on every page."""
    source = (rep.cfg.section("price_index") or {}).get("source", "")
    return Shown(text="Yksikkökustannukset, niiden hintavuodet ja lähteet ovat raportin liitteessä 2 "
                      "(Yksikkökustannukset ja niiden lähteet).",
                 glue={"costs_price_index_source": source})


TASK_SHARE_LABELS = {"hb": "Osuus HB-asiakkaiden asiakastyöstä", "verrokki": "Osuus verrokkiasiakkaiden asiakastyöstä"}


def task_shares(rep: Report, a: CostAnalysis) -> Shown:
    """Client-work minutes of the measured months by task category (share of each arm's client work)."""
    r = a.results
    if not (a.has and not r["by_task"].empty):
        return Shown(text="Työajan seurannan aineistoa ei ole vielä tässä vaiheessa.")
    labels = {c["key"]: c["label"] for c in (rep.cfg.section("task_codebook") or {}).get("categories", [])}
    measured = r["use"].groupby("arm")["worker_measured"].sum()
    shares = costs.task_shares(r["by_task"])
    cols = {}
    for arm in ARMS:
        ok = rep.dc.stat_ok(measured.get(arm, 0), "tyoaika_tehtavat", arm)
        # the column says what the share is of (the arm's client work, in minutes), not a count of clients
        cols[TASK_SHARE_LABELS[arm]] = {labels.get(c, c): report.pct(shares.loc[arm, c]) if ok else NOT_SHOWN
                                        for c in shares.columns}
    tab = pd.DataFrame(cols)
    tab.index.name = "Työtehtävä"
    return Shown(table=tab, caption="Taulukko: asiakastyön minuuttien jakautuminen tehtäväluokkiin "
                                    "mittauskuukausina (osuus ryhmän asiakastyöstä).")


def resource_use(rep: Report, a: CostAnalysis) -> Shown:
    """Time spent per client-month by arm, in minutes (empty when there are no clients).

    The support network's time rests on the clients whose relatives returned the form: it is shown only when there
    are at least ``min_n_stat`` of them in the arm (the other clients carry their rate)."""
    if not a.has:
        return Shown()
    use = a.results["use"]
    rates = costs.use_per_client_month(use)
    reported = (use.groupby("arm")["support_reported"].sum() if "support_reported" in use.columns
                else pd.Series(dtype=float))

    def cell(arm, k):
        if not a.arm_ok[arm]:
            return NOT_SHOWN
        if k == "support_min" and not rep.dc.stat_ok(int(reported.get(arm, 0)), "voimavarat.laheiset", arm):
            return NOT_SHOWN
        return report.num(rates.loc[arm, k])

    # only the arms that may be shown are columns (the opening paragraph says why the other is not): a column of
    # dashes would make the table mostly hidden
    arms = [arm for arm in ARMS if a.arm_ok[arm]]
    if not arms:
        return Shown()
    tab = pd.DataFrame({plots.ARM_LABELS[arm]: {USE_LABELS[k]: cell(arm, k) for k in USE_LABELS} for arm in arms})
    tab.index.name = "Ajankäyttö, min / asiakaskuukausi"
    caption = ("Taulukko: ajankäyttö minuutteina asiakaskuukautta kohden (kaikkien asiakkaiden yhteissumma jaettuna "
               "asiakkuuskuukausien summalla). Läheisten tukiaika on läheisten omalta seurantalomakkeelta; lomakkeen "
               "palauttaneiden asiakkaiden määrä kuukautta kohden on yleistetty saman pilotin ja ryhmän muille "
               "asiakkaille.")
    why = rep.dc.why("voimavarat.laheiset", [arm for arm in ARMS if a.arm_ok[arm]])
    if why:
        caption += f" Läheisten tukiaikaa ei näytetä kaikissa ryhmissä, {why} (lomakkeen palauttaneita)."
    return Shown(table=tab, caption=caption)


def service_units(rep: Report, a: CostAnalysis) -> list[Shown]:
    """Public services per client-month by arm, one table per unit (hours, visits, days, months): units of different
    services are never added up.

    A cell is the arm's units divided by its months, a magnitude over the clients who used the service: shown when at
    least ``min_n_stat`` clients of the arm used it and no one or two dominate (``rep.dc.magnitude_ok``). Only the
    arms that may be shown are columns; a service hidden in every shown arm is left out of its table and named in a
    sentence with the reason, so that no table is mostly dashes; a unit with nothing to show is a sentence only."""
    if not a.has:
        return []
    use = a.results["use"]
    rates = costs.service_use_per_client_month(use, a.results["uc"])
    arms = [arm for arm in ARMS if a.arm_ok[arm]]
    if rates.empty or not arms:
        return []
    out = []
    for unit, g in rates.groupby("unit", sort=False):
        label = costs.UNIT_LABELS.get(unit, unit)
        rows, hidden = {}, []
        for _, r in g.iterrows():
            name = r["service"][:1].upper() + r["service"][1:] + ("" if r["priced"] else " (ei yksikkökustannusta)")
            cells = {}
            for arm in arms:
                v = use.loc[use["arm"] == arm, r["column"]]
                ok = rep.dc.magnitude_ok(v, "voimavarat.palvelut", f"{arm} / {r['service']}")
                cells[plots.ARM_LABELS[arm]] = report.num(r[arm], 2) if ok else NOT_SHOWN
            if all(c == NOT_SHOWN for c in cells.values()):
                hidden.append(r["service"])
            else:
                rows[name] = cells
        text = ""
        if hidden:
            why = rep.dc.why("voimavarat.palvelut", [f"{arm} / {h}" for arm in arms for h in hidden])
            names = hidden[0] if len(hidden) == 1 else f"{', '.join(hidden[:-1])} ja {hidden[-1]}"
            text = (f"{'Palvelun' if len(hidden) == 1 else 'Palvelujen'} määriä ({label}) ei näytetä, "
                    f"{why or 'tietosuojan vuoksi'}: {names}.")
        if not rows:
            out.append(Shown(text=text))
            continue
        tab = pd.DataFrame(rows).T
        tab.index.name = f"Palvelu ({label} / asiakaskuukausi)"
        out.append(Shown(text=text, table=tab, caption=(
            f"Taulukko: julkisten palvelujen käyttö asiakaskuukautta kohden, yksikkönä {label} (palvelun "
            "yksiköt yhteensä jaettuna asiakkuuskuukausien summalla). Luku näytetään, kun palvelua käytti "
            f"vähintään {rep.dc.min_n_stat} ryhmän asiakasta eikä yksi tai kaksi käyttäjää muodosta valtaosaa.")))
    return out


def payer_ok(rep: Report, a: CostAnalysis, arm: str, item: str) -> bool:
    """Whether a payer's mean cost of an arm may be shown: a mean over all the arm's clients is its euro sum divided
    by a known number, so the sum's magnitude rules apply (at least ``min_n_stat`` clients with costs from that
    payer, no one or two dominating) — one decision for the table, both bases and the figure."""
    priced = a.results.get("priced")
    if priced is None or item not in priced.columns:
        return True
    s = a.results.get("summary")
    shown = [] if s is None else s.loc[(s["arm"] == arm) & (s["item"] == item), "estimate"].tolist()   # as printed
    return rep.dc.magnitude_ok(contributions(a, arm, item), "maksajat", f"{arm} / {item}", shown=shown)


def payers_shown(rep: Report, a: CostAnalysis, arm: str) -> dict[str, bool]:
    """Which of an arm's payer means (``cost_<payer>``) and total (``cost_total``) may be shown — one decision per
    arm for the tables of both bases, the figure and the results rows.

    Each payer first meets the magnitude rules (:func:`payer_ok`). The payers add up to the total, so when a single
    non-zero payer is hidden, the total less the shown payers would give it: then the smallest other non-zero payer
    is hidden too (secondary suppression), or the total when there is no such payer."""
    memo = getattr(a, "_payers", None)
    if memo is not None and arm in memo:
        return memo[arm]
    priced = a.results.get("priced")
    items = [f"cost_{p}" for p in costs.PAYERS]
    ok = {it: payer_ok(rep, a, arm, it) for it in items}
    ok["cost_total"] = True
    if priced is not None and all(it in priced.columns for it in items):
        sums = {it: float(priced.loc[priced["arm"] == arm, it].abs().sum()) for it in items}
        hidden = [it for it in items if not ok[it] and sums[it] > 0]
        if len(hidden) == 1:
            rest = sorted((it for it in items if ok[it] and sums[it] > 0), key=lambda it: (sums[it], it))
            extra = rest[0] if rest else "cost_total"
            ok[extra] = False
            rep.dc.record("maksajat", f"{arm} / {extra}", "secondary")
    if memo is not None:
        memo[arm] = ok
    return ok


SUPPORT_ITEMS = ("laheiset_tukiaika", "laheiset_tukikulut")
INFORMAL_VALUATION = {"korvaava hoitotyö": "korvaavan hoitotyön hinnalla", "leisure": "vapaa-ajan arvolla",
                      "wage": "työajan arvolla", "zero": "nollaksi"}


def contributions(a: CostAnalysis, arm: str, item: str) -> pd.Series:
    """Each client's own contribution to a payer's (or component's) euros: the priced amounts, less the support
    network's amounts that were extrapolated to clients whose relatives returned no form (they are the form
    returners' rate, not contributions of their own; the magnitude rules count the real contributors)."""
    priced = a.results["priced"]
    v = priced.loc[priced["arm"] == arm, item].astype(float)
    use = a.results.get("use")
    support = [c for c in SUPPORT_ITEMS if c in priced.columns and (item == "cost_laheiset" or item == c)]
    if use is None or "support_reported" not in use.columns or not support:
        return v
    imputed = ~use["support_reported"].reindex(v.index).fillna(False).astype(bool)
    return v - priced.loc[v.index, support].sum(axis=1).where(imputed, 0.0)


def payer_table(rep: Report, a: CostAnalysis, basis: str) -> Shown:
    """Mean costs by payer and arm with bootstrap CIs, per client-month or per clienthood (``basis``)."""
    if not a.has:
        return Shown()
    s = a.results["summary"]
    s = s[s["basis"] == basis].set_index(["arm", "item"])
    rows = {}
    arms = [arm for arm in ARMS if a.arm_ok[arm]]   # a hidden arm is no column (the opening paragraph says why)
    if not arms:   # one sentence under the heading, not an empty section (the reason is the opening paragraph's)
        return Shown(text="Kustannuksia maksajittain ei näytetä tällä sivulla; syy on kerrottu luvun alussa."
                     if basis == "client_month" else "")
    for item, label in [*[(f"cost_{p}", costs.PAYER_LABELS[p]) for p in costs.PAYERS], ("cost_total", "Yhteensä")]:
        rows[label] = {plots.ARM_LABELS[arm]: (report.ci(*s.loc[(arm, item), ["estimate", "ci_low", "ci_high"]],
                                                         fmt=report.eur)
                                               if (arm, item) in s.index and payers_shown(rep, a, arm)[item]
                                               else NOT_SHOWN)
                       for arm in arms}
    tab = pd.DataFrame(rows).T
    tab.index.name = "Maksaja"
    caption = PAYER_CAPTIONS[basis]
    if basis == "client_month":
        caption += support_note(rep, a)
    return Shown(table=tab, caption=caption)


def support_note(rep: Report, a: CostAnalysis) -> str:
    """How the support network's time enters the payer 'Läheiset ja verkosto' (plan §7.1): its valuation from the
    configuration, the form returners as protected counts, the extrapolation, and why the row is hidden where it
    is — from this page's own decisions (``""`` when no relative returned the form)."""
    use = a.results.get("use")
    if use is None or "support_reported" not in use.columns or not use["support_reported"].any():
        return ""
    uc = a.results["uc"]
    n = {arm: int(use.loc[use["arm"] == arm, "support_reported"].sum()) for arm in ARMS}
    shown = {arm: rep.count(n[arm], "laheiset_lomakkeet", f"lomakkeet.{arm}") for arm in ARMS}
    text = (f" Läheisten ja verkoston kustannuksiin sisältyvät HB-avustajina toimineiden läheisten lisäksi läheisten "
            f"oman seurantalomakkeen tiedot: tukeen käytetty aika on arvotettu "
            f"{INFORMAL_VALUATION.get(uc.informal_alternative, f'arvolla {uc.informal_alternative}')} "
            f"({report.eur(uc.informal_value, 2)} / tunti vuoden {uc.price_year} hinnoin; liitteessä 2 arvo on "
            f"lähteensä vuoden hinnoin) ja töistä poissaoloaika työajan arvolla, matka- ja muut kulut sellaisinaan. Lomakkeen "
            f"palautti {report.counted(shown['hb'], 'HB-asiakkaan', 'osan HB-asiakkaista')} ja "
            f"{report.counted(shown['verrokki'], 'verrokkiasiakkaan', 'osan verrokkiasiakkaista')} läheinen; muille saman "
            "pilotin ja ryhmän asiakkaille on käytetty heidän keskimääräistään asiakaskuukautta kohden, ja "
            "herkkyysanalyysi näyttää tuloksen ilman tätä yleistystä ja muilla ajan arvoilla.")
    hidden = [plots.ARM_LABELS[arm].lower() for arm in ARMS
              if a.arm_ok[arm] and rep.dc.why("maksajat", f"{arm} / cost_laheiset")]
    if hidden:
        why = rep.dc.why("maksajat", [f"{arm} / cost_laheiset" for arm in ARMS])
        text += f" Läheisten ja verkoston kustannusta ei näytetä ({', '.join(hidden)}), {why}."
    return text


def payer_figure(rep: Report, a: CostAnalysis) -> Shown:
    """Stacked bars of the cost per client-month by payer, for the arms that may be drawn."""
    if not (a.has and any(a.arm_ok.values())):
        return Shown()
    s = a.results["summary"]
    s = s[s["basis"] == "client_month"].set_index(["arm", "item"])["estimate"]
    drawn = [arm for arm in ARMS if a.arm_ok[arm] and rep.dc.figure_ok(a.n[arm], f"kustannukset_kuvio.{arm}")]
    fig, ax = plt.subplots(figsize=(7, 4))
    bottom = np.zeros(len(drawn))
    hidden = np.zeros(len(drawn))
    for i, p in enumerate(costs.PAYERS):
        # a segment is a payer's mean: drawn only when the table shows it (magnitude rules); the hidden ones of a
        # bar are drawn together as one grey segment
        ok = [payers_shown(rep, a, arm)[f"cost_{p}"] for arm in drawn]
        raw = np.array([s.get((arm, f"cost_{p}"), 0.0) for arm in drawn])
        vals = np.where(ok, raw, 0.0)
        # a bar whose total is hidden gets no grey segment (its height would give the hidden payer)
        hidden += np.where(ok, 0.0, raw) * np.array([payers_shown(rep, a, arm)["cost_total"] for arm in drawn])
        ax.bar([plots.ARM_LABELS[arm] for arm in drawn], vals, bottom=bottom, label=costs.PAYER_LABELS[p],
               color=plots.PALETTE[i])
        bottom += vals
    if (hidden > 0).any():
        ax.bar([plots.ARM_LABELS[arm] for arm in drawn], hidden, bottom=bottom, label="Peitetty (tietosuoja)",
               color="0.8", hatch="//", edgecolor="0.5")
    ax.set_ylabel("€ / asiakaskuukausi")
    ax.set_xlabel("")
    _fi_axis(ax.yaxis, 0)
    ax.legend(title="Maksaja", frameon=False)
    plots.finish(fig, "Kustannukset asiakaskuukautta kohden maksajittain")
    # the caption says what is drawn: one bar has no groups to compare (seed 347, a pilot's page)
    compare = ("; vertaa kunnan osuutta ja asiakkaan sekä läheisten osuuksia ryhmien välillä." if len(drawn) > 1 else
               f". Kuviossa on vain {({'hb': 'HB-asiakkaiden', 'verrokki': 'verrokkiasiakkaiden'})[drawn[0]]} "
               "pylväs: toisen ryhmän kustannuksia ei tällä sivulla näytetä." if drawn else ".")
    return Shown(figure=_close(fig), figure_caption=(
        "Kuvio: pylvään korkeus on kokonaiskustannus asiakaskuukautta kohden ja osat kertovat, kuka sen "
        "maksaa" + compare))


def budgets(rep: Report, a: CostAnalysis) -> Shown:
    """HB budgets and their realised use by provider type (HB clients with a budget)."""
    if not a.has:
        return Shown()
    b = a.results["budget"].set_index("item")
    nb = int(b["n"].iloc[0]) if len(b) else 0
    if not rep.dc.stat_ok(nb, "budjetit", "hb"):
        # the decision's own reason (the phase or complement rule hides budgets of more than ten clients too); no
        # "yet" in the final report, after which nothing follows
        why = rep.dc.why("budjetit", "hb")
        if why and "alle" not in why:
            return Shown(text=f"HB-budjetteja ei raportoida tällä sivulla, {why}.")
        still = "" if rep.phase == rep.cfg.phases[-1].key else "vielä "
        return Shown(text=f"HB-budjetteja on {still}niin vähän, ettei niitä voi raportoida.")
    use = a.results.get("use")
    hb = use[(use["arm"] == "hb") & (use["budget_eur"] > 0)] if use is not None else None

    def magnitude(item: str, table: str, cell: str) -> bool:
        # a sum and mean of euros (the agreed budgets, their use, a provider type's part of it) is a magnitude: at
        # least min_n_stat clients with euros in it and no one or two dominating (the same rule as the
        # service-process page's provider shares); a zero sum has nothing to protect
        if hb is None or item not in hb.columns or float(hb[item].sum()) == 0:
            return True
        return rep.dc.magnitude_ok(hb[item], table, cell, shown=[b.loc[item, "total"], b.loc[item, "mean"]])

    ok_budget = magnitude("budget_eur", "budjetit.summat", "sovitut")
    ok_use = magnitude("budget_use_eur", "budjetit.summat", "käyttö")
    # a sum and its mean per client give the number of clients (1 510 770 € / 4 094 € = 369, a size the pages hid,
    # unseen sets seed 347 and 353): that number is a published count of the release, printed in the caption, and
    # where the release hides it the means per client are not printed (the sums are entries shared with the
    # service-process pages; the means are this table's own)
    n_said = rep.count(nb, "budjetit.n", "hb")
    means = str(n_said).replace("\u202f", "").replace("\xa0", "").replace(" ", "").isdigit()
    rows = [{"Erä": "Sovitut budjetit yhteensä",
             "Euroa": report.eur(b.loc["budget_eur", "total"]) if ok_budget else NOT_SHOWN,
             "Keskimäärin / asiakas": report.eur(b.loc["budget_eur", "mean"]) if ok_budget and means else NOT_SHOWN,
             "Osuus käytöstä": ""},
            {"Erä": "Toteutunut käyttö yhteensä",
             "Euroa": report.eur(b.loc["budget_use_eur", "total"]) if ok_use else NOT_SHOWN,
             "Keskimäärin / asiakas": report.eur(b.loc["budget_use_eur", "mean"]) if ok_use and means else NOT_SHOWN,
             "Osuus käytöstä": "100 %"}]
    # the provider types' euros are the same entries as on the service-process page (one decision each, by their
    # link); they add up to the use total, but a hidden total hides what its row would give a reader — its number
    # of clients (total / mean), e.g. a few newcomers since the previous report — not the euros of the parts
    ok = {k: magnitude(f"budget_use_{k}", "budjetit.tuottajat", k) for k in PROVIDERS}
    # the provider types add up to the total use: one hidden non-zero type would follow from the others
    hidden = [k for k in ok if not ok[k]]
    rest = sorted((k for k in ok if ok[k] and hb is not None and float(hb[f"budget_use_{k}"].sum()) > 0),
                  key=lambda k: (float(hb[f"budget_use_{k}"].sum()), k))
    if len(hidden) == 1 and rest:
        ok[rest[0]] = False
        rep.dc.hide_too("budjetit.tuottajat", rest[0])
    for k, label in PROVIDERS.items():
        r = b.loc[f"budget_use_{k}"]
        rows.append({"Erä": f"– tuottaja: {label}", "Euroa": report.eur(r["total"]) if ok[k] else NOT_SHOWN,
                     "Keskimäärin / asiakas": report.eur(r["mean"]) if ok[k] and means else NOT_SHOWN,
                     # a part's euros over its share give the hidden total back (3 742 € at 11 % → about 34 000 €,
                     # unseen set seed 197): with the total hidden, no share is printed
                     "Osuus käytöstä": report.pct(r["share"]) if ok[k] and ok_use else NOT_SHOWN})
    budget = b.loc["budget_eur", "total"]
    use_rate = b.loc["budget_use_eur", "total"] / budget if budget > 0 else np.nan
    caption = ("Taulukko: HB-budjetit ja niiden toteutunut käyttö tuottajatyypeittäin"
               + (f" ({n_said} HB-asiakasta, joilla on budjetti)." if means else
                  "; keskiarvoja asiakasta kohden ei näytetä, koska niistä ja summista selviäisi asiakkaiden "
                  "lukumäärä, jota ei näytetä."))
    if ok_budget and ok_use:
        caption += f" Budjeteista käytettiin tarkasteluvaiheen loppuun mennessä {report.pct(use_rate)}."
    else:
        why = rep.dc.why("budjetit.summat")
        caption += f" Kaikkia euromääriä ei näytetä, {why or 'tietosuojan vuoksi'}."
    return Shown(table=pd.DataFrame(rows).set_index("Erä"), caption=caption)


def _fi_axis(axis, digits: int = 0) -> None:
    """Finnish tick labels on a matplotlib axis: decimal comma, space as thousands separator, true minus."""
    from matplotlib.ticker import FuncFormatter

    axis.set_major_formatter(FuncFormatter(lambda v, _pos: report.num(v, digits)))


def outcome_label(outcome: str) -> str:
    """Finnish name of an effect measure ``table.column``, e.g. ``Kykyviisari: osallisuus``."""
    table, _, col = outcome.partition(".")
    if table == "osallisuustesti":
        return "Osallisuustesti (ESIS)"
    return f"Kykyviisari: {KYKYVIISARI_DOMAINS.get(col, col.replace('_', ' ')).lower()}"


def _finite(*values) -> bool:
    return all(v is not None and np.isfinite(float(v)) for v in values)


NON_FINITE = ("Lukua tai sen luottamusväliä ei voitu laskea äärellisenä (esimerkiksi vaikutuserotus on nolla "
              "tai hajonta on nolla), joten sitä ei näytetä.")
COVARIATE_LABELS = {"start": "lähtötason pistemäärä", "age": "ikä", "labour_status": "työmarkkina-asema",
                    "pilot": "pilotti", "client_group": "asiakasryhmä", "gender": "sukupuoli",
                    "family_structure": "perherakenne"}


def not_yet(rep: Report, text: str) -> str:
    """``text`` without its "yet" (vielä) in the final report, after which no report follows."""
    if rep.phase != rep.cfg.phases[-1].key:
        return text
    return text.replace("; sitä ei vielä ole.", "; sitä ei ole.").replace(" vielä ", " ")


def too_few_to_compare(rep: Report, a: CostAnalysis) -> str:
    """Why the arms are not compared on this page — the hidden arm's own decision, never a rule that did not hide it."""
    why = rep.dc.why("asiakkaat", list(ARMS), kind="stat")
    if not a.has or not why:
        return not_yet(rep, TOO_FEW_TO_COMPARE)
    return f"Ryhmien kustannuksia ei verrata tällä sivulla, {why}."


def totals_shown(rep: Report, a: CostAnalysis) -> bool:
    """Whether both arms' mean total costs are printed: the unadjusted difference is one less the other, so it is
    printed only with both (a printed total and the difference give a hidden one back — the class of the mean
    changes' difference, unseen set seed 359)."""
    return a.both and all(payers_shown(rep, a, arm)["cost_total"] for arm in ARMS)


def differences(rep: Report, a: CostAnalysis) -> Shown:
    """Incremental costs HB − control of all clients, unadjusted and adjusted, with t intervals."""
    if not a.both:
        return Shown(text=too_few_to_compare(rep, a))
    r = a.results
    rows = []
    for basis, label in (("client_month", "Kustannus, € / asiakaskuukausi"),
                         ("clienthood", "Kustannus, € / asiakkuus")):
        inc = r["incremental"][basis]
        rows.append({"Erotus (HB − verrokki)": label, **{
            h: (report.ci(*inc.loc[row, ["estimate", "ci_low", "ci_high"]], fmt=report.eur)
                if _finite(*inc.loc[row, ["estimate", "ci_low", "ci_high"]])
                and (row != "unadjusted" or totals_shown(rep, a)) else NOT_SHOWN)
            for row, h in (("unadjusted", "Vakioimaton"), ("adjusted", "Vakioitu"))}})
    return Shown(table=pd.DataFrame(rows).set_index("Erotus (HB − verrokki)"), caption=(
        "Taulukko: kaikkien asiakkaiden lisäkustannukset (95 %:n luottamusväli suluissa). Väli on "
        f"t-jakaumaan perustuva väli heteroskedastisuuden sietävällä ({costs.COST_HC}) keskivirheellä: pienissä ryhmissä "
        "vinojen kustannusten persentiili-bootstrap-väli jää liian kapeaksi. Vakioitu erotus on regressiomallin "
        "ryhmäkerroin; malli vakioi samat lähtötilanteen tekijät kuin kustannusvaikuttavuusanalyysin "
        f"kustannuserotus ({_and_list([COVARIATE_LABELS.get(c, c) for c in costs.COST_COVARIATES])}, sikäli kuin "
        "otoksen koko sallii)."))


def _and_list(words: list[str]) -> str:
    """"a, b ja c" (Finnish)."""
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " ja " + words[-1]


def cea_intro(rep: Report, a: CostAnalysis) -> Shown:
    """Which effect measure the CEA uses and why, how many clients it rests on, and what it adjusts for."""
    c = a.primary
    if c is None:
        return Shown()
    outcome = c["outcome"]
    wb = (rep.cfg.section("wellbeing") or {}).get("primary_outcome", "kykyviisari.osallisuus")
    why = ("Se on sama kuin hyvinvointiosion ensisijainen tulosmuuttuja, joten molemmat osiot arvioivat HB:n "
           "vaikutusta samalla mittarilla eikä vaikutusmittaa ole valittu tulosten perusteella."
           if outcome == wb else
           f"Mitta on valittu konfiguraatiossa (`cea.effect_outcome`), ja se poikkeaa hyvinvointiosion "
           f"ensisijaisesta tulosmuuttujasta ({outcome_label(wb)}).")
    text = (f"Vaikutusmittana on **{outcome_label(outcome)}**: muutos alkumittauksesta seurantamittaukseen. "
            f"{why} ")
    n = {arm: int(c["n"].get(arm, 0)) for arm in ARMS}
    if a.cea_ok(rep):
        total = sum(n.values())
        # (the n are the clients with both measurements; the estimate also has the imputed clients' changes) the
        # parts and their total are one table of the release: a printed total less a printed part gave a hidden
        # part back (141 − 99 = 42 controls, unseen set seed 359)
        shown_n = rep.dc.parts_and_total(n, "kustannusvaikuttavuus.n")
        text += (f"Vaikutuserotus Δe on hyvinvointiosion ensisijainen arvio (sama luku kuin siellä): "
                 "kaksoisrobusti (AIPW) ero muutoksessa. Sekä alku- että seurantamittaus on "
                 + report.counted(shown_n["total"], "asiakkaalla", "osalla asiakkaista")
                 + " (" + report.counted(shown_n["hb"], "HB-asiakasta", "HB-asiakkaita", True)
                 + " ja " + report.counted(shown_n["verrokki"], "verrokkiasiakasta", "verrokkiasiakkaita", True) + ")"
                 + ("; muiden asiakkaiden puuttuvat seurantamittaukset on moni-imputoitu kuten hyvinvointiosiossa. "
                    if int(c.get("n_effect") or 0) > total else ", ja arvio perustuu heihin. ")
                 + "Kustannuserotus Δc on kustannustaulukon vakioitu erotus kaikista asiakkaista, joille kustannus on "
                 "laskettu. ")
        design = c["adjusted"]["design"]
        used = [COVARIATE_LABELS.get(v, v) for v in design.get("used", [])]
        left = [COVARIATE_LABELS.get(v, v) for v, why in design.get("skipped", {}).items() if why == "otos"]
        text += ("\n\nPerustapaus ottaa huomioon, että asiakkaat valitsivat HB-mallin itse: vaikutuserotus on "
                 "vakioitu hyvinvointiosion tavoin ja kustannuserotus regressiomallilla lähtötilanteen tekijöillä ("
                 + (", ".join(used) if used else "ei vakioitavia tekijöitä") + "); samat tekijät ovat "
                 "kustannustaulukon vakioidussa erotuksessa. ")
        if left:
            text += ("Otoksen koon vuoksi kustannusmallista jätettiin pois " + ", ".join(left)
                     + " (vähintään viisi asiakasta kutakin mallin parametria kohden). ")
        if design.get("collapsed"):
            text += ("Harvinaiset luokat (alle viisi asiakasta) yhdistettiin ennen mallinnusta, jottei "
                     "yksittäinen asiakas määrää tulosta. ")
        text += ("Lähtötason kustannuksia aineistossa ei ole, koska kustannukset mitataan vain asiakkuuden "
                 "ajalta. Vakiointi poistaa mitattujen tekijöiden vaikutuksen mutta ei mittaamattomien. "
                 "Perustapauksen kustannusvaikuttavuustason ja hyväksyttävyyskäyrän toistot arvotaan niin, että "
                 "niiden hajonta on taulukon luottamusvälien mukainen ja erotusten välinen korrelaatio on "
                 "asiakkaiden bootstrap-toistoista; ne eivät siis väitä tulosta varmemmaksi kuin taulukko. "
                 "Vakioimaton erotus (ryhmien keskiarvojen erotus asiakkailla, joilla on sekä mittaukset että "
                 "kustannus; toistot samalla tavalla) on herkkyysanalyysi.")
    elif c.get("reason"):
        text += f"Kustannusvaikuttavuuden perustapausta ei lasketa: {c['reason']}."
    return Shown(text=text)


def cea_table(rep: Report, a: CostAnalysis) -> Shown:
    """The base case (adjusted) and the unadjusted sensitivity analysis: Δc, Δe, ICER and INMB at the
    reported willingness-to-pay values, all from the same estimates as the CE plane and the CEAC."""
    if not a.cea_ok(rep):
        return Shown()
    c = a.primary
    notes = []

    def cell(est, lo=None, hi=None, fmt=report.num, **kw):
        if not _finite(est):
            notes.append(NON_FINITE)
            return NOT_SHOWN
        if lo is None:
            return fmt(est, **kw)
        if not _finite(lo, hi):
            notes.append(NON_FINITE)
            return fmt(est, **kw)
        return report.ci(est, lo, hi, fmt=fmt, **kw)

    cols = {}
    for name, boot, res_, inmb in (("Vakioitu (perustapaus)", c["adjusted"], c["result"], c["inmb"]),
                                   ("Vakioimaton (herkkyys)", c["unadjusted"], c["result_unadjusted"],
                                    c["inmb_unadjusted"])):
        pc, pe = boot["point"]["c"], boot["point"]["e"]
        col = {"Kustannusten erotus Δc, € / asiakkuus": cell(pc["estimate"], pc["ci_low"], pc["ci_high"],
                                                             fmt=report.eur),
               "Vaikutuksen erotus Δe, pistettä": cell(pe["estimate"], pe["ci_low"], pe["ci_high"], digits=2),
               "ICER = Δc / Δe, € / piste": cell(res_["icer"], fmt=report.eur)}
        q = cea.icer_reading(pe, pc)
        col["Neljännes (piste-estimaatti)"] = q["name"] + (" (epävarma)" if q["uncertain"] else "")
        for k, v in inmb.items():
            col[f"Nettohyöty INMB, k = {report.eur(k)}"] = cell(v["estimate"], v["ci_low"], v["ci_high"],
                                                                 fmt=report.eur)
        cols[name] = col
    sec = a.results["cea"].get("secondary")
    if sec is not None and sec["result"] is not None:
        ok = all(rep.dc.stat_ok(sec["n"].get(arm, 0), "kustannusvaikuttavuus.toissijainen", arm) for arm in ARMS)
        label = f"Toissijainen vaikutusmitta, {outcome_label(sec['outcome'])}: Δe"
        for name, key in (("Vakioitu (perustapaus)", "adjusted"), ("Vakioimaton (herkkyys)", "unadjusted")):
            pe = sec[key]["point"]["e"]
            cols[name][label] = cell(pe["estimate"], pe["ci_low"], pe["ci_high"], digits=2) if ok else NOT_SHOWN
    tab = pd.DataFrame(cols)
    tab.index.name = "HB − verrokki"
    caption = ("Taulukko: kustannusvaikuttavuusanalyysin erotukset (95 %:n luottamusväli suluissa). "
               "Perustapauksessa Δe on hyvinvointiosion ensisijainen kaksoisrobusti arvio ja Δc vakioitu "
               f"kustannuserotus (t-väli {costs.COST_HC}-keskivirheellä); vakioimattomat erotukset ovat ryhmien keskiarvojen "
               "erotuksia (Welchin t-väli, kuten hyvinvointiluvun muutospisteiden erossa). ICER on taulukon kustannuserotus jaettuna vaikutuserotuksella, ja INMB = "
               "k · Δe − Δc, jonka luottamusväli yhdistää Δe:n ja Δc:n keskivirheet ja niiden korrelaation "
               "(t-väli, Welch–Satterthwaiten vapausasteet); samat luvut ovat kustannusvaikuttavuustason ja "
               "hyväksyttävyyskäyrän "
               "keskipisteenä. Neljännes kertoo, miten ICER luetaan.")
    if notes:
        caption += " " + NON_FINITE
    caption += icer_note(c["adjusted"]["point"]["e"], c["adjusted"]["point"]["c"])
    return Shown(table=tab, caption=caption)


UNSTABLE_ICER = (" Vaikutuserotuksen luottamusväli sisältää nollan, joten ICER on epävakaa (sen nimittäjä voi "
                 "olla nolla tai vastakkaismerkkinen); päätös kannattaa tehdä nettohyödyn ja "
                 "hyväksyttävyyskäyrän perusteella.")


def icer_note(pe: dict, pc: dict) -> str:
    """Finnish sentences on how to read the ICER, by the quadrant of the point estimate
    (:func:`hbeval_lib.strands.costs.cea.icer_reading`: in the south-west the ICER is a saving per point lost and the decision
    rule is reversed; in the south-east and north-west a negative ICER is no price), plus a warning when the effect
    interval contains zero."""
    r = cea.icer_reading(pe, pc)
    return (" " + r["text"] if r["text"] else "") + (UNSTABLE_ICER if r["uncertain"] else "")


def cea_plane(rep: Report, a: CostAnalysis) -> Shown:
    """The cost-effectiveness plane of the base-case (adjusted) bootstrap replicates."""
    if not a.cea_ok(rep):
        # the introduction above gave the analysis' own reason: not a second sentence saying the same
        said = a.primary is not None and bool(a.primary.get("reason"))
        return Shown() if said else Shown(text=not_yet(rep, TOO_FEW_FOR_CEA))
    c = a.primary
    cr = c["result"]
    draws = c["adjusted"]
    d = pd.DataFrame({"de": draws["effects"]["hb"] - draws["effects"]["verrokki"],
                      "dc": draws["costs"]["hb"] - draws["costs"]["verrokki"]})
    fig, ax = plt.subplots(figsize=(7, 5))
    sns.scatterplot(data=d, x="de", y="dc", s=6, alpha=0.3, color=plots.PALETTE[0], edgecolor=None, ax=ax)
    ax.axhline(0, color="grey", lw=0.8)
    ax.axvline(0, color="grey", lw=0.8)
    ax.scatter([cr["delta_e"]], [cr["delta_c"]], color=plots.PALETTE[3], s=60, label="Piste-estimaatti",
               zorder=3)
    ax.set_xlabel(f"Vaikutuksen erotus Δe ({outcome_label(c['outcome'])}, pistettä)")
    ax.set_ylabel("Kustannusten erotus Δc (€ / asiakkuus)")
    _fi_axis(ax.xaxis, 1)
    _fi_axis(ax.yaxis, 0)
    ax.legend(frameon=False)
    plots.finish(fig, "Kustannusvaikuttavuustaso (HB vs. verrokki, vakioitu)")
    q = cr["quadrants"]
    return Shown(figure=_close(fig), figure_caption=(
        f"Kuvio: jokainen piste on yksi perustapauksen toisto ja oranssi piste taulukon "
        f"piste-estimaatti. Toistoista {report.pct(q['NE'])} on koillisessa (parempi ja kalliimpi), "
        f"{report.pct(q['SE'])} kaakossa (parempi ja halvempi), {report.pct(q['NW'])} luoteessa (huonompi ja "
        f"kalliimpi) ja {report.pct(q['SW'])} lounaassa (huonompi ja halvempi)."))


def ceac(rep: Report, a: CostAnalysis) -> Shown:
    """The acceptability curve and INMB, CEAC and EVPI at the reported willingness-to-pay values."""
    if not a.cea_ok(rep):
        return Shown()
    c = a.primary
    cr = c["result"]
    fig, ax = plt.subplots(figsize=(7, 4))
    sns.lineplot(data=cr["ceac"].reset_index(), x="wtp", y="ceac", color=plots.PALETTE[0], ax=ax,
                 label="Vakioitu (perustapaus)")
    sns.lineplot(data=c["result_unadjusted"]["ceac"].reset_index(), x="wtp", y="ceac", color=plots.PALETTE[2],
                 linestyle="--", ax=ax, label="Vakioimaton (herkkyys)")
    if _finite(cr["icer"]) and cr["icer"] > 0:
        ax.axvline(cr["icer"], color="grey", lw=0.8, linestyle=":")
    ax.set_ylim(0, 1)
    ax.set_xlabel("Maksuhalukkuus k (€ / piste)")
    ax.set_ylabel("Todennäköisyys, että HB:n\nnettohyöty k · Δe − Δc > 0")
    _fi_axis(ax.xaxis, 0)
    _fi_axis(ax.yaxis, 1)
    ax.legend(frameon=False)
    plots.finish(fig, "Kustannusvaikuttavuuden hyväksyttävyyskäyrä")
    ks = [float(k) for k in a.cea_conf.get("wtp_report", [])]
    inmb = c["inmb"]
    tab = pd.DataFrame({
        "Maksuhalukkuus k": [report.eur(k) for k in ks],
        "Nettohyöty INMB": [report.ci(inmb[k]["estimate"], inmb[k]["ci_low"], inmb[k]["ci_high"], fmt=report.eur)
                            if _finite(inmb[k]["estimate"], inmb[k]["ci_low"], inmb[k]["ci_high"]) else NOT_SHOWN
                            for k in ks],
        "CEAC": [report.num(cr["ceac"].loc[k], 2) for k in ks],
        "EVPI / asiakas": [report.eur(cr["evpi"].loc[k]) for k in ks]}).set_index("Maksuhalukkuus k")
    icer = report.eur(cr["icer"]) if _finite(cr["icer"]) else NOT_SHOWN
    reading = cea.icer_reading(c["adjusted"]["point"]["e"], c["adjusted"]["point"]["c"])
    line = (" Pystyviiva on ICER." if _finite(cr["icer"]) and cr["icer"] > 0 else
            " ICER on negatiivinen tai ei määritelty, joten pystyviivaa ei ole: katso kustannusvaikuttavuustaso.")
    if reading["quadrant"] == "SW":
        line += (" Tulos on lounaisessa neljänneksessä (HB huonompi ja halvempi): HB on kustannusvaikuttava vain "
                 "pystyviivan vasemmalla puolella, ja käyrä laskee maksuhalukkuuden kasvaessa.")
    elif reading["rule"]:
        line += f" Päätössääntö: {reading['rule']}."
    return Shown(figure=_close(fig), figure_caption=(
        "Kuvio: käyrä kertoo, kuinka suuri osa toistoista antaa HB-mallille positiivisen nettohyödyn "
        "(k · Δe − Δc > 0) kullakin maksuhalukkuudella, eli pitää sitä kustannusvaikuttavana; akseli ulottuu "
        f"vähintään kolminkertaiseen ICERiin.{line}"),
        table=tab, caption=(
        f"Taulukko: nettohyöty (INMB = k · Δe − Δc, 95 %:n luottamusväli suluissa), hyväksyttävyys ja "
        f"täydellisen tiedon odotusarvo (EVPI) valituilla maksuhalukkuuksilla (vakioitu perustapaus). "
        f"Kustannusvaikuttavuussuhde (ICER) on {icer} yhtä pistettä kohden."))


def sensitivity(rep: Report, a: CostAnalysis) -> Shown:
    """Tornado of the incremental cost per client-month when one assumption at a time is changed."""
    if not a.both:   # a sentence under the heading, not an empty section
        return Shown(text="Herkkyysanalyysi tehdään ryhmien kustannusten erotuksesta, jota ei tällä sivulla näytetä; "
                          "syy on kerrottu luvun alussa." if a.has else "")
    sens = a.results["sensitivity"]
    base = sens["base"].iloc[0]
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(sens) + 2.0))  # one readable bar per assumption
    y = np.arange(len(sens))[::-1]
    ax.barh(y, sens["high"] - base, left=base, color=plots.PALETTE[0], label="Suurempi arvo")
    ax.barh(y, sens["low"] - base, left=base, color=plots.PALETTE[1], label="Pienempi arvo")
    ax.axvline(base, color="black", lw=1)
    # long scenario names (four time valuations) wrap onto two lines instead of squeezing the bars
    ax.set_yticks(y, [textwrap.fill(re.sub(r"\b(zero|leisure|wage)\b", lambda m: UNIT_COST_NAMES[m.group(1)], str(s)),
                                    48) for s in sens["scenario"]])
    ax.set_xlabel("Lisäkustannus HB − verrokki (€ / asiakaskuukausi)")
    _fi_axis(ax.xaxis, 0)
    # the legend below the axes: inside, it covered an assumption's bar or label
    ax.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.12 - 0.6 / max(len(sens), 3)), ncol=2)
    plots.finish(fig, "Herkkyysanalyysi")
    return Shown(figure=_close(fig), figure_caption=(
        f"Kuvio: pylväät näyttävät, kuinka paljon lisäkustannus ({report.eur(base)} / asiakaskuukausi) muuttuu, "
        f"kun yhtä oletusta muutetaan; pisin pylväs on tuloksen kannalta herkin oletus."))


# -- results ------------------------------------------------------------------------------------------------------

def _record_costs(rep: Report, a: CostAnalysis, glue: dict) -> None:
    r, res = a.results, rep.res
    s = r["summary"].set_index(["basis", "arm", "item"]) if a.has else None
    for arm in ARMS:
        for p in (None, *costs.PAYERS):
            key = f"costs.per_client_month.{arm}" + (f".{p}" if p else "")
            item = f"cost_{p}" if p else "cost_total"
            label = (f"Kustannus € / asiakaskuukausi, {plots.ARM_LABELS[arm]}"
                     + (f", {costs.PAYER_LABELS[p]}" if p else ""))
            if (a.has and a.arm_ok[arm] and ("client_month", arm, item) in s.index
                    and payers_shown(rep, a, arm)[item]):
                row = s.loc[("client_month", arm, item)]
                res.add(key, label, row["estimate"], row["ci_low"], row["ci_high"], n=a.n[arm])
            else:
                res.add(key, label, suppressed=True)
        glue[f"costs_per_client_month_{arm}"] = (report.eur(s.loc[("client_month", arm, "cost_total"), "estimate"])
                                                 if a.has and a.arm_ok[arm] and payers_shown(rep, a, arm)["cost_total"]
                                                 else NOT_SHOWN)
    for basis, key in (("client_month", "costs.incremental"), ("clienthood", "costs.incremental_clienthood")):
        for row, suffix in (("unadjusted", ""), ("adjusted", "_adjusted")):
            label = ("Lisäkustannus HB − verrokki "
                     f"({'€ / asiakaskuukausi' if basis == 'client_month' else '€ / asiakkuus'})")
            if a.both and (row != "unadjusted" or totals_shown(rep, a)):
                inc = r["incremental"][basis].loc[row]
                res.add(key + suffix, label + (", vakioitu" if suffix else ""), inc["estimate"], inc["ci_low"],
                        inc["ci_high"], n=a.n["hb"] + a.n["verrokki"])
            else:
                res.add(key + suffix, label, suppressed=True)
    glue["costs_incremental"] = (report.eur(r["incremental"]["client_month"].loc["unadjusted", "estimate"])
                                 if totals_shown(rep, a) else NOT_SHOWN)


def _add(res, key: str, label: str, est, lo=None, hi=None, n=None) -> None:
    """Record a number, or a suppressed row when it is not finite (never a non-finite published number)."""
    if not _finite(est):
        res.add(key, label, suppressed=True)
    elif lo is None or not _finite(lo, hi):
        res.add(key, label, est, n=n)
    else:
        res.add(key, label, est, lo, hi, n=n)


def _record_cea(rep: Report, a: CostAnalysis, glue: dict) -> None:
    res, c, ok = rep.res, a.primary, a.cea_ok(rep)
    cr = c["result"] if ok else None
    # each row's n is the n of the estimate it prints, as on the page that computed it: Δe the primary effect's
    # (the wellbeing page's, imputed: every client with a baseline), Δc the cost difference's, a combination of
    # the two (ICER, INMB, CEAC, quadrants) the larger; the unadjusted analysis rests on the clients with both
    # measurements and a cost (a reader saw 130 beside the Δe that the wellbeing page printed with 175)
    n_e = (c.get("n_effect") or sum(c["n"].values())) if c is not None else None
    n_c = sum((c.get("n_cost") or {}).values()) if c is not None else None
    n_cea = max(n_e or 0, n_c or 0) or None
    n_una = (sum(c["unadjusted"]["n"].values()) if c is not None and c.get("unadjusted") else None)
    unit = f"€ / piste, {outcome_label(c['outcome'])}" if c is not None else "€ / piste"
    q = c.get("reading") if c is not None else None
    where = f"; {q['name']}" if ok and q and q.get("quadrant") else ""
    rows = [("cea.icer", f"ICER, vakioitu ({unit}{where})"),
            ("cea.delta_e", "Vaikutuksen erotus HB − verrokki, vakioitu (ensisijainen kaksoisrobusti arvio)"),
            ("cea.delta_c", "Kustannusten erotus HB − verrokki, vakioitu (€ / asiakkuus)"),
            ("cea.icer_unadjusted", f"ICER, vakioimaton ({unit})"),
            ("cea.delta_e_unadjusted", "Vaikutuksen erotus HB − verrokki, vakioimaton"),
            ("cea.delta_c_unadjusted", "Kustannusten erotus HB − verrokki, vakioimaton (€ / asiakkuus)")]
    if ok:
        for suffix, boot, r in (("", c["adjusted"], cr), ("_unadjusted", c["unadjusted"], c["result_unadjusted"])):
            lab = dict(rows)
            ns = {"": n_cea, "e": n_e, "c": n_c} if not suffix else {"": n_una, "e": n_una, "c": n_una}
            _add(res, f"cea.icer{suffix}", lab[f"cea.icer{suffix}"], r["icer"], n=ns[""])
            for x in ("e", "c"):
                p = boot["point"][x]
                _add(res, f"cea.delta_{x}{suffix}", lab[f"cea.delta_{x}{suffix}"], r[f"delta_{x}"], p["ci_low"],
                     p["ci_high"], n=ns[x])
        for q, share in cr["quadrants"].items():
            _add(res, f"cea.quadrant.{q.lower()}", f"Osuus toistoista, neljännes {q}", share, n=n_cea)
    else:
        for k, label in rows:
            res.add(k, label, suppressed=True)
    for k in a.cea_conf.get("wtp_report", []):
        kk = int(k) if float(k).is_integer() else k
        for name, label in (("ceac", "CEAC"), ("inmb", "Nettohyöty (INMB)"), ("evpi", "EVPI")):
            key, lab = f"cea.{name}.{kk}", f"{label}, k = {kk} €, vakioitu"
            if not ok:
                res.add(key, lab, suppressed=True)
            elif name == "inmb":
                v = c["inmb"][float(k)]
                _add(res, key, lab, cr["eib"].loc[float(k)], v["ci_low"], v["ci_high"], n=n_cea)
            else:
                _add(res, key, lab, (cr["ceac"] if name == "ceac" else cr["evpi"]).loc[float(k)], n=n_cea)
    glue["cea_icer"] = report.eur(cr["icer"]) if ok and _finite(cr["icer"]) else NOT_SHOWN


def record_results(rep: Report, a: CostAnalysis) -> dict[str, str]:
    """Record the chapter's results rows in ``rep.res``; returns the glued headline numbers (name → text)."""
    glue: dict[str, str] = {}
    _record_costs(rep, a, glue)
    _record_cea(rep, a, glue)
    return glue
