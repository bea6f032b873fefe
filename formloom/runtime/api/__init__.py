"""The REST API under /api/v1: JSON in and out, problem+json errors, Bearer tokens."""
from flask import Flask


def init_app(app: Flask) -> None:
    from formloom.platform.extensions import csrf
    from formloom.runtime.api import dashboards, flows, imports, openapi, records, relations, views  # noqa: F401  (routes)
    from formloom.runtime.api.base import bp

    csrf.exempt(bp)  # checked in `authenticate` for cookie sessions; tokens need none
    app.register_blueprint(bp)
