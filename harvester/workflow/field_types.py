"""Declared field types (`type: int`, `[date]`, ...): what the typed outputs (Parquet, Arrow,
pandas, JSONL) hold. The job store keeps the text as extracted, so a type costs no request
to change and TSV/CSV write that text unchanged; a value that does not convert is written
as null and counted in one warning per field, never guessed."""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    STR = "str"
    INT = "int"
    FLOAT = "float"
    DATE = "date"


TYPE_WORDS = "int, float, date, str, or a list of one of them ([int], ...)"
INT64_MAX = 2**63 - 1
_INT = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_NUMERIC_DATE = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?")
"""`2000/09/19 17:02` (docsums; the time of day is dropped), `2024-11-02` (ISO)."""
_NAMED_DATE = re.compile(r"(\d{4}) ([A-Z][a-z]{2}) (\d{1,2})")
"""`2019 Jan 15` (PubMed's PubDate; `2019 Jan` alone is not a whole date)."""
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTHS = {name: number for number, name in enumerate(_MONTH_NAMES, 1)}
Converted = str | int | float | datetime.date


@dataclass(frozen=True, slots=True)
class FieldType:
    """One field's declared type: a kind, and whether every value is kept as a list."""

    kind: Kind
    many: bool = False

    def __str__(self) -> str:
        return f"[{self.kind}]" if self.many else str(self.kind)


def parse_type(raw: object) -> FieldType:
    """`int` or `[int]` (a YAML list of one kind, or the text `[int]`); ValueError otherwise."""
    many = False
    if isinstance(raw, list) and len(raw) == 1:
        raw, many = raw[0], True
    elif isinstance(raw, str) and raw.startswith("[") and raw.endswith("]"):
        raw, many = raw[1:-1].strip(), True
    if isinstance(raw, str) and raw in tuple(Kind):
        return FieldType(Kind(raw), many)
    raise ValueError(f"a field's type is {TYPE_WORDS}")


def convert(text: str, kind: Kind) -> Converted:
    """`text` as a value of `kind`; ValueError saying why it is not one."""
    if kind == Kind.STR:
        return text
    text = text.strip()
    if kind == Kind.INT:
        if _INT.fullmatch(text) and abs(number := int(text)) <= INT64_MAX:
            return number
        raise ValueError("int")
    if kind == Kind.FLOAT:
        if _FLOAT.fullmatch(text):
            return float(text)
        raise ValueError("float")
    found = _NUMERIC_DATE.fullmatch(text)
    if found:
        year, month, day = (int(g) for g in found.groups())
    elif (found := _NAMED_DATE.fullmatch(text)) and found[2] in _MONTHS:
        year, month, day = int(found[1]), _MONTHS[found[2]], int(found[3])
    else:
        raise ValueError("date (YYYY/MM/DD, YYYY-MM-DD or YYYY Mon DD)")
    return datetime.date(year, month, day)  # ValueError for 2020/13/01


def infer(text: str) -> Kind:
    """The narrowest kind `text` converts to: what `harvester fields` suggests."""
    for kind in (Kind.INT, Kind.FLOAT, Kind.DATE):
        try:
            convert(text, kind)
        except ValueError:
            continue
        return kind
    return Kind.STR


class Converter:
    """Applies a job's declared types to decoded fields for one output written, counting the
    values that do not convert (written as null) for the summary's warnings."""

    def __init__(self, types: Sequence[tuple[str, FieldType]]) -> None:
        self.types = dict(types)
        self._bad: dict[str, tuple[int, str, str]] = {}
        """Per field: (values that did not convert, the first of them, what it is not)."""
        self._several: dict[str, int] = {}
        """Per field with one value declared: records that had several."""

    def typed(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The decoded fields of one record with declared types applied (others as they are)."""
        out = dict(values)
        for name, ftype in self.types.items():
            value = out.get(name)
            if ftype.many:
                texts = [] if value is None else [value] if isinstance(value, str) else value
                out[name] = [self._one(name, text, ftype.kind) for text in texts]
            elif isinstance(value, list):
                self._several[name] = self._several.get(name, 0) + 1
                out[name] = None
            elif value is not None:
                out[name] = self._one(name, value, ftype.kind)
        return out

    def _one(self, name: str, text: str, kind: Kind) -> Converted | None:
        try:
            return convert(text, kind)
        except ValueError as exc:
            count, first, word = self._bad.get(name, (0, text, str(exc)))
            self._bad[name] = (count + 1, first, word)
            return None

    def warnings(self) -> list[str]:
        """One line per field with values written as null."""
        lines = []
        for name, (count, first, word) in self._bad.items():
            noun = "value is" if count == 1 else "values are"
            lines.append(
                f"field {name}: {count:,} {noun} not {word} and written as "
                f"null (the first: {first[:60]!r}); TSV/CSV keep the text"
            )
        for name, count in self._several.items():
            kind = self.types[name].kind
            lines.append(
                f"field {name}: {count:,} records have several values where one {kind} is "
                f"declared, written as null; `type: [{kind}]` keeps every value"
            )
        return lines


def arrow_type(pa: Any, ftype: FieldType | None) -> Any:
    """The Arrow column type of a field (an undeclared one is text, several joined by |)."""
    if ftype is None:
        return pa.string()
    one = {
        Kind.STR: pa.string(),
        Kind.INT: pa.int64(),
        Kind.FLOAT: pa.float64(),
        Kind.DATE: pa.date32(),
    }[ftype.kind]
    return pa.list_(one) if ftype.many else one


def pandas_types(pa: Any, pd: Any) -> Callable[[Any], Any]:
    """`Table.to_pandas(types_mapper=...)`: nullable integers and floats, so a null target,
    score or int field stays an integer column with <NA>, not float64 with NaN."""
    mapping = {pa.int64(): pd.Int64Dtype(), pa.float64(): pd.Float64Dtype()}
    return mapping.get
