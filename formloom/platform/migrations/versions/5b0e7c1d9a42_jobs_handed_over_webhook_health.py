"""jobs handed over once, webhook health in delivery order

Revision ID: 5b0e7c1d9a42
Revises: 27a57b70bb98
Create Date: 2026-12-07 14:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5b0e7c1d9a42'
down_revision = '27a57b70bb98'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('handed_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_deliveries_health', ['webhook_id', 'status', 'at'], unique=False)


def downgrade():
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_deliveries_health')
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_column('handed_at')
