"""NCBI's connection behaviour: gzip when asked, chunked bodies, keep-alive limits, 414.

Captured NCBI answers carry `Keep-Alive: timeout=4, max=40`, `Transfer-Encoding: chunked` and
(when the client accepts it) `content-encoding: gzip` (ncbi-samples/*.headers.json). A client
that keeps a pooled connection longer than 4 idle seconds, or for more than 40 requests, finds
it closed; an over-long GET URL gets 414 (see docs/NCBI_BEHAVIOUR.md for the limit).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from weakref import WeakKeyDictionary

from aiohttp import web
from aiohttp.compression_utils import ZLibCompressor
from aiohttp.typedefs import Middleware
from aiohttp.web_response import ContentCoding

KEEPALIVE_TIMEOUT = 4.0
KEEPALIVE_MAX = 40
"""Requests one connection serves before the server closes it."""
MAX_URL_BYTES = 8190
"""The longest GET target (path and query) answered; longer ones get 414. NCBI documents no
figure: this is the common front-end default (Apache's LimitRequestLine, nginx's 8k buffers)."""
PARSER_LINE_LIMIT = 1 << 20
"""aiohttp's own request-line cap, raised so the 414 above is ours (aiohttp would answer 400)."""
REQUEST_NUMBER = web.RequestKey("harvester.request_number", int)
"""Which request of its connection this is (1 for a fresh connection)."""
URI_TOO_LONG = (
    "<!DOCTYPE html><html><head><title>414 Request-URI Too Large</title></head><body>"
    "<h1>414 Request-URI Too Large</h1></body></html>\n"
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Connections:
    """Counts requests per client connection (forgotten with the connection), and how many
    connections clients opened (whether they reuse them, as NCBI's limits expect)."""

    def __init__(self) -> None:
        self._served: WeakKeyDictionary[object, int] = WeakKeyDictionary()
        self.opened = 0

    def count(self, request: web.Request) -> int:
        """Record one more request on this request's connection; its number on it."""
        transport = request.transport
        if transport is None:
            return 1
        number = self._served.get(transport, 0) + 1
        self._served[transport] = number
        self.opened += number == 1
        return number


CONNECTIONS_KEY = web.AppKey("harvester.connections", Connections)


def middleware(connections: Connections) -> Middleware:
    """Number each request on its connection, refuse over-long GET URLs with 414, and shape
    the answers handlers return unsent (streamed answers call `shape` themselves)."""

    @web.middleware
    async def limits(request: web.Request, handler: Handler) -> web.StreamResponse:
        request[REQUEST_NUMBER] = connections.count(request)
        if request.method == "GET" and len(request.raw_path) > MAX_URL_BYTES:
            response: web.StreamResponse = web.Response(
                status=414, text=URI_TOO_LONG, content_type="text/html"
            )
        else:
            response = await handler(request)
        if not response.prepared:
            shape(request, response)
        return response

    return limits


def shape(request: web.Request, response: web.StreamResponse, *, gzip: bool = True) -> None:
    """Before an answer is sent: chunked (HTTP/1.1 only, as EDirect's curl --http1.0 gets none),
    and gzip when the client accepts it."""
    if request.version < (1, 1):
        return
    if not response.chunked and "Content-Length" not in response.headers:
        response.enable_chunked_encoding()
    if gzip and "gzip" in request.headers.get("Accept-Encoding", "").lower():
        response.enable_compression(ContentCoding.gzip)


GZIP_LEVEL = 1
"""zlib level of a streamed answer: any level is the same protocol to a client, and the default
(6) compressed 21 KB records at 36 MB/s against 145 MB/s at 1, most of the server's CPU in a
big harvest (benchmarks/WEIGHT.md); the rendering itself runs at ~230 MB/s."""


def fast_gzip(response: web.StreamResponse) -> None:
    """After `prepare`: a gzipped stream compresses at `GZIP_LEVEL` (aiohttp takes no level, so
    its writer's compressor, made in `prepare` and unused until the first body byte, is
    replaced; the one place that reaches into aiohttp's writer)."""
    writer = getattr(response, "_payload_writer", None)
    if writer is not None and getattr(writer, "_compress", None) is not None:
        writer._compress = ZLibCompressor(encoding="gzip", level=GZIP_LEVEL)


async def keep_alive(request: web.Request, response: web.StreamResponse) -> None:
    """`on_response_prepare`: NCBI's keep-alive limits; the 40th answer closes the connection."""
    number = request.get(REQUEST_NUMBER, 1)
    if number >= KEEPALIVE_MAX:
        response.force_close()
        response.headers["Connection"] = "close"
    else:
        left = KEEPALIVE_MAX - number + 1
        response.headers["Keep-Alive"] = f"timeout={KEEPALIVE_TIMEOUT:g}, max={left}"
