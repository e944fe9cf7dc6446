"""Joining separate comparison invocations into one report (benchmarks/compare/combine.py): each
row keeps the command and stamp of the invocation that produced it, and nothing is mixed that
would make a median span two invocations or two different inputs. Pure data, no runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

combine = pytest.importorskip("benchmarks.compare.combine")
from benchmarks.compare import report  # noqa: E402

SCENARIO = {"title": "gene -> snp", "sources": 10, "links": 50, "records": 40, "withdrawn": 1,
            "floor_requests": 4}  # fmt: skip


def part(
    stamp: str,
    contender: str,
    walls: list[float],
    timeout: float = 300.0,
    scenario: str = "bench10",
) -> dict:
    """What one `run` invocation leaves in its JSON (the fields the report reads)."""
    runs = [
        {
            "scenario": scenario,
            "contender": contender,
            "maxrss_mb": 90.0,
            "repeat": i,
            "status": "timeout" if wall >= timeout else "ok",
            "wall": wall,
            "requests": 30,
            "allowed_rate": 10.0,
            "floor_requests": 4,
            "floor_seconds": 0.4,
            "achieved_rate": 9.5,
            "complete": wall < timeout,
            "records": 40,
        }
        for i, wall in enumerate(walls)
    ]
    results = {
        "options": {"repeats": len(walls), "timeout": timeout, "speedup": 1.0, "jobs": 4,
                    "scenarios": [scenario], "contenders": [contender], "sources": 10},
        "skipped": {},
        "scenarios": {scenario: dict(SCENARIO)},
        "runs": runs,
        "machine": {"cpu": "test cpu", "nproc": 2, "platform": "linux", "python": "3.11",
                    "versions": {"harvester": "0.1.0"}, "git": "abc1234"},
        "started": "2026-12-04 18:00 UTC",
        "elapsed": 60.0,
        "load": [0.4, 3.6],
        "notes": [f"note of {stamp}"],
    }  # fmt: skip
    command = f"python -m benchmarks.compare run --part --stamp {stamp} --contenders {contender}"
    results["parts"] = [combine.provenance(results, command, stamp)]
    return combine.merge([results])


def test_rows_of_two_invocations_keep_their_own_command_and_stamp(tmp_path: Path) -> None:
    others = part("others", "naive", [120.0, 100.0, 110.0])
    files = []
    for name, results in (("h", part("quiet", "harvester", [36.0, 35.0, 37.0])), ("o", others)):
        files.append(tmp_path / f"{name}.json")
        files[-1].write_text(json.dumps(results))
    joined = combine.merge([combine.load(f) for f in files])

    rows = {m["contender"]: m for m in joined["medians"]}
    assert rows["harvester"]["part"] == "quiet" and rows["harvester"]["wall"] == 36.0
    assert rows["naive"]["part"] == "others" and rows["naive"]["wall"] == 110.0
    text = "\n".join(report.provenance_text(joined)) + report.table(joined)
    assert "--stamp quiet --contenders harvester" in text
    assert "--stamp others --contenders naive" in text
    assert "| quiet |" in text and "| others |" in text
    assert "(load average 0.4 at the start, 3.6 at the end)" in text
    assert joined["notes"] == ["note of quiet", "note of others"]
    assert any("(naive, 110.0 s): 3.1x" in g for g in report.goals(joined))


def test_a_row_cut_off_says_its_own_invocations_timeout() -> None:
    joined = combine.merge(
        [part("quiet", "harvester", [36.0]), part("others", "naive", [200.0], timeout=200.0)]
    )
    assert "0/1 (1 did not finish within 200 s)" in report.table(joined)
    assert any("within 200 s, so at least 5.6x" in g for g in report.goals(joined))


def test_one_invocation_reads_as_before_without_a_part_column() -> None:
    single = part("solo", "harvester", [36.0])
    text = "\n".join(report.provenance_text(single)) + report.table(single)
    assert "from one invocation" in text and "part |" not in text


def test_a_pair_measured_in_two_invocations_is_refused() -> None:
    with pytest.raises(combine.CombineError, match="bench10 / naive has runs in parts"):
        combine.merge([part("a", "naive", [100.0]), part("b", "naive", [90.0])])


def test_a_scenario_with_other_inputs_is_refused() -> None:
    other = part("b", "naive", [90.0])
    other["scenarios"]["bench10"]["links"] = 51
    with pytest.raises(combine.CombineError, match="scenario bench10 differs"):
        combine.merge([part("a", "harvester", [36.0]), other])


def test_a_file_without_provenance_is_refused(tmp_path: Path) -> None:
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"runs": [], "scenarios": {}}))
    with pytest.raises(combine.CombineError, match="no recorded command"):
        combine.load(old)


def test_the_gene_records_goal_line_gives_the_harvesters_memory() -> None:
    joined = combine.merge(
        [
            part("quiet", "harvester", [4.0], scenario="gene_records"),
            part("others", "biopython", [8.0, 9.0, 10.0], scenario="gene_records"),
        ]
    )
    (line,) = [g for g in report.goals(joined) if g.startswith("- gene_records")]
    assert "complete 1/1, 4.0 s, peak RSS 90 MB; 2.2x faster" in line and "biopython" in line


def test_the_report_command_joins_files_and_adds_notes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from benchmarks.compare import __main__ as cli

    monkeypatch.setattr(report, "ROOT", tmp_path)  # results/ goes here, not into the repo
    files = []
    for stamp, contender in (("quiet", "harvester"), ("others", "naive")):
        files.append(tmp_path / f"{stamp}.json")
        files[-1].write_text(json.dumps(part(stamp, contender, [36.0])))
    md = tmp_path / "RESULTS.md"
    note = "The others part shared the machine with other work."
    args = ["report", "--stamp", "joined", "--markdown", str(md), "--note", note]
    assert cli.main([*args, *map(str, files)]) == 0
    assert f"- {note}" in md.read_text()
    assert json.loads((tmp_path / "benchmarks" / "results" / "joined.json").read_text())["parts"]
    assert cli.main([*args, str(files[0]), str(files[0])]) == 2  # the same part twice
