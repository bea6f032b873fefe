"""Admin editing: apps, drafts, publishing with migration plans, templates, export/import."""
from flask import Flask


def init_app(app: Flask) -> None:
    from formloom.builder import (  # noqa: F401 - the *_web modules add routes to web.bp
        api,
        automations_api,
        automations_web,
        cli,
        designer_web,
        publish_web,
        relations_web,
        versions_api,
        versions_web,
        web,
        webhooks_api,
        webhooks_web,
    )

    api.init_app(app)
    automations_api.init_app(app)
    cli.init_app(app)
    webhooks_api.init_app(app)
    web.init_app(app)
