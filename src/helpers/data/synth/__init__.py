"""Synthetic Treserva-shaped extracts (see :mod:`helpers.data.synth.generate`).

This package module stays light (no numpy, pandas or openpyxl) so that the command line can offer
the scenarios without importing the generator.
"""

from __future__ import annotations

import argparse
import re
from importlib import resources

DEMO = "demo"


def scenarios() -> list[str]:
    """Names of the available scenarios: ``demo`` and every ``targets_<name>.yaml`` overlay."""
    files = (f.name for f in resources.files(__name__).iterdir())
    return [DEMO, *sorted(m.group(1) for f in files if (m := re.fullmatch(r"targets_(\w+)\.yaml", f)))]


def positive(text: str) -> float:
    """argparse type for ``--scale``: a number > 0 (a decimal comma is accepted)."""
    try:
        value = float(text.replace(",", "."))
    except ValueError:
        raise argparse.ArgumentTypeError(f"inte ett tal: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"skalan måste vara större än 0 (fick {text})")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--scenario`` and ``--scale``, shared by ``genomlysning data`` and ``python -m helpers.data.synth.generate``."""
    parser.add_argument("--scenario", choices=scenarios(), default=None,
                        help="syntetiskt scenario: demo (kalibrerat mot rapporten) eller kontrast "
                             "(en kommun som motsäger demodata); standard demo")
    parser.add_argument("--scale", type=positive, default=None,
                        help="multiplicera alla volymer (ärenden och befolkning), t.ex. 0.06 för en liten kommun; "
                             "standard 1")
