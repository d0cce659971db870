"""`paperwire digest run`: the digest job in the foreground, with a one-line count.

Which digests are due, what they hold and how they are sent exactly once are
`paperwire.digest.run`'s; this module opens the store, makes the search service
that saved searches run on, and prints the run's summary.
"""

from __future__ import annotations

from datetime import datetime, timezone

import click

from paperwire import config
from paperwire.cli.terminal import opened_store


@click.group("digest")
def digest_group() -> None:
    """Email digests (needs PAPERWIRE_SMTP_HOST)."""


@digest_group.command("run")
@click.option("--dry-run", is_flag=True, help="Build and count the due digests; write and send nothing.")
@click.option("--to", "email", default=None, metavar="EMAIL", help="Only this subscriber's digest.")
@click.pass_obj
def run_command(settings: config.Settings, dry_run: bool, email: str | None) -> None:
    """Send every digest that is due now, once, and retry those that failed for a while."""
    from paperwire.digest import run as digest_run
    from paperwire.search.service import SearchService

    with opened_store(settings.database_url) as store:
        report = digest_run.run_recorded(store, settings, now=datetime.now(timezone.utc), is_dry_run=dry_run,
                                         to=email, search=SearchService.from_settings(settings))
    click.echo(report.summary(is_dry_run=dry_run))
