"""Writing published files: atomically, and data files in the form Swedish Excel opens."""

from __future__ import annotations

import os
import tempfile
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


def _csv_bytes(table: pd.DataFrame) -> bytes:
    """A data file for Swedish Excel: UTF-8 with byte-order mark, ``;`` as separator, CRLF line
    ends, no index. ``table`` holds text cells (see :func:`helpers.publishing.views._published_csv`,
    which rounds and writes the decimal comma); ``pd.read_csv(path, sep=";", decimal=",",
    encoding="utf-8-sig")`` reads it back."""
    text = table.to_csv(index=False, sep=";", lineterminator="\r\n")
    return ("\ufeff" + text).encode("utf-8")
