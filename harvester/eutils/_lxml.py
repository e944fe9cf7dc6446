"""The one place lxml is imported: it ships no type stubs, so mypy is told so here only."""

from __future__ import annotations

from lxml import etree  # type: ignore[import-untyped]

__all__ = ["etree"]
