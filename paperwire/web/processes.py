"""Several web processes on one port, each accepting its own share of the connections.

uvicorn's `workers=N` has every process accept from one shared socket, and whichever
is waiting in accept() when a burst of connections arrives takes the burst: 20
keep-alive clients opened at once were split 20/0, 16/4 and 10/10 between two
processes in three starts (`ss -tnp`), and the same search load ran at 67 to 276
requests/s (bench/web.py, issue #15). Here each process binds a socket of its own with
SO_REUSEPORT, and Linux hashes each new connection to one of them (socket(7)), so
connections spread evenly whatever the timing. Where the option does not balance
(not Linux), `is_supported` is False and the caller uses uvicorn's workers.

`serve` supervises: it refuses an address that is already taken (SO_REUSEPORT would
otherwise let a second server share the port unnoticed), starts the processes in a
process group of their own, restarts one that dies (and gives up when one dies while
starting: that is a configuration error, not bad luck), and on SIGINT or SIGTERM asks
each once to shut down (uvicorn's graceful shutdown runs the app's lifespan, which
stops its jobs) and waits for them.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time

log = logging.getLogger(__name__)

START_GRACE_SECONDS = 10.0  # a process that dies sooner than this after its start is not restarted
RESTART_DELAY_SECONDS = 1.0
STOP_TIMEOUT_SECONDS = 60.0  # the app's lifespan saves the search indexes as it stops
POLL_SECONDS = 0.5


class StartError(RuntimeError):
    """The address is taken, or a web process died as it started."""


def is_supported() -> bool:
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def serve(factory: str, *, host: str, port: int, workers: int) -> None:
    """Run `workers` uvicorn processes of the app `factory` ("module:function") on host:port
    until SIGINT or SIGTERM; raises StartError when they cannot start."""
    _check_free(host, port)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    context = multiprocessing.get_context("spawn")  # fresh interpreters, as uvicorn's workers
    running = [_start(context, factory, host, port) for _ in range(workers)]
    try:
        while not stop.wait(POLL_SECONDS):
            running = [_restarted(context, entry, factory, host, port) for entry in running]
    finally:
        _stop_all([process for process, _ in running])


def _check_free(host: str, port: int) -> None:
    try:
        _bound(host, port, is_shared=False).close()  # without SO_REUSEPORT: fails if anyone holds it
    except OSError as error:
        raise StartError(f"cannot listen on {host}:{port}: {error.strerror}; stop what holds it "
                         "or choose another --port") from None


def _bound(host: str, port: int, *, is_shared: bool) -> socket.socket:
    """A socket bound to host:port; `is_shared`: in the port's SO_REUSEPORT group."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                         flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if is_shared:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock


def _start(context, factory: str, host: str, port: int) -> tuple:
    process = context.Process(target=_run_one, args=(factory, host, port), daemon=False)
    process.start()
    return process, time.monotonic()


def _restarted(context, entry: tuple, factory: str, host: str, port: int) -> tuple:
    process, started_at = entry
    if process.is_alive():
        return entry
    if time.monotonic() - started_at < START_GRACE_SECONDS:
        raise StartError(f"a web process exited with status {process.exitcode} as it started; "
                         "its log above says why")
    log.warning("web process %s exited with status %s; starting another", process.pid, process.exitcode)
    time.sleep(RESTART_DELAY_SECONDS)
    return _start(context, factory, host, port)


def _stop_all(processes: list) -> None:
    for process in processes:
        if process.is_alive():
            os.kill(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    for process in processes:
        process.join(max(deadline - time.monotonic(), 0))
        if process.is_alive():
            log.warning("web process %s did not stop within %.0f s; killing it", process.pid, STOP_TIMEOUT_SECONDS)
            process.kill()
            process.join()


def _run_one(factory: str, host: str, port: int) -> None:
    """One web process: its own listening socket in the port's SO_REUSEPORT group."""
    import uvicorn

    os.setpgrp()  # a terminal's Ctrl-C reaches the supervisor alone, which asks each process once
    sock = _bound(host, port, is_shared=True)
    config = uvicorn.Config(factory, factory=True, host=host, port=port, server_header=False)
    uvicorn.Server(config).run(sockets=[sock])
