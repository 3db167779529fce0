"""Statistics with honest uncertainty (stats) and disclosure control over everything a chapter publishes (disclosure)."""
