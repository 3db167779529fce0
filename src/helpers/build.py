"""The build: raw extracts → processed data → executed chapters → audited, staged book → report.

``genomlysning render --year 2020`` (``make report``) runs :func:`render`:

1. **Data.** Writes the synthetic demo extracts if ``data/raw`` holds none (and no other raw
   folder is configured), and ingests if the raw inputs or the ingest code changed.
2. **Chapters.** Every ``.ipynb`` chapter listed in ``_quarto.yml`` is executed with papermill
   and the year's parameters (``year``, ``processed_dir``, ``output_dir``, ``synthetic`` from the
   data manifest, ``data_cutoff``), in parallel where cores allow, into
   ``_build/<year>/cache/<chapter>/``. A chapter whose notebook, parameters, helper code and
   processed data are unchanged since its last successful run is not executed again (content
   hash in ``hash.txt``). A failing chapter stops the build with the notebook, cell and error.
3. **Audit.** Disclosure control is proven for every chapter that wrote a
   ``disclosure_<chapter>.json`` (:func:`audit_chapters`): the linear-programming audit of the
   protected cells must pass, and every count that the chapter's figures and tables publish
   must be listed in ``publications_<chapter>.json`` with the value of its protected cell. A
   chapter in the current output format (key figures with a ``status`` column) without the
   disclosure file stops the build.
4. **Stage.** A copy of the Quarto project (``_quarto.yml`` with the data year, version,
   publisher and release date, ``index.qmd``, appendices, ``references.bib``, assets) plus the
   executed notebooks, their figure and table data, ``_variables.yml``, the landing-page
   headlines, the key-figure appendix and the audit summary is written to a fresh temporary
   folder under ``_build/<year>/``.
5. **Render** without executing anything: ``quarto render --no-execute`` when Quarto is on
   PATH, otherwise the built-in pandoc + typst renderer (:mod:`helpers.publishing.render.builtin`).
6. **Publish.** ``manifest.json``, ``key_figures.csv`` (machine-readable) and ``nyckeltal.csv``
   (the same key figures for Swedish Excel) are written beside the book; the new book replaces
   ``_book/`` in one rename (a failure anywhere before leaves the previous ``_book/`` as it
   was); a copy is kept in ``_publish/<year>/<version>/`` with an index page; the figures are
   exported to ``figures/<year>/``.

Project settings that are not Quarto's (the municipality and the publishing unit) are read from
``report.yml`` at the project root (:func:`report_settings`).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import html
import io
import json
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import metadata
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd
import yaml

from helpers import __version__
from helpers.config import PATHS
from helpers.data import ingest
from helpers.provenance import (
    build_lock,
    clean_stale,
    commit_swaps,
    git_info,
    hash_files,
    recover_journal,
    recover_swaps,
    swap_dir,
)
from helpers.publishing import fmt
from helpers.publishing.publish import MIN_CELL

#: Project files copied into the staged Quarto project (besides the chapter notebooks).
STAGED_FILES = ("_quarto.yml", "index.qmd", "references.bib")
STAGED_DIRS = ("assets", "appendix")
PACKAGES = ("pandas", "numpy", "matplotlib", "seaborn", "statsmodels", "scipy", "papermill",
            "nbformat", "pyarrow", "openpyxl", "pypandoc-binary", "typst")

Log = Callable[[str], None]
#: The unpublished log of the last build of a year, in ``_build/<year>/``: when it ran, how long
#: each step took, which chapters and audits were reused (the published manifest has none of it).
BUILD_LOG = "build_log.json"
#: Keys of a chapter's audit summary that describe the run, not the result (to the build log).
_AUDIT_RUN_KEYS = ("audit_seconds", "audit_reused")


class BuildError(RuntimeError):
    """The build cannot go on; the message says where and why. Nothing has been replaced."""


@dataclass
class ChapterRun:
    name: str
    source: Path
    output: Path  # folder with the executed notebook, figures/, tables/, key_figures_*.csv
    seconds: float
    cached: bool
    parameters: dict[str, Any]


@dataclass
class BuildResult:
    year: int
    book: Path
    html: Path
    pdf: Path | None
    publish: Path | None
    renderer: str
    manifest: dict[str, Any]
    chapters: list[ChapterRun] = field(default_factory=list)
    #: What varies between builds (clock time, durations, cache use), kept out of the published
    #: manifest; also written to ``_build/<year>/build_log.json``.
    build_log: dict[str, Any] = field(default_factory=dict)


# --- small helpers ------------------------------------------------------------------------------


def helpers_code_hash() -> str:
    """Hash of the helper package code and data that the chapters import (not the renderers)."""
    src = Path(__file__).parent
    return hash_files(p for p in src.rglob("*") if p.is_file() and p.suffix in {".py", ".csv", ".yaml"}
                      and "render" not in p.relative_to(src).parts and "__pycache__" not in p.parts)


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "saknas"
    return out


def book_config() -> dict[str, Any]:
    return yaml.safe_load((PATHS.root / "_quarto.yml").read_text(encoding="utf-8"))


def chapter_notebooks(config: dict[str, Any] | None = None) -> list[Path]:
    """The chapter notebooks in book order, as listed in ``_quarto.yml``."""
    from helpers.publishing.render.builtin import book_parts

    chapters, appendices = book_parts(config or book_config())
    out = [PATHS.root / c for c in chapters + appendices if c.endswith(".ipynb")]
    missing = [str(p.relative_to(PATHS.root)) for p in out if not p.is_file()]
    if missing:
        raise BuildError(f"_quarto.yml listar kapitel som inte finns: {', '.join(missing)}")
    return out


def _fmt_s(seconds: float) -> str:
    return f"{fmt.num(seconds, 1)} s"


# --- reproducibility ----------------------------------------------------------------------------

#: Where the fixed date of an edition comes from, as recorded in the build log.
DATE_SOURCES = {"SOURCE_DATE_EPOCH": "miljövariabeln SOURCE_DATE_EPOCH", "commit": "incheckningens datum",
                "data": "datans sista dag"}


def release_epoch(year: int, data_cutoff: str = "", commit_time: int | None = None) -> tuple[int, str]:
    """The fixed moment of an edition (UNIX seconds, UTC) and where it comes from.

    Everything published that carries a date (the book's date, the PDF's creation date, the
    manifest) takes it from here, never from the clock, so that two builds of the same commit
    and data give the same bytes: ``SOURCE_DATE_EPOCH`` if set (the reproducible-builds
    convention), else the committer date of the checked-out commit, else (outside git or before
    the first commit) the last day of the data (the cut-off, or 31 December of the report year).
    """
    env = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if env:
        if not env.isdigit():
            raise BuildError(f"SOURCE_DATE_EPOCH={env!r} är inte ett antal sekunder sedan 1970-01-01")
        return int(env), "SOURCE_DATE_EPOCH"
    if commit_time is not None:
        return int(commit_time), "commit"
    last = dt.date.fromisoformat(data_cutoff) if data_cutoff else dt.date(year, 12, 31)
    return int(dt.datetime(last.year, last.month, last.day, tzinfo=dt.UTC).timestamp()), "data"


def epoch_date(epoch: int) -> str:
    """The ISO date (UTC) of ``epoch``."""
    return dt.datetime.fromtimestamp(epoch, dt.UTC).date().isoformat()


def portable_path(path: str | Path) -> str:
    """``path`` relative to the project root (POSIX), as published; a path outside the root keeps
    only its name, so no published file names the folders of the machine that built it."""
    p = Path(path)
    try:
        return p.resolve().relative_to(PATHS.root.resolve()).as_posix() or "."
    except ValueError:
        return p.name


#: Timing keys that papermill and nbclient write into an executed notebook.
_TIMING_KEYS = ("start_time", "end_time", "duration")


def normalise_executed(executed: Path, work: Path, target: Path, processed_dir: Path | None = None) -> None:
    """Make the executed notebook the same bytes on every run of the same input: no timestamps
    or durations (papermill's and the kernel's ``execution`` metadata), no absolute paths (the
    project root is cut off, the temporary run folder becomes the final cache folder, a staged
    data folder ``processed_dir`` becomes ``data/processed``) and a fixed id for papermill's
    injected-parameters cell."""
    text = executed.read_text(encoding="utf-8")
    root = str(PATHS.root.resolve())
    pairs = [(str(work), portable_path(target)), (str(work.resolve()), portable_path(target))]
    if processed_dir is not None and Path(processed_dir).resolve() != PATHS.processed.resolve():
        pairs += [(str(processed_dir), str(PATHS.processed)), (str(Path(processed_dir).resolve()), str(PATHS.processed))]
    for old, new in (*pairs, (root + os.sep, ""), (root, ".")):
        text = text.replace(json.dumps(old)[1:-1], json.dumps(new)[1:-1])
    nb = nbformat.reads(text, as_version=4)
    meta = nb.metadata.get("papermill")
    if meta is not None:
        for key in _TIMING_KEYS:
            meta.pop(key, None)
    for cell in nb.cells:
        for key in _TIMING_KEYS:
            cell.metadata.get("papermill", {}).pop(key, None)
        cell.metadata.pop("execution", None)
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell["id"] = "injected-parameters"
    nbformat.write(nb, executed)


# --- 1. data ------------------------------------------------------------------------------------


def ensure_data(log: Log = print) -> dict[str, Any]:
    """Write the demo extracts if there are none, ingest if needed (into ``data/processed`` at
    once); return the data manifest."""
    return prepare_data(log, stage=False)[0]


def prepare_data(log: Log = print, *, stage: bool = True) -> tuple[dict[str, Any], Path]:
    """Write the demo extracts if there are none and ingest if the raw data changed: the data
    manifest and the folder the chapters read.

    With ``stage`` (a render) new processed data are written to a staged folder beside
    ``data/processed`` (``data/.processed-render-*/processed``) and swapped in by the render's
    one commit (:func:`publish_all`) only when everything has succeeded: a render that fails
    leaves ``data/processed`` as it was. Without it (``genomlysning data``) they replace
    ``data/processed`` at once."""
    raw = PATHS.raw
    if not os.environ.get("GENOMLYSNING_DATA_DIR"):
        raw.mkdir(parents=True, exist_ok=True)
        if not any(raw.glob("*.xlsx")):
            from helpers.data.synth import generate

            t = time.perf_counter()
            # Written beside data/raw and swapped in whole (with what data/raw already held, its
            # README): a run killed while generating leaves no half set of extracts behind.
            tmp = Path(tempfile.mkdtemp(prefix=".raw-demo-", dir=raw.parent))
            try:
                generate.main(tmp / "raw")
                for keep in raw.iterdir():
                    if keep.is_file():
                        shutil.copy2(keep, tmp / "raw" / keep.name)
                swap_dir(tmp / "raw", raw)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            log(f"Syntetiska demodata skrivna till {raw} ({_fmt_s(time.perf_counter() - t)})")
    if ingest.is_current():
        log("Bearbetade data är aktuella (inga ändrade rådata)")
        return ingest.manifest(), PATHS.processed
    t = time.perf_counter()
    target = PATHS.processed
    if stage:
        PATHS.processed.parent.mkdir(parents=True, exist_ok=True)
        target = Path(tempfile.mkdtemp(prefix=".processed-render-", dir=PATHS.processed.parent)) / "processed"
    try:
        ingest.run(processed_dir=target, carry_from=PATHS.processed)
    except BaseException as e:
        if stage:
            shutil.rmtree(target.parent, ignore_errors=True)
        if isinstance(e, ingest.PseudonymKeyError):
            raise BuildError(f"Pseudonymnyckeln duger inte för dessa rådata; inget har ändrats.\n{e}") from e
        if isinstance(e, ingest.RawDataError):
            raise BuildError(f"Rådata klarar inte datakontraktet; inget har ändrats.\n{e}") from e
        raise
    where = "läggs i data/processed när rapporten är klar" if stage else f"inlästa till {PATHS.processed}"
    log(f"Rådata validerade, {where} ({_fmt_s(time.perf_counter() - t)})")
    return ingest.manifest(target), target


def available_years(data_manifest: dict[str, Any]) -> list[int]:
    """The years of the aktualiseringar extracts, as recorded in the data manifest."""
    return sorted({int(i["year"]) for i in data_manifest.get("inputs", {}).values()
                   if i.get("extract") == "aktualiseringar" and i.get("year") is not None})


# --- 2. chapters --------------------------------------------------------------------------------


def chapter_hash(notebook: Path, parameters: dict[str, Any], data_manifest: dict[str, Any]) -> str:
    h = hashlib.sha256()
    h.update(notebook.read_bytes())
    h.update(json.dumps(parameters, sort_keys=True, default=str).encode())
    h.update(helpers_code_hash().encode())
    h.update(json.dumps(data_manifest.get("outputs", {}), sort_keys=True).encode())
    return h.hexdigest()


def _failure(executed: Path, source: Path) -> str:
    """Name the failing cell of a papermill output notebook: number, first code line, error."""
    try:
        nb = nbformat.read(executed, as_version=4)
    except Exception:  # noqa: BLE001 - the notebook may not have been written at all
        return f"{source.relative_to(PATHS.root)}: körningen avbröts innan någon cell kördes"
    code_no = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if "injected-parameters" not in cell.metadata.get("tags", []):
            code_no += 1
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                first = next((ln for ln in cell.source.splitlines() if ln.strip() and not ln.startswith("#|")), "")
                return (f"{source.relative_to(PATHS.root)}, kodcell {code_no} ({first.strip()[:70]!r}): "
                        f"{out.get('ename')}: {out.get('evalue')}")
    return f"{source.relative_to(PATHS.root)}: körningen misslyckades"


def chapter_parameters(year: int, data_manifest: dict[str, Any], data_cutoff: str = "") -> dict[str, Any]:
    """The papermill parameters of every chapter (besides ``output_dir``, which is per run).

    ``synthetic`` comes from the data manifest; ``data_cutoff`` is an ISO date, or ``""`` for
    the end of the report year.
    """
    return {"year": year, "processed_dir": str(PATHS.processed),
            "synthetic": bool(data_manifest.get("synthetic", False)), "data_cutoff": data_cutoff or ""}


#: What jupyter_client says when a kernel dies before it answers (a start-up failure, not the chapter's).
KERNEL_START_FAILURE = "Kernel died before replying to kernel_info"


def run_chapter(notebook: Path, year: int, cache_root: Path, data_manifest: dict[str, Any],
                *, use_cache: bool = True, data_cutoff: str = "", processed_dir: Path | None = None) -> ChapterRun:
    """Execute one chapter notebook with papermill (or reuse the cached run). The chapter reads
    ``processed_dir`` (default ``data/processed``; a render's staged data before they are
    committed); its parameters, hash and executed notebook name ``data/processed`` either way."""
    name = notebook.stem
    processed_dir = Path(processed_dir or PATHS.processed)
    target = cache_root / name
    parameters = chapter_parameters(year, data_manifest, data_cutoff)
    digest = chapter_hash(notebook, parameters, data_manifest)
    if use_cache and (target / "hash.txt").is_file() and (target / "hash.txt").read_text().strip() == digest:
        return ChapterRun(name, notebook, target, 0.0, True, parameters)
    cache_root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=cache_root))
    executed = work / notebook.name
    t = time.perf_counter()
    cmd = [sys.executable, "-m", "papermill", str(notebook), str(executed),
           "-p", "year", str(year), "-p", "processed_dir", str(processed_dir),
           "-p", "output_dir", str(work), "-p", "synthetic", str(parameters["synthetic"]),
           "-r", "data_cutoff", parameters["data_cutoff"], "--cwd", str(work), "--no-progress-bar", "--log-level", "WARNING",
           "--kernel", "python3"]  # the project's own Python (ipykernel in .venv), whatever the notebook says
    # Chapters run side by side, one per core: each kernel's linear algebra on one thread, so two
    # kernels do not fight over the cores (a 16 680 × 311 product at 100×: 1,7 s with two, 0,2 s with one).
    env = {**os.environ, "PYDEVD_DISABLE_FILE_VALIDATION": "1", "MPLBACKEND": "Agg",
           "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0 and KERNEL_START_FAILURE in proc.stderr:
        # The kernel did not start (a busy machine): that is not the chapter's fault, so try once more.
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - t
    if proc.returncode != 0:
        message = _failure(executed, notebook)
        shutil.rmtree(work, ignore_errors=True)
        tail = "\n".join(proc.stderr.strip().splitlines()[-3:])
        raise BuildError(f"Kapitlet misslyckades: {message}\n{tail}")
    normalise_executed(executed, work, target, processed_dir)
    (work / "hash.txt").write_text(digest + "\n")
    (work / "run.json").write_text(json.dumps({"parameters": parameters, "seconds": round(seconds, 2)}) + "\n")
    old = cache_root / f".{name}-old"
    if target.exists():
        shutil.rmtree(old, ignore_errors=True)
        target.rename(old)
    work.rename(target)
    shutil.rmtree(old, ignore_errors=True)
    return ChapterRun(name, notebook, target, seconds, False, parameters)


def run_chapters(year: int, data_manifest: dict[str, Any], *, jobs: int | None = None,
                 use_cache: bool = True, data_cutoff: str = "", log: Log = print,
                 processed_dir: Path | None = None) -> list[ChapterRun]:
    notebooks = chapter_notebooks()
    cache_root = PATHS.build_year(year) / "cache"
    jobs = max(1, min(jobs or (os.cpu_count() or 1), len(notebooks)))
    log(f"Kör {len(notebooks)} kapitel för {year} ({jobs} parallellt)")
    results: dict[Path, ChapterRun] = {}
    errors: list[str] = []
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(run_chapter, nb, year, cache_root, data_manifest, use_cache=use_cache,
                               data_cutoff=data_cutoff, processed_dir=processed_dir): nb
                   for nb in notebooks}
        for fut, nb in futures.items():
            try:
                r = fut.result()
            except BuildError as e:
                errors.append(str(e))
                log(f"  ✗ {nb.stem}")
                continue
            results[nb] = r
            log(f"  ✓ {r.name}: {'oförändrat, återanvänt' if r.cached else _fmt_s(r.seconds)}")
    if errors:
        raise BuildError("\n".join(errors))
    return [results[nb] for nb in notebooks]


# --- 3. audit -----------------------------------------------------------------------------------

#: Columns of a figure or table CSV that say why a value is not shown.
REASON_COLUMNS = ("status", "förklaring", "forklaring")
_HIDDEN_TEXTS = {"", f"<{MIN_CELL}", "x"}
_PUBLISHED_STATUSES = {"", "published", "publicerad", "none", "nan"}


def load_protected(path: Path) -> Any:
    """The protected cells of one chapter, as written by ``helpers.analysis.disclosure.Protected.to_json``."""
    from helpers.analysis.disclosure import Protected

    return Protected.from_json(path)


def _chapter_keys(output: Path) -> list[str]:
    keys = set()
    for prefix, pattern in (("key_figures_", "key_figures_*.csv"), ("disclosure_", "disclosure_*.json"),
                            ("publications_", "publications_*.json")):
        keys |= {f.stem.removeprefix(prefix) for f in output.glob(pattern)}
    return sorted(keys)


def _has_status_column(path: Path) -> bool:
    if not path.is_file():
        return False
    with path.open(encoding="utf-8-sig", newline="") as f:
        header = next(csv.reader(f), [])
    return "status" in header


def _num(x: Any) -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    return fmt.num(v, 0 if v == int(v) else 2) if math.isfinite(v) else str(x)


def _is_published_status(status: Any) -> bool:
    return status is None or str(status).strip().lower() in _PUBLISHED_STATUSES


#: How the audit's statuses are shown in messages.
_STATUS_MARKS = {"primary": f"<{MIN_CELL}", "secondary": "x", "derived": "härledd grupp"}


def _mark(status: Any) -> str:
    return _STATUS_MARKS.get(str(status), str(status))


def _audit_failure(where: str, audit: Any) -> str:
    """Swedish message naming the hidden cell(s) whose interval is too narrow."""
    threshold = getattr(audit, "threshold", None)
    lines = [f"Röjandekontrollen underkänner {where}: en dold uppgift kan räknas fram för snävt "
             "ur det som publiceras."]
    iv = getattr(audit, "intervals", None)
    if isinstance(iv, pd.DataFrame) and not iv.empty and {"cell", "lo", "hi", "width"} <= set(iv.columns):
        hidden = iv[~iv["status"].map(_is_published_status)] if "status" in iv.columns else iv
        bad = hidden[hidden["width"] < threshold] if threshold is not None else hidden.nsmallest(1, "width")
        if bad.empty:
            bad = hidden.nsmallest(1, "width")
        for _, r in bad.sort_values("width").head(5).iterrows():
            status = f" ({_mark(r['status'])})" if "status" in r and not _is_published_status(r["status"]) else ""
            lines.append(f"  uppgiften {r['cell']}{status} ligger i intervallet {_num(r['lo'])}–{_num(r['hi'])} "
                         f"(bredd {_num(r['width'])}, kravet är minst {_num(threshold)})")
        if len(bad) > 5:
            lines.append(f"  … och {len(bad) - 5} uppgifter till")
    else:
        lines.append(f"  smalaste intervall {_num(getattr(audit, 'narrowest', None))}, "
                     f"kravet är minst {_num(threshold)}")
    return "\n".join(lines)


def _cell_statuses(audit: Any) -> dict[str, Any]:
    iv = getattr(audit, "intervals", None)
    if isinstance(iv, pd.DataFrame) and {"cell", "status"} <= set(iv.columns):
        return dict(zip(iv["cell"].astype(str), iv["status"], strict=True))
    return {}


def _published_value(protected: Any, statuses: dict[str, Any], cell: str) -> float | None:
    """The value of ``cell`` as it may be published, or ``None`` where it is hidden."""
    status = getattr(protected, "status", None)
    try:
        if callable(status):
            st = status(cell)
            if str(st) == "combination":  # a published linear combination of cells
                return float(protected.combo_values[protected.combo_ids.index(cell)])
            if not _is_published_status(st):
                return None
        elif cell in statuses and not _is_published_status(statuses[cell]):
            return None
        value = protected.value(cell)
    except KeyError as e:
        raise BuildError(f"okänd skyddad uppgift {cell!r} i publiceringslistan") from e
    if value is None or fmt.is_missing(value):
        return None
    return float(value)


def read_data_file(path: Path) -> pd.DataFrame:
    """A published data file as text cells: a figure's or table's file for Swedish Excel (UTF-8
    with BOM, ``;``, decimal comma) or a comma-separated file (the chapter's key figures); the
    separator is read from the header line."""
    with path.open(encoding="utf-8-sig", newline="") as f:
        header = f.readline()
    sep = ";" if ";" in header else ","
    return pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def check_publications(output: Path, publications: Path, protected: Any, where: str,
                       statuses: dict[str, Any] | None = None) -> int:
    """Check every count the chapter published against its protected cell; return how many.

    * the value at (row, column) of the artefact equals the protected cell's value; a hidden cell
      is empty (or ``<5``/``x``) there, and a status or explanation column, if the file has one,
      says why on that row (in the chapter's key-figure file the ``status`` column marks it);
    * a figure or table column that any entry lists is a count column: every one of its rows must
      be covered by an entry, so no count is published around the protection.
    """
    statuses = statuses or {}
    try:
        entries = json.loads(publications.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise BuildError(f"{where}: {publications.name} går inte att läsa ({e})") from e
    frames: dict[str, pd.DataFrame] = {}
    kinds: dict[str, str] = {}
    covered: dict[tuple[str, str], set[int]] = {}
    n = 0
    root = output.resolve()
    for entry in entries:
        artefact, kind = str(entry.get("artefact", "")), str(entry.get("kind", ""))
        path = (output / artefact).resolve()
        if kind == "text" and not (path.is_relative_to(root) and path.is_file()):
            # Counts in the prose: the text itself is not a table, but every count it states must
            # be a protected cell (the prose shows hidden ones as "färre än fem" or not at all).
            for c in entry.get("cells", []):
                _published_value(protected, statuses, str(c["cell"]))
                n += 1
            continue
        if not path.is_relative_to(root) or not path.is_file():
            raise BuildError(f"{where}: {artefact} redovisas som publicerad men finns inte bland kapitlets filer")
        if path.suffix.lower() != ".csv":
            continue  # prose and images: their counts are checked through the CSV they come from
        if artefact not in frames:
            frames[artefact] = read_data_file(path)
            kinds[artefact] = kind
        df = frames[artefact]
        is_key_figures = kind == "key_figure" or path.name.startswith("key_figures_")
        for c in entry.get("cells", []):
            if c.get("row") is None or c.get("column") is None:
                raise BuildError(f"{where}: {artefact}: uppgiften {c.get('cell')} saknar rad eller kolumn")
            row, column, cell = int(c["row"]), str(c["column"]), str(c["cell"])
            place = f"{artefact}, rad {row + 1}, kolumnen {column!r}"
            if column not in df.columns or not 0 <= row < len(df):
                raise BuildError(f"{where}: {place} finns inte")
            shown = df.at[row, column].strip()
            expected = _published_value(protected, statuses, cell)
            reason_cols = [rc for rc in df.columns if str(rc).strip().lower() in REASON_COLUMNS]
            reasons = [df.at[row, rc].strip() for rc in reason_cols]
            if is_key_figures:
                hidden_here = bool(df.at[row, "status"].strip()) if "status" in df.columns else False
                if expected is None and not hidden_here:
                    raise BuildError(f"{where}: {place} redovisar uppgiften {cell}, som ska döljas, "
                                     "utan status")
                if expected is not None and hidden_here:
                    continue  # hidden although it could be shown: allowed, never a leak
            elif expected is None:
                if shown not in _HIDDEN_TEXTS:
                    raise BuildError(f"{where}: {place} visar {shown!r}, men uppgiften {cell} ska döljas")
                if reasons and not any(reasons):
                    raise BuildError(f"{where}: {place} döljer uppgiften {cell} utan att säga varför "
                                     f"(kolumnen {'/'.join(reason_cols)} är tom)")
            if expected is not None:
                try:
                    equal = math.isclose(float(shown.replace(",", ".")), expected, rel_tol=0, abs_tol=1e-9)
                except ValueError:
                    equal = False
                if not equal:
                    raise BuildError(f"{where}: {place} visar {shown!r}, men den skyddade uppgiften {cell} "
                                     f"är {_num(expected)}")
            covered.setdefault((artefact, column), set()).add(row)
            n += 1
    for (artefact, column), rows in covered.items():
        if kinds[artefact] not in {"figure", "table"}:
            continue
        df = frames[artefact]
        reason_cols = [rc for rc in df.columns if str(rc).strip().lower() in REASON_COLUMNS]
        # A row with nothing in the column and no reason given publishes no count there (a figure
        # that shows observed counts beside model estimates for later years, say).
        missing = sorted(m for m in set(range(len(df))) - rows
                         if df.at[m, column].strip() or any(df.at[m, rc].strip() for rc in reason_cols))
        if missing:
            raise BuildError(f"{where}: {artefact}, kolumnen {column!r} publicerar antal på rad "
                             f"{', '.join(str(m + 1) for m in missing[:10])} som inte gått igenom "
                             "röjandekontrollen")
    return n


def _plain(x: Any) -> Any:
    """JSON-safe scalars (numpy numbers → int/float, NaN → None)."""
    if x is None:
        return None
    if isinstance(x, bool):
        return x
    if hasattr(x, "item"):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def audit_chapter(output: Path, chapter: str, year: int, *, label: str | None = None,
                  loader: Callable[[Path], Any] | None = None) -> dict[str, Any] | None:
    """Audit one chapter's disclosure control; its summary for the manifest, or ``None`` for a
    chapter that writes no disclosure file (allowed only in the format without ``status``)."""
    where = f"kapitlet {label or chapter}, år {year}"
    disclosure = output / f"disclosure_{chapter}.json"
    publications = output / f"publications_{chapter}.json"
    if not disclosure.is_file():
        if _has_status_column(output / f"key_figures_{chapter}.csv") or publications.is_file():
            raise BuildError(f"Röjandekontrollen kan inte göras för {where}: {disclosure.name} saknas, "
                             "så det går inte att visa att publicerade antal är skyddade.")
        return None
    try:
        protected = (loader or load_protected)(disclosure)
    except BuildError:
        raise
    except Exception as e:  # noqa: BLE001 - any unreadable file stops the build with its name
        raise BuildError(f"{where}: {disclosure.name} går inte att läsa ({type(e).__name__}: {e})") from e
    cache = output / f"audit_{chapter}.json"
    key = _audit_key(disclosure) if loader is None else None
    if key and cache.is_file() and callable(getattr(protected, "status", None)):
        try:
            stored = json.loads(cache.read_text(encoding="utf-8"))
        except ValueError:
            stored = {}
        if stored.get("key") == key and stored.get("result", {}).get("passed") is True:
            # The same protected cells and the same audit code: the audit that passed stands.
            # The published files are checked against the cells on every build all the same.
            result = {k: v for k, v in stored["result"].items() if k != "passed"}
            checked = check_publications(output, publications, protected, where) if publications.is_file() else 0
            return {**result, "publications_checked": checked, "audit_reused": True}
    t = time.perf_counter()
    audit = protected.audit()
    seconds = time.perf_counter() - t
    if not audit.passed:
        raise BuildError(_audit_failure(where, audit))
    checked = (check_publications(output, publications, protected, where, _cell_statuses(audit))
               if publications.is_file() else 0)
    summary = dict(protected.summary())
    narrowest = summary.get("narrowest_width", getattr(audit, "narrowest", None))
    result = {
        "cells": _plain(summary.get("cells")),
        "published": _plain(summary.get("published")),
        "hidden_primary": _plain(summary.get("hidden_primary")),
        "hidden_secondary": _plain(summary.get("hidden_secondary")),
        "narrowest_width": _plain(narrowest),
        "threshold": _plain(getattr(audit, "threshold", None)),
        "audit_seconds": round(seconds, 3),
    }
    if key:
        cache.write_text(json.dumps({"key": key, "result": {**result, "passed": True}}) + "\n", encoding="utf-8")
    return {**result, "publications_checked": checked, "audit_reused": False}


def _audit_key(disclosure: Path) -> str:
    """What a passed audit depends on: the protected cells and the audit code."""
    h = hashlib.sha256(disclosure.read_bytes())
    code = Path(__file__).parent / "analysis" / "disclosure.py"
    if code.is_file():
        h.update(code.read_bytes())
    return h.hexdigest()


def audit_chapters(runs: list[ChapterRun], year: int, *, loader: Callable[[Path], Any] | None = None,
                   log: Log = print) -> dict[str, dict[str, Any]]:
    """Audit every chapter (:func:`audit_chapter`); ``{chapter: summary}`` for the manifest."""
    out: dict[str, dict[str, Any]] = {}
    for r in runs:
        for chapter in _chapter_keys(r.output):
            summary = audit_chapter(r.output, chapter, year, label=f"{chapter} ({r.source.name})", loader=loader)
            if summary is not None:
                out[chapter] = summary
                log(f"  ✓ röjandekontroll {chapter}: {summary['cells']} uppgifter, smalaste intervall "
                    f"{_num(summary['narrowest_width'])} (krav {_num(summary['threshold'])})")
    return out


def audit_markdown(disclosure: dict[str, dict[str, Any]], titles: dict[str, str] | None = None) -> str:
    """``_audit.md`` for the appendix *Om statistiken*: the audit of this edition, per chapter."""
    if not disclosure:
        return ("För den här utgåvan finns ingen sammanställning av den automatiska granskningen. "
                "Tabeller, diagram och text är ändå skyddade enligt reglerna ovan.\n")
    lines = ["| Kapitel | Uppgifter | Dolda, färre än fem | Dolda för att skydda andra | "
             "Smalaste intervall | Krav |",
             "|:---|---:|---:|---:|---:|---:|"]
    thresholds = set()
    for chapter, s in disclosure.items():
        thresholds.add(s.get("threshold"))
        lines.append(f"| {(titles or {}).get(chapter, chapter)} | {_num(s.get('cells'))} | "
                     f"{_num(s.get('hidden_primary'))} | {_num(s.get('hidden_secondary'))} | "
                     f"{_num(s.get('narrowest_width')) if s.get('narrowest_width') is not None else '–'} | "
                     f"{_num(s.get('threshold'))} |")
    text = ("Granskningen godkände alla kapitel i den här utgåvan. Tabellen visar för varje kapitel hur "
            "många uppgifter som granskades, hur många som döljs och det smalaste intervall som någon "
            "dold uppgift kan ringas in till med hjälp av det som publiceras.")
    if len(thresholds) == 1 and None not in thresholds:
        (t,) = thresholds
        text += (f" Kravet att bredden ska vara minst {_num(t)} betyder att varje dold uppgift har minst "
                 f"{_num(float(t) + 1)} möjliga värden för den som försöker räkna fram den.")
    text += "\n\n"
    return text + "\n".join(lines) + "\n\n: Granskning av röjanderisken\n"


# --- 4. stage ------------------------------------------------------------------------------------

#: The columns every chapter's key-figure file has.
KEY_FIGURE_COLUMNS = ["id", "chapter", "year", "value", "unit", "label"]
#: Columns of the chapters' own key-figure files (unrounded ``value``, used by the reproduction test).
CHAPTER_KEY_FIGURE_COLUMNS = [*KEY_FIGURE_COLUMNS, "status", "data_cutoff"]
#: Columns of the published, machine-readable ``key_figures.csv`` (rounded as displayed).
PUBLISHED_KEY_FIGURE_COLUMNS = [*KEY_FIGURE_COLUMNS, "status", "forklaring", "data_cutoff"]
#: Column headers of ``nyckeltal.csv``, the same table for Swedish Excel (headed as the figures'
#: and tables' data files, :data:`helpers.publishing.views.CSV_HEADERS`), with a last column
#: ``Data`` saying whether the data are synthetic.
EXCEL_KEY_FIGURE_COLUMNS = {"id": "Id", "chapter": "Kapitel", "year": "År", "value": "Värde",
                            "unit": "Enhet", "label": "Beskrivning", "status": "Status",
                            "forklaring": "Förklaring", "data_cutoff": "Data till och med"}
#: Why a key figure is not published, by its status.
STATUS_EXPLANATIONS = {"": "", f"<{MIN_CELL}": "färre än 5", "x": "döljs för att skydda en annan uppgift"}
#: Decimals of each unit as displayed (and published): one rule for appendix, CSV files and prose.
UNIT_DECIMALS = {"count": 0, "year": 0, "percent": 1, "per_1000": 1, "kr": 1, "tkr": 0, "mnkr": 1,
                 "kr_per_invanare": 0, "percentage_points": 1, "ratio": 2}
UNIT_LABELS = {"count": "antal", "percent": "procent", "ratio": "kvot", "per_1000": "per 1 000",
               "kr": "kr", "tkr": "tkr", "mnkr": "mnkr", "kr_per_invanare": "kr per invånare",
               "percentage_points": "procentenheter", "year": "år"}


def _is_small(n: Any) -> bool:
    try:
        v = float(n)
    except (TypeError, ValueError):
        return False
    return 0 < v < MIN_CELL


def _legacy_status(raw: pd.DataFrame) -> pd.Series:
    """Status for a chapter file written before the ``status`` column existed (``numerator``)."""
    small = (raw["unit"] == "count") & raw["value"].map(_is_small)
    hidden = raw["numerator"].map(_is_small) if "numerator" in raw.columns else pd.Series(False, index=raw.index)
    return pd.Series([f"<{MIN_CELL}" if s else "x" if h else "" for s, h in zip(small, hidden, strict=True)],
                     index=raw.index)


def read_key_figures(path: Path) -> pd.DataFrame:
    """One chapter's ``key_figures_<chapter>.csv`` in the columns :data:`CHAPTER_KEY_FIGURE_COLUMNS`."""
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in KEY_FIGURE_COLUMNS if c not in raw.columns]
    if missing:
        raise BuildError(f"{path.name}: kolumner saknas: {', '.join(missing)}")
    out = raw.reindex(columns=CHAPTER_KEY_FIGURE_COLUMNS, fill_value="")
    try:
        out["value"] = pd.to_numeric(raw["value"], errors="raise").astype(float)
        out["year"] = pd.to_numeric(raw["year"], errors="raise").astype(int)
    except ValueError as e:
        raise BuildError(f"{path.name}: ett värde eller år är inte ett tal ({e})") from e
    if "status" not in raw.columns:
        out["status"] = _legacy_status(out.assign(numerator=raw.get("numerator", "")))
    out["status"] = out["status"].str.strip()
    bad = sorted(set(out["status"]) - set(STATUS_EXPLANATIONS))
    if bad:
        raise BuildError(f"{path.name}: okänd status {bad} (tillåtna: tom, <{MIN_CELL}, x)")
    # A share or rate is never shown as "<5 procent": a hidden non-count is "x".
    out.loc[(out["status"] != "") & (out["unit"] != "count"), "status"] = "x"
    for value in out["data_cutoff"]:
        if value:
            try:
                dt.date.fromisoformat(value)
            except ValueError as e:
                raise BuildError(f"{path.name}: data_cutoff {value!r} är inget datum (ÅÅÅÅ-MM-DD)") from e
    return out


def collect_key_figures(runs: list[ChapterRun]) -> pd.DataFrame:
    """All chapters' key figures (unrounded, with status), in book order."""
    frames = [read_key_figures(f) for r in runs for f in sorted(r.output.glob("key_figures_*.csv"))]
    if not frames:
        return pd.DataFrame(columns=CHAPTER_KEY_FIGURE_COLUMNS)
    kf = pd.concat(frames, ignore_index=True)
    dup = kf[kf.duplicated("id", keep=False)]
    if not dup.empty:
        raise BuildError(f"Samma nyckeltals-id i flera kapitel: {sorted(set(dup['id']))}")
    return kf


def round_as_displayed(value: float, unit: str) -> Decimal:
    """``value`` rounded half away from zero to the decimals of ``unit`` (:data:`UNIT_DECIMALS`),
    on its shortest decimal representation, as :func:`helpers.publishing.fmt.num` displays it: 31.25 → 31.3."""
    return fmt.round_half_up(float(value), UNIT_DECIMALS.get(unit, 1))


def published_key_figures(kf: pd.DataFrame) -> pd.DataFrame:
    """The key figures as published: values rounded as displayed (``Decimal``), hidden values
    ``None`` with their ``status`` (``<5`` or ``x``) and ``forklaring``. Columns
    :data:`PUBLISHED_KEY_FIGURE_COLUMNS`. The chapters' own files under ``_build`` keep the
    unrounded values."""
    out = kf.reindex(columns=CHAPTER_KEY_FIGURE_COLUMNS).copy()
    for col in ("status", "data_cutoff"):
        out[col] = out[col].astype(object).where(out[col].notna(), "").astype(str).str.strip()
    out.loc[(out["status"] != "") & (out["unit"] != "count"), "status"] = "x"  # never "<5 procent"
    out["year"] = out["year"].astype(int)
    out["value"] = [None if status or v is None or v != v else round_as_displayed(v, unit)
                    for v, unit, status in zip(out["value"], out["unit"], out["status"], strict=True)]
    out["forklaring"] = out["status"].map(STATUS_EXPLANATIONS).fillna("")
    return out[PUBLISHED_KEY_FIGURE_COLUMNS].reset_index(drop=True)


def _decimal_text(value: Decimal | None, comma: bool = False) -> str:
    if value is None:
        return ""
    text = f"{value:f}"
    return text.replace(".", ",") if comma else text


def key_figures_csv(published: pd.DataFrame) -> bytes:
    """``key_figures.csv``: machine-readable (UTF-8, comma separator, decimal point, English
    column names), rounded as displayed, hidden values empty with status and explanation."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(PUBLISHED_KEY_FIGURE_COLUMNS)
    for r in published.itertuples(index=False):
        row = r._asdict()
        row["value"] = _decimal_text(row["value"])
        w.writerow([row[c] for c in PUBLISHED_KEY_FIGURE_COLUMNS])
    return buf.getvalue().encode("utf-8")


def nyckeltal_csv(published: pd.DataFrame, synthetic: bool = True) -> bytes:
    """``nyckeltal.csv``: the published key figures for Swedish Excel (UTF-8 with BOM, ``;`` as
    separator, decimal comma, Swedish column names and units), in the same form as the data files
    of the figures and tables: the last column ``Data`` says whether the data are synthetic."""
    from helpers.publishing.views import CSV_DATA_COL, CSV_DATA_NOTE

    buf = io.StringIO()
    w = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    w.writerow([EXCEL_KEY_FIGURE_COLUMNS[c] for c in PUBLISHED_KEY_FIGURE_COLUMNS] + [CSV_DATA_COL])
    for r in published.itertuples(index=False):
        row = r._asdict()
        row["value"] = _decimal_text(row["value"], comma=True)
        row["unit"] = UNIT_LABELS.get(row["unit"], row["unit"])
        w.writerow([row[c] for c in PUBLISHED_KEY_FIGURE_COLUMNS] + [CSV_DATA_NOTE[bool(synthetic)]])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def chapter_title(notebook: Path) -> str:
    """The chapter's title: the first level-1 header of the notebook, without attributes."""
    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].split("{")[0].strip()
    return notebook.stem


def key_figures_markdown(kf: pd.DataFrame, titles: dict[str, str] | None = None) -> str:
    """The appendix of key figures: one table per chapter, rounded and shown as published.

    ``kf`` is the chapters' key figures (:func:`collect_key_figures`; rows without ``status``
    count as published). ``titles`` maps the chapter key (``inflode``) to its title for the
    section headers. A hidden value is shown as ``x`` or ``<5``, never with a unit after it. The
    relative column widths (the dashes of the separator line) keep the long ids readable in the PDF.
    """
    if kf.empty:
        return "*Inga nyckeltal.*\n"
    pub = published_key_figures(kf)

    def value(row: pd.Series) -> str:
        if row["status"]:
            return row["status"].replace("<", "\\<")
        if row["unit"] == "year":
            return str(int(row["value"]))
        return fmt.num(row["value"], UNIT_DECIMALS.get(row["unit"], 1))

    out = []
    for chapter, group in pub.groupby("chapter", sort=False):
        title = (titles or {}).get(chapter, chapter)
        out.append(f"## {title} {{.unnumbered}}\n")
        lines = ["| Nyckeltal | År | Värde | Enhet |",
                 "|:" + "-" * 68 + "|" + "-" * 6 + ":|" + "-" * 9 + ":|:" + "-" * 12 + "|"]
        for _, r in group.iterrows():
            label = str(r["label"]).replace("|", "\\|")
            if r["data_cutoff"]:
                label += f" (data till och med {r['data_cutoff']})"
            lines.append(f"| `{r['id']}` {label} | {int(r['year'])} | {value(r)} | "
                         f"{UNIT_LABELS.get(r['unit'], r['unit'])} |")
        out.append("\n".join(lines) + f"\n\n: Nyckeltal i kapitlet {title}\n")
    notes = []
    if (pub["status"] == f"<{MIN_CELL}").any():
        notes.append(f"\\<{MIN_CELL}: färre än fem, redovisas inte")
    if (pub["status"] == "x").any():
        notes.append("x: döljs för att skydda en annan uppgift, eller en andel eller kvot som inte "
                     "redovisas eftersom täljaren eller nämnaren döljs eller nämnaren är mindre än 20")
    if notes:
        out.append("*" + ". ".join(notes) + ".*\n")
    return "\n".join(out)


PRELIMINARY_HTML = ('<div class="demo-banner" role="note" lang="sv"><strong>Preliminära uppgifter.</strong> '
                    "Rapportåret var inte slut när rapporten byggdes; siffrorna kan ändras.</div>\n")
PRELIMINARY_TEX = ("% Banner on every PDF page: preliminary figures (written by helpers.build).\n"
                   "\\usepackage{xcolor}\n\\usepackage[automark]{scrlayer-scrpage}\n\\pagestyle{scrheadings}\n"
                   "\\chead*{\\textcolor{red!60!black}{\\small\\textbf{@WHAT@Preliminära uppgifter}}}\n")


def edition_label(info: dict[str, Any]) -> str:
    """"data för 2020 · version 0.7.0", or "preliminära data för 2026 …" for a year not yet over:
    in the page footer of every page and the subtitle."""
    head = "preliminära data för" if info.get("preliminary") else "data för"
    return f"{head} {info['year']} · version {info['version']}"


def check_year_over(year: int, preliminary: bool, today: dt.date | None = None) -> None:
    """A report for a year that is not over would publish figures that change later: refused
    unless the report is marked preliminary (and then says so on every page)."""
    today = today or dt.date.today()
    if dt.date(year, 12, 31) >= today and not preliminary:
        raise BuildError(f"Rapportåret {year} är inte slut ({today.isoformat()}): siffrorna skulle ändras när resten av "
                         "året kommer in. Vänta till januari, eller bygg en preliminär rapport med --preliminary; "
                         "den säger på varje sida att uppgifterna är preliminära.")


def _data_note(synthetic: bool) -> tuple[str, str]:
    if synthetic:
        return ("Syntetiska demodata: inga verkliga barn eller ärenden.",
                "Rapporten bygger på **syntetiska demodata**: påhittade ärenden i samma form som "
                "uttagen ur verksamhetssystemet Treserva, framtagna så att beräkningarna återger "
                "siffrorna i Genomlysningen 2021. Inga uppgifter gäller verkliga barn. Med kommunens "
                "egna uttag blir det samma rapport på verkliga data.")
    return ("Ärendedata ur Treserva, pseudonymiserade.",
            "Rapporten bygger på uttag ur verksamhetssystemet Treserva. Personnummer har ersatts "
            "med pseudonymer innan bearbetningen, och små tal redovisas inte.")


#: Defaults of the project settings in ``report.yml``.
#: ``published_url`` is where the book (``_book/``) is published, ``{year}`` and ``{version}``
#: filled in; with it the PDF links the data files absolutely (see :func:`absolute_data_links`).
REPORT_SETTINGS = {"publisher": "FoU-enheten, socialförvaltningen", "municipality": "", "published_url": ""}


def report_settings(root: Path | None = None) -> dict[str, str]:
    """The report's own settings from ``report.yml`` at the project root (publisher and
    municipality for the title page), with :data:`REPORT_SETTINGS` for what it leaves out."""
    path = (root or PATHS.root) / "report.yml"
    data: dict[str, Any] = {}
    if path.is_file():
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as e:
            raise BuildError(f"report.yml går inte att läsa: {e}") from e
        if not isinstance(data, dict):
            raise BuildError("report.yml ska innehålla nycklar och värden (publisher, municipality)")
    return {k: str(data.get(k) or default) for k, default in REPORT_SETTINGS.items()}


def swedish_date(iso: str) -> str:
    """``2020-12-31`` → ``31 december 2020``."""
    d = dt.date.fromisoformat(iso)
    return f"{d.day} {fmt.MONTHS_SV[d.month - 1]} {d.year}"


def check_data_cutoff(year: int, data_cutoff: str | None) -> str:
    """The cut-off as an ISO date string (``""`` for the end of the report year), checked."""
    if not data_cutoff:
        return ""
    try:
        d = dt.date.fromisoformat(str(data_cutoff))
    except ValueError as e:
        raise BuildError(f"Brytdatumet {data_cutoff!r} är inget datum (ÅÅÅÅ-MM-DD).") from e
    if d < dt.date(year, 12, 31):
        raise BuildError(f"Brytdatumet {d.isoformat()} ligger före slutet av rapportåret {year}.")
    return d.isoformat()


def cutoff_text(year: int, data_cutoff: str) -> str:
    """How the report states its cut-off: the end of the report year unless a cut-off was set."""
    if not data_cutoff or data_cutoff == f"{year}-12-31":
        return f"{swedish_date(f'{year}-12-31')} (rapportårets slut)"
    return f"{swedish_date(data_cutoff)} (brytdatum valt för den här utgåvan)"


def chapter_titles(runs: list[ChapterRun]) -> dict[str, str]:
    """Chapter key (``inflode``) → chapter title, for every chapter output file."""
    titles = {}
    for r in runs:
        title = chapter_title(r.source)
        for key in _chapter_keys(r.output):
            titles[key] = title
        for f in r.output.glob("headlines_*.json"):
            titles[f.stem.removeprefix("headlines_")] = title
    return titles


#: Most headlines on the landing page.
MAX_HEADLINES = 5


def collect_headlines(runs: list[ChapterRun], kf: pd.DataFrame) -> list[str]:
    """The chapters' headline sentences in book order (at most :data:`MAX_HEADLINES`).

    A headline that names a key figure must name a published one: a hidden key figure (status
    ``<5`` or ``x``) or an unknown id stops the build.
    """
    status = dict(zip(kf["id"], kf["status"].fillna(""), strict=True)) if not kf.empty else {}
    out: list[str] = []
    for r in runs:
        for f in sorted(r.output.glob("headlines_*.json")):
            try:
                items = json.loads(f.read_text(encoding="utf-8"))
            except ValueError as e:
                raise BuildError(f"{r.source.name}: {f.name} går inte att läsa ({e})") from e
            for item in items:
                # Collapse line breaks and runs of ordinary spaces, keep no-break spaces (1 704, 48,4 %).
                text = re.sub(r"[ \t\r\n]+", " ", str(item.get("text", ""))).strip()
                key = str(item.get("key") or "")
                if not text:
                    continue
                if key and key not in status:
                    raise BuildError(f"{r.source.name}: {f.name} hänvisar till nyckeltalet {key}, som inte finns")
                if key and status[key]:
                    raise BuildError(f"{r.source.name}: {f.name} lyfter fram nyckeltalet {key}, som döljs "
                                     f"({status[key]}) i rapporten")
                out.append(text)
    return out[:MAX_HEADLINES]


def headlines_markdown(headlines: list[str]) -> str:
    """``_headlines.md`` for the landing section *I korthet* of ``index.qmd``."""
    if not headlines:
        return "Kapitlen inleds var och en med en sammanfattning av vad de visar.\n"
    return "\n".join(f"- {h}" for h in headlines) + "\n"


def data_info_markdown(info: dict[str, Any]) -> str:
    """``_data_info.md`` for the appendix *Om statistiken*: what this edition is built on."""
    rows = [
        ("Dataår", str(info["year"])),
        ("Data till och med", info["data_cutoff_text"]),
        ("Underlag", "syntetiska demodata, inga verkliga barn eller ärenden" if info["synthetic"]
         else "ärendedata ur Treserva, pseudonymiserade"),
        ("Kontrollsumma för underlaget", f"`{info['fingerprint']}`"),
        ("Antal kapitel", str(info["chapters"])),
        ("Version och publiceringsdag", f"{info['version']}, {info['date']}"),
    ]
    lines = ["| Uppgift | Värde |", "|:---|:---|", *[f"| {k} | {v} |" for k, v in rows]]
    return "\n".join(lines) + "\n\n: Den här utgåvans underlag\n"


def stage_book(year: int, runs: list[ChapterRun], kf: pd.DataFrame, info: dict[str, Any], stage: Path,
               disclosure: dict[str, dict[str, Any]] | None = None) -> None:
    """Write the staged Quarto project for ``year`` into ``stage`` (see the module docstring).

    ``info`` carries version, date, commit, data fingerprint and note, the synthetic flag,
    publisher and municipality, renderer text and cut-off (see :func:`render`).
    """
    root = PATHS.root
    generated = ("_siffror.md", "_audit.md", "_data_info.md", "_headlines.md", "key_figures.csv", "nyckeltal.csv")
    for name in STAGED_FILES:
        if (root / name).is_file():
            shutil.copy2(root / name, stage / name)
    for name in STAGED_DIRS:
        if (root / name).is_dir():
            shutil.copytree(root / name, stage / name, ignore=shutil.ignore_patterns(*generated))
    label = edition_label(info)
    config = yaml.safe_load((stage / "_quarto.yml").read_text(encoding="utf-8"))
    book = config.setdefault("book", {})
    book["subtitle"] = label[:1].upper() + label[1:]
    book["author"] = info["author"]
    book["date"] = info["date"]
    book["page-footer"] = {"left": f"Genomlysning Barn och unga · {label}", "right": info["data_note"]}
    (stage / "_quarto.yml").write_text(
        "# Staged copy of the project's _quarto.yml, written by helpers.build for this render.\n"
        + yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    variables = {"report": {
        "year": year, "version": info["version"], "date": info["date"], "commit": info["commit_short"],
        "data_fingerprint": info["fingerprint"], "data_note": info["data_note"],
        "data_description": info["data_description"], "publisher": info["author"],
        "municipality": info["municipality"] or "kommunen", "renderer": info["renderer_text"],
        "data_cutoff": info["data_cutoff_text"]}}
    (stage / "_variables.yml").write_text(yaml.safe_dump(variables, allow_unicode=True, sort_keys=False), encoding="utf-8")
    if not info["synthetic"]:
        (stage / "assets" / "_banner.html").write_text("", encoding="utf-8")
        (stage / "assets" / "_banner.tex").write_text("% real data: no banner\n", encoding="utf-8")
    if info.get("preliminary"):  # every page of a preliminary report says so (HTML banner, PDF header)
        html_banner = stage / "assets" / "_banner.html"
        html_banner.write_text(html_banner.read_text(encoding="utf-8") + PRELIMINARY_HTML, encoding="utf-8")
        what = "Syntetiska demodata -- inte verkliga uppgifter · " if info["synthetic"] else ""
        (stage / "assets" / "_banner.tex").write_text(PRELIMINARY_TEX.replace("@WHAT@", what), encoding="utf-8")
    nbdir = stage / "notebooks"
    nbdir.mkdir(parents=True, exist_ok=True)
    for r in runs:
        rel = r.source.relative_to(root)
        dest = stage / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(r.output / r.source.name, dest)
        if info.get("published_base"):
            dest.write_text(absolute_data_links(dest.read_text(encoding="utf-8"), info["published_base"]),
                            encoding="utf-8")
        for sub in ("figures", "tables"):
            if (r.output / sub).is_dir():
                shutil.copytree(r.output / sub, dest.parent / sub, dirs_exist_ok=True)
    titles = chapter_titles(runs)
    (stage / "_headlines.md").write_text(headlines_markdown(collect_headlines(runs, kf)), encoding="utf-8")
    appendix = stage / "appendix"
    appendix.mkdir(exist_ok=True)
    (appendix / "_siffror.md").write_text(key_figures_markdown(kf, titles), encoding="utf-8")
    (appendix / "_audit.md").write_text(audit_markdown(disclosure or {}, titles), encoding="utf-8")
    (appendix / "_data_info.md").write_text(data_info_markdown(info), encoding="utf-8")
    published = published_key_figures(kf)
    (appendix / "key_figures.csv").write_bytes(key_figures_csv(published))
    (appendix / "nyckeltal.csv").write_bytes(nyckeltal_csv(published, info["synthetic"]))


#: A caption link to a data file of a figure or table: ``](figures/fig-x.csv)``.
_DATA_LINK_RE = re.compile(r"\]\(((?:figures|tables)/[A-Za-z0-9_.-]+\.csv)\)")


def absolute_data_links(text: str, base: str) -> str:
    """``text`` (a notebook's JSON or Markdown) with every link to a figure's or table's data file
    (``](figures/….csv)``, ``](tables/….csv)``) made absolute under ``base``, the published
    book's address: a PDF read on its own still reaches the files."""
    base = base.rstrip("/") + "/"
    return _DATA_LINK_RE.sub(lambda m: f"]({base}{m.group(1)})", text)


def published_base(url: str, year: int, version: str) -> str:
    """``published_url`` from report.yml with ``{year}`` and ``{version}`` filled in ("" if unset)."""
    url = (url or "").strip()
    if not url:
        return ""
    try:
        url = url.format(year=year, version=version)
    except (KeyError, IndexError, ValueError) as e:
        raise BuildError(f"report.yml: published_url {url!r} kan bara innehålla {{year}} och {{version}}") from e
    if not re.match(r"^https?://", url):
        raise BuildError(f"report.yml: published_url {url!r} ska börja med https:// eller http://")
    return url


def _pdf_string(raw: bytes) -> str:
    """A PDF literal string's bytes (between the parentheses) decoded: escapes and octal codes."""
    out = bytearray()
    i = 0
    while i < len(raw):
        c = raw[i]
        if c == 0x5C and i + 1 < len(raw):  # backslash
            n = raw[i + 1]
            if 0x30 <= n <= 0x37:
                j = i + 1
                while j < len(raw) and j < i + 4 and 0x30 <= raw[j] <= 0x37:
                    j += 1
                out.append(int(raw[i + 1:j], 8) & 0xFF)
                i = j
                continue
            out += {ord("n"): b"\n", ord("r"): b"\r", ord("t"): b"\t", ord("b"): b"\b",
                    ord("f"): b"\f"}.get(n, bytes([n]))
            i += 2
            continue
        out.append(c)
        i += 1
    if out.startswith(b"\xfe\xff"):
        return out[2:].decode("utf-16-be", errors="replace")
    return out.decode("latin-1")


_URI_RE = re.compile(rb"/URI\s*(?:\(((?:\\.|[^\\)])*)\)|<([0-9A-Fa-f\s]*)>)", re.DOTALL)
_STREAM_RE = re.compile(rb"stream\r?\n(.*?)endstream", re.DOTALL)


def pdf_link_targets(pdf: bytes) -> list[str]:
    """The targets of the link annotations (``/URI``) of a PDF, also those inside compressed
    object streams (as LaTeX writes them), in order of appearance."""
    import zlib

    chunks = [pdf]
    for m in _STREAM_RE.finditer(pdf):
        try:
            chunks.append(zlib.decompress(m.group(1)))
        except zlib.error:
            continue
    targets = []
    for chunk in chunks:
        for m in _URI_RE.finditer(chunk):
            if m.group(1) is not None:
                targets.append(_pdf_string(m.group(1)))
            else:
                targets.append(bytes.fromhex(re.sub(rb"\s", b"", m.group(2)).decode()).decode("latin-1"))
    return targets


def place_data_beside_pdf(out: Path, stage: Path) -> None:
    """Put the figures' and tables' data files where the PDF's relative links point: the chapters
    link ``figures/….csv`` from ``notebooks/``, and the PDF lies at the top of the book (Quarto
    keeps them under ``notebooks/``; the built-in renderer already puts them at the top)."""
    for sub in ("figures", "tables"):
        for src in sorted((stage / "notebooks" / sub).glob("*.csv")):
            dest = out / sub / src.name
            if not dest.is_file():
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dest)


def check_pdf_links(pdf: Path) -> int:
    """Every link of ``pdf`` is absolute (a web address, e-mail) or names a file that exists
    relative to the PDF; returns how many relative links were checked."""
    n = 0
    dead = []
    for target in pdf_link_targets(pdf.read_bytes()):
        if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", target) or target.startswith("#"):
            continue
        n += 1
        if not (pdf.parent / target.split("#", 1)[0]).is_file():
            dead.append(target)
    if dead:
        raise BuildError(f"{pdf.name}: länkarna {', '.join(sorted(set(dead)))} pekar på filer som inte "
                         "finns bredvid PDF:en")
    return n


# --- 5. render ----------------------------------------------------------------------------------


def quarto_path() -> str | None:
    return shutil.which("quarto")


def choose_renderer(requested: str = "auto") -> str:
    if requested not in {"auto", "quarto", "builtin"}:
        raise BuildError(f"okänd renderare {requested!r} (auto, quarto eller builtin)")
    if requested == "quarto" and not quarto_path():
        raise BuildError("quarto finns inte på PATH; installera Quarto eller använd --renderer builtin")
    if requested == "auto":
        return "quarto" if quarto_path() else "builtin"
    return requested


def renderer_version(which: str) -> str:
    """Version text of the renderer, as recorded in the manifest."""
    if which == "quarto":
        return subprocess.run([quarto_path() or "quarto", "--version"], capture_output=True, text=True).stdout.strip()
    from helpers.publishing.render import builtin

    v = builtin.versions()
    return f"pandoc {v['pandoc']}, typst-py {v['typst-py']}"


def renderer_text(which: str, version: str) -> str:
    """The renderer as the preface names it (``{{< var report.renderer >}}``)."""
    if which == "quarto":
        return f"Quarto {version}".strip()
    return version.replace(", typst-py ", " och typst ")


def render_quarto(stage: Path, epoch: int | None = None) -> tuple[Path, str]:
    """``quarto render`` of the staged project, without executing anything; ``epoch`` is passed
    as ``SOURCE_DATE_EPOCH`` (the PDF's creation date)."""
    version = renderer_version("quarto")
    env = {**os.environ, **({"SOURCE_DATE_EPOCH": str(epoch)} if epoch is not None else {})}
    proc = subprocess.run(["quarto", "render", str(stage), "--no-execute", "--to", "all"],
                          capture_output=True, text=True, cwd=stage, env=env)
    if proc.returncode != 0:
        raise BuildError(f"quarto render misslyckades ({proc.returncode}):\n{proc.stderr.strip()[-3000:]}")
    out = stage / "_book"
    if not (out / "index.html").is_file():
        raise BuildError(f"quarto render gav ingen {out / 'index.html'}")
    return out, version


def render_builtin(stage: Path, info: dict[str, Any]) -> tuple[Path, str]:
    from helpers.publishing.render import builtin

    out = stage / "_book"
    try:
        builtin.render(stage, out, synthetic=info["synthetic"], timestamp=info.get("epoch"),
                       footer_note=edition_label(info),
                       provenance=(f"Version {info['version']} · kod {info['commit_short']}"
                                   f"{' (ändrad)' if info['dirty'] else ''} · indata {info['fingerprint']} · "
                                   f"daterad {info['date']}"))
    except builtin.RenderError as e:
        raise BuildError(str(e)) from e
    return out, renderer_version("builtin")


# --- 6. publish ---------------------------------------------------------------------------------


def stage_publish_copy(book: Path, year: int, info: dict[str, Any], log: Log,
                       staged: list[Path]) -> tuple[Path, Path] | None:
    """A copy of the rendered report for ``_publish/<year>/<version>/``, staged beside it:
    ``(staged copy, its place)``, or None if that version already holds another edition (a
    published version does not change; the user is told to raise the version)."""
    label = info["version"] + ("-dev" if info["dirty"] else "")
    dest = PATHS.publish / str(year) / label
    existing = dest / "manifest.json"
    if existing.is_file() and not info["dirty"]:
        old = json.loads(existing.read_text(encoding="utf-8"))
        if (old.get("data", {}).get("fingerprint") != info["fingerprint"]
                or old.get("code", {}).get("commit") != info["commit"]):
            log(f"Obs: version {label} för {year} finns redan i {dest} med andra indata eller annan kod; "
                "den sparade versionen lämnas orörd. Höj versionen i src/helpers/__init__.py och CHANGELOG.md.")
            return None
    PATHS.publish.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".publish-", dir=PATHS.publish))
    staged.append(tmp)
    shutil.copytree(book, tmp / "book")
    return tmp / "book", dest


#: The journal of the render's one commit (see :func:`publish_all`).
JOURNAL = "publish-journal.json"


def publish_all(pairs: list[tuple[Path, Path]]) -> None:
    """Publish everything a render changed in one step: the book, the staged project, the kept
    version, the figures and (when the raw data changed) ``data/processed``. The pairs
    ``(staged, place)`` are committed with a journal (:func:`helpers.provenance.commit_swaps`): a
    kill before the commit point leaves all of them as they were, a kill after it is finished by
    the next run (:func:`recover_interrupted`). The list of kept versions is written afterwards."""
    commit_swaps(pairs, PATHS.build / JOURNAL, PATHS.root)
    write_publish_index()


def _pdf_link(rel: str, pdf: str | None) -> str:
    if not pdf:
        return ""
    return f'<a href="{html.escape(rel)}/{html.escape(pdf)}">PDF</a>'


def _manifest_date(d: dict[str, Any]) -> str:
    """The edition's date of a kept manifest (``created`` in those from before 0.8)."""
    return str(d.get("date") or d.get("created") or d.get("publisher", {}).get("released") or "")


def write_publish_index() -> Path | None:
    """The list of kept versions, ``_publish/index.html`` (None, and nothing written, if none is kept)."""
    kept = sorted(PATHS.publish.glob("*/*/manifest.json"))
    if not kept:
        return None
    rows = []
    for m in kept:
        d = json.loads(m.read_text(encoding="utf-8"))
        rel = m.parent.relative_to(PATHS.publish).as_posix()
        pdf = next(iter(sorted(m.parent.glob("*.pdf"))), None)
        rows.append((d["year"], d["version"], rel, d, pdf.name if pdf else None))
    rows.sort(key=lambda r: (r[0], _manifest_date(r[3])), reverse=True)
    items = "\n".join(
        f"<tr><td>{y}</td><td><a href=\"{html.escape(rel)}/index.html\">{html.escape(v)}</a></td>"
        f"<td>{html.escape(_manifest_date(d)[:10])}</td><td>{html.escape(d['data']['fingerprint'])}"
        f"{' (syntetiska)' if d['data'].get('synthetic') else ''}</td><td>{html.escape(d['renderer']['name'])}</td>"
        f"<td>{_pdf_link(rel, p)}</td></tr>"
        for y, v, rel, d, p in rows)
    page = f"""<!DOCTYPE html>
<html lang="sv"><head><meta charset="utf-8"><title>Genomlysning Barn och unga – publicerade versioner</title>
<style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}}
table{{border-collapse:collapse}}td,th{{padding:.3rem .8rem;border-bottom:1px solid #ddd;text-align:left}}</style></head>
<body><h1>Genomlysning Barn och unga – publicerade versioner</h1>
<p>Varje rad är en renderad rapport, sparad per rapportår och version. Ändringarna mellan versionerna
står i CHANGELOG.md.</p>
<table><thead><tr><th>Rapportår</th><th>Version</th><th>Datum</th><th>Indata</th><th>Renderare</th><th></th></tr></thead>
<tbody>
{items}
</tbody></table></body></html>
"""
    out = PATHS.publish / "index.html"
    out.write_text(page, encoding="utf-8")
    return out


def stage_figures(runs: list[ChapterRun], year: int, staged: list[Path]) -> tuple[Path, Path]:
    """Every figure (PNG, SVG and its data as CSV) for ``figures/<year>/`` (slides and memos),
    staged beside it: ``(staged folder, its place)``, swapped in by :func:`publish_all`."""
    dest = PATHS.figures / str(year)
    PATHS.figures.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{year}-new-", dir=PATHS.figures))
    staged.append(tmp)
    for r in runs:
        for f in sorted((r.output / "figures").glob("*")):
            if f.suffix in {".png", ".svg", ".csv"}:
                shutil.copy2(f, tmp / f.name)
    return tmp, dest


#: Temporary names that an interrupted run leaves behind, by folder (removed at the next run).
STALE_PATTERNS: dict[str, tuple[str, ...]] = {
    "root": (".book-*",), "data": (".processed-*", ".raw-demo-*"), "publish": (".publish-*",), "figures": (".*-new-*",),
    "build_year": ("stage-*",), "cache": (".*-*",),
}


def recover_interrupted(log: Log = print) -> None:
    """Put the project back in order after a run that was killed: finish a render's commit that
    had passed its commit point (:func:`publish_all`), undo other interrupted folder swaps
    (``_book``, ``data/processed``, ``figures/<year>``, ``_build/<year>/book``) and remove the
    temporary folders it left (they can hold pseudonymised data). Runs under :class:`build_lock`."""
    finished = recover_journal(PATHS.build / JOURNAL, PATHS.root)
    if finished:
        log(f"Slutförde en avbruten publicering: {', '.join(portable_path(p) for p in finished)}")
    write_publish_index()
    years = [d for d in PATHS.build.glob("*") if d.is_dir() and d.name.isdigit()]
    folders = [PATHS.root, PATHS.processed.parent, PATHS.figures, *years]
    restored = [p for f in folders for p in recover_swaps(f)]
    removed = (clean_stale(PATHS.root, STALE_PATTERNS["root"])
               + clean_stale(PATHS.processed.parent, STALE_PATTERNS["data"])
               + clean_stale(PATHS.publish, STALE_PATTERNS["publish"])
               + clean_stale(PATHS.figures, STALE_PATTERNS["figures"]))
    for d in years:
        removed += clean_stale(d, STALE_PATTERNS["build_year"]) + clean_stale(d / "cache", STALE_PATTERNS["cache"])
    if restored:
        log(f"Återställde efter en avbruten körning: {', '.join(portable_path(p) for p in restored)}")
    if removed:
        log(f"Tog bort {len(removed)} tillfälliga mappar från en avbruten körning")


# --- the whole journey --------------------------------------------------------------------------


def render(year: int, *, renderer: str = "auto", jobs: int | None = None, use_cache: bool = True,
           publish: bool = True, data_cutoff: str | None = None, preliminary: bool = False,
           log: Log = print) -> BuildResult:
    """Build the report for ``year``: see the module docstring for the steps.

    ``data_cutoff`` (ISO date, not before the end of the report year) lets the chapters use data
    registered up to that day; the default is the end of the report year. It is passed to every
    chapter and stated in the report.
    """
    check_year_over(year, preliminary)
    with build_lock(log):
        recover_interrupted(log)
        return _render(year, renderer=renderer, jobs=jobs, use_cache=use_cache, publish=publish,
                       data_cutoff=data_cutoff, preliminary=preliminary, log=log)


def _render(year: int, *, renderer: str, jobs: int | None, use_cache: bool, publish: bool,
            data_cutoff: str | None, preliminary: bool, log: Log) -> BuildResult:
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    which = choose_renderer(renderer)
    cutoff = check_data_cutoff(year, data_cutoff)
    settings = report_settings()
    data_manifest, processed_dir = prepare_data(log, stage=True)
    staged: list[Path] = [processed_dir.parent] if processed_dir != PATHS.processed else []
    try:
        return _render_chapters(year, which, cutoff, settings, data_manifest, processed_dir, staged, t0, timings,
                                jobs=jobs, use_cache=use_cache, publish=publish, preliminary=preliminary, log=log)
    finally:
        for folder in staged:  # whatever was not committed (a failed render) goes
            shutil.rmtree(folder, ignore_errors=True)


def _render_chapters(year: int, which: str, cutoff: str, settings: dict[str, str], data_manifest: dict[str, Any],
                     processed_dir: Path, staged: list[Path], t0: float, timings: dict[str, float], *,
                     jobs: int | None, use_cache: bool, publish: bool, preliminary: bool, log: Log) -> BuildResult:
    timings["data"] = time.perf_counter() - t0
    years = available_years(data_manifest)
    if year not in years:
        raise BuildError(f"Rapportåret {year} finns inte i data (tillgängliga år: {', '.join(map(str, years))}).")

    t = time.perf_counter()
    runs = run_chapters(year, data_manifest, jobs=jobs, use_cache=use_cache, data_cutoff=cutoff, log=log,
                        processed_dir=processed_dir)
    timings["chapters"] = time.perf_counter() - t
    t = time.perf_counter()
    disclosure = audit_chapters(runs, year, log=log)
    timings["audit"] = time.perf_counter() - t
    kf = collect_key_figures(runs)
    published = published_key_figures(kf)
    rversion = renderer_version(which)

    git = git_info()
    epoch, date_source = release_epoch(year, cutoff, git["time"])
    synthetic = bool(data_manifest.get("synthetic", False))
    note, description = _data_note(synthetic)
    info = {"year": year, "version": __version__, "date": epoch_date(epoch), "epoch": epoch,
            "commit": git["commit"], "commit_short": git["short"], "dirty": git["dirty"],
            "fingerprint": ingest.fingerprint(data_manifest=data_manifest), "synthetic": synthetic,
            "data_note": note, "data_description": description,
            "municipality": settings["municipality"],
            "author": ", ".join(x for x in (settings["publisher"], settings["municipality"]) if x),
            "renderer_text": renderer_text(which, rversion), "data_cutoff": cutoff,
            "data_cutoff_text": cutoff_text(year, cutoff), "chapters": len(runs),
            "published_base": published_base(settings["published_url"], year, __version__),
            "preliminary": bool(preliminary)}
    if preliminary:
        info["data_description"] = (f"**Preliminära uppgifter:** {year} var inte slut när rapporten byggdes, så "
                                    "siffrorna kan ändras när resten av året kommer in. " + info["data_description"])

    build_dir = PATHS.build_year(year)
    build_dir.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix="stage-", dir=build_dir))
    staged.append(stage)  # removed by render() unless committed
    stage_book(year, runs, kf, info, stage, disclosure)
    t = time.perf_counter()
    log(f"Renderar med {'Quarto' if which == 'quarto' else 'den inbyggda renderaren (pandoc + typst)'}")
    if which == "quarto":
        out, _ = render_quarto(stage, epoch)
    else:
        out, _ = render_builtin(stage, info)
    timings["render"] = time.perf_counter() - t
    pdfs = sorted(out.rglob("*.pdf"))
    if not pdfs:
        raise BuildError(f"Renderingen gav ingen PDF i {out}")
    place_data_beside_pdf(out, stage)
    (out / "key_figures.csv").write_bytes(key_figures_csv(published))
    (out / "nyckeltal.csv").write_bytes(nyckeltal_csv(published, synthetic))
    for pdf in pdfs:
        check_pdf_links(pdf)
    timings["total"] = time.perf_counter() - t0
    # Everything published is the same bytes on every build of the same commit and data:
    # no clock time, no durations, no absolute paths (see release_epoch); those go to the
    # unpublished build log.
    manifest = {
        "title": "Genomlysning Barn och unga",
        "version": __version__,
        "year": year,
        "date": info["date"],
        "code": {"commit": git["commit"], "dirty": git["dirty"], "helpers": helpers_code_hash()},
        "parameters": {r.name: {**r.parameters, "processed_dir": portable_path(r.parameters["processed_dir"])}
                       for r in runs},
        "chapters": [{"notebook": portable_path(r.source)} for r in runs],
        "data": {"fingerprint": info["fingerprint"], "synthetic": synthetic, "cutoff": cutoff or None,
                 "preliminary": bool(preliminary),
                 "pseudonym_key": data_manifest.get("pseudonym_key"),
                 "inputs": {k: v["sha256"] for k, v in data_manifest.get("inputs", {}).items()}},
        "renderer": {"name": which, "version": rversion, "text": info["renderer_text"]},
        "publisher": {"author": info["author"], "municipality": settings["municipality"],
                      "released": info["date"]},
        "data_cutoff": cutoff or None,
        "packages": package_versions(),
        "key_figures": len(kf),
        "key_figures_hidden": int((published["status"] != "").sum()),
        "disclosure": {c: {k: v for k, v in s.items() if k not in _AUDIT_RUN_KEYS}
                       for c, s in disclosure.items()},
        "pdf": pdfs[0].relative_to(out).as_posix(),
    }
    build_log = {
        "built_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "year": year, "version": __version__, "commit": git["commit"], "dirty": git["dirty"],
        "date": info["date"], "source_date_epoch": epoch, "date_source": date_source,
        "timings_s": {k: round(v, 2) for k, v in timings.items()},
        "chapters": [{"notebook": portable_path(r.source), "seconds": round(r.seconds, 2), "cached": r.cached}
                     for r in runs],
        "audit": {c: {k: s.get(k) for k in _AUDIT_RUN_KEYS} for c, s in disclosure.items()},
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    # Everything this render changes is staged beside its place, then published by one commit.
    book_tmp = Path(tempfile.mkdtemp(prefix=".book-", dir=PATHS.root))
    staged.append(book_tmp)
    shutil.move(str(out), str(book_tmp / "_book"))
    pairs = [(book_tmp / "_book", PATHS.book), (stage, build_dir / "book")]  # the staged project, for inspection
    dest = stage_publish_copy(book_tmp / "_book", year, info, log, staged) if publish else None
    if dest:
        pairs.append(dest)
    pairs.append(stage_figures(runs, year, staged))
    if processed_dir != PATHS.processed:
        pairs.append((processed_dir, PATHS.processed))
    publish_all(pairs)
    (build_dir / BUILD_LOG).write_text(json.dumps(build_log, indent=2, ensure_ascii=False) + "\n",
                                       encoding="utf-8")
    pdf = PATHS.book / manifest["pdf"]
    kept = dest[1] if dest else None
    log(f"Klart på {_fmt_s(time.perf_counter() - t0)}: {PATHS.book / 'index.html'}")
    log(f"  PDF: {pdf}")
    if kept:
        log(f"  Sparad version: {kept}")
    return BuildResult(year, PATHS.book, PATHS.book / "index.html", pdf, kept, which, manifest, runs, build_log)
