"""The CLI's one boundary: any exception becomes one line and a documented exit code.

Errors of the `HarvesterError` hierarchy already are sentences; a full disk, a read-only file
system or a damaged store found outside the job store's own checks are mapped here; anything
else is a bug: it gets exit 1 and a crash report (traceback, version, job hash, never the API
key) written into the job directory, and the line says where.
"""

from __future__ import annotations

import errno
import os
import platform
import re
import sqlite3
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from harvester.config import JobConfig, is_stream
from harvester.config_keys import embedded_dataset, endpoint_shown, endpoint_url
from harvester.errors import HarvesterError, NcbiError, StoreError, TransportError
from harvester.version import VERSION

__all__ = ["EXIT_BUG", "Failure", "describe", "print_traceback", "write_crash_report"]

EXIT_BUG = 1
"""An exception nobody expected: a crash report is written."""
DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG})
_KEY_IN_URL = re.compile(r"(api_key=)[^&\s'\"]+")


@dataclass(frozen=True, slots=True)
class Failure:
    """What the user is told: one line, and the exit code it ends with."""

    exit_code: int
    message: str


def describe(exc: BaseException, job: JobConfig | None, argv: Sequence[str]) -> Failure:
    """The line and exit code for `exc`, writing a crash report when it is a bug."""
    failure = _described(exc, job, argv)
    return Failure(failure.exit_code, " ".join(failure.message.split()))  # one line, always


def _described(exc: BaseException, job: JobConfig | None, argv: Sequence[str]) -> Failure:
    if isinstance(exc, HarvesterError):
        return Failure(exc.exit_code, _with_host(str(exc), exc, job))
    if isinstance(exc, sqlite3.Error):
        where = job.job_dir if job else "the job directory"
        return Failure(StoreError.exit_code, f"the job store in {where} failed: {exc}")
    if isinstance(exc, OSError) and exc.errno in DISK_ERRNOS:
        path = exc.filename or (job.job_dir if job else "a file")
        message = f"cannot write {path}: {exc.strerror}; free space (or make it writable) "
        return Failure(StoreError.exit_code, message + "and run again to resume")
    what = f"{type(exc).__name__}: {_redacted(str(exc), job)}".rstrip(": ")
    if isinstance(exc, OSError) and exc.filename:
        what += f" ({exc.filename})"
    try:
        report = f"crash report: {write_crash_report(exc, job, argv)}"
    except OSError as err:
        report = f"no crash report could be written ({err.strerror})"
    return Failure(EXIT_BUG, f"unexpected {what} (a bug; {report}; --debug shows the traceback)")


def _with_host(message: str, exc: HarvesterError, job: JobConfig | None) -> str:
    """Network and NCBI failures name the server they came from."""
    if job is None or not isinstance(exc, TransportError | NcbiError):
        return message
    if embedded_dataset(job.endpoint) is not None:
        return message
    host = urlsplit(endpoint_shown(endpoint_url(job.endpoint))).netloc
    return message if host in message else f"{message} (server {host})"


def write_crash_report(exc: BaseException, job: JobConfig | None, argv: Sequence[str]) -> Path:
    """A text file with what a maintainer needs to reproduce the bug; the key is redacted."""
    folder = (
        job.job_dir if job is not None and job.job_dir.is_dir() else Path(tempfile.gettempdir())
    )
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    path = folder / f"harvester-crash-{stamp}-{os.getpid()}.txt"
    lines = [
        "harvester crash report",
        f"version   harvester {VERSION}, Python {platform.python_version()}",
        f"platform  {platform.platform()}",
        f"command   harvester {' '.join(argv)}",
    ]
    if job is not None:
        try:  # a FIFO's ids were read by the run: reading it again would wait for a writer
            streamed = job.source.file is not None and is_stream(job.source.file)
            digest = "unknown: the id file is a stream" if streamed else job.semantic_hash()
        except HarvesterError as err:  # the id file it hashes may be the problem
            digest = f"unknown: {err}"
        lines.append(f"job       {job.job_file or job.name} (semantic hash {digest})")
        lines.append(f"endpoint  {endpoint_shown(job.endpoint)}")
    lines.append("")
    lines.extend(traceback.format_exception(exc))
    path.write_text(_redacted("\n".join(lines), job), encoding="utf-8")
    return path


def _redacted(text: str, job: JobConfig | None) -> str:
    """`text` without any API key: the job's, the environment's, or one inside a URL."""
    keys = {os.environ.get("NCBI_API_KEY", "")}
    if job is not None:
        keys.add(job.api_key() or "")
    for key in sorted(k for k in keys if len(k) >= 4):
        text = text.replace(key, "***")
    return _KEY_IN_URL.sub(r"\1***", text)


def print_traceback(exc: BaseException, job: JobConfig | None) -> None:
    """`--debug`: the whole traceback (without the key), before the one line."""
    print(_redacted("".join(traceback.format_exception(exc)), job), end="", file=sys.stderr)
