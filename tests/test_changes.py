"""A refresh's change log: links added and removed per source and link name, records updated,
read from a real job store's index and written as CHANGES.jsonl."""

from __future__ import annotations

from pathlib import Path

import orjson

from harvester.workflow.changes import (
    ChangeCounts,
    change_lines,
    changes_path,
    count_changes,
    store_index,
    write_changes,
)
from harvester.workflow.states import SourceStatus
from harvester.workflow.store import Store

BEFORE = {1: {"gene_snp": [11, 12]}, 2: {"gene_snp": [21], "gene_pubmed": [5]}}
AFTER = {1: {"gene_snp": [13, 12, 11]}, 2: {"gene_pubmed": [5]}, 3: {"gene_snp": [12]}}


def test_links_added_and_removed_are_told_per_source_and_link_name():
    lines = list(change_lines(BEFORE, AFTER, ()))
    assert lines == [
        {"source": 1, "link": "gene_snp", "change": "added", "target": 13},
        {"source": 2, "link": "gene_snp", "change": "removed", "target": 21},
        {"source": 3, "link": "gene_snp", "change": "added", "target": 12},
    ]


def test_reordered_links_are_no_change():
    after = {1: {"gene_snp": [12, 11]}, 2: {"gene_pubmed": [5], "gene_snp": [21]}}
    assert list(change_lines(BEFORE, after, ())) == []
    assert count_changes(BEFORE, after, ()) == ChangeCounts()


def test_only_targets_linked_before_and_after_count_as_updated():
    # 12 kept: updated; 13 is new (an addition, fetched anyway); 21 is gone; 99 never linked
    lines = list(change_lines(BEFORE, AFTER, [13, 21, 12, 99]))
    assert lines[-1:] == [{"target": 12, "change": "updated"}]
    assert count_changes(BEFORE, AFTER, [13, 21, 12, 99]) == ChangeCounts(
        added=2, removed=1, updated=1, sources=3
    )


def test_the_index_is_read_from_a_job_store_by_link_name(tmp_path: Path):
    with Store(tmp_path / "state.sqlite") as store:
        store.initialise("h", [1, 2], batch=10, linknames=("gene_snp", "gene_pubmed"))
        linked = {1: SourceStatus.LINKED, 2: SourceStatus.LINKED}
        edges = [(1, 0, 0, 12, None), (1, 0, 1, 11, None), (2, 1, 0, 5, None), (2, 0, 0, 21, None)]
        store.commit_links(0, linked, edges)
        index = store_index(store.db, store.linknames())
    assert index == {1: {"gene_snp": [12, 11]}, 2: {"gene_snp": [21], "gene_pubmed": [5]}}
    assert count_changes(index, BEFORE, ()) == ChangeCounts()


def test_the_change_log_is_jsonl_in_the_job_directory_and_the_same_when_written_again(
    tmp_path: Path,
):
    counts = write_changes(tmp_path, BEFORE, AFTER, [12])
    first = changes_path(tmp_path).read_bytes()
    assert [orjson.loads(line) for line in first.splitlines()] == list(
        change_lines(BEFORE, AFTER, [12])
    )
    assert counts == ChangeCounts(added=2, removed=1, updated=1, sources=3)
    write_changes(tmp_path, BEFORE, AFTER, [12])  # a refresh run again after a crash
    assert changes_path(tmp_path).read_bytes() == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["CHANGES.jsonl"]  # no temporary left
