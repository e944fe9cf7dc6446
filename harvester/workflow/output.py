"""Writers for the joined output, streamed from the job store and written atomically.

JSONL: one line per source id, its links in order, each with its record (or `missing`);
JSON: the same objects as one array.
TSV/CSV: one row per source-target pair (a source without links still gets one row).
Parquet: the TSV rows as a table (optional `parquet` extra). Declared field types apply to
JSONL and Parquet; TSV/CSV write the text as extracted. Where the bytes go (a file renamed
into place, or a stream written through) is `outfile.py`'s.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson

from harvester.config import JobConfig, LinkCmd, OutputFormat
from harvester.workflow.field_types import Converter
from harvester.workflow.fields import FieldExtractor
from harvester.workflow.joined import STATUS, Joined, header, target_state
from harvester.workflow.outfile import open_output
from harvester.workflow.table import write_parquet

CELL_CACHE = 65_536
"""Records whose decoded cells are kept: targets shared by many sources are decoded once."""


def write_output(store: Joined, job: JobConfig, warnings: list[str] | None = None) -> int:
    """The job's whole output in its format; returns the lines or rows written. Values that
    did not convert to their declared type are told in `warnings`, one line per field."""
    extractor = FieldExtractor(job.fields)
    path, fmt = job.output.path, job.output.format
    converter = Converter(job.field_types)
    if fmt == OutputFormat.JSONL:
        written = write_jsonl(store, job, converter)
    elif fmt == OutputFormat.JSON:
        written = write_json_array(store, job, converter)
    elif fmt == OutputFormat.PARQUET:
        with open_output(path, owner=job.job_dir) as handle:
            written = write_parquet(store, job, handle, converter)
    else:
        return write_table(store, path, fmt, job.linknames, _names(job), extractor, job.job_dir)
    if warnings is not None:
        warnings.extend(converter.warnings())
    return written


def _names(job: JobConfig) -> list[str]:
    return [n for n, _ in job.fields]


def _grouped(store: Joined) -> Iterator[tuple[int, str | None, list[tuple[Any, ...]]]]:
    for source, rows in itertools.groupby(store.joined(), key=lambda r: r[0]):
        group = list(rows)
        links = [r for r in group if r[3] is not None]
        yield source, group[0][1], links


def _link_json(
    row: tuple[Any, ...],
    linknames: Sequence[str],
    scored: bool,
    extractor: FieldExtractor,
    typed: Callable[[Any], Any] | None,
) -> dict[str, Any]:
    _, _, link, target, score, state, data = row
    out: dict[str, Any] = {"linkname": linknames[link], "id": str(target)}
    if scored:
        out["score"] = score
    if data is not None:
        record = extractor.decode(data)
        out["record"] = record if typed is None else typed(record)
    else:
        out["record"] = None
        out[target_state(None, state).value] = True  # "missing", or "not_fetched" as TSV says
    return out


def jsonl_docs(
    store: Joined, job: JobConfig, converter: Converter | None = None
) -> Iterator[dict[str, Any]]:
    """One dict per source id, as its JSONL line has it: the links in order, each with its
    record (or `missing`), its fields of declared types converted (a date as a `date`)."""
    extractor = FieldExtractor(job.fields)
    scored = job.cmd == LinkCmd.NEIGHBOR_SCORE
    typed = (converter or Converter(job.field_types)).typed if job.field_types else None
    for source, status, links in _grouped(store):
        yield {
            "source": str(source),
            "status": STATUS.get(status, status),
            "links": [_link_json(r, job.linknames, scored, extractor, typed) for r in links],
        }


def write_jsonl(store: Joined, job: JobConfig, converter: Converter | None = None) -> int:
    lines = 0
    with open_output(job.output.path, owner=job.job_dir) as handle:
        for doc in jsonl_docs(store, job, converter):
            handle.write(orjson.dumps(doc) + b"\n")
            lines += 1
    return lines


def write_json_array(store: Joined, job: JobConfig, converter: Converter | None = None) -> int:
    """The JSONL's objects as one JSON array, one object a line, streamed as the lines are."""
    count = 0
    with open_output(job.output.path, owner=job.job_dir) as handle:
        handle.write(b"[")
        for doc in jsonl_docs(store, job, converter):
            handle.write((b",\n" if count else b"\n") + orjson.dumps(doc))
            count += 1
        handle.write(b"\n]\n" if count else b"]\n")
    return count


def _record_cells(fields: Sequence[str], decode: Callable[[bytes], Any], data: bytes) -> list[str]:
    """A stored record's cells in field order (the whole record when there are no fields)."""
    if not fields:
        return [decode(data)]
    values = decode(data)
    return [_cell(values.get(name)) for name in fields]


def _cell(value: Any) -> str:
    if value.__class__ is str:
        return value  # already a str: the common case, checked first
    if value is None:
        return ""
    if isinstance(value, list):
        return "|".join(value)
    return str(value)


def write_table(
    store: Joined,
    path: Path,
    fmt: OutputFormat,
    linknames: Sequence[str],
    fields: Sequence[str],
    extractor: FieldExtractor,
    owner: Path | None = None,
) -> int:
    """A TSV or CSV table; `owner` is the job directory whose run writes it (for its
    temporary file's name)."""
    delimiter = "\t" if fmt == OutputFormat.TSV else ","
    rows = 0
    with open_output(path, text=True, owner=owner) as handle:
        quoted = _Quoter(delimiter)
        handle.write(quoted.join(header(fields)) + "\n")
        lines: list[str] = []
        for line in _lines(store, linknames, fields, extractor, quoted):
            lines.append(line)
            if len(lines) >= 4096:
                handle.write("".join(lines))
                rows += len(lines)
                lines = []
        handle.write("".join(lines))
        rows += len(lines)
    return rows


class _Quoter:
    """Joins cells as csv would write them: quoted only where a cell needs it."""

    def __init__(self, delimiter: str) -> None:
        self.delimiter = delimiter
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, delimiter=delimiter, lineterminator="\n")

    def join(self, cells: Sequence[str]) -> str:
        line = self.delimiter.join(cells)
        if line.count(self.delimiter) == len(cells) - 1 and not _SPECIAL.search(line):
            return line  # nothing to quote: the common case, no csv call
        self._buffer.seek(0)
        self._buffer.truncate()
        self._writer.writerow(cells)
        return self._buffer.getvalue()[:-1]


_SPECIAL = re.compile('["\r\n]')


def _lines(
    store: Joined,
    linknames: Sequence[str],
    fields: Sequence[str],
    extractor: FieldExtractor,
    quoted: _Quoter,
) -> Iterator[str]:
    """The rows of `_rows` as finished lines. Each piece that could need quoting (a record's
    cells, a link or status name) is joined once, so most rows are one format of numbers and
    cached text: the writer's cost per row, not per cell, at the end of every run."""
    d = quoted.delimiter
    width = len(fields or ["record"])
    blank = d * (width - 1)
    names = [quoted.join([name]) for name in linknames]
    statuses: dict[str | None, str] = {}
    decode = extractor.decode
    cached: dict[int, str] = {}
    plain = extractor.plain_cells if tuple(fields) == extractor.names and fields else None
    for source, status, link, target, score, state, data in store.joined():
        status_text = statuses.get(status)
        if status_text is None:
            status_text = statuses[status] = quoted.join([STATUS.get(status, str(status))])
        if target is None:
            yield f"{source}{d}{status_text}{d}{d}{d}{d}{d}{blank}\n"
            continue
        assert link is not None
        if data is not None:
            cells = plain(data, d) if plain is not None else None  # stored as cells: copied
            if cells is None:
                cells = cached.get(target)
            if cells is None:
                cells = quoted.join(_record_cells(fields, decode, data))
                if len(cached) >= CELL_CACHE:
                    cached.clear()
                cached[target] = cells
        else:
            cells = blank
        score_text = "" if score is None else score
        pair = f"{source}{d}{status_text}{d}{names[link]}{d}{target}{d}{score_text}"
        yield f"{pair}{d}{target_state(data, state)}{d}{cells}\n"
