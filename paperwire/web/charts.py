"""Pictures as server-side SVG: the topic map and the stacked bar chart, no script.

Each function takes numbers (or a topicmap.TopicMap) and returns the SVG as
Markup, every string from a source escaped here. Colours are CSS classes
(`series-N`, `topic-N`, defined light and dark in style.css), never inline
colours, so dark mode applies. The SVG carries a <title> and <desc>; the page puts
the numbers beside it as text (a table, a list) for anyone who cannot see it.
"""

from __future__ import annotations

import math
from datetime import date

from markupsafe import Markup

from paperwire.papers import display_text
from paperwire.topicmap import TopicMap

COLOUR_COUNT = 10  # series-0..9 and topic-0..9 in style.css
MAP_WIDTH, MAP_HEIGHT = 800, 560  # the viewBox; the SVG scales to its box
MAP_MARGIN = 28  # room for labels at the edges
POINT_RADIUS = 4.5
LABEL_CHAR_WIDTH = 8.2  # about, for 13 px bold system-ui: enough to keep labels apart and inside
LABEL_LINE_HEIGHT = 18
CHART_WIDTH, CHART_HEIGHT = 800, 260
CHART_MARGIN = {"top": 12, "right": 12, "bottom": 28, "left": 44}
TICK_COUNT = 4  # horizontal grid lines, about


def _number(value: float) -> str:
    """A coordinate with at most one decimal, so the SVG stays small and stable."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _svg(width: int, height: int, *, title: str, description: str, body: list, css_class: str,
         id_prefix: str, role: str = "img") -> Markup:
    return Markup(
        '<svg class="{cls}" viewBox="0 0 {w} {h}" role="{role}" aria-labelledby="{p}-title {p}-desc"'
        ' xmlns="http://www.w3.org/2000/svg"><title id="{p}-title">{title}</title>'
        '<desc id="{p}-desc">{desc}</desc>{body}</svg>'
    ).format(cls=css_class, w=width, h=height, p=id_prefix, role=role, title=title, desc=description,
             body=Markup("").join(body))


# --- the topic map --------------------------------------------------------------------

def topic_map(made: TopicMap, *, title: str, id_prefix: str = "map") -> Markup:
    """The map as SVG: a dot per paper (a link to it, its title as a tooltip) coloured by
    topic, and each topic's label near its papers. An empty map says so in its text."""
    description = (f"{made.paper_count} papers in {len(made.topics)} topics: "
                   + "; ".join(f"{t.label} ({len(t.arxiv_ids)})" for t in made.topics)
                   if made.points else "No papers to map.")
    inner_w, inner_h = MAP_WIDTH - 2 * MAP_MARGIN, MAP_HEIGHT - 2 * MAP_MARGIN
    body = [Markup('<rect class="frame" x="0" y="0" width="{w}" height="{h}" rx="10"/>').format(
        w=MAP_WIDTH, h=MAP_HEIGHT)]
    positions = {}
    for point in made.points:
        x, y = MAP_MARGIN + point.x * inner_w, MAP_MARGIN + point.y * inner_h
        positions[point.arxiv_id] = (x, y)
        # The list under the map holds every link, one Tab stop each: the dots' links are
        # for the pointer only, hidden from the Tab order and from assistive technology
        # (2,000 dots would bury the page), which reads the SVG's title and description.
        # The SVG is a labelled group, not role="img": axe-core counts links inside an
        # image as nested interactive controls, even hidden ones.
        body.append(Markup(
            '<a href="/paper/{id}" tabindex="-1" aria-hidden="true"><circle class="topic-{t}" cx="{x}" cy="{y}" r="{r}">'
            '<title>{title}</title></circle></a>'
        ).format(id=point.arxiv_id, t=point.topic % COLOUR_COUNT, x=_number(x), y=_number(y),
                 r=POINT_RADIUS, title=display_text(point.title)))
    body += _topic_labels(made, positions)
    return _svg(MAP_WIDTH, MAP_HEIGHT, title=title, description=description, body=body,
                css_class="topic-map", id_prefix=id_prefix, role="group")


def label_boxes(anchors: list[tuple[float, float, float]], *, width: float = MAP_WIDTH,
                height: float = MAP_HEIGHT, line: float = LABEL_LINE_HEIGHT) -> list[tuple[float, float]]:
    """Where to put labels of the given (x, y, text width) anchors, in that order of
    priority: each centred on its anchor, kept inside the picture, and moved down (then
    up) a line at a time past any label already placed. Returns each label's centre."""
    placed: list[tuple[float, float, float]] = []
    for x, y, text_width in anchors:
        x = min(max(x, text_width / 2 + 4), width - text_width / 2 - 4)
        candidates = [y + step * line * sign for step in range(0, 12) for sign in (1, -1)]
        for candidate in candidates:
            candidate = min(max(candidate, line), height - line / 2)
            if not any(abs(candidate - py) < line and abs(x - px) < (text_width + pw) / 2 + 6
                       for px, py, pw in placed):
                break
        placed.append((x, candidate, text_width))
    return [(x, y) for x, y, _ in placed]


def _topic_labels(made: TopicMap, positions: dict[str, tuple[float, float]]) -> list[Markup]:
    anchors = []
    for topic in made.topics:
        xs, ys = zip(*(positions[i] for i in topic.arxiv_ids))
        anchors.append((sum(xs) / len(xs), min(ys) - 8, (len(topic.label) + 2) * LABEL_CHAR_WIDTH))
    labels = []
    for topic, (x, y), (_, _, text_width) in zip(made.topics, label_boxes(anchors), anchors):
        left = x - text_width / 2
        labels.append(Markup(
            '<g class="label"><circle class="topic-{t}" cx="{cx}" cy="{cy}" r="5"/>'
            '<text x="{tx}" y="{ty}">{label}</text></g>'
        ).format(t=topic.number % COLOUR_COUNT, cx=_number(left + 5), cy=_number(y - 4),
                 tx=_number(left + 2 * LABEL_CHAR_WIDTH), ty=_number(y), label=topic.label))
    return labels


# --- bar charts -------------------------------------------------------------------------

def nice_ticks(maximum: float, count: int = TICK_COUNT) -> list[int]:
    """Round grid values from 0 up to at least `maximum`, about `count` steps of 1, 2 or 5
    times a power of ten: nice_ticks(530) == [0, 200, 400, 600]. [0, 1] when maximum <= 0."""
    if maximum <= 0:
        return [0, 1]
    rough = maximum / count
    power = 10 ** math.floor(math.log10(rough))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= rough)
    step = max(int(step), 1)
    return list(range(0, int(math.ceil(maximum / step)) * step + 1, step))


def stacked_bars(days: list[date], series: list[tuple[str, list[int]]], *, title: str,
                 id_prefix: str = "chart") -> Markup:
    """Bars per day, stacked by series (name, one count per day) in the given order, with a
    y axis of nice_ticks and every seventh day labelled. No days, or only zeros, gives a
    chart that says there is nothing to show."""
    totals = [sum(counts[i] for _, counts in series) for i in range(len(days))]
    description = (f"Papers per day from {days[0]} to {days[-1]}, by category: "
                   + "; ".join(f"{name} {sum(counts)}" for name, counts in series)
                   if days and any(totals) else "No papers in this period.")
    top, right, bottom, left = (CHART_MARGIN[k] for k in ("top", "right", "bottom", "left"))
    inner_w, inner_h = CHART_WIDTH - left - right, CHART_HEIGHT - top - bottom
    ticks = nice_ticks(max(totals, default=0))
    scale = inner_h / ticks[-1]
    body = []
    for tick in ticks:
        y = top + inner_h - tick * scale
        body.append(Markup('<line class="grid" x1="{l}" x2="{r}" y1="{y}" y2="{y}"/>'
                           '<text class="tick" x="{tx}" y="{ty}" text-anchor="end">{v}</text>').format(
            l=left, r=CHART_WIDTH - right, y=_number(y), tx=left - 6, ty=_number(y + 4), v=tick))
    slot = inner_w / max(len(days), 1)
    for i, day in enumerate(days):
        x, base = left + i * slot + slot * 0.15, top + inner_h
        for number, (name, counts) in enumerate(series):
            if counts[i]:
                height = counts[i] * scale
                base -= height
                body.append(Markup(
                    '<rect class="series-{n}" x="{x}" y="{y}" width="{w}" height="{h}">'
                    '<title>{day}: {count} {name}</title></rect>').format(
                    n=number % COLOUR_COUNT, x=_number(x), y=_number(base), w=_number(slot * 0.7),
                    h=_number(height), day=day.isoformat(), count=counts[i], name=name))
        if (len(days) - 1 - i) % 7 == 0:
            body.append(Markup('<text class="tick" x="{x}" y="{y}" text-anchor="middle">{label}</text>').format(
                x=_number(x + slot * 0.35), y=CHART_HEIGHT - 8, label=f"{day.day} {day:%b}"))
    if not any(totals):
        body.append(Markup('<text class="tick" x="{x}" y="{y}" text-anchor="middle">no papers</text>').format(
            x=CHART_WIDTH // 2, y=CHART_HEIGHT // 2))
    return _svg(CHART_WIDTH, CHART_HEIGHT, title=title, description=description, body=body,
                css_class="chart", id_prefix=id_prefix)


def series_class(number: int) -> str:
    """The CSS class of series `number`'s colour (for a legend beside the chart)."""
    return f"series-{number % COLOUR_COUNT}"
