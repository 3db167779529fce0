"""Honest uncertainty: confidence intervals, rate ratios and a count model for monthly series.

Everything here returns plain numbers or small frames that the chapters format with
:mod:`helpers.publishing.fmt`. Proportions are returned on the 0–1 scale (multiply by 100 for percent).

Methods, chosen for small counts (a municipality's cases):

* a share: Wilson score interval (:func:`wilson`), good coverage also for small ``n`` and shares
  near 0 or 1, unlike the Wald interval;
* a count: exact Poisson (Garwood) interval (:func:`poisson_ci`);
* two counts with exposures (a rate ratio): Wald interval on the log scale, or the exact
  conditional interval (Clopper–Pearson on the binomial split of the counts) (:func:`rate_ratio`);
* two shares: two-sided z test and Newcombe interval for the difference
  (:func:`two_proportion_test`);
* a monthly series: Poisson regression with a linear trend and month-of-year effects, negative
  binomial if the series is overdispersed (:func:`fit_monthly_counts`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd
from scipy import stats as sps

#: Pearson χ²/df of the Poisson fit above which :func:`fit_monthly_counts` switches to a negative
#: binomial model.
OVERDISPERSION_THRESHOLD = 1.5


def _z(alpha: float) -> float:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha måste ligga mellan 0 och 1, inte {alpha}")
    return float(sps.norm.ppf(1 - alpha / 2))


def _scalar_or_array(x: np.ndarray) -> Any:
    return float(x) if np.ndim(x) == 0 else x


# --- Shares -------------------------------------------------------------------------------------


class Wilson(NamedTuple):
    """A share with its Wilson interval, all as proportions (0–1)."""

    share: float
    low: float
    high: float


def wilson(k: Any, n: Any, alpha: float = 0.05) -> Wilson:
    """Share ``k/n`` with its Wilson score interval (statsmodels ``proportion_confint``).

    Works on scalars and on arrays of equal shape. ``n == 0`` gives NaN for all three values.
    ``wilson(17, 231)`` → share 0.0736, interval 0.0464–0.1149.
    """
    from statsmodels.stats.proportion import proportion_confint

    _z(alpha)
    k_arr = np.asarray(k, dtype=float)
    n_arr = np.asarray(n, dtype=float)
    if np.any(k_arr < 0) or np.any(k_arr > n_arr):
        raise ValueError(f"kräver 0 ≤ k ≤ n, fick k={k}, n={n}")
    ok = n_arr > 0
    safe_n = np.where(ok, n_arr, 1.0)
    low, high = proportion_confint(k_arr, safe_n, alpha=alpha, method="wilson")
    share = k_arr / safe_n
    nan = np.nan
    return Wilson(
        _scalar_or_array(np.where(ok, share, nan)),
        _scalar_or_array(np.where(ok, low, nan)),
        _scalar_or_array(np.where(ok, high, nan)),
    )


class TwoProportionTest(NamedTuple):
    """Difference between two shares (``p1 − p0``, proportions) with interval and z test."""

    diff: float
    low: float
    high: float
    statistic: float
    pvalue: float


def two_proportion_test(
    k1: int, n1: int, k0: int, n0: int, alpha: float = 0.05
) -> TwoProportionTest:
    """Compare the shares ``k1/n1`` and ``k0/n0``.

    The p-value is the two-sided z test with pooled variance (statsmodels ``proportions_ztest``,
    equal to Pearson's χ² test without continuity correction); the interval for the difference
    ``p1 − p0`` is Newcombe's hybrid score interval (``confint_proportions_2indep``,
    method ``"newcomb"``), which behaves well for small counts. All on the 0–1 scale.
    """
    from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

    if min(n1, n0) <= 0:
        nan = float("nan")
        return TwoProportionTest(nan, nan, nan, nan, nan)
    diff = k1 / n1 - k0 / n0
    low, high = confint_proportions_2indep(
        k1, n1, k0, n0, method="newcomb", compare="diff", alpha=alpha
    )
    if k1 + k0 in (0, n1 + n0):  # no variation at all: the test statistic is undefined
        stat, p = 0.0, 1.0
    else:
        stat, p = proportions_ztest([k1, k0], [n1, n0])
    return TwoProportionTest(float(diff), float(low), float(high), float(stat), float(p))


# --- Counts and rates ---------------------------------------------------------------------------


class Interval(NamedTuple):
    low: float
    high: float


def poisson_ci(k: Any, alpha: float = 0.05) -> Interval:
    """Exact (Garwood) interval for a Poisson count ``k``, from the χ² distribution.

    ``low = χ²(α/2; 2k)/2`` (0 when ``k == 0``), ``high = χ²(1−α/2; 2k+2)/2``. Vectorised.
    """
    _z(alpha)
    k_arr = np.asarray(k, dtype=float)
    if np.any(k_arr < 0):
        raise ValueError(f"ett antal kan inte vara negativt: {k}")
    with np.errstate(invalid="ignore"):
        low = np.where(k_arr > 0, sps.chi2.ppf(alpha / 2, 2 * np.maximum(k_arr, 1e-300)) / 2, 0.0)
    high = sps.chi2.ppf(1 - alpha / 2, 2 * k_arr + 2) / 2
    return Interval(_scalar_or_array(low), _scalar_or_array(high))


def per_1000(count: Any, population: Any) -> Any:
    """``1000 * count / population``, vectorised (scalars, arrays, Series); NaN where population is 0."""
    if isinstance(population, pd.Series | pd.DataFrame):
        pop = population.where(population != 0)
    else:
        pop_arr = np.asarray(population, dtype=float)
        pop = np.where(pop_arr != 0, pop_arr, np.nan)
        if pop.ndim == 0:
            pop = float(pop)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 1000 * count / pop
    return (
        float(out) if np.ndim(out) == 0 and not isinstance(out, pd.Series | pd.DataFrame) else out
    )


class RateRatio(NamedTuple):
    """A rate ratio with its confidence interval."""

    rr: float
    low: float
    high: float


def rate_ratio(
    k1: float,
    k0: float,
    t1: float = 1.0,
    t0: float = 1.0,
    alpha: float = 0.05,
    method: Literal["log", "exact"] = "log",
) -> RateRatio:
    """Ratio of two Poisson rates ``(k1/t1) / (k0/t0)`` with a confidence interval.

    ``t1`` and ``t0`` are exposures (population, person-years; 1 for plain counts, e.g. this year
    against last year).

    * ``method="log"`` (default): Wald interval on the log scale,
      ``exp(log rr ± z·√(1/k1 + 1/k0))``. Needs both counts > 0; otherwise the bounds are NaN.
    * ``method="exact"``: the exact conditional interval. Given ``k1 + k0``, ``k1`` is binomial
      with ``p = t1·rr / (t1·rr + t0)``; the Clopper–Pearson interval for ``p`` is transformed to
      ``rr = p/(1−p) · t0/t1``. Conservative (coverage ≥ 1 − α) and defined for zero counts.
    """
    from statsmodels.stats.proportion import proportion_confint

    z = _z(alpha)
    if min(k1, k0) < 0 or min(t1, t0) <= 0:
        raise ValueError(
            f"kräver antal ≥ 0 och exponering > 0, fick k1={k1}, k0={k0}, t1={t1}, t0={t0}"
        )
    nan = float("nan")
    if k0 == 0:
        rr = nan if k1 == 0 else float("inf")
    else:
        rr = (k1 / t1) / (k0 / t0)
    if method == "log":
        if k1 == 0 or k0 == 0:
            return RateRatio(rr, nan, nan)
        se = float(np.sqrt(1 / k1 + 1 / k0))
        return RateRatio(rr, float(rr * np.exp(-z * se)), float(rr * np.exp(z * se)))
    if method == "exact":
        n = k1 + k0
        if n == 0:
            return RateRatio(rr, nan, nan)
        p_low, p_high = proportion_confint(k1, n, alpha=alpha, method="beta")

        def to_rr(p: float) -> float:
            return float("inf") if p >= 1 else float(p / (1 - p) * t0 / t1)

        return RateRatio(rr, to_rr(float(p_low)), to_rr(float(p_high)))
    raise ValueError(f"okänd metod {method!r}: använd 'log' eller 'exact'")


# --- Monthly count model ------------------------------------------------------------------------


@dataclass(frozen=True)
class MonthlyCountModel:
    """Result of :func:`fit_monthly_counts`.

    Attributes:
        family: the model used, in Swedish for the prose: ``"Poisson"`` or ``"negativ binomial"``.
        model: the same, machine-readable: ``"poisson"`` or ``"negative_binomial"``.
        dispersion: Pearson χ²/df of the Poisson fit (the overdispersion check; ≈ 1 for Poisson data).
        alpha: the negative binomial dispersion parameter α (Var = μ + α·μ²); NaN for Poisson.
        trend: the annual trend as a rate ratio per year with its confidence interval.
        trend_pvalue: Wald p-value of the trend.
        seasonal: one row per calendar month in the data: ``month`` (1–12), ``month_name``,
            ``rr``, ``low``, ``high`` (rate ratio against the reference month, January when
            present; the reference row has rr = low = high = 1) and ``reference`` (bool).
        fitted: the input months: ``<date_col>``, ``<count_col>``, ``fitted`` (estimated mean) and
            ``low``, ``high`` (confidence interval for the mean, delta method on the log scale).
        aic: Akaike's information criterion of the model used.
        n_obs: number of months.
        results: the statsmodels results object (for diagnostics).
    """

    family: str
    model: str
    dispersion: float
    alpha: float
    trend: RateRatio
    trend_pvalue: float
    seasonal: pd.DataFrame
    fitted: pd.DataFrame
    aic: float
    n_obs: int
    results: Any = field(repr=False, compare=False)


def _design(months: pd.Series) -> tuple[pd.DataFrame, int]:
    """Intercept, trend in years since the first month, month-of-year dummies (reference: lowest month)."""
    idx = months.dt.year * 12 + months.dt.month - 1
    moy = months.dt.month
    ref = int(moy.min())
    X = pd.DataFrame({"const": 1.0, "trend": (idx - idx.min()) / 12.0}, index=months.index)
    for m in sorted(moy.unique()):
        if m != ref:
            X[f"m{int(m):02d}"] = (moy == m).astype(float)
    return X, ref


def fit_monthly_counts(
    df: pd.DataFrame,
    count_col: str = "n",
    date_col: str = "month",
    alpha: float = 0.05,
) -> MonthlyCountModel:
    """Fit a count model with a linear trend and seasonal month effects to a monthly series.

    Model: ``log E[n_t] = β0 + β1·t + γ_month(t)``, with ``t`` in years since the first month (so
    ``exp(β1)`` is the rate ratio per year) and one dummy per calendar month against January (or
    the earliest calendar month present, if January is missing).

    Choice of family: first a Poisson GLM. If its Pearson χ²/df exceeds
    :data:`OVERDISPERSION_THRESHOLD` (1.5) the counts vary more than a Poisson model allows and
    its intervals would be too narrow, so the model is refitted as a negative binomial (NB2,
    statsmodels ``NegativeBinomial`` discrete model, β and α estimated jointly by maximum
    likelihood). Otherwise the Poisson fit is kept. Intervals are Wald intervals on the log scale;
    for the fitted mean the delta method on the linear predictor. These are intervals for the
    *mean* count per month, not prediction intervals for a new month's count.

    ``df`` needs one row per month (``date_col`` a date, a ``datetime64`` column or a monthly
    ``Period``) and a non-negative count. Months without events must be present with 0.
    """
    import statsmodels.api as sm

    z = _z(alpha)
    for col in (count_col, date_col):
        if col not in df.columns:
            raise KeyError(f"kolumnen {col!r} saknas (har: {', '.join(map(str, df.columns))})")
    d = df[[date_col, count_col]].copy()
    if isinstance(d[date_col].dtype, pd.PeriodDtype):
        d[date_col] = d[date_col].dt.to_timestamp()
    d[date_col] = pd.to_datetime(d[date_col]).dt.to_period("M").dt.to_timestamp()
    if d[date_col].duplicated().any():
        dup = d.loc[d[date_col].duplicated(), date_col].dt.strftime("%Y-%m").tolist()
        raise ValueError(f"månader förekommer mer än en gång: {', '.join(dup)}")
    if d[count_col].isna().any() or (d[count_col] < 0).any():
        raise ValueError(f"{count_col!r} måste vara antal ≥ 0 utan saknade värden")
    d = d.sort_values(date_col).reset_index(drop=True)
    X, ref = _design(d[date_col])
    y = d[count_col].astype(float)
    if len(d) - X.shape[1] < 6:
        raise ValueError(
            f"för få månader ({len(d)}) för en modell med trend och säsong ({X.shape[1]} parametrar)"
        )

    poisson = sm.GLM(y, X, family=sm.families.Poisson()).fit()
    dispersion = float(poisson.pearson_chi2 / poisson.df_resid)
    if dispersion > OVERDISPERSION_THRESHOLD:
        start = np.append(poisson.params.to_numpy(), 0.1)
        nb = sm.NegativeBinomial(y, X, loglike_method="nb2")
        res = nb.fit(start_params=start, method="bfgs", maxiter=2000, disp=0)
        res = nb.fit(start_params=res.params.to_numpy(), method="newton", maxiter=100, disp=0)
        if not res.mle_retvals.get("converged", True):
            warnings.warn(
                "den negativa binomialmodellen konvergerade inte", RuntimeWarning, stacklevel=2
            )
        family, model = "negativ binomial", "negative_binomial"
        nb_alpha = float(res.params["alpha"])
        params = res.params.drop("alpha")
        cov = res.cov_params().drop(index="alpha", columns="alpha")
        pvalues = res.pvalues
        results = res
    else:
        family, model, nb_alpha = "Poisson", "poisson", float("nan")
        params, cov, pvalues, results = (
            poisson.params,
            poisson.cov_params(),
            poisson.pvalues,
            poisson,
        )

    se = np.sqrt(np.diag(cov.to_numpy()))
    se = pd.Series(se, index=cov.index)

    def ratio(name: str) -> RateRatio:
        b, s = float(params[name]), float(se[name])
        return RateRatio(float(np.exp(b)), float(np.exp(b - z * s)), float(np.exp(b + z * s)))

    from helpers.publishing import fmt

    rows = []
    for m in sorted(d[date_col].dt.month.unique()):
        m = int(m)
        r = RateRatio(1.0, 1.0, 1.0) if m == ref else ratio(f"m{m:02d}")
        rows.append(
            {
                "month": m,
                "month_name": fmt.month_sv(m),
                "rr": r.rr,
                "low": r.low,
                "high": r.high,
                "reference": m == ref,
            }
        )
    seasonal = pd.DataFrame(rows)

    Xv = X[params.index].to_numpy()
    eta = Xv @ params.to_numpy()
    se_eta = np.sqrt(np.einsum("ij,jk,ik->i", Xv, cov.to_numpy(), Xv))
    fitted = d.assign(
        fitted=np.exp(eta), low=np.exp(eta - z * se_eta), high=np.exp(eta + z * se_eta)
    )
    return MonthlyCountModel(
        family=family,
        model=model,
        dispersion=dispersion,
        alpha=nb_alpha,
        trend=ratio("trend"),
        trend_pvalue=float(pvalues["trend"]),
        seasonal=seasonal,
        fitted=fitted,
        aic=float(results.aic),
        n_obs=len(d),
        results=results,
    )


# --- Does a constant trend describe the years? --------------------------------------------------


@dataclass(frozen=True)
class TrendCheck:
    """Result of :func:`check_trend`: is one constant yearly rate a fair summary of the series?

    Attributes:
        n_years: calendar years in the series.
        testable: False when there are fewer than three years (a straight line through two
            yearly levels always fits, so there is nothing to test).
        statistic, df, pvalue: likelihood-ratio test of the constant-trend model (trend + month)
            against the model with one level per year (year + month), which nests it.
        fits: True when the test does not reject the constant trend at ``alpha``
            (``pvalue >= alpha``); False when it does or when the check is not testable.
        aic_trend, aic_years: AIC of the two models.
        family: ``"poisson"`` or ``"negative_binomial"``; the family of :func:`fit_monthly_counts`
            on the same series, so that overdispersion does not make every trend look misfitting.
    """

    n_years: int
    testable: bool
    statistic: float
    df: int
    pvalue: float
    fits: bool
    aic_trend: float
    aic_years: float
    family: str


def check_trend(
    df: pd.DataFrame, count_col: str = "n", date_col: str = "month", alpha: float = 0.05
) -> TrendCheck:
    """Test whether a constant yearly trend describes a monthly series (see :class:`TrendCheck`).

    Both models have month-of-year effects. With overdispersion (Pearson χ²/df of the Poisson
    year model above :data:`OVERDISPERSION_THRESHOLD`) both are fitted as negative binomial
    (NB2) models and compared by their likelihoods; otherwise as Poisson GLMs. The year model has
    ``n_years − 2`` more parameters than the trend model, the degrees of freedom of the test.
    """
    import statsmodels.api as sm

    d = df[[date_col, count_col]].copy()
    d[date_col] = pd.to_datetime(d[date_col]).dt.to_period("M").dt.to_timestamp()
    d = d.sort_values(date_col).reset_index(drop=True)
    years = d[date_col].dt.year
    n_years = int(years.nunique())
    nan = float("nan")
    if n_years < 3:
        return TrendCheck(n_years, False, nan, 0, nan, False, nan, nan, "")
    X_trend, _ = _design(d[date_col])
    X_years = X_trend.drop(columns="trend")
    for y in sorted(years.unique())[1:]:
        X_years[f"y{int(y)}"] = (years == y).astype(float)
    y_obs = d[count_col].astype(float)

    pois_years = sm.GLM(y_obs, X_years, family=sm.families.Poisson()).fit()
    overdispersed = pois_years.pearson_chi2 / pois_years.df_resid > OVERDISPERSION_THRESHOLD
    if overdispersed:

        def fit(X: pd.DataFrame) -> tuple[float, float]:
            start = np.append(sm.GLM(y_obs, X, family=sm.families.Poisson()).fit().params.to_numpy(), 0.05)
            m = sm.NegativeBinomial(y_obs, X, loglike_method="nb2")
            r = m.fit(start_params=start, method="bfgs", maxiter=2000, disp=0)
            r = m.fit(start_params=r.params.to_numpy(), method="newton", maxiter=100, disp=0)
            return float(r.llf), float(r.aic)

        family = "negative_binomial"
    else:

        def fit(X: pd.DataFrame) -> tuple[float, float]:
            r = sm.GLM(y_obs, X, family=sm.families.Poisson()).fit()
            return float(r.llf), float(r.aic)

        family = "poisson"
    llf_t, aic_t = fit(X_trend)
    llf_y, aic_y = fit(X_years)
    dof = n_years - 2
    stat = max(0.0, 2 * (llf_y - llf_t))
    p = float(sps.chi2.sf(stat, dof))
    return TrendCheck(n_years, True, stat, dof, p, p >= alpha, aic_t, aic_y, family)
