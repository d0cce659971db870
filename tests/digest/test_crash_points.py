"""The two facts the exactly-once design (docs/digests.md) rests on, with real processes killed by SIGKILL.

1. A sender killed before its final dot delivers nothing: the server drops a
   transaction whose connection closes without the dot (RFC 5321 section 4.1.1.4).
   Checked on our Connection, killed inside `before_final_dot`.
2. A sender killed right after writing the dot still delivers: the kernel sends
   what the process had written. Checked with plain smtplib, since our code has
   no hook after the dot (the outbox needs none: its row is `accepting` by then).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from tests.digest.conftest import NOW

REPOSITORY = Path(__file__).resolve().parents[2]
SUBPROCESS_TIMEOUT_SECONDS = 60

KILLED_BEFORE_THE_DOT = """
import os, signal
from datetime import datetime
from paperwire import config
from paperwire.digest import mail
settings = config.load({{}}, smtp_host="127.0.0.1", smtp_port="{port}", smtp_security="none",
                       smtp_from="p <p@example.org>")
smtp = mail.SmtpConfig.from_settings(settings)
message = mail.Message("digest", smtp.sender, mail.parse_address("r@example.org"),
                       mail.Rendered("killed before the dot", "text", "<p>html</p>"), "<crash.1@example.org>")
die = lambda: os.kill(os.getpid(), signal.SIGKILL)
with mail.Connection(smtp) as connection:
    connection.send(message, now=datetime.fromisoformat("{now}"), before_final_dot=die)
"""

KILLED_AFTER_THE_DOT = """
import os, signal, smtplib
client = smtplib.SMTP("127.0.0.1", {port}, timeout=10)
client.ehlo()
client.mail("p@example.org")
client.rcpt("r@example.org")
client.putcmd("data")
assert client.getreply()[0] == 354
client.send(b"Subject: killed after the dot\\r\\nMessage-ID: <crash.2@example.org>\\r\\n\\r\\nbody\\r\\n")
client.send(b".\\r\\n")
os.kill(os.getpid(), signal.SIGKILL)
"""


def _run_killed(script: str) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], cwd=REPOSITORY, capture_output=True,
                            text=True, timeout=SUBPROCESS_TIMEOUT_SECONDS)
    assert result.returncode == -signal.SIGKILL, result.stderr
    return result


def _wait_for(predicate, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_a_sender_killed_before_its_final_dot_delivers_nothing(smtp_server):
    host, port, recorder = smtp_server
    _run_killed(KILLED_BEFORE_THE_DOT.format(port=port, now=NOW.isoformat()))
    assert not _wait_for(lambda: recorder.received, seconds=1.0)


def test_a_sender_killed_after_writing_the_dot_still_delivers(smtp_server):
    host, port, recorder = smtp_server
    _run_killed(KILLED_AFTER_THE_DOT.format(port=port))
    assert _wait_for(lambda: len(recorder.received) == 1)
    assert recorder.received[0].message["Message-ID"] == "<crash.2@example.org>"
