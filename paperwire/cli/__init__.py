"""The `paperwire` command: thin click commands over the domain modules.

The root group loads settings once and hands them to every command; each command
opens the store, calls one domain function and prints a one-line summary, with a
progress bar on stderr for long work. One module per command group (ingest,
search, db, serve, store, user, digest); `terminal` holds what they share on the terminal, and
`errors` is the one place where errors become messages and exit codes.
"""

from __future__ import annotations

import logging

import click

from paperwire import __version__, config
from paperwire.cli import db, digest, ingest, search, serve, store, user
from paperwire.cli.errors import TranslatingGroup


@click.group(cls=TranslatingGroup)
@click.version_option(__version__, prog_name="paperwire")
@click.option("--database-url", envvar="DATABASE_URL", default=None,
              help="Store to use (default: sqlite:///paperwire.db in the working directory).")
@click.option("-v", "--verbose", is_flag=True, help="Log what happens, not just the summary; show tracebacks.")
@click.pass_context
def cli(ctx: click.Context, database_url: str | None, verbose: bool) -> None:
    """paperwire: ingest, search and read research papers on your own machine."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    ctx.obj = config.load(database_url=database_url)


for _command in (
    ingest.ingest_group, store.stats, store.export_command, serve.serve, serve.worker,
    db.db_group, search.search_command, search.index_group, search.eval_command,
    user.user_group, digest.digest_group,
):
    cli.add_command(_command)


def main() -> None:
    cli(prog_name="paperwire")
