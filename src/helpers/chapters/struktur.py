"""Computations of the Strukturella faktorer chapter: population, school, work and money behind the needs.

Sources: the public extract ``struktur_offentlig`` (the municipality's population by one-year age
from SCB, Kolada's series for school results, long-term ekonomiskt bistånd and unemployment), the
municipality's own yearly ``struktur`` (district population and forecast, unemployment, households
with long-term bistånd, grade-9 results per school, the youth mental-health series), and the case
extracts of the other chapters (aktualiseringar, utredningar, placements per district).

Counts of people that come from the social services or health care (aktualiseringar, utredningar,
placements, households with bistånd, young people in psychiatric care) are registered in one
:class:`~helpers.analysis.disclosure.CellSet` and protected together; population, school results
and unemployment are aggregate statistics about whole districts and are published as they are
(school shares only for at least :data:`MIN_PUPILS` pupils, as Skolverket does).

A report for year Y uses the files up to Y. Kolada publishes a year's figures in the spring after
it, so Kolada's series end the year before (:data:`KOLADA_LAG`), and the school results that are
compared with them are those of the school year ending in Y − 1.

District associations describe districts, not children: a district with higher unemployment and
more aktualiseringar per child does not show that the children of the unemployed are the ones
reported (the ecological fallacy). The count model says so wherever it is quoted.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from helpers.analysis.disclosure import CellSet
from helpers.chapters.records import as_text
from helpers.data import codes
from helpers.publishing.views import HIDDEN

KOLADA_LAG = 1
#: First year of the population comparison (the report: "sedan 2014").
POPULATION_BASE_YEAR = 2014
FIVE_YEAR_GROUPS = {"0-4": (0, 4), "5-9": (5, 9), "10-14": (10, 14), "15-19": (15, 19)}
#: Forecast horizons after the report year (the report's charts: 2020–2024 and 2020–2027).
HORIZONS = (4, 7)
#: Skolverket publishes no share for fewer than ten pupils.
MIN_PUPILS = 10
#: Reporter categories of the neighbourhood (the report: "allmänhet, skola och omsorg").
NEIGHBOURHOOD = ("privatperson", "skola")
AREA_UTSATT, AREA_OVRIGA = "Utsatta områden", "Övriga områden"
COMPULSORY = "Psykiatrisk tvångsvård"
BUP = "Besök i barn- och ungdomspsykiatrin"
MUNICIPALITY, COUNTY = "Linköping", "Östergötlands län"
#: Rates of the expected inflow: the mean of the last years up to this many.
RATE_YEARS = 3
SIMULATIONS = 20000
SEED = 20210613
#: Over-dispersion (Pearson χ² / df) above which the count model's standard errors are scaled.
DISPERSION_LIMIT = 1.5
#: Correlation of the two factors above which the model keeps one of them.
COLLINEAR = 0.9


def slug(text: str) -> str:
    """ASCII id part of a name: ``"Skäggetorpskolan"`` → ``"skaggetorpskolan"``."""
    t = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "_", t).strip("_")


def cell_of(frame: pd.DataFrame, col: str = "cell", **kw) -> str:
    m = pd.Series(True, index=frame.index)
    for k, v in kw.items():
        m &= frame[k] == v
    return str(frame.loc[m, col].iloc[0])


def of_year(df: pd.DataFrame | None, year: int) -> pd.DataFrame | None:
    """The rows of the file of ``year`` (column ``ar``), or None when there are none."""
    if df is None:
        return None
    out = df[df["ar"].astype(int) == year]
    return out.reset_index(drop=True) if len(out) else None


# --- population ------------------------------------------------------------------------------------


def population_by_group(bal: pd.DataFrame, year: int, base_year: int = POPULATION_BASE_YEAR) -> pd.DataFrame:
    """The municipality's population 0–19 per five-year group and year, ``base_year`` … ``year``
    (SCB). Columns ar, aldersgrupp, antal."""
    b = bal[(bal["ar"].astype(int) >= base_year) & (bal["ar"].astype(int) <= year)].copy()
    b["alder"] = b["alder"].astype(int)
    rows = []
    for group, (lo, hi) in FIVE_YEAR_GROUPS.items():
        g = b[(b["alder"] >= lo) & (b["alder"] <= hi)].groupby(b["ar"].astype(int))["antal"].sum()
        rows += [{"ar": int(y), "aldersgrupp": group, "antal": int(v)} for y, v in g.items()]
    return pd.DataFrame(rows, columns=["ar", "aldersgrupp", "antal"])


def population_growth(pop: pd.DataFrame) -> pd.DataFrame:
    """Change from the first to the last year per five-year group and for 0–19 in total."""
    first, last = int(pop["ar"].min()), int(pop["ar"].max())
    w = pop.pivot_table(index="aldersgrupp", columns="ar", values="antal", aggfunc="sum").reindex(list(FIVE_YEAR_GROUPS))
    out = pd.DataFrame({"aldersgrupp": w.index, "start": w[first].to_numpy(), "slut": w[last].to_numpy()})
    out.loc[len(out)] = ["0-19", out["start"].sum(), out["slut"].sum()]
    out["forandring"] = out["slut"] - out["start"]
    out["pct"] = 100 * out["forandring"] / out["start"]
    out["fran"], out["till"] = first, last
    return out


# --- forecast --------------------------------------------------------------------------------------


def forecast_change(prog: pd.DataFrame, year: int) -> pd.DataFrame:
    """Per district (and the whole municipality): the forecast 0–18 at the start (``year``) and at
    each horizon of :data:`HORIZONS`, with the change in percent."""
    p = prog[prog["ar"].astype(int) == year]
    w = p.pivot_table(index="stadsdel", columns="prognosar", values="antal_0_18", aggfunc="sum")
    w.index = w.index.astype(str)
    w.loc[MUNICIPALITY] = w.sum()
    out = pd.DataFrame({"stadsdel": w.index, "bas": w[year].to_numpy()})
    for h in HORIZONS:
        if year + h in w.columns:
            out[f"h{h}"] = w[year + h].to_numpy()
            out[f"pct{h}"] = 100 * (out[f"h{h}"] / out["bas"] - 1)
    return out


def forecast_series(prog: pd.DataFrame, year: int, area: str) -> pd.DataFrame:
    p = prog[prog["ar"].astype(int) == year]
    if area != MUNICIPALITY:
        p = p[p["stadsdel"].astype(str) == area]
    s = p.groupby(p["prognosar"].astype(int))["antal_0_18"].sum()
    return pd.DataFrame({"ar": s.index.astype(int), "antal_0_18": s.to_numpy()})


# --- school ----------------------------------------------------------------------------------------


def schools(skol: pd.DataFrame, year: int) -> pd.DataFrame:
    """Grade-9 results per school for the school year ending in ``year`` (the file of that year):
    pupils and the share reaching the requirements in all subjects, in total and per sex. A share
    on fewer than :data:`MIN_PUPILS` pupils is not published (NaN); when one sex's share is
    hidden, the other's is too (it would follow from the total)."""
    s = skol[skol["ar"].astype(int) == year].copy()
    rows = []
    for (school, area), g in s.groupby([s["skola"].astype(str), s["stadsdel"].astype(str)], sort=True):
        n, k = int(g["elever"].sum()), int(g["uppnatt"].sum())
        r = {"skola": school, "stadsdel": area, "elever": n, "uppnatt": k,
             "andel": 100 * k / n if n >= MIN_PUPILS else np.nan}
        sexes = {}
        for kon, label in (("Flicka", "flickor"), ("Pojke", "pojkar")):
            gs = g[g["kon"].astype(str) == kon]
            nn, kk = int(gs["elever"].sum()), int(gs["uppnatt"].sum())
            sexes[label] = (kk, nn)
        both = all(nn >= MIN_PUPILS for _, nn in sexes.values()) and not np.isnan(r["andel"])
        for label, (kk, nn) in sexes.items():
            r[f"andel_{label}"] = 100 * kk / nn if both else np.nan
            r[f"n_{label}"], r[f"k_{label}"] = nn, kk
        rows.append(r)
    return pd.DataFrame(rows)


def district_school_share(skol: pd.DataFrame, year: int) -> pd.Series:
    """Share (%) reaching the requirements per district of the schools (where the school lies),
    for the school year ending in ``year``; NaN under :data:`MIN_PUPILS` pupils."""
    s = skol[skol["ar"].astype(int) == year]
    g = s.groupby(s["stadsdel"].astype(str))[["elever", "uppnatt"]].sum()
    return (100 * g["uppnatt"] / g["elever"]).where(g["elever"] >= MIN_PUPILS)


def kolada_series(kn: pd.DataFrame | None, year: int) -> pd.DataFrame | None:
    """Kolada's series up to ``year − KOLADA_LAG``: columns namn, kommun, ar, varde."""
    if kn is None or not len(kn):
        return None
    k = kn[kn["ar"].astype(int) <= year - KOLADA_LAG].copy()
    k["ar"] = k["ar"].astype(int)
    k["namn"] = k["nyckeltal"].astype(str)
    k["kommun"] = k["kommun"].astype(str)
    return k[["namn", "kommun", "ar", "varde"]].sort_values(["namn", "kommun", "ar"]).reset_index(drop=True)


def peak_run(series: pd.Series, within: float = 0.1) -> tuple[int, int] | None:
    """The run of consecutive years around the maximum whose values are within ``within`` (share)
    of it, as (first, last); None for an empty series."""
    s = series.dropna().sort_index()
    if not len(s):
        return None
    top = s.idxmax()
    years = list(s.index)
    i = years.index(top)
    lo = hi = i
    while lo > 0 and s.iloc[lo - 1] >= (1 - within) * s.iloc[i]:
        lo -= 1
    while hi < len(years) - 1 and s.iloc[hi + 1] >= (1 - within) * s.iloc[i]:
        hi += 1
    return int(years[lo]), int(years[hi])


def falling_since(series: pd.Series) -> int | None:
    """The year of the maximum when every later value is lower than the one before (a decline
    every year since); None otherwise or when the maximum is the last year."""
    s = series.dropna().sort_index()
    if len(s) < 2:
        return None
    top = s.idxmax()
    after = s[s.index >= top]
    if len(after) < 2 or not (after.diff().dropna() < 0).all():
        return None
    return int(top)


# --- the chapter's tables --------------------------------------------------------------------------


@dataclass
class StructuralTables:
    year: int
    cells: CellSet
    pop: pd.DataFrame | None  # ar, aldersgrupp, antal (SCB, municipality)
    growth: pd.DataFrame | None
    forecast: pd.DataFrame | None  # stadsdel, bas, h4, pct4, h7, pct7
    kolada: pd.DataFrame | None
    schools: pd.DataFrame | None  # school year ending in year − KOLADA_LAG
    schools_now: pd.DataFrame | None  # school year ending in year
    unemployment: pd.DataFrame | None  # stadsdel, invanare_18_64, arbetslosa_18_64, andel (+ municipality)
    bistand_years: pd.DataFrame | None  # ar, hushall, cell_lang, cell_fam
    bistand: pd.DataFrame | None  # stadsdel, hushall, cell_lang, cell_fam (report year)
    psych: pd.DataFrame | None  # omrade, ar, matt, invanare_0_17, cell
    districts: pd.DataFrame | None  # the needs beside the factors
    reporters: pd.DataFrame | None  # omrade, grupp, cell, barn_0_17
    observed: pd.DataFrame | None = None  # ar, cell: the municipality's aktualiseringar 0–17, last years
    expected: pd.DataFrame | None = None  # expected_inflow() of the report year
    expected_cells: dict[str, str] | None = None  # district → cell of the aktualiseringar behind its rate
    years_cases: list[int] = field(default_factory=list)


def _aktualiseringar(akt: pd.DataFrame, year: int) -> pd.DataFrame:
    """The aktualiseringar of the report for ``year`` (:func:`helpers.chapters.inflode.prepare`) without
    their ids, which this chapter does not use (at volume they are most of the frame)."""
    from helpers.chapters import inflode

    return inflode.prepare(akt.drop(columns=["aktualisering_id", "person_id"], errors="ignore"),
                           inflode.cutoff_date(year))


def _aktualiseringar_0_17(akt: pd.DataFrame, year: int) -> pd.DataFrame:
    """``ar`` (int) and ``stadsdel`` (str) of the aktualiseringar 0–17 of the report for ``year`` up to
    that year: the rows of :func:`_aktualiseringar` with ``alderskategori`` 0–17 and ``ar`` up to
    ``year``, found on the code columns instead of preparing every record (the model needs counts only)."""
    from helpers.chapters import inflode

    kat = codes.load("aktualiseringstyper").set_index("aktualiseringstyp")["alderskategori"]
    keep = ((akt["inkom_datum"] <= inflode.cutoff_date(year)) & (akt["aktualiseringstyp"].map(kat) == "0-17")
            & (akt["ar"].astype(int) <= year))
    a = akt.loc[keep.to_numpy(), ["ar", "stadsdel"]]
    return pd.DataFrame({"ar": a["ar"].astype(int), "stadsdel": as_text(a["stadsdel"])})


def _records(parts: list[pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(parts, ignore_index=True, sort=False)


def tabulate(*, year: int, akt: pd.DataFrame, utr: pd.DataFrame, ins: pd.DataFrame, befolkning: pd.DataFrame,
             struktur: dict[str, pd.DataFrame | None], public: dict[str, pd.DataFrame | None]) -> StructuralTables:
    """Everything the chapter publishes for ``year``. ``struktur`` holds the processed tables of the
    yearly extract (``befolkningsprognos``, ``arbetsloshet``, ``ekonomiskt_bistand``,
    ``skolresultat``, ``psykisk_ohalsa``; None when not delivered), ``public`` those of
    ``struktur_offentlig`` (``befolkning_alder``, ``struktur_nyckeltal``)."""
    from helpers.chapters import placeringar

    # population 0–17 per district and year (the denominators)
    b = befolkning[befolkning["aldersgrupp"].astype(str) != "18-20"]
    pop017 = b.groupby([b["ar"].astype(int), b["stadsdel"].astype(str)])["antal"].sum()
    years_pop = sorted({int(y) for y, _ in pop017.index})
    if year not in years_pop:
        raise ValueError(f"Året {year} finns inte i befolkningsdata (tillgängliga år: {', '.join(map(str, years_pop))}).")
    areas = sorted(pop017.loc[year].index, key=codes.values("stadsdelar").index)

    # --- records of the social services and health care, one CellSet -------------------------------
    a = _aktualiseringar(akt, year)
    a = a[(a["alderskategori"] == "0-17") & (a["ar"] <= year)]
    a = a.assign(kalla="akt", stadsdel=a["stadsdel"].astype(str))[["kalla", "ar", "stadsdel", "anmalare", "typ", "omrade"]]
    u = utr.copy()
    u["ar"] = pd.to_datetime(u["start_datum"]).dt.year
    u = u[(u["ar"] <= year) & (u["alder"].astype(int) <= 17)]
    u = u.drop_duplicates("utredning_id").assign(kalla="utr", stadsdel=u["stadsdel"].astype(str))[["kalla", "ar", "stadsdel"]]
    p = placeringar.prepare(ins, placeringar.cutoff_date(year))
    p = p[p["period_first"] & (p["alder"].astype(int) <= 17)]
    p = p.assign(kalla="plac", ar=p["period_start"].dt.year, stadsdel=p["stadsdel"].astype(str))
    p = p[p["ar"] <= year][["kalla", "ar", "stadsdel"]]
    parts = [a, u, p]

    eb = struktur.get("ekonomiskt_bistand")
    eb = eb[eb["ar"].astype(int) <= year] if eb is not None else None
    if eb is not None and len(eb):
        hh = eb.loc[eb.index.repeat(eb["hushall_langvarigt"].astype(int))].copy()
        rank_ = hh.groupby(["ar", "stadsdel"]).cumcount()
        hh["barnfamilj"] = rank_ < hh["varav_barnfamiljer"].astype(int)
        parts.append(hh.assign(kalla="hh", ar=hh["ar"].astype(int), stadsdel=hh["stadsdel"].astype(str))
                     [["kalla", "ar", "stadsdel", "barnfamilj"]])
    po = of_year(struktur.get("psykisk_ohalsa"), year)
    if po is not None:
        w = po.pivot_table(index=["ar_serie", "matt"], columns="omrade", values="antal", aggfunc="sum").fillna(0)
        recs = []
        for (y, matt), r in w.iterrows():
            own = int(r.get(MUNICIPALITY, 0))
            rest = max(int(r.get(COUNTY, 0)) - own, 0)
            recs.append(pd.DataFrame({"kalla": "psyk", "ar": int(y), "matt": str(matt),
                                      "lan_del": [MUNICIPALITY] * own + ["Övriga länet"] * rest}))
        if recs:
            parts.append(pd.concat(recs, ignore_index=True))
    rec = _records(parts)
    rec["ar"] = rec["ar"].astype(int)
    cs = CellSet(rec, unit="personer och ärenden")
    is_ = {k: rec["kalla"] == k for k in ("akt", "utr", "plac", "hh", "psyk")}
    in_year = rec["ar"] == year

    # the needs per district (report year) and the municipality
    districts = pd.DataFrame({"stadsdel": areas, "barn_0_17": [int(pop017.loc[(year, s)]) for s in areas]})
    for key, name in (("akt", "aktualiseringar"), ("utr", "utredningar"), ("plac", "placeringar")):
        t = cs.tabulate(f"stadsdel-{name}", by="stadsdel", where=is_[key] & in_year, levels={"stadsdel": areas})
        districts[f"cell_{name}"] = t["cell"].to_numpy()
        districts[f"n_{name}"] = t["antal"].to_numpy()
    # the municipality's aktualiseringar in the years behind the expected inflow
    yrs_obs = [y for y in sorted(int(v) for v in rec.loc[is_["akt"], "ar"].unique()) if y > year - RATE_YEARS]
    observed = cs.tabulate("kommunen-aktualiseringar", by="ar", where=is_["akt"] & rec["ar"].isin(yrs_obs),
                           levels={"ar": yrs_obs})
    first_pop = years_pop[0] if years_pop[0] < year else None
    if first_pop is not None:
        districts["tillvaxt_pct"] = [100 * (pop017.loc[(year, s)] / pop017.loc[(first_pop, s)] - 1)
                                     if (first_pop, s) in pop017.index else np.nan for s in areas]
    districts.attrs["tillvaxt_fran"] = first_pop

    # reporters per area type (anmälningar 0–17 of the report year)
    reporters = None
    anm = is_["akt"] & in_year & (rec["typ"] == "anmälan")
    if anm.any():
        rec["grupp"] = np.where(rec["anmalare"].isin(NEIGHBOURHOOD), "narområde", "ovriga")
        reporters = cs.tabulate("anmalare-omrade", by=["omrade", "grupp"], where=anm,
                                levels={"omrade": [AREA_UTSATT, AREA_OVRIGA], "grupp": ["narområde", "ovriga"]})
        ut = codes.utsatta_omraden()
        pu = sum(int(pop017.loc[(year, s)]) for s in areas if s in ut)
        reporters["barn_0_17"] = reporters["omrade"].map({AREA_UTSATT: pu, AREA_OVRIGA: int(pop017.loc[year].sum()) - pu})

    # households with long-term bistånd: the municipality per year and the districts in the report year
    bistand_years = bistand = None
    if eb is not None and len(eb):
        yrs = sorted(int(y) for y in eb["ar"].unique())
        t_l = cs.tabulate("bistand-langvarigt", by="ar", where=is_["hh"], levels={"ar": yrs})
        t_f = cs.tabulate("bistand-barnfamiljer", by="ar", where=is_["hh"] & rec["barnfamilj"].fillna(False).astype(bool),
                          levels={"ar": yrs})
        hh_tot = eb.groupby(eb["ar"].astype(int))["hushall"].sum()
        bistand_years = pd.DataFrame({"ar": yrs, "hushall": [int(hh_tot[y]) for y in yrs],
                                      "cell_lang": t_l["cell"].to_numpy(), "cell_fam": t_f["cell"].to_numpy()})
        e = eb[eb["ar"].astype(int) == year]
        if len(e):
            d_areas = [s for s in areas if s in set(e["stadsdel"].astype(str))]
            t_l = cs.tabulate("stadsdel-bistand-langvarigt", by="stadsdel", where=is_["hh"] & in_year,
                              levels={"stadsdel": d_areas})
            t_f = cs.tabulate("stadsdel-bistand-barnfamiljer", by="stadsdel",
                              where=is_["hh"] & in_year & rec["barnfamilj"].fillna(False).astype(bool),
                              levels={"stadsdel": d_areas})
            hh_d = e.groupby(e["stadsdel"].astype(str))["hushall"].sum()
            bistand = pd.DataFrame({"stadsdel": d_areas, "hushall": [int(hh_d[s]) for s in d_areas],
                                    "cell_lang": t_l["cell"].to_numpy(), "cell_fam": t_f["cell"].to_numpy()})

    psych = None
    if po is not None and is_["psyk"].any():
        yrs = sorted(int(y) for y in po["ar_serie"].unique())
        rows = []
        for matt in (COMPULSORY, BUP):
            m = is_["psyk"] & (rec["matt"] == matt)
            t_own = cs.tabulate(f"psyk-{slug(matt)}-kommun", by="ar", where=m & (rec["lan_del"] == MUNICIPALITY),
                                levels={"ar": yrs})
            t_cty = cs.tabulate(f"psyk-{slug(matt)}-lan", by="ar", where=m, levels={"ar": yrs})
            for area, t in ((MUNICIPALITY, t_own), (COUNTY, t_cty)):
                inv = po[(po["omrade"].astype(str) == area) & (po["matt"].astype(str) == matt)].set_index("ar_serie")["invanare_0_17"]
                for y, c in zip(yrs, t["cell"], strict=True):
                    rows.append({"omrade": area, "ar": y, "matt": matt, "cell": c,
                                 "invanare_0_17": int(inv.get(y, 0)) if y in inv.index else np.nan})
        psych = pd.DataFrame(rows)

    # factors
    unemployment = None
    al = of_year(struktur.get("arbetsloshet"), year)
    if al is not None:
        unemployment = al.assign(stadsdel=al["stadsdel"].astype(str))[["stadsdel", "invanare_18_64", "arbetslosa_18_64"]]
        unemployment.loc[len(unemployment)] = [MUNICIPALITY, unemployment["invanare_18_64"].sum(),
                                               unemployment["arbetslosa_18_64"].sum()]
        unemployment["andel"] = 100 * unemployment["arbetslosa_18_64"] / unemployment["invanare_18_64"]
    skol = struktur.get("skolresultat")
    sch = sch_now = None
    if skol is not None:
        if (skol["ar"].astype(int) == year - KOLADA_LAG).any():
            sch = schools(skol, year - KOLADA_LAG)
        if (skol["ar"].astype(int) == year).any():
            sch_now = schools(skol, year)
    prog = struktur.get("befolkningsprognos")
    fc = forecast_change(prog, year) if prog is not None and (prog["ar"].astype(int) == year).any() else None

    districts = districts.set_index("stadsdel")
    if unemployment is not None:
        districts["arbetsloshet_pct"] = unemployment.set_index("stadsdel")["andel"]
    if eb is not None and (eb["ar"].astype(int) == year).any():
        e = eb[eb["ar"].astype(int) == year].set_index(eb.loc[eb["ar"].astype(int) == year, "stadsdel"].astype(str))
        districts["hushall"] = e["hushall"]
    if skol is not None and (skol["ar"].astype(int) == year).any():
        districts["skola_pct"] = district_school_share(skol, year)
    if fc is not None and f"pct{HORIZONS[0]}" in fc.columns:
        districts["prognos_pct"] = fc.set_index("stadsdel")[f"pct{HORIZONS[0]}"]
    districts = districts.reset_index()
    if bistand is not None:
        districts = districts.merge(bistand[["stadsdel", "cell_lang"]], on="stadsdel", how="left")

    bal = public.get("befolkning_alder")
    pop = growth = None
    if bal is not None and len(bal):
        own = bal[bal["region_id"].astype(str) == "0580"] if (bal["region_id"].astype(str) == "0580").any() else bal
        pop = population_by_group(own, year)
        if len(pop) and pop["ar"].nunique() > 1:
            growth = population_growth(pop)

    # the expected inflow: what it reveals is registered (the bases per district, and the
    # municipality's expected count as a weighted sum of them), so disclosure control covers it
    expected = expected_cells = None
    if prog is not None and (prog["ar"].astype(int) == year).any():
        expected = expected_inflow(akt, befolkning, prog, year)
    if expected is not None:
        base_years = [y for y in yrs_obs if y > year - RATE_YEARS]
        d_areas = sorted(set(expected["stadsdel"]) - {MUNICIPALITY}, key=codes.values("stadsdelar").index)
        t_b = cs.tabulate("inflode-bas", by="stadsdel", where=is_["akt"] & rec["ar"].isin(base_years),
                          levels={"stadsdel": d_areas})
        expected_cells = dict(zip(t_b["stadsdel"], t_b["cell"], strict=True))
        for h in sorted(set(expected["ar"])):
            e = expected[(expected["ar"] == h) & (expected["stadsdel"] != MUNICIPALITY)]
            weights = {}
            for r in e.itertuples():
                n = int(t_b.loc[t_b["stadsdel"] == r.stadsdel, "antal"].iloc[0])
                if n:
                    weights[expected_cells[r.stadsdel]] = r.forvantat / n
            if weights:
                cs.combination(f"inflode-forvantat-{h}", weights)
    cs.prefer(*observed["cell"], *districts["cell_aktualiseringar"])
    return StructuralTables(year, cs, pop, growth, fc, kolada_series(public.get("struktur_nyckeltal"), year),
                            sch, sch_now, unemployment, bistand_years, bistand, psych, districts, reporters,
                            observed, expected, expected_cells, sorted(int(y) for y in a["ar"].unique()))


def tabulate_protected(publisher, **kw) -> StructuralTables:
    t = tabulate(**kw)
    publisher.protect(t.cells)
    return t


# --- the count model and the expected inflow -------------------------------------------------------


@dataclass
class CountModel:
    n_obs: int
    n_districts: int
    years: list[int]
    terms: pd.DataFrame  # term, label, irr, low, high, p
    dispersion: float
    scaled: bool
    correlation: float  # between the two factors across the observations (|r| > COLLINEAR: one factor)


MODEL_TERMS = {"arbetsloshet_5pp": "Arbetslöshet 18–64 år (per 5\u00a0procentenheter)",
               "bistand_1pp": "Hushåll med långvarigt ekonomiskt bistånd (per procentenhet)"}


def model_data(akt: pd.DataFrame, befolkning: pd.DataFrame, arbetsloshet: pd.DataFrame | None,
               bistand: pd.DataFrame | None, year: int) -> pd.DataFrame | None:
    """One row per district and year up to ``year`` with aktualiseringar 0–17, the population 0–17
    and the two factors; None when a factor is missing."""

    if arbetsloshet is None or bistand is None:
        return None
    a = _aktualiseringar_0_17(akt, year)
    n = a.groupby([a["ar"], a["stadsdel"]]).size().rename("n")
    b = befolkning[befolkning["aldersgrupp"].astype(str) != "18-20"]
    pop = b.groupby([b["ar"].astype(int), b["stadsdel"].astype(str)])["antal"].sum().rename("pop")
    al = arbetsloshet.assign(ar=arbetsloshet["ar"].astype(int), stadsdel=arbetsloshet["stadsdel"].astype(str))
    al["arbetsloshet_5pp"] = 100 * al["arbetslosa_18_64"] / al["invanare_18_64"] / 5
    eb = bistand.assign(ar=bistand["ar"].astype(int), stadsdel=bistand["stadsdel"].astype(str))
    eb["bistand_1pp"] = 100 * eb["hushall_langvarigt"] / eb["hushall"]
    d = pd.concat([pop, n], axis=1).reset_index().rename(columns={"level_0": "ar", "level_1": "stadsdel"})
    d.columns = ["ar", "stadsdel", "pop", "n"]
    d = d.merge(al[["ar", "stadsdel", "arbetsloshet_5pp"]], on=["ar", "stadsdel"]).merge(
        eb[["ar", "stadsdel", "bistand_1pp"]], on=["ar", "stadsdel"])
    d = d[(d["ar"] <= year) & (d["pop"] > 0)]
    d["n"] = d["n"].fillna(0).astype(int)
    return d.reset_index(drop=True) if len(d) else None


def fit_count_model(d: pd.DataFrame | None, alpha: float = 0.05) -> CountModel | None:
    """Poisson regression of aktualiseringar per district and year on the two factors, with year
    effects and log population 0–17 as offset. When the data are over-dispersed (Pearson χ²/df
    above :data:`DISPERSION_LIMIT`), the standard errors are scaled by it (quasi-Poisson). None
    when there are too few observations for the terms."""
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    if d is None or d["stadsdel"].nunique() < 5 or len(d) < 10:
        return None
    r = float(np.corrcoef(d["arbetsloshet_5pp"], d["bistand_1pp"])[0, 1])
    # Two factors that vary almost together cannot be told apart: keep unemployment only.
    terms = [t for t in MODEL_TERMS if abs(r) <= COLLINEAR or t == "arbetsloshet_5pp"]
    formula = "n ~ " + " + ".join(terms) + (" + C(ar)" if d["ar"].nunique() > 1 else "")
    model = smf.glm(formula, data=d, family=sm.families.Poisson(), offset=np.log(d["pop"]))
    fit = model.fit()
    dispersion = float(fit.pearson_chi2 / fit.df_resid) if fit.df_resid > 0 else float("nan")
    scaled = bool(dispersion > DISPERSION_LIMIT)
    if scaled:
        fit = model.fit(scale="X2")
    ci = fit.conf_int(alpha)
    rows = []
    for term in terms:
        label = MODEL_TERMS[term]
        rows.append({"term": term, "label": label, "irr": float(np.exp(fit.params[term])),
                     "low": float(np.exp(ci.loc[term, 0])), "high": float(np.exp(ci.loc[term, 1])),
                     "p": float(fit.pvalues[term])})
    return CountModel(len(d), int(d["stadsdel"].nunique()), sorted(int(y) for y in d["ar"].unique()),
                      pd.DataFrame(rows), dispersion, scaled, r)


def expected_inflow(akt: pd.DataFrame, befolkning: pd.DataFrame, prog: pd.DataFrame, year: int,
                    horizon: int = HORIZONS[0], alpha: float = 0.05) -> pd.DataFrame | None:
    """Expected aktualiseringar 0–17 per district and for the municipality in each year after
    ``year`` up to ``horizon``: the district's rate per child (the last up to :data:`RATE_YEARS`
    years) times its children 0–17 grown as the forecast 0–18 grows. The interval is a prediction
    interval (1 − ``alpha``) from a gamma–Poisson simulation: uncertainty of the rate and the
    year's random variation; the forecast itself is taken as given. Columns ar, stadsdel,
    forvantat, lag, hog, bas_ar."""

    a = _aktualiseringar_0_17(akt, year)
    a = a[a["ar"] > year - RATE_YEARS]
    b = befolkning[(befolkning["aldersgrupp"].astype(str) != "18-20")]
    pop = b.groupby([b["ar"].astype(int), b["stadsdel"].astype(str)])["antal"].sum()
    p = prog[prog["ar"].astype(int) == year]
    fw = p.pivot_table(index=p["stadsdel"].astype(str), columns="prognosar", values="antal_0_18", aggfunc="sum")
    if year not in fw.columns:
        return None
    years_used = sorted(int(y) for y in a["ar"].unique())
    if not years_used:
        return None
    n = a.groupby(a["stadsdel"].astype(str)).size()
    rng = np.random.default_rng(SEED)
    rows, total_draws = [], {}
    for s in fw.index:
        exposure = sum(int(pop.get((y, s), 0)) for y in years_used)
        if exposure <= 0 or fw.loc[s, year] <= 0:
            continue
        k = int(n.get(s, 0))
        rate = rng.gamma(k + 0.5, 1.0 / exposure, SIMULATIONS)
        for h in range(1, horizon + 1):
            if year + h not in fw.columns:
                continue
            children = int(pop.get((year, s), 0)) * fw.loc[s, year + h] / fw.loc[s, year]
            mean = k / exposure * children
            draws = rng.poisson(rate * children)
            total_draws[year + h] = total_draws.get(year + h, 0) + draws
            lo, hi = np.quantile(draws, [alpha / 2, 1 - alpha / 2])
            rows.append({"ar": year + h, "stadsdel": s, "forvantat": mean, "lag": float(lo), "hog": float(hi)})
    if not rows:
        return None
    out = pd.DataFrame(rows)
    for y, draws in total_draws.items():
        lo, hi = np.quantile(draws, [alpha / 2, 1 - alpha / 2])
        rows.append({"ar": y, "stadsdel": MUNICIPALITY, "forvantat": float(out.loc[out["ar"] == y, "forvantat"].sum()),
                     "lag": float(lo), "hog": float(hi)})
    out = pd.DataFrame(rows)
    out["bas_ar"] = f"{years_used[0]}–{years_used[-1]}" if len(years_used) > 1 else str(years_used[0])
    return out


# --- key figures -----------------------------------------------------------------------------------


def key_figures(pub, t: StructuralTables) -> None:
    """The report's structural figures (ids as in the reference list, years from the data)."""
    kf = pub.key_figure
    year = t.year
    if t.growth is not None:
        g = t.growth.set_index("aldersgrupp")
        kf(f"structural_pop_0_19_growth_since_{int(g.loc['0-19', 'fran'])}", "percent",
           "Förändring av folkmängden 0–19 år i kommunen", value=float(g.loc["0-19", "pct"]))
    if t.kolada is not None:
        own = t.kolada[(t.kolada["namn"] == "ak9_alla_amnen") & (t.kolada["kommun"] == MUNICIPALITY)].set_index("ar")["varde"]
        since = falling_since(own)
        if since is not None:
            kf("structural_school_results_declining_since", "year",
               "År sedan vilket andelen elever i åk 9 som uppnått kunskapskraven i alla ämnen har minskat varje år",
               value=since, year=year - KOLADA_LAG)
        ky = year - KOLADA_LAG
        if ky in own.index:
            kf(f"structural_ak9_all_subjects_linkoping_{ky - 1}_{ky}", "percent",
               f"Elever i åk 9 som uppnått kunskapskraven i alla ämnen, kommunen (Kolada), läsåret {ky - 1}/{ky}",
               value=float(own[ky]), year=ky)
    if t.schools is not None:
        ky = year - KOLADA_LAG
        for r in t.schools.itertuples():
            if not np.isnan(r.andel):
                kf(f"structural_ak9_all_subjects_{slug(r.skola)}_{ky - 1}_{ky}", "percent",
                   f"Elever i åk 9 som uppnått kunskapskraven i alla ämnen, {r.skola}, läsåret {ky - 1}/{ky}",
                   value=float(r.andel), year=ky)
    if t.schools_now is not None:
        s = t.schools_now
        kf(f"structural_ak9_pass_linkoping_{year}", "percent",
           f"Elever i åk 9 som uppnått kunskapskraven i alla ämnen, kommunens skolor i extraktet, läsåret {year - 1}/{year}",
           value=100 * float(s["uppnatt"].sum()) / float(s["elever"].sum()))
        d = s.groupby("stadsdel")[["elever", "uppnatt"]].sum()
        for area in d.index:
            if d.loc[area, "elever"] >= MIN_PUPILS:
                kf(f"structural_ak9_pass_{slug(area)}_{year}", "percent",
                   f"Elever i åk 9 som uppnått kunskapskraven i alla ämnen, skolorna i {area}, läsåret {year - 1}/{year}",
                   value=100 * float(d.loc[area, "uppnatt"]) / float(d.loc[area, "elever"]))
    if t.unemployment is not None:
        for r in t.unemployment.itertuples():
            key = "linkoping_total" if r.stadsdel == MUNICIPALITY else slug(r.stadsdel)
            kf(f"structural_unemployment_{key}", "percent",
               f"Öppet arbetslösa och i program med aktivitetsstöd 18–64 år, {r.stadsdel}", value=float(r.andel))
    if t.bistand_years is not None and year in set(t.bistand_years["ar"]):
        r = t.bistand_years.set_index("ar").loc[year]
        kf("structural_longterm_assistance_families_with_children_share", "percent",
           "Andel barnfamiljer bland hushållen med långvarigt ekonomiskt bistånd", share=(r["cell_fam"], r["cell_lang"]))
    if t.psych is not None:
        s = compulsory_series(pub, t)
        if s is not None and s.notna().sum() >= 3:
            run = peak_run(s)
            if run is not None and run[1] < int(s.dropna().index.max()):
                kf("structural_psych_compulsory_care_peak_years", "year",
                   "Första året av toppen i antalet unga i psykiatrisk tvångsvård", value=run[0])
                after = s[s.index > run[1]].dropna()
                lower = after[after < s[run[1]]]
                if len(lower):
                    kf("structural_psych_compulsory_care_decline_year", "year",
                       "Första året efter toppen med färre unga i psykiatrisk tvångsvård", value=int(lower.index[0]))
    if t.forecast is not None:
        for area in forecast_areas(t):
            for h in HORIZONS:
                if f"h{h}" in t.forecast.columns:
                    kf(f"structural_chart_pop_forecast_{slug(area)}_horizon_{year + h}", "year",
                       f"Befolkningsprognos 0–18 år, {area}: prognosens sista år i diagrammet", value=year + h)


def compulsory_series(pub, t: StructuralTables) -> pd.Series | None:
    """The municipality's young people in compulsory psychiatric care per year, as published
    (NaN where hidden)."""
    if t.psych is None:
        return None
    p = t.psych[(t.psych["omrade"] == MUNICIPALITY) & (t.psych["matt"] == COMPULSORY)]
    vals = [pub.value(c) for c in p["cell"]]
    return pd.Series([np.nan if v is None else float(v) for v in vals], index=p["ar"].astype(int).to_numpy())


def forecast_areas(t: StructuralTables) -> list[str]:
    """The municipality and the district with the largest forecast growth (the report's two
    forecast charts: Linköping and Skäggetorp)."""
    if t.forecast is None:
        return []
    col = f"pct{HORIZONS[-1]}" if f"pct{HORIZONS[-1]}" in t.forecast.columns else f"pct{HORIZONS[0]}"
    d = t.forecast[t.forecast["stadsdel"] != MUNICIPALITY]
    if col not in d.columns or not len(d):
        return [MUNICIPALITY]
    return [MUNICIPALITY, str(d.sort_values([col, "stadsdel"], ascending=[False, True])["stadsdel"].iloc[0])]


def protected_rates(pub, cells: pd.Series | list[str], population, per: float = 1000) -> tuple[list[float], list[str]]:
    """Rates ``per`` inhabitants of protected counts: NaN with the count's mark where the count
    is hidden (the rate and the published population would give it back)."""
    values, marks = [], []
    for c, n in zip(list(cells), list(population), strict=True):
        v = pub.value(c)
        ok = v is not None and n is not None and not pd.isna(n) and float(n) > 0
        values.append(per * v / float(n) if ok else np.nan)
        marks.append("" if ok else (pub._mark(c) or HIDDEN))
    return values, marks
