"""monitoring events and their affected customers (the fan-out plan of a major case)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 02:00:00.000000
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

UUID = postgresql.UUID(as_uuid=True)


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", UUID, primary_key=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("source", sa.String(100), nullable=False),
        sa.Column("event_id", sa.String(200), nullable=False),
        sa.Column("summary", sa.String(300), nullable=False),
        sa.Column("severity", sa.Integer(), nullable=False),
        sa.Column("product_id", UUID, sa.ForeignKey("products.id"), nullable=True),
        sa.Column("asset_ids", postgresql.JSONB(), nullable=False),
        sa.Column("location", sa.String(300), nullable=True),
        sa.Column("queue", sa.String(80), nullable=True),
        sa.Column("major_case_id", UUID, nullable=False),
        sa.Column("major_number", sa.String(16), nullable=False),
        sa.Column("affected", sa.Integer(), nullable=False),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.UniqueConstraint("source", "event_id", name="uq_events_source_event_id"),
    )
    op.create_table(
        "event_customers",
        sa.Column("event_ref", UUID, sa.ForeignKey("events.id"), primary_key=True),
        sa.Column("seq", sa.Integer(), primary_key=True),
        sa.Column("customer_key", sa.String(80), nullable=False),
        sa.Column("account_id", UUID, sa.ForeignKey("accounts.id"), nullable=True),
        sa.Column("contact_id", UUID, sa.ForeignKey("contacts.id"), nullable=True),
        sa.Column("consumer_id", UUID, sa.ForeignKey("consumers.id"), nullable=True),
        sa.Column("asset_ids", postgresql.JSONB(), nullable=False),
        sa.Column("case_id", UUID, nullable=False),
        sa.Column("number", sa.String(16), nullable=False),
        sa.UniqueConstraint("event_ref", "customer_key", name="uq_event_customers_customer"),
        sa.UniqueConstraint("case_id", name="uq_event_customers_case_id"),
    )


def downgrade() -> None:
    op.drop_table("event_customers")
    op.drop_table("events")
