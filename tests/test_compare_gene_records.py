"""The comparison's gene_records scenario (benchmarks/compare): its sources are spread over the
dataset and capped, and each contender's reading of an Entrezgene-Set page finds every gene
(the page from the real emulator over loopback, tiny dataset; no contender is run); and each
run starts in an empty directory."""

from __future__ import annotations

import io
from pathlib import Path

import aiohttp
import pytest
from eutils_raw import call

runner = pytest.importorskip("benchmarks.compare.runner")
from benchmarks.compare import c_biopython, c_edirect, c_naive  # noqa: E402
from benchmarks.compare.common import Task, read_ids  # noqa: E402
from harvester.emulator.dataset import Dataset  # noqa: E402
from harvester.emulator.server import Emulator  # noqa: E402
from harvester.emulator.spec import load_spec  # noqa: E402

GENES = ["3718", "7157"]


def test_sources_are_spread_over_the_db_and_capped() -> None:
    dataset = Dataset(load_spec("large"))
    scenario = runner.SCENARIOS["gene_records"]
    ids = runner.source_ids(dataset, scenario, 1000)
    pubmed = dataset.maps["pubmed"]
    step = pubmed.count // 200
    assert len(ids) == scenario.max_sources == 200
    assert ids[:2] == [str(pubmed.uid(0)), str(pubmed.uid(step))]
    fewer = runner.source_ids(dataset, scenario, 50)  # --sources 50: still over the whole db
    assert fewer == [str(pubmed.uid(i * (pubmed.count // 50))) for i in range(50)]
    first = runner.source_ids(dataset, runner.SCENARIOS["pubmed_gene"], 3)  # unchanged
    assert first == [str(pubmed.uid(i)) for i in range(3)]


@pytest.fixture
async def page(emulator: Emulator, http: aiohttp.ClientSession) -> bytes:
    # rettype=full is what EDirect's `efetch -format xml` sends
    status, text = await call(
        http, emulator.base_url, "efetch", db="gene", id=",".join(GENES), rettype="full",
        retmode="xml",
    )  # fmt: skip
    assert status == 200 and text.count("<Entrezgene>") == len(GENES)
    return text.encode()


def test_the_naive_loop_finds_each_gene(page: bytes) -> None:
    assert [m.decode() for m in c_naive.GENE_ID.findall(page)] == GENES


def test_biopython_parses_each_gene_record(page: bytes) -> None:
    pytest.importorskip("Bio.Entrez")
    assert c_biopython.gene_uids(io.BytesIO(page)) == GENES


def test_edirects_output_is_read_as_gene_records(page: bytes, tmp_path: Path) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text("1\n")
    task = Task(
        "edirect", "gene_records", "http://x/", "pubmed", "gene", "pubmed_gene", "efetch",
        str(ids), str(tmp_path), True, 10.0,
    )  # fmt: skip
    (tmp_path / "index.tsv").write_text("1\t" + ",".join(GENES) + "\n")
    (tmp_path / "docsum.xml").write_bytes(page)
    c_edirect.normalise(task)
    assert read_ids(tmp_path / "records.txt") == GENES


def test_each_run_starts_in_an_empty_directory(tmp_path: Path) -> None:
    # a harvester job left by an earlier invocation in the same --workdir would be resumed
    run = tmp_path / "gene_records" / "harvester" / "0"
    (run / "harvest.jsonl.harvest").mkdir(parents=True)
    (run / "requests.jsonl").write_text("{}\n")
    runner.fresh(run)
    assert run.is_dir() and not any(run.iterdir())
