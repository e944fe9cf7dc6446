"""Field extraction: named paths into a record, like EDirect's xtract, compiled once per job.

A path is slash-separated element names relative to the record (`GENES/GENE_E/NAME`). In the
SNP docsum namespace names are qualified automatically; a last step `@NAME` takes that
attribute of the elements matched (`Entrezgene_type/@value`); in an esummary v1 DocSum a bare
name (`GENE`) means the Item with that Name; in a JSON esummary it is the (lower-cased) key.
One match gives a string, several a list, none null. Without fields, the whole record is kept.
A field's declared type (field_types.py) applies when the output is written, not here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from threading import get_ident
from typing import Any

import orjson

from harvester.eutils._lxml import etree
from harvester.eutils.results import Record
from harvester.workflow import kept
from harvester.workflow.field_paths import (
    grammar_problem,
    record_paths,
    split_attribute,
    unmatched_warnings,
)

Value = str | list[str] | None
Stored = tuple[bytes, bytes]
"""A fetched record as the store takes it: (the output's value, the whole record kept)."""
PLAIN = b"\x1e"
"""First byte of a record stored as its cells: every value is text that neither a TSV nor a
CSV writer would quote, joined by SEP in field order (anything else is stored as JSON)."""
SEP = "\x1f"
_QUOTED = re.compile('[\t,"\r\n\x1e]')


class FieldExtractor:
    """Turns a parsed record into the bytes the job store keeps for it."""

    def __init__(self, fields: Sequence[tuple[str, str]]) -> None:
        self.fields = tuple(fields)
        self.names = tuple(name for name, _ in self.fields)
        self._paths: dict[tuple[str, str], str] = {}
        self._plans: dict[tuple[str, int], _Plan] = {}
        self._fast: dict[tuple[str, int], Callable[[Any], bytes | None]] = {}
        """(record tag, thread) -> its `_plain_cells` (`_cells_for`)."""
        self.seen = 0
        """Records extracted so far."""
        self.matched: set[str] = set()
        """Names of fields that matched something in at least one record."""
        self.sample_paths: list[tuple[str, str]] | None = None
        """The paths of the first record where a field matched nothing, for suggestions."""
        self._report_at = 0
        self._report: Callable[[list[str]], None] | None = None

    def report_unmatched(self, after: int, report: Callable[[list[str]], None]) -> None:
        """Once `after` records are extracted (a first page), `report` the fields that
        matched nothing in any of them, if there are such."""
        self._report_at, self._report = after, report

    def unmatched(self) -> list[str]:
        """One warning per field that matched nothing in every record seen, naming the
        closest paths the records do have."""
        return unmatched_warnings(self.fields, self.matched, self.seen, self.sample_paths)

    def qualified(self, path: str, ns: str) -> str:
        """`path` with each element step in namespace `ns` (a record's default one), cached."""
        key = (path, ns)
        found = self._paths.get(key)
        if found is None:
            found = "/".join(
                f"{{{ns}}}{step}" if ns and step and step[0].isalpha() else step
                for step in path.split("/")
            )
            self._paths[key] = found
        return found

    def values(self, record: Record) -> dict[str, Value]:
        out: dict[str, Value] = {}
        element = record.element
        if element is None:
            doc = record.doc or {}
            for name, path in self.fields:
                out[name] = _json_value(doc, path)
            return out
        tag = element.tag
        ns = tag[1 : tag.index("}")] if isinstance(tag, str) and tag.startswith("{") else ""
        plan = self._plans.get((ns, get_ident())) or self._plan(ns)
        matched: list[list[str]] = [[] for _ in self.fields]
        if plan.union is not None:
            by_tag = plan.by_tag
            for node in plan.union(element):
                for i, attribute in by_tag[node.tag]:
                    if attribute is None:
                        matched[i].append(node.text or "")
                    elif (value := node.get(attribute)) is not None:
                        matched[i].append(value)
        elif plan.trie:
            _walk(element, plan.trie, matched)
        for i in plan.others:
            matched[i] = self._found(element, self.fields[i][1], ns)
        for (name, path), found in zip(self.fields, matched, strict=True):
            if not found and tag == "DocSum" and "/" not in path:
                found = [el.text or "" for el in element.iter("Item") if el.get("Name") == path]
            out[name] = None if not found else found[0] if len(found) == 1 else found
        return out

    def _plan(self, ns: str) -> _Plan:
        """The fields' paths for records in namespace `ns` (per thread: an XPath evaluator is
        not shared between threads). Plain child steps are found together: by one compiled
        XPath union (2.6 us for four fields of a SNP docsum, an ElementPath search ~2 us
        each) when each leaf tag ends one path, else by one walk of the record's children;
        other paths by ElementPath."""
        trie: _Trie = {}
        others: list[int] = []
        paths: dict[str, tuple[str, ...]] = {}
        by_tag: dict[str, list[tuple[int, str | None]]] = {}
        for i, (_, path) in enumerate(self.fields):
            steps, attribute = split_attribute(path)
            names = tuple(steps.split("/"))
            if not steps or not all(_PLAIN_STEP.fullmatch(step) for step in names):
                others.append(i)
                continue
            node = trie
            for depth, step in enumerate(names):
                qualified = f"{{{ns}}}{step}" if ns else step
                leaves, below = node.setdefault(qualified, ([], {}))
                if depth == len(names) - 1:
                    leaves.append((i, attribute))
                    by_tag.setdefault(qualified, []).append((i, attribute))
                    if paths.setdefault(qualified, names) != names:
                        paths[""] = ()  # one leaf tag ends two paths: no union
                node = below
        texts = {leaf: fields[0][0] for leaf, fields in by_tag.items()}
        plain_texts = len(texts) == len(self.fields) and all(
            len(fields) == 1 and fields[0][1] is None for fields in by_tag.values()
        )
        plan = _Plan(trie, tuple(others), _union(paths, ns), by_tag, texts if plain_texts else None)
        self._plans[(ns, get_ident())] = plan
        return plan

    def _found(self, element: Any, path: str, ns: str) -> list[str]:
        """The texts (or attribute values) `path` matches below `element`."""
        steps, attribute = split_attribute(path)
        if attribute is None:
            return [el.text or "" for el in element.iterfind(self.qualified(path, ns))]
        matched = element.iterfind(self.qualified(steps, ns)) if steps else (element,)
        return [value for el in matched if (value := el.get(attribute)) is not None]

    def encode(self, record: Record) -> Stored:
        """What the store keeps: the output's value (extracted fields as plain cells, the
        common case the table writer copies, or JSON; or the record's XML/JSON) and the whole
        record, from which other fields can be extracted later without a request."""
        whole = kept.raw(record)
        return self.cells(record) if self.fields else whole, whole

    def cells(self, record: Record) -> bytes:
        """The extracted fields as stored for output; notes which fields matched."""
        if record.element is not None and len(self.matched) == len(self.names):
            plain = self._plain_cells(record.element)
            if plain is not None:
                self.seen += 1
                return plain
        values = self.values(record)
        self.seen += 1
        if len(self.matched) < len(self.names):
            self.matched.update(name for name, value in values.items() if value is not None)
            if self.sample_paths is None and len(self.matched) < len(self.names):
                self.sample_paths = record_paths(record)
            if self._report is not None and self.seen >= self._report_at:
                report, self._report = self._report, None  # once, from whichever worker
                report(self.unmatched())
        return _plain(values) or orjson.dumps(values)

    def _plain_cells(self, element: Any) -> bytes | None:
        """The hot path of `cells` (a SNP docsum's four fields): when every field is a plain
        path of the XPath union and matches once, the cells straight from its nodes, without
        the dict `values` builds; None whenever `values` and `_plain` would say more. Done by a
        function made once per record tag and thread (`_cells_for`)."""
        key = (element.tag, get_ident())
        cells = self._fast.get(key)
        if cells is None:
            cells = self._fast[key] = self._cells_for(key[0])
        return cells(element)

    def _cells_for(self, tag: str) -> Callable[[Any], bytes | None]:
        """`_plain_cells` for records of this tag on this thread: nothing to do (a DocSum, whose
        bare name may mean an Item of that Name, or a path the union cannot take), the text
        fields' nodes one slot each, or the general walk of the union's nodes."""
        if tag == "DocSum":
            return _no_cells
        ns = tag[1 : tag.index("}")] if tag[:1] == "{" else ""
        plan = self._plans.get((ns, get_ident())) or self._plan(ns)
        if plan.union is None or plan.others:
            return _no_cells
        if plan.texts is not None:
            return _text_cells(plan.union, plan.texts, len(self.fields))
        return _node_cells(plan.union, plan.by_tag, len(self.fields))

    def decode(self, data: bytes) -> Any:
        """The stored value for output: a dict of fields, or the record text."""
        if self.fields:
            if data[:1] == PLAIN:
                return dict(zip(self.names, data[1:].decode("utf-8").split(SEP), strict=True))
            return orjson.loads(data)
        return data.decode("utf-8")

    def plain_cells(self, data: bytes, delimiter: str) -> str | None:
        """A record stored as plain cells, joined by `delimiter` as a table row; else None."""
        if data[:1] == PLAIN:
            return data[1:].decode("utf-8").replace(SEP, delimiter)
        return None


_PLAIN_STEP = re.compile(r"[^\W\d][\w.\-]*")
"""A step that names a child element, nothing more (no `*`, predicate, `.` or `//`)."""
_Trie = dict[str, tuple[list[tuple[int, str | None]], "_Trie"]]
"""Child tag -> (the fields it ends, as (index, attribute or None), the steps below it)."""


@dataclass(frozen=True, slots=True)
class _Plan:
    """How one namespace's records are searched: one walk for the plain paths, ElementPath
    for the `others` (field indexes)."""

    trie: _Trie
    others: tuple[int, ...]
    union: Any = None
    """The plain paths as one compiled XPath (`A/B|C`): their elements in document order."""
    by_tag: dict[str, list[tuple[int, str | None]]] = field(default_factory=dict)
    """Leaf tag -> the fields (index, attribute or None) its elements are values of."""
    texts: dict[str, int] | None = None
    """Leaf tag -> its field's index, when every field is a text path with a leaf tag of its
    own (the common case: the union's nodes then fill one slot each)."""


def _union(paths: dict[str, tuple[str, ...]], ns: str) -> Any:
    """One XPath selecting every plain path's elements, or None when a leaf tag ends more
    than one path (its elements could not be told apart) or none is plain."""
    if not paths or "" in paths:
        return None
    prefix = "n:" if ns else ""
    expression = "|".join("/".join(prefix + step for step in steps) for steps in paths.values())
    try:
        return etree.XPath(expression, namespaces={"n": ns} if ns else None, regexp=False)
    except etree.XPathError:
        return None


def _walk(element: Any, trie: _Trie, found: list[list[str]]) -> None:
    """Each plain path's matches below `element`, in document order (lxml picks the children
    by tag in C)."""
    for child in element.iterchildren(*trie):
        leaves, below = trie[child.tag]
        for index, attribute in leaves:
            if attribute is None:
                found[index].append(child.text or "")
            elif (value := child.get(attribute)) is not None:
                found[index].append(value)
        if below:
            _walk(child, below, found)


def _no_cells(_element: Any) -> None:
    """Records whose cells `values` must build."""
    return None


def _text_cells(union: Any, slots: dict[str, int], n: int) -> Callable[[Any], bytes | None]:
    """Cells of text fields with a leaf tag each: the union's nodes fill one slot each."""

    def cells(element: Any) -> bytes | None:
        nodes = union(element)
        if len(nodes) != n:
            return None  # a field matched twice or not at all: a list or a null, JSON
        found: list[str | None] = [None] * n
        for node in nodes:
            i = slots[node.tag]
            if found[i] is not None:
                return None  # a list: JSON
            found[i] = node.text or ""
        return _joined(found)  # type: ignore[arg-type]

    return cells


def _node_cells(
    union: Any, by_tag: dict[str, list[tuple[int, str | None]]], n: int
) -> Callable[[Any], bytes | None]:
    """Cells of plain paths some of which end in an attribute or share a leaf tag."""

    def cells(element: Any) -> bytes | None:
        found: list[str | None] = [None] * n
        for node in union(element):
            for i, attribute in by_tag[node.tag]:
                value = node.text or "" if attribute is None else node.get(attribute)
                if value is None:
                    continue
                if found[i] is not None:
                    return None  # a list: JSON
                found[i] = value
        if None in found:
            return None  # a null: JSON
        return _joined(found)  # type: ignore[arg-type]

    return cells


def _plain(values: dict[str, Value]) -> bytes | None:
    cells = list(values.values())
    if not all(v.__class__ is str for v in cells):
        return None  # a null or a list keeps its type in JSON
    return _joined(cells)  # type: ignore[arg-type]


def _joined(cells: list[str]) -> bytes | None:
    """The cells stored as plain text (PLAIN, joined by SEP); None for a value holding SEP
    itself or one a table writer would quote (stored as JSON instead)."""
    text = SEP.join(cells)
    if text.count(SEP) != len(cells) - 1 or _QUOTED.search(text):
        return None
    return PLAIN + text.encode("utf-8")


def _json_value(doc: Any, path: str) -> Value:
    node = doc
    for step in path.lower().split("/"):
        if isinstance(node, list):
            node = [n.get(step) for n in node if isinstance(n, dict)]
        elif isinstance(node, dict):
            node = node.get(step)
        else:
            return None
    if node is None:
        return None
    if isinstance(node, list):
        return [str(n) for n in node if n is not None]
    return str(node)


_PROBE = etree.fromstring(
    b'<r xmlns="urn:probe"><a x="1"><b y="2">t</b><b/></a><Item Name="N">v</Item></r>'
)


def path_problem(path: str) -> str | None:
    """Why the extractor could not use `path` (None if it can): the path is run, bare and
    namespace-qualified as `values` qualifies it, on a small record, so a field that would
    fail mid-harvest fails when the job is read instead."""
    problem = grammar_problem(path)
    if problem is not None:
        return problem
    path = split_attribute(path)[0]
    if not path:
        return None
    extractor = FieldExtractor(())
    for element, ns in ((_PROBE[0], "urn:probe"), (_PROBE[0], "")):
        try:
            for _ in element.iterfind(extractor.qualified(path, ns)):
                pass
        except (SyntaxError, KeyError, ValueError, TypeError, IndexError) as exc:
            return str(exc) or type(exc).__name__
    return None
