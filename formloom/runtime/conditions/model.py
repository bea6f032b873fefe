"""The types shared by the storage layer and the condition compilers."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

MAX_DEPTH = 20
MAX_LEAVES = 200
MAX_GROUPS = 200
MAX_LIST_ITEMS = 1000

TEXT_OPS = frozenset(
    "eq ne in not_in contains not_contains starts_with ends_with is_empty is_not_empty".split()
)
NUMBER_OPS = frozenset("eq ne gt gte lt lte between in not_in is_empty is_not_empty".split())
TIME_OPS = frozenset("eq ne before after gt gte lt lte between is_empty is_not_empty".split())
BOOLEAN_OPS = frozenset("eq ne is_empty is_not_empty".split())
REF_OPS = frozenset("eq ne in not_in is_empty is_not_empty".split())
MULTI_OPS = frozenset("has_any has_all contains not_contains is_empty is_not_empty".split())
FILE_OPS = frozenset(("is_empty", "is_not_empty"))

DEFAULT_OPERATORS: dict[str, frozenset[str]] = {
    "text": TEXT_OPS,
    "number": NUMBER_OPS,
    "date": TIME_OPS,
    "datetime": TIME_OPS,
    "boolean": BOOLEAN_OPS,
    "ref": REF_OPS,
    "multi_text": MULTI_OPS,
    "multi_ref": MULTI_OPS,
    "file": FILE_OPS,
}

MULTI_KINDS = frozenset(("multi_text", "multi_ref"))

# Kinds whose values can be compared with each other; "file" compares with nothing.
FAMILY = {
    "text": "text",
    "multi_text": "text",
    "number": "number",
    "date": "time",
    "datetime": "time",
    "boolean": "boolean",
    "ref": "ref",
    "multi_ref": "ref",
}


def item_kind(kind: str) -> str:
    """The kind of one value of a field: a multi field's items are text or ids."""
    return {"multi_text": "text", "multi_ref": "ref"}.get(kind, kind)


@dataclass(frozen=True)
class Operand:
    """One field a condition can name, as the storage layer describes it."""

    key: str
    kind: str
    column: Any = None
    junction: Any = None
    record_id: Any = None
    operators: frozenset[str] | None = None

    def allowed_operators(self) -> frozenset[str]:
        """The operators this field accepts; `operators` can only narrow the kind's set."""
        default = DEFAULT_OPERATORS.get(self.kind, frozenset())
        return default if self.operators is None else default & self.operators


Resolver = Callable[[str], Operand]


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass
class Env:
    """What references ({"var"}, {"today"}, {"now"}) resolve against."""

    user_id: int | None = None
    department_id: int | None = None
    subordinates: tuple[int, ...] = ()
    department_members: tuple[int, ...] = ()  # users of the user's department (the user included)
    departments: tuple[int, ...] = ()  # the user's department and those below it
    # When set, looks up the three above by name, only if a condition names them.
    org: Callable[[str], tuple[int, ...]] | None = None
    record: Mapping[str, Any] | None = None
    today: date | None = None  # None: the date of `now` in `tz`
    now: datetime = field(default_factory=_utc_now)
    tz: str = "UTC"

    def org_value(self, name: str) -> tuple[int, ...]:
        return self.org(name) if self.org is not None else getattr(self, name)

    def __post_init__(self) -> None:
        zone = ZoneInfo(self.tz)  # fail here on a bad zone name, not mid-compilation
        if self.now.tzinfo is not None:
            self.now = self.now.astimezone(UTC).replace(tzinfo=None)
        if self.today is None:
            self.today = self.now.replace(tzinfo=UTC).astimezone(zone).date()


class ConditionError(ValueError):
    """An invalid condition; `.errors` lists (json_pointer, message) pairs."""

    def __init__(self, errors: list[tuple[str, str]]):
        self.errors = errors
        shown = "; ".join(f"{ptr or '/'}: {msg}" for ptr, msg in errors[:5])
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        super().__init__(f"invalid condition: {shown}{more}")
