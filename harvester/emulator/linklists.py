# ruff: noqa: E501
# (NCBI's einfo texts are kept whole, one link per line.)
"""The emulator's own einfo tables: NCBI's database list and each database's LinkList.

These are what the emulator *serves*; the client never reads them (it asks einfo). `LINKS` is
what elink serves; einfo lists them as NCBI's einfo does, omissions included (`EINFO_OMITS`),
and lists too the names NCBI's einfo has that the emulator holds no links for (`EINFO_ONLY`):
einfo is advice, elink is truth. See docs/NCBI_BEHAVIOUR.md for where each list comes from.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class EmuLink:
    """One LinkList entry: name, menu tag, description and target db, as einfo prints them."""

    name: str
    menu: str
    description: str
    dbto: str

    @property
    def dbfrom(self) -> str:
        return self.name.split("_", 1)[0]


DB_LIST = tuple(
    [
        "pubmed",
        "protein",
        "nuccore",
        "ipg",
        "nucleotide",
        "structure",
        "genome",
        "annotinfo",
        "assembly",
        "bioproject",
        "biosample",
        "blastdbinfo",
        "books",
        "cdd",
        "clinvar",
        "gap",
        "gapplus",
        "grasp",
        "dbvar",
        "gene",
        "gds",
        "geoprofiles",
        "medgen",
        "mesh",
        "nlmcatalog",
        "omim",
        "orgtrack",
        "pmc",
        "popset",
        "proteinclusters",
        "pcassay",
        "protfam",
        "pccompound",
        "pcsubstance",
        "seqannot",
        "snp",
        "sra",
        "taxonomy",
        "biocollections",
        "gtr",
    ]
)
"""NCBI's einfo DbList, in its order (ncbi-samples/biocommons_eutils/einfo_dblist.xml)."""

LEGACY_DBS = ("unists",)
"""Retired dbs the emulator still serves for the seed documents' examples; NCBI lists none."""

DB_MENUS = {
    "pubmed": ("PubMed", "PubMed bibliographic record"),
    "gene": ("Gene", "Gene database"),
    "snp": ("SNP", "Single Nucleotide Polymorphisms"),
    "protein": ("Protein", "Protein sequence record"),
    "nuccore": ("Nucleotide", "Core Nucleotide db"),
    "nucleotide": ("Nucleotide", "Core Nucleotide db"),
    "taxonomy": ("Taxonomy", "Taxonomy db"),
    "mesh": ("MeSH", "MeSH Database"),
    "unists": ("UniSTS", "Markers and mapping data"),
}
"""einfo MenuName and Description of the dbs with records here; others print their name."""

NUCLEOTIDE_ALIAS = {"nucleotide": "nuccore"}
"""NCBI answers `nucleotide` as `nuccore` (both are in its DbList)."""


def _table(rows: str) -> tuple[EmuLink, ...]:
    """Rows of `name | menu | description | dbto`, one per line."""
    out = []
    for line in rows.strip().splitlines():
        name, menu, description, dbto = (part.strip() for part in line.split("|"))
        out.append(EmuLink(name, menu, description, dbto))
    return tuple(out)


GENE_LINKS = _table(
    """
gene_bioproject | BioProjects | BioProjects related to a gene | bioproject
gene_books | Books Links | Links between Entrez Gene and 'Books' are established if a GeneID is explicitly referenced in a book. | books
gene_cdd | Conserved Domain Links | Conserved Domain Database Links between Entrez Gene and Conserved Domain Database (CDD) are calculated from the domains annotated by the CDD group on Reference Sequence proteins. | cdd
gene_clinvar | ClinVar | Related medical variations | clinvar
gene_dbvar | dbVar | Link from Gene to dbVar | dbvar
gene_gap | GAP Links | GAP Links | gap
gene_gene_neighbors | Gene neighbors | Overlapping genes and two nearest non-overlapping genes on either side | gene
gene_genome | Genome Links | Genome records having the gene annotated on corresponding genomic reference sequence. | genome
gene_geoprofiles | GEO Profile Links | Related GEO | geoprofiles
gene_gtr | GTR | Tests for this gene in the NIH Genetic Testing Registry | gtr
gene_medgen_diseases | MedGen | Related information in MedGen | medgen
gene_nuccore | Nucleotide Links | Link to related Nucleotide entry | nuccore
gene_nuccore_mgc | Nucleotide NIH cDNA clone links | Nucleotide NIH cDNA clone | nuccore
gene_nuccore_refseqgene | RefSeqGene Links | Link to Nucleotide RefSeqGenes | nuccore
gene_nuccore_refseqrna | RefSeq RNA Links | Link to Nucleotide RefSeq RNAs | nuccore
gene_omim | OMIM Links | Links between OMIM and Gene are calculated by Gene based on MIM numbers included in the summary and phenotype sections of the Gene record. | omim
gene_pcassay | BioAssay Links | Related PubChem BioAssays | pcassay
gene_pcassay_alltarget_list | BioAssay by Target (List) | BioAssays related to the gene by protein target or RNAi target | pcassay
gene_pcassay_alltarget_summary | BioAssay by Target (Summary) | Summarized PubChem Data on the gene, showing the active data by default | pcassay
gene_pcassay_rnai | BioAssays, RNAi Target, Tested | BioAssays that contain the gene as the target of a RNAi reagent | pcassay
gene_pcassay_target | BioAssay, by Gene target | PubChem BioAssays done on the Gene target | pcassay
gene_pccompound | PubChem Compound Links | PubChem Compounds | pccompound
gene_pcsubstance | PubChem Substance Links | PubChem Substances | pcsubstance
gene_pmc | PMC Links | PMC links | pmc
gene_pmc_nucleotide | Full text in PMC (nucleotide) | Full text in PubMedCentral identified from shared sequence links | pmc
gene_protein | Protein Links | Link to related protein entry | protein
gene_protein_refseq | RefSeq Protein Links | Link to Protein RefSeqs | protein
gene_proteinclusters | Protein Cluster Links | Related Protein Clusters | proteinclusters
gene_pubmed | PubMed Links | Links between Gene and PubMed are the result of manual curation within NCBI and of the integration of gene-citation information from other public databases. | pubmed
gene_pubmed_citedinomim | PubMed (OMIM) Links | Links are provided when Gene has a link to a record in OMIM, and OMIM explicitly cites these publications in PubMed. | pubmed
gene_pubmed_pmc_nucleotide | PubMed (nucleotide/PMC) | Citations in PubMed identified from shared sequence and PMC links. | pubmed
gene_pubmed_rif | PubMed (GeneRIF) Links | GeneRIF -- Gene Reference Into Function | pubmed
gene_snp | SNP Links | Related SNP records | snp
gene_snp_geneview | | SNPs linked from GeneView | snp
gene_structure | 3D structures | 3D structure of a gene | structure
gene_taxonomy | Taxonomy Links | Link to related taxonomy entry | taxonomy
"""
)

PUBMED_LINKS = _table(
    """
pubmed_books_refs | Cited in Books | PubMed links associated with Books | books
pubmed_cdd | Domain Links | Link to related CDD entry | cdd
pubmed_gds | GEO DataSet Links | Related GEO DataSets | gds
pubmed_gene | Gene Links | Link to related Genes | gene
pubmed_gene_citedinomim | Gene (OMIM) Links | PubMed links to Gene derived from pubmed_omim_cited links | gene
pubmed_gene_rif | Gene (GeneRIF) Links | Link to Gene for the GeneRIF subcategory | gene
pubmed_genome | Genome Links | Published genome sequences | genome
pubmed_nuccore | CoreNucleotide Links | Published CoreNucleotide sequences | nuccore
pubmed_nuccore_refseq | CoreNucleotide (RefSeq) Links | Link to CoreNucleotide RefSeqs | nuccore
pubmed_omim_calculated | OMIM (calculated) Links | OMIM (calculated) Links | omim
pubmed_omim_cited | OMIM (cited) Links | OMIM (cited) Links | omim
pubmed_pcassay | BioAssay Links | Related PubChem BioAssay | pcassay
pubmed_pccompound | Compound Links | Related PubChem Compound | pccompound
pubmed_pccompound_mesh | Compound (MeSH Keyword) | Related PubChem Compound via MeSH | pccompound
pubmed_pccompound_publisher | Compound (Publisher) Links | Publisher deposited structures linked to PubChem Compound | pccompound
pubmed_pcsubstance | Substance Links | Related PubChem Substance | pcsubstance
pubmed_pcsubstance_mesh | Substance (MeSH Keyword) | Related PubChem Substance | pcsubstance
pubmed_pcsubstance_publisher | Substance (Publisher) Links | PubChem Substances supplied by publisher | pcsubstance
pubmed_pmc | PMC Links | Free full text articles in PMC | pmc
pubmed_pmc_local | | Free full text articles in PMC | pmc
pubmed_pmc_refs | Cited in PMC | PubMed links associated with PMC | pmc
pubmed_popset | PopSet Links | Published population set | popset
pubmed_protein | Protein Links | Published protein sequences | protein
pubmed_protein_refseq | Protein (RefSeq) Links | Link to Protein RefSeqs | protein
pubmed_proteinclusters | Protein Cluster Links | Related Protein Clusters | proteinclusters
pubmed_pubmed | Related Articles | Related PubMed articles, obtained by matching text and MeSH terms | pubmed
pubmed_pubmed_alsoviewed | Articles frequently viewed together | Articles frequently viewed together | pubmed
pubmed_pubmed_citedin | Cited by | PubMed articles that cite the current article | pubmed
pubmed_pubmed_combined | Similar articles (combined) | Similar articles and similar reviews, combined | pubmed
pubmed_pubmed_five | Similar articles (top five) | The five most similar articles | pubmed
pubmed_pubmed_refs | Cited Articles | Referenced PubMed articles | pubmed
pubmed_pubmed_reviews | Review articles | Similar review articles | pubmed
pubmed_pubmed_reviews_five | Review articles (top five) | The five most similar review articles | pubmed
pubmed_snp | SNP Links | PubMed to SNP links | snp
pubmed_structure | Structure Links | Published 3D structures | structure
pubmed_taxonomy_entrez | Taxonomy via GenBank | Related Taxonomy entry computed using other Entrez links | taxonomy
"""
)

OTHER_LINKS = _table(
    """
mesh_pubmed | PubMed Links | Articles with the term | pubmed
nuccore_gene | Gene Links | Genes on the sequence | gene
nuccore_protein | Protein Links | Translations | protein
protein_gene | Gene Links | Encoding gene | gene
protein_nuccore | Nucleotide Links | Coding sequence | nuccore
protein_pubmed | PubMed Links | Protein literature | pubmed
snp_gene | Gene Links | Genes of the variant | gene
snp_pubmed | PubMed Links | Citations of the variant | pubmed
snp_snp_genegenotype | Genotype Links | Variants with genotype data | snp
snp_taxonomy | Taxonomy Links | Organism | taxonomy
snp_unists | UniSTS Links | Markers | unists
taxonomy_gene | Gene Links | Genes of the organism | gene
unists_snp | SNP Links | Variants at the marker | snp
"""
)
"""The other populations' links (the seed schema's tables): not yet checked against einfo."""

LINKS: dict[str, EmuLink] = {ln.name: ln for ln in (*GENE_LINKS, *PUBMED_LINKS, *OTHER_LINKS)}
"""What elink serves: every name here is answered (with links where the dataset has some)."""

EINFO_OMITS = frozenset(
    {
        "pubmed_pubmed_citedin",
        "pubmed_pubmed_combined",
        "pubmed_pubmed_five",
        "pubmed_pubmed_reviews",
        "pubmed_pubmed_reviews_five",
    }
)
"""Names NCBI's elink answers but its einfo for pubmed (DbBuild 2025.11.27) does not list."""

EINFO_ONLY = _table(
    """
pubmed_bioproject | BioProject Links | Related BioProjects | bioproject
pubmed_clinvar | ClinVar | Related ClinVar records | clinvar
pubmed_medgen | MedGen | Related information in MedGen | medgen
pubmed_pubmed_bookrecords | Cited in Books | PubMed book records | pubmed
pubmed_snp_cited | SNP (cited) | SNPs cited in the article | snp
pubmed_sra | SRA Links | Related SRA records | sra
"""
)
"""Names NCBI's einfo lists for pubmed that the emulator has no links for (menus and
descriptions are paraphrases): elink knows them and answers no links."""


def einfo_links(dbfrom: str) -> list[EmuLink]:
    """dbfrom's LinkList as NCBI's einfo prints it: what elink serves less what NCBI's einfo
    leaves out, plus what it lists without the emulator holding links, sorted by name."""
    listed = [ln for ln in links_from(dbfrom) if ln.name not in EINFO_OMITS]
    listed += [ln for ln in EINFO_ONLY if ln.dbfrom == dbfrom]
    return sorted(listed, key=lambda ln: ln.name)


def elink_knows(name: str) -> EmuLink | None:
    """The link `name` as elink knows it (served or listed), None for a name NCBI has not."""
    return LINKS.get(name) or next((ln for ln in EINFO_ONLY if ln.name == name), None)


def links_from(dbfrom: str, dbto: str | None = None) -> list[EmuLink]:
    """A db's LinkList in einfo's order, optionally only those to `dbto` ('all' for every db)."""
    return [
        ln
        for ln in LINKS.values()
        if ln.dbfrom == dbfrom and (dbto in (None, "", "all") or ln.dbto == dbto)
    ]
