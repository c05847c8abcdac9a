"""House style for the report's seaborn figures: colour-blind-safe palette, Finnish labels, captions."""

from __future__ import annotations

import re

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib import ticker

ARM_LABELS = {"hb": "HB-asiakkaat", "verrokki": "Verrokkiasiakkaat"}
PALETTE = sns.color_palette("colorblind")
ARM_COLORS = {"hb": PALETTE[0], "verrokki": PALETTE[1]}
NEUTRAL_GREY = (0.80, 0.80, 0.80)  # the middle of a diverging scale: visible on white paper, dark labels


def likert_palette(n: int) -> list:
    """A diverging palette (ColorBrewer PuOr, colour-blind safe) for ``n`` ordered levels, without PuOr's pale
    centre: every segment stays visible on the page; the middle level (odd ``n``) is a light grey."""
    import matplotlib

    cmap = matplotlib.colormaps["PuOr"]
    k = n // 2
    # each side from its dark end towards the centre, stopping short of PuOr's near-white middle (a pale segment
    # disappears on paper); the middle level of an odd scale is grey
    def rgb(x: float) -> tuple:
        return tuple(float(v) for v in cmap(float(x))[:3])

    lows = [rgb(x) for x in np.linspace(0.0, 0.36, k)] if k > 1 else [rgb(0.15)] * k
    highs = [rgb(x) for x in np.linspace(0.64, 1.0, k)] if k > 1 else [rgb(0.85)] * k
    return lows + ([NEUTRAL_GREY] if n % 2 else []) + highs


def label_color(rgb) -> str:
    """Black or white, whichever reads better on a segment of colour ``rgb`` (relative luminance, WCAG)."""
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(float(c)) for c in tuple(rgb)[:3])
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return "black" if luminance > 0.179 else "white"


# diverging palette for Likert scales (colour-blind safe, ColorBrewer PuOr; grey middle)
LIKERT_COLORS = likert_palette(5)


_DECIMAL_POINT = re.compile(r"(?<=\d)\.(?=\d)")
# the tick formatters whose numbers would otherwise be written with a decimal point
_NUMERIC_FORMATTERS = (ticker.ScalarFormatter, ticker.PercentFormatter, ticker.StrMethodFormatter,
                       ticker.FormatStrFormatter, ticker.LogFormatter)


def fi_number_text(s: str) -> str:
    """A tick label in Finnish notation: decimal comma, true minus sign.

    >>> fi_number_text("-0.5"), fi_number_text("$\\mathdefault{1.25}$"), fi_number_text("12.5%")
    ('−0,5', '$\\mathdefault{1,25}$', '12,5 %')
    """
    s = _DECIMAL_POINT.sub(",", s).replace("-", "−") if not s.startswith("$") else _DECIMAL_POINT.sub("{,}", s)
    return re.sub(r"(?<=\d)%", " %", s)


def finnish_ticks() -> None:
    """Make matplotlib's numeric tick formatters write Finnish numbers (every axis of every figure, also those a
    chapter module draws without calling :func:`finish`). Idempotent."""
    for cls in _NUMERIC_FORMATTERS:
        if getattr(cls.__call__, "_hbeval_fi", False):
            continue
        original = cls.__call__

        def call(self, x, pos=None, _original=original):
            return fi_number_text(_original(self, x, pos))

        call._hbeval_fi = True
        cls.__call__ = call
        if hasattr(cls, "get_offset"):
            original_offset = cls.get_offset

            def offset(self, _original=original_offset):
                return fi_number_text(_original(self))

            cls.get_offset = offset


def setup() -> None:
    """Apply the house style (call once at the top of a notebook), including Finnish tick labels; in a notebook
    kernel every displayed figure also records what a reader can read off it (:mod:`hbeval_lib.core.figdata`, the
    output's metadata) for the release's intruder."""
    from hbeval_lib.core import figdata

    finnish_ticks()
    figdata.install_display_hook()
    sns.set_theme(context="notebook", style="whitegrid", palette=PALETTE, font_scale=1.0)
    plt.rcParams.update({"figure.dpi": 100, "savefig.dpi": 100, "figure.figsize": (8, 4.5),
                         "axes.titlesize": 12, "axes.titleweight": "bold", "figure.autolayout": True,
                         "axes.unicode_minus": True, "axes.formatter.use_mathtext": False})


def finish(fig, title: str | None = None):
    """Tidy a figure (title, layout) and return it so the notebook shows it once."""
    if title:
        fig.suptitle(title)
    return fig
