"""The embedded store in memory or on disk (`--store-mode`): the same answers either way, the
on-disk store opened read-only by each process after fork (never by gunicorn's master), the
refusals (writes, changes to replay), the `auto` choice, and older builds without a store."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest

from conftest import start_server
from qdkg.build import DATASET_FILE, MANIFEST_FILE
from qdkg.config import Config
from qdkg.isolated import run_isolated
from qdkg.runtime import (
    AUTO_DISK_BYTES,
    AUTO_DISK_QUADS,
    STORE_DIR,
    Runtime,
    StoreModeError,
    after_fork,
    open_runtime,
    store_mode_for,
)
from qdkg.store import STORE_STAMP, OxigraphStore, ReadOnlyStore, StoreError, ensure_disk_store
from test_remote_store import assert_same_answers, get

WRITER = "writer-token-0123456789"


def copy_build(build_dir: Path, target: Path, with_store: bool = False) -> Path:
    """A copy of the build (the repository's inputs still match its manifest)."""
    target.mkdir(parents=True)
    for path in build_dir.iterdir():
        if path.is_file() and path.name != STORE_STAMP:
            shutil.copy2(path, target / path.name)
    if with_store and (build_dir / STORE_DIR).is_dir():
        shutil.copytree(build_dir / STORE_DIR, target / STORE_DIR)
    return target


def serve_args(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, **env}
    if "QDKG_WRITE_TOKENS" not in env:
        environment.pop("QDKG_WRITE_TOKENS", None)
    return subprocess.run([sys.executable, "-m", "qdkg.cli", "serve", "--port", "1", *args],
                          capture_output=True, text=True, timeout=120, env=environment)


def open_files(pid: int) -> list[str]:
    found = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            found.append(os.readlink(fd))
        except OSError:
            continue
    return found


def children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def test_disk_mode_answers_as_memory_mode_does(build_dir, tmp_path, server):
    build = copy_build(build_dir, tmp_path / "build")
    srv = start_server(build, tmp_path, "--store-mode", "disk", env={"QDKG_BUILD_DIR": str(build)})
    try:
        assert (build / STORE_DIR).is_dir()
        status, body = get(srv.url + "/health")
        _, expected = get(server.url + "/health")
        health = json.loads(body)
        assert status == 200 and health["store"] == "embedded"
        assert health["quads"] == json.loads(expected)["quads"]
        assert_same_answers(srv.url, server.url)
        status, body = get(srv.url + "/id/district/chengyang", {"format": "ttl"})
        assert status in (200, 303)
        # The master never opened the store; the workers that answered did, each for itself.
        store = str((build / STORE_DIR).resolve())
        assert not [f for f in open_files(srv.process.pid) if f.startswith(store)]
        assert any(f.startswith(store) for pid in children(srv.process.pid)
                   for f in open_files(pid))
        assert "read-only" in srv.log()
    finally:
        srv.stop()


def test_disk_mode_is_refused_with_writes_on(build_dir, tmp_path):
    build = copy_build(build_dir, tmp_path / "build")
    done = serve_args("--store-mode", "disk", env={
        "QDKG_BUILD_DIR": str(build), "QDKG_WRITE_TOKENS": f"writer:{WRITER}"})
    assert done.returncode == 2
    assert "read-only" in done.stderr and "--store-mode memory" in done.stderr
    bad = serve_args(env={"QDKG_BUILD_DIR": str(build), "QDKG_STORE_MODE": "ramdisk"})
    assert bad.returncode == 2 and "unknown store mode 'ramdisk'" in bad.stderr


def test_disk_mode_is_refused_when_changes_wait_to_be_replayed(build_dir, tmp_path):
    build = copy_build(build_dir, tmp_path / "build")
    data = tmp_path / "data"
    writer = start_server(build, tmp_path, "--data-dir", str(data), "--store-mode", "memory",
                          env={"QDKG_BUILD_DIR": str(build), "QDKG_WRITE_TOKENS": f"writer:{WRITER}"})
    try:
        import urllib.request

        body = (b"<https://w3id.org/qdkg/id/district/chengyang> "
                b"<http://www.w3.org/2000/01/rdf-schema#comment> \"a note\"@en .")
        request = urllib.request.Request(
            writer.url + "/store?graph=https://w3id.org/qdkg/graph/article", data=body,
            method="POST", headers={"Content-Type": "application/n-triples",
                                    "Authorization": f"Bearer {WRITER}", "Accept": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - test server
            assert json.loads(response.read())["status"] == "committed"
    finally:
        writer.stop()
    done = serve_args("--store-mode", "disk", "--data-dir", str(data),
                      env={"QDKG_BUILD_DIR": str(build)})
    assert done.returncode == 2 and "accepted changes" in done.stderr, done.stderr
    # auto falls back to memory, which replays them
    config = Config(build_dir=build, data_dir=data, store_mode="auto")
    from qdkg.journal import Journal

    assert store_mode_for(config, Journal(data)) == "memory"


def test_auto_serves_large_datasets_from_disk(build_dir, tmp_path):
    build = copy_build(build_dir, tmp_path / "build")
    assert store_mode_for(Config(build_dir=build)) == "memory"  # the article: small
    manifest = json.loads((build / MANIFEST_FILE).read_text())
    manifest["counts"]["store"] = AUTO_DISK_QUADS + 1
    (build / MANIFEST_FILE).write_text(json.dumps(manifest))
    assert store_mode_for(Config(build_dir=build)) == "disk"
    assert store_mode_for(Config(build_dir=build, write_tokens={WRITER: "w"})) == "memory"
    assert store_mode_for(Config(build_dir=build, store_mode="memory")) == "memory"
    with pytest.raises(StoreModeError, match="writes are enabled"):
        store_mode_for(Config(build_dir=build, store_mode="disk", write_tokens={WRITER: "w"}))
    # An older build without counts: the size of dataset.nq decides.
    older = tmp_path / "older"
    older.mkdir()
    (older / MANIFEST_FILE).write_text(json.dumps({"inputs": "x", "conforms": True}))
    with (older / DATASET_FILE).open("wb") as sparse:
        sparse.truncate(AUTO_DISK_BYTES + 1)
    assert store_mode_for(Config(build_dir=older)) == "disk"


def test_a_build_without_a_store_gets_one_made_from_its_dataset(build_dir, tmp_path):
    build = copy_build(build_dir, tmp_path / "build")
    dataset, store_dir = build / DATASET_FILE, build / STORE_DIR
    expected = sum(1 for _ in ox.parse(path=str(dataset), format=ox.RdfFormat.N_QUADS))
    assert ensure_disk_store(dataset, store_dir) == expected
    assert ensure_disk_store(dataset, store_dir) == expected  # kept: made from this dataset
    assert not [p for p in build.iterdir() if p.name.startswith(".store-")]  # no scratch left
    store = ReadOnlyStore(store_dir)
    assert len(store) == expected
    with pytest.raises(StoreError, match="read-only"):
        store.update("CLEAR ALL")
    # A new dataset file (a rebuild by an older pipeline) replaces the store.
    with dataset.open("a", encoding="utf-8") as out:
        out.write('<https://w3id.org/qdkg/id/x> <http://www.w3.org/2000/01/rdf-schema#label> '
                  '"x" <https://w3id.org/qdkg/graph/article> .\n')
    assert ensure_disk_store(dataset, store_dir) == expected + 1
    assert len(ReadOnlyStore(store_dir)) == expected + 1


def test_every_process_opens_its_own_handle(build_dir, tmp_path):
    build = copy_build(build_dir, tmp_path / "build")
    runtime = open_runtime(Config(build_dir=build, store_mode="disk"))
    store = runtime.store
    assert isinstance(store, ReadOnlyStore) and runtime.mode == "disk"
    assert not store.opened  # opening it is left to the processes that query
    count = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"
    parent_count = int(next(iter(store.query(count)))[0].value)  # type: ignore[call-overload]
    assert store.opened

    def in_child() -> tuple[bool, int]:
        inherited = store.opened
        after_fork(runtime)
        return inherited, int(next(iter(store.query(count)))[0].value)  # type: ignore[call-overload]

    assert run_isolated(in_child, 60) == (False, parent_count)
    memory = Runtime(Config(), OxigraphStore())
    after_fork(memory)  # a no-op in memory mode
