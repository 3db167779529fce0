"""The one publishing path for the figures, tables, key figures and computed prose of every chapter.

Every number that leaves a chapter notebook goes through a :class:`Publisher`, which

* runs disclosure control once per chapter (:meth:`Publisher.protect`, see
  :mod:`helpers.analysis.disclosure`) over every count the chapter registered, and from then on hands out
  only protected values: views of tables (:meth:`Publisher.view`), counts and shares for the prose
  (:meth:`Publisher.n`, :meth:`Publisher.pct`) and key figures;
* draws figures in the report's one theme (:func:`setup_theme`) with title, source line and an
  explanation of the marks (``<5``: a count 1–4; ``x``: hidden so that others cannot be derived),
  hidden bars marked, never drawn as zero (:func:`barh`);
* writes PNG + SVG + CSV of each figure, the CSV of each table (with a column saying why a value
  is missing), ``key_figures_<chapter>.csv``, ``disclosure_<chapter>.json``,
  ``publications_<chapter>.json`` (every published count and its cell, for the build's audit),
  ``claims_<chapter>.json`` and ``headlines_<chapter>.json``, each file atomically;
* shows the result as the cell's only output (an image or a Markdown pipe table), which Quarto
  picks up with the cell's ``#| label: fig-…`` / ``tbl-…`` and caption options.
"""

from __future__ import annotations

import csv
import io
import json
import math
import numbers
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from helpers.analysis.disclosure import MIN_CELL, CellSet, Protected
from helpers.config import PATHS
from helpers.publishing import fmt
from helpers.publishing.files import _atomic_write, _csv_bytes
from helpers.publishing.phrasing import ClaimLog
from helpers.publishing.theme import (
    FIGSIZE,
    NOTE_PT,
    PNG_DPI,
    SOURCE_COLOR,
    SVG_HASHSALT,
    FigureImage,
    barh,
    setup_theme,
)
from helpers.publishing.views import (
    CELL_SUFFIX,
    EXPLAIN,
    HIDDEN,
    STATUS_SUFFIX,
    SUPPRESSED,
    _check_numeric_columns,
    _count_columns,
    _meta_columns,
    _published_csv,
    _rename_view,
    csv_header,
    markdown_table,
    suppression_note,
    symbols_used,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["EXPLAIN", "MIN_CELL", "Publisher", "PublishedData", "barh", "markdown_table", "setup_theme"]

SYNTHETIC_NOTE = "Syntetiska demodata."

KEY_FIGURE_UNITS = ("count", "percent", "ratio", "per_1000", "kr", "tkr", "mnkr", "kr_per_invanare", "percentage_points", "year")
KEY_FIGURE_COLUMNS = ["id", "chapter", "year", "value", "unit", "label", "status", "data_cutoff"]

_LABEL_RE = {
    prefix: re.compile(rf"^{prefix}-[A-Za-z0-9][A-Za-z0-9_-]*$") for prefix in ("fig", "tbl")
}
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")

class PublishedData(pd.DataFrame):
    """The protected data returned by :meth:`Publisher.figure` and :meth:`Publisher.table`.

    A plain DataFrame except that, as the last expression of a notebook cell, it shows nothing:
    the published figure or table stays the cell's only output. Derived frames (``.head()``,
    selections) are ordinary DataFrames again.
    """

    @property
    def _constructor(self):  # noqa: ANN202 - pandas protocol
        return pd.DataFrame

    def _ipython_display_(self) -> None:
        return None



def _check_label(label: str, prefix: str) -> None:
    if not isinstance(label, str) or not _LABEL_RE[prefix].match(label):
        raise ValueError(
            f"etiketten {label!r} måste börja med '{prefix}-' och bara innehålla bokstäver a–z, "
            "siffror, '-' och '_' (den blir både Quarto-etikett och filnamn)"
        )



# --- Publisher ----------------------------------------------------------------------------------


class Publisher:
    """Publishes the figures, tables, key figures and prose of one chapter for one report year.

    Disclosure control: the chapter registers every count it will publish in one
    :class:`~helpers.analysis.disclosure.CellSet` and calls :meth:`protect` once; from then on figures,
    tables, key figures and prose read only the protected values, through :meth:`view` (frames),
    :meth:`n` and :meth:`pct` (prose) and :meth:`key_figure`. Shares are always given as two
    cells (numerator, denominator), so a share can never be published without the protection
    step knowing its parts. Every count published in a data file is logged with its cell in
    ``publications_<chapter>.json``, which the build's audit checks against the files.

    ``output_dir`` is the folder of the executed notebook (the build passes it; a notebook run on
    its own in Jupyter or by nbval writes to ``PATHS.build_year(year) / "interactive"``). Figures
    go to ``output_dir/figures/``, tables to ``output_dir/tables/``; every figure is also copied to
    ``figures_dir`` (default ``figures/<year>/`` when run on its own, nowhere in a build, which
    exports the figures of a successful render). ``synthetic`` (from the data manifest) adds
    "Syntetiska demodata." to every figure's source line.
    """

    def __init__(
        self,
        chapter: str,
        year: int,
        output_dir: Path | str | None = None,
        *,
        figures_dir: Path | str | None = None,
        synthetic: bool = True,
    ) -> None:
        if not isinstance(chapter, str) or not _NAME_RE.match(chapter):
            raise ValueError(f"ogiltigt kapitelnamn {chapter!r} (bokstäver, siffror, '_', '-')")
        self.chapter = chapter
        self.year = int(year)
        self.output_dir = (
            Path(output_dir) if output_dir else PATHS.build_year(self.year) / "interactive"
        )
        if figures_dir:
            self.figures_dir: Path | None = Path(figures_dir)
        elif output_dir:
            self.figures_dir = None
        else:
            self.figures_dir = PATHS.figures / str(self.year)
        self.synthetic = bool(synthetic)
        self.prot: Protected | None = None
        self._key_figures: dict[str, dict[str, Any]] = {}
        self._publications: list[dict[str, Any]] = []
        self._text_cells: list[str] = []
        self.claims = ClaimLog()

    # -- paths --

    @property
    def key_figures_path(self) -> Path:
        return self.output_dir / f"key_figures_{self.chapter}.csv"

    @property
    def disclosure_path(self) -> Path:
        return self.output_dir / f"disclosure_{self.chapter}.json"

    @property
    def publications_path(self) -> Path:
        return self.output_dir / f"publications_{self.chapter}.json"

    @property
    def claims_path(self) -> Path:
        return self.output_dir / f"claims_{self.chapter}.json"

    @property
    def headlines_path(self) -> Path:
        return self.output_dir / f"headlines_{self.chapter}.json"

    def figure_paths(self, label: str) -> dict[str, Path]:
        """The files of figure ``label`` next to the notebook (``png``, ``svg``, ``csv``)."""
        return {
            ext: self.output_dir / "figures" / f"{label}.{ext}" for ext in ("png", "svg", "csv")
        }

    def table_path(self, label: str) -> Path:
        return self.output_dir / "tables" / f"{label}.csv"

    def source_line(self, source: str) -> str:
        """The source line under a figure: ``source`` plus the synthetic-data note if applicable."""
        text = source.strip()
        if self.synthetic:
            if text and not text.endswith((".", "!", "?")):
                text += "."
            text = f"{text} {SYNTHETIC_NOTE}".strip()
        return text

    # -- disclosure control --

    def protect(self, cells: CellSet) -> Protected:
        """Protect every count of the chapter at once (primary, secondary, audit) and keep the result."""
        if self.prot is not None:
            raise RuntimeError("protect() körs en gång per kapitel, efter att alla tabeller registrerats")
        self.prot = cells.protect()
        self.prot.to_json(self.disclosure_path)
        return self.prot

    def _need_prot(self) -> Protected:
        if self.prot is None:
            raise RuntimeError("anropa Publisher.protect(cells) innan något publiceras")
        return self.prot

    def _mark(self, cell: str) -> str:
        st = self._need_prot().status(cell)
        return {"published": "", "primary": SUPPRESSED, "secondary": HIDDEN}[st]

    def view(
        self,
        df: pd.DataFrame,
        *,
        count: str = "antal",
        cell: str = "cell",
        den: str | None = None,
        share: str = "andel",
        interval: bool = False,
    ) -> pd.DataFrame:
        """A protected view of a tabulated frame (from :meth:`CellSet.tabulate`).

        ``count`` gets the protected values (NaN where hidden) with ``count|cell`` and
        ``count|status``. ``den`` adds the share ``share`` (percent) of each row: the name of a
        column holding the denominator's cell id, or one cell id for all rows. A share is shown
        only when both its cells are published and the denominator is at least
        :data:`~helpers.analysis.disclosure.MIN_DENOMINATOR`. ``interval=True`` adds its 95 % Wilson
        interval (``<share> lägre``, ``<share> övre``), hidden with the share.
        """
        from helpers.analysis import stats

        prot = self._need_prot()
        # The tabulated true counts ("antal") never pass into a view under another name.
        out = df.drop(columns=[c for c in (cell, "antal") if c in df.columns]).copy()
        ids = df[cell].astype(str).tolist()
        out[count] = [np.nan if prot.value(c) is None else float(prot.value(c)) for c in ids]
        out[f"{count}{CELL_SUFFIX}"] = ids
        out[f"{count}{STATUS_SUFFIX}"] = [self._mark(c) for c in ids]
        if den is not None:
            dens = df[den].astype(str).tolist() if den in df.columns else [den] * len(df)
            shares = [prot.share(k, n) for k, n in zip(ids, dens, strict=True)]
            out[share] = [np.nan if v is None else v for v in shares]
            # No share exists on a denominator of 0 ("–"); otherwise a missing share is hidden ("x").
            out[f"{share}{STATUS_SUFFIX}"] = ["" if v is not None or prot.value(n) == 0 else HIDDEN
                                              for v, n in zip(shares, dens, strict=True)]
            if interval:
                lows, highs = [], []
                for k, n, v in zip(ids, dens, shares, strict=True):
                    if v is None:
                        lows.append(np.nan)
                        highs.append(np.nan)
                        continue
                    w = stats.wilson(prot.value(k), prot.value(n))
                    lows.append(100 * w.low)
                    highs.append(100 * w.high)
                for name, vals in ((f"{share} lägre", lows), (f"{share} övre", highs)):
                    out[name] = vals
                    out[f"{name}{STATUS_SUFFIX}"] = out[f"{share}{STATUS_SUFFIX}"]
            if den in df.columns:
                out = out.drop(columns=[den])
        return out

    def value(self, cell: str) -> int | None:
        """The published value of a cell (``None`` when hidden)."""
        return self._need_prot().value(cell)

    def share_value(self, num: str, den: str) -> float | None:
        """The published share (percent) of two cells, ``None`` when it may not be shown."""
        return self._need_prot().share(num, den)

    def n(self, cell: str) -> str:
        """A count for the prose: the number, "färre än fem" (1–4) or "ett antal som inte redovisas"."""
        self._text_cells.append(cell)
        mark = self._mark(cell)
        if mark == SUPPRESSED:
            return "färre än fem"
        if mark == HIDDEN:
            return "ett antal som inte redovisas"
        return fmt.num(self.value(cell), 0)

    def pct(self, num: str, den: str, decimals: int = 1) -> str:
        """A share for the prose: "48,4 %", or "en andel som inte redovisas" when it may not be shown."""
        self._text_cells += [num, den]
        v = self.share_value(num, den)
        return "en andel som inte redovisas" if v is None else fmt.pct(v, decimals)

    def share_counts(self, num: str, den: str) -> tuple[int | None, int | None]:
        """``(numerator, denominator)`` for a claim about a share, or ``(None, None)`` when the
        share may not be shown (a hidden cell or a denominator under 20): the claim then says so."""
        if self.share_value(num, den) is None:
            return None, None
        return self.value(num), self.value(den)

    def shown(self, *cells: str) -> bool:
        """True when every cell is published (not hidden)."""
        return all(self.value(c) is not None for c in cells)

    def _log(self, artefact: str, kind: str, df: pd.DataFrame) -> None:
        entries = []
        d = df.reset_index(drop=True)
        for c in _count_columns(d):
            for i, (cid, v) in enumerate(zip(d[f"{c}{CELL_SUFFIX}"], d[c], strict=True)):
                if cid is None or cid == "" or (isinstance(cid, float) and math.isnan(cid)):
                    if not pd.isna(v):  # a count must come from a protected cell
                        raise ValueError(f"{artefact}: kolumnen {c!r} har ett antal utan skyddad uppgift på rad {i + 1}")
                    continue  # a row without a count in this column (e.g. a forecast year)
                entries.append({"row": i, "column": csv_header(c), "cell": str(cid)})
        self._publications.append({"artefact": artefact, "kind": kind, "cells": entries})
        self._write_publications()

    def _write_publications(self) -> None:
        pubs = [*self._publications]
        if self._text_cells:
            pubs.append({"artefact": "text", "kind": "text",
                         "cells": [{"row": None, "column": None, "cell": c} for c in dict.fromkeys(self._text_cells)]})
        _atomic_write(self.publications_path, json.dumps(pubs, ensure_ascii=False, indent=1).encode("utf-8"))

    # -- figures --

    def figure(
        self,
        label: str,
        data: pd.DataFrame,
        plot: Callable[[Axes, pd.DataFrame], Any],
        *,
        title: str,
        source: str,
        free: Sequence[str] = (),
        figsize: tuple[float, float] | None = None,
        display_width: int | None = None,
        decimals: int | Mapping[str, int] | None = None,
    ) -> PublishedData:
        """Draw a protected view with ``plot(ax, data)``, save and show the figure.

        ``data`` comes from :meth:`view`; numeric columns that are not protected counts or shares
        must be named in ``free`` (population, model estimates). ``plot`` gets a fresh ``Axes``
        (constrained layout, report theme) and a copy of the data; it may replace the axes with
        several. Title above, source line under the figure, and a line explaining the marks if
        any value is hidden. Writes ``<label>.png`` (300 dpi), ``<label>.svg`` (deterministic) and
        ``<label>.csv`` (the published data for Swedish Excel, rounded as displayed: ``decimals``
        as in :meth:`table`, with columns saying why a value is missing and what the data are) to
        ``output_dir/figures`` (and ``figures_dir``) and shows the figure as the cell's only output,
        as SVG (HTML), PDF (LaTeX) and PNG (fallback) in one display (:class:`FigureImage`).
        """
        import matplotlib as mpl
        import matplotlib.pyplot as plt

        _check_label(label, "fig")
        _check_numeric_columns(data, label, free)
        setup_theme()
        fig, ax = plt.subplots(figsize=figsize or FIGSIZE, layout="constrained")
        note = suppression_note(symbols_used(data)).strip("*").replace("\\", "")
        try:
            plot(ax, pd.DataFrame(data).copy())
            fig.suptitle(title, x=0.01, ha="left")
            foot = self.source_line(source) + (f"\n{note}" if note else "")
            fig.text(0.01, 0.0, foot, ha="left", va="top", fontsize=NOTE_PT, color=SOURCE_COLOR, wrap=True)
            images = {}
            with mpl.rc_context({"svg.hashsalt": SVG_HASHSALT}):
                for ext, extra in (("png", {}), ("svg", {"metadata": {"Date": None}}),
                                   ("pdf", {"metadata": {"CreationDate": None, "ModDate": None}})):
                    buf = io.BytesIO()
                    fig.savefig(buf, format=ext, dpi=PNG_DPI, bbox_inches="tight", pad_inches=0.1,
                                facecolor="white", **extra)
                    images[ext] = buf.getvalue()
            pdf = images.pop("pdf")  # only in the cell output, for Quarto's LaTeX PDF
        finally:
            plt.close(fig)
        images["csv"] = _csv_bytes(_published_csv(data, synthetic=self.synthetic, decimals=decimals))
        paths = self.figure_paths(label)
        for ext, content in images.items():
            _atomic_write(paths[ext], content)
            if self.figures_dir is not None:
                _atomic_write(self.figures_dir / f"{label}.{ext}", content)
        self._log(f"figures/{label}.csv", "figure", data)
        display(FigureImage(png=images["png"], svg=images["svg"], pdf=pdf, width=display_width))
        return PublishedData(data)

    # -- tables --

    def table(
        self,
        label: str,
        df: pd.DataFrame,
        *,
        columns: Mapping[str, str] | None = None,
        decimals: int | Mapping[str, int] | None = None,
        free: Sequence[str] = (),
        numbers: Sequence[str] = (),
    ) -> PublishedData:
        """Show a protected view as a Markdown table with Swedish numbers and write its CSV.

        ``columns`` maps the view's columns to the published headers, in order (others are
        dropped). Hidden values show their mark (``<5``, ``x``) and a note under the table
        explains the marks used. The data go to ``output_dir/tables/<label>.csv`` (for Swedish
        Excel, rounded as shown; see :func:`~helpers.publishing.views._published_csv`).
        ``numbers`` names protected columns that are not percentages (rates per 1 000, estimates
        hidden with their count): shown as plain numbers.
        """
        _check_label(label, "tbl")
        if columns is not None:
            keep = [c for c in df.columns if c in columns or any(
                c == f"{k}{suf}" for k in columns for suf in (CELL_SUFFIX, STATUS_SUFFIX))]
            df = _rename_view(df[keep], columns)
            df = df[[columns[c] for c in columns] + _meta_columns(df)]
        renamed_free = [columns.get(f, f) for f in free] if columns else list(free)
        _check_numeric_columns(df, label, renamed_free)
        _atomic_write(self.table_path(label),
                      _csv_bytes(_published_csv(df, synthetic=self.synthetic, decimals=decimals)))
        self._log(f"tables/{label}.csv", "table", df)
        text = markdown_table(df, decimals, [columns.get(c, c) for c in numbers] if columns else list(numbers))
        if note := suppression_note(symbols_used(df)):
            text += "\n\n" + note
        display(Markdown(text))
        return PublishedData(df)

    # -- key figures --

    def key_figure(
        self,
        id: str,  # noqa: A002
        unit: str,
        label: str,
        *,
        cell: str | None = None,
        share: tuple[str, str] | None = None,
        rate: tuple[str, float] | None = None,
        value: float | None = None,
        year: int | None = None,
        data_cutoff: str = "",
    ) -> float | None:
        """Record a key figure and return its published value (``None`` when hidden).

        Exactly one source: ``cell`` (a count), ``share=(numerator, denominator)`` (percent),
        ``rate=(cell, population)`` (per 1 000), or ``value`` (a number that is not a count or a
        share of counts: a model estimate, a year, a ratio of published totals). The chapter's
        file ``key_figures_<chapter>.csv`` (columns id, chapter, year, value, unit, label,
        status, data_cutoff) keeps the true value for the reproduction test; the build publishes
        it rounded as displayed, and empty where ``status`` is ``<5`` or ``x``. ``data_cutoff``
        labels figures that use data after the report year. Recording the same id again with the
        same value is a no-op; with another value it raises ``ValueError``. A share whose
        denominator is 0 does not exist and is not recorded.
        """
        if not isinstance(id, str) or not _NAME_RE.match(id):
            raise ValueError(f"ogiltigt id för nyckeltal: {id!r}")
        if unit not in KEY_FIGURE_UNITS:
            raise ValueError(f"okänd enhet {unit!r} för {id}; tillåtna: {', '.join(KEY_FIGURE_UNITS)}")
        if sum(x is not None for x in (cell, share, rate, value)) != 1:
            raise ValueError(f"nyckeltalet {id}: ange exakt en av cell, share, rate och value")
        published: float | None
        if cell is not None:
            prot = self._need_prot()
            true: float = prot.true_value(cell)
            status = self._mark(cell)
            published = prot.value(cell)
        elif share is not None:
            prot = self._need_prot()
            k, n = (prot.true_value(c) for c in share)
            if not n:  # no denominator: the share does not exist this year, nothing to record
                return None
            true = 100 * k / n
            published = prot.share(*share)
            status = "" if published is not None else (self._mark(share[0]) or HIDDEN)
        elif rate is not None:
            prot = self._need_prot()
            true = 1000 * prot.true_value(rate[0]) / rate[1]
            status = self._mark(rate[0])
            published = None if status else true
        else:
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise TypeError(f"nyckeltalet {id} måste vara ett tal, fick {type(value).__name__}: {value!r}")
            true = int(value) if isinstance(value, numbers.Integral) else float(value)
            status, published = "", true
        if not math.isfinite(true):
            raise ValueError(f"nyckeltalet {id} saknar ett ändligt värde ({true!r})")
        row = {"id": id, "chapter": self.chapter, "year": int(year if year is not None else self.year),
               "value": true, "unit": unit, "label": label, "status": status, "data_cutoff": data_cutoff}
        if id in self._key_figures:
            old = self._key_figures[id]["value"]
            if old != true:
                raise ValueError(f"nyckeltalet {id} finns redan med värdet {old}, nytt värde {true}")
            return published
        self._key_figures[id] = row
        self._write_key_figures()
        return published

    def key_figures(self) -> pd.DataFrame:
        """The key figures recorded so far."""
        return pd.DataFrame(list(self._key_figures.values()), columns=KEY_FIGURE_COLUMNS)

    def _write_key_figures(self) -> None:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=KEY_FIGURE_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self._key_figures.values())
        _atomic_write(self.key_figures_path, buf.getvalue().encode("utf-8"))

    # -- prose --

    def text(self, markdown: str) -> None:
        """Show computed prose (Markdown) as the cell's output."""
        self._write_publications()
        display(Markdown(markdown))

    def claim(self, claim: Any) -> Any:
        """Record a claim of the prose (from :mod:`helpers.publishing.phrasing`) and return it.

        The claims are written to ``claims_<chapter>.json``, which the tests check against the
        rendered book; ``claim.sentence()`` gives the text as a sentence.
        """
        self.claims.add(claim)
        self.claims.to_json(self.claims_path)
        return claim

    def headline(self, text: str, key: str = "") -> None:
        """Offer one computed sentence for the landing page's headline facts."""
        path = self.headlines_path
        items = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else []
        items = [i for i in items if i["text"] != text] + [{"text": text, "key": key}]
        _atomic_write(path, json.dumps(items, ensure_ascii=False, indent=1).encode("utf-8"))

