"""Faults: a killed folder swap is undone on the next run, temporary folders are cleaned, and two
runs at once queue on one lock (issue 13, part 3)."""

from __future__ import annotations

import multiprocessing as mp
import os
import subprocess
import time
from pathlib import Path

from helpers.provenance import build_lock, clean_stale, recover_swaps, swap_dir


def test_swap_killed_between_the_renames_is_undone(tmp_path):
    target = tmp_path / "_book"
    target.mkdir()
    (target / "index.html").write_text("old")
    # the first rename of swap_dir happened, the second did not (a kill in between)
    target.rename(tmp_path / "._book-old-4242")
    assert not target.exists()
    assert recover_swaps(tmp_path) == [target]
    assert (target / "index.html").read_text() == "old"
    assert not list(tmp_path.glob("._book-old-*"))


def test_left_over_old_folders_beside_the_target_are_removed(tmp_path):
    (tmp_path / "_book").mkdir()
    (tmp_path / "._book-old-1").mkdir()
    assert recover_swaps(tmp_path) == []
    assert [p.name for p in tmp_path.iterdir()] == ["_book"]


def test_swap_replaces_in_one_step(tmp_path):
    target, new = tmp_path / "t", tmp_path / "n"
    target.mkdir()
    (target / "a").write_text("old")
    new.mkdir()
    (new / "a").write_text("new")
    swap_dir(new, target)
    assert (target / "a").read_text() == "new" and not new.exists()
    assert not list(tmp_path.glob(".t-old-*"))


def test_stale_temporary_folders_are_removed(tmp_path):
    for name in (".book-abc", ".processed-xyz", "keep"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "x.parquet").write_text("pseudonymised")
    removed = clean_stale(tmp_path, (".book-*", ".processed-*"))
    assert sorted(p.name for p in removed) == [".book-abc", ".processed-xyz"]
    assert [p.name for p in tmp_path.iterdir()] == ["keep"]


def _hold(path: str, seconds: float, started) -> None:
    with build_lock(path=Path(path)):
        started.set()
        time.sleep(seconds)


def test_a_second_run_waits_for_the_first(tmp_path):
    lock = tmp_path / ".lock"
    started = mp.Event()
    p = mp.Process(target=_hold, args=(str(lock), 1.5, started))
    p.start()
    assert started.wait(20)
    said = []
    t = time.perf_counter()
    with build_lock(log=said.append, path=lock):
        waited = time.perf_counter() - t
    p.join(20)
    assert waited > 0.8 and said and "Väntar" in said[0]
    # re-entrant in one process (ingest inside a render)
    with build_lock(path=lock), build_lock(path=lock):
        pass


def test_a_killed_holder_releases_the_lock(tmp_path):
    lock = tmp_path / ".lock"
    code = ("import time, sys; from pathlib import Path; from helpers.provenance import build_lock\n"
            f"l = build_lock(path=Path({str(lock)!r})); l.__enter__(); print('held', flush=True); time.sleep(60)\n")
    proc = subprocess.Popen([os.sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    proc.kill()
    proc.wait(10)
    t = time.perf_counter()
    with build_lock(path=lock):
        assert time.perf_counter() - t < 5


def test_the_next_render_repairs_what_a_killed_render_left(rendered):
    """A render killed between the two renames of the book swap (no _book, its old copy beside
    it) and with temporary folders left over: the next render restores order, and git ignores the
    temporary folders meanwhile."""
    import pytest

    pytest.importorskip("papermill")
    root = rendered.root
    rendered.book.rename(root / "._book-old-999")
    (root / ".book-abc").mkdir()
    (root / "data" / ".processed-xyz").mkdir()
    (root / "data" / ".processed-xyz" / "aktualiseringar.parquet").write_text("pseudonymised")
    for path in (".book-abc/x", "data/.processed-xyz/aktualiseringar.parquet", "._book-old-999/index.html"):
        ignored = subprocess.run(["git", "check-ignore", "-q", path], cwd=root, capture_output=True)
        assert ignored.returncode == 0, f"{path}: temporary folders must be git-ignored"
    proc = rendered.render(2020)
    assert "Återställde efter en avbruten körning" in proc.stdout and "_book" in proc.stdout
    assert (rendered.book / "index.html").is_file()
    assert not (root / ".book-abc").exists() and not (root / "data" / ".processed-xyz").exists()
    assert not list(root.glob("._book-old-*"))


def test_a_year_not_yet_over_is_refused_unless_preliminary():
    import datetime as dt

    import pytest

    from helpers import build

    with pytest.raises(build.BuildError, match="är inte slut.*--preliminary"):
        build.check_year_over(2026, False, today=dt.date(2026, 12, 4))
    build.check_year_over(2026, True, today=dt.date(2026, 12, 4))
    build.check_year_over(2025, False, today=dt.date(2026, 1, 1))
    info = {"year": 2026, "version": "1.0.0", "preliminary": True}
    assert build.edition_label(info) == "preliminära data för 2026 · version 1.0.0"
    assert build.edition_label({**info, "preliminary": False}) == "data för 2026 · version 1.0.0"


def test_a_preliminary_report_says_so_on_every_page(rendered):
    """--preliminary: every HTML page and the PDF's pages carry 'preliminära data', and the
    manifest records it; the normal render afterwards is as before."""
    import json

    rendered.render(2020, "--preliminary", "--no-publish")
    pages = sorted(rendered.book.rglob("*.html"))
    assert pages and all("preliminära data för 2020" in p.read_text(encoding="utf-8") for p in pages)
    assert "Preliminära uppgifter." in (rendered.book / "index.html").read_text(encoding="utf-8")
    pdf = next(rendered.book.rglob("*.pdf"))
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    if text:  # poppler-utils present
        body_pages = [t for t in text.split("\f")[2:] if t.strip()]
        assert body_pages and all("preliminära data för 2020" in t for t in body_pages)
    assert json.loads((rendered.book / "manifest.json").read_text(encoding="utf-8"))["data"]["preliminary"] is True
    rendered.render(2020, "--no-publish")
    assert "preliminära" not in (rendered.book / "index.html").read_text(encoding="utf-8")
