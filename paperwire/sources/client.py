"""How fetchers talk HTTP to upstream services: one paced connection, bounded retries.

Every fetcher sends its requests through `get`, which waits its turn on a
`Pacing` (arXiv asks for one request every 3 seconds over a single connection,
https://info.arxiv.org/help/api/tou.html), retries 429/5xx answers and
connection failures with exponential backoff, honours `Retry-After`, and turns
what is left into a `FetchError`. What a response means is the source
module's business.
"""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import urlsplit

import httpx

try:
    import fcntl
except ImportError:  # not on Windows: the ledger then paces without a lock
    fcntl = None

from paperwire import __version__
from paperwire.sources import FetchError

log = logging.getLogger(__name__)

USER_AGENT = f"paperwire/{__version__} (self-hosted research-paper discovery; python-httpx)"
READ_TIMEOUT_SECONDS = 60.0  # between two reads of a response: arXiv builds large pages slowly
CONNECT_TIMEOUT_SECONDS = 10.0
MAX_RESPONSE_BYTES = 64 * 1024 * 1024  # one page: arXiv's 2,000 entries or an OAI page are ~5 MB
MAX_RESPONSE_SECONDS = 600.0  # one whole response, however it trickles in
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
ERROR_BODY_CHARS = 300  # how much of an error response goes into a message


@dataclass
class Pacing:
    """Keeps at least `interval_seconds` between the end of one request and the start
    of the next. Pass your own `clock` and `sleep` to test without waiting.

    With `ledger` (a file, see `ledger_path`), the pace holds across processes: two
    commands run back to back, or side by side, wait for each other as arXiv's
    terms ask ("a single connection at a time", for all your machines together).
    The file holds the wall-clock end of the last request and is locked while a
    request runs; `clock` must then be wall time (time.time). A ledger that cannot
    be opened is logged and pacing falls back to this process alone.
    """

    interval_seconds: float = 3.0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    ledger: Path | None = None
    _last_at: float | None = field(default=None, init=False, repr=False)

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Wait until a request may start; the interval counts from when it ends."""
        with self._shared() as shared:
            last_at = self._last_at
            if shared is not None:
                last_at = max(last_at or 0.0, _read_float(shared)) or None
            if last_at is not None:
                # min(): a clock that jumped back must not make us wait for ever.
                remaining = min(last_at + self.interval_seconds - self.clock(), self.interval_seconds)
                if remaining > 0:
                    self.sleep(remaining)
            try:
                yield
            finally:
                self._last_at = self.clock()
                if shared is not None:
                    shared.seek(0)
                    shared.truncate()
                    shared.write(repr(self._last_at))
                    shared.flush()

    @contextmanager
    def _shared(self):
        """The ledger file, opened and exclusively locked, or None without one."""
        if self.ledger is None or self.interval_seconds <= 0:
            yield None
            return
        try:
            self.ledger.parent.mkdir(parents=True, exist_ok=True)
            handle = open(self.ledger, "a+")
        except OSError as error:
            log.warning("cannot keep the request pace in %s (%s); pacing this process only",
                        self.ledger, error)
            self.ledger = None
            yield None
            return
        with handle:
            if fcntl is not None:
                fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes
            yield handle


def ledger_path(folder: Path, url: str) -> Path:
    """The pacing ledger of `url`'s host under `folder`, e.g. `folder/export.arxiv.org`."""
    parts = urlsplit(url)
    name = parts.hostname or "local"
    return folder / (f"{name}_{parts.port}" if parts.port else name)


def _read_float(handle) -> float:
    handle.seek(0)
    try:
        return float(handle.read().strip() or 0)
    except ValueError:  # a torn or foreign file: start afresh
        return 0.0


@dataclass(frozen=True)
class Retry:
    """How often to retry and how long to wait: backoff doubles from `backoff_seconds`;
    a `Retry-After` longer than `max_wait_seconds` is not waited for."""

    attempts: int = 5
    backoff_seconds: float = 3.0
    max_wait_seconds: float = 300.0

    def backoff(self, attempt: int) -> float:
        return min(self.backoff_seconds * 2 ** (attempt - 1), self.max_wait_seconds)


RETRY = Retry()


@dataclass(frozen=True)
class ResponseLimits:
    """How much of one response `get` reads, and for how long, before it gives up: a feed
    that never ends, or drips a byte at a time, must not hold a harvest or fill memory
    (issue #15). The read timeout is the longest silence between two reads."""

    max_bytes: int = MAX_RESPONSE_BYTES
    max_seconds: float = MAX_RESPONSE_SECONDS
    read_timeout_seconds: float = READ_TIMEOUT_SECONDS


class Client(httpx.Client):
    """An httpx client that carries the `ResponseLimits` that `get` reads under."""

    def __init__(self, *, response_limits: ResponseLimits, **options) -> None:
        super().__init__(**options)
        self.response_limits = response_limits


def open_client(response_limits: ResponseLimits = ResponseLimits()) -> Client:
    """An HTTP client with one connection, explicit timeouts and size limits, and
    paperwire's User-Agent."""
    return Client(
        response_limits=response_limits,
        headers={"User-Agent": USER_AGENT},
        timeout=httpx.Timeout(response_limits.read_timeout_seconds, connect=CONNECT_TIMEOUT_SECONDS),
        limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        follow_redirects=True,
    )


def get(
    client: httpx.Client,
    url: str,
    *,
    pacing: Pacing,
    params: dict | None = None,
    retry: Retry = RETRY,
    accept: frozenset[int] = frozenset(),
) -> httpx.Response:
    """GET `url`, retrying transient failures; returns a 2xx response or one whose
    status is in `accept`. Raises FetchError when the attempts run out or the
    status is a client error."""
    for attempt in range(1, retry.attempts + 1):
        with pacing.turn():
            try:
                response = _bounded_get(client, url, params)
            except httpx.TransportError as error:
                problem, wait, target = f"{type(error).__name__}: {error}", None, url
            else:
                if response.is_success or response.status_code in accept:
                    return response
                target = str(response.url)
                if response.status_code not in RETRY_STATUSES:
                    raise FetchError(
                        f"GET {target} answered {response.status_code}: {_excerpt(response)}"
                    )
                problem, wait = f"status {response.status_code}", _retry_after(response)
        wait = retry.backoff(attempt) if wait is None else wait
        if attempt == retry.attempts:
            break
        if wait > retry.max_wait_seconds:
            raise FetchError(
                f"GET {target} answered {problem} and asked us to wait {wait:.0f} s; try again later"
            )
        log.warning("GET %s: %s; retry %d/%d in %.1f s", target, problem, attempt,
                    retry.attempts - 1, wait)
        pacing.sleep(wait)
    raise FetchError(
        f"GET {target} failed {retry.attempts} times, last with {problem}; "
        "the service may be down, try again later"
    )


def _bounded_get(client: httpx.Client, url: str, params: dict | None) -> httpx.Response:
    """GET `url` and read its body within the client's ResponseLimits (defaults for a plain
    httpx client); raises FetchError, not retried, naming the URL and the limit that a
    response broke. Decoded bytes are counted, so a gzip bomb stops at the limit too."""
    limits = getattr(client, "response_limits", ResponseLimits())
    started = time.monotonic()
    with client.stream("GET", url, params=params) as response:
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limits.max_bytes:
            raise _too_large(response, limits, f"announces {int(declared):,} bytes")
        chunks, size = [], 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > limits.max_bytes:
                raise _too_large(response, limits, f"sent more than {limits.max_bytes:,} bytes")
            if time.monotonic() - started > limits.max_seconds:
                raise FetchError(
                    f"GET {response.url} took more than {limits.max_seconds:.0f} s to send its answer "
                    f"({size:,} bytes so far), the limit for one response; the service may be "
                    "overloaded, try again later")
            chunks.append(chunk)
    # The body is decoded already: a new response without the encoding headers holds it.
    headers = [(k, v) for k, v in response.headers.multi_items()
               if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")]
    return httpx.Response(response.status_code, headers=headers, content=b"".join(chunks),
                          request=response.request)


def _too_large(response: httpx.Response, limits: ResponseLimits, what: str) -> FetchError:
    return FetchError(
        f"GET {response.url} {what}, over the limit of {limits.max_bytes:,} bytes for one response "
        "(client.MAX_RESPONSE_BYTES); it is not a page of papers, or ask for smaller pages")


def _retry_after(response: httpx.Response) -> float | None:
    """Seconds the server asks us to wait (delta-seconds or an HTTP date), if it says."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        until = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if until.tzinfo is None:
        until = until.replace(tzinfo=timezone.utc)
    return max((until - datetime.now(timezone.utc)).total_seconds(), 0.0)


def _excerpt(response: httpx.Response) -> str:
    text = " ".join(response.text.split())
    return text[:ERROR_BODY_CHARS] or "(empty body)"
