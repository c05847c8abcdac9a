"""Strand 3: unit costs, resource use per client, and costs by payer (evaluation plan ch. 7, LIITE 3.1–3.3).

The computation has two steps so that sensitivity analyses can re-price the same resource use:

1. :func:`resource_use` builds one row per client with *quantities* over the client's clienthood as the
   phase sees it: worker minutes per client-month, own time, work absence, travel, HB-assistant time by
   who gave it, HB budget and its realised use, public service units.
2. :func:`price` turns the quantities into euros per component with a :class:`UnitCosts` (all brought
   to one price year) and sums them by payer: ``kunta`` (municipality), ``asiakas`` (client),
   ``laheiset`` (family and network), ``jarjestot`` (organisations and volunteers).

Worker time (LIITE 3.1) — method
--------------------------------
Workers record every task of one or more *measured months* (e.g. 2018-03 and 2018-10). Tasks are
classified with the keyword codebook of the configuration (``task_codebook``). For each roster client
and each measured month in which the client's own worker (pilot, WW) filled in the form, or someone
logged time for the client, and in which the client was a client, the client's minutes are the sum of
all logged minutes for that client in that month (zero when none). Only months in which the client was a
client for the whole month are used, so that start-up and closing months do not distort the rate; the
mean over those months is the client's *minutes per client-month*. Clients never measured in a whole month
get the mean rate of measured clients of the same arm and pilot (else of the same arm, else all). Rows without a client number are
general work (team meetings, training, development): per pilot, the ratio general minutes / client
minutes (HB, control and other clients) is applied as an overhead factor on client time. The hourly
cost of a worker is the monthly salary of the job title × (1 + employer's side costs) × (1 + overhead)
/ working hours per month; a client's time is priced with the title of the client's own worker.
The clienthood total is the rate × the client's months of clienthood.

Payers
------
Worker time, public services, HB budget purchases and HB-assistant fees: municipality. Client's own time
(including travel time), work absence, travel and other costs: client. HB assistants' time, travel and
other costs: family and network (relationship ``omainen`` / ``ystävä``) or organisations (``vapaaehtoinen``,
``kokemusasiantuntija``, ``opiskelija``, ``muu``), net of the fee the municipality paid them (the fee is a
transfer that compensates part of their time; counting both would double count).

The support network's own form (``laheiskulut``, plan §7.1, collected from a sample of relatives of HB and
control clients): family and network. The relatives' support time (activity and travel time) is valued with
the informal-care value of the configuration (``time_valuation.informal_care``: the replacement-cost, i.e.
proxy-good, value of an hour of care work); the part of it spent away from paid work is valued instead as lost
work time (``time_valuation.work_absence``), so that no hour is counted twice; travel and other euros as
recorded, kilometres without euros at the kilometre rate. The form is a sample: clients whose relatives returned
no form get the arm × pilot rate per client-month of the clients with a form × their months (as the clients'
own LIITE 3.2 costs), and the sensitivity analysis shows the result with the form returners only.

Unit costs are brought to the price year with the configured index; recorded euros (budget use, fees,
clients' expenses) are used as recorded.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from hbeval_lib.strands.costs import cea as _cea
from hbeval_lib.strands.wellbeing import stats as _wb
from hbeval_lib.config import Config, load_config

PAYERS = ("kunta", "asiakas", "laheiset", "jarjestot")
PAYER_LABELS = {"kunta": "Kunta", "asiakas": "Asiakas", "laheiset": "Läheiset ja verkosto",
                "jarjestot": "Järjestöt ja vapaaehtoiset"}
ARMS = ("hb", "verrokki")
RELATIONSHIP_PAYER = {"omainen": "laheiset", "ystävä": "laheiset", "vapaaehtoinen": "jarjestot",
                      "kokemusasiantuntija": "jarjestot", "opiskelija": "jarjestot", "muu": "jarjestot"}
# component -> (payer, Finnish label, sensitivity group or None for actual euros)
COMPONENTS = {
    "tyontekijat": ("kunta", "Työntekijöiden työaika", "tyontekijat"),
    "palvelut": ("kunta", "Julkiset palvelut", "palvelut"),
    "hb_budjetti": ("kunta", "HB-budjetin käyttö", None),
    "avustaja_palkkio": ("kunta", "HB-avustajien palkkiot", None),
    "asiakas_aika": ("asiakas", "Asiakkaan oma aika ja matka-aika", "aika"),
    "asiakas_poissaolo": ("asiakas", "Asiakkaan työpoissaolot", "aika"),
    "asiakas_matkat": ("asiakas", "Asiakkaan matkakulut", "km"),
    "asiakas_muut": ("asiakas", "Asiakkaan muut kulut", None),
    "laheiset_aika": ("laheiset", "Läheisten aika (palkkion jälkeen)", "aika"),
    "laheiset_kulut": ("laheiset", "Läheisten matka- ja muut kulut", "km"),
    "jarjestot_aika": ("jarjestot", "Vapaaehtoisten aika (palkkion jälkeen)", "aika"),
    "jarjestot_kulut": ("jarjestot", "Vapaaehtoisten matka- ja muut kulut", "km"),
    "laheiset_tukiaika": ("laheiset", "Läheisten tukiaika (läheisten seurantalomake)", "aika"),
    "laheiset_tukikulut": ("laheiset", "Läheisten tukemisen matka- ja muut kulut (seurantalomake)", "km"),
}
#: the support network's quantities from ``laheiskulut`` (per client over the clienthood; see :func:`resource_use`)
SUPPORT_COLUMNS = ("support_min", "support_absence_min", "support_km", "support_eur")
SENSITIVITY_GROUPS = {"tyontekijat": "Työntekijöiden tuntikustannus", "palvelut": "Palvelujen yksikkökustannukset",
                      "km": "Kilometrikorvaus", "aika": "Ajan arvo"}
DAYS_PER_MONTH = 365.25 / 12


def _key(s) -> str:
    return re.sub(r"\s+", " ", str(s).strip().casefold())


# -- unit costs ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class UnitCosts:
    """Unit costs in one price year (euros of ``price_year``).

    Attributes
    ----------
    worker_hourly : dict
        Lower-case job title → € per hour (incl. side costs and overhead); key ``default`` for unknown titles.
    services : dict
        Lower-case service key → (€ per unit, unit).
    km_rate : float
        € per kilometre.
    time_value, absence_value : float
        € per hour of clients', relatives' and volunteers' time, and of lost work time.
    informal_value : float
        € per hour of the support network's care time (``laheiskulut``; ``time_valuation.informal_care``).
    index : dict
        Year → price index value; ``price_year`` the target year.
    """

    price_year: int
    worker_hourly: dict
    services: dict
    km_rate: float
    time_value: float
    absence_value: float
    time_alternative: str
    index: dict = field(default_factory=dict)
    informal_value: float = 0.0
    informal_alternative: str = ""

    def inflate(self, value: float, year: int | None) -> float:
        """Bring a value of ``year`` to the price year with the configured index (unchanged if unknown)."""
        if year is None or int(year) == self.price_year or int(year) not in self.index:
            return float(value)
        return float(value) * self.index[self.price_year] / self.index[int(year)]

    def hourly(self, title) -> float:
        """€/h of a job title (the ``default`` title when unknown or missing)."""
        if title is None or (isinstance(title, float) and np.isnan(title)) or title is pd.NA:
            return self.worker_hourly["default"]
        return self.worker_hourly.get(_key(title), self.worker_hourly["default"])

    def scaled(self, group: str, factor: float) -> UnitCosts:
        """A copy with one sensitivity group (``tyontekijat``, ``palvelut``, ``km``, ``aika``) × ``factor``."""
        if group == "tyontekijat":
            return replace(self, worker_hourly={k: v * factor for k, v in self.worker_hourly.items()})
        if group == "palvelut":
            return replace(self, services={k: (v * factor, u) for k, (v, u) in self.services.items()})
        if group == "km":
            return replace(self, km_rate=self.km_rate * factor)
        if group == "aika":
            return replace(self, time_value=self.time_value * factor, absence_value=self.absence_value * factor,
                           informal_value=self.informal_value * factor)
        raise KeyError(group)

    @classmethod
    def from_config(cls, cfg: Config | None = None, time_valuation: str | None = None,
                    informal_valuation: str | None = None) -> UnitCosts:
        """Read ``unit_costs``, ``price_index`` and ``time_valuation`` from the configuration.

        ``time_valuation`` overrides the alternative of clients', HB assistants' and volunteers' time
        (``time_valuation.default``), ``informal_valuation`` the one of the support network's care time
        (``time_valuation.informal_care``, default: the same as clients' time)."""
        cfg = cfg or load_config()
        uc = cfg.section("unit_costs") or {}
        index = {int(y): float(v) for y, v in ((cfg.section("price_index") or {}).get("values") or {}).items()}
        price_year = int(uc.get("price_year", max(index) if index else 2018))
        base = cls(price_year, {}, {}, 0.0, 0.0, 0.0, "", index)

        def val(entry) -> float:
            return base.inflate(float(entry["value"]), entry.get("year"))

        w = uc.get("workers") or {}
        # side-cost and overhead factors are shares: not inflated
        factor = ((1 + float(w["side_cost_factor"]["value"])) * (1 + float(w["overhead_factor"]["value"]))
                  / float(w["hours_per_month"]["value"]))
        hourly = {_key(t): val(e) * factor for t, e in (w.get("titles") or {}).items()}
        if "default" not in hourly:
            raise ValueError("unit_costs.workers.titles needs a 'default' entry")
        services = {_key(s): (val(e), str(e.get("unit", ""))) for s, e in (uc.get("services") or {}).items()}
        tv = cfg.section("time_valuation") or {}
        alts = tv.get("alternatives") or {}
        alt = time_valuation or tv.get("default", "leisure")
        if alt not in alts:
            raise KeyError(f"time valuation {alt!r} not in {sorted(alts)}")
        absence_alt = tv.get("work_absence", "wage")
        informal_alt = informal_valuation or tv.get("informal_care") or tv.get("default", "leisure")
        if informal_alt not in alts:
            raise KeyError(f"time valuation {informal_alt!r} (time_valuation.informal_care) not in {sorted(alts)}")
        return replace(base, worker_hourly=hourly, services=services, km_rate=val(uc["km_rate"]),
                       time_value=val(alts[alt]), absence_value=val(alts[absence_alt]), time_alternative=alt,
                       informal_value=val(alts[informal_alt]), informal_alternative=informal_alt)


def unit_cost_table(cfg: Config | None = None) -> pd.DataFrame:
    """All configured unit costs as a Finnish table: what, value, unit, year, source, value in the price year."""
    cfg = cfg or load_config()
    uc = UnitCosts.from_config(cfg)
    sec = cfg.section("unit_costs") or {}
    rows = []

    def add(kind, name, e, inflate=True):
        v = float(e["value"])
        rows.append({"Laji": kind, "Nimike": name, "Arvo": v, "Yksikkö": e.get("unit", ""), "Vuosi": e.get("year"),
                     f"Arvo {uc.price_year} hinnoin": uc.inflate(v, e.get("year")) if inflate else v,
                     "Lähde": e.get("source", "")})

    w = sec.get("workers") or {}
    for name in ("hours_per_month", "side_cost_factor", "overhead_factor"):
        add("Työntekijät", {"hours_per_month": "Työtunnit kuukaudessa", "side_cost_factor": "Sivukulukerroin",
                            "overhead_factor": "Yleiskustannuskerroin"}[name], w[name], inflate=False)
    for t, e in (w.get("titles") or {}).items():
        add("Työntekijät", f"{t} (kuukausipalkka)", e)
    add("Matkat", "Kilometrikorvaus", sec["km_rate"])
    for s, e in (sec.get("services") or {}).items():
        add("Palvelut", s, e)
    for a, e in ((cfg.section("time_valuation") or {}).get("alternatives") or {}).items():
        add("Ajan arvo", a, e)
    return pd.DataFrame(rows)


# -- resource use ---------------------------------------------------------------------------------------------
def classify_tasks(tasks: pd.Series, codebook: Mapping | None) -> pd.Series:
    """Task texts → category keys: the first category (in order) whose keyword occurs in the lower-case text.

    Parameters
    ----------
    tasks : Series of str
    codebook : mapping
        ``{"default": key, "categories": [{"key", "label", "keywords": [...]}, ...]}`` (``task_codebook``).
    """
    codebook = codebook or {}
    default = codebook.get("default", "muu")
    cats = codebook.get("categories") or []
    text = tasks.astype("string").fillna("").str.casefold()
    out = pd.Series(default, index=tasks.index, dtype="string")
    done = pd.Series(False, index=tasks.index)
    for cat in cats:
        hit = pd.Series(False, index=tasks.index)
        for kw in cat.get("keywords") or []:
            hit |= text.str.contains(str(kw).casefold(), regex=False)
        new = hit & ~done
        out[new] = cat["key"]
        done |= new
    return out


def months_of_clienthood(clients: pd.DataFrame, cutoff) -> pd.Series:
    """Client-months: calendar months with at least one day of clienthood, from ``start_date`` to
    ``end_date`` or the cut-off, whichever is first (THL's *asiakaskuukausi* convention; 0 if none)."""
    cutoff = pd.Timestamp(cutoff)
    end = clients["end_date"].where(clients["end_date"].notna() & (clients["end_date"] <= cutoff), cutoff)
    start = clients["start_date"]
    months = (end.dt.year - start.dt.year) * 12 + (end.dt.month - start.dt.month) + 1
    months = months.where(end >= start, 0)
    return months.astype("float").fillna(0.0).set_axis(clients["client_id"].to_numpy())


def _active_share(start: pd.Series, end: pd.Series, month: str) -> pd.Series:
    m0 = pd.Timestamp(month + "-01")
    m1 = m0 + pd.offsets.MonthEnd(0)
    lo = start.where(start > m0, m0)
    e = end.fillna(m1)
    hi = e.where(e < m1, m1)
    days = ((hi - lo).dt.days + 1).clip(lower=0)
    return days / m1.day


def worker_time(tyoaika: pd.DataFrame, clients: pd.DataFrame, uc: UnitCosts,
                codebook: Mapping | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Worker minutes and cost per client-month (see the module docstring for the method).

    Returns
    -------
    per_client : DataFrame
        Index client_id; columns ``worker_min_pm`` (direct minutes per client-month), ``worker_measured``
        (bool), ``general_factor`` (overhead share of general time), ``worker_hourly`` (€/h) and
        ``worker_eur_pm`` (€ per client-month incl. general time).
    by_task : DataFrame
        Minutes by arm (``hb``/``verrokki``/``muu``/``yleinen``) and task category over the measured months.
    """
    t = tyoaika.copy()
    t["category"] = classify_tasks(t["task"], codebook)
    t["minutes"] = pd.to_numeric(t["minutes"]).astype("float")
    kind = t["client_kind"].astype("string").fillna("yleinen")
    is_general = t["client_id"].isna() | (kind == "yleinen")
    t["kind"] = kind.where(~is_general, "yleinen")
    by_task = t.groupby(["kind", "category"], observed=True)["minutes"].sum().unstack(fill_value=0.0)

    gen = t[is_general].groupby("pilot")["minutes"].sum()
    cli = t[~is_general].groupby("pilot")["minutes"].sum()
    overall = float(gen.sum() / cli.sum()) if cli.sum() > 0 else 0.0
    factor_by_pilot = (gen.reindex(cli.index, fill_value=0.0) / cli.where(cli > 0)).fillna(overall)

    titles = t.dropna(subset=["worker"]).groupby(["pilot", "worker"])["job_title"].first()
    measured = t.dropna(subset=["worker"])[["pilot", "worker", "month"]].drop_duplicates()

    c = clients[["client_id", "pilot", "worker", "arm", "start_date", "end_date"]].copy()
    # observations: (client, month) for the own worker's measured months, plus months with logged time
    obs = c.merge(measured, on=["pilot", "worker"], how="inner")[["client_id", "month"]]
    logged = t[~is_general & t["client_id"].isin(c["client_id"])]
    obs = pd.concat([obs, logged[["client_id", "month"]]]).drop_duplicates()
    mins = logged.groupby(["client_id", "month"])["minutes"].sum()
    obs = obs.merge(c[["client_id", "start_date", "end_date"]], on="client_id")
    share = pd.Series(np.nan, index=obs.index)
    for m, g in obs.groupby("month"):
        share[g.index] = _active_share(g["start_date"], g["end_date"], str(m)).to_numpy()
    obs["share"] = share.to_numpy()
    obs["minutes"] = mins.reindex(pd.MultiIndex.from_frame(obs[["client_id", "month"]])).fillna(0.0).to_numpy()
    obs = obs[obs["share"] >= 1.0]   # whole measured months only
    agg = obs.groupby("client_id")[["minutes", "share"]].sum()
    rate = (agg["minutes"] / agg["share"]).rename("worker_min_pm")

    out = c.set_index("client_id")[["pilot", "worker", "arm"]].copy()
    out["worker_min_pm"] = rate.reindex(out.index)
    out["worker_measured"] = out["worker_min_pm"].notna()
    cell = out.groupby(["arm", "pilot"])["worker_min_pm"].transform("mean")
    arm_mean = out.groupby("arm")["worker_min_pm"].transform("mean")
    out["worker_min_pm"] = out["worker_min_pm"].fillna(cell).fillna(arm_mean).fillna(
        out["worker_min_pm"].mean())
    out["general_factor"] = out["pilot"].map(factor_by_pilot).astype("float").fillna(overall)
    keys = list(zip(out["pilot"], out["worker"]))
    out["worker_title"] = [titles.get(k) for k in keys]
    out["worker_hourly"] = [uc.hourly(x) for x in out["worker_title"]]
    out["worker_eur_pm"] = out["worker_min_pm"] / 60 * out["worker_hourly"] * (1 + out["general_factor"])
    return out.drop(columns=["pilot", "worker", "arm"]), by_task


def _sum_by_client(df: pd.DataFrame, cols: list[str], ids: pd.Index) -> pd.DataFrame:
    if df is None or df.empty:
        return pd.DataFrame(0.0, index=ids, columns=cols)
    num = df[["client_id", *cols]].copy()
    for col in cols:
        num[col] = pd.to_numeric(num[col]).astype("float").fillna(0.0)
    return num.groupby("client_id")[cols].sum().reindex(ids, fill_value=0.0)


def _impute_by_rate(out: pd.DataFrame, cols: list[str], flag: str) -> pd.DataFrame:
    """Replace the values of clients with ``flag`` False by the arm × pilot rate per client-month of the
    clients with ``flag`` True (sum / sum of months; else the arm's, else everyone's) × their months."""
    rep = out[out[flag]]
    for col in cols:
        def rate(g):
            m = g["months"].sum()
            return g[col].sum() / m if m > 0 else np.nan
        cell = rep.groupby(["arm", "pilot"]).apply(rate, include_groups=False) if len(rep) else pd.Series(dtype=float)
        arm = rep.groupby("arm").apply(rate, include_groups=False) if len(rep) else pd.Series(dtype=float)
        allr = rate(rep) if len(rep) else np.nan
        r = pd.Series([cell.get((a, p), np.nan) for a, p in zip(out["arm"], out["pilot"])], index=out.index)
        r = r.fillna(out["arm"].map(arm).astype("float")).fillna(allr).fillna(0.0)
        out[col] = out[col].where(out[flag], r * out["months"])
    return out


def resource_use(tables: Mapping[str, pd.DataFrame], cutoff, cfg: Config | None = None) -> pd.DataFrame:
    """Quantities of resource use per client over the clienthood (one row per roster client).

    Parameters
    ----------
    tables : mapping
        ``clients`` (required) and any of ``tyoaika``, ``asiakaskulut``, ``avustajakulut``, ``budgets``,
        ``budget_use``, ``services`` (schema of :mod:`hbeval_lib.core.schema`), already restricted to a phase/pilot.
    cutoff : date
        The phase cut-off (ongoing clienthoods end here).

    Returns
    -------
    DataFrame
        Index ``client_id``; columns ``pilot, arm, client_group, months``; worker columns of
        :func:`worker_time`; ``own_min, own_travel_min, absence_min, own_km, own_travel_eur, own_other_eur``
        (clients who returned no LIITE 3.2 form, ``own_reported`` False, get the arm × pilot rate per
        client-month of those who did × their months);
        per assistant payer ``g`` in (laheiset, jarjestot): ``assist_min_g, assist_km_g, assist_eur_g``
        (given travel and other euros), ``assist_fee_g``; the support network's form (``laheiskulut``):
        :data:`SUPPORT_COLUMNS` (support and travel minutes, work-absence minutes, unpriced kilometres, travel and
        other euros; clients without a form, ``support_reported`` False, get the arm × pilot rate per client-month
        of those with one × their months); ``budget_eur, budget_use_eur``,
        ``budget_use_<provider>``; ``svc_<service>`` units per configured service and ``svc_unpriced_units``.
        Missing travel euros are priced later from kilometres (``*_km`` holds only those kilometres).
    """
    cfg = cfg or load_config()
    uc = UnitCosts.from_config(cfg)
    clients = tables["clients"]
    ids = pd.Index(clients["client_id"].astype("string"), name="client_id")
    out = clients.set_index(ids)[["pilot", "arm", "client_group"]].copy()
    out["months"] = months_of_clienthood(clients, cutoff).to_numpy()

    ty = tables.get("tyoaika")
    if ty is not None and not ty.empty:
        wt, _ = worker_time(ty, clients, uc, cfg.section("task_codebook"))
        out = out.join(wt)
    else:
        out = out.assign(worker_min_pm=np.nan, worker_measured=False, general_factor=0.0, worker_title=None,
                         worker_hourly=uc.hourly(None), worker_eur_pm=np.nan)

    ak = tables.get("asiakaskulut")
    if ak is not None and not ak.empty:
        ak = ak.copy()
        ak["km_unpriced"] = ak["travel_km"].where(ak["travel_cost_eur"].isna())
        q = _sum_by_client(ak, ["minutes", "travel_minutes", "work_absence_minutes", "km_unpriced",
                                "travel_cost_eur", "other_cost_eur"], ids)
        q.columns = ["own_min", "own_travel_min", "absence_min", "own_km", "own_travel_eur", "own_other_eur"]
    else:
        q = pd.DataFrame(0.0, index=ids, columns=["own_min", "own_travel_min", "absence_min", "own_km",
                                                  "own_travel_eur", "own_other_eur"])
    out = out.join(q)
    reported = (pd.Index(ak["client_id"].astype("string").unique()) if ak is not None and not ak.empty
                else pd.Index([], dtype="string"))
    out["own_reported"] = out.index.isin(reported)
    out = _impute_by_rate(out, ["own_min", "own_travel_min", "absence_min", "own_km", "own_travel_eur",
                                "own_other_eur"], "own_reported")

    av = tables.get("avustajakulut")
    for g in ("laheiset", "jarjestot"):
        cols = [f"assist_min_{g}", f"assist_km_{g}", f"assist_eur_{g}", f"assist_fee_{g}"]
        if av is None or av.empty:
            out = out.join(pd.DataFrame(0.0, index=ids, columns=cols))
            continue
        a = av[av["relationship"].astype("string").map(lambda r: RELATIONSHIP_PAYER.get(_key(r), "jarjestot")
                                                      if pd.notna(r) else "jarjestot") == g].copy()
        a["t"] = pd.to_numeric(a["minutes"]).fillna(0).astype(float) + pd.to_numeric(
            a["travel_minutes"]).fillna(0).astype(float)
        a["km_unpriced"] = a["travel_km"].where(a["travel_cost_eur"].isna())
        a["eur"] = a["travel_cost_eur"].fillna(0.0) + a["other_cost_eur"].fillna(0.0)
        q = _sum_by_client(a, ["t", "km_unpriced", "eur"], ids)
        fee = (a.dropna(subset=["fee_eur"]).drop_duplicates(["client_id", "assistant_id"])
               .groupby("client_id")["fee_eur"].sum().reindex(ids, fill_value=0.0)) if len(a) else 0.0
        q["fee"] = fee
        q.columns = cols
        out = out.join(q)

    out = _support_network(out, tables.get("laheiskulut"), ids)

    bu = tables.get("budgets")
    out["budget_eur"] = _sum_by_client(bu, ["budget_eur"], ids)["budget_eur"] if bu is not None else 0.0
    use = tables.get("budget_use")
    out["budget_use_eur"] = _sum_by_client(use, ["amount_eur"], ids)["amount_eur"] if use is not None else 0.0
    for p in ("julkinen", "yksityinen", "jarjesto", "laheisverkosto", "muu"):
        sub = use[use["provider"] == p] if use is not None and not use.empty else None
        out[f"budget_use_{p}"] = _sum_by_client(sub, ["amount_eur"], ids)["amount_eur"]

    sv = tables.get("services")
    known = list(uc.services)
    for s in known:
        sub = sv[sv["service"].map(_key) == s] if sv is not None and not sv.empty else None
        out[f"svc_{s}"] = _sum_by_client(sub, ["quantity"], ids)["quantity"]
    sub = sv[~sv["service"].map(_key).isin(known)] if sv is not None and not sv.empty else None
    out["svc_unpriced_units"] = _sum_by_client(sub, ["quantity"], ids)["quantity"]
    if sub is not None and not sub.empty:
        # the unpriced services one by one with their recorded unit (``svcu_<service>|<unit>``), so that the report
        # never adds hours to visits
        keyed = sub.assign(_k=sub["service"].map(_key), _u=sub["unit"].astype("string").fillna("").map(_key))
        for (k, unit), g in keyed.groupby(["_k", "_u"], sort=True):
            out[f"svcu_{k}|{unit}"] = _sum_by_client(g, ["quantity"], ids)["quantity"]
    return out


def _support_network(out: pd.DataFrame, lk: pd.DataFrame | None, ids: pd.Index) -> pd.DataFrame:
    """Join the support network's quantities (:data:`SUPPORT_COLUMNS`, ``support_reported``) to ``out``; clients
    without a form get the rate of the clients with one (:func:`_impute_by_rate`)."""
    cols = list(SUPPORT_COLUMNS)
    if lk is not None and not lk.empty:
        s = lk.copy()
        s["t"] = (pd.to_numeric(s["minutes"]).astype(float).fillna(0.0)
                  + pd.to_numeric(s["travel_minutes"]).astype(float).fillna(0.0))
        s["km_unpriced"] = s["travel_km"].where(s["travel_cost_eur"].isna())
        s["eur"] = s["travel_cost_eur"].astype(float).fillna(0.0) + s["other_cost_eur"].astype(float).fillna(0.0)
        q = _sum_by_client(s, ["t", "work_absence_minutes", "km_unpriced", "eur"], ids)
        q.columns = cols
        reported = pd.Index(lk["client_id"].astype("string").unique())
    else:
        q = pd.DataFrame(0.0, index=ids, columns=cols)
        reported = pd.Index([], dtype="string")
    out = out.join(q)
    out["support_reported"] = out.index.isin(reported)
    return _impute_by_rate(out, cols, "support_reported")


def _col(use: pd.DataFrame, name: str):
    """A quantity column of ``use``, or 0 when the table lacks it (resource use made before the column existed)."""
    return use[name].astype(float) if name in use.columns else 0.0


def price(use: pd.DataFrame, uc: UnitCosts, include_informal_time: bool = True) -> pd.DataFrame:
    """Euros per cost component and payer for each client over the clienthood (price year of ``uc``).

    Parameters
    ----------
    use : DataFrame
        From :func:`resource_use`.
    uc : UnitCosts
    include_informal_time : bool
        False leaves out the time of clients, relatives and volunteers (and work absence).

    Returns
    -------
    DataFrame
        ``pilot, arm, client_group, months``, one column per :data:`COMPONENTS` key, ``cost_<payer>`` per
        payer and ``cost_total`` (all euros per clienthood).
    """
    out = use[["pilot", "arm", "client_group", "months"]].copy()
    tv = uc.time_value / 60 if include_informal_time else 0.0
    av = uc.absence_value / 60 if include_informal_time else 0.0
    iv = uc.informal_value / 60 if include_informal_time else 0.0
    hourly = np.array([uc.hourly(t) for t in use["worker_title"]], dtype=float)
    out["tyontekijat"] = (use["worker_min_pm"].astype(float).fillna(0.0) / 60 * hourly
                          * (1 + use["general_factor"].astype(float).fillna(0.0)) * use["months"])
    out["palvelut"] = sum((use[f"svc_{s}"] * p for s, (p, _) in uc.services.items()), 0.0)
    out["hb_budjetti"] = use["budget_use_eur"]
    out["avustaja_palkkio"] = use["assist_fee_laheiset"] + use["assist_fee_jarjestot"]
    out["asiakas_aika"] = (use["own_min"] + use["own_travel_min"]) * tv
    out["asiakas_poissaolo"] = use["absence_min"] * av
    out["asiakas_matkat"] = use["own_travel_eur"] + use["own_km"] * uc.km_rate
    out["asiakas_muut"] = use["own_other_eur"]
    for g in ("laheiset", "jarjestot"):
        out[f"{g}_aika"] = (use[f"assist_min_{g}"] * tv - use[f"assist_fee_{g}"]).clip(lower=0.0)
        out[f"{g}_kulut"] = use[f"assist_eur_{g}"] + use[f"assist_km_{g}"] * uc.km_rate
    # the support network's form: care time at the informal-care value, the part away from paid work as lost
    # work time (each minute once)
    sup, absent = _col(use, "support_min"), _col(use, "support_absence_min")
    out["laheiset_tukiaika"] = np.maximum(sup - absent, 0.0) * iv + absent * av
    out["laheiset_tukikulut"] = _col(use, "support_eur") + _col(use, "support_km") * uc.km_rate
    for p in PAYERS:
        out[f"cost_{p}"] = out[[c for c, (payer, _, _) in COMPONENTS.items() if payer == p]].sum(axis=1)
    out["cost_total"] = out[[f"cost_{p}" for p in PAYERS]].sum(axis=1)
    return out


# -- summaries with bootstrap uncertainty -------------------------------------------------------------------
def summary_columns() -> list[str]:
    """The priced columns summarised by :func:`cost_summary`: payers, total and components."""
    return [f"cost_{p}" for p in PAYERS] + ["cost_total", *COMPONENTS]


def cost_summary(priced: pd.DataFrame, replicates: int = 2000, seed: int = 0, level: float = 0.95,
                 columns: list[str] | None = None) -> pd.DataFrame:
    """Mean costs by arm per client-month and per clienthood with bootstrap-t CIs
    (:func:`hbeval_lib.strands.costs.cea.studentized_ci`; the percentile interval under-covers skewed costs in small arms).

    Per client-month is the ratio of sums (total euros / total client-months of the arm), which weights
    clients by their months; per clienthood is the mean of client totals. The bootstrap resamples clients
    within arm (:func:`hbeval_lib.strands.costs.cea.bootstrap_means`), the same resamples for every column.

    Returns
    -------
    DataFrame
        Columns ``arm, item, basis`` (``client_month`` / ``clienthood``), ``estimate, ci_low, ci_high, n``.
    """
    columns = columns or summary_columns()
    priced = priced.reset_index(drop=True)
    idx, cols = _cea.stratified_indices(priced["arm"], replicates, seed)
    rows = []
    for basis, den in (("client_month", "months"), ("clienthood", None)):
        point = _cea.point_means(priced, columns, denominator=den)
        dv = None if den is None else priced[den].to_numpy(dtype=float)
        for arm, pos in cols.items():
            n = int((priced["arm"] == arm).sum())
            for col in columns:
                lo, hi = _cea.studentized_ci(priced[col].to_numpy(dtype=float), idx[:, pos], level, dv,
                                             rows=np.flatnonzero(priced["arm"].to_numpy() == arm))
                rows.append({"arm": arm, "item": col, "basis": basis, "estimate": point.loc[arm, col],
                             "ci_low": lo, "ci_high": hi, "n": n})
    return pd.DataFrame(rows)


def incremental_cost(priced: pd.DataFrame, column: str = "cost_total", basis: str = "client_month",
                     reference: str = "hb", comparator: str = "verrokki", replicates: int = 2000, seed: int = 0,
                     level: float = 0.95, adjust_for: tuple[str, ...] | None = None,
                     min_level: int = 5, per_parameter: int = 5) -> pd.DataFrame:
    """Incremental cost (reference − comparator), unadjusted and adjusted by regression, with t intervals.

    The unadjusted difference uses the same statistic as :func:`cost_summary` (per client-month: the ratio of
    sums, i.e. a regression of cost / months on the arm weighted by months). The adjusted difference is the
    arm coefficient of an unweighted OLS regression of the per-client cost (per client-month: cost / months,
    months floored at a quarter) on the arm and the baseline covariates :data:`COST_COVARIATES` (``adjust_for``;
    the design of :func:`adjusted_cost_difference`, the same one the cost-effectiveness analysis uses, so the
    report has one adjusted cost difference per basis). Note that the adjusted estimate weights clients equally while the
    unadjusted one weights them by months. The intervals are HC2 (:data:`COST_HC`) t intervals with Bell–McCaffrey
    degrees of freedom
    (:func:`hbeval_lib.strands.costs.cea.ols_t_interval`), which keep their coverage with skewed costs and small arms where
    the percentile bootstrap does not; ``replicates`` and ``seed`` are kept for the callers' signature.

    Returns
    -------
    DataFrame
        Rows ``unadjusted`` / ``adjusted``; columns ``estimate, ci_low, ci_high, n``.
    """
    d = priced[priced["arm"].isin([reference, comparator])].reset_index(drop=True)
    n = len(d)
    empty = pd.DataFrame({"estimate": np.nan, "ci_low": np.nan, "ci_high": np.nan, "n": n},
                         index=["unadjusted", "adjusted"])
    if d["arm"].nunique() < 2:
        return empty
    out = empty.copy()
    arm = np.column_stack([np.ones(n), (d["arm"] == reference).to_numpy(float)])
    c = d[column].to_numpy(float)
    if basis == "client_month":
        m = d["months"].to_numpy(float)
        point = _cea.point_means(d, [column], denominator="months")
        est = point.loc[reference, column] - point.loc[comparator, column]
        r = _cea.ols_t_interval(np.divide(c, m, out=np.zeros_like(c), where=m > 0), arm, level=level, weights=m,
                                hc=COST_HC, bell_mccaffrey=True)
        half = (r["ci_high"] - r["ci_low"]) / 2
        out.loc["unadjusted", ["estimate", "ci_low", "ci_high"]] = [est, est - half, est + half]
        y = c / m.clip(min=0.25)
    else:
        r = _cea.ols_t_interval(c, arm, level=level, hc=COST_HC, bell_mccaffrey=True)
        out.loc["unadjusted", ["estimate", "ci_low", "ci_high"]] = [r["estimate"], r["ci_low"], r["ci_high"]]
        y = c
    r, _ = adjusted_cost_difference(d.assign(_y=y), "_y", reference, adjust_for, min_level, per_parameter, level)
    out.loc["adjusted", ["estimate", "ci_low", "ci_high"]] = [r["estimate"], r["ci_low"], r["ci_high"]]
    return out


#: the robust variance of the cost differences' t intervals, with Bell & McCaffrey's (2002) degrees of freedom
#: (Imbens & Kolesár 2016, Rev Econ Stat 98:701, recommend the pair for small samples). HC2 (MacKinnon & White 1985)
#: divides each squared residual by ``1 − h``: unbiased under homoskedasticity, and for two groups exactly Welch's
#: variance. HC3 (``(1 − h)²``) over-corrects with the covariates at 20 clients per arm: its adjusted difference
#: covered 97.0–97.3 % in ``make validate`` (1 000 replications), HC2 with these degrees of freedom 96.5 %; with
#: unequal, skewed arms (``tests/test_cea.py``) 93–95 %.
COST_HC = "HC2"

#: the one covariate set of every adjusted cost difference (the roster's baseline characteristics; the cost has no
#: baseline measurement), in the order they enter when the sample allows fewer parameters
COST_COVARIATES = ("age", "labour_status", "pilot", "client_group", "gender", "family_structure")
ROSTER_COVARIATES = ("age", "gender", "family_structure", "labour_status")


def with_covariates(priced: pd.DataFrame, clients: pd.DataFrame | None) -> pd.DataFrame:
    """``priced`` (indexed by client id) with the roster's baseline covariates joined (missing ones stay NaN)."""
    if clients is None or clients.empty or "client_id" not in clients.columns:
        return priced
    cov = [c for c in ROSTER_COVARIATES if c in clients.columns and c not in priced.columns]
    if not cov:
        return priced
    r = clients.drop_duplicates("client_id").assign(client_id=lambda x: x["client_id"].astype(str))
    r = r.set_index("client_id")[cov]
    out = priced.copy()
    for c in cov:
        out[c] = pd.Series(priced.index.astype(str), index=priced.index).map(r[c]).to_numpy()
    return out


def adjusted_cost_difference(d: pd.DataFrame, column: str, reference: str = "hb", covariates=None,
                             min_level: int = 5, per_parameter: int = 5, level: float = 0.95) -> tuple[dict, dict]:
    """The adjusted cost difference ``reference − comparator``: the arm coefficient of an OLS regression of
    ``column`` on the arm and :data:`COST_COVARIATES` (:func:`hbeval_lib.strands.costs.cea.covariate_design`: age linear with a
    missingness indicator, categorical levels under ``min_level`` merged, at least ``per_parameter`` clients per
    parameter), with its t interval (:data:`COST_HC` robust variance, Bell–McCaffrey degrees of freedom). Returns ``(interval dict, design info)``."""
    X, info = _cea.covariate_design(d, reference, COST_COVARIATES if covariates is None else covariates,
                                    min_level=min_level, per_parameter=per_parameter)
    return _cea.ols_t_interval(d[column].to_numpy(float), X, level=level, hc=COST_HC, bell_mccaffrey=True), info


def design_matrix(d: pd.DataFrame, reference: str, adjust_for=(), extra: list[str] | None = None,
                  min_level: int = 5) -> np.ndarray:
    """Intercept, arm indicator (1 = ``reference``), numeric ``extra`` columns and dummies of ``adjust_for``
    (levels with fewer than ``min_level`` clients merged first, :func:`hbeval_lib.strands.costs.cea.collapse_rare`)."""
    parts = [np.ones(len(d)), (d["arm"] == reference).to_numpy(float)]
    for col in extra or []:
        parts.append(d[col].to_numpy(float))
    for col in adjust_for:
        if col in d.columns:
            v = _cea.collapse_rare(d[col], min_level)
            if v.nunique() > 1:
                dummies = pd.get_dummies(pd.Categorical(v, categories=sorted(v.unique())), drop_first=True,
                                         dtype=float)
                parts.extend(dummies[c].to_numpy() for c in dummies.columns)
    return np.column_stack(parts)


def sensitivity(use: pd.DataFrame, cfg: Config | None = None, change: float | None = None,
                column: str = "cost_total", reference: str = "hb", comparator: str = "verrokki") -> pd.DataFrame:
    """One-way sensitivity of the incremental cost per client-month (tornado data).

    Scenarios: each unit-cost group (:data:`SENSITIVITY_GROUPS`) × (1 ± ``change``, default from
    ``cea.sensitivity_unit_cost_change``), each time-valuation alternative (low = smallest, high = largest
    result), and leaving out clients', relatives' and volunteers' time.

    Returns
    -------
    DataFrame
        ``scenario`` (Finnish label), ``low``, ``high``, ``base``; sorted by the width of the range.
    """
    cfg = cfg or load_config()
    change = float((cfg.section("cea") or {}).get("sensitivity_unit_cost_change", 0.25) if change is None else change)
    base_uc = UnitCosts.from_config(cfg)

    def inc(uc, informal=True, quantities=None):
        pr = price(use if quantities is None else quantities, uc, include_informal_time=informal)
        m = _cea.point_means(pr, [column], denominator="months")
        if reference not in m.index or comparator not in m.index:
            return np.nan
        return float(m.loc[reference, column] - m.loc[comparator, column])

    base = inc(base_uc)
    rows = []
    for g, label in SENSITIVITY_GROUPS.items():
        a, b = inc(base_uc.scaled(g, 1 - change)), inc(base_uc.scaled(g, 1 + change))
        rows.append({"scenario": f"{label} ±{change:.0%}".replace("%", " %"), "low": min(a, b), "high": max(a, b)})
    alts = ((cfg.section("time_valuation") or {}).get("alternatives") or {})
    vals = [inc(UnitCosts.from_config(cfg, time_valuation=a)) for a in alts]
    if vals:
        rows.append({"scenario": "Ajan arvottaminen (" + " / ".join(alts) + ")", "low": min(vals), "high": max(vals)})
    if "support_min" in use.columns and float(use["support_min"].sum()) > 0:
        # the support network's care time: its own valuation (replacement cost by default) and its extrapolation
        vals = [inc(UnitCosts.from_config(cfg, informal_valuation=a)) for a in alts]
        if vals:
            rows.append({"scenario": "Läheisten tukiajan arvo (" + " / ".join(alts) + ")", "low": min(vals),
                         "high": max(vals)})
        reported = use["support_reported"].astype(bool)
        if reported.any() and not reported.all():
            only = use.copy()
            only.loc[~reported, list(SUPPORT_COLUMNS)] = 0.0
            v = inc(base_uc, quantities=only)
            rows.append({"scenario": "Läheisten tuki vain lomakkeen palauttaneilla", "low": min(base, v),
                         "high": max(base, v)})
    without = inc(base_uc, informal=False)
    rows.append({"scenario": "Ilman asiakkaiden ja läheisten aikaa", "low": min(base, without),
                 "high": max(base, without)})
    df = pd.DataFrame(rows)
    df["base"] = base
    return df.assign(width=df["high"] - df["low"]).sort_values("width", ascending=False).drop(
        columns="width").reset_index(drop=True)


def budget_summary(use: pd.DataFrame) -> pd.DataFrame:
    """HB budgets versus realised use, and the use by provider type (HB clients with a budget).

    Returns
    -------
    DataFrame
        One row per item (``budget_eur``, ``budget_use_eur``, ``budget_use_<provider>``) with ``total``,
        ``mean`` per client, ``share`` of the budget use, and ``n`` (clients with a budget).
    """
    hb = use[(use["arm"] == "hb") & (use["budget_eur"] > 0)]
    items = ["budget_eur", "budget_use_eur"] + [c for c in use.columns if c.startswith("budget_use_")
                                                and c != "budget_use_eur"]
    total_use = float(hb["budget_use_eur"].sum())
    rows = []
    for it in items:
        tot = float(hb[it].sum())
        rows.append({"item": it, "total": tot, "mean": tot / len(hb) if len(hb) else np.nan,
                     "share": tot / total_use if total_use > 0 and it.startswith("budget_use_") else np.nan,
                     "n": len(hb)})
    return pd.DataFrame(rows)


# -- rates per client-month for the report ------------------------------------------------------------------
USE_RATE_ITEMS = ("worker_min_pm", "own_min", "assist_min", "support_min", "svc_units", "budget_use_eur")


def use_per_client_month(use: pd.DataFrame) -> pd.DataFrame:
    """Resource use per client-month by arm: the sum over clients divided by the sum of clienthood months.

    ``worker_min_pm`` is already a rate per client-month, so it is averaged with the months as weights;
    ``assist_min`` is the HB assistants' time (family and organisations), ``support_min`` the support network's
    time from its own form (with travel time; extrapolated to clients without a form), ``svc_units`` all public
    service units (units differ between services: the report shows them per unit, :func:`service_use_per_client_month`).
    An arm without clienthood months gets NaN.

    Returns
    -------
    DataFrame
        Index :data:`ARMS`, columns :data:`USE_RATE_ITEMS`.
    """
    u = use.copy()
    u["assist_min"] = u["assist_min_laheiset"] + u["assist_min_jarjestot"]
    u["support_min"] = _col(u, "support_min")
    u["svc_units"] = u[[c for c in u.columns if c.startswith("svc_")]].sum(axis=1)
    rows = {}
    for a in ARMS:
        g = u[u["arm"] == a]
        months = g["months"].sum()
        rows[a] = {k: (((g[k] * g["months"]).sum() if k == "worker_min_pm" else g[k].sum()) / months
                       if months > 0 else np.nan) for k in USE_RATE_ITEMS}
    return pd.DataFrame.from_dict(rows, orient="index").reindex(columns=list(USE_RATE_ITEMS))


#: Finnish names of the services' units (``unit_costs.services.<key>.unit`` or the registry's recorded unit)
UNIT_LABELS = {"tunti": "tunnit", "h": "tunnit", "käynti": "käynnit", "vrk": "hoitovuorokaudet",
               "vuorokausi": "hoitovuorokaudet", "kk": "kuukaudet", "kuukausi": "kuukaudet", "": "yksikkö puuttuu"}


def service_use_per_client_month(use: pd.DataFrame, uc: UnitCosts) -> pd.DataFrame:
    """Public services' units per client-month by arm, each service in its own unit (hours, visits, days, months).

    Priced services take their unit from the unit costs (``uc.services``), unpriced ones (``svcu_<service>|<unit>``
    of :func:`resource_use`) their recorded unit. The rate is the arm's units divided by its clienthood months.

    Returns
    -------
    DataFrame
        One row per service: ``service``, ``unit``, ``priced`` (bool), ``column`` (of ``use``) and one rate column per
        :data:`ARMS` (NaN for an arm without months).
    """
    rows = []
    cols = [(f"svc_{k}", k, str(u), True) for k, (_, u) in uc.services.items() if f"svc_{k}" in use.columns]
    cols += [(c, *c[len("svcu_"):].split("|", 1), False) for c in use.columns if c.startswith("svcu_")]
    for col, service, unit, priced in cols:
        row = {"service": service, "unit": _key(unit), "priced": priced, "column": col}
        for a in ARMS:
            g = use[use["arm"] == a]
            m = float(g["months"].sum())
            row[a] = float(g[col].sum()) / m if m > 0 else np.nan
        rows.append(row)
    return pd.DataFrame(rows, columns=["service", "unit", "priced", "column", *ARMS])


def task_shares(by_task: pd.DataFrame) -> pd.DataFrame:
    """Each arm's client-work minutes of the measured months as shares by task category.

    ``by_task`` is the second value of :func:`worker_time` (client kind × task category). Rows are
    :data:`ARMS` (an arm without minutes gets NaN shares); the ``yleinen`` column is dropped when empty.
    """
    bt = by_task.reindex(list(ARMS)).fillna(0.0)
    bt = bt.drop(columns=[c for c in bt.columns if c == "yleinen" and bt[c].sum() == 0])
    return bt.div(bt.sum(axis=1).where(lambda s: s > 0), axis=0)


# -- the whole strand for one phase and pilot (what the notebook calls) ---------------------------------------
COST_TABLES = ("clients", "tyoaika", "asiakaskulut", "avustajakulut", "budgets", "budget_use", "services",
               "kykyviisari", "osallisuustesti", "laheiskulut")


def load_tables(processed, phase: str, pilot: str, cfg: Config | None = None) -> dict[str, pd.DataFrame]:
    """The strand's tables for a phase and pilot; a table intake did not write is an empty frame."""
    from hbeval_lib.core.schema import TABLES
    from hbeval_lib.core.tables import load

    cfg = cfg or load_config()
    out = {}
    for name in COST_TABLES:
        try:
            out[name] = load(name, processed, phase=phase, pilot=pilot, cfg=cfg)
        except FileNotFoundError:
            out[name] = pd.DataFrame({c: pd.Series(dtype="object") for c in TABLES[name]})
    return out


def analyse(tables: Mapping[str, pd.DataFrame], phase: str, cfg: Config | None = None,
            replicates: int | None = None, seed: int | None = None,
            pooled: Mapping[str, pd.DataFrame] | None = None, pilot: str | None = None) -> dict:
    """Run the cost and cost-effectiveness analysis of one phase on loaded tables.

    ``pooled`` (all pilots' tables) and ``pilot`` are given on a pilot's page: the CEA's effect difference is then
    the pilot's primary effect from the pooled model, as on the wellbeing page
    (:func:`hbeval_lib.strands.wellbeing.stats.headline_analysis`).

    Returns
    -------
    dict
        ``use`` (:func:`resource_use`), ``priced`` (:func:`price`), ``summary`` (:func:`cost_summary`),
        ``incremental`` (basis → :func:`incremental_cost`), ``budget`` (:func:`budget_summary`), ``by_task``
        (worker minutes by client kind × task category), ``sensitivity``, ``cea`` (``primary`` — the effect
        measure of :func:`effect_outcome` — and ``secondary`` → :func:`cea_analysis`, plus ``outcome``),
        ``wtp`` (the configured grid; each CEA has its own, extended past its ICER), ``uc`` (UnitCosts),
        ``n`` (clients per arm).
    """
    cfg = cfg or load_config()
    conf = cfg.section("cea") or {}
    replicates = int(replicates or conf.get("bootstrap_replicates", 2000))
    seed = cfg.seed if seed is None else seed
    level = float(conf.get("ci_level", 0.95))
    ref = conf.get("reference", "hb")
    comp = next(a for a in ARMS if a != ref)
    cutoff = cfg.phase(phase).cutoff
    uc = UnitCosts.from_config(cfg)
    clients = tables["clients"]
    res: dict = {"uc": uc, "n": clients["arm"].value_counts().to_dict() if len(clients) else {},
                 "wtp": _cea.wtp_grid(conf)}
    if clients.empty:
        return res
    use = resource_use(tables, cutoff, cfg)
    priced = with_covariates(price(use, uc), clients)
    res.update(use=use, priced=priced, budget=budget_summary(use))
    res["summary"] = cost_summary(priced, replicates, seed, level)
    res["incremental"] = {b: incremental_cost(priced, basis=b, reference=ref, comparator=comp,
                                              replicates=replicates, seed=seed, level=level,
                                              min_level=int(conf.get("min_level_n", 5)),
                                              per_parameter=int(conf.get("clients_per_parameter", 5)))
                          for b in ("client_month", "clienthood")}
    ty = tables.get("tyoaika")
    res["by_task"] = (worker_time(ty, clients, uc, cfg.section("task_codebook"))[1]
                      if ty is not None and len(ty) else pd.DataFrame())
    res["sensitivity"] = sensitivity(use, cfg, reference=ref, comparator=comp)
    basis = conf.get("cost_basis", "clienthood")
    cost = priced["cost_total"] / (priced["months"].clip(lower=0.25) if basis == "client_month" else 1.0)
    cost = cost.rename("cost")
    cost.index = cost.index.astype("string")
    res["cea"] = {}
    effects = {"primary": effect_outcome(cfg)}
    second = conf.get("secondary_effect")
    if second:
        second = _outcome_spec(second)
        if second != effects["primary"]:
            effects["secondary"] = second
    try:
        end_occasions = _wb.phase_scope(phase)["end_occasions"]
    except ValueError:
        end_occasions = ("loppu",)
    src = pooled if pooled is not None else tables
    wb_options = _wb.analysis_options(cfg.section("wellbeing"))
    cost_data = priced.assign(cost=cost.to_numpy())
    for role, (table, col) in effects.items():
        effect = None
        m_all = src.get(table)
        if m_all is not None and len(m_all) and col in m_all.columns and end_occasions:
            effect = _wb.headline_analysis(m_all, src.get("clients"), col, end_occasions,
                                           pilot if pooled is not None else None, wb_options, table=table)
        res["cea"][role] = cea_analysis(tables.get(table), clients, col, cost, end_occasions, conf,
                                        ref, comp, replicates, seed, level, effect=effect, cost_data=cost_data)
        res["cea"][role]["outcome"] = f"{table}.{col}"
    return res


def _outcome_spec(spec: str) -> tuple[str, str]:
    """``"kykyviisari.osallisuus"`` → ``("kykyviisari", "osallisuus")``; ``"osallisuustesti"`` →
    ``("osallisuustesti", "score")``; a bare Kykyviisari domain key → ``("kykyviisari", key)``."""
    spec = str(spec)
    if "." in spec:
        table, col = spec.split(".", 1)
        return table, col
    if spec == "osallisuustesti":
        return "osallisuustesti", "score"
    return "kykyviisari", spec


def effect_outcome(cfg: Config) -> tuple[str, str]:
    """The CEA's effect measure: ``cea.effect_outcome`` when configured, else the wellbeing strand's primary
    outcome (``wellbeing.primary_outcome``, default ``kykyviisari.osallisuus``), as (table, column)."""
    conf = cfg.section("cea") or {}
    spec = conf.get("effect_outcome") or (cfg.section("wellbeing") or {}).get("primary_outcome",
                                                                              "kykyviisari.osallisuus")
    return _outcome_spec(spec)


def cea_analysis(measures: pd.DataFrame | None, clients: pd.DataFrame, column: str, cost: pd.Series,
                 end_occasions, conf: Mapping, reference: str = "hb", comparator: str = "verrokki",
                 replicates: int = 2000, seed: int = 0, level: float = 0.95, effect=None,
                 cost_data: pd.DataFrame | None = None) -> dict:
    """The cost-effectiveness analysis of one effect measure.

    Base case (``adjusted`` / ``result``):

    * **Δe is the primary estimand**: the doubly robust, multiply imputed HB − control difference in change of
      the wellbeing strand (``effect``: an :class:`hbeval_lib.strands.wellbeing.stats.OutcomeAnalysis`, whose ``primary()`` is
      the wellbeing page's headline number, with its publication rules);
    * **Δc is the adjusted cost difference** of :func:`adjusted_cost_difference` on every client with a cost
      (``cost_data``: the priced clients with the roster covariates and the ``cost`` column of the CEA's basis) —
      the same number and covariate set as the adjusted difference of the cost table (:func:`incremental_cost`);
    * the draws (:func:`hbeval_lib.strands.costs.cea.matched_draws`) have the two intervals' spread and the correlation of the
      two differences in a joint client bootstrap of the paired sample, so the CE plane, the CEAC and the
      quadrant shares are as certain as the table, no more.

    When the primary effect is not published (``reason``), there is no base case. The unadjusted difference of
    means on the paired sample (clients with a start and a follow-up measurement and a cost) is the sensitivity
    analysis (``result_unadjusted``; Welch t intervals of the two means, draws matched to them in the same way). The willingness-to-pay grid reaches at least three times
    the base-case ICER.

    Returns
    -------
    dict
        ``data`` (the paired sample), ``n`` (clients per arm with an observed end score behind Δe), ``n_cost``
        (clients per arm behind Δc), ``n_pairs``, ``adjusted`` (:func:`hbeval_lib.strands.costs.cea.matched_draws` output plus
        ``design``) / ``unadjusted`` (:func:`hbeval_lib.strands.costs.cea.bootstrap_cea`), ``result`` / ``result_unadjusted``
        (:func:`hbeval_lib.strands.costs.cea.summarise`, or None), ``reading`` (:func:`hbeval_lib.strands.costs.cea.icer_reading`), ``wtp``,
        ``inmb`` / ``inmb_unadjusted`` (k → interval), ``reason`` (Finnish, when there is no base case).
    """
    out: dict = {"data": None, "n": {}, "n_cost": {}, "n_pairs": {}, "adjusted": None, "unadjusted": None,
                 "result": None, "result_unadjusted": None, "wtp": _cea.wtp_grid(conf), "inmb": {},
                 "inmb_unadjusted": {}, "reading": None, "reason": ""}
    if measures is None or measures.empty or column not in measures.columns or not end_occasions:
        return out
    pairs = _wb.paired_scores(measures, column, end_occasions, clients)
    out["n_pairs"] = pairs["arm"].value_counts().to_dict() if len(pairs) else {}
    if pairs.empty:
        return out
    pairs = pairs.assign(client_id=pairs["client_id"].astype("string"))
    data = pairs.merge(cost, left_on="client_id", right_index=True, how="inner").dropna(subset=["change", "cost"])
    data = data.sort_values("client_id", kind="stable").reset_index(drop=True)
    out["data"] = data
    kw = {"reference": reference, "comparator": comparator, "replicates": replicates, "seed": seed, "level": level}
    min_level, per_par = int(conf.get("min_level_n", 5)), int(conf.get("clients_per_parameter", 5))
    una = _cea.bootstrap_cea(data, adjust=False, **kw)
    out["unadjusted"] = una
    if una["point"] is None or len(una["effects"]) == 0:
        return out
    if all(np.isfinite(una["point"][x].get("ci_low", np.nan)) for x in ("e", "c")):
        # the sensitivity analysis's draws too get the spread of its table intervals (Welch t), so its CEAC is as
        # certain as its table; the correlation is the client bootstrap's
        de_u = una["effects"][reference] - una["effects"][comparator]
        dc_u = una["costs"][reference] - una["costs"][comparator]
        corr_u = float(np.corrcoef(de_u, dc_u)[0, 1]) if de_u.std() > 0 and dc_u.std() > 0 else 0.0
        m = _cea.matched_draws(una["point"]["e"], una["point"]["c"], corr_u,
                               float(una["effects"][comparator].mean()), float(una["costs"][comparator].mean()),
                               replicates, seed, level, reference, comparator)
        una = {**una, "effects": m["effects"], "costs": m["costs"], "scale": m["scale"]}
        out["unadjusted"] = una
    if effect is None:
        out["reason"] = "ensisijaista vaikutusarviota ei ole (ei analysoitavia mittauksia)"
        return out
    pe = effect.primary()
    out["n"] = dict(zip(_wb.ARMS, effect.observed_end()))
    out["n_effect"] = int(pe.get("n") or 0)   # the primary estimate's n (all clients, imputed): the wellbeing page's
    if not pe.get("published") or not np.isfinite(pe.get("estimate", np.nan)):
        out["reason"] = pe.get("reason") or "ensisijaista vaikutusarviota ei julkaista"
        return out
    cd = cost_data if cost_data is not None else data
    cd = cd[cd["arm"].isin([reference, comparator]) & cd["cost"].notna()].reset_index(drop=True)
    out["n_cost"] = cd["arm"].value_counts().to_dict()
    pc, design = adjusted_cost_difference(cd, "cost", reference, None, min_level, per_par, level)
    if not np.isfinite(pc.get("ci_low", np.nan)):
        out["reason"] = "kustannuserotukselle ei voitu laskea luottamusväliä"
        return out
    # the correlation of the two differences: joint client bootstrap of the adjusted regressions (paired sample)
    joint = _cea.bootstrap_cea(data, adjust=True, min_level=min_level, per_parameter=per_par, **kw)
    dde = joint["effects"][reference] - joint["effects"][comparator]
    ddc = joint["costs"][reference] - joint["costs"][comparator]
    corr = float(np.corrcoef(dde, ddc)[0, 1]) if dde.std() > 0 and ddc.std() > 0 else 0.0
    e0 = float(data.loc[data["arm"] == comparator, "change"].mean())
    c0 = float(cd.loc[cd["arm"] == comparator, "cost"].mean())
    peff = {k: pe[k] for k in ("estimate", "ci_low", "ci_high", "se", "df")}
    adj = _cea.matched_draws(peff, pc, corr, e0, c0, replicates, seed, level, reference, comparator)
    adj["design"] = design
    adj["n"] = out["n"]
    out["adjusted"] = adj
    icer = pc["estimate"] / peff["estimate"] if peff["estimate"] != 0 else np.nan
    out["wtp"] = wtp = _cea.wtp_grid(conf, icer)
    out["result"] = _cea.summarise(adj["effects"], adj["costs"], reference, wtp)
    out["result_unadjusted"] = _cea.summarise(una["effects"], una["costs"], reference, wtp)
    out["reading"] = _cea.icer_reading(peff, pc)
    for k in conf.get("wtp_report", []):
        out["inmb"][float(k)] = _cea.inmb_matched(adj, float(k), level)
        out["inmb_unadjusted"][float(k)] = (_cea.inmb_matched(una, float(k), level) if "scale" in una
                                            else _cea.inmb_interval(una, float(k), level))
    return out
