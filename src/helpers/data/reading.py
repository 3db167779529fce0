"""Reading the Excel extracts: one workbook opened once, each sheet as a frame of raw cells.

Workbooks are read with calamine (``python-calamine``, pandas' ``engine="calamine"``), a reader
written in Rust, about ten times faster than openpyxl (a 66 000-row workbook: 0,8 s against 10,4 s);
at ten times the demo volume, reading with openpyxl was most of ingest's time. Peak memory hardly
changes (it is the frames of every year, held for the checks between files). The cells come back as
Python objects (``dtype=object``), as openpyxl gave them to :mod:`helpers.data.ingest`, which
checks and converts them: numbers (whole numbers as ``int``), text (also numbers stored as
text, unchanged), booleans, dates and date-times (``pd.Timestamp``, a ``datetime``), and blank
cells as NaN. Formula cells give their last computed value, as they did with openpyxl
(``data_only``), or nothing if the file has none saved; merged cells their value in the top-left
cell and blanks elsewhere. Ingest therefore refuses both: :func:`sheet_markup` finds them in the
sheet's XML inside the workbook's zip archive (a search of the bytes for ``<f`` and ``<mergeCell``
first, the XML parsed only where one is found), without opening the workbook a second time.

The frame is pandas' (``pd.read_excel(..., dtype=object)``) cell for cell, but built a column at a
time from calamine's rows (:func:`read_sheet`): pandas converts each cell in Python and then runs
its text parser over them. At ten times the demo volume (4,5 M cells) that took 2,1 s of CPU time
on top of calamine's 3,0 s; column-wise it takes 0,65 s (with :mod:`gc` paused, as ingest reads).

What is not an ``.xlsx`` workbook (a password-protected or an old ``.xls`` workbook, a CSV or HTML
file with the wrong name, a truncated zip archive) is told apart by :func:`workbook_problem`, and
a reader's failure put in words by :func:`unreadable`, so that ingest can say what is wrong and
how to fix it. Nothing here needs openpyxl.
"""

from __future__ import annotations

import datetime as dt
import posixpath
import re
import xml.etree.ElementTree as ET
import zipfile
import zlib
from dataclasses import dataclass, field
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


# --------------------------------------------------------------------------------------------
# What is not a readable .xlsx workbook
# --------------------------------------------------------------------------------------------

#: The first bytes of an OLE2 (Compound File Binary) container: an old binary ``.xls`` workbook,
#: or an ``.xlsx`` workbook encrypted with a password (the zip archive inside an
#: ``EncryptedPackage`` stream).
OLE2_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
#: The name of the stream that holds an encrypted workbook, as it stands in the container's
#: directory (UTF-16, little-endian).
ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")

_RESAVE = "öppna den i Excel och spara den som Excel-arbetsbok (.xlsx)"


def workbook_problem(path: Path) -> str | None:
    """Why the file at ``path`` is not an ``.xlsx`` workbook, in Swedish words that say how to fix
    it; ``None`` if it is a zip archive that holds a workbook (``xl/workbook.xml``). Reads the
    file's first bytes (all of it only for an OLE2 container, to look for the encrypted package)."""
    with open(path, "rb") as f:
        head = f.read(8)
    if not head:
        return "filen är tom (0 byte); kopiera eller exportera den igen"
    if head == OLE2_MAGIC:
        if ENCRYPTED_PACKAGE in Path(path).read_bytes():
            return ("arbetsboken är lösenordsskyddad (krypterad) och kan inte läsas; öppna den i Excel med "
                    "lösenordet och spara den utan lösenord (Arkiv → Info → Skydda arbetsbok → Kryptera med "
                    "lösenord: töm fältet), som Excel-arbetsbok (.xlsx)")
        return f"filen är en arbetsbok i det gamla binära Excel-formatet (.xls, Excel 97–2003); {_RESAVE}"
    if not zipfile.is_zipfile(path):
        if head.startswith(b"PK"):
            return ("filen är ett avkortat eller skadat zip-arkiv (t.ex. en avbruten kopiering eller "
                    "nedladdning) och kan inte läsas; kopiera eller exportera den igen")
        return f"filen är inte en Excel-arbetsbok (.xlsx) utan {_what_file(path)}; {_RESAVE}"
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            if "xl/workbook.xml" in names:
                return None
            if "mimetype" in names and b"opendocument.spreadsheet" in z.read("mimetype"):
                return f"filen är ett OpenDocument-kalkylark (.ods), inte en Excel-arbetsbok; {_RESAVE}"
    except (zipfile.BadZipFile, zlib.error, OSError) as exc:
        return f"zip-arkivet är skadat och kan inte läsas ({exc}); kopiera eller exportera filen igen"
    return ("filen kan inte läsas som Excel-arbetsbok: den är ett zip-arkiv men innehåller ingen arbetsbok "
            f"(xl/workbook.xml saknas); {_RESAVE}")


def _what_file(path: Path) -> str:
    """What a file that is neither a zip archive nor OLE2 looks like, in words (for
    :func:`workbook_problem`): an HTML or XML file, a text file (CSV), or something else."""
    with open(path, "rb") as f:
        start = f.read(4096)
    text = start.removeprefix(b"\xef\xbb\xbf").lstrip().lower()
    if text.startswith((b"<!doctype html", b"<html")) or b"<html" in text[:1024]:
        return "en HTML-fil (en webbsida, t.ex. en export som sparats med filändelsen .xlsx)"
    if text.startswith(b"<"):
        return "en XML-fil"
    try:
        decoded = start.decode("utf-8")
    except UnicodeDecodeError:
        decoded = start.decode("cp1252", errors="replace")
    if "\x00" in decoded or sum(not (ch.isprintable() or ch.isspace()) for ch in decoded) > len(decoded) // 20:
        return "en fil i ett annat format"
    first = decoded.splitlines()[0] if decoded.strip() else ""
    if any(sep in first for sep in (";", ",", "\t")):
        return "en textfil med avgränsade värden (CSV)"
    return "en textfil"


def unreadable(exc: BaseException) -> str:
    """A reader's failure on a workbook or sheet in Swedish words, with the reader's own message
    (in English) in brackets for whoever looks further."""
    detail = str(exc).strip() or type(exc).__name__
    name = type(exc).__name__
    if isinstance(exc, zipfile.BadZipFile | zlib.error) or any(w in detail.lower() for w in ("deflate", "zip", "crc")):
        what = "zip-arkivet är skadat"
    elif name == "XmlError" or isinstance(exc, ET.ParseError):
        what = "innehållet (XML) är trasigt"
    else:
        what = "läsaren gav ett fel"
    return f"{what} ({name}: {detail[:200]})"


# --------------------------------------------------------------------------------------------
# Formulas and merged cells in a sheet's XML
# --------------------------------------------------------------------------------------------

#: The root element of a sheet's XML, with the namespace prefix its elements carry (if any).
_ROOT = re.compile(rb"<(?:([A-Za-z_][\w.-]*):)?worksheet[\s>]")
_CHUNK = 1 << 20
_CELL_REF = re.compile(r"\$?([A-Z]{1,3})\$?(\d+)")


@dataclass(frozen=True)
class Markup:
    """How cells of a sheet were written beyond plain values: ``formulas`` as (cell, formula text
    without ``=``), e.g. ``("C5", "A5*2")``, ``merged`` ranges, e.g. ``"B4:B6"``, and ``errors``,
    cells that hold an error value, as (cell, value), e.g. ``("D7", "#N/A")`` (read as blank)."""

    formulas: list[tuple[str, str]] = field(default_factory=list)
    merged: list[str] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.formulas or self.merged or self.errors)


def cell_position(ref: str) -> tuple[int, int]:
    """``(row, column)`` of a cell reference such as ``C5``: the Excel row (1 = the first) and the
    column index (0 = A)."""
    m = _CELL_REF.fullmatch(ref.upper())
    if m is None:
        raise ValueError(f"not a cell reference: {ref!r}")
    col = 0
    for ch in m.group(1):
        col = col * 26 + ord(ch) - ord("A") + 1
    return int(m.group(2)), col - 1


def column_letters(index: int) -> str:
    """The letters of column ``index`` (0 = A, 26 = AA)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def sheet_member(z: zipfile.ZipFile, name: str) -> str | None:
    """The zip member that holds sheet ``name``'s XML (from ``xl/workbook.xml`` and its
    relationships), ``None`` if the workbook has no such sheet."""
    workbook = ET.fromstring(z.read("xl/workbook.xml"))
    rels = ET.fromstring(z.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): r.get("Target", "") for r in rels if _local(r.tag) == "Relationship"}
    for sheet in workbook.iter():
        if _local(sheet.tag) == "sheet" and sheet.get("name") == name:
            rid = next((v for k, v in sheet.attrib.items() if _local(k) == "id"), None)
            target = targets.get(rid)
            if not target:
                return None
            return target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
    return None


def _has_markup(z: zipfile.ZipFile, member: str) -> bool:
    """Whether the member's bytes may hold a formula, a merged range or an error value, read in
    chunks and never parsed. Searched for: the end tag ``</f>`` (every formula has one in the cell
    that holds its text: a plain formula, and the first cell of a shared or array formula, whose
    other cells have an empty ``<f …/>``), ``dataTable`` (a what-if table's formula, empty) and
    ``<mergeCell``, with the prefix of the root element if the XML uses one (``<x:worksheet>`` →
    ``</x:f>``); and, in a chunk with a ``#`` (every error value has one, ``#N/A``), a cell of type
    error (``t="e"``). Long needles, or a single byte first, so that the search costs about as
    much as the decompression."""
    tail = b""
    needles: tuple[bytes, ...] = ()
    with z.open(member) as f:
        while chunk := f.read(_CHUNK):
            text = tail + chunk
            if not needles:
                root = _ROOT.search(text)
                prefix = root.group(1) + b":" if root and root.group(1) else b""
                needles = (b"</" + prefix + b"f>", b"<" + prefix + b"mergeCell", b"dataTable")
            if any(n in text for n in needles):
                return True
            if b"#" in text and (b't="e"' in text or b"t='e'" in text):
                return True
            tail = chunk[-32:]
    return False


def _parse_markup(z: zipfile.ZipFile, member: str) -> Markup:
    """Every formula cell, merged range and error cell of the sheet XML in ``member`` (cells
    without an ``r`` attribute get their reference from their place in the row)."""
    found = Markup()
    shared: dict[str | None, str] = {}  # the text of each shared formula, from its first cell
    row, col = 0, -1
    with z.open(member) as f:
        for event, el in ET.iterparse(f, events=("start", "end")):
            tag = _local(el.tag)
            if event == "start":
                if tag == "row":
                    row = int(el.get("r") or row + 1)
                    col = -1
                continue
            if tag == "c":
                ref = el.get("r")
                if ref:
                    col = cell_position(ref)[1]
                else:
                    col += 1
                    ref = f"{column_letters(col)}{row}"
                formula = False
                for child in el:
                    if _local(child.tag) == "f":
                        formula = True
                        text = (child.text or "").strip()
                        if child.get("t") == "shared":
                            text = shared.setdefault(child.get("si"), text) or text
                        found.formulas.append((ref, text))
                if el.get("t") == "e" and not formula:  # a formula's error is its formula's problem
                    value = next((child.text or "" for child in el if _local(child.tag) == "v"), "")
                    found.errors.append((ref, value.strip()))
                el.clear()
            elif tag == "row":
                el.clear()
            elif tag == "mergeCell" and el.get("ref"):
                found.merged.append(el.get("ref"))
    return found


def sheet_markup(path: Path, name: str) -> Markup:
    """The formula cells, merged ranges and error cells of sheet ``name`` of the ``.xlsx`` workbook at ``path``
    (empty, and false, for a sheet of plain values or one the workbook does not have). The sheet's
    XML is searched as bytes and parsed only if it may hold one of them. Raises
    ``zipfile.BadZipFile``, ``zlib.error``, ``ET.ParseError`` or ``KeyError`` for a broken file."""
    with zipfile.ZipFile(path) as z:
        member = sheet_member(z, name)
        if member is None or not _has_markup(z, member):
            return Markup()
        return _parse_markup(z, member)
