"""Protected views: the columns that carry disclosure status, and their Markdown and CSV forms.

A frame made by :meth:`helpers.publishing.publish.Publisher.view` holds, for every published
count column ``c``, the cell id of each value in ``c|cell`` and its disclosure status in
``c|status`` ("" published, "<5" a count 1–4, "x" hidden to protect another cell); a share column
``s`` has ``s|status``. Tables and figure data find their count and share columns from these
companions, so a count cannot be published around the protection step.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from helpers.analysis.disclosure import MIN_CELL
from helpers.publishing import fmt

#: How a suppressed count (1–4) is shown in a table.
SUPPRESSED = f"<{MIN_CELL}"
#: How a complementary suppressed count, or a share of a suppressed row, is shown in a table.
HIDDEN = "x"


_YEAR_COLUMNS = {"år", "ar", "year", "rapportår"}

# --- Columns of a protected view ------------------------------------------------------------------
#
# A frame made by :meth:`Publisher.view` holds, for every published count column ``c``, the cell id
# of each value in ``c|cell`` and its disclosure status in ``c|status`` ("" published, "<5" a
# count 1–4, "x" hidden to protect another cell); a share column ``s`` has ``s|status``. Figures
# and tables find their count and share columns from these companions, so a count cannot be
# published around the protection step: a numeric column without them is refused.

CELL_SUFFIX = "|cell"
STATUS_SUFFIX = "|status"
EXPLAIN_COL = "förklaring"
EXPLAIN = {
    SUPPRESSED: f"färre än {MIN_CELL}, redovisas inte",
    HIDDEN: "döljs så att andra uppgifter inte kan räknas fram",
}


def _count_columns(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns if isinstance(c, str) and f"{c}{CELL_SUFFIX}" in df.columns]


def _share_columns(df: pd.DataFrame) -> list[str]:
    counts = set(_count_columns(df))
    return [c for c in df.columns if isinstance(c, str) and f"{c}{STATUS_SUFFIX}" in df.columns
            and c not in counts]


def _meta_columns(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns if isinstance(c, str) and c.endswith((CELL_SUFFIX, STATUS_SUFFIX))]


def _status(df: pd.DataFrame, col: str) -> pd.Series:
    key = f"{col}{STATUS_SUFFIX}"
    return df[key].fillna("").astype(str) if key in df.columns else pd.Series("", index=df.index)


def _rename_view(df: pd.DataFrame, columns: Mapping[str, str]) -> pd.DataFrame:
    """Rename columns together with their ``|cell`` and ``|status`` companions."""
    full = dict(columns)
    for old, new in columns.items():
        for suffix in (CELL_SUFFIX, STATUS_SUFFIX):
            if f"{old}{suffix}" in df.columns:
                full[f"{old}{suffix}"] = f"{new}{suffix}"
    return df.rename(columns=full)


def _check_numeric_columns(df: pd.DataFrame, label: str, free: Sequence[str]) -> None:
    published = set(_count_columns(df)) | set(_share_columns(df)) | set(free) | set(_meta_columns(df))
    loose = [c for c in df.columns if c not in published and not _is_year_column(c)
             and pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])]
    if loose:
        raise ValueError(
            f"{label}: kolumnerna {loose} är tal som inte gått genom röjandekontrollen. Skapa dem med "
            "Publisher.view (antal och andelar), eller ange dem i free= om de inte är antal eller "
            "andelar av antal (till exempel befolkning eller en modellskattning)."
        )


def _published_csv(df: pd.DataFrame) -> pd.DataFrame:
    """The data file of a figure or table: values, and a column saying why a value is missing."""
    out = df[[c for c in df.columns if c not in _meta_columns(df)]].copy()
    notes = []
    for i in range(len(df)):
        parts = []
        for c in _count_columns(df) + _share_columns(df):
            mark = _status(df, c).iloc[i]
            if mark:
                parts.append(f"{c}: {mark} = {EXPLAIN[mark]}")
        notes.append("; ".join(parts))
    if any(notes):
        out[EXPLAIN_COL] = notes
    return out



def _is_year_column(name: Any) -> bool:
    return str(name).strip().lower() in _YEAR_COLUMNS


def _escape_md(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def markdown_table(
    df: pd.DataFrame,
    decimals: int | Mapping[str, int] | None = None,
) -> str:
    """Format a protected view as a Markdown pipe table with Swedish numbers.

    Count columns (those with a ``|cell`` companion) via :func:`fmt.num`, a hidden count as
    ``<5`` or ``x`` from its ``|status``; share columns (with a ``|status`` companion) via
    :func:`fmt.pct`, hidden as ``x``; other numbers via :func:`fmt.num`. ``decimals`` is the number
    of decimals for shares and other non-integer columns (default 1), or a mapping column →
    decimals. Year columns (``År``, ``ar``, ``year``) are written as is. Numbers are right-aligned.
    """
    df = df.reset_index(drop=True)
    per_col = dict(decimals) if isinstance(decimals, Mapping) else {}
    default = decimals if isinstance(decimals, int) and not isinstance(decimals, bool) else 1
    counts, shares = _count_columns(df), _share_columns(df)

    def mark(m: str) -> str:
        return "\\" + m if m == SUPPRESSED else m  # escaped: "<5" is not the start of HTML

    def cells(col: str) -> tuple[list[str], bool]:
        s = df[col]
        st = _status(df, col)
        if col in counts:
            return [mark(m) if m else fmt.num(v, per_col.get(col, 0)) for v, m in zip(s, st, strict=True)], True
        if col in shares:
            d = per_col.get(col, default)
            return [mark(m) if m else fmt.pct(v, d) for v, m in zip(s, st, strict=True)], True
        if pd.api.types.is_bool_dtype(s):
            return ["ja" if v else "nej" for v in s], False
        if pd.api.types.is_numeric_dtype(s):
            if _is_year_column(col) and col not in per_col:
                return [fmt.MISSING if fmt.is_missing(v) else str(int(v)) for v in s], True
            d = per_col.get(col, 0 if pd.api.types.is_integer_dtype(s) else default)
            return [fmt.num(v, d) for v in s], True
        if pd.api.types.is_datetime64_any_dtype(s):
            return [fmt.MISSING if fmt.is_missing(v) else v.strftime("%Y-%m-%d") for v in s], False
        return [fmt.MISSING if fmt.is_missing(v) else _escape_md(str(v)) for v in s], False

    columns = [c for c in df.columns if c not in _meta_columns(df)]
    body, align = [], []
    for c in columns:
        values, right = cells(c)
        body.append(values)
        align.append("---:" if right else ":---")
    lines = [
        "| " + " | ".join(_escape_md(str(c)) for c in columns) + " |",
        "|" + "|".join(align) + "|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in zip(*body, strict=True)]
    return "\n".join(lines)


def symbols_used(df: pd.DataFrame) -> set[str]:
    """The disclosure marks (``<5``, ``x``) that occur in a protected view."""
    used: set[str] = set()
    for c in _count_columns(df) + _share_columns(df):
        used |= set(_status(df, c)) - {""}
    return used


def suppression_note(symbols: Iterable[str]) -> str:
    """The note under a table or figure that explains the marks it uses ("" if none)."""
    used = [m for m in (SUPPRESSED, HIDDEN) if m in set(symbols)]
    if not used:
        return ""
    parts = [("\\" + m if m == SUPPRESSED else m) + f": {EXPLAIN[m]}" for m in used]
    return "*" + "; ".join(parts) + ".*"


