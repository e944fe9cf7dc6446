"""`harvester link`: a harvest from flags alone is the same durable job as a job file's: stdin
ids to TSV on stdout, resumed after an interruption from the same job directory, its saved job
running to the same output, bad flags one line and exit 2; and the README's EDirect equivalent
gives the rows the embedded dataset says are right."""

from __future__ import annotations

import csv
import io
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import pytest
import yaml

from harvester.cli import main
from harvester.errors import EXIT_INTERRUPTED
from harvester.workflow.store_mark import STORE_NAME
from tests.harvest_helpers import CATALOG, TINY, linked_chunks

ROOT = Path(__file__).resolve().parents[1]
FAST = ["--endpoint", "embedded", "--policy", "custom", "--rate", "500"]
GENES = [3718, 7157] + [TINY.maps["gene"].uid(i) for i in range(12)]


def _env(tmp: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "XDG_CACHE_HOME": str(tmp / "cache")}


def _link(tmp: Path, *args: str, stdin: int | IO[str] = subprocess.PIPE) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "harvester", "link", *args],
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(tmp),
        cwd=tmp,
    )


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text), delimiter="\t"))


def _expected(genes: list[int]) -> list[tuple[str, str, str]]:
    """(source, SNP_ID, CHRPOS) of every gene_snp link the dataset holds, in link order (a
    gene without links: one row with empty cells)."""
    rows = []
    for gene in genes:
        if not TINY.links("gene_snp", gene):
            rows.append((str(gene), "", ""))
        for snp_id, _ in TINY.links("gene_snp", gene):
            snp = CATALOG.records.snp(snp_id)
            assert snp is not None
            rows.append((str(gene), str(snp_id), f"{snp.chromosome}:{snp.position}"))
    return rows


def test_ids_from_stdin_give_tsv_on_stdout_and_a_job_dir_in_the_cache(tmp_path: Path) -> None:
    proc = _link(tmp_path, "gene", "snp", "-", "--fields", "SNP_ID,CHRPOS", *FAST)
    out, err = proc.communicate("3718\n7157\n", timeout=120)  # a pipe, as `cut ... |` is
    assert proc.returncode == 0, err
    rows = _rows(out)
    assert [(r["source"], r["SNP_ID"], r["CHRPOS"]) for r in rows] == _expected([3718, 7157])
    assert "sources               2" in err  # the summary goes to stderr, not into the TSV
    job_dirs = list((tmp_path / "cache" / "harvester" / "link").iterdir())
    assert len(job_dirs) == 1 and (job_dirs[0] / STORE_NAME).exists()
    assert not list(tmp_path.glob("*.harvest"))  # nothing left in the current folder


def test_interrupted_and_run_again_it_resumes_from_the_same_job_dir(tmp_path: Path) -> None:
    ids = tmp_path / "genes.txt"
    ids.write_text("".join(f"{g}\n" for g in GENES))
    slow = ["--endpoint", "embedded", "--policy", "custom", "--rate", "8", "--concurrency", "1"]
    args = ["gene", "snp", "-", "--fields", "SNP_ID,CHRPOS", "--page-size", "20", *slow]
    args += ["--elink-batch", "3", "-q"]
    cache = tmp_path / "cache" / "harvester" / "link"
    proc = _link(tmp_path, *args, stdin=ids.open())  # `< genes.txt`
    try:
        while (
            proc.poll() is None and sum(linked_chunks(s) for s in cache.glob(f"*/{STORE_NAME}")) < 1
        ):
            time.sleep(0.01)  # polling for progress, not timing anything
        assert proc.poll() is None, "the run ended before it could be stopped"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == EXIT_INTERRUPTED, err
    assert out == ""  # no partial TSV
    (store,) = cache.glob(f"*/{STORE_NAME}")
    done_before = linked_chunks(store)
    assert done_before >= 1

    again = _link(tmp_path, *args, stdin=ids.open())
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert list(cache.glob(f"*/{STORE_NAME}")) == [store]  # the same job directory
    summary = yaml.safe_load((store.parent / "summary.json").read_text())
    assert summary["resumed"] is True
    rows = _rows(out)
    assert [(r["source"], r["SNP_ID"], r["CHRPOS"]) for r in rows] == _expected(GENES)


def test_the_saved_job_runs_to_the_same_output(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    args = [
        "link",
        "gene",
        "snp",
        "--ids",
        "3718,7157",
        "--fields",
        "SNP_ID,GENE=GENES/GENE_E/NAME",
    ]
    assert main([*args, *FAST, "-o", "a.tsv", "--save-job", "jak3.yaml", "-q"]) == 0
    saved = yaml.safe_load((tmp_path / "jak3.yaml").read_text())
    assert saved["source"] == {"ids": [3718, 7157]}
    assert saved["fields"] == {"SNP_ID": "SNP_ID", "GENE": "GENES/GENE_E/NAME"}
    assert main(["run", "jak3.yaml", "--output", "b.tsv", "--quiet"]) == 0
    first, second = (tmp_path / "a.tsv").read_text(), (tmp_path / "b.tsv").read_text()
    assert first == second and len(_rows(first)) == len(_expected([3718, 7157]))


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--term", "JAK3[gene]", "--mindate", "2020-01-01", "--maxdate", "2021"], "slashes"),
        (["--term", "JAK3[gene]", "--mindate", "2020"], "needs maxdate"),
        (["--ids", "3718", "--mindate", "2020", "--maxdate", "2021"], "needs --term"),
        (["-", "--ids", "3718"], "both IDS and --ids"),
        ([], "none given"),
        (["--ids", "3718", "--fields", "A=CHRPOS,A=SNP_ID"], "twice"),
        (["--ids", "3718", "--reldate", "soon", "--term", "x"], "IDS"),
    ],
)
def test_a_bad_flag_is_one_line_and_exit_2(args: list[str], words: str, capsys) -> None:
    assert main(["link", "gene", "snp", *args, "--endpoint", "embedded"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("harvester: error: ") and words in err, err


def test_an_unknown_flag_exits_2(capsys) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["link", "gene", "snp", "--ids", "3718", "--no-such-flag"])
    assert stopped.value.code == 2
    assert "--no-such-flag" in capsys.readouterr().err.splitlines()[-1]


EDIRECT = (
    'esearch -db gene -query "JAK3[gene] AND human[orgn]" | elink -target snp | '
    "efetch -format docsum | xtract -pattern DocumentSummary -element SNP_ID CHRPOS"
)
README_LINE = (
    'harvester link gene snp --term "JAK3[gene] AND human[orgn]" --fields SNP_ID,CHRPOS '
    "--endpoint embedded"
)


def test_the_readme_edirect_equivalent_gives_the_dataset_rows(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    readme = (ROOT / "README.md").read_text()
    assert EDIRECT in readme and README_LINE in readme
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert main([*shlex.split(README_LINE)[1:], "-q"]) == 0
    rows = _rows(capsys.readouterr().out)
    got = sorted((r["SNP_ID"], r["CHRPOS"]) for r in rows)
    assert got == sorted((snp, pos) for _, snp, pos in _expected([3718]))
    if shutil.which("esearch") is None:
        pytest.skip("EDirect is not installed: compared with the dataset's rows only")
    edirect = subprocess.run(["sh", "-c", EDIRECT], capture_output=True, text=True, timeout=600)
    if edirect.returncode != 0 or not edirect.stdout.strip():
        pytest.skip(f"EDirect could not reach NCBI: {edirect.stderr.strip()[:200]}")
    lines = {tuple(line.split("\t")) for line in edirect.stdout.splitlines() if line}
    assert set(got) <= lines  # EDirect asks NCBI: the dataset holds some of JAK3's SNPs
