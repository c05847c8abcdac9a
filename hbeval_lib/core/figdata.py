"""What a reader can read off a figure, as data: recorded with the figure so the project's intruder can attack it.

A PNG hides nothing from a careful reader: a bar's length, a heat-map cell's colour (decoded through the colour
bar), a histogram's bin edges and the axis limits are all numbers. The record holds them at the precision a reader
can measure them (lengths and edges to the decimal step of one pixel, heat-map values to one colour level) — never
more precisely than the picture, which would be a leak of its own (a share printed as 69 % drawn as 69.0234). :func:`figure_data` lists, per axes of a
matplotlib ``Figure``, everything drawn that carries a number:

* ``bars`` — every rectangle patch (bars of ``bar``/``barh``/``hist``, seaborn's bars): ``x, y, width, height``
  in data coordinates, its colour and hatch, the label of its container (``label=``, the legend entry) and the
  container's orientation;
* ``histograms`` — a bar container whose bars touch each other (one bin's end is the next one's start): its bin
  ``edges``;
* ``cells`` — heat-map cells (``QuadMesh`` of ``pcolormesh``/seaborn ``heatmap``, ``AxesImage`` of ``imshow``):
  each cell's centre, its row and column label (the tick label at its centre), the value its colour encodes (the
  cell's value clipped to the norm's range: what the colour bar decodes), its colour, and whether it is masked
  (not coloured);
* ``xticks``/``yticks`` (position and label), ``xlim``/``ylim``, ``xstep``/``ystep`` (the precision of lengths), the title and axis labels, ``texts`` (annotations:
  text and position in data coordinates) and the legend's entries.

:func:`install_display_hook` registers an IPython display formatter so that every displayed ``Figure`` (``display``,
a figure as a cell's last value, matplotlib-inline's flush at the end of a cell) carries this record in its output's
metadata under :data:`METADATA_KEY`; the PNG itself is unchanged. The record is plain JSON, rounded to 6 significant
digits, and deterministic for a given figure.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

METADATA_KEY = "hbeval/figure-data"
VERSION = 1


def _num(x) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(v):
        return None
    return float(f"{v:.6g}")


def _step(unit: float) -> float | None:
    """The decimal step a reader can resolve when one pixel (or one colour level) is ``unit`` data units."""
    if not (unit and math.isfinite(unit) and unit > 0):
        return None
    return 10.0 ** math.floor(math.log10(unit))


def _q(x, step: float | None) -> float | None:
    """``x`` at the precision a reader can measure it (``step``): the record never says more than the picture."""
    v = _num(x)
    if v is None or step is None:
        return v
    decimals = max(0, -int(round(math.log10(step))))
    return _num(round(round(v / step) * step, decimals))


def _hex(c) -> str | None:
    from matplotlib import colors

    try:
        return colors.to_hex(c, keep_alpha=True)
    except (TypeError, ValueError):
        return None


def _label(artist) -> str | None:
    lab = artist.get_label() if artist is not None else None
    if not lab or str(lab).startswith("_"):
        return None
    return str(lab)


def _ticks(axis) -> list[dict]:
    lo, hi = sorted(axis.axes.get_xlim() if axis.axis_name == "x" else axis.axes.get_ylim())
    out = []
    for lab in axis.get_majorticklabels():     # the labels as drawn (the formatter applied), at their positions
        pos = lab.get_position()[0 if axis.axis_name == "x" else 1]
        if lo - 1e-9 <= pos <= hi + 1e-9:
            out.append({"pos": _num(pos), "label": lab.get_text()})
    return out


def _bars(ax, sx: float | None = None, sy: float | None = None) -> tuple[list[dict], list[dict]]:
    from matplotlib.container import BarContainer
    from matplotlib.patches import Rectangle

    bars, hists = [], []
    seen = set()
    for k, cont in enumerate(ax.containers):
        if not isinstance(cont, BarContainer):
            continue
        orient = getattr(cont, "orientation", None) or "vertical"
        label = _label(cont)
        rects = [p for p in cont.patches if isinstance(p, Rectangle)]
        for p in rects:
            seen.add(id(p))
            bars.append(_bar(p, label, k, orient, sx, sy))
        h = _histogram(rects, orient)
        if h is not None:
            step = sy if orient == "horizontal" else sx
            hists.append({"container": k, "label": label, "orientation": orient, "edges": [_q(e, step) for e in h]})
    for p in ax.patches:
        if isinstance(p, Rectangle) and id(p) not in seen and p.get_visible():
            bars.append(_bar(p, _label(p), None, None, sx, sy))
    return bars, hists


def _bar(p, label, container, orient, sx=None, sy=None) -> dict:
    x, y = p.get_x(), p.get_y()
    w, h = p.get_width(), p.get_height()
    if w < 0:
        x, w = x + w, -w
    if h < 0:
        y, h = y + h, -h
    return {"x": _q(x, sx), "y": _q(y, sy), "width": _q(w, sx), "height": _q(h, sy),
            "color": _hex(p.get_facecolor()) if p.get_fill() else None, "hatch": p.get_hatch() or None,
            "label": label, "container": container, "orientation": orient, "visible": bool(p.get_visible())}


def _histogram(rects, orient) -> list[float] | None:
    """Bin edges of bars that touch (at least two): the bars of a histogram."""
    if len(rects) < 2:
        return None
    spans = []
    for p in rects:
        if orient == "horizontal":
            a, b = p.get_y(), p.get_y() + p.get_height()
        else:
            a, b = p.get_x(), p.get_x() + p.get_width()
        spans.append((min(a, b), max(a, b)))
    spans.sort()
    scale = max(abs(spans[-1][1] - spans[0][0]), 1e-12)
    for (_a0, b0), (a1, _b1) in zip(spans, spans[1:]):
        if abs(b0 - a1) > 1e-9 * scale:
            return None
    return [spans[0][0]] + [b for _a, b in spans]


def _tick_label_at(ticks: list[dict], pos: float, half: float) -> str | None:
    best = None
    for t in ticks:
        if t["pos"] is not None and abs(t["pos"] - pos) <= half * 0.5 + 1e-9:
            if best is None or abs(t["pos"] - pos) < abs(best["pos"] - pos):
                best = t
    return best["label"] if best is not None else None


def _mapped_cells(artist, values: np.ma.MaskedArray, centres_x: np.ndarray, centres_y: np.ndarray,
                  widths: tuple[float, float], xticks, yticks, kind: str, index: int) -> list[dict]:
    norm = artist.norm
    rgba = artist.to_rgba(values)
    mask = np.ma.getmaskarray(values)
    vmin, vmax = norm.vmin, norm.vmax
    # a colour is one of the colour map's N levels: a reader decodes a value to within one level
    levels = getattr(artist.get_cmap(), "N", 256) or 256
    step = _step((float(vmax) - float(vmin)) / levels) if vmin is not None and vmax is not None else None
    out = []
    nrow, ncol = values.shape
    for i in range(nrow):
        for j in range(ncol):
            masked = bool(mask[i, j]) or not math.isfinite(float(values.data[i, j]))
            v = None if masked else float(values.data[i, j])
            if v is not None and vmin is not None and vmax is not None:
                v = min(max(v, float(vmin)), float(vmax))   # the colour saturates at the scale's ends
            cx, cy = float(centres_x[i, j]), float(centres_y[i, j])
            out.append({"artist": kind, "index": index, "i": i, "j": j, "x": _num(cx), "y": _num(cy),
                        "row": _tick_label_at(yticks, cy, widths[1]), "col": _tick_label_at(xticks, cx, widths[0]),
                        "value": _q(v, step), "masked": masked,
                        "color": None if masked else _hex(rgba[i, j])})
    return out


def _heat_cells(ax, xticks, yticks) -> tuple[list[dict], list[dict]]:
    from matplotlib.collections import QuadMesh
    from matplotlib.image import AxesImage

    cells, scales = [], []
    for k, coll in enumerate(ax.collections):
        if not isinstance(coll, QuadMesh) or coll.get_array() is None:
            continue
        coords = np.asarray(coll.get_coordinates())           # (nrow + 1, ncol + 1, 2)
        nrow, ncol = coords.shape[0] - 1, coords.shape[1] - 1
        values = np.ma.asarray(coll.get_array()).reshape(nrow, ncol)
        cx = (coords[:-1, :-1, 0] + coords[1:, 1:, 0]) / 2
        cy = (coords[:-1, :-1, 1] + coords[1:, 1:, 1]) / 2
        w = float(np.median(np.abs(np.diff(coords[0, :, 0])))) if ncol else 1.0
        h = float(np.median(np.abs(np.diff(coords[:, 0, 1])))) if nrow else 1.0
        cells += _mapped_cells(coll, values, cx, cy, (w, h), xticks, yticks, "quadmesh", k)
        scales.append({"artist": "quadmesh", "index": k, "vmin": _num(coll.norm.vmin), "vmax": _num(coll.norm.vmax),
                       "cmap": coll.get_cmap().name})
    for k, im in enumerate(ax.images):
        if not isinstance(im, AxesImage) or im.get_array() is None:
            continue
        values = np.ma.asarray(im.get_array())
        if values.ndim != 2:
            continue                                         # an RGB picture encodes no value through a norm
        nrow, ncol = values.shape
        x0, x1, y0, y1 = im.get_extent()
        w, h = (x1 - x0) / ncol, (y1 - y0) / nrow
        # row 0 of the array is drawn at the top with origin="upper" (the extent's y0 is then the bottom)
        ys = (y1 - h * (np.arange(nrow) + 0.5)) if im.origin == "upper" else (y0 + h * (np.arange(nrow) + 0.5))
        xs = x0 + w * (np.arange(ncol) + 0.5)
        cx, cy = np.meshgrid(xs, ys)
        cells += _mapped_cells(im, values, cx, cy, (abs(w), abs(h)), xticks, yticks, "image", k)
        scales.append({"artist": "image", "index": k, "vmin": _num(im.norm.vmin), "vmax": _num(im.norm.vmax),
                       "cmap": im.get_cmap().name})
    return cells, scales


def _texts(ax) -> list[dict]:
    out = []
    for t in ax.texts:
        if not t.get_visible() or not t.get_text():
            continue
        x, y = t.get_position()
        in_data = t.get_transform() == ax.transData
        out.append({"text": t.get_text(), "x": _num(x) if in_data else None, "y": _num(y) if in_data else None})
    return out


def _legend(ax_or_fig) -> list[str]:
    leg = ax_or_fig.get_legend() if hasattr(ax_or_fig, "get_legend") else None
    return [t.get_text() for t in leg.get_texts()] if leg is not None else []


def axes_data(ax) -> dict[str, Any]:
    """What a reader can read off one axes (see the module docstring)."""
    xticks, yticks = _ticks(ax.xaxis), _ticks(ax.yaxis)
    # one pixel in data units along each axis: lengths are recorded at the precision a reader can measure
    box = ax.get_window_extent()
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    sx = _step(abs(x1 - x0) / box.width) if box.width > 0 else None
    sy = _step(abs(y1 - y0) / box.height) if box.height > 0 else None
    bars, hists = _bars(ax, sx, sy)
    cb = getattr(ax, "_colorbar", None)
    # a colour bar's own mesh is the scale, not data: its range is kept with the heat map (``scales``)
    cells, scales = _heat_cells(ax, xticks, yticks) if cb is None else ([], [])
    return {"title": ax.get_title(), "xlabel": ax.get_xlabel(), "ylabel": ax.get_ylabel(),
            "xlim": [_q(v, sx) for v in (x0, x1)], "ylim": [_q(v, sy) for v in (y0, y1)],
            "xstep": sx, "ystep": sy, "xticks": xticks, "yticks": yticks, "bars": bars, "histograms": hists, "cells": cells,
            "scales": scales, "texts": _texts(ax), "legend": _legend(ax), "colorbar": cb is not None}


def figure_data(fig) -> dict[str, Any]:
    """Everything a reader can read off ``fig``: ``{"version", "title", "legend", "axes": [axes_data, …]}``."""
    title = fig._suptitle.get_text() if getattr(fig, "_suptitle", None) is not None else ""
    legend = [t.get_text() for leg in fig.legends for t in leg.get_texts()]
    return {"version": VERSION, "title": title, "legend": legend,
            "axes": [axes_data(ax) for ax in fig.axes if ax.get_visible()]}


def _metadata(fig):
    """IPython mime-bundle formatter: no data of its own, the figure's record as output metadata."""
    try:
        return {}, {METADATA_KEY: figure_data(fig)}
    except Exception as exc:            # a figure that cannot be read is still shown; its record says why
        return {}, {METADATA_KEY: {"version": VERSION, "error": f"{type(exc).__name__}: {exc}"}}


def install_display_hook() -> bool:
    """Record :func:`figure_data` in the metadata of every displayed ``Figure`` of this IPython kernel (idempotent;
    ``False`` outside IPython)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    ip = get_ipython()
    if ip is None:
        return False
    from matplotlib.figure import Figure

    ip.display_formatter.mimebundle_formatter.for_type(Figure, _metadata)
    return True
