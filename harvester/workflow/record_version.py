"""Which version of a record a fetch brought: its accession.version where the format has one
(sequences), and the modification date it carries (SNP, Gene, PubMed, GenBank, DocSums), so
the record cache can tell one copy of a record from a revised one.

Where each format keeps them ([capture], docs/NCBI_BEHAVIOUR.md "Record versions"):
SNP docsum `UPDATEDATE` (2024/11/02 07:15); Entrezgene `Gene-track_update-date/Date/Date_std/
Date-std` (year, month, day); PubMed `MedlineCitation/DateRevised` (Year, Month, Day); GBSeq
`GBSeq_accession-version` and `GBSeq_update-date` (15-MAR-2015); an esummary DocSum's `UpdateDate`
and `AccessionVersion` items (JSON: the lower-cased keys). Dates come back as YYYY/MM/DD.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import Any

from harvester.eutils.results import Record

__all__ = ["RecordVersion", "record_version"]

_MONTHS = {m: i for i, m in enumerate(
    ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), 1
)}  # fmt: skip
_YMD = re.compile(r"(\d{4})[/-](\d{1,2})[/-](\d{1,2})")
_DMY = re.compile(r"(\d{1,2})-([A-Z]{3})-(\d{4})")


@dataclass(frozen=True, slots=True)
class RecordVersion:
    """What identifies one revision of a record; both None when the format carries neither."""

    accession: str | None = None
    """accession.version (sequences)."""
    modified: str | None = None
    """The modification date the record states, YYYY/MM/DD."""

    @property
    def key(self) -> str | None:
        """The version the cache keys a record by: its accession.version, else its date."""
        return self.accession or self.modified


def record_version(record: Record) -> RecordVersion:
    """The record's accession.version and modification date, as far as its format states them."""
    if record.element is None:
        return _json_version(record.doc or {})
    element = record.element
    tag = _local(element.tag)
    if tag == "GBSeq":
        return RecordVersion(
            _text(element, "GBSeq_accession-version"), _date(_text(element, "GBSeq_update-date"))
        )
    if tag == "Entrezgene":
        found = element.find(
            "Entrezgene_track-info/Gene-track/Gene-track_update-date/Date/Date_std/Date-std"
        )
        parts = [] if found is None else [
            _text(found, f"Date-std_{p}") for p in ("year", "month", "day")
        ]  # fmt: skip
        return RecordVersion(modified=_parts(parts))
    if tag in ("PubmedArticle", "PubmedBookArticle"):
        found = element.find("MedlineCitation/DateRevised")
        parts = [] if found is None else [_text(found, p) for p in ("Year", "Month", "Day")]
        return RecordVersion(modified=_parts(parts))
    if tag == "DocSum":
        items = {i.get("Name"): i.text for i in element.iter("Item")}
        return RecordVersion(items.get("AccessionVersion"), _date(items.get("UpdateDate")))
    if tag == "DocumentSummary":
        texts = {_local(c.tag).lower(): c.text for c in element}
        stamp = texts.get("updatedate") or texts.get("update_date")
        return RecordVersion(texts.get("accessionversion"), _date(stamp))
    return RecordVersion()


def _json_version(doc: Any) -> RecordVersion:
    if not isinstance(doc, dict):
        return RecordVersion()
    accession, stamp = doc.get("accessionversion"), doc.get("updatedate")
    return RecordVersion(
        accession if isinstance(accession, str) and accession else None,
        _date(stamp if isinstance(stamp, str) else None),
    )


def _local(tag: object) -> str:
    text = tag if isinstance(tag, str) else ""
    return text.rpartition("}")[2]


def _text(element: Any, path: str) -> str | None:
    """The text at `path` below `element` in its default namespace (SNP docsums have one)."""
    tag = element.tag if isinstance(element.tag, str) else ""
    ns = tag[: tag.index("}") + 1] if tag.startswith("{") else ""
    found = element.findtext("/".join(ns + step for step in path.split("/")))
    return found.strip() or None if found is not None else None


def _parts(parts: list[str | None]) -> str | None:
    if len(parts) != 3 or not all(p and p.isdigit() for p in parts):
        return None
    return _checked(int(parts[0] or 0), int(parts[1] or 0), int(parts[2] or 0))


def _date(text: str | None) -> str | None:
    """'2024/11/02 07:15', '2012-06-19 14:19' or '15-MAR-2015' as 2024/11/02; else None."""
    if not text:
        return None
    if m := _YMD.match(text.strip()):
        return _checked(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    if (m := _DMY.match(text.strip().upper())) and m.group(2) in _MONTHS:
        return _checked(int(m.group(3)), _MONTHS[m.group(2)], int(m.group(1)))
    return None


def _checked(year: int, month: int, day: int) -> str | None:
    try:
        return datetime.date(year, month, day).strftime("%Y/%m/%d")
    except ValueError:
        return None
