"""Serving for real: gunicorn (a production WSGI server) around the application factory.

The app is loaded once in the master (`preload_app`) and the workers fork from it, so the
in-memory store is shared copy-on-write until a process's queries touch it. Workers are
gunicorn's `gthread` kind (keep-alive connections, one request per thread; `sync` with one
thread). Each forks one query executor before its threads start, which evaluates up to
`threads` queries at once, each on a thread of its own (pyoxigraph releases the GIL while it
evaluates), so a cheap query is not held up behind a heavy one, and a worker holds one
executor's copy of the store, not one per thread. Executors are forked by a single-threaded
zygote that each worker forks before its threads start (see executor.py).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from .config import Config

log = logging.getLogger("qdkg")
ACCESS_LOG_FORMAT = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms "%(a)s"'


class _Gunicorn(BaseApplication):
    def __init__(self, config: Config, options: dict[str, object]) -> None:
        self.qdkg_config = config
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings:  # settings newer than the installed gunicorn are skipped
                self.cfg.set(key, value)

    def load(self) -> Flask:
        from .app import create_app
        from .rdflib_threads import serialise_rdflib_parsing

        serialise_rdflib_parsing()  # the workers' threads parse SPARQL with rdflib side by side
        return create_app(self.qdkg_config)


def _post_worker_init(worker: Any) -> None:
    """Fork the worker's query executor before it serves (and before any thread exists)."""
    from .app import runtime_of
    from .runtime import after_fork
    from .web.sparql import start_executors

    start_executors(worker.wsgi, worker.cfg.threads)
    # The request threads hand the GIL to each other every millisecond rather than every five:
    # a lookup's few Python steps do not wait behind another request's.
    sys.setswitchinterval(0.001)
    # Then this worker's own handle on an on-disk store (after the executor's fork, which
    # opens its own): a no-op in memory mode.
    after_fork(runtime_of(worker.wsgi))


def gunicorn_options(config: Config, host: str, port: int, workers: int, threads: int) -> dict:
    return {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        # gthread accepts connections while all its threads are busy and queues them; with one
        # thread a sync worker leaves them to a free worker instead.
        "worker_class": "gthread" if threads > 1 else "sync",
        "preload_app": True,
        "post_worker_init": _post_worker_init,
        "accesslog": "-",
        "access_log_format": ACCESS_LOG_FORMAT,
        # The worker waits for its executor up to the wall-clock backstop (2.5 x query_timeout),
        # and up to the validation time limit for a validation; gunicorn must not kill it first.
        "timeout": max(30, int(config.query_timeout * 3), int(config.validation_time_limit) + 10),
        "graceful_timeout": 10,
        # gunicorn's largest finite request line. An unlimited one lets a multi-megabyte URL hold
        # a worker past its timeout; longer queries go in a POST body (SPARQL 1.1 Protocol 2.1).
        "limit_request_line": 8190,
        # gunicorn's runtime control socket has one default path per user: two servers would
        # fight over it, and nothing here needs it.
        "control_socket_disable": True,
    }


def serve(config: Config, host: str, port: int, workers: int = 2, threads: int = 16) -> None:
    if config.store_url:
        prepare_remote_store(config)
    _Gunicorn(config, gunicorn_options(config, host, port, workers, threads)).run()


def prepare_remote_store(config: Config, *, replace: bool = False) -> int:
    """Load the build into the remote store if it is empty (or `replace`); the quads loaded."""
    from .build import DATASET_FILE
    from .remote_store import RemoteStore
    from .runtime import ensure_build

    assert config.store_url  # noqa: S101 - callers check
    store = RemoteStore.from_config(config, timeout=max(config.query_timeout, 60.0))
    if len(store) and not replace:
        log.info("remote store %s already holds data; not loading the build", config.store_url)
        return 0
    ensure_build(config)
    path = config.build_dir / DATASET_FILE
    loaded = store.load_dataset(path, replace=replace)
    log.info("loaded %d quads from %s into %s", loaded, path, config.store_url)
    return loaded
