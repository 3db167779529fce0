"""Computations of the Inflöde chapter (how children and young people come to the social services).

Every function takes the processed ``aktualiseringar`` table (one row per aktualisering, see the
contract) and returns tidy frames or plain numbers; the notebook only calls, publishes and writes
prose. Bases are documented per function because the report's own bases vary.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from . import codes

AGEGROUPS = ("0-12", "13-17", "18-20")
CLOSED = ("kronologiska", "service", "annan_verksamhet")


def prepare(akt: pd.DataFrame) -> pd.DataFrame:
    """Add derived columns: typ, alderskategori, kategori, aldersgrupp, utsatt_omrade, manad."""
    df = akt.copy()
    types = codes.load("aktualiseringstyper").set_index("aktualiseringstyp")
    at = df["aktualiseringstyp"].astype(str)
    df["typ"] = at.map(types["typ"])
    df["alderskategori"] = at.map(types["alderskategori"])
    df["kategori"] = df["orsakskod"].astype(str).map(codes.orsak_kategori())
    df["aldersgrupp"] = pd.cut(df["alder"].astype(int), [-1, 12, 17, 20], labels=list(AGEGROUPS)).astype(str)
    df["utsatt_omrade"] = df["stadsdel"].astype(str).isin(codes.utsatta_omraden())
    df["manad"] = df["inkom_datum"].dt.month
    df["ar"] = df["ar"].astype(int)
    return df


def years_available(df: pd.DataFrame) -> list[int]:
    return sorted(int(y) for y in df["ar"].unique())


def comparison_years(df: pd.DataFrame, year: int, span: int = 2) -> list[int]:
    """The report year and up to ``span`` earlier years present in the data."""
    avail = years_available(df)
    if year not in avail:
        raise ValueError(f"Året {year} finns inte i data (tillgängliga år: {', '.join(map(str, avail))}).")
    return [y for y in avail if year - span <= y <= year]


def type_counts(df: pd.DataFrame, year: int) -> pd.DataFrame:
    """Aktualiseringar by aktualiseringstyp in ``year``: n and share (%) of all aktualiseringar."""
    d = df[df["ar"] == year]
    order = codes.values("aktualiseringstyper")
    n = d["aktualiseringstyp"].astype(str).value_counts().reindex(order, fill_value=0)
    out = pd.DataFrame({"aktualiseringstyp": order, "antal": n.to_numpy()})
    out["andel"] = 100 * out["antal"] / out["antal"].sum()
    return out


def cause_counts(df: pd.DataFrame, year: int, *, typ: str = "anmälan", alderskategori: str = "0-17",
                 aldersgrupp: str | None = None) -> pd.DataFrame:
    """Aktualiseringar of one type by the report's cause category, with share (%) of the group."""
    d = df[(df["ar"] == year) & (df["typ"] == typ) & (df["alderskategori"] == alderskategori)]
    if aldersgrupp is not None:
        d = d[d["aldersgrupp"] == aldersgrupp]
    labels = codes.kategori_etikett()
    n = d["kategori"].value_counts().reindex(list(labels), fill_value=0)
    out = pd.DataFrame({"kategori": list(labels), "orsak": list(labels.values()), "antal": n.to_numpy()})
    out["andel"] = 100 * out["antal"] / max(len(d), 1)
    return out


def code_share(df: pd.DataFrame, year: int, orsakskod: str, *, typ: str, alderskategori: str = "0-17") -> tuple[int, int]:
    """(count with ``orsakskod``, all) among aktualiseringar of one type and age category."""
    d = df[(df["ar"] == year) & (df["typ"] == typ) & (df["alderskategori"] == alderskategori)]
    return int((d["orsakskod"].astype(str) == orsakskod).sum()), len(d)


def code_counts(df: pd.DataFrame, year: int, *, typ: str, alderskategori: str = "0-17") -> pd.DataFrame:
    """Counts by BBIC orsakskod (with its name) among aktualiseringar of one type and age category."""
    d = df[(df["ar"] == year) & (df["typ"] == typ) & (df["alderskategori"] == alderskategori)]
    names = codes.load("orsakskoder").set_index("kod")["orsak"]
    n = d["orsakskod"].astype(str).value_counts()
    out = pd.DataFrame({"orsakskod": n.index, "orsak": n.index.map(names), "antal": n.to_numpy()})
    out["andel"] = 100 * out["antal"] / max(len(d), 1)
    return out.sort_values(["antal", "orsakskod"], ascending=[False, True], ignore_index=True)


def decisions_by_year(df: pd.DataFrame, years: list[int], typ: str = "anmälan") -> pd.DataFrame:
    """What aktualiseringar of one type (both age categories) led to, per year (long format)."""
    d = df[(df["typ"] == typ) & (df["ar"].isin(years))]
    order = codes.values("beslut")
    t = d.groupby(["ar", "beslut"], observed=False).size().unstack(fill_value=0).reindex(columns=order, fill_value=0)
    t = t.reindex(years, fill_value=0)
    long = t.stack().rename("antal").reset_index()
    long["andel"] = 100 * long["antal"] / long.groupby("ar")["antal"].transform("sum")
    long["etikett"] = long["beslut"].map(lambda b: codes.label("beslut", b))
    return long


def closed_without_action(df: pd.DataFrame, year: int) -> int:
    """Anmälningar (0-17 and 18-20) closed without action (kronologiska pärmen, incl. referrals)."""
    d = df[(df["ar"] == year) & (df["typ"] == "anmälan")]
    return int(d["beslut"].astype(str).isin(CLOSED).sum())


def utredning_share(df: pd.DataFrame, year: int, typ: str) -> tuple[int, int]:
    """(led to utredning, all) for aktualiseringar of one type in ``year``."""
    d = df[(df["ar"] == year) & (df["typ"] == typ)]
    return int((d["beslut"].astype(str) == "utredning").sum()), len(d)


def crime_among_investigated(df: pd.DataFrame, year: int) -> tuple[int, int]:
    """(with cause category brottslighet, all) among anmälningar that led to an utredning."""
    d = df[(df["ar"] == year) & (df["typ"] == "anmälan") & (df["beslut"].astype(str) == "utredning")]
    return int((d["kategori"] == "brottslighet").sum()), len(d)


def monthly_counts(df: pd.DataFrame, typ: str = "anmälan") -> pd.DataFrame:
    """Aktualiseringar of one type per calendar month over all years (columns month, n)."""
    d = df[df["typ"] == typ]
    s = d.groupby(d["inkom_datum"].dt.to_period("M")).size()
    idx = pd.period_range(s.index.min(), s.index.max(), freq="M")
    s = s.reindex(idx, fill_value=0)
    return pd.DataFrame({"month": idx.to_timestamp(), "n": s.to_numpy()})


def per_1000_by_area(df: pd.DataFrame, befolkning: pd.DataFrame, year: int) -> pd.DataFrame:
    """Anmälningar 0-17 per 1 000 children 0-17 by area (population of the same year)."""
    d = df[(df["ar"] == year) & (df["typ"] == "anmälan") & (df["alderskategori"] == "0-17")]
    b = befolkning[(befolkning["ar"].astype(int) == year) & (befolkning["aldersgrupp"].astype(str) != "18-20")]
    pop = b.groupby(b["stadsdel"].astype(str))["antal"].sum()
    n = d["stadsdel"].astype(str).value_counts().reindex(pop.index, fill_value=0)
    out = pd.DataFrame({"stadsdel": pop.index, "anmalningar": n.to_numpy(), "barn_0_17": pop.to_numpy().astype(int)})
    out["utsatt_omrade"] = out["stadsdel"].isin(codes.utsatta_omraden())
    out["per_1000"] = 1000 * out["anmalningar"] / out["barn_0_17"]
    return out.sort_values("per_1000", ascending=False, ignore_index=True)


@dataclass(frozen=True)
class MarchSample:
    """The March sample (stickprov) of one year: every anmälan received in March."""

    year: int
    total: int
    repeat: int  # reports concerning a person with two or more reports in the month
    utsatt: int
    brott: int
    brott_pojkar: int
    brott_utsatt: int
    brott_utsatt_pojkar: int
    brott_utsatt_personer: int
    reporters: pd.DataFrame  # by area type: anmalare, antal, andel
    causes: pd.DataFrame  # by area type: kategori, antal, andel


def march_sample(df: pd.DataFrame, year: int) -> MarchSample:
    d = df[(df["ar"] == year) & (df["typ"] == "anmälan") & (df["manad"] == 3)].copy()
    if d.empty:
        raise ValueError(f"Inga anmälningar i mars {year}.")
    per_person = d.groupby("person_id")["aktualisering_id"].transform("size")
    brott = d[d["kategori"] == "brottslighet"]
    brott_u = brott[brott["utsatt_omrade"]]
    d["omrade"] = d["utsatt_omrade"].map({True: "Utsatta områden", False: "Övriga områden"})

    def by_area(col: str) -> pd.DataFrame:
        t = d.groupby(["omrade", col], observed=True).size().rename("antal").reset_index()
        t["andel"] = 100 * t["antal"] / t.groupby("omrade")["antal"].transform("sum")
        return t.sort_values(["omrade", "antal"], ascending=[True, False], ignore_index=True)

    return MarchSample(
        year=year,
        total=len(d),
        repeat=int((per_person >= 2).sum()),
        utsatt=int(d["utsatt_omrade"].sum()),
        brott=len(brott),
        brott_pojkar=int((brott["kon"].astype(str) == "Pojke").sum()),
        brott_utsatt=len(brott_u),
        brott_utsatt_pojkar=int((brott_u["kon"].astype(str) == "Pojke").sum()),
        brott_utsatt_personer=int(brott_u["person_id"].nunique()),
        reporters=by_area("anmalare"),
        causes=by_area("kategori"),
    )
