"""Personnummer: validation and keyed pseudonymisation.

Real identifiers never leave ingest: :func:`pseudonymise` replaces a personnummer with a keyed
HMAC-SHA256 so that the same child gets the same pseudonym across extracts and years, while the
number cannot be recovered without the key. :func:`pseudonymise_id` does the same for the case
system's own ids (``Aktualiserings-ID`` and the like), which identify the case just as well.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import re

import numpy as np
import pandas as pd

_PNR_RE = re.compile(r"^(\d{2})?(\d{2})(\d{2})(\d{2})[-+]?(\d{3})(\d)$")


#: The Luhn terms of a digit with weight 2 (the digits of 2·n summed): ``"7"`` → 14 → 5.
_DOUBLED = {str(n): 2 * n - 9 if n > 4 else 2 * n for n in range(10)}
_SINGLE = {str(n): n for n in range(10)}


def luhn_check_digit(nine_digits: str) -> int:
    """The control digit of a personnummer (Luhn, weights 2,1,2,1,… over YYMMDDNNN)."""
    # By table rather than arithmetic per digit: ingest checks every personnummer of every extract.
    total = sum(map(_DOUBLED.__getitem__, nine_digits[0::2])) + sum(map(_SINGLE.__getitem__, nine_digits[1::2]))
    return (10 - total % 10) % 10


def normalise(pnr: str) -> str:
    """Return the 12-digit form ``YYYYMMDDNNNC``; raise ``ValueError`` explaining what is wrong.

    Ten-digit forms need a century: a ``+`` separator means 100 years or older, otherwise the
    person is taken to be born in the last 100 years (as Skatteverket defines it).
    """
    s = str(pnr).strip()
    m = _PNR_RE.match(s)
    if not m:
        raise ValueError("har inte formen ÅÅÅÅMMDD-NNNN")
    century, yy, mm, dd, serial, check = m.groups()
    day = int(dd)
    if day > 60:  # samordningsnummer
        day -= 60
    if century is None:
        this_year = dt.date.today().year
        year = 2000 + int(yy)
        if year > this_year:
            year -= 100
        if "+" in s:
            year -= 100
    else:
        year = int(century + yy)
    try:
        dt.date(year, int(mm), day)
    except ValueError as exc:
        raise ValueError("födelsedatumet finns inte") from exc
    if serial == "000":
        raise ValueError("födelsenumret 000 finns inte")
    if luhn_check_digit(yy + mm + dd + serial) != int(check):
        raise ValueError("kontrollsiffran stämmer inte")
    return f"{year:04d}{mm}{dd}{serial}{check}"


_WITH_CENTURY = re.compile(r"[0-9]{8}[-+]?[0-9]{4}")
_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def normalise_many(numbers: list[str]) -> list[str | ValueError]:
    """:func:`normalise` of each of ``numbers``: the twelve-digit form, or the ``ValueError`` it
    raises. Numbers written with the century (``YYYYMMDD-NNNC``, ``YYYYMMDDNNNC``), as extracts
    have them, are checked all at once (date, födelsenummer, control digit, with numpy); any other
    form, and any number that fails a check, goes through :func:`normalise` itself (the same
    value, the same error)."""
    out: list[str | ValueError] = [None] * len(numbers)  # type: ignore[list-item]
    plain = [i for i, v in enumerate(numbers) if _WITH_CENTURY.fullmatch(v)]
    digits_text = [numbers[i].replace("-", "").replace("+", "") for i in plain]
    ok = np.zeros(len(plain), dtype=bool)
    if plain:
        d = (np.frombuffer("".join(digits_text).encode("ascii"), dtype=np.uint8).reshape(-1, 12) - 48).astype(np.int64)
        year = d[:, 0] * 1000 + d[:, 1] * 100 + d[:, 2] * 10 + d[:, 3]
        month = d[:, 4] * 10 + d[:, 5]
        day = d[:, 6] * 10 + d[:, 7]
        day = np.where(day > 60, day - 60, day)  # samordningsnummer
        leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
        last = _DAYS_IN_MONTH[np.clip(month, 0, 12)] + ((month == 2) & leap)
        real_day = (year >= 1) & (month >= 1) & (month <= 12) & (day >= 1) & (day <= last)
        serial = d[:, 8] * 100 + d[:, 9] * 10 + d[:, 10]
        nine = d[:, 2:11]
        doubled = 2 * nine[:, 0::2]
        total = (doubled - 9 * (doubled > 9)).sum(axis=1) + nine[:, 1::2].sum(axis=1)
        ok = real_day & (serial != 0) & ((10 - total % 10) % 10 == d[:, 11])
    for i, text, good in zip(plain, digits_text, ok.tolist(), strict=True):
        if good:
            out[i] = text
    checked = {i for i, good in zip(plain, ok.tolist(), strict=True) if good}
    for i, v in enumerate(numbers):
        if i not in checked:
            try:
                out[i] = normalise(v)
            except ValueError as exc:
                out[i] = exc
    return out


def is_valid(pnr: str) -> bool:
    try:
        normalise(pnr)
    except ValueError:
        return False
    return True


def birth_date(pnr: str) -> dt.date:
    n = normalise(pnr)
    day = int(n[6:8])
    return dt.date(int(n[:4]), int(n[4:6]), day - 60 if day > 60 else day)


def sex(pnr: str) -> str:
    """``"Pojke"`` if the third digit of the födelsenummer is odd, else ``"Flicka"``."""
    return "Pojke" if int(normalise(pnr)[10]) % 2 else "Flicka"


def birth_dates(normalised: pd.Series) -> pd.Series:
    """:func:`birth_date` for a whole column at once: ``datetime64`` birth dates of numbers already
    in the twelve-digit form of :func:`normalise` (samordningsnummer: day minus 60).

    Vectorised for ingest, which checks every row's age; missing numbers give ``NaT``.
    """
    s = normalised.astype("string")
    bad = s.notna() & ~s.str.fullmatch(r"\d{12}").fillna(False)
    if bad.any():
        raise ValueError("birth_dates takes normalised twelve-digit numbers (pnr.normalise)")
    yyyymmdd = pd.to_numeric(s.str.slice(0, 8)).astype("Int64")
    yyyymmdd = yyyymmdd.where(yyyymmdd % 100 <= 60, yyyymmdd - 60)
    return pd.to_datetime(yyyymmdd.astype("string"), format="%Y%m%d")


def sexes(normalised: pd.Series) -> pd.Series:
    """:func:`sex` for a whole column of twelve-digit numbers (:func:`normalise`): ``"Pojke"`` where
    the second-to-last digit is odd, ``"Flicka"`` where it is even, missing where the number is."""
    s = normalised.astype("string")
    bad = s.notna() & ~s.str.fullmatch(r"\d{12}").fillna(False)
    if bad.any():
        raise ValueError("sexes takes normalised twelve-digit numbers (pnr.normalise)")
    digit = pd.to_numeric(s.str.slice(10, 11))
    out = pd.Series(pd.NA, index=s.index, dtype="string")
    out[digit % 2 == 1] = "Pojke"
    out[digit % 2 == 0] = "Flicka"
    return out


def make(birth: dt.date, serial: int) -> str:
    """Build a valid personnummer ``YYYYMMDD-NNNC`` for a birth date and a three-digit serial."""
    if not 1 <= serial <= 999:
        raise ValueError("serial must be 1–999")
    nine = f"{birth:%y%m%d}{serial:03d}"
    return f"{birth:%Y%m%d}-{serial:03d}{luhn_check_digit(nine)}"


def pseudonymise(pnr: str, key: str | bytes) -> str:
    """Keyed HMAC-SHA256 of the normalised personnummer, as 20 hex characters (80 bits)."""
    return pseudonymise_normalised(normalise(pnr), key)


def pseudonymise_normalised(number: str, key: str | bytes) -> str:
    """:func:`pseudonymise` of a number already in the twelve-digit form of :func:`normalise` (as
    ingest has it once a column is checked), without normalising it again."""
    return _keyed(key, number)


def pseudonymise_id(value: str, key: str | bytes, kind: str) -> str:
    """Keyed HMAC-SHA256 of a case system id, as 20 hex characters (80 bits).

    ``kind`` is the processed column (``aktualisering_id``, ``utredning_id``, ``insats_id``): the
    same id gets the same pseudonym in every extract and year (the links between extracts still
    join), while ids of different kinds, and personnummer, never share a pseudonym.
    """
    return _keyed(key, f"{kind}:{value}")


@functools.lru_cache(maxsize=4)
def _hmac(key: str | bytes) -> hmac.HMAC:
    """An HMAC-SHA256 with ``key`` and nothing hashed yet, to copy: set up once per key, not per value."""
    return hmac.new(key.encode() if isinstance(key, str) else key, digestmod=hashlib.sha256)


def _keyed(key: str | bytes, text: str) -> str:
    """HMAC-SHA256 of ``text`` with ``key``, as 20 hex characters (as ``hmac.new(key, text, sha256)``)."""
    h = _hmac(key).copy()
    h.update(text.encode())
    return h.hexdigest()[:20]


#: What is hashed with the key for its fingerprint (:func:`key_fingerprint`).
KEY_FINGERPRINT_PREFIX = "genomlysning-key-fingerprint:"


def key_fingerprint(key: str | bytes) -> str:
    """A short fingerprint of a pseudonymisation key (the first 16 hex characters of SHA-256 of
    :data:`KEY_FINGERPRINT_PREFIX` and the key): it tells whether two runs used the same key, but
    not the key itself. Recorded in ``manifest.json`` instead of the key."""
    k = key.encode() if isinstance(key, str) else key
    return hashlib.sha256(KEY_FINGERPRINT_PREFIX.encode() + k).hexdigest()[:16]
