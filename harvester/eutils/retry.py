"""What is worth retrying, and how long to wait: a pure classifier and a capped backoff.

`classify` maps one attempt's outcome (an exception, HTTP status facts, or an in-band `<ERROR>`
text) to `Retry(reason)` or `Fail(error)`. `RetryState` applies exponential backoff with full
jitter, honours Retry-After, and stops at an attempt cap, a per-reason cap (history entries:
retried a few times, then HistoryExpiredError so the caller rebuilds) and a total-time cap.
An unreachable server (connection refused or reset) is an outage, not a bad answer: those
failures do not use up attempts, only an outage budget of waiting (`max_outage`), so a server
that vanishes for half a minute and comes back does not end a long job.
Error messages are plain sentences and never include the API key or a request URL.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

import aiohttp
import orjson
from aiohttp.http_exceptions import ContentEncodingError

from harvester.errors import (
    DateTypeRefused,
    HarvesterError,
    HistoryExpiredError,
    NcbiPermanentError,
    NcbiTransientError,
    TransportError,
)
from harvester.eutils.retry_reasons import RetryReason
from harvester.eutils.stall import Stalled
from harvester.eutils.xmlstream import BadBody, TooLarge

__all__ = [
    "Backoff",
    "Fail",
    "HttpOutcome",
    "InBandError",
    "Outcome",
    "Retry",
    "RetryState",
    "classify",
    "is_per_uid_error",
    "parse_retry_after",
    "request_label",
]


@dataclass(frozen=True, slots=True)
class Retry:
    """Try again; `error` is raised if the caps run out first."""

    reason: RetryReason
    error: HarvesterError
    retry_after: float | None = None
    limit: int | None = None
    """At most this many attempts may fail for this reason."""
    outage: bool = False
    """The server could not be reached: charged to the outage budget, not the attempt cap."""


@dataclass(frozen=True, slots=True)
class Fail:
    """Do not retry: raise `error`."""

    error: BaseException


Verdict = Retry | Fail


@dataclass(frozen=True, slots=True)
class HttpOutcome:
    """Facts about an HTTP answer: status, the start of its body, its Retry-After in seconds."""

    status: int
    body: bytes = b""
    retry_after: float | None = None


@dataclass(frozen=True, slots=True)
class InBandError:
    """The text of an `<ERROR>` (or JSON "error") inside an HTTP 200 answer."""

    message: str


Outcome = BaseException | HttpOutcome | InBandError

HISTORY_ATTEMPTS = 3
UNKNOWN_ERROR_ATTEMPTS = 2


_CODING = re.compile(r"content-encoding: ([\w-]+)", re.I)


def classify(outcome: Outcome, *, history_attempts: int = HISTORY_ATTEMPTS) -> Verdict | None:
    """Retry, fail, or (None) carry on: a 2xx status is the only outcome that carries on."""
    if isinstance(outcome, HttpOutcome):
        return _classify_http(outcome)
    if isinstance(outcome, InBandError):
        return _classify_text(outcome.message, history_attempts)
    return _classify_exception(outcome, history_attempts)


def _classify_exception(exc: BaseException, history_attempts: int) -> Verdict:
    if isinstance(exc, TooLarge):  # over a limit of ours: the same answer would be again
        return Fail(exc)
    if isinstance(exc, BadBody):
        return Retry(exc.reason, exc)
    if isinstance(exc, aiohttp.ClientPayloadError):
        if isinstance(exc.__cause__, ContentEncodingError):  # not cut off: not what it says
            coding = _CODING.search(str(exc.__cause__))
            label = coding.group(1) if coding else "compressed"
            bad = BadBody(
                RetryReason.BAD_ENCODING,
                f"the response body was labelled {label} (Content-Encoding) but could not be "
                f"decoded as {label} on every attempt",
            )
            return Retry(RetryReason.BAD_ENCODING, bad)
        return Retry(
            RetryReason.TRUNCATED, TransportError("the response body was cut off on every attempt")
        )
    if isinstance(exc, Stalled):
        return Retry(RetryReason.TIMEOUT, exc)
    if isinstance(exc, asyncio.TimeoutError | aiohttp.ServerTimeoutError):
        return Retry(
            RetryReason.TIMEOUT, TransportError("NCBI did not answer in time on any attempt")
        )
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return Fail(
            TransportError(f"cannot find the host {exc.host!r} (its name does not resolve)")
        )
    if isinstance(exc, aiohttp.ClientConnectionError):
        error = TransportError(f"could not reach {_where(exc)} ({_why(exc)})")
        return Retry(RetryReason.CONNECTION, error, outage=True)
    if isinstance(exc, HistoryExpiredError):
        return Retry(RetryReason.HISTORY, exc, limit=history_attempts)
    if isinstance(exc, NcbiTransientError):
        return Retry(RetryReason.NCBI, exc)
    return Fail(exc)


_KEY = "check the key in NCBI_API_KEY (or in the variable the job's api_key_env names)"


def _where(exc: aiohttp.ClientConnectionError) -> str:
    """host:port of a connection that failed, when aiohttp says (it says for connects)."""
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"{exc.host}:{exc.port}"
    return "the server"


def _why(exc: aiohttp.ClientConnectionError) -> str:
    """The system's reason (`Connection refused`), else the exception's kind."""
    errno = getattr(getattr(exc, "os_error", None), "errno", None)
    return os.strerror(errno) if errno else type(exc).__name__


def _classify_http(out: HttpOutcome) -> Verdict | None:
    status = out.status
    if 200 <= status < 300:
        return None
    if status == 429:
        error = NcbiTransientError("NCBI kept answering 429 (API rate limit exceeded)")
        return Retry(RetryReason.HTTP_429, error, out.retry_after)
    if status >= 500:
        error = NcbiTransientError(f"NCBI answered HTTP {status} on every attempt")
        return Retry(RetryReason.http(status), error, out.retry_after)
    envelope = _envelope_error(out.body)
    if envelope is not None:
        return _classify_envelope(status, envelope)
    message = _json_error(out.body) or out.body[:300].decode("utf-8", "replace")
    if "api key invalid" in message.lower():
        return Fail(
            NcbiPermanentError(f"NCBI rejected the API key (HTTP 400 'API key invalid'); {_KEY}")
        )
    if "id list is empty" in message.lower():
        return Fail(NcbiPermanentError(_BAD_IDS))
    if status == 414:
        return Fail(NcbiPermanentError("NCBI refused an over-long URL (HTTP 414); use POST"))
    return Fail(NcbiPermanentError(f"NCBI refused the request with HTTP {status}"))


_BAD_IDS = "NCBI could not read any id of the request ('ID list is empty'): ids must be UIDs"


_ENVELOPE = re.compile(rb"<ERROR>(.*?)(?:</ERROR>|$)", re.S)
_MARKUP = re.compile(r"<[^>]*>?")


def _envelope_error(body: bytes) -> str | None:
    """The text of an `<ERROR>` envelope in a 4xx body (NCBI relays backend timeouts and proxy
    failures so, see NCBI_BEHAVIOUR.md); the body may be cut before `</ERROR>`."""
    found = _ENVELOPE.search(body)
    if found is None:
        return None
    text = _MARKUP.sub(" ", found.group(1).decode("utf-8", "replace"))
    return " ".join(text.split())[:300]


def _classify_envelope(status: int, message: str) -> Verdict:
    """A 4xx `<ERROR>` envelope is judged by what it says: NCBI's refusals fail, anything else
    (a relayed backend failure, `proxy_stream()`) is transient and gets every attempt."""
    verdict = _classify_text(message, HISTORY_ATTEMPTS)
    if isinstance(verdict, Retry) and verdict.reason == RetryReason.NCBI_ERROR:
        error = NcbiTransientError(f"NCBI answered HTTP {status} '{message}' on every attempt")
        return Retry(RetryReason.http(status), error)
    return verdict


def _json_error(body: bytes) -> str | None:
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return str(doc["error"]) if isinstance(doc, dict) and "error" in doc else None


REFUSALS = (
    "neither query_key nor id specified",
    "empty term and query_key",
    "cannot be larger than",
)
"""In-band texts NCBI gives for requests that will never succeed as sent (see NCBI_BEHAVIOUR.md);
"retstart cannot be larger than 9998" comes wrapped in "Search Backend failed", so it is
checked before the backend's transient failures."""


def _classify_text(message: str, history_attempts: int) -> Verdict:
    low = message.lower()
    if "unable to obtain query" in low:
        expired = HistoryExpiredError(f"the History server lost an entry ({message}); rebuild it")
        return Retry(RetryReason.HISTORY, expired, limit=history_attempts)
    if "empty history id list" in low:
        return Fail(
            NcbiPermanentError(f"NCBI found nothing to do for that history entry: {message}")
        )
    if any(text in low for text in REFUSALS):
        return Fail(NcbiPermanentError(f"NCBI refused the request: {message}"))
    if "datetype" in low or " dates for db=" in low:  # a db without that date, in-band
        return Fail(DateTypeRefused(f"NCBI refused the date limit: {message}"))
    if "backend failed" in low or "temporarily unavailable" in low:
        return Retry(
            RetryReason.BACKEND, NcbiTransientError(f"NCBI's backend kept failing: {message}")
        )
    if "rate limit exceeded" in low:
        return Retry(
            RetryReason.HTTP_429,
            NcbiTransientError("NCBI kept answering 'API rate limit exceeded'"),
        )
    if "link name" in low or "linkname" in low:  # elink refusing a name it has not
        return Fail(NcbiPermanentError(f"NCBI does not know the link name: {message}"))
    if "invalid db name" in low or "can not retrieve dbinfo" in low:
        return Fail(NcbiPermanentError(f"NCBI does not know the database: {message}"))
    if "id list is empty" in low or "empty id list" in low:
        return Fail(NcbiPermanentError(_BAD_IDS))
    if "api key invalid" in low:
        return Fail(NcbiPermanentError(f"NCBI rejected the API key ('API key invalid'); {_KEY}"))
    if is_per_uid_error(message) or "too many uids" in low:
        return Fail(NcbiPermanentError(f"NCBI refused part of the request: {message}"))
    error = NcbiTransientError(f"NCBI reported an error: {message}")
    return Retry(RetryReason.NCBI_ERROR, error, limit=UNKNOWN_ERROR_ATTEMPTS)


def is_per_uid_error(message: str) -> bool:
    """An ERROR about single uids beside valid records ("Invalid uid"), not about the request."""
    low = message.lower()
    return "invalid uid" in low or "cannot get document summary" in low or "uid=" in low


def request_label(endpoint: str, params: Sequence[tuple[str, str]]) -> str:
    """Which request a message is about, without its URL or key: `efetch of nuccore, id 5`."""
    keys = dict(params)
    label = f"{endpoint} of {keys.get('db', keys.get('dbfrom', '?'))}"
    ids = [i for key, value in params if key == "id" for i in value.split(",") if i]
    if len(ids) == 1:
        label += f", id {ids[0]}"
    elif ids:
        label += f", {len(ids)} ids"
    if "query_key" in keys:
        label += f", query_key {keys['query_key']}"
    if "retstart" in keys:
        label += f", retstart {keys['retstart']}"
    return label


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date), None if absent."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with full jitter, capped per wait, in attempts and in total time."""

    max_attempts: int = 6
    max_total: float = 600.0
    """Seconds from a request's first attempt after which it is not retried again."""
    base: float = 0.5
    cap: float = 30.0
    max_outage: float = 60.0
    """Seconds of backoff an unreachable server may cost one request before it gives up."""

    def delay(self, failures: int, rng: random.Random) -> float:
        """Wait after the `failures`-th failure: uniform in [0, min(cap, base * 2**(n-1))]."""
        return rng.uniform(0.0, min(self.cap, self.base * 2 ** (failures - 1)))


@dataclass(slots=True)
class RetryState:
    """One request's retry bookkeeping; `next_delay` says how long to wait, or None to give up."""

    backoff: Backoff
    clock: Callable[[], float] = time.monotonic
    rng: random.Random = field(default_factory=random.Random)
    failures: int = 0
    reasons: Counter[RetryReason] = field(default_factory=Counter)
    started: float | None = None
    outages: int = 0
    outage_waited: float = 0.0

    def start(self) -> None:
        """Mark the first attempt (the total-time cap counts from here)."""
        if self.started is None:
            self.started = self.clock()

    def next_delay(self, verdict: Retry) -> float | None:
        """Record a failed attempt; the wait before the next one, or None when a cap is hit."""
        self.start()
        self.failures += 1
        self.reasons[verdict.reason] += 1
        if verdict.limit is not None and self.reasons[verdict.reason] >= verdict.limit:
            return None
        if verdict.outage:
            self.outages += 1
        elif self.failures - self.outages >= self.backoff.max_attempts:
            return None
        delay = self.backoff.delay(self.failures, self.rng)
        if verdict.retry_after is not None:
            delay = max(delay, verdict.retry_after)
        if verdict.outage:  # summed, not timed, so the budget also holds under a fake sleep
            self.outage_waited += delay
            if self.outage_waited > self.backoff.max_outage:
                return None
        assert self.started is not None
        if self.clock() - self.started + delay > self.backoff.max_total:
            return None
        return delay
