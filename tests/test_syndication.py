"""syndication.py: documents that depend only on their papers, valid without authors or dates."""

from __future__ import annotations

import json

import feedparser
import pytest

from paperwire import syndication
from paperwire.syndication import EPOCH, Feed, atom, json_feed, rss
from tests.conftest import make_paper

SELF = "https://p.example/day/2025-03-01/feed.x"


def feed_of(*papers) -> Feed:
    return Feed(title="Papers", description="Some papers", page_url="https://p.example/day/2025-03-01",
                base_url="https://p.example", papers=tuple(papers))


@pytest.mark.parametrize("write", [atom, rss, json_feed])
def test_the_same_papers_give_the_same_bytes(write):
    papers = (make_paper(), make_paper(arxiv_id="2503.00002"))
    assert write(feed_of(*papers), self_url=SELF) == write(feed_of(*papers), self_url=SELF)


def test_a_paper_without_authors_or_dates_still_makes_valid_feeds():
    bare = make_paper(authors=(), published_at=None, updated_at=None, versions=(), categories=())
    parsed = feedparser.parse(atom(feed_of(bare), self_url=SELF))
    assert not parsed.bozo
    assert parsed.feed.author == "paperwire"  # RFC 4287 4.1.1: the feed's author covers the entry
    assert parsed.entries[0].updated == "1970-01-01T00:00:00+00:00" and "published" not in parsed.entries[0]
    assert not feedparser.parse(rss(feed_of(bare), self_url=SELF)).bozo
    item = json.loads(json_feed(feed_of(bare), self_url=SELF))["items"][0]
    assert item["authors"] == [] and "date_published" not in item


def test_updated_is_the_newest_paper_and_epoch_when_empty():
    older, newer = make_paper(), make_paper(arxiv_id="2503.00002", updated_at=make_paper().updated_at.replace(day=2))
    assert feed_of(older, newer).updated_at == newer.updated_at
    assert feed_of().updated_at == EPOCH


@pytest.mark.parametrize("text, cleaned", [
    ("plain", "plain"),
    ("bell\x07 and nul\x00", "bell and nul"),
    ("tab\tand newline\nkept as spaces", "tab and newline kept as spaces"),
    ("lone surrogate \ud800 and \ufffe", "lone surrogate and"),
    (None, ""),
])
def test_clean(text, cleaned):
    assert syndication.clean(text) == cleaned
