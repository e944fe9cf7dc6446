"""Dataset specs: the small YAML files in configs/datasets/ that size a synthetic dataset."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harvester.emulator.graph import DegreeSpec
from harvester.errors import ConfigError

DATASETS_DIR = Path(__file__).resolve().parents[2] / "configs" / "datasets"


@dataclass(frozen=True, slots=True)
class LinkSpec:
    """How one generated link graph is shaped (see graph.BlockGraph)."""

    degree: DegreeSpec = field(default_factory=DegreeSpec)
    window: int = 1
    spill_rate: float = 0.0


@dataclass(frozen=True, slots=True)
class DatasetSpec:
    """Everything that determines a dataset; equal specs give byte-identical responses."""

    name: str = "tiny"
    seed: int = 42
    genes: int = 300
    gene_snp: LinkSpec = field(
        default_factory=lambda: LinkSpec(DegreeSpec(8, 1.3, 0.1, 2_000), 1, 0.05)
    )
    gene_pubmed: LinkSpec = field(
        default_factory=lambda: LinkSpec(DegreeSpec(3, 0.8, 0.2, 200), 2, 0.0)
    )
    gene_protein: LinkSpec = field(
        default_factory=lambda: LinkSpec(DegreeSpec(1.5, 0.5, 0.1, 4), 1, 0.0)
    )
    pubmed_neighbors: int = 12
    gene_comments: DegreeSpec = field(default_factory=lambda: DegreeSpec(1, 0.5, 0.5, 8))
    """GeneRIF comments per generated gene (~700 bytes each): its Entrezgene's size. Heavy-tailed
    in the benchmark datasets, up to NCBI's ~1 MB; a handful here, so tests stay fast."""
    snp_detail: DegreeSpec = field(default_factory=lambda: DegreeSpec(0.0, 0.0, 1.0, 0))
    """Submissions per generated SNP docsum (a population frequency, an HGVS name and two ss
    ids each, ~120 bytes): NCBI's docsums are ~2 KB. None here, so tests stay fast."""
    pubmed_detail: DegreeSpec = field(default_factory=lambda: DegreeSpec(0.0, 0.0, 1.0, 0))
    """Cited works without a PubMed id (~200 bytes each, every fourth with a MeSH heading) per
    generated article: NCBI's articles with references are 5-40 KB. None here."""
    record_scale: float = 1.0
    """Every record's bulk (GeneRIFs, SNP submissions, PubMed's cited works) times this;
    0 leaves each record minimal. Ids, links and counts never change with it."""
    record_bytes: int = 0
    """When set, every snp docsum, Entrezgene and PubmedArticle is filled with its bulk to
    about this many bytes instead (`record_scale` is then ignored); 0: the distributions."""
    one_line: bool = False
    """esummary v2 as NCBI sends it for many dbs today: the whole DocumentSummarySet on one line
    (False: one element per line, as the older captures)."""
    withdrawn_snp_per_mille: int = 5
    """SNPs that genes still link to but whose records are gone (NCBI's withdrawn/merged ids)."""
    long_sequence: int = 0
    """Bases in the sequence of the first generated nuccore record, a chromosome-sized GBSeq (a
    text node past libxml2's 10 MB default limit); 0 leaves it an mRNA like the others."""
    as_of: str = ""
    """Serve the dataset as it was on this day (`YYYY-MM-DD`, see clock.py): records carry
    their dates and what came later is left out. Empty: as of clock.REFERENCE, undated."""


def _merge(default: Any, data: dict[str, Any], where: str) -> Any:
    """`default` with the keys of `data` replaced, nested dataclasses merged, types checked."""
    names = {f.name for f in dataclasses.fields(default)}
    changes: dict[str, Any] = {}
    for key, value in data.items():
        if key not in names:
            raise ConfigError(f"{where}: unknown key '{key}' (known: {', '.join(sorted(names))})")
        current = getattr(default, key)
        if dataclasses.is_dataclass(current):
            if not isinstance(value, dict):
                raise ConfigError(f"{where}: '{key}' must be a mapping")
            changes[key] = _merge(current, value, f"{where}.{key}")
        elif isinstance(current, float) and isinstance(value, int) and not isinstance(value, bool):
            changes[key] = float(value)
        elif isinstance(value, bool) != isinstance(current, bool) or not isinstance(
            value, type(current)
        ):
            raise ConfigError(f"{where}: '{key}' must be {type(current).__name__}, got {value!r}")
        else:
            changes[key] = value
    return dataclasses.replace(default, **changes)


BASE_DEPTH = 4
"""How many `base:` steps a dataset YAML may take (a loop of bases is refused, not followed)."""


def load_spec(name_or_path: str | Path | None, as_of: str | None = None) -> DatasetSpec:
    """A spec from a YAML path, a name in configs/datasets/, or the built-in 'tiny' default;
    `NAME@YYYY-MM-DD` (or `as_of`) serves it as of that day."""
    if isinstance(name_or_path, str) and "@" in name_or_path:
        name_or_path, _, day = name_or_path.rpartition("@")
        as_of = as_of or day
    spec = _load(name_or_path or None)
    if as_of:
        spec = dataclasses.replace(spec, as_of=as_of)
    if spec.as_of:
        from harvester.emulator.clock import parse_day

        try:
            spec = dataclasses.replace(spec, as_of=parse_day(spec.as_of).isoformat())
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    return spec


def _load(name_or_path: str | Path | None, _depth: int = 0) -> DatasetSpec:
    """A YAML file's `base: NAME` starts it from that dataset (`base: large` and
    `record_bytes: 21000` make large with 21 KB records), else from the built-in default."""
    if name_or_path is None or (
        str(name_or_path) == "tiny" and not (DATASETS_DIR / "tiny.yaml").exists()
    ):
        return DatasetSpec()
    path = Path(name_or_path)
    if not path.suffix:
        path = DATASETS_DIR / f"{name_or_path}.yaml"
    if not path.exists():
        known = sorted(p.stem for p in DATASETS_DIR.glob("*.yaml")) if DATASETS_DIR.exists() else []
        raise ConfigError(
            f"dataset '{name_or_path}' not found (give a YAML path or one of: "
            f"{', '.join(known) or 'tiny'})"
        )
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}{line}: not valid YAML") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a dataset spec must be a mapping")
    if "as_of" in data and not isinstance(data["as_of"], str):
        data["as_of"] = str(data["as_of"])  # YAML reads 2026-11-01 as a date
    start = DatasetSpec()
    base = data.pop("base", None)
    if base is not None:
        if not isinstance(base, str) or _depth >= BASE_DEPTH:
            raise ConfigError(f"{path}: 'base' must name a dataset (at most {BASE_DEPTH} deep)")
        start = _load(path.parent / base if base.endswith(".yaml") else base, _depth + 1)
    spec: DatasetSpec = _merge(start, data, str(path))
    if spec.long_sequence < 0:
        raise ConfigError(f"{path}: 'long_sequence' must be 0 or more bases")
    return sized(spec, where=str(path))


def sized(
    spec: DatasetSpec,
    record_scale: float | None = None,
    record_bytes: int | None = None,
    where: str = "--record-scale/--record-bytes",
) -> DatasetSpec:
    """`spec` with its record size overridden (None keeps the spec's own), checked."""
    if record_scale is not None:
        spec = dataclasses.replace(spec, record_scale=float(record_scale))
    if record_bytes is not None:
        spec = dataclasses.replace(spec, record_bytes=record_bytes)
    if spec.record_scale < 0:
        raise ConfigError(f"{where}: the record scale must be 0 or more")
    if spec.record_bytes < 0:
        raise ConfigError(f"{where}: the record bytes must be 0 or more")
    return spec
