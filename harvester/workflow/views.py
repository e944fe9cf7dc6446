"""Read-only views of a job store, for people and files: the counts behind the progress bars,
`harvester status` and the summary, the request floor, the notes, and the join the output
writers stream. The store (store.py) keeps the durable state the harvest reads and writes."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

from harvester.workflow.plan import request_floor
from harvester.workflow.states import EntryState, Posting, SourceStatus, TargetState
from harvester.workflow.store import Store
from harvester.workflow.store_errors import store_error

JoinedRow = tuple[int, str | None, int | None, int | None, int | None, int | None, bytes | None]
"""(source, status, link, target, score, target state, record): one row of the join."""


class StoreView:
    """Reads a job store; never writes to it."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def counts(self) -> dict[str, int]:
        db = self.store.db

        def one(sql: str, *args: object) -> int:
            return int(db.execute(sql, args).fetchone()[0] or 0)

        in_state = "SELECT count(*) FROM targets WHERE state=?"
        return {
            "sources": one("SELECT count(*) FROM sources"),
            "sources_linked": one("SELECT count(*) FROM sources WHERE status IS NOT NULL"),
            "sources_unknown": one(
                f"SELECT count(*) FROM sources WHERE status='{SourceStatus.UNKNOWN}'"
            ),
            "sources_without_links": one(
                f"SELECT count(*) FROM sources WHERE status='{SourceStatus.NO_LINKS}'"
            ),
            "chunks": one("SELECT count(*) FROM chunks"),
            "chunks_linked": one("SELECT count(*) FROM chunks WHERE linked=1"),
            "links": one("SELECT count(*) FROM edges"),
            "targets": one("SELECT count(*) FROM targets"),
            "targets_fetched": one(in_state, TargetState.FETCHED),
            "targets_missing": one(in_state, TargetState.MISSING),
            "entries": one("SELECT count(*) FROM entries"),
            "entries_rebuilt": one(
                f"SELECT count(*) FROM entries WHERE state='{EntryState.REPLACED}'"
            ),
            "pages": one("SELECT count(*) FROM pages"),
        }

    def floor_requests(self, page_size: int, fetch_page: int | None = None) -> int:
        """The fewest requests this job's index allows (plan.request_floor): one elink per
        chunk, a neighbor_history and a size check per entry of a chunk with entries of its own,
        one epost for all pooled targets, and full pages (of `fetch_page` records if given)."""
        rows = self.store.db.execute("SELECT chunk, linked, mode FROM chunks").fetchall()
        sizes = self.store.chunk_link_counts
        linked = (
            (Posting(mode), sizes(chunk).values()) if done else (None, ())
            for chunk, done, mode in rows
        )
        return request_floor(linked, page_size, fetch_page).requests

    def linknames(self) -> list[str]:
        """The job's link names in the index's numbering ([] in a store made before they were
        kept)."""
        return [name for name in (self.store.get_meta("linknames") or "").split(",") if name]

    def links_per_name(self) -> dict[int, int]:
        """How many links the index holds under each link name (by its number)."""
        return dict(self.store.db.execute("SELECT link, count(*) FROM edges GROUP BY link"))

    def notes(self) -> list[str]:
        """What the harvest noted for people (a size mismatch, a link name posted instead)."""
        return [r[0] for r in self.store.db.execute("SELECT text FROM notes ORDER BY rowid")]

    def joined(self) -> Iterator[JoinedRow]:
        """(source, status, link, target, score, target state, record) in source order,
        links in link-name then NCBI order: the join, streamed, never held whole."""
        rows = self.store.db.execute(
            "SELECT s.uid, s.status, e.link, e.target, e.score, t.state, r.data "
            "FROM sources s LEFT JOIN edges e ON e.source = s.uid "
            "LEFT JOIN targets t ON t.uid = e.target LEFT JOIN records r ON r.uid = e.target "
            "ORDER BY s.position, e.link, e.rank"
        )
        try:
            yield from rows
        except sqlite3.Error as exc:  # a page of the file that only reading it finds damaged
            raise store_error(self.store.path, exc) from None
