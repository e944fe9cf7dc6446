"""History entries whose targets are partly held already (known.py): instead of the pages,
one esearch asks NCBI which of the entry's records it modified since the
day they were held as of (changed.py); the held, unchanged ones are committed from what is
held (their values extracted with the job's fields, as rederive.py does), and only the new
and the changed are fetched, by id, in the confirmations the engine batches anyway.

Alongside, the same question over every date lists the set's members NCBI still has a record
for (esearch #N, mdat from 1800): a held id it does not list (withdrawn since, so never named
changed; or absent from a set elink made) is fetched by id, not served as held. An id an
earlier run was told is missing is never carried over: the by-id confirmation asks again.
Nothing of it is kept, so a run stopped and resumed asks both again (docs/NCBI_BEHAVIOUR.md).

mdat has a day's grain and NCBI dates by US Eastern time while the held day is UTC, so the
question starts a day earlier: a record is at worst fetched once more, never kept stale. A
database that answers the question with an error is said once and fetched whole.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
from collections.abc import Callable
from functools import partial

from harvester.config import JobConfig
from harvester.errors import DateTypeRefused
from harvester.eutils.client import EutilsClient
from harvester.stats import Stats
from harvester.workflow import kept
from harvester.workflow.changed import changed_since, listed
from harvester.workflow.fields import FieldExtractor
from harvester.workflow.history import OpenEntries
from harvester.workflow.known import Known, KnownRecords
from harvester.workflow.scheduler import Check, Scheduler
from harvester.workflow.store import Entry, Store

log = logging.getLogger("harvester")

EASTERN_MARGIN = datetime.timedelta(days=1)
"""How much earlier than the held day the question starts (UTC day vs NCBI's Eastern day)."""


class KnownEntries(OpenEntries):
    """OpenEntries, but an entry holding known targets is validated (its Check is the mdat
    question) instead of paged; entries of new targets only are paged as before."""

    def __init__(
        self,
        store: Store,
        scheduler: Scheduler,
        stats: Stats,
        job: JobConfig,
        known: KnownRecords,
        extractor: FieldExtractor,
        plan: Callable[[], int] | None = None,
    ) -> None:
        super().__init__(store, scheduler, job.fetch.page_size, stats, plan)
        self.job, self.known, self.extractor = job, known, extractor
        self.validating: set[int] = set()
        """Entries whose Check is the mdat question, not the size check."""
        self.unsupported: str | None = None
        """NCBI's answer when it refused the question for the job's db: asked no more."""
        self.warnings: list[str] = []

    def start(self, entry: Entry) -> None:
        pending = self.store.entry_targets(entry.entry, pending_only=True)
        if self.unsupported is not None or not self.known.holds(pending):
            super().start(entry)
            return
        self.validating.add(entry.entry)
        self.unchecked.add(entry.entry)
        self.pages_left[entry.entry] = set()
        self.scheduler.enqueue(Check(entry))

    def validates(self, entry: Entry) -> bool:
        """Whether the entry's Check is the mdat question."""
        return entry.entry in self.validating

    def replace(self, lost: list[Entry]) -> None:
        for gone in lost:
            self.validating.discard(gone.entry)
        super().replace(lost)

    async def validate(self, entry: Entry, client: EutilsClient) -> None:
        """Ask which held targets changed and which NCBI still has, commit the unchanged
        ones it still has from what is held, and leave the rest (new, changed, gone, and any
        an earlier run said missing) to be confirmed by id; HistoryExpiredError, and any
        other failure of NCBI, goes to the caller once both questions have ended."""
        pending = self.store.entry_targets(entry.entry, pending_only=True)
        held = {uid: k for uid, k in self.known.lookup(pending).items() if k.body is not None}
        changed: frozenset[int] | None = frozenset()
        present: frozenset[int] | None = frozenset()
        if held:
            answers = await asyncio.gather(
                self._changed(entry, client, held),
                self._present(entry, client, held),
                return_exceptions=True,
            )
            for answer in answers:  # raised once both ended: no request outlives the Check
                if isinstance(answer, BaseException):
                    raise answer
            changed, present = answers  # type: ignore[assignment]
        reusable = {
            uid: k.body
            for uid, k in held.items()
            if k.body is not None
            and changed is not None
            and uid not in changed
            and present is not None
            and uid in present
        }
        reused = [(uid, (self._value(uid, body), body)) for uid, body in reusable.items()]
        fresh = await self.store.run(
            partial(self.store.commit_records, reused, day=client.transport.server_date)
        )
        self.stats.incr("known/reused", fresh)
        self.stats.incr("known/from_cache", sum(1 for uid in reusable if held[uid].cached))
        self.stats.incr("known/changed", len(held) - len(reusable))
        self.stats.incr("known/validations")
        self.validating.discard(entry.entry)
        self.unchecked.discard(entry.entry)
        self._pages_in(entry, paged=False)  # what is pending (new, changed) is fetched by id

    async def _present(
        self, entry: Entry, client: EutilsClient, held: dict[int, Known]
    ) -> frozenset[int] | None:
        """The held uids NCBI still has a record for and the set holds (None: unknown, so
        none is served as held). An id withdrawn since has no mdat, so the mdat question never
        names it: it would be served from what is held; a set elink made may lack a held id."""
        if self.unsupported is not None:
            return None
        found = await listed(client, self.job.db, webenv=entry.webenv, query_key=entry.query_key)
        self.stats.incr("known/existence_checks")
        if found.uids is None:
            return None
        gone = [uid for uid in held if uid not in found.uids]
        if gone:
            self.stats.incr("known/unlisted", len(gone))
            if entry.link is not None:
                self.stats.incr("check/mismatch")
            self.store.note(
                f"entry {entry.query_key} of chunk {entry.chunk}: NCBI no longer lists "
                f"{len(gone)} of its held {self.job.db} records (withdrawn, or not in the set "
                "elink made): they are fetched by id, not served as held"
            )
        return found.uids

    async def _changed(
        self, entry: Entry, client: EutilsClient, held: dict[int, Known]
    ) -> frozenset[int] | None:
        """The held uids NCBI modified since they were held (None: all, unasked or unlisted).
        Only NCBI's in-band refusal of the date for the db stops the question for the run; a
        failure that may pass (or will not) is raised, as any request's."""
        if self.unsupported is not None:
            return None
        since = min(k.as_of for k in held.values()) - EASTERN_MARGIN
        try:
            found = await changed_since(
                client, self.job.db, since, webenv=entry.webenv, query_key=entry.query_key
            )
        except DateTypeRefused as exc:
            self.unsupported = str(exc)
            said = (
                f"NCBI would not say which {self.job.db} records changed (esearch "
                f"datetype=mdat: {exc}); every kept {self.job.db} record is fetched again"
            )
            self.warnings.append(said)
            self.store.note(said)
            log.warning("%s", said)
            return None
        return found.uids

    def _value(self, uid: int, body: bytes) -> bytes:
        """The output's value of a held record, extracted with the job's fields."""
        if not self.job.fields:
            return body
        return self.extractor.cells(kept.parsed(self.job.db, uid, body))
