"""The HTTP layer: one blueprint per area, thin over the core modules."""

from flask import current_app

from ..runtime import Runtime


def runtime() -> Runtime:
    """The running service's store and config, for the current request."""
    return current_app.extensions["qdkg"]  # type: ignore[no-any-return]
