"""The one publishing path for the figures, tables, key figures and computed prose of every chapter.

Every number that leaves a chapter notebook goes through a :class:`Publisher`, which

* applies disclosure control (:func:`protect`): counts 1–4 are suppressed (shown as ``<5`` in
  tables, missing in data and figures), plus one complementary cell where a single suppressed
  cell could otherwise be derived from the group total, and the shares of suppressed rows;
* draws figures in the report's one theme (:func:`setup_theme`) with title and source line;
* writes PNG + SVG + CSV of each figure (next to the executed notebook and, for slides, under
  ``figures/<year>/``), the CSV of each table, and ``key_figures_<chapter>.csv``, each file
  atomically (temporary file in the same folder, then ``os.replace``);
* shows the result as the cell's only output (an image or a Markdown pipe table), which Quarto
  picks up with the cell's ``#| label: fig-…`` / ``tbl-…`` and caption options.

Key figures are recorded unrounded and unsuppressed: they are compared with the published report
and are not displayed by themselves. The prose that shows them is the chapter's responsibility.
"""

from __future__ import annotations

import csv
import io
import math
import numbers
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from IPython.display import Image, Markdown, display

from . import fmt
from .config import PATHS

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: Smallest count that is published as is: counts 1 to MIN_CELL − 1 are suppressed (0 is not).
MIN_CELL = 5
#: Name of the flag column added by :func:`protect`.
FLAG_COL = "skyddad"
#: How a suppressed count (1–4) is shown in a table.
SUPPRESSED = f"<{MIN_CELL}"
#: How a complementary suppressed count, or a share of a suppressed row, is shown in a table.
HIDDEN = "x"

FIGSIZE = (7.0, 4.0)
DPI = 150
PALETTE = "colorblind"  # seaborn's colour-blind-safe palette (after Okabe & Ito)
SVG_HASHSALT = "genomlysning"
SOURCE_COLOR = "#555555"
SYNTHETIC_NOTE = "Syntetiska demodata."

KEY_FIGURE_UNITS = ("count", "percent", "ratio", "per_1000", "kr", "percentage_points", "year")
KEY_FIGURE_COLUMNS = ["id", "chapter", "year", "value", "unit", "label"]

_LABEL_RE = {
    prefix: re.compile(rf"^{prefix}-[A-Za-z0-9][A-Za-z0-9_-]*$") for prefix in ("fig", "tbl")
}
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_YEAR_COLUMNS = {"år", "ar", "year", "rapportår"}

THEME_RC: dict[str, Any] = {
    "figure.figsize": FIGSIZE,
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.titlelocation": "left",
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "legend.title_fontsize": 9,
    "figure.titlesize": 12,
    "figure.titleweight": "bold",
    "axes.formatter.use_locale": False,  # unreliable: ticks are formatted with fmt.swedish_ticks
    "axes.unicode_minus": True,
    "svg.fonttype": "path",  # text as paths: the SVG looks the same without the fonts
    "svg.hashsalt": SVG_HASHSALT,  # deterministic element ids in the SVG
}


def setup_theme() -> None:
    """Apply the report's one figure theme (seaborn ``whitegrid``, colour-blind-safe palette).

    Safe to call more than once. :meth:`Publisher.figure` calls it before every figure, so all
    published figures look the same whatever a notebook did to ``rcParams`` in between.
    """
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="notebook", palette=PALETTE, rc=THEME_RC)


# --- Disclosure control -------------------------------------------------------------------------


def _as_list(cols: str | Iterable[str] | None) -> list[str]:
    if cols is None:
        return []
    if isinstance(cols, str):
        return [cols]
    return list(cols)


@dataclass(frozen=True)
class _Protection:
    data: pd.DataFrame
    primary: pd.DataFrame  # bool, count columns: suppressed because 1 ≤ n < MIN_CELL
    secondary: pd.DataFrame  # bool, count columns: complementary suppression
    rows: pd.Series  # bool: rows with any count suppressed by this call
    share_cols: list[str]

    @property
    def n_suppressed(self) -> int:
        return int(self.primary.to_numpy().sum() + self.secondary.to_numpy().sum())


def _protect(
    df: pd.DataFrame,
    count_cols: str | Iterable[str],
    group_cols: str | Iterable[str] | None = None,
    share_cols: str | Iterable[str] | None = None,
    secondary: bool = True,
) -> _Protection:
    counts, groups, shares = _as_list(count_cols), _as_list(group_cols), _as_list(share_cols)
    missing = [c for c in counts + groups + shares if c not in df.columns]
    if missing:
        raise KeyError(f"kolumner saknas i data: {missing} (har: {list(df.columns)})")
    if overlap := set(counts) & set(shares):
        raise ValueError(f"kolumner kan inte vara både antal och andel: {sorted(overlap)}")
    out = df.copy()
    values = pd.DataFrame(
        {c: pd.to_numeric(out[c], errors="raise").astype(float) for c in counts}, index=out.index
    )
    if (values < 0).any().any():
        raise ValueError(f"negativa antal i {[c for c in counts if (values[c] < 0).any()]}")
    primary = (values > 0) & (values < MIN_CELL)
    second = pd.DataFrame(False, index=out.index, columns=counts)

    if secondary and counts and len(out) > 1:
        if groups:
            positions = out.groupby(groups, dropna=False, sort=False).indices.values()
        else:
            positions = [np.arange(len(out))]
        for pos in positions:
            if len(pos) < 2:
                continue
            for c in counts:
                prim = primary[c].to_numpy()[pos]
                if prim.sum() != 1:
                    continue
                v = values[c].to_numpy()[pos]
                free = ~prim & ~np.isnan(v)
                # Prefer the smallest positive cell; a zero hides less but is better than nothing.
                for candidates in (free & (v > 0), free):
                    if candidates.any():
                        idx = np.flatnonzero(candidates)
                        chosen = idx[np.argsort(v[idx], kind="stable")[0]]
                        second.iloc[pos[chosen], second.columns.get_loc(c)] = True
                        break

    hidden = primary | second
    for c in counts:
        if hidden[c].any():
            out[c] = values[c].where(~hidden[c])
    rows = hidden.any(axis=1) if counts else pd.Series(False, index=out.index)
    for c in shares:
        if rows.any():
            out[c] = pd.to_numeric(out[c], errors="raise").astype(float).where(~rows)
    previous = out[FLAG_COL].fillna(False).astype(bool) if FLAG_COL in out.columns else False
    out[FLAG_COL] = rows | previous
    return _Protection(out, primary, second, rows, shares)


def protect(
    df: pd.DataFrame,
    count_cols: str | Iterable[str],
    group_cols: str | Iterable[str] | None = None,
    share_cols: str | Iterable[str] | None = None,
    *,
    secondary: bool = True,
) -> tuple[pd.DataFrame, int]:
    """Disclosure control for published counts. Returns ``(protected copy, cells suppressed)``.

    * **Primary suppression**: every count 1–4 (``1 ≤ n < MIN_CELL``) in ``count_cols`` becomes
      NaN. Zero is published (it reveals nothing about a person). Missing input stays missing.
    * **Secondary suppression** (``secondary=True``): the rows of each group (``group_cols``; the
      whole frame when ``None``) are treated as the parts of a published total, column by column.
      If exactly one cell of a group is suppressed, its value would follow from the total by
      subtraction, so the smallest other positive cell of the group (the first one on ties; a
      zero if there is no positive one) is suppressed too. Pass ``secondary=False`` when the rows
      do not add up to anything published (for example a time series of monthly counts).
    * **Shares**: in every row with a suppressed count, all ``share_cols`` become NaN, since a
      share and its base give back the count.
    * A bool column ``skyddad`` flags the rows with a suppressed count (OR-ed with an existing one).

    Count columns with suppressed cells become float (NaN for suppressed); others keep their dtype.
    """
    p = _protect(df, count_cols, group_cols, share_cols, secondary)
    return p.data, p.n_suppressed


# --- Output helpers -----------------------------------------------------------------------------


def _atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _csv_bytes(df: pd.DataFrame, count_cols: Sequence[str] = ()) -> bytes:
    """Plain UTF-8 CSV, comma separated, no index; counts written as integers, missing as empty."""
    d = df.copy()
    for c in count_cols:
        v = pd.to_numeric(d[c], errors="coerce")
        if v.dropna().eq(v.dropna().round()).all():
            d[c] = v.round().astype("Int64")
    return d.to_csv(index=False, lineterminator="\n").encode("utf-8")


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


def _is_year_column(name: Any) -> bool:
    return str(name).strip().lower() in _YEAR_COLUMNS


def _escape_md(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def markdown_table(
    df: pd.DataFrame,
    count_cols: Sequence[str] = (),
    share_cols: Sequence[str] = (),
    decimals: int | Mapping[str, int] | None = None,
    primary: pd.DataFrame | None = None,
    secondary: pd.DataFrame | None = None,
    hidden_rows: pd.Series | None = None,
) -> str:
    """Format ``df`` as a Markdown pipe table with Swedish numbers.

    Counts via :func:`fmt.num` (suppressed ones as ``<5``, complementary ones as ``x``), shares
    via :func:`fmt.pct` (``x`` in suppressed rows), other numbers via :func:`fmt.num`. ``decimals``
    is the number of decimals for shares and other non-integer columns (default 1), or a mapping
    column → decimals for any column. Year columns (``År``, ``ar``, ``year``) are written as is.
    Numeric columns are right-aligned.
    """
    df = df.reset_index(drop=True)
    if primary is not None:
        primary = primary.reset_index(drop=True)
    if secondary is not None:
        secondary = secondary.reset_index(drop=True)
    if hidden_rows is not None:
        hidden_rows = hidden_rows.reset_index(drop=True)
    per_col = dict(decimals) if isinstance(decimals, Mapping) else {}
    default = decimals if isinstance(decimals, int) and not isinstance(decimals, bool) else 1

    def flagged(mask: pd.DataFrame | pd.Series | None, i: int, col: str | None = None) -> bool:
        if mask is None:
            return False
        if col is None:
            return bool(mask.at[i])
        return col in mask.columns and bool(mask.at[i, col])

    def cells(col: str) -> tuple[list[str], bool]:
        s = df[col]
        if col in count_cols:
            out = []
            for i, v in s.items():
                if fmt.is_missing(v) and flagged(primary, i, col):
                    out.append("\\" + SUPPRESSED)  # escaped: "<5" is not the start of HTML
                elif fmt.is_missing(v) and flagged(secondary, i, col):
                    out.append(HIDDEN)
                else:
                    out.append(fmt.num(v, per_col.get(col, 0)))
            return out, True
        if col in share_cols:
            d = per_col.get(col, default)
            hidden = [fmt.is_missing(v) and flagged(hidden_rows, i) for i, v in s.items()]
            return [HIDDEN if h else fmt.pct(v, d) for h, v in zip(hidden, s, strict=True)], True
        if pd.api.types.is_bool_dtype(s):
            return ["ja" if v else "nej" for v in s], False
        if pd.api.types.is_numeric_dtype(s):
            if _is_year_column(col) and col not in per_col:
                return [fmt.MISSING if fmt.is_missing(v) else str(int(v)) for v in s], True
            if col in per_col:
                d = per_col[col]
            elif pd.api.types.is_integer_dtype(s):
                d = 0
            else:
                d = default
            return [fmt.num(v, d) for v in s], True
        if pd.api.types.is_datetime64_any_dtype(s):
            return [fmt.MISSING if fmt.is_missing(v) else v.strftime("%Y-%m-%d") for v in s], False
        return [fmt.MISSING if fmt.is_missing(v) else _escape_md(str(v)) for v in s], False

    columns = [c for c in df.columns if c != FLAG_COL]
    body, align = [], []
    for c in columns:
        values, right = cells(c)
        body.append(values)
        align.append("---:" if right else ":---")
    lines = [
        "| " + " | ".join(_escape_md(str(c)) for c in columns) + " |",
        "|" + "|".join(align) + "|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in zip(*body, strict=True)]
    return "\n".join(lines)


def _suppression_note(primary: bool, hidden: bool) -> str:
    parts = []
    if primary:
        parts.append(f"\\{SUPPRESSED}: färre än {MIN_CELL}, redovisas inte")
    if hidden:
        parts.append(f"{HIDDEN}: döljs så att uppgifter under {MIN_CELL} inte kan räknas fram")
    return "*" + "; ".join(parts) + ".*"


# --- Publisher ----------------------------------------------------------------------------------


class Publisher:
    """Publishes the figures, tables, key figures and prose of one chapter for one report year.

    ``output_dir`` is the folder of the executed notebook (the build passes it; a notebook run on
    its own in Jupyter or by nbval writes to ``PATHS.build_year(year) / "interactive"``); figures go to ``output_dir/figures/``,
    tables to ``output_dir/tables/``, key figures to ``output_dir/key_figures_<chapter>.csv``.
    Every figure is also copied to ``figures_dir`` for slides and memos: by default to
    ``PATHS.figures / str(year)`` when the notebook runs on its own (no ``output_dir``), and
    nowhere when a build passes ``output_dir`` (the build exports the figures of a successful
    render, so a failing run never leaves half-updated exports). ``synthetic`` (default True: this repository ships demo data only) adds
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
            self.figures_dir = None  # a build run: the build exports the figures after success
        else:
            self.figures_dir = PATHS.figures / str(self.year)
        self.synthetic = synthetic
        self._key_figures: dict[str, dict[str, Any]] = {}

    # -- paths --

    @property
    def key_figures_path(self) -> Path:
        return self.output_dir / f"key_figures_{self.chapter}.csv"

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

    # -- figures --

    def figure(
        self,
        label: str,
        data: pd.DataFrame,
        plot: Callable[[Axes, pd.DataFrame], Any],
        *,
        title: str,
        source: str,
        count_cols: str | Sequence[str] = (),
        share_cols: str | Sequence[str] = (),
        group_cols: str | Sequence[str] | None = None,
        secondary: bool = True,
        figsize: tuple[float, float] | None = None,
        display_width: int | None = None,
    ) -> PublishedData:
        """Protect ``data``, draw it with ``plot(ax, protected)``, save and show the figure.

        ``plot`` gets a fresh ``Axes`` (constrained layout, report theme) and a copy of the
        protected data; it may replace the axes with several (``ax.remove()``;
        ``ax.figure.subplots(...)``). The title goes above the figure, the source line (grey, small)
        under it. Writes ``<label>.png`` (150 dpi), ``<label>.svg`` (deterministic) and
        ``<label>.csv`` (the protected data, UTF-8) to ``output_dir/figures`` and ``figures_dir``,
        displays the PNG as the cell's only output and returns the protected data.
        """
        import matplotlib as mpl
        import matplotlib.pyplot as plt

        _check_label(label, "fig")
        prot = _protect(data, count_cols, group_cols, share_cols, secondary)
        setup_theme()
        fig, ax = plt.subplots(figsize=figsize or FIGSIZE, layout="constrained")
        try:
            plot(ax, pd.DataFrame(prot.data).copy())
            fig.suptitle(title, x=0.01, ha="left")
            fig.text(
                0.01,
                0.0,
                self.source_line(source),
                ha="left",
                va="top",
                fontsize=8,
                color=SOURCE_COLOR,
                wrap=True,
            )
            images = {}
            with mpl.rc_context({"svg.hashsalt": SVG_HASHSALT}):
                for ext, extra in (("png", {}), ("svg", {"metadata": {"Date": None}})):
                    buf = io.BytesIO()
                    fig.savefig(
                        buf,
                        format=ext,
                        dpi=DPI,
                        bbox_inches="tight",
                        pad_inches=0.1,
                        facecolor="white",
                        **extra,
                    )
                    images[ext] = buf.getvalue()
        finally:
            plt.close(fig)
        images["csv"] = _csv_bytes(prot.data, _as_list(count_cols))
        paths = self.figure_paths(label)
        for ext, content in images.items():
            _atomic_write(paths[ext], content)
            if self.figures_dir is not None:
                _atomic_write(self.figures_dir / f"{label}.{ext}", content)
        display(Image(filename=str(paths["png"]), width=display_width))
        return PublishedData(prot.data)

    # -- tables --

    def table(
        self,
        label: str,
        df: pd.DataFrame,
        *,
        count_cols: str | Sequence[str] = (),
        share_cols: str | Sequence[str] = (),
        decimals: int | Mapping[str, int] | None = None,
        index: bool = False,
        group_cols: str | Sequence[str] | None = None,
        secondary: bool = True,
    ) -> PublishedData:
        """Protect ``df``, write its CSV and show it as a Markdown pipe table with Swedish numbers.

        Counts are formatted with :func:`fmt.num` (suppressed: ``<5``, complementary: ``x``),
        shares (percentage values 0–100) with :func:`fmt.pct`, other numbers with
        :func:`fmt.num`; ``decimals`` sets the decimals of shares and non-integer columns
        (default 1), or per column as a mapping (``{"Kvot": 2}``). ``index=True`` publishes the
        index as the first column(s). A note under the table explains the suppression marks if
        any. The raw protected data go to ``output_dir/tables/<label>.csv``. Returns them.
        """
        _check_label(label, "tbl")
        if index:
            df = df.reset_index()
        counts, shares = _as_list(count_cols), _as_list(share_cols)
        prot = _protect(df, counts, group_cols, shares, secondary)
        _atomic_write(self.table_path(label), _csv_bytes(prot.data, counts))
        text = markdown_table(
            prot.data, counts, shares, decimals, prot.primary, prot.secondary, prot.rows
        )
        if prot.n_suppressed:
            any_primary = bool(prot.primary.to_numpy().any())
            any_hidden = bool(prot.secondary.to_numpy().any()) or bool(shares and prot.rows.any())
            text += "\n\n" + _suppression_note(any_primary, any_hidden)
        display(Markdown(text))
        return PublishedData(prot.data)

    # -- key figures --

    def key_figure(
        self,
        id: str,  # noqa: A002
        value: Any,
        unit: str,
        label: str,
        year: int | None = None,
        *,
        numerator: int | None = None,
    ) -> Any:
        """Record a key figure of the chapter and return ``value`` unchanged.

        ``unit`` is one of :data:`KEY_FIGURE_UNITS`; ``year`` defaults to the report year.
        ``numerator`` is the count a share or rate is computed from: the published list of key
        figures hides the share when that count is small (1–4), as it hides small counts.
        Recording the same id again with the same value is a no-op; with another value it raises
        ``ValueError``. Every call rewrites ``output_dir/key_figures_<chapter>.csv`` (columns id,
        chapter, year, value, unit, label, numerator).
        """
        if not isinstance(id, str) or not _NAME_RE.match(id):
            raise ValueError(f"ogiltigt id för nyckeltal: {id!r}")
        if unit not in KEY_FIGURE_UNITS:
            raise ValueError(
                f"okänd enhet {unit!r} för {id}; tillåtna: {', '.join(KEY_FIGURE_UNITS)}"
            )
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(
                f"nyckeltalet {id} måste vara ett tal, fick {type(value).__name__}: {value!r}"
            )
        stored: int | float = int(value) if isinstance(value, numbers.Integral) else float(value)
        if not math.isfinite(stored):
            raise ValueError(f"nyckeltalet {id} saknar ett ändligt värde ({value!r})")
        row = {
            "id": id,
            "chapter": self.chapter,
            "year": int(year if year is not None else self.year),
            "value": stored,
            "unit": unit,
            "label": label,
            "numerator": "" if numerator is None else int(numerator),
        }
        if id in self._key_figures:
            old = self._key_figures[id]["value"]
            if old != stored:
                raise ValueError(
                    f"nyckeltalet {id} finns redan med värdet {old}, nytt värde {stored}"
                )
            return value
        self._key_figures[id] = row
        self._write_key_figures()
        return value

    def key_figures(self) -> pd.DataFrame:
        """The key figures recorded so far (columns id, chapter, year, value, unit, label)."""
        return pd.DataFrame(list(self._key_figures.values()), columns=KEY_FIGURE_COLUMNS)[KEY_FIGURE_COLUMNS]

    def _write_key_figures(self) -> None:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=[*KEY_FIGURE_COLUMNS, "numerator"], lineterminator="\n")
        writer.writeheader()
        writer.writerows(self._key_figures.values())
        _atomic_write(self.key_figures_path, buf.getvalue().encode("utf-8"))

    # -- prose --

    def text(self, markdown: str) -> None:
        """Show computed prose (Markdown) as the cell's output."""
        display(Markdown(markdown))

    @staticmethod
    def count(n: float) -> str:
        """A count for the prose, with the same disclosure control as tables: 1–4 → "färre än 5"."""
        if is_small(n):
            return f"färre än {MIN_CELL}"
        return fmt.num(n, 0)

    @staticmethod
    def share(k: float, n: float, decimals: int = 1) -> str:
        """``k`` of ``n`` as a percentage for the prose; hidden ("x") if ``k`` is a small count."""
        if is_small(k) or not n:
            return HIDDEN
        return fmt.pct(100 * k / n, decimals)


def is_small(n: Any) -> bool:
    """True for a count that disclosure control suppresses (1 ≤ n < MIN_CELL)."""
    try:
        v = float(n)
    except (TypeError, ValueError):
        return False
    return 0 < v < MIN_CELL
