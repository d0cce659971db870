"""When a digest is due: the period key of a subscription at a given instant, pure.

A period is one digest's slot: a local calendar day for daily digests
(`2026-12-02`) and an ISO week for weekly ones (`2026-W49`), both in the
subscriber's time zone. Its key is half of the outbox's (subscriber, period)
key, so it must be a function of the subscription and the period alone, never
of when the job happened to run. Running the job, and remembering which periods
were sent, belong to the job and the outbox (docs/digests.md).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from paperwire.digest.subscribers import Subscription

# arXiv announces new papers at 20:00 US Eastern, Sunday to Thursday, and not on
# Friday or Saturday (https://info.arxiv.org/help/availability.html; see also
# /work/shared/notes/sources.md section 4). Holidays also skip an announcement:
# such a day's digest is then skipped as "nothing-new" rather than predicted here.
ANNOUNCE_ZONE = ZoneInfo("America/New_York")
ANNOUNCE_TIME = time(20, 0)
ANNOUNCE_WEEKDAYS = frozenset({6, 0, 1, 2, 3})  # date.weekday(): Sunday=6, Monday=0 ... Thursday=3
# How far back to look for the latest due period: a daily digest has one at least
# every three days (Thursday's announcement reaches Friday or so; next is Sunday),
# a weekly one every seven; eight days covers both with a day to spare.
LOOKBACK_DAYS = 8


def due_period(subscription: Subscription, now: datetime) -> str | None:
    """The key of the latest period whose send time has come by `now`, or None if none has yet.

    None also when that period's send time came before the subscription was
    made: a new subscriber's first digest is the next one, not one sent at once.
    A job that was down for days catches up with the latest period only.
    """
    for day in _days_back(subscription, now):
        send_at = send_time_on(subscription, day)
        if send_at <= now and _is_digest_day(subscription, day):
            return period_key(subscription, day) if send_at >= subscription.created_at else None
    return None


def send_time_on(subscription: Subscription, day: date) -> datetime:
    """The instant (UTC) of the subscriber's send time on local `day`.

    A send time that does not exist that day (inside a spring-forward gap) falls
    an hour later, and one that exists twice (autumn) means the first, as
    zoneinfo's fold=0 gives (PEP 495).
    """
    local = datetime.combine(day, subscription.send_time, tzinfo=subscription.zone)
    # In UTC: PEP 495 makes a local time that exists twice compare unequal to every
    # datetime in another zone, which would turn equal instants into a surprise.
    return local.astimezone(timezone.utc)


def period_key(subscription: Subscription, day: date) -> str:
    """`2026-12-02` for a daily digest sent on local `day`, `2026-W49` for a weekly one."""
    if subscription.frequency == "weekly":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    return day.isoformat()


def announcements_between(start_at: datetime, end_at: datetime) -> list[datetime]:
    """arXiv's announcement instants in (start_at, end_at], oldest first."""
    day = start_at.astimezone(ANNOUNCE_ZONE).date()
    found = []
    while day <= end_at.astimezone(ANNOUNCE_ZONE).date():
        announced_at = datetime.combine(day, ANNOUNCE_TIME, tzinfo=ANNOUNCE_ZONE)
        if day.weekday() in ANNOUNCE_WEEKDAYS and start_at < announced_at <= end_at:
            found.append(announced_at)
        day += timedelta(days=1)
    return found


def _is_digest_day(subscription: Subscription, day: date) -> bool:
    """Weekly: the chosen weekday. Daily: a day with an announcement since the previous
    day's send time, so a reader anywhere gets one digest per announcement."""
    if subscription.frequency == "weekly":
        return day.weekday() == subscription.weekday
    previous_at = send_time_on(subscription, day - timedelta(days=1))
    return bool(announcements_between(previous_at, send_time_on(subscription, day)))


def _days_back(subscription: Subscription, now: datetime):
    today = now.astimezone(subscription.zone).date()
    return (today - timedelta(days=n) for n in range(LOOKBACK_DAYS))


def period_label(key: str) -> str:
    """A period key as a reader says it: `Wednesday 2 December 2026`, `week 49 of 2026`."""
    if "-W" in key:
        year, week = key.split("-W")
        return f"week {int(week)} of {year}"
    day = date.fromisoformat(key)
    return f"{day:%A} {day.day} {day:%B %Y}"
