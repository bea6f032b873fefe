"""user preferences: one small JSON setting per user and scope (the columns chosen for a list or view)

Revision ID: c015e1ec7ed1
Revises: a1c0de5e0001
Create Date: 2026-12-07 17:50:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c015e1ec7ed1'
down_revision = 'a1c0de5e0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('user_preferences',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.String(length=200), nullable=False),
    sa.Column('value', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_preferences_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_preferences')),
    sa.UniqueConstraint('user_id', 'scope', name=op.f('uq_user_preferences_user_id'))
    )


def downgrade():
    op.drop_table('user_preferences')
