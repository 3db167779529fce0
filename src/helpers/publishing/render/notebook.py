"""Executed Jupyter notebook → Pandoc Markdown, honouring Quarto's cell options.

This is the join between the executed chapter notebooks and pandoc in the built-in renderer. It
does the part of Quarto's Jupyter engine that the report needs, on already executed notebooks:

* ``#|`` cell options (YAML) are read from the top of each code cell: ``label``, ``fig-cap``,
  ``fig-alt``, ``tbl-cap``, ``include`` and ``output``; code is never shown (``echo: false``);
* cells tagged ``parameters`` / ``injected-parameters`` and cells with ``include: false`` vanish;
* outputs: ``text/markdown`` as Markdown, images as files under ``media_dir`` (SVG before PNG), ``text/plain``
  results and stdout as literal blocks; stderr (warnings) is dropped;
* a cell labelled ``fig-…`` becomes a fenced div ``::: {#fig-… fig-cap=… fig-alt=…}`` around its
  image and a cell labelled ``tbl-…`` a div around its table, which ``crossref.lua`` turns into
  numbered figures and tables with captions and cross-references.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import nbformat
import yaml

_OPTION_RE = re.compile(r"^#\|\s?(.*)$")
_HIDDEN_TAGS = {"parameters", "injected-parameters", "remove-cell"}
# In order of preference: a figure's SVG (crisp at any width in the HTML, a vector in the typst
# PDF) before its PNG fallback (see helpers.publishing.theme.FigureImage).
_IMAGE_TYPES = {"image/svg+xml": "svg", "image/png": "png", "image/jpeg": "jpg"}


class NotebookError(ValueError):
    """A chapter notebook that cannot be rendered (names the notebook and the cell)."""


def cell_options(source: str) -> tuple[dict[str, Any], str]:
    """Split a code cell into its ``#|`` options (parsed as YAML) and the remaining code."""
    lines = source.splitlines()
    opts: list[str] = []
    for line in lines:
        m = _OPTION_RE.match(line)
        if not m:
            break
        opts.append(m.group(1))
    try:
        parsed = yaml.safe_load("\n".join(opts)) if opts else {}
    except yaml.YAMLError as e:
        raise NotebookError(f"ogiltiga cellalternativ (#|): {e}") from e
    if parsed is None:
        parsed = {}
    if not isinstance(parsed, dict):
        raise NotebookError(f"cellalternativen (#|) ska vara nyckel: värde, fick {parsed!r}")
    return parsed, "\n".join(lines[len(opts):])


def _attr(value: str) -> str:
    """A Pandoc attribute value in double quotes."""
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def _text(data: Any) -> str:
    return "".join(data) if isinstance(data, list) else str(data)


def _fence(text: str, cls: str = "output") -> str:
    ticks = "`" * max(3, max((len(m) for m in re.findall(r"`+", text)), default=0) + 1)
    return f"{ticks} {{.{cls}}}\n{text.rstrip()}\n{ticks}"


def notebook_to_markdown(path: Path, media_dir: Path, media_prefix: str) -> str:
    """Convert the executed notebook at ``path`` to Pandoc Markdown.

    Images are written to ``media_dir`` and referenced as ``media_prefix/<name>``.
    """
    nb = nbformat.read(path, as_version=4)
    media_dir.mkdir(parents=True, exist_ok=True)
    parts: list[str] = []
    for i, cell in enumerate(nb.cells, start=1):
        tags = set(cell.get("metadata", {}).get("tags", []))
        if tags & _HIDDEN_TAGS:
            continue
        if cell.cell_type == "markdown":
            parts.append(cell.source.strip())
            continue
        if cell.cell_type != "code":
            continue
        try:
            opts, _code = cell_options(cell.source)
        except NotebookError as e:
            raise NotebookError(f"{path.name}, cell {i}: {e}") from e
        if opts.get("include") is False or opts.get("output") is False:
            continue
        label = str(opts.get("label") or "")
        body: list[str] = []
        for j, out in enumerate(cell.get("outputs", []), start=1):
            kind = out.get("output_type")
            if kind == "error":
                raise NotebookError(f"{path.name}, cell {i}: cellen slutade med fel {out.get('ename')}: {out.get('evalue')}")
            if kind == "stream":
                if out.get("name") == "stdout" and _text(out.get("text", "")).strip():
                    body.append(_fence(_text(out["text"])))
                continue
            data = out.get("data", {})
            if "text/markdown" in data:
                body.append(_text(data["text/markdown"]).strip())
            elif image := next((m for m in _IMAGE_TYPES if m in data), None):
                name = f"{label or f'cell{i}'}-{j}.{_IMAGE_TYPES[image]}" if not label else f"{label}.{_IMAGE_TYPES[image]}"
                raw = _text(data[image])
                content = raw.encode() if image == "image/svg+xml" else base64.b64decode(raw)
                (media_dir / name).write_bytes(content)
                body.append(f"![]({media_prefix}/{name})")
            elif "text/plain" in data:
                body.append(_fence(_text(data["text/plain"])))
        if not body:
            continue
        if label.startswith(("fig-", "tbl-")):
            kind = label[:3]
            cap = opts.get(f"{kind}-cap", "")
            attrs = [f"#{label}", f".{kind}-float", f"caption={_attr(cap)}"]
            if kind == "fig" and opts.get("fig-alt"):
                attrs.append(f"alt={_attr(opts['fig-alt'])}")
            parts.append(f"::: {{{' '.join(attrs)}}}\n" + "\n\n".join(body) + "\n:::")
        else:
            parts.append("\n\n".join(body))
    return "\n\n".join(p for p in parts if p) + "\n"


def notebook_metadata(path: Path) -> dict[str, Any]:
    """The notebook's papermill parameters (as executed), for the manifest."""
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    return nb.get("metadata", {}).get("papermill", {}).get("parameters", {})
