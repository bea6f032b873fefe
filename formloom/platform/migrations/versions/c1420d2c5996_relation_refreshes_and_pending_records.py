"""relation refreshes and pending records

Revision ID: c1420d2c5996
Revises: a28c63ca99e2
Create Date: 2026-11-28 05:06:15.854447

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c1420d2c5996'
down_revision = 'a28c63ca99e2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('relation_refreshes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('app_id', sa.Integer(), nullable=False),
    sa.Column('form_key', sa.String(length=64), nullable=False),
    sa.Column('cause', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('changed', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('job_id', sa.String(length=32), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_relation_refreshes_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['app_id'], ['apps.id'], name=op.f('fk_relation_refreshes_app_id_apps'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_relation_refreshes'))
    )
    with op.batch_alter_table('relation_refreshes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_relation_refreshes_app_id'), ['app_id'], unique=False)

    op.create_table('relation_pending',
    sa.Column('refresh_id', sa.Integer(), nullable=False),
    sa.Column('form_key', sa.String(length=64), nullable=False),
    sa.Column('record_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('app_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['refresh_id'], ['relation_refreshes.id'], name=op.f('fk_relation_pending_refresh_id_relation_refreshes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('refresh_id', 'form_key', 'record_id', name=op.f('pk_relation_pending'))
    )
    with op.batch_alter_table('relation_pending', schema=None) as batch_op:
        batch_op.create_index('ix_relation_pending_record', ['app_id', 'form_key', 'record_id'], unique=False)



def downgrade():
    with op.batch_alter_table('relation_pending', schema=None) as batch_op:
        batch_op.drop_index('ix_relation_pending_record')

    op.drop_table('relation_pending')
    with op.batch_alter_table('relation_refreshes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_relation_refreshes_app_id'))

    op.drop_table('relation_refreshes')
