"""The record cache in use: fresh records served with no request, older ones served only after
NCBI's mdat answer says they did not change (one epost, one esearch), changed and unchecked
ones fetched again. NCBI is a canned local server (test_changed.Ncbi); the clock is mocked."""

from __future__ import annotations

import datetime
from pathlib import Path

from eutils_helpers import fast_client, fault_server
from test_changed import Ncbi
from test_record_cache import DAY, XML, Clock, body, cache

from harvester.workflow.cache_use import FromCache, from_cache
from harvester.workflow.record_cache import RecordCache
from harvester.workflow.record_version import RecordVersion


async def split(ncbi: Ncbi, kept: RecordCache, uids: list[int], mdat: bool = True) -> FromCache:
    async with fault_server(ncbi) as url, fast_client(url) as client:
        return await from_cache(kept, client, "snp", XML, uids, mdat=mdat)


def filled(tmp_path: Path, clock: Clock) -> RecordCache:
    kept = cache(tmp_path, clock)
    kept.put("snp", XML, [(u, body(u), RecordVersion()) for u in (1, 2, 3, 4)])
    return kept


async def test_fresh_records_are_served_without_a_request(tmp_path: Path):
    clock = Clock()
    ncbi = Ncbi([])
    with filled(tmp_path, clock) as kept:
        clock.now += DAY
        got = await split(ncbi, kept, [5, 4, 3, 2, 1])
    assert sorted(got.served) == [1, 2, 3, 4] and got.served[3].body == body(3)
    assert got.fetch == [5] and got.requests == 0 and ncbi.requests == []


async def test_older_records_are_served_only_once_ncbi_says_they_did_not_change(tmp_path: Path):
    clock = Clock()
    put_day = datetime.datetime.fromtimestamp(clock.now, datetime.UTC).strftime("%Y/%m/%d")
    ncbi = Ncbi([2])  # NCBI modified record 2 since it was fetched
    with filled(tmp_path, clock) as kept:
        clock.now += 8 * DAY  # past max_age (7 days)
        got = await split(ncbi, kept, [5, 4, 3, 2, 1])
        assert sorted(got.served) == [1, 3, 4] and got.fetch == [5, 2]
        assert got.changed == {2} and got.requests == 2
        (posted, searched) = (p for _, p in ncbi.requests)
        assert sorted(posted["id"].split(",")) == ["1", "2", "3", "4"]
        assert searched["mindate"] == put_day and searched["datetype"] == "mdat"
        assert kept.lookup("snp", XML, [2]) == {}  # changed: dropped until fetched again
        assert kept.is_fresh(kept.lookup("snp", XML, [1])[1])  # confirmed: fresh again
        again = await split(Ncbi([]), kept, [1, 3, 4])
    assert again.fetch == [] and again.requests == 0


async def test_without_mdat_older_records_are_fetched_again_not_served(tmp_path: Path):
    clock = Clock()
    ncbi = Ncbi([])
    with filled(tmp_path, clock) as kept:
        clock.now += 8 * DAY
        got = await split(ncbi, kept, [1, 2, 3, 4], mdat=False)
    assert got.served == {} and got.fetch == [1, 2, 3, 4] and got.unchecked == 4
    assert ncbi.requests == []
