"""The job store on its own: one run per job directory, how chunks' targets are claimed, and
the request floor derived from the index."""

from __future__ import annotations

import sqlite3

import pytest

from harvester.errors import StoreError
from harvester.workflow.store import Store
from harvester.workflow.views import StoreView


def test_a_second_run_on_the_same_job_directory_is_refused(tmp_path):
    first = Store(tmp_path / "job" / "state.sqlite")
    with pytest.raises(StoreError, match="in use by another harvester run"):
        Store(tmp_path / "job" / "state.sqlite")
    first.close()
    Store(tmp_path / "job" / "state.sqlite").close()  # free again once the first is closed


def test_targets_are_claimed_once_and_the_mode_says_how_to_post_them(tmp_path):
    store = Store(tmp_path / "state.sqlite")
    store.initialise("hash", [1, 2, 3, 4], batch=2)
    fresh = store.commit_links(
        0, {1: "linked", 2: "linked"}, [(1, 0, 0, 10, None), (2, 0, 0, 11, None)]
    )
    overlapping = store.commit_links(
        1, {3: "linked", 4: "no_links"}, [(3, 0, 0, 11, None), (3, 0, 1, 12, None)]
    )
    assert fresh == ("history", 2)
    assert overlapping == ("post", 1)
    assert store.chunk_targets(1) == [12]
    assert store.commit_links(1, {}, [(3, 0, 0, 10, None)]) == ("none", 0)
    store.close()


def test_floor_counts_one_elink_per_chunk_history_and_check_per_entry_and_full_pages(tmp_path):
    store = Store(tmp_path / "state.sqlite")
    store.initialise("hash", list(range(1, 5)), batch=2)
    store.commit_links(0, {}, [(1, 0, r, 100 + r, None) for r in range(7)])
    store.commit_links(1, {}, [(3, 0, r, 100 + r, None) for r in range(9)])
    # chunk 0: elink + history + check + 2 pages of 5; chunk 1: elink, and its two new targets
    # pooled: one epost (no check: its size is known) and one page
    assert StoreView(store).floor_requests(page_size=5) == 5 + 3
    store.close()


def test_reset_forgets_everything_under_the_same_lock(tmp_path):
    store = Store(tmp_path / "state.sqlite")
    store.initialise("hash", [1, 2], batch=2)
    store.reset()
    assert store.get_meta("config_hash") is None and StoreView(store).counts()["sources"] == 0
    store.close()


def test_a_store_used_as_a_context_manager_gives_the_job_directory_back_however_it_ends(
    tmp_path,
):
    path = tmp_path / "job" / "state.sqlite"
    with pytest.raises(RuntimeError, match="mid-run"), Store(path) as store:
        store.initialise("job", [1, 2], 10)
        raise RuntimeError("mid-run")
    with Store(path) as again:  # not "in use by another harvester run"
        assert [c.chunk for c in again.chunks()] == [0]


def test_a_store_made_before_targets_named_their_entry_gets_the_column_filled(tmp_path):
    """Resuming a job stored by an older harvester: each target is on its chunk's (link
    name's) latest entry not replaced, so it is not posted again; targets of chunks without
    an entry stay unposted."""
    path = tmp_path / "state.sqlite"
    store = Store(path)
    store.initialise("hash", [1, 2, 3], batch=1)
    store.commit_links(0, {}, [(1, 0, 0, 10, None), (1, 1, 0, 11, None)])
    store.commit_links(1, {}, [(2, 0, 0, 12, None)])
    store.commit_links(2, {}, [(3, 0, 0, 13, None)])
    store.close()
    with sqlite3.connect(path) as db:
        db.execute("DROP INDEX targets_by_entry")
        db.execute("ALTER TABLE targets DROP COLUMN entry")
        db.execute("ALTER TABLE entries DROP COLUMN page_size")  # older still
        rows = [(0, 0, "replaced"), (0, 0, "open"), (0, 1, "done"), (1, None, "open")]
        for entry, (chunk, link, state) in enumerate(rows, start=1):
            db.execute(
                "INSERT INTO entries VALUES(?, ?, ?, 'W', ?, 1, NULL, 0, ?)",
                (entry, chunk, link, str(entry), state),
            )
    store = Store(path)
    on = dict(store.db.execute("SELECT uid, entry FROM targets"))
    assert on == {10: 2, 11: 3, 12: 4, 13: None}
    store.close()


def test_a_new_store_has_16_kb_pages_and_an_old_one_keeps_its_own(tmp_path):
    """Kept blobs span fewer overflow pages in a new store; a store made with SQLite's default
    4 KB pages opens, resumes and grows with them."""
    new = Store(tmp_path / "new" / "state.sqlite")
    assert new.db.execute("PRAGMA page_size").fetchone()[0] == 16384
    new.close()
    old_path = tmp_path / "old" / "state.sqlite"
    old_path.parent.mkdir()
    with sqlite3.connect(old_path) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    old = Store(old_path)
    old.initialise("hash", [1, 2], batch=2)
    assert old.db.execute("PRAGMA page_size").fetchone()[0] == 4096
    assert old.get_meta("config_hash") == "hash"
    old.close()
