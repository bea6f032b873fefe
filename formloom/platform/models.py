"""Platform data: accounts and organisation, apps and their versions, tokens, revisions,
the outbox, idempotency keys, serial counters and stored files."""
from __future__ import annotations

from datetime import UTC, datetime

from flask import current_app, has_app_context
from flask_login import UserMixin
from sqlalchemy import JSON, UniqueConstraint
from werkzeug.security import check_password_hash, generate_password_hash

from formloom.platform.extensions import db


def utcnow() -> datetime:
    """Naive UTC now: every timestamp is stored in UTC."""
    return datetime.now(UTC).replace(tzinfo=None)


def password_method() -> str:
    return current_app.config.get("FORMLOOM_PASSWORD_METHOD", "scrypt") if has_app_context() else "scrypt"


user_roles = db.Table(
    "user_roles",
    db.Column("user_id", db.Integer, db.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    db.Column("role_id", db.Integer, db.ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True),
)


class User(UserMixin, db.Model):
    __tablename__ = "users"
    id = db.Column(db.Integer, primary_key=True)
    email = db.Column(db.String(254), nullable=False, unique=True)
    name = db.Column(db.String(200), nullable=False)
    password_hash = db.Column(db.String(300), nullable=True)
    active = db.Column(db.Boolean, nullable=False, default=True)
    is_admin = db.Column(db.Boolean, nullable=False, default=False)
    locale = db.Column(db.String(10), nullable=True)
    department_id = db.Column(db.Integer, db.ForeignKey("departments.id", ondelete="SET NULL"), index=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    last_login_at = db.Column(db.DateTime)
    # An invitation: the SHA-256 of a one-time link that lets the user set a password.
    invite_token_hash = db.Column(db.String(64), unique=True)
    invited_at = db.Column(db.DateTime)
    deactivated_at = db.Column(db.DateTime)
    # Part of every session and remember-me cookie (`get_id`): raising it ends them all.
    session_generation = db.Column(db.Integer, nullable=False, default=0, server_default="0")

    department = db.relationship("Department", foreign_keys=[department_id], back_populates="members")
    roles = db.relationship("Role", secondary=user_roles, lazy="selectin")

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return bool(self.active)

    def get_id(self) -> str:
        """What Flask-Login keeps in the session and the remember-me cookie: id and generation."""
        return f"{self.id}:{self.session_generation or 0}"

    def end_sessions(self) -> None:
        """Make every session and remember-me cookie of this user stop working (on commit)."""
        self.session_generation = (self.session_generation or 0) + 1

    def set_password(self, password: str) -> None:
        # Werkzeug's default is scrypt with a random salt; tests set a cheaper method.
        self.password_hash = generate_password_hash(password, method=password_method())
        self.end_sessions()  # a new password signs out whoever knew the old one

    def check_password(self, password: str) -> bool:
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    @property
    def role_keys(self) -> set[str]:
        return {r.key for r in self.roles}


class Department(db.Model):
    __tablename__ = "departments"
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(200), nullable=False)
    parent_id = db.Column(db.Integer, db.ForeignKey("departments.id", ondelete="RESTRICT"), index=True)
    head_id = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="SET NULL", use_alter=True), index=True)

    parent = db.relationship("Department", remote_side=[id], backref="children")
    head = db.relationship("User", foreign_keys=[head_id])
    members = db.relationship("User", foreign_keys=[User.department_id], back_populates="department")


class Role(db.Model):
    __tablename__ = "roles"
    id = db.Column(db.Integer, primary_key=True)
    key = db.Column(db.String(64), nullable=False, unique=True)
    name = db.Column(db.String(200), nullable=False)


class App(db.Model):
    """An app: its draft, the number of its published version and its physical storage map."""

    __tablename__ = "apps"
    id = db.Column(db.Integer, primary_key=True)
    key = db.Column(db.String(64), nullable=False, unique=True)
    name = db.Column(db.String(200), nullable=False)
    name_en = db.Column(db.String(200))  # the definition's `name_en`: pages show the reader's (i18n.localized)
    draft = db.Column(JSON)
    published_version = db.Column(db.Integer, nullable=False, default=0)
    # In the bin since then: nobody reaches it until an organisation admin restores it.
    deleted_at = db.Column(db.DateTime)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    created_by_id = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="SET NULL"))
    # Optimistic lock: two admins publishing at once never interleave.
    lock_version = db.Column(db.Integer, nullable=False, default=1)
    __mapper_args__ = {"version_id_col": lock_version}


class AppVersion(db.Model):
    """One published definition, with the storage map and the migration plan that made it."""

    __tablename__ = "app_versions"
    __table_args__ = (UniqueConstraint("app_id", "number"),)
    id = db.Column(db.Integer, primary_key=True)
    app_id = db.Column(db.Integer, db.ForeignKey("apps.id", ondelete="CASCADE"), nullable=False, index=True)
    number = db.Column(db.Integer, nullable=False)
    definition = db.Column(JSON, nullable=False)
    storage = db.Column(JSON, nullable=False)
    plan = db.Column(JSON)
    published_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    published_by_id = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="SET NULL"))

    published_by = db.relationship("User")


class AppMember(db.Model):
    """Who may use an app, and who administers it: one user, a department or a role."""

    __tablename__ = "app_members"
    __table_args__ = (
        UniqueConstraint("app_id", "user_id"),
        UniqueConstraint("app_id", "department_id", name="uq_app_members_app_department"),
        UniqueConstraint("app_id", "role_id", name="uq_app_members_app_role"),
        db.CheckConstraint(
            "(CASE WHEN user_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN department_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN role_id IS NULL THEN 0 ELSE 1 END) = 1", name="one_principal"),
    )
    id = db.Column(db.Integer, primary_key=True)
    app_id = db.Column(db.Integer, db.ForeignKey("apps.id", ondelete="CASCADE"), nullable=False, index=True)
    user_id = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    department_id = db.Column(db.Integer, db.ForeignKey("departments.id", ondelete="CASCADE"), index=True)
    include_children = db.Column(db.Boolean, nullable=False, default=True)  # the department's sub-departments too
    role_id = db.Column(db.Integer, db.ForeignKey("roles.id", ondelete="CASCADE"), index=True)
    is_admin = db.Column(db.Boolean, nullable=False, default=False)


class CacheEpoch(db.Model):
    """One counter (id 1) that every change to who may do what moves on, in the change's own
    transaction: users, departments, roles, app members, API tokens, apps. Each process keeps
    answers about these under the value it read, and drops them when the value moves
    (platform/epoch.py)."""

    __tablename__ = "cache_epoch"
    id = db.Column(db.Integer, primary_key=True)
    value = db.Column(db.BigInteger, nullable=False, default=0)
    # Moved on by each ANALYZE on SQLite, whose connections keep the planner statistics they
    # read when they opened: a connection that sees it move is replaced (platform/epoch.py).
    statistics = db.Column(db.BigInteger, nullable=False, default=0)


class ApiToken(db.Model):
    """A bearer token: stored as a SHA-256 hash, shown to its owner once."""

    __tablename__ = "api_tokens"
    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    name = db.Column(db.String(200), nullable=False, default="")
    token_hash = db.Column(db.String(64), nullable=False, unique=True)
    prefix = db.Column(db.String(16), nullable=False)
    read_only = db.Column(db.Boolean, nullable=False, default=False)
    app_id = db.Column(db.Integer, db.ForeignKey("apps.id", ondelete="CASCADE"))
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    last_used_at = db.Column(db.DateTime)
    revoked_at = db.Column(db.DateTime)

    user = db.relationship("User")


class RecordRevision(db.Model):
    """Who changed which fields of a record, when: field -> [old, new]."""

    __tablename__ = "record_revisions"
    __table_args__ = (db.Index("ix_record_revisions_record", "app_id", "form_key", "record_id", "id"),)
    id = db.Column(db.Integer, primary_key=True)
    app_id = db.Column(db.Integer, db.ForeignKey("apps.id", ondelete="CASCADE"), nullable=False)
    form_key = db.Column(db.String(64), nullable=False)
    record_id = db.Column(db.Integer, nullable=False)
    version = db.Column(db.Integer, nullable=False)
    action = db.Column(db.String(20), nullable=False)
    changes = db.Column(JSON, nullable=False)
    actor_id = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="SET NULL"))
    at = db.Column(db.DateTime, nullable=False, default=utcnow)
    # "<form>:<id>@<version>" when this change was made by deleting that record (a link
    # cleared, a child deleted), so restoring it can undo exactly these changes.
    caused_by = db.Column(db.String(100), index=True)

    actor = db.relationship("User")


class OutboxEvent(db.Model):
    """An event written in the same transaction as the change it reports."""

    __tablename__ = "outbox_events"
    __table_args__ = (db.Index("ix_outbox_undelivered", "dispatched_at", "id"),)
    id = db.Column(db.Integer, primary_key=True)
    app_id = db.Column(db.Integer, db.ForeignKey("apps.id", ondelete="CASCADE"), nullable=False)
    form_key = db.Column(db.String(64))
    record_id = db.Column(db.Integer)
    type = db.Column(db.String(40), nullable=False)
    payload = db.Column(JSON, nullable=False)
    actor_id = db.Column(db.Integer)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    dispatched_at = db.Column(db.DateTime)
    attempts = db.Column(db.Integer, nullable=False, default=0)


class IdempotencyKey(db.Model):
    """The stored answer to a create, replayed when a client retries with the same key."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key"),)
    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    key = db.Column(db.String(200), nullable=False)
    fingerprint = db.Column(db.String(64), nullable=False)
    status = db.Column(db.Integer, nullable=False)
    body = db.Column(JSON, nullable=False)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)


class SerialCounter(db.Model):
    """The last number handed out for one serial field in one period."""

    __tablename__ = "serial_counters"
    __table_args__ = (UniqueConstraint("app_id", "form_key", "field_key", "period"),)
    id = db.Column(db.Integer, primary_key=True)
    app_id = db.Column(db.Integer, db.ForeignKey("apps.id", ondelete="CASCADE"), nullable=False)
    form_key = db.Column(db.String(64), nullable=False)
    field_key = db.Column(db.String(64), nullable=False)
    period = db.Column(db.String(20), nullable=False, default="")
    seq = db.Column(db.Integer, nullable=False, default=0)


class AuditEvent(db.Model):
    """One line of the audit log. Append-only: nothing in the product updates or deletes it.

    `actor_name` and `object_label` are copied in, so a line still reads right after the
    user or the object is gone.
    """

    __tablename__ = "audit_events"
    __table_args__ = (db.Index("ix_audit_events_action_at", "action", "at"),)
    id = db.Column(db.Integer, primary_key=True)
    at = db.Column(db.DateTime, nullable=False, default=utcnow, index=True)
    action = db.Column(db.String(40), nullable=False)
    actor_id = db.Column(db.Integer, index=True)
    actor_name = db.Column(db.String(254), nullable=False, default="")
    via = db.Column(db.String(10), nullable=False, default="session")
    ip = db.Column(db.String(45))
    app_id = db.Column(db.Integer, index=True)
    object_type = db.Column(db.String(40))
    object_id = db.Column(db.String(64))
    object_label = db.Column(db.String(300))
    before = db.Column(JSON)
    after = db.Column(JSON)
    detail = db.Column(db.String(1000))


class StoredFile(db.Model):
    """An uploaded file, kept under a generated name in the instance's files folder.

    `attached_at` is set when a record first takes the file; one that no record took is
    removed a day after its upload (`files.sweep`), and counts against its uploader's quota.
    """

    __tablename__ = "stored_files"
    __table_args__ = (db.Index("ix_stored_files_unattached", "attached_at", "created_by_id"),)
    id = db.Column(db.String(32), primary_key=True)
    app_id = db.Column(db.Integer, db.ForeignKey("apps.id", ondelete="CASCADE"), nullable=False, index=True)
    name = db.Column(db.String(255), nullable=False)
    content_type = db.Column(db.String(120), nullable=False)
    size = db.Column(db.Integer, nullable=False)
    sha256 = db.Column(db.String(64), nullable=False)
    created_by_id = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="SET NULL"))
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    attached_at = db.Column(db.DateTime)


class RateLimitCounter(db.Model):
    """One rate-limit window (fixed window) shared by every process: the `formloom-db://`
    storage of Flask-Limiter when there is no Redis (see platform/ratelimit.py)."""

    __tablename__ = "rate_limit_counters"
    key = db.Column(db.String(255), primary_key=True)
    count = db.Column(db.Integer, nullable=False)
    expires_at = db.Column(db.Float, nullable=False, index=True)  # Unix time


class Job(db.Model):
    """One unit of background work, whichever runner runs it (RQ on Redis, or in-process).

    The row is the truth: a runner only carries its id. `dedupe_key` makes enqueuing the same
    work twice (an outbox event handed over again) a no-op.
    """

    __tablename__ = "jobs"
    __table_args__ = (db.Index("ix_jobs_status_run_at", "status", "run_at"),)
    id = db.Column(db.String(32), primary_key=True)
    kind = db.Column(db.String(80), nullable=False, index=True)
    payload = db.Column(JSON, nullable=False)
    queue = db.Column(db.String(40), nullable=False, default="default")
    status = db.Column(db.String(12), nullable=False, default="queued")  # queued running done failed cancelled held
    attempts = db.Column(db.Integer, nullable=False, default=0)
    max_attempts = db.Column(db.Integer, nullable=False, default=5)
    run_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    dedupe_key = db.Column(db.String(200), unique=True)
    error = db.Column(db.Text)
    result = db.Column(JSON)
    app_id = db.Column(db.Integer, index=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    started_at = db.Column(db.DateTime)
    finished_at = db.Column(db.DateTime)
    heartbeat_at = db.Column(db.DateTime)
    handed_at = db.Column(db.DateTime)  # given to Redis then; not again while the lease runs


class Webhook(db.Model):
    """An outbound webhook of an app: record events POSTed, signed, to a URL."""

    __tablename__ = "webhooks"
    id = db.Column(db.Integer, primary_key=True)
    app_id = db.Column(db.Integer, db.ForeignKey("apps.id", ondelete="CASCADE"), nullable=False, index=True)
    name = db.Column(db.String(200), nullable=False)
    url = db.Column(db.String(2000), nullable=False)
    secret = db.Column(db.String(128), nullable=False)
    events = db.Column(JSON, nullable=False)  # ["record.created", ...]
    form_key = db.Column(db.String(64))  # None: every form
    active = db.Column(db.Boolean, nullable=False, default=True)
    consecutive_failures = db.Column(db.Integer, nullable=False, default=0)
    disabled_at = db.Column(db.DateTime)
    disabled_reason = db.Column(db.String(500))
    created_by_id = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="SET NULL"))
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)


class WebhookDelivery(db.Model):
    """One attempt to deliver one event to one webhook (the response body is never kept)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (db.Index("ix_webhook_deliveries_hook", "webhook_id", "id"),
                      db.Index("ix_webhook_deliveries_health", "webhook_id", "status", "at"))
    id = db.Column(db.Integer, primary_key=True)
    webhook_id = db.Column(db.Integer, db.ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False)
    event_id = db.Column(db.Integer, nullable=False)
    event_type = db.Column(db.String(40), nullable=False)
    attempt = db.Column(db.Integer, nullable=False)
    status = db.Column(db.String(12), nullable=False)  # ok failed refused
    http_status = db.Column(db.Integer)
    error = db.Column(db.String(500))
    duration_ms = db.Column(db.Integer)
    at = db.Column(db.DateTime, nullable=False, default=utcnow)
    next_attempt_at = db.Column(db.DateTime)


class Notification(db.Model):
    """An in-app notification for one user."""

    __tablename__ = "notifications"
    __table_args__ = (db.Index("ix_notifications_user_unread", "user_id", "read_at", "id"),)
    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    app_id = db.Column(db.Integer, db.ForeignKey("apps.id", ondelete="CASCADE"))
    kind = db.Column(db.String(40), nullable=False)
    title = db.Column(db.String(300), nullable=False)
    body = db.Column(db.Text)
    # What it says, rendered in each reader's language when read (notify.render):
    # {"title": msgid, "body": msgid, "args": {name: text or {"name": .., "name_en": ..}}}.
    # None for notifications whose text an app's author wrote (title/body are the text).
    message = db.Column(JSON)
    url = db.Column(db.String(1000))
    dedupe_key = db.Column(db.String(200), unique=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    read_at = db.Column(db.DateTime)
    emailed_at = db.Column(db.DateTime)


class NotificationPreference(db.Model):
    """Whether a user gets one kind of notification in the app and by email ("*": every kind)."""

    __tablename__ = "notification_preferences"
    __table_args__ = (UniqueConstraint("user_id", "kind"),)
    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    kind = db.Column(db.String(40), nullable=False)
    in_app = db.Column(db.Boolean, nullable=False, default=True)
    email = db.Column(db.Boolean, nullable=False, default=True)


class UserPreference(db.Model):
    """One small setting a user keeps for one place, e.g. the columns they chose for a list
    ("scope" names the place: "app:3:form:deals:columns"); "value" is its JSON."""

    __tablename__ = "user_preferences"
    __table_args__ = (UniqueConstraint("user_id", "scope"),)
    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    scope = db.Column(db.String(200), nullable=False)
    value = db.Column(JSON, nullable=False)
    updated_at = db.Column(db.DateTime, nullable=False, default=utcnow, onupdate=utcnow)


class AutomationRun(db.Model):
    """One run of an automation: what triggered it, and each action's result or error."""

    __tablename__ = "automation_runs"
    __table_args__ = (db.Index("ix_automation_runs_key", "app_id", "automation_key", "id"),
                      UniqueConstraint("app_id", "automation_key", "slot", name="uq_automation_runs_slot"))
    id = db.Column(db.Integer, primary_key=True)
    app_id = db.Column(db.Integer, db.ForeignKey("apps.id", ondelete="CASCADE"), nullable=False)
    automation_key = db.Column(db.String(64), nullable=False)
    # What this run answers, once: "event:<id>", "cron:<local minute>", "date:<record>:<day>".
    slot = db.Column(db.String(100), nullable=False)
    attempts = db.Column(db.Integer, nullable=False, default=1)
    trigger = db.Column(db.String(40), nullable=False)
    event_id = db.Column(db.Integer)
    record_ids = db.Column(JSON)
    depth = db.Column(db.Integer, nullable=False, default=0)
    status = db.Column(db.String(12), nullable=False)  # running done failed stopped
    results = db.Column(JSON)
    error = db.Column(db.Text)
    started_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    finished_at = db.Column(db.DateTime)


class AutomationMark(db.Model):
    """That a scheduled or date trigger fired for a slot (a cron minute, a record's date), so it
    fires once however many tickers or workers look."""

    __tablename__ = "automation_marks"
    __table_args__ = (UniqueConstraint("app_id", "automation_key", "slot"),)
    id = db.Column(db.Integer, primary_key=True)
    app_id = db.Column(db.Integer, db.ForeignKey("apps.id", ondelete="CASCADE"), nullable=False)
    automation_key = db.Column(db.String(64), nullable=False)
    slot = db.Column(db.String(100), nullable=False)
    at = db.Column(db.DateTime, nullable=False, default=utcnow)


class FlowInstance(db.Model):
    """One run of an approval flow over one record, pinned to the app version it started on.

    `state` holds where the flow stands (its tokens and joins, see runtime/flows/engine.py);
    `rev` grows with every transition, so two actions racing on one instance yield one
    transition (a conditional UPDATE on it) and a clear conflict for the other.
    """

    __tablename__ = "flow_instances"
    __table_args__ = (db.Index("ix_flow_instances_record", "app_id", "form_key", "record_id"),
                      db.Index("ix_flow_instances_submitter", "submitter_id", "id"))
    id = db.Column(db.Integer, primary_key=True)
    app_id = db.Column(db.Integer, db.ForeignKey("apps.id", ondelete="CASCADE"), nullable=False)
    flow_key = db.Column(db.String(64), nullable=False)
    form_key = db.Column(db.String(64), nullable=False)
    record_id = db.Column(db.Integer, nullable=False)
    app_version = db.Column(db.Integer, nullable=False)
    status = db.Column(db.String(16), nullable=False)  # in_progress returned approved rejected withdrawn
    submitter_id = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="SET NULL"))
    state = db.Column(JSON, nullable=False)
    rev = db.Column(db.Integer, nullable=False, default=0)
    started_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    updated_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    finished_at = db.Column(db.DateTime)


class FlowTask(db.Model):
    """One person's part in one step: approve (or submit again, or read a copy).

    `status`: pending (theirs to act on), waiting (after someone else in a sequential or
    added-signer order), approved, rejected, returned, transferred, submitted (a returned
    record sent again), cancelled (the step ended without them), unread / read (a copy).
    """

    __tablename__ = "flow_tasks"
    __table_args__ = (db.Index("ix_flow_tasks_inbox", "assignee_id", "status", "id"),
                      db.Index("ix_flow_tasks_instance", "instance_id", "id"),
                      db.Index("ix_flow_tasks_done", "assignee_id", "acted_at"))
    id = db.Column(db.Integer, primary_key=True)
    instance_id = db.Column(db.Integer, db.ForeignKey("flow_instances.id", ondelete="CASCADE"), nullable=False)
    app_id = db.Column(db.Integer, db.ForeignKey("apps.id", ondelete="CASCADE"), nullable=False)
    form_key = db.Column(db.String(64), nullable=False)
    record_id = db.Column(db.Integer, nullable=False)
    step_key = db.Column(db.String(64), nullable=False)
    kind = db.Column(db.String(12), nullable=False)  # approval submit cc
    token = db.Column(db.String(64), nullable=False)
    assignee_id = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="SET NULL"))
    status = db.Column(db.String(16), nullable=False)
    seq = db.Column(db.Integer, nullable=False, default=0)
    added_by = db.Column(db.Integer)  # the task that added this signer
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    acted_at = db.Column(db.DateTime)
    due_at = db.Column(db.DateTime)
    urged_at = db.Column(db.DateTime)
    comment = db.Column(db.Text)


class FlowLog(db.Model):
    """Every action on a flow instance: who, when, what, the comment, the field changes."""

    __tablename__ = "flow_log"
    __table_args__ = (db.Index("ix_flow_log_instance", "instance_id", "id"),)
    id = db.Column(db.Integer, primary_key=True)
    instance_id = db.Column(db.Integer, db.ForeignKey("flow_instances.id", ondelete="CASCADE"), nullable=False)
    task_id = db.Column(db.Integer)
    actor_id = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="SET NULL"))
    action = db.Column(db.String(20), nullable=False)
    step_key = db.Column(db.String(64))
    comment = db.Column(db.Text)
    detail = db.Column(JSON)  # field changes, the user transferred to, the step returned to, ...
    at = db.Column(db.DateTime, nullable=False, default=utcnow)


class RelationRefresh(db.Model):
    """Lookups, rollups and formulas of many records of one form being brought up to date in
    the background: a change with a large fan-out (a customer's tier read by 10,000 deals), a
    rebuild asked for, a publish that added such fields, or the daily pass over rollups whose
    condition reads the date. Its `pending` rows are the records still waiting ("updating")."""

    __tablename__ = "relation_refreshes"
    id = db.Column(db.Integer, primary_key=True)
    app_id = db.Column(db.Integer, db.ForeignKey("apps.id", ondelete="CASCADE"), nullable=False, index=True)
    form_key = db.Column(db.String(64), nullable=False)
    cause = db.Column(JSON, nullable=False)  # {"kind": "source"|"rebuild"|"publish"|"clock", ...}
    status = db.Column(db.String(12), nullable=False, default="queued")  # queued running done failed
    total = db.Column(db.Integer, nullable=False, default=0)
    done = db.Column(db.Integer, nullable=False, default=0)
    changed = db.Column(db.Integer, nullable=False, default=0)
    error = db.Column(db.Text)
    job_id = db.Column(db.String(32))
    actor_id = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="SET NULL"))
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    finished_at = db.Column(db.DateTime)


class RelationPending(db.Model):
    """One record a refresh has not reached yet: its computed values may be behind (the
    refresh's own records, and those whose values follow from theirs)."""

    __tablename__ = "relation_pending"
    __table_args__ = (db.Index("ix_relation_pending_record", "app_id", "form_key", "record_id"),)
    refresh_id = db.Column(db.Integer, db.ForeignKey("relation_refreshes.id", ondelete="CASCADE"),
                           primary_key=True)
    # The refresh's own form, or a form whose values follow from it (a rollup over its lookups).
    form_key = db.Column(db.String(64), primary_key=True)
    record_id = db.Column(db.Integer, primary_key=True, autoincrement=False)
    app_id = db.Column(db.Integer, nullable=False)


class ImportRun(db.Model):
    """One import of a spreadsheet into a form (runtime/imports): the uploaded file (kept in the
    instance's files folder), the options, and the progress and outcome the job writes.

    `done`, `created`, `updated` and `failed_rows` move in the same transaction as the batch
    they count, so a job that starts again (its worker died) goes on after the last batch.
    `errors` keeps the first errors ({row, column, field, message}); the failed rows file
    (`<file>.failed.csv`) keeps every failed row.
    """

    __tablename__ = "imports"
    __table_args__ = (db.Index("ix_imports_form", "app_id", "form_key", "id"),)
    id = db.Column(db.Integer, primary_key=True)
    app_id = db.Column(db.Integer, db.ForeignKey("apps.id", ondelete="CASCADE"), nullable=False)
    form_key = db.Column(db.String(64), nullable=False)
    created_by_id = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="SET NULL"))
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    started_at = db.Column(db.DateTime)
    finished_at = db.Column(db.DateTime)
    file_id = db.Column(db.String(32), nullable=False)  # the name under files/imports/
    file_name = db.Column(db.String(255), nullable=False)
    file_size = db.Column(db.BigInteger, nullable=False, default=0)
    options = db.Column(JSON, nullable=False)  # as sent, with the encoding, sheet and header row read
    dry_run = db.Column(db.Boolean, nullable=False, default=False)
    status = db.Column(db.String(12), nullable=False, default="queued")  # queued running finished failed cancelled
    phase = db.Column(db.String(12))  # checking | writing
    total = db.Column(db.Integer)
    done = db.Column(db.Integer, nullable=False, default=0)
    created = db.Column(db.Integer, nullable=False, default=0)
    updated = db.Column(db.Integer, nullable=False, default=0)
    failed_rows = db.Column(db.Integer, nullable=False, default=0)
    errors = db.Column(JSON, nullable=False, default=list)
    error = db.Column(db.Text)  # what stopped the whole import (the file, the options)
    cancel_asked = db.Column(db.Boolean, nullable=False, default=False)
    job_id = db.Column(db.String(32))
