"""A term source's date limits: checked when the job is read, sent to esearch, honoured by the
emulator on the dates its dataset has (PubMed years); `harvester plan` shows the search's count."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from harvester.cli import main
from harvester.errors import ConfigError
from harvester.search_dates import SearchDates
from tests.harvest_helpers import CATALOG, TINY, make_job

FAST = ["--endpoint", "embedded", "--policy", "custom", "--rate", "500"]


def _cells(first: int = 0, last: int = 9999) -> set[int]:
    """PubMed uids the term `cells` finds with a publication year in first..last."""
    found = set()
    for uid in TINY.uids("pubmed"):
        article = CATALOG.records.article(uid)
        assert article is not None
        if "cells" in re.findall(r"[a-z0-9]+", article.title.lower()) and (
            first <= article.year <= last
        ):
            found.add(uid)
    return found


def _term(**dates: object) -> dict[str, object]:
    """A term source (make_job merges it into its ids source: `ids: None` drops those)."""
    return {"ids": None, "term": "cells", **dates}


def _term_job(tmp: Path, **source: object) -> Path:
    lines = [f"  {k}: {v!r}" if isinstance(v, str) else f"  {k}: {v}" for k, v in source.items()]
    path = tmp / "job.yaml"
    path.write_text(
        "source:\n  term: cells\n" + "\n".join(lines) + "\ndbfrom: pubmed\ndb: gene\n"
        f"output: {{path: {tmp / 'out.tsv'}}}\nendpoint: embedded\n"
    )
    return path


def test_dates_are_read_with_the_term(tmp_path: Path) -> None:
    job = make_job(tmp_path, source=_term(mindate=2000, maxdate="2001/06"))
    assert job.source.dates == SearchDates("2000", "2001/06", None, None)
    assert job.source.dates.params() == {"mindate": "2000", "maxdate": "2001/06"}
    undated = make_job(tmp_path, source=_term())
    assert undated.source.dates is None
    assert job.semantic_hash() != undated.semantic_hash()  # another search, another store


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ({"mindate": 2000}, "mindate needs maxdate too"),
        ({"mindate": "2000/13", "maxdate": 2001}, "not a calendar date"),
        ({"mindate": "2000/02/30", "maxdate": 2001}, "not a calendar date"),
        ({"mindate": "2000-01-01", "maxdate": 2001}, "must use slashes: 2000/01/01"),
        ({"mindate": 2002, "maxdate": 2001}, "mindate 2002 is after maxdate 2001"),
        ({"mindate": 2000, "maxdate": 2001, "reldate": 30}, "either reldate or mindate"),
        ({"reldate": 0}, "reldate must be a positive number"),
        ({"datetype": "pdat"}, "datetype needs mindate/maxdate or reldate"),
        ({"reldate": 3, "datetype": "pub date"}, "must be a date field"),
    ],
)
def test_bad_dates_are_refused_when_the_job_is_read(
    tmp_path: Path, source: dict[str, object], words: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(words)):
        make_job(tmp_path, source=_term(**source))


def test_dates_without_a_term_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=re.escape("needs 'source.term'")):
        make_job(tmp_path, source={"ids": [3718], "mindate": 2000, "maxdate": 2001})


def test_plan_asks_esearch_for_the_count_with_the_dates(tmp_path: Path, capsys) -> None:
    assert main(["plan", str(_term_job(tmp_path, mindate=2000, maxdate=2001))]) == 0
    out = capsys.readouterr().out
    expected = len(_cells(2000, 2001))
    assert 0 < expected < len(_cells())
    assert f"sources        {expected:,} ids from the search 'cells' mindate=2000" in out
    assert "?" not in out.split("floor")[0]


def test_reldate_counts_from_today(tmp_path: Path, capsys) -> None:
    assert main(["plan", str(_term_job(tmp_path, reldate=365 * 100))]) == 0
    assert f"sources        {len(_cells()):,} ids" in capsys.readouterr().out
    assert main(["plan", str(_term_job(tmp_path, reldate=30))]) == 0  # the dataset ends in 2024
    assert "sources        0 ids" in capsys.readouterr().out


def test_a_dated_term_harvests_only_the_sources_in_range(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    argv = ["link", "pubmed", "gene", "--term", "cells", "--mindate", "2000/01"]
    assert main([*argv, "--maxdate", "2001/12/31", *FAST, "-q"]) == 0
    rows = csv.DictReader(io.StringIO(capsys.readouterr().out), delimiter="\t")
    assert {int(r["source"]) for r in rows} == _cells(2000, 2001)


def test_the_emulator_refuses_dates_it_does_not_have(tmp_path: Path, capsys) -> None:
    job = _term_job(tmp_path, mindate=2000, maxdate=2001, datetype="edat")
    assert main(["run", str(job), "--quiet"]) == 5
    assert "no edat dates for db=pubmed" in capsys.readouterr().err
