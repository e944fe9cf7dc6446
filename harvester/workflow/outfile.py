"""Where an output's bytes go: a regular file replaced atomically, or a stream written through.

A regular (or new) file is written under a temporary name beside it and renamed into place, so
a reader never sees half a file. The temporary's name carries a digest of the job directory
whose run writes it; a run holds its job directory's lock, so another temporary with the same
digest was left by a dead run of the same job and is swept, and another job's never is.
A symlink is followed: the file it points to is replaced and the link stays a link. `-` is
stdout, and a FIFO, a device or a socket is written straight through as it is read. An output
that is the job file, the id file, inside the job directory or inside any other job's directory
(a folder holding a job store: store_mark.py) is refused before any work.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from harvester.config import STDOUT, JobConfig, is_stream
from harvester.errors import HarvesterError, InputError, StoreError
from harvester.workflow.store_mark import holds_job_store

__all__ = [
    "check_output",
    "open_output",
    "output_file",
    "summary_path",
    "temporary_path",
]

_DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def output_file(path: Path) -> Path:
    """The file an output path names: a symlink is followed to the file it points to."""
    return path.resolve() if path.is_symlink() else path


def summary_path(job: JobConfig) -> Path:
    """Beside the output, or in the job directory when the output is a stream."""
    path = job.output.path
    if is_stream(path):
        return job.job_dir / "summary.json"
    return path.with_name(f"{path.name}.summary.json")


def _prefix(target: Path, owner: Path | None) -> str:
    """The start of every temporary name of `target` that runs of job directory `owner` use."""
    if owner is None:  # a write outside any job: a name of its own, never swept
        return f".{target.name}.tmp-x{os.urandom(4).hex()}-"
    digest = hashlib.sha256(str(owner.absolute()).encode()).hexdigest()[:12]
    return f".{target.name}.tmp-{digest}-"


def temporary_path(path: Path, owner: Path | None) -> Path:
    """This run's temporary name for the output at `path`, written by job directory `owner`."""
    target = output_file(path)
    return target.with_name(f"{_prefix(target, owner)}{os.getpid()}")


def _write_error(path: Path, exc: OSError) -> HarvesterError:
    why = exc.strerror or type(exc).__name__
    if exc.errno in _DISK_FULL:  # the harvest is safe in the job store: only the write is lost
        return StoreError(
            f"cannot write the output {path}: {why}; the harvest is kept in the job directory: "
            "free space and run again to write it"
        )
    if exc.errno == errno.EPIPE:
        return InputError(f"the reader of the output {path} went away before the end")
    return InputError(f"cannot write the output {path}: {why}")


@contextlib.contextmanager
def open_output(path: Path, *, text: bool = False, owner: Path | None = None) -> Iterator[IO[Any]]:
    """A handle to write the whole output to (text: UTF-8, newlines as written). A file is
    renamed into place when the block ends, and its temporary removed if the block fails."""
    if is_stream(path):
        with _stream(path, text) as handle:
            yield handle
        return
    target = output_file(path)
    temporary = temporary_path(path, owner)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if owner is not None:
            for stale in target.parent.glob(f"{_prefix(target, owner)}*"):
                if stale != temporary:
                    stale.unlink(missing_ok=True)  # this job's, left by a run that was killed
        handle = open(temporary, "w" if text else "wb", newline="" if text else None)  # noqa: SIM115
    except OSError as exc:
        raise _write_error(target, exc) from None
    try:
        with handle:
            yield handle
        _refuse_read_only(path, target)  # made read-only while the run worked
        os.replace(temporary, target)
    except BaseException as exc:
        temporary.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise _write_error(target, exc) from None
        raise


@contextlib.contextmanager
def _stream(path: Path, text: bool) -> Iterator[IO[Any]]:
    """Stdout, a FIFO or a device, written through and never closed if it is stdout."""
    try:
        if str(path) == STDOUT:
            sys.stdout.flush()
            raw: IO[bytes] = sys.stdout.buffer
        else:
            raw = open(path, "wb")  # noqa: SIM115 (closed below, unless it is stdout)
    except OSError as exc:
        raise _write_error(path, exc) from None
    handle: IO[Any] = (
        io.TextIOWrapper(raw, encoding="utf-8", newline="", write_through=True) if text else raw
    )
    try:
        yield handle
        handle.flush()
    except BaseException as exc:
        with contextlib.suppress(OSError):
            _release(handle, raw)
        if isinstance(exc, OSError):
            raise _write_error(path, exc) from None
        raise
    try:
        _release(handle, raw)  # a device's last bytes go out on close: /dev/full says so here
    except OSError as exc:
        raise _write_error(path, exc) from None


def _release(handle: IO[Any], raw: IO[bytes]) -> None:
    """Detach the text layer (leaving `raw` open) and close `raw`, unless it is stdout."""
    if isinstance(handle, io.TextIOWrapper):
        with contextlib.suppress(ValueError):  # already detached
            handle.detach()
    if raw is not sys.stdout.buffer:
        raw.close()


def check_output(job: JobConfig) -> None:
    """Fail before any work when the output cannot be written or would overwrite an input."""
    path = job.output.path
    if str(path) == STDOUT:
        return
    target = output_file(path)
    for kind, other in (("the job file", job.job_file), ("the id file", job.source.file)):
        if other is not None and _same_file(target, other):
            raise InputError(f"the output {path} is {kind}: writing it would destroy it")
    if _same_file(target, job.job_dir) or job.job_dir.absolute() in target.absolute().parents:
        raise InputError(f"the output {path} is inside the job directory {job.job_dir}")
    other = _job_dir_holding(target)
    if other is not None:
        raise InputError(
            f"the output {path} is inside the job directory {other} of another job: "
            "writing it could destroy that job's store"
        )
    if is_stream(path):
        if not os.access(path, os.W_OK):
            raise InputError(f"cannot write the output {path}: permission denied")
        return
    _check_folder(path, target)


def _job_dir_holding(target: Path) -> Path | None:
    """The job directory `target` is in (or is), by its path as given or with links resolved."""
    folders = {target.absolute(), *target.absolute().parents}
    with contextlib.suppress(OSError, RuntimeError):  # a symlink loop: the given path only
        resolved = target.resolve()
        folders |= {resolved, *resolved.parents}
    return next((f for f in sorted(folders, reverse=True) if holds_job_store(f)), None)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return a.absolute() == b.absolute()


def _check_folder(path: Path, target: Path) -> None:
    """The output's folder exists (or can be made) and takes a new file."""
    probe = target.with_name(f".{target.name}.probe-{os.getpid()}-{os.urandom(4).hex()}")
    parent = target.parent.absolute()
    folder = next(f for f in (parent, *parent.parents) if f.exists())
    if not folder.is_dir():
        raise InputError(f"cannot write the output {path}: {folder} is a file, not a folder")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        probe.touch()
        probe.unlink()
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        raise InputError(f"cannot write the output {path}: {why}") from None
    if target.is_dir():
        raise InputError(f"cannot write the output {path}: it is a folder")
    _refuse_read_only(path, target)


def _refuse_read_only(path: Path, target: Path) -> None:
    """A read-only output file is someone's wish to keep it: refused, never replaced behind its
    back (a rename would replace it, since the folder is writable; root would, too)."""
    try:
        mode = target.stat().st_mode
    except OSError:
        return  # not there yet
    if stat.S_ISREG(mode) and (not mode & 0o222 or not os.access(target, os.W_OK)):
        raise InputError(
            f"the output {path} is read-only: make it writable, or remove it, to replace it"
        )
