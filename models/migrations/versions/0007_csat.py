"""CSAT: one survey answer per closed case, and the case view's copy of it

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 00:45:00.000000
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "csat_responses",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column(
            "case_id", postgresql.UUID(as_uuid=True), sa.ForeignKey("cases.id"), nullable=False
        ),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("respondent_role", sa.String(20), nullable=False),
        sa.Column("respondent_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("score BETWEEN 1 AND 5", name="ck_csat_responses_score"),
        sa.UniqueConstraint("case_id", name="uq_csat_responses_case_id"),
    )
    op.add_column("cases", sa.Column("csat", postgresql.JSONB(), nullable=True))


def downgrade() -> None:
    op.drop_column("cases", "csat")
    op.drop_table("csat_responses")
