"""Every example request of the seed documents, sent to the emulator, returns what the seed
shows (WebEnv values aside), and the seed's line-oriented Perl parsing finds the same values."""

from __future__ import annotations

import re

from eutils_raw import call, xml

from harvester.emulator.server import Emulator


def perl_lines(text: str) -> list[str]:
    """The seed's programs split responses on newlines and regex each line."""
    return text.split("\n")


def perl_query_key_and_webenv(text: str) -> tuple[str, str]:
    key = env = ""
    for line in perl_lines(text):
        if m := re.search(r"<QueryKey>(.*)</QueryKey>", line):
            key = m.group(1)
        if m := re.search(r"<WebEnv>(.*)</WebEnv>", line):
            env = m.group(1)
    return key, env


SEED_SHAPE = {"version": "1.0"}
"""The seed's programs read esummary's 1.0 `Item` lines; NCBI (and the emulator) answers snp in
the 2.0 shape unless asked otherwise, so these replays ask for 1.0 (docs/NCBI_BEHAVIOUR.md)."""


def perl_summary(text: str) -> list[dict[str, str]]:
    """test-ncbi-4.pl / test-ncbi-7.pl: `print "X = $1" if $line =~ m/^.*X.*>(.*)<.*/`."""
    records: list[dict[str, str]] = []
    for line in perl_lines(text):
        if m := re.match(r"^.*SNP_ID.*>(.*)<.*", line):
            records.append({"SNP_ID": m.group(1)})
        for name in ("TAX_ID", "GENE", "CHRPOS", "FXN_CLASS", "SNP_CLASS"):
            if name == "GENE" and "GENE_ID" in line:
                continue
            if (m := re.match(rf"^.*{name}.*>(.*)<.*", line)) and records:
                records[-1].setdefault(name, m.group(1))
    return records


async def test_epost_returns_query_key_and_webenv_on_lines_of_their_own(emulator, http):
    status, text = await call(http, emulator.base_url, "epost", db="snp", id="242,28853987")
    assert status == 200
    key, env = perl_query_key_and_webenv(text)
    assert key == "1"
    assert re.fullmatch(r"MCID_[0-9a-f]{24}", env)


async def test_esummary_of_posted_snps_prints_the_seed_values(emulator, http):
    _, text = await call(http, emulator.base_url, "epost", db="snp", id="242,28853987")
    key, env = perl_query_key_and_webenv(text)
    _, summary = await call(
        http, emulator.base_url, "esummary", db="snp", query_key=key, WebEnv=env, **SEED_SHAPE
    )
    assert perl_summary(summary) == [
        {
            "SNP_ID": "242",
            "GENE": "",
            "FXN_CLASS": "",
            "TAX_ID": "9606",
            "SNP_CLASS": "in-del",
            "CHRPOS": "1:20742047",
        },
        {
            "SNP_ID": "28853987",
            "GENE": "LOC653635",
            "FXN_CLASS": "locus-region",
            "TAX_ID": "9606",
            "SNP_CLASS": "snp",
            "CHRPOS": "1:800",
        },
    ]
    doc = xml(summary)
    assert [d.findtext("Id") for d in doc.iter("DocSum")] == ["242", "28853987"]


async def test_efetch_with_the_seeds_2007_report_and_mode_parameters(emulator, http):
    _, text = await call(http, emulator.base_url, "epost", db="snp", id="242,28853987")
    key, env = perl_query_key_and_webenv(text)
    status, fetched = await call(
        http,
        emulator.base_url,
        "efetch",
        db="snp",
        query_key=key,
        WebEnv=env,
        report="sgml",
        mode="xml",
    )
    assert status == 200
    ns = "{https://www.ncbi.nlm.nih.gov/SNP/docsum}"
    assert [d.get("uid") for d in xml(fetched).iter(f"{ns}DocumentSummary")] == ["242", "28853987"]


async def test_elink_db_all_for_snp_242_lists_the_seeds_four_links(emulator, http):
    _, text = await call(http, emulator.base_url, "epost", db="snp", id="242")
    key, env = perl_query_key_and_webenv(text)
    _, linked = await call(
        http, emulator.base_url, "elink", db="all", query_key=key, WebEnv=env, dbfrom="snp"
    )
    found = {
        db.findtext("LinkName"): [i.text for i in db.iter("Id")]
        for db in xml(linked).iter("LinkSetDb")
    }
    assert found == {
        "snp_pubmed": ["8808290"],
        "snp_snp_genegenotype": ["242"],
        "snp_taxonomy": ["9606"],
        "snp_unists": ["71299"],
    }
    assert "<QueryKey>" not in linked


async def test_neighbor_history_db_all_leaves_three_entries_and_unists_71299(emulator, http):
    _, text = await call(http, emulator.base_url, "epost", db="snp", id="242")
    _, env = perl_query_key_and_webenv(text)
    _, linked = await call(
        http,
        emulator.base_url,
        "elink",
        db="all",
        id="242",
        dbfrom="snp",
        cmd="neighbor_history",
        WebEnv=env,
    )
    keys = {
        h.findtext("LinkName"): h.findtext("QueryKey") for h in xml(linked).iter("LinkSetDbHistory")
    }
    assert keys == {"snp_pubmed": "2", "snp_taxonomy": "3", "snp_unists": "4"}
    assert xml(linked).findtext("LinkSet/WebEnv") == env
    _, summary = await call(
        http, emulator.base_url, "esummary", db="unists", query_key="4", WebEnv=env
    )
    doc = xml(summary)
    assert doc.findtext("DocSum/Id") == "71299"
    assert doc.findtext("DocSum/Item[@Name='Marker_Name']") == "D10S1196"
    orgs = [i.text for i in doc.iter("Item") if i.get("Name") == "Org"]
    assert orgs == ["Homo sapiens", "Pan troglodytes"]


async def test_jak3_gene_to_snp_program_prints_the_seeds_three_snps(emulator, http):
    """test-ncbi-7.pl: epost gene 3718, elink neighbor_history to snp, esummary."""
    _, text = await call(http, emulator.base_url, "epost", db="gene", id="3718")
    key, env = perl_query_key_and_webenv(text)
    _, linked = await call(
        http,
        emulator.base_url,
        "elink",
        db="snp",
        query_key=key,
        WebEnv=env,
        dbfrom="gene",
        cmd="neighbor_history",
    )
    key2, env2 = perl_query_key_and_webenv(linked)
    _, summary = await call(
        http, emulator.base_url, "esummary", db="snp", query_key=key2, WebEnv=env2, **SEED_SHAPE
    )
    assert perl_summary(summary) == [
        {
            "SNP_ID": "3008",
            "GENE": "JAK3",
            "FXN_CLASS": "mrna-utr",
            "TAX_ID": "9606",
            "SNP_CLASS": "snp",
            "CHRPOS": "19:17798428",
        },
        {
            "SNP_ID": "11888",
            "GENE": "JAK3",
            "FXN_CLASS": "locus-region",
            "TAX_ID": "9606",
            "SNP_CLASS": "snp",
            "CHRPOS": "19:17796625",
        },
        {
            "SNP_ID": "867174",
            "GENE": "JAK3",
            "FXN_CLASS": "intron",
            "TAX_ID": "9606",
            "SNP_CLASS": "snp",
            "CHRPOS": "19:17813929",
        },
    ]


async def test_index_list_elink_with_repeated_ids_gives_one_linkset_each(emulator, http):
    """Step 1 of the index-list workflow: dbfrom=gene&db=snp&linkname=gene_snp&id=3718&id=7157."""
    _, text = await call(
        http,
        emulator.base_url,
        "elink",
        dbfrom="gene",
        db="snp",
        linkname="gene_snp",
        id=["3718", "7157"],
    )
    sets = xml(text).findall("LinkSet")
    assert [s.findtext("IdList/Id") for s in sets] == ["3718", "7157"]
    assert [i.text for i in sets[0].iter("Id")][1:] == ["867174", "11888", "3008"]
    assert len(list(sets[1].iter("Link"))) > 0


async def test_comma_joined_ids_give_one_union_linkset(emulator, http):
    _, text = await call(http, emulator.base_url, "elink", dbfrom="gene", db="snp", id="3718,7157")
    sets = xml(text).findall("LinkSet")
    assert len(sets) == 1
    assert [i.text for i in sets[0].find("IdList")] == ["3718", "7157"]
    links = [i.text for i in sets[0].find("LinkSetDb").iter("Id")]
    assert set(links) >= {"3008", "11888", "867174"} and len(links) == len(set(links))


async def test_schema_doc_example_pubmed_to_gene_scores(emulator, http):
    _, text = await call(
        http,
        emulator.base_url,
        "elink",
        dbfrom="pubmed",
        db="gene",
        id="12345678",
        cmd="neighbor_score",
    )
    links = [(link.findtext("Id"), link.findtext("Score")) for link in xml(text).iter("Link")]
    assert links == [("7157", "1000"), ("672", "800")]


async def test_esearch_term_hash_n_counts_a_stored_set(emulator: Emulator, http):
    """The seed: esearch term=%23N with WebEnv gives the size of an existing entry."""
    _, text = await call(http, emulator.base_url, "epost", db="snp", id="242,28853987")
    key, env = perl_query_key_and_webenv(text)
    _, found = await call(
        http, emulator.base_url, "esearch", db="snp", term=f"#{key}", WebEnv=env, usehistory="y"
    )
    assert xml(found).findtext("Count") == "2"
    _, filtered = await call(
        http,
        emulator.base_url,
        "esearch",
        db="snp",
        query_key=key,
        WebEnv=env,
        term="snp[FXN_CLASS]",
        usehistory="y",
    )
    assert [i.text for i in xml(filtered).iter("Id")] == ["28853987"]


async def test_esearch_seed_terms_parse_and_match(emulator, http):
    for term in (
        "1[CHR] AND 9606[TAX_ID]",
        "11[CHR] AND gene_SNP[filter] AND mouse[orgn]",
        "(JAK3[GENE] OR TP53[GENE]) NOT 17[CHR]",
    ):
        status, text = await call(
            http,
            emulator.base_url,
            "esearch",
            db="gene" if "filter" in term or "GENE]" in term else "snp",
            term=term,
        )
        assert status == 200 and xml(text).find("ERROR") is None, term
    _, text = await call(
        http, emulator.base_url, "esearch", db="gene", term="(JAK3[GENE] OR TP53[GENE]) NOT 17[CHR]"
    )
    assert [i.text for i in xml(text).iter("Id")] == ["3718"]
