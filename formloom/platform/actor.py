"""Who is acting: a signed-in user, an API token acting as its user, or the system."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    name: str = ""
    is_admin: bool = False  # organisation administrator: bypasses app access
    department_id: int | None = None
    role_keys: frozenset[str] = field(default_factory=frozenset)
    read_only: bool = False  # a read-only API token
    app_id: int | None = None  # a token limited to one app
    via: str = "session"  # "session" | "token" | "system" | "automation"
    # The automations whose actions led here, outermost first: events written by this actor
    # carry it, so an automation that keeps triggering itself is stopped (see automations).
    chain: tuple[str, ...] = ()
    # Set while a delete applies its links' rules: the revisions it writes name the delete.
    cause: str | None = None

    @property
    def org_admin(self) -> bool:
        """Whether the actor may run the organisation: an admin not held to one app by a token."""
        return self.is_admin and self.app_id is None

    @classmethod
    def system(cls) -> Actor:
        return cls(user_id=None, name="system", is_admin=True, via="system")

    @classmethod
    def automation(cls, chain: tuple[str, ...]) -> Actor:
        """The system acting for an automation (the last key of `chain`)."""
        return cls(user_id=None, name=f"automation {chain[-1]}", is_admin=True, via="automation", chain=chain)

    @classmethod
    def from_user(cls, user, token=None) -> Actor:
        return cls(
            user_id=user.id, name=user.name, is_admin=bool(user.is_admin),
            department_id=user.department_id, role_keys=frozenset(user.role_keys),
            read_only=bool(token and token.read_only), app_id=token.app_id if token else None,
            via="token" if token else "session",
        )
