"""The WSGI entry point for gunicorn: `gunicorn formloom.wsgi:app`.

Each gunicorn worker imports this module, so without Redis each has its own ticker running
due jobs and outbox events (claims are conditional, so several tickers never double up).
"""
from formloom import create_app
from formloom.platform.worker import start_embedded

app = create_app()
start_embedded(app)
