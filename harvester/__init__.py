"""harvester: asynchronous batch link harvesting for NCBI E-utilities, with a local emulator."""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
