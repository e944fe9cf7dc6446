"""Complete, or it says so: answers that are well-formed but not what was asked for (another
utility's root, a bare ERROR, an HTTP 400 envelope, a dropped LinkSet, a WebEnv forgotten) are
failed attempts, never "no records" or "no links". Held for a while, the run still ends with
the clean output; held for good, it stops (not exit 0) with nothing written missing or unknown,
and a rerun once the fault is gone gives the clean output."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import orjson
import pytest
from harvest_helpers import TINY, make_job

from harvester.emulator.config import EmulatorConfig
from harvester.errors import HarvesterError
from harvester.workflow.runner import STORE_NAME, RunOptions, run_job

pytestmark = pytest.mark.usefixtures("quick_retries")

GENES = [3718, 7157, 672] + [TINY.maps["gene"].uid(i) for i in range(TINY.spec.genes)]
JOB: dict[str, Any] = {"fetch": {"page_size": 20}, "elink_batch": 10, "rate": 300}


def _run(tmp: Path, faults: str = "", log: Path | None = None, seed: int = 3) -> dict[str, Any]:
    job = make_job(tmp, GENES, **JOB)
    emulator = EmulatorConfig(faults=faults, seed=seed, request_log=log)
    return asyncio.run(run_job(job, RunOptions(quiet=True, emulator=emulator)))


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, int]:
    """The job's output without faults, and how many requests it took."""
    tmp = tmp_path_factory.mktemp("clean")
    log = tmp / "requests.jsonl"
    _run(tmp, log=log)
    return (tmp / "out.jsonl").read_bytes(), len(_requests(log))


def _missing_in(output: bytes) -> set[int]:
    """The targets an output says NCBI has no record for."""
    rows = [orjson.loads(line) for line in output.splitlines()]
    return {int(link["id"]) for row in rows for link in row["links"] if link.get("missing")}


def _requests(log: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in log.read_bytes().splitlines()]


def _written_missing(tmp: Path) -> set[int]:
    """The targets the job store has marked missing at NCBI."""
    with sqlite3.connect(tmp / "out.jsonl.harvest" / STORE_NAME) as db:
        return {uid for (uid,) in db.execute("SELECT uid FROM targets WHERE state = 2")}


@pytest.mark.parametrize(
    "faults",
    [
        "wrongroot@efetch:1",
        "errorroot@efetch:1",
        "400@efetch:1",
        "wrongroot@elink:1",
        "errorroot@elink:1",
        "wrongroot@esearch:1",
    ],
)
def test_an_answer_of_the_wrong_kind_for_good_stops_the_run_and_a_rerun_finishes_it(
    tmp_path: Path, clean: tuple[bytes, int], faults: str
) -> None:
    with pytest.raises(HarvesterError) as stopped:
        _run(tmp_path, faults)
    assert stopped.value.exit_code != 0
    assert not (tmp_path / "out.jsonl").exists()
    # nothing written missing on an answer that could not be read: only what NCBI lacks
    assert _written_missing(tmp_path) <= _missing_in(clean[0])
    _run(tmp_path, seed=4)  # the fault is gone: the job resumes (on new WebEnvs) and finishes
    assert (tmp_path / "out.jsonl").read_bytes() == clean[0]


def test_a_failure_after_work_was_set_aside_says_so_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(HarvesterError) as stopped:
        _run(tmp_path, "wrongroot@efetch:1")
    message = str(stopped.value)
    assert "efetch answered a <eSearchResult> document where" in message
    assert "failed 3 times" in message and "run the same command again to resume" in message


@pytest.mark.parametrize(
    "faults",
    [
        # requests 35-60: pages are under way by then (elinks fill the first requests, and
        # chunks pooling their targets add their pages later)
        "wrongroot@efetch:1:#35-60",
        "errorroot@efetch:1:#35-60",
        "400@efetch:1:#35-60",
        "wrongroot@elink:1:#3-12",
        # five in a row on any utility: fewer than one request's six attempts, so no request
        # can use them all up before any work succeeded (which stops a run, by design)
        "400:1:#3-7",
    ],
)
def test_wrong_answers_for_a_while_change_nothing(
    tmp_path: Path, clean: tuple[bytes, int], faults: str
) -> None:
    log = tmp_path / "requests.jsonl"
    summary = _run(tmp_path, faults, log)
    assert (tmp_path / "out.jsonl").read_bytes() == clean[0]
    assert any(entry["fault"] for entry in _requests(log))  # the fault did strike
    assert summary["retries"], summary


@pytest.mark.parametrize(
    "faults",
    [
        "droplinkset@elink:1:#1-4",
        "droplinks@elink:1:#1-4",
        # no links in one answer, left out of the other: neither is NCBI's word
        "droplinks@elink:1:#1-3,droplinkset@elink:1:#4-6",
        "droplinkset@elink:1:#1-3,droplinks@elink:1:#4-6",
    ],
)
def test_sources_an_elink_answer_left_without_links_are_asked_again(
    tmp_path: Path, clean: tuple[bytes, int], faults: str
) -> None:
    log = tmp_path / "requests.jsonl"
    _run(tmp_path, faults, log)
    assert any(e["fault"] for e in _requests(log))  # some elink answers were cut ...
    assert (tmp_path / "out.jsonl").read_bytes() == clean[0]  # ... and nothing was lost


def test_targets_no_entry_holds_are_fetched_on_resume(
    tmp_path: Path, clean: tuple[bytes, int]
) -> None:
    """A chunk linked and committed whose post then failed (set aside, or the run stopped)
    has pending targets no open entry holds: the next round fetches them by id, never writes
    them "not fetched"."""
    _run(tmp_path)
    with sqlite3.connect(tmp_path / "out.jsonl.harvest" / STORE_NAME) as db:
        db.execute("UPDATE targets SET state = 0 WHERE chunk = 1 AND state = 1")
        assert db.execute("SELECT changes()").fetchone()[0] > 0
        db.execute("UPDATE entries SET state = 'replaced' WHERE chunk = 1")
        db.execute("DELETE FROM records WHERE uid IN (SELECT uid FROM targets WHERE chunk = 1)")
    (tmp_path / "out.jsonl").unlink()
    _run(tmp_path, seed=4)
    assert (tmp_path / "out.jsonl").read_bytes() == clean[0]


def test_a_webenv_forgotten_for_good_ends_in_one_line_within_a_bound(
    tmp_path: Path, clean: tuple[bytes, int]
) -> None:
    log = tmp_path / "requests.jsonl"
    with pytest.raises(HarvesterError) as stopped:
        _run(tmp_path, "expire@efetch:1", log)
    assert "NCBI lost the History entries" in str(stopped.value)
    # bounded (it looped for ever before): three rounds of three rebuilds, each re-posting
    # the entries and asking a page of each
    assert len(_requests(log)) < 6 * clean[1], (len(_requests(log)), clean[1])
    assert _written_missing(tmp_path) <= _missing_in(clean[0])


def test_a_webenv_forgotten_for_a_while_is_rebuilt(
    tmp_path: Path, clean: tuple[bytes, int]
) -> None:
    _run(tmp_path, "expire@efetch:1:#1-25")
    assert (tmp_path / "out.jsonl").read_bytes() == clean[0]
