"""revisions remember the delete that caused them

Revision ID: a28c63ca99e2
Revises: 18cda57029fc
Create Date: 2026-11-28 03:06:41.426648

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a28c63ca99e2'
down_revision = '18cda57029fc'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('record_revisions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('caused_by', sa.String(length=100), nullable=True))
        batch_op.create_index(batch_op.f('ix_record_revisions_caused_by'), ['caused_by'], unique=False)



def downgrade():
    with op.batch_alter_table('record_revisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_record_revisions_caused_by'))
        batch_op.drop_column('caused_by')

