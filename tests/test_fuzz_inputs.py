"""Property: no job file and no id file, however broken, ends in anything but one line and a
documented exit code: no traceback, no hang, memory bounded (see fuzz_support)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import yaml
from fuzz_support import bounded
from hypothesis import given
from hypothesis import strategies as st

from harvester.config import SCHEMA, load_job
from harvester.failure import describe
from harvester.workflow.sources import load_source_ids

DOCUMENTED = {0, 2, 3}
"""What reading a job file and its ids may end with."""
VALID = """\
name: fuzz
source:
  ids: [3718, 7157]
dbfrom: gene
db: snp
linkname: gene_snp
fetch: {via: efetch, page_size: 500}
fields: {SNP_ID: SNP_ID, GENE: GENES/GENE_E/NAME}
output: {path: out.jsonl}
endpoint: embedded
policy: custom
rate: 100
"""
YAMLISH = (
    st.sampled_from(list(":{}[]&*!|>-#'\"\n\t %@`,?.0123456789eE+_abc\\~=<")) | st.characters()
)
KEYS = st.sampled_from(sorted({k for names in SCHEMA.values() for k in names} | set(SCHEMA)))
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=30)
    | st.sampled_from(["-", "..", "/dev/null", "a[", "{x}y", "1e400", "0x1f", ".nan", "~"])
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(KEYS | st.text(), inner, max_size=4)
    ),
    max_leaves=25,
)


@st.composite
def spliced(draw: st.DrawFn) -> str:
    """The valid job with a stretch of it replaced by YAML-ish noise."""
    start = draw(st.integers(0, len(VALID)))
    end = draw(st.integers(start, min(len(VALID), start + 40)))
    return VALID[:start] + draw(st.text(YAMLISH, max_size=40)) + VALID[end:]


@st.composite
def restructured(draw: st.DrawFn) -> str:
    """The valid job with keys set to values of any shape."""
    data = yaml.safe_load(VALID)
    for key, value in draw(st.dictionaries(KEYS, VALUES, max_size=4)).items():
        section = draw(st.sampled_from([None, "source", "fetch", "output"]))
        target = data.setdefault(section, {}) if section else data
        if isinstance(target, dict):
            target[key] = value
    return yaml.safe_dump(data, allow_unicode=True)


JOB_TEXTS = spliced() | restructured() | st.text(YAMLISH, max_size=300)


def read(job_text: str, files: dict[str, bytes] | None = None) -> tuple[int, str]:
    """Read a job file and its ids as `run` does before any request (offline: `plan` now asks
    einfo), failures turned into a line and a code by the CLI's own boundary."""
    with tempfile.TemporaryDirectory() as folder:
        job = Path(folder) / "job.yaml"
        job.write_text(job_text, encoding="utf-8", errors="surrogatepass")
        for name, data in (files or {}).items():
            (Path(folder) / name).write_bytes(data)
        with bounded():
            try:
                loaded = load_job(job)
                if loaded.source.term is None:
                    load_source_ids(loaded.source, job_file=loaded.job_file)
            except Exception as exc:  # as cli.main does
                failure = describe(exc, None, ["run", str(job)])
                return failure.exit_code, f"harvester: error: {failure.message}\n"
        return 0, ""


def check(code: int, err: str) -> None:
    assert "Traceback" not in err, err
    assert code in DOCUMENTED, err
    assert code == 0 or (err.startswith("harvester: error: ") and err.count("\n") == 1), err


@given(JOB_TEXTS)
def test_no_job_file_ends_in_a_traceback(text: str) -> None:
    check(*read(text))


ID_LINES = st.lists(
    st.integers(-5, 2**70).map(str)
    | st.text(max_size=25)
    | st.sampled_from(["", "# comment", "3718 # gene", "0", "00012", "1,2", "\ufeff42", "١٢"]),
    max_size=30,
)


@given(
    ID_LINES,
    st.sampled_from(["\n", "\r\n", "\r"]),
    st.sampled_from([None, "id", "gene id"]),
    st.binary(max_size=8),
)
def test_no_id_file_ends_in_a_traceback(
    lines: list[str], newline: str, column: str | None, junk: bytes
) -> None:
    header = [column] if column else []
    data = newline.join(header + lines).encode("utf-8", "surrogatepass") + junk
    source = f"{{file: ids.csv, column: '{column}'}}" if column else "{file: ids.txt}"
    job = VALID.replace("{\n  ids: [3718, 7157]", "").replace(
        "source:\n  ids: [3718, 7157]", f"source: {source}"
    )
    check(*read(job, {"ids.csv" if column else "ids.txt": data}))
