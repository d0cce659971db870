"""A user's library: saved papers in collections, and what comes in and out of it.

`imports.py` reads BibTeX, CSL-JSON and id lists and matches their entries to
papers; `exports.py` writes a collection as BibTeX, CSL-JSON or JSONL;
`followups.py` says what changed on a saved paper (new version, code, journal
reference or DOI, withdrawal). Collections, notes and dismissals live in the
store (docs/library.md); recommendations are `paperwire.recommend`.
"""
