"""The running service's state: the configured store, filled from the build. No Flask here."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from .build import DATASET_FILE, build
from .config import Config
from .store import OxigraphStore, Store, open_store

log = logging.getLogger("qdkg")


@dataclass
class Runtime:
    config: Config
    store: Store


def ensure_build(config: Config) -> None:
    """Build the dataset when there is none (or the inputs changed); a no-op otherwise."""
    build(config.build_dir, log=lambda msg: log.info("build: %s", msg))


def open_runtime(config: Config) -> Runtime:
    """Open the configured store; load the built dataset into it when it is empty."""
    if config.store_url:
        store = open_store(url=config.store_url)
        return Runtime(config, store)
    ensure_build(config)
    path = config.data_dir / "store" if config.data_dir else None
    store = OxigraphStore(path)
    if len(store) == 0:
        store.load_file(config.build_dir / DATASET_FILE)
        log.info("loaded %d quads from %s", len(store), config.build_dir / DATASET_FILE)
    return Runtime(config, store)


def refresh(runtime: Runtime) -> None:
    """Bring this process's store up to date with changes accepted by other processes.

    Called before every read. A no-op until the change journal (changes.py) is in place.
    """
