"""The seed documents' examples, verbatim: records and links that every dataset contains.

Values come from ../shared/seeds/ (the 2007 workflow and the ELink schema): SNP 242 and 28853987
with the esummary fields the seed prints, SNP 242's links, JAK3 (gene 3718) and its three SNPs,
gene 7157, pubmed 12345678 -> genes 7157 (score 1000) and 672 (score 800), unists 71299.
Where the seeds are silent (TP53's own SNPs, chromosome coordinates) real public values are used.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class SeedGene:
    uid: int
    symbol: str
    description: str
    chromosome: str
    start: int
    stop: int
    taxid: int = 9606


@dataclass(frozen=True, slots=True)
class SeedSnp:
    uid: int
    genes: tuple[int, ...]
    chromosome: str
    position: int | None
    fxn_class: str
    snp_class: str
    taxid: int = 9606


@dataclass(frozen=True, slots=True)
class SeedArticle:
    uid: int
    title: str
    journal: str
    year: int
    authors: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SeedTaxon:
    uid: int
    scientific_name: str
    common_name: str
    rank: str = "species"
    division: str = "Primates"
    lineage: str = ""


@dataclass(frozen=True, slots=True)
class SeedMarker:
    uid: int
    name: str
    maps: tuple[tuple[str, str], ...]
    epcr_summary: str


GENES = (
    SeedGene(3718, "JAK3", "Janus kinase 3", "19", 17824782, 17848071),
    SeedGene(7157, "TP53", "tumor protein p53", "17", 7668421, 7687490),
    SeedGene(672, "BRCA1", "BRCA1 DNA repair associated", "17", 43044295, 43125483),
    SeedGene(653635, "LOC653635", "WASP family homolog 2 pseudogene", "1", 14404, 29570),
)

SNPS = (
    SeedSnp(242, (), "1", 20742047, "", "in-del"),
    SeedSnp(28853987, (653635,), "1", 800, "locus-region", "snp"),
    SeedSnp(3008, (3718,), "19", 17798428, "mrna-utr", "snp"),
    SeedSnp(11888, (3718,), "19", 17796625, "locus-region", "snp"),
    SeedSnp(867174, (3718,), "19", 17813929, "intron", "snp"),
    SeedSnp(1042522, (7157,), "17", 7676154, "missense", "snp"),
    SeedSnp(1800371, (7157,), "17", 7676230, "missense", "snp"),
    SeedSnp(17878362, (7157,), "17", 7676483, "intron", "in-del"),
    SeedSnp(28934571, (7157,), "17", 7674220, "missense", "snp"),
    SeedSnp(799917, (672,), "17", 43092919, "missense", "snp"),
    SeedSnp(16941, (672,), "17", 43092113, "missense", "snp"),
    SeedSnp(1799966, (672,), "17", 43071077, "missense", "snp"),
)

ARTICLES = (
    SeedArticle(
        12345678,
        "Association of TP53 and BRCA1 variants with tumour suppression.",
        "J Synth Biol",
        2002,
        ("Smith J", "Doe A"),
    ),
    SeedArticle(
        8808290,
        "Isolation and mapping of a polymorphic marker on chromosome 10 (D10S1196).",
        "Genomics",
        1996,
        ("Grobe M", "Sayers E"),
    ),
)

TAXA = (
    SeedTaxon(
        9606,
        "Homo sapiens",
        "human",
        lineage="Eukaryota; Metazoa; Chordata; Mammalia; Primates; Hominidae; Homo",
    ),
    SeedTaxon(
        10090,
        "Mus musculus",
        "house mouse",
        division="Rodents",
        lineage="Eukaryota; Metazoa; Chordata; Mammalia; Rodentia; Muridae; Mus",
    ),
    SeedTaxon(
        10116,
        "Rattus norvegicus",
        "Norway rat",
        division="Rodents",
        lineage="Eukaryota; Metazoa; Chordata; Mammalia; Rodentia; Muridae; Rattus",
    ),
    SeedTaxon(
        9598,
        "Pan troglodytes",
        "chimpanzee",
        lineage="Eukaryota; Metazoa; Chordata; Mammalia; Primates; Hominidae; Pan",
    ),
)

MARKERS = (
    SeedMarker(
        71299,
        "D10S1196",
        (("Homo sapiens", " chromosome 1"), ("Pan troglodytes", " chromosome 1")),
        "Found by e-PCR in sequences from Homo sapiens and Pan troglodytes. ",
    ),
)

MESH_TERMS: tuple[tuple[int, str], ...] = (
    (68014157, "Transcription Factors"),
    (68016158, "Genes, p53"),
)


@dataclass(frozen=True, slots=True)
class SeedLinks:
    """Explicit links by link name: source uid -> [(target uid, score)] in NCBI's order."""

    table: dict[str, dict[int, list[tuple[int, int]]]] = field(default_factory=dict)

    def add(self, linkname: str, source: int, targets: list[tuple[int, int]]) -> None:
        self.table.setdefault(linkname, {})[source] = targets


def seed_links() -> SeedLinks:
    """All explicit links, with every reverse link the forward ones imply."""
    links = SeedLinks()
    links.add("snp_pubmed", 242, [(8808290, 0)])
    links.add("snp_snp_genegenotype", 242, [(242, 0)])
    links.add("snp_unists", 242, [(71299, 0)])
    links.add("unists_snp", 71299, [(242, 0)])
    links.add("pubmed_snp", 8808290, [(242, 0)])
    links.add("pubmed_gene", 12345678, [(7157, 1000), (672, 800)])
    links.add("gene_pubmed", 7157, [(12345678, 1000)])
    links.add("gene_pubmed", 672, [(12345678, 800)])
    links.add("pubmed_pubmed", 12345678, [(12345678, 99_999_999)])
    links.add("pubmed_pubmed", 8808290, [(8808290, 99_999_999)])
    links.add("pubmed_mesh", 12345678, [(68016158, 0)])
    links.add("mesh_pubmed", 68016158, [(12345678, 0)])
    for snp in SNPS:
        links.add("snp_taxonomy", snp.uid, [(snp.taxid, 0)])
        if snp.genes:
            links.add("snp_gene", snp.uid, [(g, 0) for g in sorted(snp.genes, reverse=True)])
    for gene in GENES:
        links.add("gene_taxonomy", gene.uid, [(gene.taxid, 0)])
        snps = sorted((s.uid for s in SNPS if gene.uid in s.genes), reverse=True)
        if snps:
            links.add("gene_snp", gene.uid, [(s, 0) for s in snps])
    return links
