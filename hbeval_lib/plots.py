"""House style for the report's seaborn figures: colour-blind-safe palette, Finnish labels, captions."""

from __future__ import annotations

import re

import matplotlib.pyplot as plt
import seaborn as sns
from matplotlib import ticker

ARM_LABELS = {"hb": "HB-asiakkaat", "verrokki": "Verrokkiasiakkaat"}
PALETTE = sns.color_palette("colorblind")
ARM_COLORS = {"hb": PALETTE[0], "verrokki": PALETTE[1]}
# diverging palette for Likert scales (colour-blind safe, ColorBrewer PuOr)
LIKERT_COLORS = sns.color_palette("PuOr", 5)


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
    """Apply the house style (call once at the top of a notebook), including Finnish tick labels."""
    finnish_ticks()
    sns.set_theme(context="notebook", style="whitegrid", palette=PALETTE, font_scale=1.0)
    plt.rcParams.update({"figure.dpi": 100, "savefig.dpi": 100, "figure.figsize": (8, 4.5),
                         "axes.titlesize": 12, "axes.titleweight": "bold", "figure.autolayout": True,
                         "axes.unicode_minus": True, "axes.formatter.use_mathtext": False})


def finish(fig, title: str | None = None):
    """Tidy a figure (title, layout) and return it so the notebook shows it once."""
    if title:
        fig.suptitle(title)
    return fig
