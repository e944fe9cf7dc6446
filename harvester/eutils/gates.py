"""The process's pacing gates: one per (host, API key), shared by every job, export and client.

NCBI counts a key's requests (or an address's, without one) together, whoever sends them, so
two jobs in one process (`asyncio.gather` of two harvests, a notebook's worker thread beside
its own loop) must pass one gate, or together they send at twice the limit. A gate is leased:
every user takes it and gives it back, and the last one out removes it, so a later job (or a
later emulator on a reused port) starts with a fresh rate control instead of an old one's
cuts. A gate works across event loops and threads (pacing.py says how). The registry is keyed
by a digest of the key, so nothing printable holds the key itself. Processes do not share a
gate, but those of one machine share a ledger of send times (ledger.py); the share of programs
elsewhere is learnt from NCBI's `X-RateLimit-Remaining` (rate_control.py).
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

from harvester.errors import ConfigError
from harvester.eutils.ledger import Ledger
from harvester.eutils.pacing import DEFAULT_MARGIN, Gate, RatePolicy
from harvester.eutils.rate_control import RateControl
from harvester.eutils.settings import ClientConfig
from harvester.ncbi import DEFAULT_BASE_URL
from harvester.stats import Stats

__all__ = [
    "GateKey",
    "process_gate",
    "release_gate",
    "reset_process_gate",
    "shared_gate",
]


@dataclass(frozen=True, slots=True)
class GateKey:
    """Whose allowance a gate paces: a server (host and port) and a key's digest (or none)."""

    host: str
    key: str | None = None
    """`key:` + the first 12 hex of the key's SHA-256, as the emulator's request log writes it."""

    @classmethod
    def of(cls, base_url: str, api_key: str | None) -> GateKey:
        digest = None
        if api_key:
            digest = "key:" + hashlib.sha256(api_key.encode()).hexdigest()[:12]
        url = urlsplit(base_url)
        host = (url.hostname or "").lower()
        return cls(f"{host}:{url.port}" if url.port else host, digest)  # never user:password


NCBI = GateKey.of(DEFAULT_BASE_URL, None)


@dataclass(slots=True)
class _Lease:
    gate: Gate
    users: int


LEDGER_MAX_RATE = 100.0
"""Above this many requests/s a gate paces an emulator for tests, not NCBI: no ledger then
(its lock would cost more than the pacing it shares)."""
_LOCK = threading.Lock()
_GATES: dict[GateKey, _Lease] = {}


def process_gate(
    policy: RatePolicy,
    *,
    key: GateKey = NCBI,
    margin: float = DEFAULT_MARGIN,
    stats: Stats | None = None,
    private: bool = False,
) -> Gate:
    """Take the gate of `key` in this process (made at the first take), for `release_gate`.
    A second policy for one allowance is refused: NCBI counts both against one limit."""
    with _LOCK:
        lease = _GATES.get(key)
        if lease is None:
            control = RateControl(slow_start=True)
            shared = not private and policy.rate <= LEDGER_MAX_RATE
            ledger = Ledger.open(key.host, key.key) if shared else None
            gate = Gate(
                policy, margin=margin, control=control, stats=stats or Stats(), ledger=ledger
            )
            lease = _GATES[key] = _Lease(gate, 0)
        elif lease.gate.policy != policy:
            whose = "this API key" if key.key else "no API key"
            raise ConfigError(
                f"this process already paces requests to {key.host} with {whose} by policy "
                f"'{lease.gate.policy.name}' at {lease.gate.policy.rate:g}/s; jobs that share "
                "an allowance must share its policy"
            )
        lease.users += 1
        return lease.gate


def release_gate(gate: Gate) -> None:
    """Give back a gate `process_gate` handed out; the last user's return removes it."""
    with _LOCK:
        for key, lease in _GATES.items():
            if lease.gate is gate:
                lease.users -= 1
                if lease.users <= 0:
                    del _GATES[key]
                    if gate.ledger is not None:
                        gate.ledger.close()
                return


@contextlib.contextmanager
def shared_gate(config: ClientConfig, *, private: bool = False) -> Iterator[Gate]:
    """The gate of `config`'s server and key while the block runs; `private`: a server no
    other process can know of (an emulator of this process), so no ledger is kept."""
    key = GateKey.of(config.base_url, config.api_key)
    gate = process_gate(config.rate_policy(), key=key, margin=config.margin, private=private)
    try:
        yield gate
    finally:
        release_gate(gate)


def reset_process_gate() -> None:
    """Forget every gate (tests and benchmarks that want a fresh one whatever is leased)."""
    with _LOCK:
        for lease in _GATES.values():
            if lease.gate.ledger is not None:
                lease.gate.ledger.close()
        _GATES.clear()
