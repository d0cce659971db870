"""web/charts.py: grid values, bar scaling, label placement and the topic map's SVG."""

from __future__ import annotations

import re
from datetime import date, timedelta
from xml.etree import ElementTree

import pytest

from paperwire.topicmap import Point, Topic, TopicMap
from paperwire.web import charts

SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize("maximum, expected", [
    (0, [0, 1]), (-3, [0, 1]), (1, [0, 1]), (3, [0, 1, 2, 3]), (4, [0, 1, 2, 3, 4]), (7, [0, 2, 4, 6, 8]),
    (10, [0, 5, 10]), (530, [0, 200, 400, 600]), (1000, [0, 500, 1000]),
    (0.5, [0, 1]),
])
def test_nice_ticks(maximum, expected):
    assert charts.nice_ticks(maximum) == expected


def _parse(svg) -> ElementTree.Element:
    return ElementTree.fromstring(str(svg))


def _days(count):
    return [date(2025, 3, 1) + timedelta(days=n) for n in range(count)]


def test_bars_stack_in_order_and_scale_to_the_top_tick():
    days = _days(3)
    svg = _parse(charts.stacked_bars(days, [("cs.LG", [10, 0, 4]), ("cs.CL", [6, 0, 1])], title="Per day"))
    bars = svg.findall(f"{SVG}rect")
    assert [b.get("class") for b in bars] == ["series-0", "series-1", "series-0", "series-1"]
    inner = charts.CHART_HEIGHT - charts.CHART_MARGIN["top"] - charts.CHART_MARGIN["bottom"]
    top_tick = charts.nice_ticks(16)[-1]  # 16 papers on the first day
    heights = [float(b.get("height")) for b in bars]
    assert heights == pytest.approx([10 * inner / top_tick, 6 * inner / top_tick, 4 * inner / top_tick,
                                     1 * inner / top_tick], abs=0.06)
    first, second = bars[0], bars[1]  # cs.CL sits on cs.LG
    assert float(second.get("y")) + float(second.get("height")) == pytest.approx(float(first.get("y")), abs=0.06)
    assert [t.text for t in svg.iter(f"{SVG}title")][1:] == [
        "2025-03-01: 10 cs.LG", "2025-03-01: 6 cs.CL", "2025-03-03: 4 cs.LG", "2025-03-03: 1 cs.CL"]
    assert svg.get("role") == "img" and svg.get("aria-labelledby") == "chart-title chart-desc"
    assert "cs.LG 14; cs.CL 7" in svg.find(f"{SVG}desc").text


@pytest.mark.parametrize("days, series", [([], []), (_days(5), [("cs.LG", [0] * 5)])])
def test_an_empty_chart_says_so(days, series):
    svg = _parse(charts.stacked_bars(days, series, title="Per day"))
    assert svg.findall(f"{SVG}rect") == []
    assert svg.find(f"{SVG}desc").text == "No papers in this period."
    assert "no papers" in [t.text for t in svg.iter(f"{SVG}text")]


def test_every_seventh_day_is_labelled_ending_with_the_last():
    svg = _parse(charts.stacked_bars(_days(30), [("cs.LG", [1] * 30)], title="t"))
    labels = [t.text for t in svg.iter(f"{SVG}text") if t.get("text-anchor") == "middle"]
    assert labels == ["2 Mar", "9 Mar", "16 Mar", "23 Mar", "30 Mar"]


def test_series_names_are_escaped():
    svg = str(charts.stacked_bars(_days(1), [("<b>x</b>", [2])], title="a <i> & b"))
    assert "<b>" not in svg and "<i>" not in svg and "&lt;b&gt;x&lt;/b&gt;" in svg
    _parse(svg)


def test_labels_are_kept_apart_and_inside():
    """Every pair of placed labels is apart, however the anchors crowd."""
    anchors = [(400, 300, 180)] * 6 + [(5, 5, 120), (795, 555, 200), (410, 305, 60)]
    placed = charts.label_boxes(anchors)
    line = charts.LABEL_LINE_HEIGHT
    for (x, y), (_, _, w) in zip(placed, anchors):
        assert w / 2 <= x <= charts.MAP_WIDTH - w / 2 and line <= y <= charts.MAP_HEIGHT
    for i, ((x1, y1), (_, _, w1)) in enumerate(zip(placed, anchors)):
        for (x2, y2), (_, _, w2) in list(zip(placed, anchors))[i + 1:]:
            assert abs(y1 - y2) >= line or abs(x1 - x2) >= (w1 + w2) / 2, (x1, y1, x2, y2)


def test_the_topic_map_links_every_paper_with_its_title():
    made = TopicMap(
        points=(Point("2503.00001", "A <script>alert(1)</script> title", 0.0, 0.0, 0),
                Point("2503.00002", "Second", 1.0, 1.0, 1)),
        topics=(Topic(0, ("alpha", "beta"), ("2503.00001",)), Topic(1, (), ("2503.00002",))),
        basis="words",
    )
    text = str(charts.topic_map(made, title="Topics & more"))
    assert "<script>" not in text
    svg = _parse(text)
    links = svg.findall(f"{SVG}a")
    assert [a.get("href") for a in links] == ["/paper/2503.00001", "/paper/2503.00002"]
    assert [a.find(f"{SVG}circle").get("class") for a in links] == ["topic-0", "topic-1"]
    assert [a.find(f"{SVG}circle/{SVG}title").text for a in links] == ["A <script>alert(1)</script> title", "Second"]
    circles = [a.find(f"{SVG}circle") for a in links]
    assert (circles[0].get("cx"), circles[0].get("cy")) == (str(charts.MAP_MARGIN), str(charts.MAP_MARGIN))
    assert [t.text for t in svg.iter(f"{SVG}text")] == ["alpha · beta", "topic 2"]
    assert svg.find(f"{SVG}title").text == "Topics & more"
    assert svg.find(f"{SVG}desc").text == "2 papers in 2 topics: alpha · beta (1); topic 2 (1)"
    assert not re.search(r'(fill|stroke)="#', text)  # colours come from the stylesheet
