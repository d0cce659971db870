"""Backups of a live store into one file, and restoring one, on either engine.

SQLite copies pages with its online backup API (https://sqlite.org/backup.html):
the copy is one read transaction, so it is a consistent snapshot while the
server's writer keeps writing; restoring copies the pages back in one write
transaction on a connection of its own (the server's writers wait for it), which
readers see as one change, then applies any migrations the backup lacks. PostgreSQL uses `pg_dump --format=custom`
(one snapshot of the database, taken without blocking writers) and
`pg_restore --clean --single-transaction`, so a restore applies whole or not at
all. A backup is written to a temporary name and renamed, so PATH never holds half
of one. The search indexes are not backed up: a restored store gets a new index
id, so each process builds its indexes afresh from it (once restarted: a running
one keeps the indexes it holds in memory).
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from pathlib import Path

from paperwire.store.api import Store
from paperwire.store.errors import StoreError

PG_TOOLS_HINT = "install the PostgreSQL client tools of the server's major version or newer (pg_dump, pg_restore)"


class BackupError(StoreError):
    """A backup or restore could not be made; the message says why and what to do."""


def backup(store: Store, path: Path) -> None:
    """Write a consistent copy of `store` to `path` (replaced if it exists); raises BackupError."""
    path = Path(path)
    if not path.parent.is_dir():
        raise BackupError(f"cannot write a backup to {path}: folder {path.parent} does not exist")
    scratch = path.with_name(path.name + ".partial")
    scratch.unlink(missing_ok=True)  # left by a backup that was killed
    try:
        if _is_sqlite(store):
            _sqlite_copy(store.engine.path, scratch, is_backup=True)
        else:
            _run([_pg_tool("pg_dump", store), "--format=custom", "--no-owner", f"--file={scratch}",
                  f"--dbname={store.url}"])
        os.replace(scratch, path)
    finally:
        scratch.unlink(missing_ok=True)


def restore(store: Store, path: Path) -> None:
    """Replace everything `store` holds with the backup at `path`; raises BackupError when
    `path` is not a backup of this engine (the store is then left as it was)."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"no backup at {path}; give the file `paperwire db backup` wrote")
    if _is_sqlite(store):
        _check_sqlite_backup(path)
        # A connection of its own: SQLite's locks make the server's writers wait for it.
        _sqlite_copy(path, store.engine.path, is_backup=False)
    else:
        _pg_restore(store, path)
    store.migrate()  # a backup made by an older paperwire lacks the newer migrations
    _forget_search_indexes(store)


def _forget_search_indexes(store: Store) -> None:
    """Give the restored store a new search-index id, so every process builds its indexes
    afresh. A saved index newer than the backup is ahead of the restored store only until
    new changes pass its change_seq; from then on it would pass for current."""
    from paperwire.search.service import STORE_ID_CHECKPOINT

    store.set_checkpoint(STORE_ID_CHECKPOINT, None)


def _pg_restore(store: Store, path: Path) -> None:
    tool = _pg_tool("pg_restore", store)
    with tempfile.NamedTemporaryFile("w", suffix=".list") as listing:
        listing.write(_without_extensions(_run([tool, "--list", str(path)])))
        listing.flush()
        _run([tool, "--clean", "--if-exists", "--single-transaction", "--no-owner", "--exit-on-error",
              f"--use-list={listing.name}", f"--dbname={store.url}", str(path)])


def _without_extensions(listing: str) -> str:
    """pg_restore's table of contents less the extensions (pgvector), which stay as they
    are: dropped and created again, `vector` would take a new type OID, and every open
    connection (the running server's too) would stop reading vectors."""
    return "".join(line for line in listing.splitlines(keepends=True) if " EXTENSION " not in line)


def _is_sqlite(store: Store) -> bool:
    return store.url.startswith("sqlite:")


def _sqlite_copy(source: Path, target: Path, *, is_backup: bool) -> None:
    """Copy every page of `source` into `target` in one step: one read transaction, so
    concurrent writers neither tear the copy nor make it start over. A backup file is
    left in rollback-journal mode: one self-contained file, with no -wal beside it."""
    try:
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
        dst = sqlite3.connect(target, timeout=30)
    except sqlite3.Error as error:
        raise BackupError(f"cannot open {source} or {target}: {error}") from None
    try:
        src.backup(dst)
        if is_backup:
            dst.execute("PRAGMA journal_mode=DELETE")
    except sqlite3.Error as error:
        raise BackupError(f"copying {source} to {target} failed: {error}") from None
    finally:
        src.close()
        dst.close()


def _check_sqlite_backup(path: Path) -> None:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            conn.execute("SELECT COUNT(*) FROM papers").fetchone()
            [result] = conn.execute("PRAGMA quick_check").fetchone()
        finally:
            conn.close()
    except sqlite3.Error as error:
        raise BackupError(f"{path} is not a SQLite backup of a paperwire store ({error})") from None
    if result != "ok":
        raise BackupError(f"the backup {path} is damaged (quick_check: {result}); use another backup")


def _pg_tool(name: str, store: Store) -> str:
    """The `name` binary that can talk to this server: pg_dump refuses servers newer than
    itself. Looks on PATH, then beside the postgres of the pgserver wheel."""
    from paperwire.store.sql import scalar

    server_major = int(scalar(store.engine.read(), "SHOW server_version_num")) // 10_000
    candidates = [shutil.which(name)]
    try:
        import pgserver

        candidates.append(str(Path(pgserver.__file__).parent / "pginstall" / "bin" / name))
    except ImportError:
        pass
    found = []
    for candidate in filter(None, candidates):
        major = _major_version(candidate)
        if major is not None and major >= server_major:
            return candidate
        found.append(f"{candidate} ({major or 'unusable'})")
    raise BackupError(f"no {name} for PostgreSQL {server_major} (found: {', '.join(found) or 'none'}); "
                      f"{PG_TOOLS_HINT}")


def _major_version(binary: str) -> int | None:
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30).stdout
    except OSError:
        return None
    match = re.search(r"\) (\d+)", out)
    return int(match.group(1)) if match else None


def _run(command: list[str]) -> str:
    """Run a client tool; returns its output, or raises BackupError with its message."""
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        shown = [part.split("--dbname=")[0] + "--dbname=..." if part.startswith("--dbname=") else part
                 for part in command]
        raise BackupError(f"{Path(shown[0]).name} failed ({result.returncode}): "
                          f"{result.stderr.strip() or result.stdout.strip()}; command: {' '.join(shown[1:])}")
    return result.stdout
