"""Fixtures for the page tests: an English-speaking client, an HTML parser, an app owner."""
import pytest
from htmltree import parse


@pytest.fixture
def client(app):
    """A test client whose browser asks for English (the default language is Chinese)."""
    test_client = app.test_client()
    test_client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return test_client


@pytest.fixture
def html():
    return parse


@pytest.fixture
def owner(make):
    return make.user("Olga Owner")
