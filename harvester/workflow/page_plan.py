"""A History entry's page size, planned from the bytes its records are expected to hold: a
500-record page of ~72 KB gene records is ~35 MB, which NCBI takes ~23 s to send at the
~1.5 MB/s per answer reported (docs/NCBI_BEHAVIOUR.md) and which the byte budget admits alone
(benchmarks/WEIGHT.md). The size is chosen when the entry starts paging and kept in the store,
so a resumed run pages it alike (done pages are keyed by retstart)."""

from __future__ import annotations

from harvester.config import MB, JobConfig
from harvester.ncbi import FetchVia

__all__ = ["MIN_PAGE", "PAGE_BYTES", "planned_page_size", "prior_record_bytes"]

PAGE_BYTES = 8_000_000
"""The bytes a planned page is expected to hold at most: ~5 s of sending at the ~1.5 MB/s per
answer NCBI was seen to send at (far from the 120 s read timeout, and seconds, not tens of
them, lost should the answer fail), and a sixteenth of the default 128 MB byte budget, so
pages still overlap instead of being admitted one at a time."""
BUDGET_SHARE = 8
"""A planned page holds at most this fraction of `fetch.memory_mb` (a smaller budget gets
smaller pages, not one page at a time)."""
MIN_PAGE = 20
"""The fewest records a planned page asks for: below it requests, not bytes, cost the time
(at 10/s, 20 records of even 1 MB each are 20 MB a request)."""
PRIOR_RECORD_BYTES = {
    ("gene", FetchVia.EFETCH): 72_000,
    ("pubmed", FetchVia.EFETCH): 21_000,
    ("snp", FetchVia.EFETCH): 2_000,
}
"""Bytes per record before any page is in, by (db, via): NCBI's sizes as the emulator's
`large` draws them (docs/NCBI_BEHAVIOUR.md, benchmarks/EMULATOR.md: Entrezgene ~72 KB on
average, up to ~1 MB; PubMed articles with references ~21 KB; SNP docsums ~2 KB). Other
records (docsums, most other efetch formats) are taken as small: the job's page size."""


def prior_record_bytes(job: JobConfig) -> int | None:
    """The bytes a record of the job's db and format is expected to hold before any is in."""
    return PRIOR_RECORD_BYTES.get((job.db, job.fetch.via))


def planned_page_size(job: JobConfig, per_record: int | None) -> int:
    """Records per page for an entry starting now: `fetch.page_size` if the job set it, else
    at most it, lowered so a page is expected to hold at most PAGE_BYTES (or its share of the
    byte budget) at `per_record` bytes a record (observed this run), or the prior before any
    record is in; never below MIN_PAGE."""
    bound = job.fetch.page_size
    if job.fetch.page_size_set:
        return bound
    per = per_record or prior_record_bytes(job)
    if not per:
        return bound
    most = min(PAGE_BYTES, job.fetch.memory_mb * MB // BUDGET_SHARE)
    return min(bound, max(MIN_PAGE, most // per))
