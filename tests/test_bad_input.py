"""The bad-input table: every mistake a user can make ends in one line naming the problem
(FILE:LINE for the job file), the exit code the README documents, no traceback and no output."""

from __future__ import annotations

import http.server
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from harvester import errors
from harvester.cli import main
from harvester.emulator.config import EmulatorConfig
from harvester.emulator.server import EmulatorThread

ROOT = Path(__file__).resolve().parents[1]
JOB = """\
source:
  ids: [3718, 7157]
dbfrom: gene
db: snp
linkname: gene_snp
fields: {SNP_ID: SNP_ID, CHRPOS: CHRPOS}
output: {path: OUT}
endpoint: embedded
policy: custom
rate: 500
"""
Edit = Callable[[str, Path], str]
LAUGHS = """\
extra:
  a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]
  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
  c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
  d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
  e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
  f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
  g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
  h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
  i: [*h, *h, *h, *h, *h, *h, *h, *h, *h]
"""


def replace(old: str, new: str) -> Edit:
    return lambda text, _tmp: text.replace(old, new)


def id_file(content: bytes | None) -> Edit:
    """Source ids from ids.txt: written with `content`, made a folder when None."""

    def edit(text: str, tmp: Path) -> str:
        if content is None:
            (tmp / "ids.txt").mkdir()
        else:
            (tmp / "ids.txt").write_bytes(content)
        return text.replace("ids: [3718, 7157]", "file: ids.txt")

    return edit


# (case, edit of the job file, exit code, the message after "harvester: error: ")
CASES: list[tuple[str, Edit, int, str]] = [
    (
        "yaml syntax",
        replace("dbfrom: gene", "dbfrom: [gene"),
        2,
        r"job\.yaml:4: not valid YAML: expected ',' or '\]'",
    ),
    ("unknown key", lambda t, _: t + "colour: red\n", 2, r"job\.yaml:11: unknown key 'colour'"),
    (
        "wrong type",
        lambda t, _: t + "concurrency: lots\n",
        2,
        r"job\.yaml:11: 'concurrency' must be an integer, got 'lots'",
    ),
    (
        "missing field",
        replace("dbfrom: gene\n", ""),
        2,
        r"job\.yaml: missing required key 'dbfrom'",
    ),
    (
        "db with a typo",
        replace("db: snp", "db: snps"),
        2,
        r"job\.yaml:4: unknown db 'snps' \(did you mean 'snp'\?\)$",
    ),
    (
        "link name einfo does not list",
        replace("linkname: gene_snp", "linkname: gene_snps"),
        2,
        r"job\.yaml:5: the endpoint's einfo lists no link name 'gene_snps' from gene \(did you",
    ),
    (
        "link name",
        replace("gene_snp", "gene_pubmed"),
        2,
        r"job\.yaml:5: link name 'gene_pubmed' links gene to pubmed, not to snp; its link names ",
    ),
    (
        "endpoint",
        replace("embedded", "ftp://example.org/eutils/"),
        2,
        r"job\.yaml:8: endpoint 'ftp://example\.org/eutils/' must be .* an http\(s\) URL",
    ),
    (
        "page size",
        lambda t, _: t + "fetch: {page_size: 20000}\n",
        2,
        r"job\.yaml:11: fetch\.page_size 20000 is above the cap of 10000 for snp efetch",
    ),
    (
        "non-numeric id",
        replace("3718, 7157", "3718, abc"),
        3,
        r"job\.yaml:2: source id 'abc' is not a numeric id",
    ),
    (
        "negative id",
        replace("3718, 7157", "3718, -5"),
        3,
        r"job\.yaml:2: source id '-5' is negative",
    ),
    (
        "blank id",
        replace("ids: [3718, 7157]", "ids:\n    - 3718\n    - ''"),
        3,
        r"job\.yaml:4: source id is blank",
    ),
    ("empty ids", replace("[3718, 7157]", "[]"), 3, r"job\.yaml:2: the source id list is empty"),
    (
        "id file missing",
        replace("ids: [3718, 7157]", "file: nothere.txt"),
        3,
        r"nothere\.txt: id file not found",
    ),
    ("id file is a folder", id_file(None), 3, r"ids\.txt: (the id file is a folder|cannot read)"),
    ("id file not text", id_file(b"3718\n\xff\xfe\n"), 3, r"ids\.txt:2: the id file is not UTF-8"),
    (
        "output not writable",
        lambda t, tmp: t.replace("out.jsonl", "afile.txt/out.jsonl"),
        3,
        r"cannot write the output .*afile\.txt/out\.jsonl: .*afile\.txt is a file, not a folder",
    ),
    (
        "yaml aliases (a billion laughs under an unknown key)",
        lambda t, _: t + LAUGHS,
        2,
        r"job\.yaml:12: YAML anchors and aliases \('&name', '\*name'\) are not allowed",
    ),
    (
        "yaml nested 5,000 levels",
        lambda t, _: t + "deep: " + "[" * 5000 + "]" * 5000 + "\n",
        2,
        r"job\.yaml:11: nested deeper than 32 levels",
    ),
    (
        "yaml block-nested 5,000 levels",
        lambda t, _: t + "deep:\n  " + "- " * 5000 + "x\n",
        2,
        r"job\.yaml:12: nested deeper than 32 levels",
    ),
    (
        "job file over 4 MiB",
        lambda t, _: t + "# " + "x" * (4 << 20) + "\n",
        2,
        r"job\.yaml: the job file is larger than 4 MiB",
    ),
    ("rate .nan", replace("rate: 500", "rate: .nan"), 2, r"job\.yaml:10: 'rate' must be at most"),
    ("rate .inf", replace("rate: 500", "rate: .inf"), 2, r"job\.yaml:10: 'rate' must be at most"),
    (
        "endpoint with a broken IPv6 host",
        replace("embedded", '"http://[::1"'),
        2,
        r"job\.yaml:8: endpoint 'http://\[::1' is not a valid URL",
    ),
    (
        "field path the extractor cannot follow",
        replace("CHRPOS: CHRPOS", "CHRPOS: 'CHRPOS['"),
        2,
        r"job\.yaml:6: 'fields\.CHRPOS' 'CHRPOS\[' is not a path the harvester can follow",
    ),
    (
        "id of 2**63",
        replace("3718, 7157", f"3718, {2**63}"),
        3,
        r"job\.yaml:2: source id '9223372036854775808' is too large",
    ),
    (
        "id of 5,000 digits (past Python's int-string limit)",
        replace("3718, 7157", "3718, " + "9" * 5000),
        3,
        r"job\.yaml:2: source id '9{37}\.\.\.' is too large",
    ),
    (
        "a 5,000-digit number elsewhere in the job file",
        lambda t, _: t + "concurrency: " + "9" * 5000 + "\n",
        2,
        r"job\.yaml:11: the value '9{37}\.\.\.' is not readable",
    ),
    (
        "id file with a 5,000-digit id",
        id_file(b"3718\n" + b"7" * 5000 + b"\n"),
        3,
        r"ids\.txt:2: source id '7{37}\.\.\.' is too large",
    ),
    (
        "id file with a 10 MB line",
        id_file(b"3718\n" + b"7" * 10_000_000 + b"\n"),
        3,
        r"ids\.txt:2: the line is longer than 1 MiB \(an id file holds one id a line\)$",
    ),
    (
        "id of 3718.5",
        replace("3718, 7157", "3718.5, 7157"),
        3,
        r"job\.yaml:2: source id '3718\.5' is not a numeric id",
    ),
    (
        "field path climbing out of the record",
        replace("CHRPOS: CHRPOS", "CHRPOS: '../..//*[1]'"),
        2,
        r"job\.yaml:6: 'fields\.CHRPOS' '\.\./\.\.//\*\[1\]' is not a path the harvester can "
        r"follow \('\.\.' climbs out of the record\)",
    ),
    (
        "output is the job file",
        lambda t, tmp: t.replace(f"{tmp / 'out.jsonl'}}}", f"{tmp / 'job.yaml'}, format: jsonl}}"),
        3,
        r"the output \S*job\.yaml is the job file: writing it would destroy it",
    ),
    (
        "phrase not found",
        replace("ids: [3718, 7157]", "term: 'zzqqxx[sym]'"),
        3,
        r"the search 'zzqqxx\[sym\]' in gene found no records \(phrase not found: zzqqxx",
    ),
]


def write_job(tmp: Path, edit: Edit) -> Path:
    (tmp / "afile.txt").write_text("a regular file, not a folder\n")
    job = tmp / "job.yaml"
    job.write_text(edit(JOB.replace("OUT", str(tmp / "out.jsonl")), tmp))
    return job


def outputs(tmp: Path) -> list[str]:
    """Output or summary files a run left (the job directory is progress, not output)."""
    return sorted(p.name for p in tmp.rglob("out.jsonl*") if p.is_file())


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(args)
    return code, capsys.readouterr().err


def assert_one_line(err: str, pattern: str) -> None:
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert "Traceback" not in err
    assert re.match(r"harvester: error: (?:\S*/)?" + pattern, err.strip()), err


@pytest.mark.parametrize(
    ("edit", "code", "pattern"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_input_is_one_line_with_its_exit_code_and_no_output(
    tmp_path, capsys, edit, code, pattern
):
    job = write_job(tmp_path, edit)
    got, err = run_cli(["run", str(job), "--quiet"], capsys)
    assert (got, outputs(tmp_path)) == (code, [])
    assert_one_line(err, pattern)
    if "search" not in pattern:  # no job store half-made either (only einfo's answer kept)
        assert not (tmp_path / "out.jsonl.harvest" / "state.sqlite").exists()


def test_duplicate_ids_are_merged_with_a_warning_and_the_run_succeeds(tmp_path, capsys):
    job = write_job(tmp_path, replace("3718, 7157", "3718, 7157, 3718, 03718"))
    code, err = run_cli(["run", str(job)], capsys)
    assert code == 0, err
    assert re.search(r"warning +\S*job\.yaml: 2 duplicate source ids merged \(first: 3718\)", err)
    lines = (tmp_path / "out.jsonl").read_bytes().splitlines()
    assert [orjson.loads(line)["source"] for line in lines] == ["3718", "7157"]
    summary = orjson.loads((tmp_path / "out.jsonl.summary.json").read_bytes())
    assert summary["warnings"] == [f"{job}: 2 duplicate source ids merged (first: 3718)"]


def test_an_invalid_api_key_is_refused_in_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("NCBI_API_KEY", "not-a-key-at-all")
    with EmulatorThread(EmulatorConfig(api_keys=frozenset({"good"}))) as emu:
        job = write_job(tmp_path, replace("embedded", emu.base_url))
        code, err = run_cli(["run", str(job), "--quiet"], capsys)
    assert (code, outputs(tmp_path)) == (errors.NcbiError.exit_code, [])
    assert_one_line(err, r"NCBI rejected the API key \(HTTP 400 'API key invalid'\)")
    assert "not-a-key-at-all" not in err


class _HangUpsUnsaid(http.server.ThreadingHTTPServer):
    """The portal's server, quiet when the client hangs up a kept-alive connection: the
    standard one prints that reset to stderr, the stream whose one line the test reads."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _HtmlHandler(http.server.BaseHTTPRequestHandler):
    """Answers every request with an HTML page and status 200, as a captive portal does."""

    hits = 0
    protocol_version = "HTTP/1.1"  # keep-alive, as a portal's server: an HTTP/1.0 close after
    # each answer races the client's reuse of the connection, a different failure (a drop)

    def _answer(self) -> None:
        type(self).hits += 1
        # Read a POST's form first: closing on an unread body resets the connection, a
        # different failure (a dropped connection) from the one this server stands for.
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        page = b"<!DOCTYPE html><html><body><h1>Please log in</h1></body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def html_server() -> Iterator[str]:
    server = _HangUpsUnsaid(("127.0.0.1", 0), _HtmlHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/entrez/eutils/"
    finally:
        server.shutdown()
        server.server_close()


def test_a_server_answering_html_is_retried_then_reported(
    tmp_path, capsys, html_server, quick_retries
):
    _HtmlHandler.hits = 0
    job = write_job(tmp_path, replace("embedded", html_server))
    code, err = run_cli(["run", str(job), "--quiet"], capsys)
    assert (code, outputs(tmp_path)) == (errors.ParseError.exit_code, [])
    assert_one_line(err, r"HTML page where XML was expected")
    assert _HtmlHandler.hits > 1  # retried before giving up


@pytest.mark.parametrize("case", ["yaml syntax", "non-numeric id", "output not writable"])
def test_the_installed_command_prints_no_traceback(tmp_path, case):
    _, edit, code, pattern = next(c for c in CASES if c[0] == case)
    job = write_job(tmp_path, edit)
    done = subprocess.run(
        [sys.executable, "-m", "harvester", "run", str(job)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert (done.returncode, done.stdout, outputs(tmp_path)) == (code, "", [])
    assert_one_line(done.stderr, pattern)


def test_the_readme_documents_every_exit_code():
    readme = (ROOT / "README.md").read_text()
    table = dict(re.findall(r"^\| (\d+) \| (.+?) \|$", readme, re.M))
    kinds = [errors.ConfigError, errors.InputError, errors.TransportError, errors.NcbiError]
    kinds += [errors.ParseError, errors.StoreError, errors.IncompleteError]
    assert set(table) == {"0", "1", "130"} | {str(k.exit_code) for k in kinds}
    assert "crash report" in table["1"] and "disk full" in table["7"]
    assert "job file" in table["2"] and "output path" in table["3"]
    assert "network" in table["4"] and "refused" in table["5"]
    assert "parsed" in table["6"] and "store" in table["7"]
    assert errors.EXIT_INTERRUPTED == 130


@pytest.mark.parametrize("inside", ["state.sqlite", "sub/out.jsonl"])
def test_an_output_inside_another_jobs_directory_is_refused(tmp_path, capsys, inside):
    first = write_job(tmp_path, lambda text, _tmp: text)
    assert run_cli(["run", str(first), "--quiet"], capsys)[0] == 0
    store = tmp_path / "out.jsonl.harvest" / "state.sqlite"
    before = store.read_bytes()
    second = tmp_path / "other.yaml"
    second.write_text(JOB.replace("OUT", f"{tmp_path / 'other.jsonl'}, format: jsonl"))
    target = tmp_path / "out.jsonl.harvest" / inside
    code, err = run_cli(["run", str(second), "--quiet", "--output", str(target)], capsys)
    assert code == errors.InputError.exit_code
    assert_one_line(
        err,
        rf"the output \S*{re.escape(inside)} is inside the job directory \S*out\.jsonl\.harvest "
        "of another job: writing it could destroy that job's store",
    )
    assert store.read_bytes() == before and not target.parent.joinpath("sub").exists()
    assert not (tmp_path / "other.jsonl.harvest").exists()  # refused before any work
    assert run_cli(["run", str(first), "--quiet"], capsys)[0] == 0  # the first job still runs
