"""Fuzzing the search box's query syntax (issue #15): nothing a user types raises, and
the parsed query keeps the promises of `search/query.py`'s module docstring."""

from __future__ import annotations

from hypothesis import given, strategies as st

from paperwire.search import query

from .conftest import fuzz
from .strategies import any_text, text

# Pieces of the syntax, so that most inputs use it rather than being plain words.
pieces = st.sampled_from([
    "-", '"', ":", "author:", "au:", "cat:", "category:", "year:", "has:", "code", "..", "2024", "1899",
    "2201", "cs.CL", "-cat:cs.LG", 'author:"a b"', "year:2020..2023", "year:..2019", "year:2023..2020",
    " ", "\u201c", "\u201d", "\x00", "\u202e", "\ud800", "ＡＢＣ", "ﬁ", "x" * 50,
])
queries = st.one_of(text, st.lists(st.one_of(pieces, any_text), max_size=20).map("".join))


@fuzz(3)
@given(st.one_of(st.none(), queries))
def test_query_parse_never_raises_and_keeps_its_promises(typed):
    parsed = query.parse(typed)
    words = parsed.terms + parsed.phrases + parsed.excluded + parsed.authors
    assert len(words + parsed.categories + parsed.ignored) <= query.MAX_QUERY_PARTS
    assert all(word == word.lower() and word.strip() == word and word for word in words)
    assert all(ch.isprintable() for word in words + parsed.categories for ch in word)
    for year in (parsed.year_from, parsed.year_to):
        assert year is None or query.MIN_YEAR <= year <= query.MAX_YEAR
    assert len(parsed.text) <= query.MAX_QUERY_CHARS


@fuzz(1)
@given(st.text(max_size=3 * query.MAX_QUERY_CHARS))
def test_long_queries_are_cut(typed):
    assert len(query.parse(typed).text) <= query.MAX_QUERY_CHARS
