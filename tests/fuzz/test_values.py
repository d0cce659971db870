"""Fuzzing the small parsers every source shares (issue #15): arXiv ids, version
labels, ISO and RFC 2822 dates, author strings, and the text cleaning of the schema.
Each raises only its documented error, and what it returns is what it promises."""

from __future__ import annotations

import re
import unicodedata
from datetime import timedelta, timezone
from email.utils import format_datetime

from hypothesis import given, strategies as st

from paperwire.papers import MAX_VERSION, InvalidArxivId, parse_arxiv_id, parse_time, parse_version
from paperwire.sources import schema
from paperwire.sources.oai_pmh import _split_outside_parentheses, parse_rfc2822, split_authors

from .conftest import fuzz
from .strategies import any_text, text

months = st.integers(1, 12).map(lambda m: f"{m:02d}")
new_ids = st.builds(lambda yy, mm, n: f"{yy:02d}{mm}.{n}", st.integers(7, 99), months,
                    st.one_of(st.integers(0, 9999).map("{:04d}".format), st.integers(0, 99999).map("{:05d}".format)))
old_ids = st.builds(lambda archive, yy, mm, n: f"{archive}/{yy:02d}{mm}{n:03d}",
                    st.sampled_from(["hep-th", "math", "quant-ph", "cond-mat", "astro-ph"]),
                    st.integers(0, 99), months, st.integers(0, 999))
prefixes = st.sampled_from(["", "arXiv:", "oai:arXiv.org:", "https://arxiv.org/abs/", "http://export.arxiv.org/pdf/"])


@fuzz(2)
@given(st.one_of(text, st.builds(lambda p, i, v: p + i + v, prefixes, new_ids | old_ids,
                                 st.sampled_from(["", "v1", "v7", "v1000", "v1001", "v0", "v99999999999999999999"]))))
def test_parse_arxiv_id_raises_only_invalid_arxiv_id(value):
    try:
        arxiv_id, version = parse_arxiv_id(value)
    except InvalidArxivId as error:
        assert len(str(error)) < 200 and str(error).isprintable()
        return
    assert parse_arxiv_id(arxiv_id) == (arxiv_id, None) and arxiv_id.isascii()
    assert version is None or 1 <= version <= MAX_VERSION


@fuzz(1)
@given(prefixes, new_ids | old_ids, st.one_of(st.none(), st.integers(1, MAX_VERSION)))
def test_parse_arxiv_id_reads_back_every_valid_id(prefix, arxiv_id, version):
    label = f"{prefix}{arxiv_id}" + (f"v{version}" if version else "")
    assert parse_arxiv_id(label) == (arxiv_id, version)


@fuzz(1)
@given(st.one_of(text, st.integers(-5, 2 * MAX_VERSION).map(lambda n: f"v{n}")))
def test_parse_version_raises_only_value_error(label):
    try:
        number = parse_version(label)
    except ValueError:
        return
    assert 1 <= number <= MAX_VERSION and f"v{number}" == "v" + label.strip().removeprefix("v").lstrip("0")


aware = st.datetimes(timezones=st.builds(lambda m: timezone(timedelta(minutes=m)), st.integers(-1439, 1439)))


@fuzz(2)
@given(st.one_of(text, aware.map(lambda t: t.isoformat()), st.dates().map(str)))
def test_parse_time_raises_only_value_error_and_answers_in_utc(value):
    try:
        parsed = parse_time(value)
    except ValueError:
        return
    assert parsed is None or parsed.utcoffset() == timedelta(0)


@fuzz(1)
@given(aware)
def test_parse_time_reads_back_every_representable_time(moment):
    try:
        expected = moment.astimezone(timezone.utc)
    except OverflowError:  # before year 1 or after 9999 in UTC: must be a ValueError
        try:
            parse_time(moment.isoformat())
        except ValueError:
            return
        raise AssertionError(f"{moment.isoformat()} parsed although UTC cannot hold it")
    assert parse_time(moment.isoformat()) == expected


@fuzz(2)
@given(st.one_of(text, aware.map(lambda t: format_datetime(t)),
                 st.builds(lambda d, y, z: f"Mon, {d} Jan {y} 00:00:00 {z}", st.integers(0, 40),
                           st.integers(0, 99999), st.sampled_from(["GMT", "+0100", "-2359", "+9999", "XYZ"]))))
def test_parse_rfc2822_raises_only_value_error(value):
    try:
        parsed = parse_rfc2822(value)
    except ValueError:
        return
    assert parsed is None or parsed.utcoffset() == timedelta(0)


# The separator rule as a regex lookahead, kept as the oracle: correct, but quadratic.
_LOOKAHEAD_SEPARATOR = re.compile(r",\s*(?:and\s+)?(?![^()]*\))|\s+and\s+(?![^()]*\))")


@fuzz(2)
@given(st.lists(st.sampled_from(["A", "B.", " ", ",", ", ", " and ", "and", "(", ")", "MIT", ",  and "]),
                max_size=14).map("".join))
def test_author_separators_match_the_lookahead_rule(value):
    squashed = " ".join(value.split())
    assert _split_outside_parentheses(squashed) == _LOOKAHEAD_SEPARATOR.split(squashed)
    assert all(author.name == author.name.strip() and author.name for author in split_authors(value))


_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


@fuzz(2)
@given(st.one_of(text, any_text))
def test_clean_text_is_safe_nfc_and_stable(value):
    cleaned = schema.clean(value)
    assert not _UNSAFE.search(cleaned) and unicodedata.is_normalized("NFC", cleaned)
    assert schema.clean(cleaned) == cleaned
    cleaned.encode()  # a store can write it: no lone surrogate is left


@fuzz(1)
@given(st.dictionaries(st.sampled_from(["x"]), st.one_of(text, st.integers(), st.floats(), st.none(),
                                                        st.booleans(), st.lists(st.integers(), max_size=2))))
def test_field_readers_raise_only_invalid_record(record):
    for read in (schema.text, schema.terms, schema.texts, schema.objects, schema.integer, schema.flag):
        try:
            read(record, "x")
        except schema.InvalidRecord as error:
            assert str(error).startswith("x ")
