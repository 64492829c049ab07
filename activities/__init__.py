"""Every side effect of a case: database writes, routing, notifications."""

from collections.abc import Callable
from typing import Any

from activities.deps import Deps
from activities.field_service import FieldServiceActivities
from activities.housekeeping import HousekeepingActivities
from activities.intake import SlaActivities
from activities.itsm import ItsmActivities
from activities.major_cases import MajorCaseActivities
from activities.merge import MergeActivities
from activities.opening import OpeningActivities
from activities.record import RecordActivities
from activities.routing import RoutingActivities
from activities.scheduled import ScheduledActivities


def all_activities(deps: Deps) -> list[Callable[..., Any]]:
    record = RecordActivities(deps)
    routing = RoutingActivities(deps)
    slas = SlaActivities(deps)
    field = FieldServiceActivities(deps)
    itsm = ItsmActivities(deps)
    opening = OpeningActivities(deps)
    scheduled = ScheduledActivities(deps)
    major = MajorCaseActivities(deps)
    return [
        slas.default_slas,
        slas.find_cases_using,
        opening.open_case,
        record.record_case_event,
        routing.dispatch_cases,
        field.create_work_order,
        field.dispatch_work_orders,
        field.record_work_order,
        itsm.open_incident,
        itsm.deliver_incident,
        itsm.update_incident,
        MergeActivities(deps).merge_customer,
        scheduled.find_due_assets,
        scheduled.open_maintenance_cases,
        scheduled.find_expiring_entitlements,
        scheduled.open_expiry_cases,
        scheduled.record_scheduled_run,
        major.major_case_step,
        major.fan_out_batch,
        HousekeepingActivities(deps).purge_ended_sign_ins,
    ]
