"""Errors grouped by kind, and the one place that turns them into HTTP responses."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from .store import StoreError, StoreTimeout

log = logging.getLogger("qdkg")


class ApiError(Exception):
    """A client mistake (4xx) or our failure (5xx), with a message a person can act on."""

    status = 400

    def __init__(self, message: str, status: int | None = None, **extra: object) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.extra = extra


class BadRequest(ApiError):
    status = 400


class Unauthorized(ApiError):
    status = 401


class Forbidden(ApiError):
    status = 403


class NotFound(ApiError):
    status = 404


class NotAcceptable(ApiError):
    status = 406


class PayloadTooLarge(ApiError):
    status = 413


class UnsupportedMediaType(ApiError):
    status = 415


class Unprocessable(ApiError):
    status = 422


class ServiceUnavailable(ApiError):
    status = 503


def error_response(status: int, message: str, **extra: object) -> Response:
    """JSON for programs that ask for it, plain text otherwise; never a stack trace."""
    best = request.accept_mimetypes.best_match(["text/plain", "application/json"], "text/plain")
    if best == "application/json":
        body = {"status": status, "error": message}
        body.update({k: v for k, v in extra.items() if v is not None})
        response = jsonify(body)
    else:
        lines = [message] + [f"{k}: {v}" for k, v in extra.items() if v is not None]
        response = Response("\n".join(lines) + "\n", mimetype="text/plain")
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="qdkg"'
    response.headers["Vary"] = "Accept"
    return response


def register(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(error: ApiError) -> Response:
        if error.status >= 500:
            log.error("%s %s -> %s: %s", request.method, request.path, error.status, error.message)
        return error_response(error.status, error.message, **error.extra)

    @app.errorhandler(StoreTimeout)
    def _store_timeout(error: StoreTimeout) -> Response:
        log.error("%s %s -> 503: the store did not answer in time", request.method, request.path)
        return error_response(503, "the store did not answer in time; try again later")

    @app.errorhandler(StoreError)
    def _store_error(error: StoreError) -> Response:
        log.error("%s %s -> 502: %s", request.method, request.path, error)
        return error_response(502, "the store could not be reached or failed; try again later")

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        response = error_response(error.code or 500, error.description or error.name)
        if error.code == 405 and hasattr(error, "valid_methods") and error.valid_methods:
            response.headers["Allow"] = ", ".join(error.valid_methods)
        return response

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.path)
        return error_response(500, "internal error; it has been logged")
