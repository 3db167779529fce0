"""What the chapters share about their records: person counts, cases as known on a day, and the
derived columns of a case (age group, area type).

Person counts are counted as each person's *first record* (:func:`first_per_person`), so that a
count of children stays a sum of records and disclosure control sees how it relates to the
counts of records beside it.
"""

from __future__ import annotations

import pandas as pd

from helpers.data import codes

AGEGROUPS = ("0-12", "13-17", "18-20")
AREA_UTSATT, AREA_OVRIGA = "Utsatta områden", "Övriga områden"


def cell(frame: pd.DataFrame, **where: object) -> str:
    """The cell id of the one row of a tabulated frame whose columns equal the given values."""
    m = pd.Series(True, index=frame.index)
    for k, v in where.items():
        m &= frame[k] == v
    ids = frame.loc[m, "cell"].tolist()
    if len(ids) != 1:
        raise KeyError(f"{len(ids)} rader matchar {where} (en väntades)")
    return ids[0]


def first_per_person(df: pd.DataFrame, mask: pd.Series, by: list[str], order: list[str]) -> pd.Series:
    """True on each person's first record (sorted by ``order``, ties in frame order) within the
    groups ``by`` among the records where ``mask`` is true; False elsewhere (same index as ``df``)."""
    d = df[mask].sort_values(order, kind="stable")
    first = d.index[~d.duplicated([*by, "person_id"])]
    out = pd.Series(False, index=df.index)
    out.loc[first] = True
    return out


def as_known_on(df: pd.DataFrame, cutoff: pd.Timestamp, outcome_cols: tuple[str, ...]) -> pd.DataFrame:
    """Cases (``start_datum``, ``slut_datum``) as they were known on ``cutoff``: later starts are
    dropped, and a later end, with the outcome columns recorded at the end, is blanked (the case
    was ongoing on that day)."""
    df = df[df["start_datum"] <= cutoff].copy()
    late = df["slut_datum"] > cutoff
    df.loc[late, "slut_datum"] = pd.NaT
    for col in outcome_cols:
        keep = ~late & df["slut_datum"].notna() & df[col].notna()
        df[col] = df[col].astype(object).where(keep, None)
    return df


def age_group(age: pd.Series) -> pd.Series:
    """0–12, 13–17 or 18–20 years, as the code values ``"0-12"`` etc."""
    return pd.cut(age.astype(int), [-1, 12, 17, 20], labels=list(AGEGROUPS)).astype(str)


def case_columns(df: pd.DataFrame) -> pd.DataFrame:
    """Typed person columns and the derived ``aldersgrupp``, ``utsatt_omrade``, ``omrade``,
    ``start_ar`` and ``slut_ar`` (nullable) of a frame of cases; changes ``df`` in place."""
    for col in ("kon", "stadsdel", "orsakskod"):
        df[col] = df[col].astype(str)
    df["alder"] = df["alder"].astype(int)
    df["aldersgrupp"] = age_group(df["alder"])
    df["utsatt_omrade"] = df["stadsdel"].isin(codes.utsatta_omraden())
    df["omrade"] = df["utsatt_omrade"].map({True: AREA_UTSATT, False: AREA_OVRIGA})
    df["start_ar"] = df["start_datum"].dt.year.astype(int)
    df["slut_ar"] = df["slut_datum"].dt.year.astype("Int64")
    return df
