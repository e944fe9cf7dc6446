"""The join as every writer reads it: its rows, its columns and the words it is written in.

The JSONL, TSV/CSV (output.py) and Parquet (table.py) writers share these, so a source's
status and a target's state read the same in every format."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

from harvester.workflow.states import SourceStatus
from harvester.workflow.store import MISSING
from harvester.workflow.views import JoinedRow

STATUS: dict[str | None, str] = {None: "pending"} | {s.value: s.value for s in SourceStatus}
"""A source's status as the output writes it: the store's word, "pending" before elink."""


class Joined(Protocol):
    """What the writers read: the join, as a view of the job store streams it (views.py)."""

    def joined(self) -> Iterator[JoinedRow]: ...


def target_state(data: bytes | None, state: int | None) -> str:
    return "ok" if data is not None else "missing" if state == MISSING else "not_fetched"


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
