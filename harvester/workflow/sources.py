"""A job's source ids, inline or from an id/CSV file: checked, de-duplicated, kept as text.

Id files may hold millions of lines, so they are read as a stream, once (hashed as read, so a
FIFO works), every line bounded, and each id costs a strip and an `isdigit`. Ids stay as given
(no int round trip); duplicates compare by numeric value, and are merged with one warning
rather than failing a long job over a copy-paste slip.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import IO, Any, AnyStr

from harvester.config import SourceSpec
from harvester.errors import InputError
from harvester.source_ids import MAX_SOURCE_IDS, SourceIds, inline_ids, validate_ids

__all__ = [
    "MAX_LINE",
    "MAX_LINES",
    "SourceIds",
    "load_source_ids",
    "read_id_stream",
    "validate_ids",
]

_TSV_SUFFIXES = (".tsv", ".tab")
MAX_LINE = 1 << 20
"""The longest line an id file may hold (1 MiB; characters in a CSV): an id is 19 digits at
most, so a longer line is a wrong file (`/dev/zero` has no line end at all)."""
MAX_LINES = 2 * MAX_SOURCE_IDS
"""The most lines an id file may hold, blank and comment lines included (an endless source)."""
BUFFER = 1 << 20


def load_source_ids(spec: SourceSpec, *, job_file: Path | None) -> SourceIds:
    """Inline ids or an id file's ids; a `term` source is the engine's (esearch), not ours."""
    if spec.term is not None:
        raise ValueError("a term source is resolved by esearch in the engine, not loaded here")
    if spec.file is None:
        label = str(job_file) if job_file else "job"
        return inline_ids(spec.ids, spec.id_lines, spec.ids_line, label)
    digest = hashlib.sha256()
    with _opened(spec.file, digest) as fh:
        pairs = _csv_ids(fh, spec.file, spec.column) if spec.column else _plain_ids(fh, spec.file)
        result = validate_ids(pairs)
        while fh.read(BUFFER):  # the digest covers the whole file, read this once
            pass
    if not result.ids:
        where = f"column '{spec.column}' of the id file" if spec.column else "the id file"
        raise InputError(f"{spec.file}: {where} holds no ids")
    return replace(result, file_sha256=digest.hexdigest())


def read_id_stream(fh: IO[bytes], label: str) -> SourceIds:
    """Ids from an open stream (stdin), one a line as in an id file, each named `label:LINE`;
    read once, so a pipe works."""
    result = validate_ids(_plain_ids(fh, Path(label)))
    if not result.ids:
        raise InputError(f"{label} holds no ids (one id a line)")
    return result


class _Hashing(io.RawIOBase):
    """A file read through a digest: the id reader and the job's hash share one pass, so a
    FIFO (or a file changed meanwhile) is read once and hashed as read."""

    def __init__(self, raw: io.RawIOBase, digest: hashlib._Hash) -> None:
        super().__init__()
        self._raw, self._digest = raw, digest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = self._raw.readinto(buffer)
        if count:
            self._digest.update(memoryview(buffer)[:count])
        return count or 0

    def close(self) -> None:
        self._raw.close()
        super().close()


def _opened(path: Path, digest: hashlib._Hash) -> io.BufferedReader:
    """The id file, opened once, read through `digest`; a path it cannot be is one line."""
    try:
        raw = path.open("rb", buffering=0)
    except FileNotFoundError:
        raise InputError(f"{path}: id file not found (resolved to {path.resolve()})") from None
    except IsADirectoryError:
        raise InputError(f"{path}: the id file is a folder") from None
    except PermissionError:
        raise InputError(f"{path}: the id file is not readable (permission denied)") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read the id file ({exc.strerror})") from None
    return io.BufferedReader(_Hashing(raw, digest), BUFFER)


def _too_long(label: str, number: int) -> InputError:
    return InputError(
        f"{label}:{number}: the line is longer than {MAX_LINE >> 20} MiB "
        "(an id file holds one id a line)"
    )


def _too_many(label: str, number: int) -> InputError:
    return InputError(f"{label}:{number}: the id file is longer than {MAX_LINES:,} lines")


def _plain_ids(fh: IO[bytes], path: Path) -> Iterator[tuple[str, str]]:
    """One id per line; `#` starts a comment; blank lines are skipped."""
    label = str(path)
    for number, raw in _bounded(fh.readline, label):
        try:  # line by line, so the message names the line with the bad bytes
            line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError:
            raise InputError(f"{label}:{number}: the id file is not UTF-8 text") from None
        text = line.partition("#")[0].strip() if "#" in line else line.strip()
        if text:
            yield (text, f"{label}:{number}")


def _text_lines(text: io.TextIOWrapper, label: str) -> Iterator[str]:
    """The lines of a text file, each bounded (the csv module reads a line whole)."""
    for _, line in _bounded(text.readline, label):
        yield line


def _bounded(readline: Callable[[int], AnyStr], label: str) -> Iterator[tuple[int, AnyStr]]:
    """(number, line) of each line `readline` gives, refusing one past MAX_LINE characters
    or bytes and a file past MAX_LINES lines, before either is held whole."""
    number = 0
    while line := readline(MAX_LINE + 1):
        number += 1
        if len(line) > MAX_LINE:
            raise _too_long(label, number)
        if number > MAX_LINES:
            raise _too_many(label, number)
        yield number, line


def _csv_ids(fh: io.BufferedReader, path: Path, column: str) -> Iterator[tuple[str, str]]:
    """The cells of one header column of a CSV (TSV for .tsv/.tab) file."""
    label = str(path)
    delimiter = "\t" if path.suffix.lower() in _TSV_SUFFIXES else ","
    text = io.TextIOWrapper(fh, encoding="utf-8-sig", newline="")
    reader = csv.reader(_text_lines(text, label), delimiter=delimiter)
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
    finally:
        text.detach()  # the file stays open for the rest of its digest
