"""Comment text: safe Markdown (tables of attacks, a property test), limits, one level of replies."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings, strategies as st

from paperwire import discussion
from paperwire.discussion import (
    ALLOWED_ATTRIBUTES, ALLOWED_TAGS, COMMENT_MAX_CHARS, CommentError, check_comment, render, reply_parent,
    thread,
)

REL = 'rel="nofollow ugc noopener"'


class Tags(HTMLParser):
    """Every start tag with its attributes, as a browser's tokenizer would read them."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag


def assert_safe(html: str) -> None:
    """The oracle: only allowed tags and attributes, links only http(s)/mailto with our
    rel, and no script or event handler anywhere in the text."""
    assert "<script" not in html.lower()
    for tag_text in re.findall(r"<[a-zA-Z][^>]*>", html):
        outside_values = re.sub(r'"[^"]*"', '""', tag_text)  # values are always double-quoted
        assert not re.search(r"\son\w+\s*=", outside_values, re.IGNORECASE), tag_text
    for tag, attrs in Tags(html).tags:
        assert tag in ALLOWED_TAGS, tag
        assert set(attrs) <= ALLOWED_ATTRIBUTES.get(tag, set()) | ({"rel"} if tag == "a" else set()), attrs
        if tag == "a":
            assert attrs.get("rel") == "nofollow ugc noopener"
            href = attrs.get("href")
            assert href is None or re.match(r"(?i)(https?|mailto):", href), href


@pytest.mark.parametrize("text, html", [
    ("plain *words* and **strong**", "<p>plain <em>words</em> and <strong>strong</strong></p>"),
    ("[a paper](https://arxiv.org/abs/2501.00001)",
     f'<p><a href="https://arxiv.org/abs/2501.00001" {REL}>a paper</a></p>'),
    ("<https://example.org/x>", f'<p><a href="https://example.org/x" {REL}>https://example.org/x</a></p>'),
    ("[mail](mailto:ada@example.org)", f'<p><a href="mailto:ada@example.org" {REL}>mail</a></p>'),
    ("`x < y`", "<p><code>x &lt; y</code></p>"),
    ("> quoted", "<blockquote>\n<p>quoted</p>\n</blockquote>"),
    ("3. three\n4. four", '<ol start="3">\n<li>three</li>\n<li>four</li>\n</ol>'),
    ("- a\n  - b\n    - c", "<ul>\n<li>a\n<ul>\n<li>b\n<ul>\n<li>c</li>\n</ul>\n</li>\n</ul>\n</li>\n</ul>"),
])
def test_markdown_renders(text, html):
    assert render(text).strip() == html


@pytest.mark.parametrize("text, html", [
    # Script tags and raw HTML are shown as text, never run.
    ("<script>alert(1)</script>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"),
    ("<SCRIPT SRC=//evil.example/x.js></SCRIPT>", "<p>&lt;SCRIPT SRC=//evil.example/x.js&gt;&lt;/SCRIPT&gt;</p>"),
    ("<b onclick=alert(1)>hi</b>", "<p>&lt;b onclick=alert(1)&gt;hi&lt;/b&gt;</p>"),
    ("<iframe src=https://evil.example></iframe>", "<p>&lt;iframe src=https://evil.example&gt;&lt;/iframe&gt;</p>"),
    ("<div>\n<style>body{}</style>\n</div>", "<p>&lt;div&gt;\n&lt;style&gt;body{}&lt;/style&gt;\n&lt;/div&gt;</p>"),
    ("<!-- hidden -->", "<p>&lt;!-- hidden --&gt;</p>"),
    # Dangerous schemes never become links.
    ("[x](javascript:alert(1))", "<p>[x](javascript:alert(1))</p>"),
    ("[x](JaVaScRiPt:alert(1))", "<p>[x](JaVaScRiPt:alert(1))</p>"),
    ("[x](data:text/html;base64,PHNjcmlwdD4=)", "<p>[x](data:text/html;base64,PHNjcmlwdD4=)</p>"),
    ("[x](vbscript:msgbox)", "<p>[x](vbscript:msgbox)</p>"),
    ("<javascript:alert(1)>", "<p>&lt;javascript:alert(1)&gt;</p>"),
    ("[x](&#106;avascript:alert(1))", "<p>[x](javascript:alert(1))</p>"),  # entity decoded, then refused
    ("[x](ftp://example.org/f)", f"<p><a {REL}>x</a></p>"),
    # Relative links would read as ours; they keep their text and lose the href.
    ("[log out](/logout)", f"<p><a {REL}>log out</a></p>"),
    ("[x](//evil.example/)", f"<p><a {REL}>x</a></p>"),
    # Attribute injection through a link's title or URL stays inside the attribute.
    ('[x](https://a.example "t\\" onmouseover=\\"alert(1)")',
     f'<p><a href="https://a.example" title="t&quot; onmouseover=&quot;alert(1)" {REL}>x</a></p>'),
    ('[x](https://a.example/"onmouseover="alert(1))',
     f'<p><a href="https://a.example/%22onmouseover=%22alert(1)" {REL}>x</a></p>'),
    # No images: no hot-linking, no tracking pixels.
    ("![pixel](https://tracker.example/p.gif)", f'<p>!<a href="https://tracker.example/p.gif" {REL}>pixel</a></p>'),
    # No headings in a comment: they would break the page's outline.
    ("# Shouting\nSetext\n===", "<p># Shouting\nSetext\n===</p>"),
])
def test_attacks_are_defused(text, html):
    rendered = render(text)
    assert rendered.strip() == html
    assert_safe(rendered)


def test_deep_nesting_is_bounded():
    rendered = render("> " * 5000 + "deep\n\n" + "".join("  " * i + "- item\n" for i in range(500)))
    assert rendered.count("<blockquote>") <= 20
    assert_safe(rendered)


def test_a_comment_at_the_limit_renders_quickly():
    hostile = ("[" * 50 + "*_`<a href=" + "](" * 50 + "\n") * (COMMENT_MAX_CHARS // 260)
    assert len(hostile) <= COMMENT_MAX_CHARS
    text = check_comment(hostile)
    start = time.perf_counter()
    assert_safe(render(text))
    assert time.perf_counter() - start < 2.0  # generous: shared CI cores; typical is ~10 ms


@pytest.mark.parametrize("text, words", [
    ("", "the comment is empty"), (" \n\t\r\n ", "the comment is empty"), ("\x00\x01", "the comment is empty"),
    ("x" * (COMMENT_MAX_CHARS + 1), "has 10,001 characters; the limit is 10,000"),
])
def test_comments_refused_say_why(text, words):
    with pytest.raises(CommentError, match=words):
        check_comment(text)


def test_comment_text_is_cleaned():
    assert check_comment("line one\r\nline two\x00\x07\rthree \n\n") == "line one\nline two\nthree"
    assert check_comment("x" * COMMENT_MAX_CHARS) == "x" * COMMENT_MAX_CHARS


# Fragments that attackers combine, mixed with arbitrary text.
FRAGMENTS = st.sampled_from([
    "<script>", "</script>", "<scr", "ipt>", "<img src=x onerror=alert(1)>", "<a href=", "<svg onload=x>",
    "javascript:", "JAVASCRIPT:", "java\tscript:", "&#106;avascript:", "data:text/html,", "vbscript:",
    "mailto:", "http://", "https://", "//", "[", "]", "(", ")", "](", "![", "<", ">", '"', "'", "`", "```",
    "onerror=", " onclick=", "=", "&", "&lt;", "\n", "\n\n", "> ", "- ", "1. ", "*", "_", "\\", " ", "x",
    "<style>", "<!--", "-->", "<iframe", "&quot;", "%22", "\u202e", "\x00",
])
COMMENTS = st.one_of(st.lists(st.one_of(FRAGMENTS, st.text(max_size=8)), max_size=40).map("".join), st.text())


@settings(max_examples=400, deadline=None)
@given(COMMENTS)
def test_no_output_is_ever_unsafe(text):
    assert_safe(render(text))


@pytest.mark.parametrize("replied_to_id, replied_to_parent_id, parent", [
    (7, None, 7),  # a reply to a top-level comment attaches to it
    (9, 7, 7),  # a reply to a reply attaches to that reply's parent
])
def test_one_level_of_replies(replied_to_id, replied_to_parent_id, parent):
    assert reply_parent(replied_to_id, replied_to_parent_id) == parent


@dataclass
class Comment:
    id: int
    parent_id: int | None
    created_at: datetime


def test_threads_put_replies_under_their_parent_oldest_first():
    t0 = datetime(2026, 6, 1, tzinfo=timezone.utc)
    at = [t0 + timedelta(minutes=m) for m in range(10)]
    comments = [
        Comment(5, 1, at[4]), Comment(1, None, at[0]), Comment(2, None, at[1]), Comment(3, 1, at[2]),
        Comment(4, 2, at[3]), Comment(6, 99, at[5]),  # its parent is gone: shown at the top
        Comment(8, None, at[6]), Comment(7, None, at[6]),  # same instant: by id
    ]
    threads = thread(comments)
    assert [(c.id, [r.id for r in replies]) for c, replies in threads] == [
        (1, [3, 5]), (2, [4]), (6, []), (7, []), (8, []),
    ]
    assert discussion.count(threads) == len(comments)
    assert thread([]) == []
