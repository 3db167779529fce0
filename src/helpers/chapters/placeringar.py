"""Computations of the Placeringar chapter: children placed outside the home (heldygnsinsatser).

Work in progress (issue 10): this module holds the measures that official statistics on children
in care publish and that need only the placements in the processed ``insatser`` table (the forms
whose ``form`` is ``heldygn`` in the code list ``insatstyper``); the December snapshot of the 2021
report (``placeringar_december``) is added when its extract exists.

Units. The records are placements. A child's consecutive placements form one *period of care*
(:mod:`helpers.analysis.care`); a period is counted as its first placement and a child as its
first placement in the year, so every count (placements, periods, children) is a sum of records
and one :class:`~helpers.analysis.disclosure.CellSet` protects them together. A move between forms
within a period is not an ending.

Vintage: as in the Utfall chapter, a report for year Y sees the placements as they were known on
31 December of Y (:func:`helpers.chapters.records.as_known_on`).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from helpers.analysis import care
from helpers.analysis.disclosure import CellSet
from helpers.chapters.records import (
    AREA_OVRIGA,
    AREA_UTSATT,
    as_known_on,
    case_columns,
    first_per_person,
)
from helpers.data import codes

#: Children with at least this many placements during a year count as having unstable care.
UNSTABLE = 3


def heldygn_forms() -> list[str]:
    df = codes.load("insatstyper")
    return df.loc[df["form"] == "heldygn", "insatstyp"].tolist()


def cutoff_date(year: int) -> pd.Timestamp:
    return pd.Timestamp(year=int(year), month=12, day=31)


def prepare(ins: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """Placements (heldygn insatser) as known on ``cutoff``, with ``period_id`` (period of care),
    ``period_first`` (the period's first placement), ``lagrum_grupp`` ("SoL"/"LVU") and the
    derived case columns."""
    forms = heldygn_forms()
    df = ins[ins["insatstyp"].astype(str).isin(forms)]
    df = case_columns(as_known_on(df, cutoff, ("avslutsorsak", "situation_efter")))
    df["insatstyp"] = df["insatstyp"].astype(str)
    df["lagrum_grupp"] = df["lagrum"].astype(str).map(lambda v: "LVU" if v.startswith("LVU") else "SoL")
    df = df.reset_index(drop=True)
    df["period_id"] = care.period_ids(df)
    df["period_first"] = first_per_person(df, pd.Series(True, index=df.index), ["period_id"],
                                          ["start_datum", "insats_id"])
    periods = care.periods_of_care(df).set_index("period_id")
    df["period_start"] = df["period_id"].map(periods["start_datum"])
    df["period_slut"] = df["period_id"].map(periods["slut_datum"])
    return df


@dataclass
class CareTables:
    """Counts of the measures of children in care, registered in :attr:`cells`."""

    year: int
    years: list[int]
    cells: CellSet
    records: pd.DataFrame
    stock: pd.DataFrame  # ar, insatstyp, antal, cell: placements ongoing on 31 December
    stock_total: pd.DataFrame  # ar, antal, cell
    started: pd.DataFrame  # ar, antal, cell: periods of care started
    ended: pd.DataFrame  # ar, antal, cell: periods of care ended (the child left care)
    children: pd.DataFrame  # ar, antal, cell: children in care at some time in the year
    unstable: pd.DataFrame  # ar, antal, cell: children with UNSTABLE or more placements in the year
    districts: pd.DataFrame  # stadsdel, utsatt_omrade, antal, cell, barn_0_20 (stock 31 Dec, report year)
    reentry: pd.DataFrame  # aterkom, antal, cell: periods ended the year before, followed a year
    reentry_total: str
    transitions: pd.DataFrame  # ar, antal, cell: periods started in the year with a change SoL ↔ LVU


def tabulate(ins: pd.DataFrame, befolkning: pd.DataFrame, year: int, *, span: int = 2) -> CareTables:
    """Register the care measures of ``year`` (and up to ``span`` earlier years in the data)."""
    cutoff = cutoff_date(year)
    df = prepare(ins, cutoff)
    available = sorted(int(y) for y in ins["ar"].dropna().unique() if int(y) <= year)
    if year not in available:
        raise ValueError(f"Året {year} finns inte i data (tillgängliga år: {', '.join(map(str, available))}).")
    years = [y for y in available if year - span <= y <= year]

    # One flag per year and measure on the record that represents what is counted.
    for y in years:
        on_31 = care.ongoing_on(df, f"{y}-12-31")
        df[f"stock_{y}"] = on_31
        df[f"started_{y}"] = df["period_first"] & (df["period_start"].dt.year == y)
        # A period's end is counted on its first placement, like its start.
        df[f"ended_{y}"] = df["period_first"] & (df["period_slut"].dt.year == y)
        active = care.active_in(df, y)
        df[f"child_{y}"] = first_per_person(df, active, [], ["start_datum", "insats_id"])
        per_child = active.groupby(df["person_id"]).transform("sum")
        df[f"unstable_{y}"] = df[f"child_{y}"] & (per_child >= UNSTABLE)
        df[f"byte_{y}"] = df[f"started_{y}"] & df["period_id"].map(
            df.groupby("period_id")["lagrum_grupp"].nunique() > 1)

    cs = CellSet(df, unit="placeringar")
    forms = heldygn_forms()

    # A record can count in several years (a placement ongoing on two 31 Decembers), so measures
    # that span years are registered year by year.
    stock_parts, stock_totals = [], []
    for y in years:
        col = f"stock_{y}"
        t = cs.tabulate(f"bestand-{y}", by="insatstyp", where=df[col], levels={"insatstyp": forms})
        stock_parts.append(t.assign(ar=y))
        stock_totals.append({"ar": y, "antal": int(df[col].sum()), "cell": cs.total(f"bestand-{y}-totalt", where=df[col])})
    stock = pd.concat(stock_parts, ignore_index=True)[["ar", "insatstyp", "antal", "cell"]]
    stock_total = pd.DataFrame(stock_totals)

    def yearly(name: str, kind: str) -> pd.DataFrame:
        rows = [{"ar": y, "antal": int(df[f"{kind}_{y}"].sum()), "cell": cs.total(f"{name}-{y}", where=df[f"{kind}_{y}"])}
                for y in years]
        return pd.DataFrame(rows)

    started = yearly("perioder-startade", "started")
    ended = yearly("perioder-avslutade", "ended")
    children = yearly("barn-i-vard", "child")
    unstable = yearly("barn-minst-tre-placeringar", "unstable")
    transitions = yearly("byte-sol-lvu", "byte")

    b = befolkning[befolkning["ar"].astype(int) == year]
    pop = b.groupby(b["stadsdel"].astype(str))["antal"].sum()
    districts = cs.tabulate("fig-placerade-per1000", by="stadsdel",
                            where=df[f"stock_{year}"] & df["stadsdel"].isin(pop.index),
                            levels={"stadsdel": list(pop.index)})
    districts["utsatt_omrade"] = districts["stadsdel"].isin(codes.utsatta_omraden())
    districts["barn_0_20"] = districts["stadsdel"].map(pop).astype(int)

    periods = care.periods_of_care(df)
    re = care.reentries(periods, cutoff=cutoff)
    prev_end = re[(re["slut_datum"].dt.year == year - 1) & re["followed"]]
    df["reentry_index"] = df["period_first"] & df["period_id"].isin(prev_end["period_id"])
    came_back = set(prev_end.loc[prev_end["returned"].fillna(False).astype(bool), "period_id"])
    df["aterkom"] = df["reentry_index"] & df["period_id"].isin(came_back)
    reentry = cs.tabulate("tbl-ateranbringande", by="aterkom", where=df["reentry_index"],
                          levels={"aterkom": [True, False]})
    reentry_total = cs.total("ateranbringande", where=df["reentry_index"])

    return CareTables(year, years, cs, df, stock, stock_total, started, ended, children, unstable, districts,
                      reentry, reentry_total, transitions)


__all__ = ["AREA_OVRIGA", "AREA_UTSATT", "UNSTABLE", "CareTables", "cutoff_date", "heldygn_forms", "prepare",
           "tabulate"]
