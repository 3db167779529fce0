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


# --- one commit for everything a render publishes (issue 13, part 3) ---------------------------------


class _Crash(BaseException):
    """A kill at one step: nothing after it runs (BaseException, so no handler cleans up)."""


def _folders(tmp_path, names=("_book", "figures/2020", "data/processed")):
    pairs = []
    for i, name in enumerate(names):
        target = tmp_path / name
        target.mkdir(parents=True)
        (target / "f.txt").write_text(f"old {i}")
        new = target.parent / f".{target.name}-new-x"
        new.mkdir()
        (new / "f.txt").write_text(f"new {i}")
        (new / "g.txt").write_text("only in the new")
        pairs.append((new, target))
    return pairs


def _state(pairs) -> str:
    """'old' or 'new' if every target is wholly old or wholly new; otherwise what it found."""
    seen = set()
    for _, target in pairs:
        files = sorted(p.name for p in target.iterdir()) if target.is_dir() else None
        text = (target / "f.txt").read_text().split()[0] if files else None
        seen.add("new" if files == ["f.txt", "g.txt"] and text == "new" else
                 "old" if files == ["f.txt"] and text == "old" else f"half:{target.name}:{files}")
    return seen.pop() if len(seen) == 1 else str(sorted(seen))


def _crash_after(monkeypatch, steps: int) -> None:
    """Kill the process at the ``steps``-th rename, os.replace or unlink (0: before the first)."""
    import os as os_module

    count = {"n": 0}

    def step(real):
        def wrapper(*a, **k):
            if count["n"] == steps:
                raise _Crash
            count["n"] += 1
            return real(*a, **k)
        return wrapper

    monkeypatch.setattr(Path, "rename", step(Path.rename))
    monkeypatch.setattr(Path, "unlink", step(Path.unlink))
    monkeypatch.setattr(os_module, "replace", step(os_module.replace))


def _recover(tmp_path, journal) -> None:
    from helpers.provenance import recover_journal

    recover_journal(journal, tmp_path)
    for folder in {tmp_path, tmp_path / "figures", tmp_path / "data"}:
        recover_swaps(folder)
        clean_stale(folder, (".*-new-*",))


def test_a_commit_killed_at_any_step_is_all_old_or_all_new_after_recovery(tmp_path, monkeypatch):
    """Every step of the commit (writing the journal, each rename, removing the journal) is a kill
    point; after the next run's recovery the three folders are all old or all new, never mixed, and
    a kill during the recovery itself is recovered by the run after."""
    import pytest

    from helpers.provenance import commit_swaps

    outcomes = []
    for steps in range(0, 20):
        case = tmp_path / f"k{steps}"
        pairs = _folders(case)
        journal = case / "_build" / "publish-journal.json"
        with monkeypatch.context() as m:
            _crash_after(m, steps)
            try:
                commit_swaps(pairs, journal, case)
                finished = True
            except _Crash:
                finished = False
        if finished:
            assert _state(pairs) == "new" and not journal.exists()
            break
        if journal.exists():  # killed after the commit point: kill the recovery once too
            with monkeypatch.context() as m:
                _crash_after(m, 1)
                with pytest.raises(_Crash):
                    _recover(case, journal)
        _recover(case, journal)
        outcomes.append(_state(pairs))
        assert outcomes[-1] in ("old", "new"), f"killed at step {steps}: {outcomes[-1]}"
        assert not journal.exists() and not list(case.rglob("*-new-*")) and not list(case.rglob(".*-old-*"))
    else:
        pytest.fail("the commit never finished in 20 steps")
    assert "old" in outcomes and "new" in outcomes  # both sides of the commit point were hit


def test_a_commit_refuses_a_missing_staged_folder(tmp_path):
    import pytest

    from helpers.provenance import commit_swaps

    pairs = _folders(tmp_path, ("_book",))
    pairs.append((tmp_path / ".gone", tmp_path / "figures"))
    with pytest.raises(FileNotFoundError):
        commit_swaps(pairs, tmp_path / "j.json", tmp_path)
    assert _state(pairs[:1]) == "old" and not (tmp_path / "j.json").exists()


# --- kills of real runs at random points -------------------------------------------------------------

#: Tries per test: each is a run killed (with its whole process group) at a random moment.
KILL_TRIES = int(os.environ.get("GENOMLYSNING_KILL_TRIES", "3"))


def _digest(folder: Path, skip: tuple[str, ...] = ()) -> str | None:
    import hashlib

    if not folder.is_dir():
        return None
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.name not in skip:
            h.update(p.relative_to(folder).as_posix().encode() + b"\0" + p.read_bytes())
    return h.hexdigest()[:16]


def _published(root: Path) -> dict[str, str | None]:
    """What a render publishes, per place (the processed data's manifest holds its build time, so
    the data are compared by their tables and the inputs they were made from)."""
    import json

    manifest = root / "data" / "processed" / "manifest.json"
    inputs = json.loads(manifest.read_text(encoding="utf-8"))["inputs"] if manifest.is_file() else None
    return {"data/processed": f"{_digest(root / 'data' / 'processed', ('manifest.json',))}:{sorted(inputs or [])}",
            "_book": _digest(root / "_book"), "figures/2020": _digest(root / "figures" / "2020"),
            "_publish/2020": _digest(root / "_publish" / "2020")}


def _kill_at(project, args: list[str], delay: float) -> int:
    """Start ``genomlysning <args>`` in its own process group and kill the group after ``delay`` s."""
    import signal
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "helpers.cli", *args], cwd=project.root, env=project.env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        proc.wait(delay)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)
    return proc.returncode


def _recover_project(project) -> None:
    import sys

    code = "from helpers import build\nwith build.build_lock():\n    build.recover_interrupted()\n"
    subprocess.run([sys.executable, "-c", code], cwd=project.root, env=project.env(), check=True, timeout=120)


def _copy(rendered, dest: Path):
    import shutil

    from tests.conftest import Project

    shutil.copytree(rendered.root, dest, symlinks=True)
    return Project(dest)


def _new_inputs(project) -> None:
    """Other raw data (the 2022 files taken away): new processed data, a new book, the same year."""
    for f in (project.root / "data" / "raw").glob("*_2022.xlsx"):
        f.unlink()


def _kill_and_check(rendered, tmp_path, args: list[str], places: tuple[str, ...]) -> None:
    import random
    import shutil
    import time as time_module

    reference = _copy(rendered, tmp_path / "reference")
    old = _published(reference.root)
    _new_inputs(reference)
    t = time_module.perf_counter()
    proc = reference.genomlysning(*args)
    full = time_module.perf_counter() - t
    new = _published(reference.root)
    # (the kept version of a clean checkout does not change: a published version is never replaced)
    assert all(old[p] != new[p] for p in places if p in ("data/processed", "_book")), "the new inputs change nothing"
    rng = random.Random(int(os.environ.get("GENOMLYSNING_KILL_SEED", time_module.time_ns() % 100_000)))
    seen = []
    for i in range(KILL_TRIES):
        project = _copy(rendered, tmp_path / f"try{i}")
        _new_inputs(project)
        low, high = i / KILL_TRIES, (i + 1) / KILL_TRIES  # one try in each part of the run
        delay = full * rng.uniform(low, high)
        code = _kill_at(project, args, delay)
        _recover_project(project)
        state = _published(project.root)
        which = {p: "old" if state[p] == old[p] else "new" if state[p] == new[p] else "half" for p in places}
        seen.append((round(delay, 1), code, which))
        assert "half" not in which.values(), seen
        assert len({which[p] for p in places if old[p] != new[p]}) == 1, f"old and new mixed: {seen}"
        assert not list(project.root.glob(".book-*")) and not list((project.root / "data").glob(".processed-*")), seen
        assert not (project.root / "_build" / "publish-journal.json").exists()
        shutil.rmtree(project.root, ignore_errors=True)
    print(f"{' '.join(args)}: {full:.0f} s; kills (s, exit code, state): {seen}; output {proc.stdout[-200:]!r}")


def test_a_killed_ingest_leaves_the_old_or_the_new_data(rendered, tmp_path):
    """``genomlysning ingest`` killed at random moments: after the next run's recovery the
    processed data are the old or the new, whole."""
    _kill_and_check(rendered, tmp_path, ["ingest"], ("data/processed",))


def test_a_killed_render_leaves_everything_old_or_everything_new(rendered, tmp_path):
    """A render that also ingests new raw data, killed (with its chapters' kernels) at random
    moments, one in each third of its run: after the next run's recovery the processed data, the
    book, the figures and the kept version are all old or all new, never half and never mixed."""
    _kill_and_check(rendered, tmp_path, ["render", "--year", "2020", "--renderer", "builtin"],
                    ("data/processed", "_book", "figures/2020", "_publish/2020"))


def test_a_failed_render_leaves_data_book_figures_and_versions_as_they_were(rendered, tmp_path):
    """New raw data and a chapter that fails: the render stops with the chapter's error, and the
    processed data (not yet replaced: the new ones were staged), the book, the figures and the
    kept versions are exactly as before; nothing staged is left behind."""
    import json

    project = _copy(rendered, tmp_path / "p")
    before = _published(project.root)
    _new_inputs(project)
    nb_path = project.root / "notebooks" / "04_ekonomi.ipynb"
    nb = json.loads(nb_path.read_text(encoding="utf-8"))
    nb["cells"].append({"cell_type": "code", "execution_count": None, "id": "fails", "metadata": {}, "outputs": [],
                        "source": ["raise RuntimeError('ett fel i kapitlet')"]})
    nb_path.write_text(json.dumps(nb), encoding="utf-8")
    proc = project.render(2020, check=False)
    assert proc.returncode == 1 and "ett fel i kapitlet" in proc.stderr and "04_ekonomi" in proc.stderr
    assert _published(project.root) == before
    assert not list((project.root / "data").glob(".processed-*")) and not list(project.root.glob(".book-*"))
    assert not list((project.root / "_build" / "2020").glob("stage-*"))


def test_a_killed_demo_generation_leaves_no_half_set_of_extracts(tmp_path):
    """``genomlysning data`` in a fresh checkout writes the demo extracts beside data/raw and swaps
    them in whole: killed at random moments, data/raw afterwards holds no extracts or all of them
    (and its README), so the next run generates again rather than ingesting half a set."""
    import random
    import time as time_module

    from tests.conftest import make_project

    reference = make_project(tmp_path / "reference")
    (reference.root / "data" / "raw" / "README.md").write_text("rådata\n")
    t = time_module.perf_counter()
    reference.genomlysning("data")
    full = time_module.perf_counter() - t
    complete = sorted(p.name for p in (reference.root / "data" / "raw").iterdir())
    assert "README.md" in complete and len(complete) > 20
    rng = random.Random(int(os.environ.get("GENOMLYSNING_KILL_SEED", time_module.time_ns() % 100_000)))
    seen = []
    for i in range(KILL_TRIES):
        project = make_project(tmp_path / f"try{i}")
        (project.root / "data" / "raw" / "README.md").write_text("rådata\n")
        delay = full * rng.uniform(i / KILL_TRIES, (i + 1) / KILL_TRIES)
        _kill_at(project, ["data"], delay)
        _recover_project(project)
        names = sorted(p.name for p in (project.root / "data" / "raw").iterdir())
        seen.append((round(delay, 1), len(names)))
        assert names in (["README.md"], complete), seen
        assert not list((project.root / "data").glob(".raw-demo-*")), seen
