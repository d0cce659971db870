"""The `paperwire` command: thin click commands over the domain modules.

Each command loads settings once, opens the store, calls one domain function
and prints a one-line summary. Long work shows a progress bar on stderr.
"""

from __future__ import annotations

import json
import logging
import sys
from contextlib import contextmanager
from pathlib import Path

import click
from tqdm import tqdm

from paperwire import __version__, config, ingest
from paperwire.config import ConfigError
from paperwire.papers import to_dict
from paperwire.store import StoreError, open_store


@click.group()
@click.version_option(__version__, prog_name="paperwire")
@click.option("--database-url", envvar="DATABASE_URL", default=None,
              help="Store to use (default: sqlite:///paperwire.db in the working directory).")
@click.option("-v", "--verbose", is_flag=True, help="Log what happens, not just the summary.")
@click.pass_context
def cli(ctx: click.Context, database_url: str | None, verbose: bool) -> None:
    """paperwire: ingest, search and read research papers on your own machine."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        ctx.obj = config.load(database_url=database_url)
    except ConfigError as error:
        raise click.ClickException(str(error)) from None


@contextmanager
def opened_store(settings: config.Settings):
    """The store named by settings, closed afterwards; a store error becomes a clean CLI error."""
    try:
        store = open_store(settings.database_url)
    except StoreError as error:
        raise click.ClickException(str(error)) from None
    try:
        yield store
    finally:
        store.close()


def progress_bar(description: str, total: int | None = None, unit: str = "paper") -> tqdm:
    """A progress bar with counts and rate on stderr; quiet when stderr is not a terminal."""
    return tqdm(
        total=total, desc=description, unit=unit, unit_scale=True, dynamic_ncols=True,
        file=sys.stderr, disable=None, mininterval=0.5,
    )


def run_ingest(settings: config.Settings, batches, *, source: str, total: int | None = None) -> None:
    """Store batches with a progress bar, then print the one-line summary."""
    with opened_store(settings) as store, progress_bar(f"ingest {source}", total) as bar:

        def on_batch(batch, report):
            if batch.total_count and bar.total != batch.total_count:
                bar.total = batch.total_count
            bar.update(len(batch.papers) + len(batch.skipped) + len(batch.deleted))
            bar.set_postfix(new=report.new_count, updated=report.updated_count,
                            skipped=report.skipped_count, refresh=False)

        report = ingest.run(store, batches, source=source, on_batch=on_batch)
    for skipped in report.skipped[:20]:
        click.echo(f"skipped {skipped.record_id}: {skipped.reason}", err=True)
    if report.skipped_count > 20:
        click.echo(f"... and {report.skipped_count - 20} more skipped", err=True)
    click.echo(f"{source}: {report.summary()}")


@cli.group("ingest")
def ingest_group() -> None:
    """Read papers from arXiv, Hugging Face or files into the store."""


@cli.command()
@click.pass_obj
def stats(settings: config.Settings) -> None:
    """Print what the store holds."""
    with opened_store(settings) as store:
        s = store.stats()
    click.echo(f"store: {settings.database_url}")
    click.echo(f"papers: {s.paper_count} ({s.deleted_count} deleted)")
    click.echo(f"daily entries: {s.daily_entry_count}")
    click.echo(f"embedded: {s.embedded_count}")
    click.echo(f"days: {s.first_day or '-'} .. {s.last_day or '-'}")
    top = sorted(s.category_counts.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    if top:
        click.echo("top categories: " + ", ".join(f"{c} {n}" for c, n in top))


@cli.command()
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="File to write (.jsonl or .jsonl.gz); default: standard output.")
@click.pass_obj
def export(settings: config.Settings, output: Path | None) -> None:
    """Write every paper as JSONL in paperwire's own format (re-ingest with `ingest file`)."""
    import gzip

    with opened_store(settings) as store:
        total = store.stats().paper_count
        if output is None:
            out = sys.stdout
        elif output.suffix == ".gz":
            out = gzip.open(output, "wt", encoding="utf-8")
        else:
            out = open(output, "w", encoding="utf-8")
        count = 0
        with progress_bar("export", total) as bar:
            for paper in store.iter_papers():
                out.write(json.dumps(to_dict(paper), ensure_ascii=False) + "\n")
                count += 1
                bar.update()
        if output is not None:
            out.close()
    click.echo(f"exported {count} papers", err=output is None)


def main() -> None:
    cli(prog_name="paperwire")
