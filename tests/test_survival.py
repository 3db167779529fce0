"""Kaplan–Meier summaries, censoring and returns within a window (helpers.analysis.survival)."""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
import pytest

from helpers.analysis import survival

Z95 = 1.959963984540054


def km_by_hand(t: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Kaplan–Meier with Greenwood's standard error at the distinct event times."""
    times, s_out, se_out = [], [], []
    s, green = 1.0, 0.0
    for u in np.unique(t[d == 1]):
        at_risk = int((t >= u).sum())
        died = int(((t == u) & (d == 1)).sum())
        s *= 1 - died / at_risk
        green += died / (at_risk * (at_risk - died)) if at_risk > died else math.nan
        times.append(u)
        s_out.append(s)
        se_out.append(s * math.sqrt(green))
    return np.array(times), np.array(s_out), np.array(se_out)


def median_ci_by_hand(t: np.ndarray, d: np.ndarray) -> tuple[float, float, float]:
    """Median (first time with S < 0.5) and the Brookmeyer–Crowley interval on the cloglog scale:
    the event times where |g(S) − g(0.5)| / (g'(S)·se) <= z, from the first such time to the next
    event time after the last one."""
    times, s, se = km_by_hand(t, d)
    median = float(times[np.flatnonzero(s < 0.5)[0]])

    def g(x: float) -> float:
        return math.log(-math.log(x))

    ok = [
        i
        for i in range(len(times))
        if 0 < s[i] < 1 and abs((g(s[i]) - g(0.5)) / (-1 / (s[i] * math.log(s[i])) * se[i])) <= Z95
    ]
    low = float(times[ok[0]])
    high = float(times[ok[-1] + 1]) if ok[-1] + 1 < len(times) else math.inf
    return median, low, high


def test_median_without_censoring_is_sixth_of_ten():
    t = np.array([12, 3, 45, 7, 30, 18, 60, 9, 25, 90])
    s = survival.km_summary(t, np.ones(10))
    ordered = np.sort(t)
    # After the 5th smallest exactly half have ended (S = 0.5, not below): the median is the 6th.
    assert s.median == ordered[5] == 25
    assert s.q25 == ordered[2]  # S = 0.7 < 0.75 at the 3rd
    assert s.q75 == ordered[7]  # S = 0.2 < 0.25 at the 8th
    assert (s.n, s.events) == (10, 10)
    med, low, high = median_ci_by_hand(t.astype(float), np.ones(10))
    assert (s.median, s.median_low, s.median_high) == (med, low, high)
    assert s.median_low <= s.median <= s.median_high


def test_median_ci_matches_hand_computation_with_censoring():
    rng = np.random.default_rng(7)
    t = rng.integers(0, 400, 80).astype(float)
    d = (rng.random(80) < 0.7).astype(float)
    s = survival.km_summary(t, d)
    med, low, high = median_ci_by_hand(t, d)
    assert s.median == med
    assert s.median_low == low
    assert s.median_high == (None if math.isinf(high) else high)
    assert s.median_low <= s.median and (s.median_high is None or s.median <= s.median_high)


def test_censoring_moves_the_median():
    t = np.arange(10, 210, 10, dtype=float)  # 20 durations
    all_ended = survival.km_summary(t, np.ones(20))
    # The seven shortest are censored (still running): the median must be later, not the same.
    d = np.r_[np.zeros(7), np.ones(13)]
    censored = survival.km_summary(t, d)
    assert censored.events == 13
    assert censored.median > all_ended.median
    assert censored.median_low <= censored.median
    assert censored.median_high is None or censored.median <= censored.median_high
    # Dropping censored cases instead is a different (biased) answer: KM is not that either.
    dropped = survival.km_summary(t[d == 1], np.ones(13))
    assert dropped.median != all_ended.median


def test_median_not_reached_and_no_events():
    t = np.arange(1, 41, dtype=float)
    d = np.r_[np.ones(18), np.zeros(22)]  # 18 of 40 ended, the rest censored after them
    s = survival.km_summary(t, d)
    assert s.median is None and s.median_high is None and s.q75 is None
    assert s.q25 == 11 and s.median_low == 14  # the lower bound is reached
    # With only 12 ended even the lower bound is not: the median is at least the follow-up.
    few = survival.km_summary(t, np.r_[np.ones(12), np.zeros(28)])
    assert (few.median, few.median_low, few.median_high) == (None, None, None)
    assert few.q25 == 11
    none = survival.km_summary(t, np.zeros(40))
    assert none == survival.KMSummary(40, 0, None, None, None, None, None)
    empty = survival.km_summary([], [])
    assert empty.n == 0 and empty.median is None


def test_zero_length_durations_median():
    t = np.r_[np.zeros(15), np.arange(1, 16)]
    s = survival.km_summary(t, np.ones(30))
    assert s.q25 == 0
    assert s.median == 1  # S(0) = 0.5 exactly, S(1) = 14/30 < 0.5
    all_zero = survival.km_summary(np.zeros(25), np.ones(25))
    assert all_zero.median == 0 and all_zero.median_low == 0 and all_zero.median_high == 0
    with pytest.raises(ValueError):
        survival.km_summary([-1, 2], [1, 1])
    with pytest.raises(ValueError):
        survival.km_summary([np.nan, 2], [1, 1])
    with pytest.raises(ValueError):
        survival.km_summary([1, 2], [1, 2])


def test_km_by_group_hides_small_groups_and_keeps_order():
    rng = np.random.default_rng(3)
    df = pd.DataFrame(
        {
            "grupp": ["b"] * 30 + ["a"] * 25 + ["c"] * 5,
            "dagar": rng.integers(1, 300, 60),
            "slut": rng.random(60) < 0.8,
        }
    )
    out = survival.km_by_group(df, "dagar", "slut", "grupp")
    assert list(out["grupp"]) == ["b", "a", "c"]
    assert list(out.columns) == [
        "grupp", "n", "events", "median", "median_low", "median_high", "q25", "q75", "shown"
    ]  # fmt: skip
    assert list(out["n"]) == [30, 25, 5]
    assert list(out["shown"]) == [True, True, False]
    small = out.iloc[2]
    assert all(isinstance(small[c], float) and math.isnan(small[c]) for c in survival._STAT_FIELDS)
    b = df[df["grupp"] == "b"]
    assert out.iloc[0]["median"] == survival.km_summary(b["dagar"], b["slut"]).median
    assert out.iloc[0]["events"] == int(b["slut"].sum())

    ordered = survival.km_by_group(df, "dagar", "slut", "grupp", levels=["a", "b", "x"], min_n=26)
    assert list(ordered["grupp"]) == ["a", "b", "x"]
    assert list(ordered["shown"]) == [False, True, False]
    assert ordered.iloc[2]["n"] == 0


def test_km_by_group_not_reached_is_none():
    df = pd.DataFrame({"g": ["x"] * 30, "d": np.arange(30), "e": [1] * 5 + [0] * 25})
    row = survival.km_by_group(df, "d", "e", "g").iloc[0]
    assert row["shown"] and row["median"] is None


def test_durations_with_censoring():
    start = pd.Series(pd.to_datetime(["2024-01-01", "2024-03-01", "2024-06-01", "2024-12-31",
                                      "2024-02-10"]), index=[10, 11, 12, 13, 14])  # fmt: skip
    end = pd.Series(pd.to_datetime(["2024-01-31", None, "2025-02-01", None, "2024-02-10 15:00"],
                                    format="ISO8601"), index=[10, 11, 12, 13, 14])  # fmt: skip
    days, observed = survival.durations_with_censoring(start, end, "2024-12-31")
    assert list(days.index) == [10, 11, 12, 13, 14]
    assert list(days) == [30, 305, 213, 0, 0]
    assert list(observed) == [True, False, False, False, True]
    assert days.dtype == "int64" and observed.dtype == bool
    with pytest.raises(ValueError, match="efter brytdatum"):
        survival.durations_with_censoring(["2025-01-02"], [None], "2024-12-31")
    with pytest.raises(ValueError, match="före startdatum"):
        survival.durations_with_censoring(["2024-05-02"], ["2024-05-01"], "2024-12-31")
    with pytest.raises(ValueError, match="startdatum"):
        survival.durations_with_censoring([None], [None], "2024-12-31")


def test_returns_within_hand_made_cases():
    cutoff = pd.Timestamp("2024-12-31")
    index = pd.DataFrame(
        {
            "person_id": ["same", "d365", "d366", "other", "late", "two", "none", "nodate"],
            "date": pd.to_datetime(["2023-01-10", "2023-01-10", "2023-01-10", "2023-01-10",
                                    "2024-06-01", "2023-03-01", "2023-01-01", None]),
            "extra": range(8),
        },
        index=list("abcdefgh"),
    )  # fmt: skip
    later = pd.DataFrame(
        {
            "person_id": ["same", "d365", "d366", "someone", "late", "two", "two", "two"],
            "date": pd.to_datetime(["2023-01-10", "2024-01-10", "2024-01-11", "2023-02-01",
                                    "2024-07-01", "2023-02-01", "2023-05-01", "2023-04-01"]),
        }
    )  # fmt: skip
    out = survival.returns_within(index, later, days=365, cutoff=cutoff)
    assert list(out.index) == list("abcdefgh")
    assert list(out["extra"]) == list(range(8))
    assert str(out["returned"].dtype) == "boolean" and str(out["days_to_return"].dtype) == "Int64"
    r = out["returned"]
    # (bool() of <NA> raises, so `not r[...]` also checks that the value is not missing)
    assert not r["a"]  # an event on the closing day is not a return
    assert r["b"] and out.loc["b", "days_to_return"] == 365  # day 365 is inside the window
    assert not r["c"]  # day 366 is not
    assert not r["d"]  # another person's event
    assert not out.loc["e", "followed"] and pd.isna(r["e"])  # window ends after the cut-off
    assert pd.isna(out.loc["e", "days_to_return"])
    assert r["f"] and out.loc["f", "days_to_return"] == 31  # the first event after closing
    assert not r["g"] and pd.isna(out.loc["g", "days_to_return"])
    assert not out.loc["h", "followed"] and pd.isna(r["h"])
    assert list(out["followed"]) == [True, True, True, True, False, True, True, False]
    assert out["returned"].sum() == 2 and out["followed"].sum() == 6


def test_returns_within_ignores_events_after_cutoff_and_mixed_id_types():
    index = pd.DataFrame({"person_id": [1, 2], "date": pd.to_datetime(["2023-01-01"] * 2)})
    later = pd.DataFrame(
        {"person_id": ["1", "2"], "date": pd.to_datetime(["2023-06-01", "2024-01-01"])}
    )
    out = survival.returns_within(index, later, days=365, cutoff="2023-12-31")
    # person 2's event is after the cut-off, which is before the window ends: not followed.
    assert list(out["followed"]) == [False, False]
    out = survival.returns_within(index, later, days=180, cutoff="2023-12-31")
    assert list(out["returned"]) == [True, False]


def test_returns_within_is_fast():
    rng = np.random.default_rng(11)
    n_index, n_later, people = 200_000, 250_000, 60_000
    base = pd.Timestamp("2019-01-01")
    index = pd.DataFrame(
        {
            "person_id": rng.integers(0, people, n_index),
            "date": base + pd.to_timedelta(rng.integers(0, 5 * 365, n_index), unit="D"),
        }
    )
    later = pd.DataFrame(
        {
            "person_id": rng.integers(0, people, n_later),
            "date": base + pd.to_timedelta(rng.integers(0, 6 * 365, n_later), unit="D"),
        }
    )
    t0 = time.perf_counter()
    out = survival.returns_within(index, later, cutoff="2024-12-31")
    elapsed = time.perf_counter() - t0
    assert elapsed < 5, f"{elapsed:.1f} s"
    assert len(out) == n_index
    # Spot check a few rows against a direct computation.
    for i in rng.choice(n_index, 30, replace=False):
        row = out.iloc[i]
        if not row["followed"]:
            assert pd.isna(row["returned"])
            continue
        ev = later.loc[later["person_id"] == row["person_id"], "date"]
        gaps = (ev - row["date"]).dt.days
        ok = gaps[(gaps > 0) & (gaps <= 365)]
        assert bool(row["returned"]) == (len(ok) > 0)
        if len(ok):
            assert row["days_to_return"] == ok.min()


def test_interval_always_contains_the_median():
    rng = np.random.default_rng(0)
    for _ in range(500):
        n = int(rng.integers(1, 80))
        t = rng.integers(0, int(rng.integers(1, 400)), n)
        d = rng.random(n) < rng.random()
        s = survival.km_summary(t, d)
        if s.median is None:
            assert s.median_high is None
        else:
            assert s.median_low is not None and s.median_low <= s.median
            assert s.median_high is None or s.median <= s.median_high
