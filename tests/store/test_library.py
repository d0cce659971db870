"""The library tables on both engines: collections, saves once per paper, dismissals,
shared links, follow-ups written by the papers upsert, recommendations kept to the best,
import runs and feed tokens."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from paperwire.papers import Version
from paperwire.store import NotFound
from paperwire.store.library import RECOMMENDATIONS_KEPT, StoredRecommendation, slugify
from tests.conftest import make_paper

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)


def add_user(store, name: str) -> int:
    return store.create_user(username=name, email=f"{name}@example.org", password_hash="x", now=NOW).id


def library_seq(store, user_id: int) -> int:
    return next((m.library_seq for m in store.user_models() if m.user_id == user_id), 0)


@pytest.mark.parametrize("name, slug", [
    ("Saved", "saved"), ("  Reading  list ", "reading-list"), ("Ünïcode & more!", "n-code-more"),
    ("!!!", "collection"), ("x" * 100, "x" * 60),
])
def test_slugify(name, slug):
    assert slugify(name) == slug


def test_collections_get_unique_slugs_and_a_default_on_first_save(store):
    ada, bob = add_user(store, "ada"), add_user(store, "bob")
    saved = store.default_collection(ada, now=NOW)
    assert (saved.name, saved.slug) == ("Saved", "saved")
    assert store.default_collection(ada, now=NOW).id == saved.id  # made once
    assert store.create_collection(ada, "Saved", now=NOW).slug == "saved-2"
    assert store.create_collection(bob, "Saved", now=NOW).slug == "saved"  # per user
    assert [c.slug for c in store.collections(ada)] == ["saved", "saved-2"]
    renamed = store.rename_collection(ada, "saved-2", "  To  read ")
    assert (renamed.name, renamed.slug) == ("To read", "saved-2")
    with pytest.raises(NotFound):
        store.collection(bob, "saved-2")  # another user's slug is not found
    assert store.delete_collection(ada, "saved-2") is True and store.delete_collection(ada, "saved-2") is False


def test_a_save_counts_once_keeps_its_note_and_bumps_the_library(store):
    ada, bob = add_user(store, "ada"), add_user(store, "bob")
    saved = store.default_collection(ada, now=NOW)
    reading = store.create_collection(ada, "Reading", now=NOW)
    assert store.save(ada, saved.id, "2601.00001", note="first", now=NOW) is True
    assert store.save(ada, saved.id, "2601.00001", now=NOW + timedelta(1)) is False  # kept once
    assert store.items(saved.id)[0].note == "first"  # no note given: the old one stays
    store.save(ada, saved.id, "2601.00001", note="second", now=NOW)
    assert store.items(saved.id)[0].note == "second"
    store.save(ada, reading.id, "2601.00001", now=NOW)
    store.save(ada, reading.id, "2601.00002", now=NOW + timedelta(hours=1))
    assert store.saved_ids(ada) == ["2601.00002", "2601.00001"]
    assert store.saved_in(ada, ["2601.00001", "2601.00003"]) == {"2601.00001": ["saved", "reading"]}
    assert store.collections(ada)[1].item_count == 2
    with pytest.raises(NotFound):
        store.save(bob, saved.id, "2601.00003", now=NOW)  # not bob's collection
    seq = library_seq(store, ada)
    assert store.unsave(ada, "2601.00001", collection_id=reading.id) == 1
    assert store.saved_in(ada, ["2601.00001"]) == {"2601.00001": ["saved"]}
    assert store.unsave(ada, "2601.00001") == 1 and store.unsave(ada, "2601.00001") == 0
    assert library_seq(store, ada) == seq + 2  # each real change, not the no-op
    assert store.saved_ids(bob) == [] and library_seq(store, bob) == 0


def test_dismissals_and_saves_exclude_each_other_from_recommendations(store):
    ada = add_user(store, "ada")
    saved = store.default_collection(ada, now=NOW)
    assert store.dismiss(ada, "2601.00001", now=NOW) is True and store.dismiss(ada, "2601.00001", now=NOW) is False
    assert store.dismissed_ids(ada) == ["2601.00001"]
    store.save(ada, saved.id, "2601.00001", now=NOW)  # saving takes the dismissal back
    assert store.dismissed_ids(ada) == []
    store.put_user_model(ada, b"m", [StoredRecommendation(f"2601.0000{i}", 1.0 - i / 10, "2601.00001")
                                     for i in range(2, 6)], trained_seq=1, vocabulary_seq=1, paper_seq=5, now=NOW)
    assert [r.arxiv_id for r in store.recommendations(ada)] == ["2601.00002", "2601.00003", "2601.00004", "2601.00005"]
    store.save(ada, saved.id, "2601.00003", now=NOW)  # saved after the job ran: hidden at once
    store.dismiss(ada, "2601.00004", now=NOW)
    assert [r.arxiv_id for r in store.recommendations(ada)] == ["2601.00002", "2601.00005"]
    assert store.undismiss(ada, "2601.00004") is True and store.undismiss(ada, "2601.00004") is False


def test_added_recommendations_merge_and_keep_the_best(store):
    ada = add_user(store, "ada")
    store.dismiss(ada, "2601.99999", now=NOW)  # makes the model row
    first = [StoredRecommendation(f"2601.{i:05d}", float(i), "x") for i in range(RECOMMENDATIONS_KEPT)]
    store.put_user_model(ada, b"m", first, trained_seq=1, vocabulary_seq=1, paper_seq=10, now=NOW)
    store.add_recommendations(ada, [StoredRecommendation("2602.00001", 1000.0, "y"),
                                    StoredRecommendation("2602.00002", -1.0, "y")], paper_seq=12, now=NOW)
    best = store.recommendations(ada, limit=1000)
    assert len(best) == RECOMMENDATIONS_KEPT and best[0] == StoredRecommendation("2602.00001", 1000.0, "y")
    assert "2601.00000" not in {r.arxiv_id for r in best} and "2602.00002" not in {r.arxiv_id for r in best}
    [model] = store.user_models()
    assert (model.paper_seq, model.trained_seq, model.model) == (12, 1, b"m")


def test_a_shared_link_opens_the_collection_until_it_is_unshared(store):
    ada = add_user(store, "ada")
    store.create_collection(ada, "Reading", now=NOW)
    assert store.share_collection(ada, "reading", "h1").is_shared
    assert store.shared_collection("h1").slug == "reading"
    store.share_collection(ada, "reading", "h2")  # a new link: the old one stops working
    with pytest.raises(NotFound):
        store.shared_collection("h1")
    store.unshare_collection(ada, "reading")
    with pytest.raises(NotFound):
        store.shared_collection("h2")


def test_a_new_version_of_a_saved_paper_writes_a_followup(store):
    ada, bob = add_user(store, "ada"), add_user(store, "bob")
    v1 = make_paper(arxiv_id="2601.00001")
    store.upsert_papers([v1, make_paper(arxiv_id="2601.00002")], source="test")
    store.save(ada, store.default_collection(ada, now=NOW).id, "2601.00001", now=NOW)
    later = datetime(2026, 1, 5, tzinfo=timezone.utc)
    v2 = replace(v1, version=2, versions=v1.versions + (Version(2, later),), updated_at=later,
                 code_url="https://github.com/ada/engine")
    store.upsert_papers([v2, replace(make_paper(arxiv_id="2601.00002"), version=2,
                                     versions=(Version(2, later),), updated_at=later)], source="test")
    found = store.followups_for(ada)
    assert [(f.arxiv_id, f.kind, f.detail, f.is_new) for f in found] == [
        ("2601.00001", "code", "https://github.com/ada/engine", True), ("2601.00001", "new-version", "v2", True),
    ]  # newest first; the unsaved paper's new version is nobody's follow-up
    assert store.followups_for(bob) == []
    store.mark_followups_seen(ada, found[0].id)
    store.mark_followups_seen(ada, found[1].id)  # never back
    assert [f.is_new for f in store.followups_for(ada)] == [False, False]
    store.upsert_papers([v2], source="test")  # the same record again: nothing new
    assert len(store.followups_for(ada)) == 2


def test_import_runs_vocabularies_and_feed_tokens(store):
    ada, bob = add_user(store, "ada"), add_user(store, "bob")
    run_id = store.put_import_run(ada, "refs.bib", {"matched": [1]}, now=NOW)
    store.update_import_run(run_id, {"matched": [1, 2]})
    assert store.import_run(ada, run_id).report == {"matched": [1, 2]}
    with pytest.raises(NotFound):
        store.import_run(bob, run_id)
    assert store.latest_vocabulary() is None
    first = store.put_vocabulary(b"v1", now=NOW)
    second = store.put_vocabulary(b"v2", now=NOW)
    assert store.latest_vocabulary()[:2] == (second, b"v2") and store.vocabulary(first) is None  # unused: dropped
    store.set_feed_token(ada, "t1", now=NOW)
    store.set_feed_token(ada, "t2", now=NOW)
    assert store.feed_token_user("t1") is None and store.feed_token_user("t2") == ada
    assert store.revoke_feed_token(ada) and store.feed_token_user("t2") is None


def test_deleting_a_user_deletes_their_library(store):
    ada = add_user(store, "ada")
    store.save(ada, store.default_collection(ada, now=NOW).id, "2601.00001", now=NOW)
    with store.engine.write() as db:
        db.execute("DELETE FROM users WHERE id = ?", (ada,))
    assert store.engine.read().rows("SELECT * FROM collection_items") == []
    assert store.user_models() == []
