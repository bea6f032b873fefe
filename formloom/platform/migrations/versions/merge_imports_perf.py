"""merge the import runs and cache epoch heads (two branches written side by side)

Revision ID: a1c0de5e0001
Revises: 7d3f1a2b9c10, 9f3c2a7e5d10
Create Date: 2026-12-07 16:50:00

"""

revision = 'a1c0de5e0001'
down_revision = ('7d3f1a2b9c10', '9f3c2a7e5d10')
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
