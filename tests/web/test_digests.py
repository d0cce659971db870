"""The digest routes through HTTP, with a real SMTP server (aiosmtpd) receiving the mail:
double opt-in by following the confirmation link, one-click unsubscribe by POSTing to the
received List-Unsubscribe URL (tampered and expired tokens refused), settings, saved
searches, the preview and the admin page (docs/digests.md, "Routes")."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta, timezone
from urllib.parse import urlsplit

import pytest
from starlette.testclient import TestClient

from paperwire.digest import Subscription, tokens
from paperwire.digest import run as digest_run
from paperwire.feed import DailyEntry
from paperwire.web import digests
from paperwire.web.app import create_app
from tests.conftest import make_paper
from tests.digest.conftest import SECRET_KEY, mail_settings, smtp_server  # noqa: F401 (a fixture)
from tests.web.test_accounts import add_user, log_in, token_of

NOW = datetime.now(timezone.utc)


@pytest.fixture
def mailing(sqlite_url, store, smtp_server, tmp_path):  # noqa: F811
    _, port, recorder = smtp_server
    settings = mail_settings(port, database_url=sqlite_url, harvest_enabled="false",
                             model_cache_dir=str(tmp_path / "cache"))
    client = TestClient(create_app(settings, store=store), follow_redirects=False)
    return client, store, settings, recorder


def _subscribe(client, email: str, *, page: str = "/trending", zone: str = "Europe/Berlin"):
    return client.post("/digest/subscribe", data={"csrf_token": token_of(client.get(page)), "email": email,
                                                  "timezone": zone})


def _link(received, path: str) -> str:
    text = received.message.get_body(("plain",)).get_content()
    return re.search(rf"https://paperwire\.example\.org({re.escape(path)}\?token=\S+)", text).group(1)


def test_the_subscribe_box_is_on_the_day_and_trending_pages_with_a_token(mailing):
    client, store, _, _ = mailing
    store.upsert_papers([make_paper(arxiv_id="2612.00001")], source="test")
    for page in ("/", "/trending"):
        fresh = TestClient(client.app, follow_redirects=False)
        response = fresh.get(page)
        assert 'action="/digest/subscribe"' in response.text and "data-timezone" in response.text
        assert token_of(response) and "paperwire_session" in response.cookies  # an anonymous session for it


def test_double_opt_in_through_http(mailing):
    client, store, _, recorder = mailing
    response = _subscribe(client, "Ada@Example.org")
    assert response.status_code == 200 and "Check your inbox" in response.text
    [confirmation] = recorder.received
    assert confirmation.rcpt_tos == ["Ada@example.org"]
    subscriber = store.subscriber_by_email("Ada@example.org")
    assert store.subscription(subscriber.id).timezone == "Europe/Berlin" and not subscriber.is_confirmed

    page = client.get(_link(confirmation, "/digest/confirm"))
    assert page.status_code == 200 and "Confirm" in page.text
    assert not store.subscriber(subscriber.id).is_confirmed  # opening the link changes nothing
    token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)
    done = client.post("/digest/confirm", data={"csrf_token": token_of(page), "token": token})
    assert done.status_code == 200 and "Your digest is on" in done.text
    assert store.subscriber(subscriber.id).is_confirmed


def test_without_javascript_the_zone_is_utc(mailing):
    client, store, _, _ = mailing
    page = client.get("/trending")
    client.post("/digest/subscribe", data={"csrf_token": token_of(page), "email": "ada@example.org",
                                           "timezone": "UTC"})
    client.post("/digest/subscribe", data={"csrf_token": token_of(page), "email": "bob@example.org",
                                           "timezone": "Not/AZone"})
    for email in ("ada@example.org", "bob@example.org"):
        assert store.subscription(store.subscriber_by_email(email).id).timezone == "UTC"


def test_the_answer_is_the_same_for_known_and_new_addresses_and_one_mail_per_ten_minutes(mailing):
    client, store, _, recorder = mailing
    first, again = _subscribe(client, "ada@example.org"), _subscribe(client, "ada@example.org")
    other = _subscribe(client, "bob@example.org")
    assert first.text.replace("bob", "ada") == again.text == other.text.replace("bob", "ada")
    assert sorted(r.rcpt_tos[0] for r in recorder.received) == ["ada@example.org", "bob@example.org"]


def test_a_confirm_post_without_csrf_or_with_a_forged_or_expired_token_is_refused(mailing):
    client, store, _, recorder = mailing
    _subscribe(client, "ada@example.org")
    subscriber = store.subscriber_by_email("ada@example.org")
    form_token = token_of(client.get("/trending"))
    good = tokens.sign("confirm", str(subscriber.id), secret_key=SECRET_KEY, now=NOW)
    assert client.post("/digest/confirm", data={"token": good}).status_code == 403
    forged = good[:-2] + ("AA" if not good.endswith("AA") else "BB")
    expired = tokens.sign("confirm", str(subscriber.id), secret_key=SECRET_KEY, now=NOW - timedelta(days=8))
    unsubscribe = tokens.sign("unsubscribe", str(subscriber.id), secret_key=SECRET_KEY, now=NOW)
    for bad in (forged, expired, unsubscribe, "junk"):
        response = client.post("/digest/confirm", data={"csrf_token": form_token, "token": bad})
        assert response.status_code == 400, bad
        assert client.get("/digest/confirm", params={"token": bad}).status_code == 400
    assert not store.subscriber(subscriber.id).is_confirmed


def test_a_bad_address_is_refused_with_the_reason(mailing):
    client, _, _, recorder = mailing
    response = _subscribe(client, "not an address")
    assert response.status_code == 400 and "not an email address" in response.text and recorder.received == []


def test_the_subscribe_box_is_rate_limited_per_address(mailing):
    client, _, _, _ = mailing
    codes = [_subscribe(client, f"reader{i}@example.org").status_code
             for i in range(digests.SUBSCRIBE_PER_ADDRESS.count + 1)]
    assert codes[:-1] == [200] * digests.SUBSCRIBE_PER_ADDRESS.count and codes[-1] == 429


def _with_a_digest(store, settings, recorder):
    """A confirmed weekly subscriber and a trending paper; one digest run delivers its mail."""
    store.upsert_papers([make_paper(arxiv_id="2612.00001", published_at=NOW - timedelta(days=1))], source="t")
    store.upsert_daily_entries([DailyEntry(day=NOW.date(), arxiv_id="2612.00001", upvote_count=9)])
    subscriber = store.subscribe("ada@example.org", now=NOW - timedelta(days=30))
    store.save_subscription(Subscription(subscriber.id, created_at=NOW - timedelta(days=30), frequency="weekly",
                                         send_time=time(0, 0), weekday=(NOW.weekday() + 6) % 7),
                            now=NOW - timedelta(days=30))
    store.confirm_subscriber(subscriber.id, now=NOW - timedelta(days=30))
    assert digest_run.run(store, settings, now=NOW).sent_count == 1
    return subscriber, recorder.received[-1]


def test_one_click_unsubscribe_by_posting_to_the_received_list_unsubscribe_url(mailing):
    client, store, settings, recorder = mailing
    subscriber, digest = _with_a_digest(store, settings, recorder)
    url = digest.message["List-Unsubscribe"].strip("<>")
    assert digest.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    parts = urlsplit(url)
    anonymous = TestClient(client.app, follow_redirects=False)  # no cookie, no CSRF token: RFC 8058
    assert anonymous.get(f"{parts.path}?{parts.query}").status_code == 200
    assert not store.subscriber(subscriber.id).is_unsubscribed  # the visible link's page changes nothing
    response = anonymous.post(f"{parts.path}?{parts.query}", content=b"List-Unsubscribe=One-Click",
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 200 and "Unsubscribed" in response.text
    assert store.subscriber(subscriber.id).is_unsubscribed
    assert _link(digest, "/digest/unsubscribe") == f"{parts.path}?{parts.query}"  # the visible link is the same


@pytest.mark.parametrize("tamper", ["tampered", "expired", "confirm purpose"])
def test_unsubscribe_with_a_tampered_or_expired_token_is_refused(mailing, tamper):
    client, store, _, _ = mailing
    subscriber = store.subscribe("ada@example.org", now=NOW)
    token = {
        "tampered": tokens.sign("unsubscribe", str(subscriber.id + 1), secret_key=SECRET_KEY, now=NOW)[:-4] + "abcd",
        "expired": tokens.sign("unsubscribe", str(subscriber.id), secret_key=SECRET_KEY, now=NOW - timedelta(days=366)),
        "confirm purpose": tokens.sign("confirm", str(subscriber.id), secret_key=SECRET_KEY, now=NOW),
    }[tamper]
    response = client.post("/digest/unsubscribe", params={"token": token}, content=b"List-Unsubscribe=One-Click",
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 400
    assert not store.subscriber(subscriber.id).is_unsubscribed


def test_settings_need_a_sign_in(mailing):
    client, _, _, _ = mailing
    assert client.get("/digest/settings").status_code == 401
    assert client.get("/digest/preview").status_code == 401


def test_settings_subscribe_confirm_and_save_choices(mailing):
    client, store, _, recorder = mailing
    user = add_user(store, "ada")
    log_in(client, "ada")
    page = client.get("/digest/settings")
    assert "Send me the digest" in page.text
    assert client.post("/digest/settings", data={"csrf_token": token_of(page), "action": "subscribe",
                                                 "timezone": "Asia/Tokyo"}).status_code == 200
    [confirmation] = recorder.received
    assert confirmation.rcpt_tos == ["ada@example.org"]
    subscriber = store.subscriber_of_user(user.id)
    store.confirm_subscriber(subscriber.id, now=NOW)
    page = client.get("/digest/settings")
    assert 'name="frequency"' in page.text
    choices = {"csrf_token": token_of(page), "action": "save", "frequency": "weekly", "weekday": "4",
               "send_time": "07:30", "timezone": "America/New_York", "paper_count": "5",
               "include": ["trending", "saved-search"]}
    assert client.post("/digest/settings", data=choices).status_code == 303
    saved = store.subscription(subscriber.id)
    assert (saved.frequency, saved.weekday, saved.send_time, saved.timezone, saved.paper_count, saved.includes) \
        == ("weekly", 4, time(7, 30), "America/New_York", 5, frozenset({"trending", "saved-search"}))
    for field, bad in (("timezone", "Mars/Olympus"), ("paper_count", "99"), ("send_time", "25:00"),
                       ("include", "gossip")):
        response = client.post("/digest/settings", data={**choices, field: bad})
        assert response.status_code == 400 and 'role="alert"' in response.text, field
    assert client.post("/digest/settings", data={"action": "save"}).status_code == 403  # no CSRF token
    client.post("/digest/settings", data={"csrf_token": token_of(page), "action": "unsubscribe"})
    assert store.subscriber(subscriber.id).is_unsubscribed


def test_save_this_search_and_choose_it_for_the_digest(mailing):
    client, store, _, _ = mailing
    user = add_user(store, "ada")
    store.upsert_papers([make_paper(arxiv_id="2612.00001", title="Graph attention")], source="t")
    assert "Save this search" not in client.get("/search", params={"q": "graph"}).text  # signed out
    log_in(client, "ada")
    page = client.get("/search", params={"q": "graph <b>", "cat": "cs.CL"})
    assert "Save this search" in page.text and "<b>" not in page.text.split("save-search")[1][:400]
    query = re.search(r'name="query" value="([^"]+)"', page.text).group(1)
    response = client.post("/search/save", data={"csrf_token": token_of(page), "query": query.replace("&amp;", "&"),
                                                 "mode": "lexical", "name": "graphs"})
    assert response.status_code == 303
    [saved] = store.saved_searches([user.id])[user.id]
    assert saved.name == "graphs" and digest_run.parse_saved_query(saved.query)[1].categories == ("cs.CL",)
    store.subscribe("ada@example.org", now=NOW, user_id=user.id)
    settings_page = client.get("/digest/settings")
    assert "graphs" in settings_page.text
    client.post(f"/search/saved/{saved.id}/delete", data={"csrf_token": token_of(settings_page)})
    assert store.saved_searches([user.id]) == {}


def test_preview_shows_the_next_digest_or_why_none(mailing):
    client, store, settings, recorder = mailing
    add_user(store, "ada")
    log_in(client, "ada")
    assert "You have no digest" in client.get("/digest/preview").text
    subscriber, _ = _with_a_digest(store, settings, recorder)
    store.upsert_papers([make_paper(arxiv_id="2612.00002", title="A <i>new</i> paper",
                                    published_at=NOW - timedelta(hours=2))], source="t")
    store.upsert_daily_entries([DailyEntry(day=NOW.date(), arxiv_id="2612.00002", upvote_count=3)])
    page = client.get("/digest/preview")
    assert "2612.00002" in page.text and "2612.00001" not in page.text  # received already
    assert "<i>new</i>" not in page.text and "&lt;i&gt;new&lt;/i&gt;" in page.text
    assert len(recorder.received) == 1  # nothing sent, nothing recorded
    assert store.received_papers([subscriber.id])[subscriber.id] == {"2612.00001"}


def test_the_admin_page_lists_runs_failures_and_alerts(mailing):
    client, store, settings, recorder = mailing
    add_user(store, "ada")
    add_user(store, "root", is_admin=True)
    log_in(client, "ada")
    assert client.get("/admin/digests").status_code == 403
    log_in(client, "root")
    assert "No digest run yet" in client.get("/admin/digests").text
    recorder.replies["RCPT"] = "550 5.1.1 <ada@example.org> no such mailbox"
    store.upsert_papers([make_paper(arxiv_id="2612.00001", published_at=NOW)], source="t")
    store.upsert_daily_entries([DailyEntry(day=NOW.date(), arxiv_id="2612.00001", upvote_count=9)])
    subscriber = store.subscribe("ada@example.org", now=NOW - timedelta(days=30))
    store.save_subscription(Subscription(subscriber.id, created_at=NOW - timedelta(days=30), frequency="weekly",
                                         send_time=time(0, 0), weekday=(NOW.weekday() + 6) % 7), now=NOW)
    store.confirm_subscriber(subscriber.id, now=NOW)
    digest_run.run_recorded(store, settings, now=NOW)
    page = client.get("/admin/digests").text
    assert "0 sent, 1 failed" in page and "no such mailbox" in page and "ada@example.org" in page
