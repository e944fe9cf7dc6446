"""A streaming page's batches are packed on the parse thread as its records are digested, where
the fetcher will cut them, so a batch costs no hand-off to the parse thread of its own; each
batch's blob holds exactly that batch's records, also when the fetcher's batches no longer fall
where the parse thread's do (a sink that keeps a batch). Against the emulator over loopback."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from eutils_helpers import fast_client
from harvest_helpers import make_job

from harvester.emulator.config import EmulatorConfig
from harvester.emulator.server import Emulator
from harvester.eutils.results import LinkSetHistory
from harvester.workflow import kept
from harvester.workflow.fetching import Fetcher
from harvester.workflow.hedge import Hedger

GENES = [672, 3718, 7157, 653635, *range(1000000, 1000311)]
"""The tiny dataset's first genes: ~600 SNPs, a page of 200 at ~21 KB a record ~4 MB, ~8
batches (budget.BATCH_BYTES)."""


async def _fetched(
    tmp: Path, keeps: set[int], **job: Any
) -> tuple[list[kept.Packed], bool, list[str]]:
    """One page read by `Fetcher._fetch` with a sink that keeps the batches numbered `keeps`
    (0 first) for the next: (the batches it took and the rest, whether there was a rest, the
    parse thread's work kinds)."""
    async with (
        Emulator(EmulatorConfig(record_bytes=21000)) as emu,
        fast_client(emu.base_url) as client,
    ):
        post = await client.epost("gene", [str(g) for g in GENES])
        (hist,) = await client.elink(
            "gene", db="snp", cmd="neighbor_history", webenv=post.webenv, query_key=post.query_key
        )
        assert isinstance(hist, LinkSetHistory)
        (entry,) = [h for h in hist.histories if h.linkname == "gene_snp"]
        fetcher = Fetcher(
            make_job(tmp, **job),
            client,
            Hedger(latency=lambda: 1.0, idle=lambda: False, clock=time.monotonic),
        )
        kinds: list[str] = []
        submit = client.transport.submit

        def counted(work: Any, kind: str = "parse") -> Any:
            kinds.append(kind)
            return submit(work, kind)

        client.transport.submit = counted  # type: ignore[method-assign]
        offered: list[kept.Packed] = []
        taken: list[kept.Packed] = []

        async def sink(batch: kept.Packed, _versions: object) -> bool:
            offered.append(batch)
            if len(offered) - 1 in keeps:
                return False
            taken.append(batch)
            return True

        rest, missing, _ = await fetcher._fetch(
            webenv=hist.webenv, query_key=entry.query_key, retstart=0, retmax=200, sink=(sink, [])
        )
    assert not missing
    if rest:  # a plain empty list when the last batch took every record
        assert isinstance(rest, kept.Packed)
        taken.append(rest)
    return taken, bool(rest), kinds


def _whole(batch: kept.Packed) -> list[tuple[int, bytes]]:
    return [(uid, whole) for uid, (_, whole) in batch]


async def test_a_pages_batches_are_packed_where_they_are_parsed(tmp_path: Path) -> None:
    batches, rest, kinds = await _fetched(tmp_path, keeps=set())
    assert len(batches) >= 4
    for batch in batches:
        assert list(kept.unpack(batch.blob)) == _whole(batch)
    assert kinds.count("pack") == rest  # only the rest, once the answer has ended
    uids = [uid for batch in batches for uid, _ in batch]
    assert len(uids) == len(set(uids)) == 200


@pytest.mark.parametrize("keeps", [{0}, {1, 2}])
async def test_batches_a_sink_kept_are_packed_again_whole(tmp_path: Path, keeps: set[int]) -> None:
    """A kept batch goes on growing on the loop, so the parse thread's batches no longer match
    the fetcher's: each is packed again from the records it holds, none lost or doubled."""
    batches, rest, kinds = await _fetched(tmp_path, keeps)
    for batch in batches:
        assert list(kept.unpack(batch.blob)) == _whole(batch)
    assert kinds.count("pack") > rest
    uids = [uid for batch in batches for uid, _ in batch]
    assert len(uids) == len(set(uids)) == 200


async def test_a_json_answer_digested_on_the_loop_packs_its_batches_off_it(tmp_path: Path) -> None:
    """A JSON esummary is digested where it is parsed, on the loop: its batches are not
    packed there (compression would stall the loop) but sent to the parse thread as before."""
    batches, rest, kinds = await _fetched(
        tmp_path, set(), fetch={"via": "esummary", "retmode": "json"}
    )
    assert len(batches) - rest >= 1  # batches taken before the answer's end
    for batch in batches:
        assert list(kept.unpack(batch.blob)) == _whole(batch)
    assert kinds.count("pack") == len(batches)
