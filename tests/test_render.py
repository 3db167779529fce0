"""The whole journey: raw extracts → executed chapters → HTML book + PDF, as `make report` runs it.

Every test works in a throw-away copy of the project (see ``conftest.py``). The built-in renderer
is always tested; the Quarto route runs when ``quarto`` is on PATH and skips otherwise.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pandas as pd
import pytest
import yaml

from helpers import __version__
from helpers.build import (
    BUILD_LOG,
    PUBLISHED_KEY_FIGURE_COLUMNS,
    chapter_notebooks,
    chapter_title,
    report_settings,
)
from helpers.config import PATHS
from helpers.publishing.render.builtin import PDF_NAME

from .conftest import Project, make_project

pytestmark = pytest.mark.slow


def chapter_titles() -> list[str]:
    return [chapter_title(nb) for nb in chapter_notebooks()]


def pdf_text(pdf: Path) -> str:
    if shutil.which("pdftotext"):
        return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    from pypdf import PdfReader

    return "\n".join(page.extract_text() or "" for page in PdfReader(pdf).pages)


def tree_digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            h.update(p.relative_to(folder).as_posix().encode() + p.read_bytes())
    return h.hexdigest()


def html_text(page: Path) -> str:
    """The page's text with tags removed and runs of whitespace (not no-break spaces) collapsed."""
    return re.sub(r"[ \t\r\n]+", " ", re.sub(r"<[^>]+>", " ", page.read_text(encoding="utf-8")))


# --- the built-in render of 2020 ------------------------------------------------------------------


def test_book_has_html_pdf_and_every_chapter(rendered: Project):
    book = rendered.book
    index = (book / "index.html").read_text(encoding="utf-8")
    assert 'lang="sv"' in index
    assert "Syntetiska demodata" in index
    assert f"version {__version__}" in index
    pages = sorted(book.glob("*.html"))
    all_html = " ".join(html_text(p) for p in pages)
    for title in chapter_titles():
        assert title in all_html, f"kapitlet {title!r} saknas i HTML-boken"
    for page in pages:  # the banner on every page
        assert "Syntetiska demodata" in page.read_text(encoding="utf-8"), f"{page.name} saknar banderollen"
    pdf = book / PDF_NAME
    assert pdf.is_file() and pdf.stat().st_size > 50_000
    text = pdf_text(pdf)
    flat = re.sub(r"\s+", " ", text)
    for title in chapter_titles():
        assert re.sub(r"\s+", " ", title) in flat, f"kapitlet {title!r} saknas i PDF:en"
    assert f"version {__version__}" in flat
    assert "Syntetiska demodata" in flat
    assert "Siffror i rapporten" in flat
    assert "Om statistiken" in flat and "Data för 2020" in flat


def test_front_matter_names_data_year_publisher_release_date_and_renderer(rendered: Project):
    m = json.loads((rendered.book / "manifest.json").read_text(encoding="utf-8"))
    released = m["publisher"]["released"]
    settings = report_settings(rendered.root)
    author = ", ".join(x for x in (settings["publisher"], settings["municipality"]) if x)
    assert m["publisher"]["author"] == author
    index = html_text(rendered.book / "index.html")
    assert f"Data för 2020 · version {__version__}" in index
    assert author in index and released in index
    assert "Rapportår" not in index
    # the preface names the renderer recorded in the manifest, not a renderer it did not use
    preface = html_text(rendered.book / "sec-forord.html")
    assert f"sätts ihop med {m['renderer']['text']}" in preface and "Quarto" not in preface
    assert "I korthet" in preface and "Data för 2020" in preface
    flat = re.sub(r"\s+", " ", pdf_text(rendered.book / PDF_NAME))
    assert "Data för 2020" in flat and released in flat
    assert re.sub(r"\s+", " ", settings["publisher"]) in flat


def test_about_the_statistics_appendix(rendered: Project):
    pages = {p.name: html_text(p) for p in rendered.book.glob("*.html")}
    about = pages.get("sec-om-statistiken.html", "")
    assert "Om statistiken" in about, "bilagan Om statistiken saknas i HTML-boken"
    assert "Dataår" in about and "31 december 2020" in about
    assert "linjärprogrammering" in about and "Kronologiska pärmen" in about
    assert "{{<" not in about and "?@" not in about
    m = json.loads((rendered.book / "manifest.json").read_text(encoding="utf-8"))
    assert m["data"]["fingerprint"] in about
    assert isinstance(m["disclosure"], dict)
    for chapter, s in m["disclosure"].items():
        assert {"cells", "hidden_primary", "hidden_secondary", "narrowest_width", "threshold"} <= set(s), chapter
        assert not {"audit_seconds", "audit_reused"} & set(s), "körtider hör hemma i bygg-loggen"
    log = json.loads((rendered.root / "_build" / "2020" / BUILD_LOG).read_text(encoding="utf-8"))
    assert set(log["audit"]) == set(m["disclosure"])
    assert all({"audit_seconds", "audit_reused"} <= set(a) for a in log["audit"].values())


def test_figures_are_numbered_captioned_and_cross_referenced(rendered: Project):
    page = (rendered.book / "sec-inflode.html").read_text(encoding="utf-8")
    figures = re.findall(r'<figure id="(fig-[^"]+)"', page)
    assert len(figures) >= 5
    assert re.search(r"<figcaption><strong>Figur\s1\.1:</strong>", page)
    assert re.search(r"<caption><strong>Tabell\s1\.1:</strong>", page)
    for img in re.findall(r"<img [^>]*>", page):
        assert re.search(r'alt="[^"]{20,}"', img), f"bild utan alt-text: {img}"
    for fig in figures:  # every figure is referred to in the text, and the reference resolves
        assert f'href="#{fig}"' in page or f'href="sec-inflode.html#{fig}"' in page, fig
    assert "?@" not in page, "olöst korshänvisning"
    # the data behind every figure is downloadable next to it
    for fig in figures:
        assert (rendered.book / "figures" / f"{fig}.csv").is_file()
        assert f'href="figures/{fig}.csv"' in page


def test_citations_resolve_to_the_bibliography(rendered: Project):
    refs = (rendered.book / "sec-referenser.html").read_text(encoding="utf-8")
    assert "Socialstyrelsen" in refs
    inflode = (rendered.book / "sec-inflode.html").read_text(encoding="utf-8")
    assert "@socialstyrelsen2020" not in inflode
    assert "ref-socialstyrelsen2020" in inflode


def test_manifest_records_the_render(rendered: Project):
    m = json.loads((rendered.book / "manifest.json").read_text(encoding="utf-8"))
    assert m["version"] == __version__
    assert m["year"] == 2020
    assert m["renderer"]["name"] == "builtin" and "pandoc" in m["renderer"]["version"]
    assert set(m["code"]) >= {"commit", "dirty"}
    assert len(m["data"]["fingerprint"]) == 12 and m["data"]["synthetic"] is True
    assert m["parameters"]["01_inflode"]["year"] == 2020
    assert m["parameters"]["01_inflode"]["synthetic"] is True
    assert m["parameters"]["01_inflode"]["data_cutoff"] == ""
    assert {"pandas", "statsmodels", "papermill", "typst", "pypandoc-binary"} <= set(m["packages"])
    assert m["pdf"] == PDF_NAME
    # nothing that changes from build to build: no clock time, no durations, no absolute paths
    assert not {"created", "timings_s", "built_at"} & set(m)
    assert all(set(c) == {"notebook"} for c in m["chapters"])
    assert m["parameters"]["01_inflode"]["processed_dir"] == "data/processed"
    text = (rendered.book / "manifest.json").read_text(encoding="utf-8")
    assert str(rendered.root) not in text and str(PATHS.root) not in text
    log = json.loads((rendered.root / "_build" / "2020" / BUILD_LOG).read_text(encoding="utf-8"))
    assert {"data", "chapters", "audit", "render", "total"} <= set(log["timings_s"])
    assert log["date"] == m["date"] == m["publisher"]["released"]
    if "SOURCE_DATE_EPOCH" not in os.environ:  # no commit in the copy: dated by the last day of its data
        assert (log["date_source"], m["date"]) == ("data", "2020-12-31")
    assert [c["notebook"] for c in log["chapters"]] == [c["notebook"] for c in m["chapters"]]
    index = (rendered.book / "index.html").read_text(encoding="utf-8")
    assert m["data"]["fingerprint"] in index  # the title page shows the data fingerprint


def test_key_figures_appendix_and_csv(rendered: Project):
    kf = pd.read_csv(rendered.book / "key_figures.csv", keep_default_na=False, na_values={"value": [""]})
    assert list(kf.columns) == PUBLISHED_KEY_FIGURE_COLUMNS
    assert kf["id"].is_unique and len(kf) > 40
    assert set(kf["status"]) <= {"", "<5", "x"}
    assert kf["value"].isna().tolist() == (kf["status"] != "").tolist()
    excel = rendered.book / "nyckeltal.csv"
    assert excel.read_bytes().startswith(b"\xef\xbb\xbf")
    sv = pd.read_csv(excel, sep=";", decimal=",", encoding="utf-8-sig", keep_default_na=False,
                     na_values={"Värde": [""]})
    assert sv["Id"].tolist() == kf["id"].tolist()
    assert (sv["Värde"].fillna(-1) == kf["value"].fillna(-1)).all()
    chapter = pd.read_csv(rendered.root / "_build" / "2020" / "cache" / "01_inflode" / "key_figures_inflode.csv")
    assert set(chapter["id"]) <= set(kf["id"])
    appendix = html_text(rendered.book / "sec-siffror.html")
    for kid in kf["id"]:
        assert kid in appendix, f"{kid} saknas i bilagan Siffror i rapporten"
    total = kf.set_index("id").loc["inflow_aktualiseringar_total", "value"]
    assert f"{int(total):,}".replace(",", "\u00a0") in appendix


def test_versions_are_kept_and_figures_exported(rendered: Project):
    kept = rendered.root / "_publish" / "2020"
    versions = [p for p in kept.iterdir() if p.is_dir()]
    assert len(versions) == 1 and versions[0].name.startswith(__version__)
    assert (versions[0] / "index.html").is_file() and (versions[0] / PDF_NAME).is_file()
    index = (rendered.root / "_publish" / "index.html").read_text(encoding="utf-8")
    assert f"2020/{versions[0].name}/index.html" in index
    exported = rendered.root / "figures" / "2020"
    for ext in ("png", "svg", "csv"):
        assert (exported / f"fig-akttyp.{ext}").is_file()


def test_unchanged_chapters_are_not_executed_again(rendered: Project):
    proc = rendered.render(2020, "--no-publish")
    assert "oförändrat, återanvänt" in proc.stdout
    log = json.loads((rendered.root / "_build" / "2020" / BUILD_LOG).read_text(encoding="utf-8"))
    assert all(c["cached"] for c in log["chapters"])


# --- two years, a failing chapter ------------------------------------------------------------------


def test_two_years_give_different_reports(tmp_path):
    project = make_project(tmp_path / "p")
    project.render(2019)
    m19 = json.loads((project.book / "manifest.json").read_text(encoding="utf-8"))
    kf19 = pd.read_csv(project.book / "key_figures.csv").set_index("id")["value"]
    text19 = html_text(project.book / "sec-inflode.html")
    project.render(2020)
    m20 = json.loads((project.book / "manifest.json").read_text(encoding="utf-8"))
    kf20 = pd.read_csv(project.book / "key_figures.csv").set_index("id")["value"]
    text20 = html_text(project.book / "sec-inflode.html")
    assert (m19["year"], m20["year"]) == (2019, 2020)
    assert m19["parameters"]["01_inflode"]["year"] == 2019
    assert kf19["inflow_aktualiseringar_total"] != kf20["inflow_aktualiseringar_total"]
    assert "Kapitlet avser 2019" in text19 and "Kapitlet avser 2020" in text20
    assert (project.root / "_publish" / "2019").is_dir() and (project.root / "_publish" / "2020").is_dir()


def test_a_year_without_data_is_refused(tmp_path):
    project = make_project(tmp_path / "p")
    proc = project.render(1999, check=False)
    assert proc.returncode == 1
    assert "1999 finns inte i data" in proc.stderr
    assert not project.book.exists()


def test_a_failing_chapter_leaves_the_last_report_untouched(tmp_path):
    project = make_project(tmp_path / "p")
    project.render(2020)
    before = tree_digest(project.book)
    # A second chapter whose code fails in its third code cell.
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Trasigt kapitel {#sec-trasigt}"),
        nbformat.v4.new_code_cell("year = 2020\nprocessed_dir = ''\noutput_dir = ''", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_code_cell("y = 1 / (x - 1)"),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, project.root / "notebooks" / "99_trasigt.ipynb")
    config = yaml.safe_load((project.root / "_quarto.yml").read_text(encoding="utf-8"))
    config["book"]["chapters"].append("notebooks/99_trasigt.ipynb")
    (project.root / "_quarto.yml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    proc = project.render(2020, check=False)
    assert proc.returncode == 1
    assert "notebooks/99_trasigt.ipynb" in proc.stderr
    assert "kodcell 3" in proc.stderr and "ZeroDivisionError" in proc.stderr
    assert "orörd" in proc.stderr
    assert tree_digest(project.book) == before
    assert not list((project.root / "_build" / "2020").glob("stage-*")), "halvfärdig stage ligger kvar"


# --- Quarto, where it is installed ----------------------------------------------------------------


@pytest.mark.skipif(shutil.which("quarto") is None, reason="quarto finns inte på PATH (Quarto-vägen provas där det finns)")
def test_quarto_render(tmp_path):
    project = make_project(tmp_path / "p")
    proc = project.genomlysning("render", "--year", "2020", "--renderer", "quarto")
    assert "Quarto" in proc.stdout
    assert (project.book / "index.html").is_file()
    assert list(project.book.rglob("*.pdf"))
    m = json.loads((project.book / "manifest.json").read_text(encoding="utf-8"))
    assert m["renderer"]["name"] == "quarto"
    pages = " ".join(html_text(p) for p in project.book.rglob("*.html"))
    for title in chapter_titles():
        assert title in pages


def test_project_root_is_the_checkout():
    assert (PATHS.root / "_quarto.yml").is_file()
