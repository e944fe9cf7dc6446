"""The one middleware every E-utility request passes: count it against the rate limit, hold it
for the modelled latency, maybe sabotage it, and log it.

Order matters and follows NCBI: the rate gate counts a request on arrival, before any work, and
a refused request is answered at once (no latency, no fault: faults never fire on refusals).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web
from aiohttp.typedefs import Middleware
from multidict import MultiDict

from harvester.emulator import faults as f
from harvester.emulator.connection import REQUEST_NUMBER
from harvester.emulator.gate import (
    Clock,
    RateGate,
    RateLimits,
    Verdict,
    set_rate_headers,
    verdict_response,
)
from harvester.emulator.history import HistoryStore
from harvester.emulator.latency import LatencyModel, profile
from harvester.emulator.params import (
    PARAMS_OVERRIDE,
    ParamError,
    Params,
    read_params,
    split_ids,
)
from harvester.emulator.requestlog import LogEntry, RequestLog, page_label, who_label
from harvester.emulator.sendpace import PACER_KEY, SendPacer
from harvester.ncbi import RESULT_ROOTS, RETMAX_CAP

if TYPE_CHECKING:
    from harvester.emulator.config import EmulatorConfig

Sleep = Callable[[float], Awaitable[None]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
VERDICT_KEY = web.RequestKey("harvester.verdict", Verdict)
FAULT_KEY = web.RequestKey("harvester.fault", str)
"""Set to `cut` or `short` for the streaming writer (app._stream) to act on."""
ENDPOINTS = frozenset(RESULT_ROOTS)


@dataclass(slots=True)
class Gatekeeper:
    """The rate gate, latency model, fault injector and request log of one emulator."""

    gate: RateGate
    latency: LatencyModel
    faults: f.FaultInjector
    history: HistoryStore
    log: RequestLog | None = None
    sleep: Sleep = asyncio.sleep
    stall_seconds: float = 150.0

    def close(self) -> None:
        if self.log is not None:
            self.log.close()


def from_config(
    config: EmulatorConfig, history: HistoryStore, clock: Clock, sleep: Sleep | None = None
) -> Gatekeeper:
    """Build the components an `EmulatorConfig` describes (`speedup` applied here, once)."""
    keys = frozenset(config.api_keys) if config.api_keys is not None else None
    limits = RateLimits(
        config.rate_limit,
        config.rate_without_key,
        config.rate_with_key,
        valid_keys=keys,
        shared_load=config.shared_load,
    )
    plan = config.faults
    if not isinstance(plan, f.FaultPlan):
        plan = f.FaultPlan.parse(plan)
    return Gatekeeper(
        RateGate(limits.scaled(config.speedup), clock),
        LatencyModel(profile(config.latency), config.seed, config.speedup, clock),
        f.FaultInjector(plan, config.seed, clock()),
        history,
        RequestLog(config.request_log) if config.request_log else None,
        sleep or asyncio.sleep,
        config.stall_seconds,
    )


def request_size(history: HistoryStore, endpoint: str, p: Params) -> int:
    """How many ids or records a request names: its `id` tokens or its page of a WebEnv set."""
    try:
        count = sum(len(split_ids(v)) for v in p.getall("id"))
        if not count and endpoint in ("efetch", "esummary", "elink"):
            key = p.get("query_key") or ""
            entry = history.get(p.get("webenv"), int(key)) if key.isdigit() else None
            count = len(entry[1]) if entry is not None else 0
        if endpoint in ("efetch", "esummary"):
            count = min(max(0, count - p.int("retstart", 0)), p.int("retmax", RETMAX_CAP))
    except ParamError:
        return 0
    return count


def middleware(keeper: Gatekeeper) -> Middleware:
    """The aiohttp middleware applying `keeper` to requests for `/…/<endpoint>.fcgi`."""
    clock = keeper.gate.clock

    @web.middleware
    async def gatekeeper(request: web.Request, handler: Handler) -> web.StreamResponse:
        name = request.path.rpartition("/")[2].removesuffix(".fcgi")
        if name not in ENDPOINTS:
            return await handler(request)
        arrived, wall = clock(), time.time()
        p = await read_params(request)
        api_key = p.get("api_key") or None
        address = request.remote or "unknown"
        verdict = keeper.gate.check(api_key, address)
        request[VERDICT_KEY] = verdict
        ids = request_size(keeper.history, name, p)
        fault: str | None = None
        delay = 0.0
        response: web.StreamResponse | None = None
        try:
            if not verdict.allowed:
                response = verdict_response(verdict)
                return response
            webenv, query_key = p.get("webenv") or "", p.get("query_key") or ""
            reused = request.get(REQUEST_NUMBER, 1) > 1
            fault = keeper.faults.choose(
                name, bool(webenv), bool(query_key), reused=reused, now=arrived, cmd=p.get("cmd")
            )
            if fault == "closed":  # the server had dropped the pooled connection
                response = f.close_unanswered(request)
                return response
            delay = keeper.latency.delay(name, ids)
            if delay > 0:
                await keeper.sleep(delay)
            if fault == "stall":
                await keeper.sleep(keeper.stall_seconds)
            elif fault == "expire":
                keeper.history.expire(webenv)
            elif fault is not None and fault not in f.AFTER_HANDLER:
                json_500 = fault in ("500", "errorroot") and keeper.faults.coin()
                response = f.immediate(
                    fault, name, p.json, query_key, verdict.who, verdict.keyed, json_500
                )
                fault = "500-json" if json_500 and fault == "500" else fault
            if response is None:
                if fault in ("cut", "short"):
                    request[FAULT_KEY] = fault
                elif fault == "nodates":  # the handler reads the request without its dates
                    kept = [(k, v) for k, v in p.values.items() if k not in f.DATE_LIMITS]
                    request[PARAMS_OVERRIDE] = Params(MultiDict(kept))
                bandwidth = keeper.latency.bandwidth() if fault is None else 0.0
                if bandwidth > 0:  # the body leaves at the modelled bandwidth (app.py)
                    request[PACER_KEY] = SendPacer(bandwidth, clock, keeper.sleep)
                response = await handler(request)
                if isinstance(response, web.Response) and not response.prepared:
                    if fault == "cut":
                        response = await f.cut_response(request, response)
                    elif fault in f.REWRITES and isinstance(response.body, bytes):
                        response.body = f.rewrite_links(fault, response.body)
                    elif fault == "shortset" and isinstance(response.body, bytes):
                        f.shorten_sets(keeper.history, response.body)
            return response
        finally:
            if keeper.log is not None:
                keeper.log.write(
                    LogEntry(
                        arrived,
                        wall,
                        name,
                        request.method,
                        who_label(api_key, address),
                        ids,
                        response.status if response is not None else 500,
                        _size(response),
                        fault,
                        round(delay, 6),
                        page_label(p.get("webenv"), p.get("query_key"), p.get("retstart")),
                    )
                )

    return gatekeeper


def _size(response: web.StreamResponse | None) -> int:
    if isinstance(response, web.Response) and not response.prepared:
        body = response.body
        return len(body) if isinstance(body, bytes | bytearray) else 0
    return response.body_length if response is not None else 0


async def rate_headers(request: web.Request, response: web.StreamResponse) -> None:
    """`on_response_prepare` hook: X-RateLimit-* on every response, faults and refusals too."""
    verdict = request.get(VERDICT_KEY)
    if verdict is not None:
        set_rate_headers(response, verdict)
