"""The search box's query syntax: what a user typed, turned into a `Query` value.

Owns parsing only. Ranking the parsed query is left to `keywords.py` (words and
phrases) and `vectors.py` (meaning), and filters are applied by `search()`.

Syntax, a superset of plain words:

    diffusion "protein folding" -survey -"large language"   words, phrases, exclusions
    author:hinton  author:"geoffrey hinton"                 author name words
    cat:cs.CL  year:2024  year:2020..2023  year:..2019      filters
    has:code                                                papers with a code link
    is:withdrawn  -is:withdrawn                             only, or no, withdrawn papers

Nothing a user types raises: unbalanced quotes close at the end, unknown
`field:` prefixes and lone operators are read as plain words, values that make
no sense (`year:soon`) are kept in `Query.ignored` so the page can say so, and
control characters are dropped. Queries are cut to MAX_QUERY_CHARS, their parts
to MAX_QUERY_PARTS and their phrases to MAX_PHRASES (the rest listed in `ignored`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

MAX_QUERY_CHARS = 1_000  # longer input is cut: no real query needs more
MAX_QUERY_PARTS = 64  # words, phrases and operators kept from one query
MAX_PHRASES = 8  # phrases (and excluded phrases) checked word by word; more are ignored, listed
MIN_YEAR, MAX_YEAR = 1900, 2200

# One part of a query: an optional "-", an optional "field:", then a quoted
# phrase (the closing quote may be missing) or a run of non-space characters.
_PART = re.compile(
    r'(?P<minus>-)?(?:(?P<field>[A-Za-z]+):(?=["\S]))?(?:"(?P<quoted>[^"]*)"?|(?P<bare>[^\s"]+))'
)
_YEAR_RANGE = re.compile(r"(?P<start>\d{4})?(?P<dots>\.\.)?(?P<end>\d{4})?")
_CATEGORY = re.compile(r"[A-Za-z\-]+(?:\.[A-Za-z\-]+)?")
_FIELDS = {"author", "au", "cat", "category", "year", "has", "is"}


@dataclass(frozen=True)
class Query:
    """A parsed query. Words and phrases are kept as typed (lower-cased);
    `keyword_query.analyse` turns them into index terms."""

    terms: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()  # words and phrases a paper must not contain
    authors: tuple[str, ...] = ()  # each one word or a full name, lower-cased
    categories: tuple[str, ...] = ()  # arXiv categories as arXiv writes them (cs.CL)
    year_from: int | None = None
    year_to: int | None = None
    has_code: bool = False
    withdrawn: bool | None = None  # True: only withdrawn papers; False: none; None: either
    ignored: tuple[str, ...] = ()  # operators that could not be used, as typed

    @property
    def text(self) -> str:
        """The free text (words and phrases) to embed; empty for a filter-only query."""
        return " ".join(self.terms + self.phrases)

    @property
    def has_filters(self) -> bool:
        return bool(
            self.authors or self.categories or self.has_code or self.withdrawn is not None
            or self.year_from is not None or self.year_to is not None
        )


def parse(text: str | None) -> Query:
    """Parse what the user typed; an empty or unusable string gives an empty Query."""
    parts: dict[str, list[str]] = {
        name: [] for name in ("terms", "phrases", "excluded", "authors", "categories", "ignored")
    }
    years: list[tuple[int | None, int | None]] = []
    has_code = False
    withdrawn: bool | None = None
    for match in list(_PART.finditer(_clean(text)))[:MAX_QUERY_PARTS]:
        minus, field = match["minus"], (match["field"] or "").lower()
        is_quoted = match["quoted"] is not None
        value = _squash(match["quoted"] if is_quoted else match["bare"])
        if field and field not in _FIELDS:  # "BERT:" or "http://..." is plain text
            value, field = _squash(f"{match['field']}:{value}"), ""
        if not value or (not field and not any(ch.isalnum() for ch in value)):
            continue  # a lone "-" or '"' or "..." carries nothing to search for
        if field == "is" and value.lower() == "withdrawn":
            withdrawn = not minus  # the last one typed wins
        elif field and minus:
            parts["ignored"].append(match[0])  # excluding by field is not supported, but -is:withdrawn
        elif field in ("author", "au"):
            parts["authors"].append(value.lower())
        elif field in ("cat", "category"):
            _add_category(value, match[0], parts)
        elif field == "year":
            _add_years(value, match[0], years, parts)
        elif field == "is":
            parts["ignored"].append(match[0])  # is: knows only "withdrawn"
        elif field == "has":
            has_code = has_code or value.lower() == "code"
            if value.lower() != "code":
                parts["ignored"].append(match[0])
        elif " " in value and len([*parts["phrases"], *(e for e in parts["excluded"] if " " in e)]) >= MAX_PHRASES:
            parts["ignored"].append(match[0])  # each phrase is a positional check: bound the work
        elif minus:
            parts["excluded"].append(value.lower())
        elif is_quoted and " " in value:
            parts["phrases"].append(value.lower())
        else:
            parts["terms"].append(value.lower())
    year_from, year_to = _intersect_years(years)
    return Query(
        **{name: tuple(_unique(values)) for name, values in parts.items()},
        year_from=year_from, year_to=year_to, has_code=has_code, withdrawn=withdrawn,
    )


def _clean(text: str | None) -> str:
    """NFKC-normalised text without control characters (NUL included), cut to size."""
    text = unicodedata.normalize("NFKC", (text or "")[: MAX_QUERY_CHARS * 2])
    text = "".join(
        " " if unicodedata.category(ch)[0] in "CZ" else ch for ch in text
    )  # other/separator classes: controls, format marks, odd spaces
    return text.replace("\u201c", '"').replace("\u201d", '"')[:MAX_QUERY_CHARS]


def _squash(value: str) -> str:
    return " ".join(value.split())


def _add_category(value: str, raw: str, parts: dict[str, list[str]]) -> None:
    if _CATEGORY.fullmatch(value):
        parts["categories"].append(value)
    else:
        parts["ignored"].append(raw)


def _add_years(value, raw, years, parts) -> None:
    match = _YEAR_RANGE.fullmatch(value)
    if not match or not (match["start"] or match["end"]) or (
        match["start"] and match["end"] and not match["dots"]
    ):
        parts["ignored"].append(raw)
        return
    start = int(match["start"]) if match["start"] else None
    end = int(match["end"]) if match["end"] else None
    if not match["dots"]:
        end = start
    if any(y is not None and not MIN_YEAR <= y <= MAX_YEAR for y in (start, end)):
        parts["ignored"].append(raw)
        return
    if start is not None and end is not None and start > end:
        start, end = end, start  # year:2023..2020 means the same years
    years.append((start, end))


def _intersect_years(years: list[tuple[int | None, int | None]]) -> tuple[int | None, int | None]:
    """Several year: operators all apply; an empty intersection keeps an empty range
    (year_from > year_to), which matches nothing, as the user asked."""
    starts = [s for s, _ in years if s is not None]
    ends = [e for _, e in years if e is not None]
    return (max(starts) if starts else None), (min(ends) if ends else None)


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))
