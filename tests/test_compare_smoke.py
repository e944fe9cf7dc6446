"""Smoke test of the side-by-side benchmark (benchmarks/compare, issue 7): a tiny run (10 genes,
emulator 20x faster) of the harvester, the naive loop and Biopython if installed, each verified
against ground truth; and the verifier must reject a corrupted output. Correctness only: no
speed claims are made at this size."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
compare = pytest.importorskip("benchmarks.compare.runner")
from benchmarks.compare import verify  # noqa: E402
from benchmarks.compare.runner import Options, available, run_all  # noqa: E402


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    wanted = ["harvester", "naive", "biopython"]
    contenders = tuple(c for c in wanted if available(c) is None)
    for required in ("harvester", "naive"):
        if required not in contenders:
            pytest.skip(f"{required} unavailable: {available(required)}")
    workdir = tmp_path_factory.mktemp("compare")
    opts = Options(
        sources=10,
        repeats=1,
        timeout=60,
        speedup=20,
        scenarios=("bench10",),
        contenders=contenders,
        workdir=workdir,
    )
    return run_all(opts), workdir


def test_every_contender_output_verifies(smoke):
    results, _ = smoke
    assert results["runs"], "no runs"
    for run in results["runs"]:
        assert run["status"] == "ok", run
        assert run["complete"], run["verdict"]
        assert run["requests"] > 0 and run["http_429"] == 0, run


def test_verifier_rejects_a_corrupted_output(smoke, tmp_path):
    from harvester.emulator.dataset import Dataset
    from harvester.emulator.spec import load_spec

    _, workdir = smoke
    source = workdir / "bench10" / "harvester" / "0"
    ids = (workdir / "bench10.ids.txt").read_text().split()
    truth = verify.Truth.of(Dataset(load_spec("large")), "gene_snp", ids)
    assert verify.verify(source, truth).ok

    # one link dropped from one source
    lines = [json.loads(x) for x in (source / "links.jsonl").read_text().splitlines()]
    victim = next(row for row in lines if row["targets"])
    victim["targets"] = victim["targets"][1:]
    (tmp_path / "links.jsonl").write_text("\n".join(json.dumps(r) for r in lines) + "\n")
    (tmp_path / "records.txt").write_text((source / "records.txt").read_text())
    verdict = verify.verify(tmp_path, truth)
    assert not verdict.ok and "wrong links" in verdict.summary()

    # links intact, one record missing and a withdrawn SNP reported as fetched
    (tmp_path / "links.jsonl").write_text((source / "links.jsonl").read_text())
    records = (source / "records.txt").read_text().split()[1:]
    records += sorted(truth.withdrawn)[:1]
    (tmp_path / "records.txt").write_text("\n".join(records) + "\n")
    verdict = verify.verify(tmp_path, truth)
    assert not verdict.ok
    assert any("not fetched" in p for p in verdict.problems)
    if truth.withdrawn:
        assert any("withdrawn" in p for p in verdict.problems)
