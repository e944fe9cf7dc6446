"""The README finds things fast and says what the code does (issue 28): its contents links
resolve, the quick reference sits at the top, the Biopython snippet runs on the emulator as
written, the emulator's search syntax is the searcher's, and the retry figures are the code's."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from harvester.cli import main
from harvester.emulator.search import FIELD_ALIASES, ORGANISMS
from harvester.eutils.retry import Backoff
from harvester.eutils.transport import NEVER_REACHED_WAIT

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def section(title: str) -> str:
    """The README's text under `title` (a `##` or `###` heading), up to the next heading."""
    return re.split(r"^#{2,3} ", README.split(f"\n{title}\n", 1)[1], maxsplit=1, flags=re.M)[0]


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, re.S)


def run_python(code: str, cwd: Path) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=120, env=env
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_contents_link_names_a_heading() -> None:
    anchors = {slug(h) for h in re.findall(r"^#{1,3} (.+)$", README, re.M)}
    links = re.findall(r"\]\(#([^)]+)\)", README)
    contents = section("## Contents")
    assert len(re.findall(r"\]\(#", contents)) >= 12
    assert set(links) <= anchors, sorted(set(links) - anchors)


def test_the_quick_reference_is_one_screen_after_the_two_commands() -> None:
    head = README.split("\n## Harvest jobs\n", 1)[0]
    assert head.index("# 2. install and run the tests") < head.index("## Quick reference")
    quick = section("## Quick reference")
    assert len(quick.strip().splitlines()) <= 30
    for command in ("link", "run", "plan", "status", "export", "fields", "links", "serve"):
        assert f"harvester {command} " in quick


def test_the_readme_biopython_snippet_runs_on_the_emulator(tmp_path: Path) -> None:
    pytest.importorskip("Bio.Entrez")
    snippet = next(b for b in python_blocks(section("## From Biopython")) if "Entrez" in b)
    assert "_build_request" not in snippet  # no Biopython internals
    out = run_python(snippet, tmp_path)
    assert out.splitlines() == ["['867174', '11888', '3008']"]


def test_the_readme_notebook_snippet_gives_a_table(tmp_path: Path) -> None:
    pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    snippet = next(b for b in python_blocks(section("## From Biopython")) if "to_pandas" in b)
    out = run_python(snippet, tmp_path)
    assert "867174" in out


def test_the_edirect_section_maps_the_pipeline_to_one_line() -> None:
    text = section("## From EDirect")
    assert 'esearch -db gene -query "JAK3[gene] AND human[orgn]" | elink -target snp' in text
    assert 'harvester link gene snp --term "JAK3[gene] AND human[orgn]" --fields SNP_ID,CHRPOS' in (
        text
    )
    for habit in ("xtract", "-element", "-block", "-sep", "efetch -format docsum", "epost"):
        assert habit in text


def test_the_emulator_search_syntax_names_every_field_and_organism() -> None:
    text = section("### Searching the emulator")
    for name in {*FIELD_ALIASES, *FIELD_ALIASES.values()}:
        assert f"[{name}]" in text, name
    for organism in ORGANISMS:
        assert f"`{organism}`" in text, organism
    assert "`term: cancer` finds\nnothing" in text or "`term: cancer` finds nothing" in text


def test_a_search_the_emulator_cannot_match_says_why_in_one_line(tmp_path: Path, capsys) -> None:
    job = tmp_path / "job.yaml"
    job.write_text(
        "source: {term: cancer}\ndbfrom: pubmed\ndb: pubmed\noutput: {path: out.jsonl}\n"
        "endpoint: embedded\npolicy: custom\nrate: 1000\n"
    )
    assert main(["run", str(job), "-q"]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "found no records (phrase not found: cancer); the embedded emulator's records" in err
    assert "'Searching the emulator'" in err
    job.write_text(job.read_text().replace("cancer", "kinase"))
    assert main(["run", str(job), "-q"]) == 0  # a word of its vocabulary finds papers


def test_the_readme_retry_figures_for_an_unreachable_server_are_the_codes() -> None:
    text = " ".join(section("## What happens when things go wrong").split())
    assert f"for up to {Backoff().max_outage:g} s of backoff per request" in text
    assert f"for {NEVER_REACHED_WAIT:g} s of backoff" in text
