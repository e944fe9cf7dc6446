"""Which records of a stored set NCBI modified since a date: one esearch per set, in NCBI's
documented form, paged only when the answer is longer than a page.

NCBI is played by a small local server answering canned esearch XML (a double of NCBI,
not of our code); one test asks the real emulator and skips while it has no mdat dates."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import web
from eutils_helpers import fast_client, fault_server

from harvester.emulator.server import Emulator
from harvester.errors import NcbiError, ParseError
from harvester.workflow.changed import changed_since, unchanged_before

SINCE = datetime.date(2026, 11, 7)
XML = "text/xml"
ESEARCH_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" ?>\n'
    '<!DOCTYPE eSearchResult PUBLIC "-//NLM//DTD esearch 20060628//EN" '
    '"https://eutils.ncbi.nlm.nih.gov/eutils/dtd/20060628/esearch.dtd">\n'
)


def esearch_xml(count: int, ids: list[int], retstart: int = 0) -> bytes:
    listed = "".join(f"<Id>{i}</Id>\n" for i in ids)
    return (
        f"{ESEARCH_HEAD}<eSearchResult><Count>{count}</Count><RetMax>{len(ids)}</RetMax>"
        f"<RetStart>{retstart}</RetStart><QueryKey>9</QueryKey><WebEnv>MCID_changed</WebEnv>"
        f"<IdList>\n{listed}</IdList><TranslationSet/><QueryTranslation/></eSearchResult>\n"
    ).encode()


class Ncbi:
    """Answers esearch from `modified` (uid list, newest first, as NCBI sorts)."""

    def __init__(self, modified: list[int]) -> None:
        self.modified = modified
        self.requests: list[tuple[str, dict[str, str]]] = []

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        params = dict(request.query)
        if request.method == "POST":
            params.update({k: str(v) for k, v in (await request.post()).items()})
        endpoint = request.match_info["endpoint"]
        self.requests.append((endpoint, params))
        start, size = int(params.get("retstart", 0)), int(params.get("retmax", 20))
        page = self.modified[start : start + size]
        return web.Response(body=esearch_xml(len(self.modified), page, start), content_type=XML)


async def ask(ncbi: Ncbi, call: Callable[[Any], Any]) -> Any:
    async with fault_server(ncbi) as url, fast_client(url) as client:
        return await call(client)


async def test_one_esearch_in_ncbis_documented_form_finds_the_set_modified_since_a_date():
    ncbi = Ncbi([303, 202, 101])
    found = await ask(
        ncbi, lambda c: changed_since(c, "snp", SINCE, webenv="MCID_job", query_key="4")
    )
    assert found.uids == {101, 202, 303} and found.count == 3 and found.requests == 1
    assert (found.webenv, found.query_key) == ("MCID_changed", "9")
    ((endpoint, params),) = ncbi.requests
    assert endpoint == "esearch"
    asked = {k: params[k] for k in ("db", "term", "WebEnv", "usehistory", "retmax")}
    assert asked == {
        "db": "snp",
        "term": "#4",
        "WebEnv": "MCID_job",
        "usehistory": "y",  # NCBI reads no #N in term without it
        "retmax": "10000",
    }
    dates = {k: params[k] for k in ("datetype", "mindate", "maxdate")}
    assert dates == {"datetype": "mdat", "mindate": "2026/11/07", "maxdate": "3000"}
    assert "query_key" not in params  # the set is named in term, not ANDed with itself


async def test_the_unchanged_listing_asks_mdat_from_1800_to_the_day_both_inclusive():
    ncbi = Ncbi([303, 101])
    found = await ask(
        ncbi, lambda c: unchanged_before(c, "snp", SINCE, webenv="MCID_job", query_key="4")
    )
    assert found.uids == {101, 303} and found.requests == 1
    ((_, params),) = ncbi.requests
    asked = {k: params[k] for k in ("term", "WebEnv", "usehistory", "datetype")}
    assert asked == {"term": "#4", "WebEnv": "MCID_job", "usehistory": "y", "datetype": "mdat"}
    assert (params["mindate"], params["maxdate"]) == ("1800/01/01", "2026/11/07")


async def test_a_long_answer_is_paged_and_every_request_counted():
    ncbi = Ncbi(list(range(25_000, 0, -1)))
    found = await ask(
        ncbi, lambda c: changed_since(c, "gene", SINCE, webenv="MCID_job", query_key="1")
    )
    assert found.uids == set(range(1, 25_001)) and found.requests == 3 == len(ncbi.requests)
    assert [p.get("retstart") for _, p in ncbi.requests] == [None, "10000", "20000"]


async def test_pubmed_past_what_esearch_lists_is_left_as_a_set_to_fetch_not_truncated():
    ncbi = Ncbi(list(range(12_000, 0, -1)))
    found = await ask(
        ncbi, lambda c: changed_since(c, "pubmed", SINCE, webenv="MCID_job", query_key="1")
    )
    assert found.uids is None and found.count == 12_000 and found.requests == 1
    assert (found.webenv, found.query_key) == ("MCID_changed", "9")


async def test_nothing_modified_is_an_empty_answer_in_one_request():
    found = await ask(
        Ncbi([]), lambda c: changed_since(c, "snp", SINCE, webenv="MCID_job", query_key="2")
    )
    assert found.uids == frozenset() and found.requests == 1


async def test_an_answer_that_lists_fewer_than_it_counts_is_a_failure_not_a_short_set():
    class Short(Ncbi):
        async def __call__(self, request: web.Request) -> web.StreamResponse:
            self.requests.append(("esearch", dict(request.query)))
            start = int(request.query.get("retstart", 0))
            ids = self.modified[:10_000] if start == 0 else []
            return web.Response(body=esearch_xml(15_000, ids, start), content_type=XML)

    with pytest.raises(ParseError, match="counted 15000"):
        await ask(
            Short(list(range(15_000, 0, -1))),
            lambda c: changed_since(c, "snp", SINCE, webenv="MCID_job", query_key="1"),
        )


async def test_the_emulator_answers_which_of_a_set_changed(emulator: Emulator):
    async with fast_client(emulator.base_url) as client:
        try:
            posted = await client.epost("snp", ["3008", "11888", "867174"])
            found = await changed_since(
                client, "snp", SINCE, webenv=posted.webenv, query_key=posted.query_key
            )
        except NcbiError as exc:
            if "mdat" not in str(exc):
                raise
            pytest.skip(f"the emulator has no mdat dates yet: {exc}")
    assert found.uids is not None and found.uids <= {3008, 11888, 867174}
    assert found.requests == 1
