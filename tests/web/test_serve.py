"""End to end: `paperwire serve` as its own process on a free port, asked over real HTTP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from paperwire.store import open_store
from tests.conftest import make_paper

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_SECONDS = 20


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(process: subprocess.Popen, base_url: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"paperwire serve exited with {process.returncode}:\n{process.stdout.read()}")
        try:
            httpx.get(f"{base_url}/api/status", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"paperwire serve did not answer within {START_TIMEOUT_SECONDS} s")


@pytest.mark.slow  # 5-25 s: starts `paperwire serve` in a subprocess
@pytest.mark.parametrize("workers", [1, 2])
def test_serve(tmp_path, workers):
    url = f"sqlite:///{tmp_path}/paperwire.db"
    store = open_store(url)
    store.upsert_papers([make_paper(arxiv_id="hep-th/9901001", title="Served Over HTTP")], source="test")
    store.close()
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "-m", "paperwire", "serve", "--no-harvest", "--no-embed", "--host", "127.0.0.1",
         "--port", str(port), "--workers", str(workers)],
        cwd=ROOT, env={**os.environ, "DATABASE_URL": url, "PAPERWIRE_CACHE_DIR": str(tmp_path / "cache")},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        wait_until_up(process, base_url)
        daily = httpx.get(f"{base_url}/")
        assert daily.status_code == 200 and "Served Over HTTP" in daily.text
        assert daily.headers["x-content-type-options"] == "nosniff"
        assert httpx.get(f"{base_url}/paper/hep-th/9901001.bib").text.startswith("@misc{lovelace2025served,")
        status = httpx.get(f"{base_url}/api/status").json()
        assert status["stats"]["paper_count"] == 1 and status["harvest"]["is_enabled"] is False
        assert httpx.get(f"{base_url}/api/papers/2503.99999").json()["status"] == 404
        found = httpx.get(f"{base_url}/api/search", params={"q": "served"}).json()
        assert [hit["paper"]["arxiv_id"] for hit in found["hits"]] == ["hep-th/9901001"]
    finally:
        process.terminate()
        output = process.communicate(timeout=10)[0]
    # uvicorn shuts down cleanly on SIGTERM, then re-raises the signal for its exit status.
    assert process.returncode in (0, -signal.SIGTERM), output
    assert "Application shutdown complete." in output
    assert f"paperwire: http://127.0.0.1:{port}, {workers} process(es), harvest off, embedding off" in output
    assert list((tmp_path / "cache" / "indexes").glob("*/keywords/meta.json"))  # committed (tantivy)


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid`, from /proc/*/stat (/proc/PID/task/TID/children
    needs CONFIG_PROC_CHILDREN, which some of our machines lack; bench/procmem.py)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()  # after the command name, which may hold spaces
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _connections_by_process(server_pid: int, port: int) -> dict[int, int]:
    """Established connections on `port` held by each child of `server_pid`, from /proc."""
    established = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == "01":
            established.add(fields[9])  # the socket's inode
    counts = {}
    for child in _children(server_pid):
        inodes = set()
        try:
            fds = list(Path(f"/proc/{child}/fd").iterdir())
        except OSError:  # gone meanwhile
            continue
        for fd in fds:
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[len("socket:["):-1])
        counts[child] = len(inodes & established)
    return {pid: n for pid, n in counts.items() if n}


@pytest.mark.slow  # starts `paperwire serve --workers 2` in a subprocess
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SO_REUSEPORT balances on Linux only")
def test_two_processes_each_take_a_share_of_the_connections_and_a_taken_port_is_refused(tmp_path):
    """With uvicorn's shared socket, 20 connections opened at once went 20/0 or 16/4 to two
    processes; with a socket each (web/processes.py) the kernel spreads them: at least 3 of
    24 each (fewer has a chance of 1 in 28,000 by the hash alone)."""
    url = f"sqlite:///{tmp_path}/paperwire.db"
    open_store(url).close()
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "paperwire", "serve", "--no-harvest", "--no-embed", "--host", "127.0.0.1",
               "--port", str(port), "--workers", "2"]
    env = {**os.environ, "DATABASE_URL": url, "PAPERWIRE_CACHE_DIR": str(tmp_path / "cache")}
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    clients = [httpx.Client(base_url=base_url) for _ in range(24)]
    try:
        wait_until_up(process, base_url)
        time.sleep(1)  # both processes listening
        with ThreadPoolExecutor(len(clients)) as pool:
            assert set(pool.map(lambda c: c.get("/api/status").status_code, clients)) == {200}
        counts = _connections_by_process(process.pid, port)
        assert len(counts) == 2 and sum(counts.values()) >= 24 and min(counts.values()) >= 3, counts
        second = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert second.returncode == 1
        assert f"cannot listen on 127.0.0.1:{port}" in second.stderr and "choose another --port" in second.stderr
        assert httpx.get(f"{base_url}/api/status").status_code == 200  # the first server is untouched
    finally:
        for client in clients:
            client.close()
        process.terminate()
        output = process.communicate(timeout=60)[0]
    assert process.returncode == 0, output
    assert output.count("Application shutdown complete.") == 2, output
