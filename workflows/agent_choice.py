"""Which agent gets a case: skills, capacity, account team, load, round-robin (pure)."""

from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass
class Candidate:
    agent_id: str
    load: int
    capacity: int
    skills: dict[str, int]
    groups: list[str]
    last_assigned_at: datetime | None = None
    name: str = ""


def eligible(c: Candidate, *, required_skills: list[str], queue: str | None) -> bool:
    if c.load >= c.capacity:
        return False
    if any(c.skills.get(skill, 0) < 1 for skill in required_skills):
        return False
    # An agent with no groups is a generalist and takes any queue.
    return not c.groups or queue is None or queue in c.groups


def pick_agent(
    candidates: list[Candidate],
    *,
    required_skills: list[str],
    queue: str | None,
    account_team: AbstractSet[str] = frozenset(),
    round_robin: bool = False,
) -> Candidate | None:
    """The account team first; then least loaded (or, round-robin, longest since a case)."""
    fits = [c for c in candidates if eligible(c, required_skills=required_skills, queue=queue)]
    if not fits:
        return None
    never = datetime.min

    def order(c: Candidate) -> tuple[Any, ...]:
        waited = c.last_assigned_at.replace(tzinfo=None) if c.last_assigned_at else never
        if round_robin:
            return (c.agent_id not in account_team, waited, c.name, c.agent_id)
        return (c.agent_id not in account_team, c.load / c.capacity, waited, c.name, c.agent_id)

    return min(fits, key=order)
