"""`harvester serve`: run the emulator until Ctrl-C, printing its base URL first."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from typing import Any

from harvester.emulator.server import Emulator, EmulatorConfig

SERVE_HELP = """\
Serve NCBI's E-utilities (einfo, esearch, epost, elink, efetch, esummary) from a deterministic
synthetic dataset that contains every example of the seed documents. Point any client at the
printed URL instead of https://eutils.ncbi.nlm.nih.gov/entrez/eutils/, for example:

  harvester serve --port 8080 &
  curl 'http://127.0.0.1:8080/entrez/eutils/elink.fcgi?dbfrom=gene&db=snp&id=3718'

The first line on stdout is always 'serving E-utilities at URL'.
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the local E-utilities emulator",
        description=SERVE_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)"
    )
    parser.add_argument(
        "--port", type=int, default=0, help="port to listen on (default 0: pick a free one)"
    )
    parser.add_argument(
        "--dataset",
        default="tiny",
        help="dataset name in configs/datasets/ or a YAML path (default tiny)",
    )
    parser.add_argument(
        "--history-ttl",
        type=float,
        default=3600.0,
        metavar="SECONDS",
        help="how long a WebEnv lives after its last use (default 3600)",
    )
    parser.set_defaults(handler=run_serve)


def config_from_args(args: argparse.Namespace, **extra: Any) -> EmulatorConfig:
    return EmulatorConfig(
        dataset=args.dataset, host=args.host, port=args.port, history_ttl=args.history_ttl, **extra
    )


async def _serve(config: EmulatorConfig) -> None:
    async with Emulator(config) as emulator:
        print(f"serving E-utilities at {emulator.base_url}", flush=True)
        if config.host not in ("127.0.0.1", "localhost", "::1"):
            print(
                f"harvester: warning: listening on {config.host}, reachable from other machines",
                file=sys.stderr,
                flush=True,
            )
        await asyncio.Event().wait()


def run_serve(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(config))
    print("emulator stopped", file=sys.stderr)
    return 0
