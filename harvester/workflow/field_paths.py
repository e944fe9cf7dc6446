"""The field paths a record offers (for `harvester fields`), the grammar a `fields` path must
follow, and the closest offered path to one that matched nothing, so a typo in `fields` is
named instead of leaving a column empty."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from harvester.eutils._lxml import etree
from harvester.eutils.results import Record

EXAMPLE_WIDTH = 60
MAX_PATH_CHARS = 500
MAX_STEPS = 64
_NAME = r"[^\W\d][\w.\-]*"
_VALUE = r"(?:'[^']*'|\"[^\"]*\")"
_PREDICATE = (
    rf"\[(?:[1-9]\d{{0,8}}|last\(\)(?:-\d{{1,9}})?|@{_NAME}(?:={_VALUE})?"
    rf"|{_NAME}(?:={_VALUE})?)\]"
)
_STEP = re.compile(rf"(?:{_NAME}|\*)(?:{_PREDICATE})*")
"""One step: an element name or `*`, then predicates ElementPath reads: `[2]`, `[last()]`,
`[@attr]`, `[@attr='v']`, `[child]`, `[child='v']`."""
_ATTRIBUTE = re.compile(rf"@{_NAME}")
"""A last step naming an attribute of the elements before it (`Entrezgene_type/@value`)."""


def split_attribute(path: str) -> tuple[str, str | None]:
    """(the element path, the attribute name) of a path whose last step is `@NAME`; else
    (path, None). An element path of '' means the record itself (`@uid`)."""
    head, _, last = path.rpartition("/")
    if _ATTRIBUTE.fullmatch(last):
        return head, last[1:]
    return path, None


def grammar_problem(path: str) -> str | None:
    """Why `path` is not a field path (None if it is): steps joined by `/` (`//` for any depth),
    relative to the record, never climbing out of it (`..`), bounded in length."""
    if len(path) > MAX_PATH_CHARS:
        return f"longer than {MAX_PATH_CHARS} characters"
    if path.startswith("/"):
        return "a path starts at the record, not at '/'"
    path, attribute = split_attribute(path)
    if attribute is not None:
        if path.endswith("/"):
            return "an attribute step follows one element step ('A/@x', not 'A//@x')"
        if not path:
            return None  # `@uid`: the record's own attribute
    steps = path.split("/")
    if len(steps) > MAX_STEPS:
        return f"more than {MAX_STEPS} steps"
    for i, step in enumerate(steps):
        if step == "..":
            return "'..' climbs out of the record"
        if step == "." and i == 0 and len(steps) > 1:
            continue  # `.//NAME`
        if not step:
            if 0 < i < len(steps) - 1 and steps[i - 1] and steps[i + 1]:
                continue  # `A//B`: B at any depth below A
            return "an empty step (a path ends with '/' or has '///')" if i else "an empty path"
        if not _STEP.fullmatch(step):
            if _ATTRIBUTE.fullmatch(step):
                return f"the attribute step {step!r} must be the path's last"
            return f"step {step!r} is not an element name, '*' or a name with [predicates]"
    return None


def record_paths(record: Record) -> list[tuple[str, str]]:
    """(path, an example value) for every path that leads to text in the record, in document
    order, each once: what a `fields` entry can name."""
    return [(path, example) for path, example, _ in offered_paths(record)]


def offered_paths(record: Record) -> list[tuple[str, str, list[str]]]:
    """(path, an example value, every value) for each path of `record_paths`: how many times
    a path repeats, and what its values look like, for `harvester fields`' types."""
    found: dict[str, list[str]] = {}
    pairs = _json_paths(record.doc or {}, "") if record.element is None else _xml_paths(record)
    for path, text in pairs:
        found.setdefault(path, []).append(text)
    return [(path, texts[0][:EXAMPLE_WIDTH], texts) for path, texts in found.items()]


def _xml_paths(record: Record) -> Iterator[tuple[str, str]]:
    root = record.element
    assert root is not None
    if root.tag == "DocSum":  # esummary v1: an Item is named by its Name
        for item in root.iter("Item"):
            yield item.get("Name", ""), item.text or ""
        return
    yield from _children(root, "")


def _children(el: Any, prefix: str) -> Iterator[tuple[str, str]]:
    """(path, text) of every leaf below `el` and (`PATH/@NAME`, value) of every attribute, in
    document order; a stack, not recursion, as huge-tree parsing lets a record nest 2,048
    deep, past Python's recursion limit."""
    yield from _attributes(el, prefix)
    stack = [(iter(el), prefix)]
    while stack:
        children, at = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
        elif not isinstance(child.tag, str):
            continue  # a comment or processing instruction
        elif len(child):
            path = f"{at}{etree.QName(child).localname}/"
            yield from _attributes(child, path)
            stack.append((iter(child), path))
        else:
            path = f"{at}{etree.QName(child).localname}"
            yield path, child.text or ""
            yield from _attributes(child, f"{path}/")


def _attributes(el: Any, prefix: str) -> Iterator[tuple[str, str]]:
    for name, value in el.attrib.items():
        yield f"{prefix}@{etree.QName(name).localname}", value


def _json_paths(node: Any, prefix: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            yield from _json_paths(value, f"{prefix}/{key}" if prefix else str(key))
    elif isinstance(node, list):
        for item in node:
            yield from _json_paths(item, prefix)
    elif prefix:
        yield prefix.upper(), "" if node is None else str(node)


def closest(path: str, paths: Sequence[str], n: int = 3) -> list[str]:
    """Paths ending in the same name first (`GENE/NAME` -> `GENES/GENE_E/NAME`), then the
    most alike."""
    leaf = path.rpartition("/")[2].upper()
    same_leaf = [p for p in paths if p.rpartition("/")[2].upper() == leaf]
    alike = difflib.get_close_matches(path.upper(), [p.upper() for p in paths], n, 0.4)
    by_upper = {p.upper(): p for p in paths}
    ordered = [*same_leaf, *(by_upper[a] for a in alike)]
    return list(dict.fromkeys(ordered))[:n]


def unmatched_warnings(
    fields: Sequence[tuple[str, str]],
    matched: set[str],
    seen: int,
    sample_paths: Sequence[tuple[str, str]] | None,
) -> list[str]:
    """One line per field whose path matched nothing in any of `seen` records."""
    if not seen:
        return []
    paths = [p for p, _ in sample_paths or ()]
    lines = []
    for name, path in fields:
        if name in matched:
            continue
        near = closest(path, paths)
        hint = f"; closest paths: {', '.join(near)}" if near else ""
        lines.append(f"field {name}: path {path!r} matched nothing in {seen:,} records{hint}")
    return lines
