"""`formloom serve`: gunicorn run as a library, so that the folder it starts from never matters.

`python -m gunicorn formloom.wsgi:app` puts the working directory first on `sys.path` (and
gunicorn chdirs there and adds it again), so a folder holding a `formloom/` directory of its
own (a checkout, a backup) would be imported instead of the installed package. Here the
interpreter runs with `-P` (no working directory on the path) and gunicorn's BaseApplication
takes its settings as given, with no chdir. Each server gets its own control socket (or none):
gunicorn's default path is one per user, shared by every server on the machine.
"""
from __future__ import annotations

import json
import sys

from gunicorn.app.base import BaseApplication


class Server(BaseApplication):
    def __init__(self, options: dict):
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from formloom.wsgi import app

        return app


def command(options: dict) -> list[str]:
    """The command line that runs a server with these gunicorn settings."""
    return [sys.executable, "-P", "-c", "from formloom.serve import main; main()", json.dumps(options)]


def main() -> None:
    Server(json.loads(sys.argv[1])).run()
