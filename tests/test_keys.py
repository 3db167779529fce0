"""Pseudonymisation keys (issue 13, part 1): the published demo key is for the synthetic demo data
only, real case data need a strong key of their own, the manifest holds the key's fingerprint (never
the key) and a changed key re-ingests; the case system's ids are pseudonymised like personnummer and
still join the extracts.

Real data here are the hand-made workbooks of :mod:`tests.test_ingest` (not written by the
generator); synthetic data are a small demo written once per module.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from helpers.config import DEMO_PSEUDONYM_KEY, PSEUDONYM_KEY_ENV
from helpers.data import ingest, pnr
from tests.test_ingest import (
    AKT_FILE,
    KEY,
    UTR_FILE,
    akt_rows,
    dec_rows,
    ins_rows,
    leftovers,
    utr_rows,
    write_good_raw,
    write_utr,
)

ID_HEADERS = {"Aktualiserings-ID": "aktualisering_id", "Utrednings-ID": "utredning_id", "Insats-ID": "insats_id"}


@pytest.fixture(autouse=True)
def strong_key(monkeypatch):
    monkeypatch.setenv(PSEUDONYM_KEY_ENV, KEY)


@pytest.fixture
def raw(tmp_path) -> Path:
    """Real (hand-made) case extracts."""
    return write_good_raw(tmp_path / "raw")


@pytest.fixture(scope="module")
def demo_once(tmp_path_factory) -> Path:
    """A small synthetic demo of one year, written once."""
    from helpers.data.synth import generate

    root = tmp_path_factory.mktemp("demo") / "raw"
    generate.main(root, years=[2020], scale=0.05)
    return root


@pytest.fixture
def demo(demo_once, tmp_path) -> Path:
    return Path(shutil.copytree(demo_once, tmp_path / "demo"))


def not_synthetic(path: Path) -> None:
    """Rewrite ``path`` as if saved by another program: the generator's ``dc:creator`` replaced."""
    with zipfile.ZipFile(path) as z:
        members = [(info, z.read(info)) for info in z.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for info, data in members:
            if info.filename == "docProps/core.xml":
                data = data.replace(ingest.SYNTHETIC_CREATOR.encode(), b"Treserva")
            z.writestr(info, data)
    assert not ingest.is_synthetic(path)


def refused(raw: Path, processed: Path) -> ingest.PseudonymKeyError:
    with pytest.raises(ingest.PseudonymKeyError) as excinfo:
        ingest.run(raw, processed)
    assert not processed.exists(), "nothing is written"
    assert leftovers(processed.parent) == []
    return excinfo.value


# --------------------------------------------------------------------------------------------
# The demo key
# --------------------------------------------------------------------------------------------


def test_real_data_without_a_key_are_refused(raw, tmp_path, monkeypatch):
    monkeypatch.delenv(PSEUDONYM_KEY_ENV, raising=False)
    err = refused(raw, tmp_path / "processed")
    message = str(err)
    assert message.startswith(f"{AKT_FILE}, insatser_2020.xlsx, placeringar_december_2020.xlsx och 3 filer till är verkliga data")
    assert f"{PSEUDONYM_KEY_ENV} är inte satt" in message
    assert f"minst {ingest.MIN_KEY_LENGTH} tecken" in message
    assert err.problems[0].file == AKT_FILE
    assert isinstance(err, ingest.RawDataError), "every caller of ingest.run stops on it"


def test_the_demo_key_set_explicitly_is_refused_for_real_data(raw, tmp_path, monkeypatch):
    monkeypatch.setenv(PSEUDONYM_KEY_ENV, DEMO_PSEUDONYM_KEY)
    assert ingest.pseudonym_key() == (DEMO_PSEUDONYM_KEY, "demo")
    assert "innehåller demonyckeln" in str(refused(raw, tmp_path / "processed"))


def test_one_real_case_extract_among_synthetic_ones_is_refused(demo, tmp_path, monkeypatch):
    monkeypatch.delenv(PSEUDONYM_KEY_ENV, raising=False)
    not_synthetic(demo / UTR_FILE)
    message = str(refused(demo, tmp_path / "processed"))
    assert UTR_FILE in message and AKT_FILE not in message


def test_a_demo_workbook_saved_by_a_spreadsheet_program_is_real(demo, tmp_path, monkeypatch):
    """Excel and LibreOffice keep the generator as creator but record who saved the workbook: real
    rows pasted into a demo workbook must not be pseudonymised with the demo key."""
    monkeypatch.delenv(PSEUDONYM_KEY_ENV, raising=False)
    path = demo / AKT_FILE
    with zipfile.ZipFile(path) as z:
        members = [(info, z.read(info)) for info in z.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for info, data in members:
            if info.filename == "docProps/core.xml":
                data = data.replace(b"</cp:coreProperties>", b"<cp:lastModifiedBy>Handl\xc3\xa4ggare</cp:lastModifiedBy></cp:coreProperties>")
            z.writestr(info, data)
    assert ingest.SYNTHETIC_CREATOR in zipfile.ZipFile(path).read("docProps/core.xml").decode()
    assert not ingest.is_synthetic(path)
    assert AKT_FILE in str(refused(demo, tmp_path / "processed"))


def test_a_refusal_leaves_processed_data_as_they_were(raw, tmp_path, monkeypatch):
    processed = tmp_path / "processed"
    ingest.run(raw, processed)
    before = {p.name: p.read_bytes() for p in processed.iterdir()}
    monkeypatch.delenv(PSEUDONYM_KEY_ENV)
    with pytest.raises(ingest.PseudonymKeyError):
        ingest.run(raw, processed)
    assert {p.name: p.read_bytes() for p in processed.iterdir()} == before
    assert not ingest.is_current(raw, processed), "without the key the data cannot be current"


def test_the_command_line_exits_non_zero(raw, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(PSEUDONYM_KEY_ENV, raising=False)
    code = ingest.main(["--raw", str(raw), "--processed", str(tmp_path / "processed")])
    err = capsys.readouterr().err
    assert code == ingest.EXIT_BAD_KEY != 0
    assert PSEUDONYM_KEY_ENV in err and AKT_FILE in err and "Traceback" not in err
    assert not (tmp_path / "processed").exists()


def test_genomlysning_data_exits_non_zero(raw, tmp_path, monkeypatch, capsys):
    """``genomlysning data`` on real extracts without a key: an error, not a traceback, nothing written."""
    from helpers import build, cli
    from helpers.config import Paths

    paths = Paths(root=tmp_path / "project")
    monkeypatch.setattr(build, "PATHS", paths)
    monkeypatch.setattr(ingest, "PATHS", paths)
    monkeypatch.setenv("GENOMLYSNING_DATA_DIR", str(raw))
    monkeypatch.delenv(PSEUDONYM_KEY_ENV)
    assert cli.main(["data"]) != 0
    err = capsys.readouterr().err
    assert PSEUDONYM_KEY_ENV in err and AKT_FILE in err and "Traceback" not in err
    assert not paths.processed.exists()


def test_the_demo_ingests_with_the_demo_key(demo, tmp_path, monkeypatch):
    """Public extracts (jamforelse, struktur_offentlig) do not make the data real, wherever they
    come from."""
    monkeypatch.delenv(PSEUDONYM_KEY_ENV, raising=False)
    for name in ("jamforelse.xlsx", "struktur_offentlig.xlsx"):
        not_synthetic(demo / name)
    made = ingest.run(demo, tmp_path / "processed")
    assert made["synthetic"] is True
    assert made["pseudonym_key"] == "demo"
    assert made["pseudonym_key_fingerprint"] == pnr.key_fingerprint(DEMO_PSEUDONYM_KEY)
    assert ingest.is_current(demo, tmp_path / "processed")


# --------------------------------------------------------------------------------------------
# Strong keys and fingerprints
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["#", "x" * (ingest.MIN_KEY_LENGTH - 1), "ab" * 40, "0123456" * 6],
                         ids=["one character", "one too short", "two characters repeated", "seven different"])
def test_weak_keys_are_refused_for_real_data(key, raw, tmp_path, monkeypatch):
    monkeypatch.setenv(PSEUDONYM_KEY_ENV, key)
    message = str(refused(raw, tmp_path / "processed"))
    assert "stark nyckel" in message and f"minst {ingest.MIN_KEY_LENGTH} tecken" in message
    assert key not in message, "the key is never shown"


def test_a_strong_key_works_and_only_its_fingerprint_is_kept(raw, tmp_path):
    processed = tmp_path / "processed"
    made = ingest.run(raw, processed)
    expected = hashlib.sha256(("genomlysning-key-fingerprint:" + KEY).encode()).hexdigest()[:16]
    assert made["pseudonym_key"] == "env"
    assert made["pseudonym_key_fingerprint"] == expected
    assert json.loads((processed / "manifest.json").read_text(encoding="utf-8")) == made
    for path in processed.iterdir():
        assert KEY.encode() not in path.read_bytes(), path.name


def test_a_changed_key_is_not_current(raw, tmp_path, monkeypatch):
    processed = tmp_path / "processed"
    ingest.run(raw, processed)
    assert ingest.is_current(raw, processed)
    monkeypatch.setenv(PSEUDONYM_KEY_ENV, KEY + "-another")
    assert not ingest.is_current(raw, processed)
    made = ingest.run(raw, processed)
    assert made["pseudonym_key_fingerprint"] == pnr.key_fingerprint(KEY + "-another")
    assert ingest.is_current(raw, processed)
    monkeypatch.setenv(PSEUDONYM_KEY_ENV, KEY)
    assert not ingest.is_current(raw, processed)


def test_a_manifest_without_a_fingerprint_is_not_current(raw, tmp_path):
    processed = tmp_path / "processed"
    made = ingest.run(raw, processed)
    del made["pseudonym_key_fingerprint"]
    (processed / "manifest.json").write_text(json.dumps(made), encoding="utf-8")
    assert not ingest.is_current(raw, processed)


def test_a_weak_key_may_pseudonymise_synthetic_data(demo, tmp_path, monkeypatch):
    monkeypatch.setenv(PSEUDONYM_KEY_ENV, "short")
    assert ingest.run(demo, tmp_path / "processed")["pseudonym_key"] == "env"


# --------------------------------------------------------------------------------------------
# The case system's ids
# --------------------------------------------------------------------------------------------


def test_case_ids_are_pseudonymised(raw, tmp_path):
    processed = tmp_path / "processed"
    ingest.run(raw, processed)
    rows = {"aktualiseringar": akt_rows(), "utredningar": utr_rows(), "insatser": ins_rows(),
            "placeringar_december": dec_rows()}
    raw_ids = set()
    for table, records in rows.items():
        df = ingest.load(table, processed)
        for header, column in ID_HEADERS.items():
            if column not in df.columns:
                continue
            values = [r.get(header) for r in records]
            raw_ids |= {v for v in values if v}
            expected = [pnr.pseudonymise_id(v, KEY, column) if v else None for v in values]
            got = df[column].astype(object).where(df[column].notna(), None).tolist()
            assert got == expected, (table, column)
            assert isinstance(df[column].dtype, pd.StringDtype)
    assert raw_ids and all(re.fullmatch(r"[AUI]\d{4}-\d{4,5}", v) for v in raw_ids)
    for path in processed.iterdir():  # neither as stored nor in any decoded value
        data = path.read_bytes()
        text = ingest.load(path.stem, processed).astype(str).to_csv(index=False) if path.suffix == ".parquet" else ""
        for v in raw_ids:
            assert v.encode() not in data and v not in text, (path.name, v)


def test_case_ids_still_join_across_extracts_and_years(raw, tmp_path):
    """The links the chapters follow: utredningar → aktualiseringar, insatser → utredningar, the
    December review → insatser; an id keeps its pseudonym in every extract and year."""
    processed = tmp_path / "processed"
    ingest.run(raw, processed)
    akt, utr, ins, dec = (ingest.load(t, processed) for t in
                          ("aktualiseringar", "utredningar", "insatser", "placeringar_december"))
    linked = utr.dropna(subset=["aktualisering_id"])
    assert len(linked) > 0
    assert linked["person_id"].tolist() == akt.set_index("aktualisering_id").loc[linked["aktualisering_id"], "person_id"].tolist()
    via = ins.dropna(subset=["utredning_id"])
    assert len(via) > 0 and via["utredning_id"].isin(utr["utredning_id"]).all()
    assert len(dec) > 0 and dec["insats_id"].isin(ins["insats_id"]).all()
    merged = dec.merge(ins, on="insats_id", suffixes=("", "_ins"))
    assert len(merged) == len(dec) and (merged["person_id"] == merged["person_id_ins"]).all()


def test_the_demo_ids_join_after_pseudonymisation(demo, tmp_path, monkeypatch):
    monkeypatch.delenv(PSEUDONYM_KEY_ENV, raising=False)
    processed = tmp_path / "processed"
    ingest.run(demo, processed)
    akt, utr, ins, dec = (ingest.load(t, processed) for t in
                          ("aktualiseringar", "utredningar", "insatser", "placeringar_december"))
    for df, column in ((utr, "aktualisering_id"), (ins, "utredning_id"), (ins, "aktualisering_id"), (dec, "insats_id")):
        ids = df[column].dropna()
        assert len(ids) > 0 and ids.str.fullmatch(r"[0-9a-f]{20}").all(), column
    assert utr["aktualisering_id"].dropna().isin(akt["aktualisering_id"]).all()
    assert ins["aktualisering_id"].dropna().isin(akt["aktualisering_id"]).all()
    assert dec["insats_id"].isin(ins["insats_id"]).all()


def test_a_rule_across_files_names_the_id_as_written(raw, tmp_path):
    """Ids are pseudonymised after the checks: a message shows the id as in the workbook."""
    rows = utr_rows()
    linked = next(i for i, r in enumerate(rows) if r["Aktualiserings-ID"])
    rows[linked]["Aktualiserings-ID"] = "A2020-9999"
    write_utr(raw, rows)
    with pytest.raises(ingest.RawDataError) as excinfo:
        ingest.run(raw, tmp_path / "processed")
    assert not isinstance(excinfo.value, ingest.PseudonymKeyError)
    assert "A2020-9999" in str(excinfo.value)


def test_the_contract_lists_the_ids_it_pseudonymises():
    from helpers.data import contract

    for extract in contract.EXTRACTS:
        for sheet in extract.sheets:
            for col in sheet.columns:
                if col.header in ID_HEADERS:
                    assert col.header in extract.pseudonymise_ids, (extract.name, col.header)
                if col.kind == "pnr":
                    assert col.header in extract.pseudonymise, (extract.name, col.header)
