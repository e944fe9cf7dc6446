"""Shared fixtures: the real emulator over loopback, and the captured NCBI samples."""

from __future__ import annotations

import dataclasses
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from harvester.emulator.config import EmulatorConfig
from harvester.emulator.server import Emulator
from harvester.eutils.retry import Backoff
from harvester.eutils.settings import ClientConfig

os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="harvester-test-cache-")
"""Tests (and the harvests they start in subprocesses) keep pacing ledgers and cached link
jobs in a folder of their own, never the user's ~/.cache."""

SAMPLES = Path(
    os.environ.get("HARVESTER_SAMPLES")
    or Path(__file__).resolve().parents[2] / "shared" / "ncbi-samples"
)
"""../shared/ncbi-samples beside the checkout; HARVESTER_SAMPLES names it for a checkout kept
elsewhere (a git worktree)."""
SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Modules with slow tests run first (each kept whole): parallel workers start on the long
    runs and finish together, instead of one ending the suite alone on a late one."""
    slow = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow)


@pytest.fixture
def samples() -> Path:
    """../shared/ncbi-samples, or a skip when this checkout has no shared folder beside it."""
    if not SAMPLES.is_dir():
        pytest.skip("../shared/ncbi-samples is absent")
    return SAMPLES


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    async with Emulator(EmulatorConfig()) as emu:
        yield emu


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retry waits a hundredth of the real ones, every cap and count unchanged: a test that
    provokes retries checks that they happen and how they end, not how long NCBI is waited for."""
    real = ClientConfig.backoff

    def quick(config: ClientConfig) -> Backoff:
        backoff = real(config)
        return dataclasses.replace(backoff, base=backoff.base / 100, cap=backoff.cap / 100)

    monkeypatch.setattr(ClientConfig, "backoff", quick)
