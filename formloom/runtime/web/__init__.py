"""The end-user pages: apps, forms, record lists, record pages and forms to fill in."""
from flask import Flask


def init_app(app: Flask) -> None:
    from formloom.runtime.web.views import bp

    app.register_blueprint(bp)
