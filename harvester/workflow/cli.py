"""`harvester run`, `plan` and `status`: flags become overrides of the job file; the work is
done by `runner`, `store` and `summary`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from harvester.config import OVERRIDE_KEYS, JobConfig, OutputFormat, load_job
from harvester.errors import InputError
from harvester.workflow.cache_records import cache_line
from harvester.workflow.page_plan import planned_page_size, prior_record_bytes
from harvester.workflow.plan import estimated_floor, floor_seconds
from harvester.workflow.refresh_plan import refresh_lines
from harvester.workflow.runner import RunOptions, plan_names, run
from harvester.workflow.sources import load_source_ids
from harvester.workflow.store import Store, in_use
from harvester.workflow.store_mark import STORE_NAME
from harvester.workflow.summary import print_summary
from harvester.workflow.views import StoreView

RUN_HELP = """\
Run a harvest job: per-id elink builds the index from each source id to its linked ids, the
targets go to NCBI's History server (neighbor_history), efetch/esummary pages bring the
records, and the output joins them back onto the source ids.

The job's progress is kept in a job directory (default: OUTPUT.harvest/). If a run stops -
Ctrl-C, a crash, a dead network - run the same command again: it resumes where it stopped and
requests nothing it already has. Examples:

  harvester run configs/jobs/jak3_snps.yaml
  harvester run configs/jobs/bulk_gene_snp.yaml --dataset large --output genes.tsv
"""


def _job_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("job", type=Path, help="the job file (YAML)")
    parser.add_argument("-o", "--output", help="output path (overrides output.path)")
    parser.add_argument(
        "--format",
        choices=tuple(map(str, OutputFormat)),
        help="output format (default: from the output's suffix)",
    )
    parser.add_argument(
        "--endpoint", help="'ncbi', 'embedded[:DATASET]' (the local emulator) or a URL"
    )
    parser.add_argument(
        "--dataset",
        help="run on the embedded emulator with this dataset (tiny, large, or a YAML file)",
    )
    parser.add_argument("--page-size", type=int, help="records per efetch/esummary page")
    parser.add_argument("--elink-batch", type=int, help="source ids per elink request")
    parser.add_argument(
        "--concurrency",
        type=int,
        help="the most requests in flight; fewer are sent while fewer keep the rate (default 64)",
    )
    parser.add_argument("--policy", help="ncbi (3/s, 10/s with NCBI_API_KEY), ncbi-2007, custom")
    parser.add_argument("--rate", type=float, help="requests per second for --policy custom")
    parser.add_argument("--job-dir", help="where the job store lives (default OUTPUT.harvest)")
    parser.add_argument("--email", help="your e-mail, sent to NCBI (default $NCBI_EMAIL)")
    parser.add_argument("--tool", help="tool name sent to NCBI (default harvester)")
    shared = parser.add_mutually_exclusive_group()
    shared.add_argument(
        "--cache",
        metavar="DIR",
        help="share fetched records with other jobs in this folder ('on': "
        "$XDG_CACHE_HOME/harvester/records; overrides the job's cache)",
    )
    shared.add_argument(
        "--no-cache",
        dest="cache",
        action="store_const",
        const="off",
        help="neither use nor fill the record cache, whatever the job says",
    )


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run_parser = subparsers.add_parser(
        "run",
        help="run (or resume) a harvest job",
        description=RUN_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _job_arguments(run_parser)
    run_parser.add_argument(
        "--restart", action="store_true", help="forget the job directory's progress and start over"
    )
    run_parser.add_argument(
        "--refresh",
        action="store_true",
        help="bring a finished job up to date: elink asked again for every source, only new "
        "targets and records NCBI changed since the last run fetched (mdat), CHANGES.jsonl "
        "written in the job directory; a refresh cut short resumes on the next run",
    )
    run_parser.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bars or summary (warnings still)"
    )
    run_parser.set_defaults(handler=run_command)

    plan_parser = subparsers.add_parser(
        "plan",
        help="check the job's names with einfo, show the requests it needs and its time floor",
    )
    _job_arguments(plan_parser)
    plan_parser.add_argument(
        "--links-per-source",
        type=float,
        default=None,
        help="expected links per source id, to estimate fetch pages",
    )
    plan_parser.add_argument(
        "--refresh",
        action="store_true",
        help="the requests `run --refresh` needs to bring the finished job up to date",
    )
    plan_parser.set_defaults(handler=plan_command)

    status_parser = subparsers.add_parser(
        "status", help="show a job's progress per stage from its job directory"
    )
    status_parser.add_argument(
        "job_dir", type=Path, help="the job directory (or the job file, to use its default)"
    )
    status_parser.set_defaults(handler=status_command)


def _load(args: argparse.Namespace) -> JobConfig:
    overrides: dict[str, Any] = {
        key: getattr(args, dest)
        for dest, key in OVERRIDE_KEYS.items()
        if getattr(args, dest, None) is not None
    }
    if getattr(args, "dataset", None) is not None:
        overrides["endpoint"] = f"embedded:{args.dataset}"
    job = load_job(args.job, overrides)
    args.job_config = job  # names the job if the command fails (cli.py)
    return job


def run_command(args: argparse.Namespace) -> int:
    job = _load(args)
    options = RunOptions(restart=args.restart, refresh=args.refresh, quiet=args.quiet)
    summary = run(job, options)
    if not args.quiet:
        print_summary(summary)
    else:
        for warning in summary["warnings"]:
            if warning not in options.said:  # once is enough with --quiet
                print(f"warning: {warning}", file=sys.stderr)
    return 0


def plan_command(args: argparse.Namespace) -> int:
    job, warnings, rate, found = asyncio.run(plan_names(_load(args), RunOptions()))
    if args.refresh:
        for warning in warnings:
            print(f"harvester: warning: {warning}", file=sys.stderr)
        print("\n".join(refresh_lines(job, rate)))
        print(cache_line(job))
        return 0
    for warning in warnings:
        print(f"harvester: warning: {warning}", file=sys.stderr)
    checked = "not checked" if warnings else "as the endpoint's einfo lists them"
    print(f"links          {job.dbfrom} -> {job.db}: {', '.join(job.linknames)} ({checked})")
    if job.source.term is not None:
        sources = found
        dates = job.source.dates.params() if job.source.dates else {}
        dated = "".join(f" {key}={value}" for key, value in dates.items())
        count = f"{found:,}" if found is not None else "? (esearch not reached)"
        print(
            f"sources        {count} ids from the search {job.source.term!r}{dated} in {job.dbfrom}"
        )
    else:
        sources = len(load_source_ids(job.source, job_file=job.job_file).ids)
        print(f"sources        {sources:,} ids from {job.dbfrom}")
    lps = args.links_per_source
    floor = None
    page = planned_page_size(job, None)  # from the prior bytes per record: none observed yet
    if sources is not None:
        floor = estimated_floor(sources, job.elink_batch, lps or 0.0, job.fetch.page_size, page)
    chunks = floor.elink if floor is not None else None
    print(
        f"elink          {chunks if chunks is not None else '?'} requests "
        f"({job.elink_batch} ids each, one LinkSet per id)"
    )
    print(
        "history        one neighbor_history request per chunk whose new targets fill a page "
        "(and one esearch size check per link name's History entry), one epost per whole "
        "pages' worth of the other chunks' targets, pooled across chunks"
    )
    if floor is not None and lps is not None:
        print(
            f"fetch          about {floor.pages:,} {job.fetch.via} pages of "
            f"{page}{_planned(job, page)} (at {lps:g} links per source)"
        )
        total = floor.requests
        print(
            f"floor          {total:,} requests / {rate:g} per s = "
            f"{floor_seconds(total, rate):,.1f} s"
        )
    else:
        print(
            f"fetch          one {job.fetch.via} page per {page} distinct targets"
            f"{_planned(job, page)} (known once the index is built; --links-per-source "
            "estimates it)"
        )
        if floor is not None:
            fixed = floor.requests - floor.pages
            print(
                f"floor          at least {fixed:,} requests / {rate:g} per s = "
                f"{floor_seconds(fixed, rate):,.1f} s before fetching"
            )
    print(cache_line(job))
    return 0


def _planned(job: JobConfig, page: int) -> str:
    """Why the pages hold `page` records when that is fewer than fetch.page_size."""
    if page >= job.fetch.page_size:
        return ""
    per = prior_record_bytes(job) or 0
    return f" (fewer than fetch.page_size: {job.db} records are ~{per // 1000} KB each)"


def status_command(args: argparse.Namespace) -> int:
    job_dir: Path = args.job_dir
    if job_dir.is_file():
        job_dir = load_job(job_dir).job_dir
    path = job_dir / STORE_NAME
    if not path.exists():
        raise InputError(f"no job store in {job_dir} (run the job first)")
    running = in_use(job_dir)
    store = Store(path, lock=False)  # reading progress while a run works is fine
    try:
        started = store.get_meta("config_hash") is not None
        view = StoreView(store)
        c = view.counts()
        names, by_name = view.linknames(), view.links_per_name()
    finally:
        store.close()
    done = c["targets_fetched"] + c["targets_missing"]
    print(f"job directory  {job_dir}")
    print(
        f"elink          {c['chunks_linked']:,} of {c['chunks']:,} chunks "
        f"({c['sources_linked']:,} of {c['sources']:,} source ids)"
    )
    print(f"index          {c['links']:,} links to {c['targets']:,} distinct targets")
    if len(names) > 1:
        shares = ", ".join(f"{name} {by_name.get(i, 0):,}" for i, name in enumerate(names))
        print(f"by name        {shares}")
    print(f"history        {c['entries']:,} entries ({c['entries_rebuilt']:,} rebuilt)")
    print(
        f"fetch          {done:,} of {c['targets']:,} targets "
        f"({c['targets_missing']:,} missing at NCBI), {c['pages']:,} pages"
    )
    finished = c["chunks_linked"] == c["chunks"] and done == c["targets"]
    if running:
        state = "running (a harvester run holds this job directory now)"
    elif not started:
        state = "not started (no run got past its checks; run the job)"
    else:
        state = "finished" if finished else "stopped before the end: run the job again to resume"
    print(f"state          {state}")
    return 0
