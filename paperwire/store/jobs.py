"""Background jobs' state in the store: checkpoints, job runs and leases.

A checkpoint is a resumable position (an OAI-PMH resumptionToken, say). A job
run records one run of a job for the status page. A lease lets one process at
a time run a job (harvest, embedding); it expires at `now + ttl_seconds` unless
renewed, so a holder that dies frees it. Deciding when to run what is the
worker's; these methods only keep the records.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from paperwire.store.records import as_time
from paperwire.store.sql import Engine, scalar


@dataclass(frozen=True)
class JobRun:
    """One run of a background job (harvest, embedding), for the status page."""

    job: str
    started_at: datetime
    finished_at: datetime | None
    status: str  # "running", "ok", "failed"
    summary: str = ""
    id: int | None = None


class JobTables:
    """The store's checkpoint, job-run and lease methods; `engine` is the Engine the Store holds."""

    engine: Engine

    # checkpoints ------------------------------------------------------------
    def get_checkpoint(self, name: str) -> str | None:
        """The saved position `name`, or None when there is none."""
        return scalar(self.engine.read(), "SELECT value FROM checkpoints WHERE name = ?", (name,))

    def set_checkpoint(self, name: str, value: str | None) -> None:
        """Save (or with None, clear) a resumable position such as an OAI-PMH resumptionToken."""
        with self.engine.write() as db:
            if value is None:
                db.execute("DELETE FROM checkpoints WHERE name = ?", (name,))
                return
            db.execute(
                "INSERT INTO checkpoints (name, value, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                (name, value, self.engine.time(datetime.now(timezone.utc))),
            )

    def claim_checkpoint(self, name: str, value: str) -> str:
        """Save `value` as checkpoint `name` unless one is saved already; returns the saved one.
        When several processes claim at once the first insert wins and all get its value
        (the signing key: docs/community.md, "Settings")."""
        with self.engine.write() as db:
            db.execute(
                "INSERT INTO checkpoints (name, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING",
                (name, value, self.engine.time(datetime.now(timezone.utc))),
            )
            return scalar(db, "SELECT value FROM checkpoints WHERE name = ?", (name,))

    def checkpoints(self) -> dict[str, str]:
        """Every saved checkpoint, by name."""
        rows = self.engine.read().rows("SELECT name, value FROM checkpoints ORDER BY name")
        return {row["name"]: row["value"] for row in rows}

    # job runs -----------------------------------------------------------------
    def start_job_run(self, job: str, *, now: datetime) -> int:
        """Record that `job` started at `now`; returns the run's id for finish_job_run."""
        with self.engine.write() as db:
            return scalar(
                db, "INSERT INTO job_runs (job, started_at, status) VALUES (?, ?, 'running') RETURNING id",
                (job, self.engine.time(now)),
            )

    def finish_job_run(self, run_id: int, *, status: str, summary: str, now: datetime) -> None:
        """Record how run `run_id` ended ("ok" or "failed") and its one-line summary."""
        with self.engine.write() as db:
            db.execute(
                "UPDATE job_runs SET status = ?, summary = ?, finished_at = ? WHERE id = ?",
                (status, summary, self.engine.time(now), run_id),
            )

    def abandon_job_runs(self, job_prefix: str, *, now: datetime) -> int:
        """Mark runs of jobs named `job_prefix`... that still say "running" as failed: call it
        while holding the job's lease, when no such run can really be running. Returns how many."""
        with self.engine.write() as db:
            return db.execute(
                "UPDATE job_runs SET status = 'failed', finished_at = ?,"
                " summary = 'interrupted: the process running it stopped' WHERE status = 'running'"
                " AND substr(job, 1, ?) = ?",
                (self.engine.time(now), len(job_prefix), job_prefix),
            )

    def recent_job_runs(self, *, limit: int = 20) -> list[JobRun]:
        """The latest `limit` runs of any job, newest first."""
        rows = self.engine.read().rows("SELECT * FROM job_runs ORDER BY started_at DESC, id DESC LIMIT ?", (limit,))
        return [
            JobRun(
                job=row["job"], started_at=as_time(row["started_at"]), finished_at=as_time(row["finished_at"]),
                status=row["status"], summary=row["summary"], id=row["id"],
            )
            for row in rows
        ]

    # leases -------------------------------------------------------------------
    def acquire_lease(self, name: str, holder: str, *, ttl_seconds: float, now: datetime) -> bool:
        """Take lease `name` if it is free, expired or already `holder`'s; False while another holds it."""
        # Two acquirers of a free lease conflict on the primary key; the loser re-checks
        # the WHERE against the winner's row and gets no row back.
        with self.engine.write() as db:
            return bool(db.rows(
                "INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at"
                " WHERE leases.holder = excluded.holder OR leases.expires_at <= ? RETURNING name",
                (name, holder, self.engine.time(now + timedelta(seconds=ttl_seconds)), self.engine.time(now)),
            ))

    def renew_lease(self, name: str, holder: str, *, ttl_seconds: float, now: datetime) -> bool:
        """Extend a lease `holder` still holds; False if it was taken over (or released) meanwhile."""
        with self.engine.write() as db:
            return db.execute(
                "UPDATE leases SET expires_at = ? WHERE name = ? AND holder = ?",
                (self.engine.time(now + timedelta(seconds=ttl_seconds)), name, holder),
            ) == 1

    def release_lease(self, name: str, holder: str) -> bool:
        """Give the lease up; False if `holder` did not hold it."""
        with self.engine.write() as db:
            return db.execute("DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder)) == 1
