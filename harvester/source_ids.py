"""The checks every source id passes, wherever it came from (a job file, a mapping, an id
file): numeric, in range, within the job's bound, duplicates merged. Kept apart from the id
file reader so the job loader refuses bad inline ids at load time, not at harvest time."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from harvester.errors import InputError

__all__ = ["MAX_SOURCE_IDS", "MAX_UID", "SourceIds", "inline_ids", "validate_ids"]

MAX_UID = 2**63 - 1
"""The largest id the job store's integer columns hold (Entrez ids are far below it)."""
MAX_UID_DIGITS = len(str(MAX_UID))
MAX_SOURCE_IDS = 5_000_000
"""The most source ids one job takes, duplicates included: a bound on memory (about 150 bytes
an id while they are checked) and on an endless source, such as `yes 1` behind a FIFO."""


@dataclass(frozen=True, slots=True)
class SourceIds:
    """Unique source ids in first-seen order, and what was fixed on the way (for the summary);
    `file_sha256`: the id file's digest, taken while it was read (so it is read once)."""

    ids: tuple[str, ...]
    warnings: tuple[str, ...]
    file_sha256: str | None = field(default=None, compare=False)


def inline_ids(
    ids: Sequence[str], lines: Sequence[int], ids_line: int | None, label: str
) -> SourceIds:
    """A job's inline ids checked, each named by its job-file line (its position without one)."""
    if not ids:
        where = f"{label}:{ids_line}" if ids_line else label
        raise InputError(f"{where}: the source id list is empty")
    return validate_ids(
        (value, f"{label}:{lines[i]}" if i < len(lines) and lines[i] else f"source.ids[{i}]")
        for i, value in enumerate(ids)
    )


def validate_ids(raw: Iterable[tuple[str, str]]) -> SourceIds:
    """(value, where) pairs -> unique numeric ids; the first bad id fails and counts the rest.
    No int() of a long digit string: its length decides (Python refuses past 4,300 digits)."""
    seen: set[str] = set()
    ids: list[str] = []
    error: str | None = None
    more = 0
    duplicates = 0
    first_duplicate = duplicate_where = ""
    for given, (value, where) in enumerate(raw, 1):
        if given > MAX_SOURCE_IDS:
            raise InputError(
                f"{where}: more than {MAX_SOURCE_IDS:,} source ids; split the job into several"
            )
        text = value.strip()
        key = text.lstrip("0")
        if not (text.isdigit() and text.isascii()) or not key or _too_large(key):
            if error is None:
                error = f"{where}: {_problem(text)}"
            else:
                more += 1
            continue
        if key in seen:
            if not duplicates:
                first_duplicate, duplicate_where = text, where
            duplicates += 1
        elif error is None:
            seen.add(key)
            ids.append(text)
    if error is not None:
        raise InputError(error + (f" (and {more} more bad ids)" if more else ""))
    warnings = []
    if duplicates:
        label = _file_of(duplicate_where)
        noun = "id" if duplicates == 1 else "ids"
        warnings.append(
            f"{label}: {duplicates} duplicate source {noun} merged (first: {first_duplicate})"
        )
    return SourceIds(tuple(ids), tuple(warnings))


def _too_large(digits: str) -> bool:
    """`digits` (no leading zero) past MAX_UID, by length first."""
    return len(digits) > MAX_UID_DIGITS or (len(digits) == MAX_UID_DIGITS and int(digits) > MAX_UID)


def _problem(text: str) -> str:
    shown = repr(text) if len(text) <= 40 else repr(text[:37] + "...")
    if not text:
        return "source id is blank"
    if text.startswith("-") and text[1:].strip().isdigit():
        return f"source id {shown} is negative"
    if text.isdigit() and text.isascii() and text.strip("0"):
        return f"source id {shown} is too large (ids are below 2**63)"
    if text.isdigit() and text.isascii():
        return f"source id {shown} is zero (Entrez ids start at 1)"
    hint = "; is this a CSV file? set source.column" if ("," in text or "\t" in text) else ""
    return f"source id {shown} is not a numeric id{hint}"


def _file_of(where: str) -> str:
    """'genes.txt:12' -> 'genes.txt' (the label a whole-file warning names)."""
    head, _, tail = where.rpartition(":")
    return head if head and tail.isdigit() else where
