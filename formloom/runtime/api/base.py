"""The runtime's API blueprint (helpers shared by every layer's API are in platform/api.py)."""
from formloom.platform.api import api_blueprint

bp = api_blueprint("api")
