"""pyproject.toml, requirements.lock and environment.yml (conda) name the same dependencies, and
the lock pins every package at one exact version that pyproject.toml allows."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata

import pytest
import yaml
from packaging.requirements import Requirement

from helpers.config import PATHS
from helpers.provenance import (
    CONDA_ONLY,
    LOCK_FILE,
    environment_pins,
    lock_pins,
    package_name,
    pin_environment,
)


def _name(spec: str) -> str:
    return re.split(r"[<>=!~\[ ]", spec.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _requirements() -> list[Requirement]:
    data = tomllib.loads((PATHS.root / "pyproject.toml").read_text())
    return [Requirement(d) for d in data["project"]["dependencies"] + data["project"]["optional-dependencies"]["dev"]]


def _pyproject() -> set[str]:
    return {package_name(r.name) for r in _requirements()}


def _environment() -> set[str]:
    env = yaml.safe_load((PATHS.root / "environment.yml").read_text())
    names: set[str] = set()
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            names |= {_name(d) for d in dep["pip"] if not d.startswith("-e")}
        else:
            names.add(_name(dep))
    return {package_name(n) for n in names} - CONDA_ONLY


def _lock_text() -> str:
    return (PATHS.root / LOCK_FILE).read_text(encoding="utf-8")


def test_same_dependencies():
    assert _environment() == _pyproject()


def test_environment_has_quarto():
    env = yaml.safe_load((PATHS.root / "environment.yml").read_text())
    assert any(str(d).startswith("quarto") for d in env["dependencies"])
    assert "conda-forge" in env["channels"]


def test_lock_pins_every_line_exactly():
    for line in _lock_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*==[A-Za-z0-9.+!-]+", line.strip()), (
            f"{LOCK_FILE}: {line!r} är ingen exakt version (name==version); kör make lock")


def test_lock_pins_every_dependency_within_its_range():
    pins = lock_pins(_lock_text())
    for req in _requirements():
        name = package_name(req.name)
        assert name in pins, f"{req.name} saknas i {LOCK_FILE}; kör make lock"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"{LOCK_FILE} låser {req.name}=={pins[name]}, utanför {req.specifier} i pyproject.toml; kör make lock")


def test_environment_has_the_versions_of_the_lock():
    pins = lock_pins(_lock_text())
    env = environment_pins((PATHS.root / "environment.yml").read_text(encoding="utf-8"))
    assert env == {name: f"=={pins[name]}" for name in env}, "environment.yml följer inte låsfilen; kör make lock"
    assert set(env) == _pyproject()


def test_pin_environment_keeps_conda_entries_and_comments():
    text = ("name: x\nchannels:\n  - conda-forge\ndependencies:\n  - python=3.11\n  - quarto>=1.7\n  - pip\n"
            "  - Pandas>=2.1  # data frames\n  - pip:\n      - typst>=0.12\n      - -e .\n")
    out = pin_environment(text, {"pandas": "3.1.1", "typst": "0.15.2", "conda-forge": "1"})
    assert out == text.replace("Pandas>=2.1", "Pandas==3.1.1").replace("typst>=0.12", "typst==0.15.2")
    assert environment_pins(out) == {"pandas": "==3.1.1", "typst": "==0.15.2"}


def test_make_installs_from_the_lock():
    makefile = (PATHS.root / "Makefile").read_text(encoding="utf-8")
    assert f"LOCK := {LOCK_FILE}" in makefile
    assert re.search(r"^STAMP := .*\$\(LOCK\)", makefile, re.MULTILINE), "STAMP hashar inte låsfilen"
    assert "pip install --quiet -r $(LOCK)" in makefile and "--no-deps -e ." in makefile
    assert re.search(r"^lock: .*## ", makefile, re.MULTILINE), "make lock saknas eller saknar hjälptext"


def test_installed_versions_are_the_locked_ones():
    """The environment the tests run in has the locked version of every direct dependency."""
    pins = lock_pins(_lock_text())
    wrong = []
    for req in _requirements():
        try:
            installed = metadata.version(req.name)
        except metadata.PackageNotFoundError:
            wrong.append(f"{req.name} (saknas)")
            continue
        if installed != pins.get(package_name(req.name)):
            wrong.append(f"{req.name} {installed} (låst {pins.get(package_name(req.name))})")
    if wrong:
        pytest.fail(f"installerat skiljer sig från {LOCK_FILE}: {', '.join(wrong)}; kör make venv")
