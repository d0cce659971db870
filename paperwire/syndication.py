"""Feeds of papers: Atom 1.0, RSS 2.0 and JSON Feed 1.1 documents from a list of papers.

The web layer (web/feeds.py) decides which papers a feed holds, in what order, and
where it lives; this module turns a `Feed` into bytes. Atom and RSS are written
with `feedgenerator` (Django's feed writer as a standalone package, maintained by
the Pelican project: pure Python, escapes through xml.sax's XMLGenerator, refuses
control characters instead of writing invalid XML); `feedgen` was the other
candidate, but its last release is from 2023 and it needs lxml. JSON Feed is
plain JSON. A document is a pure function of its `Feed` (no clock), so the same
papers give the same bytes: the web layer's ETag rests on that.

An entry's id is the paper's arXiv abstract address without a version
(https://arxiv.org/abs/2501.00001): a new version changes the entry's `updated`
time, not its id, so a reader updates the entry it has instead of adding one.
"""

from __future__ import annotations

import html
import io
import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone

from feedgenerator import Atom1Feed, Rss201rev2Feed, rfc3339_date

from paperwire.papers import Paper, display_text

# The time of an undated paper and of an empty feed: Atom needs one and it must
# not be "now", or an unchanged feed would never compare equal.
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
FEED_AUTHOR = "paperwire"
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
ARXIV_CATEGORY_SCHEME = "http://arxiv.org/schemas/atom"  # as arXiv's own feeds label categories
# Characters XML 1.0 cannot carry at all (https://www.w3.org/TR/xml/#charsets): a
# source that sends one loses it here rather than breaking the whole feed.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class Feed:
    """A list of papers as a feed: what it is called, the page it follows
    (`page_url`, absolute) and the papers in the page's order. Paper links point
    to `base_url`/paper/<id>."""

    title: str
    description: str
    page_url: str
    base_url: str
    papers: tuple[Paper, ...]

    @property
    def updated_at(self) -> datetime:
        """When the newest of its papers last changed; EPOCH for an empty feed."""
        return max((updated_at(p) for p in self.papers), default=EPOCH)

    def paper_url(self, paper: Paper) -> str:
        return f"{self.base_url}/paper/{paper.arxiv_id}"


def updated_at(paper: Paper) -> datetime:
    """The paper's last change as the feeds tell it: its update time, else its first publication, else EPOCH."""
    return paper.updated_at or paper.published_at or EPOCH


def entry_id(paper: Paper) -> str:
    """The stable id of the paper's entry in every feed and format (see the module docstring)."""
    return paper.abs_url


def clean(text: str | None) -> str:
    """Display text (normalised LaTeX and spacing) without the characters XML cannot carry."""
    return display_text(_NOT_XML.sub("", text or ""))


# --- Atom 1.0 (RFC 4287) ---------------------------------------------------------

class _Atom(Atom1Feed):
    """feedgenerator's Atom writer with every author (it writes one), plain-text
    summaries (it labels them HTML, so a reader would render an abstract's "<b>"
    as markup) and links to the arXiv abstract and PDF."""

    def latest_post_date(self):
        return self.feed["updated_at"]

    def add_item_elements(self, handler, item):
        paper: Paper = item["paper"]
        handler.addQuickElement("title", item["title"], {"type": "text"})
        handler.addQuickElement("link", "", {"rel": "alternate", "type": "text/html", "href": item["link"]})
        handler.addQuickElement("link", "", {"rel": "related", "type": "text/html", "href": paper.abs_url})
        handler.addQuickElement("link", "", {"rel": "related", "type": "application/pdf", "href": paper.pdf_url})
        handler.addQuickElement("id", item["unique_id"])
        if paper.published_at:
            handler.addQuickElement("published", rfc3339_date(paper.published_at))
        handler.addQuickElement("updated", rfc3339_date(item["updateddate"]))
        for name in item["author_names"]:
            handler.startElement("author", {})
            handler.addQuickElement("name", name)
            handler.endElement("author")
        handler.addQuickElement("summary", item["description"], {"type": "text"})
        for category in item["categories"]:
            handler.addQuickElement("category", "", {"term": category, "scheme": ARXIV_CATEGORY_SCHEME})


# --- RSS 2.0 (https://www.rssboard.org/rss-specification) ---------------------------

class _Rss(Rss201rev2Feed):
    """feedgenerator's RSS writer with the feed's own `lastBuildDate` (it uses the clock
    for an empty feed)."""

    def latest_post_date(self):
        return self.feed["updated_at"]


def atom(feed: Feed, *, self_url: str) -> bytes:
    """The feed as an Atom 1.0 document; `self_url` is its own address (also its id)."""
    # The feed's own author stands in for entries without one (RFC 4287, 4.1.1: a feed
    # needs an author unless every entry has one; a source may send a paper with none).
    document = _Atom(title=clean(feed.title), link=feed.page_url, description=clean(feed.description),
                     feed_url=self_url, feed_guid=self_url, updated_at=feed.updated_at, author_name=FEED_AUTHOR)
    for paper in feed.papers:
        document.add_item(
            title=clean(paper.title), link=feed.paper_url(paper), description=clean(paper.abstract),
            unique_id=entry_id(paper), updateddate=updated_at(paper), categories=_categories(paper),
            paper=paper, author_names=[clean(a.name) for a in paper.authors],
        )
    return _write(document)


def rss(feed: Feed, *, self_url: str) -> bytes:
    """The feed as an RSS 2.0 document; `self_url` is its own address (atom:link rel=self)."""
    document = _Rss(title=clean(feed.title), link=feed.page_url, description=clean(feed.description),
                    feed_url=self_url, updated_at=feed.updated_at)
    for paper in feed.papers:
        document.add_item(
            title=clean(paper.title), link=feed.paper_url(paper),
            # RSS readers take a description as HTML, so plain text is escaped once more.
            description=html.escape(clean(paper.abstract), quote=False),
            author_name=", ".join(clean(a.name) for a in paper.authors) or None,
            pubdate=paper.published_at, unique_id=entry_id(paper), unique_id_is_permalink=True,
            categories=_categories(paper),
        )
    return _write(document)


def _write(document) -> bytes:
    out = io.StringIO()
    document.write(out, "utf-8")
    return out.getvalue().encode("utf-8")


def _categories(paper: Paper) -> list[str]:
    return [c for c in (clean(c) for c in paper.categories) if c]


# --- JSON Feed 1.1 (https://www.jsonfeed.org/version/1.1/) --------------------------

def json_feed(feed: Feed, *, self_url: str) -> bytes:
    """The feed as a JSON Feed 1.1 document; `self_url` is its own address (feed_url)."""
    document = {
        "version": JSON_FEED_VERSION,
        "title": clean(feed.title),
        "home_page_url": feed.page_url,
        "feed_url": self_url,
        "description": clean(feed.description),
        "items": [_json_item(feed, paper) for paper in feed.papers],
    }
    return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")


def _json_item(feed: Feed, paper: Paper) -> dict:
    item = {
        "id": entry_id(paper),
        "url": feed.paper_url(paper),
        "external_url": paper.abs_url,
        "title": display_text(paper.title),
        "content_text": display_text(paper.abstract),
        "date_modified": updated_at(paper).isoformat(),
        "authors": [{"name": display_text(a.name)} for a in paper.authors],
        "tags": list(paper.categories),
    }
    if paper.published_at:
        item["date_published"] = paper.published_at.isoformat()
    return item
