"""`paperwire user create|list|disable|reset-link|invite`: accounts from the terminal.

The first administrator is made here, on any sign-up policy. `reset-link` and
`invite` print the links an administrator passes on (made by account_links.py,
as the site's pages make them). The rules are `paperwire.accounts`' and the
records the store's; refusals are AccountError or StoreError, which `cli.errors`
turns into one line.
"""

from __future__ import annotations

import sys
from datetime import datetime, timezone

import click

from paperwire import account_links, accounts, config
from paperwire.accounts import AccountError
from paperwire.cli.errors import Failure
from paperwire.cli.terminal import opened_store
from paperwire.digest import mail
from paperwire.store import NotFound
from paperwire.store.accounts import User

BASE_URL_HELP = "The site's address as people reach it (default: http://HOST:PORT of the settings)."


@click.group("user")
def user_group() -> None:
    """Manage accounts: create, list, disable, and make reset and invite links."""


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _base_url(settings: config.Settings, base_url: str | None) -> str:
    return (base_url or f"http://{settings.host}:{settings.port}").rstrip("/")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@user_group.command("create")
@click.argument("name")
@click.option("--email", required=True, help="The user's email address.")
@click.option("--admin", is_flag=True, help="Make the user an administrator.")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@click.pass_obj
def create(settings: config.Settings, name: str, email: str, admin: bool, password_stdin: bool) -> None:
    """Create the account NAME (asks for its password twice)."""
    username, email = accounts.normalise_username(name), accounts.normalise_email(email)
    password = _read_password(password_stdin)
    if (problem := accounts.check_password(password, username=username, email=email)) is not None:
        raise AccountError(problem)
    with opened_store(settings.database_url) as store:
        store.create_user(username=username, email=email, password_hash=accounts.hash_password(password),
                          is_admin=admin, now=_now())
    click.echo(f"created {'administrator' if admin else 'user'} {username}")


@user_group.command("list")
@click.pass_obj
def list_users(settings: config.Settings) -> None:
    """List every account: name, role, state, email."""
    with opened_store(settings.database_url) as store:
        users = store.users()
    for user in users:
        role = "admin" if user.is_admin else "member"
        click.echo(f"{user.username}\t{role}\t{'disabled' if user.is_disabled else 'active'}\t{user.email}")
    click.echo(f"{len(users)} users", err=True)


def _named(store, name: str) -> User:
    """The account NAME, as typed on the command line; raises NotFound naming it."""
    user = store.user_by_name(name.strip().lower())
    if user is None:
        raise NotFound(f"there is no user {name!r}; `paperwire user list` shows them")
    return user


@user_group.command("disable")
@click.argument("name")
@click.pass_obj
def disable(settings: config.Settings, name: str) -> None:
    """Disable the account NAME: its sessions end and it cannot log in."""
    with opened_store(settings.database_url) as store:
        user = store.set_disabled(_named(store, name).username, now=_now())
    click.echo(f"disabled {user.username}")


@user_group.command("reset-link")
@click.argument("name")
@click.option("--base-url", default=None, help=BASE_URL_HELP)
@click.option("--mail", "by_mail", is_flag=True,
              help="Mail the link to the user's address (needs PAPERWIRE_SMTP_HOST; links on PAPERWIRE_BASE_URL) "
                   "instead of printing it.")
@click.pass_obj
def reset_link(settings: config.Settings, name: str, base_url: str | None, by_mail: bool) -> None:
    """Print (or mail) a password-reset link for NAME: it works once, within an hour."""
    with opened_store(settings.database_url) as store:
        user = _named(store, name)
        if not by_mail:
            click.echo(account_links.make_reset_link(store, user, base_url=_base_url(settings, base_url), now=_now()))
            return
        delivery = account_links.send_reset_link(store, user, smtp=mail.SmtpConfig.from_settings(settings),
                                                 base_url=base_url or settings.base_url, now=_now())
    if not delivery.is_sent:
        raise Failure(f"the mail server did not take the mail to {user.email} ({delivery.status}: {delivery.detail}); "
                      f"print the link instead with `paperwire user reset-link {user.username}`")
    click.echo(f"mailed a reset link to {user.username} <{user.email}>")


@user_group.command("invite")
@click.argument("by")
@click.option("--base-url", default=None, help=BASE_URL_HELP)
@click.pass_obj
def invite(settings: config.Settings, by: str, base_url: str | None) -> None:
    """Print a sign-up link made by the user BY: it signs up one person within 14 days."""
    with opened_store(settings.database_url) as store:
        link = account_links.make_invite(store, _named(store, by), base_url=_base_url(settings, base_url),
                                         now=_now())
    click.echo(link)
