"""Public comparison data from Kolada (API v3) → the comparison extract ``data/raw/jamforelse.xlsx``.

Kolada (RKA) publishes key figures (KPIs) per municipality and year. This module is a small
client of its API v3 and the command ``genomlysning kolada update``, which writes the comparison
extract that ingest validates like any other (:data:`helpers.data.contract.JAMFORELSE`). Nothing at
render time needs the network: the chapters read the written, ingested extract.

* Data: ``GET https://api.kolada.se/v3/data/kpi/{ids}/municipality/{ids}/year/{years}`` (ids
  comma-separated). A response is ``{"count", "values": [...], "next_url", "previous_url"}``; the
  client follows ``next_url`` until it is absent or null. Each result holds ``kpi``,
  ``municipality``, ``period`` and ``values``, a list of ``{"gender": "T"|"K"|"M", "count",
  "status", "value", "isdeleted"}``: only the total (``T``) is kept, a missing or null value is
  dropped (and counted), and a value marked deleted (``isdeleted``) is dropped. Long id lists are
  refused by the API (HTTP 422), so requests are split into chunks.
* Groups: ``GET /v3/municipality_groups?title=…`` (search by title) and
  ``/v3/municipality_groups/{id}``; an entry is ``{"id", "title", "members": [{"id", "title"}]}``.

What is fetched is data a user can correct without code: the KPIs in
``helpers/data/codelists/kolada_nyckeltal.csv`` (Kolada id, the short name the chapter uses, label,
unit) and the groups in ``helpers/data/codelists/kolada_grupper.csv`` (Linköping, the nine R9
municipalities, and Kolada's group "Liknande kommuner IFO" for Linköping, with a fallback list used
only if that group is not found).

Group means: Kolada's own group values are unweighted means of the members. The project computes
its group means itself from the member rows (:func:`group_mean`), unweighted and by default
without Linköping, which is a member of R9.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import pandas as pd

from helpers import __version__
from helpers.data import codes, http

API = "https://api.kolada.se/v3"
TIMEOUT = 30  # seconds per request
#: The API refuses long id lists (HTTP 422): at most this many ids of each kind per request.
MAX_MUNICIPALITIES = 8
MAX_KPIS = 4
#: The total over genders, the only value kept.
GENDER_TOTAL = "T"
FOCUS = "0580"  # Linköping
GROUPS = ("Linköping", "R9", "IFO-liknande")
IFO_GROUP = "IFO-liknande"
DEFAULT_YEARS = range(2016, 2023)
CREATOR = f"genomlysning {__version__} kolada update"
_KOMMUN_ID = re.compile(r"^\d{4}$")
_GROUP_ID = re.compile(r"^G\d+$")

#: ``urlopen`` as used by :func:`get_json` (tests replace it; nothing else touches the network).
urlopen = urllib.request.urlopen


class KoladaError(Exception):
    """Kolada could not be reached or answered with an error; the message is Swedish."""


# --------------------------------------------------------------------------------------------
# Configuration (data a user can correct)
# --------------------------------------------------------------------------------------------


def kpis() -> pd.DataFrame:
    """The KPIs of the comparison extract (``kolada_nyckeltal.csv``): ``kpi_id``, ``namn`` (the
    short name the chapter uses), ``etikett``, ``enhet``, ``decimaler``, ``kommentar``."""
    return codes.load("kolada_nyckeltal")


def kpi_names() -> dict[str, str]:
    """KPI id → short name."""
    df = kpis()
    return dict(zip(df["kpi_id"], df["namn"], strict=True))


def groups_file() -> Path:
    return Path(str(resources.files("helpers.data.codelists").joinpath("kolada_grupper.csv")))


@dataclass(frozen=True)
class GroupConfig:
    """The comparison groups of ``kolada_grupper.csv``."""

    members: dict[str, list[tuple[str, str]]]  # group → [(kommun_id, kommun)] (fixed members)
    ifo_group: str  # Kolada group title (or id) of "Liknande kommuner IFO" for Linköping
    ifo_fallback: list[tuple[str, str]]  # used only if the Kolada group is not found


def group_config(path: Path | None = None) -> GroupConfig:
    """Read ``kolada_grupper.csv`` (or ``path``)."""
    df = pd.read_csv(path or groups_file(), dtype=str, keep_default_na=False)
    unknown = sorted(set(df["grupp"]) - set(GROUPS))
    if unknown:
        raise ValueError(f"{path or groups_file()}: okänd grupp {', '.join(unknown)} (tillåtna: {', '.join(GROUPS)})")
    members: dict[str, list[tuple[str, str]]] = {g: [] for g in GROUPS if g != IFO_GROUP}
    titles: list[str] = []
    fallback: list[tuple[str, str]] = []
    for r in df.to_dict("records"):
        kid, name = r["kommun_id"].strip(), r["kommun"].strip()
        if r["grupp"] == IFO_GROUP:
            if r["kolada_grupp"].strip():
                titles.append(r["kolada_grupp"].strip())
            if kid:
                fallback.append((kid, name))
            continue
        members[r["grupp"]].append((kid, name))
    for kid, _ in [m for ms in members.values() for m in ms] + fallback:
        if not _KOMMUN_ID.match(kid):
            raise ValueError(f"{path or groups_file()}: kommun-id '{kid}' ska vara fyra siffror (t.ex. 0580)")
    if len(titles) != 1:
        raise ValueError(f"{path or groups_file()}: ange Koladas grupp för {IFO_GROUP} på exakt en rad (kolumnen kolada_grupp)")
    return GroupConfig(members, titles[0], fallback)


def r9_ids() -> set[str]:
    return {kid for kid, _ in group_config().members["R9"]}


# --------------------------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------------------------


def get_json(url: str, *, timeout: float = TIMEOUT) -> dict:
    """GET ``url`` and parse the JSON body; :class:`KoladaError` (Swedish, naming the URL and the
    HTTP status) on any failure."""
    data = http.get_json(url, source="Kolada", error=KoladaError, opener=urlopen, timeout=timeout,
                         hints={c: " (för många id:n i adressen; minska antalet per anrop)" for c in (414, 422)})
    if not isinstance(data, dict) or not isinstance(data.get("values", []), list):
        raise KoladaError(f"Svaret från {url} har inte Koladas form (ett objekt med listan 'values')")
    return data


Getter = Callable[[str], dict]


def pages(url: str, get: Getter | None = None) -> Iterator[dict]:
    """Every page of a query: follows ``next_url`` (``next_page`` in API v2) until it is absent,
    null or empty."""
    get = get or get_json
    seen: set[str] = set()
    next_url: str | None = url
    while next_url:
        if next_url in seen:
            raise KoladaError(f"Kolada hänvisar till samma sida igen ({next_url}); hämtningen avbröts")
        seen.add(next_url)
        page = get(next_url)
        yield page
        next_url = page.get("next_url") or page.get("next_page") or None


def data_url(kpi_ids: Iterable[str], municipality_ids: Iterable[str], years: Iterable[int]) -> str:
    def part(values: Iterable[object]) -> str:
        return ",".join(urllib.parse.quote(str(v), safe="") for v in values)

    return f"{API}/data/kpi/{part(kpi_ids)}/municipality/{part(municipality_ids)}/year/{part(years)}"


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)] or [[]]


def _deleted(entry: dict) -> bool:
    return any(bool(entry.get(k)) for k in ("isdeleted", "is_deleted", "deleted"))


@dataclass
class Fetched:
    """Values of a data query (gender T only) and what was left out."""

    rows: list[dict] = field(default_factory=list)  # kpi_id, kommun_id, ar, varde
    missing: int = 0  # T values that were null or absent
    deleted: int = 0  # values marked deleted
    other_genders: int = 0  # K and M values (not kept)
    urls: list[str] = field(default_factory=list)

    def without_data(self, kpi_ids: Iterable[str]) -> list[str]:
        have = {r["kpi_id"] for r in self.rows}
        return [k for k in kpi_ids if k not in have]


def fetch_data(kpi_ids: list[str], municipality_ids: list[str], years: list[int], *, get: Getter | None = None,
               max_kpis: int = MAX_KPIS, max_municipalities: int = MAX_MUNICIPALITIES) -> Fetched:
    """Values of ``kpi_ids`` for ``municipality_ids`` and ``years`` (requests split into chunks)."""
    out = Fetched()
    seen: dict[tuple[str, str, int], float] = {}
    for kc in _chunks(list(kpi_ids), max_kpis):
        for mc in _chunks(list(municipality_ids), max_municipalities):
            url = data_url(kc, mc, years)
            out.urls.append(url)
            for page in pages(url, get):
                for rec in page.get("values", []):
                    _take(rec, out, seen, url)
    out.rows.sort(key=lambda r: (r["kpi_id"], r["kommun_id"], r["ar"]))
    return out


def _take(rec: dict, out: Fetched, seen: dict, url: str) -> None:
    try:
        kpi, kommun, year = str(rec["kpi"]), str(rec["municipality"]), int(str(rec["period"])[:4])
    except (KeyError, TypeError, ValueError):
        raise KoladaError(f"Ett svar från {url} saknar kpi, municipality eller period: {str(rec)[:200]}") from None
    if _deleted(rec):
        out.deleted += 1
        return
    totals, deleted = [], False
    for v in rec.get("values") or []:
        if str(v.get("gender", "")).upper() != GENDER_TOTAL:
            out.other_genders += 1
            continue
        if _deleted(v):
            out.deleted += 1
            deleted = True
            continue
        totals.append(v)
    if deleted and not totals:
        return
    if not totals or all(v.get("value") is None for v in totals):
        out.missing += 1
        return
    value = next(v["value"] for v in totals if v.get("value") is not None)
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise KoladaError(f"Värdet '{value}' för {kpi}, {kommun}, {year} från {url} är inte ett tal") from None
    key = (kpi, kommun, year)
    if key in seen:
        if seen[key] != value:
            raise KoladaError(f"Kolada gav två olika värden för {kpi}, {kommun}, {year} ({seen[key]:g} och {value:g})")
        return
    seen[key] = value
    out.rows.append({"kpi_id": kpi, "kommun_id": kommun, "ar": year, "varde": value})


# --------------------------------------------------------------------------------------------
# Municipality groups
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Group:
    id: str
    title: str
    members: list[tuple[str, str]]  # (kommun_id, kommun)


def _members(entry: dict) -> list[tuple[str, str]]:
    out = []
    for m in entry.get("members") or []:
        if isinstance(m, dict):
            out.append((str(m.get("id", "")), str(m.get("title", ""))))
        else:
            out.append((str(m), ""))
    return out


def _title_year(title: str) -> int:
    m = re.search(r"(\d{4})\s*$", title)
    return int(m.group(1)) if m else 0


def municipality_group(title_or_id: str, *, get: Getter | None = None) -> Group | None:
    """Kolada's municipality group with this id (``G…``) or title; for a title, the latest of the
    groups titled so, or so followed by a comma (Kolada adds the year: "Liknande kommuner IFO,
    Linköping, 2024"). None if there is no such group."""
    get = get or get_json
    if _GROUP_ID.match(title_or_id):
        entries = [e for p in pages(f"{API}/municipality_groups/{urllib.parse.quote(title_or_id)}", get) for e in p.get("values", [])]
        entries = [e for e in entries if str(e.get("id")) == title_or_id]
    else:
        url = f"{API}/municipality_groups?title={urllib.parse.quote(title_or_id)}"
        wanted = title_or_id.casefold()
        entries = [e for p in pages(url, get) for e in p.get("values", [])
                   if (t := str(e.get("title", "")).casefold().strip()) == wanted or t.startswith(wanted + ",")]
    if not entries:
        return None
    entry = max(entries, key=lambda e: (_title_year(str(e.get("title", ""))), str(e.get("id"))))
    members = _members(entry)
    if not members:  # the search may leave the members out: ask for the group itself
        gid = str(entry["id"])
        full = [e for p in pages(f"{API}/municipality_groups/{urllib.parse.quote(gid)}", get) for e in p.get("values", [])]
        members = _members(next((e for e in full if str(e.get("id")) == gid), {}))
    return Group(str(entry["id"]), str(entry.get("title", "")), members)


# --------------------------------------------------------------------------------------------
# The comparison extract
# --------------------------------------------------------------------------------------------


def extract_rows(fetched: Fetched, members: dict[str, list[tuple[str, str]]]) -> list[list[object]]:
    """Rows of the sheet (headers of :data:`helpers.data.contract.JAMFORELSE`): one per group
    member, KPI and year with a value (Linköping under its own group and as a member of R9)."""
    names = kpi_names()
    by_kommun: dict[str, list[dict]] = {}
    for r in fetched.rows:
        by_kommun.setdefault(r["kommun_id"], []).append(r)
    rows = []
    for group in GROUPS:
        for kid, kommun in members.get(group, []):
            for r in by_kommun.get(kid, []):
                rows.append([kid, kommun, group, r["kpi_id"], names.get(r["kpi_id"], r["kpi_id"]), r["ar"], r["varde"]])
    return rows


def headers() -> list[str]:
    from helpers.data.contract import JAMFORELSE

    return [c.header for c in JAMFORELSE.sheets[0].columns]


def write_sheets(path: Path, sheets: list[tuple[str, list[str], list[list[object]]]], about: list[tuple[str, str]],
                 creator: str) -> None:
    """Write a workbook of ``sheets`` (name, headers, rows; bold headers) and a last sheet ``Om``
    with ``about`` (key, value) to ``path``, with ``creator`` as its author (never the synthetic
    generator's). Shared by the public-data commands."""
    import openpyxl

    from helpers.data.xlsx import add_sheet

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, heads, rows in sheets:
        add_sheet(wb, name, heads, rows)
    add_sheet(wb, "Om", ["Uppgift", "Värde"], about)
    wb.properties.creator = creator
    wb.save(path)


def write_workbook(path: Path, rows: list[list[object]], about: list[tuple[str, str]]) -> None:
    """Write the extract to ``path`` (sheet ``Nyckeltal`` and a sheet ``Om`` with the source)."""
    from helpers.data.contract import JAMFORELSE

    write_sheets(path, [(JAMFORELSE.sheets[0].name, headers(), rows)], about, CREATOR)


def replace_atomically(out: Path, write: Callable[[Path], None], validate: Callable[[Path], None] | None = None) -> None:
    """Write ``out`` through a temporary file beside it: ``write(tmp)``, ``validate(tmp)``, then
    ``os.replace``. On any error the temporary file is removed and ``out`` is left as it was."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.stem}-", suffix=out.suffix or ".xlsx", dir=out.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        if validate is not None:
            validate(tmp)
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()


def validate_extract(path: Path, extract, error: type[Exception] = KoladaError) -> None:
    """Check the written workbook against ``extract`` with ingest's own validation; ``error``
    listing the problems if it does not follow the contract."""
    from helpers.data import ingest

    _, problems = ingest.read_extract(path, extract, None, ingest.pseudonym_key()[0])
    if problems:
        raise error("Det hämtade extraktet följer inte datakontraktet och skrevs inte:\n"
                    + "\n".join(f"  - {p}" for p in problems[:ingest.MAX_REPORTED]))


def years_label(years: list[int]) -> str:
    """``2016–2022`` for a run of years, else the years comma-separated."""
    return f"{years[0]}–{years[-1]}" if years == list(range(years[0], years[-1] + 1)) else ", ".join(map(str, years))


def parse_years(text: str) -> list[int]:
    """``2016-2022`` (also with an en dash) or ``2016,2018``."""
    text = text.strip().replace("–", "-")
    try:
        if re.fullmatch(r"\d{4}-\d{4}", text):
            a, b = (int(x) for x in text.split("-"))
            if b < a:
                raise ValueError
            return list(range(a, b + 1))
        return sorted({int(x) for x in text.split(",") if x.strip()})
    except ValueError:
        raise ValueError(f"ogiltiga år '{text}' (skriv t.ex. 2016-2022 eller 2016,2019)") from None


@dataclass
class UpdateResult:
    path: Path
    rows: int
    fetched: Fetched
    ifo: Group | None  # None: the fallback list was used
    without_data: list[str]
    municipalities_without_data: list[str]

    def summary(self) -> str:
        f = self.fetched
        lines = [f"Jämförelsedata från Kolada skrivna till {self.path}: {self.rows} rader."]
        if self.ifo is not None:
            lines.append(f"IFO-liknande: Koladas grupp {self.ifo.id} \"{self.ifo.title}\" ({len(self.ifo.members)} kommuner).")
        else:
            lines.append("IFO-liknande: Koladas grupp hittades inte; reservlistan i kolada_grupper.csv användes.")
        lines.append(f"Utelämnade värden: {f.missing} saknade (null), {f.deleted} borttagna (isdeleted); "
                     f"{f.other_genders} värden för kvinnor/män (bara totalen T används).")
        if self.without_data:
            lines.append(f"Varning: inga värden för {', '.join(self.without_data)}.")
        if self.municipalities_without_data:
            lines.append(f"Varning: inga värden för kommunerna {', '.join(self.municipalities_without_data)}.")
        return "\n".join(lines)


def update(years: Iterable[int] = DEFAULT_YEARS, out: Path | str | None = None, *, get: Getter | None = None,
           validate: bool = True) -> UpdateResult:
    """Fetch the comparison data and write ``out`` (default ``data/raw/jamforelse.xlsx``) atomically.

    The workbook is written to a temporary file beside ``out``, checked against the contract
    (:func:`helpers.data.ingest.read_extract`) and only then renamed over ``out``: on any error
    (:class:`KoladaError`, a rule of the contract) the previous extract is left as it was.
    """
    from helpers.config import PATHS
    from helpers.data.contract import JAMFORELSE

    years = sorted(set(years))
    if not years:
        raise ValueError("inga år att hämta")
    out = Path(out) if out is not None else PATHS.raw / JAMFORELSE.filename()
    cfg = group_config()
    ifo = municipality_group(cfg.ifo_group, get=get)
    ifo_members = [(kid, name) for kid, name in ifo.members if kid != FOCUS] if ifo is not None else []
    if not ifo_members:
        ifo = None
        ifo_members = cfg.ifo_fallback
    members = {**cfg.members, IFO_GROUP: ifo_members}
    ids = list(dict.fromkeys(kid for ms in members.values() for kid, _ in ms))
    kpi_ids = kpis()["kpi_id"].tolist()
    fetched = fetch_data(kpi_ids, ids, years, get=get)
    rows = extract_rows(fetched, members)
    if not rows:
        raise KoladaError("Kolada gav inga värden alls för nyckeltalen och kommunerna; extraktet skrevs inte")
    have = {r["kommun_id"] for r in fetched.rows}
    result = UpdateResult(out, len(rows), fetched, ifo, fetched.without_data(kpi_ids),
                          [f"{name} ({kid})" for kid, name in dict.fromkeys((k, n) for ms in members.values() for k, n in ms) if kid not in have])
    about = [
        ("Källa", "Kolada (RKA), api.kolada.se/v3; egen bearbetning (gruppmedelvärden räknas i projektet)"),
        ("Hämtat", dt.datetime.now(dt.UTC).isoformat(timespec="seconds")),
        ("År", years_label(years)),
        ("Nyckeltal", ", ".join(kpi_ids)),
        ("IFO-liknande", f"{ifo.id} {ifo.title}" if ifo else "reservlistan i kolada_grupper.csv"),
        ("Utelämnade", f"{fetched.missing} saknade värden, {fetched.deleted} borttagna värden"),
    ]
    replace_atomically(out, lambda tmp: write_workbook(tmp, rows, about), _validate if validate else None)
    return result


def _validate(path: Path) -> None:
    from helpers.data.contract import JAMFORELSE

    validate_extract(path, JAMFORELSE, KoladaError)


# --------------------------------------------------------------------------------------------
# Group means (from the member rows of the processed table)
# --------------------------------------------------------------------------------------------


def _kpi_id(kpi: str) -> str:
    names = kpi_names()
    if kpi in names:
        return kpi
    by_name = {v: k for k, v in names.items()}
    if kpi in by_name:
        return by_name[kpi]
    raise KeyError(f"okänt nyckeltal {kpi!r} (kända: {', '.join(f'{k} ({v})' for k, v in names.items())})")


def group_mean(df: pd.DataFrame, group: str, kpi: str, year: int, exclude: Iterable[str] = (FOCUS,)) -> float:
    """The unweighted mean of ``kpi`` (id or short name) in ``year`` over the members of ``group``
    in the processed table ``jamforelse`` (``df``), leaving out the municipalities in ``exclude``
    (Linköping by default: the R9 mean is that of the other eight). NaN if no member has a value."""
    kid = _kpi_id(kpi)
    excluded = {str(e) for e in exclude}
    sel = df[(df["grupp"].astype(str) == group) & (df["kpi_id"].astype(str) == kid)
             & (df["ar"].astype("int64") == int(year)) & ~df["kommun_id"].astype(str).isin(excluded)]
    values = sel.drop_duplicates("kommun_id")["varde"].astype("float64").dropna()
    return float(values.mean()) if len(values) else float("nan")


def group_means(df: pd.DataFrame, exclude: Iterable[str] = (FOCUS,)) -> pd.DataFrame:
    """Every group's unweighted mean per KPI and year (columns ``grupp``, ``kpi_id``,
    ``nyckeltal``, ``ar``, ``medel``, ``antal``), members in ``exclude`` left out."""
    excluded = {str(e) for e in exclude}
    d = df[~df["kommun_id"].astype(str).isin(excluded)].astype({"grupp": str, "kpi_id": str, "nyckeltal": str})
    d = d.drop_duplicates(["grupp", "kommun_id", "kpi_id", "ar"])
    g = d.groupby(["grupp", "kpi_id", "nyckeltal", "ar"], observed=True)["varde"]
    return g.agg(medel="mean", antal="count").reset_index()
