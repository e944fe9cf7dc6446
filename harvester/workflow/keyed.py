"""Step `key`: a record joins by the uid elink gives (the job never asks elink for
`idtype=acc`); a sequence record, keyed by its accession.version, joins by the gi it also names
itself by. Records that name no such uid cannot be joined and stop the run."""

from __future__ import annotations

from harvester.errors import ParseError
from harvester.eutils.results import Record

__all__ = ["UnjoinableRecords", "record_uid", "unjoinable"]


class UnjoinableRecords(ParseError):
    """Records came back, but none keyed by an id the job asked for: whatever NCBI sent, it
    cannot be joined, and marking the targets missing would be a lie. Final: asked again, the
    same records come back."""


def record_uid(record: Record) -> str | None:
    """The uid the record joins by: its own, else the numeric key it also names (a gi)."""
    return record.uid if record.uid.isdigit() else record.key_among(str.isdigit)


def unjoinable(record: Record) -> str:
    """Why a record that names itself by no uid (a TinySeq without gi) stops the run."""
    return (
        f"NCBI answered the {record.db} record {record.uid} without its uid (gi number), "
        "so it cannot be joined to the uids elink gives; fetch sequences as GBSeq "
        "(fetch.rettype gb or gp, the default) or with fetch.via: esummary"
    )
