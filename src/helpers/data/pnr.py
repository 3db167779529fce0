"""Personnummer: validation and keyed pseudonymisation.

Real identifiers never leave ingest: :func:`pseudonymise` replaces a personnummer with a keyed
HMAC-SHA256 so that the same child gets the same pseudonym across extracts and years, while the
number cannot be recovered without the key. :func:`pseudonymise_id` does the same for the case
system's own ids (``Aktualiserings-ID`` and the like), which identify the case just as well.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re

import pandas as pd

_PNR_RE = re.compile(r"^(\d{2})?(\d{2})(\d{2})(\d{2})[-+]?(\d{3})(\d)$")


def luhn_check_digit(nine_digits: str) -> int:
    """The control digit of a personnummer (Luhn, weights 2,1,2,1,… over YYMMDDNNN)."""
    total = 0
    for i, ch in enumerate(nine_digits):
        n = int(ch) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
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
    k = key.encode() if isinstance(key, str) else key
    return hmac.new(k, normalise(pnr).encode(), hashlib.sha256).hexdigest()[:20]


def pseudonymise_id(value: str, key: str | bytes, kind: str) -> str:
    """Keyed HMAC-SHA256 of a case system id, as 20 hex characters (80 bits).

    ``kind`` is the processed column (``aktualisering_id``, ``utredning_id``, ``insats_id``): the
    same id gets the same pseudonym in every extract and year (the links between extracts still
    join), while ids of different kinds, and personnummer, never share a pseudonym.
    """
    k = key.encode() if isinstance(key, str) else key
    return hmac.new(k, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:20]


#: What is hashed with the key for its fingerprint (:func:`key_fingerprint`).
KEY_FINGERPRINT_PREFIX = "genomlysning-key-fingerprint:"


def key_fingerprint(key: str | bytes) -> str:
    """A short fingerprint of a pseudonymisation key (the first 16 hex characters of SHA-256 of
    :data:`KEY_FINGERPRINT_PREFIX` and the key): it tells whether two runs used the same key, but
    not the key itself. Recorded in ``manifest.json`` instead of the key."""
    k = key.encode() if isinstance(key, str) else key
    return hashlib.sha256(KEY_FINGERPRINT_PREFIX.encode() + k).hexdigest()[:16]
