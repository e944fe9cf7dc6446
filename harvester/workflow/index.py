"""Step 1's answer as the index: from per-id elink linksets, each source's status and its
edges, matched to the sources by the id each linkset names, never by position."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from typing import Any

from harvester.eutils.results import LinkSet
from harvester.workflow.states import SourceStatus

Edge = tuple[int, int, int, int, int | None]
"""(source, link, rank, target, score): one link of the index, `link` the job's name index."""


def index_of(
    ids: Sequence[int], items: Iterable[Any], links: Mapping[str, int]
) -> tuple[dict[int, SourceStatus], list[Edge]]:
    """The statuses of `ids` (linked, no_links, or unknown when NCBI dropped the id or said it
    has no such record) and their edges under the link names in `links`."""
    wanted = set(ids)
    statuses = dict.fromkeys(ids, SourceStatus.UNKNOWN)
    edges: list[Edge] = []
    for item in items:
        if not isinstance(item, LinkSet) or len(item.ids) != 1 or not item.ids[0].isdigit():
            continue
        source = int(item.ids[0])
        if source not in wanted or item.error:
            continue
        count = 0
        for db in item.dbs:
            link = links.get(db.linkname)
            if link is None:
                continue
            scores = db.scores or ()
            for rank, target in enumerate(db.links):
                score = scores[rank] if rank < len(scores) else None
                edges.append((source, link, rank, int(target), score))
                count += 1
        statuses[source] = SourceStatus.LINKED if count else SourceStatus.NO_LINKS
    return statuses, edges


def register_new(items: Iterable[Any], links: MutableMapping[str, int], db: str) -> list[str]:
    """For `linkname: all`: the link names to `db` the answer carries that `links` lacks,
    numbered after the others in NCBI's order (first seen first); returns them."""
    added: list[str] = []
    for item in items:
        if not isinstance(item, LinkSet):
            continue
        for found in item.dbs:
            if found.dbto == db and found.linkname not in links:
                links[found.linkname] = len(links)
                added.append(found.linkname)
    return added
