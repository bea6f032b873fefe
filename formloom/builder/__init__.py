"""Admin editing: apps, drafts, publishing with migration plans, templates, export/import."""
from flask import Flask


def init_app(app: Flask) -> None:
    from formloom.builder import api, cli, web

    api.init_app(app)
    cli.init_app(app)
    web.init_app(app)
