"""The six steps of the index-list workflow, listed once: the package docstring, the engine's
sections and the modules that do each step follow this list, in this order."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Step"]


class Step(StrEnum):
    """One step of the workflow; the members are in the order the work goes through them."""

    PLAN = "plan"
    LINK = "link"
    HISTORY = "history"
    FETCH = "fetch"
    KEY = "key"
    JOIN = "join"

    @property
    def does(self) -> str:
        """What the step does, in a line."""
        return _DOES[self]

    @property
    def modules(self) -> tuple[str, ...]:
        """The `harvester.workflow` modules that do the step, the one named after it first."""
        return _MODULES[self]


_DOES = {
    Step.PLAN: "source ids split into chunks of elink_batch, entries into fetch pages",
    Step.LINK: "per-id elink builds the index, committed with the chunk's new targets claimed",
    Step.HISTORY: "neighbor_history (or an epost) puts the targets on the History server, and "
    "esearch #N checks each entry's size against the index",
    Step.FETCH: "efetch/esummary pages by WebEnv",
    Step.KEY: "records keyed by uid go to the store; ids no page brought are fetched by id",
    Step.JOIN: "the output writers join the records back onto the source ids",
}

_MODULES = {
    Step.PLAN: ("plan", "sources"),
    Step.LINK: ("linking", "index"),
    Step.HISTORY: ("history", "history_keys"),
    Step.FETCH: ("fetching", "hedge"),
    Step.KEY: ("keyed", "fields", "page_gaps"),
    Step.JOIN: ("joined", "output", "table"),
}
