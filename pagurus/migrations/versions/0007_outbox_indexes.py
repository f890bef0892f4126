"""outbox: a consumer's deliveries by event, events by age

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 14:40:00
"""

from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_event_deliveries_consumer_event', 'event_deliveries',
                    ['consumer', 'event_id'], unique=False)
    op.create_index('ix_events_created_at', 'events', ['created_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_events_created_at', table_name='events')
    op.drop_index('ix_event_deliveries_consumer_event', table_name='event_deliveries')
