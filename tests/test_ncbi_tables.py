"""The offline table of databases and link names (harvester/ncbi.py) agrees with NCBI's captured
answers: the einfo DbList, and every link name a captured elink answer carries. Online, the
endpoint's einfo decides; this table only checks and hints without a network."""

from __future__ import annotations

import re
from pathlib import Path

from harvester import ncbi
from harvester.emulator import linklists


def _names(path: Path, tag: str) -> list[str]:
    return re.findall(rf"<{tag}>([^<]+)</{tag}>", path.read_text(encoding="utf-8"))


def test_the_databases_are_ncbis_dblist(samples: Path) -> None:
    dblist = _names(samples / "biocommons_eutils" / "einfo_dblist.xml", "DbName")
    assert list(ncbi.DATABASES) == dblist
    assert ncbi.DATABASES["gene"].esummary_version == "2.0"


def test_every_link_joins_two_listed_databases(samples: Path) -> None:
    dblist = set(_names(samples / "biocommons_eutils" / "einfo_dblist.xml", "DbName"))
    outside = [
        link.name
        for link in ncbi.LINK_NAMES.values()
        if link.dbfrom not in dblist or link.dbto not in dblist
    ]
    assert outside == []


def test_every_link_name_of_a_captured_elink_answer_is_known(samples: Path) -> None:
    captured = {name for path in samples.rglob("elink*.xml") for name in _names(path, "LinkName")}
    assert len(captured) >= 8  # the eight pubmed_pubmed* sets and nuccore_protein
    assert captured - set(ncbi.LINK_NAMES) == set()


def test_names_ncbi_no_longer_lists_are_gone() -> None:
    # unists left NCBI's DbList; PubMed's einfo LinkList has no pubmed_mesh (Biopython's
    # captured einfo2.xml); see docs/NCBI_BEHAVIOUR.md
    for name in ("snp_unists", "unists_snp", "pubmed_mesh"):
        assert name not in ncbi.LINK_NAMES
    assert "unists" not in ncbi.DATABASES
    assert {"clinvar", "nucleotide"} <= set(ncbi.DATABASES)
    assert ncbi.LINK_NAMES["gene_nuccore_refseqrna"].dbto == "nuccore"


def test_the_emulators_database_list_and_alias_are_the_clients() -> None:
    """Two copies on purpose (the emulator stands in for NCBI, the client never reads it)."""
    assert tuple(ncbi.DATABASES) == linklists.DB_LIST
    assert ncbi.DB_ALIASES == linklists.NUCLEOTIDE_ALIAS
