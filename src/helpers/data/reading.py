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

Nothing here needs openpyxl. A check that must see how a cell was written (a formula rather
than a value, a merged range) opens the workbook with openpyxl itself.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

#: The pandas engine for reading the extracts.
ENGINE = "calamine"


def open_book(path: Path) -> pd.ExcelFile:
    """The workbook at ``path``, opened once for all its sheets (close it, or use ``with``).
    Raises whatever the reader raises for a broken file."""
    return pd.ExcelFile(path, engine=ENGINE)


def read_sheet(book: pd.ExcelFile | Path, name: str) -> pd.DataFrame:
    """Sheet ``name`` as raw cells: the first row is the header, every cell an object. Raises
    ``ValueError`` ("Worksheet named … not found") if the workbook has no such sheet."""
    return pd.read_excel(book, sheet_name=name, dtype=object, engine=None if isinstance(book, pd.ExcelFile) else ENGINE)


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
            conv = [v.date() for v in present]
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
        conv = [v.strip() for v in present]
    else:
        return None
    for i, c in zip(where.tolist(), conv, strict=True):
        out[i] = c
    return out, blank
