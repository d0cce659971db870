"""The OpenAPI 3.1 document of the JSON API v1, built from the same constants the
handlers check (page limits, modes, sorts, years), so it cannot promise what
they refuse.

`/api/v1/openapi.json` serves it and `/api/docs` renders it as HTML
(api_v1.py); tests/web/test_api_schema.py holds the app to it with schemathesis.
Schemas leave additionalProperties open: a new field is not a breaking change.
"""

from __future__ import annotations

from paperwire import __version__
from paperwire.search.query import MAX_YEAR, MIN_YEAR
from paperwire.search.service import MODES, SORTS
from paperwire.web.params import MAX_PAGE

PREFIX = "/api/v1"
MAX_PAGE_SIZE = 100  # papers per page of the API; larger pages are refused with 400
DAY_PAGE_SIZE = 50  # feed.PAGE_SIZE: the daily page's
SEARCH_PAGE_SIZE = 20  # pages.SEARCH_PAGE_SIZE: the search page's
AUTHOR_PAGE_SIZE = 50  # community.AUTHOR_PAGE_SIZE: the author page's
ERRORS = {
    "400": "A query parameter has a value the API cannot use (the message names it).",
    "401": "No API token, or one that is unknown or revoked, or whose account is disabled.",
    "403": "The API token lacks the scope this needs (a read token cannot change anything).",
    "429": "Too many requests from this account or address; wait Retry-After seconds.",
    "404": "Nothing at this address: no such paper, day, or page past the last.",
    "405": "The address exists but not for this method.",
    "413": "The request body is over the limit.",
    "500": "Something went wrong on the server.",
    "503": "The search index is being built; try again after Retry-After seconds.",
}


def _nullable(schema: dict) -> dict:
    return {**schema, "type": [schema["type"], "null"]}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(properties: dict, *, required: list[str] | None = None, description: str = "") -> dict:
    schema = {"type": "object", "properties": properties, "required": required or list(properties)}
    return {**schema, "description": description} if description else schema


STRING, INTEGER, NUMBER, BOOLEAN = ({"type": t} for t in ("string", "integer", "number", "boolean"))
TIME = {"type": "string", "format": "date-time"}
DAY = {"type": "string", "format": "date"}

COMMENT_FIELDS = {
    "id": INTEGER, "parent_id": {**_nullable(INTEGER), "description": "The top-level comment a reply is under."},
    "username": _nullable(STRING),
    "body": {**_nullable(STRING), "description": "Markdown; null when deleted or hidden."},
    "body_html": {**_nullable(STRING), "description": "The Markdown rendered and sanitised, as the page shows it."},
    "created_at": TIME, "edited_at": _nullable(TIME), "is_deleted": BOOLEAN, "is_hidden": BOOLEAN,
}

SCHEMAS = {
    "Error": _object({
        "ok": {"const": False}, "error": {**STRING, "description": "What was wrong and what to do next."},
        "status": {**INTEGER, "description": "The HTTP status, repeated."},
    }, description="Every error of the API, whatever its status."),
    "Author": _object({"name": STRING, "affiliations": {"type": "array", "items": STRING}}),
    "Version": _object({"number": INTEGER, "submitted_at": _nullable(TIME)}),
    "Paper": _object({
        "arxiv_id": {**STRING, "examples": ["2501.00001", "hep-th/9901001"]},
        "version": {**INTEGER, "description": "The latest known version; 0 when the source did not say."},
        "title": {**STRING, "description": "As the source wrote it (LaTeX and line breaks included)."},
        "abstract": STRING,
        "authors": {"type": "array", "items": _ref("Author")},
        "primary_category": _nullable(STRING),
        "categories": {"type": "array", "items": STRING},
        "published_at": _nullable(TIME), "updated_at": _nullable(TIME),
        "doi": _nullable(STRING), "journal_ref": _nullable(STRING), "comments": _nullable(STRING),
        "license": _nullable(STRING), "code_url": _nullable(STRING), "project_url": _nullable(STRING),
        "versions": {"type": "array", "items": _ref("Version")},
        "source": STRING,
        "is_withdrawn": {**BOOLEAN, "description": "Whether the authors withdrew it (arXiv keeps earlier versions)."},
        "subject_classes": {"type": "array", "items": STRING,
                            "description": "Other classification codes (MSC 94A29, ACM I.4.2)."},
    }),
    "DailyEntry": _object({
        "day": DAY, "arxiv_id": STRING, "source": STRING, "upvote_count": INTEGER, "comment_count": INTEGER,
        "submitted_by": _nullable(STRING), "organization": _nullable(STRING),
        "organization_name": {**_nullable(STRING), "description": "The display name; organization is its slug."},
        "github_repo": _nullable(STRING),
        "github_star_count": _nullable(INTEGER), "project_url": _nullable(STRING),
        "thumbnail_url": _nullable(STRING), "ai_summary": _nullable(STRING), "seen_at": _nullable(TIME),
    }, description="A paper's place on a community daily list (Hugging Face Daily Papers)."),
    "PaperWithEntries": _object({
        "ok": {"const": True}, "paper": _ref("Paper"),
        "daily_entries": {"type": "array", "items": _ref("DailyEntry")},
    }),
    "DayPage": _object({
        "ok": {"const": True}, "day": DAY, "page": INTEGER, "page_size": INTEGER, "page_count": INTEGER,
        "paper_count": {**INTEGER, "description": "Papers the day shows over all its pages."},
        "listed_count": {**INTEGER, "description": "Of which on the community list (all on page 1)."},
        "previous_day": _nullable(DAY), "next_day": _nullable(DAY),
        "items": {"type": "array", "items": _object({
            "paper": _ref("Paper"), "daily_entry": {"oneOf": [_ref("DailyEntry"), {"type": "null"}]},
        })},
    }),
    "Hit": _object({
        "paper": _ref("Paper"), "score": NUMBER,
        "keyword_rank": _nullable(INTEGER), "meaning_rank": _nullable(INTEGER),
        "matched_words": {"type": "array", "items": STRING},
        "why": {**STRING, "description": "Why it matched, in words."},
    }),
    "SearchPage": _object({
        "ok": {"const": True}, "q": STRING, "mode": {"enum": list(MODES)}, "sort": {"enum": list(SORTS)},
        "page": INTEGER, "page_size": INTEGER,
        "total_count": {**INTEGER, "description": "Papers found (an upper bound of what paging reaches)."},
        "ignored": {"type": "array", "items": STRING, "description": "Parts of q that were not understood."},
        "pending_count": {**INTEGER, "description": "Store changes the index had not applied yet."},
        "is_semantic_ready": BOOLEAN,
        "is_partial": {**BOOLEAN, "description": "The search passed its deadline: keyword matches only."},
        "hits": {"type": "array", "items": _ref("Hit")},
    }),
    "Similar": _object({"ok": {"const": True}, "arxiv_id": STRING, "hits": {"type": "array", "items": _ref("Hit")}}),
    "Status": _object({
        "ok": {"const": True},
        "stats": _object({
            "paper_count": INTEGER, "deleted_count": INTEGER, "daily_entry_count": INTEGER,
            "embedded_count": INTEGER, "first_day": _nullable(DAY), "last_day": _nullable(DAY),
            "category_counts": {"type": "object", "additionalProperties": INTEGER},
        }),
        "harvest": _object({
            "is_enabled": BOOLEAN, "interval_minutes": INTEGER, "categories": {"type": "array", "items": STRING},
            "is_hf_daily_enabled": BOOLEAN, "next_run_at": _nullable(TIME),
        }),
        "job_runs": {"type": "array", "items": _object({
            "id": _nullable(INTEGER), "job": STRING, "status": {"enum": ["running", "ok", "failed"]},
            "started_at": TIME, "finished_at": _nullable(TIME), "summary": STRING,
        })},
    }),
    "Trending": _object({
        "ok": {"const": True}, "window": {"enum": ["day", "week", "month"]},
        "items": {"type": "array", "items": _object({
            "paper": _ref("Paper"), "score": NUMBER,
            "why": {**STRING, "description": "Why it is trending, in words."},
            "upvote_count": {**INTEGER, "description": "Upvotes here within the window."},
            "hf_upvote_count": {**INTEGER, "description": "Its Hugging Face count, when listed in the window."},
        })},
    }),
    "AuthorPapers": _object({
        "ok": {"const": True}, "name": STRING, "page": INTEGER, "page_size": INTEGER, "page_count": INTEGER,
        "paper_count": {**INTEGER, "description": "The author's papers here over all pages."},
        "next": {**_nullable(STRING), "description": "The next page's address (also in the Link header), "
                 "or null on the last page."},
        "papers": {"type": "array", "items": _ref("Paper")}}),
    "DigestState": _object({
        "ok": {"const": True}, "email": STRING,
        "is_subscribed": BOOLEAN, "is_confirmed": {**BOOLEAN, "description": "Double opt-in done."},
        "subscription": {"oneOf": [_ref("DigestChoices"), {"type": "null"}]},
        "saved_searches": {"type": "array", "items": _object({
            "id": INTEGER, "name": STRING, "query": STRING, "mode": STRING, "is_in_digest": BOOLEAN})},
    }),
    "DigestChoices": _object({
        "frequency": {"enum": ["daily", "weekly"]},
        "send_time": {**STRING, "description": "HH:MM, wall clock in timezone."},
        "timezone": {**STRING, "description": "An IANA name, e.g. Europe/Berlin."},
        "weekday": {**INTEGER, "minimum": 0, "maximum": 6, "description": "0 is Monday; weekly digests only."},
        "paper_count": {**INTEGER, "minimum": 1, "description": "Papers per digest."},
        "includes": {"type": "array", "items": {"enum": ["saved-search", "follow-up", "for-you", "trending"]}},
    }),
    "DigestChange": _object({
        "frequency": {"enum": ["daily", "weekly"]}, "send_time": STRING, "timezone": STRING,
        "weekday": {**INTEGER, "minimum": 0, "maximum": 6}, "paper_count": {**INTEGER, "minimum": 1},
        "includes": {"type": "array", "items": {"enum": ["saved-search", "follow-up", "for-you", "trending"]}},
        "saved_searches_in_digest": {"type": "array", "items": INTEGER},
    }, required=[], description="Only the choices to change."),
    "Me": _object({"ok": {"const": True}, "username": STRING, "is_admin": BOOLEAN}),
    "Vote": _object({
        "ok": {"const": True}, "arxiv_id": STRING,
        "upvote_count": {**INTEGER, "description": "Upvotes on this site (Hugging Face's count is apart)."},
        "is_upvoted": {**BOOLEAN, "description": "Whether the token's user now upvotes the paper."},
    }),
    "Comment": _object(COMMENT_FIELDS, description="A comment on a paper; a deleted or hidden one keeps its "
                                                    "place while it has replies."),
    "CommentThread": _object({**COMMENT_FIELDS, "replies": {"type": "array", "items": _ref("Comment")}},
                             description="A top-level comment and its replies, oldest first."),
    "Comments": _object({
        "ok": {"const": True}, "arxiv_id": STRING,
        "comment_count": {**INTEGER, "description": "Shown comments: neither deleted nor hidden."},
        "comments": {"type": "array", "items": _ref("CommentThread")},
    }),
    "CommentPosted": _object({"ok": {"const": True}, "comment": _ref("Comment")}),
    "NewComment": _object({
        "body": {**STRING, "maxLength": 10_000, "description": "Markdown, at most 10,000 characters."},
        "parent_id": {**INTEGER, "minimum": 1, "description": "Reply to this comment (a reply to a reply "
                                                             "joins its thread)."},
    }, required=["body"]),
}
# The bearer token of RFC 6750; each personal operation names the scope it needs.
SECURITY_SCHEMES = {
    "token": {"type": "http", "scheme": "bearer",
              "description": "A personal API token (pw_...) from /settings/tokens, scope read or write "
                             "(write implies read)."},
}


def _param(name: str, where: str, schema: dict, description: str, *, required: bool = False) -> dict:
    return {"name": name, "in": where, "required": required or where == "path", "schema": schema,
            "description": description}


def _page_params(default_size: int) -> list[dict]:
    return [
        _param("page", "query", {**INTEGER, "minimum": 1, "maximum": MAX_PAGE, "default": 1}, "The page, from 1."),
        _param("page_size", "query", {**INTEGER, "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": default_size},
               f"Papers per page, at most {MAX_PAGE_SIZE}; more is refused with 400."),
    ]


ARXIV_ID = _param("arxiv_id", "path", {**STRING, "examples": ["2501.00001", "2501.00001v2"]},
                  "An arXiv id, with or without a version (old-style ids such as hep-th/9901001 too).")
SEARCH_PARAMS = [
    _param("q", "query", {**STRING, "maxLength": 1000},
           'What to find: words, "phrases", -excluded, author:, cat:, year:2024.., has:code.'),
    _param("mode", "query", {"enum": list(MODES), "default": MODES[0]},
           "hybrid: words and meaning; lexical: words only; semantic: meaning only."),
    _param("sort", "query", {"enum": list(SORTS), "default": SORTS[0]}, "The order of the results."),
    _param("cat", "query", {**STRING, "pattern": r"^[A-Za-z\-]+(\.[A-Za-z\-]+)?( [A-Za-z\-]+(\.[A-Za-z\-]+)?)*$"},
           "arXiv categories, separated by spaces or commas, e.g. cs.CL."),
    _param("from", "query", {**INTEGER, "minimum": MIN_YEAR, "maximum": MAX_YEAR}, "Papers from this year on."),
    _param("until", "query", {**INTEGER, "minimum": MIN_YEAR, "maximum": MAX_YEAR}, "Papers up to this year."),
    _param("has_code", "query", {"enum": ["1", "0", "true", "false"]}, "Only papers with a code link."),
]


def _operation(summary: str, description: str, schema: str, parameters: list[dict], errors: list[str],
               tag: str) -> dict:
    responses = {"200": {"description": "OK", "content": {"application/json": {"schema": _ref(schema)}}}}
    for status in errors + ["405", "413", "500"]:
        responses[status] = {"description": ERRORS[status],
                             "content": {"application/json": {"schema": _ref("Error")}}}
    return {"get": {"summary": summary, "description": description, "tags": [tag], "parameters": parameters,
                    "operationId": summary.lower().replace(" ", "_").replace("'", ""), "responses": responses}}


def _personal(method: str, summary: str, description: str, schema: str, *, scope: str | None,
              parameters: list[dict], errors: list[str], body: str | None = None, status: str = "200") -> dict:
    """An operation that may change things or needs a token (`scope`), with a JSON `body`."""
    operation = _operation(summary, description, schema, parameters, errors, "community")["get"]
    if status != "200":
        operation["responses"] = {status: {**operation["responses"].pop("200"), "description": "Created"},
                                  **operation["responses"]}
    if scope is not None:
        operation["security"] = [{"token": [scope]}]
        operation["description"] += f" Needs an API token with scope `{scope}`."
        for code in ("401", "403"):
            operation["responses"][code] = {"description": ERRORS[code],
                                            "content": {"application/json": {"schema": _ref("Error")}}}
    if body is not None:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(body)}}}
    return {method: operation}


COMMUNITY_PATHS = {
    f"{PREFIX}/me": _personal(
        "get", "Who am I", "The account the API token belongs to.", "Me", scope="read", parameters=[], errors=[]),
    f"{PREFIX}/digest/subscription": {
        **_personal("get", "Get the digest subscription", "Whether the account gets email digests, its "
                    "choices and saved searches (as /digest/settings shows them).", "DigestState",
                    scope="read", parameters=[], errors=[]),
        **_personal("put", "Change the digest subscription", "Change some choices (the rest stay). Subscribing "
                    "stays on /digest/settings: it needs the confirmation mail answered.", "DigestState",
                    scope="write", parameters=[], errors=["400", "404"], body="DigestChange"),
    },
    f"{PREFIX}/papers/{{arxiv_id}}/upvote": {
        **_personal("post", "Upvote a paper", "Upvote as the token's user; again changes nothing.", "Vote",
                    scope="write", parameters=[ARXIV_ID], errors=["404", "429"]),
        **_personal("delete", "Take back an upvote", "Remove the token user's upvote, if any.", "Vote",
                    scope="write", parameters=[ARXIV_ID], errors=["404", "429"]),
    },
    f"{PREFIX}/papers/{{arxiv_id}}/comments": {
        **_personal("get", "List comments", "The discussion as a visitor sees it: top-level comments oldest "
                    "first, each with its replies.", "Comments", scope=None, parameters=[ARXIV_ID], errors=["404"]),
        **_personal("post", "Post a comment", "A comment (or a reply, with parent_id) in Markdown; rendered "
                    "with raw HTML off and sanitised.", "CommentPosted", scope="write", parameters=[ARXIV_ID],
                    errors=["400", "404", "429"], body="NewComment", status="201"),
    },
}

PATHS = {
    f"{PREFIX}/papers/{{arxiv_id}}": _operation(
        "Get a paper", "The paper at its latest known version, with its places on community daily lists.",
        "PaperWithEntries", [ARXIV_ID], ["404"], "papers"),
    f"{PREFIX}/papers/{{arxiv_id}}/similar": _operation(
        "Similar papers", "Papers nearest in meaning (by title words until the paper has a vector).",
        "Similar", [ARXIV_ID], ["404", "503"], "papers"),
    f"{PREFIX}/days/{{day}}": _operation(
        "List a day", "A page of one day's papers: the community list first (on page 1), then the day's other "
        "papers, newest first. `latest` names the newest day with papers.", "DayPage",
        [_param("day", "path", {**STRING, "examples": ["2025-03-01", "latest"]},
                "A day as YYYY-MM-DD, or latest."), *_page_params(DAY_PAGE_SIZE)],
        ["400", "404"], "papers"),
    f"{PREFIX}/search": _operation(
        "Search papers", "A page of papers for a query and filters, as /search shows them. A page past the last "
        "answers 404.", "SearchPage", [*SEARCH_PARAMS, *_page_params(SEARCH_PAGE_SIZE)],
        ["400", "404", "503"], "search"),
    f"{PREFIX}/status": _operation(
        "Status", "Store counts, the background harvest and recent job runs.", "Status", [], [], "status"),
    f"{PREFIX}/trending": _operation(
        "Trending", "The trending papers of a window, best first, each saying why, as /trending shows them.",
        "Trending", [_param("window", "query", {"enum": ["day", "week", "month"], "default": "week"},
                            "Which signals count and how fast they fade.")], ["400"], "community"),
    f"{PREFIX}/authors/{{name}}": _operation(
        "An author's papers", "Papers here with an author of this name (case, accents and punctuation aside), "
        "newest first, a page at a time; a page past the last answers 404.", "AuthorPapers",
        [_param("name", "path", {**STRING, "maxLength": 200, "examples": ["Ada Lovelace"]}, "The author's name."),
         *_page_params(AUTHOR_PAGE_SIZE)],
        ["400", "404"], "community"),
    **COMMUNITY_PATHS,
}


def document() -> dict:
    """The OpenAPI 3.1 document of /api/v1 (openapi_library.document adds the library's)."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "paperwire API", "version": __version__,
            "summary": "Research papers from arXiv and Hugging Face Daily Papers: by day, by search, by paper.",
            "description": "Reading is open; personal endpoints take a bearer token (`Authorization: Bearer "
                           "pw_...`, made at /settings/tokens) with scope read or write. Every "
                           "error is `{\"ok\": false, \"error\": \"...\", \"status\": N}` with that HTTP status. "
                           "See docs/api.md for feeds, exports and a Python client.",
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "servers": [{"url": "/"}],
        "paths": PATHS,
        "components": {"schemas": SCHEMAS, "securitySchemes": SECURITY_SCHEMES},
    }
