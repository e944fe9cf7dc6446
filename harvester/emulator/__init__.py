"""The local E-utilities server: NCBI's protocol, shapes and limits over loopback HTTP.

`from harvester.emulator import Emulator, EmulatorConfig, EmulatorThread` works; the server
(and aiohttp) load on first use, not when the package is imported."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["Emulator", "EmulatorConfig", "EmulatorThread"]

if TYPE_CHECKING:
    from harvester.emulator.config import EmulatorConfig
    from harvester.emulator.server import Emulator, EmulatorThread


def __getattr__(name: str) -> Any:
    if name == "EmulatorConfig":
        from harvester.emulator.config import EmulatorConfig

        return EmulatorConfig
    if name in __all__:
        from harvester.emulator import server

        return getattr(server, name)
    raise AttributeError(f"module 'harvester.emulator' has no attribute {name!r}")
