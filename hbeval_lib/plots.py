"""House style for the report's seaborn figures: colour-blind-safe palette, Finnish labels, captions."""

from __future__ import annotations

import matplotlib.pyplot as plt
import seaborn as sns

ARM_LABELS = {"hb": "HB-asiakkaat", "verrokki": "Verrokkiasiakkaat"}
PALETTE = sns.color_palette("colorblind")
ARM_COLORS = {"hb": PALETTE[0], "verrokki": PALETTE[1]}
# diverging palette for Likert scales (colour-blind safe, ColorBrewer PuOr)
LIKERT_COLORS = sns.color_palette("PuOr", 5)


def setup() -> None:
    """Apply the house style (call once at the top of a notebook)."""
    sns.set_theme(context="notebook", style="whitegrid", palette=PALETTE, font_scale=1.0)
    plt.rcParams.update({"figure.dpi": 100, "savefig.dpi": 100, "figure.figsize": (8, 4.5),
                         "axes.titlesize": 12, "axes.titleweight": "bold", "figure.autolayout": True})


def finish(fig, title: str | None = None):
    """Tidy a figure (title, layout) and return it so the notebook shows it once."""
    if title:
        fig.suptitle(title)
    return fig
