"""Workbooks read in parallel processes (ingest._read_all) give what reading them one by one gives:
the same parquet bytes, and the same problems in the same order."""

from __future__ import annotations

import shutil

import openpyxl
import pytest

from helpers.data import ingest
from helpers.data.synth import generate


@pytest.fixture(scope="module")
def demo_raw(tmp_path_factory):
    raw = tmp_path_factory.mktemp("raw")
    generate.main(raw)
    return raw


def _run(raw, processed, monkeypatch, parallel: bool):
    monkeypatch.setattr(ingest, "PARALLEL_MIN_BYTES", 0 if parallel else 10**15)
    return ingest.run(raw, processed)


def _set_cell(path, header: str, row: int, value) -> None:
    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[0]
    col = [c.value for c in ws[1]].index(header) + 1
    ws.cell(row, col).value = value
    wb.save(path)


def test_parallel_reading_writes_the_same_bytes(demo_raw, tmp_path, monkeypatch):
    one = _run(demo_raw, tmp_path / "one", monkeypatch, parallel=False)
    many = _run(demo_raw, tmp_path / "many", monkeypatch, parallel=True)
    assert one["outputs"] == many["outputs"]  # rows and sha256 of every parquet file
    assert one["inputs"] == many["inputs"]


def test_parallel_reading_reports_the_same_problems(demo_raw, tmp_path, monkeypatch):
    raw = tmp_path / "raw"
    shutil.copytree(demo_raw, raw)
    _set_cell(raw / "aktualiseringar_2020.xlsx", "Personnummer", 5, "19000101-0000")
    _set_cell(raw / "insatser_2019.xlsx", "Kön", 7, "X")
    _set_cell(raw / "aktualiseringar_2022.xlsx", "Inkom datum", 3, "igår")
    found = []
    for parallel in (False, True):
        with pytest.raises(ingest.RawDataError) as err:
            _run(raw, tmp_path / f"out-{parallel}", monkeypatch, parallel=parallel)
        found.append([str(p) for p in err.value.problems])
    assert found[0] == found[1]
    assert len(found[0]) >= 3
    assert [p.split(",")[0] for p in found[0][:3]] == ["aktualiseringar_2020.xlsx", "aktualiseringar_2022.xlsx", "insatser_2019.xlsx"]
