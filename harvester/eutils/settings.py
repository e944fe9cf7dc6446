"""The client's one frozen configuration object, from keywords or the environment.

The API key is kept out of `repr` so it never lands in logs or tracebacks that print configs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace

from harvester.errors import ConfigError
from harvester.eutils.concurrency import DEFAULT_CEILING
from harvester.eutils.pacing import DEFAULT_MARGIN, Policy, RatePolicy, policy_for
from harvester.eutils.retry import HISTORY_ATTEMPTS, Backoff
from harvester.eutils.xmlstream import DEFAULT_MAX_RECORD_BYTES, MAX_RECORD_CEILING
from harvester.ncbi import DEFAULT_BASE_URL

__all__ = ["ClientConfig"]

_RETRY = Backoff()
"""The retry defaults, stated once, in retry.py."""


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """Where to send requests, who we are, how fast, how patient and how much to accept."""

    base_url: str = DEFAULT_BASE_URL
    api_key: str | None = field(default=None, repr=False)
    email: str | None = None
    tool: str = "harvester"
    policy: str = Policy.NCBI
    """A `Policy`, or a number as a custom rate: `policy_for` takes either, so it stays `str`."""
    rate: float | None = None
    """Requests per second for the `custom` policy."""
    margin: float = DEFAULT_MARGIN
    concurrency: int = DEFAULT_CEILING
    """The most requests in flight at once (connections, and the adaptive limit's ceiling)."""
    connect_timeout: float = 20.0
    read_timeout: float = 120.0
    """Longest wait for the answer's headers, or for any byte of its body."""
    stall_seconds: float = 60.0
    stall_bytes: int = 1024
    """A body must bring `stall_bytes` in every `stall_seconds` (a trickle is a timeout)."""
    total_timeout: float = 900.0
    """Longest one attempt may take, however steadily its body comes."""
    max_attempts: int = _RETRY.max_attempts
    max_retry_seconds: float = _RETRY.max_total
    max_outage_seconds: float = _RETRY.max_outage
    """Backoff a request may spend waiting for an unreachable server to come back."""
    backoff_base: float = _RETRY.base
    backoff_cap: float = _RETRY.cap
    history_attempts: int = HISTORY_ATTEMPTS
    max_response_bytes: int = 1 << 30
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES
    """The most bytes one record may span in a body (a chromosome's GBSeq is tens of MB); a
    record past it fails its request at once, naming this setting, and is not retried."""
    post_threshold: int = 200
    """Send ids by POST above this many."""
    max_get_length: int = 1800
    """Send by POST when the encoded query would be longer than this."""
    chunk_size: int = 64 * 1024
    """Most bytes read at a time. Parsed on the event loop, 64 KiB steps held the gate's
    releases up by tens of ms each; parsed off it (`offload`), reads are joined into steps of
    `parse.STEP_BYTES`, as each step costs a hand-over between threads."""

    def __post_init__(self) -> None:
        if self.tool and any(c.isspace() for c in self.tool):
            raise ConfigError("tool must not contain spaces (NCBI asks for a single word)")
        if self.concurrency < 1:
            raise ConfigError("concurrency must be at least 1")
        if self.max_attempts < 1:
            raise ConfigError("max_attempts must be at least 1")
        if self.stall_seconds <= 0 or self.stall_bytes < 1:
            raise ConfigError("stall_seconds and stall_bytes must be positive")
        if self.max_response_bytes < 1:
            raise ConfigError("max_response_bytes must be positive")
        if not 1 <= self.max_record_bytes <= MAX_RECORD_CEILING:
            raise ConfigError(f"max_record_bytes must be from 1 to {MAX_RECORD_CEILING}")
        if not self.base_url.startswith(("http://", "https://")):
            raise ConfigError("base_url must be an http(s) URL")
        if not self.base_url.endswith("/"):
            object.__setattr__(self, "base_url", self.base_url + "/")

    @classmethod
    def from_env(cls, **overrides: object) -> ClientConfig:
        """Defaults, then NCBI_API_KEY / NCBI_EMAIL from the environment, then `overrides`."""
        env: dict[str, object] = {}
        if os.environ.get("NCBI_API_KEY"):
            env["api_key"] = os.environ["NCBI_API_KEY"]
        if os.environ.get("NCBI_EMAIL"):
            env["email"] = os.environ["NCBI_EMAIL"]
        env.update({k: v for k, v in overrides.items() if v is not None})
        return replace(cls(), **env)  # type: ignore[arg-type]

    def rate_policy(self) -> RatePolicy:
        """The pacing policy these settings ask for."""
        return policy_for(self.policy, api_key=bool(self.api_key), rate=self.rate)

    def backoff(self) -> Backoff:
        """The retry caps these settings ask for."""
        return Backoff(
            max_attempts=self.max_attempts,
            max_total=self.max_retry_seconds,
            base=self.backoff_base,
            cap=self.backoff_cap,
            max_outage=self.max_outage_seconds,
        )
