"""Byte-identical rebuilds: two clean builds of the same commit and data publish the same bytes.

Everything published (``_book/``: HTML, PDF, CSV files, ``manifest.json``; the figures exported
to ``figures/<year>/``) and the executed chapter notebooks kept in ``_build/<year>/book/`` carry
no clock time, no durations and no absolute paths: dates come from
:func:`helpers.build.release_epoch`, timings go to the unpublished ``_build/<year>/build_log.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from helpers.build import BuildError, epoch_date, normalise_executed, portable_path, release_epoch
from helpers.config import PATHS

from .conftest import Project, make_project

YEAR = 2020


def published_files(root: Path, year: int = YEAR) -> dict[str, Path]:
    """``{path relative to the project: file}`` of everything a build publishes or keeps as its record."""
    out = {}
    for folder in (root / "_book", root / "figures" / str(year)):
        out |= {p.relative_to(root).as_posix(): p for p in folder.rglob("*") if p.is_file()}
    out |= {p.relative_to(root).as_posix(): p for p in (root / "_build" / str(year) / "book" / "notebooks").glob("*.ipynb")}
    return out


def first_difference(a: Path, b: Path) -> str | None:
    """A message naming the first published file that differs between the projects ``a`` and ``b``
    (or that only one of them has); ``None`` if every byte is the same."""
    fa, fb = published_files(a), published_files(b)
    assert any(name.endswith(".pdf") for name in fa), f"{a} har ingen renderad rapport"
    only = sorted(set(fa) ^ set(fb))
    if only:
        return f"bara i den ena byggningen: {only[0]} (och {len(only) - 1} till)"
    for name in sorted(fa):
        x, y = fa[name].read_bytes(), fb[name].read_bytes()
        if x != y:
            at = next(i for i in range(min(len(x), len(y)) + 1) if i == min(len(x), len(y)) or x[i] != y[i])
            return (f"{name} skiljer sig från byte {at}: {x[max(0, at - 40):at + 40]!r} "
                    f"≠ {y[max(0, at - 40):at + 40]!r}")
    return None


@pytest.mark.slow
def test_two_clean_builds_are_byte_identical(rendered: Project, tmp_path):
    """The session's rendered 2020 book against a second clean build in another folder (other
    absolute paths, another clock time)."""
    again = make_project(tmp_path / "again")
    again.render(YEAR)
    assert len(published_files(again.root)) > 50
    difference = first_difference(rendered.root, again.root)
    assert difference is None, difference
    for project in (rendered, again):  # what varies is kept, but not published
        log = json.loads((project.root / "_build" / str(YEAR) / "build_log.json").read_text(encoding="utf-8"))
        assert log["built_at"] and log["timings_s"]["total"] > 0


# --- the parts, without a build -------------------------------------------------------------------


def test_release_date_comes_from_source_date_epoch_then_commit_then_data(monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    assert release_epoch(2020) == (1609372800, "data")  # 2020-12-31 00:00 UTC
    assert epoch_date(release_epoch(2021, "2022-03-31")[0]) == "2022-03-31"
    assert release_epoch(2020, "", 1700000000) == (1700000000, "commit")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1714608000")
    assert release_epoch(2020, "", 1700000000) == (1714608000, "SOURCE_DATE_EPOCH")
    assert epoch_date(1714608000) == "2024-05-02"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "igår")
    with pytest.raises(BuildError, match="SOURCE_DATE_EPOCH"):
        release_epoch(2020)


def test_portable_paths_name_no_folder_of_the_machine(tmp_path):
    assert portable_path(PATHS.root / "data" / "processed") == "data/processed"
    assert portable_path(PATHS.root) == "."
    assert portable_path(tmp_path / "elsewhere" / "x.parquet") == "x.parquet"


def test_executed_notebook_loses_timestamps_and_absolute_paths(tmp_path):
    work = PATHS.build_year(YEAR) / "cache" / ".01_test-abc123"
    target = PATHS.build_year(YEAR) / "cache" / "01_test"
    nb = nbformat.v4.new_notebook()
    nb.metadata["papermill"] = {"start_time": "2026-01-01T10:00:00", "end_time": "2026-01-01T10:00:09",
                                "duration": 9.1, "input_path": str(PATHS.root / "notebooks" / "01_test.ipynb"),
                                "output_path": str(work / "01_test.ipynb"),
                                "parameters": {"processed_dir": str(PATHS.processed), "output_dir": str(work)}}
    injected = nbformat.v4.new_code_cell(f'processed_dir = "{PATHS.processed}"\noutput_dir = "{work}"',
                                         metadata={"tags": ["injected-parameters"]})
    cell = nbformat.v4.new_code_cell("1 + 1", metadata={
        "papermill": {"start_time": "x", "end_time": "y", "duration": 0.5, "status": "completed"},
        "execution": {"iopub.execute_input": "2026-01-01T10:00:01Z"}})
    nb.cells = [injected, cell]
    path = tmp_path / "01_test.ipynb"
    nbformat.write(nb, path)
    normalise_executed(path, work, target)
    text = path.read_text(encoding="utf-8")
    assert str(PATHS.root) not in text and ".01_test-abc123" not in text
    out = nbformat.read(path, as_version=4)
    assert set(out.metadata["papermill"]) == {"input_path", "output_path", "parameters"}
    assert out.metadata["papermill"]["input_path"] == "notebooks/01_test.ipynb"
    assert out.metadata["papermill"]["parameters"] == {"processed_dir": "data/processed",
                                                       "output_dir": portable_path(target)}
    assert out.cells[0].id == "injected-parameters"
    assert 'processed_dir = "data/processed"' in out.cells[0].source
    assert out.cells[1].metadata == {"papermill": {"status": "completed"}}
    before = path.read_bytes()
    normalise_executed(path, work, target)
    assert path.read_bytes() == before
