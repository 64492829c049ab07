"""Sign-in: browser sessions and one-time email links; partners: the case's partner account

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 02:10:00.000000
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

UUID = postgresql.UUID(as_uuid=True)
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("subject_id", UUID, nullable=True),
        sa.Column("via", sa.String(16), nullable=False),
        sa.Column("expires_at", WHEN, nullable=False),
        sa.Column("last_seen_at", WHEN, nullable=False),
        sa.Column("revoked_at", WHEN, nullable=True),
        sa.Column("created_at", WHEN, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sessions"),
        sa.UniqueConstraint("token_hash", name="uq_sessions_token_hash"),
    )
    op.create_index("ix_sessions_subject_id", "sessions", ["subject_id"])
    op.create_table(
        "sign_in_links",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("subject_id", UUID, nullable=False),
        sa.Column("expires_at", WHEN, nullable=False),
        sa.Column("used_at", WHEN, nullable=True),
        sa.Column("created_at", WHEN, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sign_in_links"),
    )
    op.add_column("cases", sa.Column("partner_account_id", UUID, nullable=True))
    op.create_foreign_key(
        "fk_cases_partner_account_id_accounts", "cases", "accounts", ["partner_account_id"], ["id"]
    )
    op.create_index("ix_cases_partner_account_id", "cases", ["partner_account_id"])


def downgrade() -> None:
    op.drop_index("ix_cases_partner_account_id", "cases")
    op.drop_constraint("fk_cases_partner_account_id_accounts", "cases", type_="foreignkey")
    op.drop_column("cases", "partner_account_id")
    op.drop_table("sign_in_links")
    op.drop_index("ix_sessions_subject_id", "sessions")
    op.drop_table("sessions")
