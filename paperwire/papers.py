"""The paper record, arXiv identifiers and text normalisation.

A `Paper` is what every source produces and what the store keeps: the
bibliographic facts of one arXiv paper at its latest known version. Sources
build papers; `merge` decides what a newer record changes; the store persists
them. Display helpers (`display_text`) live here because the web page, the feed
and the search snippets all need the same normalised title.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone

ARXIV_ABS_URL = "https://arxiv.org/abs/{arxiv_id}"
ARXIV_PDF_URL = "https://arxiv.org/pdf/{arxiv_id}"

# New-style ids since 2007-04: YYMM.NNNN (to 1412) or YYMM.NNNNN (from 1501),
# optionally followed by vN. https://info.arxiv.org/help/arxiv_identifier.html
# MM is a month: "2599.00006" is no id (issue #15 stored one).
_MONTH = r"(?:0[1-9]|1[0-2])"
_NEW_ID = re.compile(rf"(?P<id>\d\d{_MONTH}\.\d{{4,5}})(?:v(?P<version>\d+))?", re.ASCII)
# Old-style ids: archive(.SUBJ)/YYMMNNN, e.g. hep-th/9901001 or math.GT/0309136. The
# subject class is not part of the identifier ("math.GT/0309136" and "math/0309136"
# are one paper, https://info.arxiv.org/help/arxiv_identifier.html), so it is dropped.
_OLD_ID = re.compile(
    rf"(?P<archive>[a-z][a-z\-]*)(?:\.[A-Z]{{2}})?(?P<number>/\d\d{_MONTH}\d{{3}})(?:v(?P<version>\d+))?", re.ASCII
)
# No paper has had more than a few dozen versions; a larger number is a broken record
# (v99999999999999999999 overflowed the store's integers, issue #15).
MAX_VERSION = 1_000
_ID_PREFIXES = re.compile(
    r"^(?:https?://(?:export\.|www\.)?arxiv\.org/(?:abs|pdf)/|oai:arxiv\.org:|arxiv:)", re.I
)


class InvalidArxivId(ValueError):
    """Raised when a string is not an arXiv identifier."""


def parse_arxiv_id(text: str) -> tuple[str, int | None]:
    """Split an arXiv id, URL or OAI identifier into (canonical id without version, version or None).

    >>> parse_arxiv_id("http://arxiv.org/abs/hep-th/9901001v2")
    ('hep-th/9901001', 2)
    >>> parse_arxiv_id("math.GT/0309136v1")
    ('math/0309136', 1)
    """
    raw = (text or "").strip()
    candidate = _ID_PREFIXES.sub("", raw)
    if candidate.lower().endswith(".pdf"):
        candidate = candidate[:-4]
    match = _NEW_ID.fullmatch(candidate)
    if match:
        arxiv_id = match.group("id")
    else:
        match = _OLD_ID.fullmatch(candidate)
        arxiv_id = match.group("archive") + match.group("number") if match else None
    shown = repr(raw[:61])  # escapes make a repr up to 10 times longer: cut it too
    shown = shown if len(raw) <= 60 and len(shown) <= 80 else shown[:80] + "…"
    if match:
        version = match.group("version")
        if version and (len(version) > 4 or not 1 <= int(version) <= MAX_VERSION):
            raise InvalidArxivId(f"{shown} names a version arXiv never numbers (v1 to v{MAX_VERSION})")
        return arxiv_id, int(version) if version else None
    raise InvalidArxivId(
        f"{shown} is not an arXiv id; expected e.g. 2501.00001, 2501.00001v2 or hep-th/9901001"
    )


def parse_version(text: str) -> int:
    """The number of a version label, "v2" or "2"; raises ValueError for anything else,
    including numbers past MAX_VERSION."""
    digits = text.strip().removeprefix("v")
    if not (digits.isdecimal() and digits.isascii() and len(digits) <= 4 and 1 <= int(digits) <= MAX_VERSION):
        shown = repr(text) if len(text) <= 30 else repr(text[:30]) + "…"
        raise ValueError(f"version {shown} is not a version arXiv numbers (v1 to v{MAX_VERSION})")
    return int(digits)


@dataclass(frozen=True)
class Author:
    name: str
    affiliations: tuple[str, ...] = ()


@dataclass(frozen=True)
class Version:
    number: int
    submitted_at: datetime | None = None


@dataclass(frozen=True)
class Paper:
    """One arXiv paper at its latest known version.

    `version` is the version the held text is from, 0 when the source does not
    say (plain JSONL, Hugging Face, OAI `arXiv` records of revised papers).
    `title` and `abstract` are kept as the source wrote them; use
    `display_text` for rendering. `categories` are arXiv categories only;
    other classification codes (MSC `94A29`, ACM `I.4.2`) are `subject_classes`.
    A time of exactly 00:00:00 UTC stands for a date without a time (see `is_day_only`).
    """

    arxiv_id: str
    title: str
    abstract: str
    authors: tuple[Author, ...] = ()
    version: int = 0
    primary_category: str | None = None
    categories: tuple[str, ...] = ()
    published_at: datetime | None = None
    updated_at: datetime | None = None
    doi: str | None = None
    journal_ref: str | None = None
    comments: str | None = None
    license: str | None = None
    code_url: str | None = None
    project_url: str | None = None
    versions: tuple[Version, ...] = ()
    source: str = "unknown"
    is_withdrawn: bool = False
    subject_classes: tuple[str, ...] = ()

    @property
    def abs_url(self) -> str:
        return ARXIV_ABS_URL.format(arxiv_id=self.arxiv_id)

    @property
    def pdf_url(self) -> str:
        return ARXIV_PDF_URL.format(arxiv_id=self.arxiv_id)

    @property
    def day(self) -> date | None:
        """The UTC calendar day the paper was first published, which the daily page uses."""
        return self.published_at.astimezone(timezone.utc).date() if self.published_at else None

    @functools.cached_property
    def content_hash(self) -> str:
        """A stable digest of every field; equal papers have equal hashes.

        Built from a tuple of plain values rather than `to_dict`: re-ingest hashes
        every record, and dataclasses.asdict was most of its cost.
        """
        canonical = (
            self.arxiv_id, self.title, self.abstract,
            tuple((a.name, a.affiliations) for a in self.authors),
            self.version, self.primary_category, self.categories,
            _iso(self.published_at), _iso(self.updated_at), self.doi, self.journal_ref,
            self.comments, self.license, self.code_url, self.project_url,
            tuple((v.number, _iso(v.submitted_at)) for v in self.versions), self.source,
            self.is_withdrawn, self.subject_classes,
        )
        return hashlib.blake2b(repr(canonical).encode(), digest_size=16).hexdigest()


def text_hash(paper: Paper) -> str:
    """A digest of what the semantic index embeds (title and abstract)."""
    return hashlib.blake2b(f"{paper.title}\n{paper.abstract}".encode(), digest_size=16).hexdigest()


def to_dict(paper: Paper) -> dict:
    """The paper as plain JSON-ready data (our export and API format)."""
    data = dataclasses.asdict(paper)
    data["authors"] = [
        {"name": a.name, "affiliations": list(a.affiliations)} for a in paper.authors
    ]
    data["categories"] = list(paper.categories)
    data["subject_classes"] = list(paper.subject_classes)
    data["versions"] = [
        {"number": v.number, "submitted_at": _iso(v.submitted_at)} for v in paper.versions
    ]
    data["published_at"] = _iso(paper.published_at)
    data["updated_at"] = _iso(paper.updated_at)
    return data


def from_dict(data: dict) -> Paper:
    """Rebuild a paper from `to_dict` output; raises KeyError/ValueError on bad data."""
    return Paper(
        arxiv_id=data["arxiv_id"],
        title=data["title"],
        abstract=data["abstract"],
        authors=tuple(
            Author(a["name"], tuple(a.get("affiliations") or ())) for a in data.get("authors") or ()
        ),
        version=int(data.get("version") or 0),
        primary_category=data.get("primary_category"),
        categories=tuple(data.get("categories") or ()),
        published_at=parse_time(data.get("published_at")),
        updated_at=parse_time(data.get("updated_at")),
        doi=data.get("doi"),
        journal_ref=data.get("journal_ref"),
        comments=data.get("comments"),
        license=data.get("license"),
        code_url=data.get("code_url"),
        project_url=data.get("project_url"),
        versions=tuple(
            Version(int(v["number"]), parse_time(v.get("submitted_at")))
            for v in data.get("versions") or ()
        ),
        source=data.get("source") or "unknown",
        is_withdrawn=bool(data.get("is_withdrawn")),
        subject_classes=tuple(data.get("subject_classes") or ()),
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def parse_time(value: str | datetime | None) -> datetime | None:
    """Parse an ISO date or datetime into an aware UTC datetime; None stays None.

    A bare date means midnight UTC. Raises ValueError for text that is not a date.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        text = value.strip().replace("Z", "+00:00")
        parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    try:
        return parsed.astimezone(timezone.utc)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 is before year 1 in UTC (issue #15)
        raise ValueError(f"{parsed.isoformat()} is out of range in UTC") from None


def is_day_only(value: datetime | None) -> bool:
    """Whether `value` stands for a calendar day rather than a time.

    Sources that give only dates (OAI-PMH `created`/`updated`, plain JSONL days)
    are parsed to midnight UTC; arXiv's own times carry seconds, so a real event
    at exactly 00:00:00 UTC is 1 in 86,400 and is then shown as its day alone.
    """
    return value is not None and value.astimezone(timezone.utc).time() == time(0)


# "This paper has been withdrawn by the author", "Withdrawn", "Paper withdrawn due to ...":
# the wordings of arXiv withdrawal notices, not any use of the word.
_WITHDRAWN = re.compile(
    r"""\b(?:has\s+been|have\s+been|is|was|been)\s+withdrawn\b   # "... has been withdrawn"
      | ^\W*(?:this\s+)?(?:paper|article|submission|manuscript)?\s*withdrawn\b  # "Withdrawn ..." first""",
    re.IGNORECASE | re.VERBOSE,
)


def is_withdrawal_comment(comments: str | None) -> bool:
    """Whether an arXiv comments field announces a withdrawal, the way arXiv's withdrawal
    versions do ("This paper has been withdrawn by the author due to ...")."""
    return bool(comments and _WITHDRAWN.search(comments))


def merge(old: Paper, new: Paper) -> Paper:
    """What the store should hold after `new` arrives for a paper it holds as `old`.

    The rule, the same for every source (docs/sources.md): the record with the newer
    text wins (see `compare_recency`); on a tie the incoming record wins. The other
    record only fills fields the winner lacks (a code link from Hugging Face, a DOI
    the API left out), so no field is lost. Version histories are united; the
    first source to bring the paper stays its `source`. Returns `old` itself when
    nothing changes.
    """
    winner, loser = (old, new) if compare_recency(old, new) > 0 else (new, old)
    versions = _union_versions(old.versions, new.versions)
    merged = dataclasses.replace(
        winner,
        **{
            name: getattr(loser, name)
            for name in _FILLABLE
            if _is_empty(getattr(winner, name)) and not _is_empty(getattr(loser, name))
        },
        published_at=_precise(winner.published_at, loser.published_at),
        versions=versions,
        version=winner.version or _version_dated(versions, text_at(winner)),
        is_withdrawn=winner.is_withdrawn or (loser.is_withdrawn and not _is_placed(loser)),
        source=old.source,
    )
    return old if merged == old else merged


def text_at(paper: Paper) -> datetime | None:
    """When the version behind the paper's text appeared: `updated_at`, or for a
    record that says it is v1, `published_at`; None when the source does not say."""
    if paper.updated_at is not None:
        return paper.updated_at
    return paper.published_at if paper.version == 1 else None


def compare_recency(a: Paper, b: Paper) -> int:
    """1 if `a`'s text is newer than `b`'s, -1 if older, 0 if nothing tells them apart.

    In order: a higher known version is newer; else a later text date (compared by
    day when either source gives only a day); else a record with a version or a
    date beats one with neither (Hugging Face, undated JSONL); else a known version
    beats an unknown one. The relation is antisymmetric, so which record wins never
    depends on arrival order except on a full tie.
    """
    if a.version and b.version and a.version != b.version:
        return 1 if a.version > b.version else -1
    a_at, b_at = text_at(a), text_at(b)
    if a_at is not None and b_at is not None:
        if is_day_only(a_at) or is_day_only(b_at):
            a_at, b_at = a_at.date(), b_at.date()
        if a_at != b_at:
            return 1 if a_at > b_at else -1
    for known in (_is_placed, lambda p: p.version > 0):
        if known(a) != known(b):
            return 1 if known(a) else -1
    return 0


def _is_placed(paper: Paper) -> bool:
    return paper.version > 0 or text_at(paper) is not None


def _precise(winner: datetime | None, other: datetime | None) -> datetime | None:
    """The winner's time, unless it is a bare day and `other` is a time on that day."""
    if winner is None:
        return other
    if other is not None and is_day_only(winner) and not is_day_only(other) and other.date() == winner.date():
        return other
    return winner


def _version_dated(versions: tuple[Version, ...], at: datetime | None) -> int:
    """The number of the version submitted on `at`'s day, when the history names one; else 0."""
    if at is None:
        return 0
    matches = [v.number for v in versions if v.submitted_at and v.submitted_at.date() == at.date()]
    return matches[-1] if matches else 0


_FILLABLE = (
    "title", "abstract", "authors", "primary_category", "categories", "subject_classes",
    "updated_at", "doi", "journal_ref", "comments", "license", "code_url", "project_url",
)


def _is_empty(value) -> bool:
    return value is None or value == "" or value == ()


def _union_versions(a: tuple[Version, ...], b: tuple[Version, ...]) -> tuple[Version, ...]:
    """Every version either history names; a version's date is the more precise one given."""
    by_number: dict[int, Version] = {v.number: v for v in a}
    for v in b:
        held = by_number.get(v.number)
        if held is None or _precise(held.submitted_at, v.submitted_at) is not held.submitted_at:
            by_number[v.number] = v
    return tuple(by_number[n] for n in sorted(by_number))


# --- display normalisation -------------------------------------------------

_LATEX_REPLACEMENTS = {
    r"\alpha": "α", r"\beta": "β", r"\gamma": "γ", r"\delta": "δ", r"\epsilon": "ε",
    r"\varepsilon": "ε", r"\zeta": "ζ", r"\eta": "η", r"\theta": "θ", r"\kappa": "κ",
    r"\lambda": "λ", r"\mu": "μ", r"\nu": "ν", r"\xi": "ξ", r"\pi": "π", r"\rho": "ρ",
    r"\sigma": "σ", r"\tau": "τ", r"\phi": "φ", r"\varphi": "φ", r"\chi": "χ",
    r"\psi": "ψ", r"\omega": "ω", r"\Gamma": "Γ", r"\Delta": "Δ", r"\Theta": "Θ",
    r"\Lambda": "Λ", r"\Sigma": "Σ", r"\Phi": "Φ", r"\Psi": "Ψ", r"\Omega": "Ω",
    r"\infty": "∞", r"\times": "×", r"\cdot": "·", r"\leq": "≤", r"\le": "≤",
    r"\geq": "≥", r"\ge": "≥", r"\neq": "≠", r"\approx": "≈", r"\sim": "~",
    r"\pm": "±", r"\to": "→", r"\rightarrow": "→", r"\leftarrow": "←",
    r"\ell": "ℓ", r"\partial": "∂", r"\nabla": "∇", r"\sqrt": "√", r"\sum": "∑",
    r"\in": "∈", r"\ldots": "…", r"\dots": "…", r"\&": "&", r"\%": "%", r"\_": "_",
    r"\$": "$", r"\#": "#",
    # font switches inside a group, as in {\em word}: keep the word, drop the switch
    r"\em": "", r"\it": "", r"\bf": "", r"\rm": "", r"\sc": "", r"\tt": "",
}
_LATEX_COMMAND = re.compile(r"\\(?:[a-zA-Z]+(?![a-zA-Z])|[&%_$#])")
_LATEX_ACCENTS = {
    "'": "\u0301", "`": "\u0300", '"': "\u0308", "^": "\u0302", "~": "\u0303", "c": "\u0327",
    "=": "\u0304", ".": "\u0307", "u": "\u0306", "v": "\u030c", "H": "\u030b",
}
_LATEX_ACCENT = re.compile(r"""\{?\\(['`"^~=.]|[cuvH](?=[\s{]))\s*\{?([A-Za-z])\}?\}?""")
_TEXT_STYLE = re.compile(r"\\(?:textbf|textit|emph|mathrm|mathbf|mathcal|mathbb|text|texttt|textsc|mathit|boldsymbol)\s*\{([^{}]*)\}")
_WHITESPACE = re.compile(r"\s+")


# What display_text could change besides the ends: every rule below needs a backslash, a
# dollar, a brace, a double dash or whitespace other than single spaces.
_NEEDS_DISPLAY_WORK = re.compile(r"[\\${}]|--|\s\s|[^\S ]")
# The same test for ASCII text by substring search: the pattern scans text that needs
# nothing a character at a time (48 us for a 1,300-character abstract, against 8.5), a
# tenth of a search page's CPU (py-spy). In ASCII, whitespace other than a single space is
# a tab, a line or page break, or \x1c-\x1f, so two whitespace characters in a row are two
# spaces or contain one of those. Line breaks first: most stored abstracts have one early.
_ASCII_DISPLAY_MARKS = ("\n", "\\", "$", "{", "}", "--", "  ", "\t", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e",
                        "\x1f")
DISPLAY_CACHE_SIZE = 16_384  # titles, abstracts and names of a few hundred pages' papers


def display_text(text: str | None) -> str:
    """Collapse line wrapping and render common LaTeX for reading; the stored text is unchanged.

    Math stays readable rather than typeset: `$\\alpha$-stable` becomes `α-stable`.
    """
    if not text:
        return ""
    if not needs_display_work(text):  # most author names: nothing to do
        return text.strip()
    return _display_text(text)


def needs_display_work(text: str) -> bool:
    """Whether display_text changes `text` beyond stripping its ends."""
    if text.isascii():
        return any(mark in text for mark in _ASCII_DISPLAY_MARKS)
    return _NEEDS_DISPLAY_WORK.search(text) is not None


# A page of 50 cards asked this ~500 times (every author name, title and abstract), 40% of
# its time at 75k papers (bench/web.py); readers ask for the same days, so kept per process.
@functools.lru_cache(maxsize=DISPLAY_CACHE_SIZE)
def _display_text(text: str) -> str:
    out = _LATEX_ACCENT.sub(
        lambda m: unicodedata.normalize("NFC", m.group(2) + _LATEX_ACCENTS[m.group(1)]),
        text,
    )
    for _ in range(3):  # nested styles such as \textbf{\emph{x}}
        out = _TEXT_STYLE.sub(r"\1", out)
    out = _LATEX_COMMAND.sub(lambda m: _LATEX_REPLACEMENTS.get(m.group(0), m.group(0)), out)
    out = re.sub(r"(?<!\\)\$", "", out)
    out = re.sub(r"(?<!\\)[{}]", "", out)
    out = out.replace("\\$", "$")
    out = out.replace("--", "–") if "---" not in out else out.replace("---", "—")
    return _WHITESPACE.sub(" ", out).strip()


def normalise_name(name: str) -> str:
    """An author name folded for matching: lower case, no accents, single spaces."""
    decomposed = unicodedata.normalize("NFKD", display_text(name))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _WHITESPACE.sub(" ", re.sub(r"[^\w\s-]", " ", plain.lower())).strip()


# Code hosts whose /owner/name addresses are repositories. A Hugging Face
# address may start with spaces/, datasets/ or models/ (then owner/name follow).
CODE_HOSTS = ("github.com", "gitlab.com", "huggingface.co", "codeberg.org", "bitbucket.org", "gitee.com",
              "sr.ht", "git.sr.ht")
_CODE_LINK = re.compile(
    r"(?<![\w.@/-])(?:https?://)?(?:www\.)?(?P<host>" + "|".join(re.escape(h) for h in CODE_HOSTS) + r")"
    r"\s?/\s?(?P<path>[\w.~-]+(?:/[\w.~-]+){1,2})", re.IGNORECASE,
)
# Paths on these hosts that are pages of the site, not an owner's repositories.
_NOT_OWNERS = frozenset(
    "about apps blog collections docs enterprise explore features join login marketplace new orgs "
    "papers pricing search settings site sponsors tasks topics users".split()
)
_HF_KINDS = ("spaces", "datasets", "models")


def code_links(*texts: str | None) -> list[str]:
    """Repository addresses (GitHub, GitLab, Hugging Face, Codeberg, ...) named in `texts`,
    normalised to https://host/owner/name, first mention first, each once; [] if none.

    Abstracts and comments write them many ways: with or without https://, inside
    \\url{...}, at the end of a sentence, or broken by a line wrap after the host.
    """
    found: dict[str, None] = {}
    for text in texts:
        # Most texts name no host at all: a plain substring test rules them out at a tenth of
        # the pattern's cost (it was 14 % of indexing 2.7M papers, py-spy).
        folded = (text or "").casefold()  # as the pattern's IGNORECASE folds (ſ is s, K is k)
        if not any(host in folded for host in CODE_HOSTS):
            continue
        for match in _CODE_LINK.finditer(text or ""):
            host = match["host"].lower()
            parts = match["path"].split("/")
            if host == "huggingface.co" and parts[0].lower() in _HF_KINDS:
                parts = parts[:3] if len(parts) == 3 else []
            else:
                parts = parts[:2]
            parts = [p for p in parts if p.strip(".")]
            if len(parts) < 2 or parts[0].lower() in _NOT_OWNERS:
                continue
            name = re.sub(r"(?:\.git)?\.*$", "", parts[-1], flags=re.IGNORECASE)
            if name:
                found["https://" + "/".join([host, *parts[:-1], name])] = None
    return list(found)
