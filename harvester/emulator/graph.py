"""Deterministic building blocks of the synthetic dataset: uid maps, hashing, block link graphs.

Nothing here stores per-link data: a link list is computed from a few arrays of per-source sizes,
so a dataset of millions of links starts in well under a second and the forward and reverse
lookups (gene -> its SNPs, SNP -> its genes) are both O(1) plus the answer's size.
"""

from __future__ import annotations

import math
import random
from array import array
from bisect import bisect_right
from dataclasses import dataclass

_MASK = (1 << 64) - 1


def mix(*parts: int) -> int:
    """A splitmix64-style hash of integers: stable across runs and platforms."""
    h = 0x9E3779B97F4A7C15
    for part in parts:
        h = (h ^ (part & _MASK)) * 0xBF58476D1CE4E5B9 & _MASK
        h = (h ^ (h >> 31)) * 0x94D049BB133111EB & _MASK
        h ^= h >> 29
    return h


def salt_of(text: str) -> int:
    """A stable integer for a name (db or field), for use as a hash part."""
    return mix(*text.encode())


@dataclass(frozen=True, slots=True)
class UidMap:
    """Index <-> uid for a generated population: increasing, sparse, collision-free.

    uid(k) = base + k*stride + (hash(k) mod stride), so uids rise with the index, look irregular,
    and the inverse is one division and one check.
    """

    base: int
    stride: int
    count: int
    salt: int

    def uid(self, index: int) -> int:
        return self.base + index * self.stride + mix(self.salt, index) % self.stride

    def index(self, uid: int) -> int | None:
        k, _ = divmod(uid - self.base, self.stride)
        if 0 <= k < self.count and self.uid(k) == uid:
            return k
        return None


@dataclass(frozen=True, slots=True)
class DegreeSpec:
    """A heavy-tailed block size: log-normal around `median`, some zeros, capped at `max`."""

    median: float = 8.0
    sigma: float = 1.2
    zero_fraction: float = 0.1
    max: int = 20_000

    def sample(self, rng: random.Random) -> int:
        if rng.random() < self.zero_fraction:
            return 0
        return min(self.max, max(1, int(self.median * math.exp(self.sigma * rng.gauss(0, 1)))))


class BlockGraph:
    """Source i links to the target blocks i..i+window-1, plus a spill into the next block.

    Targets are laid out in consecutive blocks (block i has sizes[i] targets). With window=1
    sources own disjoint blocks; window=w makes every target shared by w sources. `spill[i]`
    extra targets at the head of block i+window make occasional overlaps between neighbours.
    """

    def __init__(self, sizes: array[int], window: int, spill: array[int]) -> None:
        self.window = max(1, window)
        self.count = len(sizes)
        starts = array("q", [0]) * (self.count + 1)
        total = 0
        for i, size in enumerate(sizes):
            starts[i] = total
            total += size
        starts[self.count] = total
        self.starts = starts
        self.spill = spill
        self.n_targets = total

    @classmethod
    def generate(
        cls, count: int, degree: DegreeSpec, window: int, spill_rate: float, seed: int
    ) -> BlockGraph:
        """Draw block sizes and spills from a seeded generator."""
        rng = random.Random(seed)
        sizes = array("q", (degree.sample(rng) for _ in range(count)))
        spill = array("q", [0]) * count
        w = max(1, window)
        for i in range(count - w):
            nxt = sizes[i + w]
            if nxt > 1 and rng.random() < spill_rate:
                spill[i] = 1 + rng.randrange(max(1, nxt // 2))
        return cls(sizes, w, spill)

    def _end(self, i: int) -> int:
        return self.starts[min(i + self.window, self.count)] + self.spill[i]

    def targets(self, i: int) -> range:
        """The target indices source i links to, ascending."""
        return range(self.starts[i], self._end(i))

    def degree(self, i: int) -> int:
        return self._end(i) - self.starts[i]

    def sources(self, t: int) -> list[int]:
        """The source indices that link to target t, ascending."""
        if not 0 <= t < self.n_targets:
            return []
        j = bisect_right(self.starts, t, 0, self.count) - 1
        first = max(0, j - self.window + 1)
        found = list(range(first, j + 1))
        k = j - self.window
        if k >= 0 and t - self.starts[j] < self.spill[k]:
            found.insert(0, k)
        return found

    def home(self, t: int) -> int | None:
        """The source whose own block holds target t."""
        if not 0 <= t < self.n_targets:
            return None
        return bisect_right(self.starts, t, 0, self.count) - 1
