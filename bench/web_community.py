"""bench/web.py's community: 1,000 generated users with votes and comments, and the upvote phase.

`prepare()` copies web.py's cached store (papers and saved indexes) to a folder of
its own and writes into it, deterministically (seeded), 1,000 users with a personal
API token each (write scope), their upvotes and their comments with replies, all
through the store's own methods, the ones the web calls (`create_user`,
`create_api_token`, `upvote`, `add_comment` with `discussion.check_comment` and
`discussion.render`). The shape of the votes: a few thousand papers, chosen with the
corpus's recent days more likely, ranked by a Zipf law so that a few hundred get most
of the votes; each vote dated within the last month before generation, recent days
more often, so /trending's day, week and month windows all have something to rank.

Trending reads the wall clock, so the folder's name carries the day it was generated
on and a new day makes a new one (older ones of the same corpus are removed).

`upvote_phase()` is the write load: N clients, each acting for its own 1/N of the
users by their API tokens, vote and unvote papers through `POST`/`DELETE
/api/v1/papers/{id}/upvote` as fast as the server answers. Every (user, paper) pair
belongs to one client, so the client knows what the store must hold for it after
each acknowledged answer; after the phase the store's counts are checked against
that (the oracle), then the phase's votes are taken back so the cache stays as
generated.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import math
import random
import shutil
import sqlite3
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import httpx

from paperwire import accounts, discussion
from paperwire.store import open_store

COMMUNITY_VERSION = 1  # bump when the generation below changes: a new cache key
USER_COUNT = 1000
VOTED_PAPER_COUNT = 3000  # papers with at least a chance of a vote
ZIPF_EXPONENT = 1.1  # rank r gets weight 1 / r**s: the top 10% of papers get ~70% of votes
VOTES_PER_USER_MEAN = 30
VOTES_PER_USER_MAX = 300
RECENT_PAPER_DAYS = 20  # a paper this many corpus days older than the newest is e times less likely
VOTE_AGE_MEAN_DAYS = 5.0  # how long ago a vote was cast: exponential, cut at VOTE_SPAN_DAYS
VOTE_SPAN_DAYS = 30
COMMENTED_PAPER_COUNT = 2000
COMMENTS_PER_PAPER_MEAN = 2.5
POPULAR_RANKS = 300  # the papers with most votes get four times the comments
REPLY_CHANCE = 0.4  # a top-level comment has replies with this chance, 1 to 3 of them
BENCH_PASSWORD = "bench-password-not-secret"
PHASE_PAPER_COUNT = 200  # the papers the upvote phase votes on: the most voted ones
SEED = 11
WORDS = ("model", "attention", "baseline", "ablation", "dataset", "benchmark", "training", "loss",
         "transformer", "results", "figure", "table", "scaling", "tokens", "latency", "proof", "lemma",
         "sample", "variance", "prior", "code", "reproduce", "appendix", "claim", "method", "robust")


@dataclass(frozen=True)
class Community:
    folder: Path
    counts: dict[str, int]
    phase_papers: list[str]  # the PHASE_PAPER_COUNT most popular papers: where votes contend


def api_token(n: int) -> str:
    """User n's API token: derived from the seed, so nothing secret needs caching (a bench store)."""
    return accounts.API_TOKEN_PREFIX + hashlib.sha256(f"paperwire-bench-{SEED}-{n}".encode()).hexdigest()


def username(n: int) -> str:
    return f"reader{n:04d}"


def prepare(base: Path, *, now: datetime) -> Community:
    """The folder with `base`'s store and indexes plus the community, generated once a day."""
    stem = f"web-community{COMMUNITY_VERSION}-{base.name.removeprefix('web-')}"
    folder = base.parent / f"{stem}-{now:%Y%m%d}"
    marker = folder / "community.json"
    if marker.exists():
        return Community(folder, **json.loads(marker.read_text()))
    for old in base.parent.glob(f"{stem}-*"):
        shutil.rmtree(old)
    folder.mkdir(parents=True)
    _copy_store(base, folder)
    started = time.perf_counter()
    store = open_store(f"sqlite:///{folder}/paperwire.db")
    try:
        counts, popular = _generate(store, random.Random(SEED), now=now)
    finally:
        store.close()
    counts["generated_s"] = round(time.perf_counter() - started, 1)
    community = {"counts": counts, "phase_papers": popular[:PHASE_PAPER_COUNT]}
    marker.write_text(json.dumps(community) + "\n")  # last: an interrupted generation is redone
    return Community(folder, **community)


def _copy_store(base: Path, folder: Path) -> None:
    """SQLite's online backup (a consistent copy whatever the WAL holds) and the saved indexes."""
    source, target = sqlite3.connect(base / "paperwire.db"), sqlite3.connect(folder / "paperwire.db")
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
    if (base / "cache").exists():
        shutil.copytree(base / "cache", folder / "cache")


def _generate(store, rng: random.Random, *, now: datetime) -> tuple[dict[str, int], list[str]]:
    """The users, votes and comments; their counts, and the voted papers, most popular first."""
    print(f"generating {USER_COUNT} users' votes and comments ...", file=sys.stderr)
    papers = _voted_papers(store, rng)
    cum_weights = list(itertools.accumulate(1 / (rank + 1) ** ZIPF_EXPONENT for rank in range(len(papers))))
    password_hash = accounts.hash_password(BENCH_PASSWORD)  # one Argon2 hash: 1,000 would take minutes
    users = []
    for n in range(USER_COUNT):
        user = store.create_user(username=username(n), email=f"{username(n)}@bench.invalid",
                                 password_hash=password_hash, now=now - timedelta(days=VOTE_SPAN_DAYS + 1))
        store.create_api_token(user.id, name="bench", token_hash=accounts.token_hash(api_token(n)),
                               scopes="write", now=now)
        users.append(user)
    upvotes = 0
    for user in users:
        count = min(VOTES_PER_USER_MAX, max(1, round(rng.expovariate(1 / VOTES_PER_USER_MEAN))))
        for arxiv_id in _distinct(rng, papers, cum_weights, count):
            upvotes += store.upvote(user.id, arxiv_id, now=_vote_time(rng, now))
    comments, replies = _comments(store, rng, users, papers, now=now)
    counts = {"users": len(users), "api_tokens": len(users), "upvotes": upvotes,
              "upvoted_papers": len(store.upvote_counts(papers)), "comments": comments, "replies": replies,
              "commented_papers": len(store.comment_counts(papers))}
    return counts, papers


def _voted_papers(store, rng: random.Random) -> list[str]:
    """VOTED_PAPER_COUNT paper ids in order of popularity: drawn without replacement with
    weight exp(-age / RECENT_PAPER_DAYS) by publication day (Efraimidis and Spirakis 2006:
    the largest u ** (1 / w) keys are a weighted sample)."""
    dated = [(p.arxiv_id, p.published_at) for p in store.iter_papers() if p.published_at is not None]
    newest = max(at for _, at in dated)
    keyed = []
    for arxiv_id, at in dated:
        weight = math.exp(-(newest - at).total_seconds() / 86400 / RECENT_PAPER_DAYS)
        keyed.append((rng.random() ** (1 / max(weight, 1e-300)), arxiv_id))
    keyed.sort(reverse=True)
    return [arxiv_id for _, arxiv_id in keyed[:VOTED_PAPER_COUNT]]


def _distinct(rng: random.Random, population: list[str], cum_weights: list[float], count: int) -> list[str]:
    chosen: set[str] = set()
    for _ in range(count * 4):  # popular papers come up again and again; enough tries to fill `count`
        chosen.add(rng.choices(population, cum_weights=cum_weights)[0])
        if len(chosen) == count:
            break
    return sorted(chosen)


def _vote_time(rng: random.Random, now: datetime) -> datetime:
    age_days = min(rng.expovariate(1 / VOTE_AGE_MEAN_DAYS), VOTE_SPAN_DAYS)
    return now - timedelta(days=age_days)


def _comments(store, rng: random.Random, users: list, papers: list[str], *, now: datetime) -> tuple[int, int]:
    """Comments on COMMENTED_PAPER_COUNT of `papers` (most popular first); the popular
    ones are discussed more."""
    comments = replies = 0
    for rank in sorted(rng.sample(range(len(papers)), COMMENTED_PAPER_COUNT)):
        arxiv_id, mean = papers[rank], COMMENTS_PER_PAPER_MEAN * (1 + 3 * (rank < POPULAR_RANKS))
        for _ in range(max(1, round(rng.expovariate(1 / mean)))):
            at = _vote_time(rng, now)
            top = _comment(store, rng, arxiv_id, rng.choice(users), at=at)
            comments += 1
            if rng.random() < REPLY_CHANCE:
                for k in range(rng.randint(1, 3)):
                    _comment(store, rng, arxiv_id, rng.choice(users), at=at + timedelta(hours=k + 1),
                             parent_id=top.id)
                    replies += 1
    return comments, replies


def _comment(store, rng: random.Random, arxiv_id: str, user, *, at: datetime, parent_id: int | None = None):
    """One comment in Markdown, checked and rendered as web/comments.add does."""
    sentences = [" ".join(rng.choices(WORDS, k=rng.randint(6, 14))).capitalize() + "." for _ in range(rng.randint(1, 4))]
    if rng.random() < 0.3:
        sentences.append(f"See `{rng.choice(WORDS)}` in *section {rng.randint(2, 6)}*.")
    if rng.random() < 0.1:
        sentences.append(f"[code](https://github.com/example/{rng.choice(WORDS)})")
    body = discussion.check_comment(" ".join(sentences))
    return store.add_comment(arxiv_id, user.id, body=body, body_html=discussion.render(body),
                             render_version=discussion.RENDER_VERSION, now=at, parent_id=parent_id)


# --- the upvote phase ------------------------------------------------------------------------

def upvote_phase(base_url: str, community: Community, *, clients: int, seconds: float, warm_up_seconds: float,
                 timeout_seconds: float) -> dict:
    """Run the vote/unvote load, check the store against what the clients saw, take the votes back."""
    folder, papers = community.folder, community.phase_papers
    store = open_store(f"sqlite:///{folder}/paperwire.db")
    try:
        users = [store.user_by_name(username(n)) for n in range(USER_COUNT)]
        # Each user votes only on phase papers they had not voted for, so taking the phase's
        # votes back afterwards restores the generated community exactly (votes keep their dates).
        free = {}
        for user in users:
            voted = store.upvoted_by(user.id, papers)
            free[user.id] = [a for a in papers if a not in voted]
        counts_before = store.upvote_counts(papers)
    finally:
        store.close()
    tokens = {u.id: api_token(n) for n, u in enumerate(users)}
    result = asyncio.run(_vote_load(base_url, users, free, tokens, clients=clients, seconds=seconds,
                                    warm_up_seconds=warm_up_seconds, timeout_seconds=timeout_seconds))
    result["oracle"] = _check_and_restore(folder, papers, counts_before, result.pop("state"), result.pop("unsure"))
    return result


async def _vote_load(base_url, users, free, tokens, *, clients, seconds, warm_up_seconds, timeout_seconds) -> dict:
    state: dict[tuple[int, str], bool] = {}  # (user id, paper) -> upvoted, as the acknowledged answers say
    unsure: set[tuple[int, str]] = set()  # a request that failed: the store may hold either
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=timeout_seconds) as client:
        async def one_client(mine: list, rng: random.Random, deadline: float, record: bool) -> None:
            mine, turn = [u for u in mine if free[u.id]], 0  # a user who voted for all 200 has none to vote on
            while mine and time.monotonic() < deadline:
                user = mine[turn % len(mine)]
                turn += 1
                arxiv_id = rng.choice(free[user.id])
                pair = (user.id, arxiv_id)
                method = "DELETE" if state.get(pair) else "POST"
                started = time.perf_counter()
                try:
                    answer = await client.request(method, f"/api/v1/papers/{arxiv_id}/upvote",
                                                  headers={"Authorization": f"Bearer {tokens[user.id]}"})
                    status = answer.status_code
                except httpx.HTTPError:
                    status = 0
                if 200 <= status < 300:
                    state[pair] = method == "POST"
                elif status in (0, 500, 502, 503):
                    unsure.add(pair)
                if record:
                    latencies.append(time.perf_counter() - started)
                    statuses[status] = statuses.get(status, 0) + 1

        shares = [users[c::clients] for c in range(clients)]
        rngs = [random.Random(SEED * 1000 + c) for c in range(clients)]
        await asyncio.gather(*(one_client(shares[c], rngs[c], time.monotonic() + warm_up_seconds, False)
                               for c in range(clients)))
        started = time.monotonic()
        await asyncio.gather(*(one_client(shares[c], rngs[c], started + seconds, True) for c in range(clients)))
        elapsed = time.monotonic() - started
    return {"latencies": latencies, "statuses": statuses, "elapsed_s": elapsed, "state": state, "unsure": unsure}


def _check_and_restore(folder: Path, papers: list[str], counts_before: dict[str, int],
                       state: dict[tuple[int, str], bool], unsure: set) -> dict:
    """Compare each paper's count and each pair with what the acknowledged answers imply,
    then unvote every pair the phase voted for."""
    expected = dict(counts_before)
    for (user_id, arxiv_id), is_upvoted in state.items():
        if is_upvoted and (user_id, arxiv_id) not in unsure:
            expected[arxiv_id] = expected.get(arxiv_id, 0) + 1
    uncertain_papers = {a for _, a in unsure}
    store = open_store(f"sqlite:///{folder}/paperwire.db")
    try:
        found = store.upvote_counts(papers)
        count_mismatches = [a for a in papers if a not in uncertain_papers and found.get(a, 0) != expected.get(a, 0)]
        pair_mismatches = sum(
            1 for (user_id, arxiv_id), is_upvoted in state.items() if (user_id, arxiv_id) not in unsure
            and (arxiv_id in store.upvoted_by(user_id, [arxiv_id])) != is_upvoted)
        for user_id, arxiv_id in set(state) | unsure:
            store.unvote(user_id, arxiv_id)
        restored = store.upvote_counts(papers) == counts_before
    finally:
        store.close()
    return {"papers_checked": len(papers) - len(uncertain_papers), "count_mismatches": len(count_mismatches),
            "pairs_checked": len(set(state) - unsure), "pair_mismatches": pair_mismatches,
            "unsure_pairs": len(unsure), "restored": restored,
            "is_exact": not count_mismatches and not pair_mismatches}
