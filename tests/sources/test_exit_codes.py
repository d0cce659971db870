"""`paperwire ingest` exits non-zero with one line when it read records but kept none
(issue #15: a feed or file where every record was skipped exited 0), and zero when at
least one record was kept or none arrived. Upstream is the loopback server of conftest."""

from __future__ import annotations

import re

import pytest

from .conftest import Reply, fixture_bytes

def _untitled_xml(name: str) -> bytes:
    """A recorded page with every record's title emptied: well-formed, and all invalid."""
    return re.sub(rb"<title>(?!ArXiv Query)[^<]*</title>", b"<title></title>", fixture_bytes(name))


def _untitled_json(name: str) -> bytes:
    return re.sub(rb'"title": "[^"]*"', b'"title": ""', fixture_bytes(name))


ARXIV = ["ingest", "arxiv", "--id", "2501.00005"]
OAI = ["ingest", "oai", "--set", "cs", "--from", "2025-01-01", "--until", "2025-01-09"]
HF = ["ingest", "hf", "--date", "2025-01-03"]
CASES = {
    "arxiv": (ARXIV, _untitled_xml("arxiv_api_by_id.xml"), fixture_bytes("arxiv_api_by_id.xml"), 1),
    "oai": (OAI, _untitled_xml("oai_arxiv_page3.xml").replace(b'<resumptionToken cursor="6" completeListSize="8"/>',
                                                              b"<resumptionToken/>"),
            fixture_bytes("oai_arxiv_page3.xml").replace(b'<resumptionToken cursor="6" completeListSize="8"/>',
                                                         b"<resumptionToken/>"), 2),
    "hf": (HF, _untitled_json("hf_daily_2025-01-03_p1.json"), fixture_bytes("hf_daily_2025-01-03_p1.json"), 1),
}


@pytest.mark.parametrize("source", CASES)
def test_every_record_skipped_exits_non_zero_with_one_line(paperwire, upstream, source):
    args, bad, _, count = CASES[source]
    upstream.script(Reply(bad), Reply(b"[]"))
    result = paperwire(*args)
    assert result.exit_code == 1, result.output
    last = result.output.strip().splitlines()[-1]
    assert re.fullmatch(rf"Error: \w+: nothing valid was read: all {count} records were skipped; the first, .+",
                        last), result.output
    assert "title" in last


@pytest.mark.parametrize("source", CASES)
def test_one_record_kept_exits_zero(paperwire, upstream, source):
    args, _, good, count = CASES[source]
    upstream.script(Reply(good), Reply(b"[]"))
    result = paperwire(*args)
    assert result.exit_code == 0, result.output
    assert f"{count} new" in result.output


def test_a_day_with_nothing_new_exits_zero(paperwire, upstream):
    upstream.script(Reply(b"[]"))
    result = paperwire(*HF)
    assert result.exit_code == 0, result.output
    assert "0 new, 0 updated, 0 unchanged, 0 skipped" in result.output


def test_ingest_file_with_every_line_skipped_exits_non_zero(paperwire, tmp_path):
    path = tmp_path / "papers.jsonl"
    path.write_text('{"id": "2501.00001", "title": ""}\n{"id": "2501.00002", "title": "  "}\n')
    result = paperwire("ingest", "file", str(path))
    assert result.exit_code == 1, result.output
    # files.fetch says it first, naming the file and the first reason
    assert "(2501.00001: no title) is a paper record" in result.output.splitlines()[-1]
