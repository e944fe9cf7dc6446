"""The record cache shared by jobs: whole records by (endpoint, db, format, uid) with their
version, offered while younger than max_age, bounded by evicting the least recently used, and
safe with two processes writing and reading one cache at once. Real SQLite, a mocked clock."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from processes import reaped

from harvester.cache_keys import default_cache_dir
from harvester.config import FetchSpec
from harvester.errors import StoreError
from harvester.ncbi import FetchVia
from harvester.workflow.record_cache import (
    CACHE_APPLICATION_ID,
    CACHE_NAME,
    CacheFormat,
    RecordCache,
    cache_source,
)
from harvester.workflow.record_version import RecordVersion
from harvester.workflow.store_mark import is_job_store

XML = CacheFormat.of(FetchSpec())
DAY = 86_400.0


class Clock:
    def __init__(self, now: float = 1_790_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def body(uid: int, rev: str = "a") -> bytes:
    pad = "<X>pad</X>" * 20
    return f'<DocumentSummary uid="{uid}"><REV>{rev}</REV>{pad}</DocumentSummary>'.encode()


def cache(folder: Path, clock: Clock, max_bytes: int = 10**9, source: str = "ncbi") -> RecordCache:
    return RecordCache(folder, source=source, max_bytes=max_bytes, max_age=7 * DAY, clock=clock)


def stored_sizes(folder: Path) -> tuple[int, int]:
    """(the total the cache keeps, the sum of its rows' sizes), read by another connection."""
    db = sqlite3.connect(folder / CACHE_NAME)
    try:
        (kept,) = db.execute("SELECT value FROM meta WHERE key='bytes'").fetchone()
        (summed,) = db.execute("SELECT coalesce(sum(size), 0) FROM records").fetchone()
    finally:
        db.close()
    return kept, summed


def test_records_come_back_whole_with_their_version_for_the_same_endpoint_db_and_format(
    tmp_path: Path,
):
    clock = Clock()
    with cache(tmp_path, clock) as kept:
        kept.put(
            "snp",
            XML,
            [(1, body(1), RecordVersion(modified="2024/11/02")), (2, body(2), RecordVersion())],
        )
        found = kept.lookup("snp", XML, [1, 2, 3])
        assert sorted(found) == [1, 2]
        assert found[1].body == body(1) and found[1].version == "2024/11/02"
        assert found[1].fetched == found[1].checked == clock.now
        summaries = CacheFormat.of(FetchSpec(via=FetchVia.ESUMMARY, version="2.0"))
        assert kept.lookup("snp", summaries, [1]) == {}  # another format is another record
        assert kept.lookup("gene", XML, [1]) == {}
    with cache(tmp_path, clock, source="http://127.0.0.1:8080/eutils/") as other:
        assert other.lookup("snp", XML, [1]) == {}  # another endpoint's records are not its own


def test_a_record_is_offered_only_while_younger_than_max_age_and_never_with_0(tmp_path: Path):
    clock = Clock()
    with cache(tmp_path, clock) as kept:
        kept.put("snp", XML, [(1, body(1), RecordVersion())])
        clock.now += 7 * DAY - 1
        (record,) = kept.lookup("snp", XML, [1]).values()
        assert kept.offered(record) and kept.holds("snp", XML, [5, 1])
        assert not kept.holds("snp", XML, [5]) and not kept.holds("gene", XML, [1])
        clock.now += 1
        assert not kept.offered(record) and not kept.holds("snp", XML, [1])
        kept.forget("snp", XML, [1])  # NCBI no longer has it: dropped
        assert kept.lookup("snp", XML, [1]) == {}
    assert stored_sizes(tmp_path) == (0, 0)
    never = RecordCache(tmp_path, source="ncbi", max_bytes=10**9, max_age=0, clock=clock)
    with never:
        never.put("snp", XML, [(1, body(1), RecordVersion())])
        (record,) = never.lookup("snp", XML, [1]).values()
        assert not never.offered(record) and not never.holds("snp", XML, [1])


def test_a_record_another_process_dated_ahead_of_our_clock_is_never_offered_with_0(
    tmp_path: Path,
):
    """Processes date records by their own server's clock: one running ahead writes a record
    fetched "in the future" for us. Its age counts as 0, never negative: under max_age 0 it is
    not offered, and under a positive max_age it is as young as can be, not younger."""
    ahead, ours = Clock(1_790_000_060.0), Clock()
    with cache(tmp_path, ahead) as other:
        other.put("snp", XML, [(1, body(1), RecordVersion())])
    never = RecordCache(tmp_path, source="ncbi", max_bytes=10**9, max_age=0, clock=ours)
    with never:
        (record,) = never.lookup("snp", XML, [1]).values()
        assert not never.offered(record) and not never.holds("snp", XML, [1])
    brief = RecordCache(tmp_path, source="ncbi", max_bytes=10**9, max_age=30, clock=ours)
    with brief:
        (record,) = brief.lookup("snp", XML, [1]).values()
        assert brief.offered(record) and brief.holds("snp", XML, [1])


def test_a_newer_fetch_replaces_the_record_and_the_size_stays_counted(tmp_path: Path):
    clock = Clock()
    with cache(tmp_path, clock) as kept:
        kept.put("snp", XML, [(1, body(1, "a"), RecordVersion(modified="2024/01/01"))])
        clock.now += 10
        kept.put("snp", XML, [(1, body(1, "bbbb" * 50), RecordVersion(modified="2025/01/01"))] * 2)
        (record,) = kept.lookup("snp", XML, [1]).values()
        assert record.body == body(1, "bbbb" * 50) and record.version == "2025/01/01"
        assert record.fetched == clock.now
        assert kept.total_bytes() == stored_sizes(tmp_path)[1] > 0


def test_the_least_recently_used_records_are_evicted_past_the_bound(tmp_path: Path):
    clock = Clock()
    with cache(tmp_path, clock) as probe:
        probe.put("snp", XML, [(0, body(0), RecordVersion())])
        one = probe.total_bytes()
    (tmp_path / CACHE_NAME).unlink()
    with cache(tmp_path / "bounded", clock, max_bytes=int(one * 3.5)) as kept:
        for uid in (1, 2, 3):
            clock.now += 1
            kept.put("snp", XML, [(uid, body(uid), RecordVersion())])
        clock.now += 1
        kept.lookup("snp", XML, [1])  # 1 used again: 2 is now the least recently used
        kept.flush()
        clock.now += 1
        kept.put("snp", XML, [(4, body(4), RecordVersion())])
        assert sorted(kept.lookup("snp", XML, [1, 2, 3, 4])) == [1, 3, 4]
        assert kept.total_bytes() <= one * 3.5
    assert stored_sizes(tmp_path / "bounded")[0] == stored_sizes(tmp_path / "bounded")[1]


def test_uses_are_written_in_batches_not_on_every_hit(tmp_path: Path):
    clock = Clock()
    with cache(tmp_path, clock) as kept:
        kept.put("snp", XML, [(1, body(1), RecordVersion())])
        put_at = clock.now
        clock.now += 100
        kept.lookup("snp", XML, [1])
        db = sqlite3.connect(tmp_path / CACHE_NAME)
        (used,) = db.execute("SELECT used FROM records").fetchone()
        assert used == put_at  # a hit alone writes nothing
    (used,) = db.execute("SELECT used FROM records").fetchone()
    db.close()
    assert used == put_at + 100  # written when the cache closed


def test_the_cache_is_marked_as_its_own_file_and_never_taken_for_a_job_store(tmp_path: Path):
    RecordCache(tmp_path, source="ncbi", max_bytes=1, max_age=0).close()
    db = sqlite3.connect(tmp_path / CACHE_NAME)
    (mark,) = db.execute("PRAGMA application_id").fetchone()
    (mode,) = db.execute("PRAGMA journal_mode").fetchone()
    db.close()
    assert mark == CACHE_APPLICATION_ID and mode == "wal"
    assert not is_job_store(tmp_path / CACHE_NAME)


def test_a_cache_file_that_is_not_one_fails_in_one_sentence(tmp_path: Path):
    (tmp_path / CACHE_NAME).write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(StoreError, match=r"the record cache .* is not a harvester record cache"):
        RecordCache(tmp_path, source="ncbi", max_bytes=1, max_age=0)


def test_no_user_password_or_api_key_of_an_endpoint_reaches_the_cache(tmp_path: Path):
    endpoint = "https://alice9:s3cret@mirror.example.org:8443/eutils/?api_key=0123abcd#x"
    source = cache_source(endpoint)
    assert source == "https://mirror.example.org:8443/eutils/"
    assert cache_source("ncbi") == "ncbi" and cache_source("embedded:large") == "embedded:large"
    assert cache_source("embedded:tiny@2026-10-15") == "embedded:tiny"  # one dataset, any day
    with cache(tmp_path, Clock(), source=source) as kept:
        kept.put("snp", XML, [(1, body(1), RecordVersion())])
    held = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert b"s3cret" not in held and b"0123abcd" not in held and b"alice9" not in held


def test_the_default_folder_is_under_the_users_cache_directory(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("XDG_CACHE_HOME", "/tmp/xdg")
    assert default_cache_dir() == Path("/tmp/xdg/harvester/records")
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_cache_dir() == Path.home() / ".cache" / "harvester" / "records"


WRITER = textwrap.dedent(
    """
    import os
    import sys
    from pathlib import Path
    from harvester.config import FetchSpec
    from harvester.workflow.record_cache import CacheFormat, RecordCache
    from harvester.workflow.record_version import RecordVersion

    folder, me, max_bytes = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    fmt = CacheFormat.of(FetchSpec())
    first = me * 500
    with RecordCache(folder, source="ncbi", max_bytes=max_bytes, max_age=1e9) as cache:
        for start in range(first, first + 1000, 50):
            page = range(start, start + 50)
            noise = [os.urandom(200).hex().encode() for _ in page]  # not compressible
            records = [(u, b"<r uid='%d'>%s</r>" % (u, n), RecordVersion())
                       for u, n in zip(page, noise)]
            cache.put("snp", fmt, records)
            for uid, record in cache.lookup("snp", fmt, list(range(0, 1500, 7))).items():
                assert record.body.startswith(b"<r uid='%d'>" % uid), (uid, record.body[:30])
    print("ok")
    """
)


@pytest.mark.parametrize("max_bytes", [10**9, 60_000], ids=["unbounded", "evicting"])
def test_two_processes_write_and_read_one_cache_at_once(tmp_path: Path, max_bytes: int):
    def writer(me: int) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-c", WRITER, str(tmp_path), str(me), str(max_bytes)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    with reaped(writer(0), writer(1)) as procs:
        outcomes = [proc.communicate(timeout=120) for proc in procs]
    assert [(p.returncode, out) for p, (out, _) in zip(procs, outcomes, strict=True)] == [
        (0, "ok\n"),
        (0, "ok\n"),
    ], [err for _, err in outcomes]
    kept, summed = stored_sizes(tmp_path)
    assert kept == summed  # every put and eviction of both counted exactly once
    with cache(tmp_path, Clock(), max_bytes=max_bytes) as shared:
        found = shared.lookup("snp", XML, list(range(1500)))
    assert all(r.body.startswith(b"<r uid='%d'>" % u) for u, r in found.items())
    if max_bytes == 10**9:
        assert sorted(found) == list(range(1500))  # the 500 both fetched kept once
    else:
        assert kept <= max_bytes and 0 < len(found) < 1500
