"""Ingest: small contract-valid workbooks go through; every kind of bad input is stopped.

The workbooks are written here with openpyxl, from the headers in :mod:`helpers.data.contract`. The
personnummer are synthetic (:func:`helpers.data.pnr.make` with födelsenummer 980–999) and consistent
with Ålder and Kön, as the contract demands. The hand-made utredningar and insatser refer to the
hand-made aktualiseringar (and insatser to utredningar) as the rules across files demand; the
insatser hold a chain of placements (changes of placement form) and the review of placements on 31
December (placeringar_december) refers to two of them. Each
bad-input case checks that ingest raises a :class:`RawDataError` naming file, sheet, Excel row,
column and rule, that the command line exits with 2, and that a ``processed_dir`` from an earlier
good run is left byte for byte as it was.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

import helpers
from helpers.config import PSEUDONYM_KEY_ENV
from helpers.data import contract, ingest, pnr

YEAR = 2020
KEY = "unit-test-key-for-ingest-0123456789abcdef"  # strong enough for real data (ingest.check_key)
AKT_FILE = f"aktualiseringar_{YEAR}.xlsx"
STR_FILE = f"struktur_{YEAR}.xlsx"
UTR_FILE = f"utredningar_{YEAR}.xlsx"
INS_FILE = f"insatser_{YEAR}.xlsx"
DEC_FILE = f"placeringar_december_{YEAR}.xlsx"
AKT_SHEET = contract.AKTUALISERINGAR.sheets[0]
BEF_SHEET = next(s for s in contract.STRUKTUR.sheets if s.name == "Befolkning")
UTR_SHEET = contract.UTREDNINGAR.sheets[0]
INS_SHEET = contract.INSATSER.sheets[0]
DEC_SHEET = contract.PLACERINGAR_DEC.sheets[0]
AKT_HEADERS = [c.header for c in AKT_SHEET.columns]
BEF_HEADERS = [c.header for c in BEF_SHEET.columns]
UTR_HEADERS = [c.header for c in UTR_SHEET.columns]
INS_HEADERS = [c.header for c in INS_SHEET.columns]
DEC_HEADERS = [c.header for c in DEC_SHEET.columns]


@dataclass(frozen=True)
class Person:
    birth: dt.date
    serial: int  # 980–999: Skatteverket's test range
    inkom: tuple[int, int]  # month, day of Inkom datum
    typ: str  # "Anmälan" | "Ansökan" | "Annat sätt"
    orsakskod: str
    anmalare: str | None
    stadsdel: str
    beslut: str


PERSONS = (
    Person(dt.date(2010, 5, 17), 981, (3, 2), "Anmälan", "B06", "skola", "Berga", "utredning"),
    Person(dt.date(2001, 11, 30), 982, (6, 15), "Ansökan", "X02", None, "Centrum", "service"),
    Person(dt.date(2005, 2, 28), 993, (2, 27), "Annat sätt", "O01", None, "Ryd", "kronologiska"),
    Person(dt.date(2003, 1, 1), 996, (12, 31), "Anmälan", "B09", "polis", "Skäggetorp", "tillfors"),  # 17 on 31 Dec
    Person(dt.date(2002, 12, 31), 998, (12, 31), "Anmälan", "O08", "halso_sjukvard", "Lambohov", "utredning"),  # 18 that day
)


def pid(value: str, column: str) -> str:
    """The pseudonym of a case system id in ``data/processed`` (with the test key)."""
    return pnr.pseudonymise_id(value, KEY, column)


def age_at(birth: dt.date, day: dt.date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def akt_rows(year: int = YEAR) -> list[dict[str, object]]:
    """Valid aktualiseringar: one dict per row, keyed by the contract's headers."""
    rows = []
    for i, p in enumerate(PERSONS, start=1):
        inkom = dt.date(year, *p.inkom)
        age = age_at(p.birth, inkom)
        rows.append(
            {
                "Aktualiserings-ID": f"A{year}-{i:05d}",
                "Personnummer": pnr.make(p.birth, p.serial),
                "Inkom datum": dt.datetime(inkom.year, inkom.month, inkom.day),
                "Aktualiseringstyp": f"{p.typ} {'0-17' if age <= 17 else '18-20'}",
                "Kön": pnr.sex(pnr.make(p.birth, p.serial)),
                "Ålder": age,
                "Orsakskod": p.orsakskod,
                "Anmälare": p.anmalare,
                "Stadsdel": p.stadsdel,
                "Beslut": p.beslut,
            }
        )
    return rows


def child(index: int, day: dt.date) -> dict[str, object]:
    """Personnummer, Kön and Ålder (at ``day``) of ``PERSONS[index]``."""
    p = PERSONS[index]
    number = pnr.make(p.birth, p.serial)
    return {"Personnummer": number, "Kön": pnr.sex(number), "Ålder": age_at(p.birth, day)}


def _dt(day: dt.date | None) -> dt.datetime | None:
    return None if day is None else dt.datetime(day.year, day.month, day.day)


def utr_rows() -> list[dict[str, object]]:
    """Valid utredningar of 2020 (the first year present, so U2020-0003, begun in 2019 and still
    ongoing on 1 January 2020, belongs here). U1 and U2 follow the aktualiseringar with Beslut
    utredning; U3 and U4 came in before the aktualiseringar (no Aktualiserings-ID)."""
    spec = [  # id, aktualisering, person, stadsdel, startgrund, start, slut, orsak, utfall, bedömning
        ("U2020-0001", "A2020-00001", 0, "Berga", "Anmälan", dt.date(2020, 3, 10), dt.date(2020, 6, 30), "B06", "Insats beviljas", None),
        ("U2020-0002", "A2020-00005", 4, "Lambohov", "Anmälan", dt.date(2020, 12, 31), None, "O08", None, None),
        ("U2020-0003", None, 2, "Ryd", "Annat sätt", dt.date(2019, 11, 4), dt.date(2020, 2, 10), "O01", "Ingen insats", "Inget behov"),
        ("U2020-0004", None, 3, "Skäggetorp", "Ansökan", dt.date(2020, 4, 1), dt.date(2020, 8, 1), "B09", "Överflyttad", None),
    ]
    return [
        {"Utrednings-ID": uid, "Aktualiserings-ID": aid, **child(person, start), "Stadsdel": area, "Startgrund": grund,
         "Startdatum": _dt(start), "Slutdatum": _dt(end), "Orsakskod": orsak, "Utfall": utfall, "Bedömning": bedomning}
        for uid, aid, person, area, grund, start, end, orsak, utfall, bedomning in spec
    ]


def ins_rows() -> list[dict[str, object]]:
    """Valid insatser of 2020: two bistånd after U2020-0001 (an open insats and a placement), a
    service insats after the aktualisering with Beslut service, a placement begun in 2019 that ended
    in 2020, a chain of placements of one child under the same lagrum (Jourhem, then Familjehem the
    day after, then Stödboende the same day, registered as HVB before 2021: each change ends with
    Byte av placeringsform) and an HVB placement of the child who had the service insats."""
    byte = "Byte av placeringsform"
    spec = [  # id, utredning, aktualisering, person, stadsdel, typ, registrerad som, grund, lagrum, orsak, start, slut,
        # avslut, situation, ensam
        ("I2020-0001", "U2020-0001", None, 0, "Berga", "Öppenvård", None, "Bistånd", None, "B06", dt.date(2020, 7, 1), None,
         None, None, None),
        ("I2020-0002", None, "A2020-00002", 1, "Centrum", "Kontaktperson", None, "Service", None, "X02", dt.date(2020, 6, 20),
         dt.date(2020, 10, 1), "Enligt plan", None, None),
        ("I2020-0003", None, None, 2, "Ryd", "HVB", "HVB", "Bistånd", "LVU 3 §", "O01", dt.date(2019, 6, 1), dt.date(2020, 3, 15),
         "Övergår till annan insats", "Hos en eller båda föräldrarna", "Nej"),
        ("I2020-0004", "U2020-0001", None, 0, "Berga", "Familjehem", "Familjehem", "Bistånd", "SoL", "O11", dt.date(2020, 8, 15),
         None, None, None, "Nej"),
        ("I2020-0005", None, None, 3, "Skäggetorp", "Jourhem", "Jourhem", "Bistånd", "LVU 3 §", "B09", dt.date(2020, 2, 1),
         dt.date(2020, 4, 30), byte, None, "Nej"),
        ("I2020-0006", None, None, 3, "Skäggetorp", "Familjehem", "Familjehem", "Bistånd", "LVU 3 §", "B09", dt.date(2020, 5, 1),
         dt.date(2020, 9, 30), byte, None, "Nej"),
        ("I2020-0007", None, None, 3, "Skäggetorp", "Stödboende", "HVB", "Bistånd", "LVU 3 §", "B09", dt.date(2020, 9, 30),
         None, None, None, "Nej"),
        ("I2020-0008", None, None, 1, "Centrum", "HVB", "HVB", "Bistånd", "SoL", "X02", dt.date(2020, 11, 1), None, None, None, "Nej"),
    ]
    return [
        {"Insats-ID": iid, "Utrednings-ID": uid, "Aktualiserings-ID": aid, **child(person, start), "Stadsdel": area,
         "Insatstyp": typ, "Registrerad som": reg, "Grund": grund, "Lagrum": lagrum, "Orsakskod": orsak,
         "Startdatum": _dt(start), "Slutdatum": _dt(end), "Avslutsorsak": avslut, "Situation efter": situation,
         "Ensamkommande": ensam}
        for iid, uid, aid, person, area, typ, reg, grund, lagrum, orsak, start, end, avslut, situation, ensam in spec
    ]


def dec_rows(year: int = YEAR) -> list[dict[str, object]]:
    """Valid placeringar_december of 2020: the two placements of ``ins_rows`` in HVB and stödboende
    ongoing on 31 December (both registered as HVB before 2021). Only the child of I2020-0008 had
    an open insats (the service insats I2020-0002) before the placement."""
    day = dt.date(year, 12, 31)
    spec = [  # insats, person, stadsdel, placeringsform, registrerad som, lagrum, anledning, skola, tidigare öppenvård
        ("I2020-0007", 3, "Skäggetorp", "Stödboende", "HVB", "LVU 3 §", "Eget beteende", None, "Nej"),
        ("I2020-0008", 1, "Centrum", "HVB", "HVB", "SoL", "Brist i omsorgen", "Ja", "Ja"),
    ]
    return [
        {"Insats-ID": iid, **child(person, day), "Stadsdel": area, "Placeringsform": form, "Registrerad som": reg,
         "Lagrum": lagrum, "Anledning": anledning, "Skolsituation tillgodosedd": skola, "Tidigare öppenvård": tidigare,
         "Ensamkommande": "Nej"}
        for iid, person, area, form, reg, lagrum, anledning, skola, tidigare in spec
    ]


BEF_GROUPS = ("0-5", "6-12", "13-17", "18-20")


def bef_rows() -> list[dict[str, object]]:
    """Population per stadsdel and age group: every stadsdel has every age group once (the first
    three rows are one per stadsdel, for the cases that change a cell)."""
    first = [
        {"Stadsdel": "Berga", "Åldersgrupp": "0-5", "Antal": 1200},
        {"Stadsdel": "Centrum", "Åldersgrupp": "6-12", "Antal": 900},
        {"Stadsdel": "Ryd", "Åldersgrupp": "13-17", "Antal": 0},
    ]
    rest = [{"Stadsdel": r["Stadsdel"], "Åldersgrupp": g, "Antal": 500 + 10 * i}
            for r in first for i, g in enumerate(BEF_GROUPS) if g != r["Åldersgrupp"]]
    return first + rest


def write_xlsx(path: Path, sheets: dict[str, list[list[object]]]) -> None:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    wb.save(path)


def table(headers: list[str], rows: list[dict[str, object]]) -> list[list[object]]:
    return [headers] + [[r.get(h) for h in headers] for r in rows]


def write_akt(raw: Path, rows: list[dict] | None = None, headers: list[str] | None = None,
              sheet: str = AKT_SHEET.name, name: str = AKT_FILE) -> None:
    rows = akt_rows() if rows is None else rows
    write_xlsx(raw / name, {sheet: table(headers or AKT_HEADERS, rows)})


STR_SHEETS = {s.name: s for s in contract.STRUKTUR.sheets}
OFF_FILE = contract.STRUKTUR_OFFENTLIG.filename()
OFF_SHEETS = {s.name: s for s in contract.STRUKTUR_OFFENTLIG.sheets}


def prognos_rows(year: int = YEAR) -> list[dict[str, object]]:
    """Two stadsdelar, each from the file's year (the starting point) two years on."""
    return [{"Stadsdel": area, "Prognosår": year + k, "Antal 0-18": base + 10 * k}
            for area, base in (("Berga", 2400), ("Ryd", 1900)) for k in range(3)]


def arbetsloshet_rows(year: int = YEAR) -> list[dict[str, object]]:
    return [{"Stadsdel": "Berga", "Invånare 18-64": 8000, "Arbetslösa 18-64": 900},
            {"Stadsdel": "Ryd", "Invånare 18-64": 6000, "Arbetslösa 18-64": 500},
            {"Stadsdel": "Centrum", "Invånare 18-64": 12000, "Arbetslösa 18-64": 400}]


def bistand_rows(year: int = YEAR) -> list[dict[str, object]]:
    return [{"Stadsdel": "Berga", "Hushåll": 5000, "Hushåll med långvarigt bistånd": 400, "Varav barnfamiljer": 250},
            {"Stadsdel": "Ryd", "Hushåll": 3000, "Hushåll med långvarigt bistånd": 200, "Varav barnfamiljer": 120},
            {"Stadsdel": "Centrum", "Hushåll": 9000, "Hushåll med långvarigt bistånd": 90, "Varav barnfamiljer": 20}]


def skol_rows(year: int = YEAR) -> list[dict[str, object]]:
    return [{"Skola": school, "Stadsdel": area, "Kön": kon, "Elever åk 9": pupils, "Uppnått alla ämnen": passed}
            for school, area, kon, pupils, passed in (
                ("Bergaskolan", "Berga", "Flicka", 40, 35), ("Bergaskolan", "Berga", "Pojke", 42, 33),
                ("Rydskolan", "Ryd", "Flicka", 30, 25), ("Rydskolan", "Ryd", "Pojke", 28, 20))]


def psyk_rows(year: int = YEAR) -> list[dict[str, object]]:
    """The municipality and the county, the last two years up to the file's year, both measures."""
    matt = ("Psykiatrisk tvångsvård", "Besök i barn- och ungdomspsykiatrin")
    return [{"Område": area, "År": ar, "Mått": m, "Antal": (12 if i == 0 else 2100) * scale + (ar - year),
             "Invånare 0-17": 33000 * scale}
            for area, scale in (("Linköping", 1), ("Östergötlands län", 5)) for ar in (year - 1, year)
            for i, m in enumerate(matt)]


STR_ROWS: dict[str, Callable[[int], list[dict[str, object]]]] = {
    "Prognos": prognos_rows, "Arbetslöshet": arbetsloshet_rows, "Ekonomiskt bistånd": bistand_rows,
    "Skolresultat": skol_rows, "Psykisk ohälsa": psyk_rows}


def write_struktur(raw: Path, rows: list[dict] | None = None, sheet: str = BEF_SHEET.name,
                   name: str = STR_FILE, only_befolkning: bool = False, sheets: dict[str, list[dict]] | None = None) -> None:
    """struktur with Befolkning (as ``sheet``) and, unless ``only_befolkning`` (the old shape), the
    optional sheets: valid rows for the year in ``name``, or the rows in ``sheets`` (by sheet name)."""
    year = int(name[-9:-5]) if name[-9:-5].isdigit() else YEAR
    book = {sheet: table(BEF_HEADERS, bef_rows() if rows is None else rows)}
    if not only_befolkning:
        for sheet_name, make in STR_ROWS.items():
            headers = [c.header for c in STR_SHEETS[sheet_name].columns]
            book[sheet_name] = table(headers, (sheets or {}).get(sheet_name) or make(year))
    write_xlsx(raw / name, book)


def off_bef_rows(years: tuple[int, ...] = (YEAR - 1, YEAR)) -> list[dict[str, object]]:
    """SCB's population by one-year age 0–19 for Linköping, two years."""
    return [{"Region-id": "0580", "Region": "Linköping", "År": ar, "Ålder": age, "Antal": 1900 + 10 * age + ar - YEAR}
            for ar in years for age in range(20)]


def off_kpi_rows() -> list[dict[str, object]]:
    """Kolada's key figures of kolada_struktur for Linköping and the country, two years."""
    from helpers.data import codes

    kpis = codes.load("kolada_struktur")
    return [{"Kommun-id": kid, "Kommun": kommun, "KPI-id": kpi, "Nyckeltal": namn, "År": ar, "Värde": 10.0 + i + ar - YEAR}
            for kid, kommun in (("0580", "Linköping"), ("0000", "Riket"))
            for i, (kpi, namn) in enumerate(zip(kpis["kpi_id"], kpis["namn"], strict=True)) for ar in (YEAR - 1, YEAR)]


def write_offentlig(raw: Path, befolkning: list[dict] | None = None, nyckeltal: list[dict] | None = None,
                    name: str = OFF_FILE) -> None:
    write_xlsx(raw / name, {
        "Befolkning": table([c.header for c in OFF_SHEETS["Befolkning"].columns], off_bef_rows() if befolkning is None else befolkning),
        "Nyckeltal": table([c.header for c in OFF_SHEETS["Nyckeltal"].columns], off_kpi_rows() if nyckeltal is None else nyckeltal)})


def write_utr(raw: Path, rows: list[dict] | None = None, name: str = UTR_FILE) -> None:
    write_xlsx(raw / name, {UTR_SHEET.name: table(UTR_HEADERS, utr_rows() if rows is None else rows)})


def write_ins(raw: Path, rows: list[dict] | None = None, name: str = INS_FILE) -> None:
    write_xlsx(raw / name, {INS_SHEET.name: table(INS_HEADERS, ins_rows() if rows is None else rows)})


def write_dec(raw: Path, rows: list[dict] | None = None, name: str = DEC_FILE) -> None:
    write_xlsx(raw / name, {DEC_SHEET.name: table(DEC_HEADERS, dec_rows() if rows is None else rows)})


KOST_FILE = f"kostnader_{YEAR}.xlsx"
KOST_SHEET, BUDGET_SHEET = contract.KOSTNADER.sheets
KOST_HEADERS = [c.header for c in KOST_SHEET.columns]
BUDGET_HEADERS = [c.header for c in BUDGET_SHEET.columns]


def kost_rows() -> list[dict]:
    """Two months of costs: HVB on a general contract (with care days) and öppenvård (without)."""
    rows = []
    for m in (1, 2):
        rows.append({"Månad": dt.datetime(YEAR, m, 1), "Placeringsform": "HVB", "Avtalstyp": "Generellt avtal",
                     "Kostnad kr": 31 * 2500.0, "Vårddygn": 31})
        rows.append({"Månad": dt.datetime(YEAR, m, 1), "Placeringsform": "Öppenvård", "Avtalstyp": "Egen regi",
                     "Kostnad kr": 9000.0, "Vårddygn": None})
    return rows


def budget_rows() -> list[dict]:
    return [{"År": YEAR, "Budgetpost": "Budget", "Budget kr": 1_000_000.0},
            {"År": YEAR, "Budgetpost": "Tillskott", "Budget kr": 200_000.0}]


def write_kost(raw: Path, rows: list[dict] | None = None, budget: list[dict] | None = None, name: str = KOST_FILE) -> None:
    write_xlsx(raw / name, {KOST_SHEET.name: table(KOST_HEADERS, kost_rows() if rows is None else rows),
                            BUDGET_SHEET.name: table(BUDGET_HEADERS, budget_rows() if budget is None else budget)})


def write_good_raw(raw: Path) -> Path:
    raw.mkdir(parents=True, exist_ok=True)
    write_akt(raw)
    write_struktur(raw)
    write_utr(raw)
    write_ins(raw)
    write_dec(raw)
    write_kost(raw)
    write_offentlig(raw)
    return raw


def snapshot(folder: Path) -> dict[str, tuple]:
    """Content hash, mtime and inode of every file, and the folder's own inode."""
    state: dict[str, tuple] = {".": (folder.stat().st_ino,)}
    for p in sorted(folder.rglob("*")):
        st = p.stat()
        state[str(p.relative_to(folder))] = (hashlib.sha256(p.read_bytes()).hexdigest(), st.st_mtime_ns, st.st_ino, st.st_size)
    return state


def leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith(".processed-") or p.name.endswith("-old"))


@pytest.fixture(autouse=True)
def test_key(monkeypatch):
    monkeypatch.setenv(PSEUDONYM_KEY_ENV, KEY)


@pytest.fixture
def raw(tmp_path) -> Path:
    return write_good_raw(tmp_path / "raw")


@pytest.fixture
def ingested(raw, tmp_path) -> tuple[Path, Path, dict]:
    processed = tmp_path / "processed"
    manifest = ingest.run(raw, processed)
    return raw, processed, manifest


# --------------------------------------------------------------------------------------------
# Good input
# --------------------------------------------------------------------------------------------


def test_run_writes_tables_and_manifest(ingested):
    raw, processed, manifest = ingested
    assert sorted(p.name for p in processed.iterdir()) == [
        "aktualiseringar.parquet", "arbetsloshet.parquet", "befolkning.parquet", "befolkning_alder.parquet",
        "befolkningsprognos.parquet", "budget.parquet", "ekonomiskt_bistand.parquet", "insatser.parquet",
        "kostnader.parquet", "manifest.json", "placeringar_december.parquet", "psykisk_ohalsa.parquet",
        "skolresultat.parquet", "struktur_nyckeltal.parquet", "utredningar.parquet"]
    assert json.loads((processed / "manifest.json").read_text(encoding="utf-8")) == manifest

    inputs = manifest["inputs"]
    assert set(inputs) == {AKT_FILE, STR_FILE, UTR_FILE, INS_FILE, DEC_FILE, KOST_FILE, OFF_FILE}
    for name, info in inputs.items():
        assert info["sha256"] == hashlib.sha256((raw / name).read_bytes()).hexdigest()
        assert info["year"] == (None if name == OFF_FILE else YEAR)
    assert inputs[AKT_FILE]["extract"] == "aktualiseringar"
    assert inputs[AKT_FILE]["rows"] == {"aktualiseringar": len(PERSONS)}
    assert inputs[STR_FILE]["rows"] == {"befolkning": len(bef_rows()), **{
        STR_SHEETS[name].table: len(make(YEAR)) for name, make in STR_ROWS.items()}}
    assert inputs[OFF_FILE]["rows"] == {"befolkning_alder": len(off_bef_rows()), "struktur_nyckeltal": len(off_kpi_rows())}
    assert inputs[UTR_FILE]["rows"] == {"utredningar": len(utr_rows())}
    assert inputs[INS_FILE]["rows"] == {"insatser": len(ins_rows())}
    assert inputs[DEC_FILE]["rows"] == {"placeringar_december": len(dec_rows())}
    assert inputs[KOST_FILE]["rows"] == {"kostnader": len(kost_rows()), "budget": len(budget_rows())}

    outputs = manifest["outputs"]
    assert outputs["aktualiseringar.parquet"]["rows"] == len(PERSONS)
    assert outputs["befolkning.parquet"]["rows"] == len(bef_rows())
    for name, info in outputs.items():
        assert info["sha256"] == hashlib.sha256((processed / name).read_bytes()).hexdigest()

    assert manifest["code"]["helpers"] == helpers.__version__
    assert "commit" in manifest["code"]
    assert manifest["pseudonym_key"] == "env"
    dt.datetime.fromisoformat(manifest["created"])
    assert leftovers(processed.parent) == []


def test_processed_types(ingested):
    _, processed, _ = ingested
    akt = ingest.load("aktualiseringar", processed)
    assert list(akt.columns) == ["ar"] + [c.name for c in AKT_SHEET.columns]
    assert pd.api.types.is_datetime64_any_dtype(akt["inkom_datum"])
    for col in ("ar", "alder"):
        assert akt[col].dtype == "Int64", col
    for col in AKT_SHEET.columns:
        if col.kind == "code":
            assert isinstance(akt[col.name].dtype, pd.CategoricalDtype), col.name
    assert isinstance(akt["person_id"].dtype, pd.StringDtype)
    assert isinstance(akt["aktualisering_id"].dtype, pd.StringDtype)

    bef = ingest.load("befolkning", processed)
    assert list(bef.columns) == ["ar", "stadsdel", "aldersgrupp", "antal"]
    assert bef["antal"].dtype == "Int64"
    assert isinstance(bef["stadsdel"].dtype, pd.CategoricalDtype)


def test_processed_values(ingested):
    _, processed, _ = ingested
    akt = ingest.load("aktualiseringar", processed)
    expected = akt_rows()
    assert (akt["ar"] == YEAR).all()
    assert akt["aktualisering_id"].tolist() == [pid(r["Aktualiserings-ID"], "aktualisering_id") for r in expected]
    assert akt["inkom_datum"].dt.date.tolist() == [r["Inkom datum"].date() for r in expected]
    assert akt["alder"].tolist() == [r["Ålder"] for r in expected]
    assert akt["aktualiseringstyp"].astype(str).tolist() == [r["Aktualiseringstyp"] for r in expected]
    assert akt["anmalare"].isna().tolist() == [r["Anmälare"] is None for r in expected]
    assert akt["alder"].tolist()[3:] == [17, 18], "birthday on Inkom datum counts"


def assert_contract_dtypes(df: pd.DataFrame, sheet: contract.Sheet) -> None:
    """Every column of ``sheet`` in ``df`` with the type the contract promises in data/processed."""
    assert list(df.columns) == ["ar"] + [c.name for c in sheet.columns], sheet.table
    assert df["ar"].dtype == "Int64"
    for col in sheet.columns:
        s = df[col.name]
        if col.kind == "date":
            assert pd.api.types.is_datetime64_any_dtype(s), (sheet.table, col.name, s.dtype)
        elif col.kind == "int":
            assert s.dtype == "Int64", (sheet.table, col.name)
        elif col.kind == "float":
            assert s.dtype == "Float64", (sheet.table, col.name)
        elif col.kind == "bool":
            assert s.dtype == "boolean", (sheet.table, col.name)
        elif col.kind == "code":
            assert isinstance(s.dtype, pd.CategoricalDtype), (sheet.table, col.name)
        elif col.kind == "pnr":
            assert s.str.fullmatch(r"[0-9a-f]{20}").all(), (sheet.table, col.name)
        else:
            assert isinstance(s.dtype, pd.StringDtype), (sheet.table, col.name)


def test_processed_case_tables(ingested):
    """utredningar and insatser: contract dtypes, blank ends of ongoing cases, the case begun in 2019
    kept in the first year's file, and the same child with the same pseudonym as in aktualiseringar."""
    _, processed, _ = ingested
    utr = ingest.load("utredningar", processed)
    ins = ingest.load("insatser", processed)
    assert_contract_dtypes(utr, UTR_SHEET)
    assert_contract_dtypes(ins, INS_SHEET)
    assert (utr["ar"] == YEAR).all() and (ins["ar"] == YEAR).all()
    assert utr["utredning_id"].tolist() == [pid(r["Utrednings-ID"], "utredning_id") for r in utr_rows()]
    assert utr["start_datum"].dt.date.tolist() == [r["Startdatum"].date() for r in utr_rows()]
    assert utr["slut_datum"].isna().tolist() == [r["Slutdatum"] is None for r in utr_rows()]
    assert utr["utfall"].isna().tolist() == utr["slut_datum"].isna().tolist()
    assert ins["slut_datum"].isna().tolist() == [r["Slutdatum"] is None for r in ins_rows()]
    assert ins["lagrum"].isna().tolist() == [r["Insatstyp"] in ("Öppenvård", "Kontaktperson") for r in ins_rows()]
    assert ins["registrerad_som"].astype(object).where(ins["registrerad_som"].notna(), None).tolist() == [
        r["Registrerad som"] for r in ins_rows()]
    assert ins["registrerad_som"].notna().tolist() == ins["lagrum"].notna().tolist() == ins["ensamkommande"].notna().tolist()
    assert utr.loc[utr["utredning_id"] == pid("U2020-0003", "utredning_id"), "start_datum"].dt.year.tolist() == [2019]
    akt = ingest.load("aktualiseringar", processed).set_index("aktualisering_id")
    linked = utr.dropna(subset=["aktualisering_id"])
    assert linked["person_id"].tolist() == akt.loc[linked["aktualisering_id"], "person_id"].tolist()


def test_processed_struktur_tables(ingested):
    """The optional sheets of struktur (the file's year in ``ar``) and the public struktur_offentlig
    (its own År) with the contract's dtypes; Region-id and Kommun-id keep the leading zero."""
    _, processed, _ = ingested
    for name, make in STR_ROWS.items():
        df = ingest.load(STR_SHEETS[name].table, processed)
        assert_contract_dtypes(df, STR_SHEETS[name])
        assert len(df) == len(make(YEAR)) and (df["ar"] == YEAR).all(), name
    assert ingest.load("psykisk_ohalsa", processed)["ar_serie"].tolist() == [r["År"] for r in psyk_rows()]
    for sheet in OFF_SHEETS.values():
        df = ingest.load(sheet.table, processed)
        assert list(df.columns) == [c.name for c in sheet.columns], sheet.table
        assert df["ar"].dtype == "Int64" and isinstance(df["antal" if "antal" in df else "kpi_id"].dtype,
                                                          pd.Int64Dtype | pd.CategoricalDtype)
    bef = ingest.load("befolkning_alder", processed)
    assert set(bef["region_id"]) == {"0580"} and sorted(set(bef["alder"])) == list(range(20))
    assert set(ingest.load("struktur_nyckeltal", processed)["kommun_id"]) == {"0580", "0000"}


def test_optional_struktur_sheets_and_struktur_offentlig_may_be_absent(raw, tmp_path):
    """struktur in its old shape (Befolkning only) and no struktur_offentlig.xlsx: ingest goes
    through without the new tables."""
    write_struktur(raw, only_befolkning=True)
    (raw / OFF_FILE).unlink()
    manifest = ingest.run(raw, tmp_path / "processed")
    assert manifest["inputs"][STR_FILE]["rows"] == {"befolkning": len(bef_rows())}
    new = {s.table for s in contract.STRUKTUR.sheets if not s.required} | {s.table for s in OFF_SHEETS.values()}
    assert not {f"{t}.parquet" for t in new} & set(manifest["outputs"])


def test_an_all_blank_code_column_stays_categorical(raw, tmp_path):
    """A year in which an optional code column is blank in every row (no placement, so no lagrum,
    registered form or situation after) still gives the contract's dtype after the parquet round
    trip."""
    write_ins(raw, [r for r in ins_rows() if r["Registrerad som"] is None])
    (raw / DEC_FILE).unlink()
    ingest.run(raw, tmp_path / "processed")
    ins = ingest.load("insatser", tmp_path / "processed")
    for name in ("lagrum", "registrerad_som", "situation_efter"):
        assert ins[name].isna().all(), name
    assert_contract_dtypes(ins, INS_SHEET)


def test_person_ids_are_pseudonyms(ingested):
    _, processed, _ = ingested
    akt = ingest.load("aktualiseringar", processed)
    numbers = [r["Personnummer"] for r in akt_rows()]
    assert akt["person_id"].tolist() == [pnr.pseudonymise(n, KEY) for n in numbers]

    forbidden = set()
    for n in numbers:
        digits = n.replace("-", "")
        forbidden |= {n, digits, digits[2:], f"{digits[2:8]}-{digits[8:]}", digits[8:] + digits[:8]}
    # neither in the files as stored ...
    for path in processed.iterdir():
        data = path.read_bytes()
        for f in forbidden:
            assert f.encode() not in data, f"personnummer in {path.name}"
    # ... nor in any decoded value (parquet pages may be compressed)
    for name in ("aktualiseringar", "befolkning"):
        text = ingest.load(name, processed).astype(str).to_csv(index=False)
        for f in forbidden:
            assert f not in text


def test_pseudonyms_depend_on_the_key(raw, tmp_path, monkeypatch):
    ingest.run(raw, tmp_path / "a")
    monkeypatch.setenv(PSEUDONYM_KEY_ENV, KEY + "-other")
    ingest.run(raw, tmp_path / "b")
    a = ingest.load("aktualiseringar", tmp_path / "a")
    b = ingest.load("aktualiseringar", tmp_path / "b")
    assert not set(a["person_id"]) & set(b["person_id"])
    assert not set(a["aktualisering_id"]) & set(b["aktualisering_id"])


def test_several_years_are_stacked(raw, tmp_path):
    write_akt(raw, akt_rows(2019), name="aktualiseringar_2019.xlsx")
    write_struktur(raw, name="struktur_2019.xlsx")  # the same stadsdelar in both years' Arbetslöshet: one row each per file
    manifest = ingest.run(raw, tmp_path / "processed")
    assert manifest["outputs"]["arbetsloshet.parquet"]["rows"] == 2 * len(arbetsloshet_rows())
    akt = ingest.load("aktualiseringar", tmp_path / "processed")
    assert manifest["outputs"]["aktualiseringar.parquet"]["rows"] == 2 * len(PERSONS)
    assert sorted(akt["ar"].unique().tolist()) == [2019, 2020]
    assert isinstance(akt["orsakskod"].dtype, pd.CategoricalDtype)
    # the same child gets the same pseudonym in both years
    assert set(akt.loc[akt["ar"] == 2019, "person_id"]) == set(akt.loc[akt["ar"] == 2020, "person_id"])


def test_is_current_follows_the_raw_files(ingested):
    raw, processed, _ = ingested
    assert ingest.is_current(raw, processed)
    (raw / "README.md").write_text("anteckningar\n", encoding="utf-8")
    (raw / f"~${AKT_FILE}").write_bytes(b"excel lock file")
    assert ingest.is_current(raw, processed), "notes and Excel lock files are not inputs"
    rows = akt_rows()
    rows[0]["Orsakskod"] = "B07"
    write_akt(raw, rows)
    assert not ingest.is_current(raw, processed)


def test_rerun_replaces_tables_and_keeps_other_files(ingested):
    raw, processed, _ = ingested
    (processed / "README.md").write_text("Bearbetade data.\n", encoding="utf-8")
    rows = akt_rows()[:2]
    write_akt(raw, rows)
    kept = {None, *(r["Aktualiserings-ID"] for r in rows)}
    write_utr(raw, [r for r in utr_rows() if r["Aktualiserings-ID"] in kept])  # no link to a removed row
    manifest = ingest.run(raw, processed)
    assert manifest["outputs"]["aktualiseringar.parquet"]["rows"] == 2
    assert len(ingest.load("aktualiseringar", processed)) == 2
    assert (processed / "README.md").read_text(encoding="utf-8") == "Bearbetade data.\n"
    assert leftovers(processed.parent) == []


def example_value(col: contract.Column, i: int) -> object:
    """A valid cell for any column of the contract (row ``i``)."""
    if col.kind == "pnr":
        return pnr.make(dt.date(2010, 5, 17), 980 + i)
    if col.kind == "date":
        return dt.datetime(YEAR, 6, 1 + i)
    if col.kind == "bool":
        return "Ja" if i % 2 else "Nej"
    if col.codes is not None:
        allowed = contract_codes(col)
        return allowed[i % len(allowed)]
    if col.kind in ("int", "float"):
        low = col.min if col.min is not None else 0
        value = max(low, min(low + i, col.max if col.max is not None else low + i))
        return int(value) if col.kind == "int" else float(value) + 0.5
    return f"{col.name}-{i}"


def contract_codes(col: contract.Column) -> list[str]:
    from helpers.data import codes

    return codes.values(col.codes) if isinstance(col.codes, str) else list(col.codes)


def test_every_extract_of_the_contract_can_be_ingested(raw, tmp_path):
    """A workbook for each extract and sheet, built from the contract alone, passes ingest."""
    for extract in contract.EXTRACTS:
        if extract in (contract.AKTUALISERINGAR, contract.UTREDNINGAR, contract.INSATSER, contract.PLACERINGAR_DEC):
            continue  # rules across columns and files: the hand-made rows above
        if extract is contract.JAMFORELSE:
            write_jam(raw)  # rules across columns (municipality codes, KPI names, groups): hand-made rows
            continue
        if extract is contract.KOSTNADER:
            write_kost(raw)  # rules across columns (care days, one budget row per post): hand-made rows
            continue
        if extract in (contract.STRUKTUR, contract.STRUKTUR_OFFENTLIG):
            continue  # rules within sheets (complete series, one row per key): hand-made rows of write_good_raw
        sheets = {
            s.name: [[c.header for c in s.columns]] + [[example_value(c, i) for c in s.columns] for i in range(3)]
            for s in extract.sheets
        }
        write_xlsx(raw / extract.filename(YEAR if extract.yearly else None), sheets)
    manifest = ingest.run(raw, tmp_path / "processed")
    tables = {s.table: s for e in contract.EXTRACTS for s in e.sheets}
    assert set(manifest["outputs"]) == {f"{t}.parquet" for t in tables}
    for name, sheet in tables.items():
        df = ingest.load(name, tmp_path / "processed")
        assert df["ar"].dtype == "Int64", name
        for col in sheet.columns:
            s = df[col.name]
            if col.kind == "date":
                assert pd.api.types.is_datetime64_any_dtype(s), (name, col.name)
            elif col.kind == "int":
                assert s.dtype == "Int64", (name, col.name)
            elif col.kind == "float":
                assert s.dtype == "Float64", (name, col.name)
            elif col.kind == "bool":
                assert s.dtype == "boolean", (name, col.name)
            elif col.kind == "code":
                assert isinstance(s.dtype, pd.CategoricalDtype), (name, col.name)
            elif col.kind == "pnr":
                assert s.str.fullmatch(r"[0-9a-f]{20}").all(), (name, col.name)
    assert ingest.load("budget", tmp_path / "processed")["ar"].tolist() == [YEAR, YEAR], "the sheet's own År"


def test_main_prints_a_swedish_summary(raw, tmp_path, capsys):
    assert ingest.main(["--raw", str(raw), "--processed", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "Inläsningen klar" in out
    assert "aktualiseringar.parquet" in out and "rader" in out
    assert (tmp_path / "out" / "manifest.json").is_file()


# --------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bad:
    id: str
    mutate: Callable[[Path], None]
    file: str
    sheet: str | None
    row: int | None  # Excel row (header = 1)
    column: str | None
    rule: str  # a fragment of the rule's wording


def cell(index: int, header: str, value: object) -> Callable[[Path], None]:
    """Set one cell of the otherwise valid aktualiseringar (data row ``index``, Excel row index+2)."""

    def mutate(raw: Path) -> None:
        rows = akt_rows()
        rows[index][header] = value
        write_akt(raw, rows)

    return mutate


def bef_cell(index: int, header: str, value: object) -> Callable[[Path], None]:
    def mutate(raw: Path) -> None:
        rows = bef_rows()
        rows[index][header] = value
        write_struktur(raw, rows)

    return mutate


def kost_cell(index: int, header: str, value: object) -> Callable[[Path], None]:
    def mutate(raw: Path) -> None:
        rows = kost_rows()
        rows[index][header] = value
        write_kost(raw, rows)

    return mutate


def kost_duplicate(raw: Path) -> None:
    rows = kost_rows()
    write_kost(raw, rows + [dict(rows[0])])


def budget_cell(index: int, header: str, value: object) -> Callable[[Path], None]:
    def mutate(raw: Path) -> None:
        rows = budget_rows()
        rows[index][header] = value
        write_kost(raw, budget=rows)

    return mutate


def wrong_check_digit(raw: Path) -> None:
    rows = akt_rows()
    number = rows[1]["Personnummer"]
    rows[1]["Personnummer"] = number[:-1] + str((int(number[-1]) + 1) % 10)
    write_akt(raw, rows)


def duplicate_id(raw: Path) -> None:
    rows = akt_rows()
    rows[2]["Aktualiserings-ID"] = rows[0]["Aktualiserings-ID"]
    write_akt(raw, rows)


def age_off_by_one(raw: Path) -> None:
    rows = akt_rows()
    rows[0]["Ålder"] += 1
    write_akt(raw, rows)


def drop_column(raw: Path) -> None:
    write_akt(raw, headers=[h for h in AKT_HEADERS if h != "Orsakskod"])


def empty_workbook(raw: Path) -> None:
    write_xlsx(raw / AKT_FILE, {AKT_SHEET.name: []})


def header_only(raw: Path) -> None:
    write_akt(raw, rows=[])


def text_file(raw: Path) -> None:
    (raw / AKT_FILE).write_text("Aktualiserings-ID;Ålder\nA1;9\n", encoding="utf-8")


def zip_not_xlsx(raw: Path) -> None:
    with zipfile.ZipFile(raw / AKT_FILE, "w") as z:
        z.writestr("data.csv", "a;b\n1;2\n")


def akt_edited(edit: Callable[[openpyxl.worksheet.worksheet.Worksheet], None]) -> Callable[[Path], None]:
    """The valid aktualiseringar, edited by hand in openpyxl (``edit`` gets the sheet)."""

    def mutate(raw: Path) -> None:
        write_akt(raw)
        wb = openpyxl.load_workbook(raw / AKT_FILE)
        edit(wb[AKT_SHEET.name])
        wb.save(raw / AKT_FILE)

    return mutate


def akt_letter(header: str) -> str:
    """The column letter of ``header`` in the hand-made aktualiseringar."""
    return openpyxl.utils.get_column_letter(AKT_HEADERS.index(header) + 1)


def merged(cells: str) -> Callable[[Path], None]:
    return akt_edited(lambda ws: ws.merge_cells(cells))


def rewrite_member(path: Path, member: str, change: Callable[[bytes], bytes]) -> None:
    """Rewrite one member of the zip archive at ``path`` (the others unchanged)."""
    with zipfile.ZipFile(path) as z:
        members = [(info, z.read(info)) for info in z.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for info, data in members:
            z.writestr(info, change(data) if info.filename == member else data)


def formula_with_saved_value(raw: Path) -> None:
    """As Excel saves it: a formula cell (Ålder, row 4) with its computed value, which calamine
    reads as if it were a value."""
    write_akt(raw)
    ref = f"{akt_letter('Ålder')}4"
    value = akt_rows()[2]["Ålder"]
    rewrite_member(raw / AKT_FILE, "xl/worksheets/sheet1.xml", lambda xml: xml.replace(
        f'<c r="{ref}" t="n"><v>{value}</v></c>'.encode(), f'<c r="{ref}" t="n"><f>{value}+0</f><v>{value}</v></c>'.encode()))


def broken_sheet_xml(raw: Path) -> None:
    write_akt(raw)
    rewrite_member(raw / AKT_FILE, "xl/worksheets/sheet1.xml", lambda xml: xml[: len(xml) // 2])


def truncated_zip(raw: Path) -> None:
    write_akt(raw)
    data = (raw / AKT_FILE).read_bytes()
    (raw / AKT_FILE).write_bytes(data[: len(data) // 2])


def html_file(raw: Path) -> None:
    (raw / AKT_FILE).write_text("<!DOCTYPE html>\n<html><body><table><tr><td>A1</td></tr></table></body></html>\n",
                                encoding="utf-8")


def empty_file(raw: Path) -> None:
    (raw / AKT_FILE).write_bytes(b"")


def ole2_file(*streams: str) -> Callable[[Path], None]:
    """A minimal OLE2 (Compound File Binary) container: the header's magic bytes and a directory
    sector naming ``streams`` (UTF-16), enough for the check, which reads no further. An .xlsx
    saved with a password is such a container with an ``EncryptedPackage`` stream; an old binary
    .xls one with a ``Workbook`` stream."""

    def mutate(raw: Path) -> None:
        header = bytearray(512)
        header[:8] = bytes.fromhex("D0CF11E0A1B11AE1")
        header[0x18:0x20] = (0x3E, 0, 3, 0, 0xFE, 0xFF, 9, 0)  # version 3, byte order, sectors of 2^9 bytes
        directory = bytearray(512)
        for i, name in enumerate(("Root Entry", *streams)):
            entry = name.encode("utf-16-le") + b"\0\0"
            directory[i * 128: i * 128 + len(entry)] = entry
            directory[i * 128 + 64] = len(entry)
        (raw / AKT_FILE).write_bytes(bytes(header + directory))

    return mutate


def unknown_filename(raw: Path) -> None:
    write_akt(raw, name="aktualiseringar-2020.xlsx")


def yearless(raw: Path) -> None:
    write_struktur(raw, name="struktur.xlsx")


def utr_cells(index: int, **changes: object) -> Callable[[Path], None]:
    """Set cells of the otherwise valid utredningar (headers with spaces and dashes: ``changes``
    keys use ``_`` for ``-`` and ``__`` for a space, e.g. ``Aktualiserings_ID``)."""

    def mutate(raw: Path) -> None:
        rows = utr_rows()
        rows[index].update({_header(k): v for k, v in changes.items()})
        write_utr(raw, rows)

    return mutate


def ins_cells(index: int, **changes: object) -> Callable[[Path], None]:
    def mutate(raw: Path) -> None:
        rows = ins_rows()
        rows[index].update({_header(k): v for k, v in changes.items()})
        write_ins(raw, rows)

    return mutate


def _header(key: str) -> str:
    return key.replace("__", " ").replace("_", "-")


def earlier_utredningar_file(raw: Path) -> None:
    """A valid utredningar_2019.xlsx: 2019 becomes the first year, so the 2020 file may no longer
    hold U2020-0003, begun in 2019."""
    start = dt.date(2019, 5, 2)
    row = {"Utrednings-ID": "U2019-0001", "Aktualiserings-ID": None, **child(1, start), "Stadsdel": "Centrum",
           "Startgrund": "Ansökan", "Startdatum": _dt(start), "Slutdatum": _dt(dt.date(2019, 9, 1)), "Orsakskod": "X02",
           "Utfall": "Ingen insats", "Bedömning": "Behov tillgodoses annat"}
    write_utr(raw, [row], name="utredningar_2019.xlsx")


def insats_id_again_next_year(raw: Path) -> None:
    start = dt.date(2021, 2, 1)
    row = {"Insats-ID": "I2020-0001", **child(0, start), "Stadsdel": "Berga", "Insatstyp": "Kontaktfamilj",
           "Grund": "Bistånd", "Orsakskod": "O11", "Startdatum": _dt(start)}
    write_ins(raw, [row], name="insatser_2021.xlsx")


def aktualisering_id_again_earlier_year(raw: Path) -> None:
    rows = akt_rows(2019)
    rows[3]["Aktualiserings-ID"] = f"A{YEAR}-00001"
    write_akt(raw, rows, name="aktualiseringar_2019.xlsx")


def utredning_ended_without_insats(raw: Path) -> None:
    rows = utr_rows()
    rows[0].update({"Utfall": "Ingen insats", "Bedömning": "Inget behov"})
    write_utr(raw, rows)


def dec_cells(index: int, **changes: object) -> Callable[[Path], None]:
    """Set cells of the otherwise valid placeringar_december (keys as in :func:`utr_cells`)."""

    def mutate(raw: Path) -> None:
        rows = dec_rows()
        rows[index].update({_header(k): v for k, v in changes.items()})
        write_dec(raw, rows)

    return mutate


def other_sex(index: int) -> str:
    return next(k for k in contract.KON if k != child(index, dt.date(YEAR, 1, 1))["Kön"])


INS_2021_FILE = "insatser_2021.xlsx"
DEC_2021_FILE = "placeringar_december_2021.xlsx"


def ins_2021_rows(**changes: object) -> list[dict[str, object]]:
    """A valid insatser_2021: a stödboende placement begun in 2021, registered as stödboende."""
    start = dt.date(2021, 3, 1)
    row = {"Insats-ID": "I2021-0001", "Utrednings-ID": None, "Aktualiserings-ID": None, **child(4, start),
           "Stadsdel": "Lambohov", "Insatstyp": "Stödboende", "Registrerad som": "Stödboende", "Grund": "Bistånd",
           "Lagrum": "SoL", "Orsakskod": "O08", "Startdatum": _dt(start), "Slutdatum": None, "Avslutsorsak": None,
           "Situation efter": None, "Ensamkommande": "Nej"}
    row.update({_header(k): v for k, v in changes.items()})
    return [row]


def dec_2021_rows(**changes: object) -> list[dict[str, object]]:
    """A valid placeringar_december_2021: the two placements of 2020 still ongoing (the stödboende
    placement begun in 2020 still registered as HVB) and the stödboende placement of 2021."""
    row = {"Insats-ID": "I2021-0001", **child(4, dt.date(2021, 12, 31)), "Stadsdel": "Lambohov",
           "Placeringsform": "Stödboende", "Registrerad som": "Stödboende", "Lagrum": "SoL", "Anledning": "Brist i omsorgen",
           "Skolsituation tillgodosedd": "Nej", "Tidigare öppenvård": "Nej", "Ensamkommande": "Nej"}
    row.update({_header(k): v for k, v in changes.items()})
    return [*dec_rows(2021), row]


def stodboende_2021_registered_as_hvb(raw: Path) -> None:
    write_ins(raw, ins_2021_rows(Registrerad__som="HVB"), name=INS_2021_FILE)


def december_2021(**changes: object) -> Callable[[Path], None]:
    def mutate(raw: Path) -> None:
        write_ins(raw, ins_2021_rows(), name=INS_2021_FILE)
        write_dec(raw, dec_2021_rows(**changes), name=DEC_2021_FILE)

    return mutate


def december_refers_to_a_later_placement(raw: Path) -> None:
    write_ins(raw, ins_2021_rows(), name=INS_2021_FILE)
    rows = dec_rows()
    rows.append({**dec_2021_rows()[-1], **child(4, dt.date(YEAR, 12, 31))})
    write_dec(raw, rows)


JAM_FILE = contract.JAMFORELSE.filename()
JAM_SHEET = contract.JAMFORELSE.sheets[0]
JAM_HEADERS = [c.header for c in JAM_SHEET.columns]


def jam_rows() -> list[dict[str, object]]:
    """A valid comparison extract (Kolada shape): Linköping under its own group and in R9, two other
    R9 members and one IFO-liknande municipality, two KPIs, two years."""
    members = [("0580", "Linköping", "Linköping"), ("0580", "Linköping", "R9"), ("0484", "Eskilstuna", "R9"),
               ("2180", "Gävle", "R9"), ("1281", "Lund", "IFO-liknande")]
    kpis = [("N33016", "nettokostnad", 2060.0), ("N33007", "hvb", 858.0)]
    return [{"Kommun-id": kid, "Kommun": name, "Grupp": group, "KPI-id": kpi, "Nyckeltal": short, "År": year,
             "Värde": value + 100 * i + (year - 2018)}
            for i, (kid, name, group) in enumerate(members) for kpi, short, value in kpis for year in (2018, 2019)]


def write_jam(raw: Path, rows: list[dict] | None = None, headers: list[str] | None = None, name: str = JAM_FILE) -> None:
    write_xlsx(raw / name, {JAM_SHEET.name: table(headers or JAM_HEADERS, jam_rows() if rows is None else rows)})


def jam_cells(index: int, **changes: object) -> Callable[[Path], None]:
    """A comparison extract with one row changed (data row ``index``, Excel row index+2)."""

    def mutate(raw: Path) -> None:
        rows = jam_rows()
        rows[index].update({_header(k): v for k, v in changes.items()})
        write_jam(raw, rows)

    return mutate


def jam_duplicate(raw: Path) -> None:
    rows = jam_rows()
    write_jam(raw, [*rows, dict(rows[5])])


def str_rows(sheet: str, change: Callable[[list[dict]], list[dict]]) -> Callable[[Path], None]:
    """struktur with the valid rows of the optional ``sheet`` changed by ``change``."""

    def mutate(raw: Path) -> None:
        write_struktur(raw, sheets={sheet: change(STR_ROWS[sheet](YEAR))})

    return mutate


def str_cells(sheet: str, index: int, changes: dict[str, object]) -> Callable[[Path], None]:
    """struktur with cells of one row of the optional ``sheet`` set (data row ``index``)."""
    return str_rows(sheet, lambda rows: [{**r, **changes} if i == index else r for i, r in enumerate(rows)])


def without(*indices: int) -> Callable[[list[dict]], list[dict]]:
    return lambda rows: [r for i, r in enumerate(rows) if i not in indices]


def again(index: int) -> Callable[[list[dict]], list[dict]]:
    """The rows with a copy of row ``index`` added at the end."""
    return lambda rows: [*rows, dict(rows[index])]


def off_rows(sheet: str, change: Callable[[list[dict]], list[dict]]) -> Callable[[Path], None]:
    """struktur_offentlig with the valid rows of ``sheet`` (Befolkning or Nyckeltal) changed."""

    def mutate(raw: Path) -> None:
        if sheet == "Befolkning":
            write_offentlig(raw, befolkning=change(off_bef_rows()))
        else:
            write_offentlig(raw, nyckeltal=change(off_kpi_rows()))

    return mutate


def off_cells(sheet: str, index: int, changes: dict[str, object]) -> Callable[[Path], None]:
    return off_rows(sheet, lambda rows: [{**r, **changes} if i == index else r for i, r in enumerate(rows)])


PSYK = "Psykisk ohälsa"
BEF_AGES = [(i, YEAR - 1, a) for i, a in enumerate(range(20))] + [(20 + i, YEAR, a) for i, a in enumerate(range(20))]

FUTURE = dt.datetime.combine(dt.date.today() + dt.timedelta(days=60), dt.time())


def samordningsnummer(index: int) -> str:
    """The samordningsnummer of ``PERSONS[index]`` (the day plus 60, the same serial)."""
    p = PERSONS[index]
    nine = f"{p.birth:%y%m}{p.birth.day + 60:02d}{p.serial:03d}"
    return f"{p.birth:%Y%m}{p.birth.day + 60:02d}-{p.serial:03d}{pnr.luhn_check_digit(nine)}"


def akt_samordning_wrong_sex(raw: Path) -> None:
    """Row 0 with its samordningsnummer (serial 981, odd second-to-last digit: Pojke) and Kön Flicka."""
    rows = akt_rows()
    rows[0].update({"Personnummer": samordningsnummer(0), "Kön": "Flicka"})
    write_akt(raw, rows)


def bef_without(*pairs: tuple[str, str]) -> Callable[[Path], None]:
    return lambda raw: write_struktur(raw, [r for r in bef_rows() if (r["Stadsdel"], r["Åldersgrupp"]) not in pairs])

BAD_CASES = (
    Bad("saknat blad", lambda raw: write_akt(raw, sheet="Blad1"), AKT_FILE, AKT_SHEET.name, None, None, "bladet saknas"),
    Bad("saknat blad struktur", lambda raw: write_struktur(raw, sheet="Blad1"), STR_FILE, "Befolkning", None, None, "bladet saknas"),
    Bad("saknad kolumn", drop_column, AKT_FILE, AKT_SHEET.name, 1, "Orsakskod", "kolumnen saknas"),
    Bad("oläsbart datum", cell(1, "Inkom datum", "den 3 mars"), AKT_FILE, AKT_SHEET.name, 3, "Inkom datum", "'den 3 mars' är inte ett datum"),
    Bad("omöjligt datum som text", cell(1, "Inkom datum", "2020-02-30"), AKT_FILE, AKT_SHEET.name, 3, "Inkom datum", "är inte ett datum"),
    Bad("datum utanför året", cell(0, "Inkom datum", dt.datetime(2019, 12, 31)), AKT_FILE, AKT_SHEET.name, 2, "Inkom datum", "utanför extraktets år 2020"),
    Bad("okänd orsakskod", cell(1, "Orsakskod", "B99"), AKT_FILE, AKT_SHEET.name, 3, "Orsakskod", "okänd kod 'B99'"),
    Bad("okänt kön", cell(2, "Kön", "Annat"), AKT_FILE, AKT_SHEET.name, 4, "Kön", "okänd kod 'Annat'"),
    Bad("okänd stadsdel i struktur", bef_cell(1, "Stadsdel", "Atlantis"), STR_FILE, "Befolkning", 3, "Stadsdel", "okänd kod 'Atlantis'"),
    Bad("dubblerat id", duplicate_id, AKT_FILE, AKT_SHEET.name, 4, "Aktualiserings-ID", "förekommer mer än en gång"),
    Bad("tom arbetsbok", empty_workbook, AKT_FILE, AKT_SHEET.name, None, None, "ingen rubrikrad"),
    Bad("bara rubrikrad", header_only, AKT_FILE, AKT_SHEET.name, 2, None, "inga datarader"),
    Bad("textfil som .xlsx", text_file, AKT_FILE, None, None, None, "inte en Excel-arbetsbok (.xlsx) utan en textfil med avgränsade värden (CSV)"),
    Bad("html som .xlsx", html_file, AKT_FILE, None, None, None, "inte en Excel-arbetsbok (.xlsx) utan en HTML-fil"),
    Bad("tom fil", empty_file, AKT_FILE, None, None, None, "filen är tom"),
    Bad("zip som inte är xlsx", zip_not_xlsx, AKT_FILE, None, None, None, "kan inte läsas som Excel-arbetsbok"),
    Bad("avkortad zip", truncated_zip, AKT_FILE, None, None, None, "avkortat eller skadat zip-arkiv"),
    Bad("trasig blad-XML", broken_sheet_xml, AKT_FILE, AKT_SHEET.name, None, None, "bladet kan inte läsas: innehållet (XML) är trasigt"),
    Bad("lösenordsskyddad arbetsbok", ole2_file("EncryptionInfo", "EncryptedPackage"), AKT_FILE, None, None, None,
        "lösenordsskyddad (krypterad)"),
    Bad("gammalt xls-format", ole2_file("Workbook"), AKT_FILE, None, None, None, "gamla binära Excel-formatet (.xls"),
    Bad("formel utan sparat värde i valfri kolumn", cell(0, "Anmälare", '="skola"'), AKT_FILE, AKT_SHEET.name, 2,
        "Anmälare", f'cellen {akt_letter("Anmälare")}2 innehåller en formel (="skola")'),
    Bad("formel med sparat värde", formula_with_saved_value, AKT_FILE, AKT_SHEET.name, 4, "Ålder",
        f"cellen {akt_letter('Ålder')}4 innehåller en formel (={akt_rows()[2]['Ålder']}+0)"),
    Bad("sammanfogade celler i valfri kolumn", merged(f"{akt_letter('Anmälare')}3:{akt_letter('Anmälare')}4"), AKT_FILE,
        AKT_SHEET.name, 3, "Anmälare", f"cellerna {akt_letter('Anmälare')}3:{akt_letter('Anmälare')}4 är sammanfogade"),
    Bad("sammanfogade celler över kolumner", merged(f"{akt_letter('Stadsdel')}5:{akt_letter('Beslut')}5"), AKT_FILE,
        AKT_SHEET.name, 5, "Stadsdel", f"cellerna {akt_letter('Stadsdel')}5:{akt_letter('Beslut')}5 är sammanfogade"),
    Bad("felvärde i valfri kolumn", cell(1, "Anmälare", "#N/A"), AKT_FILE, AKT_SHEET.name, 3, "Anmälare",
        f"cellen {akt_letter('Anmälare')}3 innehåller felvärdet #N/A"),
    Bad("datum som text med mer efter", cell(1, "Inkom datum", f"{YEAR}-06-15 abc"), AKT_FILE, AKT_SHEET.name, 3,
        "Inkom datum", f"'{YEAR}-06-15 abc' är inte ett datum"),
    Bad("datum som text med en siffra för mycket", cell(1, "Inkom datum", f"{YEAR}-06-151"), AKT_FILE, AKT_SHEET.name, 3,
        "Inkom datum", f"'{YEAR}-06-151' är inte ett datum"),
    Bad("datum och omöjlig tid som text", cell(1, "Inkom datum", f"{YEAR}-06-15 25:00"), AKT_FILE, AKT_SHEET.name, 3,
        "Inkom datum", f"'{YEAR}-06-15 25:00' är inte ett datum"),
    Bad("fel kontrollsiffra", wrong_check_digit, AKT_FILE, AKT_SHEET.name, 3, "Personnummer", "kontrollsiffran stämmer inte"),
    Bad("personnummer i fel form", cell(0, "Personnummer", "okänd"), AKT_FILE, AKT_SHEET.name, 2, "Personnummer", "ogiltigt personnummer"),
    Bad("ålder stämmer inte", age_off_by_one, AKT_FILE, AKT_SHEET.name, 2, "Ålder", "stämmer inte med personnumret"),
    Bad("ålder 25", cell(1, "Ålder", 25), AKT_FILE, AKT_SHEET.name, 3, "Ålder", "större än 20"),
    Bad("negativt antal", bef_cell(0, "Antal", -5), STR_FILE, "Befolkning", 2, "Antal", "mindre än 0"),
    Bad("typ passar inte åldern", cell(0, "Aktualiseringstyp", "Anmälan 18-20"), AKT_FILE, AKT_SHEET.name, 2, "Aktualiseringstyp", "passar inte åldern"),
    Bad("värde saknas", cell(2, "Stadsdel", None), AKT_FILE, AKT_SHEET.name, 4, "Stadsdel", "värde saknas"),
    Bad("heltal med text", cell(0, "Ålder", "tolv"), AKT_FILE, AKT_SHEET.name, 2, "Ålder", "'tolv' är inte ett heltal"),
    Bad("heltal med decimaler", bef_cell(2, "Antal", 12.5), STR_FILE, "Befolkning", 4, "Antal", "är inte ett heltal"),
    Bad("okänt filnamn", unknown_filename, "aktualiseringar-2020.xlsx", None, None, None, "motsvarar inget extrakt"),
    Bad("år saknas i filnamnet", yearless, "struktur.xlsx", None, None, None, "ska ange år"),
    Bad("extrakt saknas", lambda raw: (raw / STR_FILE).unlink(), "struktur_ÅÅÅÅ.xlsx", None, None, None, "extraktet saknas"),
    Bad("utredningar saknas", lambda raw: (raw / UTR_FILE).unlink(), "utredningar_ÅÅÅÅ.xlsx", None, None, None, "extraktet saknas"),
    # utredningar and insatser: dates (CASE_EXTRACT_RULE)
    Bad("startdatum efter året", utr_cells(3, Startdatum=dt.datetime(2021, 1, 5), Slutdatum=None, Utfall=None),
        UTR_FILE, "Utredningar", 5, "Startdatum", "ligger efter extraktets år 2020"),
    Bad("startdatum före året i en senare fil", earlier_utredningar_file,
        UTR_FILE, "Utredningar", 4, "Startdatum", "bara det första årets fil (2019) får innehålla ärenden som inleddes tidigare"),
    Bad("tidigare ärende avslutat före första året", utr_cells(2, Slutdatum=dt.datetime(2019, 12, 20)),
        UTR_FILE, "Utredningar", 4, "Slutdatum", "får bara innehålla tidigare ärenden som pågick den 1 januari 2020"),
    Bad("slutdatum före startdatum", utr_cells(3, Slutdatum=dt.datetime(2020, 3, 31)),
        UTR_FILE, "Utredningar", 5, "Slutdatum", "slutdatumet 2020-03-31 ligger före startdatumet 2020-04-01"),
    Bad("insats slutar före start", ins_cells(1, Slutdatum=dt.datetime(2020, 6, 19)),
        INS_FILE, "Insatser", 3, "Slutdatum", "ligger före startdatumet"),
    Bad("datum i framtiden", utr_cells(3, Slutdatum=FUTURE),
        UTR_FILE, "Utredningar", 5, "Slutdatum", f"datumet {FUTURE.date().isoformat()} ligger efter dagens datum"),
    Bad("datum i framtiden i insatser", ins_cells(3, Slutdatum=FUTURE),
        INS_FILE, "Insatser", 5, "Slutdatum", f"datumet {FUTURE.date().isoformat()} ligger efter dagens datum"),
    # utredningar: Utfall and Bedömning
    Bad("utfall utan slutdatum", utr_cells(1, Utfall="Överflyttad"),
        UTR_FILE, "Utredningar", 3, "Utfall", "utfallet 'Överflyttad' anges bara för ett avslutat ärende"),
    Bad("slutdatum utan utfall", utr_cells(3, Utfall=None),
        UTR_FILE, "Utredningar", 5, "Utfall", "värde saknas: ett avslutat ärende (Slutdatum ifyllt) ska ha ett utfall"),
    Bad("bedömning saknas för ingen insats", utr_cells(2, Bedömning=None),
        UTR_FILE, "Utredningar", 4, "Bedömning", "utfallet 'Ingen insats' ska ha en bedömning"),
    Bad("bedömning vid insats beviljas", utr_cells(0, Bedömning="Inget behov"),
        UTR_FILE, "Utredningar", 2, "Bedömning", "bedömning anges bara när utfallet är 'Ingen insats' (här 'Insats beviljas')"),
    # insatser: Avslutsorsak, Lagrum, Grund
    Bad("avslutsorsak utan slutdatum", ins_cells(0, Avslutsorsak="Enligt plan"),
        INS_FILE, "Insatser", 2, "Avslutsorsak", "avslutsorsaken 'Enligt plan' anges bara för ett avslutat ärende"),
    Bad("slutdatum utan avslutsorsak", ins_cells(1, Avslutsorsak=None),
        INS_FILE, "Insatser", 3, "Avslutsorsak", "värde saknas: ett avslutat ärende (Slutdatum ifyllt) ska ha en avslutsorsak"),
    Bad("avslutsorsak gäller inte för service", ins_cells(1, Avslutsorsak="Avbruten"),
        INS_FILE, "Insatser", 3, "Avslutsorsak", "avslutsorsaken 'Avbruten' gäller inte för öppna insatser med grund Service"),
    Bad("lagrum på öppenvård", ins_cells(0, Lagrum="SoL"),
        INS_FILE, "Insatser", 2, "Lagrum", "'Öppenvård' är en öppen insats och ska ha tomt lagrum"),
    Bad("service efter utredning", ins_cells(0, Grund="Service"),
        INS_FILE, "Insatser", 2, "Grund", "en insats med Utrednings-ID ('U2020-0001') har grund 'Bistånd', inte 'Service'"),
    # Ålder and Kön from the personnummer
    Bad("ålder vid startdatum", utr_cells(0, Ålder=10),
        UTR_FILE, "Utredningar", 2, "Ålder", "åldern 10 stämmer inte med personnumret (ger 9 år vid startdatum)"),
    Bad("ålder vid insatsens start", ins_cells(2, Ålder=15),
        INS_FILE, "Insatser", 4, "Ålder", "åldern 15 stämmer inte med personnumret (ger 14 år vid startdatum)"),
    Bad("kön mot personnumret", cell(0, "Kön", "Flicka"),
        AKT_FILE, AKT_SHEET.name, 2, "Kön", "'Flicka' stämmer inte med personnumret (näst sista siffran ger 'Pojke')"),
    Bad("kön mot personnumret i utredningar", utr_cells(1, Kön="Pojke"),
        UTR_FILE, "Utredningar", 3, "Kön", "'Pojke' stämmer inte med personnumret"),
    Bad("kön mot personnumret i insatser", ins_cells(1, Kön="Pojke"),
        INS_FILE, "Insatser", 3, "Kön", "'Pojke' stämmer inte med personnumret"),
    Bad("kön mot samordningsnumret", akt_samordning_wrong_sex,
        AKT_FILE, AKT_SHEET.name, 2, "Kön", "'Flicka' stämmer inte med personnumret (näst sista siffran ger 'Pojke')"),
    # codes with invisible or look-alike characters: rejected, the odd characters shown by code point
    Bad("kod med kyrilliskt o", cell(2, "Kön", "P\u043ejke"), AKT_FILE, AKT_SHEET.name, 4, "Kön",
        "ser ut som koden 'Pojke' men innehåller U+043E (CYRILLIC SMALL LETTER O)"),
    Bad("kod med nollbrett mellanslag", cell(0, "Stadsdel", "Ber\u200bga"), AKT_FILE, AKT_SHEET.name, 2, "Stadsdel",
        "ser ut som koden 'Berga' men innehåller U+200B (ZERO WIDTH SPACE)"),
    Bad("kod med hårt mellanslag", cell(0, "Aktualiseringstyp", "Anmälan\u00a00-17"), AKT_FILE, AKT_SHEET.name, 2,
        "Aktualiseringstyp", "ser ut som koden 'Anmälan 0-17' men innehåller U+00A0 (NO-BREAK SPACE)"),
    Bad("kod med dubbla mellanslag", utr_cells(2, Utfall="Ingen  insats"), UTR_FILE, "Utredningar", 4, "Utfall",
        "ser ut som koden 'Ingen insats' men har extra mellanslag"),
    # a yearly extract's files are an unbroken series of years
    Bad("år saknas i serien", lambda raw: write_akt(raw, akt_rows(YEAR - 2), name=f"aktualiseringar_{YEAR - 2}.xlsx"),
        f"aktualiseringar_{YEAR - 1}.xlsx", None, None, None,
        f"året {YEAR - 1} saknas i serien av aktualiseringar ({YEAR - 2}, {YEAR} finns)"),
    # across files
    Bad("insats-id i två årsfiler", insats_id_again_next_year,
        "insatser_2021.xlsx", "Insatser", 2, "Insats-ID", f"id 'I2020-0001' finns också i {INS_FILE}, rad 2"),
    Bad("aktualiserings-id i två årsfiler", aktualisering_id_again_earlier_year,
        AKT_FILE, AKT_SHEET.name, 2, "Aktualiserings-ID", "finns också i aktualiseringar_2019.xlsx, rad 5"),
    Bad("okänd aktualisering", utr_cells(3, Aktualiserings_ID="A2020-99999"),
        UTR_FILE, "Utredningar", 5, "Aktualiserings-ID", "aktualiseringen 'A2020-99999' finns inte i aktualiseringar (2020)"),
    Bad("aktualisering utan beslut om utredning", utr_cells(3, Aktualiserings_ID="A2020-00004"),
        UTR_FILE, "Utredningar", 5, "Aktualiserings-ID",
        f"aktualiseringen 'A2020-00004' ({AKT_FILE}, rad 5) har beslut 'tillfors', inte 'utredning'"),
    Bad("aktualisering om ett annat barn", utr_cells(1, Aktualiserings_ID="A2020-00001"),
        UTR_FILE, "Utredningar", 3, "Personnummer", f"barnet är ett annat än i aktualiseringen 'A2020-00001' ({AKT_FILE}, rad 2)"),
    Bad("två utredningar av en aktualisering", utr_cells(1, Aktualiserings_ID="A2020-00001"),
        UTR_FILE, "Utredningar", 3, "Aktualiserings-ID",
        f"aktualiseringen 'A2020-00001' ledde redan till utredningen 'U2020-0001' ({UTR_FILE}, rad 2)"),
    Bad("startgrund passar inte typen", utr_cells(0, Startgrund="Ansökan"),
        UTR_FILE, "Utredningar", 2, "Startgrund", "startgrunden 'Ansökan' passar inte aktualiseringen 'A2020-00001'"),
    Bad("utredning före aktualiseringen", utr_cells(0, Startdatum=dt.datetime(2020, 3, 1)),
        UTR_FILE, "Utredningar", 2, "Startdatum", "startdatumet 2020-03-01 ligger före inkomstdatum 2020-03-02"),
    Bad("bistånd efter utredning utan insats", utredning_ended_without_insats,
        INS_FILE, "Insatser", 2, "Utrednings-ID", "utredningen 'U2020-0001' (utredningar_2020.xlsx, rad 2) har utfallet 'Ingen insats', inte 'Insats beviljas'"),
    Bad("bistånd efter pågående utredning", ins_cells(0, Utrednings_ID="U2020-0002"),
        INS_FILE, "Insatser", 2, "Utrednings-ID", "har inget utfall (utredningen pågår)"),
    Bad("okänd utredning", ins_cells(3, Utrednings_ID="U2020-9999"),
        INS_FILE, "Insatser", 5, "Utrednings-ID", "utredningen 'U2020-9999' finns inte i utredningar (2020)"),
    Bad("insats före utredningens slut", ins_cells(0, Startdatum=dt.datetime(2020, 6, 1)),
        INS_FILE, "Insatser", 2, "Startdatum", "startdatumet 2020-06-01 ligger före slutdatum 2020-06-30 för utredningen 'U2020-0001'"),
    Bad("service efter aktualisering utan hänvisning", ins_cells(1, Aktualiserings_ID="A2020-00003"),
        INS_FILE, "Insatser", 3, "Aktualiserings-ID", "har beslut 'kronologiska', inte 'service'"),
    Bad("service till ett annat barn", ins_cells(1, Aktualiserings_ID="A2020-00002", **child(3, dt.date(2020, 6, 20))),
        INS_FILE, "Insatser", 3, "Personnummer", "barnet är ett annat än i aktualiseringen 'A2020-00002'"),
    # insatser: placements (Avslutsorsak, Registrerad som, Lagrum, Ensamkommande, Situation efter)
    Bad("avslutsorsak gäller inte för placering", ins_cells(2, Avslutsorsak="Ej enligt plan"),
        INS_FILE, "Insatser", 4, "Avslutsorsak", "avslutsorsaken 'Ej enligt plan' gäller inte för placeringar"),
    Bad("byte av placeringsform på öppen insats",
        ins_cells(0, Slutdatum=dt.datetime(2020, 12, 1), Avslutsorsak="Byte av placeringsform"),
        INS_FILE, "Insatser", 2, "Avslutsorsak",
        "avslutsorsaken 'Byte av placeringsform' gäller inte för öppna insatser med grund Bistånd"),
    Bad("registrerad som saknas för placering", ins_cells(3, Registrerad__som=None),
        INS_FILE, "Insatser", 5, "Registrerad som", "värde saknas: en placering ('Familjehem') ska ha den registrerade placeringsformen"),
    Bad("registrerad som på öppen insats", ins_cells(1, Registrerad__som="Kontaktperson"),
        INS_FILE, "Insatser", 3, "Registrerad som", "anges bara för placeringar; 'Kontaktperson' är en öppen insats"),
    Bad("registrerad som annan form", ins_cells(3, Registrerad__som="HVB"),
        INS_FILE, "Insatser", 5, "Registrerad som", "placeringen ('Familjehem') ska vara registrerad som 'Familjehem', inte 'HVB'"),
    Bad("stödboende före 2021 registrerat som stödboende", ins_cells(6, Registrerad__som="Stödboende"),
        INS_FILE, "Insatser", 8, "Registrerad som",
        "ska vara registrerad som 'HVB', inte 'Stödboende' (stödboende som började före 2021 registrerades som HVB"),
    Bad("stödboende från 2021 registrerat som HVB", stodboende_2021_registered_as_hvb,
        INS_2021_FILE, "Insatser", 2, "Registrerad som",
        "ska vara registrerad som 'Stödboende', inte 'HVB' (stödboende registreras som egen placeringsform från 2021"),
    Bad("lagrum saknas för placering", ins_cells(3, Lagrum=None),
        INS_FILE, "Insatser", 5, "Lagrum", "värde saknas: en placering ('Familjehem') ska ha lagrum"),
    Bad("ensamkommande saknas för placering", ins_cells(3, Ensamkommande=None),
        INS_FILE, "Insatser", 5, "Ensamkommande", "värde saknas: en placering ('Familjehem') ska ange om barnet är ensamkommande"),
    Bad("ensamkommande på öppen insats", ins_cells(0, Ensamkommande="Nej"),
        INS_FILE, "Insatser", 2, "Ensamkommande", "ensamkommande anges bara för placeringar; 'Öppenvård' är en öppen insats"),
    Bad("situation efter saknas för avslutad placering", ins_cells(2, Situation__efter=None),
        INS_FILE, "Insatser", 4, "Situation efter",
        "värde saknas: en avslutad placering (avslutsorsak 'Övergår till annan insats') ska ha barnets situation efter"),
    Bad("situation efter vid byte av placeringsform", ins_cells(4, Situation__efter="Annan"),
        INS_FILE, "Insatser", 6, "Situation efter", "anges inte när placeringen avslutades med 'Byte av placeringsform'"),
    Bad("situation efter för pågående placering", ins_cells(3, Situation__efter="Annan"),
        INS_FILE, "Insatser", 5, "Situation efter", "anges bara för avslutade placeringar; placeringen pågår"),
    Bad("situation efter för öppen insats", ins_cells(1, Situation__efter="Eget boende"),
        INS_FILE, "Insatser", 3, "Situation efter", "anges bara för avslutade placeringar; 'Kontaktperson' är en öppen insats"),
    # insatser across files: a change of placement form is followed by the next placement
    Bad("byte av placeringsform utan följande placering", ins_cells(5, Startdatum=dt.datetime(2020, 5, 3)),
        INS_FILE, "Insatser", 6, "Avslutsorsak",
        "ingen placering av samma barn med lagrum 'LVU 3 §' som börjar 2020-04-30 eller dagen efter"),
    Bad("byte av placeringsform till ett annat lagrum", ins_cells(6, Lagrum="SoL"),
        INS_FILE, "Insatser", 7, "Avslutsorsak",
        "ingen placering av samma barn med lagrum 'LVU 3 §' som börjar 2020-09-30 eller dagen efter"),
    # placeringar_december: rules across columns
    Bad("kön i placeringar_december", dec_cells(0, Kön=other_sex(3)),
        DEC_FILE, "Placeringar", 2, "Kön", "stämmer inte med personnumret"),
    Bad("ålder den 31 december", dec_cells(0, Ålder=18),
        DEC_FILE, "Placeringar", 2, "Ålder", "åldern 18 stämmer inte med personnumret (ger 17 år den 31 december 2020)"),
    Bad("registrerad som stödboende före 2021", dec_cells(0, Registrerad__som="Stödboende"),
        DEC_FILE, "Placeringar", 2, "Registrerad som",
        "'Stödboende': före 2021 registrerades stödboende som HVB, så i filen för 2020 ska värdet vara 'HVB'"),
    Bad("registrerad som annan än placeringsformen från 2021", december_2021(Placeringsform="HVB"),
        DEC_2021_FILE, "Placeringar", 4, "Registrerad som", "'Stödboende' stämmer inte med placeringsformen 'HVB'"),
    # placeringar_december across files: the placement in insatser
    Bad("okänd placering", dec_cells(0, Insats_ID="I2020-9999"),
        DEC_FILE, "Placeringar", 2, "Insats-ID", "insatsen 'I2020-9999' finns inte i insatser (2020)"),
    Bad("placering av ett annat barn", dec_cells(0, Insats_ID="I2020-0004"),
        DEC_FILE, "Placeringar", 2, "Personnummer", f"barnet är ett annat än i insatsen 'I2020-0004' ({INS_FILE}, rad 5)"),
    Bad("placering avslutad den 31 december",
        ins_cells(7, Slutdatum=dt.datetime(2020, 12, 31), Avslutsorsak="Enligt plan", Situation__efter="Eget boende"),
        DEC_FILE, "Placeringar", 3, "Insats-ID",
        f"insatsen 'I2020-0008' ({INS_FILE}, rad 9) avslutades 2020-12-31: placeringen pågick inte efter den 31 december 2020"),
    Bad("placering som började efter årets slut", december_refers_to_a_later_placement,
        DEC_FILE, "Placeringar", 4, "Insats-ID",
        "insatsen 'I2021-0001' (insatser_2021.xlsx, rad 2) började 2021-03-01, efter den 31 december 2020"),
    Bad("placeringsform mot insatstypen", dec_cells(1, Placeringsform="Stödboende"),
        DEC_FILE, "Placeringar", 3, "Placeringsform",
        f"'Stödboende' stämmer inte med insatsen 'I2020-0008' ({INS_FILE}, rad 9), som har insatstypen 'HVB'"),
    Bad("lagrum mot insatsen", dec_cells(0, Lagrum="SoL"),
        DEC_FILE, "Placeringar", 2, "Lagrum", f"'SoL' stämmer inte med insatsen 'I2020-0007' ({INS_FILE}, rad 8), som har lagrum 'LVU 3 §'"),
    Bad("registrerad som mot insatsen", december_2021(Registrerad__som="HVB"),
        DEC_2021_FILE, "Placeringar", 4, "Registrerad som",
        "'HVB' stämmer inte med insatsen 'I2021-0001' (insatser_2021.xlsx, rad 2), som har registrerad som 'Stödboende'"),
    Bad("tidigare öppenvård utan öppen insats", dec_cells(0, Tidigare__öppenvård="Ja"),
        DEC_FILE, "Placeringar", 2, "Tidigare öppenvård",
        "'Ja', men insatser (2020) har ingen öppen insats för barnet som började före placeringen 'I2020-0007' (2020-09-30)"),
    Bad("ingen tidigare öppenvård trots öppen insats", dec_cells(1, Tidigare__öppenvård="Nej"),
        DEC_FILE, "Placeringar", 3, "Tidigare öppenvård",
        "'Nej', men barnet hade den öppna insatsen 'I2020-0002' (startdatum 2020-06-20) före placeringen 'I2020-0008' (2020-11-01)"),
    Bad("öppen insats efter placeringen är inte tidigare öppenvård",
        ins_cells(1, Startdatum=dt.datetime(2020, 11, 2), Slutdatum=dt.datetime(2020, 12, 1)),
        DEC_FILE, "Placeringar", 3, "Tidigare öppenvård", "'Ja', men insatser (2020) har ingen öppen insats för barnet"),
    # jamforelse: the comparison extract from Kolada
    Bad("okänt KPI-id", jam_cells(2, KPI_id="N99999"), JAM_FILE, "Nyckeltal", 4, "KPI-id", "okänd kod 'N99999'"),
    Bad("kommunkod utan inledande nolla", jam_cells(4, Kommun_id="580"), JAM_FILE, "Nyckeltal", 6, "Kommun-id",
        "'580' är inte en kommunkod med fyra siffror"),
    Bad("nyckeltalets namn stämmer inte", jam_cells(1, Nyckeltal="hvb"), JAM_FILE, "Nyckeltal", 3, "Nyckeltal",
        "'hvb' är inte namnet på N33016; kodlistan kolada_nyckeltal ger 'nettokostnad'"),
    Bad("okänd grupp", jam_cells(0, Grupp="Riket"), JAM_FILE, "Nyckeltal", 2, "Grupp", "okänd kod 'Riket'"),
    Bad("kommun utanför R9", jam_cells(8, Kommun_id="1281", Kommun="Lund"), JAM_FILE, "Nyckeltal", 10, "Kommun-id",
        "kommunen '1281' (Lund) hör inte till R9"),
    Bad("annan kommun i gruppen Linköping", jam_cells(0, Kommun_id="0581", Kommun="Norrköping"), JAM_FILE, "Nyckeltal", 2,
        "Kommun-id", "gruppen Linköping har bara kommunen 0580, inte '0581'"),
    Bad("två namn på samma kommun", jam_cells(9, Kommun="Eskilstuna kommun"), JAM_FILE, "Nyckeltal", 11, "Kommun",
        "kommunen '0484' heter 'Eskilstuna' på rad 10, inte 'Eskilstuna kommun'"),
    Bad("negativt värde", jam_cells(3, Värde=-5), JAM_FILE, "Nyckeltal", 5, "Värde", "mindre än 0"),
    Bad("värde som text", jam_cells(3, Värde="många"), JAM_FILE, "Nyckeltal", 5, "Värde", "'många' är inte ett tal"),
    Bad("år utanför intervallet", jam_cells(2, År=1999), JAM_FILE, "Nyckeltal", 4, "År", "mindre än 2000"),
    Bad("år i framtiden", jam_cells(2, År=dt.date.today().year + 1), JAM_FILE, "Nyckeltal", 4, "År", "ligger efter innevarande år"),
    Bad("samma rad två gånger", jam_duplicate, JAM_FILE, "Nyckeltal", 22, "År",
        "0580, R9, N33016 och 2019 finns redan på rad 7"),
    Bad("KPI-id saknas i rubrikraden", lambda raw: write_jam(raw, headers=[h for h in JAM_HEADERS if h != "KPI-id"]),
        JAM_FILE, "Nyckeltal", 1, "KPI-id", "kolumnen saknas"),
    Bad("jämförelsedata med år i filnamnet", lambda raw: write_jam(raw, name="jamforelse_2020.xlsx"),
        "jamforelse_2020.xlsx", None, None, None, "ska inte ange år"),
    Bad("kostnad: vårddygn saknas för HVB", kost_cell(0, "Vårddygn", None), KOST_FILE, "Kostnader", 2, "Vårddygn",
        "ska ha vårddygn"),
    Bad("kostnad: vårddygn för öppenvård", kost_cell(1, "Vårddygn", 12), KOST_FILE, "Kostnader", 3, "Vårddygn",
        "öppenvård har inga vårddygn"),
    Bad("kostnad: negativ kostnad", kost_cell(0, "Kostnad kr", -5.0), KOST_FILE, "Kostnader", 2, "Kostnad kr", "mindre än 0"),
    Bad("kostnad: okänd avtalstyp", kost_cell(0, "Avtalstyp", "Ramavtal"), KOST_FILE, "Kostnader", 2, "Avtalstyp",
        "'Ramavtal'"),
    Bad("kostnad: månad i annat år", kost_cell(0, "Månad", dt.datetime(YEAR - 1, 12, 1)), KOST_FILE, "Kostnader", 2,
        "Månad", "år"),
    Bad("kostnad: samma månad två gånger", kost_duplicate, KOST_FILE, "Kostnader", 6, "Placeringsform", "står redan"),
    Bad("budget: annat år", budget_cell(0, "År", YEAR + 1), KOST_FILE, "Budget", 2, "År", "inte filens år"),
    Bad("budget: okänd budgetpost", budget_cell(1, "Budgetpost", "Extra"), KOST_FILE, "Budget", 3, "Budgetpost", "'Extra'"),
    Bad("budget: samma post två gånger", budget_cell(1, "Budgetpost", "Budget"), KOST_FILE, "Budget", 3, "Budgetpost",
        "står redan"),
)

#: Bad input in the sheets of struktur beside Befolkning and in struktur_offentlig, checked by the
#: lighter :func:`test_bad_struktur_input_is_rejected` (one good ingest for all of them).
STRUKTUR_BAD_CASES = (
    # struktur: the optional sheets (Prognos, Arbetslöshet, Ekonomiskt bistånd, Skolresultat, Psykisk ohälsa)
    Bad("prognos: prognosår före filens år", str_cells("Prognos", 0, {"Prognosår": YEAR - 1}), STR_FILE, "Prognos", 2,
        "Prognosår", f"prognosåret {YEAR - 1} ligger före filens år {YEAR}"),
    Bad("prognos: samma stadsdel och år två gånger", str_rows("Prognos", again(4)), STR_FILE, "Prognos", 8, "Prognosår",
        f"stadsdelen 'Ryd' och prognosåret {YEAR + 1} finns redan på rad 6"),
    Bad("prognos: utgångsläget saknas", str_rows("Prognos", without(3)), STR_FILE, "Prognos", 5, "Prognosår",
        f"stadsdelen 'Ryd' har ingen rad för filens år {YEAR} (utgångsläget)"),
    Bad("prognos: ett prognosår saknas", str_rows("Prognos", without(5)), STR_FILE, "Prognos", 5, "Prognosår",
        f"stadsdelen 'Ryd' saknar prognosåret {YEAR + 2}, som andra stadsdelar har (t.ex. 'Berga', rad 4)"),
    Bad("arbetslöshet: fler arbetslösa än invånare", str_cells("Arbetslöshet", 1, {"Arbetslösa 18-64": 7000}), STR_FILE,
        "Arbetslöshet", 3, "Arbetslösa 18-64", "7000 arbetslösa är fler än de 6000 invånarna 18–64 år"),
    Bad("arbetslöshet: negativt antal", str_cells("Arbetslöshet", 2, {"Arbetslösa 18-64": -3}), STR_FILE,
        "Arbetslöshet", 4, "Arbetslösa 18-64", "mindre än 0"),
    Bad("arbetslöshet: samma stadsdel två gånger", str_rows("Arbetslöshet", again(0)), STR_FILE, "Arbetslöshet", 5,
        "Stadsdel", "stadsdelen 'Berga' finns redan på rad 2; högst en rad per stadsdel"),
    Bad("bistånd: fler barnfamiljer än hushåll med bistånd", str_cells("Ekonomiskt bistånd", 0, {"Varav barnfamiljer": 500}),
        STR_FILE, "Ekonomiskt bistånd", 2, "Varav barnfamiljer", "500 barnfamiljer är fler än de 400 hushållen med långvarigt"),
    Bad("bistånd: fler hushåll med bistånd än hushåll",
        str_cells("Ekonomiskt bistånd", 2, {"Hushåll med långvarigt bistånd": 9500}), STR_FILE, "Ekonomiskt bistånd", 4,
        "Hushåll med långvarigt bistånd", "9500 hushåll med långvarigt bistånd är fler än alla 9000 hushåll"),
    Bad("skolresultat: fler godkända än elever", str_cells("Skolresultat", 3, {"Uppnått alla ämnen": 29}), STR_FILE,
        "Skolresultat", 5, "Uppnått alla ämnen", "29 elever har uppnått alla ämnen, fler än de 28 eleverna i åk 9"),
    Bad("skolresultat: samma skola och kön två gånger", str_cells("Skolresultat", 1, {"Kön": "Flicka"}), STR_FILE,
        "Skolresultat", 3, "Kön", "skolan 'Bergaskolan' och könet 'Flicka' finns redan på rad 2"),
    Bad("skolresultat: skola i två stadsdelar", str_cells("Skolresultat", 3, {"Stadsdel": "Berga"}), STR_FILE,
        "Skolresultat", 5, "Stadsdel", "skolan 'Rydskolan' ligger i 'Ryd' på rad 4, inte i 'Berga'"),
    Bad("skolresultat: okänd stadsdel", str_cells("Skolresultat", 2, {"Stadsdel": "Atlantis"}), STR_FILE,
        "Skolresultat", 4, "Stadsdel", "okänd kod 'Atlantis'"),
    Bad("psykisk ohälsa: år efter filens år", str_cells(PSYK, 2, {"År": YEAR + 1}), STR_FILE, PSYK, 4, "År",
        f"året {YEAR + 1} ligger efter filens år {YEAR}"),
    Bad("psykisk ohälsa: samma rad två gånger", str_rows(PSYK, again(5)), STR_FILE, PSYK, 10, "År",
        f"'Östergötlands län', året {YEAR - 1} och måttet 'Besök i barn- och ungdomspsykiatrin' finns redan på rad 7"),
    Bad("psykisk ohälsa: fler än invånarna", str_cells(PSYK, 1, {"Antal": 40000}), STR_FILE, PSYK, 3, "Antal",
        "antalet 40000 är större än de 33000 invånarna 0–17 år"),
    Bad("psykisk ohälsa: kommunen över länet", str_cells(PSYK, 0, {"Antal": 100}), STR_FILE, PSYK, 2, "Antal",
        f"Linköpings antal (100) är större än Östergötlands läns (59, rad 6) för {YEAR - 1} och 'Psykiatrisk tvångsvård'"),
    Bad("psykisk ohälsa: antal som text", str_cells(PSYK, 3, {"Antal": "många"}), STR_FILE, PSYK, 5, "Antal",
        "'många' är inte ett heltal"),
    # struktur: Befolkning, one row per stadsdel and age group, every age group
    Bad("befolkning: samma stadsdel och åldersgrupp två gånger", lambda raw: write_struktur(raw, again(0)(bef_rows())),
        STR_FILE, "Befolkning", 2 + len(bef_rows()), "Åldersgrupp",
        "stadsdelen 'Berga' och åldersgruppen '0-5' finns redan på rad 2; högst en rad per stadsdel och åldersgrupp"),
    Bad("befolkning: åldersgrupper saknas", bef_without(("Ryd", "0-5"), ("Ryd", "18-20")), STR_FILE, "Befolkning", 4,
        "Åldersgrupp", "stadsdelen 'Ryd' saknar åldersgrupperna '0-5', '18-20'"),
    Bad("struktur: år saknas i serien", lambda raw: write_struktur(raw, name=f"struktur_{YEAR - 3}.xlsx"),
        f"struktur_{YEAR - 1}.xlsx", None, None, None, f"året {YEAR - 1} saknas i serien av struktur"),
    # struktur_offentlig: SCB's population by age and Kolada's key figures
    Bad("befolkning efter ålder: samma rad två gånger", off_rows("Befolkning", again(24)), OFF_FILE, "Befolkning", 42,
        "Ålder", f"regionen '0580', året {YEAR} och åldern 4 finns redan på rad 26"),
    Bad("befolkning efter ålder: åldrar saknas",
        off_rows("Befolkning", without(*(i for i, y, a in BEF_AGES if y == YEAR and a in (5, 7)))), OFF_FILE,
        "Befolkning", 22, "Ålder", f"åldrarna 5, 7 saknas för regionen '0580' (Linköping) år {YEAR}"),
    Bad("befolkning efter ålder: ett år saknas", lambda raw: write_offentlig(raw, befolkning=off_bef_rows((YEAR - 2, YEAR))),
        OFF_FILE, "Befolkning", 22, "År", f"året {YEAR - 1} saknas för regionen '0580' (Linköping)"),
    Bad("befolkning efter ålder: regionkod utan inledande nolla", off_cells("Befolkning", 0, {"Region-id": 580}), OFF_FILE,
        "Befolkning", 2, "Region-id", "'580' är inte en kommunkod med fyra siffror"),
    Bad("struktur nyckeltal: fel namn", off_cells("Nyckeltal", 2, {"Nyckeltal": "arbetsloshet"}), OFF_FILE, "Nyckeltal", 4,
        "Nyckeltal", "'arbetsloshet' är inte namnet på N31816; kodlistan kolada_struktur ger 'langvarigt_bistand'"),
    Bad("struktur nyckeltal: samma rad två gånger", off_rows("Nyckeltal", again(7)), OFF_FILE, "Nyckeltal", 14, "År",
        f"0000, N15508 och {YEAR} finns redan på rad 9"),
    Bad("struktur nyckeltal: negativt värde", off_cells("Nyckeltal", 1, {"Värde": -1.0}), OFF_FILE, "Nyckeltal", 3,
        "Värde", "mindre än 0"),
)


def assert_reported(problems: list[ingest.Problem], message: str, case: Bad) -> None:
    matching = [
        p for p in problems
        if (p.file, p.sheet, p.row, p.column) == (case.file, case.sheet, case.row, case.column) and case.rule in p.rule
    ]
    assert matching, f"expected {case} among:\n" + "\n".join(map(str, problems))
    assert str(matching[0]) in message
    # the message itself names each part
    assert case.file in message
    if case.sheet:
        assert f"blad '{case.sheet}'" in message
    if case.row:
        assert f"rad {case.row}" in message
    if case.column:
        assert f"kolumn '{case.column}'" in message
    assert case.rule in message


@pytest.mark.parametrize("case", BAD_CASES, ids=lambda c: c.id)
def test_bad_input_is_rejected_and_processed_is_untouched(case, ingested, capsys):
    raw, processed, _ = ingested
    before = snapshot(processed)
    case.mutate(raw)

    with pytest.raises(ingest.RawDataError) as excinfo:
        ingest.run(raw, processed)
    assert_reported(excinfo.value.problems, str(excinfo.value), case)
    assert snapshot(processed) == before
    assert leftovers(processed.parent) == []

    assert ingest.main(["--raw", str(raw), "--processed", str(processed)]) == ingest.EXIT_BAD_INPUT == 2
    captured = capsys.readouterr()
    assert_reported(excinfo.value.problems, captured.err, case)
    assert "Inläsningen klar" not in captured.out
    assert snapshot(processed) == before
    assert leftovers(processed.parent) == []


@pytest.fixture(scope="module")
def good_once(tmp_path_factory) -> tuple[Path, Path]:
    """The good raw set, ingested once for the module (``processed`` must stay as it is)."""
    root = tmp_path_factory.mktemp("good")
    raw = write_good_raw(root / "raw")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(PSEUDONYM_KEY_ENV, KEY)
        ingest.run(raw, root / "processed")
    return raw, root / "processed"


@pytest.mark.parametrize("case", STRUKTUR_BAD_CASES, ids=lambda c: c.id)
def test_bad_struktur_input_is_rejected(case, good_once, tmp_path):
    """As :func:`test_bad_input_is_rejected_and_processed_is_untouched` (the command line's exit code is
    tested there), on a copy of the good raw set ingested once."""
    good_raw, processed = good_once
    raw = Path(shutil.copytree(good_raw, tmp_path / "raw"))
    before = snapshot(processed)
    case.mutate(raw)
    with pytest.raises(ingest.RawDataError) as excinfo:
        ingest.run(raw, processed)
    assert_reported(excinfo.value.problems, str(excinfo.value), case)
    assert snapshot(processed) == before
    assert leftovers(processed.parent) == []


def test_all_problems_are_reported_at_once(ingested):
    raw, processed, _ = ingested
    rows = akt_rows()
    rows[0]["Orsakskod"] = "B99"
    rows[1]["Beslut"] = "okänt"
    rows[4]["Inkom datum"] = "igår"
    write_akt(raw, rows)
    write_struktur(raw, sheet="Blad1")
    with pytest.raises(ingest.RawDataError) as excinfo:
        ingest.run(raw, processed)
    found = {(p.file, p.sheet, p.row, p.column) for p in excinfo.value.problems}
    assert found == {
        (AKT_FILE, AKT_SHEET.name, 2, "Orsakskod"),
        (AKT_FILE, AKT_SHEET.name, 3, "Beslut"),
        (AKT_FILE, AKT_SHEET.name, 6, "Inkom datum"),
        (STR_FILE, "Befolkning", None, None),
    }
    assert str(excinfo.value).startswith("Rådata följer inte datakontraktet (4 fel):")


def test_missing_age_is_one_problem_not_three(ingested):
    """An empty Ålder is reported as missing, without follow-on errors from the cross-checks."""
    raw, processed, _ = ingested
    cell(0, "Ålder", None)(raw)
    with pytest.raises(ingest.RawDataError) as excinfo:
        ingest.run(raw, processed)
    assert [str(p) for p in excinfo.value.problems] == [f"{AKT_FILE}, blad '{AKT_SHEET.name}', rad 2, kolumn 'Ålder': värde saknas"]


def test_long_lists_of_problems_are_cut(raw, tmp_path):
    rows = akt_rows()
    for i in range(30):
        row = dict(akt_rows()[0])
        row["Aktualiserings-ID"] = f"A{YEAR}-{90000 + i:05d}"
        row["Orsakskod"] = "Z99"
        rows.append(row)
    write_akt(raw, rows)
    with pytest.raises(ingest.RawDataError) as excinfo:
        ingest.run(raw, tmp_path / "processed")
    assert len(excinfo.value.problems) == 30
    message = str(excinfo.value)
    assert message.count("okänd kod 'Z99'") == ingest.MAX_REPORTED
    assert "och 10 till" in message
    assert not (tmp_path / "processed").exists()


def test_a_broken_cell_is_one_problem(ingested):
    """An unreadable Slutdatum is reported once: the rules that use it (Utfall only for ended
    cases, Slutdatum after Startdatum, the insats after the utredning) leave the row out."""
    raw, processed, _ = ingested
    utr_cells(0, Slutdatum="snart")(raw)
    with pytest.raises(ingest.RawDataError) as excinfo:
        ingest.run(raw, processed)
    assert [str(p) for p in excinfo.value.problems] == [
        f"{UTR_FILE}, blad 'Utredningar', rad 2, kolumn 'Slutdatum': 'snart' är inte ett datum (ÅÅÅÅ-MM-DD)"]


def test_text_dates_and_date_times_as_text_are_read(raw, tmp_path):
    """A date written as text is read if it is the date alone or a date-time (the time dropped, as
    for a date-time cell); longer text is refused, never cut to ten characters (see BAD_CASES)."""
    rows = akt_rows()
    rows[0]["Inkom datum"] = f"{YEAR}-03-02 00:00:00"
    rows[1]["Inkom datum"] = f"{YEAR}-06-15T13:45"
    rows[2]["Inkom datum"] = f" {YEAR}-02-27 "
    write_akt(raw, rows)
    ingest.run(raw, tmp_path / "processed")
    df = ingest.load("aktualiseringar", tmp_path / "processed")
    assert list(df["inkom_datum"][:3]) == [pd.Timestamp(YEAR, 3, 2), pd.Timestamp(YEAR, 6, 15), pd.Timestamp(YEAR, 2, 27)]


def test_formulas_and_merged_cells_outside_the_contracts_columns_are_ignored(raw, tmp_path):
    """As the values of columns outside the contract are: a note column with a formula and a merged
    range does not stop ingest."""

    def edit(ws) -> None:
        col = len(AKT_HEADERS) + 1
        ws.cell(1, col, "Anteckning")
        ws.cell(2, col, "=1+1")
        ws.merge_cells(start_row=3, start_column=col, end_row=4, end_column=col + 1)

    akt_edited(edit)(raw)
    ingest.run(raw, tmp_path / "processed")


def test_every_formula_cell_is_named(ingested):
    """Each formula cell of the contract's columns is one problem naming its cell and formula; the
    sheet is not read further (its values cannot be trusted), so nothing else is reported for it."""
    raw, processed, _ = ingested

    def edit(ws) -> None:
        ws[f"{akt_letter('Ålder')}2"] = "=DATEDIF(C2,TODAY(),\"Y\")"
        ws[f"{akt_letter('Stadsdel')}5"] = "=I4"

    akt_edited(edit)(raw)
    with pytest.raises(ingest.RawDataError) as excinfo:
        ingest.run(raw, processed)
    akt = [str(p) for p in excinfo.value.problems if p.file == AKT_FILE]
    assert [a.split(": klistra")[0].split(", inte ett värde")[0] for a in akt] == [
        f"{AKT_FILE}, blad '{AKT_SHEET.name}', rad 2, kolumn 'Ålder': cellen {akt_letter('Ålder')}2 innehåller en formel "
        "(=DATEDIF(C2,TODAY(),\"Y\"))",
        f"{AKT_FILE}, blad '{AKT_SHEET.name}', rad 5, kolumn 'Stadsdel': cellen {akt_letter('Stadsdel')}5 innehåller en "
        "formel (=I4)",
    ]
    assert all("klistra in som värden" in a for a in akt)


def test_links_into_an_unreadable_extract_are_not_checked(ingested):
    """If a file of the referred extract cannot be read, its ids are unknown: only that problem is
    reported, not a dangling reference for every utredning and insats."""
    raw, processed, _ = ingested
    write_akt(raw, sheet="Blad1")
    with pytest.raises(ingest.RawDataError) as excinfo:
        ingest.run(raw, processed)
    assert [str(p) for p in excinfo.value.problems] == [f"{AKT_FILE}, blad '{AKT_SHEET.name}': bladet saknas"]
    (raw / UTR_FILE).unlink()
    write_akt(raw)
    with pytest.raises(ingest.RawDataError) as excinfo:
        ingest.run(raw, processed)
    assert [str(p) for p in excinfo.value.problems] == ["utredningar_ÅÅÅÅ.xlsx: extraktet saknas i data/raw"]


def test_cross_file_problems_are_reported_with_the_others(ingested):
    """Problems in single files and between files come in one report."""
    raw, processed, _ = ingested
    cell(0, "Orsakskod", "B99")(raw)
    ins_cells(3, Utrednings_ID="U2020-9999")(raw)
    with pytest.raises(ingest.RawDataError) as excinfo:
        ingest.run(raw, processed)
    assert [(p.file, p.row, p.column) for p in excinfo.value.problems] == [
        (AKT_FILE, 2, "Orsakskod"), (INS_FILE, 5, "Utrednings-ID")]


def test_links_span_the_years(ingested):
    """An utredning may follow an aktualisering of an earlier year, and an insats an utredning of
    an earlier year; the first year's file may hold cases begun before it."""
    raw, processed, _ = ingested
    write_akt(raw, akt_rows(2019), name="aktualiseringar_2019.xlsx")
    start = dt.date(2021, 1, 20)
    write_ins(raw, [{"Insats-ID": "I2021-0001", "Utrednings-ID": "U2020-0001", **child(0, start), "Stadsdel": "Berga",
                     "Insatstyp": "Kontaktfamilj", "Grund": "Bistånd", "Orsakskod": "B06", "Startdatum": _dt(start)}],
              name="insatser_2021.xlsx")
    rows = utr_rows()
    rows[1]["Aktualiserings-ID"] = "A2019-00005"  # the same child, a year earlier
    write_utr(raw, rows)
    manifest = ingest.run(raw, processed)
    assert manifest["outputs"]["insatser.parquet"]["rows"] == len(ins_rows()) + 1
    assert sorted(ingest.load("insatser", processed)["ar"].unique().tolist()) == [2020, 2021]


def test_a_change_of_placement_form_may_continue_in_a_later_year(ingested):
    """A placement ended by Byte av placeringsform on 31 December is followed by one begun on 1
    January in the next year's file; without that file the next placement is not yet delivered and
    the rule is not checked; with it, a missing next placement is reported."""
    raw, processed, _ = ingested
    rows = ins_rows()
    rows[3].update({"Slutdatum": _dt(dt.date(2020, 12, 31)), "Avslutsorsak": "Byte av placeringsform"})
    write_ins(raw, rows)
    ingest.run(raw, processed)  # no insatser of 2021: not checked
    start = dt.date(2021, 1, 1)
    nxt = {**rows[3], "Insats-ID": "I2021-0001", "Utrednings-ID": None, **child(0, start), "Insatstyp": "HVB",
           "Registrerad som": "HVB", "Startdatum": _dt(start), "Slutdatum": None, "Avslutsorsak": None}
    write_ins(raw, [nxt], name=INS_2021_FILE)
    ingest.run(raw, processed)
    assert ingest.load("insatser", processed)["insats_id"].tolist()[-1] == pid("I2021-0001", "insats_id")
    write_ins(raw, [{**nxt, "Lagrum": "LVU 2 §"}], name=INS_2021_FILE)
    with pytest.raises(ingest.RawDataError) as excinfo:
        ingest.run(raw, processed)
    assert [(p.file, p.row, p.column) for p in excinfo.value.problems] == [(INS_FILE, 5, "Avslutsorsak")]


def test_stodboende_is_registered_as_its_own_form_from_2021(ingested):
    """From 2021 a stödboende placement is registered as stödboende, in insatser and in the review
    on 31 December; one begun in 2020 stays registered as HVB. The same placements are in the
    reviews of both years (Insats-ID and Personnummer are unique within a file only)."""
    raw, processed, _ = ingested
    december_2021()(raw)
    manifest = ingest.run(raw, processed)
    assert manifest["outputs"]["placeringar_december.parquet"]["rows"] == len(dec_rows()) + len(dec_2021_rows())
    dec = ingest.load("placeringar_december", processed)
    assert_contract_dtypes(dec, DEC_SHEET)
    last = dec[dec["ar"] == 2021].set_index("insats_id")
    assert last["registrerad_som"].astype(str).to_dict() == {
        pid("I2020-0007", "insats_id"): "HVB", pid("I2020-0008", "insats_id"): "HVB", pid("I2021-0001", "insats_id"): "Stödboende"}
    assert last["alder"].tolist() == [18, 20, 19]


def test_missing_raw_folder(tmp_path):
    with pytest.raises(ingest.RawDataError, match="finns inte"):
        ingest.run(tmp_path / "saknas", tmp_path / "processed")
    assert not (tmp_path / "processed").exists()


def test_command_line_exit_code(ingested):
    raw, processed, _ = ingested
    before = snapshot(processed)
    cell(1, "Orsakskod", "B99")(raw)
    env = {**os.environ, PSEUDONYM_KEY_ENV: KEY}
    result = subprocess.run(
        [sys.executable, "-m", "helpers.data.ingest", "--raw", str(raw), "--processed", str(processed)],
        capture_output=True, text=True, env=env, timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert f"{AKT_FILE}, blad '{AKT_SHEET.name}', rad 3, kolumn 'Orsakskod': okänd kod 'B99'" in result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot(processed) == before


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, Path, dict]:
    """The synthetic demo (every year the generator writes), ingested."""
    from helpers.data.synth import generate

    root = tmp_path_factory.mktemp("demo")
    generate.main(root / "raw")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(PSEUDONYM_KEY_ENV, KEY)
        made = ingest.run(root / "raw", root / "processed")
    return root / "raw", root / "processed", made


def test_the_demo_ingests_without_problems(demo):
    raw, processed, made = demo
    assert made["synthetic"] is True
    names = {e.name for e in contract.EXTRACTS if e.needed_by_demo}
    assert {i["extract"] for i in made["inputs"].values()} >= names
    for sheet in (AKT_SHEET, UTR_SHEET, INS_SHEET):
        df = ingest.load(sheet.table, processed)
        assert len(df) > 0, sheet.table
        assert_contract_dtypes(df, sheet)
    utr = ingest.load("utredningar", processed)
    ins = ingest.load("insatser", processed)
    for df in (utr, ins):
        assert df["slut_datum"].isna().any() and df["slut_datum"].notna().any(), "ongoing and ended cases"


def test_only_generator_workbooks_count_as_synthetic(raw, tmp_path):
    from helpers.data.synth import generate

    hand_made = ingest.run(raw, tmp_path / "p1")  # workbooks written by the test, not by the generator
    assert hand_made["synthetic"] is False
    assert not any(i["synthetic"] for i in hand_made["inputs"].values())
    demo = tmp_path / "demo"
    generate.main(demo, years=[2020])
    made = ingest.run(demo, tmp_path / "p2")
    assert made["synthetic"] is True and all(i["synthetic"] for i in made["inputs"].values())
    assert ingest.manifest(tmp_path / "p2")["synthetic"] is True


def test_is_current_follows_the_ingest_code(ingested, monkeypatch):
    raw_dir, processed, _ = ingested
    assert ingest.is_current(raw_dir, processed)
    monkeypatch.setattr(ingest, "ingest_code_hash", lambda: "changed")
    assert not ingest.is_current(raw_dir, processed)
