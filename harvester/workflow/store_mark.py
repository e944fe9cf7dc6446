"""How a job store marks itself, and how to tell a folder that holds one: so no output is
ever written into any job's directory (over its store, say), only into places that hold none.

A store sets SQLite's `application_id` to `APPLICATION_ID` when it is made; one made before
that carried the mark is known by its own tables.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

__all__ = ["APPLICATION_ID", "STORE_NAME", "holds_job_store", "is_job_store"]

STORE_NAME = "state.sqlite"
APPLICATION_ID = 0x48525653
"""'HRVS': the SQLite header's application id of every job store."""
_OWN_TABLES = frozenset({"meta", "sources", "chunks", "targets"})
_SQLITE_MAGIC = b"SQLite format 3\x00"


def is_job_store(path: Path) -> bool:
    """Whether `path` is a harvester job store: marked by its application id, or (made before
    the mark) holding our tables. A SQLite file that cannot be read is taken for one: refusing
    a path costs the user another path, overwriting a store costs the job."""
    try:
        with path.open("rb") as file:
            if file.read(len(_SQLITE_MAGIC)) != _SQLITE_MAGIC:
                return False
    except OSError:
        return False
    try:
        db = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)
        try:
            (mark,) = db.execute("PRAGMA application_id").fetchone()
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
        finally:
            db.close()
    except sqlite3.Error:
        return True
    return bool(mark == APPLICATION_ID or (mark == 0 and tables >= _OWN_TABLES))


def holds_job_store(folder: Path) -> bool:
    """Whether `folder` is a job directory: it holds a harvester job store."""
    return is_job_store(folder / STORE_NAME)
