"""cache epoch: a counter that changes to users, roles, memberships, tokens and apps move, and one for SQLite planner statistics

Revision ID: 9f3c2a7e5d10
Revises: 5b0e7c1d9a42
Create Date: 2026-12-07 16:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9f3c2a7e5d10'
down_revision = '5b0e7c1d9a42'
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table('cache_epoch',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.Column('statistics', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cache_epoch'))
    )
    op.bulk_insert(table, [{"id": 1, "value": 0, "statistics": 0}])


def downgrade():
    op.drop_table('cache_epoch')
