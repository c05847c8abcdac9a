"""Method descriptors: the numbers and choices of the analyses, as the analyses use them, for the report's text.

The methods appendix, the limitations chapter (``book/yhteiset/*.md``) and the strand notebooks' Markdown (filled when
an executed notebook is finalised, :func:`hbeval_lib.book.cache.finalise_notebook`) are researchers' prose, but every number or
choice in them that describes how an estimate was made — the SMD thresholds, the estimand, the number of
imputations, the selection drivers kept in every model, the smallest degrees of freedom of a published interval, the
bootstrap replicates, the disclosure thresholds — is written as ``{{hbeval.<name>}}`` and filled in from
:func:`descriptors`, which reads the very constants and configuration the analysis code reads. The text and the
analysis cannot disagree: a change of the configuration changes both, and an unknown name stops the build.

>>> d = descriptors()
>>> d["smd_notable"], d["smd_negligible"]
('0,2', '0,1')
"""

from __future__ import annotations

import re

from hbeval_lib.config import Config, load_config

TOKEN = re.compile(r"\{\{\s*hbeval\.([a-z_]+)\s*\}\}")


class MethodTextError(KeyError):
    """A shared text names a method descriptor that does not exist."""


def _fi(x, digits: int | None = None) -> str:
    from hbeval_lib.page.report import num

    if isinstance(x, int) or (digits == 0):
        return num(x, 0)
    return num(x, digits if digits is not None else 2).rstrip("0").rstrip(",") if isinstance(x, float) else str(x)


def _and(items: list[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " ja " + items[-1]


def descriptors(cfg: Config | None = None) -> dict[str, str]:
    """Finnish renderings of the analyses' settings (see the module docstring)."""
    from hbeval_lib.strands.costs import stats as costs
    from hbeval_lib.strands.wellbeing import stats as wb

    cfg = cfg or load_config()
    wconf = cfg.section("wellbeing", {}) or {}
    o = {**wb.ANALYSIS_DEFAULTS, **{k: v for k, v in wb.analysis_options(wconf).items() if v is not None}}
    cea = cfg.section("cea", {}) or {}
    disc = cfg.section("disclosure", {}) or {}
    primary = str(wconf.get("primary_outcome", "kykyviisari.osallisuus"))
    table, _, col = primary.partition(".")
    primary_fi = "osallisuustestin pistemäärä" if table == "osallisuustesti" else \
        f"Kykyviisarin osa-alue {col.replace('_', ' ')}"
    lo, hi = o["clip"]
    return {
        "smd_negligible": _fi(wb.SMD_NEGLIGIBLE),
        "smd_notable": _fi(wb.SMD_NOTABLE),
        "estimand": "HB-asiakkailla (ATT)" if o["estimand"] == "ATT" else "kaikilla asiakkailla (ATE)",
        "ps_clip": f"{_fi(float(lo))}–{_fi(float(hi))}",
        "mi_imputations": _fi(int(o["mi_imputations"])),
        "mi_iterations": _fi(int(o["mi_iterations"])),
        "mi_method": wb.MI_METHOD_FI,
        "mi_interactions": wb.MI_INTERACTIONS_FI if o.get("mi_interactions") else "ilman yhdysvaikutuksia",
        "drivers": _and([wb.COVARIATE_FI[d] for d in wb.DRIVERS]),
        "roster_drivers": _and([wb.COVARIATE_FI[d] for d in wb.DRIVERS if d in wb.ROSTER_COVARIATES]),
        "min_df": _fi(int(wb.MIN_DF)),
        "confidence": _fi(int(round(100 * float(o["confidence"])))),
        "primary_outcome": primary_fi,
        "bootstrap_replicates": _fi(int(cea.get("bootstrap_replicates", 2000))),
        "ci_level": _fi(int(round(100 * float(cea.get("ci_level", 0.95))))),
        "min_count": _fi(int(disc.get("min_count", 5))),
        "min_n_stat": _fi(int(disc.get("min_n_stat", 10))),
        # the cost differences' robust variance (the analysis' own constant, so the text cannot go stale)
        "cost_hc": str(costs.COST_HC),
    }


def fill(text: str, cfg: Config | None = None, source: str = "") -> str:
    """Replace every ``{{hbeval.<name>}}`` in ``text``; an unknown name is an error naming the source."""
    d = descriptors(cfg)

    def sub(m):
        if m.group(1) not in d:
            raise MethodTextError(f"{source or 'teksti'}: tuntematon menetelmätieto {{{{hbeval.{m.group(1)}}}}}; "
                                  f"sallitut: {', '.join(sorted(d))} (unknown method descriptor)")
        return d[m.group(1)]

    return TOKEN.sub(sub, text)
