"""Every source fetch reads a bounded response (issue #15): an endless body, a slow drip,
a huge single line or a silent server ends in a FetchError that names the URL and the
limit, not in a harvest that hangs or fills memory. The servers run on loopback."""

from __future__ import annotations

import gzip
import threading
import time
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from paperwire.sources import FetchError, arxiv_api, hf_daily, oai_pmh
from paperwire.sources.client import Pacing, ResponseLimits, Retry, open_client

from .conftest import fixture_bytes

LIMITS = ResponseLimits(max_bytes=100_000, max_seconds=1.0, read_timeout_seconds=0.5)
NO_RETRY = Retry(attempts=1)


def _endless(handler):
    handler.send_response(200)
    handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()
    chunk = b"<entry>" * 1000
    while True:  # until the client hangs up
        handler.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))


def _drip(handler):
    handler.send_response(200)
    handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()
    while True:  # one byte every 50 ms: never silent for a read timeout, never done
        handler.wfile.write(b"1\r\n<\r\n")
        handler.wfile.flush()
        time.sleep(0.05)


def _huge_line(handler):
    body = b"x" * 5_000_000  # one line, no break, its length announced
    handler.send_response(200)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


BOMB = gzip.compress(b"\0" * 20_000_000, compresslevel=1)  # 20 MB that travel as about 90 KB


def _gzip_bomb(handler):
    body = BOMB
    handler.send_response(200)
    handler.send_header("Content-Encoding", "gzip")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def _silent(handler):
    handler.send_response(200)
    handler.send_header("Content-Length", "1000")
    handler.end_headers()
    handler.wfile.flush()
    time.sleep(3)  # then hangs up


BEHAVIOURS = {"endless": _endless, "drip": _drip, "huge line": _huge_line, "gzip bomb": _gzip_bomb,
              "silent": _silent}
EXPECTED = {"endless": "sent more than 100,000 bytes", "drip": "took more than 1 s",
            "huge line": "announces 5,000,000 bytes", "gzip bomb": "sent more than 100,000 bytes",
            "silent": "ReadTimeout"}


@pytest.fixture
def hostile():
    """A loopback server whose every answer misbehaves as `server.behaviour` says."""
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            try:
                server.behaviour(self)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _fetchers(url, client):
    pacing = Pacing(0)
    return {
        "arxiv": lambda: list(arxiv_api.fetch(arxiv_api.Query(ids=("2501.00005",)), base_url=url + "/api/query",
                                              pacing=pacing, retry=NO_RETRY, client=client)),
        "oai": lambda: list(oai_pmh.fetch(base_url=url + "/oai", set_spec="cs", pacing=pacing,
                                          retry=NO_RETRY, client=client)),
        "hf": lambda: list(hf_daily.fetch([date(2025, 1, 3)], base_url=url, pacing=pacing,
                                          retry=NO_RETRY, client=client)),
    }


@pytest.mark.parametrize("behaviour", BEHAVIOURS)
@pytest.mark.parametrize("source", ["arxiv", "oai", "hf"])
def test_a_misbehaving_upstream_ends_in_a_clear_error(hostile, source, behaviour):
    hostile.behaviour = BEHAVIOURS[behaviour]
    url = f"http://127.0.0.1:{hostile.server_address[1]}"
    started = time.monotonic()
    with open_client(LIMITS) as client, pytest.raises(FetchError) as caught:
        _fetchers(url, client)[source]()
    message = str(caught.value)
    assert EXPECTED[behaviour] in message and url in message, message
    assert time.monotonic() - started < 5


def test_a_response_within_the_limits_is_read_whole(hostile):
    body = fixture_bytes("arxiv_api_by_id.xml")

    def answer(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    hostile.behaviour = answer
    url = f"http://127.0.0.1:{hostile.server_address[1]}"
    with open_client(ResponseLimits(max_bytes=len(body), max_seconds=5, read_timeout_seconds=5)) as client:
        (batch,) = _fetchers(url, client)["arxiv"]()
    assert [p.arxiv_id for p in batch.papers] == ["2501.00005"]
