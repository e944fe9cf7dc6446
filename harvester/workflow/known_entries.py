"""History entries whose targets are partly held already (known.py): instead of the pages,
one esearch asks NCBI which of the entry's records it modified since the
day they were held as of (changed.py); the held, unchanged ones are committed from what is
held (their values extracted with the job's fields, as rederive.py does), and only the new
and the changed are fetched, by id, in the confirmations the engine batches anyway.

A neighbor_history set (elink made it: NCBI's size unknown) is also counted (esearch #N, sent
alongside the mdat question): a held id the set lacks would not be named changed, so when the
count differs from the index's, every held record of the set is fetched again. A posted set
needs no count: it holds what was posted. NCBI's mdat answer carries only the count of the
modified records, so the set's own count costs this request (docs/NCBI_BEHAVIOUR.md).

mdat has a day's grain and NCBI dates by US Eastern time while the held day is UTC, so the
question starts a day earlier: a record is at worst fetched once more, never kept stale. A
database that answers the question with an error is said once and fetched whole.
"""

from __future__ import annotations

import asyncio
import datetime
import logging

from harvester.config import JobConfig
from harvester.errors import HistoryExpiredError, NcbiError
from harvester.eutils.client import EutilsClient
from harvester.stats import Stats
from harvester.workflow import kept
from harvester.workflow.changed import changed_since
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
    ) -> None:
        super().__init__(store, scheduler, job.fetch.page_size, stats)
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
        """Ask which held targets changed, commit the others from what is held, and leave the
        rest (new, changed) to be confirmed by id; HistoryExpiredError goes to the caller."""
        pending = self.store.entry_targets(entry.entry, pending_only=True)
        held = self.known.lookup(pending)
        changed: frozenset[int] | None = frozenset()
        if held and entry.reported is None:  # NCBI's set may lack some: its size, alongside
            changed, size = await asyncio.gather(
                self._changed(entry, client, held), self._size(entry, client)
            )
            if size != entry.expected:
                changed = None  # a held id the set lacks would look unchanged: fetch them all
        elif held:
            changed = await self._changed(entry, client, held)
        unchanged = {
            uid: k.body for uid, k in held.items() if changed is not None and uid not in changed
        }
        reused = [(uid, (self._value(uid, b), b)) for uid, b in unchanged.items() if b is not None]
        gone = [uid for uid, body in unchanged.items() if body is None]  # still withdrawn
        self.stats.incr(
            "known/reused",
            self.store.commit_records(reused, gone, day=client.transport.server_date),
        )
        self.stats.incr("known/from_cache", sum(1 for uid in unchanged if held[uid].cached))
        self.stats.incr("known/changed", len(held) - len(unchanged))
        self.stats.incr("known/validations")
        self.validating.discard(entry.entry)
        self.unchecked.discard(entry.entry)
        self._pages_in(entry, paged=False)  # what is pending (new, changed) is fetched by id

    async def _size(self, entry: Entry, client: EutilsClient) -> int:
        """How many ids NCBI's set holds (esearch #N), noted like a normal run's size check."""
        found = await client.esearch(
            self.job.db, f"#{entry.query_key}", webenv=entry.webenv, retmax=0
        )
        self.store.set_reported(entry.entry, found.count)
        self.stats.incr("known/size_checks")
        if found.count != entry.expected:
            self.stats.incr("check/mismatch")
            self.store.note(
                f"entry {entry.query_key} of chunk {entry.chunk} holds {found.count} ids, the "
                f"index says {entry.expected}: its held records are fetched again, not validated"
            )
        return found.count

    async def _changed(
        self, entry: Entry, client: EutilsClient, held: dict[int, Known]
    ) -> frozenset[int] | None:
        """The held uids NCBI modified since they were held (None: all, unasked or unlisted)."""
        if self.unsupported is not None:
            return None
        since = min(k.as_of for k in held.values()) - EASTERN_MARGIN
        try:
            found = await changed_since(
                client, self.job.db, since, webenv=entry.webenv, query_key=entry.query_key
            )
        except HistoryExpiredError:
            raise
        except NcbiError as exc:
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
