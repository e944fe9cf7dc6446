"""The job keys of the record cache shared by jobs (workflow/record_cache.py): `cache`,
`cache_max_age` and `cache_max_mb`, checked when the job is read, with the key's `FILE:LINE`.

`cache: on` uses `$XDG_CACHE_HOME/harvester/records/`, `cache: PATH` a folder of the user's
(beside the job file when relative), `cache: off` (the default) none. The cache changes how
records are obtained, never which, so none of these is in the job's semantic hash.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from harvester.workflow.store_mark import holds_job_store
from harvester.yamldoc import Section, show

__all__ = [
    "CACHE_KEYS",
    "CACHE_OFF",
    "CACHE_SWITCHES",
    "DEFAULT_MAX_AGE",
    "DEFAULT_MAX_MB",
    "CacheSpec",
    "cache_spec",
    "default_cache_dir",
    "duration",
]

CACHE_KEYS = ("cache", "cache_max_age", "cache_max_mb")
CACHE_SWITCHES = ("on", "off")
"""`cache:` values that are not a folder (YAML also reads on/off as true/false)."""
DEFAULT_MAX_AGE = 7 * 86_400.0
"""Seconds after its fetch a record is still offered to a job (which serves it once NCBI's
mdat question says it has not changed); older ones are fetched again."""
DEFAULT_MAX_MB = 2_048
_UNITS = {"s": 1.0, "m": 60.0, "h": 3_600.0, "d": 86_400.0, "w": 7 * 86_400.0}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")
MAX_AGE_CEILING = 10 * 365 * 86_400.0
"""Ten years: anything longer is a typo."""


@dataclass(frozen=True, slots=True)
class CacheSpec:
    """Whether and where the job shares records with other jobs, and within which bounds."""

    folder: Path | None = None
    """The cache's folder; None when the cache is off."""
    max_age: float = DEFAULT_MAX_AGE
    """Seconds since a record was fetched (by the server's clock) within which it is offered,
    always checked by mdat first; 0 never serves from the cache (it is still filled)."""
    max_mb: int = DEFAULT_MAX_MB
    """The most the cache file may hold, in MB (10**6 bytes); least recently used go first."""

    @property
    def max_bytes(self) -> int:
        return self.max_mb * 1_000_000


CACHE_OFF = CacheSpec()
"""The default: no cache."""


def default_cache_dir() -> Path:
    """$XDG_CACHE_HOME/harvester/records (~/.cache/harvester/records by default)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "harvester" / "records"


def duration(text: str) -> float:
    """'30d', '12h', '90m', '45s', '2w' or '0' as seconds; ValueError says why not."""
    value = text.strip().lower()
    if value == "0":
        return 0.0
    m = _DURATION.fullmatch(value)
    if m is None:
        raise ValueError(f"{text!r} is not a duration like 30d, 12h, 90m, 45s or 0")
    seconds = float(m.group(1)) * _UNITS[m.group(2)]
    if seconds > MAX_AGE_CEILING:
        raise ValueError(f"{text!r} is longer than ten years")
    return seconds


def cache_spec(top: Section, base_dir: Path) -> CacheSpec:
    """The cache keys of a job, validated: bounds without a cache are refused, since a setting
    that silently does nothing misleads."""
    raw = top.get("cache")
    if raw is None or raw is False or raw == "off":
        if raw is None:
            given = [k for k in CACHE_KEYS[1:] if top.get(k) is not None]
            if given:
                top.doc.fail(given[0], f"'{given[0]}' is set but the cache is off; add cache: on")
        return CACHE_OFF
    if raw is True or raw == "on":
        folder = default_cache_dir()
    elif isinstance(raw, str) and raw.strip():
        folder = Path(raw.strip()).expanduser()
        folder = folder if folder.is_absolute() else base_dir / folder
    else:
        top.doc.fail("cache", f"'cache' must be on, off or a folder, got {show(raw)}")
    try:
        is_job_dir, is_file = holds_job_store(folder), folder.exists() and not folder.is_dir()
    except (OSError, ValueError) as exc:  # a NUL byte, a name too long
        top.doc.fail("cache", f"cache {str(folder)!r} cannot be a folder ({exc})")
    if is_job_dir:
        top.doc.fail("cache", f"cache {str(folder)!r} is a job directory; name another folder")
    if is_file:
        top.doc.fail("cache", f"cache {str(folder)!r} is a file, not a folder")
    age = top.get("cache_max_age")
    max_age = DEFAULT_MAX_AGE
    if age is not None:
        if (
            isinstance(age, bool)
            or not isinstance(age, str | int)
            or (isinstance(age, int) and age != 0)
        ):
            top.doc.fail(
                "cache_max_age",
                f"'cache_max_age' must be a duration like 30d, 12h or 0, got {show(age)}",
            )
        try:
            max_age = duration(str(age))
        except ValueError as exc:
            top.doc.fail("cache_max_age", f"cache_max_age {exc}")
    max_mb = top.integer("cache_max_mb", DEFAULT_MAX_MB, 1, 1 << 30)
    return CacheSpec(folder, max_age, max_mb)
