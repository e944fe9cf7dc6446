"""The aiohttp application: routes under /entrez/eutils/*.fcgi, NCBI's headers and error shapes.

Errors follow NCBI: in-band `<ERROR>` with HTTP 200 for bad parameters and unknown History
entries, HTTP 400 when no id can be read, and an HTML 500 page (never a traceback) otherwise.
"""

from __future__ import annotations

import asyncio
import collections
import datetime
import email.utils
import itertools
import logging
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

from aiohttp import web
from aiohttp.typedefs import Middleware

from harvester.emulator import connection, faults, gatekeeper, hostile, render
from harvester.emulator.clock import day_text
from harvester.emulator.datelimits import date_test
from harvester.emulator.fetch import RecordPage, efetch_body, esummary_body, records_text
from harvester.emulator.linklists import DB_LIST, DB_MENUS, LEGACY_DBS, einfo_links
from harvester.emulator.links import as_accessions, elink_body
from harvester.emulator.params import ParamError, Params, read_params
from harvester.emulator.renderpool import Entry, RenderPool
from harvester.emulator.search import Searcher, SearchSyntaxError
from harvester.emulator.sendpace import PACER_KEY, SendPacer
from harvester.emulator.state import EMPTY_IDS, NO_VALID_IDS, HistoryMissing, NoValidIds, State
from harvester.ncbi import (
    DEFAULT_ESEARCH_RETMAX,
    EUTILS_PATH,
    PUBMED_ESEARCH_CAP,
    RESULT_ROOTS,
    RETMAX_CAP,
)

log = logging.getLogger("harvester.emulator")
STATE_KEY = web.AppKey("state", State)
RENDER_KEY = web.AppKey("render", ThreadPoolExecutor)
POOL_KEY = web.AppKey("render_pool", RenderPool)

JSON_KINDS = ("einfo", "esearch", "elink", "esummary")
XML_TYPE, JSON_TYPE = "text/xml; charset=UTF-8", "application/json; charset=UTF-8"
ERROR_PAGE = (
    "<!DOCTYPE html><html><head><title>NCBI - WWW Error 500 Diagnostic</title></head>"
    "<body><h1>Error 500: Internal Server Error</h1><p>An error has occurred while "
    "processing your request.</p></body></html>\n"
)
Body = str | bytes


def _respond(body: Body, as_json: bool, status: int = 200) -> web.Response:
    data = body.encode() if isinstance(body, str) else body
    return web.Response(
        body=data,
        status=status,
        content_type=None,
        headers={"Content-Type": JSON_TYPE if as_json else XML_TYPE},
    )


def _error(endpoint: str, p: Params | None, message: str, status: int = 200) -> web.Response:
    as_json = p is not None and p.json and endpoint in JSON_KINDS
    if as_json:
        return _respond(render.json_error(endpoint, message), True, status)
    return _respond(render.xml_error(RESULT_ROOTS[endpoint], message), False, status)


def einfo(state: State, p: Params) -> Body:
    db = p.get("db")
    if not db:
        return render.einfo_dblist(DB_LIST, p.json)
    if db not in DB_LIST and db not in LEGACY_DBS:
        raise ParamError(f"Can not retrieve DbInfo for db={db}")
    db = state.check_db(db)
    menu_name, description = DB_MENUS.get(db, (db, db))
    fields = [
        ("ALL", "All Fields", "All terms from all searchable fields"),
        ("UID", "UID", "Unique number assigned to each record"),
        ("FILT", "Filter", "Limits the records"),
    ]
    links = [(ln.name, ln.menu, ln.description, ln.dbto) for ln in einfo_links(db)]
    info = render.DbInfo(
        db,
        menu_name,
        description,
        state.dataset.count(db),
        f"{day_text(state.dataset.clock.day)} 00:00" if state.dataset.dated else "2026/11/01 00:00",
        fields,
        links,
    )
    return render.einfo_db(info, p.json)


def esearch(state: State, p: Params) -> Body:
    db = state.check_db(p.get("db") or "pubmed")
    term = p.get("term") or ""
    webenv = p.get("webenv")
    within = state.from_history(p)
    if not term and within is None:
        raise ParamError("Empty term and query_key - nothing todo")

    def stored(key: int) -> set[int] | None:
        entry = state.history.get(webenv, key)
        return set(entry[1]) if entry is not None and entry[0] == db else None

    searcher = Searcher(state.catalog, db, stored)
    try:
        outcome = searcher.run(term or f"#{p.get('query_key')}", set(within[1]) if within else None)
    except LookupError as exc:
        raise HistoryMissing(int(exc.args[0])) from None
    dated = date_test(state.catalog, db, p)
    uids = sorted((u for u in outcome.uids if dated is None or dated(u)), reverse=True)
    retstart = p.int("retstart", 0)
    retmax = min(p.int("retmax", DEFAULT_ESEARCH_RETMAX), RETMAX_CAP)
    if db == "pubmed" and retstart + min(retmax, 1) > PUBMED_ESEARCH_CAP:
        raise ParamError(
            "Search Backend failed: Exception:\n'retstart' cannot be larger than "
            "9998. For PubMed, ESearch can only retrieve the first 9,999 records "
            "matching the query."
        )
    query_key = None
    if p.flag("usehistory"):
        webenv, query_key = state.history.add(webenv, db, uids)
    if (p.get("rettype") or "") == "count":
        retmax = 0
    shown = uids[retstart : retstart + retmax]
    result = render.SearchResult(
        len(uids),
        len(shown),
        retstart,
        as_accessions(state, p, db, shown),
        term,
        query_key,
        webenv if query_key else None,
        outcome.phrases_not_found,
        outcome.fields_not_found,
    )
    return render.esearch(result, p.json)


def epost(state: State, p: Params) -> Body:
    db = state.check_db(p.get("db"))
    uids, bad = state.ids_from(db, p.getall("id"))
    if not uids:
        raise (ParamError(EMPTY_IDS) if not bad else NoValidIds(NO_VALID_IDS))
    webenv, key = state.history.add(p.get("webenv"), db, uids)
    return render.epost(key, webenv, bad)


HANDLERS: dict[str, Callable[[State, Params], Body]] = {
    "einfo": einfo,
    "esearch": esearch,
    "epost": epost,
    "elink": elink_body,
    "esummary": esummary_body,
}


async def _prepared(
    request: web.Request, content_type: str, *, gzip: bool = True
) -> web.StreamResponse:
    """A streamed answer's head, chunked and (unless it is to be cut) gzipped as NCBI's."""
    response = web.StreamResponse(headers={"Content-Type": f"{content_type}; charset=UTF-8"})
    connection.shape(request, response, gzip=gzip)
    await response.prepare(request)
    connection.fast_gzip(response)
    return response


async def _send(response: web.StreamResponse, chunk: str, pacer: SendPacer | None) -> None:
    if chunk:
        data = chunk.encode()
        await response.write(data)
        if pacer is not None:  # the bytes' time, as the latency model sends them
            await pacer.wrote(len(data))
        # write() only yields when the socket buffer is full: yield anyway, so requests
        # arriving while a page renders are accepted (and stamped) on time.
        await asyncio.sleep(0)


async def _stream(
    request: web.Request, chunks: Iterator[str], content_type: str
) -> web.StreamResponse:
    fault = request.get(gatekeeper.FAULT_KEY)
    if fault == "short":
        chunks = faults.drop_records(chunks)
    # a cut gzip stream would hold back the part it does send: cut ones go uncompressed
    response = await _prepared(request, content_type, gzip=fault != "cut")
    if fault == "cut":
        await faults.cut_stream(request, response, (c.encode() for c in chunks))
        return response
    pacer = request.get(PACER_KEY)
    for chunk in chunks:
        await _send(response, chunk, pacer)
    await response.write_eof()
    return response


PACED_PIECE = 256 * 1024
"""Characters per streamed piece of a large rendered answer sent at the modelled bandwidth."""


async def _paced(request: web.Request, body: Body, pacer: SendPacer) -> web.StreamResponse:
    """A rendered answer sent at the modelled bandwidth: a small one whole once its time is
    up, a large one streamed in pieces, so its first byte is not held for the whole body."""
    as_json = isinstance(body, bytes)
    if len(body) <= PACED_PIECE:
        await pacer.wrote(len(body.encode() if isinstance(body, str) else body))
        return _respond(body, as_json)
    text = body.decode() if isinstance(body, bytes) else body
    pieces = (text[i : i + PACED_PIECE] for i in range(0, len(text), PACED_PIECE))
    return await _stream(request, pieces, "application/json" if as_json else "text/xml")


RENDER_AHEAD = 2
"""Record chunks a render worker may have ready before the previous one is sent."""


RenderSlice = Callable[[str, str, list[int]], Awaitable[str]]
"""Renders the records of some uids (format key, db, uids) somewhere off the event loop."""


def _slice_renderer(request: web.Request) -> RenderSlice:
    """The render pool's processes when there are any, else the render thread: either way a
    page of big records never holds the loop (which, in-process, may be a client's too)."""
    pool = request.app.get(POOL_KEY)
    if pool is not None:
        return pool.records
    executor = request.app[RENDER_KEY]
    catalog = request.app[STATE_KEY].catalog

    async def on_thread(fmt_key: str, db: str, uids: list[int]) -> str:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(executor, records_text, catalog, fmt_key, db, uids)

    return on_thread


async def _stream_pooled(
    request: web.Request, render: RenderSlice, page: RecordPage, content_type: str
) -> web.StreamResponse:
    """Stream a page whose record chunks render off the loop, a couple ahead of the socket."""
    ahead: collections.deque[asyncio.Future[str]] = collections.deque()
    slices = page.slices()
    pacer = request.get(PACER_KEY)
    try:
        for uids in itertools.islice(slices, RENDER_AHEAD):
            ahead.append(asyncio.ensure_future(render(page.fmt_key, page.db, uids)))
        response = await _prepared(request, content_type)
        await _send(response, page.head, pacer)
        while ahead:
            chunk = await ahead.popleft()
            for uids in itertools.islice(slices, 1):
                ahead.append(asyncio.ensure_future(render(page.fmt_key, page.db, uids)))
            await _send(response, chunk, pacer)
        await _send(response, page.tail, pacer)
        await response.write_eof()
        return response
    finally:
        for future in ahead:
            future.cancel()


async def _rendered_page(pool: RenderPool, page: RecordPage) -> list[str]:
    """A whole page rendered in the pool, for the fault and hostile writers that need chunks."""
    jobs = (pool.records(page.fmt_key, page.db, uids) for uids in page.slices())
    return [page.head, *await asyncio.gather(*jobs), page.tail]


MAX_FORM_FIELDS = 1_000_000
"""Clients post one `id=` field per id (Biopython, entrezpy): aiohttp's default of 1,000
fields would refuse a batch NCBI accepts."""
HEAVY_IDS = 20
"""Requests naming more ids than this (or a History set) are rendered off the event loop."""


async def _render(request: web.Request, endpoint: str, state: State, p: Params) -> Body:
    """Render small answers inline and large ones off the event loop: in the render pool's
    processes when there is one and the answer writes nothing to the History server, else on
    the render thread. Either way the loop keeps accepting (and the rate gate stamping)
    requests meanwhile, as NCBI's front end counts requests however busy its back end is."""
    if not _heavy(endpoint, p):
        return HANDLERS[endpoint](state, p)
    pool = request.app.get(POOL_KEY)
    if pool is not None and _history_free(endpoint, p):
        resolved, entry = _resolve(state, p)
        if resolved:
            return await pool.render(HANDLERS[endpoint], p, entry)
    executor = request.app[RENDER_KEY]
    return await asyncio.get_running_loop().run_in_executor(executor, HANDLERS[endpoint], state, p)


def _heavy(endpoint: str, p: Params) -> bool:
    return (
        endpoint == "esearch"
        or bool(p.get("webenv"))
        or sum(v.count(",") + 1 for v in p.getall("id")) > HEAVY_IDS
    )


def _history_free(endpoint: str, p: Params) -> bool:
    """Answers that only read the History server (esearch, epost and neighbor_history write)."""
    cmd = (p.get("cmd") or "neighbor").lower()
    return endpoint == "esummary" or (endpoint == "elink" and cmd != "neighbor_history")


def _resolve(state: State, p: Params) -> tuple[bool, Entry | None]:
    """(True, the History entry the request reads or None); (False, None) when resolving it
    fails, so the handler itself reports the error with NCBI's precedence."""
    if any(v.strip() for v in p.getall("id")):
        return True, None
    try:
        found = state.from_history(p)
    except (ParamError, HistoryMissing):
        return False, None
    if found is None:
        return True, None
    return True, (p.get("webenv") or "", int(p.get("query_key") or 0), found[0], found[1])


def make_handler(endpoint: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        state = request.app[STATE_KEY]
        p: Params | None = None
        try:
            p = await read_params(request)
            attack = hostile.parse(state.config.hostile)
            if endpoint == "efetch":
                records, content_type = efetch_body(state, p)
                hostile_body = hostile.applies(attack, endpoint, content_type != "text/xml")
                pool = request.app.get(POOL_KEY)
                if isinstance(records, RecordPage) and _heavy(endpoint, p):
                    if not hostile_body and request.get(gatekeeper.FAULT_KEY) is None:
                        render = _slice_renderer(request)
                        return await _stream_pooled(request, render, records, content_type)
                    if pool is not None:
                        records = await _rendered_page(pool, records)
                chunks = iter(records)
                first = next(chunks, "")  # surface errors before the status line is sent
                chunks = itertools.chain((first,), chunks)
                if hostile_body:
                    assert attack is not None
                    return await hostile.respond(request, attack, chunks, content_type)
                return await _stream(request, chunks, content_type)
            body = await _render(request, endpoint, state, p)
            if isinstance(body, str) and hostile.applies(attack, endpoint, p.json):
                assert attack is not None
                return await hostile.respond(request, attack, iter((body,)), "text/xml")
            pacer = request.get(PACER_KEY)
            if pacer is not None:
                return await _paced(request, body, pacer)
            return _respond(body, isinstance(body, bytes))
        except (ParamError, SearchSyntaxError) as exc:
            return _error(endpoint, p, str(exc))
        except HistoryMissing as exc:
            return _error(endpoint, p, str(exc))
        except NoValidIds as exc:
            return _error(endpoint, p, str(exc), status=400)

    return handle


@web.middleware
async def ncbi_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """An HTML 500 page like NCBI's instead of any traceback."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except ConnectionResetError:  # the client hung up mid-answer: not the emulator's fault
        log.info("client went away during %s", request.path)
        return web.Response(status=500, text=ERROR_PAGE, content_type="text/html")
    except Exception:
        log.exception("emulator error on %s", request.path)
        return web.Response(status=500, text=ERROR_PAGE, content_type="text/html")


async def ncbi_headers(request: web.Request, response: web.StreamResponse) -> None:
    """The headers every NCBI response carries (see the captured *.headers.json)."""
    headers = response.headers
    headers["Server"] = "Finatra"
    headers.setdefault("Cache-Control", "private")
    headers.setdefault("Access-Control-Allow-Origin", "*")
    headers.setdefault("Access-Control-Expose-Headers", "X-RateLimit-Limit,X-RateLimit-Remaining")
    dataset = request.app[STATE_KEY].dataset
    if dataset.dated:  # the serving day (at noon): a client dates the records it got by it
        day = datetime.date.fromordinal(dataset.clock.day)
        headers["Date"] = email.utils.format_datetime(
            datetime.datetime.combine(day, datetime.time(12), datetime.UTC), usegmt=True
        )


async def _stop_renderer(app: web.Application) -> None:
    app[RENDER_KEY].shutdown(wait=False, cancel_futures=True)
    pool = app.get(POOL_KEY)
    if pool is not None:
        pool.close()


async def _start_pool(app: web.Application) -> None:
    await app[POOL_KEY].start()


def build_app(state: State) -> web.Application:
    """The emulator as an aiohttp application (mount it, or run it with `server.Emulator`)."""
    keeper = state.gatekeeper
    connections = connection.Connections()
    middlewares: list[Middleware] = [connection.middleware(connections), ncbi_errors]
    if keeper is not None:
        middlewares.append(gatekeeper.middleware(keeper))
    app = web.Application(
        middlewares=middlewares,
        client_max_size=64 * 1024 * 1024,
        client_max_fields=MAX_FORM_FIELDS,
    )
    app[STATE_KEY] = state
    app[connection.CONNECTIONS_KEY] = connections
    app[RENDER_KEY] = ThreadPoolExecutor(max_workers=1, thread_name_prefix="emulator-render")
    if state.config.render_processes > 0:
        spec = state.dataset.spec
        app[POOL_KEY] = RenderPool(state.config.render_processes, state.config, spec)
        app.on_startup.append(_start_pool)
    app.on_cleanup.append(_stop_renderer)
    app.on_response_prepare.append(ncbi_headers)
    app.on_response_prepare.append(gatekeeper.rate_headers)
    app.on_response_prepare.append(connection.keep_alive)
    for endpoint in RESULT_ROOTS:
        handler = make_handler(endpoint)
        path = f"{EUTILS_PATH}{endpoint}.fcgi"
        app.router.add_route("GET", path, handler)
        app.router.add_route("POST", path, handler)
    return app
