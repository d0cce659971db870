"""build(): skip reasons as values, no paper twice, kinds taking turns, and the entry's text."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from paperwire.digest import REASONS, Candidate, Digest, Skip, Subscriber, Subscription, build
from paperwire.digest.content import ABSTRACT_CHARS, short_abstract, short_authors
from paperwire.papers import Author
from tests.conftest import make_paper

NOW = datetime(2026, 12, 2, 12, tzinfo=timezone.utc)
BASE_URL = "https://paperwire.example.org/"
CONFIRMED = Subscriber(1, "reader@example.org", confirmed_at=NOW - timedelta(days=3))


def _subscription(**overrides) -> Subscription:
    return Subscription(1, created_at=NOW - timedelta(days=3), **overrides)


def _paper(n: int, **overrides):
    return make_paper(arxiv_id=f"2612.{n:05d}", title=f"Paper {n}", **overrides)


def _build(subscriber=CONFIRMED, subscription=None, *, candidates=(), received=(), sent_periods=(),
           period="2026-12-02"):
    return build(subscriber, subscription or _subscription(), period=period, candidates=candidates,
                 received=received, sent_periods=sent_periods, base_url=BASE_URL)


TRENDING = [Candidate(_paper(n), "trending") for n in range(1, 4)]


@pytest.mark.parametrize("subscriber, kwargs, reason", [
    (Subscriber(1, "r@example.org"), {}, "not-confirmed"),
    (Subscriber(1, "r@example.org", unsubscribed_at=NOW), {}, "unsubscribed"),
    (Subscriber(1, "r@example.org", confirmed_at=NOW, unsubscribed_at=NOW), {}, "unsubscribed"),
    (CONFIRMED, {"sent_periods": {"2026-12-01", "2026-12-02"}}, "already-sent"),
    (CONFIRMED, {"received": {c.paper.arxiv_id for c in TRENDING}}, "nothing-new"),
    (CONFIRMED, {"candidates": []}, "nothing-new"),
    (CONFIRMED, {"subscription": _subscription(includes=frozenset({"saved-search"}))}, "nothing-new"),
])
def test_no_digest_is_a_skip_with_its_reason(subscriber, kwargs, reason):
    kwargs = {"candidates": TRENDING, **kwargs}
    assert _build(subscriber, **kwargs) == Skip(reason)


def test_an_unsubscribed_subscriber_is_skipped_even_with_papers_and_an_old_period():
    gone = Subscriber(1, "r@example.org", confirmed_at=NOW, unsubscribed_at=NOW)
    assert _build(gone, candidates=TRENDING, sent_periods={"2026-12-02"}) == Skip("unsubscribed")


def test_a_digest_lists_new_papers_with_links_and_why():
    paper = _paper(7, authors=tuple(Author(name) for name in ("Ada", "Alan", "Grace", "Edsger")),
                   code_url="https://github.com/example/seven")
    digest = _build(candidates=[Candidate(paper, "saved-search", "attention cat:cs.CL"),
                                Candidate(paper, "trending", "42 upvotes"),
                                Candidate(paper, "trending", "42 upvotes")])
    assert isinstance(digest, Digest) and digest.period == "2026-12-02" and digest.subscriber_id == 1
    [entry] = digest.entries
    assert entry.title == "Paper 7" and entry.authors == "Ada, Alan, Grace et al."
    assert entry.why == ("Matches your saved search “attention cat:cs.CL”", "Trending: 42 upvotes")
    assert entry.paper_url == "https://paperwire.example.org/paper/2612.00007"
    assert (entry.arxiv_url, entry.pdf_url) == ("https://arxiv.org/abs/2612.00007", "https://arxiv.org/pdf/2612.00007")
    assert entry.code_url == "https://github.com/example/seven"


def test_an_old_style_id_keeps_its_slash_in_the_paper_link():
    digest = _build(candidates=[Candidate(make_paper(arxiv_id="hep-th/9901001"), "trending")])
    assert digest.entries[0].paper_url == "https://paperwire.example.org/paper/hep-th/9901001"


def test_a_saved_search_match_is_not_crowded_out_by_many_trending_papers():
    trending = [Candidate(_paper(n), "trending") for n in range(1, 30)]
    match = Candidate(_paper(100), "saved-search", "graph neural networks")
    follow_up = Candidate(_paper(200), "follow-up", "Paper 5")
    digest = _build(CONFIRMED, _subscription(paper_count=4),
                    candidates=[*trending, match, follow_up])
    assert digest.arxiv_ids == ("2612.00100", "2612.00200", "2612.00001", "2612.00002")


def test_only_included_kinds_are_picked():
    candidates = [Candidate(_paper(1), "trending"), Candidate(_paper(2), "for-you", "Paper 9")]
    digest = _build(subscription=_subscription(includes=frozenset({"for-you"})), candidates=candidates)
    assert digest.arxiv_ids == ("2612.00002",)
    assert digest.entries[0].why == ("Recommended for you, like “Paper 9”",)


def _oracle(candidates, received, includes, limit):
    """Brute force: the set of new, included papers; a digest must take min(limit, all) of them."""
    eligible = {c.paper.arxiv_id for c in candidates if c.reason in includes and c.paper.arxiv_id not in received}
    return eligible, min(limit, len(eligible))


@pytest.mark.parametrize("seed", range(40))
def test_random_inputs_never_repeat_a_paper_and_fill_up_to_the_limit(seed):
    rng = random.Random(seed)
    papers = [_paper(n) for n in range(rng.randint(0, 30))]
    draws = rng.randint(0, 60) if papers else 0
    candidates = [Candidate(rng.choice(papers), rng.choice(REASONS)) for _ in range(draws)]
    received = {p.arxiv_id for p in papers if rng.random() < 0.4}
    includes = frozenset(r for r in REASONS if rng.random() < 0.7) or frozenset({"trending"})
    limit = rng.randint(1, 12)
    subscription = _subscription(paper_count=limit, includes=includes)
    result = _build(subscription=subscription, candidates=candidates, received=received)

    eligible, expected_count = _oracle(candidates, received, includes, limit)
    if expected_count == 0:
        assert result == Skip("nothing-new")
        return
    ids = result.arxiv_ids
    assert len(ids) == len(set(ids)) == expected_count
    assert set(ids) <= eligible and not set(ids) & received


def test_two_periods_in_a_row_share_no_paper():
    """What the outbox will do across periods: papers sent in one become `received` for the next."""
    received: set[str] = set()
    periods = ["2026-12-01", "2026-12-02", "2026-12-03"]
    pool = [Candidate(_paper(n), "trending") for n in range(1, 26)]
    sent = []
    for period in periods:
        digest = _build(subscription=_subscription(paper_count=10), candidates=pool, received=received,
                        period=period, sent_periods={p for p, _ in sent})
        if isinstance(digest, Skip):
            sent.append((period, ()))
            continue
        sent.append((period, digest.arxiv_ids))
        received |= set(digest.arxiv_ids)
    counts = [len(ids) for _, ids in sent]
    assert counts == [10, 10, 5]
    all_ids = [i for _, ids in sent for i in ids]
    assert len(all_ids) == len(set(all_ids)) == 25
    assert _build(candidates=pool, received=received, period="2026-12-04") == Skip("nothing-new")


@pytest.mark.parametrize("names, expected", [
    ([], ""),
    (["Ada Lovelace"], "Ada Lovelace"),
    (["A", "B"], "A, B"),
    (["A", "B", "C"], "A, B, C"),
    (["A", "B", "C", "D"], "A, B, C et al."),
    (["Paul Erd\\H{o}s", "B", "C", "D", "E"], "Paul Erdős, B, C et al."),
])
def test_short_authors(names, expected):
    assert short_authors(names) == expected


def test_short_abstract_keeps_a_short_one_whole_and_cuts_a_long_one_at_a_word():
    assert short_abstract("We study   things\n across lines.") == "We study things across lines."
    long = " ".join(f"word{n}" for n in range(200))
    cut = short_abstract(long)
    assert cut.endswith("…") and len(cut) <= ABSTRACT_CHARS + 1
    assert long.startswith(cut[:-1]) and long[len(cut) - 1] == " "


def test_a_candidate_with_an_unknown_reason_is_refused():
    with pytest.raises(ValueError, match="reason 'popular' is not one of"):
        Candidate(_paper(1), "popular")
