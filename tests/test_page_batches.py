"""A History page's records are committed in batches while its answer still streams, and the page
is done only once its answer is whole: a run SIGKILLed in the middle of a page, with some of that
page's records committed, resumes to the output of an uninterrupted run, asking that page again
and no done page."""

from __future__ import annotations

import contextlib
import signal
import sqlite3
import time
from collections import Counter
from pathlib import Path

import yaml

from harvester.emulator.requestlog import read_log
from harvester.workflow.states import TargetState
from harvester.workflow.store_mark import STORE_NAME
from tests.harvest_helpers import job_mapping
from tests.processes import reaped, served, start_run

GENES = [672, 3718, 7157, 653635, *range(1000000, 1000311)]
"""The tiny dataset's first genes with ~600 SNPs in all (ids without a gene are said so): pages
of 100 at ~21 KB a record are ~2 MB, ~1.4 s at the emulator's modelled 1.5 MB/s, and ~4
batches each (budget.BATCH_BYTES)."""
PAGE = 100
SERVE = ("--record-bytes", "21000", "--latency", "realistic", "--no-rate-limit")


def _job_file(tmp: Path, url: str) -> Path:
    mapping = job_mapping(
        tmp,
        GENES,
        endpoint=url,
        concurrency=1,
        fetch={"page_size": PAGE},
        job_dir=str(tmp / "job"),
    )
    path = tmp / "job.yaml"
    path.write_text(yaml.safe_dump(mapping))
    return path


def _counts(store: Path) -> tuple[int, int]:
    """(targets fetched, pages done), (0, 0) before the store has its tables."""
    if not store.exists():
        return 0, 0
    with contextlib.closing(sqlite3.connect(store, timeout=5)) as db:
        try:
            (fetched,) = db.execute(
                "SELECT count(*) FROM targets WHERE state=?", (TargetState.FETCHED,)
            ).fetchone()
            (done,) = db.execute("SELECT count(*) FROM pages").fetchone()
        except sqlite3.OperationalError:  # not made yet
            return 0, 0
    return int(fetched), int(done)


def _done_page_names(store: Path) -> set[str]:
    """The done pages as the request log names them: WebEnv#query_key@retstart."""
    with contextlib.closing(sqlite3.connect(store)) as db:
        rows = db.execute(
            "SELECT e.webenv, e.query_key, p.retstart FROM pages p JOIN entries e USING(entry)"
        )
        return {f"{webenv}#{key}@{retstart}" for webenv, key, retstart in rows}


def _asked(log: Path) -> Counter[str]:
    """How often each page was asked (an answer cut short by the kill is logged as a 500)."""
    return Counter(e.page for e in read_log(log) if e.endpoint == "efetch" and e.page)


def test_a_run_killed_in_the_middle_of_a_page_resumes_to_the_same_output(tmp_path: Path) -> None:
    log = tmp_path / "requests.jsonl"
    with served(*SERVE, "--request-log", str(log)) as url:
        killed = tmp_path / "killed"
        killed.mkdir()
        job_file = _job_file(killed, url)
        store = killed / "job" / STORE_NAME
        first = start_run(job_file)
        with reaped(first):
            # one page at a time: more records fetched than the done pages hold means a page
            # still streaming has committed some of its records
            while first.poll() is None and _counts(store)[0] <= PAGE * _counts(store)[1]:
                time.sleep(0.01)  # polling for progress, not timing anything
            assert first.poll() is None, "the run ended before it could be killed"
            first.send_signal(signal.SIGKILL)
            first.wait()
        fetched, done = _counts(store)
        assert fetched > PAGE * done, "no records of an unfinished page were committed"
        done_pages = _done_page_names(store)
        second = start_run(job_file)
        with reaped(second):
            _, err = second.communicate(timeout=120)
        assert second.returncode == 0, err
        asked = _asked(log)
        whole = tmp_path / "whole"
        whole.mkdir()
        reference = start_run(_job_file(whole, url))
        with reaped(reference):
            _, err = reference.communicate(timeout=120)
        assert reference.returncode == 0, err
    assert all(asked[page] == 1 for page in done_pages)  # no done page asked again
    asked_again = {page for page, times in asked.items() if times == 2}
    assert len(asked_again) == 1 and not asked_again & done_pages  # the page cut short
    assert max(asked.values()) == 2 and len(asked) > 2
    assert (killed / "out.jsonl").read_bytes() == (whole / "out.jsonl").read_bytes()
