"""Reproduction: every inflow, outcomes and placements figure of the 2021 report comes out of the
pipeline as published (and every economy figure).

Each chapter notebook is executed with papermill on freshly generated demo data (report year 2020)
and its key figures are compared with ``shared/reference/published_figures.csv`` (chapters
``inflow``, ``outcomes`` and ``placements``) to the report's own rounding: as many decimals as the published value
has. The few figures that cannot be compared that way are listed in ``SPECIAL`` with the reason.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pandas as pd
import papermill as pm
import pytest

from helpers.config import PATHS, YEARS_DEMO

PUBLISHED = PATHS.shared_reference / "published_figures.csv"

# id → (rule, reason). Rules: "truncate" (the report truncates instead of rounding),
# "just_under" (the report says "knappt N"), "about" (a word like "hälften": within ±5 units),
# "not_reproducible" (the sources contradict each other; the computed value must differ and is reported).
SPECIAL: dict[str, tuple[str, str]] = {
    "inflow_sample_mar2021_repeat_person_share": ("truncate", "200/514 = 38,9 %; rapporten skriver 38 % (trunkerat)."),
    "inflow_0_12_bristande_omsorg_share": ("just_under", "Rapporten skriver 'knappt 80 %'."),
    "inflow_sample_mar2020_brott_utsatt_share_half": (
        "about",
        "'Hälften av dem': läses som hälften av de 23 pojkarna (12 av 23); 13 % av 109 (14 anmälningar) gäller brottslighet.",
    ),
    "inflow_sample_mar2021_brott_utsatt_persons": (
        "not_reproducible",
        "34 anmälda personer kan inte rymmas i 15 % av 191 anmälningar (29); vi behåller 15 % (derived_checks.md, avsnitt 4).",
    ),
    "outcomes_utredningar_after_anmalan_no_action_share": ("about", "Rapporten skriver 'Hälften'."),
    "outcomes_analys_bistand_enligt_plan_approx": ("about", "'dryga hälften' om 2019–2020 sammantaget."),
    "outcomes_analys_bistand_failed_approx": ("about", "'ungefär en fjärdedel' om 2019–2020 sammantaget."),
    "outcomes_analys_need_no_consent_approx": ("about", "'ca 30%': samma andel som 'ungefär 28 %', avrundad."),
    "outcomes_002_need_no_consent_share": ("about", "PM 2022 återger genomlysningens 'ca 30 %'."),
    "placements_hvb_dec2020_lvu2_or_2_3_share": (
        "not_reproducible",
        "64 % + 24,3 % + 11,8 % = 100,1 %: i antal 71 + 27 + 13 = 111, och 13/111 = 11,7 %; rapportens bas "
        "('där anledning var omsorgssvikt') ger inte 11,8 % heller (derived_checks.md, avsnitt 5).",
    ),
    "placements_analys_no_oppenvard_approx": ("about", "'Nästan 40%' (43 av 111 = 38,7 %)."),
    "placements_002_no_oppenvard_share": (
        "about", "PM 2022 återger genomlysningens 37 % som andelen utan prövad öppenvård; 37 % gäller båda villkoren."),
    "structural_ak9_pass_linkoping_2020": (
        "not_reproducible",
        "71,9 % är 'godkända betyg' 2020 ur OBS-rapporten, ett annat mått än kunskapskraven i alla ämnen: i samma "
        "serie som 70,9 % (2018/19) skulle 71,9 % motsäga att andelen minskat sedan 2016 (derived_checks.md, "
        "avsnitt 8). Kapitlet redovisar i stället kommunens skolor i extraktet läsåret 2019/20.",
    ),
    "structural_longterm_assistance_families_with_children_share": ("about", "Rapporten skriver 'hälften'."),
}

#: Chapter of the reference list → the chapter notebook and the stem of its key-figure file.
CHAPTERS = {"inflow": ("01_inflode.ipynb", "inflode"), "outcomes": ("02_utfall.ipynb", "utfall"),
            "placements": ("03_placeringar.ipynb", "placeringar"), "economy": ("04_ekonomi.ipynb", "ekonomi"),
            "structural": ("05_struktur.ipynb", "struktur")}


def published(chapter: str = "inflow") -> list[dict]:
    if not PUBLISHED.is_file():
        pytest.skip(f"{PUBLISHED} saknas (shared/ ska ligga bredvid repot)")
    with PUBLISHED.open(encoding="utf-8") as f:
        return [r for r in csv.DictReader(f) if r["chapter"] == chapter]


def decimals(value: str) -> int:
    return len(value.split(".")[1]) if "." in value else 0


#: The 2021 report used the March sample of 2021 beside its 2020 data: the documented cut-off.
CUTOFF_2021_REPORT = "2021-03-31"


def run_chapter(processed: Path, out: Path, year: int = 2020, data_cutoff: str = "",
                chapter: str = "inflow") -> pd.DataFrame:
    notebook, stem = CHAPTERS[chapter]
    out.mkdir(parents=True, exist_ok=True)
    pm.execute_notebook(
        str(PATHS.notebooks / notebook),
        str(out / notebook),
        parameters={"year": year, "processed_dir": str(processed), "output_dir": str(out),
                    "data_cutoff": data_cutoff},
        cwd=str(out),
        progress_bar=False,
    )
    return pd.read_csv(out / f"key_figures_{stem}.csv", keep_default_na=False, na_values=[""])


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    from helpers.data import ingest
    from helpers.data.synth import generate

    base = tmp_path_factory.mktemp("repro")
    generate.main(base / "raw")
    ingest.run(base / "raw", base / "processed")
    return base


@pytest.fixture(scope="module")
def key_figures(demo) -> pd.DataFrame:
    """The 2020 chapter as the 2021 report was made: with the cut-off 2021-03-31."""
    return run_chapter(demo / "processed", demo / "out", data_cutoff=CUTOFF_2021_REPORT)


@pytest.fixture(scope="module")
def outcome_figures(demo) -> pd.DataFrame:
    """The 2020 Utfall chapter (the cut-off does not change it: it uses data up to 31 December)."""
    return run_chapter(demo / "processed", demo / "out-utfall", data_cutoff=CUTOFF_2021_REPORT, chapter="outcomes")


@pytest.fixture(scope="module")
def placement_figures(demo) -> pd.DataFrame:
    """The 2020 Placeringar chapter (placements as known on 31 December 2020)."""
    return run_chapter(demo / "processed", demo / "out-placeringar", chapter="placements")


def check(rule: str, computed: float, published: float, ndec: int) -> bool:
    if rule == "round":
        return round(computed, ndec) == pytest.approx(published) or math.isclose(
            float(f"{computed:.{ndec}f}"), published
        )
    if rule == "truncate":
        return math.floor(computed * 10**ndec) / 10**ndec == pytest.approx(published)
    if rule == "just_under":
        return published - 1 <= computed < published
    if rule == "about":
        return abs(computed - published) <= 5
    raise ValueError(rule)


def compare(key_figures: pd.DataFrame, rows: list[dict]) -> None:
    computed = dict(zip(key_figures["id"], key_figures["value"], strict=True))
    failures, missing = [], []
    for row in rows:
        rid, pub_value = row["id"], float(row["value"])
        rule, _reason = SPECIAL.get(rid, ("round", ""))
        if rid not in computed:
            missing.append(rid)
            continue
        value = float(computed[rid])
        if rule == "not_reproducible":
            assert not math.isclose(value, pub_value), f"{rid} is listed as not reproducible but matches: update SPECIAL"
            continue
        if not check(rule, value, pub_value, decimals(row["value"])):
            failures.append(f"{rid}: computed {value}, published {row['value']} ({rule})")
    assert not missing, f"key figures missing from the chapter: {missing}"
    assert not failures, "\n".join(failures)


def test_every_inflow_figure_is_reproduced(key_figures):
    rows = published("inflow")
    assert len(rows) >= 50, "the reference lists every inflow figure of the report"
    compare(key_figures, rows)


def test_every_outcomes_figure_is_reproduced(outcome_figures):
    rows = published("outcomes")
    assert len(rows) >= 60, "the reference lists every outcomes figure of the report"
    compare(outcome_figures, rows)


def test_every_placements_figure_is_reproduced(placement_figures):
    rows = published("placements")
    assert len(rows) >= 30, "the reference lists every placements figure of the report"
    compare(placement_figures, rows)


@pytest.fixture(scope="module")
def economy_figures(demo) -> pd.DataFrame:
    """The 2020 Ekonomi chapter (economy up to December 2020, Kolada up to 2019)."""
    return run_chapter(demo / "processed", demo / "out-ekonomi", chapter="economy")


def test_every_economy_figure_is_reproduced(economy_figures):
    rows = published("economy")
    assert len(rows) >= 20, "the reference lists every economy figure of the report"
    compare(economy_figures, rows)


@pytest.fixture(scope="module")
def structural_figures(demo) -> pd.DataFrame:
    """The 2020 Strukturella faktorer chapter (files up to 2020, Kolada and school results up to 2019)."""
    return run_chapter(demo / "processed", demo / "out-struktur", chapter="structural")


def test_every_structural_figure_is_reproduced(structural_figures):
    """The report's structural figures (population, school, unemployment, bistånd, mental health, the
    forecast charts' horizons) at 2020. The area figure of the 2022 follow-up ('Skäggetorp 30 %',
    school year 2019/20) is the district of the 2020 file."""
    rows = published("structural")
    assert len(rows) >= 15, "the reference lists every structural figure of the report"
    compare(structural_figures, rows)


def test_structural_key_figures_are_well_formed(structural_figures):
    kf = structural_figures
    assert kf["id"].is_unique and (kf["chapter"] == "struktur").all()
    assert kf["data_cutoff"].isna().all() and (kf["year"] <= 2020).all()
    assert kf["value"].notna().all()


def test_placement_key_figures_are_well_formed(placement_figures):
    kf = placement_figures
    assert kf["id"].is_unique and (kf["chapter"] == "placeringar").all()
    assert kf["data_cutoff"].isna().all() and (kf["year"] <= 2020).all()
    assert kf["value"].notna().all()


def test_outcome_key_figures_are_well_formed(outcome_figures):
    assert outcome_figures["id"].is_unique and (outcome_figures["chapter"] == "utfall").all()
    assert outcome_figures["data_cutoff"].isna().all() and (outcome_figures["year"] <= 2020).all()
    assert outcome_figures["value"].notna().all()


def test_special_cases_are_real_published_ids():
    ids = {r["id"] for c in ("inflow", "outcomes", "placements", "economy", "structural") for r in published(c)}
    assert set(SPECIAL) <= ids


def test_key_figure_file_is_well_formed(key_figures):
    assert list(key_figures.columns) == ["id", "chapter", "year", "value", "unit", "label", "status", "data_cutoff"]
    late = key_figures[key_figures["id"].str.startswith("inflow_sample_mar2021_")]
    assert len(late) and (late["data_cutoff"] == CUTOFF_2021_REPORT).all()
    assert (key_figures.loc[~key_figures.index.isin(late.index), "data_cutoff"].isna()).all()
    assert key_figures["id"].is_unique
    assert (key_figures["chapter"] == "inflode").all()
    assert key_figures["value"].notna().all()


@pytest.mark.slow
def test_a_published_year_does_not_change_when_later_data_arrive(demo, key_figures, outcome_figures, tmp_path):
    """The 2020 key figures are the same whether the 2021–2022 extracts exist or not, apart from
    those labelled with the data cut-off (the March 2021 sample), and without the cut-off no
    figure uses data after 2020."""
    import shutil

    from helpers.data import ingest

    raw = tmp_path / "raw"
    raw.mkdir()
    for f in (demo / "raw").glob("*.xlsx"):
        if not any(str(y) in f.name for y in (2021, 2022)):
            shutil.copy2(f, raw / f.name)
    ingest.run(raw, tmp_path / "processed")
    early = run_chapter(tmp_path / "processed", tmp_path / "early", data_cutoff=CUTOFF_2021_REPORT)
    labelled = key_figures["data_cutoff"].notna()
    full = key_figures[~labelled].set_index("id")[["year", "value", "status"]]
    only = early[early["data_cutoff"].isna()].set_index("id")[["year", "value", "status"]]
    pd.testing.assert_frame_equal(full.sort_index(), only.sort_index())
    plain = run_chapter(demo / "processed", tmp_path / "plain")
    assert plain["data_cutoff"].isna().all() and (plain["year"] <= 2020).all()
    # Utfall: cases that ended (or started) after 2020 change nothing in the 2020 chapter.
    early_u = run_chapter(tmp_path / "processed", tmp_path / "early-utfall", chapter="outcomes")
    pd.testing.assert_frame_equal(outcome_figures.set_index("id").sort_index(), early_u.set_index("id").sort_index())
    # Placeringar: placements that ended (or started) after 2020 change nothing in the 2020 chapter.
    early_p = run_chapter(tmp_path / "processed", tmp_path / "early-placeringar", chapter="placements")
    late = run_chapter(demo / "processed", tmp_path / "late-placeringar", chapter="placements")
    pd.testing.assert_frame_equal(late.set_index("id").sort_index(), early_p.set_index("id").sort_index())
    # Strukturella faktorer: later files (and later years in the public series) change nothing in 2020.
    early_s = run_chapter(tmp_path / "processed", tmp_path / "early-struktur", chapter="structural")
    late_s = run_chapter(demo / "processed", tmp_path / "late-struktur", chapter="structural")
    pd.testing.assert_frame_equal(late_s.set_index("id").sort_index(), early_s.set_index("id").sort_index())


@pytest.mark.parametrize("chapter", sorted(CHAPTERS))
def test_notebook_reads_no_published_figures(chapter):
    notebook, stem = CHAPTERS[chapter]
    text = (PATHS.notebooks / notebook).read_text(encoding="utf-8")
    assert "published_figures" not in text and "targets.yaml" not in text
    module = stem
    assert Path(PATHS.root / "src" / "helpers" / "chapters" / f"{module}.py").read_text().count("published_figures") == 0


@pytest.mark.slow
@pytest.mark.parametrize("year", [2018, 2019, 2021, 2022])
def test_the_chapter_runs_for_every_demo_year(year, tmp_path):
    """The chapter executes for the other demo years, says which years it compares, and its
    key figures are for the year asked for."""
    out = tmp_path / "out"
    out.mkdir()
    pm.execute_notebook(
        str(PATHS.notebooks / "01_inflode.ipynb"),
        str(out / "01_inflode.ipynb"),
        parameters={"year": year, "processed_dir": str(PATHS.processed), "output_dir": str(out)},
        cwd=str(out),
        progress_bar=False,
    )
    kf = pd.read_csv(out / "key_figures_inflode.csv").set_index("id")
    assert kf.loc["inflow_aktualiseringar_total", "year"] == year
    text = (out / "01_inflode.ipynb").read_text(encoding="utf-8")
    from helpers.publishing.phrasing import years_sv

    earlier = list(range(max(YEARS_DEMO[0], year - 2), year))
    if earlier:
        assert f"Kapitlet avser **{year}** och jämför med {years_sv(earlier)}." in text
    else:  # the first year in the data has nothing to compare with, and says so without a trend
        assert f"Kapitlet avser **{year}**." in text and "ingen utveckling över år" in text


@pytest.mark.slow
@pytest.mark.parametrize("year", [2018, 2019, 2022])
def test_the_utfall_chapter_runs_for_other_demo_years(year, tmp_path):
    """The Utfall chapter executes for the first demo year (nothing to compare with, no follow-up
    year), a middle year and the last year; its key figures are for the year asked for."""
    kf = run_chapter(PATHS.processed, tmp_path / "out", year=year, chapter="outcomes").set_index("id")
    assert (kf["year"] <= year).all()
    assert kf.loc[f"outcomes_oppenvard_bistand_enligt_plan_share_{year}", "year"] == year
    text = (tmp_path / "out" / "02_utfall.ipynb").read_text(encoding="utf-8")
    assert f"Kapitlet avser **{year}**" in text
    if year == YEARS_DEMO[0]:
        assert "ingen uppföljning under ett helt år" in text


@pytest.mark.slow
@pytest.mark.parametrize("year", [2018, 2019, 2021, 2022])
def test_the_placeringar_chapter_runs_for_other_demo_years(year, tmp_path):
    """The Placeringar chapter executes for the first demo year (no year before), a year with the
    old registration practice and two with the new; its key figures are for the year asked for."""
    kf = run_chapter(PATHS.processed, tmp_path / "out", year=year, chapter="placements").set_index("id")
    assert (kf["year"] <= year).all() and kf.loc[f"placements_stock_total_{year}", "year"] == year
    text = (tmp_path / "out" / "03_placeringar.ipynb").read_text(encoding="utf-8")
    assert f"Kapitlet avser **{year}**" in text
    from helpers.data.contract import STODBOENDE_SEPARAT_FRAN

    practice = "registrerades som HVB" if year < STODBOENDE_SEPARAT_FRAN else "registreras som egen placeringsform"
    assert practice in text


@pytest.mark.slow
@pytest.mark.parametrize("year", [2018, 2019, 2022])
def test_the_ekonomi_chapter_runs_for_other_demo_years(year, tmp_path):
    """The Ekonomi chapter executes for the first demo year (no year before, no forecast base), a
    middle year and the last year; Kolada figures end the year before the report year."""
    kf = run_chapter(PATHS.processed, tmp_path / "out", year=year, chapter="economy").set_index("id")
    assert (kf["year"] <= year).all()
    assert not any(i.startswith("economy_netcost_bou_per_inhabitant_") and i.endswith(str(year)) for i in kf.index)
    text = (tmp_path / "out" / "04_ekonomi.ipynb").read_text(encoding="utf-8")
    assert "Kostnaden för heldygnsvård för barn och unga var" in text


@pytest.mark.slow
@pytest.mark.parametrize("year", [2018, 2019, 2022])
def test_the_struktur_chapter_runs_for_other_demo_years(year, tmp_path):
    """Strukturella faktorer for the first demo year (no earlier district year, no Kolada year of the
    school results' own extract), a middle year and the last year; Kolada ends the year before, and
    the forecast horizons follow the report year."""
    kf = run_chapter(PATHS.processed, tmp_path / "out", year=year, chapter="structural").set_index("id")
    assert (kf["year"] <= year).all()
    assert f"structural_chart_pop_forecast_linkoping_horizon_{year + 4}" in kf.index
    assert f"structural_ak9_all_subjects_linkoping_{year - 2}_{year - 1}" in kf.index
    text = (tmp_path / "out" / "05_struktur.ipynb").read_text(encoding="utf-8")
    assert f"Kapitlet avser **{year}**" in text
    assert f"till och med {year - 1}" in text and f"till och med {year}" not in text
