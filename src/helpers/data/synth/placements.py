"""The synthetic placements (heldygnsinsatser) of the case flow and the December review.

Placements are built around the *review year* ``P`` of the targets (``placeringar.granskningsar``,
2020 in the demo: the 2021 report reviewed the HVB placements of December 2020). Every placement
either ended by 31 December ``P``, was ongoing on that day, or started after it, so three disjoint
generations give every placement exactly once:

1. **ongoing on 31 December P**: the review's HVB and stödboende placements with the exact
   composition of ``granskning`` (form, lagrum, anledning, ensamkommande; girls, districts and
   children without prior öppenvård as marginals), and the other forms (``bestand_ovriga``);
2. **ended in a year up to P**: by quota per end year, group (form, age band, ensamkommande) and
   ending (``avslutade``); a move between forms is not an ending and comes on top;
3. **started after P**: periods of care per start year and first form (``startade``).

Then periods of care are formed: some placements get a predecessor in another form under the same
lagrum (``kedjor``, ended with *Byte av placeringsform*), and some placements ended *Övergår till
annan insats* are followed the next day by a placement under the other lagrum group
(``lagrumsbyte``, SoL ↔ LVU). Each period gets one child: a granted utredning of the flow that ended
shortly before the period's start (the placement is its bistånd insats), or a new child for periods
begun before the first data year, or (``aterplacering``) a child whose earlier period ended within
a year. The review's "Tidigare öppenvård" is what the insatser show (an öppen insats started
before the placement), and its school flags are set so that ``varken_skola_eller_oppenvard`` holds.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from helpers.data import codes
from helpers.data.contract import STODBOENDE_SEPARAT_FRAN
from helpers.data.synth.caseflow import _year_md
from helpers.data.synth.generate import pick

S_PLACERING = 61
#: At most this many of the review year's children come from a district not named in the targets.
OTHER_DISTRICT_CAP = 7

HVB, STODBOENDE, FAMILJEHEM, JOURHEM, SIS = "HVB", "Stödboende", "Familjehem", "Jourhem", "SIS"
BYTE = "Byte av placeringsform"
OVERGAR = "Övergår till annan insats"
SOL = "SoL"
EGET, BRIST, BADA, ANNAN = "Eget beteende", "Brist i omsorgen", "Brist i omsorgen och eget beteende", "Annan anledning"

#: Duration in days (low, mode, high) of a placement by form.
DAYS = {HVB: (60, 300, 900), STODBOENDE: (90, 365, 900), FAMILJEHEM: (60, 300, 1500), JOURHEM: (14, 60, 180),
        SIS: (30, 150, 400)}
#: Time already spent on 31 December of the review year, by form (and for ensamkommande in stödboende).
ELAPSED = {HVB: (10, 60, 400), STODBOENDE: (30, 300, 1000), "uam": (200, 900, 1700), FAMILJEHEM: (5, 60, 900),
           JOURHEM: (5, 40, 150), SIS: (10, 90, 300)}
#: How far back a review placement may start when a fitting child is sought (days).
REVIEW_WINDOW = 900
#: Time left after 31 December of the review year.
RESIDUAL = {HVB: (20, 180, 600), STODBOENDE: (40, 250, 700), FAMILJEHEM: (20, 250, 1200), JOURHEM: (5, 40, 120),
            SIS: (20, 100, 300)}
#: Age at the start of the placement (low, high), by group.
AGES = {"familjehem_0_13": (0, 13), "familjehem_14_20": (14, 18), "hvb": (12, 17), "hvb_ensamkommande": (15, 17),
        "stodboende": (16, 19), "stodboende_ensamkommande": (16, 18), "sis": (13, 17),
        FAMILJEHEM: (0, 17), JOURHEM: (0, 15), HVB: (12, 17), SIS: (13, 17), STODBOENDE: (16, 19)}
#: Form and ensamkommande of each quota group of ``avslutade``.
GROUPS = {"familjehem_0_13": (FAMILJEHEM, False), "familjehem_14_20": (FAMILJEHEM, False), "hvb": (HVB, False),
          "hvb_ensamkommande": (HVB, True), "stodboende": (STODBOENDE, False),
          "stodboende_ensamkommande": (STODBOENDE, True), "sis": (SIS, False)}
#: Share of jourhem among the ended placements of the familjehem groups (the report counts both).
JOURHEM_SHARE = {"familjehem_0_13": 0.15, "familjehem_14_20": 0.05}
#: Lagrum mix by form (and the familjehem age bands).
LAGRUM = {
    "familjehem_0_13": {"SoL": 55, "LVU 2 §": 40, "LVU 2 och 3 §§": 5},
    "familjehem_14_20": {"SoL": 60, "LVU 2 §": 20, "LVU 3 §": 15, "LVU 2 och 3 §§": 5},
    FAMILJEHEM: {"SoL": 55, "LVU 2 §": 38, "LVU 3 §": 3, "LVU 2 och 3 §§": 4},
    JOURHEM: {"SoL": 60, "LVU 2 §": 35, "LVU 2 och 3 §§": 5},
    HVB: {"SoL": 45, "LVU 3 §": 40, "LVU 2 §": 10, "LVU 2 och 3 §§": 5},
    SIS: {"LVU 3 §": 85, "LVU 2 och 3 §§": 10, "SoL": 5},
    STODBOENDE: {"SoL": 1},
}
#: Endings of placements that end after the review year, by form.
ENDINGS = {STODBOENDE: {"Enligt plan": 70, "Avbruten": 15, "Övrigt": 15},
           None: {"Enligt plan": 55, "Avbruten": 20, OVERGAR: 15, "Övrigt": 10}}
#: Codes of the placement's cause when it has no utredning in the data (run-in), by anledning.
ANLEDNING_CODES = {EGET: {"B01": 3, "B02": 2, "B07": 2, "B04": 1}, BRIST: {"O01": 3, "O02": 2, "O09": 2},
                   BADA: {"O01": 2, "B02": 2, "B01": 1}, ANNAN: {"X01": 1}}


def _tri(rng: np.random.Generator, lmh: tuple[int, int, int], hi: int | None = None) -> int:
    lo, mode, top = lmh
    if hi is not None:
        top = max(lo, min(top, hi))
        mode = min(mode, top)
    return int(min(top, max(lo, round(rng.triangular(lo, mode, top)) if top > lo else lo)))


def _pick(rng: np.random.Generator, weights: dict) -> str:
    return pick(rng, weights)


@dataclass(eq=False)
class Placement:
    form: str
    lagrum: str
    start: dt.date
    end: dt.date  # the true end (may lie after the extraction date: ongoing)
    ending: str | None  # the true ending
    ages: tuple[int, int]  # age at start (low, high)
    uam: bool = False
    fixed_end: bool = False  # the end year is a quota (generation 2)
    review: dict | None = None  # the review year's slot: anledning, kon, stadsdel, utan_oppenvard
    anledning: str | None = None
    skola: bool | None = None
    situation: str | None = None
    period: Period | None = None
    person: object = None
    insats: object = None


@dataclass(eq=False)
class Period:
    placements: list[Placement] = field(default_factory=list)
    person: object = None
    utr: object = None
    shared_utr: bool = False  # the utredning's first insats was öppenvård (ended Övergår till annan insats)

    @property
    def start(self) -> dt.date:
        return self.placements[0].start

    @property
    def end(self) -> dt.date:
        return self.placements[-1].end


@functools.cache
def lagrum_grupp(lagrum: str) -> str:
    return codes.lagrum_grupp()[lagrum]  # cached: called for every pair of candidate placements


#: An ordinal after every date (no such day).
_NEVER = dt.date.max.toordinal()


class _People:
    """Every child a candidate may be, by a dense number: the periods each child is busy with (and
    the latest end among them, for vectorised overlap checks) and the children already taken."""

    def __init__(self):
        self.number: dict[str, int] = {}
        self.pnrs: list[str] = []
        self.spans: dict[str, list[tuple[dt.date, dt.date]]] = defaultdict(list)
        self.last = np.full(1024, -1, dtype=np.int64)  # latest busy end (ordinal)
        self.taken = np.zeros(1024, dtype=bool)
        self.codes: dict[str, int] = {}  # kön and stadsdel → a dense code
        self.names: list[str] = []

    def of(self, pnr: str) -> int:
        k = self.number.get(pnr)
        if k is None:
            k = self.number[pnr] = len(self.pnrs)
            self.pnrs.append(pnr)
            if k >= len(self.last):
                self.last = np.concatenate([self.last, np.full(len(self.last), -1, dtype=np.int64)])
                self.taken = np.concatenate([self.taken, np.zeros(len(self.taken), dtype=bool)])
        return k

    def busy(self, pnr: str, start: dt.date, end: dt.date) -> None:
        self.spans[pnr].append((start, end))
        k = self.of(pnr)
        self.last[k] = max(self.last[k], end.toordinal())

    def code(self, name: str) -> int:
        k = self.codes.get(name)
        if k is None:
            k = self.codes[name] = len(self.names)
            self.names.append(name)
        return k

    def allowed(self, cap: dict) -> np.ndarray:
        """By code: whether ``cap`` (kön or stadsdel → room left) has room."""
        return np.array([cap[name] > 0 for name in self.names], dtype=bool)

    def take(self, pnr: str) -> None:
        self.taken[self.of(pnr)] = True

    def free(self, ids: np.ndarray, start: dt.date, end: dt.date) -> np.ndarray:
        """Which children ``ids`` have no busy period overlapping [start, end]."""
        ok = self.last[ids] < start.toordinal()
        for k in np.flatnonzero(~ok).tolist():
            ok[k] = all(e < start or s > end for s, e in self.spans[self.pnrs[ids[k]]])
        return ok


class _Persons:
    """The persons of a list of cases as arrays (index-aligned with the list, which may grow by
    :meth:`add`), for vectorised checks."""

    FIELDS = ("by", "bmd", "last20", "id", "kon", "stadsdel")

    def __init__(self, cf, persons: list, people: _People):
        self.cf, self.people, self.n = cf, people, 0
        for name in self.FIELDS:
            setattr(self, name, np.zeros(max(16, len(persons)), dtype=np.int64))
        self.add(persons)

    def add(self, persons: list) -> None:
        m = self.n + len(persons)
        if m > len(self.by):
            for name in self.FIELDS:
                a = getattr(self, name)
                setattr(self, name, np.concatenate([a, np.zeros(max(len(a), m - len(a)), dtype=np.int64)]))
        cf, people, k = self.cf, self.people, slice(self.n, m)
        self.by[k], self.bmd[k] = _year_md(np.array([p.birth.toordinal() for p in persons], dtype=np.int64))
        self.last20[k] = [cf.last_day_aged_20(p.birth).toordinal() for p in persons]
        self.id[k] = [people.of(p.pnr) for p in persons]
        self.kon[k] = [people.code(p.kon) for p in persons]
        self.stadsdel[k] = [people.code(p.stadsdel) for p in persons]
        self.n = m

    def ages(self, idx: np.ndarray, days: np.ndarray) -> np.ndarray:
        """Age of the persons ``idx`` on the day ordinals ``days``."""
        year, md = _year_md(days)
        return year - self.by[idx] - (md < self.bmd[idx])

    def fits(self, idx: np.ndarray, q: Period) -> np.ndarray:
        """Which persons ``idx`` fit period ``q``: 0–20 to its end (or the extraction date), in every
        placement's age band at its start, and not busy with another period then."""
        ok = self.last20[idx] >= min(q.end, self.cf.EXTRACTION_DATE).toordinal()
        for p in q.placements:
            age = p.start.year - self.by[idx] - ((p.start.month * 100 + p.start.day) < self.bmd[idx])
            ok &= (p.ages[0] <= age) & (age <= p.ages[1])
        ok[ok] = self.people.free(self.id[idx[ok]], q.start, q.end)
        return ok


class _Pool:
    """Cases to match (granted utredningar still without insats, or öppenvård that ended *Övergår
    till annan insats*), sorted by end, with their persons as arrays.

    With ``by_person`` and ``open_starts`` (the utredningar): ``min_open``, the earliest start of
    any insats of the child, and ``other_end``, the earliest end of another granted utredning of
    the child (ordinals, :data:`_NEVER` if none)."""

    def __init__(self, cf, cases: list, people: _People, by_person: dict | None = None,
                 open_starts: dict | None = None):
        self.cases = cases
        self.ends = [c.end for c in cases]
        self.end = np.array([d.toordinal() for d in self.ends], dtype=np.int64)
        self.used = np.zeros(len(cases), dtype=bool)
        self.reserved = np.zeros(len(cases), dtype=bool)
        self.index = {id(c): i for i, c in enumerate(cases)}
        self.persons = _Persons(cf, [c.person for c in cases], people)
        self.x01 = np.array([c.orsakskod == "X01" for c in cases], dtype=bool)
        if by_person is not None and open_starts is not None:
            self.min_open = np.array([min(open_starts[c.person.pnr]).toordinal() if open_starts.get(c.person.pnr)
                                      else _NEVER for c in cases], dtype=np.int64)
            self.other_end = np.array([min((v.end.toordinal() for v in by_person.get(c.person.pnr, []) if v is not c),
                                           default=_NEVER) for c in cases], dtype=np.int64)

    def window(self, lo: dt.date, hi: dt.date) -> np.ndarray:
        """Indices of the free cases (not used, not reserved) that ended in [lo, hi]."""
        i0, i1 = bisect.bisect_left(self.ends, lo), bisect.bisect_right(self.ends, hi)
        return np.arange(i0, i1)[~(self.used[i0:i1] | self.reserved[i0:i1])]

    def reserve(self, case) -> None:
        i = self.index.get(id(case))
        if i is not None:
            self.reserved[i] = True


class Placements:
    """Generate the placements of a :class:`~helpers.data.synth.caseflow.Flow` (see the module doc)."""

    def __init__(self, flow, spec: dict):
        from helpers.data.synth import caseflow as cf

        self.cf = cf
        self.flow = flow
        self.spec = spec
        self.P = int(spec["granskningsar"])
        self.dec = dt.date(self.P, 12, 31)
        self.placements: list[Placement] = []
        self.periods: list[Period] = []
        self.missed: list[tuple] = []
        self.reserved: set[int] = set()  # utredningar kept for their kontakt insats (prior öppenvård)

    def rng(self, *more: int) -> np.random.Generator:
        return self.flow.rng(self.P, S_PLACERING, *more)

    # -- generation ------------------------------------------------------------------------
    def build(self) -> None:
        self.review_slots()
        self.other_stock()
        self.ended()
        self.started()
        for p in self.placements:
            p.period = Period([p])
        self.endings_after()
        self.chains()
        self.lagrum_changes()
        self.periods = sorted({id(p.period): p.period for p in self.placements}.values(),
                              key=lambda q: (q.start, q.placements[0].form, q.placements[0].lagrum))
        self.match()
        self.finish()

    def _ongoing(self, rng, form: str, lagrum: str, ages, uam: bool, review: dict | None = None,
                 elapsed_key: str | None = None) -> Placement:
        max_days = (20 - ages[0]) * 365
        e = _tri(rng, ELAPSED[elapsed_key or form], max_days - 30)
        r = _tri(rng, RESIDUAL[form], max(1, max_days - e))
        start, end = self.dec - dt.timedelta(days=e), self.dec + dt.timedelta(days=max(1, r))
        return Placement(form, lagrum, start, end, None, ages, uam, review=review)

    def review_slots(self) -> None:
        g = self.spec["granskning"]
        rng = self.rng(1)
        slots = [dict(form=f, lagrum=lag, anledning=a, uam=bool(u)) for f, lag, a, u, n in g["slots"] for _ in range(int(n))]
        n = len(slots)
        if n == 0:
            return
        # Marginals: girls, districts, children without prior öppenvård (every uam among them).
        kon = ["Flicka"] * min(int(g.get("flickor", n // 2)), n)
        kon += ["Pojke"] * (n - len(kon))
        kon = [kon[i] for i in rng.permutation(n)]
        named = {k: int(v) for k, v in (g.get("stadsdelar") or {}).items()}
        others = [s for s in codes.values("stadsdelar") if s not in named]
        rest = max(0, n - sum(named.values()))
        per = [rest // len(others) + (1 if i < rest % len(others) else 0) for i in range(len(others))]
        districts = [d for d, k in named.items() for _ in range(k)] + [d for d, k in zip(others, per, strict=True) for _ in range(k)]
        districts = districts[:n]
        utan = g.get("utan_oppenvard") or {}
        # Children without prior öppenvård: the uam first, then the named district's quota, then others.
        order = sorted(range(n), key=lambda i: (not slots[i]["uam"], rng.random()))
        d_order = [districts[i] for i in rng.permutation(n)]
        focus = next((k for k in utan if k != "ovriga"), None)
        n_focus = int(utan.get(focus, 0)) if focus else 0
        n_utan = min(n, n_focus + int(utan.get("ovriga", 0)))
        # Give the focus district to n_focus of the children without öppenvård, the rest elsewhere.
        focus_slots = [d for d in d_order if d == focus]
        other_slots = [d for d in d_order if d != focus]
        assigned = [None] * n
        for rank, i in enumerate(order):
            without = rank < n_utan
            if without and n_focus > 0 and focus_slots:
                assigned[i] = focus_slots.pop()
                n_focus -= 1
            elif other_slots and (not without or n_focus <= 0 or not focus_slots):
                assigned[i] = other_slots.pop()
            else:
                assigned[i] = (focus_slots or other_slots).pop()
            slots[i]["utan_oppenvard"] = without
        for i, s in enumerate(slots):
            s["kon"], s["stadsdel"] = kon[i], assigned[i]
            ages = AGES["stodboende_ensamkommande" if s["uam"] else "stodboende"] if s["form"] == STODBOENDE else \
                AGES["hvb_ensamkommande" if s["uam"] else "hvb"]
            key = "uam" if s["uam"] and s["form"] == STODBOENDE else None
            p = self._ongoing(rng, s["form"], s["lagrum"], ages, s["uam"], review=s, elapsed_key=key)
            p.anledning = s["anledning"]
            self.placements.append(p)

    def other_stock(self) -> None:
        rng = self.rng(2)
        for form, n in (self.spec.get("bestand_ovriga") or {}).items():
            for _ in range(int(n)):
                self.placements.append(self._ongoing(rng, form, _pick(rng, LAGRUM[form]), AGES[form], False))

    def ended(self) -> None:
        for year, groups in sorted((self.spec.get("avslutade") or {}).items()):
            year = int(year)
            if year > self.P:
                continue
            rng = self.rng(3, year)
            for group, endings in groups.items():
                base_form, uam = GROUPS[group]
                ages = AGES[group]
                for ending, n in endings.items():
                    for _ in range(int(n)):
                        form = JOURHEM if base_form == FAMILJEHEM and rng.random() < JOURHEM_SHARE.get(group, 0) else base_form
                        end = self.cf._random_day(rng, year)
                        d = _tri(rng, DAYS[form], (20 - ages[0]) * 365)
                        lagrum = SOL if uam else _pick(rng, LAGRUM.get(group, LAGRUM[form]) if form != JOURHEM else LAGRUM[JOURHEM])
                        self.placements.append(Placement(form, lagrum, end - dt.timedelta(days=d), end, ending,
                                                         ages, uam, fixed_end=True))

    def started(self) -> None:
        for year, forms in sorted((self.spec.get("startade") or {}).items()):
            year = int(year)
            if year <= self.P or year > self.flow.last:
                continue
            rng = self.rng(4, year)
            for form, n in forms.items():
                for _ in range(int(n)):
                    start = self.cf._random_day(rng, year)
                    ages = AGES[form]
                    d = _tri(rng, DAYS[form], (20 - ages[0]) * 365)
                    self.placements.append(Placement(form, _pick(rng, LAGRUM[form]), start, start + dt.timedelta(days=d),
                                                     None, ages, False))

    def endings_after(self) -> None:
        """Endings of the placements that end after the review year (generations 1 and 3)."""
        rng = self.rng(5)
        for p in self.placements:
            if p.ending is None:
                p.ending = _pick(rng, ENDINGS.get(p.form, ENDINGS[None]))

    def chains(self) -> None:
        """A predecessor in another form under the same lagrum (ended Byte av placeringsform)."""
        rng = self.rng(6)
        spec = self.spec.get("kedjor") or {}
        first_after = dt.date(self.P + 1, 1, 1)
        for p in list(self.placements):
            if p.form not in spec or (p.uam and p.form != STODBOENDE) or p.review is not None:
                continue
            pred_form, share = spec[p.form]
            if rng.random() >= float(share):
                continue
            lagrum = p.lagrum if pred_form != JOURHEM or lagrum_grupp(p.lagrum) == SOL or p.lagrum in LAGRUM[JOURHEM] else SOL
            if pred_form == SIS and lagrum == SOL:
                continue
            d = _tri(rng, DAYS[pred_form])
            end = p.start - dt.timedelta(days=1)
            start = end - dt.timedelta(days=d)
            if p.start > self.dec and start < first_after:  # it must not be ongoing on the review day
                start = first_after
                if start > end:
                    continue
            ages = (max(0, p.ages[0] - 1), p.ages[1]) if pred_form != JOURHEM else (0, p.ages[1])
            q = Placement(pred_form, p.lagrum, start, end, BYTE, ages, p.uam)
            q.period = p.period
            p.period.placements.insert(0, q)
            self.placements.append(q)

    def lagrum_changes(self) -> None:
        """Placements ended Övergår till annan insats followed by a placement under the other lagrum group."""
        rng = self.rng(7)
        share = float(self.spec.get("lagrumsbyte", 0.0))
        firsts = sorted((p for p in self.placements if p.period.placements[0] is p and p.review is None and not p.uam),
                        key=lambda p: p.start)
        starts = [p.start for p in firsts]
        # The candidates' fixed attributes as arrays: start, end, lagrum group, age band.
        f_start = np.array([p.start.toordinal() for p in firsts], dtype=np.int64)
        f_end = np.array([p.end.toordinal() for p in firsts], dtype=np.int64)
        f_sol = np.array([lagrum_grupp(p.lagrum) == SOL for p in firsts], dtype=bool)
        f_lo = np.array([p.ages[0] for p in firsts], dtype=np.int64)
        f_hi = np.array([p.ages[1] for p in firsts], dtype=np.int64)
        taken = np.zeros(len(firsts), dtype=bool)
        dec = self.dec.toordinal()
        preds = sorted((p for p in self.placements if p.ending == OVERGAR and not p.uam
                        and p.period.placements[-1] is p), key=lambda p: (p.end, p.form))
        for p in preds:
            if rng.random() >= share:
                continue
            lo = bisect.bisect_left(starts, p.end - dt.timedelta(days=20))
            hi = bisect.bisect_right(starts, p.end + dt.timedelta(days=40))
            new_start = p.end.toordinal() + 1
            k = np.arange(lo, hi)
            # The new start must keep the placement in its generation.
            k = k[~taken[lo:hi] & (f_sol[lo:hi] != (lagrum_grupp(p.lagrum) == SOL)) & (f_hi[lo:hi] >= p.ages[0])
                  & (f_lo[lo:hi] <= p.ages[1] + 3) & ((f_start[lo:hi] > dec) == (new_start > dec))
                  & (new_start < f_end[lo:hi])]
            best = None  # the nearest start (the first of equals) that one child can have with p's period
            for j in k[np.argsort(np.abs(f_start[k] - new_start), kind="stable")].tolist():
                s = firsts[j]
                if s.period is p.period:
                    continue
                lo_b, hi_b = self.birth_window(p.period.placements + s.period.placements)
                if lo_b <= hi_b:  # a child could be in both placements at those ages
                    best = j
                    break
            if best is None:
                continue
            taken[best] = True
            best = firsts[best]
            delta = p.end + dt.timedelta(days=1) - best.start
            for q in best.period.placements:  # shift only the first placement's start
                if q is best.period.placements[0]:
                    q.start = q.start + delta
                    break
            p.period.placements += best.period.placements
            for q in best.period.placements:
                q.period = p.period
            p.situation = "Fortsatt placering annat lagrum"

    # -- children ----------------------------------------------------------------------------
    def match(self) -> None:
        cf, flow = self.cf, self.flow
        rng = self.rng(8)
        granted = sorted((u for u in flow.utredningar if u.utfall == cf.INSATS_BEVILJAS and not u.has_insats
                          and u.end <= flow.last_day), key=lambda u: (u.end, u.start, u.person.pnr))
        by_person: dict[str, list] = defaultdict(list)
        for u in flow.utredningar:
            if u.utfall == cf.INSATS_BEVILJAS:
                by_person[u.person.pnr].append(u)
        open_starts: dict[str, list[dt.date]] = defaultdict(list)
        for i in flow.insatser:
            open_starts[i.person.pnr].append(i.start)
        people = _People()  # periods per child, and the review's children
        pool = _Pool(cf, granted, people, by_person, open_starts)
        self.match_review(rng, pool, by_person, people)
        for q in self.periods:
            if q.person is not None:
                people.busy(q.person.pnr, q.start, q.end)
        # The periods that may be followed by another of the same child, in order, with their children.
        returners: list[Period] = []
        ret_end = np.zeros(len(self.periods), dtype=np.int64)
        ret, pending = _Persons(cf, [], people), []
        p_re = float(self.spec.get("aterplacering", 0.0))
        for q in self.periods:
            first = q.placements[0]
            review = next((p.review for p in q.placements if p.review), None)
            review_p = next((p for p in q.placements if p.review), None)
            uam = any(p.uam for p in q.placements)
            if q.person is not None:  # a review slot, matched before
                pass
            elif first.start < flow.first_day:
                q.person = self._new_child(rng, q, review)
            else:
                if review is None and not uam and rng.random() < p_re:
                    gap = q.start.toordinal() - ret_end[:len(returners)]
                    window = np.flatnonzero((gap >= 2) & (gap <= 365))
                    if len(window):
                        ret.add(pending)
                        pending.clear()
                        window = window[ret.fits(window, q)]
                    if len(window):
                        q.person = returners[int(window[int(rng.integers(len(window)))])].person
                if q.person is None:
                    u = self._utredning(rng, q, pool, review, uam, people, review_p)
                    saved = [pp.ages for pp in q.placements]
                    for widen in (2, 20):  # rare at full scale: a child a little outside the usual ages
                        if u is not None:
                            break
                        for pp in q.placements:
                            lo, hi = pp.ages  # the report's age bands (0–13, 14–20) are kept
                            pp.ages = (lo if lo >= 14 else max(0, lo - widen), hi if hi == 13 else min(20, hi + widen))
                        u = self._utredning(rng, q, pool, review, uam, people, review_p)
                        for pp, a in zip(q.placements, saved, strict=True):
                            pp.ages = a
                    if u is None and first.start < flow.first_day + dt.timedelta(days=120) and not first.review:
                        # Few utredningar end just before the first data year: begin the period
                        # before it instead (a child placed earlier, no utredning in the data).
                        shift = first.start - (flow.first_day - dt.timedelta(days=int(rng.integers(1, 60))))
                        first.start = first.start - shift
                        q.person = self._new_child(rng, q, None)
                    if u is None and q.person is None:
                        self.missed.append(("placering", first.form, first.start))
                        continue
                    if u is not None:
                        q.person, q.utr = u.person, u
                        u.has_insats = True
            if q.placements[0].review is None:
                people.busy(q.person.pnr, q.start, q.end)
            if q.end <= cf.EXTRACTION_DATE and not uam:
                ret_end[len(returners)] = q.end.toordinal()
                returners.append(q)
                pending.append(q.person)
        self.periods = [q for q in self.periods if q.person is not None]

    def match_review(self, rng, pool: _Pool, by_person: dict, people: _People) -> None:
        """Children for the review year's slots, so that its marginals hold exactly.

        Slots with prior öppenvård come first, each a child with an öppen insats before the
        placement: a granted utredning of a child who already had one (the placement starts 0–30
        days after it), or a bistånd öppenvård that ended *Övergår till annan insats* (the placement
        follows the next day, on the same utredning). Their districts and sexes are capped by what
        the marginals leave after the slots without öppenvård; those take the rest: a granted
        utredning of a child without any earlier case, or else a new child placed before the first
        data year (no history in the extracts).
        """
        cf, flow = self.cf, self.flow
        periods = [q for q in self.periods if q.placements[0].review is not None]
        if not periods:
            return
        slots = [q.placements[0].review for q in periods]
        g = self.spec["granskning"]
        n = len(slots)
        named = {d: int(v) for d, v in (g.get("stadsdelar") or {}).items()}
        other_cap = OTHER_DISTRICT_CAP
        utan = g.get("utan_oppenvard") or {}
        focus = next((d for d in utan if d != "ovriga"), None)
        girls = sum(1 for r in slots if r["kon"] == "Flicka")
        # Caps of the slots with prior öppenvård: the marginals, less the focus district's children
        # without öppenvård.
        d_cap = defaultdict(lambda: other_cap, {d: v - (int(utan.get(d, 0)) if d == focus else 0) for d, v in named.items()})
        k_cap = defaultdict(int, {"Flicka": girls, "Pojke": n - girls})
        overgar = sorted((i for i in flow.insatser if i.grund == cf.BISTAND and i.avslutsorsak == OVERGAR
                          and i.utr is not None and i.insatstyp == cf.OPPENVARD), key=lambda i: (i.end, i.id or "", i.person.pnr))
        over = _Pool(cf, overgar, people)
        with_open = [k for k in range(n) if not slots[k]["utan_oppenvard"]]
        without = [k for k in range(n) if slots[k]["utan_oppenvard"]]
        for k in [with_open[i] for i in rng.permutation(len(with_open))]:
            if not self._review_child(rng, periods[k], slots[k], d_cap, k_cap, pool, over, by_person, people):
                self.missed.append(("granskning", periods[k].placements[0].form, slots[k]["stadsdel"]))
        # The children without öppenvård take what the marginals leave: the named districts exactly,
        # the others up to their cap.
        used_d = defaultdict(int)
        used_k = defaultdict(int)
        for k in with_open:
            if periods[k].person is not None:
                used_d[periods[k].person.stadsdel] += 1
                used_k[periods[k].person.kon] += 1
        need = [d for d, v in named.items() for _ in range(max(0, v - used_d[d]))]
        others = [d for d in codes.values("stadsdelar") if d not in named]
        room = {d: max(0, other_cap - used_d[d]) for d in others}
        while len(need) < len(without) and any(room.values()):
            d = max(others, key=lambda x: (room[x], -others.index(x)))
            need.append(d)
            room[d] -= 1
        sexes = ["Flicka"] * max(0, girls - used_k["Flicka"]) + ["Pojke"] * max(0, n - girls - used_k["Pojke"])
        need = [need[i] for i in rng.permutation(len(need))][: len(without)]
        sexes = [sexes[i] for i in rng.permutation(len(sexes))][: len(without)]
        for k, d, kon in zip(without, need, sexes, strict=False):
            slots[k]["stadsdel"], slots[k]["kon"] = d, kon
            cap_d = defaultdict(int, {d: 1})
            cap_k = defaultdict(int, {kon: 1})
            if not self._review_child(rng, periods[k], slots[k], cap_d, cap_k, pool, over, by_person, people):
                p = periods[k].placements[0]
                if p.start >= flow.first_day:
                    p.start = flow.first_day - dt.timedelta(days=int(rng.integers(1, 366)))
                periods[k].person = self._new_child(rng, periods[k], slots[k])
                people.take(periods[k].person.pnr)

    def _review_child(self, rng, q, r, d_cap, k_cap, pool, over, by_person, people) -> bool:
        """Match one review slot to a fitting child within the caps (see :meth:`match_review`)."""
        cf, flow = self.cf, self.flow
        p = q.placements[0]
        key = "uam" if p.uam and p.form == STODBOENDE else p.form
        lo_day = max(self.dec - dt.timedelta(days=max(ELAPSED[key][2], REVIEW_WINDOW)), flow.first_day)
        d_ok, k_ok = people.allowed(d_cap), people.allowed(k_cap)
        limit, day = min(p.end, cf.EXTRACTION_DATE).toordinal(), p.start.toordinal()

        def ok(persons: _Persons, idx: np.ndarray, start: np.ndarray) -> np.ndarray:
            age = persons.ages(idx, start)
            return (~people.taken[persons.id[idx]] & d_ok[persons.stadsdel[idx]] & k_ok[persons.kon[idx]]
                    & (p.ages[0] <= age) & (age <= p.ages[1]) & (persons.last20[idx] >= limit))

        # Granted utredningar: the placement starts 0–30 days after (one draw per free candidate).
        idx = pool.window(lo_day, self.dec - dt.timedelta(days=31))
        start = pool.end[idx] + (rng.integers(0, 31, size=len(idx)) if len(idx) else 0)
        keep = ok(pool.persons, idx, start)
        reserve: dict[int, object] = {}
        if r["utan_oppenvard"]:
            keep &= (pool.min_open[idx] > start) & (pool.other_end[idx] > start)
        else:
            has_open = pool.min_open[idx] < pool.end[idx]
            maybe = keep & ~has_open & (pool.other_end[idx] + 31 <= pool.end[idx])
            for k in np.flatnonzero(maybe).tolist():
                # An earlier granted utredning still without insats gets a kontakt insats (other_bistand)
                # 0–30 days after it ended: öppenvård before the placement.
                u = pool.cases[idx[k]]
                later = [v for v in by_person.get(u.person.pnr, []) if v is not u and not v.has_insats
                         and id(v) not in self.reserved and v.end + dt.timedelta(days=31) <= u.end]
                if later:
                    reserve[k] = later[0]
                else:
                    maybe[k] = False
            keep &= has_open | maybe
        pos = np.flatnonzero(keep)
        w = np.exp(-np.abs(start[pos] - day) / 300.0) * np.where(p.uam & pool.x01[idx[pos]], 5.0, 1.0)
        # Öppenvård ended Övergår till annan insats: the placement follows the next day.
        jdx = over.window(lo_day, self.dec - dt.timedelta(days=2)) if not r["utan_oppenvard"] else np.arange(0)
        o_start = over.end[jdx] + 1
        jdx = jdx[ok(over.persons, jdx, o_start)]
        o_start = over.end[jdx] + 1
        w = np.concatenate([w, np.exp(-np.abs(o_start - day) / 300.0)])
        if len(w) == 0:
            return False
        c = int(rng.choice(len(w), p=w / w.sum()))
        if c < len(pos):
            k = int(pos[c])
            i = int(idx[k])
            pool.used[i] = True
            u = pool.cases[i]
            u.has_insats = True
            q.person, q.utr = u.person, u
            if k in reserve:
                self.reserved.add(id(reserve[k]))
                pool.reserve(reserve[k])
            p.start = dt.date.fromordinal(int(start[k]))
        else:
            j = int(jdx[c - len(pos)])
            over.used[j] = True
            q.person, q.utr = over.cases[j].person, over.cases[j].utr
            q.shared_utr = True
            p.start = dt.date.fromordinal(int(o_start[c - len(pos)]))
        d_cap[q.person.stadsdel] -= 1
        k_cap[q.person.kon] -= 1
        people.take(q.person.pnr)
        return True

    def birth_window(self, placements: list[Placement]) -> tuple[dt.date, dt.date]:
        """Birth dates that fit every placement's age band and keep the child 0–20 to the end of the
        last placement (or the extraction date); empty when ``lo > hi``."""
        cf = self.cf
        end = max(p.end for p in placements)
        lo_b = cf._add_years(min(end, cf.EXTRACTION_DATE), -21) + dt.timedelta(days=1)
        hi_b = dt.date(9999, 1, 1)
        for p in placements:
            lo_b = max(lo_b, cf._add_years(p.start, -(p.ages[1] + 1)) + dt.timedelta(days=1))
            hi_b = min(hi_b, cf._add_years(p.start, -p.ages[0]))
        return lo_b, hi_b

    def _new_child(self, rng, q: Period, review: dict | None):
        cf, flow = self.cf, self.flow
        first = q.placements[0]
        recs = flow.akt[flow.first]
        tpl = recs[int(rng.integers(len(recs)))]
        kon = review["kon"] if review else tpl["kon"]
        stadsdel = review["stadsdel"] if review else tpl["stadsdel"]
        lo_b, hi_b = self.birth_window(q.placements)
        if lo_b <= hi_b:
            number = cf._fresh_number(rng, kon, lo_b, hi_b, flow.used, wide=flow.wide)
            return cf.Person(number, kon, cf.pnr.birth_date(number), stadsdel)
        lo, hi = first.ages
        banded = q.placements
        for _ in range(80):
            age = int(rng.integers(lo, hi + 1))
            person = flow.new_person(rng, kon, age, first.start, stadsdel)
            if cf.last_day_aged_20(person.birth) >= min(q.end, cf.EXTRACTION_DATE) and all(
                    p.ages[0] <= cf.age_at(person.birth, p.start) <= p.ages[1] for p in banded):
                return person
        # No child fits every age band (at large volumes: a lagrumsbyte moved the next placement's
        # start after the band was checked). Placements that would begin after the 21st birthday
        # are left out of the period (no insats: a child of 21 is in no extract), then the last one
        # is shortened to that birthday (it ends after the review day).
        limit = cf.last_day_aged_20(person.birth)
        kept = [p for p in q.placements if p.start <= limit] or q.placements[:1]
        if len(kept) < len(q.placements):
            q.placements = kept
            if kept[-1].ending == BYTE:  # no next form any more
                kept[-1].ending = "Övrigt"
            if kept[-1].situation == "Fortsatt placering annat lagrum":  # no next lagrum either
                kept[-1].situation = None
        last = q.placements[-1]
        last.end = max(min(last.end, limit), last.start + dt.timedelta(days=1))
        return person

    def _utredning(self, rng, q, pool, review, uam, people, review_p):
        """A granted utredning that ended shortly before the period ``q`` (of a fitting child), or None."""
        start = q.start
        persons = pool.persons
        for window, strict in ((45, True), (120, True), (365, True), (365, False)):
            idx = pool.window(start - dt.timedelta(days=window), start)
            if review and strict:
                idx = idx[(persons.kon[idx] == people.code(review["kon"]))
                          & (persons.stadsdel[idx] == people.code(review["stadsdel"]))]
            idx = idx[persons.fits(idx, q)]
            if review is not None and strict:
                before = review_p.start.toordinal()
                has_open = pool.min_open[idx] < before
                other = pool.other_end[idx] < before
                idx = idx[~(has_open | other)] if review["utan_oppenvard"] else idx[has_open]
            if len(idx):
                w = 1.0 + 4.0 * (uam & pool.x01[idx]) + 2.0 * ((start.toordinal() - pool.end[idx]) <= 30)
                i = int(idx[int(rng.choice(len(idx), p=w / w.sum()))])
                pool.used[i] = True
                return pool.cases[i]
            if review is not None and strict and window == 365:
                self.missed.append(("granskning", review["form"], review["stadsdel"]))
        return None

    # -- the rest of each placement --------------------------------------------------------------
    def finish(self) -> None:
        cf = self.cf
        rng = self.rng(9)
        for q in self.periods:
            for p in q.placements:
                p.person = q.person
            code = q.utr.orsakskod if q.utr is not None else None
            uam = any(p.uam for p in q.placements)
            for idx, p in enumerate(q.placements):
                p.uam = uam
                if p.anledning is None:
                    p.anledning = ANNAN if uam else self._anledning(rng, p.lagrum)
                if code is None:
                    code = "X01" if uam else _pick(rng, ANLEDNING_CODES[p.anledning])
                visible_end = p.end <= cf.EXTRACTION_DATE
                if visible_end and p.ending != BYTE and p.situation is None:
                    age = cf.age_at(q.person.birth, p.end)
                    p.situation = self._situation(rng, p, age)
                reg = HVB if p.form == STODBOENDE and p.start.year < STODBOENDE_SEPARAT_FRAN else p.form
                ins = cf.Insats(q.person, p.form, cf.BISTAND, code, p.start, p.end, p.ending if visible_end else None,
                                utr=q.utr if idx == 0 else None, lagrum=p.lagrum)
                ins.registrerad_som, ins.situation, ins.ensamkommande = reg, p.situation if visible_end else None, uam
                p.insats = ins
                self.flow.insatser.append(ins)

    @staticmethod
    def _anledning(rng, lagrum: str) -> str:
        return {"LVU 3 §": lambda: EGET if rng.random() < 0.75 else BADA,
                "LVU 2 §": lambda: BRIST if rng.random() < 0.85 else BADA,
                "LVU 2 och 3 §§": lambda: BADA}.get(
            lagrum, lambda: _pick(rng, {EGET: 30, BRIST: 40, BADA: 20, ANNAN: 10}))()

    @staticmethod
    def _situation(rng, p: Placement, age: int) -> str:
        if p.ending == OVERGAR:
            return "Hos en eller båda föräldrarna" if rng.random() < 0.8 else "Annan"
        if p.form == STODBOENDE or age >= 18:
            return _pick(rng, {"Eget boende": 60, "Annan": 30, "Hos en eller båda föräldrarna": 10})
        if p.ending == "Enligt plan":
            return _pick(rng, {"Hos en eller båda föräldrarna": 80, "Annan": 15, "Eget boende": 5})
        return _pick(rng, {"Hos en eller båda föräldrarna": 55, "Annan": 40, "Eget boende": 5})

    # -- the review's school flags (after every insats exists) -----------------------------------
    def review_flags(self) -> None:
        """School flags: ``varken_skola_eller_oppenvard`` of the review year's children have neither an
        adequate school situation nor prior öppenvård (as the insatser show it); others by chance."""
        rng = self.rng(10)
        open_forms = set(codes.load("insatstyper").query("form == 'öppen'")["insatstyp"])
        starts: dict[str, list[dt.date]] = defaultdict(list)
        for i in self.flow.insatser:
            if i.insatstyp in open_forms and self.flow.file_year(i, self.flow.years) is not None:
                starts[i.person.pnr].append(i.start)
        for p in self.placements:
            p.prior_open = p.person is not None and any(s < p.start for s in starts.get(p.person.pnr, []))
        review = [p for p in self.placements if p.review is not None and p.person is not None]
        target = int(self.spec["granskning"].get("varken_skola_eller_oppenvard", 0))
        without = sorted((p for p in review if not p.prior_open),
                         key=lambda p: (p.review["stadsdel"] != "Skäggetorp", rng.random()))
        for k, p in enumerate(without):
            p.skola = k >= target
        for p in self.placements:
            if p.skola is None and p.person is not None:
                p.skola = bool(rng.random() < (0.35 if not p.prior_open else 0.55))
