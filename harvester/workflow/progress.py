"""Progress bars per stage, drawn by a reader of the counters on a timer (the workers only
count). Quiet when stderr is not a terminal or with --quiet."""

from __future__ import annotations

import sys
import threading
from types import TracebackType

from tqdm import tqdm

from harvester.stats import Stats
from harvester.workflow.store import Store
from harvester.workflow.views import StoreView

INTERVAL = 0.5


class Progress:
    """`with Progress(store, stats):` shows elink chunks linked and records fetched."""

    def __init__(self, store: Store, stats: Stats, disabled: bool = False) -> None:
        self.stats = stats
        self.disabled = disabled or not sys.stderr.isatty()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.bars: dict[str, tqdm] = {}
        self._base: dict[str, int] = {}
        if self.disabled:
            return  # the counts scan every edge: only pay for them when bars are drawn
        counts = self._base = StoreView(store).counts()
        self.bars = {
            "link": tqdm(
                total=counts["chunks"],
                initial=counts["chunks_linked"],
                desc="elink chunks",
                unit="chunk",
                position=0,
                leave=True,
            ),
            "fetch": tqdm(
                total=counts["targets"],
                initial=counts["targets_fetched"],
                desc="records",
                unit="rec",
                position=1,
                leave=True,
            ),
        }

    def refresh(self) -> None:
        if self.disabled:
            return
        s, base = self.stats, self._base
        link, fetch = self.bars["link"], self.bars["fetch"]
        link.n = base["chunks_linked"] + int(s.get("harvest/chunks_linked"))
        fetch.total = base["targets"] + int(s.get("harvest/targets"))
        fetch.n = base["targets_fetched"] + int(s.get("harvest/records"))
        link.refresh()
        fetch.refresh()

    def _loop(self) -> None:
        while not self._stop.wait(INTERVAL):
            self.refresh()

    def __enter__(self) -> Progress:
        if not self.disabled:
            self._thread = threading.Thread(target=self._loop, daemon=True)
            self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.refresh()
        for bar in self.bars.values():
            bar.close()
