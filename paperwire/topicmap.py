"""A topic map of a set of papers (a day, a week): where each paper sits in 2-D, and
which labelled topic it belongs to.

Papers are compared by their embeddings (the vectors the store keeps for search).
A paper without a vector is placed by its words: its vector is the mean of the
vectors of its nearest neighbours by TF-IDF of title and abstract, and with no
vector at all the map is built from TF-IDF alone (reduced by LSA), so a map always
exists. Topics are k-means clusters; each is labelled by its most distinctive
words by class-based TF-IDF (c-TF-IDF, Grootendorst 2022, "BERTopic",
arXiv:2203.05794). The 2-D layout gives each topic a disc of its own, so topics
never overlap and their labels stay legible (see `_layout` for why not t-SNE).
Everything is seeded, so the same papers give the same map. Drawing it is the
web layer's.

`build` is pure (papers and vectors in, a TopicMap out). `for_period` gives the
current map of a day, week or month: kept in memory, else saved in the store
(store/maps.py, shared by every process), else made and saved. The maps job
(`make_ahead`, jobs/table.py) makes the recent periods' maps as papers and
vectors arrive, so readers' first views do not wait for k-means.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from paperwire import periods
from paperwire.papers import Paper, display_text
from paperwire.periods import Period
from paperwire.store.maps import MAPS_CHECKPOINT

SEED = 0
MAX_TOPIC_COUNT = 10  # the stylesheet has this many topic colours
PAPERS_PER_TOPIC = 25  # about; a day of 200 papers gets about 8 topics
LABEL_TERM_COUNT = 3
NEIGHBOUR_COUNT = 5  # TF-IDF neighbours whose vectors place a paper without one
LSA_DIMENSIONS = 50  # TF-IDF is reduced to this many before clustering
DISC_RADIUS = 1.0  # all topics' discs together cover about pi * DISC_RADIUS² (units are arbitrary)
DISC_GAP = 0.15  # between two topics' discs, as a share of their radii
SEPARATE_ROUNDS = 200
DISC_FILL_QUANTILE = 0.9
CLUSTER_DIMENSIONS = 32  # principal components k-means clusters on
CACHE_SIZE = 32  # maps kept in memory, most recently used
# The maps job keeps the maps of this many latest days with papers made ahead, with their
# weeks and months: the days a reader pages back through (bench/web.py samples the last 60).
MADE_AHEAD_DAY_COUNT = 60
FORMAT_VERSION = 1  # of the stored JSON and of the maps themselves: a new one remakes every map


@dataclass(frozen=True)
class Point:
    """A paper on the map: x and y in [0, 1], y downwards as on a screen."""

    arxiv_id: str
    title: str  # as stored (LaTeX and all): the page renders it
    x: float
    y: float
    topic: int


@dataclass(frozen=True)
class Topic:
    number: int  # 0.. in order of size, largest first
    terms: tuple[str, ...]
    arxiv_ids: tuple[str, ...]

    @property
    def label(self) -> str:
        return " · ".join(self.terms) or f"topic {self.number + 1}"


@dataclass(frozen=True)
class TopicMap:
    points: tuple[Point, ...]
    topics: tuple[Topic, ...]
    basis: str  # "embeddings", "embeddings and words" (some placed by TF-IDF), "words"

    @property
    def paper_count(self) -> int:
        return len(self.points)


def build(papers: list[Paper], vectors: dict[str, np.ndarray]) -> TopicMap:
    """The map of `papers`, placed by `vectors` (by arXiv id) where they have one.
    An empty list gives an empty map."""
    papers = sorted(papers, key=lambda p: p.arxiv_id)  # the same map whatever the input order
    if not papers:
        return TopicMap(points=(), topics=(), basis="words")
    from threadpoolctl import threadpool_limits

    # One BLAS/OpenMP thread (process-wide while the map is built): a page builds this in
    # a web worker's thread, beside others. On our loaded 2-core machine the default
    # pools made a week's map 6x slower (30 s instead of 5 s, bench/topicmap.py) by
    # spinning against each other.
    with threadpool_limits(limits=1):
        return _build(papers, vectors)


def _build(papers: list[Paper], vectors: dict[str, np.ndarray]) -> TopicMap:
    counts, vocabulary = _count_words([_text(p) for p in papers])
    features, basis = _features(papers, counts, vectors)
    labels = _cluster(features)
    xy = _layout(features, labels)
    topics = _topics(papers, labels, _distinctive_terms(counts, vocabulary, labels))
    order = {old: topic.number for old, topic in topics}
    points = tuple(
        Point(p.arxiv_id, p.title, float(x), float(y), order[label])
        for p, (x, y), label in zip(papers, xy, labels)
    )
    return TopicMap(points=points, topics=tuple(t for _, t in sorted(topics, key=lambda t: t[1].number)),
                    basis=basis)


def _text(paper: Paper) -> str:
    return f"{display_text(paper.title)}. {display_text(paper.abstract)}"


def _normalise(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1, norms)


def _count_words(texts: list[str]):
    """A sparse matrix of word counts (a row per text, English stop words left out) and its
    vocabulary; an empty vocabulary when no text has a word."""
    from scipy.sparse import csr_matrix
    from sklearn.feature_extraction.text import CountVectorizer

    vectorizer = CountVectorizer(stop_words="english", token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z-]{2,}\b")
    try:
        return vectorizer.fit_transform(texts), vectorizer.get_feature_names_out()
    except ValueError:  # only stop words, numbers or nothing
        return csr_matrix((len(texts), 1)), np.array([""])


def _features(papers: list[Paper], counts, vectors: dict[str, np.ndarray]) -> tuple[np.ndarray, str]:
    """One row per paper: its vector, a vector placed among its TF-IDF neighbours, or LSA of TF-IDF."""
    have = np.array([p.arxiv_id in vectors for p in papers])
    if have.all():
        return _normalise(np.stack([vectors[p.arxiv_id] for p in papers]).astype(np.float32)), "embeddings"
    from sklearn.feature_extraction.text import TfidfTransformer

    words = TfidfTransformer(sublinear_tf=True).fit_transform(counts)
    if not have.any():
        return _lsa(words), "words"
    known = _normalise(np.stack([vectors[p.arxiv_id] for p, h in zip(papers, have) if h]).astype(np.float32))
    similarity = (words[~have] @ words[have].T).toarray()
    nearest = np.argsort(-similarity, axis=1, kind="stable")[:, :NEIGHBOUR_COUNT]
    features = np.empty((len(papers), known.shape[1]), dtype=np.float32)
    features[have] = known
    features[~have] = _normalise(known[nearest].mean(axis=1))
    return features, "embeddings and words"


def _lsa(words) -> np.ndarray:
    from sklearn.decomposition import TruncatedSVD

    dimensions = min(LSA_DIMENSIONS, words.shape[0] - 1, words.shape[1] - 1)
    if dimensions < 2:
        return _normalise(words.toarray().astype(np.float32))
    return _normalise(TruncatedSVD(dimensions, random_state=SEED).fit_transform(words).astype(np.float32))


def topic_count(paper_count: int) -> int:
    """How many topics a map of `paper_count` papers gets: about one per PAPERS_PER_TOPIC,
    at least 1, at most MAX_TOPIC_COUNT (and never more than there are papers)."""
    return max(1, min(MAX_TOPIC_COUNT, round(paper_count / PAPERS_PER_TOPIC), paper_count))


def _cluster(features: np.ndarray) -> np.ndarray:
    count = topic_count(len(features))
    if count == 1 or len(np.unique(features, axis=0)) < count:
        return np.zeros(len(features), dtype=int)
    from sklearn.cluster import KMeans

    # k-means on the top principal components: as good a partition, a fraction of the time.
    reduced = _project(features, CLUSTER_DIMENSIONS)
    return KMeans(count, n_init=1, random_state=SEED).fit_predict(reduced)


def _layout(features: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Positions in [0, 1]²: each topic a disc (area by its paper count) centred where PCA
    puts its centroid, pushed apart until no two discs overlap; each paper inside its
    topic's disc where a PCA of the topic's own papers puts it.

    Not t-SNE or UMAP: t-SNE took 158 s for a week of 2,035 papers on our shared
    2-core machine (bench/topicmap.py), and UMAP needs numba's compiler; this takes
    milliseconds and still keeps near papers near within a topic."""
    clusters = sorted(set(labels.tolist()))
    sizes = np.array([(labels == c).sum() for c in clusters], dtype=float)
    radii = DISC_RADIUS * np.sqrt(sizes / sizes.sum())
    centroids = np.stack([features[labels == c].mean(axis=0) for c in clusters])
    centres = _separate(_project(centroids), radii)
    xy = np.empty((len(features), 2))
    for index, cluster in enumerate(clusters):
        members = labels == cluster
        xy[members] = centres[index] + _into_disc(_project(features[members] - centroids[index]), radii[index])
    return _fit_unit_square(xy) if len(features) > 1 else np.array([[0.5, 0.5]])


def _into_disc(offsets: np.ndarray, radius: float) -> np.ndarray:
    """`offsets` scaled so that most (DISC_FILL_QUANTILE) fall in 80% of `radius`, the few far
    ones pulled in to its edge: one outlier must not squeeze a topic's other papers to a dot."""
    norms = np.linalg.norm(offsets, axis=1)
    reach = np.quantile(norms, DISC_FILL_QUANTILE) if len(norms) else 0
    if reach <= 0:
        return np.zeros_like(offsets)
    scaled = offsets * (0.8 * radius / reach)
    scaled_norms = np.maximum(np.linalg.norm(scaled, axis=1, keepdims=True), 1e-12)
    return np.where(scaled_norms > radius, scaled * (radius / scaled_norms), scaled)


def _project(rows: np.ndarray, dimensions: int = 2) -> np.ndarray:
    """`rows` by their first `dimensions` principal components (zeros where they have fewer)."""
    centred = rows - rows.mean(axis=0)
    if len(rows) < 2 or not centred.any():
        return np.zeros((len(rows), dimensions))
    _, _, components = np.linalg.svd(centred, full_matrices=False)
    # An SVD's signs are arbitrary; fix them so the same papers always face the same way.
    components *= np.sign(components[np.arange(len(components)), np.abs(components).argmax(axis=1)])[:, None]
    projected = centred @ components[:dimensions].T
    return np.pad(projected, ((0, 0), (0, dimensions - projected.shape[1])))


def _separate(centres: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """`centres` scaled to the discs' size and moved apart until no two discs overlap."""
    spread = np.abs(centres).max()
    centres = centres / spread * radii.sum() / 2 if spread > 0 else centres.copy()
    for _ in range(SEPARATE_ROUNDS):
        moved = False
        for i in range(len(centres)):
            for j in range(i + 1, len(centres)):
                gap = centres[j] - centres[i]
                distance = np.linalg.norm(gap)
                wanted = (radii[i] + radii[j]) * (1 + DISC_GAP)
                if distance < wanted:
                    direction = gap / distance if distance > 0 else np.array([np.cos(j), np.sin(j)])
                    push = (wanted - distance) / 2 * direction
                    centres[i] -= push
                    centres[j] += push
                    moved = True
        if not moved:
            break
    return centres


def _fit_unit_square(xy: np.ndarray) -> np.ndarray:
    low, high = xy.min(axis=0), xy.max(axis=0)
    span = np.where(high - low == 0, 1, high - low)
    out = (xy - low) / span
    out[:, (high - low) == 0] = 0.5
    return out


def _topics(papers: list[Paper], labels: np.ndarray, terms: dict[int, tuple[str, ...]]) -> list[tuple[int, Topic]]:
    """(cluster label, Topic) pairs, numbered by size (ties by label), named by `terms`."""
    clusters = sorted(set(labels.tolist()), key=lambda c: (-(labels == c).sum(), c))
    return [
        (cluster, Topic(number, terms[cluster],
                        tuple(p.arxiv_id for p, label in zip(papers, labels) if label == cluster)))
        for number, cluster in enumerate(clusters)
    ]


def _distinctive_terms(counts, vocabulary: np.ndarray, labels: np.ndarray) -> dict[int, tuple[str, ...]]:
    """Each cluster's LABEL_TERM_COUNT words of highest c-TF-IDF: a word's frequency in the
    cluster's papers, over its length, times log(1 + average words per cluster / the word's
    frequency in all papers) (BERTopic's formula)."""
    clusters = sorted(set(labels.tolist()))
    per_cluster = np.vstack([np.asarray(counts[labels == c].sum(axis=0)).ravel() for c in clusters]).astype(float)
    term_frequency = per_cluster / np.maximum(per_cluster.sum(axis=1, keepdims=True), 1)
    average = per_cluster.sum() / len(clusters)
    weights = term_frequency * np.log1p(average / np.maximum(per_cluster.sum(axis=0), 1))
    out = {}
    for row, cluster in enumerate(clusters):
        best = np.argsort(-weights[row], kind="stable")[:LABEL_TERM_COUNT]
        out[cluster] = tuple(str(vocabulary[i]) for i in best if weights[row, i] > 0)
    return out


# --- maps of periods, kept in the store and made ahead ---------------------------------

# (period key, fingerprint, made_at) -> map: what the store holds, decoded once per process
_cache: OrderedDict[tuple[str, str, datetime], TopicMap] = OrderedDict()
_cache_lock = threading.Lock()


def period_key(period: Period) -> str:
    """The store's name for `period`'s map: "day:2026-12-01", "week:2026-W49", "month:2026-12"."""
    return f"{period.kind}:{period.name}"


def for_period(store, period: Period, *, now: datetime) -> TopicMap:
    """The current map of `period`'s papers: the store's when it was made from the papers
    and vectors the period has now (decoded once per process), else made and saved."""
    key, fingerprint, stamp = _stored(store, period)
    if stamp is not None and stamp.fingerprint == fingerprint:
        made_at = stamp.made_at
        with _cache_lock:
            made = _cache.get((key, fingerprint, made_at))
        if made is None:
            made = from_json(store.topic_map(key).body)
    else:
        made, made_at = _remake(store, period, key, fingerprint, now=now)
    with _cache_lock:
        _cache[(key, fingerprint, made_at)] = made
        _cache.move_to_end((key, fingerprint, made_at))
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return made


def make_ahead(store, *, now: datetime, day_count: int = MADE_AHEAD_DAY_COUNT,
               stop: threading.Event | None = None) -> str | None:
    """The maps job: make the maps of the latest `day_count` days with papers, their weeks
    and their months, where a map is missing or no longer current, so that a reader's first
    view reads the store. Returns a summary, or None when the store has not changed since
    the last run (its change and vector sequences, kept as a checkpoint)."""
    marker = f"v{FORMAT_VERSION}:{day_count}:{store.last_change_seq()}:{store.last_embed_seq()}"
    if store.get_checkpoint(MAPS_CHECKPOINT) == marker:
        return None
    made_count, wanted = 0, recent_periods(store, day_count)
    for done, period in enumerate(wanted):
        if stop is not None and stop.is_set():
            return f"made {made_count} topic maps, stopped with {len(wanted) - done} recent periods to look at"
        key, fingerprint, stamp = _stored(store, period)
        if stamp is None or stamp.fingerprint != fingerprint:
            _remake(store, period, key, fingerprint, now=now)
            made_count += 1
    store.set_checkpoint(MAPS_CHECKPOINT, marker)
    return f"made {made_count} topic maps of {len(wanted)} recent days, weeks and months" if made_count else None


def recent_periods(store, day_count: int) -> list[Period]:
    """The latest `day_count` days with papers (or daily lists), newest first, then their
    weeks, then their months."""
    days, day = [], store.latest_day()
    while day is not None and len(days) < day_count:
        days.append(day)
        day = store.adjacent_days(day)[0]
    weeks = {periods.week_of(d): None for d in days}
    months = {periods.month_of(d): None for d in days}
    return [periods.day_of(d) for d in days] + list(weeks) + list(months)


def _stored(store, period: Period):
    """`period`'s key in the store, the fingerprint of its papers and vectors now (read
    first: a change after it moves it), and the stored map's fingerprint and time (no body)."""
    key = period_key(period)
    fingerprint = f"v{FORMAT_VERSION};{store.papers_fingerprint(period.first, period.last)}"
    return key, fingerprint, store.topic_map(key, with_body=False)


def _remake(store, period: Period, key: str, fingerprint: str, *, now: datetime) -> tuple[TopicMap, datetime]:
    """`period`'s map made from the store's papers and vectors and saved; with its made_at as stored."""
    papers = store.papers_between(period.first, period.last,
                                  limit=max(store.count_papers_between(period.first, period.last), 1))
    made = build(papers, _vectors(store, papers))
    return made, store.put_topic_map(key, fingerprint=fingerprint, body=to_json(made), now=now)


def _vectors(store, papers: list[Paper]) -> dict[str, np.ndarray]:
    """The vectors of the store's model that covers most of `papers`, by arXiv id."""
    rows = store.paper_ids(p.arxiv_id for p in papers)
    by_row = {row: arxiv_id for arxiv_id, row in rows.items()}
    best: dict[str, np.ndarray] = {}
    for model in store.embedding_models():
        found = store.get_embeddings(model, rows.values())
        if len(found) > len(best):
            best = {by_row[row]: vector for row, vector in found.items()}
    return best


def to_json(made: TopicMap) -> str:
    """`made` as the store keeps it; `from_json` reads it back equal."""
    return json.dumps({"version": FORMAT_VERSION, "basis": made.basis,
                       "points": [dataclasses.astuple(p) for p in made.points],
                       "topics": [[t.number, list(t.terms), list(t.arxiv_ids)] for t in made.topics]},
                      ensure_ascii=False, separators=(",", ":"))


def from_json(text: str) -> TopicMap:
    body = json.loads(text)
    return TopicMap(points=tuple(Point(*p) for p in body["points"]),
                    topics=tuple(Topic(n, tuple(terms), tuple(ids)) for n, terms, ids in body["topics"]),
                    basis=body["basis"])
