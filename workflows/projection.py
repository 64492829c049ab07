"""The case row's workflow-owned fields, as the workflow sees them now (pure)."""

from datetime import datetime

from workflows import sla
from workflows.case_data import CaseData
from workflows.types import CaseProjection


def projection(s: CaseData, now: datetime, set_assignee: bool = False) -> CaseProjection:
    views = [sla.view(clock, now) for clock in s.clocks]
    dues = [datetime.fromisoformat(v["due_at"]) for v in views if v["due_at"]]
    return CaseProjection(
        version=s.version,
        state=s.state,
        priority=s.priority,
        assigned_agent_id=s.assigned_agent_id,
        set_assignee=set_assignee,
        reopen_count=s.reopen_count,
        reopen_window_ends_at=s.reopen_window_ends_at,
        resolved_at=s.resolved_at,
        closed_at=s.closed_at,
        resolution=s.resolution,
        sla=views,
        next_due_at=min(dues).isoformat() if dues else None,
        breached=any(c.breached for c in s.clocks),
        queue=s.queue,
        partner_account_id=s.partner_account_id,
    )
