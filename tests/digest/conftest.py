"""A real SMTP server on loopback (aiosmtpd) that records what it accepted, and mail settings for it.

`smtp_server` runs aiosmtpd on a free 127.0.0.1 port for one test. Its
`Recorder` keeps each accepted message (envelope sender, recipients, raw bytes)
and can be told to answer MAIL, RCPT or DATA with a reply such as
"451 4.3.0 try later", the way a real server refuses. The server offers no
STARTTLS and, without TLS, no AUTH, as aiosmtpd does by default.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email import message_from_bytes, policy

import pytest

from paperwire import config

SECRET_KEY = "test-secret-key-0123456789abcdef"
BASE_URL = "https://paperwire.example.org"
NOW = datetime(2026, 12, 2, 21, 30, tzinfo=timezone.utc)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self):
        return message_from_bytes(self.data, policy=policy.default)


@dataclass
class Recorder:
    """An aiosmtpd handler: accepts and records, unless a reply is set for a command."""

    received: list[Received] = field(default_factory=list)
    replies: dict[str, str] = field(default_factory=dict)

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if "MAIL" in self.replies:
            return self.replies["MAIL"]
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if "RCPT" in self.replies:
            return self.replies["RCPT"]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if "DATA" in self.replies:
            return self.replies["DATA"]
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 2.0.0 accepted"


@pytest.fixture
def smtp_server():
    """(host, port, recorder) of a running aiosmtpd on loopback."""
    from aiosmtpd.controller import Controller

    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller.hostname, controller.port, recorder
    controller.stop()


def mail_settings(port: int, **overrides) -> config.Settings:
    """Settings that send through 127.0.0.1:`port` in the clear (loopback only)."""
    values = dict(smtp_host="127.0.0.1", smtp_port=str(port), smtp_security="none",
                  smtp_from="paperwire digests <digest@paperwire.example.org>", secret_key=SECRET_KEY,
                  base_url=BASE_URL, smtp_timeout_seconds="5")
    values.update(overrides)
    return config.load({}, **values)
