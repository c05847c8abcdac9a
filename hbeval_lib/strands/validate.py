"""``make validate``: a simulation check of every published interval type at pilot-page and all-pilots sizes.

Not a timed test: it takes a few minutes on two cores and prints (and, with ``--write``, stores in
``docs/validation.md``) a table of bias, coverage, mean width and failure rate (share of data sets where the
interval is not published: withheld by the positivity, degrees-of-freedom or width rules, or by the disclosure rule
that no page shows a statistic on fewer than ``min_n_stat`` persons — the smaller arm's observed end scores for an
effect or a CEA, the arm's clients for a mean cost). Coverage is over the published intervals, with its Monte Carlo
standard error; a second coverage column counts every interval the method gave, published or not.
``--pilot-sizes``, ``--total-sizes``, ``--seed`` and ``--reps`` rerun single sizes with more replications.

The generator is this module's own (independent of the unit tests' generators):

* **self-selection**: clients choose HB with a probability rising with unemployment, age and a low start score;
  the same variables drive the change (so an unadjusted comparison is biased);
* **heterogeneous effects**: the HB effect is 0.3 points for the employed and 0.8 for the unemployed, plus
  0.01 per year of age above 45 — the truth is the sample ATT (mean effect of the HB clients);
* **missing data**: 20 % of end scores missing at random given the arm and the interim score;
* **skewed costs**: gamma-distributed with shape 0.6 (a long right tail), HB + 1 000 €, unemployment + 800 €;
* **sizes**: a pilot page (the target pilot has 10–60 clients per arm, three other pilots 40 + 40) and all
  pilots (150–600 clients in total, five pilots).

Interval types: the primary doubly robust + MI effect (all pilots and a pilot page), the complete-case DR effect,
the per-arm mean cost (bootstrap-t), the adjusted cost difference (HC2 t), and the INMB at k = 1 000 € / point
of the CE analysis (the t interval of k·Δe − Δc from the two differences' standard errors, Welch–Satterthwaite df;
its CE-plane draws have the two intervals' spread by construction).
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd

from hbeval_lib.strands.costs import cea
from hbeval_lib.strands.costs import stats as costs
from hbeval_lib.strands.wellbeing import stats as wb

LABOUR = np.array(["ansiotyössä", "työtön", "eläkkeellä", "opiskelija"], dtype=object)
K = 1000.0


def simulate(rng: np.random.Generator, sizes: dict[str, int], missing: float = 0.2) -> tuple[pd.DataFrame, dict]:
    """One data set: ``sizes`` maps pilot → expected clients (arms by self-selection). Returns the frame (the
    shape of :func:`hbeval_lib.strands.wellbeing.stats.outcome_frame` plus ``cost``) and the per-client truths."""
    parts = []
    for p, n in sizes.items():
        age = rng.uniform(18, 70, n)
        labour = rng.choice(LABOUR, size=n, p=[0.35, 0.35, 0.15, 0.15])
        unemp = (labour == "työtön").astype(float)
        start = np.clip(rng.normal(5.5 - 0.6 * unemp, 1.5, n), 0, 10)
        logit = -0.1 + 1.0 * unemp + 0.03 * (age - 45) - 0.25 * (start - 5)
        hb = rng.random(n) < 1 / (1 + np.exp(-logit))
        tau = 0.3 + 0.5 * unemp + 0.01 * (age - 45)
        change = 0.2 + 0.02 * (age - 45) - 0.6 * unemp - 0.35 * (start - 5) + tau * hb + rng.normal(0, 0.9, n)
        end = start + change
        aux = start + 0.5 * change + rng.normal(0, 0.5, n)
        p_miss = 1 / (1 + np.exp(-(math.log(missing / (1 - missing)) - 0.7 * (aux - start) + 0.3 * (~hb))))
        end = np.where(rng.random(n) < p_miss, np.nan, end)
        cost_mean = 1500 + 1000 * hb + 800 * unemp + 20 * (age - 45)
        cost = cost_mean + rng.gamma(0.6, 2000.0, n) - 1200.0
        parts.append(pd.DataFrame({"pilot": p, "client_group": "x", "arm": np.where(hb, "hb", "verrokki"),
                                   "start": start, "aux": aux, "end": end, "age": age,
                                   "gender": rng.choice(["mies", "nainen"], n), "family_structure": "a",
                                   "labour_status": labour, "cost": cost, "_tau": tau, "_cost_mean": cost_mean}))
    d = pd.concat(parts, ignore_index=True)
    d.insert(0, "client_id", [f"{i:06d}" for i in range(len(d))])
    return d, {}


def _pilot_sizes(per_arm: int) -> dict[str, int]:
    """The target pilot has ``2 × per_arm`` clients (about ``per_arm`` per arm after self-selection; 20 % of the
    end scores then go missing), the three other pilots 80 each."""
    return {"kohde": 2 * per_arm, "b": 80, "c": 80, "d": 80}


PILOT_SIZES = (10, 20, 40, 60)
TOTAL_SIZES = (150, 300, 600)


def run(reps: int = 200, seed: int = 20261207, m: int = 10, quick: bool = False,
        pilot_sizes: tuple[int, ...] | None = None, total_sizes: tuple[int, ...] | None = None,
        min_n: int | None = None) -> pd.DataFrame:
    """The validation table (one row per interval type and size). ``pilot_sizes`` (clients per arm of a pilot
    page) and ``total_sizes`` (clients of all pilots) default to the published sizes (``quick``: one small size
    each); an empty tuple skips that kind. ``min_n``: the disclosure rule's person limit (default ``min_n_stat``
    of ``hbeval.yml``), see :func:`summarise`."""
    rng = np.random.default_rng(seed)
    rows = []
    opts = {"mi_imputations": m, "mi_iterations": 5, "scale_width": 10.0}
    if pilot_sizes is None:
        pilot_sizes = PILOT_SIZES if not quick else (12,)
    if total_sizes is None:
        total_sizes = TOTAL_SIZES if not quick else (150,)
    min_n = disclosure_min_n() if min_n is None else int(min_n)
    acc: dict[tuple[str, str], list] = {}

    def add(kind, size, est, lo, hi, truth, n):
        """One replication of one interval type; ``n`` is the number of persons the page's disclosure rule
        looks at (the smaller arm's observed end scores for an effect, the arm's clients for a mean cost, the
        smaller arm for a difference)."""
        acc.setdefault((kind, size), []).append((est, lo, hi, truth, n))

    for per_arm in pilot_sizes:
        for _ in range(reps):
            d, _ = simulate(rng, _pilot_sizes(per_arm))
            a = wb.effect_analysis(d, target_pilot="kohde", **opts)
            tg = (d["pilot"] == "kohde") & (d["arm"] == "hb")
            truth = float(d.loc[tg, "_tau"].mean())
            p = a.primary()
            n_obs = min(a.observed_end())
            add("Vaikutus, pilotin sivu (DR + MI, yhteinen malli)", f"{per_arm}/ryhmä", p["estimate"], p["ci_low"],
                p["ci_high"], truth, n_obs)
            cc = a.complete_case()
            add("Vaikutus, pilotin sivu, täydelliset havainnot", f"{per_arm}/ryhmä", cc["estimate"], cc["ci_low"],
                cc["ci_high"], truth, n_obs)
            page = d[d["pilot"] == "kohde"].reset_index(drop=True)
            n_arm = {arm: int((page["arm"] == arm).sum()) for arm in ("hb", "verrokki")}
            idx, cols = cea.stratified_indices(page["arm"], 999, int(rng.integers(1 << 30)))
            for arm, pos in cols.items():
                x = page["cost"].to_numpy(float)
                sel = (page["arm"] == arm).to_numpy()
                lo, hi = cea.studentized_ci(x, idx[:, pos], rows=np.flatnonzero(sel))
                truth_c = float(page.loc[sel, "_cost_mean"].mean())
                add(f"Keskikustannus, {arm} (bootstrap-t)", f"{per_arm}/ryhmä", float(x[sel].mean()), lo, hi,
                    truth_c, int(sel.sum()))
                plo, phi = cea.percentile_ci(x[idx[:, pos]].mean(axis=1))
                add(f"(vertailu, ei julkaista) keskikustannus, {arm}, persentiili", f"{per_arm}/ryhmä",
                    float(x[sel].mean()), plo, phi, truth_c, int(sel.sum()))
            r, _ = costs.adjusted_cost_difference(page, "cost", covariates=("age", "labour_status"))
            add("Kustannusero, vakioitu (HC2 t)", f"{per_arm}/ryhmä", r["estimate"], r["ci_low"], r["ci_high"],
                1000.0, min(n_arm.values()))
            if p.get("published") and math.isfinite(r.get("ci_low", math.nan)):
                dr = cea.matched_draws({k: p[k] for k in ("estimate", "ci_low", "ci_high", "se", "df")}, r, 0.0, 0.0, 0.0,
                                       replicates=500, seed=1)
                inmb = cea.inmb_matched(dr, K)
                add("INMB, k = 1 000 € (CE-tason toistot)", f"{per_arm}/ryhmä", inmb["estimate"], inmb["ci_low"],
                    inmb["ci_high"], K * truth - 1000.0, min(n_obs, *n_arm.values()))
            else:
                add("INMB, k = 1 000 € (CE-tason toistot)", f"{per_arm}/ryhmä", math.nan, math.nan, math.nan,
                    K * truth - 1000.0, min(n_obs, *n_arm.values()))
    for total in total_sizes:
        for _ in range(reps):
            d, _ = simulate(rng, {p: total // 5 for p in "abcde"})
            a = wb.effect_analysis(d, pilot_effects=True, **opts)
            truth = float(d.loc[d["arm"] == "hb", "_tau"].mean())
            p = a.primary()
            add("Vaikutus, kaikki pilotit (DR + MI)", f"{total} yht.", p["estimate"], p["ci_low"], p["ci_high"],
                truth, min(a.observed_end()))
            r, _ = costs.adjusted_cost_difference(d, "cost")
            add("Kustannusero, vakioitu (HC2 t)", f"{total} yht.", r["estimate"], r["ci_low"], r["ci_high"], 1000.0,
                int(min((d["arm"] == arm).sum() for arm in ("hb", "verrokki"))))
    for (kind, size), v in acc.items():
        rows.append(summarise(kind, size, np.array(v, dtype=float), min_n))
    return pd.DataFrame(rows)


def disclosure_min_n() -> int:
    """The disclosure rule's ``min_n_stat`` of ``hbeval.yml`` (a statistic on fewer persons is not shown; 10 when
    the configuration cannot be read)."""
    try:
        from hbeval_lib.config import load_config

        return int((load_config().section("disclosure", {}) or {}).get("min_n_stat", 10))
    except Exception:  # noqa: BLE001 - the validation runs without a configured repository too
        return 10


def summarise(kind: str, size: str, x: np.ndarray, min_n: int) -> dict:
    """One table row from the replications ``x`` (columns ``estimate, low, high, truth, n``).

    An interval is *published* when the method's own rules gave one (finite limits: not withheld by the positivity,
    degrees-of-freedom or width rules) **and** it rests on at least ``min_n`` persons (the disclosure rule every
    page applies). Bias, coverage, widths and the Monte Carlo standard error of the coverage are over the
    published intervals; ``Kattavuus, ilman henkilörajaa`` is the coverage of every interval the method gave, so the
    method is assessed at sizes where the page would not show it too."""
    est, lo, hi, truth, n = x.T
    given = np.isfinite(lo) & np.isfinite(hi)
    ok = given & (n >= min_n)
    hit = (lo <= truth) & (truth <= hi)
    cov = float(np.mean(hit[ok])) if ok.any() else math.nan
    return {"Väli": kind, "Koko": size, "Toistoja": len(x),
            "Harha": float(np.mean(est[ok] - truth[ok])) if ok.any() else math.nan,
            "Kattavuus": cov,
            "MC-kv (%-yks.)": 100 * math.sqrt(cov * (1 - cov) / ok.sum()) if ok.any() else math.nan,
            "Kattavuus, ilman henkilörajaa": float(np.mean(hit[given])) if given.any() else math.nan,
            "Keskileveys": float(np.mean(hi[ok] - lo[ok])) if ok.any() else math.nan,
            "Suurin leveys": float(np.max(hi[ok] - lo[ok])) if ok.any() else math.nan,
            "Ei julkaistu": float(1 - ok.mean()),
            f"josta alle {min_n} hlö": float(np.mean(given & (n < min_n)))}


def to_markdown(t: pd.DataFrame) -> str:
    head = "| " + " | ".join(t.columns) + " |\n|" + "---|" * len(t.columns) + "\n"
    body = ""
    for _, r in t.iterrows():
        cells = []
        for c in t.columns:
            v = r[c]
            if c in ("Kattavuus", "Kattavuus, ilman henkilörajaa", "Ei julkaistu") or c.startswith("josta"):
                cells.append(f"{100 * v:.1f} %" if math.isfinite(v) else "–")
            elif c.startswith("MC-kv"):
                cells.append(f"{v:.1f}" if math.isfinite(v) else "–")
            elif isinstance(v, float):
                cells.append(f"{v:.3g}" if math.isfinite(v) else "–")
            else:
                cells.append(str(v))
        body += "| " + " | ".join(cells) + " |\n"
    return head + body


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description="Simulation check of the published intervals (issue 20).")
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--quick", action="store_true", help="one small size each, for a smoke run")
    ap.add_argument("--write", type=Path, help="replace the table between the markers of this markdown file")
    ap.add_argument("--seed", type=int, default=20261207)
    ap.add_argument("--m", type=int, default=10, help="imputations per analysis (the report uses 40)")
    ap.add_argument("--pilot-sizes", type=int, nargs="*", default=None,
                    help="clients per arm of the pilot-page runs (default 10 20 40 60; none: skip them)")
    ap.add_argument("--total-sizes", type=int, nargs="*", default=None,
                    help="clients of the all-pilots runs (default 150 300 600; none: skip them)")
    ap.add_argument("--min-n", type=int, default=None,
                    help="disclosure limit in persons (default: min_n_stat of hbeval.yml)")
    args = ap.parse_args(argv)
    if args.write and (args.quick or args.pilot_sizes is not None or args.total_sizes is not None):
        ap.error("--write stores the full table only: leave out --quick, --pilot-sizes and --total-sizes")
    t0 = time.time()
    t = run(reps=args.reps, seed=args.seed, m=args.m, quick=args.quick,
            pilot_sizes=None if args.pilot_sizes is None else tuple(args.pilot_sizes),
            total_sizes=None if args.total_sizes is None else tuple(args.total_sizes), min_n=args.min_n)
    md = to_markdown(t)
    print(md)
    print(f"({time.time() - t0:.0f} s, {args.reps} replications per row)")
    if args.write:
        text = args.write.read_text(encoding="utf-8")
        a, b = "<!-- validate:start -->", "<!-- validate:end -->"
        if a in text and b in text:
            text = text[:text.index(a) + len(a)] + "\n" + md + text[text.index(b):]
            args.write.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
