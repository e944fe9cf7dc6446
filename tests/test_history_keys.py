"""Which WebEnv new History entries join: NCBI's, until it nears its query-key limit or is lost."""

from __future__ import annotations

from harvester.ncbi import MAX_QUERY_KEYS
from harvester.workflow.history_keys import KEY_MARGIN, HistoryKeys


def test_entries_join_the_webenv_ncbi_gave_until_its_keys_near_the_limit():
    keys = HistoryKeys()
    assert keys.webenv_for(1) is None  # NCBI starts one
    keys.adopt("W1", 3)
    room = MAX_QUERY_KEYS - KEY_MARGIN - 3
    assert keys.webenv_for(room) == "W1"
    keys.adopt("W1", room)
    assert keys.webenv_for(1) is None  # full: the next request starts a fresh one
    keys.adopt("W2", 1)
    assert keys.webenv_for(1) == "W2"


def test_a_lost_webenv_is_not_joined_again():
    keys = HistoryKeys()
    keys.adopt("W1", 1)
    keys.lost("W2")  # another one: nothing changes
    assert keys.webenv_for(1) == "W1"
    keys.lost("W1")
    assert keys.webenv_for(1) is None
