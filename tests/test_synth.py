"""The synthetic data: deterministic, contract-valid, synthetic identifiers only.

Three kinds of data are checked: the calibrated ``demo`` (byte for byte unchanged), the
``kontrast`` scenario (a municipality that contradicts every data-dependent sentence the chapter
could have hard-coded) and volumes scaled down to a small municipality (``scale=0.06``). The
scenario properties are computed from the ingested ``data/processed`` tables with plain pandas
and the code lists, as a chapter would see them.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import zipfile

import openpyxl
import pandas as pd
import pytest

from helpers import cli
from helpers.config import PATHS
from helpers.data import codes, ingest, pnr
from helpers.data.synth import generate

YEARS = [2018, 2019, 2020, 2021, 2022]

#: sha256 of the demo extracts for 2020 as written before scenarios and scale were added
#: (openpyxl 3.1.5). The demo must stay byte-identical: the reproduction test is calibrated on it.
DEMO_2020_SHA256 = {
    "aktualiseringar_2020.xlsx": "935788ea0a7a7ae8a1d02eeef01562d1c31eaf350d13451831bdaa678c770268",
    "struktur_2020.xlsx": "d14e6059588555ba88c82f981a9813ce6568c5d1c7fd6047f6c4a58da8eec44d",
}


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
    assert files == ["aktualiseringar_2020.xlsx", "struktur_2020.xlsx"]
    assert all(digest(a / f) == digest(b / f) for f in files)


def test_demo_is_unchanged(raw_twice):
    a, _ = raw_twice
    assert {f: digest(a / f) for f in DEMO_2020_SHA256} == DEMO_2020_SHA256
    assert "keywords" not in core_xml(a / "aktualiseringar_2020.xlsx"), "the plain demo names no scenario"


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
    generate.main(tmp_path, [2021], scenario="kontrast", scale=0.06)
    for f in ("aktualiseringar_2021.xlsx", "struktur_2021.xlsx"):
        assert digest(tmp_path / f) == digest(kontrast_small.raw / f)


# --- replacing data/raw and the command line --------------------------------------------------


def test_replace_refuses_real_extracts_and_replaces_synthetic(tmp_path):
    raw = tmp_path / "raw"
    generate.main(raw, [2021], scenario="kontrast", scale=0.06)
    (raw / "README.md").write_text("anteckning\n")
    written = generate.replace(raw, scenario="demo", scale=0.06)
    assert sorted(p.name for p in raw.glob("*.xlsx")) == sorted(p.name for p in written)
    assert len(written) == 10 and (raw / "README.md").is_file()
    assert all("scenario=demo; scale=0.06" in core_xml(p) for p in written)
    assert not [p for p in raw.iterdir() if p.name.startswith(".synth-")]

    wb = openpyxl.Workbook()
    wb.save(raw / "aktualiseringar_2023.xlsx")  # not written by the generator: a "real" extract
    before = {p.name: digest(p) for p in raw.glob("*.xlsx")}
    with pytest.raises(generate.NotSyntheticError, match="aktualiseringar_2023.xlsx"):
        generate.replace(raw, scenario="kontrast")
    assert {p.name: digest(p) for p in raw.glob("*.xlsx")} == before


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
    assert manifest["synthetic"] is True and len(manifest["inputs"]) == 10
