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


# --- The data file of a figure or table ------------------------------------------------------------
#
# Written for Swedish Excel and read back by the build's audit: Swedish column headers, values
# rounded as displayed with a decimal comma, hidden values empty with the column ``Förklaring``
# saying why, and the column ``Data`` saying what the data are (synthetic or real) on every row.
# :func:`helpers.publishing.files._csv_bytes` writes it as UTF-8 with BOM and ``;`` as separator.

#: Published column headers of the data files, by internal column name. A column not listed
#: keeps its name if it starts with a capital letter (a header the chapter already wrote in
#: Swedish); otherwise ``_`` becomes a space and the first letter a capital.
CSV_HEADERS = {
    "ar": "År", "år": "År", "year": "År", "month": "Månad", "manad": "Månad", "månad": "Månad",
    "antal": "Antal", "andel": "Andel (%)", "orsak": "Orsak", "kategori": "Kategori (kod)",
    "aktualiseringstyp": "Aktualiseringstyp", "aldersgrupp": "Åldersgrupp", "alder": "Ålder",
    "kon": "Kön", "beslut": "Beslut (kod)", "etikett": "Benämning", "stadsdel": "Stadsdel",
    "utsatt_omrade": "Utsatt område", "barn_0_17": "Barn 0–17 år", "per_1000": "Antal per 1 000",
    "modell": "Modell", "befolkning": "Befolkning", "kvot": "Kvot", EXPLAIN_COL: "Förklaring",
}
#: Suffixes of interval columns (``andel lägre`` → ``Andel, KI lägre (%)``).
_INTERVAL_SUFFIXES = {" lägre": "KI lägre", " övre": "KI övre"}
#: Explanation column of the data files, and the column saying what the data are.
CSV_EXPLAIN_COL = "Förklaring"
CSV_DATA_COL = "Data"
#: The value of :data:`CSV_DATA_COL`, by whether the data are synthetic.
CSV_DATA_NOTE = {True: "syntetiska demodata, inga verkliga barn",
                 False: "ärendedata ur Treserva, pseudonymiserade"}
#: Why a share is empty although nothing is hidden.
NO_SHARE = "finns inte (nämnaren är 0)"


def csv_header(name: Any) -> str:
    """The published header of column ``name`` in a data file (see :data:`CSV_HEADERS`)."""
    text = str(name).strip()
    key = text.lower()
    if key in CSV_HEADERS:
        return CSV_HEADERS[key]
    for suffix, ki in _INTERVAL_SUFFIXES.items():
        if key.endswith(suffix) and key[: -len(suffix)] in CSV_HEADERS:
            base = CSV_HEADERS[key[: -len(suffix)]]
            return f"{base.removesuffix(' (%)')}, {ki}{' (%)' if base.endswith(' (%)') else ''}"
    if text[:1].isupper():
        return text
    text = text.replace("_", " ")
    return text[:1].upper() + text[1:]


def csv_number(x: Any, decimals: int) -> str:
    """A number for Swedish Excel: rounded half away from zero as displayed, decimal comma, no
    thousands separator, hyphen-minus; ``""`` when missing."""
    if fmt.is_missing(x):
        return ""
    return f"{fmt.round_half_up(x, decimals):f}".replace(".", ",")


def _csv_decimals(col: str, s: pd.Series, per_col: Mapping[str, int], default: int) -> int:
    if col in per_col:
        return per_col[col]
    if pd.api.types.is_integer_dtype(s) or _is_year_column(col):
        return 0
    if "kvot" in col.lower():
        return 2
    v = pd.to_numeric(s, errors="coerce").dropna()
    return 0 if len(v) and v.eq(v.round()).all() else default


def _published_csv(
    df: pd.DataFrame,
    *,
    synthetic: bool = True,
    decimals: int | Mapping[str, int] | None = None,
) -> pd.DataFrame:
    """The data file of a figure or table, as text cells under Swedish headers.

    Counts as integers, shares and other numbers rounded as displayed (``decimals`` as in
    :func:`markdown_table`: shares and non-integer columns 1 decimal by default, a ratio ``Kvot``
    2), hidden values empty; ``Förklaring`` says why a value is empty, ``Data`` whether the data
    are synthetic. The ``|cell``/``|status`` columns are left out.
    """
    df = df.reset_index(drop=True)
    per_col = dict(decimals) if isinstance(decimals, Mapping) else {}
    default = decimals if isinstance(decimals, int) and not isinstance(decimals, bool) else 1
    counts, shares = _count_columns(df), _share_columns(df)
    columns = [c for c in df.columns if c not in _meta_columns(df)]
    headers = {c: csv_header(c) for c in columns}
    seen = [h for h in headers.values()]
    if len(set(seen)) != len(seen) or {CSV_EXPLAIN_COL, CSV_DATA_COL} & set(seen):
        raise ValueError(f"datafilens kolumnrubriker krockar: {seen}")
    out = pd.DataFrame(index=df.index)
    for c in columns:
        s, st = df[c], _status(df, c)
        if c in counts or c in shares:
            d = per_col.get(c, 0 if c in counts else default)
            values = ["" if m else csv_number(v, d) for v, m in zip(s, st, strict=True)]
        elif pd.api.types.is_bool_dtype(s):
            values = ["ja" if v else "nej" for v in s]
        elif pd.api.types.is_numeric_dtype(s):
            d = _csv_decimals(c, s, per_col, default)
            values = [csv_number(v, d) for v in s]
        elif pd.api.types.is_datetime64_any_dtype(s):
            values = ["" if fmt.is_missing(v) else v.strftime("%Y-%m-%d") for v in s]
        else:
            values = ["" if fmt.is_missing(v) else str(v) for v in s]
        out[headers[c]] = values
    notes = []
    for i in range(len(df)):
        why: dict[str, list[str]] = {}  # explanation → the headers it applies to, in order
        for c in counts + shares:
            mark = _status(df, c).iloc[i]
            if mark:
                why.setdefault(f"{mark} = {EXPLAIN[mark]}", []).append(headers[c])
            elif c in shares and fmt.is_missing(df.at[i, c]):
                why.setdefault(NO_SHARE, []).append(headers[c])
        notes.append("; ".join(f"{' / '.join(cols)}: {text}" for text, cols in why.items()))
    out[CSV_EXPLAIN_COL] = notes
    out[CSV_DATA_COL] = CSV_DATA_NOTE[bool(synthetic)]
    return out


def _is_year_column(name: Any) -> bool:
    return str(name).strip().lower() in _YEAR_COLUMNS


def _escape_md(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


#: Cap on a column's share of the dashes (a long label wraps rather than squeezing the numbers).
MAX_DASHES = 40


def markdown_table(
    df: pd.DataFrame,
    decimals: int | Mapping[str, int] | None = None,
    numbers: Sequence[str] = (),
) -> str:
    """Format a protected view as a Markdown pipe table with Swedish numbers.

    Count columns (those with a ``|cell`` companion) via :func:`fmt.num`, a hidden count as
    ``<5`` or ``x`` from its ``|status``; share columns (with a ``|status`` companion) via
    :func:`fmt.pct`, hidden as ``x``; other numbers via :func:`fmt.num`. ``decimals`` is the number
    of decimals for shares and other non-integer columns (default 1), or a mapping column →
    decimals. Year columns (``År``, ``ar``, ``year``) are written as is. Numbers are right-aligned.
    ``numbers`` names protected columns (with a ``|status``) that are not percentages, e.g. a rate
    per 1 000 or a model estimate hidden with its count: formatted as numbers.
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
            show = fmt.num if col in numbers else fmt.pct
            return [mark(m) if m else show(v, d) for v, m in zip(s, st, strict=True)], True
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
        # Pandoc sizes the columns of a table that must wrap by the dashes under the header: as
        # many as the longest cell (or header word, since headers wrap), so that labels get room
        # and numbers do not (the PDF would otherwise break "Omsorgssvikt" in a column of equal width).
        width = min(MAX_DASHES, max(3, *(len(w) for w in str(c).split()), *(len(v) for v in values)))
        align.append("-" * (width - 1) + ":" if right else ":" + "-" * (width - 1))
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


