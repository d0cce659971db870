"""The `paperwire` command: thin click commands over the domain modules.

Each command loads settings once, opens the store, calls one domain function
and prints a one-line summary. Long work shows a progress bar on stderr.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from contextlib import contextmanager
from pathlib import Path

import click
from tqdm import tqdm

from paperwire import __version__, config, ingest
from paperwire.config import ConfigError, redact_url
from paperwire.papers import display_text, to_dict
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
            bar.update(len(batch.papers) + len(batch.skipped) + len(batch.deleted) + batch.unchanged_count)
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


_DAY = click.DateTime(formats=["%Y-%m-%d"])


def _day(value):
    return value.date() if value else None


def _ingest_fetched(settings: config.Settings, batches, *, source: str, resume_hint: str = "") -> None:
    """run_ingest, with a source failure turned into a clean CLI error after what was read is stored."""
    from paperwire.sources import FetchError

    try:
        run_ingest(settings, batches, source=source)
    except FetchError as error:
        raise click.ClickException(f"{error}{resume_hint if error.resumes else ''}") from None


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
    except ValueError as error:
        raise click.UsageError(f"{error}: give --category, --from/--until, --id or --query") from None
    name = arxiv_api.checkpoint_name(request)
    with opened_store(settings) as store:
        start = int(store.get_checkpoint(name) or 0)
    if start:
        click.echo(f"resuming {name} at result {start}", err=True)
    batches = fetchers.arxiv(settings, request, max_results=max_results, start=start)
    _ingest_fetched(settings, batches, source=arxiv_api.SOURCE,
                    resume_hint="; pages stored so far are kept and the same command resumes")


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
    token = None
    if not restart:
        with opened_store(settings) as store:
            token = store.get_checkpoint(name)
    if token:
        click.echo(f"resuming {name} from its saved checkpoint (--restart starts over)", err=True)
    batches = fetchers.oai(settings, set_spec=set_spec, from_day=from_day, until_day=until_day,
                           metadata_prefix=metadata_prefix, resumption_token=token)
    _ingest_fetched(settings, batches, source=oai_pmh.SOURCE,
                    resume_hint="; pages stored so far are kept and the same command resumes")


@ingest_group.command("hf")
@click.option("--date", "day", type=_DAY, help="List day, YYYY-MM-DD (default: today, UTC).")
@click.option("--from", "from_day", type=_DAY, help="First list day of a range.")
@click.option("--until", "until_day", type=_DAY, help="Last list day of a range (default: today, UTC).")
@click.pass_obj
def ingest_hf(settings, day, from_day, until_day) -> None:
    """Read the Hugging Face Daily Papers list for a day or a range of days."""
    from datetime import datetime, timezone

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
    batches = fetchers.hf(settings, days, now=now)
    _ingest_fetched(settings, batches, source=hf_daily.SOURCE)


@ingest_group.command("file")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.pass_obj
def ingest_file(settings, paths) -> None:
    """Read JSONL files (gzipped or not): paperwire exports, plain JSONL or the arXiv snapshot."""
    from paperwire.sources import files

    with opened_store(settings) as store:  # lines stored before are recognised, not re-parsed
        batches = files.fetch(paths, seen=lambda hashes: store.seen_records(files.SOURCE, hashes))
        _ingest_fetched(settings, batches, source=files.SOURCE)


@cli.command()
@click.pass_obj
def stats(settings: config.Settings) -> None:
    """Print what the store holds."""
    with opened_store(settings) as store:
        s = store.stats()
    click.echo(f"store: {redact_url(settings.database_url)}")
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


@cli.command()
@click.option("--host", default=None, help="Address to listen on (default: PAPERWIRE_HOST, 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), default=None,
              help="Port to listen on (default: PAPERWIRE_PORT, 8000).")
@click.option("--no-harvest", is_flag=True, help="Do not harvest new papers in the background.")
@click.option("--no-embed", is_flag=True, help="Do not embed new papers in the background.")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Web processes; more than one is for PostgreSQL (they share the database).")
@click.pass_obj
def serve(settings: config.Settings, host: str | None, port: int | None, no_harvest: bool,
          no_embed: bool, workers: int) -> None:
    """Run the web server and, unless turned off, the background harvest and embedding."""
    import dataclasses

    import uvicorn

    from paperwire.web.app import create_app

    settings = dataclasses.replace(
        settings, host=host or settings.host, port=port or settings.port,
        harvest_enabled=settings.harvest_enabled and not no_harvest,
        embed_enabled=settings.embed_enabled and not no_embed,
    )
    try:
        app = create_app(settings)  # also checks the store opens before anything forks
    except StoreError as error:
        raise click.ClickException(str(error)) from None
    harvest = (f"harvest every {settings.harvest_interval_minutes} min" if settings.harvest_enabled
               else "harvest off")
    embed = "embedding on" if settings.embed_enabled else "embedding off"
    click.echo(f"paperwire: http://{settings.host}:{settings.port}, {workers} process(es), {harvest}, {embed}")
    if workers == 1:
        uvicorn.run(app, host=settings.host, port=settings.port, server_header=False)
        return
    # Worker processes start fresh and build their app from the environment, so hand
    # them these settings there. The harvest lease keeps them to one harvest at a time.
    os.environ.update(config.to_environ(settings))
    uvicorn.run("paperwire.web.app:app_from_environment", factory=True, workers=workers,
                host=settings.host, port=settings.port, server_header=False)


@cli.group("db")
def db_group() -> None:
    """Manage the database: migrate it, copy it between engines."""


@db_group.command("migrate")
@click.pass_obj
def db_migrate(settings: config.Settings) -> None:
    """Apply pending migrations (every command does this on open; run it once before a rollout)."""
    with opened_store(settings):
        pass
    click.echo(f"store {redact_url(settings.database_url)}: schema up to date")


@db_group.command("copy")
@click.argument("from_url")
@click.argument("to_url")
def db_copy(from_url: str, to_url: str) -> None:
    """Copy every paper, daily entry, vector, checkpoint and job run from FROM_URL into
    an empty store at TO_URL (SQLite or PostgreSQL, either way), then compare checksums."""
    from paperwire.store import copy as store_copy

    bars: dict[str, tqdm] = {}
    try:
        source, target = open_store(from_url), open_store(to_url)
    except StoreError as error:
        raise click.ClickException(str(error)) from None
    try:
        held = source.stats()
        totals = {"papers": held.paper_count, "daily entries": held.daily_entry_count,
                  "embeddings": held.embedded_count}

        def on_progress(stage: str, count: int) -> None:
            if stage not in bars:
                bars[stage] = progress_bar(f"copy {stage}", totals.get(stage), unit="row")
            bars[stage].update(count)

        report = store_copy.copy(source, target, on_progress=on_progress)
    except StoreError as error:
        raise click.ClickException(str(error)) from None
    finally:
        for bar in bars.values():
            bar.close()
        source.close()
        target.close()
    for label, url, digest in (("from", from_url, report.source), ("to", to_url, report.target)):
        click.echo(f"{label} {redact_url(url)}:")
        for line in digest.lines():
            click.echo(f"  {line}")
    if report.stale_embedding_count:
        click.echo(f"{report.stale_embedding_count} stale vectors not copied; `paperwire worker` re-embeds them")
    if not report.is_identical:
        raise click.ClickException("the copy differs from the original (see the checksums above)")
    click.echo(f"copied: checksums match ({report.target.paper_count} papers)")


def _moves(bar: tqdm):
    """An on_progress(done, total) callback that moves `bar` to `done` of `total`."""
    def on_progress(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    return on_progress


@cli.command("search")
@click.argument("query")
@click.option("--mode", type=click.Choice(["hybrid", "lexical", "semantic"]), default="hybrid", show_default=True,
              help="Match words and meaning, words only, or meaning only.")
@click.option("--sort", type=click.Choice(["relevance", "newest", "trending"]), default="relevance",
              show_default=True, help="Order of the results.")
@click.option("--limit", type=click.IntRange(1, 100), default=10, show_default=True, help="How many results.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON (the API's shape).")
@click.pass_obj
def search_command(settings: config.Settings, query: str, mode: str, sort: str, limit: int, as_json: bool) -> None:
    """Search the store's papers; QUERY takes the search page's syntax ("phrase", -word, author:, cat:, year:, has:code)."""
    from paperwire.search.service import SearchService, results_to_dict

    service = SearchService.from_settings(settings)
    with opened_store(settings) as store:
        with progress_bar("index", unit="change") as bar:
            service.catch_up(store, on_progress=_moves(bar))
        results = service.search(store, query, mode=mode, sort=sort, limit=limit)
        service.save()
    page = results.page
    if as_json:
        click.echo(json.dumps({**results_to_dict(results), "q": query}, ensure_ascii=False))
        return
    for rank, hit in enumerate(page.hits, start=1):
        click.echo(f"{rank:>3}. {hit.paper.arxiv_id:<16} {display_text(hit.paper.title)}")
        click.echo(f"     {str(hit.paper.day or ''):<10}  {hit.why}")
    if page.query.ignored:
        click.echo(f"ignored: {' '.join(page.query.ignored)}", err=True)
    if mode != "lexical" and not results.is_semantic_ready:
        click.echo("no paper has a vector yet, so this matched words only; `paperwire index embed` adds them",
                   err=True)
    click.echo(f"{len(page.hits)} of {page.total_count} results ({mode}, {sort})")


@cli.group("index")
def index_group() -> None:
    """Build the search indexes and embed papers for search by meaning."""


@index_group.command("rebuild")
@click.pass_obj
def index_rebuild(settings: config.Settings) -> None:
    """Build this store's search indexes again from scratch and save them under PAPERWIRE_CACHE_DIR."""
    from paperwire.search.service import SearchService

    service = SearchService.from_settings(settings)
    with opened_store(settings) as store, progress_bar("rebuild", unit="change") as bar:
        paper_count, vector_count = service.rebuild(store, on_progress=_moves(bar))
    click.echo(f"indexed {paper_count} papers, {vector_count} with vectors")


@index_group.command("embed")
@click.pass_obj
def index_embed(settings: config.Settings) -> None:
    """Embed every paper that lacks a vector for its current title and abstract, in the
    foreground (`paperwire serve` and `paperwire worker` do it in the background)."""
    from paperwire import worker
    from paperwire.search import pipeline
    from paperwire.search.embed import Embedder, EmbedderError

    try:
        embedder = Embedder.from_settings(settings)
    except EmbedderError as error:
        raise click.ClickException(str(error)) from None
    with opened_store(settings) as store:
        total = pipeline.pending_count(store, embedder.model_id)
        with progress_bar("embed", total) as bar:
            outcome = worker.run_with_lease(
                store, "embed", worker.default_holder(),
                lambda: pipeline.embed_pending(store, embedder, on_batch=bar.update), worker.LEASE_TTL_SECONDS,
            )
    if not outcome.ran:
        raise click.ClickException(
            "another process is embedding (paperwire serve or worker holds the embed lease); "
            "it embeds these papers too, or stop it and run this again"
        )
    click.echo(outcome.value.summary())


@cli.command("eval")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--split", type=click.Choice(["test", "train", "dev"]), default="test", show_default=True,
              help="Which qrels/<split>.tsv to score.")
@click.option("--backend", type=click.Choice(["sqlite", "postgres"]), default="sqlite", show_default=True,
              help="Engine of the throwaway store (postgres starts its own server with pgserver).")
@click.pass_obj
def eval_command(settings: config.Settings, folder: Path, split: str, backend: str) -> None:
    """Measure search quality on a BEIR data set in FOLDER: nDCG@10, Recall@100, MRR@10 and
    latency for lexical, semantic and hybrid search, in a throwaway store (yours is not touched)."""
    from paperwire.search import evaluate
    from paperwire.search.embed import Embedder, EmbedderError

    try:
        dataset = evaluate.load(folder, split=split)
        embedder = Embedder.from_settings(settings)
    except (evaluate.EvalError, EmbedderError) as error:
        raise click.ClickException(str(error)) from None
    bars: dict[str, tqdm] = {}

    def on_progress(stage: str, count: int, total: int | None) -> None:
        if stage not in bars:
            unit = "query" if stage in evaluate.MODES else "paper"
            bars[stage] = progress_bar(f"eval {stage}", total, unit=unit)
        bars[stage].update(count)

    try:
        with evaluate.throwaway_store(backend) as store:
            results = evaluate.evaluate(dataset, store, embedder, cache_dir=settings.cache_path,
                                        on_progress=on_progress)
    except evaluate.EvalError as error:
        raise click.ClickException(str(error)) from None
    finally:
        for bar in bars.values():
            bar.close()
    for line in evaluate.table(results):
        click.echo(line)
    click.echo(f"{dataset.name}: {len(dataset.queries)} queries ({split}), {len(dataset.documents)} papers, "
               f"{backend} store")


@cli.command()
@click.option("--once", is_flag=True, help="Run each due job once, then exit.")
@click.option("--job", "job_names", type=click.Choice(["harvest", "embed"]), multiple=True,
              help="Run only this job (repeatable; default: harvest and embed).")
@click.pass_obj
def worker(settings: config.Settings, once: bool, job_names: tuple[str, ...]) -> None:
    """Run background jobs (harvest, embedding) under leases, so any number of workers
    on one PostgreSQL database run each job at most once at a time."""
    import signal
    import threading

    from paperwire import worker as jobs

    names = job_names or ("harvest", "embed")
    stop = threading.Event()
    chosen = [jobs.harvest_job(settings, stop=stop) if name == "harvest" else jobs.embed_job(settings, stop=stop)
              for name in names]
    holder = jobs.default_holder()
    with opened_store(settings) as store:
        if once:
            summaries = jobs.run_jobs(store, chosen, holder=holder)
            ran = {name: summary for name, summary in summaries.items() if summary}
            click.echo("; ".join(f"{name}: {summary}" for name, summary in ran.items()) or "nothing was due")
            return
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        click.echo(f"worker {holder}: {', '.join(names)} every {jobs.POLL_SECONDS:.0f} s; Ctrl-C stops")
        try:
            jobs.run_forever(store, chosen, holder=holder, stop=stop)
        except KeyboardInterrupt:
            pass
    click.echo(f"worker {holder} stopped")

def main() -> None:
    cli(prog_name="paperwire")
