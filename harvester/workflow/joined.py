"""The join as every writer reads it: its rows, its columns and the words it is written in.

The JSONL, TSV/CSV (output.py) and Parquet (table.py) writers share these, so a source's
status and a target's state read the same in every format."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from enum import StrEnum
from typing import Protocol

from harvester.workflow.states import SourceStatus, TargetState
from harvester.workflow.views import JoinedRow

STATUS: dict[str | None, str] = {None: "pending"} | {s.value: s.value for s in SourceStatus}
"""A source's status as the output writes it: the store's word, "pending" before elink."""


class Joined(Protocol):
    """What the writers read: the join, as a view of the job store streams it (views.py)."""

    def joined(self) -> Iterator[JoinedRow]: ...


class TargetWord(StrEnum):
    """A linked target as every format writes it: the `target_status` cell of TSV/CSV and
    Parquet, and in JSONL the key set true beside a null record."""

    OK = "ok"
    MISSING = "missing"
    """NCBI said it has no record for the id (withdrawn, merged)."""
    NOT_FETCHED = "not_fetched"
    """Its record is not in yet (an export of a job not finished): neither it nor NCBI's word."""


def target_state(data: bytes | None, state: int | None) -> TargetWord:
    """The word for a target with record `data` (None: none stored) in store state `state`."""
    if data is not None:
        return TargetWord.OK
    return TargetWord.MISSING if state == TargetState.MISSING else TargetWord.NOT_FETCHED


def header(fields: Sequence[str]) -> list[str]:
    """The TSV/CSV columns (Parquet's too): one per field, or `record` without fields."""
    return [
        "source",
        "source_status",
        "linkname",
        "target",
        "score",
        "target_status",
        *(fields or ["record"]),
    ]
