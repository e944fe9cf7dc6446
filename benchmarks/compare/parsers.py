"""Parser throughput on pages of 500 records: our streaming parser, bare lxml iterparse (the
ceiling: only the record elements, counted and cleared, nothing extracted) and Bio.Entrez where
it applies. Pages are rendered once by an in-process emulator (large dataset); each (page,
parser) is timed in its own process (median of `repeats` parses after one warm-up) so its
peak RSS is its own. The ours/lxml ratio comes from one more process that alternates the two
parses, so the machine's speed drifting between processes (bare lxml on one page has taken
9 ms and 18 ms minutes apart here) slows both sides alike."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from io import BytesIO
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PAGES = {
    # name: (endpoint, db, record tag, description)
    "snp_exchangeset": ("efetch", "snp", "DocumentSummary", "snp efetch XML (ExchangeSet)"),
    "pubmed": ("efetch", "pubmed", "PubmedArticle", "pubmed efetch XML (PubmedArticleSet)"),
    "gene": ("efetch", "gene", "Entrezgene", "gene efetch XML (Entrezgene-Set)"),
    "gene_1mb": (
        "efetch",
        "gene",
        "Entrezgene",
        "gene efetch XML, 20 records of ~1 MB each (the large dataset's heaviest)",
    ),
    "esummary_gene": (
        "esummary",
        "gene",
        "DocumentSummary",
        "gene esummary (its default, v2: eSummaryResult/DocumentSummarySet)",
    ),
}
PARSERS = ("ours", "lxml", "biopython")
PAGE = 500
HEAVY = 1300
"""GeneRIF comments (~700 bytes each) that make a gene record ~1 MB."""


def render(directory: Path) -> dict[str, Path]:
    from harvester.emulator.config import EmulatorConfig
    from harvester.emulator.dataset import Dataset
    from harvester.emulator.server import EmulatorThread
    from harvester.emulator.spec import load_spec

    dataset = Dataset(load_spec("large"))
    files = {}
    with EmulatorThread(EmulatorConfig(dataset="large"), dataset) as emu:
        catalog = emu.emulator.state.catalog
        for name, (endpoint, db, _tag, _desc) in PAGES.items():
            uid_map = dataset.maps[db]
            ids = [str(uid_map.uid(i)) for i in range(PAGE)]
            if name == "gene_1mb":  # the genes whose records reach NCBI's ~1 MB
                uids = (uid_map.uid(i) for i in range(uid_map.count))
                ids = [str(u) for u in uids if catalog.gene_comment_count(u) >= HEAVY][:20]
            params = {"db": db, "id": ",".join(ids)}
            if endpoint == "efetch":
                params["retmode"] = "xml"
            body = urllib.parse.urlencode(params).encode()
            with urllib.request.urlopen(emu.base_url + f"{endpoint}.fcgi", body) as response:
                data = response.read()
            files[name] = directory / f"{name}.xml"
            files[name].write_bytes(data)
    return files


def _ours(data: bytes, name: str) -> int:
    from harvester.eutils.parse import parse_bytes
    from harvester.eutils.results import Record
    from harvester.ncbi import efetch_format, esummary_format

    endpoint, db, _tag, _ = PAGES[name]
    fmt = efetch_format(db, None, "xml") if endpoint == "efetch" else esummary_format(db, None)
    return sum(1 for r in parse_bytes(data, db=db, fmt=fmt) if isinstance(r, Record))


def _lxml(data: bytes, name: str) -> int:
    """The ceiling: lxml's C-level tag filter hands over only the record elements, which are
    counted and cleared; nothing is extracted."""
    from lxml import etree

    tag = PAGES[name][2]
    n = 0
    for _event, element in etree.iterparse(
        BytesIO(data),
        events=("end",),
        tag="{*}" + tag,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
    ):
        n += 1
        element.clear()
    return n


def _biopython(data: bytes, name: str) -> int:
    from Bio import Entrez

    result: Any = Entrez.read(BytesIO(data))  # validates against NCBI's DTDs (its default)
    if name == "pubmed":
        return len(result["PubmedArticle"])
    return len(result)


def measure(name: str, parser: str, path: str, repeats: int) -> dict[str, Any]:
    data = Path(path).read_bytes()
    fn = {"ours": _ours, "lxml": _lxml, "biopython": _biopython}[parser]
    from benchmarks.compare.common import peak_rss_mb

    base_rss = peak_rss_mb()
    try:
        records = fn(data, name)
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {str(exc)[:160]}"}
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(data, name)
        times.append(time.perf_counter() - start)
    t = statistics.median(times)
    return {
        "records": records,
        "bytes": len(data),
        "seconds": t,
        "mb_per_s": len(data) / t / 1e6,
        "records_per_s": records / t,
        "times": times,
        "maxrss_mb": peak_rss_mb(),
        "rss_before_mb": base_rss,
    }


def paired(name: str, path: str, repeats: int) -> dict[str, Any]:
    """Ours and bare lxml parsed alternately in one process: the ratio of their medians."""
    data = Path(path).read_bytes()
    ours: list[float] = []
    bare: list[float] = []
    for _ in range(repeats + 1):  # the first pair warms up
        for fn, times in ((_ours, ours), (_lxml, bare)):
            start = time.perf_counter()
            fn(data, name)
            times.append(time.perf_counter() - start)
    ours, bare = ours[1:], bare[1:]
    return {
        "ours_seconds": statistics.median(ours),
        "lxml_seconds": statistics.median(bare),
        "ratio": statistics.median(ours) / statistics.median(bare),
    }


def _subprocess(name: str, parser: str, path: Path, repeats: int) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.compare.parsers", name, parser, str(path), str(repeats)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        result = {"error": out.stderr.strip()[-200:]}
    return result


def run(directory: Path, repeats: int, say: Any = print) -> dict[str, Any]:
    files = render(directory)
    results: dict[str, Any] = {}
    for name, path in files.items():
        results[name] = {"description": PAGES[name][3], "bytes": path.stat().st_size}
        for parser in PARSERS:
            results[name][parser] = _subprocess(name, parser, path, repeats)
            say(f"parser {name} / {parser}: {summary(results[name][parser])}")
        ours, bare = results[name]["ours"], results[name]["lxml"]
        if "seconds" in ours and "seconds" in bare:
            results[name]["ours_over_lxml_separate"] = ours["seconds"] / bare["seconds"]
        pair = _subprocess(name, "paired", path, repeats)
        results[name]["paired"] = pair
        if "ratio" in pair:
            results[name]["ours_over_lxml"] = pair["ratio"]
            say(f"parser {name}: ours / lxml alternated in one process {pair['ratio']:.3f}")
    return results


def summary(r: dict[str, Any]) -> str:
    if "error" in r:
        return "n/a: " + r["error"]
    return f"{r['mb_per_s']:.1f} MB/s, {r['records_per_s']:,.0f} records/s"


if __name__ == "__main__":
    name, parser, path, repeats = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    if parser == "paired":
        print(json.dumps(paired(name, path, repeats)))
    else:
        print(json.dumps(measure(name, parser, path, repeats)))
