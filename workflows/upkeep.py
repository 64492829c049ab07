"""When an asset's maintenance falls due and when an entitlement's end calls for a case (pure).

The keys name what a scheduled case is for; a case is opened at most once per key, so a run
retried, rerun or triggered twice on the same day opens nothing new.
"""

from datetime import date, timedelta

from workflows.vocabulary import Channel

# Cases the schedules open come from an automation, as a monitoring event's do.
CHANNEL = Channel.EVENT
EXPIRY_SCHEDULE_ID = "entitlement-expiry"


def maintenance_due(*, last_maintained: date | None, plan_start: date, every_days: int) -> date:
    """The next due date: `every_days` after the last maintenance. An asset never maintained
    under the plan is due from the plan's first day, a date that stays put, so every run until
    it is maintained names the same due date (and so the same case)."""
    if last_maintained is None:
        return plan_start
    return last_maintained + timedelta(days=every_days)


def falls_due(due_on: date, today: date, lead_days: int) -> bool:
    """Due within the lead time (or overdue): its case opens now, ahead of the visit."""
    return due_on <= today + timedelta(days=lead_days)


def expiry_window(today: date, lead_days: int) -> tuple[date, date]:
    """The end dates an expiry run looks for: from today to today + the lead time."""
    return today, today + timedelta(days=lead_days)


def maintenance_key(plan_id: str, asset_id: str, due_on: date) -> str:
    return f"maintenance:{plan_id}:{asset_id}:{due_on.isoformat()}"


def expiry_key(entitlement_id: str, ends_on: date) -> str:
    return f"expiry:{entitlement_id}:{ends_on.isoformat()}"


def plan_schedule_id(plan_id: str) -> str:
    return f"maintenance-plan-{plan_id}"


def plan_run_id(plan_id: str) -> str:
    """The run workflows' id; the schedule appends each run's time to it."""
    return f"maintenance-run-{plan_id}"
