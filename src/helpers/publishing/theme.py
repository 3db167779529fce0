"""The report's one figure theme (seaborn, colour-blind-safe) and bars that mark hidden values."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd
from IPython.display import Image

from helpers.publishing import fmt
from helpers.publishing.views import _status

if TYPE_CHECKING:
    from matplotlib.axes import Axes

# A figure is drawn 5 inches wide, with no text under 9 pt (ticks and legend 10 pt), and shown at
# its natural size (an SVG): on a desktop its text matches the body text; on a 390 px phone,
# where the text column is 340–360 CSS px, it scales to about 70 % and the tick labels stay at
# 9 CSS px or more, without the reader scrolling sideways. In the PDF it is a vector (SVG for
# typst, PDF for LaTeX) at its natural size, narrower than the text block, so nothing shrinks.
FIGSIZE = (5.0, 3.3)
DPI = 150  # on screen in Jupyter
PNG_DPI = 300  # the PNG written beside the SVG (slides, fallback): print resolution
TICK_PT = 10  # the smallest text that carries data (ticks, legend); see tests/test_browser.py
NOTE_PT = 9  # value labels, marks and the source line
LABEL_WRAP = 24  # characters per line of a category label in barh()
PALETTE = "colorblind"  # seaborn's colour-blind-safe palette (after Okabe & Ito)
SVG_HASHSALT = "genomlysning"
SOURCE_COLOR = "#555555"

THEME_RC: dict[str, Any] = {
    "figure.figsize": FIGSIZE,
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "font.size": TICK_PT,
    "axes.titlesize": 11,
    "axes.titlelocation": "left",
    "axes.labelsize": 10.5,
    "xtick.labelsize": TICK_PT,
    "ytick.labelsize": TICK_PT,
    "legend.fontsize": TICK_PT,
    "legend.title_fontsize": TICK_PT,
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


class FigureImage(Image):
    """A published figure as a cell output: one display with three representations.

    ``image/svg+xml`` (crisp at any width; Quarto and the built-in renderer use it in the HTML, the
    built-in renderer also in the typst PDF), ``application/pdf`` (a vector for Quarto's LaTeX PDF,
    which prefers it) and ``image/png`` (the fallback every notebook viewer shows). ``width`` (CSS
    px) fixes the displayed width; without it the figure is shown at its natural size.
    """

    def __init__(self, *, png: bytes, svg: bytes, pdf: bytes | None = None, width: int | None = None) -> None:
        super().__init__(data=png, format="png", width=width)
        self.svg = svg.decode("utf-8")
        self.pdf = pdf

    def _repr_svg_(self) -> str:
        return self.svg

    def _repr_mimebundle_(self, include=None, exclude=None):
        from base64 import b64encode

        png, metadata = super()._repr_mimebundle_(include, exclude)
        data: dict[str, Any] = {"image/svg+xml": self.svg}
        if self.pdf is not None:
            data["application/pdf"] = b64encode(self.pdf).decode("ascii")
        data.update(png)
        if self.width:
            metadata = {**(metadata or {}), "image/svg+xml": {"width": self.width}}
        return data, metadata


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
    rows are drawn top to bottom; names longer than :data:`LABEL_WRAP` characters wrap. Every bar is placed from its own row, never by position in a
    list of drawn patches.
    """
    import seaborn as sns

    cats = list(dict.fromkeys(d[y]))
    groups = list(dict.fromkeys(d[hue])) if hue else [None]
    palette = sns.color_palette(n_colors=max(len(groups), 1))
    height = 0.8 / len(groups)
    st = _status(d, x)
    biggest = pd.to_numeric(d[x], errors="coerce").max()  # NaN when every value is hidden
    xmax = 1.0 if pd.isna(biggest) or biggest <= 0 else float(biggest)
    labelled: set[int] = set()  # groups whose legend entry exists (their first drawn bar)
    for gi, g in enumerate(groups):
        sub = d if g is None else d[d[hue] == g]
        for (_, row), mark in zip(sub.iterrows(), st.loc[sub.index], strict=True):
            pos = cats.index(row[y]) - 0.4 + height * (gi + 0.5)
            color = (colors or {}).get(row[hue] if hue else row[y], palette[gi])
            if mark or fmt.is_missing(row[x]):
                ax.text(xmax * 0.005, pos, mark or fmt.MISSING, va="center", ha="left", fontsize=NOTE_PT,
                        color=SOURCE_COLOR, fontweight="bold")
                continue
            ax.barh(pos, float(row[x]), height=height * 0.95, color=color,
                    label=str(g) if g is not None and gi not in labelled else None)
            labelled.add(gi)
            if label is not None:
                ax.annotate(label(float(row[x])), (float(row[x]), pos), xytext=(3, 0),
                            textcoords="offset points", va="center", fontsize=NOTE_PT)
    # Long category names wrap, so that the bars keep most of the (5 in) width.
    ax.set_yticks(range(len(cats)), [textwrap.fill(str(c), LABEL_WRAP) for c in cats])
    ax.set_ylim(len(cats) - 0.5, -0.5)
    ax.set_xlim(0, xmax * (1.25 if label else 1.05))  # room for the value label of the longest bar
    return ax


