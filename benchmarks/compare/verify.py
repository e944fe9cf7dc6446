"""Checks a contender's normalised output against the dataset's ground truth.

Complete and correct means: every source id of the job is reported; each source's targets are
exactly its ground-truth links (as a set, with no duplicates); and the records fetched are
exactly the distinct targets that have a record: every one of them, none extra, and
no withdrawn SNP (linked, but without a record). A fast wrong answer does not count."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from harvester.emulator.dataset import Dataset, GroundTruthLink


@dataclass(frozen=True, slots=True)
class Truth:
    links: dict[str, list[str]]
    fetchable: frozenset[str]
    withdrawn: frozenset[str]

    @classmethod
    def of(cls, dataset: Dataset, linkname: str, ids: list[str]) -> Truth:
        found: dict[int, list[GroundTruthLink]] = dataset.ground_truth(
            linkname, [int(i) for i in ids]
        )
        links = {str(s): [str(g.target) for g in gs] for s, gs in found.items()}
        every = [g for gs in found.values() for g in gs]
        return cls(
            links,
            frozenset(str(g.target) for g in every if g.has_record),
            frozenset(str(g.target) for g in every if not g.has_record),
        )

    @property
    def link_count(self) -> int:
        return sum(len(v) for v in self.links.values())


@dataclass(slots=True)
class Verdict:
    ok: bool
    sources: int = 0
    links: int = 0
    records: int = 0
    refetched: int = 0
    """Records fetched more than once (wasteful, not wrong: a naive loop refetches shared
    targets)."""
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return "complete" if self.ok else "; ".join(self.problems[:4])


def verify(workdir: str | Path, truth: Truth) -> Verdict:
    workdir = Path(workdir)
    links_path, records_path = workdir / "links.jsonl", workdir / "records.txt"
    if not links_path.exists() or not records_path.exists():
        return Verdict(False, problems=["no normalised output"])
    got: dict[str, list[str]] = {}
    for line in links_path.read_text().splitlines():
        row = json.loads(line)
        got.setdefault(str(row["source"]), []).extend(str(t) for t in row["targets"])
    problems: list[str] = []
    missing_sources = [s for s in truth.links if s not in got]
    extra_sources = [s for s in got if s not in truth.links]
    wrong = [s for s in truth.links if s in got and sorted(got[s]) != sorted(truth.links[s])]
    if missing_sources:
        problems.append(f"{len(missing_sources)} sources missing (e.g. {missing_sources[0]})")
    if extra_sources:
        problems.append(f"{len(extra_sources)} unexpected sources (e.g. {extra_sources[0]})")
    if wrong:
        s = wrong[0]
        problems.append(
            f"{len(wrong)} sources with wrong links "
            f"(e.g. {s}: {len(got[s])} vs {len(truth.links[s])})"
        )
    fetched = Counter(records_path.read_text().split())
    dupes = sum(n - 1 for n in fetched.values() if n > 1)
    absent = truth.fetchable - fetched.keys()
    withdrawn = truth.withdrawn & fetched.keys()
    extra = fetched.keys() - truth.fetchable - truth.withdrawn
    if absent:
        problems.append(f"{len(absent)} of {len(truth.fetchable)} records not fetched")
    if withdrawn:
        problems.append(f"{len(withdrawn)} withdrawn targets reported as records")
    if extra:
        problems.append(f"{len(extra)} records not linked to any source")
    return Verdict(
        not problems,
        len(got),
        sum(len(v) for v in got.values()),
        len(fetched.keys() & truth.fetchable),
        dupes,
        problems,
    )
