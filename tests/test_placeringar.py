"""Unit tests of the Placeringar chapter's care measures on a small hand-made table."""

from __future__ import annotations

import pandas as pd
import pytest

from helpers.chapters import placeringar

COLS = ["ar", "insats_id", "person_id", "kon", "alder", "stadsdel", "insatstyp", "grund", "lagrum", "orsakskod",
        "start_datum", "slut_datum", "avslutsorsak", "situation_efter"]


@pytest.fixture
def ins():
    rows = [
        (2019, "i1", "a", "Pojke", 15, "Ryd", "Jourhem", "Bistånd", "SoL", "O01", "2019-11-01", "2020-01-10", "Övergår till annan insats", None),
        (2020, "i2", "a", "Pojke", 15, "Ryd", "Familjehem", "Bistånd", "LVU 2 §", "O01", "2020-01-11", None, None, None),
        (2020, "i3", "b", "Flicka", 16, "Berga", "HVB", "Bistånd", "SoL", "B09", "2020-02-01", "2020-03-01", "Avbruten", "Annan"),
        (2020, "i4", "b", "Flicka", 16, "Berga", "HVB", "Bistånd", "SoL", "B09", "2020-04-01", "2020-05-01", "Avbruten", "Annan"),
        (2020, "i5", "b", "Flicka", 16, "Berga", "SIS", "Bistånd", "LVU 3 §", "B09", "2020-06-01", "2021-02-01", "Enligt plan",
         "Hos en eller båda föräldrarna"),
        (2019, "i6", "c", "Pojke", 17, "Centrum", "Stödboende", "Bistånd", "SoL", "X01", "2019-03-01", "2019-09-30", "Enligt plan",
         "Eget boende"),
        (2020, "i7", "c", "Pojke", 18, "Centrum", "Stödboende", "Bistånd", "SoL", "X01", "2020-06-01", "2020-12-01", "Enligt plan",
         "Eget boende"),
        (2020, "i8", "d", "Pojke", 9, "Ryd", "Öppenvård", "Bistånd", None, "O01", "2020-01-01", None, None, None),
    ]
    df = pd.DataFrame(rows, columns=COLS)
    for c in ("start_datum", "slut_datum"):
        df[c] = pd.to_datetime(df[c])
    return df


@pytest.fixture
def bef():
    return pd.DataFrame({"ar": [2020] * 3, "stadsdel": ["Ryd", "Berga", "Centrum"], "aldersgrupp": ["13-17"] * 3,
                         "antal": [500, 400, 300]})


def test_only_heldygn_forms_and_periods(ins):
    df = placeringar.prepare(ins, placeringar.cutoff_date(2020))
    assert "Öppenvård" not in set(df["insatstyp"])
    p = df.set_index("insats_id")["period_id"]
    assert p["i1"] == p["i2"] and len({p["i3"], p["i4"], p["i5"]}) == 3
    assert pd.isna(df.set_index("insats_id").loc["i5", "slut_datum"])  # ended after the cut-off


def v(frame, **kw):
    m = pd.Series(True, index=frame.index)
    for k, val in kw.items():
        m &= frame[k] == val
    return int(frame.loc[m, "antal"].iloc[0])


def test_stock_flow_stability_and_transitions(ins, bef):
    t = placeringar.tabulate(ins, bef, 2020)
    assert t.years == [2019, 2020]
    assert v(t.stock_total, ar=2020) == 2 and v(t.stock, ar=2020, insatstyp="Familjehem") == 1
    assert v(t.stock_total, ar=2019) == 1  # i1 (jourhem) on 31 December 2019
    assert v(t.started, ar=2020) == 4 and v(t.ended, ar=2020) == 3
    assert v(t.children, ar=2020) == 3
    assert v(t.unstable, ar=2020) == 1  # b had three placements in 2020
    assert v(t.transitions, ar=2019) == 1  # a: SoL jourhem → LVU familjehem within one period
    assert v(t.districts, stadsdel="Ryd") == 1 and v(t.districts, stadsdel="Berga") == 1


def test_reentry_follows_periods_ended_the_year_before(ins, bef):
    t = placeringar.tabulate(ins, bef, 2020)
    # c left care on 2019-09-30 and was placed again on 2020-06-01: a re-entry within a year.
    assert t.records.loc[t.records["reentry_index"], "person_id"].tolist() == ["c"]
    assert v(t.reentry, aterkom=True) == 1


def test_every_count_is_protected_together(ins, bef):
    t = placeringar.tabulate(ins, bef, 2020)
    prot = t.cells.protect()
    assert prot.audit().passed
    assert all(prot.status(c) != "published" for c in t.stock["cell"] if prot.true_value(c) in (1, 2, 3, 4))


@pytest.mark.parametrize(("top", "ticks"), [(38, [0, 10, 20, 30, 40]), (34, [0, 10, 20, 30, 40]),
                                            (11, [0, 2, 4, 6, 8, 10, 12]), (4, [0, 1, 2, 3, 4]),
                                            (140, [0, 50, 100, 150]), (0, [0, 1])])
def test_chart_ticks_are_round_steps(top, ticks):
    assert placeringar.chart_ticks(top) == ticks


def test_ended_placements_leave_out_moves_between_forms(ins, bef):
    moved = ins.copy()
    moved.loc[moved["insats_id"] == "i3", "avslutsorsak"] = "Byte av placeringsform"
    moved.loc[moved["insats_id"] == "i3", "situation_efter"] = None
    t = placeringar.tabulate(moved, bef, 2020)
    hvb = t.ended_placements[(t.ended_placements["ar"] == 2020) & (t.ended_placements["grupp"] == "hvb")]
    assert hvb["antal"].sum() == 1  # i4 only; i3 moved to another form
    assert v(t.ended_groups, ar=2020, grupp="stodboende") == 1 and v(t.ended_groups, ar=2019, grupp="familjehem_14-20") == 0


def test_the_review_joins_the_placements_on_insats_id(ins, bef):
    review = pd.DataFrame({"ar": [2020], "insats_id": ["i2"], "registrerad_som": ["HVB"], "anledning": ["Brist i omsorgen"],
                           "skola_tillgodosedd": [False], "tidigare_oppenvard": [False]})
    t = placeringar.tabulate(ins, bef, 2020)
    assert not t.review_year
    hvb = ins.copy()
    hvb.loc[hvb["insats_id"] == "i2", "insatstyp"] = "HVB"  # the review has HVB and stödboende only
    t = placeringar.tabulate(hvb, bef, 2020, review=review)
    assert t.review_year and int(t.records["in_review"].sum()) == 1
    assert v(t.review["anledning"], anledning="Brist i omsorgen") == 1
    assert int(t.records["rv_neither"].sum()) == 1 and t.review_neither_top == "Ryd"
