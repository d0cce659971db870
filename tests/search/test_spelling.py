"""spelling: edit distances against a plain dynamic programme, and picking a correction."""


from datetime import date

import numpy as np
import pytest

from paperwire.search.keywords import KeywordIndex, PaperFields
from paperwire.search.spelling import best_correction, distances
from tests.search.conftest import PAPERS

WORDS = ["", "a", "ab", "ba", "kitten", "sitting", "mitten", "diffusion", "difusion", "model", "modle",
         "models", "attention", "atention", "ü", "über", "uber"]


def levenshtein(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        previous, row[0] = row[0], i
        for j, cb in enumerate(b, start=1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (ca != cb))
    return row[-1]


def test_distances_agree_with_the_plain_programme_for_every_pair():
    for word in WORDS:
        assert distances(word, WORDS).tolist() == [levenshtein(word, other) for other in WORDS], word
    assert distances("x", []).tolist() == []


@pytest.mark.parametrize("word, expected", [
    ("difusion", "diffusion"),  # one edit
    ("modle", "models"),  # two edits from "model", one from its stem... the commonest wins
    ("atention", "attention"),
    ("zzzzzz", None),  # nothing within two edits
    ("abc", None),  # too short to guess
])
def test_best_correction(word, expected):
    surfaces = ["diffusion", "division", "models", "mode", "attention", "zebra"]
    stems = ["diffus", "divis", "model", "mode", "attent", "zebra"]
    counts = np.array([50, 20, 400, 30, 300, 5])
    stem = {"difusion": "difus", "modle": "modl", "atention": "atent"}.get(word, word)
    assert best_correction(word, surfaces, stems, stem, counts) == expected


def test_a_word_two_edits_away_needs_many_more_papers():
    # "diffusion" is one edit from "difusion", "division" two: division needs 10x the papers
    assert best_correction("difusion", ["diffusion", "division"], ["diffus", "divis"], "difus",
                           np.array([10, 99])) == "diffusion"
    assert best_correction("difusion", ["diffusion", "division"], ["diffus", "divis"], "difus",
                           np.array([10, 101])) == "division"


def test_the_index_suggests_only_for_rare_words():
    index = KeywordIndex.open(None)
    index.add(PAPERS)
    assert index.suggest("difusion") == "diffusion"
    assert index.suggest("atention") == "attention"
    assert index.suggest("attention") is None  # known, in four papers
    assert index.suggest("the") is None


def test_a_suggestion_is_kept_only_until_the_index_changes():
    index = KeywordIndex.open(None)
    index.add(PAPERS)
    assert index.suggest("quantom") is None  # no word near it yet
    assert index.suggest("quantom") is None  # asked again: from what was kept
    index.add([PaperFields(100 + n, f"Quantum annealing study {n}", "Quantum circuits on hardware.", ("A B",),
                           ("quant-ph",), date(2024, 1, 1)) for n in range(5)])
    assert index.suggest("quantom") == "quantum"  # the new snapshot is asked afresh
