"""merge the heads of branches written side by side (imports, cache epoch, app bin, app names in English)

Revision ID: a1c0de5e0001
Revises: 7d3f1a2b9c10, 9f3c2a7e5d10, b1d3e5f7a9c2, polish_reader_language
Create Date: 2026-12-07 16:50:00

"""

revision = 'a1c0de5e0001'
down_revision = ('7d3f1a2b9c10', '9f3c2a7e5d10', 'b1d3e5f7a9c2', 'polish_reader_language')
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
