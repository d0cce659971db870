"""`paperwire serve` and `paperwire worker`: the long-running processes.

The web app is `web.app`'s and the background jobs and their leases are
`paperwire.worker`'s; this module applies the command-line options to the
settings, starts them and says what it started.
"""

from __future__ import annotations

import dataclasses
import os

import click

from paperwire import config
from paperwire.cli.terminal import opened_store

DEFAULT_MAX_WORKERS = 4  # each process holds ~0.5-0.7 GB at 75k papers (bench/web.py)


@click.command()
@click.option("--host", default=None, help="Address to listen on (default: PAPERWIRE_HOST, 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), default=None,
              help="Port to listen on (default: PAPERWIRE_PORT, 8000).")
@click.option("--no-harvest", is_flag=True, help="Do not harvest new papers in the background.")
@click.option("--no-embed", is_flag=True, help="Do not embed new papers in the background.")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="Web processes (default: one per core, at most 4); they share the database, "
                   "SQLite or PostgreSQL.")
@click.pass_obj
def serve(settings: config.Settings, host: str | None, port: int | None, no_harvest: bool,
          no_embed: bool, workers: int | None) -> None:
    """Run the web server and, unless turned off, the background harvest and embedding."""
    import uvicorn

    from paperwire.web import processes
    from paperwire.web.app import create_app

    workers = workers or default_workers()
    settings = dataclasses.replace(
        settings, host=host or settings.host, port=port or settings.port,
        harvest_enabled=settings.harvest_enabled and not no_harvest,
        embed_enabled=settings.embed_enabled and not no_embed,
    )
    app = create_app(settings)  # also checks the store opens before anything forks
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
    factory = "paperwire.web.app:app_from_environment"
    if not processes.is_supported():
        uvicorn.run(factory, factory=True, workers=workers, host=settings.host, port=settings.port,
                    server_header=False)
        return
    try:
        processes.serve(factory, host=settings.host, port=settings.port, workers=workers)
    except processes.StartError as error:
        raise click.ClickException(str(error)) from None


def default_workers() -> int:
    """One web process per core this process may run on, at most DEFAULT_MAX_WORKERS: one
    process renders on one core at a time (the GIL), and each holds its own search indexes
    and kept pages, so more processes than cores only cost memory (docs/web.md, "Worker model")."""
    return max(1, min(len(os.sched_getaffinity(0)), DEFAULT_MAX_WORKERS))


@click.command()
@click.option("--once", is_flag=True, help="Run each due job once, then exit.")
@click.option("--job", "job_names", type=click.Choice(["harvest", "embed", "sweep", "digest", "recommend", "maps"]),
              multiple=True, help="Run only this job (repeatable; default: harvest, embed, sweep, digest, recommend and maps).")
@click.pass_obj
def worker(settings: config.Settings, once: bool, job_names: tuple[str, ...]) -> None:
    """Run background jobs (harvest, embedding, email digests, "for you" lists, topic maps) under leases,
    so any number of workers on one PostgreSQL database run each job at most once at a time."""
    import signal
    import threading

    from paperwire.jobs import runner, table
    from paperwire.leases import default_holder

    names = job_names or table.WORKER_JOBS
    stop = threading.Event()
    chosen = table.for_worker(settings, names, stop=stop)
    holder = default_holder()
    if once:
        with opened_store(settings.database_url) as store:
            summaries = runner.run_jobs(store, chosen, holder=holder)
        ran = {name: summary for name, summary in summaries.items() if summary}
        click.echo("; ".join(f"{name}: {summary}" for name, summary in ran.items()) or "nothing was due")
        return
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    click.echo(f"worker {holder}: {', '.join(names)} every {table.POLL_SECONDS:.0f} s; Ctrl-C stops")
    runner.run_forever(chosen, url=settings.database_url, holder=holder, stop=stop)
    click.echo(f"worker {holder} stopped")
