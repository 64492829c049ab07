"""the console's indexes: at risk in its order (breached first, then by due time), recent
cases by creation, queue counts from the index alone

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 02:10:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

NAME = "ix_cases_at_risk"
OPEN = sa.text("state IN ('new', 'open', 'awaiting_info')")
WHERE = sa.text("state IN ('new', 'open', 'awaiting_info') AND next_due_at IS NOT NULL")


def upgrade() -> None:
    # Concurrently: a large cases table keeps taking writes while the index builds.
    with op.get_context().autocommit_block():
        op.create_index(
            NAME,
            "cases",
            [sa.text("(CAST(NOT breached AS INTEGER))"), "next_due_at", "id"],
            unique=False,
            postgresql_where=WHERE,
            postgresql_concurrently=True,
        )
        op.create_index(
            "ix_cases_created",
            "cases",
            ["created_at", "id"],
            unique=False,
            postgresql_concurrently=True,
        )
        op.create_index(
            "ix_cases_open_counts",
            "cases",
            ["queue"],
            unique=False,
            postgresql_include=["state", "breached", "priority", "waiting_since"],
            postgresql_where=OPEN,
            postgresql_concurrently=True,
        )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        for name in ("ix_cases_open_counts", "ix_cases_created", NAME):
            op.drop_index(name, table_name="cases", postgresql_concurrently=True)
