"""A job's source ids, inline or from an id/CSV file: checked, de-duplicated, kept as text.

Id files may hold a million lines, so they are read as a stream and each id costs a strip and
an `isdigit`. Ids stay as given (no int round trip); duplicates compare by numeric value, and
are merged with one warning rather than failing a long job over a copy-paste slip.
"""

from __future__ import annotations

import csv
import difflib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, AnyStr

from harvester.config import SourceSpec
from harvester.errors import InputError

__all__ = ["SourceIds", "load_source_ids", "validate_ids"]

_TSV_SUFFIXES = (".tsv", ".tab")
MAX_UID = 2**63 - 1
"""The largest id the job store's integer columns hold (Entrez ids are far below it)."""


@dataclass(frozen=True, slots=True)
class SourceIds:
    """Unique source ids in first-seen order, and what was fixed on the way (for the summary)."""

    ids: tuple[str, ...]
    warnings: tuple[str, ...]


def load_source_ids(spec: SourceSpec, *, job_file: Path | None) -> SourceIds:
    """Inline ids or an id file's ids; a `term` source is the engine's (esearch), not ours."""
    if spec.term is not None:
        raise ValueError("a term source is resolved by esearch in the engine, not loaded here")
    if spec.file is not None:
        label = str(spec.file)
        pairs = _csv_ids(spec.file, spec.column) if spec.column else _plain_ids(spec.file)
        result = validate_ids(pairs)
        if not result.ids:
            where = f"column '{spec.column}' of the id file" if spec.column else "the id file"
            raise InputError(f"{label}: {where} holds no ids")
        return result
    label = str(job_file) if job_file else "job"
    if not spec.ids:
        where = f"{label}:{spec.ids_line}" if spec.ids_line else label
        raise InputError(f"{where}: the source id list is empty")
    lines = spec.id_lines
    return validate_ids(
        (value, f"{label}:{lines[i]}" if i < len(lines) and lines[i] else f"source.ids[{i}]")
        for i, value in enumerate(spec.ids)
    )


def validate_ids(raw: Iterable[tuple[str, str]]) -> SourceIds:
    """(value, where) pairs -> unique numeric ids; the first bad id fails and counts the rest."""
    seen: set[str] = set()
    ids: list[str] = []
    error: str | None = None
    more = 0
    duplicates = 0
    first_duplicate = duplicate_where = ""
    for value, where in raw:
        text = value.strip()
        if (
            not (text.isdigit() and text.isascii())
            or not text.strip("0")
            or (len(text) > 18 and int(text) > MAX_UID)
        ):
            if error is None:
                error = f"{where}: {_problem(text)}"
            else:
                more += 1
            continue
        key = text.lstrip("0")
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


def _open(path: Path, *, newline: str | None = None) -> IO[str]:
    return _opened(lambda: path.open(encoding="utf-8-sig", newline=newline), path)


def _opened(opener: Callable[[], IO[AnyStr]], path: Path) -> IO[AnyStr]:
    try:
        return opener()
    except FileNotFoundError:
        raise InputError(f"{path}: id file not found (resolved to {path.resolve()})") from None
    except IsADirectoryError:
        raise InputError(f"{path}: the id file is a folder") from None
    except PermissionError:
        raise InputError(f"{path}: the id file is not readable (permission denied)") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read the id file ({exc.strerror})") from None


def _plain_ids(path: Path) -> Iterator[tuple[str, str]]:
    """One id per line; `#` starts a comment; blank lines are skipped."""
    label = str(path)
    with _opened(lambda: path.open("rb"), path) as fh:
        for number, raw in enumerate(fh, 1):
            try:  # line by line, so the message names the line with the bad bytes
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError:
                raise InputError(f"{label}:{number}: the id file is not UTF-8 text") from None
            text = line.partition("#")[0].strip() if "#" in line else line.strip()
            if text:
                yield (text, f"{label}:{number}")


def _csv_ids(path: Path, column: str) -> Iterator[tuple[str, str]]:
    """The cells of one header column of a CSV (TSV for .tsv/.tab) file."""
    label = str(path)
    delimiter = "\t" if path.suffix.lower() in _TSV_SUFFIXES else ","
    with _open(path, newline="") as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        try:
            header = next((row for row in reader if row), None)
            if header is None:
                raise InputError(f"{label}: the file is empty (expected a header with '{column}')")
            names = [name.strip() for name in header]
            if column not in names:
                lowered = {name.lower(): name for name in names}
                close = difflib.get_close_matches(column.lower(), list(lowered), n=1)
                hint = f"; did you mean '{lowered[close[0]]}'?" if close else ""
                raise InputError(
                    f"{label}:{reader.line_num}: no column '{column}' "
                    f"(columns: {', '.join(names)}){hint}"
                )
            index = names.index(column)
            for row in reader:
                if row:
                    yield (row[index] if index < len(row) else "", f"{label}:{reader.line_num}")
        except UnicodeDecodeError:
            raise InputError(f"{label}:{reader.line_num + 1}: the file is not UTF-8 text") from None
        except csv.Error as exc:
            raise InputError(f"{label}:{reader.line_num}: not valid CSV ({exc})") from None
