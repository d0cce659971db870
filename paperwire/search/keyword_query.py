"""The keyword index's schema and analyzers, and a parsed `Query` as one tantivy query.

Owns how a paper becomes a tantivy document (`document`) and the matching
rules of a query (`compile_query`): at least one of its words (less Lucene's
English stop words), scored on the abstract and on the title (boosted), every
phrase side by side in title and abstract read as one text (stop words kept),
no excluded word or phrase, and the filters as unscored clauses on their own
fields. tests/search/test_exact.py holds these rules to a brute-force scan;
`keywords.py` runs the queries against the index.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date

import tantivy

from paperwire.papers import normalise_name
from paperwire.search.query import Query
from paperwire.search.text import name_words

NO_DAY = -(2**40)  # a paper without a publication day: before any day, outside every year range
_EPOCH = date(1970, 1, 1)
FAR_DAY = 2**40


def _analyzer(*, stop_words: bool):
    builder = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple()).filter(tantivy.Filter.lowercase())
    if stop_words:
        builder = builder.filter(tantivy.Filter.stopword("english"))
    return builder.filter(tantivy.Filter.stemmer("english")).build()


TEXT = _analyzer(stop_words=False)  # what is indexed: phrases keep their stop words
RANKED = _analyzer(stop_words=True)  # the words a query ranks by
_KEYS = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.raw()).build()  # author words, categories: as given


def analyse(text: str) -> list[str]:
    """Index terms of `text` as tantivy ranks them: NFKC, lower case, stop words dropped, stemmed."""
    return RANKED.analyze(_nfkc(text))


def _nfkc(text: str) -> str:
    # NFKC in Python, as text.words does: tantivy has no Unicode normaliser ("ﬁ" -> "fi").
    return unicodedata.normalize("NFKC", text or "")


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("paper_id", indexed=True, fast=True)
    builder.add_text_field("title", tokenizer_name="en_text", index_option="freq")
    builder.add_text_field("abstract", tokenizer_name="en_text", index_option="freq")
    # title and abstract as one text with positions: what phrases, exclusions and matching read
    builder.add_text_field("text", tokenizer_name="en_text", index_option="position")
    builder.add_text_field("authors", tokenizer_name="keys", index_option="basic")
    # each author's whole name as papers.normalise_name folds it: an author's page reads exactly
    # their papers (the word field above gave "Li Wang" every paper with a Li and a Wang: 910 ms)
    builder.add_text_field("author_names", tokenizer_name="keys", index_option="basic")
    builder.add_text_field("categories", tokenizer_name="keys", index_option="basic")
    builder.add_integer_field("day", indexed=True, fast=True)
    builder.add_integer_field("has_code", indexed=True, fast=True)
    builder.add_integer_field("is_withdrawn", indexed=True, fast=True)
    return builder.build()


SCHEMA = _schema()


@dataclass(frozen=True)
class PaperFields:
    """What the keyword index keeps of one paper."""

    paper_id: int
    title: str
    abstract: str
    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    day: date | None = None
    has_code: bool = False
    is_withdrawn: bool = False


def register_analyzers(index: tantivy.Index) -> None:
    """Give `index` the analyzers its schema names (an index does not store them)."""
    for name, analyzer in (("en_text", TEXT), ("keys", _KEYS)):
        index.register_tokenizer(name, analyzer)


def document(paper: PaperFields) -> tantivy.Document:
    """`paper` as the index keeps it; NFKC first, as `text.words` does."""
    title, abstract = _nfkc(paper.title), _nfkc(paper.abstract)
    return tantivy.Document(
        paper_id=paper.paper_id, title=title, abstract=abstract, text=f"{title}\n{abstract}",
        authors=sorted({w for name in paper.authors for w in name_words(name)}),
        author_names=sorted({key for key in map(normalise_name, paper.authors) if key}),
        categories=sorted({c.lower() for c in paper.categories}),
        day=NO_DAY if paper.day is None else (paper.day - _EPOCH).days,
        has_code=int(bool(paper.has_code)), is_withdrawn=int(bool(paper.is_withdrawn)),
    )


def compile_query(query: Query, title_boost: float):
    """`query` as one tantivy query, or None when it can match nothing."""
    ranked = analyse(" ".join(query.terms + query.phrases))
    must = []
    if ranked:  # at least one word, scored on the abstract and the (boosted) title
        must.append(tantivy.Query.boolean_query([
            (tantivy.Occur.Should, q) for term in dict.fromkeys(ranked) for q in (
                tantivy.Query.boost_query(tantivy.Query.term_query(SCHEMA, "title", term, "freq"), title_boost),
                tantivy.Query.term_query(SCHEMA, "abstract", term, "freq"))
        ]))
    must += phrases(query)
    excluded, unscored = exclusions(query), filters(query)
    if not must and not (unscored or query.excluded):
        return None
    clauses = [(tantivy.Occur.Must, q) for q in must] + [(tantivy.Occur.MustNot, q) for q in excluded]
    clauses += [(tantivy.Occur.Must, tantivy.Query.const_score_query(f, 0.0)) for f in unscored]
    if not must:
        clauses.append((tantivy.Occur.Must, tantivy.Query.const_score_query(tantivy.Query.all_query(), 0.0)))
    return tantivy.Query.boolean_query(clauses)


def every(*queries):
    """A query that all of `queries` must match."""
    return tantivy.Query.boolean_query([(tantivy.Occur.Must, q) for q in queries])


def day_range(low: int, high: int):
    """Papers published from day `low` to `high` (days since 1970-01-01), unscored."""
    return tantivy.Query.const_score_query(
        tantivy.Query.range_query(SCHEMA, "day", tantivy.FieldType.Integer, low, high), 0.0)


def phrase(text: str):
    """The words of `text` side by side in title + abstract (stop words kept); None for no words."""
    tokens = TEXT.analyze(_nfkc(text))
    if not tokens:
        return None
    if len(tokens) == 1:
        return tantivy.Query.term_query(SCHEMA, "text", tokens[0])
    return tantivy.Query.phrase_query(SCHEMA, "text", tokens)


def phrases(query: Query) -> list:
    """One query per phrase of `query` that has words."""
    return [q for q in map(phrase, query.phrases) if q is not None]


def exclusions(query: Query) -> list:
    """An excluded word drops the papers with any of its terms (stop words ask nothing);
    an excluded phrase, the papers with the phrase."""
    found = []
    for excluded in query.excluded:
        if " " in excluded:
            found += [q for q in [phrase(excluded)] if q is not None]
        else:
            found += [tantivy.Query.term_query(SCHEMA, "text", t) for t in analyse(excluded)]
    return found


def author_name(name: str):
    """The query for the papers with an author whose normalise_name is `name`'s, or None
    for a name with no letters."""
    key = normalise_name(name)
    return tantivy.Query.term_query(SCHEMA, "author_names", key, "basic") if key else None


def filters(query: Query) -> list:
    """One query per filter of `query` (an author name: one per word)."""
    found = [tantivy.Query.term_query(SCHEMA, "authors", w, "basic")
             for author in query.authors for w in name_words(author)]
    if query.categories:
        found.append(tantivy.Query.term_set_query(SCHEMA, "categories", [c.lower() for c in query.categories]))
    if query.year_from is not None or query.year_to is not None:
        low = (date(query.year_from, 1, 1) - _EPOCH).days if query.year_from is not None else NO_DAY + 1
        high = (date(query.year_to, 12, 31) - _EPOCH).days if query.year_to is not None else FAR_DAY
        found.append(tantivy.Query.range_query(SCHEMA, "day", tantivy.FieldType.Integer, low, high))
    if query.has_code:
        found.append(tantivy.Query.term_query(SCHEMA, "has_code", 1))
    if query.withdrawn is not None:
        found.append(tantivy.Query.term_query(SCHEMA, "is_withdrawn", int(query.withdrawn)))
    return found
