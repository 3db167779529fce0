"""Swedish number formatting for prose, tables and axis labels.

One set of rules for the whole report, following the Swedish conventions of official statistics:

* thousands are separated by a no-break space (U+00A0): ``1 704``;
* the decimal sign is a comma: ``48,4``;
* negative numbers take the minus sign (U+2212), not the hyphen: ``−3``;
* a unit follows its number after a no-break space, so a line never breaks between them:
  ``48,4 %``, ``6,5 procentenheter``;
* a missing value (``None``, NaN, ``pd.NA``) is written as an en dash ``–``.

Rounding is *half away from zero* on the shortest decimal representation of the number (what a
reader does by hand: ``2.675`` → ``2,68``, ``0.125`` → ``0,13``), not Python's round-half-even on
the binary value.

Matplotlib's ``axes.formatter.use_locale`` depends on the locales installed on the machine, so
axes are formatted explicitly with :func:`swedish_ticks`.
"""

from __future__ import annotations

import math
import numbers
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from matplotlib.axes import Axes

NBSP = "\u00a0"
MINUS = "\u2212"
MISSING = "\u2013"  # en dash

MONTHS_SV: tuple[str, ...] = (
    "januari", "februari", "mars", "april", "maj", "juni",
    "juli", "augusti", "september", "oktober", "november", "december",
)  # fmt: skip
#: Three-letter month abbreviations for axis labels (``months_short_sv[0]`` is January).
months_short_sv: tuple[str, ...] = (
    "jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec",
)  # fmt: skip
MONTHS_SHORT_SV = months_short_sv


def is_missing(x: Any) -> bool:
    """True for ``None``, NaN, ``pd.NA`` and ``pd.NaT`` (and anything else pandas calls missing)."""
    if x is None:
        return True
    try:
        import pandas as pd

        return bool(pd.isna(x))
    except (TypeError, ValueError):  # arrays and other non-scalars are not "missing"
        return False


def round_half_up(x: Any, decimals: int = 0) -> Decimal:
    """The report's one rounding rule: half away from zero on the shortest decimal representation
    of ``x`` (what a reader does by hand), as a ``Decimal``; ``-0`` becomes ``0``.
    ``round_half_up(31.25, 1)`` → ``Decimal("31.3")``; ``round_half_up(2.675, 2)`` → ``Decimal("2.68")``."""
    if isinstance(x, numbers.Integral):
        d = Decimal(int(x))
    elif isinstance(x, Decimal):
        d = x
    else:
        d = Decimal(repr(float(x)))
    q = d.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    return abs(q) if q == 0 else q


def num(x: Any, decimals: int = 0) -> str:
    """Format a number the Swedish way: ``num(1704)`` → ``"1 704"``, ``num(48.43, 1)`` → ``"48,4"``.

    Thousands are separated by a no-break space (U+00A0), the decimal sign is a comma and a
    negative number starts with the minus sign U+2212. A value that rounds to zero is written
    without sign. ``None``/NaN give ``"–"``; infinity gives ``"∞"``.
    """
    if is_missing(x):
        return MISSING
    if decimals < 0:
        raise ValueError(f"decimals måste vara 0 eller större, inte {decimals}")
    if isinstance(x, bool) or not isinstance(x, numbers.Real | Decimal):
        raise TypeError(f"num() kräver ett tal, fick {type(x).__name__}: {x!r}")
    if not isinstance(x, numbers.Integral | Decimal) and math.isinf(float(x)):
        return ("" if float(x) > 0 else MINUS) + "\u221e"
    q = round_half_up(x, decimals)
    text = f"{abs(q):,.{decimals}f}".replace(",", NBSP).replace(".", ",")
    return (MINUS + text) if q < 0 else text


def pct(x: Any, decimals: int = 1) -> str:
    """A percentage *value* (48.4, not 0.484) with a percent sign: ``pct(48.43)`` → ``"48,4 %"``."""
    if is_missing(x):
        return MISSING
    return f"{num(x, decimals)}{NBSP}%"


def share(k: Any, n: Any, decimals: int = 1) -> str:
    """``k`` of ``n`` as a percentage: ``share(17, 231)`` → ``"7,4 %"``; ``"–"`` if ``n`` is 0."""
    if is_missing(k) or is_missing(n) or n == 0:
        return MISSING
    return pct(100 * k / n, decimals)


def pp(x: Any, decimals: int = 1, *, sign: bool = False) -> str:
    """Percentage points: ``pp(6.5)`` → ``"6,5 procentenheter"`` (no-break space before the unit).

    ``sign=True`` writes a plus sign before positive differences (``"+6,5 procentenheter"``).
    Exactly one (``"1 procentenhet"``) takes the singular.
    """
    if is_missing(x):
        return MISSING
    text = num(x, decimals)
    if sign and not text.startswith(MINUS) and text.strip("0,") != "":
        text = "+" + text
    unit = "procentenhet" if text.lstrip("+" + MINUS) == "1" else "procentenheter"
    return f"{text}{NBSP}{unit}"


def rate_ratio(x: Any, decimals: int = 2) -> str:
    """A ratio such as a rate ratio or an odds ratio: ``rate_ratio(1.4167)`` → ``"1,42"``."""
    return num(x, decimals)


def month_sv(m: int, short: bool = False) -> str:
    """The Swedish name of month ``m`` (1–12): ``month_sv(3)`` → ``"mars"``; ``short`` → ``"mar"``."""
    if isinstance(m, bool) or not isinstance(m, numbers.Integral) or not 1 <= int(m) <= 12:
        raise ValueError(f"månaden måste vara ett heltal 1–12, inte {m!r}")
    return (months_short_sv if short else MONTHS_SV)[int(m) - 1]


def tick_formatter(decimals: int = 0, percent: bool = False):
    """A matplotlib ``FuncFormatter`` writing ticks with :func:`num` (or :func:`pct`)."""
    from matplotlib.ticker import FuncFormatter

    def _format(value: float, _pos: int | None = None) -> str:
        return pct(value, decimals) if percent else num(value, decimals)

    return FuncFormatter(_format)


def swedish_ticks(
    ax: Axes,
    axis: Literal["x", "y", "both"] = "y",
    decimals: int = 0,
    percent: bool = False,
) -> Axes:
    """Format the tick labels of ``axis`` (``"x"``, ``"y"`` or ``"both"``) the Swedish way.

    ``percent=True`` adds ``" %"`` to every tick (for axes holding percentage values 0–100).
    Call it after plotting, on a numeric axis (not a categorical or a date axis). Returns ``ax``.
    """
    if axis not in ("x", "y", "both"):
        raise ValueError(f"axis måste vara 'x', 'y' eller 'both', inte {axis!r}")
    axes = [ax.xaxis, ax.yaxis] if axis == "both" else [ax.xaxis if axis == "x" else ax.yaxis]
    for a in axes:
        a.set_major_formatter(tick_formatter(decimals, percent))
    return ax
