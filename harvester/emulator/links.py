"""elink: every `cmd`, with NCBI's grouping rules.

Each repeated `id=` parameter is one group and gives one LinkSet; the ids of a comma-joined
group share one LinkSet whose links are their de-duplicated union. Ids from WebEnv/query_key
form one group. Duplicate groups collapse, as they do on NCBI.
"""

from __future__ import annotations

from harvester.emulator.linklists import LINKS, EmuLink, elink_knows, links_from
from harvester.emulator.linkrules import SCORED
from harvester.emulator.params import ParamError, Params
from harvester.emulator.render_links import (
    HistoryOut,
    LinkInfoOut,
    LinkSetDbOut,
    LinkSetOut,
    ObjUrlOut,
    elink_json,
    elink_xml,
)
from harvester.emulator.search import Searcher
from harvester.emulator.state import (
    EMPTY_IDS,
    NO_VALID_IDS,
    UNKNOWN_LINK_NAME,
    NoValidIds,
    State,
)
from harvester.ncbi import ELINK_COMMANDS

ACCESSION_DBS = ("nuccore", "protein")
"""The dbs whose records have accession.versions (idtype=acc answers them instead of uids)."""


def _groups(state: State, dbfrom: str, p: Params) -> list[list[int]]:
    raw = [v for v in p.getall("id") if v.strip()]
    if not raw:
        entry = state.from_history(p)
        if entry is None:
            raise ParamError(EMPTY_IDS)
        return [list(entry[1])]
    groups: list[list[int]] = []
    seen: set[tuple[int, ...]] = set()
    for value in raw:
        uids, _ = state.ids_from(dbfrom, [value])
        if uids and tuple(uids) not in seen:
            seen.add(tuple(uids))
            groups.append(uids)
    if not groups:
        raise NoValidIds(NO_VALID_IDS)
    return groups


def _link_names(dbfrom: str, db: str, linkname: str | None) -> list[EmuLink]:
    """The link names asked for; a name elink does not know is refused (an in-band ERROR), so
    that it is told apart from a known name this id has no links under (an empty LinkSet)."""
    if not linkname:
        return links_from(dbfrom, db)
    names = []
    for name in linkname.split(","):
        known = elink_knows(name)
        if known is None:
            raise ParamError(UNKNOWN_LINK_NAME.format(name))
        names.append(known)
    return [ln for ln in names if ln.dbfrom == dbfrom and db in ("all", ln.dbto)]


def _union(state: State, linkname: str, uids: list[int]) -> list[tuple[int, int]]:
    if len(uids) == 1:
        return state.dataset.links(linkname, uids[0])
    best: dict[int, int] = {}
    for uid in uids:
        for target, score in state.dataset.links(linkname, uid):
            if score >= best.get(target, -1):
                best[target] = score
    if linkname in SCORED:
        return sorted(best.items(), key=lambda ts: (-ts[1], -ts[0]))
    return sorted(best.items(), reverse=True)


def elink_body(state: State, p: Params) -> str | bytes:
    cmd = (p.get("cmd") or "neighbor").lower()
    linkname = p.get("linkname")
    dbfrom = p.get("dbfrom") or (LINKS[linkname].dbfrom if linkname in LINKS else "")
    dbfrom = state.check_db(dbfrom)
    # Without db, neighbor commands link within dbfrom; the check commands look at every db.
    default_db = dbfrom if cmd.startswith("neighbor") else "all"
    db = p.get("db") or (LINKS[linkname].dbto if linkname in LINKS else default_db)
    if db != "all":
        db = state.check_db(db)
    if cmd not in ELINK_COMMANDS:
        raise ParamError(f"Unknown cmd: {cmd}")
    names = _link_names(dbfrom, db, linkname)  # like db, checked before the ids
    groups = _groups(state, dbfrom, p)
    term = p.get("term")
    # A group none of whose ids the db holds is left out (fewer LinkSets than ids), one of the
    # answers reported from NCBI; the seed's "Id not found" ERROR is not NCBI's.
    known = [g for g in groups if any(state.dataset.known(dbfrom, u) for u in g)]
    linksets = [_linkset(state, cmd, dbfrom, db, names, group, term, p) for group in known]
    if p.json and cmd != "llinkslib":
        return elink_json(linksets)
    return elink_xml(linksets)


def _linkset(
    state: State,
    cmd: str,
    dbfrom: str,
    db: str,
    names: list[EmuLink],
    group: list[int],
    term: str | None,
    p: Params,
) -> LinkSetOut:
    ids = [str(u) for u in group]
    if cmd in ("acheck", "ncheck", "lcheck", "llinks", "llinkslib", "prlinks"):
        return _check(state, cmd, dbfrom, names, group)
    found: list[tuple[EmuLink, list[tuple[int, int]]]] = []
    for ln in names:
        links = _union(state, ln.name, group)
        if term and ln.dbto == dbfrom and links:
            keep = Searcher(state.catalog, ln.dbto, lambda _k: None).run(term).uids
            links = [(t, s) for t, s in links if t in keep]
        if links:
            found.append((ln, links))
    if cmd != "neighbor_history":
        dbs = [LinkSetDbOut(ln.dbto, ln.name, _acc(state, p, ln.dbto, lk)) for ln, lk in found]
        return LinkSetOut(dbfrom, ids, dbs=dbs, scored=cmd == "neighbor_score")
    webenv = p.get("webenv")
    histories = []
    for ln, links in found:
        if db == "all" and ln.dbto == dbfrom:
            continue  # the seed's db=all history example leaves same-db links out
        webenv, key = state.history.add(webenv, ln.dbto, sorted(t for t, _ in links))
        histories.append(HistoryOut(ln.dbto, ln.name, key))
    return LinkSetOut(
        dbfrom, ids, histories=histories, webenv=webenv or p.get("webenv"), kind="history"
    )


def as_accessions(state: State, p: Params, db: str, uids: list[int]) -> list[int | str]:
    """With `idtype=acc`, a sequence db's uids as accession.versions (as NCBI); else uids."""
    if (p.get("idtype") or "").lower() != "acc" or db not in ACCESSION_DBS:
        return list(uids)
    seq = state.catalog.records.seq
    return [record.accession_version if (record := seq(db, u)) else u for u in uids]


def _acc(
    state: State, p: Params, db: str, links: list[tuple[int, int]]
) -> list[tuple[int | str, int]]:
    ids = as_accessions(state, p, db, [t for t, _ in links])
    return list(zip(ids, (s for _, s in links), strict=True))


def _check(
    state: State, cmd: str, dbfrom: str, names: list[EmuLink], group: list[int]
) -> LinkSetOut:
    ds = state.dataset
    ids = [str(u) for u in group]
    if cmd == "acheck":
        checks = [
            (
                str(u),
                [
                    LinkInfoOut(ln.dbto, ln.name, ln.menu, 128)
                    for ln in names
                    if ds.links(ln.name, u)
                ],
            )
            for u in group
        ]
        return LinkSetOut(dbfrom, ids, checks=checks, kind="acheck")
    if cmd in ("ncheck", "lcheck"):
        if cmd == "ncheck":
            own = links_from(dbfrom, dbfrom)
            flags = [
                (str(u), "HasNeighbor", "Y" if any(ds.links(ln.name, u) for ln in own) else "N")
                for u in group
            ]
        else:
            flags = [
                (str(u), "HasLinkOut", "Y" if _has_linkout(state, dbfrom, u) else "N")
                for u in group
            ]
        return LinkSetOut(dbfrom, ids, flags=flags, kind="flags")
    urls = [(str(u), _obj_urls(cmd, dbfrom, u)) for u in group if _has_linkout(state, dbfrom, u)]
    return LinkSetOut(dbfrom, ids, urls=urls, kind="urls")


def _has_linkout(state: State, db: str, uid: int) -> bool:
    """Synthetic LinkOut: every known record of a literature or sequence db has a provider."""
    return db in ("pubmed", "protein", "nuccore", "gene") and state.dataset.known(db, uid)


def _obj_urls(cmd: str, db: str, uid: int) -> list[ObjUrlOut]:
    publisher = ObjUrlOut(
        f"https://publisher.example.org/{db}/{uid}",
        "Full Text",
        "publishers/providers",
        "Full Text Sources",
        "full-text online",
        ("Synthetic Publisher", "SynPub", 3051, "https://publisher.example.org/"),
    )
    if cmd == "prlinks":
        return [publisher]
    library = ObjUrlOut(
        f"https://library.example.edu/resolve?{db}={uid}",
        "Library",
        "libraries",
        "Libraries",
        "subscription/membership/fee required",
        ("Example University Library", "EUL", 7001, "https://library.example.edu/"),
    )
    return [publisher, library] if cmd == "llinkslib" else [publisher]
