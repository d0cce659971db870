"""Hostile sign-up values through HTTP, as a table: each is refused with a reason the
person can act on, or stored exactly as accounts.py normalises it, never a 500 and
never a half-made account."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.web.test_accounts import PASSWORD, app_for, token_of  # noqa: F401 (app_for is a fixture)

GOOD = dict(username="ada", email="ada@example.org", password=PASSWORD)

# (field, typed value, expected): expected is ("refused", words in the answer) or
# ("stored", the value the users table holds).
CASES = [
    # overlong
    ("username", "a" * 33, ("refused", "has 33 characters; use 2 to 32")),
    ("email", "a" * 250 + "@x.org", ("refused", "256 characters; the limit is 254")),
    ("password", "p" * 1025 + "q", ("refused", "use at most 1024")),
    # empty and whitespace
    ("username", "", ("refused", "has 0 characters")),
    ("username", "   ", ("refused", "has 0 characters")),
    ("email", "", ("refused", "is not an email address")),
    ("password", "", ("refused", "use at least 8")),
    ("password", "        ", ("refused", "repeats one character")),
    ("username", "  Ada  ", ("stored", "ada")),
    ("username", "a da", ("refused", "may only have letters a-z")),
    ("email", "  ada@Example.ORG\t", ("stored", "ada@example.org")),
    ("email", "ada @example.org", ("refused", "is not an email address")),
    # control characters
    ("username", "ada\x00", ("refused", "may only have letters a-z")),
    ("username", "ada\x1b[31m", ("refused", "may only have letters a-z")),
    ("email", "ada\x00@example.org", ("refused", "control or invisible characters")),
    ("email", "ada\x07@example.org", ("refused", "control or invisible characters")),
    # Unicode: confusables, normalisation, invisible characters
    ("username", "аda", ("refused", "may only have letters a-z")),  # Cyrillic а (U+0430)
    ("username", "ａｄａ", ("refused", "may only have letters a-z")),  # fullwidth
    ("username", "ad\u200ba", ("refused", "may only have letters a-z")),  # zero-width space
    ("username", "\u212aate", ("stored", "kate")),  # KELVIN SIGN lower-cases to k
    ("username", "İda", ("refused", "may only have letters a-z")),  # lower() gives i + combining dot
    ("email", "ada\u202egro.elpmaxe@x.org", ("refused", "control or invisible characters")),  # RTL override
    ("email", "ada\u200d@example.org", ("refused", "control or invisible characters")),  # zero-width joiner
    ("email", "ада@пример.рф", ("stored", "ада@пример.рф")),  # an internationalised address, kept as typed
    # HTML
    ("username", "<script>alert(1)</script>", ("refused", "may only have letters a-z")),
    ("username", "ada\"><img src=x>", ("refused", "may only have letters a-z")),
    ("email", "<b>ada</b>@example.org", ("stored", "<b>ada</b>@example.org")),  # escaped wherever shown
    # SQL-looking
    ("username", "ada'; DROP TABLE users;--", ("refused", "may only have letters a-z")),
    ("username", "ada' OR '1'='1", ("refused", "may only have letters a-z")),
    ("email", "x'--@example.org", ("stored", "x'--@example.org")),  # parameterised SQL stores it as text
    ("password", "'; DROP TABLE users;--", ("stored", None)),  # hashed, never in SQL
    # names that would read as the site
    ("username", "Admin", ("refused", "is reserved")),
    ("username", "-ada", ("refused", "must start and end with a letter or digit")),
]


@pytest.mark.parametrize("field, value, expected", CASES, ids=[f"{f}={v[:20]!r}" for f, v, _ in CASES])
def test_a_hostile_sign_up_value_is_refused_with_why_or_stored_exactly(app_for, store, field, value, expected):
    client = TestClient(app_for(signup="open"), follow_redirects=False)
    response = client.post("/signup", data={"csrf_token": token_of(client.get("/signup")), **GOOD, field: value})
    outcome, wanted = expected
    if outcome == "refused":
        assert response.status_code == 400, response.text
        assert wanted in response.text.replace("&#39;", "'").replace("&#34;", '"')
        assert store.users() == []
        assert "<script>alert" not in response.text and "<img src=x>" not in response.text
        return
    assert response.status_code == 303, response.text
    [user] = store.users()
    if field == "username":
        assert user.username == wanted
    elif field == "email":
        assert user.email == wanted
    assert store.user_by_name(user.username) == user  # the users table is whole
