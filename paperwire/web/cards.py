"""What a paper's card shows of the paper alone, rendered once per text and kept.

A day, week or month page renders 50 cards; their title and abstract as MathML
(web/math.py), their author links and the folded abstract cost about 1 ms a card
(a profile of the day page at 75k papers: 40% of its time in math.to_html alone),
and readers ask for the same papers again and again. This module keeps those three
fragments per paper in a bounded LRU keyed by the arXiv id and a hash of the text
they are made from, so an edited paper (a new version, a corrected abstract) is
rendered again on its next view. The parts of a card that depend on the reader or
the page (upvote and save forms, the category links, counts) stay in _paper.html.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Generic, Hashable, TypeVar

import jinja2
from markupsafe import Markup

from paperwire.papers import Paper

CARD_TEXTS_KEPT_CHARS = 32 * 1024 * 1024  # ~32 MB of fragments: some 10,000 papers' cards
_Value = TypeVar("_Value")


class SizedLRU(Generic[_Value]):
    """A thread-safe LRU that keeps values up to `max_size` in all, each sized by `size_of`
    (a value larger than the whole limit is not kept); the least recently used go first."""

    def __init__(self, max_size: int, size_of: Callable[[_Value], int]):
        self.max_size, self._size_of = max_size, size_of
        self._items: OrderedDict[Hashable, tuple[_Value, int]] = OrderedDict()
        self._lock = threading.Lock()
        self.size = 0

    def get(self, key: Hashable) -> _Value | None:
        with self._lock:
            found = self._items.get(key)
            if found is None:
                return None
            self._items.move_to_end(key)
            return found[0]

    def put(self, key: Hashable, value: _Value) -> None:
        size = self._size_of(value)
        if size > self.max_size:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self.size -= old[1]
            self._items[key] = (value, size)
            self.size += size
            while self.size > self.max_size:
                _, (_, dropped) = self._items.popitem(last=False)
                self.size -= dropped

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.size = 0

    def __len__(self) -> int:
        return len(self._items)


@dataclass(frozen=True)
class CardText:
    """A paper's title (MathML), author links and abstract block, as _paper.html renders them."""

    title: Markup
    authors: Markup
    abstract: Markup

    def size(self) -> int:
        return len(self.title) + len(self.authors) + len(self.abstract)


_kept: SizedLRU[CardText] = SizedLRU(CARD_TEXTS_KEPT_CHARS, CardText.size)


def text_hash(paper: Paper) -> bytes:
    """A digest of everything a CardText is made from: another text gives another key."""
    parts = [paper.title, paper.abstract or "", *(author.name for author in paper.authors)]
    return hashlib.blake2b("\x00".join(parts).encode("utf-8", "surrogatepass"), digest_size=16).digest()


def card_text(env: jinja2.Environment, paper: Paper) -> CardText:
    """The paper's CardText, from the kept ones when its text has not changed."""
    key = (paper.arxiv_id, text_hash(paper))
    found = _kept.get(key)
    if found is None:
        found = render(env, paper)
        _kept.put(key, found)
    return found


def render(env: jinja2.Environment, paper: Paper) -> CardText:
    """The paper's CardText rendered afresh by the macros of _card_text.html."""
    macros = env.get_template("_card_text.html").module
    return CardText(title=Markup(macros.title(paper)), authors=Markup(macros.authors_line(paper)),
                    abstract=Markup(macros.abstract(paper)))
