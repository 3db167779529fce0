"""Measures of out-of-home care (placeringar) as official statistics publish them.

Socialstyrelsen's statistics on heldygnsinsatser and the English *Children looked after*
statistics count children in care in two ways: the **stock** on a day (31 December) and the
**flow** during a year (periods of care started, ended, and children placed at some time). Their
unit is the *period of care*: a child's consecutive placements (a move from a jourhem to a
familjehem, say) form one period, which ends only when the child leaves care. A move between
forms is therefore not an ending, as the 2021 report also points out.

Every function takes a frame of placements with the columns ``person_id``, ``start_datum``,
``slut_datum`` (``NaT`` while ongoing) and, where said, ``lagrum`` ("SoL" or an LVU basis), and is
vectorised (sorting and group-wise cumulative sums, no loop over children).
"""

from __future__ import annotations

import pandas as pd

#: Days between one placement's last day and the next one's first day that still count as
#: consecutive (a child moved from one placement to the next the same or the following day).
GAP_DAYS = 1


def _sorted(placements: pd.DataFrame) -> pd.DataFrame:
    need = {"person_id", "start_datum", "slut_datum"}
    if missing := need - set(placements.columns):
        raise KeyError(f"placeringarna saknar kolumnerna {sorted(missing)}")
    if placements["start_datum"].isna().any():
        raise ValueError("en placering saknar startdatum")
    bad = placements["slut_datum"].notna() & (placements["slut_datum"] < placements["start_datum"])
    if bad.any():
        raise ValueError(f"{int(bad.sum())} placeringar slutar före sin start")
    return placements.sort_values(["person_id", "start_datum", "slut_datum"], kind="stable", na_position="last")


def period_ids(placements: pd.DataFrame, *, gap_days: int = GAP_DAYS) -> pd.Series:
    """The period of care of each placement (same index), as ``"<person_id>:<n>"``.

    A placement starts a new period when it is the child's first, or when it starts more than
    ``gap_days`` after every earlier placement of the child has ended (an ongoing placement never
    ends). Overlapping placements belong to the same period.
    """
    d = _sorted(placements)
    far = pd.Timestamp.max.normalize()
    end = d["slut_datum"].fillna(far)
    # The latest end so far of the child's earlier placements (cummax within the child).
    reach = end.groupby(d["person_id"], sort=False).cummax()
    prev_reach = reach.groupby(d["person_id"], sort=False).shift(1)
    new = prev_reach.isna() | (d["start_datum"] > prev_reach + pd.Timedelta(days=gap_days))
    number = new.astype(int).groupby(d["person_id"], sort=False).cumsum()
    ids = d["person_id"].astype(str) + ":" + number.astype(str)
    return ids.reindex(placements.index)


def periods_of_care(placements: pd.DataFrame, *, gap_days: int = GAP_DAYS) -> pd.DataFrame:
    """One row per period of care: ``period_id``, ``person_id``, ``start_datum``, ``slut_datum``
    (``NaT`` while any of its placements is ongoing), ``placeringar`` (how many) and, when the
    placements have ``lagrum``, ``byte_sol_lvu`` (whether the legal basis changed between SoL and
    LVU within the period)."""
    d = placements.assign(period_id=period_ids(placements, gap_days=gap_days))
    g = d.groupby("period_id", sort=False)
    open_ = d["slut_datum"].isna().groupby(d["period_id"], sort=False).any()
    out = pd.DataFrame({
        "person_id": g["person_id"].first(),
        "start_datum": g["start_datum"].min(),
        "slut_datum": g["slut_datum"].max().where(~open_),
        "placeringar": g.size(),
    })
    if "lagrum" in d.columns:
        lvu = d["lagrum"].astype(str).str.startswith("LVU")
        out["byte_sol_lvu"] = lvu.groupby(d["period_id"], sort=False).nunique() > 1
    return out.reset_index().sort_values(["person_id", "start_datum"], kind="stable").reset_index(drop=True)


def ongoing_on(frame: pd.DataFrame, day: pd.Timestamp | str) -> pd.Series:
    """True for the placements (or periods) ongoing on ``day``: started on or before it and not
    ended before it (the stock on 31 December is ``ongoing_on(…, "YYYY-12-31")``)."""
    day = pd.Timestamp(day)
    return (frame["start_datum"] <= day) & (frame["slut_datum"].isna() | (frame["slut_datum"] >= day))


def active_in(frame: pd.DataFrame, year: int) -> pd.Series:
    """True for the placements (or periods) ongoing at some time during ``year``."""
    first, last = pd.Timestamp(year=year, month=1, day=1), pd.Timestamp(year=year, month=12, day=31)
    return (frame["start_datum"] <= last) & (frame["slut_datum"].isna() | (frame["slut_datum"] >= first))


def flow(periods: pd.DataFrame, year: int) -> dict[str, int]:
    """The year's flow in periods of care and children: ``started``, ``ended``, ``in_care_31_dec``
    (periods ongoing on 31 December) and ``children_in_care`` (children with a period ongoing at
    some time during the year)."""
    start_y, end_y = periods["start_datum"].dt.year, periods["slut_datum"].dt.year
    return {
        "started": int((start_y == year).sum()),
        "ended": int((end_y == year).sum()),
        "in_care_31_dec": int(ongoing_on(periods, f"{year}-12-31").sum()),
        "children_in_care": int(periods.loc[active_in(periods, year), "person_id"].nunique()),
    }


def placements_per_child(placements: pd.DataFrame, year: int) -> pd.Series:
    """Number of placements each child had during ``year`` (placements active at some time in the
    year), indexed by ``person_id``: the stability measure counts children with three or more."""
    d = placements[active_in(placements, year)]
    return d.groupby("person_id").size()


def reentries(periods: pd.DataFrame, *, cutoff: pd.Timestamp | str, days: int = 365) -> pd.DataFrame:
    """For each ended period: whether the child came into care again within ``days`` after it
    ended (``returned``), and whether the whole window lies before ``cutoff`` (``followed``). Uses
    :func:`helpers.analysis.survival.returns_within` with the starts of the child's later periods."""
    from helpers.analysis.survival import returns_within

    ended = periods[periods["slut_datum"].notna()]
    index = ended[["person_id", "slut_datum"]].rename(columns={"slut_datum": "date"})
    later = periods[["person_id", "start_datum"]].rename(columns={"start_datum": "date"})
    r = returns_within(index, later, days=days, cutoff=pd.Timestamp(cutoff))
    return ended.assign(followed=r["followed"], returned=r["returned"], days_to_return=r["days_to_return"])
