"""`harvester links DBFROM [DB]`: the link names an endpoint's einfo lists, with descriptions.

The answer is the endpoint's own (NCBI, a URL, or the embedded emulator), never our table, so
it shows what a job's `linkname` may name there.
"""

from __future__ import annotations

import argparse
import asyncio
import difflib
import sys

from harvester import ncbi
from harvester.config_keys import endpoint_value
from harvester.errors import ConfigError
from harvester.eutils.client import EutilsClient
from harvester.eutils.results import DbLink
from harvester.eutils.settings import ClientConfig
from harvester.stats import Stats
from harvester.workflow.runner import serving

HELP = """\
List the link names from DBFROM (to DB, if given) with their menu names and descriptions, as
the endpoint's einfo gives them (two einfo requests). Use one in a job's `linkname`, or
several as a list, or `linkname: all`. Examples:

  harvester links pubmed pubmed
  harvester links gene nucleotide --endpoint embedded
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "links",
        help="list the link names from a database, from the endpoint's einfo",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("dbfrom", help="the database links start from (e.g. gene)")
    parser.add_argument("db", nargs="?", help="only link names to this database")
    parser.add_argument(
        "--endpoint",
        default="ncbi",
        help="'ncbi' (default), 'embedded[:DATASET]' (the local emulator) or a URL",
    )
    parser.set_defaults(handler=links_command)


def links_command(args: argparse.Namespace) -> int:
    try:
        where = endpoint_value(args.endpoint)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    dbfrom = ncbi.canonical_db(args.dbfrom)
    db = ncbi.canonical_db(args.db) if args.db else None
    links = asyncio.run(_links(where, dbfrom, db))
    if not links:
        to = f" to {db}" if db else ""
        print(
            f"harvester: the endpoint's einfo lists no link name from {dbfrom}{to}", file=sys.stderr
        )
    width = max((len(link.name) for link in links), default=0)
    dbto = max((len(link.dbto) for link in links), default=0)
    menu = max((len(link.menu) for link in links), default=0)
    for link in links:
        print(f"{link.name:<{width}}  {link.dbto:<{dbto}}  {link.menu:<{menu}}  {link.description}")
    return 0


async def _links(where: str, dbfrom: str, db: str | None) -> list[DbLink]:
    """The link names from dbfrom (to db), refusing a database the endpoint does not list."""
    async with (
        serving(where) as base_url,
        EutilsClient(ClientConfig.from_env(base_url=base_url), stats=Stats()) as client,
    ):
        dbs = (await client.einfo()).dbs
        for name in (dbfrom, db):
            if name is not None and name not in dbs:
                close = difflib.get_close_matches(name, dbs, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ConfigError(
                    f"the endpoint's einfo lists no database {name!r}{hint}; "
                    f"its databases: {', '.join(dbs)}"
                )
        links = (await client.einfo_db(dbfrom)).links
    return [link for link in links if db is None or link.dbto == db]
