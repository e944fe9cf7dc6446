"""entrezpy, the way its documentation chains queries: a Conduit pipeline. One elink
`cmd=neighbor` with `link: True` (one LinkSet per id) builds the index; a second pipeline runs
elink `cmd=neighbor_history` and an efetch (or esummary) that depends on it, with `reqsize: 500`
so entrezpy pages the WebEnv itself. Efetch results need a user analyzer (entrezpy's own
EfetchAnalyzer only prints): ours streams each page with ElementTree (snp DocumentSummary,
Entrezgene). entrezpy's pacing
(from its request rate: 3/s, 10/s with a key) and retries (up to 9, 1-3 s random waits) are
untouched; the base URL is set on `EutilsQuery.base_url` (no trailing slash) before any query."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from typing import Any

from benchmarks.compare.common import EMAIL, PAGE, Task, write_normalised


def available() -> str | None:
    try:
        import entrezpy.base.query
        import entrezpy.conduit  # noqa: F401
    except ImportError as exc:
        return f"entrezpy not installed ({exc})"
    return None


def _analyzer(task: Task, records: list[str]) -> Any:
    import entrezpy.base.analyzer

    class Result:
        def size(self) -> int:
            return len(records)

        def isEmpty(self) -> bool:
            return not records

        def dump(self) -> dict[str, int]:
            return {"records": len(records)}

    class RecordIds(entrezpy.base.analyzer.EutilsAnalyzer):  # type: ignore[misc]
        def init_result(self, response: Any, request: Any) -> bool:
            if self.result is None:
                self.result = Result()
                return True
            return False

        def analyze_error(self, response: Any, request: Any) -> None:
            raise RuntimeError(f"entrezpy: error response for {request.dump()}")

        def analyze_result(self, response: Any, request: Any) -> None:
            self.init_result(response, request)
            if isinstance(response, dict):  # esummary JSON
                block = response.get("result", {})
                records.extend(u for u in block.get("uids", []) if "error" not in block.get(u, {}))
                return
            data = response.read() if isinstance(response, io.StringIO) else response
            for _event, element in ET.iterparse(io.BytesIO(data.encode())):
                tag = element.tag.rsplit("}", 1)[-1]
                if tag == "DocumentSummary" and element.get("uid"):
                    records.append(element.get("uid") or "")
                    element.clear()
                elif tag == "DocSum":
                    records.append(element.findtext("Id") or "")
                    element.clear()
                elif tag == "Entrezgene":
                    records.append(
                        element.findtext("Entrezgene_track-info/Gene-track/Gene-track_geneid") or ""
                    )
                    element.clear()

    return RecordIds()


class _TolerantJson:
    """`json` for entrezpy's elink analyzer: dumps anything (sets as lists)."""

    def __getattr__(self, name: str) -> Any:
        import json

        return getattr(json, name)

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        import json

        return json.dumps(obj, default=list, **kwargs)


def work(task: Task) -> None:
    import entrezpy.base.query

    entrezpy.base.query.EutilsQuery.base_url = task.base_url.rstrip("/")
    import entrezpy.conduit
    import entrezpy.elink.elink_analyzer

    # entrezpy 2.1.3 crashes on any id without links: ElinkAnalyzer.analyze_links logs
    # json.dumps({'Empty linkset'}) (a set: TypeError). Its logging only, patched so the run
    # can go on; requests, pacing and retries are entrezpy's own.
    entrezpy.elink.elink_analyzer.json = _TolerantJson()

    conduit = entrezpy.conduit.Conduit(EMAIL, apikey=task.api_key)
    ids = task.ids
    common = {"dbfrom": task.dbfrom, "db": task.db, "id": ids, "linkname": task.linkname}

    pipe = conduit.new_pipeline()
    pipe.add_link({**common, "cmd": "neighbor", "link": True})
    result = conduit.run(pipe).get_result()
    index: dict[str, list[str]] = {}
    for linkset in result.linksets:
        index[str(linkset.uid)] = [
            str(unit.uid) for unit in linkset.linkunits if unit.linkname == task.linkname
        ]
    count = len({t for targets in index.values() for t in targets})

    records: list[str] = []
    pipe = conduit.new_pipeline()
    link = pipe.add_link({**common, "cmd": "neighbor_history", "link": False})
    params = {"db": task.db, "retmax": count, "reqsize": PAGE}
    if task.via == "efetch":
        pipe.add_fetch(
            {**params, "retmode": "xml"}, dependency=link, analyzer=_analyzer(task, records)
        )
    else:
        pipe.add_summary(
            {**params, "retmode": "xml"}, dependency=link, analyzer=_analyzer(task, records)
        )
    conduit.run(pipe)
    write_normalised(task, index, records)
