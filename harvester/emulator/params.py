"""Request parameters as NCBI reads them: GET and form POST alike, names case-insensitive.

Biopython sends `webenv`, EDirect and the seed send `WebEnv`; the seed's 2007 URLs use `report`
and `mode` where today's use `rettype` and `retmode`. All of them land on one name here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from aiohttp import web
from multidict import MultiDict

ALIASES = {"report": "rettype", "mode": "retmode"}
_SPLIT = re.compile(r"[\s,]+")


class ParamError(ValueError):
    """A parameter NCBI would refuse; the message is NCBI's wording where known."""


@dataclass(frozen=True, slots=True)
class Params:
    values: MultiDict[str]

    def get(self, name: str, default: str | None = None) -> str | None:
        value = self.values.get(name)
        return value.strip() if value is not None else default

    def getall(self, name: str) -> list[str]:
        return [v for v in self.values.getall(name, []) if v is not None]

    def int(self, name: str, default: int) -> int:
        raw = self.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ParamError(f"Invalid {name} value: {raw[:40]}") from None
        if value < 0:
            raise ParamError(f"Invalid {name} value: {value}")
        return value

    def flag(self, name: str) -> bool:
        return (self.get(name) or "").lower() in ("y", "yes", "true", "1")

    @property
    def json(self) -> bool:
        return (self.get("retmode") or "").lower() == "json"


PARAMS_OVERRIDE = web.RequestKey("harvester.params_override", Params)
"""Where a fault puts the parameters the handler is to read instead of the request's."""


async def read_params(request: web.Request) -> Params:
    """Merge the query string and a form body (any content type that parses as a form).

    Safe to call twice (the rate gate reads `api_key` first): aiohttp caches the parsed form."""
    override = request.get(PARAMS_OVERRIDE)
    if isinstance(override, Params):
        return override
    merged: MultiDict[str] = MultiDict()
    for key, value in request.query.items():
        merged.add(ALIASES.get(key.lower(), key.lower()), value)
    if request.method == "POST" and request.body_exists:
        try:
            form = await request.post()
        except web.HTTPException:
            raise  # a body too large: the status aiohttp chose says so
        except Exception:  # garbage body: NCBI ignores what it cannot read
            return Params(merged)
        for key, field_value in form.items():
            if isinstance(field_value, str):
                merged.add(ALIASES.get(key.lower(), key.lower()), field_value)
    return Params(merged)


def split_ids(raw: str) -> list[str]:
    """Tokens of an `id` value: comma- or whitespace-separated."""
    return [t for t in _SPLIT.split(raw.strip()) if t]
