from __future__ import annotations

import json
from datetime import date, datetime, timezone

import pytest

from paperwire import ingest
from paperwire.papers import Author
from paperwire.sources import FetchError, hf_daily
from paperwire.sources.client import Retry
from paperwire.feed import DailyEntry

from .conftest import Reply, fixture_bytes

DAY = date(2025, 1, 3)
NOW = datetime(2025, 1, 3, 20, 0, tzinfo=timezone.utc)


def page(name: str, **headers) -> Reply:
    return Reply(fixture_bytes(name), headers={"Content-Type": "application/json", **headers})


# --- parsing -----------------------------------------------------------------

def test_parse_papers_and_daily_entries():
    batch = hf_daily.parse(fixture_bytes("hf_daily_2025-01-03_p0.json"), day=DAY, seen_at=NOW)
    paper = batch.papers[0]
    assert paper.arxiv_id == "2501.00001"
    assert paper.version == 0
    assert paper.title.startswith("$\\alpha$-Stable")
    assert paper.abstract.endswith("rather than Gaussian.")
    assert paper.authors == (Author("Ada Lovelace"), Author("Alan Turing"))
    assert paper.published_at == datetime(2025, 1, 1, 18, tzinfo=timezone.utc)
    assert paper.code_url == "https://github.com/placeholder-org/heavy-tails"
    assert paper.project_url == "https://placeholder-org.github.io/heavy-tails"
    assert paper.source == "hf_daily"
    assert batch.daily_entries[0] == DailyEntry(
        day=DAY, arxiv_id="2501.00001", source="hf_daily", upvote_count=42, comment_count=3,
        submitted_by="someone", organization="placeholder-org", organization_name="Placeholder Org",
        github_repo="https://github.com/placeholder-org/heavy-tails", github_star_count=120,
        project_url="https://placeholder-org.github.io/heavy-tails",
        thumbnail_url="https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/2501.00001.png",
        ai_summary="Gradient noise is heavy-tailed, not Gaussian.", seen_at=NOW,
    )


def test_parse_missing_optional_fields():
    batch = hf_daily.parse(fixture_bytes("hf_daily_2025-01-03_p0.json"), day=DAY)
    paper, entry = batch.papers[1], batch.daily_entries[1]
    assert paper.code_url is paper.project_url is None
    assert entry.organization is entry.github_repo is entry.github_star_count is None
    assert (entry.upvote_count, entry.comment_count, entry.submitted_by) == (5, 0, "otherperson")


def test_parse_skips_non_arxiv_paper_with_reason():
    batch = hf_daily.parse(fixture_bytes("hf_daily_2025-01-03_p0.json"), day=DAY)
    assert [p.arxiv_id for p in batch.papers] == ["2501.00001", "2501.00007"]
    assert [(s.record_id, s.reason) for s in batch.skipped] == [
        ("placeholder-paper-1", "paper id 'placeholder-paper-1' is not an arXiv id")]


def test_list_day_is_the_requested_day_not_the_arxiv_date():
    items = json.loads(fixture_bytes("hf_daily_2025-01-03_p0.json"))
    items[0]["paper"]["submittedOnDailyAt"] = "2025-01-02T23:30:00.000Z"
    asked = hf_daily.parse(json.dumps(items).encode(), day=DAY)
    assert asked.daily_entries[0].day == DAY
    unasked = hf_daily.parse(json.dumps(items).encode())
    assert [e.day for e in unasked.daily_entries] == [date(2025, 1, 2), DAY]


def test_parse_skips_malformed_item_in_the_middle():
    items = json.loads(fixture_bytes("hf_daily_2025-01-03_p0.json"))
    items.insert(1, {"title": "no paper object"})
    items.insert(2, "not an object")
    batch = hf_daily.parse(json.dumps(items).encode(), day=DAY)
    assert [p.arxiv_id for p in batch.papers] == ["2501.00001", "2501.00007"]
    assert [s.record_id for s in batch.skipped] == ["item 2", "item 3", "placeholder-paper-1"]


@pytest.mark.parametrize("body", [b"{\"error\": \"Invalid date\"}", b"<html>oops</html>"])
def test_parse_rejects_a_page_that_is_not_an_array(body):
    with pytest.raises(FetchError, match="Hugging Face"):
        hf_daily.parse(body)


def test_days_between():
    assert hf_daily.days_between(date(2025, 1, 30), date(2025, 2, 1)) == [
        date(2025, 1, 30), date(2025, 1, 31), date(2025, 2, 1)]
    assert hf_daily.days_between(date(2025, 2, 1), date(2025, 1, 30)) == []


# --- fetching over HTTP --------------------------------------------------------

def fetch_all(upstream, clock, days=(DAY,), **options):
    return list(hf_daily.fetch(days, base_url=upstream.url, pacing=clock.pacing(1.0), now=NOW,
                               retry=Retry(attempts=3, backoff_seconds=1.0), **options))


def test_fetch_follows_link_header(upstream, clock):
    next_url = f"{upstream.url}/api/daily_papers?date=2025-01-03&p=1&limit=100"
    upstream.script(
        page("hf_daily_2025-01-03_p0.json", Link=f'<{next_url}>; rel="next"'),
        page("hf_daily_2025-01-03_p1.json"),
    )
    batches = fetch_all(upstream, clock)
    assert [p.arxiv_id for b in batches for p in b.papers] == ["2501.00001", "2501.00007", "2501.00008"]
    assert [(r.path, r.params) for r in upstream.requests] == [
        ("/api/daily_papers", {"date": "2025-01-03", "p": "0", "limit": "100"}),
        ("/api/daily_papers", {"date": "2025-01-03", "p": "1", "limit": "100"}),
    ]
    assert batches[1].daily_entries[0].upvote_count == 17
    assert batches[1].papers[0].authors == (Author("Hidden Author"), Author("Barbara Liskov"))


def test_fetch_without_link_pages_while_full_until_empty(upstream, clock):
    upstream.script(page("hf_daily_2025-01-03_p0.json"), Reply(b"[]"))
    batches = fetch_all(upstream, clock, page_size=3)
    assert len(batches) == 1
    assert [r.params["p"] for r in upstream.requests] == ["0", "1"]


def test_fetch_range_of_days_and_empty_weekend(upstream, clock):
    upstream.script(Reply(b"[]"), page("hf_daily_2025-01-03_p1.json"))
    batches = fetch_all(upstream, clock, days=[date(2025, 1, 4), date(2025, 1, 5)])
    assert [r.params["date"] for r in upstream.requests] == ["2025-01-04", "2025-01-05"]
    assert [e.day for b in batches for e in b.daily_entries] == [date(2025, 1, 5)]


def test_fetch_reports_bad_request(upstream, clock):
    upstream.script(Reply(b'{"error":"date must be YYYY-MM-DD"}', 400))
    with pytest.raises(FetchError, match="answered 400: .*YYYY-MM-DD"):
        fetch_all(upstream, clock)


def test_ingest_stores_papers_and_daily_entries(upstream, clock, store):
    upstream.script(page("hf_daily_2025-01-03_p0.json"))
    report = ingest.run(store, fetch_all(upstream, clock), source="hf_daily")
    assert (report.new_count, report.skipped_count, report.daily_entry_count) == (2, 1, 2)
    assert [e.arxiv_id for e in store.daily_entries(DAY)] == ["2501.00001", "2501.00007"]
    assert store.get_paper("2501.00001").code_url == "https://github.com/placeholder-org/heavy-tails"


def test_withdrawn_at_marks_the_paper_withdrawn():
    items = json.loads(fixture_bytes("merge_hf_daily.json"))
    assert not hf_daily.parse(json.dumps(items).encode()).papers[0].is_withdrawn
    items[0]["paper"]["withdrawnAt"] = "2025-01-20T10:00:00.000Z"
    assert hf_daily.parse(json.dumps(items).encode()).papers[0].is_withdrawn
