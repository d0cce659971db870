"""paperwire search, index rebuild, index embed and eval, through click's CliRunner on a real store."""

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from paperwire.cli import cli
from paperwire.store import open_store
from tests.conftest import paper_of
from tests.search.conftest import PAPERS

BEIR = Path(__file__).parent.parent / "data" / "beir"


@pytest.fixture
def run(cache_settings, sqlite_url):
    """Run a paperwire command on the ten search papers, caching under the test's folder."""
    store = open_store(sqlite_url)
    store.upsert_papers([paper_of(p) for p in PAPERS], source="test")
    store.close()
    runner = CliRunner(env={"PAPERWIRE_CACHE_DIR": cache_settings.model_cache_dir, "PAPERWIRE_EMBED_THREADS": "1"})

    def invoke(*args):
        result = runner.invoke(cli, ["--database-url", sqlite_url, *args])
        assert result.exit_code == 0, result.output
        return result

    return invoke


def test_search_prints_ranked_papers_and_why(run):
    result = run("search", "attention", "--mode", "lexical", "--limit", "2")
    lines = result.stdout.splitlines()
    assert lines[0].split()[:2] == ["1.", "2501.00006"] and "Graph attention networks" in lines[0]
    assert lines[1].split() == ["2017-10-30", "keywords:", "attention"]
    assert lines[2].split()[:2] == ["2.", "2501.00001"]
    assert lines[-1] == "2 of 4 results (lexical, relevance)"


def test_search_as_json_and_before_any_vector(run):
    result = run("search", "diffusion year:soon", "--json")
    data = json.loads(result.stdout)
    assert data["ok"] and data["ignored"] == ["year:soon"] and data["is_semantic_ready"] is False
    assert [h["paper"]["arxiv_id"] for h in data["hits"]] == ["2501.00004"]
    assert data["hits"][0]["matched_words"] == ["diffusion"]


@pytest.mark.slow  # 1.5-2 s: embeds the ten papers and searches through the CLI
def test_index_rebuild_then_embed_then_search_by_meaning(run, cache_settings):
    assert run("index", "rebuild").stdout.strip() == "indexed 10 papers, 0 with vectors"
    assert list((Path(cache_settings.model_cache_dir) / "indexes").glob("*/keywords/meta.json"))  # the tantivy index, committed
    assert run("index", "embed").stdout.startswith("10 papers embedded (")
    assert run("index", "embed").stdout.startswith("0 papers embedded (")
    assert run("index", "rebuild").stdout.strip() == "indexed 10 papers, 10 with vectors"
    result = run("search", "generating pictures by reversing a noising process", "--mode", "semantic", "--limit", "1")
    assert result.stdout.splitlines()[0].split()[:2] == ["1.", "2501.00004"]


def test_index_embed_waits_for_no_one_while_another_process_embeds(run, sqlite_url, cache_settings):
    store = open_store(sqlite_url)
    store.acquire_lease("embed", "worker:elsewhere", ttl_seconds=600, now=datetime.now(timezone.utc))
    store.close()
    result = CliRunner(env={"PAPERWIRE_CACHE_DIR": cache_settings.model_cache_dir}).invoke(
        cli, ["--database-url", sqlite_url, "index", "embed"])
    assert result.exit_code == 1 and "another process is embedding" in result.output


def test_eval_prints_a_table_of_every_method(run):
    result = run("eval", str(BEIR), "--split", "test")
    lines = result.stdout.splitlines()
    assert lines[0].split()[:4] == ["method", "nDCG@10", "R@100", "MRR@10"]
    assert {line.split()[0] for line in lines[1:4]} == {"hybrid", "lexical", "semantic"}
    assert lines[-1] == "beir: 3 queries (test), 6 papers, sqlite store"


def test_eval_of_a_folder_that_is_not_beir_is_a_clean_error(tmp_path):
    result = CliRunner().invoke(cli, ["eval", str(tmp_path)])
    assert result.exit_code == 1 and "corpus.jsonl is missing" in result.output
