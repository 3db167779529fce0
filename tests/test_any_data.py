"""Every sentence is true for any data: the book rendered on data unlike the calibrated demo.

The calibrated demo cannot show that the prose follows the numbers, since it was tuned to the 2021
report. The second synthetic scenario (``kontrast``: falling totals, another district ranking, the
seasonal low in February, categories with 1–4 cases, a category that disappears, a year with very
few ansökningar) and a small municipality's volume are rendered here through ``make report``'s
path, and the rendered books are read back:

* **claims**: every claim the chapter logged (``claims_<chapter>.json``) is checked against its
  own numbers (the direction word against the values, "ökade"/"minskade" only with a significant
  test) and found word for word in the rendered HTML;
* **typography**: the running text of every page follows the Swedish rules of
  :mod:`helpers.publishing.typography` (en dash in ranges, no-break spaces in numbers and before %, no
  "gånger fler");
* **disclosure**: the build's audit passed (the manifest's summary), also for a small
  municipality.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from helpers.publishing import phrasing, typography

from .conftest import Project, make_project

pytestmark = pytest.mark.slow

SCENARIO_YEARS = {("kontrast", 1.0): (2019, 2020, 2022), ("kontrast", 0.06): (2020, 2022), ("demo", 0.06): (2021,)}


def _book_text(book: Path) -> str:
    return "\n".join(typography.html_text(p.read_text(encoding="utf-8")) for p in sorted(book.rglob("*.html")))


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u00a0", " ")).strip().lower()


@pytest.fixture(scope="module")
def scenario_books(tmp_path_factory) -> dict[tuple[str, float, int], tuple[Project, Path, Path]]:
    """Books rendered (built-in renderer) on the second scenario and on small volumes.

    Each render's ``_book`` is copied aside, so every year can be read after the next render."""
    import shutil

    books = {}
    for (scenario, scale), years in SCENARIO_YEARS.items():
        project = make_project(tmp_path_factory.mktemp(f"{scenario}-{scale}".replace(".", "_")))
        project.genomlysning("data", "--scenario", scenario, "--scale", str(scale))
        for year in years:
            project.render(year, "--no-publish")
            keep = project.root / f"_book-{year}"
            shutil.copytree(project.book, keep)
            books[(scenario, scale, year)] = Project(project.root), keep, project.root / "_build" / str(year)
    return books


def _claims(build: Path) -> list[phrasing.Claim]:
    out = []
    for f in build.rglob("claims_*.json"):
        out += list(phrasing.ClaimLog.read(f))
    return out


def check_claim(c: phrasing.Claim) -> list[str]:
    """What is wrong with a claim, judged from its own numbers (empty if nothing)."""
    v, text, problems = c.values, c.text, []
    if c.kind == "share_change" and c.direction != "hidden" and v.get("n1") and v.get("n0"):
        diff = v["k1"] / v["n1"] - v["k0"] / v["n0"]
        want = "up" if diff > 0 else "down" if diff < 0 else "same"
        if c.direction != want:
            problems.append(f"riktning {c.direction}, men talen ger {want}")
    if c.kind == "count_change" and c.direction != "hidden" and v.get("k1") is not None:
        want = "up" if v["k1"] > v["k0"] else "down" if v["k1"] < v["k0"] else "same"
        if c.direction != want:
            problems.append(f"riktning {c.direction}, men talen ger {want}")
    if c.kind == "quantity" and c.direction != "hidden" and v.get("n"):
        want = phrasing.quantifier(100 * v["k"] / v["n"])
        if v.get("word") != want or not text.startswith(want):
            problems.append(f"kvantitetsordet ska vara '{want}'")
    if c.pvalue is not None and c.significant is not None:
        alpha = v.get("alpha", 0.05)
        if c.significant != (c.pvalue < alpha):
            problems.append(f"signifikans {c.significant} stämmer inte med p = {c.pvalue}")
    says_up, says_down = " ökade" in f" {text}", " minskade" in f" {text}"
    if says_up and not (c.direction == "up" and c.significant):
        problems.append("säger 'ökade' utan en säkerställd ökning")
    if says_down and not (c.direction == "down" and c.significant):
        problems.append("säger 'minskade' utan en säkerställd minskning")
    if c.significant is False and (says_up or says_down):
        problems.append("riktningsord trots att skillnaden inte är säkerställd")
    if "gånger fler" in text or ".." in text or re.search(r"\d-\d", text):
        problems.append("språkfel (gånger fler, '..' eller bindestreck mellan siffror)")
    if c.pvalue is not None and not math.isfinite(c.pvalue):
        problems.append("p-värdet saknas")
    return problems


def test_check_claim_can_fail():
    ok = phrasing.compare_shares(300, 2000, 246, 2000, subject="andelen", year1=2020, year0=2019)
    assert check_claim(ok) == []
    wrong = phrasing.Claim("share_change", "andelen", dict(ok.values), "up", ok.test, 0.5, False,
                           "andelen ökade från 12,3 % till 15,0 %")
    assert check_claim(wrong)
    flipped = phrasing.Claim("count_change", "antalet", {"k1": 10, "k0": 20}, "up", "poisson_exact", 0.01,
                             True, "antalet ökade")
    assert any("riktning" in p for p in check_claim(flipped))
    good = phrasing.quantity(30, 40, whole="insatserna", predicate="avslutades enligt plan")
    assert check_claim(good) == []
    bad = phrasing.Claim("quantity", "insatserna", {"k": 30, "n": 40, "word": "nästan alla"}, "none", None, None,
                         None, "nästan alla av insatserna (75,0 %) avslutades enligt plan")
    assert check_claim(bad)


def test_the_book_renders_on_other_data_and_its_claims_hold(scenario_books):
    failures = []
    for (scenario, scale, year), (_project, book, build) in scenario_books.items():
        claims = _claims(build)
        assert claims, f"{scenario} {scale} {year}: inga påståenden loggade"
        html = _norm(_book_text(book))
        for c in claims:
            for p in check_claim(c):
                failures.append(f"{scenario} {scale} {year}: {p}: {c.text}")
            if _norm(c.text)[1:] not in html:
                failures.append(f"{scenario} {scale} {year}: påståendet finns inte i boken: {c.text}")
    assert not failures, "\n".join(failures)


def test_kontrast_says_what_its_own_data_say(scenario_books):
    """Spot checks of directions that differ from the demo's (falling totals, utsatta not highest)."""
    _p, book, build = scenario_books[("kontrast", 1.0, 2022)]
    claims = _claims(build)
    counts = [c for c in claims if c.kind == "count_change" and c.subject.startswith("antalet anmälningar för 0–17")]
    assert counts and counts[0].direction == "down"
    text = _norm(_book_text(book))
    assert "minskade" in text
    rates = [c for c in claims if c.kind == "rate_ratio"]
    assert rates and rates[0].values.get("rr", 1) < 1
    # Utfall: the kontrast's öppenvård ends according to plan less and less often.
    plan = [c for c in claims if c.kind == "share_change" and c.subject == "andelen som avslutades enligt plan"]
    assert plan and plan[0].direction == "down"


def test_kontrast_placements_say_what_their_own_data_say(scenario_books):
    """Placeringar on the kontrast data: ended familjehem placements rise 2019 → 2020 (the demo's
    fall), the review's registration practice is the year's, and its composition is the kontrast's."""
    _p, book, build = scenario_books[("kontrast", 1.0, 2020)]
    claims = _claims(build)
    fam = [c for c in claims if c.kind == "count_change"
           and c.subject == "antalet avslutade placeringar i familjehem för barn 0–13 år"]
    assert fam and fam[0].direction == "up" and fam[0].values["k1"] > fam[0].values["k0"]
    girls = [c for c in claims if c.kind == "quantity" and c.subject.startswith("de placerade") and "flickor" in c.text]
    assert girls and girls[0].values["k"] / girls[0].values["n"] < 0.4
    text = _norm(_book_text(book))
    assert "stödboende registrerades som hvb till och med 2020" in text
    _p, book22, _b = scenario_books[("kontrast", 1.0, 2022)]
    assert "stödboende registreras som egen placeringsform från 2021" in _norm(_book_text(book22))


def test_kontrast_economy_says_what_its_own_data_say(scenario_books):
    """Ekonomi on the kontrast data: prices on general HVB contracts fall, no top-up, a budget at
    least as high as the cost, Linköping above R9 for HVB, and Kolada figures up to the year before."""
    _p, book, _b = scenario_books[("kontrast", 1.0, 2020)]
    text = _norm(_book_text(book))
    assert "snittpriset per dygn på generella hvb-avtal minskade" in text
    assert "gjordes ett tillskott" not in text and "minst lika hög som kostnaden" in text
    assert "1 093 kr i r9-snittet" not in text and "högre i linköping" in text
    assert "per invånare 2019" in text and "per invånare 2020" not in text


def test_kontrast_structure_says_what_its_own_data_say(scenario_books):
    """Strukturella faktorer on the kontrast data: 0–19 falls, the forecast falls (most in Skäggetorp
    and Berga), Berga has the highest unemployment, no yearly decline in school results, long-term
    bistånd falls, and fewer reports per child from the neighbourhood in the utsatta områden."""
    _p, book, build = scenario_books[("kontrast", 1.0, 2020)]
    text = _norm(_book_text(book))
    assert "folkmängden 0–19 år i kommunen var 35 200 år 2020 mot" in text and "färre" in text
    assert "väntas antalet barn och unga 0–18 år i hela kommunen till 2024 minska" in text
    assert "mest i skäggetorp och berga" in text
    assert "andelen var högst i berga" in text
    assert "har minskat varje år sedan" not in text
    claims = _claims(build)
    bistand = [c for c in claims if c.kind == "share_change" and c.subject.startswith("andelen hushåll med långvarigt")]
    assert bistand and bistand[0].direction == "down" and bistand[0].significant
    near = [c for c in claims if c.kind == "rate_ratio" and c.subject.startswith("anmälningarna från närområdet")]
    assert near and near[0].values["rr"] < 1
    # the small municipality: the schools under ten pupils are not ranked
    _p, small, _b = scenario_books[("demo", 0.06, 2021)]
    small_text = _norm(_book_text(small))
    assert "lägst på skäggetorpskolan" not in small_text


def test_rendered_text_follows_swedish_typography(rendered, scenario_books):
    books = [("demo", rendered.book)] + [(f"{s} {sc} {y}", b) for (s, sc, y), (_p, b, _b) in scenario_books.items()]
    failures = []
    for name, book in books:
        for page in sorted(book.rglob("*.html")):
            for p in typography.problems(typography.html_text(page.read_text(encoding="utf-8"))):
                failures.append(f"{name} {page.name}: {p}")
    assert not failures, "\n".join(failures[:40])


def test_the_disclosure_audit_passed_for_every_book(rendered, scenario_books):
    books = [("demo 2020", rendered.book)] + [(f"{s} {sc} {y}", b) for (s, sc, y), (_p, b, _b) in scenario_books.items()]
    for name, book in books:
        manifest = json.loads((book / "manifest.json").read_text(encoding="utf-8"))
        for chapter, summary in manifest["disclosure"].items():
            assert summary["narrowest_width"] is None or summary["narrowest_width"] >= summary["threshold"], (name, chapter)
            assert summary["publications_checked"] > 0, (name, chapter)
