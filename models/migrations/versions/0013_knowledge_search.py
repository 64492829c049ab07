"""Knowledge search: a weighted tsvector with a GIN index, article versions, and the
customers' verdicts on articles (solved it: a deflection; not helpful)

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 02:10:00.000000
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

# Kept in step with models.people.SEARCH_DOCUMENT (a generated column's expression is DDL).
SEARCH_DOCUMENT = (
    "setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('english'::regconfig, coalesce(tags, '[]'::jsonb)), 'B') || "
    "setweight(to_tsvector('english'::regconfig, coalesce(body, '')), 'C')"
)


def upgrade() -> None:
    op.add_column(
        "knowledge_articles",
        sa.Column("version", sa.Integer(), nullable=False, server_default="1"),
    )
    op.add_column(
        "knowledge_articles",
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.add_column(
        "knowledge_articles",
        sa.Column(
            "search",
            postgresql.TSVECTOR(),
            sa.Computed(SEARCH_DOCUMENT, persisted=True),
            nullable=False,
        ),
    )
    op.create_index(
        "ix_knowledge_articles_search",
        "knowledge_articles",
        ["search"],
        postgresql_using="gin",
    )
    op.create_table(
        "knowledge_feedback",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column(
            "article_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey("knowledge_articles.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("customer_role", sa.String(20), nullable=False),
        sa.Column("customer_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("query", sa.String(300), nullable=True),
        sa.Column("article_version", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "verdict IN ('solved', 'not_helpful')", name="ck_knowledge_feedback_verdict"
        ),
    )
    # One verdict of each kind per customer, article and day: a double click counts once.
    # (Verdicts without a customer — an integration relaying another channel's — all count.)
    op.create_index(
        "uq_knowledge_feedback_once_a_day",
        "knowledge_feedback",
        ["article_id", "customer_id", "verdict", "day"],
        unique=True,
        postgresql_where=sa.text("customer_id IS NOT NULL"),
    )
    # The deflection rate reads the verdicts by week.
    op.create_index("ix_knowledge_feedback_verdict_at", "knowledge_feedback", ["verdict", "at"])


def downgrade() -> None:
    op.drop_table("knowledge_feedback")
    op.drop_index("ix_knowledge_articles_search", table_name="knowledge_articles")
    op.drop_column("knowledge_articles", "search")
    op.drop_column("knowledge_articles", "updated_at")
    op.drop_column("knowledge_articles", "version")
