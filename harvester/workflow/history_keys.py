"""Which WebEnv new History entries join: NCBI expires a WebEnv's entries together, and takes
only about MAX_QUERY_KEYS query keys in one."""

from __future__ import annotations

from harvester.ncbi import MAX_QUERY_KEYS

KEY_MARGIN = 10
"""Start a fresh WebEnv this many query keys before NCBI's practical limit."""


class HistoryKeys:
    """The WebEnv new entries join, and how many query keys it holds: a fresh one is started
    KEY_MARGIN keys before the limit, and after it is lost."""

    def __init__(self) -> None:
        self.webenv: str | None = None
        self.used = 0

    def webenv_for(self, needed: int) -> str | None:
        """The WebEnv for `needed` more keys (None: let NCBI start one)."""
        if self.used + needed > MAX_QUERY_KEYS - KEY_MARGIN:
            self.webenv, self.used = None, 0
        return self.webenv

    def adopt(self, webenv: str, keys: int) -> None:
        """NCBI put `keys` new entries in `webenv`."""
        if webenv != self.webenv:
            self.webenv, self.used = webenv, 0
        self.used += keys

    def lost(self, webenv: str) -> None:
        """NCBI no longer has `webenv`: new entries go to a fresh one."""
        if self.webenv == webenv:
            self.webenv, self.used = None, 0
