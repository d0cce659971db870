"""What one digest says: `build()` turns candidate papers into entries or a skip reason, pure.

The caller gathers candidates (trending papers, saved-search matches, "for you"
recommendations, follow-ups on saved papers), each with the reason it was
found, plus the papers this subscriber already received and the periods already
sent. `build` decides, without I/O, whether a digest goes out and what is in it:
never a paper the subscriber already received, never an empty mail. Rendering
it as mail belongs to mail.py; recording what was sent, to the outbox.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Collection, Iterable
from urllib.parse import quote

from paperwire.digest.subscribers import REASONS, Subscriber, Subscription
from paperwire.papers import Paper, display_text

SKIP_REASONS = ("unsubscribed", "not-confirmed", "already-sent", "nothing-new")
AUTHORS_SHOWN = 3
# About three lines in a mail client: enough to judge a paper, short enough that
# ten of them fit a phone screen or two.
ABSTRACT_CHARS = 320
_WHY = {
    "saved-search": ("Matches a saved search", "Matches your saved search “{}”"),
    "follow-up": ("News of a paper you saved", "News of a paper you saved: {}"),
    "for-you": ("Recommended for you", "Recommended for you, like “{}”"),
    "trending": ("Trending", "Trending: {}"),
}


@dataclass(frozen=True)
class Candidate:
    """A paper that may go in a digest, and why. `detail` names what it matched
    (the saved search's query, the saved paper's title, "42 upvotes")."""

    paper: Paper
    reason: str
    detail: str = ""

    def __post_init__(self):
        if self.reason not in REASONS:
            raise ValueError(f"reason {self.reason!r} is not one of {', '.join(REASONS)}")


@dataclass(frozen=True)
class Entry:
    """One paper as a digest shows it; every string is plain text, escaped by the HTML template."""

    arxiv_id: str
    title: str
    authors: str
    abstract: str
    why: tuple[str, ...]
    paper_url: str
    arxiv_url: str
    pdf_url: str
    code_url: str | None


@dataclass(frozen=True)
class Digest:
    subscriber_id: int
    period: str
    entries: tuple[Entry, ...]

    @property
    def arxiv_ids(self) -> tuple[str, ...]:
        return tuple(entry.arxiv_id for entry in self.entries)


@dataclass(frozen=True)
class Skip:
    """Why no digest goes out: one of SKIP_REASONS, recorded by the outbox instead of a mail."""

    reason: str


def build(subscriber: Subscriber, subscription: Subscription, *, period: str,
          candidates: Iterable[Candidate], received: Collection[str], sent_periods: Collection[str],
          base_url: str) -> Digest | Skip:
    """The digest for `subscriber` in `period`, or a Skip saying why there is none.

    `received` holds the arXiv ids the subscriber was already sent (none repeats);
    `sent_periods` the periods already sent to them. At most
    `subscription.paper_count` papers, the included kinds taking turns (REASONS order).
    """
    if subscriber.is_unsubscribed:
        return Skip("unsubscribed")
    if not subscriber.is_confirmed:
        return Skip("not-confirmed")
    if period in sent_periods:
        return Skip("already-sent")
    picked = pick(candidates, includes=subscription.includes, received=received, limit=subscription.paper_count)
    if not picked:
        return Skip("nothing-new")
    entries = tuple(entry(paper, why, base_url=base_url) for paper, why in picked)
    return Digest(subscriber.id, period, entries)


def pick(candidates: Iterable[Candidate], *, includes: Collection[str], received: Collection[str],
         limit: int) -> list[tuple[Paper, tuple[str, ...]]]:
    """Up to `limit` new papers with every reason each was found for, the kinds taking
    turns so that trending papers cannot crowd out a saved search's one match."""
    queues: dict[str, dict[str, Paper]] = {reason: {} for reason in REASONS if reason in includes}
    why: dict[str, list[str]] = {}
    for candidate in candidates:
        arxiv_id = candidate.paper.arxiv_id
        if candidate.reason not in queues or arxiv_id in received:
            continue
        queues[candidate.reason].setdefault(arxiv_id, candidate.paper)
        reasons = why.setdefault(arxiv_id, [])
        label = why_label(candidate)
        if label not in reasons:
            reasons.append(label)
    taken = _take_turns([list(queue.values()) for queue in queues.values()], limit)
    return [(paper, tuple(why[paper.arxiv_id])) for paper in taken]


def why_label(candidate: Candidate) -> str:
    """The line under a paper saying why it is there."""
    plain, detailed = _WHY[candidate.reason]
    detail = display_text(candidate.detail)
    return detailed.format(detail) if detail else plain


# One run builds thousands of digests from a few hundred papers (the day's trending list,
# saved searches that many readers share), and display_text's LaTeX clean-up dominated
# building (bench/digest.py); an entry depends on nothing but its arguments.
@functools.lru_cache(maxsize=4096)
def entry(paper: Paper, why: tuple[str, ...], *, base_url: str) -> Entry:
    return Entry(
        arxiv_id=paper.arxiv_id,
        title=display_text(paper.title),
        authors=short_authors([author.name for author in paper.authors]),
        abstract=short_abstract(paper.abstract),
        why=why,
        paper_url=f"{base_url.rstrip('/')}/paper/{quote(paper.arxiv_id, safe='/')}",
        arxiv_url=paper.abs_url,
        pdf_url=paper.pdf_url,
        code_url=paper.code_url,
    )


def short_authors(names: list[str]) -> str:
    """"A, B, C et al." past AUTHORS_SHOWN names; all of them otherwise."""
    shown = ", ".join(display_text(name) for name in names[:AUTHORS_SHOWN])
    return f"{shown} et al." if len(names) > AUTHORS_SHOWN else shown


def short_abstract(abstract: str) -> str:
    """The abstract's first ABSTRACT_CHARS characters, cut at a word, with an ellipsis if cut."""
    text = display_text(abstract)
    if len(text) <= ABSTRACT_CHARS:
        return text
    cut = text[:ABSTRACT_CHARS]
    cut = cut[:cut.rfind(" ")] if " " in cut else cut
    return cut.rstrip(" ,;:.–-") + "…"


def _take_turns(queues: list[list[Paper]], limit: int) -> list[Paper]:
    """Round robin over the queues, each paper once (it may wait in several queues)."""
    pending = [list(queue) for queue in queues]
    taken: list[Paper] = []
    seen: set[str] = set()
    while pending and len(taken) < limit:
        for queue in pending:
            while queue and queue[0].arxiv_id in seen:
                queue.pop(0)
            if queue and len(taken) < limit:
                paper = queue.pop(0)
                taken.append(paper)
                seen.add(paper.arxiv_id)
        pending = [queue for queue in pending if queue]
    return taken
