"""Feeds: every list page's Atom, RSS and JSON Feed, held to the page, the specs and HTTP caching."""

from __future__ import annotations

from datetime import date, datetime, timezone
from email.utils import format_datetime

import feedparser
import pytest
from starlette.testclient import TestClient

from paperwire import config
from paperwire.papers import Author
from paperwire.search.service import SearchService
from paperwire.feed import DailyEntry
from paperwire.web.app import create_app
from paperwire.web.feeds import is_fresh
from tests.conftest import make_paper, paper_of
from tests.search.conftest import PAPERS
from tests.web.conftest import listed_ids

DAY = date(2017, 6, 12)  # the day of PAPERS' paper 1
BASE = "https://papers.example.org/pw"


@pytest.fixture
def corpus(store):
    """The ten search papers, three more on DAY, and DAY's community list."""
    store.upsert_papers([paper_of(p) for p in PAPERS], source="test")
    store.upsert_papers([
        make_paper(arxiv_id=f"1706.0000{n}", title=f"Transformer follow-up {n}", categories=("cs.CL",),
                   primary_category="cs.CL", authors=(Author("Ashish Vaswani"),),
                   published_at=datetime(2017, 6, 12, 8 + n, tzinfo=timezone.utc), updated_at=None)
        for n in range(1, 4)
    ], source="test")
    store.upsert_daily_entries([DailyEntry(day=DAY, arxiv_id="1706.00002", upvote_count=9)])
    return store


@pytest.fixture
def client(settings, corpus, tmp_path):
    app = create_app(settings, store=corpus, search=SearchService(tmp_path / "indexes"))
    return TestClient(app, follow_redirects=False)


# page, its feed with {} for the format
PAGES = [
    ("/", "/feed.{}"),
    ("/day/2017-06-12", "/day/2017-06-12/feed.{}"),
    ("/search?q=attention", "/search/feed.{}?q=attention"),
    ("/search?q=attention&sort=newest&cat=cs.CL", "/search/feed.{}?q=attention&sort=newest&cat=cs.CL"),
    ("/search?cat=cs.CL&sort=newest", "/category/cs.CL/feed.{}"),
    ('/search?q=author%3A%22Ashish+Vaswani%22&sort=newest', "/author/Ashish Vaswani/feed.{}"),
]


def parse(response) -> feedparser.FeedParserDict:
    assert response.status_code == 200, response.text
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    return parsed


def entry_ids(parsed) -> list[str]:
    return [e.id.removeprefix("https://arxiv.org/abs/") for e in parsed.entries]


@pytest.mark.parametrize("page, feed", PAGES)
@pytest.mark.parametrize("kind, version", [("atom", "atom10"), ("rss", "rss20")])
def test_every_feed_parses_and_lists_the_page(client, page, feed, kind, version):
    expected = listed_ids(client.get(page).text)
    assert expected, f"{page} lists no papers, so the test would prove nothing"
    response = client.get(feed.format(kind))
    parsed = parse(response)
    assert parsed.version == version
    assert response.headers["content-type"] == f"application/{kind}+xml; charset=utf-8"
    assert entry_ids(parsed) == expected
    assert [e.link for e in parsed.entries] == [f"http://testserver/paper/{i}" for i in expected]


@pytest.mark.parametrize("page, feed", PAGES)
def test_json_feed_has_the_required_fields_and_the_page(client, page, feed):
    response = client.get(feed.format("json"))
    assert response.headers["content-type"] == "application/feed+json; charset=utf-8"
    document = response.json()
    # JSON Feed 1.1: version, title and items are required; an item needs an id
    # and content_html or content_text (https://www.jsonfeed.org/version/1.1/).
    assert document["version"] == "https://jsonfeed.org/version/1.1"
    assert document["title"] and document["feed_url"] == "http://testserver" + feed.format("json").replace(" ", "%20")
    for item in document["items"]:
        assert isinstance(item["id"], str) and item["content_text"]
        assert datetime.fromisoformat(item["date_modified"]).tzinfo is not None
    assert [i["id"].removeprefix("https://arxiv.org/abs/") for i in document["items"]] == \
        listed_ids(client.get(page).text)


def test_every_feed_page_links_its_feeds(client):
    for page, feed in PAGES[:3]:
        html = client.get(page).text
        for kind, media_type in [("atom", "application/atom+xml"), ("rss", "application/rss+xml"),
                                 ("json", "application/feed+json")]:
            href = feed.format(kind).replace("&", "&amp;")
            assert f'<link rel="alternate" type="{media_type}"' in html and f'href="{href}"' in html, (page, kind)
    paper_page = client.get("/paper/2501.00001").text
    assert 'type="application/atom+xml" title="Newest in cs.CL (Atom)" href="/category/cs.CL/feed.atom"' in paper_page
    assert client.get("/search").text.count('rel="alternate"') == 0  # nothing searched, nothing to follow


def test_entries_carry_the_paper(client):
    parsed = parse(client.get("/search/feed.atom?q=diffusion"))
    (entry,) = parsed.entries
    assert entry.id == "https://arxiv.org/abs/2501.00004"  # no version: a new version updates the entry
    assert entry.title == "Denoising diffusion probabilistic models"
    assert entry.summary == "Diffusion models give high quality image synthesis."
    assert [a.name for a in entry.authors] == ["Jonathan Ho"]
    assert [t.term for t in entry.tags] == ["cs.LG", "stat.ML"]
    assert entry.published == "2020-06-19T00:00:00+00:00"
    assert entry.updated == "2025-03-01T18:00:00+00:00"  # make_paper's update time
    assert {link.href for link in entry.links} >= {"https://arxiv.org/abs/2501.00004",
                                                    "https://arxiv.org/pdf/2501.00004"}
    assert parsed.feed.updated == "2025-03-01T18:00:00+00:00"  # the newest paper's time, not the clock


def test_hostile_text_is_escaped_and_stays_valid(client, corpus):
    title = 'Attention <script>alert(1)</script> & "quotes" \x01\x0b end'
    corpus.upsert_papers([make_paper(arxiv_id="2503.00099", title=title, abstract="a < b && c > d")], source="t")
    for kind in ("atom", "rss"):
        body = client.get(f"/search/feed.{kind}?q=alert").content
        assert b"<script>" not in body and b"\x01" not in body
        (entry,) = parse(client.get(f"/search/feed.{kind}?q=alert")).entries
        assert entry.title == 'Attention <script>alert(1)</script> & "quotes" end'
    atom_entry = parse(client.get("/search/feed.atom?q=alert")).entries[0]
    assert atom_entry.summary == "a < b && c > d"


def test_a_search_feed_gains_a_paper_once_it_is_ingested(client, corpus):
    url = "/search/feed.atom?q=attention&sort=newest"
    first = client.get(url)
    assert "2503.00042" not in entry_ids(parse(first))
    corpus.upsert_papers([make_paper(arxiv_id="2503.00042", title="Attention, again",
                                     published_at=datetime(2025, 3, 1, tzinfo=timezone.utc))], source="test")
    second = client.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert entry_ids(parse(second))[0] == "2503.00042"
    assert second.headers["etag"] != first.headers["etag"]


def test_conditional_get(client, corpus):
    url = "/day/2017-06-12/feed.rss"
    first = client.get(url)
    etag, last_modified = first.headers["etag"], first.headers["last-modified"]
    assert first.headers["cache-control"] == "public, max-age=900"
    assert last_modified == "Sat, 01 Mar 2025 18:00:00 GMT"  # paper 1's update, the newest of the day
    for headers in ({"If-None-Match": etag}, {"If-None-Match": f'"other", W/{etag}'},
                    {"If-Modified-Since": last_modified}):
        unchanged = client.get(url, headers=headers)
        assert unchanged.status_code == 304 and unchanged.content == b""
        assert unchanged.headers["etag"] == etag and unchanged.headers["cache-control"]
    assert client.get(url, headers={"If-None-Match": '"other"'}).status_code == 200
    assert client.get(url, headers={"If-Modified-Since": "Sat, 01 Mar 2025 17:59:59 GMT"}).status_code == 200
    # An upvote moves a paper to the top of the day's list: the document changes, so its ETag does.
    corpus.upsert_daily_entries([DailyEntry(day=DAY, arxiv_id="1706.00003", upvote_count=50)])
    changed = client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and entry_ids(parse(changed))[0] == "1706.00003"


@pytest.mark.parametrize("headers, fresh", [
    ({}, False),
    ({"if-none-match": '"abc"'}, True),
    ({"if-none-match": 'W/"abc"'}, True),
    ({"if-none-match": '"x", "abc"'}, True),
    ({"if-none-match": "*"}, True),
    ({"if-none-match": '"x"', "if-modified-since": "Sat, 01 Mar 2025 18:00:00 GMT"}, False),  # ETag wins
    ({"if-modified-since": "Sat, 01 Mar 2025 18:00:00 GMT"}, True),
    ({"if-modified-since": "Sat, 01 Mar 2025 17:59:59 GMT"}, False),
    ({"if-modified-since": "yesterday"}, False),
])
def test_is_fresh(headers, fresh):
    last_modified = datetime(2025, 3, 1, 18, 0, 0, 500_000, tzinfo=timezone.utc)  # HTTP dates drop the fraction
    assert is_fresh(headers, etag='"abc"', last_modified=last_modified) is fresh
    assert format_datetime(last_modified.replace(microsecond=0), usegmt=True) == "Sat, 01 Mar 2025 18:00:00 GMT"


def test_base_url_setting_makes_the_links(sqlite_url, corpus, tmp_path):
    settings = config.load({}, database_url=sqlite_url, harvest_enabled="false", base_url=BASE)
    client = TestClient(create_app(settings, store=corpus, search=SearchService(tmp_path / "i")))
    parsed = parse(client.get("/day/2017-06-12/feed.atom"))
    assert parsed.feed.link == f"{BASE}/day/2017-06-12"
    assert {e.link for e in parsed.entries} == {f"{BASE}/paper/{i}" for i in entry_ids(parsed)}
    assert any(link.rel == "self" and link.href == f"{BASE}/day/2017-06-12/feed.atom" for link in parsed.feed.links)


def test_an_empty_store_has_an_empty_latest_feed(settings, store, tmp_path):
    client = TestClient(create_app(settings, store=store, search=SearchService(tmp_path / "i")))
    parsed = parse(client.get("/feed.atom"))
    assert parsed.entries == [] and parsed.feed.updated == "1970-01-01T00:00:00+00:00"
    assert client.get("/feed.atom").headers["etag"] == client.get("/feed.atom").headers["etag"]


@pytest.mark.parametrize("path, status, words", [
    ("/feed.xml", 404, "there is no feed format 'xml'"),
    ("/day/2017-13-01/feed.atom", 404, "is not a day"),
    ("/day/2017-06-12/feed.atom?page=2", 404, "has 1 page(s) of papers, not 2"),
    ("/search/feed.atom", 400, "a search feed needs something to search for"),
    ("/search/feed.atom?q=x&mode=psychic", 400, "mode 'psychic' is not known"),
    ("/category/<b>/feed.atom", 404, "is not an arXiv category"),
])
def test_feed_errors_are_pages(client, path, status, words):
    response = client.get(path)
    assert response.status_code == status
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert words.replace("'", "&#39;") in response.text
