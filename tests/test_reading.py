"""Reading workbooks with calamine (helpers.data.reading) gives what openpyxl gave: the same
checked and converted columns, the same problems, on a small hand-made workbook."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pandas as pd
import pytest

from helpers.data import ingest, pnr, reading
from helpers.data.contract import Column

COLUMNS = (
    Column("Datum", "datum", "date", "", in_year=True),
    Column("Tid", "tid", "date", "", required=False),
    Column("Antal", "antal", "int", "", min=0, max=10),
    Column("Belopp", "belopp", "float", "", required=False),
    Column("Ja/nej", "janej", "bool", "", required=False),
    Column("Kod", "kod", "code", "", codes=("A", "B")),
    Column("Text", "text", "str", "", required=False),
    Column("Personnummer", "pnr", "pnr", "", required=False),
)
PNR = pnr.make(dt.date(2010, 1, 1), 981)  # a test personnummer: 20100101-981C
ROWS = [
    [dt.date(2020, 1, 5), dt.datetime(2020, 3, 1, 12, 30), 3, 1.5, "Ja", "A", "fri text", PNR],
    [dt.datetime(2020, 2, 1), None, "4", "2,5", "nej", " B ", "  ", PNR.replace("-", "")],  # numbers as text
    ["2020-12-31", "2020-06-01", 12, 7, True, "C", 580, None],  # a text date, a range and a code broken
    [None, None, -1, None, "kanske", "A", "0580", "20100101-0008"],  # blank, below min, not Ja/Nej, bad check digit
    [dt.date(2019, 12, 31), None, 2.5, "x", None, "", "text", "19000101-0000"],  # outside the year, not int/float
    [dt.datetime(2020, 5, 5), None, 5, 3, "1", "A", None, None],
]


def _write(path, rows):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Blad"
    ws.append([c.header for c in COLUMNS])
    for row in rows:
        ws.append(row)
    wb.save(path)


def _checked(frame: pd.DataFrame, monkeypatch=None, slow: bool = False):
    problems: list = []
    out = {}
    for col in COLUMNS:
        if slow:
            monkeypatch.setattr(reading, "convert_column", lambda values, kind: None)
        out[col.name] = ingest._check_column(frame, col, "fil.xlsx", "Blad", 2020, problems).tolist()
    return out, [str(p) for p in problems]


@pytest.mark.parametrize("rows", [ROWS, [r for r in ROWS if r[0] is not None and r[0] != "2020-12-31"][:1] + ROWS[-1:]],
                         ids=["broken", "clean"])
def test_calamine_gives_the_same_columns_and_problems_as_openpyxl(tmp_path, monkeypatch, rows):
    path = tmp_path / "bok.xlsx"
    _write(path, rows)
    before = pd.read_excel(path, sheet_name="Blad", dtype=object, engine="openpyxl")
    with reading.open_book(path) as book:
        after = reading.read_sheet(book, "Blad")
    assert list(after.columns) == list(before.columns)
    values, problems = _checked(after)
    with monkeypatch.context() as m:  # the cell-by-cell reading, on openpyxl's cells
        old_values, old_problems = _checked(before, m, slow=True)
    assert values == old_values
    assert problems == old_problems
    if rows is ROWS:
        assert any("'kanske' är inte Ja eller Nej" in p for p in problems)
        assert not any("rad 3, kolumn 'Antal'" in p for p in problems)  # "4" as text is a valid int
        assert values["antal"][1] == 4 and values["belopp"][1] == 2.5 and values["text"][1] is None
    else:
        assert problems == []


def test_clean_columns_take_the_column_wise_path(tmp_path):
    path = tmp_path / "bok.xlsx"
    _write(path, [ROWS[0], ROWS[-1]])
    frame = reading.read_sheet(path, "Blad")
    for col in COLUMNS:
        assert reading.convert_column(frame[col.header].to_numpy(dtype=object), col.kind) is not None, col.name


def test_missing_sheet_raises_value_error(tmp_path):
    path = tmp_path / "bok.xlsx"
    _write(path, ROWS[:1])
    with pytest.raises(ValueError, match="not found"):
        reading.read_sheet(path, "Annat")
