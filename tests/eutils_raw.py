"""A raw HTTP helper for emulator tests: one request, status and text, no client logic."""

from __future__ import annotations

from typing import Any

import aiohttp
from lxml import etree

SAFE = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


async def call(
    http: aiohttp.ClientSession, base: str, endpoint: str, post: bool = False, **params: Any
) -> tuple[int, str]:
    """GET (or form-POST) one endpoint; repeated ids go in as a list."""
    items = [(k, str(x)) for k, v in params.items() for x in (v if isinstance(v, list) else [v])]
    url = f"{base}{endpoint}.fcgi"
    request = http.post(url, data=items) if post else http.get(url, params=items)
    async with request as response:
        return response.status, await response.text()


def xml(text: str) -> etree._Element:
    return etree.fromstring(text.encode(), SAFE)
