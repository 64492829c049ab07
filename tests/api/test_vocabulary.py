"""One vocabulary across the layers: the SQL's partial indexes and the OpenAPI document name
exactly the states and actions of workflows.vocabulary and workflows.actions."""

import re

from sqlalchemy import text

from models.cases import Case
from workflows.actions import ACTIONS, Action
from workflows.vocabulary import ACTIVE, CaseState


def named_states(predicate: str) -> set[str]:
    """The case states a partial-index predicate names (`state IN ('a', 'b')` as written, or
    `state = ANY (ARRAY['a'::text, ...])` as PostgreSQL prints it back)."""
    return set(re.findall(r"'([a-z_]+)'", predicate))


def test_the_models_partial_indexes_name_the_active_states():
    predicates = [
        str(index.dialect_options["postgresql"]["where"])
        for index in Case.__table__.indexes
        if "state" in str(index.dialect_options["postgresql"].get("where"))
    ]
    assert len(predicates) == 5
    for predicate in predicates:
        assert named_states(predicate) == set(ACTIVE), predicate


async def test_the_databases_partial_indexes_name_the_active_states(sessions):
    async with sessions() as db:
        rows = (
            await db.execute(
                text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'cases'")
            )
        ).all()
    over_states = {name: d for name, d in rows if "WHERE" in d and "state" in d.split("WHERE")[1]}
    assert set(over_states) == {
        "ix_cases_open_queue_due",
        "ix_cases_open_by_agent",
        "ix_cases_open_queue_state_created",
        "ix_cases_at_risk",
        "ix_cases_open_counts",
    }
    for name, definition in over_states.items():
        assert named_states(definition.split("WHERE", 1)[1]) == set(ACTIVE), name
    assert set(ACTIVE) < set(CaseState)


async def test_the_agents_open_case_counter_counts_the_active_states(sessions):
    """The trigger that keeps agents.open_cases (migration 0016) names ACTIVE, twice."""
    async with sessions() as db:
        source = (
            await db.execute(
                text("SELECT prosrc FROM pg_proc WHERE proname = 'casework_agent_open_cases'")
            )
        ).scalar_one()
    lists = re.findall(r"state IN \(([^)]*)\)", source)
    assert len(lists) == 2 and all(named_states(names) == set(ACTIVE) for names in lists)


async def test_the_action_path_parameter_is_the_action_enum_with_each_action_described(api):
    doc = (await api.get("/openapi.json")).json()
    operation = doc["paths"]["/api/v1/cases/{case_id}/actions/{action}"]["post"]
    (param,) = [p for p in operation["parameters"] if p["name"] == "action"]
    schema = param["schema"]
    if "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    assert schema["enum"] == [a.value for a in Action]
    for action in Action:
        assert ACTIONS[action].summary in param["description"]
    case_read = doc["components"]["schemas"]["CaseRead"]["properties"]["state"]
    assert case_read == {"$ref": "#/components/schemas/CaseState"}
    assert doc["components"]["schemas"]["CaseState"]["enum"] == [s.value for s in CaseState]
