"""Computations of the Inflöde chapter (how children and young people come to the social services).

The chapter publishes counts of one unit, the *aktualisering* (anmälan, ansökan or annat sätt),
from the processed ``aktualiseringar`` table. :func:`tabulate` registers every count the chapter
publishes (tables, figure data, totals stated in the text, the monthly series, the March samples)
in one :class:`~helpers.analysis.disclosure.CellSet` over the same records, so that disclosure control sees
how the tables relate to each other (a total and its parts, 0–17 against 0–12 and 13–17, the March
sample against the monthly series) and protects them all at once. The notebook then reads only
protected values.

Vintage: a report for year Y uses aktualiseringar received up to the end of Y. A later
``data_cutoff`` (ISO date) admits the March sample of the following year, as the 2021 report did;
everything that uses data after Y says so (:attr:`InflowTables.late_years`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

from helpers.analysis.disclosure import MIN_DENOMINATOR, CellSet
from helpers.chapters.records import (
    AREA_OVRIGA,
    AREA_UTSATT,
    age_group,
    as_text,
    cell,
    first_per_person,
    month_text,
)
from helpers.data import codes

if TYPE_CHECKING:
    from helpers.publishing.publish import Publisher

CLOSED = ("kronologiska", "service", "annan_verksamhet")
#: A person's first record: the earliest received, ties by id.
PERSON_ORDER = ["inkom_datum", "aktualisering_id"]
#: Month of the sample (stickprov) of all anmälningar, as in the 2021 report.
SAMPLE_MONTH = 3


def cutoff_date(year: int, data_cutoff: str | None = None) -> pd.Timestamp:
    """The last day whose aktualiseringar a report for ``year`` may use.

    Default: 31 December of ``year``. A ``data_cutoff`` before that is refused (the report year
    would be incomplete); one after it admits the March sample of the following year only.
    """
    end = pd.Timestamp(year=year, month=12, day=31)
    if not data_cutoff:
        return end
    try:
        cut = pd.Timestamp(data_cutoff).normalize()
    except (ValueError, TypeError) as e:
        raise ValueError(f"data_cutoff måste vara ett datum (ÅÅÅÅ-MM-DD), inte {data_cutoff!r}") from e
    if cut < end:
        raise ValueError(f"data_cutoff {cut.date()} ligger före rapportårets slut ({end.date()})")
    return cut


def prepare(akt: pd.DataFrame, cutoff: pd.Timestamp | None = None) -> pd.DataFrame:
    """Derived columns (typ, alderskategori, kategori, aldersgrupp, utsatt_omrade, omrade, manad,
    period); only aktualiseringar received on or before ``cutoff`` (all when ``None``)."""
    df = akt
    if cutoff is not None:
        known = df["inkom_datum"] <= cutoff
        if not known.all():
            df = df[known]
    df = df.copy(deep=False)  # new columns only: the records themselves are not copied
    types = codes.load("aktualiseringstyper").set_index("aktualiseringstyp")
    at = as_text(df["aktualiseringstyp"])
    df["typ"] = at.map(types["typ"])
    df["alderskategori"] = at.map(types["alderskategori"])
    df["kategori"] = as_text(df["orsakskod"]).map(codes.orsak_kategori())
    df["aldersgrupp"] = age_group(df["alder"])
    df["utsatt_omrade"] = as_text(df["stadsdel"]).isin(codes.utsatta_omraden())
    df["omrade"] = df["utsatt_omrade"].map({True: AREA_UTSATT, False: AREA_OVRIGA})
    df["manad"] = df["inkom_datum"].dt.month
    df["period"] = month_text(df["inkom_datum"])
    df["ar"] = df["ar"].astype(int)
    for col in ("beslut", "stadsdel", "anmalare", "kon", "orsakskod", "aktualiseringstyp"):
        df[col] = as_text(df[col])
    return df.reset_index(drop=True)


def years_available(df: pd.DataFrame) -> list[int]:
    return sorted(int(y) for y in df["ar"].unique())


def comparison_years(df: pd.DataFrame, year: int, span: int = 2) -> list[int]:
    """The report year and up to ``span`` earlier years present in the data."""
    avail = years_available(df)
    if year not in avail:
        raise ValueError(f"Året {year} finns inte i data (tillgängliga år: {', '.join(map(str, avail))}).")
    return [y for y in avail if year - span <= y <= year]


@dataclass(frozen=True)
class MarchCells:
    """Cell ids of the March sample of one year (every anmälan received in March)."""

    year: int
    total: str
    repeat: str  # anmälningar about a person with two or more anmälningar in the month
    utsatt: str
    ovriga: str
    brott: str
    brott_pojkar: str
    brott_utsatt: str
    brott_utsatt_pojkar: str
    brott_utsatt_personer: str  # persons, not anmälningar
    reporters: pd.DataFrame  # omrade, anmalare, etikett, antal, cell
    causes: pd.DataFrame  # omrade, kategori, orsak, antal, cell


@dataclass
class InflowTables:
    """Every count the Inflöde chapter publishes, registered in :attr:`cells` (one unit: records of
    ``aktualiseringar``; person counts are counted as a person's first record)."""

    year: int
    cutoff: pd.Timestamp
    years: list[int]  # comparison years (report year and up to two before)
    all_years: list[int]  # every year up to the report year
    cells: CellSet
    total: str  # aktualiseringar in the report year
    types: pd.DataFrame  # aktualiseringstyp, antal, cell
    anm_per_year: pd.DataFrame  # ar, antal, cell: anmälningar 0–17
    causes: pd.DataFrame  # ar, kategori, orsak, antal, cell: anmälningar 0–17
    cause_totals: pd.DataFrame  # ar, antal, cell
    ages: pd.DataFrame  # ar, aldersgrupp, kategori, orsak, antal, cell
    age_totals: pd.DataFrame  # ar, aldersgrupp, antal, cell
    child_causes: pd.DataFrame  # ar, antal, cell: causes in the child itself (orsak_hos_barnet)
    uam: str  # anmälningar 0–17 with orsakskod X01 (ensamkommande barn)
    ansokan: pd.DataFrame  # orsakskod, orsak, antal, cell: ansökningar 0–17 in the report year
    ansokan_total: str
    decisions: pd.DataFrame  # ar, beslut, etikett, antal, cell: anmälningar (0–20)
    decision_totals: pd.DataFrame  # ar, antal, cell
    closed: pd.DataFrame  # ar, antal, cell: anmälningar closed without action
    to_utredning: dict[str, tuple[str, str]]  # typ → (led to utredning, all) in the report year
    crime: pd.DataFrame  # ar, k, n (cell ids): brottslighet among anmälningar that led to utredning
    areas: pd.DataFrame  # stadsdel, utsatt_omrade, antal, cell, barn_0_17
    area_types: pd.DataFrame  # omrade, antal, cell, barn_0_17
    monthly: pd.DataFrame  # month (Timestamp), period, antal, cell: anmälningar 0–20 per month
    yearly: pd.DataFrame  # ar, antal, cell: anmälningar 0–20 per year
    children: str  # children 0–17 with at least one anmälan in the report year
    samples: dict[int, MarchCells] = field(default_factory=dict)
    model_margins: bool = False  # the monthly model's fitted values may be published

    @property
    def late_years(self) -> list[int]:
        """Sample years after the report year (admitted only by ``data_cutoff``)."""
        return [y for y in self.samples if y > self.year]


def tabulate(akt: pd.DataFrame, befolkning: pd.DataFrame, year: int, data_cutoff: str | None = None,
             *, model_margins: bool = True) -> InflowTables:
    """Register every count of the chapter for ``year`` in one :class:`CellSet` (see the module doc).

    ``akt`` is the processed ``aktualiseringar`` table (not yet :func:`prepare`-d), ``befolkning``
    the population extract (denominators of the rates; public numbers, not cells).
    ``model_margins`` registers what the monthly model's fitted values reveal (see
    :func:`_register_model_margins`); without them the chapter must not publish fitted values.
    """
    cutoff = cutoff_date(year, data_cutoff)
    df = prepare(akt, cutoff)
    years = comparison_years(df, year)
    all_years = [y for y in years_available(df) if y <= year]
    anm = df["typ"] == "anmälan"
    a017 = anm & (df["alderskategori"] == "0-17")
    in_year = df["ar"] == year
    in_cmp = df["ar"].isin(years)

    # Flags that turn person counts into record counts.
    march = anm & (df["manad"] == SAMPLE_MONTH)
    per_person = df[march].groupby(["ar", "person_id"])["aktualisering_id"].transform("size")
    df["repeat_march"] = False
    df.loc[per_person.index, "repeat_march"] = per_person >= 2
    df["brott_utsatt_first"] = first_per_person(
        df, march & (df["kategori"] == "brottslighet") & df["utsatt_omrade"], ["ar"], PERSON_ORDER)
    df["child_first"] = first_per_person(df, a017, ["ar"], PERSON_ORDER)

    cs = CellSet(df, unit="aktualiseringar")
    lv_typ = codes.values("aktualiseringstyper")
    lv_kat = list(codes.kategori_etikett())
    lv_beslut = codes.values("beslut")
    labels_kat = codes.kategori_etikett()

    total = cs.total("aktualiseringar", where=in_year)
    types = cs.tabulate("fig-akttyp", by="aktualiseringstyp", where=in_year, levels={"aktualiseringstyp": lv_typ})
    anm_per_year = cs.tabulate("anmalningar-0-17", by="ar", where=a017 & (df["ar"] <= year), levels={"ar": all_years})

    causes = cs.tabulate("fig-orsaker", by=["ar", "kategori"], where=a017 & in_cmp,
                         levels={"ar": years, "kategori": lv_kat})
    causes.insert(2, "orsak", causes["kategori"].map(labels_kat))
    cause_totals = anm_per_year[anm_per_year["ar"].isin(years)].reset_index(drop=True)
    kat = codes.load("kategorier")
    own = df["kategori"].isin(kat.loc[kat["orsak_hos_barnet"], "kategori"])
    child_causes = cs.tabulate("orsak-hos-barnet", by="ar", where=a017 & in_cmp & own, levels={"ar": years})

    ages = cs.tabulate("fig-aldersgrupper", by=["ar", "aldersgrupp", "kategori"], where=a017 & in_cmp,
                       levels={"ar": years, "aldersgrupp": ["0-12", "13-17"], "kategori": lv_kat})
    ages.insert(3, "orsak", ages["kategori"].map(labels_kat))
    age_totals = cs.tabulate("aldersgrupper", by=["ar", "aldersgrupp"], where=a017 & in_cmp,
                             levels={"ar": years, "aldersgrupp": ["0-12", "13-17"]})
    uam = cs.total("ensamkommande", where=a017 & in_year & (df["orsakskod"] == "X01"))

    ans = (df["typ"] == "ansökan") & (df["alderskategori"] == "0-17") & in_year
    ansokan_total = cs.total("ansokningar-0-17", where=ans)
    names = codes.load("orsakskoder").set_index("kod")["orsak"]
    if ans.sum() >= MIN_DENOMINATOR:
        present = df.loc[ans, "orsakskod"].value_counts()
        order = sorted(present.index, key=lambda c: (-present[c], c))
        ansokan = cs.tabulate("tbl-ansokan", by="orsakskod", where=ans, levels={"orsakskod": order})
        ansokan.insert(1, "orsak", ansokan["orsakskod"].map(names))
    else:  # too few to break down: a breakdown of a handful would mark each code as 1–4
        ansokan = pd.DataFrame({"orsakskod": [""], "orsak": ["Samtliga orsaker"], "antal": [int(ans.sum())],
                                "cell": [ansokan_total]})

    decisions = cs.tabulate("fig-beslut", by=["ar", "beslut"], where=anm & in_cmp,
                            levels={"ar": years, "beslut": lv_beslut})
    decisions.insert(2, "etikett", decisions["beslut"].map(lambda b: codes.label("beslut", b)))
    decision_totals = cs.tabulate("anmalningar", by="ar", where=anm & in_cmp, levels={"ar": years})
    closed = cs.tabulate("avslutade-utan-atgard", by="ar", where=anm & in_cmp & df["beslut"].isin(CLOSED),
                         levels={"ar": years})

    to_utredning = {}
    for typ, slug in (("ansökan", "ansokan"), ("annat sätt", "annat-satt")):
        base = in_year & (df["typ"] == typ)
        to_utredning[typ] = (cs.total(f"utredning-{slug}", where=base & (df["beslut"] == "utredning")),
                             cs.total(f"{slug}", where=base))

    utr = anm & in_cmp & (df["beslut"] == "utredning")
    crime_k = cs.tabulate("utredning-brott", by="ar", where=utr & (df["kategori"] == "brottslighet"), levels={"ar": years})
    crime_n = cs.tabulate("utredning", by="ar", where=utr, levels={"ar": years})
    crime = pd.DataFrame({"ar": years, "k": crime_k["cell"].to_numpy(), "n": crime_n["cell"].to_numpy()})

    b = befolkning[(befolkning["ar"].astype(int) == year) & (befolkning["aldersgrupp"].astype(str) != "18-20")]
    pop = b.groupby(b["stadsdel"].astype(str))["antal"].sum()
    areas = cs.tabulate("fig-per1000", by="stadsdel", where=a017 & in_year, levels={"stadsdel": list(pop.index)})
    areas["utsatt_omrade"] = areas["stadsdel"].isin(codes.utsatta_omraden())
    areas["barn_0_17"] = areas["stadsdel"].map(pop).astype(int)
    area_types = cs.tabulate("omradestyp", by="omrade", where=a017 & in_year & df["stadsdel"].isin(pop.index),
                             levels={"omrade": [AREA_UTSATT, AREA_OVRIGA]})
    utsatt_pop = pop[pop.index.isin(codes.utsatta_omraden())].sum()
    area_types["barn_0_17"] = area_types["omrade"].map({AREA_UTSATT: utsatt_pop, AREA_OVRIGA: pop.sum() - utsatt_pop}).astype(int)

    upto = anm & (df["ar"] <= year)
    months = pd.period_range(f"{all_years[0]}-01", f"{year}-12", freq="M").strftime("%Y-%m").tolist()
    monthly = cs.tabulate("fig-manad", by="period", where=upto, levels={"period": months})
    monthly.insert(0, "month", pd.to_datetime(monthly["period"] + "-01"))
    yearly = cs.tabulate("tbl-arsforandring", by="ar", where=upto, levels={"ar": all_years})
    margins = model_margins and len(monthly) >= 24
    if margins:
        _register_model_margins(cs, monthly)
    children = cs.total("barn-0-17", where=a017 & in_year & df["child_first"])

    t = InflowTables(year, cutoff, years, all_years, cs, total, types, anm_per_year, causes, cause_totals,
                     ages, age_totals, child_causes, uam, ansokan, ansokan_total, decisions, decision_totals,
                     closed, to_utredning, crime, areas, area_types, monthly, yearly, children,
                     model_margins=margins)
    # The sample of the following March only when the cut-off covers all of that March.
    late_ok = cutoff >= pd.Timestamp(year=year + 1, month=SAMPLE_MONTH, day=31)
    sample_years = [y for y in ((year, year + 1) if late_ok else (year - 1, year))
                    if (df["ar"].eq(y) & march).any()]
    for y in sample_years:
        t.samples[y] = _march_cells(cs, df, y, march)
    return t


def tabulate_protected(publisher: Publisher, akt: pd.DataFrame, befolkning: pd.DataFrame, year: int,
                       data_cutoff: str | None = None) -> InflowTables:
    """:func:`tabulate` and protect everything at once through ``publisher``.

    When the fitted values of the monthly model would by themselves reveal a small count (a
    month with 1–4 anmälningar whose calendar-month sum is otherwise published, say), the chapter
    is tabulated again without them: the figure then shows the observed series only.
    """
    t = tabulate(akt, befolkning, year, data_cutoff)
    try:
        publisher.protect(t.cells)
    except RuntimeError:
        if not t.model_margins:
            raise
        t = tabulate(akt, befolkning, year, data_cutoff, model_margins=False)
        publisher.protect(t.cells)
    return t


def _register_model_margins(cs: CellSet, monthly: pd.DataFrame) -> None:
    """Register what the fitted values of the monthly count model reveal.

    A Poisson model with month-of-year effects and a trend (or year effects) reproduces, in its
    fitted values, the sum of the counts of each calendar month over the years and the
    trend-weighted sum (its score equations). Publishing the fitted values beside the series
    therefore publishes these sums; registering them lets disclosure control keep a hidden month
    hidden. (A negative binomial fit reveals weighted versions of the same sums; protecting the
    unweighted ones is the conservative reading.)
    """
    cal = monthly["month"].dt.month
    for m in sorted(cal.unique()):
        cells = monthly.loc[cal == m, "cell"]
        if len(cells) > 1:
            cs.combination(f"modell-manad-{int(m):02d}", dict.fromkeys(cells, 1.0))
    t = range(len(monthly))
    if len(monthly) > 12:
        cs.combination("modell-trend", {c: float(i) for c, i in zip(monthly["cell"], t, strict=True) if i})


def _march_cells(cs: CellSet, df: pd.DataFrame, year: int, march: pd.Series) -> MarchCells:
    m = march & (df["ar"] == year)
    brott = m & (df["kategori"] == "brottslighet")
    boys = df["kon"] == "Pojke"
    u = df["utsatt_omrade"]
    p = f"mars{year}"
    # Reporters and causes only for area types with enough anmälningar to break down.
    areas = [a for a, mask in ((AREA_UTSATT, u), (AREA_OVRIGA, ~u)) if (m & mask).sum() >= MIN_DENOMINATOR]
    big = m & df["omrade"].isin(areas)
    reporters = cs.tabulate(f"{p}-anmalare", by=["omrade", "anmalare"], where=big,
                            levels={"omrade": areas, "anmalare": codes.values("anmalare")})
    reporters.insert(2, "etikett", reporters["anmalare"].map(lambda a: codes.label("anmalare", a)))
    causes = cs.tabulate(f"{p}-orsaker", by=["omrade", "kategori"], where=big,
                         levels={"omrade": areas, "kategori": list(codes.kategori_etikett())})
    causes.insert(2, "orsak", causes["kategori"].map(codes.kategori_etikett()))
    return MarchCells(
        year=year,
        total=cs.total(f"{p}", where=m),
        repeat=cs.total(f"{p}-upprepade", where=m & df["repeat_march"]),
        utsatt=cs.total(f"{p}-utsatta", where=m & u),
        ovriga=cs.total(f"{p}-ovriga", where=m & ~u),
        brott=cs.total(f"{p}-brott", where=brott),
        brott_pojkar=cs.total(f"{p}-brott-pojkar", where=brott & boys),
        brott_utsatt=cs.total(f"{p}-brott-utsatta", where=brott & u),
        brott_utsatt_pojkar=cs.total(f"{p}-brott-utsatta-pojkar", where=brott & u & boys),
        brott_utsatt_personer=cs.total(f"{p}-brott-utsatta-personer", where=brott & u & df["brott_utsatt_first"]),
        reporters=reporters,
        causes=causes,
    )


def since_rising(counts: dict[int, int | None], year: int) -> int:
    """First year of the unbroken rise that ends in ``year`` (``year`` itself if it did not rise)."""
    since = year
    while counts.get(since - 1) is not None and counts.get(since) is not None and counts[since - 1] < counts[since]:
        since -= 1
    return since


_TYPE_SLUG = {"Anmälan 0-17": "anmalan_0_17", "Anmälan 18-20": "anmalan_18_20", "Ansökan 0-17": "ansokan_0_17",
              "Ansökan 18-20": "ansokan_18_20", "Annat sätt 0-17": "annat_satt_0_17", "Annat sätt 18-20": "annat_satt_18_20"}
#: The report's pie "Orsakskoder anmälan 0-17" named its slices differently from our categories.
_PIE_IDS = {"bristande_omsorg": "annan_brist_omsorg", "familjekonflikter": "brist_omsorg_familjekonflikt",
            "brottslighet": "brottslighet", "beteendeproblem": "beteende", "psykisk_ohalsa": "psykisk_ohalsa"}
_ANSOKAN_CODES = (("O09", "parent_mental_health"), ("X01", "uam"), ("B03", "child_mental_health"))


def type_label(aktualiseringstyp: str) -> str:
    """"Anmälan 0-17" → "Anmälan för 0–17 år" (the code list's value, written for a reader)."""
    return aktualiseringstyp.replace("-", "–").replace(" 0", " för 0").replace(" 18", " för 18") + " år"


def key_figures(pub: Publisher, t: InflowTables) -> None:
    """Record the chapter's key figures from the protected tables.

    Ids follow the figures the 2021 report published (the shared reference list of its figures,
    compared by ``tests/test_reproduction.py``); some carry the year in the id and some do not,
    exactly as published. Figures of the March sample after the report year carry the data
    cut-off. Key figures that are model estimates are recorded by the notebook next to the test
    that decides whether they are published.
    """
    year, years = t.year, t.years
    kf = pub.key_figure
    kf("inflow_children_0_17_count", "count", "Barn 0–17 år med minst en anmälan", cell=t.children)
    kf("inflow_aktualiseringar_total", "count", "Aktualiseringar totalt", cell=t.total)
    for typ in t.types["aktualiseringstyp"]:
        kf(f"inflow_chart_akttyp_{_TYPE_SLUG[typ]}_share_{year}", "percent",
           f"Andel av alla aktualiseringar: {type_label(typ).lower()}", share=(cell(t.types, aktualiseringstyp=typ), t.total))
    kf(f"inflow_ansokan_0_17_share_{year}", "percent", "Andel ansökan 0–17 av alla aktualiseringar",
       share=(cell(t.types, aktualiseringstyp="Ansökan 0-17"), t.total))
    counts = {int(r.ar): pub.value(r.cell) for r in t.anm_per_year.itertuples()}
    kf("inflow_anmalan_increase_since_year", "year",
       "Första året i den obrutna ökningen av anmälningar 0–17 år fram till rapportåret", value=since_rising(counts, year))

    n_anm = cell(t.cause_totals, ar=year)
    labels = codes.kategori_etikett()
    for kat, short in _PIE_IDS.items():
        kf(f"inflow_chart_orsak_anm_0_17_{short}_share", "percent", f"Andel av anmälningar 0–17: {labels[kat].lower()}",
           share=(cell(t.causes, ar=year, kategori=kat), n_anm))
    kf("inflow_chart_orsak_anm_0_17_uam_share", "percent", "Andel av anmälningar 0–17: ensamkommande barn",
       share=(t.uam, n_anm))
    kf("inflow_bbic_orsakskoder_count", "count", "Antal BBIC-orsakskoder i kodlistan", value=len(codes.values("orsakskoder")))

    def age(g: str, kat: str, y: int = year) -> tuple[str, str]:
        return cell(t.ages, ar=y, aldersgrupp=g, kategori=kat), cell(t.age_totals, ar=y, aldersgrupp=g)

    kf("inflow_0_12_bristande_omsorg_share", "percent", "Andel bristande omsorg, anmälningar 0–12 år",
       share=age("0-12", "bristande_omsorg"))
    kf("inflow_0_12_familjekonflikter_share", "percent", "Andel familjekonflikter, anmälningar 0–12 år",
       share=age("0-12", "familjekonflikter"))
    for y in years:
        kf(f"inflow_13_17_omsorgssvikt_share_{y}", "percent", "Andel bristande omsorg (omsorgssvikt), anmälningar 13–17 år",
           share=age("13-17", "bristande_omsorg", y), year=y)
    kf(f"inflow_13_17_brottslighet_share_{year}", "percent", "Andel brottslighet, anmälningar 13–17 år",
       share=age("13-17", "brottslighet"))

    names = codes.load("orsakskoder").set_index("kod")["orsak"]
    for code_, short in _ANSOKAN_CODES:
        if code_ in set(t.ansokan["orsakskod"]):
            kf(f"inflow_ansokan_0_17_cause_{short}_share_{year}", "percent", f"Andel av ansökan 0–17: {names[code_]}",
               share=(cell(t.ansokan, orsakskod=code_), t.ansokan_total))

    for y in years:
        kf(f"inflow_anmalan_closed_to_service_{y}", "count", "Anmälningar som avslutats med hänvisning till service",
           cell=cell(t.decisions, ar=y, beslut="service"), year=y)
        kf(f"inflow_anmalan_closed_to_other_org_{y}", "count",
           "Anmälningar som avslutats med hänvisning till annan verksamhet",
           cell=cell(t.decisions, ar=y, beslut="annan_verksamhet"), year=y)
    kf(f"inflow_anmalan_closed_no_action_{year}", "count", "Anmälningar som avslutats utan åtgärd",
       cell=cell(t.closed, ar=year))
    kf("inflow_annat_satt_to_utredning_share", "percent", "Andel aktualiseringar på annat sätt som leder till utredning",
       share=t.to_utredning["annat sätt"])
    crime = t.crime.set_index("ar")
    for y in years:
        kf(f"inflow_anmalan_to_utredning_brott_share_{y}", "percent",
           "Andel med orsak brottslighet bland anmälningar som leder till utredning",
           share=(crime.loc[y, "k"], crime.loc[y, "n"]), year=y)

    for y, s in t.samples.items():
        base, cut = f"inflow_sample_mar{y}", (t.cutoff.date().isoformat() if y > year else "")

        def skf(id_: str, unit: str, label: str, base: str = base, y: int = y, cut: str = cut, **kw: object) -> None:
            kf(f"{base}_{id_}", unit, label, year=y, data_cutoff=cut, **kw)

        skf("anmalan_total", "count", f"Anmälningar i mars {y}", cell=s.total)
        skf("repeat_person_count", "count", "Anmälningar om person med minst två anmälningar i mars", cell=s.repeat)
        skf("repeat_person_share", "percent", "Andel anmälningar om person med minst två anmälningar", share=(s.repeat, s.total))
        skf("utsatt_area_count", "count", "Anmälningar om person i utsatt område", cell=s.utsatt)
        skf("utsatt_area_share", "percent", "Andel anmälningar om person i utsatt område", share=(s.utsatt, s.total))
        skf("brott_count", "count", "Anmälningar med orsak brottslighet", cell=s.brott)
        skf("brott_boys", "count", "Anmälningar om brottslighet som gäller pojkar", cell=s.brott_pojkar)
        skf("brott_utsatt_share_half", "percent",
            "Andel av pojkarnas anmälningar om brottslighet som gäller utsatt område",
            share=(s.brott_utsatt_pojkar, s.brott_pojkar))
        skf("brott_utsatt_persons", "count", "Personer med anmälan om brottslighet i utsatt område",
            cell=s.brott_utsatt_personer)
        skf("utsatt_brott_share", "percent", "Andel brottslighet bland anmälningar från utsatta områden",
            share=(s.brott_utsatt, s.utsatt))
        if (s.reporters["omrade"] == AREA_UTSATT).any():
            for code_, short in (("polis", "police"), ("skola", "school")):
                skf(f"utsatt_reporter_{short}_share", "percent",
                    f"Andel anmälningar från {codes.label('anmalare', code_).lower()}, utsatta områden",
                    share=(cell(s.reporters, omrade=AREA_UTSATT, anmalare=code_), s.utsatt))

    at = t.area_types.set_index("omrade")
    for area, slug in ((AREA_UTSATT, "utsatt"), (AREA_OVRIGA, "ovriga")):
        kf(f"inflow_anmalan_per_1000_{slug}", "per_1000", f"Anmälningar 0–17 per 1\u00a0000 barn, {area.lower()}",
           rate=(at.loc[area, "cell"], int(at.loc[area, "barn_0_17"])))
