"""Strand 2 quantitative analyses: what HB clients bought and from whom, the baseline survey, HB assistants,
the development-process self-evaluation, and keyword theme coding of open answers.

Provider mix and diversification (plan §3.1 and §6.1)
-----------------------------------------------------
Every euro spent on a client is given a provider type (``julkinen``, ``yksityinen``, ``jarjesto``,
``laheisverkosto``, ``muu``):

* HB budget use (``budget_use``): the provider of each payment commitment, as recorded.
* Public service use (``services``, HB and control): always ``julkinen``; euros = quantity × unit cost from
  ``hbeval.yml`` → ``unit_costs.services`` (value in its own year, brought to ``unit_costs.price_year`` with
  ``price_index`` when present). Without unit costs the services cannot be put in euros; the share is then
  computed from the budget euros only and the result says so (``basis = "budget_only"``).

The *non-public share* of an arm is non-public euros / all euros of the arm's clients (a ratio of sums, so
clients with more spending weigh more). Control clients' services come from the public register only, so
their non-public share is 0 by construction — the comparison shows how much of HB's spending moved outside
the public services. A second, per-client measure is the number of provider types a client used
(public services count as one type).

Open answers
------------
Open answers are never published verbatim. :func:`theme_counts` codes them with a transparent keyword
codebook from ``hbeval.yml`` → ``theme_codebooks``: an answer gets every theme one of whose keywords (a word
stem, matched case-insensitively as a substring) occurs in it; answers matching no theme are counted as
``muu``. The codebook is data, so researchers can read and change it.
"""

from __future__ import annotations

import pandas as pd

PROVIDER_ORDER = ["julkinen", "yksityinen", "jarjesto", "laheisverkosto", "muu"]
PROVIDER_LABELS = {"julkinen": "Julkinen", "yksityinen": "Yksityinen", "jarjesto": "Järjestö",
                   "laheisverkosto": "Läheisverkosto", "muu": "Muu"}
NON_PUBLIC = [p for p in PROVIDER_ORDER if p != "julkinen"]
OTHER_THEME = "muu"

# baseline survey (LIITE 2.1) statements, 1–7
BASELINE_STATEMENTS = {
    "s4_1": "Työntekijät kertovat asiakkaalle aina eri palveluvaihtoehdoista",
    "s4_2": "Työntekijä tukee asiakasta hänen valinnoissaan",
    "s4_3": "Työntekijä opastaa asiakasta palvelujen käytössä",
    "s4_4": "Työntekijä seuraa ja arvioi asiakkaan tilannetta suunnitelmallisesti",
    "s4_5": "Asiakas on aina mukana palveluja kehitettäessä",
    "s5_1": "Seuraamme asiakaspalvelun merkitystä hyvinvoinnille ja toimintakyvylle",
    "s5_2": "Seuraamme palvelujen kohdentumista asiakkaan tarpeisiin",
    "s5_3": "Seuraamme palveluprosessien kustannusvaikuttavuutta",
    "s6": "Työskentelytavat mahdollistavat uusien tukevien toimintojen ja verkostojen löytämisen",
}


# -- unit costs and euros ---------------------------------------------------------

def unit_prices(cfg) -> dict[str, dict] | None:
    """Euro price per unit of each public service, from ``unit_costs.services`` (``None`` when absent).

    A value given for year *y* is brought to ``unit_costs.price_year`` with ``price_index.values`` when both
    are configured (value × index[price_year] / index[y]); otherwise it is used as written.

    Parameters
    ----------
    cfg : Config

    Returns
    -------
    dict or None
        Lower-case service name → ``{"eur": € per unit, "unit": unit or None}``.
    """
    uc = (cfg.section("unit_costs") or {}) if cfg is not None else {}
    services = uc.get("services") if isinstance(uc, dict) else None
    if not services:
        return None
    index = ((cfg.section("price_index") or {}).get("values") or {})
    index = {int(k): float(v) for k, v in index.items()}
    target = uc.get("price_year")
    out = {}
    for name, spec in services.items():
        if isinstance(spec, dict):
            value = spec.get("value", spec.get("eur"))
            year, unit = spec.get("year"), spec.get("unit")
        else:
            value, year, unit = spec, None, None
        if value is None:
            continue
        value = float(value)
        if target is not None and year is not None and int(year) in index and int(target) in index:
            value = value * index[int(target)] / index[int(year)]
        out[str(name).strip().casefold()] = {"eur": value,
                                             "unit": str(unit).strip().casefold() if unit is not None else None}
    return out


def spending_by_provider(budget_use: pd.DataFrame, services: pd.DataFrame,
                         prices: dict[str, dict] | None) -> pd.DataFrame:
    """One row per spending record with its provider type and euros (see module docstring).

    Parameters
    ----------
    budget_use : DataFrame
        ``budget_use`` table (HB payment commitments).
    services : DataFrame
        ``services`` table (public services, HB and control).
    prices : dict or None
        Price by service (:func:`unit_prices`; a plain number is also accepted); ``None`` leaves services
        out (no euros known). A row whose unit differs from the price's unit is not priced.

    Returns
    -------
    DataFrame
        Columns ``client_id, pilot, client_group, arm, source ("budjetti"/"palvelut"), provider, eur``.
        Services without a price for their name and unit are left out (their count is in
        ``attrs["unpriced_rows"]`` and the services by name in ``attrs["unpriced_services"]``).
    """
    cols = ["client_id", "pilot", "client_group", "arm", "source", "provider", "eur"]
    parts = []
    if len(budget_use):
        b = budget_use[["client_id", "pilot", "client_group", "arm"]].copy()
        b["source"] = "budjetti"
        b["provider"] = budget_use["provider"].astype("string").fillna("muu").str.strip().str.casefold()
        b["eur"] = pd.to_numeric(budget_use["amount_eur"], errors="coerce").astype(float)
        parts.append(b)
    unpriced, unpriced_services = 0, {}
    if prices is not None and len(services):
        names = services["service"].astype("string").str.strip().str.casefold()
        units = services["unit"].astype("string").str.strip().str.casefold() if "unit" in services else None
        spec = [prices.get(n) if isinstance(n, str) else None for n in names]
        spec = [p if isinstance(p, dict) else ({"eur": float(p), "unit": None} if p is not None else None)
                for p in spec]
        price = pd.Series([p["eur"] if p is not None and (p["unit"] is None or units is None or pd.isna(u)
                                                           or u == p["unit"]) else None
                           for p, u in zip(spec, units if units is not None else [None] * len(spec))],
                          index=services.index, dtype="float64")
        unpriced = int(price.isna().sum())
        unpriced_services = names[price.isna()].value_counts().to_dict()
        s = services[["client_id", "pilot", "client_group", "arm"]].copy()
        s["source"] = "palvelut"
        s["provider"] = "julkinen"
        s["eur"] = (pd.to_numeric(services["quantity"], errors="coerce") * price.astype(float)).astype(float)
        parts.append(s[price.notna().to_numpy()])
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)
    out = out[cols]
    out = out[out["eur"].notna()].reset_index(drop=True)
    out.attrs["unpriced_rows"] = unpriced
    out.attrs["unpriced_services"] = unpriced_services
    out.attrs["basis"] = "budget_and_services" if prices is not None else "budget_only"
    return out


def provider_shares(spending: pd.DataFrame, by: str | list[str] | None = None) -> pd.DataFrame:
    """Share of euros by provider type (0–1), optionally within groups.

    Parameters
    ----------
    spending : DataFrame
        Output of :func:`spending_by_provider` (or any frame with ``provider`` and ``eur``).
    by : str or list of str, optional
        Grouping columns (e.g. ``"arm"``, ``["arm", "client_group"]``).

    Returns
    -------
    DataFrame
        One row per group (or a single row ``kaikki``); columns = providers in :data:`PROVIDER_ORDER`
        (shares summing to 1), ``eur`` (total) and ``n_clients``.
    """
    by = [by] if isinstance(by, str) else list(by or [])
    df = spending.copy()
    if not by:
        df["_all"] = "kaikki"
        by = ["_all"]
    eur = df.pivot_table(index=by, columns="provider", values="eur", aggfunc="sum", fill_value=0.0,
                         observed=True)
    eur = eur.reindex(columns=PROVIDER_ORDER + [c for c in eur.columns if c not in PROVIDER_ORDER],
                      fill_value=0.0)
    total = eur.sum(axis=1)
    shares = eur.div(total.where(total > 0), axis=0)
    shares["eur"] = total
    shares["n_clients"] = df.groupby(by, observed=True)["client_id"].nunique().reindex(shares.index)
    if by == ["_all"]:
        shares.index = pd.Index(["kaikki"], name="ryhmä")
    shares.columns.name = None
    return shares


def nonpublic_share(spending: pd.DataFrame, by: str | list[str] = "arm") -> pd.DataFrame:
    """Non-public euros / all euros per group (ratio of sums).

    Returns
    -------
    DataFrame
        Index = groups; columns ``eur``, ``eur_nonpublic``, ``share`` (0–1), ``n_clients``.
    """
    by = [by] if isinstance(by, str) else list(by)
    df = spending.assign(_np=spending["eur"].where(spending["provider"] != "julkinen", 0.0))
    g = df.groupby(by, observed=True)
    out = pd.DataFrame({"eur": g["eur"].sum(), "eur_nonpublic": g["_np"].sum(),
                        "n_clients": g["client_id"].nunique()})
    out["share"] = out["eur_nonpublic"] / out["eur"].where(out["eur"] > 0)
    return out


def provider_types_per_client(spending: pd.DataFrame, clients: pd.DataFrame | None = None) -> pd.DataFrame:
    """Number of distinct provider types per client.

    Parameters
    ----------
    spending : DataFrame
        Output of :func:`spending_by_provider`.
    clients : DataFrame, optional
        ``clients`` table: clients without any spending record are included with 0 types.

    Returns
    -------
    DataFrame
        ``client_id, arm, pilot, client_group, n_types``.
    """
    keys = ["client_id", "arm", "pilot", "client_group"]
    n = spending.groupby(keys, observed=True, dropna=False)["provider"].nunique().rename("n_types").reset_index()
    if clients is not None and len(clients):
        base = clients[keys].drop_duplicates("client_id")
        n = base.merge(n[["client_id", "n_types"]], on="client_id", how="left")
        n["n_types"] = n["n_types"].fillna(0)
    n["n_types"] = n["n_types"].astype(int)
    return n


def bootstrap_share_se(spending: pd.DataFrame, provider: str | list[str], n_boot: int = 500,
                       seed: int = 0) -> float:
    """Bootstrap standard error of a euro share, resampling clients (spending is clustered by client).

    Parameters
    ----------
    spending : DataFrame
        Rows with ``client_id``, ``provider``, ``eur`` (one arm).
    provider : str or list of str
        The provider type(s) whose share of euros is estimated.
    n_boot : int
        Bootstrap replicates.
    seed : int
        Seed of the generator.
    """
    import numpy as np

    provs = [provider] if isinstance(provider, str) else list(provider)
    per = spending.assign(_p=spending["eur"].where(spending["provider"].isin(provs), 0.0)) \
        .groupby("client_id")[["eur", "_p"]].sum()
    if len(per) < 2:
        return float("nan")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(per), size=(n_boot, len(per)))
    tot = per["eur"].to_numpy()[idx].sum(axis=1)
    part = per["_p"].to_numpy()[idx].sum(axis=1)
    return float(np.std(part / tot, ddof=1))


# -- Likert-type statements ----------------------------------------------------------

def likert_summary(df: pd.DataFrame, items, by: str | list[str] | None = None) -> pd.DataFrame:
    """n, median and quartiles (IQR) of ordinal items, optionally by group.

    Quartiles are R's default ``quantile(type = 7)`` (linear interpolation), which is also pandas' default.

    Parameters
    ----------
    df : DataFrame
        One row per respondent.
    items : list of str
        Item columns (numeric; missing = not answered).
    by : str or list of str, optional
        Grouping columns.

    Returns
    -------
    DataFrame
        Columns ``*by, item, n, median, q1, q3, iqr``.
    """
    by = [by] if isinstance(by, str) else list(by or [])
    long = df[by + list(items)].melt(id_vars=by, var_name="item", value_name="value")
    long["value"] = pd.to_numeric(long["value"], errors="coerce").astype(float)
    long = long.dropna(subset=["value"])
    g = long.groupby(by + ["item"], observed=True)["value"]
    out = pd.DataFrame({"n": g.size(), "median": g.median(), "q1": g.quantile(0.25), "q3": g.quantile(0.75)})
    out["iqr"] = out["q3"] - out["q1"]
    out = out.reset_index()
    out["item"] = pd.Categorical(out["item"], categories=list(items), ordered=True)
    return out.sort_values(by + ["item"]).reset_index(drop=True).assign(item=lambda d: d["item"].astype(str))


def likert_distribution(df: pd.DataFrame, items, levels, by: str | None = None) -> pd.DataFrame:
    """Counts of each answer level per item (and group): index ``(by, item)``, columns = levels."""
    cols = ([by] if by else []) + list(items)
    long = df[cols].melt(id_vars=[by] if by else [], var_name="item", value_name="value")
    long["value"] = pd.to_numeric(long["value"], errors="coerce")
    long = long.dropna(subset=["value"])
    long["value"] = long["value"].astype(int)
    idx = ([by] if by else []) + ["item"]
    out = long.groupby(idx + ["value"], observed=True).size().unstack("value", fill_value=0)
    return out.reindex(columns=list(levels), fill_value=0).astype(int)


# -- keyword themes --------------------------------------------------------------

def theme_matrix(texts, themes: list[dict]) -> pd.DataFrame:
    """Which themes each answer mentions.

    Parameters
    ----------
    texts : iterable of str
        Open answers; missing and empty answers are dropped.
    themes : list of dict
        ``{"key", "label", "keywords": [...]}`` (from ``hbeval.yml`` → ``theme_codebooks``).

    Returns
    -------
    DataFrame
        One boolean column per theme key plus :data:`OTHER_THEME` (no theme matched); one row per answer.
    """
    s = pd.Series(list(texts), dtype="object")
    s = s[s.notna()].astype(str).str.strip()
    s = s[s != ""].str.casefold().reset_index(drop=True)
    out = pd.DataFrame(index=s.index)
    for th in themes:
        kws = [str(k).casefold() for k in th.get("keywords", [])]
        out[th["key"]] = s.map(lambda t, kws=kws: any(k in t for k in kws)).astype(bool)
    out[OTHER_THEME] = ~out.any(axis=1) if len(themes) else True
    return out


def theme_counts(texts, themes: list[dict]) -> pd.DataFrame:
    """Number and share of answers mentioning each theme (an answer may mention several).

    Returns
    -------
    DataFrame
        Index theme key; columns ``label``, ``n`` (answers), ``share`` (of all answers, 0–1).
        ``attrs["n_answers"]`` holds the number of non-empty answers.
    """
    m = theme_matrix(texts, themes)
    labels = {th["key"]: th.get("label", th["key"]) for th in themes}
    labels[OTHER_THEME] = "Muu / ei luokiteltu"
    n = m.sum().astype(int)
    out = pd.DataFrame({"label": [labels[k] for k in m.columns], "n": n.values}, index=pd.Index(m.columns,
                                                                                                 name="teema"))
    out["share"] = out["n"] / len(m) if len(m) else float("nan")
    out.attrs["n_answers"] = len(m)
    return out


# -- HB assistants -------------------------------------------------------------

def assistant_time(avustajakulut: pd.DataFrame) -> pd.DataFrame:
    """Time each HB assistant (one LIITE 3.3 file = one assistant–client pair) gave.

    Returns
    -------
    DataFrame
        One row per assistant file: ``assistant_id, pilot, relationship, hours, travel_hours, n_days``.
    """
    if avustajakulut.empty:
        return pd.DataFrame(columns=["assistant_id", "pilot", "relationship", "hours", "travel_hours", "n_days"])
    a = avustajakulut.copy()
    a["minutes"] = pd.to_numeric(a["minutes"], errors="coerce").fillna(0)
    a["travel_minutes"] = pd.to_numeric(a["travel_minutes"], errors="coerce").fillna(0)
    g = a.groupby("assistant_id", observed=True)
    out = pd.DataFrame({"pilot": g["pilot"].first(), "relationship": g["relationship"].first(),
                        "hours": g["minutes"].sum() / 60.0, "travel_hours": g["travel_minutes"].sum() / 60.0,
                        "n_days": g["date"].nunique()})
    return out.reset_index()


# -- development-process self-evaluation --------------------------------------------

def feedback_by_period(feedback: pd.DataFrame, freq: str = "half") -> pd.DataFrame:
    """Event feedback ratings (1–5) per half-year (``"half"``, e.g. ``2017/2``) or quarter (``"quarter"``).

    Returns
    -------
    DataFrame
        ``period, n, mean, n_events``.
    """
    f = feedback.dropna(subset=["date"]).copy()
    f["rating"] = pd.to_numeric(f["rating"], errors="coerce")
    f = f.dropna(subset=["rating"])
    if f.empty:
        return pd.DataFrame(columns=["period", "n", "mean", "n_events"])
    d = pd.to_datetime(f["date"])
    if freq == "quarter":
        f["period"] = d.dt.year.astype(str) + "/Q" + d.dt.quarter.astype(str)
    else:
        f["period"] = d.dt.year.astype(str) + "/" + ((d.dt.month > 6) + 1).astype(str)
    g = f.groupby("period")
    return pd.DataFrame({"n": g["rating"].size(), "mean": g["rating"].mean().astype(float),
                         "n_events": g["event"].nunique()}).reset_index()


def self_evaluation_summary(self_evaluation: pd.DataFrame, by=("pilot", "period")) -> pd.DataFrame:
    """Mean goal self-evaluation rating (1–5) and number of goals rated by group (default pilot × period)."""
    s = self_evaluation.copy()
    s["rating"] = pd.to_numeric(s["rating"], errors="coerce")
    s = s.dropna(subset=["rating"])
    by = list(by)
    if s.empty:
        return pd.DataFrame(columns=by + ["n", "mean"])
    g = s.groupby(by, observed=True)["rating"]
    return pd.DataFrame({"n": g.size(), "mean": g.mean().astype(float)}).reset_index()


# -- synthesis (final report) ------------------------------------------------------

NOT_AVAILABLE = "ei saatavilla"


def format_fi(value, key: str = "", decimals: int | None = None) -> str:
    """A number in Finnish notation for the report: shares (keys with ``share``, values 0–1) as ``34 %``,
    large numbers with a space as thousands separator (``1 235``), small ones with a decimal comma (``0,35``).

    Examples
    --------
    >>> format_fi(0.3382, "palvelut.nonpublic_share.hb"), format_fi(1234.5), format_fi(-0.234), format_fi(-0.001, "", 2)
    ('34 %', '1 235', '-0,23', '0,00')
    """
    from decimal import ROUND_HALF_UP, Decimal

    if value is None or pd.isna(value):
        return NOT_AVAILABLE
    v = float(value)
    if "share" in key:
        # a difference of two shares is in percentage points ("24 %" read as a share of something)
        v, suffix, decimals = 100 * v, " %-yks." if "share_diff" in key else " %", 0
    else:
        suffix = ""
        if decimals is None:
            decimals = 0 if v.is_integer() else default_decimals(v)
    d = Decimal(repr(v)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)  # 0.5 rounds up
    if d == 0:
        d = abs(d)   # no "-0,00": the strand pages print 0,00 for the same number (report.num)
    return f"{d:,.{decimals}f}".replace(",", " ").replace(".", ",") + suffix


def default_decimals(v: float) -> int:
    """Decimals shown for a number: 0 from 100 up, 1 from 10 up, else 2."""
    return 0 if abs(v) >= 100 else 1 if abs(v) >= 10 else 2


def evidence_table(results: pd.DataFrame, criterion: dict) -> pd.DataFrame:
    """The evidence rows of one success criterion (``hbeval.yml`` → ``success_criteria``) from strand results.

    Parameters
    ----------
    results : DataFrame
        Strand results tables merged (columns of :mod:`hbeval_lib.page.results`), for one phase and pilot.
    criterion : dict
        ``{"key", "text", "evidence": [{"strand", "key", "label"}, ...]}``.

    Returns
    -------
    DataFrame
        One row per evidence item: ``strand, key, label, available`` (bool), ``value`` (formatted text,
        :data:`NOT_AVAILABLE` when the key is missing or suppressed), ``ci`` (formatted 95 % CI or ""),
        ``n``, and the raw ``estimate``, ``ci_low``, ``ci_high``.
    """
    rows = []
    idx = results.set_index(["strand", "key"]) if len(results) else None
    for ev in criterion.get("evidence", []):
        rec = None
        if idx is not None and (ev["strand"], ev["key"]) in idx.index:
            rec = idx.loc[(ev["strand"], ev["key"])]
            rec = rec.iloc[0] if isinstance(rec, pd.DataFrame) else rec
        ok = rec is not None and not bool(rec["suppressed"]) and pd.notna(rec["estimate"])
        est = float(rec["estimate"]) if ok else None
        lo = float(rec["ci_low"]) if ok and pd.notna(rec["ci_low"]) else None
        hi = float(rec["ci_high"]) if ok and pd.notna(rec["ci_high"]) else None
        rows.append({"strand": ev["strand"], "key": ev["key"], "label": ev.get("label", ev["key"]),
                     # ``decimals``: the strand page's rounding of this fact (one fact, one rounding)
                     "available": ok, "value": format_fi(est, ev["key"], ev.get("decimals")),
                     "ci": f"{format_fi(lo, ev['key'], default_decimals(est))} … "
                           f"{format_fi(hi, ev['key'], default_decimals(est))}" if lo is not None and
                     hi is not None else "",
                     "n": int(rec["n"]) if ok and pd.notna(rec["n"]) else None,
                     "estimate": est, "ci_low": lo, "ci_high": hi})
    return pd.DataFrame(rows, columns=["strand", "key", "label", "available", "value", "ci", "n", "estimate",
                                       "ci_low", "ci_high"])
