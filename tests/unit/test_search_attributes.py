"""A case's search attributes: what they say, and only the changed ones are upserted."""

from datetime import UTC, datetime, timedelta

from workflows import search, sla
from workflows.case_data import CaseData
from workflows.types import SlaSpec

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def test_values_follow_the_case_and_only_changes_are_sent():
    clock = sla.SlaClock(SlaSpec("r", "Respond", "response", 3600, warn_at=[]))
    sla.start(clock, T0)
    case = CaseData(state="open", priority=3, queue="support", account_id="a1", clocks=[clock])
    first = search.values(case, T0)
    assert first == {
        "CaseState": "open",
        "Priority": 3,
        "Queue": "support",
        "AssignedAgent": None,
        "AccountId": "a1",
        "NextDeadline": T0 + timedelta(hours=1),
        "Breached": False,
    }
    sent = search.changes({}, first)
    assert {u.key.name for u in sent} == set(first) - {"AssignedAgent"}  # None is not sent
    case.assigned_agent_id = "agent-7"
    again = search.values(case, T0)
    (only,) = search.changes(first, again)
    assert (only.key.name, only.value) == ("AssignedAgent", "agent-7")
    sla.stop(clock, T0)
    (gone,) = search.changes(again, search.values(case, T0))
    assert gone.key.name == "NextDeadline" and gone.value is None
