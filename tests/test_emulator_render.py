"""The hand-written snp efetch template says exactly what the generic node tree (used for
esummary v2 and JSON) says, so the fast path cannot drift from the other shapes."""

from __future__ import annotations

from harvester.emulator import render_records as rr
from harvester.emulator.dataset import Dataset
from harvester.emulator.records import Records


def test_snp_template_equals_the_node_tree_for_every_snp():
    ds = Dataset()
    records = Records(ds)
    checked = 0
    for uid in ds.uids("snp"):
        snp = records.snp(uid)
        if snp is None:
            continue
        tree = f'<DocumentSummary uid="{uid}">{rr.compact(rr.snp_nodes(snp))}</DocumentSummary>\n'
        assert rr.snp_exchangeset_record(snp) == tree
        checked += 1
    assert checked > 4000
