"""Text analysis in Python: the words of a title or abstract, their stems, and what a query matched.

Owns what the search page computes on the papers it shows, which needs no
index: the words to highlight (`matched_words`), whether a text holds a
phrase (`contains_phrase`), author names folded for matching (`name_words`).
The keyword index analyses text its own way (tantivy's analyzer in
`keywords.py`); `analyse` here is the same pipeline in Python (NFKC, lower
case, `\\w+`, Lucene's English stop words, Snowball English), and
tests/search/test_keywords.py pins the two against each other in a table.
"""

from __future__ import annotations

import functools
import re
import unicodedata

import Stemmer

from paperwire.search.query import Query

_WORD = re.compile(r"\w+")
# Lucene's English stop set (EnglishAnalyzer.ENGLISH_STOP_WORDS_SET), as tantivy's "english" filter.
STOP_WORDS = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the "
    "their then there these they this to was will with".split()
)
stemmer = Stemmer.Stemmer("english")  # Snowball English, as tantivy's stemmer filter


def words(text: str) -> list[str]:
    """Lower-cased word tokens of `text`, stop words kept (for phrases and highlights)."""
    return _WORD.findall(_folded(text))


def _folded(text: str | None) -> str:
    """`text` NFKC-normalised and lower-cased, as words are read from it."""
    text = text or ""
    # NFKC leaves ASCII as it is: skip it for the usual abstract (a search page asks 20).
    return (text if text.isascii() else unicodedata.normalize("NFKC", text)).lower()


def analyse(text: str) -> list[str]:
    """Index terms of `text`: lower-cased words without stop words, Snowball-stemmed."""
    return stemmer.stemWords([w for w in words(text) if w not in STOP_WORDS])


@functools.lru_cache(maxsize=256)
def _stems(parts: tuple[str, ...]) -> tuple[frozenset[str], re.Pattern]:
    """A query's stems, and a pattern of the words that start with one of their first
    letters (asked once per result card: analysed and compiled once)."""
    stems = frozenset(analyse(" ".join(parts)))
    firsts = "".join(sorted({re.escape(s[0]) for s in stems}))
    # A \w+ token that starts with one of `firsts`: exactly the tokens of `words` so
    # starting, found by the regex engine instead of a loop over every word of the text.
    return stems, re.compile(rf"(?<!\w)[{firsts}]\w*" if firsts else r"(?!)")


def name_words(name: str) -> list[str]:
    """An author name as index words, accents folded: 'Jürgen' -> 'jurgen'."""
    folded = unicodedata.normalize("NFKD", name or "")
    return words("".join(ch for ch in folded if not unicodedata.combining(ch)))


def contains_phrase(text: str, phrase: str) -> bool:
    """Whether the words of `phrase` occur next to each other in `text` (stems compared)."""
    needle = stemmer.stemWords(words(phrase))
    if not needle:
        return True
    hay = stemmer.stemWords(words(text))
    first = needle[0]
    return any(
        hay[i : i + len(needle)] == needle for i, w in enumerate(hay) if w == first
    )


def passes_phrases(query: Query, text: str) -> bool:
    """Whether `text` has every phrase of the query and no excluded phrase."""
    return all(contains_phrase(text, p) for p in query.phrases) and not any(
        contains_phrase(text, e) for e in query.excluded if " " in e
    )


def matched_words(query: Query, text: str) -> list[str]:
    """The words of `text` (as written, lower-cased) that a query term or phrase matched."""
    stems, starting = _stems(query.terms + query.phrases)
    # Snowball keeps a word's first letter (tests/search/test_ranking.py), so a word that starts
    # with no stem's first letter cannot match: most of a text is neither listed nor stemmed.
    seen = [w for w in dict.fromkeys(starting.findall(_folded(text))) if w not in STOP_WORDS]
    return [w for w, s in zip(seen, stemmer.stemWords(seen)) if s in stems]
