from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import httpx
import pytest

from paperwire.sources import FetchError
from paperwire.sources.client import Retry, _retry_after, get, open_client

from .conftest import Reply


def test_pacing_waits_the_interval_after_each_request(clock):
    pacing = clock.pacing(3.0)
    with pacing.turn():
        pass
    with pacing.turn():
        clock.now += 0.5  # the request itself took half a second
    clock.now += 1.0  # the caller spent a second before asking again
    with pacing.turn():
        pass
    assert clock.sleeps == [3.0, 2.0]


def test_pacing_with_zero_interval_never_sleeps(clock):
    pacing = clock.pacing(0)
    for _ in range(3):
        with pacing.turn():
            pass
    assert clock.sleeps == []


@pytest.mark.parametrize("value, seconds", [("120", 120.0), ("", None), ("soon", None)])
def test_retry_after_seconds(value, seconds):
    response = httpx.Response(503, headers={"Retry-After": value} if value else {})
    assert _retry_after(response) == seconds


def test_retry_after_http_date():
    when = datetime.now(timezone.utc) + timedelta(seconds=90)
    response = httpx.Response(503, headers={"Retry-After": format_datetime(when, usegmt=True)})
    assert 80 <= _retry_after(response) <= 90


def test_client_error_is_not_retried(upstream, clock):
    upstream.script(Reply(b"no such endpoint", 404))
    with open_client() as client, pytest.raises(FetchError, match="answered 404: no such endpoint"):
        get(client, upstream.url + "/missing", pacing=clock.pacing())
    assert len(upstream.requests) == 1


def test_retry_after_beyond_the_limit_fails_with_advice(upstream, clock):
    upstream.script(Reply(b"maintenance", 503, {"Retry-After": "3600"}))
    with open_client() as client, pytest.raises(FetchError, match="wait 3600 s; try again later"):
        get(client, upstream.url, pacing=clock.pacing(), retry=Retry(max_wait_seconds=600))
    assert clock.sleeps == []


def test_accepted_status_is_returned(upstream, clock):
    upstream.script(Reply(b"explained", 400))
    with open_client() as client:
        response = get(client, upstream.url, pacing=clock.pacing(), accept=frozenset({400}))
    assert response.status_code == 400 and response.content == b"explained"


def test_connection_refused_is_retried_then_reported(clock):
    with open_client() as client, pytest.raises(FetchError, match="failed 2 times, last with ConnectError"):
        get(client, "http://127.0.0.1:9/", pacing=clock.pacing(), retry=Retry(attempts=2))
    assert clock.sleeps == [3.0]


def test_requests_share_one_connection_and_name_paperwire(upstream, clock):
    upstream.script(Reply(b"a"), Reply(b"b"), Reply(b"c"))
    pacing = clock.pacing()
    with open_client() as client:
        for _ in range(3):
            get(client, upstream.url, pacing=pacing)
    assert len({r.client_port for r in upstream.requests}) == 1
    assert all(r.headers["User-Agent"].startswith("paperwire/") for r in upstream.requests)
