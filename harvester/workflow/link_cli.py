"""`harvester link DBFROM DB`: a harvest from flags alone, as EDirect's `elink -target` is one
line; the flags become a job (`link_job`) that `runner` runs like any job file's."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import IO, Any

from harvester.config import STDOUT, OutputFormat
from harvester.errors import ConfigError, HarvesterError, InputError
from harvester.ncbi import FetchVia
from harvester.search_dates import DATE_KEYS, search_dates
from harvester.source_ids import validate_ids
from harvester.workflow.link_job import field_pairs, link_job, save_job
from harvester.workflow.runner import RunOptions, run
from harvester.workflow.sources import read_id_stream
from harvester.workflow.store import Store
from harvester.workflow.store_mark import STORE_NAME
from harvester.workflow.summary import print_summary

LINK_HELP = """\
Harvest the links of DBFROM ids into DB, and the linked records' fields, from one command
line: the same durable harvest as `harvester run` (a job directory, resume, the summary on
stderr). Ids come from --ids, an id file, stdin (`-`), or an esearch --term. Without -o the
output is TSV on stdout, and the job directory is kept under ~/.cache/harvester/link/ (keyed
by the job), so the same command run again resumes. Examples:

  harvester link gene snp --ids 3718,7157 --fields SNP_ID,CHRPOS -o jak3.tsv
  cut -f1 genes.tsv | harvester link gene snp - --fields SNP_ID,CHRPOS | sort
  harvester link pubmed gene --term 'cancer' --mindate 2020 --maxdate 2021/06 -o genes.tsv
  harvester link gene snp --ids 3718 --save-job jak3.yaml -o jak3.tsv   # and its job file
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "link",
        help="harvest from flags alone: ids (or a term) of DBFROM, their links into DB",
        description=LINK_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("dbfrom", metavar="DBFROM", help="the database of the source ids (gene)")
    p.add_argument("db", metavar="DB", help="the database linked to (snp)")
    p.add_argument(
        "id_file",
        metavar="IDS",
        nargs="?",
        help="'-' to read ids from stdin, or an id file (one id a line; CSV/TSV with --column)",
    )
    p.add_argument("--ids", help="comma-separated source ids: 3718,7157")
    p.add_argument("--column", help="the id column of a CSV/TSV id file")
    p.add_argument("--term", help="an esearch term in DBFROM giving the source ids")
    p.add_argument("--mindate", help="with --term: from this date (YYYY, YYYY/MM, YYYY/MM/DD)")
    p.add_argument("--maxdate", help="with --term: up to this date (with --mindate)")
    p.add_argument("--datetype", help="with --term: the date the limits apply to (pdat, edat...)")
    p.add_argument("--reldate", help="with --term: only the last N days")
    p.add_argument(
        "--fields",
        action="append",
        default=[],
        help="record fields, comma-separated NAME=PATH or PATH (named by its last element): "
        "SNP_ID,CHRPOS,GENE=GENES/GENE_E/NAME",
    )
    p.add_argument("--linkname", help="link name(s), comma-separated, or 'all' (default DBFROM_DB)")
    p.add_argument("--via", choices=tuple(FetchVia), help="efetch (default) or esummary")
    p.add_argument("-o", "--output", help="output path (default: TSV on stdout)")
    p.add_argument("--format", choices=tuple(map(str, OutputFormat)), help="output format")
    p.add_argument("--save-job", type=Path, metavar="FILE", help="also write the job as YAML")
    p.add_argument("--endpoint", help="'ncbi' (default), 'embedded[:DATASET]' or a URL")
    p.add_argument("--job-dir", help="where the job store lives")
    p.add_argument("--name", help="the job's name (default DBFROM-DB)")
    p.add_argument("--page-size", type=int, help="records per efetch/esummary page")
    p.add_argument("--elink-batch", type=int, help="source ids per elink request")
    p.add_argument("--concurrency", type=int, help="the most requests in flight")
    p.add_argument("--policy", help="ncbi (3/s, 10/s with NCBI_API_KEY), ncbi-2007, custom")
    p.add_argument("--rate", type=float, help="requests per second for --policy custom")
    p.add_argument("--email", help="your e-mail, sent to NCBI (default $NCBI_EMAIL)")
    p.add_argument("--tool", help="tool name sent to NCBI (default harvester)")
    p.add_argument("--restart", action="store_true", help="forget the job's progress")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars or summary")
    p.set_defaults(handler=link_command)


def link_command(args: argparse.Namespace) -> int:
    data = job_mapping(args)
    job = link_job(data, job_dir_given=args.job_dir is not None)
    args.job_config = job  # names the job if the command fails (cli.py)
    if args.save_job is not None:
        save_job(args.save_job, data)
    # a search asked again is a new answer: a cached job of one is not resumed once finished
    restart = args.restart or (
        job.source.term is not None and args.job_dir is None and finished(job.job_dir)
    )
    options = RunOptions(restart=restart, quiet=args.quiet)
    summary = run(job, options)
    if not args.quiet:
        print_summary(summary)
        print(f"job dir      {job.job_dir}", file=sys.stderr)
    else:
        for warning in summary["warnings"]:
            if warning not in options.said:
                print(f"warning: {warning}", file=sys.stderr)
    return 0


def finished(job_dir: Path) -> bool:
    """Whether a job directory holds a harvest that ran to its end (every chunk linked, no
    target pending)."""
    path = job_dir / STORE_NAME
    if not path.exists():
        return False
    try:
        store = Store(path, lock=False, read_only=True)
    except HarvesterError:
        return False
    try:
        chunks = store.chunks()
        return bool(chunks) and all(c.linked for c in chunks) and not store.pending_total()
    finally:
        store.close()


def job_mapping(args: argparse.Namespace) -> dict[str, Any]:
    """The job file's keys the flags stand for."""
    if args.name is not None and ("/" in args.name or args.name.startswith(".")):
        raise ConfigError(f"--name {args.name!r} names a job, not a path: no '/', no leading '.'")
    data: dict[str, Any] = {
        "name": args.name or f"{args.dbfrom}-{args.db}",
        "source": _source(args),
        "dbfrom": args.dbfrom,
        "db": args.db,
    }
    if args.linkname:
        names = [n.strip() for n in args.linkname.split(",") if n.strip()]
        data["linkname"] = names[0] if len(names) == 1 else names
    fetch = {"via": args.via, "page_size": args.page_size}
    if any(v is not None for v in fetch.values()):
        data["fetch"] = {k: v for k, v in fetch.items() if v is not None}
    if args.fields:
        data["fields"] = field_pairs(args.fields)
    output: dict[str, Any] = {"path": args.output or STDOUT}
    if args.format or not args.output:
        output["format"] = args.format or OutputFormat.TSV.value
    data["output"] = output
    data["endpoint"] = args.endpoint or "ncbi"
    for key in ("elink_batch", "policy", "rate", "concurrency", "email", "tool", "job_dir"):
        if getattr(args, key) is not None:
            data[key] = getattr(args, key)
    return data


def _source(args: argparse.Namespace) -> dict[str, Any]:
    """One of IDS (a file or '-'), --ids or --term, as the job's `source`."""
    given = [
        flag
        for flag, value in (("IDS", args.id_file), ("--ids", args.ids), ("--term", args.term))
        if value is not None
    ]
    if len(given) != 1:
        what = f"both {given[0]} and {given[1]}" if given else "none"
        raise ConfigError(
            f"give the source ids one way: IDS ('-' or a file), --ids or --term ({what} given)"
        )
    dates = {k: getattr(args, k) for k in DATE_KEYS if getattr(args, k) is not None}
    if dates and args.term is None:
        raise ConfigError(f"--{next(iter(dates))} limits a search: it needs --term")
    if args.column is not None and args.id_file in (None, "-"):
        raise ConfigError("--column names a column of an id file (IDS)")
    if args.term is not None:
        try:
            search_dates(dict(dates))  # checked here to name no job file in the message
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        return {"term": args.term, **dates}
    if args.ids is not None:
        items = [i for i in args.ids.replace(",", " ").split() if i]
        checked = validate_ids((v, f"--ids item {n}") for n, v in enumerate(items, 1))
        if not checked.ids:
            raise ConfigError("--ids lists no ids")
        return {"ids": list(checked.ids)}
    if args.id_file == "-":
        if sys.stdin.isatty():
            print("harvester: reading ids from stdin, one a line (Ctrl-D ends)", file=sys.stderr)
        return {"ids": list(read_id_stream(sys.stdin.buffer, "stdin").ids)}
    path = Path(args.id_file).absolute()
    if args.column is None and (args.output is None or not path.is_file()):
        with _opened(path) as handle:  # a pipe is read once; a cached job is named by its ids
            return {"ids": list(read_id_stream(handle, str(path)).ids)}
    source: dict[str, Any] = {"file": str(path)}
    if args.column is not None:
        source["column"] = args.column
    return source


def _opened(path: Path) -> IO[bytes]:
    try:
        return path.open("rb")
    except OSError as exc:
        raise InputError(f"cannot read the id file {path}: {exc.strerror}") from None
