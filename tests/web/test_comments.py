"""The discussion through HTTP: posting, replying, editing and deleting your own, the
admin's hide, hostile Markdown through the page, CSRF, rate limits and comment counts."""

from __future__ import annotations

import re
from datetime import date, datetime, timezone

import pytest

from paperwire import discussion
from paperwire.feed import DailyEntry
from paperwire.papers import Author
from paperwire.ratelimit import POST_PER_ACCOUNT
from tests.conftest import make_paper
from tests.web.test_accounts import add_user, log_in, token_of
from tests.web.test_error_shape import assert_html_error

DAY = date(2025, 3, 1)
ARXIV_ID = "2503.00001"
PAGE = f"/paper/{ARXIV_ID}"


@pytest.fixture
def client(client, store):
    store.upsert_papers([make_paper(arxiv_id=ARXIV_ID, authors=(Author("Grace Hopper"),),
                                    published_at=datetime(2025, 3, 1, 8, tzinfo=timezone.utc))], source="test")
    store.upsert_daily_entries([DailyEntry(day=DAY, arxiv_id=ARXIV_ID, upvote_count=3)])
    add_user(store, "ada")
    add_user(store, "bob")
    add_user(store, "root1", is_admin=True)
    return client


def comment(client, text: str, *, parent: int | None = None, path: str = PAGE):
    """Post `text` from the paper page's form, as a browser without script would."""
    data = {"csrf_token": token_of(client.get(path)), "body": text}
    if parent is not None:
        data["parent"] = str(parent)
    return client.post(f"{path}/comments", data=data)


def posted_id(response) -> int:
    assert response.status_code == 303, response.text
    return int(re.fullmatch(rf"{PAGE}#comment-(\d+)", response.headers["location"]).group(1))


def comment_html(page: str, comment_id: int) -> str:
    match = re.search(rf'<article class="comment[^"]*" id="comment-{comment_id}">(.*?)</article>', page, re.S)
    return match.group(1) if match else ""


def test_a_visitor_reads_the_discussion_and_is_asked_to_log_in(client):
    page = client.get(PAGE).text
    assert 'id="comments"' in page and "No comments yet." in page
    assert "Log in to comment" in page and 'class="comment-form"' not in page


def test_a_comment_is_posted_without_script_and_shown_rendered(client, store):
    log_in(client, "ada")
    comment_id = posted_id(comment(client, "Nice *result*, see [the code](https://example.org/x)."))
    shown = comment_html(client.get(PAGE).text, comment_id)
    assert "<strong>ada</strong>" in shown and "<em>result</em>" in shown
    assert '<a href="https://example.org/x" rel="nofollow ugc noopener">the code</a>' in shown
    assert store.comments_for(ARXIV_ID)[0].body == "Nice *result*, see [the code](https://example.org/x)."


@pytest.mark.parametrize("text, absent, present", [
    ("<script>alert(1)</script>", "<script>alert", "&lt;script&gt;alert(1)&lt;/script&gt;"),
    ("[click](javascript:alert(1))", "href=\"javascript:", "click"),
    ('<img src=x onerror="alert(1)">', "<img", "&lt;img src=x onerror="),
    ("[x](data:text/html;base64,PHNjcmlwdD4=)", 'href="data:', "x"),
    ('<a href="https://evil.example" onclick="steal()">hi</a>', "<a href=\"https://evil", "&lt;a href="),
    ("![pixel](https://tracker.example/p.gif)", "<img", "pixel"),
    ('"><svg onload=alert(1)>', "<svg", "&lt;svg onload=alert(1)&gt;"),
])
def test_hostile_markdown_reaches_the_page_harmless(client, text, absent, present):
    log_in(client, "ada")
    comment_id = posted_id(comment(client, text))
    shown = comment_html(client.get(PAGE).text, comment_id)
    assert absent not in shown and present in shown


def test_a_reply_joins_the_thread_of_the_comment_it_answers(client, store):
    log_in(client, "ada")
    top = posted_id(comment(client, "Top"))
    first = posted_id(comment(client, "First reply", parent=top))
    second = posted_id(comment(client, "Reply to the reply", parent=first))
    assert {c.id: c.parent_id for c in store.comments_for(ARXIV_ID)} == {top: None, first: top, second: top}
    page = client.get(PAGE).text
    replies = re.search(r'<ol class="replies">(.*?)</ol>', page, re.S).group(1)
    assert f'id="comment-{first}"' in replies and f'id="comment-{second}"' in replies
    assert page.count('<details class="reply">') == 1  # one reply form, under the top-level comment


def test_a_refused_comment_shows_the_form_again_with_why_and_the_text(client, store):
    log_in(client, "ada")
    response = comment(client, "   \n ")
    assert response.status_code == 400 and "the comment is empty" in response.text
    response = comment(client, "x" * (discussion.COMMENT_MAX_CHARS + 1))
    assert response.status_code == 400 and "10,001 characters; the limit is 10,000" in response.text
    assert "x" * 100 in response.text  # the writer's text comes back to them
    assert store.comments_for(ARXIV_ID) == []


def test_posting_needs_a_login_and_the_csrf_token(client, store):
    response = client.post(f"{PAGE}/comments", data={"body": "hi"})
    assert_html_error(response, 403, "CSRF token")
    log_in(client, "ada")
    assert_html_error(client.post(f"{PAGE}/comments", data={"body": "hi", "csrf_token": "forged"}), 403, "CSRF")
    assert client.get(f"/comments/1/delete").status_code == 405  # no state change on GET
    assert store.comments_for(ARXIV_ID) == []


def test_comments_on_an_unknown_paper_are_404(client):
    log_in(client, "ada")
    assert comment(client, "hi", path="/paper/2503.09999").status_code == 404


def test_editing_your_own_comment_without_script(client, store):
    log_in(client, "ada")
    comment_id = posted_id(comment(client, "Frist"))
    form = client.get(f"/comments/{comment_id}/edit")
    assert form.status_code == 200 and ">Frist</textarea>" in form.text
    response = client.post(f"/comments/{comment_id}/edit", data={"csrf_token": token_of(form), "body": "First"})
    assert posted_id(response) == comment_id
    shown = comment_html(client.get(PAGE).text, comment_id)
    assert "<p>First</p>" in shown and "edited" in shown


def test_editing_or_deleting_someone_elses_comment_is_403(client, store):
    log_in(client, "ada")
    comment_id = posted_id(comment(client, "Mine"))
    client.cookies.clear()
    log_in(client, "bob")
    token = token_of(client.get(PAGE))
    assert_html_error(client.get(f"/comments/{comment_id}/edit"), 403, "only edit or delete your own")
    for action in ("edit", "delete"):
        response = client.post(f"/comments/{comment_id}/{action}", data={"csrf_token": token, "body": "Hacked"})
        assert_html_error(response, 403, "only edit or delete your own")
    assert_html_error(client.post(f"/comments/{comment_id}/hide", data={"csrf_token": token}), 403,
                      "only an administrator")
    assert store.comment(comment_id).body == "Mine" and not store.comment(comment_id).is_hidden
    assert 'href="/comments/%d/edit"' % comment_id not in client.get(PAGE).text


def test_a_deleted_comment_keeps_its_place_while_it_has_replies(client, store):
    log_in(client, "ada")
    top = posted_id(comment(client, "Words to take back"))
    client.cookies.clear()
    log_in(client, "bob")
    reply = posted_id(comment(client, "A reply", parent=top))
    client.cookies.clear()
    log_in(client, "ada")
    token = token_of(client.get(PAGE))
    response = client.post(f"/comments/{top}/delete", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["location"] == f"{PAGE}#comments"
    page = client.get(PAGE).text
    assert "Words to take back" not in page and "This comment was deleted." in page
    assert "A reply" in comment_html(page, reply)
    assert_html_error(client.post(f"/comments/{top}/edit", data={"csrf_token": token, "body": "x"}), 404, "deleted")


def test_an_admin_hides_a_comment_and_shows_it_again(client, store):
    log_in(client, "ada")
    comment_id = posted_id(comment(client, "Buy cheap pills"))
    client.cookies.clear()
    log_in(client, "root1")
    token = token_of(client.get(PAGE))
    assert client.post(f"/comments/{comment_id}/hide", data={"csrf_token": token}).status_code == 303
    admin_view = comment_html(client.get(PAGE).text, comment_id)
    assert "Buy cheap pills" in admin_view and "hidden by an administrator" in admin_view and ">Show<" in admin_view
    client.cookies.clear()
    assert "Buy cheap pills" not in client.get(PAGE).text  # a visitor sees nothing of it
    assert client.get(f"/day/{DAY}").text.count('class="comment-count"') == 0
    log_in(client, "root1")
    assert client.post(f"/comments/{comment_id}/unhide", data={"csrf_token": token_of(client.get(PAGE))}
                       ).status_code == 303
    client.cookies.clear()
    assert "Buy cheap pills" in client.get(PAGE).text


def test_comment_counts_show_on_the_day_trending_and_author_lists(client, store):
    log_in(client, "ada")
    posted_id(comment(client, "One"))
    posted_id(comment(client, "Two"))
    store.upvote(store.user_by_name("ada").id, ARXIV_ID, now=datetime.now(timezone.utc))
    for path in (f"/day/{DAY}", "/trending?window=month", "/author/Grace Hopper"):
        page = client.get(path).text
        assert f'<a class="comment-count" href="{PAGE}#comments">2 comments' in page, path


def test_posting_is_rate_limited_per_account(client, store):
    log_in(client, "ada")
    token = token_of(client.get(PAGE))
    for n in range(POST_PER_ACCOUNT.count):
        assert client.post(f"{PAGE}/comments", data={"csrf_token": token, "body": f"n{n}"}).status_code == 303
    response = client.post(f"{PAGE}/comments", data={"csrf_token": token, "body": "one too many"})
    assert_html_error(response, 429, "too many attempts")
    assert int(response.headers["Retry-After"]) >= 1
    assert len(store.comments_for(ARXIV_ID)) == POST_PER_ACCOUNT.count


def test_a_comment_rendered_by_older_rules_is_rendered_again_when_read(client, store):
    ada = store.user_by_name("ada")
    old = store.add_comment(ARXIV_ID, ada.id, body="**bold**", body_html="<b onclick=x>stale</b>", render_version=0,
                            now=datetime.now(timezone.utc))
    shown = comment_html(client.get(PAGE).text, old.id)
    assert "<strong>bold</strong>" in shown and "stale" not in shown
