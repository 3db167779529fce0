"""Unit tests of the Utfall chapter's tables on small hand-made tables."""

from __future__ import annotations

import pandas as pd
import pytest

from helpers.chapters import utfall

AKT_COLS = ["ar", "aktualisering_id", "person_id", "inkom_datum", "aktualiseringstyp", "kon", "alder",
            "orsakskod", "anmalare", "stadsdel", "beslut"]
UTR_COLS = ["ar", "utredning_id", "aktualisering_id", "person_id", "kon", "alder", "stadsdel", "startgrund",
            "start_datum", "slut_datum", "orsakskod", "utfall", "bedomning"]
INS_COLS = ["ar", "insats_id", "utredning_id", "aktualisering_id", "person_id", "kon", "alder", "stadsdel",
            "insatstyp", "grund", "lagrum", "orsakskod", "start_datum", "slut_datum", "avslutsorsak",
            "situation_efter", "ensamkommande"]


def frame(rows, cols, dates):
    df = pd.DataFrame(rows, columns=cols)
    for c in dates:
        df[c] = pd.to_datetime(df[c])
    return df


@pytest.fixture
def akt():
    return frame([
        (2019, "a1", "p1", "2019-02-01", "Anmälan 0-17", "Pojke", 15, "B09", "polis", "Ryd", "utredning"),
        (2020, "a2", "p2", "2020-03-01", "Ansökan 0-17", "Flicka", 10, "O09", None, "Berga", "utredning"),
        (2020, "a3", "p1", "2020-01-15", "Anmälan 0-17", "Pojke", 16, "B09", "polis", "Ryd", "kronologiska"),
        (2020, "a4", "p3", "2020-12-20", "Anmälan 0-17", "Flicka", 5, "O01", "skola", "Centrum", "utredning"),
        (2021, "a5", "p2", "2021-06-01", "Anmälan 0-17", "Flicka", 11, "O09", "skola", "Berga", "kronologiska"),
    ], AKT_COLS, ["inkom_datum"])


@pytest.fixture
def utr():
    return frame([
        (2019, "u1", "a1", "p1", "Pojke", 15, "Ryd", "Anmälan", "2019-02-05", "2019-05-01", "B09", "Ingen insats", "Inget behov"),
        (2020, "u2", "a2", "p2", "Flicka", 10, "Berga", "Ansökan", "2020-03-03", "2020-06-30", "O09", "Insats beviljas", None),
        (2020, "u3", "a4", "p3", "Flicka", 5, "Centrum", "Anmälan", "2020-12-28", "2021-03-01", "O01", "Ingen insats",
         "Behov samtycke saknas"),
    ], UTR_COLS, ["start_datum", "slut_datum"])


@pytest.fixture
def ins():
    return frame([
        (2020, "i1", "u2", None, "p2", "Flicka", 10, "Berga", "Öppenvård", "Bistånd", None, "F01", "2020-07-10",
         "2020-11-30", "Enligt plan", None, None),
        (2020, "i2", None, None, "p1", "Pojke", 16, "Ryd", "Öppenvård", "Service", None, "B08", "2020-02-01",
         "2020-04-01", "Ej enligt plan", None, None),
        (2020, "i3", None, None, "p4", "Pojke", 14, "Ryd", "Öppenvård", "Service", None, "B12", "2020-02-01",
         "2021-04-01", "Enligt plan", None, None),
    ], INS_COLS, ["start_datum", "slut_datum"])


@pytest.fixture
def bef():
    return pd.DataFrame({"ar": [2020] * 4, "stadsdel": ["Ryd", "Berga", "Centrum", "Ryd"],
                         "aldersgrupp": ["13-17", "6-12", "0-5", "18-20"], "antal": [300, 400, 500, 100]})


def test_cases_are_seen_as_on_31_december(akt, utr, ins):
    cut = utfall.cutoff_date(2020)
    u = utfall.prepare_utredningar(utr, akt, cut)
    late = u.set_index("utredning_id").loc["u3"]
    assert pd.isna(late["slut_datum"]) and late["utfall"] is None and late["bedomning"] is None
    assert late["inkom_datum"] == pd.Timestamp("2020-12-20")
    i = utfall.prepare_insatser(ins, cut).set_index("insats_id")
    assert pd.isna(i.loc["i3", "slut_datum"]) and i.loc["i3", "avslutsorsak"] is None
    assert i.loc["i2", "problemomrade"] == "eget_missbruk" and i.loc["i3", "problemomrade"] == utfall.OTHER_AREA
    assert i.loc["i1", "bistandsgrupp"] == "familjekonflikter"
    early = utfall.prepare_utredningar(utr, akt, utfall.cutoff_date(2019))
    assert list(early["utredning_id"]) == ["u1"]


def test_tabulate_counts_what_the_chapter_publishes(akt, utr, ins, bef):
    t = utfall.tabulate(akt, utr, ins, bef, 2020)
    assert t.years == [2019, 2020] and t.service_years == [2019, 2020]
    v = lambda frame, **kw: int(frame.loc[(frame[list(kw)] == pd.Series(kw)).all(axis=1), "antal"].iloc[0])  # noqa: E731
    assert v(t.started, ar=2020, startgrund="Ansökan") == 1 and v(t.started, ar=2020, startgrund="Anmälan") == 1
    assert v(t.ended, ar=2020, startgrund="Ansökan", utfall="Insats beviljas") == 1
    assert v(t.ended_basis, ar=2020, startgrund="Anmälan") == 0  # u3 ended after the cut-off
    assert v(t.service_total, ar=2020) == 1 and v(t.service, ar=2020, problemomrade="eget_missbruk",
                                                  avslutsorsak="Ej enligt plan") == 1
    assert utfall.OTHER_AREA not in t.areas  # i3 ended after the cut-off: not in the service tables
    assert v(t.oppenvard, ar=2020, avslutsorsak="Enligt plan") == 1
    assert v(t.oppenvard_groups, ar=2020, avslutsorsak="Enligt plan", bistandsgrupp="familjekonflikter") == 1
    assert v(t.districts, stadsdel="Ryd") == 0 and v(t.districts, stadsdel="Berga") == 1
    assert int(t.districts.set_index("stadsdel").loc["Ryd", "barn_0_20"]) == 400


def test_return_within_a_year(akt, utr, ins):
    cut = utfall.cutoff_date(2020)
    recs = pd.concat([utfall.prepare_utredningar(utr, akt, cut), utfall.prepare_insatser(ins, cut)], ignore_index=True)
    ids = recs["insats_id"].where(recs["enhet"] == "insats", recs["utredning_id"])
    out = utfall.returns(recs, akt, cut).set_index(ids)
    # u1 closed without insats 2019-05-01; p1 came back 2020-01-15: within a year, fully followed.
    assert out.loc["u1", "index_typ"] == "utredning" and out.loc["u1", "folj"] and out.loc["u1", "aterkom"]
    # i1 ended according to plan 2020-11-30: its year is not over on the cut-off, so not followed.
    assert out.loc["i1", "index_typ"] == "insats" and not out.loc["i1", "folj"] and not out.loc["i1", "aterkom"]
    later = utfall.returns(recs, akt, pd.Timestamp("2021-12-31")).set_index(out.index)
    assert later.loc["i1", "folj"] and later.loc["i1", "aterkom"]  # p2 came back 2021-06-01


def test_the_same_day_is_not_a_return(akt, utr, ins):
    cut = pd.Timestamp("2021-12-31")
    akt2 = pd.concat([akt, akt.iloc[[0]].assign(aktualisering_id="a9", inkom_datum=pd.Timestamp("2019-05-01"))])
    akt2 = akt2[akt2["aktualisering_id"] != "a3"]
    recs = utfall.prepare_utredningar(utr, akt2, cut)
    out = utfall.returns(recs, akt2, cut).set_index("utredning_id")
    assert not out.loc["u1", "aterkom"]


def test_report_year_must_exist(akt, utr, ins, bef):
    with pytest.raises(ValueError, match="finns inte i data"):
        utfall.tabulate(akt, utr, ins, bef, 2017)
