"""YAML read with the line of every key and list item, and mappings read through checked getters.

So every mistake in a user's file is one sentence, `FILE:LINE: ...`, never a traceback. Paths
name keys the way messages do: `fetch.page_size`, `source.ids[3]`. The document is bounded
before anything is built from it: nesting depth is capped and anchors and aliases are refused
(a job file has no use for them, and a few nested aliases expand to gigabytes).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, NoReturn

import yaml

from harvester.errors import ConfigError

__all__ = ["MAX_DEPTH", "Doc", "Section", "alternatives", "read_yaml", "show", "suggest"]

MAX_DEPTH = 32
"""Mappings and lists nested deeper than this are refused (a job file needs three)."""


def read_yaml(
    text: str, label: str, *, keep_text: Iterable[str] = ()
) -> tuple[dict[str, Any], dict[str, int]]:
    """A mapping document -> (data, line of each key path). Items of `keep_text` lists stay text."""
    try:
        _check_bounds(text, label)
        loader = yaml.SafeLoader(text)
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{label}:{mark.line + 1}" if mark else label
        problem = " ".join(str(exc.problem or exc.context or "syntax error").split())
        hint = " (indent with spaces, not tabs)" if "'\\t'" in problem else ""
        start = exc.context_mark
        if "another document" in problem:
            problem, start = "the file holds more than one document (a second '---')", None
        if exc.context and start and mark and start.line != mark.line:
            hint += f" ({' '.join(exc.context.split())} that starts at line {start.line + 1})"
        raise ConfigError(f"{where}: not valid YAML: {problem}{hint}") from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        message = f"not valid YAML: the character U+{code:04X} is not allowed"
        raise ConfigError(f"{label}:{line}: {message}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{label}: not valid YAML: {' '.join(str(exc).split())}") from None
    if root is None:
        raise ConfigError(f"{label}: the file is empty")
    if not isinstance(root, yaml.MappingNode):
        line = root.start_mark.line + 1
        raise ConfigError(f"{label}:{line}: the file must be a mapping of keys, got {_kind(root)}")
    reader = _Reader(loader, label, tuple(f"{p}[" for p in keep_text))
    data = reader.value(root, "")
    loader.dispose()
    return data, reader.lines


def _check_bounds(text: str, label: str) -> None:
    """Refuse anchors, aliases and deep nesting from the parser's events, before the composer
    (which recurses once per level and expands aliases) sees the document."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        line = event.start_mark.line + 1 if event.start_mark else 0
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise ConfigError(
                f"{label}:{line}: YAML anchors and aliases ('&name', '*name') are not allowed "
                "in a job file; write the value out"
            )
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise ConfigError(f"{label}:{line}: nested deeper than {MAX_DEPTH} levels")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


class _Reader:
    """Walks composed nodes into plain data, noting lines and refusing duplicate keys."""

    def __init__(self, loader: yaml.SafeLoader, label: str, keep_text: tuple[str, ...]) -> None:
        self.loader, self.label, self.keep_text = loader, label, keep_text
        self.lines: dict[str, int] = {}

    def value(self, node: yaml.Node, path: str) -> Any:
        if isinstance(node, yaml.MappingNode):
            self.loader.flatten_mapping(node)  # honour `<<: {...}` merge keys
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                line = key_node.start_mark.line + 1
                if not isinstance(key_node, yaml.ScalarNode):
                    raise ConfigError(f"{self.label}:{line}: a key must be a plain name")
                sub = f"{path}.{key_node.value}" if path else str(key_node.value)
                if key_node.value in out:
                    first = self.lines[sub]
                    raise ConfigError(
                        f"{self.label}:{line}: duplicate key '{sub}' (first at line {first})"
                    )
                self.lines[sub] = line
                out[str(key_node.value)] = self.value(value_node, sub)
            return out
        if isinstance(node, yaml.SequenceNode):
            items = []
            for i, item in enumerate(node.value):
                self.lines[f"{path}[{i}]"] = item.start_mark.line + 1
                items.append(self.value(item, f"{path}[{i}]"))
            return items
        if path.startswith(self.keep_text) and node.tag in _NUMBER_TAGS:
            return str(node.value)  # `007` stays '007', not octal 7; `1e3` stays '1e3'
        try:
            value = self.loader.construct_object(node, deep=True)
        except ValueError:  # Python reads no int of more than 4,300 digits
            line = node.start_mark.line + 1
            problem = f"the value {_shown(node)} is not readable"
            raise ConfigError(f"{self.label}:{line}: {problem}") from None
        if path.startswith(self.keep_text) and value is not None and not isinstance(value, str):
            return str(node.value)
        return value


_NUMBER_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:bool")


def _shown(node: yaml.Node) -> str:
    text = str(node.value)
    return repr(text) if len(text) <= 40 else repr(text[:37] + "...")


def _kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    return "a list" if isinstance(node, yaml.SequenceNode) else "a value"


class Doc:
    """A file's label and key lines: turns a key path into the `FILE:LINE` prefix."""

    __slots__ = ("label", "lines")

    def __init__(self, label: str, lines: dict[str, int]) -> None:
        self.label = label
        self.lines = lines

    def at(self, path: str) -> str:
        line = self.lines.get(path)
        return f"{self.label}:{line}" if line else self.label

    def fail(self, path: str, message: str) -> NoReturn:
        raise ConfigError(f"{self.at(path)}: {message}")


class Section:
    """One mapping of a document with its allowed keys and typed, checked getters."""

    def __init__(
        self,
        doc: Doc,
        data: object,
        prefix: str,
        known: tuple[str, ...],
        forbidden: Mapping[str, str] | None = None,
        aliases: Mapping[str, str] | None = None,
    ) -> None:
        self.doc, self.prefix = doc, prefix
        if not isinstance(data, Mapping):
            doc.fail(prefix, f"'{prefix}' must be a mapping, got {show(data)}")
        self.data: Mapping[str, object] = data
        for key in data:
            path = self.path(str(key))
            if forbidden and key in forbidden:
                doc.fail(path, forbidden[key])
            if key not in known:
                hint = suggest(path, [self.path(k) for k in known], aliases)
                doc.fail(path, f"unknown key '{path}'{hint}")

    def path(self, key: str) -> str:
        return f"{self.prefix}.{key}" if self.prefix else key

    def get(self, key: str, *, required: bool = False) -> object:
        """The raw value; null counts as absent."""
        if self.data.get(key) is None and required:
            if key in self.data:
                self.doc.fail(self.path(key), f"'{self.path(key)}' needs a value")
            self.doc.fail(self.prefix, f"missing required key '{self.path(key)}'")
        return self.data.get(key)

    def text(self, key: str, default: str | None = None, *, required: bool = False) -> str | None:
        value = self.get(key, required=required)
        if value is None:
            return default
        if isinstance(value, Path):
            value = str(value)
        if not isinstance(value, str):
            self.doc.fail(self.path(key), f"'{self.path(key)}' must be a string, got {show(value)}")
        if not value.strip():
            self.doc.fail(self.path(key), f"'{self.path(key)}' is empty")
        return value.strip()

    def choice(self, key: str, choices: tuple[str, ...], default: str) -> str:
        value = self.text(key, default) or default
        if value not in choices:
            self.doc.fail(
                self.path(key), f"{self.path(key)} {value!r} must be {alternatives(choices)}"
            )
        return value

    def integer(self, key: str, default: int, low: int, high: int | None = None) -> int:
        """An integer in low..high (no upper bound when `high` is None); bools are not integers."""
        value = self.get(key)
        if value is None:
            return default
        if not isinstance(value, int) or isinstance(value, bool):
            self.doc.fail(
                self.path(key), f"'{self.path(key)}' must be an integer, got {show(value)}"
            )
        if high is None and value < low:
            self.doc.fail(self.path(key), f"{self.path(key)} must be at least {low}, got {value}")
        if high is not None and not low <= value <= high:
            self.doc.fail(self.path(key), f"{self.path(key)} must be {low}..{high}, got {value}")
        return value


def show(value: object) -> str:
    """A value as the user wrote it in YAML, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return repr(value) if isinstance(value, str) else str(value)


def alternatives(choices: Iterable[str]) -> str:
    """'a', 'b' or 'c'."""
    quoted = [f"'{c}'" for c in choices]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"


def suggest(key: str, known: list[str], aliases: Mapping[str, str] | None = None) -> str:
    """' (did you mean 'x'?)' for a known alias or a near miss, else ' (known: ...)'."""
    leaf = key.rpartition(".")[2]
    if aliases and aliases.get(leaf, key) != key:
        return f" (did you mean '{aliases[leaf]}'?)"
    close = difflib.get_close_matches(key, known, n=1)
    if close:
        return f" (did you mean '{close[0]}'?)"
    return f" (known: {', '.join(known)})"
