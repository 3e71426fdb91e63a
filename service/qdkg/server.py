"""Serving for real: gunicorn (a production WSGI server) around the application factory."""

from __future__ import annotations

from gunicorn.app.base import BaseApplication

from .config import Config


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, config: Config, options: dict[str, object]) -> None:
        self.qdkg_config = config
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):  # type: ignore[no-untyped-def]
        from .app import create_app

        return create_app(self.qdkg_config)


def serve(config: Config, host: str, port: int, workers: int = 2, threads: int = 4) -> None:
    options: dict[str, object] = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread" if threads > 1 else "sync",
        "accesslog": "-",
        "timeout": max(30, int(config.query_timeout * 3)),
        "graceful_timeout": 10,
        "limit_request_line": 16384,
    }
    _Gunicorn(config, options).run()
