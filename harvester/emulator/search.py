"""The subset of Entrez's term language the seed examples use, evaluated over a dataset.

Grammar: terms joined by AND / OR / NOT (upper case, as NCBI requires), parentheses, quoted
phrases, `value[FIELD]` tags (`A:B[MDAT]` a range of modification dates) and `#N` history
references. As on NCBI, a phrase that matches
nothing is reported in PhraseNotFound and dropped from the query; an unknown field tag goes to
FieldNotFound. Evaluation scans the db, so it suits the small datasets tests and demos use.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from harvester.emulator.catalog import Catalog
from harvester.emulator.clock import PACES
from harvester.emulator.linklists import LINKS
from harvester.search_dates import date_span

ORGANISMS = {
    "human": 9606,
    "homo sapiens": 9606,
    "mouse": 10090,
    "mus musculus": 10090,
    "rat": 10116,
    "rattus norvegicus": 10116,
    "chimpanzee": 9598,
    "pan troglodytes": 9598,
}
FIELD_ALIASES = {
    "chromosome": "chr",
    "taxid": "tax_id",
    "organism": "orgn",
    "sym": "gene",
    "gene name": "gene",
    "pref": "gene",
    "all fields": "all",
    "title": "ti",
    "author": "au",
    "journal": "ta",
    "pdat": "dp",
    "publication date": "dp",
    "accession": "accn",
    "uid": "uid",
    "filter": "filter",
    "sb": "filter",
    "modification date": "mdat",
    "date - modification": "mdat",
}
TOKEN = re.compile(r'\s*(\(|\)|"[^"]*"(?:\[[^\]]*\])?|#\d+|[^\s()"]+(?:\s*\[[^\]]*\])?)')


class SearchSyntaxError(ValueError):
    """A term the grammar cannot read."""


@dataclass(slots=True)
class Outcome:
    uids: set[int]
    phrases_not_found: list[str] = field(default_factory=list)
    fields_not_found: list[str] = field(default_factory=list)


def tokenize(term: str) -> list[str]:
    tokens, pos = [], 0
    term = term.strip()
    while pos < len(term):
        m = TOKEN.match(term, pos)
        if not m or not m.group(1):
            raise SearchSyntaxError(f"cannot read the term near '{term[pos : pos + 20]}'")
        tokens.append(m.group(1))
        pos = m.end()
    return tokens


class Searcher:
    """Evaluates terms for one db; `history` resolves `#N` to a stored uid set."""

    def __init__(self, catalog: Catalog, db: str, history: Callable[[int], set[int] | None]):
        self.catalog, self.db, self.history = catalog, db, history
        self.outcome = Outcome(set())

    def run(self, term: str, within: set[int] | None = None) -> Outcome:
        tokens = tokenize(term)
        self._tokens, self._pos = tokens, 0
        result = self._or() if tokens else None
        if self._pos != len(tokens):
            raise SearchSyntaxError(f"unexpected '{tokens[self._pos]}' in the term")
        uids = result if result is not None else set()
        if within is not None:
            uids &= within
        self.outcome.uids = uids
        return self.outcome

    # Recursive descent: OR < AND/NOT < atom.
    def _peek(self) -> str | None:
        return self._tokens[self._pos] if self._pos < len(self._tokens) else None

    def _or(self) -> set[int] | None:
        left = self._and()
        while self._peek() == "OR":
            self._pos += 1
            right = self._and()
            left = right if left is None else left if right is None else left | right
        return left

    def _and(self) -> set[int] | None:
        left = self._atom()
        while (tok := self._peek()) is not None and tok not in ("OR", ")"):
            op = "AND"
            if tok in ("AND", "NOT"):
                op = tok
                self._pos += 1
            right = self._atom()
            if op == "NOT":
                left = left - right if left is not None and right is not None else left
            else:
                left = right if left is None else left if right is None else left & right
        return left

    def _atom(self) -> set[int] | None:
        tok = self._peek()
        if tok is None:
            raise SearchSyntaxError("the term ends too early")
        self._pos += 1
        if tok == "(":
            inner = self._or()
            if self._peek() != ")":
                raise SearchSyntaxError("a parenthesis is not closed")
            self._pos += 1
            return inner
        if tok.startswith("#"):
            found = self.history(int(tok[1:]))
            if found is None:
                raise LookupError(int(tok[1:]))
            return found
        return self._phrase(tok)

    def _phrase(self, tok: str) -> set[int] | None:
        value, tag = tok, "all"
        if tok.endswith("]") and "[" in tok:
            value, _, tag = tok[:-1].partition("[")
        value = value.strip().strip('"').lower()
        tag = FIELD_ALIASES.get(tag.strip().lower(), tag.strip().lower())
        test = self._test(tag, value)
        if test is None:
            self.outcome.fields_not_found.append(tok)
            return None
        found = {uid for uid in self.catalog.ds.uids(self.db) if test(uid)}
        if not found:
            self.outcome.phrases_not_found.append(tok)
            return None
        return found

    def _test(self, tag: str, value: str) -> Callable[[int], bool] | None:
        r, db = self.catalog.records, self.db
        if tag == "uid":
            return lambda uid: str(uid) == value
        if tag == "filter":
            ln = LINKS.get(value)
            if ln is None or ln.dbfrom != db:
                return lambda uid: False
            return lambda uid: bool(self.catalog.ds.links(ln.name, uid))
        if tag == "mdat" and db in PACES:
            return self._mdat(value)
        if tag in ("tax_id", "orgn"):
            taxid = ORGANISMS.get(value) or _int(value.removeprefix("txid"))
            return lambda uid: self._taxid(uid) == taxid
        if db == "gene":
            return _gene_test(tag, value, r.gene)
        if db == "snp":
            if tag == "chr":
                return lambda uid: (s := r.snp(uid)) is not None and s.chromosome.lower() == value
            if tag == "fxn_class":
                return lambda uid: (s := r.snp(uid)) is not None and _fxn_match(s.fxn_class, value)
            if tag == "snp_class":
                return lambda uid: (s := r.snp(uid)) is not None and s.snp_class == value
            if tag in ("gene", "all"):
                return lambda uid: (
                    (s := r.snp(uid)) is not None
                    and (any(n.lower() == value for n, _ in s.genes) or str(uid) == value)
                )
            return None
        if db == "pubmed":
            if tag in ("ti", "all"):
                return lambda uid: (a := r.article(uid)) is not None and value in _words(a.title)
            if tag == "au":
                return lambda uid: (
                    (a := r.article(uid)) is not None
                    and any(x.lower().startswith(value) for x in a.authors)
                )
            if tag == "dp":
                return lambda uid: (a := r.article(uid)) is not None and str(a.year) == value
            return None
        if tag == "all":
            return lambda uid: str(uid) == value
        return None

    def _mdat(self, value: str) -> Callable[[int], bool]:
        """`2026/10/01[MDAT]` or a range `2026/10/01:2026/11/01[MDAT]`, by whole days."""
        low, _, high = value.partition(":")
        try:
            first, last = date_span(low)[0], date_span(high or low)[1]
        except ValueError:
            return lambda uid: False
        ds, a, b = self.catalog.ds, first.toordinal(), last.toordinal()
        return lambda uid: a <= ds.mdat(self.db, uid) <= b

    def _taxid(self, uid: int) -> int | None:
        r = self.catalog.records
        if self.db == "gene":
            g = r.gene(uid)
            return g.taxid if g else None
        if self.db == "snp":
            s = r.snp(uid)
            return s.taxid if s else None
        if self.db == "taxonomy":
            return uid
        return None


def _gene_test(tag: str, value: str, gene: Callable[[int], object]) -> Callable[[int], bool] | None:
    def attr(uid: int, name: str) -> str:
        g = gene(uid)
        return str(getattr(g, name)).lower() if g is not None else ""

    if tag == "chr":
        return lambda uid: attr(uid, "chromosome") == value
    if tag == "gene":
        return lambda uid: attr(uid, "symbol") == value
    if tag == "all":
        return lambda uid: (
            attr(uid, "symbol") == value
            or value in _words(attr(uid, "description"))
            or str(uid) == value
        )
    return None


def _fxn_match(classes: str, value: str) -> bool:
    """`snp[FXN_CLASS]` (the seed's example) selects SNPs that have any function class."""
    names = [c for c in classes.lower().split(",") if c]
    return bool(names) if value == "snp" else value in names


def _words(text: str) -> Iterable[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def _int(text: str) -> int | None:
    return int(text) if text.isdigit() else None
