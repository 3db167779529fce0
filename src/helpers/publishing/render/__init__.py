"""Rendering the staged book: Quarto where it is installed, the built-in pandoc + typst renderer
otherwise. Both read the same staged project (``_build/<year>/book``) and never execute code."""
