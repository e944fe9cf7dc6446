"""One logical request = pace, send, classify, retry; the only module that speaks HTTP.

Every attempt, retries included, waits its turn at the gate. Bodies are streamed chunk by chunk
into the parsers and counted against `max_response_bytes`. Records stream out as they are
parsed; a retried page skips the uids already handed out. Other items are released only when
their attempt has finished, so a retry never repeats them.
"""

from __future__ import annotations

import asyncio
import datetime
import email.utils
import logging
import random
import re
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TypeVar
from urllib.parse import urlencode

import aiohttp
from yarl import URL

from harvester.deflate import speed_up_http
from harvester.errors import HistoryExpiredError, TransportError
from harvester.eutils.concurrency import ConcurrencyControl
from harvester.eutils.connections import (
    POOL_IDLE_SECONDS,
    Exchange,
    StaleConnection,
    never_resend,
    trace,
)
from harvester.eutils.first_byte import current_watch
from harvester.eutils.gates import GateKey, process_gate, release_gate
from harvester.eutils.pacing import Gate, Release
from harvester.eutils.parse import Digest, Expected, Grouped, aparse, not_xml
from harvester.eutils.results import ErrorResult, Item, Record
from harvester.eutils.retry import (
    Fail,
    HttpOutcome,
    InBandError,
    RetryState,
    Verdict,
    classify,
    is_per_uid_error,
    parse_retry_after,
    request_label,
)
from harvester.eutils.retry_reasons import RetryReason
from harvester.eutils.settings import ClientConfig
from harvester.eutils.stall import StallWatch, watched
from harvester.eutils.xmlstream import BadBody, TooLarge, sniff
from harvester.ncbi import RecordFormat
from harvester.stats import Stats
from harvester.version import VERSION

__all__ = ["Params", "Transport"]

log = logging.getLogger("harvester.eutils")
NEVER_REACHED_WAIT = 8.0
"""Seconds of backoff a server that has not answered once in this run may cost a request
(one that answered before gets `max_outage_seconds`, to ride out an outage)."""
Params = Sequence[tuple[str, str]]
_FORM = {"Content-Type": "application/x-www-form-urlencoded"}
_ERROR_TEXT = re.compile(rb"<ERROR>(.*?)</ERROR>", re.S)
_T = TypeVar("_T")


class _Classified(Exception):
    """Carries a verdict out of an attempt (HTTP status or in-band error)."""

    def __init__(self, verdict: Verdict) -> None:
        super().__init__(type(verdict).__name__)
        self.verdict = verdict


def _from(endpoint: str, exc: BadBody) -> BadBody:
    """A body that is no XML at all, naming the utility that sent it (HTML from efetch)."""
    if exc.reason not in ("empty", "not_xml"):
        return exc  # the others name what was expected already
    return BadBody(exc.reason, f"{exc} from {endpoint}")


class Transport:
    """An aiohttp session behind the gate and the retry policy."""

    def __init__(
        self,
        config: ClientConfig,
        *,
        gate: Gate | None = None,
        stats: Stats | None = None,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.config = config
        speed_up_http()  # answers inflated by zlib-ng where installed (harvester/deflate.py)
        self.stats = stats if stats is not None else Stats()
        self._leased = gate is None
        """Whether the gate is the process's shared one, taken here and given back on close."""
        key = GateKey.of(config.base_url, config.api_key)
        self.gate = gate or process_gate(config.rate_policy(), key=key, margin=config.margin)
        # gate/* counters: this client's passes here, the whole process's in gate.stats
        self._rng = rng or random.Random()
        self._sleep = sleep
        self._session: aiohttp.ClientSession | None = None
        self.lost_webenvs: set[str] = set()
        """WebEnvs the History server has lost: reading an entry of one fails at once."""
        self.concurrency = ConcurrencyControl(config.concurrency)
        """Told each answer's latency and each 5xx or timeout; says how many may be out."""
        self.reached = False
        """Whether the server has answered once: one never reached is given up on sooner."""
        self.server_date: datetime.date | None = None
        """The earliest day (UTC) a good answer's `Date` header gave: the date the records
        fetched are as of, which a later refresh asks NCBI about (workflow/known.py)."""
        self.server_time: float | None = None
        """The latest `Date` header of a good answer (POSIX seconds): the server's clock, by
        which the record cache dates what it keeps and ages what it holds (record_cache.py)."""
        self._workers: ThreadPoolExecutor | None = None

    async def offload(self, work: Callable[[], _T], kind: str = "parse") -> _T:
        """`work()` run on the parse thread, off the event loop: parsing, field extraction and
        compression, so the loop only paces and moves bytes. One thread: a second gains
        nothing under one GIL (benchmarks/PARSE.md measures it)."""
        return await self.submit(work, kind)

    def submit(self, work: Callable[[], _T], kind: str = "parse") -> asyncio.Future[_T]:
        """`work()` queued on the parse thread now, behind whatever was queued before (the
        store's writes keep their order so, workflow/store_writer.py); its answer to await.
        The thread's CPU for it is counted under `thread/<kind>_s` (the summary's
        `parse_thread_cpu_s`)."""
        if self._workers is None:
            self._workers = ThreadPoolExecutor(1, thread_name_prefix="harvester-parse")
        spent = [0.0]

        def timed() -> _T:
            start = time.thread_time()
            try:
                return work()
            finally:
                spent[0] = time.thread_time() - start

        future = asyncio.get_running_loop().run_in_executor(self._workers, timed)
        future.add_done_callback(lambda _: self.stats.incr(f"thread/{kind}_s", spent[0]))
        return future

    async def open(self) -> None:
        """Create the one session; its connector holds twice the configured concurrency, so a
        hedged read's second copy (workflow/hedge.py) never waits for a connection its
        overdue first copy holds."""
        if self._session is None:
            cfg = self.config
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=2 * cfg.concurrency,
                    limit_per_host=2 * cfg.concurrency,
                    keepalive_timeout=POOL_IDLE_SECONDS,
                ),
                timeout=aiohttp.ClientTimeout(
                    total=cfg.total_timeout, connect=cfg.connect_timeout, sock_read=cfg.read_timeout
                ),
                headers={"User-Agent": f"harvester/{VERSION}"},  # Accept-Encoding: gzip too
                trace_configs=[trace(self.gate)],
            )
            never_resend(self._session)  # `_retried` resends instead (connections.py)

    async def close(self) -> None:
        """Close the session and give back a shared gate (idempotent)."""
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._workers is not None:
            self._workers.shutdown(wait=False, cancel_futures=True)
            self._workers = None
        if self._leased:
            self._leased = False
            release_gate(self.gate)

    def _identity(self, params: Params) -> list[tuple[str, str]]:
        cfg = self.config
        out = list(params)
        if cfg.tool:
            out.append(("tool", cfg.tool))
        if cfg.email:
            out.append(("email", cfg.email))
        if cfg.api_key:
            out.append(("api_key", cfg.api_key))
        return out

    def _request(self, endpoint: str, params: Params, n_ids: int) -> tuple[str, URL, bytes | None]:
        """GET normally; POST (form-encoded) for many ids or a long query."""
        url = f"{self.config.base_url}{endpoint}.fcgi"
        query = urlencode(self._identity(params))
        if n_ids > self.config.post_threshold or len(query) > self.config.max_get_length:
            return "POST", URL(url), query.encode()
        return "GET", URL(f"{url}?{query}", encoded=True), None

    def stream(
        self,
        endpoint: str,
        params: Params,
        *,
        n_ids: int = 0,
        db: str | None = None,
        fmt: RecordFormat | None = None,
        digest: Digest | None = None,
    ) -> Grouped[Item]:
        """Items of one request, retried as the classifier says; in-band errors become raises.
        Records come out through `digest` when given, parsed off the event loop, in the
        groups they were parsed in (`parse.Grouped`)."""
        attempt = partial(self._attempt, endpoint, params, n_ids, db, fmt, digest)
        return Grouped(self._retried(endpoint, params, attempt))

    async def raw(self, endpoint: str, params: Params, *, n_ids: int = 0) -> bytes:
        """The whole body of one request (retried; HTML, empty and ERROR bodies still count)."""
        attempt = partial(self._raw_attempt, endpoint, params, n_ids)
        return b"".join(
            [body async for step in self._retried(endpoint, params, attempt) for body in step]
        )

    async def _retried(
        self,
        endpoint: str,
        params: Params,
        attempt: Callable[[Release], AsyncIterator[list[_T]]],
    ) -> AsyncIterator[list[_T]]:
        """Run `attempt` at the gate until it succeeds or the retry policy gives up.

        Records stream out as they come, skipping uids an earlier attempt already handed out;
        anything else is held until its attempt has finished, so a retry never repeats it.
        """
        state = RetryState(self.config.backoff(), rng=self._rng)
        state.start()
        seen: set[str] = set()
        stale = 0
        while True:
            self._refuse_lost_entry(params)
            held: list[_T] = []
            release = await self.gate.acquire()
            if self.stats is not self.gate.stats:  # a shared Stats has the gate's own count
                self._count_pass(release)
            try:
                async for step in attempt(release):
                    fresh: list[_T] = []
                    for item in step:
                        if not isinstance(item, Record):
                            held.append(item)
                        elif not item.uid or item.uid not in seen:
                            seen.add(item.uid)
                            fresh.append(item)
                    if fresh:
                        self.stats.incr(f"{endpoint}/records", len(fresh))
                        yield fresh
                    del step, fresh  # gone with the consumer (budget.STREAM_BYTES)
                self._answered(release)
                if held:
                    yield held
                return
            except StaleConnection as exc:
                stale += 1
                if stale <= self.config.concurrency + 1:  # each pooled connection at most once
                    self.stats.incr("connection/closed_by_server")
                    continue
                verdict = classify(exc.__cause__ or exc) or Fail(exc)
            except _Classified as exc:
                verdict = exc.verdict
            except Exception as exc:  # classified; unknown ones re-raised
                verdict = classify(exc, history_attempts=self.config.history_attempts) or Fail(exc)
            await self._after_failure(endpoint, state, verdict)

    def _count_pass(self, release: Release) -> None:
        """This client's own `gate/*` counters (the gate's count every client in the process,
        and its summary must say what this job waited and at which rate it was paced)."""
        self.stats.incr("gate/acquired")
        self.stats.incr("gate/rate_sum", self.gate.rate)
        if release.waited > 0:
            self.stats.incr("gate/waits")
            self.stats.incr("gate/wait_seconds", release.waited)

    def _refuse_lost_entry(self, params: Params) -> None:
        """An attempt to read an entry of a WebEnv already known lost would only be retried to
        the same end: raise at once, before it takes a turn at the gate."""
        if not self.lost_webenvs:
            return
        keys = dict(params)
        webenv = keys.get("WebEnv")
        reads = "query_key" in keys or keys.get("term", "").startswith("#")
        if webenv in self.lost_webenvs and reads:
            raise HistoryExpiredError(f"the History server lost {webenv}; rebuild its entries")

    def _check(self, endpoint: str, item: Item) -> Item:
        if not isinstance(item, ErrorResult):
            return item
        verdict = classify(InBandError(item.message), history_attempts=self.config.history_attempts)
        if isinstance(verdict, Fail) and is_per_uid_error(item.message):
            self.stats.incr(f"{endpoint}/uid_errors")
            return item
        raise _Classified(verdict or Fail(TransportError("unclassified in-band error")))

    async def _after_failure(self, endpoint: str, state: RetryState, verdict: Verdict) -> None:
        if isinstance(verdict, Fail):
            error = verdict.error
            if isinstance(error, aiohttp.ClientError):
                raise TransportError(
                    f"{endpoint} request failed ({type(error).__name__})"
                ) from None
            raise error
        self.stats.incr(f"retry/{verdict.reason}")
        if verdict.reason == RetryReason.HTTP_429:
            cut = self.gate.on_429(verdict.retry_after)
            if self.stats is not self.gate.stats:
                self.stats.incr("gate/slowdowns")
                self.stats.incr("gate/rate_cuts", cut)
        elif verdict.reason.server_trouble:
            self.concurrency.on_trouble(self.gate.now(), self.gate.rate)
        delay = state.next_delay(verdict)
        if verdict.outage and not self.reached and state.outage_waited > NEVER_REACHED_WAIT:
            delay = None  # a wrong host or port, far more often than an outage at the start
        if delay is None:
            self.stats.incr(f"giveup/{verdict.reason}")
            raise verdict.error
        if verdict.outage and state.outages == 1:
            log.warning("%s; trying again for a while", verdict.error)
        log.info("%s: %s; retry %d in %.2fs", endpoint, verdict.reason, state.failures, delay)
        await self._sleep(delay)

    async def _attempt(
        self,
        endpoint: str,
        params: Params,
        n_ids: int,
        db: str | None,
        fmt: RecordFormat | None,
        digest: Digest | None,
        release: Release,
    ) -> AsyncIterator[list[Item]]:
        chunks = self._send(endpoint, params, n_ids, release)
        cap = self.config.max_record_bytes
        try:
            expect = Expected.of(endpoint, fmt)
            parsed = aparse(
                chunks,
                db=db,
                fmt=fmt,
                expect=expect,
                max_record_bytes=cap,
                digest=digest,
                offload=self.offload,
            )
            async for step in parsed.groups:
                checked = [
                    item if isinstance(item, Record) else self._check(endpoint, item)
                    for item in step
                ]
                del step
                yield checked
                del checked  # gone with the consumer (budget.STREAM_BYTES)
        except TooLarge as exc:  # our own limit: say which request it was
            raise TooLarge(f"{exc} ({request_label(endpoint, params)})") from None
        except BadBody as exc:
            raise _from(endpoint, exc) from None
        finally:
            await chunks.aclose()  # release the connection even when parsing stopped early

    async def _send(
        self, endpoint: str, params: Params, n_ids: int, release: Release
    ) -> AsyncGenerator[bytes, None]:
        """One HTTP exchange; a pooled connection found closed raises StaleConnection."""
        if self._session is None:
            await self.open()
        assert self._session is not None
        method, url, data = self._request(endpoint, params, n_ids)
        headers = _FORM if data is not None else None
        exchange = Exchange(release)
        watch = current_watch.get()
        if watch is not None:
            watch.exchange = exchange  # the hedger sees this request out from its send
        try:
            async with self._session.request(
                method, url, data=data, headers=headers, trace_request_ctx=exchange
            ) as resp:
                exchange.answered = True
                async for chunk in self._answer(endpoint, resp, release):
                    yield chunk
        except aiohttp.ClientError as exc:
            if exchange.stale(exc):
                raise StaleConnection(str(exc)) from exc
            raise
        finally:
            if watch is not None and watch.exchange is exchange:
                watch.exchange = None

    async def _answer(
        self, endpoint: str, resp: aiohttp.ClientResponse, release: Release
    ) -> AsyncGenerator[bytes, None]:
        """A non-2xx status becomes a verdict; a 2xx body streams out."""
        self.stats.request(endpoint, resp.status)
        self.reached = True
        if 200 <= resp.status < 300:
            self.concurrency.on_first_byte(max(0.0, self.gate.now() - release.at))
            self._rate_headers(resp, release)
            self._date_header(resp.headers.get("Date"))
        else:
            body = await resp.content.read(4096)
            outcome = HttpOutcome(
                resp.status, body, parse_retry_after(resp.headers.get("Retry-After"))
            )
            unexpected = Fail(TransportError(f"unexpected HTTP {resp.status}"))
            raise _Classified(classify(outcome) or unexpected)
        async for chunk in self._chunks(resp):
            yield chunk

    def _rate_headers(self, resp: aiohttp.ClientResponse, release: Release) -> None:
        """Pass `X-RateLimit-Limit`/`-Remaining` to the gate, when both are there and whole."""
        limit = resp.headers.get("X-RateLimit-Limit", "")
        remaining = resp.headers.get("X-RateLimit-Remaining", "")
        if limit.isdigit() and remaining.isdigit():
            self.gate.on_rate_headers(release, int(limit), int(remaining))

    def _date_header(self, value: str | None) -> None:
        """Keep the earliest day a `Date` header names and its latest time (an unreadable one
        is ignored)."""
        if value is None:
            return
        try:
            stamp = email.utils.parsedate_to_datetime(value).astimezone(datetime.UTC)
        except (TypeError, ValueError):
            return
        self.server_time = max(self.server_time or 0.0, stamp.timestamp())
        day = stamp.date()
        if self.server_date is None or day < self.server_date:
            self.server_date = day

    def _answered(self, release: Release) -> None:
        """An attempt's answer is in whole: its time since the send is a latency sample."""
        self.concurrency.on_latency(max(0.0, self.gate.now() - release.at))

    async def _chunks(self, resp: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
        cfg = self.config
        total, cap = 0, cfg.max_response_bytes
        watch = StallWatch(cfg.stall_seconds, cfg.stall_bytes, asyncio.get_running_loop().time)
        async for chunk in watched(partial(resp.content.read, cfg.chunk_size), watch):
            total += len(chunk)
            self.stats.incr("bytes/in", len(chunk))
            if total > cap:
                raise TooLarge(f"the response exceeded max_response_bytes ({cap} bytes)")
            yield chunk
            # A body already buffered would otherwise be parsed in one uninterrupted block
            # when it is parsed on the loop; yield once per chunk instead.
            await asyncio.sleep(0)

    async def _raw_attempt(
        self, endpoint: str, params: Params, n_ids: int, release: Release
    ) -> AsyncIterator[list[bytes]]:
        parts: list[bytes] = []
        async for chunk in self._send(endpoint, params, n_ids, release):
            parts.append(chunk)
        body = b"".join(parts)
        sniffed = sniff(body[:4096])
        if sniffed.kind in ("empty", "html"):
            raise _from(endpoint, BadBody(*not_xml(sniffed)))
        error = _ERROR_TEXT.search(body[:4096])
        if error is not None:
            self._check(endpoint, ErrorResult(error.group(1).decode("utf-8", "replace").strip()))
        yield [body]
