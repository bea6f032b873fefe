"""reader's language: apps keep their English name beside the Chinese one; notifications keep
what they say (a message and its parameters) so each reader reads them in their own language

Revision ID: polish_reader_language
Revises: 5b0e7c1d9a42
Create Date: 2026-12-07 16:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'polish_reader_language'
down_revision = '5b0e7c1d9a42'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('apps', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name_en', sa.String(length=200), nullable=True))
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('message', sa.JSON(), nullable=True))
    # The English name of each published app, from the definition it serves.
    apps = sa.table('apps', sa.column('id', sa.Integer), sa.column('published_version', sa.Integer),
                    sa.column('name_en', sa.String))
    versions = sa.table('app_versions', sa.column('app_id', sa.Integer), sa.column('number', sa.Integer),
                        sa.column('definition', sa.JSON))
    bind = op.get_bind()
    rows = bind.execute(sa.select(versions.c.app_id, versions.c.definition).select_from(
        versions.join(apps, sa.and_(apps.c.id == versions.c.app_id,
                                    apps.c.published_version == versions.c.number)))).all()
    for app_id, definition in rows:
        name_en = (definition or {}).get('name_en')
        if name_en:
            bind.execute(sa.update(apps).where(apps.c.id == app_id).values(name_en=str(name_en)[:200]))


def downgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_column('message')
    with op.batch_alter_table('apps', schema=None) as batch_op:
        batch_op.drop_column('name_en')
