"""`paperwire stats` and `paperwire export`: what the store holds, and all of it as JSONL.

The export format and file handling are `paperwire.export`'s; this module shows
the progress bar and prints the counts.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from paperwire import config, export
from paperwire.cli.terminal import opened_store, progress_bar

# `stats` names the most common categories, not all of them (arXiv has about 150).
TOP_CATEGORY_COUNT = 10


@click.command()
@click.pass_obj
def stats(settings: config.Settings) -> None:
    """Print what the store holds."""
    with opened_store(settings.database_url) as store:
        s = store.stats()
    click.echo(f"store: {config.redact_url(settings.database_url)}")
    click.echo(f"papers: {s.paper_count} ({s.deleted_count} deleted)")
    click.echo(f"daily entries: {s.daily_entry_count}")
    click.echo(f"embedded: {s.embedded_count}")
    click.echo(f"days: {s.first_day or '-'} .. {s.last_day or '-'}")
    top = sorted(s.category_counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_CATEGORY_COUNT]
    if top:
        click.echo("top categories: " + ", ".join(f"{c} {n}" for c, n in top))


@click.command("export")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="File to write (.jsonl or .jsonl.gz); default: standard output.")
@click.pass_obj
def export_command(settings: config.Settings, output: Path | None) -> None:
    """Write every paper as JSONL in paperwire's own format (re-ingest with `ingest file`)."""
    with opened_store(settings.database_url) as store:
        with progress_bar("export", store.stats().paper_count) as bar:
            count = export.write(store, output or sys.stdout, on_progress=lambda done: bar.update(done - bar.n))
    # On stdout the papers are the output, so the count goes to stderr.
    click.echo(f"exported {count} papers", err=output is None)
