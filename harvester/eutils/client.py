"""EutilsClient: typed async E-utilities calls on one session, one gate, one retry policy.

    async with EutilsClient(ClientConfig.from_env(email="me@example.org")) as client:
        post = await client.epost("gene", ["3718"])
        (hist,) = await client.elink("gene", db="snp", cmd="neighbor_history",
                                     webenv=post.webenv, query_key=post.query_key)
        async for record in client.efetch("snp", webenv=hist.webenv,
                                          query_key=hist.histories[0].query_key, retmax=500):
            print(record.uid, record.findtext("CHRPOS"))

Every method sends `tool`, `email` and `api_key`; ids go by POST when there are many.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from types import TracebackType

from harvester.errors import ConfigError, ParseError
from harvester.eutils.pacing import Gate
from harvester.eutils.parse import Digest, Grouped
from harvester.eutils.results import (
    DbInfo,
    DbList,
    IdCheck,
    IdUrls,
    Item,
    LinkSet,
    LinkSetHistory,
    PostResult,
    Record,
    SearchResult,
)
from harvester.eutils.settings import ClientConfig
from harvester.eutils.transport import Transport
from harvester.ncbi import ELINK_COMMANDS, ESUMMARY_JSON_CAP, efetch_format, esummary_format
from harvester.stats import Stats

__all__ = ["ClientConfig", "ElinkItem", "EutilsClient", "index_by_id"]

ElinkItem = LinkSet | LinkSetHistory | IdCheck | IdUrls
_ELINK_TYPES = (LinkSet, LinkSetHistory, IdCheck, IdUrls)


def index_by_id(items: Iterable[ElinkItem]) -> dict[str, list[ElinkItem]]:
    """Elink answers keyed by input id (from IdList/Id, never by position)."""
    out: dict[str, list[ElinkItem]] = {}
    for item in items:
        keys = item.ids if isinstance(item, LinkSet | LinkSetHistory) else (item.id,)
        for key in keys:
            out.setdefault(key, []).append(item)
    return out


def _history(
    params: list[tuple[str, str]], webenv: str | None, query_key: str | int | None
) -> None:
    if webenv:
        params.append(("WebEnv", webenv))
    if query_key is not None:
        params.append(("query_key", str(query_key)))


def _page(params: list[tuple[str, str]], retstart: int | None, retmax: int | None) -> None:
    if retstart is not None:
        params.append(("retstart", str(retstart)))
    if retmax is not None:
        params.append(("retmax", str(retmax)))


class EutilsClient:
    """Typed E-utilities calls; use as `async with` (or call `close()`)."""

    def __init__(
        self,
        config: ClientConfig | None = None,
        *,
        gate: Gate | None = None,
        stats: Stats | None = None,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.config = config or ClientConfig.from_env()
        self.transport = Transport(self.config, gate=gate, stats=stats, rng=rng, sleep=sleep)
        self.stats = self.transport.stats
        self.gate = self.transport.gate
        self.concurrency = self.transport.concurrency

    async def __aenter__(self) -> EutilsClient:
        await self.transport.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the HTTP session."""
        await self.transport.close()

    def history_lost(self, webenv: str) -> None:
        """Say that NCBI no longer has `webenv`: reading its entries (attempts in flight
        included, at their next try) raises HistoryExpiredError at once instead of retrying."""
        self.transport.lost_webenvs.add(webenv)

    async def _one(
        self, endpoint: str, params: list[tuple[str, str]], n_ids: int, want: type
    ) -> object:
        found = None
        async for item in self.transport.stream(endpoint, params, n_ids=n_ids):
            if isinstance(item, want) and found is None:
                found = item
        if found is None:
            raise ParseError(f"{endpoint} answered without a {want.__name__}")
        return found

    async def epost(self, db: str, ids: Sequence[str], *, webenv: str | None = None) -> PostResult:
        """Store ids on the History server (appended to `webenv` when given)."""
        params = [("db", db), ("id", ",".join(ids))]
        _history(params, webenv, None)
        result = await self._one("epost", params, len(ids), PostResult)
        assert isinstance(result, PostResult)
        return result

    async def esearch(
        self,
        db: str,
        term: str,
        *,
        usehistory: bool = False,
        webenv: str | None = None,
        query_key: str | int | None = None,
        retstart: int | None = None,
        retmax: int | None = None,
        extra: Mapping[str, str] | None = None,
    ) -> SearchResult:
        """Search `db`; with `usehistory` the result set is stored (query_key/webenv)."""
        params = [("db", db), ("term", term)]
        if usehistory:
            params.append(("usehistory", "y"))
        _history(params, webenv, query_key)
        _page(params, retstart, retmax)
        params += list((extra or {}).items())
        result = await self._one("esearch", params, 0, SearchResult)
        assert isinstance(result, SearchResult)
        return result

    async def elink(
        self,
        dbfrom: str,
        ids: Sequence[str] = (),
        *,
        db: str | None = None,
        cmd: str = "neighbor",
        linkname: str | None = None,
        per_id: bool = True,
        webenv: str | None = None,
        query_key: str | int | None = None,
        term: str | None = None,
        retmode: str = "xml",
        extra: Mapping[str, str] | None = None,
    ) -> list[ElinkItem]:
        """Links of `ids` (one LinkSet per id with `per_id`, else one union) or of a history set."""
        if cmd not in ELINK_COMMANDS:
            raise ConfigError(f"unknown elink cmd {cmd!r}; use one of {', '.join(ELINK_COMMANDS)}")
        params = [("dbfrom", dbfrom), ("cmd", cmd)]
        if db:
            params.append(("db", db))
        if linkname:
            params.append(("linkname", linkname))
        if term:
            params.append(("term", term))
        if retmode != "xml":
            params.append(("retmode", retmode))
        if ids:
            params += [("id", i) for i in ids] if per_id else [("id", ",".join(ids))]
        _history(params, webenv, query_key)
        params += list((extra or {}).items())
        out: list[ElinkItem] = []
        async for item in self.transport.stream("elink", params, n_ids=len(ids)):
            if isinstance(item, _ELINK_TYPES):
                out.append(item)
        self.stats.incr("elink/linksets", len(out))
        return out

    def _records_params(
        self,
        db: str,
        ids: Sequence[str] | None,
        webenv: str | None,
        query_key: str | int | None,
        retstart: int | None,
        retmax: int | None,
    ) -> list[tuple[str, str]]:
        if not ids and not (webenv and query_key is not None):
            raise ConfigError("give ids, or webenv and query_key")
        params = [("db", db)]
        if ids:
            params.append(("id", ",".join(ids)))
        _history(params, webenv, query_key)
        _page(params, retstart, retmax)
        return params

    def efetch(
        self,
        db: str,
        *,
        ids: Sequence[str] | None = None,
        webenv: str | None = None,
        query_key: str | int | None = None,
        retstart: int | None = None,
        retmax: int | None = None,
        rettype: str | None = None,
        retmode: str | None = "xml",
        digest: Digest | None = None,
    ) -> Grouped[Record]:
        """Records of one page, parsed as they arrive (each valid until the next is pulled);
        with `digest`, parsed off the event loop and each passed through it first, and
        `groups` gives them a parse step at a time (`parse.Grouped`). A retmode that is not
        XML raises ConfigError at the call, before any request."""
        params = self._records_params(db, ids, webenv, query_key, retstart, retmax)
        params += [(k, v) for k, v in (("rettype", rettype), ("retmode", retmode)) if v]
        fmt = efetch_format(db, rettype, retmode)
        if fmt is None and retmode not in (None, "xml"):
            raise ConfigError(
                f"efetch {db} rettype={rettype} retmode={retmode} is not XML: use efetch_raw"
            )
        return _records(
            self.transport.stream(
                "efetch", params, n_ids=len(ids or ()), db=db, fmt=fmt, digest=digest
            )
        )

    async def efetch_raw(
        self,
        db: str,
        *,
        ids: Sequence[str] | None = None,
        webenv: str | None = None,
        query_key: str | int | None = None,
        retstart: int | None = None,
        retmax: int | None = None,
        rettype: str | None = None,
        retmode: str | None = None,
    ) -> bytes:
        """One efetch page as bytes, in any rettype/retmode (still checked and retried)."""
        params = self._records_params(db, ids, webenv, query_key, retstart, retmax)
        params += [(k, v) for k, v in (("rettype", rettype), ("retmode", retmode)) if v]
        return await self.transport.raw("efetch", params, n_ids=len(ids or ()))

    def esummary(
        self,
        db: str,
        *,
        ids: Sequence[str] | None = None,
        webenv: str | None = None,
        query_key: str | int | None = None,
        retstart: int | None = None,
        retmax: int | None = None,
        version: str | None = None,
        retmode: str = "xml",
        digest: Digest | None = None,
    ) -> Grouped[Record]:
        """Document summaries of one page (DocSum v1, DocumentSummary v2, or JSON); `digest`
        and `groups` as for `efetch`. JSON for more uids than NCBI serves raises ConfigError
        at the call."""
        if retmode == "json" and max(len(ids or ()), retmax or 0) > ESUMMARY_JSON_CAP:
            raise ConfigError(f"esummary JSON takes at most {ESUMMARY_JSON_CAP} uids per request")
        params = self._records_params(db, ids, webenv, query_key, retstart, retmax)
        if version:
            params.append(("version", version))
        if retmode != "xml":
            params.append(("retmode", retmode))
        fmt = esummary_format(db, version)
        return _records(
            self.transport.stream(
                "esummary", params, n_ids=len(ids or ()), db=db, fmt=fmt, digest=digest
            )
        )

    async def einfo(self) -> DbList:
        """The database names NCBI (or the emulator) serves."""
        result = await self._one("einfo", [], 0, DbList)
        assert isinstance(result, DbList)
        return result

    async def einfo_db(self, db: str) -> DbInfo:
        """One database's description and its link names (LinkList), in NCBI's order."""
        result = await self._one("einfo", [("db", db)], 0, DbInfo)
        assert isinstance(result, DbInfo)
        return result


def _records(items: Grouped[Item]) -> Grouped[Record]:
    """The records of an answer (a per-uid error's item is counted by the transport)."""
    return Grouped(_record_groups(items.groups))


async def _record_groups(groups: AsyncIterator[list[Item]]) -> AsyncIterator[list[Record]]:
    async for group in groups:
        records = [item for item in group if isinstance(item, Record)]
        del group
        if records:
            yield records
        del records  # gone with the consumer (budget.STREAM_BYTES)
