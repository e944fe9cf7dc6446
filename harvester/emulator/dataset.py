"""The synthetic Entrez databases: which records exist, how they link, and their ground truth.

Generated populations (gene, snp, pubmed, protein, nuccore) are laid out by `graph.BlockGraph`s;
the seed documents' examples (`seeddata`) sit beside them at uids below every generated range,
so they never collide. Record fields are derived from uids by hashing (see `records`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from harvester.emulator import linkrules, seeddata
from harvester.emulator.clock import REFERENCE, Clock, parse_day
from harvester.emulator.graph import BlockGraph, UidMap, mix, salt_of
from harvester.emulator.linklists import LINKS
from harvester.emulator.spec import DatasetSpec

# Generated uids start above every seed uid of the same db.
GENE_BASE, SNP_BASE, PUBMED_BASE = 1_000_000, 30_000_000, 20_000_000
PROTEIN_BASE, NUCCORE_BASE = 500_000_000, 600_000_000

Link = tuple[int, int]
"""(target uid, score); score 0 means NCBI sends no score."""
BLOCK_LINKS = {
    "gene_snp": ("gene_snp", True),
    "snp_gene": ("gene_snp", False),
    "gene_pubmed": ("gene_pubmed", True),
    "pubmed_gene": ("gene_pubmed", False),
}
"""Link names read straight off a block graph (forward: from its sources): the ones that also
carry links removed over time (the clock's `removal_day`)."""


@dataclass(frozen=True, slots=True)
class GroundTruthLink:
    source: int
    target: int
    score: int
    has_record: bool


class Dataset:
    """One deterministic dataset: populations, link graphs and the seed examples."""

    def __init__(self, spec: DatasetSpec | None = None) -> None:
        self.spec = spec = spec or DatasetSpec()
        seed = spec.seed
        self.gene_snp = BlockGraph.generate(
            spec.genes,
            spec.gene_snp.degree,
            spec.gene_snp.window,
            spec.gene_snp.spill_rate,
            mix(seed, 1),
        )
        self.gene_pubmed = BlockGraph.generate(
            spec.genes,
            spec.gene_pubmed.degree,
            spec.gene_pubmed.window,
            spec.gene_pubmed.spill_rate,
            mix(seed, 2),
        )
        self.gene_protein = BlockGraph.generate(
            spec.genes, spec.gene_protein.degree, 1, 0.0, mix(seed, 3)
        )
        self.maps = {
            "gene": UidMap(GENE_BASE, 7, spec.genes, mix(seed, salt_of("gene"))),
            "snp": UidMap(SNP_BASE, 3, self.gene_snp.n_targets, mix(seed, salt_of("snp"))),
            "pubmed": UidMap(
                PUBMED_BASE, 5, self.gene_pubmed.n_targets, mix(seed, salt_of("pubmed"))
            ),
            "protein": UidMap(
                PROTEIN_BASE, 11, self.gene_protein.n_targets, mix(seed, salt_of("protein"))
            ),
            "nuccore": UidMap(
                NUCCORE_BASE, 11, self.gene_protein.n_targets, mix(seed, salt_of("nuccore"))
            ),
        }
        self.seed_genes = {g.uid: g for g in seeddata.GENES}
        self.seed_snps = {s.uid: s for s in seeddata.SNPS}
        self.seed_articles = {a.uid: a for a in seeddata.ARTICLES}
        self.seed_taxa = {t.uid: t for t in seeddata.TAXA}
        self.seed_markers = {m.uid: m for m in seeddata.MARKERS}
        self.seed_mesh = dict(seeddata.MESH_TERMS)
        self.seed_links = seeddata.seed_links().table
        self._seed_uids: dict[str, list[int]] = {
            "gene": sorted(self.seed_genes),
            "snp": sorted(self.seed_snps),
            "pubmed": sorted(self.seed_articles),
            "taxonomy": sorted(self.seed_taxa),
            "unists": sorted(self.seed_markers),
            "mesh": sorted(self.seed_mesh),
            "protein": [],
            "nuccore": [],
        }
        self._seed_sets = {db: frozenset(uids) for db, uids in self._seed_uids.items()}
        self.dated = bool(spec.as_of)
        """Served as of a day (`--as-of`): records carry their dates, and what was born or
        added after the day is left out. Without it, the dataset is as of `clock.REFERENCE`."""
        self.clock = Clock(seed, parse_day(spec.as_of) if spec.as_of else REFERENCE)
        self._counts: dict[str, int] = {}

    # -- existence -------------------------------------------------------------------------
    def index(self, db: str, uid: int) -> int | None:
        """The generated index of a uid, or None for seed uids and non-records."""
        uid_map = self.maps.get(db)
        return uid_map.index(uid) if uid_map else None

    def is_withdrawn_snp(self, index: int) -> bool:
        return mix(self.spec.seed, 7, index) % 1000 < self.spec.withdrawn_snp_per_mille

    def exists(self, db: str, uid: int) -> bool:
        """Whether a record can be fetched (withdrawn SNPs are linked to but not fetchable)."""
        if uid in self._seed_set(db):
            return True
        index = self.index(db, uid)
        if index is None or not self._born(db, index):
            return False
        return not (db == "snp" and self.is_withdrawn_snp(index))

    def known(self, db: str, uid: int) -> bool:
        """Whether a uid is in the db at all (a withdrawn SNP still has links)."""
        if uid in self._seed_set(db):
            return True
        index = self.index(db, uid)
        return index is not None and self._born(db, index)

    def _born(self, db: str, index: int) -> bool:
        return not self.dated or self.clock.born(db, index)

    def mdat(self, db: str, uid: int) -> int:
        """A record's modification date (a day ordinal) as of the dataset's day."""
        return self.clock.mdat(db, self.index(db, uid))

    def _seed_set(self, db: str) -> frozenset[int]:
        return self._seed_sets.get(db, frozenset())

    def count(self, db: str) -> int:
        uid_map = self.maps.get(db)
        if self.dated and uid_map:
            if db not in self._counts:
                self._counts[db] = sum(1 for _ in self.uids(db))
            return self._counts[db]
        return len(self._seed_uids.get(db, [])) + (uid_map.count if uid_map else 0)

    def uids(self, db: str) -> Iterator[int]:
        """Every uid of a db, ascending (seed uids first: they are all below generated ones)."""
        yield from self._seed_uids.get(db, [])
        uid_map = self.maps.get(db)
        if uid_map:
            born = range(uid_map.count)
            if self.dated:
                born = (k for k in born if self.clock.born(db, k))  # type: ignore[assignment]
            yield from (uid_map.uid(k) for k in born)

    # -- links -----------------------------------------------------------------------------
    def links(self, linkname: str, uid: int) -> list[Link]:
        """A source's links under one link name, in NCBI's order (descending uid; the similar
        articles families by relevance), as of the dataset's day."""
        if not self.dated:
            return self._links(linkname, uid)
        return self.links_on(linkname, uid, self.clock.day)

    def links_on(self, linkname: str, uid: int, day: int) -> list[Link]:
        """A source's links as they were on `day` (a day ordinal): those added by then, and
        those removed since."""
        found = self._links(linkname, uid)
        ln = LINKS.get(linkname)
        index = self.index(ln.dbfrom, uid) if ln else None
        if ln is None or index is None or uid in self.seed_links.get(linkname, {}):
            return found
        clock, dbs = self.clock, (ln.dbfrom, ln.dbto)
        births = clock.birth(ln.dbfrom, index)
        kept = [
            (t, s)
            for t, s in found
            if clock.link_day(dbs, (births, self._birth(ln.dbto, t)), (uid, t)) <= day
        ]
        ghosts = self._removed(linkname, index, day)
        if not ghosts:
            return kept
        return sorted({*kept, *((t, 0) for t in ghosts)}, reverse=True)

    def _birth(self, db: str, uid: int) -> int:
        return self.clock.birth(db, self.index(db, uid))

    def _removed(self, linkname: str, index: int, day: int) -> list[int]:
        """Targets of links a source had on `day` that are gone by the dataset's REFERENCE."""
        block = BLOCK_LINKS.get(linkname)
        if block is None:
            return []
        graph: BlockGraph = getattr(self, block[0])
        ln = LINKS[linkname]
        gene_db, other_db = (ln.dbfrom, ln.dbto) if block[1] else (ln.dbto, ln.dbfrom)
        w = graph.window
        if block[1]:
            gene, j = index, index + w
            if j >= graph.count or graph.starts[j] == graph.starts[j + 1]:
                return []
            other = graph.starts[j]
        else:
            home = graph.home(index)
            if home is None or graph.starts[home] != index or home - w < 0:
                return []
            gene, other = home - w, index
        died = self.clock.removal_day(gene_db, gene)
        if died is None or graph.spill[gene] or not 0 <= other < graph.n_targets:
            return []
        uids = (self.maps[gene_db].uid(gene), self.maps[other_db].uid(other))
        births = (self.clock.birth(gene_db, gene), self.clock.birth(other_db, other))
        added = self.clock.link_day((gene_db, other_db), births, uids)
        if not added <= day < died:
            return []
        return [uids[1] if block[1] else uids[0]]

    def _links(self, linkname: str, uid: int) -> list[Link]:
        seeded = self.seed_links.get(linkname, {}).get(uid)
        if seeded is not None:
            return list(seeded)
        ln = LINKS.get(linkname)
        if ln is None:
            return []
        index = self.index(ln.dbfrom, uid)
        if index is None:
            return []
        return linkrules.generated(self, ln, index)

    def gene_taxid(self, index: int) -> int:
        roll = mix(self.spec.seed, 11, index) % 10
        return 9606 if roll < 7 else 10090 if roll < 9 else 10116

    # -- ground truth ----------------------------------------------------------------------
    def ground_truth(self, linkname: str, sources: list[int]) -> dict[int, list[GroundTruthLink]]:
        """For each source id: its links under `linkname` and whether each target is fetchable."""
        dbto = LINKS[linkname].dbto
        return {
            src: [
                GroundTruthLink(src, tgt, score, self.exists(dbto, tgt))
                for tgt, score in self.links(linkname, src)
            ]
            for src in sources
        }
