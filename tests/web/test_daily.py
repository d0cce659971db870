"""The daily page: order, upvotes, neighbours, pages, the date picker and the empty store."""

from __future__ import annotations

import shlex
from datetime import date, datetime, timedelta, timezone

import pytest

from paperwire import feed
from paperwire.cli import cli
from paperwire.feed import DailyEntry
from paperwire.web.pages import INGEST_EXAMPLES
from tests.conftest import make_paper
from tests.web.conftest import listed_ids

DAY = date(2025, 3, 3)


def at(hour: int, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=timezone.utc)


def entry(arxiv_id: str, upvote_count: int, day: date = DAY) -> DailyEntry:
    return DailyEntry(day=day, arxiv_id=arxiv_id, upvote_count=upvote_count)


@pytest.fixture
def day_with_list(store):
    """Three papers of DAY, one older paper on DAY's list, two of them with upvotes."""
    store.upsert_papers([
        make_paper(arxiv_id="2503.00010", title="Morning paper", published_at=at(8)),
        make_paper(arxiv_id="2503.00011", title="Noon paper", published_at=at(12)),
        make_paper(arxiv_id="2503.00012", title="Evening paper", published_at=at(20)),
        make_paper(arxiv_id="2502.00001", title="Older paper", published_at=at(9, date(2025, 2, 27))),
    ], source="test")
    store.upsert_daily_entries([entry("2503.00010", 7), entry("2502.00001", 31)])
    return store


def test_list_comes_first_by_upvotes_then_the_day_newest_first(client, day_with_list):
    response = client.get("/day/2025-03-03")
    assert response.status_code == 200
    assert listed_ids(response.text) == ["2502.00001", "2503.00010", "2503.00012", "2503.00011"]
    assert '<span class="count">31</span>' in response.text
    assert '<span class="count">7</span>' in response.text
    assert "4 papers · 2 on the Hugging Face daily list" in response.text


def test_day_without_list_shows_its_papers_newest_first(client, store):
    store.upsert_papers([
        make_paper(arxiv_id="2503.00010", published_at=at(8)),
        make_paper(arxiv_id="2503.00011", published_at=at(12)),
    ], source="test")
    html = client.get("/day/2025-03-03").text
    assert listed_ids(html) == ["2503.00011", "2503.00010"]
    assert 'class="votes"' not in html and "daily list" not in html


def test_root_shows_the_latest_day(client, day_with_list):
    assert listed_ids(client.get("/").text) == listed_ids(client.get("/day/2025-03-03").text)


def test_previous_and_next_day_links(client, day_with_list):
    latest = client.get("/day/2025-03-03").text
    assert 'rel="prev" href="/day/2025-02-27"' in latest
    assert 'rel="next"' not in latest
    older = client.get("/day/2025-02-27").text
    assert 'rel="next" href="/day/2025-03-03"' in older


def test_day_with_nothing_says_so_and_links_its_neighbours(client, day_with_list):
    html = client.get("/day/2025-03-01").text
    assert listed_ids(html) == []
    assert "No papers in this store for Saturday, 1 March 2025" in html
    assert 'href="/day/2025-02-27"' in html and 'href="/day/2025-03-03"' in html


def test_pages_hold_every_paper_of_a_busy_day_once(client, store):
    count = 2 * feed.PAGE_SIZE + 7
    store.upsert_papers([
        make_paper(arxiv_id=f"2503.{n:05d}", published_at=at(0) + timedelta(minutes=n))
        for n in range(count)
    ], source="test")
    store.upsert_daily_entries([entry("2503.00003", 9), entry(f"2503.{count - 2:05d}", 4)])

    pages = [client.get(f"/day/2025-03-03?page={n}") for n in (1, 2, 3)]
    ids = [listed_ids(page.text) for page in pages]
    assert ids[0][:2] == ["2503.00003", f"2503.{count - 2:05d}"]
    every = [arxiv_id for page_ids in ids for arxiv_id in page_ids]
    assert sorted(every) == sorted(f"2503.{n:05d}" for n in range(count))
    assert "page 1 of 3" in pages[0].text and 'rel="next" href="/day/2025-03-03?page=2"' in pages[0].text
    assert 'rel="prev" href="/day/2025-03-03"' in pages[1].text
    assert 'rel="next" href="/day/2025-03-03?page=' not in pages[2].text
    assert client.get("/day/2025-03-03?page=4").status_code == 404


@pytest.mark.parametrize("page", ["0", "-1", "two", "1.5", "²"])
def test_a_page_that_is_not_a_number_is_a_bad_request(client, day_with_list, page):
    assert client.get("/day/2025-03-03", params={"page": page}).status_code == 400


def test_date_picker_redirects_to_the_day(client, day_with_list):
    html = client.get("/day/2025-03-03").text
    assert '<form class="date-picker" method="get" action="/day">' in html
    assert 'type="date" name="day" value="2025-03-03"' in html
    response = client.get("/day", params={"day": "2025-02-27"})
    assert (response.status_code, response.headers["location"]) == (302, "/day/2025-02-27")
    assert client.get("/day", params={"day": "27/02/2025"}).status_code == 400


@pytest.mark.parametrize("path", ["/day/2025-02-30", "/day/20250301", "/day/yesterday"])
def test_a_day_that_is_not_a_date_is_not_found(client, day_with_list, path):
    response = client.get(path)
    assert response.status_code == 404
    assert "use YYYY-MM-DD" in response.text


@pytest.mark.parametrize("path", ["/", "/day/2025-03-03"])
def test_empty_store_says_how_to_ingest(client, path):
    html = client.get(path).text
    assert "No papers yet" in html
    for command, _ in INGEST_EXAMPLES:
        assert command.split(" --")[0].split(" {")[0] in html
    assert "paperwire ingest arxiv --category cs.CL --from " in html
    assert "paperwire ingest file papers.jsonl.gz" in html


@pytest.mark.parametrize("command", [c for c, _ in INGEST_EXAMPLES])
def test_suggested_ingest_commands_exist(command):
    words = shlex.split(command)
    assert words[:2] == ["paperwire", "ingest"]
    subcommand = cli.commands["ingest"].commands[words[2]]
    options = {opt for param in subcommand.params for opt in getattr(param, "opts", ())}
    assert {w for w in words[3:] if w.startswith("--")} <= options


def test_untrusted_text_is_escaped(client, store):
    store.upsert_papers([make_paper(
        title="<script>alert(1)</script> Attention",
        abstract='<img src=x onerror="alert(2)"> abstract',
        authors=(),
        code_url="javascript:alert(3)",
        project_url="https://example.org/project",
    )], source="test")
    for path in ("/", "/paper/2503.00001"):
        html = client.get(path).text
        assert "<script>" not in html and "<img" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt; Attention" in html
        assert "javascript:" not in html
        assert 'href="https://example.org/project"' in html
