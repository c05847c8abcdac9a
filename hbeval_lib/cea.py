"""Strand 3: bootstrap of patient-level costs and effects, and cost-effectiveness summaries (BCEA conventions).

The bootstrap resamples clients with replacement *within each arm* (stratified), with one index matrix
``B × n`` drawn once from ``np.random.default_rng(seed)`` and reused for every variable, so costs and effects
are resampled jointly (the same clients in a replicate) and the draws can be fed to :func:`summarise`.

:func:`summarise` follows the R package BCEA (Baio, Berardi & Heath 2017, *Bayesian Cost-Effectiveness
Analysis with the R package BCEA*, Springer, ch. 3–4): for the reference (intervention) arm ``r`` and a
comparator ``j``, per draw ``s``

* ``delta_e = e[s, r] − e[s, j]``, ``delta_c = c[s, r] − c[s, j]``
* incremental benefit ``IB(k) = k·delta_e − delta_c``
* ``ICER = mean(delta_c) / mean(delta_e)`` (ratio of means)
* ``EIB(k) = mean(IB(k))``, ``CEAC(k) = mean(IB(k) > 0)``
* ``EVPI(k) = mean_s(max_j NB_j) − max_j mean_s(NB_j)`` with ``NB_j = k·e_j − c_j``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

QUADRANTS = ("NE", "NW", "SW", "SE")


# -- bootstrap ---------------------------------------------------------------------------------------------
def stratified_indices(strata: Sequence, replicates: int, seed: int) -> tuple[np.ndarray, dict]:
    """Draw a stratified bootstrap index matrix.

    Parameters
    ----------
    strata : sequence
        Stratum (arm) label of each of the ``n`` units, e.g. ``df["arm"]``.
    replicates : int
        Number of bootstrap replicates ``B``.
    seed : int
        Seed of ``np.random.default_rng``; the same seed gives the same matrix.

    Returns
    -------
    idx : ndarray of shape (B, n)
        Row positions into the data; columns ``cols[a]`` hold the draws of stratum ``a``, each drawn
        with replacement from the positions of stratum ``a`` only.
    cols : dict
        Stratum label → column positions (an array) of ``idx`` belonging to that stratum.
    """
    labels = np.asarray(pd.Series(strata).astype(str))
    n = len(labels)
    rng = np.random.default_rng(seed)
    dtype = np.int32 if n < 2**31 else np.int64
    idx = np.empty((int(replicates), n), dtype=dtype)
    cols: dict[str, np.ndarray] = {}
    start = 0
    for label in sorted(set(labels)):
        pos = np.flatnonzero(labels == label).astype(dtype)
        draws = rng.integers(0, len(pos), size=(int(replicates), len(pos)), dtype=dtype)
        idx[:, start:start + len(pos)] = pos[draws]
        cols[label] = np.arange(start, start + len(pos))
        start += len(pos)
    return idx, cols


def _nanmean_rows(values: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Mean of ``values[idx]`` along axis 1 ignoring NaN (NaN where a replicate holds no finite value)."""
    v = values[idx]
    ok = np.isfinite(v)
    count = ok.sum(axis=1)
    total = np.where(ok, v, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def bootstrap_means(data: pd.DataFrame, columns: Sequence[str], arm: str = "arm", replicates: int = 2000,
                    seed: int = 0, denominator: str | None = None,
                    index: tuple[np.ndarray, dict] | None = None) -> dict[str, pd.DataFrame]:
    """Stratified, joint, vectorised bootstrap of arm means (or ratios of sums).

    Parameters
    ----------
    data : DataFrame
        One row per client.
    columns : sequence of str
        Numeric columns to summarise. NaN values are left out of each replicate's mean.
    arm : str
        The stratum column (``"hb"`` / ``"verrokki"``).
    replicates, seed : int
        Bootstrap size and seed (ignored when ``index`` is given).
    denominator : str, optional
        When given (e.g. ``"months"``), each statistic is the ratio of sums
        ``sum(column) / sum(denominator)`` over the replicate's clients — the mean per client-month.
    index : tuple, optional
        A prepared ``stratified_indices`` result, to share resamples between calls.

    Returns
    -------
    dict
        Arm → DataFrame of shape (B, len(columns)): one row per replicate.
    """
    idx, cols = index if index is not None else stratified_indices(data[arm], replicates, seed)
    out = {}
    den = None if denominator is None else data[denominator].to_numpy(dtype=float)
    for a, c in cols.items():
        sub = idx[:, c]
        res = {}
        for col in columns:
            v = data[col].to_numpy(dtype=float)
            if den is None:
                res[col] = _nanmean_rows(v, sub)
            else:
                ok = np.isfinite(v) & np.isfinite(den)
                num = np.where(ok, v, 0.0)[sub].sum(axis=1)
                d = np.where(ok, den, 0.0)[sub].sum(axis=1)
                with np.errstate(invalid="ignore", divide="ignore"):
                    res[col] = np.where(d > 0, num / np.where(d > 0, d, 1.0), np.nan)
        out[a] = pd.DataFrame(res)
    return out


def point_means(data: pd.DataFrame, columns: Sequence[str], arm: str = "arm",
                denominator: str | None = None) -> pd.DataFrame:
    """The point estimates matching :func:`bootstrap_means` (arm × column)."""
    rows = {}
    for a, g in data.groupby(arm, observed=True):
        if denominator is None:
            rows[a] = {c: float(pd.to_numeric(g[c]).mean()) for c in columns}
        else:
            r = {}
            for c in columns:
                ok = g[c].notna() & g[denominator].notna()
                d = float(g.loc[ok, denominator].sum())
                r[c] = float(g.loc[ok, c].sum()) / d if d > 0 else np.nan
            rows[a] = r
    return pd.DataFrame.from_dict(rows, orient="index").reindex(columns=list(columns))


def percentile_ci(draws, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of a 1-D array of draws (NaN draws ignored)."""
    x = np.asarray(draws, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return (np.nan, np.nan)
    a = (1 - level) / 2
    lo, hi = np.quantile(x, [a, 1 - a])
    return float(lo), float(hi)


def bootstrap_ols(y: np.ndarray, X: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """OLS coefficients for every bootstrap replicate at once.

    Parameters
    ----------
    y : ndarray (n,)
    X : ndarray (n, p)
        Design matrix (include the intercept column yourself).
    idx : ndarray (B, n)
        Row positions of each replicate (e.g. from :func:`stratified_indices`).

    Returns
    -------
    ndarray (B, p)
        Coefficients per replicate (NaN for a replicate whose design is singular).
    """
    Xb = X[idx]                                   # B × n × p
    yb = y[idx]                                   # B × n
    xtx = np.einsum("bnp,bnq->bpq", Xb, Xb)
    xty = np.einsum("bnp,bn->bp", Xb, yb)
    out = np.full((idx.shape[0], X.shape[1]), np.nan)
    det_ok = np.abs(np.linalg.det(xtx)) > 1e-10
    if det_ok.any():
        out[det_ok] = np.linalg.solve(xtx[det_ok], xty[det_ok][..., None])[..., 0]
    return out


# -- cost-effectiveness (BCEA) -------------------------------------------------------------------------------
def _quadrants(de: np.ndarray, dc: np.ndarray) -> dict[str, float]:
    n = len(de)
    if n == 0:
        return {q: np.nan for q in QUADRANTS}
    return {"NE": float(np.mean((de > 0) & (dc > 0))), "NW": float(np.mean((de <= 0) & (dc > 0))),
            "SW": float(np.mean((de <= 0) & (dc <= 0))), "SE": float(np.mean((de > 0) & (dc <= 0)))}


def summarise(effects: pd.DataFrame, costs: pd.DataFrame, reference: str, wtp) -> dict:
    """Cost-effectiveness summary of simulated (bootstrap) draws, following BCEA.

    Parameters
    ----------
    effects, costs : DataFrame
        One column per arm (column name = arm name), one row per draw; the same draws in both.
    reference : str
        The intervention arm (BCEA's ``ref``); every other column is a comparator.
    wtp : array-like
        Willingness-to-pay grid ``k`` (cost per unit of effect).

    Returns
    -------
    dict
        With two arms: ``icer`` (float), ``eib``, ``ceac``, ``evpi`` (Series indexed by wtp),
        ``quadrants`` (mapping NE/NW/SW/SE → share of draws), ``delta_e``, ``delta_c`` (mean
        increments), ``ib`` (DataFrame draws × wtp) and ``best`` (Series: arm with the highest
        expected net benefit at each k). With several comparators, ``icer`` is a Series by comparator,
        ``eib`` / ``ceac`` are DataFrames (wtp × comparator), ``quadrants`` is a mapping per comparator,
        and ``ib`` is left out; ``evpi`` and ``best`` are over all arms.
    """
    if reference not in effects.columns or reference not in costs.columns:
        raise KeyError(f"reference arm {reference!r} not among the columns {list(effects.columns)}")
    arms = list(effects.columns)
    if list(costs.columns) != arms:
        costs = costs[arms]
    if len(effects) != len(costs):
        raise ValueError("effects and costs must hold the same number of draws")
    k = np.atleast_1d(np.asarray(wtp, dtype=float))
    e = effects.to_numpy(dtype=float)
    c = costs.to_numpy(dtype=float)
    ok = np.isfinite(e).all(axis=1) & np.isfinite(c).all(axis=1)
    e, c = e[ok], c[ok]
    comps = [a for a in arms if a != reference]
    r = arms.index(reference)
    wtp_index = pd.Index(k, name="wtp")

    # net benefit NB_j = k·e_j − c_j : wtp × draws × arms
    nb = k[:, None, None] * e[None, :, :] - c[None, :, :]
    if len(e):
        # EVPI >= 0 mathematically; clip floating-point noise of order 1e-12
        evpi = np.maximum(nb.max(axis=2).mean(axis=1) - nb.mean(axis=1).max(axis=1), 0.0)
        best = [arms[i] for i in nb.mean(axis=1).argmax(axis=1)]
    else:
        evpi = np.full(len(k), np.nan)
        best = [None] * len(k)

    per = {}
    for comp in comps:
        j = arms.index(comp)
        de, dc = e[:, r] - e[:, j], c[:, r] - c[:, j]
        ib = k[None, :] * de[:, None] - dc[:, None]          # draws × wtp
        mde, mdc = (float(de.mean()), float(dc.mean())) if len(de) else (np.nan, np.nan)
        per[comp] = {"icer": mdc / mde if mde != 0 else np.nan,
                     "eib": pd.Series(ib.mean(axis=0) if len(de) else np.nan, index=wtp_index, name="eib"),
                     "ceac": pd.Series((ib > 0).mean(axis=0) if len(de) else np.nan, index=wtp_index,
                                       name="ceac"),
                     "quadrants": _quadrants(de, dc), "delta_e": mde, "delta_c": mdc,
                     "ib": pd.DataFrame(ib, columns=wtp_index)}
    out = {"evpi": pd.Series(evpi, index=wtp_index, name="evpi"), "best": pd.Series(best, index=wtp_index),
           "reference": reference, "comparators": comps, "n_draws": int(ok.sum())}
    if len(comps) == 1:
        out.update(per[comps[0]])
    else:
        out["icer"] = pd.Series({cm: per[cm]["icer"] for cm in comps}, name="icer")
        out["eib"] = pd.DataFrame({cm: per[cm]["eib"] for cm in comps})
        out["ceac"] = pd.DataFrame({cm: per[cm]["ceac"] for cm in comps})
        out["quadrants"] = {cm: per[cm]["quadrants"] for cm in comps}
        out["delta_e"] = pd.Series({cm: per[cm]["delta_e"] for cm in comps})
        out["delta_c"] = pd.Series({cm: per[cm]["delta_c"] for cm in comps})
    return out


def wtp_grid(cfg_cea: Mapping) -> np.ndarray:
    """The willingness-to-pay grid of the ``cea`` configuration section, including the reported values."""
    g = cfg_cea.get("wtp_grid", {"start": 0, "stop": 5000, "step": 100})
    grid = np.arange(float(g["start"]), float(g["stop"]) + float(g["step"]) / 2, float(g["step"]))
    report = np.asarray(cfg_cea.get("wtp_report", []), dtype=float)
    return np.unique(np.concatenate([grid, report]))


# -- patient-level data → draws ------------------------------------------------------------------------------
def change_scores(measures: pd.DataFrame, value: str, first: str = "alku", last: str = "loppu") -> pd.DataFrame:
    """Per client: baseline (first ``first`` occasion), end (last ``last`` occasion) and change of ``value``.

    Parameters
    ----------
    measures : DataFrame
        Kykyviisari or Osallisuustesti table (columns ``client_id, date, occasion`` and ``value``).

    Returns
    -------
    DataFrame
        Index ``client_id``; columns ``baseline``, ``end``, ``change`` (NaN where either is missing).
    """
    m = measures.dropna(subset=[value]).sort_values("date")
    base = m[m["occasion"] == first].groupby("client_id")[value].first()
    end = m[m["occasion"] == last].groupby("client_id")[value].last()
    out = pd.DataFrame({"baseline": base, "end": end})
    out.index.name = "client_id"
    out["change"] = out["end"] - out["baseline"]
    return out


def bootstrap_cea(data: pd.DataFrame, effect: str = "change", cost: str = "cost", arm: str = "arm",
                  reference: str = "hb", comparator: str = "verrokki", replicates: int = 2000, seed: int = 0,
                  adjust: bool = False, baseline: str = "baseline", cost_covariates: tuple = ()) -> dict:
    """Joint stratified bootstrap of mean effect and mean cost by arm, ready for :func:`summarise`.

    Parameters
    ----------
    data : DataFrame
        One row per client with complete effect and cost.
    adjust : bool
        When True, the per-draw differences are OLS arm coefficients: the effect adjusted for ``baseline``
        (ANCOVA of the change), the cost for the dummies of ``cost_covariates``; the comparator column holds
        the comparator's mean and the reference column comparator mean + adjusted difference.

    Returns
    -------
    dict
        ``effects``, ``costs`` (DataFrames draws × arms) and ``n`` (clients per arm).
    """
    d = data[data[arm].isin([reference, comparator])].dropna(subset=[effect, cost]).reset_index(drop=True)
    n = d[arm].value_counts().to_dict()
    if d[arm].nunique() < 2:
        empty = pd.DataFrame({reference: [], comparator: []}, dtype=float)
        return {"effects": empty, "costs": empty.copy(), "n": n}
    index = stratified_indices(d[arm], replicates, seed)
    means = bootstrap_means(d, [effect, cost], arm=arm, index=index)
    eff = pd.DataFrame({reference: means[reference][effect], comparator: means[comparator][effect]})
    cst = pd.DataFrame({reference: means[reference][cost], comparator: means[comparator][cost]})
    if adjust:
        from .costs import design_matrix

        Xe = design_matrix(d, reference, extra=[baseline] if baseline in d.columns else [])
        Xc = design_matrix(d, reference, adjust_for=cost_covariates)
        de = bootstrap_ols(d[effect].to_numpy(float), Xe, index[0])[:, 1]
        dc = bootstrap_ols(d[cost].to_numpy(float), Xc, index[0])[:, 1]
        eff[reference] = eff[comparator] + de
        cst[reference] = cst[comparator] + dc
    return {"effects": eff, "costs": cst, "n": n}
