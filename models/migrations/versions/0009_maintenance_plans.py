"""scheduled triggers: maintenance plans, the cases scheduled runs opened, the runs

Revision ID: 0009
Revises: 0007
Create Date: 2026-11-30 02:10:00.000000
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0007"
branch_labels = None
depends_on = None

UUID = postgresql.UUID(as_uuid=True)
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "maintenance_plans",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("created_at", WHEN, server_default=sa.func.now(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("product_id", UUID, sa.ForeignKey("products.id"), nullable=True),
        sa.Column("asset_ids", postgresql.JSONB(), nullable=False),
        sa.Column("every_days", sa.Integer(), nullable=False),
        sa.Column("lead_days", sa.Integer(), nullable=False),
        sa.Column("skills", postgresql.JSONB(), nullable=False),
        sa.Column("parts", postgresql.JSONB(), nullable=False),
        sa.Column("schedule_id", sa.String(200), nullable=False),
        sa.UniqueConstraint("schedule_id", name="uq_maintenance_plans_schedule_id"),
    )
    op.create_index("ix_maintenance_plans_product_id", "maintenance_plans", ["product_id"])
    op.create_table(
        "scheduled_cases",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("created_at", WHEN, server_default=sa.func.now(), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("case_id", UUID, nullable=False),
        sa.Column("number", sa.String(16), nullable=False),
        sa.Column("plan_id", UUID, sa.ForeignKey("maintenance_plans.id"), nullable=True),
        sa.Column("asset_id", UUID, sa.ForeignKey("assets.id"), nullable=True),
        sa.Column("entitlement_id", UUID, sa.ForeignKey("entitlements.id"), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("run_key", sa.String(200), nullable=False),
        sa.UniqueConstraint("key", name="uq_scheduled_cases_key"),
        sa.UniqueConstraint("case_id", name="uq_scheduled_cases_case_id"),
    )
    op.create_index("ix_scheduled_cases_plan_id", "scheduled_cases", ["plan_id"])
    op.create_index("ix_scheduled_cases_run_key", "scheduled_cases", ["run_key"])
    op.create_table(
        "scheduled_runs",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("created_at", WHEN, server_default=sa.func.now(), nullable=False),
        sa.Column("run_key", sa.String(200), nullable=False),
        sa.Column("schedule_id", sa.String(200), nullable=False),
        sa.Column("plan_id", UUID, sa.ForeignKey("maintenance_plans.id"), nullable=True),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("items_due", sa.Integer(), nullable=False),
        sa.Column("cases_opened", sa.Integer(), nullable=False),
        sa.UniqueConstraint("run_key", name="uq_scheduled_runs_run_key"),
    )
    op.create_index("ix_scheduled_runs_plan_id", "scheduled_runs", ["plan_id"])


def downgrade() -> None:
    op.drop_table("scheduled_runs")
    op.drop_table("scheduled_cases")
    op.drop_table("maintenance_plans")
