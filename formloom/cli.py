"""The `formloom` command: Flask's command group over `create_app`, which adds each layer's
commands (`platform/cli.py`, `builder/cli.py`), and `serve`. It sits beside `create_app` and
`wsgi.py`, above the layers."""
from __future__ import annotations

import os
from pathlib import Path

import click
from flask.cli import FlaskGroup

from formloom import create_app
from formloom.config import instance_path
from formloom.serve import command


def main() -> None:
    cli = FlaskGroup(create_app=create_app, add_default_commands=True, help="Formloom: forms, flows and data.")
    cli.add_command(serve)
    cli.main(prog_name="formloom")


def served_url(host: str, port: int) -> str:
    """The address to open for a bind: all interfaces (0.0.0.0, ::, "") are reached on this machine
    at the loopback address; an IPv6 address goes in brackets."""
    if host in ("0.0.0.0", "", "::"):
        host = "127.0.0.1"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, type=int, show_default=True)
@click.option("--workers", default=None, type=int, help="gunicorn workers (default: 2 x cores + 1, at most 8)")
@click.option("--control-socket", default=None, help="a gunicorn control socket at this path (default: none)")
def serve(host, port, workers, control_socket):
    """Serve the app with gunicorn, a production WSGI server (from any folder)."""
    workers = workers or min(8, 2 * (os.cpu_count() or 1) + 1)
    options = {"bind": [f"{host}:{port}"], "workers": workers, "accesslog": "-", "timeout": 120,
               "control_socket_disable": control_socket is None}
    if control_socket:
        options["control_socket"] = str(Path(control_socket).resolve())
    os.environ["FORMLOOM_INSTANCE"] = str(instance_path())  # the same folder, whatever the workers' cwd
    click.echo(f"Formloom on {served_url(host, port)} ({workers} workers)")
    args = command(options)
    os.execvp(args[0], args)
