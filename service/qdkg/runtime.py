"""The running service's state: the configured store, filled from the build and the change
journal, and kept up to date with changes accepted by other processes. No Flask here.

Every process (gunicorn worker, query executor) holds its own in-memory copy of the dataset.
The journal under the data directory is the one shared truth: a process loads the build, then
replays the journal, and `refresh` applies whatever other processes appended since. Without a
data directory, writes (when enabled) go to a journal in a temporary directory created when the
runtime opens — shared by the workers forked from this process, gone after a restart.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from .build import DATASET_FILE, build
from .changeset import apply_entry
from .config import Config
from .journal import Journal
from .store import OxigraphStore, Store, open_store

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
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    cache: dict[str, object] = field(default_factory=dict, repr=False)


def ensure_build(config: Config) -> None:
    """Build the dataset when there is none (or the inputs changed); a no-op otherwise."""
    build(config.build_dir, log=lambda msg: log.info("build: %s", msg))


def open_runtime(config: Config) -> Runtime:
    """Open the store, load the built dataset, replay the accepted changes."""
    journal = _open_journal(config)
    if config.store_url:
        store = open_store(
            url=config.store_url,
            update_url=config.store_update_url,
            graph_store_url=config.store_graph_url,
            timeout=config.query_timeout,
        )
        runtime = Runtime(config, store, journal, shared_store=True)
        if journal is not None:
            entries = list(journal.read())
            if entries:
                runtime.applied, runtime.seq = entries[-1].end, entries[-1].seq
            runtime.seen = journal.version()
        return runtime
    ensure_build(config)
    store = OxigraphStore()
    store.load_file(config.build_dir / DATASET_FILE)
    log.info("loaded %d quads from %s", len(store), config.build_dir / DATASET_FILE)
    runtime = Runtime(config, store, journal)
    if journal is not None:
        with journal.locked():
            refresh(runtime)
            journal.cut_torn_tail(runtime.applied)
        if runtime.seq:
            log.info("replayed %d accepted change set(s) from %s", runtime.seq, journal.path)
    return runtime


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
