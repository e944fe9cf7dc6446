"""Source ids: inline or from id/CSV files, checked cheaply, merged when duplicated, and every
problem reported as one line naming FILE:LINE."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from harvester.config import SourceSpec, load_job
from harvester.errors import InputError
from harvester.workflow.sources import SourceIds, load_source_ids, validate_ids

JOB = """\
source:
  ids:
{items}
dbfrom: gene
db: snp
output:
  path: out.jsonl
"""


def inline(tmp_path: Path, *items: str) -> SourceIds:
    """Load `items` as YAML list entries of a job file (the first on line 3)."""
    lines = "\n".join(f"    - {item}" if item else "    -" for item in items)
    path = tmp_path / "job.yaml"
    path.write_text(JOB.format(items=lines))
    job = load_job(path)
    return load_source_ids(job.source, job_file=job.job_file)


def inline_error(tmp_path: Path, *items: str) -> str:
    with pytest.raises(InputError) as info:
        inline(tmp_path, *items)
    message = str(info.value)
    assert "\n" not in message
    return message.replace(str(tmp_path / "job.yaml"), "job.yaml")


def from_file(tmp_path: Path, name: str, text: str, column: str | None = None) -> SourceIds:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return load_source_ids(SourceSpec(file=path, column=column), job_file=None)


def file_error(tmp_path: Path, name: str, text: str, column: str | None = None) -> str:
    with pytest.raises(InputError) as info:
        from_file(tmp_path, name, text, column)
    message = str(info.value)
    assert "\n" not in message
    return message.replace(str(tmp_path / name), name)


# --- inline ids ----------------------------------------------------------------------------


def test_inline_ids_in_order_as_text(tmp_path: Path) -> None:
    assert inline(tmp_path, "3718", "'7157'", "0672") == SourceIds(("3718", "7157", "0672"), ())


def test_non_numeric_inline_id(tmp_path: Path) -> None:
    message = inline_error(tmp_path, "3718", "7157", "abc")
    assert message == "job.yaml:5: source id 'abc' is not a numeric id"


def test_negative_inline_id(tmp_path: Path) -> None:
    assert inline_error(tmp_path, "-5") == "job.yaml:3: source id '-5' is negative"


def test_blank_inline_id(tmp_path: Path) -> None:
    assert inline_error(tmp_path, "3718", "") == "job.yaml:4: source id is blank"
    assert inline_error(tmp_path, "3718", "'  '") == "job.yaml:4: source id is blank"


def test_zero_and_float_inline_ids(tmp_path: Path) -> None:
    assert (
        inline_error(tmp_path, "0") == "job.yaml:3: source id '0' is zero (Entrez ids start at 1)"
    )
    assert inline_error(tmp_path, "3718.0") == "job.yaml:3: source id '3718.0' is not a numeric id"


def test_the_first_bad_id_fails_and_counts_the_rest(tmp_path: Path) -> None:
    message = inline_error(tmp_path, "1", "x", "2", "y", "-3")
    assert message == "job.yaml:4: source id 'x' is not a numeric id (and 2 more bad ids)"


def test_empty_inline_list(tmp_path: Path) -> None:
    path = tmp_path / "job.yaml"
    path.write_text(JOB.format(items="").replace("  ids:\n\n", "  ids: []\n"))
    with pytest.raises(InputError) as info:  # at load time, before any harvest
        load_job(path)
    assert str(info.value) == f"{path}:2: the source id list is empty"


def test_duplicates_are_merged_with_one_warning(tmp_path: Path) -> None:
    loaded = inline(tmp_path, "3718", "7157", "3718", "672", "03718", "7157")
    assert loaded.ids == ("3718", "7157", "672")
    warning = loaded.warnings[0].replace(str(tmp_path / "job.yaml"), "job.yaml")
    assert loaded.warnings == (loaded.warnings[0],)
    assert warning == "job.yaml: 3 duplicate source ids merged (first: 3718)"


def test_one_duplicate_is_singular() -> None:
    loaded = validate_ids([("5", "a.txt:1"), ("5", "a.txt:2")])
    assert loaded == SourceIds(("5",), ("a.txt: 1 duplicate source id merged (first: 5)",))


def test_inline_ids_without_a_job_file_name_their_position() -> None:
    with pytest.raises(InputError) as info:
        load_source_ids(SourceSpec(ids=("1", "x")), job_file=None)
    assert str(info.value) == "source.ids[1]: source id 'x' is not a numeric id"


def test_validate_ids_strips_and_checks_ascii_digits() -> None:
    assert validate_ids([(" 12 ", "f:1")]).ids == ("12",)
    with pytest.raises(InputError, match=r"^f:1: source id '٣' is not a numeric id$"):
        validate_ids([("٣", "f:1")])


def test_a_term_source_is_not_loaded_here() -> None:
    with pytest.raises(ValueError, match="esearch"):
        load_source_ids(SourceSpec(term="JAK3[GENE]"), job_file=None)


# --- id files ------------------------------------------------------------------------------


def test_id_file_skips_comments_and_blank_lines(tmp_path: Path) -> None:
    text = """\
        # genes of interest
        3718

        7157   # TP53
          672
        """
    assert from_file(tmp_path, "genes.txt", text) == SourceIds(("3718", "7157", "672"), ())


def test_id_file_errors_name_the_file_line(tmp_path: Path) -> None:
    text = "3718\n\n# c\nBRCA1\n"
    assert file_error(tmp_path, "genes.txt", text) == (
        "genes.txt:4: source id 'BRCA1' is not a numeric id"
    )
    assert (
        file_error(tmp_path, "genes.txt", "3718\n-5\n") == "genes.txt:2: source id '-5' is negative"
    )


def test_a_csv_given_as_a_plain_id_file_gets_a_hint(tmp_path: Path) -> None:
    assert file_error(tmp_path, "genes.txt", "3718,JAK3\n") == (
        "genes.txt:1: source id '3718,JAK3' is not a numeric id; is this a CSV file? "
        "set source.column"
    )


def test_id_file_duplicates_warn_with_the_files_name(tmp_path: Path) -> None:
    loaded = from_file(tmp_path, "genes.txt", "1\n2\n1\n2\n")
    assert loaded.ids == ("1", "2")
    assert loaded.warnings == (
        f"{tmp_path / 'genes.txt'}: 2 duplicate source ids merged (first: 1)",
    )


def test_id_file_with_no_ids(tmp_path: Path) -> None:
    assert file_error(tmp_path, "genes.txt", "# only a comment\n\n") == (
        "genes.txt: the id file holds no ids"
    )


def test_missing_id_file_shows_where_it_was_looked_for(tmp_path: Path) -> None:
    job = tmp_path / "job.yaml"
    job.write_text(JOB.format(items="").replace("  ids:\n\n", "  file: genes.txt\n"))
    config = load_job(job)
    with pytest.raises(InputError) as info:
        load_source_ids(config.source, job_file=config.job_file)
    expected = tmp_path / "genes.txt"
    assert str(info.value) == f"{expected}: id file not found (resolved to {expected.resolve()})"


def test_unreadable_id_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "genes.txt"
    path.write_text("1\n")

    def refuse(self: Path, *args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "open", refuse)
    with pytest.raises(InputError) as info:
        load_source_ids(SourceSpec(file=path), job_file=None)
    assert str(info.value) == f"{path}: the id file is not readable (permission denied)"


def test_id_file_that_is_a_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        load_source_ids(SourceSpec(file=tmp_path), job_file=None)
    assert str(info.value) == f"{tmp_path}: the id file is a folder"


def test_id_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "genes.txt"
    path.write_bytes(b"3718\n7157\n\xff\xfe\x00\n")
    with pytest.raises(InputError) as info:
        load_source_ids(SourceSpec(file=path), job_file=None)
    assert str(info.value).startswith(f"{path}:")
    assert str(info.value).endswith("the id file is not UTF-8 text")


def test_a_million_line_id_file_loads_every_id_in_order(tmp_path: Path) -> None:
    # its speed is machine-dependent: benchmarks/source_ids.py measures it
    path = tmp_path / "big.txt"
    path.write_text("".join(f"{n}\n" for n in range(1, 1_000_001)))
    loaded = load_source_ids(SourceSpec(file=path), job_file=None)
    assert len(loaded.ids) == 1_000_000 and loaded.ids[-1] == "1000000"


# --- CSV / TSV columns ---------------------------------------------------------------------


def test_csv_column(tmp_path: Path) -> None:
    text = """\
        symbol,gene_id
        JAK3,3718
        "TP53, tumor protein",7157

        BRCA1,672
        """
    loaded = from_file(tmp_path, "genes.csv", text, column="gene_id")
    assert loaded == SourceIds(("3718", "7157", "672"), ())


def test_tsv_by_suffix_and_a_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "genes.tab"
    path.write_bytes("\ufeffgene_id\tsymbol\n3718\tJAK3\n".encode())
    loaded = load_source_ids(SourceSpec(file=path, column="gene_id"), job_file=None)
    assert loaded.ids == ("3718",)


def test_csv_without_the_column(tmp_path: Path) -> None:
    assert file_error(tmp_path, "genes.csv", "a,b\n1,2\n", column="gene_id") == (
        "genes.csv:1: no column 'gene_id' (columns: a, b)"
    )
    assert file_error(tmp_path, "genes.csv", "Gene_ID,b\n1,2\n", column="gene_id") == (
        "genes.csv:1: no column 'gene_id' (columns: Gene_ID, b); did you mean 'Gene_ID'?"
    )


def test_csv_blank_cell_names_its_line(tmp_path: Path) -> None:
    text = "symbol,gene_id\nJAK3,3718\nTP53,\nBRCA1\n"
    assert file_error(tmp_path, "genes.csv", text, column="gene_id") == (
        "genes.csv:3: source id is blank (and 1 more bad ids)"
    )


def test_csv_bad_cell_and_empty_file(tmp_path: Path) -> None:
    text = "gene_id\n3718\nJAK3\n"
    assert file_error(tmp_path, "genes.csv", text, column="gene_id") == (
        "genes.csv:3: source id 'JAK3' is not a numeric id"
    )
    assert file_error(tmp_path, "genes.csv", "", column="gene_id") == (
        "genes.csv: the file is empty (expected a header with 'gene_id')"
    )
    assert file_error(tmp_path, "genes.csv", "gene_id\n", column="gene_id") == (
        "genes.csv: column 'gene_id' of the id file holds no ids"
    )
