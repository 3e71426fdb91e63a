"""The service's settings: one object, built from defaults, the environment and the command line."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .namespaces import BASE
from .paths import DEFAULT_BUILD_DIR


def parse_tokens(spec: str | None) -> dict[str, str]:
    """`name:token,name:token` → {token: name}. Malformed entries are an error, not ignored."""
    tokens: dict[str, str] = {}
    for item in (spec or "").split(","):
        item = item.strip()
        if not item:
            continue
        name, sep, token = item.partition(":")
        if not sep or not name or len(token) < 8:
            raise ValueError(
                "QDKG_WRITE_TOKENS entries must look like name:token with a token of 8+ characters"
            )
        tokens[token] = name
    return tokens


@dataclass
class Config:
    base_iri: str = BASE
    build_dir: Path = DEFAULT_BUILD_DIR
    data_dir: Path | None = None
    store_url: str | None = None
    store_update_url: str | None = None
    store_graph_url: str | None = None
    store_user: str | None = None  # credentials for a remote store (or in its URL)
    store_password: str | None = None
    store_mode: str = "auto"  # embedded store: memory | disk | auto (see runtime.store_mode_for)
    query_timeout: float = 10.0
    max_triples: int = 20_000  # per validation or write (a 413 beyond)
    validation_timeout: float | None = None  # seconds; None: twice the query time limit
    max_rows: int = 10_000
    max_query_bytes: int = 100_000
    result_cache_mb: float = 64.0  # per worker; 0 turns the query result cache off
    planner: str = "auto"  # join ordering for the embedded store: on | off | auto (planner.py)
    max_upload_bytes: int = 10_000_000
    service_allowlist: tuple[str, ...] = ()
    write_tokens: dict[str, str] = field(default_factory=dict)
    cors_origin: str = "*"
    proxy_hops: int = 0  # reverse proxies in front whose X-Forwarded-* headers are trusted
    testing: bool = False

    @classmethod
    def from_env(cls, **overrides: object) -> Config:
        env = os.environ
        values: dict[str, object] = {
            "write_tokens": parse_tokens(env.get("QDKG_WRITE_TOKENS")),
        }
        if env.get("QDKG_BASE_IRI"):
            values["base_iri"] = env["QDKG_BASE_IRI"]
        if env.get("QDKG_BUILD_DIR"):
            values["build_dir"] = Path(env["QDKG_BUILD_DIR"])
        if env.get("QDKG_DATA_DIR"):
            values["data_dir"] = Path(env["QDKG_DATA_DIR"])
        if env.get("QDKG_STORE"):
            values["store_url"] = env["QDKG_STORE"]
        if env.get("QDKG_STORE_USER"):
            values["store_user"] = env["QDKG_STORE_USER"]
        if env.get("QDKG_STORE_PASSWORD"):
            values["store_password"] = env["QDKG_STORE_PASSWORD"]
        if env.get("QDKG_STORE_MODE"):
            values["store_mode"] = env["QDKG_STORE_MODE"]
        if env.get("QDKG_QUERY_TIMEOUT"):
            values["query_timeout"] = float(env["QDKG_QUERY_TIMEOUT"])
        if env.get("QDKG_MAX_TRIPLES"):
            values["max_triples"] = int(env["QDKG_MAX_TRIPLES"])
        if env.get("QDKG_VALIDATION_TIMEOUT"):
            values["validation_timeout"] = float(env["QDKG_VALIDATION_TIMEOUT"])
        if env.get("QDKG_MAX_ROWS"):
            values["max_rows"] = int(env["QDKG_MAX_ROWS"])
        if env.get("QDKG_RESULT_CACHE_MB"):
            values["result_cache_mb"] = float(env["QDKG_RESULT_CACHE_MB"])
        if env.get("QDKG_PLANNER"):
            values["planner"] = env["QDKG_PLANNER"]
        if env.get("QDKG_PROXY_HOPS"):
            values["proxy_hops"] = int(env["QDKG_PROXY_HOPS"])
        if env.get("QDKG_SERVICE_ALLOWLIST"):
            values["service_allowlist"] = tuple(env["QDKG_SERVICE_ALLOWLIST"].split())
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]

    @property
    def validation_time_limit(self) -> float:
        """Seconds one validation may take: below the worker's own time limit, which is at
        least three times the query time limit (server.py)."""
        return self.validation_timeout or 2 * self.query_timeout

    @property
    def writes_enabled(self) -> bool:
        return bool(self.write_tokens)
