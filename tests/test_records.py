"""helpers.chapters.records: the fast text conversions give what pandas' own give."""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.chapters.records import as_text, first_per_person, month_text


def test_as_text_is_astype_str():
    cat = pd.Series(pd.Categorical(["b", None, "a", "b"], categories=["a", "b", "c"]), index=[5, 6, 7, 8], name="k")
    pd.testing.assert_series_equal(as_text(cat), cat.astype(str))
    codes = pd.Series(pd.Categorical([1, 2, None]), name="n")  # non-text categories
    pd.testing.assert_series_equal(as_text(codes), codes.astype(str))
    plain = pd.Series(["x", None, "y"], dtype="string")
    pd.testing.assert_series_equal(as_text(plain), plain.astype(str))
    assert as_text(cat.iloc[:0]).dtype == cat.iloc[:0].astype(str).dtype


def test_month_text_is_strftime():
    d = pd.Series(pd.to_datetime(["2020-01-31", None, "2021-12-01", "2020-01-02"]).as_unit("ms"), index=[3, 1, 2, 0])
    pd.testing.assert_series_equal(month_text(d), d.dt.strftime("%Y-%m"))
    pd.testing.assert_series_equal(month_text(d.iloc[:0]), d.iloc[:0].dt.strftime("%Y-%m"))


def test_first_per_person_uses_order_then_frame_order():
    df = pd.DataFrame({"person_id": ["p", "p", "q", "q", "p"], "ar": [1, 1, 1, 2, 2],
                       "dag": [2, 1, 1, 1, 1], "extra": np.arange(5)}, index=[10, 11, 12, 13, 14])
    got = first_per_person(df, df["extra"] >= 0, ["ar"], ["dag"])
    assert got.tolist() == [False, True, True, True, True]
    got = first_per_person(df, df["extra"] != 1, [], ["dag", "ar"])
    assert got.tolist() == [False, False, True, False, True]
