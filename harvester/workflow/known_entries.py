"""History entries whose targets are partly held already (known.py): instead of the pages,
one esearch per entry lists which of its records NCBI last modified before the day they were
held as of (changed.py, `unchanged_before`); those held are committed from what is held (their
values extracted with the job's fields, as rederive.py does), and every other target of the
entry (new, changed, withdrawn, absent from the set, or said missing by an earlier run) is
fetched by id, in the confirmations the engine batches anyway.

The one listing is the two questions a refresh used to ask, held ∩ present ∖ changed: with
`since` the first day counted as changed, present = mdat in [1800, ∞) (a withdrawn record has
no mdat) and changed = mdat in [since, ∞), so present ∖ changed = mdat in [1800, since - 1
day], both ends inclusive at a day's grain, and only members of the set are listed. Nothing
of it is kept, so a run stopped and resumed asks again (docs/NCBI_BEHAVIOUR.md).

mdat has a day's grain and NCBI dates by US Eastern time while the held day is UTC, so `since`
is a day before the held day: a record modified on the held day is taken as changed, at worst
fetched once more, never kept stale. A database that answers the question with an error is
said once and fetched whole; a set too long to list (PubMed past 9,999) reuses nothing.
Before the first listing, one esearch asks for the set's members modified on a day no record
is dated (changed.dates_apply): a count that is not 0 means the date limits are not applied to
`#N`, and the listing would name the modified too, so the run fetches every record instead.
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
from harvester.workflow.changed import ChangedSince, dates_apply, unchanged_before
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
        self.dates_applied = False
        """Whether esearch was seen to apply mdat limits to `#N`: a set with members counted
        none dated 1800/01/01 (changed.dates_apply). Until then each listing is probed first."""
        self._probing = asyncio.Lock()
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
        """List the held targets NCBI still has unchanged, commit them from what is held, and
        leave the rest (new, changed, gone, and any an earlier run said missing) to be
        confirmed by id; HistoryExpiredError, and any other failure of NCBI, goes to the
        caller."""
        pending = self.store.entry_targets(entry.entry, pending_only=True)
        held = {uid: k for uid, k in self.known.lookup(pending).items() if k.body is not None}
        unchanged = await self._unchanged(entry, client, held) if held else frozenset()
        reusable = {
            uid: k.body for uid, k in held.items() if k.body is not None and uid in unchanged
        }
        reused = [(uid, (self._value(uid, body), body)) for uid, body in reusable.items()]
        fresh = await self.store.run(
            partial(self.store.commit_records, reused, day=client.transport.server_date)
        )
        self.stats.incr("known/reused", fresh)
        self.stats.incr("known/from_cache", sum(1 for uid in reusable if held[uid].cached))
        self.stats.incr("known/changed", len(held) - len(reusable))
        self.validating.discard(entry.entry)
        self.unchecked.discard(entry.entry)
        self._pages_in(entry, paged=False)  # what is pending (new, changed) is fetched by id

    async def _unchanged(
        self, entry: Entry, client: EutilsClient, held: dict[int, Known]
    ) -> frozenset[int]:
        """The set's members NCBI has a record for, last modified before the first day counted
        as changed (empty: none served as held, when NCBI refused mdat for the db or the set
        is too long to list). Only NCBI's in-band refusal of the date for the db stops the
        question for the run; a failure that may pass (or will not) is raised, as any
        request's."""
        if self.unsupported is not None:
            return frozenset()
        since = min(k.as_of for k in held.values()) - EASTERN_MARGIN
        try:
            if self.dates_applied:
                found: ChangedSince | None = await self._listing(entry, client, since)
            else:
                found = await self._probed_listing(entry, client, since)
        except DateTypeRefused as exc:
            said = (
                f"NCBI would not say which {self.job.db} records changed (esearch "
                f"datetype=mdat: {exc}); every kept {self.job.db} record is fetched again"
            )
            self._refuse(said)
            return frozenset()
        if found is None:  # the date limits not applied: said, nothing served as held
            return frozenset()
        if found.uids is None:
            self.stats.incr("known/unlistable_sets")
            self.store.note(
                f"entry {entry.query_key} of chunk {entry.chunk}: NCBI counts {found.count} of "
                f"its {self.job.db} records unchanged, more than esearch lists: its "
                f"{len(held)} held records are fetched again"
            )
            return frozenset()
        return found.uids

    async def _probed_listing(
        self, entry: Entry, client: EutilsClient, since: datetime.date
    ) -> ChangedSince | None:
        """The listing while the date limits are unproved: after the probe, one set at a time
        (the others wait for the proof), None once they are found not applied."""
        async with self._probing:
            if self.unsupported is not None:  # refused while this one waited
                return None
            if not self.dates_applied:
                if not await self._dates_apply(entry, client):
                    return None
                found = await self._listing(entry, client, since)
                # none dated 1800 proves the limits applied only of a set with members
                self.dates_applied = found.count > 0
                return found
        return await self._listing(entry, client, since)

    async def _listing(
        self, entry: Entry, client: EutilsClient, since: datetime.date
    ) -> ChangedSince:
        """The one listing of the set: members dated 1800 to the day before `since`."""
        found = await unchanged_before(
            client,
            self.job.db,
            since - datetime.timedelta(days=1),
            webenv=entry.webenv,
            query_key=entry.query_key,
        )
        self.stats.incr("known/validations")
        self.stats.incr("known/mdat_requests", found.requests)
        return found

    async def _dates_apply(self, entry: Entry, client: EutilsClient) -> bool:
        """Whether the date limits are applied to the entry's set: its members dated
        1800/01/01 count none (proved only once a listing of the same set names some);
        asked until proved, under the lock, so no listing is trusted before; a failure is
        raised to the validation that asked, and the next one asks again."""
        applied = await dates_apply(
            client, self.job.db, webenv=entry.webenv, query_key=entry.query_key
        )
        self.stats.incr("known/date_probes")
        if not applied:
            self._refuse(
                f"NCBI did not apply mdat date limits to a History set of {self.job.db} "
                "(esearch #N counted records modified on 1800/01/01): it cannot say "
                f"which were modified, so every kept {self.job.db} record is fetched again"
            )
        return applied

    def _refuse(self, said: str) -> None:
        """The question cannot be asked of the job's db this run: said once, all fetched."""
        self.unsupported = said
        self.warnings.append(said)
        self.store.note(said)
        log.warning("%s", said)

    def _value(self, uid: int, body: bytes) -> bytes:
        """The output's value of a held record, extracted with the job's fields."""
        if not self.job.fields:
            return body
        return self.extractor.cells(kept.parsed(self.job.db, uid, body))
