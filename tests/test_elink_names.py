"""einfo is advice, elink is truth: a link name NCBI's einfo leaves out (`pubmed_pubmed_citedin`)
is asked of elink with one id in one request, and only a name elink refuses too is refused;
`linkname: all` keeps every name elink answers. On the real emulator, whose einfo lists what
NCBI's lists (omissions included) while its elink serves what NCBI's serves."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from eutils_helpers import fast_client
from harvest_helpers import TINY, read_jsonl

from harvester.config import JobConfig, load_job
from harvester.emulator.server import Emulator
from harvester.errors import ConfigError
from harvester.workflow.elink_probe import Verdict, probe_name
from harvester.workflow.names import CACHE_NAME, checked_names
from harvester.workflow.runner import STORE_NAME, RunOptions, run_job
from harvester.workflow.store import Store

JOBS = Path(__file__).resolve().parents[1] / "configs" / "jobs"
CITEDIN = "pubmed_pubmed_citedin"


def pubmed_job(tmp_path: Path, linkname: str, ids: list[int]) -> JobConfig:
    path = tmp_path / "job.yaml"
    path.write_text(
        f"source: {{ids: {ids}}}\ndbfrom: pubmed\ndb: pubmed\nlinkname: {linkname}\n"
        "output: {path: out.jsonl}\nendpoint: embedded\n"
    )
    return load_job(path)


def cited(emulator: Emulator, has: bool) -> int:
    """A PubMed id of the dataset that has (or lacks) `_citedin` links."""
    ds = emulator.state.dataset
    return next(u for u in ds.uids("pubmed") if bool(ds.links(CITEDIN, u)) == has)


async def test_the_emulators_einfo_leaves_citedin_out_as_ncbis_does(emulator: Emulator) -> None:
    async with fast_client(emulator.base_url) as client:
        info = await client.einfo_db("pubmed")
    names = {link.name for link in info.links}
    assert CITEDIN not in names and "pubmed_pubmed_refs" in names
    assert {"pubmed_clinvar", "pubmed_medgen", "pubmed_sra"} <= names


async def test_a_name_einfo_leaves_out_costs_one_elink_request_then_is_kept(
    tmp_path: Path, emulator: Emulator
) -> None:
    job = pubmed_job(tmp_path, f"[pubmed_pubmed, {CITEDIN}]", [cited(emulator, True)])
    async with fast_client(emulator.base_url) as client:
        checked, warnings = await checked_names(job, client)
        assert (checked.linknames, warnings) == (("pubmed_pubmed", CITEDIN), ())
        assert client.stats.get("requests/elink") == 1  # one id, one request
        cache = json.loads((job.job_dir / CACHE_NAME).read_text())
        assert [link[0] for link in cache["elink"]] == [CITEDIN]
        asked = client.stats.get("requests/einfo")
        assert (await checked_names(job, client))[0].linknames == checked.linknames
        assert client.stats.get("requests/elink") == 1  # the cache answered
        assert client.stats.get("requests/einfo") == asked


async def test_a_name_neither_einfo_nor_elink_knows_is_refused_with_a_did_you_mean(
    tmp_path: Path, emulator: Emulator
) -> None:
    job = pubmed_job(tmp_path, "pubmed_pubmed_citedn", [cited(emulator, True)])
    async with fast_client(emulator.base_url) as client:
        with pytest.raises(ConfigError) as info:
            await checked_names(job, client)
        assert client.stats.get("requests/elink") == 1
    message = str(info.value)
    assert message.startswith(
        f"{job.job_file}:4: the endpoint's einfo lists no link name 'pubmed_pubmed_citedn' from "
        f"pubmed (did you mean '{CITEDIN}'?), and its elink refused it too ("
    )
    assert "pubmed_pubmed_citedn" in message.split("refused it too")[1]


async def test_the_probe_tells_an_unknown_name_from_an_id_without_such_links(
    tmp_path: Path, emulator: Emulator
) -> None:
    job = pubmed_job(tmp_path, CITEDIN, [1])
    async with fast_client(emulator.base_url) as client:
        with_links = await probe_name(client, job, CITEDIN, cited(emulator, True))
        without = await probe_name(client, job, CITEDIN, cited(emulator, False))
        unknown = await probe_name(client, job, "pubmed_pubmed_citedn", cited(emulator, True))
    assert (with_links.verdict, with_links.dbto) == (Verdict.ANSWERED, "pubmed")
    assert without.verdict == Verdict.SILENT  # a known name, no links for this id
    assert unknown.verdict == Verdict.REFUSED and "pubmed_pubmed_citedn" in unknown.detail


async def test_a_silent_answer_keeps_the_name_with_a_warning(
    tmp_path: Path, emulator: Emulator
) -> None:
    """The probe's id has no `_citedin` links: elink neither proves nor refuses the name."""
    job = pubmed_job(tmp_path, CITEDIN, [cited(emulator, False)])
    async with fast_client(emulator.base_url) as client:
        checked, warnings = await checked_names(job, client)
    assert checked.linknames == (CITEDIN,)
    assert len(warnings) == 1 and f"elink answered no {CITEDIN} links for id" in warnings[0]
    assert json.loads((job.job_dir / CACHE_NAME).read_text())["elink"] == []


def test_linkname_all_keeps_every_name_elink_answers(tmp_path: Path) -> None:
    job = load_job(
        JOBS / "pubmed_citations.yaml",
        {
            "output.path": str(tmp_path / "all.jsonl"),
            "linkname": "all",
            "policy": "custom",
            "rate": 1000,
        },
    )
    summary = asyncio.run(run_job(job, RunOptions(quiet=True)))
    first = job.output.path.read_bytes()
    rows = read_jsonl(job.output.path)
    names = {link["linkname"] for row in rows for link in row["links"]}
    assert CITEDIN in names and "pubmed_pubmed_five" in names  # einfo lists neither
    sources = [int(i) for i in job.source.ids]
    truth = TINY.ground_truth(CITEDIN, sources)
    for row in rows:
        got = [int(ln["id"]) for ln in row["links"] if ln["linkname"] == CITEDIN]
        assert got == [link.target for link in truth[int(row["source"])]]
    assert summary["links_by_name"][CITEDIN] == sum(len(t) for t in truth.values()) > 0
    store = Store(job.job_dir / STORE_NAME, lock=False, read_only=True)
    try:
        kept = store.linknames()
    finally:
        store.close()
    assert kept[:4] == [  # einfo's names first, then those elink answered, as first seen
        "pubmed_pubmed",
        "pubmed_pubmed_alsoviewed",
        "pubmed_pubmed_bookrecords",
        "pubmed_pubmed_refs",
    ]
    assert CITEDIN in kept[4:]
    job.output.path.unlink()
    asyncio.run(run_job(job, RunOptions(quiet=True)))  # resumed: nothing left, same output
    assert job.output.path.read_bytes() == first
