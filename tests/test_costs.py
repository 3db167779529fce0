"""Unit tests of helpers.analysis.costs on small hand-made monthly tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.analysis import costs


def months(year: int, values, days=None, **cols) -> pd.DataFrame:
    df = pd.DataFrame({"manad": pd.date_range(f"{year}-01-01", periods=12, freq="MS"), "kostnad_kr": values})
    df["varddygn"] = days if days is not None else np.nan
    for k, v in cols.items():
        df[k] = v
    return df


def test_yearly_sums_and_price_per_day():
    df = pd.concat([months(2019, [100.0] * 12, [10] * 12, form="HVB"), months(2020, [132.0] * 12, [10] * 12, form="HVB")])
    y = costs.yearly(df, ["form"]).set_index("ar")
    assert y.loc[2019, "kostnad_kr"] == 1200 and y.loc[2020, "pris_per_dygn"] == pytest.approx(13.2)


def test_price_volume_adds_up_exactly():
    y0 = pd.DataFrame({"form": ["HVB", "SIS", "Öppenvård"], "kostnad_kr": [1000.0, 500.0, 300.0], "varddygn": [10, 5, np.nan]})
    y1 = pd.DataFrame({"form": ["HVB", "Familjehem", "Öppenvård"], "kostnad_kr": [1800.0, 200.0, 360.0],
                       "varddygn": [12, 4, np.nan]})
    pv = costs.price_volume(y0, y1, ["form"]).set_index("form")
    hvb = pv.loc["HVB"]
    assert hvb["volymeffekt"] == pytest.approx(200.0)  # 2 more days at 100
    assert hvb["priseffekt"] == pytest.approx(600.0)  # 12 days × 50 more
    assert pv.loc["SIS", "volymeffekt"] == pytest.approx(-500.0) and pv.loc["Familjehem", "volymeffekt"] == 200.0
    assert pv.loc["Öppenvård", "ovrigt"] == pytest.approx(60.0)
    total = pv[["volymeffekt", "priseffekt", "ovrigt"]].sum(axis=1)
    assert np.allclose(total, pv["forandring"])


def test_year_end_forecast_from_stable_seasons():
    season = np.array([8, 8, 9, 8, 8, 8, 7, 7, 8, 9, 9, 11], dtype=float)
    df = pd.concat([months(y, season * (1 + 0.1 * k)) for k, y in enumerate(range(2016, 2021))])
    f = costs.year_end(df, 2020, 8)
    assert f.actual == pytest.approx(season.sum() * 1.4) and f.point == pytest.approx(f.actual)
    assert f.low is not None and f.low <= f.point <= f.high and f.years_used == (2016, 2017, 2018, 2019)


def test_year_end_forecast_interval_widens_with_unstable_seasons():
    rng = np.random.default_rng(1)
    df = pd.concat([months(y, 8 + rng.normal(0, 2, 12)) for y in range(2016, 2021)])
    stable = pd.concat([months(y, [8.0] * 12) for y in range(2016, 2021)])
    f, g = costs.year_end(df, 2020, 6), costs.year_end(stable, 2020, 6)
    assert (f.high - f.low) > (g.high - g.low) == pytest.approx(0.0)


def test_year_end_without_earlier_years_has_no_forecast():
    f = costs.year_end(months(2020, [1.0] * 12), 2020, 3)
    assert np.isnan(f.point) and f.low is None
    with pytest.raises(ValueError):
        costs.year_end(months(2020, [1.0] * 12), 2020, 13)


def test_first_step_finds_the_price_rise():
    idx = pd.date_range("2019-01-01", periods=24, freq="MS")
    p = pd.Series([100.0] * 13 + [140.0] * 11, index=idx)
    assert costs.first_step(p) == pd.Timestamp("2020-02-01")
    assert costs.first_step(pd.Series([100.0] * 5, index=idx[:5])) is None
