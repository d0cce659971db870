"""Inputs for the fuzz tests: hostile text, JSON values, ids and dates, mixed with
values that are nearly right, so parsers are driven past their first check."""

from __future__ import annotations

from hypothesis import strategies as st

# Values from issue #15 and its neighbours: each has broken something, somewhere.
NASTY = [
    "", " ", "   ", "\x00", "\x1b[31m", "\x9b2J", "\u202e", "\u2066", "\ud800", "\udfff", "\ufeff",
    "cs.LG", "cs.CL cs.LG", "cs", "math.GT", "hep-th", "94A29", "I.2.7; I.2.6",
    "2501.00001", "2501.00001v2", "2599.00006", "hep-th/9901001", "math.GT/0309136v1",
    "2501.00001v99999999999999999999", "2501.00001v0", "arXiv:2501.00001", "https://arxiv.org/abs/2501.00001",
    "2025-01-02", "2025-01-02T03:04:05Z", "2025-02-30", "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00", "9999-12-31", "1990-12-31", "Mon, 2 Apr 2007 19:18:42 GMT",
    "Mon, 1 Jan 0001 00:00:00 +0100", "v1", "v2", "v99999999999999999999", "v", "1107kb", "0kb",
    "javascript:alert(1)", "https://github.com/a/b", "http://", "A. One (MIT, USA), B. Two and C. Three",
    "Last, First", "((((", "))))", "x" * 300,
]

any_text = st.text(st.characters(blacklist_categories=()), max_size=40)  # surrogates included
text = st.one_of(st.sampled_from(NASTY), any_text)
# XML 1.0 cannot carry NUL, most C0 controls or surrogates; everything else may come.
xml_text = st.one_of(st.sampled_from(NASTY), any_text).map(
    lambda s: "".join(ch for ch in s if ch in "\t\n\r" or ("\x20" <= ch <= "\ud7ff") or ("\ue000" <= ch <= "\ufffd")
                      or ch > "\uffff")
)
numbers = st.one_of(st.integers(), st.integers(min_value=-2**70, max_value=2**70),
                    st.floats(allow_nan=True, allow_infinity=True))
scalars = st.one_of(st.none(), st.booleans(), numbers, text)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(text, inner, max_size=4)),
    max_leaves=12,
)


def records(fields: list[str], base: dict) -> st.SearchStrategy[dict]:
    """A record: `base` with a few fields replaced by hostile values, or a random object."""
    replaced = st.dictionaries(st.sampled_from(fields), json_values, max_size=4).map(lambda f: {**base, **f})
    deleted = st.sets(st.sampled_from(fields)).map(lambda names: {k: v for k, v in base.items() if k not in names})
    return st.one_of(replaced, replaced, deleted, st.dictionaries(st.sampled_from(fields) | text, json_values,
                                                                  max_size=8))
