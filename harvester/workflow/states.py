"""Where each piece of work stands, as the job store keeps it: words in its TEXT columns, and a
target's state as a small integer (the targets table is the largest; an int is its cheapest)."""

from __future__ import annotations

from enum import IntEnum, StrEnum

__all__ = ["EntryState", "Posting", "SourceStatus", "TargetState"]


class SourceStatus(StrEnum):
    """What elink said of a source id (`sources.status`; NULL until its chunk is linked)."""

    LINKED = "linked"
    NO_LINKS = "no_links"
    UNKNOWN = "unknown"
    """NCBI dropped the id from its answer: it has no such record."""


class Posting(StrEnum):
    """How a linked chunk's new targets reach the History server (`chunks.mode`)."""

    HISTORY = "history"
    """All new and of one link name: one neighbor_history elink per link name."""
    POST = "post"
    """Some were claimed by earlier chunks: an epost of the new ones."""
    NONE = "none"
    """Nothing new to fetch."""


class EntryState(StrEnum):
    """Where a History entry stands (`entries.state`)."""

    OPEN = "open"
    DONE = "done"
    REPLACED = "replaced"
    """Its WebEnv was lost and its targets were put in a new entry."""


class TargetState(IntEnum):
    """Where a target stands (`targets.state`); bound into SQL as a parameter, never pasted."""

    PENDING = 0
    """Neither its record nor NCBI's word that it has none is in yet."""
    FETCHED = 1
    MISSING = 2
    """NCBI answered a fetch by id without it: withdrawn or merged."""
