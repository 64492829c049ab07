"""The search attributes every case workflow keeps current, so Temporal's own UI and CLI can
list cases (`temporal workflow list --query "CaseState = 'open' AND Breached = true"`).

They must be registered on the namespace before a case runs: `casework dev` does it on the
dev server (`--search-attribute`), `casework search-attributes` on a cluster.
"""

from datetime import datetime
from typing import Any, cast

from temporalio.common import SearchAttributeKey, SearchAttributeUpdate

from workflows import deadlines
from workflows.case_data import CaseData

CASE_STATE = SearchAttributeKey.for_keyword("CaseState")
PRIORITY = SearchAttributeKey.for_int("Priority")
QUEUE = SearchAttributeKey.for_keyword("Queue")
ASSIGNED_AGENT = SearchAttributeKey.for_keyword("AssignedAgent")
ACCOUNT_ID = SearchAttributeKey.for_keyword("AccountId")
NEXT_DEADLINE = SearchAttributeKey.for_datetime("NextDeadline")
BREACHED = SearchAttributeKey.for_bool("Breached")
KEYS = (CASE_STATE, PRIORITY, QUEUE, ASSIGNED_AGENT, ACCOUNT_ID, NEXT_DEADLINE, BREACHED)


def values(case: CaseData, now: datetime) -> dict[str, object]:
    """What each attribute should say now (None: unset)."""
    deadline = deadlines.next_deadline(case, now)
    return {
        CASE_STATE.name: str(case.state),
        PRIORITY.name: case.priority,
        QUEUE.name: case.queue,
        ASSIGNED_AGENT.name: case.assigned_agent_id,
        ACCOUNT_ID.name: case.account_id,
        NEXT_DEADLINE.name: deadline.at if deadline else None,
        BREACHED.name: any(clock.breached for clock in case.clocks),
    }


def changes(before: dict[str, object], now: dict[str, object]) -> list[SearchAttributeUpdate[Any]]:
    """The updates from `before` to `now`: nothing for an attribute that stayed the same."""
    updates: list[SearchAttributeUpdate[Any]] = []
    for key in KEYS:
        value = now[key.name]
        if before.get(key.name) == value:  # never set counts as unset
            continue
        updates.append(key.value_unset() if value is None else key.value_set(cast(Any, value)))
    return updates


def cli_flags() -> list[str]:
    """`temporal server start-dev` flags that register every attribute."""
    flags = []
    for key in KEYS:  # the CLI's type names: Keyword, Int, Datetime, Bool
        kind = key.indexed_value_type.name.capitalize()
        flags += ["--search-attribute", f"{key.name}={kind}"]
    return flags
