"""Peak RSS of one client process fetching the emulator's long nuccore record.

    echo "long_sequence: 11000000" > long.yaml
    harvester serve --dataset long.yaml --no-rate-limit &       # prints its URL
    PYTHONPATH=. python benchmarks/huge_record.py URL 600000009 MAX_RECORD_BYTES

600000009 is the tiny dataset's first generated nuccore uid: the long record.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys

from harvester.errors import ParseError
from harvester.eutils.client import ClientConfig, EutilsClient


async def fetch(url: str, uid: str, bound: int) -> tuple[object, float, float]:
    """Sequence lengths (or the error's start), bytes read and efetch requests sent."""
    cfg = ClientConfig(base_url=url, policy="custom", rate=100, max_record_bytes=bound)
    async with EutilsClient(cfg) as client:
        got: object
        try:
            got = [
                len(record.element.findtext("GBSeq_sequence") or "")
                async for record in client.efetch("nuccore", ids=[uid])
                if record.element is not None
            ]
        except ParseError as exc:
            got = str(exc)[:90]
        return got, client.stats.get("bytes/in"), client.stats.get("requests/efetch")


def main() -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    bound = int(sys.argv[3])
    got, size, requests = asyncio.run(fetch(sys.argv[1], sys.argv[2], bound))
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result: dict[str, object] = {"bound": bound, "got": got, "bytes_in": size, "requests": requests}
    result["peak_rss_mib"] = round(after / 1024, 1)
    result["grew_mib"] = round((after - before) / 1024, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
