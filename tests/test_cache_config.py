"""The record cache's job keys and flags: off by default, `on`, a folder or `off`, its bounds
checked when the job is read, every mistake one line naming FILE:LINE."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_config import MINIMAL, fails, write

from harvester.cache_keys import (
    DEFAULT_MAX_AGE,
    DEFAULT_MAX_MB,
    CacheSpec,
    default_cache_dir,
    duration,
)
from harvester.cli import build_parser
from harvester.config import load_job


def test_the_cache_is_off_unless_a_job_asks_for_it(tmp_path: Path):
    job = load_job(write(tmp_path, MINIMAL))
    assert job.cache == CacheSpec() and job.cache.folder is None


def test_cache_on_uses_the_users_cache_folder_with_the_bounds_given(tmp_path: Path):
    text = MINIMAL + "cache: on\ncache_max_age: 30d\ncache_max_mb: 500\n"
    job = load_job(write(tmp_path, text))
    assert job.cache == CacheSpec(default_cache_dir(), 30 * 86_400.0, 500)
    assert job.cache.max_bytes == 500_000_000
    defaults = load_job(write(tmp_path, MINIMAL + "cache: on\n")).cache
    assert (defaults.max_age, defaults.max_mb) == (DEFAULT_MAX_AGE, DEFAULT_MAX_MB)


def test_a_cache_folder_is_beside_the_job_file_and_not_in_the_jobs_hash(tmp_path: Path):
    plain = load_job(write(tmp_path, MINIMAL))
    job = load_job(write(tmp_path, MINIMAL + "cache: shared/records\ncache_max_age: 0\n"))
    assert job.cache.folder == tmp_path / "shared" / "records" and job.cache.max_age == 0
    assert job.semantic_hash() == plain.semantic_hash()  # how records come, not which


def test_flags_override_the_job_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = write(tmp_path, MINIMAL + "cache: on\ncache_max_age: 12h\n")
    assert load_job(path, {"cache": "off"}).cache == CacheSpec()
    monkeypatch.chdir(tmp_path)
    assert load_job(path, {"cache": "here"}).cache.folder == tmp_path / "here"
    assert load_job(path, {"cache": "here"}).cache.max_age == 12 * 3_600.0
    assert load_job(write(tmp_path, MINIMAL), {"cache": "on"}).cache.folder == default_cache_dir()


def test_run_takes_cache_dir_or_no_cache_but_not_both(capsys: pytest.CaptureFixture[str]):
    parser = build_parser()
    assert parser.parse_args(["run", "job.yaml", "--cache", "/c"]).cache == "/c"
    assert parser.parse_args(["run", "job.yaml", "--no-cache"]).cache == "off"
    assert parser.parse_args(["run", "job.yaml"]).cache is None
    with pytest.raises(SystemExit) as info:
        parser.parse_args(["run", "job.yaml", "--cache", "/c", "--no-cache"])
    assert info.value.code == 2 and "not allowed with" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            "cache_max_age: 30d\n",
            "job.yaml:7: 'cache_max_age' is set but the cache is off; add cache: on",
        ),
        ("cache: [a]\n", "job.yaml:7: 'cache' must be on, off or a folder, got a list"),
        (
            "cache: on\ncache_max_age: 30\n",
            "job.yaml:8: 'cache_max_age' must be a duration like 30d, 12h or 0, got 30",
        ),
        (
            "cache: on\ncache_max_age: 30 days\n",
            "job.yaml:8: cache_max_age '30 days' is not a duration like 30d, 12h, 90m, 45s or 0",
        ),
        ("cache: on\ncache_max_mb: 0\n", "job.yaml:8: cache_max_mb must be 1..1073741824, got 0"),
        (
            "cache: on\ncache_max_ag: 1d\n",
            "job.yaml:8: unknown key 'cache_max_ag' (did you mean 'cache_max_age'?)",
        ),
    ],
)
def test_mistakes_are_one_line_naming_the_key(tmp_path: Path, extra: str, message: str):
    assert fails(tmp_path, MINIMAL + extra) == message


def test_a_job_directory_or_a_file_is_no_cache_folder(tmp_path: Path):
    (tmp_path / "old.harvest").mkdir()
    (tmp_path / "old.harvest" / "state.sqlite").write_bytes(b"SQLite format 3\x00" + b"\0" * 100)
    assert "is a job directory" in fails(tmp_path, MINIMAL + "cache: old.harvest\n")
    (tmp_path / "plain").write_text("x")
    assert "is a file, not a folder" in fails(tmp_path, MINIMAL + "cache: plain\n")


def test_durations():
    assert [duration(t) for t in ("45s", "90m", "12h", "30d", "2w", "0", "1.5d")] == [
        45.0, 5_400.0, 43_200.0, 2_592_000.0, 1_209_600.0, 0.0, 129_600.0,
    ]  # fmt: skip
    with pytest.raises(ValueError, match="ten years"):
        duration("4000d")


@pytest.mark.parametrize("name", ["bad\\0name", "x" * 5000])
def test_a_name_no_folder_can_have_is_one_line(tmp_path: Path, name: str):
    message = fails(tmp_path, MINIMAL + f'cache: "{name}"\n')
    assert message.startswith("job.yaml:7: cache ") and "cannot be a folder" in message
