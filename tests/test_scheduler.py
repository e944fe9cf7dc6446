"""The scheduler's ordering policies, each pinned on its own: no HTTP, no store, no sleeping."""

from __future__ import annotations

import asyncio

from harvester.workflow.scheduler import (
    HELD_CHECKS,
    HELD_SHORT_PAGES,
    LINKS_AHEAD,
    LINKS_IN_FLIGHT,
    Check,
    Confirm,
    History,
    Link,
    Page,
    Scheduler,
    Work,
)
from harvester.workflow.store import Chunk, Entry

PAGE = 10


def entry(n: int) -> Entry:
    return Entry(n, 0, 0, "WEBENV", str(n), 3 * PAGE, None, "open")


def chunk(n: int) -> Chunk:
    return Chunk(n, 10 * n, 10 * n + 9, False, None)


def taken(scheduler: Scheduler) -> list[Work]:
    """Everything queued now, in the order it is handed out (none of it done)."""
    out = []
    while (work := scheduler.next_nowait()) is not None:
        out.append(work)
    return out


def test_work_is_handed_out_most_urgent_first():
    s = Scheduler(concurrency=4, page_size=PAGE)
    s.enqueue(Check(entry(1)))  # no page is queued: nothing to hold it back for
    s.enqueue(Page(entry(1), 0, PAGE))
    s.enqueue(History(3, "post"))
    s.enqueue(Link(chunk(2)))
    s.enqueue(Confirm(tuple(range(PAGE))))  # a request's worth: asked at once
    kinds = [type(w) for w in taken(s)]
    assert kinds == [Confirm, Link, History, Check, Page]


def test_pages_of_one_priority_go_first_come_first_served():
    s = Scheduler(concurrency=4, page_size=PAGE)
    pages = [Page(entry(e), r, PAGE) for e in (2, 1) for r in (0, PAGE)]
    for page in pages:
        s.enqueue(page)
    assert taken(s) == pages


def test_short_pages_wait_for_the_tail_largest_first_then_the_checks():
    s = Scheduler(concurrency=4, page_size=PAGE)
    full = [Page(entry(1), 0, PAGE), Page(entry(1), PAGE, PAGE)]
    for page in full:
        s.enqueue(page)
    s.enqueue(Page(entry(1), 2 * PAGE, 3))
    s.enqueue(Check(entry(1)))
    s.enqueue(Page(entry(2), 0, 7))
    s.enqueue(Check(entry(2)))
    s.enqueue(Page(entry(3), 0, 5))
    assert taken(s) == [
        *full,
        Page(entry(2), 0, 7),
        Page(entry(3), 0, 5),
        Page(entry(1), 2 * PAGE, 3),
        Check(entry(1)),
        Check(entry(2)),
    ]


def test_a_short_page_goes_at_once_when_no_page_is_queued_and_its_check_after_it():
    s = Scheduler(concurrency=4, page_size=PAGE)
    s.enqueue(Page(entry(1), 0, 3))
    s.enqueue(Check(entry(1)))
    assert taken(s) == [Page(entry(1), 0, 3), Check(entry(1))]


def test_the_oldest_held_short_page_and_check_go_once_too_many_wait():
    s = Scheduler(concurrency=4, page_size=PAGE)
    s.enqueue(Page(entry(0), 0, PAGE))
    for n in range(1, HELD_SHORT_PAGES + 2):
        s.enqueue(Page(entry(n), 0, 1))
    for n in range(1, HELD_CHECKS + 2):
        s.enqueue(Check(entry(n)))
    first = taken(s)[:3]  # taking the last of these releases what is held
    assert first == [Check(entry(1)), Page(entry(0), 0, PAGE), Page(entry(1), 0, 1)]


def test_chunks_are_linked_a_few_at_a_time_and_only_while_few_pages_are_queued():
    s = Scheduler(concurrency=1, page_size=PAGE)  # lookahead: two pages
    for n in range(LINKS_AHEAD + 3):
        s.enqueue(Link(chunk(n)))
    links = taken(s)
    assert links == [Link(chunk(n)) for n in range(LINKS_AHEAD)]
    s.linked("history", 10)
    s.done(links[0])
    assert taken(s) == [Link(chunk(LINKS_AHEAD))]
    s.enqueue(Page(entry(1), 0, PAGE))
    s.enqueue(Page(entry(1), PAGE, PAGE))
    s.done(links[1])  # two pages are queued: no chunk is linked yet
    assert s.next_nowait() == Page(entry(1), 0, PAGE)  # one left: the next chunk goes
    assert taken(s) == [Link(chunk(LINKS_AHEAD + 1)), Page(entry(1), PAGE, PAGE)]


def test_chunks_with_many_links_are_linked_fewer_at_a_time():
    s = Scheduler(concurrency=1, page_size=PAGE)
    s.enqueue(Link(chunk(0)))
    (first,) = taken(s)
    s.linked("history", LINKS_IN_FLIGHT // 2)
    for n in range(1, LINKS_AHEAD + 1):
        s.enqueue(Link(chunk(n)))
    s.done(first)
    assert taken(s) == [Link(chunk(1)), Link(chunk(2))]


def test_neighbor_history_is_sent_alongside_until_a_third_of_the_chunks_are_posted():
    s = Scheduler(concurrency=1, page_size=PAGE)
    assert s.speculate()  # the first chunk, before anything is known
    assert not s.speculate()  # the chunks sent beside it wait for its answer
    for mode in ("history", "post", "history"):
        s.linked(mode, 5)
    assert not s.speculate()  # 1 of 3 pooled
    s.linked("history", 5)
    assert s.speculate()  # 1 of 4


def test_ids_to_confirm_wait_for_a_request_s_worth():
    s = Scheduler(concurrency=4, page_size=PAGE)
    s.enqueue(Page(entry(1), 0, PAGE))
    s.enqueue(Confirm(tuple(range(PAGE - 1))))
    s.enqueue(Confirm((PAGE - 1,)))
    assert taken(s)[0] == Confirm(tuple(range(PAGE)))


def test_gaps_are_confirmed_at_each_stage_of_the_tail():
    """When the last page goes out, when one page is left, when none is: so the last
    confirmation, which waits for the slowest page, asks only for what that page lacked."""
    s = Scheduler(concurrency=4, page_size=PAGE)
    pages = [Page(entry(1), r, PAGE) for r in (0, PAGE, 2 * PAGE)]
    for page in pages:
        s.enqueue(page)
    first, second = s.next_nowait(), s.next_nowait()
    s.enqueue(Confirm((1, 2)))
    assert s.next_nowait() == pages[2]  # the last page out: the tail starts
    assert s.next_nowait() == Confirm((1, 2))
    s.enqueue(Confirm((3,)))
    s.done(first)
    assert s.next_nowait() is None  # two pages are still out
    s.done(second)
    assert s.next_nowait() == Confirm((3,))  # one is left
    s.enqueue(Confirm((4,)))
    assert s.next_nowait() is None
    s.done(pages[2])
    assert s.next_nowait() == Confirm((4,))  # none is


def test_ids_being_confirmed_are_not_asked_twice_and_with_nothing_left_ids_go_at_once():
    s = Scheduler(concurrency=4, page_size=PAGE)
    s.enqueue(Confirm(tuple(range(PAGE))))
    batch = s.next_nowait()
    assert batch == Confirm(tuple(range(PAGE)))
    s.enqueue(Confirm((0, 1, PAGE)))  # no page is out: asked at once, without those asked
    assert s.next_nowait() == Confirm((PAGE,))
    s.done(batch)
    s.enqueue(Confirm((0,)))  # the tail's last stage is past, but nothing is left to fetch
    assert s.next_nowait() == Confirm((0,))


async def test_drained_returns_once_every_piece_of_work_is_done():
    s = Scheduler(concurrency=4, page_size=PAGE)
    s.enqueue(Link(chunk(0)))
    drained = asyncio.create_task(s.drained())
    link = await s.next()
    s.enqueue(History(0, "history"))  # work adds work
    history = await s.next()
    s.done(link)
    await asyncio.sleep(0)
    assert not drained.done()
    s.done(history)
    await drained


def test_ids_to_ask_again_wait_for_the_confirmations_out_then_go_in_one_batch():
    s = Scheduler(concurrency=4, page_size=PAGE)
    s.enqueue(Confirm(tuple(range(PAGE))))
    first = s.next_nowait()
    s.enqueue(Confirm(tuple(range(PAGE, PAGE + 3))))  # nothing left to fetch: at once
    second = s.next_nowait()
    assert (first, second) == (Confirm(tuple(range(PAGE))), Confirm((PAGE, PAGE + 1, PAGE + 2)))
    s.confirm_again([1, 2])  # the first answer lacked them: they wait for the second's
    s.done(first)
    assert s.next_nowait() is None
    s.confirm_again([PAGE + 2])
    s.done(second)
    assert s.next_nowait() == Confirm((1, 2, PAGE + 2))


def test_ids_to_ask_again_wait_for_the_confirmations_out_even_at_a_new_stage_of_the_tail():
    s = Scheduler(concurrency=4, page_size=PAGE)
    s.enqueue(Confirm(tuple(range(2 * PAGE))))  # two requests' worth: asked at once
    batch = s.next_nowait()
    assert batch == Confirm(tuple(range(2 * PAGE)))
    s.confirm_again([1])  # one slice's answer lacked it; the other slice is still out
    s.enqueue(Confirm(()))  # any later event: the tail's last stage is new, yet it waits
    assert s.next_nowait() is None
    s.confirm_again([PAGE + 1])
    s.done(batch)
    assert s.next_nowait() == Confirm((1, PAGE + 1))
