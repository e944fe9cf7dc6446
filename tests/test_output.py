"""The table writers against the real job store: cells that need quoting come out quoted, the
rest plain, and a csv reader gets back exactly what was stored."""

from __future__ import annotations

import csv

import orjson
import pytest

from harvester.eutils._lxml import etree
from harvester.eutils.results import Record
from harvester.workflow.fields import PLAIN, FieldExtractor
from harvester.workflow.output import header, write_table
from harvester.workflow.store import Store
from harvester.workflow.views import StoreView

RECORDS = {
    10: {"A": "tab\there", "B": 'say "hi"'},
    11: {"A": "line\nbreak", "B": ["x", "y"]},
    12: {"A": "comma, here", "B": None},
}


@pytest.mark.parametrize(("fmt", "delimiter"), [("tsv", "\t"), ("csv", ",")])
def test_table_rows_round_trip_through_a_csv_reader(tmp_path, fmt, delimiter):
    store = Store(tmp_path / "state.sqlite")
    store.initialise("job", [1, 2, 3], 100)
    chunk = store.chunks()[0].chunk
    edges = [
        (1, 0, 0, 10, None),
        (1, 0, 1, 11, None),
        (1, 0, 2, 14, None),
        (2, 0, 0, 12, 7),
        (2, 0, 1, 13, 5),
    ]
    statuses = {1: "linked", 2: "linked", 3: "no_links"}
    store.commit_links(chunk, statuses, edges)
    stored = [(u, (orjson.dumps(v), b"<R/>")) for u, v in RECORDS.items()]
    stored.append((14, (PLAIN + b"p q\x1f", b"<R/>")))  # stored as cells: B is ""
    store.commit_records(stored, missing=[13])
    out = tmp_path / f"out.{fmt}"
    extractor = FieldExtractor([("A", "A"), ("B", "B")])
    assert write_table(StoreView(store), out, fmt, ["gene_snp"], ["A", "B"], extractor) == 6
    with out.open(newline="") as handle:
        rows = list(csv.reader(handle, delimiter=delimiter))
    assert rows == [
        header(["A", "B"]),
        ["1", "linked", "gene_snp", "10", "", "ok", "tab\there", 'say "hi"'],
        ["1", "linked", "gene_snp", "11", "", "ok", "line\nbreak", "x|y"],
        ["1", "linked", "gene_snp", "14", "", "ok", "p q", ""],
        ["2", "linked", "gene_snp", "12", "7", "ok", "comma, here", ""],
        ["2", "linked", "gene_snp", "13", "5", "missing", "", ""],
        ["3", "no_links", "", "", "", "", "", ""],
    ]
    text = out.read_text()
    assert f"3{delimiter}no_links" in text  # plain rows are not quoted
    store.close()


@pytest.mark.parametrize(
    ("body", "plain"),
    [
        (b"<A>JAK3</A><B>intron</B>", True),
        (b"<A>JAK3</A><B></B>", True),  # an empty element is "", not null
        (b"<A>JAK3</A>", False),  # B is null
        (b"<A>x</A><A>y</A><B>z</B>", False),  # A is a list
        (b"<A>a,b</A><B>z</B>", False),  # CSV would quote it
        (b"<A>a\tb</A><B>z</B>", False),  # TSV would quote it
        (b'<A>say "hi"</A><B>z</B>', False),
    ],
)
def test_records_are_stored_as_plain_cells_only_when_nothing_is_lost(body, plain):
    extractor = FieldExtractor([("A", "A"), ("B", "B")])
    record = Record("snp", "1", etree.fromstring(b"<R>" + body + b"</R>"))
    data, _ = extractor.encode(record)
    assert (data[:1] == PLAIN) is plain
    assert extractor.decode(data) == extractor.values(record)  # the same values either way
    cells = extractor.plain_cells(data, "\t")
    assert (cells is not None) is plain


def test_a_json_record_carrying_the_cell_separator_is_stored_as_json():
    extractor = FieldExtractor([("A", "a"), ("B", "b")])
    record = Record("gene", "1", doc={"a": "x\x1fy", "b": "z"})  # JSON esummary may carry it
    data, _ = extractor.encode(record)
    assert data[:1] != PLAIN
    assert extractor.decode(data) == {"A": "x\x1fy", "B": "z"}


def test_every_format_writes_a_target_state_in_the_same_words(tmp_path):
    """JSONL once wrote `"missing": "not fetched"` (truthy: read as missing by
    `if link["missing"]`) where TSV writes `not_fetched`: one vocabulary now (joined.py)."""
    from harvester.workflow.joined import STATUS, TargetWord, target_state
    from harvester.workflow.output import jsonl_docs
    from harvester.workflow.table import typed_rows
    from tests.harvest_helpers import make_job

    job = make_job(tmp_path, [1], fields={"A": "A"})
    store = Store(tmp_path / "state.sqlite")
    store.initialise("job", [1], 100, job.linknames)
    store.commit_links(
        store.chunks()[0].chunk,
        {1: "linked"},
        [(1, 0, r, t, None) for r, t in enumerate([10, 11, 12])],
    )
    store.commit_records([(10, (orjson.dumps({"A": "a"}), b"<R/>"))], missing=[11])  # 12: pending
    view = StoreView(store)
    (doc,) = jsonl_docs(view, job)
    assert [
        {k: v for k, v in link.items() if k not in ("linkname", "id")} for link in doc["links"]
    ] == [
        {"record": {"A": "a"}},
        {"record": None, "missing": True},
        {"record": None, "not_fetched": True},
    ]
    out = tmp_path / "out.tsv"
    write_table(view, out, "tsv", job.linknames, ["A"], FieldExtractor(job.fields))
    words = [row[5] for row in csv.reader(out.open(newline=""), delimiter="\t")][1:]
    assert words == ["ok", "missing", "not_fetched"] == list(TargetWord)
    assert [row[5] for row in typed_rows(view, job)] == words
    assert target_state(None, None) == "not_fetched" and STATUS[None] == "pending"
    store.close()
