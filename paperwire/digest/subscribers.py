"""Who gets a digest and on what terms: the subscriber and subscription records.

These are the rows the digest tables will hold (docs/digests.md): a subscriber
is an email address with its opt-in state; a subscription is that subscriber's
choices (how often, when, in which time zone, what to include, how many papers).
The records validate what can be checked without a store; storing them,
confirming and unsubscribing belong to the store and the routes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# Why a paper may be in a digest; also the order in which kinds take turns filling one.
REASONS = ("saved-search", "follow-up", "for-you", "trending")
FREQUENCIES = ("daily", "weekly")
DEFAULT_PAPER_COUNT = 10
# Past about 25 papers a digest stops being read and starts being archived; the
# cap also bounds one mail's size (about 1.5 KB of HTML per paper).
MAX_PAPER_COUNT = 25


@dataclass(frozen=True)
class Subscriber:
    """An email address that asked for digests. Confirmed once its owner opened the confirmation link."""

    id: int
    email: str
    confirmed_at: datetime | None = None
    unsubscribed_at: datetime | None = None
    user_id: int | None = None  # the account it belongs to; None for a subscriber without one

    @property
    def is_confirmed(self) -> bool:
        return self.confirmed_at is not None

    @property
    def is_unsubscribed(self) -> bool:
        return self.unsubscribed_at is not None


@dataclass(frozen=True)
class Subscription:
    """A subscriber's choices. `send_time` is a wall-clock time in `timezone` (an IANA name);
    `weekday` (0 = Monday) matters for weekly digests only. `created_at` is when the
    choices were made: no period whose send time came before it is due."""

    subscriber_id: int
    created_at: datetime
    frequency: str = "daily"
    send_time: time = time(8, 0)
    timezone: str = "UTC"
    weekday: int = 0
    paper_count: int = DEFAULT_PAPER_COUNT
    includes: frozenset[str] = field(default_factory=lambda: frozenset(REASONS))

    def __post_init__(self):
        if self.frequency not in FREQUENCIES:
            raise ValueError(f"frequency {self.frequency!r} is not one of {', '.join(FREQUENCIES)}")
        if not 1 <= self.paper_count <= MAX_PAPER_COUNT:
            raise ValueError(f"papers per digest {self.paper_count} must be between 1 and {MAX_PAPER_COUNT}")
        if not 0 <= self.weekday <= 6:
            raise ValueError(f"weekday {self.weekday} must be 0 (Monday) to 6 (Sunday)")
        unknown = set(self.includes) - set(REASONS)
        if unknown:
            raise ValueError(f"{', '.join(sorted(unknown))} cannot be included; choose from {', '.join(REASONS)}")
        self.zone  # noqa: B018 - raises for an unknown time zone now rather than at send time

    @property
    def zone(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"time zone {self.timezone!r} is unknown; use an IANA name such as Europe/Berlin"
            ) from None
