"""Fixtures for the field-type tests."""
from datetime import date, datetime

import pytest

from formloom.runtime.fields import ValueContext


@pytest.fixture
def ctx():
    """An app in Asia/Shanghai where it is 2026-01-31 09:30 local (01:30 UTC)."""
    return ValueContext(tz="Asia/Shanghai", today=date(2026, 1, 31), now=datetime(2026, 1, 31, 1, 30))
