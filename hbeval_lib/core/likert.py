"""Likert summaries and the diverging stacked bar chart (drawn directly: plot-likert is broken on pandas 3).

Layout of the chart: one horizontal bar per item (and group); the disagreeing levels extend to the left of
zero, the agreeing levels to the right, and the neutral level is split half and half across zero, so the
bars line up on the neutral midpoint (Robbins & Heiberger 2011).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from hbeval_lib.core import plots
from hbeval_lib.core.plots import ARM_LABELS, LIKERT_COLORS  # noqa: F401 (re-exported)


def likert_counts(data: pd.DataFrame, item_col: str = "item", value_col: str = "value",
                  group_col: str | None = "group", levels: Sequence[int] = (1, 2, 3, 4, 5)) -> pd.DataFrame:
    """Counts of each answer level per item (and group) from long data.

    Parameters
    ----------
    data : DataFrame
        Long answers: one row per answer with ``item_col``, ``value_col`` (1..k) and optionally ``group_col``.
    levels : sequence of int
        The scale's levels, in order.

    Returns
    -------
    DataFrame
        Index ``(item, group)`` (or ``item``), one integer column per level, in order; items keep their order
        of first appearance.
    """
    keys = [item_col] + ([group_col] if group_col else [])
    d = data.dropna(subset=[value_col])
    d = d[d[value_col].isin(list(levels))]
    if d.empty:
        return pd.DataFrame(columns=list(levels))
    t = d.groupby(keys, sort=False)[value_col].value_counts().unstack(fill_value=0)
    t = t.reindex(columns=list(levels), fill_value=0).astype(int)
    t.columns = list(levels)
    return t


def likert_percent(counts: pd.DataFrame) -> pd.DataFrame:
    """Row percentages of a :func:`likert_counts` table (rows with no answers are dropped)."""
    tot = counts.sum(axis=1)
    return counts[tot > 0].div(tot[tot > 0], axis=0) * 100


def diverging_offsets(percent: pd.DataFrame) -> pd.DataFrame:
    """Left edges of each level's bar segment so that the neutral level is centred on zero.

    For an odd number of levels the middle level straddles zero; for an even number the split is between the
    two middle levels. Returns a frame shaped like ``percent``.
    """
    k = percent.shape[1]
    p = percent.to_numpy(dtype=float)
    if k % 2:
        mid = k // 2
        start = -(p[:, :mid].sum(axis=1) + p[:, mid] / 2)
    else:
        start = -p[:, : k // 2].sum(axis=1)
    left = np.cumsum(np.column_stack([start, p[:, :-1]]), axis=1)
    return pd.DataFrame(left, index=percent.index, columns=percent.columns)


def diverging_bar(percent: pd.DataFrame, level_labels: Sequence[str], ax=None, row_labels: Sequence[str] | None = None,
                  colors=None, title: str | None = None, min_label: float = 8.0):
    """Draw a diverging stacked bar chart of Likert percentages.

    Parameters
    ----------
    percent : DataFrame
        Rows = bars (e.g. from :func:`likert_percent`), columns = levels in scale order, values in %.
    level_labels : sequence of str
        Legend labels of the levels (Finnish).
    ax : matplotlib Axes, optional
        Where to draw; a new figure otherwise.
    row_labels : sequence of str, optional
        Y tick labels; default: the index joined with " – ".
    min_label : float
        Segments at least this wide (%) get their percentage written inside.

    Returns
    -------
    matplotlib Figure
    """
    n_levels = percent.shape[1]
    colors = list(colors) if colors else plots.likert_palette(n_levels)
    if len(colors) < n_levels:
        colors = plots.likert_palette(n_levels)
    own_figure = ax is None
    if own_figure:
        # constrained layout keeps the legend below the x-axis label, however few the rows (a one-row figure put
        # the legend over the label)
        fig, ax = plt.subplots(figsize=(11, 0.42 * len(percent) + 2.2), layout="constrained")
    else:
        fig = ax.figure
    left = diverging_offsets(percent)
    y = np.arange(len(percent))[::-1]
    for j, col in enumerate(percent.columns):
        w = percent[col].to_numpy(dtype=float)
        ax.barh(y, w, left=left[col].to_numpy(), color=colors[j], edgecolor="white", linewidth=0.5,
                label=level_labels[j] if j < len(level_labels) else str(col), height=0.75)
        for yi, wi, li in zip(y, w, left[col].to_numpy()):
            if wi >= min_label:
                ax.text(li + wi / 2, yi, f"{wi:.0f}", ha="center", va="center", fontsize=8,
                        color=plots.label_color(colors[j]))
    if row_labels is None:
        row_labels = [" – ".join(map(str, i)) if isinstance(i, tuple) else str(i) for i in percent.index]
    ax.set_yticks(y, labels=list(row_labels))
    ax.axvline(0, color="0.3", linewidth=0.8)
    lim = max(50.0, float(np.nanmax(np.abs(np.column_stack([left.to_numpy(), (left + percent).to_numpy()])))))
    ax.set_xlim(-lim - 2, lim + 2)
    ticks = np.arange(-100, 101, 25)
    ticks = ticks[np.abs(ticks) <= lim + 2]
    ax.set_xticks(ticks, labels=[f"{abs(t):.0f}" for t in ticks])
    ax.set_xlabel("Vastaajien osuus (%)")
    if own_figure:
        fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center",
                   ncol=min(len(level_labels), 5), frameon=False, fontsize=9)
    else:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.08 - 1.2 / max(len(percent), 4)),
                  ncol=min(len(level_labels), 5), frameon=False, fontsize=8)
    ax.grid(axis="y", visible=False)
    if title:
        ax.set_title(title)
    return fig


def group_row_labels(index: pd.Index, item_labels: Mapping[str, str] | None = None,
                     group_labels: Mapping[str, str] | None = None) -> list[str]:
    """Readable y labels for an ``(item, group)`` index: ``"<item label> (<group label>)"``."""
    item_labels = dict(item_labels or {})
    group_labels = dict(group_labels or ARM_LABELS)
    out = []
    for i in index:
        if isinstance(i, tuple):
            item, group = i[0], i[1]
            out.append(f"{item_labels.get(item, item)} ({group_labels.get(group, group)})")
        else:
            out.append(str(item_labels.get(i, i)))
    return out


COLLAPSED_LABELS = ["eri mieltä", "ei samaa eikä eri mieltä", "samaa mieltä"]


def collapse_to_three(counts: pd.DataFrame) -> pd.DataFrame:
    """Merge an odd-length Likert scale (columns in scale order) into disagree / neutral / agree.

    Used when a full scale would show categories of a few persons: three coarser categories lose less than hiding
    the item.

    >>> collapse_to_three(pd.DataFrame([[1, 2, 3, 4, 5]], columns=[1, 2, 3, 4, 5])).values.tolist()
    [[3, 3, 9]]
    """
    k = counts.shape[1]
    if k < 3 or k % 2 == 0:
        raise ValueError("collapse_to_three needs an odd number of levels (>= 3)")
    half = (k - 1) // 2
    cols = list(counts.columns)
    out = pd.DataFrame({COLLAPSED_LABELS[0]: counts[cols[:half]].sum(axis=1),
                        COLLAPSED_LABELS[1]: counts[cols[half]],
                        COLLAPSED_LABELS[2]: counts[cols[half + 1:]].sum(axis=1)}, index=counts.index)
    return out
