"""A refresh's elink chunks (refresh_chunks.py) hold at most the db's listing cap (PubMed's,
set here for snp) of the previous run's targets, so each History set's one mdat listing fits a
page; elsewhere a set is listed in pages; `plan --refresh` counts the same chunks, sets and
listing pages the refresh makes. Against the emulator's clock (tiny dataset, a month apart),
with the cap lowered so 60 genes make chunks it bounds (the real cap is 9,000 targets)."""

from __future__ import annotations

import asyncio
import collections
import re
import sqlite3
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from harvester.cli import main
from harvester.emulator.config import EmulatorConfig
from harvester.emulator.requestlog import read_log
from harvester.workflow import changed, refresh_chunks, refresh_plan
from harvester.workflow.plan import capped_chunks
from harvester.workflow.runner import RunOptions, run_job
from harvester.workflow.store_mark import STORE_NAME
from tests.harvest_helpers import make_job, write_job_file
from tests.test_refresh import GENES, A, B

CAP = 100
"""The lowered cap: the 60 genes hold 670 targets as of A, one gene 104 of them."""
BATCH = 20
LISTING_PAGE = 40
"""esearch's ids per page, lowered so the tiny dataset's sets take pages."""


def test_capped_chunks_hold_at_most_a_batch_and_the_cap_and_a_heavy_source_alone() -> None:
    weights = [30, 30, 30, 150, 10, 10, 10, 10, 0, 0]
    assert list(capped_chunks(weights, 3, 100)) == [
        (0, 0, 2),  # 90: the next (150) would pass the cap
        (1, 3, 3),  # heavier than the cap alone
        (2, 4, 6),  # three: the batch
        (3, 7, 9),
    ]
    assert list(capped_chunks([], 3, 100)) == []
    assert list(capped_chunks([0] * 7, 3, 100)) == [(0, 0, 2), (1, 3, 5), (2, 6, 6)]


def _weights(store: Path) -> dict[int, int]:
    """Per source, the targets of its largest link name in a finished store."""
    with sqlite3.connect(store) as db:
        rows = db.execute("SELECT source, link, count(*) FROM edges GROUP BY source, link")
        weights: dict[int, int] = collections.defaultdict(int)
        for source, _, count in rows:
            weights[source] = max(weights[source], count)
    return weights


def _chunks(store: Path) -> list[list[int]]:
    """Each chunk's source uids, in order."""
    with sqlite3.connect(store) as db:
        bounds = db.execute("SELECT first, last FROM chunks ORDER BY chunk").fetchall()
        return [
            [
                uid
                for (uid,) in db.execute(
                    "SELECT uid FROM sources WHERE position BETWEEN ? AND ? ORDER BY position",
                    (first, last),
                )
            ]
            for first, last in bounds
        ]


def _entries(store: Path) -> tuple[int, int]:
    """(neighbor_history sets, eposts) a finished store made."""
    with sqlite3.connect(store) as db:
        linked = db.execute("SELECT count(*) FROM entries WHERE link IS NOT NULL").fetchone()[0]
        posted = db.execute("SELECT count(*) FROM entries WHERE link IS NULL").fetchone()[0]
    return int(linked), int(posted)


def _run(job_dir: Path, day: str, page: int, **options: object) -> dict[str, object]:
    job = make_job(job_dir, GENES, fetch={"page_size": page}, elink_batch=BATCH)
    dated = replace(job, endpoint=f"embedded:tiny@{day}")
    return asyncio.run(run_job(dated, RunOptions(quiet=True, **options)))  # type: ignore[arg-type]


@pytest.mark.parametrize("page", [50, 150])  # sets of their own; every target pooled
def test_a_refresh_chunks_its_sources_by_the_previous_targets_and_plan_counts_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], page: int
) -> None:
    monkeypatch.setitem(refresh_chunks.LISTING_CAPS, "snp", CAP)
    job_file = write_job_file(
        tmp_path,
        GENES,
        fetch={"page_size": page},
        elink_batch=BATCH,
        endpoint=f"embedded:tiny@{A}",
    )
    _run(tmp_path, A, page)
    store = next(tmp_path.rglob(STORE_NAME))
    weights = _weights(store)
    assert len(_chunks(store)) == 3  # a normal run: elink_batch sources each
    capsys.readouterr()
    assert main(["plan", str(job_file), "--refresh"]) == 0
    said = capsys.readouterr().out
    planned = _planned(said)

    log = tmp_path / "refresh.log"
    summary = _run(tmp_path, B, page, refresh=True, emulator=EmulatorConfig(request_log=log))
    chunks = _chunks(store)
    assert len(chunks) > 3
    for sources in chunks:
        assert len(sources) <= BATCH
        assert len(sources) == 1 or sum(weights.get(s, 0) for s in sources) <= CAP
    linked, posted = _entries(store)
    asked = Counter(entry.endpoint for entry in read_log(log))
    assert planned["chunks"] == len(chunks)
    assert planned["neighbor_history"] == linked  # the links of A make the sets of B's
    assert asked["esearch"] == linked + posted + 1  # one question per set, none paged; a probe
    assert planned["sets"] == linked + min(posted, 1) + 1  # and the date-limit probe
    refreshed = summary["refresh"]
    assert isinstance(refreshed, dict) and refreshed["mdat_requests"] == refreshed["mdat_queries"]

    (tmp_path / "fresh").mkdir()
    _run(tmp_path / "fresh", B, page)
    fresh = next((tmp_path / "fresh").rglob("out.jsonl"))
    assert next(tmp_path.glob("out.jsonl")).read_bytes() == fresh.read_bytes()


def test_without_a_cap_a_set_is_listed_in_pages_and_plan_counts_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """snp has no listing cap: the chunks are elink_batch sources each, and a set past
    esearch's page (lowered to 40 ids here) takes more than one listing request, as planned."""
    monkeypatch.setattr(changed, "RETMAX_CAP", LISTING_PAGE)
    monkeypatch.setattr(refresh_plan, "RETMAX_CAP", LISTING_PAGE)
    job_file = write_job_file(
        tmp_path, GENES, fetch={"page_size": 50}, elink_batch=BATCH, endpoint=f"embedded:tiny@{A}"
    )
    _run(tmp_path, A, 50)
    capsys.readouterr()
    assert main(["plan", str(job_file), "--refresh"]) == 0
    planned = _planned(capsys.readouterr().out)

    log = tmp_path / "refresh.log"
    _run(tmp_path, B, 50, refresh=True, emulator=EmulatorConfig(request_log=log))
    store = next(tmp_path.rglob(STORE_NAME))
    assert len(_chunks(store)) == 3  # uncapped: elink_batch sources each
    linked, posted = _entries(store)
    asked = Counter(entry.endpoint for entry in read_log(log))
    assert planned["chunks"] == 3 and planned["neighbor_history"] == linked
    # some set took pages; a set's unchanged members are listed, so at most as many as planned
    assert linked + posted + 1 < asked["esearch"] <= planned["sets"]

    (tmp_path / "fresh").mkdir()
    _run(tmp_path / "fresh", B, 50)
    fresh = next((tmp_path / "fresh").rglob("out.jsonl"))
    assert next(tmp_path.glob("out.jsonl")).read_bytes() == fresh.read_bytes()


def _planned(said: str) -> dict[str, int]:
    """The counts `plan --refresh` printed: chunks, neighbor_history requests, sets asked."""

    def number(pattern: str) -> int:
        found = re.search(pattern, said)
        assert found, f"{pattern!r} not in {said!r}"
        return int(found.group(1).replace(",", ""))

    return {
        "chunks": number(r"elink +([\d,]+) per-id elinks"),
        "neighbor_history": number(r"([\d,]+) neighbor_history and"),
        "sets": number(r"mdat +([\d,]+) esearch at most, one per History set"),
    }
