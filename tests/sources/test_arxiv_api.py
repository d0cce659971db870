from __future__ import annotations

import time
from datetime import date, datetime, timezone

import pytest

from paperwire.papers import Author, Version, display_text
from paperwire.sources import FetchError, arxiv_api
from paperwire.sources.arxiv_api import Query, build_params, query_url
from paperwire.sources.client import Retry

from .conftest import Reply, fixture_bytes

FAST_RETRY = Retry(attempts=5, backoff_seconds=1.0)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def page(name: str) -> Reply:
    return Reply(fixture_bytes(name), headers={"Content-Type": "application/atom+xml"})


# --- query building ----------------------------------------------------------

@pytest.mark.parametrize("query, expected", [
    (Query(categories=("cs.CL",)), {"search_query": "cat:cs.CL"}),
    (Query(categories=("cs.CL", "cs.LG")), {"search_query": "(cat:cs.CL OR cat:cs.LG)"}),
    (Query(categories=("cs.CL",), submitted_from=date(2025, 1, 1), submitted_until=date(2025, 1, 31)),
     {"search_query": "cat:cs.CL AND submittedDate:[202501010000 TO 202501312359]"}),
    (Query(submitted_from=date(2025, 1, 1)),
     {"search_query": "submittedDate:[202501010000 TO 999912312359]"}),
    (Query(ids=("2501.00001", "hep-th/9901001v2")), {"id_list": "2501.00001,hep-th/9901001v2"}),
    (Query(categories=("cs.CL",), ids=("2501.00001",)),
     {"search_query": "cat:cs.CL", "id_list": "2501.00001"}),
    (Query(terms="heavy tails"), {"search_query": "all:heavy AND all:tails"}),
    (Query(terms="ti:transformer AND au:smith", categories=("cs.CL",)),
     {"search_query": "cat:cs.CL AND (ti:transformer AND au:smith)"}),
])
def test_build_params(query, expected):
    params = build_params(query, start=200, max_results=100)
    assert {k: v for k, v in params.items() if k in ("search_query", "id_list")} == expected
    assert params["start"] == "200" and params["max_results"] == "100"
    assert params["sortBy"] == "submittedDate" and params["sortOrder"] == "descending"


@pytest.mark.parametrize("query", [Query(), Query(terms="   "), Query(categories=("cs.CL",), sort_by="newest")])
def test_build_params_rejects_empty_query_and_unknown_sort(query):
    with pytest.raises(ValueError):
        build_params(query)


def test_query_url_encodes_spaces_as_plus():
    params = build_params(Query(categories=("cs.CL", "cs.LG")), max_results=10)
    assert query_url("https://export.arxiv.org/api/query", params) == (
        "https://export.arxiv.org/api/query?search_query=(cat:cs.CL+OR+cat:cs.LG)"
        "&start=0&max_results=10&sortBy=submittedDate&sortOrder=descending"
    )


# --- parsing -----------------------------------------------------------------

def test_parse_multi_version_entry():
    batch = arxiv_api.parse(fixture_bytes("arxiv_api_page1.xml"))
    paper = batch.papers[0]
    assert batch.total_count == 5
    assert paper.arxiv_id == "2501.00001"
    assert paper.version == 3
    assert paper.published_at == utc(2025, 1, 1, 18)
    assert paper.updated_at == utc(2025, 1, 8, 10)
    assert paper.versions == (Version(1, utc(2025, 1, 1, 18)), Version(3, utc(2025, 1, 8, 10)))
    assert paper.authors == (
        Author("Ada Lovelace", ("Analytical Engines Ltd", "University of London")),
        Author("Alan Turing"),
    )
    assert paper.doi == "10.1000/xyz.123"
    assert paper.journal_ref == "J. Placeholder Res. 1 (2025) 1-12"
    assert paper.comments == "12 pages, 3 figures; v3 fixes a\n  typo in Lemma 2"
    assert paper.source == "arxiv_api"


def test_parse_keeps_arxiv_categories_only_primary_first():
    paper = arxiv_api.parse(fixture_bytes("arxiv_api_page1.xml")).papers[0]
    # the feed lists stat.ML first and adds an MSC and an ACM class
    assert paper.primary_category == "cs.LG"
    assert paper.categories == ("cs.LG", "stat.ML")


def test_parse_keeps_latex_title_as_written():
    paper = arxiv_api.parse(fixture_bytes("arxiv_api_page1.xml")).papers[0]
    assert paper.title == "$\\alpha$-Stable Processes and the {\\em Heavy} Tails of\n  Gradient Noise"
    assert paper.abstract.startswith("We show that gradient noise")
    assert display_text(paper.title) == "α-Stable Processes and the Heavy Tails of Gradient Noise"


def test_parse_old_style_ids():
    first = arxiv_api.parse(fixture_bytes("arxiv_api_page1.xml")).papers[1]
    assert (first.arxiv_id, first.version, first.primary_category) == ("hep-th/9901001", 1, "hep-th")
    assert first.versions == (Version(1, utc(1999, 1, 4, 12)),)
    knot = arxiv_api.parse(fixture_bytes("arxiv_api_page2.xml")).papers[0]
    assert (knot.arxiv_id, knot.version) == ("math/0309136", 2)


def test_parse_missing_optional_fields():
    paper = arxiv_api.parse(fixture_bytes("arxiv_api_page2.xml")).papers[0]
    assert paper.authors == (Author("Kim Knotter"),)
    assert paper.doi is paper.journal_ref is paper.comments is paper.license is None
    assert paper.categories == ("math.GT", "math.AT")


def test_parse_skips_bad_entry_and_keeps_the_rest():
    batch = arxiv_api.parse(fixture_bytes("arxiv_api_page2.xml"))
    assert [p.arxiv_id for p in batch.papers] == ["math/0309136"]
    assert len(batch.skipped) == 1
    assert batch.skipped[0].record_id == "http://arxiv.org/abs/not-an-id"
    assert "not an arXiv id" in batch.skipped[0].reason


def test_parse_empty_page():
    batch = arxiv_api.parse(fixture_bytes("arxiv_api_empty.xml"))
    assert batch.papers == [] and batch.skipped == [] and batch.total_count == 0


def test_parse_error_feed_raises_with_message():
    with pytest.raises(FetchError, match="incorrect id format for 1234.12345v"):
        arxiv_api.parse(fixture_bytes("arxiv_api_error.xml"))


def test_parse_refuses_billion_laughs_quickly():
    started = time.monotonic()
    with pytest.raises(FetchError, match="forbidden XML"):
        arxiv_api.parse(fixture_bytes("billion_laughs.xml"))
    assert time.monotonic() - started < 5


def test_parse_rejects_non_xml():
    with pytest.raises(FetchError, match="not well-formed XML"):
        arxiv_api.parse(b"<html><body>Service Unavailable")


# --- fetching over HTTP --------------------------------------------------------

def fetch_all(upstream, clock, query=Query(categories=("cs.LO",)), **options):
    options.setdefault("page_size", 2)
    return list(arxiv_api.fetch(query, base_url=upstream.url + "/api/query",
                                pacing=clock.pacing(), retry=FAST_RETRY, **options))


def test_fetch_pages_through_total_results_at_a_polite_pace(upstream, clock):
    upstream.script(page("arxiv_api_page1.xml"), page("arxiv_api_page2.xml"), page("arxiv_api_page3.xml"))
    batches = fetch_all(upstream, clock)
    assert [p.arxiv_id for b in batches for p in b.papers] == [
        "2501.00001", "hep-th/9901001", "math/0309136", "2501.00005"]
    assert sum(len(b.skipped) for b in batches) == 1
    assert [(r["start"], r["max_results"]) for r in upstream.params()] == [("0", "2"), ("2", "2"), ("4", "2")]
    assert upstream.requests[0].params["search_query"] == "cat:cs.LO"
    arrivals = [r.at for r in upstream.requests]
    assert all(later - earlier >= 3.0 for earlier, later in zip(arrivals, arrivals[1:]))
    assert "paperwire" in upstream.requests[0].headers["User-Agent"]


def test_fetch_stops_at_max_results(upstream, clock):
    upstream.script(page("arxiv_api_page1.xml"), page("arxiv_api_page2.xml"))
    batches = fetch_all(upstream, clock, max_results=3)
    assert [(r["start"], r["max_results"]) for r in upstream.params()] == [("0", "2"), ("2", "1")]
    assert batches[0].total_count == 3


def test_fetch_retries_throttling_and_dropped_connections(upstream, clock):
    upstream.script(
        Reply(b"slow down", 503, {"Retry-After": "7"}),
        Reply(b"too many", 429),
        Reply(drop=True),
        Reply(b"bad gateway", 502),
        page("arxiv_api_by_id.xml"),
    )
    batches = fetch_all(upstream, clock, query=Query(ids=("2501.00005",)))
    assert [p.arxiv_id for b in batches for p in b.papers] == ["2501.00005"]
    assert len(upstream.requests) == 5
    # Retry-After is honoured; otherwise the backoff doubles with each attempt (1 s at the
    # first), and never comes closer than the 3 s pacing interval (2 s backoff -> 3 s gap).
    arrivals = [r.at for r in upstream.requests]
    assert [later - earlier for earlier, later in zip(arrivals, arrivals[1:])] == [7.0, 3.0, 4.0, 8.0]


def test_fetch_gives_up_after_bounded_attempts(upstream, clock):
    upstream.script(*[Reply(b"down", 503)] * FAST_RETRY.attempts)
    with pytest.raises(FetchError, match="failed 5 times, last with status 503"):
        fetch_all(upstream, clock)
    assert len(upstream.requests) == FAST_RETRY.attempts


def test_fetch_retries_spurious_empty_first_page(upstream, clock):
    upstream.script(page("arxiv_api_empty.xml"), page("arxiv_api_empty.xml"), page("arxiv_api_by_id.xml"))
    batches = fetch_all(upstream, clock, query=Query(ids=("2501.00005",)))
    assert [p.arxiv_id for b in batches for p in b.papers] == ["2501.00005"]
    assert [r["start"] for r in upstream.params()] == ["0", "0", "0"]


def test_fetch_retries_empty_page_in_the_middle_then_reports_it(upstream, clock):
    # totalResults promises more than the first page: a page that stays empty is an error
    # (issue #8), raised after the first page was yielded with its checkpoint.
    empty = page("arxiv_api_empty.xml")
    upstream.script(page("arxiv_api_page1.xml"), *[empty] * (arxiv_api.EMPTY_PAGE_RETRIES + 1))
    batches = []
    with pytest.raises(arxiv_api.EmptyPages, match="empty page at start=2 4 times although totalResults=5"):
        for batch in arxiv_api.fetch(Query(categories=("cs.LO",)), base_url=upstream.url + "/api/query",
                                     pacing=clock.pacing(), page_size=2):
            batches.append(batch)
    assert len(batches) == 1 and batches[0].checkpoint == ("arxiv:cat:cs.LO|submittedDate descending", "2")
    assert [r["start"] for r in upstream.params()] == ["0"] + ["2"] * (arxiv_api.EMPTY_PAGE_RETRIES + 1)


def test_fetch_believes_a_repeatedly_empty_result(upstream, clock):
    upstream.script(*[page("arxiv_api_empty.xml")] * (arxiv_api.EMPTY_PAGE_RETRIES + 1))
    assert fetch_all(upstream, clock) == []


def test_fetch_reports_error_feed_sent_with_400(upstream, clock):
    upstream.script(Reply(fixture_bytes("arxiv_api_error.xml"), 400))
    with pytest.raises(FetchError, match="answered 400: .*incorrect id format for 1234.12345v"):
        fetch_all(upstream, clock, query=Query(ids=("1234.12345v",)))
    assert len(upstream.requests) == 1


def test_fetch_refuses_billion_laughs(upstream, clock):
    upstream.script(page("billion_laughs.xml"))
    with pytest.raises(FetchError, match="forbidden XML"):
        fetch_all(upstream, clock)
