"""each agent's open cases as a counter kept by a trigger: routing reads a row per agent

Routing used to count every open assigned case under the routing lock (a GROUP BY over the
open cases: 2.5 ms at 3,000 of them, linear in their number, once per routing decision).
`agents.open_cases` holds the same number, kept in the transaction that changes a case's
state or assignee by the trigger below, so every writer (workflows, merges, imports, SQL by
hand) keeps it exact.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30 07:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

OPEN = "('new', 'open', 'awaiting_info')"  # workflows.vocabulary.ACTIVE


def upgrade() -> None:
    op.add_column(
        "agents",
        sa.Column("open_cases", sa.Integer(), nullable=False, server_default="0"),
    )
    # Who held an open case before the change, who holds it after; one -1 and one +1, the
    # lower agent id first so that two reassignments crossing each other never deadlock.
    op.execute(
        f"""
        CREATE FUNCTION casework_agent_open_cases() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            was uuid;
            now_held uuid;
        BEGIN
            IF TG_OP <> 'INSERT' AND OLD.state IN {OPEN} THEN
                was := OLD.assigned_agent_id;
            END IF;
            IF TG_OP <> 'DELETE' AND NEW.state IN {OPEN} THEN
                now_held := NEW.assigned_agent_id;
            END IF;
            IF was IS NOT DISTINCT FROM now_held THEN
                RETURN NULL;
            END IF;
            IF was IS NOT NULL AND (now_held IS NULL OR was < now_held) THEN
                UPDATE agents SET open_cases = open_cases - 1 WHERE id = was;
                was := NULL;
            END IF;
            IF now_held IS NOT NULL THEN
                UPDATE agents SET open_cases = open_cases + 1 WHERE id = now_held;
            END IF;
            IF was IS NOT NULL THEN
                UPDATE agents SET open_cases = open_cases - 1 WHERE id = was;
            END IF;
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER cases_agent_open_cases"
        " AFTER INSERT OR DELETE OR UPDATE OF state, assigned_agent_id ON cases"
        " FOR EACH ROW EXECUTE FUNCTION casework_agent_open_cases()"
    )
    op.execute(
        f"""
        UPDATE agents SET open_cases = held.n
        FROM (
            SELECT assigned_agent_id, count(*) AS n FROM cases
            WHERE state IN {OPEN} AND assigned_agent_id IS NOT NULL
            GROUP BY assigned_agent_id
        ) AS held
        WHERE agents.id = held.assigned_agent_id
        """
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS cases_agent_open_cases ON cases")
    op.execute("DROP FUNCTION IF EXISTS casework_agent_open_cases()")
    op.drop_column("agents", "open_cases")
