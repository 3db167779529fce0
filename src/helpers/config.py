"""One place for every path the project uses.

Paths are anchored on the project root (the folder holding ``pyproject.toml`` and ``_quarto.yml``),
never on the current working directory, so notebooks, tests and the CLI agree wherever they run.
Set ``GENOMLYSNING_ROOT`` to point at another checkout; ``GENOMLYSNING_DATA_DIR`` to read the raw
extracts from elsewhere (for example a protected share holding the real Treserva extracts).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

YEARS_DEMO = (2018, 2019, 2020, 2021, 2022)
DEFAULT_YEAR = 2020

#: The fixed, published key used to pseudonymise the *synthetic* demo data only.
DEMO_PSEUDONYM_KEY = "genomlysning-demo-key-not-secret"
PSEUDONYM_KEY_ENV = "GENOMLYSNING_PSEUDONYM_KEY"


def _find_root() -> Path:
    env = os.environ.get("GENOMLYSNING_ROOT")
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").is_file() and (parent / "notebooks").is_dir():
            return parent
    raise RuntimeError(
        "Could not find the project root (a folder with pyproject.toml and notebooks/) above "
        f"{here}. Install the project with `pip install -e .` from its root, or set GENOMLYSNING_ROOT."
    )


@dataclass(frozen=True)
class Paths:
    root: Path

    @property
    def raw(self) -> Path:
        env = os.environ.get("GENOMLYSNING_DATA_DIR")
        return Path(env).resolve() if env else self.root / "data" / "raw"

    @property
    def processed(self) -> Path:
        return self.root / "data" / "processed"

    @property
    def notebooks(self) -> Path:
        return self.root / "notebooks"

    @property
    def build(self) -> Path:
        """Executed notebooks and their outputs (ignored by git)."""
        return self.root / "_build"

    @property
    def book(self) -> Path:
        return self.root / "_book"

    @property
    def publish(self) -> Path:
        return self.root / "_publish"

    @property
    def figures(self) -> Path:
        return self.root / "figures"

    @property
    def references_bib(self) -> Path:
        return self.root / "references.bib"

    @property
    def shared_reference(self) -> Path:
        """Published figures of the 2021 report (used by tests and the generator, never by notebooks)."""
        env = os.environ.get("GENOMLYSNING_SHARED")
        base = Path(env).resolve() if env else self.root.parent / "shared"
        return base / "reference"

    def build_year(self, year: int) -> Path:
        return self.build / str(year)


PATHS = Paths(_find_root())
