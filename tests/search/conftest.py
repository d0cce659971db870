"""Ten hand-written papers with known best answers, for the search tests."""

from datetime import date

import pytest

from paperwire.search.keywords import PaperFields

PAPERS = [
    PaperFields(1, "Attention is all you need",
                "We propose the Transformer, a network architecture based solely on attention mechanisms.",
                ("Ashish Vaswani", "Noam Shazeer"), ("cs.CL", "cs.LG"), date(2017, 6, 12), True),
    PaperFields(2, "BERT: pre-training of deep bidirectional transformers",
                "A language representation model built from deep transformer encoders.",
                ("Jacob Devlin",), ("cs.CL",), date(2018, 10, 11)),
    PaperFields(3, "Deep residual learning for image recognition",
                "Residual networks ease the training of very deep networks for images.",
                ("Kaiming He",), ("cs.CV",), date(2015, 12, 10), True),
    PaperFields(4, "Denoising diffusion probabilistic models",
                "Diffusion models give high quality image synthesis.",
                ("Jonathan Ho",), ("cs.LG", "stat.ML"), date(2020, 6, 19), True),
    PaperFields(5, "Protein structure prediction with AlphaFold",
                "Protein folding solved by an attention based network.",
                ("John Jumper",), ("q-bio.BM",), date(2021, 7, 15)),
    PaperFields(6, "Graph attention networks",
                "Masked self attention over graph neighbourhoods.",
                ("Petar Veličković",), ("stat.ML",), date(2017, 10, 30)),
    PaperFields(7, "Adam: a method for stochastic optimization",
                "First-order gradient optimization of stochastic objectives.",
                ("Diederik Kingma", "Jimmy Ba"), ("cs.LG",), date(2014, 12, 22)),
    PaperFields(8, "Language models are few-shot learners",
                "Scaling up language models greatly improves few-shot performance.",
                ("Tom Brown",), ("cs.CL",), date(2020, 5, 28)),
    PaperFields(9, "Neural machine translation by jointly learning to align and translate",
                "An attention mechanism lets the decoder search the source sentence.",
                ("Dzmitry Bahdanau",), ("cs.CL",), date(2014, 9, 1)),
    PaperFields(10, "A survey of large language models",
                "We review large language models and their training.",
                ("Wayne Xin Zhao",), ("cs.CL",), date(2023, 3, 31)),
]


@pytest.fixture
def papers():
    return list(PAPERS)
