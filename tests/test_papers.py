from datetime import datetime, timezone

import pytest
from hypothesis import given, settings, strategies as st

from paperwire.papers import (
    InvalidArxivId, Version, display_text, from_dict, is_day_only, is_withdrawal_comment, merge,
    normalise_name, parse_arxiv_id, to_dict,
)
from tests.conftest import make_paper


@pytest.mark.parametrize("text, expected", [
    ("2501.00001", ("2501.00001", None)),
    ("2501.00001v3", ("2501.00001", 3)),
    ("0704.0001", ("0704.0001", None)),
    ("hep-th/9901001", ("hep-th/9901001", None)),
    ("hep-th/9901001v2", ("hep-th/9901001", 2)),
    ("math.GT/0309136v1", ("math/0309136", 1)),  # the subject class is not part of the id
    ("math/0309136v2", ("math/0309136", 2)),
    ("http://arxiv.org/abs/2501.00001v2", ("2501.00001", 2)),
    ("https://arxiv.org/pdf/2501.00001v1.pdf", ("2501.00001", 1)),
    ("oai:arXiv.org:hep-th/9901001", ("hep-th/9901001", None)),
    ("arXiv:2501.00001", ("2501.00001", None)),
    ("  2501.00001 \n", ("2501.00001", None)),
])
def test_parse_arxiv_id(text, expected):
    assert parse_arxiv_id(text) == expected


@pytest.mark.parametrize("text", ["", "2501.1", "hello", "2501.00001v", "../etc/passwd", "2501.00001<script>"])
def test_parse_arxiv_id_rejects(text):
    with pytest.raises(InvalidArxivId, match="is not an arXiv id"):
        parse_arxiv_id(text)


@pytest.mark.parametrize("raw, shown", [
    ("A  title\n  wrapped over\nlines", "A title wrapped over lines"),
    (r"$\alpha$-stable laws", "α-stable laws"),
    (r"Erd\H{o}s and Schr\"{o}dinger", "Erdős and Schrödinger"),
    (r"{\em Emphasised} and \textbf{bold}", "Emphasised and bold"),
    (r"Costs 5\% in $O(n \log n)$", r"Costs 5% in O(n \log n)"),
    ("<b>not html</b>", "<b>not html</b>"),  # escaping is the template's job
    (None, ""),
])
def test_display_text(raw, shown):
    assert display_text(raw) == shown


def test_normalise_name_folds_accents_and_case():
    assert normalise_name("José  García-López") == "jose garcia-lopez"


def test_merge_newer_wins_and_fills_gaps():
    old = make_paper(version=1, doi="10.1/old", code_url=None)
    new = make_paper(version=2, title="New", doi=None, versions=(Version(2),))
    merged = merge(old, new)
    assert (merged.version, merged.title, merged.doi) == (2, "New", "10.1/old")
    assert [v.number for v in merged.versions] == [1, 2]


def test_merge_older_only_fills_gaps():
    new = make_paper(version=3, title="Kept")
    older = make_paper(version=1, title="Ignored", code_url="https://github.com/a/b")
    merged = merge(new, older)
    assert (merged.version, merged.title, merged.code_url) == (3, "Kept", "https://github.com/a/b")


def test_merge_returns_old_object_when_nothing_changes():
    paper = make_paper()
    assert merge(paper, make_paper()) is paper


def test_dict_round_trip_and_hash_stability():
    paper = make_paper(published_at=datetime(2025, 1, 1, tzinfo=timezone.utc))
    assert from_dict(to_dict(paper)) == paper
    assert from_dict(to_dict(paper)).content_hash == paper.content_hash
    assert make_paper(title="Other").content_hash != paper.content_hash


@pytest.mark.parametrize("raw, shown", [
    (r"R\&D at 50\%of cost", "R&D at 50%of cost"),
    (r"snake\_case and \#1", "snake_case and #1"),
])
def test_display_text_escaped_symbols(raw, shown):
    assert display_text(raw) == shown


@pytest.mark.parametrize("comments, expected", [
    ("This paper has been withdrawn by the author due to a crucial error", True),
    ("this article has been withdrawn", True),
    ("Withdrawn: duplicate of arXiv:2501.00001", True),
    ("Paper withdrawn due to an error in Theorem 3", True),
    ("The submission was withdrawn from the conference", True),
    ("12 pages, 3 figures", False),
    ("We model withdrawn drugs", False),
    (None, False),
])
def test_is_withdrawal_comment(comments, expected):
    assert is_withdrawal_comment(comments) is expected


def test_is_day_only():
    assert is_day_only(datetime(2025, 3, 18, tzinfo=timezone.utc))
    assert not is_day_only(datetime(2025, 3, 18, 0, 0, 1, tzinfo=timezone.utc))
    assert not is_day_only(None)


def test_merge_newer_text_without_version_beats_older_known_version():
    v1 = make_paper(version=1, title="v1", doi="10.1/x")
    later = make_paper(version=0, title="later", updated_at=datetime(2025, 4, 15, tzinfo=timezone.utc),
                       versions=(), doi=None)
    for merged in (merge(v1, later), merge(later, v1)):
        assert (merged.title, merged.doi, merged.version) == ("later", "10.1/x", 0)
        assert merged.published_at == v1.published_at


def test_merge_version_named_by_history_when_dates_match():
    text = make_paper(version=0, title="OAI", updated_at=datetime(2025, 4, 15, tzinfo=timezone.utc), versions=())
    history = make_paper(version=2, title="raw", updated_at=datetime(2025, 4, 15, 9, tzinfo=timezone.utc),
                         versions=(Version(1), Version(2, datetime(2025, 4, 15, 9, tzinfo=timezone.utc))))
    merged = merge(text, history)  # same day: the known version wins the tie
    assert (merged.title, merged.version) == ("raw", 2)


def test_merge_keeps_a_withdrawal_only_an_unplaced_source_reports():
    arxiv = make_paper(version=2)
    hf = make_paper(version=0, updated_at=None, versions=(), is_withdrawn=True)
    assert merge(arxiv, hf).is_withdrawn and merge(hf, arxiv).is_withdrawn
    withdrawn_v3 = make_paper(version=3, is_withdrawn=True)
    assert merge(withdrawn_v3, arxiv).is_withdrawn and not merge(make_paper(version=1, is_withdrawn=True), arxiv).is_withdrawn


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab é-{}$\\\t\n\u00a0\u2003`'^~ct")), max_size=30))
def test_display_text_shortcut_changes_nothing(text):
    """The shortcut for text that needs no work gives what the full rules give."""
    from paperwire.papers import _display_text

    assert display_text(text) == (_display_text(text) if text else "")


def test_the_ascii_shortcut_of_needs_display_work_is_the_pattern_exactly():
    """Every ASCII string of one and two characters: the pattern's matches are at most two
    characters long and the shortcut's marks too, so agreeing on all of them is agreeing on
    every ASCII string."""
    from paperwire.papers import _NEEDS_DISPLAY_WORK, needs_display_work

    ascii_chars = [chr(c) for c in range(128)]
    for text in ascii_chars + [a + b for a in ascii_chars for b in ascii_chars]:
        assert needs_display_work(text) == bool(_NEEDS_DISPLAY_WORK.search(text)), repr(text)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_needs_display_work_is_the_pattern_on_any_text(text):
    from paperwire.papers import _NEEDS_DISPLAY_WORK, needs_display_work

    assert needs_display_work(text) == bool(_NEEDS_DISPLAY_WORK.search(text))


def test_nfkc_leaves_every_ascii_character_as_it_is():
    """search/text.py `words` skips NFKC for ASCII text on this ground."""
    import unicodedata

    assert all(unicodedata.normalize("NFKC", chr(c)) == chr(c) for c in range(128))
