"""The chapter layer: one module per chapter that computes the counts it publishes and names its key figures."""
