"""issue lists: index visibility with status and date

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 12:15:00
"""

from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

# plain index operations, no batch: a batch rebuild of `issues` on SQLite
# would drop the full-text triggers (see pagurus/model/search.py)


def upgrade() -> None:
    op.create_index('ix_issues_project_status_private_created', 'issues',
                    ['project_id', 'status', 'private', 'date_created'], unique=False)
    op.drop_index('ix_issues_project_status_created', table_name='issues')


def downgrade() -> None:
    op.create_index('ix_issues_project_status_created', 'issues',
                    ['project_id', 'status', 'date_created'], unique=False)
    op.drop_index('ix_issues_project_status_private_created', table_name='issues')
