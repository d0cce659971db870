"""Spelling suggestions ("did you mean") from the keyword index's own vocabulary.

Owns edit distances (pure, vectorised over a whole vocabulary) and picking the
best correction of one word. Which words of a query need one, and the
vocabulary itself, are the keyword index's (`KeywordIndex.suggest`).

A typed word is compared with every indexed word of similar length, as
written and as its stem (so "modle" finds "model" whichever form was seen
first), by Levenshtein distance (insert, delete, substitute: Levenshtein
1966); of the words within MAX_DISTANCE, the one found in most papers wins,
a word two edits away needing DISTANCE_2_PENALTY times the papers of one a
single edit away, since most typos are one edit (Damerau 1964: over 80 %).
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

MAX_DISTANCE = 2
DISTANCE_2_PENALTY = 10  # a word two edits away must be in this many times more papers
MIN_WORD_CHARS = 4  # shorter words have too many neighbours to guess from


def distances(word: str, candidates: list[str]) -> np.ndarray:
    """Levenshtein distance from `word` to each of `candidates` (int array)."""
    if not candidates:
        return np.zeros(0, dtype=np.int32)
    width = max(max(map(len, candidates)), 1)
    # One row of code points per candidate, padded with NUL, which no word contains.
    codes = np.array(candidates, dtype=f"<U{width}").view(np.int32).reshape(len(candidates), width)
    lengths = np.fromiter(map(len, candidates), dtype=np.int64, count=len(candidates))
    previous = np.tile(np.arange(width + 1, dtype=np.int32), (len(candidates), 1))
    for i, ch in enumerate(word, start=1):
        current = np.empty_like(previous)
        current[:, 0] = i
        differs = (codes != ord(ch)).astype(np.int32)
        for j in range(1, width + 1):
            current[:, j] = np.minimum(
                np.minimum(previous[:, j], current[:, j - 1]) + 1, previous[:, j - 1] + differs[:, j - 1]
            )
        previous = current
    return previous[np.arange(len(candidates)), lengths]


def best_correction(word: str, surfaces: list[str], stems: list[str], stem: str,
                    paper_counts: np.ndarray) -> str | None:
    """The surface word that `word` most likely meant, or None when no indexed word
    is close enough. `surfaces[i]` is how term i was written, `stems[i]` the term,
    `stem` the typed word's own stem, `paper_counts[i]` the papers that have term i."""
    if len(word) < MIN_WORD_CHARS or not surfaces:
        return None
    distance = np.minimum(distances(word, surfaces), distances(stem, stems))
    close = np.flatnonzero((distance <= MAX_DISTANCE) & (distance > 0) & (paper_counts > 0))
    if len(close) == 0:
        return None
    weight = paper_counts[close] / np.where(distance[close] == 2, DISTANCE_2_PENALTY, 1)
    order = np.lexsort((close, -weight))  # ties: the term seen first
    return surfaces[close[order[0]]]


class Vocabulary:
    """Each stem the index has seen with its first spelling, in order: only ever grows
    (its file is appended to at each commit), and is read by searches in other threads
    while a catch-up adds to it, so every change and every snapshot is taken under a lock."""

    def __init__(self):
        self._lock = threading.Lock()
        self._stems: list[str] = []
        self._surfaces: list[str] = []
        self._known: set[str] = set()
        self._bytes_read = 0
        self._arrays = None

    def __contains__(self, stem: str) -> bool:
        return stem in self._known

    def add(self, pairs) -> None:
        with self._lock:
            for stem, spelled in pairs:
                self._add(stem, spelled)

    def _add(self, stem: str, spelled: str) -> None:
        if stem not in self._known and spelled:
            self._known.add(stem)
            self._stems.append(stem)
            self._surfaces.append(spelled)
            self._arrays = None

    def follow(self, path: Path) -> None:
        """Read what was appended to `path` since the last call; a line being written
        waits for the next one."""
        if not path.exists() or path.stat().st_size <= self._bytes_read:
            return
        with self._lock, open(path, "rb") as f:
            f.seek(self._bytes_read)
            data = f.read()
            whole = data[: data.rfind(b"\n") + 1]
            for line in whole.decode().splitlines():
                stem, _, spelled = line.partition("\t")
                self._add(stem, spelled)
            self._bytes_read += len(whole)

    def arrays(self):
        """(stems, spellings, each spelling's length, first and last code point), one
        consistent snapshot, kept until the vocabulary grows."""
        with self._lock:
            if self._arrays is None:
                n = len(self._surfaces)
                self._arrays = (
                    list(self._stems), list(self._surfaces),
                    np.fromiter(map(len, self._surfaces), dtype=np.int64, count=n),
                    np.fromiter((ord(w[0]) for w in self._surfaces), dtype=np.int64, count=n),
                    np.fromiter((ord(w[-1]) for w in self._surfaces), dtype=np.int64, count=n),
                )
            return self._arrays
