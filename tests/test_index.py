"""Per-id elink answers as the index: matched by the id each linkset names, never by position."""

from __future__ import annotations

from harvester.eutils.results import LinkSet, LinkSetDb
from harvester.workflow.index import index_of

LINKS = {"gene_snp": 0, "gene_pubmed": 1}


def test_linksets_are_matched_to_sources_by_id_in_any_order():
    items = [
        LinkSet("gene", ("2",), (LinkSetDb("pubmed", "gene_pubmed", ("9", "8"), (90, 80)),)),
        LinkSet("gene", ("1",), (LinkSetDb("snp", "gene_snp", ("7",)),)),
    ]
    statuses, edges = index_of([1, 2], items, LINKS)
    assert statuses == {1: "linked", 2: "linked"}
    assert edges == [(2, 1, 0, 9, 90), (2, 1, 1, 8, 80), (1, 0, 0, 7, None)]


def test_dropped_failed_foreign_and_unasked_linksets_leave_their_sources_as_they_should():
    items = [
        LinkSet("gene", ("2",), error="UID=2: cannot get document summary"),
        LinkSet("gene", ("3",), (LinkSetDb("protein", "gene_protein", ("5",)),)),
        LinkSet("gene", ("4",), (LinkSetDb("snp", "gene_snp", ("6",)),)),  # not asked
        LinkSet("gene", ("1", "3")),  # several ids: not a per-id answer
    ]
    statuses, edges = index_of([1, 2, 3], items, LINKS)
    assert statuses == {1: "unknown", 2: "unknown", 3: "no_links"}
    assert edges == []
