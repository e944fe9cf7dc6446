"""Work whose request ran out of retries is set aside and asked again later in the run.

One request that exhausts its retries (a 5xx for ten minutes, answers that are not what was
asked for, a backend that keeps timing out) says little about the rest of the job: the other
work goes on, and the failed piece is handed back to the scheduler after a pause. The run
stops only when the same piece keeps failing; then it stops on that piece's own error (its
exit code), with a line saying so, and everything done so far is in the store for a rerun.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Hashable, Iterator

from harvester.errors import HarvesterError, NcbiTransientError, ParseError, TransportError
from harvester.eutils.xmlstream import TooLarge
from harvester.workflow.keyed import UnjoinableRecords
from harvester.workflow.scheduler import Check, Confirm, History, Link, Page, Post, Work

__all__ = ["RECOVERABLE", "ROUNDS", "SetAside", "describe"]

ROUNDS = 2
"""Times one piece of work is set aside and asked again before the run stops on its error."""
RECOVERABLE: tuple[type[HarvesterError], ...] = (TransportError, NcbiTransientError, ParseError)
"""Errors a later attempt may not meet: the network, NCBI's transient failures, and answers
that could not be read. NCBI's refusals (NcbiPermanentError) are final at once."""
FINAL: tuple[type[HarvesterError], ...] = (TooLarge, UnjoinableRecords)
"""Recoverable in kind, but asking again brings the same bytes: our own bound, or records whose
ids do not join."""


def describe(work: Work) -> str:
    """The work in the words of the workflow's steps, for the line that stops the run."""
    match work:
        case Link(chunk):
            return f"the elink of chunk {chunk.chunk}"
        case History(chunk, _):
            return f"putting chunk {chunk}'s targets on the History server"
        case Post(uids):
            return f"the epost of {len(uids)} targets"
        case Check(entry):
            return f"the size check of History entry {entry.query_key} (chunk {entry.chunk})"
        case Page(entry, retstart, _):
            where = f"History entry {entry.query_key} (chunk {entry.chunk})"
            return f"the page at {retstart} of {where}"
        case Confirm(uids):
            return f"the fetch by id of {len(uids)} targets"
    raise AssertionError(work)


def _keys(work: Work) -> Iterator[Hashable]:
    """What identifies the work across rounds; a confirmation's batch may be regrouped, so each
    of its ids counts on its own."""
    match work:
        case Link(chunk):
            yield ("link", chunk.chunk)
        case History(chunk, _):
            yield ("history", chunk)
        case Post(uids):
            yield from (("post", uid) for uid in uids)
        case Check(entry):
            yield ("check", entry.entry)
        case Page(entry, retstart, _):
            yield ("page", entry.entry, retstart)
        case Confirm(uids):
            yield from (("confirm", uid) for uid in uids)


class SetAside:
    """Counts each piece of work's failed rounds; says how long to set it aside, or stops."""

    def __init__(self, pause: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.pause = pause
        self.clock = clock
        self._rounds: Counter[Hashable] = Counter()
        self._first: dict[Hashable, float] = {}
        self._last: dict[Hashable, float] = {}

    @staticmethod
    def recoverable(exc: BaseException) -> bool:
        """Whether a later round may succeed where this one failed."""
        return isinstance(exc, RECOVERABLE) and not isinstance(exc, FINAL)

    def failed(self, work: Work, exc: HarvesterError) -> float:
        """Seconds to set `work` aside after `exc`; raises `exc`, its message saying so, once
        the work has failed `ROUNDS` times before. A failure that names what failed (`key`,
        e.g. a chunk whose History entries NCBI keeps losing) is counted by that."""
        key = getattr(exc, "key", None)
        keys = [key] if key is not None else list(_keys(work))
        now = self.clock()
        rounds = 0
        for key in keys:
            self._first.setdefault(key, now)
            if now - self._last.get(key, -self.pause) >= self.pause:  # a new round, not a
                self._rounds[key] += 1  # second failure of the same one (a shared key)
                self._last[key] = now  # rounds are a pause apart, however often it fails
            rounds = max(rounds, self._rounds[key])
        if rounds <= ROUNDS:
            return self.pause
        since = min(self._first[key] for key in keys)
        exc.args = (
            f"{exc}; {describe(work)} failed {rounds} times over {now - since:.0f} s, set aside "
            "and asked again in between; everything done is kept: run the same command again "
            "to resume",
        )
        raise exc
