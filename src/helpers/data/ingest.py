"""Ingest: ``data/raw`` (Excel extracts) → validation → pseudonymisation → ``data/processed``.

Every raw workbook is checked against :mod:`helpers.data.contract` before anything is written. A broken
rule stops ingest with a :class:`RawDataError` naming file, sheet, row, column and rule, and
``data/processed`` is left exactly as it was: tables are written to a staging folder beside it,
and only a complete, validated set is swapped in, together with ``manifest.json`` (input hashes,
row counts, code version).

Command line: ``python -m helpers.data.ingest [--raw DIR] [--processed DIR]`` (:func:`main`) exits with
0 on success and 2 on bad input, printing the problems to stderr.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from helpers import __version__
from helpers.config import DEMO_PSEUDONYM_KEY, PATHS, PSEUDONYM_KEY_ENV
from helpers.data import codes, pnr
from helpers.data.contract import EXTRACTS, Column, Extract, Sheet
from helpers.provenance import git_info, hash_files, swap_dir

MAX_REPORTED = 20
EXIT_BAD_INPUT = 2
_FILE_RE = re.compile(r"^(?P<name>[a-z_]+?)(?:_(?P<year>\d{4}))?\.xlsx$")

#: Rules across columns, per processed table, in words (checked in :func:`read_extract`;
#: listed here, beside the checks, so that ``data/raw/README.md`` documents them).
CROSS_COLUMN_RULES: dict[str, tuple[str, ...]] = {
    "aktualiseringar": (
        "`Ålder` ska vara barnets ålder i hela år vid `Inkom datum`, räknad från födelsedatumet i "
        "`Personnummer` (för samordningsnummer: dagen minus 60).",
        "`Aktualiseringstyp` ska sluta på `0-17` om och endast om `Ålder` är högst 17 år "
        "(annars `18-20`).",
    ),
}


@dataclass(frozen=True)
class Problem:
    file: str
    sheet: str | None
    row: int | None  # Excel row number (header is row 1)
    column: str | None
    rule: str

    def __str__(self) -> str:
        where = [self.file]
        if self.sheet:
            where.append(f"blad '{self.sheet}'")
        if self.row:
            where.append(f"rad {self.row}")
        if self.column:
            where.append(f"kolumn '{self.column}'")
        return ", ".join(where) + f": {self.rule}"


class RawDataError(Exception):
    """Raw input breaks the contract. ``problems`` lists every broken rule found (up to 20)."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        shown = "\n".join(f"  - {p}" for p in problems[:MAX_REPORTED])
        more = f"\n  … och {len(problems) - MAX_REPORTED} till" if len(problems) > MAX_REPORTED else ""
        super().__init__(f"Rådata följer inte datakontraktet ({len(problems)} fel):\n{shown}{more}")


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def pseudonym_key() -> tuple[str, str]:
    """The HMAC key and where it came from (``env`` or ``demo``)."""
    key = os.environ.get(PSEUDONYM_KEY_ENV)
    if key:
        return key, "env"
    return DEMO_PSEUDONYM_KEY, "demo"


# --------------------------------------------------------------------------------------------
# Reading and validating one sheet
# --------------------------------------------------------------------------------------------


def _allowed(col: Column) -> set[str] | None:
    if col.codes is None:
        return None
    if isinstance(col.codes, str):
        return set(codes.values(col.codes))
    return set(col.codes)


def _read_sheet(path: Path, sheet: Sheet, problems: list[Problem]) -> pd.DataFrame | None:
    fname = path.name
    try:
        frame = pd.read_excel(path, sheet_name=sheet.name, dtype=object, engine="openpyxl")
    except ValueError as exc:
        if "not found" in str(exc).lower() or "worksheet" in str(exc).lower():
            if sheet.required:
                problems.append(Problem(fname, sheet.name, None, None, "bladet saknas"))
            return None
        raise
    if frame.empty and len(frame.columns) == 0:
        problems.append(Problem(fname, sheet.name, None, None, "bladet är tomt (ingen rubrikrad)"))
        return None
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c.header for c in sheet.columns if c.header not in frame.columns]
    for header in missing:
        problems.append(Problem(fname, sheet.name, 1, header, "kolumnen saknas i rubrikraden"))
    if missing:
        return None
    if frame.empty:
        problems.append(Problem(fname, sheet.name, 2, None, "bladet har inga datarader"))
        return None
    return frame


def _check_column(
    frame: pd.DataFrame, col: Column, fname: str, sheet: str, year: int | None, problems: list[Problem]
) -> pd.Series:
    """Validate and convert one column; return the typed Series."""
    raw = frame[col.header]
    out: list[object] = []
    allowed = _allowed(col)

    def bad(i: int, rule: str) -> None:
        problems.append(Problem(fname, sheet, i + 2, col.header, rule))

    for i, value in enumerate(raw.tolist()):
        if value is None or (isinstance(value, float) and pd.isna(value)) or (isinstance(value, str) and not value.strip()):
            if col.required:
                bad(i, "värde saknas")
            out.append(None)
            continue
        try:
            if col.kind == "date":
                if isinstance(value, dt.datetime):
                    v = value.date()
                elif isinstance(value, dt.date):
                    v = value
                else:
                    v = dt.date.fromisoformat(str(value).strip()[:10])
                if col.in_year and year is not None and v.year != year:
                    bad(i, f"datumet {v.isoformat()} ligger utanför extraktets år {year}")
                out.append(v)
                continue
            if col.kind == "int":
                if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                    raise ValueError
                v = int(str(value).strip()) if isinstance(value, str) else int(value)
            elif col.kind == "float":
                v = float(str(value).replace(",", ".").replace("\u00a0", "").replace(" ", "")) if isinstance(value, str) else float(value)
            elif col.kind == "bool":
                s = str(value).strip().lower()
                if s not in {"ja", "nej", "true", "false", "1", "0"}:
                    raise ValueError
                v = s in {"ja", "true", "1"}
            elif col.kind == "pnr":
                try:
                    v = pnr.normalise(str(value))
                except ValueError as exc:
                    bad(i, f"ogiltigt personnummer ({exc})")
                    out.append(None)
                    continue
            else:
                v = str(value).strip()
        except (ValueError, TypeError):
            kinds = {"date": "ett datum (ÅÅÅÅ-MM-DD)", "int": "ett heltal", "float": "ett tal", "bool": "Ja eller Nej"}
            bad(i, f"'{value}' är inte {kinds.get(col.kind, col.kind)}")
            out.append(None)
            continue
        if allowed is not None and v not in allowed:
            bad(i, f"okänd kod '{v}' (tillåtna: {', '.join(sorted(allowed))[:200]})")
        if col.min is not None and isinstance(v, int | float) and v < col.min:
            bad(i, f"värdet {v} är mindre än {col.min:g}")
        if col.max is not None and isinstance(v, int | float) and v > col.max:
            bad(i, f"värdet {v} är större än {col.max:g}")
        out.append(v)

    series = pd.Series(out, name=col.name, index=frame.index, dtype=object)
    if col.unique:
        dup = series[series.notna() & series.duplicated(keep="first")]
        for i, v in dup.items():
            bad(int(i), f"id '{v}' förekommer mer än en gång")
    return series


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and pd.isna(value))


def _typed(series: pd.Series, col: Column) -> pd.Series:
    if col.kind == "date":
        return pd.to_datetime(series)
    if col.kind == "int":
        return series.astype("Int64")
    if col.kind == "float":
        return series.astype("Float64")
    if col.kind == "bool":
        return series.astype("boolean")
    if col.kind == "code":
        return series.astype("category") if col.codes else series.astype("string")
    return series.astype("string")


def read_extract(path: Path, extract: Extract, year: int | None, key: str) -> tuple[dict[str, pd.DataFrame], list[Problem]]:
    """Validate one workbook; return its tidy tables (pseudonymised) and the problems found."""
    problems: list[Problem] = []
    fname = path.name
    if not zipfile.is_zipfile(path):
        return {}, [Problem(fname, None, None, None, "filen är inte en Excel-arbetsbok (.xlsx)")]
    try:
        import openpyxl

        wb = openpyxl.load_workbook(path, read_only=True)
        wb.close()
    except Exception as exc:  # noqa: BLE001 - any reader failure is a broken file
        return {}, [Problem(fname, None, None, None, f"arbetsboken kan inte läsas ({type(exc).__name__})")]

    tables: dict[str, pd.DataFrame] = {}
    for sheet in extract.sheets:
        frame = _read_sheet(path, sheet, problems)
        if frame is None:
            continue
        cols = {}
        for col in sheet.columns:
            cols[col.name] = _check_column(frame, col, fname, sheet.name, year, problems)
        df = pd.DataFrame(cols)
        # cross-column rules
        if "person_id" in df and "alder" in df and "inkom_datum" in df:
            for i, (p, a, d) in enumerate(zip(df["person_id"], df["alder"], df["inkom_datum"], strict=True)):
                if _missing(p) or _missing(a) or _missing(d):
                    continue
                b = pnr.birth_date(p)
                age = d.year - b.year - ((d.month, d.day) < (b.month, b.day))
                if age != a:
                    problems.append(Problem(fname, sheet.name, i + 2, "Ålder", f"åldern {a} stämmer inte med personnumret (ger {age} år vid inkomstdatum)"))
        if "aktualiseringstyp" in df and "alder" in df:
            for i, (t, a) in enumerate(zip(df["aktualiseringstyp"], df["alder"], strict=True)):
                if _missing(t) or _missing(a):
                    continue
                young = str(t).endswith("0-17")
                if young != (a <= 17):
                    problems.append(Problem(fname, sheet.name, i + 2, "Aktualiseringstyp", f"'{t}' passar inte åldern {a}"))
        if problems:
            continue
        for header in extract.pseudonymise:
            colname = next(c.name for c in sheet.columns if c.header == header)
            df[colname] = pd.Series([None if _missing(v) else pnr.pseudonymise(v, key) for v in df[colname]], index=df.index, dtype=object)
        for col in sheet.columns:
            df[col.name] = _typed(df[col.name], col) if col.kind != "pnr" else df[col.name].astype("string")
        if year is not None and "ar" not in df.columns:  # a sheet's own year column (Budget: År) wins
            df.insert(0, "ar", pd.array([year] * len(df), dtype="Int64"))
        tables[sheet.table] = df
    return tables, problems


# --------------------------------------------------------------------------------------------
# The whole folder
# --------------------------------------------------------------------------------------------


def discover(raw_dir: Path) -> tuple[list[tuple[Path, Extract, int | None]], list[Problem]]:
    """Match the files in ``raw_dir`` to extracts of the contract."""
    by_name = {e.name: e for e in EXTRACTS}
    found: list[tuple[Path, Extract, int | None]] = []
    problems: list[Problem] = []
    for path in sorted(raw_dir.iterdir()):
        if _ignored(path):
            continue
        m = _FILE_RE.match(path.name)
        if not m or m.group("name") not in by_name:
            problems.append(Problem(path.name, None, None, None, "filnamnet motsvarar inget extrakt i datakontraktet (väntat t.ex. aktualiseringar_2020.xlsx)"))
            continue
        extract = by_name[m.group("name")]
        year = int(m.group("year")) if m.group("year") else None
        if extract.yearly != (year is not None):
            problems.append(Problem(path.name, None, None, None, "filnamnet ska " + ("ange år" if extract.yearly else "inte ange år")))
            continue
        found.append((path, extract, year))
    for extract in EXTRACTS:
        if extract.needed_by_demo and not any(e is extract for _, e, _ in found):
            problems.append(Problem(extract.filename(0).replace("_0", "_ÅÅÅÅ"), None, None, None, "extraktet saknas i data/raw"))
    return found, problems


def ingest_code_hash() -> str:
    """Hash of the code and code lists that shape ``data/processed`` (ingest, contract, pnr, codes)."""
    here = Path(__file__).parent
    files = [here / n for n in ("ingest.py", "contract.py", "pnr.py", "codes.py")]
    return hash_files([*files, *(here / "codelists").glob("*.csv")])


def code_version() -> dict[str, object]:
    git = git_info("src")
    return {"helpers": __version__, "ingest_sha256": ingest_code_hash(),
            "commit": git["commit"], "src_dirty": git["dirty"]}


#: ``dc:creator`` that :mod:`helpers.data.synth.generate` writes into every synthetic workbook.
SYNTHETIC_CREATOR = "genomlysning synthetic generator"


def is_synthetic(path: Path) -> bool:
    """True if the workbook was written by the project's synthetic-data generator."""
    try:
        with zipfile.ZipFile(path) as z:
            core = z.read("docProps/core.xml").decode("utf-8", errors="replace")
    except (KeyError, zipfile.BadZipFile, OSError):
        return False
    return f">{SYNTHETIC_CREATOR}<" in core


def _ignored(path: Path) -> bool:
    """Files in ``data/raw`` that are not extracts: hidden files, Excel lock files, notes."""
    return path.name.startswith((".", "~$")) or path.suffix.lower() in {".md", ".txt"} or path.is_dir()


def input_hashes(raw_dir: Path) -> dict[str, str]:
    return {p.name: sha256(p) for p in sorted(raw_dir.glob("*.xlsx")) if not _ignored(p)}


def is_current(raw_dir: Path | None = None, processed_dir: Path | None = None) -> bool:
    """True if ``data/processed`` was made from exactly the files now in ``data/raw``, by the
    ingest code and code lists of this checkout."""
    raw_dir = raw_dir or PATHS.raw
    processed_dir = processed_dir or PATHS.processed
    manifest = processed_dir / "manifest.json"
    if not manifest.is_file() or not raw_dir.is_dir():
        return False
    data = json.loads(manifest.read_text(encoding="utf-8"))
    if data.get("code", {}).get("ingest_sha256") != ingest_code_hash():
        return False  # the ingest code or a code list changed since
    recorded = {k: v["sha256"] for k, v in data["inputs"].items()}
    return recorded == input_hashes(raw_dir)


def run(raw_dir: Path | None = None, processed_dir: Path | None = None) -> dict:
    """Validate every extract in ``raw_dir`` and write ``processed_dir`` atomically.

    Returns the manifest. Raises :class:`RawDataError` (and writes nothing) if any rule is broken.
    """
    raw_dir = Path(raw_dir or PATHS.raw)
    processed_dir = Path(processed_dir or PATHS.processed)
    if not raw_dir.is_dir():
        raise RawDataError([Problem(str(raw_dir), None, None, None, "mappen med rådata finns inte")])
    key, key_source = pseudonym_key()
    found, problems = discover(raw_dir)
    collected: dict[str, list[pd.DataFrame]] = {}
    inputs: dict[str, dict] = {}
    for path, extract, year in found:
        tables, probs = read_extract(path, extract, year, key)
        problems.extend(probs)
        inputs[path.name] = {"sha256": sha256(path), "extract": extract.name, "year": year, "rows": {t: len(df) for t, df in tables.items()}, "synthetic": is_synthetic(path)}
        for table, df in tables.items():
            collected.setdefault(table, []).append(df)
    if problems:
        raise RawDataError(problems)

    processed_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".processed-", dir=processed_dir.parent))
    try:
        outputs = {}
        for table, frames in sorted(collected.items()):
            df = pd.concat(frames, ignore_index=True)
            for c in df.columns:
                if isinstance(frames[0][c].dtype, pd.CategoricalDtype):
                    df[c] = df[c].astype("category")
            target = staging / f"{table}.parquet"
            df.to_parquet(target, index=False)
            outputs[target.name] = {"rows": len(df), "sha256": sha256(target)}
        manifest = {
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "code": code_version(),
            "pseudonym_key": key_source,
            # True only if every extract comes from the demo generator: the report then says so
            # on every page. Any real extract makes the whole dataset count as real.
            "synthetic": bool(inputs) and all(i["synthetic"] for i in inputs.values()),
            "inputs": inputs,
            "outputs": outputs,
        }
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        if processed_dir.is_dir():
            for keep in processed_dir.iterdir():
                if keep.is_file() and not _owned(keep):
                    shutil.copy2(keep, staging / keep.name)
        swap_dir(staging, processed_dir)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return manifest


def _owned(path: Path) -> bool:
    """Files in ``data/processed`` that ingest writes (and replaces); others, such as
    ``README.md``, are carried over unchanged."""
    return path.suffix == ".parquet" or path.name == "manifest.json"


def load(table: str, processed_dir: Path | None = None) -> pd.DataFrame:
    """Read one processed table (the only way notebooks read data)."""
    processed_dir = Path(processed_dir or PATHS.processed)
    path = processed_dir / f"{table}.parquet"
    if not path.is_file():
        raise FileNotFoundError(f"{path} saknas: kör `make data` (genomlysning ingest) först.")
    return pd.read_parquet(path)


def manifest(processed_dir: Path | None = None) -> dict:
    """The manifest of the processed data (``manifest.json``)."""
    path = Path(processed_dir or PATHS.processed) / "manifest.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} saknas: kör `make data` (eller `genomlysning data`) först")
    return json.loads(path.read_text(encoding="utf-8"))


def fingerprint(processed_dir: Path | None = None, data_manifest: dict | None = None) -> str:
    """A short fingerprint of the input data (from the manifest's input hashes)."""
    inputs = (data_manifest or manifest(processed_dir))["inputs"]
    joined = "".join(f"{k}:{v['sha256']}" for k, v in sorted(inputs.items()))
    return hashlib.sha256(joined.encode()).hexdigest()[:12]


# --------------------------------------------------------------------------------------------
# Command line: python -m helpers.data.ingest
# --------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Run ingest; return 0 on success, 2 if the raw data break the contract."""
    parser = argparse.ArgumentParser(
        prog="python -m helpers.data.ingest",
        description="Validera rådata mot datakontraktet, pseudonymisera och skriv data/processed.",
    )
    parser.add_argument("--raw", type=Path, default=None, help=f"mapp med Excel-extrakten (standard: {PATHS.raw})")
    parser.add_argument("--processed", type=Path, default=None, help=f"mapp för de bearbetade tabellerna (standard: {PATHS.processed})")
    args = parser.parse_args(argv)
    processed_dir = Path(args.processed or PATHS.processed)
    try:
        manifest = run(args.raw, processed_dir)
    except RawDataError as exc:
        print(exc, file=sys.stderr)
        print(f"Inläsningen avbröts; {processed_dir} har inte ändrats.", file=sys.stderr)
        return EXIT_BAD_INPUT
    n_files = len(manifest["inputs"])
    print(f"Inläsningen klar: {n_files} {'fil' if n_files == 1 else 'filer'} validerade och skrivna till {processed_dir}.")
    for name, out in manifest["outputs"].items():
        print(f"  {name}: {out['rows']:,} rader".replace(",", "\u00a0"))
    if manifest["pseudonym_key"] == "demo":
        print(f"Pseudonymiserat med demonyckeln (endast för syntetiska data; sätt {PSEUDONYM_KEY_ENV} för verkliga data).")
    else:
        print(f"Pseudonymiserat med nyckeln i {PSEUDONYM_KEY_ENV}.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
