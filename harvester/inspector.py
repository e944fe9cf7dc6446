"""`harvester inspect FILE...`: parse saved E-utilities responses and print one JSON object a line.

The kind is detected from the XML root element or the JSON header, the same way the client
does, so this is also how to check what the client would make of a captured body. Every object
has `kind` and `source` (the file); the other fields by kind:

    linkset          dbfrom, ids[], linksetdbs[{dbto, linkname, links[], scores[]?}], error?
    linkset_history  dbfrom, ids[], webenv, histories[{dbto, linkname, query_key}], error?
    idcheck          dbfrom, id, has_linkout, has_neighbor (true/false/null),
                     links[{dbto, linkname, menu_tag, html_tag, priority, url}]
    idurls           dbfrom, id, urls[{url, icon_url, link_name, subject_types[], categories[],
                     attributes[], provider{name, name_abbr, id, url}|null}]
    post             webenv, query_key, invalid_ids[]
    search           count, retmax, retstart, ids[], query_key, webenv, query_translation,
                     phrases_not_found[], fields_not_found[], warnings[]
    record           db, uid, error (per-uid error text or null); xml with --xml
                     (an untaught record set: each child of its root, uid "" unless an attribute
                     names it; db from --db or "")
    info             dbs[]  (einfo database list), or name, menu_name, description,
                     links[{name, menu, description, dbto}]  (einfo of one database)
    result           root  (a valid answer of a kind not taught here, e.g. eSpellResult)
    error            message, where (ERROR element / JSON key / "parse"), retryable (bool),
                     reason (the retry reason, or null); one object per non-empty ERROR

An answer is an error only when it holds a non-empty ERROR (an empty `<ERROR/>`, as ESpell
sends, says nothing). Ids are strings, scores integers. An esearch whose ErrorList is not empty
prints its `search` object followed by one `error` object naming the phrases and fields not
found. Exit status:
0 when every file was read (error objects included), 3 for a missing file, 6 when a file could
not be parsed at all (its `error` object is printed first).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from harvester.errors import InputError, ParseError
from harvester.eutils.parse import CHUNK_SIZE, parse_chunks
from harvester.eutils.results import (
    DbInfo,
    DbList,
    ErrorResult,
    IdCheck,
    IdUrls,
    Item,
    LinkSet,
    LinkSetHistory,
    OtherResult,
    PostResult,
    Record,
    SearchResult,
)
from harvester.eutils.retry import InBandError, Outcome, Retry, classify

__all__ = ["inspect_file", "item_json", "register"]

_KINDS: dict[type, str] = {
    LinkSet: "linkset",
    LinkSetHistory: "linkset_history",
    IdCheck: "idcheck",
    IdUrls: "idurls",
    PostResult: "post",
    SearchResult: "search",
    DbList: "info",
    OtherResult: "result",
    DbInfo: "info",
}


def _error(message: str, where: str, outcome: Outcome | None = None) -> dict[str, Any]:
    verdict = classify(outcome if outcome is not None else InBandError(message))
    reason = verdict.reason if isinstance(verdict, Retry) else None
    return {
        "kind": "error",
        "message": message,
        "where": where,
        "retryable": reason is not None,
        "reason": reason,
    }


def item_json(item: Item, *, with_xml: bool = False) -> list[dict[str, Any]]:
    """The JSON object(s) of one parsed item, in the documented schema."""
    if isinstance(item, Record):
        obj: dict[str, Any] = {
            "kind": "record",
            "db": item.db,
            "uid": item.uid,
            "error": item.error,
        }
        if with_xml:
            obj["xml"] = item.xml().decode("utf-8") if item.element is not None else None
        return [obj]
    if isinstance(item, ErrorResult):
        return [_error(item.message, item.where)]
    obj = {"kind": _KINDS[type(item)], **asdict(item)}
    if isinstance(item, LinkSet):
        obj["linksetdbs"] = [
            {k: v for k, v in db.items() if k != "scores" or v is not None} for db in obj.pop("dbs")
        ]
    out = [obj]
    if isinstance(item, SearchResult) and (item.phrases_not_found or item.fields_not_found):
        parts = [f"phrase not found: {p}" for p in item.phrases_not_found]
        parts += [f"field not found: {f}" for f in item.fields_not_found]
        out.append({**_error("; ".join(parts), "ErrorList"), "retryable": False, "reason": None})
    return out


def _chunks(handle: BinaryIO) -> Iterator[bytes]:
    while chunk := handle.read(CHUNK_SIZE):
        yield chunk


def inspect_file(
    path: Path, *, db: str | None = None, with_xml: bool = False
) -> Iterator[dict[str, Any]]:
    """JSON objects for one saved response; a body that cannot be parsed ends in an error object."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from exc
    with handle:
        try:
            for item in parse_chunks(_chunks(handle), db=db):
                for obj in item_json(item, with_xml=with_xml):
                    yield {**obj, "source": str(path)}
        except ParseError as exc:
            yield {**_error(str(exc), "parse", exc), "source": str(path), "unparsable": True}


def run_inspect(args: argparse.Namespace) -> int:
    """Print the objects of every file; see the module docstring for the exit status."""
    status = 0
    out = sys.stdout.buffer
    for name in args.files:
        for obj in inspect_file(Path(name), db=args.db, with_xml=args.xml):
            if obj.pop("unparsable", False):
                status = ParseError.exit_code
            out.write(orjson.dumps(obj) + b"\n")
    out.flush()
    return status


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `harvester inspect`."""
    parser = subparsers.add_parser(
        "inspect",
        help="parse saved E-utilities responses and print JSON lines",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "files", nargs="+", metavar="FILE", help="saved response bodies (XML or JSON)"
    )
    parser.add_argument("--db", help="database of the records (default: guessed from the format)")
    parser.add_argument("--xml", action="store_true", help="include each record's XML")
    parser.set_defaults(handler=run_inspect)
