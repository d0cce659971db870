"""The digest job end to end through a real SMTP server (aiosmtpd): a daily subscriber gets
the day's trending papers, a second run sends nothing, the next day sends only new papers,
saved searches match through the real search, and each skip and failure is counted."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import pytest

from paperwire.digest import Subscription, mail
from paperwire.digest import run as digest_run
from paperwire.feed import DailyEntry
from paperwire.search.service import SearchService
from tests.conftest import make_paper
from tests.digest.conftest import mail_settings

CREATED_AT = datetime(2026, 11, 20, tzinfo=timezone.utc)
# Wednesday 2 December 2026: Tuesday's arXiv announcement (20:00 New York, 01:00 UTC) came
# within the 24 hours before 08:00 UTC, so "2026-12-02" is due; then Thursday's, Friday's.
WEDNESDAY = datetime(2026, 12, 2, 9, 0, tzinfo=timezone.utc)
THURSDAY, FRIDAY = WEDNESDAY + timedelta(days=1), WEDNESDAY + timedelta(days=2)


def _paper(n: int, **overrides):
    fields = dict(arxiv_id=f"2612.{n:05d}", title=f"Paper number {n}", categories=("cs.CL",),
                  published_at=datetime(2026, 12, 1, tzinfo=timezone.utc))
    return make_paper(**{**fields, **overrides})


def _listed(store, day: date, *numbers: int) -> None:
    store.upsert_daily_entries([DailyEntry(day=day, arxiv_id=f"2612.{n:05d}", upvote_count=10 + n) for n in numbers])


def _subscriber(store, email: str, *, confirmed: bool = True, **choices):
    subscriber = store.subscribe(email, now=CREATED_AT)
    store.save_subscription(Subscription(subscriber.id, created_at=CREATED_AT, send_time=time(8, 0), **choices),
                            now=CREATED_AT)
    if confirmed:
        store.confirm_subscriber(subscriber.id, now=CREATED_AT)
    return subscriber


def _ids_in(received) -> list[str]:
    text = received.message.get_body(("plain",)).get_content()
    return sorted({word for word in text.split() if word.startswith("https://paperwire.example.org/paper/")})


@pytest.fixture
def world(store, smtp_server):
    _, port, recorder = smtp_server
    store.upsert_papers([_paper(n) for n in range(1, 6)], source="test")
    return store, mail_settings(port), recorder


def test_daily_digest_once_per_period_with_only_new_papers(world):
    store, settings, recorder = world
    ada = _subscriber(store, "ada@example.org")
    _subscriber(store, "bob@example.org", confirmed=False)
    gone = _subscriber(store, "cy@example.org")
    store.unsubscribe(gone.id, reason="link", now=CREATED_AT)
    _listed(store, date(2026, 12, 2), 1, 2)

    first = digest_run.run(store, settings, now=WEDNESDAY)
    assert (first.queued_count, first.sent_count) == (1, 1)
    assert first.skipped == {"not-confirmed": 1, "unsubscribed": 1}
    [mail_1] = recorder.received
    assert mail_1.rcpt_tos == ["ada@example.org"]
    assert _ids_in(mail_1) == [f"https://paperwire.example.org/paper/2612.0000{n}" for n in (1, 2)]
    assert mail_1.message["Message-ID"] == f"<digest.2026-12-02.{ada.id}@paperwire.example.org>"

    again = digest_run.run(store, settings, now=WEDNESDAY + timedelta(minutes=15))
    assert again.sent_count == 0 and again.skipped["already-sent"] == 1 and len(recorder.received) == 1

    _listed(store, date(2026, 12, 3), 1, 3)  # paper 1 still trending, paper 3 new
    second = digest_run.run(store, settings, now=THURSDAY)
    assert second.sent_count == 1
    assert _ids_in(recorder.received[1]) == ["https://paperwire.example.org/paper/2612.00003"]

    third = digest_run.run(store, settings, now=FRIDAY)  # nothing listed since
    assert third.sent_count == 0 and third.skipped["nothing-new"] == 1 and len(recorder.received) == 2
    assert "1 skipped (nothing-new 1)" in third.summary() or "nothing-new 1" in third.summary()
    assert store.received_papers([ada.id]) == {ada.id: {"2612.00001", "2612.00002", "2612.00003"}}


def test_saved_search_matches_go_in_with_why(world):
    store, settings, recorder = world
    user = store.create_user(username="ada", email="ada@example.org", password_hash="x", now=CREATED_AT)
    store.upsert_papers([_paper(9, title="Sparse graph attention for proofs")], source="test")
    store.save_search(user.id, name="graph attention", query="q=graph+attention&cat=cs.CL", mode="lexical",
                      now=CREATED_AT)
    subscriber = store.subscribe("ada@example.org", now=CREATED_AT, user_id=user.id)
    store.save_subscription(Subscription(subscriber.id, created_at=CREATED_AT, send_time=time(8, 0),
                                         includes=frozenset({"saved-search"})), now=CREATED_AT)
    store.confirm_subscriber(subscriber.id, now=CREATED_AT)
    _listed(store, date(2026, 12, 2), 1)  # trending, but not included

    report = digest_run.run(store, settings, now=WEDNESDAY, search=SearchService(None))
    assert report.sent_count == 1
    [received] = recorder.received
    assert _ids_in(received) == ["https://paperwire.example.org/paper/2612.00009"]
    assert "Matches your saved search “graph attention”" in received.message.get_body(("plain",)).get_content()


def test_dry_run_writes_and_sends_nothing(world):
    store, settings, recorder = world
    _subscriber(store, "ada@example.org")
    _listed(store, date(2026, 12, 2), 1)
    report = digest_run.run_recorded(store, settings, now=WEDNESDAY, is_dry_run=True)
    assert report.summary(is_dry_run=True) == "dry run: 1 would be sent, 0 skipped"
    assert recorder.received == [] and store.outbox_rows() == [] and store.recent_job_runs() == []


def test_temporary_failure_is_retried_after_its_backoff(world):
    store, settings, recorder = world
    _subscriber(store, "ada@example.org")
    _listed(store, date(2026, 12, 2), 1)
    recorder.replies["RCPT"] = "451 4.3.0 try again later"
    first = digest_run.run(store, settings, now=WEDNESDAY)
    assert first.failed_temporary_count == 1 and recorder.received == []
    del recorder.replies["RCPT"]
    early = digest_run.run(store, settings, now=WEDNESDAY + timedelta(minutes=4))
    assert early.sent_count == 0
    later = digest_run.run(store, settings, now=WEDNESDAY + timedelta(minutes=5))
    assert later.sent_count == 1 and len(recorder.received) == 1


def test_a_refused_sender_stops_the_run_and_leaves_the_digest_queued(world):
    store, settings, recorder = world
    _subscriber(store, "ada@example.org")
    _listed(store, date(2026, 12, 2), 1)
    recorder.replies["MAIL"] = "550 5.7.1 not allowed"
    with pytest.raises(digest_run.RunStopped, match="PAPERWIRE_SMTP_FROM"):
        digest_run.run_recorded(store, settings, now=WEDNESDAY)
    assert store.recent_job_runs()[0].status == "failed"
    assert [p.attempt_count for p in store.sendable_digests(now=WEDNESDAY, limit=5)] == [0]
    del recorder.replies["MAIL"]
    assert digest_run.run(store, settings, now=WEDNESDAY).sent_count == 1


def test_permanent_refusals_disable_the_address_after_three(world):
    store, settings, recorder = world
    ada = _subscriber(store, "ada@example.org")
    recorder.replies["RCPT"] = "550 5.1.1 no such mailbox"
    for day, now in enumerate((WEDNESDAY, THURSDAY, FRIDAY)):
        _listed(store, now.date(), day + 1)
        assert digest_run.run(store, settings, now=now).failed_permanent_count == 1
    assert store.subscriber(ada.id).is_unsubscribed and store.received_papers([ada.id]) == {}


def test_the_job_records_a_run_only_when_something_was_due(world):
    store, settings, recorder = world
    assert digest_run.run_job(store, settings, now=WEDNESDAY) is None
    _subscriber(store, "ada@example.org")
    _listed(store, date(2026, 12, 2), 1)
    assert digest_run.run_job(store, settings, now=WEDNESDAY).startswith("1 sent, 0 failed")
    assert digest_run.run_job(store, settings, now=WEDNESDAY + timedelta(minutes=15)) is None
    assert [run.job for run in store.recent_job_runs()] == ["digest"]
    [row] = store.outbox_rows()
    assert row.run_id == store.recent_job_runs()[0].id


def test_no_smtp_host_means_no_job_and_a_clear_error(store):
    settings = mail_settings(25, smtp_host="")
    assert digest_run.run_job(store, settings, now=WEDNESDAY) is None
    with pytest.raises(mail.MailNotConfigured, match="PAPERWIRE_SMTP_HOST"):
        digest_run.run_recorded(store, settings, now=WEDNESDAY)


@pytest.mark.parametrize("query, text, categories, year_from, has_code", [
    ("q=diffusion&cat=cs.CV+cs.LG&from=2024&has_code=1", "diffusion", ("cs.CV", "cs.LG"), 2024, True),
    ("q=rag&from=24&until=x", "rag", (), None, False),
    ("cat=cs.CL,stat.ML", "", ("cs.CL", "stat.ML"), None, False),
])
def test_saved_queries_parse_like_the_search_form(query, text, categories, year_from, has_code):
    parsed_text, filters = digest_run.parse_saved_query(query)
    assert (parsed_text, filters.categories, filters.year_from, filters.has_code) == \
        (text, categories, year_from, has_code)


def test_for_you_and_follow_ups_come_from_the_library(world):
    """"For you" through the real recommend job (library/foryou.py) and a follow-up written
    by the papers upsert when a saved paper gets a new version: both reach the mail, each
    saying why, and a subscriber without an account gets neither."""
    from paperwire.library import foryou
    from paperwire.papers import Version, text_hash

    from tests.library.test_foryou import CANDIDATES, SAVED, VECTOR_MODEL

    store, settings, recorder = world
    papers = [_paper(90 + i, title=title, abstract=title + ".") for i, (_, title, _) in enumerate([SAVED, *CANDIDATES])]
    store.upsert_papers(papers, source="test")
    rows = store.paper_ids(p.arxiv_id for p in papers)
    store.put_embeddings(VECTOR_MODEL, [(rows[p.arxiv_id], text_hash(p), vector)
                                        for p, (_, _, vector) in zip(papers, [SAVED, *CANDIDATES])])
    user = store.create_user(username="ada", email="ada@example.org", password_hash="x", now=CREATED_AT)
    saved = papers[0]
    store.save(user.id, store.default_collection(user.id, now=CREATED_AT).id, saved.arxiv_id, now=CREATED_AT)
    assert foryou.refresh(store, now=WEDNESDAY - timedelta(hours=2))
    store.upsert_papers([_paper(90, title=saved.title, abstract=saved.abstract, version=2,
                                versions=(Version(1, saved.published_at), Version(2, WEDNESDAY - timedelta(hours=1))))],
                        source="test")
    for email, user_id in (("ada@example.org", user.id), ("bob@example.org", None)):
        subscriber = store.subscribe(email, now=CREATED_AT, user_id=user_id)
        store.save_subscription(Subscription(subscriber.id, created_at=CREATED_AT, send_time=time(8, 0),
                                             includes=frozenset({"for-you", "follow-up"})), now=CREATED_AT)
        store.confirm_subscriber(subscriber.id, now=CREATED_AT)

    report = digest_run.run(store, settings, now=WEDNESDAY)
    assert report.sent_count == 1 and report.skipped == {"nothing-new": 1}  # bob has no library
    [received] = recorder.received
    text = received.message.get_body(("plain",)).get_content()
    assert received.rcpt_tos == ["ada@example.org"]
    assert "https://paperwire.example.org/paper/2612.00091" in text  # the closest candidate
    assert f"Recommended for you, like “{saved.title}”" in text
    assert "https://paperwire.example.org/paper/2612.00090" in text and "News of a paper you saved: new version v2" in text
    assert "2612.00094" not in text or text.index("2612.00091") < text.index("2612.00094")
