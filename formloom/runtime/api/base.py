"""The runtime's API blueprint."""
from formloom.platform.api import (
    actor,
    api_blueprint,
    idempotency,
    if_match,
    json_body,
    remember,
    replay,
    with_etag,
)

bp = api_blueprint("api")

__all__ = ["actor", "bp", "idempotency", "if_match", "json_body", "remember", "replay", "with_etag"]
