"""Checks of single job keys: their syntax, the protocol table (ncbi.py) and the environment.

Each takes the section holding the key and returns the validated value, or fails with the
key's `FILE:LINE`; `config.py` assembles the results into a `JobConfig`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

from harvester import ncbi
from harvester.errors import ConfigError
from harvester.eutils.pacing import Policy
from harvester.workflow.field_types import FieldType, parse_type
from harvester.workflow.fields import path_problem
from harvester.yamldoc import Section, show

__all__ = [
    "ALL_LINKS",
    "api_key_env",
    "database",
    "email",
    "embedded_dataset",
    "endpoint",
    "endpoint_url",
    "endpoint_value",
    "field_types",
    "fields",
    "linknames",
    "rate",
    "tool",
    "within_ncbi_limit",
]

ALL_LINKS = "all"
"""`linkname: all`: every link name NCBI's einfo lists from dbfrom to db."""
_DB_NAME = re.compile(r"[a-z][a-z0-9]*")
_LINK_NAME = re.compile(r"[a-z0-9]+(?:_[a-z0-9]+)+")
"""NCBI: "Every link in Entrez is given a name of the form dbfrom_db_subset"."""
MAX_RATE = 1e6
"""Requests per second: anything above is a typo (and `.inf`/`.nan` are not rates)."""
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_API_KEY_SHAPE = re.compile(r"[0-9a-f]{36}")


def database(top: Section, key: str) -> str:
    """`dbfrom` or `db`: a well-formed database name, NCBI's alias mapped to its own name
    (`nucleotide` is nuccore). Whether NCBI has it is asked of einfo later (workflow/names.py)."""
    name = top.text(key, required=True) or ""
    if not _DB_NAME.fullmatch(name):
        top.doc.fail(key, f"{key} {name!r} is not a database name (lower-case letters and digits)")
    return ncbi.canonical_db(name)


def linknames(top: Section, dbfrom: str, db: str) -> tuple[str, ...]:
    """`linkname`: one or several well-formed names from dbfrom (default dbfrom_db), or `all`
    (given as ()) for every link name NCBI lists from dbfrom to db. Existence is einfo's call."""
    raw = top.get("linkname")
    if raw is None:
        return (ncbi.default_link_name(dbfrom, db),)
    if raw == ALL_LINKS:
        return ()
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list | tuple) or not all(isinstance(x, str) for x in items):
        top.doc.fail(
            "linkname", f"'linkname' must be a string or a list of strings, got {show(raw)}"
        )
    if not items:
        top.doc.fail("linkname", "'linkname' is an empty list")
    for i, name in enumerate(items):
        path = "linkname" if isinstance(raw, str) else f"linkname[{i}]"
        if not _LINK_NAME.fullmatch(name):
            form = f"{dbfrom}_DB or {dbfrom}_DB_SUBSET"
            top.doc.fail(path, f"link name {name!r} is not of NCBI's form {form}")
        if not name.startswith(f"{dbfrom}_"):
            top.doc.fail(path, f"link name {name!r} does not start from {dbfrom} ({dbfrom}_...)")
        if name in items[:i]:
            top.doc.fail(path, f"link name {name!r} is listed twice")
    return tuple(items)


def fields(top: Section) -> tuple[tuple[str, str], ...]:
    """`fields`: name -> path pairs, in the file's order (the output's column order); a path
    is given alone (`NAME: PATH`) or with a type (`NAME: {path: PATH, type: int}`)."""
    return tuple((name, path) for name, path, _ in _field_entries(top))


def field_types(top: Section) -> tuple[tuple[str, FieldType], ...]:
    """The declared types of `fields` (`type:`), by name; an undeclared field is text."""
    return tuple((name, ftype) for name, _, ftype in _field_entries(top) if ftype is not None)


def _field_entries(top: Section) -> list[tuple[str, str, FieldType | None]]:
    raw = top.get("fields")
    if raw is None:
        return []
    if not isinstance(raw, Mapping):
        top.doc.fail("fields", f"'fields' must be a mapping of name: path, got {show(raw)}")
    entries = []
    for name, value in raw.items():
        where = f"fields.{name}"
        if not isinstance(name, str) or not name.strip():
            top.doc.fail("fields", f"a field name must be a non-empty string, got {show(name)}")
        path, ftype = value, None
        if isinstance(value, Mapping):
            path, ftype = value.get("path"), _field_type(top, where, value)
        if not isinstance(path, str) or not path.strip():
            top.doc.fail(
                where, f"'{where}' must be a path like 'GENES/GENE_E/NAME', got {show(path)}"
            )
        problem = path_problem(path.strip())
        if problem is not None:
            top.doc.fail(
                where,
                f"'{where}' {path.strip()!r} is not a path the harvester can follow "
                f"({problem}); write element names joined by '/'",
            )
        entries.append((name, path.strip(), ftype))
    return entries


def _field_type(top: Section, where: str, entry: Mapping[object, object]) -> FieldType | None:
    """`fields.NAME: {path: ..., type: ...}`: its type (None when not given)."""
    unknown = [str(k) for k in entry if k not in ("path", "type")]
    if unknown:
        top.doc.fail(
            f"{where}.{unknown[0]}",
            f"'{where}' takes 'path' and 'type', not {unknown[0]!r}",
        )
    raw = entry.get("type")
    if raw is None:
        return None
    try:
        return parse_type(raw)
    except ValueError as exc:
        top.doc.fail(f"{where}.type", f"'{where}.type' {show(raw)}: {exc}")


def endpoint(top: Section) -> str:
    """`endpoint`: ncbi, embedded (or embedded:DATASET), or an http(s) E-utilities base
    ending in a slash."""
    try:
        return endpoint_value(top.text("endpoint", "ncbi") or "ncbi")
    except ValueError as exc:
        top.doc.fail("endpoint", str(exc))


def embedded_dataset(endpoint: str) -> str | None:
    """The emulator dataset an endpoint value runs: '' for `embedded` (the default one), the
    name for `embedded:NAME`, None for ncbi or a URL. The one reading of an endpoint's kind."""
    kind, _, dataset = endpoint.partition(":")
    return dataset if kind == "embedded" else None


def endpoint_url(endpoint: str) -> str:
    """The base URL of an endpoint value that is not embedded: NCBI's for `ncbi`, else itself."""
    return ncbi.DEFAULT_BASE_URL if endpoint == "ncbi" else endpoint


def endpoint_shown(endpoint: str) -> str:
    """The endpoint as it may be written anywhere (logs, errors, einfo.json, the summary): a
    password in its URL replaced by ***."""
    try:
        url = urlsplit(endpoint)
        password = url.password
    except ValueError:
        return endpoint
    if not password:
        return endpoint
    user = url.username or ""
    host = url.netloc.rsplit("@", 1)[1]
    return urlunsplit(url._replace(netloc=f"{user}:***@{host}"))


def endpoint_value(value: str) -> str:
    """ncbi, embedded (or embedded:DATASET), or an http(s) E-utilities base (a slash added);
    ValueError says why not."""
    if value in ("ncbi", "embedded"):
        return value
    if (dataset := embedded_dataset(value)) is not None:
        from harvester.emulator.spec import load_spec  # only an embedded run loads the emulator

        try:
            load_spec(dataset)
        except ConfigError as exc:
            raise ValueError(f"endpoint {value!r}: {exc}") from None
        return value
    try:
        url = urlsplit(value)
        url.port  # noqa: B018  (parsed only when asked: a bad port or host raises here)
    except ValueError as exc:
        raise ValueError(f"endpoint {value!r} is not a valid URL ({exc})") from None
    if url.scheme not in ("http", "https") or not url.hostname:
        message = "must be 'ncbi', 'embedded', 'embedded:DATASET' or an http(s) URL"
        raise ValueError(f"endpoint {value!r} {message}")
    if url.path.endswith(".fcgi"):
        raise ValueError(f"endpoint {value!r} must be the E-utilities base (…/eutils/)")
    return value if value.endswith("/") else value + "/"


def rate(top: Section, policy: Policy) -> float | None:
    """`rate`: only with policy custom, and then required: a silently ignored rate misleads."""
    raw = top.get("rate")
    if raw is not None and (isinstance(raw, bool) or not isinstance(raw, int | float) or raw <= 0):
        top.doc.fail("rate", f"'rate' must be a positive number of requests/s, got {show(raw)}")
    if raw is not None and not raw <= MAX_RATE:  # also .nan and .inf
        top.doc.fail("rate", f"'rate' must be at most {MAX_RATE:g} requests/s, got {show(raw)}")
    if policy == Policy.CUSTOM and raw is None:
        top.doc.fail("policy", "policy 'custom' needs 'rate' (requests per second)")
    if policy != Policy.CUSTOM and raw is not None:
        top.doc.fail(
            "rate", f"'rate' is set but policy is '{policy}'; set policy: custom to use it"
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
