"""`paperwire ingest arxiv|oai|hf|file`: read papers from a source into the store.

Each command turns its options into a source's fetcher (`sources.fetchers`) and
hands the batches to `ingest.run`; this module only shows progress and prints the
tally. A source that fails part way raises FetchError after the batches read so
far are stored; `cli.errors` prints it. A run that read records but kept none
(every one skipped) exits non-zero with one line that says so.
"""

from __future__ import annotations

from datetime import datetime, timezone

import click

from paperwire import ingest
from paperwire.cli.errors import Failure
from paperwire.cli.terminal import echo_skipped, opened_store, progress_bar
from paperwire.store import Store

_DAY = click.DateTime(formats=["%Y-%m-%d"])
RESUME_HINT = "pages stored so far are kept and the same command resumes"


def _day(value: datetime | None):
    return value.date() if value else None


@click.group("ingest")
def ingest_group() -> None:
    """Read papers from arXiv, Hugging Face or files into the store."""


def run_ingest(store: Store, batches, *, source: str) -> None:
    """Store batches with a progress bar, then print the skipped records and the one-line summary."""
    with progress_bar(f"ingest {source}") as bar:

        def on_batch(batch, report):
            if batch.total_count and bar.total != batch.total_count:
                bar.total = batch.total_count
            bar.update(len(batch.papers) + len(batch.skipped) + len(batch.deleted) + batch.unchanged_count)
            bar.set_postfix(new=report.new_count, updated=report.updated_count,
                            skipped=report.skipped_count, refresh=False)

        report = ingest.run(store, batches, source=source, on_batch=on_batch)
    echo_skipped(report)
    click.echo(f"{source}: {report.summary()}")
    refusal = report.refusal(source)
    if refusal is not None:  # nothing valid: a broken feed or file, not a quiet day
        raise Failure(refusal)


def run_resumable(store: Store, batches, *, source: str) -> None:
    """run_ingest for a harvest that checkpoints its pages: a failure that the same command
    can pick up again says so (a bad resumption token, say, cannot)."""
    from paperwire.sources import FetchError

    try:
        run_ingest(store, batches, source=source)
    except FetchError as error:  # what to do next is this command's to say: run it again
        if not error.resumes:
            raise
        raise FetchError(f"{error}; {RESUME_HINT}") from error


@ingest_group.command("arxiv")
@click.option("--category", "categories", multiple=True, help="arXiv category, e.g. cs.CL (repeatable).")
@click.option("--from", "from_day", type=_DAY, help="First submission day, YYYY-MM-DD.")
@click.option("--until", "until_day", type=_DAY, help="Last submission day, YYYY-MM-DD (included).")
@click.option("--id", "ids", multiple=True, help="arXiv id, e.g. 2501.00001 (repeatable).")
@click.option("--query", help="Search terms, or arXiv query syntax such as 'ti:transformer AND au:smith'.")
@click.option("--max", "max_results", type=click.IntRange(min=1), help="Stop after this many papers.")
@click.pass_obj
def ingest_arxiv(settings, categories, from_day, until_day, ids, query, max_results) -> None:
    """Read papers from the arXiv API (one request every PAPERWIRE_REQUEST_INTERVAL_SECONDS)."""
    from paperwire.sources import arxiv_api, fetchers

    request = arxiv_api.Query(categories=categories, submitted_from=_day(from_day),
                              submitted_until=_day(until_day), ids=ids, terms=query)
    try:
        arxiv_api.build_params(request)
    except ValueError as error:  # a query with nothing to ask is the caller's mistake: a usage error
        raise click.UsageError(f"{error}: give --category, --from/--until, --id or --query") from None
    name = arxiv_api.checkpoint_name(request)
    with opened_store(settings.database_url) as store:
        start = int(store.get_checkpoint(name) or 0)
        if start:
            click.echo(f"resuming {name} at result {start}", err=True)
        batches = fetchers.arxiv(settings, request, max_results=max_results, start=start)
        run_resumable(store, batches, source=arxiv_api.SOURCE)


@ingest_group.command("oai")
@click.option("--set", "set_spec", help="OAI-PMH set, e.g. cs or physics:hep-th (default: everything).")
@click.option("--from", "from_day", type=_DAY, help="First datestamp day, YYYY-MM-DD.")
@click.option("--until", "until_day", type=_DAY, help="Last datestamp day, YYYY-MM-DD.")
@click.option("--format", "metadata_prefix", type=click.Choice(["arXiv", "arXivRaw", "oai_dc"]),
              default="arXiv", show_default=True,
              help="Metadata format; arXivRaw adds every version's date, oai_dc is plain Dublin Core.")
@click.option("--restart", is_flag=True, help="Ignore a saved checkpoint and start from the first page.")
@click.pass_obj
def ingest_oai(settings, set_spec, from_day, until_day, metadata_prefix, restart) -> None:
    """Harvest arXiv over OAI-PMH, resuming an interrupted harvest of the same set and dates."""
    from paperwire.sources import fetchers, oai_pmh

    from_day, until_day = _day(from_day), _day(until_day)
    name = oai_pmh.harvest_name(set_spec=set_spec, from_day=from_day, until_day=until_day,
                                metadata_prefix=metadata_prefix)
    with opened_store(settings.database_url) as store:
        token = None if restart else store.get_checkpoint(name)
        if token:
            click.echo(f"resuming {name} from its saved checkpoint (--restart starts over)", err=True)
        batches = fetchers.oai(settings, set_spec=set_spec, from_day=from_day, until_day=until_day,
                               metadata_prefix=metadata_prefix, resumption_token=token)
        run_resumable(store, batches, source=oai_pmh.SOURCE)


@ingest_group.command("hf")
@click.option("--date", "day", type=_DAY, help="List day, YYYY-MM-DD (default: today, UTC).")
@click.option("--from", "from_day", type=_DAY, help="First list day of a range.")
@click.option("--until", "until_day", type=_DAY, help="Last list day of a range (default: today, UTC).")
@click.pass_obj
def ingest_hf(settings, day, from_day, until_day) -> None:
    """Read the Hugging Face Daily Papers list for a day or a range of days."""
    from paperwire.sources import fetchers, hf_daily

    now = datetime.now(timezone.utc)
    if day and (from_day or until_day):
        raise click.UsageError("give either --date or --from/--until, not both")
    if day or not from_day:
        days = [_day(day) or now.date()]
    else:
        first, last = _day(from_day), _day(until_day) or now.date()
        days = hf_daily.days_between(first, last)
        if not days:
            raise click.UsageError(f"--from {first} is after --until {last}")
    with opened_store(settings.database_url) as store:
        run_ingest(store, fetchers.hf(settings, days, now=now), source=hf_daily.SOURCE)


@ingest_group.command("file")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.pass_obj
def ingest_file(settings, paths) -> None:
    """Read JSONL files (gzipped or not): paperwire exports, plain JSONL or the arXiv snapshot."""
    from paperwire.sources import files

    with opened_store(settings.database_url) as store:  # lines stored before are recognised, not re-parsed
        batches = files.fetch(paths, seen=lambda hashes: store.seen_records(files.SOURCE, hashes))
        run_ingest(store, batches, source=files.SOURCE)
