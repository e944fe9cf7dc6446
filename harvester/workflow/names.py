"""A job's database and link names checked against the lists its endpoint serves (einfo).

`plan` and `run` ask einfo once for the LinkList of `dbfrom` (and for the database list when
that LinkList does not prove every name), keep the answers in the job directory (`einfo.json`,
per endpoint), and refuse a name not listed there with the endpoint's own list and a
did-you-mean. einfo is advice, elink is truth: a link name einfo does not list is asked of
elink (elink_probe.py) and refused only when elink refuses it too; the names elink answered
are kept in the same cache. No table of ours decides what exists: when einfo cannot be
reached the check is skipped with a warning, and the built-in table (ncbi.py) only says which
names it does not know, as a hint.
"""

from __future__ import annotations

import difflib
import json
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from harvester import ncbi
from harvester.config import JobConfig
from harvester.config_keys import endpoint_shown
from harvester.errors import (
    ConfigError,
    NcbiPermanentError,
    NcbiTransientError,
    ParseError,
    TransportError,
)
from harvester.eutils.client import EutilsClient
from harvester.eutils.results import DbLink
from harvester.workflow.elink_probe import Verdict, probe_id, probe_name

__all__ = [
    "CACHE_NAME",
    "EndpointNames",
    "ask_einfo",
    "check_names",
    "checked_names",
    "names_for",
    "offline_note",
]

CACHE_NAME = "einfo.json"


@dataclass(frozen=True, slots=True)
class EndpointNames:
    """What einfo said: the link names from one database, and every database name when they
    were asked for (None: dbfrom's LinkList alone proved the job's names, see `ask_einfo`)."""

    dbs: tuple[str, ...] | None
    dbfrom: str
    links: tuple[DbLink, ...]
    answered: tuple[DbLink, ...] = ()
    """Link names einfo does not list that elink answered links under (elink_probe.py)."""

    def known(self) -> tuple[DbLink, ...]:
        """Every link name from dbfrom einfo listed or elink answered, einfo's first."""
        return self.links + self.answered


async def ask_einfo(client: EutilsClient, job: JobConfig) -> EndpointNames:
    """dbfrom's LinkList, and the database list only when that LinkList does not prove the
    job's names: a LinkList answered proves dbfrom, a link name in it leading to db proves
    db. One request before a harvest instead of two; a refusal still gets NCBI's list."""
    try:
        info = await client.einfo_db(job.dbfrom)
    except NcbiPermanentError as e:  # "Can not retrieve DbInfo for db=...": not a database?
        refused: NcbiPermanentError | None = e
        links: tuple[DbLink, ...] = ()
    else:
        refused, links = None, info.links
        if _proved(job, links):
            return EndpointNames(None, job.dbfrom, links)
    listed = await client.einfo()
    if refused is not None and job.dbfrom in listed.dbs:
        raise refused  # a listed database without a LinkList: nothing to check the names by
    return EndpointNames(listed.dbs, job.dbfrom, links)


def _proved(job: JobConfig, links: Sequence[DbLink]) -> bool:
    """Whether `links` (dbfrom's LinkList) hold every link name of the job, each to db, or
    (`linkname: all`) any link name to db."""
    to_db = {link.name for link in links if link.dbto == job.db}
    return set(job.linknames) <= to_db if job.linknames else bool(to_db)


async def names_for(client: EutilsClient, job: JobConfig) -> EndpointNames | None:
    """The endpoint's names for `job`, asked of einfo now and kept in the job directory's
    cache; None when einfo cannot be reached or understood."""
    try:
        names = await ask_einfo(client, job)
    except (TransportError, NcbiTransientError, ParseError):
        return None
    _write_cache(job.job_dir / CACHE_NAME, endpoint_shown(job.endpoint), names)
    return names


async def checked_names(job: JobConfig, client: EutilsClient) -> tuple[JobConfig, tuple[str, ...]]:
    """The job with its names confirmed by the endpoint (`linkname: all` resolved), and
    warnings: einfo could not be reached and nothing was checked, or a name einfo does not
    list stays unproven. A name the cached answer lacks is asked of einfo again, then of
    elink, before it is refused: the endpoint may have it now, or einfo may leave it out."""
    cached = _read_cache(job.job_dir / CACHE_NAME, endpoint_shown(job.endpoint), job.dbfrom)
    found = cached or await names_for(client, job)
    if found is None:
        if not job.linknames:
            raise ConfigError(
                f"{job.at('linkname')}: 'linkname: all' needs the endpoint's einfo, which could "
                "not be reached; name the link names instead"
            )
        return job, (offline_note(job),)
    if cached is not None and _lacks(job, cached):
        fresh = await names_for(client, job)
        if fresh is None:  # the cache is stale and einfo cannot say: check nothing, warn
            return job, (offline_note(job),)
        found = replace(fresh, answered=cached.answered)
        if found.answered:  # what elink proved stays proved
            _write_cache(job.job_dir / CACHE_NAME, endpoint_shown(job.endpoint), found)
    found, unproven, refused, warnings = await _ask_elink(client, job, found)
    checked = check_names(job, replace(found, answered=found.answered + unproven), refused)
    return checked, warnings


async def _ask_elink(
    client: EutilsClient, job: JobConfig, names: EndpointNames
) -> tuple[EndpointNames, tuple[DbLink, ...], dict[str, str], tuple[str, ...]]:
    """Each job name einfo does not list, asked of elink (one request each): the names with
    those elink answered added (and cached), those it neither answered nor refused, what it
    said of those it refused, and the warnings."""
    known = {link.name for link in names.known()}
    unlisted = [name for name in job.linknames if name not in known]
    if not unlisted or not _dbs_listed(job, names):
        return names, (), {}, ()
    uid = await probe_id(client, job)
    answered: list[DbLink] = []
    unproven: list[DbLink] = []
    refused: dict[str, str] = {}
    warnings: list[str] = []
    for name in unlisted:
        if uid is None:
            unproven.append(DbLink(name, "", "", job.db))
            warnings.append(_unproven(name, job, "no source id to ask elink with"))
            continue
        probe = await probe_name(client, job, name, uid)
        if probe.verdict == Verdict.ANSWERED:
            answered.append(DbLink(name, "", "answered by elink, not listed by einfo", probe.dbto))
        elif probe.verdict == Verdict.REFUSED:
            refused[name] = probe.detail
        else:
            unproven.append(DbLink(name, "", "", job.db))
            why = (
                f"elink answered no {name} links for id {uid}"
                if probe.verdict == Verdict.SILENT
                else f"elink could not say ({probe.detail})"
            )
            warnings.append(_unproven(name, job, why))
    if answered:
        names = replace(names, answered=names.answered + tuple(answered))
        _write_cache(job.job_dir / CACHE_NAME, endpoint_shown(job.endpoint), names)
    return names, tuple(unproven), refused, tuple(warnings)


def _unproven(name: str, job: JobConfig, why: str) -> str:
    return (
        f"link name {name!r} is not in the endpoint's einfo list from {job.dbfrom} and {why}: "
        "it is kept unchecked"
    )


def _dbs_listed(job: JobConfig, names: EndpointNames) -> bool:
    return names.dbs is None or (job.dbfrom in names.dbs and job.db in names.dbs)


def _lacks(job: JobConfig, names: EndpointNames) -> bool:
    """Whether `names` lack a database or link name of the job (or, for `linkname: all`,
    any name to db): a cached answer that may be stale."""
    try:
        check_names(job, names)
    except ConfigError:
        return True
    return False


def check_names(
    job: JobConfig, names: EndpointNames, refused: Mapping[str, str] | None = None
) -> JobConfig:
    """The job with `linkname: all` resolved, once dbfrom, db and every link name are in the
    endpoint's lists (einfo's, or elink's answers) and each link name leads to db; else
    ConfigError naming the key's line, with what elink said of a name it `refused`."""
    for key in ("dbfrom", "db"):
        db = getattr(job, key)
        if names.dbs is not None and db not in names.dbs:
            raise ConfigError(
                f"{job.at(key)}: the endpoint's einfo lists no database {db!r}"
                f"{_did_you_mean(db, names.dbs)}; its databases: {', '.join(names.dbs)}"
            )
    known = names.known()
    to_db = [link.name for link in known if link.dbto == job.db]
    between = f"its link names from {job.dbfrom} to {job.db}: {', '.join(to_db) or 'none'}"
    if not job.linknames:
        if not to_db:
            raise ConfigError(f"{job.at('linkname')}: linkname all, but {between}")
        return replace(job, linknames=tuple(to_db), all_links=True)
    by_name = {link.name: link for link in known}
    for i, name in enumerate(job.linknames):
        where = _linkname_at(job, i)
        link = by_name.get(name)
        if link is None:
            said = (refused or {}).get(name)
            also = f", and its elink refused it too ({said})" if said else ""
            raise ConfigError(
                f"{where}: the endpoint's einfo lists no link name {name!r} from {job.dbfrom}"
                f"{_did_you_mean(name, _hints(job, known))}{also}; {between}"
            )
        if link.dbto != job.db:
            raise ConfigError(
                f"{where}: link name {name!r} links {job.dbfrom} to {link.dbto}, not to "
                f"{job.db}; {between}"
            )
    return job


def offline_note(job: JobConfig) -> str:
    """The warning when einfo could not be reached, with what the built-in table lacks."""
    unknown = [db for db in (job.dbfrom, job.db) if db not in ncbi.DATABASES]
    unknown += [name for name in job.linknames if name not in ncbi.LINK_NAMES]
    hint = f" (the built-in table does not know {', '.join(unknown)})" if unknown else ""
    return (
        f"einfo could not be reached at {endpoint_shown(job.endpoint)}: databases and link names "
        f"are not checked{hint}"
    )


def _linkname_at(job: JobConfig, i: int) -> str:
    lines = dict(job.key_lines)
    for key in (f"linkname[{i}]", "linkname", "db"):
        if key in lines:
            return lines[key]
    return job.at("linkname")


def _hints(job: JobConfig, known: Sequence[DbLink]) -> list[str]:
    """Names to suggest: the endpoint's, then the built-in table's from dbfrom (which holds
    the names NCBI's einfo leaves out, not yet asked of elink here)."""
    names = [link.name for link in known]
    return names + [n for n, ln in ncbi.LINK_NAMES.items() if ln.dbfrom == job.dbfrom]


def _did_you_mean(name: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _read_cache(path: Path, endpoint: str, dbfrom: str) -> EndpointNames | None:
    """The cached names, if they were asked of this endpoint for this dbfrom."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data["endpoint"] != endpoint or data["dbfrom"] != dbfrom:
            return None
        links = tuple(DbLink(*map(str, link)) for link in data["links"])
        dbs = None if data["dbs"] is None else tuple(map(str, data["dbs"]))
        answered = tuple(DbLink(*map(str, link)) for link in data.get("elink", []))
        return EndpointNames(dbs, dbfrom, links, answered)
    except (OSError, ValueError, KeyError, TypeError):
        return None  # absent or damaged: ask again


def _write_cache(path: Path, endpoint: str, names: EndpointNames) -> None:
    data = {
        "endpoint": endpoint,
        "dbfrom": names.dbfrom,
        "dbs": None if names.dbs is None else list(names.dbs),
        "links": [[ln.name, ln.menu, ln.description, ln.dbto] for ln in names.links],
        "elink": [[ln.name, ln.menu, ln.description, ln.dbto] for ln in names.answered],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}-{threading.get_ident()}")  # `plan` too
    tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
    tmp.replace(path)
