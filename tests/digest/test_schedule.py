"""due_period(): daily on arXiv announcement days in the reader's time zone, weekly by ISO week.

Expected values are worked by hand from arXiv's schedule (announcements at
20:00 America/New_York, Sunday to Thursday); the property test checks the
counting rule instead: one daily digest per announcement, wherever the reader is.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from paperwire.digest import Subscription, due_period
from paperwire.digest.schedule import announcements_between, period_label, send_time_on

LONG_AGO = datetime(2026, 1, 1, tzinfo=timezone.utc)
NEW_YORK, TOKYO, BERLIN, LONDON = (ZoneInfo(z) for z in ("America/New_York", "Asia/Tokyo", "Europe/Berlin",
                                                           "Europe/London"))


def _daily(zone: str, at: time, **overrides) -> Subscription:
    return Subscription(1, created_at=overrides.pop("created_at", LONG_AGO), frequency="daily", send_time=at,
                        timezone=zone, **overrides)


def _local(zone, *args) -> datetime:
    return datetime(*args, tzinfo=zone)


# 2026-12-01 is a Tuesday; the week of 2026-11-30 (Monday) to 2026-12-06 (Sunday) is ISO week 49.
@pytest.mark.parametrize("zone, at, now, expected", [
    # New York at 08:00: Monday evening's announcement is Tuesday morning's digest.
    ("America/New_York", time(8), _local(NEW_YORK, 2026, 12, 1, 9), "2026-12-01"),
    # Before 08:00 on Tuesday, the latest due digest is Monday's (Sunday evening's announcement).
    ("America/New_York", time(8), _local(NEW_YORK, 2026, 12, 1, 7, 59), "2026-11-30"),
    # Friday morning carries Thursday's announcement; Saturday and Sunday mornings have none.
    ("America/New_York", time(8), _local(NEW_YORK, 2026, 12, 4, 8), "2026-12-04"),
    ("America/New_York", time(8), _local(NEW_YORK, 2026, 12, 6, 12), "2026-12-04"),
    ("America/New_York", time(8), _local(NEW_YORK, 2026, 12, 7, 7), "2026-12-04"),
    ("America/New_York", time(8), _local(NEW_YORK, 2026, 12, 7, 8), "2026-12-07"),
    # New York at 21:00: the same evening, Sunday to Thursday.
    ("America/New_York", time(21), _local(NEW_YORK, 2026, 12, 6, 21), "2026-12-06"),
    ("America/New_York", time(21), _local(NEW_YORK, 2026, 12, 5, 23), "2026-12-03"),
    # Tokyo at 09:00: Sunday 20:00 EST is Monday 10:00 JST, so that digest is Tuesday's;
    # Thursday's announcement reaches Saturday 09:00 JST.
    ("Asia/Tokyo", time(9), _local(TOKYO, 2026, 12, 8, 10), "2026-12-08"),
    ("Asia/Tokyo", time(9), _local(TOKYO, 2026, 12, 7, 12), "2026-12-05"),
    # The period is the reader's local day, not UTC's: 23:30 in New York is already tomorrow in UTC.
    ("America/New_York", time(23, 30), datetime(2026, 12, 2, 4, 45, tzinfo=timezone.utc), "2026-12-01"),
])
def test_daily_periods_follow_announcements_in_the_readers_zone(zone, at, now, expected):
    assert due_period(_daily(zone, at), now) == expected


def test_the_window_counts_an_announcement_at_exactly_the_send_time_once():
    # 2026-03-08 is when the US moves to EDT while London stays on GMT: Sunday 20:00 EDT is
    # Monday 00:00 GMT exactly, so a London reader at 00:00 gets it on Monday 9 March...
    london_midnight = _daily("Europe/London", time(0))
    assert due_period(london_midnight, _local(LONDON, 2026, 3, 9, 0)) == "2026-03-09"
    # ...whereas a week earlier Sunday 20:00 EST was Monday 01:00 GMT, which is Tuesday's digest.
    assert due_period(london_midnight, _local(LONDON, 2026, 3, 2, 0, 30)) == "2026-02-28"
    assert due_period(london_midnight, _local(LONDON, 2026, 3, 3, 0)) == "2026-03-03"


@pytest.mark.parametrize("weekday, now, expected", [
    (0, _local(BERLIN, 2026, 12, 2, 12), "2026-W49"),      # Monday 08:00 came on 30 November (week 49)
    (0, _local(BERLIN, 2026, 11, 30, 7), "2026-W48"),      # before Monday 08:00: last week's
    (6, _local(BERLIN, 2026, 12, 6, 8), "2026-W49"),       # Sunday belongs to the ISO week it ends
    (3, _local(BERLIN, 2027, 1, 1, 9), "2026-W53"),        # Thursday 31 Dec 2026 is in 2026's week 53
    (4, _local(BERLIN, 2027, 1, 1, 9), "2026-W53"),        # Friday 1 Jan 2027 still is too
    (0, _local(BERLIN, 2027, 1, 4, 9), "2027-W01"),
])
def test_weekly_periods_are_iso_weeks_on_the_chosen_day(weekday, now, expected):
    weekly = Subscription(1, created_at=LONG_AGO, frequency="weekly", send_time=time(8), timezone="Europe/Berlin",
                          weekday=weekday)
    assert due_period(weekly, now) == expected


def test_a_new_subscription_waits_for_its_first_send_time():
    now = _local(NEW_YORK, 2026, 12, 1, 10)
    assert due_period(_daily("America/New_York", time(8), created_at=now - timedelta(minutes=5)), now) is None
    assert due_period(_daily("America/New_York", time(8), created_at=now - timedelta(hours=3)), now) == "2026-12-01"
    tomorrow = _local(NEW_YORK, 2026, 12, 2, 8)
    assert due_period(_daily("America/New_York", time(8), created_at=now), tomorrow) == "2026-12-02"


def test_send_times_across_daylight_saving_changes():
    # 2027-03-14 02:30 does not exist in New York (clocks jump 02:00 -> 03:00): it falls an hour later.
    early = _daily("America/New_York", time(2, 30))
    assert send_time_on(early, date(2027, 3, 14)) == datetime(2027, 3, 14, 7, 30, tzinfo=timezone.utc)
    # 2026-11-01 01:30 happens twice: the first (EDT, UTC-4) one counts.
    night = _daily("America/New_York", time(1, 30))
    assert send_time_on(night, date(2026, 11, 1)) == datetime(2026, 11, 1, 5, 30, tzinfo=timezone.utc)


ZONES = ["UTC", "America/New_York", "America/Los_Angeles", "Asia/Tokyo", "Asia/Kolkata", "Europe/London",
         "Pacific/Kiritimati", "Pacific/Pago_Pago", "Australia/Sydney"]
TIMES = [time(0), time(6, 30), time(19, 59), time(20), time(20, 1), time(23, 45)]


@pytest.mark.parametrize("zone", ZONES)
def test_every_announcement_makes_exactly_one_daily_period_in_any_zone(zone):
    """Sampling now every 4 hours (a period lasts at least a day) over five weeks that span
    both DST changes of March 2026 (US on the 8th, Europe on the 29th): the distinct periods
    due_period returns are as many as the announcements in between."""
    start = datetime(2026, 3, 1, tzinfo=timezone.utc)
    end = start + timedelta(weeks=5)
    for at in TIMES:
        subscription = _daily(zone, at)
        seen = []
        now = start
        while now < end:
            period = due_period(subscription, now)
            if period is not None and (not seen or seen[-1] != period):
                seen.append(period)
            now += timedelta(hours=4)
        assert seen == sorted(set(seen)), (zone, at)
        first_send = send_time_on(subscription, date.fromisoformat(seen[0]))
        last_send = send_time_on(subscription, date.fromisoformat(seen[-1]))
        assert len(seen) - 1 == len(announcements_between(first_send, last_send)), (zone, at, seen)


def test_announcements_are_sunday_to_thursday_at_20_eastern():
    week = announcements_between(datetime(2026, 11, 29, tzinfo=timezone.utc),
                                 datetime(2026, 12, 6, 6, tzinfo=timezone.utc))
    assert [a.strftime("%a %H:%M") for a in week] == ["Sun 20:00", "Mon 20:00", "Tue 20:00", "Wed 20:00", "Thu 20:00"]
    assert week[0] == datetime(2026, 11, 30, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize("key, label", [("2026-12-02", "Wednesday 2 December 2026"), ("2026-W49", "week 49 of 2026"),
                                        ("2027-W01", "week 1 of 2027")])
def test_period_label(key, label):
    assert period_label(key) == label


@pytest.mark.parametrize("overrides, message", [
    ({"frequency": "hourly"}, "frequency 'hourly' is not one of daily, weekly"),
    ({"timezone": "Mars/Olympus"}, "time zone 'Mars/Olympus' is unknown"),
    ({"timezone": "../etc/passwd"}, "time zone '../etc/passwd' is unknown"),
    ({"paper_count": 0}, "papers per digest 0 must be between 1 and 25"),
    ({"weekday": 7}, "weekday 7 must be 0"),
    ({"includes": frozenset({"spam"})}, "spam cannot be included"),
])
def test_a_subscription_refuses_choices_it_cannot_honour(overrides, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        Subscription(1, created_at=LONG_AGO, **overrides)
