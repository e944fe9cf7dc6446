"""The `harvester` command: argparse subcommands that hand off to the modules that do the work.

Each subcommand lives in its own module exposing `register(subparsers)`; the handler it sets
returns an exit code. Errors of the `HarvesterError` hierarchy become one line on stderr and
their documented exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from harvester import __version__
from harvester.errors import EXIT_INTERRUPTED, HarvesterError

EPILOG = """\
exit codes:
  0  success            2  bad job file or flag     3  bad input (ids, files, output path)
  4  network failed     5  NCBI refused              6  unparsable response
  7  job store problem  130 interrupted (run again to resume)
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
    parser.add_argument("--version", action="version", version=f"harvester {__version__}")
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
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for register in commands.REGISTRY:
        register(subparsers)
    return parser


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
    """Parse arguments, run the chosen command, and turn known errors into exit codes."""
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.log_level, args.verbose)
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return handler(args)
    except HarvesterError as exc:
        print(f"harvester: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("harvester: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
