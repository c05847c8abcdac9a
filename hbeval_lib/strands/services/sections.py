"""The service-process chapter (strand 2, Metropolia): one function per section of
``notebooks/service_process.md``.

Every section function takes the notebook's :class:`~hbeval_lib.page.report.Report` (and what an earlier section
computed), applies disclosure control, records its results rows and returns a :class:`Section`: the Markdown
texts, tables and figures to show, in order, plus the values the notebook glues. The functions display
nothing; the notebook calls ``section.show()``. The statistics themselves are in :mod:`hbeval_lib.strands.services.stats`
and :mod:`hbeval_lib.strands.services.qualitative`.
"""

from __future__ import annotations

import math

from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from hbeval_lib.core import likert
from hbeval_lib.core import plots
from hbeval_lib.intake import markdown as md
from hbeval_lib.strands.services import qualitative as ql
from hbeval_lib.strands.services import stats as sv
from hbeval_lib.page.disclosure import NOT_SHOWN
from hbeval_lib.core.likert import diverging_bar
from hbeval_lib.page.report import NOT_AVAILABLE, Report, counted, num, pct, say

STRAND = "service_process"
PREFIX = "palveluprosessi"
QUARTILES = [("median", "mediaani", 0.5), ("q1", "alakvartiili", 0.25), ("q3", "yläkvartiili", 0.75)]
BASELINE_OPEN_ITEMS = ["o1", "o2", "o7", "o8"]


# -- what a section shows ----------------------------------------------------------------------------------

@dataclass
class Section:
    """What one section of a chapter shows, in order, and the values it glues.

    ``blocks`` is a list of ``(kind, object)`` with kind ``"text"`` (Markdown), ``"table"`` (DataFrame) or
    ``"figure"`` (matplotlib Figure). ``data`` holds computed frames that tests or later sections use.
    """

    blocks: list[tuple[str, object]] = field(default_factory=list)
    glue: dict[str, object] = field(default_factory=dict)
    data: dict = field(default_factory=dict)

    def text(self, md: str) -> Section:
        self.blocks.append(("text", md))
        return self

    def table(self, df: pd.DataFrame, caption: str | None = None) -> Section:
        self.blocks.append(("table", df))
        return self.text(caption) if caption else self

    def figure(self, fig, caption: str | None = None) -> Section:
        # closed at once (pyplot forgets it; display still draws it): a figure left open is shown by the inline
        # backend at the end of whatever cell built the section — on the page, a second time, with no caption
        plt.close(fig)
        self.blocks.append(("figure", fig))
        return self.text(caption) if caption else self

    def _of(self, kind: str) -> list:
        return [obj for k, obj in self.blocks if k == kind]

    @property
    def tables(self) -> list[pd.DataFrame]:
        return self._of("table")

    @property
    def figures(self) -> list:
        return self._of("figure")

    @property
    def texts(self) -> list[str]:
        return self._of("text")

    def show(self) -> None:
        """Display the blocks in order (in the executed notebook); figures are closed once shown."""
        from IPython.display import display

        from hbeval_lib.page import readable

        skip_caption = False
        for i, (kind, obj) in enumerate(self.blocks):
            if kind == "text":
                if skip_caption and readable.caption_topic(obj):
                    skip_caption = False
                    continue
                say(obj)
            elif kind == "table" and readable.mostly_hidden(obj):
                # one honest sentence instead of a table of dashes (its caption names what was left out)
                nxt = self.blocks[i + 1] if i + 1 < len(self.blocks) else ("", "")
                topic = readable.short_topic(nxt[1]) if nxt[0] == "text" and readable.caption_topic(nxt[1]) else ""
                say(readable.sentence(topic))
                skip_caption = bool(topic)
            else:
                display(obj)
                if kind == "figure":
                    plt.close(obj)

    def close(self) -> None:
        """Close the figures without showing them (tests, scripts)."""
        for fig in self.figures:
            plt.close(fig)


def _books(rep: Report) -> dict:
    return rep.cfg.section("theme_codebooks", {}) or {}


def _record_count(rep: Report, table: str, cell: str) -> None:
    rep.dc.record(table, cell, "count")


# -- baseline survey ---------------------------------------------------------------------------------------

def _baseline(rep: Report) -> tuple[pd.DataFrame, list[str]]:
    lk = rep.load("lahtokysely")
    return lk, [c for c in sv.BASELINE_STATEMENTS if c in lk.columns]


def baseline_distribution(rep: Report) -> Section:
    """The diverging bar chart of the baseline survey statements (1–7)."""
    out = Section()
    lk, items = _baseline(rep)
    n_lk = len(lk)
    if rep.dc.figure_ok(n_lk, "lahtokysely.jakauma") and items:
        counts = sv.likert_distribution(lk, items, levels=range(1, 8))
        # each segment is a share of the respondents, i.e. a count: coarser categories first, then items with a
        # category of 1–4 persons go
        labels, table = [str(i) for i in range(1, 8)], "lahtokysely.jakauma.luokat"
        if ((counts > 0) & (counts < rep.dc.min_count)).to_numpy().any():
            counts = likert.collapse_to_three(counts)
            labels, table = likert.COLLAPSED_LABELS, "lahtokysely.jakauma.luokat3"
        shown = rep.dc.counts(counts, table, margins="col")
        counts = counts[[all(isinstance(v, (int, np.integer)) for v in row) for row in shown.to_numpy()]]
        if counts.empty:
            return out.text("Lähtökyselyn vastausjakaumia ei voi näyttää: jokaisessa väittämässä jokin "
                            "vastausvaihtoehto perustuisi alle viiteen vastaajaan.")
        percent = counts.div(counts.sum(axis=1), axis=0) * 100
        fig = diverging_bar(percent, labels,
                            row_labels=[sv.BASELINE_STATEMENTS[i] for i in percent.index],
                            colors=sns.color_palette("PuOr", len(labels)),
                            title=f"Lähtökyselyn väittämät (n = {rep.count(n_lk, 'lahtokysely', 'vastaajat')})")
        return out.figure(fig, "*Kuvio: väittämien vastausjakaumat (%). Keskikohdan oikealla puolella olevat "
                               "osuudet ovat samaa mieltä olevia; mitä enemmän palkki on oikealla, sitä "
                               "myönteisemmin vastaajat arvioivat palvelujaan.*")
    return out.text("Lähtökyselyn vastauksia ei ole tässä rajauksessa riittävästi kuvion piirtämiseen.")


def _median_row(rep: Report, r, group: str, cell: str, ok: bool | None = None, n_shown=None) -> dict:
    """One row of the baseline median table; ``ok`` is the disclosure decision when already taken, ``n_shown``
    the protected respondent count (the groups' counts and their total are protected as one table)."""
    ok = rep.dc.stat_ok(r["n"], "lahtokysely", cell) if ok is None else ok
    return {"Väittämä": sv.BASELINE_STATEMENTS[r["item"]], "Ryhmä": group,
            "n": str(n_shown) if n_shown is not None else rep.count(r["n"], "lahtokysely", cell),
            "Mediaani": num(r["median"], 1) if ok else NOT_SHOWN,
            "IQR": f"{num(r['q1'], 1)}–{num(r['q3'], 1)}" if ok else NOT_SHOWN}


def baseline_summary(rep: Report) -> Section:
    """Median and IQR of each statement, overall and by respondent group (and by pilot on the all-pilots page).

    Records ``lahtokysely.<item>.{median,q1,q3}``.
    """
    out = Section()
    lk, items = _baseline(rep)
    n_lk = len(lk)
    summ = sv.likert_summary(lk, items, by="respondent_group") if items and n_lk else pd.DataFrame()
    summ_all = sv.likert_summary(lk, items) if items and n_lk else pd.DataFrame()
    rows = []
    # respondents per statement and group, with the all-respondents count as their total: one protected table
    n_shown = None
    if len(summ):
        ntab = summ.pivot_table(index="item", columns="respondent_group", values="n", aggfunc="sum",
                                fill_value=0).astype(int)
        n_shown = rep.dc.counts(ntab, "lahtokysely.vastaajat", margins="col")
    for _, r in summ_all.iterrows():
        ok = rep.dc.stat_ok(r["n"], "lahtokysely", f"kaikki / {r['item']}")
        for stat, name, _q in QUARTILES:
            rep.res.add(f"lahtokysely.{r['item']}.{stat}", f"Lähtökysely {r['item']}: {name} (1–7)",
                        estimate=r[stat], n=r["n"], suppressed=not ok)
        total = (n_shown.at[r["item"], rep.dc.total_label]
                 if n_shown is not None and r["item"] in n_shown.index and int(ntab.loc[r["item"]].sum()) == r["n"]
                 else None)   # respondents without a group: the groups do not add up to all respondents
        rows.append(_median_row(rep, r, "Kaikki", f"kaikki / {r['item']}", ok, n_shown=total))
    for _, r in summ.iterrows():
        rows.append(_median_row(rep, r, str(r["respondent_group"]).capitalize(),
                                f"{r['respondent_group']} / {r['item']}",
                                n_shown=n_shown.at[r["item"], r["respondent_group"]]))
    if rows:
        out.table(pd.DataFrame(rows).sort_values(["Väittämä", "Ryhmä"], kind="stable")
                  .set_index(["Väittämä", "Ryhmä"]),
                  "*Taulukko: väittämien mediaani ja kvartiiliväli (IQR) kaikista vastaajista ja "
                  "vastaajaryhmittäin.*")
    if rep.all_pilots and n_lk:
        per_pilot = sv.likert_summary(lk, items, by="pilot")
        ok = [rep.dc.stat_ok(n, "lahtokysely.pilotti", f"{p} / {i}")
              for n, p, i in zip(per_pilot["n"], per_pilot["pilot"], per_pilot["item"])]
        tab = per_pilot.assign(val=[num(m, 1) if o else NOT_SHOWN for m, o in zip(per_pilot["median"], ok)]) \
            .pivot(index="item", columns="pilot", values="val").rename(columns=rep.pilot_names)
        tab.index = [sv.BASELINE_STATEMENTS[i] for i in tab.index]
        out.table(tab, "*Taulukko: väittämien mediaanit piloteittain; pilotti, jossa vastaajia on alle "
                       "kymmenen, jätetään pois.*")
    return out


def baseline_themes(rep: Report) -> Section:
    """Keyword themes of the baseline survey's open answers (never published verbatim)."""
    out = Section()
    lk, _ = _baseline(rep)
    cols = [c for c in BASELINE_OPEN_ITEMS if c in lk.columns]
    answers = pd.concat([lk[c] for c in cols], ignore_index=True) if cols else pd.Series(dtype=object)
    tc = sv.theme_counts(answers, _books(rep).get("lahtokysely_avoimet", []))
    if not tc.attrs["n_answers"]:
        return out.text("Lähtökyselyn avoimia vastauksia ei ole tässä rajauksessa.")
    shown = rep.dc.counts(tc[["n"]].rename(columns={"n": "Vastauksia"}), "lahtokysely.teemat")
    shown.index = tc["label"]
    n_answers = counted(rep.count(tc.attrs['n_answers']), "vastausta", "vastauksia", in_parentheses=True)
    return out.table(shown, f"*Taulukko: lähtökyselyn avointen vastausten ({n_answers}) teemat.*")


# -- what HB clients bought and from whom ----------------------------------------------------------------

def spending(rep: Report) -> pd.DataFrame:
    """Every euro spent on the page's clients with its provider type (:func:`services.spending_by_provider`)."""
    return sv.spending_by_provider(rep.load("budget_use"), rep.load("services"), sv.unit_prices(rep.cfg))


def _budget(spend: pd.DataFrame) -> pd.DataFrame:
    return spend[spend["source"] == "budjetti"]


def budget_providers(rep: Report, spend: pd.DataFrame) -> Section:
    """How HB budget euros were split between provider types. Records ``palvelut.provider_share.<provider>``."""
    out = Section()
    if spend.attrs.get("basis") == "budget_only":
        out.text("Yksikkökustannuksia ei ole määritelty, joten kunnan palveluja ei voi muuttaa euroiksi: osuudet "
                 "lasketaan vain HB-budjetin käytöstä.")
    elif spend.attrs["unpriced_rows"]:
        out.text(f"Palveluilla {', '.join(sorted(spend.attrs['unpriced_services']))} ei ole yksikkökustannusta "
                 "(tai kirjattu yksikkö poikkeaa hinnan yksiköstä); ne jäävät euromääristä pois.")
    budget = _budget(spend)
    hb_shares = sv.provider_shares(budget) if len(budget) else pd.DataFrame()
    n_hb = int(budget["client_id"].nunique())
    ok = rep.dc.stat_ok(n_hb, "budjetti.tuottajat", "kaikki")
    # decided whatever ``ok`` says: the client-group table reuses this decision for the same clients, so the page
    # must take it in every execution (else the table would decide anew when the release hides ``ok``)
    shown = _euro_shares_ok(rep, budget, "budjetti.tuottajat.eurot", "kaikki") if len(budget) else {}
    shown = shown if ok else {}
    for p in sv.PROVIDER_ORDER:
        rep.res.add(f"palvelut.provider_share.{p}", f"HB-budjetin käytön osuus: {sv.PROVIDER_LABELS[p]}",
                    estimate=hb_shares.loc["kaikki", p] if shown.get(p) and len(hb_shares) else None, n=n_hb,
                    suppressed=not shown.get(p))
    if not ok:
        # the reason is the decision's own (few clients, or a number another page or report would give away)
        why = rep.dc.why("budjetti.tuottajat", "kaikki") or f"koska asiakkaita on alle {rep.dc.min_n_stat}"
        return out.text(f"HB-budjetin käytön jakautumista tuottajille ei julkaista tässä rajauksessa, {why}.")
    if not all(shown.values()):
        out.text("Tuottajatyyppien osuuksista on jätetty pois ne, joiden euroista yksi tai kaksi asiakasta muodostaa "
                 "valtaosan tai joita on käyttänyt alle kymmenen asiakasta (ja tarvittaessa yksi muu osuus, "
                 "jotta pois jätetyn voi päätellä osuuksien summasta).")
    keep = [p for p in sv.PROVIDER_ORDER if shown.get(p)]
    data = hb_shares.loc["kaikki", keep].rename(sv.PROVIDER_LABELS).mul(100).reset_index()
    data.columns = ["Tuottaja", "Osuus"]
    fig, ax = plt.subplots(figsize=(7, 3.5))
    sns.barplot(data=data, y="Tuottaja", x="Osuus", hue="Tuottaja", palette=plots.PALETTE[:len(data)], legend=False,
                ax=ax)
    ax.set(xlabel="Osuus HB-budjetin käytöstä (%)", ylabel="")
    # (no client count in the title: it is the sum of the protected client counts of the tables above)
    plots.finish(fig, "HB-budjetin käyttö tuottajittain")
    return out.figure(fig, "*Kuvio: kuinka suuri osa HB-budjettien euroista käytettiin kunkin tuottajatyypin "
                           "palveluihin ja tukeen.*")


def pilot_summary(rep: Report) -> Section:
    """The first paragraph of a pilot's page: what this pilot's data allow on the page's main questions — how the HB
    budgets were split between provider types and the HB − control comparison of providers — read from the results
    rows :func:`budget_providers` and :func:`arm_comparison` recorded (their protected decisions; call it after them)
    with the logged reasons for what is hidden. Empty on the all-pilots page."""
    out = Section()
    if rep.all_pilots:
        return out
    rows = {r["key"]: r for r in rep.res.rows}
    shares = [k for k in rows if k.startswith("palvelut.provider_share.")]
    shown = [k for k in shares if not rows[k]["suppressed"]]
    text = "**Mitä tämän pilotin aineistosta voi sanoa.** "
    if not shown:
        why = rep.dc.why("budjetti.tuottajat", "kaikki") or rep.dc.why("budjetti.tuottajat.eurot") or \
            "tietosuojan vuoksi"
        text += f"HB-budjettien käytön jakautumista tuottajille ei julkaista tällä sivulla, {why}. "
    elif len(shown) < len(shares):
        text += (f"HB-budjettien käytöstä julkaistaan {len(shown)} tuottajatyypin osuus {len(shares)}:sta; muut "
                 f"jätetään pois, {rep.dc.why('budjetti.tuottajat.eurot') or 'tietosuojan vuoksi'}. ")
    else:
        text += "HB-budjettien käytön jakautuminen kaikille tuottajatyypeille julkaistaan. "
    arms = {arm: not rows.get(f"palvelut.nonpublic_share.{arm}", {"suppressed": True})["suppressed"]
            for arm in ("hb", "verrokki")}
    if all(arms.values()):
        text += "HB- ja verrokkiasiakkaiden palvelujen tuottajia verrataan."
    else:
        hidden = [arm for arm, ok in arms.items() if not ok]
        why = rep.dc.why("palvelut.ei_julkinen_osuus", hidden) or "tietosuojan vuoksi"
        text += (f"HB- ja verrokkiasiakkaiden palvelujen tuottajia ei verrata, {why}; pilotin asiakkaat ovat mukana "
                 "kaikkien pilottien vertailussa.")
    return out.text(text)


def _euro_shares_ok(rep: Report, frame: pd.DataFrame, table: str, group: str) -> dict:
    """Which provider types' euro shares may be shown: each type's euros pass the magnitude rules (≥ min_n_stat
    contributors, no dominant one or two), and since the shares add up to 100 %, one hidden non-zero share
    hides the next smallest too."""
    # the same clients' euros are the same facts wherever the page shows them (the page's figure and the row of a
    # client group that holds every client of the page): one decision, taken where they are first shown
    same = getattr(rep, "_euro_share_decisions", None)
    if same is None:
        same = rep._euro_share_decisions = {}
    facts = tuple(sorted(map(str, frame["client_id"].unique()))) + (f"{float(frame['eur'].sum()):.6f}",)
    if facts in same:
        return dict(same[facts])
    per_client = frame.groupby(["provider", "client_id"], observed=True)["eur"].sum()
    ok, eur = {}, {}
    for p in sv.PROVIDER_ORDER:
        values = per_client.loc[p] if p in per_client.index.get_level_values(0) else pd.Series(dtype=float)
        eur[p] = float(values.sum())
        ok[p] = eur[p] == 0 or rep.dc.magnitude_ok(values, table, f"{group} / {p}")
    hidden = [p for p in ok if not ok[p]]
    rest = sorted((p for p in ok if ok[p] and eur[p] > 0), key=lambda p: (eur[p], p))
    if len(hidden) == 1 and rest:
        ok[rest[0]] = False
        rep.dc.hide_too(table, f"{group} / {rest[0]}")
    same[facts] = dict(ok)
    return ok


def _share_table(rep: Report, frame: pd.DataFrame, by: str, names: dict, table: str) -> pd.DataFrame | None:
    """Provider shares by a grouping; the shares of groups under ``min_n_stat`` clients hidden."""
    if frame.empty:
        return None
    t = sv.provider_shares(frame, by=by)
    out = t[sv.PROVIDER_ORDER].map(pct).astype(object)
    for g, n in t["n_clients"].items():
        if not rep.dc.stat_ok(n, table, g):
            out.loc[g] = NOT_SHOWN
            continue
        shown = _euro_shares_ok(rep, frame[frame[by] == g], f"{table}.eurot", str(g))
        for p, ok in shown.items():
            if not ok:
                out.loc[g, p] = NOT_SHOWN
    # the clients per group are one count table across groupings and pages: a pilot's row on the all-pilots page
    # is the sum of that pilot's client groups, and the release protects them together
    labels = [names.get(g, g) for g in t.index]
    cnt = pd.DataFrame({"Asiakkaita": t["n_clients"].astype(int).to_numpy()}, index=labels)
    shown_n = rep.dc.counts(cnt, "budjetti.tuottajat.asiakkaat")
    out.index = labels
    out["Asiakkaita"] = shown_n["Asiakkaita"].to_numpy()
    return out.rename(columns=sv.PROVIDER_LABELS)


def budget_share_tables(rep: Report, spend: pd.DataFrame) -> Section:
    """HB budget provider shares by client group (and by pilot on the all-pilots page)."""
    out = Section()
    groupings = [("client_group", rep.group_names, "asiakasryhmittäin")]
    if rep.all_pilots:
        groupings.append(("pilot", rep.pilot_names, "piloteittain"))
    budget = _budget(spend)
    if not rep.all_pilots and (budget.empty or budget["client_id"].nunique() < rep.dc.min_n_stat):
        # the whole pilot is under the threshold (the section above says so): every group's shares would be
        # hidden, and a table replaced by a sentence would say it twice
        return out
    for by, names, title in groupings:
        t = _share_table(rep, budget, by, names, f"budjetti.tuottajat.{by}")
        if t is not None:
            out.table(t, f"*Taulukko: HB-budjetin käytön jakautuminen tuottajille {title}.*")
    return out


def arm_comparison(rep: Report, spend: pd.DataFrame) -> Section:
    """Non-public share of euros and provider types per client, HB vs control.

    Records ``palvelut.nonpublic_share.<arm>`` and ``palvelut.provider_types_per_client.<arm>``; glues
    ``nonpublic_share_hb``, ``nonpublic_share_verrokki`` and ``provider_types_hb``.
    """
    out = Section()
    ns = sv.nonpublic_share(spend, by="arm") if len(spend) else pd.DataFrame()
    types = sv.provider_types_per_client(spend, rep.load("clients"))
    counts = types.groupby(["arm", "n_types"]).size().unstack(fill_value=0) if len(types) else pd.DataFrame()
    headline = {}
    for arm in ["hb", "verrokki"]:
        n = int(ns.loc[arm, "n_clients"]) if arm in ns.index else 0
        ok = rep.dc.stat_ok(n, "palvelut.ei_julkinen_osuus", arm)
        share = ns.loc[arm, "share"] if ok else None
        rep.res.add(f"palvelut.nonpublic_share.{arm}",
                    f"Muiden kuin julkisten tuottajien osuus euroista: {plots.ARM_LABELS[arm]}",
                    estimate=share, n=n, suppressed=not ok)
        t_arm = types[types["arm"] == arm]["n_types"]
        # the mean number of types times its n is the weighted sum of the arm's row of the distribution below, and n
        # its plain sum: two equations that pin the row's hidden cells when there are two of them (one small count
        # and the cell hidden to protect it, or two small counts: 4,33 × 51 = 221 pinned "2 types" to 1, unseen
        # set seed 283) — the mean is hidden then, decided from the data; three or more small counts stay open
        row = counts.loc[arm] if arm in counts.index else pd.Series(dtype=int)
        small = 1 <= int(((row > 0) & (row < rep.dc.min_count)).sum()) <= 2
        ok_t = rep.dc.stat_ok(len(t_arm), "palvelut.tuottajatyypit", arm, reveals=small)
        rep.res.add(f"palvelut.provider_types_per_client.{arm}",
                    f"Tuottajatyyppejä asiakasta kohden: {plots.ARM_LABELS[arm]}",
                    estimate=t_arm.mean() if ok_t else None, n=len(t_arm), suppressed=not ok_t)
        headline[arm] = (share, t_arm.mean() if ok_t else None)
    out.glue = {"nonpublic_share_hb": pct(headline["hb"][0], missing=NOT_AVAILABLE),
                "nonpublic_share_verrokki": pct(headline["verrokki"][0], missing=NOT_AVAILABLE),
                "provider_types_hb": num(headline["hb"][1], 1, missing=NOT_AVAILABLE)}
    if not (len(spend) and all(h[0] is not None for h in headline.values())):
        return out.text("HB- ja verrokkiasiakkaiden palvelujen vertailuun ei tässä rajauksessa ole riittävästi "
                        "tietoja.")
    mix = sv.provider_shares(spend, by="arm")[sv.PROVIDER_ORDER].mul(100)
    # a segment's width is a euro share: drawn only when that share passes the magnitude rules (the same rule as
    # the share tables); the hidden segments of an arm (never just one) are drawn together as one grey segment
    hidden_mix = pd.Series(0.0, index=mix.index)
    for arm in mix.index:
        ok = _euro_shares_ok(rep, spend[spend["arm"] == arm], "palvelut.tuottajat.ryhmittain", str(arm))
        for p in sv.PROVIDER_ORDER:
            if not ok[p]:
                hidden_mix[arm] += mix.at[arm, p]
                mix.at[arm, p] = 0.0
    fig, ax = plt.subplots(figsize=(8, 3.4))
    left = np.zeros(len(mix))
    arms = [plots.ARM_LABELS[a] for a in mix.index]
    for i, p in enumerate(sv.PROVIDER_ORDER):
        ax.barh(arms, mix[p], left=left, color=plots.PALETTE[i], label=sv.PROVIDER_LABELS[p])
        left += mix[p].to_numpy()
    if (hidden_mix > 0).any():
        ax.barh(arms, hidden_mix.to_numpy(), left=left, color="0.8", hatch="//", edgecolor="0.5",
                label="Peitetty (tietosuoja)")
    ax.set(xlabel="Osuus palvelujen euroista (%)", xlim=(0, 100))
    ax.legend(ncol=5, loc="upper center", bbox_to_anchor=(0.5, -0.4), frameon=False)
    plots.finish(fig, "Palvelujen tuottajat HB- ja verrokkiasiakkailla")
    out.figure(fig, f"*Kuvio: HB-asiakkaiden palveluista {out.glue['nonpublic_share_hb']} euroista tuli muilta "
                    f"kuin julkisilta tuottajilta, verrokkiasiakkailla {out.glue['nonpublic_share_verrokki']}. "
                    "Verrokkien palvelut tulevat kunnan rekistereistä, joten ne ovat määritelmän mukaan "
                    "julkisia.*")
    counts.index = [plots.ARM_LABELS[a] for a in counts.index]
    counts.columns = [f"{c} tyyppiä" for c in counts.columns]
    return out.table(rep.dc.counts(counts, "palvelut.tuottajatyypit.jakauma"),
                     "*Taulukko: asiakkaiden lukumäärä käytettyjen tuottajatyyppien määrän mukaan (julkiset "
                     "palvelut yhtenä tyyppinä).*")


# -- why clients chose HB or not -------------------------------------------------------------------------

CHOICE_QUESTIONS = [("hb", "q2_6", "hb_valinta", "HB-asiakkaat: miksi valitsisi / ei valitsisi HB:n"),
                    ("verrokki", "q2_3", "ei_hb_valinta", "Verrokkiasiakkaat: miksi ei valinnut HB:tä")]


def choice_reasons(rep: Report) -> Section:
    """Keyword themes of why HB clients chose HB (2.6) and control clients did not (2.3).

    Records ``valinta.<form>.<theme>`` (number of answers).
    """
    out = Section()
    survey = rep.load("asiakaskysely")
    for form, col, book, title in CHOICE_QUESTIONS:
        texts = survey.loc[survey["form"] == form, col] if col in survey.columns else pd.Series(dtype=object)
        tc = sv.theme_counts(texts, _books(rep).get(book, []))
        n_ans = tc.attrs["n_answers"]
        ok = rep.dc.stat_ok(n_ans, f"valinta.{form}", "vastaukset")
        shown = rep.dc.counts(tc[["n"]], f"valinta.{form}") if ok else None
        for key, r in tc.iterrows():
            # the results row is the table's protected cell (a count hidden in the table is hidden here too)
            cell = shown.at[key, "n"] if shown is not None else None
            visible = isinstance(cell, (int, np.integer))
            rep.res.add(f"valinta.{form}.{key}", f"{title}: {r['label']} (vastauksia)",
                        estimate=r["n"] if visible else None, n=n_ans, suppressed=not visible)
        if not ok:
            out.text(f"{title}: vastauksia on alle kymmenen, joten teemoja ei näytetä.")
            continue
        shown["Osuus vastaajista"] = [pct(s) if isinstance(v, (int, np.integer)) else NOT_SHOWN
                                      for s, v in zip(tc["share"], shown["n"])]
        shown.index = tc["label"]
        out.table(shown.rename(columns={"n": "Vastauksia"}),
                  f"*Taulukko: {title} — teemojen yleisyys ({n_ans} vastausta; vastaus voi kuulua useaan "
                  "teemaan).*")
    return out


# -- HB assistants -----------------------------------------------------------------------------------------

def _assistant_survey(rep: Report, out: Section) -> None:
    ak = rep.load("avustajakysely")
    if len(ak) < rep.dc.min_count:
        if len(ak):
            _record_count(rep, "avustajat.tausta", "kaikki")
        out.text("Avustajakyselyn vastauksia ei ole tässä rajauksessa riittävästi julkaistavaksi.")
        return
    bg = ak["background"].fillna("ei tietoa").value_counts().to_frame("Vastaajia")
    # the respondents are the table's total row (protected with its cells), not a number beside it
    out.table(rep.dc.counts(bg, "avustajat.tausta", margins="row"), "*Taulukko: avustajakyselyn vastaajien tausta.*")
    # the plan's questions on the assistants (ch. 6): what motivated them, what they did, their experiences
    for item, book, what in [("motivaatio", "avustaja_motivaatio", "mikä innosti ryhtymään HB-avustajaksi"),
                             ("tehtavat", "avustaja_tehtavat", "millaisia tehtäviä avustajat tekivät"),
                             ("kokemukset", "avustaja_kokemukset", "avustajien kokemukset")]:
        if item not in ak.columns or book not in _books(rep):
            continue
        tc = sv.theme_counts(ak[item], _books(rep)[book])
        if rep.dc.stat_ok(tc.attrs["n_answers"], f"avustajat.{item}", "vastaukset"):
            shown = rep.dc.counts(tc[["n"]].rename(columns={"n": "Vastauksia"}), f"avustajat.{item}")
            shown.index = tc["label"]
            out.table(shown, f"*Taulukko: {what} teemoittain (avainsanaluokittelu; vastaus voi kuulua useaan "
                             "teemaan).*")


def assistants(rep: Report) -> Section:
    """The assistant survey (background, experiences) and the assistants' time (LIITE 3.3).

    Records ``avustajat.hours.{median,q1,q3}``.
    """
    out = Section()
    _assistant_survey(rep, out)
    at = sv.assistant_time(rep.load("avustajakulut"))
    n_ass = len(at)
    ok = rep.dc.stat_ok(n_ass, "avustajat.aika", "kaikki")
    for stat, name, q in QUARTILES:
        rep.res.add(f"avustajat.hours.{stat}", f"Avustajan antama aika asiakasta kohden, {name} (h)",
                    estimate=at["hours"].quantile(q) if ok else None, n=n_ass, suppressed=not ok)
    if not ok:
        return out.text("Avustajien ajankäyttölomakkeita on tässä rajauksessa alle kymmenen, joten niistä ei "
                        "julkaista lukuja.")
    rel = at["relationship"].fillna("ei tietoa").value_counts().to_frame("Avustajia")
    # the number of assistants is printed (the figure's title): it is the table's total row, protected with it
    rel_shown = rep.dc.counts(rel, "avustajat.lahisuhde", margins="row")
    out.table(rel_shown, "*Taulukko: avustajien läheissuhde avustettavaan asiakkaaseen (LIITE 3.3).*")
    n_shown = rel_shown.at[rep.dc.total_label, "Avustajia"]
    # a histogram's bars are counts: bins are merged until each holds at least min_count assistants, and the bin
    # counts are ledger cells (a bar the release hides is not drawn: then no figure)
    edges = histogram_edges(at["hours"], rep.dc.min_count)
    counts = pd.cut(at["hours"], edges, include_lowest=True).value_counts(sort=False)
    labels = histogram_labels(edges)
    bins = pd.DataFrame({"Avustajia": counts.to_numpy()}, index=labels)
    shown = rep.dc.counts(bins, "avustajat.aika.jakauma")
    if not all(isinstance(v, (int, np.integer)) for v in shown["Avustajia"]):
        return out.text("Avustajien ajankäytön jakaumaa ei kuvata: jokin aikaluokka perustuisi liian harvaan "
                        f"avustajaan. Mediaani on {num(at['hours'].median(), 0)} tuntia (matka-aika ei mukana).")
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.bar(range(len(labels)), bins["Avustajia"].to_numpy(), color=plots.PALETTE[0], width=0.9)
    ax.set_xticks(range(len(labels)), labels)
    ax.set(xlabel="Avustajan aika asiakasta kohden (tuntia)", ylabel="Avustajia")
    title = "HB-avustajien ajankäyttö" + (f" (n = {n_shown})" if isinstance(n_shown, (int, np.integer)) else "")
    plots.finish(fig, title)
    return out.figure(fig, f"*Kuvio: avustajien asiakkaalle antaman ajan jakauma (jokaisessa pylväässä vähintään "
                           f"{rep.dc.min_count} avustajaa); mediaani {num(at['hours'].median(), 0)} tuntia "
                           "(matka-aika ei mukana).*")


def histogram_labels(edges: list[float]) -> list[str]:
    """Finnish labels of histogram bins whose outer bins are open: the outer edges are the smallest and the largest
    value, each one person's, so they are never printed.

    >>> histogram_labels([1.0, 10.8, 20.0, 50.0])
    ['alle 11', '11–20', 'yli 20']
    >>> histogram_labels([1.0, 50.0])
    ['kaikki']
    """
    if len(edges) <= 2:
        return ["kaikki"]
    inner = [f"{num(a, 0)}–{num(b, 0)}" for a, b in zip(edges[1:-2], edges[2:-1])]
    return [f"alle {num(edges[1], 0)}", *inner, f"yli {num(edges[-2], 0)}"]


def histogram_edges(values: pd.Series, min_count: int, bins: int = 8) -> list[float]:
    """Bin edges of a histogram whose every bin holds at least ``min_count`` values: equal-width bins over the
    range, neighbours merged (from the sparser end) until no bin is below ``min_count``.

    >>> histogram_edges(pd.Series([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 50]), 5, bins=5)
    [1.0, 10.8, 50.0]
    """
    v = pd.Series(values, dtype=float).dropna()
    if v.empty:
        return [0.0, 1.0]
    lo, hi = float(v.min()), float(v.max())
    if hi <= lo:
        return [lo, lo + 1.0]
    edges = list(np.linspace(lo, hi, bins + 1))
    while len(edges) > 2:
        counts = pd.cut(v, edges, include_lowest=True).value_counts(sort=False).to_numpy()
        small = [i for i, c in enumerate(counts) if c < min_count]
        if not small:
            break
        i = small[0]
        # merge the small bin with its sparser neighbour (drop the edge between them)
        if i == 0:
            drop = 1
        elif i == len(counts) - 1:
            drop = len(edges) - 2
        else:
            drop = i if counts[i - 1] <= counts[i + 1] else i + 1
        edges.pop(drop)
    # one decimal, the outer edges rounded outwards so that every value stays inside
    out = [math.floor(edges[0] * 10) / 10] + [round(float(e), 1) for e in edges[1:-1]] + [math.ceil(edges[-1] * 10) / 10]
    return out


# -- diaries and workshops -------------------------------------------------------------------------------

CODE_TABLES = "_hbeval_code_tables"   # where a page's protected theme tables are kept (one computation per page)


def _code_tables(rep: Report) -> dict:
    """Coded paragraphs of each theme by stage of the material × informant group: one protected count table per
    theme (``laadullinen.lampokartta.<code>``) with its total column — the stage's paragraphs of the theme.

    Every place that prints these numbers renders these entries: the heat map its interior cells, results.csv the
    stage totals (``laadullinen.<code>.<stage>``), the conditions table the stage totals
    (``edellytykset.laadullinen``; its all-stages total is their sum, printed only when every stage total is, see
    :func:`_all_stages`). Declared as one table, their relations are the table's margins, which the protection
    models with the `<k` marks: the heat map protected apart from the totals printed elsewhere gave hidden cells
    back — a stage total less the shown cells (seed 229), five `<5` cells under a printed all-stages total of 5
    (seed 283). The informant groups' totals over the stages are printed nowhere and are not declared (a margin is
    taken as printed). Computed once per page and shared by the sections (``{book code: (counts, shown)}``)."""
    cached = rep.__dict__.get(CODE_TABLES)
    if cached is not None:
        return cached
    qual = rep.load("qualitative")
    book = md.codebook(rep.cfg)
    ex = ql.explode_codes(qual, book)
    out = {}
    if len(ex):
        stages = [s for s in md.STAGE_LABELS if s in set(ex["stage"])]
        informants = sorted(ex["informant"].unique())
        for code in book:
            part = ex[ex["code"] == code]
            tab = part.groupby(["stage", "informant"]).size().unstack(fill_value=0) if len(part) else pd.DataFrame()
            tab = tab.reindex(index=stages, columns=informants, fill_value=0).fillna(0).astype(int)
            tab.index.name, tab.columns.name = "stage", "informant"
            # the rows are named by theme and stage in the release: a bare "vali" in every theme's table made the
            # same-persons rule (same row label and value in another table) tie unrelated themes together
            named = tab.rename(index=lambda st: f"{code} · {st}")
            shown = rep.dc.counts(named, f"laadullinen.lampokartta.{code}", margins="col")
            out[code] = (tab, shown.set_axis(list(tab.index), axis=0))
    rep.__dict__[CODE_TABLES] = out
    return out


def _all_stages(stage_totals: list):
    """A theme's paragraphs over all stages: the sum of its stage totals when every one of them is printed (then it
    tells a reader nothing new), else hidden — never an entry of its own, whose printing could pin the hidden ones."""
    if all(isinstance(v, (int, np.integer)) for v in stage_totals):
        return int(sum(int(v) for v in stage_totals))
    return NOT_SHOWN


def _heatmap(rep: Report, tables: dict, book: dict):
    """Coded paragraphs by theme × (stage · informant group), every hidden cell masked."""
    codes = list(tables)
    first = tables[codes[0]][0]
    cols = [(s, i) for s in first.index for i in first.columns]
    heat = pd.DataFrame([[tables[c][0].at[s, i] for s, i in cols] for c in codes], index=codes,
                        columns=[f"{md.STAGE_LABELS[s]} · {i}" for s, i in cols])
    shown = pd.DataFrame([[tables[c][1].at[s, i] for s, i in cols] for c in codes], index=codes,
                         columns=heat.columns)
    keep = [j for j, (s, i) in enumerate(cols) if heat.iloc[:, j].sum() > 0]   # a group with no paragraphs at a stage
    heat, shown = heat.iloc[:, keep], shown.iloc[:, keep]
    # a cell is coloured only when its number is published: every hidden cell (a small count "<5" and a
    # secondarily hidden "–") is masked grey, so the colour scale cannot decode a value the table hides
    mask = shown.map(lambda v: not isinstance(v, (int, np.integer))).to_numpy()
    published = pd.DataFrame(np.where(mask, np.nan, heat.to_numpy(dtype=float)), index=heat.index,
                             columns=heat.columns)
    # at most 9 in wide: printed at the text width (about 6.5 in), labels stay at 7 pt or more
    fig, ax = plt.subplots(figsize=(min(0.55 * heat.shape[1] + 5, 9), 0.4 * len(heat) + 2.5))
    sns.heatmap(published, annot=shown.astype(str).to_numpy(), fmt="", cmap="viridis", mask=mask,
                annot_kws={"fontsize": 10}, cbar_kws={"label": "Kappaleita"}, linewidths=0.5, ax=ax,
                yticklabels=[book[c] for c in heat.index])
    ax.tick_params(labelsize=10)
    ax.set(xlabel="", ylabel="", facecolor="0.85")
    ax.grid(False)
    for r, c in zip(*np.nonzero(mask)):
        ax.text(c + 0.5, r + 0.5, str(shown.iat[r, c]), ha="center", va="center", fontsize=9, color="0.3")
    ax.tick_params(axis="x", rotation=60)
    return plots.finish(fig, "Koodatut kappaleet teemoittain")


def qualitative_codes(rep: Report) -> Section:
    """Coded paragraphs per theme and stage, and the heat map by stage and informant group.

    Records ``laadullinen.<code>.<stage>`` (the theme tables' protected stage totals); glues ``coded_paragraphs``.
    """
    out = Section()
    qual = rep.load("qualitative")
    book = md.codebook(rep.cfg)
    out.glue = {"coded_paragraphs": int((qual["tags"].fillna("") != "").sum())}
    tables = _code_tables(rep)
    total = rep.dc.total_label
    for code in book:
        for stage in md.STAGE_LABELS:
            if code in tables and stage in tables[code][1].index:
                v = tables[code][1].at[stage, total]
                visible = isinstance(v, (int, np.integer))
            else:
                v, visible = 0, True
            rep.res.add(f"laadullinen.{code}.{stage}",
                        f"Koodattuja kappaleita: {book[code]} ({md.STAGE_LABELS[stage]})",
                        estimate=int(v) if visible else None, suppressed=not visible)
    if not tables:
        return out.text("Koodattua laadullista aineistoa ei ole tässä rajauksessa.")
    return out.figure(_heatmap(rep, tables, book),
                      "*Kuvio: koodattujen kappaleiden määrä teemoittain (rivit) aineiston vaiheen ja "
                      "informanttiryhmän mukaan (sarakkeet). Kirkkaat solut ovat yleisiä teemoja, tummat "
                      "harvinaisia; harmaat solut (<5 tai –) on peitetty tietosuojan vuoksi.*")


def qualitative_change(rep: Report) -> Section:
    """Share of each stage's coded paragraphs per theme, baseline vs final, and the change."""
    out = Section()
    book = md.codebook(rep.cfg)
    ch = ql.stage_change(rep.load("qualitative"), book)
    if not (ch["share_lahtotilanne"].notna().any() and ch["share_loppu"].notna().any()):
        return out.text("Lähtötilanteen ja loppuvaiheen vertailu on mahdollinen vasta, kun molempien vaiheiden "
                        "aineisto on koottu.")
    t = pd.DataFrame({"Lähtötilanne (%)": ch["share_lahtotilanne"].round(0).to_numpy(),
                      "Loppu (%)": ch["share_loppu"].round(0).to_numpy(),
                      "Muutos (%-yks.)": ch["change_pp"].round(0).to_numpy()}, index=[book[c] for c in ch.index])
    # a share of a stage's paragraphs is that stage's count of the theme (times a denominator a reader can find):
    # printed only where the theme table prints the count — 4 % of 176 paragraphs gave a total of 7 that the table
    # hid, and with it eight `<5` heat-map cells (unseen set seed 283)
    tables, total = _code_tables(rep), rep.dc.total_label

    def printed(code, stage):
        sh = tables[code][1] if code in tables else None
        return sh is not None and stage in sh.index and isinstance(sh.at[stage, total], (int, np.integer))

    hidden = {st: np.array([not printed(c, st) for c in ch.index]) for st in ("lahtotilanne", "loppu")}
    t = t.astype(object)
    t.loc[hidden["lahtotilanne"], "Lähtötilanne (%)"] = NOT_SHOWN
    t.loc[hidden["loppu"], "Loppu (%)"] = NOT_SHOWN
    small = hidden["lahtotilanne"] | hidden["loppu"]
    t.loc[small, "Muutos (%-yks.)"] = NOT_SHOWN
    for c in ch.index[small]:
        rep.dc.record("laadullinen.muutos", c, "secondary")
    return out.table(t, "*Taulukko: kuinka suuri osa kunkin vaiheen koodatuista kappaleista käsitteli teemaa "
                        "lähtötilanteessa ja lopussa; positiivinen muutos tarkoittaa, että teema nousi "
                        "loppuvaiheessa useammin esiin.*")


def quotes(rep: Report, max_quotes: int = 6) -> Section:
    """Approved, scrubbed quotes from cells of at least ``min_count`` documents, as Markdown block quotes."""
    out = Section()
    book = md.codebook(rep.cfg)
    # the group a quote is attributed to is everything its label shows (pilot, informant group, stage): that
    # group must hold at least min_quote_authors distinct documents (one writer each)
    min_docs = int((rep.cfg.section("disclosure", {}) or {}).get("min_quote_authors", rep.dc.min_count))
    by = ("informant", "stage") if rep.all_pilots else ("pilot", "informant", "stage")
    qs, supp = ql.approved_quotes(rep.load("qualitative"), min_docs=min_docs, max_quotes=max_quotes,
                                  seed=rep.cfg.seed, by=by)
    for s in supp:
        rep.dc.record("laadullinen.lainaukset", s["cell"], s["rule"])
    if not len(qs):
        return out.text("Tässä rajauksessa ei ole julkaistavia lainauksia.")
    out.data["quotes"] = qs
    for _, q in qs.iterrows():
        teema = ", ".join(book.get(c, c) for c in q["codes"].split()) or "ei teemaa"
        who = ", ".join(x for x in [q["informant"], rep.pilot_names.get(q["pilot"], q["pilot"]),
                                    md.STAGE_LABELS.get(q["stage"], q["stage"]).lower()] if x)
        out.text(f"> {q['text']}\n>\n> — {who} ({teema})")
    return out


# -- self-evaluation of the development work -------------------------------------------------------------

def event_feedback(rep: Report) -> Section:
    """Event feedback ratings (1–5) per half-year. Records ``palaute.mean``."""
    out = Section()
    fb = rep.load("feedback")
    n_fb = len(fb.dropna(subset=["rating"]))
    ok = rep.dc.stat_ok(n_fb, "palaute", "kaikki")
    rep.res.add("palaute.mean", "Tilaisuuksien palautteen keskiarvo (1–5)",
                estimate=pd.to_numeric(fb["rating"]).mean() if ok else None, n=n_fb, suppressed=not ok)
    per = sv.feedback_by_period(fb)
    per = per[[rep.dc.stat_ok(n, "palaute.kausi", p) for n, p in zip(per["n"], per["period"])]]
    if not len(per):
        # the decisions' own reason: a half-year of twelve ratings is hidden by the phase rule, not for want of data
        why = rep.dc.why("palaute.kausi")
        if why and "alle" not in why:
            return out.text(f"Tilaisuuksien palautetta ei näytetä kausittain tällä sivulla, {why}.")
        return out.text("Tilaisuuksien palautetta ei ole tässä rajauksessa riittävästi.")
    fig, ax = plt.subplots(figsize=(7, 3.5))
    sns.pointplot(data=per, x="period", y="mean", color=plots.PALETTE[0], ax=ax)
    ax.set(xlabel="Puolivuotiskausi", ylabel="Arvion keskiarvo (1–5)", ylim=(1, 5))
    plots.finish(fig, "Tilaisuuksien palaute ajan mittaan")
    return out.figure(fig, "*Kuvio: tilaisuuksista annetun palautteen keskiarvo puolivuotiskausittain (kaudet, "
                           "joilla on vähintään kymmenen arviota).*")


def self_evaluation(rep: Report) -> Section:
    """The pilots' goal self-evaluations (1–5) by period. Records ``itsearviointi.mean.last``; glues
    ``self_evaluation_last``."""
    out = Section()
    se = rep.load("self_evaluation")
    summ = sv.self_evaluation_summary(se)
    last = None
    if not len(summ):
        rep.res.add("itsearviointi.mean.last", "Tavoitteiden itsearviointi, viimeisin kausi (keskiarvo 1–5)",
                    suppressed=True)
        out.text("Tavoitteiden itsearviointeja ei ole vielä tässä rajauksessa.")
    else:
        last_period = sorted(summ["period"].unique())[-1]
        lp = se[se["period"] == last_period]
        n_last = len(lp.dropna(subset=["rating"]))
        # the project groups' own ratings, not personal data: printed in the table below whatever their number, so
        # the last period's mean is the same fact there, in results.csv and in the phase summary (a rule for
        # statistics on persons hid it in the summary while the table printed it)
        last = pd.to_numeric(lp["rating"]).mean()
        rep.res.add("itsearviointi.mean.last", f"Tavoitteiden itsearviointi, kausi {last_period} (keskiarvo 1–5)",
                    estimate=last, n=n_last)
        tab = summ.assign(val=summ["mean"].map(lambda m: num(m, 1))) \
            .pivot(index="pilot", columns="period", values="val")
        tab.index = [rep.pilot_names.get(p, p) for p in tab.index]
        out.table(tab.fillna(""), "*Taulukko: pilottien tavoitteiden itsearvioinnin keskiarvo (1–5) kausittain. "
                                  "Luvut ovat projektiryhmien omia arvioita, eivät henkilötietoja, joten niitä "
                                  "ei peitetä.*")
    out.glue = {"self_evaluation_last": num(last, 1, missing=NOT_AVAILABLE)}
    return out


def closing_text(rep: Report) -> str:
    """How many numbers the chapter published and how many cells disclosure control left out."""
    return (f"Tässä luvussa julkaistiin {int((~rep.res.frame()['suppressed']).sum())} tunnuslukua; "
            f"{len(rep.dc.frame())} solua tai lukua jätettiin tietosuojan vuoksi pois.")


# -- the conditions for implementation (plan ch. 2 and 6: "Millä edellytyksillä …") ----------------------------

CONDITIONS_QUESTION = ("Millä edellytyksillä HB-toimintamalli on Suomessa toteutettavissa ja otettavissa käyttöön "
                       "osana sote-valinnanvapauslainsäädäntöä?")
# qualitative codes that name a condition (what promotes, hinders, what should be developed) and the actors whose
# part the plan asks about (assistants, relatives, partnerships)
CONDITION_CODES = ["edistaa", "estaa", "kehittaminen", "avustaja", "laheiset", "kumppanuus"]
# baseline survey question 3 (LIITE 2.1): "Mitä toimenpiteitä tämä edellyttää?" — one open answer per area
BASELINE_Q3_AREAS = {"o3_palvelut": "Palveluilta", "o3_asiakastiedottaminen": "Asiakastiedottamiselta",
                     "o3_asiakkaan_tuki_ja_ohjaus": "Asiakkaan tuelta ja ohjaukselta",
                     "o3_henkilosto": "Henkilöstöltä", "o3_asiakasprosessit": "Asiakasprosesseilta",
                     "o3_asiakastietojarjestelmat": "Asiakastietojärjestelmiltä",
                     "o3_hallinnolliset_jarjestelmat": "Hallinnollisilta järjestelmiltä",
                     "o3_sosiaaliturvajarjestelma": "Sosiaaliturvajärjestelmältä"}
ASSISTANT_CONDITION_ITEMS = ["rekrytointi", "valmennus", "kehittaminen", "ehdotukset"]


def _all_shown(shown: pd.DataFrame) -> bool:
    return all(isinstance(v, (int, np.integer)) for v in shown.to_numpy().ravel())


def _hidden_share(shown: pd.DataFrame, rep: Report) -> float:
    """Share of a rendered table's cells that are not shown (``<5`` or ``–``)."""
    cells = shown.to_numpy().ravel()
    return float(np.mean([v in (rep.dc.suppressed_mark, NOT_SHOWN) for v in cells])) if len(cells) else 0.0


def _protected_count_rows(rep: Report, shown: pd.DataFrame, table: pd.DataFrame, key: str, label: str) -> None:
    """One results row per cell of a protected count table: the value only where the table shows it."""
    for r in table.index:
        for c in table.columns:
            v = shown.at[r, c]
            visible = isinstance(v, (int, np.integer))
            rep.res.add(f"{key}.{r}.{c}", f"{label}: {r} ({md.STAGE_LABELS.get(c, 'kaikki vaiheet')})",
                        estimate=int(v) if visible else None,
                        suppressed=not visible)


def conditions_qualitative(rep: Report) -> Section:
    """Workshops and diaries: coded paragraphs on what promotes and hinders client-led services, development
    proposals and the actors (assistants, relatives, partnerships), by stage on the all-pilots page and pooled over
    the stages on a pilot's page. Records ``edellytykset.laadullinen.<code>.<column>``."""
    out = Section()
    qual = rep.load("qualitative")
    book = md.codebook(rep.cfg)
    codes = [c for c in CONDITION_CODES if c in book]
    ex = ql.explode_codes(qual, codes)
    n_docs = int(qual["doc_id"].nunique()) if len(qual) else 0
    if not len(ex):
        return out.text("Työpajoista ja päiväkirjoista ei ole tässä rajauksessa edellytyksiin koodattua aineistoa.")
    # the theme tables' entries (their stage totals and corner), not a table of its own: one number, one decision
    # — and the protection sees the stage totals with the heat map's cells they add up (see _code_tables)
    tables = _code_tables(rep)
    total = rep.dc.total_label
    cols = [s for s in md.STAGE_LABELS if s in set(ex["stage"])]
    tab = pd.DataFrame([[int(tables[c][0].loc[s].sum()) if s in tables[c][0].index else 0 for s in cols]
                        for c in codes], index=codes, columns=cols).astype(int)
    stage_totals = [[tables[c][1].at[s, total] if s in tables[c][1].index else 0 for s in cols] for c in codes]
    shown = pd.DataFrame([row + [_all_stages(row)] for row in stage_totals], index=codes,
                         columns=cols + ["kaikki"], dtype=object)
    tab = tab.assign(kaikki=tab.sum(axis=1))
    _protected_count_rows(rep, shown, tab, "edellytykset.laadullinen", "Edellytyksiin koodatut kappaleet")
    out.data["qualitative"] = shown
    shown = shown.copy()
    shown.index = [book[c] for c in tab.index]
    shown.columns = [md.STAGE_LABELS.get(c, "Kaikki vaiheet") for c in tab.columns]
    docs = counted(rep.count(n_docs, 'edellytykset', 'asiakirjat'), "asiakirjaa", "asiakirjoja")
    # no parenthesis inside a parenthesis: a hidden count is left out of the caption
    docs = "" if docs.endswith("(lukumäärää ei näytetä)") else f" ({docs})"
    out.table(shown, f"*Taulukko: työpajojen ja päiväkirjojen{docs} kappaleet, jotka tutkijat koodasivat asiakaslähtöistä palvelua edistäviksi tai "
                     "estäviksi, kehittämisehdotuksiksi tai HB-avustajien, läheisten ja kumppanuuksien rooliksi. "
                     "Kappale voi kuulua useaan teemaan.*")
    return out


def conditions_staff(rep: Report) -> Section:
    """The staff's and management's answers to the baseline survey's question 3 ("Mitä toimenpiteitä tämä
    edellyttää?"): how many named measures per area, and the themes of the measures (keyword codebook
    ``theme_codebooks.edellytykset_toimenpiteet``). Records ``edellytykset.lahtokysely.<area>`` and
    ``edellytykset.toimenpiteet.<theme>``."""
    out = Section()
    lk = rep.load("lahtokysely")
    areas = [c for c in BASELINE_Q3_AREAS if c in lk.columns]
    n_resp = len(lk)
    if not areas or not rep.dc.stat_ok(n_resp, "edellytykset.lahtokysely", "vastaajat"):
        return out.text("Lähtökyselyn vastauksia siihen, mitä HB:n käyttöönotto edellyttää, on tässä rajauksessa "
                        "alle kymmenen, joten niistä ei julkaista lukuja.")
    answered = pd.DataFrame({"Vastaajia": [int(lk[c].fillna("").astype(str).str.strip().ne("").sum())
                                           for c in areas]}, index=areas)
    shown = rep.dc.counts(answered, "edellytykset.lahtokysely")
    for a in areas:
        v = shown.at[a, "Vastaajia"]
        visible = isinstance(v, (int, np.integer))
        rep.res.add(f"edellytykset.lahtokysely.{a}", f"Lähtökysely 3: toimenpiteen nimenneet vastaajat, "
                    f"{BASELINE_Q3_AREAS[a].lower()}", estimate=int(v) if visible else None, n=n_resp,
                    suppressed=not visible)
    shown.index = [BASELINE_Q3_AREAS[a] for a in areas]
    out.table(shown, "*Taulukko: kuinka moni lähtökyselyn vastaajista (projekti- ja johtoryhmät) nimesi "
                     "toimenpiteitä, joita HB:n käyttöönotto kultakin osa-alueelta edellyttää (kysymys 3).*")
    answers = pd.concat([lk[c] for c in areas], ignore_index=True)
    tc = sv.theme_counts(answers, _books(rep).get("edellytykset_toimenpiteet", []))
    n_ans = tc.attrs["n_answers"]
    if not rep.dc.stat_ok(n_ans, "edellytykset.toimenpiteet", "vastaukset"):
        return out
    th = rep.dc.counts(tc[["n"]].rename(columns={"n": "Mainintoja"}), "edellytykset.toimenpiteet")
    for key, r in tc.iterrows():
        v = th.at[key, "Mainintoja"]
        visible = isinstance(v, (int, np.integer))
        rep.res.add(f"edellytykset.toimenpiteet.{key}", f"Lähtökysely 3: toimenpiteet, {r['label']} (mainintoja)",
                    estimate=int(v) if visible else None, n=n_ans, suppressed=not visible)
    th.index = tc["label"]
    return out.table(th, "*Taulukko: lähtökyselyn kysymyksen 3 vastausten teemat kaikilta osa-alueilta "
                         "(avainsanaluokittelu; vastaus voi kuulua useaan teemaan).*")


def conditions_assistants(rep: Report) -> Section:
    """The HB assistants' answers on recruitment, training, development and their proposals, by theme (codebook
    ``theme_codebooks.avustaja_edellytykset``). Records ``edellytykset.avustajat.<theme>``."""
    out = Section()
    ak = rep.load("avustajakysely")
    items = [c for c in ASSISTANT_CONDITION_ITEMS if c in ak.columns]
    n_resp = len(ak)
    if not items or not rep.dc.stat_ok(n_resp, "edellytykset.avustajat", "vastaajat"):
        return out.text("HB-avustajien kyselyyn on tässä rajauksessa vastannut alle kymmenen avustajaa, joten "
                        "heidän näkemyksistään edellytyksiin ei julkaista lukuja; avustajien kokemukset on koottu "
                        "koko hankkeen sivulle.")
    book = _books(rep).get("avustaja_edellytykset", [])
    m = sv.theme_matrix(ak[items].fillna("").astype(str).agg(" ".join, axis=1), book)
    labels = {th["key"]: th.get("label", th["key"]) for th in book}
    counts = m.sum().astype(int).drop(sv.OTHER_THEME, errors="ignore").to_frame("Avustajia")
    th = rep.dc.counts(counts, "edellytykset.avustajat")
    for key in counts.index:
        v = th.at[key, "Avustajia"]
        visible = isinstance(v, (int, np.integer))
        rep.res.add(f"edellytykset.avustajat.{key}", f"HB-avustajat: {labels.get(key, key)} (vastaajia)",
                    estimate=int(v) if visible else None, n=n_resp, suppressed=not visible)
    th.index = [labels.get(k, k) for k in counts.index]
    return out.table(th, f"*Taulukko: kuinka moni HB-avustajakyselyn vastaajista "
                         f"({counted(rep.count(n_resp, 'edellytykset.avustajat', 'vastaajat'), 'vastaajaa', 'vastaajia', True)}) toi esiin kunkin "
                         "edellytyksen vastatessaan rekrytointia, valmennusta, kehittämiseen osallistumista ja "
                         "kehittämisehdotuksia koskeviin kysymyksiin (avainsanaluokittelu).*")


def conditions_self_evaluation(rep: Report) -> Section:
    """The pilots' own view: the goals' self-evaluation (1–5) over the last year of the page's phase, per goal.
    Records ``edellytykset.itsearviointi.<goal>``."""
    out = Section()
    se = rep.load("self_evaluation")
    se = se.assign(rating=pd.to_numeric(se["rating"], errors="coerce")).dropna(subset=["rating"])
    if not len(se):
        return out.text("Tavoitteiden itsearviointeja ei ole vielä tässä rajauksessa.")
    last = sorted(se["period"].unique())[-2:]
    lp = se[se["period"].isin(last)]
    rows = []
    for goal, g in lp.groupby("goal", sort=True):
        ok = rep.dc.stat_ok(len(g), "edellytykset.itsearviointi", goal)
        slug = "_".join(md.normalise_tag(goal).split())
        rep.res.add(f"edellytykset.itsearviointi.{slug}", f"Itsearviointi {', '.join(last)}: {goal} (1–5)",
                    estimate=g["rating"].mean() if ok else None, n=len(g), suppressed=not ok)
        # the number of ratings is the project groups', not persons': printed as it is (the section on development
        # work says these are not hidden; a hidden "Arvioita" column beside it read as a contradiction, seed 347)
        rows.append({"Tavoite": goal, "Keskiarvo (1–5)": num(g["rating"].mean(), 1) if ok else NOT_SHOWN,
                     "Arvioita": len(g)})
    tab = pd.DataFrame(rows).set_index("Tavoite")
    if (tab["Keskiarvo (1–5)"] == NOT_SHOWN).all():
        # (the ratings are the project groups', not personal data: the reason is a mean of so few ratings, and
        # the section on development work prints the pilot's mean over all goals per period)
        return out.text(f"Pilotin omien tavoitteiden itsearvioita on kausilta {' ja '.join(last)} kullekin "
                        "tavoitteelle alle kymmenen; niin harvan arvion keskiarvo ei ole tavoitteittain "
                        "vertailukelpoinen, joten tavoitekohtaisia keskiarvoja ei esitetä. Pilotin kaikkien "
                        "tavoitteiden arviot kausittain ovat jaksossa *Kehittämistyön itsearviointi*.")
    return out.table(tab, f"*Taulukko: pilottien projektiryhmien arvio tavoitteiden saavuttamisesta kausilla "
                          f"{' ja '.join(last)} (1 = ei lainkaan, 5 = täysin); tavoite, jota on arvioitu alle "
                          "kymmenen kertaa, jätetään pois.*")


def _provider_finding(rep: Report, glue: dict) -> str:
    """The process finding on new providers, from what the provider-mix section published: each figure only when
    shown (a hidden one is never printed as "ei saatavilla" inside the sentence), else the reason it is hidden."""
    share, ctrl = glue.get("nonpublic_share_hb", NOT_AVAILABLE), glue.get("nonpublic_share_verrokki", NOT_AVAILABLE)
    types = glue.get("provider_types_hb", NOT_AVAILABLE)
    said = []
    if share != NOT_AVAILABLE:
        said.append(f"HB-asiakkaiden palvelujen euroista {share} tuli muilta kuin julkisilta tuottajilta"
                     + (f" (verrokeilla {ctrl})" if ctrl != NOT_AVAILABLE else ""))
    if types != NOT_AVAILABLE:
        said.append(f"HB-asiakas käytti keskimäärin {types} tuottajatyyppiä")
    # (no pointer to the provider-mix section: on a small pilot's page it shows neither figure — a reader followed
    # "ks. jakso …" to a section saying the distribution is not published, unseen set seed 197)
    where = "."
    if not said:
        why = rep.dc.why("palvelut.ei_julkinen_osuus", "hb") or rep.dc.why("palvelut.tuottajatyypit", "hb") \
            or "koska tietoja ei ole riittävästi"
        return ("HB-asiakkaiden palvelujen tuottajista ei tässä rajauksessa julkaista lukuja, " + why
                + "; uusien tuottajien mukaantulo on silti yksi mallin edellytyksistä ja tuloksista" + where)
    return ", ja ".join(said) + ": uusien tuottajien mukaantulo on yksi mallin edellytyksistä ja tuloksista" + where


def implementation_conditions(rep: Report, mix: Section | None = None) -> Section:
    """The section answering the plan's third main question (ch. 2 and 6): the conditions under which the HB model
    can be implemented — the evidence of workshops and diaries, the staff's and assistants' answers, the pilots'
    self-evaluations and the process findings, every number through the disclosure API. The legislative
    conclusions are the researchers' (slot ``edellytykset.lainsaadanto``, shown by the notebook)."""
    out = Section()
    out.text("Arviointisuunnitelman kolmas pääkysymys (luvut 2 ja 6) on, millä edellytyksillä HB-toimintamalli on "
             "toteutettavissa ja otettavissa vakiintuneesti käyttöön. Vastaus kootaan loppuraportissa "
             "suunnitelman toimivuuden näkökulmista: asiakas ja asiakasprosessi, henkilöstö ja työprosessi, "
             "palvelujärjestelmän ohjaus ja johtaminen sekä lainsäädäntö. Alla on näyttö, jonka varaan "
             "arvioijien päätelmät rakentuvat; lainsäädäntöä koskevat päätelmät ovat arvioijien omaa tekstiä.")
    if mix is not None and mix.glue:
        out.text(f"**Palveluprosessin havainnot.** {_provider_finding(rep, mix.glue)}")
    out.text("**Työpajat ja päiväkirjat.**")
    for part in (conditions_qualitative(rep), ):
        out.blocks += part.blocks
        out.data.update(part.data)
    out.text("**Henkilöstö ja johto (lähtökysely).**")
    out.blocks += conditions_staff(rep).blocks
    out.text("**HB-avustajat.**")
    out.blocks += conditions_assistants(rep).blocks
    out.text("**Pilottien itsearviointi.**")
    out.blocks += conditions_self_evaluation(rep).blocks
    return out


# -- instruments beyond the data contract (issue 21): awareness, relatives, Kompassi ------------------------------

AWARENESS_GROUPS = ["asiakas", "henkilöstö", "johto", "tilaisuuden osallistuja", "muu"]
AWARENESS_GROUP_LABELS = {"asiakas": "Sote-palvelujen asiakkaat", "henkilöstö": "Henkilöstö", "johto": "Johto",
                          "tilaisuuden osallistuja": "Tilaisuuksien osallistujat", "muu": "Muut"}


def _visible(v) -> bool:
    return isinstance(v, (int, np.integer))


def awareness(rep: Report) -> Section:
    """Awareness of HB (plan ch. 4): the web survey (who knows HB, by respondent group), the events' awareness item
    and the media-monitoring hits by year. Records ``tietoisuus.kysely.<group>.share``, ``tietoisuus.kysely.kaikki
    .share``, ``tietoisuus.tilaisuudet.mean`` and ``tietoisuus.media.<paikallinen|valtakunnallinen>.<year>``.

    Every count table has the same rows and columns on every page (the all-pilots page is the sum of the pilots,
    the phases cumulative), so that the release protects their relations; the national respondents and media (no
    pilot) are tables of their own on the all-pilots page."""
    out = Section()
    aw = rep.load("awareness_survey")
    if len(aw):
        aw = aw.assign(knows=aw["knows_hb"].astype(bool))
        # the pilots' respondents: the same table on every page (the all-pilots page is the pilots' sum); the
        # national respondents (no pilot) in a table of their own on the all-pilots page
        national = aw[aw["pilot"].isna() | (aw["pilot"].astype(str).str.strip().isin(["", "None", "nan"]))]
        if rep.all_pilots and len(national):
            tabn = (national.groupby("respondent_group")["knows"].agg(tuntee="sum", ei="size")
                    .reindex([g for g in AWARENESS_GROUPS if g in set(national["respondent_group"])]).astype(int))
            tabn["ei"] = tabn["ei"] - tabn["tuntee"]
            nat = rep.dc.counts(tabn, "tietoisuus.kysely.valtakunnallinen", margins="col")
            nat.index = [AWARENESS_GROUP_LABELS.get(g, g) for g in nat.index]
            nat.columns = ["Tuntee HB:n", "Ei tunne", "Vastaajia"]
            out.table(nat, "*Taulukko: HB-tietoisuuden nettikyselyn valtakunnalliset vastaajat (ei pilottia), "
                           "jotka kertoivat tietävänsä, mitä henkilökohtainen budjetointi tarkoittaa.*")
        aw = aw.drop(index=national.index)
        tab = (aw.groupby("respondent_group")["knows"].agg(tuntee="sum", ei="size")
               .reindex([g for g in AWARENESS_GROUPS if g in set(aw["respondent_group"])]).astype(int))
        tab["ei"] = tab["ei"] - tab["tuntee"]
        shown = rep.dc.counts(tab, "tietoisuus.kysely", margins=True)
        rows = []
        for g in [*tab.index, rep.dc.total_label]:
            k, e, n = (shown.at[g, "tuntee"], shown.at[g, "ei"], shown.at[g, rep.dc.total_label])
            # a share of a group is its counts: shown only where the protected counts are
            ok = all(_visible(v) for v in (k, e, n)) and int(n) >= rep.dc.min_n_stat
            share = int(k) / int(n) if ok and int(n) else None
            key = "kaikki" if g == rep.dc.total_label else md.normalise_tag(g).replace(" ", "_")
            rep.res.add(f"tietoisuus.kysely.{key}.share",
                        f"Tietoisuuskysely: tuntee HB:n, {AWARENESS_GROUP_LABELS.get(g, 'kaikki vastaajat').lower()}",
                        estimate=share, n=int(tab.loc[g].sum()) if g in tab.index else int(tab.to_numpy().sum()),
                        suppressed=share is None)
            rows.append({"Vastaajaryhmä": AWARENESS_GROUP_LABELS.get(g, g), "Tuntee HB:n": k, "Ei tunne": e,
                         "Vastaajia": n, "Tuntee (%)": pct(share) if share is not None else NOT_SHOWN})
        out.table(pd.DataFrame(rows).set_index("Vastaajaryhmä"),
                  "*Taulukko: HB-tietoisuuden nettikyselyn (kevät 2019) vastaajat, jotka kertoivat tietävänsä, mitä "
                  "henkilökohtainen budjetointi tarkoittaa, vastaajaryhmittäin (pilottien alueiden vastaajat). "
                  "Nettikyselyn vastaajat eivät ole "
                  "satunnaisotos, joten osuudet kuvaavat vastanneita.*")
    else:
        out.text("HB-tietoisuuden nettikyselyn vastauksia ei ole tässä rajauksessa.")
    fb = rep.load("feedback")
    vals = pd.to_numeric(fb["awareness"], errors="coerce").dropna() if "awareness" in fb.columns else pd.Series()
    ok = rep.dc.stat_ok(len(vals), "tietoisuus.tilaisuudet", "kaikki")
    rep.res.add("tietoisuus.tilaisuudet.mean", "Tilaisuus lisäsi tietoa HB:stä (keskiarvo 1–5)",
                estimate=vals.mean() if ok else None, n=len(vals), suppressed=not ok)
    if ok:
        n_said = counted(rep.count(len(vals), 'tietoisuus.tilaisuudet.n', 'kaikki'), 'arviota', 'arvioita')
        # a hidden count is left out: no parenthesis inside a parenthesis
        n_said = "" if n_said.endswith("(lukumäärää ei näytetä)") else f"; {n_said}"
        out.text(f"Tilaisuuksien palautekyselyssä osallistujat arvioivat, että tilaisuus lisäsi heidän tietoaan "
                 f"henkilökohtaisesta budjetoinnista keskimäärin {num(vals.mean(), 1)} (asteikko 1–5{n_said}).")
    else:
        out.text("Tilaisuuksien palautekyselyn tietoisuutta koskevia arvioita on tässä rajauksessa alle kymmenen.")
    media = rep.load("media_monitoring")
    if not len(media):
        return out.text("Mediaseurantatilastoja ei ole tässä rajauksessa.")
    media = media.assign(year=media["month"].dt.year.astype(str))
    national = media["pilot"].isna() | media["pilot"].astype(str).str.strip().isin(["", "None", "nan"])
    years = sorted(media["year"].unique())

    def by_year(part: pd.DataFrame, name: str) -> pd.DataFrame:
        # years as rows, one column: the same layout on every page (the all-pilots page is the pilots' sum)
        tab = part.groupby("year")["hits"].sum().reindex(years, fill_value=0).astype(int).to_frame("osumat")
        return tab, rep.dc.counts(tab, name)

    parts = [("paikallinen", media[~national], "tietoisuus.media", "Pilottien paikallinen media")]
    if rep.all_pilots:
        parts.append(("valtakunnallinen", media[national], "tietoisuus.media.valtakunnallinen",
                      "Valtakunnallinen media"))
    cols = {}
    for key, part, name, label in parts:
        tab, shown = by_year(part, name)
        for y in tab.index:
            v = shown.at[y, "osumat"]
            rep.res.add(f"tietoisuus.media.{key}.{y}", f"Mediaosumat vuonna {y}: {label.lower()}",
                        estimate=int(v) if _visible(v) else None, suppressed=not _visible(v))
        cols[label] = shown["osumat"]
    t = pd.DataFrame(cols)
    t.index.name = "Vuosi"
    return out.table(t, "*Taulukko: HB:tä tai hanketta käsitelleet jutut ja julkaisut vuosittain "
                        "(mediaseurantatilastot; viimeinen vuosi raportin aineiston rajaukseen asti)"
                        + ("" if rep.all_pilots else "; pilotin paikallinen media") + ".*")


MEDIA_ORDER = ["sanomalehti", "verkkomedia", "radio ja tv", "ammattilehti", "sosiaalinen media", "muu"]
MEDIA_LABELS = {"sanomalehti": "Sanomalehdet", "verkkomedia": "Verkkomedia", "radio ja tv": "Radio ja tv",
                "ammattilehti": "Ammattilehdet", "sosiaalinen media": "Sosiaalinen media", "muu": "Muu"}
RELATIONSHIP_LABELS = {"omainen": "Omainen", "ystävä": "Ystävä", "naapuri": "Naapuri", "vertainen": "Vertainen",
                       "muu": "Muu"}


def relatives(rep: Report) -> Section:
    """The support network's time (plan §7.1; sampled form): relatives by relationship, and hours per reported
    month by group. Records ``laheiset.hours_per_month.<arm>`` (median) and ``laheiset.n.<arm>``. Valuing the
    time in euros is the cost strand's (its payer tables), not done here."""
    out = Section()
    rel = rep.load("laheiskulut")
    if not len(rel):
        return out.text("Läheisten ajankäyttölomakkeita ei ole tässä rajauksessa.")
    per = rel.assign(month=rel["date"].dt.strftime("%Y-%m")).groupby(["relative_id", "arm"]).agg(
        minutes=("minutes", "sum"), months=("month", "nunique"), relationship=("relationship", "first")).reset_index()
    per["hours_per_month"] = per["minutes"].astype(float) / 60 / per["months"]
    if rep.all_pilots:
        counts = per.groupby(["relationship", "arm"]).size().unstack(fill_value=0) \
            .reindex(columns=["hb", "verrokki"], fill_value=0).astype(int)
        counts = counts.reindex([r for r in RELATIONSHIP_LABELS if r in counts.index])
        shown = rep.dc.counts(counts, "laheiset.suhde", margins=True)
        shown.index = [RELATIONSHIP_LABELS.get(r, r) for r in shown.index]
        shown.columns = [plots.ARM_LABELS.get(c, c) for c in shown.columns]
        out.table(shown, "*Taulukko: ajankäyttölomakkeen täyttäneet läheiset suhteen ja asiakkaan ryhmän mukaan "
                         "(otos: lomakkeen täyttivät vain osa läheisistä).*")
    else:   # a pilot's sample is a handful: its size only (relationships on the all-pilots page)
        out.text(f"Pilotissa ajankäyttölomakkeen täytti {counted(rep.count(len(per), 'laheiset.n', 'kaikki'), 'läheistä', 'läheisiä')}; "
                 "läheisten suhde asiakkaaseen on koko hankkeen sivulla.")
    rows = []
    for arm in ["hb", "verrokki"]:
        v = per.loc[per["arm"] == arm, "hours_per_month"]
        ok = rep.dc.stat_ok(len(v), "laheiset.aika", arm)
        rep.res.add(f"laheiset.hours_per_month.{arm}", f"Läheisen aika asiakkaan tukena kuukaudessa, mediaani (h): "
                    f"{plots.ARM_LABELS[arm]}", estimate=v.median() if ok else None, n=len(v), suppressed=not ok)
        rows.append({"Ryhmä": plots.ARM_LABELS[arm], "Mediaani (h/kk)": num(v.median(), 1) if ok else NOT_SHOWN,
                     "Kvartiiliväli": f"{num(v.quantile(.25), 1)}–{num(v.quantile(.75), 1)}" if ok else NOT_SHOWN})
    t = pd.DataFrame(rows).set_index("Ryhmä")
    if (t["Mediaani (h/kk)"] == NOT_SHOWN).all():
        return out.text("Läheisten ajankäytön tunnuslukuja ei julkaista, koska kummassakin ryhmässä lomakkeen "
                        "täyttäneitä läheisiä on alle kymmenen.")
    return out.table(t, "*Taulukko: läheisen asiakkaan tukemiseen käyttämä aika tuntia kuukaudessa (kuukaudet, "
                        "joilta lomakkeella on merkintöjä); ryhmä, jossa on alle kymmenen läheistä, jätetään pois. "
                        "Vertailu on kuvaileva: lomakkeen täyttäneet läheiset ovat otos.*")


def kompassi(rep: Report) -> Section:
    """Kompassi (Hämeenlinna): the change of each area from the start to the end among clients with both, by group
    when both groups are large enough, else for all clients together (never one group beside the total, which would
    reveal the other). Descriptive — Kompassi is not the wellbeing strand's outcome (mapping: data/README.md).
    Records ``kompassi.<area>.change.<hb|verrokki|kaikki>``."""
    from hbeval_lib.intake.instruments.specs import KOMPASSI_AREAS

    out = Section()
    k = rep.load("kompassi")
    if not len(k):
        return out.text("Kompassi-arviointeja ei ole tässä rajauksessa (Kompassia käytettiin Hämeenlinnassa).")
    first = k[k["occasion"] == "alku"].drop_duplicates("client_id").set_index("client_id")
    last = k[k["occasion"] == "loppu"].drop_duplicates("client_id", keep="last").set_index("client_id")
    both = first.index.intersection(last.index)
    arms = first.loc[both, "arm"]
    n_arm = {a: int((arms == a).sum()) for a in ["hb", "verrokki"]}
    by_arm = all(rep.dc.stat_ok(n_arm[a], "kompassi.muutos", a) for a in n_arm)
    cols = ["hb", "verrokki"] if by_arm else ["kaikki"]
    if not by_arm and not rep.dc.stat_ok(len(both), "kompassi.muutos", "kaikki"):
        return out.text("Kompassin alku- ja loppuarvio on tässä rajauksessa alle kymmenellä asiakkaalla, joten "
                        "muutoksia ei julkaista.")
    rows = []
    for area, label in KOMPASSI_AREAS.items():
        ch = (last.loc[both, area] - first.loc[both, area]).astype(float)
        row = {"Alue": label}
        for c in cols:
            v = (ch if c == "kaikki" else ch[arms == c]).dropna()
            ok = rep.dc.stat_ok(len(v), f"kompassi.{area}", c)
            rep.res.add(f"kompassi.{area}.change.{c}", f"Kompassi {label.lower()}: muutos alusta loppuun "
                        f"({plots.ARM_LABELS.get(c, 'kaikki asiakkaat').lower()})",
                        estimate=v.mean() if ok else None, n=len(v), suppressed=not ok)
            row[plots.ARM_LABELS.get(c, "Kaikki asiakkaat")] = num(v.mean(), 1) if ok else NOT_SHOWN
        rows.append(row)
    who = "ryhmittäin" if by_arm else "kaikista asiakkaista yhdessä (ryhmissä on alle kymmenen asiakasta)"
    n_text = (f"{counted(rep.count(n_arm['hb'], 'kompassi.n', 'hb'), 'HB-asiakasta', 'HB-asiakkaita')} ja "
              f"{counted(rep.count(n_arm['verrokki'], 'kompassi.n', 'verrokki'), 'verrokkiasiakasta', 'verrokkiasiakkaita')}"
              if by_arm else counted(rep.count(len(both), 'kompassi.n', 'kaikki'), 'asiakasta', 'asiakkaita'))
    return out.table(pd.DataFrame(rows).set_index("Alue"),
                     f"*Taulukko: Kompassin alueiden keskimääräinen muutos alku- ja loppuarvion välillä (asteikko "
                     f"1–10; positiivinen = tilanne parani), {who}; {n_text}, joilla on molemmat arviot. Muutos on "
                     "kuvaileva eikä kerro HB:n vaikutuksesta; Kompassin vastaavuus Kykyviisariin on kuvattu "
                     "aineiston kuvauksessa.*")


# -- what the budgets bought and how they were paid (plan ch. 6 and 7: "Mitä palvelut ja tuki ovat", "Mitkä
#    voimavarat sisältyvät HB-budjettiin?") ----------------------------------------------------------------------

PAYMENT_METHODS = {"maksusitoumus": "Maksusitoumus", "palveluseteli": "Palveluseteli",
                   "taloudellinen tuki": "Taloudellinen tuki", "maksukortti": "Maksukortti"}


def _category_table(rep: Report, use: pd.DataFrame, by: str, labels: dict, table: str, key: str,
                    what: str) -> pd.DataFrame:
    """HB clients per category (a protected count) and the category's share of budget euros (shown when the
    category's euros pass the magnitude rules; as the shares add up to 100 %, one hidden share hides the next
    smallest too). Records ``<key>.<category>.share``."""
    per_client = use.groupby([by, "client_id"], observed=True)["amount_eur"].sum()
    total = float(use["amount_eur"].sum())
    cats = [c for c in labels if c in set(use[by])]
    clients = pd.DataFrame({"Asiakkaita": [int(per_client.loc[c].gt(0).sum()) for c in cats]}, index=cats)
    shown = rep.dc.counts(clients, f"{table}.asiakkaat")
    ok = {c: rep.dc.magnitude_ok(per_client.loc[c], f"{table}.eurot", c) for c in cats}
    hidden = [c for c in cats if not ok[c]]
    if len(hidden) == 1:
        rest = sorted((c for c in cats if ok[c]), key=lambda c: (float(per_client.loc[c].sum()), c))
        if rest:
            ok[rest[0]] = False
            rep.dc.hide_too(f"{table}.eurot", rest[0])
    shares = {c: float(per_client.loc[c].sum()) / total if total else None for c in cats}
    for c in cats:
        rep.res.add(f"{key}.{md.normalise_tag(c).replace(' ', '_')}.share", f"{what}: {labels[c]} (osuus euroista)",
                    estimate=shares[c] if ok[c] else None, n=int(per_client.loc[c].gt(0).sum()), suppressed=not ok[c])
    out = shown.copy()
    out["Osuus euroista"] = [pct(shares[c]) if ok[c] else NOT_SHOWN for c in cats]
    out.index = [labels[c] for c in cats]
    return out


def budget_purchases(rep: Report) -> Section:
    """What the HB budgets bought (item texts grouped by the keyword codebook ``theme_codebooks.hankinnat``) and how
    they were paid (Maksutapa). Records ``palvelut.hankinnat.<category>.share`` and ``palvelut.maksutapa.<method>
    .share``."""
    out = Section()
    use = rep.load("budget_use")
    use = use[pd.to_numeric(use["amount_eur"], errors="coerce") > 0]
    if not rep.dc.stat_ok(int(use["client_id"].nunique()), "budjetti.hankinnat", "asiakkaat"):
        return out.text("HB-budjettien käytöstä on tässä rajauksessa tietoja alle kymmeneltä asiakkaalta, joten "
                        "hankintoja ja maksutapoja ei eritellä.")
    book = _books(rep).get("hankinnat", [])
    m = sv.theme_matrix(use["item"].fillna(""), book)
    # one category per purchase: the first matching theme of the codebook (else "muu")
    first = m.drop(columns=sv.OTHER_THEME).idxmax(axis=1).where(m.drop(columns=sv.OTHER_THEME).any(axis=1),
                                                                 sv.OTHER_THEME)
    labels = {th["key"]: th.get("label", th["key"]) for th in book}
    labels[sv.OTHER_THEME] = "Muut hankinnat"
    cat = use.assign(category=first.to_numpy())
    out.table(_category_table(rep, cat, "category", labels, "budjetti.hankinnat", "palvelut.hankinnat",
                              "HB-budjetin hankinnat"),
              "*Taulukko: mihin HB-budjetteja käytettiin: hankintaluokan asiakkaat ja osuus budjettien euroista "
              "(luokittelu maksusitoumusten palvelu- tai hankintatekstistä avainsanoilla).*")
    methods = use.dropna(subset=["payment_method"])
    if len(methods):
        out.table(_category_table(rep, methods, "payment_method", PAYMENT_METHODS, "budjetti.maksutapa",
                                  "palvelut.maksutapa", "HB-budjetin maksutapa"),
                  "*Taulukko: miten HB-budjetin käyttö maksettiin: maksutapaa käyttäneet asiakkaat ja maksutavan "
                  "osuus budjettien euroista (maksutavat, jotka on kirjattu).*")
    return out


# -- a pilot's own goals (e.g. the Hämeenlinna plan) ---------------------------------------------------------------

FAMILY_LABELS = {"a": "Isä, äiti ja lapset", "b": "Isä ja lapset", "c": "Äiti ja lapset", "d": "Uusperhe",
                 "e": "Yhden hengen perhe"}


def pilot_goals(rep: Report) -> Section:
    """The pilot's own goals (configuration ``pilot_goals.<pilot>``, from the pilot's plan) with the evidence this
    page published for each (results keys of this page, already protected), and — for a goal of diverse families
    (``families: true``) — the clients by family structure (LIITE 1.1 question 1.4) as a protected count table.
    The verdict is the researchers' (slot ``tavoitteet``)."""
    out = Section()
    goals = (rep.cfg.section("pilot_goals", {}) or {}).get(rep.pilot, [])
    if rep.all_pilots:
        return out.text("Pilottien omat tavoitteet (pilottisuunnitelmista) ja niitä koskeva näyttö ovat pilottien "
                        "sivuilla.")
    if not goals:
        return out.text("Pilotin omia tavoitteita ei ole kirjattu arvioinnin asetuksiin.")
    res = rep.res.frame()
    res = res.set_index("key") if len(res) else pd.DataFrame(columns=["estimate", "suppressed"])
    rows = []
    for g in goals:
        for ev in g.get("evidence", []):
            r = res.loc[ev["key"]] if ev["key"] in res.index else None
            ok = r is not None and not bool(r["suppressed"]) and pd.notna(r["estimate"])
            rows.append({"Tavoite": g["text"], "Tunnusluku": ev.get("label", ev["key"]),
                         "Arvo": sv.format_fi(r["estimate"], ev["key"]).replace("-", "−") if ok else NOT_AVAILABLE})
        if not g.get("evidence"):
            rows.append({"Tavoite": g["text"], "Tunnusluku": g.get("note", "ei tunnuslukua tällä sivulla"),
                         "Arvo": ""})
    out.table(pd.DataFrame(rows).set_index(["Tavoite", "Tunnusluku"]),
              "*Taulukko: pilotin omat tavoitteet pilottisuunnitelmasta ja tällä sivulla julkaistut tunnusluvut, "
              "jotka koskevat niitä (peitetty tai puuttuva luku: ”ei saatavilla”).*")
    if any(g.get("families") for g in goals):
        cl = rep.load("clients")
        fam = cl["family_structure"].fillna("ei tietoa").astype(str).str.strip().str.lower().str[:1] \
            .map(lambda v: v if v in FAMILY_LABELS else "ei tietoa")
        # HB and control together: a pilot's groups split by family type would be mostly hidden
        tab = fam.value_counts().to_frame("Asiakasperheitä")
        tab = tab.reindex([k for k in [*FAMILY_LABELS, "ei tietoa"] if k in tab.index]).astype(int)
        shown = rep.dc.counts(tab, "tavoitteet.perherakenne", margins="row")
        shown.index = [FAMILY_LABELS.get(k, "Ei tietoa") if k != rep.dc.total_label else k for k in shown.index]
        out.table(shown, "*Taulukko: pilotin asiakasperheet perherakenteen mukaan (asiakasrekisteri; LIITE 1.1 "
                         "kysymys 1.4; HB- ja verrokkiasiakkaat yhdessä): tavoitteena oli saada mukaan keskenään erilaisia "
                         "perheitä.*")
    return out
