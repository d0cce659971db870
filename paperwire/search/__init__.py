"""Search: keyword (BM25) and meaning (embeddings) rankings of papers, fused.

Modules: `query` parses what a user typed, `lexical` ranks by keywords and
applies filters, `embed` turns text into vectors, `vectors` finds nearest
vectors, `fusion` merges rankings, `metrics` judges them (docs/search.md).
"""
