"""NCBI's EDirect (Debian package ncbi-entrez-direct), as its documentation builds a per-id
index and fetches the linked records:

    epost -db gene -input ids.txt -base URL | elink -target snp -cmd neighbor -base URL |
      xtract -pattern LinkSet -element IdList/Id -block LinkSetDb -sep , -element Link/Id
    epost -db gene -input ids.txt -base URL | elink -target snp -base URL |
      efetch -format docsum -base URL      (gene records: efetch -format xml)

`-base` is not carried through pipes, so every stage gets it. EDirect's own pacing (0.35 s,
0.11 s with NCBI_API_KEY), chunking (100 ids per elink) and retries (3 tries, 1 s apart, on empty
answers and on any ERROR) are untouched. One setting differs from a stock install:
NQUIRE_HELPER=wget, because EDirect's default helper (curl --http1.0) gets HTTP 500 from the
emulator, which streams chunked bodies that HTTP/1.0 forbids (an emulator bug, reported).
"""

from __future__ import annotations

import re
import shutil
import subprocess

from benchmarks.compare.common import Task, write_normalised

COMMANDS = ("epost", "elink", "efetch", "xtract", "nquire", "wget")
DOCSUM = re.compile(rb"<DocumentSummary>(.*?)</DocumentSummary>", re.S)
DOC_ID = re.compile(rb"<Id>(\d+)</Id>")
GENE_ID = re.compile(rb"<Gene-track_geneid>(\d+)</Gene-track_geneid>")


def available() -> str | None:
    missing = [c for c in COMMANDS if shutil.which(c) is None]
    if missing:
        return f"not installed: {', '.join(missing)} (apt-get install ncbi-entrez-direct wget)"
    return None


def _pipe(stages: list[list[str]], task: Task, out: str) -> None:
    env = task.env()
    env["NQUIRE_HELPER"] = "wget"
    env["EMAIL"] = "bench@example.org"
    base = ["-base", task.base_url]
    cmd = " | ".join(
        " ".join(_quote(a) for a in (s + base if s[0] not in ("xtract",) else s)) for s in stages
    )
    with open(task.path(out), "wb") as sink, open(task.path(out + ".err"), "ab") as err:
        done = subprocess.run(
            ["bash", "-o", "pipefail", "-c", cmd], stdout=sink, stderr=err, env=env
        )
    if done.returncode != 0:
        raise RuntimeError(f"EDirect pipe exited {done.returncode}: {cmd}")


def _quote(arg: str) -> str:
    import shlex

    return shlex.quote(arg)


def work(task: Task) -> None:
    post = ["epost", "-db", task.dbfrom, "-input", task.ids_file]
    _pipe(
        [
            post,
            ["elink", "-target", task.db, "-name", task.linkname, "-cmd", "neighbor"],
            [
                "xtract",
                "-pattern",
                "LinkSet",
                "-element",
                "IdList/Id",
                "-block",
                "LinkSetDb",
                "-sep",
                ",",
                "-element",
                "Link/Id",
            ],
        ],
        task,
        "index.tsv",
    )
    _pipe(
        [
            post,
            ["elink", "-target", task.db, "-name", task.linkname],
            ["efetch", "-format", "xml" if gene_records(task) else "docsum"],
        ],
        task,
        "docsum.xml",
    )


def gene_records(task: Task) -> bool:
    """Full Entrezgene records (efetch -format xml), not the summaries EDirect's docsum gives."""
    return task.db == "gene" and task.via == "efetch"


def normalise(task: Task) -> None:
    index: dict[str, list[str]] = {}
    for line in task.path("index.tsv").read_text().splitlines():
        source, _, targets = line.partition("\t")
        if source:
            index.setdefault(source, []).extend(
                t for t in targets.replace("\t", ",").split(",") if t
            )
    records = []
    if gene_records(task):
        found = GENE_ID.findall(task.path("docsum.xml").read_bytes())
        write_normalised(task, index, [uid.decode() for uid in found])
        return
    for body in DOCSUM.findall(task.path("docsum.xml").read_bytes()):
        found = DOC_ID.search(body)
        if found and b"<error>" not in body:
            records.append(found.group(1).decode())
    write_normalised(task, index, records)
