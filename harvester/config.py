"""YAML job file -> one frozen, validated `JobConfig`; every mistake reported as `FILE:LINE: ...`.

The file is read with `yaml.compose` so each key and list item keeps its line; the same checks
run on plain mappings (`job_from_mapping`) and on CLI overrides, which just carry no line.
API keys never live in a job file: it names the environment variable that holds the key.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import json
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from harvester import config_keys as keys
from harvester import ncbi
from harvester.cache_keys import CACHE_OFF, CACHE_SWITCHES, CacheSpec, cache_spec
from harvester.errors import ConfigError, InputError
from harvester.eutils.concurrency import DEFAULT_CEILING, MAX_CEILING
from harvester.eutils.pacing import Policy
from harvester.eutils.xmlstream import DEFAULT_MAX_RECORD_BYTES, MAX_RECORD_CEILING
from harvester.search_dates import DATE_KEYS, SearchDates, search_dates
from harvester.source_ids import inline_ids
from harvester.workflow.field_types import FieldType
from harvester.yamldoc import Doc, Section, alternatives, read_yaml, show, suggest

__all__ = [
    "OVERRIDE_KEYS",
    "FetchSpec",
    "JobConfig",
    "LinkCmd",
    "OutputFormat",
    "OutputSpec",
    "SourceSpec",
    "is_stream",
    "job_from_mapping",
    "load_job",
]

SCHEMA: dict[str, tuple[str, ...]] = {
    "": (
        "name", "source", "dbfrom", "db", "linkname", "cmd", "fetch", "elink_batch", "fields",
        "output", "endpoint", "policy", "rate", "api_key_env", "email", "tool", "concurrency",
        "job_dir", "cache", "cache_max_age", "cache_max_mb",
    ),
    "source": ("ids", "file", "column", "term", "mindate", "maxdate", "datetype", "reldate"),
    "fetch": ("via", "rettype", "retmode", "version", "page_size", "max_record_mb", "memory_mb"),
    "output": ("path", "format"),
}  # fmt: skip
FORBIDDEN = {
    "api_key": "'api_key' does not belong in a job file; set the NCBI_API_KEY environment variable "
    "instead (api_key_env names the variable)"
}
ALIASES = {"retmax": "fetch.page_size", "batch_size": "elink_batch", "threads": "concurrency"}
ALIASES.update({k: f"{p}.{k}" for p, names in SCHEMA.items() if p for k in names})
INT_KEYS = {
    "cache_max_mb",
    "fetch.page_size",
    "fetch.max_record_mb",
    "fetch.memory_mb",
    "elink_batch",
    "concurrency",
}
OVERRIDE_KEYS = {  # command-line flag (and `harvester.load_job` keyword) -> job key
    "output": "output.path",
    "format": "output.format",
    "endpoint": "endpoint",
    "page_size": "fetch.page_size",
    "elink_batch": "elink_batch",
    "concurrency": "concurrency",
    "policy": "policy",
    "rate": "rate",
    "job_dir": "job_dir",
    "email": "email",
    "tool": "tool",
    "cache": "cache",
}
PATH_KEYS = ("source.file", "output.path", "job_dir", "cache")
"""Keys naming a path: relative ones in a job file mean beside the job file, given as an
override (a flag, a keyword) beside the current folder, as a shell would read them."""
NAME_KEYS = ("dbfrom", "db", "linkname")
"""Keys whose names NCBI's einfo confirms at run time (workflow/names.py)."""
MAX_ELINK_BATCH = 500
STDOUT = "-"
"""`output.path: -` (or `--output -`) writes the output to stdout."""
MAX_JOB_BYTES = 4 << 20
"""A job file is settings: anything bigger is refused before it is parsed."""
MAX_CONCURRENCY = MAX_CEILING
DEFAULT_CONCURRENCY = DEFAULT_CEILING
"""`concurrency` is the ceiling of the adaptive limit on requests in flight (see
eutils/concurrency.py); the limit itself follows the latency the client sees."""
MB = 1_000_000
"""`fetch.max_record_mb` counts in megabytes (10**6 bytes), as sequence sizes are given."""
DEFAULT_MEMORY_MB = 128
"""`fetch.memory_mb`: fetched pages held at once, in MB (budget.py)."""


class LinkCmd(StrEnum):
    """The elink commands a job may name (`cmd`): links alone, or links with their scores."""

    NEIGHBOR = "neighbor"
    NEIGHBOR_SCORE = "neighbor_score"


class OutputFormat(StrEnum):
    """The formats the output can be written in."""

    JSONL = "jsonl"
    JSON = "json"
    """One JSON array of the JSONL's objects (what `json.load` and `pd.read_json` expect)."""
    TSV = "tsv"
    CSV = "csv"
    PARQUET = "parquet"


SUFFIX_FORMATS = {f".{f}": f for f in OutputFormat} | {".ndjson": OutputFormat.JSONL}


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """Where the source ids come from: inline ids, an id/CSV file, or an esearch term."""

    ids: tuple[str, ...] = ()
    file: Path | None = None
    column: str | None = None
    term: str | None = None
    id_lines: tuple[int, ...] = ()
    """The YAML line of each inline id, for messages."""
    ids_line: int | None = None
    """The line of the `ids` key itself (for 'the list is empty')."""
    dates: SearchDates | None = None
    """A term's date limits (mindate/maxdate, reldate, datetype), sent with its esearch."""


@dataclass(frozen=True, slots=True)
class FetchSpec:
    """How records are fetched: efetch or esummary, their format and the page size."""

    via: ncbi.FetchVia = ncbi.FetchVia.EFETCH
    rettype: str | None = None
    retmode: str | None = "xml"
    version: str | None = None
    page_size: int = ncbi.DEFAULT_PAGE_SIZE
    max_record_mb: int = DEFAULT_MAX_RECORD_BYTES // MB
    """The most one record may span, in MB: a limit of ours, not NCBI's (a chromosome's GBSeq
    is hundreds of MB); a record past it ends the run naming this key."""
    memory_mb: int = DEFAULT_MEMORY_MB
    """The MB of fetched pages held at once (budget.py): pages wait for a share of it."""
    page_size_set: bool = False
    """Whether the job file or the command line set `page_size`: then every page asks for
    exactly it; else it is an upper bound, lowered per History entry for large records
    (page_plan.py)."""


@dataclass(frozen=True, slots=True)
class OutputSpec:
    """Where the joined results go and in which format."""

    path: Path
    format: OutputFormat


@dataclass(frozen=True, slots=True)
class JobConfig:
    """One harvest job, validated; `semantic_hash` tells a job store which result it holds."""

    name: str
    source: SourceSpec
    dbfrom: str
    db: str
    linknames: tuple[str, ...]
    cmd: LinkCmd
    fetch: FetchSpec
    elink_batch: int
    fields: tuple[tuple[str, str], ...]
    output: OutputSpec
    endpoint: str
    policy: Policy
    rate: float | None
    api_key_env: str
    email: str | None
    tool: str
    concurrency: int
    job_dir: Path
    job_file: Path | None
    key_lines: tuple[tuple[str, str], ...] = ()
    """`FILE:LINE` of the keys einfo confirms later (dbfrom, db, linkname[i]), for messages."""
    field_types: tuple[tuple[str, FieldType], ...] = ()
    """The types `fields` declare, by name: applied when a typed output is written (the job
    store keeps the text, so they are not in `fields_key`)."""
    cache: CacheSpec = CACHE_OFF
    """The record cache shared by jobs (`cache`, `cache_max_age`, `cache_max_mb`): off unless
    asked for; not in `semantic_hash`, as it changes how records are obtained, not which."""
    all_links: bool = False
    """`linkname: all` once resolved: every name elink answers is kept, not only `linknames`
    (einfo's), which number the first links; the harvest registers the others as they come."""

    @property
    def elink_linkname(self) -> str | None:
        """The `linkname` elink requests send: the job's one name, or none for several, as
        NCBI documents one name and answers every link name to db without it (the harvest
        keeps the job's names and drops the rest; docs/NCBI_BEHAVIOUR.md)."""
        if self.all_links:
            return None
        return self.linknames[0] if len(self.linknames) == 1 else None

    def at(self, key: str) -> str:
        """Where `key` is written (`FILE:LINE`), or the job file's name, for a message."""
        found = dict(self.key_lines).get(key)
        return found or str(self.job_file or "job")

    def semantic_hash(self, file_sha256: str | None = None) -> str:
        """sha256 of what decides what is fetched; fields, output, endpoint and speed settings
        are left out. `file_sha256`: the id file's digest when its ids were read already
        (`SourceIds.file_sha256`), so the file is not read twice (a FIFO cannot be)."""
        src = self.source
        content = {
            "v": 2,
            "source": {
                "ids": list(src.ids),
                "file_sha256": (file_sha256 or _file_sha256(src.file)) if src.file else None,
                "column": src.column,
                "term": src.term,
            },
            "dbfrom": self.dbfrom,
            "db": self.db,
            "linknames": list(self.linknames),
            "cmd": self.cmd,
            "fetch": [self.fetch.via, self.fetch.rettype, self.fetch.retmode, self.fetch.version],
            "page_size": self.fetch.page_size,
            "elink_batch": self.elink_batch,
        }
        if src.dates is not None:  # only then: the hash of a job without dates is unchanged
            content["dates"] = src.dates.params()
        text = json.dumps(content, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def fields_key(self) -> str:
        """The fields, as the job store records them: changing them re-derives the output
        from the records it keeps, with no request (so they are not in `semantic_hash`)."""
        return json.dumps([list(pair) for pair in self.fields], separators=(",", ":"))

    def api_key(self) -> str | None:
        """The key from the environment variable the job names, or None."""
        return os.environ.get(self.api_key_env) or None


def load_job(path: Path, overrides: Mapping[str, object] | None = None) -> JobConfig:
    """Read a YAML job file, apply CLI overrides (dotted keys), validate."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_JOB_BYTES + 1)
        text = raw.decode("utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"job file not found: {path}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: the job file is not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the job file ({exc.strerror})") from None
    if len(raw) > MAX_JOB_BYTES:
        raise ConfigError(
            f"{path}: the job file is larger than {MAX_JOB_BYTES >> 20} MiB; "
            "put long id lists in an id file (source.file)"
        )
    data, lines = read_yaml(text, str(path), keep_text=("source.ids",))
    _apply_overrides(data, lines, overrides or {})
    return _build(data, Doc(str(path), lines), base_dir=path.parent, job_file=path)


def job_from_mapping(
    data: Mapping[str, object],
    *,
    base_dir: Path,
    job_file: Path | None = None,
    overrides: Mapping[str, object] | None = None,
) -> JobConfig:
    """Validate a job given as a Python mapping (same keys as the YAML file; no line numbers);
    its relative paths mean beside `base_dir`."""
    label = str(job_file) if job_file else "job"
    copied = {k: dict(v) if isinstance(v, Mapping) else v for k, v in data.items()}
    _apply_overrides(copied, {}, overrides or {})
    return _build(copied, Doc(label, {}), base_dir=Path(base_dir), job_file=job_file)


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
    except OSError as exc:
        raise InputError(f"{path}: cannot read the id file ({exc.strerror})") from None
    return digest.hexdigest()


# --- overrides and checks ------------------------------------------------------------------


def _apply_overrides(
    data: dict[str, Any], lines: dict[str, int], over: Mapping[str, object]
) -> None:
    """CLI flags win over the file; an overridden key loses its line (it has none)."""
    known = [
        f"{p}.{k}" if p else k for p, names in SCHEMA.items() for k in names if k not in SCHEMA
    ]
    for key, given in over.items():
        if key.rpartition(".")[2] in FORBIDDEN:
            raise ConfigError(FORBIDDEN[key.rpartition(".")[2]])
        if key not in known:
            raise ConfigError(f"unknown override '{key}'{suggest(key, known, ALIASES)}")
        value = given
        if (
            key in PATH_KEYS
            and isinstance(value, str | Path)
            and str(value) not in (STDOUT, *CACHE_SWITCHES)
        ):
            value = str(Path(value).expanduser().absolute())
        if key in INT_KEYS and isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if key == "rate" and isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = float(value)
        parent, _, leaf = key.rpartition(".")
        target = data
        if parent:
            if not isinstance(data.get(parent), dict):
                data[parent] = {}
            target = data[parent]
        if parent == "source" and leaf not in ("column", *DATE_KEYS):  # replaces the file's
            for other in ("ids", "file", "term", "column", *DATE_KEYS):
                target.pop(other, None)
        new_suffix = Path(str(value)).suffix.lower()
        if key == "output.path" and "output.format" not in over and new_suffix in SUFFIX_FORMATS:
            target.pop("format", None)  # `-o x.tsv` means TSV even if the file said jsonl
        target[leaf] = value
        for stale in [k for k in lines if k == key or k.startswith((key + ".", key + "["))]:
            del lines[stale]


def _build(data: dict[str, Any], doc: Doc, *, base_dir: Path, job_file: Path | None) -> JobConfig:
    top = Section(doc, data, "", SCHEMA[""], FORBIDDEN, ALIASES)
    source = _source(_section(top, "source", required=True), base_dir)
    dbfrom, db = keys.database(top, "dbfrom"), keys.database(top, "db")
    linknames = keys.linknames(top, dbfrom, db)
    cmd = LinkCmd(top.choice("cmd", tuple(LinkCmd), LinkCmd.NEIGHBOR))
    fetch = _fetch(_section(top, "fetch"), db)
    elink_batch = top.integer("elink_batch", ncbi.ELINK_BATCH_SIZE, 1, MAX_ELINK_BATCH)
    fields, field_types = keys.fields(top), keys.field_types(top)
    output = _output(_section(top, "output", required=True), base_dir)
    endpoint = keys.endpoint(top)
    policy = Policy(top.choice("policy", tuple(Policy), Policy.NCBI))
    rate = keys.rate(top, policy)
    api_key_env = keys.api_key_env(top)
    keys.within_ncbi_limit(top, endpoint, rate, api_key_env)
    email, tool = keys.email(top), keys.tool(top)
    concurrency = top.integer("concurrency", DEFAULT_CONCURRENCY, 1, MAX_CONCURRENCY)
    job_dir = top.text("job_dir")
    name = top.text("name") or (job_file.stem if job_file else "job")
    return JobConfig(
        name=name,
        source=source,
        dbfrom=dbfrom,
        db=db,
        linknames=linknames,
        cmd=cmd,
        fetch=fetch,
        elink_batch=elink_batch,
        fields=fields,
        field_types=field_types,
        output=output,
        endpoint=endpoint,
        policy=policy,
        rate=rate,
        api_key_env=api_key_env,
        email=email,
        tool=tool,
        concurrency=concurrency,
        job_dir=_beside(base_dir, job_dir) if job_dir else _default_job_dir(output, name, base_dir),
        job_file=job_file,
        cache=cache_spec(top, base_dir),
        key_lines=tuple(
            (key, doc.at(key)) for key in doc.lines if key.partition("[")[0] in NAME_KEYS
        ),
    )


def _section(top: Section, key: str, *, required: bool = False) -> Section:
    value = top.get(key, required=required)
    return Section(top.doc, {} if value is None else value, key, SCHEMA[key], FORBIDDEN, ALIASES)


def _source(sec: Section, base_dir: Path) -> SourceSpec:
    kinds = [k for k in ("ids", "file", "term") if sec.data.get(k) is not None]
    if not kinds:
        sec.doc.fail("source", "source needs one of 'ids', 'file' or 'term'")
    if len(kinds) > 1:
        sec.doc.fail(
            sec.path(kinds[1]),
            f"source has both '{kinds[0]}' and '{kinds[1]}'; give exactly one of ids, file or term",
        )
    column = sec.text("column")
    if column is not None and kinds[0] != "file":
        sec.doc.fail("source.column", "'source.column' needs 'source.file' (a CSV file of ids)")
    given = [k for k in DATE_KEYS if sec.data.get(k) is not None]
    if given and kinds[0] != "term":
        sec.doc.fail(
            sec.path(given[0]), f"'source.{given[0]}' limits a search: it needs 'source.term'"
        )
    if kinds[0] == "term":
        try:
            dates = search_dates({k: sec.data.get(k) for k in DATE_KEYS})
        except ValueError as exc:
            sec.doc.fail(sec.path(given[0]) if given else "source", f"source {exc}")
        return SourceSpec(term=sec.text("term"), dates=dates)
    if kinds[0] == "file":
        return SourceSpec(file=_beside(base_dir, sec.text("file") or ""), column=column)
    raw = sec.get("ids")
    if not isinstance(raw, list | tuple):
        sec.doc.fail("source.ids", f"'source.ids' must be a list of ids, got {show(raw)}")
    ids: list[str] = []
    for i, item in enumerate(raw):
        if isinstance(item, Mapping | list | tuple):
            sec.doc.fail(f"source.ids[{i}]", f"'source.ids[{i}]' must be an id, got {show(item)}")
        ids.append("" if item is None else str(item))
    lines = tuple(sec.doc.lines.get(f"source.ids[{i}]", 0) for i in range(len(ids)))
    ids_line = sec.doc.lines.get("source.ids")
    inline_ids(ids, lines, ids_line, sec.doc.label)  # bad ids fail at load, not at harvest
    return SourceSpec(ids=tuple(ids), id_lines=lines, ids_line=ids_line)


def _fetch(sec: Section, db: str) -> FetchSpec:
    via = ncbi.FetchVia(sec.choice("via", tuple(ncbi.FetchVia), ncbi.FetchVia.EFETCH))
    summaries = via == ncbi.FetchVia.ESUMMARY
    rettype, retmode = sec.text("rettype"), sec.text("retmode", "xml")
    if summaries and rettype is not None:
        sec.doc.fail("fetch.rettype", "fetch.rettype applies only to efetch, not esummary")
    if summaries and retmode not in (None, "xml", "json"):
        sec.doc.fail("fetch.retmode", f"fetch.retmode {retmode!r} must be 'xml' or 'json'")
    if not summaries and ncbi.efetch_format(db, rettype, retmode) is None:
        known = sorted(f"{r or 'null'}/{m or 'null'}" for d, r, m in ncbi.EFETCH_FORMATS if d == db)
        if not known:
            readable = sorted({d for d, _, _ in ncbi.EFETCH_FORMATS})
            named = difflib.get_close_matches(db, ncbi.DATABASES, n=1)
            if db not in ncbi.DATABASES and named:  # a typo, not a db read by esummary only
                sec.doc.fail("db", f"unknown db {db!r} (did you mean {named[0]!r}?)")
            close = difflib.get_close_matches(db, readable, n=1)
            typo = f" (did you mean {close[0]!r}?)" if close else ""
            sec.doc.fail(
                "db",
                f"the harvester reads no efetch records of {db}{typo}; set fetch.via: esummary "
                f"(it reads efetch of {', '.join(readable)})",
            )
        where = "fetch.retmode" if "fetch.retmode" in sec.doc.lines else "fetch.rettype"
        asked = f"efetch of {db} with rettype {rettype or 'null'}, retmode {retmode or 'null'}"
        hint = f"rettype/retmode for {db}: {', '.join(known)}"
        sec.doc.fail(where, f"{asked} gives no records the harvester reads ({hint})")
    fmt = None if summaries else ncbi.efetch_format(db, rettype, retmode)
    if fmt is not None and fmt.key == "tseqset":
        sec.doc.fail(
            "fetch.rettype",
            f"efetch of {db} with rettype {rettype} answers TinySeq records, which name "
            "themselves by accession.version only, not by the gi numbers elink links to, so "
            "none would join; use rettype gb (gp for protein) or fetch.via: esummary",
        )
    version = sec.get("version")
    if version is not None:
        normal = {"1": "1.0", "1.0": "1.0", "2": "2.0", "2.0": "2.0"}.get(str(version))
        if normal is None or isinstance(version, bool):
            sec.doc.fail("fetch.version", f"fetch.version {str(version)!r} must be '1.0' or '2.0'")
        if not summaries:
            sec.doc.fail("fetch.version", "fetch.version applies only to esummary, not efetch")
        version = normal
    cap = ncbi.page_cap(db, via, retmode)
    page_size = sec.integer("page_size", min(ncbi.DEFAULT_PAGE_SIZE, cap), 1)
    if page_size > cap:
        what = f"{db} {via}" + (" JSON" if summaries and retmode == "json" else "")
        message = f"fetch.page_size {page_size} is above the cap of {cap} for {what}"
        sec.doc.fail("fetch.page_size", message)
    max_mb = sec.integer(
        "max_record_mb", DEFAULT_MAX_RECORD_BYTES // MB, 1, MAX_RECORD_CEILING // MB
    )
    memory_mb = sec.integer("memory_mb", DEFAULT_MEMORY_MB, 8, 1 << 20)
    explicit = sec.get("page_size") is not None
    return FetchSpec(via, rettype, retmode, version, page_size, max_mb, memory_mb, explicit)


def _beside(base_dir: Path, text: str) -> Path:
    """A path from the job: relative ones mean beside the job file (`base_dir`)."""
    path = Path(text).expanduser()
    return path if path.is_absolute() else base_dir / path


def _output(sec: Section, base_dir: Path) -> OutputSpec:
    written = sec.text("path", required=True) or ""
    path = Path(STDOUT) if written == STDOUT else _beside(base_dir, written)
    streamed = is_stream(path)
    fmt = sec.text("format") or SUFFIX_FORMATS.get(Path(written).suffix.lower())
    if fmt is None and streamed:
        fmt = OutputFormat.JSONL  # stdout, a FIFO or a device: lines as they come
    if fmt is None:
        known = ", ".join(OutputFormat)
        suffix = Path(written).suffix
        suffixes = ", ".join(f".{f}" for f in OutputFormat)
        why = (
            f"the harvester does not write {suffix} files: name the output {suffixes} "
            "(a spreadsheet opens .csv and .tsv), or set output.format"
            if suffix
            else f"cannot tell the format of '{written}'; set output.format ({known})"
        )
        sec.doc.fail("output.path", why)
    if fmt not in tuple(OutputFormat):
        sec.doc.fail("output.format", f"output.format {fmt!r} must be {alternatives(OutputFormat)}")
    return OutputSpec(path, OutputFormat(fmt))


def _default_job_dir(output: OutputSpec, name: str, base_dir: Path) -> Path:
    """OUTPUT.harvest beside the output (beside the file a symlink names: `/dev/stdout`
    redirected to a file puts it there, not in /dev); NAME.harvest beside the job file for a
    stream."""
    if is_stream(output.path):
        return base_dir / f"{name}.harvest"
    target = output.path.resolve() if output.path.is_symlink() else output.path
    return Path(f"{target}.harvest")


def is_stream(path: Path) -> bool:
    """`-` (stdout), or a path that is a FIFO, a device or a socket (after symlinks): written
    straight through, and no place for a job directory or a summary beside it."""
    if str(path) == STDOUT:
        return True
    try:
        mode = path.stat().st_mode
    except OSError:
        return False  # absent: a file to create
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))
