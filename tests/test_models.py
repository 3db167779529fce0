"""The checked logistic model (helpers.analysis.models)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from helpers.analysis import models


def expit(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def simulate(n: int, seed: int) -> tuple[pd.DataFrame, dict[tuple[str, object], float]]:
    """Outcome with known odds ratios: grupp B 2.0 and C 0.5 against A, 1.5 per unit of x."""
    rng = np.random.default_rng(seed)
    grupp = rng.choice(["A", "B", "C"], n, p=[0.5, 0.3, 0.2])
    x = rng.normal(0, 1, n)
    eta = -1.0 + np.log(2.0) * (grupp == "B") + np.log(0.5) * (grupp == "C") + np.log(1.5) * x
    y = (rng.random(n) < expit(eta)).astype(int)
    truth = {("grupp", "B"): 2.0, ("grupp", "C"): 0.5, ("x", None): 1.5}
    return pd.DataFrame({"y": y, "grupp": grupp, "x": x}), truth


def row(table: pd.DataFrame, variable: str, level: object) -> pd.Series:
    if level is None:
        hit = table[(table["variable"] == variable) & table["level"].isna()]
    else:
        hit = table[(table["variable"] == variable) & (table["level"] == level)]
    assert len(hit) == 1, hit
    return hit.iloc[0]


def test_known_odds_ratios_are_recovered():
    df, truth = simulate(4000, seed=1)
    res = models.fit_logistic(df, "y", ["grupp", "x"])
    assert res.usable, res.problems
    assert res.problems == []
    assert (res.n, res.events, res.parameters, res.dropped_rows) == (
        4000, int(df["y"].sum()), 3, 0
    )  # fmt: skip
    assert res.reference_levels == {"grupp": "A"}
    assert list(res.table.columns) == [
        "variable", "level", "reference", "n", "events", "odds_ratio", "low", "high", "p"
    ]  # fmt: skip
    for (var, level), true_or in truth.items():
        r = row(res.table, var, level)
        assert r["low"] < true_or < r["high"], (var, level, r.to_dict())
        assert r["low"] < r["odds_ratio"] < r["high"]
    ref = row(res.table, "grupp", "A")
    assert ref["reference"] and ref["odds_ratio"] == ref["low"] == ref["high"] == 1
    assert math.isnan(ref["p"])
    assert list(res.table["level"].iloc[:3]) == ["A", "B", "C"]
    assert res.table.loc[res.table["variable"] == "grupp", "n"].sum() == 4000
    assert row(res.table, "grupp", "B")["events"] == int(df.loc[df["grupp"] == "B", "y"].sum())
    assert res.events_per_parameter == pytest.approx(min(res.events, 4000 - res.events) / 3)
    assert not res.separation and res.converged
    assert res.lr_test.df == 3 and res.lr_test.pvalue < 1e-10
    assert res.hosmer_lemeshow.groups == 10 and res.hosmer_lemeshow.df == 8
    assert len(res.limits) == 4 and any("ärenden, inte barn" in s for s in res.limits)
    assert len(models.fit_logistic(df, "y", ["grupp"], per_child=True).limits) == 3


def test_reference_bool_and_category_predictors():
    df, _ = simulate(2000, seed=2)
    df["flicka"] = np.random.default_rng(5).random(2000) < 0.3
    df["grupp"] = pd.Categorical(df["grupp"], categories=["C", "B", "A"])
    res = models.fit_logistic(df, "y", ["grupp", "flicka"], reference={"grupp": "B"})
    assert res.reference_levels == {"grupp": "B", "flicka": False}
    assert type(res.reference_levels["flicka"]) is bool
    grupp = res.table[res.table["variable"] == "grupp"]
    assert list(grupp["level"]) == ["B", "C", "A"]  # reference first, then category order
    assert list(res.table.loc[res.table["variable"] == "flicka", "level"]) == [False, True]
    with pytest.raises(ValueError, match="referensnivån"):
        models.fit_logistic(df, "y", ["grupp"], reference={"grupp": "Z"})
    with pytest.raises(KeyError):
        models.fit_logistic(df, "y", ["saknas"])
    with pytest.raises(ValueError):
        models.fit_logistic(df.assign(y=df["y"] * 2), "y", ["grupp"])


def test_separation_makes_the_model_unusable():
    rng = np.random.default_rng(3)
    n = 600
    grupp = np.where(np.arange(n) < 60, "B", "A")
    y = np.where(grupp == "B", 1, (rng.random(n) < 0.4).astype(int))  # every B has the outcome
    df = pd.DataFrame({"y": y, "grupp": grupp, "x": rng.normal(size=n)})
    res = models.fit_logistic(df, "y", ["grupp", "x"])
    assert not res.usable and res.separation
    assert any(p.startswith("Separation") and "”B”" in p for p in res.problems)
    # The estimates are still there to inspect.
    assert row(res.table, "grupp", "B")["odds_ratio"] > 1000


def test_complete_separation_by_a_numeric_predictor():
    x = np.linspace(-3, 3, 400)
    df = pd.DataFrame({"y": (x > 0).astype(int), "x": x})
    res = models.fit_logistic(df, "y", ["x"])
    assert not res.usable and res.separation
    assert any("eparation" in p for p in res.problems)


def test_too_few_events():
    df, _ = simulate(400, seed=4)
    rng = np.random.default_rng(40)
    df["y"] = (rng.random(400) < 0.06).astype(int)
    res = models.fit_logistic(df, "y", ["grupp", "x"])
    assert not res.separation  # the only problem is the number of events
    assert len(res.problems) == 1
    epp = min(res.events, res.n - res.events) / 3
    assert epp < 10
    assert not res.usable
    expected = f"För få utfall per skattad parameter ({epp:.1f}".replace(".", ",")
    assert any(p.startswith(expected) and p.endswith("minst 10 krävs).") for p in res.problems)
    assert res.events_per_parameter == pytest.approx(epp)
    assert not res.table["odds_ratio"].isna().any()  # still fitted, for inspection


def test_small_levels_are_merged_into_ovriga():
    df, _ = simulate(1000, seed=6)
    df.loc[df.index[:12], "grupp"] = "D"
    df.loc[df.index[12:27], "grupp"] = "E"  # D 12 + E 15 = 27 >= 20: kept as Övriga
    res = models.fit_logistic(df, "y", ["grupp", "x"])
    assert res.merged_levels == {"grupp": {"D": "Övriga", "E": "Övriga"}}
    assert list(res.table.loc[res.table["variable"] == "grupp", "level"]) == [
        "A", "B", "C", "Övriga"
    ]  # fmt: skip
    assert row(res.table, "grupp", "Övriga")["n"] == 27
    assert res.parameters == 4


def test_small_ovriga_is_merged_into_the_reference():
    df, _ = simulate(1000, seed=6)
    df.loc[df.index[:5], "grupp"] = "D"
    df.loc[df.index[5:13], "grupp"] = "E"  # 13 < 20: into the reference A
    n_a = int((df["grupp"] == "A").sum())
    res = models.fit_logistic(df, "y", ["grupp", "x"])
    assert res.merged_levels == {"grupp": {"D": "A", "E": "A"}}
    assert list(res.table.loc[res.table["variable"] == "grupp", "level"]) == ["A", "B", "C"]
    assert row(res.table, "grupp", "A")["n"] == n_a + 13
    assert res.parameters == 3


def test_a_predictor_with_one_level_left_is_a_problem():
    df, _ = simulate(300, seed=8)
    df["kommun"] = np.where(np.arange(300) < 290, "X", "Y")
    res = models.fit_logistic(df, "y", ["kommun", "x"])
    assert res.merged_levels == {"kommun": {"Y": "X"}}
    assert not res.usable and any(p.startswith("kommun har bara en nivå") for p in res.problems)
    assert list(res.table["variable"]) == ["x"]


def test_missing_rows_are_dropped_and_counted():
    df, _ = simulate(1500, seed=9)
    df["grupp"] = df["grupp"].astype(object)
    df.loc[df.index[:7], "y"] = np.nan
    df.loc[df.index[5:20], "grupp"] = None
    df.loc[df.index[30:33], "x"] = np.nan
    df["annat"] = np.nan  # a column that is not in the model does not matter
    res = models.fit_logistic(df, "y", ["grupp", "x"])
    assert res.dropped_rows == 20 + 3
    assert res.n == 1500 - 23
    assert res.results.nobs == res.n


def test_hosmer_lemeshow_accepts_a_correct_and_rejects_a_wrong_model():
    rng = np.random.default_rng(10)
    n = 20_000
    x = rng.uniform(-2, 2, n)
    correct = pd.DataFrame({"y": (rng.random(n) < expit(-0.5 + 0.8 * x)).astype(int), "x": x})
    good = models.fit_logistic(correct, "y", ["x"])
    assert good.hosmer_lemeshow.pvalue > 0.05
    assert good.usable, good.problems

    # The true model is quadratic in x; a linear term cannot describe it.
    wrong = pd.DataFrame({"y": (rng.random(n) < expit(-1.5 + 0.9 * x**2)).astype(int), "x": x})
    bad = models.fit_logistic(wrong, "y", ["x"])
    assert bad.hosmer_lemeshow.pvalue < 0.001
    assert not bad.usable
    assert "Modellen passar inte data (Hosmer–Lemeshow p < 0,001)." in bad.problems


def test_hosmer_lemeshow_by_hand_and_few_distinct_predictions():
    y = np.array([0, 1, 0, 1, 1, 0, 1, 1, 1, 0, 0, 1])
    p = np.array([0.2, 0.2, 0.2, 0.2, 0.5, 0.5, 0.5, 0.5, 0.8, 0.8, 0.8, 0.8])
    hl = models.hosmer_lemeshow(y, p)
    assert hl.groups == 3 and hl.df == 1
    # groups: O = 2, 3, 2; E = 0.8, 2.0, 3.2; n = 4
    stat = sum((o - e) ** 2 / (e * (1 - e / 4)) for o, e in [(2, 0.8), (3, 2.0), (2, 3.2)])
    assert hl.statistic == pytest.approx(stat)
    two = models.hosmer_lemeshow(y[:8], p[:8])
    assert two.df == 0 and math.isnan(two.pvalue)
