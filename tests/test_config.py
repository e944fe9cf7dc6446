"""Job files: the documented format loads into one frozen JobConfig, and every mistake is one
line naming FILE:LINE, never a traceback."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path

import pytest

from harvester.config import FetchSpec, JobConfig, OutputSpec, job_from_mapping, load_job
from harvester.errors import ConfigError, InputError
from harvester.workflow.sources import load_source_ids

JOBS = Path(__file__).resolve().parents[1] / "configs" / "jobs"

MINIMAL = """\
source:
  ids: [3718, 7157]
dbfrom: gene
db: snp
output:
  path: out/jak3.jsonl
"""


def write(tmp_path: Path, text: str, name: str = "job.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def fails(tmp_path: Path, text: str, exc: type[Exception] = ConfigError) -> str:
    """The message `text` fails with, relative to its file name; asserts it is one line."""
    path = write(tmp_path, text)
    with pytest.raises(exc) as info:
        load_job(path)
    message = str(info.value)
    assert "\n" not in message
    assert "Traceback" not in message
    return message.replace(str(path), "job.yaml")


def test_minimal_job_gets_the_documented_defaults(tmp_path: Path) -> None:
    job = load_job(write(tmp_path, MINIMAL, "jak3.yaml"))
    assert job.name == "jak3"
    assert job.source.ids == ("3718", "7157")
    assert job.source.id_lines == (2, 2)
    assert (job.dbfrom, job.db, job.linknames, job.cmd) == (
        "gene",
        "snp",
        ("gene_snp",),
        "neighbor",
    )
    assert job.fetch == FetchSpec("efetch", None, "xml", None, 500)
    assert job.elink_batch == 100 and job.fields == ()
    assert job.output == OutputSpec(tmp_path / "out/jak3.jsonl", "jsonl")
    assert (job.endpoint, job.policy, job.rate, job.concurrency) == ("ncbi", "ncbi", None, 64)
    assert (job.api_key_env, job.tool) == ("NCBI_API_KEY", "harvester")
    assert job.job_dir == tmp_path / "out/jak3.jsonl.harvest"
    assert job.job_file == tmp_path / "jak3.yaml"


def test_config_objects_are_frozen(tmp_path: Path) -> None:
    job = load_job(write(tmp_path, MINIMAL))
    with pytest.raises(dataclasses.FrozenInstanceError):
        job.db = "pubmed"  # type: ignore[misc]


def test_every_documented_key_is_read(tmp_path: Path) -> None:
    job = load_job(
        write(
            tmp_path,
            """\
            name: full
            source:
              term: "JAK3[GENE] AND 9606[TAX_ID]"
            dbfrom: gene
            db: snp
            linkname: [gene_snp]
            cmd: neighbor_score
            fetch: {via: esummary, retmode: json, version: 2.0, page_size: 500}
            elink_batch: 500
            fields: {SNP_ID: SNP_ID, GENE: GENES/GENE_E/NAME}
            output: {path: x.dat, format: parquet}
            endpoint: http://127.0.0.1:8080/entrez/eutils
            policy: custom
            rate: 20
            api_key_env: MY_KEY
            email: me@example.org
            tool: mytool
            concurrency: 64
            job_dir: somewhere
            """,
        )
    )
    assert job.source.term == "JAK3[GENE] AND 9606[TAX_ID]"
    assert job.cmd == "neighbor_score"
    assert job.fetch == FetchSpec("esummary", None, "json", "2.0", 500, page_size_set=True)
    assert job.fields == (("SNP_ID", "SNP_ID"), ("GENE", "GENES/GENE_E/NAME"))
    assert job.output == OutputSpec(tmp_path / "x.dat", "parquet")
    assert job.endpoint == "http://127.0.0.1:8080/entrez/eutils/"
    assert (job.policy, job.rate, job.concurrency) == ("custom", 20.0, 64)
    assert (job.api_key_env, job.email, job.tool) == ("MY_KEY", "me@example.org", "mytool")
    assert job.job_dir == tmp_path / "somewhere"


@pytest.mark.parametrize(
    ("suffix", "fmt"),
    [(".json", "json"), (".ndjson", "jsonl"), (".TSV", "tsv"), (".csv", "csv")],
)
def test_output_format_follows_the_path_suffix(tmp_path: Path, suffix: str, fmt: str) -> None:
    job = load_job(write(tmp_path, MINIMAL.replace(".jsonl", suffix)))
    assert job.output.format == fmt


def test_every_relative_path_resolves_beside_the_job_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = MINIMAL.replace("ids: [3718, 7157]", "file: genes.txt") + "job_dir: state\n"
    monkeypatch.chdir(tmp_path.parent)  # not the job file's folder
    job = load_job(write(tmp_path, text))
    assert job.source.file == tmp_path / "genes.txt"
    assert job.output.path == tmp_path / "out/jak3.jsonl"
    assert job.job_dir == tmp_path / "state"


def test_path_overrides_resolve_against_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "jobs").mkdir()
    job_file = write(tmp_path / "jobs", MINIMAL)
    monkeypatch.chdir(tmp_path)
    job = load_job(job_file, {"output.path": "here.tsv", "job_dir": "st"})
    assert job.output == OutputSpec(tmp_path / "here.tsv", "tsv")
    assert job.job_dir == tmp_path / "st"


def test_inline_ids_keep_their_text(tmp_path: Path) -> None:
    job = load_job(write(tmp_path, MINIMAL.replace("[3718, 7157]", "[0672, '7157']")))
    assert job.source.ids == ("0672", "7157")  # not octal 442
    with pytest.raises(InputError, match=r":2: source id '1e3' is not a numeric id$"):
        load_job(write(tmp_path, MINIMAL.replace("[3718, 7157]", "[0672, 1e3]")))  # not 1000.0


def test_email_defaults_to_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NCBI_EMAIL", "lab@example.org")
    assert load_job(write(tmp_path, MINIMAL)).email == "lab@example.org"
    monkeypatch.delenv("NCBI_EMAIL")
    assert load_job(write(tmp_path, MINIMAL)).email is None


def test_api_key_comes_from_the_named_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = load_job(write(tmp_path, MINIMAL + "api_key_env: LAB_KEY\n"))
    monkeypatch.delenv("LAB_KEY", raising=False)
    assert job.api_key() is None
    monkeypatch.setenv("LAB_KEY", "")
    assert job.api_key() is None
    monkeypatch.setenv("LAB_KEY", "k" * 36)
    assert job.api_key() == "k" * 36
    assert "k" * 36 not in repr(job)


def test_yaml_anchors_and_merge_keys_work(tmp_path: Path) -> None:
    text = MINIMAL + "fetch:\n  <<: {page_size: 200}\n  via: efetch\n"
    assert load_job(write(tmp_path, text)).fetch.page_size == 200


# --- errors: one line, FILE:LINE, a hint ---------------------------------------------------


def test_missing_job_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^job file not found: .*nope\.yaml$"):
        load_job(tmp_path / "nope.yaml")


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    text = "dbfrom: gene\ndb: snp\nsource:\n  ids: [1, 2\noutput: {path: x.jsonl}\n"
    assert fails(tmp_path, text) == (
        "job.yaml:5: not valid YAML: expected ',' or ']', but got ':' "
        "(while parsing a flow sequence that starts at line 4)"
    )
    assert fails(tmp_path, "a: 1\n---\nb: 2\n") == (
        "job.yaml:2: not valid YAML: the file holds more than one document (a second '---')"
    )


def test_yaml_tab_indent_gets_a_hint(tmp_path: Path) -> None:
    message = fails(tmp_path, "dbfrom: gene\nsource:\n\tids: [1]\n")
    assert message.startswith("job.yaml:3: not valid YAML: ")
    assert message.endswith("(indent with spaces, not tabs)")


def test_empty_and_non_mapping_files(tmp_path: Path) -> None:
    assert fails(tmp_path, "# nothing\n") == "job.yaml: the file is empty"
    assert fails(tmp_path, "- a\n- b\n") == (
        "job.yaml:1: the file must be a mapping of keys, got a list"
    )


def test_unknown_top_level_key_suggests_the_near_miss(tmp_path: Path) -> None:
    text = MINIMAL + "fetc:\n  page_size: 10\n"
    assert fails(tmp_path, text) == "job.yaml:7: unknown key 'fetc' (did you mean 'fetch'?)"


def test_unknown_nested_key_suggests_the_near_miss(tmp_path: Path) -> None:
    text = MINIMAL + "fetch:\n  via: efetch\n  pagesize: 10\n"
    assert fails(tmp_path, text) == (
        "job.yaml:9: unknown key 'fetch.pagesize' (did you mean 'fetch.page_size'?)"
    )


def test_unknown_key_suggests_aliases_and_lists_known_keys(tmp_path: Path) -> None:
    text = MINIMAL + "fetch:\n  retmax: 10\n"
    assert fails(tmp_path, text) == (
        "job.yaml:8: unknown key 'fetch.retmax' (did you mean 'fetch.page_size'?)"
    )
    assert fails(tmp_path, "term: x\n" + MINIMAL) == (
        "job.yaml:1: unknown key 'term' (did you mean 'source.term'?)"
    )
    assert fails(tmp_path, MINIMAL + "output2x: 1\n").startswith(
        "job.yaml:7: unknown key 'output2x' (did you mean 'output'?)"
    )
    assert fails(tmp_path, MINIMAL + "zzz: 1\n") == (
        "job.yaml:7: unknown key 'zzz' (known: name, source, dbfrom, db, linkname, cmd, fetch, "
        "elink_batch, fields, output, endpoint, policy, rate, api_key_env, email, tool, "
        "concurrency, job_dir, cache, cache_max_age, cache_max_mb)"
    )


def test_duplicate_key(tmp_path: Path) -> None:
    assert fails(tmp_path, MINIMAL + "db: pubmed\n") == (
        "job.yaml:7: duplicate key 'db' (first at line 4)"
    )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            "fetch:\n  page_size: big\n",
            "job.yaml:8: 'fetch.page_size' must be an integer, got 'big'",
        ),
        ("elink_batch: 1.5\n", "job.yaml:7: 'elink_batch' must be an integer, got 1.5"),
        ("concurrency: true\n", "job.yaml:7: 'concurrency' must be an integer, got true"),
        ("linkname: 3\n", "job.yaml:7: 'linkname' must be a string or a list of strings, got 3"),
        ("fetch: 3\n", "job.yaml:7: 'fetch' must be a mapping, got 3"),
        ("fields: [a, b]\n", "job.yaml:7: 'fields' must be a mapping of name: path, got a list"),
        (
            "fields:\n  GENE: 3\n",
            "job.yaml:8: 'fields.GENE' must be a path like 'GENES/GENE_E/NAME', got 3",
        ),
        ("tool: [a]\n", "job.yaml:7: 'tool' must be a string, got a list"),
        (
            "rate: fast\npolicy: custom\n",
            "job.yaml:7: 'rate' must be a positive number of requests/s, got 'fast'",
        ),
        ("name: ''\n", "job.yaml:7: 'name' is empty"),
    ],
)
def test_wrong_types_name_key_line_and_value(tmp_path: Path, extra: str, message: str) -> None:
    assert fails(tmp_path, MINIMAL + extra) == message


@pytest.mark.parametrize(
    ("drop", "message"),
    [
        ("dbfrom: gene\n", "job.yaml: missing required key 'dbfrom'"),
        ("db: snp\n", "job.yaml: missing required key 'db'"),
        ("source:\n  ids: [3718, 7157]\n", "job.yaml: missing required key 'source'"),
        ("  path: out/jak3.jsonl\n", "job.yaml:5: missing required key 'output.path'"),
    ],
)
def test_missing_required_keys(tmp_path: Path, drop: str, message: str) -> None:
    text = MINIMAL.replace(drop, "")
    if drop.startswith("  path"):
        text += "  format: jsonl\n"
    assert fails(tmp_path, text) == message


def test_required_key_without_value(tmp_path: Path) -> None:
    assert fails(tmp_path, MINIMAL.replace("db: snp", "db:")) == "job.yaml:4: 'db' needs a value"


def test_db_names_are_checked_for_form_only(tmp_path: Path) -> None:
    """Whether NCBI has a database is einfo's call (test_names.py); the file checks its form."""
    assert fails(tmp_path, MINIMAL.replace("db: snp", "db: SNP")) == (
        "job.yaml:4: db 'SNP' is not a database name (lower-case letters and digits)"
    )
    esummary = MINIMAL + "fetch: {via: esummary}\n"
    job = load_job(write(tmp_path, esummary.replace("db: snp", "db: clinvar")))
    assert (job.db, job.linknames) == ("clinvar", ("gene_clinvar",))


def test_nucleotide_is_ncbis_alias_of_nuccore(tmp_path: Path) -> None:
    text = MINIMAL.replace("db: snp", "db: nucleotide")
    job = load_job(write(tmp_path, text + "fetch: {rettype: gb}\n"))
    assert (job.db, job.linknames) == ("nuccore", ("gene_nuccore",))


def test_a_db_typo_names_the_db_line_and_the_right_name_not_esummary(tmp_path: Path) -> None:
    assert fails(tmp_path, MINIMAL.replace("db: snp", "db: snps")) == (
        "job.yaml:4: unknown db 'snps' (did you mean 'snp'?)"
    )


@pytest.mark.parametrize(
    ("linkname", "message"),
    [
        (
            "gene-snp",
            "job.yaml:7: link name 'gene-snp' is not of NCBI's form gene_DB or gene_DB_SUBSET",
        ),
        ("snp_gene", "job.yaml:7: link name 'snp_gene' does not start from gene (gene_...)"),
        (
            "[gene_snp, snp_gene]",
            "job.yaml:7: link name 'snp_gene' does not start from gene (gene_...)",
        ),
    ],
)
def test_link_names_are_checked_for_form_only(tmp_path: Path, linkname: str, message: str) -> None:
    assert fails(tmp_path, MINIMAL + f"linkname: {linkname}\n") == message


def test_several_link_names_and_all(tmp_path: Path) -> None:
    text = MINIMAL.replace("dbfrom: gene", "dbfrom: pubmed").replace("db: snp", "db: pubmed")
    text += "linkname:\n  - pubmed_pubmed_citedin\n  - pubmed_pubmed_refs\n"
    job = load_job(write(tmp_path, text))
    assert job.linknames == ("pubmed_pubmed_citedin", "pubmed_pubmed_refs")
    assert job.at("linkname[1]") == f"{tmp_path / 'job.yaml'}:9"
    assert job.elink_linkname is None  # elink is asked for every name to db, then filtered
    assert load_job(write(tmp_path, MINIMAL)).elink_linkname == "gene_snp"
    job = load_job(write(tmp_path, MINIMAL + "linkname: all\n"))
    assert job.linknames == ()


def test_link_name_listed_twice(tmp_path: Path) -> None:
    assert fails(tmp_path, MINIMAL + "linkname: [gene_snp, gene_snp]\n") == (
        "job.yaml:7: link name 'gene_snp' is listed twice"
    )


def test_page_size_above_the_databases_cap(tmp_path: Path) -> None:
    assert fails(tmp_path, MINIMAL + "fetch:\n  page_size: 20000\n") == (
        "job.yaml:8: fetch.page_size 20000 is above the cap of 10000 for snp efetch"
    )
    text = MINIMAL + "fetch:\n  via: esummary\n  retmode: json\n  page_size: 501\n"
    assert fails(tmp_path, text) == (
        "job.yaml:10: fetch.page_size 501 is above the cap of 500 for snp esummary JSON"
    )
    assert fails(tmp_path, MINIMAL + "fetch:\n  page_size: 0\n") == (
        "job.yaml:8: fetch.page_size must be at least 1, got 0"
    )


def test_fetch_format_checks(tmp_path: Path) -> None:
    assert fails(tmp_path, MINIMAL + "fetch:\n  via: esearch\n") == (
        "job.yaml:8: fetch.via 'esearch' must be 'efetch' or 'esummary'"
    )
    assert fails(tmp_path, MINIMAL + "fetch:\n  rettype: fasta\n") == (
        "job.yaml:8: efetch of snp with rettype fasta, retmode xml gives no records the "
        "harvester reads (rettype/retmode for snp: docsum/null, docsum/xml, null/null, "
        "null/xml, xml/null, xml/xml)"
    )
    mesh = MINIMAL.replace("dbfrom: gene", "dbfrom: pubmed").replace("db: snp", "db: mesh")
    assert fails(tmp_path, mesh) == (
        "job.yaml:4: the harvester reads no efetch records of mesh; set fetch.via: esummary "
        "(it reads efetch of gene, nuccore, protein, pubmed, snp, taxonomy)"
    )
    assert fails(tmp_path, MINIMAL + "fetch:\n  version: '2.0'\n") == (
        "job.yaml:8: fetch.version applies only to esummary, not efetch"
    )
    text = MINIMAL + "fetch:\n  via: esummary\n  retmode: text\n"
    assert fails(tmp_path, text) == "job.yaml:9: fetch.retmode 'text' must be 'xml' or 'json'"
    text = MINIMAL + "fetch:\n  via: esummary\n  version: 3\n"
    assert fails(tmp_path, text) == "job.yaml:9: fetch.version '3' must be '1.0' or '2.0'"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            "endpoint: ftp://x\n",
            "job.yaml:7: endpoint 'ftp://x' must be 'ncbi', 'embedded', 'embedded:DATASET' or "
            "an http(s) URL",
        ),
        (
            "endpoint: http://h/entrez/eutils/esearch.fcgi\n",
            "job.yaml:7: endpoint 'http://h/entrez/eutils/esearch.fcgi' must be the E-utilities "
            "base (…/eutils/)",
        ),
        ("cmd: acheck\n", "job.yaml:7: cmd 'acheck' must be 'neighbor' or 'neighbor_score'"),
        ("concurrency: 0\n", "job.yaml:7: concurrency must be 1..256, got 0"),
        ("concurrency: 257\n", "job.yaml:7: concurrency must be 1..256, got 257"),
        ("elink_batch: 501\n", "job.yaml:7: elink_batch must be 1..500, got 501"),
        ("policy: fast\n", "job.yaml:7: policy 'fast' must be 'ncbi', 'ncbi-2007' or 'custom'"),
        ("policy: custom\n", "job.yaml:7: policy 'custom' needs 'rate' (requests per second)"),
        (
            "rate: 5\n",
            "job.yaml:7: 'rate' is set but policy is 'ncbi'; set policy: custom to use it",
        ),
        (
            "policy: custom\nrate: 0\n",
            "job.yaml:8: 'rate' must be a positive number of requests/s, got 0",
        ),
        ("tool: my tool\n", "job.yaml:7: tool 'my tool' must be one word (NCBI logs it)"),
        ("email: nobody\n", "job.yaml:7: email 'nobody' does not look like an email address"),
    ],
)
def test_bad_values(tmp_path: Path, extra: str, message: str) -> None:
    assert fails(tmp_path, MINIMAL + extra) == message


def test_output_format_checks(tmp_path: Path) -> None:
    text = MINIMAL + "  format: xlsx\n"
    assert fails(tmp_path, text) == (
        "job.yaml:7: output.format 'xlsx' must be 'jsonl', 'json', 'tsv', 'csv' or 'parquet'"
    )
    assert fails(tmp_path, MINIMAL.replace(".jsonl", ".txt")) == (
        "job.yaml:6: the harvester does not write .txt files: name the output .jsonl, .json, "
        ".tsv, .csv, .parquet (a spreadsheet opens .csv and .tsv), or set output.format"
    )
    assert fails(tmp_path, MINIMAL.replace("out/jak3.jsonl", "out/jak3")) == (
        "job.yaml:6: cannot tell the format of 'out/jak3'; set output.format "
        "(jsonl, json, tsv, csv, parquet)"
    )


def test_api_key_in_the_file_is_refused_without_echoing_it(tmp_path: Path) -> None:
    secret = "0123456789abcdef0123456789abcdef0123"
    message = fails(tmp_path, MINIMAL + f"api_key: {secret}\n")
    assert message == (
        "job.yaml:7: 'api_key' does not belong in a job file; set the NCBI_API_KEY environment "
        "variable instead (api_key_env names the variable)"
    )
    message = fails(tmp_path, MINIMAL + f"api_key_env: {secret}\n")
    assert secret not in message
    assert message == (
        "job.yaml:7: api_key_env must be the NAME of an environment variable "
        "(like NCBI_API_KEY), not the key"
    )


def test_source_needs_exactly_one_kind(tmp_path: Path) -> None:
    none = MINIMAL.replace("  ids: [3718, 7157]\n", "  column: x\n")
    assert fails(tmp_path, none) == "job.yaml:1: source needs one of 'ids', 'file' or 'term'"
    two = MINIMAL.replace("  ids: [3718, 7157]\n", "  ids: [1]\n  term: JAK3\n")
    assert fails(tmp_path, two) == (
        "job.yaml:3: source has both 'ids' and 'term'; give exactly one of ids, file or term"
    )
    column = MINIMAL.replace("  ids: [3718, 7157]\n", "  ids: [1]\n  column: gene_id\n")
    assert fails(tmp_path, column) == (
        "job.yaml:3: 'source.column' needs 'source.file' (a CSV file of ids)"
    )
    scalar = MINIMAL.replace("[3718, 7157]", "3718")
    assert fails(tmp_path, scalar) == "job.yaml:2: 'source.ids' must be a list of ids, got 3718"
    nested = MINIMAL.replace("[3718, 7157]", "[3718, [1]]")
    assert fails(tmp_path, nested) == "job.yaml:2: 'source.ids[1]' must be an id, got a list"


def test_bad_inline_ids_are_input_errors_at_their_line(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL.replace("[3718, 7157]", "\n    - 3718\n    - abc"))
    with pytest.raises(InputError) as info:  # at load time, before any harvest
        load_job(path)
    assert str(info.value) == f"{tmp_path / 'job.yaml'}:4: source id 'abc' is not a numeric id"


# --- overrides -----------------------------------------------------------------------------


def test_overrides_win_over_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "endpoint: ncbi\n")
    job = load_job(
        path,
        {
            "output.path": "x.tsv",
            "endpoint": "embedded",
            "fetch.page_size": 200,
            "concurrency": "4",
            "policy": "custom",
            "rate": 50.0,
        },
    )
    assert job.output == OutputSpec(Path.cwd() / "x.tsv", "tsv")
    assert job.job_dir == Path.cwd() / "x.tsv.harvest"
    assert (job.endpoint, job.fetch.page_size, job.concurrency) == ("embedded", 200, 4)
    assert (job.policy, job.rate) == ("custom", 50.0)


def test_output_path_override_rederives_an_explicit_format(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "  format: jsonl\n")
    assert load_job(path, {"output.path": "x.csv"}).output.format == "csv"
    assert load_job(path, {"output.path": "x.out"}).output.format == "jsonl"


def test_source_override_replaces_the_files_source(tmp_path: Path) -> None:
    job = load_job(write(tmp_path, MINIMAL), {"source.term": "JAK3[GENE]"})
    assert (job.source.ids, job.source.term) == ((), "JAK3[GENE]")


def test_unknown_override_key(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL)
    with pytest.raises(ConfigError) as info:
        load_job(path, {"fetch.pagesize": 10})
    assert str(info.value) == "unknown override 'fetch.pagesize' (did you mean 'fetch.page_size'?)"
    with pytest.raises(ConfigError, match=r"^unknown override 'fetch'"):
        load_job(path, {"fetch": {"page_size": 10}})
    with pytest.raises(ConfigError, match=r"^'api_key' does not belong in a job file"):
        load_job(path, {"api_key": "secret"})


def test_bad_override_value_has_no_line(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "fetch:\n  page_size: 100\n")
    with pytest.raises(ConfigError) as info:
        load_job(path, {"fetch.page_size": 20000})
    assert str(info.value) == (
        f"{path}: fetch.page_size 20000 is above the cap of 10000 for snp efetch"
    )


# --- Python mappings and the semantic hash -------------------------------------------------


def base_mapping() -> dict[str, object]:
    return {
        "source": {"ids": [3718, "7157"]},
        "dbfrom": "gene",
        "db": "snp",
        "fields": {"SNP_ID": "SNP_ID"},
        "output": {"path": "out.jsonl"},
    }


def test_job_from_mapping_validates_the_same_way(tmp_path: Path) -> None:
    job = job_from_mapping(base_mapping(), base_dir=tmp_path)
    assert job.source.ids == ("3718", "7157") and job.source.id_lines == (0, 0)
    assert job.name == "job" and job.job_file is None
    with pytest.raises(ConfigError) as info:
        job_from_mapping({**base_mapping(), "fetc": {}}, base_dir=tmp_path)
    assert str(info.value) == "job: unknown key 'fetc' (did you mean 'fetch'?)"
    file_job = job_from_mapping({**base_mapping(), "source": {"file": "g.txt"}}, base_dir=tmp_path)
    assert file_job.source.file == tmp_path / "g.txt"


def hash_of(tmp_path: Path, **changes: object) -> str:
    data = base_mapping()
    for key, value in changes.items():
        data[key] = value
    return job_from_mapping(data, base_dir=tmp_path).semantic_hash()


def test_a_rate_above_ncbis_limit_is_refused_against_ncbi(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NCBI_API_KEY", raising=False)
    fast = MINIMAL + "endpoint: ncbi\npolicy: custom\nrate: 50\n"
    assert fails(tmp_path, fast) == (
        "job.yaml:9: rate 50/s is above NCBI's limit of 3/s (without an API key in "
        "NCBI_API_KEY; 10/s with one); for a mirror or an emulator, set endpoint to its URL"
    )
    monkeypatch.setenv("NCBI_API_KEY", "k" * 36)
    assert "limit of 10/s (with one)" in fails(tmp_path, fast)
    assert load_job(write(tmp_path, fast.replace("rate: 50", "rate: 10"))).rate == 10
    mirror = fast.replace("endpoint: ncbi", "endpoint: http://127.0.0.1:8080/eutils/")
    assert load_job(write(tmp_path, mirror)).rate == 50


def test_semantic_hash_ignores_how_and_where(tmp_path: Path) -> None:
    same = hash_of(tmp_path)
    assert len(same) == 64
    for changes in (
        {"output": {"path": "elsewhere.tsv"}},
        {"endpoint": "embedded"},
        {"policy": "custom", "rate": 2},
        {"concurrency": 2},
        {"email": "a@b.org", "tool": "other"},
        {"job_dir": "jobs/x"},
        {"name": "renamed"},
        {"fields": {"SNP_ID": "SNP_ID"}},  # re-derived from the records the store keeps
    ):
        assert hash_of(tmp_path, **changes) == same, changes


def test_semantic_hash_follows_what_decides_the_result(tmp_path: Path) -> None:
    base = hash_of(tmp_path)
    for changes in (
        {"source": {"ids": [3718]}},
        {"fetch": {"page_size": 200}},
        {"fetch": {"via": "esummary"}},
        {"elink_batch": 50},
        {"cmd": "neighbor_score"},
        {"linkname": "gene_snp", "db": "snp", "dbfrom": "gene", "source": {"term": "JAK3"}},
    ):
        assert hash_of(tmp_path, **changes) != base, changes


def test_semantic_hash_reads_the_id_files_content(tmp_path: Path) -> None:
    ids = tmp_path / "g.txt"
    ids.write_text("3718\n")
    first = hash_of(tmp_path, source={"file": "g.txt"})
    ids.write_text("3718\n7157\n")
    assert hash_of(tmp_path, source={"file": "g.txt"}) != first


# --- the example jobs ----------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(JOBS.glob("*.yaml")), ids=lambda p: p.name)
def test_every_example_job_loads(path: Path) -> None:
    job = load_job(path)
    assert isinstance(job, JobConfig)
    if job.source.term is None:
        loaded = load_source_ids(job.source, job_file=job.job_file)
        assert loaded.ids and loaded.warnings == ()
    assert job.semantic_hash()


def test_the_example_jobs_are_the_documented_ones() -> None:
    names = {p.name for p in JOBS.glob("*.yaml")}
    assert {"jak3_snps.yaml", "demo_genes_snps.yaml", "bulk_gene_snp.yaml"} <= names
    bulk = load_job(JOBS / "bulk_gene_snp.yaml")
    assert len(load_source_ids(bulk.source, job_file=bulk.job_file).ids) == 1000
    assert load_job(JOBS / "jak3_snps.yaml").endpoint == "embedded"
