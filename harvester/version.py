"""The harvester's version, in a module of its own: the transport's User-Agent and the crash
report read it without importing the package's public API (`harvester/__init__.py`)."""

from __future__ import annotations

VERSION = "0.1.0"
"""Kept equal to `version` in pyproject.toml."""
