"""A new case's intake and first routing in one transaction: one local activity, one commit."""

from dataclasses import asdict

from temporalio import activity

from activities.db import transaction
from activities.deps import Deps
from activities.intake import intake
from activities.routing import dispatch
from workflows.types import DispatchInput, IntakeInput, OpenedCase


class OpeningActivities:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    @activity.defn(name="open_case")
    async def open_case(self, arg: IntakeInput) -> OpenedCase:
        """Idempotent: a retry after the commit finds the intake and the routing it made."""
        d = self.deps
        async with transaction(d.sessions) as db:
            got = await intake(
                db,
                case_id=arg.case_id,
                default_queue=d.default_queue,
                reopen_window_seconds=d.default_reopen_window_seconds,
                portal_url=d.portal_url,
            )
            first = DispatchInput.at_intake(arg.case_id)
            routed = await dispatch(db, **asdict(first), portal_url=d.portal_url)
        return OpenedCase(got, routed)
