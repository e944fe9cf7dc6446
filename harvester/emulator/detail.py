"""The bulk that makes records NCBI's size: a SNP docsum's submissions, an article's cited works
without a PubMed id and its MeSH headings, and the rule choosing how much of it a record gets.

NCBI's snp docsums are ~2 KB (`efetch_snp_2031_14181.xml`: 2,312 and 1,960 bytes, most of it
GLOBAL_MAFS, HGVS names in DOCSUM and the SS list); PubMed articles with a reference list are
5-40 KB (docs/NCBI_BEHAVIOUR.md). The bulk is made of those same elements, never filler, and it
changes no id, link or field a job reads: the GENES, CHRPOS and class fields stay as they were,
and cited works without a PubMed id are not links.

Units are rendered once per dataset into a pool (`UnitPool`); a record takes a run of them from
a place its uid chooses, so a 21 KB record costs a slice, not hundreds of formatted strings.
"""

from __future__ import annotations

import bisect
import itertools
import math
from dataclasses import dataclass
from functools import lru_cache

from harvester.emulator.graph import DegreeSpec, mix
from harvester.emulator.render import esc
from harvester.emulator.spec import DatasetSpec

STUDIES = (
    "1000Genomes",
    "1000Genomes_30X",
    "ALSPAC",
    "Estonian",
    "GnomAD_exomes",
    "GnomAD_genomes",
    "GoNL",
    "NorthernSweden",
    "TWINSUK",
    "ALFA",
    "TOPMED",
    "KOREAN",
    "SGDP_PRJ",
    "Qatari",
)
"""The population studies NCBI's docsums cite in GLOBAL_MAFS (from the captures)."""
MESH = (
    "Humans",
    "Animals",
    "Mice",
    "Gene Expression Regulation",
    "Polymorphism, Single Nucleotide",
    "Genetic Predisposition to Disease",
    "Signal Transduction",
    "Cell Line, Tumor",
    "Mutation",
    "Female",
    "Male",
    "Protein Binding",
)
SALT_SNP, SALT_PUBMED = 71, 73
POOL_UNITS = 4096
"""Units rendered per pool: records start at different places, so neighbours differ."""
MAF_BYTES = 56
"""About what one `<MAF>` adds to a docsum."""
HGVS_ESCAPE = 3
"""'>' is sent as '&gt;': the bytes an HGVS name gains on the wire."""


class UnitPool:
    """`POOL_UNITS` units of one or more parallel parts (each part's text of unit i), joined so
    that any run of consecutive units (wrapping round) is one slice per part. `wire_extra`:
    bytes each unit gains when sent (escaping) beyond its text here."""

    def __init__(self, parts: list[list[str]], wire_extra: int = 0) -> None:
        self.size = len(parts[0])
        self._once = ["".join(p) for p in parts]
        self._twice = [text * 2 for text in self._once]
        self._offsets = [
            list(itertools.accumulate((len(u) for u in p * 2), initial=0)) for p in parts
        ]
        self._total: list[int] = [
            sum(column) + i * wire_extra
            for i, column in enumerate(zip(*self._offsets, strict=True))
        ]

    def run(self, start: int, count: int) -> list[str]:
        """Each part's text of `count` units from unit `start` (repeating past the pool)."""
        whole, rest = divmod(count, self.size)
        start %= self.size
        return [
            once * whole + twice[offsets[start] : offsets[start + rest]]
            for once, twice, offsets in zip(self._once, self._twice, self._offsets, strict=True)
        ]

    def count_for(self, start: int, budget: int) -> int:
        """How many units from `start` make at least `budget` bytes sent (all parts)."""
        if budget <= 0:
            return 0
        start %= self.size
        whole, left = divmod(budget, self._total[self.size])
        base = self._total[start]
        rest = bisect.bisect_left(self._total, base + left, lo=start) - start
        return whole * self.size + rest


@dataclass(frozen=True, slots=True)
class SnpDetail:
    """A docsum's submissions: frequencies per study, HGVS names (comma-joined) and extra ss
    ids (each after a comma)."""

    mafs: tuple[tuple[str, str], ...] = ()
    hgvs: str = ""
    ss: str = ""


@dataclass(frozen=True, slots=True)
class PubmedDetail:
    """An article's cited works without a PubMed id and its MeSH headings, as XML."""

    references: str = ""
    mesh: str = ""


NO_SNP_DETAIL, NO_PUBMED_DETAIL = SnpDetail(), PubmedDetail()


def unit_count(spec: DatasetSpec, dist: DegreeSpec, salt: int, uid: int) -> int:
    """How many bulk units a record gets from its distribution (log-normal around its median,
    some zeros, capped; drawn from the uid's hash), times `record_scale`."""
    if spec.record_scale <= 0 or dist.max <= 0:
        return 0
    h = mix(spec.seed, salt, uid)
    if (h & 0xFFFF) / 0x10000 < dist.zero_fraction:
        return 0
    u1 = ((h >> 16) & 0xFFFFFF) / 0x1000000 or 0.5 / 0x1000000  # Box-Muller: one normal draw
    u2 = (h >> 40) / (1 << 24)
    z = math.sqrt(-2 * math.log(u1)) * math.cos(2 * math.pi * u2)
    drawn = min(dist.max, max(1, int(dist.median * math.exp(dist.sigma * z))))
    return round(drawn * spec.record_scale)


@lru_cache(maxsize=8)
def _snp_pool(seed: int) -> tuple[UnitPool, tuple[str, ...]]:
    """Per unit: ',' + an HGVS name (its '>' sent as '&gt;' counted) and ',' + an ss id; and
    apart, an allele frequency (`T=freq/count`) per unit for the studies."""
    hgvs, ss, freqs = [], [], []
    for j in range(POOL_UNITS):
        h = mix(seed, SALT_SNP, j)
        freqs.append(f"T={(h % 5000) / 10000:.4g}/{1 + (h >> 16) % 4000}")
        transcript = f"NM_{100_000 + (h >> 20) % 900_000:06d}.{1 + (h >> 40) % 9}"
        hgvs.append(f",{transcript}:c.{1 + (h >> 8) % 4000}C>T")
        ss.append(f",{1_000_000 + (h >> 24) % 9_000_000_000}")
    return UnitPool([hgvs, ss], wire_extra=HGVS_ESCAPE), tuple(freqs)


def _mafs(freqs: tuple[str, ...], start: int, count: int) -> tuple[tuple[str, str], ...]:
    """A frequency for each of the first `count` studies (all of them at most)."""
    return tuple(
        (study, freqs[(start + j) % POOL_UNITS]) for j, study in enumerate(STUDIES[:count])
    )


def snp_detail(spec: DatasetSpec, uid: int, base_bytes: int) -> SnpDetail:
    """The submissions of SNP `uid` whose bare docsum is `base_bytes` long."""
    pool, freqs = _snp_pool(spec.seed)
    start = mix(spec.seed, SALT_SNP, uid)
    if spec.record_bytes:
        budget = spec.record_bytes - base_bytes
        if budget <= 0:
            return NO_SNP_DETAIL
        studies = min(len(STUDIES), budget // (2 * MAF_BYTES))
        left = budget - studies * MAF_BYTES
        count = pool.count_for(start, left)
    else:
        count = unit_count(spec, spec.snp_detail, SALT_SNP, uid)
        studies = min(len(STUDIES), count)
    if count <= 0:
        return NO_SNP_DETAIL
    hgvs, ss = pool.run(start, count)
    return SnpDetail(_mafs(freqs, start, studies), hgvs[1:], ss)


@lru_cache(maxsize=8)
def _pubmed_pool(seed: int) -> UnitPool:
    """Per unit: a `<Reference>` to a work without a PubMed id and, one in four, a MeSH heading."""
    refs, mesh = [], []
    for j in range(POOL_UNITS):
        h = mix(seed, SALT_PUBMED, j)
        citation = (
            f"Author{h % 97} A, Writer{(h >> 8) % 89} B, et al. Findings {j + 1} on "
            f"variants and expression in tissue {(h >> 16) % 53}. J Synth Biol. "
            f"{1980 + (h >> 24) % 45};{1 + (h >> 32) % 90}:{1 + (h >> 40) % 900}-"
            f"{901 + (h >> 40) % 900}."
        )
        doi = f"10.{1000 + (h >> 12) % 9000}/jsb.{(h >> 28) % 10_000_000}"
        refs.append(
            f"<Reference><Citation>{esc(citation)}</Citation><ArticleIdList>"
            f'<ArticleId IdType="doi">{doi}</ArticleId></ArticleIdList></Reference>'
        )
        term = MESH[(h >> 44) % len(MESH)]
        mesh.append(
            f'<MeshHeading><DescriptorName UI="D{(h >> 20) % 1_000_000:06d}" '
            f'MajorTopicYN="N">{esc(term)}</DescriptorName></MeshHeading>'
            if j % 4 == 3
            else ""
        )
    return UnitPool([refs, mesh])


def pubmed_detail(spec: DatasetSpec, uid: int, base_bytes: int) -> PubmedDetail:
    """The unlinked cited works and MeSH headings of article `uid`."""
    pool = _pubmed_pool(spec.seed)
    start = mix(spec.seed, SALT_PUBMED, uid)
    if spec.record_bytes:
        count = pool.count_for(start, spec.record_bytes - base_bytes)
    else:
        count = unit_count(spec, spec.pubmed_detail, SALT_PUBMED, uid)
    if count <= 0:
        return NO_PUBMED_DETAIL
    references, mesh = pool.run(start, count)
    return PubmedDetail(references, f"<MeshHeadingList>{mesh}</MeshHeadingList>" if mesh else "")


def maf_xml(mafs: tuple[tuple[str, str], ...]) -> str:
    if not mafs:
        return "<GLOBAL_MAFS/>"
    body = "".join(f"<MAF><STUDY>{s}</STUDY><FREQ>{f}</FREQ></MAF>" for s, f in mafs)
    return f"<GLOBAL_MAFS>{body}</GLOBAL_MAFS>"


def hgvs_prefix(hgvs: str) -> str:
    """DOCSUM's leading `HGVS=…|` part, as NCBI's docsums start (empty without names)."""
    return f"HGVS={hgvs}|" if hgvs else ""
