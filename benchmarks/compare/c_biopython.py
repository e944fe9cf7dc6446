"""Biopython's Bio.Entrez, as its tutorial does a bulk link-and-fetch: one `Entrez.elink` with
the list of ids (one LinkSet per id; Biopython POSTs above 200 ids), one `neighbor_history`
elink, then `Entrez.efetch` (or `Entrez.esummary`) pages of 500 by WebEnv; esummary pages are
parsed with `Entrez.read`, gene efetch pages (Entrezgene-Set) with `Entrez.parse`, one record at
a time as Biopython's tutorial advises for large answers, snp efetch pages with ElementTree
(see `snp_uids`). Biopython's own
pacing (0.37 s between requests, 0.1 s with an api_key) and retries (3 tries) are untouched;
the only change is the URL prefix, swapped in a wrapper around the private
`Bio.Entrez._build_request`."""

from __future__ import annotations

from typing import Any

from benchmarks.compare.common import EMAIL, NCBI, PAGE, Task, write_normalised


def available() -> str | None:
    try:
        import Bio
        from Bio import Entrez
    except ImportError as exc:
        return f"Biopython not installed ({exc})"
    return (
        None if hasattr(Entrez, "_build_request") else f"Bio {Bio.__version__}: no _build_request"
    )


def point_at(base_url: str) -> Any:
    from Bio import Entrez

    original = Entrez._build_request

    def build(cgi: str, *args: Any, **kwargs: Any) -> Any:
        return original(cgi.replace(NCBI, base_url), *args, **kwargs)

    Entrez._build_request = build
    return Entrez


def snp_uids(handle: Any) -> list[str]:
    """SNP ExchangeSet pages. `Entrez.read`/`Entrez.parse` reject them (ValueError: "Unknown
    prefix 'None' with uri 'https://www.ncbi.nlm.nih.gov/SNP/docsum'": NCBI's snp XML has a
    default namespace and no DTD), so a Biopython user falls back to the standard library's
    ElementTree, streaming and clearing each DocumentSummary."""
    import io
    import xml.etree.ElementTree as ET

    data = handle.read()
    if isinstance(data, str):
        data = data.encode()
    uids = []
    for _event, element in ET.iterparse(io.BytesIO(data)):
        if element.tag.endswith("}DocumentSummary") or element.tag == "DocumentSummary":
            uids.append(element.get("uid") or "")
            element.clear()
    return uids


def gene_uids(handle: Any) -> list[str]:
    """Entrezgene-Set pages, record by record with `Entrez.parse`."""
    from Bio import Entrez

    return [
        str(gene["Entrezgene_track-info"]["Gene-track"]["Gene-track_geneid"])
        for gene in Entrez.parse(handle)
    ]


def work(task: Task) -> None:
    Entrez = point_at(task.base_url)
    Entrez.email = EMAIL
    Entrez.tool = "biopython-bench"
    Entrez.api_key = task.api_key
    ids = task.ids

    with Entrez.elink(dbfrom=task.dbfrom, db=task.db, id=ids, linkname=task.linkname) as h:
        linksets = Entrez.read(h)
    index: dict[str, list[str]] = {}
    for linkset in linksets:
        source = str(linkset["IdList"][0])
        index[source] = [
            str(link["Id"])
            for db in linkset["LinkSetDb"]
            if db["LinkName"] == task.linkname
            for link in db["Link"]
        ]
    count = len({t for targets in index.values() for t in targets})

    with Entrez.elink(
        dbfrom=task.dbfrom,
        db=task.db,
        id=",".join(ids),
        linkname=task.linkname,
        cmd="neighbor_history",
    ) as h:
        history = Entrez.read(h)[0]
    webenv = history["WebEnv"]
    query_key = next(
        e["QueryKey"] for e in history["LinkSetDbHistory"] if e["LinkName"] == task.linkname
    )

    records: list[str] = []
    for start in range(0, count, PAGE):
        if task.via == "efetch":
            with Entrez.efetch(
                db=task.db,
                webenv=webenv,
                query_key=query_key,
                retstart=start,
                retmax=PAGE,
                retmode="xml",
            ) as h:
                records += gene_uids(h) if task.db == "gene" else snp_uids(h)
        else:
            # version 2.0, as NCBI answers gene summaries by default anyway (Entrez.read
            # rejects a v1 gene DocSum: "Unexpected item 'Organism' in dictionary")
            with Entrez.esummary(
                db=task.db,
                webenv=webenv,
                query_key=query_key,
                retstart=start,
                retmax=PAGE,
                version="2.0",
            ) as h:
                summaries = Entrez.read(h)["DocumentSummarySet"]["DocumentSummary"]
                records += [str(doc.attributes["uid"]) for doc in summaries if "error" not in doc]
    write_normalised(task, index, records)
