"""What the chapters share about their records: person counts, cases as known on a day, and the
derived columns of a case (age group, area type).

Person counts are counted as each person's *first record* (:func:`first_per_person`), so that a
count of children stays a sum of records and disclosure control sees how it relates to the
counts of records beside it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from helpers.data import codes

AGEGROUPS = ("0-12", "13-17", "18-20")
AREA_UTSATT, AREA_OVRIGA = "Utsatta områden", "Övriga områden"


def _take_text(texts: list[str], index: np.ndarray, like: pd.Series) -> pd.Series:
    """``texts[i]`` for every ``i`` of ``index`` (``-1``: missing) as a ``str`` Series shaped like ``like``,
    gathered by pyarrow instead of one Python string per record."""
    taken = pa.array([*texts, None], type=pa.large_string()).take(pa.array(np.where(index < 0, len(texts), index)))
    return pd.Series(pd.array(taken, dtype=str), index=like.index, name=like.name)


def as_text(s: pd.Series) -> pd.Series:
    """``s.astype(str)``, for a categorical column without converting every record (the categories
    are converted once and gathered by code): the same values, missing values and dtype."""
    if not isinstance(s.dtype, pd.CategoricalDtype) or not pd.api.types.is_string_dtype(s.cat.categories.dtype):
        return s.astype(str)  # (numbers as categories are written as floats when a value is missing)
    out = _take_text(list(s.cat.categories.astype(str)), s.cat.codes.to_numpy(), s)
    return out if out.dtype == s.iloc[:0].astype(str).dtype else s.astype(str)


def month_text(dates: pd.Series) -> pd.Series:
    """``dates.dt.strftime("%Y-%m")``, formatting each month once instead of every record."""
    index, months = pd.factorize(dates.dt.to_period("M"))
    out = _take_text(list(months.strftime("%Y-%m")), np.asarray(index), dates)
    return out if out.dtype == dates.iloc[:0].dt.strftime("%Y-%m").dtype else dates.dt.strftime("%Y-%m")


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
    keys = list(dict.fromkeys([*by, "person_id", *order]))  # only the columns it needs, not the whole frame
    d = df.loc[mask, keys].sort_values(order, kind="stable")
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
        df[col] = as_text(df[col])
    df["alder"] = df["alder"].astype(int)
    df["aldersgrupp"] = age_group(df["alder"])
    df["utsatt_omrade"] = df["stadsdel"].isin(codes.utsatta_omraden())
    df["omrade"] = df["utsatt_omrade"].map({True: AREA_UTSATT, False: AREA_OVRIGA})
    df["start_ar"] = df["start_datum"].dt.year.astype(int)
    df["slut_ar"] = df["slut_datum"].dt.year.astype("Int64")
    return df
