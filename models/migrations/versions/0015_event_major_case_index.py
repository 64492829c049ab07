"""events by their major case: every resolve asks whether its case is an event's major case

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 05:00:00.000000
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

NAME = "ix_events_major_case_id"


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.create_index(
            NAME, "events", ["major_case_id"], unique=False, postgresql_concurrently=True
        )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index(NAME, table_name="events", postgresql_concurrently=True)
