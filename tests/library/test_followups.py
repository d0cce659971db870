"""The follow-ups rule: each change a reader of a saved paper is told about, and none other."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from paperwire.library.followups import FollowUp, followups, latest_version
from paperwire.papers import Version, merge
from tests.conftest import make_paper

V2 = (Version(1), Version(2, datetime(2025, 4, 1, tzinfo=timezone.utc)))
OLD = make_paper()


@pytest.mark.parametrize("changes, expected", [
    ({}, []),
    ({"title": "A Better Title", "abstract": "Rewritten."}, []),
    ({"version": 2, "versions": V2}, [("new-version", "v2")]),
    ({"version": 0, "versions": V2}, [("new-version", "v2")]),
    ({"code_url": "https://github.com/a/b"}, [("code", "https://github.com/a/b")]),
    ({"journal_ref": "Nature 1, 2 (2025)"}, [("journal-ref", "Nature 1, 2 (2025)")]),
    ({"doi": "10.1000/x"}, [("doi", "10.1000/x")]),
    ({"is_withdrawn": True, "version": 2, "versions": V2, "comments": "This paper has been withdrawn"},
     [("withdrawn", "This paper has been withdrawn")]),
    ({"version": 3, "code_url": "https://github.com/a/b", "doi": "10.1000/x", "journal_ref": "J. 1"},
     [("new-version", "v3"), ("code", "https://github.com/a/b"), ("journal-ref", "J. 1"), ("doi", "10.1000/x")]),
])
def test_followups_of_one_change(changes, expected):
    new = make_paper(**changes)
    assert followups(OLD, new) == [FollowUp(OLD.arxiv_id, kind, detail) for kind, detail in expected]


def test_nothing_that_was_already_known_is_news():
    old = make_paper(code_url="https://github.com/a/b", doi="10.1000/x", journal_ref="J. 1", is_withdrawn=True)
    new = make_paper(code_url="https://github.com/c/d", doi="10.1000/y", journal_ref="J. 2", is_withdrawn=True)
    assert followups(old, new) == []
    assert followups(new, old) == []


def test_a_version_is_news_only_when_the_old_record_knew_one():
    unknown = make_paper(version=0, versions=())
    assert latest_version(unknown) == 0
    assert followups(unknown, make_paper(version=4)) == []


def test_a_new_version_arriving_through_merge_is_a_followup():
    # The store merges what a source sends into what it held; the follow-up compares the two.
    held = make_paper(source="arxiv_api")
    arrived = make_paper(version=2, versions=V2, updated_at=datetime(2025, 4, 1, tzinfo=timezone.utc),
                         source="arxiv_api", code_url="https://github.com/a/b")
    assert [f.kind for f in followups(held, merge(held, arrived))] == ["new-version", "code"]
    assert followups(merge(held, arrived), merge(merge(held, arrived), held)) == []
