"""an index for the queue list: open cases of a queue and state in keyset order

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 10:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

NAME = "ix_cases_open_queue_state_created"
OPEN = sa.text("state IN ('new', 'open', 'awaiting_info')")


def upgrade() -> None:
    # Concurrently: a large cases table keeps taking writes while the index builds.
    with op.get_context().autocommit_block():
        op.create_index(
            NAME,
            "cases",
            ["queue", "state", "created_at", "id"],
            unique=False,
            postgresql_where=OPEN,
            postgresql_concurrently=True,
        )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index(NAME, table_name="cases", postgresql_where=OPEN, postgresql_concurrently=True)
