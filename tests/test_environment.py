"""environment.yml (conda) and pyproject.toml name the same dependencies."""

from __future__ import annotations

import re
import tomllib

import yaml

from helpers.config import PATHS

# Conda-forge spells a few packages differently; pip-only packages sit under `pip:`.
CONDA_ONLY = {"python", "quarto", "pip"}


def _name(spec: str) -> str:
    return re.split(r"[<>=!~\[ ]", spec.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _pyproject() -> set[str]:
    data = tomllib.loads((PATHS.root / "pyproject.toml").read_text())
    deps = data["project"]["dependencies"] + data["project"]["optional-dependencies"]["dev"]
    return {_name(d) for d in deps}


def _environment() -> set[str]:
    env = yaml.safe_load((PATHS.root / "environment.yml").read_text())
    names: set[str] = set()
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            names |= {_name(d) for d in dep["pip"] if not d.startswith("-e")}
        else:
            names.add(_name(dep))
    return names - CONDA_ONLY


def test_same_dependencies():
    assert _environment() == _pyproject()


def test_environment_has_quarto():
    env = yaml.safe_load((PATHS.root / "environment.yml").read_text())
    assert any(str(d).startswith("quarto") for d in env["dependencies"])
    assert "conda-forge" in env["channels"]
