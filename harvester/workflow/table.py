"""The output as a typed Arrow table (the optional `parquet` extra): ids and scores as int64,
a missing value as null, not '', a field as its declared type (field_types.py). Feeds the
Parquet writer and `HarvestResult.to_arrow`."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator, Sequence
from typing import Any

from harvester.config import JobConfig
from harvester.errors import ConfigError
from harvester.workflow.field_types import Converter, FieldType, arrow_type
from harvester.workflow.fields import FieldExtractor
from harvester.workflow.joined import STATUS, Joined, header, target_state

log = logging.getLogger("harvester")
ROWS_PER_GROUP = 50_000
"""Rows per Parquet row group (and per Arrow batch): readers split work and skip by these."""
NEEDS_PYARROW = "parquet output needs pyarrow: pip install 'harvester[parquet]'"


def require_pyarrow() -> None:
    """Refuse before any request when pyarrow is absent, not after the harvest."""
    _pyarrow()


def _pyarrow() -> Any:
    try:
        import pyarrow  # type: ignore[import-not-found, import-untyped, unused-ignore]
    except ImportError:
        raise ConfigError(NEEDS_PYARROW) from None
    return pyarrow


def schema(fields: Sequence[str], types: Sequence[tuple[str, FieldType]] = ()) -> Any:
    """The table's columns: the TSV header, typed (a field as declared, else text)."""
    pa = _pyarrow()
    declared = dict(types)
    columns = {"source": pa.int64(), "target": pa.int64(), "score": pa.int64()}
    columns |= {name: arrow_type(pa, declared.get(name)) for name in fields}
    return pa.schema([(name, columns.get(name, pa.string())) for name in header(fields)])


def job_schema(job: JobConfig) -> Any:
    """The job's table columns."""
    return schema([n for n, _ in job.fields], job.field_types)


def typed_rows(
    store: Joined, job: JobConfig, converter: Converter | None = None
) -> Iterator[tuple[Any, ...]]:
    """One row per source-target pair, as TSV has them, with None where TSV has '' and
    declared types applied by `converter` (which counts the values that do not convert)."""
    extractor = FieldExtractor(job.fields)
    names = [n for n, _ in job.fields]
    typed = (converter or Converter(job.field_types)).typed if job.field_types else None
    declared = {n for n, _ in job.field_types}
    width = len(names) or 1
    for source, status, link, target, score, state, data in store.joined():
        status_name = STATUS.get(status, str(status))
        if target is None or link is None:
            yield (source, status_name, None, None, None, None, *(None,) * width)
            continue
        cells: tuple[Any, ...] = (None,) * width
        if data is not None:
            value = extractor.decode(data)
            if typed is not None:
                value = typed(value)
            cells = (
                tuple(value.get(n) if n in declared else _cell(value.get(n)) for n in names)
                if names
                else (value,)
            )
        linkname = job.linknames[link]
        yield (source, status_name, linkname, target, score, target_state(data, state), *cells)


def _cell(value: Any) -> str | None:
    """An undeclared field's value as its text column holds it: several joined by |."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list):
        return "|".join(value)
    return str(value)


def batches(store: Joined, job: JobConfig, converter: Converter | None = None) -> Iterator[Any]:
    """Arrow record batches of ROWS_PER_GROUP rows, streamed off the join."""
    pa = _pyarrow()
    table_schema = job_schema(job)
    rows = typed_rows(store, job, converter)
    while batch := list(itertools.islice(rows, ROWS_PER_GROUP)):
        columns = zip(*batch, strict=True)
        arrays = [pa.array(c, type=f.type) for c, f in zip(columns, table_schema, strict=True)]
        yield pa.RecordBatch.from_arrays(arrays, schema=table_schema)


def to_arrow(store: Joined, job: JobConfig) -> Any:
    """The whole output as one `pyarrow.Table`."""
    pa = _pyarrow()
    converter = Converter(job.field_types)
    table = pa.Table.from_batches(list(batches(store, job, converter)), schema=job_schema(job))
    for line in converter.warnings():
        log.warning("%s", line)  # as a run's summary would say it
    return table


def write_parquet(
    store: Joined, job: JobConfig, handle: Any, converter: Converter | None = None
) -> int:
    """Stream the typed table into an open binary file; returns the rows written."""
    import pyarrow.parquet as pq  # type: ignore[import-not-found, import-untyped, unused-ignore]

    rows = 0
    writer = pq.ParquetWriter(handle, job_schema(job))
    try:
        for batch in batches(store, job, converter):
            writer.write_batch(batch, row_group_size=ROWS_PER_GROUP)
            rows += batch.num_rows
    finally:
        writer.close()  # its file handle and buffers, also when the join fails mid-way
    return rows
