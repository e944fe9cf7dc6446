"""benchmarks/client_pacing.py in quick mode, 20x faster: the client never overruns the limit.

A correctness check, not a speed assertion: with the emulator enforcing 3/s and 10/s (scaled to
60/s and 200/s) and realistic latency (scaled down), the client must draw no 429 and the server
must never see more than the limit in any one-second window.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

QUICK = 30
"""Requests per scenario: half of `--quick`, so both scenarios fit well under 5 s."""
BENCHMARK = Path(__file__).resolve().parents[1] / "benchmarks" / "client_pacing.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("client_pacing", BENCHMARK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("client_pacing", module)
    spec.loader.exec_module(module)
    return module


client_pacing = _load()


@pytest.mark.slow
@pytest.mark.parametrize("limit", [3, 10])
def test_quick_run_draws_no_429_and_stays_under_the_limit(limit: int) -> None:
    scenario = client_pacing.Scenario(limit, requests=QUICK, speedup=20)
    result = client_pacing.run_scenario(scenario, in_thread=True)
    server, client = result.server, result.client
    assert server.refused == 0, server.statuses
    assert client.http_429 == 0
    assert server.peak <= scenario.rate  # 60/s and 200/s
    assert server.requests == sum(client.requests.values()) == QUICK
    assert server.endpoints == {"efetch": 23, "elink": 6, "epost": 1}
    assert client.records > 0 and client.linksets > 0
