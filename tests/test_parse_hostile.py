"""Hostile XML: no external entity is read, no entity bomb expands, no DTD is fetched."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from harvester.errors import ParseError
from harvester.eutils.parse import parse_bytes
from harvester.eutils.results import LinkSet, Record


def linkset_dbfrom(doc: bytes) -> str:
    items = list(parse_bytes(doc))
    assert len(items) == 1 and isinstance(items[0], LinkSet)
    return items[0].dbfrom


def test_external_entity_to_a_local_file_is_not_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    doc = (
        f'<?xml version="1.0"?><!DOCTYPE eLinkResult [<!ENTITY xxe SYSTEM "{secret.as_uri()}">]>'
        "<eLinkResult><LinkSet><DbFrom>&xxe;</DbFrom><IdList><Id>1</Id></IdList></LinkSet>"
        "</eLinkResult>"
    ).encode()
    assert "TOP-SECRET" not in linkset_dbfrom(doc)


def test_external_dtd_entities_are_not_loaded(tmp_path: Path) -> None:
    dtd = tmp_path / "evil.dtd"
    dtd.write_text('<!ENTITY leak "LEAKED-FROM-DTD">')
    doc = (
        f'<?xml version="1.0"?><!DOCTYPE eLinkResult SYSTEM "{dtd.as_uri()}">'
        "<eLinkResult><LinkSet><DbFrom>pubmed&leak;</DbFrom><IdList><Id>1</Id></IdList>"
        "</LinkSet></eLinkResult>"
    ).encode()
    try:
        dbfrom = linkset_dbfrom(doc)
    except Exception as exc:  # refusing the undefined entity is also safe
        assert "LEAKED" not in str(exc)
    else:
        assert "LEAKED" not in dbfrom


def entity_bomb(levels: int) -> bytes:
    """An eLinkResult whose DbFrom is `&lolN;`: `lol` nested ten times a level, 3 * 10**N chars."""
    entities = '<!ENTITY lol0 "lol">' + "".join(
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, levels + 1)
    )
    return (
        f'<?xml version="1.0"?><!DOCTYPE eLinkResult [{entities}]>'
        f"<eLinkResult><LinkSet><DbFrom>&lol{levels};</DbFrom><IdList><Id>1</Id></IdList>"
        "</LinkSet></eLinkResult>"
    ).encode()


def test_an_entity_bomb_below_libxml2s_own_guard_is_not_expanded() -> None:
    # 30,000 characters if expanded: libxml2 would (its amplification guard starts higher), so
    # only our parser's settings keep the text at what the document wrote
    assert "lol" not in linkset_dbfrom(entity_bomb(4))


def test_billion_laughs_ends_in_one_clear_parse_error() -> None:
    # libxml2 refuses it before any expansion, whatever our settings: the claim is the error
    with pytest.raises(ParseError, match="entity amplification") as caught:
        linkset_dbfrom(entity_bomb(9))
    assert "\n" not in str(caught.value)


def test_network_dtd_is_never_fetched() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.setblocking(False)
    port = listener.getsockname()[1]
    try:
        doc = (
            '<?xml version="1.0"?><!DOCTYPE ExchangeSet PUBLIC "-//X//Y//EN" '
            f'"http://127.0.0.1:{port}/snp.dtd">'
            '<ExchangeSet xmlns="https://www.ncbi.nlm.nih.gov/SNP/docsum">'
            '<DocumentSummary uid="7"><SNP_ID>7</SNP_ID></DocumentSummary></ExchangeSet>'
        ).encode()
        items = list(parse_bytes(doc, db="snp"))
        assert [i.uid for i in items if isinstance(i, Record)] == ["7"]
        try:
            listener.accept()
        except BlockingIOError:
            pass  # nobody connected: the DTD was not fetched
        else:
            raise AssertionError("the parser fetched the DTD over the network")
    finally:
        listener.close()


@pytest.mark.parametrize(
    "body",
    [
        b"<eSearchResult><ERROR>bad &x; thing</ERROR></eSearchResult>",
        b"<eLinkResult><ERROR>bad &x; thing</ERROR></eLinkResult>",
        b"<eSummaryResult><ERROR>bad &x; thing</ERROR></eSummaryResult>",
        b"<eLinkResult><LinkSet><ERROR>bad &x; thing</ERROR></LinkSet></eLinkResult>",
    ],
)
def test_text_after_an_unexpanded_entity_stays_in_an_error_message(body: bytes) -> None:
    doc = b'<!DOCTYPE d [<!ENTITY x "expanded">]>' + body
    (item,) = parse_bytes(doc)
    message = item.error if isinstance(item, LinkSet) else item.message
    assert message == "bad &x; thing"
