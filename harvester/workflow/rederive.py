"""Changing `fields` costs no request: the output's values are extracted again from the whole
records the job store keeps (kept.py), before the run goes on or the output is exported."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from harvester.config import JobConfig
from harvester.workflow import kept
from harvester.workflow.fields import FieldExtractor
from harvester.workflow.store import Store

log = logging.getLogger("harvester")


def fields_changed(store: Store, job: JobConfig) -> bool:
    """Whether the store's values were extracted with other fields than the job's."""
    recorded = store.get_meta("fields")
    return recorded is not None and recorded != job.fields_key()


def rederive(store: Store, job: JobConfig) -> list[str]:
    """Extract the job's fields from every kept record into the store; returns warnings for
    fields that matched nothing."""
    extractor = FieldExtractor(job.fields)

    def values() -> Iterator[tuple[int, bytes]]:
        for uid, body in store.kept_records():
            if not job.fields:
                yield uid, body
                continue
            yield uid, extractor.cells(kept.parsed(job.db, uid, body))

    store.replace_records(values(), job.fields_key())
    log.info("fields changed: %s records extracted again from the job store", extractor.seen)
    return extractor.unmatched()
