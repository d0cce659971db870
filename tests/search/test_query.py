import pytest

from paperwire.search.query import MAX_QUERY_CHARS, Query, parse


@pytest.mark.parametrize(
    "text, expected",
    [
        ("diffusion models", Query(terms=("diffusion", "models"))),
        ('"protein folding" alphafold', Query(terms=("alphafold",), phrases=("protein folding",))),
        ('"single"', Query(terms=("single",))),
        ("-survey -\"large language\"", Query(excluded=("survey", "large language"))),
        ("author:hinton", Query(authors=("hinton",))),
        ('author:"Geoffrey  Hinton"', Query(authors=("geoffrey hinton",))),
        ("cat:cs.CL cat:math", Query(categories=("cs.CL", "math"))),
        ("year:2024", Query(year_from=2024, year_to=2024)),
        ("year:2020..2023", Query(year_from=2020, year_to=2023)),
        ("year:2023..2020", Query(year_from=2020, year_to=2023)),
        ("year:..2019", Query(year_to=2019)),
        ("year:2015..", Query(year_from=2015)),
        ("year:2020..2023 year:2022..", Query(year_from=2022, year_to=2023)),
        ("has:code", Query(has_code=True)),
        ("is:withdrawn", Query(withdrawn=True)),
        ("attention -is:withdrawn", Query(terms=("attention",), withdrawn=False)),
        ("is:withdrawn -is:withdrawn", Query(withdrawn=False)),  # the last one typed wins
        ("is:draft", Query(ignored=("is:draft",))),
        ("Transformers TRANSFORMERS", Query(terms=("transformers",))),
    ],
)
def test_parse_syntax(text, expected):
    assert parse(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("", Query()),
        (None, Query()),
        ("   \t\n ", Query()),
        ('"unclosed phrase', Query(phrases=("unclosed phrase",))),
        ('foo"bar', Query(terms=("foo", "bar"))),
        ('""', Query()),
        ("- -- ---", Query()),
        ("-", Query()),
        ("author:", Query(terms=("author:",))),
        ("author: smith", Query(terms=("author:", "smith"))),
        ("year:soon", Query(ignored=("year:soon",))),
        ("year:20240", Query(ignored=("year:20240",))),
        ("year:20202023", Query(ignored=("year:20202023",))),
        ("year:1066", Query(ignored=("year:1066",))),
        ("year:..", Query(ignored=("year:..",))),
        ("has:pdf", Query(ignored=("has:pdf",))),
        ("cat:cs.CL;drop", Query(ignored=("cat:cs.CL;drop",))),
        ("-author:smith", Query(ignored=("-author:smith",))),
        ("BERT: pre-training", Query(terms=("bert:", "pre-training"))),
        ("title:attention", Query(terms=("title:attention",))),
        ("a\x00b \x01c\x7f", Query(terms=("a", "b", "c"))),
        ("ü日本語 \u201cquoted words\u201d", Query(terms=("ü日本語",), phrases=("quoted words",))),
        ("'; DROP TABLE papers; --", Query(terms=("drop", "table", "papers;"))),
        ("NEAR(a b) OR c* AND ^d", Query(terms=("near(a", "b)", "or", "c*", "and", "^d"))),
    ],
)
def test_parse_hostile_input_never_raises(text, expected):
    assert parse(text) == expected


def test_parse_cuts_very_long_queries():
    query = parse("word " * 5_000 + "x" * 20_000)
    assert len(query.text) <= MAX_QUERY_CHARS
    assert parse("x" * 10_000).terms == ("x" * MAX_QUERY_CHARS,)


def test_parse_impossible_year_range_is_kept_empty():
    query = parse("year:2024 year:2020")
    assert (query.year_from, query.year_to) == (2024, 2020)


def test_query_text_and_has_filters():
    query = parse('graph "neural network" cat:cs.LG')
    assert query.text == "graph neural network"
    assert query.has_filters
    assert not parse("graph").has_filters
