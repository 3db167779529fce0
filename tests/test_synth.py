"""The synthetic demo data: deterministic, contract-valid, synthetic identifiers only."""

from __future__ import annotations

import hashlib

import openpyxl
import pytest

from helpers import ingest, pnr
from helpers.synth import generate


@pytest.fixture(scope="module")
def raw_twice(tmp_path_factory):
    a, b = tmp_path_factory.mktemp("a"), tmp_path_factory.mktemp("b")
    generate.main(a, years=[2020])
    generate.main(b, years=[2020])
    return a, b


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_generator_is_byte_identical(raw_twice):
    a, b = raw_twice
    files = sorted(p.name for p in a.glob("*.xlsx"))
    assert files == ["aktualiseringar_2020.xlsx", "struktur_2020.xlsx"]
    assert all(digest(a / f) == digest(b / f) for f in files)


def test_personnummer_are_synthetic_test_numbers(raw_twice):
    a, _ = raw_twice
    ws = openpyxl.load_workbook(a / "aktualiseringar_2020.xlsx", read_only=True)["Aktualiseringar"]
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    numbers = {r[1] for r in rows}
    assert len(rows) > 4000
    for number in numbers:
        assert pnr.is_valid(number)
        assert 980 <= int(number[-4:-1]) <= 989, "only födelsenummer 980–989 (Skatteverket's test range)"
    # sex digit agrees with the Kön column
    assert all(pnr.sex(r[1]) == r[4] for r in rows)


def test_generated_data_pass_ingest(raw_twice, tmp_path):
    a, _ = raw_twice
    manifest = ingest.run(a, tmp_path / "processed")
    assert manifest["outputs"]["aktualiseringar.parquet"]["rows"] == 5000
    assert manifest["pseudonym_key"] in {"demo", "env"}


def test_largest_remainder_sums_to_total():
    parts = generate.largest_remainder(10, [1, 1, 1])
    assert sum(parts) == 10 and sorted(parts) == [3, 3, 4]
