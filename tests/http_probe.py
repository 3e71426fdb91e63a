"""Helpers for the reliability and security tests: raw HTTP calls, dumps, process trees, memory."""

from __future__ import annotations

import http.client
import os
import socket
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from conftest import WRITE_TOKEN

ARTICLE = "https://w3id.org/qdkg/graph/article"
QID = "https://w3id.org/qdkg/id/"


@dataclass
class Reply:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def call(url: str, method: str = "GET", body: bytes | str | None = None,
         headers: dict[str, str] | None = None, timeout: float = 120) -> Reply:
    """One request exactly as given (the path is sent as is, not re-encoded)."""
    parts = urllib.parse.urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    if isinstance(body, str):
        body = body.encode("utf-8")
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        try:
            connection.request(method, target or "/", body=body, headers=headers or {})
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused before the whole body was sent: the answer is already there
        response = connection.getresponse()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()},
                     response.read())
    finally:
        connection.close()


def authorised(headers: dict[str, str] | None = None, token: str = WRITE_TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept": "application/json", **(headers or {})}


def update(url: str, sparql: str | bytes, token: str = WRITE_TOKEN, **headers: str) -> Reply:
    return call(url + "/update", "POST", sparql, authorised(
        {"Content-Type": "application/sparql-update", **headers}, token))


def insert(triples: str) -> str:
    return f"INSERT DATA {{ GRAPH <{ARTICLE}> {{ {triples} }} }}"


def dump(url: str) -> list[str]:
    """Every quad of the dataset, sorted: equal dumps mean no change at all."""
    reply = call(url + "/dump.nq")
    assert reply.status == 200, reply.text
    return sorted(reply.text.splitlines())


def children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry))
    return found


def tree(pid: int) -> list[int]:
    """The process and all its descendants (gunicorn master, workers, query executors)."""
    pids = [pid]
    for child in children(pid):
        pids += tree(child)
    return pids


def pss_kb(pids: list[int]) -> int:
    """Proportional set size of the processes, summed: shared copy-on-write pages counted once."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.1) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


def workers_of(pid: int, workers: int, timeout: float = 30.0) -> list[int]:
    """The server's worker pids, once all `workers` are up."""
    assert wait_for(lambda: len(children(pid)) == workers, timeout), f"workers of {pid}"
    return sorted(children(pid))


@contextmanager
def listener() -> Iterator[tuple[str, socket.socket]]:
    """A listening socket: a connection attempt would wait in its backlog, seen by accept()."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.setblocking(False)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}", sock
    finally:
        sock.close()


def connections(sock: socket.socket) -> int:
    """How many connection attempts reached the listener."""
    seen = 0
    while True:
        try:
            conn, _ = sock.accept()
        except BlockingIOError:
            return seen
        conn.close()
        seen += 1


def cpu_ticks(pid: int) -> int:
    """utime + stime of a process, in clock ticks (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])
