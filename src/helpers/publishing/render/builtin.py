"""The built-in renderer: the staged Quarto book → HTML book + PDF, with pandoc and typst.

Used when the Quarto CLI is not installed. It reads the same staged project as Quarto
(``_quarto.yml``, ``_variables.yml``, ``index.qmd``, executed chapter notebooks, appendices) and
never executes code. The work is done by real tools from PyPI:

* :mod:`helpers.publishing.render.notebook` turns each executed notebook into Pandoc Markdown, honouring the
  cell options (``label``, ``fig-cap``, ``fig-alt``, ``tbl-cap``, ``include``); ``.qmd`` parts get
  their ``{{< var … >}}`` and ``{{< include … >}}`` shortcodes expanded;
* pandoc (``pypandoc-binary``) joins the parts, numbers chapters, figures and tables and resolves
  cross-references (``crossref.lua``), resolves citations (``--citeproc`` with the book's
  bibliography and CSL) and writes a multi-page HTML book (``chunkedhtml``, one page per chapter,
  ``book.html`` template) and a typst document (``book.typ`` template);
* typst (PyPI ``typst``) compiles the PDF.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from helpers.publishing.render.notebook import notebook_to_markdown

_VAR_RE = re.compile(r"\{\{<\s*var\s+([\w.-]+)\s*>\}\}")
_INCLUDE_RE = re.compile(r"^\{\{<\s*include\s+(\S+)\s*>\}\}[ \t]*$", re.MULTILINE)
_FRONT_MATTER_RE = re.compile(r"\A---\n.*?\n---\n", re.DOTALL)
_H1_RE = re.compile(r"^# (.+?)(?:\s*\{([^}]*)\})?\s*$", re.MULTILINE)

PDF_NAME = "Genomlysning-Barn-och-unga.pdf"


class RenderError(RuntimeError):
    pass


def _asset(name: str) -> Path:
    return Path(str(resources.files("helpers.publishing.render") / name))


def pandoc_path() -> str:
    import pypandoc

    return pypandoc.get_pandoc_path()


def versions() -> dict[str, str]:
    import pypandoc
    import typst

    return {"pandoc": pypandoc.get_pandoc_version(), "typst-py": getattr(typst, "__version__", "?")}


def _lookup(variables: dict[str, Any], dotted: str) -> str:
    value: Any = variables
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            raise RenderError(f"okänd variabel {{{{< var {dotted} >}}}} (saknas i _variables.yml)")
        value = value[part]
    return str(value)


def expand_shortcodes(text: str, base: Path, variables: dict[str, Any]) -> str:
    """Expand Quarto's ``var`` and ``include`` shortcodes (the only ones the book uses)."""

    def include(m: re.Match) -> str:
        path = base / m.group(1)
        if not path.is_file():
            raise RenderError(f"{{{{< include {m.group(1)} >}}}}: {path} finns inte")
        return expand_shortcodes(path.read_text(encoding="utf-8"), path.parent, variables)

    text = _INCLUDE_RE.sub(include, text)
    return _VAR_RE.sub(lambda m: _lookup(variables, m.group(1)), text)


def _mark_appendix(md: str) -> str:
    """Add the class ``appendix`` to the level-1 header(s) of an appendix part."""

    def mark(m: re.Match) -> str:
        attrs = (m.group(2) or "").strip()
        if "unnumbered" in attrs or attrs.strip() == "-":
            return m.group(0)
        return f"# {m.group(1)} {{{(attrs + ' ') if attrs else ''}.appendix}}"

    return _H1_RE.sub(mark, md)


def _part_to_markdown(path: Path, work: Path, variables: dict[str, Any]) -> str:
    if path.suffix == ".ipynb":
        md = notebook_to_markdown(path, work / "media", "media")
        return expand_shortcodes(md, path.parent, variables)
    text = path.read_text(encoding="utf-8")
    text = _FRONT_MATTER_RE.sub("", text, count=1)
    return expand_shortcodes(text, path.parent, variables)


def _run(cmd: list[str], cwd: Path) -> str:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RenderError(f"{Path(cmd[0]).name} misslyckades ({proc.returncode}):\n{proc.stderr.strip()}")
    return proc.stderr


def book_parts(config: dict[str, Any]) -> tuple[list[str], list[str]]:
    book = config.get("book", {})
    chapters = [c if isinstance(c, str) else c["href"] for c in book.get("chapters", [])]
    appendices = [c if isinstance(c, str) else c["href"] for c in book.get("appendices", [])]
    return chapters, appendices


def render(stage: Path, out_dir: Path, *, synthetic: bool, footer_note: str = "", provenance: str = "",
           timestamp: int | None = None) -> dict[str, Any]:
    """Render the staged book in ``stage`` into ``out_dir`` (HTML pages + PDF).

    ``timestamp`` (UNIX seconds) is the PDF's creation date (typst's ``--creation-timestamp``,
    like ``SOURCE_DATE_EPOCH``); without it typst takes the clock time and no two PDFs are alike.

    Returns ``{"html": index path, "pdf": pdf path, "warnings": [...]}``.
    """
    stage = Path(stage)
    out_dir = Path(out_dir)
    config = yaml.safe_load((stage / "_quarto.yml").read_text(encoding="utf-8"))
    variables_file = stage / "_variables.yml"
    variables = yaml.safe_load(variables_file.read_text(encoding="utf-8")) if variables_file.is_file() else {}
    book = config.get("book", {})
    work = stage / "_builtin"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)

    chapters, appendices = book_parts(config)
    pieces = []
    for rel in chapters:
        pieces.append(_part_to_markdown(stage / rel, work, variables))
    for rel in appendices:
        pieces.append(_mark_appendix(_part_to_markdown(stage / rel, work, variables)))

    crossref = config.get("crossref", {})
    meta = {
        "title": book.get("title", ""),
        "subtitle": book.get("subtitle", ""),
        "author": book.get("author", ""),
        "date": str(book.get("date", "")),
        "lang": config.get("lang", "sv"),
        "crossref": crossref,
        "link-citations": True,
        "toc-title": "Innehåll",
        "reference-section-title": "Referenser",
    }
    header = "---\n" + yaml.safe_dump(meta, allow_unicode=True, sort_keys=False) + "---\n\n"
    (work / "book.md").write_text(header + "\n\n".join(pieces), encoding="utf-8")

    # Resources that the pages link to: figure and table data, the key figures, the CSS.
    for sub in ("figures", "tables"):
        for src in sorted(stage.glob(f"notebooks/{sub}/*.csv")):
            (work / sub).mkdir(exist_ok=True)
            shutil.copy2(src, work / sub / src.name)
    common = [
        "book.md",
        "--from=markdown",
        f"--lua-filter={_asset('crossref.lua')}",
        "--citeproc",
        f"--resource-path={work}:{stage}",
    ]
    bib = config.get("bibliography")
    if bib:
        common.append(f"--bibliography={stage / bib}")
    if config.get("csl"):
        common.append(f"--csl={stage / config['csl']}")

    pandoc = pandoc_path()
    warnings: list[str] = []
    html_dir = work / "html"
    css = [c for c in [config.get("format", {}).get("html", {}).get("css")] if c]
    for c in css:
        (work / Path(c).name).write_bytes((stage / c).read_bytes())
    banner = stage / "assets" / "_banner.html"
    warnings.append(_run(
        [pandoc, *common, "--to=chunkedhtml", "--split-level=1", "--chunk-template=%i.html",
         "--toc", "--toc-depth=2", f"--template={_asset('book.html')}", "--standalone",
         *[f"--css={Path(c).name}" for c in css],
         *([f"--include-before-body={banner}"] if banner.is_file() and banner.read_text(encoding="utf-8").strip() else []),
         f"--variable=provenance:{provenance}", f"--variable=footer-note:{footer_note}",
         f"--output={html_dir}"],
        work,
    ))
    for c in css:
        shutil.copy2(work / Path(c).name, html_dir / Path(c).name)
    for sub in ("figures", "tables"):
        if (work / sub).is_dir():
            shutil.copytree(work / sub, html_dir / sub, dirs_exist_ok=True)

    typ = work / "book.typ"
    warnings.append(_run(
        [pandoc, *common, "--to=typst", f"--template={_asset('book.typ')}", "--standalone",
         *(["--variable=synthetic:true"] if synthetic else []),
         f"--variable=footer-note:{footer_note}", f"--variable=provenance:{provenance}",
         f"--output={typ}"],
        work,
    ))
    import typst

    pdf = html_dir / PDF_NAME
    try:
        typst.compile(str(typ), output=str(pdf), root=str(work),
                      **({"timestamp": int(timestamp)} if timestamp is not None else {}))
    except Exception as e:  # typst raises its own error type with the source position
        raise RenderError(f"typst misslyckades med {typ}:\n{e}") from e

    out_dir.mkdir(parents=True, exist_ok=True)
    for item in html_dir.iterdir():
        target = out_dir / item.name
        if item.is_dir():
            shutil.copytree(item, target, dirs_exist_ok=True)
        else:
            shutil.copy2(item, target)
    return {
        "html": out_dir / "index.html",
        "pdf": out_dir / PDF_NAME,
        "warnings": [w.strip() for w in warnings if w and w.strip()],
    }
