"""Robustness as a property: the whole book builds from generated raw sets the demo never was (other seeds, sizes
from 60 clients, planted faults), every page publishes exactly the protected release, and the intruder recovers
nothing (the light sweep; ``make sweep`` runs the full one, see hbeval_lib/book/sweep.py)."""

from __future__ import annotations

import pytest

from hbeval_lib.book import sweep

pytestmark = pytest.mark.slow


def _id(spec) -> str:
    seed, clients, faults, *var = spec
    return f"s{seed}-{clients}-{faults}" + "".join(f"-{v}" for v in (var[0] if var else ()))


@pytest.mark.parametrize("spec", sweep.LIGHT, ids=[_id(s) for s in sweep.LIGHT])
def test_generated_set_builds_settles_and_protects(spec, tmp_path):
    seed, clients, faults, *var = spec
    res = sweep.build_set(seed, clients, faults, tmp_path / "set", variants=var[0] if var else ())
    assert res.ok, res.line()


def test_the_check_rejects_a_page_that_published_an_unprotected_cell(tmp_path):
    """The sweep's page check is not vacuous: a page record with a cell the ledger lacks is reported."""
    import pandas as pd

    from hbeval_lib.release import settle

    led = pd.DataFrame([{"strand": "wellbeing", "phase": "loppuraportti", "pilot": "pori", "table": "t", "row": "a",
                         "col": "", "kind": "count", "value": 12, "margin": "", "primary": "", "suppressed": False,
                         "code": "", "reason": ""}])
    rec = led.drop(columns=["primary", "reason"]).copy()
    assert settle.check(led, {"loppuraportti/wellbeing/pori": rec}) == {}
    rec2 = pd.concat([rec, rec.assign(row="b", value=3)], ignore_index=True)
    bad = settle.check(led, {"loppuraportti/wellbeing/pori": rec2})
    assert "puuttuu julkaisuluettelosta" in bad["loppuraportti/wellbeing/pori"]
    rec3 = rec.assign(suppressed=True, code="secondary")
    assert "decision differs" in settle.check(led, {"loppuraportti/wellbeing/pori": rec3})["loppuraportti/wellbeing/pori"]
