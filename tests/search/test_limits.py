"""Per-query limits (issue #15): phrases, the result window and a deadline."""

import time

import pytest

from paperwire.search import search
from paperwire.search.query import MAX_PHRASES, parse
from paperwire.search.service import MAX_RESULT_WINDOW, SearchService
from tests.conftest import paper_of
from tests.search.conftest import PAPERS


def test_phrases_past_the_limit_are_ignored_and_listed():
    typed = " ".join(f'"w{i} v{i}"' for i in range(MAX_PHRASES + 2)) + ' -"x y" word'
    query = parse(typed)
    assert len(query.phrases) == MAX_PHRASES and query.terms == ("word",)
    assert query.ignored == (f'"w{MAX_PHRASES} v{MAX_PHRASES}"', f'"w{MAX_PHRASES + 1} v{MAX_PHRASES + 1}"',
                             '-"x y"')


@pytest.fixture
def corpus(store):
    store.upsert_papers([paper_of(p) for p in PAPERS], source="test")
    return store


def test_a_page_past_the_result_window_is_refused_with_a_reason(corpus, tmp_path):
    service = SearchService(tmp_path)
    assert service.search(corpus, "attention", offset=MAX_RESULT_WINDOW - 20, limit=20).page.hits == []
    with pytest.raises(ValueError, match="search results stop at the 10,000th; narrow the search"):
        service.search(corpus, "attention", offset=MAX_RESULT_WINDOW, limit=20)


def test_past_its_deadline_a_search_keeps_its_keyword_matches_only(corpus, tmp_path, embedder):
    from paperwire.search import pipeline

    pipeline.embed_pending(corpus, embedder)
    service = SearchService(tmp_path, embedder=embedder)
    service.catch_up(corpus)
    indexes = service.indexes
    text = "generating pictures by reversing a noising process"  # no paper has these words
    full = search(corpus, indexes, text)
    assert not full.is_partial and full.meaning_only_count > 0
    late = search(corpus, indexes, text, deadline=time.monotonic() - 1)
    assert late.is_partial and late.hits == [] and late.meaning_only_count == 0
    words = search(corpus, indexes, "attention", deadline=time.monotonic() - 1)
    assert words.is_partial and words.keyword_count == 4 and len(words.hits) == 4
    keywords_only = search(corpus, indexes, "attention", deadline=time.monotonic() - 1,
                           filters=None, sort="newest")
    assert keywords_only.keyword_count == 4
