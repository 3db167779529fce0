"""The synthetic data: deterministic, contract-valid, synthetic identifiers only.

Three kinds of data are checked: the calibrated ``demo`` (its aktualiseringar stream byte for byte
unchanged), the ``kontrast`` scenario (a municipality that contradicts every data-dependent
sentence the chapters could have hard-coded) and volumes scaled down to a small municipality
(``scale=0.06``). The scenario properties are computed from the ingested ``data/processed`` tables
with plain pandas and the code lists, as a chapter would see them; the case flow (utredningar and
insatser) is checked on the workbooks themselves, read with pandas.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from helpers import cli
from helpers.chapters import inflode
from helpers.config import PATHS
from helpers.data import codes, contract, ingest, pnr
from helpers.data.contract import EXTRACTS, INSATSER, UTREDNINGAR
from helpers.data.synth import caseflow, generate

YEARS = [2018, 2019, 2020, 2021, 2022]

#: sha256 of the demo's aktualiseringar stream for 2020 as written before scenarios, scale and the
#: case flow were added (openpyxl 3.1.5): :func:`generate.build_aktualiseringar` must still produce
#: exactly these records, since the reproduction test is calibrated on them. The post-passes of the
#: case flow (ansökan decisions, persons linked across years) change only Beslut of ansökningar and
#: Personnummer, with generators of their own (:func:`test_post_passes_change_only_what_they_should`).
BASE_2020_SHA256 = "935788ea0a7a7ae8a1d02eeef01562d1c31eaf350d13451831bdaa678c770268"
#: sha256 of the demo extracts for 2020 as the generator writes them now (with the post-passes).
DEMO_2020_SHA256 = {
    "aktualiseringar_2020.xlsx": "4f03e1c829a54d5a159cb7b592af3f97474878ae50498fb91155775c3382dd6a",
    "struktur_2020.xlsx": "f31e63bcf8bdce4404c8c63a774b69614630657bcd9af6912556473d55de0a12",
}
#: The day the demo extracts were taken (later ends are blank).
EXTRACTION = pd.Timestamp("2023-01-31")


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def core_xml(path) -> str:
    with zipfile.ZipFile(path) as z:
        return z.read("docProps/core.xml").decode()


def prepared(processed) -> pd.DataFrame:
    """The processed aktualiseringar with the chapter's derived columns."""
    df = ingest.load("aktualiseringar", processed)
    types = codes.load("aktualiseringstyper").set_index("aktualiseringstyp")
    at = df["aktualiseringstyp"].astype(str)
    df["typ"] = at.map(types["typ"])
    df["alderskategori"] = at.map(types["alderskategori"])
    df["kategori"] = df["orsakskod"].astype(str).map(codes.orsak_kategori())
    df["aldersgrupp"] = pd.cut(df["alder"].astype(int), [-1, 12, 17, 20], labels=["0-12", "13-17", "18-20"]).astype(str)
    df["utsatt"] = df["stadsdel"].astype(str).isin(codes.utsatta_omraden())
    df["manad"] = df["inkom_datum"].dt.month
    df["ar"] = df["ar"].astype(int)
    df["beslut"] = df["beslut"].astype(str)
    return df


class Scenario:
    """Generated, ingested and prepared data of one scenario and scale."""

    def __init__(self, factory, scenario: str, scale: float, years=YEARS):
        self.raw = factory.mktemp(f"{scenario}-{scale}-raw")
        self.processed = factory.mktemp(f"{scenario}-{scale}") / "processed"
        self.targets = generate.load_targets(scenario, scale)
        self.files = generate.main(self.raw, years, scenario=scenario, scale=scale)
        self.manifest = ingest.run(self.raw, self.processed)
        self.df = prepared(self.processed)
        bef = ingest.load("befolkning", self.processed)
        bef["ar"] = bef["ar"].astype(int)
        self.bef = bef

    def anm(self, year=None) -> pd.DataFrame:
        d = self.df[(self.df["typ"] == "anmälan") & (self.df["alderskategori"] == "0-17")]
        return d if year is None else d[d["ar"] == year]

    def per_1000(self, year: int) -> pd.DataFrame:
        b = self.bef[(self.bef["ar"] == year) & (self.bef["aldersgrupp"].astype(str) != "18-20")]
        pop = b.groupby(b["stadsdel"].astype(str))["antal"].sum()
        n = self.anm(year)["stadsdel"].astype(str).value_counts().reindex(pop.index, fill_value=0)
        out = pd.DataFrame({"n": n, "pop": pop})
        out["per_1000"] = 1000 * out["n"] / out["pop"]
        out["utsatt"] = out.index.isin(codes.utsatta_omraden())
        return out.sort_values("per_1000", ascending=False)

    def cause_cells(self) -> pd.Series:
        """Anmälningar 0-17 by year, age group and category (every category, zeros included)."""
        a = self.anm()
        idx = pd.MultiIndex.from_product([YEARS, ["0-12", "13-17"], list(codes.kategori_etikett())])
        return a.groupby(["ar", "aldersgrupp", "kategori"]).size().reindex(idx, fill_value=0)

    def march_cells(self) -> pd.Series:
        """March anmälningar (0-20) by year, area type and category."""
        m = self.df[(self.df["typ"] == "anmälan") & (self.df["manad"] == 3)]
        return m.groupby(["ar", "utsatt", "kategori"]).size()


@pytest.fixture(scope="module")
def raw_twice(tmp_path_factory):
    a, b = tmp_path_factory.mktemp("a"), tmp_path_factory.mktemp("b")
    generate.main(a, years=[2020])
    generate.main(b, years=[2020])
    return a, b


@pytest.fixture(scope="module")
def kontrast(tmp_path_factory) -> Scenario:
    return Scenario(tmp_path_factory, "kontrast", 1.0)


@pytest.fixture(scope="module")
def kontrast_small(tmp_path_factory) -> Scenario:
    return Scenario(tmp_path_factory, "kontrast", 0.06)


@pytest.fixture(scope="module")
def demo_small(tmp_path_factory) -> Scenario:
    return Scenario(tmp_path_factory, "demo", 0.06)


# --- demo -----------------------------------------------------------------------------------


def test_generator_is_byte_identical(raw_twice):
    a, b = raw_twice
    files = sorted(p.name for p in a.glob("*.xlsx"))
    assert set(files) >= {"aktualiseringar_2020.xlsx", "insatser_2020.xlsx", "kostnader_2020.xlsx",
                          "placeringar_december_2020.xlsx", "struktur_2020.xlsx", "utredningar_2020.xlsx"}
    assert set(files) - {f"{e.name}_2020.xlsx" for e in contract.EXTRACTS} <= {
        e.filename() for e in contract.EXTRACTS if not e.yearly}
    assert all(digest(a / f) == digest(b / f) for f in files)


def test_demo_is_unchanged(raw_twice, tmp_path):
    a, _ = raw_twice
    assert {f: digest(a / f) for f in DEMO_2020_SHA256} == DEMO_2020_SHA256
    for f in ("aktualiseringar_2020.xlsx", "utredningar_2020.xlsx", "insatser_2020.xlsx"):
        assert "keywords" not in core_xml(a / f), "the plain demo names no scenario"
    targets = generate.load_targets()
    base = generate.write_aktualiseringar(2020, targets, tmp_path, generate.build_aktualiseringar(2020, targets))
    assert digest(base) == BASE_2020_SHA256, "the aktualiseringar stream itself is unchanged"


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


def test_scale_one_leaves_targets_alone():
    assert generate.scale_targets(generate.load_targets(), 1.0) == generate.load_targets()
    with pytest.raises(ValueError, match="okänt scenario"):
        generate.load_targets("nonexistent")
    with pytest.raises(ValueError, match="större än 0"):
        generate.load_targets("demo", 0)


def test_vectorised_draws_and_ages_match_the_scalar_ones():
    """:func:`generate.draw` makes the draw of ``rng.choice(n, p=w / w.sum())`` and leaves the
    generator in the same state; :func:`caseflow._year_md` gives :func:`caseflow.age_at` as arrays
    (29 February and birthdays included)."""
    import numpy as np

    for seed in range(50):
        g = np.random.default_rng(seed)
        w = g.random(int(g.integers(1, 12))) * 10
        w[g.random(len(w)) < 0.2] = 0.0
        w[0] += 0.5
        a, b = np.random.default_rng([seed, 1]), np.random.default_rng([seed, 1])
        assert [int(a.choice(len(w), p=w / w.sum())) for _ in range(100)] == [generate.draw(b, w) for _ in range(100)]
        assert a.random() == b.random()
    births = [dt.date(2004, 2, 29), dt.date(2003, 3, 1), dt.date(2010, 12, 31), dt.date(2001, 1, 1), dt.date(2005, 6, 15)]
    days = [dt.date(2020, 2, 28), dt.date(2020, 2, 29), dt.date(2021, 2, 28), dt.date(2021, 3, 1), dt.date(2022, 12, 31),
            dt.date(2018, 1, 1), dt.date(2019, 6, 15), dt.date(2019, 6, 14)]
    by, bmd = caseflow._year_md(np.array([b.toordinal() for b in births]))
    for day in days:
        y, md = caseflow._year_md(np.array([day.toordinal()] * len(births)))
        assert (y - by - (md < bmd)).tolist() == [caseflow.age_at(b, day) for b in births]


def test_fast_rows_write_what_openpyxl_writes(tmp_path, monkeypatch):
    """The rows written as XML (:func:`generate._rows_xml`) give the very bytes that openpyxl gives
    for every kind of value, in workbooks of several sheets; a value of another kind (here a numpy
    integer, a formula-like string) leaves the whole workbook to openpyxl."""
    import numpy as np

    rows = [["a", 1, dt.date(2020, 1, 31), True, None],
            [" lead", -7, None, False, "x"],
            ["tab\there & <b>", 2.5, dt.date(2022, 12, 1), None, ""],
            ["  ", 10**17, dt.date(1999, 3, 1), True, "Övergår till annan insats"],
            ["nl\nx ", 0.1 + 0.2, None, None, "trail "],
            ["a", 0.0, dt.date(2020, 1, 31), 1, "x"],
            ["a", -0.0, dt.date(2020, 1, 31), False, "x"]]
    cases = {"two": {"Ett": (["Namn", "Tal", "Startdatum", "Flagga", "Text"], rows),
                     "Två": (["Slutdatum", "N"], [[dt.date(2021, 5, 5), 3], [None, 4]])},
             "empty": {"Blad": (["Startdatum", "Namn"], [])},
             "other": {"Blad": (["Namn", "Tal"], [["a", np.int64(3)], ["=SUM(A1)", 1]])}}
    assert generate._rows_xml(rows, 5, [0, 0, 2, 0, 0]) is not None  # written fast
    assert generate._rows_xml(cases["other"]["Blad"][1], 2, [0, 0]) is None
    for name, sheets in cases.items():
        generate._write_workbook(tmp_path / f"{name}_fast.xlsx", sheets, "scenario=x; scale=1")
    monkeypatch.setattr(generate, "_rows_xml", lambda *args: None)
    for name, sheets in cases.items():
        generate._write_workbook(tmp_path / f"{name}_openpyxl.xlsx", sheets, "scenario=x; scale=1")
        assert digest(tmp_path / f"{name}_fast.xlsx") == digest(tmp_path / f"{name}_openpyxl.xlsx"), name


# --- kontrast -------------------------------------------------------------------------------


def test_kontrast_ingests_and_is_marked(kontrast, kontrast_small):
    for s, label in ((kontrast, "scenario=kontrast; scale=1"), (kontrast_small, "scenario=kontrast; scale=0.06")):
        assert s.manifest["synthetic"] is True, "creator still marks the workbooks as synthetic"
        assert sorted(s.manifest["inputs"]) == sorted(p.name for p in s.files)
        for path in s.files:
            props = openpyxl.load_workbook(path, read_only=True).properties
            assert props.keywords == label
            assert props.creator == ingest.SYNTHETIC_CREATOR


def test_kontrast_totals_fall_every_year(kontrast, kontrast_small):
    for s in (kontrast, kontrast_small):
        n = s.anm().groupby("ar").size().reindex(YEARS)
        change = n.pct_change().dropna()
        assert ((change <= -0.06) & (change >= -0.12)).all(), n.to_dict()
    per_type = kontrast.df.groupby(["ar", "aktualiseringstyp"]).size().unstack()
    assert (per_type.loc[2022] < per_type.loc[2018]).all()


def test_kontrast_utsatta_omraden_are_not_highest(kontrast):
    for year in YEARS:
        p = kontrast.per_1000(year)
        assert not p["utsatt"].iloc[:3].any(), f"{year}: {p.head(3).index.tolist()}"
        rates = p.groupby("utsatt")[["n", "pop"]].sum()
        assert rates.loc[True, "n"] / rates.loc[True, "pop"] < rates.loc[False, "n"] / rates.loc[False, "pop"]


def test_kontrast_season(kontrast):
    by_month = kontrast.df[kontrast.df["typ"] == "anmälan"].groupby("manad").size()
    assert by_month.idxmin() == 2 and by_month.idxmax() == 6
    for year in YEARS:
        assert (kontrast.anm(year)["manad"] == 3).sum() > 0, "the March sample needs anmälningar in March"


def test_kontrast_small_and_vanishing_categories(kontrast):
    cells = kontrast.cause_cells()
    small = cells[(cells >= 1) & (cells <= 4)]
    assert len(small) >= 8
    assert {k for _, _, k in small.index} >= {"missbruk", "psykisk_ohalsa", "skolproblematik"}
    assert cells[(2022, "0-12", "skolproblematik")] == 0 and cells[(2021, "0-12", "skolproblematik")] == 0
    x01 = kontrast.anm().assign(x01=lambda d: d["orsakskod"].astype(str) == "X01").groupby("ar")["x01"].sum()
    assert x01[2022] == 0 and (x01[[2019, 2020, 2021]].between(1, 4)).all()
    march = kontrast.march_cells()
    assert march.between(1, 4).sum() >= 10 and all(march.loc[y].between(1, 4).any() for y in YEARS)


def test_kontrast_few_applications_and_falling_shares(kontrast):
    df = kontrast.df
    ans = df[(df["typ"] == "ansökan") & (df["alderskategori"] == "0-17")].groupby("ar").size().reindex(YEARS, fill_value=0)
    assert (ans < 10).any() and ans.min() >= 1
    anm = kontrast.anm()
    omsorg = (anm["kategori"] == "bristande_omsorg").groupby(anm["ar"]).mean()
    a = df[df["typ"] == "anmälan"]
    utr = a[a["beslut"] == "utredning"]
    brott = (utr["kategori"] == "brottslighet").groupby(utr["ar"]).mean()
    service = (a["beslut"] == "service").groupby(a["ar"]).mean()
    for share in (omsorg, brott, service):
        assert share.is_monotonic_decreasing and share[2022] < share[2018]


# --- scale ----------------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", ["demo", "kontrast"])
def test_scaled_targets_are_consistent(scenario):
    t = generate.load_targets(scenario, 0.06)
    full = generate.load_targets(scenario)
    for y in YEARS:
        types, anm, q = t["aktualiseringstyper"][y], t["anmalan_0_17"][y], t["anmalan_beslut"][y]
        assert types["Anmälan 0-17"] == sum(anm["0-12"].values()) + sum(anm["13-17"].values())
        assert abs(sum(types.values()) - 0.06 * sum(full["aktualiseringstyper"][y].values())) <= 1
        assert sum(t["ansokan_0_17_orsak"][y].values()) <= types["Ansökan 0-17"]
        assert q["utredning"] + q["service"] + q["annan_verksamhet"] + q["kronologiska"] <= types["Anmälan 0-17"] + types["Anmälan 18-20"]
        assert q["utredning_brott"] <= min(q["utredning"], anm["0-12"]["brottslighet"] + anm["13-17"]["brottslighet"])
        for spec in t["mars"].get(y, {}).values():
            if isinstance(spec, dict) and "kategori" in spec:
                assert sum(spec["anmalare"].values()) == sum(spec["kategori"].values())
    assert sum(t["befolkning_0_17_2020"].values()) == pytest.approx(0.06 * sum(full["befolkning_0_17_2020"].values()), rel=0.01)


@pytest.mark.parametrize("name", ["demo_small", "kontrast_small"])
def test_scaled_data_match_targets_and_have_small_cells(name, request):
    s: Scenario = request.getfixturevalue(name)
    assert s.manifest["synthetic"] is True
    counts = s.df.groupby(["ar", "aktualiseringstyp"]).size()
    for y in YEARS:
        for typ, n in s.targets["aktualiseringstyper"][y].items():
            assert counts.get((y, typ), 0) == n
        assert (s.anm(y)["manad"] == 3).sum() > 0
    cells = s.cause_cells()
    assert cells.between(1, 4).sum() >= 15, "a small municipality: many cells of 1–4"
    assert s.march_cells().between(1, 4).sum() >= 15
    pop = s.bef[s.bef["ar"] == 2020]["antal"].sum()
    assert 1_500 < pop < 3_500, "population scales with the counts"


def test_scaled_generation_is_deterministic(kontrast_small, tmp_path):
    generate.main(tmp_path, [2021, 2022], scenario="kontrast", scale=0.06)
    for f in ("aktualiseringar_2021.xlsx", "struktur_2021.xlsx", "utredningar_2022.xlsx", "insatser_2022.xlsx"):
        assert digest(tmp_path / f) == digest(kontrast_small.raw / f)


# --- replacing data/raw and the command line --------------------------------------------------


def test_replace_refuses_real_extracts_and_replaces_synthetic(tmp_path):
    raw = tmp_path / "raw"
    generate.main(raw, [2021], scenario="kontrast", scale=0.06)
    (raw / "README.md").write_text("anteckning\n")
    written = generate.replace(raw, scenario="demo", scale=0.06)
    assert sorted(p.name for p in raw.glob("*.xlsx")) == sorted(p.name for p in written)
    assert len(written) == len(list(raw.glob("*.xlsx"))) >= 30 and (raw / "README.md").is_file()
    assert all("scenario=demo; scale=0.06" in core_xml(p) for p in written)
    assert not [p for p in raw.iterdir() if p.name.startswith(".synth-")]

    wb = openpyxl.Workbook()
    wb.save(raw / "aktualiseringar_2023.xlsx")  # not written by the generator: a "real" extract
    before = {p.name: digest(p) for p in raw.glob("*.xlsx")}
    with pytest.raises(generate.NotSyntheticError, match="aktualiseringar_2023.xlsx"):
        generate.replace(raw, scenario="kontrast")
    assert {p.name: digest(p) for p in raw.glob("*.xlsx")} == before


def test_real_public_data_are_kept_and_do_not_decide_the_synthetic_flag(tmp_path):
    """A jamforelse.xlsx fetched from Kolada (not written by the generator) is public data: the
    demo data can be rewritten around it, it is kept byte for byte, and the report still says that
    its case data are synthetic."""
    import shutil

    raw = tmp_path / "raw"
    generate.main(raw, scenario="demo", scale=0.06)
    real = tmp_path / "kolada.xlsx"
    shutil.copy2(raw / "jamforelse.xlsx", real)
    wb = openpyxl.load_workbook(real)
    wb.properties.creator = "someone fetching Kolada"
    wb.save(real)
    shutil.copy2(real, raw / "jamforelse.xlsx")
    kept = digest(raw / "jamforelse.xlsx")
    assert not ingest.is_synthetic(raw / "jamforelse.xlsx")
    written = generate.replace(raw, scenario="kontrast", scale=0.06)
    assert "jamforelse.xlsx" not in {p.name for p in written} and digest(raw / "jamforelse.xlsx") == kept
    manifest = ingest.run(raw, tmp_path / "processed")
    assert manifest["synthetic"] is True and manifest["inputs"]["jamforelse.xlsx"]["synthetic"] is False


def test_cli_refuses_with_protected_data_dir(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GENOMLYSNING_DATA_DIR", str(tmp_path))
    assert cli.main(["data", "--scenario", "kontrast"]) == 1
    assert "GENOMLYSNING_DATA_DIR" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())
    with pytest.raises(SystemExit):
        cli.main(["data", "--scale", "0"])


def test_cli_writes_scenario_and_ingests(tmp_path):
    root = tmp_path / "project"
    (root / "data" / "raw").mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GENOMLYSNING_")}
    env["GENOMLYSNING_ROOT"] = str(root)
    env["GENOMLYSNING_SHARED"] = str(PATHS.shared_reference.parent)
    proc = subprocess.run([sys.executable, "-m", "helpers.cli", "data", "--scenario", "kontrast", "--scale", "0,06"],
                          cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "scenario kontrast, skala 0,06" in proc.stdout
    manifest = ingest.manifest(root / "data" / "processed")
    assert manifest["synthetic"] is True and len(manifest["inputs"]) >= 30


# --- the case flow: utredningar and insatser ------------------------------------------------


def read_extract(raw: Path, name: str) -> pd.DataFrame:
    """Every yearly workbook of one extract, read with pandas, with the file's year in ``ar``."""
    parts = []
    for f in sorted(raw.glob(f"{name}_*.xlsx")):
        df = pd.read_excel(f, dtype={"Personnummer": str, "Aktualiserings-ID": str, "Utrednings-ID": str, "Insats-ID": str})
        parts.append(df.assign(ar=int(f.stem[-4:])))
    df = pd.concat(parts, ignore_index=True)
    for col in ("Inkom datum", "Startdatum", "Slutdatum"):
        if col in df:
            df[col] = pd.to_datetime(df[col])
    return df


class Workbooks:
    """The aktualiseringar, utredningar and insatser of a generated folder, as pandas reads them."""

    def __init__(self, raw: Path):
        self.raw = raw
        self.akt = read_extract(raw, "aktualiseringar")
        self.utr = read_extract(raw, "utredningar")
        self.ins = read_extract(raw, "insatser")
        for df in (self.utr, self.ins):
            df["start_ar"] = df["Startdatum"].dt.year
            df["slut_ar"] = df["Slutdatum"].dt.year
            df["dagar"] = (df["Slutdatum"] - df["Startdatum"]).dt.days
        self.ins["problemomrade"] = self.ins["Orsakskod"].map(codes.problemomrade())
        self.ins["grupp"] = self.ins["Orsakskod"].map(codes.bistandsgrupp()).replace("", "ovriga")

    def ended(self, df: pd.DataFrame, year: int) -> pd.DataFrame:
        return df[df["slut_ar"] == year]

    def service(self, year: int) -> pd.DataFrame:
        return self.ended(self.ins[self.ins["Grund"] == "Service"], year)

    def oppenvard(self, year: int | None = None) -> pd.DataFrame:
        o = self.ins[(self.ins["Grund"] == "Bistånd") & (self.ins["Insatstyp"] == "Öppenvård")]
        return o if year is None else self.ended(o, year)


def _age(df: pd.DataFrame) -> pd.Series:
    birth = pnr.birth_dates(df["Personnummer"].map(pnr.normalise))
    d = df["Startdatum"] if "Startdatum" in df else df["Inkom datum"]
    return d.dt.year - birth.dt.year - ((d.dt.month * 100 + d.dt.day) < (birth.dt.month * 100 + birth.dt.day)).astype(int)


def flow_problems(w: Workbooks) -> list[str]:
    """Every flow rule of the case extracts that the data break (empty: all hold)."""
    problems: list[str] = []
    akt, utr, ins = w.akt, w.utr, w.ins
    first, last = int(akt["ar"].min()), int(akt["ar"].max())
    first_day, last_day = pd.Timestamp(first, 1, 1), pd.Timestamp(last, 12, 31)

    def bad(rule: str, mask) -> None:
        mask = pd.Series(mask).fillna(False).astype(bool)
        if mask.any():
            problems.append(f"{rule}: {int(mask.sum())} rader")

    def same_person(df: pd.DataFrame, suffix: str) -> pd.Series:
        return ((df["Personnummer"] == df[f"Personnummer{suffix}"]) & (df["Kön"] == df[f"Kön{suffix}"])
                & (df["Stadsdel"] == df[f"Stadsdel{suffix}"]))

    # Both extracts: ids, the extract cut, dates, age and sex from the personnummer.
    for name, df, id_col in (("utredning", utr, "Utrednings-ID"), ("insats", ins, "Insats-ID")):
        bad(f"{name}: id unikt över åren", df[id_col].duplicated())
        bad(f"{name}: startår = filens år (tidigare bara i första årets fil)",
            (df["start_ar"] != df["ar"]) & ~((df["ar"] == first) & (df["start_ar"] < first)))
        bad(f"{name}: inleddes före första året men pågick inte 1 januari", (df["start_ar"] < first) & (df["Slutdatum"] < first_day))
        bad(f"{name}: slutdatum före startdatum", df["Slutdatum"] < df["Startdatum"])
        bad(f"{name}: slutdatum efter uttaget", df["Slutdatum"] > EXTRACTION)
        bad(f"{name}: startdatum efter sista året", df["Startdatum"] > last_day)
        bad(f"{name}: ålder vid start enligt personnumret", _age(df) != df["Ålder"])
        bad(f"{name}: ålder 0–20", ~df["Ålder"].between(0, 20))
        bad(f"{name}: kön enligt personnumret", pnr.sexes(df["Personnummer"].map(pnr.normalise)) != df["Kön"])

    # Utredningar after aktualiseringar.
    a = akt.set_index("Aktualiserings-ID")
    types = codes.load("aktualiseringstyper").set_index("aktualiseringstyp")["typ"]
    grund_of = dict(zip(codes.load("startgrund")["typ"], codes.load("startgrund")["startgrund"], strict=True))
    ua = utr[utr["Aktualiserings-ID"].notna()].merge(a, how="left", left_on="Aktualiserings-ID", right_index=True, suffixes=("", "_a"))
    bad("utredning: aktualiseringen finns", ua["Inkom datum"].isna())
    bad("utredning: aktualiseringens beslut är utredning", ua["Beslut"] != "utredning")
    bad("utredning: samma barn som aktualiseringen", ~same_person(ua, "_a"))
    bad("utredning: startgrund = aktualiseringens typ", ua["Startgrund"] != ua["Aktualiseringstyp"].map(types).map(grund_of))
    bad("utredning: orsakskod från aktualiseringen", ua["Orsakskod"] != ua["Orsakskod_a"])
    delay = (ua["Startdatum"] - ua["Inkom datum"]).dt.days
    bad("utredning: start 0–14 dagar efter aktualiseringen", ~delay.between(0, 14))
    bad("utredning: start samma år som aktualiseringen", ua["start_ar"] != ua["Inkom datum"].dt.year)
    n_utr = utr["Aktualiserings-ID"].value_counts()
    wanted = akt.loc[akt["Beslut"] == "utredning", "Aktualiserings-ID"]
    bad("varje aktualisering med beslut utredning har exakt en utredning", n_utr.reindex(wanted).fillna(0).to_numpy() != 1)
    bad("utredning utan aktualisering är en inkörd utredning", utr["Aktualiserings-ID"].isna() & (utr["start_ar"] >= first))
    ended = utr["Slutdatum"].notna()
    bad("utredning: utfall om och endast om avslutad", ended != utr["Utfall"].notna())
    bad("utredning: bedömning om och endast om ingen insats", (utr["Utfall"] == "Ingen insats") != utr["Bedömning"].notna())
    bad("utredning: utfall ur kodlistan", utr["Utfall"].notna() & ~utr["Utfall"].isin(codes.values("utfall")))
    bad("utredning: bedömning ur kodlistan", utr["Bedömning"].notna() & ~utr["Bedömning"].isin(codes.values("bedomning")))
    d = utr.loc[ended, "dagar"]
    bad("utredning: längd högst 200 dagar", d > 200)
    if len(d) >= 50 and d.between(60, 120).mean() < 0.8:
        problems.append(f"utredning: bara {d.between(60, 120).mean():.0%} tog 60–120 dagar")

    # Bistånd insatser after utredningar.
    b, s = ins[ins["Grund"] == "Bistånd"], ins[ins["Grund"] == "Service"]
    bad("grund Service eller Bistånd", ~ins["Grund"].isin(["Service", "Bistånd"]))
    typer = codes.load("insatstyper")
    placement_forms = set(typer.loc[typer["form"] == "heldygn", "insatstyp"])
    bad("bistånd: en insatstyp ur kodlistan", ~b["Insatstyp"].isin(typer["insatstyp"]))
    placed = ins["Insatstyp"].isin(placement_forms)
    bad("lagrum om och endast om placering", ins["Lagrum"].notna() != placed)
    bad("service: aldrig placering", s["Insatstyp"].isin(placement_forms))
    bad("stödboende från 16 år", (ins["Insatstyp"] == "Stödboende") & (ins["Ålder"] < 16))
    endings = codes.load("avslutsorsaker")
    bad("insats: avslutsorsak om och endast om avslutad", ins["Slutdatum"].notna() != ins["Avslutsorsak"].notna())
    bo, bp = b[~b["Insatstyp"].isin(placement_forms)], b[b["Insatstyp"].isin(placement_forms)]
    bad("bistånd: avslutsorsak för öppna biståndsinsatser",
        bo["Avslutsorsak"].notna() & ~bo["Avslutsorsak"].isin(endings.loc[endings["bistand"], "avslutsorsak"]))
    bad("placering: avslutsorsak för placeringar",
        bp["Avslutsorsak"].notna() & ~bp["Avslutsorsak"].isin(endings.loc[endings["placering"], "avslutsorsak"]))
    bad("service: avslutsorsak för service", s["Avslutsorsak"].notna() & ~s["Avslutsorsak"].isin(endings.loc[endings["service"], "avslutsorsak"]))
    bad("bistånd: ingen aktualiserings-id", b["Aktualiserings-ID"].notna())
    bad("service: ingen utrednings-id", s["Utrednings-ID"].notna())
    bu = b[b["Utrednings-ID"].notna()].merge(utr.set_index("Utrednings-ID"), how="left", left_on="Utrednings-ID",
                                         right_index=True, suffixes=("", "_u"))
    bad("bistånd: utredningen finns", bu["Startdatum_u"].isna())
    bad("bistånd: utredningen beviljade insats", bu["Utfall"] != "Insats beviljas")
    bad("bistånd: samma barn som utredningen", ~same_person(bu, "_u"))
    wait = (bu["Startdatum"] - bu["Slutdatum_u"]).dt.days
    bu_placed = bu["Insatstyp"].isin(placement_forms)
    bad("öppen bistånd: start 0–30 dagar efter utredningen", ~bu_placed & ~wait.between(0, 30))
    # A placement follows its utredning, or the öppenvård granted on the same utredning that ended
    # "Övergår till annan insats".
    bad("placering: start efter utredningen, inom två år", bu_placed & ~wait.between(0, 800))
    # Without an utredning: a run-in, a later placement of a period of care (the day after a placement
    # of the same child) or a child placed again (an earlier placement of the same child).
    prev_end = bp.groupby("Personnummer")["Startdatum"].transform("min")
    bad("öppen bistånd utan utredning är en inkörd insats", bo["Utrednings-ID"].isna() & (bo["start_ar"] >= first))
    bad("placering utan utredning är inkörd, fortsättning eller återplacering",
        bp["Utrednings-ID"].isna() & (bp["start_ar"] >= first) & (bp["Startdatum"] <= prev_end))
    granted = utr[utr["Utfall"] == "Insats beviljas"]
    k_open = bo["Utrednings-ID"].value_counts().reindex(granted["Utrednings-ID"]).fillna(0).to_numpy()
    k_place = bp["Utrednings-ID"].value_counts().reindex(granted["Utrednings-ID"]).fillna(0).to_numpy()
    bad("högst en öppen insats och en placering per utredning", (k_open > 1) | (k_place > 1))
    k = k_open + k_place
    bad("en bistånd insats per beviljad utredning", (k == 0) & (granted["Slutdatum"] <= last_day).to_numpy())
    for typ, lo, hi in (("Öppenvård", 61, 365), ("Kontaktperson", 183, 730), ("Kontaktfamilj", 183, 730)):
        bad(f"bistånd {typ.lower()}: längd {lo}–{hi} dagar", ~b.loc[(b["Insatstyp"] == typ) & b["Slutdatum"].notna(), "dagar"].between(lo, hi))

    # Service insatser.
    bad("service: insatstyp öppenvård", s["Insatstyp"] != "Öppenvård")
    bad("service: orsakskod i ett av de sex problemområdena", s["Orsakskod"].map(codes.problemomrade()).fillna("") == "")
    bad("service: längd 1–8 månader", ~s.loc[s["Slutdatum"].notna(), "dagar"].between(30, 243))
    sa = s[s["Aktualiserings-ID"].notna()].merge(a, how="left", left_on="Aktualiserings-ID", right_index=True, suffixes=("", "_a"))
    bad("service: aktualiseringen finns", sa["Inkom datum"].isna())
    bad("service: aktualiseringens beslut är service", sa["Beslut"] != "service")
    bad("service: samma barn som aktualiseringen", ~same_person(sa, "_a"))
    bad("service: start 0–30 dagar efter aktualiseringen", ~(sa["Startdatum"] - sa["Inkom datum"]).dt.days.between(0, 30))
    bad("service: start samma år som aktualiseringen", sa["start_ar"] != sa["Inkom datum"].dt.year)
    bad("service: högst en insats per aktualisering", s["Aktualiserings-ID"].dropna().duplicated())
    if len(s) >= 40 and not (0 < s["Aktualiserings-ID"].notna().mean() < 1):
        problems.append("service: både insatser efter hänvisning och direkta väntas")
    return problems


@pytest.fixture(scope="module")
def demo_raw(tmp_path_factory) -> Path:
    raw = tmp_path_factory.mktemp("demo-raw")
    generate.main(raw)
    return raw


@pytest.fixture(scope="module")
def demo_wb(demo_raw) -> Workbooks:
    return Workbooks(demo_raw)


def test_demo_writes_every_case_extract(demo_raw):
    not_yearly = {e.filename() for e in EXTRACTS if not e.yearly}
    assert not_yearly <= {p.name for p in demo_raw.glob("*.xlsx")}
    names = sorted(p.name for p in demo_raw.glob("*.xlsx") if p.name not in not_yearly)
    assert names == sorted(f"{e}_{y}.xlsx" for e in ("aktualiseringar", "struktur", "utredningar", "insatser",
                                                                    "placeringar_december", "kostnader") for y in YEARS)
    for extract in (UTREDNINGAR, INSATSER):
        for y in YEARS:
            ws = openpyxl.load_workbook(demo_raw / extract.filename(y), read_only=True)[extract.sheets[0].name]
            assert [c.value for c in next(ws.iter_rows(max_row=1))] == [c.header for c in extract.sheets[0].columns]


def test_demo_flow_rules_hold(demo_wb):
    assert flow_problems(demo_wb) == []
    utr, ins = demo_wb.utr, demo_wb.ins
    assert utr["Slutdatum"].isna().any() and ins["Slutdatum"].isna().any(), "cases ongoing at the extraction"
    run_in = utr[utr["start_ar"] < 2018]
    assert len(run_in) > 100 and run_in["Aktualiserings-ID"].isna().all() and (run_in["ar"] == 2018).all()
    assert set(utr["Utfall"].dropna()) == set(codes.values("utfall"))
    assert set(ins.loc[ins["Grund"] == "Bistånd", "Insatstyp"]) == set(codes.values("insatstyper"))
    service = ins[ins["Grund"] == "Service"]
    assert 0.4 < service["Aktualiserings-ID"].notna().mean() < 0.8, "service after referral and direct"
    direct = service[service["Aktualiserings-ID"].isna()]
    assert (~direct["Personnummer"].isin(demo_wb.akt["Personnummer"])).any(), "some direct service for new children"
    numbers = pd.concat([utr["Personnummer"], ins["Personnummer"]])
    assert numbers.map(lambda n: 980 <= int(n[-4:-1]) <= 989).all(), "only synthetic test numbers"


def test_demo_utredningar_calibration(demo_wb):
    utr = demo_wb.utr
    started = utr[utr["Startgrund"] == "Ansökan"].groupby("start_ar").size()
    assert started[2019] == 195 and started[2020] == 172  # report lines 136-137
    assert {y: started[y] for y in YEARS} == generate.load_targets()["utfall"]["ansokan_utredning"]
    akt = demo_wb.akt
    ans = akt[akt["Aktualiseringstyp"].str.startswith("Ansökan") & (akt["Beslut"] == "utredning")].groupby("ar").size()
    assert ans.to_dict() == {y: started[y] for y in YEARS}, "started after ansökan = ansökningar with Beslut utredning"

    ended = utr[utr["slut_ar"].isin(YEARS)]
    share = pd.crosstab([ended["slut_ar"], ended["Startgrund"]], ended["Utfall"], normalize="index") * 100
    no_action = share.xs("Anmälan", level=1)["Ingen insats"]
    assert 49.5 <= no_action[2020] < 50.5, "'Hälften' in 2020"
    assert no_action.between(48, 52).all(), "'Ingen nämnvärd förändring ... över åren'"
    assert share.xs("Ansökan", level=1)["Insats beviljas"].between(75, 80).all(), "'De flesta' after ansökan"
    assert share.xs("Annat sätt", level=1)["Insats beviljas"].between(53, 57).all()
    assert share["Överflyttad"].between(2, 4).all()

    without = ended[ended["Utfall"] == "Ingen insats"]
    b = pd.crosstab(without["slut_ar"], without["Bedömning"], normalize="index") * 100
    need = b["Behov samtycke saknas"] + b["Behov tillgodoses annat"]
    assert 27.5 <= need[2020] < 28.5, "'Ungefär 28 %'"
    assert 26.5 <= b.loc[2020, "Behov samtycke saknas"] < 27.5 and 0.5 <= b.loc[2020, "Behov tillgodoses annat"] < 1.5
    assert 24.5 <= need[2019] < 25.5 and 22.5 <= b.loc[2019, "Behov samtycke saknas"] < 23.5
    assert 23.5 <= need[2018] < 24.5
    assert b.loc[2020, "Behov samtycke saknas"] > b.loc[2019, "Behov samtycke saknas"], "'har ökat något 2020'"
    assert (b["Inget behov"] > 50).all(), "'huvudparten' without need"


SERVICE_REPORT = {  # report lines 263-330: area → (enligt plan, ej enligt plan, övrigt)
    2019: {"omsorgssvikt": (17, 3, 0), "egen_brottslighet": (95, 0, 0), "egen_psykisk_ohalsa": (8, 2, 0),
           "egen_skolproblematik": (9, 6, 0), "eget_missbruk": (75, 6, 1), "egen_relationsproblematik": (9, 0, 0)},
    2020: {"omsorgssvikt": (39, 6, 0), "egen_brottslighet": (85, 0, 0), "egen_psykisk_ohalsa": (12, 0, 0),
           "egen_skolproblematik": (29, 4, 0), "eget_missbruk": (77, 4, 0), "egen_relationsproblematik": (8, 0, 0)},
}


def test_demo_service_calibration(demo_wb):
    for year, table in SERVICE_REPORT.items():
        s = demo_wb.service(year)
        got = s.groupby(["problemomrade", "Avslutsorsak"]).size()
        for area, counts in table.items():
            assert tuple(int(got.get((area, e), 0)) for e in ("Enligt plan", "Ej enligt plan", "Övrigt")) == counts, (year, area)
        assert len(s) == {2019: 231, 2020: 264}[year]
    ej = {y: (demo_wb.service(y)["Avslutsorsak"] == "Ej enligt plan").mean() * 100 for y in YEARS}
    assert round(ej[2019]) == 7 and round(ej[2020]) == 5  # line 336
    assert 195 <= len(demo_wb.service(2018)) <= 210 and 280 <= len(demo_wb.service(2021)) <= 300
    assert 295 <= len(demo_wb.service(2022)) <= 315
    assert all(5 <= ej[y] <= 8 for y in (2018, 2021, 2022))


OPPENVARD_REPORT = {  # report lines 352-371: ending → (n, snb, familjekonflikter or None)
    2019: {"Enligt plan": (124, 30, None), "Avbruten": (64, 32, 11), "Övergår till annan insats": (50, 21, None),
           "Övergår till service": (18, None, None), "Övrigt": (0, 0, 0)},
    2020: {"Enligt plan": (140, None, 35), "Avbruten": (65, 21, 17), "Övergår till annan insats": (40, 20, None),
           "Övergår till service": (10, None, None), "Övrigt": (0, 0, 0)},
}


def test_demo_oppenvard_calibration(demo_wb):
    for year, table in OPPENVARD_REPORT.items():
        o = demo_wb.oppenvard(year)
        assert len(o) == {2019: 256, 2020: 255}[year]
        for ending, (n, snb, fam) in table.items():
            e = o[o["Avslutsorsak"] == ending]
            assert len(e) == n, (year, ending)
            assert snb is None or (e["grupp"] == "snb").sum() == snb, (year, ending)
            assert fam is None or (e["grupp"] == "familjekonflikter").sum() == fam, (year, ending)
    pct = {y: demo_wb.oppenvard(y)["Avslutsorsak"].value_counts(normalize=True) * 100 for y in YEARS}
    assert round(pct[2019]["Enligt plan"], 1) == 48.4 and round(pct[2020]["Enligt plan"], 1) == 54.9
    assert round(pct[2019]["Avbruten"]) == 25 and round(pct[2020]["Avbruten"]) == 25
    assert 230 <= len(demo_wb.oppenvard(2018)) <= 250
    assert 40 <= pct[2018]["Enligt plan"] <= 44 and 26 <= pct[2018]["Avbruten"] <= 30
    for y in (2021, 2022):
        assert 55.5 <= pct[y]["Enligt plan"] <= 57.5 and 22 <= pct[y]["Avbruten"] <= 24
    o = demo_wb.oppenvard()
    persons = o.groupby("start_ar")["Personnummer"].nunique()
    assert persons[2020] > persons[2019], "'Antalet personer som beviljas öppenvårdsinsatser ökar'"
    ovr = o[(o["Avslutsorsak"] == "Avbruten") & (o["grupp"] == "ovriga")]["Orsakskod"]
    assert {"O01", "O05", "O09"} & set(ovr), "the other causes the report names among the avbrutna"


# --- persons across years ---------------------------------------------------------------------


def test_some_children_come_back(demo_wb):
    akt = demo_wb.akt
    years_of = akt.groupby("Personnummer")["ar"].nunique()
    assert (years_of >= 2).sum() > 1000 and (years_of >= 3).any()
    seen: set[str] = set()
    for y in YEARS:
        persons = set(akt.loc[akt["ar"] == y, "Personnummer"])
        if y > YEARS[0]:
            assert 0.15 <= len(persons & seen) / len(persons) <= 0.25, y
        seen |= persons
    linked = akt[akt["Personnummer"].isin(years_of[years_of >= 2].index)]
    assert (linked.groupby("Personnummer")[["Kön", "Stadsdel"]].nunique() == 1).all().all(), "same sex and stadsdel"
    assert (_age(akt) == akt["Ålder"]).all(), "every recorded age fits the (possibly shared) birth date"


def _akt_frame(akt: dict[int, list[dict]]) -> pd.DataFrame:
    rows = [{"ar": y, "aktualisering_id": r["id"], "person_id": r["personnummer"], "inkom_datum": pd.Timestamp(r["date"]),
             "aktualiseringstyp": r["typ"], "kon": r["kon"], "alder": r["alder"], "orsakskod": r["orsakskod"],
             "anmalare": r["anmalare"], "stadsdel": r["stadsdel"], "beslut": r["beslut"]} for y, recs in akt.items() for r in recs]
    return pd.DataFrame(rows)


def _cell_values(t) -> dict[str, int]:
    X, freq, ids = t.cells.model()
    return dict(zip(ids, (X.T @ freq).round().astype(int).tolist(), strict=True))


def test_linking_persons_changes_no_inflow_count(tmp_path):
    """The cross-year pass changes only Personnummer: every cell of the Inflöde chapter (records
    and persons per year) is the same before and after it, for every year."""
    targets = generate.load_targets()
    akt = {y: generate.build_aktualiseringar(y, targets) for y in YEARS}
    caseflow.adjust_ansokan(akt, targets)
    before = _akt_frame(akt)
    linked = copy.deepcopy(akt)
    caseflow.link_persons(linked, targets)
    after = _akt_frame(linked)
    pd.testing.assert_frame_equal(before.drop(columns="person_id"), after.drop(columns="person_id"))
    assert (before["person_id"] != after["person_id"]).mean() > 0.1
    bef = []
    for y in YEARS:
        b = pd.read_excel(generate.write_struktur(y, targets, tmp_path))
        bef.append(b.rename(columns={"Stadsdel": "stadsdel", "Åldersgrupp": "aldersgrupp", "Antal": "antal"}).assign(ar=y))
    bef = pd.concat(bef, ignore_index=True)
    for year, cutoff in [(y, None) for y in YEARS] + [(2020, "2021-03-31")]:
        cells0 = _cell_values(inflode.tabulate(before, bef, year, cutoff, model_margins=False))
        cells1 = _cell_values(inflode.tabulate(after, bef, year, cutoff, model_margins=False))
        assert cells0 == cells1, year
        assert any("barn" in c for c in cells1), "person counts are among the cells compared"
    persons = before.groupby("ar")["person_id"].nunique().to_dict()
    assert after.groupby("ar")["person_id"].nunique().to_dict() == persons
    assert (after.groupby("person_id")["ar"].nunique() >= 2).sum() > (before.groupby("person_id")["ar"].nunique() >= 2).sum()


def test_post_passes_change_only_what_they_should():
    targets = generate.load_targets()
    base = {y: generate.build_aktualiseringar(y, targets) for y in YEARS}
    final = caseflow.aktualiseringar(targets)
    for y in YEARS:
        b, f = _akt_frame({y: base[y]}), _akt_frame({y: final[y]})
        changed = b["beslut"] != f["beslut"]
        assert f.loc[changed, "aktualiseringstyp"].str.startswith("Ansökan").all()
        pd.testing.assert_frame_equal(b.drop(columns=["person_id", "beslut"]), f.drop(columns=["person_id", "beslut"]))
        assert b["person_id"].nunique() == f["person_id"].nunique()


# --- kontrast and small volumes -------------------------------------------------------------


@pytest.mark.parametrize("name", ["kontrast", "kontrast_small", "demo_small"])
def test_flow_rules_hold_in_other_scenarios(name, request):
    s: Scenario = request.getfixturevalue(name)
    w = Workbooks(s.raw)
    assert flow_problems(w) == []
    assert len(w.utr) > 0 and len(w.ins) > 0
    assert (w.ins["Grund"] == "Service").any() and len(w.oppenvard()) > 0
    for table in ("utredningar", "insatser"):
        assert len(ingest.load(table, s.processed)) > 0, "ingest accepts the case extracts"


def test_kontrast_flow_contradicts_the_demo(kontrast):
    w = Workbooks(kontrast.raw)
    utr = w.utr
    ans = utr[utr["Startgrund"] == "Ansökan"].groupby("start_ar").size().reindex(YEARS)
    assert ans.is_monotonic_increasing and ans[2022] > ans[2018], "utredningar after ansökan rise"
    ended = utr[utr["slut_ar"].isin(YEARS)]
    share = pd.crosstab([ended["slut_ar"], ended["Startgrund"]], ended["Utfall"], normalize="index") * 100
    no_action = share.xs("Anmälan", level=1)["Ingen insats"]
    assert no_action.is_monotonic_decreasing and no_action.max() < 36, "after anmälan few, and fewer, without insats"
    assert (share.xs("Ansökan", level=1)["Insats beviljas"] <= 50).all(), "not 'de flesta' after ansökan"
    without = ended[ended["Utfall"] == "Ingen insats"]
    need = without["Bedömning"].isin(["Behov samtycke saknas", "Behov tillgodoses annat"]).groupby(without["slut_ar"]).mean()
    assert need.is_monotonic_decreasing and need[2018] > 0.5
    cells, totals, empty = [], {}, set()
    for y in YEARS:
        s = w.service(y)
        totals[y] = len(s)
        ej = (s["Avslutsorsak"] == "Ej enligt plan").mean()
        assert 0.20 <= ej <= 0.30, (y, ej)
        cells += s.groupby(["problemomrade", "Avslutsorsak"]).size().tolist()
        if (s.groupby("problemomrade").size().reindex(list(codes.problemomrade_etikett()), fill_value=0) == 0).any():
            empty.add(y)
    assert sum(1 <= c <= 4 for c in cells) >= 10
    assert empty >= {2020, 2021}, "a problem area without cases in a year"
    assert pd.Series(totals).is_monotonic_decreasing
    ep = {y: (w.oppenvard(y)["Avslutsorsak"] == "Enligt plan").mean() for y in YEARS}
    avb = {y: (w.oppenvard(y)["Avslutsorsak"] == "Avbruten").mean() for y in YEARS}
    assert pd.Series(ep).is_monotonic_decreasing and round(ep[2018], 2) == 0.60 and round(ep[2022], 2) == 0.40
    assert pd.Series(avb).is_monotonic_increasing
    o19 = w.oppenvard(2019)
    assert len(o19[o19["Avslutsorsak"] == "Avbruten"]) > 0 and not (o19[o19["Avslutsorsak"] == "Avbruten"]["grupp"] == "snb").any()


@pytest.mark.parametrize("scenario", ["demo", "kontrast"])
def test_scaled_flow_quotas_are_consistent(scenario):
    full = generate.load_targets(scenario)["utfall"]
    t = generate.load_targets(scenario, 0.06)
    u = t["utfall"]
    for y in YEARS:
        types = t["aktualiseringstyper"][y]
        assert 0 <= u["ansokan_utredning"][y] <= types["Ansökan 0-17"] + types["Ansökan 18-20"]
        for key in ("service", "oppenvard"):
            flat = [n for v in u[key][y].values() for n in (v.values() if isinstance(v, dict) else v)]
            flat_full = [n for v in full[key][y].values() for n in (v.values() if isinstance(v, dict) else v)]
            assert all(isinstance(n, int) and n >= 0 for n in flat)
            assert abs(sum(flat) - 0.06 * sum(flat_full)) <= 1
    assert u["utredning_utfall"] == full["utredning_utfall"] and u["bedomning"] == full["bedomning"], "shares do not scale"


def test_subset_of_years_is_cut_like_a_first_year(raw_twice):
    """Written alone, 2020 is the first year: its case files hold the cases begun earlier and
    ongoing on 1 January 2020, with references to unwritten files blank (and ingest accepts them)."""
    a, _ = raw_twice
    w = Workbooks(a)
    early = w.utr[w.utr["start_ar"] < 2020]
    assert len(early) > 0 and early["Aktualiserings-ID"].isna().all()
    assert (early["Slutdatum"].isna() | (early["Slutdatum"] >= pd.Timestamp("2020-01-01"))).all()
    ids = set(w.utr["Utrednings-ID"])
    assert w.ins["Utrednings-ID"].dropna().isin(ids).all()
    assert (w.ins["Startdatum"] <= pd.Timestamp(dt.date(2020, 12, 31))).all()


def test_demo_placements_are_calibrated_and_coherent(demo_raw):
    """The December 2020 review has the report's composition; ended familjehem placements are the
    report's counts; prior öppenvård is what the insatser show; periods of care and moves between
    forms are consistent (the ingest checks the same rules; here the generator's own output)."""
    ins = pd.concat([pd.read_excel(f, dtype={"Personnummer": str}) for f in sorted(demo_raw.glob("insatser_*.xlsx"))])
    rv = pd.read_excel(demo_raw / "placeringar_december_2020.xlsx", dtype={"Personnummer": str})
    assert len(rv) == 111 and (rv["Registrerad som"] == "HVB").all()
    assert rv["Placeringsform"].value_counts().to_dict() == {"HVB": 82, "Stödboende": 29}
    lag = rv["Lagrum"].replace({"LVU 2 och 3 §§": "LVU 2 §"}).value_counts().to_dict()
    assert lag == {"SoL": 71, "LVU 3 §": 27, "LVU 2 §": 13}
    assert rv["Anledning"].value_counts().to_dict() == {"Annan anledning": 41, "Eget beteende": 31,
                                                        "Brist i omsorgen": 21, "Brist i omsorgen och eget beteende": 18}
    assert (rv["Kön"] == "Flicka").sum() == 55
    districts = rv["Stadsdel"].value_counts()
    assert districts["Skäggetorp"] == 18 and districts["Ryd"] == 15
    assert districts.drop(["Skäggetorp", "Ryd", "Lambohov", "Centrum"]).max() <= 7
    neither = (rv["Skolsituation tillgodosedd"] == False) & (rv["Tidigare öppenvård"] == False)  # noqa: E712
    assert neither.sum() == 41 and (~rv["Tidigare öppenvård"]).sum() == 43
    by_district = rv.loc[neither, "Stadsdel"].value_counts()
    assert by_district.index[0] == "Skäggetorp"
    # Prior öppenvård: an öppen insats of the same child that began before the placement.
    typer = codes.load("insatstyper")
    open_ = ins[ins["Insatstyp"].isin(typer.loc[typer["form"] == "öppen", "insatstyp"])]
    starts = ins.set_index("Insats-ID")["Startdatum"]
    first_open = open_.groupby("Personnummer")["Startdatum"].min()
    shown = rv["Personnummer"].map(first_open) < rv["Insats-ID"].map(starts)
    assert (shown == rv["Tidigare öppenvård"]).all()
    # Ended familjehem placements (incl. jourhem; not a move between forms) by age at start.
    fam = ins[ins["Insatstyp"].isin(["Familjehem", "Jourhem"]) & ins["Slutdatum"].notna()
              & (ins["Avslutsorsak"] != "Byte av placeringsform")]
    ended = fam.groupby([fam["Slutdatum"].dt.year, fam["Ålder"] <= 13]).size()
    assert [ended[(2019, True)], ended[(2020, True)], ended[(2019, False)], ended[(2020, False)]] == [71, 41, 63, 51]
    # A move between forms is followed the next day by a placement of the same child under the same lagrum.
    byte = ins[ins["Avslutsorsak"] == "Byte av placeringsform"]
    nxt = byte.assign(dag=byte["Slutdatum"] + pd.Timedelta(days=1)).merge(
        ins, left_on=["Personnummer", "dag", "Lagrum"], right_on=["Personnummer", "Startdatum", "Lagrum"], how="left")
    assert len(byte) > 50 and nxt["Insats-ID_y"].notna().all()
    # Unaccompanied children are flagged on their placements and every placement has a flag.
    placed = ins[ins["Lagrum"].notna()]
    assert placed["Ensamkommande"].notna().all() and placed["Ensamkommande"].astype(bool).sum() > 20


def test_demo_care_days_follow_the_placements(demo_raw):
    """Care days in kostnader are the days the placements in insatser ran (jourhem as familjehem);
    the price per day on HVB general contracts is 32 % higher in 2020 than in 2018; the 2020 budget
    has the 52 Mkr top-up and stays below the cost."""
    ins = pd.concat([pd.read_excel(f) for f in sorted(demo_raw.glob("insatser_*.xlsx"))])
    kost = pd.concat([pd.read_excel(f, sheet_name="Kostnader") for f in sorted(demo_raw.glob("kostnader_*.xlsx"))])
    budget = pd.concat([pd.read_excel(f, sheet_name="Budget") for f in sorted(demo_raw.glob("kostnader_*.xlsx"))])
    placed = ins[ins["Lagrum"].notna()].copy()
    placed["form"] = placed["Insatstyp"].replace({"Jourhem": "Familjehem"})
    # Ongoing placements (blank end) run to the end of the data.
    end = placed["Slutdatum"].fillna(pd.Timestamp(YEARS[-1], 12, 31)).clip(upper=pd.Timestamp(YEARS[-1], 12, 31))
    for year in (2019, 2020):
        lo, hi = pd.Timestamp(year, 1, 1), pd.Timestamp(year, 12, 31)
        days = ((end.clip(upper=hi) - placed["Startdatum"].clip(lower=lo)).dt.days + 1).clip(lower=0)
        expected = days.groupby(placed["form"]).sum()
        k = kost[pd.to_datetime(kost["Månad"]).dt.year == year]
        got = k[k["Placeringsform"] != "Öppenvård"].groupby("Placeringsform")["Vårddygn"].sum()
        assert got.to_dict() == expected[expected > 0].to_dict()
    hvb = kost[(kost["Placeringsform"] == "HVB") & (kost["Avtalstyp"] == "Generellt avtal")]
    y = hvb.groupby(pd.to_datetime(hvb["Månad"]).dt.year)[["Kostnad kr", "Vårddygn"]].sum()
    price = y["Kostnad kr"] / y["Vårddygn"]
    assert round(100 * (price[2020] / price[2018] - 1)) == 32
    b = budget.groupby(["År", "Budgetpost"])["Budget kr"].sum()
    assert b[(2020, "Tillskott")] == 52_000_000
    cost20 = kost[(pd.to_datetime(kost["Månad"]).dt.year == 2020) & (kost["Placeringsform"] != "Öppenvård")]["Kostnad kr"].sum()
    assert b.loc[2020].sum() < cost20 and round(cost20, -6) == 150_000_000
