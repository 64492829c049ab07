"""Inbound email: messages taken, case participants, attachments, bouncing addresses,
follow-up cases; indexes to find a case by the Message-ID of a mail we sent, and the key
(the Message-ID) of the mail that opened a case

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 02:15:00.000000
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

UUID = postgresql.UUID(as_uuid=True)
NOW = sa.text("now()")


def upgrade() -> None:
    op.create_index("ix_notifications_message_id", "notifications", ["message_id"])
    op.create_index("ix_intake_keys_case_id", "intake_keys", ["case_id"])
    op.create_table(
        "inbound_messages",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("message_id", sa.String(998), nullable=False),
        sa.Column("case_id", UUID, sa.ForeignKey("cases.id"), nullable=True),
        sa.Column("sender", sa.String(320), nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("recipients", postgresql.JSONB(), nullable=False),
        sa.Column("references", postgresql.JSONB(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("reopened", sa.Boolean(), nullable=False),
        sa.Column("quoted_case_id", UUID, sa.ForeignKey("cases.id"), nullable=True),
        sa.UniqueConstraint("message_id", name="uq_inbound_messages_message_id"),
    )
    op.create_index("ix_inbound_messages_case_id", "inbound_messages", ["case_id"])
    op.create_table(
        "case_participants",
        sa.Column("case_id", UUID, sa.ForeignKey("cases.id"), primary_key=True),
        sa.Column("email", sa.String(320), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "case_attachments",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("case_id", UUID, sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("message_id", UUID, sa.ForeignKey("inbound_messages.id"), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(120), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
    )
    op.create_index("ix_case_attachments_case_id", "case_attachments", ["case_id"])
    op.create_index("ix_case_attachments_message_id", "case_attachments", ["message_id"])
    op.create_table(
        "bouncing_addresses",
        sa.Column("email", sa.String(320), primary_key=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "case_follow_ups",
        sa.Column("case_id", UUID, sa.ForeignKey("cases.id"), primary_key=True),
        sa.Column("follows_case_id", UUID, sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_case_follow_ups_follows_case_id", "case_follow_ups", ["follows_case_id"])


def downgrade() -> None:
    op.drop_table("case_follow_ups")
    op.drop_table("bouncing_addresses")
    op.drop_table("case_attachments")
    op.drop_table("case_participants")
    op.drop_table("inbound_messages")
    op.drop_index("ix_intake_keys_case_id", table_name="intake_keys")
    op.drop_index("ix_notifications_message_id", table_name="notifications")
