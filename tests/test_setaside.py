"""Work set aside: how many rounds before the run stops, on a virtual clock (no sleeping)."""

from __future__ import annotations

import pytest

from harvester.errors import NcbiPermanentError, NcbiTransientError
from harvester.eutils.xmlstream import BadBody, TooLarge
from harvester.workflow.scheduler import Confirm, Link
from harvester.workflow.setaside import ROUNDS, SetAside
from harvester.workflow.store import Chunk

CHUNK = Link(Chunk(4, 400, 499, False, None))


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_one_piece_of_work_is_set_aside_twice_then_stops_the_run_saying_so() -> None:
    clock = Clock()
    aside = SetAside(30.0, clock)
    for _ in range(ROUNDS):
        assert aside.failed(CHUNK, NcbiTransientError("NCBI answered HTTP 503")) == 30.0
        clock.now += 40.0
    with pytest.raises(NcbiTransientError) as stopped:
        aside.failed(CHUNK, NcbiTransientError("NCBI answered HTTP 503"))
    message = str(stopped.value)
    assert message.startswith("NCBI answered HTTP 503; the elink of chunk 4 failed 3 times")
    assert "over 80 s" in message and "run the same command again to resume" in message


def test_other_work_has_rounds_of_its_own() -> None:
    aside = SetAside(30.0, Clock())
    for chunk in range(10):
        aside.failed(Link(Chunk(chunk, 0, 0, False, None)), NcbiTransientError("x"))
    assert aside.failed(CHUNK, NcbiTransientError("x")) == 30.0


def test_a_confirmation_regrouped_counts_each_id() -> None:
    clock = Clock()
    aside = SetAside(1.0, clock)
    aside.failed(Confirm((1, 2, 3)), NcbiTransientError("x"))
    clock.now += 2
    aside.failed(Confirm((3, 4)), NcbiTransientError("x"))
    clock.now += 2
    with pytest.raises(NcbiTransientError):  # id 3 failed in every batch it was in
        aside.failed(Confirm((3, 5)), NcbiTransientError("x"))


class SharedFailure(NcbiTransientError):
    key = ("history-lost",)


def test_a_shared_failure_arriving_without_pause_still_ends_within_rounds_of_pauses() -> None:
    """Failures of one shared key (the History server) from many pages, every 0.1 s: they
    count as one round per pause, so the run stops after about ROUNDS pauses, not never."""
    clock = Clock()
    aside = SetAside(30.0, clock)
    with pytest.raises(SharedFailure):
        while clock.now < 1000:
            aside.failed(Link(Chunk(int(clock.now * 10), 0, 0, False, None)), SharedFailure("x"))
            clock.now += 0.1
    assert ROUNDS * 30.0 <= clock.now <= (ROUNDS + 1) * 30.0


def test_refusals_and_our_own_bounds_are_final() -> None:
    aside = SetAside(30.0, Clock())
    assert aside.recoverable(BadBody("wrong_root", "efetch answered <eSearchResult>"))
    assert aside.recoverable(NcbiTransientError("backend"))
    assert not aside.recoverable(NcbiPermanentError("invalid db"))
    assert not aside.recoverable(TooLarge("over max_response_bytes"))
