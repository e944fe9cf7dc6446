"""Deterministic link lists for every link name the emulator serves, derived from uids by hashing.

The generated populations' graphs (gene_snp, gene_pubmed, gene_protein) give the base lists;
NCBI's narrower names (gene_nuccore_refseqrna, pubmed_gene_rif, ...) keep a hashed share of a
base list's pairs, the same pairs from either side; PubMed's own families (similar articles,
references and citations, reviews) follow the shapes of NCBI's captured answers; links into dbs
the emulator holds no records of point at plausible synthetic uids.
"""

from __future__ import annotations

from typing import Protocol

from harvester.emulator.graph import BlockGraph, UidMap, mix, salt_of
from harvester.emulator.linklists import LINKS, EmuLink
from harvester.emulator.spec import DatasetSpec

Link = tuple[int, int]


class Dataset(Protocol):
    """What the rules read of `dataset.Dataset` (which calls them back for its links)."""

    spec: DatasetSpec
    maps: dict[str, UidMap]
    gene_snp: BlockGraph
    gene_pubmed: BlockGraph
    gene_protein: BlockGraph

    def index(self, db: str, uid: int) -> int | None: ...

    def links(self, linkname: str, uid: int) -> list[Link]: ...

    def gene_taxid(self, index: int) -> int: ...


SUBSETS: dict[str, tuple[str, int]] = {
    "gene_nuccore_mgc": ("gene_nuccore", 5),
    "gene_nuccore_refseqgene": ("gene_nuccore", 4),
    "gene_nuccore_refseqrna": ("gene_nuccore", 2),
    "gene_protein_refseq": ("gene_protein", 2),
    "gene_pubmed_citedinomim": ("gene_pubmed", 6),
    "gene_pubmed_pmc_nucleotide": ("gene_pubmed", 8),
    "gene_pubmed_rif": ("gene_pubmed", 3),
    "gene_snp_geneview": ("gene_snp", 2),
    "pubmed_gene_citedinomim": ("pubmed_gene", 6),
    "pubmed_gene_rif": ("pubmed_gene", 3),
    "pubmed_nuccore_refseq": ("pubmed_nuccore", 2),
    "pubmed_protein_refseq": ("pubmed_protein", 2),
}
"""name -> (base name, keep one pair in k): a hashed share of the base list's pairs."""

POPULATED = frozenset({"gene", "snp", "pubmed", "protein", "nuccore", "taxonomy"})
CITATION_WINDOW = 300
"""An article cites only among the CITATION_WINDOW articles before it (so both directions of
the citation graph are found by scanning a window, without storing it)."""
SCORED = frozenset(
    {
        "pubmed_pubmed",
        "pubmed_pubmed_five",
        "pubmed_pubmed_reviews",
        "pubmed_pubmed_reviews_five",
        "pubmed_pubmed_combined",
    }
)
"""Link names NCBI lists in relevance order (with scores); all others come in descending uid."""
TOP = 6
"""The `_five` lists hold the article and its five best neighbours, as NCBI's do."""


def generated(ds: Dataset, ln: EmuLink, index: int) -> list[Link]:
    """The links of the generated record `index` of ln.dbfrom, in NCBI's order."""
    links = _unordered(ds, ln, index)
    if ln.name in SCORED:
        return links
    return sorted(set(links), reverse=True)


def _unordered(ds: Dataset, ln: EmuLink, i: int) -> list[Link]:
    name, m = ln.name, ds.maps
    if name in SUBSETS:
        base, share = SUBSETS[name]
        source = ds.maps[ln.dbfrom].uid(i)
        family = salt_of(name.removeprefix(f"{ln.dbfrom}_{ln.dbto}"))
        return [
            (t, s)
            for t, s in _unordered(ds, LINKS[base], i)
            if mix(ds.spec.seed, family, *_pair(ln, source, t)) % share == 0
        ]
    if name.startswith("pubmed_pubmed"):
        return _pubmed_family(ds, name, i)
    if name == "gene_gene_neighbors":
        near = range(max(0, i - 2), min(m["gene"].count, i + 3))
        return [(m["gene"].uid(j), 0) for j in near if j != i]
    if name in ("pubmed_nuccore", "pubmed_protein", "pubmed_taxonomy_entrez", "pubmed_snp"):
        via = {"pubmed_taxonomy_entrez": "gene_taxonomy"}.get(name, "gene" + name[6:])
        genes = [ds.index("gene", g) for g, _ in ds.links("pubmed_gene", m["pubmed"].uid(i))]
        found = [t for g in genes if g is not None for t in _unordered(ds, LINKS[via], g)]
        return found[:: max(1, len(found) // 20)] if name == "pubmed_snp" else found
    direct = _base(ds, name, i)
    if direct is not None:
        return direct
    if ln.dbto not in POPULATED:
        return _external(ds, name, i)
    return []


def _pair(ln: EmuLink, source: int, target: int) -> tuple[int, int]:
    """A link's two uids in one canonical order, so a pair is kept or dropped from both sides."""
    return (source, target) if ln.dbfrom <= ln.dbto else (target, source)


def _base(ds: Dataset, name: str, i: int) -> list[Link] | None:
    m = ds.maps
    if name == "gene_snp":
        return [(m["snp"].uid(t), 0) for t in ds.gene_snp.targets(i)]
    if name == "snp_gene":
        return [(m["gene"].uid(s), 0) for s in ds.gene_snp.sources(i)]
    if name == "gene_pubmed":
        return [(m["pubmed"].uid(t), 0) for t in ds.gene_pubmed.targets(i)]
    if name == "pubmed_gene":
        return [(m["gene"].uid(s), 0) for s in ds.gene_pubmed.sources(i)]
    if name in ("gene_protein", "gene_nuccore"):
        db = name.split("_")[1]
        return [(m[db].uid(t), 0) for t in ds.gene_protein.targets(i)]
    if name in ("protein_gene", "nuccore_gene"):
        return [(m["gene"].uid(s), 0) for s in ds.gene_protein.sources(i)]
    if name == "protein_nuccore":
        return [(m["nuccore"].uid(i), 0)]
    if name == "nuccore_protein":
        return [(m["protein"].uid(i), 0)]
    if name == "gene_taxonomy":
        return [(ds.gene_taxid(i), 0)]
    if name == "snp_taxonomy":
        home = ds.gene_snp.home(i)
        return [(ds.gene_taxid(home), 0)] if home is not None else []
    return None


def _external(ds: Dataset, name: str, i: int) -> list[Link]:
    """A few synthetic targets in a db the emulator holds no records of (half the sources none)."""
    roll = mix(ds.spec.seed, salt_of(name), i)
    if roll % 2:
        return []
    count = 1 + (roll >> 8) % 4 + (20 if (roll >> 16) % 50 == 0 else 0)
    return [(1 + mix(ds.spec.seed, salt_of(name), i, j) % 5_000_000, 0) for j in range(count)]


# -- PubMed's own links --------------------------------------------------------------------------
def _pubmed_family(ds: Dataset, name: str, k: int) -> list[Link]:
    uid_of = ds.maps["pubmed"].uid
    if name == "pubmed_pubmed_refs":
        return [(uid_of(j), 0) for j in references(ds, k)]
    if name == "pubmed_pubmed_citedin":
        return [(uid_of(j), 0) for j in cited_by(ds, k)]
    if name == "pubmed_pubmed_alsoviewed":
        n = ds.maps["pubmed"].count
        count = mix(ds.spec.seed, 31, k) % 4
        return [(uid_of(mix(ds.spec.seed, 37, k, j) % n), 0) for j in range(count)]
    similar = similar_articles(ds, k)
    reviews = [(t, s) for t, s in similar if t == uid_of(k) or _is_review(ds, t)]
    if name == "pubmed_pubmed":
        return similar
    if name == "pubmed_pubmed_five":
        return similar[:TOP]
    if name == "pubmed_pubmed_reviews":
        return reviews
    if name == "pubmed_pubmed_reviews_five":
        return reviews[:TOP]
    if name == "pubmed_pubmed_combined":
        head = similar[: TOP - 2]
        extra = [r for r in reviews if r not in head]
        return sorted(head + extra[: TOP - len(head)], key=lambda ts: -ts[1])
    return []


def _is_review(ds: Dataset, uid: int) -> bool:
    return mix(ds.spec.seed, 23, uid) % 5 == 0


def similar_articles(ds: Dataset, k: int) -> list[Link]:
    """The article and its similar articles by descending score. Usually the article itself
    ranks first, as in NCBI's captured answers; for one article in four a neighbour outranks it."""
    uid_map = ds.maps["pubmed"]
    n = uid_map.count
    others: list[Link] = []
    seen = {k}
    wanted = 1 + mix(ds.spec.seed, 13, k) % ds.spec.pubmed_neighbors
    for j in range(wanted):
        other = (k + 1 + mix(ds.spec.seed, 17, k, j) % max(1, n - 1)) % n
        if other not in seen:
            seen.add(other)
            score = 80_000_000 - j * 1_000_000 - mix(other, k) % 500_000
            others.append((uid_map.uid(other), score))
    self_score = 90_000_000
    if others and mix(ds.spec.seed, 19, k) % 4 == 0:
        self_score = others[0][1] - 200_000
    return sorted([(uid_map.uid(k), self_score), *others], key=lambda ts: -ts[1])


def _cites(ds: Dataset, j: int, k: int) -> bool:
    """Whether article j cites the earlier article k (k in j's citation window)."""
    per_mille = 20 + mix(ds.spec.seed, 41, j) % 200  # 6..66 references in the window
    return mix(ds.spec.seed, 43, j, k) % 1000 < per_mille


def references(ds: Dataset, k: int) -> list[int]:
    """Indices of the articles article k cites (its ReferenceList), ascending."""
    return [j for j in range(max(0, k - CITATION_WINDOW), k) if _cites(ds, k, j)]


def cited_by(ds: Dataset, k: int) -> list[int]:
    """Indices of the articles that cite article k, ascending."""
    last = min(ds.maps["pubmed"].count, k + CITATION_WINDOW + 1)
    return [j for j in range(k + 1, last) if _cites(ds, j, k)]
