from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import httpx
import pytest

from paperwire.sources import FetchError
from paperwire.sources.client import Pacing, Retry, _retry_after, get, ledger_path, open_client

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


def test_pacing_ledger_carries_the_pace_to_another_pacing(clock, tmp_path):
    ledger = tmp_path / "pacing" / "export.arxiv.org"  # the folder does not exist yet
    first = Pacing(3.0, clock=clock, sleep=clock.sleep, ledger=ledger)
    with first.turn():
        clock.now += 0.5  # the request takes half a second
    second = Pacing(3.0, clock=clock, sleep=clock.sleep, ledger=ledger)  # as in another process
    with second.turn():
        pass
    assert clock.sleeps == [3.0]
    assert float(ledger.read_text()) == clock.now


def test_pacing_ledger_ignores_a_clock_that_jumped_back(clock, tmp_path):
    ledger = tmp_path / "host"
    ledger.write_text(repr(clock.now + 3600))  # written before the clock was set back an hour
    with Pacing(3.0, clock=clock, sleep=clock.sleep, ledger=ledger).turn():
        pass
    assert clock.sleeps == [3.0]


def test_pacing_without_a_usable_ledger_paces_this_process(clock, tmp_path, caplog):
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the folder should be")
    pacing = Pacing(3.0, clock=clock, sleep=clock.sleep, ledger=blocker / "pacing" / "host")
    for _ in range(2):
        with pacing.turn():
            pass
    assert clock.sleeps == [3.0]
    assert "pacing this process only" in caplog.text


def test_ledger_path_names_the_host_and_port(tmp_path):
    assert ledger_path(tmp_path, "https://export.arxiv.org/api/query") == tmp_path / "export.arxiv.org"
    assert ledger_path(tmp_path, "http://127.0.0.1:8080/oai") == tmp_path / "127.0.0.1_8080"
