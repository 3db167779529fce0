"""Computations of the Utfall chapter: what investigations (utredningar) and interventions
(insatser) lead to.

Units. The chapter counts three kinds of records: *utredningar* (from the processed
``utredningar`` table), *insatser* (``insatser``) and, for the return measure, the same records
as the start of a follow-up. :func:`tabulate` puts utredningar and insatser in one frame of
records (column ``enhet``) and registers every count the chapter publishes in one
:class:`~helpers.analysis.disclosure.CellSet` over it: counts of utredningar never overlap counts of
insatser, while every table of the same unit is protected together with the others (the service
tables against their totals in the text, the endings of öppenvård against the cause groups, …).
Person counts are counted as each person's first record, as in the Inflöde chapter.

Vintage. A report for year Y uses what was known on 31 December of Y: cases started later are
left out, and an end after that day counts as not yet happened (the case was ongoing then; its
decision or ending is blank). A later ``data_cutoff`` (which the Inflöde chapter uses for the March
sample of the following year) does not change this chapter.

Years. Counts by year are given for the report year and up to two earlier years in the data (the
comparison years); the service tables for the report year and the year before, as the 2021
report did; "ended in year y" means the case's end date lies in y.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from helpers.analysis.disclosure import MIN_DENOMINATOR, CellSet
from helpers.chapters.records import (
    AREA_OVRIGA,
    AREA_UTSATT,
    as_known_on,
    as_text,
    case_columns,
    cell,
    first_per_person,
)
from helpers.data import codes

if TYPE_CHECKING:
    from helpers.publishing.publish import Publisher

#: Problem area of a service insats whose orsakskod is in none of the six areas.
OTHER_AREA = "annat"
OTHER_AREA_LABEL = "Annat problemområde"
#: Cause group of a bistånd insats whose orsakskod is in neither named group.
OTHER_GROUP = "ovriga"
OTHER_GROUP_LABEL = "Övriga orsaker"
#: The insats type whose bistånd endings the 2021 report followed ("biståndsbedömd öppenvård 0–20").
OPPENVARD = "Öppenvård"
NO_INSATS = "Ingen insats"
WITH_INSATS = "Insats beviljas"
ENLIGT_PLAN = "Enligt plan"
#: Follow-up window of the return measure, in days.
RETURN_DAYS = 365
#: Groups of insatser for the durations: (label, insatstyp, grund or None for both).
DURATION_GROUPS = (
    ("Öppenvård, service", "Öppenvård", "Service"),
    ("Öppenvård, bistånd", "Öppenvård", "Bistånd"),
    ("Kontaktperson", "Kontaktperson", None),
    ("Kontaktfamilj", "Kontaktfamilj", None),
)


def cutoff_date(year: int) -> pd.Timestamp:
    """The last day whose events a report for ``year`` may use: 31 December of ``year``."""
    return pd.Timestamp(year=int(year), month=12, day=31)


def prepare_utredningar(utr: pd.DataFrame, akt: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """Utredningar as known on ``cutoff``, with the aktualisering's date (``inkom_datum``; the
    start date when the aktualisering is not in the data) and derived columns."""
    df = case_columns(as_known_on(utr, cutoff, ("utfall", "bedomning")))
    inkom = akt.set_index(akt["aktualisering_id"].astype(str))["inkom_datum"]
    # Looked up as a column, not one aktualisering at a time (a missing id finds nothing).
    found = df["aktualisering_id"].astype(str).map(inkom).where(df["aktualisering_id"].notna())
    df["inkom_datum"] = pd.to_datetime(found.astype(object)).fillna(df["start_datum"])
    df["startgrund"] = as_text(df["startgrund"])
    behov = codes.load("bedomning").set_index("bedomning")["behov"].astype(bool)
    df["behov"] = df["bedomning"].map(behov).fillna(False).astype(bool)
    df["enhet"] = "utredning"
    return df.reset_index(drop=True)


def prepare_insatser(ins: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """Insatser as known on ``cutoff``, with problem area (service) and cause group (bistånd)."""
    df = case_columns(as_known_on(ins, cutoff, ("avslutsorsak",)))
    df["insatstyp"] = as_text(df["insatstyp"])
    df["grund"] = as_text(df["grund"])
    # a code without a (non-empty) area or group gets the "other" one
    area = {c: a or OTHER_AREA for c, a in codes.problemomrade().items()}
    group = {c: g or OTHER_GROUP for c, g in codes.bistandsgrupp().items()}
    df["problemomrade"] = df["orsakskod"].map(area).fillna(OTHER_AREA)
    df["bistandsgrupp"] = df["orsakskod"].map(group).fillna(OTHER_GROUP)
    forms = codes.load("insatstyper").set_index("insatstyp")["form"]
    df["form"] = df["insatstyp"].map(forms)
    df["grupp"] = None
    for label, typ, grund in DURATION_GROUPS:
        m = (df["insatstyp"] == typ) & ((df["grund"] == grund) if grund else True)
        df.loc[m, "grupp"] = label
    df["enhet"] = "insats"
    return df.reset_index(drop=True)


def returns(records: pd.DataFrame, akt: pd.DataFrame, cutoff: pd.Timestamp, *, days: int = RETURN_DAYS) -> pd.DataFrame:
    """For each closed case: whether a new aktualisering about the same child came within ``days``
    after the closing day (``aterkom``), and whether the whole window lies before ``cutoff``
    (``folj``). Index cases are utredningar closed without insats and insatser ended according
    to plan (:func:`helpers.analysis.survival.returns_within`). Returns ``records`` with the columns
    ``index_typ`` ("utredning"/"insats"/None), ``folj`` and ``aterkom`` (False where not followed)."""
    from helpers.analysis.survival import returns_within

    out = records.copy(deep=False)  # new columns only: the records themselves are not copied
    none = pd.Series(None, index=out.index, dtype=object)
    idx_utr = (out["enhet"] == "utredning") & (out.get("utfall", none) == NO_INSATS)
    idx_ins = (out["enhet"] == "insats") & (out.get("avslutsorsak", none) == ENLIGT_PLAN)
    out["index_typ"] = np.where(idx_utr, "utredning", np.where(idx_ins, "insats", None))
    is_idx = out["index_typ"].notna() & out["slut_datum"].notna()
    index = out.loc[is_idx, ["person_id", "slut_datum"]].rename(columns={"slut_datum": "date"})
    later = akt[["person_id", "inkom_datum"]].rename(columns={"inkom_datum": "date"})
    r = returns_within(index, later, days=days, cutoff=cutoff)
    out["folj"] = False
    out["aterkom"] = False
    out.loc[r.index, "folj"] = r["followed"].to_numpy(dtype=bool)
    out.loc[r.index, "aterkom"] = r["returned"].fillna(False).to_numpy(dtype=bool)
    return out


@dataclass
class OutcomeTables:
    """Every count the Utfall chapter publishes, registered in :attr:`cells`."""

    year: int
    cutoff: pd.Timestamp
    years: list[int]  # comparison years (report year and up to two before)
    service_years: list[int]  # the report year and the year before, if in the data
    cells: CellSet
    records: pd.DataFrame  # utredningar and insatser as known on the cut-off (column enhet)
    started: pd.DataFrame  # ar, startgrund, antal, cell: utredningar started
    started_total: pd.DataFrame  # ar, antal, cell
    children: str  # children with an utredning started in the report year
    ended: pd.DataFrame  # ar, startgrund, utfall, antal, cell: utredningar ended
    ended_basis: pd.DataFrame  # ar, startgrund, antal, cell
    assessment: pd.DataFrame  # ar, bedomning, antal, cell: ended without insats
    no_insats: pd.DataFrame  # ar, antal, cell
    need: pd.DataFrame  # ar, antal, cell: ended without insats, assessed in need
    service: pd.DataFrame  # ar, problemomrade, avslutsorsak, antal, cell
    service_area: pd.DataFrame  # ar, problemomrade, antal, cell
    service_ending: pd.DataFrame  # ar, avslutsorsak, antal, cell
    service_total: pd.DataFrame  # ar, antal, cell
    service_children: str  # children with a service insats ended in the report year
    areas: list[str]  # problem areas in the service tables (the six, plus OTHER_AREA if present)
    oppenvard: pd.DataFrame  # ar, avslutsorsak, antal, cell: bistånd öppenvård ended
    oppenvard_total: pd.DataFrame  # ar, antal, cell
    oppenvard_groups: pd.DataFrame  # ar, avslutsorsak, bistandsgrupp, antal, cell
    oppenvard_children: str  # children with a bistånd öppenvård ended in the report year
    oppenvard_persons: pd.DataFrame  # ar, antal, cell: persons starting bistånd öppenvård
    duration_groups: pd.DataFrame  # grupp, antal, cell: insatser started in the comparison years
    endings_pooled: pd.DataFrame  # avslutsorsak, antal, cell: bistånd öppenvård ended, all years
    model_n: str  # bistånd öppenvård ended in the comparison years (the model's cases)
    model_events: str  # … of which according to plan
    returns: pd.DataFrame  # index_typ, aterkom, antal, cell (followed cases)
    return_totals: pd.DataFrame  # index_typ, antal, cell
    return_year: int | None  # the year whose closed cases are followed
    districts: pd.DataFrame  # stadsdel, utsatt_omrade, antal, cell, barn_0_20
    district_types: pd.DataFrame  # omrade, antal, cell, barn_0_20

    def utr(self) -> pd.DataFrame:
        return self.records[self.records["enhet"] == "utredning"]

    def ins(self) -> pd.DataFrame:
        return self.records[self.records["enhet"] == "insats"]


def comparison_years(available: list[int], year: int, span: int = 2) -> list[int]:
    if year not in available:
        raise ValueError(f"Året {year} finns inte i data (tillgängliga år: {', '.join(map(str, available))}).")
    return [y for y in available if year - span <= y <= year]


def tabulate(akt: pd.DataFrame, utr: pd.DataFrame, ins: pd.DataFrame, befolkning: pd.DataFrame,
             year: int) -> OutcomeTables:
    """Register every count of the chapter for ``year`` in one :class:`CellSet` (see the module doc).

    ``akt``, ``utr`` and ``ins`` are the processed tables ``aktualiseringar``, ``utredningar`` and
    ``insatser``; ``befolkning`` the population extract (denominators of the rates).
    """
    cutoff = cutoff_date(year)
    u = prepare_utredningar(utr, akt, cutoff)
    i = prepare_insatser(ins, cutoff)
    available = sorted(int(y) for y in pd.concat([utr["ar"], ins["ar"]]).dropna().unique() if int(y) <= year)
    years = comparison_years(available, year)
    service_years = [y for y in years if y >= year - 1]
    df = pd.concat([u, i], ignore_index=True, sort=False)
    df = returns(df, akt, cutoff)
    is_u, is_i = df["enhet"] == "utredning", df["enhet"] == "insats"
    ended_in = df["slut_ar"].isin(years).fillna(False).astype(bool)
    started_in = df["start_ar"].isin(years)

    cs = CellSet(df, unit="ärenden")
    lv_grund = codes.values("startgrund")
    lv_utfall = codes.values("utfall")

    started = cs.tabulate("fig-utr-start", by=["start_ar", "startgrund"], where=is_u & started_in,
                          levels={"start_ar": years, "startgrund": lv_grund}).rename(columns={"start_ar": "ar"})
    started_total = cs.tabulate("utr-start", by="start_ar", where=is_u & started_in,
                                levels={"start_ar": years}).rename(columns={"start_ar": "ar"})
    df["utr_first"] = first_per_person(df, is_u & (df["start_ar"] == year), [], ["start_datum"])
    children = cs.total("utr-barn", where=df["utr_first"])

    ended = cs.tabulate("fig-utr-utfall", by=["slut_ar", "startgrund", "utfall"], where=is_u & ended_in,
                        levels={"slut_ar": years, "startgrund": lv_grund, "utfall": lv_utfall}
                        ).rename(columns={"slut_ar": "ar"})
    ended_basis = cs.tabulate("utr-avslutade", by=["slut_ar", "startgrund"], where=is_u & ended_in,
                              levels={"slut_ar": years, "startgrund": lv_grund}).rename(columns={"slut_ar": "ar"})
    without = is_u & ended_in & (df["utfall"] == NO_INSATS)
    assessment = cs.tabulate("tbl-bedomning", by=["slut_ar", "bedomning"], where=without,
                             levels={"slut_ar": years, "bedomning": codes.values("bedomning")}
                             ).rename(columns={"slut_ar": "ar"})
    no_insats = cs.tabulate("utr-utan-insats", by="slut_ar", where=without,
                            levels={"slut_ar": years}).rename(columns={"slut_ar": "ar"})
    need = cs.tabulate("utr-behov", by="slut_ar", where=without & df["behov"].fillna(False).astype(bool),
                       levels={"slut_ar": years}).rename(columns={"slut_ar": "ar"})

    service_rows = is_i & (df["grund"] == "Service") & df["slut_ar"].isin(service_years).fillna(False).astype(bool)
    six = list(codes.problemomrade_etikett())
    areas = six + ([OTHER_AREA] if (service_rows & (df["problemomrade"] == OTHER_AREA)).any() else [])
    endings = codes.load("avslutsorsaker")
    lv_service = endings.loc[endings["service"], "avslutsorsak"].tolist()
    lv_bistand = endings.loc[endings["bistand"], "avslutsorsak"].tolist()
    service = cs.tabulate("tbl-service", by=["slut_ar", "problemomrade", "avslutsorsak"], where=service_rows,
                          levels={"slut_ar": service_years, "problemomrade": areas, "avslutsorsak": lv_service}
                          ).rename(columns={"slut_ar": "ar"})
    service_area = cs.tabulate("service-omrade", by=["slut_ar", "problemomrade"], where=service_rows,
                               levels={"slut_ar": service_years, "problemomrade": areas}).rename(columns={"slut_ar": "ar"})
    service_ending = cs.tabulate("service-avslut", by=["slut_ar", "avslutsorsak"], where=service_rows,
                                 levels={"slut_ar": service_years, "avslutsorsak": lv_service}
                                 ).rename(columns={"slut_ar": "ar"})
    service_total = cs.tabulate("service", by="slut_ar", where=service_rows,
                                levels={"slut_ar": service_years}).rename(columns={"slut_ar": "ar"})
    df["service_first"] = first_per_person(df, service_rows & (df["slut_ar"] == year), [], ["slut_datum"])
    service_children = cs.total("service-barn", where=df["service_first"])

    opp = is_i & (df["grund"] == "Bistånd") & (df["insatstyp"] == OPPENVARD)
    opp_ended = opp & ended_in
    oppenvard = cs.tabulate("fig-oppenvard", by=["slut_ar", "avslutsorsak"], where=opp_ended,
                            levels={"slut_ar": years, "avslutsorsak": lv_bistand}).rename(columns={"slut_ar": "ar"})
    oppenvard_total = cs.tabulate("oppenvard", by="slut_ar", where=opp_ended,
                                  levels={"slut_ar": years}).rename(columns={"slut_ar": "ar"})
    lv_group = [*codes.etiketter("bistandsgrupper"), OTHER_GROUP]
    oppenvard_groups = cs.tabulate("tbl-oppenvard-grupp", by=["slut_ar", "avslutsorsak", "bistandsgrupp"],
                                   where=opp_ended, levels={"slut_ar": years, "avslutsorsak": lv_bistand,
                                                            "bistandsgrupp": lv_group}).rename(columns={"slut_ar": "ar"})
    df["opp_first"] = first_per_person(df, opp_ended & (df["slut_ar"] == year), [], ["slut_datum"])
    oppenvard_children = cs.total("oppenvard-barn", where=df["opp_first"])
    df["opp_start_first"] = first_per_person(df, opp & started_in, ["start_ar"], ["start_datum"])
    oppenvard_persons = cs.tabulate("oppenvard-personer", by="start_ar", where=df["opp_start_first"],
                                    levels={"start_ar": years}).rename(columns={"start_ar": "ar"})

    groups = [g for g, _, _ in DURATION_GROUPS]
    duration_groups = cs.tabulate("tbl-langd", by="grupp", where=is_i & started_in & df["grupp"].notna(),
                                  levels={"grupp": groups})
    endings_pooled = cs.tabulate("tbl-langd-avslut", by="avslutsorsak", where=opp_ended,
                                 levels={"avslutsorsak": lv_bistand})
    model_n = cs.total("modell", where=opp_ended)
    model_events = cs.total("modell-enligt-plan", where=opp_ended & (df["avslutsorsak"] == ENLIGT_PLAN))

    return_year = year - 1 if year - 1 in available else None
    followed = df["folj"] & (df["slut_ar"] == return_year).fillna(False).astype(bool)
    rets = cs.tabulate("tbl-aterkomst", by=["index_typ", "aterkom"], where=followed,
                       levels={"index_typ": ["utredning", "insats"], "aterkom": [True, False]})
    return_totals = cs.tabulate("aterkomst", by="index_typ", where=followed,
                                levels={"index_typ": ["utredning", "insats"]})

    b = befolkning[befolkning["ar"].astype(int) == year]
    pop = b.groupby(b["stadsdel"].astype(str))["antal"].sum()
    in_year_u = is_u & (df["start_ar"] == year)
    districts = cs.tabulate("fig-utr-per1000", by="stadsdel", where=in_year_u & df["stadsdel"].isin(pop.index),
                            levels={"stadsdel": list(pop.index)})
    districts["utsatt_omrade"] = districts["stadsdel"].isin(codes.utsatta_omraden())
    districts["barn_0_20"] = districts["stadsdel"].map(pop).astype(int)
    district_types = cs.tabulate("utr-omradestyp", by="omrade", where=in_year_u & df["stadsdel"].isin(pop.index),
                                 levels={"omrade": [AREA_UTSATT, AREA_OVRIGA]})
    utsatt_pop = int(pop[pop.index.isin(codes.utsatta_omraden())].sum())
    district_types["barn_0_20"] = district_types["omrade"].map(
        {AREA_UTSATT: utsatt_pop, AREA_OVRIGA: int(pop.sum()) - utsatt_pop}).astype(int)

    # The shares the text leads with, as the 2021 report did: kept published when another cell
    # can be hidden instead.
    for y in years:
        cs.prefer(cell(oppenvard, ar=y, avslutsorsak=ENLIGT_PLAN), cell(oppenvard, ar=y, avslutsorsak="Avbruten"),
                  cell(oppenvard_total, ar=y), cell(need, ar=y), cell(no_insats, ar=y),
                  cell(started, ar=y, startgrund="Ansökan"))
    for y in service_years:
        cs.prefer(cell(service_ending, ar=y, avslutsorsak="Ej enligt plan"), cell(service_total, ar=y),
                  *service_area.loc[service_area["ar"] == y, "cell"])

    return OutcomeTables(year, cutoff, years, service_years, cs, df, started, started_total, children, ended,
                         ended_basis, assessment, no_insats, need, service, service_area, service_ending,
                         service_total, service_children, areas, oppenvard, oppenvard_total, oppenvard_groups,
                         oppenvard_children, oppenvard_persons, duration_groups, endings_pooled, model_n,
                         model_events, rets, return_totals, return_year, districts, district_types)


def tabulate_protected(publisher: Publisher, akt: pd.DataFrame, utr: pd.DataFrame, ins: pd.DataFrame,
                       befolkning: pd.DataFrame, year: int) -> OutcomeTables:
    """:func:`tabulate` and protect everything at once through ``publisher``."""
    t = tabulate(akt, utr, ins, befolkning, year)
    publisher.protect(t.cells)
    return t


def area_label(area: str) -> str:
    return OTHER_AREA_LABEL if area == OTHER_AREA else codes.problemomrade_etikett()[area]


def group_label(group: str) -> str:
    return OTHER_GROUP_LABEL if group == OTHER_GROUP else codes.etiketter("bistandsgrupper")[group]


def group_labels(groups: pd.Series) -> pd.Series:
    """:func:`group_label` of every value of ``groups``, each distinct value looked up once (the
    model's cases are one row per insats)."""
    return groups.map({g: group_label(g) for g in groups.unique()})


_AREA_IDS = {"omsorgssvikt": "omsorgssvikt", "egen_brottslighet": "egen_brottslighet",
             "egen_psykisk_ohalsa": "egen_psykisk_ohalsa", "egen_skolproblematik": "egen_skolproblematik",
             "eget_missbruk": "eget_missbruk", "egen_relationsproblematik": "egen_relationsproblematik"}
_ENDING_IDS = {"Avbruten": "avbrutna", "Övergår till annan insats": "overgick", ENLIGT_PLAN: "enligt_plan"}
_GROUP_IDS = {"snb": "snb", "familjekonflikter": "familjekonflikt"}


def key_figures(pub: Publisher, t: OutcomeTables) -> None:
    """Record the chapter's key figures from the protected tables.

    Ids follow the figures the 2021 report published (``outcomes_*`` in the shared reference
    list, compared by ``tests/test_reproduction.py``). Figures the report gave for 2019–2020 as a
    whole ("dryga hälften", "ungefär en fjärdedel") are the pooled shares of the report year and
    the year before.
    """
    year, years = t.year, t.years
    kf = pub.key_figure
    for y in years:
        kf(f"outcomes_utredningar_after_ansokan_started_{y}", "count", "Utredningar som inleddes efter ansökan",
           cell=cell(t.started, ar=y, startgrund="Ansökan"), year=y)
    kf("outcomes_utredningar_children_count", "count", "Barn med en utredning som inleddes under året", cell=t.children)
    kf("outcomes_utredningar_after_anmalan_no_action_share", "percent",
       "Andel av utredningarna efter anmälan som avslutades utan insats",
       share=(cell(t.ended, ar=year, startgrund="Anmälan", utfall=NO_INSATS),
              cell(t.ended_basis, ar=year, startgrund="Anmälan")))
    kf(f"outcomes_no_insats_need_assessed_share_{year}", "percent",
       "Andel av utredningarna som avslutades utan insats där socialsekreteraren bedömde att behov fanns",
       share=(cell(t.need, ar=year), cell(t.no_insats, ar=year)))
    consent = (cell(t.assessment, ar=year, bedomning="Behov samtycke saknas"), cell(t.no_insats, ar=year))
    kf("outcomes_analys_need_no_consent_approx", "percent",
       "Andel av utredningarna utan insats där behov fanns men samtycke saknades", share=consent)
    kf("outcomes_002_need_no_consent_share", "percent",
       "Andel av utredningarna utan insats där behov fanns men samtycke saknades", share=consent)

    kf("outcomes_service_cause_categories_count", "count", "Problemområden för serviceinsatser",
       value=len(codes.problemomrade_etikett()))
    for y in t.service_years:
        for area, short in _AREA_IDS.items():
            kf(f"outcomes_service_ended_{short}_total_{y}", "count", f"Avslutade serviceinsatser: {area_label(area).lower()}",
               cell=cell(t.service_area, ar=y, problemomrade=area), year=y)
            kf(f"outcomes_service_ended_{short}_enligt_plan_{y}", "count",
               f"Avslutade enligt plan: {area_label(area).lower()}",
               cell=cell(t.service, ar=y, problemomrade=area, avslutsorsak=ENLIGT_PLAN), year=y)
            kf(f"outcomes_service_ended_{short}_ej_enligt_plan_{y}", "count",
               f"Avslutade ej enligt plan: {area_label(area).lower()}",
               cell=cell(t.service, ar=y, problemomrade=area, avslutsorsak="Ej enligt plan"), year=y)
        kf(f"outcomes_service_ej_enligt_plan_share_{y}", "percent", "Andel serviceinsatser avslutade ej enligt plan",
           share=(cell(t.service_ending, ar=y, avslutsorsak="Ej enligt plan"), cell(t.service_total, ar=y)), year=y)

    for y in years:
        tot = cell(t.oppenvard_total, ar=y)
        kf(f"outcomes_oppenvard_bistand_enligt_plan_share_{y}", "percent",
           "Andel avslutade biståndsbedömda öppenvårdsinsatser som avslutades enligt plan",
           share=(cell(t.oppenvard, ar=y, avslutsorsak=ENLIGT_PLAN), tot), year=y)
        kf(f"outcomes_oppenvard_bistand_avbrutna_share_{y}", "percent",
           "Andel avslutade biståndsbedömda öppenvårdsinsatser som avbröts",
           share=(cell(t.oppenvard, ar=y, avslutsorsak="Avbruten"), tot), year=y)
        for ending, e_id in _ENDING_IDS.items():
            for group, g_id in _GROUP_IDS.items():
                kf(f"outcomes_oppenvard_{e_id}_{g_id}_share_{y}", "percent",
                   f"Andel med orsak {group_label(group).lower()} bland insatser som {ending.lower()}",
                   share=(cell(t.oppenvard_groups, ar=y, avslutsorsak=ending, bistandsgrupp=group),
                          cell(t.oppenvard, ar=y, avslutsorsak=ending)), year=y)
    kf(f"outcomes_chart_oppenvard_0_20_enligt_plan_label_{year}", "percent",
       "Andel avslutade enligt planering (diagrammets etikett)",
       share=(cell(t.oppenvard, ar=year, avslutsorsak=ENLIGT_PLAN), cell(t.oppenvard_total, ar=year)))
    kf("outcomes_chart_oppenvard_0_20_series_years", "year", "Första året i diagrammet över avslutade öppenvårdsinsatser",
       value=years[0])
    pooled = [y for y in years if y >= year - 1]
    if len(pooled) == 2:
        for ending, id_, what in ((ENLIGT_PLAN, "outcomes_analys_bistand_enligt_plan_approx", "avslutades enligt plan"),
                                  ("Avbruten", "outcomes_analys_bistand_failed_approx", "avbröts")):
            k, n = pooled_share(pub, [cell(t.oppenvard, ar=y, avslutsorsak=ending) for y in pooled],
                                [cell(t.oppenvard_total, ar=y) for y in pooled])
            if k is not None:  # a share of published counts only: never of a hidden one
                kf(id_, "percent", f"Andel biståndsbedömda öppenvårdsinsatser som {what}, {pooled[0]}–{pooled[1]}",
                   value=100 * k / n)


def pooled_share(pub: Publisher, num: list[str], den: list[str]) -> tuple[int | None, int | None]:
    """Sum of published cells (numerators, denominators) for a share over several years, or
    ``(None, None)`` when any part is hidden or the base is under :data:`MIN_DENOMINATOR`."""
    vals = [pub.value(c) for c in num + den]
    if any(v is None for v in vals):
        return None, None
    k, n = sum(vals[: len(num)]), sum(vals[len(num):])
    return (k, n) if n >= MIN_DENOMINATOR else (None, None)
