"""Every side effect of a case: database writes, routing, notifications."""

from activities.deps import Deps
from activities.intake import IntakeActivities, SlaActivities
from activities.notify import NotificationActivities
from activities.record import RecordActivities
from activities.routing import RoutingActivities


def all_activities(deps: Deps) -> list:
    intake = IntakeActivities(deps)
    record = RecordActivities(deps)
    routing = RoutingActivities(deps)
    notify = NotificationActivities(deps)
    slas = SlaActivities(deps)
    return [
        slas.default_slas,
        slas.find_cases_using,
        intake.intake_case,
        record.record_case_event,
        routing.dispatch_cases,
        notify.send_notification,
    ]
