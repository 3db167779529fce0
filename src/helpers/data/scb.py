"""Population data from SCB's PxWebAPI 2.0 (json-stat2) → tidy DataFrames.

A small client, modelled on :mod:`helpers.data.kolada`: standard-library HTTP with a timeout,
Swedish error messages naming the URL and the HTTP status, and no network in the tests (they
replace :data:`urlopen`). Used by ``genomlysning struktur update``
(:mod:`helpers.data.struktur_offentlig`), which writes the population sheet of ``struktur_offentlig.xlsx``.

* Data: ``GET {API}/tables/{table_id}/data?lang=sv&outputFormat=json-stat2`` with one
  ``valueCodes[<Variable>]=<code>,<code>,…`` query parameter per selected variable (``*`` selects
  all values). Variables left out get the table's default selection, so the selections used here
  name every variable of the table.
* Response (JSON-stat 2.0, ``class: dataset``): ``id`` (the dimension ids in order), ``size`` (the
  number of categories per dimension), ``dimension[<id>]`` with ``label`` and ``category`` holding
  ``index`` (code → position, or a list of codes in order) and ``label`` (code → text), and
  ``value``: a flat list in row-major order (the last dimension varies fastest), or a dict
  position → value when sparse. A missing value is ``null``; :func:`parse_jsonstat2` drops such
  cells and counts them.

What is asked for is data a user can correct without code: ``helpers/data/scb_tabeller.csv`` names,
per table, each variable, its codes (``{region}`` and ``{years}`` are filled in from the arguments),
and the column name used in the tidy frame.

The base address: SCB's PxWebAPI 2.0 was first published as a beta at
``https://api.scb.se/ov0104/v2beta/api/v2`` (the address in issue 12) and is now served at
``https://statistikdatabasen.scb.se/api/v2``, the address public v2 clients use; that is the
default (:data:`API`), and ``api=`` gives another one (:data:`API_BETA` for the beta). Not checked
against the live API from this environment (no network).
"""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import resources

import numpy as np
import pandas as pd

from helpers.data import http

API = "https://statistikdatabasen.scb.se/api/v2"
API_BETA = "https://api.scb.se/ov0104/v2beta/api/v2"
TIMEOUT = 30  # seconds per request
LANG = "sv"
OUTPUT_FORMAT = "json-stat2"
DEFAULT_REGION = "0580"  # Linköping
DEFAULT_TABLE = "TAB638"
DEFAULT_YEARS = range(2014, 2024)

#: ``urlopen`` as used by :func:`get_json` (tests replace it; nothing else touches the network).
urlopen = urllib.request.urlopen


class ScbError(Exception):
    """SCB could not be reached or answered with an error; the message is Swedish."""


# --------------------------------------------------------------------------------------------
# Configuration (data a user can correct)
# --------------------------------------------------------------------------------------------


def tables() -> pd.DataFrame:
    """``scb_tabeller.csv``: ``tabell``, ``variabel``, ``koder``, ``kolumn``, ``kommentar``."""
    with resources.files("helpers.data").joinpath("scb_tabeller.csv").open(encoding="utf-8") as f:
        return pd.read_csv(f, dtype=str, keep_default_na=False)


def table_config(table: str) -> pd.DataFrame:
    """The rows of ``scb_tabeller.csv`` for ``table`` (a clear error if there are none)."""
    df = tables()
    rows = df[df["tabell"] == table]
    if rows.empty:
        known = ", ".join(sorted(set(df["tabell"])))
        raise ScbError(f"Tabellen {table} finns inte i scb_tabeller.csv (kända tabeller: {known})")
    return rows.reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------------------------


def data_url(table_id: str, selection: dict[str, Iterable[object]], *, api: str = API) -> str:
    """The data address for ``table_id`` with one ``valueCodes[<Variable>]`` parameter per entry
    of ``selection`` (variable → codes, in the order given)."""
    params: list[tuple[str, str]] = [("lang", LANG), ("outputFormat", OUTPUT_FORMAT)]
    for variable, codes in selection.items():
        values = [str(c) for c in codes]
        if not values:
            raise ScbError(f"Inga koder valda för variabeln {variable} i tabell {table_id}")
        params.append((f"valueCodes[{variable}]", ",".join(values)))
    query = urllib.parse.urlencode(params, safe=",*")
    return f"{api}/tables/{urllib.parse.quote(table_id)}/data?{query}"


#: What an HTTP status from SCB usually means.
HTTP_HINTS = {
    **{c: " (för många celler i urvalet; dela upp anropet)" for c in (403, 413)},
    **{c: " (okänd tabell, variabel eller kod, eller ett år som SCB inte har publicerat än; kontrollera "
          "scb_tabeller.csv och åren)" for c in (400, 404)},
    429: " (för många anrop; vänta en stund)",
}


def get_json(url: str, *, timeout: float = TIMEOUT) -> dict:
    """GET ``url`` and parse the JSON body; :class:`ScbError` (Swedish, naming the URL and the
    HTTP status) on any failure."""
    return http.get_json(url, source="SCB", error=ScbError, opener=urlopen, timeout=timeout, hints=HTTP_HINTS)


# --------------------------------------------------------------------------------------------
# json-stat2
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Parsed:
    """A tidy frame, the number of cells dropped because their value was null, and the address
    the data came from (empty if parsed from a document)."""

    data: pd.DataFrame
    missing: int
    url: str = ""


def _category_codes(dim_id: str, dim: dict, size: int) -> list[str]:
    index = dim.get("category", {}).get("index")
    labels = dim.get("category", {}).get("label", {})
    if index is None:  # a single category may be given by its label only
        codes = list(labels)
    elif isinstance(index, list):
        codes = [str(c) for c in index]
    else:
        codes = [c for c, _ in sorted(index.items(), key=lambda kv: kv[1])]
    if len(codes) != size:
        raise ScbError(f"json-stat2: dimensionen {dim_id} har {len(codes)} kategorier men size anger {size}")
    return codes


def parse_jsonstat2(doc: dict, columns: dict[str, str] | None = None) -> Parsed:
    """A json-stat2 dataset as a tidy frame: for each dimension a code column (named by
    ``columns`` or the dimension id) and a ``<column>_text`` label column, then ``value``.
    Null values are dropped and counted (:attr:`Parsed.missing`)."""
    if doc.get("class", "dataset") != "dataset" or "id" not in doc or "size" not in doc:
        raise ScbError("json-stat2: svaret är inte ett dataset (saknar class/id/size)")
    ids: list[str] = list(doc["id"])
    sizes: list[int] = [int(s) for s in doc["size"]]
    if len(ids) != len(sizes):
        raise ScbError("json-stat2: id och size har olika längd")
    columns = columns or {}
    n = int(np.prod(sizes)) if sizes else 0
    raw = doc.get("value", [])
    if isinstance(raw, dict):
        values: list[object] = [None] * n
        for pos, v in raw.items():
            values[int(pos)] = v
    else:
        values = list(raw)
    if len(values) != n:
        raise ScbError(f"json-stat2: {len(values)} värden men dimensionerna ger {n} celler")
    frame: dict[str, object] = {}
    # Row-major order: the last dimension varies fastest.
    repeat_inner = n
    for dim_id, size in zip(ids, sizes, strict=True):
        dim = doc["dimension"][dim_id]
        codes = _category_codes(dim_id, dim, size)
        labels = dim.get("category", {}).get("label", {})
        repeat_inner //= size
        outer = n // (size * repeat_inner) if size else 0
        col = columns.get(dim_id, dim_id)
        code_col = np.tile(np.repeat(np.array(codes, dtype=object), repeat_inner), outer)
        frame[col] = code_col
        frame[f"{col}_text"] = [labels.get(c, c) for c in code_col]
    frame["value"] = pd.array(values, dtype="Float64")
    df = pd.DataFrame(frame)
    missing = int(df["value"].isna().sum())
    df = df[df["value"].notna()].reset_index(drop=True)
    df["value"] = df["value"].astype(float)
    return Parsed(df, missing)


# --------------------------------------------------------------------------------------------
# Queries
# --------------------------------------------------------------------------------------------


Getter = Callable[[str], dict]


def fetch_table(table_id: str, selection: dict[str, Iterable[object]], *, columns: dict[str, str] | None = None,
                api: str = API, get: Getter | None = None) -> Parsed:
    """Fetch ``table_id`` with ``selection`` (through ``get``, default :func:`get_json`) and parse
    it (:func:`parse_jsonstat2`)."""
    url = data_url(table_id, selection, api=api)
    parsed = parse_jsonstat2((get or get_json)(url), columns)
    return Parsed(parsed.data, parsed.missing, url)


def selection_for(table: str, *, region: str, years: Iterable[int]) -> tuple[dict[str, list[str]], dict[str, str]]:
    """The selection (variable → codes) and the column names of ``table`` from
    ``scb_tabeller.csv``, with ``{region}`` and ``{years}`` filled in."""
    years = [str(y) for y in years]
    if not years:
        raise ScbError("Inga år valda")
    selection: dict[str, list[str]] = {}
    columns: dict[str, str] = {}
    for r in table_config(table).to_dict("records"):
        codes: list[str] = []
        for c in (c.strip() for c in r["koder"].split(",")):
            if c == "{region}":
                codes.append(region)
            elif c == "{years}":
                codes.extend(years)
            elif c:
                codes.append(c)
        selection[r["variabel"]] = codes
        columns[r["variabel"]] = r["kolumn"] or r["variabel"]
    return selection, columns


def population_by_age(region: str = DEFAULT_REGION, years: Iterable[int] = DEFAULT_YEARS, table: str = DEFAULT_TABLE,
                      *, api: str = API, get: Getter | None = None) -> Parsed:
    """Population by one-year age (the ages of ``scb_tabeller.csv``, 0–19) for ``region``, one row
    per region, age and year (``region``, ``alder``, ``ar`` with their ``_text`` labels, and
    ``value``), summed over the other variables (sex, marital status). ``get`` replaces
    :func:`get_json` (url → parsed JSON)."""
    selection, columns = selection_for(table, region=region, years=years)
    parsed = fetch_table(table, selection, columns=columns, api=api, get=get)
    keep = [c for c in ("region", "alder", "ar") if c in parsed.data.columns]
    if len(keep) != 3:
        raise ScbError(f"Tabellen {table} saknar kolumnerna region, alder och ar i scb_tabeller.csv (kolumnen kolumn)")
    by = [x for c in keep for x in (c, f"{c}_text")]
    out = parsed.data.groupby(by, sort=False, as_index=False)["value"].sum()
    return Parsed(out, parsed.missing, parsed.url)
