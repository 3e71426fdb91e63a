"""The servers under test, each a process tree started on a free local port, and what the trees
use: memory from /proc (RSS and PSS, summed over the tree) and CPU time."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
OXIGRAPH = os.environ.get("OXIGRAPH_BIN") or str(Path(sys.executable).with_name("oxigraph"))
PROBE_QUERY = "SELECT * WHERE { ?s ?p ?o } LIMIT 1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2:].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def tree_pids(root: int) -> list[int]:
    children, pids, todo = _children(), [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        todo.extend(children.get(pid, ()))
    return pids


def memory_kib(pids: list[int]) -> tuple[int, int]:
    """(RSS, PSS) summed over `pids`, in KiB. PSS shares copy-on-write pages out fairly
    between the forked workers, so its sum is the tree's real footprint; RSS counts them
    once per process."""
    rss = pss = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1])
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1])
        except OSError:
            continue
    return rss, pss


def cpu_seconds(pids: list[int]) -> float:
    """User + system time of `pids` and of the children they have reaped."""
    ticks = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(b")") + 2:].split()
        ticks += sum(int(x) for x in fields[11:15])
    return ticks / CLOCK_TICKS


class Sampler:
    """Polls the registered process trees and keeps each one's peak memory."""

    def __init__(self, interval: float = 0.5) -> None:
        self.interval = interval
        self.roots: dict[str, int] = {}
        self.peaks: dict[str, tuple[int, int]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def watch(self, name: str, pid: int) -> None:
        self.roots[name] = pid
        self.sample(name)

    def sample(self, name: str) -> tuple[int, int]:
        pid = self.roots.get(name)
        if pid is None:
            return self.peaks.get(name, (0, 0))
        rss, pss = memory_kib(tree_pids(pid))
        old = self.peaks.get(name, (0, 0))
        self.peaks[name] = (max(old[0], rss), max(old[1], pss))
        return rss, pss

    def forget(self, name: str) -> None:
        self.sample(name)
        self.roots.pop(name, None)

    def peak_mib(self, name: str) -> dict[str, float]:
        rss, pss = self.peaks.get(name, (0, 0))
        return {"peak_rss_mib": round(rss / 1024, 1), "peak_pss_mib": round(pss / 1024, 1)}

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            for name in list(self.roots):
                self.sample(name)


@dataclass
class Server:
    """A SPARQL endpoint under test: where to send queries and how to stop it."""

    name: str
    query_url: str
    process: subprocess.Popen | None = None
    facts: dict[str, object] = field(default_factory=dict)
    form_queries: bool = False  # Virtuoso is sent form-encoded queries

    @property
    def base(self) -> str:
        parts = urlsplit(self.query_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def port(self) -> int:
        return int(urlsplit(self.query_url).port or 80)

    @property
    def path(self) -> str:
        return urlsplit(self.query_url).path

    def request_bytes(self, query: str, accept: str) -> bytes:
        """One raw HTTP/1.1 request (keep-alive) that sends `query` to this endpoint."""
        if self.form_queries:
            body = urlencode({"query": query}).encode()
            kind = "application/x-www-form-urlencoded"
        else:
            body, kind = query.encode(), "application/sparql-query"
        head = (f"POST {self.path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
                f"Content-Type: {kind}\r\nAccept: {accept}\r\nContent-Length: {len(body)}\r\n\r\n")
        return head.encode() + body

    def query(self, query: str, accept: str = "application/sparql-results+json",
              timeout: float = 120.0) -> tuple[int, bytes, float]:
        """(status, body, seconds) for one query on a fresh connection."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        raw = self.request_bytes(query, accept)
        head, _, body = raw.partition(b"\r\n\r\n")
        headers = dict(line.split(": ", 1) for line in head.decode().split("\r\n")[1:])
        headers.pop("Host", None)
        started = time.perf_counter()
        try:
            conn.request("POST", self.path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            return response.status, data, time.perf_counter() - started
        finally:
            conn.close()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def wait_for_answer(server: Server, started: float, limit: float, log_path: Path) -> float:
    """Seconds from `started` until the server answers a query with 200."""
    deadline = started + limit
    while time.monotonic() < deadline:
        if server.process is not None and server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited with {server.process.returncode}:\n"
                               + log_path.read_text(errors="replace")[-3000:])
        try:
            status, _, _ = server.query(PROBE_QUERY, timeout=5)
            if status == 200:
                return time.monotonic() - started
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{server.name} did not answer within {limit} s:\n"
                       + log_path.read_text(errors="replace")[-3000:])


def spawn(argv: list[str], log_path: Path, env: dict[str, str] | None = None
           ) -> subprocess.Popen:
    with log_path.open("wb") as log:
        return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)


def start_qdkg(name: str, root: Path | None, build_dir: Path, work: Path, sampler: Sampler,
               workers: int, *extra: str, tokens: str | None = None) -> Server:
    """`qdkg serve` over a previous build; start-up is timed to the first answered query.
    Writes are off unless `tokens` (QDKG_WRITE_TOKENS) are given."""
    port = free_port()
    env = {**os.environ, "QDKG_BUILD_DIR": str(build_dir)}
    env.pop("QDKG_WRITE_TOKENS", None)
    if tokens:
        env["QDKG_WRITE_TOKENS"] = tokens
    if root is not None:
        env["QDKG_ROOT"] = str(root)
    log_path = work / f"{name}.log"
    started = time.monotonic()
    process = spawn([sys.executable, "-m", "qdkg.cli", "serve", "--host", "127.0.0.1",
                      "--port", str(port), "--workers", str(workers), *extra], log_path, env)
    server = Server(name, f"http://127.0.0.1:{port}/sparql", process)
    sampler.watch(name, process.pid)
    try:
        server.facts["startup_s"] = round(wait_for_answer(server, started, 900, log_path), 3)
    except BaseException:
        server.stop()
        raise
    server.facts["log"] = str(log_path)
    return server


def start_oxigraph(dataset: Path, work: Path, sampler: Sampler) -> Server:
    """`oxigraph load` into a fresh directory (timed), then `oxigraph serve` on it."""
    location = work / "oxigraph-db"
    if location.exists():
        subprocess.run(["rm", "-rf", str(location)], check=True)
    log_path = work / "oxigraph-load.log"
    started = time.monotonic()
    loader = spawn([OXIGRAPH, "load", "--location", str(location), "--file", str(dataset)],
                    log_path)
    sampler.watch("oxigraph-load", loader.pid)
    if loader.wait() != 0:
        raise RuntimeError("oxigraph load failed:\n" + log_path.read_text(errors="replace"))
    load_s = time.monotonic() - started
    sampler.forget("oxigraph-load")
    port = free_port()
    log_path = work / "oxigraph.log"
    started = time.monotonic()
    process = spawn([OXIGRAPH, "serve", "--location", str(location), "--bind",
                      f"127.0.0.1:{port}", "--union-default-graph"], log_path)
    server = Server("oxigraph", f"http://127.0.0.1:{port}/query", process)
    sampler.watch("oxigraph", process.pid)
    try:
        server.facts["startup_s"] = round(wait_for_answer(server, started, 120, log_path), 3)
    except BaseException:
        server.stop()
        raise
    server.facts["load_s"] = round(load_s, 3)
    server.facts.update({f"load_{k}": v for k, v in sampler.peak_mib("oxigraph-load").items()})
    return server
