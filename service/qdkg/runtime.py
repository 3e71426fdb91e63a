"""The running service's state: the configured store, filled from the build and the change
journal, and kept up to date with changes accepted by other processes. No Flask here.

The embedded store is kept in one of two ways (`Config.store_mode`, see `store_mode_for`):

- memory: the master loads the build's N-Quads into an in-memory store and the processes forked
  from it (gunicorn workers, query executors) share it copy-on-write, until a query makes a
  process write to the pages it reads (pyoxigraph does), which gives that process its own copy.
  The fastest to query; it costs memory in proportion to the dataset times the processes.
- disk: the build's on-disk store (`build/store`, RocksDB) opened read-only by every process
  for itself after fork (`after_fork`); the master loads nothing. The data lives in the
  kernel's page cache, shared by all processes, and start-up does not grow with the dataset.
  Read-only, so only when writes are off.

The journal under the data directory is the one shared truth: a process loads the build, then
replays the journal, and `refresh` applies whatever other processes appended since. Without a
data directory, writes (when enabled) go to a journal in a temporary directory created when the
runtime opens — shared by the workers forked from this process, gone after a restart.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from .build import DATASET_FILE, MANIFEST_FILE, STORE_DIR, BuildError, build
from .changeset import apply_entry
from .config import Config
from .journal import Journal
from .store import OxigraphStore, ReadOnlyStore, Store, ensure_disk_store

STORE_MODES = ("memory", "disk", "auto")

# `auto` serves from disk above this many quads (the manifest's count), or, for a build without
# counts, above this size of dataset.nq (about 190 bytes a quad in the generated data).
AUTO_DISK_QUADS = 3_000_000
AUTO_DISK_BYTES = AUTO_DISK_QUADS * 190
_GRAPH_COUNTS = ("ontology", "shapes", "article", "external", "text", "inferred")

log = logging.getLogger("qdkg")


@dataclass
class Runtime:
    config: Config
    store: Store
    journal: Journal | None = None
    applied: int = 0  # journal offset just after the last change set applied to this store
    seq: int = 0  # number of the last change set applied to this store
    seen: tuple[int, int] = (0, 0)  # the journal's (size, mtime) when this process last looked
    shared_store: bool = False  # a remote store: one copy for everyone, nothing to replay
    mode: str = "memory"  # memory | disk | remote
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    cache: dict[str, object] = field(default_factory=dict, repr=False)
    planner: object = None  # planner.Planner once made (planner_for); False: none for this store


def ensure_build(config: Config) -> None:
    """Build the dataset when there is none (or the inputs changed); a no-op otherwise."""
    build(config.build_dir, log=lambda msg: log.info("build: %s", msg))


def open_runtime(config: Config) -> Runtime:
    """Open the store, load the built dataset, replay the accepted changes."""
    journal = _open_journal(config)
    if config.store_url:
        from .remote_store import RemoteStore

        store: Store = RemoteStore.from_config(config)
        runtime = Runtime(config, store, journal, mode="remote", shared_store=True)
        if journal is not None:
            entries = list(journal.read())
            if entries:
                runtime.applied, runtime.seq = entries[-1].end, entries[-1].seq
            runtime.seen = journal.version()
        return runtime
    if store_mode_for(config, journal) == "disk":
        # Checking or redoing the build (and writing its on-disk store) reads the whole dataset:
        # done by `qdkg build` in a process of its own, so that this process, which the workers
        # fork from, stays small. Not a fork of this process: RocksDB's background threads,
        # which a fork does not copy, would be missing in the child if this process had used
        # an on-disk store before.
        _build_apart(config)
    else:
        ensure_build(config)
    mode = store_mode_for(config, journal)
    if mode == "disk":
        dataset = config.build_dir / DATASET_FILE
        quads = ensure_disk_store(dataset, config.build_dir / STORE_DIR)
        quads = quads if quads is not None else manifest_quads(config.build_dir)
        # Not opened here: each process opens its own handle after fork (after_fork).
        log.info("serving %s quads read-only from %s", quads if quads is not None else "the",
                 config.build_dir / STORE_DIR)
        return Runtime(config, ReadOnlyStore(config.build_dir / STORE_DIR, quads), journal,
                       mode="disk")
    store = OxigraphStore()
    store.load_file(config.build_dir / DATASET_FILE)
    log.info("loaded %d quads from %s", len(store), config.build_dir / DATASET_FILE)
    runtime = Runtime(config, store, journal)
    planner_for(runtime)  # counted here, once, for every process forked from this one
    if journal is not None:
        with journal.locked():
            refresh(runtime)
            journal.cut_torn_tail(runtime.applied)
        if runtime.seq:
            log.info("replayed %d accepted change set(s) from %s", runtime.seq, journal.path)
    return runtime


def _build_apart(config: Config) -> None:
    """`qdkg build --out BUILD_DIR` in a new process; BuildError with its message if it fails."""
    done = subprocess.run(  # noqa: S603 - this interpreter, this package
        [sys.executable, "-m", "qdkg.cli", "build", "--out", str(config.build_dir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)
    if done.returncode != 0:
        message = done.stderr.strip().removeprefix("build failed: ")
        raise BuildError(message or f"qdkg build exited with status {done.returncode}")
    log.info("build: %s is up to date", config.build_dir / DATASET_FILE)


class StoreModeError(ValueError):
    """The configured store mode cannot be used with the other settings; the message says why."""


def manifest_quads(build_dir: Path) -> int | None:
    """The number of quads the build wrote, from its manifest (None when it does not say)."""
    try:
        manifest = json.loads((build_dir / MANIFEST_FILE).read_text())
    except (OSError, ValueError):
        return None
    counts = manifest.get("counts") or {}
    for total in ("store", "quads"):  # the quads written, when the build counts them
        if isinstance(counts.get(total), int):
            return counts[total]
    graphs = [v for k, v in counts.items() if k in _GRAPH_COUNTS and isinstance(v, int)]
    return sum(graphs) if graphs else None


def store_mode_for(config: Config, journal: Journal | None = None) -> str:
    """`memory` or `disk`, from `config.store_mode`; StoreModeError when the choice cannot work.

    `auto` chooses disk when writes are off, no accepted changes wait to be replayed, and the
    dataset is large (more than AUTO_DISK_QUADS quads), memory otherwise.
    """
    mode = config.store_mode
    if mode not in STORE_MODES:
        raise StoreModeError(f"unknown store mode '{mode}': use one of {', '.join(STORE_MODES)}")
    if mode == "memory":
        return mode
    pending = journal is not None and journal.path.exists() and journal.path.stat().st_size > 0
    if mode == "disk":
        if config.writes_enabled:
            raise StoreModeError(
                "the disk store mode serves the build read-only, and writes are enabled "
                "(QDKG_WRITE_TOKENS): use --store-mode memory to accept writes, or unset the "
                "write tokens to serve read-only from disk")
        if pending:
            raise StoreModeError(
                f"the data directory holds accepted changes ({journal.path}), which a "  # type: ignore[union-attr]
                "read-only store cannot replay: use --store-mode memory, or fold the changes "
                "into the sources (qdkg export-changes) and rebuild")
        return mode
    if config.writes_enabled or pending:
        return "memory"
    quads = manifest_quads(config.build_dir)
    if quads is not None:
        return "disk" if quads > AUTO_DISK_QUADS else "memory"
    try:
        size = (config.build_dir / DATASET_FILE).stat().st_size
    except OSError:
        return "memory"
    return "disk" if size > AUTO_DISK_BYTES else "memory"


def after_fork(runtime: Runtime) -> None:
    """In a process just forked from the one that opened the runtime: open what must not be
    shared across fork (the read-only on-disk store's handle). A no-op in memory mode."""
    if isinstance(runtime.store, ReadOnlyStore) and not runtime.store.opened:
        runtime.store.reopen()


# `--planner auto` plans queries from this many triples up: on smaller graphs Oxigraph's own
# order is cheap enough that planning (about a millisecond the first time a query is seen)
# would cost more than it saves.
PLANNER_MIN_TRIPLES = 50_000
_planner_lock = threading.Lock()


def planner_for(runtime: Runtime):  # -> Planner | None
    """The join-order planner for this process's embedded store (None when it is off, for a
    remote store, or, with `auto`, for a small graph). Statistics come from the build's
    stats.json, or are counted from the store when there is none."""
    if runtime.planner is None:
        with _planner_lock:
            if runtime.planner is None:
                runtime.planner = _make_planner(runtime) or False
    return runtime.planner or None


def _make_planner(runtime: Runtime):
    from .planner import Planner, statistics_for

    setting = runtime.config.planner
    if setting == "off" or not isinstance(runtime.store, OxigraphStore):  # remote: not ours
        return None
    store = runtime.store
    stats = statistics_for(runtime.config.build_dir, lambda: store.raw)
    if setting == "auto" and stats.total < PLANNER_MIN_TRIPLES:
        return None
    return Planner(stats, lambda: store.raw)


def _open_journal(config: Config) -> Journal | None:
    if config.data_dir is not None:
        return Journal(Path(config.data_dir))
    if not config.writes_enabled:
        return None
    scratch = tempfile.mkdtemp(prefix="qdkg-changes-")
    owner = os.getpid()
    # Forked workers inherit atexit hooks; only the process that made the directory removes it.
    def remove() -> None:
        if os.getpid() == owner:
            shutil.rmtree(scratch, ignore_errors=True)

    atexit.register(remove)
    log.warning("writes are enabled without --data-dir: accepted changes are kept in %s and "
                "lost when the service stops", scratch)
    return Journal(Path(scratch))


def refresh(runtime: Runtime) -> None:
    """Bring this process's store up to date with changes accepted by other processes.

    Called before every read; one stat of the journal when nothing changed.
    """
    journal = runtime.journal
    if journal is None:
        return
    version = journal.version()
    if version == runtime.seen:
        return
    with runtime.lock:
        if journal.version() == runtime.seen:
            return
        for entry in journal.read(runtime.applied):
            if entry.seq != runtime.seq + 1:
                raise RuntimeError(
                    f"change journal {journal.path} is out of order: expected change set "
                    f"{runtime.seq + 1}, found {entry.seq}")
            if not runtime.shared_store:
                apply_entry(runtime.store, entry.record)
            runtime.applied, runtime.seq = entry.end, entry.seq
        runtime.seen = version
