"""Every endpoint and elink cmd over loopback, in XML and JSON, with NCBI's caps and errors."""

from __future__ import annotations

import asyncio
import json

import pytest
from eutils_raw import call, xml

from harvester.emulator.config import EmulatorConfig
from harvester.emulator.server import Emulator

SNP_NS = "{https://www.ncbi.nlm.nih.gov/SNP/docsum}"


async def test_einfo_lists_databases_and_describes_one(emulator, http):
    _, text = await call(http, emulator.base_url, "einfo")
    assert {"gene", "snp", "pubmed"} <= {d.text for d in xml(text).iter("DbName")}
    _, text = await call(http, emulator.base_url, "einfo", db="gene")
    doc = xml(text)
    assert doc.findtext("DbInfo/DbName") == "gene"
    assert "gene_snp" in {n.text for n in doc.iter("Name")}
    _, text = await call(http, emulator.base_url, "einfo", retmode="json")
    assert "snp" in json.loads(text)["einforesult"]["dblist"]


@pytest.mark.parametrize("endpoint", ["einfo", "esearch", "epost", "elink", "efetch", "esummary"])
async def test_invalid_db_is_an_in_band_error(emulator, http, endpoint):
    params = {"db": "fleegle", "id": "1", "term": "x", "dbfrom": "fleegle"}
    status, text = await call(http, emulator.base_url, endpoint, **params)
    assert status == 200
    message = xml(text).findtext("ERROR")
    assert message in (
        "Invalid db name specified: fleegle",
        "Can not retrieve DbInfo for db=fleegle",
    )


async def test_json_errors_use_ncbis_shapes(emulator, http):
    _, text = await call(http, emulator.base_url, "esearch", db="fleegle", term="x", retmode="json")
    assert json.loads(text)["esearchresult"] == {"ERROR": "Invalid db name specified: fleegle"}
    _, text = await call(http, emulator.base_url, "esummary", db="fleegle", id="1", retmode="json")
    assert json.loads(text)["esummaryresult"] == ["Invalid db name specified: fleegle"]


async def test_esearch_paging_history_and_json(emulator, http):
    _, text = await call(
        http,
        emulator.base_url,
        "esearch",
        db="snp",
        term="9606[TAX_ID]",
        retmax=5,
        retstart=2,
        usehistory="y",
        retmode="json",
    )
    result = json.loads(text)["esearchresult"]
    assert result["retmax"] == "5" and result["retstart"] == "2" and len(result["idlist"]) == 5
    assert int(result["count"]) > 7 and result["webenv"].startswith("MCID_")
    _, page = await call(
        http, emulator.base_url, "esearch", db="snp", term="#1", WebEnv=result["webenv"], retmax=3
    )
    ids = [i.text for i in xml(page).iter("Id")]
    assert xml(page).findtext("Count") == result["count"] and len(ids) == 3


async def test_esearch_phrase_not_found_is_reported_and_dropped(emulator, http):
    _, text = await call(
        http, emulator.base_url, "esearch", db="gene", term="JAK3[GENE] AND fleegle"
    )
    doc = xml(text)
    assert doc.findtext("ErrorList/PhraseNotFound") == "fleegle"
    assert [i.text for i in doc.iter("Id")] == ["3718"]
    _, text = await call(http, emulator.base_url, "esearch", db="gene", term="x[NOSUCHFIELD]")
    assert xml(text).findtext("ErrorList/FieldNotFound") == "x[NOSUCHFIELD]"
    assert xml(text).findtext("Count") == "0"


async def test_pubmed_esearch_reaches_only_9999_records(emulator, http):
    _, text = await call(
        http, emulator.base_url, "esearch", db="pubmed", term="cells", retstart=10_000
    )
    assert "9,999" in (xml(text).findtext("ERROR") or "")


async def test_epost_with_5000_ids_by_post_then_page_through(emulator, http):
    ids = [str(emulator.state.dataset.maps["snp"].uid(k)) for k in range(4000)]
    ids += [str(u) for u in range(1, 1001)]  # not records: still stored, as NCBI does
    status, text = await call(
        http, emulator.base_url, "epost", post=True, db="snp", id=",".join(ids)
    )
    assert status == 200
    env = xml(text).findtext("WebEnv")
    _, counted = await call(http, emulator.base_url, "esearch", db="snp", term="#1", WebEnv=env)
    assert xml(counted).findtext("Count") == "5000"
    _, page = await call(
        http,
        emulator.base_url,
        "efetch",
        post=True,
        db="snp",
        query_key=1,
        WebEnv=env,
        retstart=3990,
        retmax=500,
    )
    uids = [d.get("uid") for d in xml(page).iter(f"{SNP_NS}DocumentSummary")]
    expected = [u for u in ids[3990:4490] if emulator.state.dataset.exists("snp", int(u))]
    assert uids == expected and len(uids) < 500


async def test_epost_reports_ids_it_cannot_read(emulator, http):
    _, text = await call(http, emulator.base_url, "epost", db="gene", id="3718,abc")
    assert [i.text for i in xml(text).iter("Id")] == ["abc"]
    status, _ = await call(http, emulator.base_url, "epost", db="gene", id="abc,def")
    assert status == 400


async def test_elink_json_shapes_and_no_linksetdbs_key_without_links(emulator, http):
    no_links = emulator.state.dataset.maps["gene"].uid(1)  # generated gene with no SNPs
    assert emulator.state.dataset.links("gene_snp", no_links) == []
    _, text = await call(
        http,
        emulator.base_url,
        "elink",
        dbfrom="gene",
        db="snp",
        id=["3718", str(no_links)],
        retmode="json",
    )
    doc = json.loads(text)
    assert doc["header"] == {"type": "elink", "version": "0.3"}
    first, second = doc["linksets"]
    assert first["ids"] == ["3718"]
    assert first["linksetdbs"] == [
        {"dbto": "snp", "linkname": "gene_snp", "links": ["867174", "11888", "3008"]}
    ]
    assert second["ids"] == [str(no_links)] and "linksetdbs" not in second


async def test_elink_neighbor_history_json_and_webenv_reuse(emulator, http):
    _, text = await call(http, emulator.base_url, "epost", db="gene", id="3718")
    env = xml(text).findtext("WebEnv")
    _, linked = await call(
        http,
        emulator.base_url,
        "elink",
        dbfrom="gene",
        db="snp",
        id="3718,7157",
        cmd="neighbor_history",
        WebEnv=env,
        retmode="json",
    )
    ls = json.loads(linked)["linksets"][0]
    assert ls["webenv"] == env
    assert ls["linksetdbhistories"] == [{"dbto": "snp", "linkname": "gene_snp", "querykey": "2"}]
    _, counted = await call(
        http, emulator.base_url, "esearch", db="snp", term="#2", WebEnv=env, retmax=0
    )
    truth = {t for g in (3718, 7157) for t, _ in emulator.state.dataset.links("gene_snp", g)}
    assert xml(counted).findtext("Count") == str(len(truth))


PUBMED_PUBMED = [
    "pubmed_pubmed",
    "pubmed_pubmed_alsoviewed",
    "pubmed_pubmed_citedin",
    "pubmed_pubmed_combined",
    "pubmed_pubmed_five",
    "pubmed_pubmed_refs",
    "pubmed_pubmed_reviews",
    "pubmed_pubmed_reviews_five",
]


async def test_elink_pubmed_without_db_gives_one_linksetdb_per_pubmed_pubmed_name(emulator, http):
    ds = emulator.state.dataset
    uids = list(ds.uids("pubmed"))
    uid = next(u for u in uids[100:] if all(ds.links(n, u) for n in PUBMED_PUBMED))
    _, text = await call(http, emulator.base_url, "elink", dbfrom="pubmed", id=str(uid))
    dbs = xml(text).findall("LinkSet/LinkSetDb")
    assert [d.findtext("LinkName") for d in dbs] == PUBMED_PUBMED
    for d in dbs:
        assert [int(i.text) for i in d.iterfind("Link/Id")] == [
            t for t, _ in ds.links(d.findtext("LinkName"), uid)
        ]
    _, text = await call(http, emulator.base_url, "einfo", db="pubmed")
    names = [n.text for n in xml(text).iterfind("DbInfo/LinkList/Link/Name")]
    # einfo is advice, elink is truth: NCBI's einfo (DbBuild 2025.11.27) lists four of them
    assert [n for n in names if n.startswith("pubmed_pubmed")] == [
        "pubmed_pubmed",
        "pubmed_pubmed_alsoviewed",
        "pubmed_pubmed_bookrecords",
        "pubmed_pubmed_refs",
    ]


async def test_elink_similar_articles_do_not_always_put_the_input_first(emulator, http):
    uids = list(emulator.state.dataset.uids("pubmed"))[50:90]
    _, text = await call(
        http, emulator.base_url, "elink", dbfrom="pubmed", linkname="pubmed_pubmed", id=uids
    )
    places = []
    for linkset in xml(text).iterfind("LinkSet"):
        ids = [i.text for i in linkset.iterfind("LinkSetDb/Link/Id")]
        places.append(ids.index(linkset.findtext("IdList/Id")))
    assert 0 in places
    assert any(p > 0 for p in places)


async def test_einfo_gene_lists_ncbis_link_names_in_order(emulator, http):
    _, text = await call(http, emulator.base_url, "einfo", db="gene")
    links = xml(text).findall("DbInfo/LinkList/Link")
    names = [ln.findtext("Name") for ln in links]
    assert names == sorted(names)
    assert {"gene_clinvar", "gene_nuccore_refseqrna", "gene_pubmed_rif", "gene_snp"} <= set(names)
    menus = {ln.findtext("Name"): ln.findtext("Menu") for ln in links}
    assert menus["gene_pubmed"] == "PubMed Links"


async def test_elink_gene_to_nucleotide_is_nuccore(emulator, http):
    gene = emulator.state.dataset.maps["gene"].uid(0)
    _, text = await call(
        http, emulator.base_url, "elink", dbfrom="gene", db="nucleotide", id=str(gene)
    )
    names = [n.text for n in xml(text).iter("LinkName")]
    assert names and all(n.startswith("gene_nuccore") for n in names)
    assert {d.text for d in xml(text).iter("DbTo")} == {"nuccore"}


async def test_elink_term_filters_same_db_links(emulator, http):
    uid = emulator.state.dataset.maps["pubmed"].uid(3)
    _, text = await call(
        http,
        emulator.base_url,
        "elink",
        dbfrom="pubmed",
        db="pubmed",
        linkname="pubmed_pubmed",
        id=str(uid),
        term=f"{uid}[UID]",
    )
    assert [i.text for i in xml(text).iter("Id")] == [str(uid), str(uid)]


@pytest.mark.parametrize(
    ("cmd", "path"),
    [
        ("acheck", "LinkSet/IdCheckList/IdLinkSet/LinkInfo/LinkName"),
        ("ncheck", "LinkSet/IdCheckList/Id"),
        ("lcheck", "LinkSet/IdCheckList/Id"),
        ("llinks", "LinkSet/IdUrlList/IdUrlSet/ObjUrl/Url"),
        ("llinkslib", "LinkSet/IdUrlList/IdUrlSet/ObjUrl/Provider/Name"),
        ("prlinks", "LinkSet/IdUrlList/IdUrlSet/ObjUrl/Url"),
    ],
)
async def test_elink_check_and_linkout_commands(emulator, http, cmd, path):
    _, text = await call(http, emulator.base_url, "elink", dbfrom="pubmed", id="12345678", cmd=cmd)
    doc = xml(text)
    assert doc.find(path) is not None, text
    if cmd == "acheck":
        names = {n.text for n in doc.iter("LinkName")}
        assert {"pubmed_pubmed", "pubmed_gene"} <= names
    if cmd == "ncheck":
        assert doc.find(path).get("HasNeighbor") == "Y"
    if cmd in ("acheck", "llinks", "prlinks"):
        _, js = await call(
            http,
            emulator.base_url,
            "elink",
            dbfrom="pubmed",
            id="12345678",
            cmd=cmd,
            retmode="json",
        )
        assert json.loads(js)["linksets"][0]["dbfrom"] == "pubmed"


async def test_elink_leaves_out_the_linkset_of_an_unknown_id_without_an_error(emulator, http):
    _, text = await call(
        http, emulator.base_url, "elink", dbfrom="gene", db="snp", id=["3718", "99999999999"]
    )
    (linkset,) = xml(text).findall("LinkSet")
    assert linkset.findtext("IdList/Id") == "3718" and linkset.find("LinkSetDb") is not None
    assert xml(text).find(".//ERROR") is None


async def test_idtype_acc_gives_accession_versions_for_sequence_dbs(emulator, http):
    gene = next(g for g in emulator.state.dataset.uids("gene") if g > 1_000_000)
    params = {"dbfrom": "gene", "db": "protein", "linkname": "gene_protein", "id": str(gene)}
    _, plain = await call(http, emulator.base_url, "elink", **params)
    _, acc = await call(http, emulator.base_url, "elink", idtype="acc", **params)
    uids = [i.text for i in xml(plain).iterfind("LinkSet/LinkSetDb/Link/Id")]
    accs = [i.text for i in xml(acc).iterfind("LinkSet/LinkSetDb/Link/Id")]
    assert uids and all(u.isdigit() for u in uids)
    assert len(accs) == len(uids) and all(a.startswith("NP_") and "." in a for a in accs)
    _, found = await call(
        http, emulator.base_url, "esearch", db="protein", term=f"{uids[0]}[UID]", idtype="acc"
    )
    assert xml(found).findtext("IdList/Id") == accs[0]


async def test_a_webenv_read_without_retmax_is_not_capped_at_10000(emulator, http):
    ids = ",".join(str(i) for i in range(1, 12_001))
    _, posted = await call(http, emulator.base_url, "epost", post=True, db="snp", id=ids)
    env, key = xml(posted).findtext("WebEnv"), xml(posted).findtext("QueryKey")
    read = {"db": "snp", "WebEnv": env, "query_key": key, "rettype": "uilist"}
    _, whole = await call(http, emulator.base_url, "efetch", **read)
    _, capped = await call(http, emulator.base_url, "efetch", retmax=12_000, **read)
    assert len(whole.split()) == 12_000
    assert len(capped.split()) == 10_000


@pytest.mark.parametrize(
    ("db", "rettype", "retmode", "record", "uid_path"),
    [
        ("snp", None, "xml", f"{SNP_NS}DocumentSummary", "@uid"),
        ("gene", None, "xml", "Entrezgene", "Entrezgene_track-info/Gene-track/Gene-track_geneid"),
        # EDirect's `efetch -format xml` sends rettype=full (docs/NCBI_BEHAVIOUR.md)
        ("gene", "full", "xml", "Entrezgene", "Entrezgene_track-info/Gene-track/Gene-track_geneid"),
        ("pubmed", None, "xml", "PubmedArticle", "MedlineCitation/PMID"),
        ("pubmed", "full", "xml", "PubmedArticle", "MedlineCitation/PMID"),
        ("protein", "gp", "xml", "GBSeq", "GBSeq_accession-version"),
        ("nuccore", "fasta", "xml", "TSeq", "TSeq_accver"),
        ("taxonomy", None, "xml", "Taxon", "TaxId"),
    ],
)
async def test_efetch_record_shapes(emulator, http, db, rettype, retmode, record, uid_path):
    ds = emulator.state.dataset
    uids = {"taxonomy": ["9606", "10090"]}.get(db) or [str(u) for u in list(ds.uids(db))[:3]]
    params = {"db": db, "id": ",".join(uids), "retmode": retmode}
    if rettype:
        params["rettype"] = rettype
    status, text = await call(http, emulator.base_url, "efetch", **params)
    assert status == 200
    doc = xml(text)
    records = [r for r in doc.iter(record) if r.getparent() is doc]
    assert len(records) == len(uids)
    for rec in records:
        value = rec.get("uid") if uid_path == "@uid" else rec.findtext(uid_path)
        assert value
    if db == "taxonomy":  # NCBI nests a Taxon per lineage rank inside LineageEx
        assert records[0].findall("LineageEx/Taxon")


async def test_esummary_v1_v2_json_and_per_uid_errors(emulator, http):
    ids = "3718,7157,1"
    _, v1 = await call(http, emulator.base_url, "esummary", db="gene", id=ids, version="1.0")
    doc = xml(v1)
    assert [d.findtext("Id") for d in doc.iter("DocSum")] == ["3718", "7157"]
    assert doc.findtext("ERROR") == "Invalid uid 1 at position=2"
    _, v2 = await call(http, emulator.base_url, "esummary", db="gene", id=ids)  # v2: gene default
    sums = xml(v2).findall("DocumentSummarySet/DocumentSummary")
    assert [s.get("uid") for s in sums] == ["3718", "7157", "1"]
    assert sums[0].findtext("Name") == "JAK3"
    assert sums[2].findtext("error") == "cannot get document summary"
    _, js = await call(http, emulator.base_url, "esummary", db="gene", id=ids, retmode="json")
    result = json.loads(js)["result"]
    assert result["uids"] == ["3718", "7157", "1"]
    assert result["3718"]["name"] == "JAK3" and result["1"]["error"]


async def test_caps_json_esummary_500_and_retmax_10000(emulator, http):
    ids = ",".join(str(u) for u in list(emulator.state.dataset.uids("snp"))[:501])
    _, js = await call(
        http, emulator.base_url, "esummary", post=True, db="snp", id=ids, retmode="json"
    )
    assert "Maximum number of UIDs is 500" in json.loads(js)["error"]
    many = [str(u) for u in list(emulator.state.dataset.uids("snp"))]
    _, text = await call(
        http,
        emulator.base_url,
        "epost",
        post=True,
        db="snp",
        id=",".join(many * 3 + [str(10**9 + i) for i in range(10_500)]),
    )
    env = xml(text).findtext("WebEnv")
    _, page = await call(
        http,
        emulator.base_url,
        "efetch",
        db="snp",
        rettype="uilist",
        query_key=1,
        WebEnv=env,
        retmax=20_000,
    )
    assert len(page.split()) == 10_000


async def test_history_entries_expire(http):
    now = [1000.0]
    async with Emulator(EmulatorConfig(history_ttl=60)) as emu:
        emu.state.history.clock = lambda: now[0]
        _, text = await call(http, emu.base_url, "epost", db="gene", id="3718")
        env = xml(text).findtext("WebEnv")
        now[0] += 59
        _, ok = await call(http, emu.base_url, "esummary", db="gene", query_key=1, WebEnv=env)
        assert xml(ok).find("DocumentSummarySet/DocumentSummary").get("uid") == "3718"
        now[0] += 61
        status, gone = await call(
            http, emu.base_url, "efetch", db="gene", query_key=1, WebEnv=env, retmode="xml"
        )
        assert status == 200
        assert xml(gone).tag == "eFetchResult"
        assert xml(gone).findtext("ERROR") == "Unable to obtain query #1"


async def test_unknown_query_key_in_every_endpoint(emulator, http):
    _, text = await call(http, emulator.base_url, "epost", db="gene", id="3718")
    env = xml(text).findtext("WebEnv")
    for endpoint in ("esummary", "efetch", "elink", "esearch"):
        _, body = await call(
            http,
            emulator.base_url,
            endpoint,
            db="gene",
            dbfrom="gene",
            query_key=7,
            WebEnv=env,
            retmode="xml",
        )
        assert xml(body).findtext("ERROR") == "Unable to obtain query #7", endpoint


@pytest.mark.parametrize(
    "params",
    [
        {"db": "gene"},
        {"db": "gene", "id": "3718", "retmax": "lots"},
        {"db": "gene", "id": "3718", "retstart": "-5"},
        {"db": "gene", "query_key": "x", "WebEnv": "MCID_0"},
        {"db": "gene", "id": "3718", "rettype": "nonsense", "retmode": "xml"},
    ],
)
async def test_bad_parameters_get_ncbi_style_errors(emulator, http, params):
    status, text = await call(http, emulator.base_url, "efetch", **params)
    assert status == 200
    assert xml(text).findtext("ERROR")


async def test_garbage_post_body_is_answered_and_server_stays_up(emulator, http):
    async with http.post(
        f"{emulator.base_url}efetch.fcgi",
        data=b"\xff\xfe\x00garbage",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    ) as r:
        assert r.status in (200, 400)
        assert "Traceback" not in await r.text()
    status, _ = await call(http, emulator.base_url, "einfo")
    assert status == 200


async def test_responses_carry_ncbi_headers(emulator, http):
    async with http.get(
        f"{emulator.base_url}efetch.fcgi", params={"db": "gene", "id": "3718", "retmode": "xml"}
    ) as r:
        assert r.headers["Content-Type"] == "text/xml; charset=UTF-8"
        assert r.headers["Server"] == "Finatra"
        assert r.headers.get("Transfer-Encoding") == "chunked"


async def test_http_1_0_clients_get_an_unchunked_body(emulator):
    """EDirect's curl speaks HTTP/1.0, which forbids chunked bodies."""
    host, port = "127.0.0.1", emulator.port
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(
        b"GET /entrez/eutils/efetch.fcgi?db=gene&id=3718&retmode=xml HTTP/1.0\r\n"
        b"Host: 127.0.0.1\r\n\r\n"
    )
    raw = await reader.read()  # the server closes the connection to end the body
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.") and b" 200 " in head.split(b"\r\n")[0]
    assert b"chunked" not in head.lower()
    assert body.rstrip().endswith(b"</Entrezgene-Set>")


async def test_a_post_with_one_field_per_id_beyond_1000_fields(emulator, http):
    """Biopython and entrezpy send one `id=` field per id."""
    ids = [str(u) for u in list(emulator.state.dataset.uids("gene"))[:300]] * 5
    status, text = await call(
        http, emulator.base_url, "elink", post=True, dbfrom="gene", db="snp", id=ids
    )
    assert status == 200
    assert len(xml(text).findall("LinkSet")) == 300  # repeated groups collapse, as on NCBI
