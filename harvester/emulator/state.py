"""What every handler shares: the dataset, its catalog, the History server, the config, and the
helpers that resolve ids (from `id=` or from WebEnv/query_key) the way NCBI does."""

from __future__ import annotations

import re
from array import array
from dataclasses import dataclass
from typing import TYPE_CHECKING

from harvester.emulator.catalog import Catalog
from harvester.emulator.dataset import Dataset
from harvester.emulator.history import HistoryStore
from harvester.emulator.linklists import DB_LIST, LEGACY_DBS, NUCLEOTIDE_ALIAS
from harvester.emulator.params import ParamError, Params, split_ids

if TYPE_CHECKING:
    from harvester.emulator.config import EmulatorConfig
    from harvester.emulator.gatekeeper import Gatekeeper

_ACCESSION = re.compile(r"^(N[MP])_(\d{6})(?:\.\d+)?$")
EMPTY_IDS = "Empty id list - nothing todo"
NO_VALID_IDS = "ID list is empty! Possibly it has no correct IDs."
UNKNOWN_LINK_NAME = "Unknown link name: {}"
"""elink's answer to a `linkname` NCBI has not: the text is a guess (docs/NCBI_BEHAVIOUR.md)."""


class HistoryMissing(LookupError):
    """`Unable to obtain query #N`: the WebEnv or query key is unknown or expired."""

    def __init__(self, query_key: int) -> None:
        super().__init__(f"Unable to obtain query #{query_key}")
        self.query_key = query_key

    def __reduce__(self) -> tuple[type[HistoryMissing], tuple[int]]:
        return HistoryMissing, (self.query_key,)  # pickled intact from a render worker


class NoValidIds(ValueError):
    """Ids were given but none could be read (NCBI answers HTTP 400)."""


@dataclass(slots=True)
class State:
    config: EmulatorConfig
    dataset: Dataset
    catalog: Catalog
    history: HistoryStore
    gatekeeper: Gatekeeper | None = None
    """Rate limit, latency, faults and request log (None: answer everything at once)."""

    def check_db(self, db: str | None) -> str:
        """The db a request names, as NCBI resolves it (`nucleotide` is `nuccore`)."""
        if not db or (db not in DB_LIST and db not in LEGACY_DBS):
            raise ParamError(f"Invalid db name specified: {db or ''}")
        return NUCLEOTIDE_ALIAS.get(db, db)

    def parse_uid(self, db: str, token: str) -> int | None:
        if token.isdigit():
            return int(token)
        m = _ACCESSION.match(token)
        if m and db == ("protein" if m.group(1) == "NP" else "nuccore"):
            return self.dataset.maps[db].uid(int(m.group(2)) - 100_000)
        return None

    def ids_from(self, db: str, raw: list[str]) -> tuple[list[int], list[str]]:
        """(readable uids in order without repeats, tokens that are not ids)."""
        uids: list[int] = []
        seen: set[int] = set()
        bad: list[str] = []
        for value in raw:
            for token in split_ids(value):
                uid = self.parse_uid(db, token)
                if uid is None:
                    bad.append(token)
                elif uid not in seen:
                    seen.add(uid)
                    uids.append(uid)
        return uids, bad

    def from_history(self, p: Params) -> tuple[str, array[int]] | None:
        """The stored set named by WebEnv + query_key, or None when they were not given."""
        webenv, key = p.get("webenv"), p.get("query_key")
        if not webenv or not key:
            return None
        if not key.isdigit():
            raise ParamError(f"Invalid query_key value: {key[:20]}")
        entry = self.history.get(webenv, int(key))
        if entry is None:
            raise HistoryMissing(int(key))
        return entry

    def request_uids(self, db: str, p: Params) -> list[int]:
        """The uids a fetch-like request names: `id=` list, else the WebEnv/query_key set."""
        raw = p.getall("id")
        if any(v.strip() for v in raw):
            uids, _ = self.ids_from(db, raw)
            if not uids:
                raise NoValidIds(NO_VALID_IDS)
            return uids
        entry = self.from_history(p)
        if entry is None:
            raise ParamError(EMPTY_IDS)
        return list(entry[1])
