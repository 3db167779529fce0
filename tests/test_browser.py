"""The rendered HTML book in a real browser (headless Chromium over the DevTools protocol, see
``tests/browser.py``): no console errors, no failed loads or broken images, Swedish ``lang`` and a
table of contents whose links all lead somewhere.

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

from tests.browser import PageReport, book_problems, check_book, check_pages

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
