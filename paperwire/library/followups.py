"""Follow-ups: what changed on a saved paper that its reader wants to hear about.

A pure rule comparing the record the store held with the one after a merge
(`papers.merge`): a new arXiv version, a code repository, a journal reference,
a DOI, or a withdrawal. Who saved the paper, the "Updates" page and digests are
left to the store and the web layer (docs/library.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from paperwire.papers import Paper

# The kinds, in the order a page lists them for one paper.
KINDS = ("withdrawn", "new-version", "code", "journal-ref", "doi")


@dataclass(frozen=True)
class FollowUp:
    """One change worth telling: its `kind` (one of KINDS) and what is new (`detail`)."""

    arxiv_id: str
    kind: str
    detail: str


def followups(old: Paper, new: Paper) -> list[FollowUp]:
    """What `new` brings that `old` lacked, in KINDS order; empty when nothing did.

    A new version counts only when the old record knew its version (a source that
    does not say gives 0, and then any number is news to us, not to the reader).
    The version that withdraws a paper is told as the withdrawal alone.
    """
    found = []
    if new.is_withdrawn and not old.is_withdrawn:
        found.append(FollowUp(new.arxiv_id, "withdrawn", new.comments or "withdrawn"))
    before, after = latest_version(old), latest_version(new)
    if before and after > before and not found:
        found.append(FollowUp(new.arxiv_id, "new-version", f"v{after}"))
    for kind, name in (("code", "code_url"), ("journal-ref", "journal_ref"), ("doi", "doi")):
        if getattr(new, name) and not getattr(old, name):
            found.append(FollowUp(new.arxiv_id, kind, getattr(new, name)))
    return found


def latest_version(paper: Paper) -> int:
    """The highest version number the record knows, 0 when it knows none."""
    return max([paper.version, *(v.number for v in paper.versions)])
