"""The end-user pages: apps, forms, record lists, record pages and forms to fill in, and the
approval inbox and task pages."""
from flask import Flask


def init_app(app: Flask) -> None:
    from formloom.runtime.web import tasks  # noqa: F401  (routes)
    from formloom.runtime.web.views import bp

    app.register_blueprint(bp)
