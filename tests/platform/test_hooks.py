"""The platform's hook points: the runtime answers them once initialised; unanswered, they raise."""
import pytest

from formloom.platform import hooks
from formloom.runtime import access
from formloom.runtime.records import reassign


def test_the_runtime_answers_every_hook_point(app):
    answers = {hooks.records_owned: reassign.count_owned, hooks.reassign_records: reassign.reassign_owner,
               hooks.app_role: access.app_role}
    for point, fn in answers.items():
        assert point._fn is fn, point.name


def test_an_unanswered_hook_point_raises_naming_itself():
    point = hooks.HookPoint("nobody_home", "a question no layer answers")
    with pytest.raises(RuntimeError, match='"nobody_home"'):
        point(1)
    point.register(lambda n: n + 1)
    assert point(1) == 2
