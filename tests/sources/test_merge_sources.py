"""The one merge rule across every source (issue #8): the newest text wins, nothing is lost.

One paper, 2501.00042, as each source tells it, parsed by the real parsers from
wire-format fixtures (tests/data/merge_*). Their texts are, oldest first:
Hugging Face (no version, no date: it cannot be placed), the API's v1
(2025-01-01 18:00), plain JSONL updated 2025-01-03, arXivRaw's v2 (01-05),
the snapshot's v3 (01-08), OAI `arXiv` updated 2025-01-10 (version unknown)
and `oai_dc` dated 2025-01-12.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone
from functools import reduce

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paperwire.papers import Paper, Version, compare_recency, is_day_only, merge
from paperwire.sources import arxiv_api, files, hf_daily, oai_pmh

from .conftest import fixture_bytes


def _one(batch) -> Paper:
    assert not batch.skipped, batch.skipped
    (paper,) = batch.papers
    return paper


SOURCES = {  # oldest text first
    "hf_daily": lambda: _one(hf_daily.parse(fixture_bytes("merge_hf_daily.json"))),
    "arxiv_api": lambda: _one(arxiv_api.parse(fixture_bytes("merge_arxiv_api_v1.xml"))),
    "plain_jsonl": lambda: _one(files.parse(fixture_bytes("merge_plain.jsonl"))),
    "oai_arxivraw": lambda: _one(oai_pmh.parse(fixture_bytes("merge_oai_arxivraw.xml"))),
    "snapshot": lambda: _one(files.parse(fixture_bytes("merge_snapshot.jsonl"))),
    "oai_arxiv": lambda: _one(oai_pmh.parse(fixture_bytes("merge_oai_arxiv.xml"))),
    "oai_dc": lambda: _one(oai_pmh.parse(fixture_bytes("merge_oai_dc.xml"))),
}
RANK = {name: rank for rank, name in enumerate(SOURCES)}
RECORDS = {name: parse() for name, parse in SOURCES.items()}
FILLED = (  # fields a newer record may lack and an older one fills
    "title", "abstract", "authors", "primary_category", "categories", "subject_classes",
    "updated_at", "doi", "journal_ref", "comments", "license", "code_url", "project_url",
)


def _empty(value) -> bool:
    return value is None or value == "" or value == ()


def test_fixtures_tell_seven_different_texts():
    assert len({p.abstract for p in RECORDS.values()}) == len(SOURCES)
    assert {p.arxiv_id for p in RECORDS.values()} == {"2501.00042"}


@pytest.mark.parametrize("first, second", list(itertools.permutations(SOURCES, 2)))
def test_newest_text_wins_whichever_arrives_first(first, second):
    old, new = RECORDS[first], RECORDS[second]
    newer, older = (old, new) if RANK[first] > RANK[second] else (new, old)
    merged = merge(old, new)
    assert compare_recency(newer, older) == 1 and compare_recency(older, newer) == -1
    for name in FILLED:
        expected = getattr(older if _empty(getattr(newer, name)) else newer, name)
        assert getattr(merged, name) == expected, name
    # v1's time is a fact every record may state; the most precise statement is kept
    times = [t for t in (newer.published_at, older.published_at) if t]
    assert merged.published_at == next((t for t in times if not is_day_only(t)), times[0])
    numbers = {v.number for v in (*old.versions, *new.versions)}
    assert [v.number for v in merged.versions] == sorted(numbers)
    assert merged.version == (newer.version or merged.version)
    assert merged.source == old.source and not merged.is_withdrawn


def test_every_arrival_order_ends_with_the_newest_text():
    newest = RECORDS["oai_dc"]
    finals = {
        reduce(merge, (RECORDS[name] for name in order)).abstract
        for order in itertools.permutations(SOURCES)
    }
    assert finals == {newest.abstract}


def test_merged_record_keeps_what_only_older_sources_said():
    merged = reduce(merge, RECORDS.values())
    assert merged.code_url == "https://github.com/magrathea/answer"  # Hugging Face
    assert merged.journal_ref == "J. Improbable Res. 42 (2025) 1-42"  # snapshot
    assert merged.published_at == datetime(2025, 1, 1, 18, tzinfo=timezone.utc)  # API, to the second
    assert [v.number for v in merged.versions] == [1, 2, 3]
    assert merged.version == 0  # oai_dc's text is newer than v3 and names no version
    assert merged.subject_classes == ("Improbability Studies",)  # oai_dc: a subject not in the taxonomy


# --- the rule as a property -------------------------------------------------------

_DAY0 = datetime(2025, 1, 1, tzinfo=timezone.utc)
_times = st.one_of(
    st.none(),
    st.integers(0, 6).map(lambda d: _DAY0 + timedelta(days=d)),  # a bare day
    st.tuples(st.integers(0, 6), st.integers(1, 86_399)).map(
        lambda t: _DAY0 + timedelta(days=t[0], seconds=t[1])),
)
_papers = st.builds(
    lambda version, updated_at, published_at, title, abstract, code_url: Paper(
        arxiv_id="2501.00042", title=title, abstract=abstract, version=version,
        updated_at=updated_at, published_at=published_at, code_url=code_url,
        versions=(Version(version, updated_at),) if version else (),
    ),
    st.integers(0, 4), _times, _times, st.sampled_from("ABCD"), st.sampled_from("wxyz"),
    st.sampled_from([None, "https://github.com/a/b"]),
)


@settings(max_examples=400, deadline=None)
@given(_papers, _papers)
def test_which_text_wins_never_depends_on_arrival_order(a, b):
    assert compare_recency(a, b) == -compare_recency(b, a)
    one, other = merge(a, b), merge(b, a)
    if compare_recency(a, b) != 0:
        winner = a if compare_recency(a, b) > 0 else b
        assert (one.title, one.abstract) == (other.title, other.abstract) == (winner.title, winner.abstract)
    else:  # a full tie: the record that arrives last wins
        assert (one.title, one.abstract) == (b.title, b.abstract)
    assert one.code_url == other.code_url == (a.code_url or b.code_url)
