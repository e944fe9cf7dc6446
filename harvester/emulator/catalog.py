"""One lookup for every db: a record's efetch text and its esummary fields, or None if missing."""

from __future__ import annotations

import random
from functools import lru_cache

from harvester.emulator import bulk, dated, detail
from harvester.emulator import render_records as rr
from harvester.emulator.dataset import Dataset
from harvester.emulator.graph import mix
from harvester.emulator.records import Records
from harvester.emulator.render import esc

GENE_END = "</Entrezgene>\n"


class Catalog:
    """Renders any record of a dataset in any supported shape."""

    def __init__(self, dataset: Dataset) -> None:
        self.ds = dataset
        self.records = Records(dataset)
        self._cached = lru_cache(maxsize=131_072)(self._efetch)
        spec = dataset.spec
        sized = spec.record_bytes > 0 or spec.record_scale > 0
        self._snp_bulk = spec.record_bytes > 0 or (sized and spec.snp_detail.max > 0)
        self._pubmed_bulk = spec.record_bytes > 0 or (sized and spec.pubmed_detail.max > 0)
        self._filled = spec.record_bytes > 0

    def efetch(self, fmt: str, db: str, uid: int) -> str | None:
        """A record's efetch text. Its bulk (a gene's comments, a SNP's submissions, an
        article's unlinked references) is added uncached, so big records cost time, not memory."""
        if self.ds.dated and not self._present(db, uid):
            return None
        if fmt == "snp_exchangeset" and self._snp_bulk:
            return self._bulky_snp(uid)
        text = self._cached(fmt, db, uid)
        if text is None:
            return None
        if fmt == "entrezgene":
            comments = self._gene_comments(uid, len(text))
            return text[: -len(GENE_END)] + comments + GENE_END if comments else text
        if fmt == "pubmed" and self._pubmed_bulk:
            return rr.with_pubmed_detail(text, detail.pubmed_detail(self.ds.spec, uid, len(text)))
        return text

    def _bulky_snp(self, uid: int) -> str | None:
        """A SNP docsum with its submissions: rendered once, the bare record only measured
        when it is to be filled to `record_bytes`."""
        snp = self.records.snp(uid)
        if snp is None:
            return None
        base = len(self._cached("snp_exchangeset", "snp", uid) or "") if self._filled else 0
        text = rr.snp_exchangeset_record(snp, detail.snp_detail(self.ds.spec, uid, base))
        if not self.ds.dated:
            return text
        return dated.stamp_efetch(self.ds, "snp_exchangeset", "snp", uid, text)

    def gene_comment_count(self, uid: int) -> int:
        """How many GeneRIF comments a gene's record carries from the dataset's distribution
        (its size: ~700 bytes each), times `record_scale`."""
        index = self.ds.index("gene", uid)
        spec = self.ds.spec
        if index is None or spec.record_scale <= 0:
            return 0
        drawn = spec.gene_comments.sample(random.Random(mix(spec.seed, 61, index)))
        return round(drawn * spec.record_scale)

    def _gene_comments(self, uid: int, base_bytes: int) -> str:
        spec = self.ds.spec
        if spec.record_bytes:
            budget: int | None = spec.record_bytes - base_bytes
            count = None
            wanted = budget or 0
        else:
            budget, count = None, self.gene_comment_count(uid)
            wanted = count
        if wanted <= 0 or self.ds.index("gene", uid) is None:
            return ""
        pmids = [p for p, _ in self._record_links("gene", "gene_pubmed", uid)]
        return bulk.entrezgene_comments(count, pmids, spec.seed, uid, budget=budget)

    def _present(self, db: str, uid: int) -> bool:
        """Whether a generated record exists as of the dataset's day (others: as undated)."""
        return self.ds.index(db, uid) is None or self.ds.known(db, uid)

    def _record_links(self, db: str, linkname: str, uid: int) -> list[tuple[int, int]]:
        """Links a record's content cites: as of its last revision when the dataset is dated,
        so its content changes only when its mdat moves (clock.py)."""
        if not self.ds.dated:
            return self.ds.links(linkname, uid)
        return self.ds.links_on(linkname, uid, self.ds.mdat(db, uid))

    def _efetch(self, fmt: str, db: str, uid: int) -> str | None:
        text = self._efetch_undated(fmt, db, uid)
        if text is None or not self.ds.dated:
            return text
        return dated.stamp_efetch(self.ds, fmt, db, uid, text)

    def _efetch_undated(self, fmt: str, db: str, uid: int) -> str | None:
        r = self.records
        if fmt == "snp_exchangeset":
            s = r.snp(uid)
            return rr.snp_exchangeset_record(s) if s else None
        if fmt == "entrezgene":
            g = r.gene(uid)
            return rr.entrezgene_record(g) if g else None
        if fmt == "pubmed":
            a = r.article(uid)
            return rr.pubmed_record(a, self._references(uid)) if a else None
        if fmt in ("gbset", "tseqset"):
            q = r.seq(db, uid)
            if q is None:
                return None
            return rr.gbseq_record(q) if fmt == "gbset" else rr.tseq_record(q)
        if fmt == "taxaset":
            t = self.ds.seed_taxa.get(uid)
            if t is None:
                return None
            return (
                f"<Taxon>\n    <TaxId>{t.uid}</TaxId>\n"
                f"    <ScientificName>{t.scientific_name}</ScientificName>\n"
                "    <OtherNames>\n"
                f"        <GenbankCommonName>{t.common_name}</GenbankCommonName>\n"
                "    </OtherNames>\n"
                f"    <Rank>{t.rank}</Rank>\n    <Division>{t.division}</Division>\n"
                f"    <Lineage>{esc(t.lineage)}</Lineage>\n"
                f"{bulk.lineage_ex(t.lineage, t.uid)}</Taxon>\n"
            )
        return None

    def _references(self, uid: int) -> list[int]:
        """The PMIDs an article cites (its pubmed_pubmed_refs links, oldest first)."""
        return sorted(t for t, _ in self._record_links("pubmed", "pubmed_pubmed_refs", uid))

    def summary_v1(self, db: str, uid: int) -> list[rr.Item] | None:
        if self.ds.dated and not self._present(db, uid):
            return None
        fields = self._summary_v1(db, uid)
        if fields is None or not self.ds.dated:
            return fields
        return dated.stamp_items(self.ds, db, uid, fields)

    def _summary_v1(self, db: str, uid: int) -> list[rr.Item] | None:
        r = self.records
        if db == "snp":
            s = r.snp(uid)
            return rr.snp_items(s) if s else None
        if db == "gene":
            g = r.gene(uid)
            return rr.gene_items(g) if g else None
        if db == "pubmed":
            a = r.article(uid)
            return rr.pubmed_items(a) if a else None
        if db in ("protein", "nuccore"):
            q = r.seq(db, uid)
            return rr.seq_items(q) if q else None
        if db == "taxonomy":
            t = self.ds.seed_taxa.get(uid)
            if t is None:
                return None
            return [
                ("Status", "String", "active"),
                ("Rank", "String", t.rank),
                ("Division", "String", t.division),
                ("ScientificName", "String", t.scientific_name),
                ("CommonName", "String", t.common_name),
                ("TaxId", "Integer", t.uid),
            ]
        if db == "unists":
            m = self.ds.seed_markers.get(uid)
            if m is None:
                return None
            maps: list[rr.Item] = [
                (
                    "Map_Gene_Summary",
                    "Structure",
                    [("Org", "String", org), ("Chr", "String", chrom), ("Locus", "String", "")],
                )
                for org, chrom in m.maps
            ]
            return [
                ("Marker_Name", "String", m.name),
                ("Map_Gene_Summary_List", "List", maps),
                ("EPCR_Summary", "String", m.epcr_summary),
                ("LocusId", "String", ""),
            ]
        if db == "mesh":
            term = self.ds.seed_mesh.get(uid)
            if term is None:
                return None
            return [
                ("DS_MeshTerms", "List", [("string", "String", term)]),
                ("DS_ScopeNote", "String", f"Synthetic scope note for {term}."),
            ]
        return None

    def summary_v2(self, db: str, uid: int) -> list[rr.Node] | None:
        if self.ds.dated and not self._present(db, uid):
            return None
        nodes = self._summary_v2(db, uid)
        if nodes is None or not self.ds.dated:
            return nodes
        return dated.stamp_nodes(self.ds, db, uid, nodes)

    def _summary_v2(self, db: str, uid: int) -> list[rr.Node] | None:
        r = self.records
        if db == "snp":
            s = r.snp(uid)
            if s is None:
                return None
            if not self._snp_bulk:
                return rr.snp_nodes(s)
            base = len(self._cached("snp_exchangeset", "snp", uid) or "") if self._filled else 0
            return rr.snp_nodes(s, detail.snp_detail(self.ds.spec, uid, base))
        if db == "gene":
            g = r.gene(uid)
            return rr.gene_nodes(g) if g else None
        if db == "pubmed":
            a = r.article(uid)
            return rr.pubmed_nodes(a) if a else None
        if db in ("protein", "nuccore"):
            q = r.seq(db, uid)
            return rr.seq_nodes(q) if q else None
        v1 = self._summary_v1(db, uid)
        return _items_to_nodes(v1) if v1 is not None else None


def _items_to_nodes(entries: list[rr.Item]) -> list[rr.Node]:
    return [(name, _items_to_nodes(v) if isinstance(v, list) else v) for name, _, v in entries]
