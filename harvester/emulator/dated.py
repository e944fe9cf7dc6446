"""A record's dates in NCBI's own fields, stamped onto its rendered text when the dataset is
served as of a day (`--as-of`); without it, records keep their fixed texts.

Where each format keeps them [capture]: Entrezgene `Gene-track_create-date`/`_update-date`
(`Date-std` year, month, day) after `Gene-track_status`; PubMed `MedlineCitation/DateRevised`
after `PMID`; a SNP docsum's `CREATEDATE`/`UPDATEDATE` (`YYYY/MM/DD HH:MM` in efetch,
`YYYY-MM-DD HH:MM` in esummary); GBSeq `GBSeq_update-date`/`_create-date` (`17-MAR-2024`).
A revised gene also says so in its summary, so its content visibly changes with its mdat.
"""

from __future__ import annotations

import datetime
import re
from typing import TYPE_CHECKING

from harvester.emulator.clock import day_text

if TYPE_CHECKING:
    from harvester.emulator.dataset import Dataset
    from harvester.emulator.render_records import Item, Node

BASE_SNP_CREATED = "2000/09/19 17:02"
BASE_SNP_UPDATED = "2024/11/02 07:15"
_GENE_SUMMARY = re.compile(r"Synthetic gene ([^<.]*)\.")


def _clock_time(day: int) -> str:
    """A release's time of day: every record updated on one day shares it (as the two SNPs of
    `efetch_snp_2031_14181.xml` share `2024/11/02 07:15`)."""
    return f"{day * 7 % 24:02d}:{day * 13 % 60:02d}"


def _std_date(tag: str, day: int) -> str:
    d = datetime.date.fromordinal(day)
    return (
        f"      <{tag}>\n        <Date>\n          <Date_std>\n            <Date-std>\n"
        f"              <Date-std_year>{d.year}</Date-std_year>\n"
        f"              <Date-std_month>{d.month}</Date-std_month>\n"
        f"              <Date-std_day>{d.day}</Date-std_day>\n"
        f"            </Date-std>\n          </Date_std>\n        </Date>\n      </{tag}>\n"
    )


def _gene_summary(ds: Dataset, uid: int, text: str) -> str:
    revision = ds.clock.revision("gene", ds.index("gene", uid))
    if not revision:
        return text
    when = day_text(ds.mdat("gene", uid))
    return _GENE_SUMMARY.sub(
        lambda m: f"Synthetic gene {m.group(1)}, revision {revision} of {when}.", text, count=1
    )


def stamp_efetch(ds: Dataset, fmt: str, db: str, uid: int, text: str) -> str:
    """An efetch record's text with its creation and modification dates as of the dataset's day."""
    index = ds.index(db, uid)
    created, modified = ds.clock.birth(db, index), ds.mdat(db, uid)
    if fmt == "snp_exchangeset":
        return text.replace(
            f"<CREATEDATE>{BASE_SNP_CREATED}</CREATEDATE>",
            f"<CREATEDATE>{day_text(created)} {_clock_time(created)}</CREATEDATE>",
        ).replace(
            f"<UPDATEDATE>{BASE_SNP_UPDATED}</UPDATEDATE>",
            f"<UPDATEDATE>{day_text(modified)} {_clock_time(modified)}</UPDATEDATE>",
        )
    if fmt == "entrezgene":
        status_end = text.find("</Gene-track_status>\n")
        if status_end < 0:
            return text
        cut = status_end + len("</Gene-track_status>\n")
        dates = _std_date("Gene-track_create-date", created) + _std_date(
            "Gene-track_update-date", modified
        )
        return _gene_summary(ds, uid, text[:cut] + dates + text[cut:])
    if fmt == "pubmed":
        d = datetime.date.fromordinal(modified)
        revised = (
            f"<DateRevised><Year>{d.year}</Year><Month>{d.month:02d}</Month>"
            f"<Day>{d.day:02d}</Day></DateRevised>"
        )
        return text.replace("</PMID>", "</PMID>" + revised, 1)
    if fmt == "gbset":
        stamp = (
            f"  <GBSeq_update-date>{_gb_date(modified)}</GBSeq_update-date>\n"
            f"  <GBSeq_create-date>{_gb_date(created)}</GBSeq_create-date>\n"
        )
        end = text.find("</GBSeq_moltype>\n")
        if end < 0:
            return text
        cut = end + len("</GBSeq_moltype>\n")
        return text[:cut] + stamp + text[cut:]
    return text


def _gb_date(day: int) -> str:
    return datetime.date.fromordinal(day).strftime("%d-%b-%Y").upper()


def stamp_nodes(ds: Dataset, db: str, uid: int, nodes: list[Node]) -> list[Node]:
    """esummary v2 (and JSON) fields with the record's dates as of the dataset's day."""
    if db == "snp":
        index = ds.index(db, uid)
        dates = {
            "CREATEDATE": ds.clock.birth(db, index),
            "UPDATEDATE": ds.mdat(db, uid),
        }
        return [
            (tag, f"{day_text(dates[tag], '-')} {_clock_time(dates[tag])}")
            if tag in dates
            else (tag, value)
            for tag, value in nodes
        ]
    if db == "gene":
        return [
            (tag, _gene_summary(ds, uid, value))
            if tag == "Summary" and isinstance(value, str)
            else (tag, value)
            for tag, value in nodes
        ]
    return nodes


def stamp_items(ds: Dataset, db: str, uid: int, entries: list[Item]) -> list[Item]:
    """esummary v1 Items: a revised gene's summary says so."""
    if db != "gene":
        return entries
    return [
        (name, typ, _gene_summary(ds, uid, value))
        if name == "Summary" and isinstance(value, str)
        else (name, typ, value)
        for name, typ, value in entries
    ]
