"""pull request comments: the side of the diff an inline comment is on

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 09:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

# batch mode: SQLite rebuilds pull_request_comments to drop the column on the
# way down (no full-text triggers live on this table, see pagurus/model/search.py);
# PostgreSQL alters it in place


def upgrade() -> None:
    with op.batch_alter_table('pull_request_comments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('side', sa.String(length=3), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('pull_request_comments', schema=None) as batch_op:
        batch_op.drop_column('side')
