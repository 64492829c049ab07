"""A new case's intake and first routing in one transaction: one local activity, one commit.

Cases started before the `one-step-intake` patch run the two steps as the separate
`intake_case` and `dispatch_cases` activities; both share their bodies with this one.
"""

from temporalio import activity

from activities.deps import Deps
from activities.intake import IntakeActivities
from activities.routing import RoutingActivities
from workflows.types import DispatchInput, IntakeInput, OpenedCase


class OpeningActivities:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.intake = IntakeActivities(deps)
        self.routing = RoutingActivities(deps)

    @activity.defn(name="open_case")
    async def open_case(self, arg: IntakeInput) -> OpenedCase:
        """Idempotent: a retry after the commit finds the intake and the routing it made."""
        async with self.deps.sessions() as db, db.begin():
            got = await self.intake.intake(db, arg)
            routed = await self.routing.dispatch(db, DispatchInput.at_intake(arg.case_id))
        return OpenedCase(got, routed)
