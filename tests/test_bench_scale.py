"""The volume benchmark's own parts (``helpers.bench_scale``); the benchmark itself is ``make bench-scale``."""

from __future__ import annotations

import json
import subprocess
import sys

from helpers import bench_scale
from helpers.config import PATHS


def test_project_copy_holds_the_book_sources_and_no_data(tmp_path):
    dest = bench_scale.make_project(tmp_path / "p")
    for name in ("_quarto.yml", "index.qmd", "pyproject.toml"):
        assert (dest / name).read_bytes() == (PATHS.root / name).read_bytes()
    assert sorted(p.name for p in (dest / "notebooks").glob("*.ipynb")) == \
        sorted(p.name for p in PATHS.notebooks.glob("*.ipynb"))
    assert (dest / "data" / "raw").is_dir() and not any((dest / "data" / "raw").iterdir())
    assert not (dest / "data" / "processed").exists() and not (dest / "_book").exists()
    (dest / "stale.txt").write_text("x")
    bench_scale.make_project(dest)  # emptied first
    assert not (dest / "stale.txt").exists()


def test_project_env_points_at_the_copy_and_the_extracts(tmp_path, monkeypatch):
    monkeypatch.setenv("GENOMLYSNING_DATA_DIR", "/somewhere/else")
    env = bench_scale.project_env(tmp_path / "p", tmp_path / "raw")
    assert env["GENOMLYSNING_ROOT"] == str(tmp_path / "p")
    assert env["GENOMLYSNING_DATA_DIR"] == str(tmp_path / "raw")


def test_tree_memory_counts_the_children():
    code = "import time; b = bytearray(80 * 2**20); b[::4096] = b'x' * len(b[::4096]); print(1, flush=True); time.sleep(30)"
    parent = subprocess.Popen([sys.executable, "-c",
                               f"import subprocess, sys; p = subprocess.Popen([sys.executable, '-c', {code!r}]); p.wait()"])
    try:
        for _ in range(100):
            kids = bench_scale._children().get(parent.pid, [])
            if kids and bench_scale._memory_kib(kids[0]) > 80 * 1024:
                break
            subprocess.run(["sleep", "0.1"], check=True)
        total = bench_scale.tree_memory_kib(parent.pid)
        assert total >= bench_scale._memory_kib(parent.pid) + 80 * 1024
    finally:
        for kid in bench_scale._children().get(parent.pid, []):
            subprocess.run(["kill", str(kid)], check=False)
        parent.kill()
        parent.wait()


def test_child_reports_time_memory_and_output():
    r = bench_scale._child([sys.executable, "-c", "b = bytearray(60 * 2**20); b[::4096] = b'x' * len(b[::4096]); print('ok')"])
    assert r["code"] == 0 and r["out"] == "ok" and r["s"] > 0
    assert r["mb"] >= 60
    r = bench_scale._child([sys.executable, "-c", "import sys; sys.exit('nej')"], check=False)
    assert r["code"] == 1 and "nej" in r["err"]


def test_chapter_seconds_and_report(tmp_path):
    log = {"timings_s": {"data": 1.5, "chapters": 20.0, "audit": 1.0, "render": 5.0, "total": 28.0},
           "chapters": [{"notebook": "notebooks/01_inflode.ipynb", "seconds": 12.25, "cached": False}]}
    (tmp_path / "_build" / "2022").mkdir(parents=True)
    (tmp_path / "_build" / "2022" / "build_log.json").write_text(json.dumps(log))
    secs = bench_scale.chapter_seconds(tmp_path, 2022)
    assert secs["01_inflode"] == 12.25 and secs["steg:total"] == 28.0
    assert bench_scale.chapter_seconds(tmp_path, 2021) == {}
    run = {"s": 30.0, "mb": 900.0, "sum_mb": 1500.0, "code": 0, "out": "", "err": ""}
    row = {"skala": "10×", "år": bench_scale._years_text([2018, 2019, 2020]), "aktualiseringar": 268860,
           "xlsx_mb": 25.0, "ingest": run, "gen": None, "render": run, "year": 2020, "chapters": secs}
    text = bench_scale.report([row])
    assert "2018\u20132020" in text and "268\u00a0860" in text and "1\u00a0500" in text
    assert "01_inflode" in text and "12,2" in text and "28,0" in text
