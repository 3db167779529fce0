"""Writing Excel workbooks shaped like the extracts (shared by the demo generator and the public-data commands)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any


def add_sheet(wb: Any, name: str, headers: Sequence[str], rows: Iterable[Sequence[object]]) -> Any:
    """Append sheet ``name`` to the openpyxl workbook ``wb``: bold ``headers`` in the first row,
    then ``rows``. Returns the sheet."""
    import openpyxl

    ws = wb.create_sheet(name)
    ws.append(list(headers))
    for row in rows:
        ws.append(list(row))
    for cell in ws[1]:
        cell.font = openpyxl.styles.Font(bold=True)
    return ws
