"""`paperwire db migrate|copy|check|backup|restore`: the database's schema, copies,
health and backups.

Migrations run whenever a store opens (`store.open_store`), the copy with its
checksums is `store.copy`'s, the checks are `store.check`'s and backups
`store.backup`'s; this module shows progress and prints their results.
"""

from __future__ import annotations

from pathlib import Path

import click

from paperwire import config
from paperwire.cli.errors import Failure
from paperwire.cli.terminal import StageBars, opened_store


@click.group("db")
def db_group() -> None:
    """Manage the database: migrate, copy between engines, check, back up and restore."""


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


@db_group.command("check")
@click.option("--no-index", is_flag=True, help="Skip the check that the saved search index covers every paper.")
@click.pass_obj
def db_check(settings: config.Settings, no_index: bool) -> None:
    """Check the store: counts, orphan rows, stale vectors, the saved search index, and on
    SQLite its integrity_check. Exits 1 with one line per problem."""
    from paperwire.store import check

    with opened_store(settings.database_url) as store:
        report = check.check(store, index_root=None if no_index else settings.cache_path / "indexes")
    click.echo(", ".join(f"{name} {count}" for name, count in report.counts.items()))
    for note in report.notes:
        click.echo(f"note: {note}")
    for problem in report.problems:
        click.echo(f"problem: {problem}")
    if not report.is_healthy:
        raise Failure(f"{len(report.problems)} problems in {config.redact_url(settings.database_url)}")
    click.echo(f"store {config.redact_url(settings.database_url)}: healthy")


@db_group.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
@click.pass_obj
def db_backup(settings: config.Settings, path: str) -> None:
    """Write a consistent backup of the store to PATH, while the server runs (SQLite: a
    database file; PostgreSQL: a pg_dump custom-format archive)."""
    from paperwire.store import backup

    with opened_store(settings.database_url) as store:
        backup.backup(store, Path(path))
        papers = store.stats().paper_count
    click.echo(f"backed up {config.redact_url(settings.database_url)} to {path} (about {papers} papers)")


@db_group.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.pass_obj
def db_restore(settings: config.Settings, path: str) -> None:
    """Replace everything in the store with the backup at PATH (made by `db backup` on the
    same engine). Restart the web processes afterwards: they rebuild their search indexes."""
    from paperwire.store import backup

    with opened_store(settings.database_url) as store:
        backup.restore(store, Path(path))
        papers = store.stats().paper_count
    click.echo(f"restored {config.redact_url(settings.database_url)} from {path}: {papers} papers; "
               "restart the web processes so that they rebuild their search indexes")
