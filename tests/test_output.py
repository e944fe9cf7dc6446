"""The table writers against the real job store: cells that need quoting come out quoted, the
rest plain, and a csv reader gets back exactly what was stored."""

from __future__ import annotations

import csv

import orjson
import pytest

from harvester.harvest.fields import FieldExtractor
from harvester.harvest.output import header, write_table
from harvester.harvest.store import Store

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
    edges = [(1, 0, 0, 10, None), (1, 0, 1, 11, None), (2, 0, 0, 12, 7), (2, 0, 1, 13, 5)]
    statuses = {1: "linked", 2: "linked", 3: "no_links"}
    store.commit_links(chunk, statuses, edges)
    store.commit_records([(u, orjson.dumps(v)) for u, v in RECORDS.items()], missing=[13])
    out = tmp_path / f"out.{fmt}"
    extractor = FieldExtractor([("A", "A"), ("B", "B")])
    assert write_table(store, out, fmt, ["gene_snp"], ["A", "B"], extractor) == 5
    with out.open(newline="") as handle:
        rows = list(csv.reader(handle, delimiter=delimiter))
    assert rows == [
        header(["A", "B"]),
        ["1", "linked", "gene_snp", "10", "", "ok", "tab\there", 'say "hi"'],
        ["1", "linked", "gene_snp", "11", "", "ok", "line\nbreak", "x|y"],
        ["2", "linked", "gene_snp", "12", "7", "ok", "comma, here", ""],
        ["2", "linked", "gene_snp", "13", "5", "missing", "", ""],
        ["3", "no_links", "", "", "", "", "", ""],
    ]
    text = out.read_text()
    assert f"3{delimiter}no_links" in text  # plain rows are not quoted
    store.close()
