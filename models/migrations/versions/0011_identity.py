"""Customer identity: merged records, the contacts' identity keys, the merges audit table

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 02:10:00.000000

The keys are STORED generated columns: adding them rewrites `contacts` once (seconds for a
million rows), and from then on PostgreSQL keeps them on every write.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from models.identity_keys import EMAIL_KEY, NAME_KEY, PHONE_KEY

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("accounts", "contacts"):
        op.add_column(
            table,
            sa.Column(
                "merged_into_id",
                postgresql.UUID(as_uuid=True),
                sa.ForeignKey(f"{table}.id", name=f"fk_{table}_merged_into_id_{table}"),
                nullable=True,
            ),
        )
    op.add_column(
        "contacts", sa.Column("email_key", sa.String(320), sa.Computed(EMAIL_KEY, persisted=True), nullable=True)
    )
    op.add_column(
        "contacts", sa.Column("name_key", sa.String(200), sa.Computed(NAME_KEY, persisted=True), nullable=True)
    )
    op.add_column(
        "contacts", sa.Column("phone_key", sa.String(40), sa.Computed(PHONE_KEY, persisted=True), nullable=True)
    )
    op.create_index("ix_contacts_email_key", "contacts", ["email_key"])
    op.create_index(
        "ix_contacts_name_phone_key",
        "contacts",
        ["name_key", "phone_key"],
        postgresql_where=sa.text("merged_into_id IS NULL AND phone_key IS NOT NULL"),
    )
    op.create_index(
        "ix_contacts_merged_into",
        "contacts",
        ["merged_into_id"],
        postgresql_where=sa.text("merged_into_id IS NOT NULL"),
    )
    op.create_index("ix_accounts_domains", "accounts", ["domains"], postgresql_using="gin")
    op.create_table(
        "merges",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("from_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("into_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("actor_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("moved", postgresql.JSONB(), nullable=False),
        sa.Column("workflow_ids", postgresql.JSONB(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )
    op.create_index("ix_merges_kind_from", "merges", ["kind", "from_id"])


def downgrade() -> None:
    op.drop_index("ix_merges_kind_from", table_name="merges")
    op.drop_table("merges")
    op.drop_index("ix_accounts_domains", table_name="accounts")
    op.drop_index("ix_contacts_merged_into", table_name="contacts")
    op.drop_index("ix_contacts_name_phone_key", table_name="contacts")
    op.drop_index("ix_contacts_email_key", table_name="contacts")
    for column in ("phone_key", "name_key", "email_key", "merged_into_id"):
        op.drop_column("contacts", column)
    op.drop_column("accounts", "merged_into_id")
