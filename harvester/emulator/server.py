"""Running the emulator: in-process on an event loop (`Emulator`), in a background thread for
synchronous callers (`EmulatorThread`), or from `harvester serve`."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from aiohttp import web

from harvester.emulator.app import build_app
from harvester.emulator.catalog import Catalog
from harvester.emulator.dataset import Dataset
from harvester.emulator.history import HistoryStore
from harvester.emulator.spec import load_spec
from harvester.emulator.state import State
from harvester.ncbi import EUTILS_PATH, MAX_QUERY_KEYS


@dataclass(frozen=True, slots=True)
class EmulatorConfig:
    """Everything that shapes an emulator run; equal configs answer identically."""

    dataset: str | Path | None = "tiny"
    host: str = "127.0.0.1"
    port: int = 0
    history_ttl: float = 3600.0
    """Seconds a WebEnv lives after its last use (NCBI does not document it; guesses vary)."""
    max_query_keys: int = MAX_QUERY_KEYS
    seed: int = 0


def build_state(config: EmulatorConfig, dataset: Dataset | None = None) -> State:
    dataset = dataset or Dataset(load_spec(config.dataset))
    history = HistoryStore(config.history_ttl, config.max_query_keys, seed=config.seed)
    return State(config, dataset, Catalog(dataset), history)


class Emulator:
    """`async with Emulator() as emu:` serves E-utilities at `emu.base_url` until the block ends."""

    def __init__(self, config: EmulatorConfig | None = None, dataset: Dataset | None = None):
        self.config = config or EmulatorConfig()
        self.state = build_state(self.config, dataset)
        self.app = build_app(self.state)
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        host = self.config.host if ":" not in self.config.host else f"[{self.config.host}]"
        return f"http://{host}:{self.port}{EUTILS_PATH}"

    async def start(self) -> str:
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.host, self.config.port, reuse_address=True)
        await site.start()
        server = site._server
        assert server is not None and isinstance(server, asyncio.base_events.Server)
        self.port = server.sockets[0].getsockname()[1]
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Emulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


class EmulatorThread:
    """The emulator on its own event loop in a daemon thread, for synchronous clients
    (Biopython, subprocesses, benchmarks): `with EmulatorThread() as emu: emu.base_url`."""

    def __init__(self, config: EmulatorConfig | None = None, dataset: Dataset | None = None):
        self.emulator = Emulator(config, dataset)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, daemon=True, name="harvester-emulator"
        )

    @property
    def base_url(self) -> str:
        return self.emulator.base_url

    def __enter__(self) -> EmulatorThread:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.emulator.start(), self._loop).result(30)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.emulator.stop(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
