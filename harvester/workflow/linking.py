"""The requests of steps 1 and 3 as the engine asks for them: the index elink for a chunk's
sources, and the two ways its targets reach the History server (neighbor_history, epost),
which keep count of the query keys each WebEnv holds (history_keys.py)."""

from __future__ import annotations

from functools import partial
from typing import Any

from harvester.config import JobConfig
from harvester.eutils.client import EutilsClient
from harvester.eutils.results import LinkSetHistory, PostResult
from harvester.workflow.hedge import Hedger
from harvester.workflow.history_keys import HistoryKeys


class Linker:
    """elink and epost for the job, through the client's one gate."""

    def __init__(self, job: JobConfig, client: EutilsClient, hedger: Hedger) -> None:
        self.job, self.client, self.hedger = job, client, hedger
        self.keys = HistoryKeys()

    async def index(self, ids: list[int]) -> list[Any]:
        """The per-id elink that builds the index: a read, so an overdue one is asked again
        (hedge.py). neighbor_history is not: each answer makes a History entry."""
        return await self.hedger.read(
            partial(
                self.client.elink,
                self.job.dbfrom,
                [str(i) for i in ids],
                db=self.job.db,
                linkname=self.job.elink_linkname,
                cmd=self.job.cmd,
                per_id=True,
            )
        )

    async def history(self, ids: list[int]) -> LinkSetHistory | None:
        """One neighbor_history elink: the sources' targets as History entries, one per link
        name (None when NCBI made none)."""
        items = await self.client.elink(
            self.job.dbfrom,
            [str(i) for i in ids],
            db=self.job.db,
            linkname=self.job.elink_linkname,
            cmd="neighbor_history",
            per_id=False,
            webenv=self.keys.webenv_for(len(self.job.linknames)),
        )
        found = next((i for i in items if isinstance(i, LinkSetHistory)), None)
        if found is not None:
            self.keys.adopt(found.webenv, len(found.histories))
        return found

    async def post(self, targets: list[int]) -> PostResult:
        """One epost of `targets` as a History entry."""
        posted = await self.client.epost(
            self.job.db, [str(t) for t in targets], webenv=self.keys.webenv_for(1)
        )
        self.keys.adopt(posted.webenv, 1)
        return posted

    def lost(self, webenv: str) -> None:
        """NCBI no longer has `webenv`: reads of it fail at once, new entries go elsewhere."""
        self.client.history_lost(webenv)
        self.keys.lost(webenv)
