"""The synthetic case flow: utredningar and insatser built from the aktualiseringar of all years.

The aktualiseringar of every year (:func:`helpers.data.synth.generate.build_aktualiseringar`) are
the start of one coherent flow (:func:`build`):

1. **Post-passes on the aktualiseringar** (each with a generator of its own, so the aktualiseringar
   stream itself is not disturbed): :func:`adjust_ansokan` sets how many ansökningar lead to an
   utredning (exact counts per year), and :func:`link_persons` gives some of a year's persons the
   personnummer of a compatible person from an earlier year ("some children come back") without
   changing any count of a year.
2. **Utredningar**: one per aktualisering with Beslut ``utredning`` (same child, start 0–14 days
   after the aktualisering in the same year), plus the *run-in* utredningar of the first year
   (begun in the year before, ongoing on 1 January, no Aktualiserings-ID). Durations are drawn
   first; Utfall and Bedömning are then set by quota per *end* year and start basis, so that the
   shares of the utredningar ended in a year are exact.
3. **Bistånd insatser**: every utredning with Utfall ``Insats beviljas`` (ended by the last data
   year) gets exactly one bistånd insats of the same child, starting 0–30 days after it. Öppenvård
   is placed by quota per end year, ending and cause group (end date and ending first, then the
   duration and start, then an utredning that ended with insats just before the start); the other
   granted utredningar get the insats type of :func:`bistand_insatstyp` (the one place where the
   type is drawn: kontaktperson or kontaktfamilj now, placements later).
4. **Service insatser**: by quota per end year, problem area and ending; part follow an
   aktualisering with Beslut ``service`` (start 0–30 days after it, same year), the rest are direct
   (a child from that year's aktualiseringar or a new synthetic child).

The extracts are cut by :data:`helpers.data.contract.CASE_EXTRACT_RULE`: a case is in the file of
its start year; cases begun before the first written year and still ongoing on its 1 January are
in the first year's file. Ends after :data:`EXTRACTION_DATE` are blank (ongoing), and so is the
outcome. A reference to a record that is in no written file is left blank.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from helpers.data import codes, pnr
from helpers.data.contract import INSATSER, UTREDNINGAR
from helpers.data.synth.generate import (
    CODE_WEIGHTS,
    build_aktualiseringar,
    pick,
    serials,
)

#: The day the demo extracts were taken: later ends are blank (the case was ongoing).
EXTRACTION_DATE = dt.date(2023, 1, 31)

# Third element of every generator's seed sequence ``[seed, year, stream]``: one stream per step.
S_ANSOKAN, S_LINK, S_UTREDNING, S_RUNIN, S_UTFALL, S_BEDOMNING = 11, 21, 31, 32, 33, 34
S_OPPENVARD, S_KONTAKT, S_SERVICE = 41, 42, 51

INSATS_BEVILJAS, INGEN_INSATS, OVERFLYTTAD = "Insats beviljas", "Ingen insats", "Överflyttad"
OPPENVARD, KONTAKTPERSON, KONTAKTFAMILJ = "Öppenvård", "Kontaktperson", "Kontaktfamilj"
SERVICE, BISTAND = "Service", "Bistånd"
#: Cause group of a bistånd insats whose code is in neither named group (bistandsgrupp "").
OVRIGA = "ovriga"
#: Service endings, in the order of the quota triples in the targets.
SERVICE_ENDINGS = ("Enligt plan", "Ej enligt plan", "Övrigt")

# Durations in days: (low, mode, high) of a triangular distribution.
UTREDNING_DAYS = ((60, 92, 120), (25, 45, 59), (121, 140, 200))  # typical, short, long
UTREDNING_MIX = (0.90, 0.03, 0.07)
SERVICE_DAYS = (30, 90, 240)  # 1–8 months
OPPENVARD_DAYS = {  # 2–12 months, by ending
    "Enligt plan": (90, 200, 365),
    "Avbruten": (61, 110, 300),
    "Övergår till annan insats": (75, 160, 365),
    "Övergår till service": (90, 180, 365),
    "Övrigt": (61, 150, 365),
}
KONTAKT_DAYS = (183, 400, 730)  # 6–24 months
#: Endings of kontaktperson and kontaktfamilj (bistånd endings only).
KONTAKT_ENDINGS = {"Enligt plan": 62, "Övergår till annan insats": 14, "Avbruten": 14, "Övergår till service": 5, "Övrigt": 5}
#: Relative chance of "Behov samtycke saknas" among utredningar without insats, by start basis
#: (an ansökan implies consent).
SAMTYCKE_VIKT = {"Anmälan": 1.0, "Annat sätt": 0.8, "Ansökan": 0.2}
#: Codes of the "other causes" of bistånd öppenvård when the utredning's code does not fit
#: (the kinds the 2021 report names: våld i nära relation, vanvård, psykisk ohälsa hos föräldrar).
OVRIGA_CODES = {"O01": 18, "O09": 16, "O11": 14, "O12": 14, "O05": 8, "O08": 8, "O02": 5, "B03": 7, "B05": 4, "B06": 3, "X02": 3}
#: Preference for a candidate whose code already fits the quota's group or area.
MATCH_WEIGHT = 8.0


# ------------------------------------------------------------------------------------------
# Persons and dates
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    pnr: str
    kon: str
    birth: dt.date
    stadsdel: str


#: :func:`helpers.data.pnr.birth_date` cached (validating the number at each of 2.2 million calls
#: took 16 s at 10× the demo volume).
_birth_date = functools.lru_cache(maxsize=1 << 21)(pnr.birth_date)


def age_at(birth: dt.date, day: dt.date) -> int:
    """Age in whole years on ``day`` (as ingest counts it)."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return dt.date(day.year + years, 3, 1)


def last_day_aged_20(birth: dt.date) -> dt.date:
    """The day before the 21st birthday: the last day a child is in the 0–20 population."""
    return _add_years(birth, 21) - dt.timedelta(days=1)


#: Day ordinal of 1970-01-01 (numpy's datetime64 epoch).
_EPOCH = dt.date(1970, 1, 1).toordinal()


def _year_md(days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Year and ``100 × month + day`` of day ordinals: :func:`age_at` vectorised is
    ``year - birth_year - (md < birth_md)``."""
    d = (np.asarray(days, dtype=np.int64) - _EPOCH).astype("datetime64[D]")
    m = d.astype("datetime64[M]")
    year = m.astype("datetime64[Y]").astype(np.int64) + 1970
    return year, (m.astype(np.int64) % 12 + 1) * 100 + (d - m).astype(np.int64) + 1


def _days(rng: np.random.Generator, low_mode_high: tuple[int, int, int]) -> int:
    lo, mode, hi = low_mode_high
    return int(min(hi, max(lo, round(rng.triangular(lo, mode, hi)))))


def _random_day(rng: np.random.Generator, year: int) -> dt.date:
    first = dt.date(year, 1, 1)
    return first + dt.timedelta(days=int(rng.integers(0, (dt.date(year + 1, 1, 1) - first).days)))


def _pick(rng: np.random.Generator, weights: dict) -> str:
    return pick(rng, weights)


def _fresh_number(rng: np.random.Generator, kon: str, lo: dt.date, hi: dt.date, used: set[str],
                  prefer: dt.date | None = None, wide: bool = False) -> str:
    """A synthetic personnummer (födelsenummer 980–989 by sex; ``wide``: 001–999, see
    :func:`helpers.data.synth.generate.serials`) not in ``used``, born in [lo, hi] (``prefer``
    first); added to ``used``."""
    pool = serials(kon, wide)
    births = [prefer] if prefer is not None else []
    span = (hi - lo).days
    for _attempt in range(400):
        birth = births.pop() if births else lo + dt.timedelta(days=int(rng.integers(0, span + 1)))
        if birth.month == 2 and birth.day == 29:
            continue
        for s in rng.permutation(pool):
            number = pnr.make(birth, int(s))
            if number not in used:
                used.add(number)
                return number
    raise RuntimeError("could not find a free synthetic personnummer")  # pragma: no cover


def _birth_range(age: int, days: list[dt.date]) -> tuple[dt.date, dt.date]:
    """Birth dates that give ``age`` on every one of ``days`` (may be empty: lo > hi)."""
    lo = max(_add_years(d, -(age + 1)) + dt.timedelta(days=1) for d in days)
    hi = min(_add_years(d, -age) for d in days)
    return lo, hi


def new_person(rng: np.random.Generator, kon: str, age: int, day: dt.date, stadsdel: str, used: set[str],
               wide: bool = False) -> Person:
    """A new synthetic child of ``age`` on ``day`` with a fresh personnummer."""
    lo, hi = _birth_range(age, [day])
    number = _fresh_number(rng, kon, lo, hi, used, wide=wide)
    return Person(number, kon, _birth_date(number), stadsdel)


# ------------------------------------------------------------------------------------------
# Post-passes on the aktualiseringar
# ------------------------------------------------------------------------------------------


def aktualiseringar(targets: dict) -> dict[int, list[dict]]:
    """The aktualiseringar of every year of ``targets``, with both post-passes applied."""
    akt = {y: build_aktualiseringar(y, targets) for y in targets["years"]}
    adjust_ansokan(akt, targets)
    link_persons(akt, targets)
    return akt


def adjust_ansokan(akt: dict[int, list[dict]], targets: dict) -> None:
    """Exactly ``utfall.ansokan_utredning[year]`` ansökningar (0-17 and 18-20) get Beslut utredning.

    Surplus ones become ``tillfors`` or ``kronologiska``; missing ones are taken from the others.
    Only Beslut changes, and only on ansökningar (the anmälningar and annat sätt are untouched).
    """
    quota = (targets.get("utfall") or {}).get("ansokan_utredning") or {}
    for year, records in sorted(akt.items()):
        if year not in quota:
            continue
        rng = np.random.default_rng([targets["seed"], year, S_ANSOKAN])
        pool = [r for r in records if r["typ"].startswith("Ansökan")]
        want = max(0, min(int(quota[year]), len(pool)))
        yes = [r for r in pool if r["beslut"] == "utredning"]
        no = [r for r in pool if r["beslut"] != "utredning"]
        if len(yes) > want:
            for i in sorted(rng.choice(len(yes), size=len(yes) - want, replace=False).tolist()):
                yes[i]["beslut"] = "tillfors" if rng.random() < 0.6 else "kronologiska"
        elif len(yes) < want:
            for i in sorted(rng.choice(len(no), size=want - len(yes), replace=False).tolist()):
                no[i]["beslut"] = "utredning"


def link_persons(akt: dict[int, list[dict]], targets: dict) -> None:
    """Give about ``utfall.aterkommande`` of each year's persons the personnummer of a compatible
    person from an earlier year: same sex and stadsdel, and a birth date that gives exactly the
    recorded Ålder at every Inkom datum of the person's aktualiseringar that year.

    A person of a year is a group of records with one personnummer; no two groups of one year get
    the same number, so every count of a year (records and persons) stays the same. Numbers that
    the base generator happened to give to persons of two years with *different* stadsdelar are
    first replaced by fresh numbers (same birth date if a serial is free), so that every person
    seen in two years is one of the intended links.
    """
    share = float((targets.get("utfall") or {}).get("aterkommande", 0.0))
    used = {r["personnummer"] for recs in akt.values() for r in recs}
    known: dict[str, Person] = {}
    index: dict[tuple[str, str], list[tuple[dt.date, str]]] = defaultdict(list)
    for year in sorted(akt):
        rng = np.random.default_rng([targets["seed"], year, S_LINK])
        groups: dict[str, list[dict]] = defaultdict(list)
        for r in akt[year]:
            groups[r["personnummer"]].append(r)
        for number in sorted(groups):
            members = groups[number]
            lead = members[0]
            if number in known and known[number].stadsdel != lead["stadsdel"]:
                lo, hi = _birth_range(lead["alder"], [r["date"] for r in members])
                new = _fresh_number(rng, lead["kon"], lo, hi, used, prefer=_birth_date(number),
                                   wide=targets.get("scale", 1.0) > 1)
                for r in members:
                    r["personnummer"] = new
        groups = defaultdict(list)
        for r in akt[year]:
            groups[r["personnummer"]].append(r)
        # The earlier persons by (kön, stadsdel) as arrays: birth (ordinal, year, month × 100 + day),
        # number, and whether the number is taken this year.
        arrays = {}
        for key, lst in index.items():
            births = np.array([b.toordinal() for b, _n in lst], dtype=np.int64)
            numbers = [n for _b, n in lst]
            arrays[key] = (births, *_year_md(births), numbers, np.array([n in groups for n in numbers], dtype=bool))
        where = {n: (key, j) for key, a in arrays.items() for j, n in enumerate(a[3])}
        want = round(share * len(groups)) - sum(1 for n in groups if n in known)
        order = sorted(groups)
        for i in rng.permutation(len(order)).tolist():
            if want <= 0:
                break
            number = order[i]
            if number in known:
                continue
            members = groups[number]
            lead = members[0]
            days = [r["date"] for r in members]
            lo, hi = _birth_range(lead["alder"], days)
            a = arrays.get((lead["kon"], lead["stadsdel"]))
            if a is None:
                continue
            births, by, bmd, numbers, taken = a
            j0 = int(np.searchsorted(births, lo.toordinal(), side="left"))
            j1 = int(np.searchsorted(births, hi.toordinal(), side="right"))
            ok = ~taken[j0:j1]
            for d in days:
                ok &= d.year - by[j0:j1] - ((d.month * 100 + d.day) < bmd[j0:j1]) == lead["alder"]
            fit = np.flatnonzero(ok)
            if not len(fit):
                continue
            new = numbers[j0 + int(fit[int(rng.integers(len(fit)))])]
            for r in members:
                r["personnummer"] = new
            key, j = where[new]
            arrays[key][4][j] = True
            want -= 1
        for r in akt[year]:
            number = r["personnummer"]
            if number not in known:
                known[number] = Person(number, r["kon"], _birth_date(number), r["stadsdel"])
                index[(r["kon"], r["stadsdel"])].append((known[number].birth, number))
        for lst in index.values():
            lst.sort()


# ------------------------------------------------------------------------------------------
# Cases
# ------------------------------------------------------------------------------------------


@dataclass(eq=False)
class Utredning:
    person: Person
    startgrund: str
    start: dt.date
    end: dt.date  # the true end; blank in the extract if after EXTRACTION_DATE
    orsakskod: str
    akt: dict | None
    utfall: str | None = None
    bedomning: str | None = None
    id: str = ""
    has_insats: bool = False


@dataclass(eq=False)
class Insats:
    person: Person
    insatstyp: str
    grund: str
    orsakskod: str
    start: dt.date
    end: dt.date
    avslutsorsak: str | None
    utr: Utredning | None = None
    akt: dict | None = None
    lagrum: str | None = None
    id: str = ""
    registrerad_som: str | None = None  # placements: the form as registered
    situation: str | None = None  # placements: the child's situation after the ending
    ensamkommande: bool | None = None  # placements: an unaccompanied child


def _by_year(spec: dict | float | None, year: int, default=None):
    """A per-year value (the nearest earlier year's, else the first) or a scalar."""
    if spec is None:
        return default
    if not isinstance(spec, dict):
        return spec
    years = sorted(int(y) for y in spec)
    earlier = [y for y in years if y <= year]
    return spec[earlier[-1] if earlier else years[0]]


def bistand_insatstyp(rng: np.random.Generator, utr: Utredning, age: int) -> str:
    """The insatstyp of a bistånd insats that is not placed by the öppenvård quotas.

    The one place where the type of the other granted utredningar is drawn: kontaktfamilj mostly
    for younger children, kontaktperson for older. (Placements, heldygn forms, come later here.)
    """
    del utr  # the utredning's cause will matter for placements
    p_familj = 0.65 if age <= 12 else 0.15
    return KONTAKTFAMILJ if rng.random() < p_familj else KONTAKTPERSON


class Flow:
    """Utredningar and insatser of every year, built from the aktualiseringar (see the module doc)."""

    def __init__(self, akt: dict[int, list[dict]], targets: dict):
        self.akt = akt
        self.t = targets
        self.u = targets.get("utfall") or {}
        self.seed = targets["seed"]
        self.years = sorted(akt)
        self.first, self.last = self.years[0], self.years[-1]
        self.first_day = dt.date(self.first, 1, 1)
        self.last_day = dt.date(self.last, 12, 31)
        self.used = {r["personnummer"] for recs in akt.values() for r in recs}
        self.wide = targets.get("scale", 1.0) > 1  # serials beyond the test range (generate.serials)
        self.utredningar: list[Utredning] = []
        self.insatser: list[Insats] = []
        self.missed: list[tuple] = []  # quota slots that could not be placed (tiny volumes only)
        self.placed = None  # the Placements, when the targets have placeringar
        sg = codes.load("startgrund")
        at = codes.load("aktualiseringstyper")
        grund_of_typ = dict(zip(sg["typ"], sg["startgrund"], strict=True))
        self.startgrund = {a: grund_of_typ[t] for a, t in zip(at["aktualiseringstyp"], at["typ"], strict=True)}
        self.group = {k: (g or OVRIGA) for k, g in codes.bistandsgrupp().items()}
        self.area = codes.problemomrade()
        weights = {code: w for cat in CODE_WEIGHTS.values() for code, w in cat.items()}
        self.area_codes: dict[str, dict[str, float]] = defaultdict(dict)
        for code, area in self.area.items():
            if area:
                self.area_codes[area][code] = weights.get(code, 1.0)
        self.group_codes: dict[str, dict[str, float]] = {OVRIGA: dict(OVRIGA_CODES)}
        for code, g in self.group.items():
            if g != OVRIGA:
                self.group_codes.setdefault(g, {})[code] = weights.get(code, 1.0)

    def rng(self, year: int, stream: int, *more: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, year, stream, *more])

    def person_of(self, r: dict) -> Person:
        return Person(r["personnummer"], r["kon"], _birth_date(r["personnummer"]), r["stadsdel"])

    def new_person(self, rng: np.random.Generator, kon: str, age: int, day: dt.date, stadsdel: str) -> Person:
        return new_person(rng, kon, max(0, min(age, 20)), day, stadsdel, self.used, self.wide)

    # -- the whole flow ---------------------------------------------------------------------
    def build(self) -> Flow:
        self.utredningar_from_aktualiseringar()
        self.run_in_utredningar()
        self.utredning_outcomes()
        self.assessments()
        self.oppenvard()
        self.service()
        self.placements()
        self.other_bistand()
        self.assign_ids()
        if self.placed is not None:
            self.placed.review_flags()
        return self

    def placements(self) -> None:
        """Placements (heldygn insatser) of :mod:`helpers.data.synth.placements`, before the other
        granted utredningar get their insats."""
        from helpers.data.synth.placements import Placements

        spec = self.t.get("placeringar")
        if not spec:
            return
        self.placed = Placements(self, spec)
        self.placed.build()
        self.missed += self.placed.missed

    # -- utredningar ------------------------------------------------------------------------
    def _utredning_days(self, rng: np.random.Generator) -> int:
        kind = int(rng.choice(len(UTREDNING_MIX), p=UTREDNING_MIX))
        return _days(rng, UTREDNING_DAYS[kind])

    def utredningar_from_aktualiseringar(self) -> None:
        for year in self.years:
            rng = self.rng(year, S_UTREDNING)
            for r in self.akt[year]:
                if r["beslut"] != "utredning":
                    continue
                person = self.person_of(r)
                latest = min(dt.date(year, 12, 31), last_day_aged_20(person.birth))
                span = max(0, min(14, (latest - r["date"]).days))
                start = r["date"] + dt.timedelta(days=int(rng.integers(0, span + 1)))
                end = start + dt.timedelta(days=self._utredning_days(rng))
                self.utredningar.append(Utredning(person, self.startgrund[r["typ"]], start, end, r["orsakskod"], r))

    def run_in_utredningar(self) -> None:
        """Utredningar begun in the year before the first and ongoing on its 1 January: as many as
        the first year's utredningar still ongoing a year later (the flow's steady state)."""
        first = [u for u in self.utredningar if u.start.year == self.first]
        if not first:
            return
        n = sum(1 for u in first if u.end >= dt.date(self.first + 1, 1, 1))
        rng = self.rng(self.first - 1, S_RUNIN)
        june = dt.date(self.first - 1, 6, 1)
        for _ in range(n):
            tpl = first[int(rng.integers(len(first)))]
            while True:
                start = june + dt.timedelta(days=int(rng.integers(0, (self.first_day - june).days)))
                end = start + dt.timedelta(days=self._utredning_days(rng))
                if end >= self.first_day:
                    break
            person = self.new_person(rng, tpl.person.kon, age_at(tpl.person.birth, tpl.start), start, tpl.person.stadsdel)
            self.utredningar.append(Utredning(person, tpl.startgrund, start, end, tpl.orsakskod, None))

    def utredning_outcomes(self) -> None:
        """Utfall by quota per end year and start basis (shares of ``utfall.utredning_utfall``)."""
        spec = self.u.get("utredning_utfall") or {}
        cells: dict[tuple[int, str], list[Utredning]] = defaultdict(list)
        for u in self.utredningar:
            if u.end <= EXTRACTION_DATE:
                cells[(u.end.year, u.startgrund)].append(u)
        for k, (year, grund) in enumerate(sorted(cells)):
            cases = cells[(year, grund)]
            shares = _by_year(spec.get(grund), year, {"ingen_insats": 0.5, "overflyttad": 0.03})
            rng = self.rng(year, S_UTFALL, k)
            n = len(cases)
            n_over = round(float(shares["overflyttad"]) * n)
            n_ingen = min(n - n_over, round(float(shares["ingen_insats"]) * n))
            n_ins = n - n_over - n_ingen
            eligible = [i for i, u in enumerate(cases) if age_at(u.person.birth, u.end) <= 20]
            chosen = set(rng.permutation(eligible)[:n_ins].tolist()) if eligible else set()
            rest = [i for i in range(n) if i not in chosen]
            rest = [rest[j] for j in rng.permutation(len(rest)).tolist()]
            over = set(rest[:n_over])
            for i, u in enumerate(cases):
                u.utfall = INSATS_BEVILJAS if i in chosen else OVERFLYTTAD if i in over else INGEN_INSATS

    def assessments(self) -> None:
        """Bedömning of the utredningar ended without insats, by quota per end year: the share with
        a need (``behov``), of which ``samtycke_saknas`` with need but no consent."""
        spec = self.u.get("bedomning") or {}
        by_year: dict[int, list[Utredning]] = defaultdict(list)
        for u in self.utredningar:
            if u.utfall == INGEN_INSATS:
                by_year[u.end.year].append(u)
        for year, cases in sorted(by_year.items()):
            rng = self.rng(year, S_BEDOMNING)
            m = len(cases)
            n_need = round(float(_by_year(spec.get("behov"), year, 0.25)) * m)
            n_sam = min(n_need, round(float(_by_year(spec.get("samtycke_saknas"), year, 0.23)) * m))
            w = np.array([SAMTYCKE_VIKT.get(u.startgrund, 1.0) for u in cases])
            sam = set(rng.choice(m, size=n_sam, replace=False, p=w / w.sum()).tolist()) if n_sam else set()
            rest = [i for i in range(m) if i not in sam]
            annat = set(rng.permutation(rest)[: n_need - n_sam].tolist()) if rest else set()
            for i, u in enumerate(cases):
                u.bedomning = ("Behov samtycke saknas" if i in sam else "Behov tillgodoses annat" if i in annat
                               else "Inget behov")

    # -- bistånd insatser ---------------------------------------------------------------------
    def _quota_slots(self, key: str) -> dict[int, list[tuple[str, str]]]:
        """Slots (ending, group or area) per end year from a quota table, plus a tail year after
        the last data year with the last year's mix (cases starting in the last year and ending
        after it)."""
        table = self.u.get(key) or {}
        slots: dict[int, list[tuple[str, str]]] = {}
        for year in self.years:
            if year not in table:
                continue
            slots[year] = self._cells_to_slots(table[year])
        if self.last in table:
            slots[self.last + 1] = self._cells_to_slots(table[self.last])
        return slots

    @staticmethod
    def _cells_to_slots(cells: dict) -> list[tuple[str, str]]:
        out = []
        for a, b in cells.items():
            if isinstance(b, dict):  # öppenvård: ending → {group: n}
                for g, n in b.items():
                    out += [(a, g)] * int(n)
            else:  # service: area → [enligt plan, ej enligt plan, övrigt]
                for ending, n in zip(SERVICE_ENDINGS, b, strict=False):
                    out += [(ending, a)] * int(n)
        return out

    def _granted(self) -> tuple[list[Utredning], np.ndarray, np.ndarray, np.ndarray]:
        g = [u for u in self.utredningar if u.utfall == INSATS_BEVILJAS and u.end <= self.last_day]
        g.sort(key=lambda u: (u.end, u.start, u.person.pnr))
        ends = np.array([u.end.toordinal() for u in g], dtype=np.int64)
        limit = np.array([min(last_day_aged_20(u.person.birth), self.last_day).toordinal() for u in g], dtype=np.int64)
        group = np.array([self.group.get(u.orsakskod, OVRIGA) for u in g], dtype=object)
        return g, ends, limit, group

    def oppenvard(self) -> None:
        """Bistånd öppenvård by quota per end year × ending × cause group (``utfall.oppenvard``)."""
        slots = self._quota_slots("oppenvard")
        granted, ends, limit, group = self._granted()
        free = np.ones(len(granted), dtype=bool)
        templates = [u for u in self.utredningar if u.start.year <= self.first]
        for year in sorted(slots):
            rng = self.rng(year, S_OPPENVARD)
            drawn = []
            for ending, g in slots[year]:
                end = _random_day(rng, year)
                drawn.append((end, ending, g, _days(rng, OPPENVARD_DAYS.get(ending, (61, 180, 365)))))
            drawn.sort(key=lambda s: s[0])
            for end, ending, g, d0 in drawn:
                lo_d, _mode, hi_d = OPPENVARD_DAYS.get(ending, (61, 180, 365))
                s0 = end - dt.timedelta(days=d0)
                if s0 > self.last_day:
                    continue  # starts after the data: in no extract
                ending_seen = ending if end <= EXTRACTION_DATE else None
                if s0 < self.first_day:
                    self._run_in_bistand(rng, templates, g, s0, end, ending_seen)
                    continue
                e, s0o = end.toordinal(), s0.toordinal()
                i0 = int(np.searchsorted(ends, e - hi_d - 30, side="left"))
                i1 = int(np.searchsorted(ends, e - lo_d, side="right"))
                idx = np.arange(i0, i1)
                idx = idx[free[i0:i1]]
                s_lo = np.maximum(ends[idx], e - hi_d)
                s_hi = np.minimum(np.minimum(ends[idx] + 30, e - lo_d), limit[idx])
                ok = s_lo <= s_hi
                idx, s_lo, s_hi = idx[ok], s_lo[ok], s_hi[ok]
                if len(idx) == 0:
                    if e - hi_d < self.first_day.toordinal():
                        start = dt.date.fromordinal(int(rng.integers(e - hi_d, min(e - lo_d, self.first_day.toordinal() - 1) + 1)))
                        self._run_in_bistand(rng, templates, g, start, end, ending_seen)
                    else:
                        self.missed.append(("oppenvard", year, ending, g))
                    continue
                dist = np.maximum(s_lo - s0o, 0) + np.maximum(s0o - s_hi, 0)
                w = np.where(group[idx] == g, MATCH_WEIGHT, 1.0) * np.exp(-dist / 20.0)
                k = int(rng.choice(len(idx), p=w / w.sum()))
                j = int(idx[k])
                start = dt.date.fromordinal(int(min(max(s0o, s_lo[k]), s_hi[k])))
                free[j] = False
                u = granted[j]
                u.has_insats = True
                code = u.orsakskod if self.group.get(u.orsakskod, OVRIGA) == g else _pick(rng, self.group_codes[g])
                self.insatser.append(Insats(u.person, OPPENVARD, BISTAND, code, start, end, ending_seen, utr=u))

    def _run_in_bistand(self, rng, templates, g, start, end, ending) -> None:
        """An öppenvård insats granted before the first year (no Utrednings-ID), ongoing on 1 January."""
        tpl = templates[int(rng.integers(len(templates)))]
        person = self.new_person(rng, tpl.person.kon, age_at(tpl.person.birth, tpl.start), start, tpl.person.stadsdel)
        code = tpl.orsakskod if self.group.get(tpl.orsakskod, OVRIGA) == g else _pick(rng, self.group_codes[g])
        self.insatser.append(Insats(person, OPPENVARD, BISTAND, code, start, end, ending))

    def other_bistand(self) -> None:
        """Every granted utredning without an öppenvård insats gets one of :func:`bistand_insatstyp`."""
        rest = sorted((u for u in self.utredningar if u.utfall == INSATS_BEVILJAS and not u.has_insats
                       and u.end <= self.last_day), key=lambda u: (u.end, u.start, u.person.pnr))
        rngs: dict[int, np.random.Generator] = {}
        for u in rest:
            rng = rngs.setdefault(u.end.year, self.rng(u.end.year, S_KONTAKT))
            latest = min(u.end + dt.timedelta(days=30), self.last_day, last_day_aged_20(u.person.birth))
            start = u.end + dt.timedelta(days=int(rng.integers(0, max(0, (latest - u.end).days) + 1)))
            typ = bistand_insatstyp(rng, u, age_at(u.person.birth, start))
            end = start + dt.timedelta(days=_days(rng, KONTAKT_DAYS))
            ending = _pick(rng, KONTAKT_ENDINGS) if end <= EXTRACTION_DATE else None
            u.has_insats = True
            self.insatser.append(Insats(u.person, typ, BISTAND, u.orsakskod, start, end, ending, utr=u))

    # -- service ------------------------------------------------------------------------------
    def service(self) -> None:
        """Service insatser by quota per end year × problem area × ending (``utfall.service``)."""
        slots = self._quota_slots("service")
        p_ref = float(self.u.get("service_efter_hanvisning", 0.6))
        p_known = float(self.u.get("service_kand_person", 0.5))
        referrals: dict[int, list[dict]] = {}
        ref_days: dict[int, np.ndarray] = {}
        ref_free: dict[int, np.ndarray] = {}
        ref_birth: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # birth year and month × 100 + day
        ref_area: dict[int, np.ndarray] = {}
        for year in self.years:
            refs = sorted((r for r in self.akt[year] if r["beslut"] == "service"), key=lambda r: (r["date"], r["id"]))
            referrals[year] = refs
            ref_days[year] = np.array([r["date"].toordinal() for r in refs], dtype=np.int64)
            ref_free[year] = np.ones(len(refs), dtype=bool)
            ref_birth[year] = _year_md(np.array([_birth_date(r["personnummer"]).toordinal() for r in refs], dtype=np.int64))
            ref_area[year] = np.array([self.area.get(r["orsakskod"]) for r in refs], dtype=object)
        for year in sorted(slots):
            rng = self.rng(year, S_SERVICE)
            drawn = sorted(((_random_day(rng, year), ending, area, _days(rng, SERVICE_DAYS))
                            for ending, area in slots[year]), key=lambda s: s[0])
            for end, ending, area, d in drawn:
                start = end - dt.timedelta(days=d)
                if start > self.last_day:
                    continue
                ending_seen = ending if end <= EXTRACTION_DATE else None
                if start < self.first_day:  # begun before the first year: a direct case, new child
                    recs = self.akt[self.first]
                    tpl = recs[int(rng.integers(len(recs)))]
                    person = self.new_person(rng, tpl["kon"], tpl["alder"], start, tpl["stadsdel"])
                    self.insatser.append(Insats(person, OPPENVARD, SERVICE, self._area_code(rng, area, None), start, end, ending_seen))
                    continue
                sy = start.year
                ref = None
                if rng.random() < p_ref:
                    s = start.toordinal()
                    i0 = int(np.searchsorted(ref_days[sy], s - 30, side="left"))
                    i1 = int(np.searchsorted(ref_days[sy], s, side="right"))
                    idx = np.arange(i0, i1)[ref_free[sy][i0:i1]]
                    by, bmd = ref_birth[sy]
                    idx = idx[start.year - by[idx] - ((start.month * 100 + start.day) < bmd[idx]) <= 20]
                    if len(idx):
                        w = np.where(ref_area[sy][idx] == area, MATCH_WEIGHT, 1.0)
                        i = int(idx[int(rng.choice(len(idx), p=w / w.sum()))])
                        ref_free[sy][i] = False
                        ref = referrals[sy][i]
                if ref is not None:
                    person = self.person_of(ref)
                    self.insatser.append(Insats(person, OPPENVARD, SERVICE, self._area_code(rng, area, ref["orsakskod"]),
                                                start, end, ending_seen, akt=ref))
                    continue
                recs = self.akt[sy]
                rec = recs[int(rng.integers(len(recs)))]
                known = rng.random() < p_known
                person = self.person_of(rec)
                if known and person.birth <= start and age_at(person.birth, start) <= 20:
                    code = self._area_code(rng, area, rec["orsakskod"])
                else:
                    person = self.new_person(rng, rec["kon"], rec["alder"], start, rec["stadsdel"])
                    code = self._area_code(rng, area, None)
                self.insatser.append(Insats(person, OPPENVARD, SERVICE, code, start, end, ending_seen))

    def _area_code(self, rng: np.random.Generator, area: str, code: str | None) -> str:
        """``code`` if it belongs to the problem area, else a code of the area."""
        if code is not None and self.area.get(code) == area:
            return code
        return _pick(rng, self.area_codes[area])

    # -- ids ----------------------------------------------------------------------------------
    def assign_ids(self) -> None:
        self.utredningar.sort(key=lambda u: (u.start, u.person.pnr, u.startgrund, u.orsakskod, u.akt["id"] if u.akt else ""))
        counter: dict[int, int] = defaultdict(int)
        for u in self.utredningar:
            counter[u.start.year] += 1
            u.id = f"U{u.start.year}-{counter[u.start.year]:05d}"
        self.insatser.sort(key=lambda i: (i.start, i.person.pnr, i.grund, i.insatstyp, i.orsakskod, i.end))
        counter = defaultdict(int)
        for i in self.insatser:
            counter[i.start.year] += 1
            i.id = f"I{i.start.year}-{counter[i.start.year]:05d}"

    # -- extracts -----------------------------------------------------------------------------
    def file_year(self, case: Utredning | Insats, written: list[int]) -> int | None:
        """The extract year of a case when the years ``written`` are written (None: in no file)."""
        first = min(written)
        year = case.start.year
        if year < first:
            end = visible(case.end)
            if end is not None and end < dt.date(first, 1, 1):
                return None
            year = first
        return year if year in written else None

    def utredning_rows(self, year: int, written: list[int]) -> list[list]:
        headers = [c.header for c in UTREDNINGAR.sheets[0].columns]
        rows = []
        for u in self.utredningar:
            if self.file_year(u, written) != year:
                continue
            end = visible(u.end)
            akt_id = u.akt["id"] if u.akt is not None and u.akt["date"].year in written else None
            row = {"Utrednings-ID": u.id, "Aktualiserings-ID": akt_id, "Personnummer": u.person.pnr,
                   "Kön": u.person.kon, "Ålder": age_at(u.person.birth, u.start), "Stadsdel": u.person.stadsdel,
                   "Startgrund": u.startgrund, "Startdatum": u.start, "Slutdatum": end, "Orsakskod": u.orsakskod,
                   "Utfall": u.utfall if end else None, "Bedömning": u.bedomning if end else None}
            rows.append([row[h] for h in headers])
        return rows

    def insats_rows(self, year: int, written: list[int]) -> list[list]:
        headers = [c.header for c in INSATSER.sheets[0].columns]
        rows = []
        for i in self.insatser:
            if self.file_year(i, written) != year:
                continue
            end = visible(i.end)
            utr_id = i.utr.id if i.utr is not None and self.file_year(i.utr, written) is not None else None
            akt_id = i.akt["id"] if i.akt is not None and i.akt["date"].year in written else None
            row = {"Insats-ID": i.id, "Utrednings-ID": utr_id, "Aktualiserings-ID": akt_id,
                   "Personnummer": i.person.pnr, "Kön": i.person.kon, "Ålder": age_at(i.person.birth, i.start),
                   "Stadsdel": i.person.stadsdel, "Insatstyp": i.insatstyp, "Grund": i.grund, "Lagrum": i.lagrum,
                   "Orsakskod": i.orsakskod, "Startdatum": i.start, "Slutdatum": end,
                   "Avslutsorsak": i.avslutsorsak if end else None, "Registrerad som": i.registrerad_som,
                   "Situation efter": i.situation if end else None, "Ensamkommande": i.ensamkommande}
            rows.append([row[h] for h in headers])
        return rows


    def review_rows(self, year: int, written: list[int]) -> list[list]:
        """The December review of ``year``: placements in HVB or stödboende ongoing on 31 December."""
        from helpers.data.contract import PLACERINGAR_DEC

        if self.placed is None:
            return []
        headers = [c.header for c in PLACERINGAR_DEC.sheets[0].columns]
        dec = dt.date(year, 12, 31)
        open_forms = set(codes.load("insatstyper").query("form == 'öppen'")["insatstyp"])
        starts: dict[str, list[dt.date]] = defaultdict(list)
        for i in self.insatser:
            if i.insatstyp in open_forms and self.file_year(i, written) is not None:
                starts[i.person.pnr].append(i.start)
        rows = []
        seen: set[str] = set()  # one row per child (two placements of a child overlap only above the demo's volume)
        for p in sorted(self.placed.placements, key=lambda p: p.insats.id if p.insats is not None else ""):
            i = p.insats
            if i is None or i.insatstyp not in ("HVB", "Stödboende") or not (i.start <= dec < i.end):
                continue
            if self.file_year(i, written) is None or i.person.pnr in seen:
                continue
            seen.add(i.person.pnr)
            row = {"Insats-ID": i.id, "Personnummer": i.person.pnr, "Kön": i.person.kon,
                   "Ålder": age_at(i.person.birth, dec), "Stadsdel": i.person.stadsdel, "Placeringsform": i.insatstyp,
                   "Registrerad som": i.registrerad_som, "Lagrum": i.lagrum,
                   "Anledning": p.anledning, "Skolsituation tillgodosedd": p.skola,
                   "Tidigare öppenvård": any(s < i.start for s in starts.get(i.person.pnr, [])),
                   "Ensamkommande": bool(i.ensamkommande)}
            rows.append([row[h] for h in headers])
        return rows


def visible(end: dt.date | None) -> dt.date | None:
    """The end as the extract shows it: blank if after the extraction date."""
    return end if end is not None and end <= EXTRACTION_DATE else None


def build(akt: dict[int, list[dict]], targets: dict) -> Flow:
    """The case flow of ``targets`` on the (post-passed) aktualiseringar ``akt`` of every year."""
    return Flow(akt, targets).build()
