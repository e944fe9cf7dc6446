"""The work is split in one place (plan.py): the store's chunks, the engine's pages, the store's
request floor and `harvester plan`'s estimate count alike."""

from __future__ import annotations

from pathlib import Path

from harvester.cli import main
from harvester.config import load_job
from harvester.workflow.plan import (
    Floor,
    chunks,
    estimated_floor,
    floor_seconds,
    page_count,
    pages,
)
from harvester.workflow.states import Posting
from harvester.workflow.store import Store
from harvester.workflow.views import StoreView

JOBS = Path(__file__).parent.parent / "configs" / "jobs"


def test_pages_cover_an_entry_once_each_at_most_a_page_long() -> None:
    assert list(pages(0, 500)) == []
    assert list(pages(1000, 500)) == [(0, 500), (500, 500)]
    assert list(pages(1001, 500)) == [(0, 500), (500, 500), (1000, 1)]
    for size in range(0, 40):
        for page_size in (1, 3, 7, 50):
            split = list(pages(size, page_size))
            assert len(split) == page_count(size, page_size)
            assert sum(ids for _, ids in split) == size


def test_chunks_split_the_sources_in_elink_batches_as_the_store_keeps_them(tmp_path) -> None:
    assert list(chunks(0, 100)) == []
    assert list(chunks(5, 2)) == [(0, 0, 1), (1, 2, 3), (2, 4, 4)]
    store = Store(tmp_path / "state.sqlite")
    store.initialise("hash", list(range(1, 8)), batch=3)
    assert [(c.chunk, c.first, c.last) for c in store.chunks()] == list(chunks(7, 3))
    store.close()


def test_the_plan_estimate_and_the_store_floor_are_one_formula(tmp_path) -> None:
    """Each chunk linked with its targets new on one link name: the store's floor is what
    `harvester plan` estimates at the same links per source."""
    store = Store(tmp_path / "state.sqlite")
    store.initialise("hash", list(range(1, 8)), batch=3)
    for chunk, first, last in chunks(7, 3):
        sources = range(first + 1, last + 2)
        edges = [(s, 0, r, 1000 * s + r, None) for s in sources for r in range(4)]
        assert store.commit_links(chunk, {}, edges)[0] == Posting.HISTORY
    for page_size in (1, 3, 5, 500):
        floor = estimated_floor(7, 3, 4, page_size)
        assert StoreView(store).floor_requests(page_size) == floor.requests
    # chunks of 12, 12 and 4 targets, pages of 5: the first two fill pages, so each has a
    # neighbor_history entry (and its check); the last one's 4 are pooled: one epost, one page
    assert estimated_floor(7, 3, 4, 5) == Floor(elink=3, history=3, checks=2, pages=3 + 3 + 1)
    # 3, 3 and 1 targets: none fills a page, all are pooled into one epost and two full pages
    assert estimated_floor(7, 3, 1, 5) == Floor(elink=3, history=1, checks=0, pages=2)
    assert estimated_floor(7, 3, 0, 5).requests == 3  # before fetching: the elinks
    store.close()


def test_the_floor_in_seconds_counts_gate_periods_between_requests() -> None:
    assert floor_seconds(0, 3.0) == 0.0
    assert floor_seconds(1, 3.0) == 0.0  # the first request goes out at once
    assert floor_seconds(31, 10.0) == 3.0


def test_harvester_plan_prints_the_estimated_floor(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("NCBI_API_KEY", raising=False)  # 3/s: the rate without a key
    job = JOBS / "gene_nucleotide.yaml"
    out = str(tmp_path / "out.jsonl")
    assert main(["plan", str(job), "--output", out, "--links-per-source", "3"]) == 0
    loaded = load_job(job, {"output.path": out})
    floor = estimated_floor(5, loaded.elink_batch, 3, loaded.fetch.page_size)
    printed = capsys.readouterr().out
    assert f"about {floor.pages:,} " in printed
    assert f"floor          {floor.requests:,} requests / 3 per s = " in printed
    assert f"= {floor_seconds(floor.requests, 3.0):,.1f} s" in printed
