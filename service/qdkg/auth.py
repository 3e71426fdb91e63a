"""Who may write: bearer tokens from QDKG_WRITE_TOKENS (`name:token,...`), checked in constant time.

The token's name is what the change journal records as the author of a change set.
"""

from __future__ import annotations

import hmac

from .config import Config
from .errors import Forbidden, Unauthorized


def authorise(config: Config, authorization: str | None) -> str:
    """The name of the writer holding the bearer token in `authorization`, or a 401/403."""
    if not config.writes_enabled:
        raise Forbidden("writes are disabled on this server (QDKG_WRITE_TOKENS is not set)")
    if not authorization:
        raise Unauthorized("writing needs a bearer token: send 'Authorization: Bearer <token>'")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("writing needs a bearer token: send 'Authorization: Bearer <token>'")
    presented = token.encode()
    writer = None
    # Every token is compared, whatever matches, so the time taken says nothing about which
    # token (or how much of one) was right.
    for candidate, name in config.write_tokens.items():
        if hmac.compare_digest(candidate.encode(), presented):
            writer = name
    if writer is None:
        raise Forbidden("this token may not write here")
    return writer
