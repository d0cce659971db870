"""Thumbnails of the papers on Hugging Face's daily lists, kept and served by paperwire itself.

The daily list gives each paper a thumbnail address on Hugging Face's CDN (stored in
daily_entries.thumbnail_url). Pages never link to it: a reader's browser would tell
another site what they read, and the Content-Security-Policy allows images from here
only (issue #14). The `thumbnails` background job (jobs/table.py) fetches each one
once, refuses anything over MAX_BYTES or MAX_PIXELS or that Pillow does not read as
one of ALLOWED_FORMATS, re-encodes what passes as WebP (which keeps the pixels and
drops metadata, comments and anything appended to the file) and writes it under the
cache directory; `/thumbnail/<arxiv_id>.webp` serves it with long cache headers.

A job rather than a fetch on first view: no page waits on another site, no visitor can
make the server fetch anything, and many workers never fetch the same picture at once
on a busy morning. A refusal for good (not an image, too big, 404) leaves a `.skip`
file that says why, so it is not fetched again; a passing failure (timeout, 5xx,
connection refused) is tried again at the next run.
"""

from __future__ import annotations

import io
import logging
import os
import tempfile
import threading
import time
from pathlib import Path

import httpx
from PIL import Image, UnidentifiedImageError

log = logging.getLogger(__name__)

FOLDER = "thumbnails"  # under PAPERWIRE_CACHE_DIR
MAX_BYTES = 2 * 1024 * 1024  # Hugging Face's thumbnails are 50 to 300 KB
MAX_PIXELS = 16_000_000  # 4000 x 4000: far above a thumbnail, far below a decompression bomb
ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
BOX = (480, 480)  # kept within this many pixels: twice the largest shown, for dense screens
WEBP_QUALITY = 80
DEADLINE_SECONDS = 15.0  # the whole fetch, however slowly the bytes come
BATCH_SIZE = 40  # thumbnails fetched per run, so a stop is never long in coming
PERMANENT_STATUSES = (400, 401, 403, 404, 410, 451)
URL_SCHEMES = ("http", "https")


class ThumbnailError(Exception):
    """A thumbnail that could not be had; `is_permanent` when trying again would not help."""

    def __init__(self, message: str, *, is_permanent: bool):
        super().__init__(message)
        self.is_permanent = is_permanent


def path_for(cache_dir: Path, arxiv_id: str) -> Path:
    """Where the thumbnail of `arxiv_id` (a checked id: old-style ids have a slash) is kept."""
    return Path(cache_dir) / FOLDER / (arxiv_id.replace("/", "_") + ".webp")


def has_thumbnail(cache_dir: Path, arxiv_id: str) -> bool:
    return path_for(cache_dir, arxiv_id).is_file()


def download(url: str, *, client: httpx.Client, max_bytes: int = MAX_BYTES,
             deadline_seconds: float = DEADLINE_SECONDS) -> bytes:
    """The body at `url`; raises ThumbnailError when the answer is not 200, is over
    `max_bytes` (said or sent), or takes over `deadline_seconds` in all."""
    if httpx.URL(url).scheme not in URL_SCHEMES:
        raise ThumbnailError(f"{url!r} is not an http(s) address", is_permanent=True)
    started = time.monotonic()
    try:
        with client.stream("GET", url, timeout=deadline_seconds) as response:
            if response.status_code != 200:
                raise ThumbnailError(f"{url} answered {response.status_code}",
                                     is_permanent=response.status_code in PERMANENT_STATUSES)
            said = response.headers.get("content-length", "")
            if said.isdigit() and int(said) > max_bytes:
                raise ThumbnailError(f"{url} is {said} bytes, over the limit of {max_bytes}", is_permanent=True)
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    raise ThumbnailError(f"{url} sent over the limit of {max_bytes} bytes", is_permanent=True)
                if time.monotonic() - started > deadline_seconds:
                    raise httpx.TimeoutException("deadline passed")
            return bytes(body)
    except httpx.TimeoutException:
        raise ThumbnailError(f"{url} took over {deadline_seconds:g} s", is_permanent=False) from None
    except httpx.HTTPError as error:
        raise ThumbnailError(f"{url} could not be fetched: {error}", is_permanent=False) from None


def normalise(data: bytes, *, max_pixels: int = MAX_PIXELS) -> bytes:
    """`data` re-encoded as a WebP within BOX; raises ThumbnailError (permanent) when it
    is not an image of ALLOWED_FORMATS or has over `max_pixels` pixels."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in ALLOWED_FORMATS:
                raise ThumbnailError(f"a {image.format} image is not one of {', '.join(ALLOWED_FORMATS)}",
                                     is_permanent=True)
            # Checked from the header, before a single pixel is decoded (decompression bombs).
            if image.width * image.height > max_pixels:
                raise ThumbnailError(f"a {image.width} x {image.height} image is over {max_pixels:,} pixels",
                                     is_permanent=True)
            image.seek(0)  # the first frame of an animation
            flat = _on_white(image)
            flat.thumbnail(BOX)
            out = io.BytesIO()
            flat.save(out, format="WEBP", quality=WEBP_QUALITY)
            return out.getvalue()
    except (UnidentifiedImageError, Image.DecompressionBombError) as error:
        raise ThumbnailError(f"not an image Pillow can read: {error}", is_permanent=True) from None
    except (OSError, ValueError, SyntaxError) as error:  # truncated or corrupt image data
        raise ThumbnailError(f"a broken image: {error}", is_permanent=True) from None


def _on_white(image: Image.Image) -> Image.Image:
    """An RGB copy; transparent parts on white, as the page behind a card is in light mode."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, "white")
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def fetch_missing(store, cache_dir: Path, *, client: httpx.Client | None = None, batch_size: int = BATCH_SIZE,
                  deadline_seconds: float = DEADLINE_SECONDS, stop: threading.Event | None = None) -> str | None:
    """Fetch up to `batch_size` listed papers' thumbnails that are neither kept nor refused;
    a one-line count, or None when there was none to fetch."""
    folder = Path(cache_dir) / FOLDER
    wanted = [(a, url) for a, url in store.thumbnail_urls()
              if not path_for(cache_dir, a).is_file() and not _skip_path(cache_dir, a).is_file()][:batch_size]
    if not wanted:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    counts = {"kept": 0, "refused": 0, "failed": 0}
    with client or httpx.Client(follow_redirects=True, max_redirects=3,
                                headers={"User-Agent": "paperwire (thumbnails)"}) as http:
        for arxiv_id, url in wanted:
            if stop is not None and stop.is_set():
                break
            counts[_fetch_one(http, cache_dir, arxiv_id, url, deadline_seconds=deadline_seconds)] += 1
    return f"{counts['kept']} thumbnails kept, {counts['refused']} refused, {counts['failed']} to try again"


def _fetch_one(client: httpx.Client, cache_dir: Path, arxiv_id: str, url: str, *, deadline_seconds: float) -> str:
    try:
        image = normalise(download(url, client=client, deadline_seconds=deadline_seconds))
    except ThumbnailError as error:
        log.warning("thumbnail of %s from %s: %s", arxiv_id, url, error)
        if error.is_permanent:
            _write(_skip_path(cache_dir, arxiv_id), f"{url}\n{error}\n".encode())
            return "refused"
        return "failed"
    _write(path_for(cache_dir, arxiv_id), image)
    return "kept"


def _skip_path(cache_dir: Path, arxiv_id: str) -> Path:
    return path_for(cache_dir, arxiv_id).with_suffix(".skip")


def _write(path: Path, data: bytes) -> None:
    """Write whole or not at all: a reader never sees half a file (rename is atomic)."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".part-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
