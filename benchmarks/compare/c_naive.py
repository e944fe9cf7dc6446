"""The baseline: the seed's Perl loop, in Python with urllib. For each source id, one elink and
one efetch (or esummary) of its targets, serially, sleeping 1/rate before every request; the
XML is read line by line with regular expressions, as the seed's programs did. No retries (the
seed has none): a failed request fails the run."""

from __future__ import annotations

import re
import time
import urllib.parse
import urllib.request

from benchmarks.compare.common import EMAIL, Task, write_normalised

ID = re.compile(rb"<Id>(\d+)</Id>")
SNP_UID = re.compile(rb'<DocumentSummary[^>]*\buid="(\d+)"')
DOCSUM_ID = re.compile(rb"<DocSum>\s*<Id>(\d+)</Id>")
GENE_ID = re.compile(rb"<Gene-track_geneid>(\d+)</Gene-track_geneid>")
POST_OVER = 200
"""NCBI: use POST above ~200 ids."""


def available() -> str | None:
    return None


def work(task: Task) -> None:
    period = 1.0 / task.rate
    base = task.base_url

    def get(cgi: str, **params: str) -> bytes:
        params = {**params, "tool": "naive-loop", "email": EMAIL}
        if task.api_key:
            params["api_key"] = task.api_key
        time.sleep(period)
        data = urllib.parse.urlencode(params)
        ids = params.get("id", "")
        if ids.count(",") >= POST_OVER:
            request = urllib.request.Request(base + cgi, data=data.encode())
        else:
            request = urllib.request.Request(f"{base}{cgi}?{data}")
        with urllib.request.urlopen(request, timeout=120) as response:
            body: bytes = response.read()
            return body

    index: dict[str, list[str]] = {}
    records: list[str] = []
    for source in task.ids:
        # linkname: without it NCBI answers every link name to db (gene_snp and
        # gene_snp_geneview), which the seed's parse below would run together
        body = get("elink.fcgi", dbfrom=task.dbfrom, db=task.db, linkname=task.linkname, id=source)
        # the seed's parse: after the first LinkSetDb, every <Id> is a linked id
        start = body.find(b"<LinkSetDb>")
        targets = [m.decode() for m in ID.findall(body, start)] if start >= 0 else []
        index[source] = targets
        if not targets:
            continue
        if task.via == "efetch":
            page = get("efetch.fcgi", db=task.db, id=",".join(targets), retmode="xml")
            uid = GENE_ID if task.db == "gene" else SNP_UID
            records += [m.decode() for m in uid.findall(page)]
        else:
            page = get("esummary.fcgi", db=task.db, id=",".join(targets))
            records += [m.decode() for m in DOCSUM_ID.findall(page)]
    write_normalised(task, index, records)
