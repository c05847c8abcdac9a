"""Causal estimators for non-randomised comparisons: doubly robust effect with a stacked sandwich variance,
multiple imputation by chained equations, E-values and multiplicity corrections.

Everything is plain NumPy/SciPy (no formula parsing), so one analysis takes milliseconds and the same input gives the
same output on every machine (fixed seeds; no third-party warnings: every floating-point operation that could warn
runs under ``np.errstate``).

The estimator (:func:`dr_effect`)
---------------------------------
Augmented inverse-probability weighting (AIPW), the doubly robust estimator of Robins, Rotnitzky & Zhao (1994) in the
normalised (Hájek) form of e.g. Sant'Anna & Zhao (2020, J Econometrics 219:101) for the ATT:

* a logistic propensity model ``e(X) = P(HB | X)`` (Newton–Raphson, scores clipped to ``clip``);
* a linear outcome model ``m0(X)`` fitted on the control clients (ATE: also ``m1(X)`` on the HB clients);
* ATT: ``τ = mean_{HB}(Y − m0(X)) − Σ_c w_i (Y_i − m0(X_i)) / Σ_c w_i`` with ``w = e / (1 − e)``;
  ATE: ``τ = mean(m1 − m0) + Hájek-weighted residual corrections`` (weights ``1/e`` and ``1/(1 − e)``).

The estimate is consistent when either model is right (double robustness). Why AIPW rather than a propensity-weighted
regression: it needs no assumption that the covariate slopes are the same in both arms, and its variance has a
closed form. The standard error is the **M-estimation sandwich of the stacked estimating equations** (logistic
score, outcome normal equations, the two means), so it accounts for estimating the weights and the outcome model
(Lunceford & Davidian 2004, Stat Med 23:2937). The sandwich has no ``1/(1 − h)`` term, so a row of leverage 1 cannot
make it infinite; rare categorical levels are still collapsed first (:func:`collapse_rare`) so that every coefficient
is estimable.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import linalg, stats
from scipy.special import expit

OTHER_LEVEL = "muut"
MISSING_LEVEL = "puuttuu"


# ---------------------------------------------------------------------------------------------------------------
# covariates
# ---------------------------------------------------------------------------------------------------------------
def collapse_rare(data: pd.DataFrame, columns: Sequence[str], min_n: int, group: str | None = None,
                  min_per_group: int = 0, other: str = OTHER_LEVEL) -> tuple[pd.DataFrame, list[dict]]:
    """Merge the rare levels of categorical ``columns`` into ``other`` before modelling.

    A level is rare when it has fewer than ``min_n`` rows, or (with ``group``) fewer than ``min_per_group`` rows in
    some group (e.g. one arm). When the merged ``other`` level is itself still rare, the smallest remaining level is
    folded into it until it is not (or until one level is left). Missing values are their own level
    (``puuttuu``) — a missingness indicator — and are collapsed like any other level.

    Returns
    -------
    (DataFrame, list of dict)
        The data with the columns as strings, and one note per merged level: ``column, level, n``.
    """
    d = data.copy()
    notes: list[dict] = []
    groups = d[group].astype(str).to_numpy() if group is not None else None
    group_levels = sorted(set(groups)) if groups is not None else []
    for c in columns:
        if c not in d.columns:
            continue
        s = d[c].astype("string").fillna(MISSING_LEVEL).astype(str).to_numpy().astype(object)

        def rare(mask: np.ndarray) -> bool:
            if int(mask.sum()) < min_n:
                return True
            if groups is not None and min_per_group > 0:
                return any(int((mask & (groups == g)).sum()) < min_per_group for g in group_levels)
            return False

        levels = sorted(set(s))
        count = {lv: int((s == lv).sum()) for lv in levels}
        merged = [lv for lv in levels if rare(s == lv)]
        if merged and len(merged) < len(levels):
            notes.extend({"column": c, "level": lv, "n": count[lv]} for lv in merged)
            s = np.where(np.isin(s, merged), other, s).astype(object)
            while (s == other).any() and rare(s == other) and len(set(s)) > 1:
                rest = {lv: int((s == lv).sum()) for lv in sorted(set(s) - {other})}
                smallest = min(rest, key=lambda lv: (rest[lv], lv))
                notes.append({"column": c, "level": smallest, "n": rest[smallest]})
                s = np.where(s == smallest, other, s).astype(object)
        elif merged:  # every level is rare: the variable cannot be modelled
            notes.extend({"column": c, "level": lv, "n": count[lv]} for lv in merged)
            s = np.full(len(s), other, dtype=object)
        d[c] = pd.Series(s, index=d.index, dtype=object)
    return d, notes


def design(data: pd.DataFrame, numeric: Sequence[str] = (), categorical: Sequence[str] = (),
           intercept: bool = True) -> tuple[np.ndarray, list[str]]:
    """A model matrix: intercept, numeric columns (a missing value → column mean **and** an indicator column
    ``<name>_puuttuu``), and treatment-coded dummies of the categorical columns (first level in sorted order is the
    reference; a column with one level is left out)."""
    cols, names = [], []
    n = len(data)
    if intercept:
        cols.append(np.ones(n))
        names.append("(vakio)")
    for c in numeric:
        if c not in data.columns:
            continue
        v = pd.to_numeric(data[c], errors="coerce").to_numpy(dtype=float)
        miss = np.isnan(v)
        if miss.all():
            continue
        if miss.any():
            v = np.where(miss, v[~miss].mean(), v)
            cols.append(miss.astype(float))
            names.append(f"{c}_{MISSING_LEVEL}")
        cols.append(v)
        names.append(c)
    for c in categorical:
        if c not in data.columns:
            continue
        s = data[c].astype("string").fillna(MISSING_LEVEL).astype(str).to_numpy()
        levels = sorted(set(s))
        for lv in levels[1:]:
            cols.append((s == lv).astype(float))
            names.append(f"{c}[{lv}]")
    X = np.column_stack(cols) if cols else np.empty((n, 0))
    return X, names


def independent_columns(X: np.ndarray, rows: np.ndarray | None = None, tol: float = 1e-9) -> np.ndarray:
    """Indices of a maximal set of linearly independent columns of ``X[rows]`` (QR with column pivoting; the
    earliest columns win ties, so the intercept and the numeric covariates are kept before dummies)."""
    Z = X if rows is None else X[rows]
    if Z.shape[0] == 0 or Z.shape[1] == 0:
        return np.arange(0)
    # scale columns so the rank decision does not depend on units
    scale = np.sqrt((Z ** 2).sum(axis=0))
    keep_nonzero = np.flatnonzero(scale > 0)
    Zs = Z[:, keep_nonzero] / scale[keep_nonzero]
    _, r, piv = linalg.qr(Zs, mode="economic", pivoting=True)
    d = np.abs(np.diag(r))
    rank = int((d > tol * max(d.max() if d.size else 0.0, 1.0)).sum())
    return np.sort(keep_nonzero[piv[:rank]])


# ---------------------------------------------------------------------------------------------------------------
# models
# ---------------------------------------------------------------------------------------------------------------
def fit_logistic(X: np.ndarray, t: np.ndarray, max_iter: int = 100, tol: float = 1e-10) -> tuple[np.ndarray, bool]:
    """Maximum-likelihood logistic regression by Newton–Raphson with step halving.

    Returns ``(beta, converged)``. Under (quasi-)separation the coefficients grow until the iteration limit; the
    caller clips the fitted probabilities, so the weights stay finite.
    """
    beta = np.zeros(X.shape[1])

    def loglik(b):
        eta = X @ b
        return float(np.sum(t * eta - np.logaddexp(0.0, eta)))

    ll = loglik(beta)
    with np.errstate(all="ignore"):
        for _ in range(max_iter):
            p = expit(X @ beta)
            w = p * (1 - p)
            grad = X.T @ (t - p)
            H = (X * w[:, None]).T @ X
            try:
                step = np.linalg.solve(H + 1e-12 * np.eye(len(beta)), grad)
            except (np.linalg.LinAlgError, ValueError):
                step = np.linalg.lstsq(H, grad, rcond=None)[0]
            s = 1.0
            while s > 1e-6:
                nb = beta + s * step
                nll = loglik(nb)
                if np.isfinite(nll) and nll >= ll - 1e-12:
                    break
                s /= 2
            else:
                return beta, False
            beta, old, ll = nb, ll, nll
            if abs(ll - old) < tol * (abs(ll) + tol) and np.max(np.abs(s * step)) < 1e-7:
                return beta, True
            if np.max(np.abs(beta)) > 30:
                return beta, False
    return beta, False


def _ols(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.linalg.lstsq(X, y, rcond=None)[0]


#: share of the target clients whose raw propensity score lies beyond the clipping limits above which the overlap is
#: judged too poor for a primary estimate (the estimate would rest on clipped, i.e. invented, weights)
MAX_CLIPPED_SHARE = 0.10
#: a linear predictor beyond this (|logit| > 15, a score within 3e-7 of 0 or 1) marks (quasi-)separation
SEPARATION_LOGIT = 15.0


def positivity_check(e_raw: np.ndarray, t: np.ndarray, eta: np.ndarray, converged: bool, clip: tuple[float, float],
                     estimand: str = "ATT", target: np.ndarray | None = None) -> tuple[bool, str]:
    """Whether the propensity model supports a primary estimate, and the Finnish reason when it does not.

    Three failures (checked in this order): the Newton–Raphson fit did not converge; (quasi-)separation (a fitted
    score within 3e-7 of 0 or 1: some covariate pattern occurs in one arm only); poor overlap (more than
    :data:`MAX_CLIPPED_SHARE` of the target clients have a raw score beyond the clipping limits — for the ATT only
    scores above the upper limit matter, since controls unlike every HB client get weight ~0 anyway)."""
    s = np.ones(len(t), dtype=bool) if target is None else np.asarray(target, dtype=bool)
    if not converged:
        return False, ("kaltaistamispistemäärän malli ei konvergoinut: jokin taustatekijä erottaa HB- ja verrokkiasiakkaat "
                       "(lähes) täysin, joten ryhmiä ei voi verrata samankaltaisten asiakkaiden kesken")
    if np.any(np.abs(eta[s]) > SEPARATION_LOGIT):
        return False, ("kaltaistamispistemäärän mallissa on erottuminen: joillakin asiakkailla on taustatekijöiden "
                       "yhdistelmä, jota esiintyy vain toisessa ryhmässä, joten heille ei ole vertailukohtaa")
    lo, hi = clip
    out = (e_raw[s] > hi) if estimand == "ATT" else ((e_raw[s] > hi) | (e_raw[s] < lo))
    if out.size and float(out.mean()) > MAX_CLIPPED_SHARE:
        return False, (f"ryhmien päällekkäisyys on heikko: yli {int(round(100 * MAX_CLIPPED_SHARE))} %:lla "
                       "asiakkaista kaltaistamispistemäärä on rajausvälin ulkopuolella, joten arvio nojaisi keksittyihin "
                       "painoihin")
    return True, ""


def dr_effect(y: np.ndarray, t: np.ndarray, X_ps: np.ndarray, X_out: np.ndarray, estimand: str = "ATT",
              clip: tuple[float, float] = (0.02, 0.98), confidence: float = 0.95,
              target: np.ndarray | None = None, imputation: tuple | None = None) -> dict:
    """Doubly robust (AIPW) HB − control difference with a stacked-sandwich standard error.

    Parameters
    ----------
    y : array
        Outcome (e.g. change of a score; with the start score in ``X_out`` the change and the end score give the
        same estimate).
    t : array of 0/1
        1 = HB.
    X_ps, X_out : arrays
        Model matrices (with an intercept) of the propensity and the outcome model; columns that are not
        estimable are dropped (:func:`independent_columns`).
    estimand : "ATT" or "ATE"
    clip : (low, high)
        Propensity scores are clipped to this range (limits extreme weights).
    target : boolean array, optional
        The clients whose effect is estimated (e.g. one pilot's clients): the propensity and outcome models are
        fitted on all rows (so a small pilot keeps every covariate of the pooled model, with pilot dummies for
        pilot-specific levels), but the two means of the estimator run over the target rows only. The stacked
        sandwich then covers the estimation of the pooled models; the small-sample factor is
        ``max(n / (n − k), n_S / (n_S − 2))`` and the degrees of freedom are the Welch–Satterthwaite ones of the
        two target means (each with its Kish effective size).
    imputation : (Z, observed, offset), optional
        Regression imputation stacked into the sandwich (Robins & Wang 2000): the outcome of the rows where
        ``observed`` is False is replaced by ``Z α̂ + offset``, ``α̂`` the least-squares fit of ``y`` on ``Z``
        (the imputation model's predictors, with an intercept) over the observed rows, and the imputation model's
        normal equations are stacked with the estimator's, so the standard error carries the uncertainty of
        ``α̂`` and counts an imputed row only through what its predictors say about it. This is the large-``m``
        limit of a multiple imputation from that model (see :func:`mi_linearised`); ``y`` of the unobserved rows
        is ignored.

    Returns
    -------
    dict
        ``estimate, se, ci_low, ci_high, p_value, df, n, n_hb, n_verrokki, ess_hb, ess_verrokki, ps_converged,
        weights, ps, positivity_ok, positivity_reason`` (:func:`positivity_check`; the estimate is still
        computed, the caller decides whether it may be published). Small-sample rules (checked by the coverage simulation in ``tests/test_causal.py``): the
        sandwich variance is multiplied by ``n / (n − k)`` (``k`` stacked parameters, as HC1 does for OLS) and the
        interval and p use a t distribution with ``min(ESS_HB, ESS_control) − 1`` degrees of freedom (ESS = Kish
        effective sample size of the weights). ``se`` is NaN (and ``reason`` says why) when the sandwich is not finite.
    """
    estimand = estimand.upper()
    if estimand not in ("ATT", "ATE"):
        raise ValueError(f"estimand must be 'ATT' or 'ATE', got {estimand!r}")
    y = np.asarray(y, dtype=float)
    t = np.asarray(t, dtype=float)
    n = len(y)
    S = np.ones(n) if target is None else np.asarray(target, dtype=bool).astype(float)
    n1, n0 = int((t * S).sum()), int(((1 - t) * S).sum())
    out = {"estimate": math.nan, "se": math.nan, "ci_low": math.nan, "ci_high": math.nan, "p_value": math.nan,
           "n": n, "n_hb": n1, "n_verrokki": n0, "ess_verrokki": math.nan, "ess_hb": math.nan, "df": math.nan, "ps_converged": False,
           "weights": np.full(n, math.nan), "ps": np.full(n, math.nan), "reason": "",
           "positivity_ok": False, "positivity_reason": ""}
    if n1 < 2 or n0 < 2 or int(t.sum()) < 2 or int(n - t.sum()) < 2:
        out["reason"] = "toisessa ryhmässä on liian vähän asiakkaita"   # no count below the threshold in a published reason
        return out
    Xp = X_ps[:, independent_columns(X_ps)]
    c_rows = t == 0
    h_rows = t == 1
    keep0 = independent_columns(X_out, c_rows)
    if estimand == "ATE":
        keep1 = independent_columns(X_out, h_rows)
        keep0 = np.intersect1d(keep0, keep1)
    Xo = X_out[:, keep0]
    if Xo.shape[1] >= int(c_rows.sum()) or (estimand == "ATE" and Xo.shape[1] >= int(h_rows.sum())):
        out["reason"] = "mallissa on enemmän muuttujia kuin verrokkiasiakkaita"
        return out
    Zi = None
    if imputation is not None:
        Z, obs_i, offset = imputation
        obs_i = np.asarray(obs_i, dtype=bool)
        Z = np.asarray(Z, dtype=float)
        if (~obs_i).any():
            Zi = Z[:, independent_columns(Z, obs_i)]
            if Zi.shape[1] >= int(obs_i.sum()):
                out["reason"] = "imputointimallissa on enemmän muuttujia kuin havaittuja loppumittauksia"
                return out
            alpha = _ols(Zi[obs_i], y[obs_i])
            off = np.zeros(n) if offset is None else np.asarray(offset, dtype=float)
            y = np.where(obs_i, y, Zi @ alpha + off)
    beta, conv = fit_logistic(Xp, t)
    lo, hi = clip
    with np.errstate(all="ignore"):
        eta = Xp @ beta
        e_raw = expit(eta)
        e = np.clip(e_raw, lo, hi)
        inside = ((e_raw > lo) & (e_raw < hi)).astype(float)  # d e / d eta is zero where clipped
        g0 = _ols(Xo[c_rows], y[c_rows])
        m0 = Xo @ g0
        kp, ko = Xp.shape[1], Xo.shape[1]
        if estimand == "ATT":
            o = e / (1 - e)
            r = y - m0
            ts = t * S
            mu1 = float(r[ts == 1].mean())
            w0 = (1 - t) * o * S
            mu0 = float((w0 * r).sum() / w0.sum())
            k = kp + ko + 2
            psi = np.zeros((n, k))
            psi[:, :kp] = Xp * (t - e_raw)[:, None]
            psi[:, kp:kp + ko] = Xo * ((1 - t) * r)[:, None]
            psi[:, -2] = ts * (r - mu1)
            psi[:, -1] = w0 * (r - mu0)
            J = np.zeros((k, k))  # mean derivative of psi w.r.t. theta = (beta, g0, mu1, mu0)
            J[:kp, :kp] = -(Xp * (e_raw * (1 - e_raw))[:, None]).T @ Xp / n
            J[kp:kp + ko, kp:kp + ko] = -(Xo * (1 - t)[:, None]).T @ Xo / n
            J[-2, kp:kp + ko] = -(Xo * ts[:, None]).mean(axis=0)
            J[-2, -2] = -ts.mean()
            J[-1, :kp] = ((w0 * (r - mu0) * inside)[:, None] * Xp).mean(axis=0)  # d o / d eta = o
            J[-1, kp:kp + ko] = -(Xo * w0[:, None]).mean(axis=0)
            J[-1, -1] = -w0.mean()
            dy = np.zeros((n, k))  # d psi_i / d y_i (psi is linear in the outcome)
            dy[:, kp:kp + ko] = Xo * (1 - t)[:, None]
            dy[:, -2], dy[:, -1] = ts, w0
            weights = np.where(t == 1, 1.0, o)
        else:
            g1 = _ols(Xo[h_rows], y[h_rows])
            m1 = Xo @ g1
            a1 = t / e
            a0 = (1 - t) / (1 - e)
            r1, r0 = y - m1, y - m0
            sm = S.mean()
            mu1, mu0 = float(np.mean(S * (m1 + a1 * r1)) / sm), float(np.mean(S * (m0 + a0 * r0)) / sm)
            k = kp + 2 * ko + 2
            psi = np.zeros((n, k))
            psi[:, :kp] = Xp * (t - e_raw)[:, None]
            psi[:, kp:kp + ko] = Xo * ((1 - t) * r0)[:, None]
            psi[:, kp + ko:kp + 2 * ko] = Xo * (t * r1)[:, None]
            psi[:, -2] = S * (m1 + a1 * r1 - mu1)
            psi[:, -1] = S * (m0 + a0 * r0 - mu0)
            J = np.zeros((k, k))  # theta = (beta, g0, g1, mu1, mu0)
            J[:kp, :kp] = -(Xp * (e_raw * (1 - e_raw))[:, None]).T @ Xp / n
            J[kp:kp + ko, kp:kp + ko] = -(Xo * (1 - t)[:, None]).T @ Xo / n
            J[kp + ko:kp + 2 * ko, kp + ko:kp + 2 * ko] = -(Xo * t[:, None]).T @ Xo / n
            # d(t/e)/d eta = -t (1-e)/e ; d((1-t)/(1-e))/d eta = (1-t) e/(1-e)
            J[-2, :kp] = ((-S * t * (1 - e) / e * r1 * inside)[:, None] * Xp).mean(axis=0)
            J[-2, kp + ko:kp + 2 * ko] = (Xo * (S * (1 - a1))[:, None]).mean(axis=0)
            J[-2, -2] = -sm
            J[-1, :kp] = ((S * (1 - t) * e / (1 - e) * r0 * inside)[:, None] * Xp).mean(axis=0)
            J[-1, kp:kp + ko] = (Xo * (S * (1 - a0))[:, None]).mean(axis=0)
            J[-1, -1] = -sm
            dy = np.zeros((n, k))
            dy[:, kp:kp + ko] = Xo * (1 - t)[:, None]
            dy[:, kp + ko:kp + 2 * ko] = Xo * t[:, None]
            dy[:, -2], dy[:, -1] = S * a1, S * a0
            weights = np.where(t == 1, 1 / e, 1 / (1 - e))
        est = mu1 - mu0
        c = np.zeros(k)
        c[-2], c[-1] = 1.0, -1.0
        if Zi is not None:  # stack the imputation model's normal equations (theta = (DR parameters, alpha))
            q = Zi.shape[1]
            mis = (~obs_i).astype(float)
            n_o = int(obs_i.sum())
            # the imputation model's residuals get their own HC1 factor; the estimator's factor below keeps
            # counting the estimator's parameters only (the imputation model is fitted on all observed rows)
            psi_a = Zi * (obs_i * (y - Zi @ alpha))[:, None] * math.sqrt(n_o / max(n_o - q, 1))
            Jf = np.zeros((k + q, k + q))
            Jf[:k, :k] = J
            Jf[:k, k:] = (dy * mis[:, None]).T @ Zi / n  # an imputed outcome moves with alpha
            Jf[k:, k:] = -(Zi * obs_i[:, None]).T @ Zi / n
            psi, J, c = np.hstack([psi, psi_a]), Jf, np.concatenate([c, np.zeros(q)])
        B = psi.T @ psi / n
        try:
            a = np.linalg.solve(J.T, c)  # contrast through the inverse derivative
            factor = n / max(n - k, 1)  # HC1-type degrees-of-freedom correction
            if target is not None:  # the two means rest on the target's clients only
                factor = max(factor, (n1 + n0) / max(n1 + n0 - 2, 1))
            var = float(a @ B @ a) / n * factor
        except (np.linalg.LinAlgError, ValueError):
            var = math.nan
        pos_ok, pos_reason = positivity_check(e_raw, t, eta, conv, clip, estimand, None if target is None else S > 0)
    wc, wh = weights[(t == 0) & (S > 0)], weights[(t == 1) & (S > 0)]
    ess0 = float(wc.sum() ** 2 / (wc ** 2).sum()) if wc.size else math.nan
    ess1 = float(wh.sum() ** 2 / (wh ** 2).sum()) if wh.size else math.nan
    dfree = max(min(ess1, ess0) - 1, 1.0)
    if target is not None and estimand == "ATT" and math.isfinite(est):
        # one pilot's effect: the nuisance models rest on all pilots, so the uncertainty is that of the two target
        # means; Welch–Satterthwaite degrees of freedom of those (each with its own effective size) instead of the
        # smaller ESS alone, which made the pilot intervals conservative (99 % coverage in `make validate`)
        with np.errstate(all="ignore"):
            rh = (y - m0)[(t == 1) & (S > 0)]
            v1 = float(rh.var(ddof=1)) / max(len(rh), 1) if len(rh) > 1 else math.nan
            wsum = float(w0.sum())
            v0 = float((w0 ** 2 * (y - m0 - mu0) ** 2).sum()) / wsum ** 2 if wsum > 0 else math.nan
            ws = (v1 + v0) ** 2 / (v1 ** 2 / max(ess1 - 1, 1.0) + v0 ** 2 / max(ess0 - 1, 1.0))
        if math.isfinite(ws) and ws > 0:
            dfree = max(min(ws, ess1 + ess0 - 2), 1.0)
    out.update(estimate=float(est), ps_converged=bool(conv), weights=weights, ps=e, ess_verrokki=ess0,
               ess_hb=ess1, df=dfree, positivity_ok=bool(pos_ok), positivity_reason=pos_reason)
    if math.isfinite(var) and var > 0 and math.isfinite(dfree):
        se = math.sqrt(var)
        crit = stats.t.ppf(0.5 + confidence / 2, dfree)
        out.update(se=se, ci_low=est - crit * se, ci_high=est + crit * se,
                   p_value=float(2 * stats.t.sf(abs(est / se), dfree)))
    else:
        out["reason"] = "keskivirhettä ei voitu laskea (malli ei ole estimoitavissa tällä aineistolla)"
    return out


# ---------------------------------------------------------------------------------------------------------------
# multiple imputation
# ---------------------------------------------------------------------------------------------------------------
def mice_pmm(data: np.ndarray, m: int = 20, n_iter: int = 10, seed: int = 1, donors: int = 5) -> list[np.ndarray]:
    """Multiple imputation by chained equations with predictive mean matching (van Buuren 2018, ch. 3.4 and 4.5;
    the default of R ``mice`` and of statsmodels ``MICEData``).

    ``data`` is an ``n × p`` float array; NaN marks a missing value. Every column with missing values is imputed in
    turn from all other columns (linear model with an intercept); the coefficients are drawn from their posterior
    (Bayesian linear regression, ``σ²* = RSS / χ²(n_obs − q)``), and each missing value takes the observed value of one
    of the ``donors`` observed rows whose predicted means are closest (type-1 matching). Starting values are random
    draws from the observed values. One generator (``seed``) drives everything, so the imputations are the same on
    every run.

    Returns ``m`` completed copies of ``data`` (the same array ``m`` times when nothing is missing).
    """
    data = np.asarray(data, dtype=float)
    miss = np.isnan(data)
    if not miss.any():
        return [data.copy()]
    rng = np.random.default_rng(seed)
    targets = [j for j in range(data.shape[1]) if miss[:, j].any()]
    few = [j for j in targets if (~miss[:, j]).sum() < 2]
    if few:
        raise ValueError(f"columns {few} have fewer than two observed values: they cannot be imputed")
    out = []
    keep: dict[int, np.ndarray] = {}
    for _ in range(m):
        x = data.copy()
        for j in targets:
            obs = x[~miss[:, j], j]
            x[miss[:, j], j] = rng.choice(obs, size=int(miss[:, j].sum()), replace=True)
        for _ in range(n_iter):
            for j in targets:
                o, mi = ~miss[:, j], miss[:, j]
                Z = np.column_stack([np.ones(len(x)), np.delete(x, j, axis=1)])
                if j not in keep:  # estimable predictors, decided once per imputed column
                    keep[j] = independent_columns(Z, o)
                Z = Z[:, keep[j]]
                zo, yo = Z[o], x[o, j]
                q = Z.shape[1]
                with np.errstate(all="ignore"):
                    beta = _ols(zo, yo)
                    resid = yo - zo @ beta
                    dfree = max(int(o.sum()) - q, 1)
                    sigma2 = float(resid @ resid) / rng.chisquare(dfree)
                    z = rng.standard_normal(q)
                    try:  # beta* ~ N(beta, sigma2* (Z'Z)^-1): with Z'Z = L L', draw L'^-1 z
                        low = np.linalg.cholesky(zo.T @ zo + 1e-10 * np.eye(q))
                        bstar = beta + math.sqrt(max(sigma2, 0.0)) * linalg.solve_triangular(low.T, z, lower=False)
                    except (np.linalg.LinAlgError, ValueError):
                        bstar = beta
                    pred_obs = zo @ beta
                    pred_mis = Z[mi] @ bstar
                k = min(donors, int(o.sum()))
                nearest = _nearest_donors(pred_obs, pred_mis, k)
                pick = nearest[np.arange(len(pred_mis)), rng.integers(0, k, size=len(pred_mis))]
                x[mi, j] = yo[pick]
        out.append(x)
    return out


def _nearest_donors(pred_obs: np.ndarray, pred_mis: np.ndarray, k: int) -> np.ndarray:
    """For each missing row, the indices of the ``k`` observed rows with the closest predicted means.

    Predictions are rounded to 9 decimals and ties are broken by row order, so the donor sets do not depend on
    floating-point noise in the last bits (results identical across machines). One sort of the observed
    predictions plus a window of ``2k`` candidates per missing row (the k nearest in 1-D are contiguous)."""
    po, pm = np.round(pred_obs, 9), np.round(pred_mis, 9)
    n_obs = len(po)
    order = np.argsort(po, kind="stable")
    width = min(2 * k, n_obs)
    pos = np.searchsorted(po[order], pm)
    start = np.clip(pos - k, 0, n_obs - width)
    cand = order[start[:, None] + np.arange(width)[None, :]]
    cand = np.take_along_axis(cand, np.argsort(cand, axis=1, kind="stable"), axis=1)  # row order first ...
    dist = np.abs(po[cand] - pm[:, None])
    return np.take_along_axis(cand, np.argsort(dist, axis=1, kind="stable")[:, :k], axis=1)  # ... then distance


def _pooled_start(estimates: Sequence[float]) -> tuple[np.ndarray, dict]:
    """The estimates as an array and the result of a pooling with only its ``estimate`` (their mean) filled in —
    every field NaN when there is nothing to pool (no estimates, or a non-finite one)."""
    q = np.asarray(estimates, dtype=float)
    res = {"estimate": math.nan, "se": math.nan, "ci_low": math.nan, "ci_high": math.nan, "p_value": math.nan,
           "df": math.nan, "fmi": math.nan}
    if len(q) and np.all(np.isfinite(q)):
        res["estimate"] = float(q.mean())
    return q, res


def rubin(estimates: Sequence[float], variances: Sequence[float], df_com: float = math.inf,
          confidence: float = 0.95) -> dict:
    """Rubin's rules for ``m`` completed-data estimates and their variances, with the Barnard–Rubin (1999)
    small-sample degrees of freedom given the complete-data degrees of freedom ``df_com``.

    Returns ``estimate, se, ci_low, ci_high, p_value, df, fmi`` (fraction of missing information).
    """
    q, res = _pooled_start(estimates)
    if res["estimate"] != res["estimate"]:   # NaN: no estimate to pool
        return res
    u = np.asarray(variances, dtype=float)
    m, qbar = len(q), res["estimate"]
    if not np.all(np.isfinite(u)):
        return res
    ubar = float(u.mean())
    b = float(q.var(ddof=1)) if m > 1 else 0.0
    total = ubar + (1 + 1 / m) * b
    if not (total > 0):
        return res
    lam = (1 + 1 / m) * b / total
    if m > 1 and lam > 0:
        df_old = (m - 1) / lam ** 2
        if math.isfinite(df_com):
            df_obs = (df_com + 1) / (df_com + 3) * df_com * (1 - lam)
            df = 1 / (1 / df_old + 1 / df_obs) if df_obs > 0 else df_old
        else:
            df = df_old
    else:
        df = df_com
    se = math.sqrt(total)
    crit = stats.norm.ppf(0.5 + confidence / 2) if math.isinf(df) else stats.t.ppf(0.5 + confidence / 2, df)
    pval = 2 * (stats.norm.sf(abs(qbar / se)) if math.isinf(df) else stats.t.sf(abs(qbar / se), df))
    res.update(se=se, ci_low=qbar - crit * se, ci_high=qbar + crit * se, p_value=float(pval), df=df, fmi=lam)
    return res


def mi_linearised(estimates: Sequence[float], linear: Mapping, variances: Sequence[float] | None = None,
                  confidence: float = 0.95) -> dict:
    """Pool ``m`` multiply imputed estimates with a linearised variance instead of Rubin's rules.

    Rubin's variance ``ū + (1 + 1/m) b`` is valid when the imputation and the analysis model are *congenial*; when
    the imputation model uses information the analysis cannot (here the interim score, a post-baseline variable that
    may not enter the effect model), it over-counts: ``ū`` treats the imputed values as if they were measured and
    ``b`` adds their imputation noise again, while the part of an imputed value its predictors explain is
    information, not noise (Meng 1994, Stat Sci 9:538; Robins & Wang 2000, Biometrika 87:113–124). The variance
    here is Robins & Wang's: the M-estimation sandwich of the analysis stacked with the imputation model's
    estimating equations (``linear``: :func:`dr_effect` with ``imputation``, the large-``m`` limit of the
    imputations), plus the Monte Carlo variance ``b / m`` of the finite mean over ``m`` imputations. The degrees
    of freedom combine the two by Satterthwaite (1946): ``V² / (s⁴ / ν_obs + (b/m)² / (m − 1))``, where
    ``ν_obs = (ν + 1) / (ν + 3) · ν · (1 − γ)`` is Barnard & Rubin's (1999) observed-data degrees of freedom: the
    complete-data ``ν`` of ``linear`` reduced by the fraction of missing information ``γ = (1 + 1/m) b / (ū +
    (1 + 1/m) b)`` (``ū``: the mean of the imputations' own ``variances``), since the sandwich learns the
    residual spread from the measured outcomes only.

    Returns ``estimate`` (the mean of ``estimates``), ``se, ci_low, ci_high, p_value, df`` and ``fmi`` (Rubin's
    fraction of missing information ``(1 + 1/m) b / (ū + (1 + 1/m) b)`` is not defined here; this is the share of
    the variance due to the finite number of imputations, ``(b/m) / V``).
    """
    q, res = _pooled_start(estimates)
    if res["estimate"] != res["estimate"]:
        return res
    m, qbar = len(q), res["estimate"]
    s = float(linear.get("se", math.nan))
    nu = float(linear.get("df", math.nan))
    if not (math.isfinite(s) and s > 0 and math.isfinite(nu) and nu > 0):
        return res
    bm = float(q.var(ddof=1)) / m if m > 1 else 0.0
    u = np.asarray(variances if variances is not None else [], dtype=float)
    if m > 1 and u.size and np.all(np.isfinite(u)):
        gamma = (m + 1) * bm / (float(u.mean()) + (m + 1) * bm)
        nu = (nu + 1) / (nu + 3) * nu * (1 - gamma)
    total = s ** 2 + bm
    df = nu if bm == 0 else total ** 2 / (s ** 4 / nu + bm ** 2 / (m - 1))
    se = math.sqrt(total)
    crit = stats.t.ppf(0.5 + confidence / 2, df)
    res.update(se=se, ci_low=qbar - crit * se, ci_high=qbar + crit * se,
               p_value=float(2 * stats.t.sf(abs(qbar / se), df)), df=float(df), fmi=bm / total)
    return res


# ---------------------------------------------------------------------------------------------------------------
# effect sizes, unmeasured confounding, multiplicity
# ---------------------------------------------------------------------------------------------------------------
def hedges_correction(n1: int, n0: int) -> float:
    """Hedges' small-sample factor ``J = 1 − 3 / (4 (n1 + n0) − 9)``."""
    return 1 - 3 / (4 * (n1 + n0) - 9)


def pooled_sd(x: Sequence[float], y: Sequence[float]) -> float:
    """Pooled standard deviation of two samples (``ddof = 1`` within each)."""
    a = np.asarray(x, dtype=float)
    b = np.asarray(y, dtype=float)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if a.size < 2 or b.size < 2:
        return math.nan
    return math.sqrt(((a.size - 1) * a.var(ddof=1) + (b.size - 1) * b.var(ddof=1)) / (a.size + b.size - 2))


def evalue_rr(rr: float) -> float:
    """E-value of a risk ratio (VanderWeele & Ding 2017, Ann Intern Med 167:268): ``RR + sqrt(RR (RR − 1))``,
    with ``RR`` replaced by ``1/RR`` below 1."""
    if rr is None or not math.isfinite(rr) or rr <= 0:
        return math.nan
    if rr < 1:
        rr = 1 / rr
    return rr + math.sqrt(rr * (rr - 1))


def evalue_smd(d: float, ci_low: float | None = None, ci_high: float | None = None) -> tuple[float, float]:
    """E-values of a standardised mean difference ``d`` and of its confidence limit closer to the null.

    Uses the approximate conversion ``RR ≈ exp(0.91 d)`` (VanderWeele & Ding 2017, table; VanderWeele 2017).
    The limit's E-value is 1 when the interval contains 0. Returns ``(e_point, e_ci)``.
    """
    if d is None or not math.isfinite(d):
        return math.nan, math.nan
    e_point = evalue_rr(math.exp(0.91 * d))
    if ci_low is None or ci_high is None or not (math.isfinite(ci_low) and math.isfinite(ci_high)):
        return e_point, math.nan
    if ci_low <= 0 <= ci_high:
        return e_point, 1.0
    limit = ci_low if d > 0 else ci_high
    return e_point, evalue_rr(math.exp(0.91 * limit))


def holm(pvalues: Mapping[str, float] | Sequence[float]) -> dict | list:
    """Holm's step-down adjusted p-values (as R ``p.adjust(p, "holm")``); NaNs are left out of the family and
    stay NaN. A mapping in gives a mapping out."""
    keys = list(pvalues.keys()) if isinstance(pvalues, Mapping) else list(range(len(pvalues)))
    vals = [float(pvalues[k]) for k in keys]
    idx = [i for i, v in enumerate(vals) if math.isfinite(v)]
    adj = [math.nan] * len(vals)
    order = sorted(idx, key=lambda i: (vals[i], i))
    m = len(order)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * vals[i]))
        adj[i] = running
    if isinstance(pvalues, Mapping):
        return dict(zip(keys, adj))
    return adj


def weighted_smd(x: np.ndarray, t: np.ndarray, w: np.ndarray | None = None) -> float:
    """Standardised mean difference HB − control of one covariate, weighted means with the **unweighted** pooled
    standard deviation in the denominator (Austin & Stuart 2015, Stat Med 34:3661), so before/after values are
    comparable."""
    x = np.asarray(x, dtype=float)
    t = np.asarray(t, dtype=float)
    w = np.ones_like(x) if w is None else np.asarray(w, dtype=float)
    a, b = x[t == 1], x[t == 0]
    if a.size < 2 or b.size < 2:
        return math.nan
    binary = set(np.unique(x)) <= {0.0, 1.0}
    if binary:
        pa, pb = a.mean(), b.mean()
        sd = math.sqrt((pa * (1 - pa) + pb * (1 - pb)) / 2)
    else:
        sd = math.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)
    ma = float(np.average(a, weights=w[t == 1]))
    mb = float(np.average(b, weights=w[t == 0]))
    if sd == 0:
        return 0.0 if ma == mb else math.nan
    return (ma - mb) / sd
