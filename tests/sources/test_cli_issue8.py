"""Issue #8, item by item, through `paperwire ...` against the loopback upstream.

Each test runs the CLI (CliRunner) on a real SQLite store, with upstream answering
recorded wire-format bodies from tests/data, and checks the store, the printed
tally and, for what is shown, the web pages.
"""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from paperwire import config
from paperwire.sources import arxiv_api
from paperwire.store import open_store
from paperwire.web.app import create_app

from .conftest import DATA, Reply, fixture_bytes, stored_ids

OAI_CS = ["ingest", "oai", "--set", "cs", "--from", "2025-01-01"]


def held(sqlite_url, arxiv_id):
    store = open_store(sqlite_url)
    try:
        return store.get_paper(arxiv_id)
    finally:
        store.close()


@pytest.fixture
def web(sqlite_url):
    """GET a page of the web app on the test store."""
    store = open_store(sqlite_url)
    client = TestClient(create_app(config.load({}, database_url=sqlite_url, harvest_enabled="false"),
                                   store=store), follow_redirects=False)
    yield client
    store.close()


def last_line(result) -> str:
    assert result.exit_code == 0, result.output
    return result.output.splitlines()[-1]


# 1. newer text wins across sources, in both orders ----------------------------------

def test_oai_text_newer_than_api_v1_replaces_it(paperwire, upstream, sqlite_url):
    upstream.script(Reply(fixture_bytes("merge_arxiv_api_v1.xml")), Reply(fixture_bytes("merge_oai_arxiv.xml")))
    assert last_line(paperwire("ingest", "arxiv", "--id", "2501.00042")).startswith("arxiv_api: 1 new")
    assert last_line(paperwire(*OAI_CS)) == "oai_pmh: 0 new, 1 updated, 0 unchanged, 0 skipped"
    paper = held(sqlite_url, "2501.00042")
    assert "fourthrevision" in paper.abstract and paper.title.endswith("Fourth Revision")
    assert paper.doi == "10.1000/answer.42"  # the API's DOI, which the OAI record lacks, is kept
    found = paperwire("search", "fourthrevision", "--mode", "lexical", env={"PAPERWIRE_EMBED_ENABLED": "false"})
    assert found.exit_code == 0, found.output
    assert "2501.00042" in found.output


def test_api_v1_arriving_after_newer_oai_text_changes_nothing(paperwire, upstream, sqlite_url):
    upstream.script(Reply(fixture_bytes("merge_oai_arxiv.xml")), Reply(fixture_bytes("merge_arxiv_api_v1.xml")))
    assert last_line(paperwire(*OAI_CS)) == "oai_pmh: 1 new, 0 updated, 0 unchanged, 0 skipped"
    # v1 adds only what the OAI record lacked (its DOI, v1's time to the second)
    assert last_line(paperwire("ingest", "arxiv", "--id", "2501.00042v1")) == (
        "arxiv_api: 0 new, 1 updated, 0 unchanged, 0 skipped")
    paper = held(sqlite_url, "2501.00042")
    assert "fourthrevision" in paper.abstract and paper.doi == "10.1000/answer.42"


def test_plain_jsonl_with_newer_text_replaces_api_v1(paperwire, upstream, sqlite_url):
    upstream.script(Reply(fixture_bytes("merge_arxiv_api_v1.xml")))
    paperwire("ingest", "arxiv", "--id", "2501.00042")
    assert last_line(paperwire("ingest", "file", str(DATA / "merge_plain.jsonl"))) == (
        "file: 0 new, 1 updated, 0 unchanged, 0 skipped")
    assert "correcteddraft" in held(sqlite_url, "2501.00042").abstract


# 2. one old-style paper stays one --------------------------------------------------

def test_old_style_ids_with_and_without_subject_class_are_one_paper(paperwire, upstream, sqlite_url, web):
    upstream.script(Reply(fixture_bytes("arxiv_api_old_ids.xml")))
    assert last_line(paperwire("ingest", "arxiv", "--id", "math.GT/0309136")) == (
        "arxiv_api: 1 new, 1 updated, 0 unchanged, 0 skipped")
    assert last_line(paperwire("ingest", "file", str(DATA / "papers_snapshot.jsonl"))).startswith("file: ")
    assert "math/0309136" in stored_ids(sqlite_url)
    assert not [i for i in stored_ids(sqlite_url) if i.startswith("math.")]
    paper = held(sqlite_url, "math/0309136")
    assert paper.version == 2 and paper.title.endswith("Revised")
    assert paper.categories == ("math.GT", "math.AT") and paper.subject_classes == ("57M25",)
    assert web.get("/paper/math.GT/0309136v1").headers["location"] == "/paper/math/0309136"


# 3. withdrawn papers are known and shown -------------------------------------------

def test_withdrawal_comment_marks_the_paper_and_pages_show_it(paperwire, upstream, sqlite_url, web):
    upstream.script(Reply(fixture_bytes("arxiv_api_withdrawn.xml")))
    assert last_line(paperwire("ingest", "arxiv", "--id", "2501.00077")).startswith("arxiv_api: 1 new")
    assert held(sqlite_url, "2501.00077").is_withdrawn
    page = web.get("/paper/2501.00077").text
    assert '<span class="tag withdrawn">withdrawn</span>' in page
    day = web.get("/day/2025-01-02").text
    assert re.search(r'href="/paper/2501.00077">[^<]*</a> <span class="tag withdrawn">withdrawn</span>', day)
    assert web.get("/api/papers/2501.00077").json()["paper"]["is_withdrawn"] is True


def test_arxivraw_latest_version_of_size_zero_is_withdrawn(paperwire, upstream, sqlite_url):
    upstream.script(Reply(fixture_bytes("oai_arxivraw_withdrawn.xml")))
    result = paperwire("ingest", "oai", "--set", "math", "--from", "2025-01-01", "--format", "arXivRaw")
    assert last_line(result) == "oai_pmh: 1 new, 0 updated, 0 unchanged, 0 skipped"
    paper = held(sqlite_url, "2501.00088")
    assert paper.is_withdrawn and paper.version == 2 and paper.subject_classes == ("05C15",)


def test_a_paper_not_withdrawn_shows_no_badge(paperwire, upstream, web):
    upstream.script(Reply(fixture_bytes("merge_arxiv_api_v1.xml")))
    paperwire("ingest", "arxiv", "--id", "2501.00042")
    assert "withdrawn" not in web.get("/paper/2501.00042").text


# 4. a persistently empty page fails the run, with a checkpoint --------------------

def test_persistently_empty_page_exits_non_zero_and_resumes(paperwire, upstream, sqlite_url):
    empty = Reply(fixture_bytes("arxiv_api_total10_empty.xml"))
    upstream.script(Reply(fixture_bytes("arxiv_api_total10_page0.xml")),
                    *[empty] * (arxiv_api.EMPTY_PAGE_RETRIES + 1))
    result = paperwire("ingest", "arxiv", "--category", "cs.LO")
    assert result.exit_code == 1, result.output
    assert "empty page at start=3" in result.output and "7 papers were not read" in result.output
    assert "the same command resumes" in result.output
    assert len(stored_ids(sqlite_url)) == 3
    store = open_store(sqlite_url)
    assert store.get_checkpoint("arxiv:cat:cs.LO|submittedDate descending") == "3"
    store.close()

    upstream.requests.clear()
    upstream.script(Reply(fixture_bytes("arxiv_api_by_id.xml")))  # totalResults=1: now the end
    again = paperwire("ingest", "arxiv", "--category", "cs.LO")
    assert again.exit_code == 0, again.output
    assert "resuming arxiv:cat:cs.LO" in again.output
    assert upstream.requests[0].params["start"] == "3"


# 6. what the Hugging Face list says is shown ----------------------------------------

def test_day_and_paper_pages_show_stars_submitter_and_organisation(paperwire, upstream, web):
    upstream.script(Reply(fixture_bytes("merge_hf_daily.json")))
    assert last_line(paperwire("ingest", "hf", "--date", "2025-01-14")).endswith("1 daily entries")
    for page in (web.get("/day/2025-01-14").text, web.get("/paper/2501.00042").text):
        assert "★ 4242" in page and 'title="4242 GitHub stars"' in page
        assert 'submitted by <a href="https://huggingface.co/arthurdent">arthurdent</a>' in page
        assert '<a href="https://huggingface.co/magrathea">Magrathea Planet Builders</a>' in page


def test_hf_details_are_escaped(paperwire, upstream, web):
    body = fixture_bytes("merge_hf_daily.json").replace(b"Magrathea Planet Builders", b"<script>x</script>")
    upstream.script(Reply(body))
    paperwire("ingest", "hf", "--date", "2025-01-14")
    page = web.get("/day/2025-01-14").text
    assert "<script>x</script>" not in page and "&lt;script&gt;x&lt;/script&gt;" in page


# 7. the smaller items ---------------------------------------------------------------

def test_oai_dc_format_is_harvested(paperwire, upstream, sqlite_url):
    upstream.script(Reply(fixture_bytes("merge_oai_dc.xml")))
    result = paperwire(*OAI_CS, "--format", "oai_dc")
    assert last_line(result) == "oai_pmh: 1 new, 0 updated, 0 unchanged, 0 skipped"
    assert upstream.requests[0].params["metadataPrefix"] == "oai_dc"
    paper = held(sqlite_url, "2501.00042")
    assert paper.authors[0].name == "Deep Thought" and paper.categories == ("cs.AI", "cs.LG")
    assert paper.comments == "Fifth revision, 43 pages" and paper.doi == "10.1000/answer.42"


def test_pacing_holds_across_two_commands(paperwire, upstream):
    upstream.script(Reply(fixture_bytes("merge_arxiv_api_v1.xml")), Reply(fixture_bytes("merge_arxiv_api_v1.xml")))
    slow = {"PAPERWIRE_REQUEST_INTERVAL_SECONDS": "1"}
    assert paperwire("ingest", "arxiv", "--id", "2501.00042", env=slow).exit_code == 0
    assert paperwire("ingest", "arxiv", "--id", "2501.00042", env=slow).exit_code == 0
    first, second = upstream.requests
    assert second.received_at - first.received_at >= 1.0


def test_bad_resumption_token_says_restart_and_nothing_else(paperwire, upstream):
    upstream.script(Reply(fixture_bytes("oai_arxiv_page1.xml")), Reply(b"forbidden for now", 403))
    assert paperwire(*OAI_CS).exit_code == 1
    upstream.script(Reply(fixture_bytes("oai_bad_token.xml")))
    result = paperwire(*OAI_CS)
    assert result.exit_code == 1, result.output
    assert "--restart" in result.output and "cannot resume" in result.output
    assert "the same command resumes" not in result.output


def test_tally_counts_every_line_including_repeated_ids(paperwire, sqlite_url):
    result = paperwire("ingest", "file", str(DATA / "papers_crawl_repeats.jsonl"))
    # 5 lines, 3 papers: one repeat is identical, one brings a later listing's text
    assert last_line(result) == "file: 3 new, 1 updated, 1 unchanged, 0 skipped"
    assert held(sqlite_url, "2606.00002").title == "Seeing Placeholders Better"


def test_subject_classes_are_not_category_tags(paperwire, sqlite_url, web):
    paperwire("ingest", "file", str(DATA / "papers_crawl_repeats.jsonl"))
    store = open_store(sqlite_url)
    counts = store.stats().category_counts
    store.close()
    assert counts == {"cs.IT": 1, "math.IT": 1, "cs.CV": 1, "cs.CL": 1}
    paper = held(sqlite_url, "2606.00002")
    assert paper.categories == ("cs.CV",) and paper.subject_classes == ("I.4.2", "E.4")
    page = web.get("/paper/2606.00002").text
    assert '<span class="tag">E.4</span>' not in page and "I.4.2; E.4" in page


def test_dates_are_shown_at_the_precision_the_source_gives(paperwire, upstream, web):
    paperwire("ingest", "file", str(DATA / "papers_crawl_repeats.jsonl"))
    upstream.script(Reply(fixture_bytes("merge_arxiv_api_v1.xml")))
    paperwire("ingest", "arxiv", "--id", "2501.00042")
    day_only = web.get("/paper/2606.00001").text
    assert "<dt>Published</dt><dd>2026-06-30</dd>" in day_only and "00:00 UTC" not in day_only
    assert "<dt>Published</dt><dd>2025-01-01 18:00 UTC</dd>" in web.get("/paper/2501.00042").text
