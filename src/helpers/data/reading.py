"""Reading the Excel extracts: one workbook opened once, each sheet as a frame of raw cells.

Workbooks are read with calamine (``python-calamine``, pandas' ``engine="calamine"``), a reader
written in Rust, about ten times faster than openpyxl (a 66 000-row workbook: 0,8 s against 10,4 s);
at ten times the demo volume, reading with openpyxl was most of ingest's time. Peak memory hardly
changes (it is the frames of every year, held for the checks between files). The cells come back as
Python objects (``dtype=object``), as openpyxl gave them to :mod:`helpers.data.ingest`, which
checks and converts them: numbers (whole numbers as ``int``), text (also numbers stored as
text, unchanged), booleans, dates and date-times (``pd.Timestamp``, a ``datetime``), and blank
cells as NaN. Formula cells give their last computed value, as they did with openpyxl
(``data_only``); merged cells their value in the top-left cell and blanks elsewhere.

The frame is pandas' (``pd.read_excel(..., dtype=object)``) cell for cell, but built a column at a
time from calamine's rows (:func:`read_sheet`): pandas converts each cell in Python and then runs
its text parser over them. At ten times the demo volume (4,5 M cells) that took 2,1 s of CPU time
on top of calamine's 3,0 s; column-wise it takes 0,65 s (with :mod:`gc` paused, as ingest reads).

Nothing here needs openpyxl. A check that must see how a cell was written (a formula rather
than a value, a merged range) opens the workbook with openpyxl itself.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
from pandas._libs.parsers import STR_NA_VALUES

#: The pandas engine for reading the extracts.
ENGINE = "calamine"


def open_book(path: Path) -> pd.ExcelFile:
    """The workbook at ``path``, opened once for all its sheets (close it, or use ``with``).
    Raises whatever the reader raises for a broken file."""
    return pd.ExcelFile(path, engine=ENGINE)


def read_sheet(book: pd.ExcelFile | Path, name: str) -> pd.DataFrame:
    """Sheet ``name`` as raw cells: the first row is the header, every cell an object. Raises
    ``ValueError`` ("Worksheet named … not found") if the workbook has no such sheet.

    The frame is the one ``pd.read_excel(book, sheet_name=name, dtype=object)`` gives, cell for
    cell, built a column at a time from calamine's rows (:func:`_frame`) rather than by pandas'
    cell-by-cell conversion and text parser (at ten times the demo volume, most of reading's time
    after calamine's own). A sheet that is not a plain table goes through ``pd.read_excel``."""
    if not isinstance(book, pd.ExcelFile):
        with open_book(book) as opened:
            return read_sheet(opened, name)
    if ENGINE == "calamine":
        rows = book._reader.get_sheet_by_name(name).to_python(skip_empty_area=False)
        frame = _frame(rows)
        if frame is not None:
            return frame
    return pd.read_excel(book, sheet_name=name, dtype=object)


#: Text that ``pd.read_excel`` reads as a blank cell (NaN): pandas' default ``na_values``.
_NA_TEXT = frozenset(STR_NA_VALUES)
#: The types of calamine's cells.
_CELL_TYPES = {str, float, int, bool, dt.date, dt.datetime, dt.time, dt.timedelta}


def _frame(rows: list[list]) -> pd.DataFrame | None:
    """calamine's rows (the header first) as ``pd.read_excel(..., dtype=object)`` makes them, or
    ``None`` for a sheet that is not a plain table (no data rows, a header cell that is not
    distinct text, a single column, a cell of another type, or a column where pandas would make
    ``True`` and ``1`` one value): ``pd.read_excel`` reads those."""
    if len(rows) < 2 or len(rows[0]) < 2:
        return None
    header = rows[0]
    if not all(type(h) is str and h not in _NA_TEXT for h in header) or len(set(header)) != len(header):
        return None
    columns = {}
    for title, cells in zip(header, zip(*rows[1:], strict=True), strict=True):
        values = _cells(cells)
        if values is None:
            return None
        columns[title] = values
    return pd.DataFrame(columns, dtype=object)


def _cells(cells: tuple) -> np.ndarray | None:
    """One column's cells as pandas reads them: whole floats as ``int``, dates as ``datetime``
    (pandas' reader with calamine), and text of ``na_values`` (an empty cell is ``""``) as NaN.
    ``None`` for a column with booleans and numbers (pandas would turn one into the other)."""
    kinds = list(map(type, cells))
    types = set(kinds)
    if not types <= _CELL_TYPES or (bool in types and types & {int, float}):
        return None
    values = np.empty(len(cells), dtype=object)
    values[:] = cells
    if str in types:
        for text in _NA_TEXT.intersection(cells):  # usually "" alone (blank cells), or nothing
            values[values == text] = np.nan
    if float in types:
        where = np.flatnonzero([k is float for k in kinds]) if len(types) > 1 else np.arange(len(cells))
        numbers = values[where].astype(float)
        whole = np.isfinite(numbers) & (np.trunc(numbers) == numbers)
        if (np.abs(numbers[whole]) >= 2**62).any():  # beyond int64: int() of each, by pandas
            return None
        values[where[whole]] = numbers[whole].astype(np.int64).tolist()
    if dt.date in types:  # a date cell: a datetime at midnight (a datetime cell is a date too, but stays)
        where = np.flatnonzero([k is dt.date for k in kinds])
        days = {d: dt.datetime(d.year, d.month, d.day) for d in set(values[where].tolist())}
        values[where] = [days[d] for d in values[where].tolist()]
    return values


_BOOL_WORDS = {"ja": True, "true": True, "1": True, "nej": False, "false": False, "0": False}


def convert_column(values: np.ndarray, kind: str) -> tuple[list, np.ndarray] | None:
    """The cells of one column converted to ``kind`` in one pass over the column, when every
    non-blank cell has the type that kind's cells usually have (dates as dates, numbers as
    numbers, text as text): ``(converted, blank)``, a list with ``None`` for blank cells and a
    boolean array that is True for them. ``None`` when some cell needs the cell-by-cell reading
    of :func:`helpers.data.ingest._check_column` (numbers stored as text, text in a date column,
    anything it reports), which gives exactly the same values for the columns converted here.

    The converted values are those of the cell-by-cell reading: ``datetime.date`` for dates,
    ``int``, ``float``, ``bool``, and stripped text (for ``pnr``, the text still to normalise)."""
    blank = pd.isna(values)  # None and NaN (blank cells), at C speed
    if not set(map(type, values[blank])) <= {float, type(None)}:
        return None  # NaT or pd.NA: not what a reader gives for a blank cell
    present = values[~blank].tolist()
    types = set(map(type, present))
    if str in types:  # text of only spaces is blank too
        if types == {str}:  # by distinct value: a column holds few texts of only spaces, if any
            spaces = np.zeros(len(present), dtype=bool)
            odd = {v for v in set(present) if not v.strip()}
            cells = np.array(present, dtype=object) if odd else None
            for text in odd:
                spaces |= cells == text
        else:
            spaces = np.fromiter((type(v) is str and not v.strip() for v in present), dtype=bool, count=len(present))
        if spaces.any():
            blank = blank.copy()
            blank[np.flatnonzero(~blank)[spaces]] = True
            present = [v for v, b in zip(present, spaces, strict=True) if not b]
            types = set(map(type, present))
    out: list = [None] * len(values)
    where = np.flatnonzero(~blank)
    if not types:
        return out, blank
    if kind == "date":
        if all(issubclass(t, dt.datetime) for t in types):
            days = {v: v.date() for v in set(present)}  # a column holds few distinct days
            conv = list(map(days.__getitem__, present))
        elif types == {dt.date}:
            conv = present
        else:
            return None
    elif kind == "int":
        if types != {int}:
            return None
        conv = present
    elif kind == "float":
        if not types <= {int, float}:
            return None
        conv = [float(v) for v in present]
    elif kind == "bool":
        if types != {str}:
            return None
        conv = [_BOOL_WORDS.get(v.strip().lower()) for v in present]
        if any(c is None for c in conv):
            return None
    elif kind in ("code", "str", "pnr"):
        if types != {str}:
            return None
        conv = list(map(str.strip, present))
    else:
        return None
    cells = np.empty(len(values), dtype=object)  # None where blank
    cells[where] = conv
    return cells.tolist(), blank
