"""A link name einfo does not list, asked of elink: einfo is advice, elink is truth.

NCBI's einfo leaves out names its elink answers (`pubmed_pubmed_citedin` among them,
docs/NCBI_BEHAVIOUR.md), so such a name costs one elink request for one source id, with the
name as `linkname`. A LinkSetDb under the name proves it; an in-band ERROR about the name is a
refusal; an answer with neither cannot tell an unknown name from an id without such links, so
the name is kept, unproven, with a warning.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from harvester.config import JobConfig, is_stream
from harvester.errors import (
    ConfigError,
    NcbiPermanentError,
    NcbiTransientError,
    ParseError,
    TransportError,
)
from harvester.eutils.client import EutilsClient
from harvester.eutils.results import LinkSet
from harvester.workflow.sources import load_source_ids

__all__ = ["Probe", "Verdict", "probe_id", "probe_name"]


class Verdict(StrEnum):
    ANSWERED = "answered"
    """elink answered links under the name: it exists."""
    REFUSED = "refused"
    """elink said, in-band, that it does not know the name."""
    SILENT = "silent"
    """elink answered no links and no error: unknown name or an id without such links."""
    UNASKED = "unasked"
    """elink could not be asked (no source id, unreachable, an error about something else)."""


@dataclass(frozen=True, slots=True)
class Probe:
    """What elink said about one link name: its verdict, NCBI's words, where it leads."""

    name: str
    verdict: Verdict
    detail: str = ""
    dbto: str = ""


async def probe_name(client: EutilsClient, job: JobConfig, name: str, uid: int) -> Probe:
    """Ask elink for `uid`'s links under `name` (one request) and read the verdict."""
    try:
        items = await client.elink(job.dbfrom, [str(uid)], db=job.db, linkname=name)
    except NcbiPermanentError as e:
        said = str(e)
        if "link name" in said.lower():  # the retry policy's word for a refused name
            return Probe(name, Verdict.REFUSED, said)
        return Probe(name, Verdict.UNASKED, said)
    except (TransportError, NcbiTransientError, ParseError) as e:
        return Probe(name, Verdict.UNASKED, str(e))
    for item in items:
        if not isinstance(item, LinkSet):
            continue
        if item.error:
            return Probe(name, Verdict.REFUSED, item.error)
        for db in item.dbs:
            if db.linkname == name:
                return Probe(name, Verdict.ANSWERED, dbto=db.dbto)
    return Probe(name, Verdict.SILENT)


async def probe_id(client: EutilsClient, job: JobConfig) -> int | None:
    """The job's first source id, for the probe: inline or from the id file, or the first
    id the term finds (one esearch); None when there is none to ask with."""
    source = job.source
    try:
        if source.term is not None:
            found = await client.esearch(job.dbfrom, source.term, retmax=1)
            ids: tuple[str, ...] = found.ids
        elif source.ids:
            ids = source.ids
        elif source.file is None or is_stream(source.file):
            return None  # a FIFO is the harvest's to read, once
        else:
            ids = load_source_ids(source, job_file=job.job_file).ids
    except (ConfigError, OSError, ValueError, TransportError, NcbiTransientError, ParseError):
        return None  # the harvest itself reports a source it cannot read
    except NcbiPermanentError:
        return None
    return next((int(i) for i in ids if str(i).isdigit()), None)
