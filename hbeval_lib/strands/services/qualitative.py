"""Strand 2 qualitative material: the analysis of coded diaries and workshop notes (data contract §3.13).

The files are read at intake (:mod:`hbeval_lib.intake.markdown`: front matter, paragraphs, ``#koodi`` tags, the
codebook); this module works on the resulting ``qualitative`` table. Only counts and approved, scrubbed quotes are
ever published (:func:`approved_quotes`).

Public API
----------
- :func:`code_frequencies` — coded-paragraph counts per code and grouping.
- :func:`stage_change` — code shares at baseline vs. the final stage.
- :func:`approved_quotes` — approved quotes, scrubbed (:func:`hbeval_lib.intake.identifiers.scrub_text`) and
  disclosure-checked.
"""

from __future__ import annotations

import re

import pandas as pd

from hbeval_lib.intake.identifiers import scrub_text
from hbeval_lib.intake.markdown import INFORMANT_GROUPS, NAME_LIKE, TAG_RE

# the tokens hbeval_lib.intake.identifiers.scrub_text puts in place of identifiers (and any other bracketed placeholder word)
REDACTED_RULE = "lainauksesta jouduttiin poistamaan tunnistetietoja: ei näytetä"
REDACTION_TOKEN = re.compile(r"\[(?:nimi|puhelin|sähköposti|osoite|[a-zåäö]+)\]", re.IGNORECASE)

def explode_codes(qual: pd.DataFrame, codes=None) -> pd.DataFrame:
    """One row per (paragraph, code) for codebook codes; ``codes=None`` keeps every tag.

    Adds ``code`` and ``informant`` (Finnish informant group label from ``kind``).
    """
    if qual.empty:
        return qual.assign(code=pd.Series(dtype="string"), informant=pd.Series(dtype="string"))
    df = qual.copy()
    df["code"] = df["tags"].fillna("").astype(str).str.split()
    df = df.explode("code")
    df = df[df["code"].notna() & (df["code"] != "")]
    if codes is not None:
        df = df[df["code"].isin(list(codes))]
    df["informant"] = df["kind"].map(lambda k: INFORMANT_GROUPS.get(str(k), str(k)))
    return df.reset_index(drop=True)


def code_frequencies(qual: pd.DataFrame, by: str | list[str] | None = None, codes=None) -> pd.DataFrame:
    """Number of coded paragraphs per code (rows) and grouping (columns).

    Parameters
    ----------
    qual : DataFrame
        The ``qualitative`` table.
    by : str or list of str, optional
        Column(s) of ``qual`` (or ``"informant"``) to spread as columns; ``None`` gives one column ``n``.
    codes : dict or list, optional
        The codes to count, in order (default: every tag found). Codes with no paragraph get 0.

    Returns
    -------
    DataFrame
        Integer counts, index = code.
    """
    ex = explode_codes(qual, codes)
    order = list(codes) if codes is not None else sorted(ex["code"].unique()) if len(ex) else []
    if by is None:
        out = ex.groupby("code").size().reindex(order, fill_value=0).to_frame("n")
    else:
        out = ex.groupby(["code", *([by] if isinstance(by, str) else by)]).size().unstack(fill_value=0)
        out = out.reindex(order, fill_value=0)
    out.index.name = "code"
    return out.astype(int)


def stage_change(qual: pd.DataFrame, codes, first: str = "lahtotilanne", last: str = "loppu") -> pd.DataFrame:
    """Share of coded paragraphs per code at ``first`` and ``last`` stage and the change (percentage points).

    The denominator is the number of paragraphs carrying at least one codebook code in that stage, so
    the shares describe what the material at each stage was about, independent of how much was written.

    Returns
    -------
    DataFrame
        Index code; columns ``n_<first>``, ``n_<last>``, ``share_<first>``, ``share_<last>``, ``change_pp``
        (shares in %; NaN when a stage has no coded paragraphs).
    """
    codes = list(codes)
    ex = explode_codes(qual, codes)
    out = pd.DataFrame(index=pd.Index(codes, name="code"))
    for st in (first, last):
        sub = ex[ex["stage"] == st]
        denom = sub.drop_duplicates(["source", "doc_id", "paragraph"]).shape[0]
        counts = sub.groupby("code").size().reindex(codes, fill_value=0)
        out[f"n_{st}"] = counts.astype(int)
        out[f"share_{st}"] = 100.0 * counts / denom if denom else float("nan")
    out["change_pp"] = out[f"share_{last}"] - out[f"share_{first}"]
    return out


def strip_tags(text: str) -> str:
    """Remove every ``#tag`` from a text."""
    return re.sub(r"\s{2,}", " ", TAG_RE.sub("", str(text))).strip()


def approved_quotes(qual: pd.DataFrame, min_docs: int, scrub=None, max_quotes: int | None = None,
                    seed: int = 0, by=("pilot", "informant")) -> tuple[pd.DataFrame, list[dict]]:
    """Quotes that may be published: approved, scrubbed, tags stripped, from large enough cells.

    Parameters
    ----------
    qual : DataFrame
        The ``qualitative`` table.
    min_docs : int
        A quote is shown only when its cell (default pilot × informant group) holds at least this many
        documents (the disclosure threshold), so a quote cannot be tied to one writer.
    scrub : callable, optional
        ``text -> text`` removing names, phones, addresses (``hbeval_lib.intake.identifiers.scrub_text``). When ``None``
        it is imported lazily; if that import fails no quote is returned (safe default).
    max_quotes : int, optional
        Keep at most this many (a seeded random sample, in stable order).
    seed : int
        Seed of the sample.
    by : sequence of str
        The cell a quote is attributed to: ``("pilot", "informant")`` or, across all pilots, ``("informant",)``
        (the pilot is then not shown with the quote: ``pilot`` is ``""``).

    Notes
    -----
    As a second line of defence after ``scrub``, a quote that still holds two consecutive capitalised
    words (which in Finnish running text is nearly always a person's or a place's name) is withheld and
    reported with rule ``possible_name``. A quote from which ``scrub`` removed anything (it holds a token such as
    ``[nimi]`` or ``[puhelin]``) is withheld too (rule :data:`REDACTED_RULE`): a quote is printed as written or
    not at all.

    Returns
    -------
    quotes : DataFrame
        Columns ``pilot, informant, stage, codes, text``.
    suppressed : list of dict
        One entry per suppressed cell holding approved quotes: ``{"cell": "<pilot> / <informant>", "rule": ...}``.
    """
    cols = ["pilot", "informant", "stage", "codes", "text"]
    if scrub is None:
        scrub = scrub_text
    if qual.empty:
        return pd.DataFrame(columns=cols), []
    df = qual.copy()
    df["informant"] = df["kind"].map(lambda k: INFORMANT_GROUPS.get(str(k), str(k)))
    by = list(by)
    df["_cell"] = list(zip(*[df[c].astype(str) for c in by]))
    docs = df.groupby("_cell")[["source", "doc_id"]].apply(lambda g: len(g.drop_duplicates()))
    has_quote = df.groupby("_cell")["quote_approved"].any()
    ok = {cell for cell, n in docs.items() if n >= min_docs}
    suppressed = [{"cell": " / ".join(cell), "rule": "docs"}
                  for cell, n in docs.items() if n < min_docs and has_quote[cell]]
    q = df[df["quote_approved"].astype(bool)]
    q = q[q["_cell"].isin(ok)]
    pilots = q["pilot"].astype(str).values if "pilot" in by else [""] * len(q)
    out = pd.DataFrame({"pilot": pilots, "informant": q["informant"].values,
                        "stage": q["stage"].astype(str).values,
                        "codes": q["tags"].fillna("").astype(str).values,
                        "text": [scrub(strip_tags(t)) for t in q["text"].astype(str)]}, columns=cols)
    flagged = out["text"].map(lambda t: bool(NAME_LIKE.search(t)))
    suppressed += [{"cell": " / ".join(x for x in (p, i) if x), "rule": "possible_name"}
                   for p, i in zip(out.loc[flagged, "pilot"], out.loc[flagged, "informant"])]
    # a quote the scrubber had to edit ("sanoi [nimi]", "[puhelin]") is no longer the writer's words and reads as
    # a redacted document: it is dropped, not printed with the tokens
    redacted = out["text"].map(lambda t: bool(REDACTION_TOKEN.search(t))) & ~flagged
    suppressed += [{"cell": " / ".join(x for x in (p, i) if x), "rule": REDACTED_RULE}
                   for p, i in zip(out.loc[redacted, "pilot"], out.loc[redacted, "informant"])]
    out = out[~flagged & ~redacted]
    if max_quotes is not None and len(out) > max_quotes:
        out = out.sample(n=max_quotes, random_state=seed).sort_index()
    return out.reset_index(drop=True), suppressed
