"""A job store is known by its mark (or, made before the mark, by its tables); another SQLite
file or a text file named state.sqlite is not one."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from harvester.workflow.store import Store
from harvester.workflow.store_mark import APPLICATION_ID, holds_job_store, is_job_store


def test_a_store_is_marked_and_known(tmp_path: Path) -> None:
    Store(tmp_path / "state.sqlite").close()
    db = sqlite3.connect(tmp_path / "state.sqlite")
    assert db.execute("PRAGMA application_id").fetchone() == (APPLICATION_ID,)
    db.close()
    assert holds_job_store(tmp_path)


def test_a_store_made_before_the_mark_is_known_by_its_tables(tmp_path: Path) -> None:
    Store(tmp_path / "state.sqlite").close()
    db = sqlite3.connect(tmp_path / "state.sqlite")
    db.execute("PRAGMA application_id = 0")
    db.commit()
    db.close()
    assert is_job_store(tmp_path / "state.sqlite")


def test_other_files_named_like_a_store_are_not_stores(tmp_path: Path) -> None:
    other = sqlite3.connect(tmp_path / "state.sqlite")
    other.execute("CREATE TABLE notes(text TEXT)")
    other.commit()
    other.close()
    assert not holds_job_store(tmp_path)
    (tmp_path / "text").mkdir()
    (tmp_path / "text" / "state.sqlite").write_text("not a database\n")
    assert not holds_job_store(tmp_path / "text")
    assert not holds_job_store(tmp_path / "absent")
