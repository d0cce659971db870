"""The "for you" model: one small linear model per user over paper features.

Owns turning a user's library (saved papers, the positives) and dismissals
("not interested", the negatives) into a `UserModel`, scoring candidate papers
with it in one matrix product, and saying why each paper is recommended. Which
papers are candidates, where vectors come from and when models are retrained
are left to the caller (the store and a background job; see docs/library.md).

Features are what search already has: the all-MiniLM-L6-v2 unit vector of a
paper (search/embed.py) concatenated with an L2-normalised TF-IDF vector of its
title and abstract (`Keywords`). A paper without a vector yet is scored by its
keywords as if it had the mean vector (mean imputation), so it is still found
by words and on the same scale.

The model is a logistic regression, saved papers against pseudo-negatives
sampled from the candidate pool plus the user's dismissals (each dismissal
weighs as much as one saved paper), fitted by L-BFGS. With a single saved paper it is nearest
neighbours to that paper. Why these, measured against arxiv-sanity-lite's
TF-IDF + linear SVM, kNN and centroid variants: bench/recommend.py and
docs/library.md.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from paperwire.papers import Paper

# Pool papers drawn as negatives: a user tags few papers, and "everything else"
# is mostly not of interest (the assumption arxiv-sanity-lite's SVM makes too).
PSEUDO_NEGATIVE_COUNT = 3000
# Weight of the keyword block against the unit-length embedding block.
KEYWORD_WEIGHT = 1.0
# Inverse regularisation strength of the logistic regression.
REGULARISATION_C = 10.0
# Below this many saved papers a classifier has too little to learn from.
MIN_SAVED_FOR_MODEL = 2
SEED = 20250101
# BLAS threads while fitting. SciPy 1.15's L-BFGS-B (ported to C) runs many times slower
# when OpenBLAS may use several threads (scipy/scipy#22438, #23191): on 2 shared cores
# a 100,000-paper fit took 1.4 s with the default threads and 0.48 s with one
# (bench/recommend.py measures both in one run). None leaves BLAS as it is.
FIT_BLAS_THREADS: int | None = 1

# TF-IDF as arxiv-sanity-lite computes it (compute.py), so the keyword features
# match the method we are measured against; min_df is 1 here because a user's
# pool may be small.
_TFIDF = dict(
    strip_accents="unicode", lowercase=True, analyzer="word", stop_words="english",
    token_pattern=r"(?u)\b[a-zA-Z_][a-zA-Z0-9_]+\b", ngram_range=(1, 2),
    max_features=20000, norm="l2", use_idf=True, smooth_idf=True, sublinear_tf=True,
    dtype=np.float32,
)


def paper_words(paper: Paper) -> str:
    """What the keyword features see of a paper: its title and abstract."""
    return f"{paper.title}. {paper.abstract}"


@dataclass(frozen=True)
class Keywords:
    """A TF-IDF vocabulary, fitted once on a corpus and reused for every user, so
    user models stay valid until the vocabulary is refitted."""

    vectorizer: TfidfVectorizer

    @classmethod
    def fit(cls, texts: Iterable[str], *, min_df: int = 1, max_df: float = 1.0) -> "Keywords":
        """A vocabulary over `texts`; raises ValueError when they hold no words.
        arxiv-sanity-lite uses min_df=5, max_df=0.1 over its whole database."""
        return cls(TfidfVectorizer(min_df=min_df, max_df=max_df, **_TFIDF).fit(list(texts)))

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        return self.vectorizer.transform(list(texts)).tocsr()

    def to_bytes(self) -> bytes:
        """The vocabulary and its idf weights, to keep in the store (no pickle: the bytes
        are numpy arrays only, read back with allow_pickle=False)."""
        terms = sorted(self.vectorizer.vocabulary_, key=self.vectorizer.vocabulary_.get)
        return _to_npz(terms=np.array(terms, dtype=str), idf=self.vectorizer.idf_.astype(np.float64))

    @classmethod
    def from_bytes(cls, data: bytes) -> "Keywords":
        """The vocabulary `to_bytes` kept; transforms exactly as the fitted one did."""
        arrays = _from_npz(data)
        vectorizer = TfidfVectorizer(vocabulary={t: i for i, t in enumerate(arrays["terms"].tolist())}, **_TFIDF)
        vectorizer.idf_ = arrays["idf"]
        return cls(vectorizer)


@dataclass(frozen=True)
class Features:
    """Papers as the model sees them: ids, unit vectors (zero rows where
    `has_vector` is false) and keyword rows."""

    arxiv_ids: tuple[str, ...]
    vectors: np.ndarray
    has_vector: np.ndarray
    keywords: sp.csr_matrix

    @classmethod
    def build(
        cls, papers: Sequence[Paper], vectors: dict[str, np.ndarray], keywords: Keywords
    ) -> "Features":
        """Features of `papers`, taking each vector from `vectors` by arXiv id when present."""
        dim = len(next(iter(vectors.values()))) if vectors else 384
        matrix = np.zeros((len(papers), dim), dtype=np.float32)
        has_vector = np.zeros(len(papers), dtype=bool)
        for row, paper in enumerate(papers):
            if paper.arxiv_id in vectors:
                matrix[row] = vectors[paper.arxiv_id]
                has_vector[row] = True
        rows = keywords.transform([paper_words(p) for p in papers]) if papers else sp.csr_matrix(
            (0, len(keywords.vectorizer.vocabulary_)), dtype=np.float32
        )
        return cls(tuple(p.arxiv_id for p in papers), matrix, has_vector, rows)

    def __len__(self) -> int:
        return len(self.arxiv_ids)

    def rows(self, arxiv_ids: Iterable[str]) -> np.ndarray:
        """Row numbers of the given ids that are present, in the order given."""
        position = self._position
        return np.array([position[i] for i in arxiv_ids if i in position], dtype=np.int64)

    @functools.cached_property
    def _position(self) -> dict[str, int]:
        return {arxiv_id: row for row, arxiv_id in enumerate(self.arxiv_ids)}

    def rows_sample(self, excluded: frozenset[str], count: int, seed: int) -> np.ndarray:
        """Up to `count` row numbers drawn without replacement from rows whose id is
        not `excluded`, sorted; the same for the same seed."""
        rng = np.random.default_rng(seed)
        draw = rng.choice(len(self), size=min(len(self), count + len(excluded)), replace=False)
        kept = np.array([r for r in draw if self.arxiv_ids[r] not in excluded], dtype=np.int64)
        return np.sort(kept[:count])


@dataclass(frozen=True)
class UserModel:
    """One user's model: a weight vector per head plus what "why" needs.

    `vector_weights`/`keyword_weights`/`bias` score papers that have a vector;
    `keyword_only_weights`/`keyword_only_bias` score those that do not, as if
    they had the mean vector, so both give comparable log-odds. Without a saved
    paper that has a vector (`has_vector_head` false) every paper is scored by
    its words. With one saved paper the weights are that paper's own features
    (cosine similarity).
    """

    vector_weights: np.ndarray
    keyword_weights: np.ndarray
    bias: float
    keyword_only_weights: np.ndarray
    keyword_only_bias: float
    has_vector_head: bool
    saved_ids: tuple[str, ...]
    saved_vectors: np.ndarray
    saved_keywords: sp.csr_matrix
    excluded_ids: frozenset[str]


@dataclass(frozen=True)
class Recommendation:
    """A paper for a user, its score, and the saved paper it is closest to (the "why")."""

    arxiv_id: str
    score: float
    because_id: str


def model_to_bytes(model: UserModel) -> bytes:
    """A user model as bytes to keep in the store (numpy arrays only, no pickle)."""
    words = model.saved_keywords.tocsr()
    return _to_npz(
        vector_weights=model.vector_weights, keyword_weights=model.keyword_weights,
        keyword_only_weights=model.keyword_only_weights,
        scalars=np.array([model.bias, model.keyword_only_bias, float(model.has_vector_head)]),
        saved_ids=np.array(model.saved_ids, dtype=str), saved_vectors=model.saved_vectors,
        saved_data=words.data, saved_indices=words.indices, saved_indptr=words.indptr,
        saved_shape=np.array(words.shape), excluded_ids=np.array(sorted(model.excluded_ids), dtype=str),
    )


def model_from_bytes(data: bytes) -> UserModel:
    """The model `model_to_bytes` kept."""
    a = _from_npz(data)
    bias, keyword_only_bias, has_vector_head = a["scalars"].tolist()
    return UserModel(
        vector_weights=a["vector_weights"], keyword_weights=a["keyword_weights"], bias=bias,
        keyword_only_weights=a["keyword_only_weights"], keyword_only_bias=keyword_only_bias,
        has_vector_head=bool(has_vector_head), saved_ids=tuple(a["saved_ids"].tolist()),
        saved_vectors=a["saved_vectors"],
        saved_keywords=sp.csr_matrix((a["saved_data"], a["saved_indices"], a["saved_indptr"]),
                                     shape=tuple(a["saved_shape"].tolist())),
        excluded_ids=frozenset(a["excluded_ids"].tolist()),
    )


def _to_npz(**arrays: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def _from_npz(data: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
        return {name: arrays[name] for name in arrays.files}


class NothingSaved(ValueError):
    """Raised by `train` when the library has no paper."""


def train(library: Features, pool: Features, *, dismissed: Features | None = None, seed: int = SEED) -> UserModel:
    """A model of the saved papers (`library`) against the `dismissed` ones and a
    sample of `pool`, the candidate papers. Deterministic for the same inputs and
    `seed`. Raises NothingSaved when `library` is empty."""
    if len(library) == 0:
        raise NothingSaved("the library is empty; save a paper to get recommendations")
    dismissed = dismissed if dismissed is not None else _empty_like(library)
    excluded = frozenset(library.arxiv_ids) | frozenset(dismissed.arxiv_ids)
    common = dict(
        saved_ids=library.arxiv_ids, saved_vectors=library.vectors,
        saved_keywords=library.keywords, excluded_ids=excluded,
    )
    if len(library) < MIN_SAVED_FOR_MODEL and not len(dismissed):
        return _nearest_neighbour_model(library, common)
    pseudo = pool.rows_sample(excluded, PSEUDO_NEGATIVE_COUNT, seed)
    words = sp.vstack([library.keywords, dismissed.keywords, pool.keywords[pseudo]], format="csr")
    labels = np.r_[np.ones(len(library)), np.zeros(len(dismissed) + len(pseudo))]
    has_vector = np.r_[library.has_vector, dismissed.has_vector, pool.has_vector[pseudo]]
    weights = _sample_weights(len(library), len(dismissed), len(pseudo))
    # Without a saved paper that has a vector, every paper is scored by its words.
    if not library.has_vector.any():
        return _keyword_model(_fit(words, labels, weights), library.vectors.shape[1], common)
    # The model learns only from papers that have a vector (a missing vector is not
    # evidence) and scores a paper without one as if it had the pool's mean vector
    # (mean imputation), so both kinds of paper are on one scale.
    vectors = np.vstack([library.vectors, dismissed.vectors, pool.vectors[pseudo]])
    joint_rows = sp.hstack([sp.csr_matrix(vectors), KEYWORD_WEIGHT * words], format="csr")[has_vector]
    joint = _fit(joint_rows, labels[has_vector], weights[has_vector])
    dim = library.vectors.shape[1]
    vector_weights = joint.coef_[0, :dim].astype(np.float32)
    keyword_weights = (KEYWORD_WEIGHT * joint.coef_[0, dim:]).astype(np.float32)
    mean_vector = vectors[has_vector].mean(axis=0)
    return UserModel(
        vector_weights=vector_weights, keyword_weights=keyword_weights,
        bias=float(joint.intercept_[0]), keyword_only_weights=keyword_weights,
        keyword_only_bias=float(joint.intercept_[0] + mean_vector @ vector_weights),
        has_vector_head=True, **common,
    )


def score(model: UserModel, features: Features) -> np.ndarray:
    """The model's score for every paper in `features` (higher is better), one
    matrix product per head; saved and dismissed papers score -inf."""
    words = features.keywords @ model.keyword_only_weights
    alone = words + model.keyword_only_bias
    if model.has_vector_head:
        # Both heads share their keyword weights (train makes them one array): the sparse
        # product, the larger half of scoring, is then done once.
        same = model.keyword_weights is model.keyword_only_weights or \
            np.array_equal(model.keyword_weights, model.keyword_only_weights)
        joint = features.vectors @ model.vector_weights + (
            words if same else features.keywords @ model.keyword_weights)
        scores = np.where(features.has_vector, joint + model.bias, alone).astype(np.float64)
    else:
        scores = alone.astype(np.float64)
    scores[features.rows(model.excluded_ids)] = -np.inf
    return scores


def recommend(model: UserModel, features: Features, *, limit: int = 20) -> list[Recommendation]:
    """The `limit` best papers of `features` for the user, best first (ties by
    arXiv id), each with the saved paper it is closest to; never a saved or
    dismissed paper. Empty when there is no other paper."""
    scores = score(model, features)
    eligible = np.flatnonzero(np.isfinite(scores))
    if limit <= 0 or len(eligible) == 0:
        return []
    top = _top(scores, eligible, limit, features.arxiv_ids)
    because = _closest_saved(model, features, top)
    return [
        Recommendation(features.arxiv_ids[row], float(scores[row]), because_id)
        for row, because_id in zip(top, because)
    ]


def _empty_like(features: Features) -> Features:
    return Features(
        (), np.zeros((0, features.vectors.shape[1]), np.float32), np.zeros(0, bool),
        sp.csr_matrix((0, features.keywords.shape[1]), dtype=np.float32),
    )


def _keyword_model(alone: LogisticRegression, dim: int, common: dict) -> UserModel:
    weights = alone.coef_[0].astype(np.float32)
    bias = float(alone.intercept_[0])
    return UserModel(
        vector_weights=np.zeros(dim, np.float32), keyword_weights=weights, bias=bias,
        keyword_only_weights=weights, keyword_only_bias=bias, has_vector_head=False, **common,
    )


def _nearest_neighbour_model(library: Features, common: dict) -> UserModel:
    # One saved paper and nothing dismissed: nothing to contrast it with, so the
    # model is the paper itself and scores are cosine similarities to it.
    vector, words = library.vectors[0], library.keywords[0].toarray()[0]
    return UserModel(
        vector_weights=vector.copy(), keyword_weights=(KEYWORD_WEIGHT**2 * words).astype(np.float32),
        bias=0.0, keyword_only_weights=(KEYWORD_WEIGHT**2 * words).astype(np.float32),
        keyword_only_bias=0.0, has_vector_head=bool(library.has_vector[0]), **common,
    )


def _sample_weights(saved_count: int, dismissed_count: int, pseudo_count: int) -> np.ndarray:
    # Saved papers and pseudo-negatives each weigh as much in total (balanced
    # classes); a dismissal is a deliberate "no", as strong as one saved paper.
    per_saved = 1.0 / saved_count
    per_pseudo = 1.0 / pseudo_count if pseudo_count else 0.0
    weights = np.r_[
        np.full(saved_count, per_saved), np.full(dismissed_count, per_saved),
        np.full(pseudo_count, per_pseudo),
    ]
    return weights * len(weights) / weights.sum()


def _fit(x, labels: np.ndarray, weights: np.ndarray) -> LogisticRegression:
    # L-BFGS: liblinear took seconds on these nearly separable problems; L-BFGS
    # stops within a few dozen cheap steps (bench/recommend.py).
    model = LogisticRegression(C=REGULARISATION_C, solver="lbfgs", max_iter=100, tol=1e-3)
    if labels.min() == labels.max():  # no negatives at all: a pool of saved papers only
        x, labels, weights = sp.vstack([x, sp.csr_matrix(x.shape)]), np.r_[labels, 0], np.r_[weights, 1]
    with threadpool_limits(limits=FIT_BLAS_THREADS, user_api="blas"):
        return model.fit(x, labels, sample_weight=weights)


def _top(scores: np.ndarray, eligible: np.ndarray, limit: int, ids: Sequence[str]) -> list[int]:
    if len(eligible) > limit:
        # Keep every paper tied with the limit-th score, then order ties by id.
        cutoff = np.partition(scores[eligible], len(eligible) - limit)[len(eligible) - limit]
        eligible = eligible[scores[eligible] >= cutoff]
    ordered = sorted(eligible.tolist(), key=lambda row: (-scores[row], ids[row]))
    return ordered[:limit]


def _closest_saved(model: UserModel, features: Features, rows: list[int]) -> list[str]:
    # The saved paper nearest in the model's own feature space: cosine of vectors
    # when both papers have one, plus the weighted keyword cosine.
    index = np.array(rows, dtype=np.int64)
    both = features.has_vector[index][:, None] & np.any(model.saved_vectors != 0, axis=1)[None, :]
    dense = np.where(both, features.vectors[index] @ model.saved_vectors.T, 0.0)
    words = (features.keywords[index] @ model.saved_keywords.T).toarray()
    similarity = dense + KEYWORD_WEIGHT**2 * words
    return [model.saved_ids[int(np.argmax(row))] for row in similarity]
