"""arXiv categories against other classification schemes (issue #8)."""

from __future__ import annotations

import pytest

from paperwire.sources import taxonomy


@pytest.mark.parametrize("primary, terms, expected", [
    ("cs.LG", ["cs.LG", "stat.ML"], (("cs.LG", "stat.ML"), ())),
    (None, ["cs.IT", "math.IT", "94A29"], (("cs.IT", "math.IT"), ("94A29",))),
    (None, ["cs.CV", "I.4.2; E.4"], (("cs.CV",), ("I.4.2", "E.4"))),
    ("math.GT", ["57M25, 57M27", "math.GT"], (("math.GT",), ("57M25", "57M27"))),
    ("hep-th", ["hep-th", "alg-geom", "q-alg", "astro-ph"], (("hep-th", "alg-geom", "q-alg", "astro-ph"), ())),  # old archives
    (None, ["cs", "math.GT"], (("math.GT",), ("cs",))),  # a group of categories is not one
    ("physics.ed-ph", ["cond-mat.stat-mech", "cs.XX"], (("physics.ed-ph", "cond-mat.stat-mech"), ("cs.XX",))),
    ("94A29", ["94A29"], ((), ("94A29",))),  # a primary that is not a category is not one
    (None, ["", "  "], ((), ())),
])
def test_split_classes(primary, terms, expected):
    assert taxonomy.split_classes(primary, terms) == expected


@pytest.mark.parametrize("name, category", [
    ("Quantum Physics", "quant-ph"),
    ("Astrophysics", "astro-ph"),
    ("Computer Science - Information Theory", "cs.IT"),
    ("Physics - General Physics", "physics.gen-ph"),
    ("Mathematics - Geometric Topology", "math.GT"),
    ("High Energy Physics - Theory", "hep-th"),
    ("Computer Science - Learning", "cs.LG"),  # the name arXiv used before "Machine Learning"
    ("Improbability Studies", None),
])
def test_category_of_oai_dc_subject(name, category):
    assert taxonomy.category_of_subject(name) == category


def test_every_category_is_archive_or_archive_dot_subject():
    for category in taxonomy.CATEGORIES:
        archive = category.split(".", 1)[0]
        assert archive in taxonomy.ARCHIVES, category
