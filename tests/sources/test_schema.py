"""The one schema (sources/schema.py): each rule as a table of a field, a value and the
reason a person reads, checked on a valid paper with that one field changed."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timezone

import pytest

from paperwire.papers import Author, Version
from paperwire.sources import schema
from paperwire.feed import DailyEntry
from tests.conftest import NOW, make_paper


def test_a_valid_paper_passes_unchanged():
    paper = make_paper()
    assert schema.check(paper, now=NOW) is paper


@pytest.mark.parametrize("field, value, reason", [
    ("arxiv_id", 2501, "arxiv_id is a number (2501), not a string"),
    ("arxiv_id", "2501.00001v2", "not in canonical form"),
    ("arxiv_id", "2513.00001", "is not an arXiv id"),
    ("title", "\x00 \u202e ", "title is blank"),
    ("title", None, "title is null, not a string"),
    ("title", "x" * 1001, "title is 1,001 characters long; the limit is 1,000"),
    ("abstract", "x" * 20_001, "abstract is 20,001 characters long; the limit is 20,000"),
    ("authors", (Author("x" * 1001),), "author name is 1,001 characters long"),
    ("authors", (Author("A", ("x",) * 51),), "more than 50 affiliations"),
    ("authors", (Author("A"),) * 10_001, "10,001 authors; the limit is 10,000"),
    ("authors", ("A B",), "an author is a string ('A B'), not a name"),
    ("version", True, "version is true, not a whole number"),
    ("version", 1001, "version 1001 is outside 0 to 1,000"),
    ("categories", ("cs.LG", "cs.XX"), "category 'cs.XX' is not in arXiv's taxonomy"),
    ("categories", (1,), "category 1 is a number (1), not a string"),
    ("primary_category", "Computer Science", "category 'Computer Science' is not in arXiv's taxonomy"),
    ("categories", "cs.LG", "categories is a string ('cs.LG'), not a list"),
    ("subject_classes", ("x" * 201,), "subject class is 201 characters long"),
    ("published_at", datetime(9999, 12, 31, tzinfo=timezone.utc), "published_at 9999-12-31T00:00:00+00:00 is outside"),
    ("published_at", datetime(1990, 12, 31, tzinfo=timezone.utc), "is outside 1991-01-01 to 2025-03-05"),
    ("updated_at", datetime(2025, 3, 1), "updated_at is a datetime, not a time with a timezone"),
    ("updated_at", "2025-03-01", "updated_at is a string ('2025-03-01'), not a time with a timezone"),
    ("versions", (Version(0),), "version number 0 is outside 1 to 1,000"),
    ("versions", (Version(2, datetime(1, 1, 1, tzinfo=timezone.utc)),), "version date 0001-01-01"),
    ("doi", 12345, "doi is a number (12345), not a string"),
    ("comments", "x" * 2001, "comments is 2,001 characters long"),
    ("code_url", "javascript:alert(1)", "code_url 'javascript:alert(1)' is not an http(s) URL"),
    ("project_url", "https://", "project_url 'https://' is not an http(s) URL"),
    ("is_withdrawn", "yes", "is_withdrawn is a string ('yes'), not true or false"),
])
def test_each_rule_refuses_with_its_reason(field, value, reason):
    with pytest.raises(schema.InvalidRecord) as refused:
        schema.check(replace(make_paper(), **{field: value}), now=NOW)
    assert reason in str(refused.value)


@pytest.mark.parametrize("field, value, kept", [
    ("title", "A\x00B\x1bC\x7f\x85D\u202aE\u2069F", "ABCDEF"),
    ("abstract", "one\ntwo\tthree\r\n", "one\ntwo\tthree\r\n"),
    ("title", "e\u0301", "\u00e9"),
    ("title", "\u200fRTL mark kept", "\u200fRTL mark kept"),
    ("doi", "  ", None),
    ("subject_classes", ("94A29", " ", "94A29"), ("94A29",)),
    ("categories", ("cs.LG", "cs.LG"), ("cs.LG",)),
    ("authors", (Author("Bala\u0301zs", ("MIT\x00",)),), (Author("Bal\u00e1zs", ("MIT",)),)),
])
def test_text_is_cleaned_not_refused(field, value, kept):
    assert getattr(schema.check(replace(make_paper(), **{field: value}), now=NOW), field) == kept


def test_daily_entries_are_checked_too():
    entry = DailyEntry(day=date(2025, 3, 3), arxiv_id="2503.00001", upvote_count=5, ai_summary="ok\x1b")
    assert schema.check_entry(entry, now=NOW) == replace(entry, ai_summary="ok")
    for change, reason in [({"upvote_count": -1}, "upvotes -1 is outside"),
                           ({"github_star_count": 10**12}, "githubStars"),
                           ({"thumbnail_url": "data:image/png;base64,AA"}, "thumbnail"),
                           ({"day": date(2025, 3, 9)}, "list day 2025-03-09 is outside")]:
        with pytest.raises(schema.InvalidRecord, match=reason):
            schema.check_entry(replace(entry, **change), now=NOW)


@pytest.mark.parametrize("value, expected", [
    (None, None), ("", None), ("7", 7), (7, 7), (7.0, 7),
])
def test_integer_reads_whole_numbers(value, expected):
    assert schema.integer({"n": value}, "n") == expected


@pytest.mark.parametrize("value, reason", [
    (7.5, "n is a number (7.5), not a whole number"), (True, "n is true, not a whole number"),
    ("seven", "n is a string ('seven'), not a whole number"), (float("inf"), "not a whole number"),
    ([7], "n is a list, not a whole number"),
])
def test_integer_refuses_the_rest(value, reason):
    with pytest.raises(schema.InvalidRecord, match=reason.replace("(", r"\(").replace(")", r"\)")):
        schema.integer({"n": value}, "n")


def test_terms_split_one_string_and_refuse_other_items():
    assert schema.terms({"c": "cs.CL  cs.LG"}, "c") == ["cs.CL", "cs.LG"]
    with pytest.raises(schema.InvalidRecord, match="c item 2 is an object, not a string"):
        schema.terms({"c": ["cs.CL", {}]}, "c")


@pytest.mark.parametrize(("value", "expected"), [("0\x1f", 0), ("\x1c7", 7), (" 12 ", 12)])
def test_a_number_in_a_string_is_read_without_the_separators_around_it(value, expected):
    # Found by the fuzz tests: str.strip takes \x1c-\x1f too, and int() refused what was left.
    assert schema.integer({"n": value}, "n") == expected


@pytest.mark.parametrize("value", ["²", "١٢", "1 2"])
def test_a_number_written_with_other_digits_is_refused_with_a_reason(value):
    with pytest.raises(schema.InvalidRecord, match="not a whole number"):
        schema.integer({"n": value}, "n")
