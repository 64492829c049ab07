"""Migrations upgrade a live database: rows written under an old schema survive, new columns
get their defaults, and the chain goes down and up again."""

import uuid

import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory

from casework.devstack import create_database
from models.migrate import alembic_config, downgrade, upgrade


def test_upgrade_from_the_first_schema_keeps_data(pg_root):
    url = create_database(pg_root, f"migr_{uuid.uuid4().hex[:8]}")
    upgrade(url, "0001")
    engine = sa.create_engine(url)
    agent_id = uuid.uuid4()
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO agents (id, name, email, skills, capacity, status, groups, created_at)"
                " VALUES (:id, 'Old Timer', 'old@casework.example', '{}', 3, 'available', '[]',"
                " now())"
            ),
            {"id": agent_id},
        )
    upgrade(url)
    with engine.connect() as conn:
        role, capacity = conn.execute(
            sa.text("SELECT role, capacity FROM agents WHERE id = :id"), {"id": agent_id}
        ).one()
    assert (role, capacity) == ("agent", 3)
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == head
    downgrade(url, "0001")
    upgrade(url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM agents")).scalar() == 1
    engine.dispose()


def test_models_and_migrations_agree(database_url):
    """`alembic check`: no model change is missing a migration."""
    command.check(alembic_config(database_url))
