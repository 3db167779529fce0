"""Periods of care, stock and flow, stability and re-entry (helpers.analysis.care)."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from helpers.analysis import care


def placements(rows):
    df = pd.DataFrame(rows, columns=["person_id", "start_datum", "slut_datum", "lagrum"])
    for c in ("start_datum", "slut_datum"):
        df[c] = pd.to_datetime(df[c])
    return df


@pytest.fixture
def pl():
    return placements([
        ("a", "2020-01-10", "2020-03-01", "SoL"),     # jourhem, then familjehem the next day: one period
        ("a", "2020-03-02", "2020-10-31", "LVU 2 §"),
        ("a", "2021-02-01", None, "SoL"),             # back in care three months later: a new period
        ("b", "2020-05-01", "2020-06-30", "SoL"),
        ("b", "2020-06-15", "2020-08-01", "SoL"),     # overlapping: same period
        ("c", "2019-11-01", None, "LVU 3 §"),         # ongoing across the years
        ("d", "2020-02-01", "2020-02-10", "SoL"),
        ("d", "2020-03-01", "2020-03-05", "SoL"),     # 20 days later: a new period
        ("d", "2020-04-01", "2020-04-03", "SoL"),
    ])


def test_consecutive_and_overlapping_placements_form_one_period(pl):
    ids = care.period_ids(pl)
    assert ids[0] == ids[1] != ids[2]
    assert ids[3] == ids[4]
    assert len(set(ids[6:9])) == 3
    per = care.periods_of_care(pl).set_index("period_id")
    a1 = per.loc[ids[0]]
    assert a1["placeringar"] == 2 and a1["slut_datum"] == pd.Timestamp("2020-10-31") and a1["byte_sol_lvu"]
    assert pd.isna(per.loc[ids[5], "slut_datum"]) and not per.loc[ids[3], "byte_sol_lvu"]
    assert len(per) == 7


def test_a_gap_of_more_than_a_day_starts_a_new_period():
    two = placements([("x", "2020-01-01", "2020-01-31", "SoL"), ("x", "2020-02-02", None, "SoL")])
    assert care.period_ids(two).nunique() == 2
    assert care.period_ids(two, gap_days=2).nunique() == 1


def test_stock_and_flow(pl):
    per = care.periods_of_care(pl)
    f = care.flow(per, 2020)
    assert f == {"started": 5, "ended": 5, "in_care_31_dec": 1, "children_in_care": 4}
    assert care.ongoing_on(pl, "2020-12-31").sum() == 1
    assert care.flow(per, 2021)["in_care_31_dec"] == 2


def test_stability_counts_placements_active_in_the_year(pl):
    n = care.placements_per_child(pl, 2020)
    assert n["d"] == 3 and n["a"] == 2 and n["c"] == 1
    assert (n >= 3).sum() == 1


def test_reentry_within_a_year(pl):
    per = care.periods_of_care(pl)
    r = care.reentries(per, cutoff="2021-12-31").set_index("period_id")
    a1 = care.period_ids(pl)[0]
    assert r.loc[a1, "followed"] and r.loc[a1, "returned"]
    d1 = care.period_ids(pl)[6]
    assert r.loc[d1, "followed"] and r.loc[d1, "returned"]  # d was placed again 20 days later
    d3 = care.period_ids(pl)[8]
    assert r.loc[d3, "followed"] and not r.loc[d3, "returned"]  # never placed again
    assert care.reentries(per, cutoff="2020-12-31").set_index("period_id").loc[a1, "followed"] == False  # noqa: E712


def test_bad_placements_are_refused():
    with pytest.raises(ValueError, match="slutar före"):
        care.period_ids(placements([("x", "2020-02-01", "2020-01-01", "SoL")]))
    with pytest.raises(KeyError):
        care.period_ids(pd.DataFrame({"person_id": ["x"]}))


def test_periods_scale_to_national_volumes():
    rng = np.random.default_rng(7)
    n = 200_000
    start = pd.Timestamp("2018-01-01") + pd.to_timedelta(rng.integers(0, 1800, n), unit="D")
    end = start + pd.to_timedelta(rng.integers(1, 400, n), unit="D")
    pl = pd.DataFrame({"person_id": rng.integers(0, 60_000, n).astype(str), "start_datum": start,
                       "slut_datum": end.where(rng.random(n) > 0.1), "lagrum": "SoL"})
    t = time.perf_counter()
    per = care.periods_of_care(pl)
    assert time.perf_counter() - t < 10 and 0 < len(per) <= n
