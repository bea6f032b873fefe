"""Fixtures for the API tests: the example app and a client acting as its owner."""
import pytest


@pytest.fixture
def owner(make):
    return make.user("Owner", password=None)


@pytest.fixture
def api(any_db, app, make, owner, api_as):
    """The example app on both databases, and an API client acting as its owner."""
    make.install("sales-mini", owner=owner)
    return api_as(owner)
