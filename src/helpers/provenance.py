"""Provenance and safe replacement, shared by ingest and the build: content hashes of files, the
git state of the checkout, and replacing a whole folder in one step."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from helpers.config import PATHS


def hash_files(paths: Iterable[Path], length: int = 16) -> str:
    """A short SHA-256 over the names and contents of ``paths`` (in sorted order)."""
    h = hashlib.sha256()
    for p in sorted(paths):
        h.update(p.name.encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()[:length]


def git_info(*pathspec: str) -> dict[str, Any]:
    """Commit of the checkout and whether it has uncommitted changes (to tracked files, limited
    to ``pathspec`` if given). Outside a git checkout the commit is ``None``."""

    def git(*args: str) -> str | None:
        try:
            p = subprocess.run(["git", *args], cwd=PATHS.root, capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.SubprocessError):
            return None
        return p.stdout.strip() if p.returncode == 0 else None

    commit = git("rev-parse", "HEAD") or None
    status = git("status", "--porcelain", "--untracked-files=no", "--", *pathspec)
    return {"commit": commit, "short": commit[:7] if commit else "okänd", "dirty": bool(status)}


def swap_dir(new: Path, target: Path) -> None:
    """Replace the folder ``target`` by ``new`` with renames (same file system): readers see the
    old or the new folder, never a half-written one; if the second rename fails, the old comes back."""
    target.parent.mkdir(parents=True, exist_ok=True)
    old = target.with_name(f".{target.name}-old-{os.getpid()}")
    if old.exists():
        shutil.rmtree(old)
    if target.exists():
        target.rename(old)
    try:
        new.rename(target)
    except OSError:
        if old.exists():
            old.rename(target)
        raise
    shutil.rmtree(old, ignore_errors=True)
