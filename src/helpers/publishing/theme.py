"""The report's one figure theme (seaborn, colour-blind-safe) and bars that mark hidden values."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

from helpers.publishing import fmt
from helpers.publishing.views import _status

if TYPE_CHECKING:
    from matplotlib.axes import Axes

FIGSIZE = (7.0, 4.0)
DPI = 150
PALETTE = "colorblind"  # seaborn's colour-blind-safe palette (after Okabe & Ito)
SVG_HASHSALT = "genomlysning"
SOURCE_COLOR = "#555555"

THEME_RC: dict[str, Any] = {
    "figure.figsize": FIGSIZE,
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.titlelocation": "left",
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "legend.title_fontsize": 9,
    "figure.titlesize": 12,
    "figure.titleweight": "bold",
    "axes.formatter.use_locale": False,  # unreliable: ticks are formatted with fmt.swedish_ticks
    "axes.unicode_minus": True,
    "svg.fonttype": "path",  # text as paths: the SVG looks the same without the fonts
    "svg.hashsalt": SVG_HASHSALT,  # deterministic element ids in the SVG
}


def setup_theme() -> None:
    """Apply the report's one figure theme (seaborn ``whitegrid``, colour-blind-safe palette).

    Safe to call more than once. :meth:`Publisher.figure` calls it before every figure, so all
    published figures look the same whatever a notebook did to ``rcParams`` in between.
    """
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="notebook", palette=PALETTE, rc=THEME_RC)



# --- Bars with visible marks ----------------------------------------------------------------------


def barh(
    ax: Axes,
    d: pd.DataFrame,
    *,
    y: str,
    x: str,
    hue: str | None = None,
    label: Callable[[float], str] | None = None,
    colors: Mapping[Any, Any] | None = None,
) -> Axes:
    """Horizontal bars of ``d[x]`` per ``d[y]`` (grouped by ``hue``), with hidden values marked.

    A hidden value (status ``<5`` or ``x``) gets no bar, and its mark is written where the bar
    would start, so a reader never takes it for zero. ``label`` formats a value label at the end
    of each visible bar (none when ``None``). Categories keep their order of first appearance;
    rows are drawn top to bottom. Every bar is placed from its own row, never by position in a
    list of drawn patches.
    """
    import seaborn as sns

    cats = list(dict.fromkeys(d[y]))
    groups = list(dict.fromkeys(d[hue])) if hue else [None]
    palette = sns.color_palette(n_colors=max(len(groups), 1))
    height = 0.8 / len(groups)
    st = _status(d, x)
    xmax = float(pd.to_numeric(d[x], errors="coerce").max() or 0) or 1.0
    for gi, g in enumerate(groups):
        sub = d if g is None else d[d[hue] == g]
        for (_, row), mark in zip(sub.iterrows(), st.loc[sub.index], strict=True):
            pos = cats.index(row[y]) - 0.4 + height * (gi + 0.5)
            color = (colors or {}).get(row[hue] if hue else row[y], palette[gi])
            if mark or fmt.is_missing(row[x]):
                ax.text(xmax * 0.005, pos, mark or fmt.MISSING, va="center", ha="left", fontsize=8,
                        color=SOURCE_COLOR, fontweight="bold")
                continue
            ax.barh(pos, float(row[x]), height=height * 0.95, color=color,
                    label=str(g) if g is not None and row[y] == cats[0] else None)
            if label is not None:
                ax.annotate(label(float(row[x])), (float(row[x]), pos), xytext=(3, 0),
                            textcoords="offset points", va="center", fontsize=8)
    ax.set_yticks(range(len(cats)), [str(c) for c in cats])
    ax.set_ylim(len(cats) - 0.5, -0.5)
    ax.set_xlim(0, xmax * (1.15 if label else 1.05))
    return ax


