"""Computations of the Ekonomi chapter: costs of care, prices and care days, budget, and children in care.

Sources: the economy system's ``kostnader`` and ``budget`` (money and care days per month, form
and contract type), the placements in ``insatser`` (children in care, the only person counts of
the chapter, registered in one :class:`~helpers.analysis.disclosure.CellSet`) and the public
comparison data from Kolada (``jamforelse``). Money is in current prices. A report for year Y
uses the economy up to December of Y; Kolada publishes a year's figures in the spring after it,
so the comparison with other municipalities ends the year before (:data:`KOLADA_LAG`), as in the
2021 report.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from helpers.analysis import care, costs
from helpers.analysis.disclosure import CellSet
from helpers.chapters import placeringar
from helpers.chapters.records import first_per_person

#: Kolada's figures for a year come the spring after: the report for Y compares up to Y − 1.
KOLADA_LAG = 1
HELDYGN = ("Familjehem", "HVB", "SIS", "Stödboende")
OPEN = "Öppenvård"
GENERAL, SPECIAL = "Generellt avtal", "Särskilt avtal"
#: Groups of children in care as in the report's chart (HVB without ensamkommande).
CHILD_GROUPS = {"hvb": "HVB (utan ensamkommande)", "sis": "SiS", "familjehem": "Familjehem (inkl. jourhem)"}
#: Children per form of the economy system (all children, ensamkommande included): the base of the
#: cost per placed child.
FORM_GROUPS = {"HVB": ("HVB",), "SIS": ("SIS",), "Familjehem": ("Familjehem", "Jourhem"), "Stödboende": ("Stödboende",)}
#: The price rise that counts as a step (month against the month before).
STEP = 0.10


def cell_of(frame: pd.DataFrame, **kw) -> str:
    m = pd.Series(True, index=frame.index)
    for k, v in kw.items():
        m &= frame[k] == v
    return str(frame.loc[m, "cell"].iloc[0])


def axis_ticks(top_value: float, max_intervals: int = 8) -> list[float]:
    """Ticks of a money axis: steps 1, 2, 5 × 10^k with at most ``max_intervals`` intervals."""
    top_value = max(float(top_value), 1.0)
    k, step = 0, 1.0
    while -(-top_value // step) > max_intervals:
        k += 1
        step = [1, 2, 5][k % 3] * 10 ** (k // 3)
    top = -(-top_value // step) * step
    n = int(round(top / step))
    return [step * i for i in range(n + 1)]


@dataclass
class EconomyTables:
    year: int
    years: list[int]
    cells: CellSet
    yearly: pd.DataFrame  # ar, placeringsform, avtalstyp, kostnad_kr, varddygn, pris_per_dygn
    monthly_hvb: pd.DataFrame  # manad, avtalstyp, kostnad_kr, varddygn, pris_per_dygn
    totals: pd.DataFrame  # ar, heldygn_kr, oppenvard_kr
    budget: pd.DataFrame  # ar, budget_kr, tillskott_kr, totalt_kr, heldygn_kr
    children: pd.DataFrame  # ar, grupp, antal, cell: children in care at some time in the year
    price_change: dict  # base, year, pct: HVB general contracts, care-day-weighted
    step_month: pd.Timestamp | None  # first month with a price step on HVB general contracts
    pv: pd.DataFrame | None  # price–volume decomposition, year before → year
    forecast: costs.Forecast | None  # year-end heldygn cost from January–August of the year
    children_form: pd.DataFrame = None  # placeringsform, antal, cell: all children per form, report year


def prepare(kost: pd.DataFrame, year: int) -> pd.DataFrame:
    df = kost.copy()
    df["manad"] = pd.to_datetime(df["manad"])
    df = df[df["manad"].dt.year <= year]
    for c in ("placeringsform", "avtalstyp"):
        df[c] = df[c].astype(str)
    df["varddygn"] = pd.to_numeric(df["varddygn"], errors="coerce")
    return df


def tabulate(kost: pd.DataFrame, budget: pd.DataFrame, ins: pd.DataFrame, year: int, *, span: int = 2,
             forecast_months: int = 8) -> EconomyTables:
    k = prepare(kost, year)
    available = sorted(int(y) for y in k["manad"].dt.year.unique())
    if year not in available:
        raise ValueError(f"Året {year} finns inte i ekonomidata (tillgängliga år: {', '.join(map(str, available))}).")
    years = [y for y in available if year - span <= y <= year]
    y_all = costs.yearly(k, ["placeringsform", "avtalstyp"])
    yearly = y_all[y_all["ar"].isin(years)].reset_index(drop=True)
    hvb = k[k["placeringsform"] == "HVB"]
    monthly_hvb = hvb.groupby(["manad", "avtalstyp"], as_index=False)[["kostnad_kr", "varddygn"]].sum()
    monthly_hvb["pris_per_dygn"] = monthly_hvb["kostnad_kr"] / monthly_hvb["varddygn"]
    monthly_hvb = monthly_hvb[monthly_hvb["manad"].dt.year.isin(years)].reset_index(drop=True)
    totals = (y_all.assign(grupp=y_all["placeringsform"].map(lambda f: "oppenvard_kr" if f == OPEN else "heldygn_kr"))
              .pivot_table(index="ar", columns="grupp", values="kostnad_kr", aggfunc="sum").reset_index())
    totals.columns.name = None
    b = budget.copy()
    b = b[b["ar"].astype(int) <= year]
    bw = b.pivot_table(index="ar", columns="budgetpost", values="budget_kr", aggfunc="sum").reindex(
        columns=["Budget", "Tillskott"]).fillna(0.0)
    bud = pd.DataFrame({"ar": bw.index.astype(int), "budget_kr": bw["Budget"].to_numpy(),
                        "tillskott_kr": bw["Tillskott"].to_numpy()})
    bud["totalt_kr"] = bud["budget_kr"] + bud["tillskott_kr"]
    bud = bud.merge(totals[["ar", "heldygn_kr"]], on="ar", how="left")
    bud = bud[bud["ar"].isin(years)].reset_index(drop=True)

    # The price per day on HVB general contracts: the change from the first year shown.
    g = y_all[(y_all["placeringsform"] == "HVB") & (y_all["avtalstyp"] == GENERAL)].set_index("ar")["pris_per_dygn"]
    base = years[0]
    price_change = {"base": base, "year": year,
                    "pct": 100 * (g[year] / g[base] - 1) if base in g.index and year in g.index and base != year else None}
    gm = monthly_hvb[monthly_hvb["avtalstyp"] == GENERAL].set_index("manad")["pris_per_dygn"]
    step_month = costs.first_step(gm, STEP)

    pv = None
    if year - 1 in years:
        pv = costs.price_volume(y_all[y_all["ar"] == year - 1], y_all[y_all["ar"] == year], ["placeringsform", "avtalstyp"])
    held = k[k["placeringsform"] != OPEN]
    fc = costs.year_end(held[["manad", "kostnad_kr"]], year, forecast_months) if len(available) > 1 else None

    # Children in care at some time in the year, by the report's groups (one CellSet).
    df = placeringar.prepare(ins, placeringar.cutoff_date(year))
    form = df["insatstyp"].astype(str)
    uam = placeringar._uam(df)
    df["egrupp"] = None
    df.loc[(form == "HVB") & ~uam, "egrupp"] = "hvb"
    df.loc[form == "SIS", "egrupp"] = "sis"
    df.loc[form.isin(["Familjehem", "Jourhem"]), "egrupp"] = "familjehem"
    cs = CellSet(df, unit="placeringar")
    parts = []
    for y in years:
        active = care.active_in(df, y) & df["egrupp"].notna()
        for gname in CHILD_GROUPS:
            first = first_per_person(df, active & (df["egrupp"] == gname), [], ["start_datum", "insats_id"])
            df[f"barn_{gname}_{y}"] = first
        mask = pd.Series(False, index=df.index)
        for gname in CHILD_GROUPS:
            mask |= df[f"barn_{gname}_{y}"]
        df[f"egrupp_{y}"] = df["egrupp"].where(mask)
        parts.append(cs.tabulate(f"fig-barn-placeringsform-{y}", by=f"egrupp_{y}", where=mask,
                                 levels={f"egrupp_{y}": list(CHILD_GROUPS)})
                     .rename(columns={f"egrupp_{y}": "grupp"}).assign(ar=y))
    children = pd.concat(parts, ignore_index=True)
    # All children per form (ensamkommande included) in the report year: the cost per placed child.
    active = care.active_in(df, year)
    fparts = []
    for fname, forms in FORM_GROUPS.items():
        m = active & form.isin(forms)
        col = f"barn_form_{fname}"
        df[col] = first_per_person(df, m, [], ["start_datum", "insats_id"])
        fparts.append({"placeringsform": fname, "antal": int(df[col].sum()), "cell": cs.total(f"barn-form-{fname}", where=df[col])})
    children_form = pd.DataFrame(fparts)
    cs.prefer(*children["cell"])
    t = EconomyTables(year, years, cs, yearly, monthly_hvb, totals[totals["ar"].isin(years)].reset_index(drop=True),
                      bud, children, price_change, step_month, pv, fc)
    t.children_form = children_form
    return t


def tabulate_protected(publisher, kost, budget, ins, year: int) -> EconomyTables:
    t = tabulate(kost, budget, ins, year)
    publisher.protect(t.cells)
    return t


def key_figures(pub, t: EconomyTables, first_placement_year: int | None) -> dict:
    """The chapter's key figures from the economy system; ids follow the 2021 report's ``economy_*``
    figures. Returns the cost-and-budget chart's axis ticks."""
    kf = pub.key_figure
    year = t.year
    if t.price_change["pct"] is not None:
        kf("economy_hvb_general_contract_price_per_day_change", "percent",
           f"Förändring av snittpriset per dygn på generella HVB-avtal {t.price_change['base']}–{year}",
           value=t.price_change["pct"])
    if t.step_month is not None:
        kf("economy_general_contract_cost_increase_from", "year", "År då priset på generella HVB-avtal steg",
           value=int(t.step_month.year))
    if first_placement_year is not None:
        kf("economy_placement_data_uam_separable_from", "year",
           "Första året då ensamkommande barn kan skiljas ut i placeringsdata", value=first_placement_year)
    b = t.budget.set_index("ar")
    if year in b.index:
        kf(f"economy_budget_addition_{year}", "mnkr", "Tillskott till budgeten för heldygnsvård",
           value=float(b.loc[year, "tillskott_kr"]) / 1e6)
    top = max(float(b["heldygn_kr"].max()), float(b["totalt_kr"].max())) / 1000 if len(b) else 0.0
    ticks = axis_ticks(top)
    for w in (160000, 140000, 120000, 100000, 80000, 60000, 40000, 20000):
        kf(f"economy_chart_netcost_bou_nonindexed_axis_tick_{w}", "tkr", "Skalstreck i diagrammet kostnad mot budget",
           value=w if w in ticks else ticks[-1])
    return {"ticks": ticks}


# -- comparison with other municipalities (Kolada) ----------------------------------------------

#: The series of the comparison: Linköping's own value and the groups' unweighted means without it.
SERIES = {"Linköping": "Linköping", "R9": "R9 (snitt utan Linköping)", "IFO-liknande": "IFO-liknande (snitt)"}
#: The KPIs compared with R9 in the report, by their short name in ``kolada_nyckeltal``.
COST_KPIS = ("familjehem", "hvb", "oppna_insatser")


def comparison(jam: pd.DataFrame, year: int, *, span: int = 3) -> pd.DataFrame:
    """Linköping and the group means per KPI and year, for the Kolada years of the report for
    ``year`` (up to ``year − KOLADA_LAG``, ``span`` years before that): columns ``namn`` (the KPI's
    short name), ``ar``, ``serie`` (a key of :data:`SERIES`), ``varde``, ``antal`` (municipalities
    in the mean)."""
    from helpers.data import codes, kolada

    last = year - KOLADA_LAG
    names = dict(zip(codes.load("kolada_nyckeltal")["kpi_id"], codes.load("kolada_nyckeltal")["namn"], strict=True))
    j = jam.copy()
    j["ar"] = j["ar"].astype(int)
    j = j[(j["ar"] <= last) & (j["ar"] >= last - span)]
    own = j[(j["grupp"].astype(str) == "Linköping")].assign(serie="Linköping", antal=1)
    own = own.rename(columns={"varde": "varde"})[["kpi_id", "ar", "serie", "varde", "antal"]]
    means = kolada.group_means(j)
    means = means[means["grupp"].isin(["R9", "IFO-liknande"])].rename(columns={"grupp": "serie", "medel": "varde"})
    out = pd.concat([own.astype({"kpi_id": str}), means[["kpi_id", "ar", "serie", "varde", "antal"]].astype({"kpi_id": str})],
                    ignore_index=True)
    out["namn"] = out["kpi_id"].map(names)
    out["varde"] = out["varde"].astype(float)
    return out.dropna(subset=["namn"]).sort_values(["namn", "serie", "ar"]).reset_index(drop=True)


def value_of(cmp: pd.DataFrame, namn: str, serie: str, ar: int) -> float | None:
    v = cmp[(cmp["namn"] == namn) & (cmp["serie"] == serie) & (cmp["ar"] == ar)]["varde"]
    return float(v.iloc[0]) if len(v) and pd.notna(v.iloc[0]) else None


def below_until(cmp: pd.DataFrame, namn: str, group: str) -> int | None:
    """The last year of the run of years, from the first, in which Linköping's value was below the
    group's mean; None if it was not below in the first year."""
    years = sorted(cmp.loc[cmp["namn"] == namn, "ar"].unique())
    last = None
    for y in years:
        a, b = value_of(cmp, namn, "Linköping", y), value_of(cmp, namn, group, y)
        if a is None or b is None or not a < b:
            break
        last = int(y)
    return last


def comparison_key_figures(pub, cmp: pd.DataFrame, year: int) -> None:
    """The report's comparison figures (``economy_*``), for the last Kolada year of the report."""
    kf = pub.key_figure
    ky = year - KOLADA_LAG
    years = sorted(int(y) for y in cmp["ar"].unique())
    if not years:
        return
    first = years[0]
    net = value_of(cmp, "nettokostnad", "Linköping", ky)
    if net is not None:
        kf(f"economy_netcost_bou_per_inhabitant_{ky}", "kr_per_invanare", "Nettokostnad barn- och ungdomsvård, Linköping",
           value=net, year=ky)
        before = value_of(cmp, "nettokostnad", "Linköping", ky - 1)
        if before is not None:
            kf(f"economy_netcost_bou_per_inhabitant_increase_vs_{ky - 1}", "kr_per_invanare",
               f"Förändring av nettokostnaden per invånare {ky - 1}–{ky}", value=net - before, year=ky)
    until = below_until(cmp, "nettokostnad", "IFO-liknande")
    if until is not None:
        kf("economy_netcost_below_ifo_peers_until", "year",
           "Sista året i följd som nettokostnaden var lägre än snittet för IFO-liknande kommuner", value=until, year=ky)
    kf(f"economy_cost_comparison_series_{first}_{ky}", "year", "Första året i jämförelsen med R9", value=first, year=ky)
    for namn, short in (("familjehem", "familjehem"), ("hvb", "hvb"), ("oppna_insatser", "oppna_insatser")):
        for serie, who in (("Linköping", "linkoping"), ("R9", "r9")):
            v = value_of(cmp, namn, serie, ky)
            if v is not None:
                kf(f"economy_{short}_cost_per_inhabitant_{who}_{ky}", "kr_per_invanare",
                   f"Kostnad per invånare, {namn}, {SERIES[serie]}", value=v, year=ky)
    v = value_of(cmp, "hvb", "Linköping", first)
    if v is not None:
        kf(f"economy_hvb_cost_per_inhabitant_linkoping_{first}", "kr_per_invanare", "Kostnad HVB per invånare, Linköping",
           value=v, year=first)
