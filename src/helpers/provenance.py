"""Provenance and safe replacement, shared by ingest and the build: content hashes of files, the
git state of the checkout, replacing a whole folder in one step (several folders in one step
with a journal), and the pinned dependencies
(``requirements.lock``, kept in step with ``environment.yml`` by ``make lock``)."""

from __future__ import annotations

import hashlib
import json
import os
import re
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
    to ``pathspec`` if given), and the commit's time (committer date, UNIX seconds: the fixed date
    of a reproducible build). Outside a git checkout, or before the first commit, the commit and
    its time are ``None``."""

    def git(*args: str) -> str | None:
        try:
            p = subprocess.run(["git", *args], cwd=PATHS.root, capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.SubprocessError):
            return None
        return p.stdout.strip() if p.returncode == 0 else None

    commit = git("rev-parse", "HEAD") or None
    status = git("status", "--porcelain", "--untracked-files=no", "--", *pathspec)
    stamp = git("log", "-1", "--format=%ct") if commit else None
    return {"commit": commit, "short": commit[:7] if commit else "okänd", "dirty": bool(status),
            "time": int(stamp) if stamp and stamp.isdigit() else None}


def _old_name(target: Path) -> str:
    return f".{target.name}-old-"


def recover_swaps(folder: Path) -> list[Path]:
    """Undo every :func:`swap_dir` in ``folder`` that was killed between its two renames: for each
    ``.<name>-old-<pid>`` whose ``<name>`` is missing, the newest comes back as ``<name>``; old
    folders beside an existing ``<name>`` are removed. Returns the folders restored. Call it while
    holding :class:`build_lock`."""
    if not folder.is_dir():
        return []
    groups: dict[str, list[Path]] = {}
    for p in folder.glob(".*-old-*"):
        m = re.fullmatch(r"\.(.+)-old-\d+", p.name)
        if m and p.is_dir():
            groups.setdefault(m.group(1), []).append(p)
    restored = []
    for name, olds in groups.items():
        olds.sort(key=lambda p: p.stat().st_mtime)
        target = folder / name
        if not target.exists():
            newest = olds.pop()
            newest.rename(target)
            restored.append(target)
        for o in olds:
            shutil.rmtree(o, ignore_errors=True)
    return restored


def clean_stale(folder: Path, patterns: Iterable[str]) -> list[Path]:
    """Remove temporary folders and files matching ``patterns`` in ``folder`` that an interrupted
    run left behind (they may hold pseudonymised data). Call it while holding :func:`build_lock`,
    so that no running build still uses them."""
    removed = []
    if not folder.is_dir():
        return removed
    for pattern in patterns:
        for p in folder.glob(pattern):
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)
            removed.append(p)
    return removed


class build_lock:  # noqa: N801 - used as a context manager, like open()
    """An exclusive lock on the project's data and outputs (``_build/.lock``): a second render or
    ingest waits until the first has finished, so the book never mixes two runs. ``log`` is told
    when it has to wait. Re-entrant within one process (ingest inside a render)."""

    _held: dict[str, int] = {}

    def __init__(self, log: Any = None, path: Path | None = None):
        self.path = Path(path or PATHS.build / ".lock")
        self.log = log
        self.fd: int | None = None

    def __enter__(self) -> build_lock:
        import fcntl

        key = str(self.path)
        if self._held.get(key):
            self._held[key] += 1
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if self.log:
                self.log("Väntar på att en annan rendering eller inläsning i projektet ska bli klar …")
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        self._held[key] = 1
        return self

    def __exit__(self, *exc: Any) -> None:
        import fcntl

        key = str(self.path)
        self._held[key] -= 1
        if self._held[key] == 0 and self.fd is not None:
            del self._held[key]
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


def swap_dir(new: Path, target: Path) -> None:
    """Replace the folder ``target`` by ``new`` with renames (same file system): readers see the
    old or the new folder, never a half-written one; if the second rename fails, the old comes back."""
    target.parent.mkdir(parents=True, exist_ok=True)
    old = target.with_name(f"{_old_name(target)}{os.getpid()}")
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


def _finish_swap(new: Path, target: Path) -> None:
    """Put ``new`` in the place of ``target``; safe to repeat after a kill at any point (a journal
    entry is finished by calling it again)."""
    old = target.with_name(f"{_old_name(target)}0")
    if new.exists():
        if target.exists():
            if old.exists():
                shutil.rmtree(old)
            target.rename(old)
        target.parent.mkdir(parents=True, exist_ok=True)
        new.rename(target)
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)


def commit_swaps(pairs: list[tuple[Path, Path]], journal: Path, base: Path | None = None) -> None:
    """Swap several staged folders into their targets as one step: all or none.

    Every ``(new, target)`` pair is written to ``journal`` first, and the journal appears by one
    ``os.replace`` (the commit point). Then the folders are swapped one by one. A kill before the
    commit point leaves every target as it was (the staged folders are temporary and removed by
    the next run); a kill after it is finished by :func:`recover_journal` on the next run, so every
    target is then new. Paths in the journal are relative to ``base`` (default: the journal's
    folder) when they can be, so a moved project recovers too.
    """
    base = base or journal.parent
    entries = []
    for new, target in pairs:
        if not new.is_dir():
            raise FileNotFoundError(f"{new} finns inte (inget att publicera)")
        entries.append({"new": _relative(new, base), "target": _relative(target, base)})
    journal.parent.mkdir(parents=True, exist_ok=True)
    tmp = journal.with_name(journal.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(entries, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, journal)  # the commit point
    _roll_forward(entries, base)
    journal.unlink()


def _relative(path: Path, base: Path) -> str:
    try:
        return path.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return str(path.resolve())


def _roll_forward(entries: list[dict[str, str]], base: Path) -> list[Path]:
    done = []
    for e in entries:
        target = base / e["target"]
        _finish_swap(base / e["new"], target)
        done.append(target)
    return done


def recover_journal(journal: Path, base: Path | None = None) -> list[Path]:
    """Finish a :func:`commit_swaps` that was killed after its commit point: every folder of the
    journal is swapped in. Returns the targets (empty if there was no journal). A journal still
    being written (``.tmp``) was never committed and is removed. Call it under :class:`build_lock`,
    before :func:`recover_swaps` (which would otherwise bring an old folder back)."""
    journal.with_name(journal.name + ".tmp").unlink(missing_ok=True)
    if not journal.is_file():
        return []
    entries = json.loads(journal.read_text(encoding="utf-8"))
    done = _roll_forward(entries, base or journal.parent)
    journal.unlink()
    return done


# --- pinned dependencies ----------------------------------------------------------------------------

LOCK_FILE = "requirements.lock"
#: environment.yml entries that are conda's own, not Python packages from the lock.
CONDA_ONLY = {"python", "quarto", "pip"}
_PIN_RE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)")
_ENV_DEP_RE = re.compile(r"^(\s*-\s+)([A-Za-z0-9][A-Za-z0-9._-]*)(\s*[<>=!~][^#]*?)?(\s*(?:#.*)?)$")


def package_name(name: str) -> str:
    """A package name as PyPI compares them (PEP 503: lower case, runs of ``-_.`` as ``-``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_pins(text: str) -> dict[str, str]:
    """``{package: version}`` of a lock file written by pip-compile (``name==version`` lines)."""
    return {package_name(m.group(1)): m.group(2) for line in text.splitlines() if (m := _PIN_RE.match(line))}


def _dependency_lines(env_text: str) -> list[tuple[int, re.Match]]:
    """The package lines of environment.yml's ``dependencies:`` (its ``pip:`` list included):
    ``(line number, match)`` of the entries that name a Python package, conda's own left out."""
    out = []
    inside = False
    for i, line in enumerate(env_text.split("\n")):
        if line and not line[0].isspace() and not line.startswith("#"):
            inside = line.startswith("dependencies:")
            continue
        m = _ENV_DEP_RE.match(line)
        if inside and m and m.group(2).lower() not in CONDA_ONLY:
            out.append((i, m))
    return out


def pin_environment(env_text: str, pins: dict[str, str]) -> str:
    """``environment.yml`` with every Python package that the lock pins at exactly that version
    (``==``, which conda and pip both read); conda's own entries and comments are left as they are."""
    lines = env_text.split("\n")
    for i, m in _dependency_lines(env_text):
        if package_name(m.group(2)) in pins:
            lines[i] = f"{m.group(1)}{m.group(2)}=={pins[package_name(m.group(2))]}{m.group(4) or ''}"
    return "\n".join(lines)


def environment_pins(env_text: str) -> dict[str, str]:
    """``{package: specifier}`` of environment.yml's Python packages (``"==3.1.1"``, ``">=2.1"``)."""
    return {package_name(m.group(2)): (m.group(3) or "").strip() for _, m in _dependency_lines(env_text)}


def sync_environment(root: Path | None = None) -> bool:
    """Write the versions of ``requirements.lock`` into ``environment.yml`` (``make lock``); True
    if the file changed. A package of environment.yml missing from the lock is an error."""
    root = root or PATHS.root
    pins = lock_pins((root / LOCK_FILE).read_text(encoding="utf-8"))
    env_file = root / "environment.yml"
    old = env_file.read_text(encoding="utf-8")
    missing = sorted(set(environment_pins(old)) - set(pins))
    if missing:
        raise SystemExit(f"environment.yml names packages that {LOCK_FILE} does not pin: {', '.join(missing)}")
    new = pin_environment(old, pins)
    if new != old:
        env_file.write_text(new, encoding="utf-8")
    return new != old
