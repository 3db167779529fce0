"""Swedish number formatting (helpers.publishing.fmt)."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from helpers.publishing import fmt  # noqa: E402

NB = "\u00a0"
MINUS = "\u2212"


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [
        (1704, 0, f"1{NB}704"),
        (48.43, 1, "48,4"),
        (0, 0, "0"),
        (999, 0, "999"),
        (1234567, 0, f"1{NB}234{NB}567"),
        (1234567.891, 2, f"1{NB}234{NB}567,89"),
        (-1234.5, 1, f"{MINUS}1{NB}234,5"),
        (-3, 0, f"{MINUS}3"),
        (-0.04, 1, "0,0"),  # rounds to zero: no sign
        (2.675, 2, "2,68"),  # half away from zero on the decimal value, not binary round-half-even
        (0.125, 2, "0,13"),
        (0.5, 0, "1"),
        (-0.5, 0, f"{MINUS}1"),
        (12.0, 1, "12,0"),
        (np.int64(4250), 0, f"4{NB}250"),
        (np.float64(48.449), 1, "48,4"),
    ],
)
def test_num(value, decimals, expected):
    assert fmt.num(value, decimals) == expected


@pytest.mark.parametrize("missing", [None, float("nan"), np.nan, pd.NA, pd.NaT])
def test_missing_values_are_a_dash(missing):
    assert fmt.num(missing) == "\u2013"
    assert fmt.pct(missing) == "\u2013"
    assert fmt.pp(missing) == "\u2013"
    assert fmt.rate_ratio(missing) == "\u2013"


def test_num_rejects_non_numbers():
    with pytest.raises(TypeError):
        fmt.num("12")
    with pytest.raises(TypeError):
        fmt.num(True)
    with pytest.raises(ValueError):
        fmt.num(1.0, -1)


def test_infinity():
    assert fmt.num(math.inf) == "\u221e"
    assert fmt.num(-math.inf) == f"{MINUS}\u221e"


def test_pct_and_share():
    assert fmt.pct(48.43) == f"48,4{NB}%"
    assert fmt.pct(48.43, 0) == f"48{NB}%"
    assert fmt.pct(-6.54) == f"{MINUS}6,5{NB}%"
    assert fmt.share(17, 231) == f"7,4{NB}%"
    assert fmt.share(1, 3, 2) == f"33,33{NB}%"
    assert fmt.share(1, 0) == "\u2013"
    assert fmt.share(None, 10) == "\u2013"


def test_percentage_points():
    assert fmt.pp(6.5) == f"6,5{NB}procentenheter"
    assert fmt.pp(6.54, 1) == f"6,5{NB}procentenheter"
    assert fmt.pp(-2.25) == f"{MINUS}2,3{NB}procentenheter"
    assert fmt.pp(6.5, sign=True) == f"+6,5{NB}procentenheter"
    assert fmt.pp(0.0, sign=True) == f"0,0{NB}procentenheter"
    assert fmt.pp(1, 0) == f"1{NB}procentenhet"
    assert fmt.pp(-1, 0) == f"{MINUS}1{NB}procentenhet"
    assert fmt.pp(1, 1) == f"1,0{NB}procentenheter"


def test_rate_ratio():
    assert fmt.rate_ratio(1.4167) == "1,42"
    assert fmt.rate_ratio(0.5, 1) == "0,5"


def test_months():
    assert fmt.month_sv(1) == "januari"
    assert fmt.month_sv(3) == "mars"
    assert fmt.month_sv(12) == "december"
    assert fmt.month_sv(np.int64(7)) == "juli"
    assert fmt.month_sv(7, short=True) == "jul"
    assert len(fmt.MONTHS_SV) == len(fmt.months_short_sv) == 12
    assert fmt.months_short_sv[0] == "jan"
    for bad in (0, 13, 1.5, "1"):
        with pytest.raises(ValueError):
            fmt.month_sv(bad)


def test_swedish_ticks():
    fig, ax = plt.subplots()
    try:
        ax.plot([0, 1], [0, 2500])
        assert fmt.swedish_ticks(ax) is ax
        assert ax.yaxis.get_major_formatter()(1500.0, 0) == f"1{NB}500"
        assert ax.yaxis.get_major_formatter()(-2.0, 0) == f"{MINUS}2"
        fmt.swedish_ticks(ax, axis="x", decimals=1, percent=True)
        assert ax.xaxis.get_major_formatter()(12.5, 0) == f"12,5{NB}%"
        fmt.swedish_ticks(ax, axis="both", decimals=2)
        assert ax.xaxis.get_major_formatter()(0.5, 0) == "0,50"
        assert ax.yaxis.get_major_formatter()(0.5, 0) == "0,50"
        fig.canvas.draw()
        labels = [t.get_text() for t in ax.get_yticklabels()]
        assert any("," in s for s in labels) and not any("." in s for s in labels)
        with pytest.raises(ValueError):
            fmt.swedish_ticks(ax, axis="z")
    finally:
        plt.close(fig)
