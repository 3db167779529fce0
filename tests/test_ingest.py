"""Ingest: small contract-valid workbooks go through; every kind of bad input is stopped.

The workbooks are written here with openpyxl, from the headers in :mod:`helpers.data.contract`. The
personnummer are synthetic (:func:`helpers.data.pnr.make` with födelsenummer 980–999) and consistent
with Ålder at Inkom datum, as the contract demands. Each bad-input case checks that ingest raises
a :class:`RawDataError` naming file, sheet, Excel row, column and rule, that the command line
exits with 2, and that a ``processed_dir`` from an earlier good run is left byte for byte as it was.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
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
KEY = "unit-test-key-for-ingest"
AKT_FILE = f"aktualiseringar_{YEAR}.xlsx"
STR_FILE = f"struktur_{YEAR}.xlsx"
AKT_SHEET = contract.AKTUALISERINGAR.sheets[0]
BEF_SHEET = next(s for s in contract.STRUKTUR.sheets if s.name == "Befolkning")
AKT_HEADERS = [c.header for c in AKT_SHEET.columns]
BEF_HEADERS = [c.header for c in BEF_SHEET.columns]


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


def bef_rows() -> list[dict[str, object]]:
    return [
        {"Stadsdel": "Berga", "Åldersgrupp": "0-5", "Antal": 1200},
        {"Stadsdel": "Centrum", "Åldersgrupp": "6-12", "Antal": 900},
        {"Stadsdel": "Ryd", "Åldersgrupp": "13-17", "Antal": 0},
    ]


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


def write_struktur(raw: Path, rows: list[dict] | None = None, sheet: str = BEF_SHEET.name,
                   name: str = STR_FILE) -> None:
    write_xlsx(raw / name, {sheet: table(BEF_HEADERS, bef_rows() if rows is None else rows)})


def write_good_raw(raw: Path) -> Path:
    raw.mkdir(parents=True, exist_ok=True)
    write_akt(raw)
    write_struktur(raw)
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
    assert sorted(p.name for p in processed.iterdir()) == ["aktualiseringar.parquet", "befolkning.parquet", "manifest.json"]
    assert json.loads((processed / "manifest.json").read_text(encoding="utf-8")) == manifest

    inputs = manifest["inputs"]
    assert set(inputs) == {AKT_FILE, STR_FILE}
    for name, info in inputs.items():
        assert info["sha256"] == hashlib.sha256((raw / name).read_bytes()).hexdigest()
        assert info["year"] == YEAR
    assert inputs[AKT_FILE]["extract"] == "aktualiseringar"
    assert inputs[AKT_FILE]["rows"] == {"aktualiseringar": len(PERSONS)}
    assert inputs[STR_FILE]["rows"] == {"befolkning": len(bef_rows())}

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
    assert akt["aktualisering_id"].tolist() == [r["Aktualiserings-ID"] for r in expected]
    assert akt["inkom_datum"].dt.date.tolist() == [r["Inkom datum"].date() for r in expected]
    assert akt["alder"].tolist() == [r["Ålder"] for r in expected]
    assert akt["aktualiseringstyp"].astype(str).tolist() == [r["Aktualiseringstyp"] for r in expected]
    assert akt["anmalare"].isna().tolist() == [r["Anmälare"] is None for r in expected]
    assert akt["alder"].tolist()[3:] == [17, 18], "birthday on Inkom datum counts"


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
    monkeypatch.delenv(PSEUDONYM_KEY_ENV)
    assert ingest.run(raw, tmp_path / "c")["pseudonym_key"] == "demo"


def test_several_years_are_stacked(raw, tmp_path):
    write_akt(raw, akt_rows(2019), name="aktualiseringar_2019.xlsx")
    write_struktur(raw, name="struktur_2019.xlsx")
    manifest = ingest.run(raw, tmp_path / "processed")
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
        if extract in (contract.AKTUALISERINGAR,):
            continue  # cross-column rules: the hand-made rows above
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
    assert ingest.load("budget", tmp_path / "processed")["ar"].tolist() == [2000, 2001, 2002], "the sheet's own År"


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


def unknown_filename(raw: Path) -> None:
    write_akt(raw, name="aktualiseringar-2020.xlsx")


def yearless(raw: Path) -> None:
    write_struktur(raw, name="struktur.xlsx")


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
    Bad("textfil som .xlsx", text_file, AKT_FILE, None, None, None, "inte en Excel-arbetsbok"),
    Bad("zip som inte är xlsx", zip_not_xlsx, AKT_FILE, None, None, None, "kan inte läsas"),
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
    rows = []
    for i in range(30):
        row = dict(akt_rows()[0])
        row["Aktualiserings-ID"] = f"A{YEAR}-{i:05d}"
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
