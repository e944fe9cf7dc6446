"""`harvester export` (the output again from the job store, in any format or with other
fields, sending nothing) and `harvester fields` (the field paths a record offers)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from copy import deepcopy
from dataclasses import replace
from pathlib import Path

from harvester.config import JobConfig, OutputFormat, load_job
from harvester.errors import InputError
from harvester.eutils.results import Record
from harvester.ncbi import FetchVia, canonical_db
from harvester.workflow.field_paths import offered_paths
from harvester.workflow.field_types import FieldType, Kind, infer
from harvester.workflow.kept import parsed
from harvester.workflow.outfile import check_output
from harvester.workflow.output import write_output
from harvester.workflow.rederive import fields_changed, rederive
from harvester.workflow.runner import open_store
from harvester.workflow.store_mark import STORE_NAME
from harvester.workflow.table import require_pyarrow
from harvester.workflow.views import StoreView

EXPORT_HELP = """\
Write a job's output again from its job directory, sending no request: in another format
(--format, --output), or with the job file's `fields` changed since the run (each record is
kept whole in the job store, so its fields are extracted again). `harvester run` does the
same by itself when only fields or the output changed."""

FIELDS_HELP = """\
Print the field paths of a sample record, each with the type its value suggests where one
is worth declaring (int, float, date; `[str]`, `[int]`, ... when the path repeats; nothing
for one text) and an example value: what a job's `fields` can name. Give a job
file (a record from its job store, once the job has fetched some) or a database name (a
record from the embedded emulator, so nothing goes to NCBI)."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    export = subparsers.add_parser(
        "export", help="write a job's output again from its job store, sending nothing",
        description=EXPORT_HELP,
    )  # fmt: skip
    export.add_argument("job", type=Path, help="the job file (YAML)")
    export.add_argument("-o", "--output", help="output path (overrides output.path)")
    export.add_argument("--format", choices=tuple(map(str, OutputFormat)))
    export.add_argument("--job-dir", help="the job directory (default: the job file's)")
    export.set_defaults(handler=export_command)

    fields = subparsers.add_parser(
        "fields", help="print the field paths a record offers", description=FIELDS_HELP
    )
    fields.add_argument("target", help="a job file, or a database name (snp, gene, pubmed, ...)")
    fields.add_argument("--via", choices=tuple(map(str, FetchVia)), default=FetchVia.EFETCH)
    fields.add_argument("--dataset", default="tiny", help="the emulator's dataset (by db name)")
    fields.set_defaults(handler=fields_command)


def export_command(args: argparse.Namespace) -> int:
    job_dir = args.job_dir or str(load_job(args.job).job_dir)  # the run's, whatever --output
    given = {"output.path": args.output, "output.format": args.format, "job_dir": job_dir}
    job = load_job(args.job, {k: v for k, v in given.items() if v is not None})
    store_dir = _existing_store(job)
    if job.output.format == OutputFormat.PARQUET:
        require_pyarrow()
    check_output(job)
    store = open_store(job, restart=False)
    try:
        warnings = rederive(store, job) if fields_changed(store, job) else []
        view = StoreView(store)
        numbered = tuple(view.linknames())  # the index's names (`linkname: all`: as found)
        job = replace(job, linknames=numbered or job.linknames)
        written = write_output(view, job, warnings)
        counts = view.counts()
    finally:
        store.close()
    unit = {OutputFormat.JSONL: "lines", OutputFormat.JSON: "sources"}.get(
        job.output.format, "rows"
    )
    print(f"wrote {written:,} {unit} to {job.output.path} from {store_dir}", file=sys.stderr)
    pending = counts["targets"] - counts["targets_fetched"] - counts["targets_missing"]
    if counts["chunks_linked"] < counts["chunks"] or pending:
        print("warning: the job is not finished; run it again to fetch the rest", file=sys.stderr)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def _existing_store(job: JobConfig) -> Path:
    if not (job.job_dir / STORE_NAME).exists():
        raise InputError(f"no job store in {job.job_dir} (run the job first)")
    return job.job_dir


def fields_command(args: argparse.Namespace) -> int:
    target = Path(args.target)
    if target.suffix.lower() in (".yaml", ".yml") or target.is_file():
        record = _stored_sample(load_job(target))
    else:
        record = asyncio.run(_emulator_sample(args.target, FetchVia(args.via), args.dataset))
    paths = offered_paths(record)
    width = min(max((len(path) for path, _, _ in paths), default=0), 40)
    for path, example, values in paths:
        print(f"{path:<{width}}  {inferred_type(values):<7}  {example}".rstrip())
    return 0


def inferred_type(values: list[str]) -> str:
    """The `type:` a field of these sample values could declare: the narrowest kind all of
    them convert to, as a list when the path repeats; '' for one text (what a field without
    a type is anyway) or no value in the sample."""
    texts = [v for v in values if v.strip()]
    if not texts:
        return ""
    kinds = {infer(text) for text in texts}
    if kinds == {Kind.INT, Kind.FLOAT}:
        kinds = {Kind.FLOAT}
    kind = kinds.pop() if len(kinds) == 1 else Kind.STR
    shown = FieldType(kind, many=len(values) > 1)
    return "" if shown == FieldType(Kind.STR) else str(shown)


def _stored_sample(job: JobConfig) -> Record:
    """The first record the job's store keeps."""
    _existing_store(job)
    store = open_store(job, restart=False)
    try:
        first = next(store.kept_records(), None)
    finally:
        store.close()
    if first is None:
        raise InputError(f"the job store in {job.job_dir} has no record yet (run the job first)")
    return parsed(job.db, *first)


async def _emulator_sample(db: str, via: FetchVia, dataset: str) -> Record:
    """One record of `db` (or the db an alias names, as jobs accept it) from an in-process
    emulator, fetched as a harvest would."""
    from harvester.emulator import Emulator, EmulatorConfig
    from harvester.eutils.client import EutilsClient
    from harvester.eutils.settings import ClientConfig

    db = canonical_db(db)
    async with Emulator(EmulatorConfig(dataset=dataset)) as emu:
        uid_map = emu.state.dataset.maps.get(db)
        if uid_map is None:
            known = ", ".join(sorted(emu.state.dataset.maps))
            raise InputError(f"no sample record of {db!r} in the emulator (databases: {known})")
        config = ClientConfig(base_url=emu.base_url)
        async with EutilsClient(config) as client:  # the process's gate for this server
            ids = [str(uid_map.uid(0))]
            records = (
                client.esummary(db, ids=ids)
                if via == FetchVia.ESUMMARY
                else client.efetch(db, ids=ids)
            )
            async for record in records:
                if record.error is None:  # the stream clears the element as it moves on
                    element = None if record.element is None else deepcopy(record.element)
                    return Record(db, record.uid, element=element, doc=record.doc)
    raise InputError(f"the emulator has no record {ids[0]} of {db!r}")
