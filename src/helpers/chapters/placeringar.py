"""Computations of the Placeringar chapter: children placed outside the home (heldygnsinsatser).

Two sources: the placements in the processed ``insatser`` table (the forms whose ``form`` is
``heldygn`` in the code list ``insatstyper``), for the measures official statistics on children in
care publish and the report's ended placements; and the December review of placements in HVB and
stödboende (``placeringar_december``, as the 2021 report's review of December 2020), whose rows are
placements of the same table (joined on ``insats_id``), so one CellSet holds both.

Units. The records are placements. A child's consecutive placements form one *period of care*
(:mod:`helpers.analysis.care`); a period is counted as its first placement and a child as its
first placement in the year, so every count (placements, periods, children) is a sum of records
and one :class:`~helpers.analysis.disclosure.CellSet` protects them together. A move between forms
within a period is not an ending.

Vintage: as in the Utfall chapter, a report for year Y sees the placements as they were known on
31 December of Y (:func:`helpers.chapters.records.as_known_on`).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from helpers.analysis import care
from helpers.analysis.disclosure import CellSet
from helpers.chapters.records import (
    AREA_OVRIGA,
    AREA_UTSATT,
    as_known_on,
    case_columns,
    first_per_person,
)
from helpers.data import codes

#: Children with at least this many placements during a year count as having unstable care.
UNSTABLE = 3


def heldygn_forms() -> list[str]:
    df = codes.load("insatstyper")
    return df.loc[df["form"] == "heldygn", "insatstyp"].tolist()


def cutoff_date(year: int) -> pd.Timestamp:
    return pd.Timestamp(year=int(year), month=12, day=31)


def prepare(ins: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """Placements (heldygn insatser) as known on ``cutoff``, with ``period_id`` (period of care),
    ``period_first`` (the period's first placement), ``lagrum_grupp`` ("SoL"/"LVU") and the
    derived case columns."""
    forms = heldygn_forms()
    df = ins[ins["insatstyp"].astype(str).isin(forms)]
    df = case_columns(as_known_on(df, cutoff, ("avslutsorsak", "situation_efter")))
    df["insatstyp"] = df["insatstyp"].astype(str)
    df["lagrum_grupp"] = df["lagrum"].astype(str).map(lambda v: "LVU" if v.startswith("LVU") else "SoL")
    df = df.reset_index(drop=True)
    df["period_id"] = care.period_ids(df)
    df["period_first"] = first_per_person(df, pd.Series(True, index=df.index), ["period_id"],
                                          ["start_datum", "insats_id"])
    periods = care.periods_of_care(df).set_index("period_id")
    df["period_start"] = df["period_id"].map(periods["start_datum"])
    df["period_slut"] = df["period_id"].map(periods["slut_datum"])
    return df


#: The report's groups of ended placements (form group, age band of the age at the start).
FAMILJEHEM_FORMS = ("Familjehem", "Jourhem")
AGE_BANDS = {"0-13": (0, 13), "14-20": (14, 20)}
HVB_FORMS = ("HVB",)
STOD = "Stödboende"
BYTE = "Byte av placeringsform"
#: Labels of the groups of ended placements.
GROUP_LABELS = {"familjehem_0-13": "Familjehem och jourhem, 0–13 år", "familjehem_14-20": "Familjehem och jourhem, 14–20 år",
                "hvb": "HVB (utan ensamkommande)", "hvb_ensamkommande": "HVB, ensamkommande barn",
                "stodboende": "Stödboende", "sis": "Särskilt ungdomshem (SiS)"}
#: The endings the report's charts show (the others are pooled as Övrigt).
CHART_ENDINGS = ("Avbruten", "Enligt plan", "Övergår till annan insats", "Övrigt")
OTHER_DISTRICTS = "Övriga stadsdelar"
#: Age groups at the start of a period of care (durations by age).
START_AGES = ("0-12", "13-17", "18-20")
#: The review's forms.
REVIEW_FORMS = ("HVB", "Stödboende")


def ended_group(df: pd.DataFrame) -> pd.Series:
    """The report's group of an ended placement: ``familjehem_0-13``, ``familjehem_14-20``, ``hvb``
    (not ensamkommande), ``hvb_ensamkommande``, ``stodboende`` or ``sis``."""
    form = df["insatstyp"].astype(str)
    uam = _uam(df)
    fam = form.isin(FAMILJEHEM_FORMS)
    out = pd.Series(None, index=df.index, dtype=object)
    out[fam & (df["alder"] <= 13)] = "familjehem_0-13"
    out[fam & (df["alder"] >= 14)] = "familjehem_14-20"
    out[(form == "HVB") & ~uam] = "hvb"
    out[(form == "HVB") & uam] = "hvb_ensamkommande"
    out[form == STOD] = "stodboende"
    out[form == "SIS"] = "sis"
    return out


def _uam(df: pd.DataFrame) -> pd.Series:
    """Ensamkommande (False where the column is blank or missing)."""
    if "ensamkommande" not in df.columns:
        return pd.Series(False, index=df.index)
    return df["ensamkommande"].astype(object).where(df["ensamkommande"].notna(), False).astype(bool)


def chart_ticks(top_value: float) -> list[int]:
    """Ticks of a count axis: steps of 1, 2, 5, 10, 20, 50 … with at most six intervals."""
    top_value = max(float(top_value), 1.0)
    step = 1
    mult = [1, 2, 5]
    k = 0
    while -(-top_value // step) > 6:
        k += 1
        step = mult[k % 3] * 10 ** (k // 3)
    top = int(-(-top_value // step) * step)
    return list(range(0, top + 1, step))


@dataclass
class CareTables:
    """Counts of the measures of children in care, registered in :attr:`cells`."""

    year: int
    years: list[int]
    cells: CellSet
    records: pd.DataFrame
    stock: pd.DataFrame  # ar, insatstyp, antal, cell: placements ongoing on 31 December
    stock_total: pd.DataFrame  # ar, antal, cell
    started: pd.DataFrame  # ar, antal, cell: periods of care started
    ended: pd.DataFrame  # ar, antal, cell: periods of care ended (the child left care)
    children: pd.DataFrame  # ar, antal, cell: children in care at some time in the year
    unstable: pd.DataFrame  # ar, antal, cell: children with UNSTABLE or more placements in the year
    districts: pd.DataFrame  # stadsdel, utsatt_omrade, antal, cell, barn_0_20 (stock 31 Dec, report year)
    reentry: pd.DataFrame  # aterkom, antal, cell: periods ended the year before, followed a year
    reentry_total: str
    transitions: pd.DataFrame  # ar, antal, cell: periods started in the year with a change SoL ↔ LVU
    ended_placements: pd.DataFrame = None  # placements ended (not a move between forms): ar, grupp, avslutsorsak, antal, cell
    ended_groups: pd.DataFrame = None  # ar, grupp, antal, cell
    situation: pd.DataFrame = None  # ar, situation_efter, antal, cell: ended placements (all forms)
    situation_total: pd.DataFrame = None  # ar, antal, cell
    stod_uam: pd.DataFrame = None  # ar, avslutsorsak, ensamkommande, antal, cell: stödboende ended enligt plan, ensamkommande
    review_year: bool = False  # the report year has a December review
    review: dict = None  # name → tabulated frame of the review (report year)
    review_total: str = ""
    review_registered_hvb: str = ""  # cell: placements registered as HVB (review)
    review_neither: pd.DataFrame = None  # stadsdel, antal, cell: neither adequate school nor prior öppenvård
    review_neither_total: str = ""
    review_no_open: str = ""
    review_neither_top: str = ""  # the district with the most children with neither
    started_form: pd.DataFrame = None  # insatstyp, antal, cell: periods started in the years shown
    started_age: pd.DataFrame = None  # aldersgrupp_start, antal, cell: the same by age at the start
    stock_uam: pd.DataFrame = None  # ar, antal, cell: ensamkommande among the placements on 31 December
    stod_uam_total: pd.DataFrame = None  # ar, antal, cell: ended stödboende placements of ensamkommande
    ended_lagrum: pd.DataFrame = None  # grupp, lagrum_grupp, antal, cell: the report year's ended placements


def tabulate(ins: pd.DataFrame, befolkning: pd.DataFrame, year: int, *, span: int = 2,
             review: pd.DataFrame | None = None) -> CareTables:
    """Register the care measures of ``year`` (and up to ``span`` earlier years in the data), and
    the December review of ``year`` if ``review`` holds it."""
    cutoff = cutoff_date(year)
    df = prepare(ins, cutoff)
    available = sorted(int(y) for y in ins["ar"].dropna().unique() if int(y) <= year)
    if year not in available:
        raise ValueError(f"Året {year} finns inte i data (tillgängliga år: {', '.join(map(str, available))}).")
    years = [y for y in available if year - span <= y <= year]

    # One flag per year and measure on the record that represents what is counted.
    for y in years:
        on_31 = care.ongoing_on(df, f"{y}-12-31")
        df[f"stock_{y}"] = on_31
        df[f"started_{y}"] = df["period_first"] & (df["period_start"].dt.year == y)
        # A period's end is counted on its first placement, like its start.
        df[f"ended_{y}"] = df["period_first"] & (df["period_slut"].dt.year == y)
        active = care.active_in(df, y)
        df[f"child_{y}"] = first_per_person(df, active, [], ["start_datum", "insats_id"])
        per_child = active.groupby(df["person_id"]).transform("sum")
        df[f"unstable_{y}"] = df[f"child_{y}"] & (per_child >= UNSTABLE)
        df[f"byte_{y}"] = df[f"started_{y}"] & df["period_id"].map(
            df.groupby("period_id")["lagrum_grupp"].nunique() > 1)

    cs = CellSet(df, unit="placeringar")
    forms = heldygn_forms()

    # A record can count in several years (a placement ongoing on two 31 Decembers), so measures
    # that span years are registered year by year.
    stock_parts, stock_totals = [], []
    for y in years:
        col = f"stock_{y}"
        t = cs.tabulate(f"bestand-{y}", by="insatstyp", where=df[col], levels={"insatstyp": forms})
        stock_parts.append(t.assign(ar=y))
        stock_totals.append({"ar": y, "antal": int(df[col].sum()), "cell": cs.total(f"bestand-{y}-totalt", where=df[col])})
    stock = pd.concat(stock_parts, ignore_index=True)[["ar", "insatstyp", "antal", "cell"]]
    stock_total = pd.DataFrame(stock_totals)

    def yearly(name: str, kind: str) -> pd.DataFrame:
        rows = [{"ar": y, "antal": int(df[f"{kind}_{y}"].sum()), "cell": cs.total(f"{name}-{y}", where=df[f"{kind}_{y}"])}
                for y in years]
        return pd.DataFrame(rows)

    started = yearly("perioder-startade", "started")
    ended = yearly("perioder-avslutade", "ended")
    children = yearly("barn-i-vard", "child")
    unstable = yearly("barn-minst-tre-placeringar", "unstable")
    transitions = yearly("byte-sol-lvu", "byte")

    b = befolkning[befolkning["ar"].astype(int) == year]
    pop = b.groupby(b["stadsdel"].astype(str))["antal"].sum()
    districts = cs.tabulate("fig-placerade-per1000", by="stadsdel",
                            where=df[f"stock_{year}"] & df["stadsdel"].isin(pop.index),
                            levels={"stadsdel": list(pop.index)})
    districts["utsatt_omrade"] = districts["stadsdel"].isin(codes.utsatta_omraden())
    districts["barn_0_20"] = districts["stadsdel"].map(pop).astype(int)

    periods = care.periods_of_care(df)
    re = care.reentries(periods, cutoff=cutoff)
    prev_end = re[(re["slut_datum"].dt.year == year - 1) & re["followed"]]
    df["reentry_index"] = df["period_first"] & df["period_id"].isin(prev_end["period_id"])
    came_back = set(prev_end.loc[prev_end["returned"].fillna(False).astype(bool), "period_id"])
    df["aterkom"] = df["reentry_index"] & df["period_id"].isin(came_back)
    reentry = cs.tabulate("tbl-ateranbringande", by="aterkom", where=df["reentry_index"],
                          levels={"aterkom": [True, False]})
    reentry_total = cs.total("ateranbringande", where=df["reentry_index"])

    # The report's ended placements: the insats ended (a move between forms is not an ending).
    df["grupp"] = ended_group(df)
    df["slut_ar"] = df["slut_datum"].dt.year
    df["avslut_diagram"] = df["avslutsorsak"].astype(object).where(
        df["avslutsorsak"].astype(object).isin(CHART_ENDINGS), "Övrigt")
    real_end = df["slut_datum"].notna() & (df["avslutsorsak"].astype(object) != BYTE)
    groups = ["familjehem_0-13", "familjehem_14-20", "hvb", "hvb_ensamkommande", "stodboende", "sis"]
    e_parts, g_parts, s_parts, s_tot, st_parts, uam_tot = [], [], [], [], [], []
    sit_levels = codes.values("situation_efter")
    for y in years:
        w = real_end & (df["slut_ar"] == y)
        e_parts.append(cs.tabulate(f"avslutade-{y}", by=["grupp", "avslut_diagram"], where=w & df["grupp"].notna(),
                                   levels={"grupp": groups, "avslut_diagram": list(CHART_ENDINGS)}).assign(ar=y))
        g_parts.append(cs.tabulate(f"avslutade-grupp-{y}", by="grupp", where=w & df["grupp"].notna(),
                                   levels={"grupp": groups}).assign(ar=y))
        s_parts.append(cs.tabulate(f"situation-{y}", by="situation_efter", where=w & df["situation_efter"].notna(),
                                   levels={"situation_efter": sit_levels}).assign(ar=y))
        s_tot.append({"ar": y, "antal": int((w & df["situation_efter"].notna()).sum()),
                      "cell": cs.total(f"situation-{y}-totalt", where=w & df["situation_efter"].notna())})
        uam_tot.append({"ar": y, "antal": int((w & (df["insatstyp"] == STOD) & _uam(df)).sum()),
                        "cell": cs.total(f"stodboende-avslutade-ensamkommande-{y}",
                                         where=w & (df["insatstyp"] == STOD) & _uam(df))})
        plan_uam = w & (df["insatstyp"] == STOD) & _uam(df) & (df["avslut_diagram"] == "Enligt plan")
        st_parts.append({"ar": y, "avslutsorsak": "Enligt plan", "ensamkommande": "Ensamkommande",
                         "antal": int(plan_uam.sum()), "cell": cs.total(f"stodboende-enligt-plan-ensamkommande-{y}",
                                                                        where=plan_uam)})
    ended_p = pd.concat(e_parts, ignore_index=True).rename(columns={"avslut_diagram": "avslutsorsak"})
    ended_g = pd.concat(g_parts, ignore_index=True)
    situation = pd.concat(s_parts, ignore_index=True)
    situation_total = pd.DataFrame(s_tot)
    stod_uam = pd.DataFrame(st_parts)

    t = CareTables(year, years, cs, df, stock, stock_total, started, ended, children, unstable, districts,
                   reentry, reentry_total, transitions, ended_p, ended_g, situation, situation_total, stod_uam)
    t.stod_uam_total = pd.DataFrame(uam_tot)
    # The report year's ended placements by group and legal basis (SoL or LVU).
    w = real_end & (df["slut_ar"] == year) & df["grupp"].notna()
    t.ended_lagrum = cs.tabulate("tbl-avslutade-lagrum", by=["grupp", "lagrum_grupp"], where=w,
                                 levels={"grupp": groups, "lagrum_grupp": ["SoL", "LVU"]})
    # Periods of care started in the years shown, by the form of their first placement (the base
    # of the durations).
    first_in = df["period_first"] & df["period_start"].dt.year.isin(years)
    t.started_form = cs.tabulate("tbl-vardtid", by="insatstyp", where=first_in, levels={"insatstyp": forms})
    df["aldersgrupp_start"] = pd.cut(df["alder"], [-1, 12, 17, 20], labels=list(START_AGES)).astype(object)
    t.started_age = cs.tabulate("tbl-vardtid-alder", by="aldersgrupp_start", where=first_in,
                                levels={"aldersgrupp_start": list(START_AGES)})
    # Unaccompanied children among the placements ongoing on 31 December.
    t.stock_uam = pd.DataFrame([{"ar": y, "antal": int((df[f"stock_{y}"] & _uam(df)).sum()),
                                 "cell": cs.total(f"bestand-ensamkommande-{y}", where=df[f"stock_{y}"] & _uam(df))}
                                for y in years])

    # The December review of the report year, on the placement records (joined on insats_id).
    rv = review[review["ar"].astype(int) == year] if review is not None and len(review) else None
    if rv is not None and len(rv):
        t.review_year = True
        cols = ["insats_id", "registrerad_som", "anledning", "skola_tillgodosedd", "tidigare_oppenvard"]
        extra = rv[cols].rename(columns={"registrerad_som": "rv_registrerad_som"}).astype({"insats_id": str})
        merged = df[["insats_id"]].astype(str).merge(extra, on="insats_id", how="left")
        for c in ("rv_registrerad_som", "anledning", "skola_tillgodosedd", "tidigare_oppenvard"):
            df[c] = merged[c].to_numpy()
        in_rv = df["insats_id"].astype(str).isin(set(extra["insats_id"])) & df[f"stock_{year}"]
        df["in_review"] = in_rv
        df["rv_lagrum"] = df["lagrum"].astype(object).map(lambda v: "LVU 2 § eller 2 och 3 §§"
                                                         if v in ("LVU 2 §", "LVU 2 och 3 §§") else v)
        df["rv_neither"] = in_rv & (df["skola_tillgodosedd"].astype(object) == False) & (  # noqa: E712
            df["tidigare_oppenvard"].astype(object) == False)  # noqa: E712
        df["rv_uam"] = _uam(df).map({True: "Ensamkommande", False: "Övriga"})
        rvt = {}
        rvt["form"] = cs.tabulate("granskning-form", by="insatstyp", where=in_rv, levels={"insatstyp": list(REVIEW_FORMS)})
        rvt["lagrum"] = cs.tabulate("granskning-lagrum", by="rv_lagrum", where=in_rv,
                                    levels={"rv_lagrum": ["SoL", "LVU 3 §", "LVU 2 § eller 2 och 3 §§"]})
        rvt["anledning"] = cs.tabulate("granskning-anledning", by="anledning", where=in_rv,
                                       levels={"anledning": codes.values("placeringsanledning")})
        rvt["kon"] = cs.tabulate("granskning-kon", by="kon", where=in_rv, levels={"kon": ["Flicka", "Pojke"]})
        rvt["uam"] = cs.tabulate("granskning-ensamkommande", by="rv_uam", where=in_rv,
                                 levels={"rv_uam": ["Ensamkommande", "Övriga"]})
        rvt["stadsdel"] = cs.tabulate("fig-granskning-stadsdel", by="stadsdel", where=in_rv,
                                      levels={"stadsdel": codes.values("stadsdelar")})
        rvt["oppenvard"] = cs.tabulate("granskning-oppenvard", by="tidigare_oppenvard", where=in_rv,
                                       levels={"tidigare_oppenvard": [True, False]})
        t.review = rvt
        t.review_total = cs.total("granskning-totalt", where=in_rv)
        t.review_registered_hvb = cs.total("granskning-registrerad-hvb", where=in_rv & (df["rv_registrerad_som"] == "HVB"))
        # Where they are concentrated: the district with the most of them against all others
        # (two cells, so that the total stays publishable).
        counts = df.loc[df["rv_neither"], "stadsdel"].astype(str).value_counts()
        top = str(counts.index[0]) if len(counts) else codes.values("stadsdelar")[0]
        t.review_neither_top = top
        df["rv_neither_omrade"] = df["stadsdel"].astype(str).where(df["stadsdel"].astype(str) == top, OTHER_DISTRICTS)
        t.review_neither = cs.tabulate("granskning-varken-stadsdel", by="rv_neither_omrade", where=df["rv_neither"],
                                       levels={"rv_neither_omrade": [top, OTHER_DISTRICTS]})
        t.review_neither_total = cs.total("granskning-varken", where=df["rv_neither"])
        t.review_no_open = cell_of(rvt["oppenvard"], tidigare_oppenvard=False)
        # The report's figures stay visible where a small cell can be protected otherwise.
        cs.prefer(t.review_total, t.review_neither_total, t.review_registered_hvb,
                  *rvt["lagrum"]["cell"], *rvt["anledning"]["cell"], *rvt["kon"]["cell"], *rvt["form"]["cell"],
                  cell_of(rvt["stadsdel"], stadsdel="Skäggetorp"), cell_of(rvt["stadsdel"], stadsdel="Ryd"))
    for y in years:
        cs.prefer(cell_of(stod_uam, ar=y, avslutsorsak="Enligt plan", ensamkommande="Ensamkommande"),
                  cell_of(t.stod_uam_total, ar=y), cell_of(situation_total, ar=y), *situation.loc[situation["ar"] == y, "cell"],
                  *ended_g.loc[ended_g["ar"] == y, "cell"], cell_of(stock_total, ar=y))
    return t


def tabulate_protected(publisher, ins: pd.DataFrame, befolkning: pd.DataFrame, year: int,
                       review: pd.DataFrame | None = None) -> CareTables:
    """:func:`tabulate` and protect everything at once through ``publisher``."""
    t = tabulate(ins, befolkning, year, review=review)
    publisher.protect(t.cells)
    return t


def key_figures(pub, t: CareTables) -> None:
    """The chapter's key figures; ids follow the figures the 2021 report published (``placements_*``
    in the shared reference list, compared by ``tests/test_reproduction.py``)."""
    kf = pub.key_figure
    year = t.year
    for y in t.years:
        kf(f"placements_stock_total_{y}", "count", "Placeringar som pågick den 31 december",
           cell=cell_of(t.stock_total, ar=y), year=y)
    for y in t.years:
        for band in ("0_13", "14_20"):
            kf(f"placements_familjehem_{band}_ended_{y}", "count",
               f"Avslutade placeringar i familjehem och jourhem, {band.replace('_', '–')} år (insatsen avslutades)",
               cell=cell_of(t.ended_groups, ar=y, grupp=f"familjehem_{band.replace('_', '-')}"), year=y)
    if year - 1 in t.years:
        prev = year - 1
        kf(f"placements_stodboende_ended_{prev}", "count", "Avslutade placeringar i stödboende",
           cell=cell_of(t.ended_groups, ar=prev, grupp="stodboende"), year=prev)
        kf("placements_stodboende_min_age", "count", "Lägsta ålder vid start bland placeringar i stödboende",
           value=int(t.records.loc[t.records["insatstyp"] == STOD, "alder"].min())
           if (t.records["insatstyp"] == STOD).any() else None)
        kf(f"placements_stodboende_ended_uam_{prev}", "count",
           "Avslutade placeringar i stödboende som gällde ensamkommande barn",
           cell=cell_of(t.stod_uam_total, ar=prev), year=prev)
    kf(f"placements_stodboende_ended_enligt_plan_uam_{year}", "count",
       "Placeringar i stödboende avslutade enligt plan som gällde ensamkommande barn",
       cell=cell_of(t.stod_uam, ar=year, avslutsorsak="Enligt plan", ensamkommande="Ensamkommande"), year=year)
    from helpers.data.contract import STODBOENDE_SEPARAT_FRAN

    kf("placements_stodboende_separate_registration_from", "year",
       "Första året då stödboende registrerades som egen placeringsform (datakontraktet)", value=STODBOENDE_SEPARAT_FRAN)
    if t.review_year:
        rv, tot = t.review, t.review_total
        kf(f"placements_hvb_dec{year}_total", "count",
           "Barn och unga i pågående placering på HVB eller stödboende den 31 december", cell=tot)
        ids = {"stodboende_share": ("form", {"insatstyp": STOD}), "girls_share": ("kon", {"kon": "Flicka"}),
               "boys_share": ("kon", {"kon": "Pojke"}),
               "reason_own_behaviour_share": ("anledning", {"anledning": "Eget beteende"}),
               "reason_care_failure_share": ("anledning", {"anledning": "Brist i omsorgen"}),
               "reason_both_share": ("anledning", {"anledning": "Brist i omsorgen och eget beteende"}),
               "voluntary_share": ("lagrum", {"rv_lagrum": "SoL"}), "lvu3_share": ("lagrum", {"rv_lagrum": "LVU 3 §"}),
               "lvu2_or_2_3_share": ("lagrum", {"rv_lagrum": "LVU 2 § eller 2 och 3 §§"})}
        for short, (table, kw) in ids.items():
            den = t.review_registered_hvb if short == "stodboende_share" else tot
            kf(f"placements_hvb_dec{year}_{short}", "percent", f"Granskningen i december: {short}",
               share=(cell_of(rv[table], **kw), den))
        for d, short in (("Skäggetorp", "skaggetorp"), ("Ryd", "ryd")):
            kf(f"placements_hvb_dec{year}_area_{short}", "count", f"Placerade barn från {d}",
               cell=cell_of(rv["stadsdel"], stadsdel=d))
        for id_ in (f"placements_hvb_dec{year}_no_school_no_oppenvard_share", "placements_002_no_oppenvard_share"):
            kf(id_, "percent", "Andel placerade utan tillgodosedd skolsituation och utan tidigare öppenvård",
               share=(t.review_neither_total, tot))
        kf("placements_analys_no_oppenvard_approx", "percent", "Andel placerade som inte hade prövat öppenvård",
           share=(t.review_no_open, tot))


def cell_of(frame: pd.DataFrame, **kw) -> str:
    m = pd.Series(True, index=frame.index)
    for k, v in kw.items():
        m &= frame[k] == v
    return str(frame.loc[m, "cell"].iloc[0])


__all__ = ["AREA_OVRIGA", "AREA_UTSATT", "UNSTABLE", "CareTables", "cutoff_date", "heldygn_forms", "prepare",
           "tabulate"]


def chart_max(pub, frame: pd.DataFrame, **kw) -> float:
    """The largest published count among the rows of ``frame`` matching ``kw`` (0 if none)."""
    m = pd.Series(True, index=frame.index)
    for k, v in kw.items():
        m &= frame[k].isin(v) if isinstance(v, list | tuple) else frame[k] == v
    vals = [pub.value(c) for c in frame.loc[m, "cell"]]
    vals = [v for v in vals if v is not None]
    return float(max(vals)) if vals else 0.0


def chart_key_figures(pub, t: CareTables) -> dict[str, list[int]]:
    """Axis ticks and first years of the report's charts (the OCR'd chart figures of the 2021
    report), from the same published counts the charts draw. Returns the ticks per chart."""
    kf = pub.key_figure
    year = t.year
    yrs = [y for y in t.years if y >= year - 1]
    out = {}
    fh = chart_ticks(chart_max(pub, t.ended_placements, ar=yrs, grupp="familjehem_0-13"))
    hvb = chart_ticks(chart_max(pub, t.ended_placements, ar=yrs, grupp="hvb"))
    stod = chart_ticks(chart_max(pub, t.ended_placements, ar=year, grupp="stodboende"))
    out.update({"fh": fh, "hvb": hvb, "stod": stod})
    for name, ticks, wanted in (("fh_0_13", fh, (30, 20)), ("hvb_ended", hvb, (40, 20, 10)),
                                (f"stodboende_ended_{year}", stod, (12, 10))):
        for w in wanted:
            kf(f"placements_chart_{name}_axis_tick_{w}", "count", f"Skalstreck på diagrammets axel ({name})",
               value=w if w in ticks else ticks[-1])
    for name in ("fh_0_13", "hvb_ended", "situation_after", "children_hvb_sis_fh"):
        kf(f"placements_chart_{name}_series_years", "year", "Första året i diagrammet", value=yrs[0])
    return out
