"""Load generation, always in a process of its own: wrk (C, cheap per request) when installed,
else this module's own client (`python bench/load.py ...`), which is also the paced probe that
times single-resource lookups while wrk drives the mix.

Both replay a file of raw HTTP/1.1 requests (keep-alive, separated by the byte 0x1E) in turn
over C connections for a fixed time and report requests/s and latency percentiles as JSON.
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

SEPARATOR = b"\x1e"

WRK_SCRIPT = r"""
local reqs = {}
local counter = 0
init = function(args)
  local f = assert(io.open(args[1], "rb"))
  local data = f:read("*a")
  f:close()
  for record in string.gmatch(data, "([^\30]+)") do
    table.insert(reqs, record)
  end
end
request = function()
  counter = counter + 1
  return reqs[(counter - 1) % #reqs + 1]
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\n{"requests": %d, "duration_s": %.6f, "bytes": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"latency_ms": {"mean": %.3f, "p50": %.3f, "p90": %.3f, "p95": %.3f, "p99": %.3f, ' ..
    '"max": %.3f}}\n',
    summary.requests, summary.duration / 1e6, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean / 1000, latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
"""


def write_requests(path: Path, requests: list[bytes]) -> Path:
    if any(SEPARATOR in r for r in requests):
        raise ValueError("a request contains the separator byte 0x1E")
    path.write_bytes(SEPARATOR.join(requests))
    return path


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


def run_wrk(url: str, requests_file: Path, connections: int, duration: float,
            work: Path) -> dict:
    script = work / "replay.lua"
    if not script.exists():
        script.write_text(WRK_SCRIPT)
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(duration))}s", "--timeout", "60s",
            "-s", str(script), url, "--", str(requests_file)]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 120)
    line = next((x for x in reversed(result.stdout.splitlines()) if x.startswith("{")), None)
    if result.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed: {result.stdout}\n{result.stderr}")
    stats = json.loads(line)
    stats["client"] = "wrk"
    return _finish(stats)


def run_python(requests_file: Path, port: int, connections: int, duration: float,
               pace: float = 0.0) -> dict:
    """This module's client, as a separate process."""
    argv = [sys.executable, __file__, "--requests", str(requests_file), "--port", str(port),
            "--connections", str(connections), "--duration", str(duration), "--pace", str(pace)]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 120)
    if result.returncode != 0:
        raise RuntimeError(f"load client failed: {result.stderr}")
    return json.loads(result.stdout)


def start_python(requests_file: Path, port: int, connections: int, duration: float,
                 pace: float = 0.0) -> subprocess.Popen:
    """Start the client (e.g. the lookup probe) in the background; `collect` reads its result."""
    argv = [sys.executable, __file__, "--requests", str(requests_file), "--port", str(port),
            "--connections", str(connections), "--duration", str(duration), "--pace", str(pace)]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def collect(process: subprocess.Popen) -> dict:
    out, err = process.communicate(timeout=300)
    if process.returncode != 0:
        raise RuntimeError(f"load client failed: {err}")
    return json.loads(out)


def _finish(stats: dict) -> dict:
    errors = stats["errors"]
    stats["failed"] = sum(errors.values())
    stats["rps"] = round(stats["requests"] / stats["duration_s"], 1) if stats["duration_s"] else 0
    return stats


# --- the Python client ---------------------------------------------------------------------------


class _Connection:
    def __init__(self, port: int) -> None:
        self.port = port
        self.sock: socket.socket | None = None
        self.buffer = b""

    def exchange(self, request: bytes) -> int:
        """Send one request, read its whole response; the status code."""
        if self.sock is None:
            self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=60)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.buffer = b""
        self.sock.sendall(request)
        head = self._until(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip().lower()
        if headers.get(b"transfer-encoding") == b"chunked":
            while True:
                size = int(self._until(b"\r\n").split(b";")[0], 16)
                self._take(size + 2)
                if size == 0:
                    break
        else:
            self._take(int(headers.get(b"content-length", b"0")))
        if headers.get(b"connection") == b"close":
            self.close()
        return status

    def _fill(self) -> None:
        assert self.sock is not None
        data = self.sock.recv(262144)
        if not data:
            raise ConnectionError("connection closed by the server")
        self.buffer += data

    def _until(self, marker: bytes) -> bytes:
        while marker not in self.buffer:
            self._fill()
        head, _, self.buffer = self.buffer.partition(marker)
        return head

    def _take(self, n: int) -> bytes:
        while len(self.buffer) < n:
            self._fill()
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock = None


def _percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def replay(requests: list[bytes], port: int, connections: int, duration: float,
           pace: float = 0.0) -> dict:
    latencies: list[float] = []
    errors = {"connect": 0, "read": 0, "write": 0, "status": 0, "timeout": 0}
    counter = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + duration

    def worker() -> None:
        conn = _Connection(port)
        while time.monotonic() < deadline:
            with lock:
                request = requests[counter[0] % len(requests)]
                counter[0] += 1
            started = time.perf_counter()
            try:
                status = conn.exchange(request)
            except TimeoutError:
                errors["timeout"] += 1
                conn.close()
                continue
            except OSError:
                errors["read"] += 1
                conn.close()
                continue
            elapsed = time.perf_counter() - started
            latencies.append(elapsed * 1000)
            if status >= 400:
                errors["status"] += 1
            if pace:
                time.sleep(max(0.0, pace - elapsed))
        conn.close()

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    stats = {
        "requests": len(latencies), "duration_s": round(elapsed, 6), "errors": errors,
        "latency_ms": {
            "mean": round(sum(latencies) / len(latencies), 3) if latencies else 0.0,
            **{f"p{p}": round(_percentile(latencies, p), 3) for p in (50, 90, 95, 99)},
            "max": round(max(latencies), 3) if latencies else 0.0,
        },
        "client": "python",
    }
    return _finish(stats)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="replay raw HTTP requests over C connections")
    parser.add_argument("--requests", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--connections", type=int, default=1)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--pace", type=float, default=0.0,
                        help="seconds between the starts of one connection's requests")
    args = parser.parse_args(argv)
    requests = [r for r in Path(args.requests).read_bytes().split(SEPARATOR) if r]
    print(json.dumps(replay(requests, args.port, args.connections, args.duration, args.pace)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
