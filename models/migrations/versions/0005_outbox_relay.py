"""the outbox relay: retry time per notification, an index of pending rows, a NOTIFY trigger

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 10:40:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    op.add_column(
        "notifications", sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_index(
        "ix_notifications_pending", "notifications", ["created_at"], postgresql_where=PENDING
    )
    # Wake the relay (LISTEN casework_outbox) when a transaction that added rows commits.
    op.execute(
        """
        CREATE FUNCTION casework_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('casework_outbox', '');
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER notifications_wake_relay AFTER INSERT ON notifications "
        "FOR EACH STATEMENT EXECUTE FUNCTION casework_outbox_notify()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS notifications_wake_relay ON notifications")
    op.execute("DROP FUNCTION IF EXISTS casework_outbox_notify()")
    op.drop_index("ix_notifications_pending", table_name="notifications")
    op.drop_column("notifications", "next_attempt_at")
