"""The OpenAPI description of the library's JSON API (web/api_library.py); `document()`
is the v1 document with it (what /api/v1/openapi.json serves).

These operations act for a signed-in user: today the session cookie, and a write
also needs the CSRF token in `X-CSRF-Token` (docs/api.md); personal API tokens
will stand in for both. They are kept apart from openapi.PATHS, whose every
operation is an open GET that tests/web/test_api_schema.py fuzzes without a user.
"""

from __future__ import annotations

from paperwire.web import openapi
from paperwire.web.openapi import BOOLEAN, INTEGER, NUMBER, PREFIX, STRING, TIME, _nullable, _object, _param, _ref

P = f"{PREFIX}/library"
FILE_TYPES = ("application/x-bibtex", "application/vnd.citationstyles.csl+json", "application/x-ndjson")  # exports
ERRORS = {
    "400": "The body or a parameter has a value the API cannot use (the message names it).",
    "401": "No usable API token (none, unknown, revoked, or its account disabled) and no session.",
    "403": "A token without the scope this needs (a read token cannot change anything), or a session's "
           "write without its CSRF token in X-CSRF-Token.",
    "404": "No such collection, paper or import of yours.",
    "413": "The request body is over the limit.",
    "429": "Too many changes at once; wait Retry-After seconds.",
    "500": "Something went wrong on the server.",
}

SCHEMAS = {
    "Collection": _object({
        "name": STRING, "slug": {**STRING, "description": "Its name in URLs; kept when it is renamed."},
        "is_shared": BOOLEAN, "created_at": TIME, "item_count": INTEGER,
    }),
    "CollectionList": _object({"ok": {"const": True}, "collections": {"type": "array", "items": _ref("Collection")}}),
    "CollectionCreated": _object({"ok": {"const": True}, "collection": _ref("Collection")}),
    "CollectionItems": _object({
        "ok": {"const": True}, "collection": _ref("Collection"),
        "items": {"type": "array", "items": _object({
            "paper": _ref("Paper"), "note": {**STRING, "description": "Private; never on a shared page."},
            "saved_at": TIME})},
    }),
    "LibraryState": _object({
        "ok": {"const": True}, "arxiv_id": STRING, "is_saved": BOOLEAN,
        "collections": {"type": "array", "items": STRING, "description": "Slugs of the collections holding it."},
        "is_dismissed": BOOLEAN,
    }),
    "ImportReport": _object({
        "ok": {"const": True}, "import_id": INTEGER,
        "report": _object({
            "collection": STRING, "fetched_ids": {"type": "array", "items": STRING},
            "matched": {"type": "array", "items": _object({
                "key": STRING, "arxiv_id": STRING, "title": STRING,
                "matched_by": {"enum": ["arxiv_id", "doi", "title", "picked"]}, "title_score": _nullable(NUMBER)})},
            "unmatched": {"type": "array", "items": _object({
                "key": STRING, "arxiv_id": _nullable(STRING), "doi": _nullable(STRING), "title": _nullable(STRING)})},
            "malformed": {"type": "array", "items": _object({"key": STRING, "reason": STRING})},
        }),
    }),
    "Recommendations": _object({"ok": {"const": True}, "recommendations": {"type": "array", "items": _object({
        "paper": _ref("Paper"), "score": NUMBER,
        "because_id": {**_nullable(STRING), "description": "The saved paper it is closest to."}})}}),
    "Updates": _object({"ok": {"const": True}, "updates": {"type": "array", "items": _object({
        "id": INTEGER, "arxiv_id": STRING, "kind": {"enum": ["withdrawn", "new-version", "code", "journal-ref", "doi"]},
        "detail": STRING, "found_at": TIME, "is_new": BOOLEAN, "title": STRING})}}),
}

SLUG = _param("slug", "path", STRING, "The collection's slug (see Collection).")
ARXIV_ID = _param("arxiv_id", "path", STRING, "An arXiv id, with or without a version.")


def _op(method: str, summary: str, description: str, schema: str | None, *, parameters=(), body: dict | None = None,
        status: str = "200", errors=("401", "404")) -> dict:
    content = {"application/json": {"schema": _ref(schema)}} if schema else \
        {kind: {"schema": STRING} for kind in FILE_TYPES}
    responses = {status: {"description": "OK", "content": content}}
    scope = "read" if method == "get" else "write"
    for code in (*errors, "403", "413", "500") + (("429",) if method != "get" else ()):
        responses[code] = {"description": ERRORS[code], "content": {"application/json": {"schema": _ref("Error")}}}
    operation = {"summary": summary, "description": f"{description} Needs an API token with scope `{scope}`.",
                 "tags": ["library"], "parameters": list(parameters),
                 "operationId": summary.lower().replace(" ", "_").replace("'", "").replace('"', ""),
                 "responses": responses, "security": [{"token": [scope]}]}
    if body is not None:
        operation["requestBody"] = {"required": True, "content": body}
    return {method: operation}


def _json(properties: dict, required: list[str]) -> dict:
    return {"application/json": {"schema": _object(properties, required=required)}}


PATHS = {
    f"{P}/collections": {
        **_op("get", "List collections", "Your collections, oldest first.", "CollectionList", errors=("401",)),
        **_op("post", "Create a collection", "A new collection; its slug is made from the name.", "CollectionCreated",
              body=_json({"name": {**STRING, "maxLength": 100}}, ["name"]), status="201", errors=("400", "401")),
    },
    f"{P}/collections/{{slug}}": _op("get", "Get a collection", "The collection, its papers and notes, most "
                                     "recently saved first.", "CollectionItems", parameters=[SLUG]),
    f"{P}/collections/{{slug}}/items": _op(
        "post", "Save a paper", "Save a paper into the collection (again: once), with an optional private note.",
        "LibraryState", parameters=[SLUG], errors=("400", "401", "404"),
        body=_json({"arxiv_id": STRING, "note": {**STRING, "maxLength": 10_000}}, ["arxiv_id"])),
    f"{P}/collections/{{slug}}/items/{{arxiv_id}}": _op(
        "delete", "Remove a paper", "Take the paper out of the collection.", "LibraryState",
        parameters=[SLUG, ARXIV_ID]),
    f"{P}/collections/{{slug}}/export.{{format}}": _op(
        "get", "Export a collection", "The collection as BibTeX (bib), CSL-JSON (json) or JSONL (jsonl).", None,
        parameters=[SLUG, _param("format", "path", {"enum": ["bib", "json", "jsonl"]}, "The file format.")]),
    f"{P}/dismissals": _op("post", "Not interested", "Never recommend this paper.", "LibraryState",
                           body=_json({"arxiv_id": STRING}, ["arxiv_id"]), errors=("400", "401", "404")),
    f"{P}/dismissals/{{arxiv_id}}": _op("delete", "Interested again", "Take a \"not interested\" back.",
                                        "LibraryState", parameters=[ARXIV_ID]),
    f"{P}/import": _op(
        "post", "Import a library", "A BibTeX, CSL-JSON or id-list file (multipart field `file`, at most 5 MB) "
        "into a collection (`collection`, a slug; default: your first). Unknown arXiv ids are fetched from arXiv.",
        "ImportReport", status="201", errors=("400", "401", "404"),
        body={"multipart/form-data": {"schema": _object({"file": {"type": "string", "contentMediaType":
                                                                  "application/octet-stream"},
                                                         "collection": STRING}, required=["file"])}}),
    f"{P}/import/{{run_id}}": _op("get", "Get an import report", "What an import matched, missed and could not "
                                  "read.", "ImportReport",
                                  parameters=[_param("run_id", "path", INTEGER, "The import's id.")]),
    f"{P}/recommendations": _op("get", "Recommendations", "Papers for you, best first, each with the saved paper "
                                "it is closest to; recomputed in the background as papers arrive.",
                                "Recommendations", errors=("401",)),
    f"{P}/updates": _op("get", "Updates", "Follow-ups on saved papers (new version, code, journal reference, DOI, "
                        "withdrawn), newest first.", "Updates", errors=("401",)),
}


def document() -> dict:
    """openapi.document() with the library's paths and schemas."""
    base = openapi.document()
    return {**base, "paths": {**base["paths"], **PATHS},
            "components": {**base["components"], "schemas": {**base["components"]["schemas"], **SCHEMAS}}}
