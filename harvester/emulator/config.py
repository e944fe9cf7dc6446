"""The settings of one emulator run, kept apart from the server so that the modules the
server builds can name them without importing it (and a client run imports neither)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from harvester.ncbi import MAX_QUERY_KEYS

if TYPE_CHECKING:
    from harvester.emulator.faults import FaultPlan

__all__ = ["EmulatorConfig"]


@dataclass(frozen=True, slots=True)
class EmulatorConfig:
    """Everything that shapes an emulator run; equal configs answer identically."""

    dataset: str | Path | None = "tiny"
    as_of: str | None = None
    """Serve the dataset as it was on this day, `YYYY-MM-DD` (`serve --as-of`; also written
    `DATASET@YYYY-MM-DD`); None: as the dataset is, undated (emulator/clock.py)."""
    host: str = "127.0.0.1"
    port: int = 0
    history_ttl: float = 3600.0
    """Seconds a WebEnv lives after its last use (NCBI does not document it; guesses vary)."""
    max_query_keys: int = MAX_QUERY_KEYS
    seed: int = 0
    """Seeds WebEnv names, latency jitter and fault choice: equal seeds, equal runs."""
    rate_limit: bool = False
    """Refuse requests over the limits with NCBI's 429 (False: count them, refuse none).
    Off by default here so tests can hammer the emulator; `harvester serve` turns it on."""
    rate_without_key: int = 3
    rate_with_key: int = 10
    api_keys: frozenset[str] | None = None
    """Known keys; when set, any other `api_key` gets NCBI's 400 "API key invalid"."""
    latency: str = "zero"
    """Latency preset: `zero`, `realistic`, `slow`, `heavy` or `shifting` (see latency.py)."""
    shared_load: float = 0.0
    """Requests/s a second program on the same address or key spends of its allowance."""
    faults: str | FaultPlan = ""
    """`mixed:0.05`, or per kind `500:0.02,cut:0.01` (see faults.py for the kinds)."""
    stall_seconds: float = 150.0
    """How long a `stall` fault holds a response (longer than the client's read timeout)."""
    request_log: str | Path | None = None
    """JSONL file with one line per request (see requestlog.py)."""
    speedup: float = 1.0
    """Run K times faster than NCBI: rate limits x K, latencies / K (stall_seconds unscaled)."""
    render_processes: int = 0
    """Worker processes that render large answers (0: a thread of this process). With workers,
    rendering never delays the stamping of arrivals, as on NCBI; `harvester serve` uses 1."""
    record_scale: float | None = None
    """Every record's bulk times this, over the dataset's own `record_scale` (None keeps it;
    0: minimal records). Ids, links, counts and History never change with it."""
    record_bytes: int | None = None
    """Fill every snp docsum, Entrezgene and PubmedArticle to about this many bytes, over the
    dataset's own `record_bytes` (None keeps it; 0: the dataset's size distributions)."""
    hostile: str | None = None
    """Serve hostile XML from efetch/elink: `xxe`, `bomb`, `netdtd`, `huge`, `deep`, `badutf8`
    (optionally `KIND:ARG`; see hostile.py). For testing clients, never for real data."""
