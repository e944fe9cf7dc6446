"""`harvester link`'s flags as a job: the same mapping a job file holds, validated by
`job_from_mapping`, so a one-line harvest is an ordinary durable job (store, resume, summary).

Where its job directory goes when the output is stdout: under the user's cache directory,
named by a digest of what the job fetches and from where, so the same command run again finds
it and resumes (README "One-line harvests").
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from harvester.config import STDOUT, JobConfig, is_stream, job_from_mapping
from harvester.config_keys import endpoint_shown
from harvester.errors import ConfigError, InputError

__all__ = ["INLINE_IDS", "cache_root", "field_pairs", "link_job", "save_job"]

INLINE_IDS = 10_000
"""Ids from stdin a saved job holds inline; more go to an id file beside it."""


def field_pairs(specs: Sequence[str]) -> dict[str, str]:
    """`--fields` values (comma-separated NAME=PATH or PATH, as xtract's -element lists them)
    -> name: path; a bare path is named by its last element."""
    fields: dict[str, str] = {}
    for spec in specs:
        for item in (part.strip() for part in spec.split(",")):
            if not item:
                continue
            name, sep, path = item.partition("=")
            if not sep:
                path = item
                name = item.rstrip("/").rpartition("/")[2].lstrip("@")
            name, path = name.strip(), path.strip()
            if not name or not path:
                raise ConfigError(f"--fields {item!r} must be NAME=PATH or PATH")
            if name in fields:
                raise ConfigError(f"--fields names {name!r} twice; name one of them: OTHER={path}")
            fields[name] = path
    return fields


def link_job(data: dict[str, Any], *, job_dir_given: bool, cache: Path | None = None) -> JobConfig:
    """The job the flags describe (`data`: a job file's keys); relative paths mean beside the
    current folder. Its job directory: --job-dir, else OUTPUT.harvest, else (stdout) one under
    the cache directory keyed by the job's digest."""
    job = job_from_mapping(data, base_dir=Path.cwd())
    if job_dir_given or not is_stream(job.output.path):
        return job
    where = f"{job.semantic_hash()}\n{endpoint_shown(job.endpoint)}"
    digest = hashlib.sha256(where.encode()).hexdigest()[:16]
    return replace(job, job_dir=(cache or cache_root()) / f"{job.name}-{digest}")


def cache_root() -> Path:
    """$XDG_CACHE_HOME/harvester/link (~/.cache/harvester/link by default)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "harvester" / "link"


def save_job(path: Path, data: dict[str, Any]) -> None:
    """The job as a YAML file `harvester run` takes: paths made absolute (a job file's
    relative paths mean beside it), many inline ids moved to an id file beside it."""
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in data.items()}
    if endpoint_shown(str(out.get("endpoint", ""))) != out.get("endpoint", ""):
        raise ConfigError(
            "--save-job writes no password: give the endpoint without one (a job file is "
            "shared and kept; the password would be in it)"
        )
    source = out["source"]
    if source.get("file") is not None:
        source["file"] = str(Path(source["file"]).absolute())
    if out["output"]["path"] != STDOUT:
        out["output"]["path"] = str(Path(out["output"]["path"]).absolute())
    ids = source.get("ids")
    try:
        if ids is not None and len(ids) > INLINE_IDS:
            id_file = path.with_name(f"{path.stem}.ids.txt")
            id_file.write_text("".join(f"{i}\n" for i in ids))
            source.pop("ids")
            source["file"] = str(id_file.absolute())
        if ids is not None and len(ids) <= INLINE_IDS:
            source["ids"] = [int(i) for i in ids]
        text = yaml.safe_dump(out, sort_keys=False, default_flow_style=None, width=100)
        path.write_text("# written by harvester link --save-job\n" + text)
    except OSError as exc:
        raise InputError(f"{path}: cannot write the job file ({exc.strerror})") from None
