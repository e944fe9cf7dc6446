"""The heavy parts of records, at NCBI's sizes: a gene's comments (GeneRIFs), a taxon's LineageEx,
an article's ReferenceList.

A well-studied gene's Entrezgene is ~1 MB (ncbi-samples' gene 4747 is 1.1 MB, most of it
`Entrezgene_comments`); the comment count per gene is drawn from the dataset's heavy-tailed
`gene_comments`, so most records stay small and a few reach that size. These parts are rendered
on each request and never cached, so big records cost time, not memory.
"""

from __future__ import annotations

import itertools

from harvester.emulator.graph import mix
from harvester.emulator.render import esc

COMMENT_BYTES = 700
"""About what one rendered GeneRIF comment weighs (1,500 of them make a 1 MB record)."""


def entrezgene_comments(
    count: int | None, pmids: list[int], seed: int, gene: int, *, budget: int | None = None
) -> str:
    """`<Entrezgene_comments>` with `count` GeneRIFs, each citing one of `pmids`; or, with
    `budget`, as many as make about that many bytes."""
    limit = count if budget is None else budget
    if limit is None or limit <= 0:
        return ""
    out = ["  <Entrezgene_comments>\n"]
    size = 0
    for j in itertools.count():
        if (j >= count) if count is not None else (budget is None or size >= budget):
            break
        h = mix(seed, 59, gene, j)
        pmid = pmids[h % len(pmids)] if pmids else 1 + h % 30_000_000
        out.append(
            "    <Gene-commentary>\n"
            '      <Gene-commentary_type value="generif">18</Gene-commentary_type>\n'
            "      <Gene-commentary_refs>\n        <Pub>\n          <Pub_pmid>\n"
            f"            <PubMedId>{pmid}</PubMedId>\n"
            "          </Pub_pmid>\n        </Pub>\n      </Gene-commentary_refs>\n"
            f"      <Gene-commentary_text>Synthetic finding {j + 1} on gene {gene}: "
            f"variant {h % 997} changes expression in tissue {h % 53}.</Gene-commentary_text>\n"
            "      <Gene-commentary_create-date>\n        <Date>\n          <Date_std>\n"
            "            <Date-std>\n"
            f"              <Date-std_year>{1995 + h % 30}</Date-std_year>\n"
            f"              <Date-std_month>{1 + h % 12}</Date-std_month>\n"
            f"              <Date-std_day>{1 + h % 28}</Date-std_day>\n"
            "            </Date-std>\n          </Date_std>\n        </Date>\n"
            "      </Gene-commentary_create-date>\n    </Gene-commentary>\n"
        )
        size += len(out[-1])
    out.append("  </Entrezgene_comments>\n")
    return "".join(out)


def lineage_ex(lineage: str, taxid: int) -> str:
    """`<LineageEx>`: one nested `Taxon` per lineage rank, as NCBI's taxonomy efetch has."""
    names = [n.strip() for n in lineage.split(";") if n.strip()]
    taxa = "".join(
        f"        <Taxon>\n            <TaxId>{1 + mix(taxid, i) % 2_000_000}</TaxId>\n"
        f"            <ScientificName>{esc(name)}</ScientificName>\n"
        f"            <Rank>{RANKS[i] if i < len(RANKS) else 'no rank'}</Rank>\n"
        "        </Taxon>\n"
        for i, name in enumerate(names)
    )
    return f"    <LineageEx>\n{taxa}    </LineageEx>\n" if taxa else ""


RANKS = ("superkingdom", "kingdom", "phylum", "class", "order", "family", "genus")


def reference_list(pmids: list[int]) -> str:
    """PubMed's `<ReferenceList>` (in PubmedData) citing `pmids`, on the article's one line."""
    if not pmids:
        return ""
    refs = "".join(
        f"<Reference><Citation>Synthetic cited article {p}.</Citation><ArticleIdList>"
        f'<ArticleId IdType="pubmed">{p}</ArticleId></ArticleIdList></Reference>'
        for p in pmids
    )
    return f"<ReferenceList>{refs}</ReferenceList>"
