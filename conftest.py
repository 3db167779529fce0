"""Session set-up shared by the unit tests and the nbval run of the chapter notebooks.

The notebooks read ``data/processed``; before any test runs, the synthetic demo extracts are
written to ``data/raw`` (if it holds no extracts) and ingested (if the processed data are not
current), exactly as ``make data`` does.
"""

from __future__ import annotations


def pytest_sessionstart(session):  # noqa: ARG001 - pytest hook signature
    from helpers.config import PATHS
    from helpers.data import ingest
    from helpers.data.synth import generate

    PATHS.raw.mkdir(parents=True, exist_ok=True)
    if not any(PATHS.raw.glob("*.xlsx")):
        generate.main(PATHS.raw)
    if not ingest.is_current():
        ingest.run()
