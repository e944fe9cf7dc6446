"""Checks of single job keys against the protocol table (ncbi.py) and the environment.

Each takes the section holding the key and returns the validated value, or fails with the
key's `FILE:LINE`; `config.py` assembles the results into a `JobConfig`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from harvester import ncbi
from harvester.errors import ConfigError
from harvester.yamldoc import Section, show

__all__ = [
    "api_key_env",
    "database",
    "email",
    "endpoint",
    "fields",
    "linknames",
    "rate",
    "tool",
    "within_ncbi_limit",
]

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_API_KEY_SHAPE = re.compile(r"[0-9a-f]{36}")


def database(top: Section, key: str) -> str:
    """`dbfrom` or `db`: a database ncbi.py knows."""
    name = top.text(key, required=True) or ""
    if name not in ncbi.DATABASES:
        top.doc.fail(key, f"unknown db {name!r} (known: {', '.join(sorted(ncbi.DATABASES))})")
    return name


def linknames(top: Section, dbfrom: str, db: str) -> tuple[str, ...]:
    """`linkname`: one or several names that really link dbfrom to db (default dbfrom_db)."""
    between = ", ".join(ln.name for ln in ncbi.link_names_between(dbfrom, db))
    choices = f"link names from {dbfrom} to {db}: {between or 'none'}"
    raw = top.get("linkname")
    if raw is None:
        default = ncbi.default_link_name(dbfrom, db)
        if default not in ncbi.LINK_NAMES:
            top.doc.fail("db", f"no link name {default!r}; set linkname ({choices})")
        return (default,)
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list | tuple) or not all(isinstance(x, str) for x in items):
        top.doc.fail(
            "linkname", f"'linkname' must be a string or a list of strings, got {show(raw)}"
        )
    if not items:
        top.doc.fail("linkname", "'linkname' is an empty list")
    for i, name in enumerate(items):
        path = "linkname" if isinstance(raw, str) else f"linkname[{i}]"
        link = ncbi.LINK_NAMES.get(name)
        if link is None:
            top.doc.fail(path, f"unknown link name {name!r} ({choices})")
        if (link.dbfrom, link.dbto) != (dbfrom, db):
            where = f"links {link.dbfrom} to {link.dbto}, not {dbfrom} to {db}"
            top.doc.fail(path, f"link name {name!r} {where}")
        if name in items[:i]:
            top.doc.fail(path, f"link name {name!r} is listed twice")
    return tuple(items)


def fields(top: Section) -> tuple[tuple[str, str], ...]:
    """`fields`: name -> path pairs, in the file's order (the output's column order)."""
    raw = top.get("fields")
    if raw is None:
        return ()
    if not isinstance(raw, Mapping):
        top.doc.fail("fields", f"'fields' must be a mapping of name: path, got {show(raw)}")
    pairs = []
    for name, path in raw.items():
        where = f"fields.{name}"
        if not isinstance(name, str) or not name.strip():
            top.doc.fail("fields", f"a field name must be a non-empty string, got {show(name)}")
        if not isinstance(path, str) or not path.strip():
            top.doc.fail(
                where, f"'{where}' must be a path like 'GENES/GENE_E/NAME', got {show(path)}"
            )
        pairs.append((name, path.strip()))
    return tuple(pairs)


def endpoint(top: Section) -> str:
    """`endpoint`: ncbi, embedded (or embedded:DATASET), or an http(s) E-utilities base
    ending in a slash."""
    value = top.text("endpoint", "ncbi") or "ncbi"
    if value in ("ncbi", "embedded"):
        return value
    if value.startswith("embedded:"):
        from harvester.emulator.spec import load_spec  # only an embedded run loads the emulator

        try:
            load_spec(value.partition(":")[2])
        except ConfigError as exc:
            top.doc.fail("endpoint", f"endpoint {value!r}: {exc}")
        return value
    url = urlsplit(value)
    if url.scheme not in ("http", "https") or not url.netloc:
        message = "must be 'ncbi', 'embedded', 'embedded:DATASET' or an http(s) URL"
        top.doc.fail("endpoint", f"endpoint {value!r} {message}")
    if url.path.endswith(".fcgi"):
        top.doc.fail("endpoint", f"endpoint {value!r} must be the E-utilities base (…/eutils/)")
    return value if value.endswith("/") else value + "/"


def rate(top: Section, policy: str) -> float | None:
    """`rate`: only with policy custom, and then required: a silently ignored rate misleads."""
    raw = top.get("rate")
    if raw is not None and (isinstance(raw, bool) or not isinstance(raw, int | float) or raw <= 0):
        top.doc.fail("rate", f"'rate' must be a positive number of requests/s, got {show(raw)}")
    if policy == "custom" and raw is None:
        top.doc.fail("policy", "policy 'custom' needs 'rate' (requests per second)")
    if policy != "custom" and raw is not None:
        top.doc.fail(
            "rate", f"'rate' is set but policy is {policy!r}; set policy: custom to use it"
        )
    return None if raw is None else float(raw)


def within_ncbi_limit(top: Section, endpoint: str, rate: float | None, key_env: str) -> None:
    """A custom rate against NCBI itself may not exceed its limit (3/s, 10/s with a key):
    NCBI blocks an IP that does. A mirror or an emulator is named by its URL instead."""
    if endpoint != "ncbi" or rate is None:
        return
    keyed = bool(os.environ.get(key_env))
    limit = ncbi.RATE_WITH_KEY if keyed else ncbi.RATE_NO_KEY
    if rate > limit:
        why = "with" if keyed else f"without an API key in {key_env}; 10/s with"
        top.doc.fail(
            "rate",
            f"rate {rate:g}/s is above NCBI's limit of {limit:g}/s ({why} one); for a "
            "mirror or an emulator, set endpoint to its URL",
        )


def api_key_env(top: Section) -> str:
    """`api_key_env`: the name of a variable, never a key pasted in by mistake."""
    name = top.text("api_key_env", "NCBI_API_KEY") or ""
    if _API_KEY_SHAPE.fullmatch(name.lower()) or not _ENV_NAME.fullmatch(name):
        # Never echo the value: it may be the key itself.
        message = "api_key_env must be the NAME of an environment variable (like NCBI_API_KEY)"
        top.doc.fail("api_key_env", f"{message}, not the key")
    return name


def email(top: Section) -> str | None:
    """`email`, else NCBI_EMAIL from the environment."""
    given = top.text("email")
    value = given or os.environ.get("NCBI_EMAIL", "").strip() or None
    if value is not None and ("@" not in value or any(c.isspace() for c in value)):
        origin = "" if given else " (from NCBI_EMAIL)"
        top.doc.fail("email", f"email {value!r}{origin} does not look like an email address")
    return value


def tool(top: Section) -> str:
    """`tool`: one word, as NCBI asks."""
    value = top.text("tool", "harvester") or "harvester"
    if any(c.isspace() for c in value):
        top.doc.fail("tool", f"tool {value!r} must be one word (NCBI logs it)")
    return value
