"""The retry classifier (a table) and the backoff policy (seeded RNG, fake clock, no sleeping)."""

from __future__ import annotations

import random

import aiohttp
import pytest

from harvester.errors import (
    HistoryExpiredError,
    NcbiPermanentError,
    NcbiTransientError,
    TransportError,
)
from harvester.eutils.retry import (
    Backoff,
    Fail,
    HttpOutcome,
    InBandError,
    Outcome,
    Retry,
    RetryState,
    classify,
    parse_retry_after,
)
from harvester.eutils.xmlstream import BadBody, TooLarge

KEY = "0123456789abcdef0123456789abcdef0123"
BAD_KEY_BODY = (
    b'{"error":"API key invalid","api-key":"' + KEY.encode() + b'","type":"invalid",'
    b'"status":"unknown"}'
)
RATE_BODY = b'{"error":"API rate limit exceeded","api-key":"1.2.3.4","count":"5","limit":"3"}'

RETRIED: list[tuple[Outcome, str]] = [
    (aiohttp.ClientConnectionError("reset"), "connection"),
    (aiohttp.ServerDisconnectedError(), "connection"),
    (TimeoutError(), "timeout"),
    (aiohttp.ClientPayloadError("Response payload is not completed"), "truncated"),
    (HttpOutcome(429, RATE_BODY), "http_429"),
    (HttpOutcome(500, b"<html>oops</html>"), "http_500"),
    (HttpOutcome(502), "http_502"),
    (HttpOutcome(503), "http_503"),
    (BadBody("empty", "empty response body"), "empty"),
    (BadBody("truncated", "incomplete XML"), "truncated"),
    (BadBody("not_xml", "HTML page where XML was expected"), "not_xml"),
    (InBandError("Search Backend failed: some reason"), "backend"),
    (InBandError("Unable to obtain query #1"), "history"),
    (InBandError("API rate limit exceeded"), "http_429"),
    (InBandError("Something NCBI never said before"), "ncbi_error"),
]

FAILED: list[tuple[Outcome, type[BaseException], str]] = [
    (HttpOutcome(400, BAD_KEY_BODY), NcbiPermanentError, "rejected the API key"),
    (
        HttpOutcome(400, b"ID list is empty! Possibly it has no correct IDs."),
        NcbiPermanentError,
        "id",
    ),
    (HttpOutcome(404, b"not found"), NcbiPermanentError, "HTTP 404"),
    (HttpOutcome(414), NcbiPermanentError, "414"),
    (InBandError("Invalid db name specified: fleegle"), NcbiPermanentError, "database"),
    (InBandError("ID list is empty! Possibly it has no correct IDs."), NcbiPermanentError, "id"),
    (InBandError("Empty history ID list - nothing todo"), NcbiPermanentError, "history"),
    (InBandError("Neither query_key nor id specified"), NcbiPermanentError, "refused"),
    (InBandError("Empty term and query_key - nothing todo"), NcbiPermanentError, "refused"),
    (
        InBandError("Search Backend failed: Exception:\n'retstart' cannot be larger than 9998."),
        NcbiPermanentError,
        "9998",
    ),
    (TooLarge("the response exceeded max_response_bytes"), TooLarge, "max_response_bytes"),
    (ValueError("a bug"), ValueError, "a bug"),
]


@pytest.mark.parametrize(("outcome", "reason"), RETRIED)
def test_retried_outcomes(outcome: Outcome, reason: str) -> None:
    verdict = classify(outcome)
    assert isinstance(verdict, Retry)
    assert verdict.reason == reason


@pytest.mark.parametrize(("outcome", "error", "words"), FAILED)
def test_failed_outcomes(outcome: Outcome, error: type[BaseException], words: str) -> None:
    verdict = classify(outcome)
    assert isinstance(verdict, Fail)
    assert isinstance(verdict.error, error)
    assert words.lower() in str(verdict.error).lower()


def test_success_carries_on() -> None:
    assert classify(HttpOutcome(200)) is None


def test_invalid_key_message_never_contains_the_key() -> None:
    verdict = classify(HttpOutcome(400, BAD_KEY_BODY))
    assert isinstance(verdict, Fail)
    assert KEY not in str(verdict.error)
    assert str(verdict.error).startswith("NCBI rejected the API key")


def test_history_errors_end_as_history_expired() -> None:
    verdict = classify(InBandError("Unable to obtain query #3"), history_attempts=3)
    assert isinstance(verdict, Retry)
    assert isinstance(verdict.error, HistoryExpiredError)
    assert verdict.limit == 3
    state = RetryState(Backoff(max_attempts=10), clock=lambda: 0.0, rng=random.Random(1))
    assert state.next_delay(verdict) is not None
    assert state.next_delay(verdict) is not None
    assert state.next_delay(verdict) is None  # third failure: raise HistoryExpiredError


def test_transient_errors_carry_their_final_exception() -> None:
    verdict = classify(HttpOutcome(503))
    assert isinstance(verdict, Retry)
    assert isinstance(verdict.error, NcbiTransientError)
    conn = classify(aiohttp.ClientConnectionError())
    assert isinstance(conn, Retry) and isinstance(conn.error, TransportError)


def test_backoff_is_full_jitter_within_exponential_bounds() -> None:
    backoff = Backoff(base=0.5, cap=8.0)
    rng = random.Random(42)
    for failures in range(1, 10):
        bound = min(8.0, 0.5 * 2 ** (failures - 1))
        samples = [backoff.delay(failures, rng) for _ in range(200)]
        assert all(0.0 <= s <= bound for s in samples)
        assert max(samples) > bound * 0.8  # the jitter spans the range
        assert min(samples) < bound * 0.2


def test_backoff_is_reproducible_with_a_seed() -> None:
    a = [Backoff().delay(n, random.Random(3)) for n in range(1, 6)]
    b = [Backoff().delay(n, random.Random(3)) for n in range(1, 6)]
    assert a == b


def test_attempts_are_capped() -> None:
    state = RetryState(Backoff(max_attempts=4), clock=lambda: 0.0, rng=random.Random(0))
    verdict = Retry("http_503", NcbiTransientError("x"))
    delays = [state.next_delay(verdict) for _ in range(4)]
    assert [d is not None for d in delays] == [True, True, True, False]
    assert state.reasons["http_503"] == 4


def test_total_time_is_capped() -> None:
    now = [0.0]
    state = RetryState(
        Backoff(max_attempts=100, max_total=10.0, base=1.0, cap=4.0),
        clock=lambda: now[0],
        rng=random.Random(0),
    )
    state.start()
    verdict = Retry("timeout", TransportError("x"))
    waited = 0.0
    while (delay := state.next_delay(verdict)) is not None:
        now[0] += delay
        waited += delay
    assert waited <= 10.0
    assert state.failures < 100


def test_retry_after_is_honoured_as_a_floor() -> None:
    state = RetryState(Backoff(base=0.1, cap=0.2), clock=lambda: 0.0, rng=random.Random(0))
    delay = state.next_delay(Retry("http_429", NcbiTransientError("x"), retry_after=2.0))
    assert delay == 2.0


def test_retry_after_header_forms() -> None:
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0


def test_the_client_and_the_backoff_share_the_readmes_defaults() -> None:
    from harvester.eutils.settings import ClientConfig

    assert ClientConfig().backoff() == Backoff()
    assert (Backoff().max_attempts, Backoff().max_total) == (6, 600.0)  # "6 attempts or 10 minutes"


@pytest.mark.parametrize("attempts", [1, 5])
def test_a_raised_history_expiry_uses_the_configured_attempts(attempts: int) -> None:
    verdict = classify(HistoryExpiredError("lost"), history_attempts=attempts)
    assert isinstance(verdict, Retry) and verdict.limit == attempts


def test_retry_reasons_are_typed_and_every_http_status_has_one() -> None:
    """Reasons were bare strings the transport compared by spelling (`startswith("http_5")`)."""
    from harvester.eutils.retry_reasons import RetryReason

    for outcome, _ in RETRIED:
        verdict = classify(outcome)
        assert isinstance(verdict, Retry)
        if not isinstance(outcome, BadBody):  # a BadBody carries the reason it was raised with
            assert isinstance(verdict.reason, RetryReason), outcome
    assert RetryReason.http(503) is RetryReason.HTTP_503
    assert RetryReason.http(507) is RetryReason.HTTP_5XX
    assert RetryReason.http(418) is RetryReason.HTTP_4XX
    assert [r for r in RetryReason if r.server_trouble] == [
        RetryReason.TIMEOUT,
        *(r for r in RetryReason if r.startswith("http_5")),
    ]
