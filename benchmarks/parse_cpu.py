"""CPU per MB of XML: bare lxml iterparse vs our whole path from bytes to what the store keeps.

Pages of SNP docsums modelled on the real capture (biocommons' efetch_snp_2031_14181.xml:
the namespaced ExchangeSet, its record's elements), padded to ~1, ~5 and ~21 KB a record by
repeating its realistic `<MAF>` elements, and the real 1.15 MB Entrezgene (efetch_gene_4747.xml)
when ../shared/ncbi-samples is there. "ours" is what a parse worker does for a fetched page:
the streaming parse in the client's read steps (`ClientConfig.chunk_size`), each record's
fields (bulk_gene_snp.yaml's four) and whole bytes (`FieldExtractor.encode`), and the page's
blob (`kept.pack`). CPU time (`time.process_time`), the best of several interleaved runs, so
a busy machine slows both sides alike; each side timed on a pass after one of its own
(`per_mb`). `--workers` also times pages parsed by 1 and 2 threads
and 2 processes (what a second core gains).

`--separate` also times each side in processes of its own (no heap left by the other side).
`--instructions` also counts instructions with valgrind's callgrind (two passes minus one), a
figure load cannot move.

Run: `PYTHONPATH=. python benchmarks/parse_cpu.py [--separate] [--workers] [--instructions]`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from io import BytesIO
from pathlib import Path

from harvester.config import job_from_mapping
from harvester.eutils._lxml import etree
from harvester.eutils.client import EutilsClient
from harvester.eutils.parse import parse_chunks
from harvester.eutils.results import Record
from harvester.eutils.settings import ClientConfig
from harvester.ncbi import efetch_format
from harvester.workflow import kept
from harvester.workflow.fetching import Fetcher
from harvester.workflow.fields import FieldExtractor
from harvester.workflow.hedge import Hedger

SAMPLES = (
    Path(os.environ.get("HARVESTER_SAMPLES") or Path(__file__).resolve().parents[2] / "shared")
    / ("" if os.environ.get("HARVESTER_SAMPLES") else "ncbi-samples")
    / "biocommons_eutils"
)
"""The real captures: ../shared/ncbi-samples beside the checkout, or HARVESTER_SAMPLES."""
SNP_NS = "https://www.ncbi.nlm.nih.gov/SNP/docsum"
HEAD = (
    '<?xml version="1.0" ?>\n<ExchangeSet xmlns:xsi="https://www.w3.org/2001/XMLSchema-instance"'
    f' xmlns="{SNP_NS}" xsi:schemaLocation="{SNP_NS} '
    'ftp://ftp.ncbi.nlm.nih.gov/snp/specs/docsum_eutils.xsd" >'
).encode()
RECORD = (
    '<DocumentSummary uid="{uid}"><SNP_ID>{uid}</SNP_ID><ALLELE_ORIGIN/><GLOBAL_MAFS>{mafs}'
    "</GLOBAL_MAFS><GLOBAL_POPULATION/><GLOBAL_SAMPLESIZE>0</GLOBAL_SAMPLESIZE><SUSPECTED/>"
    "<CLINICAL_SIGNIFICANCE/><GENES><GENE_E><NAME>ZCCHC3</NAME><GENE_ID>85364</GENE_ID></GENE_E>"
    "</GENES><ACC>NC_000020.11</ACC><CHR>20</CHR><HANDLE>GNOMAD,TOPMED,1000GENOMES</HANDLE>"
    "<SPDI>NC_000020.11:300164:C:T</SPDI><FXN_CLASS>3_prime_UTR_variant</FXN_CLASS>"
    "<VALIDATED>by-frequency,by-alfa</VALIDATED><DOCSUM>HGVS=NC_000020.11:g.300165C&gt;T|"
    "SEQ=[C/T]|LEN=1|GENE=ZCCHC3:85364</DOCSUM><TAX_ID>9606</TAX_ID><ORIG_BUILD>36</ORIG_BUILD>"
    "<UPD_BUILD>157</UPD_BUILD><CREATEDATE>2000/09/19 17:02</CREATEDATE>"
    "<UPDATEDATE>2024/11/02 07:15</UPDATEDATE><SS>2057,994458752</SS><ALLELE>B</ALLELE>"
    "<SNP_CLASS>snv</SNP_CLASS><CHRPOS>20:{uid}</CHRPOS><TEXT/>"
    "<SNP_ID_SORT>{uid:010d}</SNP_ID_SORT></DocumentSummary>\n"
)
MAF = "<MAF><STUDY>GnomAD_genomes</STUDY><FREQ>T=0.002325/347</FREQ></MAF>"
SNP_FIELDS = [
    ("SNP_ID", "SNP_ID"),
    ("GENE", "GENES/GENE_E/NAME"),
    ("CHRPOS", "CHRPOS"),
    ("FXN_CLASS", "FXN_CLASS"),
]
GENE_FIELDS = [
    ("GENE_ID", "Entrezgene_track-info/Gene-track/Gene-track_geneid"),
    ("SYMBOL", "Entrezgene_gene/Gene-ref/Gene-ref_locus"),
    ("TYPE", "Entrezgene_type/@value"),
]
PAGE_BYTES = 2_000_000
STEP = ClientConfig().chunk_size


def snp_page(record_bytes: int) -> bytes:
    """A page of ~PAGE_BYTES of SNP docsums of ~`record_bytes` each."""
    bare = len(RECORD.format(uid=1, mafs=""))
    mafs = MAF * max(0, (record_bytes - bare) // len(MAF))
    n = max(1, PAGE_BYTES // (bare + len(mafs)))
    body = "".join(RECORD.format(uid=uid, mafs=mafs) for uid in range(1, n + 1))
    return HEAD + body.encode() + b"</ExchangeSet>\n"


def gene_page(copies: int = 4) -> bytes | None:
    """The captured Entrezgene, `copies` times under distinct uids (None without samples)."""
    path = SAMPLES / "efetch_gene_4747.xml"
    if not path.is_file():
        return None
    text = path.read_bytes()
    start, end = text.index(b"<Entrezgene>"), text.rindex(b"</Entrezgene>") + 13
    record = text[start:end]
    ids = re.compile(rb"<Gene-track_geneid>4747</Gene-track_geneid>")
    body = b"\n".join(
        ids.sub(b"<Gene-track_geneid>%d</Gene-track_geneid>" % (4747 + i), record)
        for i in range(copies)
    )
    return text[:start] + body + text[end:]


def bare(page: bytes) -> int:
    """lxml's own iterparse over the page: the ceiling."""
    n = 0
    for _event, _el in etree.iterparse(BytesIO(page)):
        n += 1
    return n


def ours(page: bytes, db: str, fields: list[tuple[str, str]]) -> int:
    """Bytes to what the store keeps: parse, fields and whole bytes per record, the blob."""
    fmt = efetch_format(db, None, "xml")
    extractor = FieldExtractor(fields)
    chunks = (page[i : i + STEP] for i in range(0, len(page), STEP))
    good = [
        (int(item.uid), extractor.encode(item))
        for item in parse_chunks(chunks, db=db, fmt=fmt)
        if isinstance(item, Record)
    ]
    kept.pack([(uid, whole) for uid, (_, whole) in good])
    return len(good)


def client(page: bytes, db: str, fields: list[tuple[str, str]]) -> Callable[[], int]:
    """A pass of the client's own path for a History page: `Fetcher._fetch` with its batch
    sink, `EutilsClient.efetch`, the transport's retry layer and `aparse` on the parse thread
    (reads joined into `parse.STEP_BYTES` steps), records packed there in batches. Only the
    network is replaced: the page's bytes in the client's read steps (no HTTP, no gzip)."""
    with tempfile.TemporaryDirectory() as tmp:
        job = job_from_mapping(
            {
                "source": {"ids": [1]},
                "dbfrom": "gene",
                "db": db,
                "linkname": f"gene_{db}",
                "fields": dict(fields),
                "output": {"path": f"{tmp}/out.tsv"},
                "endpoint": "http://127.0.0.1:9/entrez/eutils/",
                "policy": "custom",
                "rate": 1_000_000,
            },
            base_dir=Path(tmp),
        )
    eutils = EutilsClient(ClientConfig(policy="custom", rate=1_000_000))

    async def send(*_: object) -> AsyncIterator[bytes]:
        for at in range(0, len(page), STEP):
            yield page[at : at + STEP]
            await asyncio.sleep(0)  # as Transport._chunks does after each read

    eutils.transport._send = send  # type: ignore[assignment,method-assign]
    fetcher = Fetcher(job, eutils, Hedger(latency=float, idle=bool, clock=time.monotonic))
    loop = asyncio.new_event_loop()

    async def sink(batch: kept.Packed, _versions: object) -> bool:
        return True

    def one_pass() -> int:
        taken: list[int] = []
        good, _, _ = loop.run_until_complete(
            fetcher._fetch(webenv="W", query_key="1", retstart=0, retmax=1, sink=(sink, taken))
        )
        return len(taken) + len(good)

    return one_pass


def cpu(work: Callable[[], object]) -> float:
    start = time.process_time()
    work()
    return time.process_time() - start


def per_mb(runs: int) -> None:
    """Each side timed in its steady state, as a harvest parses page after page: a pass right
    after a pass of its own kind. A pass right after the other side's is slower for whoever
    follows bare, which builds and frees a whole page's tree (12.7 MB, 73,000 elements for the
    ~1 KB page) and leaves the heap scattered; that order, the protocol of earlier figures, is
    shown beside. The best of each side can come from different moments of a noisy host, so
    each round's own ratio (its sides timed back to back) is kept too and their median shown."""
    rows = [(label, *made) for label, make in pages().items() if (made := make()) is not None]
    print(f"read step {STEP // 1024} KiB; CPU ms per MB of XML, best of {runs}")
    print(
        "| records | bytes/record | bare lxml iterparse | ours (parse+fields+raw+pack) | ratio "
        "| ratio, each right after the other | the client's fetch path | ratio "
        "| median of the rounds' ratios: ours | client |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for label, page, db, fields in rows:
        records = ours(page, db, fields)
        mb = len(page) / 1e6
        sides = {kind: side(kind, page, db, fields) for kind in ("bare", "ours", "client")}
        assert sides["client"]() == records
        steady: dict[str, list[float]] = {kind: [] for kind in sides}
        after_other = dict.fromkeys(sides, float("inf"))
        for _ in range(runs):  # interleaved: load slows both alike
            for kind, work in sides.items():
                after_other[kind] = min(after_other[kind], cpu(work))
                steady[kind].append(cpu(work))
        best = {kind: min(times) for kind, times in steady.items()}
        paired = {
            kind: statistics.median(
                t / b for t, b in zip(steady[kind], steady["bare"], strict=True)
            )
            for kind in ("ours", "client")
        }
        print(
            f"| {label} | {len(page) // records:,} | {best['bare'] / mb * 1e3:.1f} | "
            f"{best['ours'] / mb * 1e3:.1f} | {best['ours'] / best['bare']:.2f} | "
            f"{after_other['ours'] / after_other['bare']:.2f} | "
            f"{best['client'] / mb * 1e3:.1f} | {best['client'] / best['bare']:.2f} | "
            f"{paired['ours']:.2f} | {paired['client']:.2f} |"
        )


def pages() -> dict[str, Callable[[], tuple[bytes, str, list[tuple[str, str]]] | None]]:
    """The rows: label -> how to make its (page, db, fields), None without the samples."""
    rows: dict[str, Callable[[], tuple[bytes, str, list[tuple[str, str]]] | None]] = {
        f"snp ~{size // 1000} KB": (lambda s=size: (snp_page(s), "snp", SNP_FIELDS))
        for size in (1000, 5000, 21000)
    }

    def gene() -> tuple[bytes, str, list[tuple[str, str]]] | None:
        page = gene_page()
        return None if page is None else (page, "gene", GENE_FIELDS)

    rows["gene 1.15 MB (capture)"] = gene
    return {label: make for label, make in rows.items() if ONLY in label}


ONLY = ""
"""Rows whose label holds this (`--rows`); all by default."""


def side(kind: str, page: bytes, db: str, fields: list[tuple[str, str]]) -> Callable[[], int]:
    """One pass of `bare`, `ours` or the `client` over a page."""
    if kind == "client":
        return client(page, db, fields)
    return (lambda: bare(page)) if kind == "bare" else (lambda: ours(page, db, fields))


def passes(kind: str, label: str, times: int) -> None:
    """`times` passes of one side over one row's page (what valgrind counts)."""
    made = pages()[label]()
    assert made is not None
    work = side(kind, *made)
    for _ in range(times):
        work()


def alone(kind: str, label: str, runs: int) -> None:
    """Print the best CPU seconds of `runs` passes of one side over one row's page, after an
    untimed first pass, in a process where the other side never ran."""
    made = pages()[label]()
    assert made is not None
    page, db, fields = made
    work = side(kind, page, db, fields)
    work()
    print(min(cpu(work) for _ in range(runs)))


def separate(runs: int, rounds: int = 3) -> None:
    """Each side timed in processes of its own, `rounds` alternating processes a side: no
    side runs on the heap the other left."""
    print(f"\neach side in processes of its own ({rounds} a side, alternating; best of {runs})")
    print("| records | bare lxml iterparse | ours | ratio | the client's fetch path | ratio |")
    print("|---|---|---|---|---|---|")
    for label, make in pages().items():
        made = make()
        if made is None:
            continue
        mb = len(made[0]) / 1e6
        best = {"bare": float("inf"), "ours": float("inf"), "client": float("inf")}
        for _ in range(rounds):
            for kind in best:
                done = subprocess.run(
                    [sys.executable, __file__, "--alone", kind, label, str(runs)],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                best[kind] = min(best[kind], float(done.stdout))
        print(
            f"| {label} | {best['bare'] / mb * 1e3:.1f} | {best['ours'] / mb * 1e3:.1f} | "
            f"{best['ours'] / best['bare']:.2f} | {best['client'] / mb * 1e3:.1f} | "
            f"{best['client'] / best['bare']:.2f} |"
        )


def counted(kind: str, label: str, times: int) -> int:
    """Instructions valgrind's callgrind counts for a run of `times` passes."""
    done = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            __file__,
            "--passes",
            kind,
            label,
            str(times),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    found = re.search(r"Collected : (\d+)", done.stderr)
    assert found is not None, done.stderr[-2000:]
    return int(found.group(1))


def instructions() -> None:
    """Instructions per pass (one pass more minus one pass), which load cannot move."""
    print("\ninstructions per page (millions; callgrind: 2 passes minus 1)")
    print(
        "| records | page | bare lxml iterparse | ours | ratio | the client's fetch path | ratio |"
    )
    print("|---|---|---|---|---|---|---|")
    for label, make in pages().items():
        made = make()
        if made is None:
            continue
        page = made[0]
        per = {
            kind: (counted(kind, label, 2) - counted(kind, label, 1)) / 1e6
            for kind in ("bare", "ours", "client")
        }
        print(
            f"| {label} | {len(page) / 1e6:.1f} MB | {per['bare']:.0f} | {per['ours']:.0f} | "
            f"{per['ours'] / per['bare']:.2f} | {per['client']:.0f} | "
            f"{per['client'] / per['bare']:.2f} |"
        )


def handoffs(steps: int = 500) -> None:
    """CPU of a hand-off to a one-thread executor and back, as the client's parse steps make:
    `steps` pieces of ~0.4 ms of work run there, against the same run inline."""

    def work() -> int:
        total = 0
        for i in range(20_000):
            total += i
        return total

    async def timed(offloaded: bool) -> float:
        loop = asyncio.get_running_loop()
        start = time.process_time()
        for _ in range(steps):
            if offloaded:
                await loop.run_in_executor(pool, work)
            else:
                work()
        return (time.process_time() - start) / steps

    with ThreadPoolExecutor(1) as pool:
        best = {"inline": float("inf"), "offloaded": float("inf")}
        for _ in range(3):
            for side in best:
                best[side] = min(best[side], asyncio.run(timed(side == "offloaded")))
    cost = (best["offloaded"] - best["inline"]) * 1e6
    print(f"\nhand-off: {best['inline'] * 1e6:.0f} us of work inline, {cost:.0f} us more offloaded")


def _one(page: bytes) -> int:
    return ours(page, "snp", SNP_FIELDS)


def on_workers(make: Callable[[], Executor], pages: list[bytes]) -> float:
    """Wall seconds to digest `pages` on the executor `make` gives (warm)."""
    with make() as pool:
        list(pool.map(_one, pages[:2]))
        start = time.perf_counter()
        list(pool.map(_one, pages))
        return time.perf_counter() - start


def workers(runs: int) -> None:
    pages = [snp_page(21000) for _ in range(8)]
    mb = sum(map(len, pages)) / 1e6
    print(f"\n{len(pages)} pages of ~21 KB snp records ({mb:.0f} MB), wall s, best of {runs}")
    for label, make in (
        ("1 thread", lambda: ThreadPoolExecutor(1)),
        ("2 threads", lambda: ThreadPoolExecutor(2)),
        ("2 processes", lambda: ProcessPoolExecutor(2)),
    ):
        best = min(on_workers(make, pages) for _ in range(runs))
        print(f"| {label} | {best:.2f} s | {mb / best:.0f} MB/s |")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--workers", action="store_true", help="also time 1-2 threads/processes")
    parser.add_argument(
        "--instructions", action="store_true", help="also count instructions (valgrind)"
    )
    parser.add_argument(
        "--separate", action="store_true", help="also time each side in processes of its own"
    )
    parser.add_argument("--passes", nargs=3, metavar=("KIND", "ROW", "N"), help=argparse.SUPPRESS)
    parser.add_argument("--alone", nargs=3, metavar=("KIND", "ROW", "N"), help=argparse.SUPPRESS)
    parser.add_argument("--rows", default="", help="only the rows whose label holds this")
    parser.add_argument(
        "--handoffs", action="store_true", help="also time a hand-off to the parse thread"
    )
    args = parser.parse_args(argv)
    global ONLY
    ONLY = args.rows
    if args.passes:
        passes(args.passes[0], args.passes[1], int(args.passes[2]))
        return
    if args.alone:
        alone(args.alone[0], args.alone[1], int(args.alone[2]))
        return
    per_mb(args.runs)
    if args.handoffs:
        handoffs()
    if args.separate:
        separate(args.runs)
    if args.instructions:
        instructions()
    if args.workers:
        workers(max(1, args.runs // 2))


if __name__ == "__main__":
    main(sys.argv[1:])
