"""Unit tests of the inflow computations on a small hand-made table."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from helpers import inflode


def frame(rows):
    cols = ["ar", "aktualisering_id", "person_id", "inkom_datum", "aktualiseringstyp", "kon", "alder",
            "orsakskod", "anmalare", "stadsdel", "beslut"]
    df = pd.DataFrame(rows, columns=cols)
    df["inkom_datum"] = pd.to_datetime(df["inkom_datum"])
    return inflode.prepare(df)


@pytest.fixture
def akt():
    d = dt.date
    return frame([
        (2020, "a1", "p1", d(2020, 3, 2), "Anmälan 0-17", "Pojke", 15, "B09", "polis", "Skäggetorp", "utredning"),
        (2020, "a2", "p1", d(2020, 3, 20), "Anmälan 0-17", "Pojke", 15, "B09", "polis", "Skäggetorp", "service"),
        (2020, "a3", "p2", d(2020, 3, 5), "Anmälan 0-17", "Flicka", 4, "O01", "skola", "Hjulsbro", "kronologiska"),
        (2020, "a4", "p3", d(2020, 5, 5), "Anmälan 18-20", "Flicka", 19, "B08", "halso_sjukvard", "Ryd", "annan_verksamhet"),
        (2020, "a5", "p4", d(2020, 6, 5), "Ansökan 0-17", "Flicka", 16, "O09", None, "Centrum", "utredning"),
        (2020, "a6", "p5", d(2020, 7, 5), "Annat sätt 0-17", "Pojke", 8, "F01", None, "Berga", "tillfors"),
        (2019, "a7", "p6", d(2019, 3, 5), "Anmälan 0-17", "Pojke", 10, "O12", "skola", "Lambohov", "utredning"),
    ])


def test_prepare_maps_codes(akt):
    row = akt.set_index("aktualisering_id").loc["a1"]
    assert row["typ"] == "anmälan" and row["alderskategori"] == "0-17"
    assert row["kategori"] == "brottslighet" and row["aldersgrupp"] == "13-17" and row["utsatt_omrade"]


def test_type_counts_shares_sum_to_100(akt):
    t = inflode.type_counts(akt, 2020)
    assert t["antal"].sum() == 6
    assert t["andel"].sum() == pytest.approx(100)
    assert t.set_index("aktualiseringstyp").loc["Anmälan 0-17", "antal"] == 3


def test_cause_counts_by_agegroup(akt):
    c = inflode.cause_counts(akt, 2020, aldersgrupp="13-17").set_index("kategori")
    assert c.loc["brottslighet", "antal"] == 2 and c.loc["brottslighet", "andel"] == 100


def test_closed_and_decisions(akt):
    assert inflode.closed_without_action(akt, 2020) == 3  # kronologiska + service + annan verksamhet
    dec = inflode.decisions_by_year(akt, [2019, 2020]).set_index(["ar", "beslut"])["antal"]
    assert dec[(2020, "service")] == 1 and dec[(2019, "utredning")] == 1 and dec[(2019, "service")] == 0


def test_crime_among_investigated(akt):
    assert inflode.crime_among_investigated(akt, 2020) == (1, 1)
    assert inflode.crime_among_investigated(akt, 2019) == (0, 1)


def test_march_sample_counts_repeat_reports(akt):
    s = inflode.march_sample(akt, 2020)
    assert (s.total, s.repeat, s.utsatt, s.brott, s.brott_pojkar, s.brott_utsatt_personer) == (3, 2, 2, 2, 2, 1)


def test_comparison_years_rejects_missing_year(akt):
    assert inflode.comparison_years(akt, 2020) == [2019, 2020]
    with pytest.raises(ValueError, match="2031"):
        inflode.comparison_years(akt, 2031)


def test_per_1000_by_area(akt):
    bef = pd.DataFrame({"ar": [2020, 2020, 2020], "stadsdel": ["Skäggetorp", "Hjulsbro", "Skäggetorp"],
                        "aldersgrupp": ["13-17", "0-5", "18-20"], "antal": [200, 1000, 50]})
    r = inflode.per_1000_by_area(akt, bef, 2020).set_index("stadsdel")
    assert r.loc["Skäggetorp", "per_1000"] == pytest.approx(10.0)  # 2 / 200 children 0–17
    assert r.loc["Hjulsbro", "per_1000"] == pytest.approx(1.0)
