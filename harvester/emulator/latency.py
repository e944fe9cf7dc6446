"""How long the emulator takes to answer: base delay + per-id cost, times log-normal jitter,
under one of several profiles, so a client's adaptive concurrency can be proved against more
than one latency.

A 500-record efetch page is slower than a one-id elink, as on NCBI, so a client's concurrency
(Little's law: in flight ~= rate x latency) can be sized against something realistic.

The `realistic` costs are an ESTIMATE from public reports (issue threads, EDirect's timing
comments, users' logs), not a measurement of NCBI:
- elink: ~0.3 s for one id; ids add ~8 ms each (a 100-id elink is reported at 1-2 s).
- efetch: ~0.5 s before the first byte plus ~2 ms per record (a 500-record snp page ~1.5 s).
- esummary: similar to efetch, a little cheaper per record (~1.5 ms).
- esearch: ~0.35 s; epost ~0.2 s plus a little per posted id; einfo ~0.15 s.
- bytes: an answer leaves at `MODELLED_BANDWIDTH` (1.5 MB/s of XML) from its first byte, so a
  500-record page of 21 KB records (10.5 MB) takes ~7 s more than one of 1 KB records. The
  base and per-record costs come before the first byte; the bytes' time is spread over the
  body as it streams (app.py paces every answer), as NCBI's chunked answers arrive.
- jitter: multiplicative log-normal with sigma 0.3 and mean 1 (a long right tail, as seen in
  response-time histograms of busy web services).
The other profiles are stress cases built on those costs, not claims about NCBI:
- `slow`: every cost three times `realistic` (a busy hour).
- `heavy`: `realistic` with a wider jitter (sigma 0.7) and a second mode: one answer in 40
  takes 10-30 s (uniform), as the occasional stuck backend does.
- `shifting`: `realistic` times a factor that steps 1, 2, 1, 0.5 every 8 s of the run (from
  the first request), so latency doubles and halves while a job runs.
`zero` (the default, for tests) answers at once and draws no random numbers.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from harvester.errors import ConfigError

MODELLED_BANDWIDTH = 1_500_000.0
"""Bytes of uncompressed XML per second that NCBI builds and sends one answer at: an ESTIMATE
from one public report (PathwayCommons/factoid issue 769: efetch of 10,000 PubMed records
weighed 211 MB and took over 2 min 21 s, i.e. at most ~1.5 MB/s). Per answer: answers in
flight at once are sent side by side, so a job's floor is its bytes / (this x answers in
flight), and bytes / this for one answer at a time."""


@dataclass(frozen=True, slots=True)
class Cost:
    """Seconds for one request: `base` plus `per_item` for each id or record it names."""

    base: float = 0.0
    per_item: float = 0.0


@dataclass(frozen=True, slots=True)
class LatencyProfile:
    """Per-endpoint costs, the jitter spread and the profile's stress features."""

    name: str
    costs: dict[str, Cost] = field(default_factory=dict)
    sigma: float = 0.0
    scale: float = 1.0
    """Every cost times this (`slow`: 3)."""
    stuck_share: float = 0.0
    """Share of answers drawn from the second mode, `stuck_seconds` (uniform), instead."""
    stuck_seconds: tuple[float, float] = (10.0, 30.0)
    shift_factors: tuple[float, ...] = ()
    """Latency multipliers stepped through in turn, `shift_phase` seconds each, repeating."""
    shift_phase: float = 8.0
    bytes_per_second: float = 0.0
    """The rate an answer's body is sent at (0: at once); divided by `scale`."""


REALISTIC_COSTS = {
    "einfo": Cost(0.15),
    "esearch": Cost(0.35, 0.00002),
    "epost": Cost(0.2, 0.0002),
    "elink": Cost(0.3, 0.008),
    "efetch": Cost(0.5, 0.002),
    "esummary": Cost(0.4, 0.0015),
}
BW = MODELLED_BANDWIDTH
PRESETS: dict[str, LatencyProfile] = {
    "zero": LatencyProfile("zero"),
    "realistic": LatencyProfile("realistic", REALISTIC_COSTS, sigma=0.3, bytes_per_second=BW),
    "slow": LatencyProfile("slow", REALISTIC_COSTS, sigma=0.3, scale=3.0, bytes_per_second=BW),
    "heavy": LatencyProfile(
        "heavy", REALISTIC_COSTS, sigma=0.7, stuck_share=1 / 40, bytes_per_second=BW
    ),
    "shifting": LatencyProfile(
        "shifting",
        REALISTIC_COSTS,
        sigma=0.3,
        shift_factors=(1.0, 2.0, 1.0, 0.5),
        bytes_per_second=BW,
    ),
}


def profile(name: str) -> LatencyProfile:
    """A preset by name; unknown names are a configuration error listing the known ones."""
    found = PRESETS.get(name)
    if found is None:
        raise ConfigError(f"unknown latency preset '{name}' (known: {', '.join(PRESETS)})")
    return found


class LatencyModel:
    """Draws a delay per request from a seeded RNG, divided by `speedup`. `clock` (seconds)
    places requests in the `shifting` profile's phases, counted from the first request."""

    def __init__(
        self,
        preset: LatencyProfile,
        seed: int = 0,
        speedup: float = 1.0,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if speedup <= 0:
            raise ConfigError(f"speedup must be positive, got {speedup}")
        if preset.shift_factors and clock is None:
            raise ConfigError(f"the {preset.name!r} latency profile needs a clock")
        self.profile = preset
        self.speedup = speedup
        self._rng = random.Random(f"latency-{seed}")
        self._mu = -preset.sigma * preset.sigma / 2  # so the jitter factor has mean 1
        self._clock = clock
        self._started: float | None = None

    def delay(self, endpoint: str, items: int) -> float:
        """Seconds to hold this request before answering (0.0 when the profile has no cost)."""
        mean = self.mean(endpoint, items)
        if mean <= 0:
            return 0.0
        preset = self.profile
        if preset.stuck_share and self._rng.random() < preset.stuck_share:
            return self._rng.uniform(*preset.stuck_seconds) / self.speedup
        jitter = self._rng.lognormvariate(self._mu, preset.sigma) if preset.sigma else 1
        return mean * jitter * self.shift_factor()

    def shift_factor(self) -> float:
        """The `shifting` profile's multiplier now (1.0 for the others)."""
        factors = self.profile.shift_factors
        if not factors or self._clock is None:
            return 1.0
        now = self._clock()
        if self._started is None:
            self._started = now
        phase = self.profile.shift_phase / self.speedup
        return factors[int((now - self._started) // phase) % len(factors)]

    def mean(self, endpoint: str, items: int) -> float:
        """Expected delay of the body mode, without jitter or shifts (what planning tools and
        benchmarks may quote)."""
        cost = self.profile.costs.get(endpoint, Cost())
        return (cost.base + cost.per_item * max(0, items)) * self.profile.scale / self.speedup

    def bandwidth(self) -> float:
        """Bytes/s the answer starting now is sent at (0.0: at once): the profile's rate over
        its `scale`, times `speedup`, over the `shifting` factor."""
        rate = self.profile.bytes_per_second
        if rate <= 0:
            return 0.0
        return rate * self.speedup / (self.profile.scale * self.shift_factor())

    def send_seconds(self, nbytes: int) -> float:
        """Expected seconds to send an answer of `nbytes` from its first byte (no shifts):
        the byte part of a floor that benchmarks may quote."""
        rate = self.profile.bytes_per_second
        if rate <= 0:
            return 0.0
        return max(0, nbytes) * self.profile.scale / (rate * self.speedup)
