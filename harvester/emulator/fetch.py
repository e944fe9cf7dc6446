"""efetch and esummary: records for an id list or a History entry, paged by retstart/retmax.

efetch bodies are streamed in chunks as they are rendered (NCBI sends chunked bodies), so a
10,000-record page never sits whole in memory and a cut-off body is possible to imitate.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from harvester.emulator import render_records as rr
from harvester.emulator.catalog import Catalog
from harvester.emulator.params import ParamError, Params
from harvester.emulator.render import XML_DECL, head, json_doc
from harvester.emulator.state import State
from harvester.ncbi import ESUMMARY_JSON_CAP, FORMATS, RETMAX_CAP, efetch_format, esummary_format

CHUNK_RECORDS = 100
CHUNK_BYTES = 2_000_000
"""About the most one rendered chunk should weigh: chunks are held (a couple ahead of the
socket) while a page streams, so a page of 1 MB records is not held 100 MB at a time."""
GENE_CHUNK_RECORDS = 10
"""Entrezgene records reach ~1 MB (most are tens of KB): ten to a chunk."""


def page(uids: list[int], p: Params, from_history: bool) -> list[int]:
    """The records a request reads: `retmax` of them (at most 10,000) from `retstart`; without
    `retmax`, a History entry is read whole, as NCBI processes the whole stored set."""
    retstart = p.int("retstart", 0)
    if from_history and p.get("retmax") is None:
        return uids[retstart:]
    retmax = min(p.int("retmax", RETMAX_CAP), RETMAX_CAP)
    return uids[retstart : retstart + retmax]


def efetch_body(state: State, p: Params) -> tuple[Iterable[str], str]:
    """(chunks of the body, content type); raises ParamError/HistoryMissing/NoValidIds."""
    db = state.check_db(p.get("db"))
    uids = state.request_uids(db, p)
    wanted = page(uids, p, not p.getall("id"))
    rettype, retmode = (p.get("rettype") or None), (p.get("retmode") or None)
    if rettype == "sgml":
        rettype = "xml"
    if rettype == "uilist":
        if retmode == "xml":
            body = "".join(f"<Id>{u}</Id>\n" for u in wanted)
            return iter([f"{XML_DECL}<IdList>\n{body}</IdList>\n"]), "text/xml"
        return iter(["".join(f"{u}\n" for u in wanted)]), "text/plain"
    if rettype == "fasta" and retmode in (None, "text") and db in ("protein", "nuccore"):
        return _fasta(state, db, wanted), "text/plain"
    fmt = efetch_format(db, rettype, retmode)
    if fmt is None:
        raise ParamError(
            f"Cannot process rettype={rettype or ''} retmode={retmode or ''} for db={db}"
        )
    return RecordPage(state, db, fmt.key, wanted), "text/xml"


@dataclass(frozen=True, slots=True)
class RecordPage:
    """An efetch page of records: `head`, the records in chunks (`chunk_records`), `tail`.

    Iterating renders the chunks here; a render pool renders `slices()` elsewhere instead."""

    state: State
    db: str
    fmt_key: str
    uids: list[int]

    @property
    def head(self) -> str:
        fmt = FORMATS[self.fmt_key]
        if fmt.namespace:
            return (
                '<?xml version="1.0" ?>\n<ExchangeSet xmlns:xsi="https://www.w3.org/2001/'
                f'XMLSchema-instance" xmlns="{fmt.namespace}" xsi:schemaLocation="{fmt.namespace}'
                ' ftp://ftp.ncbi.nlm.nih.gov/snp/specs/docsum_eutils.xsd" >'
            )
        return f'<?xml version="1.0" ?>\n{fmt.doctype}\n<{fmt.root}>\n'

    @property
    def tail(self) -> str:
        fmt = FORMATS[self.fmt_key]
        return f"</{fmt.root}>\n" if fmt.namespace else f"\n</{fmt.root}>\n"

    @property
    def chunk_records(self) -> int:
        """Records per chunk: fewer when records are big, so a chunk stays near CHUNK_BYTES."""
        filled = self.state.dataset.spec.record_bytes
        if filled:
            return max(1, min(CHUNK_RECORDS, CHUNK_BYTES // filled))
        return GENE_CHUNK_RECORDS if self.fmt_key == "entrezgene" else CHUNK_RECORDS

    def slices(self) -> Iterator[list[int]]:
        size = self.chunk_records
        for start in range(0, len(self.uids), size):
            yield self.uids[start : start + size]

    def __iter__(self) -> Iterator[str]:
        yield self.head
        for uids in self.slices():
            yield records_text(self.state.catalog, self.fmt_key, self.db, uids)
        yield self.tail


def records_text(catalog: Catalog, fmt_key: str, db: str, uids: Sequence[int]) -> str:
    """The efetch records of `uids`, concatenated (unknown uids leave nothing)."""
    render = catalog.efetch
    return "".join(text for uid in uids if (text := render(fmt_key, db, uid)) is not None)


def _fasta(state: State, db: str, uids: list[int]) -> Iterator[str]:
    for uid in uids:
        seq = state.catalog.records.seq(db, uid)
        if seq is not None:
            lines = "\n".join(seq.sequence[i : i + 70] for i in range(0, len(seq.sequence), 70))
            yield f">{seq.accession_version} {seq.definition}\n{lines}\n\n"


def esummary_body(state: State, p: Params) -> str | bytes:
    db = state.check_db(p.get("db"))
    uids = state.request_uids(db, p)
    from_history = not p.getall("id")
    retstart = p.int("retstart", 0)
    if p.json:
        retmax = p.int("retmax", len(uids))
        wanted = uids[retstart : retstart + retmax]
        if len(wanted) > ESUMMARY_JSON_CAP:
            return json_doc(
                "esummary",
                {
                    "error": "Too many UIDs in request. Maximum number of "
                    "UIDs is 500 for JSON format output."
                },
            )
        return _summary_json(state, db, wanted)
    wanted = page(uids, p, from_history)
    if esummary_format(db, p.get("version")).key == "docsum_v2":
        return _summary_v2(state, db, wanted)
    out = [head("eSummaryResult"), "<eSummaryResult>\n"]
    for position, uid in enumerate(wanted):
        fields = state.catalog.summary_v1(db, uid)
        if fields is None:
            out.append(f"<ERROR>Invalid uid {uid} at position={position}</ERROR>\n")
        else:
            out.append(f"<DocSum>\n\t<Id>{uid}</Id>\n{rr.items(fields)}</DocSum>\n")
    out.append("</eSummaryResult>\n")
    return "".join(out)


DB_BUILD = "Build251201-0300m.1"
"""esummary v2's `<DbBuild>` (NCBI names the index build the answer came from)."""


def _summary_v2(state: State, db: str, uids: list[int]) -> str:
    """DocumentSummarySet with its DbBuild: one element per line, or (dataset option
    `one_line`) the whole set on one line after the DOCTYPE, as NCBI sends many dbs today."""
    one_line = state.dataset.spec.one_line
    nl = "" if one_line else "\n"
    out = [
        XML_DECL,
        f'<!DOCTYPE eSummaryResult PUBLIC "-//NLM//DTD esummary {db} 20130927//EN" '
        f'"https://eutils.ncbi.nlm.nih.gov/eutils/dtd/20130927/esummary_{db}.dtd">\n',
        f'<eSummaryResult>{nl}<DocumentSummarySet status="OK">{nl}',
        f"<DbBuild>{DB_BUILD}</DbBuild>{nl}",
    ]
    for uid in uids:
        nodes = state.catalog.summary_v2(db, uid)
        if nodes is None:
            body = "<error>cannot get document summary</error>"
            out.append(f'<DocumentSummary uid="{uid}">{body}</DocumentSummary>{nl}')
        elif one_line:
            out.append(f'<DocumentSummary uid="{uid}">{rr.compact(nodes)}</DocumentSummary>')
        else:
            out.append(f'<DocumentSummary uid="{uid}">\n{rr.pretty(nodes)}</DocumentSummary>\n')
    out.append(f"{nl}</DocumentSummarySet>{nl}</eSummaryResult>\n")
    return "".join(out)


def _summary_json(state: State, db: str, uids: list[int]) -> bytes:
    result: dict[str, object] = {"uids": [str(u) for u in uids]}
    for uid in uids:
        nodes = state.catalog.summary_v2(db, uid)
        if nodes is None:
            result[str(uid)] = {"uid": str(uid), "error": "cannot get document summary"}
        else:
            result[str(uid)] = {"uid": str(uid), **rr.to_json(nodes)}
    return json_doc("esummary", {"result": result})
