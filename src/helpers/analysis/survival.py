"""Durations and returns: Kaplan–Meier summaries with censoring, and return within a window.

Durations are in whole days. A case (an utredning, an insats) that has not ended on the cut-off
date of the data is *censored*: we know it lasted at least until the cut-off, not how long it
will last. Dropping such cases, or counting them as ended on the cut-off, biases durations
downwards (long cases are the ones still running); the Kaplan–Meier estimator uses them
correctly, as "still running after d days".

* :func:`durations_with_censoring`: days and ended/censored from start and end dates and a
  cut-off;
* :func:`km_summary`: number of cases, ended cases, median duration with its confidence interval
  and the quartiles, from statsmodels ``SurvfuncRight``;
* :func:`km_by_group`: the same per group, statistics hidden below a minimum group size;
* :func:`returns_within`: whether a person came back (a new event, e.g. a new aktualisering)
  within a window after a closed case, only where the whole window lies inside the data.

Conventions for the results. A quantile (median, quartile) or a confidence bound that the
estimated survival curve does not reach within the follow-up is ``None``: it is *at least as long
as the follow-up* (the longest observed duration), so it must be written as "mer än …" or not at
all, never as a number. NaN means "not computed" (a group below ``min_n`` in
:func:`km_by_group`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from helpers.analysis.stats import _z

__all__ = [
    "KMSummary",
    "durations_with_censoring",
    "km_by_group",
    "km_summary",
    "returns_within",
]

#: Statistic columns of :class:`KMSummary` (NaN in :func:`km_by_group` for groups below min_n).
_STAT_FIELDS = ("median", "median_low", "median_high", "q25", "q75")


# --- Kaplan–Meier -------------------------------------------------------------------------------


class KMSummary(NamedTuple):
    """Kaplan–Meier summary of durations in days.

    Attributes:
        n: number of cases (ended and censored).
        events: number of cases that ended within the follow-up.
        median: median duration: the first day at which the estimated share still running falls
            *below* one half (statsmodels' convention, as SAS); ``None`` if not reached (fewer
            than half of the cases are known to have ended).
        median_low, median_high: confidence interval for the median (``1 − alpha``); a bound is
            ``None`` if it is not reached, i.e. it is at least as long as the follow-up.
        q25, q75: the days by which a quarter and three quarters of the cases have ended (first
            and third quartile of the duration), ``None`` if not reached.
    """

    n: int
    events: int
    median: float | None
    median_low: float | None
    median_high: float | None
    q25: float | None
    q75: float | None


def _reached(x: Any) -> float | None:
    """``None`` for a quantile or bound that is not reached (NaN or inf from statsmodels)."""
    x = float(x)
    return x if math.isfinite(x) else None


def km_summary(durations: Any, observed: Any, alpha: float = 0.05) -> KMSummary:
    """Kaplan–Meier estimate of the duration distribution (statsmodels ``SurvfuncRight``).

    ``durations`` are days from start to end (or to the cut-off for a censored case),
    ``observed`` is True/1 where the case ended and False/0 where it was still running (censored).
    See :func:`durations_with_censoring`.

    The median is ``SurvfuncRight.quantile(0.5)``: the first event time at which the estimated
    survival (share still running) is strictly below 0.5. Without censoring and with 10 distinct
    durations that is the 6th smallest (at the 5th exactly half have ended). The quartiles are
    ``quantile(0.25)`` (a quarter ended) and ``quantile(0.75)``.

    The interval is ``SurvfuncRight.quantile_ci(0.5, alpha, method="cloglog")``: the SAS method
    (Brookmeyer–Crowley), inverting a z test of ``S(t) = 0.5`` on the complementary log-log scale
    with Greenwood's standard error. Its bounds are observed durations. statsmodels returns
    ``inf`` as the upper bound when the test does not reject up to the longest event time; that
    bound is not reached and is ``None`` here: the median may be as long as the follow-up or
    longer. When no time is compatible with the median (``(nan, nan)`` from statsmodels) there
    are two cases: the median is not reached, so both bounds are ``None``; or the survival curve
    drops from clearly above one half to clearly below it in one step (e.g. most cases end on
    the same day), and the interval collapses to the median itself.

    Zero-length durations (an insats that starts and ends the same day) are valid: duration 0,
    an event at day 0 (the estimator then starts below 1 at day 0). Negative or missing durations
    raise ``ValueError``. No cases or no ended cases give ``None`` for every statistic.
    """
    from statsmodels.duration.survfunc import SurvfuncRight

    _z(alpha)
    t = np.asarray(durations, dtype=float)
    ev = np.asarray(observed)
    if t.shape != ev.shape or t.ndim != 1:
        raise ValueError(
            "durations och observed måste vara endimensionella och lika långa "
            f"({t.shape}, {ev.shape})"
        )
    if np.isnan(t).any():
        raise ValueError("durations får inte sakna värden")
    if (t < 0).any():
        raise ValueError("durations får inte vara negativa (slutdatum före startdatum?)")
    if pd.isna(ev).any():
        raise ValueError("observed får inte sakna värden")
    ev = ev.astype(float)
    if not np.isin(ev, (0.0, 1.0)).all():
        raise ValueError("observed måste vara 0/1 eller True/False")
    n, events = len(t), int(ev.sum())
    if events == 0:
        return KMSummary(n, 0, None, None, None, None, None)
    sf = SurvfuncRight(t, ev)
    with np.errstate(divide="ignore", invalid="ignore"):  # log(0) where S reaches 0
        median = _reached(sf.quantile(0.5))
        low, high = sf.quantile_ci(0.5, alpha=alpha, method="cloglog")
        q25, q75 = _reached(sf.quantile(0.25)), _reached(sf.quantile(0.75))
    if np.isnan(low) and np.isnan(high):
        low = high = median  # both None if not reached, else a one-step drop past 0.5
    else:
        low, high = _reached(low), _reached(high)
    return KMSummary(n, events, median, low, high, q25, q75)


def km_by_group(
    df: pd.DataFrame,
    duration: str,
    event: str,
    by: str,
    *,
    levels: Sequence[Any] | None = None,
    min_n: int = 20,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """:func:`km_summary` per group of ``by``.

    Returns one row per group with the columns ``by`` (the group), ``n``, ``events``, ``median``,
    ``median_low``, ``median_high``, ``q25``, ``q75`` and ``shown`` (``n >= min_n``). Rows come in
    the order of ``levels`` if given (a level absent from the data gets ``n = 0``; groups not in
    ``levels`` are left out), else in order of first appearance in ``df``.

    For groups with ``n < min_n`` the statistics (median, its bounds, quartiles) are NaN: the
    report does not publish medians of fewer than ``min_n`` (20) cases, since they come close to
    describing individuals and are unstable. ``n`` and ``events`` are always given (they are
    counts, for the disclosure control of the chapter to protect). In shown groups a statistic
    that is not reached is ``None`` (the statistic columns have dtype object so that ``None``
    and NaN stay apart).

    Missing values in ``by`` raise ``ValueError``: label them (e.g. "Uppgift saknas") first.
    """
    for col in (duration, event, by):
        if col not in df.columns:
            raise KeyError(f"kolumnen {col!r} saknas (har: {', '.join(map(str, df.columns))})")
    if df[by].isna().any():
        raise ValueError(f"{by!r} saknar värden: ge dem en egen grupp (t.ex. 'Uppgift saknas')")
    if levels is None:
        levels = list(pd.unique(df[by]))
    rows = []
    for level in levels:
        part = df.loc[df[by] == level]
        shown = len(part) >= min_n
        if shown:
            s = km_summary(part[duration].to_numpy(), part[event].to_numpy(), alpha=alpha)
            stats = {f: getattr(s, f) for f in _STAT_FIELDS}
        else:
            stats = dict.fromkeys(_STAT_FIELDS, np.nan)
        ended = int(part[event].astype(float).sum()) if len(part) else 0
        rows.append({by: level, "n": len(part), "events": ended, **stats, "shown": shown})
    out = pd.DataFrame(rows, columns=[by, "n", "events", *_STAT_FIELDS, "shown"])
    out[list(_STAT_FIELDS)] = out[list(_STAT_FIELDS)].astype(object)
    return out.astype({"n": int, "events": int, "shown": bool})


def _as_days(x: Any) -> pd.Series:
    """Dates as a ``datetime64[ns]`` Series truncated to the day."""
    s = x if isinstance(x, pd.Series) else pd.Series(x)
    return pd.to_datetime(s).astype("datetime64[ns]").dt.normalize()


def durations_with_censoring(start: Any, end: Any, cutoff: Any) -> tuple[pd.Series, pd.Series]:
    """Days and ended/censored status from start dates, end dates and the data's cut-off date.

    A case with an end date on or before ``cutoff`` ended (``observed`` True) after
    ``end − start`` days. A case without end date (NaT, still running) or with an end after the
    cut-off (not yet known on the cut-off day) is censored (``observed`` False) at
    ``cutoff − start`` days. Dates are compared by calendar day (times of day are dropped), so a
    case that starts and ends the same day lasts 0 days.

    Returns ``(days, observed)`` as Series (int64 and bool) with the index of ``start`` (or a
    range index for arrays). Raises ``ValueError`` for a missing start, an end before its start
    and a start after ``cutoff``: such rows must be filtered (or corrected) by the caller.
    """
    s = _as_days(start)
    e = _as_days(end)
    if len(s) != len(e):
        raise ValueError(f"start och end måste vara lika långa ({len(s)}, {len(e)})")
    e.index = s.index
    cut = pd.Timestamp(cutoff).normalize()
    if s.isna().any():
        raise ValueError(f"{int(s.isna().sum())} rader saknar startdatum")
    if (s > cut).any():
        raise ValueError(
            f"{int((s > cut).sum())} rader startar efter brytdatum {cut.date()}: filtrera bort dem"
        )
    if (e < s).any():
        raise ValueError(f"{int((e < s).sum())} rader har slutdatum före startdatum")
    observed = e.notna() & (e <= cut)
    stop = e.where(observed, cut)
    days = ((stop - s) // pd.Timedelta(days=1)).astype("int64")
    return days.rename("days"), observed.astype(bool).rename("observed")


# --- Return within a window ---------------------------------------------------------------------


def returns_within(
    index: pd.DataFrame, later: pd.DataFrame, *, days: int = 365, cutoff: Any
) -> pd.DataFrame:
    """Did the person come back within ``days`` after a closed case?

    ``index`` has one row per closed case (the index event) with ``person_id`` and ``date`` (the
    day the case closed: an utredning closed without insats, an insats ended according to plan)
    and any other columns, which are kept. ``later`` has ``person_id`` and ``date`` of the events
    that count as a return (e.g. aktualiseringar received); events after ``cutoff`` are ignored
    (they were not known on the cut-off day).

    Returns a copy of ``index`` (same index and row order) with three new columns:

    * ``followed`` (bool): ``date + days <= cutoff``, i.e. the whole window lies inside the data.
      False also for a missing date or person.
    * ``returned`` (pandas nullable ``boolean``): some later event of the same person with
      ``date < later date <= date + days``: strictly after the closing day (an event on the same
      day is part of the case, not a return) and day ``days`` included. ``<NA>`` where not
      followed: there, "no return" would only mean "not yet", so such rows must be left out of
      the denominator (``returned.sum() / followed.sum()`` is the share that returned).
    * ``days_to_return`` (nullable ``Int64``): days from the closing day to the first return;
      ``<NA>`` where there was no return or the row is not followed.

    Dates are compared by calendar day. If the ``person_id`` columns of the two frames have
    different dtypes, both are compared as strings. Vectorised with ``pandas.merge_asof``
    (the first later event strictly after the closing day, by person); linear in the number of
    rows after sorting.
    """
    for name, frame in (("index", index), ("later", later)):
        missing = {"person_id", "date"} - set(frame.columns)
        if missing:
            raise KeyError(f"{name} saknar kolumnerna {', '.join(sorted(missing))}")
    if days < 0:
        raise ValueError(f"days måste vara 0 eller större, inte {days}")
    cut = pd.Timestamp(cutoff).normalize()
    window = pd.Timedelta(days=days)

    # One integer key per person over both frames (-1 for a missing id), so that merge_asof
    # compares ids of one dtype whatever the input dtypes.
    idx_pid, later_pid = index["person_id"], later["person_id"]
    if idx_pid.dtype != later_pid.dtype:
        idx_pid, later_pid = idx_pid.astype("string"), later_pid.astype("string")
    codes, _ = pd.factorize(pd.concat([idx_pid, later_pid], ignore_index=True))
    idx_key, later_key = codes[: len(index)], codes[len(index) :]
    idx_date = _as_days(index["date"].reset_index(drop=True))
    followed = (idx_date.notna().to_numpy() & (idx_key >= 0)) & (
        idx_date + window <= cut
    ).to_numpy()

    left = pd.DataFrame(
        {
            "_pos": np.flatnonzero(followed),
            "_key": idx_key[followed],
            "_date": idx_date[followed].to_numpy(),
        }
    )
    left["_after"] = left["_date"] + pd.Timedelta(days=1)
    left = left.sort_values("_after", kind="stable")
    right = pd.DataFrame({"_key": later_key, "_next": _as_days(later["date"]).to_numpy()})
    right = right.loc[right["_next"].notna() & (right["_key"] >= 0) & (right["_next"] <= cut)]
    right = right.sort_values("_next", kind="stable")
    hit = pd.merge_asof(
        left, right, left_on="_after", right_on="_next", by="_key", direction="forward"
    )
    back = hit["_next"].notna() & (hit["_next"] <= hit["_date"] + window)

    n = len(index)
    returned = pd.array(np.full(n, pd.NA), dtype="boolean")
    returned[hit["_pos"].to_numpy()] = back.to_numpy()
    to_return = pd.array(np.full(n, pd.NA), dtype="Int64")
    pos = hit.loc[back, "_pos"].to_numpy()
    gap = (hit.loc[back, "_next"] - hit.loc[back, "_date"]) // pd.Timedelta(days=1)
    to_return[pos] = gap.to_numpy(dtype="int64")

    out = index.copy()
    out["followed"] = followed
    out["returned"] = returned
    out["days_to_return"] = to_return
    return out
