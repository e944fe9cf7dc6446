"""The public Python API: the README's snippet runs as written, in a script and inside a
running event loop; `__all__` is pinned; results read back without parsing files."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import orjson
import pytest

import harvester
from tests.harvest_helpers import TINY, make_job

ROOT = Path(__file__).resolve().parents[1]
GENES = [3718, 7157, 99_999_999] + [TINY.maps["gene"].uid(i) for i in range(20)]


def readme_snippet() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## From Python", 1)[1]
    found = re.search(r"```python\n(.*?)```", section, re.S)
    assert found, "the README's Python API section has no python block"
    return found.group(1)


def run_python(code: str, cwd: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_readme_snippet_runs_as_a_script(tmp_path: Path) -> None:
    out = run_python(readme_snippet(), tmp_path)
    assert out.splitlines()[0].endswith(" links")
    assert out.splitlines()[1].startswith("3718 linked ['867174'")
    assert (tmp_path / "harvest-output" / "jak3.tsv").exists()  # the override won


def test_the_readme_snippet_runs_inside_a_running_event_loop(tmp_path: Path) -> None:
    body = textwrap.indent(readme_snippet(), "    ")
    code = f"import asyncio\n\nasync def main():\n{body}\n\nasyncio.run(main())\n"
    out = run_python(code, tmp_path)
    assert out.splitlines()[1].startswith("3718 linked ['867174'")


def test_public_names_are_pinned() -> None:
    assert sorted(harvester.__all__) == [
        "HarvestResult",
        "HarvesterError",
        "Job",
        "__version__",
        "harvest",
        "harvest_async",
        "load_job",
    ]
    for name in harvester.__all__:
        assert getattr(harvester, name) is not None
    from harvester.emulator import Emulator, EmulatorConfig, EmulatorThread

    assert EmulatorThread(EmulatorConfig()).emulator.__class__ is Emulator


def test_harvest_stays_the_function_once_the_workflow_is_imported() -> None:
    import harvester.workflow.engine
    from harvester.api import harvest

    assert harvester.harvest is harvest


def test_load_job_takes_the_command_lines_overrides(tmp_path: Path) -> None:
    job_file = tmp_path / "job.yaml"
    job_file.write_text("source: {ids: [3718]}\ndbfrom: gene\ndb: snp\noutput: {path: a.jsonl}\n")
    job = harvester.load_job(job_file, output=str(tmp_path / "b.parquet"), page_size=100)
    assert (job.output.path, job.output.format) == (tmp_path / "b.parquet", "parquet")
    assert job.fetch.page_size == 100
    with pytest.raises(harvester.HarvesterError, match="unknown override 'ouptut'"):
        harvester.load_job(job_file, ouptut="x.tsv")


async def test_harvest_async_rows_are_the_jsonl_lines(tmp_path: Path) -> None:
    job = make_job(tmp_path, GENES)
    result = await harvester.harvest_async(job)
    assert result.summary["counts"]["sources"] == len(GENES)
    lines = [orjson.dumps(row) for row in result.rows()]
    assert lines == job.output.path.read_bytes().splitlines()


async def test_to_arrow_has_one_row_per_pair(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    result = await harvester.harvest_async(make_job(tmp_path, GENES))
    rows = list(result.rows())
    table = result.to_arrow()
    assert table.num_rows == sum(max(1, len(r["links"])) for r in rows)
    assert table.column("source").to_pylist()[0] == 3718


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (None, "load_job takes a job file's path or a mapping of its keys, got None"),
        (5, "load_job takes a job file's path or a mapping of its keys, got an int"),
        (b"job.yaml", "load_job takes a job file's path or a mapping of its keys, got a bytes"),
    ],
)
def test_load_job_refuses_what_is_not_a_job(source: object, message: str) -> None:
    with pytest.raises(harvester.HarvesterError) as info:
        harvester.load_job(source)  # type: ignore[arg-type]
    assert str(info.value) == message and info.value.exit_code == 2


@pytest.mark.parametrize(("bad", "shown"), [(3718.5, "3718.5"), (True, "True"), (None, "")])
def test_load_job_refuses_a_bad_id_at_load_time(tmp_path: Path, bad: object, shown: str) -> None:
    data = {"source": {"ids": [3718, bad]}, "dbfrom": "gene", "db": "snp"}
    data["output"] = {"path": str(tmp_path / "out.jsonl")}
    with pytest.raises(harvester.HarvesterError) as info:
        harvester.load_job(data)
    problem = f"source id {shown!r} is not a numeric id" if shown else "source id is blank"
    assert str(info.value) == f"source.ids[1]: {problem}" and info.value.exit_code == 3


@pytest.mark.parametrize(
    ("job", "flags", "message"),
    [
        ({"source": {"ids": [1]}}, {}, "harvest takes the Job that load_job returns, got a dict"),
        (None, {}, "harvest takes the Job that load_job returns, got None"),
        ("JOB", {"restart": "yes"}, "harvest's restart must be True or False, got a str"),
        ("JOB", {"quiet": 1}, "harvest's quiet must be True or False, got an int"),
    ],
)
async def test_harvest_refuses_misuse_before_any_work(
    tmp_path: Path, job: object, flags: dict[str, object], message: str
) -> None:
    real = make_job(tmp_path, GENES)
    given = real if job == "JOB" else job
    for call in (harvester.harvest, harvester.harvest_async):
        with pytest.raises(harvester.HarvesterError) as info:
            result = call(given, **flags)  # type: ignore[arg-type]
            if hasattr(result, "__await__"):
                await result
        assert str(info.value) == message and info.value.exit_code == 2
    assert not real.job_dir.exists()


def test_rows_after_the_job_directory_is_gone_is_a_store_error(tmp_path: Path) -> None:
    job = make_job(tmp_path, GENES)
    result = harvester.HarvestResult(job, {})  # as returned, then the directory was removed
    for read in (lambda: list(result.rows()), result.to_arrow):
        with pytest.raises(harvester.HarvesterError) as info:
            read()
        assert str(info.value) == (
            f"no job store at {job.job_dir / 'state.sqlite'} (its job directory is gone)"
        )
        assert info.value.exit_code == 7
