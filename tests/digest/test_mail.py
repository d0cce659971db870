"""Composing and sending mail, checked on what a real SMTP server on loopback received."""

from __future__ import annotations

import re
import smtplib
import socket
import threading
from datetime import timedelta
from email.utils import parsedate_to_datetime

import pytest

from paperwire import config
from paperwire.digest import Candidate, Digest, Subscriber, Subscription, build, mail, tokens
from paperwire.papers import Author
from tests.conftest import make_paper
from tests.digest.conftest import BASE_URL, NOW, SECRET_KEY, free_port, mail_settings

SUBSCRIBER = Subscriber(42, "reader@example.org", confirmed_at=NOW - timedelta(days=30))
SUBSCRIPTION = Subscription(42, created_at=NOW - timedelta(days=30), paper_count=5)


def _digest(*papers, period="2026-12-02"):
    candidates = [Candidate(paper, "trending", "12 upvotes") for paper in papers]
    digest = build(SUBSCRIBER, SUBSCRIPTION, period=period, candidates=candidates, received=(), sent_periods=(),
                   base_url=BASE_URL)
    assert isinstance(digest, Digest), digest
    return digest


def _papers():
    return [
        make_paper(arxiv_id="2612.00001", title="Attention <b>is</b> all you need & more",
                   authors=tuple(Author(f"Author {n}") for n in range(5)), code_url="https://github.com/example/code"),
        make_paper(arxiv_id="2612.00002", title="Ünïcode títles: $\\alpha$-stable laws", abstract="Short."),
    ]


def _digest_message(settings, digest, *, display_name=""):
    smtp = mail.SmtpConfig.from_settings(settings)
    recipient = mail.parse_address(SUBSCRIBER.email, display_name=display_name)
    return mail.digest_message(digest, recipient=recipient, sender=smtp.sender, base_url=settings.base_url,
                               secret_key=settings.secret_key, now=NOW)


def _send(settings, message) -> mail.Delivery:
    return mail.send(message, mail.SmtpConfig.from_settings(settings), now=NOW)


def test_a_digest_arrives_with_list_headers_and_both_parts(smtp_server):
    host, port, recorder = smtp_server
    settings = mail_settings(port)
    delivery = _send(settings, _digest_message(settings, _digest(*_papers())))

    assert delivery == mail.Delivery("sent", 250, "accepted")
    [received] = recorder.received
    assert received.mail_from == "digest@paperwire.example.org"
    assert received.rcpt_tos == ["reader@example.org"]
    message = received.message
    assert message["From"] == "paperwire digests <digest@paperwire.example.org>"
    assert message["To"] == "reader@example.org"
    assert message["Subject"] == ("Attention <b>is</b> all you need & more and 1 more "
                                  "(paperwire, Wednesday 2 December 2026)")
    assert parsedate_to_datetime(message["Date"]) == NOW
    assert message["Message-ID"] == "<digest.2026-12-02.42@paperwire.example.org>"
    assert message["List-Id"] == "paperwire digest <digest.paperwire.example.org>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Precedence"] == "bulk" and message["Auto-Submitted"] == "auto-generated"
    unsubscribe_url = re.fullmatch(r"<(https://[^>]+)>", message["List-Unsubscribe"]).group(1)
    assert unsubscribe_url.startswith(f"{BASE_URL}/digest/unsubscribe?token=")
    token = unsubscribe_url.split("token=", 1)[1]
    assert tokens.verify(token, purpose="unsubscribe", secret_key=SECRET_KEY, now=NOW) == "42"

    assert message.get_content_type() == "multipart/alternative"
    text, html = message.iter_parts()
    assert (text.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
    text, html = text.get_content(), html.get_content()
    for part in (text, html):
        assert unsubscribe_url in part.replace("&amp;", "&")
        assert f"{BASE_URL}/paper/2612.00001" in part and "https://arxiv.org/pdf/2612.00002" in part
        assert "https://github.com/example/code" in part and "Author 0, Author 1, Author 2 et al." in part
        assert "Trending: 12 upvotes" in part
    assert "Attention <b>is</b> all you need & more" in text and "Ünïcode títles: α-stable laws" in text
    assert "Attention &lt;b&gt;is&lt;/b&gt; all you need &amp; more" in html and "<b>is</b>" not in html


def test_the_wire_format_keeps_rfc_5322_line_limits_and_7_bit(smtp_server):
    host, port, recorder = smtp_server
    settings = mail_settings(port)
    long_title = "A very long title " * 20
    _send(settings, _digest_message(settings, _digest(make_paper(arxiv_id="2612.00009", title=long_title,
                                                                  abstract="word " * 400))))
    [received] = recorder.received
    lines = received.data.split(b"\r\n")
    assert max(len(line) for line in lines) <= 998
    header, _, body = received.data.partition(b"\r\n\r\n")
    assert max(len(line) for line in body.split(b"\r\n")) <= 78
    assert all(byte < 128 for byte in received.data)
    assert received.message["List-Unsubscribe"].startswith(f"<{BASE_URL}/digest/unsubscribe?token=")


def test_one_click_post_header_only_for_an_https_unsubscribe_url(smtp_server):
    # RFC 8058 section 3.1: the one-click URI MUST be HTTPS.
    host, port, recorder = smtp_server
    settings = mail_settings(port, base_url="http://127.0.0.1:8000")
    _send(settings, _digest_message(settings, _digest(*_papers())))
    message = recorder.received[0].message
    assert message["List-Unsubscribe"].startswith("<http://127.0.0.1:8000/digest/unsubscribe?token=")
    assert message["List-Unsubscribe-Post"] is None


def test_a_confirmation_mail_carries_a_confirm_link_and_no_list_headers(smtp_server):
    host, port, recorder = smtp_server
    settings = mail_settings(port)
    smtp = mail.SmtpConfig.from_settings(settings)
    message = mail.confirmation_message(7, recipient=mail.parse_address("new@example.org"), sender=smtp.sender,
                                        base_url=BASE_URL, secret_key=SECRET_KEY, now=NOW)
    assert mail.send(message, smtp, now=NOW).is_sent

    received = recorder.received[0].message
    assert received["Subject"] == "Confirm your paperwire digest subscription"
    assert received["Auto-Submitted"] == "auto-generated"
    assert received["List-Unsubscribe"] is None and received["Precedence"] is None
    assert re.fullmatch(r"<[^@>]+\.confirm@paperwire\.example\.org>", received["Message-ID"].strip())
    text = received.get_body(("plain",)).get_content()
    token = re.search(rf"{re.escape(BASE_URL)}/digest/confirm\?token=(\S+)", text).group(1)
    assert tokens.verify(token, purpose="confirm", secret_key=SECRET_KEY, now=NOW) == "7"
    with pytest.raises(tokens.InvalidToken):
        tokens.verify(token, purpose="unsubscribe", secret_key=SECRET_KEY, now=NOW)
    assert token in received.get_body(("html",)).get_content()


def test_line_breaks_in_a_title_or_a_display_name_cannot_add_headers(smtp_server):
    host, port, recorder = smtp_server
    settings = mail_settings(port)
    hostile = make_paper(arxiv_id="2612.00003", title="Innocent\r\nBcc: victim@example.net\r\n\r\n<html>spoof")
    message = _digest_message(settings, _digest(hostile), display_name="Reader\r\nBcc: victim@example.net")
    assert _send(settings, message).is_sent

    [received] = recorder.received
    assert received.rcpt_tos == ["reader@example.org"]
    parsed = received.message
    assert parsed["Bcc"] is None and "victim" not in str(parsed["To"]).split("<")[1]
    assert parsed["Subject"].startswith("Innocent Bcc: victim@example.net <html>spoof")
    assert parsed["To"].addresses[0].addr_spec == "reader@example.org"
    header_block = received.data.split(b"\r\n\r\n", 1)[0]
    assert not any(line.lower().startswith(b"bcc") for line in header_block.split(b"\r\n"))


@pytest.mark.parametrize("email", [
    "reader@example.org\r\nBcc: victim@example.net", "reader@example.org, victim@example.net",
    "Reader <reader@example.org>", "no-at-sign", "reader@", "reader@localhost", "ré@example.org", "",
])
def test_addresses_that_are_not_one_plain_address_are_refused(email):
    with pytest.raises(mail.InvalidAddress, match="is not an email address|not a valid host"):
        mail.parse_address(email)


def test_an_international_domain_goes_on_the_wire_as_idna():
    assert mail.parse_address("leser@bücher.example").addr_spec == "leser@xn--bcher-kva.example"


def test_a_header_value_with_a_line_break_is_refused_not_sent():
    sender, recipient = mail.parse_from("p <p@example.org>"), mail.parse_address("r@example.org")
    rendered = mail.Rendered(subject="fine", text="t", html="<p>h</p>")
    for message in (
        mail.Message("digest", sender, recipient, rendered, "<id@example.org>\r\nBcc: x@example.net"),
        mail.Message("digest", sender, recipient, rendered, "<id@example.org>", "https://x.example/u?t=1\nBcc: x"),
        mail.Message("digest", sender, recipient, mail.Rendered("two\nlines", "t", "h"), "<id@example.org>"),
    ):
        with pytest.raises(ValueError, match="spans lines"):
            message.to_bytes(now=NOW)


@pytest.mark.parametrize("reply, status, code", [
    ("451 4.3.0 Mailbox temporarily unavailable", "failed-temporary", 451),
    ("452 4.2.2 Mailbox full", "failed-temporary", 452),
    ("550 5.1.1 No such user", "failed-permanent", 550),
    ("553 5.1.3 Bad recipient address syntax", "failed-permanent", 553),
])
def test_a_refused_recipient_is_temporary_on_4xx_and_permanent_on_5xx(smtp_server, reply, status, code):
    host, port, recorder = smtp_server
    settings = mail_settings(port)
    recorder.replies["RCPT"] = reply
    delivery = _send(settings, _digest_message(settings, _digest(*_papers())))
    assert (delivery.status, delivery.code) == (status, code)
    assert reply.split(" ", 1)[1] in delivery.detail and recorder.received == []


@pytest.mark.parametrize("reply, status", [("451 4.3.0 Try again later", "failed-temporary"),
                                           ("554 5.6.0 Message rejected as spam", "failed-permanent")])
def test_a_refused_message_body_is_classified_by_its_code(smtp_server, reply, status):
    host, port, recorder = smtp_server
    settings = mail_settings(port)
    recorder.replies["DATA"] = reply
    assert _send(settings, _digest_message(settings, _digest(*_papers()))).status == status


def test_one_connection_carries_on_after_a_refused_recipient(smtp_server):
    host, port, recorder = smtp_server
    settings = mail_settings(port)
    message = _digest_message(settings, _digest(*_papers()))
    with mail.Connection(mail.SmtpConfig.from_settings(settings)) as connection:
        recorder.replies["RCPT"] = "550 5.1.1 No such user"
        assert connection.send(message, now=NOW).status == "failed-permanent"
        del recorder.replies["RCPT"]
        assert connection.send(message, now=NOW).is_sent
        assert connection.send(message, now=NOW).is_sent
    assert len(recorder.received) == 2


def test_a_sender_the_server_refuses_for_good_stops_the_run(smtp_server):
    host, port, recorder = smtp_server
    settings = mail_settings(port)
    recorder.replies["MAIL"] = "553 5.7.1 Sender address rejected: not owned by user"
    with pytest.raises(mail.MailSetupError, match="refuses PAPERWIRE_SMTP_FROM='digest@paperwire.example.org'"):
        _send(settings, _digest_message(settings, _digest(*_papers())))
    recorder.replies["MAIL"] = "451 4.3.2 Please try again later"
    assert _send(settings, _digest_message(settings, _digest(*_papers()))).status == "failed-temporary"


def test_starttls_against_a_server_without_it_is_a_clear_setup_error(smtp_server):
    host, port, recorder = smtp_server
    settings = mail_settings(port, smtp_security="starttls")
    with pytest.raises(mail.MailSetupError) as raised:
        _send(settings, _digest_message(settings, _digest(*_papers())))
    assert "PAPERWIRE_SMTP_SECURITY=starttls" in str(raised.value)
    assert f"127.0.0.1:{port} does not offer STARTTLS" in str(raised.value)
    assert recorder.received == []


def test_a_login_over_a_connection_without_auth_is_a_clear_setup_error(smtp_server):
    host, port, recorder = smtp_server
    settings = mail_settings(port, smtp_user="paperwire", smtp_password="hunter2")
    with pytest.raises(mail.MailSetupError, match="does not offer login"):
        _send(settings, _digest_message(settings, _digest(*_papers())))


def test_a_closed_port_is_a_temporary_failure():
    settings = mail_settings(free_port())
    delivery = _send(settings, _digest_message(settings, _digest(*_papers())))
    assert delivery.status == "failed-temporary" and "ConnectionRefusedError" in delivery.detail


def test_a_server_that_never_answers_times_out_as_a_temporary_failure():
    with socket.socket() as listener:  # accepts the connection (kernel backlog) and never greets
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        settings = mail_settings(listener.getsockname()[1], smtp_timeout_seconds="0.3")
        delivery = _send(settings, _digest_message(settings, _digest(*_papers())))
    assert delivery.status == "failed-temporary" and "timed out" in delivery.detail


def test_a_server_that_greets_with_554_is_a_setup_error():
    # RFC 5321 section 3.1: a 554 greeting means "no SMTP service here" for every message.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)

        def greet():
            connection, _ = listener.accept()
            with connection:
                connection.sendall(b"554 5.3.2 No service for you\r\n")
                connection.recv(1024)

        thread = threading.Thread(target=greet, daemon=True)
        thread.start()
        settings = mail_settings(listener.getsockname()[1])
        with pytest.raises(mail.MailSetupError, match="refuses our connection \\(554"):
            _send(settings, _digest_message(settings, _digest(*_papers())))
        thread.join(5)


def test_mail_without_an_smtp_host_says_which_variable_to_set():
    with pytest.raises(mail.MailNotConfigured, match="set PAPERWIRE_SMTP_HOST"):
        mail.SmtpConfig.from_settings(config.load({}))


@pytest.mark.parametrize("security, port", [("starttls", 587), ("tls", 465), ("none", 25)])
def test_port_0_means_the_standard_port_of_the_security_mode(security, port):
    settings = config.load({"PAPERWIRE_SMTP_HOST": "mail.example.org", "PAPERWIRE_SMTP_SECURITY": security})
    assert mail.SmtpConfig.from_settings(settings).port == port


@pytest.mark.parametrize("env, message", [
    ({"PAPERWIRE_SMTP_SECURITY": "ssl"}, "PAPERWIRE_SMTP_SECURITY='ssl' is not one of starttls, tls, none"),
    ({"PAPERWIRE_SMTP_PORT": "70000"}, "PAPERWIRE_SMTP_PORT=70000 must be between 0"),
    ({"PAPERWIRE_SMTP_TIMEOUT_SECONDS": "0"}, "PAPERWIRE_SMTP_TIMEOUT_SECONDS=0.0 must be positive"),
    ({"PAPERWIRE_BASE_URL": "paperwire.example.org"}, "PAPERWIRE_BASE_URL 'paperwire.example.org' must start"),
    ({"PAPERWIRE_BASE_URL": "https://bücher.example"}, "PAPERWIRE_BASE_URL 'https://bücher.example' must start"),
])
def test_bad_mail_settings_name_the_variable(env, message):
    with pytest.raises(config.ConfigError, match=re.escape(message)):
        config.load(env)


@pytest.mark.parametrize("text", ["a@example.org, b@example.org", "not an address", "Name <a@b.org>\r\nBcc: x@y.org"])
def test_a_from_setting_that_is_not_one_address_is_refused(text):
    settings = config.load({"PAPERWIRE_SMTP_HOST": "mail.example.org", "PAPERWIRE_SMTP_FROM": text})
    with pytest.raises(config.ConfigError, match="PAPERWIRE_SMTP_FROM=.* is not one address"):
        mail.SmtpConfig.from_settings(settings)


@pytest.mark.parametrize("error, status, code", [
    (smtplib.SMTPRecipientsRefused({"a@example.org": (450, b"4.2.0 greylisted")}), "failed-temporary", 450),
    (smtplib.SMTPRecipientsRefused({"a@example.org": (550, b"5.1.1 unknown")}), "failed-permanent", 550),
    (smtplib.SMTPDataError(421, b"4.4.2 closing"), "failed-temporary", 421),
    (smtplib.SMTPDataError(552, b"5.3.4 too big"), "failed-permanent", 552),
    (smtplib.SMTPSenderRefused(451, b"4.3.0 later", "p@example.org"), "failed-temporary", 451),
    (smtplib.SMTPConnectError(421, b"4.3.2 busy"), "failed-temporary", 421),
    (smtplib.SMTPServerDisconnected("Connection unexpectedly closed"), "failed-temporary", None),
    (TimeoutError("timed out"), "failed-temporary", None),
    (ConnectionResetError(104, "Connection reset by peer"), "failed-temporary", None),
])
def test_classify_follows_the_reply_code_class(error, status, code):
    delivery = mail.classify(error)
    assert (delivery.status, delivery.code) == (status, code)


@pytest.mark.parametrize("attempt, minutes", [(1, 5), (2, 10), (3, 20), (4, 40), (5, 80), (6, 160), (7, 240)])
def test_retry_at_backs_off_exponentially_up_to_a_cap(attempt, minutes):
    assert mail.retry_at(attempt, NOW) == NOW + timedelta(minutes=minutes)


def test_retry_at_gives_up_after_the_last_attempt():
    assert mail.retry_at(mail.RETRY_MAX_ATTEMPTS, NOW) is None
    assert mail.retry_at(mail.RETRY_MAX_ATTEMPTS + 3, NOW) is None
    waits = [mail.retry_at(n, NOW) - NOW for n in range(1, mail.RETRY_MAX_ATTEMPTS)]
    assert waits == sorted(waits) and sum(waits, timedelta()) < timedelta(hours=12)


def test_render_refuses_an_unknown_kind():
    with pytest.raises(ValueError, match="mail kind 'newsletter' is not one of confirm, digest"):
        mail.render("newsletter", {})


def test_before_final_dot_runs_once_the_message_is_with_the_server_but_not_accepted(smtp_server):
    host, port, recorder = smtp_server
    settings = mail_settings(port)
    seen_by_server = []
    with mail.Connection(mail.SmtpConfig.from_settings(settings)) as connection:
        delivery = connection.send(_digest_message(settings, _digest(*_papers())), now=NOW,
                                   before_final_dot=lambda: seen_by_server.append(len(recorder.received)))
    assert delivery.is_sent and seen_by_server == [0] and len(recorder.received) == 1


class Crash(BaseException):
    """What a killed process looks like from inside: nothing after this point runs."""


def test_a_crash_before_the_final_dot_delivers_nothing_and_the_next_send_delivers_once(smtp_server):
    host, port, recorder = smtp_server
    settings = mail_settings(port)
    message = _digest_message(settings, _digest(*_papers()))
    smtp = mail.SmtpConfig.from_settings(settings)

    def crash():
        raise Crash

    with mail.Connection(smtp) as connection, pytest.raises(Crash):
        connection.send(message, now=NOW, before_final_dot=crash)
    assert recorder.received == []
    assert mail.send(message, smtp, now=NOW).is_sent
    assert [r.message["Message-ID"] for r in recorder.received] == ["<digest.2026-12-02.42@paperwire.example.org>"]


def test_lines_that_start_with_a_dot_arrive_intact(smtp_server):
    # RFC 5321 section 4.5.2: without dot-stuffing, a line "." would end the message early.
    host, port, recorder = smtp_server
    settings = mail_settings(port)
    paper = make_paper(arxiv_id="2612.00005", abstract=".\n.hidden line\n..two dots")
    message = _digest_message(settings, _digest(paper))
    message = mail.Message(message.kind, message.sender, message.recipient,
                           mail.Rendered(message.rendered.subject, ".\r\n.hidden\r\n..two\r\n", "<p>.</p>"),
                           message.message_id, message.unsubscribe_url)
    assert _send(settings, message).is_sent
    text = recorder.received[0].message.get_body(("plain",)).get_content()
    assert text.replace("\r\n", "\n") == ".\n.hidden\n..two\n"


def _server_that_hangs_up_after_the_dot(listener: socket.socket, received: list[bytes]) -> None:
    """Speaks just enough SMTP to take a whole message, then closes instead of answering the dot."""
    connection, _ = listener.accept()
    with connection, connection.makefile("rb") as lines:
        connection.sendall(b"220 test ESMTP\r\n")
        for line in lines:
            command = line.split(b" ", 1)[0].strip().upper()
            if command == b"DATA":
                connection.sendall(b"354 go ahead\r\n")
                body = b"".join(iter(lines.readline, b".\r\n"))
                received.append(body)
                return
            connection.sendall(b"250 ok\r\n")


def test_a_hang_up_after_the_final_dot_is_unknown_never_retried_as_temporary():
    received: list[bytes] = []
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        thread = threading.Thread(target=_server_that_hangs_up_after_the_dot, args=(listener, received), daemon=True)
        thread.start()
        settings = mail_settings(listener.getsockname()[1])
        delivery = _send(settings, _digest_message(settings, _digest(*_papers())))
        thread.join(5)
    assert len(received) == 1 and b"List-Unsubscribe-Post" in received[0]
    assert delivery.status == "unknown" and "after the final dot" in delivery.detail


def test_non_ascii_headers_fold_into_short_encoded_words(smtp_server):
    """RFC 2047 asks for encoded words of at most 75 characters; the standard library's folder
    makes up to 76 (it counts the folding space), which clients read. What must not happen is
    one word as long as the header, as folding at 998 would give."""
    host, port, recorder = smtp_server
    settings = mail_settings(port)
    paper = make_paper(arxiv_id="2612.00006", title="Ünïcödé " * 12)
    _send(settings, _digest_message(settings, _digest(paper), display_name="Rëädér " * 8))
    header_block = recorder.received[0].data.split(b"\r\n\r\n", 1)[0].decode("ascii")
    words = re.findall(r"=\?utf-8\?[qb]\?[^?]*\?=", header_block)
    assert words and max(len(word) for word in words) <= 76
    assert max(len(line) for line in header_block.split("\r\n") if not line.startswith("List-Unsubscribe:")) <= 78
    assert recorder.received[0].message["Subject"].startswith("Ünïcödé Ünïcödé")


def test_secrets_stay_out_of_the_settings_repr():
    settings = mail_settings(25, smtp_user="paperwire", smtp_password="hunter2-password")
    assert "hunter2-password" not in repr(settings) and SECRET_KEY not in repr(settings)
    assert "smtp_user='paperwire'" in repr(settings)
    assert "hunter2-password" not in repr(mail.SmtpConfig.from_settings(settings))
