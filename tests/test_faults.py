"""Faults around a real server: a read-only or full data directory, a backup restored after the
data directory is destroyed under a killed server, and a remote store that goes away and comes
back. (A server killed in the middle of writes is tested in test_writes.py.)"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from conftest import WRITE_TOKENS, free_port, start_server
from http_probe import ARTICLE, QID, call, insert, tree, update, wait_for
from qdkg.journal import LOG_NAME, Journal

CHENGYANG = QID + "district/chengyang"
COMMENT = "http://www.w3.org/2000/01/rdf-schema#comment"
WRITES = {"QDKG_WRITE_TOKENS": WRITE_TOKENS}


def comment(text: str) -> str:
    return insert(f'<{CHENGYANG}> <{COMMENT}> "{text}"@en .')


def comments(url: str, prefix: str) -> list[str]:
    """The article graph's comments on Chengyang that start with `prefix` (with repeats)."""
    query = (f"SELECT ?c WHERE {{ GRAPH <{ARTICLE}> {{ <{CHENGYANG}> <{COMMENT}> ?c "
             f"FILTER(STRSTARTS(STR(?c), '{prefix}')) }} }}")
    reply = call(url + "/sparql?" + urllib.parse.urlencode({"query": query}))
    assert reply.status == 200, reply.text
    return sorted(b["c"]["value"] for b in json.loads(reply.body)["results"]["bindings"])


def change_graphs(url: str) -> int:
    query = "SELECT (COUNT(DISTINCT ?g) AS ?n) WHERE { GRAPH ?g { ?g a " \
            "<http://purl.org/vocab/changeset/schema#ChangeSet> } }"
    reply = call(url + "/sparql?" + urllib.parse.urlencode({"query": query}))
    return int(json.loads(reply.body)["results"]["bindings"][0]["n"]["value"])


def journal_is_whole(data_dir: Path) -> list[int]:
    """The change set numbers in the journal, which must end exactly after its last record."""
    journal = Journal(data_dir)
    entries = list(journal.read())
    size = journal.path.stat().st_size if journal.path.exists() else 0
    assert size == (entries[-1].end if entries else 0), "a torn or unreadable tail is left"
    numbers = [entry.seq for entry in entries]
    assert numbers == list(range(1, len(numbers) + 1))
    return numbers


# --- a small file system of our own ----------------------------------------------------------


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True)


@contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    """A tmpfs of `size` at `path` (needs root, as on CI)."""
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a small file system needs root")
    _mount("-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path))
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False, capture_output=True)


def serve_and_exit(build_dir: Path, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QDKG_BUILD_DIR": str(build_dir), **WRITES}
    return subprocess.run(
        [sys.executable, "-m", "qdkg.cli", "serve", "--port", str(free_port()), "--data-dir",
         str(data_dir)], capture_output=True, text=True, env=env, timeout=120, check=False)


def test_a_read_only_data_directory_is_a_clear_error_at_start(build_dir, tmp_path):
    with tmpfs(tmp_path / "ro", "1m") as mount:
        srv = start_server(build_dir, tmp_path, "--data-dir", str(mount / "data"), env=WRITES)
        assert update(srv.url, comment("before read-only")).status == 200
        srv.stop()
        journal = (mount / "data" / "journal" / LOG_NAME).read_bytes()
        _mount("-o", "remount,ro", str(mount))
        for data_dir in (mount / "data", mount / "data" / "new"):
            finished = serve_and_exit(build_dir, data_dir)
            assert finished.returncode == 2, finished.stderr[-2000:]
            assert "cannot be used" in finished.stderr and "Read-only file system" in \
                finished.stderr
            assert "Traceback" not in finished.stderr
        assert (mount / "data" / "journal" / LOG_NAME).read_bytes() == journal


def test_a_data_directory_made_read_only_while_serving_gives_503_then_recovers(build_dir,
                                                                              tmp_path):
    with tmpfs(tmp_path / "fs", "1m") as mount:
        srv = start_server(build_dir, tmp_path, "--data-dir", str(mount / "data"), env=WRITES)
        try:
            assert update(srv.url, comment("ro 1")).status == 200
            _mount("-o", "remount,ro", str(mount))
            refused = update(srv.url, comment("ro 2"))
            assert refused.status == 503, refused.text
            message = json.loads(refused.body)["error"]
            assert "nothing was changed" in message and "Read-only file system" in message
            assert str(mount) not in refused.text
            assert comments(srv.url, "ro ") == ["ro 1"]  # reads go on
            assert call(srv.url + "/health").status == 200
            _mount("-o", "remount,rw", str(mount))
            assert update(srv.url, comment("ro 3")).status == 200
        finally:
            srv.stop()
        assert journal_is_whole(mount / "data") == [1, 2]
        again = start_server(build_dir, tmp_path, "--data-dir", str(mount / "data"), env=WRITES)
        try:
            assert comments(again.url, "ro ") == ["ro 1", "ro 3"]
        finally:
            again.stop()


def test_a_full_disk_refuses_the_write_and_keeps_every_acknowledged_one(build_dir, tmp_path):
    with tmpfs(tmp_path / "fs", "48k") as mount:
        srv = start_server(build_dir, tmp_path, "--data-dir", str(mount / "data"), env=WRITES)
        acknowledged: list[str] = []
        try:
            for i in range(60):
                reply = update(srv.url, comment(f"full {i:02d} " + "x" * 1500))
                if reply.status != 200:
                    break
                acknowledged.append(f"full {i:02d} " + "x" * 1500)
            assert reply.status == 503, reply.text
            assert "No space left on device" in json.loads(reply.body)["error"]
            assert acknowledged, "the disk was full before the first write"
            assert comments(srv.url, "full ") == acknowledged
            assert journal_is_whole(mount / "data") == list(range(1, len(acknowledged) + 1))
            assert update(srv.url, comment("full again " + "x" * 1500)).status == 503  # still full
            _mount("-o", "remount,size=4m", str(mount))
            assert update(srv.url, comment("full after")).status == 200
            acknowledged.append("full after")
        finally:
            srv.stop()
        again = start_server(build_dir, tmp_path, "--data-dir", str(mount / "data"), env=WRITES)
        try:
            assert comments(again.url, "full ") == sorted(acknowledged)
            assert change_graphs(again.url) == len(acknowledged)
        finally:
            again.stop()


# --- backup and restore (docs/operations.md) -------------------------------------------------


def _kill(srv) -> None:  # type: ignore[no-untyped-def]
    """SIGKILL the whole server: master stopped first so no worker is restarted meanwhile."""
    srv.process.send_signal(signal.SIGSTOP)
    for pid in tree(srv.process.pid)[1:]:
        os.kill(pid, signal.SIGKILL)
    srv.process.send_signal(signal.SIGKILL)
    srv.process.wait()


def test_backup_destroy_and_restore_while_writes_go_on(build_dir, tmp_path):
    data_dir = tmp_path / "data"
    srv = start_server(build_dir, tmp_path, "--data-dir", str(data_dir), env=WRITES)
    acknowledged: list[tuple[float, float, str]] = []  # (sent, answered, text)
    stop = threading.Event()

    def write() -> None:
        i = 0
        while not stop.is_set():
            text = f"backup {i:03d}"
            sent = time.monotonic()
            try:
                reply = update(srv.url, insert(" ".join(
                    f'<{CHENGYANG}> <{COMMENT}> "{text} {part}"@en .' for part in "abc")))
            except OSError:
                return
            if reply.status == 200:
                acknowledged.append((sent, time.monotonic(), text))
            i += 1

    writer = threading.Thread(target=write)
    writer.start()
    assert wait_for(lambda: len(acknowledged) >= 4, 60)
    backup = tmp_path / "changes.log.backup"
    copied_at = time.monotonic()
    shutil.copyfile(data_dir / "journal" / LOG_NAME, backup)  # the whole procedure: one copy
    assert wait_for(lambda: any(sent > copied_at for sent, _, _ in acknowledged), 60)
    _kill(srv)
    stop.set()
    writer.join()
    shutil.rmtree(data_dir)  # the disaster

    restored = data_dir / "journal"
    restored.mkdir(parents=True)
    shutil.copyfile(backup, restored / LOG_NAME)
    again = start_server(build_dir, tmp_path, "--data-dir", str(data_dir), env=WRITES)
    try:
        found = comments(again.url, "backup ")
        texts = {value.rsplit(" ", 1)[0] for value in found}
        for text in texts:  # every write whole: its three triples, once each
            assert [v for v in found if v.startswith(text + " ")] == [
                f"{text} {part}" for part in "abc"]
        before_copy = {text for _, answered, text in acknowledged if answered < copied_at}
        assert before_copy <= texts  # every write acknowledged before the copy is back
        assert texts <= {text for _, _, text in acknowledged} | _in_flight(acknowledged)
        numbers = journal_is_whole(data_dir)
        assert change_graphs(again.url) == len(numbers) == len(texts)
        assert update(again.url, comment("after restore")).status == 200
    finally:
        again.stop()


def _in_flight(acknowledged: list[tuple[float, float, str]]) -> set[str]:
    """The one write that may have been journalled but not answered when the server died."""
    if not acknowledged:
        return set()
    last = int(acknowledged[-1][2].split()[1])
    return {f"backup {last + 1:03d}"}


# --- the remote store goes away and comes back ------------------------------------------------


def _oxigraph(location: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    binary = Path(sys.executable).with_name("oxigraph")
    with log.open("ab") as out:
        process = subprocess.Popen(
            [str(binary), "serve", "--location", str(location), "--bind", f"127.0.0.1:{port}",
             "--union-default-graph"], stdout=out, stderr=subprocess.STDOUT)

    def up() -> bool:
        try:
            return call(f"http://127.0.0.1:{port}/query?query=ASK%7B%7D", timeout=2).status == 200
        except OSError:
            return False

    assert wait_for(up, 30), log.read_text()
    return process


def test_remote_store_away_and_back(build_dir, tmp_path):
    port = free_port()
    location = tmp_path / "oxigraph"
    store = _oxigraph(location, port, tmp_path / "oxigraph.log")
    srv = start_server(build_dir, tmp_path, "--store", f"http://127.0.0.1:{port}/query")
    labels = f"SELECT ?l WHERE {{ <{CHENGYANG}> <http://www.w3.org/2000/01/rdf-schema#label> ?l }}"
    ask = srv.url + "/sparql?" + urllib.parse.urlencode({"query": labels})
    try:
        first = call(ask)
        assert first.status == 200 and len(json.loads(first.body)["results"]["bindings"]) == 2
        store.send_signal(signal.SIGKILL)
        store.wait()
        for path in (ask, srv.url + "/doc/district/chengyang.ttl", srv.url + "/dump.nq"):
            down = call(path, headers={"Accept": "application/json, text/plain;q=0.5"})
            assert down.status in (502, 503), (path, down.status, down.text)
            assert "could not be reached" in down.text or "did not answer" in down.text, down.text
            assert "Traceback" not in down.text
        health = call(srv.url + "/health")
        assert health.status == 503 and json.loads(health.body)["status"] == "unavailable"
        store = _oxigraph(location, port, tmp_path / "oxigraph.log")  # same port, same data
        assert wait_for(lambda: call(ask).status == 200, 30)
        assert json.loads(call(ask).body) == json.loads(first.body)
        assert call(srv.url + "/health").status == 200
        assert srv.process.poll() is None  # recovered without a restart
    finally:
        srv.stop()
        store.kill()
        store.wait()
