"""The History server: WebEnv -> query key -> (db, uid list), with expiry.

WebEnvs look like today's (`MCID_` + 24 hex). An entry lives `ttl` seconds after its WebEnv was
last used; about `max_keys` query keys fit in one WebEnv, beyond which the oldest are dropped
(NCBI's practical limit is about 100). Uid lists are stored as compact arrays.
"""

from __future__ import annotations

import random
import threading
import time
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from harvester.ncbi import MAX_QUERY_KEYS


@dataclass(slots=True)
class _Session:
    last_used: float
    next_key: int = 1
    entries: dict[int, tuple[str, array[int]]] = field(default_factory=dict)


class HistoryStore:
    """WebEnv sessions kept in memory; the emulator's only mutable dataset state."""

    def __init__(
        self,
        ttl: float = 3600.0,
        max_keys: int = MAX_QUERY_KEYS,
        clock: Callable[[], float] = time.monotonic,
        seed: int | None = None,
    ) -> None:
        self.ttl = ttl
        self.max_keys = max_keys
        self.clock = clock
        self._rng = random.Random(seed)
        self._sessions: dict[str, _Session] = {}
        self._lock = threading.RLock()  # the event loop and the render thread both use it

    def _new_webenv(self) -> str:
        return "MCID_" + "".join(self._rng.choice("0123456789abcdef") for _ in range(24))

    def _live(self, webenv: str | None) -> _Session | None:
        if not webenv:
            return None
        session = self._sessions.get(webenv)
        now = self.clock()
        if session is None:
            return None
        if now - session.last_used > self.ttl:
            del self._sessions[webenv]
            return None
        session.last_used = now
        return session

    def add(self, webenv: str | None, db: str, uids: Sequence[int]) -> tuple[str, int]:
        """Store a uid list; reuse `webenv` when it is alive, else start a new one."""
        stored = array("q", uids)
        with self._lock:
            session = self._live(webenv)
            if session is None or webenv is None:
                webenv = self._new_webenv()
                session = self._sessions[webenv] = _Session(self.clock())
            key = session.next_key
            session.next_key += 1
            session.entries[key] = (db, stored)
            while len(session.entries) > self.max_keys:
                del session.entries[min(session.entries)]
            return webenv, key

    def drop_first(self, webenv: str | None, query_key: int) -> None:
        """Fault injection (`shortset`): the entry loses its first uid."""
        with self._lock:
            session = self._live(webenv)
            entry = None if session is None else session.entries.get(query_key)
            if session is not None and entry is not None:
                db, uids = entry
                session.entries[query_key] = (db, uids[1:])

    def get(self, webenv: str | None, query_key: int) -> tuple[str, array[int]] | None:
        """The (db, uids) of an entry, or None if unknown or expired."""
        with self._lock:
            session = self._live(webenv)
            return None if session is None else session.entries.get(query_key)

    def expire(self, webenv: str | None = None) -> int:
        """Forget one WebEnv (or all): tests and fault injection use this. Returns how many."""
        with self._lock:
            if webenv is None:
                count = len(self._sessions)
                self._sessions.clear()
                return count
            return 1 if self._sessions.pop(webenv, None) is not None else 0
