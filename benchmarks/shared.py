"""What the benchmark scripts share: the benchmark job's gene ids, and a core of its own for a
child process."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def gene_ids(count: int = 1000) -> list[str]:
    """The first `count` genes of the large dataset (its first 1,000 are bulk_genes.txt)."""
    lines = (ROOT / "configs/jobs/bulk_genes.txt").read_text().splitlines()
    genes = [line for line in lines if line.strip() and not line.startswith("#")]
    if count > len(genes):
        from harvester.emulator.dataset import Dataset
        from harvester.emulator.spec import load_spec

        genes = [str(uid) for uid in list(Dataset(load_spec("large")).uids("gene"))[:count]]
    return genes[:count]


def pin(core: int) -> Callable[[], None]:
    """`preexec_fn` putting a child on one core: emulator and harvester on cores of their own,
    so neither's CPU is the other's jitter."""
    return lambda: os.sched_setaffinity(0, {core % (os.cpu_count() or 1)})
