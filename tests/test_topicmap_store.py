"""Topic maps kept in the store (topicmap.for_period, make_ahead; store/maps.py): a map is
made once and shared, remade exactly when its period's papers or vectors change (the
fingerprint against a brute-force digest of the period's content), and made ahead by the
maps job for the recent days, weeks and months; on both engines."""

from __future__ import annotations

import hashlib
import random
import threading
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import numpy as np
import pytest

from paperwire import periods, topicmap
from paperwire.papers import text_hash
from tests.conftest import make_paper

DAY = date(2025, 3, 4)  # a Tuesday of 2025-W10
NOW = datetime(2025, 4, 1, tzinfo=timezone.utc)


def _at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=timezone.utc)


def _paper(n: int, day: date = DAY, **fields):
    return make_paper(arxiv_id=f"2503.{n:05d}", title=f"Protein folding {n}", published_at=_at(day),
                      abstract=f"We fold proteins, case {n}.", **fields)


def _embed(store, arxiv_ids, *, seed: int = 0):
    rng = np.random.default_rng(seed)
    rows, held = store.paper_ids(arxiv_ids), store.get_papers(arxiv_ids)
    store.put_embeddings("m", [(rows[a], text_hash(held[a]), rng.standard_normal(384).astype(np.float32))
                               for a in arxiv_ids])


def _content(store, period) -> str:
    """The oracle: a digest of everything the period's map is made from, read the slow way."""
    papers = [p for p in store.iter_papers() if p.published_at and period.first <= p.published_at.date() <= period.last]
    rows = store.paper_ids(p.arxiv_id for p in papers)
    vectors = {m: store.get_embeddings(m, rows.values()) for m in store.embedding_models()}
    digest = hashlib.sha256()
    for paper in sorted(papers, key=lambda p: p.arxiv_id):
        digest.update(repr((paper.arxiv_id, paper.version, paper.title, paper.abstract, paper.authors,
                            paper.categories)).encode())
        for model in sorted(vectors):
            if rows[paper.arxiv_id] in vectors[model]:
                digest.update(model.encode() + vectors[model][rows[paper.arxiv_id]].tobytes())
    return digest.hexdigest()


def test_a_map_is_made_once_saved_and_read_back_by_another_process(store):
    store.upsert_papers([_paper(n) for n in range(1, 31)], source="test")
    period = periods.day_of(DAY)
    made = topicmap.for_period(store, period, now=NOW)
    stored = store.topic_map("day:2025-03-04")
    assert stored is not None and topicmap.from_json(stored.body) == made and made.paper_count == 30
    assert topicmap.for_period(store, period, now=NOW + timedelta(hours=1)) is made  # kept in this process
    # Another process has nothing in memory: it reads the store's map, and makes nothing.
    topicmap._cache.clear()
    assert topicmap.for_period(store, period, now=NOW + timedelta(hours=1)) == made
    assert store.topic_map("day:2025-03-04").made_at == stored.made_at


def test_the_saved_map_is_what_a_process_shows(store):
    """Another process's map (here: written straight into the table) is read, not remade."""
    store.upsert_papers([_paper(n) for n in range(1, 4)], source="test")
    period = periods.day_of(DAY)
    topicmap.for_period(store, period, now=NOW)
    stored = store.topic_map("day:2025-03-04")
    other = replace(topicmap.from_json(stored.body), basis="made elsewhere")
    store.put_topic_map("day:2025-03-04", fingerprint=stored.fingerprint, body=topicmap.to_json(other),
                        now=NOW + timedelta(minutes=1))
    assert topicmap.for_period(store, period, now=NOW).basis == "made elsewhere"


def test_json_keeps_every_field_titles_in_any_script_included():
    papers = [make_paper(arxiv_id=f"2503.{n:05d}", title=t, abstract="Words about things and stuff.")
              for n, t in enumerate(["$\\mathcal{O}(n^2)$ sorting", "Gödel, Escher — “Bach”", "<b>&amp;</b>",
                                     "日本語のタイトル", "emoji 🧬 folding"])]
    made = topicmap.build(papers, {})
    assert topicmap.from_json(topicmap.to_json(made)) == made


@pytest.mark.parametrize("seed", range(3))
def test_the_fingerprint_moves_whenever_what_a_map_is_made_of_changes(store, seed):
    """Random edits (new papers in and out of the week, new versions, moves out of the week,
    deletions, vectors) over the week of DAY: any two states with one fingerprint have one
    content (the oracle above), so a current-looking map is never stale."""
    rng = random.Random(seed)
    week = periods.week_of(DAY)
    seen: dict[str, str] = {}
    live = set()
    for step in range(40):
        action = rng.choice(["add", "add outside", "version", "move out", "delete", "embed", "nothing"])
        n = rng.randrange(1, 15)
        arxiv_id = f"2503.{n:05d}"
        if action == "add":
            store.upsert_papers([_paper(n, week.first + timedelta(days=rng.randrange(7)))], source="test")
            live.add(arxiv_id)
        elif action == "add outside":
            store.upsert_papers([_paper(100 + n, week.last + timedelta(days=1 + rng.randrange(20)))], source="test")
        elif action == "version" and arxiv_id in live:
            held = store.get_paper(arxiv_id)
            store.upsert_papers([replace(held, version=held.version + 1, title=f"{held.title}, v{held.version + 1}",
                                         updated_at=NOW + timedelta(minutes=step))], source="test")
        elif action == "move out" and arxiv_id in live:
            held = store.get_paper(arxiv_id)
            store.upsert_papers([replace(held, version=held.version + 1, published_at=_at(week.last + timedelta(days=3)),
                                         updated_at=NOW + timedelta(minutes=step))], source="test")
        elif action == "delete" and arxiv_id in live:
            store.delete_papers([arxiv_id], source="test")
            live.discard(arxiv_id)
        elif action == "embed" and arxiv_id in live:
            _embed(store, [arxiv_id], seed=step)
        fingerprint, content = store.papers_fingerprint(week.first, week.last), _content(store, week)
        assert seen.setdefault(fingerprint, content) == content, f"step {step}: {action} {arxiv_id}"


def test_make_ahead_makes_the_recent_periods_once_and_remakes_only_what_changed(store):
    days = [DAY - timedelta(days=d) for d in (0, 1, 2, 40)]  # 40 days back: another month and week
    store.upsert_papers([_paper(10 * i + n, day) for i, day in enumerate(days) for n in range(1, 4)], source="test")
    summary = topicmap.make_ahead(store, now=NOW, day_count=3)
    # the three latest days, their two weeks (Sunday 2 March ends 2025-W09) and their one month
    assert summary == "made 6 topic maps of 6 recent days, weeks and months"
    assert {p for p in ("day:2025-03-04", "day:2025-03-03", "day:2025-03-02", "week:2025-W10", "week:2025-W09",
                        "month:2025-03", "day:2025-01-23", "month:2025-01") if store.topic_map(p)} == {
        "day:2025-03-04", "day:2025-03-03", "day:2025-03-02", "week:2025-W10", "week:2025-W09", "month:2025-03"}
    assert topicmap.make_ahead(store, now=NOW, day_count=3) is None  # nothing changed: not even looked at
    made_at = {p: store.topic_map(p).made_at for p in ("day:2025-03-03", "week:2025-W10", "month:2025-03")}
    store.upsert_papers([_paper(99, DAY - timedelta(days=1))], source="test")  # Monday 3 March
    assert topicmap.make_ahead(store, now=NOW + timedelta(hours=1), day_count=3) == (
        "made 3 topic maps of 6 recent days, weeks and months")
    assert {p: store.topic_map(p).made_at > made_at[p] for p in made_at} == {p: True for p in made_at}
    assert store.topic_map("day:2025-03-02").made_at < store.topic_map("day:2025-03-03").made_at
    assert topicmap.for_period(store, periods.day_of(DAY - timedelta(days=1)), now=NOW).paper_count == 4


def test_make_ahead_stops_between_maps_and_finishes_next_time(store):
    store.upsert_papers([_paper(n, DAY - timedelta(days=n % 3)) for n in range(1, 10)], source="test")
    stop = threading.Event()
    stop.set()
    assert topicmap.make_ahead(store, now=NOW, day_count=3, stop=stop) == (
        "made 0 topic maps, stopped with 6 recent periods to look at")
    assert store.topic_map_count() == 0
    assert topicmap.make_ahead(store, now=NOW, day_count=3) == "made 6 topic maps of 6 recent days, weeks and months"


def test_an_empty_store_has_nothing_to_make(store):
    assert topicmap.make_ahead(store, now=NOW) is None
    assert topicmap.for_period(store, periods.day_of(DAY), now=NOW).paper_count == 0
