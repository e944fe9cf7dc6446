"""Deliberate misbehaviour, each kind shaped like a failure NCBI is known to produce.

A plan gives each kind a rate (`500:0.02,cut:0.01`), optionally on one E-utility only
(`stall@efetch:0.1`), or one command of it (`503@elink/neighbor_history:1`), and for a while
only (`wrongroot@efetch:1:5-15`: from 5 s to 15 s after the emulator started;
`droplinks@elink:1:#2-3`: its second and third requests; `503@elink/neighbor_history:1:=1-2`:
the first two of the requests the rule names, whatever else arrives between them, so one kind
of request can be failed deterministically beside others sent at once), or all kinds one
combined rate (`mixed:0.05`, spread evenly over the kinds that can apply to the request).
One seeded RNG draws once per
admitted request, so a sequential run is reproducible. A mixed fault's kind is dealt from a
shuffled deck, so every kind that can apply strikes once before any strikes twice, whatever
order concurrent requests arrive in. Every fault is transient except `expire`,
which is explicitly permanent: the WebEnv is gone and the client must rebuild it.

Kinds (see NCBI_NOTES.md §5): `500` (HTML page, or JSON `{"error":"error forwarding request",…}`
as reported in rentrez#159/#162), `502`, `503`, `429` (refused although under the limit),
`empty` (HTTP 200, no body), `cut` (chunked body closed part-way), `stall` (answer after
`stall_seconds`, longer than a client's read timeout), `backend` (HTTP 200 with
`<ERROR>Search Backend failed: …</ERROR>`), `unable` (transient `Unable to obtain query #N` on a
valid WebEnv), `expire` (the WebEnv is dropped before the request is served), `short` (an efetch
page silently missing records from its middle and end), `closed` (a connection the client had
pooled is closed as its next request arrives, unanswered: NCBI drops idle and 40-times-used
connections, see connection.py; only requests on a reused connection can meet it).

Answers that are well-formed but not what was asked for, which a client must never read as
"no records" or "no links" (issue 25): `wrongroot` (HTTP 200, a document of another utility:
an `<eSearchResult>` from efetch), `errorroot` (HTTP 200, a bare `<ERROR>` document or another
utility's `<eSummaryResult><ERROR>`), `400` (HTTP 400 with the utility's `<ERROR>` envelope of
a relayed backend failure, as reported in cyanheads/pubmed-mcp-server#153/#155),
`droplinkset` (an elink answer without its first LinkSet) and `droplinks` (an elink answer
whose first LinkSet has no links: NCBI answers no links now and then for ids that have them,
rentrez#123).
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import orjson
from aiohttp import web

from harvester.emulator import render
from harvester.emulator.gate import refusal
from harvester.emulator.history import HistoryStore
from harvester.errors import ConfigError
from harvester.ncbi import ENDPOINTS, RESULT_ROOTS

KINDS = (
    "500", "502", "503", "429", "empty", "cut", "stall", "backend", "unable", "expire", "short",
    "closed", "wrongroot", "errorroot", "400", "droplinkset", "droplinks",
)  # fmt: skip
SOLO_KINDS = ("shortset", "nodates")
"""Kinds only asked for by name, never dealt by `mixed`: `shortset` (a neighbor_history elink
whose History sets lack their first id, though its answer is whole: a set that differs from the
per-id links, as NCBI's link sets can between requests, NCBI_NOTES §2) and `nodates` (an
esearch answered as if it had no `datetype`/`mindate`/`maxdate`/`reldate`: the date limits not
applied, which no capture shows NCBI doing for `#N`, and which a refresh must notice rather
than serve every held record as unchanged)."""
DATE_LIMITS = frozenset({"datetype", "mindate", "maxdate", "reldate"})
REWRITES = frozenset({"droplinkset", "droplinks"})
"""Kinds that change a real answer after it is rendered (the handler still runs)."""
AFTER_HANDLER = REWRITES | {"shortset"}
"""Kinds that act once the handler has run (on its answer, or on what it stored)."""
PROXY_FAILED = "proxy_stream(): Failed to connect to PubOne service"

JSON_KINDS = frozenset({"einfo", "esearch", "elink", "esummary"})
BACKEND_FAILED = "Search Backend failed: Couldn't resolve #exLinkSrv2, the address table is empty."
_PAGES = {
    500: "Error 500: Internal Server Error",
    502: "502 Bad Gateway",
    503: "503 Service Temporarily Unavailable",
}
_RECORD_START = re.compile(
    r"(?=<(?:DocumentSummary|Entrezgene|PubmedArticle|PubmedBookArticle|GBSeq|TSeq|Taxon)[\s>])"
)


@dataclass(frozen=True, slots=True)
class Window:
    """When a rate holds: from `start` to `end` seconds after the emulator started, or (`count`)
    from its `start`-th request to its `end`-th, both included; (`own`) counting only the
    requests its rule names."""

    start: float = 0.0
    end: float = float("inf")
    count: bool = False
    own: bool = False

    def holds(self, since: float, request: int) -> bool:
        if self.count:
            return self.start <= request <= self.end
        return self.start <= since < self.end


ALWAYS = Window()


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """Per-kind rates plus an optional combined rate over every kind; each rate holds within
    its window of seconds since the emulator started."""

    rates: tuple[tuple[str, float], ...] = ()
    mixed: float = 0.0
    windows: tuple[Window, ...] = ()
    """One per rate (absent: always)."""

    def __bool__(self) -> bool:
        return self.mixed > 0 or any(rate > 0 for _, rate in self.rates)

    def window(self, i: int) -> Window:
        return self.windows[i] if i < len(self.windows) else ALWAYS

    @classmethod
    def parse(cls, text: str) -> FaultPlan:
        """`mixed:0.05`, `500:0.02,cut:0.01`, `stall@efetch:0.1`, `expire@efetch:1:5-15`, or
        '' / 'none' for none."""
        text = text.strip()
        if text in ("", "none", "off"):
            return cls()
        rates: list[tuple[str, float]] = []
        windows: list[Window] = []
        mixed = 0.0
        for part in text.split(","):
            kind, sep, raw = part.strip().partition(":")
            raw, _, span = raw.partition(":")
            try:
                rate = float(raw) if sep else -1.0
            except ValueError:
                rate = -1.0
            if not 0 <= rate <= 1:
                raise ConfigError(f"fault '{part.strip()}': give KIND:RATE with 0 <= RATE <= 1")
            base, at, only = kind.partition("@")
            utility, slash, command = only.partition("/")
            if at and utility not in ENDPOINTS:
                raise ConfigError(f"fault '{part.strip()}': no E-utility {utility!r}")
            if slash and not command:
                raise ConfigError(f"fault '{part.strip()}': give the command, as elink/CMD")
            if kind == "mixed":
                mixed = rate
            elif base in KINDS or base in SOLO_KINDS:
                rates.append((kind, rate))
                windows.append(_window(span, part.strip()) if span else ALWAYS)
            else:
                known = ", ".join((*KINDS, *SOLO_KINDS))
                raise ConfigError(f"unknown fault '{kind}' (known: mixed, {known})")
        if mixed + sum(rate for _, rate in rates) > 1 and all(w == ALWAYS for w in windows):
            raise ConfigError(f"fault rates in '{text}' add up to more than 1")
        return cls(tuple(rates), mixed, tuple(windows))


def _window(span: str, part: str) -> Window:
    """`FROM-TO` seconds since the emulator started, `#FROM-TO` its requests by number, or
    `=FROM-TO` the requests the rule names, by number."""
    own = span.startswith("=")
    count = own or span.startswith("#")
    start, _, end = span.removeprefix("#").removeprefix("=").partition("-")
    try:
        window = Window(float(start), float(end), count, own)
    except ValueError:
        window = Window(1.0, 0.0)
    if not 0 <= window.start < window.end + count:
        raise ConfigError(
            f"fault '{part}': give the window as FROM-TO seconds, #FROM-TO requests or "
            "=FROM-TO requests the rule names, FROM < TO"
        )
    return window


def applies(kind: str, endpoint: str, webenv: bool, query_key: bool, reused: bool) -> bool:
    """Whether a kind can imitate anything on this request (`reused`: not the first request
    of its connection)."""
    if kind == "closed":
        return reused
    if kind == "short":
        return endpoint == "efetch"
    if kind in REWRITES or kind == "shortset":
        return endpoint == "elink"
    if kind == "nodates":
        return endpoint == "esearch"
    if kind == "unable":
        return webenv and query_key
    if kind == "expire":
        return webenv
    return True


class FaultInjector:
    """Picks at most one fault per request with a seeded RNG."""

    def __init__(self, plan: FaultPlan, seed: int = 0, started: float = 0.0) -> None:
        self.plan = plan
        self._rng = random.Random(f"faults-{seed}")
        self._deck: list[str] = []
        self.started = started
        """The clock's reading when the emulator started: windows count from here."""
        self.requests = 0
        self._named: Counter[tuple[int, str]] = Counter()
        """Per rule (its place and text: a plan swapped while serving starts them afresh),
        the requests it named so far (its utility, command and kind's reach)."""

    def choose(
        self,
        endpoint: str,
        webenv: bool,
        query_key: bool,
        *,
        reused: bool = False,
        now: float | None = None,
        cmd: str | None = None,
    ) -> str | None:
        """The fault for this request (`cmd`: its command, elink's), or None; draws nothing
        when the plan is empty."""
        if not self.plan:
            return None
        self.requests += 1
        rules = [planned for planned, _ in self.plan.rates]
        named = [
            self._names(planned, endpoint, cmd)
            and applies(planned.partition("@")[0], endpoint, webenv, query_key, reused)
            for planned in rules
        ]
        self._named.update(rule for rule, said in zip(enumerate(rules), named, strict=True) if said)
        u = self._rng.random()
        if self.plan.mixed:
            if u < self.plan.mixed:
                return self._deal(endpoint, webenv, query_key, reused)
            u -= self.plan.mixed
        since = 0.0 if now is None else now - self.started
        for i, (planned, rate) in enumerate(self.plan.rates):
            window = self.plan.window(i)
            own = self._named[i, planned]
            if named[i] and window.holds(since, own if window.own else self.requests):
                if u < rate:
                    return planned.partition("@")[0]
                u -= rate
        return None

    @staticmethod
    def _names(planned: str, endpoint: str, cmd: str | None) -> bool:
        """Whether a rule (`KIND`, `KIND@UTILITY` or `KIND@UTILITY/COMMAND`) names a request."""
        utility, _, command = planned.partition("@")[2].partition("/")
        return utility in ("", endpoint) and command in ("", cmd or "")

    def _deal(self, endpoint: str, webenv: bool, query_key: bool, reused: bool) -> str:
        """The first kind in the deck that applies here. When none does, the deck is topped up
        with the kinds it lacks, in seeded order; `500` applies to everything, so one top-up
        always finds a card."""
        for i, kind in enumerate(self._deck):
            if applies(kind, endpoint, webenv, query_key, reused):
                return self._deck.pop(i)
        lacking = [k for k in KINDS if k not in self._deck]
        self._rng.shuffle(lacking)
        self._deck += lacking
        return self._deal(endpoint, webenv, query_key, reused)

    def coin(self) -> bool:
        """A fair seeded coin, for faults with two forms (the HTML or JSON 500)."""
        return self._rng.random() < 0.5


def immediate(
    kind: str, endpoint: str, as_json: bool, query_key: str, who: str, keyed: bool, json_500: bool
) -> web.Response | None:
    """The whole response for faults that replace the handler, else None."""
    if kind == "500" and json_500:
        body = {"error": "error forwarding request", "api-key": who}
        body |= {"type": "api-key" if keyed else "ip", "status": "ok"}
        return web.Response(
            body=orjson.dumps(body),
            status=500,
            content_type=None,
            headers={"Content-Type": "application/json"},
        )
    if kind in ("500", "502", "503"):
        title = _PAGES[int(kind)]
        page = f"<!DOCTYPE html><html><head><title>{title}</title></head><body><h1>{title}</h1>"
        page += "</body></html>\n"
        return web.Response(status=int(kind), text=page, content_type="text/html")
    if kind == "429":
        return refusal(who, 1, 10 if keyed else 3, 1)
    if kind == "empty":
        return _in_band(b"", as_json)
    if kind in ("backend", "unable"):
        message = BACKEND_FAILED if kind == "backend" else f"Unable to obtain query #{query_key}"
        if as_json and endpoint in JSON_KINDS:
            return _in_band(render.json_error(endpoint, message), True)
        return _in_band(render.xml_error(RESULT_ROOTS[endpoint], message).encode(), False)
    if kind == "400":
        envelope = render.xml_error(RESULT_ROOTS[endpoint], PROXY_FAILED).encode()
        refused = _in_band(envelope, False)
        refused.set_status(400)
        return refused
    if kind == "wrongroot":
        other = "esummary" if endpoint == "esearch" else "esearch"
        return _in_band(_other_document(other).encode(), False)
    if kind == "errorroot":
        return _in_band(_error_document(endpoint, json_500).encode(), False)
    return None


def _other_document(endpoint: str) -> str:
    """A valid, empty answer of another utility."""
    root = RESULT_ROOTS[endpoint]
    if endpoint == "esearch":
        inner = "<Count>0</Count><RetMax>0</RetMax><RetStart>0</RetStart><IdList></IdList>"
        return f"{render.head(root)}<{root}>{inner}</{root}>\n"
    return f"{render.head(root)}<{root}></{root}>\n"


def _error_document(endpoint: str, bare: bool) -> str:
    """An error that is not the utility's own envelope: a bare `<ERROR>` document, or
    esummary's (esearch's, for esummary) `<ERROR>` sent in its place."""
    if bare:
        return '<?xml version="1.0" encoding="UTF-8" ?>\n<ERROR>Internal error</ERROR>\n'
    other = "esearch" if endpoint == "esummary" else "esummary"
    return render.xml_error(RESULT_ROOTS[other], "Internal error")


_WEBENV = re.compile(r"<WebEnv>([^<]+)</WebEnv>")
_QUERY_KEY = re.compile(r"<QueryKey>(\d+)</QueryKey>")
_LINKSET = re.compile(r"<LinkSet>.*?</LinkSet>\s*", re.S)
_LINKSETDB = re.compile(r"<LinkSetDb>.*?</LinkSetDb>\s*", re.S)


def rewrite_links(kind: str, body: bytes) -> bytes:
    """An elink answer without its first LinkSet (`droplinkset`), or with the first LinkSet's
    links gone (`droplinks`); JSON and other answers unchanged."""
    text = body.decode("utf-8", "replace")
    first = _LINKSET.search(text)
    if first is None:
        return body
    kept = "" if kind == "droplinkset" else _LINKSETDB.sub("", first.group(0))
    return (text[: first.start()] + kept + text[first.end() :]).encode()


def shorten_sets(history: HistoryStore, body: bytes) -> None:
    """`shortset`: the sets a neighbor_history answer names lose their first id."""
    text = body.decode("utf-8", "replace")
    webenv = _WEBENV.search(text)
    for key in _QUERY_KEY.findall(text):
        history.drop_first(webenv.group(1) if webenv else None, int(key))


def close_unanswered(request: web.Request) -> web.Response:
    """Close the connection without a byte of answer; the response returned is never sent."""
    if request.transport is not None:
        request.transport.close()
    return web.Response(status=499, text="")


def _in_band(body: bytes, as_json: bool) -> web.Response:
    content_type = "application/json" if as_json else "text/xml"
    return web.Response(
        body=body, content_type=None, headers={"Content-Type": f"{content_type}; charset=UTF-8"}
    )


async def cut_stream(
    request: web.Request, response: web.StreamResponse, chunks: Iterator[bytes]
) -> None:
    """Send the first chunk and half the next (or half of a lone chunk), then hang up."""
    parts = (chunk for chunk in chunks if chunk)
    first, second = next(parts, b""), next(parts, None)
    if second is None:
        await response.write(first[: len(first) // 2])
    else:
        await response.write(first)
        await response.write(second[: len(second) // 2])
    if request.transport is not None:
        request.transport.close()


async def cut_response(request: web.Request, response: web.Response) -> web.StreamResponse:
    """Re-send a finished response as a chunked body that breaks off half-way."""
    body = response.body if isinstance(response.body, bytes) else b""
    stream = web.StreamResponse(status=response.status, headers=response.headers)
    stream.enable_chunked_encoding()
    await stream.prepare(request)
    await cut_stream(request, stream, iter((body,)))
    return stream


def drop_records(chunks: Iterator[str]) -> Iterator[str]:
    """An efetch body missing the second record of every chunk and the page's last record."""
    held: str | None = None  # the latest chunk with records, held to drop its last record
    for chunk in chunks:
        pieces = _RECORD_START.split(chunk)
        if len(pieces) == 1:  # no records: the header or the footer
            if held is not None:
                yield _without_last(held)
                held = None
            yield chunk
            continue
        if held is not None:
            yield held
        if len(pieces) > 3:
            del pieces[2]
        held = "".join(pieces)
    if held is not None:
        yield _without_last(held)


def _without_last(chunk: str) -> str:
    pieces = _RECORD_START.split(chunk)
    return "".join(pieces[:-1]) if len(pieces) > 1 else chunk
