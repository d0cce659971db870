"""`paperwire ingest ...` end to end: CliRunner, a real SQLite store, upstream on loopback."""

from __future__ import annotations

import gzip

import pytest

from .conftest import DATA, Reply, fixture_bytes, stored_ids

OAI_ARGS = ["ingest", "oai", "--set", "cs", "--from", "2025-01-01", "--until", "2025-01-09"]
OAI_PAPERS = ["2501.00001", "2501.00002", "2501.00004", "2501.00005", "2501.00006", "hep-th/9901001"]


def test_ingest_file_reads_plain_snapshot_and_gzip(paperwire, tmp_path, sqlite_url):
    gz = tmp_path / "snapshot.jsonl.gz"
    gz.write_bytes(gzip.compress(fixture_bytes("papers_snapshot.jsonl")))
    result = paperwire("ingest", "file", str(DATA / "papers_plain.jsonl"), str(gz))
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "file: 6 new, 0 updated, 0 unchanged, 6 skipped"
    assert "skipped 2503.11691: no title" in result.output
    assert len(stored_ids(sqlite_url)) == 6
    again = paperwire("ingest", "file", str(DATA / "papers_plain.jsonl"), str(gz))
    assert again.exit_code == 0, again.output
    assert again.output.splitlines()[-1] == "file: 0 new, 0 updated, 6 unchanged, 6 skipped"


def test_ingest_arxiv_pages_through_a_category(paperwire, upstream, sqlite_url):
    upstream.script(*(Reply(fixture_bytes(f"arxiv_api_page{n}.xml")) for n in (1, 2, 3)))
    result = paperwire("ingest", "arxiv", "--category", "cs.LO", "--from", "2025-01-01", "--max", "10")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "arxiv_api: 4 new, 0 updated, 0 unchanged, 1 skipped"
    assert upstream.requests[0].params["search_query"] == (
        "cat:cs.LO AND submittedDate:[202501010000 TO 999912312359]")
    assert [r.params["start"] for r in upstream.requests] == ["0", "2", "4"]
    assert "hep-th/9901001" in stored_ids(sqlite_url)


def test_ingest_arxiv_without_a_query_is_a_usage_error(paperwire, upstream):
    result = paperwire("ingest", "arxiv")
    assert result.exit_code == 2, result.output
    assert "give --category, --from/--until, --id or --query" in result.output
    assert upstream.requests == []


def test_ingest_arxiv_error_feed_is_a_clean_error(paperwire, upstream):
    upstream.script(Reply(fixture_bytes("arxiv_api_error.xml"), 400))
    result = paperwire("ingest", "arxiv", "--id", "1234.12345v")
    assert result.exit_code == 1, result.output
    assert "incorrect id format for 1234.12345v" in result.output
    assert "Traceback" not in result.output


def test_ingest_oai_resumes_after_a_failed_run(paperwire, upstream, sqlite_url):
    upstream.script(
        Reply(fixture_bytes("oai_arxiv_page1.xml")),
        Reply(fixture_bytes("oai_arxiv_page2.xml")),
        Reply(b"forbidden for now", 403),
    )
    first = paperwire(*OAI_ARGS)
    assert first.exit_code == 1, first.output
    assert "answered 403" in first.output and "the same command resumes" in first.output
    assert len(stored_ids(sqlite_url)) == 4

    upstream.requests.clear()
    upstream.script(Reply(fixture_bytes("oai_arxiv_page3.xml")))
    second = paperwire(*OAI_ARGS)
    assert second.exit_code == 0, second.output
    assert "resuming oai:cs:2025-01-01:2025-01-09" in second.output
    assert upstream.params() == [{"verb": "ListRecords", "resumptionToken": "6960524|6"}]
    assert second.output.splitlines()[-1] == "oai_pmh: 2 new, 0 updated, 0 unchanged, 0 skipped"
    assert stored_ids(sqlite_url) == OAI_PAPERS


def test_ingest_oai_restart_ignores_the_checkpoint(paperwire, upstream, sqlite_url):
    upstream.script(Reply(fixture_bytes("oai_arxiv_page1.xml")), Reply(b"gone", 403))
    assert paperwire(*OAI_ARGS).exit_code == 1
    upstream.requests.clear()
    upstream.script(*(Reply(fixture_bytes(f"oai_arxiv_page{n}.xml")) for n in (1, 2, 3)))
    result = paperwire(*OAI_ARGS, "--restart")
    assert result.exit_code == 0, result.output
    assert upstream.requests[0].params["metadataPrefix"] == "arXiv"
    assert result.output.splitlines()[-1] == "oai_pmh: 4 new, 0 updated, 2 unchanged, 1 skipped"


def test_ingest_hf_for_a_day(paperwire, upstream, sqlite_url):
    upstream.script(Reply(fixture_bytes("hf_daily_2025-01-03_p0.json")))
    result = paperwire("ingest", "hf", "--date", "2025-01-03")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == (
        "hf_daily: 2 new, 0 updated, 0 unchanged, 1 skipped, 2 daily entries")
    assert upstream.requests[0].params == {"date": "2025-01-03", "p": "0", "limit": "100"}


def test_ingest_hf_for_a_range_of_days(paperwire, upstream):
    upstream.script(Reply(b"[]"), Reply(b"[]"), Reply(b"[]"))
    result = paperwire("ingest", "hf", "--from", "2025-01-04", "--until", "2025-01-06")
    assert result.exit_code == 0, result.output
    assert [r.params["date"] for r in upstream.requests] == ["2025-01-04", "2025-01-05", "2025-01-06"]


def test_ingest_hf_date_and_range_together_is_a_usage_error(paperwire):
    result = paperwire("ingest", "hf", "--date", "2025-01-03", "--from", "2025-01-01")
    assert result.exit_code == 2, result.output
