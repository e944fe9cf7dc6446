"""What the runner hands a contender (a Task, as JSON) and the normalised output it expects.

Normalised output, in the task's work directory:
- `links.jsonl`: one line per source the contender reports, {"source": "123", "targets": [...]},
  targets as strings, in the order the tool gave them;
- `records.txt`: one record id per line, every record the contender fetched and parsed
  (withdrawn targets have no record, so they must NOT appear here).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

NCBI = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/"
API_KEY = "0123456789abcdef0123456789abcdef0123"
"""A syntactically plausible key; the emulator runs without a key registry, so it is counted
per key at the keyed limit."""
EMAIL = "bench@example.org"
PAGE = 500
"""Records per efetch/esummary page where the tool lets the user choose."""
CHUNK = 100
"""Source ids per elink (EDirect's and the harvester's chunk)."""


@dataclass(frozen=True, slots=True)
class Task:
    contender: str
    scenario: str
    base_url: str
    """The emulator's prefix, ending in /entrez/eutils/."""
    dbfrom: str
    db: str
    linkname: str
    via: str
    """efetch or esummary."""
    ids_file: str
    workdir: str
    keyed: bool
    rate: float
    """Requests/s the server allows this client (scaled by speedup)."""
    speedup: float = 1.0

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=1))

    @classmethod
    def load(cls, path: str | Path) -> Task:
        return cls(**json.loads(Path(path).read_text()))

    @property
    def ids(self) -> list[str]:
        return read_ids(self.ids_file)

    @property
    def api_key(self) -> str | None:
        return API_KEY if self.keyed else None

    def path(self, name: str) -> Path:
        return Path(self.workdir).absolute() / name

    def env(self) -> dict[str, str]:
        """The environment for a contender's own subprocesses (the key, if any, via env)."""
        env = dict(os.environ)
        env.pop("NCBI_API_KEY", None)
        if self.keyed:
            env["NCBI_API_KEY"] = API_KEY
        return env


def peak_rss_mb() -> float:
    """This process's peak RSS in MB from /proc/self/status VmHWM, which starts afresh at exec
    (ru_maxrss does not: a forked child inherits its parent's peak)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def read_ids(path: str | Path) -> list[str]:
    return [
        line.strip()
        for line in Path(path).read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]


def write_normalised(
    task: Task, index: Mapping[str, Iterable[str]], records: Iterable[str]
) -> None:
    with task.path("links.jsonl").open("w") as out:
        for source, targets in index.items():
            out.write(json.dumps({"source": str(source), "targets": [str(t) for t in targets]}))
            out.write("\n")
    with task.path("records.txt").open("w") as out:
        for uid in records:
            out.write(f"{uid}\n")
