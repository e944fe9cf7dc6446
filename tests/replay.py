"""A replay server: E-utilities answered with real NCBI bytes where a capture holds the answer.

The emulator is our own guess at NCBI (issue #25); this server is not. efetch answers are the
captured bodies (the whole capture when its records are what is asked, else NCBI's bytes of the
records asked for), elink for a captured source is its capture, and every answer carries the
captured headers (chunked, gzip when the client accepts it, X-RateLimit-*). What no capture
covers (per-id elink of the other sources, neighbor_history and its History entries, esearch
`#N` counts, epost, einfo of one db) is answered in NCBI's documented shapes (NCBI_NOTES §2-§4),
pointing at the captured records. einfo keeps NCBI's real omission: pubmed's LinkList lacks
`pubmed_pubmed_citedin` (NCBI_NOTES §7).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType

from aiohttp import web
from aiohttp.web_response import ContentCoding
from multidict import MultiDict

from tests.replay_captures import Capture, RecordSet, cut_linksets

XML_HEAD = b'<?xml version="1.0" encoding="UTF-8" ?>\n'
ELINK_DOCTYPE = (
    b'<!DOCTYPE eLinkResult PUBLIC "-//NLM//DTD elink 20101123//EN" '
    b'"https://eutils.ncbi.nlm.nih.gov/eutils/dtd/20101123/elink.dtd">\n'
)
ESEARCH_DOCTYPE = (
    b'<!DOCTYPE eSearchResult PUBLIC "-//NLM//DTD esearch 20060628//EN" '
    b'"https://eutils.ncbi.nlm.nih.gov/eutils/dtd/20060628/esearch.dtd">\n'
)
EPOST_DOCTYPE = (
    b'<!DOCTYPE ePostResult PUBLIC "-//NLM//DTD epost 20090526//EN" '
    b'"https://eutils.ncbi.nlm.nih.gov/eutils/dtd/20090526/epost.dtd">'
)
EINFO_DOCTYPE = (
    b'<!DOCTYPE eInfoResult PUBLIC "-//NLM//DTD einfo 20190110//EN" '
    b'"https://eutils.ncbi.nlm.nih.gov/eutils/dtd/20190110/einfo.dtd">\n'
)
ALIASES = {"nucleotide": "nuccore"}


@dataclass(frozen=True, slots=True)
class ReplayData:
    """What the server knows: links by (dbfrom, linkname) and source, einfo's LinkLists, the
    captured records by db, the captured answers by name, and the captured elink answers."""

    links: Mapping[tuple[str, str], Mapping[int, list[int]]]
    link_lists: Mapping[str, list[tuple[str, str]]]
    """dbfrom -> [(link name, db to)], as einfo db=DBFROM lists them."""
    records: Mapping[str, RecordSet]
    captures: Mapping[str, Capture]
    """'einfo' (the DbList), 'esearch', 'elink' (headers of answers rendered here)."""
    elink_captures: Mapping[tuple[str, int], Capture] = field(default_factory=dict)


class ReplayServer:
    """aiohttp.web on 127.0.0.1:0 answering E-utilities from `ReplayData`; `requests` lists
    (endpoint, params) of every request, in arrival order."""

    def __init__(self, data: ReplayData) -> None:
        self.data = data
        self.requests: list[tuple[str, MultiDict[str]]] = []
        self.gzipped: list[str] = []
        """The endpoints of the answers sent gzip-encoded, in order."""
        self.history: dict[str, list[list[int]]] = {}
        self._webenvs = itertools.count(0x692851C130AEC64BED0A8C2A)
        app = web.Application()
        app.router.add_route("*", "/entrez/eutils/{endpoint}.fcgi", self._handle)
        self._runner = web.AppRunner(app)
        self.base_url = ""

    async def __aenter__(self) -> ReplayServer:
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}/entrez/eutils/"
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        params: MultiDict[str] = MultiDict(request.query)
        if request.method == "POST":
            params.extend(await request.post())  # type: ignore[arg-type]
        endpoint = request.match_info["endpoint"]
        self.requests.append((endpoint, params))
        answer = getattr(self, f"_{endpoint}", None)
        if answer is None:
            raise web.HTTPNotFound()
        capture, body = answer(params)
        if capture.gzip and "gzip" in request.headers.get("Accept-Encoding", ""):
            self.gzipped.append(endpoint)
        return await _send(request, capture, body)

    # -- einfo, esearch, epost ------------------------------------------------------------
    def _einfo(self, params: MultiDict[str]) -> tuple[Capture, bytes]:
        capture = self.data.captures["einfo"]
        db = params.get("db")
        if db is None:
            return capture, capture.body
        links = "".join(
            f"\t\t<Link>\n\t\t\t<Name>{name}</Name>\n\t\t\t<Menu>{name}</Menu>\n"
            f"\t\t\t<Description>{name}</Description>\n\t\t\t<DbTo>{dbto}</DbTo>\n\t\t</Link>\n"
            for name, dbto in self.data.link_lists.get(db, [])
        )
        body = (
            f"<eInfoResult>\n\t<DbInfo>\n\t<DbName>{db}</DbName>\n\t<MenuName>{db}</MenuName>\n"
            f"\t<Description>{db}</Description>\n\t<DbBuild>Build-2025.11.27</DbBuild>\n"
            f"\t<Count>1</Count>\n\t<LastUpdate>2025/11/27 00:00</LastUpdate>\n"
            f"\t<FieldList>\n\t</FieldList>\n\t<LinkList>\n{links}\t</LinkList>\n"
            "\t</DbInfo>\n</eInfoResult>\n"
        )
        return capture, XML_HEAD + EINFO_DOCTYPE + body.encode()

    def _esearch(self, params: MultiDict[str]) -> tuple[Capture, bytes]:
        term, webenv = params.get("term", ""), _webenv(params)
        assert term.startswith("#") and webenv in self.history, f"esearch {dict(params)}"
        count = len(self.history[webenv][int(term[1:]) - 1])
        body = (
            f"<eSearchResult><Count>{count}</Count><RetMax>0</RetMax><RetStart>0</RetStart>"
            "<IdList>\n</IdList><TranslationSet/><QueryTranslation/></eSearchResult>\n"
        )
        return self.data.captures["esearch"], XML_HEAD + ESEARCH_DOCTYPE + body.encode()

    def _epost(self, params: MultiDict[str]) -> tuple[Capture, bytes]:
        ids = [int(i) for i in params["id"].split(",")]
        webenv, key = self._store(_webenv(params), sorted(set(ids)))
        body = (
            f"<ePostResult>\n\t<QueryKey>{key}</QueryKey>\n\t<WebEnv>{webenv}</WebEnv>\n"
            "</ePostResult>\n"
        )
        return self.data.captures["esearch"], XML_HEAD + EPOST_DOCTYPE + body.encode()

    def _store(self, webenv: str | None, ids: list[int]) -> tuple[str, int]:
        """A new History entry (in `webenv` when given): its WebEnv and query key."""
        if webenv is None or webenv not in self.history:
            webenv = f"MCID_{next(self._webenvs):024x}"
            self.history[webenv] = []
        self.history[webenv].append(ids)
        return webenv, len(self.history[webenv])

    # -- elink ------------------------------------------------------------------------------
    def _elink(self, params: MultiDict[str]) -> tuple[Capture, bytes]:
        dbfrom = _db(params["dbfrom"])
        db, linkname = _db(params.get("db", dbfrom)), params.get("linkname")
        ids = [int(i) for value in params.getall("id") for i in value.split(",")]
        served = [name for (src, name) in self.data.links if src == dbfrom and _dbto(name) == db]
        names = [linkname] if linkname else served  # elink serves names einfo may not list
        cmd = params.get("cmd", "neighbor")
        if cmd == "neighbor_history":
            return self.data.captures["elink"], self._history(dbfrom, ids, names, _webenv(params))
        assert cmd == "neighbor", f"elink cmd {cmd}"
        assert len(ids) == len(params.getall("id")), "a comma-joined neighbor elink"
        if len(ids) == 1 and (dbfrom, ids[0]) in self.data.elink_captures:
            capture = self.data.elink_captures[(dbfrom, ids[0])]
            return capture, cut_linksets(capture.body, linkname) if linkname else capture.body
        sets = "".join(self._linkset(dbfrom, i, db, names) for i in ids)
        return self.data.captures["elink"], XML_HEAD + ELINK_DOCTYPE + _elink_root(sets)

    def _targets(self, dbfrom: str, name: str, source: int) -> list[int]:
        return list(self.data.links.get((dbfrom, name), {}).get(source, []))

    def _linkset(self, dbfrom: str, source: int, db: str, names: list[str]) -> str:
        dbs = ""
        for name in names:
            targets = self._targets(dbfrom, name, source)
            if targets:
                links = "".join(
                    f"\n\t\t\t<Link>\n\t\t\t\t<Id>{t}</Id>\n\t\t\t</Link>" for t in targets
                )
                dbs += (
                    f"\n\t\t<LinkSetDb>\n\t\t\t<DbTo>{db}</DbTo>\n"
                    f"\t\t\t<LinkName>{name}</LinkName>{links}\n\t\t</LinkSetDb>"
                )
        return (
            f"\n\t<LinkSet>\n\t\t<DbFrom>{dbfrom}</DbFrom>\n\t\t<IdList>\n\t\t\t<Id>{source}</Id>\n"
            f"\t\t</IdList>{dbs}\n\t</LinkSet>"
        )

    def _history(self, dbfrom: str, ids: list[int], names: list[str], webenv: str | None) -> bytes:
        """neighbor_history: one History entry per link name with links (NCBI_NOTES §2); the
        same WebEnv back when one was sent. The order inside an entry is not documented: it is
        ascending UID here, so a page of the captured SNPs is their capture whole."""
        entries = ""
        for name in names:
            targets = {t for source in ids for t in self._targets(dbfrom, name, source)}
            if targets:
                webenv, key = self._store(webenv, sorted(targets))
                entries += (
                    f"\n\t\t<LinkSetDbHistory>\n\t\t\t<DbTo>{_dbto(name)}</DbTo>\n"
                    f"\t\t\t<LinkName>{name}</LinkName>\n\t\t\t<QueryKey>{key}</QueryKey>\n"
                    "\t\t</LinkSetDbHistory>"
                )
        if webenv is None:
            webenv, _ = self._store(None, [])
        id_list = "".join(f"\n\t\t\t<Id>{i}</Id>" for i in ids)
        body = (
            f"\n\t<LinkSet>\n\t\t<DbFrom>{dbfrom}</DbFrom>\n\t\t<IdList>{id_list}\n\t\t</IdList>"
            f"{entries}\n\t\t<WebEnv>{webenv}</WebEnv>\n\t</LinkSet>"
        )
        return XML_HEAD + ELINK_DOCTYPE + _elink_root(body)

    # -- efetch -----------------------------------------------------------------------------
    def _efetch(self, params: MultiDict[str]) -> tuple[Capture, bytes]:
        records = self.data.records[_db(params["db"])]
        webenv = _webenv(params)
        if webenv is not None:
            stored = self.history[webenv][int(params["query_key"]) - 1]
            start = int(params.get("retstart", 0))
            ids = stored[start : start + int(params.get("retmax", len(stored)))]
        else:
            ids = [int(i) for i in params["id"].split(",")]
        return records.capture, records.answer(ids)


def _elink_root(sets: str) -> bytes:
    return f"<eLinkResult>\n{sets}\n</eLinkResult>\n".encode()


def _dbto(linkname: str) -> str:
    return linkname.split("_")[1]


def _db(name: str) -> str:
    return ALIASES.get(name, name)


def _webenv(params: MultiDict[str]) -> str | None:
    return params.get("WebEnv") or params.get("webenv")


async def _send(request: web.Request, capture: Capture, body: bytes) -> web.StreamResponse:
    """`body` with `capture`'s status and headers: chunked and gzip-encoded as it was, when the
    client accepts gzip."""
    response = web.StreamResponse(status=capture.status)
    for name, value in capture.headers:
        response.headers.add(name, value)
    if capture.chunked:
        response.enable_chunked_encoding()
    else:
        response.content_length = len(body)
    if capture.gzip and "gzip" in request.headers.get("Accept-Encoding", ""):
        response.enable_compression(ContentCoding.gzip)
    await response.prepare(request)
    await response.write(body)
    await response.write_eof()
    return response
