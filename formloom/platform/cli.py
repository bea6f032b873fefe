"""The `formloom` command's platform part: init, create-admin, create-token, worker.

The builder adds demo, template and app commands (`formloom/builder/cli.py`); the command
itself (`main`) and `serve` are `formloom/cli.py`.
"""
from __future__ import annotations

from pathlib import Path

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import with_appcontext

from formloom.platform.extensions import db, write_transaction
from formloom.platform.models import User

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def init_app(app: Flask) -> None:
    from formloom.platform.worker import worker_command

    for command in (init_cmd, create_admin, create_token_cmd, worker_command):
        app.cli.add_command(command)


def upgrade_database() -> None:
    """Bring the platform tables to the newest migration (creates them on a new database)."""
    from flask_migrate import upgrade

    upgrade(directory=str(MIGRATIONS_DIR))


@click.command("init")
@with_appcontext
def init_cmd():
    """Create or upgrade the database in the instance folder."""
    upgrade_database()
    click.echo(f"Database ready: {current_app.config['SQLALCHEMY_DATABASE_URI'].split('@')[-1]}")


def ensure_user(email: str, name: str, password: str | None, admin: bool = False, **extra) -> User:
    """Create the user, or update name, password and admin flag of an existing one."""
    with write_transaction():
        user = db.session.execute(sa.select(User).where(User.email == email.lower())).scalar_one_or_none()
        if user is None:
            user = User(email=email.lower(), name=name)
            db.session.add(user)
        user.name = name or user.name
        user.is_admin = admin or user.is_admin
        for key, value in extra.items():
            setattr(user, key, value)
        if password:
            user.set_password(password)
    return user


@click.command("create-admin")
@click.option("--email", required=True)
@click.option("--password", required=True)
@click.option("--name", default="Admin")
@with_appcontext
def create_admin(email, password, name):
    """Create an organisation administrator (or reset one's password)."""
    if len(password) < 8:
        raise click.BadParameter("use at least 8 characters", param_hint="--password")
    ensure_user(email, name, password, admin=True)
    click.echo(f"Administrator {email} is ready.")


@click.command("create-token")
@click.option("--email", required=True)
@click.option("--name", default="cli")
@click.option("--read-only", is_flag=True)
@click.option("--app", "app_key", default=None, help="limit the token to one app")
@with_appcontext
def create_token_cmd(email, name, read_only, app_key):
    """Print a new API token for a user (shown once: only its hash is kept)."""
    from formloom.platform.auth import create_token
    from formloom.platform.models import App

    user = db.session.execute(sa.select(User).where(User.email == email.lower())).scalar_one_or_none()
    if user is None:
        raise click.ClickException(f"No user with email {email}")
    app_id = None
    if app_key:
        app_id = db.session.execute(sa.select(App.id).where(App.key == app_key)).scalar()
        if app_id is None:
            raise click.ClickException(f"No app {app_key}")
    token = create_token(user, name=name, read_only=read_only, app_id=app_id)
    click.echo("Token (store it now; it is not shown again):")
    click.echo(token)
