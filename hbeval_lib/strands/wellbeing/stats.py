"""Strand 1 — client wellbeing, functioning and participation: tidy preparation and statistics.

The functions take the tidy tables of :mod:`hbeval_lib.core.schema` (``clients``, ``kykyviisari``,
``osallisuustesti``, ``asiakaskysely``, ``esr``, ``avustajakulut``) and return tidy DataFrames or dicts
with documented keys. Nothing here publishes anything: the notebook passes every number through
:class:`hbeval_lib.page.disclosure.Disclosure`.

Conventions
-----------
* Arms are ``"hb"`` and ``"verrokki"``; HB − control differences are positive when HB is better.
* A client's *start* is the first ``alku`` measurement, the *end* the latest ``loppu`` (or, in the interim
  phase, the latest ``vali``/``loppu``); ``change = end − start``.
* The between-group effect (primary analysis, :func:`effect_analysis`) is the doubly robust (AIPW,
  :mod:`hbeval_lib.strands.wellbeing.causal`) HB − control difference in change, with propensity and outcome models on the plan's
  baseline covariates (age, sex, family type, labour status, client group, start score, + pilot when all pilots
  are analysed), missing end scores multiply imputed under MAR, and a stacked-sandwich standard error. The
  ANCOVA on the start score (+ pilot) and the difference in mean change are secondary analyses; complete cases
  are a sensitivity analysis. :func:`ancova` with propensity weights (HC3, HC1 when a row has leverage 1) is kept
  for other uses.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from hbeval_lib.core.estimators import welch_difference
from hbeval_lib.core.schema import FAMILY_DOMAINS, KYKYVIISARI_DOMAINS

DOMAINS: dict[str, str] = {**KYKYVIISARI_DOMAINS, **FAMILY_DOMAINS}
ARMS = ("hb", "verrokki")
OCCASIONS = ("alku", "vali", "loppu")
_OCC_ALIASES = {"väli": "vali", "valimittaus": "vali", "välimittaus": "vali", "alkumittaus": "alku",
                "loppumittaus": "loppu"}
STAT_KEYS = ("estimate", "ci_low", "ci_high", "se", "p_value", "n", "n_hb", "n_verrokki")


# ---------------------------------------------------------------------------------------------------------------
# preparation
# ---------------------------------------------------------------------------------------------------------------
def normalise_occasion(values: pd.Series) -> pd.Series:
    """Occasion labels as ``alku`` / ``vali`` / ``loppu`` (trimmed, case-folded, ``väli`` → ``vali``)."""
    s = values.astype("string").str.strip().str.casefold()
    return s.replace(_OCC_ALIASES)


def paired_scores(measurements: pd.DataFrame, value: str, end_occasions: Sequence[str] = ("loppu",),
                  clients: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per client with a start and an end score of ``value``.

    Parameters
    ----------
    measurements : DataFrame
        A ``kykyviisari`` or ``osallisuustesti`` table (linkage columns, ``date``, ``occasion``, ``value``).
    value : str
        The score column (a domain key or ``"score"``).
    end_occasions : sequence of str
        Occasions that count as the follow-up; the latest such measurement is used (``("loppu",)`` in the final
        report, ``("vali", "loppu")`` in the interim report).
    clients : DataFrame, optional
        The roster; when given its baseline covariates (age, gender, family_structure, labour_status) are joined.

    Returns
    -------
    DataFrame
        Columns ``client_id, pilot, client_group, arm, start, end, change`` (+ roster covariates); only clients
        with both scores.
    """
    cols = ["client_id", "pilot", "client_group", "arm", "start", "end", "change"]
    if measurements is None or measurements.empty or value not in measurements.columns:
        return pd.DataFrame(columns=cols)
    m = measurements[["client_id", "pilot", "client_group", "arm", "date", "occasion", value]].copy()
    m["occasion"] = normalise_occasion(m["occasion"])
    m = m[m[value].notna()].sort_values(["client_id", "date"], kind="stable")
    start = m[m["occasion"] == "alku"].groupby("client_id", sort=True).head(1)
    end = m[m["occasion"].isin(list(end_occasions))].groupby("client_id", sort=True).tail(1)
    end = end[["client_id", "date", value]].rename(columns={value: "end", "date": "end_date_m"})
    out = start.rename(columns={value: "start", "date": "start_date_m"}).merge(end, on="client_id", how="inner")
    out = out[out["end_date_m"] > out["start_date_m"]]
    out = out.assign(start=out["start"].astype(float), end=out["end"].astype(float))
    out["change"] = out["end"] - out["start"]
    out = out[cols].sort_values("client_id").reset_index(drop=True)
    if clients is not None and not clients.empty:
        covs = [c for c in ROSTER_COVARIATES if c in clients.columns]
        out = out.merge(clients[["client_id", *covs]].drop_duplicates("client_id"), on="client_id", how="left")
    return out


def occasion_scores(measurements: pd.DataFrame, value: str) -> pd.DataFrame:
    """One score per client and occasion (first ``alku``, latest ``vali`` and ``loppu``) for trajectory figures.

    Returns columns ``client_id, pilot, arm, occasion, score``.
    """
    cols = ["client_id", "pilot", "arm", "occasion", "score"]
    if measurements is None or measurements.empty or value not in measurements.columns:
        return pd.DataFrame(columns=cols)
    m = measurements[["client_id", "pilot", "arm", "date", "occasion", value]].copy()
    m["occasion"] = normalise_occasion(m["occasion"])
    m = m[m[value].notna() & m["occasion"].isin(OCCASIONS)].sort_values(["client_id", "date"], kind="stable")
    first = m[m["occasion"] == "alku"].groupby("client_id").head(1)
    last = m[m["occasion"] != "alku"].groupby(["client_id", "occasion"]).tail(1)
    out = pd.concat([first, last]).rename(columns={value: "score"})
    out["score"] = out["score"].astype(float)
    out["occasion"] = pd.Categorical(out["occasion"], categories=list(OCCASIONS), ordered=True)
    return out[cols].sort_values(["client_id", "occasion"]).reset_index(drop=True)


def measurement_coverage(clients: pd.DataFrame, measurements: pd.DataFrame) -> pd.DataFrame:
    """Clients by arm with a start, interim and end measurement, and with both start and end.

    Returns a DataFrame indexed by ``arm`` with integer columns
    ``asiakkaita, alku, vali, loppu, alku_ja_loppu``.
    """
    idx = pd.Index(list(ARMS), name="arm")
    res = pd.DataFrame(0, index=idx, columns=["asiakkaita", "alku", "vali", "loppu", "alku_ja_loppu"])
    if clients is not None and not clients.empty:
        res["asiakkaita"] = clients.groupby("arm")["client_id"].nunique().reindex(idx, fill_value=0)
    if measurements is not None and not measurements.empty:
        m = measurements.assign(occasion=normalise_occasion(measurements["occasion"]))
        if clients is not None and not clients.empty:
            m = m[m["client_id"].isin(clients["client_id"])]
        has = m.groupby(["arm", "occasion"])["client_id"].nunique().unstack(fill_value=0)
        for occ in OCCASIONS:
            if occ in has.columns:
                res[occ] = has[occ].reindex(idx, fill_value=0)
        occ = pd.crosstab(m["client_id"], m["occasion"])
        both = occ.index[(occ.get("alku", 0) > 0) & (occ.get("loppu", 0) > 0)] if len(occ) else []
        res["alku_ja_loppu"] = (m[m["client_id"].isin(both)].groupby("arm")["client_id"].nunique()
                                .reindex(idx, fill_value=0))
    return res.astype(int)


def recruitment_table(clients: pd.DataFrame, by: str = "pilot") -> pd.DataFrame:
    """Counts of clients by ``by`` (``pilot`` or ``client_group``) and arm, with a total column."""
    if clients is None or clients.empty:
        return pd.DataFrame(columns=[*ARMS, "yhteensä"])
    t = pd.crosstab(clients[by], clients["arm"]).reindex(columns=list(ARMS), fill_value=0)
    t["yhteensä"] = t.sum(axis=1)
    t.index.name = by
    t.columns.name = None
    return t.astype(int)


# ---------------------------------------------------------------------------------------------------------------
# statistics
# ---------------------------------------------------------------------------------------------------------------
def paired_change(start: Iterable[float], end: Iterable[float], confidence: float = 0.95) -> dict:
    """Within-group change ``end − start``: paired t test, Wilcoxon signed-rank test and d_z.

    The t interval is the usual one for a mean difference; the Wilcoxon test uses the normal approximation with
    continuity correction and ``zero_method="wilcox"`` (as R's ``wilcox.test(..., paired = TRUE, exact = FALSE,
    correct = TRUE)``); its statistic is the rank sum of the positive differences (R's ``V``).
    ``d_z = mean(change) / sd(change)``.

    Returns
    -------
    dict
        ``n, mean_start, mean_end, estimate`` (mean change), ``ci_low, ci_high, sd_change, t, df, p_value``
        (t test), ``wilcoxon_v, p_wilcoxon, d_z``. Fewer than two pairs give NaNs.
    """
    x = np.asarray(list(start), dtype=float)
    y = np.asarray(list(end), dtype=float)
    ok = ~(np.isnan(x) | np.isnan(y))
    x, y = x[ok], y[ok]
    d = y - x
    n = int(d.size)
    out = {k: math.nan for k in ("mean_start", "mean_end", "estimate", "ci_low", "ci_high", "sd_change", "t",
                                 "df", "p_value", "wilcoxon_v", "p_wilcoxon", "d_z")}
    out["n"] = n
    if n == 0:
        return out
    out.update(mean_start=float(x.mean()), mean_end=float(y.mean()), estimate=float(d.mean()))
    if n < 2:
        return out
    sd = float(d.std(ddof=1))
    out["sd_change"] = sd
    out["df"] = n - 1
    if sd > 0:
        se = sd / math.sqrt(n)
        tcrit = stats.t.ppf(0.5 + confidence / 2, n - 1)
        out.update(t=out["estimate"] / se, ci_low=out["estimate"] - tcrit * se,
                   ci_high=out["estimate"] + tcrit * se, d_z=out["estimate"] / sd)
        out["p_value"] = float(2 * stats.t.sf(abs(out["t"]), n - 1))
    nz = d[d != 0]
    if nz.size > 0:
        ranks = stats.rankdata(np.abs(nz))
        out["wilcoxon_v"] = float(ranks[nz > 0].sum())
        if np.unique(nz).size > 1 or nz.size > 1:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # scipy warns on tiny samples
                res = stats.wilcoxon(nz, zero_method="wilcox", correction=True, method="approx")
            out["p_wilcoxon"] = float(res.pvalue)
    return out


def _formula_terms(covariates: Sequence[str], data: pd.DataFrame, pilot_effects: bool) -> list[str]:
    terms = []
    for c in covariates:
        if c not in data.columns:
            continue
        col = data[c]
        if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            terms.append(c)
            if f"{c}_puuttuu" in data.columns:
                terms.append(f"{c}_puuttuu")  # missingness indicator of a mean-filled covariate
        elif col.nunique(dropna=True) > 1:
            terms.append(f"C({c})")
    if pilot_effects and "pilot" in data.columns and data["pilot"].nunique() > 1:
        terms.append("C(pilot)")
    return terms


def _prepare_model_frame(pairs: pd.DataFrame, covariates: Sequence[str]) -> pd.DataFrame:
    d = pairs.copy()
    d = d[d["arm"].isin(ARMS) & d["start"].notna() & d["end"].notna()]
    d["hb"] = (d["arm"] == "hb").astype(float)
    return _fill_covariates(d, covariates).reset_index(drop=True)


def _fill_covariates(d: pd.DataFrame, covariates: Sequence[str]) -> pd.DataFrame:
    """Numeric covariates: missing → mean plus a ``<name>_puuttuu`` indicator; others: missing → own level."""
    d = d.copy()
    for c in covariates:
        if c not in d.columns:
            continue
        if pd.api.types.is_numeric_dtype(d[c]):
            v = d[c].astype(float)
            if v.isna().any() and v.notna().any():  # mean fill plus a missingness indicator, never a bare fill
                d[f"{c}_puuttuu"] = v.isna().astype(float)
            d[c] = v.fillna(v.mean() if v.notna().any() else 0.0)
        else:
            d[c] = d[c].astype("string").fillna("puuttuu").astype(object)
    if "pilot" in d.columns:
        d["pilot"] = d["pilot"].astype(object)
    return d


def _empty_effect(n=0, n_hb=0, n_c=0) -> dict:
    out = {k: math.nan for k in STAT_KEYS}
    out.update(n=n, n_hb=n_hb, n_verrokki=n_c)
    return out


def ancova(pairs: pd.DataFrame, covariates: Sequence[str] = (), pilot_effects: bool = False,
           weights: pd.Series | np.ndarray | None = None, confidence: float = 0.95) -> dict:
    """HB − control difference in the end score adjusted for the start score (ANCOVA by OLS / WLS).

    Model: ``end ~ hb + start [+ covariates] [+ C(pilot)]``. Without weights the usual OLS standard errors are
    used; with ``weights`` (e.g. :func:`propensity_weights`) the model is fitted by weighted least squares with
    HC3 robust standard errors — unless a row has leverage 1 (e.g. the only client of a pilot), where HC3 divides
    by zero: then HC1 is used and ``note`` says so. A missing numeric covariate is mean-filled with a
    missingness indicator in the model.

    Parameters
    ----------
    pairs : DataFrame
        Output of :func:`paired_scores` (``arm, start, end`` and any covariate columns).
    covariates : sequence of str
        Extra adjustment columns; numeric ones enter linearly, others as categorical (missing = own level).
    pilot_effects : bool
        Add pilot fixed effects (use when all pilots are analysed together).
    weights : array-like, optional
        Observation weights aligned with ``pairs`` rows.

    Returns
    -------
    dict
        ``estimate, ci_low, ci_high, se, p_value, n, n_hb, n_verrokki`` (and ``slope_start``). NaNs when the
        model cannot be estimated (a group empty, or no residual degrees of freedom).
    """
    import statsmodels.formula.api as smf

    d = _prepare_model_frame(pairs, covariates)
    if weights is not None:
        w = pd.Series(np.asarray(weights, dtype=float), index=pairs.index)
        w = w.loc[pairs.index[pairs["arm"].isin(ARMS) & pairs["start"].notna() & pairs["end"].notna()]]
        d["_w"] = w.to_numpy()
        d = d[np.isfinite(d["_w"]) & (d["_w"] > 0)]
    n_hb, n_c = int((d["hb"] == 1).sum()), int((d["hb"] == 0).sum())
    terms = _formula_terms(covariates, d, pilot_effects)
    n_params = 3 + sum(d[t[2:-1]].nunique() - 1 if t.startswith("C(") else 1 for t in terms)
    if n_hb == 0 or n_c == 0 or len(d) <= n_params:
        return _empty_effect(len(d), n_hb, n_c)
    formula = "end ~ hb + start" + "".join(f" + {t}" for t in terms)
    note = ""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"statsmodels\..*")
        if weights is None:
            fit = smf.ols(formula, data=d).fit()
        else:
            model = smf.wls(formula, data=d, weights=d["_w"])
            wx = model.wexog
            leverage = np.einsum("ij,ji->i", wx, np.linalg.pinv(wx))  # diagonal of the hat matrix
            cov = "HC3"
            if leverage.max() > 1 - 1e-8:
                cov = "HC1"
                note = "HC1 (havainto, jonka vipuarvo on 1)"
            fit = model.fit(cov_type=cov)
        ci = fit.conf_int(alpha=1 - confidence).loc["hb"]
    out = {"estimate": float(fit.params["hb"]), "ci_low": float(ci.iloc[0]), "ci_high": float(ci.iloc[1]),
           "se": float(fit.bse["hb"]), "p_value": float(fit.pvalues["hb"]), "n": int(fit.nobs),
           "n_hb": n_hb, "n_verrokki": n_c, "slope_start": float(fit.params["start"]), "note": note}
    if not all(math.isfinite(out[k]) for k in ("ci_low", "ci_high", "p_value", "se")):
        out.update(ci_low=math.nan, ci_high=math.nan, p_value=math.nan, se=math.nan,
                   reason="keskivirhe ei ole äärellinen")
    return out


def propensity_weights(data: pd.DataFrame, covariates: Sequence[str], estimand: str = "ATT",
                       pilot_effects: bool = False, clip: tuple[float, float] = (0.02, 0.98)) -> pd.Series:
    """Propensity-score weights from a logistic model of HB membership on baseline covariates.

    Parameters
    ----------
    data : DataFrame
        Rows with ``arm`` and the covariate columns (numeric linear, others categorical; missing values become
        the mean plus a missingness indicator, or their own level).
    covariates : sequence of str
        Baseline covariates, e.g. ``["age", "gender", "labour_status", "start"]``.
    estimand : {"ATT", "ATE"}
        ATT: HB weight 1, control ``ps/(1−ps)`` (the effect among those who chose HB — the default, because
        clients self-selected into HB). ATE: HB ``1/ps``, control ``1/(1−ps)``.
    pilot_effects : bool
        Include the pilot as a categorical covariate.
    clip : (float, float)
        Propensity scores are clipped to this range (limits extreme weights).

    Returns
    -------
    Series
        Weights aligned with ``data.index`` (NaN for rows whose arm is not hb/verrokki). If the logistic model
        cannot be fitted, all weights are 1 (the unweighted analysis) and the Series' ``attrs["fitted"]`` is
        ``False``.
    """
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    estimand = estimand.upper()
    if estimand not in ("ATT", "ATE"):
        raise ValueError(f"estimand must be 'ATT' or 'ATE', got {estimand!r}")
    keep = data["arm"].isin(ARMS)
    d = data.loc[keep].copy()
    d["hb"] = (d["arm"] == "hb").astype(float)
    d = _fill_covariates(d, covariates)
    terms = _formula_terms(covariates, d, pilot_effects)
    out = pd.Series(np.nan, index=data.index, dtype=float)
    fitted = False
    ps = None
    if d["hb"].nunique() == 2 and terms and len(d) > 2 * len(terms) + 2:
        try:
            from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                warnings.simplefilter("ignore", PerfectSeparationWarning)
                warnings.simplefilter("ignore", RuntimeWarning)
                fit = smf.glm("hb ~ " + " + ".join(terms), data=d, family=sm.families.Binomial()).fit()
                ps = np.clip(np.asarray(fit.predict(d), dtype=float), clip[0], clip[1])
            fitted = bool(np.all(np.isfinite(ps)))
        except (ValueError, np.linalg.LinAlgError):
            fitted = False
    if fitted:
        t = d["hb"].to_numpy()
        if estimand == "ATT":
            w = np.where(t == 1, 1.0, ps / (1 - ps))
        else:
            w = np.where(t == 1, 1 / ps, 1 / (1 - ps))
        out.loc[d.index] = w
    else:
        out.loc[d.index] = 1.0
    out.attrs["fitted"] = fitted
    out.attrs["estimand"] = estimand
    return out


def smd(treated: Iterable[float], control: Iterable[float]) -> float:
    """Standardised mean difference ``(mean_t − mean_c) / sqrt((var_t + var_c) / 2)`` (Austin 2009).

    For a 0/1 indicator this equals ``(p_t − p_c) / sqrt((p_t(1−p_t) + p_c(1−p_c)) / 2)`` when the
    variances are taken with ``ddof=0``; sample variances (``ddof=1``) are used here for continuous variables and
    ``p(1−p)`` for binary ones, as in Austin (2009, Stat Med 28:3083) eqs. 1–2.
    """
    t = pd.Series(list(treated), dtype=float).dropna()
    c = pd.Series(list(control), dtype=float).dropna()
    if t.size == 0 or c.size == 0:
        return math.nan
    binary = set(t.unique()) | set(c.unique()) <= {0.0, 1.0}
    if binary:
        pt, pc = t.mean(), c.mean()
        denom = math.sqrt((pt * (1 - pt) + pc * (1 - pc)) / 2)
    else:
        if t.size < 2 or c.size < 2:
            return math.nan
        denom = math.sqrt((t.var(ddof=1) + c.var(ddof=1)) / 2)
    if denom == 0:
        return 0.0 if t.mean() == c.mean() else math.nan
    return float((t.mean() - c.mean()) / denom)


def balance_table(data: pd.DataFrame, continuous: Sequence[str] = (), categorical: Sequence[str] = (),
                  labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Baseline balance HB vs control: means (or percentages) per arm and the standardised mean difference.

    Returns
    -------
    DataFrame
        Columns ``variable, level, kind`` (``continuous``/``categorical``), ``n_hb, n_verrokki, hb, verrokki``
        (mean, or % of the level), ``smd``. Categorical variables give one row per level (binary indicator SMD);
        missing values are excluded.
    """
    labels = dict(labels or {})
    rows = []
    hb = data[data["arm"] == "hb"]
    ctl = data[data["arm"] == "verrokki"]
    for c in continuous:
        if c not in data.columns:
            continue
        x, y = hb[c].astype(float).dropna(), ctl[c].astype(float).dropna()
        rows.append({"variable": labels.get(c, c), "level": "", "kind": "continuous", "n_hb": len(x),
                     "n_verrokki": len(y), "hb": x.mean() if len(x) else math.nan,
                     "verrokki": y.mean() if len(y) else math.nan, "smd": smd(x, y)})
    for c in categorical:
        if c not in data.columns:
            continue
        x, y = hb[c].dropna().astype(str), ctl[c].dropna().astype(str)
        for level in sorted(set(x) | set(y)):
            ix, iy = (x == level).astype(float), (y == level).astype(float)
            rows.append({"variable": labels.get(c, c), "level": level, "kind": "categorical", "n_hb": len(x),
                         "n_verrokki": len(y), "hb": 100 * ix.mean() if len(x) else math.nan,
                         "verrokki": 100 * iy.mean() if len(y) else math.nan, "smd": smd(ix, iy)})
    return pd.DataFrame(rows, columns=["variable", "level", "kind", "n_hb", "n_verrokki", "hb", "verrokki", "smd"])


def mann_whitney(x: Iterable[float], y: Iterable[float]) -> dict:
    """Mann–Whitney U test (two-sided, normal approximation with continuity correction) and rank-biserial r.

    ``u`` is the U statistic of ``x`` (R's ``W`` of ``wilcox.test(x, y)``); ``r_rb = 2u / (n_x n_y) − 1`` is
    positive when ``x`` tends to be larger than ``y``. Computed with pingouin's ``mwu``.

    Returns
    -------
    dict
        ``u, p_value, r_rb, n_x, n_y, median_x, median_y, mean_x, mean_y``.
    """
    import pingouin as pg

    a = pd.Series(list(x), dtype=float).dropna().to_numpy()
    b = pd.Series(list(y), dtype=float).dropna().to_numpy()
    out = {"u": math.nan, "p_value": math.nan, "r_rb": math.nan, "n_x": int(a.size), "n_y": int(b.size),
           "median_x": float(np.median(a)) if a.size else math.nan,
           "median_y": float(np.median(b)) if b.size else math.nan,
           "mean_x": float(a.mean()) if a.size else math.nan, "mean_y": float(b.mean()) if b.size else math.nan}
    if a.size == 0 or b.size == 0:
        return out
    if np.unique(np.concatenate([a, b])).size == 1:
        out.update(u=a.size * b.size / 2, p_value=1.0, r_rb=0.0)
        return out
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning, module="pingouin")
        warnings.filterwarnings("ignore", category=DeprecationWarning, module="pingouin")
        res = pg.mwu(a, b, alternative="two-sided", method="asymptotic").iloc[0]
    u = float(res["U_val"])
    out.update(u=u, p_value=float(res["p_val"]), r_rb=2 * u / (a.size * b.size) - 1)
    return out


# ---------------------------------------------------------------------------------------------------------------
# survey (LIITE 1.1)
# ---------------------------------------------------------------------------------------------------------------
def survey_numeric(values: pd.Series, kind: str = "likert") -> pd.Series:
    """Item answers as floats: Likert 1–5, ``scale3`` 1–3, ``yesno`` a/kyllä → 1, b/ei → 0; others NaN."""
    if kind == "yesno":
        s = values.astype("string").str.strip().str.casefold()
        return s.map({"a": 1.0, "kyllä": 1.0, "b": 0.0, "ei": 0.0, "en": 0.0}).astype(float)
    num = pd.to_numeric(values.astype("string").str.strip().str.replace(",", ".", regex=False), errors="coerce")
    hi = 3 if kind == "scale3" else 5
    num = num.where((num >= 1) & (num <= hi) & (num == np.round(num)))
    return num.astype(float)


def compare_items(survey: pd.DataFrame, pairs: Sequence[Mapping]) -> pd.DataFrame:
    """HB vs control on the items both forms ask (data contract §3.4).

    Likert and 3-point items: Mann–Whitney U with rank-biserial r (positive = HB higher). Yes/no items:
    share of "kyllä" per group and Fisher's exact test (``r_rb`` is then NaN).

    Returns
    -------
    DataFrame
        One row per pair: ``hb_item, verrokki_item, kind, label, n_hb, n_verrokki, mean_hb, mean_verrokki,
        median_hb, median_verrokki, u, p_value, r_rb``.
    """
    rows = []
    for p in pairs:
        kind = p.get("kind", "likert")
        h = survey.loc[survey["form"] == "hb", p["hb"]] if p["hb"] in survey.columns else pd.Series(dtype=float)
        v = (survey.loc[survey["form"] == "verrokki", p["verrokki"]] if p["verrokki"] in survey.columns
             else pd.Series(dtype=float))
        h, v = survey_numeric(h, kind).dropna(), survey_numeric(v, kind).dropna()
        row = {"hb_item": p["hb"], "verrokki_item": p["verrokki"], "kind": kind, "label": p.get("label", "")}
        if kind == "yesno":
            row.update(n_hb=len(h), n_verrokki=len(v), mean_hb=h.mean() if len(h) else math.nan,
                       mean_verrokki=v.mean() if len(v) else math.nan, median_hb=math.nan,
                       median_verrokki=math.nan, u=math.nan, r_rb=math.nan, p_value=math.nan)
            if len(h) and len(v):
                table = [[int(h.sum()), int(len(h) - h.sum())], [int(v.sum()), int(len(v) - v.sum())]]
                row["p_value"] = float(stats.fisher_exact(table).pvalue)
        else:
            r = mann_whitney(h, v)
            row.update(n_hb=r["n_x"], n_verrokki=r["n_y"], mean_hb=r["mean_x"], mean_verrokki=r["mean_y"],
                       median_hb=r["median_x"], median_verrokki=r["median_y"], u=r["u"], p_value=r["p_value"],
                       r_rb=r["r_rb"])
        rows.append(row)
    return pd.DataFrame(rows, columns=["hb_item", "verrokki_item", "kind", "label", "n_hb", "n_verrokki",
                                       "mean_hb", "mean_verrokki", "median_hb", "median_verrokki", "u",
                                       "p_value", "r_rb"])


def choice_counts(values: pd.Series, options: Mapping[str, str]) -> pd.Series:
    """Counts of the option letters of a multiple-choice item, labelled, in the order of ``options``."""
    s = values.dropna().astype("string").str.strip().str.casefold()
    counts = s.value_counts()
    return pd.Series({label: int(counts.get(letter, 0)) for letter, label in options.items()}, dtype=int)


def theme_counts(texts: Iterable, codebook: Mapping[str, Sequence[str]],
                 other_label: str = "Muu / ei luokiteltu") -> pd.Series:
    """Count open answers by theme: an answer counts once for every theme one of whose stems it contains.

    Matching is case-insensitive substring matching of the stems (Finnish inflects words, so stems are used).
    Empty answers are ignored; answers that match no theme are counted under ``other_label``.
    The text itself is never returned.
    """
    stems = {theme: [s.casefold() for s in words] for theme, words in codebook.items()}
    counts = dict.fromkeys(list(stems) + [other_label], 0)
    for t in texts:
        if t is None or (isinstance(t, float) and math.isnan(t)) or t is pd.NA:
            continue
        text = re.sub(r"\s+", " ", str(t)).strip().casefold()
        if not text:
            continue
        hit = False
        for theme, words in stems.items():
            if any(w in text for w in words):
                counts[theme] += 1
                hit = True
        if not hit:
            counts[other_label] += 1
    return pd.Series(counts, dtype=int)


# ---------------------------------------------------------------------------------------------------------------
# ESF status and the HB assistant
# ---------------------------------------------------------------------------------------------------------------
def esr_transitions(esr: pd.DataFrame) -> pd.DataFrame:
    """Cross-tabulation of labour-market status at the ESF start form (rows) and end form (columns).

    The first ``aloitus`` and the latest ``lopetus`` form per client are paired; clients without both are left
    out.
    """
    if esr is None or esr.empty:
        return pd.DataFrame()
    e = esr.assign(form=esr["form"].astype("string").str.strip().str.casefold()).sort_values(
        ["client_id", "date"], kind="stable")
    a = e[e["form"] == "aloitus"].groupby("client_id").head(1)[["client_id", "labour_market_status"]]
    b = e[e["form"] == "lopetus"].groupby("client_id").tail(1)[["client_id", "labour_market_status"]]
    ab = a.merge(b, on="client_id", suffixes=("_alku", "_loppu"))
    if ab.empty:
        return pd.DataFrame()
    t = pd.crosstab(ab["labour_market_status_alku"], ab["labour_market_status_loppu"])
    t.index.name, t.columns.name = "aloitus", "lopetus"
    return t


def assistant_clients(avustajakulut: pd.DataFrame | None, survey: pd.DataFrame | None = None,
                      item: str = "q3_4") -> set:
    """Client ids of HB clients who had an HB assistant: an assistant cost form (LIITE 3.3) or survey 3.4 = a."""
    ids: set = set()
    if avustajakulut is not None and not avustajakulut.empty:
        ids |= set(avustajakulut["client_id"].dropna().astype(str))
    if survey is not None and not survey.empty and item in survey.columns:
        s = survey[(survey["form"] == "hb") & survey["client_id"].notna()]
        yes = survey_numeric(s[item], "yesno") == 1
        ids |= set(s.loc[yes, "client_id"].astype(str))
    return ids


def change_by_assistant(pairs: pd.DataFrame, assisted: set) -> pd.DataFrame:
    """Within-group change of HB clients with and without an HB assistant (descriptive, not causal).

    Returns one row per group (``avustaja`` = ``kyllä`` / ``ei``) with the keys of :func:`paired_change`.
    """
    hb = pairs[pairs["arm"] == "hb"]
    rows = []
    for label, mask in (("kyllä", hb["client_id"].astype(str).isin(assisted)),
                        ("ei", ~hb["client_id"].astype(str).isin(assisted))):
        sub = hb[mask]
        rows.append({"avustaja": label, **paired_change(sub["start"], sub["end"])})
    return pd.DataFrame(rows)


def dropout_comparison(clients: pd.DataFrame, measurements: pd.DataFrame, value: str,
                       end_occasions: Sequence[str] = ("loppu",)) -> pd.DataFrame:
    """Baseline of clients who have an end measurement vs those who do not (among those with a start).

    Returns a DataFrame with one row per arm: ``arm, n_completed, n_missing_end, mean_start_completed,
    mean_start_missing, smd`` (SMD of the start score, completed − missing), and ``age`` means.
    """
    if measurements is None or measurements.empty:
        return pd.DataFrame()
    m = measurements.assign(occasion=normalise_occasion(measurements["occasion"]))
    m = m[m[value].notna()].sort_values(["client_id", "date"], kind="stable")
    start = m[m["occasion"] == "alku"].groupby("client_id").head(1)[["client_id", "arm", value]]
    done = set(m.loc[m["occasion"].isin(list(end_occasions)), "client_id"])
    start = start.assign(completed=start["client_id"].isin(done))
    if clients is not None and "age" in clients.columns:
        start = start.merge(clients[["client_id", "age"]].drop_duplicates("client_id"), on="client_id", how="left")
    rows = []
    for arm in ARMS:
        s = start[start["arm"] == arm]
        c, x = s[s["completed"]], s[~s["completed"]]
        rows.append({"arm": arm, "n_completed": len(c), "n_missing_end": len(x),
                     "mean_start_completed": c[value].mean() if len(c) else math.nan,
                     "mean_start_missing": x[value].mean() if len(x) else math.nan,
                     "smd": smd(c[value], x[value]),
                     "age_completed": c["age"].astype(float).mean() if "age" in s and len(c) else math.nan,
                     "age_missing": x["age"].astype(float).mean() if "age" in s and len(x) else math.nan})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------------------------
# whole-outcome analyses used by the notebook
# ---------------------------------------------------------------------------------------------------------------
PHASE_SCOPE = {
    # what each report phase may show (strand 1): change analyses need follow-up measurements
    "lahtotilanne": {"change": False, "end_occasions": (), "survey": False},
    "valiarviointi": {"change": True, "end_occasions": ("vali", "loppu"), "survey": False},
    "loppuraportti": {"change": True, "end_occasions": ("loppu",), "survey": True},
}
PS_COVARIATES = ("age", "gender", "labour_status", "start")


def phase_scope(phase: str) -> dict:
    """What strand 1 reports in ``phase``: ``change`` (bool), ``end_occasions`` (tuple), ``survey`` (bool)."""
    if phase not in PHASE_SCOPE:
        raise ValueError(f"unknown phase {phase!r}; known: {sorted(PHASE_SCOPE)}")
    return dict(PHASE_SCOPE[phase])


MODEL_NUMERIC = ("age", "start")
MODEL_CATEGORICAL = ("gender", "family_structure", "labour_status", "client_group")
# covariates in the order they enter the models when the arms are small (start score and the plan's selection
# drivers first); a covariate enters whole (all its dummies) while the model has at most
# min(n_HB, n_control) / clients_per_parameter columns
MODEL_PRIORITY = ("start", "age", "labour_status", "pilot", "client_group", "gender", "family_structure")
#: the plan's selection drivers: always in the propensity and outcome models, whatever the sample size
DRIVERS = ("start", "age", "labour_status")
#: the covariates :func:`outcome_frame` takes from the roster (asiakasrekisteri): the data contract gives them no
#: date, so the analysis assumes they are the values recorded at the client's start (baseline, not post-treatment)
ROSTER_COVARIATES = ("age", "gender", "family_structure", "labour_status")
#: Finnish names of the model covariates (for reasons and method texts)
COVARIATE_FI = {"start": "alkutaso", "age": "ikä", "labour_status": "työvoimastatus", "client_group": "asiakasryhmä",
                "pilot": "pilotti", "gender": "sukupuoli", "family_structure": "perherakenne"}
#: share of the target's HB clients in covariate levels without any control above which the arms are separated
SEPARATED_SHARE = 0.25
#: the smallest degrees of freedom of a published doubly robust interval
MIN_DF = 3
#: baseline balance: |SMD| below this is negligible, above SMD_NOTABLE notable (Austin 2009)
SMD_NEGLIGIBLE = 0.1
SMD_NOTABLE = 0.2
#: width of each outcome's scale (Kykyviisari 0–10, Osallisuustesti 1–5): no published interval is wider
SCALE_WIDTH = {"kykyviisari": 10.0, "osallisuustesti": 4.0}
# the imputation model in words, one wording for the methods appendix and the strand pages (the page said "erikseen
# kummassakin ryhmässä" — a model per group — while the analysis imputes once, with the group's interactions)
MI_METHOD_FI = "ennustettu keskiarvovastaavuus"
MI_INTERACTIONS_FI = ("ryhmän ja valikoitumista selittävien tekijöiden yhdysvaikutuksin, jotta taustatekijöiden yhteys "
                      "muutokseen ja siten vaikutus saa vaihdella asiakkaittain")
ANALYSIS_DEFAULTS = {"estimand": "ATT", "clip": (0.02, 0.98), "min_level_n": 10, "min_level_per_arm": 3,
                     "clients_per_parameter": 3, "mi_imputations": 40, "mi_interactions": True, "mi_iterations": 5, "seed": 20190331,
                     "confidence": 0.95}


def outcome_frame(measurements: pd.DataFrame, clients: pd.DataFrame | None, value: str,
                  end_occasions: Sequence[str] = ("loppu",)) -> pd.DataFrame:
    """The analysis population of one outcome: every HB or control client with a start score, one row each.

    Columns ``client_id, pilot, client_group, arm, start, aux, end`` and the roster covariates ``age, gender,
    family_structure, labour_status``. ``end`` is the latest measurement at an ``end_occasions`` occasion after the
    start (NaN when there is none: imputed by the primary analysis); ``aux`` is the latest interim (``vali``)
    score after the start and before the end when ``vali`` is not itself an end occasion — an auxiliary variable
    that makes the missing-at-random assumption more plausible (NaN when absent).
    """
    cols = ["client_id", "pilot", "client_group", "arm", "start", "aux", "end", "age", "gender",
            "family_structure", "labour_status"]
    if measurements is None or measurements.empty or value not in measurements.columns:
        return pd.DataFrame(columns=cols)
    m = measurements[["client_id", "pilot", "client_group", "arm", "date", "occasion", value]].copy()
    m["occasion"] = normalise_occasion(m["occasion"])
    m = m[m[value].notna() & m["arm"].isin(ARMS)].sort_values(["client_id", "date"], kind="stable")
    start = m[m["occasion"] == "alku"].groupby("client_id", sort=True).head(1)
    base = start.rename(columns={value: "start", "date": "_d0"})[
        ["client_id", "pilot", "client_group", "arm", "_d0", "start"]]
    later = m.merge(base[["client_id", "_d0"]], on="client_id")
    later = later[later["date"] > later["_d0"]]
    end = later[later["occasion"].isin(list(end_occasions))].groupby("client_id").tail(1)
    end = end[["client_id", "date", value]].rename(columns={value: "end", "date": "_d1"})
    out = base.merge(end, on="client_id", how="left")
    if "vali" not in end_occasions:
        aux = later[later["occasion"] == "vali"].merge(out[["client_id", "_d1"]], on="client_id")
        aux = aux[aux["_d1"].isna() | (aux["date"] < aux["_d1"])].groupby("client_id").tail(1)
        out = out.merge(aux[["client_id", value]].rename(columns={value: "aux"}), on="client_id", how="left")
    else:
        out["aux"] = np.nan
    out = out.assign(start=out["start"].astype(float), end=out["end"].astype(float), aux=out["aux"].astype(float))
    if clients is not None and not clients.empty:
        covs = [c for c in ROSTER_COVARIATES if c in clients.columns]
        out = out.merge(clients[["client_id", *covs]].drop_duplicates("client_id"), on="client_id", how="left")
    for c in cols:
        if c not in out.columns:
            out[c] = np.nan
    out["age"] = pd.to_numeric(out["age"], errors="coerce").astype(float)
    return out[cols].sort_values("client_id", kind="stable").reset_index(drop=True)


def _welch_diff(x: np.ndarray, y: np.ndarray, confidence: float = 0.95) -> dict:
    """Difference in means ``x − y`` with a Welch t interval (:func:`hbeval_lib.core.estimators.welch_difference`,
    the one the cost-effectiveness analysis prints for the same clients), in the keys of an effect."""
    out = _empty_effect(len(x) + len(y), len(x), len(y))
    if len(x) < 2 or len(y) < 2:
        return out
    w = welch_difference(x, y, confidence)
    out.update({k: w[k] for k in ("estimate", "se", "ci_low", "ci_high", "p_value")})
    return out


class OutcomeAnalysis:
    """The primary and secondary HB − control analyses of one outcome (see :func:`effect_analysis`)."""

    def __init__(self, frame: pd.DataFrame, pilot_effects: bool = False, target_pilot: str | None = None,
                 **options):
        from hbeval_lib.strands.wellbeing import causal

        o = {**ANALYSIS_DEFAULTS, **{k: v for k, v in options.items() if v is not None}}
        self.options = o
        d = frame[frame["arm"].isin(ARMS) & frame["start"].notna()].reset_index(drop=True)
        self.target_pilot = target_pilot
        if target_pilot is not None:  # one pilot's effect from the pooled model with pilot-specific levels
            pilot_effects = d["pilot"].astype(str).nunique() > 1
            self.target = (d["pilot"].astype(str) == str(target_pilot)).to_numpy()
        else:
            self.target = np.ones(len(d), dtype=bool)
        self.categorical = [c for c in MODEL_CATEGORICAL if c in d.columns] + (["pilot"] if pilot_effects else [])
        self.separation = self._separated_levels(d)
        d, self.collapsed = causal.collapse_rare(d, self.categorical, int(o["min_level_n"]), group="arm",
                                                 min_per_group=int(o["min_level_per_arm"]))
        self.data = d
        self.t = (d["arm"] == "hb").to_numpy(dtype=float)
        self.end = d["end"].to_numpy(dtype=float)
        self.start = d["start"].to_numpy(dtype=float)
        self.missing_end = np.isnan(self.end)
        blocks, names, self.groups = [np.ones((len(d), 1))], ["(vakio)"], []
        for c in MODEL_PRIORITY:
            if c not in d.columns or (c in MODEL_CATEGORICAL + ("pilot",) and c not in self.categorical):
                continue
            num_cols = [c] if c in MODEL_NUMERIC else []
            Xc, nc = causal.design(d, num_cols, [] if num_cols else [c], intercept=False)
            if Xc.shape[1] == 0:
                continue
            self.groups.append((c, list(range(len(names), len(names) + Xc.shape[1]))))
            blocks.append(Xc)
            names.extend(nc)
        self.X, self.names = np.hstack(blocks), names
        ok = ~self.missing_end
        n_obs = (int((ok & (self.t == 1)).sum()), int((ok & (self.t == 0)).sum())) if len(d) else (0, 0)
        budget = max(min(n_obs) // int(o["clients_per_parameter"]), 2)
        # the selection drivers of the evaluation plan (and, for one pilot, the pilot levels) are never dropped for
        # lack of data: the budget only limits the further covariates
        forced = set(DRIVERS) | ({"pilot"} if target_pilot is not None else set())
        cols, self.omitted = [0], []
        for c, idx in self.groups:
            if c in forced or len(cols) + len(idx) <= budget:
                cols.extend(idx)
            else:
                self.omitted.append(c)
        self.model_columns = np.array(cols)
        self._imputations: list[np.ndarray] | None = None

    def _separated_levels(self, d: pd.DataFrame) -> str:
        """Separation by a categorical covariate, found **before** rare levels are merged (merging a level that
        occurs in one arm only would hide the separation and leave its clients without comparators).

        A level with at least ``min_level_n`` HB clients of the target but no control anywhere (ATE: also the
        reverse) leaves those clients without a comparator; when they are more than :data:`SEPARATED_SHARE` of the
        target's HB clients (or controls), the positivity assumption fails: a level that common would appear among
        15 controls with probability above 98.5 % if both arms came from one population, so its absence is
        structural. (A rarer level without controls can be a sampling zero: it is merged into ``muut`` as before,
        and the propensity model's own checks still apply.) Returns the Finnish reason, or ``""``.
        """
        from hbeval_lib.strands.wellbeing import causal

        t = (d["arm"] == "hb").to_numpy()
        tg = self.target
        n1, n0 = int((t & tg).sum()), int((~t & tg).sum())
        for c in self.categorical:
            if c == "pilot" and self.target_pilot is not None:
                continue  # the target pilot's own arms are checked by the estimator
            s = d[c].astype("string").fillna(causal.MISSING_LEVEL).astype(str).to_numpy()
            big = int(self.options["min_level_n"])
            alone_hb = [lv for lv in sorted(set(s[t & tg])) if not (s[~t] == lv).any()
                        and int((s[t & tg] == lv).sum()) >= big]
            alone_c = [lv for lv in sorted(set(s[~t & tg])) if not (s[t] == lv).any()
                       and int((s[~t & tg] == lv).sum()) >= big]
            share_hb = float(np.isin(s[t & tg], alone_hb).sum()) / max(n1, 1)
            share_c = float(np.isin(s[~t & tg], alone_c).sum()) / max(n0, 1)
            name = COVARIATE_FI.get(c, c)
            if share_hb > SEPARATED_SHARE:
                return (f"taustatekijä {name} erottaa ryhmät: luokka ”{alone_hb[0]}” esiintyy vain HB-asiakkailla, "
                        "joten heille ei ole vertailukohtaa (positiivisuusoletus ei päde)")
            if self.options["estimand"] == "ATE" and share_c > SEPARATED_SHARE:
                return (f"taustatekijä {name} erottaa ryhmät: luokka ”{alone_c[0]}” esiintyy vain verrokeilla "
                        "(positiivisuusoletus ei päde)")
        return ""

    # -- the pieces ----------------------------------------------------------------------------------------------
    def _dr(self, end: np.ndarray, rows: np.ndarray | None = None, imputation: tuple | None = None) -> dict:
        from hbeval_lib.strands.wellbeing import causal

        r = slice(None) if rows is None else rows
        X = self.X[:, self.model_columns][r]
        target = None if self.target_pilot is None else self.target[r]
        return causal.dr_effect(end[r] - self.start[r], self.t[r], X, X,
                                estimand=self.options["estimand"], clip=tuple(self.options["clip"]),
                                confidence=self.options["confidence"], target=target, imputation=imputation)

    def imputations(self) -> list[np.ndarray]:
        """The completed end scores (``mi_imputations`` of them; one when nothing is missing).

        Chained equations with predictive mean matching on the arm, the model's covariates, the interim score and
        the **arm × selection-driver interactions** (start score, age, labour status), so the imputation model lets
        the effect differ between clients along the drivers: it does not reimpose the equal-effect assumption that
        the doubly robust estimator avoids (an arm dummy alone would)."""
        from hbeval_lib.strands.wellbeing import causal

        if self._imputations is None:
            if not self.missing_end.any():
                self._imputations = [self.end.copy()]
            else:
                aux = self.data["aux"].to_numpy(dtype=float)
                cols = [self.end[:, None]]
                if np.isfinite(aux).sum() >= 5:  # the interim score as an auxiliary variable
                    cols.append(aux[:, None])
                Xm = self.X[:, self.model_columns[1:]]
                inter = (self.t[:, None] * Xm[:, self._driver_columns()] if self.options["mi_interactions"]
                         else np.empty((len(self.t), 0)))
                mat = np.hstack([*cols, self.t[:, None], Xm, inter])
                done = causal.mice_pmm(mat, m=int(self.options["mi_imputations"]),
                                       n_iter=int(self.options["mi_iterations"]), seed=int(self.options["seed"]))
                out = [x[:, 0] for x in done]
                self._imputations = out
                # the end score's predictors in the imputation model (a missing interim score: the mean of its
                # imputations), with an intercept: the imputation model the linearised variance stacks
                self._imputation_predictors = np.hstack([np.ones((len(self.t), 1)),
                                                         np.mean([x[:, 1:] for x in done], axis=0)])
        return self._imputations

    def _driver_columns(self) -> list[int]:
        """Positions (within ``model_columns[1:]``) of the selection drivers' columns: their arm interactions
        enter the imputation model."""
        drivers = {j for c, idx in self.groups if c in DRIVERS for j in idx}
        return [i for i, j in enumerate(self.model_columns[1:]) if j in drivers]

    def pooled(self, delta: float = 0.0) -> dict:
        """Doubly robust estimate pooled over the imputations; ``delta`` is added to every imputed HB end score
        (delta-adjusted sensitivity analysis).

        The estimate is the mean of the ``m`` imputations' estimates. Its variance is not Rubin's: the imputation
        model uses the interim score, which the effect model cannot (it is measured after the start), and Rubin's
        ``ū + (1 + 1/m) b`` then over-counts the imputed values' noise (the pilot-page interval covered 98 % in
        ``make validate``). It is the sandwich of the doubly robust estimator stacked with the imputation model's
        normal equations (Robins & Wang 2000; :func:`hbeval_lib.strands.wellbeing.causal.mi_linearised`) plus the
        Monte Carlo variance of the finite number of imputations, with Satterthwaite degrees of freedom."""
        from hbeval_lib.strands.wellbeing import causal

        shift = delta * (self.missing_end & self.target & (self.t == 1))
        imps = self.imputations()
        fits = [self._dr(y + shift) for y in imps]
        est = [f["estimate"] for f in fits]
        if self.missing_end.any():
            lin = self._dr(self.end, imputation=(self._imputation_predictors, ~self.missing_end, shift))
        else:
            lin = fits[0]
        res = causal.mi_linearised(est, lin, [f["se"] ** 2 for f in fits], confidence=self.options["confidence"])
        reasons = [f["reason"] for f in [*fits, lin] if f["reason"]]
        tg = self.target
        res.update(n=int(tg.sum()), n_hb=int((self.t[tg] == 1).sum()), n_verrokki=int((self.t[tg] == 0).sum()),
                   reason=reasons[0] if reasons else "", fits=fits, linearised=lin,
                   positivity_ok=all(f["positivity_ok"] for f in fits) if fits else False,
                   positivity_reason=next((f["positivity_reason"] for f in fits if f["positivity_reason"]), ""))
        return res

    def observed_end(self) -> tuple[int, int]:
        """Clients (of the target pilot, or all) with an observed end score: ``(HB, control)`` — the persons the
        estimates rest on."""
        ok = ~self.missing_end & self.target
        return int((ok & (self.t == 1)).sum()), int((ok & (self.t == 0)).sum())

    @property
    def scale_width(self) -> float:
        """Width of the outcome's scale (``scale_width`` option; an interval wider than this is not published)."""
        return float(self.options.get("scale_width") or math.inf)

    def guard(self, res: dict) -> dict:
        """The publication rules of every doubly robust interval (primary and complete-case).

        No estimate when the propensity model fails (:func:`hbeval_lib.strands.wellbeing.causal.positivity_check`: non-convergence,
        separation, poor overlap); no interval when its degrees of freedom are below :data:`MIN_DF` or it is wider
        than the outcome's scale. ``reason`` then says why in Finnish and ``published`` is False."""
        res = dict(res)
        why = ""
        if self.separation:
            why = self.separation
        elif not res.get("positivity_ok", True):
            why = res.get("positivity_reason") or res.get("reason") or "kaltaistamispistemäärän malli ei tue vertailua"
        elif math.isfinite(res.get("ci_low", math.nan)) and math.isfinite(res.get("ci_high", math.nan)):
            dfree = res.get("df", math.nan)
            if math.isfinite(dfree) and dfree < MIN_DF:
                why = (f"luottamusvälin vapausasteita on alle {MIN_DF} (painotettujen asiakkaiden efektiivinen "
                       "määrä on liian pieni), joten väli ei kertoisi mitään")
            elif res["ci_high"] - res["ci_low"] > self.scale_width:
                why = "luottamusväli olisi mittarin asteikkoa leveämpi, joten se ei kertoisi mitään"
        if why:  # no estimate at all: a point without a meaningful interval would be read as a result
            res.update(estimate=math.nan, ci_low=math.nan, ci_high=math.nan, p_value=math.nan, se=math.nan,
                       reason=why, published=False)
        else:
            res["published"] = math.isfinite(res.get("ci_low", math.nan))
        return res

    def primary(self) -> dict:
        """Primary: doubly robust (AIPW) estimate after multiple imputation of missing end scores, with the
        publication rules of :meth:`guard`."""
        if min(self.observed_end()) < 2:
            tg = self.target
            return {**_empty_effect(int(tg.sum()), int((self.t[tg] == 1).sum()), int((self.t[tg] == 0).sum())),
                    "reason": "toisessa ryhmässä on liian vähän loppumittauksia", "n_imputed_hb": 0,
                    "n_imputed_verrokki": 0, "m": 0, "df": math.nan, "fmi": math.nan, "published": False}
        res = self.pooled(0.0)
        miss = self.missing_end & self.target
        res.update(n_imputed_hb=int((miss & (self.t == 1)).sum()),
                   n_imputed_verrokki=int((miss & (self.t == 0)).sum()),
                   m=len(self.imputations()))
        return self.guard(res)

    def complete_case(self) -> dict:
        """Sensitivity: the same doubly robust estimator on clients with an observed end score only."""
        rows = ~self.missing_end
        if (rows & self.target).sum() == 0:
            return {**_empty_effect(), "reason": "ei loppumittauksia"}
        return self.guard(self._dr(self.end, rows))

    def ancova_start_pilot(self) -> dict:
        """Secondary: ANCOVA of the end score on HB and the start score (+ pilot), complete cases, OLS errors
        (for one pilot: that pilot's clients only)."""
        cc = self.data[~self.missing_end & self.target]
        pilot_effects = "pilot" in self.categorical and self.target_pilot is None
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"statsmodels\..*")
            with np.errstate(all="ignore"):
                return ancova(cc, pilot_effects=pilot_effects)

    def change_difference(self) -> dict:
        """Secondary: unadjusted difference in mean change (Welch), complete cases."""
        ch = self.end - self.start
        ok = ~self.missing_end & self.target
        return _welch_diff(ch[ok & (self.t == 1)], ch[ok & (self.t == 0)], self.options["confidence"])

    def balance(self) -> pd.DataFrame:
        """Covariate balance before and after weighting: ``variable, smd_before, smd_after`` (weights of the
        propensity model; they do not depend on the outcome or the imputations)."""
        from hbeval_lib.strands.wellbeing import causal

        fit = self._dr(np.where(self.missing_end, self.start, self.end))
        tg = self.target
        w = fit["weights"][tg]
        rows = []
        for j, name in enumerate(self.names):
            if j == 0 or j not in set(self.model_columns):
                continue
            x = self.X[tg, j]
            rows.append({"variable": name, "smd_before": causal.weighted_smd(x, self.t[tg]),
                         "smd_after": causal.weighted_smd(x, self.t[tg], w) if np.all(np.isfinite(w)) else math.nan})
        out = pd.DataFrame(rows, columns=["variable", "smd_before", "smd_after"])
        out.attrs.update(ess_verrokki=fit["ess_verrokki"], ess_hb=fit["ess_hb"], ps_converged=fit["ps_converged"],
                         positivity_ok=fit["positivity_ok"] and not self.separation,
                         positivity_reason=self.separation or fit["positivity_reason"])
        return out

    def hedges_g(self, effect: Mapping) -> dict:
        """Between-group standardised effect: the adjusted difference divided by the pooled SD of the start score
        (Morris 2008's pre-test standardiser, unaffected by HB) × Hedges' small-sample factor; the interval is the
        difference's interval on the same scale (the SD treated as known)."""
        from hbeval_lib.strands.wellbeing import causal

        tg = self.target
        sd = causal.pooled_sd(self.start[tg & (self.t == 1)], self.start[tg & (self.t == 0)])
        j = causal.hedges_correction(int((self.t[tg] == 1).sum()), int((self.t[tg] == 0).sum()))
        if not (sd > 0) or not math.isfinite(effect.get("estimate", math.nan)):
            return {"g": math.nan, "ci_low": math.nan, "ci_high": math.nan, "sd": sd}
        f = j / sd
        return {"g": effect["estimate"] * f, "ci_low": effect["ci_low"] * f, "ci_high": effect["ci_high"] * f,
                "sd": sd}

    def tipping_point(self, span: float = 10.0, tol: float = 0.005) -> dict:
        """Delta-adjusted sensitivity: the shift of the imputed HB end scores that changes the conclusion.

        When the primary interval excludes 0, the ``delta`` (towards the null) at which its nearer limit reaches 0;
        when it includes 0, the ``delta`` (towards a larger HB effect, and towards a smaller one) at which it would
        exclude 0. Searched by bisection within ``±span`` points. Returns ``delta`` (NaN when no HB end score is
        imputed or no shift within the span changes the conclusion), ``direction`` and ``significant``.
        """
        base = self.primary()
        n_imp = int((self.missing_end & self.target & (self.t == 1)).sum())
        out = {"delta": math.nan, "direction": "", "significant": False, "n_imputed_hb": n_imp}
        if not all(math.isfinite(base[k]) for k in ("ci_low", "ci_high")):
            return out
        sig = base["ci_low"] > 0 or base["ci_high"] < 0
        out["significant"] = bool(sig)
        if n_imp == 0:
            return out
        if sig:
            sign = -1.0 if base["ci_low"] > 0 else 1.0
            limit = "ci_low" if sign < 0 else "ci_high"  # the limit that moves to 0 first
        else:
            sign = 1.0 if base["estimate"] >= 0 else -1.0
            limit = "ci_low" if sign > 0 else "ci_high"  # the limit that must leave 0

        def f(step: float) -> float:  # the limit at delta = sign * step (monotone, nearly linear in step)
            return self.pooled(sign * step)[limit]

        a, fa = 0.0, base[limit]
        b, fb = span, f(span)
        if not (math.isfinite(fb) and fa * fb < 0):
            return out
        for _ in range(30):  # Illinois variant of regula falsi on the bracket [a, b]
            c = b - fb * (b - a) / (fb - fa)
            fc = f(c)
            if not math.isfinite(fc):
                return out
            if fc * fb < 0:
                a, fa = b, fb
            else:
                fa /= 2
            b, fb = c, fc
            if abs(b - a) < tol or abs(fc) < 1e-6:
                break
        out.update(delta=sign * b, direction="pienempi" if sign < 0 else "suurempi")
        return out


def effect_analysis(frame: pd.DataFrame, pilot_effects: bool = False, target_pilot: str | None = None,
                    **options) -> OutcomeAnalysis:
    """Set up the HB − control analyses of one outcome on :func:`outcome_frame` output.

    Primary (``.primary()``): doubly robust AIPW estimate (:func:`hbeval_lib.strands.wellbeing.causal.dr_effect`) of the HB − control
    difference in change, propensity and outcome models both on age, sex, family type, labour status, client group,
    start score (+ pilot when all pilots are analysed), after multiple imputation of the missing end scores
    (chained equations with predictive mean matching; the latest interim score is an auxiliary variable) under
    missing at random, pooled over the imputations with the linearised variance of :meth:`OutcomeAnalysis.pooled`
    (Robins & Wang 2000; not Rubin's rules, which over-count here). Rare levels (fewer than ``min_level_n`` clients, or fewer than
    ``min_level_per_arm`` in an arm) are merged into ``muut`` first. Secondary: complete-case DR, ANCOVA on start
    (+ pilot), difference in mean change. Options: ``estimand, clip, min_level_n, min_level_per_arm,
    mi_imputations, mi_iterations, seed, confidence, scale_width``.

    Small samples: the selection drivers (:data:`DRIVERS`: start score, age, labour status) are always in both
    models; the ``clients_per_parameter`` budget only limits the further covariates. ``target_pilot`` estimates one
    pilot's effect (its HB clients' ATT) from ``frame`` holding **all** pilots: the propensity, outcome and
    imputation models are fitted on the pooled data with pilot dummies (each pilot has its own level; its effect
    is its own clients' mean residual difference), so a pilot with 10–20 clients per arm keeps every driver.
    Missing end scores are imputed separately by arm. Publication rules (:meth:`OutcomeAnalysis.guard`): no
    estimate when the propensity model fails (non-convergence, separation, poor overlap); no interval with fewer
    than :data:`MIN_DF` degrees of freedom or wider than the scale; ``reason`` says why in Finnish.
    """
    return OutcomeAnalysis(frame, pilot_effects=pilot_effects, target_pilot=target_pilot, **options)


def analysis_options(conf: Mapping | None) -> dict:
    """The options of :func:`effect_analysis` from the ``wellbeing`` configuration section (shared by the
    wellbeing and the cost chapter, so that the CEA's effect is the wellbeing headline's number)."""
    conf = conf or {}
    return {"estimand": conf.get("ps_estimand", "ATT"), "clip": tuple(conf.get("ps_clip", (0.02, 0.98))),
            "min_level_n": conf.get("min_level_n"), "min_level_per_arm": conf.get("min_level_per_arm"),
            "clients_per_parameter": conf.get("clients_per_parameter"),
            "mi_imputations": conf.get("mi_imputations"), "mi_iterations": conf.get("mi_iterations"),
            "seed": conf.get("mi_seed")}


def headline_analysis(measurements_all: pd.DataFrame, clients_all: pd.DataFrame | None, value: str,
                      end_occasions: Sequence[str], pilot: str | None, options: Mapping | None = None,
                      table: str = "kykyviisari") -> OutcomeAnalysis | None:
    """The analysis behind a page's headline effect: all pilots (``pilot`` None) or one pilot's effect from the
    pooled model (``target_pilot``). ``measurements_all`` and ``clients_all`` must hold every pilot's clients.
    None when there is no analysis population."""
    frame = outcome_frame(measurements_all, clients_all, value, end_occasions)
    if frame.empty:
        return None
    opts = {**(options or {}), "scale_width": SCALE_WIDTH.get(table, math.inf)}
    if pilot is None:
        return effect_analysis(frame, pilot_effects=True, **opts)
    if not (frame["pilot"].astype(str) == str(pilot)).any():
        return None
    return effect_analysis(frame, target_pilot=str(pilot), **opts)


def trajectory_summary(measurements: pd.DataFrame, values: Sequence[str], confidence: float = 0.95) -> pd.DataFrame:
    """Mean score with a t-based CI per outcome, arm and occasion (one score per client and occasion).

    Returns columns ``outcome, arm, occasion, n, mean, ci_low, ci_high``.
    """
    rows = []
    for v in values:
        occ = occasion_scores(measurements, v)
        for (arm, o), g in occ.groupby(["arm", "occasion"], observed=True):
            x = g["score"].dropna()
            n = len(x)
            m = x.mean() if n else math.nan
            h = stats.t.ppf(0.5 + confidence / 2, n - 1) * x.std(ddof=1) / math.sqrt(n) if n > 1 else math.nan
            rows.append({"outcome": v, "arm": arm, "occasion": str(o), "n": n, "mean": m,
                         "ci_low": m - h, "ci_high": m + h})
    return pd.DataFrame(rows, columns=["outcome", "arm", "occasion", "n", "mean", "ci_low", "ci_high"])


def _fi(x, digits: int = 2) -> str:
    """A number in Finnish notation (decimal comma, true minus sign); NaN → empty."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    return f"{x:.{digits}f}".replace(".", ",").replace("-", "−")


def _fmt_p(p) -> str:
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return ""
    return "< 0,001" if p < 0.001 else f"{p:.3f}".replace(".", ",")


def fmt_p(p) -> str:
    """A p-value for a Finnish table: three decimals with a decimal comma, ``< 0,001`` below that; NaN → empty."""
    return _fmt_p(p)
