"""The synthetic dataset: deterministic, consistent both ways, heavy-tailed, with ground truth."""

from __future__ import annotations

from harvester.emulator.dataset import Dataset
from harvester.emulator.graph import BlockGraph, DegreeSpec
from harvester.emulator.spec import DatasetSpec, LinkSpec, load_spec


def test_same_spec_same_links_and_records():
    a, b = Dataset(DatasetSpec(seed=7)), Dataset(DatasetSpec(seed=7))
    gene = a.maps["gene"].uid(10)
    assert a.links("gene_snp", gene) == b.links("gene_snp", gene)
    assert list(a.uids("snp")) == list(b.uids("snp"))
    assert list(Dataset(DatasetSpec(seed=8)).uids("snp")) != list(a.uids("snp"))


def test_forward_and_reverse_links_agree():
    ds = Dataset()
    for i in range(ds.spec.genes):
        gene = ds.maps["gene"].uid(i)
        for snp, _ in ds.links("gene_snp", gene):
            assert gene in {g for g, _ in ds.links("snp_gene", snp)}
        for pmid, _ in ds.links("gene_pubmed", gene):
            assert gene in {g for g, _ in ds.links("pubmed_gene", pmid)}
    for k in range(ds.maps["snp"].count):
        snp = ds.maps["snp"].uid(k)
        for gene, _ in ds.links("snp_gene", snp):
            assert snp in {s for s, _ in ds.links("gene_snp", gene)}


def test_window_graph_shares_every_target_between_window_sources():
    graph = BlockGraph.generate(
        1000, DegreeSpec(10, 0.5, 0.0, 100), window=10, spill_rate=0, seed=1
    )
    for t in range(0, graph.n_targets, 97):
        sources = graph.sources(t)
        assert all(t in graph.targets(s) for s in sources)
        assert len(sources) == 10 or t < graph.starts[10]


def test_degrees_are_heavy_tailed():
    ds = Dataset(DatasetSpec(genes=5000, gene_snp=LinkSpec(DegreeSpec(8, 1.3, 0.1, 20_000))))
    degrees = sorted(ds.gene_snp.degree(i) for i in range(5000))
    median, top = degrees[len(degrees) // 2], degrees[-1]
    assert 4 <= median <= 12
    assert top > 20 * median
    assert degrees.count(0) > 250


def test_links_are_in_descending_uid_order_except_pubmed_pubmed():
    ds = Dataset()
    gene = max(range(ds.spec.genes), key=ds.gene_snp.degree)
    links = [t for t, _ in ds.links("gene_snp", ds.maps["gene"].uid(gene))]
    assert links == sorted(links, reverse=True)
    pmid = ds.maps["pubmed"].uid(5)
    similar = ds.links("pubmed_pubmed", pmid)
    assert pmid in [t for t, _ in similar]
    assert [s for _, s in similar] == sorted((s for _, s in similar), reverse=True)


def test_narrower_link_names_keep_the_same_pairs_from_both_sides():
    ds = Dataset()
    for gene in list(ds.uids("gene"))[:60]:
        rif = [p for p, _ in ds.links("gene_pubmed_rif", gene)]
        assert set(rif) <= {p for p, _ in ds.links("gene_pubmed", gene)}
        for pmid in rif:
            assert gene in {g for g, _ in ds.links("pubmed_gene_rif", pmid)}


def test_references_and_cited_by_are_two_views_of_one_citation_graph():
    ds = Dataset()
    pmids = list(ds.uids("pubmed"))[400:410]
    for pmid in pmids:
        refs = [t for t, _ in ds.links("pubmed_pubmed_refs", pmid)]
        assert refs and refs == sorted(refs, reverse=True)
        for ref in refs:
            assert pmid in {t for t, _ in ds.links("pubmed_pubmed_citedin", ref)}


def test_ground_truth_marks_withdrawn_snps():
    ds = Dataset(DatasetSpec(withdrawn_snp_per_mille=100))
    sources = [ds.maps["gene"].uid(i) for i in range(50)]
    truth = ds.ground_truth("gene_snp", sources)
    flat = [link for links in truth.values() for link in links]
    assert any(not link.has_record for link in flat) and any(link.has_record for link in flat)
    assert all(ds.exists("snp", link.target) == link.has_record for link in flat)
    assert truth[sources[0]] == [link for link in truth[sources[0]] if link.source == sources[0]]


def test_seed_examples_are_in_the_default_dataset():
    ds = Dataset(load_spec("tiny"))
    assert [t for t, _ in ds.links("gene_snp", 3718)] == [867174, 11888, 3008]
    assert ds.links("pubmed_gene", 12345678) == [(7157, 1000), (672, 800)]
    assert {
        n: ds.links(n, 242)
        for n in ("snp_pubmed", "snp_snp_genegenotype", "snp_taxonomy", "snp_unists")
    } == {
        "snp_pubmed": [(8808290, 0)],
        "snp_snp_genegenotype": [(242, 0)],
        "snp_taxonomy": [(9606, 0)],
        "snp_unists": [(71299, 0)],
    }


def test_large_dataset_starts_without_its_links_and_is_large():
    # what it allocates, not how long it takes (that depends on the machine): a link list
    # built at start-up would cost at least 8 bytes a link
    import tracemalloc

    tracemalloc.start()
    try:
        ds = Dataset(load_spec("large"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    links = sum(ds.gene_snp.degree(i) for i in range(ds.spec.genes))
    assert ds.spec.genes == 20_000 and links > 2_000_000
    assert peak < links  # under a byte a link (about 1 MB for 3 million)
