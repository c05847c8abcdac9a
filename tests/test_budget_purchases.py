"""What the HB budgets bought and how they were paid (issue 21: "purchases and payment methods"): the shares are the
budget_use table's euros, a category with few clients or dominated by one or two is hidden, and so is its results
row."""

from __future__ import annotations

import pandas as pd
import pytest

from hbeval_lib.page import report
from hbeval_lib.strands.services import sections as ch


def test_payment_method_shares_are_the_euros_of_each_method(demo_processed):
    processed, _ = demo_processed
    rep = report.start("service_process", "loppuraportti", "kaikki", str(processed), prefix="palveluprosessi")
    sec = ch.budget_purchases(rep)
    use = rep.load("budget_use")
    use = use[use["amount_eur"] > 0]
    eur = use.groupby("payment_method")["amount_eur"].sum() / use["amount_eur"].sum()
    res = rep.res.frame().set_index("key")
    for method, share in eur.items():
        r = res.loc[f"palvelut.maksutapa.{method.replace(' ', '_')}.share"]
        assert r["suppressed"] or r["estimate"] == pytest.approx(share)
    pay = sec.tables[1]
    assert list(pay["Asiakkaita"]) == [use.loc[use["payment_method"] == m, "client_id"].nunique()
                                       for m in ch.PAYMENT_METHODS]
    # every purchase falls in one category: the shown shares never exceed 100 %
    shares = [float(v.replace(" %", "").replace(",", ".")) for v in sec.tables[0]["Osuus euroista"] if v != "–"]
    assert 0 < sum(shares) <= 100 + 0.5 * len(shares)   # whole per cents: each rounded by at most 0.5


def test_a_category_of_few_clients_is_hidden(demo_processed):
    processed, _ = demo_processed
    rep = report.start("service_process", "loppuraportti", "kainuu", str(processed), prefix="palveluprosessi")
    use = rep.load("budget_use")
    # twelve clients, one of whom alone pays by card: the card's euro share would be that client's spending
    ids = sorted(use["client_id"].unique())[:12]
    use = use[use["client_id"].isin(ids)].copy()
    use["payment_method"] = "maksusitoumus"
    use.loc[use["client_id"] == ids[0], "payment_method"] = "maksukortti"
    rep._cache["budget_use"] = use
    sec = ch.budget_purchases(rep)
    pay = sec.tables[1]
    assert pay.loc["Maksukortti", "Osuus euroista"] == "–" and pay.loc["Maksukortti", "Asiakkaita"] == "<5"
    res = rep.res.frame().set_index("key")
    assert res.loc["palvelut.maksutapa.maksukortti.share", "suppressed"]
    # with only two methods, hiding one hides the other (the shares add up to 100 %)
    assert res.loc["palvelut.maksutapa.maksusitoumus.share", "suppressed"]
