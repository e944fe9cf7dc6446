"""The E-utilities protocol's vocabulary, written once: databases, link names, formats, limits.

The client's parsers, the harvest planner and the emulator all read these tables, so a fact about
NCBI (where a record's UID lives, how many ids a JSON esummary takes) is stated in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

DEFAULT_BASE_URL = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/"
EUTILS_PATH = "/entrez/eutils/"

# Limits (NCBI_NOTES §4).
RETMAX_CAP = 10_000
"""efetch/esearch retmax and esummary XML cap."""
ESUMMARY_JSON_CAP = 500
PUBMED_ESEARCH_CAP = 9_999
"""PubMed esearch reaches only the first 9,999 records."""
DEFAULT_ESEARCH_RETMAX = 20
DEFAULT_PAGE_SIZE = 500
ELINK_BATCH_SIZE = 100
"""EDirect's chunk of ids per elink and neighbor_history request."""
MAX_QUERY_KEYS = 100
"""About 100 query keys per WebEnv is the practical maximum."""

RATE_NO_KEY = 3.0
RATE_WITH_KEY = 10.0

ELINK_COMMANDS = (
    "neighbor",
    "neighbor_score",
    "neighbor_history",
    "acheck",
    "ncheck",
    "lcheck",
    "llinks",
    "llinkslib",
    "prlinks",
)

ENDPOINTS = ("einfo", "esearch", "epost", "elink", "efetch", "esummary")
RESULT_ROOTS = {
    "einfo": "eInfoResult",
    "esearch": "eSearchResult",
    "epost": "ePostResult",
    "elink": "eLinkResult",
    "efetch": "eFetchResult",
    "esummary": "eSummaryResult",
}
"""The root element of each endpoint's answer, where its in-band `<ERROR>` appears."""


@dataclass(frozen=True, slots=True)
class Database:
    """One Entrez database, with what differs from the defaults."""

    name: str
    esummary_version: str = "1.0"
    """The esummary shape answered without `version=`."""
    efetch_cap: int = RETMAX_CAP


_DB_LIST = """
pubmed protein nuccore ipg nucleotide structure genome annotinfo assembly bioproject biosample
blastdbinfo books cdd clinvar gap gapplus grasp dbvar gene gds geoprofiles medgen mesh nlmcatalog
omim orgtrack pmc popset proteinclusters pcassay protfam pccompound pcsubstance seqannot snp sra
taxonomy biocollections gtr
"""
"""NCBI's einfo DbList, in its order (`ncbi-samples/biocommons_eutils/einfo_dblist.xml`)."""

_ESUMMARY_V2 = ("gene", "snp", "medgen", "clinvar")
"""The dbs whose esummary answers 2.0 (`DocumentSummarySet`) without `version=`
(docs/NCBI_BEHAVIOUR.md, "ESummary versions")."""

DATABASES: dict[str, Database] = {name: Database(name) for name in _DB_LIST.split()} | {
    name: Database(name, esummary_version="2.0") for name in _ESUMMARY_V2
}
"""The offline table of databases (online, the endpoint's einfo decides)."""

DB_ALIASES = {"nucleotide": "nuccore"}
"""Names NCBI accepts for another database: its link names and records use the other name."""


def canonical_db(name: str) -> str:
    """The database's own name: an alias (`nucleotide`) mapped to it (`nuccore`)."""
    return DB_ALIASES.get(name, name)


@dataclass(frozen=True, slots=True)
class LinkName:
    """A named link between two databases: `dbfrom_dbto[_subset]`."""

    name: str
    dbfrom: str
    dbto: str

    @classmethod
    def of(cls, name: str) -> LinkName:
        dbfrom, _, rest = name.partition("_")
        return cls(name, dbfrom, rest.split("_", 1)[0])


_LINK_LIST = """
gene_bioproject gene_books gene_cdd gene_clinvar gene_dbvar gene_gap gene_gene_neighbors
gene_genome gene_geoprofiles gene_gtr gene_medgen_diseases gene_nuccore gene_nuccore_mgc
gene_nuccore_refseqgene gene_nuccore_refseqrna gene_omim gene_pcassay gene_pcassay_alltarget_list
gene_pcassay_alltarget_summary gene_pcassay_rnai gene_pcassay_target gene_pccompound
gene_pcsubstance gene_pmc gene_pmc_nucleotide gene_protein gene_protein_refseq
gene_proteinclusters gene_pubmed gene_pubmed_citedinomim gene_pubmed_pmc_nucleotide
gene_pubmed_rif gene_snp gene_snp_geneview gene_structure gene_taxonomy

pubmed_bioproject pubmed_books_refs pubmed_cdd pubmed_clinvar pubmed_gds pubmed_gene
pubmed_gene_citedinomim pubmed_gene_rif pubmed_genome pubmed_medgen pubmed_nuccore
pubmed_nuccore_refseq pubmed_omim_calculated pubmed_omim_cited pubmed_pcassay pubmed_pccompound
pubmed_pccompound_mesh pubmed_pccompound_publisher pubmed_pcsubstance pubmed_pcsubstance_mesh
pubmed_pcsubstance_publisher pubmed_pmc pubmed_pmc_local pubmed_pmc_refs pubmed_popset
pubmed_protein pubmed_protein_refseq pubmed_proteinclusters pubmed_pubmed pubmed_pubmed_alsoviewed
pubmed_pubmed_citedin pubmed_pubmed_bookrecords pubmed_pubmed_combined pubmed_pubmed_five
pubmed_pubmed_refs pubmed_pubmed_reviews pubmed_pubmed_reviews_five pubmed_snp pubmed_snp_cited
pubmed_sra pubmed_structure pubmed_taxonomy_entrez

snp_gene snp_pubmed snp_snp_genegenotype snp_taxonomy protein_gene protein_nuccore
protein_pubmed nuccore_gene nuccore_protein taxonomy_gene mesh_pubmed
"""
"""Gene's and PubMed's link names as einfo lists them or elink answers them (see
docs/NCBI_BEHAVIOUR.md, "Databases and link names", for the captures), then the other dbs'
links the project has used, not checked against an einfo capture. Names NCBI no longer lists
(`snp_unists`, `unists_snp`, `pubmed_mesh`) are left out."""

LINK_NAMES: dict[str, LinkName] = {name: LinkName.of(name) for name in _LINK_LIST.split()}
"""The offline table of link names: for checks and hints without a network; online, the
endpoint's einfo decides which names exist."""


def default_link_name(dbfrom: str, dbto: str) -> str:
    """The link name NCBI uses when only dbfrom and db are given: `dbfrom_dbto`."""
    return f"{dbfrom}_{dbto}"


@dataclass(frozen=True, slots=True)
class RecordFormat:
    """Where records and their UIDs sit in one efetch/esummary response shape."""

    key: str
    root: str
    record: str
    uid_path: str
    """Path from the record element to its UID: '@attr' or 'A/B/C' child text."""
    namespace: str | None = None
    doctype: str | None = None
    alias_paths: tuple[str, ...] = ()
    """Paths to the record's other ids (a sequence's gi), plain or as seqids (`gi|N`,
    `ref|ACC.V|`): a target joins a record by any of them (docs/NCBI_BEHAVIOUR.md)."""


SNP_DOCSUM_NS = "https://www.ncbi.nlm.nih.gov/SNP/docsum"

FORMATS: dict[str, RecordFormat] = {
    f.key: f
    for f in (
        RecordFormat("snp_exchangeset", "ExchangeSet", "DocumentSummary", "@uid", SNP_DOCSUM_NS),
        RecordFormat(
            "entrezgene",
            "Entrezgene-Set",
            "Entrezgene",
            "Entrezgene_track-info/Gene-track/Gene-track_geneid",
            doctype='<!DOCTYPE Entrezgene-Set PUBLIC "-//NLM//DTD NCBI-Entrezgene, 21st January '
            '2005//EN" "https://www.ncbi.nlm.nih.gov/data_specs/dtd/NCBI_Entrezgene.dtd">',
        ),
        RecordFormat(
            "pubmed",
            "PubmedArticleSet",
            "PubmedArticle",
            "MedlineCitation/PMID",
            doctype='<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January '
            '2025//EN" "https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">',
        ),
        RecordFormat(
            "gbset",
            "GBSet",
            "GBSeq",
            "GBSeq_accession-version",
            doctype='<!DOCTYPE GBSet PUBLIC "-//NCBI//NCBI GBSeq/EN" '
            '"https://www.ncbi.nlm.nih.gov/dtd/NCBI_GBSeq.dtd">',
            alias_paths=("GBSeq_other-seqids/GBSeqid",),
        ),
        RecordFormat(
            "tseqset",
            "TSeqSet",
            "TSeq",
            "TSeq_accver",
            doctype='<!DOCTYPE TSeqSet PUBLIC "-//NCBI//NCBI TSeq/EN" '
            '"https://www.ncbi.nlm.nih.gov/dtd/NCBI_TSeq.dtd">',
            alias_paths=("TSeq_gi", "TSeq_sid"),
        ),
        RecordFormat(
            "taxaset",
            "TaxaSet",
            "Taxon",
            "TaxId",
            doctype='<!DOCTYPE TaxaSet PUBLIC "-//NLM//DTD Taxon, 14th January 2002//EN" '
            '"https://www.ncbi.nlm.nih.gov/entrez/query/DTD/taxon.dtd">',
        ),
        RecordFormat(
            "docsum_v1",
            "eSummaryResult",
            "DocSum",
            "Id",
            doctype='<!DOCTYPE eSummaryResult PUBLIC "-//NLM//DTD esummary v1 20041029//EN" '
            '"https://eutils.ncbi.nlm.nih.gov/eutils/dtd/20041029/esummary-v1.dtd">',
        ),
        RecordFormat(
            "docsum_v2",
            "eSummaryResult",
            "DocumentSummary",
            "@uid",
            doctype='<!DOCTYPE eSummaryResult PUBLIC "-//NLM//DTD eSummaryResult//EN" '
            '"https://eutils.ncbi.nlm.nih.gov/eutils/dtd/20190110/esummary.dtd">',
        ),
    )
}

# (db, rettype, retmode) -> format key, for efetch. `None` stands for "not given".
EFETCH_FORMATS: dict[tuple[str, str | None, str | None], str] = {
    ("snp", None, None): "snp_exchangeset",
    ("snp", None, "xml"): "snp_exchangeset",
    ("snp", "xml", "xml"): "snp_exchangeset",
    ("snp", "xml", None): "snp_exchangeset",
    ("snp", "docsum", None): "snp_exchangeset",
    ("snp", "docsum", "xml"): "snp_exchangeset",
    ("gene", None, "xml"): "entrezgene",
    ("gene", "xml", None): "entrezgene",
    ("gene", "xml", "xml"): "entrezgene",
    ("gene", None, None): "entrezgene",
    ("gene", "full", "xml"): "entrezgene",
    ("pubmed", None, None): "pubmed",
    ("pubmed", None, "xml"): "pubmed",
    ("pubmed", "xml", "xml"): "pubmed",
    ("pubmed", "abstract", "xml"): "pubmed",
    ("pubmed", "medline", "xml"): "pubmed",
    ("pubmed", "full", "xml"): "pubmed",
    ("protein", "gp", "xml"): "gbset",
    ("protein", None, "xml"): "gbset",
    ("protein", "gb", "xml"): "gbset",
    ("protein", "fasta", "xml"): "tseqset",
    ("nuccore", "gb", "xml"): "gbset",
    ("nuccore", None, "xml"): "gbset",
    ("nuccore", "gbc", "xml"): "gbset",
    ("nuccore", "fasta", "xml"): "tseqset",
    ("taxonomy", None, None): "taxaset",
    ("taxonomy", None, "xml"): "taxaset",
    ("taxonomy", "xml", "xml"): "taxaset",
}


def efetch_format(db: str, rettype: str | None, retmode: str | None) -> RecordFormat | None:
    """The XML record format efetch answers for these parameters, or None if not XML/unknown."""
    key = EFETCH_FORMATS.get((db, rettype or None, retmode or None))
    return FORMATS[key] if key else None


def esummary_format(db: str, version: str | None) -> RecordFormat:
    """The esummary shape: v2 when asked for (`version=2.0`), else the db's default."""
    database = DATABASES.get(db)
    default = database.esummary_version if database else "1.0"
    return FORMATS["docsum_v2" if (version or default).startswith("2") else "docsum_v1"]


class FetchVia(StrEnum):
    """The two E-utilities that return records by uid or by History entry."""

    EFETCH = "efetch"
    ESUMMARY = "esummary"


def page_cap(db: str, via: FetchVia, retmode: str | None = None) -> int:
    """The most records one efetch/esummary request may ask for."""
    if via == FetchVia.ESUMMARY and retmode == "json":
        return ESUMMARY_JSON_CAP
    database = DATABASES.get(db)
    return database.efetch_cap if database else RETMAX_CAP
