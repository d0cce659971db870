"""arXiv's category taxonomy: which classification strings are arXiv categories.

Sources mix arXiv categories (`cs.LG`, `hep-th`) with other schemes' codes: the
API lists MSC and ACM classes as `category` terms, crawled JSONL puts `68T50`
or `I.2.7; I.2.6` in its category lists, and OAI `oai_dc` names subjects in
words ("Computer Science - Learning"). `split_classes` keeps arXiv categories as
categories and everything else as subject classes, so category filters and
counts mean one thing and nothing a source said is dropped.

The table is arXiv's category taxonomy, https://arxiv.org/category_taxonomy,
plus the archives that were merged away but still appear on old papers
(https://info.arxiv.org/help/arxiv_identifier.html lists them as id prefixes).
"""

from __future__ import annotations

import re
from typing import Iterable

# archive -> the name arXiv's listings (and OAI-PMH dc:subject) give it
ARCHIVES = {
    "astro-ph": "Astrophysics", "cond-mat": "Condensed Matter", "cs": "Computer Science",
    "econ": "Economics", "eess": "Electrical Engineering and Systems Science",
    "gr-qc": "General Relativity and Quantum Cosmology", "hep-ex": "High Energy Physics - Experiment",
    "hep-lat": "High Energy Physics - Lattice", "hep-ph": "High Energy Physics - Phenomenology",
    "hep-th": "High Energy Physics - Theory", "math": "Mathematics", "math-ph": "Mathematical Physics",
    "nlin": "Nonlinear Sciences", "nucl-ex": "Nuclear Experiment", "nucl-th": "Nuclear Theory",
    "physics": "Physics", "q-bio": "Quantitative Biology", "q-fin": "Quantitative Finance",
    "quant-ph": "Quantum Physics", "stat": "Statistics",
    # archives merged into others, still the category of older papers
    "acc-phys": "Accelerator Physics", "adap-org": "Adaptation, Noise, and Self-Organizing Systems",
    "alg-geom": "Algebraic Geometry", "ao-sci": "Atmospheric-Oceanic Sciences",
    "atom-ph": "Atomic, Molecular and Optical Physics", "bayes-an": "Bayesian Analysis",
    "chao-dyn": "Chaotic Dynamics", "chem-ph": "Chemical Physics", "cmp-lg": "Computation and Language",
    "comp-gas": "Cellular Automata and Lattice Gases", "dg-ga": "Differential Geometry",
    "funct-an": "Functional Analysis", "mtrl-th": "Materials Theory", "patt-sol": "Pattern Formation and Solitons",
    "plasm-ph": "Plasma Physics", "q-alg": "Quantum Algebra and Topology", "solv-int": "Exactly Solvable and Integrable Systems",
    "supr-con": "Superconductivity",
}

# archive -> {subject class: name}
_SUBJECTS = {
    "astro-ph": {
        "CO": "Cosmology and Nongalactic Astrophysics", "EP": "Earth and Planetary Astrophysics",
        "GA": "Astrophysics of Galaxies", "HE": "High Energy Astrophysical Phenomena",
        "IM": "Instrumentation and Methods for Astrophysics", "SR": "Solar and Stellar Astrophysics",
    },
    "cond-mat": {
        "dis-nn": "Disordered Systems and Neural Networks", "mes-hall": "Mesoscale and Nanoscale Physics",
        "mtrl-sci": "Materials Science", "other": "Other Condensed Matter", "quant-gas": "Quantum Gases",
        "soft": "Soft Condensed Matter", "stat-mech": "Statistical Mechanics",
        "str-el": "Strongly Correlated Electrons", "supr-con": "Superconductivity",
    },
    "cs": {
        "AI": "Artificial Intelligence", "AR": "Hardware Architecture", "CC": "Computational Complexity",
        "CE": "Computational Engineering, Finance, and Science", "CG": "Computational Geometry",
        "CL": "Computation and Language", "CR": "Cryptography and Security",
        "CV": "Computer Vision and Pattern Recognition", "CY": "Computers and Society",
        "DB": "Databases", "DC": "Distributed, Parallel, and Cluster Computing", "DL": "Digital Libraries",
        "DM": "Discrete Mathematics", "DS": "Data Structures and Algorithms",
        "ET": "Emerging Technologies", "FL": "Formal Languages and Automata Theory",
        "GL": "General Literature", "GR": "Graphics", "GT": "Computer Science and Game Theory",
        "HC": "Human-Computer Interaction", "IR": "Information Retrieval", "IT": "Information Theory",
        "LG": "Machine Learning", "LO": "Logic in Computer Science", "MA": "Multiagent Systems",
        "MM": "Multimedia", "MS": "Mathematical Software", "NA": "Numerical Analysis",
        "NE": "Neural and Evolutionary Computing", "NI": "Networking and Internet Architecture",
        "OH": "Other Computer Science", "OS": "Operating Systems", "PF": "Performance",
        "PL": "Programming Languages", "RO": "Robotics", "SC": "Symbolic Computation",
        "SD": "Sound", "SE": "Software Engineering", "SI": "Social and Information Networks",
        "SY": "Systems and Control",
    },
    "econ": {"EM": "Econometrics", "GN": "General Economics", "TH": "Theoretical Economics"},
    "eess": {
        "AS": "Audio and Speech Processing", "IV": "Image and Video Processing",
        "SP": "Signal Processing", "SY": "Systems and Control",
    },
    "math": {
        "AC": "Commutative Algebra", "AG": "Algebraic Geometry", "AP": "Analysis of PDEs",
        "AT": "Algebraic Topology", "CA": "Classical Analysis and ODEs", "CO": "Combinatorics",
        "CT": "Category Theory", "CV": "Complex Variables", "DG": "Differential Geometry",
        "DS": "Dynamical Systems", "FA": "Functional Analysis", "GM": "General Mathematics",
        "GN": "General Topology", "GR": "Group Theory", "GT": "Geometric Topology",
        "HO": "History and Overview", "IT": "Information Theory", "KT": "K-Theory and Homology",
        "LO": "Logic", "MG": "Metric Geometry", "MP": "Mathematical Physics", "NA": "Numerical Analysis",
        "NT": "Number Theory", "OA": "Operator Algebras", "OC": "Optimization and Control",
        "PR": "Probability", "QA": "Quantum Algebra", "RA": "Rings and Algebras",
        "RT": "Representation Theory", "SG": "Symplectic Geometry", "SP": "Spectral Theory",
        "ST": "Statistics Theory",
    },
    "nlin": {
        "AO": "Adaptation and Self-Organizing Systems", "CD": "Chaotic Dynamics",
        "CG": "Cellular Automata and Lattice Gases", "PS": "Pattern Formation and Solitons",
        "SI": "Exactly Solvable and Integrable Systems",
    },
    "physics": {
        "acc-ph": "Accelerator Physics", "ao-ph": "Atmospheric and Oceanic Physics",
        "app-ph": "Applied Physics", "atm-clus": "Atomic and Molecular Clusters",
        "atom-ph": "Atomic Physics", "bio-ph": "Biological Physics", "chem-ph": "Chemical Physics",
        "class-ph": "Classical Physics", "comp-ph": "Computational Physics",
        "data-an": "Data Analysis, Statistics and Probability", "ed-ph": "Physics Education",
        "flu-dyn": "Fluid Dynamics", "gen-ph": "General Physics", "geo-ph": "Geophysics",
        "hist-ph": "History and Philosophy of Physics", "ins-det": "Instrumentation and Detectors",
        "med-ph": "Medical Physics", "optics": "Optics", "plasm-ph": "Plasma Physics",
        "pop-ph": "Popular Physics", "soc-ph": "Physics and Society", "space-ph": "Space Physics",
    },
    "q-bio": {
        "BM": "Biomolecules", "CB": "Cell Behavior", "GN": "Genomics", "MN": "Molecular Networks",
        "NC": "Neurons and Cognition", "OT": "Other Quantitative Biology", "PE": "Populations and Evolution",
        "QM": "Quantitative Methods", "SC": "Subcellular Processes", "TO": "Tissues and Organs",
    },
    "q-fin": {
        "CP": "Computational Finance", "EC": "Economics", "GN": "General Finance",
        "MF": "Mathematical Finance", "PM": "Portfolio Management", "PR": "Pricing of Securities",
        "RM": "Risk Management", "ST": "Statistical Finance", "TR": "Trading and Market Microstructure",
    },
    "stat": {
        "AP": "Applications", "CO": "Computation", "ME": "Methodology", "ML": "Machine Learning",
        "OT": "Other Statistics", "TH": "Statistics Theory",
    },
}

# Archives that are only groups of categories: "cs" or "math" alone is no category,
# while "astro-ph" and "cond-mat" were categories before they had subject classes.
_GROUPS = {"cs", "econ", "eess", "math", "nlin", "physics", "q-bio", "q-fin", "stat"}

# every arXiv category -> its name, e.g. "cs.LG" -> "Machine Learning"
CATEGORIES: dict[str, str] = {
    **{archive: name for archive, name in ARCHIVES.items() if archive not in _GROUPS},
    **{f"{archive}.{code}": name for archive, codes in _SUBJECTS.items() for code, name in codes.items()},
}

# OAI-PMH oai_dc names subjects as "<archive name> - <category name>", or the archive
# name alone for a category without subject classes ("Quantum Physics", "Astrophysics").
_SUBJECT_NAMES: dict[str, str] = {
    **{name: archive for archive, name in ARCHIVES.items() if archive not in _GROUPS},
    **{f"{ARCHIVES[archive]} - {name}": f"{archive}.{code}"
       for archive, codes in _SUBJECTS.items() for code, name in codes.items()},
}
# Names arXiv's listings used before the current taxonomy ("Computer Science - Learning").
_SUBJECT_NAMES.update({
    "Computer Science - Learning": "cs.LG",
    "Statistics - Machine Learning": "stat.ML",
})

_SEPARATORS = re.compile(r"\s*[;,]\s*")


def is_category(term: str) -> bool:
    """Whether `term` is an arXiv category (`cs.LG`, `hep-th`, `math.GT`)."""
    return term in CATEGORIES


def category_of_subject(name: str) -> str | None:
    """The category an oai_dc subject name stands for, e.g. "Quantum Physics" -> "quant-ph"."""
    return _SUBJECT_NAMES.get(" ".join(name.split()))


def split_classes(primary: str | None, terms: Iterable[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(arXiv categories, other subject classes) among `terms`, each once, in order,
    with `primary` first among the categories when it is one. A term such as
    `I.2.7; I.2.6` holds two classes."""
    categories = [primary] if primary and is_category(primary) else []
    others: list[str] = []
    for term in terms:
        for part in _SEPARATORS.split((term or "").strip()):
            if not part:
                continue
            bucket = categories if is_category(part) else others
            if part not in bucket:
                bucket.append(part)
    return tuple(categories), tuple(others)
