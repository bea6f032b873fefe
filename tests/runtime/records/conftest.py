"""Fixtures for the record tests."""
import pytest

from formloom.runtime.records import service


@pytest.fixture
def acme(app, make):
    """(actor, runtime, company): the example app, its owner acting, one company record."""
    owner = make.user("Owner", password=None)
    rt = make.install("sales-mini", owner=owner)
    actor = make.actor(owner)
    return actor, rt, service.create(actor, rt, "company", {"name": "Acme"})
