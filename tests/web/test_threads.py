"""A web process's start-up tuning (issue #15): how many page handlers run at once (the
`web_threads` setting), and glibc's mmap threshold fixed."""

from __future__ import annotations

import platform
import threading
import time

from anyio import create_task_group, to_thread
from starlette.testclient import TestClient

from paperwire import config
from paperwire.web.app import create_app, fixed_mmap_threshold


def test_the_setting_bounds_the_threads_that_run_handlers(sqlite_url, store):
    settings = config.load({}, database_url=sqlite_url, harvest_enabled="false", embed_enabled="false",
                           web_threads="2")
    with TestClient(create_app(settings, store=store)) as client:
        assert client.get("/").status_code == 200
        assert client.portal.call(lambda: to_thread.current_default_thread_limiter().total_tokens) == 2
        running, most = [0], [0]
        lock = threading.Lock()

        def handler():  # what a page handler is: a blocking call run on the limited threads
            with lock:
                running[0] += 1
                most[0] = max(most[0], running[0])
            time.sleep(0.05)
            with lock:
                running[0] -= 1

        async def many():
            async with create_task_group() as group:
                for _ in range(8):
                    group.start_soon(to_thread.run_sync, handler)

        client.portal.call(many)
        assert most[0] == 2


def test_large_blocks_are_mapped_apart_on_glibc():
    """The web process fixes glibc's mmap threshold at start-up (app.fixed_mmap_threshold);
    where there is a glibc, mallopt takes it."""
    assert fixed_mmap_threshold() == (platform.libc_ver()[0] == "glibc")
