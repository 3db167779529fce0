"""Fixtures for the render tests: the whole journey in a throw-away copy of the project.

The copy holds the project's book sources (``_quarto.yml``, ``index.qmd``, notebooks, appendices,
assets, ``references.bib``) but no data and no build outputs; ``genomlysning render`` runs in a
subprocess with ``GENOMLYSNING_ROOT`` pointing at it, so it writes the demo data, executes the
chapters and renders there, exactly as ``make report`` does in a fresh clone, and never touches
the developer's own ``_book/``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from helpers.config import PATHS

BOOK_SOURCES = ("_quarto.yml", "index.qmd", "references.bib", "pyproject.toml", "CHANGELOG.md", "report.yml", ".gitignore")
BOOK_DIRS = ("notebooks", "appendix", "assets")


@dataclass
class Project:
    root: Path

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GENOMLYSNING_")}
        env["GENOMLYSNING_ROOT"] = str(self.root)
        env["GENOMLYSNING_SHARED"] = str(PATHS.shared_reference.parent)
        env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
        return env

    def genomlysning(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = [sys.executable, "-m", "helpers.cli", *args]
        proc = subprocess.run(cmd, cwd=self.root, env=self.env(), capture_output=True, text=True, timeout=1800)
        if check and proc.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return proc

    def render(self, year: int, *extra: str, check: bool = True) -> subprocess.CompletedProcess:
        return self.genomlysning("render", "--year", str(year), "--renderer", "builtin", *extra, check=check)

    @property
    def book(self) -> Path:
        return self.root / "_book"


def make_project(dest: Path) -> Project:
    dest.mkdir(parents=True, exist_ok=True)
    for name in BOOK_SOURCES:
        if (PATHS.root / name).is_file():
            shutil.copy2(PATHS.root / name, dest / name)
    for name in BOOK_DIRS:
        shutil.copytree(PATHS.root / name, dest / name,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "_siffror.md", "key_figures.csv"))
    (dest / "data" / "raw").mkdir(parents=True)
    subprocess.run(["git", "init", "-q"], cwd=dest, check=True)
    return Project(dest)


@pytest.fixture(scope="session")
def rendered(tmp_path_factory) -> Project:
    """A project copy with the report for 2020 rendered by the built-in renderer."""
    project = make_project(tmp_path_factory.mktemp("project"))
    project.render(2020)
    return project
