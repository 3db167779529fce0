"""The Strukturella faktorer chapter's computations (helpers.chapters.struktur) on small hand-made
frames, and the synthetic structural data's calibration (helpers.data.synth.struktur)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.chapters import struktur as S


def test_slug_folds_swedish_letters():
    assert S.slug("Skäggetorpskolan") == "skaggetorpskolan"
    assert S.slug("Östergötlands län") == "ostergotlands_lan"
    assert S.slug("Malmslätt") == "malmslatt"


def test_peak_run_and_falling_since():
    s = pd.Series({2014: 18, 2015: 22, 2016: 27, 2017: 37, 2018: 36, 2019: 26, 2020: 24})
    assert S.peak_run(s) == (2017, 2018)
    assert S.falling_since(pd.Series({2014: 76.1, 2016: 77.6, 2017: 75.2, 2018: 72.8, 2019: 70.9})) == 2016
    # a rise after the maximum: no "every year since"
    assert S.falling_since(pd.Series({2016: 77.6, 2017: 75.2, 2018: 76.0})) is None
    # the maximum is the last year: nothing has fallen
    assert S.falling_since(pd.Series({2016: 70.0, 2017: 71.0})) is None
    assert S.peak_run(pd.Series(dtype=float)) is None


def test_population_growth_by_five_year_group():
    rows = [{"region_id": "0580", "ar": y, "alder": a, "antal": 100 + (10 if (y == 2020 and 10 <= a <= 14) else 0)}
            for y in (2014, 2020) for a in range(20)]
    pop = S.population_by_group(pd.DataFrame(rows), 2020)
    g = S.population_growth(pop).set_index("aldersgrupp")
    assert g.loc["0-19", "start"] == 2000 and g.loc["0-19", "slut"] == 2050
    assert g.loc["10-14", "forandring"] == 50 and g.loc["0-4", "forandring"] == 0
    assert g.loc["0-19", "pct"] == pytest.approx(2.5)
    # a report for 2019 does not see 2020
    assert S.population_by_group(pd.DataFrame(rows), 2019)["ar"].max() == 2014


def test_forecast_change_includes_the_municipality():
    prog = pd.DataFrame({"ar": 2020, "stadsdel": ["A"] * 8 + ["B"] * 8, "prognosar": list(range(2020, 2028)) * 2,
                         "antal_0_18": [100 + 5 * k for k in range(8)] + [200 - 2 * k for k in range(8)]})
    fc = S.forecast_change(prog, 2020).set_index("stadsdel")
    assert fc.loc["A", "pct4"] == pytest.approx(20.0)
    assert fc.loc["B", "pct7"] == pytest.approx(-7.0)
    assert fc.loc[S.MUNICIPALITY, "bas"] == 300 and fc.loc[S.MUNICIPALITY, "h4"] == 120 + 192


def _skol(rows):
    return pd.DataFrame(rows, columns=["ar", "skola", "stadsdel", "kon", "elever", "uppnatt"])


def test_school_shares_follow_skolverkets_rule():
    s = _skol([(2019, "A-skolan", "Berga", "Flicka", 64, 21), (2019, "A-skolan", "Berga", "Pojke", 68, 19),
               (2019, "B-skolan", "Ryd", "Flicka", 6, 5), (2019, "B-skolan", "Ryd", "Pojke", 30, 20),
               (2019, "C-skolan", "Ryd", "Flicka", 4, 3), (2019, "C-skolan", "Ryd", "Pojke", 4, 2)])
    t = S.schools(s, 2019).set_index("skola")
    assert t.loc["A-skolan", "andel"] == pytest.approx(100 * 40 / 132)
    assert t.loc["A-skolan", "andel_flickor"] == pytest.approx(100 * 21 / 64)
    # one sex under ten pupils: both sexes hidden (the other would follow from the total)
    assert not np.isnan(t.loc["B-skolan", "andel"])
    assert np.isnan(t.loc["B-skolan", "andel_flickor"]) and np.isnan(t.loc["B-skolan", "andel_pojkar"])
    assert np.isnan(t.loc["C-skolan", "andel"])  # eight pupils in all
    d = S.district_school_share(s, 2019)
    assert d["Ryd"] == pytest.approx(100 * 30 / 44)


class _Pub:
    """Just enough of a Publisher: published values and marks per cell."""

    def __init__(self, values):
        self.values = values

    def value(self, c):
        v = self.values[c]
        return None if isinstance(v, str) else v

    def _mark(self, c):
        v = self.values[c]
        return v if isinstance(v, str) else ""


def test_protected_rates_hide_with_their_count():
    pub = _Pub({"a": 10, "b": "<5", "c": "x"})
    v, m = S.protected_rates(pub, ["a", "b", "c"], [2000, 1000, 500])
    assert v[0] == pytest.approx(5.0) and np.isnan(v[1]) and np.isnan(v[2])
    assert m == ["", "<5", "x"]


def _model_frame(rng, n_d=12, years=(2018, 2019, 2020), collinear=False, effect=0.2):
    rows = []
    for d in range(n_d):
        u = rng.uniform(0.2, 4)
        b = u * 0.8 + (0 if collinear else rng.uniform(0, 3))
        for y in years:
            pop = 2000
            rows.append({"ar": y, "stadsdel": f"D{d}", "pop": pop, "arbetsloshet_5pp": u, "bistand_1pp": b,
                         "n": int(rng.poisson(pop * 0.1 * np.exp(effect * u)))})
    return pd.DataFrame(rows)


def test_count_model_finds_a_district_association_and_reports_dispersion():
    m = S.fit_count_model(_model_frame(np.random.default_rng(1)))
    t = m.terms.set_index("term")
    assert set(t.index) == {"arbetsloshet_5pp", "bistand_1pp"}
    assert t.loc["arbetsloshet_5pp", "low"] > 1  # exp(0.2) ≈ 1.22 per step
    assert t.loc["bistand_1pp", "low"] < 1 < t.loc["bistand_1pp", "high"]  # no effect simulated
    assert m.dispersion < S.DISPERSION_LIMIT and not m.scaled


def test_count_model_keeps_one_of_two_collinear_factors_and_needs_enough_districts():
    m = S.fit_count_model(_model_frame(np.random.default_rng(2), collinear=True))
    assert abs(m.correlation) > S.COLLINEAR and list(m.terms["term"]) == ["arbetsloshet_5pp"]
    assert S.fit_count_model(_model_frame(np.random.default_rng(3), n_d=4)) is None
    assert S.fit_count_model(None) is None


def test_overdispersed_counts_widen_the_interval():
    rng = np.random.default_rng(4)
    d = _model_frame(rng)
    d["n"] = (d["n"] * rng.gamma(4, 0.25, len(d))).round().astype(int)  # extra-Poisson variation
    m = S.fit_count_model(d)
    assert m.dispersion > S.DISPERSION_LIMIT and m.scaled


def _cases(year_counts: dict[int, dict[str, int]]):
    """aktualiseringar (anmälan 0-17) per year and district, and the population."""
    rows, k = [], 0
    for y, per in year_counts.items():
        for area, n in per.items():
            for _ in range(n):
                k += 1
                rows.append({"ar": y, "aktualisering_id": f"A{k}", "person_id": f"P{k}",
                             "inkom_datum": pd.Timestamp(year=y, month=6, day=1), "aktualiseringstyp": "Anmälan 0-17",
                             "kon": "Flicka", "alder": 10, "orsakskod": "A01", "anmalare": "skola",
                             "stadsdel": area, "beslut": "utredning"})
    akt = pd.DataFrame(rows)
    bef = pd.DataFrame([{"ar": y, "stadsdel": a, "aldersgrupp": "6-12", "antal": 1000}
                        for y in year_counts for a in ("Berga", "Ryd")])
    return akt, bef


def test_expected_inflow_scales_the_rate_with_the_forecast():
    akt, bef = _cases({2019: {"Berga": 100, "Ryd": 50}, 2020: {"Berga": 100, "Ryd": 50}})
    prog = pd.DataFrame({"ar": 2020, "stadsdel": ["Berga"] * 5 + ["Ryd"] * 5, "prognosar": list(range(2020, 2025)) * 2,
                         "antal_0_18": [1000, 1100, 1200, 1300, 1400, 1000, 1000, 1000, 1000, 900]})
    ex = S.expected_inflow(akt, bef, prog, 2020).set_index(["ar", "stadsdel"])
    assert ex.loc[(2024, "Berga"), "forvantat"] == pytest.approx(140.0)  # 0,1 per child × 1 400
    assert ex.loc[(2024, "Ryd"), "forvantat"] == pytest.approx(45.0)
    assert ex.loc[(2024, S.MUNICIPALITY), "forvantat"] == pytest.approx(185.0)
    lo, hi = ex.loc[(2024, "Berga"), ["lag", "hog"]]
    assert lo < 140 < hi and hi - lo > 2 * 1.96 * np.sqrt(140) * 0.9  # at least the Poisson spread
    assert ex["bas_ar"].iloc[0] == "2019–2020"
    # a report for 2020 never reads the 2021 cases
    akt2, bef2 = _cases({2019: {"Berga": 100, "Ryd": 50}, 2020: {"Berga": 100, "Ryd": 50}, 2021: {"Berga": 500, "Ryd": 5}})
    ex2 = S.expected_inflow(akt2, bef2, prog, 2020).set_index(["ar", "stadsdel"])
    assert ex2.loc[(2024, "Berga"), "forvantat"] == pytest.approx(140.0)


# --- the synthetic structural data ---------------------------------------------------------------


def test_synthetic_population_and_factors_are_calibrated():
    from helpers.data.synth import generate
    from helpers.data.synth import struktur as SS

    t = generate.load_targets()
    p = SS.scb_population(t)
    assert round(100 * (sum(p[2020]) / sum(p[2014]) - 1)) == 9
    growth = {g: sum(p[2020][lo:hi + 1]) - sum(p[2014][lo:hi + 1]) for g, (lo, hi) in S.FIVE_YEAR_GROUPS.items()}
    assert max(growth, key=growth.get) == "10-14"
    rows = SS.arbetsloshet_rows(t, 2020)
    share = {r[0]: 100 * r[2] / r[1] for r in rows}
    assert round(share["Skäggetorp"], 1) == 20.7 and round(share["Berga"], 1) == 12.8
    assert round(100 * sum(r[2] for r in rows) / sum(r[1] for r in rows), 1) == 5.4
    sk = [r for r in SS.skol_rows(t, 2019) if r[0] == "Skäggetorpskolan"]
    assert round(100 * sum(r[4] for r in sk) / sum(r[3] for r in sk), 1) == 30.3
    # the district population of the other chapters is the SCB total from the first extract year
    kids = sum(n for g in SS.district_population(t, 2020).values() for ag, n in g.items() if ag != "18-20")
    assert abs(sum(p[2020][:18]) - kids) / kids < 0.02


def test_kontrast_structural_data_point_other_ways():
    from helpers.data.synth import generate
    from helpers.data.synth import struktur as SS

    t = generate.load_targets("kontrast")
    p = SS.scb_population(t)
    assert sum(p[2020]) < sum(p[2014])
    share = {r[0]: r[2] / r[1] for r in SS.arbetsloshet_rows(t, 2020)}
    assert share["Berga"] > share["Skäggetorp"]
    fc = {r[0]: r[2] for r in SS.prognos_rows(t, 2020) if r[1] == 2027}
    base = {r[0]: r[2] for r in SS.prognos_rows(t, 2020) if r[1] == 2020}
    assert fc["Skäggetorp"] < base["Skäggetorp"] and fc["Lambohov"] > base["Lambohov"]
