"""The day page for reading: folded abstracts, category links, the skip link, pagers above
and below, and the paper page's BibTeX box (browser checks are in tests/browser/)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from paperwire import feed
from paperwire.web.pages import PREVIEW_CHARS
from tests.conftest import make_paper

PUBLISHED = datetime(2025, 3, 3, tzinfo=timezone.utc)
LONG = "We study long documents at length. " * 20 + "The last sentence."


def _day(store, count: int, abstract: str = LONG):
    store.upsert_papers([make_paper(arxiv_id=f"2503.{n:05d}", abstract=abstract,
                                    published_at=PUBLISHED + timedelta(minutes=n)) for n in range(1, count + 1)],
                        source="test")


def test_long_abstract_is_folded_in_full(client, store):
    _day(store, 1)
    html = client.get("/day/2025-03-03").text
    folded = re.search(r'<details class="abstract"><summary>(.*?)</summary><p>(.*?)</p></details>', html, re.S)
    assert folded, "no folded abstract"
    lead = re.search(r'<span class="lead" aria-hidden="true">(.*?)</span>', folded.group(1)).group(1)
    assert lead.endswith("…") and len(lead) <= PREVIEW_CHARS + 1
    assert folded.group(2) == LONG.strip()  # the whole abstract, not a preview
    assert '<span class="more">more<span class="visually-hidden"> of the abstract</span></span>' in folded.group(1)


def test_short_abstract_is_shown_whole(client, store):
    _day(store, 1, abstract="A short one with $x^2$.")
    html = client.get("/day/2025-03-03").text
    assert '<details class="abstract"' not in html
    assert re.search(r'<p class="abstract">A short one with <math display="inline">.*</math>\.</p>', html)


def test_categories_link_to_the_day_filtered_and_elsewhere_to_their_newest_papers(client, store):
    _day(store, 1)
    html = client.get("/day/2025-03-03").text
    assert '<a class="tag primary" href="/day/2025-03-03?cat=cs.LG">cs.LG</a>' in html
    assert '<a class="tag" href="/day/2025-03-03?cat=cs.AI">cs.AI</a>' in html
    arxiv_id = re.search(r'href="/paper/([^"]+)"', html)[1]
    html = client.get(f"/paper/{arxiv_id}").text
    assert '<a class="tag primary" href="/search?q=cat%3Acs.LG&amp;sort=newest">cs.LG</a>' in html
    assert '<a class="tag" href="/search?q=cat%3Acs.AI&amp;sort=newest">cs.AI</a>' in html


def test_skip_link_leads_to_main(client, store):
    _day(store, 1)
    html = client.get("/day/2025-03-03").text
    assert html.index('<a class="skip-link" href="#main">') < html.index('<header class="site">')
    assert '<main class="wrap" id="main" tabindex="-1">' in html


def test_pagers_above_and_below_the_papers(client, store):
    _day(store, feed.PAGE_SIZE + 1)
    html = client.get("/day/2025-03-03").text
    pagers = [m.start() for m in re.finditer(r'<nav class="pager"', html)]
    cards = [m.start() for m in re.finditer(r'<article class="paper', html)]
    assert len(pagers) == 2 and pagers[0] < cards[0] and pagers[1] > cards[-1]
    assert 'aria-label="Pages above the papers"' in html and 'aria-label="Pages below the papers"' in html
    assert html.count('rel="next" href="/day/2025-03-03?page=2"') == 2


def test_one_page_has_no_pager(client, store):
    _day(store, 3)
    assert '<nav class="pager"' not in client.get("/day/2025-03-03").text


def test_bibtex_box_is_a_labelled_read_only_field(client, store):
    _day(store, 1)
    html = client.get("/paper/2503.00001").text
    assert '<label class="visually-hidden" for="bibtex">BibTeX entry</label>' in html
    box = re.search(r'<textarea id="bibtex" class="bibtex" readonly rows="(\d+)" spellcheck="false">(.*?)</textarea>',
                    html, re.S)
    assert box and box.group(2).startswith("@misc{") and int(box.group(1)) == box.group(2).count("\n") + 1
    assert '<button type="button" class="copy" data-copy="bibtex" hidden>Copy BibTeX</button>' in html
