"""Running the emulator: in-process on an event loop (`Emulator`), in a background thread for
synchronous callers (`EmulatorThread`), or from `harvester serve`."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Awaitable, Callable
from types import TracebackType

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from harvester.emulator import connection
from harvester.emulator.app import build_app
from harvester.emulator.catalog import Catalog
from harvester.emulator.config import EmulatorConfig
from harvester.emulator.dataset import Dataset
from harvester.emulator.gatekeeper import from_config
from harvester.emulator.history import HistoryStore
from harvester.emulator.spec import load_spec, sized
from harvester.emulator.state import State
from harvester.errors import ConfigError
from harvester.ncbi import EUTILS_PATH

Sleep = Callable[[float], Awaitable[None]]


class _OneLine(logging.Filter):
    """A request aiohttp cannot parse (a 100 KB URL, bytes that are not HTTP) gets its 400 and
    one log line, not a traceback: it is the client's mistake, not the emulator's."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError):
            record.msg = f"{record.getMessage()}: HTTP {error.code}, {error.message[:120]}"
            record.args, record.exc_info, record.exc_text = (), None, None
        return True


PROTOCOL_LOG = logging.getLogger("harvester.emulator.http")
PROTOCOL_LOG.addFilter(_OneLine())


def build_state(
    config: EmulatorConfig,
    dataset: Dataset | None = None,
    *,
    clock: Callable[[], float] | None = None,
    sleep: Sleep | None = None,
) -> State:
    """The handlers' shared state; `clock` and `sleep` let tests drive time without waiting."""
    dataset = dataset or Dataset(
        sized(load_spec(config.dataset, config.as_of), config.record_scale, config.record_bytes)
    )
    clock = clock or time.monotonic
    history = HistoryStore(config.history_ttl, config.max_query_keys, clock, seed=config.seed)
    state = State(config, dataset, Catalog(dataset), history)
    state.gatekeeper = from_config(config, history, clock, sleep)
    return state


class Emulator:
    """`async with Emulator() as emu:` serves E-utilities at `emu.base_url` until the block ends."""

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        dataset: Dataset | None = None,
        *,
        clock: Callable[[], float] | None = None,
        sleep: Sleep | None = None,
    ):
        self.config = config or EmulatorConfig()
        self.state = build_state(self.config, dataset, clock=clock, sleep=sleep)
        self.app = build_app(self.state)
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        host = self.config.host if ":" not in self.config.host else f"[{self.config.host}]"
        return f"http://{host}:{self.port}{EUTILS_PATH}"

    async def start(self) -> str:
        self._runner = web.AppRunner(
            self.app,
            access_log=None,
            handle_signals=False,
            logger=PROTOCOL_LOG,
            keepalive_timeout=connection.KEEPALIVE_TIMEOUT,
            max_line_size=connection.PARSER_LINE_LIMIT,
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.host, self.config.port, reuse_address=True)
        try:
            await site.start()
        except OSError as exc:  # a port in use, or one this user may not open
            await self.stop()
            why = os.strerror(exc.errno) if exc.errno else str(exc)
            raise ConfigError(
                f"cannot listen on {self.config.host}:{self.config.port}: {why} "
                "(give another --port, or --port 0 for any free one)"
            ) from None
        server = site._server
        assert server is not None and isinstance(server, asyncio.base_events.Server)
        self.port = server.sockets[0].getsockname()[1]
        return self.base_url

    async def vanish(self) -> None:
        """Stop listening and drop open connections, keeping every WebEnv: an outage that
        clients see as connection refused, until `reappear`."""
        assert self._runner is not None
        for site in list(self._runner.sites):
            await site.stop()
        server = self._runner.server
        for open_connection in list(server.connections if server is not None else ()):
            open_connection.force_close()

    async def reappear(self) -> None:
        """Listen again on the same port after `vanish`."""
        assert self._runner is not None
        site = web.TCPSite(self._runner, self.config.host, self.port, reuse_address=True)
        await site.start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.state.gatekeeper is not None:
            self.state.gatekeeper.close()

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
