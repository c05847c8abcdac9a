"""Benchmark of the cost strand's bootstrap: 10,000 replicates for 1,000 clients (goal: well under a second).

Called by the coordinator's ``make bench`` as ``run() -> dict``; also ``python -m hbeval_lib.strands.costs.bench``.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from hbeval_lib.strands.costs import cea


def run(clients: int = 1000, replicates: int = 10_000, seed: int = 1, repeats: int = 3) -> dict:
    """Time the stratified joint bootstrap of mean cost and effect and the CEA summary.

    Returns
    -------
    dict
        ``clients``, ``replicates``, best-of-``repeats`` seconds for ``indices``, ``means`` (two
        columns, both arms), ``summarise`` (51-point WTP grid) and ``total``.
    """
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"arm": np.where(rng.random(clients) < 0.5, "hb", "verrokki"),
                       "cost": rng.lognormal(7, 1, clients), "change": rng.normal(0.3, 1.5, clients)})
    wtp = np.linspace(0, 5000, 51)
    best = {"indices": np.inf, "means": np.inf, "summarise": np.inf, "total": np.inf}
    for _ in range(repeats):
        t0 = time.perf_counter()
        index = cea.stratified_indices(df["arm"], replicates, seed)
        t1 = time.perf_counter()
        m = cea.bootstrap_means(df, ["change", "cost"], index=index)
        t2 = time.perf_counter()
        e = pd.DataFrame({a: m[a]["change"] for a in ("hb", "verrokki")})
        c = pd.DataFrame({a: m[a]["cost"] for a in ("hb", "verrokki")})
        cea.summarise(e, c, "hb", wtp)
        t3 = time.perf_counter()
        for k, v in (("indices", t1 - t0), ("means", t2 - t1), ("summarise", t3 - t2), ("total", t3 - t0)):
            best[k] = min(best[k], v)
    return {"clients": clients, "replicates": replicates, **{f"{k}_s": round(v, 4) for k, v in best.items()}}


if __name__ == "__main__":
    print(run())
