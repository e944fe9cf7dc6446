"""ELink's response shapes (DTD eLink 20101123) in XML and JSON, for every `cmd`.

Whitespace follows NCBI's captured output (elink1/2/3.xml): two-space nesting, blank lines and
tab-indented `<Link>` blocks, one element per line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from harvester.emulator.render import esc, head, json_doc


@dataclass(frozen=True, slots=True)
class LinkSetDbOut:
    dbto: str
    linkname: str
    links: Sequence[tuple[int | str, int]]
    """(uid, or accession.version with idtype=acc; score)"""


@dataclass(frozen=True, slots=True)
class HistoryOut:
    dbto: str
    linkname: str
    query_key: int


@dataclass(frozen=True, slots=True)
class LinkInfoOut:
    dbto: str
    linkname: str
    menu_tag: str
    priority: int


@dataclass(frozen=True, slots=True)
class ObjUrlOut:
    url: str
    linkname: str
    subject_type: str
    category: str
    attribute: str
    provider: tuple[str, str, int, str]
    """(Name, NameAbbr, Id, Url)"""


@dataclass(frozen=True, slots=True)
class LinkSetOut:
    """One LinkSet: its input ids and whichever payload the cmd produces."""

    dbfrom: str
    ids: Sequence[str]
    dbs: Sequence[LinkSetDbOut] = ()
    histories: Sequence[HistoryOut] = ()
    webenv: str | None = None
    checks: Sequence[tuple[str, Sequence[LinkInfoOut]]] = ()
    flags: Sequence[tuple[str, str, str]] = ()
    """ncheck/lcheck: (id, attribute, Y|N)"""
    urls: Sequence[tuple[str, Sequence[ObjUrlOut]]] = ()
    error: str | None = None
    scored: bool = False
    kind: str = field(default="neighbor")


def _linkset_xml(ls: LinkSetOut) -> str:
    out = [f"\n  <LinkSet>\n    <DbFrom>{ls.dbfrom}</DbFrom>\n"]
    if ls.kind in ("neighbor", "history"):
        out.append("    <IdList>\n")
        out.extend(f"      <Id>{esc(i)}</Id>\n" for i in ls.ids)
        out.append("    </IdList>\n")
    for db in ls.dbs:
        out.append(
            f"    <LinkSetDb>\n      <DbTo>{db.dbto}</DbTo>\n"
            f"      <LinkName>{db.linkname}</LinkName>\n      \n"
        )
        if ls.scored:
            out.extend(
                f"        <Link>\n\t\t\t\t<Id>{t}</Id>\n\t\t\t\t<Score>{s}</Score>\n\t\t\t</Link>\n"
                for t, s in db.links
            )
        else:
            out.extend(
                f"        <Link>\n\t\t\t\t<Id>{t}</Id>\n\t\t\t</Link>\n" for t, _ in db.links
            )
        out.append("      \n    </LinkSetDb>\n")
    for h in ls.histories:
        out.append(
            f"    <LinkSetDbHistory>\n      <DbTo>{h.dbto}</DbTo>\n"
            f"      <LinkName>{h.linkname}</LinkName>\n"
            f"      <QueryKey>{h.query_key}</QueryKey>\n    </LinkSetDbHistory>\n"
        )
    if ls.webenv is not None:
        out.append(f"    <WebEnv>{ls.webenv}</WebEnv>\n")
    if ls.kind == "acheck":
        out.append("    <IdCheckList>\n")
        for uid, infos in ls.checks:
            out.append(f"      <IdLinkSet>\n        <Id>{esc(uid)}</Id>\n")
            for li in infos:
                out.append(
                    f"        <LinkInfo>\n          <DbTo>{li.dbto}</DbTo>\n"
                    f"          <LinkName>{li.linkname}</LinkName>\n"
                    f"          <MenuTag>{esc(li.menu_tag)}</MenuTag>\n"
                    f"          <HtmlTag>{esc(li.menu_tag)}</HtmlTag>\n"
                    f"          <Priority>{li.priority}</Priority>\n        </LinkInfo>\n"
                )
            out.append("      </IdLinkSet>\n")
        out.append("    </IdCheckList>\n")
    if ls.kind == "flags":
        out.append("    <IdCheckList>\n")
        out.extend(f'      <Id {attr}="{yn}">{esc(uid)}</Id>\n' for uid, attr, yn in ls.flags)
        out.append("    </IdCheckList>\n")
    if ls.kind == "urls":
        out.append("    <IdUrlList>\n")
        for uid, objs in ls.urls:
            out.append(f"      <IdUrlSet>\n        <Id>{esc(uid)}</Id>\n")
            for o in objs:
                name, abbr, pid, purl = o.provider
                out.append(
                    f"        <ObjUrl>\n          <Url>{esc(o.url)}</Url>\n"
                    f"          <LinkName>{esc(o.linkname)}</LinkName>\n"
                    f"          <SubjectType>{esc(o.subject_type)}</SubjectType>\n"
                    f"          <Category>{esc(o.category)}</Category>\n"
                    f"          <Attribute>{esc(o.attribute)}</Attribute>\n"
                    f"          <Provider>\n            <Name>{esc(name)}</Name>\n"
                    f"            <NameAbbr>{esc(abbr)}</NameAbbr>\n"
                    f"            <Id>{pid}</Id>\n            <Url>{esc(purl)}</Url>\n"
                    "          </Provider>\n        </ObjUrl>\n"
                )
            out.append("      </IdUrlSet>\n")
        out.append("    </IdUrlList>\n")
    if ls.error:
        out.append(f"    <ERROR>{esc(ls.error)}</ERROR>\n")
    out.append("  </LinkSet>\n")
    return "".join(out)


def elink_xml(linksets: Sequence[LinkSetOut]) -> str:
    body = "".join(_linkset_xml(ls) for ls in linksets)
    return f"{head('eLinkResult')}<eLinkResult>\n{body}</eLinkResult>\n"


def _linkset_json(ls: LinkSetOut) -> dict[str, object]:
    out: dict[str, object] = {"dbfrom": ls.dbfrom}
    if ls.kind in ("neighbor", "history"):
        out["ids"] = list(ls.ids)
    if ls.dbs:
        out["linksetdbs"] = [
            {
                "dbto": d.dbto,
                "linkname": d.linkname,
                "links": [{"id": str(t), "score": s} for t, s in d.links]
                if ls.scored
                else [str(t) for t, _ in d.links],
            }
            for d in ls.dbs
        ]
    if ls.histories:
        out["linksetdbhistories"] = [
            {"dbto": h.dbto, "linkname": h.linkname, "querykey": str(h.query_key)}
            for h in ls.histories
        ]
    if ls.webenv is not None:
        out["webenv"] = ls.webenv
    if ls.kind == "acheck":
        out["idchecklist"] = {
            "idlinksets": [
                {
                    "id": uid,
                    "linkinfos": [
                        {
                            "dbto": li.dbto,
                            "linkname": li.linkname,
                            "menutag": li.menu_tag,
                            "htmltag": li.menu_tag,
                            "priority": str(li.priority),
                        }
                        for li in infos
                    ],
                }
                for uid, infos in ls.checks
            ]
        }
    if ls.kind == "flags":
        out["idchecklist"] = {
            "ids": [{"value": uid, attr.lower(): yn == "Y"} for uid, attr, yn in ls.flags]
        }
    if ls.kind == "urls":
        out["idurllist"] = [
            {
                "id": uid,
                "objurls": [
                    {
                        "url": {"value": o.url},
                        "linkname": o.linkname,
                        "subjecttypes": [o.subject_type],
                        "categories": [o.category],
                        "attributes": [o.attribute],
                        "provider": {
                            "name": o.provider[0],
                            "nameabbr": o.provider[1],
                            "id": str(o.provider[2]),
                            "url": {"value": o.provider[3]},
                        },
                    }
                    for o in objs
                ],
            }
            for uid, objs in ls.urls
        ]
    if ls.error:
        out["error"] = ls.error
    return out


def elink_json(linksets: Sequence[LinkSetOut]) -> bytes:
    return json_doc("elink", {"linksets": [_linkset_json(ls) for ls in linksets]})
