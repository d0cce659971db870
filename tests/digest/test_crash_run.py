"""Crash test of `paperwire digest run` (issue #12), in tests/store/test_crash.py's style: the
command runs as a real process and is killed with SIGKILL at points of its sending, then
run again; at the end every due digest was delivered exactly once, counted at the SMTP
server (aiosmtpd), and nothing was lost but what docs/digests.md's table allows.

The kills come from the server's side, which sees where the sender is: at a MAIL command
(steps 2-3 of "Exactly once": the row is `sending`), at a RCPT, and after a whole message
and its final dot arrived but before the 250 went back (the row is `accepting`; the server
keeps the message, as a real one delivers it). Then kills at seeded random moments within
a few milliseconds after a message arrived, which land before, during or after the
sender's mark, its next claim, its next fence. The one way to lose a digest (killed
between the `accepting` commit and the dot's write) must show as `sent` unseen, never as
a silent loss.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from paperwire.digest import Subscription
from paperwire.digest import run as digest_run
from paperwire.feed import DailyEntry
from paperwire.store import open_store
from paperwire.store.check import check
from tests.conftest import make_paper
from tests.digest.conftest import BASE_URL, SECRET_KEY, Received, free_port

SEED = 12  # the number
SUBSCRIBER_COUNT = 40
RANDOM_KILL_COUNT = 4
SMTP_TIMEOUT_SECONDS = 0.5  # a short lease (digest_run.LEASE_SMTP_STEPS timeouts), so reruns recover soon
RUN_TIMEOUT_SECONDS = 120
REPOSITORY = Path(__file__).resolve().parents[2]


class KillingRecorder:
    """An aiosmtpd handler that records accepted mail and can SIGKILL the sending process
    when it reaches a chosen command (the n-th MAIL, RCPT or DATA) or a random moment after
    the n-th message arrived."""

    def __init__(self):
        self.received: list[Received] = []
        self.counts: Counter = Counter()
        self.kill_at: tuple[str, int] | None = None
        self.kill_after_seconds: float | None = None
        self.pid: int | None = None
        self.lock = threading.Lock()

    def _maybe_kill(self, command: str) -> None:
        self.counts[command] += 1
        if self.kill_at == (command, self.counts[command]) and self.pid is not None:
            pid, self.kill_at = self.pid, None
            if self.kill_after_seconds is None:
                os.kill(pid, signal.SIGKILL)
            else:
                threading.Timer(self.kill_after_seconds, os.kill, (pid, signal.SIGKILL)).start()

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        envelope.mail_from = address
        self._maybe_kill("MAIL")
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        envelope.rcpt_tos.append(address)
        self._maybe_kill("RCPT")
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        # The whole message and its dot are here: the server has it, whatever happens next.
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        self._maybe_kill("DATA")
        return "250 2.0.0 accepted"


@pytest.fixture
def server():
    from aiosmtpd.controller import Controller

    recorder = KillingRecorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller.port, recorder
    controller.stop()


def _fill(url: str, now: datetime) -> None:
    """SUBSCRIBER_COUNT confirmed weekly subscribers whose digest is due now, and a trending paper."""
    store = open_store(url)
    try:
        store.upsert_papers([make_paper(arxiv_id="2612.00001", published_at=now - timedelta(days=1))], source="t")
        store.upsert_daily_entries([DailyEntry(day=now.date(), arxiv_id="2612.00001", upvote_count=9)])
        long_ago = now - timedelta(days=30)
        for i in range(SUBSCRIBER_COUNT):
            subscriber = store.subscribe(f"reader{i}@example.org", now=long_ago)
            store.save_subscription(Subscription(subscriber.id, created_at=long_ago, frequency="weekly",
                                                 send_time=datetime.min.time(), weekday=(now.weekday() + 6) % 7),
                                    now=long_ago)
            store.confirm_subscriber(subscriber.id, now=long_ago)
    finally:
        store.close()


def _env(tmp_path: Path, port: int, url: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": url, "PAPERWIRE_CACHE_DIR": str(tmp_path / "cache"),
            "PAPERWIRE_SMTP_HOST": "127.0.0.1", "PAPERWIRE_SMTP_PORT": str(port), "PAPERWIRE_SMTP_SECURITY": "none",
            "PAPERWIRE_SMTP_FROM": "paperwire <digest@paperwire.example.org>", "PAPERWIRE_SECRET_KEY": SECRET_KEY,
            "PAPERWIRE_BASE_URL": BASE_URL, "PAPERWIRE_SMTP_TIMEOUT_SECONDS": str(SMTP_TIMEOUT_SECONDS)}


COMMAND = [sys.executable, "-m", "paperwire", "digest", "run"]


def _run_until_killed(env: dict[str, str], recorder: KillingRecorder) -> bool:
    """Run the command with the recorder's kill armed; True if it was killed."""
    process = subprocess.Popen(COMMAND, env=env, cwd=REPOSITORY, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    recorder.pid = process.pid
    output, _ = process.communicate(timeout=RUN_TIMEOUT_SECONDS)
    recorder.pid = None
    if process.returncode == -signal.SIGKILL:
        return True
    assert process.returncode == 0, output
    return False


def _assert_consistent(url: str) -> None:
    store = open_store(url)
    try:
        report = check(store, index_root=None)
    finally:
        store.close()
    assert report.is_healthy, report.problems


def _finish(env: dict[str, str], url: str) -> None:
    """Wait out the leases of killed sends, then run until a run finds nothing left to do."""
    time.sleep(digest_run.LEASE_SMTP_STEPS * SMTP_TIMEOUT_SECONDS + digest_run.LEASE_MARGIN.total_seconds() + 0.5)
    for _ in range(3):
        done = subprocess.run(COMMAND, env=env, cwd=REPOSITORY, capture_output=True, text=True,
                              timeout=RUN_TIMEOUT_SECONDS)
        assert done.returncode == 0, done.stdout + done.stderr
        store = open_store(url)
        try:
            is_idle = not store.sendable_digests(now=datetime.now(timezone.utc), limit=1)
        finally:
            store.close()
        if is_idle:
            return
    raise AssertionError("digests were still waiting after three full runs")


@pytest.mark.slow
def test_killed_digest_runs_deliver_every_due_digest_exactly_once(tmp_path, server):
    port, recorder = server
    url = f"sqlite:///{tmp_path}/digests.db"
    now = datetime.now(timezone.utc)
    _fill(url, now)
    env = _env(tmp_path, port, url)
    killed = 0
    # Where the table of docs/digests.md says the process may die, from the server's side.
    for point in (("MAIL", 2), ("RCPT", 5), ("DATA", 9)):
        recorder.kill_at, recorder.kill_after_seconds = (point[0], recorder.counts[point[0]] + point[1]), None
        killed += _run_until_killed(env, recorder)
        _assert_consistent(url)
    rng = random.Random(SEED)
    for _ in range(RANDOM_KILL_COUNT):
        recorder.kill_at = ("DATA", recorder.counts["DATA"] + rng.randint(1, 4))
        recorder.kill_after_seconds = rng.uniform(0, 0.004)
        killed += _run_until_killed(env, recorder)
        _assert_consistent(url)
    recorder.kill_at = None
    assert killed >= 3, "the runs ended before their kills"
    _finish(env, url)
    _assert_consistent(url)

    copies = Counter(r.rcpt_tos[0] for r in recorder.received)
    assert max(copies.values()) == 1, [a for a, n in copies.items() if n > 1]  # never a duplicate
    store = open_store(url)
    try:
        rows = store.outbox_rows(limit=10 * SUBSCRIBER_COUNT)
    finally:
        store.close()
    assert len(rows) == SUBSCRIBER_COUNT and {row.state for row in rows} == {"sent"}
    for row in rows:  # delivered, or the one allowed loss, recorded as sent without a seen 250
        assert copies[row.email] == 1 or row.is_acceptance_seen is False, row
    assert sum(copies.values()) >= SUBSCRIBER_COUNT - RANDOM_KILL_COUNT
