"""Record contents: every field of a synthetic record, derived from its uid by hashing.

A record is returned as a small frozen value; `render` turns it into NCBI's shapes. Seed records
come verbatim from `seeddata`; generated ones are plausible (chromosome positions inside their
gene, SNP genes equal to the genes that link to them) so joins can be checked field by field.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from harvester.emulator.dataset import Dataset
from harvester.emulator.graph import mix

SPECIES = {
    9606: ("Homo sapiens", "human", [*map(str, range(1, 23)), "X", "Y"]),
    10090: ("Mus musculus", "house mouse", [*map(str, range(1, 20)), "X", "Y"]),
    10116: ("Rattus norvegicus", "Norway rat", [*map(str, range(1, 21)), "X", "Y"]),
    9598: ("Pan troglodytes", "chimpanzee", [*map(str, range(1, 23)), "X", "Y"]),
}
PREFIXES = (
    "ZNF",
    "SLC",
    "KRT",
    "OR",
    "TMEM",
    "CCDC",
    "FAM",
    "ANK",
    "COL",
    "RPL",
    "ABC",
    "CDH",
    "PCDH",
    "WDR",
    "LRRC",
    "KLHL",
)
WORDS = (
    "kinase",
    "receptor",
    "domain",
    "containing",
    "family",
    "member",
    "transporter",
    "binding",
    "protein",
    "factor",
    "subunit",
    "channel",
    "associated",
    "regulator",
)
FXN_CLASSES = (
    "intron_variant",
    "missense_variant",
    "synonymous_variant",
    "3_prime_UTR_variant",
    "5_prime_UTR_variant",
    "upstream_transcript_variant",
    "downstream_transcript_variant",
    "non_coding_transcript_variant",
    "splice_region_variant",
    "stop_gained",
)
SNP_CLASSES = ("snv",) * 17 + ("delins", "del", "ins")
JOURNALS = (
    "Nature",
    "Genomics",
    "Hum Mol Genet",
    "Am J Hum Genet",
    "PLoS Genet",
    "Nucleic Acids Res",
    "Genome Res",
    "BMC Genomics",
)
SURNAMES = ("Smith", "Garcia", "Chen", "Müller", "Okafor", "Tanaka", "Rossi", "Novak", "Singh")


@dataclass(frozen=True, slots=True)
class GeneInfo:
    uid: int
    symbol: str
    description: str
    chromosome: str
    start: int
    stop: int
    taxid: int

    @property
    def organism(self) -> str:
        return SPECIES.get(self.taxid, ("Homo sapiens", "", []))[0]


@dataclass(frozen=True, slots=True)
class SnpInfo:
    uid: int
    genes: tuple[tuple[str, int], ...]
    chromosome: str
    position: int | None
    fxn_class: str
    snp_class: str
    taxid: int


@dataclass(frozen=True, slots=True)
class ArticleInfo:
    uid: int
    title: str
    journal: str
    year: int
    authors: tuple[str, ...]
    abstract: str


@dataclass(frozen=True, slots=True)
class SeqInfo:
    uid: int
    accession: str
    version: int
    moltype: str
    definition: str
    taxid: int
    gene_symbol: str
    sequence: str

    @property
    def accession_version(self) -> str:
        return f"{self.accession}.{self.version}"


class Records:
    """Field values of every record in a dataset, memoised per uid."""

    def __init__(self, dataset: Dataset) -> None:
        self.ds = dataset
        self.gene = lru_cache(maxsize=65_536)(self._gene)
        self.snp = lru_cache(maxsize=65_536)(self._snp)
        self.article = lru_cache(maxsize=16_384)(self._article)
        self.seq = lru_cache(maxsize=16_384)(self._seq)

    def _h(self, *parts: int) -> int:
        return mix(self.ds.spec.seed, *parts)

    def _gene(self, uid: int) -> GeneInfo | None:
        seed = self.ds.seed_genes.get(uid)
        if seed is not None:
            return GeneInfo(
                seed.uid,
                seed.symbol,
                seed.description,
                seed.chromosome,
                seed.start,
                seed.stop,
                seed.taxid,
            )
        i = self.ds.index("gene", uid)
        if i is None:
            return None
        taxid = self.ds.gene_taxid(i)
        symbol = f"{PREFIXES[i % len(PREFIXES)]}{i // len(PREFIXES) + 1}"
        if taxid != 9606:
            symbol = symbol.capitalize()
        chromosomes = SPECIES[taxid][2]
        h = self._h(101, i)
        start = 10_000 + h % 150_000_000
        words = f"{WORDS[h % 14]} {WORDS[(h >> 8) % 14]} {1 + (h >> 16) % 40}"
        return GeneInfo(
            uid,
            symbol,
            words,
            chromosomes[(h >> 24) % len(chromosomes)],
            start,
            start + 2_000 + (h >> 32) % 200_000,
            taxid,
        )

    def _snp(self, uid: int) -> SnpInfo | None:
        seed = self.ds.seed_snps.get(uid)
        if seed is not None:
            genes = tuple((g.symbol, g.uid) for g in map(self.gene, seed.genes) if g)
            return SnpInfo(
                seed.uid,
                genes,
                seed.chromosome,
                seed.position,
                seed.fxn_class,
                seed.snp_class,
                seed.taxid,
            )
        if not self.ds.exists("snp", uid):
            return None
        t = self.ds.index("snp", uid)
        assert t is not None
        graph, gene_map = self.ds.gene_snp, self.ds.maps["gene"]
        sources = [gene_map.uid(s) for s in graph.sources(t)]
        if self.ds.dated:  # its genes as of its last revision (clock.py)
            day = self.ds.mdat("snp", uid)
            sources = sorted(g for g, _ in self.ds.links_on("snp_gene", uid, day))
        genes = tuple((g.symbol, g.uid) for g in map(self.gene, sources) if g is not None)
        home = self.gene(gene_map.uid(graph.home(t) or 0))
        assert home is not None
        h = self._h(103, t)
        fxn = FXN_CLASSES[h % len(FXN_CLASSES)]
        if h % 7 == 0:
            fxn += "," + FXN_CLASSES[(h >> 8) % len(FXN_CLASSES)]
        position = home.start + (h >> 16) % (home.stop - home.start)
        return SnpInfo(
            uid,
            genes,
            home.chromosome,
            position,
            fxn,
            SNP_CLASSES[(h >> 40) % len(SNP_CLASSES)],
            home.taxid,
        )

    def _article(self, uid: int) -> ArticleInfo | None:
        seed = self.ds.seed_articles.get(uid)
        if seed is not None:
            return ArticleInfo(
                seed.uid,
                seed.title,
                seed.journal,
                seed.year,
                seed.authors,
                f"Abstract of PMID {seed.uid}.",
            )
        k = self.ds.index("pubmed", uid)
        if k is None:
            return None
        h = self._h(107, k)
        title = (
            f"The {WORDS[h % 14]} {WORDS[(h >> 4) % 14]} of "
            f"{PREFIXES[(h >> 8) % 16]}{1 + (h >> 12) % 300} in "
            f"{SPECIES[(9606, 10090, 10116)[(h >> 20) % 3]][1]} cells."
        )
        authors = tuple(
            f"{SURNAMES[(h >> (4 * j)) % len(SURNAMES)]} {chr(65 + (h >> (3 * j)) % 26)}"
            for j in range(1 + h % 5)
        )
        return ArticleInfo(
            uid,
            title,
            JOURNALS[(h >> 28) % len(JOURNALS)],
            1990 + (h >> 36) % 35,
            authors,
            f"We studied {title[4:-1].lower()} and report findings.",
        )

    def _seq(self, db: str, uid: int) -> SeqInfo | None:
        k = self.ds.index(db, uid)
        if k is None:
            return None
        gene_index = self.ds.gene_protein.home(k)
        gene = self.gene(self.ds.maps["gene"].uid(gene_index or 0))
        assert gene is not None
        h = self._h(109, k)
        protein = db == "protein"
        alphabet = "ACDEFGHIKLMNPQRSTVWY" if protein else "ACGT"
        length = 60 + h % 240
        sequence = "".join(alphabet[mix(h, j) % len(alphabet)] for j in range(length))
        if not protein and k == 0 and self.ds.spec.long_sequence:
            sequence = _stretched(sequence, self.ds.spec.long_sequence)
        return SeqInfo(
            uid,
            f"{'NP' if protein else 'NM'}_{100_000 + k:06d}",
            1 + h % 3,
            "aa" if protein else "mRNA",
            f"{gene.description} ({gene.symbol}), "
            f"{'protein' if protein else 'mRNA'} [{gene.organism}]",
            gene.taxid,
            gene.symbol,
            sequence,
        )


def _stretched(unit: str, length: int) -> str:
    """`unit` repeated to `length` characters: a chromosome-sized sequence built in a moment."""
    return (unit * (length // len(unit) + 1))[:length]
