"""The fuzz tests' guards fail what they promise to: an input that hangs, one that balloons."""

from __future__ import annotations

import sys
import time

import fuzz_support
import pytest
from fuzz_support import Hang, bounded


def test_an_input_that_hangs_is_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fuzz_support, "SECONDS_PER_INPUT", 0.05)
    with pytest.raises(Hang), bounded():
        time.sleep(5)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self")
def test_an_input_whose_memory_balloons_fails() -> None:
    with pytest.raises(AssertionError, match="peak memory grew by"), bounded():
        ballast = bytearray(300 << 20)
        ballast[::4096] = b"x" * len(range(0, 300 << 20, 4096))  # touch every page
        del ballast
