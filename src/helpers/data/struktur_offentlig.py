"""Public data for the chapter Strukturella faktorer → the extract ``data/raw/struktur_offentlig.xlsx``.

The command ``genomlysning struktur update`` fetches two public sources and writes one workbook in
the shape of :data:`helpers.data.contract.STRUKTUR_OFFENTLIG`:

* ``Befolkning``: the population on 31 December by one-year age 0–19 for Linköping, per year, from
  SCB's PxWebAPI 2.0 (table TAB638, through :func:`helpers.data.scb.population_by_age`; the
  selection is in ``helpers/data/scb_tabeller.csv``). Every year asked for must hold every age
  0–19 with a value: a missing age or an empty (null) cell is an error, since the counts would be
  too low without anyone noticing.
* ``Nyckeltal``: Kolada's series (API v3, total for both sexes, through
  :func:`helpers.data.kolada.fetch_data`) of the KPIs in ``codelists/kolada_struktur.csv`` for
  Linköping (0580) and the whole country (Kolada's id 0000, "Riket"). A KPI, or a year of one,
  without a value is left out and reported (Kolada's latest year is often not there yet).

It works like ``genomlysning kolada update`` and reuses its parts: the workbook (with a sheet
``Om`` naming the sources, addresses, fetch time, table and KPIs) is written to a temporary file,
checked with ingest's own validation of the extract, and only then renamed over the old one. On
any error (HTTP, network, an incomplete answer, a rule of the contract) nothing is written and an
existing file is left as it was. The render never needs the network.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from helpers import __version__
from helpers.data import codes, kolada, scb

FOCUS = ("0580", "Linköping")
COUNTRY = ("0000", "Riket")  # Kolada's id for the whole country
AGES = range(0, 20)
FIRST_YEAR = 2014
CREATOR = f"genomlysning {__version__} struktur update"


class StrukturError(Exception):
    """An answer that cannot make a complete extract; the message is Swedish and names the source."""


def default_years(today: dt.date | None = None) -> list[int]:
    """2014 up to last year."""
    return list(range(FIRST_YEAR, (today or dt.date.today()).year))


def kpis() -> dict[str, str]:
    """KPI id → short name (``namn``) of ``codelists/kolada_struktur.csv``."""
    df = codes.load("kolada_struktur")
    return dict(zip(df["kpi_id"].astype(str), df["namn"].astype(str), strict=True))


def headers(sheet: str) -> list[str]:
    from helpers.data.contract import STRUKTUR_OFFENTLIG

    return [c.header for c in next(s for s in STRUKTUR_OFFENTLIG.sheets if s.name == sheet).columns]


# --------------------------------------------------------------------------------------------
# SCB: population by age
# --------------------------------------------------------------------------------------------


def _region_name(label: str, code: str) -> str:
    """SCB labels a region "0580 Linköping" or "Linköping"."""
    name = re.sub(rf"^\s*{re.escape(code)}\s+", "", str(label)).strip()
    return name or (FOCUS[1] if code == FOCUS[0] else code)


def population_rows(years: list[int], region: str = FOCUS[0], *, get: scb.Getter | None = None,
                    table: str = scb.DEFAULT_TABLE) -> tuple[list[list[object]], str]:
    """Rows of ``Befolkning`` (Region-id, Region, År, Ålder, Antal) and the address asked; a
    :class:`StrukturError` naming SCB and the address if an age or year is missing or a cell is empty."""
    parsed = scb.population_by_age(region, years, table, get=get)
    url = parsed.url
    if parsed.missing:
        raise StrukturError(f"SCB:s svar för {url} har {parsed.missing} tomma celler (null): folkmängden skulle bli "
                            "för låg för de åldrarna och åren; extraktet skrevs inte")
    df = parsed.data
    regions = set(df["region"].astype(str))
    if regions != {region}:
        raise StrukturError(f"SCB:s svar för {url} gäller region {', '.join(sorted(regions)) or '(ingen)'}, "
                            f"inte {region}; extraktet skrevs inte")
    rows: dict[tuple[int, int], list[object]] = {}
    for r in df.to_dict("records"):
        try:
            age, year = int(str(r["alder"])), int(str(r["ar"]))
        except ValueError:
            raise StrukturError(f"SCB:s svar för {url} har ålder '{r['alder']}' eller år '{r['ar']}' som inte är "
                                "ett heltal (kontrollera koderna i scb_tabeller.csv)") from None
        value = float(r["value"])
        if value < 0 or value != int(value):
            raise StrukturError(f"SCB:s svar för {url} har folkmängden {value:g} för {age} år {year}, "
                                "inte ett antal")
        if age in AGES and year in years:
            rows[(year, age)] = [region, _region_name(r["region_text"], region), year, age, int(value)]
    gaps = []
    for year in years:
        missing = [a for a in AGES if (year, a) not in rows]
        if missing:
            gaps.append(f"{year}: {_ranges(missing)} år" if len(missing) < len(AGES) else f"{year}: alla åldrar")
    if gaps:
        raise StrukturError(f"SCB:s svar för {url} saknar folkmängd för åldrar 0–19 ({'; '.join(gaps)}); "
                            "extraktet skrevs inte")
    return [rows[k] for k in sorted(rows)], url


def _ranges(values: list[int]) -> str:
    """``[1, 2, 3, 7]`` → ``1–3, 7``."""
    out: list[str] = []
    start = prev = values[0]
    for v in [*values[1:], None]:
        if v is not None and v == prev + 1:
            prev = v
            continue
        out.append(str(start) if start == prev else f"{start}–{prev}")
        if v is not None:
            start = prev = v
    return ", ".join(out)


# --------------------------------------------------------------------------------------------
# Kolada: the KPI series
# --------------------------------------------------------------------------------------------


def kpi_rows(years: list[int], *, get: kolada.Getter | None = None) -> tuple[list[list[object]], kolada.Fetched, list[str]]:
    """Rows of ``Nyckeltal`` (Kommun-id, Kommun, KPI-id, Nyckeltal, År, Värde), what was fetched,
    and warnings naming the KPIs and years without a value."""
    names = kpis()
    areas = dict([FOCUS, COUNTRY])
    fetched = kolada.fetch_data(list(names), list(areas), years, get=get)
    rows = [[r["kommun_id"], areas.get(r["kommun_id"], r["kommun_id"]), r["kpi_id"], names.get(r["kpi_id"], r["kpi_id"]),
             r["ar"], r["varde"]] for r in fetched.rows if r["kommun_id"] in areas and r["ar"] in years]
    if not rows:
        raise StrukturError(f"Kolada gav inga värden alls för {', '.join(names)} ({', '.join(fetched.urls)}); "
                            "extraktet skrevs inte")
    have = {(r[2], r[0], r[4]) for r in rows}
    warnings = []
    for kpi, name in names.items():
        if not any(k == kpi for k, _, _ in have):
            warnings.append(f"inga värden för {kpi} ({name})")
            continue
        gaps = [f"{area} {_ranges(missing)}" for kid, area in areas.items()
                if (missing := [y for y in years if (kpi, kid, y) not in have])]
        if gaps:
            warnings.append(f"{kpi} ({name}) saknar värden för {'; '.join(gaps)}")
    order = {kid: i for i, kid in enumerate(areas)}
    rows.sort(key=lambda r: (order[r[0]], list(names).index(r[2]), r[4]))
    return rows, fetched, warnings


# --------------------------------------------------------------------------------------------
# The command
# --------------------------------------------------------------------------------------------


@dataclass
class UpdateResult:
    path: Path
    population_rows: int
    kpi_rows: int
    years: list[int]
    fetched: kolada.Fetched
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        f = self.fetched
        lines = [f"Offentlig statistik för Strukturella faktorer skriven till {self.path}: "
                 f"{self.population_rows} rader folkmängd (SCB), {self.kpi_rows} rader nyckeltal (Kolada), "
                 f"år {kolada.years_label(self.years)}.",
                 f"Utelämnade Kolada-värden: {f.missing} saknade (null), {f.deleted} borttagna (isdeleted)."]
        lines += [f"Varning: {w}." for w in self.warnings]
        return "\n".join(lines)


def update(years: Iterable[int] | None = None, out: Path | str | None = None, *, get_scb: scb.Getter | None = None,
           get_kolada: kolada.Getter | None = None, validate: bool = True) -> UpdateResult:
    """Fetch both sources and write ``out`` (default ``data/raw/struktur_offentlig.xlsx``) atomically.

    ``years`` default to 2014 up to last year. ``get_scb`` and ``get_kolada`` replace the HTTP
    getters (url → parsed JSON). Errors: :class:`helpers.data.scb.ScbError`,
    :class:`helpers.data.kolada.KoladaError` (naming the address and HTTP status) and
    :class:`StrukturError`; on any of them nothing is written.
    """
    from helpers.config import PATHS
    from helpers.data.contract import STRUKTUR_OFFENTLIG

    years = sorted(set(default_years() if years is None else years))
    if not years:
        raise ValueError("inga år att hämta")
    out = Path(out) if out is not None else PATHS.raw / STRUKTUR_OFFENTLIG.filename()
    population, scb_url = population_rows(years, get=get_scb)
    nyckeltal, fetched, warnings = kpi_rows(years, get=get_kolada)
    about = [
        ("Källa, folkmängd", f"SCB, Statistikdatabasen (PxWebAPI 2.0), tabell {scb.DEFAULT_TABLE}: folkmängd 31 december "
                             "efter ettårsklass 0–19, summerad över kön och civilstånd"),
        ("Adress, folkmängd", scb_url),
        ("Källa, nyckeltal", "Kolada (RKA), api.kolada.se/v3; totalt för båda könen"),
        ("Adresser, nyckeltal", "\n".join(fetched.urls)),
        ("Nyckeltal", ", ".join(f"{k} ({n})" for k, n in kpis().items())),
        ("Områden", f"{FOCUS[1]} ({FOCUS[0]}); nyckeltal även för {COUNTRY[1]} ({COUNTRY[0]})"),
        ("År", kolada.years_label(years)),
        ("Hämtat", dt.datetime.now(dt.UTC).isoformat(timespec="seconds")),
        ("Utelämnade", "; ".join(warnings) or "inga"),
    ]
    sheets = [("Befolkning", headers("Befolkning"), population), ("Nyckeltal", headers("Nyckeltal"), nyckeltal)]

    def check(path: Path) -> None:
        kolada.validate_extract(path, STRUKTUR_OFFENTLIG, StrukturError)

    kolada.replace_atomically(out, lambda tmp: kolada.write_sheets(tmp, sheets, about, CREATOR), check if validate else None)
    return UpdateResult(out, len(population), len(nyckeltal), years, fetched, warnings)
