"""The OpenAPI 3.1 description of the HTTP interface, served at /openapi.json."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, Response, request

bp = Blueprint("api_docs", __name__)

DESCRIPTION_FILE = Path(__file__).resolve().parents[1] / "openapi.json"


@lru_cache(maxsize=1)
def description() -> dict:
    loaded: dict = json.loads(DESCRIPTION_FILE.read_text(encoding="utf-8"))
    return loaded


@bp.get("/openapi.json")
def openapi() -> Response:
    """The description, with this service's own address as its server."""
    document = dict(description())
    document["servers"] = [{"url": request.host_url.rstrip("/") + request.script_root,
                            "description": "this service"}]
    response = Response(json.dumps(document, ensure_ascii=False, indent=1),
                        content_type="application/json")
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
