"""Parsers for the small answers: epost, esearch and einfo.

These bodies are a few KB to a few hundred KB (esearch retmax <= 10,000 ids), so each is read
whole from its root once the stream ends; an in-band `<ERROR>` wins over everything else.
"""

from __future__ import annotations

from collections.abc import Iterator

from harvester.eutils._lxml import etree
from harvester.eutils.results import (
    DbInfo,
    DbLink,
    DbList,
    ErrorResult,
    Item,
    PostResult,
    SearchResult,
)
from harvester.eutils.xmlstream import PerElement, text_of

__all__ = ["InfoHandler", "PostHandler", "SearchHandler", "top_errors"]


def _text(el: etree._Element, path: str) -> str | None:
    found = el.findtext(path)
    return found.strip() if found is not None else None


def _texts(el: etree._Element, path: str) -> tuple[str, ...]:
    return tuple((e.text or "").strip() for e in el.iterfind(path))


def top_errors(root: etree._Element) -> list[ErrorResult]:
    """Every non-empty `<ERROR>` directly under the root, in order (an empty one says nothing)."""
    texts = (text_of(e) for e in root.iterfind("ERROR"))
    return [ErrorResult(text, "ERROR") for text in texts if text]


def _int(value: str | None) -> int:
    return int(value) if value and value.strip().lstrip("-").isdigit() else 0


class _WholeDocument(PerElement):
    """Base: listen to nothing while streaming, read the finished root."""

    tags: tuple[str, ...] = ("ERROR",)
    __slots__ = ()

    def on_end(self, el: etree._Element) -> Iterator[Item]:
        return iter(())

    def finish(self, root: etree._Element) -> Iterator[Item]:
        errors = top_errors(root)
        if errors and root.find("Count") is None:
            yield from errors
            return
        yield from self.read(root)

    def read(self, root: etree._Element) -> Iterator[Item]:
        raise NotImplementedError


class PostHandler(_WholeDocument):
    """ePostResult: QueryKey, WebEnv, and any InvalidIdList."""

    __slots__ = ()

    def read(self, root: etree._Element) -> Iterator[Item]:
        webenv, key = _text(root, "WebEnv"), _text(root, "QueryKey")
        if not webenv or not key:
            yield ErrorResult("epost answer has no WebEnv/QueryKey", "ePostResult")
            return
        yield PostResult(webenv, key, _texts(root, "InvalidIdList/Id"))


class SearchHandler(_WholeDocument):
    """eSearchResult: counts, ids, history entry; ErrorList and WarningList kept as lists."""

    __slots__ = ()

    def read(self, root: etree._Element) -> Iterator[Item]:
        warnings = tuple(
            f"{w.tag}: {(w.text or '').strip()}" for w in root.iterfind("WarningList/*")
        )
        yield SearchResult(
            count=_int(_text(root, "Count")),
            retmax=_int(_text(root, "RetMax")),
            retstart=_int(_text(root, "RetStart")),
            ids=_texts(root, "IdList/Id"),
            query_key=_text(root, "QueryKey"),
            webenv=_text(root, "WebEnv"),
            query_translation=_text(root, "QueryTranslation"),
            phrases_not_found=_texts(root, "ErrorList/PhraseNotFound"),
            fields_not_found=_texts(root, "ErrorList/FieldNotFound"),
            warnings=warnings,
        )
        yield from top_errors(root)


class InfoHandler(_WholeDocument):
    """eInfoResult: the database list, or one database's DbInfo with its LinkList."""

    __slots__ = ()

    def read(self, root: etree._Element) -> Iterator[Item]:
        info = root.find("DbInfo")
        if info is None:
            yield DbList(_texts(root, "DbList/DbName"))
            return
        links = tuple(
            DbLink(
                _text(link, "Name") or "",
                _text(link, "Menu") or "",
                _text(link, "Description") or "",
                _text(link, "DbTo") or "",
            )
            for link in info.iterfind("LinkList/Link")
        )
        yield DbInfo(
            _text(info, "DbName") or "",
            _text(info, "MenuName") or "",
            _text(info, "Description") or "",
            links,
        )
