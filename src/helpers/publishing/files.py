"""Writing published files: atomically, and CSV with counts as integers."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pandas as pd


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


