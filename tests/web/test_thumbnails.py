"""Thumbnails on the pages: a card shows the kept one from this site (never the source's
address), a card without one shows none, and /thumbnail/ serves it with long cache headers."""

from __future__ import annotations

import io
from datetime import date, datetime, timezone

import pytest
from PIL import Image
from starlette.testclient import TestClient

from paperwire import config, thumbnails
from paperwire.feed import DailyEntry
from paperwire.web.app import create_app
from tests.conftest import make_paper

DAY = date(2025, 3, 3)


@pytest.fixture
def cache(tmp_path):
    return tmp_path / "cache"


@pytest.fixture
def client(sqlite_url, store, cache):
    settings = config.load({}, database_url=sqlite_url, harvest_enabled="false", model_cache_dir=str(cache))
    return TestClient(create_app(settings, store=store), follow_redirects=False)


@pytest.fixture
def day(store, cache):
    published = datetime(2025, 3, 3, 9, tzinfo=timezone.utc)
    store.upsert_papers([make_paper(arxiv_id=f"2503.{n:05d}", published_at=published) for n in range(3)],
                        source="test")
    store.upsert_daily_entries([DailyEntry(day=DAY, arxiv_id=f"2503.{n:05d}",
                                           thumbnail_url=f"https://cdn-thumbnails.example/{n}.png")
                                for n in range(2)])
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "navy").save(out, format="PNG")
    kept = thumbnails.path_for(cache, "2503.00000")
    kept.parent.mkdir(parents=True)
    kept.write_bytes(thumbnails.normalise(out.getvalue()))
    return store


def test_a_card_shows_the_kept_thumbnail_and_never_the_source_address(client, day):
    html = client.get("/day/2025-03-03").text
    assert html.count('class="thumbnail"') == 1
    assert '<img class="thumbnail" src="/thumbnail/2503.00000.webp" alt="" loading="lazy">' in html
    assert "cdn-thumbnails.example" not in html


def test_the_thumbnail_is_served_with_long_cache_headers(client, day):
    response = client.get("/thumbnail/2503.00000.webp")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/webp"
    assert "max-age=31536000" in response.headers["cache-control"]
    assert Image.open(io.BytesIO(response.content)).size == (40, 30)


@pytest.mark.parametrize("path", ["/thumbnail/2503.00001.webp", "/thumbnail/2503.00002.webp",
                                  "/thumbnail/..%2F..%2Fetc%2Fpasswd.webp", "/thumbnail/nope.webp"])
def test_no_thumbnail_is_404(client, day, path):
    assert client.get(path).status_code == 404
