"""The client over loopback against the real emulator: the seed's workflows end to end."""

from __future__ import annotations

import asyncio

import pytest
from eutils_helpers import fast_client

from harvester.emulator.config import EmulatorConfig
from harvester.emulator.server import Emulator
from harvester.errors import HistoryExpiredError
from harvester.eutils.client import EutilsClient, index_by_id
from harvester.eutils.pacing import Gate, policy_for
from harvester.eutils.results import IdCheck, LinkSet, LinkSetHistory

JAK3_SNPS = {"3008", "11888", "867174"}


async def test_epost_elink_history_efetch_the_jak3_snps(emulator: Emulator) -> None:
    async with fast_client(emulator.base_url) as client:
        post = await client.epost("gene", ["3718"])
        (hist,) = await client.elink(
            "gene", db="snp", cmd="neighbor_history", webenv=post.webenv, query_key=post.query_key
        )
        assert isinstance(hist, LinkSetHistory)
        assert hist.webenv == post.webenv
        (entry,) = [h for h in hist.histories if h.linkname == "gene_snp"]
        records = [
            (r.uid, r.findtext("SNP_ID"), r.findtext("GENES/GENE_E/GENE_ID"))
            async for r in client.efetch(
                "snp", webenv=hist.webenv, query_key=entry.query_key, retstart=0, retmax=500
            )
        ]
    assert {uid for uid, _, _ in records} == JAK3_SNPS
    assert all(uid == snp_id for uid, snp_id, _ in records)
    assert client.stats.get("efetch/records") == 3


async def test_esearch_counts_a_history_set(emulator: Emulator) -> None:
    async with fast_client(emulator.base_url) as client:
        post = await client.epost("snp", ["3008", "11888", "867174"])
        found = await client.esearch("snp", f"#{post.query_key}", webenv=post.webenv)
        stored = await client.esearch(
            "snp", f"#{post.query_key}", webenv=post.webenv, usehistory=True, retmax=0
        )
    assert found.count == 3 and set(found.ids) == JAK3_SNPS
    assert stored.count == 3 and stored.query_key is not None


async def test_reads_of_a_webenv_said_lost_fail_at_once_and_send_nothing(
    emulator: Emulator,
) -> None:
    async with fast_client(emulator.base_url) as client:
        post = await client.epost("snp", ["3008", "11888", "867174"])
        client.history_lost(post.webenv)
        with pytest.raises(HistoryExpiredError):
            _ = [r async for r in client.efetch("snp", webenv=post.webenv, query_key="1")]
        with pytest.raises(HistoryExpiredError):
            await client.esearch("snp", f"#{post.query_key}", webenv=post.webenv, retmax=0)
        again = await client.epost("snp", ["242"], webenv=post.webenv)  # not a read: it goes
    assert client.stats.get("requests/efetch") == client.stats.get("requests/esearch") == 0
    assert client.stats.get("requests/epost") == 2
    assert again.query_key


async def test_esummary_of_snp_242(emulator: Emulator) -> None:
    async with fast_client(emulator.base_url) as client:
        # fields are read while the stream sits on the record (it is cleared afterwards);
        # snp answers the 2.0 shape by default, as NCBI (docs/NCBI_BEHAVIOUR.md)
        summaries = [
            (r.uid, r.findtext("SNP_CLASS"), r.findtext("CHRPOS"))
            async for r in client.esummary("snp", ids=["242"])
        ]
        json_summaries = [r async for r in client.esummary("snp", ids=["242"], retmode="json")]
    assert summaries == [("242", "in-del", "1:20742047")]
    assert [(r.uid, r.findtext("snp_class")) for r in json_summaries] == [("242", "in-del")]


async def test_elink_of_snp_242_matches_the_seed(emulator: Emulator) -> None:
    async with fast_client(emulator.base_url) as client:
        items = await client.elink("snp", ["242"], db="all")
    (linkset,) = index_by_id(items)["242"]
    assert isinstance(linkset, LinkSet)
    links = {d.linkname: d.links for d in linkset.dbs}
    assert links["snp_pubmed"] == ("8808290",)
    assert links["snp_taxonomy"] == ("9606",)
    assert links["snp_unists"] == ("71299",)


async def test_neighbor_score_and_checks(emulator: Emulator) -> None:
    async with fast_client(emulator.base_url) as client:
        (scored,) = await client.elink("pubmed", ["12345678"], db="gene", cmd="neighbor_score")
        checks = await client.elink("pubmed", ["12345678"], cmd="ncheck")
    assert isinstance(scored, LinkSet)
    (genes,) = [d for d in scored.dbs if d.linkname == "pubmed_gene"]
    assert dict(zip(genes.links, genes.scores or (), strict=True)) == {"7157": 1000, "672": 800}
    assert all(isinstance(c, IdCheck) for c in checks)


async def test_per_id_linksets_for_many_ids_by_post(emulator: Emulator) -> None:
    ids = ["3718"] + [str(10_000_000 + i) for i in range(250)]
    async with fast_client(emulator.base_url) as client:
        items = await client.elink("gene", ids, db="snp")
    by_id = index_by_id(items)
    (jak3,) = by_id["3718"]
    assert isinstance(jak3, LinkSet)
    assert set(jak3.dbs[0].links) == JAK3_SNPS


def paced_client(base_url: str, rate: float) -> EutilsClient:
    """A client whose gate runs at `rate` per second in real time (retry waits not slept)."""
    client = fast_client(base_url, concurrency=4)
    client.transport.gate = client.gate = Gate(policy_for("custom", rate=rate))
    return client


async def test_paced_at_the_limit_the_emulator_never_refuses() -> None:
    config = EmulatorConfig(rate_limit=True, speedup=20)  # 60 requests/s without a key
    async with Emulator(config) as emu, paced_client(emu.base_url, 60) as client:
        results = await asyncio.gather(*(client.esearch("gene", "JAK3") for _ in range(45)))
    assert len(results) == 45
    assert client.stats.get("http/429") == 0
    assert client.stats.get("http/200") == 45


async def test_an_over_eager_client_is_refused_and_still_finishes() -> None:
    config = EmulatorConfig(rate_limit=True, speedup=20)
    async with Emulator(config) as emu, paced_client(emu.base_url, 400) as client:
        posts = await asyncio.gather(*(client.epost("snp", ["242"]) for _ in range(100)))
    assert len(posts) == 100
    assert client.stats.get("http/429") >= 1
    assert client.stats.get("retry/http_429") == client.stats.get("http/429")
    assert client.gate.stats.get("gate/slowdowns") >= 1


async def test_emulator_faults_are_survived() -> None:
    plan = "500:0.08,502:0.08,503:0.08,empty:0.08,cut:0.08,backend:0.08,unable:0.04"
    emulator = Emulator(EmulatorConfig(faults=plan, seed=11))
    async with emulator as emu, fast_client(emu.base_url, max_attempts=8) as client:
        post = await client.epost("gene", ["3718"])
        for _ in range(15):
            (hist,) = await client.elink(
                "gene",
                db="snp",
                cmd="neighbor_history",
                webenv=post.webenv,
                query_key=post.query_key,
            )
            assert isinstance(hist, LinkSetHistory)
            key = hist.histories[0].query_key
            uids = {r.uid async for r in client.efetch("snp", webenv=hist.webenv, query_key=key)}
            assert uids == JAK3_SNPS
    retries = client.stats.prefixed("retry")
    assert sum(retries.values()) >= 3, retries
    assert len(retries) >= 3  # several kinds of fault were met and classified


async def test_pooled_connections_the_server_closed_are_resent_at_once_not_as_faults() -> None:
    config = EmulatorConfig(faults="closed:0.5", seed=3)
    async with (  # every request by POST, which aiohttp itself would never resend
        Emulator(config) as emu,
        fast_client(emu.base_url, concurrency=2, post_threshold=0) as client,
    ):
        ids = [str(g) for g in emu.state.dataset.uids("gene")][:60]
        found = await asyncio.gather(*(client.elink("gene", [i], db="snp") for i in ids))
    assert len(found) == len(ids)
    closed = client.stats.get("connection/closed_by_server")
    assert closed >= 5
    assert not [k for k in client.stats.snapshot() if k.startswith(("retry/", "giveup/"))]
