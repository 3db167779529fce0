"""The build: raw extracts → processed data → executed chapters → staged book → rendered report.

``genomlysning render --year 2020`` (``make report``) runs :func:`render`:

1. **Data.** Writes the synthetic demo extracts if ``data/raw`` holds none (and no other raw
   folder is configured), and ingests if the raw inputs or the ingest code changed.
2. **Chapters.** Every ``.ipynb`` chapter listed in ``_quarto.yml`` is executed with papermill
   and the year's parameters, in parallel where cores allow, into
   ``_build/<year>/cache/<chapter>/``. A chapter whose notebook, parameters, helper code and
   processed data are unchanged since its last successful run is not executed again (content
   hash in ``hash.txt``). A failing chapter stops the build with the notebook, cell and error.
3. **Stage.** A copy of the Quarto project (``_quarto.yml`` with the year's subtitle and date,
   ``index.qmd``, appendices, ``references.bib``, assets) plus the executed notebooks, their
   figure and table data, ``_variables.yml`` and the key-figure appendix is written to a fresh
   temporary folder under ``_build/<year>/``.
4. **Render** without executing anything: ``quarto render --no-execute`` when Quarto is on
   PATH, otherwise the built-in pandoc + typst renderer (:mod:`helpers.render.builtin`).
5. **Publish.** ``manifest.json`` and ``key_figures.csv`` are written beside the book; the new
   book replaces ``_book/`` in one rename (a failure anywhere before leaves the previous
   ``_book/`` as it was); a copy is kept in ``_publish/<year>/<version>/`` with an index page;
   the figures are exported to ``figures/<year>/``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd
import yaml

from . import __version__, fmt, ingest
from .config import PATHS
from .provenance import git_info, hash_files, swap_dir
from .publish import KEY_FIGURE_COLUMNS, MIN_CELL

#: Project files copied into the staged Quarto project (besides the chapter notebooks).
STAGED_FILES = ("_quarto.yml", "index.qmd", "references.bib")
STAGED_DIRS = ("assets", "appendix")
PACKAGES = ("pandas", "numpy", "matplotlib", "seaborn", "statsmodels", "scipy", "papermill",
            "nbformat", "pyarrow", "openpyxl", "pypandoc-binary", "typst")

Log = Callable[[str], None]


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
    from .render.builtin import book_parts

    chapters, appendices = book_parts(config or book_config())
    out = [PATHS.root / c for c in chapters + appendices if c.endswith(".ipynb")]
    missing = [str(p.relative_to(PATHS.root)) for p in out if not p.is_file()]
    if missing:
        raise BuildError(f"_quarto.yml listar kapitel som inte finns: {', '.join(missing)}")
    return out


def _fmt_s(seconds: float) -> str:
    return f"{fmt.num(seconds, 1)} s"


# --- 1. data ------------------------------------------------------------------------------------


def ensure_data(log: Log = print) -> dict[str, Any]:
    """Write the demo extracts if there are none, ingest if needed; return the data manifest."""
    raw = PATHS.raw
    if not os.environ.get("GENOMLYSNING_DATA_DIR"):
        raw.mkdir(parents=True, exist_ok=True)
        if not any(raw.glob("*.xlsx")):
            from .synth import generate

            t = time.perf_counter()
            generate.main(raw)
            log(f"Syntetiska demodata skrivna till {raw} ({_fmt_s(time.perf_counter() - t)})")
    if not ingest.is_current():
        t = time.perf_counter()
        try:
            ingest.run()
        except ingest.RawDataError as e:
            raise BuildError(f"Rådata klarar inte datakontraktet; inget har ändrats.\n{e}") from e
        log(f"Rådata validerade och inlästa till {PATHS.processed} ({_fmt_s(time.perf_counter() - t)})")
    else:
        log("Bearbetade data är aktuella (inga ändrade rådata)")
    return ingest.manifest()


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


def run_chapter(notebook: Path, year: int, cache_root: Path, data_manifest: dict[str, Any],
                *, use_cache: bool = True) -> ChapterRun:
    """Execute one chapter notebook with papermill (or reuse the cached run)."""
    name = notebook.stem
    target = cache_root / name
    parameters = {"year": year, "processed_dir": str(PATHS.processed)}
    digest = chapter_hash(notebook, parameters, data_manifest)
    if use_cache and (target / "hash.txt").is_file() and (target / "hash.txt").read_text().strip() == digest:
        return ChapterRun(name, notebook, target, 0.0, True, parameters)
    cache_root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=cache_root))
    executed = work / notebook.name
    t = time.perf_counter()
    cmd = [sys.executable, "-m", "papermill", str(notebook), str(executed),
           "-p", "year", str(year), "-p", "processed_dir", str(PATHS.processed),
           "-p", "output_dir", str(work), "--cwd", str(work), "--no-progress-bar", "--log-level", "WARNING",
           "--kernel", "python3"]  # the project's own Python (ipykernel in .venv), whatever the notebook says
    env = {**os.environ, "PYDEVD_DISABLE_FILE_VALIDATION": "1", "MPLBACKEND": "Agg"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - t
    if proc.returncode != 0:
        message = _failure(executed, notebook)
        shutil.rmtree(work, ignore_errors=True)
        tail = "\n".join(proc.stderr.strip().splitlines()[-3:])
        raise BuildError(f"Kapitlet misslyckades: {message}\n{tail}")
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
                 use_cache: bool = True, log: Log = print) -> list[ChapterRun]:
    notebooks = chapter_notebooks()
    cache_root = PATHS.build_year(year) / "cache"
    jobs = max(1, min(jobs or (os.cpu_count() or 1), len(notebooks)))
    log(f"Kör {len(notebooks)} kapitel för {year} ({jobs} parallellt)")
    results: dict[Path, ChapterRun] = {}
    errors: list[str] = []
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(run_chapter, nb, year, cache_root, data_manifest, use_cache=use_cache): nb
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


# --- 3. stage -----------------------------------------------------------------------------------


def collect_key_figures(runs: list[ChapterRun]) -> pd.DataFrame:
    frames = []
    for r in runs:
        for f in sorted(r.output.glob("key_figures_*.csv")):
            frames.append(pd.read_csv(f))
    cols = [*KEY_FIGURE_COLUMNS, "numerator"]
    if not frames:
        return pd.DataFrame(columns=cols)
    kf = pd.concat(frames, ignore_index=True).reindex(columns=cols)
    dup = kf[kf.duplicated("id", keep=False)]
    if not dup.empty:
        raise BuildError(f"Samma nyckeltals-id i flera kapitel: {sorted(set(dup['id']))}")
    return kf


def protect_key_figures(kf: pd.DataFrame) -> pd.DataFrame:
    """The key figures as published beside the report: counts 1–4, and shares whose numerator is
    such a count, are suppressed (value empty), as in the figures and tables. The chapters' own
    files under ``_build`` stay unsuppressed (the reproduction test compares those)."""
    from .publish import is_small

    out = kf.copy()
    small = (out["unit"] == "count") & out["value"].map(is_small)
    if "numerator" in out.columns:  # shares and rates computed from a small count
        small |= pd.to_numeric(out["numerator"], errors="coerce").map(is_small)
    out["value"] = out["value"].astype(float).where(~small)
    return out[KEY_FIGURE_COLUMNS]


UNIT_LABELS = {"count": "antal", "percent": "procent", "ratio": "kvot", "per_1000": "per 1 000",
               "kr": "kr", "percentage_points": "procentenheter", "year": "år"}


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
    """The appendix of key figures: one table per chapter, Swedish number format.

    ``titles`` maps the chapter key (``inflode``) to its title for the section headers. The
    relative column widths (the dashes of the separator line) keep the long ids readable in the PDF.
    """
    if kf.empty:
        return "*Inga nyckeltal.*\n"

    def value(row: pd.Series) -> str:
        v = float(row["value"])
        if v != v:  # suppressed by protect_key_figures
            return f"\\<{MIN_CELL}"
        if row["unit"] == "year":
            return str(int(v))
        if row["unit"] == "count":
            return fmt.num(v, 0)
        return fmt.num(v, 3 if row["unit"] == "ratio" else 1)

    out = []
    for chapter, group in kf.groupby("chapter", sort=False):
        title = (titles or {}).get(chapter, chapter)
        out.append(f"## {title} {{.unnumbered}}\n")
        lines = ["| Nyckeltal | År | Värde | Enhet |",
                 "|:" + "-" * 68 + "|" + "-" * 6 + ":|" + "-" * 9 + ":|:" + "-" * 12 + "|"]
        for _, r in group.iterrows():
            label = str(r["label"]).replace("|", "\\|")
            lines.append(f"| `{r['id']}` {label} | {int(r['year'])} | {value(r)} | "
                         f"{UNIT_LABELS.get(r['unit'], r['unit'])} |")
        out.append("\n".join(lines) + f"\n\n: Nyckeltal i kapitlet {title}\n")
    if kf["value"].isna().any():
        out.append(f"*\\<{MIN_CELL}: färre än {MIN_CELL}, redovisas inte.*\n")
    return "\n".join(out)


def _data_note(synthetic: bool) -> tuple[str, str]:
    if synthetic:
        return ("Syntetiska demodata: inga verkliga barn eller ärenden.",
                "Rapporten bygger på **syntetiska demodata**: påhittade ärenden som projektets "
                "generator skriver i samma form som uttagen ur verksamhetssystemet Treserva, "
                "kalibrerade så att kedjan återger siffrorna i Genomlysningen 2021. Inga uppgifter "
                "gäller verkliga barn. Med kommunens egna uttag i `data/raw` byggs samma rapport på "
                "verkliga data.")
    return ("Ärendedata ur Treserva, pseudonymiserade.",
            "Rapporten bygger på uttag ur verksamhetssystemet Treserva. Personnummer har ersatts "
            "med pseudonymer innan bearbetningen, och små tal redovisas inte.")


def stage_book(year: int, runs: list[ChapterRun], kf: pd.DataFrame, info: dict[str, Any], stage: Path) -> None:
    root = PATHS.root
    for name in STAGED_FILES:
        if (root / name).is_file():
            shutil.copy2(root / name, stage / name)
    for name in STAGED_DIRS:
        if (root / name).is_dir():
            shutil.copytree(root / name, stage / name, ignore=shutil.ignore_patterns("_siffror.md", "key_figures.csv"))
    config = yaml.safe_load((stage / "_quarto.yml").read_text(encoding="utf-8"))
    book = config.setdefault("book", {})
    book["subtitle"] = f"Rapportår {year} · version {info['version']}"
    book["date"] = info["date"]
    book["page-footer"] = {"left": f"Genomlysning Barn och unga · rapportår {year} · version {info['version']}",
                           "right": info["data_note"]}
    (stage / "_quarto.yml").write_text(
        "# Staged copy of the project's _quarto.yml, written by helpers.build for this render.\n"
        + yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    variables = {"report": {
        "year": year, "version": info["version"], "date": info["date"], "commit": info["commit_short"],
        "data_fingerprint": info["fingerprint"], "data_note": info["data_note"],
        "data_description": info["data_description"]}}
    (stage / "_variables.yml").write_text(yaml.safe_dump(variables, allow_unicode=True, sort_keys=False), encoding="utf-8")
    if not info["synthetic"]:
        (stage / "assets" / "_banner.html").write_text("", encoding="utf-8")
        (stage / "assets" / "_banner.tex").write_text("% real data: no banner\n", encoding="utf-8")
    nbdir = stage / "notebooks"
    nbdir.mkdir(parents=True, exist_ok=True)
    for r in runs:
        rel = r.source.relative_to(root)
        dest = stage / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(r.output / r.source.name, dest)
        for sub in ("figures", "tables"):
            if (r.output / sub).is_dir():
                shutil.copytree(r.output / sub, dest.parent / sub, dirs_exist_ok=True)
    (stage / "appendix").mkdir(exist_ok=True)
    titles = {}
    for r in runs:
        for f in r.output.glob("key_figures_*.csv"):
            titles[f.stem.removeprefix("key_figures_")] = chapter_title(r.source)
    (stage / "appendix" / "_siffror.md").write_text(key_figures_markdown(kf, titles), encoding="utf-8")
    kf.to_csv(stage / "appendix" / "key_figures.csv", index=False, lineterminator="\n")


# --- 4. render ----------------------------------------------------------------------------------


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


def render_quarto(stage: Path) -> tuple[Path, str]:
    """``quarto render`` of the staged project, without executing anything."""
    version = subprocess.run([quarto_path() or "quarto", "--version"], capture_output=True, text=True).stdout.strip()
    proc = subprocess.run(["quarto", "render", str(stage), "--no-execute", "--to", "all"],
                          capture_output=True, text=True, cwd=stage)
    if proc.returncode != 0:
        raise BuildError(f"quarto render misslyckades ({proc.returncode}):\n{proc.stderr.strip()[-3000:]}")
    out = stage / "_book"
    if not (out / "index.html").is_file():
        raise BuildError(f"quarto render gav ingen {out / 'index.html'}")
    return out, version


def render_builtin(stage: Path, info: dict[str, Any]) -> tuple[Path, str]:
    from .render import builtin

    out = stage / "_book"
    try:
        builtin.render(stage, out, synthetic=info["synthetic"],
                       footer_note=f"rapportår {info['year']} · version {info['version']}",
                       provenance=(f"Version {info['version']} · kod {info['commit_short']}"
                                   f"{' (ändrad)' if info['dirty'] else ''} · indata {info['fingerprint']} · "
                                   f"byggd {info['date']}"))
    except builtin.RenderError as e:
        raise BuildError(str(e)) from e
    v = builtin.versions()
    return out, f"pandoc {v['pandoc']}, typst-py {v['typst-py']}"


# --- 5. publish ---------------------------------------------------------------------------------


def publish_copy(book: Path, year: int, info: dict[str, Any], log: Log) -> Path | None:
    """Keep the rendered report in ``_publish/<year>/<version>/`` and refresh the index page."""
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
    shutil.copytree(book, tmp / "book")
    swap_dir(tmp / "book", dest)
    shutil.rmtree(tmp, ignore_errors=True)
    write_publish_index()
    return dest


def _pdf_link(rel: str, pdf: str | None) -> str:
    if not pdf:
        return ""
    return f'<a href="{html.escape(rel)}/{html.escape(pdf)}">PDF</a>'


def write_publish_index() -> Path:
    rows = []
    for m in sorted(PATHS.publish.glob("*/*/manifest.json")):
        d = json.loads(m.read_text(encoding="utf-8"))
        rel = m.parent.relative_to(PATHS.publish).as_posix()
        pdf = next(iter(sorted(m.parent.glob("*.pdf"))), None)
        rows.append((d["year"], d["version"], rel, d, pdf.name if pdf else None))
    rows.sort(key=lambda r: (r[0], r[3].get("created", "")), reverse=True)
    items = "\n".join(
        f"<tr><td>{y}</td><td><a href=\"{html.escape(rel)}/index.html\">{html.escape(v)}</a></td>"
        f"<td>{html.escape(d.get('created', '')[:10])}</td><td>{html.escape(d['data']['fingerprint'])}"
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
<table><thead><tr><th>Rapportår</th><th>Version</th><th>Byggd</th><th>Indata</th><th>Renderare</th><th></th></tr></thead>
<tbody>
{items}
</tbody></table></body></html>
"""
    out = PATHS.publish / "index.html"
    out.write_text(page, encoding="utf-8")
    return out


def export_figures(runs: list[ChapterRun], year: int) -> Path:
    """Copy every figure (PNG, SVG and its data as CSV) to ``figures/<year>/`` for slides and memos."""
    dest = PATHS.figures / str(year)
    dest.mkdir(parents=True, exist_ok=True)
    for r in runs:
        for f in sorted((r.output / "figures").glob("*")):
            if f.suffix in {".png", ".svg", ".csv"}:
                shutil.copy2(f, dest / f.name)
    return dest


# --- the whole journey --------------------------------------------------------------------------


def render(year: int, *, renderer: str = "auto", jobs: int | None = None, use_cache: bool = True,
           publish: bool = True, log: Log = print) -> BuildResult:
    """Build the report for ``year``: see the module docstring for the steps."""
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    which = choose_renderer(renderer)
    data_manifest = ensure_data(log)
    timings["data"] = time.perf_counter() - t0
    years = available_years(data_manifest)
    if year not in years:
        raise BuildError(f"Rapportåret {year} finns inte i data (tillgängliga år: {', '.join(map(str, years))}).")

    t = time.perf_counter()
    runs = run_chapters(year, data_manifest, jobs=jobs, use_cache=use_cache, log=log)
    timings["chapters"] = time.perf_counter() - t
    kf = protect_key_figures(collect_key_figures(runs))

    git = git_info()
    synthetic = bool(data_manifest.get("synthetic", False))
    note, description = _data_note(synthetic)
    info = {"year": year, "version": __version__, "date": dt.date.today().isoformat(),
            "commit": git["commit"], "commit_short": git["short"], "dirty": git["dirty"],
            "fingerprint": ingest.fingerprint(data_manifest=data_manifest), "synthetic": synthetic,
            "data_note": note, "data_description": description}

    build_dir = PATHS.build_year(year)
    build_dir.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix="stage-", dir=build_dir))
    try:
        stage_book(year, runs, kf, info, stage)
        t = time.perf_counter()
        log(f"Renderar med {'Quarto' if which == 'quarto' else 'den inbyggda renderaren (pandoc + typst)'}")
        if which == "quarto":
            out, rversion = render_quarto(stage)
        else:
            out, rversion = render_builtin(stage, info)
        timings["render"] = time.perf_counter() - t
        pdfs = sorted(out.rglob("*.pdf"))
        if not pdfs:
            raise BuildError(f"Renderingen gav ingen PDF i {out}")
        kf.to_csv(out / "key_figures.csv", index=False, lineterminator="\n")
        timings["total"] = time.perf_counter() - t0
        manifest = {
            "title": "Genomlysning Barn och unga",
            "version": __version__,
            "year": year,
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "code": {"commit": git["commit"], "dirty": git["dirty"], "helpers": helpers_code_hash()},
            "parameters": {r.name: r.parameters for r in runs},
            "chapters": [{"notebook": str(r.source.relative_to(PATHS.root)), "seconds": round(r.seconds, 2),
                          "cached": r.cached} for r in runs],
            "data": {"fingerprint": info["fingerprint"], "synthetic": synthetic,
                     "pseudonym_key": data_manifest.get("pseudonym_key"),
                     "inputs": {k: v["sha256"] for k, v in data_manifest.get("inputs", {}).items()}},
            "renderer": {"name": which, "version": rversion},
            "packages": package_versions(),
            "key_figures": len(kf),
            "pdf": pdfs[0].relative_to(out).as_posix(),
            "timings_s": {k: round(v, 2) for k, v in timings.items()},
        }
        (out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        # Keep the staged project (executed notebooks included) as _build/<year>/book for inspection.
        final_stage = build_dir / "book"
        book_tmp = Path(tempfile.mkdtemp(prefix=".book-", dir=PATHS.root))
        shutil.move(str(out), str(book_tmp / "_book"))
        swap_dir(book_tmp / "_book", PATHS.book)
        shutil.rmtree(book_tmp, ignore_errors=True)
        swap_dir(stage, final_stage)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    dest = publish_copy(PATHS.book, year, info, log) if publish else None
    export_figures(runs, year)
    pdf = PATHS.book / manifest["pdf"]
    log(f"Klart på {_fmt_s(time.perf_counter() - t0)}: {PATHS.book / 'index.html'}")
    log(f"  PDF: {pdf}")
    if dest:
        log(f"  Sparad version: {dest}")
    return BuildResult(year, PATHS.book, PATHS.book / "index.html", pdf, dest, which, manifest, runs)
