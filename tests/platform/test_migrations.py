"""The Alembic migrations build exactly the schema the models describe, on both databases."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from formloom.platform.extensions import db
from formloom.platform.schema_filter import include_object


def test_migrations_match_models(any_db, app, make):
    # Publishing an app creates record tables; autogenerate must leave them alone.
    make.install("sales-mini")
    with db.engine.connect() as conn:
        env = app.extensions["migrate"].configure_args
        ctx = MigrationContext.configure(conn, opts={"include_object": include_object, "compare_type": True,
                                                     **{k: v for k, v in env.items() if k == "render_as_batch"}})
        diff = compare_metadata(ctx, db.metadata)
    assert diff == []

