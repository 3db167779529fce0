"""Costs: price per day, price–volume decomposition and a year-end forecast from the months so far.

All money is in current prices (kronor of each year). The functions work on tidy monthly rows with
the columns ``manad`` (first day of the month), ``kostnad_kr`` and ``varddygn`` plus any grouping
columns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


def yearly(kost: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Cost and care days per year and ``by`` (``ar`` added from ``manad``)."""
    df = kost.assign(ar=pd.to_datetime(kost["manad"]).dt.year)
    out = df.groupby(["ar", *by], observed=True, as_index=False)[["kostnad_kr", "varddygn"]].sum(min_count=1)
    out["pris_per_dygn"] = out["kostnad_kr"] / out["varddygn"].where(out["varddygn"] > 0)
    return out


def price_volume(y0: pd.DataFrame, y1: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """The change in cost from one year to the next split into volume and price, per ``by``.

    With care days ``d`` and price per day ``p = cost / d``: ``c1 − c0 = (d1 − d0)·p0 + d1·(p1 − p0)``
    exactly (the volume effect at the old price plus the price effect on the new volume). Groups
    present in only one year are all volume (a new or ended form). Rows without care days (öppenvård)
    have no price and their change is given as ``ovrigt``.
    """
    cols = ["kostnad_kr", "varddygn"]
    a = y0.set_index(by)[cols].add_suffix("_0")
    b = y1.set_index(by)[cols].add_suffix("_1")
    m = a.join(b, how="outer").fillna(0.0)
    c0, c1, d0, d1 = m["kostnad_kr_0"], m["kostnad_kr_1"], m["varddygn_0"], m["varddygn_1"]
    with np.errstate(divide="ignore", invalid="ignore"):
        p0 = np.where(d0 > 0, c0 / d0, np.nan)
        p1 = np.where(d1 > 0, c1 / d1, np.nan)
    has_days = (d0 > 0) & (d1 > 0)
    vol = np.where(has_days, (d1 - d0) * p0, np.where((d0 > 0) | (d1 > 0), c1 - c0, 0.0))
    price = np.where(has_days, d1 * (p1 - p0), 0.0)
    other = (c1 - c0) - vol - price
    out = m.assign(pris_0=p0, pris_1=p1, volymeffekt=vol, priseffekt=price, ovrigt=other,
                   forandring=c1 - c0).reset_index()
    return out


@dataclass(frozen=True)
class Forecast:
    """A year-end forecast of a cost from its first ``months`` months."""

    year: int
    months: int
    so_far: float  # cost of the months so far
    point: float  # forecast for the whole year
    low: float | None  # prediction interval (None with fewer than three earlier years)
    high: float | None
    years_used: tuple[int, ...]  # earlier full years that gave the months' share
    share_mean: float  # mean share of the year's cost that the months carry
    actual: float | None  # the year's cost, when all months are in the data


def year_end(monthly: pd.DataFrame, year: int, months: int, *, alpha: float = 0.05) -> Forecast:
    """Forecast the cost of ``year`` from its first ``months`` months.

    ``monthly`` has ``manad`` and ``kostnad_kr`` (summed over whatever the forecast is about). In
    each earlier full year the first ``months`` months carry a share ``s`` of the year's cost; the
    forecast is ``so_far / mean(s)``. Its prediction interval comes from the spread of ``s`` over
    those years (a t interval for a new year's share, mapped through ``so_far / s``); with fewer
    than three earlier years there is no interval.
    """
    from scipy import stats as st

    if not 1 <= months <= 12:
        raise ValueError("months ska vara 1–12")
    df = monthly.assign(ar=pd.to_datetime(monthly["manad"]).dt.year, m=pd.to_datetime(monthly["manad"]).dt.month)
    per = df.groupby(["ar", "m"])["kostnad_kr"].sum().unstack(fill_value=0.0)
    full = [int(y) for y in per.index if int(y) < year and (per.loc[y] > 0).sum() == 12]
    shares = np.array([per.loc[y, :months].sum() / per.loc[y].sum() for y in full]) if full else np.array([])
    so_far = float(per.loc[year, :months].sum()) if year in per.index else 0.0
    actual = float(per.loc[year].sum()) if year in per.index and (per.loc[year] > 0).sum() == 12 else None
    if len(shares) == 0:
        return Forecast(year, months, so_far, float("nan"), None, None, (), float("nan"), actual)
    s_mean = float(shares.mean())
    point = so_far / s_mean
    low = high = None
    if len(shares) >= 3:
        sd = float(shares.std(ddof=1))
        t = float(st.t.ppf(1 - alpha / 2, len(shares) - 1))
        half = t * sd * np.sqrt(1 + 1 / len(shares))
        s_lo, s_hi = max(s_mean - half, 1e-9), s_mean + half
        low, high = so_far / s_hi, so_far / s_lo
    return Forecast(year, months, so_far, point, low, high, tuple(full), s_mean, actual)


def first_step(prices: pd.Series, threshold: float = 0.10) -> pd.Timestamp | None:
    """The first month whose price is at least ``threshold`` above the month before (``prices``
    indexed by month, in order), or None."""
    p = prices.dropna()
    rise = p / p.shift(1) - 1
    hit = rise[rise >= threshold]
    return pd.Timestamp(hit.index[0]) if len(hit) else None
