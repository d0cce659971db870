"""The one schema every source's records pass before they reach the store (issue #15).

Each parser ends a record with `check` (a paper) or `check_entry` (a Hugging Face
daily entry). `check` cleans text (Unicode NFC; lone surrogates, NUL and other
C0/C1 control characters and bidi overrides removed) and refuses a record whose
fields have the wrong type, are larger than anything arXiv publishes, name a
category outside arXiv's taxonomy, carry a date outside arXiv's lifetime or a
version arXiv never numbers. A refusal is an `InvalidRecord` (a ValueError) whose
message is the reason the operator reads; the parser skips that record alone and
keeps the rest of its page or chunk. The JSON readers (files, Hugging Face) read
raw fields through `text`, `terms`, `integer`... so that `"doi": 12345` is
reported as "doi is a number (12345), not a string" rather than failing inside
Python. What it leaves to others: parsing each wire format (the source modules)
and escaping on output (the web templates).
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from datetime import date, datetime, timedelta, timezone

from paperwire.papers import MAX_VERSION, Author, InvalidArxivId, Paper, Version, parse_arxiv_id
from paperwire.sources import taxonomy
from paperwire.feed import DailyEntry

# Limits well above real data (the 74,728-paper crawl in shared/data tops out at a
# 226-character title, a 3,488-character abstract, 3,303 authors and a 512-character
# author entry; arXiv caps new abstracts at 1,920 characters) and far below what hurts:
# a 10 MB abstract held the search lock for seconds (issue #15, item 3).
MAX_TITLE_CHARS = 1_000
MAX_ABSTRACT_CHARS = 20_000
MAX_AUTHOR_COUNT = 10_000
MAX_AUTHOR_NAME_CHARS = 1_000
MAX_AFFILIATION_COUNT = 50  # per author
MAX_AFFILIATION_CHARS = 1_000
MAX_CLASS_COUNT = 100  # subject classes (MSC, ACM...) of one paper
MAX_CLASS_CHARS = 200
MAX_FIELD_CHARS = 2_000  # doi, journal_ref, license, comments, names on a daily entry
MAX_URL_CHARS = 2_000
MAX_SUMMARY_CHARS = 20_000  # a daily entry's AI summary
MAX_COUNT = 10**9  # upvotes, comments, stars: real ones are below a million
# arXiv opened in August 1991; nothing it holds is older. A record dated more than
# two days ahead of now is wrong (arXiv lists by US Eastern time, HF by the lister's
# day, so a day or so ahead of UTC is real); one dated 9999-12-31 took over the home page.
EARLIEST_AT = datetime(1991, 1, 1, tzinfo=timezone.utc)
MAX_AHEAD = timedelta(days=2)

# Characters that never belong in bibliographic text and that hurt when shown: NUL and
# the C0/C1 controls except tab and line breaks (C1 0x9b starts an ANSI escape as
# ESC [ does), DEL, lone surrogates (not encodable as UTF-8, so a store write fails),
# and the bidi embeddings, overrides and isolates that reorder what is displayed
# (Trojan Source, CVE-2021-42574). Marks (LRM, RLM) stay: names in Arabic use them.
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_URL = re.compile(r"https?://[^\s/?#]+[^\s]*", re.IGNORECASE)


class InvalidRecord(ValueError):
    """A record that breaks the schema; the message is the reason, naming the field and value."""


def clean(value: str) -> str:
    """`value` without unsafe characters (see `_UNSAFE`), in Unicode NFC; `value` itself
    when it is clean already."""
    if _UNSAFE.search(value):
        value = _UNSAFE.sub("", value)
    if value.isascii() or unicodedata.is_normalized("NFC", value):
        return value
    return unicodedata.normalize("NFC", value)


def shown(value: object, limit: int = 60) -> str:
    """`value` as a message may quote it: repr, cut to about `limit` characters."""
    if isinstance(value, str):
        text = repr(value[: limit + 1])  # escapes make a repr up to 10 times longer: cut it too
        return text if len(value) <= limit and len(text) <= limit + 2 else text[:limit] + "…"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**limit:
        # str() of a huge int is slow, and refused past 4,300 digits
        return f"a number of about {int(value.bit_length() * 0.30103) + 1:,} digits"
    text = repr(value) if isinstance(value, (int, float, bool)) or value is None else kind(value)
    return text if len(text) <= limit else text[:limit] + "…"


def check(paper: Paper, *, now: datetime | None = None) -> Paper:
    """`paper` with its text cleaned, or InvalidRecord naming the first field that breaks
    the schema. `now` (default: the clock) bounds dates from above."""
    latest = (now or datetime.now(timezone.utc)) + MAX_AHEAD
    _check_id(paper.arxiv_id)
    title = _text("title", paper.title, MAX_TITLE_CHARS)
    if not title.strip():
        raise InvalidRecord("title is blank")
    primary, categories = _categories(paper.primary_category, paper.categories)
    fields = dict(
        title=title,
        abstract=_text("abstract", paper.abstract or "", MAX_ABSTRACT_CHARS),
        authors=_authors(paper.authors),
        version=_number("version", paper.version, 0, MAX_VERSION),
        primary_category=primary,
        categories=categories,
        subject_classes=_classes(paper.subject_classes),
        published_at=_moment("published_at", paper.published_at, latest),
        updated_at=_moment("updated_at", paper.updated_at, latest),
        doi=_optional("doi", paper.doi, MAX_FIELD_CHARS),
        journal_ref=_optional("journal_ref", paper.journal_ref, MAX_FIELD_CHARS),
        comments=_optional("comments", paper.comments, MAX_FIELD_CHARS),
        license=_optional("license", paper.license, MAX_FIELD_CHARS),
        code_url=_url("code_url", paper.code_url),
        project_url=_url("project_url", paper.project_url),
        versions=_versions(paper.versions, latest),
        source=_text("source", paper.source, 100),
        is_withdrawn=_flag("is_withdrawn", paper.is_withdrawn),
    )
    # Each check hands back the very value it was given when it had nothing to clean,
    # so a clean paper (nearly all of them) is returned as it is, without a copy: this
    # is the bulk path of `ingest file`.
    changed = {name: value for name, value in fields.items() if value is not getattr(paper, name)}
    return dataclasses.replace(paper, **changed) if changed else paper


def check_entry(entry: DailyEntry, *, now: datetime | None = None) -> DailyEntry:
    """A daily entry with its text cleaned, or InvalidRecord for its first bad field."""
    latest = (now or datetime.now(timezone.utc)) + MAX_AHEAD
    if not isinstance(entry.day, date):
        raise InvalidRecord(f"list day is {kind(entry.day)}, not a date")
    if not EARLIEST_AT.date() <= entry.day <= latest.date():
        raise InvalidRecord(f"list day {entry.day} is outside {EARLIEST_AT.date()} to {latest.date()}")
    checked = dataclasses.replace(
        entry,
        upvote_count=_number("upvotes", entry.upvote_count, 0, MAX_COUNT),
        comment_count=_number("numComments", entry.comment_count, 0, MAX_COUNT),
        github_star_count=None if entry.github_star_count is None
        else _number("githubStars", entry.github_star_count, 0, MAX_COUNT),
        submitted_by=_optional("submitted_by", entry.submitted_by, MAX_FIELD_CHARS),
        organization=_optional("organization", entry.organization, MAX_FIELD_CHARS),
        organization_name=_optional("organization_name", entry.organization_name, MAX_FIELD_CHARS),
        github_repo=_url("githubRepo", entry.github_repo),
        project_url=_url("projectPage", entry.project_url),
        thumbnail_url=_url("thumbnail", entry.thumbnail_url),
        ai_summary=_optional("ai_summary", entry.ai_summary, MAX_SUMMARY_CHARS),
    )
    return entry if checked == entry else checked


# --- raw JSON fields, read with readable type errors -----------------------------

def text(record: dict, name: str) -> str | None:
    """record[name] as a string; None when absent, null or empty. Raises InvalidRecord
    for any other type."""
    value = record.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidRecord(f"{name} is {kind(value)}, not a string")
    return value


def terms(record: dict, name: str) -> list[str]:
    """record[name] as a list of strings: a list of strings, or one string of
    space-separated terms (`"cs.CL cs.LG"`, as the arXiv snapshot writes categories)."""
    value = record.get(name)
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return value.split()
    return strings(value, name)


def texts(record: dict, name: str) -> list[str]:
    """record[name] as a list of strings, one string being a list of one."""
    value = record.get(name)
    if value is None or value == "":
        return []
    return [value] if isinstance(value, str) else strings(value, name)


def strings(value: object, name: str) -> list[str]:
    """`value` if it is a list of strings; InvalidRecord naming the first item that is not."""
    if not isinstance(value, list):
        raise InvalidRecord(f"{name} is {kind(value)}, not a list")
    for position, item in enumerate(value, 1):
        if not isinstance(item, str):
            raise InvalidRecord(f"{name} item {position} is {kind(item)}, not a string")
    return value


def objects(record: dict, name: str) -> list[dict]:
    """record[name] as a list of JSON objects (empty when absent)."""
    value = record.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidRecord(f"{name} is {kind(value)}, not a list")
    for position, item in enumerate(value, 1):
        if not isinstance(item, dict):
            raise InvalidRecord(f"{name} item {position} is {kind(item)}, not an object")
    return value


def integer(record: dict, name: str) -> int | None:
    """record[name] as a whole number, also when written as a string ("3"); None when absent."""
    value = record.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, str):
        text = value.strip()  # str.strip also takes \x1c-\x1f, which int() refuses: parse what is left
        if text.isascii() and text.isdigit() and len(text) <= 18:  # "²" is a digit to isdigit, not to int()
            return int(text)
        raise InvalidRecord(f"{name} is {kind(value)}, not a whole number")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value \
            or value in (float("inf"), float("-inf")) or int(value) != value:
        raise InvalidRecord(f"{name} is {kind(value)}, not a whole number")
    return int(value)


def flag(record: dict, name: str) -> bool:
    """record[name] as true/false (absent or null is false)."""
    return _flag(name, record.get(name) or False)


# --- the checks behind `check` ---------------------------------------------------

def kind(value: object) -> str:
    """How JSON would name `value`'s type, for messages: 'a number (12345)', 'a list'."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return f"a number ({shown(value, 30)})"
    if isinstance(value, str):
        return f"a string ({shown(value, 30)})"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"


def _check_id(arxiv_id: object) -> None:
    if not isinstance(arxiv_id, str):
        raise InvalidRecord(f"arxiv_id is {kind(arxiv_id)}, not a string")
    try:
        canonical = parse_arxiv_id(arxiv_id)
    except InvalidArxivId as error:
        raise InvalidRecord(str(error)) from None
    if canonical != (arxiv_id, None):
        raise InvalidRecord(f"arxiv_id {shown(arxiv_id)} is not in canonical form (e.g. 2501.00001)")


def _text(name: str, value: object, limit: int) -> str:
    if not isinstance(value, str):
        raise InvalidRecord(f"{name} is {kind(value)}, not a string")
    value = clean(value)  # first: what is stored is measured, so a checked paper checks again
    if len(value) > limit:
        raise InvalidRecord(f"{name} is {len(value):,} characters long; the limit is {limit:,}")
    return value


def _optional(name: str, value: object, limit: int) -> str | None:
    if value is None:
        return None
    return _text(name, value, limit).strip() or None


def _url(name: str, value: object) -> str | None:
    url = _optional(name, value, MAX_URL_CHARS)
    if url is not None and not _URL.fullmatch(url):
        raise InvalidRecord(f"{name} {shown(url)} is not an http(s) URL")
    return url


def _number(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRecord(f"{name} is {kind(value)}, not a whole number")
    if not low <= value <= high:
        raise InvalidRecord(f"{name} {shown(value, 30)} is outside {low:,} to {high:,}")
    return value


def _flag(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise InvalidRecord(f"{name} is {kind(value)}, not true or false")
    return value


def _moment(name: str, value: object, latest: datetime) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InvalidRecord(f"{name} is {kind(value)}, not a time with a timezone")
    if not EARLIEST_AT <= value <= latest:
        raise InvalidRecord(f"{name} {value.isoformat()} is outside {EARLIEST_AT.date()} to {latest.date()}; "
                            "arXiv holds nothing older and nothing can be newer")
    return value


def _categories(primary: object, categories: object) -> tuple[str | None, tuple[str, ...]]:
    if not isinstance(categories, tuple):
        raise InvalidRecord(f"categories is {kind(categories)}, not a list")
    for category in (primary, *categories) if primary is not None else categories:
        if not isinstance(category, str):
            raise InvalidRecord(f"category {shown(category)} is {kind(category)}, not a string")
        if not taxonomy.is_category(category):
            raise InvalidRecord(f"category {shown(category)} is not in arXiv's taxonomy")
    unique = tuple(dict.fromkeys(categories))
    return primary, categories if len(unique) == len(categories) else unique


def _classes(classes: object) -> tuple[str, ...]:
    if not isinstance(classes, tuple):
        raise InvalidRecord(f"subject_classes is {kind(classes)}, not a list")
    if len(classes) > MAX_CLASS_COUNT:
        raise InvalidRecord(f"{len(classes):,} subject classes; the limit is {MAX_CLASS_COUNT}")
    cleaned = (_text("subject class", c, MAX_CLASS_CHARS).strip() for c in classes)
    kept = tuple(dict.fromkeys(c for c in cleaned if c))
    return classes if kept == classes else kept


def _authors(authors: object) -> tuple[Author, ...]:
    if not isinstance(authors, tuple):
        raise InvalidRecord(f"authors is {kind(authors)}, not a list")
    if len(authors) > MAX_AUTHOR_COUNT:
        raise InvalidRecord(f"{len(authors):,} authors; the limit is {MAX_AUTHOR_COUNT:,}")
    if _plain_names(authors):
        return authors
    checked = tuple(_author(a) for a in authors)
    return authors if all(a is b for a, b in zip(checked, authors)) else checked


def _plain_names(authors: tuple) -> bool:
    """Whether every author is a short, clean name without affiliations: most are, and
    one look at all names together costs far less than a check per author."""
    if not all(type(a) is Author and type(a.name) is str and a.affiliations == () for a in authors):
        return False
    names = "\n".join(a.name for a in authors)
    return (max(map(len, (a.name for a in authors)), default=0) <= MAX_AUTHOR_NAME_CHARS
            and clean(names) is names)


def _author(author: object) -> Author:
    if not isinstance(author, Author):
        raise InvalidRecord(f"an author is {kind(author)}, not a name")
    affiliations = author.affiliations
    if not isinstance(affiliations, tuple) or len(affiliations) > MAX_AFFILIATION_COUNT:
        raise InvalidRecord(f"author {shown(author.name)} has more than {MAX_AFFILIATION_COUNT} affiliations")
    name = _text("author name", author.name, MAX_AUTHOR_NAME_CHARS)
    kept = tuple(_text("affiliation", a, MAX_AFFILIATION_CHARS) for a in affiliations)
    return author if (name, kept) == (author.name, affiliations) else Author(name, kept)


def _versions(versions: object, latest: datetime) -> tuple[Version, ...]:
    if not isinstance(versions, tuple):
        raise InvalidRecord(f"versions is {kind(versions)}, not a list")
    if len(versions) > MAX_VERSION:
        raise InvalidRecord(f"{len(versions):,} versions; the limit is {MAX_VERSION:,}")
    for version in versions:
        if not isinstance(version, Version):
            raise InvalidRecord(f"a version is {kind(version)}, not a version")
        _number("version number", version.number, 1, MAX_VERSION)
        _moment("version date", version.submitted_at, latest)
    return versions
