"""Chromosome-sized records: a sequence past libxml2's 10 MB text limit is fetched, parsed, kept
and joined (huge_tree), and our own per-record bound, `max_record_bytes`, decides what is too big:
one clear error naming the setting and the request, with no retry."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from eutils_helpers import fast_client
from harvest_helpers import make_job, read_jsonl

from harvester.emulator.config import EmulatorConfig
from harvester.emulator.dataset import Dataset
from harvester.emulator.records import Records
from harvester.emulator.server import Emulator
from harvester.emulator.spec import load_spec
from harvester.errors import ConfigError, ParseError
from harvester.eutils.parse import parse_bytes, parse_chunks
from harvester.eutils.results import Record
from harvester.eutils.retry import Fail, classify
from harvester.eutils.xmlstream import RecordTooLarge
from harvester.workflow import kept
from harvester.workflow.field_paths import record_paths
from harvester.workflow.runner import RunOptions, client_config, run_job
from harvester.workflow.store import Store

LONG = 11_000_000
"""Bases: past libxml2's 10,000,000-byte limit on one text node without huge_tree."""


def gbseq(accession: str, gi: int, sequence: str) -> str:
    return (
        f"<GBSeq><GBSeq_locus>{accession}</GBSeq_locus><GBSeq_moltype>DNA</GBSeq_moltype>"
        f"<GBSeq_accession-version>{accession}.1</GBSeq_accession-version>"
        f"<GBSeq_other-seqids><GBSeqid>gi|{gi}</GBSeqid></GBSeq_other-seqids>"
        f"<GBSeq_sequence>{sequence}</GBSeq_sequence></GBSeq>\n"
    )


def gbset(*records: str) -> bytes:
    return ('<?xml version="1.0"?>\n<GBSet>\n' + "".join(records) + "</GBSet>\n").encode()


def sequences(body: bytes, **options: int) -> list[tuple[str, str]]:
    """(uid, sequence) of every record, read while each record is whole."""
    return [
        (r.uid, r.element.findtext("GBSeq_sequence") or "")
        for r in parse_bytes(body, db="nuccore", **options)
        if isinstance(r, Record) and r.element is not None
    ]


def test_an_11_mb_sequence_parses_whole() -> None:
    sequence = "acgt" * (LONG // 4)
    body = gbset(gbseq("NC_000021", 21, sequence), gbseq("NM_1", 1, "acgt"))
    got = sequences(body)
    assert [uid for uid, _ in got] == ["NC_000021.1", "NM_1.1"]
    assert got[0][1] == sequence


def test_a_record_past_the_bound_stops_the_parse_before_libxml2_reads_further() -> None:
    bound, chunk = 1_000_000, 32 * 1024
    body = gbset(gbseq("NM_1", 1, "acgt"), gbseq("NC_2", 2, "a" * 3 * bound))
    fed: list[int] = []

    def chunks() -> object:
        for i in range(0, len(body), chunk):
            fed.append(chunk)
            yield body[i : i + chunk]

    with pytest.raises(RecordTooLarge) as caught:
        list(parse_chunks(chunks(), db="nuccore", max_record_bytes=bound))  # type: ignore[arg-type]
    message = str(caught.value)
    assert "record 2 of the response (after uid NM_1.1)" in message
    assert f"max_record_bytes ({bound} bytes)" in message and "fetch.max_record_mb" in message
    assert sum(fed) <= bound + 2 * chunk  # refused after ~bound bytes, not at the body's end


def test_the_bound_is_per_record_not_per_body() -> None:
    body = gbset(*(gbseq(f"NM_{i}", i, "acgt" * 2_500) for i in range(100)))  # ~1 MB in all
    assert len(body) > 500_000
    assert len(sequences(body, max_record_bytes=50_000)) == 100


def test_a_record_over_the_bound_is_not_retried() -> None:
    assert isinstance(classify(RecordTooLarge(10, None, 0)), Fail)


def test_a_record_nested_2000_deep_is_listed_without_recursion() -> None:
    """huge_tree lets elements nest 2,048 deep (256 before): deeper than Python's recursion."""
    depth = 2_000
    inner = "<x>" * depth + "leaf" + "</x>" * depth
    body = gbset(gbseq("NM_1", 1, "acgt").replace("<GBSeq_sequence>", inner + "<GBSeq_sequence>"))
    paths = [
        path
        for r in parse_bytes(body, db="nuccore")
        if isinstance(r, Record)
        for path, _ in record_paths(r)
    ]
    assert "/".join(["x"] * depth) in paths
    assert "GBSeq_sequence" in paths


@pytest.fixture(scope="module")
def long_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny dataset with its first nuccore record holding an 11 MB sequence."""
    path = tmp_path_factory.mktemp("dataset") / "long.yaml"
    path.write_text(f"long_sequence: {LONG}\n")
    return path


def long_record(dataset: Path) -> tuple[int, int, str]:
    """(gene uid, nuccore uid, sequence as GBSeq writes it) of the long record."""
    ds = Dataset(load_spec(dataset))
    uid = ds.maps["nuccore"].uid(0)
    gene = ds.maps["gene"].uid(ds.gene_protein.home(0) or 0)
    info = Records(ds).seq("nuccore", uid)
    assert info is not None and len(info.sequence) == LONG
    return gene, uid, info.sequence.lower()


async def test_the_emulator_serves_an_11_mb_record_that_is_fetched_and_kept_whole(
    long_dataset: Path,
) -> None:
    _, uid, sequence = long_record(long_dataset)
    emulator = Emulator(EmulatorConfig(dataset=long_dataset))
    async with emulator as emu, fast_client(emu.base_url) as client:
        got = [
            (record.element.findtext("GBSeq_sequence"), kept.raw(record))
            async for record in client.efetch("nuccore", ids=[str(uid)])
            if record.element is not None
        ]
    assert client.stats.get("requests/efetch") == 1
    ((fetched, raw),) = got
    assert fetched == sequence
    ((kept_uid, body),) = kept.unpack(kept.pack([(uid, raw)]))
    again = kept.parsed("nuccore", kept_uid, body)
    assert again.element is not None and again.element.findtext("GBSeq_sequence") == sequence


async def test_a_record_over_the_configured_bound_fails_once_naming_it(
    long_dataset: Path,
) -> None:
    _, uid, _ = long_record(long_dataset)
    emulator = Emulator(EmulatorConfig(dataset=long_dataset))
    async with emulator as emu, fast_client(emu.base_url, max_record_bytes=LONG // 2) as client:
        with pytest.raises(ParseError) as caught:
            [r async for r in client.efetch("nuccore", ids=[str(uid)])]
    message = str(caught.value)
    assert "max_record_bytes" in message and "fetch.max_record_mb" in message
    assert f"efetch of nuccore, id {uid}" in message
    assert "malformed" not in message and "\n" not in message
    assert client.stats.get("requests/efetch") == 1  # our limit: not retried
    assert client.stats.get("bytes/in") <= LONG // 2 + 64 * 1024


def test_gene_to_nuccore_efetch_joins_the_11_mb_record_and_keeps_it(
    tmp_path: Path, long_dataset: Path
) -> None:
    gene, uid, sequence = long_record(long_dataset)
    job = make_job(
        tmp_path,
        [gene],
        db="nuccore",
        linkname="gene_nuccore",
        fetch={"via": "efetch"},
        fields={"LENGTH": "GBSeq_length", "SEQUENCE": "GBSeq_sequence"},
    )
    options = RunOptions(quiet=True, emulator=EmulatorConfig(dataset=long_dataset))
    asyncio.run(run_job(job, options))
    store = Store(job.job_dir / "state.sqlite", lock=False, read_only=True)
    try:
        kept_records = dict(store.kept_records())
    finally:
        store.close()
    again = kept.parsed("nuccore", uid, kept_records[uid])
    assert again.element is not None and again.element.findtext("GBSeq_sequence") == sequence
    (row,) = read_jsonl(job.output.path)
    links = {int(link["id"]): link for link in row["links"]}
    record = links[uid]["record"]
    assert (record["LENGTH"], record["SEQUENCE"]) == (str(LONG), sequence)


def test_the_job_file_sets_the_bound_in_mb(tmp_path: Path) -> None:
    assert make_job(tmp_path).fetch.max_record_mb == 256  # the default, documented
    job = make_job(tmp_path, fetch={"max_record_mb": 2})
    assert client_config(job, "http://127.0.0.1:1/").max_record_bytes == 2_000_000
    with pytest.raises(ConfigError, match=r"fetch.max_record_mb must be 1..900, got 901"):
        make_job(tmp_path, fetch={"max_record_mb": 901})
