"""Unit tests of the Inflöde chapter's tables on a small hand-made table."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from helpers.chapters import inflode

COLS = ["ar", "aktualisering_id", "person_id", "inkom_datum", "aktualiseringstyp", "kon", "alder",
        "orsakskod", "anmalare", "stadsdel", "beslut"]


def raw(rows):
    df = pd.DataFrame(rows, columns=COLS)
    df["inkom_datum"] = pd.to_datetime(df["inkom_datum"])
    return df


@pytest.fixture
def akt():
    d = dt.date
    return raw([
        (2020, "a1", "p1", d(2020, 3, 2), "Anmälan 0-17", "Pojke", 15, "B09", "polis", "Skäggetorp", "utredning"),
        (2020, "a2", "p1", d(2020, 3, 20), "Anmälan 0-17", "Pojke", 15, "B09", "polis", "Skäggetorp", "service"),
        (2020, "a3", "p2", d(2020, 3, 5), "Anmälan 0-17", "Flicka", 4, "O01", "skola", "Hjulsbro", "kronologiska"),
        (2020, "a4", "p3", d(2020, 5, 5), "Anmälan 18-20", "Flicka", 19, "B08", "halso_sjukvard", "Ryd", "annan_verksamhet"),
        (2020, "a5", "p4", d(2020, 6, 5), "Ansökan 0-17", "Flicka", 16, "O09", None, "Centrum", "utredning"),
        (2020, "a6", "p5", d(2020, 7, 5), "Annat sätt 0-17", "Pojke", 8, "F01", None, "Berga", "tillfors"),
        (2019, "a7", "p6", d(2019, 3, 5), "Anmälan 0-17", "Pojke", 10, "O12", "skola", "Lambohov", "utredning"),
        (2021, "a8", "p7", d(2021, 3, 9), "Anmälan 0-17", "Pojke", 16, "B09", "polis", "Ryd", "utredning"),
        (2021, "a9", "p8", d(2021, 5, 9), "Anmälan 0-17", "Flicka", 12, "O01", "skola", "Ryd", "utredning"),
    ])


@pytest.fixture
def bef():
    return pd.DataFrame({"ar": [2020, 2020, 2020, 2020], "stadsdel": ["Skäggetorp", "Hjulsbro", "Skäggetorp", "Ryd"],
                         "aldersgrupp": ["13-17", "0-5", "18-20", "6-12"], "antal": [200, 1000, 50, 300]})


def test_prepare_maps_codes_and_cuts_at_the_vintage(akt):
    df = inflode.prepare(akt, inflode.cutoff_date(2020))
    assert set(df["ar"]) == {2019, 2020}
    row = df.set_index("aktualisering_id").loc["a1"]
    assert row["typ"] == "anmälan" and row["alderskategori"] == "0-17" and row["omrade"] == inflode.AREA_UTSATT
    assert row["kategori"] == "brottslighet" and row["aldersgrupp"] == "13-17" and row["period"] == "2020-03"


def test_cutoff_date_rules():
    assert inflode.cutoff_date(2020) == pd.Timestamp("2020-12-31")
    assert inflode.cutoff_date(2020, "2021-03-31") == pd.Timestamp("2021-03-31")
    with pytest.raises(ValueError, match="före rapportårets slut"):
        inflode.cutoff_date(2020, "2020-06-30")
    with pytest.raises(ValueError, match="datum"):
        inflode.cutoff_date(2020, "mars")


def true_counts(t) -> dict[str, int]:
    """Every registered cell's count, from the cell set's model (no protection needed)."""
    X, freq, ids = t.cells.model()
    return dict(zip(ids, (X.T @ freq).astype(int).tolist(), strict=True))


def counts(t, frame):
    return dict(zip(frame["cell"], frame["antal"], strict=True))


def test_tabulate_counts_every_published_table(akt, bef):
    t = inflode.tabulate(akt, bef, 2020, model_margins=False)
    types = t.types.set_index("aktualiseringstyp")["antal"]
    assert types["Anmälan 0-17"] == 3 and types.sum() == 6 and types["Ansökan 18-20"] == 0
    assert t.years == [2019, 2020] and t.all_years == [2019, 2020]
    closed = t.closed.set_index("ar")["antal"]
    assert closed[2020] == 3 and closed[2019] == 0  # kronologiska + service + annan verksamhet
    dec = t.decisions.set_index(["ar", "beslut"])["antal"]
    assert dec[(2020, "service")] == 1 and dec[(2019, "utredning")] == 1
    crime = t.crime.set_index("ar")
    n = true_counts(t)
    assert n[crime.loc[2020, "k"]] == 1 and n[crime.loc[2020, "n"]] == 1
    assert n[t.children] == 2  # p1 (two anmälningar) and p2
    areas = t.areas.set_index("stadsdel")
    assert areas.loc["Skäggetorp", "antal"] == 2 and areas.loc["Skäggetorp", "barn_0_17"] == 200


def test_march_sample_counts_persons_and_repeats(akt, bef):
    t = inflode.tabulate(akt, bef, 2020, model_margins=False)
    assert list(t.samples) == [2019, 2020] and t.late_years == []
    s = t.samples[2020]
    n = true_counts(t)
    got = {k: n[getattr(s, k)] for k in ("total", "repeat", "utsatt", "brott", "brott_pojkar",
                                                      "brott_utsatt_personer")}
    assert got == {"total": 3, "repeat": 2, "utsatt": 2, "brott": 2, "brott_pojkar": 2, "brott_utsatt_personer": 1}


def test_a_later_cutoff_adds_only_the_following_march(akt, bef):
    base = inflode.tabulate(akt, bef, 2020)
    late = inflode.tabulate(akt, bef, 2020, "2021-03-31")
    assert list(late.samples) == [2020, 2021] and late.late_years == [2021]
    assert counts(late, late.monthly) == counts(base, base.monthly)  # the series stops at the report year
    assert late.monthly["period"].iloc[-1] == "2020-12"


def test_report_year_must_exist(akt, bef):
    with pytest.raises(ValueError, match="2031"):
        inflode.tabulate(akt, bef, 2031)


def test_since_rising():
    assert inflode.since_rising({2018: 1, 2019: 2, 2020: 3}, 2020) == 2018
    assert inflode.since_rising({2018: 3, 2019: 2, 2020: 3}, 2020) == 2019
    assert inflode.since_rising({2019: 3, 2020: 2}, 2020) == 2020
    assert inflode.since_rising({2019: None, 2020: 2}, 2020) == 2020
