"""A job's database and link names are checked against the endpoint's einfo, cached in the job
directory; an unknown name is refused with the endpoint's list and a did-you-mean, and an
unreachable einfo is a warning, never a refusal."""

from __future__ import annotations

import io
import json
import socket
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from eutils_helpers import fast_client

from harvester.cli import main
from harvester.config import JobConfig, load_job
from harvester.emulator.server import Emulator
from harvester.errors import ConfigError
from harvester.eutils.client import EutilsClient
from harvester.eutils.pacing import Gate
from harvester.eutils.parse import parse_bytes
from harvester.eutils.results import DbInfo, DbLink, DbList
from harvester.eutils.settings import ClientConfig
from harvester.workflow.names import (
    CACHE_NAME,
    EndpointNames,
    check_names,
    checked_names,
    names_for,
)

PUBMED_LINKS = (  # the LinkList einfo db=pubmed gives: several link names lead to pubmed
    DbLink("pubmed_gene", "Gene Links", "Genes of the article", "gene"),
    DbLink("pubmed_pubmed", "Similar articles", "Similar PubMed articles", "pubmed"),
    DbLink("pubmed_pubmed_citedin", "Cited by", "PubMed articles that cite it", "pubmed"),
    DbLink("pubmed_pubmed_refs", "References", "PubMed articles it cites", "pubmed"),
)


def job_file(tmp_path: Path, body: str, endpoint: str = "embedded") -> Path:
    path = tmp_path / "job.yaml"
    path.write_text(
        f"source: {{ids: [1, 2]}}\n{body}output: {{path: out.jsonl}}\nendpoint: {endpoint}\n"
    )
    return path


def pubmed_job(tmp_path: Path, linkname: str) -> JobConfig:
    return load_job(job_file(tmp_path, f"dbfrom: pubmed\ndb: pubmed\nlinkname: {linkname}\n"))


def real_dbs(samples: Path) -> tuple[str, ...]:
    """The database list of NCBI's own einfo answer."""
    (dblist,) = parse_bytes((samples / "biocommons_eutils/einfo_dblist.xml").read_bytes())
    assert isinstance(dblist, DbList)
    return dblist.dbs


def test_ncbis_real_list_accepts_its_databases_and_the_alias(samples: Path, tmp_path: Path) -> None:
    names = EndpointNames(real_dbs(samples), "pubmed", PUBMED_LINKS)
    job = pubmed_job(tmp_path, "pubmed_pubmed_citedin")
    assert check_names(job, names) is job
    assert {"clinvar", "nucleotide", "nuccore"} <= set(names.dbs)


def test_unknown_link_name_is_refused_with_the_list_and_a_did_you_mean(tmp_path: Path) -> None:
    names = EndpointNames(("pubmed", "gene"), "pubmed", PUBMED_LINKS)
    with pytest.raises(ConfigError) as info:
        check_names(pubmed_job(tmp_path, "[pubmed_pubmed, pubmed_pubmed_citedn]"), names)
    assert str(info.value) == (
        f"{tmp_path / 'job.yaml'}:4: the endpoint's einfo lists no link name "
        "'pubmed_pubmed_citedn' from pubmed (did you mean 'pubmed_pubmed_citedin'?); its link "
        "names from pubmed to pubmed: pubmed_pubmed, pubmed_pubmed_citedin, pubmed_pubmed_refs"
    )
    with pytest.raises(
        ConfigError, match=r"job.yaml:4: link name 'pubmed_gene' links pubmed to gene, not"
    ):
        check_names(pubmed_job(tmp_path, "pubmed_gene"), names)


def test_unknown_database_is_refused_with_the_endpoints_list(tmp_path: Path) -> None:
    names = EndpointNames(("pubmed", "gene", "snp"), "pubmed", PUBMED_LINKS)
    job = load_job(job_file(tmp_path, "dbfrom: pubmed\ndb: snpp\nfetch: {via: esummary}\n"))
    with pytest.raises(ConfigError) as info:
        check_names(job, names)
    assert str(info.value) == (
        f"{tmp_path / 'job.yaml'}:3: the endpoint's einfo lists no database 'snpp' "
        "(did you mean 'snp'?); its databases: pubmed, gene, snp"
    )


def test_linkname_all_becomes_every_link_name_to_db_in_einfos_order(tmp_path: Path) -> None:
    names = EndpointNames(("pubmed",), "pubmed", PUBMED_LINKS)
    resolved = check_names(pubmed_job(tmp_path, "all"), names)
    assert resolved.linknames == ("pubmed_pubmed", "pubmed_pubmed_citedin", "pubmed_pubmed_refs")


async def test_einfo_is_asked_once_and_cached_in_the_job_directory(
    tmp_path: Path, emulator: Emulator
) -> None:
    job = load_job(job_file(tmp_path, "dbfrom: gene\ndb: nucleotide\nfetch: {rettype: gb}\n"))
    async with fast_client(emulator.base_url) as client:  # unpaced: the cache is the point
        names = await names_for(client, job)
        assert names is not None and names.dbs is None  # gene's LinkList proved both names
        assert any(link.name == "gene_nuccore" for link in names.links)
        assert check_names(job, names).linknames == ("gene_nuccore",)
        asked = client.stats.get("requests/einfo")
        assert asked == 1
        assert (await checked_names(job, client))[0].linknames == ("gene_nuccore",)
        assert client.stats.get("requests/einfo") == asked  # the cache answered
        cache = job.job_dir / CACHE_NAME
        assert json.loads(cache.read_text())["dbs"] is None  # kept as einfo said it
        stale = json.loads(cache.read_text())
        cache.write_text(json.dumps({**stale, "links": []}))  # from before the name existed
        assert (await checked_names(job, client))[0].linknames == ("gene_nuccore",)
        assert client.stats.get("requests/einfo") == 2 * asked  # asked again, not refused
        assert json.loads(cache.read_text()) == stale


async def test_the_database_list_is_asked_only_for_a_refusal(
    tmp_path: Path, emulator: Emulator
) -> None:
    """A LinkList that lacks a name, or a dbfrom einfo cannot describe, costs a second
    request: the database list the refusal quotes."""
    async with fast_client(emulator.base_url) as client:
        job = load_job(job_file(tmp_path, "dbfrom: gene\ndb: snp\nlinkname: gene_snps\n"))
        with pytest.raises(ConfigError, match=r"no link name 'gene_snps'.*did you mean 'gene_snp'"):
            await checked_names(job, client)
        assert client.stats.get("requests/einfo") == 2
        names = json.loads((job.job_dir / CACHE_NAME).read_text())
        assert "snp" in names["dbs"] and "gene_snp" in [link[0] for link in names["links"]]
        wrong_from = tmp_path / "from"
        wrong_from.mkdir()
        job = load_job(job_file(wrong_from, "dbfrom: gen\ndb: snp\n"))
        with pytest.raises(ConfigError, match="no database 'gen' \\(did you mean 'gene'\\?\\)"):
            await checked_names(job, client)
        assert client.stats.get("requests/einfo") == 4


async def test_unreachable_einfo_is_a_warning_not_a_refusal(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/entrez/eutils/"
    job = load_job(job_file(tmp_path, "dbfrom: gene\ndb: unists\nfetch: {via: esummary}\n", url))

    async def no_wait(_: float) -> None:
        return None

    config = ClientConfig(base_url=url, policy="custom", rate=1000, max_outage_seconds=1.0)
    gate = Gate(config.rate_policy())  # its own: the process-wide gate paces at NCBI's rate
    async with EutilsClient(config, gate=gate, sleep=no_wait) as client:
        checked, warnings = await checked_names(job, client)
        assert checked is job
        assert warnings == (
            f"einfo could not be reached at {url}: databases and link names are not checked "
            "(the built-in table does not know unists, gene_unists)",  # NCBI dropped unists
        )
        with pytest.raises(ConfigError, match="'linkname: all' needs the endpoint's einfo"):
            await checked_names(pubmed_job(tmp_path, "all"), client)
        stale = {"endpoint": url, "dbfrom": "gene", "dbs": None, "links": []}
        job.job_dir.mkdir(parents=True, exist_ok=True)
        (job.job_dir / CACHE_NAME).write_text(json.dumps(stale))  # lacks gene_unists
        checked, warnings = await checked_names(job, client)  # stale, and einfo cannot say
        assert checked is job and warnings[0].startswith("einfo could not be reached")


def test_einfo_db_parses_the_linklist() -> None:
    body = (
        b'<?xml version="1.0" ?>\n<eInfoResult><DbInfo><DbName>gene</DbName>'
        b"<MenuName>Gene</MenuName><Description>Gene database</Description>"
        b"<LinkList><Link><Name>gene_nuccore_refseqrna</Name><Menu>RefSeq RNAs</Menu>"
        b"<Description>Link to RefSeq RNAs</Description><DbTo>nuccore</DbTo></Link>"
        b"</LinkList></DbInfo></eInfoResult>"
    )
    (info,) = parse_bytes(body)
    link = DbLink("gene_nuccore_refseqrna", "RefSeq RNAs", "Link to RefSeq RNAs", "nuccore")
    assert info == DbInfo("gene", "Gene", "Gene database", (link,))


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def test_links_command_lists_the_endpoints_link_names() -> None:
    code, out, _ = run_cli("links", "gene", "nucleotide", "--endpoint", "embedded")
    assert code == 0
    rows = [line.split(None, 2) for line in out.splitlines()]
    assert rows and all(row[1] == "nuccore" for row in rows)
    assert "gene_nuccore" in [row[0] for row in rows]
    code, out, err = run_cli("links", "gene", "mesh", "--endpoint", "embedded")
    assert (code, out) == (0, "")
    assert err == "harvester: the endpoint's einfo lists no link name from gene to mesh\n"
    code, _, err = run_cli("links", "gen", "--endpoint", "embedded")
    assert code == 2 and "lists no database 'gen' (did you mean 'gene'?)" in err


def test_plan_refuses_a_link_name_the_endpoint_does_not_list(tmp_path: Path) -> None:
    path = job_file(tmp_path, "dbfrom: gene\ndb: snp\nlinkname: gene_snps\n")
    code, out, err = run_cli("plan", str(path))
    assert code == 2 and out == ""
    assert err.startswith(f"harvester: error: {path}:4: the endpoint's einfo lists no link name")
    assert "(did you mean 'gene_snp'?)" in err
    code, out, _ = run_cli("plan", str(job_file(tmp_path, "dbfrom: gene\ndb: snp\n")))
    assert code == 0 and "gene -> snp: gene_snp (as the endpoint's einfo lists them)" in out
