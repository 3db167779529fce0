"""Code lists of the raw-data contract (BBIC orsakskoder, areas, decisions, …).

The lists are data (CSV files in ``helpers/codelists``), documented in ``data/raw/README.md``
and tested; notebooks get labels and groupings from here, never from literals of their own.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import pandas as pd

CODELISTS = ("orsakskoder", "kategorier", "stadsdelar", "aktualiseringstyper", "anmalare", "beslut",
             "startgrund", "utfall", "bedomning", "insatstyper", "avslutsorsaker", "problemomraden",
             "bistandsgrupper", "lagrum", "placeringsanledning", "situation_efter",
             "kolada_nyckeltal", "kolada_struktur")


@cache
def load(name: str) -> pd.DataFrame:
    """One code list as a DataFrame (read once per process)."""
    if name not in CODELISTS:
        raise KeyError(f"unknown code list {name!r}; known: {', '.join(CODELISTS)}")
    with resources.files("helpers.data.codelists").joinpath(f"{name}.csv").open(encoding="utf-8") as f:
        df = pd.read_csv(f, dtype=str, keep_default_na=False)
    for col in df.columns:
        if set(df[col]) <= {"true", "false"}:
            df[col] = df[col] == "true"
    return df


def values(name: str) -> list[str]:
    """The allowed values of a code list (its first column)."""
    df = load(name)
    return df[df.columns[0]].tolist()


def orsak_kategori() -> dict[str, str]:
    """BBIC orsakskod → the report's category (one of seven, or ``ovrigt``)."""
    df = load("orsakskoder")
    return dict(zip(df["kod"], df["kategori"], strict=True))


def kategori_etikett() -> dict[str, str]:
    df = load("kategorier").sort_values("ordning")
    return dict(zip(df["kategori"], df["etikett"], strict=True))


def utsatta_omraden() -> list[str]:
    df = load("stadsdelar")
    return df.loc[df["utsatt_omrade"], "stadsdel"].tolist()


def label(name: str, code: str) -> str:
    df = load(name)
    return dict(zip(df[df.columns[0]], df["etikett"], strict=True))[code]


def problemomrade() -> dict[str, str]:
    """BBIC orsakskod → one of the six problem areas of service cases (``""``: none of the six).

    The 2021 report grouped the 29 codes into six areas (omsorgssvikt and the child's own
    brottslighet, psykisk ohälsa, skolproblematik, missbruk and relationsproblematik) and asked
    the providers to choose the most prominent one for each service insats.
    """
    df = load("orsakskoder")
    return dict(zip(df["kod"], df["problemomrade"], strict=True))


def problemomrade_etikett() -> dict[str, str]:
    df = load("problemomraden").sort_values("ordning")
    return dict(zip(df["problemomrade"], df["etikett"], strict=True))


def bistandsgrupp() -> dict[str, str]:
    """BBIC orsakskod → the cause groups the report uses for bistånd öppenvård (``""``: other
    causes): ``snb`` (socialt nedbrytande beteende, missbruk eller brottslighet) and
    ``familjekonflikter``."""
    df = load("orsakskoder")
    return dict(zip(df["kod"], df["bistandsgrupp"], strict=True))


def etiketter(name: str) -> dict[str, str]:
    """Code → label of a code list with an ``etikett`` column, in the list's order."""
    df = load(name)
    if "ordning" in df.columns:
        df = df.sort_values("ordning", key=lambda s: s.astype(int))
    return dict(zip(df[df.columns[0]], df["etikett"], strict=True))


def lagrum_grupp() -> dict[str, str]:
    """Lagrum → ``SoL`` or ``LVU``."""
    df = load("lagrum")
    return dict(zip(df["lagrum"], df["grupp"], strict=True))
