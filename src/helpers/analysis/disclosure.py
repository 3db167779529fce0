"""Disclosure control over everything a chapter publishes, and an attacker's audit of the result.

Suppressing table by table (as :func:`helpers.publishing.publish.protect` does) is not enough: a reader can
recompute a hidden cell from other published numbers (0–17 minus 13–17 gives 0–12, a total stated
in the prose minus the visible parts of a table, a March sample against the monthly series, …).
This module looks at all counts of a chapter at once.

The model
    All counts a chapter publishes are counts of records of one microdata frame (one row per
    anmälan, say), and each published count (a *cell*) is defined by a boolean mask over those
    records. :class:`CellSet` registers the cells. The *inner cells* are the classes of records
    with identical membership across all registered cells; the 0/1 model matrix ``X`` (inner cells
    × cells) then writes every cell as a sum of inner-cell frequencies ``z``: ``value = X.T @ z``.
    Every linear relation between the published numbers (a total and its parts, 0–17 versus
    0–12 + 13–17, a total in the text) is in ``X`` without anyone declaring it. Published linear
    combinations that are not cells themselves (what a fitted model reveals, e.g. the sum of the
    counts per calendar month) are registered with :meth:`CellSet.combination`.

What is sensitive
    * every registered cell with a count 1 … ``min_cell`` − 1 (primary suppression, shown ``<5``);
    * every *derived* group of records that the registered cells make computable in principle and
      that holds 1 … ``min_cell`` − 1 records: an inner cell whose frequency is determined by the
      cells (for example the 0–12-year-olds of a category when both 0–17 and 13–17 are
      registered), and the difference ``B − A`` of two registered cells with ``A`` ⊂ ``B``. They
      are never published themselves, but the published cells must not reveal them either.

Secondary suppression (:func:`gauss_suppression`)
    GaussSuppression after Langsrud (Statistics Norway): the non-sensitive cells are considered
    for publication one at a time, most preferred to keep published first (largest count first,
    so totals stay visible); a cell is published unless it would make a sensitive column a linear
    combination of the columns already published, in which case it is hidden (status
    ``secondary``, shown ``x``). The test is an incremental Gaussian elimination of the published
    columns, with the sensitive columns kept reduced against them.

The audit (:func:`audit_intervals`)
    The attacker knows ``X``, every published value and combination, that a ``<5`` cell holds
    1 … ``min_cell`` − 1 records and that an ``x`` cell holds ``min_cell`` or more, except for a
    small count shown as ``x`` (below), for which he is given 1 or more (:func:`secondary_floor`).
    0 is always published. For every hidden cell and every derived sensitive group, the attacker's
    interval ``[lo, hi]`` is found by linear programming over ``z >= 0`` (rounded inwards to
    integers); protection requires ``hi − lo >= width``.

The protect loop (:meth:`CellSet.protect`)
    GaussSuppression only stops exact linear disclosure; the bounds the marks give can still pin
    a hidden count. Per failing interval the loop takes one more step, in this order: hide a
    published cell that pins it (non-totals before grand totals); if no published cell pins it,
    the ``<5`` marks do it alone, and hiding more cells cannot help. The typical case in a small
    municipality: three districts of 1, 2 and 1 under an area of 4, all shown ``<5``. Every
    district is at least 1, so the area is at least 3, and each district is at most 4 − 1 − 1 = 2.
    The loop then shows one of the pinning small cells (the largest, i.e. the sum) as ``x``
    instead of ``<5``: the attacker loses its upper bound, keeps the lower bound 1 and has to use
    the published numbers, which the loop can hide. Only if neither helps does it hide any
    published cell overlapping the group, then show any overlapping small cell as ``x``. Each
    round adds at least one cell, and a group whose overlapping cells are all hidden and carry no
    ``<5`` is unbounded above, so the loop always ends. It fails only when a registered
    combination (never hidden) pins a group, which is an error in the chapter, not in the data.

    Showing a small count as ``x`` is truthful to the legend (``x``: hidden so that other
    numbers cannot be derived). A real attacker then cannot rely on ``x`` meaning
    ``min_cell`` or more. The audit's attacker is still told which ``x`` are small (floor 1) and
    which are not (floor ``min_cell``): more than he can know, so the audit errs on the safe side.

    Zero cells are never hidden: a cell without records has an empty column in ``X``, and the
    attacker, who knows ``X``, knows it is 0 anyway. Hiding it would change nothing. Showing zeros
    as ``x`` would only help against an attacker who does not know ``X`` (and then every ``x``
    would mean {0} ∪ [``min_cell``, ∞), which an LP cannot express).
"""

from __future__ import annotations

import itertools
import json
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import linprog

#: Counts 1 … MIN_CELL − 1 are primary-suppressed (0 is published).
MIN_CELL = 5
#: A share or rate is published only on a denominator of at least this many.
MIN_DENOMINATOR = 20
#: Audit threshold: for every hidden cell the attacker's interval [lo, hi] must have
#: hi − lo >= PROTECTION_WIDTH (at least three possible integer values).
PROTECTION_WIDTH = 2

PUBLISHED, PRIMARY, SECONDARY = "published", "primary", "secondary"
#: Status of a derived sensitive group (an inner cell or a difference of nested cells) in the audit.
DERIVED = "derived"
#: Status returned by :meth:`Protected.status` for a registered combination.
COMBINATION = "combination"
#: The marks of :meth:`Protected.frame`.
MARKS = {PUBLISHED: "", PRIMARY: f"<{MIN_CELL}", SECONDARY: "x"}

#: Absolute tolerance of the floating Gaussian elimination (X is 0/1, weights are small).
GAUSS_TOL = 1e-9
#: Tolerance when rounding the LP bounds inwards to integers.
_LP_TOL = 1e-6
_JSON_VERSION = 1


# --- The elimination core ------------------------------------------------------------------------


def _dense(m: Any) -> np.ndarray:
    if m is None:
        return None
    if sparse.issparse(m):
        return m.toarray().astype(float)
    a = np.asarray(m, dtype=float)
    return a.reshape(-1, 1) if a.ndim == 1 else a


def default_candidate_order(X: Any, protected: np.ndarray, values: np.ndarray | None = None) -> np.ndarray:
    """Non-protected columns in order of preference for suppression (first = hidden first).

    Order: increasing count (``values``, or the column sums of ``X`` when not given), then
    increasing number of inner cells, then registration order (index). Large cells and totals
    therefore come last and stay published whenever possible.
    """
    Xs = sparse.csc_matrix(X)
    support = np.diff(Xs.indptr)
    if values is None:
        values = np.asarray(Xs.sum(axis=0)).ravel()
    idx = np.flatnonzero(~np.asarray(protected, dtype=bool))
    keys = np.lexsort((idx, support[idx], np.asarray(values, dtype=float)[idx]))
    return idx[keys]


def gauss_suppression(
    X: Any,
    primary: np.ndarray,
    candidate_order: np.ndarray | None = None,
    *,
    fixed: Any = None,
    extra_protected: Any = None,
    values: np.ndarray | None = None,
    tol: float = GAUSS_TOL,
) -> np.ndarray:
    """Secondary suppression by Gaussian elimination (GaussSuppression, after Langsrud).

    ``X`` (inner cells × cells, 0/1, dense or sparse) is the model matrix, ``primary`` (bool per
    cell) the cells that must not become computable: they are hidden, and so are the cells chosen
    here. ``extra_protected`` (inner cells × k) holds further sensitive columns that are not cells
    (never published, never hidden, only protected), and ``fixed`` (inner cells × k) published
    columns that cannot be hidden (combinations).

    ``candidate_order`` lists the cells that may be hidden, in order of preference for suppression
    (first = hidden first; primary cells in it are skipped; default
    :func:`default_candidate_order`). Cells in neither
    ``primary`` nor ``candidate_order`` are always published. The elimination processes the fixed
    columns, then the always-published cells, then the candidates in *reverse* order (most
    preferred to keep first). A column is reduced against the basis of the columns published so
    far; if it is dependent it adds nothing and is published; otherwise it is published only if
    no protected column becomes zero (= a linear combination of the published columns) once it
    joins the basis, and hidden if one would. So no protected column lies in the span of the
    published ones, tested against the *published* columns only (two hidden cells sharing one
    inner cell do not protect each other).

    Returns the hidden mask (bool per cell): ``primary`` plus the secondary suppressions. Raises
    :class:`ValueError` if the fixed or always-published columns alone reveal a protected column.
    """
    A = _dense(X)
    n, m = A.shape
    primary = np.asarray(primary, dtype=bool)
    if primary.shape != (m,):
        raise ValueError(f"primary har fel längd: {primary.shape} (X har {m} kolumner)")
    if candidate_order is None:
        candidate_order = default_candidate_order(X, primary, values)
    cand = np.asarray(candidate_order, dtype=int)
    cand = cand[~primary[cand]]  # an order may list the primary cells first: they are hidden anyway
    if len(set(cand.tolist())) != len(cand):
        raise ValueError("candidate_order listar samma cell mer än en gång")
    always = np.setdiff1d(np.flatnonzero(~primary), cand)
    F = _dense(fixed) if fixed is not None else np.zeros((n, 0))
    E = _dense(extra_protected) if extra_protected is not None else np.zeros((n, 0))

    R = np.hstack([A[:, primary], E])  # protected columns, kept reduced against the basis
    cols = np.concatenate([np.full(F.shape[1], -1), always, cand[::-1]]).astype(int)
    W = np.hstack([F, A[:, always], A[:, cand[::-1]]])  # in processing order, kept reduced
    n_forced = F.shape[1] + len(always)
    hidden = primary.copy()
    revealed_by_fixed = False
    for t in range(W.shape[1]):
        r = W[:, t]
        nz = np.flatnonzero(np.abs(r) > tol)
        if nz.size == 0:
            continue  # already computable from the published columns: publishing adds nothing
        r_nz = r[nz]
        k = int(np.argmax(np.abs(r_nz)))
        piv, rp = nz[k], r_nz[k]
        affected = np.flatnonzero(np.abs(R[piv]) > tol)
        if affected.size:
            block = R[:, affected].copy()
            block[nz] -= np.outer(r_nz, R[piv, affected] / rp)
            block[np.abs(block) <= tol] = 0.0
            if not block.any(axis=0).all():
                if t >= n_forced:
                    hidden[cols[t]] = True  # publishing it would reveal a protected column
                    continue
                revealed_by_fixed = True
            R[:, affected] = block
        later = t + 1 + np.flatnonzero(np.abs(W[piv, t + 1 :]) > tol)
        if later.size:
            sub = W[np.ix_(nz, later)] - np.outer(r_nz, W[piv, later] / rp)
            sub[np.abs(sub) <= tol] = 0.0
            W[np.ix_(nz, later)] = sub
    if revealed_by_fixed:
        raise ValueError(
            "en skyddsvärd uppgift kan räknas fram ur uppgifter som inte får döljas "
            "(kombinationer eller celler utanför candidate_order)"
        )
    return hidden


# --- The audit core ------------------------------------------------------------------------------


def audit_intervals(
    X: Any,
    published_mask: np.ndarray,
    values: np.ndarray,
    status: Sequence[str],
    combos: Any = None,
    combo_values: np.ndarray | None = None,
    *,
    derived: Any = None,
    derived_values: np.ndarray | None = None,
    min_cell: int = MIN_CELL,
    secondary_min: int | np.ndarray | None = None,
    integer: bool = True,
    screen: float | None = None,
) -> pd.DataFrame:
    """The attacker's intervals for every hidden cell (and every derived sensitive column).

    Variables: the inner-cell frequencies ``z >= 0`` (LP relaxation). Constraints:
    ``X[:, c] @ z == values[c]`` for every published cell, ``combos[:, k] @ z == combo_values[k]``
    for every combination, ``1 <= X[:, c] @ z <= min_cell - 1`` for every ``primary`` cell and,
    if ``secondary_min`` is given, ``X[:, c] @ z >= secondary_min`` for every ``secondary`` cell
    (a number, or an array with one lower bound per cell: see :func:`secondary_floor`).
    For each hidden cell (and each column of ``derived``) the objective is minimised and
    maximised with HiGHS (``linprog(method="highs")``, presolve off: it spends most of its time
    looking for the dependent equations a set of tables always has); with ``integer`` the bounds
    are rounded inwards (counts are integers). A bound the attacker knows anyway (1 and
    ``min_cell - 1`` for a primary cell, ``secondary_min`` for a secondary one, 0) is taken without
    an LP once a feasible point seen in an earlier LP (or the true point) reaches it.

    With ``screen`` (a width), only pass/fail is wanted: a column whose feasible points seen so
    far already span ``screen`` is reported with those inner bounds (lo/hi not exact, width a
    lower bound, ``binding`` empty); the others get exact bounds.

    Returns one row per audited column: ``col`` (cell index; ``m + i`` for ``derived[:, i]``),
    ``status``, ``true``, ``lo``, ``hi``, ``width`` (``hi - lo``; ``inf`` if unbounded) and
    ``binding`` (tuple of indices of the published cells whose constraints carry a non-zero dual
    in either optimum: the cells that pin the interval) and ``marks`` (tuple of indices of the
    hidden primary cells whose upper bound ``min_cell - 1``, the ``<5`` mark, carries a non-zero
    dual in either optimum, or is the column's own known upper bound: the marks that pin it). An
    interval with ``binding`` empty is pinned by the marks alone: hiding more published cells
    cannot widen it.
    """
    Xs = sparse.csc_matrix(X, dtype=float)
    n, m = Xs.shape
    pub = np.asarray(published_mask, dtype=bool)
    values = np.asarray(values, dtype=float)
    status = np.asarray(status, dtype=object)
    hidden_idx = np.flatnonzero(~pub)
    pub_idx = np.flatnonzero(pub)

    eq_blocks = [Xs[:, pub_idx].T]
    b_eq = [values[pub_idx]]
    if combos is not None and sparse.csc_matrix(combos).shape[1]:
        C = sparse.csc_matrix(combos, dtype=float)
        eq_blocks.append(C.T)
        b_eq.append(np.asarray(combo_values, dtype=float))
    A_eq = sparse.vstack(eq_blocks, format="csr")
    b_eq = np.concatenate(b_eq)

    ub_blocks, b_ub = [], []
    prim = np.flatnonzero((status == PRIMARY) & ~pub)
    if prim.size:
        P = Xs[:, prim].T
        ub_blocks += [P, -P]
        b_ub += [np.full(prim.size, min_cell - 1.0), np.full(prim.size, -1.0)]
    sec_floor = np.zeros(m)
    if secondary_min is not None:
        sec_floor = np.broadcast_to(np.asarray(secondary_min, dtype=float), (m,)).copy()
        sec = np.flatnonzero((status == SECONDARY) & ~pub)
        if sec.size:
            ub_blocks.append(-Xs[:, sec].T)
            b_ub.append(-sec_floor[sec])
    A_ub = sparse.vstack(ub_blocks, format="csr") if ub_blocks else None
    b_ub = np.concatenate(b_ub) if b_ub else None

    cols = [int(c) for c in hidden_idx]
    stats = [str(status[c]) for c in hidden_idx]
    trues = [values[c] for c in hidden_idx]
    T = [Xs[:, hidden_idx]]
    if derived is not None and sparse.csc_matrix(derived).shape[1]:
        D = sparse.csc_matrix(derived, dtype=float)
        cols += list(range(m, m + D.shape[1]))
        stats += [DERIVED] * D.shape[1]
        trues += list(np.asarray(derived_values, dtype=float))
        T.append(D)
    T = sparse.csc_matrix(sparse.hstack(T)) if cols else sparse.csc_matrix((n, 0))
    known_lo = np.array([1.0 if st == PRIMARY else sec_floor[c] if st == SECONDARY else 0.0
                         for c, st in zip(cols, stats, strict=True)])
    known_hi = np.array([float(min_cell - 1) if st == PRIMARY else math.inf for st in stats])
    # Feasible points seen so far bound every interval from inside (the true point is feasible).
    seen_lo, seen_hi = np.array(trues, dtype=float), np.array(trues, dtype=float)

    def solve(k: int, sign: float, binding: set, marks: set) -> float:
        obj = T[:, k].toarray().ravel()
        res = linprog(sign * obj, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=b_eq, bounds=(0, None),
                      method="highs", options={"presolve": False})
        if res.status == 3 and sign < 0:
            return math.inf
        if res.status != 0:
            raise RuntimeError(
                f"revisionen misslyckades för kolumn {cols[k]}: {res.message} "
                "(stämmer de publicerade värdena med modellmatrisen?)"
            )
        y = T.T @ res.x
        np.minimum(seen_lo, y, out=seen_lo)
        np.maximum(seen_hi, y, out=seen_hi)
        duals = getattr(res.eqlin, "marginals", None)
        if duals is not None:
            hit = np.flatnonzero(np.abs(duals[: pub_idx.size]) > 1e-9)
            binding.update(pub_idx[hit].tolist())
        iduals = getattr(res.ineqlin, "marginals", None)
        if iduals is not None and prim.size:
            hit = np.flatnonzero(np.abs(iduals[: prim.size]) > 1e-9)
            marks.update(prim[hit].tolist())
        return sign * res.fun

    rows = []
    for k in range(len(cols)):
        integral = integer and np.allclose(T[:, k].data, np.round(T[:, k].data))

        def rnd(lo: float, hi: float, integral: bool = integral) -> tuple[float, float]:
            if not integral:
                return lo, hi
            return (float(math.ceil(lo - _LP_TOL)),
                    float(math.floor(hi + _LP_TOL)) if math.isfinite(hi) else hi)

        binding: set = set()
        marks: set = set()
        if screen is not None:
            lo, hi = rnd(seen_lo[k], seen_hi[k])
            if hi - lo >= screen:  # wide enough already: an inner bound suffices
                rows.append({"col": cols[k], "status": stats[k], "true": trues[k], "lo": lo,
                             "hi": hi, "width": hi - lo, "binding": (), "marks": ()})
                continue
        # Exact bounds; a bound the attacker knows anyway (1 and 4 for "<5") needs no LP once a
        # feasible point reaches it.
        lo = known_lo[k] if seen_lo[k] <= known_lo[k] + _LP_TOL else solve(k, 1.0, binding, marks)
        if seen_hi[k] >= known_hi[k] - _LP_TOL:
            hi = known_hi[k]
            if stats[k] == PRIMARY:
                marks.add(cols[k])  # its own "<5" is the upper bound
        else:
            hi = solve(k, -1.0, binding, marks)
        lo, hi = rnd(lo, hi)
        rows.append({"col": cols[k], "status": stats[k], "true": trues[k], "lo": lo, "hi": hi,
                     "width": hi - lo, "binding": tuple(sorted(binding)),
                     "marks": tuple(sorted(marks))})
    out = pd.DataFrame(rows, columns=["col", "status", "true", "lo", "hi", "width", "binding",
                                      "marks"])
    return out.astype({"col": int, "true": float, "lo": float, "hi": float, "width": float})


@dataclass
class Audit:
    """Result of the attacker's audit.

    ``intervals`` has one row per hidden cell and per derived sensitive group: ``cell`` (id),
    ``status``, ``true``, ``lo``, ``hi``, ``width``. ``passed`` is true when every width is at
    least ``threshold``; ``narrowest`` is the smallest width (None when nothing is hidden).
    """

    intervals: pd.DataFrame
    threshold: float
    passed: bool
    narrowest: float | None
    binding: dict[str, tuple[str, ...]] = field(default_factory=dict, repr=False)

    @property
    def failing(self) -> pd.DataFrame:
        return self.intervals[self.intervals["width"] < self.threshold]


def _make_audit(raw: pd.DataFrame, ids: list[str], threshold: float) -> Audit:
    intervals = pd.DataFrame({
        "cell": [ids[c] for c in raw["col"]],
        "status": raw["status"].astype(str),
        "true": raw["true"].astype(float),
        "lo": raw["lo"].astype(float),
        "hi": raw["hi"].astype(float),
        "width": raw["width"].astype(float),
    })
    binding = {ids[c]: tuple(ids[b] for b in bs) for c, bs in zip(raw["col"], raw["binding"], strict=True)}
    narrowest = float(intervals["width"].min()) if len(intervals) else None
    passed = bool((intervals["width"] >= threshold).all())
    return Audit(intervals=intervals, threshold=threshold, passed=passed, narrowest=narrowest,
                 binding=binding)


# --- Registering the cells -----------------------------------------------------------------------


@dataclass
class _Table:
    name: str
    codes: np.ndarray  # per record: index of its cell in this table, -1 for none (see _code_dtype)
    ids: list[str]


def _code_dtype(cells: int) -> type:
    """The smallest signed integer type for the codes -1 … ``cells`` − 1 of one table: a chapter
    registers dozens of tables over hundreds of thousands of records, one code per record each."""
    for dtype in (np.int8, np.int16, np.int32):
        if cells <= np.iinfo(dtype).max:
            return dtype
    return np.int64


def _patterns(codes: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of the records' codes (one array per table) among the records in at least
    one cell, in sorted (lexicographic) order, and how many records have each.

    The same as ``np.unique(np.column_stack(codes)[in_any_cell], axis=0, return_counts=True)``,
    without the records × tables matrix: the codes are folded into one group number per record
    (renumbered with :func:`pandas.factorize` before the number could overflow), and only one
    record per group is looked up and sorted.
    """
    inside = np.zeros(len(codes[0]), dtype=bool)
    for c in codes:
        inside |= c >= 0
    rows = np.flatnonzero(inside)
    group, span = np.zeros(rows.size, dtype=np.int64), 1
    for c in codes:
        size = int(c.max(initial=-1)) + 2  # the codes -1 … max, shifted to 0 … size − 1
        if span * size >= 2**62:
            group, distinct = pd.factorize(group)
            span = max(len(distinct), 1)
        group = group * size + (c[rows].astype(np.int64) + 1)
        span *= size
    _, first, freq = np.unique(group, return_index=True, return_counts=True)
    patterns = np.column_stack([c[rows[first]].astype(np.int64) for c in codes])
    order = np.lexsort(patterns.T[::-1])
    return patterns[order], freq[order]


class CellSet:
    """All counts one chapter publishes, as cells over one frame of records (see the module doc)."""

    def __init__(self, records: pd.DataFrame, unit: str = "anmälningar"):
        if not isinstance(records, pd.DataFrame):
            raise TypeError("records ska vara en DataFrame med en rad per räknad post")
        self.records = records
        self.unit = unit
        self._tables: list[_Table] = []
        self._names: set[str] = set()
        self._ids: dict[str, tuple[int, int]] = {}
        self._combos: dict[str, dict[str, float]] = {}
        self._preferred: list[str] = []

    # registration ---------------------------------------------------------------------------

    def _claim(self, name: str) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"ogiltigt namn: {name!r}")
        if name in self._names or name in self._ids or name in self._combos:
            raise ValueError(f"namnet {name!r} är redan registrerat")

    def _mask(self, where: pd.Series | np.ndarray | None) -> np.ndarray:
        n = len(self.records)
        if where is None:
            return np.ones(n, dtype=bool)
        if isinstance(where, pd.Series):
            if not where.index.equals(self.records.index):
                if len(where.index) == n and not where.index.is_unique:
                    raise ValueError("where har ett annat index än posterna")
                where = where.reindex(self.records.index)
            return where.fillna(False).to_numpy(dtype=bool)
        arr = np.asarray(where, dtype=bool)
        if arr.shape != (n,):
            raise ValueError(f"where har fel längd: {arr.shape[0] if arr.ndim else arr} (poster: {n})")
        return arr

    def _levels(self, col: str, levels: Mapping[str, list] | None) -> list:
        if col not in self.records.columns:
            raise KeyError(f"kolumnen {col!r} saknas i posterna (har: {list(self.records.columns)})")
        if levels is not None and col in levels:
            lv = list(levels[col])
        elif isinstance(self.records[col].dtype, pd.CategoricalDtype):
            lv = list(self.records[col].cat.categories)
        else:
            lv = list(pd.unique(self.records[col].dropna()))
        if len(set(map(str, lv))) != len(lv):
            raise ValueError(f"kategorierna för {col!r} är inte unika: {lv}")
        return lv

    def tabulate(self, name: str, by: str | list[str] | None = None, where: pd.Series | None = None,
                 levels: dict[str, list] | None = None) -> pd.DataFrame:
        """Register one cell per group of ``by`` among the records where ``where`` is true.

        ``levels`` gives the full list of categories per ``by`` column, so that zero cells are
        registered too (default: the categories among *all* records of the CellSet in order of
        first appearance, or the categorical's categories). Records with a missing value in a
        ``by`` column are in no cell; a value outside ``levels`` is an error. Returns a frame with
        the ``by`` columns, ``antal`` (int) and ``cell`` (id ``"name|col=value|…"``; ``by=None``
        registers the single cell ``"name"``). Registering a name twice raises ValueError.
        """
        self._claim(name)
        mask = self._mask(where)
        by_cols = [] if by is None else [by] if isinstance(by, str) else list(by)
        if len(set(by_cols)) != len(by_cols):
            raise ValueError(f"by har dubbletter: {by_cols}")
        n = len(self.records)
        codes = np.zeros(n, dtype=np.int64)
        grids = []
        for col in by_cols:
            lv = self._levels(col, levels)
            vals = self.records[col]
            # Match the distinct values to the levels, not every record (a missing value is -1).
            found, distinct = pd.factorize(vals)
            lookup = pd.Index(lv, dtype=object).get_indexer(pd.Index(distinct).astype(object))
            c = np.append(lookup, -1)[found].astype(np.int64)
            outside = (c < 0) & vals.notna().to_numpy() & mask
            if outside.any():
                bad = sorted(map(str, pd.unique(vals[outside])))[:5]
                raise ValueError(f"{name}: värden i {col!r} saknas i levels: {bad}")
            mask = mask & (c >= 0)
            codes = codes * len(lv) + np.maximum(c, 0)
            grids.append(lv)
        codes[~mask] = -1
        keys = list(itertools.product(*grids))
        if by_cols:
            ids = [name + "".join(f"|{col}={v}" for col, v in zip(by_cols, key, strict=True))
                   for key in keys]
        else:
            ids = [name]
        if clash := [i for i in ids if i in self._ids or i in self._combos or i in self._names]:
            raise ValueError(f"cell-id finns redan: {clash[:3]}")
        if len(set(ids)) != len(ids):
            raise ValueError(f"{name}: cell-id är inte unika (kategorier med samma text?)")
        t = len(self._tables)
        self._tables.append(_Table(name, codes.astype(_code_dtype(len(ids))), ids))
        self._names.add(name)
        for k, i in enumerate(ids):
            self._ids[i] = (t, k)
        counts = np.bincount(codes[codes >= 0], minlength=len(ids)).astype(np.int64)
        out = pd.DataFrame(keys, columns=by_cols) if by_cols else pd.DataFrame(index=[0])
        out["antal"] = counts
        out["cell"] = ids
        return out

    def total(self, name: str, where: pd.Series | None = None) -> str:
        """Register one cell (a count stated, e.g., in the text) and return its id (``name``)."""
        return str(self.tabulate(name, None, where)["cell"].iloc[0])

    def combination(self, name: str, weights: dict[str, float]) -> str:
        """Register a published linear combination of registered cells and return its id.

        Use it for information that is revealed without being a cell, e.g. what a fitted Poisson
        model with month dummies reveals (the sum of the counts per calendar month). It counts as
        published in suppression and audit (it can never be hidden) and is not shown itself.
        """
        self._claim(name)
        if not weights:
            raise ValueError(f"{name}: kombinationen saknar vikter")
        if unknown := [c for c in weights if c not in self._ids]:
            raise KeyError(f"{name}: okända celler i kombinationen: {unknown[:5]}")
        w = {str(c): float(v) for c, v in weights.items()}
        if not all(math.isfinite(v) for v in w.values()):
            raise ValueError(f"{name}: vikterna ska vara ändliga tal")
        self._combos[name] = w
        self._names.add(name)
        return name

    def prefer(self, *cells: str) -> None:
        """Cells the chapter most wants published, e.g. the two parts of a share its text leads
        with. Secondary suppression considers them last: when one of several cells must be
        hidden, another one is (a preferred cell is still hidden when nothing else protects a
        small count, and a primary cell is always hidden)."""
        if unknown := [c for c in cells if c not in self._ids]:
            raise KeyError(f"okända celler: {unknown[:5]}")
        self._preferred += [c for c in cells if c not in self._preferred]

    @property
    def cells(self) -> list[str]:
        """Ids of the registered cells, in registration order (the columns of :meth:`model`)."""
        return [i for t in self._tables for i in t.ids]

    @property
    def combinations(self) -> dict[str, dict[str, float]]:
        """The registered combinations: id → {cell id: weight}."""
        return {k: dict(w) for k, w in self._combos.items()}

    # the model ------------------------------------------------------------------------------

    def model(self) -> tuple[sparse.csc_matrix, np.ndarray, list[str]]:
        """The model matrix ``X`` (inner cells × cells, 0/1), the inner-cell frequencies and the cell ids.

        Inner cells are the distinct membership patterns of the records that are in at least one
        cell, in sorted pattern order (deterministic). Cells without records have empty columns.
        """
        ids = self.cells
        if not self._tables:
            return sparse.csc_matrix((0, 0)), np.zeros(0, dtype=np.int64), ids
        patterns, freq = _patterns([t.codes for t in self._tables])
        offsets = np.cumsum([0] + [len(t.ids) for t in self._tables])
        rows, cols = [], []
        for j in range(len(self._tables)):
            inside = np.flatnonzero(patterns[:, j] >= 0)
            rows.append(inside)
            cols.append(offsets[j] + patterns[inside, j])
        r, c = np.concatenate(rows), np.concatenate(cols)
        X = sparse.csc_matrix((np.ones(r.size), (r, c)), shape=(patterns.shape[0], len(ids)))
        return X, freq.astype(np.int64), ids

    # protection -----------------------------------------------------------------------------

    def protect(self, *, min_cell: int = MIN_CELL, width: float = PROTECTION_WIDTH,
                max_rounds: int | None = None) -> Protected:
        """Primary suppression, GaussSuppression and the audit loop over all registered cells.

        Round: Gauss over the sensitive columns (primary cells, derived sensitive groups and cells
        hidden in earlier rounds), then the audit. For every hidden cell or derived group whose
        interval is narrower than ``width``, one more step, the first of these that exists (see
        :func:`_choose_more`):

        1. hide a published cell that pins the interval (non-zero dual in its LP), the smallest
           that is not a grand total if there is one;
        2. if no published cell pins it (the ``<5`` marks alone do, e.g. three parts of 1–4 under
           a total of 4: each part is 1–2), show one of the pinning ``<5`` cells as ``x`` instead
           (status ``secondary``; the largest, i.e. the sum, first);
        3. hide any published cell overlapping the group (non-totals first, then totals);
        4. show any overlapping ``<5`` cell as ``x``.

        A cell hidden in step 1 or 3 is protected like a primary cell in the next round. Each round
        hides or re-marks at least one more cell, so the loop ends after at most (cells + primary
        cells + 1) rounds (the default ``max_rounds``); with every overlapping cell hidden and no
        ``<5`` mark left the interval is unbounded, so it can only end in failure when a registered
        combination (which is never hidden) pins a group. Raises RuntimeError then, or when an
        explicit ``max_rounds`` is reached first.
        """
        start = time.perf_counter()
        X, freq, ids = self.model()
        n, m = X.shape
        values = np.asarray(X.T @ freq).ravel().round().astype(np.int64)
        combo_ids = list(self._combos)
        col = {c: j for j, c in enumerate(ids)}
        W = sparse.lil_matrix((m, len(combo_ids)))
        for k, cid in enumerate(combo_ids):
            for c, w in self._combos[cid].items():
                W[col[c], k] += w
        C = sparse.csc_matrix(X @ W.tocsc())
        combo_values = np.asarray(C.T @ freq, dtype=float).ravel()

        primary = (values >= 1) & (values < min_cell)
        D, d_ids, d_values = _derived_sensitive(X, freq, values, ids, C, min_cell)
        support = np.diff(X.indptr)
        grand = (support == n) & (n > 0)

        floor = secondary_floor(values, min_cell)
        preferred = np.isin(np.arange(m), [col[c] for c in self._preferred])
        if max_rounds is None:
            max_rounds = m + int(primary.sum()) + 1
        forced = np.zeros(m, dtype=bool)
        remarked = np.zeros(m, dtype=bool)  # primary cells shown as "x" instead of "<5"
        rounds = 0
        for _round in range(1, max_rounds + 1):
            rounds = _round
            protected = primary | forced
            order = default_candidate_order(X, protected, values)
            if self._preferred:  # considered last for suppression, i.e. kept first
                keep = np.isin(order, [col[c] for c in self._preferred])
                order = np.concatenate([order[~keep], order[keep]])
            try:
                hidden = gauss_suppression(X, protected, order, fixed=C, extra_protected=D)
            except ValueError as e:
                raise RuntimeError(f"röjandeskyddet går inte att uppfylla: {e}") from e
            status = np.where(hidden, np.where(primary & ~remarked, PRIMARY, SECONDARY), PUBLISHED)
            raw = audit_intervals(X, ~hidden, values, status, C, combo_values, derived=D,
                                  derived_values=d_values, min_cell=min_cell,
                                  secondary_min=floor, screen=width)
            failing = raw[raw["width"] < width].sort_values(["width", "col"], kind="stable")
            if failing.empty:
                break
            hide, remark = _choose_more(X, D, failing, hidden, remarked, primary, support, values,
                                        grand, preferred)
            if not hide and not remark:
                worst = (ids + d_ids)[int(failing["col"].iloc[0])]
                raise RuntimeError(
                    f"röjandeskyddet går inte att uppfylla: {worst!r} kan räknas fram inom "
                    f"{failing['width'].iloc[0]:g} {self.unit} och ingen publicerad cell återstår "
                    "att dölja (avslöjas den av en kombination?)"
                )
            forced[hide] = True
            remarked[remark] = True
        else:
            raise RuntimeError(
                f"röjandeskyddet klarade inte revisionen efter {max_rounds} varv: "
                f"{len(failing)} dolda uppgifter kan fortfarande räknas fram för snävt, t.ex. "
                f"{(ids + d_ids)[int(failing['col'].iloc[0])]!r}"
            )
        prot = Protected(
            cells=ids, X=X, true_values=values, status=status, combo_ids=combo_ids,
            combo_weights=[self._combos[c] for c in combo_ids], derived=D, derived_ids=d_ids,
            derived_values=d_values, min_cell=min_cell, width=width, unit=self.unit,
            rounds=rounds, seconds=0.0,
        )
        prot.seconds = time.perf_counter() - start
        return prot


def _derived_sensitive(X: sparse.csc_matrix, freq: np.ndarray, values: np.ndarray, ids: list[str],
                       C: sparse.csc_matrix, min_cell: int
                       ) -> tuple[sparse.csc_matrix, list[str], np.ndarray]:
    """Small groups of records that the registered cells could reveal without being cells.

    * inner cells with 1 … min_cell − 1 records that lie in the column space of ``[X, C]``
      (leverage 1: computable if everything were published);
    * differences ``B − A`` of registered cells with ``A`` ⊂ ``B`` (as sets of inner cells) and
      1 … min_cell − 1 records.
    Columns equal to a registered cell's column, or to one another, are dropped.
    """
    n, m = X.shape
    cols: list[np.ndarray] = []
    names: list[str] = []
    vals: list[int] = []
    seen = {tuple(X.indices[X.indptr[j]:X.indptr[j + 1]].tolist()) for j in range(m)}
    small = np.flatnonzero((freq >= 1) & (freq < min_cell))
    if small.size and m:
        Xe = sparse.hstack([X, C], format="csr") if C.shape[1] else sparse.csr_matrix(X)
        G = (Xe.T @ Xe).toarray()  # integer sums, exact in floating point as the dense product is
        w, V = np.linalg.eigh(G)
        keep = w > max(w.max(initial=0.0), 1.0) * 1e-10
        # Rows of an orthonormal basis of the column space, only for the small inner cells (the
        # whole basis is inner cells × cells, dense).
        B = Xe[small] @ (V[:, keep] / np.sqrt(w[keep]))
        lev = np.einsum("ij,ij->i", B, B)
        for i in small[lev > 1 - 1e-6]:
            key = (int(i),)
            if key in seen:
                continue
            seen.add(key)
            cols.append(np.array([i]))
            names.append(f"inre:{i}")
            vals.append(int(freq[i]))
    # differences of nested cells
    Xb = X.astype(bool).astype(np.int64)
    overlap = (Xb.T @ Xb).toarray()
    size = np.diff(X.indptr)
    for a in range(m):
        if size[a] == 0:
            continue
        for b in np.flatnonzero((overlap[a] == size[a]) & (size > size[a])):
            diff = values[b] - values[a]
            if not 1 <= diff < min_cell:
                continue
            rows_a = set(X.indices[X.indptr[a]:X.indptr[a + 1]].tolist())
            rest = tuple(r for r in X.indices[X.indptr[b]:X.indptr[b + 1]].tolist() if r not in rows_a)
            if rest in seen:
                continue
            seen.add(rest)
            cols.append(np.array(rest))
            names.append(f"{ids[b]} minus {ids[a]}")
            vals.append(int(diff))
    if not cols:
        return sparse.csc_matrix((n, 0)), [], np.zeros(0, dtype=np.int64)
    r = np.concatenate(cols)
    c = np.concatenate([np.full(len(x), k) for k, x in enumerate(cols)])
    D = sparse.csc_matrix((np.ones(r.size), (r, c)), shape=(n, len(cols)))
    return D, names, np.asarray(vals, dtype=np.int64)


def secondary_floor(values: np.ndarray, min_cell: int = MIN_CELL) -> np.ndarray:
    """The lower bound the audit gives the attacker for each cell if it is shown as ``x``.

    ``min_cell`` for a cell of at least ``min_cell`` records (a secondary suppression proper), 1 for
    a cell of 1 … ``min_cell`` − 1 shown as ``x`` instead of ``<5`` (:meth:`CellSet.protect`,
    step 2). Zero cells have no records and are never hidden. A real attacker cannot tell the two
    kinds of ``x`` apart; giving the audit's attacker this knowledge only narrows his intervals, so
    the audit stays on the safe side.
    """
    v = np.asarray(values)
    return np.where(v >= min_cell, float(min_cell), 1.0)


def _pick(cand: Sequence[int], values: np.ndarray, support: np.ndarray, grand: np.ndarray,
          largest: bool = False, preferred: np.ndarray | None = None) -> int | None:
    """The cell of ``cand`` to act on: cells the chapter does not prefer to keep and non-grand
    totals first, then the smallest (``largest``: the largest) by count, then by number of inner
    cells; ties by index."""
    if not len(cand):
        return None
    c = np.asarray(sorted(set(int(x) for x in cand)))
    if preferred is not None and (~preferred[c]).any():
        c = c[~preferred[c]]
    if (~grand[c]).any():
        c = c[~grand[c]]
    sign = -1 if largest else 1
    return int(c[np.lexsort((c, sign * support[c], sign * values[c]))[0]])


def _choose_more(X, D, failing: pd.DataFrame, hidden: np.ndarray, remarked: np.ndarray,
                 primary: np.ndarray, support: np.ndarray, values: np.ndarray,
                 grand: np.ndarray, preferred: np.ndarray | None = None) -> tuple[list[int], list[int]]:
    """One more step per failing interval (see :meth:`CellSet.protect`): cells to hide and primary
    cells to show as ``x``. An interval that a cell chosen for an earlier one already touches is
    left for the next round."""
    n, m = X.shape
    Xr = X.astype(bool).tocsr()
    hide: list[int] = []
    remark: list[int] = []
    can_hide = ~hidden & (support > 0)  # a zero cell has no records: hiding it changes nothing
    can_remark = primary & hidden & ~remarked
    for col, binding, marks in zip(failing["col"], failing["binding"], failing["marks"], strict=True):
        target = X[:, col] if col < m else D[:, col - m]
        rows = sparse.csc_matrix(target).indices
        touching = np.asarray(Xr[rows].sum(axis=0)).ravel() > 0
        if touching[hide + remark].any():
            continue
        overlapping = np.flatnonzero(touching)
        steps = (
            ([b for b in binding if can_hide[b]], hide, False),
            ([c for c in marks if can_remark[c]], remark, True),
            ([b for b in overlapping if can_hide[b]], hide, False),
            ([c for c in overlapping if can_remark[c]], remark, True),
        )
        for cand, into, largest in steps:
            best = _pick(cand, values, support, grand, largest=largest,
                         preferred=None if into is remark else preferred)
            if best is not None:
                into.append(best)
                break
    return hide, remark


# --- The result ----------------------------------------------------------------------------------


class Protected:
    """The protected values of a :class:`CellSet`, with the audit. Build with :meth:`CellSet.protect`."""

    def __init__(self, *, cells: list[str], X: sparse.spmatrix, true_values: np.ndarray,
                 status: Sequence[str], combo_ids: list[str], combo_weights: list[dict[str, float]],
                 derived: sparse.spmatrix, derived_ids: list[str], derived_values: np.ndarray,
                 min_cell: int = MIN_CELL, width: float = PROTECTION_WIDTH, unit: str = "",
                 rounds: int = 0, seconds: float = 0.0, shares: list | None = None):
        self.cells = list(cells)
        self.X = sparse.csc_matrix(X)
        self._true = np.asarray(true_values, dtype=np.int64)
        self._status = np.asarray(status, dtype=object)
        self._index = {c: j for j, c in enumerate(self.cells)}
        self.combo_ids = list(combo_ids)
        self.combo_weights = [dict(w) for w in combo_weights]
        W = sparse.lil_matrix((len(self.cells), len(self.combo_ids)))
        for k, w in enumerate(self.combo_weights):
            for c, v in w.items():
                W[self._index[c], k] += v
        self._W = W.tocsc()
        self.combo_values = np.asarray(self._W.T @ self._true, dtype=float).ravel()
        self.derived = sparse.csc_matrix(derived)
        self.derived_ids = list(derived_ids)
        self.derived_values = np.asarray(derived_values, dtype=np.int64)
        self.min_cell = min_cell
        self.width = width
        self.unit = unit
        self.rounds = rounds
        self.seconds = seconds
        self.shares: list[tuple[str, str]] = list(shares or [])
        self._audit: Audit | None = None

    def _j(self, cell: str) -> int:
        try:
            return self._index[cell]
        except KeyError:
            raise KeyError(f"okänd cell: {cell!r}") from None

    def value(self, cell: str) -> int | None:
        """The published value, or None when the cell is hidden."""
        j = self._j(cell)
        return int(self._true[j]) if self._status[j] == PUBLISHED else None

    def status(self, cell: str) -> str:
        """"published", "primary" or "secondary" ("combination" for a registered combination)."""
        if cell in self.combo_ids and cell not in self._index:
            return COMBINATION
        return str(self._status[self._j(cell)])

    def true_value(self, cell: str) -> int:
        """The unprotected count (for tests and internal checks; never publish it)."""
        return int(self._true[self._j(cell)])

    def frame(self, df: pd.DataFrame, count_col: str = "antal", cell_col: str = "cell") -> pd.DataFrame:
        """``df`` with ``count_col`` replaced by the protected values and a ``status`` column.

        Hidden counts become NaN (the column is float then, int otherwise); ``status`` is ""
        for published, "<5" for primary and "x" for secondary suppression.
        """
        out = df.copy()
        js = [self._j(c) for c in out[cell_col]]
        st = self._status[js] if js else np.array([], dtype=object)
        true = self._true[js] if js else np.array([], dtype=np.int64)
        pub = st == PUBLISHED
        out[count_col] = true if pub.all() else np.where(pub, true.astype(float), np.nan)
        marks = {PUBLISHED: "", PRIMARY: f"<{self.min_cell}", SECONDARY: "x"}
        out["status"] = [marks[s] for s in st]
        return out

    def share(self, num: str, den: str) -> float | None:
        """``100 * num / den`` if both cells are published and ``den >= MIN_DENOMINATOR``, else None.

        A returned share is recorded in :attr:`shares` (it reveals nothing beyond its two cells).
        """
        jn, jd = self._j(num), self._j(den)
        if self._status[jn] != PUBLISHED or self._status[jd] != PUBLISHED:
            return None
        if self._true[jd] < MIN_DENOMINATOR:
            return None
        self.shares.append((num, den))
        return 100.0 * float(self._true[jn]) / float(self._true[jd])

    def hidden(self) -> list[str]:
        """Ids of the hidden cells, in registration order."""
        return [c for c, s in zip(self.cells, self._status, strict=True) if s != PUBLISHED]

    def audit(self) -> Audit:
        """The attacker's audit of the published values (computed once, then cached)."""
        if self._audit is None:
            pub = self._status == PUBLISHED
            C = sparse.csc_matrix(self.X @ self._W) if self.combo_ids else None
            raw = audit_intervals(
                self.X, pub, self._true, self._status, C, self.combo_values,
                derived=self.derived if self.derived_ids else None,
                derived_values=self.derived_values, min_cell=self.min_cell,
                secondary_min=secondary_floor(self._true, self.min_cell),
            )
            self._audit = _make_audit(raw, self.cells + self.derived_ids, self.width)
        return self._audit

    def summary(self) -> dict:
        a = self.audit()
        st = self._status
        return {
            "cells": len(self.cells),
            "published": int((st == PUBLISHED).sum()),
            "hidden_primary": int((st == PRIMARY).sum()),
            "hidden_secondary": int((st == SECONDARY).sum()),
            "small_shown_x": int(((st == SECONDARY) & (self._true < self.min_cell)).sum()),
            "inner_cells": int(self.X.shape[0]),
            "derived_sensitive": len(self.derived_ids),
            "combinations": len(self.combo_ids),
            "narrowest_width": a.narrowest,
            "passed": a.passed,
            "rounds": self.rounds,
            "seconds": round(self.seconds, 3),
        }

    # persistence ----------------------------------------------------------------------------

    def to_json(self, path: str | Path) -> None:
        """Write what the audit needs, without the records (X as triplets, values, statuses, …).

        The file holds the true values of the hidden cells (the audit reports them): it is an
        internal audit trail and must not be published.
        """
        X = sparse.coo_matrix(self.X)
        D = sparse.coo_matrix(self.derived)
        doc = {
            "version": _JSON_VERSION,
            "unit": self.unit,
            "min_cell": self.min_cell,
            "min_denominator": MIN_DENOMINATOR,
            "width": self.width,
            "rounds": self.rounds,
            "seconds": self.seconds,
            "inner_cells": int(X.shape[0]),
            "cells": self.cells,
            "status": [str(s) for s in self._status],
            "published": [int(v) if s == PUBLISHED else None
                          for v, s in zip(self._true, self._status, strict=True)],
            "true": [int(v) for v in self._true],
            "X": {"row": X.row.tolist(), "col": X.col.tolist(), "data": X.data.tolist()},
            "combinations": [{"id": c, "weights": w}
                             for c, w in zip(self.combo_ids, self.combo_weights, strict=True)],
            "derived": {"ids": self.derived_ids, "true": self.derived_values.tolist(),
                        "row": D.row.tolist(), "col": D.col.tolist()},
            "shares": [list(s) for s in self.shares],
        }
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        # One line per key, each value compact: json's C encoder (an indented dump goes through its
        # Python encoder, one line per number, which took seconds for the X of a large municipality).
        body = ",\n".join(f" {json.dumps(k)}: {json.dumps(v, ensure_ascii=False, separators=(',', ':'))}"
                           for k, v in doc.items())
        path.write_text("{\n" + body + "\n}\n", encoding="utf-8")

    @classmethod
    def from_json(cls, path: str | Path) -> Protected:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
        if doc.get("version") != _JSON_VERSION:
            raise ValueError(f"{path}: okänd version av röjandeskyddsfilen: {doc.get('version')!r}")
        n, m = int(doc["inner_cells"]), len(doc["cells"])
        x = doc["X"]
        X = sparse.csc_matrix((x["data"], (x["row"], x["col"])), shape=(n, m))
        d = doc["derived"]
        D = sparse.csc_matrix((np.ones(len(d["row"])), (d["row"], d["col"])),
                              shape=(n, len(d["ids"])))
        return cls(
            cells=doc["cells"], X=X, true_values=np.asarray(doc["true"], dtype=np.int64),
            status=doc["status"], combo_ids=[c["id"] for c in doc["combinations"]],
            combo_weights=[c["weights"] for c in doc["combinations"]], derived=D,
            derived_ids=d["ids"], derived_values=np.asarray(d["true"], dtype=np.int64),
            min_cell=int(doc["min_cell"]), width=doc["width"], unit=doc.get("unit", ""),
            rounds=int(doc.get("rounds", 0)), seconds=float(doc.get("seconds", 0.0)),
            shares=[tuple(s) for s in doc.get("shares", [])],
        )
