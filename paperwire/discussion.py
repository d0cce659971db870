"""Comments as text: what a comment may say, how its Markdown becomes safe HTML, and threads.

This module owns the rules that need no database: the size limit, cleaning the
text, rendering CommonMark with markdown-it-py (raw HTML off, no images, no
headings) and sanitising the result with nh3 (the Rust `ammonia` sanitiser) to an
allow-list of tags, attributes and link schemes, and the one level of replies (a
reply to a reply joins its parent's thread). Storing comments, their authors,
edits, deletions and the admin's hide are the store's and the routes'
(docs/community.md); the page template inserts `render()`'s output as it is, so
everything that makes it safe happens here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Protocol, TypeVar

import nh3
from markdown_it import MarkdownIt

COMMENT_MAX_CHARS = 10_000  # about 1,500 words: a review, not a paper; bounds the render's work
# Bump when the rules below change: the store keeps each comment's HTML with the version
# that rendered it and renders older ones again (docs/community.md).
RENDER_VERSION = 1
ALLOWED_TAGS = frozenset({
    "p", "br", "em", "strong", "code", "pre", "blockquote", "ul", "ol", "li", "a", "hr",
})
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
# Only links a reader can follow safely: no javascript:, data:, vbscript:, file: (OWASP
# XSS Prevention Cheat Sheet, rule 5), and no relative links, which would read as ours.
LINK_SCHEMES = frozenset({"http", "https", "mailto"})
# nofollow and ugc: search engines give the link no credit from us (Google's
# "Qualify your outbound links"), so comment spam earns nothing; noopener as a guard.
LINK_REL = "nofollow ugc noopener"
# Control characters other than tab and newline: invisible in the page, and NUL breaks
# PostgreSQL text.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

# CommonMark with raw HTML escaped, not passed through. Images are off (no hot-linking,
# no tracking pixels in our pages: `![x](url)` becomes "!" and a link) and so are
# headings (a comment's "# Title" would break the page's heading outline); the
# preset's maxNesting (20) bounds how deep quotes and lists go.
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).disable(["image", "heading", "lheading"])


class CommentError(ValueError):
    """A comment that cannot be posted; the message says why."""


def clean_text(text: str) -> str:
    """The text as it is stored: Unix newlines, no control characters, no trailing
    blank space."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text).rstrip()


def check_comment(text: str) -> str:
    """The cleaned text of a comment, ready to store; raises CommentError when it is
    empty or over COMMENT_MAX_CHARS, with the count."""
    cleaned = clean_text(text)
    if not cleaned.strip():
        raise CommentError("the comment is empty; write something before posting")
    if len(cleaned) > COMMENT_MAX_CHARS:
        raise CommentError(
            f"the comment has {len(cleaned):,} characters; the limit is {COMMENT_MAX_CHARS:,}"
        )
    return cleaned


def render(text: str) -> str:
    """The comment's Markdown as HTML that is safe to put in a page as it is."""
    return nh3.clean(
        _MARKDOWN.render(text),
        tags=set(ALLOWED_TAGS),
        clean_content_tags={"script", "style"},
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(LINK_SCHEMES),
        url_relative="deny",
        link_rel=LINK_REL,
        strip_comments=True,
    )


# --- threads ----------------------------------------------------------------------

def reply_parent(replied_to_id: int, replied_to_parent_id: int | None) -> int:
    """The comment a reply attaches to: the comment replied to, or, when that is itself
    a reply, its parent. So threads have one level of replies, as on Hugging Face."""
    return replied_to_id if replied_to_parent_id is None else replied_to_parent_id


class Threaded(Protocol):
    id: int
    parent_id: int | None
    created_at: datetime


C = TypeVar("C", bound=Threaded)


def thread(comments: Iterable[C]) -> list[tuple[C, list[C]]]:
    """Comments as the page shows them: each top-level comment, oldest first, with its
    replies, oldest first (ties by id). A reply whose parent is not among `comments`
    shows at the top level rather than vanish."""
    ordered = sorted(comments, key=lambda c: (c.created_at, c.id))
    ids = {c.id for c in ordered}
    replies: dict[int, list[C]] = {}
    top: list[C] = []
    for comment in ordered:
        if comment.parent_id is not None and comment.parent_id in ids:
            replies.setdefault(comment.parent_id, []).append(comment)
        else:
            top.append(comment)
    return [(comment, replies.get(comment.id, [])) for comment in top]


def count(threads: Sequence[tuple[C, list[C]]]) -> int:
    """The number of comments in `threads`, replies included (the lists' comment count)."""
    return sum(1 + len(replies) for _, replies in threads)
