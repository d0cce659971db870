"""Leases: work that many processes may start, done by one of them at a time.

`run_with_lease` runs a function only while its caller holds a named lease in
the store, renews the lease while the function runs, and releases it after. A
holder that dies stops renewing, so its lease expires and another takes over.
The leases table and its three calls (`acquire_lease`, `renew_lease`,
`release_lease`) are the store's; what runs under a lease is the caller's
(jobs/ for background jobs, search/service.py for saving indexes).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Callable, TypeVar

if TYPE_CHECKING:
    from paperwire.store import Store

log = logging.getLogger(__name__)

LEASE_TTL_SECONDS = 300.0  # a dead holder's lease is taken over this long after its last renewal

T = TypeVar("T")


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def default_holder() -> str:
    """This process's name in the leases table: host and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class LeaseRun:
    """What `run_with_lease` did. `ran` is False when another holder had the lease;
    `lost` is True when a renewal failed while the function ran (it was taken over after expiry)."""

    ran: bool
    value: object = None
    lost: bool = False


def run_with_lease(
    store: Store,
    name: str,
    holder: str,
    fn: Callable[[], T],
    ttl: float = LEASE_TTL_SECONDS,
    *,
    clock: Callable[[], datetime] = _utcnow,
    renew_every_seconds: float | None = None,
) -> LeaseRun:
    """Run `fn()` if lease `name` can be taken for `holder`, renewing it every
    `renew_every_seconds` (default: a third of `ttl`) until `fn` returns, then release it.

    Returns LeaseRun(ran=False) at once while another holder has the lease; an
    exception from `fn` propagates after the lease is released.
    """
    if not store.acquire_lease(name, holder, ttl_seconds=ttl, now=clock()):
        return LeaseRun(ran=False)
    done = threading.Event()
    lost = threading.Event()

    def renew() -> None:
        while not done.wait(renew_every_seconds or ttl / 3):
            if not store.renew_lease(name, holder, ttl_seconds=ttl, now=clock()):
                log.error("lease %r of %s was taken over while its work ran", name, holder)
                lost.set()
                return

    renewer = threading.Thread(target=renew, name=f"lease-{name}", daemon=True)
    renewer.start()
    try:
        value = fn()
    finally:
        done.set()
        renewer.join()
        if not lost.is_set():
            store.release_lease(name, holder)
    return LeaseRun(ran=True, value=value, lost=lost.is_set())
