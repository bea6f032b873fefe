"""sessions end, rate limits shared, unattached uploads

Files uploaded before this revision count as attached: which of them a record holds is not
known here, and removing one a record holds would lose it. Old session and remember-me
cookies carry no generation, so everybody signs in once more after the upgrade.

Revision ID: 27a57b70bb98
Revises: c1420d2c5996
Create Date: 2026-12-07 06:15:18.279330

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '27a57b70bb98'
down_revision = 'c1420d2c5996'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('rate_limit_counters',
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('expires_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_rate_limit_counters'))
    )
    with op.batch_alter_table('rate_limit_counters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rate_limit_counters_expires_at'), ['expires_at'], unique=False)

    with op.batch_alter_table('stored_files', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attached_at', sa.DateTime(), nullable=True))
        batch_op.create_index('ix_stored_files_unattached', ['attached_at', 'created_by_id'], unique=False)
    op.execute("UPDATE stored_files SET attached_at = created_at")

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_generation', sa.Integer(), server_default='0', nullable=False))



def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_generation')

    with op.batch_alter_table('stored_files', schema=None) as batch_op:
        batch_op.drop_index('ix_stored_files_unattached')
        batch_op.drop_column('attached_at')

    with op.batch_alter_table('rate_limit_counters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rate_limit_counters_expires_at'))

    op.drop_table('rate_limit_counters')
