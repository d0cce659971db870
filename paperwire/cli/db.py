"""`paperwire db migrate|copy`: bring a database's schema up to date, copy one store into another.

Migrations run whenever a store opens (`store.open_store`) and the copy with its
checksums is `store.copy`'s; this module shows progress and prints the checksums.
"""

from __future__ import annotations

import click

from paperwire import config
from paperwire.cli.errors import Failure
from paperwire.cli.terminal import StageBars, opened_store


@click.group("db")
def db_group() -> None:
    """Manage the database: migrate it, copy it between engines."""


@db_group.command("migrate")
@click.pass_obj
def db_migrate(settings: config.Settings) -> None:
    """Apply pending migrations (every command does this on open; run it once before a rollout)."""
    with opened_store(settings.database_url):
        pass
    click.echo(f"store {config.redact_url(settings.database_url)}: schema up to date")


@db_group.command("copy")
@click.argument("from_url")
@click.argument("to_url")
def db_copy(from_url: str, to_url: str) -> None:
    """Copy every paper, daily entry, vector, checkpoint and job run from FROM_URL into
    an empty store at TO_URL (SQLite or PostgreSQL, either way), then compare checksums."""
    from paperwire.store import copy as store_copy

    with opened_store(from_url) as source, opened_store(to_url) as target, \
            StageBars("copy", unit_of=lambda stage: "row") as bars:
        held = source.stats()
        totals = {"papers": held.paper_count, "daily entries": held.daily_entry_count,
                  "embeddings": held.embedded_count}
        report = store_copy.copy(source, target,
                                 on_progress=lambda stage, count: bars.update(stage, count, totals.get(stage)))
    for label, url, digest in (("from", from_url, report.source), ("to", to_url, report.target)):
        click.echo(f"{label} {config.redact_url(url)}:")
        for line in digest.lines():
            click.echo(f"  {line}")
    if report.stale_embedding_count:
        click.echo(f"{report.stale_embedding_count} stale vectors not copied; `paperwire worker` re-embeds them")
    if not report.is_identical:
        raise Failure("the copy differs from the original (see the checksums above)")
    click.echo(f"copied: checksums match ({report.target.paper_count} papers)")
