"""The rendered HTML book in a real browser (headless Chromium over the DevTools protocol, see
``tests/browser.py``): no console errors, no failed loads or broken images, Swedish ``lang``, a
table of contents whose links all lead somewhere, and a book a phone can read (390 CSS px): no
page scrolls sideways, no caption is cut off, figures are SVGs whose tick labels show at 9 CSS px
or more, and the text starts on the first screen (the table of contents folds away). The phone
checks run on the built-in renderer's book and, where ``quarto`` is on PATH, on Quarto's.

Chromium is required: without it these tests fail and say to run ``make browser`` (CI installs it
the same way). Set ``GENOMLYSNING_SKIP_BROWSER=1`` to skip them instead.
"""

from __future__ import annotations

import base64
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from helpers.publishing.theme import TICK_PT
from tests.browser import (
    PHONE,
    Layout,
    PageReport,
    book_problems,
    check_book,
    check_pages,
    chromium,
    layout,
)

pytestmark = pytest.mark.slow

# A valid 1×1 PNG, so the self-test also shows that a good image is not reported.
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)


def _skip_or_fail_without_chromium() -> None:
    """Skip if GENOMLYSNING_SKIP_BROWSER=1; fail (not skip) if there is no Chromium."""
    if os.environ.get("GENOMLYSNING_SKIP_BROWSER") == "1":
        pytest.skip("GENOMLYSNING_SKIP_BROWSER=1")
    if shutil.which(os.environ.get("CHROMIUM", "chromium")) is None:
        pytest.fail("chromium is not on PATH: run `make browser` to install Debian's chromium "
                    "(CI installs it), or set GENOMLYSNING_SKIP_BROWSER=1 to skip the browser "
                    "tests", pytrace=False)


@dataclass
class Book:
    root: Path
    reports: dict[Path, PageReport]


@pytest.fixture(scope="session")
def book(request) -> Book | None:
    """Every page of the rendered book (2020, built-in renderer), loaded once in Chromium.

    None without Chromium: the test then fails with the install hint, without waiting for the
    render first."""
    if os.environ.get("GENOMLYSNING_SKIP_BROWSER") == "1":
        pytest.skip("GENOMLYSNING_SKIP_BROWSER=1")
    if shutil.which(os.environ.get("CHROMIUM", "chromium")) is None:
        return None
    root = request.getfixturevalue("rendered").book
    return Book(root, check_pages(root))


def _listing(problems: list[str]) -> str:
    return f"{len(problems)} problem(s) in the HTML book:\n  " + "\n  ".join(problems)


def test_book_has_no_browser_problems(book):
    _skip_or_fail_without_chromium()
    assert {path.name for path in book.reports} >= {"index.html"}
    problems = book_problems(book.root, book.reports)
    assert problems == [], _listing(problems)


def test_figures_show_an_image(book):
    _skip_or_fail_without_chromium()
    assert sum(report.figures for report in book.reports.values()) > 0, "no <figure> in the book"
    missing = [
        f"{path.relative_to(book.root.resolve())}: {report.figures} <figure>, "
        f"but no image loaded ({[image.src for image in report.images]})"
        for path, report in book.reports.items()
        if report.figures and not any(image.complete and not image.broken
                                      for image in report.images)
    ]
    assert missing == [], "\n".join(missing)


def _page(title: str, body: str, lang: str = "sv") -> str:
    lang_attr = f' lang="{lang}"' if lang else ""
    return (f"<!DOCTYPE html>\n<html{lang_attr}><head><meta charset='utf-8'><title>{title}</title>"
            f"</head><body>{body}</body></html>\n")


def test_checker_reports_problems(tmp_path):
    """The checker itself: a tiny book with known faults must have each of them reported."""
    _skip_or_fail_without_chromium()
    (tmp_path / "ok.png").write_bytes(PIXEL)
    toc = ('<nav id="TOC"><a href="index.html">Start</a> <a href="kapitel.html#finns">Finns</a>'
           ' <a href="kapitel.html#saknas">Saknas</a> <a href="borta.html">Borta</a></nav>')
    (tmp_path / "index.html").write_text(_page("Start", toc + (
        '<figure><img src="ok.png" alt="bra"></figure>'
        '<figure><img src="saknas.png" alt="trasig"></figure>'
        '<script>console.error("medvetet fel"); console.log("bara info");</script>'
    )), encoding="utf-8")
    (tmp_path / "kapitel.html").write_text(_page(
        "Kapitel", toc + '<h1 id="finns">Finns</h1><script>null.fel;</script>', lang=""
    ), encoding="utf-8")

    problems = check_book(tmp_path)
    text = "\n".join(problems)

    def reported(*words: str) -> bool:
        return any(all(word in problem for word in words) for problem in problems)

    assert reported("index.html", "broken image", "saknas.png"), text
    assert not reported("ok.png"), text
    assert reported("index.html", "console.error", "medvetet fel"), text
    assert not reported("bara info"), text
    assert reported("kapitel.html", "uncaught exception", "TypeError"), text
    assert reported("kapitel.html", "lang"), text
    assert not reported("index.html", "lang"), text
    assert reported("TOC link", "borta.html", "does not exist"), text
    assert reported("TOC link", "kapitel.html#saknas", "no id='saknas'"), text
    assert not reported("#finns"), text
    # Both pages have the same TOC: each dangling link is one line, not one per page.
    assert sum("borta.html" in problem for problem in problems) == 1, text


# --- A phone (390 CSS px) -----------------------------------------------------------------------

#: The smallest size, in CSS px, at which a figure's tick labels count as legible. A figure's
#: text is drawn at TICK_PT (theme); shown at ``scale`` times its natural size (an SVG's natural
#: width is its width in pt at 96 px per inch) it appears at ``TICK_PT * 96/72 * scale`` CSS px.
MIN_TEXT_PX = 9.0
#: On a phone the page's first heading must start on the first screen: a table of contents that
#: does not fold away pushes it further down.
MAX_HEADING_TOP = PHONE[1] * 0.75


def tick_px(scale: float) -> float:
    return TICK_PT * 96 / 72 * scale


def phone_problems(root: Path, layouts: dict[Path, Layout]) -> list[str]:
    """Readable problems of the pages in ``layouts`` (measured by :func:`tests.browser.layout`)."""
    problems: list[str] = []
    for path, lay in layouts.items():
        page = path.relative_to(root.resolve()).as_posix()
        if lay.scrolls_sideways:
            problems.append(f"{page}: the page scrolls sideways at {lay.width} px "
                            f"(scrollWidth {lay.scroll_width}, innerWidth {lay.inner_width}): "
                            + ", ".join(lay.overflowing[:5]))
        problems += [f"{page}: caption cut off: {c}" for c in lay.cut_captions]
        for fig in lay.figures:
            name = fig.src.rsplit("/", 1)[-1]
            if not name.endswith(".svg"):
                problems.append(f"{page}: figure {name} is not an SVG")
            elif tick_px(fig.scale) < MIN_TEXT_PX:
                problems.append(f"{page}: figure {name} shown at {fig.shown_width:.0f} of "
                                f"{fig.natural_width:.0f} px: tick labels {tick_px(fig.scale):.1f} "
                                f"CSS px < {MIN_TEXT_PX}")
        if lay.first_heading_top is None or lay.first_heading_top > MAX_HEADING_TOP:
            problems.append(f"{page}: the first heading starts at {lay.first_heading_top} px, "
                            f"not on the first screen ({MAX_HEADING_TOP:.0f} px)")
    return problems


def phone_layouts(root: Path, pages: list[str]) -> dict[Path, Layout]:
    """The index and the chapter pages, laid out on a phone (one browser for all)."""
    paths = [(root / p).resolve() for p in pages]
    missing = [p for p in paths if not p.is_file()]
    assert not missing, f"pages missing from the book: {missing}"
    with chromium() as browser:
        return {p: layout(p.as_uri(), browser) for p in paths}


def _chapter_pages(root: Path) -> list[str]:
    """index.html and every chapter and appendix page (built-in: sec-*.html; Quarto:
    notebooks/*.html, appendix/*.html)."""
    chapters = [*sorted(root.glob("sec-*.html")), *sorted(root.glob("notebooks/*.html")),
                *sorted(root.glob("appendix/*.html"))]
    return ["index.html", *(p.relative_to(root).as_posix() for p in chapters)]


def test_book_reads_on_a_phone(book):
    """Built-in renderer: every page at 390 px (index, chapters, appendices)."""
    _skip_or_fail_without_chromium()
    pages = _chapter_pages(book.root)
    assert "sec-inflode.html" in pages, pages
    layouts = phone_layouts(book.root, pages)
    assert sum(len(lay.figures) for lay in layouts.values()) >= 5, "no figures measured"
    problems = phone_problems(book.root, layouts)
    assert problems == [], "\n".join(problems)


@pytest.fixture(scope="session")
def quarto_book(tmp_path_factory) -> Path:
    """The 2020 book rendered by Quarto in a throw-away project (skips without quarto)."""
    if os.environ.get("GENOMLYSNING_SKIP_BROWSER") == "1":
        pytest.skip("GENOMLYSNING_SKIP_BROWSER=1")
    if shutil.which("quarto") is None:
        pytest.skip("quarto finns inte på PATH")
    from tests.conftest import make_project

    project = make_project(tmp_path_factory.mktemp("quarto"))
    project.genomlysning("render", "--year", "2020", "--renderer", "quarto", "--no-publish")
    return project.book


def test_quarto_book_reads_on_a_phone(quarto_book):
    _skip_or_fail_without_chromium()
    pages = _chapter_pages(quarto_book)
    assert any(p.startswith("notebooks/") for p in pages), pages
    problems = phone_problems(quarto_book, phone_layouts(quarto_book, pages))
    assert problems == [], "\n".join(problems)


def test_phone_checker_reports_problems(tmp_path):
    """The phone checks themselves, on a page with each fault: a wide block that is not in a
    scroll box, a caption wider than the screen, a PNG figure and a shrunken SVG, and a long
    table of contents before the first heading. A wide table in its own scroll box is fine."""
    _skip_or_fail_without_chromium()
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" width="360pt" height="200pt" '
           'viewBox="0 0 360 200"><rect width="360" height="200" fill="#ccc"/></svg>')
    (tmp_path / "fig.svg").write_text(svg, encoding="utf-8")
    (tmp_path / "fig.png").write_bytes(PIXEL)
    head = "<meta name='viewport' content='width=device-width, initial-scale=1'>"
    toc = "<nav>" + "<p>kapitel</p>" * 60 + "</nav>"
    (tmp_path / "index.html").write_text(_page("Start", head + toc + (
        "<h1>Rubrik</h1><div style='width:600px'>bred</div>"
        "<table><caption style='white-space:nowrap'>" + "lång rubrik " * 12 + "</caption>"
        "<tr><td>1</td></tr></table>"
        "<figure><img src='fig.png' alt='png'></figure>"
        "<figure><img src='fig.svg' alt='svg' style='width:200px'></figure>"
    )), encoding="utf-8")
    (tmp_path / "ok.html").write_text(_page("Bra", head + (
        "<h1>Rubrik</h1><div style='overflow-x:auto'><table style='width:900px'>"
        "<tr><td>bred men i egen ruta</td></tr></table></div>"
        "<figure style='margin:0'><img src='fig.svg' alt='svg' style='max-width:100%'></figure>"
    )), encoding="utf-8")
    layouts = phone_layouts(tmp_path, ["index.html", "ok.html"])
    problems = phone_problems(tmp_path, layouts)
    text = "\n".join(problems)
    assert all(p.startswith("index.html") for p in problems), text
    assert any("scrolls sideways" in p and "div" in p for p in problems), text
    assert any("caption cut off" in p and "lång rubrik" in p for p in problems), text
    assert any("fig.png is not an SVG" in p for p in problems), text
    assert any("fig.svg shown at 200 of 480 px" in p for p in problems), text
    assert any("first heading" in p for p in problems), text
