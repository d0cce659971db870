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
on a busy morning. The address comes from a feed, so it is not trusted (server-side
request forgery, OWASP SSRF Prevention Cheat Sheet): only the hosts of
PAPERWIRE_THUMBNAIL_HOSTS (Hugging Face's thumbnail CDN by default) are fetched; a host
name must resolve to public addresses only, and the request goes to the address that
was checked (with the name in Host and TLS SNI), so a second DNS answer cannot point it
at this machine or its network (DNS rebinding); redirects are followed here, each hop
checked the same way. An address written as an IP literal in the setting is the
operator's own choice and is fetched as it is (a test's loopback server, a mirror).

A refusal for good (a refused address, not an image, too big, 404) leaves a `.skip`
file that says why, so it is not fetched again; a passing failure (timeout, 5xx,
connection refused) is tried again at the next run.
"""

from __future__ import annotations

import io
import ipaddress
import logging
import os
import socket
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Collection

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
MAX_REDIRECTS = 3
REDIRECT_STATUSES = (301, 302, 303, 307, 308)


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


def download(url: str, *, client: httpx.Client, allowed_hosts: Collection[str], max_bytes: int = MAX_BYTES,
             deadline_seconds: float = DEADLINE_SECONDS) -> bytes:
    """The body at `url`, fetched only from `allowed_hosts` at public addresses (module
    docstring), following up to MAX_REDIRECTS redirects; raises ThumbnailError when an
    address is refused, the answer is not 200, is over `max_bytes` (said or sent), or
    takes over `deadline_seconds` in all."""
    started = time.monotonic()
    for _ in range(MAX_REDIRECTS + 1):
        target = _checked(httpx.URL(url), allowed_hosts)
        request = client.build_request("GET", target.pinned, headers={"Host": target.host_header},
                                       timeout=deadline_seconds, extensions={"sni_hostname": target.host})
        location = _fetch(client, request, url, max_bytes=max_bytes, deadline_seconds=deadline_seconds,
                          started=started)
        if isinstance(location, bytes):
            return location
        url = str(httpx.URL(url).join(location))
    raise ThumbnailError(f"{url} redirects more than {MAX_REDIRECTS} times", is_permanent=True)


def _fetch(client: httpx.Client, request: httpx.Request, url: str, *, max_bytes: int, deadline_seconds: float,
           started: float) -> bytes | str:
    """The body of one request, or the Location it redirects to."""
    try:
        response = client.send(request, stream=True, follow_redirects=False)
        try:
            location = response.headers.get("location")
            if response.status_code in REDIRECT_STATUSES and location:
                return location
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
        finally:
            response.close()
    except httpx.TimeoutException:
        raise ThumbnailError(f"{url} took over {deadline_seconds:g} s", is_permanent=False) from None
    except httpx.HTTPError as error:
        raise ThumbnailError(f"{url} could not be fetched: {error}", is_permanent=False) from None


@dataclass(frozen=True)
class _Target:
    host: str  # as in the address
    host_header: str  # with the port when it is not the scheme's
    pinned: httpx.URL  # the address with the checked IP in place of the name


def _checked(url: httpx.URL, allowed_hosts: Collection[str]) -> _Target:
    """`url` pinned to an address that may be fetched; raises ThumbnailError (permanent) for
    another scheme or host, or a name that resolves to a non-public address."""
    if url.scheme not in URL_SCHEMES or not url.host:
        raise ThumbnailError(f"{str(url)!r} is not an http(s) address", is_permanent=True)
    host = url.host.lower()
    if host not in {h.lower() for h in allowed_hosts}:
        raise ThumbnailError(f"{host} is not a thumbnail host this server fetches from "
                             f"(PAPERWIRE_THUMBNAIL_HOSTS: {' '.join(allowed_hosts) or 'none'})", is_permanent=True)
    port = url.port or (443 if url.scheme == "https" else 80)
    address = host if _is_ip(host) else _public_address(host, port)
    return _Target(host=host, host_header=host if url.port is None else f"{host}:{url.port}",
                   pinned=url.copy_with(host=address))


def _public_address(host: str, port: int) -> str:
    """The first address `host` resolves to, if every one is public; ThumbnailError otherwise."""
    try:
        found = {info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)}
    except (socket.gaierror, UnicodeError) as error:
        raise ThumbnailError(f"{host} does not resolve: {error}", is_permanent=False) from None
    private = sorted(a for a in found if not ipaddress.ip_address(a.split("%")[0]).is_global)
    if private or not found:
        raise ThumbnailError(f"{host} resolves to {', '.join(private) or 'nothing'}, not a public address; "
                             "refused (server-side request forgery)", is_permanent=True)
    return sorted(found)[0]


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


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


def fetch_missing(store, cache_dir: Path, *, allowed_hosts: Collection[str], client: httpx.Client | None = None,
                  batch_size: int = BATCH_SIZE, deadline_seconds: float = DEADLINE_SECONDS,
                  stop: threading.Event | None = None) -> str | None:
    """Fetch up to `batch_size` listed papers' thumbnails that are neither kept nor refused,
    from `allowed_hosts` only; a one-line count, or None when there was none to fetch."""
    folder = Path(cache_dir) / FOLDER
    wanted = [(a, url) for a, url in store.thumbnail_urls()
              if not path_for(cache_dir, a).is_file() and not _skip_path(cache_dir, a).is_file()][:batch_size]
    if not wanted:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    counts = {"kept": 0, "refused": 0, "failed": 0}
    with client or httpx.Client(headers={"User-Agent": "paperwire (thumbnails)"}) as http:  # redirects: download
        for arxiv_id, url in wanted:
            if stop is not None and stop.is_set():
                break
            counts[_fetch_one(http, cache_dir, arxiv_id, url, allowed_hosts=allowed_hosts,
                              deadline_seconds=deadline_seconds)] += 1
    return f"{counts['kept']} thumbnails kept, {counts['refused']} refused, {counts['failed']} to try again"


def _fetch_one(client: httpx.Client, cache_dir: Path, arxiv_id: str, url: str, *, allowed_hosts: Collection[str],
               deadline_seconds: float) -> str:
    try:
        image = normalise(download(url, client=client, allowed_hosts=allowed_hosts, deadline_seconds=deadline_seconds))
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
