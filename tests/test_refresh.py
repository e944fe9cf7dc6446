"""`run --refresh` against the emulator's clock: a gene -> snp job run as of one day, refreshed
as of a month later, writes what a fresh run as of the later day writes, asking only for the
elink stage, one mdat question per History set and the records that are new or changed; its
CHANGES.jsonl is the emulator's own account of what moved; a refresh killed and run again
ends the same."""

from __future__ import annotations

import asyncio
import datetime
import itertools
import math
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import orjson
import pytest

from harvester.cli import main
from harvester.config import JobConfig, load_job
from harvester.emulator.config import EmulatorConfig
from harvester.emulator.dataset import Dataset
from harvester.emulator.requestlog import read_log
from harvester.emulator.spec import load_spec
from harvester.errors import InputError
from harvester.workflow.known import server_date
from harvester.workflow.refresh import PREVIOUS_NAME
from harvester.workflow.runner import RunOptions, run_job
from harvester.workflow.store import Store
from harvester.workflow.store_mark import STORE_NAME
from tests.harvest_helpers import linked_chunks, make_job, write_job_file
from tests.processes import child_env, reaped, run_command

ROOT = Path(__file__).resolve().parents[1]
A, B = "2026-09-15", "2026-10-15"
"""A month apart, a dbSNP-like release (2026-10-01) between them: SNPs are added and revised;
no SNP changes in the day before A, so mdat names exactly the SNPs revised in between."""
AS_OF = {day: Dataset(load_spec(f"tiny@{day}")) for day in (A, B)}
GENES = list(itertools.islice(AS_OF[A].uids("gene"), 60))
PAGE = 50


def _job(folder: Path, **overrides: Any) -> JobConfig:
    return make_job(folder, GENES, fetch={"page_size": PAGE}, elink_batch=20, **overrides)


def _run(job: JobConfig, day: str, log: Path | None = None, refresh: bool = False) -> Any:
    """Run `job` against the embedded emulator as of `day`; returns the summary."""
    dated = replace(job, endpoint=f"embedded:tiny@{day}")
    emulator = EmulatorConfig(request_log=log) if log is not None else None
    options = RunOptions(quiet=True, refresh=refresh, emulator=emulator)
    return asyncio.run(run_job(dated, options))


def _requests(log: Path) -> Counter[str]:
    return Counter(entry.endpoint for entry in read_log(log))


def _links(day: str) -> set[tuple[int, int]]:
    truth = AS_OF[day].ground_truth("gene_snp", GENES)
    return {(link.source, link.target) for links in truth.values() for link in links}


def _revised() -> set[int]:
    """SNPs linked on both days whose record NCBI (the emulator) revised in between."""
    kept = {t for _, t in _links(A)} & {t for _, t in _links(B)}
    return {t for t in kept if AS_OF[A].mdat("snp", t) != AS_OF[B].mdat("snp", t)}


@dataclass(frozen=True)
class Refreshed:
    job: JobConfig
    first: dict[str, Any]
    refresh: dict[str, Any]
    fresh: dict[str, Any]
    refresh_log: Counter[str]
    fresh_log: Counter[str]
    output: bytes
    fresh_output: bytes


@pytest.fixture(scope="module")
def refreshed(tmp_path_factory: pytest.TempPathFactory) -> Refreshed:
    """The job run as of A then refreshed as of B, and the same job run afresh as of B."""
    tmp = tmp_path_factory.mktemp("refresh")
    (tmp / "fresh").mkdir()
    job, fresh_job = _job(tmp), _job(tmp / "fresh")
    first = _run(job, A)
    refresh = _run(job, B, tmp / "refresh.log", refresh=True)
    fresh = _run(fresh_job, B, tmp / "fresh.log")
    return Refreshed(
        job,
        first,
        refresh,
        fresh,
        _requests(tmp / "refresh.log"),
        _requests(tmp / "fresh.log"),
        job.output.path.read_bytes(),
        fresh_job.output.path.read_bytes(),
    )


def test_refresh_writes_the_bytes_a_fresh_run_as_of_the_later_day_writes(
    refreshed: Refreshed,
) -> None:
    assert _links(A) != _links(B) and _revised()  # the month really changed something
    assert refreshed.output == refreshed.fresh_output
    assert not (refreshed.job.job_dir / PREVIOUS_NAME).exists()


def test_refresh_asks_for_the_elink_stage_one_mdat_per_set_and_the_new_and_changed_only(
    refreshed: Refreshed,
) -> None:
    new = {t for _, t in _links(B)} - {t for _, t in _links(A)}
    changed = _revised()
    log, fresh = refreshed.refresh_log, refreshed.fresh_log
    sets = refreshed.refresh["refresh"]["mdat_queries"]
    assert log["elink"] == fresh["elink"]  # the elink stage, as a fresh run asks it
    held, checked = _sets(refreshed.job.job_dir / STORE_NAME, _fetched(A))
    assert sets == held >= 1 and refreshed.refresh["refresh"]["mdat_requests"] == sets
    assert refreshed.refresh["refresh"]["date_limit_probes"] == 1
    # one question per set (mdat, or its size check), and whether NCBI applies the dates
    assert log["esearch"] == sets + checked + 1
    assert refreshed.refresh["records_fetched_this_run"] == len(new) + len(changed)
    missing = refreshed.refresh["counts"]["targets_missing"]  # withdrawn: asked, not held
    asked = len(new) + len(changed) + missing
    assert log["efetch"] <= math.ceil(asked / PAGE) + 1  # + once more for the ids it lacked
    assert log["efetch"] < fresh["efetch"]
    assert refreshed.refresh["refresh"]["records_reused"] == (
        refreshed.first["counts"]["targets_fetched"] - len(changed) - refreshed_removed(refreshed)
    )


def _fetched(day: str) -> set[int]:
    """The targets a run as of `day` fetched a record of (held by a refresh after it)."""
    return {t for _, t in _links(day) if AS_OF[day].exists("snp", t)}


def _sets(store: Path, held: set[int]) -> tuple[int, int]:
    """A finished store's History sets holding some of `held` (each asked the mdat question),
    and its neighbor_history sets holding none (each asked its size check instead)."""
    with sqlite3.connect(store) as db:
        members: dict[int, set[int]] = {}
        for entry, uid in db.execute("SELECT entry, uid FROM targets WHERE entry IS NOT NULL"):
            members.setdefault(entry, set()).add(uid)
        linked = {e for (e,) in db.execute("SELECT entry FROM entries WHERE link IS NOT NULL")}
    holding = {entry for entry, uids in members.items() if uids & held}
    return len(holding), len(linked - holding)


def refreshed_removed(refreshed: Refreshed) -> int:
    """Targets fetched as of A that no source links to as of B (not carried over)."""
    return len({t for _, t in _links(A)} - {t for _, t in _links(B)})


def test_changes_log_is_the_emulators_ground_truth(refreshed: Refreshed) -> None:
    lines = [
        orjson.loads(line)
        for line in (refreshed.job.job_dir / "CHANGES.jsonl").read_bytes().splitlines()
    ]
    moved = {(x["change"], x["source"], x["target"]) for x in lines if "source" in x}
    updated = {x["target"] for x in lines if x["change"] == "updated"}
    before, after = _links(A), _links(B)
    assert moved == {("added", s, t) for s, t in after - before} | {
        ("removed", s, t) for s, t in before - after
    }
    assert updated == _revised()
    counts = refreshed.refresh["refresh"]
    assert (counts["links_added"], counts["links_removed"], counts["records_updated"]) == (
        len(after - before),
        len(before - after),
        len(updated),
    )


def test_a_refresh_with_nothing_changed_fetches_no_record(tmp_path: Path) -> None:
    job = _job(tmp_path)
    _run(job, A)
    first = job.output.path.read_bytes()
    summary = _run(job, A, tmp_path / "log", refresh=True)
    missing = summary["counts"]["targets_missing"]  # never carried over: asked twice by id
    assert _requests(tmp_path / "log")["efetch"] == (2 if missing else 0)
    assert summary["records_fetched_this_run"] == 0
    assert job.output.path.read_bytes() == first
    assert (job.job_dir / "CHANGES.jsonl").read_bytes() == b""


def test_refresh_of_a_job_never_run_or_unfinished_is_refused_in_one_sentence(
    tmp_path: Path,
) -> None:
    job = _job(tmp_path)
    with pytest.raises(InputError, match="has not run yet; run it without --refresh first"):
        _run(job, A, refresh=True)
    job_file = write_job_file(tmp_path, GENES, endpoint=f"embedded:tiny@{A}")
    assert main(["run", str(job_file), "--refresh", "--quiet"]) == InputError.exit_code


def _refreshing(job_dir: Path, chunks: int) -> bool:
    """Whether a refresh has moved the previous store aside and linked `chunks` chunks anew."""
    return (job_dir / PREVIOUS_NAME).exists() and linked_chunks(job_dir / STORE_NAME) >= chunks


def test_a_refresh_killed_and_run_again_ends_as_an_uninterrupted_one(
    tmp_path: Path, refreshed: Refreshed
) -> None:
    common = {"fetch": {"page_size": PAGE}, "elink_batch": 5, "job_dir": str(tmp_path / "job")}
    common_fresh = {"fetch": {"page_size": PAGE}, "elink_batch": 5}
    _run(make_job(tmp_path, GENES, **common), A)
    slow = {**common, "rate": 8, "concurrency": 1, "endpoint": f"embedded:tiny@{B}"}
    job_file = write_job_file(tmp_path, GENES, **slow)
    command, env = run_command(job_file), child_env()
    proc = subprocess.Popen(run_command(job_file, "--refresh"), stderr=subprocess.PIPE, env=env)
    with reaped(proc):
        while proc.poll() is None and not _refreshing(tmp_path / "job", chunks=2):
            time.sleep(0.01)  # polling for progress, not timing anything
        assert proc.poll() is None, "the refresh ended before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert (tmp_path / "job" / PREVIOUS_NAME).exists()  # the previous store is never lost

    again = subprocess.run(command, capture_output=True, env=env, timeout=300)  # no --refresh
    assert again.returncode == 0, again.stderr
    (tmp_path / "fresh").mkdir()  # the same job file's fields (YAML sorts them), run afresh
    _run(load_job(write_job_file(tmp_path / "fresh", GENES, **common_fresh)), B)
    assert (tmp_path / "out.jsonl").read_bytes() == (tmp_path / "fresh" / "out.jsonl").read_bytes()
    changes = (tmp_path / "job" / "CHANGES.jsonl").read_bytes()
    assert changes == (refreshed.job.job_dir / "CHANGES.jsonl").read_bytes()
    assert not (tmp_path / "job" / PREVIOUS_NAME).exists()


def test_plan_refresh_counts_the_elink_stage_and_one_mdat_per_set_of_the_finished_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job_file = write_job_file(
        tmp_path, GENES, fetch={"page_size": PAGE}, elink_batch=20, endpoint=f"embedded:tiny@{A}"
    )
    assert main(["plan", str(job_file), "--refresh"]) == InputError.exit_code  # not run yet
    summary = _run(load_job(job_file), A)
    capsys.readouterr()
    assert main(["plan", str(job_file), "--refresh"]) == 0
    said = capsys.readouterr().out
    sets, chunks = summary["counts"]["entries"], summary["counts"]["chunks"]
    # one page each, and the date-limit probe
    assert f"mdat           {sets + 1} esearch at most, one per History set" in said
    assert f"requests       {2 * chunks + sets + 1} + those pages" in said  # elink, nh, mdat


def _withdrawing(folder: Path) -> str:
    """The tiny dataset with 15% of SNPs withdrawn, so new targets include withdrawn ones."""
    spec = (ROOT / "configs/datasets/tiny.yaml").read_text()
    path = folder / "withdrawing.yaml"
    path.write_text(spec.replace("withdrawn_snp_per_mille: 5", "withdrawn_snp_per_mille: 150"))
    return str(path)


def test_withdrawn_new_targets_are_asked_again_within_later_batches_not_alone(
    tmp_path: Path,
) -> None:
    spec = _withdrawing(tmp_path)
    days = {day: Dataset(load_spec(f"{spec}@{day}")) for day in (A, B)}
    page = 5  # several confirmation batches, withdrawn ids in more than one
    job = make_job(tmp_path, GENES, fetch={"page_size": page}, elink_batch=20)
    first = replace(job, endpoint=f"embedded:{spec}@{A}")
    asyncio.run(run_job(first, RunOptions(quiet=True)))
    log = tmp_path / "refresh.log"
    options = RunOptions(quiet=True, refresh=True, emulator=EmulatorConfig(request_log=log))
    summary = asyncio.run(run_job(replace(job, endpoint=f"embedded:{spec}@{B}"), options))

    def targets(day: str) -> set[int]:
        truth = days[day].ground_truth("gene_snp", GENES)
        return {link.target for links in truth.values() for link in links}

    new = targets(B) - targets(A)
    withdrawn = {t for t in new if not days[B].exists("snp", t)}
    changed = summary["refresh"]["records_changed_by_mdat"]
    assert len(withdrawn) >= 2 and len(new) + changed > 2 * page  # what the test is about
    said_missing = {t for t in targets(A) & targets(B) if not days[A].exists("snp", t)}
    asks = len(new) + changed + len(withdrawn)  # a withdrawn id is asked twice
    asks += 2 * len(said_missing)  # an earlier "missing" is never carried over: asked twice
    # full batches, and a partial one at up to two of the tail's stages (the last page sent,
    # none left: scheduler.py) as the store's writes land; asked alone, each of the 3+
    # withdrawn would add one more
    assert len(withdrawn) >= 3
    assert _requests(log)["efetch"] <= math.ceil(asks / page) + 2
    assert summary["counts"]["targets_missing"] >= len(withdrawn)


def _kept_batches(store: Path) -> int:
    """Commits of records a run has made to its store (0 while the store is being made)."""
    try:
        with sqlite3.connect(store) as db:
            return int(db.execute("SELECT count(*) FROM kept").fetchone()[0])
    except sqlite3.Error:
        return 0


def test_a_run_killed_one_day_and_resumed_a_later_day_keeps_the_first_day(
    tmp_path: Path,
) -> None:
    common = {"fetch": {"page_size": PAGE}, "elink_batch": 5, "job_dir": str(tmp_path / "job")}
    slow = {**common, "rate": 8, "concurrency": 1, "endpoint": f"embedded:tiny@{A}"}
    job_file = write_job_file(tmp_path, GENES, **slow)
    proc = subprocess.Popen(run_command(job_file), stderr=subprocess.PIPE, env=child_env())
    with reaped(proc):
        while proc.poll() is None and not _kept_batches(tmp_path / "job" / STORE_NAME):
            time.sleep(0.01)  # polling for progress, not timing anything
        assert proc.poll() is None, "the run ended before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    _run(make_job(tmp_path, GENES, **common), B)  # resumed a month later
    with Store(tmp_path / "job" / STORE_NAME, read_only=True) as store:
        assert server_date(store) == datetime.date.fromisoformat(A)


@pytest.mark.parametrize(
    ("made", "why"),
    [
        ("opened", "it has not run yet"),
        ("initialised", "some of its sources are not linked yet"),
    ],
)
def test_plan_refresh_of_an_unfinished_job_says_why_and_what_to_do_in_one_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], made: str, why: str
) -> None:
    job_file = write_job_file(tmp_path, GENES, endpoint=f"embedded:tiny@{A}")
    job = load_job(job_file)
    with Store(job.job_dir / STORE_NAME) as store:  # a run stopped this early
        if made == "initialised":
            store.initialise("hash", GENES, 20)
    capsys.readouterr()
    assert main(["plan", str(job_file), "--refresh"]) == InputError.exit_code
    said = capsys.readouterr()
    assert said.out == ""
    assert said.err.count("\n") == 1 and "Traceback" not in said.err
    assert f"cannot be refreshed: {why}; run it without --refresh to finish it first" in said.err


def _refreshed_with_faults(tmp_path: Path, faults: str) -> Any:
    """The job run as of A, refreshed as of B on an emulator with `faults`; its output checked
    byte for byte against a fresh run as of B. Returns the refresh's summary."""
    job = _job(tmp_path)
    _run(job, A)
    dated = replace(job, endpoint=f"embedded:tiny@{B}")
    faulty = EmulatorConfig(faults=faults)
    summary = asyncio.run(run_job(dated, RunOptions(quiet=True, refresh=True, emulator=faulty)))
    (tmp_path / "fresh").mkdir()
    fresh_job = _job(tmp_path / "fresh")
    _run(fresh_job, B)
    assert job.output.path.read_bytes() == fresh_job.output.path.read_bytes()
    return summary


def test_a_history_set_lacking_held_ids_has_its_held_records_fetched_again(
    tmp_path: Path,
) -> None:
    summary = _refreshed_with_faults(tmp_path, "shortset:1")  # sets lack an id the links have
    assert summary["refresh"]["mdat_queries"] >= 1
    new = {t for _, t in _links(B)} - {t for _, t in _links(A)}
    assert summary["records_fetched_this_run"] > len(new) + len(_revised())  # held ones too


def test_a_server_ignoring_date_limits_on_a_set_is_noticed_and_nothing_served_stale(
    tmp_path: Path,
) -> None:
    """Were NCBI to answer `#N` without applying mdat limits, the listing would name every
    member unchanged: the probe (members dated 1800/01/01 must count 0) says so, once, and
    every held record is fetched again."""
    summary = _refreshed_with_faults(tmp_path, "nodates@esearch:1")
    said = [w for w in summary["warnings"] if "did not apply mdat date limits" in w]
    assert len(said) == 1
    assert summary["refresh"]["records_reused"] == 0
    assert summary["refresh"]["date_limit_probes"] == 1


def test_a_refresh_of_a_job_changed_since_its_run_is_refused_in_one_sentence(
    tmp_path: Path,
) -> None:
    _run(_job(tmp_path), A)
    via = {"page_size": PAGE, "via": "esummary"}
    changed = make_job(tmp_path, GENES, fetch=via, elink_batch=20)
    with pytest.raises(InputError, match="its job file changed since the last run"):
        _run(changed, B, refresh=True)
    assert (changed.job_dir / STORE_NAME).exists()  # left where it was
    assert not (changed.job_dir / PREVIOUS_NAME).exists()
    job_file = write_job_file(
        tmp_path, GENES, endpoint=f"embedded:tiny@{B}", fetch=via, elink_batch=20
    )
    assert main(["run", str(job_file), "--refresh", "--quiet"]) == InputError.exit_code


def _fresh_output(folder: Path, endpoint: str) -> bytes:
    folder.mkdir()
    fresh = replace(_job(folder), endpoint=endpoint)
    asyncio.run(run_job(fresh, RunOptions(quiet=True)))
    return fresh.output.path.read_bytes()


@pytest.mark.parametrize("withdrawn_before", [False, True])
def test_records_withdrawn_or_restored_since_the_last_run_are_asked_not_carried_over(
    tmp_path: Path, withdrawn_before: bool
) -> None:
    spec = _withdrawing(tmp_path)  # 15% of SNPs withdrawn, on one side of the month
    before, after = (spec, "tiny") if withdrawn_before else ("tiny", spec)
    job = _job(tmp_path)
    asyncio.run(run_job(replace(job, endpoint=f"embedded:{before}@{A}"), RunOptions(quiet=True)))
    later = f"embedded:{after}@{B}"
    summary = asyncio.run(
        run_job(replace(job, endpoint=later), RunOptions(quiet=True, refresh=True))
    )
    assert job.output.path.read_bytes() == _fresh_output(tmp_path / "fresh", later)
    if not withdrawn_before:
        assert summary["refresh"]["records_unlisted"] > 0  # held, withdrawn since: not reused
