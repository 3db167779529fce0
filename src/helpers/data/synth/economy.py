"""The synthetic economy extract (``kostnader_ÅÅÅÅ.xlsx``), built from the placements of the case flow.

Care days follow from the placements: every day a placement runs is a care day of its form
(jourhem counts as familjehem, as in the economy system) and contract type. Each placement gets
one contract type (``ekonomi.avtal``: HVB on general or special contracts, familjehem in own
regime or with a consultant-supported special contract, SiS and stödboende on one each). The cost
of a month is care days × the price per day of the form, contract type and month
(``ekonomi.pris``); prices on HVB general contracts step up from ``pris_hojning_fran`` so that the
care-day-weighted average price per day of the step year is ``pris_forandring`` above the base
year's (the 2021 report: +32 % 2018–2020, the rise from February 2020). All prices are then scaled
by one factor so that the heldygn cost of ``kalibrering_ar`` is ``heldygn_kostnad_kr`` (the report's
chart axis). Öppenvård costs a fixed amount per open insats and month. The budget of each year is
a share (``budget_andel``) of the calibration year's heldygn cost, with a top-up (``tillskott``) on a
row of its own.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict

import numpy as np

#: The economy system's forms: jourhem is booked as familjehem.
FORM = {"Familjehem": "Familjehem", "Jourhem": "Familjehem", "HVB": "HVB", "SIS": "SIS", "Stödboende": "Stödboende"}
GENERAL, SPECIAL, OWN = "Generellt avtal", "Särskilt avtal", "Egen regi"
S_EKONOMI = 71


@functools.cache
def _months(year: int) -> tuple[dt.date, ...]:
    return tuple(dt.date(year, m, 1) for m in range(1, 13))


@functools.cache  # cached: called for every month of every insats
def _month_end(first: dt.date) -> dt.date:
    nxt = dt.date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    return nxt - dt.timedelta(days=1)


def _overlap(start: dt.date, end: dt.date, first: dt.date, last: dt.date) -> int:
    lo, hi = max(start, first), min(end, last)
    return max(0, (hi - lo).days + 1)


def _month_days(start: dt.date, end: dt.date, years: list[int]):
    """(first day of month, days in it) for every month of ``years`` that ``start``–``end`` touches."""
    for year in years:
        if start > dt.date(year, 12, 31) or end < dt.date(year, 1, 1):
            continue
        for m in _months(year):
            d = _overlap(start, end, m, _month_end(m))
            if d:
                yield m, d


def _by_year(spec, year: int):
    if not isinstance(spec, dict):
        return spec
    years = sorted(int(y) for y in spec)
    earlier = [y for y in years if y <= year]
    return spec[earlier[-1] if earlier else years[0]]


class Economy:
    """Care days, costs and budget of every year (see the module doc)."""

    def __init__(self, flow, spec: dict):
        self.flow = flow
        self.spec = spec
        self.years = flow.years
        self.rng = np.random.default_rng([flow.seed, 0, S_EKONOMI])
        self.days: dict[tuple[dt.date, str, str], int] = defaultdict(int)
        self.cost: dict[tuple[dt.date, str, str], float] = defaultdict(float)
        self.budget: dict[int, list[tuple[str, float]]] = {}
        self.factor = 1.0

    def build(self) -> Economy:
        self.care_days()
        self.costs()
        self.open_costs()
        self.budgets()
        return self

    def contract(self, form: str, uam: bool, start: dt.date) -> str:
        """One contract type per placement: the shares of the form, by the placement's start year
        when the targets give them per year."""
        shares = self.spec["avtal"][form]
        if all(isinstance(k, int) for k in shares):
            shares = _by_year(shares, start.year)
        if form == "HVB" and uam:
            return GENERAL
        keys = list(shares)
        p = np.array([float(shares[k]) for k in keys])
        return keys[int(self.rng.choice(len(keys), p=p / p.sum()))]

    def care_days(self) -> None:
        last_day = dt.date(self.years[-1], 12, 31)
        placements = sorted((p for p in self.flow.placed.placements if p.insats is not None),
                            key=lambda p: p.insats.id)
        for p in placements:
            form = FORM[p.form]
            avtal = self.contract(form, bool(p.uam), p.start)
            for m, d in _month_days(p.start, min(p.end, last_day), self.years):
                self.days[(m, form, avtal)] += d

    def price(self, month: dt.date, form: str, avtal: str) -> float:
        spec = self.spec["pris"][form][avtal]
        return float(_by_year(spec, month.year))

    def costs(self) -> None:
        s = self.spec
        step_year, step_month = int(s["pris_hojning_fran"][:4]), int(s["pris_hojning_fran"][5:7])
        base_year = int(s["pris_basar"])
        change = float(s["pris_forandring"])
        # Price on HVB general contracts from the step month: the step year's weighted average is
        # (1 + change) × the base year's.
        base_days = sum(d for (m, f, a), d in self.days.items() if f == "HVB" and a == GENERAL and m.year == base_year)
        base_cost = sum(d * self.price(m, f, a) for (m, f, a), d in self.days.items()
                        if f == "HVB" and a == GENERAL and m.year == base_year)
        before = [(m, d) for (m, f, a), d in self.days.items()
                  if f == "HVB" and a == GENERAL and m.year == step_year and m.month < step_month]
        after = sum(d for (m, f, a), d in self.days.items()
                    if f == "HVB" and a == GENERAL and m.year == step_year and m.month >= step_month)
        target = (1 + change) * base_cost / base_days if base_days else 0.0
        total_step = sum(d for _m, d in before) + after
        stepped = ((target * total_step - sum(d * self.price(m, "HVB", GENERAL) for m, d in before)) / after
                   if after else 0.0)
        for (m, f, a), d in self.days.items():
            p = self.price(m, f, a)
            if f == "HVB" and a == GENERAL and m.year == step_year and m.month >= step_month:
                p = stepped
            self.cost[(m, f, a)] = d * p
        # One factor on every price: the heldygn cost of the calibration year.
        year = int(s["kalibrering_ar"])
        total = sum(c for (m, _f, _a), c in self.cost.items() if m.year == year)
        if total:
            self.factor = float(s["heldygn_kostnad_kr"]) / total
            for k in self.cost:
                self.cost[k] *= self.factor

    def open_costs(self) -> None:
        per_month = self.spec["oppenvard_kr_per_manad"]
        open_forms = {"Öppenvård", "Kontaktperson", "Kontaktfamilj"}
        last_day = dt.date(self.years[-1], 12, 31)
        for i in self.flow.insatser:
            if i.insatstyp not in open_forms:
                continue
            amount = float(per_month["service" if i.grund == "Service" else i.insatstyp])
            for m, d in _month_days(i.start, min(i.end, last_day), self.years):
                self.cost[(m, "Öppenvård", OWN)] += amount * d / _month_end(m).day

    def heldygn_cost(self, year: int) -> float:
        return sum(c for (m, f, _a), c in self.cost.items() if m.year == year and f != "Öppenvård")

    def budgets(self) -> None:
        share = self.spec["budget_andel"]
        top = self.spec.get("tillskott") or {}
        level = float(self.spec["heldygn_kostnad_kr"])
        for year in self.years:
            extra = float(top.get(year, 0))
            base = round(float(_by_year(share, year)) * level / 100_000) * 100_000
            rows = [("Budget", float(max(base, 0)))]
            if extra:
                rows.append(("Tillskott", extra))
            self.budget[year] = rows

    # -- rows -------------------------------------------------------------------------------
    def cost_rows(self, year: int) -> list[list]:
        rows = []
        keys = sorted(k for k in set(self.cost) | set(self.days) if k[0].year == year)
        for m, f, a in keys:
            days = self.days.get((m, f, a)) if f != "Öppenvård" else None
            rows.append([m, f, a, round(self.cost.get((m, f, a), 0.0), 0), days])
        return rows

    def budget_rows(self, year: int) -> list[list]:
        return [[year, post, amount] for post, amount in self.budget.get(year, [])]


def build(flow, targets: dict) -> Economy | None:
    spec = targets.get("ekonomi")
    if not spec or flow.placed is None:
        return None
    return Economy(flow, spec).build()
