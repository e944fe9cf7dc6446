"""The `harvester` command: argparse subcommands that hand off to the modules that do the work.

Each subcommand lives in its own module exposing `register(subparsers)`; the handler it sets
returns an exit code, and once it has read its job file it leaves the job in `args.job_config`
so a failure can name the job. Every exception ends here as one line on stderr and its
documented exit code (see `failure.py`), never a traceback unless `--debug` asks for it.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from types import FrameType

from harvester.errors import EXIT_INTERRUPTED
from harvester.failure import describe, print_traceback
from harvester.version import VERSION

EPILOG = """\
exit codes:
  0  success            1  a bug (a crash report is written)   2  bad job file or flag
  3  bad input (ids, files, output path)    4  network failed    5  NCBI refused
  6  unparsable response    7  job store or disk problem (full, read-only, damaged)
  130 interrupted by Ctrl-C or SIGTERM (run again to resume)
"""


def build_parser() -> argparse.ArgumentParser:
    """The full command-line grammar, one subparser per command module."""
    from harvester import commands

    parser = argparse.ArgumentParser(
        prog="harvester",
        description="Bulk link harvesting from NCBI E-utilities (elink -> history -> efetch, "
        "joined by source id), plus a local E-utilities emulator for tests and benchmarks.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"harvester {VERSION}")
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="say more on stderr: -v each retry and its reason, -vv everything",
    )
    parser.add_argument(
        "--log-level",
        choices=("debug", "info", "warning", "error"),
        help="what goes to stderr (default warning; overrides -v)",
    )
    parser.add_argument("--debug", action="store_true", help="show the traceback of a failure")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for register in commands.REGISTRY:
        register(subparsers)
    for command in subparsers.choices.values():  # `harvester run job.yaml --debug -v` too
        _add_anywhere_options(command)
    return parser


def _add_anywhere_options(command: argparse.ArgumentParser) -> None:
    """The options of what goes to stderr, taken after the subcommand as well as before it
    (`harvester run JOB -v`, as users type it); given in both places, they add up."""
    command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS)
    command.add_argument(
        "-v", "--verbose", dest="sub_verbose", action="count", default=0,
        help="say more on stderr: -v each retry and its reason, -vv everything",
    )  # fmt: skip
    command.add_argument(
        "--log-level",
        dest="sub_log_level",
        choices=("debug", "info", "warning", "error"),
        help="what goes to stderr (default warning; overrides -v)",
    )


_HANDLER = logging.StreamHandler()
_HANDLER.setFormatter(logging.Formatter("harvester: %(levelname)s: %(message)s"))


def configure_logging(level: str | None, verbose: int) -> None:
    """The `harvester` loggers to stderr, at --log-level or by -v count (default warnings)."""
    chosen = level.upper() if level else ("WARNING", "INFO", "DEBUG")[min(verbose, 2)]
    logger = logging.getLogger("harvester")
    logger.setLevel(chosen)
    _HANDLER.stream = sys.stderr  # the current stderr (tests capture it)
    if _HANDLER not in logger.handlers:
        logger.addHandler(_HANDLER)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, run the chosen command, and turn every failure into an exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    level = getattr(args, "sub_log_level", None) or args.log_level
    configure_logging(level, args.verbose + getattr(args, "sub_verbose", 0))
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    stopped_by: list[str] = []
    try:
        with _sigterm_as_interrupt(stopped_by):
            return handler(args)
    except KeyboardInterrupt:
        why = f" by {stopped_by[0]}" if stopped_by else ""
        print(f"harvester: interrupted{why}; run the same command again to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        job = getattr(args, "job_config", None)
        if args.debug:
            print_traceback(exc, job)
        failure = describe(exc, job, argv)
        print(f"harvester: error: {failure.message}", file=sys.stderr)
        return failure.exit_code


@contextlib.contextmanager
def _sigterm_as_interrupt(stopped_by: list[str]) -> Iterator[None]:
    """SIGTERM (`kill`, a service manager, a batch system's time limit) stops the command as
    Ctrl-C does: whatever handles SIGINT now (asyncio's, which cancels the run so it closes
    its store, or Python's KeyboardInterrupt) handles it; `stopped_by` records it."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach the main thread only
        return

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        stopped_by.append("SIGTERM")
        current = signal.getsignal(signal.SIGINT)
        if callable(current):
            current(signum, frame)
        else:
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
