"""`paperwire search`, `paperwire index rebuild|embed` and `paperwire eval`.

Keeping the indexes in step with the store is `search.service`'s, embedding is
`search.pipeline`'s and the throwaway store of an evaluation is
`search.evaluate`'s; this module shows their progress and prints their results.
The search modules are imported inside the commands: they load SciPy and ONNX
Runtime, which `paperwire --help` and `paperwire stats` should not wait for.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from paperwire import config
from paperwire.cli.errors import Failure
from paperwire.cli.terminal import StageBars, moves, opened_store, progress_bar
from paperwire.papers import display_text


@click.command("search")
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
    with opened_store(settings.database_url) as store:
        with progress_bar("index", unit="change") as bar:
            service.catch_up(store, on_progress=moves(bar))
        results = service.search(store, query, mode=mode, sort=sort, limit=limit)
        service.save()
    if as_json:
        click.echo(json.dumps({**results_to_dict(results), "q": query}, ensure_ascii=False))
        return
    page = results.page
    for rank, hit in enumerate(page.hits, start=1):
        click.echo(f"{rank:>3}. {hit.paper.arxiv_id:<16} {display_text(hit.paper.title)}")
        click.echo(f"     {str(hit.paper.day or ''):<10}  {hit.why}")
    if page.query.ignored:
        click.echo(f"ignored: {' '.join(page.query.ignored)}", err=True)
    if mode != "lexical" and not results.is_semantic_ready:
        click.echo("no paper has a vector yet, so this matched words only; `paperwire index embed` adds them",
                   err=True)
    click.echo(f"{len(page.hits)} of {page.total_count} results ({mode}, {sort})")


@click.group("index")
def index_group() -> None:
    """Build the search indexes and embed papers for search by meaning."""


@index_group.command("rebuild")
@click.pass_obj
def index_rebuild(settings: config.Settings) -> None:
    """Build this store's search indexes again from scratch and save them under PAPERWIRE_CACHE_DIR."""
    from paperwire.search.service import SearchService

    service = SearchService.from_settings(settings)
    with opened_store(settings.database_url) as store, progress_bar("rebuild", unit="change") as bar:
        paper_count, vector_count = service.rebuild(store, on_progress=moves(bar))
    click.echo(f"indexed {paper_count} papers, {vector_count} with vectors")


@index_group.command("embed")
@click.pass_obj
def index_embed(settings: config.Settings) -> None:
    """Embed every paper that lacks a vector for its current title and abstract, in the
    foreground (`paperwire serve` and `paperwire worker` do it in the background)."""
    from paperwire.leases import default_holder, run_with_lease
    from paperwire.search import pipeline
    from paperwire.search.embed import Embedder

    embedder = Embedder.from_settings(settings)
    with opened_store(settings.database_url) as store:
        total = pipeline.pending_count(store, embedder.model_id)
        with progress_bar("embed", total) as bar:
            outcome = run_with_lease(store, pipeline.JOB, default_holder(),
                                     lambda: pipeline.embed_pending(store, embedder, on_batch=bar.update))
    if not outcome.ran:
        raise Failure(
            "another process is embedding (paperwire serve or worker holds the embed lease); "
            "it embeds these papers too, or stop it and run this again"
        )
    click.echo(outcome.value.summary())


@click.command("eval")
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
    from paperwire.search.embed import Embedder

    dataset = evaluate.load(folder, split=split)
    embedder = Embedder.from_settings(settings)
    bars = StageBars("eval", unit_of=lambda stage: "query" if stage in evaluate.MODES else "paper")
    with bars, evaluate.throwaway_store(backend) as store:
        results = evaluate.evaluate(dataset, store, embedder, cache_dir=settings.cache_path,
                                    on_progress=bars.update)
    for line in evaluate.table(results):
        click.echo(line)
    click.echo(f"{dataset.name}: {len(dataset.queries)} queries ({split}), {len(dataset.documents)} papers, "
               f"{backend} store")
