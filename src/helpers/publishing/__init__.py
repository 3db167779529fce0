"""The publishing layer: Swedish number format and phrasing, typography, figures, tables, key figures and prose (publish), and the built-in renderer."""
