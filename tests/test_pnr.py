"""Personnummer: validation, construction and keyed pseudonymisation.

Every number here is synthetic, built with :func:`helpers.data.pnr.make` (or assembled digit by digit
with the module's own Luhn function) from a birth date and a födelsenummer in 980–999, the range of
Skatteverket's published test personnummer. No literal personnummer is written in this file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re

import pandas as pd
import pytest

from helpers.data import pnr

TEST_SERIALS = range(980, 1000)
KEY = "unit-test-key"
BIRTHS = (
    dt.date(2004, 1, 1),
    dt.date(2010, 5, 17),
    dt.date(2012, 2, 29),  # leap day
    dt.date(2019, 12, 31),
    dt.date(1998, 7, 9),
    dt.date(1955, 10, 3),
)


def luhn_ok(digits: str) -> bool:
    """Textbook Luhn over a full number (check digit last): from the right, double every second."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch) * (2 if i % 2 else 1)
        total += n // 10 + n % 10
    return total % 10 == 0


def assemble(yyyymmdd: str, serial: str) -> str:
    """``YYYYMMDD-NNNC`` with a correct check digit, for any (possibly impossible) date and serial."""
    return f"{yyyymmdd}-{serial}{pnr.luhn_check_digit(yyyymmdd[2:] + serial)}"


def variants(number: str) -> dict[str, str]:
    """The usual written forms of one twelve-digit ``YYYYMMDD-NNNC`` number."""
    digits = number.replace("-", "")
    return {
        "12 med streck": number,
        "12 utan streck": digits,
        "10 med streck": f"{digits[2:8]}-{digits[8:]}",
        "10 utan streck": digits[2:],
        "med blanksteg": f"  {number} ",
    }


def with_check_digit(number: str, digit: int) -> str:
    return number[:-1] + str(digit)


# --------------------------------------------------------------------------------------------
# make
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("birth", BIRTHS, ids=str)
def test_make_builds_valid_numbers_in_the_test_range(birth):
    for serial in TEST_SERIALS:
        number = pnr.make(birth, serial)
        assert re.fullmatch(r"\d{8}-\d{4}", number)
        assert number[:8] == f"{birth:%Y%m%d}"
        assert number[9:12] == f"{serial:03d}"
        assert pnr.is_valid(number)
        assert luhn_ok(number.replace("-", "")[2:]), "check digit must satisfy the textbook Luhn test"


@pytest.mark.parametrize("serial", [0, -1, 1000])
def test_make_rejects_serials_outside_1_to_999(serial):
    with pytest.raises(ValueError):
        pnr.make(dt.date(2010, 5, 17), serial)


def test_luhn_check_digit_is_the_only_valid_one():
    birth = dt.date(2010, 5, 17)
    for serial in TEST_SERIALS:
        number = pnr.make(birth, serial)
        good = int(number[-1])
        for digit in range(10):
            candidate = with_check_digit(number, digit)
            assert pnr.is_valid(candidate) == (digit == good)
            assert luhn_ok(candidate.replace("-", "")[2:]) == (digit == good)


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


def test_bad_check_digit_is_explained():
    number = pnr.make(dt.date(2010, 5, 17), 985)
    wrong = with_check_digit(number, (int(number[-1]) + 1) % 10)
    with pytest.raises(ValueError, match="kontrollsiffran"):
        pnr.normalise(wrong)
    assert not pnr.is_valid(wrong)


@pytest.mark.parametrize(
    "yyyymmdd",
    ["20190229", "20101301", "20100001", "20100431", "20100100", "19000229"],
    ids=["29 feb icke-skottår", "månad 13", "månad 0", "31 april", "dag 0", "1900 ej skottår"],
)
def test_impossible_dates_are_rejected(yyyymmdd):
    number = assemble(yyyymmdd, "985")  # right check digit, impossible date
    with pytest.raises(ValueError, match="födelsedatumet"):
        pnr.normalise(number)


def test_leap_day_is_a_valid_date():
    number = assemble("20120229", "985")
    assert pnr.is_valid(number)
    assert pnr.birth_date(number) == dt.date(2012, 2, 29)


def test_serial_000_is_rejected():
    number = assemble("20100517", "000")
    with pytest.raises(ValueError, match="000"):
        pnr.normalise(number)


@pytest.mark.parametrize(
    "text",
    ["", "abc", "2010-05-17", "20100517-98", "2010051798512", "201005179851x", "20100517--9851", "100517_9851", None],
)
def test_malformed_input_is_rejected(text):
    with pytest.raises(ValueError, match="formen"):
        pnr.normalise(text)
    assert not pnr.is_valid(text)


def test_samordningsnummer_day_plus_60():
    number = assemble("20100577", "986")  # born 17 May 2010, day + 60
    assert pnr.is_valid(number)
    assert pnr.normalise(number) == number.replace("-", "")
    assert pnr.birth_date(number) == dt.date(2010, 5, 17)
    assert pnr.sex(number) == "Flicka"
    for form in variants(number).values():
        assert pnr.birth_date(form) == dt.date(2010, 5, 17)


def test_samordningsnummer_with_impossible_day_is_rejected():
    for day in ("60", "92", "99"):
        with pytest.raises(ValueError, match="födelsedatumet"):
            pnr.normalise(assemble(f"201005{day}", "986"))


def test_samordningsnummer_wrong_check_digit():
    number = assemble("20100577", "986")
    with pytest.raises(ValueError, match="kontrollsiffran"):
        pnr.normalise(with_check_digit(number, (int(number[-1]) + 3) % 10))


# --------------------------------------------------------------------------------------------
# 10 and 12 digit forms
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("birth", BIRTHS, ids=str)
def test_all_forms_normalise_to_twelve_digits(birth):
    number = pnr.make(birth, 987)
    expected = number.replace("-", "")
    for name, form in variants(number).items():
        assert pnr.normalise(form) == expected, name
        assert pnr.birth_date(form) == birth, name


def test_ten_digit_plus_means_a_hundred_years_or_older():
    birth = dt.date(1915, 3, 1)
    number = pnr.make(birth, 984)
    digits = number.replace("-", "")
    plus = f"{digits[2:8]}+{digits[8:]}"
    assert pnr.birth_date(plus) == birth
    assert pnr.normalise(plus) == digits
    # with a dash (or none) the same ten digits mean someone born a century later
    assert pnr.birth_date(f"{digits[2:8]}-{digits[8:]}") == dt.date(2015, 3, 1)


def test_ten_digit_century_is_within_the_last_hundred_years():
    this_year = dt.date.today().year
    for birth in (dt.date(this_year - 1, 6, 1), dt.date(this_year - 99, 6, 1)):
        number = pnr.make(birth, 990)
        ten = number.replace("-", "")[2:]
        assert pnr.birth_date(ten) == birth


# --------------------------------------------------------------------------------------------
# sex and birth_date
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("serial", TEST_SERIALS)
def test_sex_follows_the_third_digit_of_the_serial(serial):
    number = pnr.make(dt.date(2010, 5, 17), serial)
    expected = "Pojke" if serial % 2 else "Flicka"
    for form in variants(number).values():
        assert pnr.sex(form) == expected


def test_birth_date_and_sex_reject_invalid_numbers():
    number = pnr.make(dt.date(2010, 5, 17), 991)
    wrong = with_check_digit(number, (int(number[-1]) + 5) % 10)
    with pytest.raises(ValueError):
        pnr.birth_date(wrong)
    with pytest.raises(ValueError):
        pnr.sex(wrong)


def test_birth_dates_and_sexes_agree_with_the_single_number_functions():
    """The vectorised forms that ingest uses give what birth_date and sex give, row by row,
    including leap days, samordningsnummer and missing numbers."""
    numbers = [pnr.make(birth, serial) for birth in BIRTHS for serial in (980, 985, 992, 999)]
    numbers.append(assemble("20100577", "986"))  # samordningsnummer
    column = pd.Series([pnr.normalise(n) for n in numbers] + [None], index=range(10, 10 + len(numbers) + 1))
    births = pnr.birth_dates(column)
    sexes = pnr.sexes(column)
    assert pd.api.types.is_datetime64_any_dtype(births)
    assert births.index.equals(column.index) and sexes.index.equals(column.index)
    assert [d.date() for d in births.iloc[:-1]] == [pnr.birth_date(n) for n in numbers]
    assert sexes.iloc[:-1].tolist() == [pnr.sex(n) for n in numbers]
    assert pd.isna(births.iloc[-1]) and pd.isna(sexes.iloc[-1])


def test_birth_dates_and_sexes_want_normalised_numbers():
    number = pnr.make(dt.date(2010, 5, 17), 981)
    for func in (pnr.birth_dates, pnr.sexes):
        with pytest.raises(ValueError, match="normalise"):
            func(pd.Series([number]))  # with the dash: not the normalised form


# --------------------------------------------------------------------------------------------
# Pseudonymisation
# --------------------------------------------------------------------------------------------


def test_pseudonym_is_stable_for_the_same_key():
    number = pnr.make(dt.date(2010, 5, 17), 981)
    first = pnr.pseudonymise(number, KEY)
    assert pnr.pseudonymise(number, KEY) == first
    assert pnr.pseudonymise(number, KEY.encode()) == first, "str and bytes key are the same key"


def test_pseudonym_differs_across_keys():
    number = pnr.make(dt.date(2010, 5, 17), 981)
    keys = [KEY, KEY + "x", "another key", "genomlysning-demo-key-not-secret"]
    assert len({pnr.pseudonymise(number, k) for k in keys}) == len(keys)


def test_pseudonym_is_independent_of_the_written_form():
    for birth in BIRTHS:
        number = pnr.make(birth, 994)
        pseudonyms = {name: pnr.pseudonymise(form, KEY) for name, form in variants(number).items()}
        assert len(set(pseudonyms.values())) == 1, pseudonyms


def test_pseudonym_is_hmac_sha256_of_the_twelve_digit_form():
    number = pnr.make(dt.date(2010, 5, 17), 983)
    expected = hmac.new(KEY.encode(), number.replace("-", "").encode(), hashlib.sha256).hexdigest()[:20]
    assert pnr.pseudonymise(number, KEY) == expected


def test_pseudonym_does_not_look_reversible():
    seen: dict[str, str] = {}
    for birth in BIRTHS:
        for serial in TEST_SERIALS:
            number = pnr.make(birth, serial)
            digits = number.replace("-", "")
            p = pnr.pseudonymise(number, KEY)
            assert re.fullmatch(r"[0-9a-f]{20}", p)
            # no recognisable part of the number survives
            for part in (digits, digits[2:], digits[:8], digits[2:8], digits[8:]):
                assert part not in p
            # not an unkeyed hash, which could be reversed by hashing every possible number
            assert p != hashlib.sha256(digits.encode()).hexdigest()[:20]
            assert p != hashlib.sha256(number.encode()).hexdigest()[:20]
            assert p not in seen, f"collision between {seen.get(p)} and a different number"
            seen[p] = number
    assert len(seen) == len(BIRTHS) * len(TEST_SERIALS)


def test_close_numbers_get_unrelated_pseudonyms():
    a = pnr.pseudonymise(pnr.make(dt.date(2010, 5, 17), 981), KEY)
    b = pnr.pseudonymise(pnr.make(dt.date(2010, 5, 17), 983), KEY)
    same = sum(x == y for x, y in zip(a, b, strict=True))
    assert same < 10, "neighbouring numbers should share about 1/16 of their hex digits"


def test_invalid_numbers_are_not_pseudonymised():
    number = pnr.make(dt.date(2010, 5, 17), 981)
    with pytest.raises(ValueError):
        pnr.pseudonymise(with_check_digit(number, (int(number[-1]) + 1) % 10), KEY)
    with pytest.raises(ValueError):
        pnr.pseudonymise("not a number", KEY)


def test_case_ids_are_hmac_of_kind_and_id():
    key = "k" * 40
    expected = hmac.new(key.encode(), b"insats_id:I2020-0001", hashlib.sha256).hexdigest()[:20]
    assert pnr.pseudonymise_id("I2020-0001", key, "insats_id") == expected
    assert pnr.pseudonymise_id("I2020-0001", key.encode(), "insats_id") == expected
    assert pnr.pseudonymise_id("I2020-0001", key + "x", "insats_id") != expected


def test_case_ids_of_different_kinds_never_share_a_pseudonym():
    key = "k" * 40
    kinds = ("aktualisering_id", "utredning_id", "insats_id")
    assert len({pnr.pseudonymise_id("2020-0001", key, kind) for kind in kinds}) == len(kinds)
    number = pnr.make(dt.date(2010, 5, 17), 981)
    assert pnr.pseudonymise(number, key) != pnr.pseudonymise_id(pnr.normalise(number), key, "aktualisering_id")


def test_key_fingerprint_is_a_prefixed_sha256_not_the_key():
    key = "a-strong-key-of-at-least-thirty-two-characters"
    fingerprint = pnr.key_fingerprint(key)
    assert fingerprint == hashlib.sha256(("genomlysning-key-fingerprint:" + key).encode()).hexdigest()[:16]
    assert re.fullmatch(r"[0-9a-f]{16}", fingerprint) and fingerprint not in key
    assert pnr.key_fingerprint(key.encode()) == fingerprint
    assert pnr.key_fingerprint(key + "!") != fingerprint
    assert fingerprint != hashlib.sha256(key.encode()).hexdigest()[:16], "not the plain hash of the key"
