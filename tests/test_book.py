"""The book's sources: `_quarto.yml` as a Quarto book, the chapters' cell options, citations, and
the pieces of the built-in renderer (notebook → Markdown, shortcodes, cross-references)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import nbformat
import pytest
import yaml

from helpers.build import chapter_notebooks, key_figures_markdown, published_key_figures
from helpers.config import PATHS
from helpers.publishing.render import builtin
from helpers.publishing.render.notebook import NotebookError, cell_options, notebook_to_markdown

CONFIG = yaml.safe_load((PATHS.root / "_quarto.yml").read_text(encoding="utf-8"))


# --- _quarto.yml ----------------------------------------------------------------------------------


def test_quarto_book_configuration():
    assert CONFIG["project"]["type"] == "book"
    assert CONFIG["lang"] == "sv"
    assert (PATHS.root / CONFIG["bibliography"]).is_file()
    assert (PATHS.root / CONFIG["csl"]).is_file()
    assert {"html", "pdf"} <= set(CONFIG["format"])
    assert CONFIG["execute"]["enabled"] is False and CONFIG["execute"]["echo"] is False
    chapters = CONFIG["book"]["chapters"]
    assert chapters[0] == "index.qmd"
    for part in chapters + CONFIG["book"]["appendices"]:
        assert (PATHS.root / part).is_file(), f"_quarto.yml listar {part}, som inte finns"
    include = CONFIG["format"]["html"]["include-before-body"]
    for path in [include] if isinstance(include, str) else include:
        assert (PATHS.root / path).is_file()
    assert (PATHS.root / CONFIG["format"]["pdf"]["include-in-header"]).is_file()
    assert CONFIG["crossref"]["fig-title"] == "Figur" and CONFIG["crossref"]["tbl-title"] == "Tabell"


#: Direction and strength words that only computed prose may use (static text describes, never concludes).
FINDING_WORDS = re.compile(r"\b(ökade|ökat|ökar|ökning\w*|minskade|minskat|minskar|minskning\w*|högst|lägst|flest|"
                           r"de flesta|nästan alla|nästan alltid|majoriteten|hälften|vanligast\w*|oftast|störst)\b")


def test_every_chapter_notebook_is_in_the_book():
    listed = {p.name for p in chapter_notebooks()}
    on_disk = {p.name for p in (PATHS.root / "notebooks").glob("*.ipynb")}
    assert listed == on_disk, "varje kapitel i notebooks/ ska stå i _quarto.yml (och tvärtom)"


@pytest.mark.parametrize("nb_path", sorted((PATHS.root / "notebooks").glob("*.ipynb")), ids=lambda p: p.name)
def test_chapter_notebook_conventions(nb_path: Path):
    nb = nbformat.read(nb_path, as_version=4)
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1, "exakt en cell ska vara taggad parameters"
    assert {"year", "processed_dir", "output_dir"} <= set(re.findall(r"^(\w+)\s*=", params[0].source, re.M))
    for c in nb.cells:
        if c.cell_type == "code":
            assert not c.get("outputs") and c.get("execution_count") is None, "utdata ska vara strippade i git"
    labels = []
    for c in nb.cells:
        if c.cell_type != "code":
            continue
        opts, _ = cell_options(c.source)
        label = opts.get("label", "")
        if label.startswith("fig-"):
            assert opts.get("fig-cap") and opts.get("fig-alt"), f"{label} saknar fig-cap eller fig-alt"
            assert f'"{label}"' in c.source, f"{label}: cellen ska publicera figuren under samma etikett"
        if label.startswith("tbl-"):
            assert opts.get("tbl-cap"), f"{label} saknar tbl-cap"
        if label:
            labels.append(label)
    assert len(labels) == len(set(labels))
    text = "\n".join(c.source for c in nb.cells)
    static = [c.source for c in nb.cells if c.cell_type == "markdown"]
    for c in nb.cells:
        if c.cell_type == "code":
            opts, _ = cell_options(c.source)
            static += [str(opts[k]) for k in ("fig-cap", "fig-alt", "tbl-cap") if k in opts]
    for s in static:  # a sentence that cites a source reports that source's finding
        own = " ".join(x for x in re.split(r"(?<=[.!?])\s+", s) if "[@" not in x)
        found = FINDING_WORDS.findall(own.lower())
        assert not found, f"statisk text drar slutsatser ({found}): {s[:80]!r}"
    for ref in set(re.findall(r"@((?:fig|tbl)-[\w-]+)", text)):
        assert ref in labels, f"hänvisning till @{ref} som inte finns"


def test_labels_and_section_ids_are_unique_across_the_book():
    """A figure, table or section id used by two chapters breaks the cross-references (typst refuses
    the PDF; Quarto links to the first)."""
    seen: dict[str, str] = {}
    clashes = []
    for nb_path in chapter_notebooks():
        nb = nbformat.read(nb_path, as_version=4)
        ids = set()
        for c in nb.cells:
            if c.cell_type == "code":
                opts, _ = cell_options(c.source)
                if opts.get("label"):
                    ids.add(str(opts["label"]))
            else:
                ids |= set(re.findall(r"\{#((?:sec|fig|tbl)-[\w-]+)\}", c.source))
        for i in ids:
            if i in seen:
                clashes.append(f"{i}: {seen[i]} och {nb_path.name}")
            seen[i] = nb_path.name
    assert not clashes, clashes


def test_citations_exist_in_the_bibliography():
    bib = (PATHS.root / "references.bib").read_text(encoding="utf-8")
    keys = set(re.findall(r"@\w+\{([^,\s]+),", bib))
    sources = [p.read_text(encoding="utf-8") for p in PATHS.root.glob("*.qmd")]
    sources += [p.read_text(encoding="utf-8") for p in (PATHS.root / "appendix").glob("*.qmd")]
    sources += ["\n".join(c.source for c in nbformat.read(p, as_version=4).cells if c.cell_type == "markdown")
                for p in chapter_notebooks()]
    cited = {k for s in sources for k in re.findall(r"(?<![\w.])@([a-z][\w-]*\d{4}[a-z]?)", s)}
    assert cited, "inga källhänvisningar hittades"
    assert cited <= keys, f"saknas i references.bib: {sorted(cited - keys)}"


# --- notebook → Markdown ---------------------------------------------------------------------------


def test_cell_options_parse_yaml():
    opts, code = cell_options('#| label: fig-x\n#| fig-cap: "A: b"\nprint(1)')
    assert opts == {"label": "fig-x", "fig-cap": "A: b"} and code == "print(1)"
    assert cell_options("x = 1") == ({}, "x = 1")
    with pytest.raises(NotebookError):
        cell_options("#| label: [unclosed\nx = 1")


def _executed_notebook(tmp_path: Path) -> Path:
    png = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Kapitel {#sec-k}\n\nText."),
        nbformat.v4.new_code_cell("year = 2020", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("#| include: false\nimport x"),
        nbformat.v4.new_code_cell("#| label: fig-a\n#| fig-cap: \"Bild a\"\n#| fig-alt: \"Alt a\"\nplot()"),
        nbformat.v4.new_code_cell("#| label: tbl-b\n#| tbl-cap: Tabell b\ntable()"),
        nbformat.v4.new_code_cell("pub.text()"),
    ]
    nb.cells[2].outputs = [nbformat.v4.new_output("display_data", {"text/markdown": "HEMLIG", "text/plain": "x"})]
    nb.cells[3].outputs = [nbformat.v4.new_output("display_data", {"image/png": png, "text/plain": "<Figure>"})]
    nb.cells[4].outputs = [nbformat.v4.new_output("display_data", {"text/markdown": "| a |\n|--:|\n| 1 |", "text/plain": "x"})]
    nb.cells[5].outputs = [nbformat.v4.new_output("stream", name="stderr", text="Warning"),
                           nbformat.v4.new_output("display_data", {"text/markdown": "Se @fig-a och @tbl-b.", "text/plain": "x"})]
    path = tmp_path / "k.ipynb"
    nbformat.write(nb, path)
    return path


def test_notebook_to_markdown(tmp_path):
    md = notebook_to_markdown(_executed_notebook(tmp_path), tmp_path / "media", "media")
    assert "year = 2020" not in md and "HEMLIG" not in md and "Warning" not in md and "plot()" not in md
    assert '::: {#fig-a .fig-float caption="Bild a" alt="Alt a"}\n![](media/fig-a.png)\n:::' in md
    assert (tmp_path / "media" / "fig-a.png").read_bytes().startswith(b"\x89PNG")
    assert '::: {#tbl-b .tbl-float caption="Tabell b"}' in md
    assert "Se @fig-a och @tbl-b." in md


def test_crossref_filter_numbers_and_links(tmp_path):
    md = notebook_to_markdown(_executed_notebook(tmp_path), tmp_path / "media", "media")
    doc = "# Förord {.unnumbered}\n\nInledning.\n\n" + md + "\n\n# Bilaga {#sec-bilaga .appendix}\n\nSe @sec-k och @fig-x.\n"
    proc = subprocess.run([builtin.pandoc_path(), "-f", "markdown", "-t", "html",
                           f"--lua-filter={builtin._asset('crossref.lua')}"],
                          input=doc, capture_output=True, text=True, cwd=tmp_path, check=True)
    html = re.sub(r"[ \t\n]+", " ", proc.stdout)
    assert '<span class="header-section-number">1</span> Kapitel' in html
    assert '<span class="header-section-number">A</span> Bilaga' in html
    assert "<strong>Figur\u00a01.1:</strong> Bild a" in html
    assert 'alt="Alt a"' in html
    assert "<strong>Tabell\u00a01.1:</strong> Tabell b" in html and '<table id="tbl-b"' in html
    assert '<a href="#fig-a">figur\u00a01.1</a> och <a href="#tbl-b">tabell\u00a01.1</a>' in html
    assert '<a href="#sec-k">kapitel\u00a01</a>' in html
    assert "?@fig-x" in html and "okänd hänvisning @fig-x" in proc.stderr


# --- shortcodes and the key-figure appendix --------------------------------------------------------


def test_shortcodes(tmp_path):
    (tmp_path / "_inc.md").write_text("inkluderad {{< var report.year >}}", encoding="utf-8")
    out = builtin.expand_shortcodes("År {{< var report.year >}}.\n{{< include _inc.md >}}\n", tmp_path, {"report": {"year": 2020}})
    assert out == "År 2020.\ninkluderad 2020\n"
    with pytest.raises(builtin.RenderError, match="report.saknas"):
        builtin.expand_shortcodes("{{< var report.saknas >}}", tmp_path, {"report": {}})


def test_key_figures_markdown_uses_swedish_numbers():
    import pandas as pd

    kf = pd.DataFrame([
        {"id": "a_total", "chapter": "inflode", "year": 2020, "value": 5000, "unit": "count", "label": "Totalt"},
        {"id": "a_share", "chapter": "inflode", "year": 2020, "value": 48.43, "unit": "percent", "label": "Andel | x"},
        {"id": "a_year", "chapter": "inflode", "year": 2020, "value": 2018, "unit": "year", "label": "Sedan"},
    ])
    md = key_figures_markdown(kf, {"inflode": "Inflöde"})
    assert "## Inflöde {.unnumbered}" in md
    assert "| `a_total` Totalt | 2020 | 5\u00a0000 | antal |" in md
    assert "| `a_share` Andel \\| x | 2020 | 48,4 | procent |" in md
    assert "| `a_year` Sedan | 2020 | 2018 | år |" in md
    assert ": Nyckeltal i kapitlet Inflöde" in md


def test_published_key_figures_follow_the_chapters_status():
    import pandas as pd

    kf = pd.DataFrame([
        {"id": "few", "chapter": "inflode", "year": 2018, "value": 2, "unit": "count", "label": "Få", "status": "<5"},
        {"id": "zero", "chapter": "inflode", "year": 2018, "value": 0, "unit": "count", "label": "Noll", "status": ""},
        {"id": "other", "chapter": "inflode", "year": 2018, "value": 7, "unit": "count", "label": "Sju", "status": "x"},
        {"id": "pct", "chapter": "inflode", "year": 2018, "value": 31.25, "unit": "percent", "label": "Andel",
         "status": ""},
        {"id": "pct_few", "chapter": "inflode", "year": 2018, "value": 0.6, "unit": "percent", "label": "Andel",
         "status": "x"},
    ])
    pub = published_key_figures(kf).set_index("id")
    assert pub["value"].isna().tolist() == [True, False, True, False, True]
    assert str(pub.loc["pct", "value"]) == "31.3"
    assert pub.loc["few", "forklaring"] == "färre än 5"
    md = key_figures_markdown(kf)
    assert "| `few` Få | 2018 | \\<5 | antal |" in md and "färre än fem, redovisas inte" in md
    assert "| `other` Sju | 2018 | x | antal |" in md and "| `pct_few` Andel | 2018 | x | procent |" in md
    assert "| `zero` Noll | 2018 | 0 | antal |" in md
    assert "| `pct` Andel | 2018 | 31,3 | procent |" in md


def test_the_about_appendix_only_describes():
    about = (PATHS.root / "appendix" / "om-statistiken.qmd").read_text(encoding="utf-8")
    assert about.startswith("# Om statistiken {#sec-om-statistiken}")
    for include in ("_audit.md", "_data_info.md"):
        assert f"{{{{< include {include} >}}}}" in about
    for term in ("Aktualisering", "Kronologiska pärmen", "Service", "Utsatta områden", "Polismyndighetens",
                 "strukturuttaget", "Treserva", "negativ binomialmodell", "linjärprogrammering", "`<5`",
                 "färre än fem", "nämnaren är minst 20", "mars", "CHANGELOG.md", "report.publisher",
                 "@socialstyrelsen_covid"):
        assert term in about, term
    appendices = CONFIG["book"]["appendices"]
    assert appendices.index("appendix/om-statistiken.qmd") < appendices.index("appendix/referenser.qmd")
    bib = (PATHS.root / "references.bib").read_text(encoding="utf-8")
    for key in re.findall(r"@([a-z][\w-]+)", about):
        assert f"{{{key}," in bib, key
