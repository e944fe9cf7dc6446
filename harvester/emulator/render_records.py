"""Records in NCBI's shapes: efetch formats (ExchangeSet, Entrezgene, PubmedArticle, GBSeq,
TSeq, Taxon) and esummary (v1 DocSum/Item, v2 DocumentSummary, JSON).

Whitespace mirrors the captures: snp and pubmed efetch put one record on a line; gene, GBSeq,
TSeq and esummary are indented one element per line.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Union

from harvester.emulator.bulk import reference_list
from harvester.emulator.detail import (
    NO_PUBMED_DETAIL,
    NO_SNP_DETAIL,
    PubmedDetail,
    SnpDetail,
    hgvs_prefix,
    maf_xml,
)
from harvester.emulator.records import SPECIES, ArticleInfo, GeneInfo, Records, SeqInfo, SnpInfo
from harvester.emulator.render import esc

Node = tuple[str, Union[str, int, "list[Node]"]]
"""(tag, text, number or children): the common tree of esummary v2, its JSON and snp efetch."""
Item = tuple[str, str, Union[str, int, "list[Item]"]]
"""(Name, Type, value or children): an esummary v1 `<Item>`."""

JSON_ARRAYS = frozenset({"GENES", "GLOBAL_MAFS", "GenomicInfo", "Mim", "Authors", "ArticleIds"})


def compact(nodes: Sequence[Node]) -> str:
    out = []
    for tag, value in nodes:
        if isinstance(value, list):
            out.append(f"<{tag}>{compact(value)}</{tag}>" if value else f"<{tag}/>")
        elif value == "":
            out.append(f"<{tag}/>")
        else:
            out.append(f"<{tag}>{esc(value)}</{tag}>")
    return "".join(out)


def pretty(nodes: Sequence[Node], depth: int = 1) -> str:
    pad = "\t" * depth
    out = []
    for tag, value in nodes:
        if isinstance(value, list):
            out.append(f"{pad}<{tag}>\n{pretty(value, depth + 1)}{pad}</{tag}>\n")
        else:
            out.append(f"{pad}<{tag}>{esc(value)}</{tag}>\n")
    return "".join(out)


def to_json(nodes: Sequence[Node]) -> dict[str, object]:
    out: dict[str, object] = {}
    for tag, value in nodes:
        if isinstance(value, list):
            if tag in JSON_ARRAYS:
                out[tag.lower()] = [to_json(v) if isinstance(v, list) else v for _, v in value]
            else:
                out[tag.lower()] = to_json(value)
        else:
            out[tag.lower()] = value
    return out


def items(entries: Sequence[Item], depth: int = 1) -> str:
    pad = "\t" * depth
    out = []
    for name, typ, value in entries:
        if isinstance(value, list):
            out.append(
                f'{pad}<Item Name="{name}" Type="{typ}">\n{items(value, depth + 1)}{pad}</Item>\n'
            )
        else:
            out.append(f'{pad}<Item Name="{name}" Type="{typ}">{esc(value)}</Item>\n')
    return "".join(out)


# -- snp ----------------------------------------------------------------------------------------
def snp_nodes(s: SnpInfo, d: SnpDetail = NO_SNP_DETAIL) -> list[Node]:
    chrpos = f"{s.chromosome}:{s.position}" if s.position else ""
    acc = f"NC_0000{s.chromosome.zfill(2) if s.chromosome.isdigit() else '23'}.11"
    gene_note = ",".join(f"{name}:{uid}" for name, uid in s.genes)
    docsum = f"SEQ=[C/T]|LEN=1|GENE={gene_note}" if gene_note else "SEQ=[C/T]|LEN=1"
    mafs: list[Node] = [("MAF", [("STUDY", study), ("FREQ", freq)]) for study, freq in d.mafs]
    return [
        ("SNP_ID", s.uid),
        ("ALLELE_ORIGIN", ""),
        ("GLOBAL_MAFS", mafs),
        ("GLOBAL_POPULATION", ""),
        ("GLOBAL_SAMPLESIZE", 0),
        ("SUSPECTED", ""),
        ("CLINICAL_SIGNIFICANCE", ""),
        ("GENES", [("GENE_E", [("NAME", n), ("GENE_ID", u)]) for n, u in s.genes]),
        ("ACC", acc),
        ("CHR", s.chromosome),
        ("HANDLE", "SYNTHETIC"),
        ("SPDI", f"{acc}:{(s.position or 1) - 1}:C:T"),
        ("FXN_CLASS", s.fxn_class),
        ("VALIDATED", "by-frequency"),
        ("DOCSUM", hgvs_prefix(d.hgvs) + docsum),
        ("TAX_ID", s.taxid),
        ("ORIG_BUILD", 36),
        ("UPD_BUILD", 157),
        ("CREATEDATE", "2000/09/19 17:02"),
        ("UPDATEDATE", "2024/11/02 07:15"),
        ("SS", f"{s.uid + 1000}{d.ss}" if d.ss else s.uid + 1000),
        ("ALLELE", "Y"),
        ("SNP_CLASS", s.snp_class),
        ("CHRPOS", chrpos),
        ("CHRPOS_PREV_ASSM", chrpos),
        ("TEXT", ""),
        ("SNP_ID_SORT", f"{s.uid:010d}"),
        ("CLINICAL_SORT", 0),
        ("CITED_SORT", ""),
        ("CHRPOS_SORT", f"{s.position or 0:010d}"),
        ("MERGED_SORT", 0),
    ]


def snp_items(s: SnpInfo) -> list[Item]:
    """The seed's 2007 DocSum: the Perl examples grep these Item lines."""
    return [
        ("SNP_ID", "Integer", s.uid),
        ("Organism", "String", ""),
        ("GENE", "String", ",".join(n for n, _ in s.genes)),
        ("CHR", "String", s.chromosome),
        ("FXN_CLASS", "String", s.fxn_class),
        ("TAX_ID", "Integer", s.taxid),
        ("SNP_CLASS", "String", s.snp_class),
        ("CHRPOS", "String", f"{s.chromosome}:{s.position}" if s.position else ""),
    ]


def snp_exchangeset_record(s: SnpInfo, d: SnpDetail = NO_SNP_DETAIL) -> str:
    """One ExchangeSet DocumentSummary on one line, as captured; the same fields as
    `snp_nodes` in one template, because this is the emulator's hottest path."""
    pos = s.position or 0
    chrpos = f"{s.chromosome}:{pos}" if s.position else ""
    acc = f"NC_0000{s.chromosome.zfill(2) if s.chromosome.isdigit() else '23'}.11"
    genes = "".join(
        f"<GENE_E><NAME>{esc(n)}</NAME><GENE_ID>{u}</GENE_ID></GENE_E>" for n, u in s.genes
    )
    note = ",".join(f"{n}:{u}" for n, u in s.genes)
    docsum = esc(hgvs_prefix(d.hgvs)) + (
        f"SEQ=[C/T]|LEN=1|GENE={esc(note)}" if note else "SEQ=[C/T]|LEN=1"
    )
    ss = f"{s.uid + 1000}{d.ss}"
    fxn = f"<FXN_CLASS>{esc(s.fxn_class)}</FXN_CLASS>" if s.fxn_class else "<FXN_CLASS/>"
    cp = (
        f"<CHRPOS>{chrpos}</CHRPOS><CHRPOS_PREV_ASSM>{chrpos}</CHRPOS_PREV_ASSM>"
        if chrpos
        else "<CHRPOS/><CHRPOS_PREV_ASSM/>"
    )
    return (
        f'<DocumentSummary uid="{s.uid}"><SNP_ID>{s.uid}</SNP_ID><ALLELE_ORIGIN/>{maf_xml(d.mafs)}'
        "<GLOBAL_POPULATION/><GLOBAL_SAMPLESIZE>0</GLOBAL_SAMPLESIZE><SUSPECTED/>"
        f"<CLINICAL_SIGNIFICANCE/>{f'<GENES>{genes}</GENES>' if genes else '<GENES/>'}"
        f"<ACC>{acc}</ACC><CHR>{s.chromosome}</CHR><HANDLE>SYNTHETIC</HANDLE>"
        f"<SPDI>{acc}:{max(pos, 1) - 1}:C:T</SPDI>{fxn}<VALIDATED>by-frequency</VALIDATED>"
        f"<DOCSUM>{docsum}</DOCSUM><TAX_ID>{s.taxid}</TAX_ID><ORIG_BUILD>36</ORIG_BUILD>"
        "<UPD_BUILD>157</UPD_BUILD><CREATEDATE>2000/09/19 17:02</CREATEDATE>"
        f"<UPDATEDATE>2024/11/02 07:15</UPDATEDATE><SS>{ss}</SS><ALLELE>Y</ALLELE>"
        f"<SNP_CLASS>{s.snp_class}</SNP_CLASS>{cp}<TEXT/><SNP_ID_SORT>{s.uid:010d}</SNP_ID_SORT>"
        f"<CLINICAL_SORT>0</CLINICAL_SORT><CITED_SORT/><CHRPOS_SORT>{pos:010d}</CHRPOS_SORT>"
        "<MERGED_SORT>0</MERGED_SORT></DocumentSummary>\n"
    )


# -- gene ---------------------------------------------------------------------------------------
def gene_nodes(g: GeneInfo) -> list[Node]:
    return [
        ("Name", g.symbol),
        ("Description", g.description),
        ("Status", 0),
        ("CurrentID", 0),
        ("Chromosome", g.chromosome),
        ("GeneticSource", "genomic"),
        ("MapLocation", f"{g.chromosome}q1"),
        ("OtherAliases", ""),
        ("OtherDesignations", ""),
        ("NomenclatureSymbol", g.symbol),
        ("NomenclatureName", g.description),
        ("NomenclatureStatus", "Official"),
        (
            "Organism",
            [
                ("ScientificName", g.organism),
                ("CommonName", SPECIES[g.taxid][1]),
                ("TaxID", g.taxid),
            ],
        ),
        ("Mim", []),
        (
            "GenomicInfo",
            [
                (
                    "GenomicInfoType",
                    [
                        ("ChrLoc", g.chromosome),
                        ("ChrAccVer", "NC_000000.0"),
                        ("ChrStart", g.start),
                        ("ChrStop", g.stop),
                        ("ExonCount", 1 + g.uid % 20),
                    ],
                )
            ],
        ),
        ("GeneWeight", g.uid % 100_000),
        ("Summary", f"Synthetic gene {g.symbol}."),
        ("ChrSort", g.chromosome.zfill(2)),
        ("ChrStart", g.start),
    ]


def gene_items(g: GeneInfo) -> list[Item]:
    return [
        ("Name", "String", g.symbol),
        ("Description", "String", g.description),
        ("Status", "Integer", 0),
        ("CurrentID", "Integer", 0),
        ("Chromosome", "String", g.chromosome),
        ("GeneticSource", "String", "genomic"),
        ("MapLocation", "String", f"{g.chromosome}q1"),
        ("NomenclatureSymbol", "String", g.symbol),
        ("NomenclatureName", "String", g.description),
        ("NomenclatureStatus", "String", "Official"),
        (
            "Organism",
            "Structure",
            [
                ("ScientificName", "String", g.organism),
                ("CommonName", "String", SPECIES[g.taxid][1]),
                ("TaxID", "Integer", g.taxid),
            ],
        ),
        ("ChrStart", "Integer", g.start),
        ("ChrStop", "Integer", g.stop),
        ("Summary", "String", f"Synthetic gene {g.symbol}."),
    ]


def entrezgene_record(g: GeneInfo) -> str:
    name, common, _ = SPECIES[g.taxid]
    return (
        "<Entrezgene>\n  <Entrezgene_track-info>\n    <Gene-track>\n"
        f"      <Gene-track_geneid>{g.uid}</Gene-track_geneid>\n"
        '      <Gene-track_status value="live">0</Gene-track_status>\n'
        "    </Gene-track>\n  </Entrezgene_track-info>\n"
        '  <Entrezgene_type value="protein-coding">6</Entrezgene_type>\n'
        "  <Entrezgene_source>\n    <BioSource>\n"
        '      <BioSource_genome value="genomic">1</BioSource_genome>\n'
        "      <BioSource_org>\n        <Org-ref>\n"
        f"          <Org-ref_taxname>{name}</Org-ref_taxname>\n"
        f"          <Org-ref_common>{common}</Org-ref_common>\n"
        "          <Org-ref_db>\n            <Dbtag>\n              <Dbtag_db>taxon</Dbtag_db>\n"
        "              <Dbtag_tag>\n                <Object-id>\n"
        f"                  <Object-id_id>{g.taxid}</Object-id_id>\n"
        "                </Object-id>\n              </Dbtag_tag>\n            </Dbtag>\n"
        "          </Org-ref_db>\n        </Org-ref>\n      </BioSource_org>\n"
        "      <BioSource_subtype>\n        <SubSource>\n"
        '          <SubSource_subtype value="chromosome">1</SubSource_subtype>\n'
        f"          <SubSource_name>{g.chromosome}</SubSource_name>\n"
        "        </SubSource>\n      </BioSource_subtype>\n    </BioSource>\n"
        "  </Entrezgene_source>\n  <Entrezgene_gene>\n    <Gene-ref>\n"
        f"      <Gene-ref_locus>{esc(g.symbol)}</Gene-ref_locus>\n"
        f"      <Gene-ref_desc>{esc(g.description)}</Gene-ref_desc>\n"
        f"      <Gene-ref_maploc>{g.chromosome}q1</Gene-ref_maploc>\n"
        "    </Gene-ref>\n  </Entrezgene_gene>\n"
        f"  <Entrezgene_summary>Synthetic gene {esc(g.symbol)}.</Entrezgene_summary>\n"
        "  <Entrezgene_locus>\n    <Gene-commentary>\n"
        '      <Gene-commentary_type value="genomic">1</Gene-commentary_type>\n'
        "      <Gene-commentary_seqs>\n        <Seq-loc>\n          <Seq-loc_int>\n"
        "            <Seq-interval>\n"
        f"              <Seq-interval_from>{g.start}</Seq-interval_from>\n"
        f"              <Seq-interval_to>{g.stop}</Seq-interval_to>\n"
        "            </Seq-interval>\n          </Seq-loc_int>\n        </Seq-loc>\n"
        "      </Gene-commentary_seqs>\n    </Gene-commentary>\n  </Entrezgene_locus>\n"
        "</Entrezgene>\n"
    )


# -- pubmed -------------------------------------------------------------------------------------
def _names(author: str) -> tuple[str, str]:
    last, _, initials = author.rpartition(" ")
    return (last or initials, initials)


def pubmed_record(a: ArticleInfo, references: list[int] | None = None) -> str:
    """One PubmedArticle on one line, as PubMed sends them, with its ReferenceList: the cited
    articles (its pubmed_pubmed_refs links) first, then cited works without a PubMed id."""
    authors = "".join(
        f'<Author ValidYN="Y"><LastName>{esc(last)}</LastName><ForeName>{ini}</ForeName>'
        f"<Initials>{ini}</Initials></Author>"
        for last, ini in map(_names, a.authors)
    )
    return (
        '<PubmedArticle><MedlineCitation Status="MEDLINE" Owner="NLM">'
        f'<PMID Version="1">{a.uid}</PMID><Article PubModel="Print"><Journal>'
        f'<JournalIssue CitedMedium="Print"><PubDate><Year>{a.year}</Year></PubDate>'
        f"</JournalIssue><Title>{esc(a.journal)}</Title><ISOAbbreviation>{esc(a.journal)}"
        f"</ISOAbbreviation></Journal><ArticleTitle>{esc(a.title)}</ArticleTitle>"
        f"<Abstract><AbstractText>{esc(a.abstract)}</AbstractText></Abstract>"
        f'<AuthorList CompleteYN="Y">{authors}</AuthorList><Language>eng</Language></Article>'
        "</MedlineCitation><PubmedData><ArticleIdList>"
        f'<ArticleId IdType="pubmed">{a.uid}</ArticleId></ArticleIdList>'
        f"{reference_list(references or [])}</PubmedData></PubmedArticle>\n"
    )


def with_pubmed_detail(text: str, d: PubmedDetail) -> str:
    """A rendered PubmedArticle with `d` spliced in: MeSH headings closing MedlineCitation,
    cited works without a PubMed id after the linked ones (so its links are read unchanged)."""
    if d == NO_PUBMED_DETAIL:
        return text
    citation, _, data = text.partition("</MedlineCitation>")
    if "</ReferenceList>" in data:
        data = data.replace("</ReferenceList>", f"{d.references}</ReferenceList>", 1)
    else:
        data = data.replace(
            "</PubmedData>", f"<ReferenceList>{d.references}</ReferenceList></PubmedData>", 1
        )
    return f"{citation}{d.mesh}</MedlineCitation>{data}"


def pubmed_items(a: ArticleInfo) -> list[Item]:
    return [
        ("PubDate", "Date", str(a.year)),
        ("EPubDate", "Date", ""),
        ("Source", "String", a.journal),
        ("AuthorList", "List", [("Author", "String", x) for x in a.authors]),
        ("LastAuthor", "String", a.authors[-1] if a.authors else ""),
        ("Title", "String", a.title),
        ("Volume", "String", str(1 + a.uid % 90)),
        ("LangList", "List", [("Lang", "String", "English")]),
        ("PubTypeList", "List", [("PubType", "String", "Journal Article")]),
        ("FullJournalName", "String", a.journal),
    ]


def pubmed_nodes(a: ArticleInfo) -> list[Node]:
    return [
        ("PubDate", str(a.year)),
        ("EPubDate", ""),
        ("Source", a.journal),
        ("Authors", [("Author", [("Name", x), ("AuthType", "Author")]) for x in a.authors]),
        ("LastAuthor", a.authors[-1] if a.authors else ""),
        ("Title", a.title),
        ("Volume", str(1 + a.uid % 90)),
        ("FullJournalName", a.journal),
        ("ArticleIds", [("ArticleId", [("IdType", "pubmed"), ("Value", str(a.uid))])]),
    ]


# -- sequences ----------------------------------------------------------------------------------
def gbseq_record(s: SeqInfo) -> str:
    organism = SPECIES[s.taxid][0]
    return (
        f"<GBSeq>\n  <GBSeq_locus>{s.accession}</GBSeq_locus>\n"
        f"  <GBSeq_length>{len(s.sequence)}</GBSeq_length>\n"
        f"  <GBSeq_moltype>{'AA' if s.moltype == 'aa' else s.moltype}</GBSeq_moltype>\n"
        f"  <GBSeq_definition>{esc(s.definition)}</GBSeq_definition>\n"
        f"  <GBSeq_primary-accession>{s.accession}</GBSeq_primary-accession>\n"
        f"  <GBSeq_accession-version>{s.accession_version}</GBSeq_accession-version>\n"
        "  <GBSeq_other-seqids>\n"
        f"    <GBSeqid>ref|{s.accession_version}|</GBSeqid>\n"
        f"    <GBSeqid>gi|{s.uid}</GBSeqid>\n  </GBSeq_other-seqids>\n"
        f"  <GBSeq_organism>{organism}</GBSeq_organism>\n"
        f"  <GBSeq_sequence>{s.sequence.lower()}</GBSeq_sequence>\n</GBSeq>\n"
    )


def tseq_record(s: SeqInfo) -> str:
    """A TinySeq as today's NCBI writes it: by accession.version only, no TSeq_gi
    (`biopython/nucleotide2.xml`; docs/NCBI_BEHAVIOUR.md)."""
    kind = "protein" if s.moltype == "aa" else "nucleotide"
    return (
        f'<TSeq>\n  <TSeq_seqtype value="{kind}"/>\n'
        f"  <TSeq_accver>{s.accession_version}</TSeq_accver>\n"
        f"  <TSeq_taxid>{s.taxid}</TSeq_taxid>\n"
        f"  <TSeq_orgname>{SPECIES[s.taxid][0]}</TSeq_orgname>\n"
        f"  <TSeq_defline>{esc(s.definition)}</TSeq_defline>\n"
        f"  <TSeq_length>{len(s.sequence)}</TSeq_length>\n"
        f"  <TSeq_sequence>{s.sequence}</TSeq_sequence>\n</TSeq>\n"
    )


def seq_items(s: SeqInfo) -> list[Item]:
    return [
        ("Caption", "String", s.accession),
        ("Title", "String", s.definition),
        ("Extra", "String", f"gi|{s.uid}|ref|{s.accession_version}|"),
        ("Gi", "Integer", s.uid),
        ("TaxId", "Integer", s.taxid),
        ("Length", "Integer", len(s.sequence)),
        ("AccessionVersion", "String", s.accession_version),
    ]


def seq_nodes(s: SeqInfo) -> list[Node]:
    return [
        ("Caption", s.accession),
        ("Title", s.definition),
        ("Gi", s.uid),
        ("TaxId", s.taxid),
        ("Slen", len(s.sequence)),
        ("MolType", s.moltype),
        ("AccessionVersion", s.accession_version),
    ]


__all__ = ["Item", "Node", "Records", "compact", "items", "pretty", "to_json"]
