"""Reading workbooks with calamine (helpers.data.reading) gives what openpyxl gave: the same
checked and converted columns, the same problems, on a small hand-made workbook."""

from __future__ import annotations

import datetime as dt
import zipfile

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


def _same_cell(a, b) -> bool:
    if type(a) is not type(b):
        return False
    return (a != a and b != b) or a == b  # NaN is NaN


def _assert_read_as_pandas(path):
    """Every sheet of ``path``: :func:`reading.read_sheet` gives pandas' frame cell for cell (type and value)."""
    with reading.open_book(path) as book:
        for name in book.sheet_names:
            expected = pd.read_excel(book, sheet_name=name, dtype=object)
            got = reading.read_sheet(book, name)
            assert list(got.columns) == list(expected.columns), name
            assert got.index.equals(expected.index), name
            assert list(got.dtypes) == list(expected.dtypes), name
            for c in expected.columns:
                pairs = zip(got[c].tolist(), expected[c].tolist(), strict=True)
                assert all(_same_cell(a, b) for a, b in pairs), (name, c, got[c].tolist(), expected[c].tolist())


def test_read_sheet_gives_pandas_frame_cell_for_cell(tmp_path):
    """The column-wise reading (reading._frame) and pd.read_excel agree on odd cells: text that pandas
    reads as blank ("NA", "null", ""), whole and other numbers, dates and date-times, times,
    booleans, blank cells, and sheets it leaves to pandas (a repeated or blank header, one column,
    booleans beside numbers, no data rows)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Udda"
    ws.append(["Text", "Tal", "Datum", "Blandat", "Tom", "Sant"])
    cells = [
        ["NA", 1.0, dt.date(2020, 1, 5), "N/A", None, True],
        ["", 2.5, dt.datetime(2020, 3, 1, 12, 30), 7, None, False],
        ["null", -0.0, None, dt.date(2021, 2, 3), None, "Ja"],
        [" ", 1e15, dt.datetime(2020, 2, 1), dt.time(8, 15), None, None],
        ["nan", 3, "2020-12-31", 1.5, None, True],
        ["None", None, dt.date(2020, 1, 5), "text", None, "nej"],
        ["  fri text  ", 4e15, dt.date(1999, 12, 31), dt.datetime(2020, 1, 1), None, False],
    ]
    for row in cells:
        ws.append(row)
    for title, rows in (("Dubbel", [["A", "A"], [1, 2]]), ("Ensam", [["A"], [1], ["NA"]]),
                        ("Blandning", [["A", "B"], [True, 1], [1, False]]), ("Tomrad", [["A", "B"]]),
                        ("Blank rubrik", [["A", None, "C"], [1, 2, 3]]), ("Talrubrik", [["A", 2020], ["x", 1]]), ("Stort", [["A", "B"], [1e20, 1]])):
        sheet = wb.create_sheet(title)
        for row in rows:
            sheet.append(row)
    path = tmp_path / "udda.xlsx"
    wb.save(path)
    _assert_read_as_pandas(path)
    with reading.open_book(path) as book:
        rows = book._reader.get_sheet_by_name("Udda").to_python(skip_empty_area=False)
    assert reading._frame(rows) is not None  # the odd cells themselves take the column-wise path


def test_read_sheet_of_the_demo_extracts_is_pandas_frame(tmp_path):
    """The synthetic extracts (a few of each kind) read column-wise give pandas' frames."""
    from helpers.data.synth import generate

    generate.main(tmp_path)
    for path in sorted(tmp_path.glob("*_2020.xlsx")) + [tmp_path / "jamforelse.xlsx"]:
        _assert_read_as_pandas(path)


# --------------------------------------------------------------------------------------------
# Formulas, merged cells and files that are not workbooks
# --------------------------------------------------------------------------------------------

_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def _with_sheet_xml(path, xml: str) -> None:
    """Replace the sheet XML of the workbook at ``path`` (written by :func:`_write`)."""
    with zipfile.ZipFile(path) as z:
        members = [(info, z.read(info)) for info in z.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for info, data in members:
            z.writestr(info, xml.encode() if info.filename == "xl/worksheets/sheet1.xml" else data)


def test_sheet_markup_finds_formulas_and_merged_ranges(tmp_path):
    """Shared formulas (the text in the first cell only), a namespace prefix, cells without a
    reference (placed by their order in the row) and merged ranges."""
    path = tmp_path / "bok.xlsx"
    _write(path, ROWS[:1])
    assert not reading.sheet_markup(path, "Blad")  # values only
    _with_sheet_xml(path, (
        f'<x:worksheet xmlns:x="{_NS}"><x:sheetData>'
        '<x:row r="1"><x:c r="A1" t="inlineStr"><x:is><x:t>&lt;f&gt;</x:t></x:is></x:c></x:row>'
        '<x:row r="2"><x:c r="C2"><x:f t="shared" ref="C2:C3" si="0">A2*2</x:f><x:v>2</x:v></x:c></x:row>'
        '<x:row r="3"><x:c r="C3"><x:f t="shared" si="0"/><x:v>4</x:v></x:c></x:row>'
        '<x:row r="5"><x:c><x:v>1</x:v></x:c><x:c><x:f>SUM(A1:A4)</x:f></x:c></x:row>'
        '<x:row r="7"><x:c r="D7" t="e"><x:v>#N/A</x:v></x:c><x:c r="E7" t="e"><x:f>1/0</x:f><x:v>#DIV/0!</x:v></x:c></x:row>'
        '</x:sheetData><x:mergeCells count="2"><x:mergeCell ref="B4:B6"/><x:mergeCell ref="AA1:AB1"/></x:mergeCells>'
        '</x:worksheet>'))
    markup = reading.sheet_markup(path, "Blad")
    assert markup.formulas == [("C2", "A2*2"), ("C3", "A2*2"), ("B5", "SUM(A1:A4)"), ("E7", "1/0")]
    assert markup.errors == [("D7", "#N/A")]  # E7's error is its formula's
    assert markup.merged == ["B4:B6", "AA1:AB1"]
    assert reading.sheet_markup(path, "Annat") == reading.Markup()


def test_text_that_looks_like_a_formula_is_not_one(tmp_path):
    """``<f`` escaped inside a text cell, and a tag that only begins with f, are no formula."""
    path = tmp_path / "bok.xlsx"
    _write(path, [[*ROWS[0][:6], "<f> och <mergeCell>", *ROWS[0][7:]]])
    assert not reading.sheet_markup(path, "Blad")


def test_cell_references():
    assert reading.cell_position("C5") == (5, 2)
    assert reading.cell_position("$AB$12") == (12, 27)
    assert [reading.column_letters(i) for i in (0, 25, 26, 27, 701, 702)] == ["A", "Z", "AA", "AB", "ZZ", "AAA"]
    with pytest.raises(ValueError):
        reading.cell_position("5C")


def test_workbook_problem_tells_files_apart(tmp_path):
    good = tmp_path / "bok.xlsx"
    _write(good, ROWS[:1])
    assert reading.workbook_problem(good) is None
    cases = {
        b"": "filen är tom",
        b"Datum;Antal\n2020-01-01;3\n": "utan en textfil med avgränsade värden (CSV)",
        b"\xef\xbb\xbf<html><body>x</body></html>": "utan en HTML-fil",
        b"\x00\x01\x02\x03\x04\x05\x06\x07" * 8: "utan en fil i ett annat format",
        good.read_bytes()[:300]: "avkortat eller skadat zip-arkiv",
        reading.OLE2_MAGIC + bytes(504) + "Workbook".encode("utf-16-le"): "gamla binära Excel-formatet",
        reading.OLE2_MAGIC + bytes(504) + reading.ENCRYPTED_PACKAGE: "lösenordsskyddad",
    }
    for i, (data, expected) in enumerate(cases.items()):
        path = tmp_path / f"fil{i}.xlsx"
        path.write_bytes(data)
        assert expected in (reading.workbook_problem(path) or ""), (data[:20], reading.workbook_problem(path))
    ods = tmp_path / "kalkyl.xlsx"
    with zipfile.ZipFile(ods, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", "<office:document-content/>")
    assert "OpenDocument-kalkylark (.ods)" in reading.workbook_problem(ods)


def test_sheet_member_follows_relative_and_absolute_targets(tmp_path):
    """Excel writes the sheet's target relative to ``xl/``, openpyxl absolute."""
    path = tmp_path / "bok.xlsx"
    _write(path, ROWS[:1])
    with zipfile.ZipFile(path) as z:
        assert reading.sheet_member(z, "Blad") == "xl/worksheets/sheet1.xml"
        rels = z.read("xl/_rels/workbook.xml.rels").decode()
    assert 'Target="/xl/worksheets/sheet1.xml"' in rels
    with zipfile.ZipFile(tmp_path / "rel.xlsx", "w") as z:
        z.writestr("xl/workbook.xml", f'<workbook xmlns="{_NS}" xmlns:r="http://schemas.openxmlformats.org/'
                   'officeDocument/2006/relationships"><sheets><sheet name="Blad" sheetId="1" r:id="rId7"/></sheets></workbook>')
        z.writestr("xl/_rels/workbook.xml.rels", '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
                   'relationships"><Relationship Id="rId7" Type="worksheet" Target="worksheets/../worksheets/blad.xml"/>'
                   '</Relationships>')
    with zipfile.ZipFile(tmp_path / "rel.xlsx") as z:
        assert reading.sheet_member(z, "Blad") == "xl/worksheets/blad.xml"
        assert reading.sheet_member(z, "Annat") is None
