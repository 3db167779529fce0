"""Ingest and render at volume: ``python -m helpers.bench_scale`` (``make bench-scale``).

For each scale (default the demo, 10× and 100×) the synthetic extracts are generated into a
temporary folder (:func:`helpers.data.synth.generate.main` with ``scale``), unless
``--extracts SKALA=MAPP`` names a folder that already holds them. Then, in a throw-away project
root (a copy of the book sources, like the tests' project; ``GENOMLYSNING_ROOT`` points at it and
``GENOMLYSNING_DATA_DIR`` at the extracts), each step runs in a child process of its own:

1. ingest (:func:`helpers.data.ingest.run`) into the project's ``data/processed``;
2. ``genomlysning render --year <Y> --renderer builtin --no-publish`` for the last year with
   aktualiseringar (the processed data are current, so the render does not ingest again).

For each step the wall-clock time and the peak memory are printed, and for the render the
seconds of every chapter (from ``_build/<Y>/build_log.json``). Peak memory is given two ways:

* ``topp MB``: the largest resident set of one process (``ru_maxrss`` from ``os.wait4``, which on
  Linux is the maximum over the child and every descendant it waited for, not their sum);
* ``summa MB``: the largest sum over the whole process tree (the render and its parallel
  chapter kernels), sampled from ``/proc`` every 0,2 s (the proportional set size, ``Pss``, so
  that shared libraries are counted once; a peak shorter than the interval can be missed).

Nothing in ``data/``, ``_build/`` or ``_book/`` of the real project is touched. The temporary
folder is removed afterwards (``--keep DIR`` keeps the extracts in ``DIR/scale-<N>/raw``, reuses
them on the next run, and keeps the last project of each scale in ``DIR/scale-<N>/project``).

At 100× the issue's target is one report year, so by default only one year (2019) is generated
there: about 470 000 aktualiseringar (``--years-at-100 all`` generates all five, about 2,7 million;
the generator then takes about 12 minutes and 4 GB, and ingest holds every year at once).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from helpers.config import PATHS

#: What a throw-away project needs from the real one to render (as ``tests/conftest.py`` copies).
BOOK_FILES = ("_quarto.yml", "index.qmd", "references.bib", "pyproject.toml", "CHANGELOG.md", "report.yml",
              ".gitignore")
BOOK_DIRS = ("notebooks", "appendix", "assets")
#: Seconds between two samples of the process tree's memory.
SAMPLE_INTERVAL = 0.2

_GENERATE = """
import sys
from pathlib import Path
from helpers.data.synth import generate
years = [int(y) for y in sys.argv[3].split(",")] if sys.argv[3] else None
generate.main(Path(sys.argv[1]), scale=float(sys.argv[2]), flow_years=years)
"""
_INGEST = """
import json
from helpers.data import ingest
m = ingest.run()
years = sorted({int(i["year"]) for i in m["inputs"].values()
                if i.get("extract") == "aktualiseringar" and i.get("year") is not None})
print(json.dumps({"rows": m["outputs"]["aktualiseringar.parquet"]["rows"], "years": years}))
"""


def _children() -> dict[int, list[int]]:
    """Parent pid → child pids of every process visible in ``/proc``."""
    tree: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2:].split()[1])  # the name in (…) may hold spaces
        tree.setdefault(ppid, []).append(int(d))
    return tree


def _memory_kib(pid: int) -> int:
    """Proportional set size of one process in KiB (its resident set size if Pss is unavailable); 0 if gone."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
    except OSError:
        return 0


def tree_memory_kib(pid: int) -> int:
    """Memory of ``pid`` and all its descendants now, in KiB (see :func:`_memory_kib`)."""
    tree = _children()
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += _memory_kib(p)
        todo += tree.get(p, [])
    return total


class TreeSampler(threading.Thread):
    """Samples :func:`tree_memory_kib` of a process until :meth:`stop`; :attr:`peak_kib` is the largest."""

    def __init__(self, pid: int, interval: float = SAMPLE_INTERVAL):
        super().__init__(daemon=True)
        self.pid, self.interval, self.peak_kib = pid, interval, 0
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            self.peak_kib = max(self.peak_kib, tree_memory_kib(self.pid))
            self._done.wait(self.interval)

    def stop(self) -> int:
        self._done.set()
        self.join()
        return self.peak_kib


def _child(argv: list[str], env: dict[str, str] | None = None, cwd: Path | None = None,
           check: bool = True) -> dict:
    """Run ``argv`` in a new process: seconds, peak MB (``ru_maxrss``), peak MB of the process tree,
    exit code, stdout and the tail of stderr."""
    t = time.perf_counter()
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err, text=True, env=env, cwd=cwd)
        sampler = TreeSampler(proc.pid)
        sampler.start()
        out = proc.stdout.read() if proc.stdout else ""
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        tree_kib = sampler.stop()
        seconds = time.perf_counter() - t
        err.seek(0)
        tail = "\n".join(err.read().strip().splitlines()[-5:])
    if check and code != 0:
        raise SystemExit(f"fel: barnprocessen avslutades med kod {code}\n{tail}")
    return {"s": seconds, "mb": usage.ru_maxrss / 1024,  # ru_maxrss is in KiB on Linux
            "sum_mb": tree_kib / 1024, "code": code, "out": out.strip(), "err": tail}


def _python(code: str, *args: str) -> list[str]:
    return [sys.executable, "-c", code, *args]


def make_project(dest: Path, source: Path | None = None) -> Path:
    """A throw-away project root in ``dest`` (emptied first) with the book sources of ``source``
    (default: this project) and an empty ``data/raw``; a git repository of its own, so that the
    build does not describe the checkout around it."""
    source = source or PATHS.root
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    for name in BOOK_FILES:
        if (source / name).is_file():
            shutil.copy2(source / name, dest / name)
    for name in BOOK_DIRS:
        shutil.copytree(source / name, dest / name,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "_siffror.md", "key_figures.csv"))
    (dest / "data" / "raw").mkdir(parents=True)
    if shutil.which("git"):
        subprocess.run(["git", "init", "-q"], cwd=dest, check=False)
    return dest


def project_env(project: Path, raw: Path) -> dict[str, str]:
    """The environment of a child working on ``project`` with the extracts in ``raw``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GENOMLYSNING_")}
    env.update(GENOMLYSNING_ROOT=str(project), GENOMLYSNING_DATA_DIR=str(raw),
               GENOMLYSNING_SHARED=str(PATHS.shared_reference.parent), PYDEVD_DISABLE_FILE_VALIDATION="1")
    if key := os.environ.get("GENOMLYSNING_PSEUDONYM_KEY"):
        env["GENOMLYSNING_PSEUDONYM_KEY"] = key
    return env


def chapter_seconds(project: Path, year: int) -> dict[str, float]:
    """Seconds per chapter (notebook stem) and per build step (``data``, ``chapters``, ``audit``,
    ``render``, ``total``) from the render's build log; empty if there is none."""
    path = project / "_build" / str(year) / "build_log.json"
    if not path.is_file():
        return {}
    log = json.loads(path.read_text(encoding="utf-8"))
    out = {Path(c["notebook"]).stem: float(c["seconds"]) for c in log.get("chapters", [])}
    out.update({f"steg:{k}": float(v) for k, v in log.get("timings_s", {}).items()})
    return out


def _years_text(years: list[int]) -> str:
    """2018–2022 for a run of years, else the years separated by commas."""
    if len(years) > 1 and years == list(range(years[0], years[-1] + 1)):
        return f"{years[0]}\u2013{years[-1]}"
    return ",".join(map(str, years))


def _fmt(x: float | None, decimals: int = 1) -> str:
    if x is None:
        return "–"
    return f"{x:,.{decimals}f}".replace(",", "\u00a0").replace(".", ",")


def bench(scales: list[float], root: Path, years_at_100: str, *, render: bool = True,
          extracts: dict[float, Path] | None = None) -> list[dict]:
    rows = []
    for scale in scales:
        label = f"{scale:g}×"
        here = root / f"scale-{scale:g}"
        raw = (extracts or {}).get(scale) or here / "raw"
        years = "2019" if scale >= 100 and years_at_100 != "all" and raw == here / "raw" else ""
        gen = None
        if scale in (extracts or {}) and not any(raw.glob("*.xlsx")):
            raise SystemExit(f"fel: {raw} har inga extrakt (*.xlsx)")
        if not any(raw.glob("*.xlsx")):
            print(f"{label}: genererar syntetiska extrakt{' (år ' + years + ')' if years else ''} …", flush=True)
            raw.mkdir(parents=True, exist_ok=True)
            gen = _child(_python(_GENERATE, str(raw), str(scale), years))
        project = make_project(here / "project")
        env = project_env(project, raw.resolve())
        print(f"{label}: läser in …", flush=True)
        ing = _child(_python(_INGEST), env=env, cwd=project)
        info = json.loads(ing["out"].splitlines()[-1])
        size = sum(p.stat().st_size for p in raw.glob("*.xlsx")) / 1e6
        row = {"skala": label, "år": _years_text(info["years"]), "aktualiseringar": int(info["rows"]),
               "xlsx_mb": size, "ingest": ing, "gen": gen, "render": None, "year": None, "chapters": {}}
        print(f"{label}: inläsning {_fmt(ing['s'])} s, topp {_fmt(ing['mb'], 0)} MB", flush=True)
        if render and info["years"]:
            year = row["year"] = max(info["years"])
            print(f"{label}: renderar {year} …", flush=True)
            ren = row["render"] = _child([sys.executable, "-m", "helpers.cli", "render", "--year", str(year),
                                          "--renderer", "builtin", "--no-publish"],
                                         env=env, cwd=project, check=False)
            row["chapters"] = chapter_seconds(project, year)
            if ren["code"] != 0:
                print(f"{label}: renderingen misslyckades (kod {ren['code']}):\n{ren['err']}", flush=True)
            else:
                print(f"{label}: rendering {_fmt(ren['s'])} s, topp {_fmt(ren['mb'], 0)} MB, "
                      f"summa {_fmt(ren['sum_mb'], 0)} MB", flush=True)
        shutil.rmtree(project / "data" / "processed", ignore_errors=True)
        rows.append(row)
    return rows


def report(rows: list[dict]) -> str:
    """The tables of :func:`bench` (Swedish, like the report)."""
    lines = [f"{'skala':>6} {'år':>10} {'aktualiseringar':>16} {'xlsx MB':>8} {'inläsning s':>12} {'topp MB':>8}"
             f" {'rapportår':>9} {'rendering s':>12} {'topp MB':>8} {'summa MB':>9} {'generering s':>13} {'topp MB':>8}"]
    for r in rows:
        ing, ren, gen = r["ingest"], r["render"], r["gen"]
        if ren is None:
            rend = f"{'–':>9} {'(ej körd)':>12} {'':>8} {'':>9}"
        elif ren["code"] != 0:
            rend = f"{r['year']:>9} {'(fel)':>12} {_fmt(ren['mb'], 0):>8} {_fmt(ren['sum_mb'], 0):>9}"
        else:
            rend = f"{r['year']:>9} {_fmt(ren['s']):>12} {_fmt(ren['mb'], 0):>8} {_fmt(ren['sum_mb'], 0):>9}"
        gtxt = f"{_fmt(gen['s']):>13} {_fmt(gen['mb'], 0):>8}" if gen is not None else f"{'(sparad)':>13} {'':>8}"
        lines.append(f"{r['skala']:>6} {r['år']:>10} {_fmt(r['aktualiseringar'], 0):>16} {_fmt(r['xlsx_mb']):>8} "
                     f"{_fmt(ing['s']):>12} {_fmt(ing['mb'], 0):>8} {rend} {gtxt}")
    chapters = sorted({k for r in rows for k in r["chapters"] if not k.startswith("steg:")})
    steps = (("steg:data", "data"), ("steg:chapters", "kapitel"), ("steg:audit", "revision"),
             ("steg:render", "typsättning"), ("steg:total", "totalt"))
    if chapters:
        lines += ["", "Renderingens sekunder per kapitel och steg (ur _build/<år>/build_log.json):",
                  f"{'skala':>6} " + " ".join(f"{c:>14}" for c in chapters) + " "
                  + " ".join(f"{s:>11}" for _, s in steps)]
        for r in rows:
            if not r["chapters"]:
                continue
            lines.append(f"{r['skala']:>6} " + " ".join(f"{_fmt(r['chapters'].get(c)):>14}" for c in chapters) + " "
                         + " ".join(f"{_fmt(r['chapters'].get(k)):>11}" for k, _ in steps))
    lines += ["", f"Maskin: {os.cpu_count()} kärnor. Topp MB = största residenta minne (maxrss) i en process "
                  "(barnprocessen eller den största av dess barn); summa MB = största samtidiga minne (Pss) i hela "
                  f"processträdet, stickprov var {_fmt(SAMPLE_INTERVAL)} s."]
    return "\n".join(lines)


def _extract_dirs(items: list[str]) -> dict[float, Path]:
    out = {}
    for item in items:
        scale, sep, folder = item.partition("=")
        if not sep or not folder:
            raise SystemExit(f"fel: --extracts väntar SKALA=MAPP, inte {item!r}")
        out[float(scale)] = Path(folder)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.bench_scale",
                                     description="Mät inläsningens och renderingens tid och minne vid 1×, 10× och "
                                                 "100× demovolymen.")
    parser.add_argument("--scales", default="1,10,100", help="skalor, kommaseparerade (standard 1,10,100)")
    parser.add_argument("--years-at-100", choices=("one", "all"), default="one",
                        help="vid skala 100 och uppåt: generera ett år (2019, standard) eller alla fem")
    parser.add_argument("--keep", type=Path, default=None, metavar="DIR",
                        help="behåll extrakten (och senaste projektet) i DIR och återanvänd extrakten nästa gång")
    parser.add_argument("--extracts", action="append", default=[], metavar="SKALA=MAPP",
                        help="använd färdiga extrakt för en skala, t.ex. 10=/work/scale/raw10 (kan upprepas)")
    parser.add_argument("--no-render", action="store_true", help="mät bara inläsningen")
    args = parser.parse_args(argv)
    scales = [float(s) for s in args.scales.split(",") if s.strip()]
    extracts = _extract_dirs(args.extracts)
    root = args.keep or Path(tempfile.mkdtemp(prefix="bench-scale-"))
    try:
        rows = bench(scales, root, args.years_at_100, render=not args.no_render, extracts=extracts)
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    print("\n" + report(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
