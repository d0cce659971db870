"""papers.code_links: repository addresses as abstracts and comments write them."""

import pytest

from paperwire.papers import code_links


@pytest.mark.parametrize("text, expected", [
    ("Code is available at https://github.com/openai/whisper.", ["https://github.com/openai/whisper"]),
    ("Code: \\url{https://github.com/foo/bar-baz}", ["https://github.com/foo/bar-baz"]),
    ("see github.com/Foo/Bar.git for code", ["https://github.com/Foo/Bar"]),
    ("at https://www.github.com/a/b/tree/main/src", ["https://github.com/a/b"]),
    ("released at https://github.\ncom/x/y", []),  # a break inside the host name is not repaired
    ("released at https://github.com/\nx/y", ["https://github.com/x/y"]),
    ("https://gitlab.com/group/project and https://codeberg.org/me/tool)",
     ["https://gitlab.com/group/project", "https://codeberg.org/me/tool"]),
    ("https://bitbucket.org/team/repo, https://gitee.com/o/r", ["https://bitbucket.org/team/repo",
                                                              "https://gitee.com/o/r"]),
    ("weights at https://huggingface.co/meta-llama/Llama-3-8B", ["https://huggingface.co/meta-llama/Llama-3-8B"]),
    ("demo: huggingface.co/spaces/user/demo; data huggingface.co/datasets/org/set",
     ["https://huggingface.co/spaces/user/demo", "https://huggingface.co/datasets/org/set"]),
    ("https://huggingface.co/papers/2401.00001 and https://huggingface.co/spaces/x", []),
    ("https://github.com/orgs/acme/projects and https://github.com/features/copilot", []),
    ("only an owner: https://github.com/someone", []),
    ("a project page https://someone.github.io/project", []),
    ("mail me@github.com/x/y", []),
    ("https://git.sr.ht/~sir/tool", ["https://git.sr.ht/~sir/tool"]),
    ("twice: github.com/a/b and https://github.com/a/b.", ["https://github.com/a/b"]),
    ("", []),
])
def test_code_links(text, expected):
    assert code_links(text) == expected


def test_code_links_reads_every_text_in_order():
    assert code_links(None, "x github.com/a/b", "github.com/c/d github.com/a/b") == [
        "https://github.com/a/b", "https://github.com/c/d",
    ]
