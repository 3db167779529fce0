"""A logistic regression whose odds ratios are checked before the report quotes them.

:func:`fit_logistic` fits ``logit P(outcome = 1) = β0 + Σ βj·xj`` with a binomial GLM
(statsmodels, IRLS) and returns the odds ratios ``exp(βj)`` with Wald intervals, together with
the checks that decide whether they may be quoted at all (:attr:`LogisticResult.usable`):

* **Events per parameter** (EPP): the smaller of the number of outcomes and non-outcomes divided
  by the number of estimated parameters (the intercept not counted) must be at least
  ``min_events_per_parameter`` (10, Peduzzi et al. 1996). Fewer gives biased odds ratios and
  intervals that are too narrow.
* **Separation**: a level of a categorical predictor in which all outcomes are 0 or all are 1
  (the odds ratio is 0 or infinite and its estimate is only where the iterations stopped), a
  fit that predicts every row perfectly (statsmodels ``PerfectSeparationWarning``/``Error``),
  a fit that does not converge, or a standard error above :data:`HUGE_SE` on the log-odds
  scale (quasi-complete separation, or predictors that are (nearly) collinear).
* **Goodness of fit**: the Hosmer–Lemeshow test (:func:`hosmer_lemeshow`) must not reject at
  ``alpha``. With a large sample it rejects also small, harmless misfit; with a small one it
  finds little. It is a screen, not proof of fit.
* Sparse levels are handled before fitting rather than tested: levels with fewer than
  ``min_level_n`` rows are merged into one level ``"Övriga"``, and that into the reference
  level if it is still too small (:attr:`LogisticResult.merged_levels`). A reference level
  smaller than ``min_level_n`` (only possible when the caller chooses it) is a problem.

The likelihood-ratio test against the intercept-only model is reported but is not a check: a
model whose predictors do not explain the outcome is a finding (no clear association), not a
defect of the model.

The problems (:attr:`LogisticResult.problems`) are Swedish sentences for the report's method
notes; :attr:`LogisticResult.limits` holds the caveats that apply to every such model.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from scipy import stats as sps

from helpers.analysis.stats import _z

__all__ = [
    "HUGE_SE",
    "OTHER_LEVEL",
    "HosmerLemeshow",
    "LRTest",
    "LogisticResult",
    "fit_logistic",
    "hosmer_lemeshow",
]

#: Label of the level into which small levels of a categorical predictor are merged.
OTHER_LEVEL = "Övriga"
#: A standard error above this on the log-odds scale (an interval for the odds ratio spanning a
#: factor of e^39) means the coefficient is not identified by the data: quasi-complete separation
#: or collinear predictors.
HUGE_SE = 10.0

_TABLE_COLUMNS = [
    "variable", "level", "reference", "n", "events", "odds_ratio", "low", "high", "p"
]  # fmt: skip


class HosmerLemeshow(NamedTuple):
    """Hosmer–Lemeshow goodness-of-fit test; NaN statistic and p with ``df = 0`` when fewer than
    three groups of predicted probabilities can be formed (nothing to test)."""

    statistic: float
    df: int
    pvalue: float
    groups: int


class LRTest(NamedTuple):
    """Likelihood-ratio test of the model against the intercept-only model."""

    statistic: float
    df: int
    pvalue: float


@dataclass(frozen=True)
class LogisticResult:
    """Result of :func:`fit_logistic`.

    Attributes:
        table: one row per level of each categorical predictor and one per numeric predictor,
            in the order of ``predictors``, with the columns ``variable`` (the column name),
            ``level`` (the level after merging; ``None`` for a numeric predictor), ``reference``
            (bool; the reference row has odds_ratio = low = high = 1 and p NaN), ``n`` and
            ``events`` (rows and outcomes in the level; for a numeric predictor all rows),
            ``odds_ratio``, ``low``, ``high`` (Wald interval, ``1 − alpha``) and ``p`` (Wald
            test). For a numeric predictor the odds ratio is per one unit. NaN where the model
            could not be fitted. Quote it only when :attr:`usable`.
        n: rows used in the fit; events: of which the outcome is 1.
        parameters: estimated parameters, the intercept not counted.
        dropped_rows: rows left out because the outcome or a predictor is missing.
        merged_levels: per predictor, the original levels that were merged and what into
            (``{"kommundel": {"Norr": "Övriga", "Öster": "Övriga"}}``); only predictors with merges.
        reference_levels: the reference level of each categorical predictor.
        events_per_parameter: ``min(events, n − events) / parameters``.
        separation: a separation was detected (see the module docstring).
        converged: the IRLS iterations converged.
        hosmer_lemeshow, lr_test: the two tests.
        usable: no problem found; the odds ratios may be quoted.
        problems: Swedish sentences, one per failed check (empty when usable).
        limits: Swedish caveats that hold for every such model, for the method notes.
        results: the statsmodels results (None if the model was not fitted).
    """

    table: pd.DataFrame
    n: int
    events: int
    parameters: int
    dropped_rows: int
    merged_levels: dict[str, dict[Any, Any]]
    reference_levels: dict[str, Any]
    events_per_parameter: float
    separation: bool
    converged: bool
    hosmer_lemeshow: HosmerLemeshow
    lr_test: LRTest
    usable: bool
    problems: list[str]
    limits: list[str]
    results: Any = field(repr=False, compare=False)


def _num(x: float, decimals: int) -> str:
    from helpers.publishing import fmt

    return fmt.num(x, decimals)


def _p_text(p: float) -> str:
    """``p = 0,03``, ``p = 0,004``, ``p < 0,001`` (decimal comma)."""
    if p < 0.001:
        return f"p < {_num(0.001, 3)}"
    return f"p = {_num(p, 2 if p >= 0.01 else 3)}"


def hosmer_lemeshow(y: Any, p: Any, groups: int = 10) -> HosmerLemeshow:
    """Hosmer–Lemeshow test of observed against predicted outcomes.

    The rows are grouped by their predicted probability ``p``: into ``groups`` (10) groups of
    about equal size at the deciles (rows with the same prediction always in the same group, so
    ties can make fewer groups), or, when there are at most ``groups`` distinct predictions (a
    model with only a few categorical levels), one group per distinct prediction. The statistic
    ``Σ (O − E)² / (E·(1 − E/n_g))`` over the groups (``O``, ``E`` observed and expected outcomes,
    ``n_g`` rows of the group) is compared with χ² on ``g − 2`` degrees of freedom. With fewer
    than three groups there is nothing to test (``df = 0``, statistic and p NaN).
    """
    y_arr = np.asarray(y, dtype=float)
    p_arr = np.asarray(p, dtype=float)
    rounded = np.round(p_arr, 10)
    distinct = np.unique(rounded)
    if len(distinct) <= groups:
        group = np.searchsorted(distinct, rounded)
    else:
        group = pd.qcut(rounded, groups, labels=False, duplicates="drop")
    frame = pd.DataFrame({"g": group, "y": y_arr, "p": p_arr})
    agg = frame.groupby("g").agg(n=("y", "size"), o=("y", "sum"), e=("p", "sum"))
    g = len(agg)
    if g < 3:
        return HosmerLemeshow(float("nan"), 0, float("nan"), g)
    denom = agg["e"] * (1 - agg["e"] / agg["n"])
    ok = denom > 1e-12
    stat = float((((agg["o"] - agg["e"]) ** 2)[ok] / denom[ok]).sum())
    return HosmerLemeshow(stat, g - 2, float(sps.chi2.sf(stat, g - 2)), g)


def _is_categorical(s: pd.Series) -> bool:
    return (
        pd.api.types.is_bool_dtype(s.dtype)
        or isinstance(s.dtype, pd.CategoricalDtype)
        or pd.api.types.is_object_dtype(s.dtype)
        or pd.api.types.is_string_dtype(s.dtype)
    )


def _level_order(s: pd.Series) -> list[Any]:
    """Levels present in ``s``: in category order, else sorted, else in order of appearance."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        present = set(s.unique())
        return [c for c in s.cat.categories if c in present]
    values = [v.item() if isinstance(v, np.generic) else v for v in pd.unique(s)]
    try:
        return sorted(values)
    except TypeError:
        return values


def _limits(per_child: bool) -> list[str]:
    limits = [
        "Oddskvoterna beskriver samband, inte orsaker: de visar hur utfallet samvarierar med "
        "faktorerna i modellen, inte vad som leder till utfallet.",
        "Faktorer som inte finns i uppgifterna, till exempel familjens situation och hur stora "
        "behoven är, kan förklara en del av sambanden.",
        "En oddskvot är inte en riskkvot: när utfallet är vanligt är oddskvoten längre från 1 än "
        "kvoten mellan andelarna.",
    ]
    if not per_child:
        limits.insert(
            1,
            "Modellen räknar ärenden, inte barn: samma barn kan finnas med flera gånger, och "
            "konfidensintervallen blir då något för snäva.",
        )
    return limits


def fit_logistic(
    df: pd.DataFrame,
    outcome: str,
    predictors: Sequence[str],
    *,
    reference: Mapping[str, Any] | None = None,
    min_level_n: int = 20,
    min_events_per_parameter: float = 10,
    alpha: float = 0.05,
    per_child: bool = False,
) -> LogisticResult:
    """Logistic regression of a 0/1 ``outcome`` on ``predictors``, with the checks of the module.

    ``outcome`` is a 0/1 or bool column. Categorical predictors (bool, object, string or category
    columns) are treatment coded against ``reference[col]`` (default: the most frequent level;
    on a tie the first in level order: category order, else sorted); numeric predictors enter
    linearly (odds ratio per unit). Rows with a missing outcome or predictor are dropped
    (:attr:`LogisticResult.dropped_rows`). Levels with fewer than ``min_level_n`` rows are merged
    (see the module docstring). A predictor left with a single level, or a constant numeric one,
    is left out of the model and reported as a problem.

    ``per_child=True`` says that ``df`` holds one row per child; otherwise the caveat that the
    rows are cases, not children, is added to :attr:`LogisticResult.limits`.

    Raises ``KeyError`` for missing columns and ``ValueError`` for an outcome that is not 0/1, a
    non-numeric non-categorical predictor or a reference level absent from the data.
    """
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import PerfectSeparationError, PerfectSeparationWarning

    _z(alpha)
    predictors = list(predictors)
    reference = dict(reference or {})
    if not predictors:
        raise ValueError("minst en förklaringsvariabel krävs")
    for col in (outcome, *predictors):
        if col not in df.columns:
            raise KeyError(f"kolumnen {col!r} saknas (har: {', '.join(map(str, df.columns))})")
    if outcome in predictors or len(set(predictors)) != len(predictors):
        raise ValueError("utfallet och förklaringsvariablerna måste vara olika kolumner")
    unknown = set(reference) - set(predictors)
    if unknown:
        raise ValueError(f"referensnivå för okända variabler: {', '.join(map(str, unknown))}")

    complete = df[[outcome, *predictors]].notna().all(axis=1)
    dropped = int((~complete).sum())
    d = df.loc[complete, [outcome, *predictors]]
    y_raw = d[outcome]
    if not pd.api.types.is_bool_dtype(y_raw.dtype) and not pd.api.types.is_numeric_dtype(
        y_raw.dtype
    ):
        raise ValueError(f"utfallet {outcome!r} måste vara 0/1 eller True/False")
    y = y_raw.astype(float)
    if not y.isin((0.0, 1.0)).all():
        raise ValueError(f"utfallet {outcome!r} måste vara 0/1 eller True/False")
    n, events = len(y), int(y.sum())

    problems: list[str] = []
    separation = False
    merged: dict[str, dict[Any, Any]] = {}
    refs: dict[str, Any] = {}
    # (variable, levels after merging (None: numeric), reference, column of values)
    terms: list[tuple[str, list[Any] | None, Any, pd.Series]] = []
    X = pd.DataFrame({"const": 1.0}, index=d.index)
    param_of: dict[tuple[str, Any], str] = {}

    for col in predictors:
        s = d[col]
        if _is_categorical(s):
            values = s.astype(object)
            order = _level_order(s)
            counts = {lv: int((values == lv).sum()) for lv in order}
            if col in reference:
                ref = reference[col]
                if ref not in order:
                    raise ValueError(f"referensnivån {ref!r} finns inte i {col!r}")
                if counts[ref] < min_level_n:
                    problems.append(
                        f"Referensnivån ”{ref}” för {col} har bara {counts[ref]} observationer "
                        f"(minst {min_level_n} krävs)."
                    )
            else:
                ref = max(order, key=lambda lv: counts[lv])  # the first on a tie
            small = [lv for lv in order if lv != ref and counts[lv] < min_level_n]
            mapping: dict[Any, Any] = {}
            if small:
                # "Övriga" also takes an existing level of that name, if there is one.
                other_n = sum(counts[lv] for lv in small)
                if OTHER_LEVEL in order and OTHER_LEVEL not in small:
                    other_n += counts[OTHER_LEVEL]
                target = OTHER_LEVEL if other_n >= min_level_n else ref
                mapping = {lv: target for lv in small}
                merged[col] = mapping
                values = values.map(lambda v, m=mapping: m.get(v, v))
                order = [lv for lv in order if lv not in mapping]
                if target not in order:
                    order.append(target)
            refs[col] = ref
            if len(order) < 2:
                problems.append(
                    f"{col} har bara en nivå ({ref}) med tillräckligt många observationer och "
                    "kunde inte skattas."
                )
                continue
            for lv in order:
                in_level = values == lv
                k = int(y[in_level].sum())
                if k in (0, int(in_level.sum())):
                    separation = True
                    who = "inget av ärendena" if k == 0 else "alla ärenden"
                    problems.append(
                        f"Separation: i nivån ”{lv}” av {col} har {who} utfallet, så "
                        "oddskvoten kan inte skattas."
                    )
                if lv != ref:
                    name = f"{col}[{lv}]"
                    X[name] = in_level.astype(float)
                    param_of[(col, lv)] = name
            terms.append((col, [ref] + [lv for lv in order if lv != ref], ref, values))
        elif pd.api.types.is_numeric_dtype(s.dtype):
            x = s.astype(float)
            if x.nunique() < 2:
                problems.append(f"{col} har samma värde för alla och kunde inte skattas.")
                continue
            X[col] = x
            param_of[(col, None)] = col
            terms.append((col, None, None, x))
        else:
            raise ValueError(f"{col!r} är varken numerisk eller kategorisk ({s.dtype})")

    parameters = X.shape[1] - 1
    nan = float("nan")
    minority = min(events, n - events)
    epp = minority / parameters if parameters else nan
    if parameters and epp < min_events_per_parameter:
        problems.append(
            f"För få utfall per skattad parameter ({_num(epp, 1)}; minst "
            f"{_num(min_events_per_parameter, 0)} krävs)."
        )
    if n == 0 or minority == 0:
        problems.append("Utfallet varierar inte: alla ärenden har samma utfall.")

    res = None
    converged = False
    hl = HosmerLemeshow(nan, 0, nan, 0)
    lr = LRTest(nan, parameters, nan)
    if parameters and minority > 0:
        # Every statistic of the results is computed here, where the warnings of a separated
        # fit (overflow in exp, perfect prediction) are caught and read as checks.
        with warnings.catch_warnings(record=True) as caught, np.errstate(all="ignore"):
            warnings.simplefilter("always")
            try:
                res = sm.GLM(y, X, family=sm.families.Binomial()).fit()
            except PerfectSeparationError:
                res = None
            if res is not None:
                bse = np.asarray(res.bse, dtype=float)
                fitted = np.asarray(res.fittedvalues, dtype=float)
                llf, llnull = float(res.llf), float(res.llnull)
                ci = np.exp(res.conf_int(alpha=alpha))
                odds, pvals = np.exp(res.params), res.pvalues
        if res is None or any(issubclass(w.category, PerfectSeparationWarning) for w in caught):
            if not separation:
                problems.append(
                    "Separation: modellen förutsäger utfallet perfekt, så oddskvoterna kan inte "
                    "skattas."
                )
            separation = True
        if res is not None:
            converged = bool(getattr(res, "converged", True))
            if not converged:
                problems.append("Skattningen av modellen konvergerade inte.")
            if not separation and not (np.isfinite(bse).all() and (bse <= HUGE_SE).all()):
                separation = True
                problems.append(
                    "Mycket stora standardfel: data skiljer nästan helt ut utfallen i någon "
                    "grupp (kvasiseparation), eller så mäter två variabler samma sak."
                )
            hl = hosmer_lemeshow(y, fitted)
            if hl.df > 0 and hl.pvalue < alpha:
                problems.append(
                    f"Modellen passar inte data (Hosmer–Lemeshow {_p_text(hl.pvalue)})."
                )
            stat = max(0.0, 2 * (llf - llnull))
            lr = LRTest(stat, parameters, float(sps.chi2.sf(stat, parameters)))

    rows = []
    for col, order, ref, values in terms:
        if order is None:
            name = param_of[(col, None)]
            est = (
                (odds[name], ci.loc[name, 0], ci.loc[name, 1], pvals[name])
                if res is not None
                else (nan,) * 4
            )
            rows.append((col, None, False, n, events, *est))
            continue
        for lv in order:
            in_level = values == lv
            cnt, k = int(in_level.sum()), int(y[in_level].sum())
            if lv == ref:
                rows.append((col, lv, True, cnt, k, 1.0, 1.0, 1.0, nan))
                continue
            name = param_of[(col, lv)]
            est = (
                (odds[name], ci.loc[name, 0], ci.loc[name, 1], pvals[name])
                if res is not None
                else (nan,) * 4
            )
            rows.append((col, lv, False, cnt, k, *est))
    table = pd.DataFrame(rows, columns=_TABLE_COLUMNS, dtype=object).astype(
        {"reference": bool, "n": int, "events": int, "odds_ratio": float, "low": float,
         "high": float, "p": float}
    )  # fmt: skip

    return LogisticResult(
        table=table,
        n=n,
        events=events,
        parameters=parameters,
        dropped_rows=dropped,
        merged_levels=merged,
        reference_levels=refs,
        events_per_parameter=float(epp),
        separation=separation,
        converged=converged,
        hosmer_lemeshow=hl,
        lr_test=lr,
        usable=not problems,
        problems=problems,
        limits=_limits(per_child),
        results=res,
    )
