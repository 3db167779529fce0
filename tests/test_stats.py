"""Intervals, rate ratios and the monthly count model (helpers.analysis.stats)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from helpers.analysis import stats


def wilson_closed_form(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    p = k / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    return centre - half, centre + half


def test_wilson_known_value():
    w = stats.wilson(17, 231)
    assert w.share == pytest.approx(17 / 231)
    assert w.low == pytest.approx(0.046453, abs=1e-6)
    assert w.high == pytest.approx(0.114684, abs=1e-6)
    assert (w.low, w.high) == pytest.approx(wilson_closed_form(17, 231), abs=1e-12)
    ci = sps.binomtest(17, 231).proportion_ci(method="wilson")
    assert (w.low, w.high) == pytest.approx((ci.low, ci.high), abs=1e-12)


def test_wilson_edges_and_alpha():
    assert all(math.isnan(v) for v in stats.wilson(0, 0))
    w0 = stats.wilson(0, 20)
    assert w0.share == 0 and w0.low == pytest.approx(0, abs=1e-12) and 0 < w0.high < 0.2
    w1 = stats.wilson(20, 20)
    assert w1.high == pytest.approx(1, abs=1e-12)
    w90 = stats.wilson(17, 231, alpha=0.10)
    w95 = stats.wilson(17, 231)
    assert w95.low < w90.low < w90.high < w95.high
    with pytest.raises(ValueError):
        stats.wilson(5, 4)
    with pytest.raises(ValueError):
        stats.wilson(1, 4, alpha=1.5)


def test_wilson_vectorised():
    w = stats.wilson(np.array([17, 0, 3]), np.array([231, 0, 10]))
    assert w.share[0] == pytest.approx(17 / 231)
    assert np.isnan(w.low[1]) and np.isnan(w.high[1])
    assert w.low[2] == pytest.approx(wilson_closed_form(3, 10)[0])


def test_poisson_ci_garwood():
    low, high = stats.poisson_ci(0)
    assert low == 0 and high == pytest.approx(-math.log(0.025))
    assert stats.poisson_ci(10) == pytest.approx((4.795389, 18.390356), abs=1e-6)
    lows, highs = stats.poisson_ci(np.array([0, 10]))
    assert lows[1] == pytest.approx(4.795389, abs=1e-6) and highs[0] == pytest.approx(
        3.688879, abs=1e-6
    )
    with pytest.raises(ValueError):
        stats.poisson_ci(-1)


def test_per_1000():
    assert stats.per_1000(5, 2000) == 2.5
    assert math.isnan(stats.per_1000(5, 0))
    s = stats.per_1000(pd.Series([5, 3]), pd.Series([2000, 0]))
    assert isinstance(s, pd.Series) and s.iloc[0] == 2.5 and math.isnan(s.iloc[1])
    a = stats.per_1000(np.array([1, 2]), np.array([1000, 500]))
    assert np.allclose(a, [1.0, 4.0])


def test_rate_ratio_log_scale():
    rr = stats.rate_ratio(30, 20)
    se = math.sqrt(1 / 30 + 1 / 20)
    z = sps.norm.ppf(0.975)
    assert rr.rr == pytest.approx(1.5)
    assert rr.low == pytest.approx(1.5 * math.exp(-z * se))
    assert rr.high == pytest.approx(1.5 * math.exp(z * se))
    # Exposures: 30 per 1 000 against 20 per 4 000.
    rr_t = stats.rate_ratio(30, 20, 1000, 4000)
    assert rr_t.rr == pytest.approx(6.0)
    assert rr_t.low == pytest.approx(6.0 * math.exp(-z * se))


def test_rate_ratio_exact_and_zero_counts():
    exact = stats.rate_ratio(30, 20, method="exact")
    log = stats.rate_ratio(30, 20)
    assert exact.rr == log.rr
    assert exact.low < log.low and exact.high > log.high  # exact conditional is conservative
    # Matches the exact binomial test of k1 | k1 + k0 (p = 0.5 for equal exposures).
    ci = sps.binomtest(30, 50).proportion_ci(method="exact")
    assert exact.low == pytest.approx(ci.low / (1 - ci.low))
    zero = stats.rate_ratio(0, 5)
    assert zero.rr == 0 and math.isnan(zero.low)
    zero_exact = stats.rate_ratio(0, 5, method="exact")
    assert zero_exact.low == 0 and 0 < zero_exact.high < math.inf
    assert all(math.isnan(v) for v in stats.rate_ratio(0, 0))
    with pytest.raises(ValueError):
        stats.rate_ratio(1, 1, method="wald")
    with pytest.raises(ValueError):
        stats.rate_ratio(1, 1, t0=0)


def test_two_proportion_test_matches_chi2():
    t = stats.two_proportion_test(30, 100, 20, 100)
    chi2 = sps.chi2_contingency([[30, 70], [20, 80]], correction=False)
    assert t.pvalue == pytest.approx(chi2.pvalue)
    assert t.diff == pytest.approx(0.1)
    assert t.low < 0.1 < t.high
    assert stats.two_proportion_test(0, 10, 0, 10).pvalue == 1.0


def simulate(
    months: int,
    trend: float,
    seasonal: dict[int, float],
    base: float,
    seed: int,
    nb_alpha: float | None = None,
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2017-01-01", periods=months, freq="MS")
    t = np.arange(months) / 12
    mu = base * trend**t * np.array([seasonal.get(m, 1.0) for m in dates.month])
    if nb_alpha is not None:
        mu = mu * rng.gamma(1 / nb_alpha, nb_alpha, size=months)
    return pd.DataFrame({"month": dates, "n": rng.poisson(mu)})


SEASON = {7: 0.6, 12: 0.85, 3: 1.1}


def test_count_model_recovers_poisson_trend_and_season():
    df = simulate(72, 1.08, SEASON, 300, seed=20200)
    m = stats.fit_monthly_counts(df)
    assert m.family == "Poisson" and m.model == "poisson"
    assert m.dispersion < 1.5 and math.isnan(m.alpha)
    assert m.trend.low < 1.08 < m.trend.high
    assert m.trend.rr == pytest.approx(1.08, abs=0.015)
    assert m.trend_pvalue < 1e-6
    s = m.seasonal.set_index("month")
    assert list(s.index) == list(range(1, 13))
    assert s.loc[1, "reference"] and s.loc[1, "rr"] == 1.0
    assert s.loc[7, "low"] < 0.6 < s.loc[7, "high"]
    assert s.loc[12, "low"] < 0.85 < s.loc[12, "high"]
    assert s.loc[7, "month_name"] == "juli"
    f = m.fitted
    assert list(f.columns) == ["month", "n", "fitted", "low", "high"]
    assert len(f) == 72 == m.n_obs
    assert (f["low"] < f["fitted"]).all() and (f["fitted"] < f["high"]).all()
    assert f["fitted"].sum() == pytest.approx(df["n"].sum(), rel=1e-6)  # Poisson GLM with intercept
    assert math.isfinite(m.aic)


def test_count_model_switches_to_negative_binomial_when_overdispersed():
    df = simulate(72, 1.05, SEASON, 300, seed=7, nb_alpha=0.04)
    m = stats.fit_monthly_counts(df)
    assert m.dispersion > 1.5
    assert m.family == "negativ binomial" and m.model == "negative_binomial"
    assert 0 < m.alpha < 0.2
    assert m.trend.low < 1.05 < m.trend.high
    poisson_width = stats.fit_monthly_counts(simulate(72, 1.05, SEASON, 300, seed=7))
    assert (m.trend.high - m.trend.low) > (poisson_width.trend.high - poisson_width.trend.low)


def test_count_model_input_handling():
    df = simulate(36, 1.0, {}, 50, seed=1).rename(columns={"month": "manad", "n": "antal"})
    periods = df.assign(manad=df["manad"].dt.to_period("M")).sample(frac=1, random_state=3)
    m = stats.fit_monthly_counts(periods, count_col="antal", date_col="manad")
    assert list(m.fitted.columns[:2]) == ["manad", "antal"]
    assert m.fitted["manad"].is_monotonic_increasing
    with pytest.raises(KeyError):
        stats.fit_monthly_counts(df)
    with pytest.raises(ValueError, match="mer än en gång"):
        stats.fit_monthly_counts(pd.concat([df, df.head(1)]), count_col="antal", date_col="manad")
    with pytest.raises(ValueError, match="för få"):
        stats.fit_monthly_counts(df.head(14), count_col="antal", date_col="manad")


def _monthly(levels_per_year, seed=1):
    rng = np.random.default_rng(seed)
    months = pd.date_range("2018-01-01", periods=12 * len(levels_per_year), freq="MS")
    return pd.DataFrame({"month": months, "n": rng.poisson(np.repeat(levels_per_year, 12))})


def test_check_trend_rejects_a_constant_trend_when_years_jump():
    chk = stats.check_trend(_monthly([300, 300, 420, 420, 300]))
    assert chk.testable and chk.df == 3
    assert not chk.fits and chk.pvalue < 0.001 and chk.aic_years < chk.aic_trend


def test_check_trend_accepts_a_steady_trend():
    rng = np.random.default_rng(2)
    months = pd.date_range("2018-01-01", periods=60, freq="MS")
    df = pd.DataFrame({"month": months, "n": rng.poisson(300 * 1.05 ** (np.arange(60) / 12))})
    chk = stats.check_trend(df)
    assert chk.testable and chk.fits and chk.pvalue >= 0.05


def test_check_trend_needs_three_years():
    chk = stats.check_trend(_monthly([300, 320]))
    assert not chk.testable and not chk.fits
