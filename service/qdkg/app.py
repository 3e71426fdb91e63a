"""The application factory: builds the Flask app from a Config; no state at import time."""

from __future__ import annotations

import logging

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from . import errors
from .config import Config
from .runtime import Runtime, open_runtime


def create_app(config: Config | None = None, runtime: Runtime | None = None) -> Flask:
    config = config or Config.from_env()
    app = Flask(__name__)
    app.config["TESTING"] = config.testing
    app.config["MAX_CONTENT_LENGTH"] = config.max_upload_bytes
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app.extensions["qdkg"] = runtime or open_runtime(config)
    if config.proxy_hops:
        # Behind a reverse proxy: the client's scheme, host, port and path prefix come from the
        # X-Forwarded-* headers the last `proxy_hops` proxies set (never trusted otherwise).
        hops = config.proxy_hops
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=hops)

    errors.register(app)

    from .web import api_docs, guards, linked_data, query_page, sparql, stewardship

    guards.register(app)  # first: before any blueprint's own before_request
    app.register_blueprint(sparql.bp)
    app.register_blueprint(api_docs.bp)
    app.register_blueprint(stewardship.bp)
    app.register_blueprint(query_page.bp)
    app.register_blueprint(linked_data.bp)  # last: its /id/... and / routes are the broadest
    return app


def runtime_of(app: Flask) -> Runtime:
    return app.extensions["qdkg"]  # type: ignore[no-any-return]
