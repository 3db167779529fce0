"""Helpers for the report *Genomlysning Barn och unga*.

One installed package shared by every chapter notebook: paths, the raw-data contract, ingest,
the synthetic demo data, statistics, figure and table publishing, and the renderers.
"""

__version__ = "0.7.0"
