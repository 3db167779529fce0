"""The data layer: the raw-data contract and code lists, personnummer, ingest (raw → processed) and the synthetic demo generator."""
