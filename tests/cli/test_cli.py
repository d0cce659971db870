"""The commands that are not a source's or a subsystem's: stats, export, and their round trip."""

import dataclasses
import gzip
import json

from click.testing import CliRunner

from paperwire.cli import cli
from paperwire.store import open_store
from tests.conftest import make_paper


def test_stats_on_an_empty_store(sqlite_url):
    result = CliRunner().invoke(cli, ["--database-url", sqlite_url, "stats"])
    assert result.exit_code == 0, result.output
    assert "papers: 0 (0 deleted)" in result.output


def test_export_then_ingest_round_trips(tmp_path, sqlite_url):
    store = open_store(sqlite_url)
    papers = [make_paper(arxiv_id="2503.00001"), make_paper(arxiv_id="hep-th/9901001", doi="10.1/x")]
    store.upsert_papers(papers, source="test")
    store.close()
    out = tmp_path / "papers.jsonl.gz"
    runner = CliRunner()
    result = runner.invoke(cli, ["--database-url", sqlite_url, "export", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "exported 2 papers" in result.output
    lines = gzip.open(out, "rt").read().splitlines()
    assert [json.loads(line)["arxiv_id"] for line in lines] == ["2503.00001", "hep-th/9901001"]

    copy_url = f"sqlite:///{tmp_path}/copy.db"
    result = runner.invoke(cli, ["--database-url", copy_url, "ingest", "file", str(out)])
    assert result.exit_code == 0, result.output
    assert "2 new, 0 updated, 0 unchanged, 0 skipped" in result.output
    copy = open_store(copy_url)
    assert copy.get_paper("hep-th/9901001") == papers[1]  # its source too (issue #8: it was lost)
    copy.close()


def test_unsupported_database_url_is_a_clean_error():
    result = CliRunner().invoke(cli, ["--database-url", "mysql://db", "stats"])
    assert result.exit_code != 0
    assert "DATABASE_URL 'mysql://db' is not supported" in result.output


def test_export_to_standard_output_keeps_the_count_off_it(sqlite_url):
    store = open_store(sqlite_url)
    store.upsert_papers([make_paper(arxiv_id="2503.00001"), make_paper(arxiv_id="2503.00002")], source="test")
    store.close()
    result = CliRunner().invoke(cli, ["--database-url", sqlite_url, "export"])
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["arxiv_id"] for line in result.stdout.splitlines()] == ["2503.00001", "2503.00002"]
    assert result.stderr.splitlines()[-1] == "exported 2 papers"
