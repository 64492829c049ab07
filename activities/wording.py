"""The words of system events and notifications, written from their data (pure).

Workflows record what happened as data ({"number": "WO0000012", "fixed": true}); the
sentences people read are written here, outside the workflow, so a change of wording never
touches a running case's history.
"""

from collections.abc import Callable
from typing import Any


def _percent(data: dict[str, Any]) -> str:
    return f"{data.get('sla')} ({data.get('kind')}) at {round(float(data['fraction']) * 100)}%"


def _work_order_completed(data: dict[str, Any]) -> str:
    outcome = "fixed" if data.get("fixed") else "not fixed"
    summary = f"Work order {data.get('number')} completed ({outcome})."
    return f"{summary}\n\n{data['notes']}" if data.get("notes") else summary


def _incident_update(data: dict[str, Any]) -> str | None:
    if data.get("status") == "failed":
        return data.get("comment")
    text = f"Incident {data.get('number')} was resolved."
    return f"{text}\n\n{data['resolution']}" if data.get("resolution") else text


def _step_failed(data: dict[str, Any]) -> str:
    return (
        f"The step {data.get('step')!r} failed for good: {data.get('error')}. "
        "The case is still running; please look at it."
    )


EVENTS: dict[str, Callable[[dict[str, Any]], str | None]] = {
    "work_order_dispatched": lambda d: (
        f"Technician {d.get('technician') or d.get('technician_id')} dispatched."
    ),
    "step_failed": _step_failed,
}

NOTIFICATIONS: dict[str, Callable[[dict[str, Any]], str | None]] = {
    "sla_warning": _percent,
    "sla_breached": _percent,
    "work_order_completed": _work_order_completed,
    "work_order_cancelled": lambda d: f"Work order {d.get('number')} was cancelled.",
    "incident_update": _incident_update,
    "step_failed": _step_failed,
}


def event_body(kind: str, data: dict[str, Any], body: str | None = None) -> str | None:
    """A timeline event's text: the one given, else the one its kind is worded with."""
    if body is not None or kind not in EVENTS:
        return body
    return EVENTS[kind](data)


def notification_body(template: str, data: dict[str, Any], body: str | None = None) -> str | None:
    if body is not None or template not in NOTIFICATIONS or not data:
        return body
    return NOTIFICATIONS[template](data)
