"""Synthetic structural data: the yearly ``struktur`` extract and the public ``struktur_offentlig``.

Everything is derived from the district population of the targets (``befolkning_0_17_2020``,
``befolkning_tillvaxt``, ``aldersfordelning``: the denominators of the other chapters) and the key
``struktur`` of ``targets.yaml``, so that the chapter *Strukturella faktorer* reproduces the report's
structural figures:

* the public population by one-year age (SCB shape) equals the districts' 0–17 plus two thirds of
  18–20 from 2018 on, and is carried back to 2014 with a growth per five-year group (0–19 +9 %,
  mostly 10–14);
* unemployment 18–64 per district with Skäggetorp and Berga at their 2020 shares and the other
  districts sharing the rest so that the municipality's share is exact;
* households with long-term ekonomiskt bistånd, half of them families with children;
* grade-9 results per school and sex, with Skäggetorpskolan's exact cells;
* the youth mental-health series (a peak in compulsory care 2017–2018) and Kolada's series.

The numbers are invented; only their shape and the published figures are the report's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from helpers.data import codes
from helpers.data.contract import STRUKTUR, STRUKTUR_OFFENTLIG

FIVE_YEAR = ("0-4", "5-9", "10-14", "15-19")
SCB_FROM = 2014
KOMMUN_ID = {"Linköping": "0580", "Riket": "0000"}
BASE_YEAR = 2020


def _lr(total: int, weights) -> list[int]:
    from helpers.data.synth.generate import largest_remainder

    return largest_remainder(int(total), list(weights))


def district_population(targets: dict, year: int) -> dict[str, dict[str, int]]:
    """District → age group (0-5, 6-12, 13-17, 18-20) → population on 31 December of ``year``."""
    pop = targets["befolkning_0_17_2020"]
    growth = targets["befolkning_tillvaxt"]
    dist = targets["aldersfordelning"]
    out = {}
    for area, base in pop.items():
        g = growth.get(area, growth["default"])
        total = base * (1 + g) ** (year - BASE_YEAR)
        out[area] = {agegroup: int(round(total * share)) for agegroup, share in dist.items()}
    return out


def befolkning_rows(targets: dict, year: int) -> list[list[object]]:
    return [[area, ag, n] for area, groups in district_population(targets, year).items() for ag, n in groups.items()]


def _children(targets: dict, year: int) -> dict[str, int]:
    """District → population 0–17."""
    return {a: sum(n for ag, n in g.items() if ag != "18-20") for a, g in district_population(targets, year).items()}


def _children_0_17_total(targets: dict, year: int) -> int:
    """The municipality's 0–17 (before 2018 carried back with the default district growth)."""
    first = min(int(y) for y in targets["years"])
    if year >= first:
        return sum(_children(targets, year).values())
    g = targets["befolkning_tillvaxt"]["default"]
    return int(round(sum(_children(targets, first).values()) / (1 + g) ** (first - year)))


# --- public: SCB population by one-year age -------------------------------------------------------

def scb_population(targets: dict) -> dict[int, list[int]]:
    """Year → population of ages 0..19 (the municipality), 2014 to the last target year."""
    s = targets["struktur"]
    first, last = min(int(y) for y in targets["years"]), max(int(y) for y in targets["years"])

    def total(year: int) -> int:
        groups = district_population(targets, year)
        return sum(n for g in groups.values() for ag, n in g.items() if ag != "18-20") + sum(
            int(round(g["18-20"] * 2 / 3)) for g in groups.values())

    t_base = total(BASE_YEAR)
    share, growth = s["scb_andel_2020"], s["scb_tillvaxt_2014_2020"]
    base = dict(zip(FIVE_YEAR, _lr(t_base, [share[g] for g in FIVE_YEAR]), strict=True))
    rng = np.random.default_rng([int(s["seed"]), 1])
    profile = {g: 1 + rng.uniform(-0.03, 0.03, 5) for g in FIVE_YEAR}
    out: dict[int, list[int]] = {}
    for year in range(SCB_FROM, last + 1):
        if year <= BASE_YEAR:
            f = (year - SCB_FROM) / (BASE_YEAR - SCB_FROM)
            groups = {g: base[g] / (1 + growth[g]) * (1 + growth[g]) ** f for g in FIVE_YEAR}
            if first <= year < BASE_YEAR:  # from the first extract year on, the districts decide the total
                k = total(year) / sum(groups.values())
                groups = {g: v * k for g, v in groups.items()}
        else:
            groups = {g: base[g] * total(year) / t_base for g in FIVE_YEAR}
        parts = _lr(int(round(sum(groups.values()))), [groups[g] for g in FIVE_YEAR])
        ages: list[int] = []
        for g, n in zip(FIVE_YEAR, parts, strict=True):
            ages += _lr(n, profile[g])
        out[year] = ages
    return out


def kolada_values(targets: dict) -> dict[tuple[str, str, int], float]:
    """(KPI short name, area, year) → value. Linköping's unemployment from the first extract year on
    is the districts' (so that the two sources agree)."""
    s = targets["struktur"]
    out = {(kpi, area, int(y)): float(v) for kpi, areas in s["kolada"].items()
           for area, series in areas.items() for y, v in series.items()}
    for year in targets["years"]:
        rows = arbetsloshet_rows(targets, int(year))
        out[("arbetsloshet", "Linköping", int(year))] = round(
            100 * sum(r[2] for r in rows) / sum(r[1] for r in rows), 1)
    return out


def offentlig_rows(targets: dict) -> dict[str, list[list[object]]]:
    pop_rows = [[KOMMUN_ID["Linköping"], "Linköping", year, age, n]
                for year, ages in scb_population(targets).items() for age, n in enumerate(ages)]
    kpis = codes.load("kolada_struktur")
    kpi_id = dict(zip(kpis["namn"], kpis["kpi_id"], strict=True))
    order = {n: i for i, n in enumerate(kpis["namn"])}
    vals = kolada_values(targets)
    keys = sorted(vals, key=lambda k: (KOMMUN_ID[k[1]] != "0580", order[k[0]], k[2]))
    kpi_rows = [[KOMMUN_ID[area], area, kpi_id[kpi], kpi, year, vals[(kpi, area, year)]]
                for kpi, area, year in keys]
    return {"Befolkning": pop_rows, "Nyckeltal": kpi_rows}


# --- the municipality's own data per district -------------------------------------------------------

def prognos_rows(targets: dict, year: int) -> list[list[object]]:
    s = targets["struktur"]
    growth = s["prognos_tillvaxt"]
    rows = []
    for area, groups in district_population(targets, year).items():
        base = sum(n for ag, n in groups.items() if ag != "18-20") + int(round(groups["18-20"] / 3))
        g = float(growth.get(area, growth["default"]))
        for k in range(int(s["prognos_ar"]) + 1):
            rows.append([area, year + k, int(round(base * (1 + g) ** k))])
    return rows


def _adults(targets: dict, year: int) -> dict[str, int]:
    s = targets["struktur"]
    rng = np.random.default_rng([int(s["seed"]), 2])
    children = _children(targets, year)
    level = dict(zip(children, 1 + rng.uniform(-0.2, 0.2, len(children)), strict=True))
    for area in ("Centrum", "Vasastaden"):
        if area in level:
            level[area] *= 1.8  # few children per adult in the centre
    return {a: max(1, int(round(n * float(s["vuxna_per_barn"]) * level[a]))) for a, n in children.items()}


def arbetsloshet_rows(targets: dict, year: int) -> list[list[object]]:
    """[stadsdel, invånare 18–64, arbetslösa 18–64]; the municipality's share is exactly the target."""
    s = targets["struktur"]
    adults = _adults(targets, year)
    total_share = float(s["arbetsloshet_totalt"][year])
    factor = total_share / float(s["arbetsloshet_totalt"][BASE_YEAR])
    fixed = {a: int(round(adults[a] * float(r) * factor)) for a, r in s["arbetsloshet_2020"].items() if a in adults}
    others = [a for a in adults if a not in fixed]
    target_total = int(round(total_share * sum(adults.values())))
    rest = max(0, target_total - sum(fixed.values()))
    rng = np.random.default_rng([int(s["seed"]), 3, year])
    weights = [adults[a] * (1 + rng.uniform(-0.3, 0.3)) for a in others]
    parts = dict(zip(others, _lr(rest, weights), strict=True))
    return [[a, adults[a], fixed.get(a, parts.get(a, 0))] for a in adults]


def bistand_rows(targets: dict, year: int) -> list[list[object]]:
    """[stadsdel, hushåll, hushåll med långvarigt bistånd, varav barnfamiljer]."""
    s = targets["struktur"]
    rate, fam = s["langvarigt_2020"], s["barnfamiljer_andel"]
    change = (1 + float(s["langvarigt_arlig_forandring"])) ** (year - BASE_YEAR)
    adults = _adults(targets, year)
    rng = np.random.default_rng([int(s["seed"]), 5])  # the same district levels every year
    level = dict(zip(adults, 1 + rng.uniform(-0.35, 0.35, len(adults)), strict=True))
    rows = []
    for area, n in adults.items():
        hh = max(1, int(round(n * float(s["hushall_per_vuxen"]))))
        r = float(rate[area]) if area in rate else float(rate["default"]) * level[area]
        lang = min(hh, int(round(hh * r * change)))
        rows.append([area, hh, lang, int(round(lang * float(fam.get(area, fam["default"]))))])
    return rows


def skol_rows(targets: dict, year: int) -> list[list[object]]:
    """[skola, stadsdel, kön, elever, uppnått] for the school year ending in ``year``."""
    s = targets["struktur"]
    children = _children(targets, year)
    shares, step = s["uppnatt"], s["uppnatt_arlig_forandring"]
    drift = sum(float(step.get(y, 0)) for y in range(min(step), year + 1)) - sum(
        float(step.get(y, 0)) for y in range(min(step), 2019 + 1))
    rng = np.random.default_rng([int(s["seed"]), 4, year])
    exact = s.get("skolceller") or {}
    rows = []
    for area, school in s["skolor"].items():
        if area not in children:
            continue
        cells = (exact.get(school) or {}).get(year)
        if cells is None:
            pupils = max(2, int(round(children[area] * float(s["elever_per_barn"]) * (1 + rng.uniform(-0.1, 0.1)))))
            girls = int(round(pupils * 0.49))
            base = float(shares.get(area, shares["default"])) + drift + rng.uniform(-0.02, 0.02)
            adv = float(s["flickor_fordel"]) / 2
            cells = {"Flicka": [girls, int(round(girls * min(0.99, max(0.01, base + adv))))],
                     "Pojke": [pupils - girls, int(round((pupils - girls) * min(0.99, max(0.01, base - adv))))]}
        for kon in ("Flicka", "Pojke"):
            n, k = cells[kon]
            rows.append([school, area, kon, int(n), min(int(n), int(k))])
    return rows


def psykisk_rows(targets: dict, year: int) -> list[list[object]]:
    """[område, år, mått, antal, invånare 0–17] for 2014 … ``year``."""
    s = targets["struktur"]
    rows = []
    for area, measures in s["psykisk_ohalsa"].items():
        for measure, series in measures.items():
            for y in sorted(int(k) for k in series):
                if y > year:
                    continue
                pop = _children_0_17_total(targets, y)
                if area != "Linköping":
                    pop = int(round(pop * float(s["lan_per_kommun_0_17"])))
                rows.append([area, y, measure, int(series[y]), pop])
    return rows


def struktur_sheets(targets: dict, year: int) -> dict[str, tuple[list[str], list[list]]]:
    rows = {"Befolkning": befolkning_rows(targets, year)}
    if "struktur" in targets:
        rows |= {"Prognos": prognos_rows(targets, year), "Arbetslöshet": arbetsloshet_rows(targets, year),
                 "Ekonomiskt bistånd": bistand_rows(targets, year), "Skolresultat": skol_rows(targets, year),
                 "Psykisk ohälsa": psykisk_rows(targets, year)}
    return {sh.name: ([c.header for c in sh.columns], rows[sh.name]) for sh in STRUKTUR.sheets if sh.name in rows}


def write(year: int, targets: dict, raw_dir: Path) -> Path:
    from helpers.data.synth.generate import _write_workbook, scenario_keywords

    path = Path(raw_dir) / STRUKTUR.filename(year)
    _write_workbook(path, struktur_sheets(targets, year), scenario_keywords(targets))
    return path


def write_offentlig(targets: dict, raw_dir: Path) -> Path:
    from helpers.data.synth.generate import _write_workbook, scenario_keywords

    rows = offentlig_rows(targets)
    sheets = {sh.name: ([c.header for c in sh.columns], rows[sh.name]) for sh in STRUKTUR_OFFENTLIG.sheets}
    path = Path(raw_dir) / STRUKTUR_OFFENTLIG.filename()
    _write_workbook(path, sheets, scenario_keywords(targets))
    return path


def scale_struktur(s: dict, scale: float) -> dict:
    """Counts of the ``struktur`` targets times ``scale`` (shares stay)."""
    import copy

    s = copy.deepcopy(s)
    for school, years in (s.get("skolceller") or {}).items():
        for y, cells in years.items():
            s["skolceller"][school][y] = {k: [max(1, int(round(n * scale))), int(round(r * scale))]
                                          for k, (n, r) in cells.items()}
    for area, measures in s["psykisk_ohalsa"].items():
        for m, series in measures.items():
            s["psykisk_ohalsa"][area][m] = {y: int(round(v * scale)) for y, v in series.items()}
    return s
