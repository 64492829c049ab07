"""A step that fails the same way on every attempt is non-retryable; an outage is retried."""

import pytest
from sqlalchemy.exc import IntegrityError
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.db import CONFLICT, transaction
from activities.itsm import ItsmActivities, record_status
from models.db import make_engine, make_session_factory
from tests.activities import rows
from tests.conftest import make_deps
from workflows.types import IncidentUpdate
from workflows.vocabulary import IncidentState


async def first_resolved_second_open(sessions):
    """A case whose first incident is resolved and whose second one is open."""
    case = await rows.case(sessions)
    first = await rows.incident(sessions, case.id, IncidentState.RESOLVED, 1)
    await rows.incident(sessions, case.id, IncidentState.IN_PROGRESS, 2)
    return first


async def test_reopening_an_incident_beside_an_open_one_is_refused_by_the_index(sessions):
    first = await first_resolved_second_open(sessions)
    with pytest.raises(IntegrityError, match="uq_incidents_open_per_case"):
        async with sessions() as db, db.begin():
            await record_status(db, IncidentUpdate(str(first.id), IncidentState.NEW))


async def test_the_refusal_is_non_retryable_in_a_transaction(sessions):
    first = await first_resolved_second_open(sessions)
    with pytest.raises(ApplicationError) as err:
        async with transaction(sessions) as db:
            await record_status(db, IncidentUpdate(str(first.id), IncidentState.NEW))
    assert err.value.non_retryable and err.value.type == CONFLICT
    assert "uq_incidents_open_per_case" in err.value.message


async def test_update_incident_activity_fails_for_good_instead_of_forever(sessions):
    first = await first_resolved_second_open(sessions)
    update_incident = ItsmActivities(make_deps(sessions)).update_incident
    with pytest.raises(ApplicationError) as err:
        await ActivityEnvironment().run(
            update_incident, IncidentUpdate(str(first.id), IncidentState.NEW)
        )
    assert err.value.non_retryable and err.value.type == CONFLICT
    # The allowed change still goes through.
    done = await ActivityEnvironment().run(
        update_incident, IncidentUpdate(str(first.id), IncidentState.CLOSED)
    )
    assert done.state == IncidentState.CLOSED


async def test_a_malformed_id_is_non_retryable(sessions):
    update_incident = ItsmActivities(make_deps(sessions)).update_incident
    with pytest.raises(ApplicationError) as err:
        await ActivityEnvironment().run(update_incident, IncidentUpdate("not-a-uuid", "closed"))
    assert err.value.non_retryable


async def test_a_database_that_does_not_answer_stays_retryable(sessions, database_url):
    # Port 1 on this host: nothing listens, every connect is refused (an outage).
    from sqlalchemy import make_url

    down = make_url(database_url).set(host="127.0.0.1", port=1, query={})
    engine = make_engine(down, pool_size=1, pre_ping=False)
    try:
        deps = make_deps(make_session_factory(engine))
        update_incident = ItsmActivities(deps).update_incident
        with pytest.raises(Exception) as err:
            await ActivityEnvironment().run(
                update_incident,
                IncidentUpdate("6f1c2a84-0000-4000-8000-000000000000", "closed"),
            )
        assert not isinstance(err.value, ApplicationError), err.value
        assert type(err.value).__name__ == "OperationalError"
    finally:
        await engine.dispose()
