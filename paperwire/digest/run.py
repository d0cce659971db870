"""One digest run: recover, find who is due, gather and build their digests, queue them, send them once.

This module ties the pure parts of `paperwire.digest` (schedule, content, mail)
to the store's outbox (store/digests.py) in the order docs/digests.md, "The job",
gives: recovery of rows a dead process left, the due period of each
subscription, candidates from each included kind (the GATHERERS table), build,
queue in batches of DIGEST_BATCH (the record before the send), then each
queued digest claimed, sent with its `accepting` fence before the final dot,
and marked. `run` returns counts by outcome and skip reason; `run_job` is the
background job's entry (jobs/table.py) and the CLI's `paperwire digest run`
calls `run` itself. Deciding the protocol's steps atomically is the store's;
speaking SMTP is mail.py's.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable
from urllib.parse import parse_qs

from paperwire import trending
from paperwire.accounts import SECRET_KEY_CHECKPOINT, resolve_secret_key
from paperwire.config import Settings
from paperwire.digest import mail
from paperwire.digest.content import Candidate, Digest, Skip, build
from paperwire.digest.schedule import LOOKBACK_DAYS, due_period
from paperwire.digest.subscribers import Subscriber, Subscription
from paperwire.jobs.runs import JobFailed, record_job_run
from paperwire.search import Filters
from paperwire.store import Store
from paperwire.store.digests import Queued, SavedSearch

log = logging.getLogger(__name__)

JOB = "digest"
POLL_SECONDS = 15 * 60  # a digest is due at a reader's chosen minute; a quarter hour late is fine
# Digests built, queued and sent per batch: bounds the message bytes held at once
# (about 200 x 25 KB) whatever the number of subscribers (docs/digests.md).
DIGEST_BATCH = 200
# The periods a run looks back over: due_period never returns an older one.
PERIOD_LOOKBACK = timedelta(days=LOOKBACK_DAYS + 1)
TRENDING_WINDOWS = {"daily": trending.DAY, "weekly": trending.WEEK}
TRENDING_POOL = 50  # trending papers a digest may choose from
# A Hugging Face daily list counts from its day's 00:00 UTC (store trending_rows), and the
# list of a day fills during that day: a morning digest reaches back one more day so that
# yesterday's list is in it. digest_papers keeps a paper from coming twice.
TRENDING_LISTING_LAG = timedelta(days=1)
SAVED_SEARCH_POOL = 50  # newest matches of a saved search looked at
FOR_YOU_POOL = 50  # a reader's best recommendations a digest may choose from
FOLLOWUP_POOL = 50  # newest follow-ups on a reader's saved papers looked at
FOLLOWUP_WORDS = {"withdrawn": "withdrawn:", "new-version": "new version", "code": "code released:",
                  "journal-ref": "published in", "doi": "DOI"}
# arXiv announces a paper up to three days after it was submitted (a Thursday
# submission is announced on Sunday evening), so "announced since the last digest"
# reaches back this far in submission time; digest_papers keeps out repeats.
ANNOUNCE_LAG = timedelta(days=3)
# A claimed row's lease: long enough for its send (connect, MAIL, RCPT, DATA, each
# within the SMTP timeout) and its commits; recovery takes back only expired ones.
LEASE_SMTP_STEPS = 4
LEASE_MARGIN = timedelta(seconds=1)


class UnknownSubscriber(LookupError):
    """`--to` named an address that has no subscription."""


@dataclass
class RunReport:
    """What one run did: digests queued, sends by outcome, skips by reason, recovery, a stop."""

    queued_count: int = 0
    sent_count: int = 0
    unknown_count: int = 0
    failed_temporary_count: int = 0
    failed_permanent_count: int = 0
    requeued_count: int = 0
    recovered_sent_count: int = 0
    skipped: Counter = field(default_factory=Counter)
    stopped: str = ""  # the MailSetupError that stopped the run

    @property
    def did_anything(self) -> bool:
        return bool(self.queued_count or self.sent_count or self.unknown_count or self.failed_temporary_count
                    or self.failed_permanent_count or self.requeued_count or self.recovered_sent_count
                    or self.skipped.get("nothing-new") or self.stopped)

    def summary(self, *, is_dry_run: bool = False) -> str:
        """One line: "3 sent, 1 failed (temporary 1, permanent 0), 0 unknown, 4 skipped (...)"."""
        skips = ", ".join(f"{reason} {n}" for reason, n in sorted(self.skipped.items()))
        skipped = f"{sum(self.skipped.values())} skipped" + (f" ({skips})" if skips else "")
        if is_dry_run:
            return f"dry run: {self.queued_count} would be sent, {skipped}"
        failed = self.failed_temporary_count + self.failed_permanent_count
        line = (f"{self.sent_count} sent, {failed} failed (temporary {self.failed_temporary_count}, permanent "
                f"{self.failed_permanent_count}), {self.unknown_count} unknown, {skipped}")
        if self.requeued_count or self.recovered_sent_count:
            line += f", recovered {self.requeued_count} to resend and {self.recovered_sent_count} counted sent"
        return line + (f"; stopped: {self.stopped}" if self.stopped else "")


@dataclass
class Gathering:
    """What the gatherers share in one run: the store, search, `now`, and caches, so that a
    trending list or a saved search that many subscribers share is computed once."""

    store: Store
    now: datetime
    search: object | None  # a SearchService; None: no saved-search matches
    last_digest_at: dict[int, datetime] = field(default_factory=dict)
    saved: dict[int, list[SavedSearch]] = field(default_factory=dict)
    cache: dict = field(default_factory=dict)

    def cached(self, key, compute: Callable):
        if key not in self.cache:
            self.cache[key] = compute()
        return self.cache[key]


def _trending(gathering: Gathering, subscriber: Subscriber, subscription: Subscription) -> list[Candidate]:
    """The period's trending papers, ranked as /trending ranks them (trending.py)."""
    window = TRENDING_WINDOWS[subscription.frequency]
    return gathering.cached(("trending", window.name), lambda: _trending_candidates(gathering, window))


def _trending_candidates(gathering: Gathering, window: trending.Window) -> list[Candidate]:
    store, now = gathering.store, gathering.now
    start = now - window.span - TRENDING_LISTING_LAG
    items = trending.trending(store.trending_rows(since=start), now=now, window=window, start=start)[:TRENDING_POOL]
    papers = store.get_papers(item.arxiv_id for item in items) if items else {}
    return [Candidate(papers[i.arxiv_id], "trending", i.why) for i in items if i.arxiv_id in papers]


def _saved_search_matches(gathering: Gathering, subscriber: Subscriber,
                          subscription: Subscription) -> list[Candidate]:
    """Matches of the user's saved searches (those in the digest) submitted since their last
    digest, less ANNOUNCE_LAG; each search runs once per run whoever saved it."""
    if gathering.search is None or subscriber.user_id is None:
        return []
    since = _since(gathering, subscriber, subscription)
    found = []
    for saved in gathering.saved.get(subscriber.user_id, []):
        if saved.is_in_digest:
            hits = gathering.cached(("search", saved.query, saved.mode), lambda s=saved: _search(gathering, s))
            found += [Candidate(p, "saved-search", saved.name) for p in hits if _is_since(p, since)]
    return found


def _search(gathering: Gathering, saved: SavedSearch) -> list:
    text, filters = parse_saved_query(saved.query)
    results = gathering.search.search(gathering.store, text, mode=saved.mode, sort="newest", filters=filters,
                                      limit=SAVED_SEARCH_POOL, now=gathering.now)
    return [hit.paper for hit in results.page.hits]


def parse_saved_query(query: str) -> tuple[str, Filters]:
    """A saved search's query string (the search page's q, cat, from, until, has_code) as
    the text and filters `search()` takes; a value that does not parse is left out."""
    values = {name: items[-1] for name, items in parse_qs(query, keep_blank_values=True).items()}

    def year(name: str) -> int | None:
        text = values.get(name, "").strip()
        return int(text) if text.isascii() and text.isdigit() and len(text) == 4 else None

    categories = tuple(values.get("cat", "").replace(",", " ").split())
    has_code = values.get("has_code", "").lower() in ("1", "on", "true", "yes")
    return values.get("q", ""), Filters(categories=categories, year_from=year("from"), year_to=year("until"),
                                         has_code=has_code)


def _for_you(gathering: Gathering, subscriber: Subscriber, subscription: Subscription) -> list[Candidate]:
    """The account's "for you" list (kept current by the recommend job, library/foryou.py),
    best first, of papers submitted since the last digest, each with the saved paper it is like."""
    if subscriber.user_id is None:
        return []
    store, since = gathering.store, _since(gathering, subscriber, subscription)
    found = store.recommendations(subscriber.user_id, limit=FOR_YOU_POOL)
    papers = store.get_papers({r.arxiv_id for r in found} | {r.because_id for r in found}) if found else {}
    return [Candidate(papers[r.arxiv_id], "for-you", papers[r.because_id].title if r.because_id in papers else "")
            for r in found if r.arxiv_id in papers and _is_since(papers[r.arxiv_id], since)]


def _followups(gathering: Gathering, subscriber: Subscriber, subscription: Subscription) -> list[Candidate]:
    """News of the account's saved papers found since the last digest (library/followups.py:
    a new version, code, a journal reference, a DOI, a withdrawal), newest first. A paper
    the subscriber was already sent is not sent again (digest_papers), news or not."""
    if subscriber.user_id is None:
        return []
    store, since = gathering.store, _since(gathering, subscriber, subscription) + ANNOUNCE_LAG
    found = [f for f in store.followups_for(subscriber.user_id, limit=FOLLOWUP_POOL) if f.found_at >= since]
    papers = store.get_papers({f.arxiv_id for f in found}) if found else {}
    return [Candidate(papers[f.arxiv_id], "follow-up", f"{FOLLOWUP_WORDS.get(f.kind, f.kind)} {f.detail}".strip())
            for f in found if f.arxiv_id in papers]


def _since(gathering: Gathering, subscriber: Subscriber, subscription: Subscription) -> datetime:
    """Papers submitted after this are new to the subscriber: their last digest, less
    ANNOUNCE_LAG (or one period back for a first digest)."""
    window = TRENDING_WINDOWS[subscription.frequency].span
    return gathering.last_digest_at.get(subscriber.id, gathering.now - window) - ANNOUNCE_LAG


def _is_since(paper, since: datetime) -> bool:
    return paper.published_at is not None and paper.published_at >= since


# What each kind of candidate comes from, keyed by digest.REASONS.
GATHERERS: dict[str, Callable[[Gathering, Subscriber, Subscription], list[Candidate]]] = {
    "saved-search": _saved_search_matches,
    "follow-up": _followups,
    "for-you": _for_you,
    "trending": _trending,
}


def gather(gathering: Gathering, subscriber: Subscriber, subscription: Subscription) -> list[Candidate]:
    """Every candidate of the kinds the subscription includes."""
    return [candidate for reason, gatherer in GATHERERS.items() if reason in subscription.includes
            for candidate in gatherer(gathering, subscriber, subscription)]


# --- one run ------------------------------------------------------------------------------

def run(store: Store, settings: Settings, *, now: datetime, search=None, is_dry_run: bool = False,
        to: str | None = None, stop: threading.Event | None = None, is_nodelay: bool = True) -> RunReport:
    """Build, queue and send every due digest (only `to`'s with it). A dry run builds and
    counts but writes and sends nothing. Raises MailNotConfigured without an SMTP host
    (a dry run needs none), UnknownSubscriber for a `to` with no subscription;
    a MailSetupError stops the sending, leaves the rest queued and is in the report."""
    smtp = None if is_dry_run and not settings.smtp_host else mail.SmtpConfig.from_settings(settings)
    sender = smtp.sender if smtp else mail.parse_from(settings.smtp_from)
    audience = store.digest_audience(email=to)
    if to is not None and not audience:
        raise UnknownSubscriber(f"{to!r} has no digest subscription; `paperwire digest run` without --to "
                                "sends every due digest")
    report = RunReport()
    if not is_dry_run:
        report.requeued_count, report.recovered_sent_count = store.recover_digests(now=now)
    maker = _Maker(settings, store, sender, now)
    gathering = Gathering(store, now, search)  # one per run: its caches serve every batch
    with mail.Connection(smtp, is_nodelay=is_nodelay) if smtp else _NoConnection() as connection:
        for start in range(0, len(audience), DIGEST_BATCH):
            if stop is not None and stop.is_set():
                break
            queued = _build_batch(store, audience[start:start + DIGEST_BATCH], gathering, maker, report)
            if is_dry_run:
                report.queued_count += sum(1 for q in queued if not q.skip_reason)
                continue
            _queue(store, queued, now, report)
            if not _send_pending(store, connection, smtp, now, report, to_id=audience[0][0].id if to else None,
                                 stop=stop):
                break
        if not is_dry_run and not report.stopped:  # retries due from earlier runs
            _send_pending(store, connection, smtp, now, report, to_id=audience[0][0].id if to else None, stop=stop)
    return report


class RunStopped(JobFailed):
    """The run stopped because the SMTP server cannot be used as configured (MailSetupError);
    the message is the run's summary and what to change. What was not sent stays queued."""


def run_recorded(store: Store, settings: Settings, *, now: datetime, search=None, is_dry_run: bool = False,
                 to: str | None = None, stop: threading.Event | None = None) -> RunReport:
    """`run`, recorded as job run "digest" with its summary (a dry run is not recorded);
    raises RunStopped, recorded as a failed run, when a MailSetupError stopped it."""
    if is_dry_run:
        return run(store, settings, now=now, search=search, is_dry_run=True, to=to, stop=stop)
    mail.SmtpConfig.from_settings(settings)  # MailNotConfigured before a run is recorded
    reports = []

    def work() -> str:
        reports.append(run(store, settings, now=now, search=search, to=to, stop=stop))
        if reports[0].stopped:
            raise RunStopped(reports[0].summary())
        return reports[0].summary()

    record_job_run(store, JOB, work, now=now)
    return reports[0]


def run_job(store: Store, settings: Settings, *, now: datetime, search=None,
            stop: threading.Event | None = None) -> str | None:
    """The background job: a recorded run when a digest is due or waits to be sent; None
    when mail is not configured or nothing is due (so /status lists only runs that did work)."""
    if not settings.smtp_host or not is_due(store, now=now):
        return None
    try:
        return run_recorded(store, settings, now=now, search=search, stop=stop).summary()
    except RunStopped as stopped:
        return str(stopped)


def is_due(store: Store, *, now: datetime) -> bool:
    """Whether a run would do anything: a queued or retry-due digest, an expired lease to
    recover, or a confirmed subscriber whose due period has no outbox row yet."""
    if store.sendable_digests(now=now, limit=1) or store.has_expired_digest_leases(now=now):
        return True
    due = {s.id: p for s, c in store.digest_audience() if s.is_confirmed and not s.is_unsubscribed
           and (p := due_period(c, now)) is not None}
    periods = store.outbox_periods(due, since=now - PERIOD_LOOKBACK)
    return any(period not in periods.get(subscriber_id, ()) for subscriber_id, period in due.items())


class _Maker:
    """Turns a built digest into the exact bytes the outbox keeps (Date and Message-ID fixed now)."""

    def __init__(self, settings: Settings, store: Store, sender, now: datetime):
        key, should_save = resolve_secret_key(settings.secret_key, store.get_checkpoint(SECRET_KEY_CHECKPOINT))
        self.secret_key = store.claim_checkpoint(SECRET_KEY_CHECKPOINT, key) if should_save else key
        self.sender, self.base_url, self.now = sender, settings.base_url, now

    def message(self, digest: Digest, email: str) -> mail.Message:
        return mail.digest_message(digest, recipient=mail.parse_address(email), sender=self.sender,
                                   base_url=self.base_url, secret_key=self.secret_key, now=self.now)

    def queued(self, digest: Digest, email: str) -> Queued:
        message = self.message(digest, email)
        return Queued(digest.subscriber_id, digest.period, message.message_id, message.to_bytes(now=self.now),
                      digest.arxiv_ids)


def _build_batch(store: Store, batch: list[tuple[Subscriber, Subscription]], gathering: Gathering,
                 maker: _Maker, report: RunReport) -> list[Queued]:
    """The batch's due digests as rows to queue; the skips that take no row are counted."""
    now = gathering.now
    due = [(s, c, p) for s, c in batch if (p := due_period(c, now)) is not None]
    ids = [s.id for s, _, _ in due]
    periods = store.outbox_periods(ids, since=now - PERIOD_LOOKBACK)
    received = store.received_papers(ids)
    user_ids = [s.user_id for s, _, _ in due if s.user_id is not None]
    gathering.last_digest_at = store.last_digest_at(ids)
    gathering.saved = store.saved_searches(user_ids) if gathering.search is not None else {}
    queued = []
    for subscriber, subscription, period in due:
        built = built_digest(gathering, subscriber, subscription, period=period,
                             received=received.get(subscriber.id, set()),
                             sent_periods=periods.get(subscriber.id, set()), base_url=maker.base_url)
        if isinstance(built, Digest):
            queued.append(maker.queued(built, subscriber.email))
        elif built.reason == "nothing-new":
            queued.append(Queued(subscriber.id, period, skip_reason="nothing-new"))
        else:
            report.skipped[built.reason] += 1
    return queued


def built_digest(gathering: Gathering, subscriber: Subscriber, subscription: Subscription, *, period: str,
                 received, sent_periods, base_url: str) -> Digest | Skip:
    """build() for one subscriber, gathering candidates only when no cheaper skip applies."""
    first = build(subscriber, subscription, period=period, candidates=(), received=received,
                  sent_periods=sent_periods, base_url=base_url)
    if isinstance(first, Skip) and first.reason != "nothing-new":
        return first
    return build(subscriber, subscription, period=period, candidates=gather(gathering, subscriber, subscription),
                 received=received, sent_periods=sent_periods, base_url=base_url)


def _queue(store: Store, queued: list[Queued], now: datetime, report: RunReport) -> None:
    if not queued:
        return
    ids = store.queue_digests(queued, now=now, run_id=_running_job_run(store))
    for row, outbox_id in zip(queued, ids):
        if outbox_id is None:
            report.skipped["already-sent"] += 1  # another process queued this period first
        elif row.skip_reason:
            report.skipped[row.skip_reason] += 1
        else:
            report.queued_count += 1


def _running_job_run(store: Store) -> int | None:
    """The id of the "digest" job run in progress, if this run is one (run_job records it)."""
    return next((r.id for r in store.recent_job_runs(limit=5) if r.job == JOB and r.status == "running"), None)


def _send_pending(store: Store, connection, smtp, now: datetime, report: RunReport, *, to_id: int | None,
                  stop: threading.Event | None) -> bool:
    """Claim, send and mark every digest that may go now; False when the run must stop."""
    lease = LEASE_SMTP_STEPS * timedelta(seconds=smtp.timeout_seconds) + LEASE_MARGIN
    while True:
        pending = store.sendable_digests(now=now, limit=DIGEST_BATCH, subscriber_id=to_id)
        if not pending:
            return True
        for row in pending:
            if stop is not None and stop.is_set():
                return False
            claim = store.claim_digest(row.id, now=now, lease=lease)
            if claim is None:
                continue  # another sender took it
            if not _send_one(store, connection, row, claim, now, report):
                return False


class _LostLease(Exception):
    """The fence found the row no longer ours: the final dot must not be sent."""


def _send_one(store: Store, connection: mail.Connection, row, claim: int, now: datetime,
              report: RunReport) -> bool:
    def fence() -> None:
        if not store.fence_digest(row.id, claim):
            raise _LostLease(f"digest {row.id} was taken over; not sending its final dot")

    try:
        delivery = connection.send_bytes(row.email, row.message, before_final_dot=fence)
    except _LostLease as lost:
        log.warning("%s", lost)
        return True
    except mail.MailSetupError as error:
        store.release_digest(row.id, claim)
        report.stopped = str(error)
        return False
    next_attempt_at = mail.retry_at(row.attempt_count + 1, now) if delivery.status == "failed-temporary" else None
    state = store.mark_digest(row.id, claim, status=delivery.status, now=now, code=delivery.code,
                              detail=delivery.detail, next_attempt_at=next_attempt_at)
    _count(report, delivery.status, state)
    return True


def _count(report: RunReport, status: str, state: str | None) -> None:
    if status == "sent":
        report.sent_count += 1
    elif status == "unknown":
        report.unknown_count += 1
    elif state == "failed-temporary":
        report.failed_temporary_count += 1
    else:
        report.failed_permanent_count += 1


class _NoConnection:
    """A dry run's stand-in for mail.Connection: it never sends."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None
