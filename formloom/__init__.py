"""Formloom: a low-code form and workflow platform."""
from flask import Flask


def create_app(test_config: dict | None = None) -> Flask:
    """Build the Flask app: config, extensions, then each area's `init_app` in order."""
    from formloom.config import instance_path, load_config

    folder = instance_path()
    if test_config and test_config.get("FORMLOOM_INSTANCE"):
        from pathlib import Path

        folder = Path(test_config["FORMLOOM_INSTANCE"])
    app = Flask(__name__, instance_path=str(folder), instance_relative_config=False)
    app.config.from_mapping(load_config(folder))
    if test_config:
        app.config.update(test_config)

    from formloom.builder import init_app as init_builder
    from formloom.platform import init_app as init_platform
    from formloom.runtime import init_app as init_runtime

    init_platform(app)
    init_runtime(app)
    init_builder(app)
    return app
