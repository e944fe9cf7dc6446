"""`python -m benchmarks.compare run [--quick] [options]` (or `parsers`, the parser stage alone;
or `report A.json B.json ...`, one RESULTS.md from the results of separate `run --part`
invocations) from the repository root."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.compare import combine, parsers, report, runner


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.compare", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run every scenario and contender, write the results")
    r.add_argument(
        "--quick",
        action="store_true",
        help="100 sources, 1 run, 240 s timeout, 4 jobs (under 10 minutes)",
    )
    r.add_argument("--sources", type=int, default=1000, help="source ids per scenario")
    r.add_argument("--repeats", type=int, default=3, help="runs per (scenario, contender)")
    r.add_argument("--timeout", type=float, default=1200.0, help="seconds per contender run")
    r.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="non-harvester runs to overlap (each has its own server); 1 = serial",
    )
    r.add_argument("--scenarios", default=",".join(runner.SCENARIOS))
    r.add_argument("--contenders", default=",".join(runner.CONTENDERS))
    r.add_argument("--speedup", type=float, default=1.0, help="emulator speed-up (smoke only)")
    r.add_argument("--parser-repeats", type=int, default=7)
    r.add_argument("--no-parsers", action="store_true")
    r.add_argument("--workdir", type=Path, help="keep every run's files here")
    r.add_argument("--stamp", help="results file name (default: today's date)")
    r.add_argument(
        "--part",
        action="store_true",
        help="write only benchmarks/results/STAMP.json and .png, not RESULTS.md: a part to "
        "join with others by `report`",
    )
    r.add_argument(
        "--reuse",
        action="store_true",
        help="rebuild the runs from the files a previous invocation left in --workdir",
    )
    only = sub.add_parser("parsers", help="only the parser throughput stage (prints JSON)")
    only.add_argument("--repeats", type=int, default=7)
    joined = sub.add_parser(
        "report", help="one RESULTS.md from the JSON results of separate `run --part` invocations"
    )
    joined.add_argument("files", nargs="+", type=Path, help="benchmarks/results/*.json")
    joined.add_argument("--stamp", required=True, help="name of the joined results file")
    joined.add_argument(
        "--markdown",
        type=Path,
        default=report.RESULTS_MD,
        help="where the report goes (default benchmarks/RESULTS.md; another path previews a part)",
    )
    joined.add_argument(
        "--note",
        action="append",
        default=[],
        help="a sentence for the report's notes (e.g. what else ran on the machine); repeatable",
    )
    args = p.parse_args(argv)
    if args.command == "report":
        try:
            results = combine.merge([combine.load(path) for path in args.files])
            results["notes"] += [n for n in args.note if n not in results["notes"]]
        except (OSError, ValueError, KeyError, combine.CombineError) as exc:
            print(f"cannot join: {exc}", file=sys.stderr)
            return 2
        for path in report.write(results, args.stamp, args.markdown):
            print(path)
        return 0
    if args.command == "parsers":
        with tempfile.TemporaryDirectory(prefix="compare-pages-") as tmp:
            print(json.dumps(parsers.run(Path(tmp), args.repeats, print)))
        return 0

    opts = runner.Options(
        sources=args.sources,
        repeats=args.repeats,
        timeout=args.timeout,
        jobs=args.jobs,
        speedup=args.speedup,
        scenarios=tuple(args.scenarios.split(",")),
        contenders=tuple(args.contenders.split(",")),
        workdir=args.workdir,
        reuse=args.reuse,
    )
    if args.quick:
        opts = runner.quick(opts)
    parser_repeats = 3 if args.quick else args.parser_repeats
    started = time.time()
    load_at_start = os.getloadavg()[0]
    stamp = args.stamp or dt.date.today().isoformat() + ("-quick" if args.quick else "")
    results = runner.run_all(opts)
    if not args.no_parsers:
        with tempfile.TemporaryDirectory(prefix="compare-pages-") as tmp:
            results["parsers"] = parsers.run(Path(tmp), parser_repeats, opts.say)
        results["parser_repeats"] = parser_repeats
    results["machine"] = report.machine()
    if args.reuse and args.workdir is not None:  # when the runs themselves were taken
        marks = [p.stat().st_mtime for p in args.workdir.rglob("requests.jsonl")]
        firsts = [p.stat().st_mtime for p in args.workdir.rglob("task.json")]
        started, finished = min(firsts), max(marks)
    else:
        finished = time.time()
    results["started"] = dt.datetime.fromtimestamp(started, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    results["elapsed"] = finished - started
    results["load"] = [load_at_start, os.getloadavg()[0]]  # the machine's other work, if any
    results["notes"] = NOTES + (
        [
            "Rebuilt with --reuse from the files the runs left in the workdir (their first "
            "invocation's parser stage failed on a module changed under it); the parser figures "
            "were measured at rebuild time."
        ]
        if args.reuse
        else []
    )
    command = "PYTHONPATH=. python -m benchmarks.compare " + shlex.join(
        argv if argv is not None else sys.argv[1:]
    )
    results["parts"] = [combine.provenance(results, command, stamp)]
    markdown = None if args.part else report.RESULTS_MD
    for path in report.write(combine.merge([results]), stamp, markdown):
        print(path)
    return 0


NOTES = [
    "A contender that does not finish one scenario within the timeout is not run again in it: "
    "further runs could only repeat the same lower bound, so its row counts that one run.",
    "EDirect runs with NQUIRE_HELPER=wget (an EDirect setting): its default helper, curl "
    "--http1.0, got HTTP 500 from an earlier emulator that sent chunked bodies to HTTP/1.0 "
    "clients. The emulator now answers HTTP/1.0 unchunked; these runs still used wget.",
    "Biopython: Entrez.read/parse reject the snp ExchangeSet (ValueError: Unknown prefix "
    "'None' with uri 'https://www.ncbi.nlm.nih.gov/SNP/docsum'), so snp pages are parsed with "
    "the standard library's ElementTree; gene summaries are asked for as version 2.0, which is "
    "gene's default anyway.",
    "entrezpy 2.1.3 crashes on any source id without links (TypeError: its elink analyzer logs "
    "json.dumps of a set); the contender replaces that module's `json` with one that "
    "serialises sets, and changes nothing else.",
    "The naive loop has no retries (the seed's Perl had none): in the fault scenario one "
    "injected fault ends it. Biopython retries a 429 at once with no pause: at zero latency it "
    "drew 429s and failed; with realistic latency its serial pages never reach the limit.",
    "A contender that did not finish within the timeout shows its wall time as '>= timeout'; "
    "speed-ups against it are lower bounds.",
    "gene_records: 200 PubMed ids spread evenly over the large dataset's (every 692nd), linked "
    "to 399 genes whose Entrezgene records are heavy-tailed as NCBI's (GeneRIF comments): 27.0 "
    "MB in all, median 21 KB, six over 0.7 MB, the largest 1.13 MB. Biopython reads them with "
    "Entrez.parse (record by record), entrezpy's analyzer with ElementTree, EDirect fetches "
    "them with `efetch -format xml` (which sends rettype=full), the naive loop finds each "
    "Gene-track_geneid with a regular expression.",
    "The naive loop's esummary parse is the seed's (DocSum, version 1.0); gene answers version "
    "2.0 by default, so in pubmed_gene it finds no records (seen in a 100-source smoke run).",
]


if __name__ == "__main__":
    raise SystemExit(main())
