"""The `web` blueprint object; its routes live in the page modules `views.py` imports."""
from flask import Blueprint

bp = Blueprint("web", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static/web")
