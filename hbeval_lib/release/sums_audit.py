"""An audit of the protected release against the sums a reader finds elsewhere in the same report.

The intruder (:mod:`.intruder`) reads the pages as a reader does and uses only relations the labels justify: a
table's printed totals, the all-pilots page as the pilots' sum, the phases. Readers of unseen sets found another
kind: a table that prints no total still adds up to a group's size, and the same report prints that size on another
page — "0 | <5 | 6 | 21 | 27" HB clients by provider types beside "55 HB-asiakasta" on the cost page (55 − 54 = 1),
a heat map's informant columns adding up to a stage count printed in results.csv. A reader cannot know which printed
number is the sum; an auditor with the truth can. This audit takes the protected ledger (which, after settling, is
what the pages printed, cell by cell) and reports every table line — a row or a column of a page's table without a
declared total for that line — whose hidden cells are a single small count (1 … ``min_count``−1), while the line's
true sum is printed as a count of the same report and pilot elsewhere (another table, another strand, a count on its
own): the printed sum less the line's shown cells gives it back. And it reports every hidden size of an arm (a
table's total, a pilot's row, a count on its own) that another table prints under the arm's name ("Verrokki | 108"
beside a recruitment table that hid its 108 control clients to protect one pilot's single control).

Independent of :func:`hbeval_lib.release.protect._printed_sums`, which adds such sums to the protection's model:
here the question is asked of the finished release, as the sweep's check (:mod:`hbeval_lib.book.sweep`).
"""

from __future__ import annotations

import re

import pandas as pd

ALL = "kaikki"


def _scope(led: pd.DataFrame, pilot_by_name: dict[str, str]) -> tuple[pd.Series, pd.Series]:
    """Which cells are a pilot's row of an all-pilots table, and the pilot whose persons each cell counts (its
    page's, or for such a row that pilot)."""
    pilot_row = led["pilot"].eq(ALL) & led["row"].isin(list(pilot_by_name)) & led["margin"].isin(["", "col"])
    return pilot_row, led["pilot"].where(~pilot_row, led["row"].map(pilot_by_name))


def findings(ledger: pd.DataFrame, pilot_by_name: dict[str, str], min_count: int = 5) -> pd.DataFrame:
    """Hidden small counts given back by a line sum printed elsewhere: ``phase, strand, pilot, table, line, cell,
    value, printed_in`` (one row per finding; empty: none)."""
    cols = ["phase", "strand", "pilot", "table", "line", "cell", "value", "printed_in"]
    led = ledger[ledger["kind"].eq("count") & ledger["value"].notna()].copy()
    if led.empty:
        return pd.DataFrame(columns=cols)
    for c in ("strand", "phase", "pilot", "table", "row", "col", "margin"):
        led[c] = led[c].fillna("").astype(str)
    led["value"] = led["value"].astype("int64")
    led["suppressed"] = led["suppressed"].astype(bool)
    pilot_row, led["scope"] = _scope(led, pilot_by_name)
    shown = led[~led["suppressed"]]
    # what a reader takes for a group's size: a count on its own (a sentence, the n of a statistic), a table's
    # total, a pilot's row of an all-pilots table — of the same strand (the same population of persons; another
    # strand counts other things: staff, paragraphs, respondents); and a count of the same row label anywhere in
    # the report (the same group's persons)
    size = shown[shown["col"].eq("") | shown["row"].eq("n") | shown["margin"].ne("") | pilot_row[shown.index]]
    printed: dict = {}
    for t in size[["phase", "scope", "value", "strand", "table"]].itertuples(index=False, name=None):
        printed.setdefault((t[0], t[1], t[2], t[3]), set()).add(f"{t[3]}:{t[4]}")
    same_row: dict = {}
    for t in shown[["phase", "scope", "row", "value", "strand", "table"]].itertuples(index=False, name=None):
        same_row.setdefault((t[0], t[1], t[2].strip().lower(), t[3]), set()).add(f"{t[4]}:{t[5]}")
    out = []
    interior = led[led["margin"].eq("") & led["col"].ne("")]
    for (phase, strand, pilot, table), page in interior.groupby(["phase", "strand", "pilot", "table"], sort=True):
        declared = led[(led["phase"] == phase) & (led["strand"] == strand) & (led["pilot"] == pilot)
                       & (led["table"] == table)]
        row_totals = set(declared.loc[declared["margin"].isin(["col", "both"]), "row"])
        col_totals = set(declared.loc[declared["margin"].isin(["row", "both"]), "col"])
        own = page if pilot != ALL else page[~page["row"].isin(list(pilot_by_name))]
        for axis in ("row", "col"):
            for label, line in own.groupby(axis, sort=True):
                if len(line) < 2 or (axis == "row" and label in row_totals) or (axis == "col" and label in col_totals):
                    continue
                hidden = line[line["suppressed"]]
                if len(hidden) != 1 or not 0 < int(hidden["value"].iat[0]) < min_count:
                    continue
                total = int(line["value"].sum())
                where = printed.get((phase, pilot, total, strand), set())
                if axis == "row":
                    where = where | same_row.get((phase, pilot, str(label).strip().lower(), total), set())
                where = where - {f"{strand}:{table}"}
                if where:
                    h = hidden.iloc[0]
                    out.append({"phase": phase, "strand": strand, "pilot": pilot, "table": table,
                                "line": f"{axis} {label}", "cell": f"{h['row']} / {h['col']}",
                                "value": int(h["value"]), "printed_in": ", ".join(sorted(where))[:300]})
    # a hidden size of an arm (a table's total, a pilot's row, a count on its own) printed inside another table
    # under the arm's name: the recruitment table hid 108 control clients while a coverage table printed
    # "Verrokki | 108" (unseen set seed 271) — whatever the hidden total protected is open again
    arm = pd.Series([_arm(r) or _arm(c) for r, c in zip(led["row"], led["col"])], index=led.index)
    size_like = led["margin"].ne("") | pilot_row | led["col"].eq("") | led["row"].eq("n")
    hidden_sizes = led[led["suppressed"] & size_like & arm.ne("") & (led["value"] >= min_count)]
    shown_arm = led[~led["suppressed"] & arm.ne("")]
    index = {}
    for i, t in zip(shown_arm.index, shown_arm[["phase", "scope", "value"]].itertuples(index=False, name=None)):
        index.setdefault((t[0], t[1], arm[i], t[2]), []).append(i)
    for i, h in hidden_sizes.iterrows():
        hits = index.get((h["phase"], h["scope"], arm[i], int(h["value"])), [])
        if hits:
            where = sorted({f"{led.at[j, 'strand']}:{led.at[j, 'table']} ({led.at[j, 'row']} / {led.at[j, 'col']})"
                            for j in hits})
            out.append({"phase": h["phase"], "strand": h["strand"], "pilot": h["pilot"], "table": h["table"],
                        "line": f"{arm[i]} size", "cell": f"{h['row']} / {h['col']}", "value": int(h["value"]),
                        "printed_in": ", ".join(where)[:300]})
    return pd.DataFrame(out, columns=cols)


def _arm(label: str) -> str:
    """The arm a label names (``hb``, ``verrokki``, ``""``)."""
    text = str(label).lower()
    if "verrokki" in text:
        return "verrokki"
    return "hb" if re.search(r"(^|[^a-zåäö0-9])hb($|[^a-zåäö0-9]|-asiak)", text) else ""


def summary(found: pd.DataFrame, limit: int = 8) -> str:
    lines = [f"sums printed elsewhere: {len(found)} hidden small counts given back (summat muualla: {len(found)} "
             "peitettyä pientä lukumäärää selviää)"]
    for r in found.head(limit).itertuples(index=False):
        lines.append(f"  {r.phase}/{r.strand}/{r.pilot}: {r.table} ({r.line}): {r.cell} = {r.value}; "
                     f"the line's sum is printed in {r.printed_in}")
    return "\n".join(lines)
