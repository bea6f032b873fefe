"""The WSGI entry point for gunicorn: `gunicorn formloom.wsgi:app`."""
from formloom import create_app

app = create_app()
