"""Deterministic synthetic Treserva-shaped extracts for a Linköping-sized municipality, 2018–2022.

The generator's only inputs are a targets file (counts and shares) and its seed. Cells that the
report publishes are filled by *quota* (exact counts); everything else is drawn at random from a
seeded generator. Running it twice writes byte-identical workbooks (fixed workbook metadata and
zip timestamps).

Scenarios and scale:

* ``scenario="demo"`` (``targets.yaml``) is calibrated against the published report;
* other scenarios are overlays ``targets_<name>.yaml`` (top-level keys replace the demo's), e.g.
  ``kontrast``: a municipality that contradicts every data-dependent sentence of the chapter;
* ``scale`` multiplies every volume (counts and population together, largest-remainder rounding
  within each table) to model a smaller or larger municipality.

Workbooks of any scenario other than the plain demo (``demo`` at scale 1) carry the scenario and
scale in their ``cp:keywords`` (``scenario=kontrast; scale=0.06``) and ``dc:description``
properties; the plain demo workbooks are byte-identical to earlier versions and carry neither.

Personnummer are synthetic: valid format, date and Luhn check digit, with födelsenummer 980–989,
the range of Skatteverket's published test personnummer, so that they never belong to real people.

Besides the aktualiseringar and the population (struktur), every year gets the case extracts
``utredningar`` and ``insatser``, built as one flow over all years by
:mod:`helpers.data.synth.caseflow` (which also links some persons across years and sets how many
ansökningar lead to an utredning, in post-passes with generators of their own). The whole flow is
always built for every year of the targets; ``main(years=…)`` only chooses which files to write.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import functools
import io
import os
import re
import shutil
import tempfile
import zipfile
from collections import defaultdict
from importlib import resources
from pathlib import Path

import numpy as np
import openpyxl
import yaml

from helpers.config import PATHS
from helpers.data import codes, pnr
from helpers.data.contract import (
    AKTUALISERINGAR,
    EXTRACTS,
    INSATSER,
    KOSTNADER,
    PLACERINGAR_DEC,
    UTREDNINGAR,
)
from helpers.data.synth import DEMO, add_arguments, scenarios
from helpers.data.xlsx import add_sheet

# Weights of BBIC orsakskoder within each report category (documented assumption).
CODE_WEIGHTS: dict[str, dict[str, float]] = {
    "bristande_omsorg": {"O12": 28, "O01": 16, "O08": 12, "O09": 12, "O11": 10, "O02": 8, "O03": 5, "O05": 4, "O04": 2, "O10": 2, "O07": 0.6, "O06": 0.4},
    "familjekonflikter": {"F01": 70, "F02": 30},
    "beteendeproblem": {"B01": 65, "B02": 35},
    "brottslighet": {"B09": 80, "B10": 20},
    "psykisk_ohalsa": {"B03": 60, "B04": 25, "B05": 15},
    "skolproblematik": {"B06": 1},
    "missbruk": {"B07": 40, "B08": 60},
    "ovrigt": {"B11": 40, "B12": 20, "X02": 25, "X03": 15},
}
ANNAT_SATT_SHARES = {"bristande_omsorg": 0.55, "familjekonflikter": 0.08, "beteendeproblem": 0.1, "brottslighet": 0.08, "psykisk_ohalsa": 0.08, "skolproblematik": 0.05, "missbruk": 0.03, "ovrigt": 0.03}
ANSOKAN_OTHER = {"O11": 20, "F02": 15, "B05": 15, "B01": 10, "X02": 10, "B06": 10, "O12": 10, "B08": 10}
ANSOKAN_18_20 = {"B08": 30, "B03": 25, "X02": 20, "B07": 15, "X03": 10}
REPORTER_WEIGHTS = {  # anmälare by category, for anmälningar outside the pinned March cells
    "bristande_omsorg": {"polis": 28, "skola": 24, "halso_sjukvard": 16, "socialtjanst": 10, "privatperson": 12, "annan_myndighet": 6, "ovrig": 4},
    "brottslighet": {"polis": 80, "skola": 8, "socialtjanst": 5, "privatperson": 3, "annan_myndighet": 3, "ovrig": 1},
    "default": {"polis": 15, "skola": 35, "halso_sjukvard": 18, "socialtjanst": 10, "privatperson": 12, "annan_myndighet": 6, "ovrig": 4},
}
MONTHS = range(1, 13)
#: Ages (low, high) of the age groups of the aktualiseringar.
AGE_GROUPS = {"0-12": (0, 12), "13-17": (13, 17), "18-20": (18, 20)}
SERIALS_GIRL = (980, 982, 984, 986, 988)
SERIALS_BOY = (981, 983, 985, 987, 989)
#: Above the demo volume (scale > 1) the test range runs out (five serials per birth date and sex):
#: every serial 001–999 is then used. Those numbers are valid and may belong to real people; they
#: are drawn at random for synthetic files (benchmarks at 10× and 100×), never from a register.
WIDE_SERIALS_GIRL = tuple(range(2, 1000, 2))
WIDE_SERIALS_BOY = tuple(range(1, 1000, 2))


def serials(kon: str, wide: bool = False) -> tuple[int, ...]:
    """The födelsenummer to draw from for ``kon``: the test range 980–989, or (``wide``, scale > 1)
    all of 001–999."""
    if wide:
        return WIDE_SERIALS_BOY if kon == "Pojke" else WIDE_SERIALS_GIRL
    return SERIALS_BOY if kon == "Pojke" else SERIALS_GIRL
FIXED_TIME = dt.datetime(2021, 6, 11, 0, 0, 0)


def _read_yaml(name: str) -> dict:
    with resources.files("helpers.data.synth").joinpath(name).open(encoding="utf-8") as f:
        return yaml.safe_load(f)


def load_targets(scenario: str = DEMO, scale: float = 1.0) -> dict:
    """The targets of ``scenario`` (the demo's with the overlay's top-level keys replacing them),
    with every volume multiplied by ``scale``."""
    if scenario not in scenarios():
        raise ValueError(f"okänt scenario {scenario!r} (finns: {', '.join(scenarios())})")
    if not scale > 0:
        raise ValueError(f"skalan måste vara större än 0 (fick {scale})")
    targets = _read_yaml("targets.yaml")
    if scenario != DEMO:
        targets.update(_read_yaml(f"targets_{scenario}.yaml"))
    targets = scale_targets(targets, scale)
    targets["scenario"], targets["scale"] = scenario, float(scale)
    return targets


def largest_remainder(total: int, weights: dict[str, float] | list[float]) -> list[int]:
    """Split ``total`` into integer parts proportional to ``weights`` (Hamilton's method)."""
    w = np.asarray(list(weights.values()) if isinstance(weights, dict) else weights, dtype=float)
    raw = total * w / w.sum()
    parts = np.floor(raw).astype(int)
    for i in np.argsort(-(raw - parts), kind="stable")[: total - parts.sum()]:
        parts[i] += 1
    return parts.tolist()


def _scaled(total: float, scale: float) -> int:
    return int(round(total * scale))


def scale_targets(targets: dict, scale: float) -> dict:
    """A copy of ``targets`` with every count multiplied by ``scale``.

    Each table is rounded as a whole with :func:`largest_remainder` so that its parts add up to
    its (rounded) total, and every cross-table constraint of the builder is kept: anmälan 0-17
    equals its category cells, pinned ansökan codes and decisions fit their totals, decisions on
    brottslighet never exceed the brottslighet anmälningar, the March quotas fit the year.
    Shares (utsatt_share, utredning shares, seasonal weights …) are left as they are.
    """
    if scale == 1.0:
        return targets
    t = copy.deepcopy(targets)
    for y, types in t["aktualiseringstyper"].items():
        anm = t["anmalan_0_17"][y]
        cells = [(ag, k) for ag in ("0-12", "13-17") for k in anm[ag]]
        parts = largest_remainder(_scaled(sum(anm[ag][k] for ag, k in cells), scale), [anm[ag][k] for ag, k in cells])
        for (ag, k), n in zip(cells, parts, strict=True):
            anm[ag][k] = n
        anm["n_13_17"] = sum(anm["13-17"].values())
        n_anm = sum(parts)
        others = [k for k in types if k != "Anmälan 0-17"]
        rest = largest_remainder(max(_scaled(sum(types.values()), scale) - n_anm, 0), [types[k] for k in others])
        new_types = {k: (n_anm if k == "Anmälan 0-17" else rest[others.index(k)]) for k in types}
        n_ovrigt = anm["0-12"].get("ovrigt", 0) + anm["13-17"].get("ovrigt", 0)
        t["ensamkommande_anmalan_0_17"][y] = min(_scaled(t["ensamkommande_anmalan_0_17"][y], scale), n_ovrigt)
        fixed = t["ansokan_0_17_orsak"][y]
        parts = largest_remainder(new_types["Ansökan 0-17"], [*fixed.values(), types["Ansökan 0-17"] - sum(fixed.values())])
        t["ansokan_0_17_orsak"][y] = dict(zip(fixed, parts[:-1], strict=True))
        q = t["anmalan_beslut"][y]
        n_all = types["Anmälan 0-17"] + types["Anmälan 18-20"]
        weights = [q["utredning"] - q["utredning_brott"], q["utredning_brott"], q["service"], q["annan_verksamhet"],
                   q["kronologiska"], n_all - q["utredning"] - q["service"] - q["annan_verksamhet"] - q["kronologiska"]]
        utr, brott, service, annan, krono, _tillfors = largest_remainder(n_anm + new_types["Anmälan 18-20"], weights)
        n_brott = anm["0-12"].get("brottslighet", 0) + anm["13-17"].get("brottslighet", 0)
        brott_kept = min(brott, n_brott)
        t["anmalan_beslut"][y] = {"utredning": utr + brott, "utredning_brott": brott_kept, "service": service,
                                  "annan_verksamhet": annan, "kronologiska": krono}
        t["aktualiseringstyper"][y] = new_types
        if y in t.get("mars", {}):
            t["mars"][y] = _scale_march(t["mars"][y], anm, scale)
    t["befolkning_0_17_2020"] = {a: max(1, _scaled(n, scale)) for a, n in t["befolkning_0_17_2020"].items()}
    if "utfall" in t:
        t["utfall"] = _scale_utfall(t["utfall"], t["aktualiseringstyper"], scale)
    if "placeringar" in t:
        t["placeringar"] = _scale_placeringar(t["placeringar"], scale)
    if "struktur" in t:
        from helpers.data.synth.struktur import scale_struktur

        t["struktur"] = scale_struktur(t["struktur"], scale)
    if "ekonomi" in t:  # money follows the volume
        t["ekonomi"]["heldygn_kostnad_kr"] = round(float(t["ekonomi"]["heldygn_kostnad_kr"]) * scale, -5)
        t["ekonomi"]["tillskott"] = {y: round(float(v) * scale, -5) for y, v in (t["ekonomi"].get("tillskott") or {}).items()}
    return t


def _scale_placeringar(pl: dict, scale: float) -> dict:
    """Scale the placement quotas: the review's slots as one table (largest remainder) and its
    marginals to the same total; the other tables each as a whole."""
    pl = copy.deepcopy(pl)
    g = pl.get("granskning") or {}
    slots = g.get("slots") or []
    if slots:
        old_n = sum(int(s[-1]) for s in slots)
        parts = largest_remainder(_scaled(old_n, scale), [int(s[-1]) for s in slots])
        g["slots"] = [[*s[:-1], n] for s, n in zip(slots, parts, strict=True)]
        n = sum(parts)
        g["flickor"] = round(int(g.get("flickor", old_n // 2)) * n / old_n) if old_n else 0
        named = g.get("stadsdelar") or {}
        if named:
            keep = min(n, _scaled(sum(named.values()), scale))
            g["stadsdelar"] = dict(zip(named, largest_remainder(keep, list(named.values())), strict=True))
        utan = g.get("utan_oppenvard") or {}
        uam = sum(k for s, k in zip(g["slots"], parts, strict=True) if s[3])
        if utan:
            total = max(uam, min(n, _scaled(sum(utan.values()), scale)))
            g["utan_oppenvard"] = dict(zip(utan, largest_remainder(total, list(utan.values())), strict=True))
        if "varken_skola_eller_oppenvard" in g:
            g["varken_skola_eller_oppenvard"] = min(sum((g.get("utan_oppenvard") or {}).values()),
                                                    _scaled(g["varken_skola_eller_oppenvard"], scale))
    for key in ("bestand_ovriga",):
        table = pl.get(key) or {}
        if table:
            pl[key] = dict(zip(table, largest_remainder(_scaled(sum(table.values()), scale), list(table.values())), strict=True))
    for key in ("avslutade", "startade"):
        for year, table in (pl.get(key) or {}).items():
            cells = [(a, b) for a, inner in table.items() for b in (inner if isinstance(inner, dict) else [None])]
            values = [table[a][b] if b is not None else table[a] for a, b in cells]
            if sum(values) == 0:
                continue
            parts = largest_remainder(_scaled(sum(values), scale), values)
            for (a, b), n in zip(cells, parts, strict=True):
                if b is None:
                    table[a] = n
                else:
                    table[a][b] = n
            pl[key][year] = table
    return pl


def _scale_utfall(u: dict, types: dict, scale: float) -> dict:
    """Scale the case-flow quotas: ansökningar leading to utredning (at most the year's ansökningar)
    and the tables of ended insatser (each year's table rounded as a whole, largest remainder)."""
    u = copy.deepcopy(u)
    if "ansokan_utredning" in u:
        u["ansokan_utredning"] = {
            y: min(_scaled(n, scale), types[y]["Ansökan 0-17"] + types[y]["Ansökan 18-20"]) if y in types else _scaled(n, scale)
            for y, n in u["ansokan_utredning"].items()}
    for key in ("service", "oppenvard"):
        for table in u.get(key, {}).values():
            cells = [(a, b) for a, inner in table.items()
                     for b in (inner if isinstance(inner, dict) else range(len(inner)))]
            values = [table[a][b] for a, b in cells]
            if sum(values) == 0:
                continue
            parts = largest_remainder(_scaled(sum(values), scale), values)
            for (a, b), n in zip(cells, parts, strict=True):
                table[a][b] = n
    return u


def _scale_march(m: dict, anm: dict, scale: float) -> dict:
    """Scale one March sample; no category quota exceeds the year's (scaled) anmälningar 0-17."""
    m = copy.deepcopy(m)
    left = {k: anm["0-12"].get(k, 0) + anm["13-17"].get(k, 0) for k in set(anm["0-12"]) | set(anm["13-17"])}
    for area in ("utsatt", "ovriga"):
        spec = m[area]
        kat = spec["kategori"]
        parts = largest_remainder(_scaled(sum(kat.values()), scale), list(kat.values()))
        spec["kategori"] = {k: min(n, left.get(k, 0)) for k, n in zip(kat, parts, strict=True)}
        for k, n in spec["kategori"].items():
            left[k] -= n
        total = sum(spec["kategori"].values())
        spec["n_18_20"] = min(_scaled(spec["n_18_20"], scale), total)
        spec["brott_pojkar"] = min(_scaled(spec["brott_pojkar"], scale), spec["kategori"].get("brottslighet", 0))
        rep = spec["anmalare"]
        spec["anmalare"] = dict(zip(rep, largest_remainder(total, list(rep.values())), strict=True))
    m["n_18_20"] = m["utsatt"]["n_18_20"] + m["ovriga"]["n_18_20"]
    m["repeat_groups"] = {size: _scaled(n, scale) for size, n in m["repeat_groups"].items()}
    return m


class YearBuilder:
    """Builds the aktualiseringar of one year as a list of dict records."""

    def __init__(self, year: int, targets: dict, rng: np.random.Generator):
        self.year = year
        self.t = targets
        self.rng = rng
        self.records: list[dict] = []
        self.cat_of = codes.orsak_kategori()
        areas = codes.load("stadsdelar")
        self.utsatta = areas.loc[areas["utsatt_omrade"], "stadsdel"].tolist()
        pop = targets["befolkning_0_17_2020"]
        self.ovriga = [a for a in areas["stadsdel"] if a not in self.utsatta]
        self.ovriga_w = np.array([pop[a] for a in self.ovriga], dtype=float)
        if "omrade_vikt" in targets:  # relative rate per child by area (default: equal rates)
            self.ovriga_w = self.ovriga_w * np.array([targets["omrade_vikt"].get(a, 1.0) for a in self.ovriga])
        self.utsatt_w = np.array([targets["utsatt_split"][a] for a in self.utsatta], dtype=float)

    # -- helpers -------------------------------------------------------------------------
    def pick(self, options: dict[str, float]) -> str:
        return pick(self.rng, options)

    def code_for(self, kategori: str) -> str:
        return self.pick(CODE_WEIGHTS[kategori])

    def add(self, typ: str, agegroup: str, kategori: str | None, orsakskod: str | None = None) -> dict:
        rec = {"typ": typ, "agegroup": agegroup, "kategori": kategori, "orsakskod": orsakskod, "month": None, "utsatt": None,
               "kon": None, "anmalare": None, "beslut": None, "group": None}
        self.records.append(rec)
        return rec

    # -- building ------------------------------------------------------------------------
    def build(self) -> list[dict]:
        y, t = self.year, self.t
        types = t["aktualiseringstyper"][y]
        anm = t["anmalan_0_17"][y]
        for agegroup in ("0-12", "13-17"):
            for kategori, n in anm[agegroup].items():
                for _ in range(n):
                    self.add("Anmälan 0-17", agegroup, kategori)
        assert sum(1 for r in self.records if r["typ"] == "Anmälan 0-17") == types["Anmälan 0-17"], "targets: anmälan 0-17 counts"
        # ensamkommande among 'ovrigt' (13-17 first)
        uam = t["ensamkommande_anmalan_0_17"][y]
        ovr = sorted((r for r in self.records if r["kategori"] == "ovrigt"), key=lambda r: r["agegroup"] != "13-17")
        for r in ovr[:uam]:
            r["orsakskod"] = "X01"
        for kategori, n in zip(t["anmalan_18_20_shares"], largest_remainder(types["Anmälan 18-20"], t["anmalan_18_20_shares"]), strict=True):
            for _ in range(n):
                self.add("Anmälan 18-20", "18-20", kategori)
        # ansökan and annat sätt
        fixed = t["ansokan_0_17_orsak"][y]
        for code, n in fixed.items():
            for _ in range(n):
                self.add("Ansökan 0-17", "", None, code)
        for _ in range(types["Ansökan 0-17"] - sum(fixed.values())):
            self.add("Ansökan 0-17", "", None, self.pick(ANSOKAN_OTHER))
        for _ in range(types["Ansökan 18-20"]):
            self.add("Ansökan 18-20", "18-20", None, self.pick(ANSOKAN_18_20))
        annat = t.get("annat_satt_shares", ANNAT_SATT_SHARES)
        for kategori, n in zip(annat, largest_remainder(types["Annat sätt 0-17"], annat), strict=True):
            for _ in range(n):
                self.add("Annat sätt 0-17", "", kategori)
        for kategori, n in zip(t["anmalan_18_20_shares"], largest_remainder(types["Annat sätt 18-20"], t["anmalan_18_20_shares"]), strict=True):
            for _ in range(n):
                self.add("Annat sätt 18-20", "18-20", kategori)
        for r in self.records:
            if r["orsakskod"] is None:
                r["orsakskod"] = self.code_for(r["kategori"])
            r["kategori"] = self.cat_of[r["orsakskod"]]
            if not r["agegroup"]:
                r["agegroup"] = "13-17" if self.rng.random() < 0.45 else "0-12"

        if y in t.get("mars", {}):
            self.march_sample(t["mars"][y])
        self.months()
        self.areas_and_sex()
        self.reporters()
        self.decisions()
        return self.records

    def march_sample(self, m: dict) -> None:
        """Pin the March anmälningar to the published sample (areas, causes, boys, reporters)."""
        for area in ("utsatt", "ovriga"):
            spec = m[area]
            quota = dict(spec["kategori"])
            chosen: list[dict] = []
            young_adults = [r for r in self.records if r["typ"] == "Anmälan 18-20" and r["month"] is None]
            self.rng.shuffle(young_adults)
            for r in young_adults:
                if len([c for c in chosen if c["typ"] == "Anmälan 18-20"]) == spec["n_18_20"]:
                    break
                if quota.get(r["kategori"], 0) > 0 and r["kategori"] != "brottslighet":
                    quota[r["kategori"]] -= 1
                    chosen.append(r)
            for kategori, n in quota.items():
                if n == 0:
                    continue
                pool = [r for r in self.records if r["typ"] == "Anmälan 0-17" and r["month"] is None and r["kategori"] == kategori]
                idx = self.rng.choice(len(pool), size=n, replace=False)
                chosen.extend(pool[i] for i in sorted(idx))
            for r in chosen:
                r["month"] = 3
                r["utsatt"] = area == "utsatt"
                r["march"] = True
            brott = [r for r in chosen if r["kategori"] == "brottslighet"]
            for i, r in enumerate(brott):
                r["kon"] = "Pojke" if i < spec["brott_pojkar"] else "Flicka"
            for r in chosen:
                if r["kon"] is None:
                    r["kon"] = "Pojke" if self.rng.random() < self.t["boys_share"][r["kategori"]] else "Flicka"
            # reporters by quota, police preferably on crime, school on school/behaviour problems
            rest = list(chosen)
            for reporter, n in spec["anmalare"].items():
                if n == 0:
                    continue
                w = np.array([self._reporter_affinity(reporter, r["kategori"]) for r in rest])
                idx = set(self.rng.choice(len(rest), size=n, replace=False, p=w / w.sum()).tolist())
                for i in idx:
                    rest[i]["anmalare"] = reporter
                rest = [r for i, r in enumerate(rest) if i not in idx]
            assert not rest
        self.march_groups(m["repeat_groups"])

    @staticmethod
    def _reporter_affinity(reporter: str, kategori: str) -> float:
        if reporter == "polis":
            return {"brottslighet": 12.0, "missbruk": 3.0, "bristande_omsorg": 1.5}.get(kategori, 1.0)
        if reporter == "skola":
            return {"skolproblematik": 6.0, "beteendeproblem": 3.0, "psykisk_ohalsa": 2.0, "brottslighet": 0.3}.get(kategori, 1.0)
        if reporter == "halso_sjukvard":
            return {"psykisk_ohalsa": 4.0, "brottslighet": 0.2}.get(kategori, 1.0)
        return 0.3 if kategori == "brottslighet" else 1.0

    def march_groups(self, sizes: dict[int, int]) -> None:
        """Group March reports into persons so that exactly the target number of reports concern
        a person with two or more reports in the month."""
        strata: dict[tuple, list[dict]] = defaultdict(list)
        for r in self.records:
            if r.get("march"):
                strata[(r["utsatt"], r["kon"], r["agegroup"])].append(r)
        for lst in strata.values():
            self.rng.shuffle(lst)
        gid = 0
        for size in sorted(sizes, reverse=True):
            for _ in range(sizes[size]):
                keys = [k for k, v in strata.items() if len(v) >= size]
                if not keys:  # a small (scaled) sample: no stratum holds a group this large
                    break
                w = np.array([len(strata[k]) for k in keys], dtype=float)
                k = keys[int(self.rng.choice(len(keys), p=w / w.sum()))]
                gid += 1
                for _ in range(size):
                    strata[k].pop()["group"] = f"m{gid}"

    def months(self) -> None:
        free = [r for r in self.records if r["month"] is None]
        season = self.t["season"]
        march_fixed = any(r.get("march") for r in self.records)
        weights = [0.0 if (march_fixed and m == 3) else season[m - 1] for m in MONTHS]
        counts = largest_remainder(len(free), weights)
        order = self.rng.permutation(len(free))
        months = np.repeat(list(MONTHS), counts)
        for i, m in zip(order, months, strict=True):
            free[i]["month"] = int(m)

    def areas_and_sex(self) -> None:
        share = self.t["utsatt_share"][self.year]
        for r in self.records:
            if r["utsatt"] is None:
                r["utsatt"] = bool(self.rng.random() < share)
            if r["kon"] is None:
                r["kon"] = "Pojke" if self.rng.random() < self.t["boys_share"][r["kategori"]] else "Flicka"
        # non-March persons with several reports: groups of 2–3 within (area type, sex, age group)
        strata: dict[tuple, list[dict]] = defaultdict(list)
        for r in self.records:
            if not r.get("march"):
                strata[(r["utsatt"], r["kon"], r["agegroup"])].append(r)
        gid = 0
        for key in sorted(strata, key=str):
            lst = strata[key]
            self.rng.shuffle(lst)
            i = 0
            while i < len(lst):
                size = 1
                u = self.rng.random()
                if u < 0.10:
                    size = 2
                elif u < 0.14:
                    size = 3
                gid += 1
                for r in lst[i : i + size]:
                    r["group"] = f"g{gid}"
                i += size
        for r in self.records:
            if r["group"] is None:
                gid += 1
                r["group"] = f"g{gid}"

    def reporters(self) -> None:
        for r in self.records:
            if r["typ"].startswith("Anmälan") and r["anmalare"] is None:
                r["anmalare"] = self.pick(REPORTER_WEIGHTS.get(r["kategori"], REPORTER_WEIGHTS["default"]))

    def _assign(self, pool: list[dict], n: int, decision: str, weight) -> list[dict]:
        if n == 0:
            return pool
        w = np.array([weight(r) for r in pool], dtype=float)
        idx = set(self.rng.choice(len(pool), size=n, replace=False, p=w / w.sum()).tolist())
        for i in idx:
            pool[i]["beslut"] = decision
        return [r for i, r in enumerate(pool) if i not in idx]

    def decisions(self) -> None:
        q = self.t["anmalan_beslut"][self.year]
        anm = [r for r in self.records if r["typ"].startswith("Anmälan")]
        brott = [r for r in anm if r["kategori"] == "brottslighet"]
        other = [r for r in anm if r["kategori"] != "brottslighet"]
        self._assign(brott, q["utredning_brott"], "utredning", lambda r: 1.0)
        self._assign(other, q["utredning"] - q["utredning_brott"], "utredning",
                     lambda r: 1.4 if r["kategori"] == "bristande_omsorg" else 1.0)
        rest = [r for r in anm if r["beslut"] is None]
        service_w = {"brottslighet": 3.0, "beteendeproblem": 2.5, "skolproblematik": 2.0, "missbruk": 2.0, "psykisk_ohalsa": 1.5}
        rest = self._assign(rest, q["service"], "service", lambda r: service_w.get(r["kategori"], 0.6))
        other_w = {"psykisk_ohalsa": 2.5, "skolproblematik": 2.0, "missbruk": 2.0}
        rest = self._assign(rest, q["annan_verksamhet"], "annan_verksamhet", lambda r: other_w.get(r["kategori"], 1.0))
        rest = self._assign(rest, q["kronologiska"], "kronologiska", lambda r: 1.0)
        for r in rest:
            r["beslut"] = "tillfors"
        for typ, share in (("Annat sätt", self.t["annat_satt_utredning"][self.year]), ("Ansökan", self.t["ansokan_utredning"][self.year])):
            pool = [r for r in self.records if r["typ"].startswith(typ)]
            rest = self._assign(pool, round(share * len(pool)), "utredning", lambda r: 1.0)
            for r in rest:
                r["beslut"] = self.pick({"tillfors": 55, "kronologiska": 35, "service": 10})


@functools.cache
def _cdf(weights: tuple[float, ...]) -> np.ndarray:
    """The cumulative distribution that ``rng.choice(len(w), p=w / w.sum())`` draws from."""
    p = np.array(weights, dtype=float)
    cdf = (p / p.sum()).cumsum()
    return cdf / cdf[-1]


def draw(rng: np.random.Generator, weights) -> int:
    """``int(rng.choice(len(w), p=w / w.sum()))``: the same draw (one ``rng.random()`` looked up in the
    cumulative distribution, as numpy does) without numpy's checks of ``p`` at every call, which
    took most of the time of a draw made for every record."""
    return int(_cdf(tuple(weights)).searchsorted(rng.random(), side="right"))


def pick(rng: np.random.Generator, weights: dict) -> str:
    """A key of ``weights`` drawn with those weights (as ``rng.choice(len(keys), p=p / p.sum())``)."""
    keys = list(weights)
    return keys[draw(rng, weights.values())]


def _birthday_window(dates: list[dt.date], year: int) -> tuple[dt.date, dt.date, bool]:
    """Anniversary window that keeps the age constant over ``dates`` and whether it is after them."""
    first, last = min(dates), max(dates)
    after = (dt.date(year, 12, 31) - last).days >= (first - dt.date(year, 1, 1)).days
    if after and last == dt.date(year, 12, 31):  # dates on 1 January and 31 December (large volumes only)
        after = False  # the birthday on 1 January itself keeps the age constant
    return (last + dt.timedelta(days=1), dt.date(year, 12, 31), True) if after else (dt.date(year, 1, 1), first, False)


def people(records: list[dict], year: int, rng: np.random.Generator, used: set[str], ovriga, ovriga_w, utsatta, utsatt_w,
           *, wide: bool = False) -> None:
    """Give every group of records one person: age, birth date, personnummer and area (``wide``:
    serials from all of 001–999, see :func:`serials`)."""
    groups: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        groups[r["group"]].append(r)
    age_w = {g: np.ones(hi - lo + 1) if lo >= 13 else np.linspace(0.6, 1.4, hi - lo + 1)
             for g, (lo, hi) in AGE_GROUPS.items()}
    for gid in sorted(groups, key=lambda g: (g[0], int(g[1:]))):
        members = groups[gid]
        lead = members[0]
        age = AGE_GROUPS[lead["agegroup"]][0] + draw(rng, age_w[lead["agegroup"]])
        area = utsatta[draw(rng, utsatt_w)] if lead["utsatt"] else ovriga[draw(rng, ovriga_w)]
        dates = [r["date"] for r in members]
        start, end, after = _birthday_window(dates, year)
        pool = serials(lead["kon"], wide)
        for _attempt in range(200):
            anniv = start + dt.timedelta(days=int(rng.integers(0, (end - start).days + 1)))
            by = year - age - (1 if after else 0)
            if anniv.month == 2 and anniv.day == 29:
                continue
            birth = anniv.replace(year=by)
            number = pnr.make(birth, pool[int(rng.integers(0, len(pool)))])  # as rng.choice(pool)
            if number not in used:
                used.add(number)
                break
        else:  # pragma: no cover - the space of test numbers is large
            raise RuntimeError("could not find a free synthetic personnummer")
        for r in members:
            r["alder"] = age
            r["stadsdel"] = area
            r["personnummer"] = number


def build_aktualiseringar(year: int, targets: dict) -> list[dict]:
    rng = np.random.default_rng([targets["seed"], year])
    yb = YearBuilder(year, targets, rng)
    records = yb.build()
    for r in records:
        days = (dt.date(year + (r["month"] == 12), r["month"] % 12 + 1, 1) - dt.date(year, r["month"], 1)).days
        r["date"] = dt.date(year, r["month"], int(rng.integers(1, days + 1)))
    people(records, year, rng, set(), yb.ovriga, yb.ovriga_w, yb.utsatta, yb.utsatt_w,
           wide=targets.get("scale", 1.0) > 1)
    records.sort(key=lambda r: (r["date"], r["personnummer"], r["typ"], r["orsakskod"]))
    for i, r in enumerate(records, 1):
        r["id"] = f"A{year}-{i:05d}"
    return records


# ------------------------------------------------------------------------------------------
# Writing workbooks deterministically
# ------------------------------------------------------------------------------------------


def scenario_keywords(targets: dict) -> str | None:
    """``cp:keywords`` naming scenario and scale, or None for the plain demo (kept byte-identical)."""
    scenario, scale = targets.get("scenario", DEMO), float(targets.get("scale", 1.0))
    if scenario == DEMO and scale == 1.0:
        return None
    return f"scenario={scenario}; scale={scale:g}"


def _write_workbook(path: Path, sheets: dict[str, tuple[list[str], list[list]]], keywords: str | None = None) -> None:
    """Write ``sheets`` (name → headers, rows) to ``path``: bold headers, ``yyyy-mm-dd`` in the
    columns whose header ends with *datum*, fixed metadata and zip timestamps.

    openpyxl builds the workbook with each sheet's first row only; the other rows are written
    straight as the XML that openpyxl writes for them (:func:`_rows_xml`; one Python call per cell
    instead of a cell object and an XML element), checked against openpyxl's own XML of the first
    row. Values of any other kind than those :func:`_cell_tail` knows make openpyxl write the whole
    workbook, as before: the bytes are the same either way."""
    rest = {}
    wb = _workbook({name: (headers, rows[:1]) for name, (headers, rows) in sheets.items()}, keywords)
    for k, (ws, (headers, rows)) in enumerate(zip(wb.worksheets, sheets.values(), strict=True), 1):
        # Style ids are numbered on first use: ask for them in the order in which openpyxl writes the
        # cells (the header row first).
        header_styles = [cell.style_id for cell in ws[1] if cell.has_style]
        styles = [cell.style_id if cell.has_style else 0 for cell in ws[2]] if rows else []
        del header_styles
        xml = _rows_xml(rows, len(headers), styles)
        if xml is None:
            rest = None
            break
        rest[f"xl/worksheets/sheet{k}.xml"] = (len(headers), len(rows), styles, xml)
    if rest is None:  # a value of another kind: openpyxl writes every row
        wb = _workbook(sheets, keywords)
        rest = {}
    buf = io.BytesIO()
    wb.save(buf)
    # Re-pack with fixed timestamps so that the bytes depend only on the content.
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                              rb"\g<1>" + FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode() + rb"\g<2>", data)
            if info.filename in rest:
                data = _with_rows(data, *rest.pop(info.filename))
            zi = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o600 << 16
            dst.writestr(zi, data)
    if rest:  # pragma: no cover - openpyxl names the sheets sheet1.xml, sheet2.xml, …
        raise RuntimeError(f"arbetsboken saknar {sorted(rest)}")
    tmp = path.with_suffix(".xlsx.tmp")
    tmp.write_bytes(out.getvalue())
    tmp.replace(path)


def _workbook(sheets: dict[str, tuple[list[str], list[list]]], keywords: str | None) -> openpyxl.Workbook:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, (headers, rows) in sheets.items():
        ws = add_sheet(wb, name, headers, rows)
        for col, header in zip(ws.iter_cols(min_row=1, max_row=1), headers, strict=True):
            ws.column_dimensions[col[0].column_letter].width = max(12, len(header) + 2)
            if header.endswith("datum"):
                for cell in ws[col[0].column_letter][1:]:
                    cell.number_format = "yyyy-mm-dd"
    wb.properties.creator = "genomlysning synthetic generator"
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    if keywords:
        wb.properties.keywords = keywords
        wb.properties.description = f"Syntetiska data ({keywords.replace('; ', ', ')})"
    return wb


#: Excel's serial number of a date is its ordinal less this (from 1 March 1900 on).
_EXCEL_DAY0 = dt.date(1899, 12, 30).toordinal()
_FIRST_SERIAL = dt.date(1900, 3, 1)
#: Strings that openpyxl would not store as plain inline text (formulas, error codes, characters
#: that XML escapes otherwise or not at all) or that are too long for a cell.
_SPECIAL_STRING = re.compile(r"^[=#]|[\x00-\x08\x0b-\x1f\x7f]|^.{32768}", re.DOTALL)


def _cell_tail(value) -> str | None:
    """What follows ``<c r="…"`` and the style in the ``<c>`` element that openpyxl writes for
    ``value`` (not None), or None for a value of another kind."""
    kind = type(value)
    if kind is str:
        if _SPECIAL_STRING.search(value):
            return None
        if value == "":
            return ' t="inlineStr" />'
        text = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        stripped = value.strip()
        space = ' xml:space="preserve"' if stripped and stripped != value else ""
        return f' t="inlineStr"><is><t{space}>{text}</t></is></c>'
    if kind is bool:
        return f' t="b"><v>{int(value)}</v></c>'
    if kind is int or (kind is float and np.isfinite(value)):
        return f' t="n"><v>{value:.16g}</v></c>'
    if kind is dt.date and value >= _FIRST_SERIAL:
        return f' t="n"><v>{value.toordinal() - _EXCEL_DAY0}</v></c>'
    return None


def _rows_xml(rows: list[list], width: int, styles: list[int]) -> list[str] | None:
    """The ``<row>`` elements of ``rows`` (sheet rows 2, 3, …) as openpyxl writes them (``styles``:
    the style id of each column, 0 for none), or None if a row has another width, writes no cell or
    holds a value that :func:`_cell_tail` leaves to openpyxl."""
    letters = [openpyxl.utils.get_column_letter(c) for c in range(1, width + 1)]
    attrs = [f' s="{s}"' if s else "" for s in styles]
    # The tails of repeated values (kön, stadsdel, codes, dates), by kind (True == 1 as a key); not
    # floats (0.0 == -0.0).
    known: dict[type, dict] = {str: {}, int: {}, bool: {}, dt.date: {}}
    out = []
    for r, row in enumerate(rows, 2):
        if len(row) != width:
            return None
        cells = []
        for c, v, s in zip(letters, row, attrs, strict=True):
            if v is None:
                if s:
                    cells.append(f'<c r="{c}{r}"{s} t="n" />')
                continue
            cache = known.get(type(v))
            tail = cache.get(v) if cache is not None else None
            if tail is None:
                tail = _cell_tail(v)
                if tail is None:
                    return None
                if cache is not None and len(cache) < 100_000:
                    cache[v] = tail
            cells.append(f'<c r="{c}{r}"{s}{tail}')
        if not cells:
            return None
        out.append(f'<row r="{r}">{"".join(cells)}</row>')
    return out


def _with_rows(sheet_xml: bytes, width: int, n: int, styles: list[int], rows: list[str]) -> bytes:
    """The sheet XML that openpyxl wrote for the first data row, with all ``n`` rows ``rows``."""
    if n == 0:
        return sheet_xml
    xml = sheet_xml.decode("utf-8")
    last = openpyxl.utils.get_column_letter(width)
    dim = f'<dimension ref="A1:{last}2" />'
    a = xml.find('<row r="2">')
    b = xml.find("</sheetData>")
    if xml.count(dim) != 1 or a < 0 or xml[a:b] != rows[0]:  # pragma: no cover - guarded by the tests
        raise RuntimeError("openpyxl skriver en rad annorlunda än _rows_xml")
    head = xml[:a].replace(dim, f'<dimension ref="A1:{last}{n + 1}" />')
    return "".join([head, *rows, xml[b:]]).encode("utf-8")


def write_aktualiseringar(year: int, targets: dict, raw_dir: Path, records: list[dict] | None = None) -> Path:
    """Write one year's aktualiseringar (``records``: the year's records of
    :func:`helpers.data.synth.caseflow.aktualiseringar`, built here if not given)."""
    if records is None:
        from helpers.data.synth import caseflow

        records = caseflow.aktualiseringar(targets)[year]
    sheet = AKTUALISERINGAR.sheets[0]
    headers = [c.header for c in sheet.columns]
    rows = [[r["id"], r["personnummer"], r["date"], r["typ"], r["kon"], r["alder"], r["orsakskod"],
             r["anmalare"], r["stadsdel"], r["beslut"]] for r in records]
    path = raw_dir / AKTUALISERINGAR.filename(year)
    _write_workbook(path, {sheet.name: (headers, rows)}, scenario_keywords(targets))
    return path


def write_struktur(year: int, targets: dict, raw_dir: Path) -> Path:
    """Write one year's ``struktur`` (population, forecast, unemployment, bistånd, school, mental health)."""
    from helpers.data.synth import struktur

    return struktur.write(year, targets, raw_dir)


def write_cases(year: int, flow, written_years: list[int], targets: dict, raw_dir: Path) -> list[Path]:
    """Write one year's ``utredningar`` and ``insatser`` of a built :class:`~helpers.data.synth.caseflow.Flow`,
    cut for the set of years written (:data:`helpers.data.contract.CASE_EXTRACT_RULE`)."""
    paths = []
    extracts = [(UTREDNINGAR, flow.utredning_rows(year, written_years)),
                (INSATSER, flow.insats_rows(year, written_years))]
    if flow.placed is not None:
        extracts.append((PLACERINGAR_DEC, flow.review_rows(year, written_years)))
    for extract, rows in extracts:
        sheet = extract.sheets[0]
        path = raw_dir / extract.filename(year)
        _write_workbook(path, {sheet.name: ([c.header for c in sheet.columns], rows)}, scenario_keywords(targets))
        paths.append(path)
    return paths


def write_kostnader(year: int, econ, targets: dict, raw_dir: Path) -> Path:
    """Write one year's ``kostnader`` (costs and care days per month, and the budget)."""
    cost_sheet, budget_sheet = KOSTNADER.sheets
    path = raw_dir / KOSTNADER.filename(year)
    _write_workbook(path, {cost_sheet.name: ([c.header for c in cost_sheet.columns], econ.cost_rows(year)),
                           budget_sheet.name: ([c.header for c in budget_sheet.columns], econ.budget_rows(year))},
                    scenario_keywords(targets))
    return path


def main(raw_dir: Path | str | None = None, years: list[int] | None = None, *,
         scenario: str = DEMO, scale: float = 1.0, flow_years: list[int] | None = None) -> list[Path]:
    """Write the synthetic extracts of ``scenario`` at ``scale`` into ``raw_dir`` (default ``data/raw``).

    The flow is built for every year of the targets; ``years`` chooses the files written (the case
    extracts are then cut as if those were all the years delivered). ``flow_years`` builds the
    flow for those years only, as if the targets had no others (for benchmarks at large scale,
    where building all years takes long)."""
    from helpers.data.synth import caseflow, economy

    raw_dir = Path(raw_dir or PATHS.raw)
    raw_dir.mkdir(parents=True, exist_ok=True)
    targets = load_targets(scenario, scale)
    if flow_years:
        targets["years"] = [y for y in targets["years"] if y in set(flow_years)]
    akt = caseflow.aktualiseringar(targets)
    flow = caseflow.build(akt, targets)
    econ = economy.build(flow, targets)
    chosen = sorted(years or targets["years"])
    written = []
    for year in chosen:
        written.append(write_aktualiseringar(year, targets, raw_dir, akt[year]))
        written.append(write_struktur(year, targets, raw_dir))
        written += write_cases(year, flow, chosen, targets, raw_dir)
        if econ is not None:
            written.append(write_kostnader(year, econ, targets, raw_dir))

    # comparison data (Kolada shape): one file for all years
    from helpers.data.synth import jamforelse

    written.append(jamforelse.write(targets, raw_dir))
    if "struktur" in targets:  # public structural data (SCB and Kolada shape): one file for all years
        from helpers.data.synth import struktur

        written.append(struktur.write_offentlig(targets, raw_dir))
    return written


class NotSyntheticError(Exception):
    """``data/raw`` holds extracts that the generator did not write (or is a protected data folder);
    nothing is replaced."""


def _extracts(raw_dir: Path) -> list[Path]:
    return sorted(p for p in raw_dir.glob("*.xlsx") if not p.name.startswith((".", "~$")))


def replace(raw_dir: Path | str | None = None, *, scenario: str = DEMO, scale: float = 1.0) -> list[Path]:
    """Replace the synthetic extracts in ``raw_dir`` by those of ``scenario`` at ``scale``.

    Refuses (:class:`NotSyntheticError`, nothing changed) if ``raw_dir`` holds any workbook of case
    data that the generator did not write; a real copy of public data (Kolada) is kept as it is. The new extracts are written to a staging folder first, so a
    failure leaves ``raw_dir`` as it was.
    """
    from helpers.data.ingest import is_synthetic

    raw_dir = Path(raw_dir or PATHS.raw)
    raw_dir.mkdir(parents=True, exist_ok=True)
    # A real copy of public data (fetched from Kolada) is kept, not replaced by the demo's.
    public = {e.filename() for e in EXTRACTS if e.public and not e.yearly}
    keep = {p.name for p in _extracts(raw_dir) if p.name in public and not is_synthetic(p)}
    foreign = [p.name for p in _extracts(raw_dir) if not is_synthetic(p) and p.name not in keep]
    if foreign:
        raise NotSyntheticError(
            f"{raw_dir} innehåller uttag som inte är syntetiska ({', '.join(foreign)}); de skrivs inte över. "
            "Flytta dem eller använd en tom mapp för att skriva syntetiska data.")
    load_targets(scenario, scale)  # fail early on a bad scenario or scale
    staging = Path(tempfile.mkdtemp(prefix=".synth-", dir=raw_dir))
    try:
        main(staging, scenario=scenario, scale=scale)
        for old in _extracts(raw_dir):
            if old.name not in keep:
                old.unlink()
        written = []
        for new in _extracts(staging):
            if new.name not in keep:
                written.append(new.replace(raw_dir / new.name))
        return written
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def data_command(scenario: str | None, scale: float | None) -> str | None:
    """``genomlysning data --scenario … --scale …``: replace the synthetic extracts in ``data/raw``.

    Returns a Swedish message to print, or None if neither option was given (the plain command
    then behaves as before: demo data only if ``data/raw`` holds no extracts). Raises
    :class:`NotSyntheticError` if ``data/raw`` holds real extracts or if ``GENOMLYSNING_DATA_DIR``
    points the raw data elsewhere.
    """
    if scenario is None and scale is None:
        return None
    if os.environ.get("GENOMLYSNING_DATA_DIR"):
        raise NotSyntheticError("GENOMLYSNING_DATA_DIR är satt: --scenario och --scale skriver bara syntetiska "
                                "data till projektets data/raw. Ta bort variabeln för att använda dem.")
    scenario, scale = scenario or DEMO, scale or 1.0
    written = replace(PATHS.raw, scenario=scenario, scale=scale)
    scale_text = f"{scale:g}".replace(".", ",")
    return f"Syntetiska data (scenario {scenario}, skala {scale_text}) skrivna till {PATHS.raw}: {len(written)} filer"


def cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Skriv syntetiska demoextrakt (Treserva-format) till data/raw.")
    parser.add_argument("--raw", type=Path, default=None, help="målmapp (standard: data/raw)")
    add_arguments(parser)
    args = parser.parse_args(argv)
    for path in main(args.raw, scenario=args.scenario or DEMO, scale=args.scale or 1.0):
        print(f"skrev {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(cli())
