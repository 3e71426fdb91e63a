"""Shared fixtures: one build per test session, the real app, and real server processes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from qdkg.build import build
from qdkg.config import Config

WRITE_TOKEN = "steward-token-0123456789"
WRITE_TOKENS = f"alice:{WRITE_TOKEN},bob:bob-token-9876543210"


@pytest.fixture(scope="session")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The dataset, built once for the whole session from the repository's sources."""
    out = tmp_path_factory.mktemp("build")
    build(out, log=lambda _msg: None)
    return out


@pytest.fixture(scope="session")
def app(build_dir: Path):
    """The real application over an in-memory store (read-only use: do not write through it)."""
    from qdkg.app import create_app

    return create_app(Config(build_dir=build_dir, testing=True))


@pytest.fixture()
def client(app):
    return app.test_client()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int | None = None) -> None:
        if self.process.poll() is None:
            if sig is None:
                self.process.terminate()
            else:
                self.process.send_signal(sig)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(
    build_dir: Path, log_dir: Path, *args: str, env: dict[str, str] | None = None,
    wait: float = 60.0,
) -> Server:
    """Start `qdkg serve` on a free port as a separate process and wait until /health answers."""
    port = free_port()
    log_path = log_dir / f"server-{port}.log"
    environment = {**os.environ, "QDKG_BUILD_DIR": str(build_dir), **(env or {})}
    if "QDKG_WRITE_TOKENS" not in (env or {}):
        environment.pop("QDKG_WRITE_TOKENS", None)  # writes stay off unless a test asks for them
    with log_path.open("wb") as log_file:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            [sys.executable, "-m", "qdkg.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
             *args],
            stdout=log_file, stderr=subprocess.STDOUT, env=environment,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log_path.read_text()}")
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as response:
                if response.status == 200:
                    return Server(url, process, log_path)
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"server did not answer within {wait} s:\n{log_path.read_text()}")


@pytest.fixture(scope="session")
def server(build_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real read-only server process on a free port, shared by the session."""
    srv = start_server(build_dir, tmp_path_factory.mktemp("server-logs"))
    yield srv
    srv.stop()


@pytest.fixture()
def server_factory(
    build_dir: Path, tmp_path: Path
) -> Iterator[Callable[..., Server]]:
    """Start extra servers with their own arguments and environment; all stopped afterwards."""
    started: list[Server] = []

    def factory(*args: str, env: dict[str, str] | None = None) -> Server:
        srv = start_server(build_dir, tmp_path, *args, env=env)
        started.append(srv)
        return srv

    yield factory
    for srv in started:
        srv.stop()
