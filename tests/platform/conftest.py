"""Organisation, audit and token pages are checked in English (the default language is Chinese)."""
import pytest


@pytest.fixture
def client(app):
    """A test client whose browser asks for English (the default language is Chinese)."""
    test_client = app.test_client()
    test_client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return test_client
