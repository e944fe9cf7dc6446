"""How long the emulator takes to answer: base delay + per-id cost, times log-normal jitter.

A 500-record efetch page is slower than a one-id elink, as on NCBI, so a client's concurrency
(Little's law: in flight ~= rate x latency) can be sized against something realistic.

The `realistic` preset is an ESTIMATE from public reports (issue threads, EDirect's timing
comments, users' logs), not a measurement of NCBI:
- elink: ~0.3 s for one id; ids add ~8 ms each (a 100-id elink is reported at 1-2 s).
- efetch: ~0.5 s before the first byte plus ~2 ms per record (a 500-record snp page ~1.5 s).
- esummary: similar to efetch, a little cheaper per record (~1.5 ms).
- esearch: ~0.35 s; epost ~0.2 s plus a little per posted id; einfo ~0.15 s.
- jitter: multiplicative log-normal with sigma 0.3 and mean 1 (a long right tail, as seen in
  response-time histograms of busy web services).
`zero` (the default, for tests) answers at once and draws no random numbers.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from harvester.errors import ConfigError


@dataclass(frozen=True, slots=True)
class Cost:
    """Seconds for one request: `base` plus `per_item` for each id or record it names."""

    base: float = 0.0
    per_item: float = 0.0


@dataclass(frozen=True, slots=True)
class LatencyProfile:
    """Per-endpoint costs and the jitter spread."""

    name: str
    costs: dict[str, Cost] = field(default_factory=dict)
    sigma: float = 0.0


PRESETS: dict[str, LatencyProfile] = {
    "zero": LatencyProfile("zero"),
    "realistic": LatencyProfile(
        "realistic",
        {
            "einfo": Cost(0.15),
            "esearch": Cost(0.35, 0.00002),
            "epost": Cost(0.2, 0.0002),
            "elink": Cost(0.3, 0.008),
            "efetch": Cost(0.5, 0.002),
            "esummary": Cost(0.4, 0.0015),
        },
        sigma=0.3,
    ),
}


def profile(name: str) -> LatencyProfile:
    """A preset by name; unknown names are a configuration error listing the known ones."""
    found = PRESETS.get(name)
    if found is None:
        raise ConfigError(f"unknown latency preset '{name}' (known: {', '.join(PRESETS)})")
    return found


class LatencyModel:
    """Draws a delay per request from a seeded RNG, divided by `speedup`."""

    def __init__(self, preset: LatencyProfile, seed: int = 0, speedup: float = 1.0) -> None:
        if speedup <= 0:
            raise ConfigError(f"speedup must be positive, got {speedup}")
        self.profile = preset
        self.speedup = speedup
        self._rng = random.Random(f"latency-{seed}")
        self._mu = -preset.sigma * preset.sigma / 2  # so the jitter factor has mean 1

    def delay(self, endpoint: str, items: int) -> float:
        """Seconds to hold this request before answering (0.0 when the profile has no cost)."""
        cost = self.profile.costs.get(endpoint)
        if cost is None:
            return 0.0
        mean = cost.base + cost.per_item * max(0, items)
        if mean <= 0:
            return 0.0
        jitter = self._rng.lognormvariate(self._mu, self.profile.sigma) if self.profile.sigma else 1
        return mean * jitter / self.speedup

    def mean(self, endpoint: str, items: int) -> float:
        """Expected delay without jitter (what planning tools and benchmarks may quote)."""
        cost = self.profile.costs.get(endpoint, Cost())
        return (cost.base + cost.per_item * max(0, items)) / self.speedup
