"""The keyword side on tantivy, as bench/engines.py compares it with search/lexical.py.

A candidate, not the product: the smallest adapter that gives tantivy
(the Rust engine behind Quickwit and ParadeDB, tantivy-py bindings) the same
inputs and outputs as `LexicalIndex`: `PaperFields` in, a parsed `Query` in,
(count of every match, the best `limit` paper ids) out. Its length is what a
port would cost, so it stays as small as the semantics allow.

Semantics mapped (docs/search-engines.md): title and abstract are indexed with
positions, lower-cased and Snowball-stemmed with stop words kept, so phrases
with "of" or "the" still match; the ranked part of a query is its words less
Lucene's English stop words, each a should-clause on the abstract and on the
title (boosted by TITLE_BOOST), and at least one must match, as in lexical.py;
phrases are must-clauses (title or abstract), exclusions must-not, and the
filters (author words, categories, year, code link) are unscored must-clauses
on their own fields. `sort=newest` orders all matches by the `day` fast field.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import tantivy

from paperwire.search.lexical import PaperFields, name_words
from paperwire.search.query import Query

TITLE_BOOST = 0.5  # the measured pick on SciFact (a title word is also in a short field)
WRITER_HEAP_BYTES = 200_000_000
_EPOCH = date(1970, 1, 1)
NO_DAY = -(10**6)


def _analyzer(*, stop_words: bool, fold: bool = False):
    builder = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple()).filter(tantivy.Filter.lowercase())
    if fold:
        return builder.filter(tantivy.Filter.ascii_fold()).build()
    if stop_words:
        builder = builder.filter(tantivy.Filter.stopword("english"))
    return builder.filter(tantivy.Filter.stemmer("english")).build()


TEXT = _analyzer(stop_words=False)  # what is indexed: phrases keep their stop words
QUERY = _analyzer(stop_words=True)  # what is ranked
NAMES = _analyzer(stop_words=False, fold=True)


def schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("paper_id", stored=True, indexed=True, fast=True)
    builder.add_text_field("title", tokenizer_name="en_text")
    builder.add_text_field("abstract", tokenizer_name="en_text")
    builder.add_text_field("authors", tokenizer_name="names")
    builder.add_text_field("categories", tokenizer_name="raw", index_option="basic")
    builder.add_integer_field("day", indexed=True, fast=True)
    builder.add_integer_field("has_code", indexed=True, fast=True)
    return builder.build()


def open_index(folder: Path | None) -> tantivy.Index:
    """The index in `folder` (created if missing; in memory for None), tokenizers registered."""
    index = tantivy.Index(schema(), path=str(folder) if folder else None, reuse=True)
    index.register_tokenizer("en_text", TEXT)
    index.register_tokenizer("names", NAMES)
    return index


def add(index: tantivy.Index, papers: list[PaperFields], *, threads: int = 1) -> None:
    """Index `papers` and commit (one writer; tantivy merges segments in the background)."""
    writer = index.writer(heap_size=WRITER_HEAP_BYTES, num_threads=threads)
    for p in papers:
        writer.add_document(tantivy.Document(
            paper_id=p.paper_id, title=p.title, abstract=p.abstract, authors=list(p.authors) or [""],
            categories=list(p.categories) or [""], day=(p.day - _EPOCH).days if p.day else NO_DAY,
            has_code=int(p.has_code),
        ))
    writer.commit()
    writer.wait_merging_threads()
    index.reload()


def to_tantivy(index: tantivy.Index, query: Query):
    """`query` as one tantivy query, or None when it can match nothing."""
    schema_ = index.schema
    must, must_not = [], []
    ranked = QUERY.analyze(" ".join(query.terms + query.phrases))
    if ranked:
        should = [(tantivy.Occur.Should, q) for t in dict.fromkeys(ranked) for q in (
            tantivy.Query.boost_query(tantivy.Query.term_query(schema_, "title", t), TITLE_BOOST),
            tantivy.Query.term_query(schema_, "abstract", t))]
        must.append(tantivy.Query.boolean_query(should))
    for phrase in query.phrases:
        must.append(_phrase(schema_, phrase))
    for excluded in query.excluded:
        must_not.append(_phrase(schema_, excluded))
    filters = _filters(schema_, query)
    if not must and not filters and not must_not:
        return None
    clauses = [(tantivy.Occur.Must, q) for q in must] + [(tantivy.Occur.MustNot, q) for q in must_not]
    clauses += [(tantivy.Occur.Must, tantivy.Query.const_score_query(f, 0.0)) for f in filters]
    if not must:
        clauses.append((tantivy.Occur.Must, tantivy.Query.const_score_query(tantivy.Query.all_query(), 0.0)))
    return tantivy.Query.boolean_query(clauses)


def _phrase(schema_, text: str):
    """`text` in the title or the abstract: one word is a term, more a phrase."""
    tokens = TEXT.analyze(text)
    if not tokens:
        return tantivy.Query.empty_query()
    sides = [tantivy.Query.term_query(schema_, f, tokens[0]) if len(tokens) == 1
             else tantivy.Query.phrase_query(schema_, f, tokens) for f in ("title", "abstract")]
    return tantivy.Query.boolean_query([(tantivy.Occur.Should, q) for q in sides])


def _filters(schema_, query: Query) -> list:
    found = []
    for author in query.authors:  # as lexical.py: every word of the name somewhere in the author list
        found += [tantivy.Query.term_query(schema_, "authors", word) for word in name_words(author)]
    if query.categories:
        found.append(tantivy.Query.boolean_query(
            [(tantivy.Occur.Should, tantivy.Query.term_query(schema_, "categories", c)) for c in query.categories]))
    if query.year_from is not None or query.year_to is not None:
        low = (date(query.year_from, 1, 1) - _EPOCH).days if query.year_from else None
        high = (date(query.year_to, 12, 31) - _EPOCH).days if query.year_to else None
        found.append(tantivy.Query.range_query(schema_, "day", tantivy.FieldType.Integer, low, high))
    if query.has_code:
        found.append(tantivy.Query.term_query(schema_, "has_code", 1))
    return found


def search(index: tantivy.Index, searcher, query: Query, *, limit: int = 20, sort: str = "relevance"):
    """(count of every match, the best `limit` paper ids): by BM25, or newest first."""
    compiled = to_tantivy(index, query)
    if compiled is None:
        return 0, []
    if sort == "newest":
        result = searcher.search(compiled, limit=limit, count=True, order_by_field="day")
    else:
        result = searcher.search(compiled, limit=limit, count=True)
    return result.count, searcher.fast_field_values("paper_id", [address for _, address in result.hits])


def ranking(index: tantivy.Index, searcher, query: Query, *, limit: int = 100) -> list[tuple[int, float]]:
    """(paper id, BM25 score) of the best `limit`, for fusion."""
    compiled = to_tantivy(index, query)
    if compiled is None:
        return []
    result = searcher.search(compiled, limit=limit, count=False)
    ids = searcher.fast_field_values("paper_id", [address for _, address in result.hits])
    return [(pid, score) for pid, (score, _) in zip(ids, result.hits)]
