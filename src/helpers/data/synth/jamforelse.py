"""A synthetic snapshot of the comparison extract (``jamforelse.xlsx``, Kolada shape) for the demo.

The values are made up, but calibrated: the targets (key ``jamforelse`` of ``targets.yaml``, replaced
as a whole by a scenario's overlay) give, per KPI (short name of the code list ``kolada_nyckeltal``)
and year, Linköping's own value and the mean of each comparison group. The group's members (R9
without Linköping; IFO-liknande: the fallback list of ``kolada_grupper.csv``) scatter around that
mean with a seeded spread, and the last rounding step is corrected so that their unweighted mean is
*exactly* the target (:func:`helpers.data.kolada.group_mean`, which leaves Linköping out). Linköping
is written under its own group and, as in Kolada's R9, as a member of R9.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from helpers.data import kolada
from helpers.data.contract import JAMFORELSE


def _members() -> dict[str, list[tuple[str, str]]]:
    cfg = kolada.group_config()
    return {"R9": cfg.members["R9"], "IFO-liknande": cfg.ifo_fallback}


def values(targets: dict) -> dict[tuple[str, str, str, int], float]:
    """(group, kommun_id, KPI short name, year) → value, for every member (Linköping included)."""
    spec = targets["jamforelse"]
    seed, years, spread = int(spec["seed"]), [int(y) for y in spec["years"]], float(spec.get("spread", 0.1))
    kpis = kolada.kpis()
    decimals = dict(zip(kpis["namn"], kpis["decimaler"].astype(int), strict=True))
    members = _members()
    focus = kolada.FOCUS
    out: dict[tuple[str, str, str, int], float] = {}
    for k, (name, per_group) in enumerate(spec["varden"].items()):
        if name not in decimals:
            raise ValueError(f"jamforelse: okänt nyckeltal {name!r} (kodlistan kolada_nyckeltal: {', '.join(decimals)})")
        scale = 10 ** decimals[name]
        for y in years:
            out[("Linköping", focus, name, y)] = round(float(per_group["Linköping"][y]) * scale) / scale
        for g, group in enumerate(("R9", "IFO-liknande")):
            ids = [kid for kid, _ in members[group] if kid != focus]
            rng = np.random.default_rng([seed, k, g])
            level = 1 + rng.uniform(-spread, spread, len(ids))
            level = level / level.mean()
            for y in years:
                mean = float(per_group[group][y])
                jitter = 1 + rng.normal(0, spread / 6, len(ids))
                units = np.rint(mean * scale * level * jitter).astype(int)
                total = int(round(mean * scale * len(ids)))
                units[int(np.argmax(units))] += total - int(units.sum())  # the mean is exactly the target
                if (units < 0).any():
                    raise ValueError(f"jamforelse: spridningen ger negativa värden för {name} {y} i {group}")
                for kid, u in zip(ids, units, strict=True):
                    out[(group, kid, name, y)] = int(u) / scale
            if group == "R9" and any(kid == focus for kid, _ in members[group]):
                for y in years:
                    out[("R9", focus, name, y)] = out[("Linköping", focus, name, y)]
    return out


def rows(targets: dict) -> list[list[object]]:
    """The sheet's rows (headers of :data:`helpers.data.contract.JAMFORELSE`), in a fixed order."""
    names = {kid: name for ms in (*_members().values(), kolada.group_config().members["Linköping"]) for kid, name in ms}
    ids = {v: k for k, v in kolada.kpi_names().items()}
    data = values(targets)
    order = {g: i for i, g in enumerate(kolada.GROUPS)}
    kpi_order = {n: i for i, n in enumerate(kolada.kpis()["namn"])}
    keys = sorted(data, key=lambda t: (order[t[0]], t[1], kpi_order[t[2]], t[3]))
    out = []
    for group, kid, name, year in keys:
        v = data[(group, kid, name, year)]
        out.append([kid, names[kid], group, ids[name], name, year, int(v) if float(v).is_integer() else v])
    return out


def write(targets: dict, raw_dir: Path) -> Path:
    """Write ``jamforelse.xlsx`` (marked synthetic like every demo workbook)."""
    from helpers.data.synth.generate import _write_workbook, scenario_keywords

    sheet = JAMFORELSE.sheets[0]
    path = Path(raw_dir) / JAMFORELSE.filename()
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_workbook(path, {sheet.name: ([c.header for c in sheet.columns], rows(targets))}, scenario_keywords(targets))
    return path
