"""Thumbnails (thumbnails.py): fetched from a loopback HTTP server serving real image bytes,
an oversized file (said and unsaid), a non-image, a pixel bomb, a slow server, 404 and 500;
what is kept is a re-encoded WebP without the original's metadata; then the page and route."""

from __future__ import annotations

import io
import threading
import time
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from PIL import Image

from paperwire import config, thumbnails
from paperwire.feed import DailyEntry
from paperwire.store import open_store
from tests.conftest import make_paper

LOOPBACK = ("127.0.0.1",)  # the test server's address, allowed as the operator's own choice


def image_bytes(fmt: str, size=(800, 600), **save) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 60)).save(out, format=fmt, **save)
    return out.getvalue()


def jpeg_with_exif() -> bytes:
    exif = Image.Exif()
    exif[0x010E] = "secret description"  # ImageDescription
    exif[0x8298] = "someone's copyright"  # Copyright
    return image_bytes("JPEG", exif=exif.tobytes())


ROUTES = {
    "/ok.png": (200, {}, image_bytes("PNG"), 0.0),
    "/exif.jpg": (200, {}, jpeg_with_exif(), 0.0),
    "/tall.gif": (200, {}, image_bytes("GIF", size=(300, 2000)), 0.0),
    "/page.html": (200, {"Content-Type": "image/png"}, b"<html><script>alert(1)</script></html>", 0.0),
    "/huge-said.png": (200, {}, b"\0" * (thumbnails.MAX_BYTES + 1), 0.0),
    "/bomb.png": (200, {}, image_bytes("PNG", size=(5000, 4000)), 0.0),  # small file, 20 M pixels
    "/slow.png": (200, {}, image_bytes("PNG"), 3.0),
    "/tiff.tif": (200, {}, image_bytes("TIFF", size=(20, 20)), 0.0),
    "/gone.png": (404, {}, b"not here", 0.0),
    "/broken.png": (500, {}, b"oops", 0.0),
    "/moved.png": (301, {"Location": "/ok.png"}, b"", 0.0),
    "/out.png": (302, {"Location": "http://169.254.169.254/latest/meta-data/"}, b"", 0.0),  # cloud metadata
    "/loop.png": (302, {"Location": "/loop.png"}, b"", 0.0),
}
REQUESTS: list[str] = []  # the paths the loopback server was asked for


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/huge-unsaid.png":  # no Content-Length: the limit holds while reading
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b"\0" * 65536
            try:
                for _ in range(thumbnails.MAX_BYTES // len(chunk) + 4):
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass
            return
        if self.path == "/dribble.png":  # each byte well within a read timeout, the whole never
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            try:
                for _ in range(100):
                    self.wfile.write(b"\0" * 10)
                    self.wfile.flush()
                    time.sleep(0.1)
            except (BrokenPipeError, ConnectionResetError):
                pass
            return
        REQUESTS.append(self.path)
        status, headers, body, delay = ROUTES[self.path]
        time.sleep(delay)
        try:
            self.send_response(status)
            for name, value in {"Content-Length": str(len(body)), **headers}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def upstream():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def client():
    with httpx.Client() as http:
        yield http


def test_a_real_image_is_kept_as_a_smaller_webp(upstream, client):
    kept = thumbnails.normalise(thumbnails.download(upstream + "/ok.png", client=client, allowed_hosts=LOOPBACK))
    with Image.open(io.BytesIO(kept)) as image:
        assert image.format == "WEBP"
        assert image.size == (480, 360)  # within the box, aspect kept


def test_re_encoding_drops_the_metadata(upstream, client):
    original = thumbnails.download(upstream + "/exif.jpg", client=client, allowed_hosts=LOOPBACK)
    assert b"secret description" in original
    kept = thumbnails.normalise(original)
    assert b"secret description" not in kept and b"copyright" not in kept
    with Image.open(io.BytesIO(kept)) as image:
        assert not image.getexif()


def test_an_animation_or_tall_image_fits_the_box(upstream, client):
    kept = thumbnails.normalise(thumbnails.download(upstream + "/tall.gif", client=client, allowed_hosts=LOOPBACK))
    with Image.open(io.BytesIO(kept)) as image:
        assert image.size == (72, 480)


@pytest.mark.parametrize("path, reason", [
    ("/page.html", "not an image"),
    ("/bomb.png", "over 16,000,000 pixels"),
    ("/tiff.tif", "TIFF image is not one of"),
])
def test_what_is_not_a_fit_image_is_refused_for_good(upstream, client, path, reason):
    with pytest.raises(thumbnails.ThumbnailError, match=reason) as refused:
        thumbnails.normalise(thumbnails.download(upstream + path, client=client, allowed_hosts=LOOPBACK))
    assert refused.value.is_permanent


@pytest.mark.parametrize("path", ["/huge-said.png", "/huge-unsaid.png"])
def test_an_oversized_file_is_refused_without_reading_it_all(upstream, client, path):
    with pytest.raises(thumbnails.ThumbnailError, match="over the limit") as refused:
        thumbnails.download(upstream + path, client=client, allowed_hosts=LOOPBACK)
    assert refused.value.is_permanent


def test_a_slow_server_times_out_and_is_tried_again_later(upstream, client):
    started = time.monotonic()
    with pytest.raises(thumbnails.ThumbnailError, match="took over 0.5 s") as failed:
        thumbnails.download(upstream + "/slow.png", client=client, allowed_hosts=LOOPBACK, deadline_seconds=0.5)
    assert time.monotonic() - started < 2.5
    assert not failed.value.is_permanent


def test_a_server_that_sends_slowly_is_cut_off_at_the_deadline(upstream, client):
    started = time.monotonic()
    with pytest.raises(thumbnails.ThumbnailError, match="took over 0.5 s"):
        thumbnails.download(upstream + "/dribble.png", client=client, allowed_hosts=LOOPBACK, deadline_seconds=0.5)
    assert time.monotonic() - started < 2.5


@pytest.mark.parametrize("path, is_permanent", [("/gone.png", True), ("/broken.png", False)])
def test_statuses(upstream, client, path, is_permanent):
    with pytest.raises(thumbnails.ThumbnailError, match="answered") as failed:
        thumbnails.download(upstream + path, client=client, allowed_hosts=LOOPBACK)
    assert failed.value.is_permanent is is_permanent


def test_only_http_addresses_are_fetched(client):
    with pytest.raises(thumbnails.ThumbnailError, match="not an http"):
        thumbnails.download("file:///etc/passwd", client=client, allowed_hosts=LOOPBACK)


DAY = date(2025, 3, 3)


@pytest.fixture
def listed(tmp_path, upstream):
    """Six listed papers, each with one of the upstream's addresses (one without)."""
    store = open_store(f"sqlite:///{tmp_path}/p.db")
    paths = ["/ok.png", "/page.html", "/slow.png", "/gone.png", "/broken.png", None]
    store.upsert_papers([make_paper(arxiv_id=f"2503.{n:05d}") for n in range(len(paths))], source="test")
    store.upsert_daily_entries([DailyEntry(day=DAY, arxiv_id=f"2503.{n:05d}",
                                           thumbnail_url=upstream + path if path else None)
                                for n, path in enumerate(paths)])
    yield store
    store.close()


def test_the_job_keeps_each_once_and_tries_passing_failures_again(listed, tmp_path):
    cache = tmp_path / "cache"
    summary = thumbnails.fetch_missing(listed, cache, allowed_hosts=LOOPBACK, deadline_seconds=0.5)
    assert summary == "1 thumbnails kept, 2 refused, 2 to try again"
    assert thumbnails.has_thumbnail(cache, "2503.00000")
    assert not any(thumbnails.has_thumbnail(cache, f"2503.{n:05d}") for n in range(1, 6))
    assert "not an image" in (cache / "thumbnails" / "2503.00001.skip").read_text()
    assert not list((cache / "thumbnails").glob(".part-*"))
    # The next run fetches only the two that failed for now (slow, 500).
    assert thumbnails.fetch_missing(listed, cache, allowed_hosts=LOOPBACK, deadline_seconds=0.5) == \
        "0 thumbnails kept, 0 refused, 2 to try again"


def test_the_job_has_nothing_to_do_without_addresses(tmp_path):
    store = open_store(f"sqlite:///{tmp_path}/p.db")
    assert thumbnails.fetch_missing(store, tmp_path / "cache", allowed_hosts=LOOPBACK) is None
    store.close()


# --- which addresses are fetched (server-side request forgery) ------------------------------

def test_a_redirect_on_an_allowed_host_is_followed(upstream, client):
    kept = thumbnails.normalise(thumbnails.download(upstream + "/moved.png", client=client, allowed_hosts=LOOPBACK))
    assert Image.open(io.BytesIO(kept)).format == "WEBP"


@pytest.mark.parametrize("path, words", [
    ("/out.png", "169.254.169.254 is not a thumbnail host"),  # a redirect is checked like the address
    ("/loop.png", "redirects more than 3 times"),
])
def test_a_redirect_elsewhere_or_without_end_is_refused_for_good(upstream, client, path, words):
    with pytest.raises(thumbnails.ThumbnailError, match=words) as refused:
        thumbnails.download(upstream + path, client=client, allowed_hosts=LOOPBACK)
    assert refused.value.is_permanent


@pytest.mark.parametrize("address", [
    "https://cdn-thumbnails.example/1.png",  # a host the setting does not name
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata, by IP
    "http://[::1]/ok.png",
])
def test_a_host_that_is_not_allowed_is_refused_without_a_request(client, address):
    with pytest.raises(thumbnails.ThumbnailError, match="is not a thumbnail host") as refused:
        thumbnails.download(address, client=client, allowed_hosts=config.load({}).thumbnail_host_names)
    assert refused.value.is_permanent


def test_the_loopback_server_is_refused_unless_the_setting_names_it(upstream, client):
    before = len(REQUESTS)
    with pytest.raises(thumbnails.ThumbnailError, match="127.0.0.1 is not a thumbnail host"):
        thumbnails.download(upstream + "/ok.png", client=client, allowed_hosts=["cdn-thumbnails.huggingface.co"])
    assert len(REQUESTS) == before  # nothing was asked of it


def test_an_allowed_name_that_resolves_to_a_private_address_is_refused(upstream, client):
    """`localhost` named in the setting still resolves to loopback: refused after DNS, unasked."""
    before = len(REQUESTS)
    with pytest.raises(thumbnails.ThumbnailError, match="not a public address") as refused:
        thumbnails.download(upstream.replace("127.0.0.1", "localhost") + "/ok.png", client=client,
                            allowed_hosts=["localhost"])
    assert refused.value.is_permanent and len(REQUESTS) == before


def test_the_job_with_the_default_setting_refuses_a_feed_pointing_at_this_machine(listed, tmp_path):
    cache = tmp_path / "cache"
    hosts = config.load({}).thumbnail_host_names
    assert hosts == ["cdn-thumbnails.huggingface.co"]
    assert thumbnails.fetch_missing(listed, cache, allowed_hosts=hosts) == "0 thumbnails kept, 5 refused, 0 to try again"
    assert "is not a thumbnail host" in (cache / "thumbnails" / "2503.00000.skip").read_text()
