"""Fixtures for source tests: a scripted upstream HTTP server on 127.0.0.1 and a fake clock.

Fetchers run unchanged against `upstream`, which answers each request with the
next scripted `Reply` (recorded wire-format bodies from tests/data) and records
what it was asked. `clock` stands in for time in `Pacing`, so a test sees every
wait the fetcher asked for without sleeping. `store` is overridden here with
SQLite alone: these tests need one real store, and tests/store/ already holds
the engines to the same behaviour.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner

from paperwire.cli import cli
from paperwire.sources.client import Pacing
from paperwire.store import open_store

DATA = Path(__file__).parent.parent / "data"


def fixture_bytes(name: str) -> bytes:
    return (DATA / name).read_bytes()


@dataclass
class Reply:
    """One scripted answer; `drop` closes the connection without answering."""

    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False


@dataclass
class Request:
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    at: float | None  # the fake clock's time when it arrived
    client_port: int  # the same port means the same connection
    received_at: float = 0.0  # time.monotonic() when it arrived: real time, across processes


class FakeClock:
    """Time that moves only when someone sleeps; `sleeps` lists every wait asked for."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def pacing(self, interval_seconds: float = 3.0) -> Pacing:
        return Pacing(interval_seconds, clock=self, sleep=self.sleep)


class Upstream:
    def __init__(self, server: ThreadingHTTPServer, clock: FakeClock) -> None:
        self._server = server
        self.clock = clock
        self.replies: deque[Reply] = deque()
        self.requests: list[Request] = []
        self.url = f"http://127.0.0.1:{server.server_address[1]}"

    def script(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    def params(self) -> list[dict[str, str]]:
        return [r.params for r in self.requests]


def _handler(upstream_ref: list) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            upstream: Upstream = upstream_ref[0]
            parts = urlsplit(self.path)
            upstream.requests.append(Request(
                path=parts.path,
                params={k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()},
                headers=dict(self.headers),
                at=upstream.clock(),
                client_port=self.client_address[1],
                received_at=time.monotonic(),
            ))
            reply = upstream.replies.popleft() if upstream.replies else Reply(b"no reply scripted", 404)
            if reply.drop:
                self.close_connection = True
                return
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        def log_message(self, format, *args) -> None:  # keep test output quiet
            pass

    return Handler


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def upstream(clock):
    ref: list = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(ref))
    ref.append(Upstream(server, clock))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield ref[0]
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def store(sqlite_url):
    s = open_store(sqlite_url)
    yield s
    s.close()


@pytest.fixture
def paperwire(sqlite_url, upstream, tmp_path):
    """Run `paperwire ARGS...` against the test store and the loopback upstream; pass
    `env` to override settings (PAPERWIRE_REQUEST_INTERVAL_SECONDS is 0 by default)."""
    runner = CliRunner()
    base_env = {
        "PAPERWIRE_ARXIV_API_URL": upstream.url + "/api/query",
        "PAPERWIRE_OAI_PMH_URL": upstream.url + "/oai",
        "PAPERWIRE_HF_URL": upstream.url,
        "PAPERWIRE_REQUEST_INTERVAL_SECONDS": "0",
        "PAPERWIRE_CACHE_DIR": str(tmp_path / "cache"),
    }

    def invoke(*args: str, env: dict[str, str] | None = None):
        return runner.invoke(cli, ["--database-url", sqlite_url, *args], env={**base_env, **(env or {})})

    return invoke


def stored_ids(sqlite_url) -> list[str]:
    store = open_store(sqlite_url)
    try:
        return sorted(p.arxiv_id for p in store.iter_papers())
    finally:
        store.close()
