"""automation run slots: each run answers one slot (an event, a cron minute, a record's day) once

Revision ID: 86ce6a3d0aba
Revises: 281d6f1edef8
Create Date: 2026-11-28 02:32:20.212124

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '86ce6a3d0aba'
down_revision = '281d6f1edef8'
branch_labels = None
depends_on = None


def upgrade():
    # No automation could run before this revision, so the table is empty: no defaults needed.
    with op.batch_alter_table('automation_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('slot', sa.String(length=100), nullable=False))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False))
        batch_op.create_unique_constraint('uq_automation_runs_slot', ['app_id', 'automation_key', 'slot'])


def downgrade():
    with op.batch_alter_table('automation_runs', schema=None) as batch_op:
        batch_op.drop_constraint('uq_automation_runs_slot', type_='unique')
        batch_op.drop_column('attempts')
        batch_op.drop_column('slot')
