"""Invite and password-reset links: made for an account, kept as hashes, and a reset link mailed.

A link carries a fresh secret (`accounts.new_token`) that its holder sees once; the
store keeps its SHA-256, with the lifetimes of accounts.LIFETIMES (an invite 14
days, a reset link one hour and single use). The web pages (/settings/invites,
/reset) and `paperwire user invite|reset-link` call these, so both make the same
links. A reset mail goes through digest/mail.py, the site's one SMTP path.
`mail_reset_link` returns what happened as a value and the web layer tells the
visitor the same thing whatever it is, so the answer never says whether an
account exists (OWASP Forgot Password Cheat Sheet).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Callable

from paperwire import accounts
from paperwire.accounts import AccountError, TokenKind
from paperwire.config import ConfigError
from paperwire.digest import mail
from paperwire.store.accounts import User

log = logging.getLogger(__name__)

# What became of a request for a reset mail. Only "sent" sends anything; the others
# are for logs and tests, never for the person who asked.
RESET_OUTCOMES = ("sent", "no-account", "disabled", "limited", "not-sent")
RESET_VALID_MINUTES = int(accounts.RESET_LINK_LIFETIME.total_seconds() // 60)


def invite_url(base_url: str, value: str) -> str:
    return f"{base_url.rstrip('/')}/signup?invite={value}"


def reset_url(base_url: str, value: str) -> str:
    return f"{base_url.rstrip('/')}/reset/{value}"


def make_invite(store, user: User, *, base_url: str, now: datetime) -> str:
    """A new sign-up link made by `user`, to show once; the store keeps only its hash."""
    token = accounts.new_token(TokenKind.INVITE)
    store.create_invite(token.hash, created_by=user.id, now=now)
    return invite_url(base_url, token.value)


def make_reset_link(store, user: User, *, base_url: str, now: datetime) -> str:
    """A new password-reset link for `user`, to hand over once; the store keeps only its hash."""
    token = accounts.new_token(TokenKind.RESET)
    store.create_reset_link(token.hash, user.id, now=now)
    return reset_url(base_url, token.value)


def find_account(store, typed: str) -> User | None:
    """The account a person names on the reset form, by email (when it has an "@") or by
    username; None when there is none or the text cannot be one."""
    try:
        if "@" in typed:
            return store.user_by_email(accounts.normalise_email(typed))
        return store.user_by_name(accounts.normalise_username(typed))
    except AccountError:
        return None


def send_reset_link(store, user: User, *, smtp: mail.SmtpConfig, base_url: str, now: datetime) -> mail.Delivery:
    """Make a reset link for `user` and mail it to their address; the Delivery says whether
    the server took it. Raises mail.InvalidAddress for an address we cannot send to, and
    mail.MailSetupError when the server cannot be used at all."""
    link = make_reset_link(store, user, base_url=base_url, now=now)
    message = mail.reset_message(link, username=user.username, recipient=mail.parse_address(user.email),
                                 sender=smtp.sender, base_url=base_url, valid_minutes=RESET_VALID_MINUTES)
    return mail.send(message, smtp, now=now)


def mail_reset_link(store, typed: str, *, settings, may_mail: Callable[[User], bool], now: datetime) -> str:
    """Mail a reset link to the enabled account `typed` names, if `may_mail(user)` allows one
    more (the per-account limit); returns one of RESET_OUTCOMES. Problems with the mail
    setup are logged for the operator and reported as "not-sent"."""
    user = find_account(store, typed)
    if user is None:
        return "no-account"
    if user.is_disabled:
        return "disabled"
    if not may_mail(user):
        return "limited"
    try:
        smtp = mail.SmtpConfig.from_settings(settings)
        delivery = send_reset_link(store, user, smtp=smtp, base_url=settings.base_url, now=now)
    except (mail.MailNotConfigured, mail.MailSetupError, mail.InvalidAddress, ConfigError) as error:
        log.warning("no reset mail sent to user %s: %s", user.username, error)
        return "not-sent"
    if not delivery.is_sent:
        log.warning("reset mail to user %s not taken: %s %s", user.username, delivery.status, delivery.detail)
        return "not-sent"
    return "sent"
