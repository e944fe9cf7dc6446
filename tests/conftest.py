"""Shared fixtures: the real emulator over loopback, and the captured NCBI samples."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from harvester.emulator.config import EmulatorConfig
from harvester.emulator.server import Emulator

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "ncbi-samples"
SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"


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
