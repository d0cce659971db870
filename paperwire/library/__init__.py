"""A user's library: saved papers in collections, and what comes in and out of it.

`imports.py` reads BibTeX, CSL-JSON and id lists and matches their entries to
papers; `exports.py` writes a collection as BibTeX, CSL-JSON or JSONL;
`followups.py` says what changed on a saved paper (new version, code, journal
reference or DOI, withdrawal); `import_runs.py` runs an import over the store
and `foryou.py` is the recommend job. Collections, notes and dismissals live in
the store (store/library.py, docs/library.md); the model is `paperwire.recommend`.
"""
