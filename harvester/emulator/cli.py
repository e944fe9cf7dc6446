"""`harvester serve`: run the emulator until Ctrl-C, printing its base URL first."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from typing import Any

from harvester.emulator import hostile
from harvester.emulator.clock import REFERENCE, parse_day
from harvester.emulator.config import EmulatorConfig
from harvester.emulator.faults import KINDS, FaultPlan
from harvester.emulator.latency import PRESETS
from harvester.errors import ConfigError

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
        "--as-of",
        metavar="YYYY-MM-DD",
        help="serve the dataset as it was on this day: records and links added later are "
        "left out, records carry their creation and modification dates, and esearch answers "
        f"datetype=mdat by them (the dataset grows and is revised at per-db rates; default: "
        f"as of {REFERENCE}, undated; see emulator/clock.py)",
    )
    parser.add_argument(
        "--record-scale",
        type=float,
        metavar="F",
        help="every record's bulk (GeneRIFs, SNP submissions, PubMed's cited works) times F, "
        "over the dataset's size distributions (0: minimal records, as fast tests want); ids, "
        "links, counts and History stay the same",
    )
    parser.add_argument(
        "--record-bytes",
        type=int,
        metavar="N",
        help="fill every snp docsum (efetch and esummary), Entrezgene and PubmedArticle to "
        "about N bytes instead, so a benchmark can say '21 KB records' (default: the "
        "dataset's own sizes; the YAML keys record_scale and record_bytes do the same)",
    )
    parser.add_argument(
        "--history-ttl",
        type=float,
        default=3600.0,
        metavar="SECONDS",
        help="how long a WebEnv lives after its last use (default 3600)",
    )
    parser.add_argument(
        "--render-processes",
        type=int,
        default=1,
        metavar="N",
        help="worker processes rendering large answers, so rendering never delays the counting "
        "of arrivals, as on NCBI (default 1; 0 renders on a thread of the server process)",
    )
    _add_conduct_flags(parser)
    parser.set_defaults(handler=run_serve)


def _add_conduct_flags(parser: argparse.ArgumentParser) -> None:
    """Flags for how NCBI-like the emulator behaves: limits, latency, faults, logging."""
    group = parser.add_argument_group("NCBI behaviour (rate limits, latency, faults)")
    group.add_argument(
        "--rate-limit",
        type=int,
        default=3,
        metavar="N",
        help="requests/s allowed per address without an api_key (default 3, as NCBI)",
    )
    group.add_argument(
        "--key-rate-limit",
        type=int,
        default=10,
        metavar="N",
        help="requests/s allowed per api_key (default 10, as NCBI)",
    )
    group.add_argument(
        "--no-rate-limit",
        dest="enforce",
        action="store_false",
        help="never refuse with 429 (requests are still counted in X-RateLimit-* headers)",
    )
    group.add_argument(
        "--api-keys",
        metavar="K1,K2",
        help="the only valid keys; any other api_key gets NCBI's 400 'API key invalid'",
    )
    group.add_argument(
        "--latency",
        choices=sorted(PRESETS),
        default="zero",
        help="response-time model (default zero; realistic imitates NCBI's typical times; "
        "slow, heavy and shifting stress a client: see harvester/emulator/latency.py)",
    )
    group.add_argument(
        "--shared-load",
        type=float,
        default=0.0,
        metavar="R",
        help="spend R requests/s of every address's (or key's) allowance, as a second program "
        "on the same machine would (default 0)",
    )
    group.add_argument(
        "--faults",
        default="",
        metavar="SPEC",
        help=f"fault injection: 'mixed:0.05' or per kind '500:0.02,cut:0.01', on one "
        f"E-utility with KIND@UTILITY ('stall@efetch:0.1') or one command of it "
        f"('503@elink/neighbor_history:1:=1-2': the first two such requests); "
        f"kinds: {', '.join(KINDS)}",
    )
    group.add_argument(
        "--stall",
        type=float,
        default=150.0,
        metavar="SECONDS",
        help="how long a 'stall' fault holds its response (default 150)",
    )
    group.add_argument(
        "--hostile",
        metavar="KIND",
        help="serve hostile XML from efetch/elink to test a client: "
        f"{', '.join(hostile.KINDS)} (KIND:ARG sets the file, URL, size or depth)",
    )
    group.add_argument(
        "--request-log", metavar="PATH", help="append one JSON line per request to PATH"
    )
    group.add_argument(
        "--seed", type=int, default=0, help="seed for WebEnvs, latency jitter and faults"
    )
    group.add_argument(
        "--speedup", type=float, default=1.0, metavar="K",
        help="run K times faster than NCBI: limits x K, latencies / K (default 1)",
    )  # fmt: skip


def config_from_args(args: argparse.Namespace, **extra: Any) -> EmulatorConfig:
    keys = getattr(args, "api_keys", None)
    conduct: dict[str, Any] = {
        "rate_limit": getattr(args, "enforce", True),  # on unless --no-rate-limit, as NCBI
        "rate_without_key": getattr(args, "rate_limit", 3),
        "rate_with_key": getattr(args, "key_rate_limit", 10),
        "api_keys": frozenset(k.strip() for k in keys.split(",") if k.strip()) if keys else None,
        "latency": getattr(args, "latency", "zero"),
        "shared_load": getattr(args, "shared_load", 0.0),
        "faults": FaultPlan.parse(getattr(args, "faults", "") or ""),
        "stall_seconds": getattr(args, "stall", 150.0),
        "request_log": getattr(args, "request_log", None),
        "seed": getattr(args, "seed", 0),
        "speedup": getattr(args, "speedup", 1.0),
        "hostile": getattr(args, "hostile", None),
        "render_processes": getattr(args, "render_processes", 0),
        "record_scale": getattr(args, "record_scale", None),
        "record_bytes": getattr(args, "record_bytes", None),
    }
    hostile.parse(conduct["hostile"])  # a bad kind fails here, as a one-line error
    if conduct["render_processes"] < 0:
        raise ConfigError("--render-processes must be 0 or more")
    if conduct["speedup"] <= 0 or min(conduct["rate_without_key"], conduct["rate_with_key"]) < 1:
        raise ConfigError("--speedup must be positive and rate limits at least 1")
    if (conduct["record_scale"] or 0) < 0 or (conduct["record_bytes"] or 0) < 0:
        raise ConfigError("--record-scale and --record-bytes must be 0 or more")
    if conduct["shared_load"] < 0:
        raise ConfigError("--shared-load must be 0 or more requests/s")
    as_of = getattr(args, "as_of", None)
    if as_of:
        try:
            as_of = parse_day(as_of).isoformat()
        except ValueError as exc:
            raise ConfigError(f"--as-of: {exc}") from None
    return EmulatorConfig(
        dataset=args.dataset,
        as_of=as_of or None,
        host=args.host,
        port=args.port,
        history_ttl=args.history_ttl,
        **(conduct | extra),
    )


async def _serve(config: EmulatorConfig) -> None:
    from harvester.emulator.server import Emulator  # only `serve` loads the server

    stop = asyncio.Event()
    with contextlib.suppress(NotImplementedError):  # no signal handlers on Windows
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with Emulator(config) as emulator:
        print(f"serving E-utilities at {emulator.base_url}", flush=True)
        if config.host not in ("127.0.0.1", "localhost", "::1"):
            print(
                f"harvester: warning: listening on {config.host}, reachable from other machines",
                file=sys.stderr,
                flush=True,
            )
        await stop.wait()  # SIGTERM, like Ctrl-C, shuts down cleanly (render workers too)


def run_serve(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(config))
    print("emulator stopped", file=sys.stderr)
    return 0
