"""Swedish claims chosen from the numbers (helpers.publishing.phrasing)."""

from __future__ import annotations

import math
import random
import re

import pytest

from helpers.analysis import stats
from helpers.publishing import phrasing as ph

NB = "\u00a0"
MINUS = "\u2212"
EN = "\u2013"

YEARS = {"year1": 2020, "year0": 2019}


def _assert_clean(text: str) -> None:
    """Rules every generated text must keep."""
    assert "gånger fler" not in text
    assert ".." not in text
    assert not re.search(r"\d-\d", text), text  # ranges take an en dash
    assert not re.search(r"(?<![\w])-\d", text), text  # negatives take the minus sign
    assert not re.search(r"\d %", text), text  # no-break space before %
    assert not re.search(r"\d procentenhet", text), text
    assert not re.search(r"\d \d{3}(?!\d)", text), text  # thousands with a no-break space
    assert "ökade med " + MINUS not in text and "ökat med " + MINUS not in text


# --- small words --------------------------------------------------------------------------------


def test_join_sv():
    assert ph.join_sv(["a", "b", "c"]) == "a, b och c"
    assert ph.join_sv(["a", "b"]) == "a och b"
    assert ph.join_sv(["a"]) == "a"
    assert ph.join_sv([]) == ""


def test_years_and_ranges():
    assert ph.years_sv([2018, 2019]) == "2018 och 2019"
    assert ph.years_sv([2019, 2018, 2019]) == "2018 och 2019"
    assert ph.years_sv([2016, 2017, 2018, 2020]) == f"2016{EN}2018 och 2020"
    assert ph.years_sv([2020]) == "2020"
    assert ph.years_sv([]) == ""
    assert ph.range_sv(2018, 2022) == f"2018{EN}2022"
    assert ph.range_sv(0, 17) == f"0{EN}17"
    assert ph.range_sv(2020, 2020) == "2020"


@pytest.mark.parametrize(
    ("p", "alpha", "expected"),
    [
        (0.0123, None, "p = 0,012"),
        (0.0004, None, "p < 0,001"),
        (0.001, None, "p = 0,001"),
        (0.554, None, "p = 0,554"),
        (1.0, None, "p = 1,000"),
        (0.0496, 0.05, "p < 0,05"),  # would round to the threshold
        (0.0496, None, "p = 0,050"),
    ],
)
def test_pvalue_sv(p, alpha, expected):
    assert ph.pvalue_sv(p, alpha) == expected


@pytest.mark.parametrize("bad", [None, float("nan"), -0.1, 1.5])
def test_pvalue_sv_rejects(bad):
    with pytest.raises(ValueError):
        ph.pvalue_sv(bad)


def test_sentence_never_doubles_the_period():
    assert ph.sentence("andelen ökade") == "Andelen ökade."
    assert ph.sentence("andelen ökade.") == "Andelen ökade."
    assert ph.sentence("andelen ökade..") == "Andelen ökade."
    assert ph.sentence("") == ""


@pytest.mark.parametrize(
    ("share", "word"),
    [
        (0, "ingen"),
        (0.04, "ingen"),  # rounds to 0,0
        (3, "en liten andel"),
        (10, "en minoritet"),
        (39.9, "en minoritet"),
        (45, "knappt hälften"),
        (50, "hälften"),
        (50.04, "hälften"),
        (50.1, "drygt hälften"),
        (60, "de flesta"),
        (89.9, "de flesta"),
        (90, "nästan alla"),
        (99.9, "nästan alla"),
        (100, "alla"),
    ],
)
def test_quantifier(share, word):
    assert ph.quantifier(share) == word


@pytest.mark.parametrize("bad", [None, float("nan"), -1, 101])
def test_quantifier_rejects(bad):
    with pytest.raises(ValueError):
        ph.quantifier(bad)


# --- ratios -------------------------------------------------------------------------------------


def test_ratio_text():
    assert (
        ph.ratio_text(1.4167, 1.21, 1.66) == f"1,42 (95{NB}%-igt konfidensintervall 1,21{EN}1,66)"
    )
    assert ph.ratio_text(1.4167) == "1,42"
    assert ph.ratio_text(1.4167, float("nan"), float("nan")) == "1,42"
    assert ph.ratio_text(None) == EN


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((2.1, 1.5, 2.9), "2,1 gånger så många"),
        ((2.1,), "2,1 gånger så många"),
        ((1.3, 0.9, 1.8), "ungefär lika många"),  # interval covers 1
        ((1.02,), "ungefär lika många"),  # rounds to 1,0
        ((0.6, 0.4, 0.8), "0,6 gånger så många"),
        ((0.5, 0.3, 0.7), "hälften så många"),
        ((2.0, 1.5, 2.5), "dubbelt så många"),
        ((1540.0 / 1000,), "1,5 gånger så många"),
        ((0.08, 0.05, 0.14), "0,08 gånger så många"),
        ((0.0,), "inga"),
    ],
)
def test_times_as_many(args, expected):
    assert ph.times_as_many(*args) == expected


def test_times_as_many_other_word_and_errors():
    assert ph.times_as_many(3.0, word="hög") == "3,0 gånger så hög"
    with pytest.raises(ValueError):
        ph.times_as_many(None)
    with pytest.raises(ValueError):
        ph.times_as_many(-1)


# --- two shares ---------------------------------------------------------------------------------


def test_compare_shares_up_exact():
    c = ph.compare_shares(300, 2000, 246, 2000, subject="andelen", **YEARS)
    assert c.text == (
        f"andelen ökade från 12,3{NB}% år 2019 till 15,0{NB}% år 2020 "
        f"(+2,7{NB}procentenheter; p = 0,013)"
    )
    assert (c.kind, c.direction, c.test, c.significant) == (
        "share_change",
        "up",
        "two_proportion_z",
        True,
    )
    assert c.pvalue == pytest.approx(stats.two_proportion_test(300, 2000, 246, 2000).pvalue)
    assert str(c) == c.text
    assert c.values["diff_pp"] == pytest.approx(2.7)


def test_compare_shares_down_exact():
    c = ph.compare_shares(246, 2000, 300, 2000, subject="andelen", **YEARS)
    assert c.text == (
        f"andelen minskade från 15,0{NB}% år 2019 till 12,3{NB}% år 2020 "
        f"({MINUS}2,7{NB}procentenheter; p = 0,013)"
    )
    assert c.direction == "down" and c.significant


def test_compare_shares_not_significant():
    c = ph.compare_shares(124, 1000, 123, 1000, subject="andelen", **YEARS)
    assert c.text == (
        f"andelen var 12,4{NB}% år 2020 mot 12,3{NB}% år 2019, en skillnad inom den "
        f"slumpmässiga variationen (p = 0,946)"
    )
    assert c.direction == "up" and c.significant is False
    assert "ökade" not in c.text


def test_compare_shares_small_significant_change_is_marginal():
    big = ph.compare_shares(12300, 100000, 12000, 100000, subject="andelen", min_pp=1, **YEARS)
    assert big.significant and big.direction == "up"
    assert "ökade" not in big.text and "marginellt" in big.text
    # without min_pp the same numbers get the verb
    assert (
        "ökade" in ph.compare_shares(12300, 100000, 12000, 100000, subject="andelen", **YEARS).text
    )


def test_compare_shares_tie_and_zero():
    tie = ph.compare_shares(123, 1000, 246, 2000, subject="andelen", **YEARS)
    assert tie.direction == "same"
    assert tie.text == f"andelen låg kvar på 12,3{NB}% både år 2019 och år 2020"
    zero = ph.compare_shares(0, 50, 0, 40, subject="andelen", **YEARS)
    assert zero.direction == "same" and "0,0" in zero.text
    empty = ph.compare_shares(0, 0, 12, 100, subject="andelen", **YEARS)
    assert empty.direction == "none" and empty.significant is None
    assert "kan inte jämföras" in empty.text and "år 2020" in empty.text


@pytest.mark.parametrize("args", [(None, 100, 5, 100), (5, None, 5, 100), (5, 100, None, 100)])
def test_compare_shares_hidden(args):
    c = ph.compare_shares(*args, subject="andelen", **YEARS)
    assert c.direction == "hidden" and c.pvalue is None
    assert ph.HIDDEN_REASON in c.text


def test_compare_shares_rejects_impossible_counts():
    with pytest.raises(ValueError):
        ph.compare_shares(11, 10, 1, 10, subject="andelen", **YEARS)


def test_level_share():
    c = ph.level_share(123, 1000, subject="andelen", year=2020)
    assert (
        c.text
        == f"andelen var 12,3{NB}% år 2020 (95{NB}%-igt konfidensintervall 10,4{EN}14,5{NB}%)"
    )
    assert ph.level_share(None, 1000, subject="andelen", year=2020).direction == "hidden"
    assert "saknas underlag" in ph.level_share(0, 0, subject="andelen", year=2020).text


# --- two counts ---------------------------------------------------------------------------------


def test_compare_counts_up_exact():
    c = ph.compare_counts(1890, 1704, subject="antalet anmälningar", **YEARS)
    assert c.text == (
        f"antalet anmälningar ökade från 1{NB}704 år 2019 till 1{NB}890 år 2020, "
        f"en ökning med 11{NB}% (p = 0,002)"
    )
    assert (c.kind, c.direction, c.test, c.significant) == (
        "count_change",
        "up",
        "poisson_exact",
        True,
    )


def test_compare_counts_down_and_not_significant():
    down = ph.compare_counts(1500, 1704, subject="antalet", **YEARS)
    assert down.direction == "down" and down.significant
    assert (
        f"minskade från 1{NB}704 år 2019 till 1{NB}500 år 2020, en minskning med 12{NB}%"
        in down.text
    )
    same = ph.compare_counts(1720, 1704, subject="antalet", **YEARS)
    assert same.significant is False and same.direction == "up"
    assert same.text == (
        f"antalet var 1{NB}720 år 2020 mot 1{NB}704 år 2019, en skillnad inom den slumpmässiga "
        f"variationen (p = 0,798)"
    )


def test_compare_counts_poisson_test_is_conditional_binomial():
    from scipy.stats import binomtest

    c = ph.compare_counts(30, 18, subject="antalet", **YEARS)
    assert c.pvalue == pytest.approx(binomtest(30, 48, 0.5).pvalue)
    r = ph.compare_counts(30, 18, subject="antalet", exposure1=2000, exposure0=1000, **YEARS)
    assert r.pvalue == pytest.approx(binomtest(30, 48, 2 / 3).pvalue)
    assert r.direction == "down"  # 15 per 1 000 against 18 per 1 000


def test_compare_counts_ties_zero_hidden():
    tie = ph.compare_counts(40, 40, subject="antalet", **YEARS)
    assert tie.direction == "same" and tie.text == "antalet låg kvar på 40 både år 2019 och år 2020"
    zero = ph.compare_counts(0, 0, subject="antalet", **YEARS)
    assert zero.direction == "same" and zero.test is None
    new = ph.compare_counts(12, 0, subject="antalet", **YEARS)
    assert new.direction == "up" and "från 0 år 2019 till 12 år 2020" in new.text
    assert "inf" not in new.text and "∞" not in new.text
    hidden = ph.compare_counts(None, 40, subject="antalet", **YEARS)
    assert hidden.direction == "hidden" and "redovisas inte" in hidden.text
    hidden_exp = ph.compare_counts(
        40, 40, subject="antalet", exposure1=None, exposure0=100, **YEARS
    )
    assert hidden_exp.direction == "hidden"


def test_compare_counts_rates():
    c = ph.compare_counts(
        500, 400, subject="anmälningarna", exposure1=11000, exposure0=10500,
        unit="per 1 000 barn", **YEARS,
    )  # fmt: skip
    assert c.text.startswith(
        f"anmälningarna ökade från 38,1 per 1{NB}000 barn år 2019 till 45,5 år 2020, "
        f"en ökning med 19{NB}%"
    )


def test_compare_rates():
    c = ph.compare_rates(500, 10000, 800, 40000, subject="anmälningarna per barn",
                         group1="i de utsatta områdena", group0="i övriga områden")  # fmt: skip
    assert c.text.startswith("anmälningarna per barn var 2,5 gånger så många i de utsatta områdena")
    assert f"(kvot 2,50; 95{NB}%-igt konfidensintervall " in c.text
    assert c.direction == "up" and c.significant
    even = ph.compare_rates(10, 1000, 9, 1000, subject="x", group1="i A", group0="i B")
    assert "ungefär lika många" in even.text and even.significant is False
    assert (
        ph.compare_rates(None, 1, 2, 3, subject="x", group1="a", group0="b").direction == "hidden"
    )


# --- rank ---------------------------------------------------------------------------------------


AREAS = {"Skäggetorp": 41.2, "Berga": 38.0, "Ryd": 30.1, "Lambohov": 12.0, "Vallastaden": None}


def test_rank_highest_and_lowest():
    c = ph.rank(AREAS)
    assert c.text == "högst i Skäggetorp, Berga och Ryd"
    assert c.values["hidden"] == ["Vallastaden"] and c.values["top"] == [
        "Skäggetorp",
        "Berga",
        "Ryd",
    ]
    assert ph.rank(AREAS, n=2, highest=False).text == "lägst i Lambohov och Ryd"
    assert (
        ph.rank(AREAS, n=1, subject="anmälningarna").text == "anmälningarna var högst i Skäggetorp"
    )


def test_rank_ties():
    tied = ph.rank(
        {"Berga": 41.2, "Skäggetorp": 41.2, "Ryd": 30.1, "Lambohov": 12.0}, show_values=True
    )
    assert tied.text == (
        "högst i Berga (41,2) och Skäggetorp (41,2), som delar förstaplatsen, följt av Ryd (30,1)"
    )
    boundary = ph.rank({"A": 3.0, "B": 2.0, "C": 1.0, "D": 1.0})
    assert boundary.values["top"] == ["A", "B", "C", "D"]  # the tie at place 3 is kept whole
    same = ph.rank({"A": 1.0, "B": 1.0})
    assert same.text == "lika i A och B" and same.direction == "same"
    # ties are on the shown (rounded) value
    assert "delar förstaplatsen" in ph.rank({"A": 41.21, "B": 41.24, "C": 3.0}, n=2).text


def test_rank_all_hidden():
    c = ph.rank({"A": None, "B": float("nan")})
    assert c.direction == "hidden" and "underlaget är litet" in c.text


# --- trend --------------------------------------------------------------------------------------


def test_trend_up_down_exact():
    up = ph.trend((1.037, 1.012, 1.063), subject="antalet anmälningar", start=2018, end=2022)
    assert up.text == (
        f"antalet anmälningar ökade med 3,7{NB}% per år under 2018{EN}2022 "
        f"(95{NB}%-igt konfidensintervall 1,2{EN}6,3{NB}%)"
    )
    down = ph.trend((0.963, 0.937, 0.988), subject="antalet anmälningar", start=2018, end=2022)
    assert down.text == (
        f"antalet anmälningar minskade med 3,7{NB}% per år under 2018{EN}2022 "
        f"(95{NB}%-igt konfidensintervall 1,2{EN}6,3{NB}%)"
    )
    assert (up.direction, down.direction) == ("up", "down")
    assert up.significant and down.significant


def test_trend_uncertain_and_model_check():
    flat = ph.trend((1.012, 0.98, 1.045), subject="antalet", start=2018, end=2022)
    assert flat.significant is False and "ingen säker förändring" in flat.text
    assert f"{MINUS}2,0{NB}% till +4,5{NB}%" in flat.text
    bad = ph.trend((1.2, 1.1, 1.3), subject="antalet", start=2018, end=2022, constant_fits=False,
                   check_test="lr_year_effects", check_pvalue=0.003)  # fmt: skip
    assert "en konstant årlig förändring beskriver inte åren väl" in bad.text
    assert "ökade" not in bad.text and bad.direction == "none"
    assert bad.test == "lr_year_effects" and bad.pvalue == 0.003
    assert ph.trend(None, subject="antalet", start=2018, end=2022).direction == "hidden"


def test_trend_from_model():
    class FakeModel:
        trend = stats.RateRatio(0.9, 0.85, 0.95)
        trend_pvalue = 0.0001
        family = "Poisson"

    c = ph.trend(FakeModel(), subject="antalet", start=2018, end=2022, constant_fits=True)
    assert c.pvalue == 0.0001 and c.direction == "down" and "minskade med 10,0" in c.text


# --- the claim log ------------------------------------------------------------------------------


def test_claim_log_round_trip(tmp_path):
    log = ph.ClaimLog("inflode")
    c = log.add(ph.compare_counts(1890, 1704, subject="antalet", **YEARS))
    assert c is log.claims[0]
    log.add(ph.compare_shares(None, 1, 1, 1, subject="andelen", **YEARS))
    log.add(ph.rank(AREAS))
    log.add(ph.compare_counts(12, 0, subject="antalet", **YEARS))  # infinite change
    path = log.to_json(tmp_path / "sub" / "claims.json")
    assert "Infinity" not in path.read_text(encoding="utf-8")
    back = ph.ClaimLog.read(path)
    assert back.chapter == "inflode" and len(back) == 4
    assert back.claims[3].values["change_pct"] is None
    assert [x.text for x in back] == [x.text for x in log]
    assert back.claims[0] == log.claims[0]
    with pytest.raises(TypeError):
        log.add("ökade")  # type: ignore[arg-type]


def test_claim_is_frozen_and_checks_direction():
    c = ph.compare_counts(10, 5, subject="antalet", **YEARS)
    with pytest.raises(AttributeError):
        c.text = "ökade"  # type: ignore[misc]
    with pytest.raises(ValueError):
        ph.Claim("x", "y", {}, "sideways", None, None, None, "t")  # type: ignore[arg-type]
    assert c.sentence().startswith("Antalet") and c.sentence().endswith(")."), c.sentence()


# --- property-style: the words always follow the numbers ---------------------------------------


def _check_words(c: ph.Claim) -> None:
    _assert_clean(c.text)
    if "ökade" in c.text:
        assert c.direction == "up" and c.significant is True, c
    if "minskade" in c.text:
        assert c.direction == "down" and c.significant is True, c
    if c.direction in ("up", "down") and c.significant and c.kind in ("count_change", "trend"):
        assert ("ökade" if c.direction == "up" else "minskade") in c.text, c
    if c.significant is False:
        assert "ökade" not in c.text and "minskade" not in c.text


def _maybe(rng: random.Random, x):
    return None if rng.random() < 0.05 else x


def test_random_shares_and_counts():
    rng = random.Random(20240601)
    for _ in range(400):
        n1, n0 = rng.choice([0, 5, 40, 300, 5000]), rng.choice([0, 7, 60, 1200, 80000])
        k1, k0 = rng.randint(0, n1), rng.randint(0, n0)
        c = ph.compare_shares(_maybe(rng, k1), n1, k0, _maybe(rng, n0), subject="andelen",
                              decimals=rng.choice([0, 1, 2]), **YEARS)  # fmt: skip
        _check_words(c)
        a, b = rng.choice([0, 3, 50, 1704, 25000]), rng.choice([0, 4, 60, 1890, 26000])
        a, b = rng.randint(0, a), rng.randint(0, b)
        exp = rng.random() < 0.5
        e1 = rng.uniform(100, 50000) if exp else None
        e0 = rng.uniform(100, 50000) if exp else None
        _check_words(ph.compare_counts(_maybe(rng, a), b, subject="antalet", exposure1=e1,
                                       exposure0=e0, **YEARS))  # fmt: skip


def test_random_trends_and_ratios():
    rng = random.Random(7)
    for _ in range(400):
        rr = math.exp(rng.gauss(0, 0.3))
        half = abs(rng.gauss(0, 0.2))
        low, high = rr * math.exp(-half), rr * math.exp(half)
        c = ph.trend((rr, low, high), subject="antalet", start=2018, end=2022,
                     constant_fits=rng.choice([True, None, False]))  # fmt: skip
        _check_words(c)
        if c.significant is False:
            assert "ingen säker förändring" in c.text
        words = ph.times_as_many(rr, low, high)
        _assert_clean(words)
        assert "fler" not in words
        if low <= 1 <= high:
            assert words == "ungefär lika många"
        k1, k0 = rng.randint(0, 500), rng.randint(1, 500)
        _check_words(ph.compare_rates(k1, rng.uniform(1e3, 1e5), k0, rng.uniform(1e3, 1e5),
                                      subject="x", group1="i A", group0="i B"))  # fmt: skip
        items = {
            f"O{i}": _maybe(rng, round(rng.uniform(0, 50), rng.choice([0, 1]))) for i in range(6)
        }
        _assert_clean(ph.rank(items, n=rng.randint(1, 4), highest=rng.random() < 0.5).text)


@pytest.mark.parametrize(("k", "n", "start"), [
    (180, 230, "de flesta av utredningarna ("),
    (50, 100, "hälften av utredningarna ("),
    (496, 1000, "knappt hälften av utredningarna ("),
    (0, 40, "ingen av utredningarna avslutades"),
    (40, 40, "alla av utredningarna avslutades"),
])
def test_quantity_word_follows_the_share(k, n, start):
    c = ph.quantity(k, n, whole="utredningarna", predicate="avslutades med insats")
    assert c.text.startswith(start) and c.text.endswith("avslutades med insats")
    assert c.kind == "quantity" and c.test is None
    if 0 < k < n:
        assert c.values["word"] == ph.quantifier(100 * k / n)


def test_quantity_hidden_and_empty():
    assert ph.quantity(None, 40, whole="utredningarna", predicate="x").direction == "hidden"
    assert ph.quantity(0, 0, whole="utredningarna", predicate="x").direction == "none"
    with pytest.raises(ValueError):
        ph.quantity(5, 4, whole="utredningarna", predicate="x")
