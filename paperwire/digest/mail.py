"""Mail: compose a message from templates and hand it to an SMTP server; outcomes as values.

Composing: each mail kind has a folder under digest/templates/ with
`subject.txt`, `body.txt` and `body.html` (Jinja2, HTML autoescaped). A message
is multipart/alternative, plain text first and HTML last (RFC 2046 section
5.1.4: the last part is the richest), and carries Date and Message-ID (RFC 5322
section 3.6) and, for digests, List-Id (RFC 2919), List-Unsubscribe (RFC 2369)
and List-Unsubscribe-Post (RFC 8058). Nothing from data can add a header: values
are one line or refused, and addresses are parsed by the standard library.
Sending: `Connection` speaks SMTP with smtplib and returns a `Delivery` per
message, temporary or permanent as RFC 5321 section 4.2.1 classes replies;
`retry_at` is the backoff. Which messages to send, and recording what happened,
belong to the outbox and the job (docs/digests.md). This is the site's one mail
path: the password-reset mail (`reset_message`, sent by account_links.py) is a
kind here too, sent with `send`.
"""

from __future__ import annotations

import binascii
import functools
import logging
import re
import textwrap
import smtplib
import socket
import ssl
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import policy
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage, MIMEPart
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Callable
from urllib.parse import urlencode

import jinja2

from paperwire.config import ConfigError, Settings
from paperwire.digest import tokens
from paperwire.digest.content import Digest
from paperwire.digest.schedule import period_label

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"
KINDS = ("confirm", "digest", "reset")  # reset: the account's password-reset link (account_links.py)
STANDARD_PORTS = {"starttls": 587, "tls": 465, "none": 25}  # RFC 6409, RFC 8314, RFC 5321
LIST_NAME = "paperwire digest"
# Backoff for temporary failures: 5, 10, 20 ... minutes, at most 4 hours apart,
# and after RETRY_MAX_ATTEMPTS tries the outbox records a permanent failure. A
# daily digest that is a day late has lost its point, so the whole schedule
# (about 9 hours) ends well before the next one; RFC 5321 section 4.5.4.1's
# days-long schedule is for relays, which is what our SMTP server is.
RETRY_FIRST_DELAY_MINUTES = 5
RETRY_BACKOFF_FACTOR = 2
RETRY_MAX_DELAY_MINUTES = 240
RETRY_MAX_ATTEMPTS = 8
# "unknown": the final dot went out and no reply came back, so the server may or may
# not have taken the message (RFC 1047); the outbox must not send it again.
DELIVERY_STATUSES = ("sent", "failed-temporary", "failed-permanent", "unknown")


class MailNotConfigured(RuntimeError):
    """No SMTP server is set; the message says which variable to set."""


class MailSetupError(RuntimeError):
    """The SMTP server cannot be used as configured (no STARTTLS, login refused, bad certificate).

    Raised, not returned: it is the same for every message, so the run stops
    instead of recording each subscriber's mail as failed.
    """


class InvalidAddress(ValueError):
    """An email address we will not put in a header or an envelope."""


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    security: str
    user: str
    password: str = field(repr=False)  # kept out of logs and tracebacks
    sender: Address
    timeout_seconds: float

    @classmethod
    def from_settings(cls, settings: Settings) -> "SmtpConfig":
        """The SMTP settings; raises MailNotConfigured without PAPERWIRE_SMTP_HOST."""
        if not settings.smtp_host:
            raise MailNotConfigured(
                "mail is not configured: set PAPERWIRE_SMTP_HOST to your SMTP server (and PAPERWIRE_SMTP_FROM, "
                "PAPERWIRE_SMTP_USER, PAPERWIRE_SMTP_PASSWORD as it needs); see docs/configuration.md"
            )
        return cls(
            host=settings.smtp_host, port=settings.smtp_port or STANDARD_PORTS[settings.smtp_security],
            security=settings.smtp_security, user=settings.smtp_user, password=settings.smtp_password,
            sender=parse_from(settings.smtp_from), timeout_seconds=settings.smtp_timeout_seconds,
        )

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


# --- addresses and headers --------------------------------------------------

def parse_address(email: str, *, display_name: str = "") -> Address:
    """The address `email` (a bare addr-spec, RFC 5322 section 3.4.1) with an optional name;
    raises InvalidAddress. A display name is flattened to one line and quoted by the library."""
    try:
        address = Address(display_name=_one_line(display_name, collapse=True), addr_spec=email.strip())
    except (ValueError, IndexError, HeaderParseError) as error:
        raise InvalidAddress(f"{email!r} is not an email address we can send to ({error})") from None
    if not address.username or "." not in address.domain.strip("."):
        raise InvalidAddress(f"{email!r} is not an email address we can send to (it needs name@domain.tld)")
    try:
        # An internationalised domain goes on the wire as IDNA (RFC 5891), so no SMTPUTF8 is needed;
        # the standard library already refuses a non-ASCII local part.
        domain = address.domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidAddress(f"{email!r} has a domain that is not a valid host name") from None
    return Address(display_name=address.display_name, username=address.username, domain=domain)


def parse_from(text: str) -> Address:
    """PAPERWIRE_SMTP_FROM (`Name <address>` or a bare address) as one Address; raises ConfigError."""
    header = policy.SMTP.header_factory("from", _one_line(text, collapse=True))
    if len(header.addresses) != 1 or header.defects or not header.addresses[0].domain:
        raise ConfigError(f"PAPERWIRE_SMTP_FROM={text!r} is not one address; write it as Name <name@example.org>")
    return header.addresses[0]


# Everything str.splitlines() breaks at: a mail reader may too.
_LINE_BREAKS = "\r\n\v\f\x1c\x1d\x1e\x85\u2028\u2029"


def _one_line(value: str, *, collapse: bool = False) -> str:
    """`value` as a header may hold it: whitespace runs (CR, LF, tabs, U+2028...) collapsed
    to one space if `collapse`, else refused, since a line break would start a new header."""
    if collapse:
        return " ".join(value.split())
    if any(ch in value for ch in _LINE_BREAKS):
        raise ValueError(f"header value {value!r} spans lines; refusing it (RFC 5322 section 2.2)")
    return value


# --- composing ----------------------------------------------------------------

_ENVIRONMENT = jinja2.Environment(
    auto_reload=False,  # templates change only with the package
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
)


@functools.lru_cache(maxsize=4096)
def _wrapped(text: str, width: int) -> str:
    """`text` wrapped at `width`, remembered: the same abstracts go into thousands of digests."""
    return "\n".join(textwrap.fill(line, width=width) for line in text.splitlines())


_ENVIRONMENT.filters["wrapped"] = _wrapped


class _WirePolicy(policy.EmailPolicy):
    """policy.SMTP, except that List-Unsubscribe is written as it is, on one line.

    Folding at 78 characters, the library turns an unbreakable URL into RFC 2047
    encoded words, which no client reads as a URL; RFC 5322 section 2.1.1 lets a
    line run to 998 (SHOULD 78). Every other header folds as usual, which keeps
    encoded words within RFC 2047's 75 characters.
    """

    def fold_binary(self, name, value):
        if name.lower() == "list-unsubscribe":
            return f"{name}: {value}{self.linesep}".encode("ascii")
        return super().fold_binary(name, value)


_WIRE_POLICY = _WirePolicy(linesep="\r\n")
MAX_LINE_CHARACTERS = 998  # RFC 5322 section 2.1.1


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class Message:
    """One mail ready to send: its parts, its identity and, for list mail, its unsubscribe link.

    `message_id` is stable for a (subscriber, period) digest, so a resend after a
    crash is recognisably the same message (docs/digests.md, exactly once).
    """

    kind: str
    sender: Address
    recipient: Address
    rendered: Rendered
    message_id: str
    unsubscribe_url: str | None = None

    def to_bytes(self, *, now: datetime) -> bytes:
        """The message as sent: CRLF line ends, 7-bit clean, dated `now`. The bodies were
        encoded quoted-printable (76-character lines, RFC 2045 section 6.7) when set."""
        return self.to_email(now=now).as_bytes(policy=_WIRE_POLICY)

    def to_email(self, *, now: datetime) -> EmailMessage:
        """The MIME message, dated `now`."""
        email = EmailMessage(policy=policy.SMTP)
        email["From"] = self.sender
        email["To"] = self.recipient
        email["Subject"] = _one_line(self.rendered.subject)
        email["Date"] = format_datetime(now)
        email["Message-ID"] = _one_line(self.message_id)
        # RFC 3834 section 5: not written by a person, so vacation responders stay quiet.
        email["Auto-Submitted"] = "auto-generated"
        if self.unsubscribe_url:
            _add_list_headers(email, self.unsubscribe_url, domain=self.sender.domain)
        email["MIME-Version"] = "1.0"
        email.make_alternative()
        email.attach(_quoted_printable(self.rendered.text, "plain"))
        email.attach(_quoted_printable(self.rendered.html, "html"))
        return email


def _quoted_printable(text: str, subtype: str) -> MIMEPart:
    """A text/`subtype` part in UTF-8, quoted-printable (RFC 2045 section 6.7: lines of at most
    76 characters, soft breaks, "=" and non-ASCII escaped). binascii's C encoder, not
    set_content's pure-Python one, which took a third of a digest's build (bench/digest.py)."""
    part = MIMEPart(policy=policy.SMTP)
    part["Content-Type"] = f'text/{subtype}; charset="utf-8"'
    part["Content-Transfer-Encoding"] = "quoted-printable"
    lines = text.replace("\r\n", "\n").replace("\r", "\n")
    part.set_payload(binascii.b2a_qp(lines.encode("utf-8"), istext=True).decode("ascii"))
    return part


def _add_list_headers(email: EmailMessage, unsubscribe_url: str, *, domain: str) -> None:
    email["List-Id"] = f"{LIST_NAME} <digest.{domain}>"  # RFC 2919
    # RFC 2369 wants the URL in angle brackets; RFC 8058 wants an https URL there plus
    # the Post header, and a DKIM signature over both, which the relay adds. No
    # mailto: nobody reads replies to this address.
    value = f"<{_one_line(unsubscribe_url)}>"
    if not value.isascii() or len("List-Unsubscribe: ") + len(value) > MAX_LINE_CHARACTERS:
        raise ValueError(f"unsubscribe URL {unsubscribe_url!r} must be ASCII and fit one header line; "
                         "shorten PAPERWIRE_BASE_URL or write its host in punycode")
    email["List-Unsubscribe"] = value
    if unsubscribe_url.startswith("https://"):  # RFC 8058 section 3.1: one click needs HTTPS
        email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    # Non-standard (RFC 2076 section 3.9) but honoured by autoresponders and some filters.
    email["Precedence"] = "bulk"
    email["X-Auto-Response-Suppress"] = "OOF, AutoReply"


def render(kind: str, context: dict) -> Rendered:
    """The kind's three templates rendered with `context`; the subject on one line."""
    if kind not in KINDS:
        raise ValueError(f"mail kind {kind!r} is not one of {', '.join(KINDS)}")
    subject, text, html = (_ENVIRONMENT.get_template(f"{kind}/{name}").render(context)
                           for name in ("subject.txt", "body.txt", "body.html"))
    return Rendered(subject=_one_line(subject, collapse=True), text=text, html=html)


def digest_message(digest: Digest, *, recipient: Address, sender: Address, base_url: str, secret_key: str,
                   now: datetime) -> Message:
    """The mail for a built digest, with a one-click unsubscribe link signed for its subscriber."""
    token = tokens.sign("unsubscribe", str(digest.subscriber_id), secret_key=secret_key, now=now)
    unsubscribe_url = _link(base_url, "/digest/unsubscribe", token)
    context = {
        "entries": digest.entries, "period_label": period_label(digest.period), "site_url": base_url,
        "unsubscribe_url": unsubscribe_url, "settings_url": f"{base_url.rstrip('/')}/digest/settings",
        "email": recipient.addr_spec,
    }
    return Message(
        kind="digest", sender=sender, recipient=recipient, rendered=render("digest", context),
        message_id=f"<digest.{digest.period}.{digest.subscriber_id}@{sender.domain}>",
        unsubscribe_url=unsubscribe_url,
    )


def confirmation_message(subscriber_id: int, *, recipient: Address, sender: Address, base_url: str,
                         secret_key: str, now: datetime) -> Message:
    """The double opt-in mail: a signed link that confirms `subscriber_id`'s subscription."""
    token = tokens.sign("confirm", str(subscriber_id), secret_key=secret_key, now=now)
    context = {
        "confirm_url": _link(base_url, "/digest/confirm", token), "site_url": base_url,
        "email": recipient.addr_spec, "valid_days": tokens.CONFIRM_TTL_DAYS,
    }
    return Message(kind="confirm", sender=sender, recipient=recipient, rendered=render("confirm", context),
                   message_id=make_msgid("confirm", domain=sender.domain))


def reset_message(reset_url: str, *, username: str, recipient: Address, sender: Address, base_url: str,
                  valid_minutes: int) -> Message:
    """The password-reset mail of account `username`, carrying `reset_url` (account_links.py
    makes it). Not list mail: no unsubscribe, since it only goes when someone asks."""
    context = {"reset_url": reset_url, "username": username, "site_url": base_url, "valid_minutes": valid_minutes}
    return Message(kind="reset", sender=sender, recipient=recipient, rendered=render("reset", context),
                   message_id=make_msgid("reset", domain=sender.domain))


def _link(base_url: str, path: str, token: str) -> str:
    return f"{base_url.rstrip('/')}{path}?{urlencode({'token': token})}"


# --- sending ------------------------------------------------------------------

@dataclass(frozen=True)
class Delivery:
    """What became of one message: `status` is one of DELIVERY_STATUSES, the outbox's words.
    `code` is the SMTP reply code when there was one; `detail` the server's text or the error."""

    status: str
    code: int | None = None
    detail: str = ""

    @property
    def is_sent(self) -> bool:
        return self.status == "sent"


class Connection:
    """One SMTP session, opened on the first send and again after a failure left it unusable.

    Use as a context manager; `send` returns a Delivery and raises only
    MailSetupError, for problems no retry of one message can fix.
    """

    def __init__(self, smtp: SmtpConfig, *, is_nodelay: bool = True):
        self.smtp = smtp
        self.is_nodelay = is_nodelay
        self._client: smtplib.SMTP | None = None

    def __enter__(self) -> "Connection":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def send(self, message: Message, *, now: datetime,
             before_final_dot: Callable[[], None] = lambda: None) -> Delivery:
        """Hand `message` to the server; the envelope names its one recipient, whatever the headers say.

        `before_final_dot` runs once the whole message is with the server but before
        the "." that asks it to accept (RFC 5321 section 4.1.1.4): the outbox records
        there that the message is about to be accepted. If it raises, the server
        gets no "." and delivers nothing; the exception propagates.
        """
        return self.send_bytes(message.recipient.addr_spec, message.to_bytes(now=now),
                               before_final_dot=before_final_dot)

    def send_bytes(self, recipient: str, data: bytes, *,
                   before_final_dot: Callable[[], None] = lambda: None) -> Delivery:
        """`send` for a message already on the wire form (Message.to_bytes), as the outbox keeps
        it: the same bytes, Date and Message-ID on every attempt. `recipient` is the envelope's."""
        try:
            client = self._client or self._open()
            self._transact(client, recipient, data, before_final_dot)
        except smtplib.SMTPSenderRefused as error:
            if error.smtp_code >= 500:
                self.close()
                raise MailSetupError(
                    f"{self.smtp.where} refuses PAPERWIRE_SMTP_FROM={self.smtp.sender.addr_spec!r} as sender "
                    f"({error.smtp_code} {_text(error.smtp_error)}); use an address the server lets you send from"
                ) from None
            return self._failed(recipient, error)
        except _FateUnknown as unknown:
            self.close_at_once()
            log.warning("SMTP %s: no reply to the final dot of mail to %s: %s", self.smtp.where,
                        recipient, unknown.__cause__)
            return Delivery("unknown", None, f"no reply after the final dot: {unknown.__cause__}")
        except OSError as error:
            return self._failed(recipient, error)
        return Delivery("sent", 250, "accepted")

    def _transact(self, client: smtplib.SMTP, recipient: str, data: bytes, before_final_dot) -> None:
        """One mail transaction, as smtplib.SMTP.sendmail does it, with a pause before the final dot."""
        sender = self.smtp.sender.addr_spec
        client.ehlo_or_helo_if_needed()
        code, reply = client.mail(sender)
        if code != 250:
            raise _after_reset(client, smtplib.SMTPSenderRefused(code, reply, sender))
        code, reply = client.rcpt(recipient)
        if code not in (250, 251):
            raise _after_reset(client, smtplib.SMTPRecipientsRefused({recipient: (code, reply)}))
        client.putcmd("data")
        code, reply = client.getreply()
        if code != 354:
            raise _after_reset(client, smtplib.SMTPDataError(code, reply))
        # Transparency (RFC 5321 section 4.5.2): a line starting with "." gets another.
        client.send(_LEADING_DOT.sub(b"..", data if data.endswith(b"\r\n") else data + b"\r\n"))
        try:
            before_final_dot()
        except BaseException:
            self.close_at_once()
            raise
        client.send(b".\r\n")
        try:
            code, reply = client.getreply()
        except OSError as error:
            raise _FateUnknown(error) from error
        if code != 250:
            raise _after_reset(client, smtplib.SMTPDataError(code, reply))

    def close_at_once(self) -> None:
        """Drop the connection without QUIT: a transaction in progress is abandoned, not accepted."""
        client, self._client = self._client, None
        if client is not None:
            client.close()

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                client.quit()
            except OSError:
                client.close()

    def _failed(self, recipient: str, error: OSError) -> Delivery:
        delivery = classify(error)
        log.warning("SMTP %s did not take mail to %s: %s %s", self.smtp.where, recipient,
                    delivery.code, delivery.detail)
        # After a refused sender, recipient or message the transaction was reset, so the
        # session stays usable; after anything else its state is unknown and it is dropped.
        if not isinstance(error, _SESSION_SURVIVES):
            self.close()
        return delivery

    def _open(self) -> smtplib.SMTP:
        smtp = self.smtp
        context = ssl.create_default_context()
        client = None
        try:
            if smtp.security == "tls":
                client = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=smtp.timeout_seconds, context=context)
            else:
                client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_seconds)
            if smtp.security == "starttls":
                client.starttls(context=context)
            if smtp.user:
                client.login(smtp.user, smtp.password)
            if self.is_nodelay:
                _set_nodelay(client)
        except OSError as error:
            if client is not None:
                client.close()
            setup_error = _setup_error(smtp, error)
            if setup_error is not None:
                raise setup_error from None
            raise
        self._client = client
        return client


def _set_nodelay(client: smtplib.SMTP) -> None:
    """Turn off Nagle's algorithm (RFC 896) on the connection. The final dot is a write of its
    own after the message (it must be, for before_final_dot), and each command is a small
    write after a reply: with Nagle on, such a write waits for the server's ACK of the last
    one, which the server delays by up to 40 ms (RFC 1122 section 4.2.3.2), several times
    per message. bench/digest.py measures the difference."""
    if client.sock is not None and client.sock.family in (socket.AF_INET, socket.AF_INET6):
        client.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _FateUnknown(Exception):
    """The connection failed after the final dot: the server may have accepted the message (RFC 1047)."""


_LEADING_DOT = re.compile(rb"(?m)^\.")


def _after_reset(client: smtplib.SMTP, error: smtplib.SMTPException) -> smtplib.SMTPException:
    """`error`, after RSET has ended the refused transaction so the session can carry the next."""
    try:
        client.rset()
    except OSError:
        client.close()
    return error


_SESSION_SURVIVES = (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError, smtplib.SMTPSenderRefused)


def _setup_error(smtp: SmtpConfig, error: OSError) -> MailSetupError | None:
    """The error as a MailSetupError if it would recur for every message; None if it may pass."""
    if isinstance(error, smtplib.SMTPNotSupportedError) and smtp.security == "starttls":
        return MailSetupError(
            f"PAPERWIRE_SMTP_SECURITY=starttls but {smtp.where} does not offer STARTTLS ({error}); use tls "
            "for a server that expects TLS from the start (port 465), or none only for a relay on this machine"
        )
    if isinstance(error, smtplib.SMTPNotSupportedError):
        return MailSetupError(
            f"{smtp.where} does not offer login (AUTH) here ({error}); set PAPERWIRE_SMTP_SECURITY=starttls "
            "or tls, or leave PAPERWIRE_SMTP_USER empty for a relay that needs no login"
        )
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return MailSetupError(
            f"{smtp.where} refused the login of PAPERWIRE_SMTP_USER={smtp.user!r} ({error.smtp_code} "
            f"{_text(error.smtp_error)}); check PAPERWIRE_SMTP_USER and PAPERWIRE_SMTP_PASSWORD"
        )
    if isinstance(error, ssl.SSLCertVerificationError):
        return MailSetupError(f"{smtp.where}'s TLS certificate is not valid for {smtp.host!r}: {error}")
    if isinstance(error, smtplib.SMTPResponseException) and error.smtp_code >= 500:
        return MailSetupError(f"{smtp.where} refuses our connection ({error.smtp_code} {_text(error.smtp_error)})")
    return None


def send(message: Message, smtp: SmtpConfig, *, now: datetime) -> Delivery:
    """Send one message over a connection of its own; see Connection.send."""
    with Connection(smtp) as connection:
        return connection.send(message, now=now)


def classify(error: OSError | smtplib.SMTPException) -> Delivery:
    """A failed send as a Delivery: 5xx replies and refused recipients are permanent
    (RFC 5321 section 4.2.1: "do not repeat the exact request"); 4xx replies, lost
    connections and timeouts are temporary."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(error.recipients.values()))
        return _by_code(code, _text(text))
    if isinstance(error, smtplib.SMTPResponseException):
        return _by_code(error.smtp_code, _text(error.smtp_error))
    return Delivery("failed-temporary", None, f"{type(error).__name__}: {error}")


def _by_code(code: int, text: str) -> Delivery:
    status = "failed-permanent" if 500 <= code < 600 else "failed-temporary"
    return Delivery(status, code, text)


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def retry_at(attempt: int, now: datetime) -> datetime | None:
    """When to try again after `attempt` failed tries (1 after the first), or None to give up."""
    if attempt >= RETRY_MAX_ATTEMPTS:
        return None
    delay = RETRY_FIRST_DELAY_MINUTES * RETRY_BACKOFF_FACTOR ** (attempt - 1)
    return now + timedelta(minutes=min(delay, RETRY_MAX_DELAY_MINUTES))
