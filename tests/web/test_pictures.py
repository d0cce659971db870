"""The topic map pages (/day/<day>/map, /week/<week>/map) and the status page's chart."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

import pytest

from paperwire import activity
from tests.conftest import make_paper

DAY = date(2025, 3, 4)  # a Tuesday of 2025-W10


def _at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=timezone.utc)


@pytest.fixture
def week_of_papers(store):
    """Twelve papers on DAY (one with a hostile title) and four on the Sunday of its week."""
    sunday = DAY + timedelta(days=5)
    store.upsert_papers(
        [make_paper(arxiv_id=f"2503.{n:05d}", title=f"Galaxy survey {n}", abstract="Redshift of galaxies.",
                    published_at=_at(DAY, n % 24), primary_category="astro-ph.GA", categories=("astro-ph.GA",))
         for n in range(1, 12)]
        + [make_paper(arxiv_id="2503.00099", title="<script>alert(1)</script> $x^2$", published_at=_at(DAY))]
        + [make_paper(arxiv_id=f"2503.{n:05d}", title=f"Sunday paper {n}", published_at=_at(sunday))
           for n in range(200, 204)],
        source="test",
    )
    return store


def _paper_links(html: str) -> list[str]:
    return re.findall(r'<a href="/paper/([^"]+)"', html)


def test_day_map_links_every_paper_of_the_day_in_the_picture_and_the_list(client, week_of_papers):
    response = client.get(f"/day/{DAY.isoformat()}/map")
    assert response.status_code == 200
    html = response.text
    svg = html[html.index("<svg"):html.index("</svg>")]
    day_ids = sorted([f"2503.{n:05d}" for n in range(1, 12)] + ["2503.00099"])
    assert sorted(re.findall(r'<a href="/paper/([^"]+)" tabindex="-1" aria-hidden="true">', svg)) == day_ids
    listed = html[html.index('id="topics-heading"'):]
    assert sorted(_paper_links(listed)) == day_ids
    assert 'role="group" aria-labelledby="map-title map-desc"' in svg
    assert "<script>alert" not in html
    assert "12 papers in 1 topic" in html
    assert f'href="/week/2025-W10/map"' in html


def test_week_map_takes_monday_to_sunday(client, week_of_papers):
    html = client.get("/week/2025-W10/map").text
    assert "16 papers" in html
    assert {"2503.00200", "2503.00001"} <= set(_paper_links(html))
    assert "Mon 3 Mar 2025 to Sun 9 Mar 2025" in html


def test_month_map_takes_the_whole_month_and_links_its_weeks(client, week_of_papers):
    store = week_of_papers
    store.upsert_papers([make_paper(arxiv_id="2503.00300", title="Last of March", published_at=_at(date(2025, 3, 31))),
                         make_paper(arxiv_id="2504.00001", title="April paper", published_at=_at(date(2025, 4, 1)))],
                        source="test")
    html = client.get("/month/2025-03/map").text
    assert "<h1>Topics of March 2025</h1>" in html and "17 papers" in html
    assert {"2503.00200", "2503.00001", "2503.00300"} <= set(_paper_links(html)) and "2504.00001" not in html
    assert 'href="/week/2025-W10/map"' in html and 'href="/week/2025-W14/map"' in html
    assert 'href="/month/2025-03/map"' in client.get("/month/2025-03").text


@pytest.mark.parametrize("path", ["/week/2025-W54/map", "/week/2025-10/map", "/day/2025-02-30/map",
                                  "/month/2025-13/map", "/month/2025-3/map"])
def test_bad_week_or_day_is_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert "is not a" in response.text


def test_map_of_an_empty_day_says_so(client, week_of_papers):
    html = client.get("/day/2024-01-01/map").text
    assert "No papers in this store for this day" in html and "<svg" not in html


def test_day_page_links_to_its_maps(client, week_of_papers):
    html = client.get(f"/day/{DAY.isoformat()}").text
    assert f'href="/day/{DAY.isoformat()}/map"' in html and 'href="/week/2025-W10/map"' in html


def test_status_chart_counts_papers_per_day_by_category(client, week_of_papers):
    html = client.get("/status").text
    assert 'aria-labelledby="per-day-title per-day-desc"' in html
    table = html[html.index('class="chart-numbers"'):]
    row = re.search(r"<tr><td class=\"nowrap\">Tue 4 Mar 2025</td>(.*?)</tr>", table).group(1)
    assert re.findall(r'<td class="num">(\d+)</td>', row) == ["11", "1"]  # astro-ph.GA, then cs.LG
    assert "<th class=\"num\">astro-ph.GA</th><th class=\"num\">cs.LG</th>" in table


def test_status_without_papers_has_no_chart(client, store):
    html = client.get("/status").text
    assert "Papers per day" not in html


@pytest.mark.parametrize("per_day, top, expected", [
    ([], 2, []),
    ([{"a": 3, "b": 1}, {"b": 2, "c": 5}], 2, [("c", [0, 5]), ("a", [3, 0]), ("other", [1, 2])]),
    ([{"a": 1}, {"b": 1}], 2, [("a", [1, 0]), ("b", [0, 1])]),  # ties by name; no "other" when empty
])
def test_by_category(per_day, top, expected):
    from collections import Counter

    days = [DAY + timedelta(days=n) for n in range(len(per_day))]
    counted = activity.by_category([Counter(c) for c in per_day], days, top=top)
    assert counted.series == expected
    assert counted.total_count == sum(sum(c.values()) for c in per_day)


def test_the_status_pages_counts_are_kept_until_a_write_and_then_at_least_their_minimum_age(store):
    now = [0.0]

    def counts():
        return activity.store_stats(store, clock=lambda: now[0])

    store.upsert_papers([make_paper(arxiv_id="2503.00001")], source="test")
    first = counts()
    assert first == store.stats() and first.paper_count == 1
    store.upsert_papers([make_paper(arxiv_id="2503.00002")], source="test")
    now[0] = activity.STATS_MIN_AGE_SECONDS - 1  # a write, but the counts are recent: kept
    assert counts() is first
    now[0] = activity.STATS_MIN_AGE_SECONDS + 1
    second = counts()
    assert second.paper_count == 2 == store.stats().paper_count
    now[0] = 3600.0  # no write since: kept however long
    assert counts() is second
